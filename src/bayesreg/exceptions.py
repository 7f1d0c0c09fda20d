"""Warnings bayesreg raises when a result should not be trusted."""

from __future__ import annotations

__all__ = ["ConvergenceWarning", "OptimizerWarning", "PriorScaleWarning"]


class ConvergenceWarning(UserWarning):
    """The sampler did not converge: divergences, r_hat above 1.01 or too few effective draws."""


class OptimizerWarning(ConvergenceWarning):
    """The MAP optimizer stopped before its own convergence check passed."""


class PriorScaleWarning(UserWarning):
    """One prior sd does not suit the features: their scales differ, or dwarf the prior's."""

"""Result records that load without PyMC (saved fits are read by bayesreg.estimators.persistence)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["MapResult"]


@dataclass(frozen=True)
class MapResult:
    """The maximum a posteriori point and what the optimizer knows about it.

    Attributes
    ----------
    values : dict of str to ndarray
        Free variables and deterministics at the MAP, on their natural scale.
    location : ndarray
        The location parameters (coefficients, then the centred intercept if any) at the MAP.
    location_cov : ndarray
        Laplace covariance of ``location``: the inverse negative Hessian of the log density,
        marginalised over the other free variables.
    logp : float
        Log density (without transform Jacobians) at the MAP.
    converged : bool
        Whether the convergence check passed.
    max_relative_step : float
        The remaining Newton step, relative to each parameter's scale; ``converged`` means it is
        at most ``MAP_RTOL``.
    n_iterations : int
        Trust-region iterations plus Newton polishing steps.
    """

    values: dict[str, np.ndarray]
    location: np.ndarray
    location_cov: np.ndarray
    logp: float
    converged: bool
    max_relative_step: float
    n_iterations: int

"""Sampler options the backend owns, importable without PyMC (the spec checks them too)."""

from __future__ import annotations

__all__ = ["RESERVED_SAMPLE_KWARGS"]

# pymc.sample arguments an estimator sets itself; sample_kwargs may not override them, so that a
# grid search over the estimator's own parameters is never silently overridden.
RESERVED_SAMPLE_KWARGS = ("draws", "tune", "chains", "random_seed", "progressbar", "model")

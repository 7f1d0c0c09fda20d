"""The checks a fit read from a file must pass before ``load`` returns it.

A saved fit is data, not code, but its numbers can still be wrong: edited by hand, written by
another tool, or damaged. :func:`check_loaded` refuses, naming the field, a fit whose parameters
break the constraints ``fit`` checks (``validate_params`` with the estimator's ``_constraints``,
then its checks of parameters taken together), that lacks a fitted attribute, or whose arrays
disagree in shape with ``n_features_in_`` (the layout comes from the estimator's
``_fitted_layout``, the owner of what a fit leaves). The loader adds the file's name.

Examples
--------
>>> import numpy as np
>>> from bayesreg import BayesianLinearRegression
>>> X = np.arange(12.0).reshape(6, 2); y = np.array([0.0, 1.0, 0.0, 2.0, 1.0, 3.0])
>>> est = BayesianLinearRegression(1.0, noise_sigma=1.0, method="map").fit(X, y)
>>> check_loaded(est)
>>> est.coef_ = est.coef_[:1]
>>> check_loaded(est)
Traceback (most recent call last):
...
ValueError: the fitted attribute 'coef_' has shape (1,), but n_features_in_ = 2 needs (2,)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from bayesreg.estimators.validation import POSITIVE_INT, Constraint

__all__ = ["check_loaded"]


def check_loaded(est: Any) -> None:
    """Raise ``ValueError`` naming the first parameter or fitted attribute a fit could not have left.

    Parameters
    ----------
    est : BayesianLinearRegression or BayesianLogisticRegression
        An estimator rebuilt from a file.
    """
    try:
        est._validate_params()
        est._check_method_options()
    except (TypeError, ValueError) as exc:
        raise ValueError(f"a saved parameter is out of range: {exc}") from exc
    n_features: Any = getattr(est, "n_features_in_", None)
    if not POSITIVE_INT.accepts(n_features):
        raise ValueError(
            f"the fitted attribute 'n_features_in_' must be {POSITIVE_INT.description}; it is {n_features!r}"
        )
    needs = f"n_features_in_ = {n_features} needs"
    for name, spec in est._fitted_layout().items():
        if not hasattr(est, name) and name in est._optional_fitted_attrs:
            continue  # e.g. n_samples_fit_, which fits saved by bayesreg 0.1 do not have
        if isinstance(spec, Constraint):
            _check_value(name, est, spec)
        else:
            _check_array(name, getattr(est, name, None), spec, needs)
    k = est._location_size()
    needs_k = f"n_features_in_ = {n_features} and fit_intercept={est.fit_intercept} need"
    # The coefficients' shape: (p,), or (K, p) for a model with a coefficient per class and feature.
    coef_shape = est._fitted_layout().get("map_coef_", (n_features,))
    _check_map_result(getattr(est, "_map_result", None), coef_shape, k, needs, needs_k)
    _check_exact_posterior(getattr(est, "exact_posterior_", None), n_features, needs)
    _check_posterior(getattr(est, "idata_", None), coef_shape, est._coef_dims, est._output_vars)


def _check_value(name: str, est: Any, constraint: Constraint) -> None:
    value = getattr(est, name, None)  # absent reads as None: "None or a MapResult" may be absent
    if not hasattr(est, name) and not constraint.accepts(None):
        raise ValueError(f"the fitted attribute '{name}' is missing")
    if not constraint.accepts(value):
        shown = repr(value) if len(repr(value)) <= 80 else f"a {type(value).__name__}"
        raise ValueError(f"the fitted attribute '{name}' must be {constraint.description}; it is {shown}")


def _check_array(name: str, value: Any, shape: tuple[int, ...], needs: str) -> None:
    if value is None:
        raise ValueError(f"the fitted attribute '{name}' is missing")
    if not isinstance(value, np.ndarray):
        raise ValueError(f"the fitted attribute '{name}' is a {type(value).__name__}, not an array")
    if value.shape != shape:
        raise ValueError(f"the fitted attribute '{name}' has shape {value.shape}, but {needs} {shape}")
    numeric = value.dtype.kind in "biuf"
    if name == "feature_names_in_":
        if numeric or len(set(value.tolist())) != value.size:
            raise ValueError(f"the fitted attribute '{name}' must hold distinct column names")
    elif not numeric:
        raise ValueError(f"the fitted attribute '{name}' must be numeric; its dtype is {value.dtype}")


def _check_map_result(result: Any, coef_shape: tuple[int, ...], k: int, needs: str, needs_k: str) -> None:
    if result is None:
        return
    _check_array("_map_result.values['coef']", result.values.get("coef"), coef_shape, needs)
    _check_array("_map_result.location", result.location, (k,), needs_k)
    _check_array("_map_result.location_cov", result.location_cov, (k, k), needs_k)


def _check_exact_posterior(posterior: Any, p: int, needs: str) -> None:
    if posterior is None:
        return
    _check_array("exact_posterior_.coef_mean", posterior.coef_mean, (p,), needs)
    _check_array("exact_posterior_.coef_cov", posterior.coef_cov, (p, p), needs)
    _check_array("exact_posterior_.cov_coef_intercept", posterior.cov_coef_intercept, (p,), needs)


def _check_posterior(
    idata: xr.DataTree | None, coef_shape: tuple[int, ...], coef_dims: tuple[str, ...], output_vars: list[str]
) -> None:
    if idata is None:
        return
    if "posterior" not in idata.children:
        raise ValueError("the fitted attribute 'idata_' has no posterior group")
    posterior = idata["posterior"].to_dataset()
    missing = [name for name in output_vars if name not in posterior.data_vars]
    if missing:
        raise ValueError(f"the posterior in 'idata_' lacks the variables {missing}")
    coef = posterior["coef"]
    if coef.dims != ("chain", "draw", *coef_dims) or coef.shape[2:] != tuple(coef_shape):
        expected = ", ".join(f"{d}={n}" for d, n in zip(coef_dims, coef_shape, strict=True))
        raise ValueError(
            f"the posterior in 'idata_' has 'coef' of dims {dict(coef.sizes)}, but "
            f"n_features_in_ = {coef_shape[-1]} needs (chain, draw, {expected})"
        )

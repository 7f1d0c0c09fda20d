"""The prior parameters of an estimator, resolved against the fitted features into prior records.

``prior_sigma`` and ``prior_mean`` may be one number, one per feature (an array in column order), or
a dict/Series keyed by feature name; they become arrays of length ``n_features`` only at ``fit``,
when the features are known. Combinations that have no meaning (a Laplace prior with the
closed-form posterior, a learned prior sd with per-feature scales) are refused here, each with the
argument to change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from bayesreg.stats.prior_terms import CoefficientPrior, InterceptPrior, NoisePrior

__all__ = [
    "check_prior_combinations",
    "coefficient_prior",
    "intercept_prior",
    "is_per_feature",
    "noise_prior",
    "per_feature_values",
]


def _is_keyed(value: Any) -> bool:
    """A dict or a pandas Series: values keyed by feature name."""
    return isinstance(value, Mapping) or (hasattr(value, "index") and hasattr(value, "to_numpy"))


def is_per_feature(value: Any) -> bool:
    """Whether a ``prior_sigma``/``prior_mean`` value gives one number per feature."""
    return _is_keyed(value) or np.ndim(value) > 0


def per_feature_values(name: str, value: Any, feature_names: Sequence[str], owner: str) -> np.ndarray:
    """``value`` as one float per feature, in column order; a clear error when it does not fit.

    Examples
    --------
    >>> per_feature_values("prior_sigma", {"b": 2.0, "a": 1.0}, ["a", "b"], "Demo")
    array([1., 2.])
    >>> per_feature_values("prior_sigma", [1.0, 2.0, 3.0], ["a", "b"], "Demo")
    Traceback (most recent call last):
    ...
    ValueError: Demo's prior_sigma has 3 values but X has 2 features (['a', 'b']): give one value ...
    """
    p = len(feature_names)
    if not is_per_feature(value):
        return np.full(p, float(value))
    if _is_keyed(value):
        keyed = {str(k): float(v) for k, v in value.items()}
        unknown = sorted(set(keyed) - set(feature_names))
        missing = [f for f in feature_names if f not in keyed]
        if unknown or missing:
            parts = []
            if unknown:
                parts.append(f"names {unknown} that are not features of X")
            if missing:
                parts.append(f"no value for the features {missing}")
            raise ValueError(
                f"{owner}'s {name} has {' and '.join(parts)}; X's features are {list(feature_names)}. "
                "Key it by X's column names (they are feature_names_in_ after fit), one value each."
            )
        return np.array([keyed[f] for f in feature_names])
    values = np.asarray(value, dtype=float).ravel()
    if values.size != p:
        raise ValueError(
            f"{owner}'s {name} has {values.size} values but X has {p} features ({list(feature_names)}): "
            "give one value per column of X, in column order, or one number for all."
        )
    return values


def coefficient_prior(
    params: Mapping[str, Any], feature_names: Sequence[str], owner: str
) -> CoefficientPrior:
    """The coefficient prior of an estimator's parameters, for these features."""
    sigma = per_feature_values("prior_sigma", params["prior_sigma"], feature_names, owner)
    mean = per_feature_values("prior_mean", params["prior_mean"], feature_names, owner)
    return CoefficientPrior(params["prior"], sigma=sigma, mean=mean, l1_ratio=float(params["l1_ratio"]))


def intercept_prior(params: Mapping[str, Any]) -> InterceptPrior | None:
    """The intercept's normal prior, or None for the flat default."""
    if params["intercept_prior_sigma"] is None:
        return None
    return InterceptPrior(
        mean=float(params["intercept_prior_mean"]), sigma=float(params["intercept_prior_sigma"])
    )


def noise_prior(params: Mapping[str, Any], default_scale: float) -> NoisePrior:
    """The prior on an unknown noise sd; its scale is ``noise_prior_sigma`` or ``default_scale``."""
    scale = params["noise_prior_sigma"]
    return NoisePrior(
        params["noise_prior"],
        scale=float(default_scale if scale is None else scale),
        nu=float(params["noise_prior_nu"]),
    )


def check_prior_combinations(params: Mapping[str, Any], owner: str) -> None:
    """Refuse parameter combinations without a meaning, naming the argument to change."""
    prior = params["prior"]
    if params.get("method") == "exact" and prior in ("laplace", "elasticnet"):
        raise ValueError(
            f"method='exact' needs a normal or flat prior: the posterior under prior={prior!r} is not "
            "Gaussian, so it has no closed form. Use method='mcmc' (NUTS samples it as it is) or "
            "method='map'."
        )
    if prior == "elasticnet" and not 0 < params["l1_ratio"] < 1:
        which = "'laplace'" if params["l1_ratio"] == 1 else "'normal'"
        raise ValueError(
            f"{owner} with prior='elasticnet' needs 0 < l1_ratio < 1; l1_ratio={params['l1_ratio']!r} is "
            f"the prior={which} model: use that prior instead."
        )
    if prior != "elasticnet" and params["l1_ratio"] != 0.5:
        raise ValueError(
            f"l1_ratio is the elastic net's share of L1 and applies only to prior='elasticnet'; "
            f"{owner} has prior={prior!r}. Set prior='elasticnet' or leave l1_ratio at its default."
        )
    if params["intercept_prior_sigma"] is not None and not params["fit_intercept"]:
        raise ValueError(
            f"{owner} has intercept_prior_sigma={params['intercept_prior_sigma']!r} but fit_intercept=False: "
            "there is no intercept to put a prior on. Set fit_intercept=True or intercept_prior_sigma=None."
        )
    if params["intercept_prior_sigma"] is None and params["intercept_prior_mean"] != 0:
        raise ValueError(
            f"{owner} has intercept_prior_mean={params['intercept_prior_mean']!r} but a flat intercept "
            "prior (intercept_prior_sigma=None), where a mean means nothing: give intercept_prior_sigma "
            "too, or leave intercept_prior_mean at 0."
        )
    if params.get("prior_sigma_prior") is not None:
        extra = [
            name
            for name, default_ok in (
                ("prior", prior == "normal"),
                ("prior_sigma", not is_per_feature(params["prior_sigma"])),
                ("prior_mean", not is_per_feature(params["prior_mean"]) and params["prior_mean"] == 0),
                ("intercept_prior_sigma", params["intercept_prior_sigma"] is None),
                ("noise_prior", params.get("noise_prior", "halfnormal") == "halfnormal"),
            )
            if not default_ok
        ]
        if extra:
            raise ValueError(
                f"prior_sigma_prior (a learned prior sd) is available for one normal prior N(0, σ²) on "
                f"every coefficient, a flat intercept and a half-normal noise prior; {owner} also sets "
                f"{extra}. Leave those at their defaults, or set prior_sigma_prior=None."
            )

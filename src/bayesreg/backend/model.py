"""Build the PyMC models; nothing here samples or optimises.

Both models put ``coef ~ N(0, prior_sigma²)`` on each coefficient and a flat prior on the intercept.
The intercept is sampled as ``intercept_centered``, the intercept of the model on column-centred X,
and reported as the Deterministic ``intercept = intercept_centered − x̄ᵀcoef``; the flat prior is
invariant under that shift, so the posterior is unchanged and the sampler sees far less correlation.

Each builder can also write the same posterior in whitened coordinates: the location parameters
``β = (coef, intercept_centered)`` become ``β = loc + L z`` with a fixed ``L`` (the Cholesky factor of
the Laplace covariance at the MAP). An affine map has a constant Jacobian, so the posterior of ``β``
is exactly the same; NUTS just sees a near-isotropic target in ``z``.

The Gaussian likelihood is written on the sufficient statistics (``XcᵀXc``, ``Xcᵀyc``, ``ycᵀyc``,
``n``): the same density as the row-wise one, at a cost that does not grow with the number of rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from bayesreg._dims import FEATURE_DIM, INTERCEPT_LABEL
from bayesreg.stats.conjugate import SufficientStats

__all__ = ["FEATURE_DIM", "Whitening", "build_linear_model", "build_logistic_model"]

_LOCATION_DIM = "location"


@dataclass(frozen=True)
class Whitening:
    """The affine map ``β = loc + scale_tril @ z`` for the location parameters."""

    loc: np.ndarray
    scale_tril: np.ndarray


def _location_parameters(
    feature_names: Sequence[str],
    prior_sigma: float,
    fit_intercept: bool,
    whitening: Whitening | None,
    prior_sigma_prior: float | None = None,
):
    """Add coef (and intercept_centered) to the model in context; return both tensors.

    ``prior_sigma_prior`` makes ``prior_sigma`` a free ``HalfNormal(prior_sigma_prior)`` variable
    (the hierarchical model), started at ``prior_sigma``; otherwise it is a fixed Data container.
    """
    p = len(feature_names)
    if prior_sigma_prior is None:
        sigma = pm.Data("prior_sigma", float(prior_sigma))
    else:
        scale = pm.Data("prior_sigma_prior", float(prior_sigma_prior))
        sigma = pm.HalfNormal("prior_sigma", sigma=scale, initval=float(prior_sigma))
    if whitening is None:
        coef = pm.Normal("coef", mu=0.0, sigma=sigma, dims=FEATURE_DIM)
        intercept_c = pm.Flat("intercept_centered") if fit_intercept else pt.constant(0.0)
        return coef, intercept_c
    loc = pm.Data("whitening_loc", whitening.loc)
    scale_tril = pm.Data("whitening_scale_tril", whitening.scale_tril)
    z = pm.Flat("z", dims=_LOCATION_DIM)
    beta = loc + pt.dot(scale_tril, z)
    coef = pm.Deterministic("coef", beta[:p], dims=FEATURE_DIM)
    pm.Potential("coef_prior", pm.logp(pm.Normal.dist(0.0, sigma), coef).sum())
    intercept_c = pm.Deterministic("intercept_centered", beta[p]) if fit_intercept else pt.constant(0.0)
    return coef, intercept_c


def _coords(feature_names: Sequence[str], fit_intercept: bool) -> dict:
    location = [*feature_names, INTERCEPT_LABEL] if fit_intercept else list(feature_names)
    return {FEATURE_DIM: list(feature_names), _LOCATION_DIM: location}


def build_linear_model(
    stats: SufficientStats,
    *,
    feature_names: Sequence[str],
    prior_sigma: float,
    noise_sigma: float | None,
    noise_prior_sigma: float,
    whitening: Whitening | None = None,
    prior_sigma_prior: float | None = None,
) -> pm.Model:
    """Gaussian linear regression on sufficient statistics.

    ``noise_sigma=None`` makes the noise sd a free ``HalfNormal(noise_prior_sigma)`` variable;
    ``prior_sigma_prior`` makes the prior sd a free ``HalfNormal(prior_sigma_prior)`` variable.
    """
    with pm.Model(coords=_coords(feature_names, stats.fit_intercept)) as model:
        coef, intercept_c = _location_parameters(
            feature_names, prior_sigma, stats.fit_intercept, whitening, prior_sigma_prior
        )
        if noise_sigma is None:
            scale = pm.Data("noise_prior_sigma", float(noise_prior_sigma))
            sigma_n = pm.HalfNormal("noise_sigma", sigma=scale)
        else:
            sigma_n = pm.Data("noise_sigma", float(noise_sigma))
        # Every number is a Data container, so models of one structure share a compiled objective.
        n = pm.Data("n_rows", float(stats.n))
        y_mean = pm.Data("y_mean", stats.y_mean)
        # RSS as ‖qty − Rw‖² (QR of [Xc | yc]): the same number as yty − 2wᵀxty + wᵀxtx w
        # without its catastrophic cancellation (see SufficientStats).
        r_factor = pm.Data("r_factor", stats.r_factor)
        qty = pm.Data("qty", stats.qty)
        resid = qty - pt.dot(r_factor, coef)
        rss = pt.dot(resid, resid) + n * (y_mean - intercept_c) ** 2
        pm.Potential(
            "log_likelihood",
            -n * pt.log(sigma_n) - 0.5 * n * np.log(2 * np.pi) - rss / (2 * sigma_n**2),
        )
        if stats.fit_intercept:
            x_mean = pm.Data("x_mean", stats.x_mean)
            pm.Deterministic("intercept", intercept_c - pt.dot(x_mean, coef))
    return model


def build_logistic_model(
    X: np.ndarray,
    y01: np.ndarray,
    *,
    feature_names: Sequence[str],
    prior_sigma: float,
    fit_intercept: bool,
    whitening: Whitening | None = None,
) -> pm.Model:
    """Bernoulli-logit regression with a row-wise likelihood on ``y01`` in {0, 1}."""
    x_mean = X.mean(axis=0) if fit_intercept else np.zeros(X.shape[1])
    # No named row dimension: the row count stays out of the graph, so one compiled objective
    # serves every data set with the same columns (the estimator builds observed_data itself).
    with pm.Model(coords=_coords(feature_names, fit_intercept)) as model:
        coef, intercept_c = _location_parameters(feature_names, prior_sigma, fit_intercept, whitening)
        Xc = pm.Data("X_centered", X - x_mean)
        y_obs = pm.Data("y_observed", y01.astype(np.int64))
        pm.Bernoulli("y", logit_p=intercept_c + pt.dot(Xc, coef), observed=y_obs)
        if fit_intercept:
            x_mean_data = pm.Data("x_mean", x_mean)
            pm.Deterministic("intercept", intercept_c - pt.dot(x_mean_data, coef))
    return model

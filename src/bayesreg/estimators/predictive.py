"""Predictive draws, the log prior of posterior draws and the Bayesian R², in numpy.

The estimators' ``sample_posterior_predictive``, ``sample_prior_predictive``,
``add_predictive_groups``, ``prior_sensitivity`` and ``bayes_r2`` are thin: they gather draws and
rows and call the functions here, which never rebuild the PyMC model. Every density is the one the
PyMC model of :mod:`bayesreg.backend.model` uses, written in numpy and scipy:

* the coefficient prior of a :class:`~bayesreg.stats.prior_terms.CoefficientPrior`, one term per
  coefficient (a flat prior is 0), or ``N(m, σ_s²)`` with the draw's own ``σ_s`` in the
  hierarchical model, whose ``prior_sigma`` has a ``HalfNormal(prior_sigma_prior)`` prior;
* the intercept's normal prior on the intercept of uncentred X (flat: 0);
* the noise sd's prior of a :class:`~bayesreg.stats.prior_terms.NoisePrior` (flat: 0).

A flat prior is improper: it has a log density up to a constant (0 here, which power-scaling
ignores), but no draws, so the prior predictive refuses it and names the parameter to set.

The results are ``xarray`` groups with ``chain`` and ``draw`` dimensions, as ArviZ 1 reads them:
``posterior_predictive``/``prior_predictive`` hold ``y`` over ``(chain, draw, obs)``, ``prior`` and
``log_prior`` hold one variable per parameter (``coef`` over ``feature``), ``observed_data`` holds
``y`` and ``constant_data`` the rows ``X``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import xarray as xr
from scipy.special import expit, gammaln

from bayesreg._dims import FEATURE_DIM, OBS_DIM
from bayesreg.stats.prior_terms import CoefficientPrior, InterceptPrior, NoisePrior

__all__ = [
    "ParameterDraws",
    "bayes_r2",
    "bernoulli_draws",
    "coefficient_log_prior",
    "draws_dataset",
    "gaussian_draws",
    "halfnormal_logpdf",
    "intercept_log_prior",
    "log_prior_draws",
    "noise_log_prior",
    "predictive_tree",
    "sample_noise_prior",
    "sample_prior",
]

# The dimensions after (chain, draw) of each variable a group can hold; the rest are scalars.
_DIMS = {"coef": (FEATURE_DIM,), "y": (OBS_DIM,), "X": (OBS_DIM, FEATURE_DIM)}
_LOG_2PI = float(np.log(2 * np.pi))


@dataclass(frozen=True)
class ParameterDraws:
    """Draws of a model's parameters, flattened over chains: ``coef`` (S, p), the rest (S,).

    ``noise_sigma`` is None for a known noise sd (or the logistic model), ``prior_sigma`` unless the
    coefficients' prior sd is itself a parameter (``prior_sigma_prior``).
    """

    coef: np.ndarray
    intercept: np.ndarray
    noise_sigma: np.ndarray | None = None
    prior_sigma: np.ndarray | None = None

    def variables(self, fit_intercept: bool) -> dict[str, np.ndarray]:
        """The draws by the names of the posterior's variables (no intercept without one)."""
        out = {"coef": self.coef}
        if fit_intercept:
            out["intercept"] = self.intercept
        if self.noise_sigma is not None:
            out["noise_sigma"] = self.noise_sigma
        if self.prior_sigma is not None:
            out["prior_sigma"] = self.prior_sigma
        return out

    def linear_predictor(self, X: np.ndarray) -> np.ndarray:
        """``b + X w`` for every draw, shape (S, n)."""
        return self.intercept[:, None] + self.coef @ X.T


# --- observations given parameters ----------------------------------------------------------------


def gaussian_draws(mu: np.ndarray, noise_sigma: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One draw of ``y ~ N(mu, σ_s²)`` per entry of ``mu`` (S, n), with ``σ_s`` of draw s (S,).

    Examples
    --------
    >>> y = gaussian_draws(np.zeros((2, 100_000)), np.array([1.0, 3.0]), np.random.default_rng(0))
    >>> np.round(y.std(axis=1), 1).tolist()
    [1.0, 3.0]
    """
    return mu + np.asarray(noise_sigma, dtype=float)[:, None] * rng.standard_normal(mu.shape)


def bernoulli_draws(eta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One 0/1 draw (int64) of ``y ~ Bernoulli(sigmoid(eta))`` per entry of ``eta`` (S, n)."""
    return (rng.uniform(size=eta.shape) < expit(eta)).astype(np.int64)


# --- log densities of the priors ------------------------------------------------------------------


def halfnormal_logpdf(x: np.ndarray, scale: float | np.ndarray) -> np.ndarray:
    """``log HalfNormal(x | scale)`` for ``x > 0``."""
    x = np.asarray(x, dtype=float)
    return 0.5 * np.log(2.0 / np.pi) - np.log(scale) - 0.5 * (x / scale) ** 2


def _normal_logpdf(x: np.ndarray, mean: float | np.ndarray, sd: float | np.ndarray) -> np.ndarray:
    return -0.5 * _LOG_2PI - np.log(sd) - 0.5 * ((x - mean) / sd) ** 2


def coefficient_log_prior(
    prior: CoefficientPrior, coef: np.ndarray, prior_sigma: np.ndarray | None = None
) -> np.ndarray:
    """The log prior density of each coefficient of each draw: shape (S, p), summing to ``prior.logpdf``.

    ``prior_sigma`` (S,) gives each draw its own sd of a normal prior (the hierarchical model).

    Examples
    --------
    >>> prior = CoefficientPrior("elasticnet", sigma=np.array([1.0, 2.0]), mean=np.zeros(2), l1_ratio=0.3)
    >>> coef = np.array([[0.5, -1.0], [2.0, 0.1]])
    >>> bool(np.allclose(coefficient_log_prior(prior, coef).sum(axis=1), prior.logpdf(coef)))
    True
    """
    coef = np.asarray(coef, dtype=float)
    if prior_sigma is not None:
        if prior.kind != "normal":
            raise ValueError("a free prior sd is only defined for the normal prior")
        return _normal_logpdf(coef, prior.mean, np.asarray(prior_sigma, dtype=float)[:, None])
    if not prior.is_proper:
        return np.zeros_like(coef)
    d = coef - prior.mean
    per_feature = np.array(
        [
            CoefficientPrior(
                prior.kind, prior.sigma[j : j + 1], prior.mean[j : j + 1], prior.l1_ratio
            ).log_normaliser()
            for j in range(prior.n_features)
        ]
    )
    return -prior.l1_weight * np.abs(d) - 0.5 * prior.l2_precision * d**2 + per_feature


def intercept_log_prior(prior: InterceptPrior | None, intercept: np.ndarray) -> np.ndarray:
    """``log N(b | mean, sigma²)`` of each draw's intercept; 0 for the flat default (None)."""
    intercept = np.asarray(intercept, dtype=float)
    if prior is None:
        return np.zeros_like(intercept)
    return _normal_logpdf(intercept, prior.mean, prior.sigma)


def noise_log_prior(prior: NoisePrior, noise_sigma: np.ndarray) -> np.ndarray:
    """The log density of the noise sd's prior at each draw (> 0); 0 for the flat prior.

    Half-normal and half-Cauchy with scale ``s``, half-Student-t with ``nu`` and ``s`` (twice the
    Student-t density), exponential with mean ``s``: PyMC's parametrisations.
    """
    x = np.asarray(noise_sigma, dtype=float)
    s, nu = prior.scale, prior.nu
    if prior.kind == "halfnormal":
        return halfnormal_logpdf(x, s)
    if prior.kind == "halfcauchy":
        return np.log(2.0 / (np.pi * s)) - np.log1p((x / s) ** 2)
    if prior.kind == "halfstudentt":
        log_norm = gammaln((nu + 1) / 2) - gammaln(nu / 2) - 0.5 * np.log(nu * np.pi) - np.log(s)
        return np.log(2.0) + log_norm - (nu + 1) / 2 * np.log1p((x / s) ** 2 / nu)
    if prior.kind == "exponential":
        return -np.log(s) - x / s
    return np.zeros_like(x)


def log_prior_draws(
    draws: ParameterDraws,
    *,
    coefficient_prior: CoefficientPrior,
    intercept_prior: InterceptPrior | None,
    fit_intercept: bool,
    noise_prior: NoisePrior | None = None,
    prior_sigma_prior: float | None = None,
) -> dict[str, np.ndarray]:
    """The log prior density of every draw, one array per parameter (``coef``: one per feature).

    Their sum over variables and features is the log prior density of the draw, which is what
    ArviZ's power-scaling sensitivity (``arviz_stats.psense``) scales. ``noise_prior`` is needed
    when the draws have ``noise_sigma``, ``prior_sigma_prior`` when they have ``prior_sigma``.
    """
    out = {"coef": coefficient_log_prior(coefficient_prior, draws.coef, draws.prior_sigma)}
    if fit_intercept:
        out["intercept"] = intercept_log_prior(intercept_prior, draws.intercept)
    if draws.noise_sigma is not None:
        if noise_prior is None:
            raise ValueError("draws of noise_sigma need the noise prior")
        out["noise_sigma"] = noise_log_prior(noise_prior, draws.noise_sigma)
    if draws.prior_sigma is not None:
        if prior_sigma_prior is None:
            raise ValueError("draws of prior_sigma need prior_sigma_prior")
        out["prior_sigma"] = halfnormal_logpdf(draws.prior_sigma, prior_sigma_prior)
    return out


# --- draws from the prior -------------------------------------------------------------------------


def sample_noise_prior(prior: NoisePrior, size: int, rng: np.random.Generator) -> np.ndarray:
    """``size`` draws of the noise sd from its prior; the flat prior is refused (it has none)."""
    s = prior.scale
    if prior.kind == "halfnormal":
        return np.abs(s * rng.standard_normal(size))
    if prior.kind == "halfcauchy":
        return np.abs(s * rng.standard_cauchy(size))
    if prior.kind == "halfstudentt":
        return np.abs(s * rng.standard_t(prior.nu, size))
    if prior.kind == "exponential":
        return rng.exponential(s, size)
    raise ValueError(
        "noise_prior='flat' is improper: it has no draws, so there is no prior predictive. Give the "
        "noise sd a proper prior (noise_prior='halfnormal', 'halfcauchy', 'halfstudentt' or "
        "'exponential'), or a known noise_sigma."
    )


def sample_prior(
    size: int,
    rng: np.random.Generator,
    *,
    coefficient_prior: CoefficientPrior,
    intercept_prior: InterceptPrior | None,
    fit_intercept: bool,
    noise_prior: NoisePrior | None = None,
    prior_sigma_prior: float | None = None,
) -> ParameterDraws:
    """``size`` independent draws of the parameters from their (proper) prior.

    ``noise_prior`` None means no noise sd to draw (known, or no noise in the model). An improper
    part (a flat coefficient, intercept or noise prior) is refused, naming the parameter to set.
    """
    if not coefficient_prior.is_proper:
        raise ValueError(
            "prior='flat' is improper: the coefficients have no prior draws, so there is no prior "
            "predictive. Use a proper prior (prior='normal', 'laplace' or 'elasticnet' with a "
            "prior_sigma)."
        )
    if fit_intercept and intercept_prior is None:
        raise ValueError(
            "The intercept's prior is flat (intercept_prior_sigma=None, the default), which is "
            "improper: it has no draws, so there is no prior predictive. Give the intercept a normal "
            "prior, e.g. intercept_prior_sigma=<a few sds of y> (and intercept_prior_mean=<mean of y>), "
            "or center y and set fit_intercept=False."
        )
    prior_sigma = None
    if prior_sigma_prior is not None:
        prior_sigma = np.abs(prior_sigma_prior * rng.standard_normal(size))
        coef = coefficient_prior.mean + prior_sigma[:, None] * rng.standard_normal(
            (size, coefficient_prior.n_features)
        )
    else:
        coef = coefficient_prior.sample(size, rng)
    if fit_intercept and intercept_prior is not None:
        intercept = intercept_prior.mean + intercept_prior.sigma * rng.standard_normal(size)
    else:
        intercept = np.zeros(size)
    noise = None if noise_prior is None else sample_noise_prior(noise_prior, size, rng)
    return ParameterDraws(coef, intercept, noise, prior_sigma)


# --- Bayesian R² ----------------------------------------------------------------------------------


def bayes_r2(mu: np.ndarray, noise_sigma: np.ndarray) -> np.ndarray:
    """Gelman et al.'s (2019) Bayesian R² of each draw: ``var(mu_s) / (var(mu_s) + σ_s²)``.

    ``mu`` (S, n) is the fitted mean of each row for each draw and ``noise_sigma`` (S,) the noise
    sd; the variance over rows has ``ddof=1``, as in ``arviz_stats.bayesian_r2`` and rstanarm.

    Examples
    --------
    >>> mu = np.array([[0.0, 2.0], [0.0, 4.0]])  # variances over the rows: 2 and 8
    >>> bayes_r2(mu, np.array([np.sqrt(2.0), np.sqrt(2.0)])).tolist()
    [0.5, 0.8]
    """
    var_fit = np.var(mu, axis=1, ddof=1)
    return var_fit / (var_fit + np.asarray(noise_sigma, dtype=float) ** 2)


# --- xarray groups --------------------------------------------------------------------------------


def draws_dataset(
    variables: Mapping[str, np.ndarray],
    *,
    chain: np.ndarray,
    draw: np.ndarray,
    coords: Mapping[str, np.ndarray | list] | None = None,
) -> xr.Dataset:
    """Draws flattened over chains (S, ...) as a Dataset over ``(chain, draw, ...)``.

    ``coef`` gets the ``feature`` dimension, ``y`` the ``obs`` dimension; ``coords`` names them.
    """
    shape = (len(chain), len(draw))
    data_vars = {
        name: (("chain", "draw", *_DIMS.get(name, ())), np.asarray(values).reshape(*shape, *values.shape[1:]))
        for name, values in variables.items()
    }
    return xr.Dataset(data_vars, coords={"chain": chain, "draw": draw, **(coords or {})})


def predictive_tree(
    group: str,
    y_draws: np.ndarray,
    *,
    chain: np.ndarray,
    draw: np.ndarray,
    X: np.ndarray,
    feature_names: list[str],
    obs: np.ndarray,
    observed: np.ndarray | None = None,
    parameters: Mapping[str, np.ndarray] | None = None,
) -> xr.DataTree:
    """A DataTree of predictive draws ``y_draws`` (S, n) in ``group``, with the rows and their data.

    ``constant_data`` holds ``X`` and, when given, ``observed_data`` holds ``observed`` (cast to the
    draws' dtype when those are integer, so that ArviZ sees both as discrete); ``parameters``
    become the ``prior`` group (the parameter draws of a prior predictive).
    """
    tree = xr.DataTree()
    if parameters is not None:
        tree["prior"] = draws_dataset(parameters, chain=chain, draw=draw, coords={FEATURE_DIM: feature_names})
    tree[group] = draws_dataset({"y": y_draws}, chain=chain, draw=draw, coords={OBS_DIM: obs})
    if observed is not None:
        if y_draws.dtype.kind == "i":
            observed = np.asarray(observed).astype(y_draws.dtype)
        tree["observed_data"] = xr.Dataset({"y": ((OBS_DIM,), observed)}, coords={OBS_DIM: obs})
    tree["constant_data"] = xr.Dataset(
        {"X": ((OBS_DIM, FEATURE_DIM), X)}, coords={OBS_DIM: obs, FEATURE_DIM: feature_names}
    )
    return tree

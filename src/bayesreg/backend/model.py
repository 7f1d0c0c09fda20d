"""Build the PyMC models; nothing here samples or optimises.

Both models are built from the same parts: a coefficient prior (:class:`CoefficientPrior`: normal,
Laplace, elastic net or flat, with an sd and a centre per coefficient), an intercept that is flat or
normal, and for the linear model a known noise sd or a free one with its prior.

The intercept is sampled as ``intercept_centered``, the intercept of the model on column-centred X,
and reported as the Deterministic ``intercept = intercept_centered − x̄ᵀcoef``. The map between the
two has Jacobian 1, so the posterior is unchanged (a normal intercept prior is written on
``intercept`` itself) and the sampler sees far less correlation.

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
from pytensor.tensor.special import log_softmax

from bayesreg._dims import CLASS_DIM, FEATURE_DIM, INTERCEPT_LABEL
from bayesreg.stats.conjugate import SufficientStats
from bayesreg.stats.prior_terms import CoefficientPrior, InterceptPrior, NoisePrior

__all__ = [
    "FEATURE_DIM",
    "FixedStructure",
    "Whitening",
    "build_binomial_model",
    "build_linear_model",
    "build_logistic_model",
    "build_multinomial_model",
    "build_poisson_model",
]

_LOCATION_DIM = "location"


@dataclass(frozen=True)
class Whitening:
    """The affine map ``β = loc + scale_tril @ z`` for the location parameters."""

    loc: np.ndarray
    scale_tril: np.ndarray


@dataclass(frozen=True)
class FixedStructure:
    """Marks a built model that :mod:`bayesreg.backend.fixed_density` can sample without compiling it.

    Set (as ``model.bayesreg_fixed_structure``) on every model a builder makes, but for the
    hierarchical one only when whitened (the one that is sampled) with a normal prior and a flat
    intercept; the numbers themselves stay in the model's Data containers.
    nutpie samples the whitened ones on the hand-written density; the MAP uses its log density,
    gradient and Hessian on the unwhitened ones (``whitened=False``) too.
    """

    family: str  # "gaussian" (sufficient statistics), or on rows: bernoulli, binomial, poisson, multinomial
    prior: str  # the coefficient prior's kind
    fit_intercept: bool
    intercept_prior: bool = False
    noise: str = "known"  # "known", or the free noise sd's prior kind (gaussian only)
    weighted: bool = False  # a sample_weight container (rows only)
    offset: bool = False  # a log_exposure container (poisson only)
    whitened: bool = True  # the free location is z (β = loc + L z), else coef and intercept_centered
    free_prior_sigma: bool = False  # the normal prior's sd is free, under HalfNormal(prior_sigma_prior)


def _mark(model: pm.Model, structure: FixedStructure) -> None:
    model.bayesreg_fixed_structure = structure


def _mark_rows(
    model: pm.Model,
    family: str,
    prior: CoefficientPrior,
    fit_intercept: bool,
    intercept_prior: InterceptPrior | None,
    sample_weight: np.ndarray | None,
    whitening: Whitening | None,
    offset: bool = False,
) -> None:
    """Mark a model of rows (every family but the Gaussian's sufficient statistics)."""
    structure = FixedStructure(
        family,
        prior.kind,
        fit_intercept,
        fit_intercept and intercept_prior is not None,
        weighted=sample_weight is not None,
        offset=offset,
        whitened=whitening is not None,
    )
    _mark(model, structure)


def _coefficient_prior_terms(prior: CoefficientPrior, coef, sigma=None) -> None:
    """Add the log density of ``prior`` at ``coef`` to the model in context, as Potentials.

    The L1 part goes in its own Potential, ``coef_prior_l1``, so that the MAP solver can leave it
    out of the smooth objective it differentiates and handle it exactly (see
    :func:`bayesreg.backend.sparse_map.find_map_l1`). ``sigma`` overrides the normal prior's sd (the
    hierarchical model's free scale).
    """
    if prior.kind == "flat":
        return  # no term, and no Data container the graph does not use
    mean = pm.Data("prior_mean", prior.mean)
    if prior.kind == "normal":
        scale = pm.Data("prior_sigma", prior.sigma) if sigma is None else sigma
        pm.Potential("coef_prior", pm.logp(pm.Normal.dist(mean, scale), coef).sum())
    elif prior.kind in ("laplace", "elasticnet"):
        l1 = pm.Data("prior_l1_weight", prior.l1_weight)
        l2 = pm.Data("prior_l2_precision", prior.l2_precision)
        const = pm.Data("prior_log_normaliser", prior.log_normaliser())
        pm.Potential("coef_prior_l1", -pt.sum(l1 * pt.abs(coef - mean)))
        pm.Potential("coef_prior_smooth", const - 0.5 * pt.sum(l2 * (coef - mean) ** 2))


def _location_parameters(
    feature_names: Sequence[str],
    prior: CoefficientPrior,
    fit_intercept: bool,
    whitening: Whitening | None,
    prior_sigma_prior: float | None = None,
    initial_prior_sigma: float | None = None,
):
    """Add coef (and intercept_centered) to the model in context; return both tensors.

    ``prior_sigma_prior`` makes the (scalar) sd of a normal prior a free ``HalfNormal(prior_sigma_prior)``
    variable (the hierarchical model), started at ``initial_prior_sigma``; otherwise the prior's
    numbers are fixed Data containers.
    """
    p = len(feature_names)
    free_sigma = None
    if prior_sigma_prior is not None:
        scale = pm.Data("prior_sigma_prior", float(prior_sigma_prior))
        free_sigma = pm.HalfNormal("prior_sigma", sigma=scale, initval=initial_prior_sigma)
    if whitening is None:
        if prior.kind == "normal":
            mean = pm.Data("prior_mean", prior.mean)
            sigma = pm.Data("prior_sigma", prior.sigma) if free_sigma is None else free_sigma
            coef = pm.Normal("coef", mu=mean, sigma=sigma, dims=FEATURE_DIM)
        else:
            coef = pm.Flat("coef", dims=FEATURE_DIM)
            _coefficient_prior_terms(prior, coef)
        intercept_c = pm.Flat("intercept_centered") if fit_intercept else pt.constant(0.0)
        return coef, intercept_c
    loc = pm.Data("whitening_loc", whitening.loc)
    scale_tril = pm.Data("whitening_scale_tril", whitening.scale_tril)
    z = pm.Flat("z", dims=_LOCATION_DIM)
    beta = loc + pt.dot(scale_tril, z)
    coef = pm.Deterministic("coef", beta[:p], dims=FEATURE_DIM)
    _coefficient_prior_terms(prior, coef, free_sigma)
    intercept_c = pm.Deterministic("intercept_centered", beta[p]) if fit_intercept else pt.constant(0.0)
    return coef, intercept_c


def _intercept(coef, intercept_c, x_mean: np.ndarray, intercept_prior: InterceptPrior | None) -> None:
    """The Deterministic ``intercept`` of uncentred X, and its prior (a Potential) when it has one.

    The map ``(intercept_centered, coef) → (intercept, coef)`` has Jacobian 1, so a density on
    ``intercept`` is the same density on the sampled ``intercept_centered``.
    """
    x_mean_data = pm.Data("x_mean", x_mean)
    intercept = pm.Deterministic("intercept", intercept_c - pt.dot(x_mean_data, coef))
    if intercept_prior is not None:
        mu0 = pm.Data("intercept_prior_mean", float(intercept_prior.mean))
        s0 = pm.Data("intercept_prior_sigma", float(intercept_prior.sigma))
        pm.Potential("intercept_prior", pm.logp(pm.Normal.dist(mu0, s0), intercept))


def _noise_sigma(noise_prior: NoisePrior):
    """The free noise sd with its prior; every number a Data container."""
    if noise_prior.kind == "flat":
        return pm.HalfFlat("noise_sigma")
    scale = pm.Data("noise_prior_sigma", float(noise_prior.scale))
    if noise_prior.kind == "halfnormal":
        return pm.HalfNormal("noise_sigma", sigma=scale)
    if noise_prior.kind == "halfcauchy":
        return pm.HalfCauchy("noise_sigma", beta=scale)
    if noise_prior.kind == "halfstudentt":
        nu = pm.Data("noise_prior_nu", float(noise_prior.nu))
        return pm.HalfStudentT("noise_sigma", nu=nu, sigma=scale)
    return pm.Exponential("noise_sigma", scale=scale)


def _coords(feature_names: Sequence[str], fit_intercept: bool) -> dict:
    location = [*feature_names, INTERCEPT_LABEL] if fit_intercept else list(feature_names)
    return {FEATURE_DIM: list(feature_names), _LOCATION_DIM: location}


def _column_means(X: np.ndarray, fit_intercept: bool, weights: np.ndarray | None = None) -> np.ndarray:
    """The (weighted) column means X is centred at; zeros without an intercept (X is used as is)."""
    return np.average(X, axis=0, weights=weights) if fit_intercept else np.zeros(X.shape[1])


def _weighted_log_likelihood(row_logp, sample_weight: np.ndarray | None) -> None:
    """The likelihood Potential ``Σ w_i log p_i``: each row's term times its ``sample_weight``.

    The weights are a ``sample_weight`` Data container, so they are part of the structure key.
    """
    if sample_weight is not None:
        row_logp = pm.Data("sample_weight", np.asarray(sample_weight, dtype=float)) * row_logp
    pm.Potential("log_likelihood", pt.sum(row_logp))


def build_linear_model(
    stats: SufficientStats,
    *,
    feature_names: Sequence[str],
    prior: CoefficientPrior,
    noise_sigma: float | None,
    noise_prior: NoisePrior,
    intercept_prior: InterceptPrior | None = None,
    whitening: Whitening | None = None,
    prior_sigma_prior: float | None = None,
    initial_prior_sigma: float | None = None,
) -> pm.Model:
    """Gaussian linear regression on sufficient statistics.

    ``noise_sigma=None`` makes the noise sd a free variable with ``noise_prior``;
    ``prior_sigma_prior`` makes the sd of a normal coefficient prior a free
    ``HalfNormal(prior_sigma_prior)`` variable.
    """
    with pm.Model(coords=_coords(feature_names, stats.fit_intercept)) as model:
        coef, intercept_c = _location_parameters(
            feature_names, prior, stats.fit_intercept, whitening, prior_sigma_prior, initial_prior_sigma
        )
        if noise_sigma is None:
            sigma_n = _noise_sigma(noise_prior)
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
            _intercept(coef, intercept_c, stats.x_mean, intercept_prior)
    noise = "known" if noise_sigma is not None else noise_prior.kind
    has_intercept_prior = stats.fit_intercept and intercept_prior is not None
    free_prior_sigma = prior_sigma_prior is not None
    # The C density writes the free prior sd for the normal prior and a flat intercept only (what
    # the estimator allows), and the MAP is never taken with it free.
    if not free_prior_sigma or (whitening is not None and prior.kind == "normal" and not has_intercept_prior):
        structure = FixedStructure(
            "gaussian",
            prior.kind,
            stats.fit_intercept,
            has_intercept_prior,
            noise,
            whitened=whitening is not None,
            free_prior_sigma=free_prior_sigma,
        )
        _mark(model, structure)
    return model


def build_logistic_model(
    X: np.ndarray,
    y01: np.ndarray,
    *,
    feature_names: Sequence[str],
    prior: CoefficientPrior,
    fit_intercept: bool,
    intercept_prior: InterceptPrior | None = None,
    whitening: Whitening | None = None,
    sample_weight: np.ndarray | None = None,
) -> pm.Model:
    """Bernoulli-logit regression with a row-wise likelihood on ``y01`` in {0, 1}.

    ``sample_weight`` multiplies each row's log-likelihood term (scikit-learn's semantics: a row
    of weight ``w`` counts as ``w`` copies of it), and X is centred at the weighted mean. The
    likelihood is then a Potential over a ``sample_weight`` Data container instead of the observed
    ``y``; that container's name is part of the compiled-structure key (the backend's cache keys
    list every Data container), so weighted and unweighted models never share a compiled objective.
    """
    x_mean = _column_means(X, fit_intercept, sample_weight)
    # No named row dimension: the row count stays out of the graph, so one compiled objective
    # serves every data set with the same columns (the estimator builds observed_data itself).
    with pm.Model(coords=_coords(feature_names, fit_intercept)) as model:
        coef, intercept_c = _location_parameters(feature_names, prior, fit_intercept, whitening)
        Xc = pm.Data("X_centered", X - x_mean)
        y_obs = pm.Data("y_observed", y01.astype(np.int64))
        logit_p = intercept_c + pt.dot(Xc, coef)
        if sample_weight is None:
            pm.Bernoulli("y", logit_p=logit_p, observed=y_obs)
        else:
            _weighted_log_likelihood(pm.logp(pm.Bernoulli.dist(logit_p=logit_p), y_obs), sample_weight)
        if fit_intercept:
            _intercept(coef, intercept_c, x_mean, intercept_prior)
    _mark_rows(model, "bernoulli", prior, fit_intercept, intercept_prior, sample_weight, whitening)
    return model


def build_poisson_model(
    X: np.ndarray,
    counts: np.ndarray,
    *,
    feature_names: Sequence[str],
    prior: CoefficientPrior,
    fit_intercept: bool,
    intercept_prior: InterceptPrior | None = None,
    whitening: Whitening | None = None,
    sample_weight: np.ndarray | None = None,
    log_exposure: np.ndarray | None = None,
) -> pm.Model:
    """Poisson regression with a log link and a row-wise likelihood on the counts ``y``.

    ``y_i ~ Poisson(exp(b + x_i·w + o_i))`` with the offset ``o_i = log(exposure_i)`` when
    ``log_exposure`` is given (a ``log_exposure`` Data container; without it the graph has no
    offset). The likelihood is one Potential, ``Σ w_i (y_i η_i − exp(η_i) − log y_i!)``, with the
    row weights ``w_i`` of ``sample_weight`` (a ``sample_weight`` Data container) as in
    :func:`build_logistic_model`; X is centred at its (weighted) mean.
    """
    x_mean = _column_means(X, fit_intercept, sample_weight)
    with pm.Model(coords=_coords(feature_names, fit_intercept)) as model:
        coef, intercept_c = _location_parameters(feature_names, prior, fit_intercept, whitening)
        Xc = pm.Data("X_centered", X - x_mean)
        y_obs = pm.Data("y_observed", np.asarray(counts, dtype=float))
        eta = intercept_c + pt.dot(Xc, coef)
        if log_exposure is not None:
            eta = eta + pm.Data("log_exposure", np.asarray(log_exposure, dtype=float))
        row_logp = y_obs * eta - pt.exp(eta) - pt.gammaln(y_obs + 1.0)
        _weighted_log_likelihood(row_logp, sample_weight)
        if fit_intercept:
            _intercept(coef, intercept_c, x_mean, intercept_prior)
    has_offset = log_exposure is not None
    _mark_rows(
        model, "poisson", prior, fit_intercept, intercept_prior, sample_weight, whitening, offset=has_offset
    )
    return model


def build_binomial_model(
    X: np.ndarray,
    successes: np.ndarray,
    trials: np.ndarray,
    *,
    feature_names: Sequence[str],
    prior: CoefficientPrior,
    fit_intercept: bool,
    intercept_prior: InterceptPrior | None = None,
    whitening: Whitening | None = None,
    sample_weight: np.ndarray | None = None,
) -> pm.Model:
    """Binomial-logit regression: ``successes_i ~ Binomial(trials_i, sigmoid(b + x_i·w))``.

    The same posterior as :func:`build_logistic_model` on the rows expanded to ``trials_i`` 0/1
    rows (``successes_i`` of them 1), at the cost of one row each: the two likelihoods differ by the
    constant ``Σ log C(trials_i, successes_i)``. X is centred at its mean weighted by the trials
    (times ``sample_weight``), the mean of the expanded rows. The likelihood is one Potential,
    ``Σ s_i log Binomial(successes_i | trials_i, p_i)``, with ``s_i`` from ``sample_weight`` (1
    without it).
    """
    weights = np.asarray(trials, dtype=float)
    if sample_weight is not None:
        weights = weights * np.asarray(sample_weight, dtype=float)
    x_mean = _column_means(X, fit_intercept, weights)
    with pm.Model(coords=_coords(feature_names, fit_intercept)) as model:
        coef, intercept_c = _location_parameters(feature_names, prior, fit_intercept, whitening)
        Xc = pm.Data("X_centered", X - x_mean)
        k = pm.Data("y_observed", np.asarray(successes, dtype=np.int64))
        n = pm.Data("trials", np.asarray(trials, dtype=np.int64))
        logit_p = intercept_c + pt.dot(Xc, coef)
        row_logp = pm.logp(pm.Binomial.dist(n=n, logit_p=logit_p), k)
        _weighted_log_likelihood(row_logp, sample_weight)
        if fit_intercept:
            _intercept(coef, intercept_c, x_mean, intercept_prior)
    _mark_rows(model, "binomial", prior, fit_intercept, intercept_prior, sample_weight, whitening)
    return model


def build_multinomial_model(
    X: np.ndarray,
    codes: np.ndarray,
    *,
    class_names: Sequence[str],
    feature_names: Sequence[str],
    prior: CoefficientPrior,
    fit_intercept: bool,
    whitening: Whitening | None = None,
    sample_weight: np.ndarray | None = None,
) -> pm.Model:
    """Multinomial (softmax) regression in scikit-learn's symmetric parametrisation.

    ``P(y_i = k) = softmax_k(b + W x_i)`` with ``coef`` ``W`` of shape (K, p), every row of it
    under the normal prior (sd per feature, mean 0): the prior identifies ``W`` (the likelihood
    only sees differences between classes). The intercepts have a flat prior, so they are
    identified only up to a common shift: the model samples ``K − 1`` free contrasts
    ``intercept_centered`` (the intercepts on centred X with class K's fixed at 0; a flat prior on
    them is a flat prior on the identified part) and reports ``intercept = c − mean(c)`` with
    ``c = (intercept_centered, 0) − W x̄``: the intercepts of uncentred X, centred to sum 0, as
    scikit-learn reports them. ``codes`` are the class indices 0..K−1 of the rows.

    Whitening maps ``(coef.ravel(), intercept_centered)`` (row-major) as in the other builders.
    """
    if prior.kind != "normal":
        raise ValueError(f"the multinomial model takes a normal coefficient prior, not {prior.kind!r}")
    K, p = len(class_names), X.shape[1]
    x_mean = _column_means(X, fit_intercept, sample_weight)
    location = [f"{f}[{c}]" for c in class_names for f in feature_names]
    if fit_intercept:
        last = class_names[-1]
        location += [f"{INTERCEPT_LABEL}[{c}] - {INTERCEPT_LABEL}[{last}]" for c in class_names[:-1]]
    coords = {CLASS_DIM: list(class_names), FEATURE_DIM: list(feature_names), _LOCATION_DIM: location}
    onehot = np.zeros((X.shape[0], K))
    onehot[np.arange(X.shape[0]), np.asarray(codes, dtype=np.int64)] = 1.0
    with pm.Model(coords=coords) as model:
        sigma = pm.Data("prior_sigma", prior.sigma)
        if whitening is None:
            coef = pm.Normal("coef", mu=0.0, sigma=sigma, dims=(CLASS_DIM, FEATURE_DIM))
            contrasts = pm.Flat("intercept_centered", shape=K - 1) if fit_intercept else None
        else:
            loc = pm.Data("whitening_loc", whitening.loc)
            scale_tril = pm.Data("whitening_scale_tril", whitening.scale_tril)
            z = pm.Flat("z", dims=_LOCATION_DIM)
            beta = loc + pt.dot(scale_tril, z)
            coef = pm.Deterministic("coef", beta[: K * p].reshape((K, p)), dims=(CLASS_DIM, FEATURE_DIM))
            pm.Potential("coef_prior", pm.logp(pm.Normal.dist(0.0, sigma), coef).sum())
            contrasts = pm.Deterministic("intercept_centered", beta[K * p :]) if fit_intercept else None
        Xc = pm.Data("X_centered", X - x_mean)
        y_onehot = pm.Data("y_onehot", onehot)
        eta = pt.dot(Xc, coef.T)
        if contrasts is not None:
            full = pt.concatenate([contrasts, pt.zeros(1)])
            eta = eta + full[None, :]
        row_logp = pt.sum(y_onehot * log_softmax(eta, axis=1), axis=1)
        _weighted_log_likelihood(row_logp, sample_weight)
        if contrasts is not None:
            c = pt.concatenate([contrasts, pt.zeros(1)]) - pt.dot(coef, pm.Data("x_mean", x_mean))
            pm.Deterministic("intercept", c - pt.mean(c), dims=CLASS_DIM)
    _mark_rows(model, "multinomial", prior, fit_intercept, None, sample_weight, whitening)
    return model

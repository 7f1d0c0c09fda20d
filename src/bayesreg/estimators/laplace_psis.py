"""``method="laplace"``: the Gaussian at the MAP, corrected by Pareto-smoothed importance sampling.

The MAP and the inverse negative Hessian there (``MapResult.location`` and ``location_cov``) are
computed for every method. ``method="laplace"`` draws ``S = chains × draws`` points from that
Gaussian ``q`` (in the MAP's location coordinates: the coefficients and the centred intercept),
evaluates the exact log posterior density ``log p̃`` of each in numpy (the weighted log likelihood,
plus the log prior that the ``log_prior`` group holds), and weighs each draw by ``p̃/q``. The raw
ratios can have a heavy right tail; Pareto smoothing (PSIS, Vehtari, Simpson, Gelman, Yao and Gabry,
2024) replaces the largest ones by the quantiles of a generalized Pareto fit, whose shape ``k̂`` is
the diagnostic: the weighted estimates are reliable when ``k̂`` is below
``min(1 − 1/log10(S), 0.7)`` (0.7 for S ≥ 2154), and not otherwise, whatever the draws look like.
Above it the fit warns :class:`~bayesreg.exceptions.ConvergenceWarning` and says to use NUTS.

What a fit reports, and why:

* ``coef_``, ``coef_sd_``, ``intercept_``: the PSIS-weighted mean and sd over the ``S`` Gaussian
  draws (self-normalised importance sampling). They are better than the same moments of the
  resampled draws, which add the resampling's own noise.
* ``idata_["posterior"]``: ``S`` unweighted draws, picked from the Gaussian draws by systematic
  resampling with the PSIS weights (each draw is kept ``⌊S w_i⌋`` or ``⌊S w_i⌋ + 1`` times), in the
  order they were drawn and cut into ``chains × draws``, so that everything that reads draws
  (``predict``, ``predict_proba``, ``arviz.loo``, the predictive groups, ``compare``) reads them
  unchanged. Copies of one draw sit next to each other, so ArviZ's ESS of these chains counts them
  about once. With uniform weights (the exact case below) every Gaussian draw is kept exactly once.
* ``laplace_`` (:class:`LaplaceReport`): ``k̂``, the importance-sampling ESS ``1/Σ w̃_i²``, the
  weighted mean, sd and Monte Carlo standard error of every term, and any problem found.
* ``convergence_`` is None (there is no sampler to check).

For the linear model with known noise and a normal (or flat) prior the Gaussian *is* the
posterior: the log ratios are constant (to rounding), the weights uniform, and ``k̂`` is reported
as ``-inf`` (no tail to fit). Ratios whose spread is below ``1e-8`` times the scale of the log
density are taken as constant, since no weight then differs from uniform by more than that.

Refused, each with a one-line reason (see :func:`check_laplace_options`): priors with an L1 part
(``"laplace"``, ``"elasticnet"``: the density has a kink at the prior mean, where the MAP often
sits, so the Hessian there is not the curvature of the posterior); an unknown noise sd (the MAP's
covariance covers only the coefficients and the intercept); a learned prior sd
(``prior_sigma_prior``); the K-class logistic model (not yet); fewer than 50 draws in all.

Examples
--------
>>> import numpy as np
>>> from bayesreg import BayesianLogisticRegression
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(400, 3))
>>> y = (X @ [1.0, -1.0, 0.5] + rng.logistic(size=400) > 0).astype(int)
>>> est = BayesianLogisticRegression(1.0, method="laplace", random_state=0).fit(X, y)
>>> bool(est.laplace_.pareto_k < 0.5), est.idata_["posterior"]["coef"].shape
(True, (4, 1000, 3))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import linalg
from scipy.special import logsumexp

from bayesreg._dims import FEATURE_DIM
from bayesreg._warn import warn_user
from bayesreg.exceptions import ConvergenceWarning
from bayesreg.stats.suffstats import SufficientStats

__all__ = [
    "MIN_DRAWS",
    "ImportanceSample",
    "LaplaceReport",
    "check_laplace_options",
    "fit_laplace",
    "gaussian_stats_log_likelihood",
    "importance_sample",
    "k_threshold",
    "rows_log_likelihood",
    "systematic_resample",
]

# PSIS needs a tail of some size to fit (about 3√S draws); below this total it says little.
MIN_DRAWS = 50
# Log ratios whose spread is below this, relative to the log density's scale, are constant.
CONSTANT_RTOL = 1e-8
# Elements per block of (draws × rows) when the log likelihood is summed over rows (~32 MB).
_BLOCK_ELEMENTS = 2**22

# A function of draws ``coef`` (S, p) and ``intercept`` (S,): the weighted log likelihood, (S,).
LogLikelihood = Callable[[np.ndarray, np.ndarray], np.ndarray]


def k_threshold(n_draws: int) -> float:
    """The largest Pareto ``k̂`` at which PSIS estimates from ``n_draws`` draws are reliable.

    ``min(1 − 1/log10(S), 0.7)`` (Vehtari et al., 2024, section 3.2.4).

    Examples
    --------
    >>> round(k_threshold(4000), 2), round(k_threshold(100), 2)
    (0.7, 0.5)
    """
    return float(min(1.0 - 1.0 / np.log10(n_draws), 0.7))


@dataclass(frozen=True)
class LaplaceReport:
    """What the importance sampling of a ``method="laplace"`` fit found.

    Attributes
    ----------
    pareto_k : float
        The Pareto shape ``k̂`` of the importance ratios' right tail; ``-inf`` when the ratios are
        constant (the Gaussian is the posterior).
    k_threshold : float
        The largest ``k̂`` at which the estimates are reliable with this many draws (0.7 at 2154
        draws or more).
    n_draws : int
        The Gaussian draws (``chains × draws``).
    ess : float
        The importance-sampling effective sample size ``1 / Σ w̃_i²`` of the normalised weights.
    n_distinct : int
        How many different Gaussian draws the resampled posterior holds.
    log_ratio_spread : float
        The range (max − min) of the raw log importance ratios; 0 up to rounding when exact.
    term_mean, term_sd, term_mcse : ndarray of shape (n_terms,)
        The weighted posterior mean and sd of each term (coefficients, then the intercept, as in
        ``compare``), and the Monte Carlo standard error of the mean,
        ``sqrt(Σ w̃_i² (θ_i − mean)²)``.
    problems : list of str
        One sentence per failed check, with what to do; empty when reliable.
    """

    pareto_k: float
    k_threshold: float
    n_draws: int
    ess: float
    n_distinct: int
    log_ratio_spread: float
    term_mean: np.ndarray
    term_sd: np.ndarray
    term_mcse: np.ndarray
    problems: list[str] = field(default_factory=list)

    @property
    def reliable(self) -> bool:
        """True when ``k̂`` is at most ``k_threshold`` (and nothing else failed)."""
        return not self.problems

    def __str__(self) -> str:
        verdict = "reliable" if self.reliable else "NOT RELIABLE"
        k = "-inf (exact: constant ratios)" if np.isneginf(self.pareto_k) else f"{self.pareto_k:.2f}"
        lines = [
            f"Laplace + PSIS {verdict}: {self.n_draws} draws, Pareto k {k} "
            f"(reliable up to {self.k_threshold:.2f}), importance-sampling ESS {self.ess:.0f}, "
            f"{self.n_distinct} distinct draws kept"
        ]
        lines += [f"  - {p}" for p in self.problems]
        if self.reliable and self.pareto_k > 0.5:
            lines.append(
                f"  note: k = {self.pareto_k:.2f} > 0.5 is usable, but the estimates converge more slowly "
                "than 1/sqrt(draws) and their Monte Carlo errors are approximate"
            )
        return "\n".join(lines)


@dataclass(frozen=True)
class ImportanceSample:
    """Gaussian draws and their PSIS weights.

    Attributes
    ----------
    location : ndarray of shape (S, k)
        The draws, in the coordinates of the Gaussian.
    log_ratios : ndarray of shape (S,)
        ``log p̃(θ_i) − log q(θ_i)``, raw.
    log_weights : ndarray of shape (S,)
        Pareto-smoothed and normalised (``logsumexp = 0``).
    pareto_k : float
        ``-inf`` when the ratios are constant.
    """

    location: np.ndarray
    log_ratios: np.ndarray
    log_weights: np.ndarray
    pareto_k: float

    @property
    def weights(self) -> np.ndarray:
        """The normalised weights (summing to 1)."""
        return np.exp(self.log_weights)

    @property
    def ess(self) -> float:
        """The importance-sampling effective sample size ``1 / Σ w̃_i²``."""
        return float(1.0 / np.sum(self.weights**2))


def importance_sample(
    log_target: Callable[[np.ndarray], np.ndarray],
    mean: np.ndarray,
    cov: np.ndarray,
    n_draws: int,
    rng: np.random.Generator,
) -> ImportanceSample:
    """Draw ``n_draws`` points from ``N(mean, cov)`` and weigh them towards ``exp(log_target)``.

    ``log_target`` maps draws (S, k) to their unnormalised log density (S,). The ratios are
    Pareto-smoothed (``arviz_stats``); ratios constant to ``CONSTANT_RTOL`` get uniform weights and
    ``k̂ = -inf``. Raises ``ValueError`` when ``cov`` is not positive definite.

    Examples
    --------
    A Gaussian target is its own proposal: uniform weights.

    >>> rng = np.random.default_rng(0)
    >>> sample = importance_sample(lambda x: -0.5 * (x**2).sum(axis=1), np.zeros(2), np.eye(2), 1000, rng)
    >>> float(sample.pareto_k), round(sample.ess)
    (-inf, 1000)
    """
    try:
        chol = linalg.cholesky(np.asarray(cov, dtype=float), lower=True)
    except (linalg.LinAlgError, ValueError) as exc:
        raise ValueError(
            "method='laplace' needs a positive-definite Hessian at the MAP (its inverse is the "
            "Gaussian's covariance), and this MAP has none: use method='mcmc'."
        ) from exc
    z = rng.standard_normal((n_draws, mean.size))
    location = mean + z @ chol.T
    log_q = -0.5 * np.sum(z**2, axis=1) - np.sum(np.log(np.diag(chol)))
    target = np.asarray(log_target(location), dtype=float)
    log_ratios = target - log_q
    finite = np.isfinite(log_ratios)
    if not finite.any():
        raise ValueError(
            "The log posterior density is not finite at any draw of the Laplace approximation: "
            "use method='mcmc'."
        )
    # A draw where the density underflows (or is undefined) gets weight 0, not a NaN.
    log_ratios = np.where(finite, log_ratios, np.min(log_ratios[finite]) - 800.0)
    scale = max(1.0, float(np.max(np.abs(target[finite]))))
    if float(np.ptp(log_ratios)) <= CONSTANT_RTOL * scale:
        log_weights = np.full(n_draws, -np.log(n_draws))
        k = -np.inf
    else:
        from arviz_stats.base.array import array_stats

        # arviz_stats smooths the ratios of its input's negation (it takes log likelihoods for LOO).
        smoothed, khat = array_stats.psislw(-log_ratios, r_eff=1.0)
        log_weights = np.asarray(smoothed, dtype=float)
        log_weights = log_weights - logsumexp(log_weights)
        k = float(khat)
    return ImportanceSample(location, log_ratios, log_weights, k)


def systematic_resample(weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``len(weights)`` draws by systematic resampling, ascending.

    Draw ``i`` is picked ``⌊S w_i⌋`` or ``⌊S w_i⌋ + 1`` times; uniform weights pick each once.

    Examples
    --------
    >>> systematic_resample(np.full(4, 0.25), np.random.default_rng(0)).tolist()
    [0, 1, 2, 3]
    >>> systematic_resample(np.array([0.5, 0.5, 0.0, 0.0]), np.random.default_rng(0)).tolist()
    [0, 0, 1, 1]
    """
    n = weights.size
    positions = (rng.uniform() + np.arange(n)) / n
    cumulative = np.cumsum(weights / np.sum(weights))
    cumulative[-1] = 1.0
    return np.searchsorted(cumulative, positions, side="right").clip(0, n - 1)


# --- the log likelihood of draws --------------------------------------------------------------------


def rows_log_likelihood(
    est: Any,
    X: np.ndarray,
    y: np.ndarray,
    sample_weight: np.ndarray | None = None,
    row_data: Mapping[str, np.ndarray] | None = None,
) -> LogLikelihood:
    """``Σ_i w_i log p(y_i | draw)`` from the estimator's ``_pointwise_log_likelihood``, in blocks of draws.

    The blocks keep memory at about ``_BLOCK_ELEMENTS`` numbers whatever the number of rows.
    """
    extra = dict(row_data or {})
    block = max(1, _BLOCK_ELEMENTS // max(1, X.shape[0]))

    def log_likelihood(coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
        out = np.empty(coef.shape[0])
        for start in range(0, coef.shape[0], block):
            sl = slice(start, start + block)
            pointwise = est._pointwise_log_likelihood(X, y, coef[sl], intercept[sl], extra)
            out[sl] = pointwise.sum(axis=1) if sample_weight is None else pointwise @ sample_weight
        return out

    return log_likelihood


def gaussian_stats_log_likelihood(stats: SufficientStats, noise_sigma: float) -> LogLikelihood:
    """The Gaussian linear model's weighted log likelihood of draws, from the sufficient statistics.

    ``Σ w_i (y_i − b − x_i·β)² = ‖qty − Rβ‖² + n (ȳ − b − x̄·β)²`` (the cross term vanishes about
    the weighted means), so it costs ``O(p²)`` per draw whatever the number of rows, and works for
    chunked input too.

    Examples
    --------
    >>> from bayesreg.stats.suffstats import sufficient_stats
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(50, 2)), rng.normal(size=50)
    >>> loglik = gaussian_stats_log_likelihood(sufficient_stats(X, y, fit_intercept=True), 2.0)
    >>> coef, b = np.array([[0.3, -0.2]]), np.array([0.1])
    >>> direct = -0.5 * np.sum(((y - b - X @ coef[0]) / 2.0) ** 2) - 50 * np.log(2.0 * np.sqrt(2 * np.pi))
    >>> bool(np.isclose(loglik(coef, b)[0], direct, rtol=1e-12))
    True
    """
    n = float(stats.n)
    sigma = float(noise_sigma)

    def log_likelihood(coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
        resid = stats.qty[None, :] - coef @ stats.r_factor.T
        rss = np.sum(resid**2, axis=1)
        if stats.fit_intercept:
            rss = rss + n * (stats.y_mean - intercept - coef @ stats.x_mean) ** 2
        return -0.5 * rss / sigma**2 - n * np.log(sigma) - 0.5 * n * np.log(2 * np.pi)

    return log_likelihood


# --- the parameters a fit takes ---------------------------------------------------------------------


def check_laplace_options(est: Any) -> None:
    """Refuse, in one line, what ``method="laplace"`` cannot do (called by ``_check_method_options``)."""
    if est.prior in ("laplace", "elasticnet"):
        raise ValueError(
            f"method='laplace' needs a smooth prior: prior={est.prior!r} has a kink at its mean, where "
            "the MAP often sits, so the Hessian there is not the posterior's curvature. Use "
            "method='mcmc', or prior='normal'."
        )
    if hasattr(est, "noise_sigma") and est.noise_sigma is None:
        raise ValueError(
            "method='laplace' needs a known noise_sigma: the MAP's Gaussian covers the coefficients and "
            "the intercept, not the noise sd. Give noise_sigma=<float>, or use method='mcmc'."
        )
    if getattr(est, "prior_sigma_prior", None) is not None:
        raise ValueError(
            "method='laplace' needs a fixed prior sd: with prior_sigma_prior the posterior mixes over "
            "prior_sigma, which the Gaussian at the MAP does not cover. Use method='mcmc'."
        )
    if est.chains * est.draws < MIN_DRAWS:
        raise ValueError(
            f"method='laplace' needs chains × draws >= {MIN_DRAWS} (got {est.chains} × {est.draws}): "
            "Pareto smoothing fits the tail of that many importance ratios."
        )


# --- the fit --------------------------------------------------------------------------------------


def fit_laplace(
    est: Any,
    map_result: Any,
    log_likelihood: LogLikelihood,
    *,
    X: np.ndarray | None,
    y: np.ndarray | None,
    sample_weight: np.ndarray | None = None,
    row_data: Mapping[str, np.ndarray] | None = None,
) -> LaplaceReport:
    """Importance-sample the posterior of ``est`` from the Gaussian at ``map_result``; set its fit.

    Sets ``idata_`` (resampled draws, with the data groups of :meth:`_attach_data_groups`),
    ``laplace_``, ``convergence_ = None``, and ``coef_``, ``coef_sd_``, ``intercept_`` from the
    weighted draws; warns :class:`~bayesreg.exceptions.ConvergenceWarning` when ``k̂`` is too high.
    ``log_likelihood`` gives the weighted log likelihood of draws (:func:`rows_log_likelihood`,
    :func:`gaussian_stats_log_likelihood`).
    """
    import arviz_base as azb

    from bayesreg.estimators.predictive import ParameterDraws, log_prior_draws

    if getattr(est, "_multinomial", False):
        raise ValueError(
            "method='laplace' is not available yet for K >= 3 classes (the multinomial model): use "
            "method='mcmc', or method='map'."
        )
    p = est.n_features_in_
    to_terms = est._location_to_terms()
    coefficient_prior, intercept_prior = est._coefficient_prior(), est._intercept_prior()

    def split(location: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        terms = location @ to_terms.T
        intercept = terms[:, p] if est.fit_intercept else np.zeros(terms.shape[0])
        return terms[:, :p], intercept

    def log_target(location: np.ndarray) -> np.ndarray:
        coef, intercept = split(location)
        prior = log_prior_draws(
            ParameterDraws(coef, intercept),
            coefficient_prior=coefficient_prior,
            intercept_prior=intercept_prior,
            fit_intercept=est.fit_intercept,
        )
        total = sum(np.reshape(v, (coef.shape[0], -1)).sum(axis=1) for v in prior.values())
        with np.errstate(over="ignore", invalid="ignore"):
            return log_likelihood(coef, intercept) + total

    n_draws = int(est.chains * est.draws)
    rng = np.random.default_rng(est.random_state)
    sample = importance_sample(
        log_target, np.asarray(map_result.location, dtype=float), map_result.location_cov, n_draws, rng
    )
    coef, intercept = split(sample.location)
    terms = np.column_stack([coef, intercept]) if est.fit_intercept else coef
    w = sample.weights
    mean = w @ terms
    centred = terms - mean
    sd = np.sqrt(w @ centred**2)
    mcse = np.sqrt((w**2) @ centred**2)

    keep = systematic_resample(w, rng)
    shape = (int(est.chains), int(est.draws))
    groups: dict[str, np.ndarray] = {"coef": coef[keep].reshape(*shape, p)}
    if est.fit_intercept:
        groups["intercept"] = intercept[keep].reshape(shape)
    idata = azb.from_dict(
        {"posterior": groups}, dims={"coef": [FEATURE_DIM]}, coords={FEATURE_DIM: est._feature_names()}
    )
    est._attach_data_groups(idata, X, y, sample_weight, dict(row_data) if row_data else None)

    threshold = k_threshold(n_draws)
    problems = []
    if sample.pareto_k > threshold:
        problems.append(
            f"Pareto k = {sample.pareto_k:.2f} > {threshold:.2f}: the posterior is too far from the "
            "Gaussian at the MAP for importance sampling to correct (skewed, or heavier-tailed), so "
            "these draws and means cannot be trusted; use method='mcmc'."
        )
    report = LaplaceReport(
        pareto_k=float(sample.pareto_k),
        k_threshold=threshold,
        n_draws=n_draws,
        ess=sample.ess,
        n_distinct=int(np.unique(keep).size),
        log_ratio_spread=float(np.ptp(sample.log_ratios)),
        term_mean=mean,
        term_sd=sd,
        term_mcse=mcse,
        problems=problems,
    )
    est.idata_ = idata
    est.convergence_ = None
    est.laplace_ = report
    est.coef_ = mean[:p].copy()
    est.coef_sd_ = sd[:p].copy()
    est.intercept_ = float(mean[p]) if est.fit_intercept else 0.0
    if not report.reliable:
        warn_user(
            "The Laplace approximation is not reliable for this posterior; do not trust it.\n" + str(report),
            ConvergenceWarning,
        )
    return report

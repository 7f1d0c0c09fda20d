"""Choosing the prior scale: the regularization path and four ways of picking σ side by side.

:func:`regularization_path` fits one model per ``prior_sigma`` and lines up sklearn's ridge solution,
the MAP, the posterior mean with its interval and the PSIS-LOO elpd of each fit. The known-noise
linear model with ``method="exact"`` uses the closed form throughout (exact draws for PSIS-LOO, and the
exact leave-one-out density besides). Sampled fits go through the estimator, whose compiled nutpie
model is cached per model structure, so only the first σ of a sweep pays for compilation (see
``fit_seconds``).

:func:`compare_prior_scale_choices` puts side by side the σ (and ridge α = σ_n²/σ²) chosen by
RidgeCV's efficient leave-one-out, by the evidence (empirical Bayes), by the hierarchical posterior
and by the best leave-one-out elpd.

Both show how far they are with a progress bar over the σ values (on stderr, where a bar can be
redrawn: a terminal or Jupyter), which ``progressbar=False`` silences; the fits of a sweep show no
sampler bars of their own (see :class:`bayesreg.estimators.progress.ProgressBar`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bayesreg.estimators.progress import ProgressBar
from bayesreg.estimators.validation import (
    BOOLEAN,
    NON_NEGATIVE_INT,
    OPTIONAL_POSITIVE_FLOAT,
    OPTIONAL_POSITIVE_FLOATS,
    POSITIVE_FLOAT,
    POSITIVE_FLOATS,
    POSITIVE_INT,
    PROBABILITY,
    RANDOM_STATE,
    Constraint,
    one_of,
    validate_params,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "RegularizationPath",
    "compare_prior_scale_choices",
    "regularization_path",
    "ridge_alpha_for_dof",
    "ridge_effective_dof",
]

PARETO_K_BAD = 0.7

# None, or names mapped to ridge α (the ``extra`` rows of compare_prior_scale_choices).
_OPTIONAL_ALPHAS = Constraint(
    "None or a mapping of str to floats in the range (0, inf)",
    lambda v: (
        v is None
        or (
            isinstance(v, Mapping)
            and all(isinstance(k, str) and POSITIVE_FLOAT.accepts(a) for k, a in v.items())
        )
    ),
    lambda v: isinstance(v, Mapping),
)


_OPTIONAL_BOOLEAN = Constraint("None or a bool", lambda v: v is None or BOOLEAN.accepts(v))


def _centred_singular_values(X: np.ndarray, fit_intercept: bool) -> np.ndarray:
    X = np.asarray(X, dtype=float)
    Xc = X - X.mean(axis=0) if fit_intercept else X
    return np.linalg.svd(Xc, compute_uv=False)


def ridge_effective_dof(X: Any, ridge_alpha: float, *, fit_intercept: bool = True) -> float:
    """Effective degrees of freedom of ridge, ``df(α) = Σ d_j² / (d_j² + α)`` (ESL eq. 3.50).

    ``d_j`` are the singular values of the (centred, when ``fit_intercept``) design matrix; the
    unpenalised intercept is not counted.

    Examples
    --------
    >>> import numpy as np
    >>> ridge_effective_dof(np.eye(3), 1.0, fit_intercept=False)
    1.5
    """
    validate_params(
        "ridge_effective_dof",
        {"ridge_alpha": ridge_alpha, "fit_intercept": fit_intercept},
        {"ridge_alpha": POSITIVE_FLOAT, "fit_intercept": BOOLEAN},
    )
    d2 = _centred_singular_values(X, fit_intercept) ** 2
    return float(np.sum(d2 / (d2 + ridge_alpha)))


def ridge_alpha_for_dof(X: Any, dof: float, *, fit_intercept: bool = True) -> float:
    """The ridge α with ``df(α) = dof`` (see :func:`ridge_effective_dof`), by root finding.

    Examples
    --------
    >>> import numpy as np
    >>> round(ridge_alpha_for_dof(np.eye(3), 1.5, fit_intercept=False), 10)
    1.0
    """
    from scipy import optimize

    validate_params(
        "ridge_alpha_for_dof",
        {"dof": dof, "fit_intercept": fit_intercept},
        {"dof": POSITIVE_FLOAT, "fit_intercept": BOOLEAN},
    )
    d2 = _centred_singular_values(X, fit_intercept) ** 2
    rank = int(np.sum(d2 > d2.max() * 1e-12))
    if not 0 < dof < rank:
        raise ValueError(f"dof must be in (0, {rank}) (the rank of the design); got {dof!r}.")

    def gap(log_alpha: float) -> float:
        return float(np.sum(d2 / (d2 + np.exp(log_alpha)))) - dof

    scale = np.log(d2.max())
    return float(np.exp(optimize.brentq(gap, scale - 40, scale + 40, xtol=1e-14, rtol=1e-15)))


@dataclass(frozen=True)
class RegularizationPath:
    """One fit per prior scale, tidy.

    Attributes
    ----------
    coefficients : pandas.DataFrame
        One row per (``prior_sigma``, ``term``): ``ridge``, ``map``, ``posterior_mean``,
        ``posterior_sd``, the interval named with its probability (``hdi94_low``, ``hdi94_high``
        for ``hdi_prob=0.94``) and ``uncertainty_source`` (intercept included, term
        ``"(intercept)"``); see :func:`bayesreg.compare.compare_with_ridge`.
    summary : pandas.DataFrame
        One row per ``prior_sigma``: ``ridge_alpha`` (linear) or ``C`` (logistic), ``effective_dof``
        (linear), ``log_evidence`` (closed form for known-noise linear, Laplace for logistic, NaN
        otherwise), ``elpd_loo``, ``elpd_loo_se``, ``p_loo``, ``n_bad_pareto_k`` (k > 0.7),
        ``max_pareto_k``, ``elpd_loo_exact`` (known-noise linear only), ``converged`` and
        ``fit_seconds``.
    hdi_prob : float
        Mass of the intervals.
    """

    coefficients: pd.DataFrame
    summary: pd.DataFrame
    hdi_prob: float
    estimators: dict[float, Any] = field(default_factory=dict, repr=False)

    def best_prior_sigma(self, criterion: str = "elpd_loo") -> float:
        """The ``prior_sigma`` of the path with the largest ``criterion`` column (a column of ``summary``)."""
        numeric = [str(c) for c in self.summary.select_dtypes("number").columns]
        validate_params("best_prior_sigma", {"criterion": criterion}, {"criterion": one_of(*numeric)})
        values = self.summary[criterion].astype(float)
        if values.isna().all():
            raise ValueError(
                f"No fit of the path has a {criterion!r} (the column is all NaN): choose another criterion."
            )
        return float(values.idxmax())

    def tables(self) -> dict[float, pd.DataFrame]:
        """``prior_sigma`` -> coefficient table, the input of ``plotting.plot_regularization_path``."""
        return {
            float(s): frame.drop(columns="prior_sigma").set_index("term")
            for s, frame in self.coefficients.groupby("prior_sigma")
        }

    def plot(self, *, column: str = "posterior_mean", axes: Sequence[Axes] | None = None):
        """Coefficients and elpd against σ (see :func:`bayesreg.plotting.plot_path_with_elpd`)."""
        from bayesreg.plotting import plot_path_with_elpd

        return plot_path_with_elpd(self, column=column, axes=axes)


def _check_default_prior(template) -> None:
    """Refuse a template whose prior is not the one N(0, σ²) the path's closed forms are for.

    The evidence, effective degrees of freedom and exact LOO columns are those of the normal prior
    with mean 0, one σ and a flat intercept; for any other prior they would be numbers of another
    model.
    """
    params = template.get_params(deep=False)
    changed = [
        name
        for name, default in (("prior", "normal"), ("prior_mean", 0.0), ("intercept_prior_sigma", None))
        if not (params.get(name, default) is default or params.get(name, default) == default)
        or (name == "prior_mean" and np.ndim(params.get(name)) > 0)
    ]
    if changed:
        raise ValueError(
            f"regularization_path sweeps one N(0, σ²) prior with a flat intercept (its evidence, "
            f"effective dof and exact LOO columns are for that model); the template also sets "
            f"{changed}. Leave those at their defaults, or sweep with clone(template).set_params("
            "prior_sigma=s) in a loop and compare_with_ridge."
        )


def _fit_one(template, X, y, prior_sigma: float):
    """Fit a clone at ``prior_sigma``, its own progress bars off (the sweep shows its progress)."""
    from sklearn.base import clone

    est = clone(template).set_params(prior_sigma=float(prior_sigma), progressbar=False)
    start = time.perf_counter()
    est.fit(X, y)
    seconds = time.perf_counter() - start
    est.set_params(progressbar=template.progressbar)  # the template's settings, as kept estimators show
    return est, seconds


def _loo_columns(est) -> dict[str, float]:
    import warnings

    import arviz_stats as azs

    if est.idata_ is None or "log_likelihood" not in est.idata_.children:
        nan = float("nan")
        return dict.fromkeys(("elpd_loo", "elpd_loo_se", "p_loo", "n_bad_pareto_k", "max_pareto_k"), nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # counted below instead
        loo = azs.loo(est.idata_, pointwise=True)
    k = np.asarray(loo.pareto_k).ravel()
    return {
        "elpd_loo": float(loo.elpd),
        "elpd_loo_se": float(loo.se),
        "p_loo": float(loo.p),
        "n_bad_pareto_k": int(np.sum(k > PARETO_K_BAD)),
        "max_pareto_k": float(np.max(k)),
    }


def regularization_path(
    estimator,
    X: Any,
    y: Any,
    prior_sigmas: Sequence[float] | np.ndarray,
    *,
    hdi_prob: float = 0.94,
    keep_estimators: bool = False,
    progressbar: bool | None = None,
) -> RegularizationPath:
    """Fit ``estimator`` at each prior scale and line up ridge, MAP, posterior and PSIS-LOO.

    Parameters
    ----------
    estimator : BayesianLinearRegression or BayesianLogisticRegression
        An unfitted template; every setting except ``prior_sigma`` is kept. Use
        ``BayesianLinearRegression(noise_sigma=..., method="exact")`` for the closed form.
    X, y : array-like
        Training data.
    prior_sigmas : sequence of float
        The prior sds to fit.
    hdi_prob : float, default 0.94
        Mass of the posterior intervals.
    keep_estimators : bool, default False
        Keep every fitted estimator in ``.estimators`` (memory: one posterior per σ).
    progressbar : bool or None, default None
        Show a progress bar over the σ values (``regularization path 3/8 σ=0.46``, on stderr, on a
        terminal or in Jupyter); None follows the template's ``progressbar``, so a template with
        ``progressbar=False`` sweeps silently. The fits of the path show no sampler bars of their
        own: one bar for the whole sweep (their ``progressbar`` is restored after fitting).

    Returns
    -------
    RegularizationPath

    Examples
    --------
    >>> import numpy as np
    >>> from bayesreg import BayesianLinearRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 2)); y = X @ [1.0, -0.5] + rng.normal(size=40)
    >>> est = BayesianLinearRegression(noise_sigma=1.0, method="exact", draws=250, random_state=0)
    >>> path = regularization_path(est, X, y, [0.01, 0.1, 1.0, 10.0])
    >>> path.summary["n_bad_pareto_k"].tolist()
    [0, 0, 0, 0]
    >>> path.best_prior_sigma("elpd_loo_exact")
    1.0
    """
    from bayesreg.estimators.base import BayesianRegressionBase

    if not isinstance(estimator, BayesianRegressionBase):
        raise TypeError(
            "regularization_path needs a bayesreg estimator as its template (e.g. "
            f"BayesianLinearRegression(noise_sigma=1.0, method='exact')); got {type(estimator).__name__}."
        )
    validate_params(
        "regularization_path",
        {
            "prior_sigmas": prior_sigmas,
            "hdi_prob": hdi_prob,
            "keep_estimators": keep_estimators,
            "progressbar": progressbar,
        },
        {
            "prior_sigmas": POSITIVE_FLOATS,
            "hdi_prob": PROBABILITY,
            "keep_estimators": BOOLEAN,
            "progressbar": _OPTIONAL_BOOLEAN,
        },
    )
    _check_default_prior(estimator)
    sigmas = np.unique(np.asarray(prior_sigmas, dtype=float))
    show = bool(estimator.progressbar if progressbar is None else progressbar)
    with ProgressBar("regularization path", total=sigmas.size, enabled=show) as bar:
        return _path(estimator, X, y, sigmas, hdi_prob=hdi_prob, keep_estimators=keep_estimators, bar=bar)


def _path(
    estimator,
    X: Any,
    y: Any,
    sigmas: np.ndarray,
    *,
    hdi_prob: float,
    keep_estimators: bool,
    bar: ProgressBar,
    steps_before: int = 0,
) -> RegularizationPath:
    """The fits of :func:`regularization_path` (arguments checked), each reported to ``bar``."""
    from bayesreg.compare import compare_with_ridge
    from bayesreg.stats.evidence import exact_loo_log_density, log_evidence
    from bayesreg.stats.laplace import logistic_laplace_evidence

    is_linear = hasattr(estimator, "noise_sigma")
    coef_frames, rows, kept = [], [], {}
    for step, sigma in enumerate(sigmas, start=steps_before):
        bar.update(step, status=f"σ={sigma:.3g}")
        est, seconds = _fit_one(estimator, X, y, sigma)
        comparison = compare_with_ridge(est, X, y, hdi_prob=hdi_prob)
        table = comparison.table
        cols = ["ridge", "map", "posterior_mean", "posterior_sd", *comparison.interval_columns]
        cols.append("uncertainty_source")
        frame = table[cols].reset_index()
        frame.insert(0, "prior_sigma", float(sigma))
        coef_frames.append(frame)
        Xv, yv = np.asarray(X, dtype=float), np.asarray(y)
        row: dict[str, float] = {"prior_sigma": float(sigma)}
        known_noise = is_linear and est.noise_sigma is not None
        if is_linear:
            row["ridge_alpha"] = est.penalty().value
            row["effective_dof"] = ridge_effective_dof(
                Xv, row["ridge_alpha"], fit_intercept=est.fit_intercept
            )
            row["log_evidence"] = (
                log_evidence(
                    Xv,
                    yv,
                    prior_sigma=sigma,
                    noise_sigma=est.noise_sigma,
                    fit_intercept=est.fit_intercept,
                )
                if known_noise
                else float("nan")
            )
        else:
            row["C"] = float(sigma**2)
            y01 = (yv == est.classes_[1]).astype(float)
            row["log_evidence"] = logistic_laplace_evidence(
                Xv, y01, prior_sigma=sigma, fit_intercept=est.fit_intercept
            ).log_evidence
        row |= _loo_columns(est)
        if known_noise:
            row["elpd_loo_exact"] = float(
                np.sum(
                    exact_loo_log_density(
                        Xv,
                        yv.astype(float),
                        prior_sigma=sigma,
                        noise_sigma=est.noise_sigma,
                        fit_intercept=est.fit_intercept,
                    )
                )
            )
        conv = getattr(est, "convergence_", None)
        row["converged"] = bool(est.map_converged_ and (conv is None or conv.converged))
        row["fit_seconds"] = seconds
        rows.append(row)
        if keep_estimators:
            kept[float(sigma)] = est
    bar.update(steps_before + sigmas.size, status="")
    coefficients = pd.concat(coef_frames, ignore_index=True)
    summary = pd.DataFrame(rows).set_index("prior_sigma")
    return RegularizationPath(coefficients=coefficients, summary=summary, hdi_prob=hdi_prob, estimators=kept)


# The keyword arguments of compare_prior_scale_choices, checked with the estimators' message.
_CHOICE_CONSTRAINTS = {
    "noise_sigma": OPTIONAL_POSITIVE_FLOAT,
    "prior_sigmas": OPTIONAL_POSITIVE_FLOATS,
    "prior_sigma_prior": OPTIONAL_POSITIVE_FLOAT,
    "fit_intercept": BOOLEAN,
    "extra": _OPTIONAL_ALPHAS,
    "draws": NON_NEGATIVE_INT,
    "tune": NON_NEGATIVE_INT,
    "chains": POSITIVE_INT,
    "random_state": RANDOM_STATE,
    "progressbar": BOOLEAN,
}


def _ridge_cv_alpha(X: np.ndarray, y: np.ndarray, alphas: np.ndarray, fit_intercept: bool) -> float:
    from sklearn.linear_model import RidgeCV

    return float(RidgeCV(alphas=alphas, fit_intercept=fit_intercept).fit(X, y).alpha_)


def compare_prior_scale_choices(
    X: Any,
    y: Any,
    *,
    noise_sigma: float | None = None,
    prior_sigmas: Sequence[float] | None = None,
    prior_sigma_prior: float | None = None,
    fit_intercept: bool = True,
    extra: Mapping[str, float] | None = None,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    random_state: int | np.random.Generator | None = 0,
    progressbar: bool = True,
) -> pd.DataFrame:
    """The prior sd σ (and ridge α) chosen four ways, on one noise scale, in one table.

    Rows:

    - ``RidgeCV (LOO squared error)``: ``RidgeCV`` with its efficient leave-one-out over the α grid
      ``σ_n²/σ²`` of ``prior_sigmas``;
    - ``evidence (empirical Bayes)``: the maximiser of the closed-form evidence (integrated intercept);
    - ``hierarchical posterior mean`` / ``median``: σ sampled with a ``HalfNormal(prior_sigma_prior)``
      prior (skipped when ``draws`` is 0);
    - ``LOO elpd (exact)``: the maximiser of the exact leave-one-out elpd (closed form, refined
      between grid points), and ``PSIS-LOO elpd (grid)``: the best grid point by ``az.loo`` on exact
      draws;
    - one row per entry of ``extra`` (name -> ridge α), e.g. a published choice.

    Every row uses the same noise sd to turn α into σ: ``noise_sigma`` when given, otherwise the
    empirical-Bayes noise sd (column ``noise_sigma``).

    Parameters
    ----------
    X, y : array-like
        Training data (standardise X first for one scale-free σ).
    noise_sigma : float or None, default None
        Known noise sd, or None for the empirical-Bayes one.
    prior_sigmas : sequence of float, optional
        Grid for RidgeCV and the LOO path; by default 25 log-spaced values from σ̂/30 to 30σ̂ around
        the empirical-Bayes σ̂.
    prior_sigma_prior : float, optional
        Half-normal scale of the hierarchical prior; by default the sd of y.
    fit_intercept : bool, default True
    extra : mapping of str to float, optional
        More rows, each a ridge α.
    draws, tune, chains, random_state
        For the hierarchical fit (``draws=0`` skips it) and the exact draws of the PSIS-LOO path.
    progressbar : bool, default True
        Show a progress bar over the fits (the hierarchical one, then one per σ of the grid), on
        stderr, on a terminal or in Jupyter; False shows nothing.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``method``; columns ``prior_sigma``, ``ridge_alpha``, ``effective_dof``,
        ``noise_sigma``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 3)); y = X @ [1.0, -1.0, 0.5] + rng.normal(size=60)
    >>> table = compare_prior_scale_choices(X, y, draws=0)
    >>> list(table.index)  # doctest: +NORMALIZE_WHITESPACE
    ['RidgeCV (LOO squared error)', 'evidence (empirical Bayes)', 'LOO elpd (exact)',
     'PSIS-LOO elpd (grid)']
    """
    from scipy import optimize

    from bayesreg.estimators.linear import BayesianLinearRegression
    from bayesreg.stats.evidence import empirical_bayes, exact_loo_log_density

    arguments = {
        "noise_sigma": noise_sigma,
        "prior_sigmas": prior_sigmas,
        "prior_sigma_prior": prior_sigma_prior,
        "fit_intercept": fit_intercept,
        "extra": extra,
        "draws": draws,
        "tune": tune,
        "chains": chains,
        "random_state": random_state,
        "progressbar": progressbar,
    }
    validate_params("compare_prior_scale_choices", arguments, _CHOICE_CONSTRAINTS)
    Xv = np.asarray(X, dtype=float)
    yv = np.asarray(y, dtype=float)
    eb = empirical_bayes(Xv, yv, noise_sigma=noise_sigma, fit_intercept=fit_intercept)
    noise = eb.noise_sigma
    grid: Sequence[float] | np.ndarray | None = prior_sigmas
    if grid is None:
        grid = eb.prior_sigma * np.logspace(-np.log10(30), np.log10(30), 25)
    sigmas = np.sort(np.asarray(grid, dtype=float))
    alphas = noise**2 / sigmas**2

    chosen: dict[str, float] = {}  # method -> σ
    chosen["RidgeCV (LOO squared error)"] = noise / np.sqrt(_ridge_cv_alpha(Xv, yv, alphas, fit_intercept))
    chosen["evidence (empirical Bayes)"] = eb.prior_sigma
    path_sigmas = np.unique(sigmas)
    hierarchical = draws > 0
    with ProgressBar(
        "choosing σ", total=path_sigmas.size + int(hierarchical), enabled=progressbar
    ) as bar:  # one bar for all the fits: the hierarchical one (NUTS), then the PSIS-LOO path
        if hierarchical:
            bar.update(0, status="hierarchical posterior (NUTS)")
            hier = BayesianLinearRegression(
                noise_sigma=noise,
                prior_sigma_prior=float(np.std(yv)) if prior_sigma_prior is None else prior_sigma_prior,
                fit_intercept=fit_intercept,
                draws=draws,
                tune=tune,
                chains=chains,
                random_state=random_state,
                progressbar=False,
            ).fit(Xv, yv)
            sig_draws = hier._posterior_tree()["posterior"].to_dataset()["prior_sigma"].values.ravel()
            chosen["hierarchical posterior mean"] = float(sig_draws.mean())
            chosen["hierarchical posterior median"] = float(np.median(sig_draws))
        template = BayesianLinearRegression(
            noise_sigma=noise,
            fit_intercept=fit_intercept,
            method="exact",
            draws=max(draws, 500),
            chains=chains,
            random_state=random_state,
        )
        path = _path(
            template,
            Xv,
            yv,
            path_sigmas,
            hdi_prob=0.94,
            keep_estimators=False,
            bar=bar,
            steps_before=int(hierarchical),
        )

    def neg_elpd(log_sigma: float) -> float:
        return -float(
            np.sum(
                exact_loo_log_density(
                    Xv, yv, prior_sigma=np.exp(log_sigma), noise_sigma=noise, fit_intercept=fit_intercept
                )
            )
        )

    grid_elpd = np.array([-neg_elpd(np.log(s)) for s in sigmas])
    best = int(np.argmax(grid_elpd))
    if 0 < best < sigmas.size - 1:
        res = optimize.minimize_scalar(
            neg_elpd,
            bounds=(np.log(sigmas[best - 1]), np.log(sigmas[best + 1])),
            method="bounded",
            options={"xatol": 1e-8},
        )
        chosen["LOO elpd (exact)"] = float(np.exp(res.x))
    else:
        chosen["LOO elpd (exact)"] = float(sigmas[best])
    chosen["PSIS-LOO elpd (grid)"] = path.best_prior_sigma("elpd_loo")
    for name, alpha in (extra or {}).items():
        chosen[name] = noise / np.sqrt(alpha)

    rows = []
    for method, sigma in chosen.items():
        alpha = noise**2 / sigma**2
        rows.append(
            {
                "method": method,
                "prior_sigma": sigma,
                "ridge_alpha": alpha,
                "effective_dof": ridge_effective_dof(Xv, alpha, fit_intercept=fit_intercept),
                "noise_sigma": noise,
            }
        )
    return pd.DataFrame(rows).set_index("method")

"""Put a fitted Bayesian estimator beside its sklearn ridge twin.

The agreement rule (``RidgeComparison.agrees``) is True only when all of these hold:

1. the MAP optimizer's own convergence check passed;
2. ``max |MAP − ridge| ≤ map_rtol · max(1, max |ridge|)`` over coefficients and intercept
   (``map_rtol`` = 1e-6 by default, far above both solvers' precision);
3. for a sampled posterior, the sampler converged (no divergences, r_hat ≤ 1.01, ESS ≥ 100 per
   chain, see :mod:`bayesreg.backend.diagnostics`);
4. where theory says the posterior mean *is* the ridge solution (the Gaussian model with known
   noise), every ``|z| = |posterior_mean − ridge| / mcse`` is at most ``z_max`` (4 by default).

For the logistic model and for unknown noise, theory does not make the posterior mean equal to
ridge, so rule 4 does not apply; the table shows the gap instead (``posterior_minus_map``).

The table has one kind of interval, a highest-density interval whose probability is in its column
names (``hdi94_low``, ``hdi94_high`` for the default ``hdi_prob=0.94``). Its ``uncertainty_source``
column says where ``posterior_sd`` and the interval come from:

``"posterior draws"``  sd and HDI of the draws (method "mcmc");
``"exact"``            the closed-form Gaussian posterior (method "exact"; its HDI is the central
                       interval);
``"laplace"``          the Laplace approximation at the MAP (method "map"): the sd from the inverse
                       Hessian, the interval ``map ± z·sd``, the HDI of that Gaussian. There are no
                       draws, so ``posterior_mean`` and ``mcse`` stay NaN.
``"importance-weighted draws"``  method "laplace": the PSIS-weighted mean, sd and Monte Carlo error
                       (``laplace_``), the HDI of the resampled draws; a Pareto ``k̂`` above its
                       threshold means no agreement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from bayesreg.backend.diagnostics import ConvergenceReport
from bayesreg.estimators.penalty import Penalty
from bayesreg.estimators.validation import POSITIVE_FLOAT, PROBABILITY, validate_params

__all__ = ["RidgeComparison", "compare_with_ridge", "find_interval_columns", "interval_columns"]

_INTERVAL_LOW = re.compile(r"^hdi(\d+(?:\.\d+)?)_low$")


def interval_columns(hdi_prob: float) -> tuple[str, str]:
    """Names of the table's interval columns for ``hdi_prob``: the probability is in the name.

    Examples
    --------
    >>> interval_columns(0.94)
    ('hdi94_low', 'hdi94_high')
    >>> interval_columns(0.975)
    ('hdi97.5_low', 'hdi97.5_high')
    """
    percent = f"{100 * hdi_prob:.10g}"  # 0.29 -> "29", not int()'s "28"
    return f"hdi{percent}_low", f"hdi{percent}_high"


def find_interval_columns(columns) -> tuple[str, str, float] | None:
    """The interval columns of a comparison table and their probability, or None if it has none.

    Examples
    --------
    >>> find_interval_columns(["ridge", "map", "hdi90_low", "hdi90_high"])
    ('hdi90_low', 'hdi90_high', 0.9)
    >>> find_interval_columns(["ridge", "map"]) is None
    True
    """
    names = [str(c) for c in columns]
    for name in names:
        match = _INTERVAL_LOW.match(name)
        if match and f"hdi{match[1]}_high" in names:
            return name, f"hdi{match[1]}_high", float(match[1]) / 100
    return None


@dataclass(frozen=True)
class RidgeComparison:
    """The side-by-side table and its verdict.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per coefficient and the intercept; columns ``ridge``, ``map``, ``posterior_mean``,
        ``posterior_sd``, the interval (``hdi94_low``, ``hdi94_high`` for ``hdi_prob=0.94``; see
        :func:`interval_columns`), ``mcse``, ``z``, ``map_minus_ridge``, ``posterior_minus_map``
        and ``uncertainty_source`` (``"posterior draws"``, ``"exact"``, ``"laplace"`` or
        ``"importance-weighted draws"``).
    ridge_estimator : sklearn estimator or None
        The fitted penalised twin (``Ridge``, ``Lasso``, ``ElasticNet``, ``LogisticRegression``, a
        ``RescaledTwin`` around one of them), or None for a prior that has none (``penalty.note``
        says why; ``agrees`` is then False and the ``ridge`` column NaN).
    penalty : Penalty
        The model's penalised twin (``est.penalty()``); its ``str`` is the equivalence with
        numbers, e.g. ``"Ridge(alpha=0.25) = σ_n²/σ² with σ_n=1 (known), σ=2"``.
    max_abs_diff_map : float
        Largest ``|MAP − ridge|``.
    posterior_mean_should_equal_ridge : bool
        True for the Gaussian model with known noise.
    convergence : ConvergenceReport or None
        Sampler diagnostics, for a sampled posterior.
    agrees : bool
        The rule in this module's docstring.
    reasons : list of str
        Why ``agrees`` is False (empty when it is True).
    hdi_prob : float
        Probability of the interval columns.
    uncertainty_source : str
        Where ``posterior_sd`` and the interval come from: ``"posterior draws"``, ``"exact"`` or
        ``"laplace"`` (see the module docstring).
    """

    table: pd.DataFrame
    ridge_estimator: Any
    penalty: Penalty
    max_abs_diff_map: float
    posterior_mean_should_equal_ridge: bool
    convergence: ConvergenceReport | None
    agrees: bool
    reasons: list[str]
    hdi_prob: float = 0.94
    uncertainty_source: str = "posterior draws"

    @property
    def interval_columns(self) -> tuple[str, str]:
        """The table's (low, high) interval columns, e.g. ``("hdi94_low", "hdi94_high")``."""
        return interval_columns(self.hdi_prob)

    @property
    def interval_label(self) -> str:
        """The interval in words, e.g. ``"94% HDI (Laplace at the MAP)"``."""
        names = {"laplace": "Laplace at the MAP", "exact": "exact posterior"}
        source = names.get(self.uncertainty_source, self.uncertainty_source)
        return f"{100 * self.hdi_prob:.10g}% HDI ({source})"

    def __str__(self) -> str:
        verdict = "AGREES" if self.agrees else "DOES NOT AGREE"
        lines = [
            f"{self.penalty}",
            self.table.to_string(float_format=lambda v: f"{v:.6g}"),
            f"max |MAP - ridge| = {self.max_abs_diff_map:.3g}",
            f"posterior_sd and interval: {self.interval_label}",
        ]
        if self.convergence is not None:
            lines.append(str(self.convergence))
        lines.append(f"verdict: {verdict}")
        lines += [f"  - {r}" for r in self.reasons]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.agrees else "#cf222e"
        verdict = "agrees" if self.agrees else "does not agree"
        reasons = "".join(f"<li>{r}</li>" for r in self.reasons)
        conv = f"<pre>{self.convergence}</pre>" if self.convergence is not None else ""
        return (
            f"<div><p><b>{self.penalty}</b></p>"
            f"{self.table.to_html(float_format=lambda v: f'{v:.6g}')}"
            f"<p>max |MAP − ridge| = {self.max_abs_diff_map:.3g}</p>{conv}"
            f"<p style='color:{colour}'><b>verdict: {verdict}</b></p><ul>{reasons}</ul></div>"
        )


def _laplace_sd(est) -> np.ndarray:
    """Laplace sd of each term (coefficients, then the intercept) at the MAP, from its covariance.

    The covariance is over the sampled location parameters, e.g. ``(coef, intercept_centered)``,
    the intercept of the centred features; the terms are a linear map ``A`` of them
    (``est._location_to_terms()``: ``b = intercept_centered − x̄·w``), so their variances are the
    diagonal of ``A Σ Aᵀ``.
    """
    result = getattr(est, "_map_result", None)
    A = est._location_to_terms()
    if result is None:
        return np.full(A.shape[0], np.nan)
    cov = np.asarray(result.location_cov, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.sqrt(np.einsum("ij,jk,ik->i", A, cov, A))


def _posterior_columns(est, n_rows: int, hdi_prob: float) -> tuple[dict[str, np.ndarray], str]:
    """Posterior mean, sd, HDI and MCSE per row, and where the sd and HDI come from.

    The interval columns are ``low``/``high`` here; the caller names them with the probability.
    """
    nan = np.full(n_rows, np.nan)
    z = stats.norm.ppf(0.5 + hdi_prob / 2)  # a Gaussian's HDI is its central interval
    if est.idata_ is None:  # method "map": the Laplace approximation, centred on the MAP
        sd = _laplace_sd(est)[:n_rows]
        center = est._terms(est.map_coef_, est.map_intercept_)[:n_rows]
        cols = {"posterior_mean": nan, "posterior_sd": sd, "low": center - z * sd, "high": center + z * sd}
        return cols | {"mcse": nan}, "laplace"
    exact = getattr(est, "exact_posterior_", None)
    if est.method == "exact":
        if exact is None:
            raise RuntimeError("a fit with method='exact' has no exact_posterior_")
        mean = np.append(exact.coef_mean, exact.intercept_mean)[:n_rows]
        sd = np.append(exact.coef_sd, exact.intercept_sd)[:n_rows]
        cols = {"posterior_mean": mean, "posterior_sd": sd, "low": mean - z * sd, "high": mean + z * sd}
        return cols | {"mcse": np.zeros(n_rows)}, "exact"

    import arviz_stats as azs
    import xarray as xr

    post = est.idata_["posterior"].to_dataset()
    laplace = getattr(est, "laplace_", None)
    # Every term (coefficients, then the intercepts) as one variable over (chain, draw, term).
    values = est._term_draws(post)
    coords = {"chain": post["chain"].values, "draw": post["draw"].values, "term": np.arange(values.shape[2])}
    draws = xr.Dataset({"value": (("chain", "draw", "term"), values)}, coords=coords)
    bounds = np.asarray(azs.hdi(draws, prob=hdi_prob)["value"].transpose("term", ...).values)
    mean = draws["value"].mean(dim=("chain", "draw")).values
    sd = draws["value"].std(dim=("chain", "draw"), ddof=1).values
    if est.method == "laplace" and laplace is not None:
        # The importance-weighted moments and their Monte Carlo error (the resampled draws in
        # idata_ add resampling noise); the interval is that of the resampled draws.
        cols = {
            "posterior_mean": np.asarray(laplace.term_mean)[:n_rows],
            "posterior_sd": np.asarray(laplace.term_sd)[:n_rows],
            "low": bounds[:, 0],
            "high": bounds[:, 1],
        }
        return cols | {"mcse": np.asarray(laplace.term_mcse)[:n_rows]}, "importance-weighted draws"
    cols = {"posterior_mean": mean, "posterior_sd": sd, "low": bounds[:, 0], "high": bounds[:, 1]}
    return cols | {"mcse": np.asarray(azs.mcse(draws)["value"].values)}, "posterior draws"


def _disagreements(
    est,
    penalty: Penalty,
    table: pd.DataFrame,
    max_diff: float,
    bound: float,
    gaussian_known: bool,
    z_max: float,
) -> list[str]:
    """Why the fit and its twin do not agree (empty when they do): the rules of the module docstring."""
    reasons = []
    if not est.map_converged_:
        reasons.append("the MAP optimizer did not converge")
    if not penalty.has_twin:
        reasons.append(f"this prior has no penalised scikit-learn twin to compare with: {penalty.note}")
    elif not max_diff <= bound:
        reasons.append(f"max |MAP - ridge| = {max_diff:.3g} > {bound:.3g}")
    convergence = getattr(est, "convergence_", None)
    if convergence is not None and not convergence.converged:
        reasons.append("the sampler did not converge: " + "; ".join(convergence.problems))
    laplace = getattr(est, "laplace_", None)
    if est.method == "laplace" and laplace is not None and not laplace.reliable:
        reasons.append(f"the importance sampling is not reliable (Pareto k = {laplace.pareto_k:.2f})")
    if gaussian_known and est.method in ("mcmc", "laplace"):
        worst = float(np.nanmax(np.abs(table["z"])))
        if not worst <= z_max:
            reasons.append(f"posterior mean is {worst:.1f} MCSE from ridge (> {z_max:g})")
    return reasons


def compare_with_ridge(
    est,
    X: Any,
    y: Any,
    *,
    hdi_prob: float = 0.94,
    map_rtol: float = 1e-6,
    z_max: float = 4.0,
    sample_weight: Any = None,
    exposure: Any = None,
    trials: Any = None,
) -> RidgeComparison:
    """Fit the ridge twin of a fitted estimator on ``X, y`` and line the two up.

    Parameters
    ----------
    est : BayesianLinearRegression or BayesianLogisticRegression
        A fitted estimator (any method).
    X, y : array-like
        The data ``est`` was fitted on.
    hdi_prob : float, default 0.94
        Probability mass of the highest-density intervals; the table's interval columns carry it
        in their names (``hdi94_low``, ``hdi94_high``; see :func:`interval_columns`). For
        ``method="map"`` the interval is that of the Laplace approximation (a Gaussian, so its HDI
        is its central interval ``map ± z·sd``).
    map_rtol : float, default 1e-6
        Tolerance of the MAP = ridge check, relative to ``max(1, max |ridge|)``; positive and finite.
    z_max : float, default 4.0
        Largest acceptable ``|posterior_mean − ridge| / mcse`` where the two should be equal;
        positive and finite.
    sample_weight : array-like of shape (n_samples,), optional
        The weights ``est`` was fitted with; the twin is fitted with the same.
    exposure : array-like of shape (n_samples,), optional
        The exposure a :class:`~bayesreg.BayesianPoissonRegression` was fitted with; its twin is
        fitted with the same (it takes no other estimator's twin).
    trials : array-like of shape (n_samples,), optional
        The trials of a binomial :class:`~bayesreg.BayesianLogisticRegression` fit (``y`` the
        successes); its twin is fitted on the counts expanded to 0/1 rows, which needs them.

    Returns
    -------
    RidgeComparison

    Raises
    ------
    TypeError, ValueError
        ``est`` is not a bayesreg estimator, or a keyword argument is of the wrong type or out of
        range (the estimators' message: "The 'map_rtol' parameter of compare_with_ridge must be
        ...").
    sklearn.exceptions.NotFittedError
        ``est`` is not fitted.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesreg import BayesianLinearRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 2)); y = X @ [1.0, 2.0] + rng.normal(size=40)
    >>> est = BayesianLinearRegression(1.0, noise_sigma=1.0, method="exact", random_state=0)
    >>> compare_with_ridge(est.fit(X, y), X, y).agrees
    True
    """
    from sklearn.base import clone
    from sklearn.utils.validation import check_is_fitted

    from bayesreg.estimators.base import BayesianRegressionBase

    if not isinstance(est, BayesianRegressionBase):
        raise TypeError(
            "compare_with_ridge compares a fitted bayesreg estimator (BayesianLinearRegression or "
            f"BayesianLogisticRegression) with its ridge twin; got {type(est).__name__}."
        )
    validate_params(
        "compare_with_ridge",
        {"hdi_prob": hdi_prob, "map_rtol": map_rtol, "z_max": z_max},
        {"hdi_prob": PROBABILITY, "map_rtol": POSITIVE_FLOAT, "z_max": POSITIVE_FLOAT},
    )
    check_is_fitted(est)
    penalty = est.penalty()
    names = est._term_labels()
    ridge = None
    ridge_vals = np.full(len(names), np.nan)
    if penalty.has_twin:
        weights = {} if sample_weight is None else {"sample_weight": sample_weight}
        if exposure is not None:
            weights["exposure"] = exposure
        if trials is not None:
            weights["trials"] = trials
        ridge = clone(penalty.twin).fit(X, y, **weights)
        ridge_vals = est._terms(ridge.coef_, ridge.intercept_)
    map_vals = est._terms(est.map_coef_, est.map_intercept_)

    table = pd.DataFrame({"ridge": ridge_vals, "map": map_vals}, index=pd.Index(names, name="term"))
    columns, source = _posterior_columns(est, len(names), hdi_prob)
    low, high = interval_columns(hdi_prob)
    for column, values in columns.items():
        table[{"low": low, "high": high}.get(column, column)] = values
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (table["posterior_mean"] - table["ridge"]) / table["mcse"]
    table["z"] = z.where(table["mcse"] > 0)
    table["map_minus_ridge"] = table["map"] - table["ridge"]
    table["posterior_minus_map"] = table["posterior_mean"] - table["map"]
    table["uncertainty_source"] = source

    max_diff = float(np.max(np.abs(table["map_minus_ridge"])))
    # The twin's solution is the posterior mean too only for a Gaussian posterior (normal or flat
    # prior, known noise); a learned prior sd (prior_sigma_prior) makes it a mixture of ridges.
    gaussian_known = penalty.mean_equals_twin and getattr(est, "prior_sigma_prior", None) is None
    bound = map_rtol * max(1.0, float(np.max(np.abs(ridge_vals))))
    reasons = _disagreements(est, penalty, table, max_diff, bound, gaussian_known, z_max)
    return RidgeComparison(
        table=table,
        ridge_estimator=ridge,
        penalty=penalty,
        max_abs_diff_map=max_diff,
        posterior_mean_should_equal_ridge=gaussian_known,
        convergence=getattr(est, "convergence_", None),
        agrees=not reasons,
        reasons=reasons,
        hdi_prob=float(hdi_prob),
        uncertainty_source=source,
    )

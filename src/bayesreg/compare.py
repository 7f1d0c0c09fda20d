"""Put a fitted Bayesian estimator beside its sklearn ridge twin.

The agreement rule (``RidgeComparison.agrees``) is True only when all of these hold:

1. the MAP optimizer's own convergence check passed;
2. ``max |MAP − ridge| ≤ map_rtol · max(1, max |ridge|)`` over coefficients and intercept
   (``map_rtol`` = 1e-6 by default, far above both solvers' precision);
3. for a sampled posterior, the sampler converged (no divergences, r_hat ≤ 1.01, ESS ≥ 100 per
   chain, see :mod:`bayesreg.diagnostics`);
4. where theory says the posterior mean *is* the ridge solution (the Gaussian model with known
   noise), every ``|z| = |posterior_mean − ridge| / mcse`` is at most ``z_max`` (4 by default).

For the logistic model and for unknown noise, theory does not make the posterior mean equal to
ridge, so rule 4 does not apply; the table shows the gap instead (``posterior_minus_map``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from bayesreg._dims import INTERCEPT_LABEL
from bayesreg.diagnostics import ConvergenceReport

__all__ = ["RidgeComparison", "compare_with_ridge"]


@dataclass(frozen=True)
class RidgeComparison:
    """The side-by-side table and its verdict.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per coefficient and the intercept; columns ``ridge``, ``map``, ``posterior_mean``,
        ``posterior_sd``, ``hdi_low``, ``hdi_high``, ``mcse``, ``z``, ``map_minus_ridge``,
        ``posterior_minus_map``.
    ridge_estimator : sklearn estimator
        The fitted ridge twin.
    penalty : str
        The equivalence with numbers, e.g. ``"Ridge(alpha=0.25) = σ_n²/σ² with σ_n=1, σ=2"``.
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
    """

    table: pd.DataFrame
    ridge_estimator: Any
    penalty: str
    max_abs_diff_map: float
    posterior_mean_should_equal_ridge: bool
    convergence: ConvergenceReport | None
    agrees: bool
    reasons: list[str]

    def __str__(self) -> str:
        verdict = "AGREES" if self.agrees else "DOES NOT AGREE"
        lines = [
            f"{self.penalty}",
            self.table.to_string(float_format=lambda v: f"{v:.6g}"),
            f"max |MAP - ridge| = {self.max_abs_diff_map:.3g}",
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


def _penalty_text(est, ridge) -> str:
    sigma = getattr(est, "map_prior_sigma_", est.prior_sigma)
    if hasattr(ridge, "alpha"):
        noise = est.map_noise_sigma_
        which = "known" if est.noise_sigma is not None else "MAP"
        return f"Ridge(alpha={ridge.alpha:.6g}) = σ_n²/σ² with σ_n={noise:.6g} ({which}), σ={sigma:g}"
    return f"LogisticRegression(C={ridge.C:.6g}) = σ² with σ={sigma:g}"


def _posterior_columns(est, names: list[str], hdi_prob: float) -> dict[str, np.ndarray]:
    """Posterior mean, sd, HDI and MCSE per row (NaN where there is no posterior)."""
    n_rows = len(names)
    nan = np.full(n_rows, np.nan)
    if est.idata_ is None:
        return {"posterior_mean": nan, "posterior_sd": nan, "hdi_low": nan, "hdi_high": nan}
    exact = getattr(est, "exact_posterior_", None)
    if est.method == "exact":
        mean = np.append(exact.coef_mean, exact.intercept_mean)
        sd = np.append(exact.coef_sd, exact.intercept_sd)
        half = stats.norm.ppf(0.5 + hdi_prob / 2) * sd  # a Gaussian's HDI is its central interval
        cols = {"posterior_mean": mean, "posterior_sd": sd}
        cols |= {"hdi_low": mean - half, "hdi_high": mean + half, "mcse": np.zeros(n_rows)}
        return {k: v[:n_rows] for k, v in cols.items()}

    import arviz as az

    post = est.idata_["posterior"].to_dataset()
    var_names = ["coef", "intercept"][: 2 if est.fit_intercept else 1]
    hdi = az.hdi(post[var_names], prob=hdi_prob)
    mcse = az.mcse(post[var_names])

    def stack(ds, **sel):
        values = [np.atleast_1d(ds[v].sel(**sel).values if sel else ds[v].values) for v in var_names]
        return np.concatenate(values)

    coef_bounds = hdi["coef"].values  # (feature, ci_bound)
    bounds = [coef_bounds]
    if est.fit_intercept:
        bounds.append(hdi["intercept"].values[None, :])
    bounds = np.vstack(bounds)
    mean = stack(post.mean(dim=("chain", "draw")))
    sd = stack(post.std(dim=("chain", "draw"), ddof=1))
    return {
        "posterior_mean": mean,
        "posterior_sd": sd,
        "hdi_low": bounds[:, 0],
        "hdi_high": bounds[:, 1],
        "mcse": stack(mcse),
    }


def compare_with_ridge(
    est,
    X: Any,
    y: Any,
    *,
    hdi_prob: float = 0.94,
    map_rtol: float = 1e-6,
    z_max: float = 4.0,
) -> RidgeComparison:
    """Fit the ridge twin of a fitted estimator on ``X, y`` and line the two up.

    Parameters
    ----------
    est : BayesianLinearRegression or BayesianLogisticRegression
        A fitted estimator (any method).
    X, y : array-like
        The data ``est`` was fitted on.
    hdi_prob : float, default 0.94
        Probability mass of the highest-density intervals.
    map_rtol : float, default 1e-6
        Tolerance of the MAP = ridge check, relative to ``max(1, max |ridge|)``.
    z_max : float, default 4.0
        Largest acceptable ``|posterior_mean − ridge| / mcse`` where the two should be equal.

    Returns
    -------
    RidgeComparison

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
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(est)
    if not 0 < hdi_prob < 1:
        raise ValueError(f"hdi_prob must be in (0, 1); got {hdi_prob!r}.")
    ridge = est.ridge_equivalent().fit(X, y)
    names = [*est._feature_names(), INTERCEPT_LABEL]
    ridge_vals = np.append(np.ravel(ridge.coef_), np.ravel(ridge.intercept_)[0] if est.fit_intercept else 0.0)
    map_vals = np.append(est.map_coef_, est.map_intercept_)
    if not est.fit_intercept:
        names, ridge_vals, map_vals = names[:-1], ridge_vals[:-1], map_vals[:-1]

    table = pd.DataFrame({"ridge": ridge_vals, "map": map_vals}, index=pd.Index(names, name="term"))
    for column, values in _posterior_columns(est, names, hdi_prob).items():
        table[column] = values
    if "mcse" not in table:
        table["mcse"] = np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (table["posterior_mean"] - table["ridge"]) / table["mcse"]
    table["z"] = z.where(table["mcse"] > 0)
    table["map_minus_ridge"] = table["map"] - table["ridge"]
    table["posterior_minus_map"] = table["posterior_mean"] - table["map"]

    max_diff = float(np.max(np.abs(table["map_minus_ridge"])))
    # A learned prior sd (prior_sigma_prior) makes the posterior a mixture of ridges: no rule 4.
    gaussian_known = (
        hasattr(ridge, "alpha")
        and est.noise_sigma is not None
        and getattr(est, "prior_sigma_prior", None) is None
    )
    convergence = getattr(est, "convergence_", None)
    reasons = []
    if not est.map_converged_:
        reasons.append("the MAP optimizer did not converge")
    bound = map_rtol * max(1.0, float(np.max(np.abs(ridge_vals))))
    if not max_diff <= bound:
        reasons.append(f"max |MAP - ridge| = {max_diff:.3g} > {bound:.3g}")
    if convergence is not None and not convergence.converged:
        reasons.append("the sampler did not converge: " + "; ".join(convergence.problems))
    if gaussian_known and est.method == "mcmc":
        worst = float(np.nanmax(np.abs(table["z"])))
        if not worst <= z_max:
            reasons.append(f"posterior mean is {worst:.1f} MCSE from ridge (> {z_max:g})")
    return RidgeComparison(
        table=table,
        ridge_estimator=ridge,
        penalty=_penalty_text(est, ridge),
        max_abs_diff_map=max_diff,
        posterior_mean_should_equal_ridge=gaussian_known,
        convergence=convergence,
        agrees=not reasons,
        reasons=reasons,
    )

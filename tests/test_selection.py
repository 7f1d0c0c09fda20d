"""Regularization path and the four choices of σ, each against an independent computation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate
from sklearn.linear_model import Ridge

from bayesreg import BayesianLinearRegression, compare_prior_scale_choices, regularization_path
from bayesreg.selection import ridge_alpha_for_dof, ridge_effective_dof
from bayesreg.stats.evidence import log_evidence
from tests.helpers import prostate_train

# ESL (2nd ed.) Table 3.3, column "Ridge": lcavol ... pgg45, printed to 3 decimals.
ESL_RIDGE = [0.420, 0.238, -0.046, 0.162, 0.227, 0.000, 0.040, 0.133]


def test_effective_dof_is_trace_of_hat_matrix_and_inverts():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 6)) @ rng.normal(size=(6, 6))
    Xc = X - X.mean(axis=0)
    for alpha in (0.1, 3.0, 100.0):
        hat = Xc @ np.linalg.solve(Xc.T @ Xc + alpha * np.eye(6), Xc.T)
        assert ridge_effective_dof(X, alpha) == pytest.approx(np.trace(hat), rel=1e-10)
        assert ridge_alpha_for_dof(X, np.trace(hat)) == pytest.approx(alpha, rel=1e-8)


def test_esl_prostate_ridge_with_five_degrees_of_freedom(refdata):
    X, y = prostate_train(refdata)
    alpha = ridge_alpha_for_dof(X, 5.0)
    coef = Ridge(alpha=alpha).fit(X, y).coef_
    np.testing.assert_allclose(coef, ESL_RIDGE, atol=3e-3)  # book rounding plus its df grid


def test_exact_path_against_ridge_and_exact_loo(diabetes):
    X, y = diabetes
    sigmas = [1.0, 5.0, 20.0, 100.0]
    est = BayesianLinearRegression(noise_sigma=54.0, method="exact", draws=1000, chains=4, random_state=0)
    path = regularization_path(est, X, y, sigmas)
    for sigma in sigmas:
        rows = path.coefficients[path.coefficients["prior_sigma"] == sigma].set_index("term")
        ridge = Ridge(alpha=54.0**2 / sigma**2).fit(X, y)
        np.testing.assert_allclose(rows.loc[list(X.columns), "ridge"], ridge.coef_, rtol=1e-10)
        np.testing.assert_allclose(rows["posterior_mean"], rows["ridge"], rtol=1e-9, atol=1e-9)
        summary = path.summary.loc[sigma]
        assert summary["ridge_alpha"] == pytest.approx(54.0**2 / sigma**2)
        assert summary["n_bad_pareto_k"] == 0
        # PSIS on 4000 exact draws vs the closed-form LOO: Monte Carlo error well below 0.5 nats here.
        assert summary["elpd_loo"] == pytest.approx(summary["elpd_loo_exact"], abs=0.5)
        assert summary["log_evidence"] == pytest.approx(
            log_evidence(X.to_numpy(), y.to_numpy(), prior_sigma=sigma, noise_sigma=54.0)
        )
    assert path.best_prior_sigma("elpd_loo_exact") == 20.0


def test_choices_on_prostate(refdata):
    """RidgeCV against explicit leave-one-out refits; the hierarchical posterior of σ against 1-D
    quadrature of p(σ | y) ∝ Z(σ) HalfNormal(σ; s) (Z closed-form, checked in test_conjugate_evidence)."""
    X, y = prostate_train(refdata)
    s = 1.0
    grid = np.logspace(-2, 1, 25)
    table = compare_prior_scale_choices(
        X, y, prior_sigmas=grid, prior_sigma_prior=s, draws=1000, tune=1000, chains=4, random_state=7
    )
    noise = table["noise_sigma"].iloc[0]

    def loo_mse(alpha):
        err = []
        for i in range(len(y)):
            keep = np.arange(len(y)) != i
            err.append(y[i] - Ridge(alpha=alpha).fit(X[keep], y[keep]).predict(X[i : i + 1])[0])
        return np.mean(np.square(err))

    alphas = noise**2 / grid**2
    best_alpha = alphas[np.argmin([loo_mse(a) for a in alphas])]
    assert table.loc["RidgeCV (LOO squared error)", "ridge_alpha"] == pytest.approx(best_alpha, rel=1e-9)

    def log_post(sig):
        return log_evidence(X, y, prior_sigma=sig, noise_sigma=noise) - 0.5 * (sig / s) ** 2

    peak = log_post(0.3)
    norm, _ = integrate.quad(lambda t: np.exp(log_post(t) - peak), 0, 5 * s, limit=200)
    mean, _ = integrate.quad(lambda t: t * np.exp(log_post(t) - peak), 0, 5 * s, limit=200)
    second, _ = integrate.quad(lambda t: t**2 * np.exp(log_post(t) - peak), 0, 5 * s, limit=200)
    exact_mean = mean / norm
    exact_sd = np.sqrt(second / norm - exact_mean**2)
    sampled = table.loc["hierarchical posterior mean", "prior_sigma"]
    # 4 MCSE with a conservative ESS of 1000 (of 4000 draws; bulk ESS is typically above 2500).
    assert sampled == pytest.approx(exact_mean, abs=4 * exact_sd / np.sqrt(1000))


def test_path_tables_name_their_interval_and_the_plot_shades_it(diabetes):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection

    X, y = diabetes
    est = BayesianLinearRegression(noise_sigma=54.0, method="exact", draws=100, chains=2, random_state=0)
    path = regularization_path(est, X, y, [1.0, 10.0], hdi_prob=0.9)
    columns = list(path.coefficients.columns)
    assert columns[:7] == [
        "prior_sigma",
        "term",
        "ridge",
        "map",
        "posterior_mean",
        "posterior_sd",
        "hdi90_low",
    ]
    assert columns[7:] == ["hdi90_high", "uncertainty_source"]
    assert (path.coefficients["uncertainty_source"] == "exact").all()
    try:
        ax_coef, _ = path.plot()
        bands = [c for c in ax_coef.collections if isinstance(c, PolyCollection)]
        assert len(bands) == X.shape[1]  # one shaded 90% HDI per coefficient
        assert "90% HDI" in ax_coef.get_ylabel()
    finally:
        plt.close("all")


RNG = np.random.default_rng(1)
X_SMALL = RNG.normal(size=(30, 3))
Y_SMALL = X_SMALL @ [1.0, 0.0, -1.0] + RNG.normal(size=30)
EXACT = BayesianLinearRegression(noise_sigma=1.0, method="exact", draws=100, random_state=0)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: ridge_effective_dof(X_SMALL, -1.0),
            ValueError,
            r"'ridge_alpha' parameter of ridge_effective_dof must be a float in the range \(0, inf\). Got -1",
        ),
        (lambda: ridge_effective_dof(X_SMALL, "1"), TypeError, r"'ridge_alpha' parameter .* Got '1'"),
        (
            lambda: ridge_effective_dof(X_SMALL, 1.0, fit_intercept="no"),
            TypeError,
            r"'fit_intercept' parameter of ridge_effective_dof must be a bool",
        ),
        (
            lambda: ridge_alpha_for_dof(X_SMALL, float("nan")),
            ValueError,
            r"'dof' parameter of ridge_alpha_for_dof must be .* Got nan",
        ),
        (
            lambda: regularization_path(EXACT, X_SMALL, Y_SMALL, [1.0, float("nan")]),
            ValueError,
            r"'prior_sigmas' parameter of regularization_path must be a non-empty 1-D sequence of floats in "
            r"the range \(0, inf\)",
        ),
        (
            lambda: regularization_path(EXACT, X_SMALL, Y_SMALL, [1.0, np.inf]),
            ValueError,
            r"'prior_sigmas' parameter .* Got \[1.0, inf\]",
        ),
        (
            lambda: regularization_path(EXACT, X_SMALL, Y_SMALL, []),
            ValueError,
            r"'prior_sigmas' parameter .* Got \[\]",
        ),
        (
            lambda: regularization_path(EXACT, X_SMALL, Y_SMALL, "1,2"),
            TypeError,
            r"'prior_sigmas' parameter .* Got '1,2'",
        ),
        (
            lambda: regularization_path(EXACT, X_SMALL, Y_SMALL, [1.0], hdi_prob=1.5),
            ValueError,
            r"'hdi_prob' parameter of regularization_path",
        ),
        (
            lambda: regularization_path(EXACT, X_SMALL, Y_SMALL, [1.0], keep_estimators=1),
            TypeError,
            r"'keep_estimators' parameter .* must be a bool",
        ),
        (
            lambda: regularization_path(Ridge(), X_SMALL, Y_SMALL, [1.0]),
            TypeError,
            r"regularization_path needs a bayesreg estimator .* got Ridge",
        ),
        (
            lambda: compare_prior_scale_choices(X_SMALL, Y_SMALL, noise_sigma=-1.0),
            ValueError,
            r"'noise_sigma' parameter of compare_prior_scale_choices must be None or a float",
        ),
        (
            lambda: compare_prior_scale_choices(X_SMALL, Y_SMALL, draws=-5),
            ValueError,
            r"'draws' parameter .* \[0, inf\). Got -5",
        ),
        (
            lambda: compare_prior_scale_choices(X_SMALL, Y_SMALL, chains=0),
            ValueError,
            r"'chains' parameter of compare_prior_scale_choices .* \[1, inf\). Got 0",
        ),
        (
            lambda: compare_prior_scale_choices(X_SMALL, Y_SMALL, prior_sigmas=[0.0, 1.0]),
            ValueError,
            r"'prior_sigmas' parameter .* None or a non-empty",
        ),
        (
            lambda: compare_prior_scale_choices(X_SMALL, Y_SMALL, extra={"paper": -2.0}),
            ValueError,
            r"'extra' parameter .* mapping of str to floats",
        ),
        (
            lambda: compare_prior_scale_choices(X_SMALL, Y_SMALL, extra=[1.0]),
            TypeError,
            r"'extra' parameter .* Got \[1.0\]",
        ),
    ],
)
def test_keyword_arguments_are_checked_like_estimator_parameters(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_best_prior_sigma_names_the_criteria():
    path = regularization_path(EXACT, X_SMALL, Y_SMALL, [0.1, 1.0])
    assert path.best_prior_sigma("elpd_loo_exact") in (0.1, 1.0)
    with pytest.raises(
        ValueError, match=r"'criterion' parameter of best_prior_sigma must be a str among \{.*'elpd_loo'"
    ):
        path.best_prior_sigma("elpd")

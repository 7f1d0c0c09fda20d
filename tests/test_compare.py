"""compare_with_ridge: the table, the agreement rule, and that trouble is never reported as agreement."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from bayesreg import BayesianLinearRegression, ConvergenceWarning, compare_with_ridge
from tests.helpers import DIABETES_NOISE, DIABETES_PRIOR

COLUMNS = ["ridge", "map", "posterior_mean", "posterior_sd", "hdi94_low", "hdi94_high", "mcse", "z"]


def test_table_for_a_sampled_fit(diabetes_known_mcmc, diabetes):
    X, y = diabetes
    cmp = compare_with_ridge(diabetes_known_mcmc, X, y)
    assert list(cmp.table.columns[: len(COLUMNS)]) == COLUMNS
    assert list(cmp.table.index) == [*X.columns, "(intercept)"]
    assert cmp.agrees, cmp.reasons
    assert cmp.posterior_mean_should_equal_ridge
    assert cmp.max_abs_diff_map < 1e-6 * np.abs(cmp.table["ridge"]).max()
    t = cmp.table
    assert np.all((t["hdi94_low"] < t["posterior_mean"]) & (t["posterior_mean"] < t["hdi94_high"]))
    np.testing.assert_allclose(t["z"], (t["posterior_mean"] - t["ridge"]) / t["mcse"], rtol=1e-12)
    # The 94% HDI of a Gaussian posterior is about ±1.88 sd wide.
    np.testing.assert_allclose(t["hdi94_high"] - t["hdi94_low"], 2 * 1.881 * t["posterior_sd"], rtol=0.1)
    assert (t["uncertainty_source"] == "posterior draws").all()
    assert cmp.uncertainty_source == "posterior draws" and cmp.interval_label == "94% HDI (posterior draws)"
    assert "alpha=29.16" in str(cmp.penalty)
    assert "AGREES" in str(cmp) and "<table" in cmp._repr_html_()


def test_exact_fit_table_has_exact_intervals(diabetes):
    X, y = diabetes
    est = BayesianLinearRegression(DIABETES_PRIOR, noise_sigma=DIABETES_NOISE, method="exact").fit(X, y)
    cmp = compare_with_ridge(est, X, y, hdi_prob=0.9)
    t = cmp.table
    np.testing.assert_allclose(t["posterior_mean"], t["ridge"], rtol=1e-10)
    # The probability is in the column names: no unnamed hdi_low/hdi_high.
    assert cmp.interval_columns == ("hdi90_low", "hdi90_high")
    assert not {"hdi_low", "hdi_high", "hdi94_low"} & set(t.columns)
    np.testing.assert_allclose(
        t["hdi90_high"] - t["posterior_mean"], 1.6448536269514722 * t["posterior_sd"], rtol=1e-12
    )
    assert (t["uncertainty_source"] == "exact").all()
    assert cmp.interval_label == "90% HDI (exact posterior)"
    assert cmp.agrees


def test_map_only_fit_has_no_posterior_mean_but_laplace_sd(diabetes):
    X, y = diabetes
    est = BayesianLinearRegression(DIABETES_PRIOR, method="map").fit(X, y)
    cmp = compare_with_ridge(est, X, y)
    t = cmp.table
    assert t["posterior_mean"].isna().all() and t["mcse"].isna().all()  # no draws
    assert np.isfinite(t["posterior_sd"]).all() and (t["uncertainty_source"] == "laplace").all()
    np.testing.assert_allclose(t["posterior_sd"].iloc[:-1], est.coef_sd_, rtol=1e-12)
    assert cmp.agrees
    assert "(MAP)" in str(cmp.penalty)  # unknown noise: ridge at the MAP noise sd


def test_map_fit_shows_the_laplace_sd_and_interval_which_are_exact_for_known_noise(diabetes):
    # With a known noise sd the posterior is Gaussian, so its Laplace approximation is exact: the
    # MAP fit's sd must equal the closed-form posterior sd, the intercept's included. Shifted
    # features (x̄ ≠ 0) make the intercept's variance depend on the coefficients' covariance.
    X, y = diabetes
    X = X + np.linspace(-3.0, 5.0, X.shape[1])
    est = BayesianLinearRegression(DIABETES_PRIOR, noise_sigma=DIABETES_NOISE, method="map").fit(X, y)
    cmp = compare_with_ridge(est, X, y, hdi_prob=0.9)
    t = cmp.table
    exact = est.exact_posterior_
    np.testing.assert_allclose(t["posterior_sd"].iloc[:-1], exact.coef_sd, rtol=1e-9)
    assert exact.intercept_sd > 5 * np.sqrt(est._map_result.location_cov[-1, -1])  # not the centred one
    assert t.loc["(intercept)", "posterior_sd"] == pytest.approx(exact.intercept_sd, rel=1e-9)
    np.testing.assert_allclose(t["posterior_sd"].iloc[:-1], est.coef_sd_, rtol=1e-12)
    # The Gaussian central interval of that sd, around the MAP.
    np.testing.assert_allclose(t["hdi90_high"] - t["map"], 1.6448536269514722 * t["posterior_sd"], rtol=1e-12)
    np.testing.assert_allclose(t["map"] - t["hdi90_low"], 1.6448536269514722 * t["posterior_sd"], rtol=1e-12)
    assert cmp.uncertainty_source == "laplace" and (t["uncertainty_source"] == "laplace").all()
    assert cmp.interval_label == "90% HDI (Laplace at the MAP)"
    assert "90% HDI (Laplace at the MAP)" in str(cmp)
    assert t["posterior_mean"].isna().all() and t["z"].isna().all()


def test_laplace_intercept_sd_of_a_logistic_map_fit_matches_its_predictive_variance(breast_cancer):
    # The intercept is the linear predictor at x = 0, whose Laplace variance the estimator computes.
    from bayesreg import BayesianLogisticRegression

    X, y = breast_cancer
    X = X.iloc[:, :4] + 2.0
    est = BayesianLogisticRegression(1.0, method="map").fit(X, y)
    t = compare_with_ridge(est, X, y).table
    at_zero = est._laplace_linear_predictor_var(np.zeros((1, X.shape[1])))[0]
    assert t.loc["(intercept)", "posterior_sd"] == pytest.approx(np.sqrt(at_zero), rel=1e-10)
    np.testing.assert_allclose(t["posterior_sd"].iloc[:-1], est.coef_sd_, rtol=1e-12)
    assert np.all(t["hdi94_low"] < t["map"]) and np.all(t["map"] < t["hdi94_high"])


def test_interval_column_names_carry_the_probability():
    from bayesreg.compare import find_interval_columns, interval_columns

    assert interval_columns(0.94) == ("hdi94_low", "hdi94_high")
    assert interval_columns(0.29) == ("hdi29_low", "hdi29_high")  # not int(28.999...) = 28
    assert interval_columns(0.975) == ("hdi97.5_low", "hdi97.5_high")
    assert find_interval_columns(["map", "hdi97.5_low", "hdi97.5_high"]) == (
        "hdi97.5_low",
        "hdi97.5_high",
        0.975,
    )
    assert find_interval_columns(["map", "hdi_low", "hdi_high"]) is None
    assert find_interval_columns(["hdi94_low"]) is None


def test_unconverged_sampler_never_agrees(diabetes):
    X, y = diabetes
    est = BayesianLinearRegression(
        DIABETES_PRIOR,
        noise_sigma=DIABETES_NOISE,
        draws=15,
        tune=5,
        chains=2,
        random_state=0,
        progressbar=False,
    )
    with pytest.warns(ConvergenceWarning, match=r"(?s)did not converge.*increase `draws`"):
        est.fit(X, y)
    assert not est.convergence_.converged
    cmp = compare_with_ridge(est, X, y)
    assert cmp.max_abs_diff_map < 1e-9 * np.abs(cmp.table["ridge"]).max()  # the MAP is still fine...
    assert not cmp.agrees  # ...but the posterior is not trustworthy, so no agreement is reported
    assert any("sampler did not converge" in r for r in cmp.reasons)
    assert "DOES NOT AGREE" in str(cmp)


def test_unconverged_map_never_agrees(diabetes):
    X, y = diabetes
    est = BayesianLinearRegression(DIABETES_PRIOR, noise_sigma=DIABETES_NOISE, method="map").fit(X, y)
    est.map_converged_ = False  # as if the optimizer's check had failed
    cmp = compare_with_ridge(est, X, y)
    assert not cmp.agrees and "the MAP optimizer did not converge" in cmp.reasons


def test_posterior_far_from_ridge_is_flagged(diabetes_known_mcmc, diabetes):
    X, y = diabetes
    # Compare against a different penalty: the posterior mean (and MAP) no longer match it.
    import copy

    est = copy.deepcopy(diabetes_known_mcmc)  # never mutate the shared fixture
    est.prior_sigma = est.prior_sigma * 0.5
    cmp = compare_with_ridge(est, X, y)
    assert not cmp.agrees
    assert any("max |MAP - ridge|" in r for r in cmp.reasons)
    assert any("MCSE from ridge" in r for r in cmp.reasons)


def test_bad_hdi_prob(diabetes):
    X, y = diabetes
    est = BayesianLinearRegression(DIABETES_PRIOR, noise_sigma=DIABETES_NOISE, method="exact").fit(X, y)
    with pytest.raises(
        ValueError,
        match=r"The 'hdi_prob' parameter of compare_with_ridge must be a float in the range \(0, 1\)",
    ):
        compare_with_ridge(est, X, y, hdi_prob=94)


def test_unfitted_estimator_is_refused(diabetes):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        compare_with_ridge(BayesianLinearRegression(), *diabetes)


def test_warning_is_not_swallowed_silently(diabetes):
    # The ConvergenceWarning is a real warning: users running scripts see it.
    X, y = diabetes
    est = BayesianLinearRegression(
        1.0, noise_sigma=54.0, draws=10, tune=2, chains=2, random_state=1, progressbar=False
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, y)
    assert any(issubclass(w.category, ConvergenceWarning) for w in caught)


def test_unconverged_logistic_sampler_never_agrees(breast_cancer):
    # Same structure as the session's breast-cancer fit, so the compiled sampler is reused.
    from bayesreg import BayesianLogisticRegression

    X, y = breast_cancer
    est = BayesianLogisticRegression(1.0, draws=15, tune=5, chains=2, random_state=0, progressbar=False)
    with pytest.warns(ConvergenceWarning, match=r"(?s)did not converge.*(r_hat|effective sample size)"):
        est.fit(X, y)
    assert not est.convergence_.converged and est.convergence_.problems
    cmp = compare_with_ridge(est, X, y)
    assert est.map_converged_ and cmp.max_abs_diff_map < 1e-5  # the MAP is still right...
    assert not cmp.agrees  # ...but the sampled posterior is not reported as trustworthy
    assert any("sampler did not converge" in r for r in cmp.reasons)
    assert not cmp.posterior_mean_should_equal_ridge  # logistic: posterior mean is not the MAP
    assert "DOES NOT AGREE" in str(cmp)


def test_unconverged_unknown_noise_sampler_never_agrees(diabetes):
    X, y = diabetes
    est = BayesianLinearRegression(
        DIABETES_PRIOR, draws=15, tune=5, chains=2, random_state=0, progressbar=False
    )
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        est.fit(X, y)
    cmp = compare_with_ridge(est, X, y)
    assert not cmp.agrees and any("sampler did not converge" in r for r in cmp.reasons)


@pytest.fixture(scope="module")
def exact_fit():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = X @ [1.0, 2.0] + rng.normal(size=40)
    return BayesianLinearRegression(1.0, noise_sigma=1.0, method="exact", random_state=0).fit(X, y), X, y


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"map_rtol": "x"},
            TypeError,
            r"'map_rtol' parameter of compare_with_ridge must be a float in the range \(0, inf\). Got 'x'",
        ),
        ({"map_rtol": -1}, ValueError, r"'map_rtol' parameter .* Got -1 instead"),
        ({"map_rtol": 0.0}, ValueError, r"'map_rtol' parameter .* Got 0.0 instead"),
        (
            {"z_max": float("nan")},
            ValueError,
            r"'z_max' parameter of compare_with_ridge must be a float in the range \(0, inf\). Got nan",
        ),
        ({"z_max": None}, TypeError, r"'z_max' parameter .* Got None instead"),
        ({"hdi_prob": float("nan")}, ValueError, r"'hdi_prob' parameter .* \(0, 1\). Got nan"),
        ({"hdi_prob": "0.9"}, TypeError, r"'hdi_prob' parameter .* Got '0.9'"),
    ],
)
def test_keyword_arguments_are_checked_like_estimator_parameters(exact_fit, kwargs, error, message):
    est, X, y = exact_fit
    with pytest.raises(error, match=message):
        compare_with_ridge(est, X, y, **kwargs)


def test_only_bayesreg_estimators_are_compared(exact_fit):
    from sklearn.linear_model import Ridge

    _, X, y = exact_fit
    with pytest.raises(
        TypeError, match=r"compare_with_ridge compares a fitted bayesreg estimator .* got Ridge"
    ):
        compare_with_ridge(Ridge().fit(X, y), X, y)

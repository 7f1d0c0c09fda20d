"""compare_with_ridge: the table, the agreement rule, and that trouble is never reported as agreement."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from bayesreg import BayesianLinearRegression, ConvergenceWarning, compare_with_ridge
from conftest import DIABETES_NOISE, DIABETES_PRIOR

COLUMNS = ["ridge", "map", "posterior_mean", "posterior_sd", "hdi_low", "hdi_high", "mcse", "z"]


def test_table_for_a_sampled_fit(diabetes_known_mcmc, diabetes):
    X, y = diabetes
    cmp = compare_with_ridge(diabetes_known_mcmc, X, y)
    assert list(cmp.table.columns[: len(COLUMNS)]) == COLUMNS
    assert list(cmp.table.index) == [*X.columns, "(intercept)"]
    assert cmp.agrees, cmp.reasons
    assert cmp.posterior_mean_should_equal_ridge
    assert cmp.max_abs_diff_map < 1e-6 * np.abs(cmp.table["ridge"]).max()
    t = cmp.table
    assert np.all((t["hdi_low"] < t["posterior_mean"]) & (t["posterior_mean"] < t["hdi_high"]))
    np.testing.assert_allclose(t["z"], (t["posterior_mean"] - t["ridge"]) / t["mcse"], rtol=1e-12)
    # The 94% HDI of a Gaussian posterior is about ±1.88 sd wide.
    np.testing.assert_allclose(t["hdi_high"] - t["hdi_low"], 2 * 1.881 * t["posterior_sd"], rtol=0.1)
    assert "alpha=29.16" in cmp.penalty
    assert "AGREES" in str(cmp) and "<table" in cmp._repr_html_()


def test_exact_fit_table_has_exact_intervals(diabetes):
    X, y = diabetes
    est = BayesianLinearRegression(DIABETES_PRIOR, noise_sigma=DIABETES_NOISE, method="exact").fit(X, y)
    cmp = compare_with_ridge(est, X, y, hdi_prob=0.9)
    t = cmp.table
    np.testing.assert_allclose(t["posterior_mean"], t["ridge"], rtol=1e-10)
    np.testing.assert_allclose(
        t["hdi_high"] - t["posterior_mean"], 1.6448536269514722 * t["posterior_sd"], rtol=1e-12
    )
    assert cmp.agrees


def test_map_only_fit_has_no_posterior_columns(diabetes):
    X, y = diabetes
    est = BayesianLinearRegression(DIABETES_PRIOR, method="map").fit(X, y)
    cmp = compare_with_ridge(est, X, y)
    assert cmp.table["posterior_mean"].isna().all()
    assert cmp.agrees
    assert "(MAP)" in cmp.penalty  # unknown noise: ridge at the MAP noise sd


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
    with pytest.raises(ValueError, match="hdi_prob must be in"):
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

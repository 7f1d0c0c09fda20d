"""BayesianLinearRegression against exact answers: Ridge, the conjugate posterior, its own MCSE."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr
from sklearn.linear_model import Ridge

from bayesreg import BayesianLinearRegression, ConvergenceWarning, priors
from tests.helpers import DIABETES_NOISE, DIABETES_PRIOR


def rel_max_diff(a, b):
    return np.max(np.abs(np.asarray(a) - np.asarray(b))) / np.max(np.abs(b))


# --- MAP == ridge ---------------------------------------------------------------------------------


def test_map_equals_ridge_on_diabetes(diabetes):
    X, y = diabetes
    est = BayesianLinearRegression(DIABETES_PRIOR, noise_sigma=DIABETES_NOISE, method="map").fit(X, y)
    ridge = Ridge(alpha=priors.ridge_alpha_from_sigma(DIABETES_PRIOR, DIABETES_NOISE)).fit(X, y)
    assert est.map_converged_
    assert rel_max_diff(est.map_coef_, ridge.coef_) < 1e-6
    assert est.map_intercept_ == pytest.approx(ridge.intercept_, rel=1e-6)


def test_map_equals_ridge_on_raw_unscaled_diabetes():
    # sklearn's own scaling (columns of norm 1, coefficients in the hundreds) and a weak prior.
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True)
    est = BayesianLinearRegression(500.0, noise_sigma=54.0, method="map").fit(X, y)
    ridge = Ridge(alpha=54.0**2 / 500.0**2).fit(X, y)
    assert rel_max_diff(est.map_coef_, ridge.coef_) < 1e-6


def test_map_equals_ridge_when_p_exceeds_n(wide_problem):
    X, y = wide_problem
    est = BayesianLinearRegression(1.0, noise_sigma=0.5, method="map").fit(X, y)
    ridge = Ridge(alpha=0.25).fit(X, y)
    assert X.shape[1] > X.shape[0]
    assert est.map_converged_
    assert rel_max_diff(est.map_coef_, ridge.coef_) < 1e-6
    assert est.map_intercept_ == pytest.approx(ridge.intercept_, rel=1e-6)


def test_exact_equals_ridge_to_1e10(diabetes, wide_problem):
    for X, y, sigma, noise in [(*diabetes, DIABETES_PRIOR, DIABETES_NOISE), (*wide_problem, 1.0, 0.5)]:
        est = BayesianLinearRegression(sigma, noise_sigma=noise, method="exact", random_state=0).fit(X, y)
        ridge = est.ridge_equivalent().fit(X, y)
        np.testing.assert_allclose(est.coef_, ridge.coef_, rtol=1e-10, atol=0)
        assert est.intercept_ == pytest.approx(ridge.intercept_, rel=1e-10)


def test_unknown_noise_map_is_ridge_at_map_noise(diabetes):
    X, y = diabetes
    est = BayesianLinearRegression(DIABETES_PRIOR, method="map").fit(X, y)
    sigma_hat = est.map_noise_sigma_
    ridge = Ridge(alpha=sigma_hat**2 / DIABETES_PRIOR**2).fit(X, y)
    assert rel_max_diff(est.map_coef_, ridge.coef_) < 1e-5
    # σ̂ is a stationary point of the profile: residual-based check of the noise MAP.
    # d/dσ [−n log σ − RSS/(2σ²) − σ²/(2s²)] = 0  ⇒  n σ² + σ⁴/s² = RSS.
    resid = y - ridge.predict(X)
    s = np.std(y)
    assert len(y) * sigma_hat**2 + sigma_hat**4 / s**2 == pytest.approx(resid @ resid, rel=1e-8)
    # And it is not the prior-free least-squares noise: the equivalence needs the MAP value.
    assert est.ridge_equivalent().alpha == pytest.approx(sigma_hat**2 / DIABETES_PRIOR**2, rel=1e-12)


# --- NUTS against the exact posterior --------------------------------------------------------------


def test_nuts_posterior_matches_exact(diabetes_known_mcmc):
    import arviz as az

    est = diabetes_known_mcmc
    exact = est.exact_posterior_
    post = est.idata_["posterior"]
    mcse = az.mcse(post.to_dataset())
    coef_mcse = mcse["coef"].values
    assert est.convergence_.converged
    assert est.convergence_.max_r_hat <= 1.01
    z = (est.coef_ - exact.coef_mean) / coef_mcse
    assert np.all(np.abs(z) < 4), z
    z_intercept = (est.intercept_ - exact.intercept_mean) / float(mcse["intercept"])
    assert abs(z_intercept) < 4
    np.testing.assert_allclose(est.coef_sd_, exact.coef_sd, rtol=0.10)


def test_idata_groups_and_named_coords(diabetes_known_mcmc, diabetes):
    X, y = diabetes
    idata = diabetes_known_mcmc.idata_
    assert isinstance(idata, xr.DataTree)
    for group in ("posterior", "sample_stats", "observed_data", "log_likelihood"):
        assert group in idata.children
    assert list(idata["posterior"]["feature"].values) == list(X.columns)
    assert set(idata["posterior"].data_vars) == {"coef", "intercept"}
    assert idata["posterior"]["coef"].dims == ("chain", "draw", "feature")
    assert idata["log_likelihood"]["y"].shape == (4, 500, len(y))
    np.testing.assert_array_equal(idata["observed_data"]["y"].values, y.to_numpy())
    # Pointwise log likelihood of the first draw, recomputed by hand.
    coef = idata["posterior"]["coef"].values[0, 0]
    b = float(idata["posterior"]["intercept"].values[0, 0])
    resid = y.to_numpy() - b - X.to_numpy() @ coef
    expected = -0.5 * (resid / DIABETES_NOISE) ** 2 - np.log(DIABETES_NOISE) - 0.5 * np.log(2 * np.pi)
    np.testing.assert_allclose(idata["log_likelihood"]["y"].values[0, 0], expected, rtol=1e-12)


def test_loo_runs_on_the_log_likelihood(diabetes_known_mcmc):
    import arviz as az

    loo = az.loo(diabetes_known_mcmc.idata_)
    assert np.isfinite(loo.elpd)
    assert np.all(loo.pareto_k.values < 0.7)


def test_predict_matches_exact_predictive(diabetes_known_mcmc, diabetes):
    import arviz as az

    X, _ = diabetes
    rows = X.iloc[:5]
    est = diabetes_known_mcmc
    mean, sd = est.predict(rows, return_std=True)
    exact_mean, exact_sd = est.exact_posterior_.predict(rows.to_numpy(), return_std=True)
    post = est.idata_["posterior"]
    mu = post["intercept"] + post["coef"].dot(xr.DataArray(rows.to_numpy(), dims=("row", "feature")))
    draws = xr.Dataset({"mu": mu})
    mcse = az.mcse(draws)["mu"].values
    assert np.all(np.abs(mean - exact_mean) < 4 * mcse)
    # The predictive variance is var(mu) + σ_n²; a variance estimated from ESS draws has relative
    # sd √(2/ESS), so var(mu) must be within 4 of those of the exact one.
    ess = az.ess(draws)["mu"].values
    exact_var_mu = exact_sd**2 - DIABETES_NOISE**2
    assert np.all(np.abs((sd**2 - DIABETES_NOISE**2) / exact_var_mu - 1) < 4 * np.sqrt(2 / ess))
    assert est.predict(rows).shape == (5,)


def test_unknown_noise_posterior(diabetes_unknown_mcmc, diabetes):
    X, y = diabetes
    est = diabetes_unknown_mcmc
    assert est.convergence_.converged
    assert "noise_sigma" in est.idata_["posterior"]
    draws = est.idata_["posterior"]["noise_sigma"].values.ravel()
    assert est.noise_sigma_ == pytest.approx(draws.mean(), rel=1e-12)
    # The MAP coefficients are ridge at the MAP noise, and the noise MAP is inside the posterior bulk.
    ridge = Ridge(alpha=est.map_noise_sigma_**2 / DIABETES_PRIOR**2).fit(X, y)
    assert rel_max_diff(est.map_coef_, ridge.coef_) < 1e-5
    assert np.quantile(draws, 0.1) < est.map_noise_sigma_ < np.quantile(draws, 0.9)


def test_same_seed_same_draws(diabetes):
    X, y = diabetes
    kwargs = dict(noise_sigma=DIABETES_NOISE, draws=50, tune=50, chains=2, progressbar=False)

    def draws(seed):
        est = BayesianLinearRegression(DIABETES_PRIOR, random_state=seed, **kwargs)
        with warnings.catch_warnings():  # 100 draws: this test is about seeds, not convergence
            warnings.simplefilter("ignore", ConvergenceWarning)
            return est.fit(X, y).idata_["posterior"]["coef"].values

    np.testing.assert_array_equal(draws(11), draws(11))
    assert not np.array_equal(draws(11), draws(12))


def test_exact_method_draws_are_reproducible_and_exact(diabetes):
    X, y = diabetes
    est = BayesianLinearRegression(DIABETES_PRIOR, noise_sigma=DIABETES_NOISE, method="exact", random_state=4)
    a = est.fit(X, y).idata_["posterior"]["coef"].values
    b = est.fit(X, y).idata_["posterior"]["coef"].values
    np.testing.assert_array_equal(a, b)
    assert a.shape == (4, 1000, 10)
    sd = est.exact_posterior_.coef_sd
    assert np.all(np.abs(a.reshape(-1, 10).mean(0) - est.coef_) < 4 * sd / np.sqrt(4000))


def test_no_intercept_fit(wide_problem):
    X, y = wide_problem
    est = BayesianLinearRegression(1.0, noise_sigma=0.5, fit_intercept=False, method="map").fit(X, y)
    ridge = Ridge(alpha=0.25, fit_intercept=False).fit(X, y)
    assert est.intercept_ == 0.0
    assert rel_max_diff(est.map_coef_, ridge.coef_) < 1e-6


def test_map_predict_std_uses_laplace(diabetes):
    X, y = diabetes
    est = BayesianLinearRegression(DIABETES_PRIOR, noise_sigma=DIABETES_NOISE, method="map").fit(X, y)
    mean, sd = est.predict(X.iloc[:4], return_std=True)
    exact_mean, exact_sd = est.exact_posterior_.predict(X.iloc[:4].to_numpy(), return_std=True)
    # With known noise the posterior is Gaussian, so the Laplace approximation is exact.
    np.testing.assert_allclose(mean, exact_mean, rtol=1e-8)
    np.testing.assert_allclose(sd, exact_sd, rtol=1e-8)
    np.testing.assert_allclose(est.coef_sd_, est.exact_posterior_.coef_sd, rtol=1e-8)


def test_log_likelihood_can_be_skipped_for_many_rows(diabetes):
    X, y = diabetes
    est = BayesianLinearRegression(
        DIABETES_PRIOR, noise_sigma=DIABETES_NOISE, method="exact", compute_log_likelihood=False
    ).fit(X, y)
    assert "log_likelihood" not in est.idata_.children
    assert "observed_data" in est.idata_.children


def test_failed_refit_leaves_no_stale_results(diabetes):
    X, y = diabetes
    est = BayesianLinearRegression(DIABETES_PRIOR, noise_sigma=DIABETES_NOISE, method="exact").fit(X, y)
    assert hasattr(est, "coef_")
    est.set_params(method="map", noise_sigma=None)
    with pytest.raises(ValueError, match="y is constant"):
        est.fit(X, np.ones(len(y)))
    for name in ("coef_", "map_coef_", "idata_", "noise_sigma_", "exact_posterior_", "_map_result"):
        assert not hasattr(est, name), name


def test_sampler_runs_unwhitened_when_the_map_has_no_hessian(monkeypatch, wide_problem):
    # As if the MAP check had failed with no usable Hessian: NUTS must still sample the same posterior.
    import dataclasses

    import arviz as az

    import bayesreg.backend.inference
    from bayesreg import OptimizerWarning

    real = bayesreg.backend.inference.find_map

    def no_hessian(*args, **kwargs):
        result = real(*args, **kwargs)
        return dataclasses.replace(result, location_cov=np.full_like(result.location_cov, np.nan))

    monkeypatch.setattr(bayesreg.backend.inference, "find_map", no_hessian)
    X, y = wide_problem
    X = X[:, :3]
    est = BayesianLinearRegression(
        1.0, noise_sigma=0.5, draws=1000, tune=1000, random_state=0, progressbar=False
    )
    with pytest.warns(OptimizerWarning, match="without whitening"):
        est.fit(X, y)
    assert est.convergence_.converged
    mcse = az.mcse(est.idata_["posterior"].to_dataset())["coef"].values
    assert np.all(np.abs(est.coef_ - est.exact_posterior_.coef_mean) < 4 * mcse)
    assert set(est.idata_["posterior"].data_vars) == {"coef", "intercept"}


# --- one prior sd for features of different scales ---------------------------------------------------


def test_default_prior_on_unscaled_diabetes_warns():
    # sklearn's diabetes columns have sd 0.048 and y has sd 77: prior_sigma=1 shrinks everything.
    from sklearn.datasets import load_diabetes

    from bayesreg.exceptions import PriorScaleWarning

    X, y = load_diabetes(return_X_y=True)
    with pytest.warns(PriorScaleWarning, match=r"prior_sigma=1 is orders of magnitude below") as record:
        BayesianLinearRegression(method="map").fit(X, y)
    assert record[0].filename == __file__  # the warning points at the user's line


def test_features_on_different_scales_warn(diabetes):
    from bayesreg.exceptions import PriorScaleWarning

    X, y = diabetes
    X = X.assign(bmi=X["bmi"] * 1000.0)
    with pytest.warns(PriorScaleWarning, match=r"feature sds differ by a factor 1e\+03 \('bmi'"):
        BayesianLinearRegression(10.0, noise_sigma=54.0, method="exact").fit(X, y)


def test_standardised_features_do_not_warn(diabetes):
    import warnings

    X, y = diabetes
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        BayesianLinearRegression(10.0, noise_sigma=54.0, method="exact").fit(X, y)
        BayesianLinearRegression(1e-3, noise_sigma=54.0, method="exact").fit(X, y)  # strong, but chosen


def test_hierarchical_map_on_standardised_diabetes_is_certified(diabetes):
    # The red-CI case: prior_sigma_prior=10 used to warn that the search did not converge.
    import warnings

    X, y = diabetes
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = BayesianLinearRegression(10.0, method="map", prior_sigma_prior=10.0).fit(X, y)
    assert est.map_converged_


def test_map_converged_covers_the_prior_sd_mode():
    from bayesreg.exceptions import OptimizerWarning

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(200, 3)), rng.normal(size=200)  # no signal: σ's mode runs to 0
    with pytest.warns(OptimizerWarning, match="no interior mode"):
        est = BayesianLinearRegression(noise_sigma=1.0, prior_sigma_prior=0.01, method="map").fit(X, y)
    assert not est.map_converged_

"""Predictive draws, the log prior group, prior sensitivity and the Bayesian R² (issue 15).

Exact draws (method="exact") make most checks exact up to Monte Carlo error: the posterior
predictive must reproduce the closed-form predictive mean and sd, the prior predictive the prior's
moments, and the log prior the densities PyMC's model uses.
"""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr
from scipy import stats

from bayesreg import BayesianLinearRegression, BayesianLogisticRegression
from bayesreg.estimators import predictive
from bayesreg.stats.prior_terms import CoefficientPrior, InterceptPrior, NoisePrior
from tests.helpers import DIABETES_NOISE

# --- the numpy layer ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["halfnormal", "halfcauchy", "halfstudentt", "exponential", "flat"])
def test_noise_log_prior_is_the_density_the_pymc_model_uses(kind):
    import pymc as pm

    from bayesreg.backend.model import _noise_sigma

    prior = NoisePrior(kind, scale=1.7, nu=4.0)
    x = np.array([0.05, 0.6, 1.7, 4.0, 25.0])
    with pm.Model():
        rv = _noise_sigma(prior)
    expected = np.zeros_like(x) if kind == "flat" else pm.logp(rv, x).eval()
    # rtol 1e-8: PyMC's half-Cauchy constant differs from log(2/π) by 2e-9 (scipy agrees with ours)
    np.testing.assert_allclose(predictive.noise_log_prior(prior, x), expected, rtol=1e-8)


@pytest.mark.parametrize(
    ("kind", "dist"),
    [
        ("halfnormal", stats.halfnorm(scale=1.7)),
        ("halfcauchy", stats.halfcauchy(scale=1.7)),
        ("exponential", stats.expon(scale=1.7)),
    ],
)
def test_noise_prior_draws_follow_its_density(kind, dist):
    draws = predictive.sample_noise_prior(NoisePrior(kind, scale=1.7), 20_000, np.random.default_rng(0))
    assert stats.kstest(draws, dist.cdf).pvalue > 1e-3


def test_half_student_t_draws_follow_its_density():
    draws = predictive.sample_noise_prior(
        NoisePrior("halfstudentt", 1.7, 4.0), 20_000, np.random.default_rng(0)
    )
    # |T| with T ~ t(4, scale 1.7): P(|T| <= x) = 2 F_t(x) - 1
    assert stats.kstest(draws, lambda x: 2 * stats.t(4.0, scale=1.7).cdf(x) - 1).pvalue > 1e-3


@pytest.mark.parametrize("kind", ["normal", "laplace", "elasticnet", "flat"])
def test_coefficient_log_prior_is_per_feature_and_sums_to_the_prior_density(kind):
    prior = CoefficientPrior(
        kind,
        sigma=np.array([0.5, 2.0, 1.0]),
        mean=np.array([0.0, 1.0, -1.0]),
        l1_ratio=0.3 if kind == "elasticnet" else 0.0,
    )
    coef = np.random.default_rng(1).normal(size=(7, 3))
    per_feature = predictive.coefficient_log_prior(prior, coef)
    assert per_feature.shape == (7, 3)
    np.testing.assert_allclose(per_feature.sum(axis=1), prior.logpdf(coef), rtol=1e-12)
    if kind == "normal":
        np.testing.assert_allclose(per_feature, stats.norm(prior.mean, prior.sigma).logpdf(coef), rtol=1e-12)
    if kind == "laplace":
        b = prior.sigma / np.sqrt(2)
        np.testing.assert_allclose(per_feature, stats.laplace(prior.mean, b).logpdf(coef), rtol=1e-12)


def test_log_prior_of_the_hierarchical_model_uses_each_draws_scale():
    prior = CoefficientPrior("normal", sigma=np.ones(2), mean=np.zeros(2))
    draws = predictive.ParameterDraws(
        coef=np.array([[0.1, -0.2], [1.0, 2.0]]), intercept=np.zeros(2), prior_sigma=np.array([0.3, 2.5])
    )
    out = predictive.log_prior_draws(
        draws, coefficient_prior=prior, intercept_prior=None, fit_intercept=True, prior_sigma_prior=2.0
    )
    np.testing.assert_allclose(out["coef"], stats.norm(0, draws.prior_sigma[:, None]).logpdf(draws.coef))
    np.testing.assert_allclose(out["prior_sigma"], stats.halfnorm(scale=2.0).logpdf(draws.prior_sigma))
    np.testing.assert_array_equal(out["intercept"], 0.0)  # flat


def test_hierarchical_prior_draws_have_the_marginal_variance():
    # coef | τ ~ N(0, τ²), τ ~ HalfNormal(2): var(coef) = E[τ²] = 4.
    draws = predictive.sample_prior(
        40_000,
        np.random.default_rng(0),
        coefficient_prior=CoefficientPrior("normal", sigma=np.ones(3), mean=np.zeros(3)),
        intercept_prior=None,
        fit_intercept=False,
        prior_sigma_prior=2.0,
    )
    np.testing.assert_allclose(draws.coef.var(axis=0), 4.0, rtol=0.05)
    assert draws.prior_sigma is not None and np.all(draws.prior_sigma > 0)


@pytest.mark.parametrize(
    ("kwargs", "names"),
    [
        (dict(coefficient_prior=CoefficientPrior("flat", np.ones(2), np.zeros(2))), "prior='flat'"),
        (dict(intercept_prior=None), "intercept_prior_sigma"),
        (dict(noise_prior=NoisePrior("flat", 1.0)), "noise_prior='flat'"),
    ],
)
def test_improper_priors_have_no_draws_and_say_which_parameter(kwargs, names):
    args = (
        dict(
            coefficient_prior=CoefficientPrior("normal", np.ones(2), np.zeros(2)),
            intercept_prior=InterceptPrior(0.0, 1.0),
            fit_intercept=True,
            noise_prior=NoisePrior("halfnormal", 1.0),
        )
        | kwargs
    )
    with pytest.raises(ValueError, match="improper") as err:
        predictive.sample_prior(10, np.random.default_rng(0), **args)
    assert names in str(err.value)


def test_bayes_r2_agrees_with_arviz_stats():
    from arviz_stats import bayesian_r2

    rng = np.random.default_rng(0)
    mu, sigma = rng.normal(size=(2, 50, 30)), rng.uniform(0.5, 2.0, size=(2, 50))
    tree = xr.DataTree.from_dict(
        {"posterior": xr.Dataset({"mu": (("chain", "draw", "obs"), mu), "sigma": (("chain", "draw"), sigma)})}
    )
    ours = predictive.bayes_r2(mu.reshape(100, 30), sigma.reshape(100))
    theirs = bayesian_r2(tree, pred_mean="mu", scale="sigma", summary=False)
    np.testing.assert_allclose(np.sort(ours), np.sort(np.ravel(theirs)), rtol=1e-12)


# --- the linear estimator, exact draws ------------------------------------------------------------


@pytest.fixture(scope="module")
def exact_fit(diabetes):
    X, y = diabetes
    return BayesianLinearRegression(10.0, noise_sigma=DIABETES_NOISE, method="exact", random_state=0).fit(
        X, y
    )


def test_posterior_predictive_matches_the_closed_form_predictive(exact_fit, diabetes):
    X, _ = diabetes
    tree = exact_fit.sample_posterior_predictive(random_state=1)
    y = tree["posterior_predictive"]["y"]
    assert y.dims == ("chain", "draw", "obs") and y.shape == (4, 1000, X.shape[0])
    draws = y.values.reshape(-1, X.shape[0])
    mean, sd = exact_fit.predict(X, return_std=True)
    s = draws.shape[0]
    # iid draws of N(mean, sd²) per row: 5 standard errors, for each of 442 rows
    assert np.all(np.abs(draws.mean(axis=0) - mean) < 5 * sd / np.sqrt(s))
    assert np.all(np.abs(draws.var(axis=0, ddof=1) / sd**2 - 1) < 5 * np.sqrt(2 / (s - 1)))


def test_training_rows_come_with_observed_and_constant_data(exact_fit, diabetes):
    X, y = diabetes
    tree = exact_fit.sample_posterior_predictive(random_state=1)
    assert set(tree.children) == {"posterior_predictive", "observed_data", "constant_data"}
    np.testing.assert_array_equal(tree["observed_data"]["y"].values, y.to_numpy())
    np.testing.assert_array_equal(tree["constant_data"]["X"].values, X.to_numpy())
    assert list(tree["constant_data"]["feature"].values) == list(X.columns)
    new = exact_fit.sample_posterior_predictive(X.iloc[:7], random_state=1)
    assert "observed_data" not in new.children
    assert new["posterior_predictive"]["y"].shape == (4, 1000, 7)


def test_seeds_reproduce_draws(exact_fit, diabetes):
    X, _ = diabetes
    a = exact_fit.sample_posterior_predictive(X[:5], random_state=3)["posterior_predictive"]["y"]
    b = exact_fit.sample_posterior_predictive(X[:5], random_state=3)["posterior_predictive"]["y"]
    c = exact_fit.sample_posterior_predictive(X[:5], random_state=4)["posterior_predictive"]["y"]
    xr.testing.assert_identical(a, b)
    assert not np.array_equal(a.values, c.values)
    est = BayesianLinearRegression(10.0, noise_sigma=1.0, intercept_prior_sigma=1.0, method="map").fit(
        X, X["bmi"]
    )
    p = est.sample_prior_predictive(X[:5], draws=20, random_state=np.random.default_rng(7))
    q = est.sample_prior_predictive(X[:5], draws=20, random_state=np.random.default_rng(7))
    xr.testing.assert_identical(p["prior_predictive"], q["prior_predictive"])
    xr.testing.assert_identical(p["prior"], q["prior"])


def test_prior_predictive_has_the_priors_moments(diabetes):
    X, y = diabetes
    mean = dict(zip(X.columns, np.linspace(-2, 2, X.shape[1]), strict=True))
    est = BayesianLinearRegression(
        np.linspace(0.5, 3.0, X.shape[1]),
        prior_mean=mean,
        intercept_prior_sigma=20.0,
        intercept_prior_mean=150.0,
        noise_sigma=DIABETES_NOISE,
        method="exact",
    ).fit(X, y)
    tree = est.sample_prior_predictive(X.iloc[:20], draws=40_000, random_state=0)
    Xa = X.to_numpy()[:20]
    sigma, m = np.linspace(0.5, 3.0, X.shape[1]), np.linspace(-2, 2, X.shape[1])
    expected_mean = 150.0 + Xa @ m
    expected_var = 20.0**2 + Xa**2 @ sigma**2 + DIABETES_NOISE**2
    draws = tree["prior_predictive"]["y"].values.reshape(-1, 20)
    se = np.sqrt(expected_var / draws.shape[0])
    assert np.all(np.abs(draws.mean(axis=0) - expected_mean) < 5 * se)
    np.testing.assert_allclose(draws.var(axis=0), expected_var, rtol=5 * np.sqrt(2 / draws.shape[0]))
    coef = tree["prior"]["coef"]
    assert coef.dims == ("chain", "draw", "feature") and list(coef["feature"].values) == list(X.columns)
    np.testing.assert_allclose(coef.std(("chain", "draw")).values, sigma, rtol=0.03)
    assert "noise_sigma" not in tree["prior"]  # known noise
    assert set(tree.children) == {"prior", "prior_predictive", "constant_data"}


def test_prior_predictive_of_a_map_fit_with_laplace_coefficients_and_exponential_noise():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = 1.0 + X @ [1.0, 0.0, -1.0] + rng.normal(size=60)
    est = BayesianLinearRegression(
        1.5,
        prior="laplace",
        intercept_prior_sigma=3.0,
        noise_prior="exponential",
        noise_prior_sigma=2.0,
        method="map",
    ).fit(X, y)
    tree = est.sample_prior_predictive(X[:4], draws=60_000, random_state=1)
    # var(y) = s0² + Σ x² σ² + E[σ_n²], and E[σ_n²] = 2 s² for an exponential of mean s
    expected_var = 9.0 + X[:4] ** 2 @ np.full(3, 1.5**2) + 2 * 2.0**2
    draws = tree["prior_predictive"]["y"].values.reshape(-1, 4)
    np.testing.assert_allclose(draws.var(axis=0), expected_var, rtol=0.05)
    np.testing.assert_allclose(tree["prior"]["noise_sigma"].mean(), 2.0, rtol=0.02)
    with pytest.raises(ValueError, match="X=None means the training rows"):
        est.sample_prior_predictive()
    with pytest.raises(ValueError, match="method='map' fit has none"):
        est.sample_posterior_predictive(X)


def test_prior_predictive_refuses_improper_priors_naming_the_parameter(exact_fit):
    with pytest.raises(ValueError, match="intercept_prior_sigma"):  # the default flat intercept
        exact_fit.sample_prior_predictive()
    flat = BayesianLinearRegression(prior="flat", noise_sigma=1.0, intercept_prior_sigma=1.0, method="map")
    flat.fit(np.eye(3)[[0, 1, 2, 0, 1]], np.arange(5.0))
    with pytest.raises(ValueError, match="prior='flat' is improper"):
        flat.sample_prior_predictive(np.eye(3))
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match="draws must be a positive int"):
            flat.sample_prior_predictive(np.eye(3), draws=bad)


def test_noise_prior_scale_is_sd_y_and_a_map_fit_without_it_says_what_to_set():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 2)), 5.0 * rng.normal(size=40)
    est = BayesianLinearRegression(intercept_prior_sigma=1.0, method="map").fit(X, y)
    with pytest.raises(ValueError, match="set noise_prior_sigma"):
        est.sample_prior_predictive(X)


def test_chunked_fits_need_rows(diabetes):
    X, y = diabetes
    blocks = [(X.iloc[i : i + 200], y.iloc[i : i + 200]) for i in range(0, len(y), 200)]
    est = BayesianLinearRegression(
        10.0, noise_sigma=DIABETES_NOISE, method="exact", compute_log_likelihood=False, random_state=0
    ).fit(blocks)
    with pytest.raises(ValueError, match="fit on chunked input keeps no rows"):
        est.sample_posterior_predictive()
    with pytest.raises(ValueError, match="fit on chunked input keeps no rows"):
        est.bayes_r2()
    with pytest.raises(ValueError, match="compute_log_likelihood"):
        est.prior_sensitivity()
    assert est.sample_posterior_predictive(X[:3], random_state=0)["posterior_predictive"]["y"].shape == (
        4,
        1000,
        3,
    )


def test_add_predictive_groups_extends_idata_and_survives_save(diabetes, tmp_path):
    X, y = diabetes
    est = BayesianLinearRegression(
        10.0,
        noise_sigma=DIABETES_NOISE,
        intercept_prior_sigma=100.0,
        intercept_prior_mean=150.0,
        method="exact",
        draws=200,
        random_state=0,
    ).fit(X, y)
    tree = est.add_predictive_groups(prior=True, prior_draws=50, random_state=0)
    assert tree is est.idata_
    for group in ("posterior_predictive", "prior", "prior_predictive", "log_prior", "observed_data"):
        assert group in tree.children
    assert tree["prior_predictive"]["y"].shape == (1, 50, len(y))
    log_prior = tree["log_prior"]
    post = tree["posterior"]
    xr.testing.assert_equal(log_prior["coef"]["chain"], post["chain"])
    np.testing.assert_allclose(log_prior["coef"].values, stats.norm(0, 10.0).logpdf(post["coef"].values))
    np.testing.assert_allclose(
        log_prior["intercept"].values, stats.norm(150, 100).logpdf(post["intercept"].values)
    )
    path = tmp_path / "fit.nc"
    est.save(path)
    loaded = BayesianLinearRegression.load(path)
    for group in ("posterior_predictive", "log_prior", "prior", "constant_data"):
        xr.testing.assert_equal(loaded.idata_[group].to_dataset(), tree[group].to_dataset())
    again = loaded.sample_posterior_predictive(random_state=0)  # the training rows came back
    assert again["posterior_predictive"]["y"].shape == (4, 200, len(y))


def test_add_predictive_groups_changes_nothing_when_it_fails(exact_fit):
    before = set(exact_fit.idata_.children)
    with pytest.raises(ValueError, match="intercept_prior_sigma"):
        exact_fit.add_predictive_groups(prior=True)
    assert set(exact_fit.idata_.children) == before


def test_prior_sensitivity_flags_a_tight_prior_and_not_a_weak_one(diabetes):
    X, y = diabetes

    def table(sigma):
        est = BayesianLinearRegression(sigma, noise_sigma=DIABETES_NOISE, method="exact", random_state=0)
        return est.fit(X, y).prior_sensitivity()

    tight, weak = table(0.1), table(100.0)
    coefs = [f"coef[{c}]" for c in X.columns]
    assert list(tight.index) == [*coefs, "intercept"]
    assert list(tight.columns) == ["prior", "likelihood", "diagnosis"]
    assert (tight.loc[coefs, "prior"] > 0.05).all()
    assert (tight.loc[coefs, "diagnosis"] != "✓").all()
    assert (weak["prior"] < 0.05).all() and (weak["diagnosis"] == "✓").all()
    assert (weak.loc[coefs, "likelihood"] > 0.05).all()  # the data decide


def test_prior_sensitivity_agrees_with_arviz_on_the_stored_groups(exact_fit):
    from arviz_stats import psense_summary

    ours = exact_fit.prior_sensitivity()
    tree = exact_fit.idata_.copy()
    tree["log_prior"] = exact_fit._log_prior_dataset(tree)
    theirs = psense_summary(tree, round_to=6)
    np.testing.assert_allclose(ours["prior"].to_numpy(), theirs["prior"].to_numpy(), atol=1e-6)
    np.testing.assert_allclose(ours["likelihood"].to_numpy(), theirs["likelihood"].to_numpy(), atol=1e-6)


def test_a_flat_prior_has_no_prior_sensitivity():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 2))
    y = X @ [1.0, -1.0] + rng.normal(size=100)
    est = BayesianLinearRegression(prior="flat", noise_sigma=1.0, method="exact", random_state=0).fit(X, y)
    np.testing.assert_allclose(est.prior_sensitivity()["prior"], 0.0, atol=1e-12)


def test_map_fits_have_no_posterior_draws_to_use(diabetes):
    X, y = diabetes
    est = BayesianLinearRegression(10.0, noise_sigma=DIABETES_NOISE, method="map").fit(X, y)
    for call in (
        est.sample_posterior_predictive,
        est.bayes_r2,
        est.prior_sensitivity,
        est.add_predictive_groups,
    ):
        with pytest.raises(ValueError, match="method='map' fit has none"):
            call()


def test_bayes_r2_is_the_direct_computation(exact_fit, diabetes):
    X, _ = diabetes
    r2 = exact_fit.bayes_r2()
    assert r2.dims == ("chain", "draw") and r2.name == "bayes_r2"
    post = exact_fit.idata_["posterior"]
    mu = post["intercept"].values[..., None] + np.einsum("cdp,np->cdn", post["coef"].values, X.to_numpy())
    var_fit = mu.var(axis=-1, ddof=1)
    np.testing.assert_allclose(r2.values, var_fit / (var_fit + DIABETES_NOISE**2), rtol=1e-12)
    np.testing.assert_allclose(
        exact_fit.bayes_r2(X.iloc[:50]).values, _r2_at(post, X.to_numpy()[:50]), rtol=1e-12
    )


def _r2_at(post, X):
    mu = post["intercept"].values[..., None] + np.einsum("cdp,np->cdn", post["coef"].values, X)
    var_fit = mu.var(axis=-1, ddof=1)
    return var_fit / (var_fit + DIABETES_NOISE**2)


def test_bayes_r2_is_near_the_twins_r2_with_a_weak_prior_and_many_rows():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20_000, 5))
    y = 3.0 + X @ [1.0, -0.5, 0.25, 0.0, 0.8] + rng.normal(size=20_000)
    est = BayesianLinearRegression(100.0, noise_sigma=1.0, method="exact", draws=250, random_state=0).fit(
        X, y
    )
    twin_r2 = est.ridge_equivalent().fit(X, y).score(X, y)
    r2 = est.bayes_r2()
    assert abs(float(r2.mean()) - twin_r2) < 0.01
    assert float(r2.std()) < 0.01


def test_plot_ppc_dist_takes_the_predictive_trees(diabetes):
    import arviz_plots as azp

    X, y = diabetes
    est = BayesianLinearRegression(
        10.0,
        noise_sigma=DIABETES_NOISE,
        intercept_prior_sigma=100.0,
        intercept_prior_mean=150.0,
        method="exact",
        draws=100,
        chains=2,
        random_state=0,
    ).fit(X, y)
    azp.plot_ppc_dist(est.sample_posterior_predictive(random_state=0), num_samples=20)
    azp.plot_ppc_dist(est.sample_prior_predictive(draws=50, random_state=0), group="prior_predictive")
    azp.plot_ppc_dist(est.add_predictive_groups(random_state=0), num_samples=20)
    plt.close("all")


# --- NUTS fits (session fixtures shared with the other test modules) ------------------------------


def test_unknown_noise_predictive_and_log_prior(diabetes_unknown_mcmc, diabetes):
    X, y = diabetes
    est = diabetes_unknown_mcmc
    draws = est.sample_posterior_predictive(random_state=0)["posterior_predictive"]["y"].values
    draws = draws.reshape(-1, X.shape[0])
    mean, sd = est.predict(X, return_std=True)
    assert np.all(np.abs(draws.mean(axis=0) - mean) < 0.15 * sd)
    np.testing.assert_allclose(draws.std(axis=0), sd, rtol=0.1)
    tree = est.idata_
    log_prior = est._log_prior_dataset(tree)
    sigma = tree["posterior"]["noise_sigma"].values
    expected = stats.halfnorm(scale=np.std(y.to_numpy())).logpdf(sigma)  # noise_prior_sigma=None: sd(y)
    np.testing.assert_allclose(log_prior["noise_sigma"].values, expected, rtol=1e-12)
    r2 = est.bayes_r2()
    post = tree["posterior"]
    np.testing.assert_allclose(r2.values, _r2_with_noise(post, X.to_numpy()), rtol=1e-12)
    table = est.prior_sensitivity()
    assert "noise_sigma" in table.index and table[["prior", "likelihood"]].notna().all().all()


def _r2_with_noise(post, X):
    mu = post["intercept"].values[..., None] + np.einsum("cdp,np->cdn", post["coef"].values, X)
    var_fit = mu.var(axis=-1, ddof=1)
    return var_fit / (var_fit + post["noise_sigma"].values ** 2)


@pytest.fixture(scope="module")
def logistic_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = np.where(X @ [1.0, -1.0, 0.5] + rng.logistic(size=200) > 0, "yes", "no")
    return X, y


@pytest.fixture(scope="module")
def logistic_mcmc(logistic_data):
    X, y = logistic_data
    est = BayesianLogisticRegression(1.0, draws=500, tune=500, chains=2, random_state=0, progressbar=False)
    return est.fit(X, y)


def test_logistic_posterior_predictive_is_zero_one_like_observed_data(logistic_mcmc, logistic_data):
    import arviz_plots as azp

    X, y = logistic_data
    est = logistic_mcmc
    tree = est.sample_posterior_predictive(random_state=0)
    draws = tree["posterior_predictive"]["y"]
    assert draws.dtype == np.int64 and set(np.unique(draws.values)) <= {0, 1}
    observed = tree["observed_data"]["y"]
    assert observed.dtype == np.int64
    np.testing.assert_array_equal(observed.values, (y == "yes").astype(int))
    p1 = est.predict_proba(X)[:, 1]
    s = draws.sizes["chain"] * draws.sizes["draw"]
    freq = draws.values.reshape(s, -1).mean(axis=0)
    assert np.all(np.abs(freq - p1) < 5 * np.sqrt(p1 * (1 - p1) / s) + 1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "look binary": that is what pava is for
        azp.plot_ppc_pava(tree)
        azp.plot_ppc_rootogram(tree)
    plt.close("all")
    table = est.prior_sensitivity()
    assert len(table) == X.shape[1] + 1
    stored = est.add_predictive_groups(random_state=0)
    assert stored["observed_data"]["y"].dtype == np.int64  # the same 0/1 as the draws
    xr.testing.assert_equal(stored["observed_data"]["y"], observed)
    with pytest.raises(ValueError, match="intercept_prior_sigma"):
        est.sample_prior_predictive()


def test_logistic_prior_predictive_is_symmetric_about_one_half():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 2))
    y = (X[:, 0] + rng.logistic(size=80) > 0).astype(int)
    est = BayesianLogisticRegression(2.0, intercept_prior_sigma=1.5, method="map").fit(X, y)
    tree = est.sample_prior_predictive(X, draws=20_000, random_state=0)
    freq = tree["prior_predictive"]["y"].values.mean()
    # E[y] = 1/2 by symmetry; each draw's mean over the rows has variance <= 1/4 (rows correlate)
    assert abs(freq - 0.5) < 5 * np.sqrt(0.25 / 20_000)
    assert set(tree["prior"].data_vars) == {"coef", "intercept"}

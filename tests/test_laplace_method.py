"""method="laplace": the Gaussian at the MAP, corrected by Pareto-smoothed importance sampling.

Exact for the linear model with known noise (constant ratios, the exact posterior's moments);
within 4 joint Monte Carlo errors of NUTS (breast cancer) and of the inference gym's ground truth
(German credit) when k̂ is good; a warning that names NUTS when it is not.
"""

from __future__ import annotations

import warnings

import arviz as az
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from bayesreg import BayesianLinearRegression, BayesianLogisticRegression
from bayesreg.estimators.laplace_psis import (
    gaussian_stats_log_likelihood,
    rows_log_likelihood,
    systematic_resample,
)
from bayesreg.exceptions import ConvergenceWarning
from bayesreg.stats.suffstats import sufficient_stats

Z = 4.0  # means must agree within 4 joint Monte Carlo standard errors


def _linear_data(seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(120, 4)) * [1.0, 2.0, 0.5, 1.0]
    y = 1.5 + X @ [1.0, -0.5, 2.0, 0.0] + rng.normal(size=120)
    weights = rng.uniform(0.2, 3.0, size=120)
    return X, y, weights


def _logistic_data(n: int = 150, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = (0.3 + X @ [1.0, -1.0, 0.5] + rng.logistic(size=n) > 0).astype(int)
    return X, y


# --- exact for the Gaussian linear model ---------------------------------------------------------


def test_known_noise_linear_is_the_exact_posterior():
    X, y, w = _linear_data()
    kw = dict(noise_sigma=1.3, intercept_prior_sigma=5.0, random_state=0, draws=1000, chains=4)
    est = BayesianLinearRegression(0.7, method="laplace", **kw).fit(X, y, sample_weight=w)
    exact = est.exact_posterior_
    report = est.laplace_
    n = report.n_draws
    # The Gaussian is the posterior: constant ratios, uniform weights, every draw kept once.
    loglik_at_map = gaussian_stats_log_likelihood(
        sufficient_stats(X, y, fit_intercept=True, sample_weight=w), 1.3
    )(est.map_coef_[None, :], np.array([est.map_intercept_]))[0]
    assert report.log_ratio_spread <= 1e-8 * abs(loglik_at_map)
    assert report.pareto_k == -np.inf and report.reliable
    assert report.ess == pytest.approx(n, rel=1e-12) and report.n_distinct == n
    # Its covariance is the exact one (a deterministic check, no Monte Carlo error).
    A = est._location_to_terms()
    cov = A @ est._map_result.location_cov @ A.T
    np.testing.assert_allclose(cov[:4, :4], exact.coef_cov, rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(cov[4, 4], exact.intercept_var, rtol=1e-7)
    # The draws' moments are the exact posterior's to Monte Carlo precision (n iid draws).
    draws = est._term_draws(est.idata_["posterior"].to_dataset()).reshape(n, -1)
    mean = np.append(exact.coef_mean, exact.intercept_mean)
    sd = np.append(exact.coef_sd, exact.intercept_sd)
    assert np.all(np.abs(draws.mean(axis=0) - mean) < Z * sd / np.sqrt(n))
    assert np.all(np.abs(draws.std(axis=0, ddof=1) / sd - 1) < Z / np.sqrt(2 * (n - 1)))
    np.testing.assert_allclose(est.coef_, draws.mean(axis=0)[:4], rtol=1e-12)  # uniform weights
    assert est.convergence_ is None
    assert {"posterior", "observed_data", "constant_data", "log_likelihood"} <= set(est.idata_.children)


def test_sufficient_statistics_log_likelihood_is_the_rows_one():
    X, y, w = _linear_data(1)
    est = BayesianLinearRegression(1.0, noise_sigma=0.8, method="map").fit(X, y, sample_weight=w)
    rng = np.random.default_rng(0)
    coef, intercept = rng.normal(size=(7, 4)), rng.normal(size=7)
    from_stats = gaussian_stats_log_likelihood(
        sufficient_stats(X, y, fit_intercept=True, sample_weight=w), 0.8
    )
    from_rows = rows_log_likelihood(est, X, y, w)
    np.testing.assert_allclose(from_stats(coef, intercept), from_rows(coef, intercept), rtol=1e-10)


def test_chunked_linear_input_gives_the_same_fit():
    X, y, _ = _linear_data(2)
    kw = dict(noise_sigma=1.0, method="laplace", random_state=3, draws=200, compute_log_likelihood=False)
    whole = BayesianLinearRegression(1.0, **kw).fit(X, y)
    chunked = BayesianLinearRegression(1.0, **kw).fit([(X[:60], y[:60]), (X[60:], y[60:])])
    np.testing.assert_allclose(chunked.coef_, whole.coef_, rtol=1e-8)
    assert chunked.laplace_.pareto_k == -np.inf


# --- logistic: against NUTS and against ground truth ---------------------------------------------


def _joint_z(mean, mcse, ref_mean, ref_mcse):
    return (np.asarray(mean) - ref_mean) / np.sqrt(np.asarray(mcse) ** 2 + np.asarray(ref_mcse) ** 2)


def test_breast_cancer_matches_nuts(breast_cancer, breast_cancer_mcmc):
    X, y = breast_cancer
    est = BayesianLogisticRegression(1.0, method="laplace", random_state=0).fit(X, y)
    report = est.laplace_
    assert report.reliable and report.pareto_k < 0.7, str(report)
    nuts = breast_cancer_mcmc
    post = nuts.idata_["posterior"].to_dataset()
    terms = nuts._term_draws(post)
    draws = xr.Dataset({"v": (("chain", "draw", "term"), terms)})
    nuts_mean = terms.reshape(-1, terms.shape[2]).mean(axis=0)
    nuts_mcse = az.mcse(draws)["v"].values
    z = _joint_z(report.term_mean, report.term_mcse, nuts_mean, nuts_mcse)
    assert np.max(np.abs(z)) < Z, np.round(z, 2)
    # The correction matters: the MAP itself is many Monte Carlo errors from the posterior mean.
    z_map = _joint_z(est._terms(est.map_coef_, est.map_intercept_), 0.0, nuts_mean, nuts_mcse)
    assert np.max(np.abs(z_map)) > 10
    # sds within 4 of their relative Monte Carlo errors, ~1/sqrt(2 ESS) each.
    nuts_sd = terms.reshape(-1, terms.shape[2]).std(axis=0, ddof=1)
    ess_nuts = float(np.min(az.ess(draws)["v"].values))
    tol = Z * np.sqrt(1 / (2 * report.ess) + 1 / (2 * ess_nuts))
    assert np.all(np.abs(report.term_sd / nuts_sd - 1) < tol)
    np.testing.assert_allclose(est.coef_, report.term_mean[:-1])


def test_german_credit_matches_the_ground_truth(refdata):
    folder = refdata / "inference_gym_german_credit"
    raw = np.loadtxt(folder / "german.data-numeric")
    features, labels = raw[:, :-1], raw[:, -1] - 1
    features = (features - features.mean(0)) / features.std(0)
    X = np.column_stack([features, np.ones(len(labels))])  # the bias is a weight with a N(0, 1) prior
    ref = pd.read_csv(folder / "ground_truth.csv", index_col="parameter")
    est = BayesianLogisticRegression(1.0, fit_intercept=False, method="laplace", random_state=0)
    report = est.fit(X, labels).laplace_
    assert report.reliable and report.pareto_k < 0.5, str(report)
    z = _joint_z(
        report.term_mean, report.term_mcse, ref["mean"].to_numpy(), ref["mean_standard_error"].to_numpy()
    )
    assert np.max(np.abs(z)) < Z, np.round(z, 2)
    tol = Z / np.sqrt(2 * report.ess)
    assert np.all(np.abs(report.term_sd / ref["sd"].to_numpy() - 1) < tol)
    # The MAP's bias (-1.17) is hundreds of standard errors from the posterior mean's (-1.20).
    assert abs(est.map_coef_[-1] - ref.loc["bias", "mean"]) > 100 * ref.loc["bias", "mean_standard_error"]


def test_a_skewed_posterior_warns_and_reports_a_high_k():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 2))
    y = (X[:, 0] + 0.3 * X[:, 1] > 0).astype(int)  # separable: only the prior bounds the posterior
    est = BayesianLogisticRegression(100.0, method="laplace", draws=500, random_state=0)
    with pytest.warns(
        ConvergenceWarning, match=r"(?s)not reliable.*Pareto k = 0\.\d\d > 0\.70.*method='mcmc'"
    ):
        est.fit(X, y)
    assert est.laplace_.pareto_k > 0.7 and not est.laplace_.reliable
    assert est.map_converged_  # the MAP is fine: it is the Gaussian that does not fit


def test_compare_reads_the_weighted_moments_and_agrees_only_when_k_is_good():
    from bayesreg import compare_with_ridge

    X, y, _ = _linear_data()
    est = BayesianLinearRegression(0.7, noise_sigma=1.3, method="laplace", random_state=0).fit(X, y)
    comparison = compare_with_ridge(est, X, y)
    table = comparison.table
    assert (table["uncertainty_source"] == "importance-weighted draws").all()
    np.testing.assert_array_equal(table["posterior_mean"].values, est.laplace_.term_mean)
    np.testing.assert_array_equal(table["mcse"].values, est.laplace_.term_mcse)
    # Known noise: the posterior mean is the ridge solution, within Z Monte Carlo errors.
    assert comparison.posterior_mean_should_equal_ridge and comparison.agrees, comparison.reasons
    assert np.all(np.abs(table["z"]) < Z)
    rng = np.random.default_rng(0)
    Xs = rng.normal(size=(20, 2))
    ys = (Xs[:, 0] + 0.3 * Xs[:, 1] > 0).astype(int)
    with pytest.warns(ConvergenceWarning):
        skewed = BayesianLogisticRegression(100.0, method="laplace", draws=500, random_state=0).fit(Xs, ys)
    bad = compare_with_ridge(skewed, Xs, ys)
    assert not bad.agrees and any("importance sampling is not reliable" in r for r in bad.reasons)


def test_a_good_fit_does_not_warn():
    X, y = _logistic_data()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = BayesianLogisticRegression(1.0, method="laplace", draws=500, random_state=0).fit(X, y)
    assert est.laplace_.reliable and est.laplace_.ess > 0.5 * est.laplace_.n_draws


# --- weights, counts, seeds, persistence ----------------------------------------------------------


def test_integer_weights_are_repeated_rows():
    X, y = _logistic_data(60)
    w = np.random.default_rng(1).integers(1, 4, size=60)
    kw = dict(method="laplace", draws=300, random_state=5)
    weighted = BayesianLogisticRegression(1.0, **kw).fit(X, y, sample_weight=w.astype(float))
    repeated = BayesianLogisticRegression(1.0, **kw).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-6)
    np.testing.assert_allclose(weighted.laplace_.pareto_k, repeated.laplace_.pareto_k, rtol=1e-6)
    ll = weighted.idata_["log_likelihood"]["y"].values.sum(axis=2)
    ll_rep = repeated.idata_["log_likelihood"]["y"].values.sum(axis=2)
    np.testing.assert_allclose(ll, ll_rep, rtol=1e-6)


def test_binomial_counts_are_the_expanded_rows():
    Xg = np.array([[-1.0], [0.0], [1.0], [2.0]])
    successes, trials = np.array([4, 10, 15, 18]), np.array([20, 20, 20, 20])
    kw = dict(method="laplace", draws=300, random_state=2)
    counts = BayesianLogisticRegression(1.0, **kw).fit(Xg, successes, trials=trials)
    X01 = np.repeat(Xg, trials, axis=0)
    y01 = np.concatenate([np.r_[np.ones(k), np.zeros(t - k)] for k, t in zip(successes, trials, strict=True)])
    expanded = BayesianLogisticRegression(1.0, **kw).fit(X01, y01)
    np.testing.assert_allclose(counts.coef_, expanded.coef_, rtol=1e-6)
    assert counts.idata_["constant_data"]["trials"].values.tolist() == trials.tolist()


def test_the_seed_reproduces_the_draws():
    X, y = _logistic_data()
    fit = lambda seed: BayesianLogisticRegression(method="laplace", draws=200, random_state=seed).fit(X, y)  # noqa: E731
    a, b, c = fit(7), fit(7), fit(8)
    coef = lambda est: est.idata_["posterior"]["coef"].values  # noqa: E731
    np.testing.assert_array_equal(coef(a), coef(b))
    assert a.laplace_.pareto_k == b.laplace_.pareto_k
    assert not np.array_equal(coef(a), coef(c))


def test_save_and_load_keep_the_report(tmp_path):
    X, y = _logistic_data()
    est = BayesianLogisticRegression(method="laplace", draws=200, random_state=0).fit(X, y)
    path = tmp_path / "laplace.nc"
    est.save(path)
    loaded = BayesianLogisticRegression.load(path)
    assert loaded.laplace_.pareto_k == est.laplace_.pareto_k
    np.testing.assert_array_equal(loaded.laplace_.term_mcse, est.laplace_.term_mcse)
    np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))
    assert str(loaded.laplace_) == str(est.laplace_)


def test_systematic_resampling_keeps_each_draw_its_share():
    w = np.array([0.5, 0.25, 0.125, 0.125, 0.0])
    idx = systematic_resample(w, np.random.default_rng(0))
    assert np.all(np.diff(idx) >= 0)
    counts = np.bincount(idx, minlength=5)
    assert np.all(np.abs(counts - 5 * w) < 1)


# --- what it refuses ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: BayesianLogisticRegression(prior="laplace", method="laplace"), "needs a smooth prior"),
        (
            lambda: BayesianLinearRegression(prior="elasticnet", noise_sigma=1.0, method="laplace"),
            "smooth prior",
        ),
        (lambda: BayesianLinearRegression(method="laplace"), "needs a known noise_sigma"),
        (
            lambda: BayesianLinearRegression(noise_sigma=1.0, prior_sigma_prior=1.0, method="laplace"),
            "needs a fixed prior sd",
        ),
        (lambda: BayesianLogisticRegression(method="laplace", draws=10, chains=4), r"chains × draws >= 50"),
    ],
)
def test_refused_options(make, message):
    X, y = _logistic_data(40)
    with pytest.raises(ValueError, match=message):
        make().fit(X, y if "Logistic" in type(make()).__name__ else X[:, 0] + y)


def test_k_classes_are_refused():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    y = np.repeat([0, 1, 2], 20)
    est = BayesianLogisticRegression(method="laplace", draws=100)
    with pytest.raises(ValueError, match="not available yet for K >= 3 classes"):
        est.fit(X, y)
    assert not hasattr(est, "coef_")

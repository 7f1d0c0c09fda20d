"""The closed-form posterior against sklearn and against a brute-force augmented computation."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import Ridge

from bayesreg.stats.conjugate import gaussian_posterior, sufficient_stats


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(3)
    X = rng.normal(loc=2.0, size=(40, 3))
    y = 5.0 + X @ [1.0, -1.0, 0.5] + rng.normal(size=40)
    return X, y


def test_mean_is_ridge(problem):
    X, y = problem
    post = gaussian_posterior(X, y, prior_sigma=0.5, noise_sigma=1.2)
    ridge = Ridge(alpha=1.2**2 / 0.5**2, solver="cholesky").fit(X, y)
    np.testing.assert_allclose(post.coef_mean, ridge.coef_, rtol=1e-10)
    assert post.intercept_mean == pytest.approx(ridge.intercept_, rel=1e-10)


def test_joint_covariance_matches_augmented_design_with_vague_intercept_prior(problem):
    # Brute force: treat the intercept as a column of ones with prior sd s; as s → ∞ the
    # joint posterior tends to ours (flat intercept). s = 1e6 leaves a difference ~ 1/s² ≈ 1e-12.
    X, y = problem
    prior_sigma, noise = 0.5, 1.2
    A = np.column_stack([X, np.ones(len(y))])
    prior_prec = np.diag([1 / prior_sigma**2] * 3 + [1e-12])
    cov = np.linalg.inv(A.T @ A / noise**2 + prior_prec)
    mean = cov @ A.T @ y / noise**2
    post = gaussian_posterior(X, y, prior_sigma=prior_sigma, noise_sigma=noise)
    np.testing.assert_allclose(post.coef_cov, cov[:3, :3], rtol=1e-8)
    np.testing.assert_allclose(post.cov_coef_intercept, cov[:3, 3], rtol=1e-8)
    assert post.intercept_var == pytest.approx(cov[3, 3], rel=1e-8)
    np.testing.assert_allclose(post.coef_mean, mean[:3], rtol=1e-8)


def test_no_intercept(problem):
    X, y = problem
    post = gaussian_posterior(X, y, prior_sigma=0.5, noise_sigma=1.2, fit_intercept=False)
    ridge = Ridge(alpha=1.2**2 / 0.5**2, fit_intercept=False).fit(X, y)
    np.testing.assert_allclose(post.coef_mean, ridge.coef_, rtol=1e-10)
    assert post.intercept_var == 0.0


def test_exact_draws_have_the_exact_moments(problem):
    X, y = problem
    post = gaussian_posterior(X, y, prior_sigma=0.5, noise_sigma=1.2)
    coef, intercept = post.sample(20_000, rng=5)
    # iid draws: MCSE of a mean is sd/√S.
    mcse = post.coef_sd / np.sqrt(20_000)
    assert np.all(np.abs(coef.mean(0) - post.coef_mean) < 4 * mcse)
    assert abs(intercept.mean() - post.intercept_mean) < 4 * post.intercept_sd / np.sqrt(20_000)
    # sd of a sample sd is about sd/√(2S) ≈ 0.5%: 4 of those.
    np.testing.assert_allclose(coef.std(0, ddof=1), post.coef_sd, rtol=4 / np.sqrt(2 * 20_000))
    assert np.array_equal(post.sample(5, rng=1)[0], post.sample(5, rng=1)[0])


def test_predictive_sd_matches_draws(problem):
    X, y = problem
    post = gaussian_posterior(X, y, prior_sigma=0.5, noise_sigma=1.2)
    coef, intercept = post.sample(40_000, rng=2)
    mu = intercept[:, None] + coef @ X[:3].T
    mean, sd = post.predict(X[:3], return_std=True)
    np.testing.assert_allclose(sd**2 - 1.2**2, mu.var(0), rtol=0.05)
    np.testing.assert_allclose(mean, post.intercept_mean + X[:3] @ post.coef_mean, rtol=1e-12)


def test_sufficient_stats_are_centred_cross_products(problem):
    X, y = problem
    stats = sufficient_stats(X, y, fit_intercept=True)
    Xc, yc = X - X.mean(0), y - y.mean()
    np.testing.assert_allclose(stats.xtx, Xc.T @ Xc, rtol=1e-12)
    np.testing.assert_allclose(stats.xty, Xc.T @ yc, rtol=1e-12)
    assert stats.yty == pytest.approx(yc @ yc, rel=1e-12)


@pytest.mark.parametrize("shape", [(40, 3), (10, 25)])
def test_rss_from_the_qr_factors_is_the_rss(shape):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=shape), rng.normal(size=shape[0])
    stats = sufficient_stats(X, y, fit_intercept=True)
    Xc, yc = X - X.mean(0), y - y.mean()
    for w in rng.normal(size=(4, shape[1])):
        resid = stats.qty - stats.r_factor @ w
        assert resid @ resid == pytest.approx(np.sum((yc - Xc @ w) ** 2), rel=1e-12)


def test_ill_conditioned_polynomial_map_converges():
    # Standardised powers of x in [0, 1] up to degree 12 (notebook 03): XᵀX is nearly singular,
    # and any expansion of the RSS about a huge least-squares point cancels catastrophically.
    from bayesreg import BayesianLinearRegression

    rng = np.random.default_rng(3)
    x = np.sort(rng.uniform(0, 1, 20))
    X = np.column_stack([x**k for k in range(1, 13)])
    X = (X - X.mean(0)) / X.std(0)
    y = np.sin(2 * np.pi * x) + rng.normal(scale=0.3, size=20)
    est = BayesianLinearRegression(2.91, noise_sigma=0.3, method="map").fit(X, y)
    assert est.map_converged_
    ridge = Ridge(alpha=0.3**2 / 2.91**2).fit(X, y)
    assert np.max(np.abs(est.map_coef_ - ridge.coef_)) < 1e-6 * np.max(np.abs(ridge.coef_))


def test_near_perfect_fit_map_converges():
    # R² ≈ 0.99998 (as posteriordb's sblri): yty − 2wᵀxty + wᵀxtx w would cancel ~5 digits away.
    from bayesreg import BayesianLinearRegression

    rng = np.random.default_rng(0)
    X = rng.normal(scale=100.0, size=(100, 5))
    y = X @ np.ones(5) + rng.normal(size=100)
    est = BayesianLinearRegression(10.0, noise_prior_sigma=10.0, fit_intercept=False, method="map").fit(X, y)
    assert est.map_converged_
    ridge = Ridge(alpha=est.map_noise_sigma_**2 / 100.0, fit_intercept=False).fit(X, y)
    np.testing.assert_allclose(est.map_coef_, ridge.coef_, rtol=1e-10)

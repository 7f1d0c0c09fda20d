"""The Gaussian evidence against BayesianRidge, a dense-covariance density and brute-force integration."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, optimize, stats
from sklearn.linear_model import BayesianRidge

from bayesreg.stats.conjugate import gaussian_posterior
from bayesreg.stats.evidence import (
    empirical_bayes,
    exact_loo_log_density,
    hyperparameter_mode,
    log_evidence,
)
from tests.helpers import prostate_train

FLAT_BR = {"alpha_1": 0.0, "alpha_2": 0.0, "lambda_1": 0.0, "lambda_2": 0.0, "tol": 1e-12, "max_iter": 50_000}


def _dense(X, y, prior_sigma, noise_sigma, c):
    n = len(y)
    cov = noise_sigma**2 * np.eye(n) + prior_sigma**2 * X @ X.T + c * np.ones((n, n))
    _, logdet = np.linalg.slogdet(cov)
    quad = y @ np.linalg.solve(cov, y)
    return -0.5 * (n * np.log(2 * np.pi) + logdet + quad) + 0.5 * np.log(2 * np.pi * c)


def dense_log_evidence(X, y, prior_sigma, noise_sigma, c=1e4):
    """log N(y; 0, σ_n² I + σ² X Xᵀ + c 11ᵀ) + ½ log(2πc): the flat intercept as the limit c → ∞.

    The error is a/c + O(1/c²); Richardson extrapolation from c and 2c removes the a/c term.
    """
    return 2 * _dense(X, y, prior_sigma, noise_sigma, 2 * c) - _dense(X, y, prior_sigma, noise_sigma, c)


def check_against_bayesian_ridge(X, y):
    fit = empirical_bayes(X, y, convention="sklearn")
    br = BayesianRidge(**FLAT_BR, compute_score=True).fit(X, y)
    assert br.n_iter_ < FLAT_BR["max_iter"] or abs(br.scores_[-1] - br.scores_[-2]) < 1e-10
    assert fit.ridge_alpha == pytest.approx(br.lambda_ / br.alpha_, rel=1e-4)
    assert fit.noise_sigma == pytest.approx(1 / np.sqrt(br.alpha_), rel=1e-4)
    # With flat hyperpriors BayesianRidge's score is exactly this log evidence.
    assert fit.log_evidence == pytest.approx(br.scores_[-1], rel=1e-8)


def test_empirical_bayes_matches_bayesian_ridge_on_diabetes(diabetes):
    X, y = diabetes
    check_against_bayesian_ridge(X.to_numpy(), y.to_numpy())


def test_empirical_bayes_matches_bayesian_ridge_on_prostate(refdata):
    check_against_bayesian_ridge(*prostate_train(refdata))


def test_integrated_evidence_matches_dense_gaussian_density():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(25, 3))
    y = 1.5 + X @ [1.0, 0.0, -2.0] + rng.normal(scale=0.7, size=25)
    for sigma, noise in [(0.3, 0.7), (2.0, 1.5), (10.0, 0.2)]:
        ours = log_evidence(X, y, prior_sigma=sigma, noise_sigma=noise)
        assert ours == pytest.approx(dense_log_evidence(X, y, sigma, noise), abs=1e-7)
    # No intercept: exactly y ~ N(0, σ_n² I + σ² X Xᵀ), and both conventions agree.
    cov = 0.49 * np.eye(25) + 4.0 * X @ X.T
    exact = stats.multivariate_normal(np.zeros(25), cov).logpdf(y)
    for convention in ("integrated", "sklearn"):
        z = log_evidence(X, y, prior_sigma=2.0, noise_sigma=0.7, fit_intercept=False, convention=convention)
        assert z == pytest.approx(exact, rel=1e-12)


def test_integrated_evidence_matches_brute_force_integration():
    """p = 1 with an intercept: integrate the unnormalised posterior over (w, b) numerically."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=8)
    y = 0.5 + 1.2 * x + rng.normal(scale=0.5, size=8)
    sigma, noise = 1.0, 0.5
    post = gaussian_posterior(x[:, None], y, prior_sigma=sigma, noise_sigma=noise)

    def log_joint(b, w):
        return stats.norm.logpdf(y, b + w * x, noise).sum() + stats.norm.logpdf(w, 0, sigma)

    peak = log_joint(post.intercept_mean, post.coef_mean[0])
    w0, ws = post.coef_mean[0], post.coef_sd[0]
    b0, bs = post.intercept_mean, post.intercept_sd
    value, err = integrate.dblquad(
        lambda b, w: np.exp(log_joint(b, w) - peak),
        w0 - 12 * ws,
        w0 + 12 * ws,
        b0 - 12 * bs,
        b0 + 12 * bs,
        epsabs=1e-12,
        epsrel=1e-10,
    )
    assert err < 1e-8 * value
    assert log_evidence(x[:, None], y, prior_sigma=sigma, noise_sigma=noise) == pytest.approx(
        peak + np.log(value), abs=1e-7
    )


def test_known_noise_optimum_matches_direct_maximisation_of_dense_density():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(30, 4))
    y = X @ [0.8, -0.5, 0.3, 0.0] + rng.normal(scale=1.0, size=30)
    fit = empirical_bayes(X, y, noise_sigma=1.0)
    res = optimize.minimize_scalar(
        lambda t: -dense_log_evidence(X, y, np.exp(t), 1.0),
        bounds=(-5, 5),
        method="bounded",
        options={"xatol": 1e-10},
    )
    assert fit.prior_sigma == pytest.approx(np.exp(res.x), rel=1e-4)
    assert not fit.at_boundary
    # Known noise: the two conventions differ by a constant, so they choose the same σ.
    assert empirical_bayes(X, y, noise_sigma=1.0, convention="sklearn").prior_sigma == pytest.approx(
        fit.prior_sigma, rel=1e-10
    )


def test_evidence_at_boundary_when_no_signal():
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(40, 3)), rng.normal(size=40)
    fit = empirical_bayes(X, y, noise_sigma=5.0)  # noise far above the data's spread: σ → 0
    assert fit.at_boundary and fit.effective_dof < 1e-6


def test_exact_loo_matches_explicit_refits():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(20, 3))
    y = 2.0 + X @ [1.0, -1.0, 0.5] + rng.normal(size=20)
    loo = exact_loo_log_density(X, y, prior_sigma=0.8, noise_sigma=1.1)
    for i in range(20):
        keep = np.arange(20) != i
        post = gaussian_posterior(X[keep], y[keep], prior_sigma=0.8, noise_sigma=1.1)
        mean, sd = post.predict(X[i : i + 1], return_std=True)
        assert loo[i] == pytest.approx(stats.norm.logpdf(y[i], mean[0], sd[0]), rel=1e-10)


def test_hyperparameter_mode_matches_grid_of_dense_density():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(30, 5))
    y = X @ [0.5, 0.5, -0.5, 0.2, 0.0] + rng.normal(size=30)
    s = 0.5
    mode, noise = hyperparameter_mode(X, y, prior_sigma_prior=s, noise_sigma=1.0)
    res = optimize.minimize_scalar(
        lambda t: -(dense_log_evidence(X, y, np.exp(t), 1.0) - 0.5 * (np.exp(t) / s) ** 2),
        bounds=(-5, 3),
        method="bounded",
        options={"xatol": 1e-10},
    )
    assert noise == 1.0
    assert mode == pytest.approx(np.exp(res.x), rel=1e-4)
    # The half-normal pulls the mode below the empirical-Bayes value.
    assert mode < empirical_bayes(X, y, noise_sigma=1.0).prior_sigma


# --- the certified mode of p(σ, σ_n | y) -------------------------------------------------------------


def _scale_target(fit_intercept=True, seed=3):
    from bayesreg.stats.evidence import _ScaleLogPosterior, sufficient_stats

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(40, 5))
    y = X @ [1.0, -1.0, 0.5, 0.0, 0.0] + rng.normal(size=40)
    stats = sufficient_stats(X, y, fit_intercept=fit_intercept)
    return stats, _ScaleLogPosterior(stats, prior_sigma_prior=2.0, noise_prior_sigma=3.0)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_scale_log_posterior_value_gradient_and_hessian_are_exact(fit_intercept):
    from bayesreg.stats.evidence import _effective_rows, _Spectrum

    stats, target = _scale_target(fit_intercept)
    u, v = 0.3, -0.2
    value, grad, hess = target(u, v, free_noise=True)
    rows, const = _effective_rows(stats, "integrated")
    a, b = np.exp(2 * u), np.exp(2 * v)
    expected = _Spectrum.from_stats(stats).log_evidence(b / a, b, rows, const) - a / 8 - b / 18
    assert value == pytest.approx(expected, rel=1e-12)
    # Central differences: truncation error O(h²) ≈ 1e-10 times the third derivative.
    h = 1e-5
    for i in range(2):
        du, dv = (h, 0.0) if i == 0 else (0.0, h)
        fp, gp, _ = target(u + du, v + dv, free_noise=True)
        fm, gm, _ = target(u - du, v - dv, free_noise=True)
        assert grad[i] == pytest.approx((fp - fm) / (2 * h), rel=1e-7, abs=1e-7)
        np.testing.assert_allclose(hess[i], (gp - gm) / (2 * h), rtol=1e-7, atol=1e-7)


def test_hyperparameter_mode_is_certified_on_diabetes_where_nelder_mead_gave_up(diabetes):
    # The red-CI case: prior_sigma_prior=10 on standardised diabetes made Nelder-Mead run out of
    # iterations. Newton's method reaches a certified strict maximum in a few steps.
    from bayesreg.stats.evidence import find_hyperparameter_mode, sufficient_stats

    X, y = diabetes
    stats = sufficient_stats(X.to_numpy(), y.to_numpy(), fit_intercept=True)
    for noise in (None, 54.0):
        mode = find_hyperparameter_mode(
            stats, prior_sigma_prior=10.0, noise_sigma=noise, noise_prior_sigma=float(np.std(y))
        )
        assert mode.converged, mode
        assert mode.newton_step < 1e-9
        assert mode.n_iterations < 50


def test_hyperparameter_mode_is_a_stationary_point_of_the_dense_density():
    # Independent check of the mode with known noise: the dense marginal density, differenced.
    rng = np.random.default_rng(5)
    X = rng.normal(size=(30, 5))
    y = X @ [0.5, 0.5, -0.5, 0.2, 0.0] + rng.normal(size=30)
    s = 0.5
    mode, _ = hyperparameter_mode(X, y, prior_sigma_prior=s, noise_sigma=1.0)

    def log_post(sigma):
        return dense_log_evidence(X, y, sigma, 1.0) - 0.5 * (sigma / s) ** 2

    h = 1e-4 * mode
    slope = (log_post(mode + h) - log_post(mode - h)) / (2 * h)
    curvature = (log_post(mode + h) - 2 * log_post(mode) + log_post(mode - h)) / h**2
    # |σ − mode| ≈ |slope / curvature|: below 1e-7 relative, i.e. at the precision of differencing.
    assert abs(slope / curvature) < 1e-7 * mode
    assert curvature < 0


def test_hyperparameter_mode_without_an_interior_mode_says_so():
    # y independent of X and a tight hyperprior: the marginal posterior of σ peaks at σ = 0.
    from bayesreg.exceptions import OptimizerWarning
    from bayesreg.stats.evidence import find_hyperparameter_mode, sufficient_stats

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = rng.normal(size=200)
    stats = sufficient_stats(X, y, fit_intercept=True)
    mode = find_hyperparameter_mode(stats, prior_sigma_prior=0.01, noise_sigma=1.0)
    assert not mode.converged
    assert "no interior mode" in mode.reason
    with pytest.warns(OptimizerWarning, match="could not be certified.*no interior mode"):
        mode.warn_if_not_converged()

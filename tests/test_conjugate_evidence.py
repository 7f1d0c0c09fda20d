"""The Gaussian evidence against BayesianRidge, a dense-covariance density and brute-force integration."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, optimize, stats
from sklearn.linear_model import BayesianRidge

from bayesreg.conjugate import (
    empirical_bayes,
    exact_loo_log_density,
    gaussian_posterior,
    hyperparameter_mode,
    log_evidence,
)

FLAT_BR = {"alpha_1": 0.0, "alpha_2": 0.0, "lambda_1": 0.0, "lambda_2": 0.0, "tol": 1e-12, "max_iter": 50_000}


def prostate_train(refdata) -> tuple[np.ndarray, np.ndarray]:
    frame = pd.read_csv(refdata / "prostate.data", sep="\t", index_col=0)
    cols = ["lcavol", "lweight", "age", "lbph", "svi", "lcp", "gleason", "pgg45"]
    Xs = (frame[cols] - frame[cols].mean()) / frame[cols].std(ddof=1)
    train = (frame["train"] == "T").to_numpy()
    return Xs.to_numpy()[train], frame["lpsa"].to_numpy()[train]


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

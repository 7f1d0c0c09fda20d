"""Every row of the CONVENTIONS.md table, checked against the installed scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import log_expit
from sklearn.linear_model import BayesianRidge, ElasticNet, LogisticRegression, Ridge

from bayesreg import priors
from bayesreg.stats.conjugate import gaussian_posterior


@pytest.fixture(scope="module")
def centred_problem():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(60, 4))
    y = 1.0 + X @ [1.0, -0.5, 0.25, 2.0] + rng.normal(scale=0.8, size=60)
    return X, y


def test_ridge_alpha_matches_sklearn_ridge(centred_problem):
    X, y = centred_problem
    alpha = priors.ridge_alpha_from_sigma(prior_sigma=0.7, noise_sigma=0.8)
    assert alpha == pytest.approx(0.8**2 / 0.7**2, rel=1e-15)
    exact = gaussian_posterior(X, y, prior_sigma=0.7, noise_sigma=0.8)
    ridge = Ridge(alpha=alpha, solver="cholesky").fit(X, y)
    np.testing.assert_allclose(exact.coef_mean, ridge.coef_, rtol=1e-10)


def test_elasticnet_alpha_matches_ridge(centred_problem):
    X, y = centred_problem
    a = priors.elasticnet_alpha_from_sigma(prior_sigma=0.7, noise_sigma=0.8, n_samples=len(y))
    net = ElasticNet(alpha=a, l1_ratio=0.0, tol=1e-14, max_iter=100_000).fit(X, y)
    ridge = Ridge(alpha=priors.ridge_alpha_from_sigma(0.7, 0.8)).fit(X, y)
    # Coordinate descent to tol=1e-14 on the duality gap: agreement far below 1e-6.
    np.testing.assert_allclose(net.coef_, ridge.coef_, rtol=1e-6)


def test_logistic_C_is_prior_variance(centred_problem):
    X, y = centred_problem
    labels = (y > np.median(y)).astype(int)
    C = priors.logistic_C_from_sigma(0.5)
    assert C == 0.25
    fit = LogisticRegression(C=C, l1_ratio=0.0, solver="newton-cholesky", tol=1e-12).fit(X, labels)
    # At the optimum of Σ logloss + ‖w‖²/(2σ²) the gradient vanishes: Xᵀ(y − p) = w/σ².
    eta = fit.intercept_[0] + X @ fit.coef_[0]
    p = np.exp(log_expit(eta))
    np.testing.assert_allclose(X.T @ (labels - p), fit.coef_[0] / 0.25, atol=1e-8)
    assert abs(np.sum(labels - p)) < 1e-8  # the intercept is not penalised


def test_sgd_classifier_and_torch_logistic_are_the_rescaled_posterior():
    rng = np.random.default_rng(0)
    X, labels = rng.normal(size=(25, 3)), rng.integers(0, 2, size=25)
    sigma, n = 1.7, 25

    def neg_log_post(w):
        eta = X @ w
        nll = -np.sum(labels * log_expit(eta) + (1 - labels) * log_expit(-eta))
        return nll + w @ w / (2 * sigma**2)

    a = priors.sgd_classifier_alpha_from_sigma(sigma, n_samples=n)
    for w in rng.normal(size=(5, 3)):
        eta = X @ w
        mean_loss = -np.mean(labels * log_expit(eta) + (1 - labels) * log_expit(-eta))
        assert mean_loss + 0.5 * a * w @ w == pytest.approx(neg_log_post(w) / n, rel=1e-12)
    assert priors.torch_logistic_weight_decay_from_sigma(sigma, n) == pytest.approx(a, rel=1e-15)


def test_bayesian_ridge_precisions_give_its_ridge(centred_problem):
    X, y = centred_problem
    # Flat hyperpriors (all 1e-6 shape/rate parameters are the defaults; set them to ~0).
    br = BayesianRidge(alpha_1=1e-12, alpha_2=1e-12, lambda_1=1e-12, lambda_2=1e-12, tol=1e-10).fit(X, y)
    prior_sigma, noise_sigma = priors.sigmas_from_bayesian_ridge(br.alpha_, br.lambda_)
    alpha = priors.ridge_alpha_from_sigma(prior_sigma, noise_sigma)
    assert alpha == pytest.approx(br.lambda_ / br.alpha_, rel=1e-12)
    np.testing.assert_allclose(Ridge(alpha=alpha).fit(X, y).coef_, br.coef_, rtol=1e-8)
    assert priors.bayesian_ridge_from_sigmas(prior_sigma, noise_sigma) == pytest.approx(
        (br.alpha_, br.lambda_), rel=1e-12
    )


def test_seed_note_weight_decay_example():
    # The note: θ = 10, η = 0.01, λ = 0.1, zero task gradient, "pulled back 2%", i.e. to 9.8.
    # The factor is 1 − 2ηλ = 1 − 0.002: the step gives 9.98 (a 0.2% pull). The note's "0.02·θ"
    # is an arithmetic slip; 9.8 (2%) needs 2ηλ = 0.02, e.g. η = 0.1 with the same λ.
    assert priors.weight_decay_step(10.0, 0.0, 0.01, 0.1) == pytest.approx(9.98, abs=1e-14)
    assert priors.weight_decay_step(10.0, 0.0, 0.1, 0.1) == pytest.approx(9.8, abs=1e-14)
    # The pull is proportional to θ: θ = 100 loses 100x more than θ = 1, θ = 0.01 barely moves.
    big, one, small = priors.weight_decay_step(np.array([100.0, 1.0, 0.01]), 0.0, 0.01, 0.1)
    assert 100.0 - big == pytest.approx(0.2, rel=1e-12)
    assert 1.0 - one == pytest.approx(0.002, rel=1e-12)
    assert 0.01 - small == pytest.approx(2e-5, rel=1e-9)


def test_gradient_descent_on_penalised_mean_loss_converges_to_ridge(centred_problem):
    X, y = centred_problem
    n = len(y)
    Xc, yc = X - X.mean(0), y - y.mean()  # unpenalised intercept = centring
    lam = priors.mean_loss_lambda_from_sigma(prior_sigma=0.7, noise_sigma=0.8, n_samples=n)
    theta = np.full(X.shape[1], 10.0)
    eta = 0.5 / np.linalg.eigvalsh(2 * Xc.T @ Xc / n + 2 * lam * np.eye(X.shape[1])).max()
    for _ in range(20_000):
        task_grad = -2.0 / n * Xc.T @ (yc - Xc @ theta)
        theta = priors.weight_decay_step(theta, task_grad, eta, lam)
    ridge = Ridge(alpha=n * lam).fit(X, y)
    np.testing.assert_allclose(theta, ridge.coef_, rtol=1e-10)
    exact = gaussian_posterior(X, y, prior_sigma=0.7, noise_sigma=0.8)
    np.testing.assert_allclose(theta, exact.coef_mean, rtol=1e-10)


def test_torch_mse_weight_decay_gradient_descent_reaches_ridge(centred_problem):
    X, y = centred_problem
    n = len(y)
    Xc, yc = X - X.mean(0), y - y.mean()
    wd = priors.torch_mse_weight_decay_from_sigma(0.7, 0.8, n)
    w = np.zeros(X.shape[1])
    for _ in range(20_000):  # torch.optim.SGD: w -= lr * (∇ mean MSE + weight_decay * w)
        w -= 0.05 * (-2.0 / n * Xc.T @ (yc - Xc @ w) + wd * w)
    np.testing.assert_allclose(
        w, Ridge(alpha=priors.ridge_alpha_from_sigma(0.7, 0.8)).fit(X, y).coef_, rtol=1e-10
    )


@pytest.mark.parametrize(
    ("forward", "backward", "extra"),
    [
        (priors.ridge_alpha_from_sigma, priors.sigma_from_ridge_alpha, {"noise_sigma": 1.3}),
        (
            priors.elasticnet_alpha_from_sigma,
            priors.sigma_from_elasticnet_alpha,
            {"noise_sigma": 1.3, "n_samples": 17},
        ),
        (
            priors.mean_loss_lambda_from_sigma,
            priors.sigma_from_mean_loss_lambda,
            {"noise_sigma": 1.3, "n_samples": 17},
        ),
        (
            priors.torch_mse_weight_decay_from_sigma,
            priors.sigma_from_torch_mse_weight_decay,
            {"noise_sigma": 1.3, "n_samples": 17},
        ),
        (priors.sgd_classifier_alpha_from_sigma, priors.sigma_from_sgd_classifier_alpha, {"n_samples": 17}),
        (
            priors.torch_logistic_weight_decay_from_sigma,
            priors.sigma_from_torch_logistic_weight_decay,
            {"n_samples": 17},
        ),
        (priors.logistic_C_from_sigma, priors.sigma_from_logistic_C, {}),
    ],
)
def test_round_trips_and_monotone(forward, backward, extra):
    sigmas = np.array([1e-3, 0.1, 1.0, 7.5, 1e3])
    penalties = forward(sigmas, **extra)
    np.testing.assert_allclose(backward(penalties, **extra), sigmas, rtol=1e-12)
    assert backward(forward(2.5, **extra), **extra) == pytest.approx(2.5, rel=1e-14)
    direction = np.sign(np.diff(penalties))
    assert np.all(direction == direction[0])  # strictly monotone in σ


@pytest.mark.parametrize("bad", [0.0, -1.0, np.nan, np.inf])
def test_non_positive_sigma_is_refused(bad):
    with pytest.raises(ValueError, match="'prior_sigma' argument must be a finite number > 0"):
        priors.ridge_alpha_from_sigma(bad, 1.0)
    with pytest.raises(ValueError, match="'noise_sigma'"):
        priors.ridge_alpha_from_sigma(1.0, bad)


def test_bad_n_samples_and_lambda_are_refused():
    with pytest.raises(ValueError, match="'n_samples' argument must be an integer >= 1"):
        priors.mean_loss_lambda_from_sigma(1.0, 1.0, n_samples=0)
    with pytest.raises(ValueError, match="'mean_loss_lambda'"):
        priors.weight_decay_step(1.0, 0.0, 0.1, -0.5)

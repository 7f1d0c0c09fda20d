"""Every row of the CONVENTIONS.md table, checked against the installed scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import log_expit
from sklearn.linear_model import BayesianRidge, ElasticNet, Lasso, LogisticRegression, Ridge

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


# --- Laplace and elastic-net priors ----------------------------------------------------------------


def _sd_by_quadrature(lam1, lam2):
    """The sd of p(w) ∝ exp(−λ1|w| − ½λ2 w²), integrated numerically (symmetric: twice (0, ∞))."""
    from scipy import integrate

    def moment(k):
        def density(w):
            return w**k * np.exp(-lam1 * w - 0.5 * lam2 * w * w)

        return integrate.quad(density, 0, np.inf, epsabs=0, epsrel=1e-13, limit=500)[0]

    return np.sqrt(moment(2) / moment(0))


def test_laplace_scale_is_sigma_over_root_two():
    assert priors.laplace_scale_from_sigma(2.0) == pytest.approx(2.0 / np.sqrt(2.0), rel=1e-15)
    # Var of Laplace(b) is 2b²: sd √2 b.
    assert priors.sigma_from_laplace_scale(0.75) == pytest.approx(np.sqrt(2 * 0.75**2), rel=1e-15)
    np.testing.assert_allclose(
        priors.sigma_from_laplace_scale(priors.laplace_scale_from_sigma(np.array([1e-3, 1.0, 1e3]))),
        [1e-3, 1.0, 1e3],
        rtol=1e-15,
    )


def test_lasso_alpha_is_the_laplace_map(centred_problem):
    X, y = centred_problem
    n, sigma, noise = len(y), 0.03, 0.8  # small enough for exact zeros
    alpha = priors.lasso_alpha_from_sigma(prior_sigma=sigma, noise_sigma=noise, n_samples=n)
    assert alpha == pytest.approx(noise**2 / (n * sigma / np.sqrt(2)), rel=1e-15)
    fit = Lasso(alpha=alpha, tol=1e-14, max_iter=10**6).fit(X, y)
    assert np.any(fit.coef_ == 0) and np.any(fit.coef_ != 0)
    # The optimum of Σ(y − ŷ)²/(2σ_n²) + (√2/σ)‖w‖₁: Xᵀr/σ_n² is (√2/σ)·sign(w), or within ±√2/σ at 0.
    pull = X.T @ (y - fit.intercept_ - X @ fit.coef_) / noise**2
    lam1 = np.sqrt(2) / sigma
    on = fit.coef_ != 0
    np.testing.assert_allclose(pull[on], lam1 * np.sign(fit.coef_[on]), rtol=1e-8)
    assert np.all(np.abs(pull[~on]) <= lam1)


def test_logistic_l1_C_is_the_laplace_scale(centred_problem):
    X, y = centred_problem
    labels = (y > np.median(y)).astype(int)
    sigma = 0.4
    C = priors.logistic_l1_C_from_sigma(sigma)
    assert C == pytest.approx(sigma / np.sqrt(2), rel=1e-15)
    fit = LogisticRegression(C=C, l1_ratio=1.0, solver="saga", tol=1e-12, max_iter=10**6).fit(X, labels)
    # The optimum of Σ logloss + ‖w‖₁/b: Xᵀ(y − p) = sign(w)/b on the support, |·| ≤ 1/b off it.
    p = np.exp(log_expit(fit.intercept_[0] + X @ fit.coef_[0]))
    pull, on = X.T @ (labels - p), fit.coef_[0] != 0
    assert np.any(on)
    np.testing.assert_allclose(pull[on], np.sign(fit.coef_[0][on]) / C, rtol=1e-7)
    assert np.all(np.abs(pull[~on]) <= 1 / C + 1e-9)
    assert abs(np.sum(labels - p)) < 1e-7  # the intercept is not penalised


def test_elasticnet_penalties_reduce_to_normal_and_laplace():
    sigma = np.array([1e-3, 0.5, 2.0, 1e3])
    lam1, lam2 = priors.elasticnet_penalties_from_sigma(sigma, 0.0)
    np.testing.assert_array_equal(lam1, 0.0)
    np.testing.assert_allclose(lam2, 1 / sigma**2, rtol=1e-15)
    lam1, lam2 = priors.elasticnet_penalties_from_sigma(sigma, 1.0)
    np.testing.assert_allclose(lam1, np.sqrt(2) / sigma, rtol=1e-15)
    np.testing.assert_array_equal(lam2, 0.0)
    # ... and approach both limits continuously.
    lam1, lam2 = priors.elasticnet_penalties_from_sigma(2.0, 1e-9)
    assert lam2 == pytest.approx(0.25, rel=1e-8) and lam1 == pytest.approx(0.25e-9, rel=1e-8)
    lam1, lam2 = priors.elasticnet_penalties_from_sigma(2.0, 1 - 1e-9)
    assert lam1 == pytest.approx(np.sqrt(2) / 2, rel=1e-8) and lam2 < 1e-8
    assert priors.sigma_from_elasticnet_penalties(0.0, 4.0) == 0.5
    assert priors.sigma_from_elasticnet_penalties(1.0, 0.0) == pytest.approx(np.sqrt(2), rel=1e-15)


@pytest.mark.parametrize("sigma", [1e-3, 0.3, 1.0, 7.0, 1e3])
@pytest.mark.parametrize("l1_ratio", [1e-6, 0.01, 0.2, 0.5, 0.8, 0.99, 1 - 1e-6])
def test_elasticnet_prior_has_sd_sigma(sigma, l1_ratio):
    # Over these (σ, ρ) the shape parameter t = λ1/√λ2 runs from 1e-9 (nearly normal) to 4e4
    # (nearly Laplace): both branches of the closed form, and the switch between them at t = 2.
    lam1, lam2 = priors.elasticnet_penalties_from_sigma(sigma, l1_ratio)
    assert lam1 / (lam1 + lam2) == pytest.approx(l1_ratio, rel=1e-14)
    assert _sd_by_quadrature(lam1, lam2) == pytest.approx(sigma, rel=1e-10)
    assert priors.sigma_from_elasticnet_penalties(lam1, lam2) == pytest.approx(sigma, rel=1e-13)


def test_elasticnet_sd_closed_form_against_scipy_and_quadrature():
    from scipy.special import erfcx

    rng = np.random.default_rng(5)
    lam1, lam2 = 10 ** rng.uniform(-3, 3, 40), 10 ** rng.uniform(-3, 3, 40)
    sd = priors.sigma_from_elasticnet_penalties(lam1, lam2)
    t = lam1 / np.sqrt(lam2)
    mills = np.sqrt(np.pi / 2) * erfcx(t / np.sqrt(2))
    moderate = t < 5  # where the textbook form (1 + t² − t/R)/λ2 keeps 12 digits
    assert moderate.sum() >= 10
    np.testing.assert_allclose(sd[moderate], np.sqrt((1 + t**2 - t / mills) / lam2)[moderate], rtol=1e-12)
    for a, b, s in zip(lam1[::4], lam2[::4], sd[::4], strict=True):
        assert s == pytest.approx(_sd_by_quadrature(a, b), rel=1e-10)
    # The sd falls as either penalty grows.
    assert np.all(priors.sigma_from_elasticnet_penalties(lam1 * 1.01, lam2) < sd)
    assert np.all(priors.sigma_from_elasticnet_penalties(lam1, lam2 * 1.01) < sd)


def test_elasticnet_alpha_with_l1_ratio(centred_problem):
    X, y = centred_problem
    n, sigma, noise, rho = len(y), 0.03, 0.8, 0.6  # small enough for exact zeros
    # The default and l1_ratio=0 are the ridge case as before; l1_ratio=1 is the lasso.
    assert priors.elasticnet_alpha_from_sigma(sigma, noise, n, l1_ratio=0.0) == (
        priors.elasticnet_alpha_from_sigma(sigma, noise, n)
    )
    assert priors.elasticnet_alpha_from_sigma(sigma, noise, n, l1_ratio=1.0) == pytest.approx(
        priors.lasso_alpha_from_sigma(sigma, noise, n), rel=1e-15
    )
    alpha = priors.elasticnet_alpha_from_sigma(sigma, noise, n, l1_ratio=rho)
    lam1, lam2 = priors.elasticnet_penalties_from_sigma(sigma, rho)
    assert n * alpha / noise**2 == pytest.approx(lam1 + lam2, rel=1e-14)
    fit = ElasticNet(alpha=alpha, l1_ratio=rho, tol=1e-14, max_iter=10**6).fit(X, y)
    # The optimum of Σ(y − ŷ)²/(2σ_n²) + λ1‖w‖₁ + ½λ2‖w‖²: Xᵀr/σ_n² − λ2 w = λ1 sign(w) on the support.
    pull = X.T @ (y - fit.intercept_ - X @ fit.coef_) / noise**2 - lam2 * fit.coef_
    on = fit.coef_ != 0
    assert np.any(on) and np.any(~on)
    np.testing.assert_allclose(pull[on], lam1 * np.sign(fit.coef_[on]), rtol=1e-8)
    assert np.all(np.abs(pull[~on]) <= lam1)


def test_logistic_elasticnet_C(centred_problem):
    X, y = centred_problem
    labels = (y > np.median(y)).astype(int)
    sigma, rho = 0.4, 0.5
    assert priors.logistic_elasticnet_C_from_sigma(sigma, 0.0) == pytest.approx(
        priors.logistic_C_from_sigma(sigma), rel=1e-15
    )
    assert priors.logistic_elasticnet_C_from_sigma(sigma, 1.0) == pytest.approx(
        priors.logistic_l1_C_from_sigma(sigma), rel=1e-15
    )
    C = priors.logistic_elasticnet_C_from_sigma(sigma, rho)
    lam1, lam2 = priors.elasticnet_penalties_from_sigma(sigma, rho)
    assert (rho / C, (1 - rho) / C) == pytest.approx((lam1, lam2), rel=1e-14)
    fit = LogisticRegression(C=C, l1_ratio=rho, solver="saga", tol=1e-12, max_iter=10**6).fit(X, labels)
    p = np.exp(log_expit(fit.intercept_[0] + X @ fit.coef_[0]))
    pull = X.T @ (labels - p) - lam2 * fit.coef_[0]
    on = fit.coef_[0] != 0
    assert np.any(on)
    np.testing.assert_allclose(pull[on], lam1 * np.sign(fit.coef_[0][on]), rtol=1e-7)
    assert np.all(np.abs(pull[~on]) <= lam1 + 1e-9)


@pytest.mark.parametrize(
    ("forward", "backward", "extra"),
    [
        (priors.laplace_scale_from_sigma, priors.sigma_from_laplace_scale, {}),
        (priors.lasso_alpha_from_sigma, priors.sigma_from_lasso_alpha, {"noise_sigma": 1.3, "n_samples": 17}),
        (priors.logistic_l1_C_from_sigma, priors.sigma_from_logistic_l1_C, {}),
        *[
            (
                priors.elasticnet_alpha_from_sigma,
                priors.sigma_from_elasticnet_alpha,
                {"noise_sigma": 1.3, "n_samples": 17, "l1_ratio": rho},
            )
            for rho in (0.0, 0.3, 1.0)
        ],
        *[
            (
                priors.logistic_elasticnet_C_from_sigma,
                priors.sigma_from_logistic_elasticnet_C,
                {"l1_ratio": rho},
            )
            for rho in (0.0, 0.7, 1.0)
        ],
    ],
)
def test_new_round_trips_and_monotone(forward, backward, extra):
    sigmas = np.array([1e-3, 0.1, 1.0, 7.5, 1e3])
    penalties = forward(sigmas, **extra)
    np.testing.assert_allclose(backward(penalties, **extra), sigmas, rtol=1e-12)
    assert backward(forward(2.5, **extra), **extra) == pytest.approx(2.5, rel=1e-13)
    assert isinstance(forward(2.5, **extra), float)
    direction = np.sign(np.diff(penalties))
    assert np.all(direction == direction[0])


def test_elasticnet_penalties_broadcast_sigma_and_l1_ratio():
    lam1, lam2 = priors.elasticnet_penalties_from_sigma(np.array([0.5, 1.0, 2.0]), np.array([0.0, 0.5, 1.0]))
    for s, r, a, b in zip([0.5, 1.0, 2.0], [0.0, 0.5, 1.0], lam1, lam2, strict=True):
        assert (a, b) == pytest.approx(priors.elasticnet_penalties_from_sigma(s, r), rel=1e-15)
    lam1, lam2 = priors.elasticnet_penalties_from_sigma(np.array([0.5, 2.0]), 0.3)
    assert lam1.shape == lam2.shape == (2,)


@pytest.mark.parametrize("bad", [-0.1, 1.5, np.nan])
def test_l1_ratio_outside_zero_one_is_refused(bad):
    with pytest.raises(ValueError, match="'l1_ratio' argument must be a number in \\[0, 1\\]"):
        priors.elasticnet_penalties_from_sigma(1.0, bad)
    with pytest.raises(ValueError, match="'l1_ratio'"):
        priors.logistic_elasticnet_C_from_sigma(1.0, bad)


def test_bad_elasticnet_penalties_are_refused():
    for lam1, lam2 in [(0.0, 0.0), (-1.0, 1.0), (1.0, np.inf)]:
        with pytest.raises(ValueError, match="'lam1' and 'lam2'"):
            priors.sigma_from_elasticnet_penalties(lam1, lam2)
    with pytest.raises(ValueError, match="'prior_sigma'"):
        priors.elasticnet_penalties_from_sigma(0.0, 0.5)

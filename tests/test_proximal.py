"""The L1 MAP solver of stats/proximal.py against scikit-learn's lasso, elastic net and L1 logistic fits.

Each smooth objective is written here in numpy (the likelihood and any L2 part, with an unpenalised
intercept first); the L1 part is the solver's. The twins' objectives, rescaled to ours:

- ``Lasso(alpha)``: ``½‖y − b − Xw‖²/σ_n² + Σ|w_j|/b_prior`` with ``alpha = σ_n²/(n b_prior)``;
- ``ElasticNet(alpha, l1_ratio=ρ)``: ``λ1 = nαρ/σ_n²``, ``λ2 = nα(1−ρ)/σ_n²``;
- ``LogisticRegression(C, l1_ratio=ρ)``: ``Σ logloss + (ρ‖w‖₁ + ½(1−ρ)‖w‖²)/C``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.special import expit
from sklearn.linear_model import ElasticNet, Lasso, LogisticRegression

from bayesreg.stats.proximal import l1_certificate, minimize_l1


def gaussian_objective(X, y, noise_sigma, l2=0.0):
    """``½‖y − b − Xw‖²/σ_n² + ½ λ2 ‖w‖²`` of ``x = (b, w)``."""
    A = np.column_stack([np.ones(len(y)), X])
    ridge = np.diag(np.r_[0.0, np.full(X.shape[1], l2)])
    hess = A.T @ A / noise_sigma**2 + ridge

    def objective(x):
        r = y - A @ x
        return 0.5 * r @ r / noise_sigma**2 + 0.5 * x @ ridge @ x, -A.T @ r / noise_sigma**2 + ridge @ x, hess

    return objective


def logistic_objective(X, y, l2=0.0):
    """``Σ logloss(b + Xw) + ½ λ2 ‖w‖²`` of ``x = (b, w)``."""
    A = np.column_stack([np.ones(len(y)), X])
    ridge = np.diag(np.r_[0.0, np.full(X.shape[1], l2)])

    def objective(x):
        eta = A @ x
        p = expit(eta)
        value = np.sum(np.logaddexp(0.0, eta) - y * eta) + 0.5 * x @ ridge @ x
        return value, A.T @ (p - y) + ridge @ x, (A * (p * (1 - p))[:, None]).T @ A + ridge

    return objective


def l1_weights(p, weight):
    return np.r_[0.0, np.broadcast_to(weight, (p,))]


def assert_same_fit(result, coef, intercept, tol):
    """Coefficients and intercept within ``tol`` (relative to the largest), and the same exact zeros."""
    assert result.converged, result.message
    scale = max(1.0, np.max(np.abs(coef)))
    np.testing.assert_allclose(result.x[1:], coef, rtol=0, atol=tol * scale)
    assert result.x[0] == pytest.approx(intercept, rel=tol, abs=tol)
    np.testing.assert_array_equal(result.x[1:] == 0, coef == 0)


@pytest.fixture(scope="module")
def sparse_problem():
    """60 rows, 12 features, half of them inactive: the lasso zeroes some exactly."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 12))
    coef = np.r_[[2.0, -1.5, 1.0, 0.5, -0.3, 0.2], np.zeros(6)]
    return X, 1.5 + X @ coef + rng.normal(scale=1.0, size=60)


def lasso_twin(X, y, alpha):
    return Lasso(alpha=alpha, tol=1e-14, max_iter=10**6).fit(X, y)


@pytest.mark.parametrize("prior_b", [0.05, 0.5, 5.0])
def test_lasso_on_diabetes(diabetes, prior_b):
    X, y = diabetes[0].to_numpy(), diabetes[1].to_numpy()
    n, p = X.shape
    noise = 54.0
    result = minimize_l1(gaussian_objective(X, y, noise), np.zeros(p + 1), l1_weights(p, 1 / prior_b))
    twin = lasso_twin(X, y, alpha=noise**2 / (n * prior_b))
    assert_same_fit(result, twin.coef_, twin.intercept_, tol=1e-6)
    # Polished on the support: the KKT conditions hold to rounding, far below the default tol.
    assert result.kkt_violation < 1e-12
    assert result.support[0] and np.array_equal(result.support[1:], twin.coef_ != 0)


def test_lasso_with_exact_zeros(sparse_problem):
    X, y = sparse_problem
    n, p = X.shape
    result = minimize_l1(gaussian_objective(X, y, 1.0), np.zeros(p + 1), l1_weights(p, 8.0))
    twin = lasso_twin(X, y, alpha=8.0 / n)
    assert 0 < np.sum(twin.coef_ == 0) < p
    assert_same_fit(result, twin.coef_, twin.intercept_, tol=1e-6)
    # Zeros are exact, not small: the polish keeps them at their centre.
    assert np.all(result.x[1:][twin.coef_ == 0] == 0.0)


def test_lasso_with_more_features_than_rows(wide_problem):
    # The Hessian of the smooth part is singular (81 coordinates, 30 rows): the solver shifts it,
    # and the certificate holds on the support, where it is positive definite.
    X, y = wide_problem
    n, p = X.shape
    result = minimize_l1(gaussian_objective(X, y, 0.5), np.zeros(p + 1), l1_weights(p, 20.0))
    twin = lasso_twin(X, y, alpha=0.25 * 20.0 / n)
    assert_same_fit(result, twin.coef_, twin.intercept_, tol=1e-6)
    assert np.sum(result.support) <= n


def test_lasso_with_per_feature_weights(diabetes):
    X, y = diabetes[0].to_numpy(), diabetes[1].to_numpy()
    n, p = X.shape
    noise = 54.0
    prior_b = np.linspace(0.05, 3.0, p)  # w_j = 1/b_j
    result = minimize_l1(gaussian_objective(X, y, noise), np.zeros(p + 1), l1_weights(p, 1 / prior_b))
    # Σ|w_j|/b_j with w_j = b_j v_j is Σ|v_j| on the columns X_j b_j: one alpha for all.
    twin = lasso_twin(X * prior_b, y, alpha=noise**2 / n)
    assert_same_fit(result, twin.coef_ * prior_b, twin.intercept_, tol=1e-6)


def test_lasso_with_a_centre(sparse_problem):
    X, y = sparse_problem
    n, p = X.shape
    centre = np.linspace(-1.0, 1.0, p)
    result = minimize_l1(
        gaussian_objective(X, y, 1.0), np.zeros(p + 1), l1_weights(p, 8.0), np.r_[0.0, centre]
    )
    twin = lasso_twin(X, y - X @ centre, alpha=8.0 / n)  # v = w − m
    assert 0 < np.sum(twin.coef_ == 0) < p
    assert result.converged, result.message
    np.testing.assert_allclose(result.x[1:], twin.coef_ + centre, rtol=0, atol=1e-6 * 2)
    assert result.x[0] == pytest.approx(twin.intercept_, abs=1e-6)
    # Shrunk exactly to the centre where the twin has its zeros.
    np.testing.assert_array_equal(result.x[1:] == centre, twin.coef_ == 0)


@pytest.mark.parametrize(("alpha", "l1_ratio"), [(0.5, 0.5), (2.0, 0.9), (0.1, 0.1)])
def test_elastic_net(diabetes, alpha, l1_ratio):
    X, y = diabetes[0].to_numpy(), diabetes[1].to_numpy()
    n, p = X.shape
    noise = 54.0
    lam1, lam2 = n * alpha * l1_ratio / noise**2, n * alpha * (1 - l1_ratio) / noise**2
    result = minimize_l1(gaussian_objective(X, y, noise, l2=lam2), np.zeros(p + 1), l1_weights(p, lam1))
    twin = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, tol=1e-14, max_iter=10**6).fit(X, y)
    assert_same_fit(result, twin.coef_, twin.intercept_, tol=1e-6)


def saga(X, y, C, l1_ratio):
    # SAGA is the only scikit-learn solver for an L1 logistic fit with an unpenalised intercept; on
    # breast cancer (569 x 30, standardised) it takes 1-2 s at tol=1e-12.
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a ConvergenceWarning would void the comparison
        return LogisticRegression(C=C, l1_ratio=l1_ratio, solver="saga", tol=1e-12, max_iter=10**6).fit(X, y)


@pytest.mark.parametrize(("C", "l1_ratio"), [(0.1, 1.0), (0.5, 0.5)])
def test_logistic_l1_and_elastic_net_on_breast_cancer(breast_cancer, C, l1_ratio):
    X, y = breast_cancer[0].to_numpy(), breast_cancer[1].to_numpy().astype(float)
    p = X.shape[1]
    objective = logistic_objective(X, y, l2=(1 - l1_ratio) / C)
    result = minimize_l1(objective, np.zeros(p + 1), l1_weights(p, l1_ratio / C))
    twin = saga(X, y, C, l1_ratio)
    assert 0 < np.sum(twin.coef_ == 0) < p
    assert_same_fit(result, twin.coef_[0], twin.intercept_[0], tol=1e-5)
    assert result.kkt_violation < 1e-12


def test_non_convex_smooth_part_with_a_free_noise_sd(sparse_problem):
    # x = (b, w, s) with σ_n = exp(s): f = n s + ½‖r‖² e^{−2s} is not convex far from the mode,
    # e.g. at the start s = −3 (the solver must shift its Hessian there).
    X, y = sparse_problem
    n, p = X.shape
    A = np.column_stack([np.ones(n), X])

    def objective(x):
        r, s = y - A @ x[:-1], x[-1]
        with np.errstate(over="ignore"):  # trial steps of the line search may go far
            rss, e = r @ r, np.exp(-2 * s)
        grad = np.r_[-A.T @ r * e, n - rss * e]
        hess = np.zeros((p + 2, p + 2))
        hess[:-1, :-1] = A.T @ A * e
        hess[:-1, -1] = hess[-1, :-1] = 2 * A.T @ r * e
        hess[-1, -1] = 2 * rss * e
        return n * s + 0.5 * rss * e, grad, hess

    start = np.r_[np.zeros(p + 1), -3.0]
    assert np.linalg.eigvalsh(objective(start + 0.5)[2])[0] < 0
    weight = np.r_[0.0, np.full(p, 8.0), 0.0]
    result = minimize_l1(objective, start, weight)
    assert result.converged, result.message
    # At the mode the noise sd is the residual rms and w is the lasso at that noise sd.
    noise = np.exp(result.x[-1])
    residual = y - A @ result.x[:-1]
    assert noise == pytest.approx(np.sqrt(residual @ residual / n), rel=1e-12)
    twin = lasso_twin(X, y, alpha=noise**2 * 8.0 / n)
    assert_same_fit(
        minimize_l1(gaussian_objective(X, y, noise), np.zeros(p + 1), l1_weights(p, 8.0)),
        twin.coef_,
        twin.intercept_,
        tol=1e-6,
    )
    np.testing.assert_allclose(result.x[1:-1], twin.coef_, rtol=0, atol=1e-6 * np.max(np.abs(twin.coef_)))


def test_inverse_hessian_is_that_of_the_support(sparse_problem):
    X, y = sparse_problem
    p = X.shape[1]
    result = minimize_l1(gaussian_objective(X, y, 1.0), np.zeros(p + 1), l1_weights(p, 8.0))
    support = result.support
    assert not support.all()
    A = np.column_stack([np.ones(len(y)), X])[:, support]
    np.testing.assert_allclose(result.inv_hess[np.ix_(support, support)], np.linalg.inv(A.T @ A), rtol=1e-10)
    assert np.all(result.inv_hess[~support] == 0) and np.all(result.inv_hess[:, ~support] == 0)


def test_too_few_iterations_are_not_certified(breast_cancer):
    X, y = breast_cancer[0].to_numpy(), breast_cancer[1].to_numpy().astype(float)
    p = X.shape[1]
    result = minimize_l1(logistic_objective(X, y), np.zeros(p + 1), l1_weights(p, 10.0), max_iter=2)
    assert not result.converged
    assert result.kkt_violation > 1e-10
    assert "max_iter=2" in result.message and "KKT" in result.message
    assert result.n_iterations >= 2


def test_a_point_that_is_not_optimal_is_not_certified(sparse_problem):
    X, y = sparse_problem
    p = X.shape[1]
    objective = gaussian_objective(X, y, 1.0)
    weight = l1_weights(p, 8.0)
    best = minimize_l1(objective, np.zeros(p + 1), weight)
    assert best.converged
    active = np.flatnonzero(best.x[1:])[0] + 1
    inactive = np.flatnonzero(best.x[1:] == 0)[0] + 1
    for j, move in [(active, 1e-6 * abs(best.x[active])), (inactive, 1e-6), (0, 1e-6)]:
        x = best.x.copy()
        x[j] += move
        _, grad, hess = objective(x)
        cert = l1_certificate(x, grad, hess, weight)
        assert not cert.converged and cert.kkt_violation > 1e-10
    # The start (all at the centre) violates the conditions of the centred coordinates.
    _, grad, hess = objective(np.zeros(p + 1))
    assert l1_certificate(np.zeros(p + 1), grad, hess, weight).kkt_violation > 1


def test_a_saddle_point_is_not_certified():
    # Zero gradient, but f = ½(x0² − x1²) has no minimum there.
    cert = l1_certificate([0.0, 0.0], [0.0, 0.0], np.diag([1.0, -1.0]), l1_weight=0.0)
    assert cert.kkt_violation == 0.0 and not cert.support_hessian_pd and not cert.converged
    assert np.isnan(cert.inv_hess).all()
    # With an L1 term on x1 that point is a kink (|g1| = 0 < w), the support is {x0}: a strict minimum.
    cert = l1_certificate([0.0, 0.0], [0.0, 0.0], np.diag([1.0, -1.0]), l1_weight=[0.0, 1.0])
    assert cert.converged
    np.testing.assert_array_equal(cert.inv_hess, [[1.0, 0.0], [0.0, 0.0]])


def test_a_flat_valley_is_not_certified_as_a_strict_minimum():
    # A duplicated column: the lasso minimum is a segment (any split of one coefficient between the
    # two copies with the same sign). The KKT conditions hold, but the Hessian on the support is
    # singular, which the certificate reports rather than a "strict" minimum.
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 6))
    X = np.column_stack([X, X[:, 0]])
    y = 2 * X[:, 0] + rng.normal(size=50)
    result = minimize_l1(gaussian_objective(X, y, 1.0), np.zeros(8), l1_weights(7, 5.0))
    assert result.kkt_violation < 1e-10
    assert not result.converged and "not unique" in result.message
    assert np.isnan(result.inv_hess).all()


def test_a_tied_coefficient_at_zero_in_a_flat_valley_is_not_certified():
    # f = ½(x1 + x2 − 3)², w = 1: every split of 2 between the two (both ≥ 0) is a minimum. At
    # (2, 0) the support Hessian [[1]] is fine, but x2 is tied (|g2| = w) and [[1, 1], [1, 1]] is
    # singular; with a third of the weight on x2 it is not tied and the minimum is strict.
    hess = np.ones((2, 2))
    tied = l1_certificate([2.0, 0.0], grad=[-1.0, -1.0], hess=hess, l1_weight=1.0)
    assert tied.kkt_violation == 0.0 and not tied.converged and not tied.support_hessian_pd
    assert np.isnan(tied.inv_hess).all()
    strict = l1_certificate([2.0, 0.0], grad=[-1.0, -1.0], hess=hess, l1_weight=[1.0, 3.0])
    assert strict.converged and strict.inv_hess[0, 0] == 1.0


def test_bad_weights_are_refused():
    def objective(x):
        return 0.5 * float(x @ x), x, np.eye(x.size)

    with pytest.raises(ValueError, match="l1_weight"):
        minimize_l1(objective, np.zeros(2), [1.0, -1.0])
    with pytest.raises(ValueError, match="center"):
        minimize_l1(objective, np.zeros(2), 1.0, center=[np.nan, 0.0])

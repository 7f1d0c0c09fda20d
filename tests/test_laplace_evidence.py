"""Laplace evidence of the logistic model against sklearn, bayesreg's PyMC MAP and importance sampling."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.special import log_expit, logsumexp
from sklearn.linear_model import LogisticRegression

from bayesreg import BayesianLogisticRegression
from bayesreg.stats.laplace import logistic_empirical_bayes, logistic_laplace_evidence


def problem(n: int, seed: int = 1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    y = (X @ [1.0, -0.7] + 0.3 + rng.logistic(size=n) > 0).astype(float)
    return X, y


def importance_sampling_log_evidence(X, y, prior_sigmas, proposal_fit, n_draws=40_000, seed=2):
    """log Z(σ) for each σ from one multivariate-t proposal (df 4, scale 1.5² × the Laplace covariance).

    The likelihood is computed once; only the prior term changes with σ. Returns log Ẑ and the
    delta-method standard error of log Ẑ, sd(w) / (mean(w) √S), per σ.
    """
    mean = np.r_[proposal_fit.coef, proposal_fit.intercept]
    proposal = stats.multivariate_t(loc=mean, shape=1.5**2 * proposal_fit.cov, df=4, seed=seed)
    theta = proposal.rvs(n_draws)
    eta = theta[:, :2] @ X.T + theta[:, 2:3]
    log_lik = (y * log_expit(eta) + (1 - y) * log_expit(-eta)).sum(axis=1)
    log_q = proposal.logpdf(theta)
    out, ses = [], []
    for sigma in np.atleast_1d(prior_sigmas):
        log_w = log_lik + stats.norm.logpdf(theta[:, :2], scale=sigma).sum(axis=1) - log_q
        w = np.exp(log_w - log_w.max())
        out.append(logsumexp(log_w) - np.log(n_draws))
        ses.append(w.std() / w.mean() / np.sqrt(n_draws))
    return np.array(out), np.array(ses)


def test_map_and_covariance_match_sklearn_and_bayesreg_map():
    X, y = problem(60)
    lap = logistic_laplace_evidence(X, y, prior_sigma=0.8)
    lr = LogisticRegression(C=0.64, l1_ratio=0.0, solver="newton-cholesky", tol=1e-12, max_iter=1000).fit(
        X, y
    )
    np.testing.assert_allclose(lap.coef, lr.coef_[0], atol=1e-8)
    assert lap.intercept == pytest.approx(lr.intercept_[0], abs=1e-8)
    est = BayesianLogisticRegression(prior_sigma=0.8, method="map").fit(X, y)
    # bayesreg's location is (coef, centred intercept): a unit-determinant shear of (coef, intercept).
    np.testing.assert_allclose(
        np.linalg.slogdet(est._map_result.location_cov)[1], np.linalg.slogdet(lap.cov)[1], rtol=1e-7
    )
    np.testing.assert_allclose(est._map_result.location_cov[:2, :2], lap.cov[:2, :2], rtol=1e-6)


def test_laplace_evidence_within_is_error_plus_o_one_over_n():
    """Laplace's error in log Z is O(1/n). On this problem n·|error| is about 3 (measured with 200,000
    importance draws for n = 30, 100, 400), so the margin is 5/n on top of 4 IS standard errors, and
    the error must shrink at least twofold when n grows fourfold."""
    errors = {}
    for n in (40, 160):
        X, y = problem(n)
        lap = logistic_laplace_evidence(X, y, prior_sigma=1.0)
        log_z, se = importance_sampling_log_evidence(X, y, [1.0], lap)
        assert se[0] < 0.01
        errors[n] = lap.log_evidence - log_z[0]
        assert abs(errors[n]) <= 4 * se[0] + 5.0 / n
    assert abs(errors[160]) < abs(errors[40]) / 2


def test_empirical_bayes_sigma_is_near_optimal_under_is_evidence():
    """The σ̂ maximising the Laplace evidence should lose almost no true evidence: under the IS
    estimate, log Z(σ̂) is within 0.02 nats (plus 4 se) of the best σ on a fine grid."""
    X, y = problem(60, seed=3)
    fit = logistic_empirical_bayes(X, y)
    assert not np.isclose(fit.prior_sigma, [1e-3, 1e3]).any()
    grid = fit.prior_sigma * np.exp(np.linspace(-1.2, 1.2, 25))
    log_z, se = importance_sampling_log_evidence(X, y, [fit.prior_sigma, *grid], fit)
    assert log_z[1:].max() - log_z[0] <= 0.02 + 4 * se.max()
    # and the Laplace value at σ̂ itself is within the O(1/n) margin of the IS value there
    assert abs(fit.log_evidence - log_z[0]) <= 4 * se[0] + 5.0 / 60

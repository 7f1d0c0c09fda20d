"""BayesianLogisticRegression against LogisticRegression(C=σ²) and against its own posterior."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.special import expit, log_expit
from sklearn.linear_model import LogisticRegression

from bayesreg import BayesianLogisticRegression, ConvergenceWarning, compare_with_ridge


def test_map_equals_sklearn_on_breast_cancer(breast_cancer):
    X, y = breast_cancer
    est = BayesianLogisticRegression(1.0, method="map").fit(X, y)
    ref = LogisticRegression(C=1.0, l1_ratio=0.0, solver="newton-cholesky", tol=1e-12, max_iter=1000).fit(
        X, y
    )
    assert est.map_converged_
    np.testing.assert_allclose(est.map_coef_, ref.coef_[0], rtol=0, atol=1e-5)
    assert est.map_intercept_ == pytest.approx(ref.intercept_[0], abs=1e-5)
    # sklearn's default solver (lbfgs) lands on the same point once its tolerance is tightened.
    lbfgs = LogisticRegression(C=1.0, tol=1e-10, max_iter=10_000).fit(X, y)
    np.testing.assert_allclose(est.map_coef_, lbfgs.coef_[0], rtol=0, atol=1e-5)


def test_ridge_equivalent_is_the_matching_sklearn_estimator():
    ref = BayesianLogisticRegression(prior_sigma=3.0, fit_intercept=False).ridge_equivalent()
    assert isinstance(ref, LogisticRegression)
    assert ref.C == 9.0
    assert ref.l1_ratio == 0.0
    assert ref.penalty == "deprecated"  # the deprecated argument is never set
    assert ref.fit_intercept is False


def test_posterior_mean_differs_from_map_and_comparison_shows_it(breast_cancer_mcmc, breast_cancer):
    X, y = breast_cancer
    est = breast_cancer_mcmc
    assert est.convergence_.converged
    cmp = compare_with_ridge(est, X, y)
    assert cmp.agrees  # MAP == ridge, and the sampler converged
    assert not cmp.posterior_mean_should_equal_ridge
    gap = cmp.table["posterior_minus_map"]
    # The gap is real, not Monte Carlo noise: many coefficients are > 4 MCSE from the MAP.
    assert (np.abs(gap / cmp.table["mcse"]) > 4).sum() >= 10
    np.testing.assert_allclose(gap, cmp.table["posterior_mean"] - cmp.table["map"], rtol=1e-12)


def test_predict_proba_averages_over_draws(breast_cancer_mcmc, breast_cancer):
    X, y = breast_cancer
    est = breast_cancer_mcmc
    proba = est.predict_proba(X.iloc[:6])
    post = est.idata_["posterior"]
    coef = post["coef"].values.reshape(-1, X.shape[1])
    intercept = post["intercept"].values.ravel()
    expected = expit(intercept[:, None] + coef @ X.iloc[:6].to_numpy().T).mean(0)
    np.testing.assert_allclose(proba[:, 1], expected, rtol=1e-12)
    np.testing.assert_allclose(proba.sum(1), 1.0)
    assert est.score(X, y) > 0.95
    np.testing.assert_array_equal(est.predict(X.iloc[:6]), est.classes_[(proba[:, 1] > 0.5).astype(int)])
    assert np.all(np.sign(est.decision_function(X.iloc[:6])) == np.sign(proba[:, 1] - 0.5))


def test_pointwise_log_likelihood_is_the_bernoulli_log_pmf(breast_cancer_mcmc, breast_cancer):
    X, y = breast_cancer
    idata = breast_cancer_mcmc.idata_
    coef = idata["posterior"]["coef"].values[:, :3].reshape(-1, X.shape[1])  # 3 draws per chain
    intercept = idata["posterior"]["intercept"].values[:, :3].ravel()
    eta = intercept[:, None] + coef @ X.to_numpy().T
    event = y.to_numpy() == breast_cancer_mcmc.classes_[1]
    # log p(y | eta) = -log(1 + exp(-eta)) for the event, -log(1 + exp(eta)) otherwise.
    expected = np.where(event, -np.logaddexp(0.0, -eta), -np.logaddexp(0.0, eta))
    got = idata["log_likelihood"]["y"].values[:, :3].reshape(expected.shape)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


def test_log_expit_in_place_is_scipys_log_expit_to_two_ulp():
    from bayesreg.estimators.logistic import _log_expit_in_place

    # Far tails (exp underflows, -z is the answer), the crossover near 0, and signed zeros.
    z = np.concatenate([np.linspace(-800, 800, 20_001), np.linspace(-40, 40, 10_001), [0.0, -0.0, 1e-300]])
    got = _log_expit_in_place(z.copy())
    # The same formula through numpy's exp and log1p rather than scipy's: each within an ulp or so.
    np.testing.assert_allclose(got, log_expit(z), rtol=2 * np.finfo(float).eps, atol=0)


def test_any_two_labels(breast_cancer):
    X, y = breast_cancer
    labels = np.where(y == 1, "benign", "malignant")
    est = BayesianLogisticRegression(1.0, method="map").fit(X, labels)
    ref = BayesianLogisticRegression(1.0, method="map").fit(X, (labels == "malignant").astype(int))
    assert est.classes_.tolist() == ["benign", "malignant"]
    np.testing.assert_allclose(est.map_coef_, ref.map_coef_, rtol=1e-12)
    assert set(est.predict(X.iloc[:20])) <= {"benign", "malignant"}


@pytest.fixture(scope="module")
def separable():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)  # a line separates the classes perfectly
    return X, y


def test_separable_data_unpenalised_fit_diverges(separable):
    X, y = separable
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns that it did not converge: that is the point
        fit = LogisticRegression(C=np.inf, max_iter=1000).fit(X, y)
    w, b = fit.coef_[0], fit.intercept_[0]
    assert np.all((X @ w + b > 0) == (y == 1))  # it separates the data...

    def logloss(scale):
        eta = scale * (X @ w + b)
        return -np.sum(y * log_expit(eta) + (1 - y) * log_expit(-eta))

    # ...so scaling it up always lowers the loss: no finite optimum exists, only a run-off.
    losses = [logloss(t) for t in (0.01, 0.1, 1.0)]
    assert losses[0] > losses[1] > losses[2]
    assert np.linalg.norm(w) > 50


def test_separable_data_map_and_posterior_stay_finite(separable):
    X, y = separable
    est = BayesianLogisticRegression(2.0, draws=500, tune=500, random_state=5, progressbar=False).fit(X, y)
    ref = est.ridge_equivalent().fit(X, y)
    assert est.map_converged_
    np.testing.assert_allclose(est.map_coef_, ref.coef_[0], atol=1e-5)
    assert np.all(np.isfinite(est.coef_)) and np.linalg.norm(est.coef_) < 20
    draws = est.idata_["posterior"]["coef"].values
    assert np.all(np.isfinite(draws))
    # The prior bounds the posterior: no draw is wildly beyond a few prior sds.
    assert np.abs(draws).max() < 10 * 2.0
    assert est.convergence_.converged


def test_same_seed_same_draws(breast_cancer):
    X, y = breast_cancer

    def draws(seed):
        est = BayesianLogisticRegression(
            1.0, draws=30, tune=30, chains=2, random_state=seed, progressbar=False
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return est.fit(X.iloc[:, :5], y).idata_["posterior"]["coef"].values

    np.testing.assert_array_equal(draws(1), draws(1))
    assert not np.array_equal(draws(1), draws(2))


def test_decision_function_is_the_linear_predictor_and_stays_finite(breast_cancer):
    # With σ = 10 many rows have probabilities that round to 1; log(p) − log1p(−p) gave inf there.
    X, y = breast_cancer
    est = BayesianLogisticRegression(10.0, method="map").fit(X, y)
    twin = est.ridge_equivalent().fit(X, y)
    scores = est.decision_function(X)
    assert np.all(np.isfinite(scores))
    # The MAP equals the twin to ~1e-9 relative (test_map_equals_sklearn...), so the linear
    # predictors agree to that times |X||w|.
    np.testing.assert_allclose(scores, twin.decision_function(X), rtol=1e-6, atol=1e-6)


def test_grid_search_scores_roc_auc(breast_cancer):
    from sklearn.model_selection import GridSearchCV

    X, y = breast_cancer
    search = GridSearchCV(
        BayesianLogisticRegression(method="map"), {"prior_sigma": [1.0, 10.0]}, scoring="roc_auc", cv=3
    ).fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores)) and np.all(scores > 0.9)


def test_decision_function_of_draws_is_the_posterior_mean_log_odds(breast_cancer_mcmc, breast_cancer):
    X, _ = breast_cancer
    est = breast_cancer_mcmc
    post = est.idata_["posterior"]
    coef = post["coef"].values.reshape(-1, X.shape[1])
    intercept = post["intercept"].values.reshape(-1)
    expected = (intercept[:, None] + coef @ X.to_numpy().T).mean(axis=0)
    np.testing.assert_allclose(est.decision_function(X), expected, rtol=1e-10)

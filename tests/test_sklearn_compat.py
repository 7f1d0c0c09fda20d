"""The scikit-learn estimator contract, including sklearn's own estimator checks for method="map"."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from bayesreg import BayesianLinearRegression, BayesianLogisticRegression


# Every check passes for method="map"; none is marked as an expected failure.
@parametrize_with_checks(
    [
        BayesianLinearRegression(method="map", noise_sigma=1.0),
        BayesianLinearRegression(method="map"),
        BayesianLogisticRegression(method="map"),
    ]
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_get_set_params_and_clone():
    est = BayesianLinearRegression(prior_sigma=2.0, noise_sigma=0.5, sample_kwargs={"target_accept": 0.9})
    params = est.get_params()
    assert params["prior_sigma"] == 2.0 and params["noise_sigma"] == 0.5
    assert set(params) == {
        "prior_sigma", "noise_sigma", "noise_prior_sigma", "fit_intercept", "method", "draws",
        "tune", "chains", "random_state", "progressbar", "sample_kwargs", "compute_log_likelihood",
        "prior_sigma_prior",
    }  # fmt: skip
    est.set_params(prior_sigma=3.0)
    twin = clone(est)
    assert twin.prior_sigma == 3.0 and twin is not est
    assert twin.sample_kwargs == {"target_accept": 0.9}


def test_pipeline_with_scaler(diabetes):
    X, y = diabetes
    raw = X * 7.0 + 3.0  # unscaled columns
    pipe = make_pipeline(StandardScaler(), BayesianLinearRegression(10.0, noise_sigma=54.0, method="map"))
    pipe.fit(raw, y)
    direct = BayesianLinearRegression(10.0, noise_sigma=54.0, method="map").fit(X, y)
    np.testing.assert_allclose(pipe[-1].coef_, direct.coef_, rtol=1e-8)
    np.testing.assert_allclose(pipe.predict(raw.iloc[:5]), direct.predict(X.iloc[:5]), rtol=1e-8)


def test_grid_search_over_prior_sigma(diabetes):
    X, y = diabetes
    search = GridSearchCV(
        BayesianLinearRegression(noise_sigma=54.0, method="map"),
        {"prior_sigma": [0.1, 1.0, 10.0, 100.0]},
        cv=5,
        scoring="neg_mean_squared_error",
    ).fit(X, y)
    # Same folds and penalties as RidgeCV-by-grid: the MAP is ridge, so the scores must match.
    from sklearn.linear_model import Ridge

    ridge_search = GridSearchCV(
        Ridge(),
        {"alpha": [54.0**2 / s**2 for s in [0.1, 1.0, 10.0, 100.0]]},
        cv=5,
        scoring="neg_mean_squared_error",
    ).fit(X, y)
    np.testing.assert_allclose(
        search.cv_results_["mean_test_score"], ridge_search.cv_results_["mean_test_score"], rtol=1e-8
    )
    assert search.best_params_["prior_sigma"] == 54.0 / np.sqrt(ridge_search.best_params_["alpha"])


def test_logistic_in_a_pipeline(breast_cancer):
    X, y = breast_cancer
    pipe = make_pipeline(StandardScaler(), BayesianLogisticRegression(1.0, method="map")).fit(X * 3.0, y)
    assert pipe.score(X * 3.0, y) > 0.95
    assert pipe.predict_proba(X.iloc[:3] * 3.0).shape == (3, 2)


@pytest.mark.parametrize("est", [BayesianLinearRegression(), BayesianLogisticRegression()])
def test_init_stores_parameters_unchanged(est):
    assert est.get_params()["prior_sigma"] == 1.0
    assert est.get_params()["method"] == "mcmc"

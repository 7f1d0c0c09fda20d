"""Every prior option has its penalised twin, verified exactly (issue 12).

MAP and closed-form posteriors against scikit-learn's solutions: per-feature scales (ridge on
rescaled columns, ARDRegression), prior means (ridge on y − Xm), Laplace (Lasso and L1 logistic
regression, with the same exact zeros), elastic net, flat, intercept priors, noise priors; then the
comparison's words, the errors for bad values, and saved fits.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.linear_model import (
    ARDRegression,
    ElasticNet,
    Lasso,
    LinearRegression,
    LogisticRegression,
    Ridge,
)

from bayesreg import BayesianLinearRegression, BayesianLogisticRegression, compare_with_ridge
from bayesreg.estimators.twins import RescaledTwin

NOISE = 54.0
# The MAP is certified to a relative Newton step (or KKT residual) of 1e-9/1e-10 and the twins
# solve to tol 1e-12 or tighter: 1e-6 (relative to the largest coefficient) leaves a wide margin
# over both, and still catches any wrong conversion (those are off by whole percents).
MAP_RTOL = 1e-6
# saga, the only sklearn solver for L1 logistic regression with a free intercept, stops at
# tol=1e-10 per epoch, about 1e-8 from the optimum here.
LOGISTIC_TOL = 1e-5


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    return (X - X.mean()) / X.std(ddof=0), y.to_numpy()


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    X = X[:, :8]
    return (X - X.mean(axis=0)) / X.std(axis=0), y


def _close(a, b, rtol):
    scale = max(1.0, float(np.max(np.abs(b))))
    assert np.max(np.abs(np.asarray(a) - np.asarray(b))) <= rtol * scale


SIGMAS = np.array([0.5, 1.0, 2.0, 4.0, 8.0, 0.25, 3.0, 6.0, 1.5, 2.5])


# --- 1. per-feature scales ---------------------------------------------------------------------


@pytest.mark.parametrize("method", ["map", "exact"])
def test_per_feature_scales_are_ridge_on_rescaled_columns(diabetes, method):
    X, y = diabetes
    est = BayesianLinearRegression(SIGMAS, noise_sigma=NOISE, method=method, random_state=0).fit(X, y)
    twin = Ridge(alpha=NOISE**2, solver="cholesky").fit(X * SIGMAS, y)
    _close(est.map_coef_, twin.coef_ * SIGMAS, MAP_RTOL)
    _close([est.map_intercept_], [twin.intercept_], MAP_RTOL)
    np.testing.assert_array_equal(est.prior_sigma_, SIGMAS)
    fitted = est.ridge_equivalent().fit(X, y)
    assert isinstance(fitted, RescaledTwin)
    _close(est.map_coef_, fitted.coef_, MAP_RTOL)


def test_per_feature_scales_by_name_follow_the_columns(diabetes):
    X, y = diabetes
    by_name = dict(zip(X.columns[::-1], SIGMAS[::-1], strict=True))  # another order
    a = BayesianLinearRegression(by_name, noise_sigma=NOISE, method="exact").fit(X, y)
    b = BayesianLinearRegression(SIGMAS, noise_sigma=NOISE, method="exact").fit(X, y)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-13)
    c = BayesianLinearRegression(pd.Series(by_name), noise_sigma=NOISE, method="exact").fit(X, y)
    np.testing.assert_allclose(c.coef_, b.coef_, rtol=1e-13)


def test_ard_posterior_is_reproduced_at_its_fitted_precisions():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(200, 5))
    y = X @ [2.0, -1.0, 0.5, 3.0, 1.0] + rng.normal(scale=0.7, size=200)
    ard = ARDRegression(tol=1e-12, max_iter=10_000).fit(X, y)
    assert ard.lambda_.size == 5 and np.all(ard.lambda_ < ard.threshold_lambda)  # nothing pruned
    est = BayesianLinearRegression(
        1 / np.sqrt(ard.lambda_), noise_sigma=1 / np.sqrt(ard.alpha_), method="exact"
    ).fit(X, y)
    np.testing.assert_allclose(est.coef_, ard.coef_, rtol=1e-8)
    np.testing.assert_allclose(est.exact_posterior_.coef_cov, ard.sigma_, rtol=1e-8)


def test_logistic_per_feature_scales_are_C1_on_rescaled_columns(cancer):
    X, y = cancer
    sigmas = SIGMAS[:8]
    est = BayesianLogisticRegression(sigmas, method="map").fit(X, y)
    twin = LogisticRegression(C=1.0, l1_ratio=0, solver="newton-cholesky", tol=1e-12).fit(X * sigmas, y)
    _close(est.map_coef_, twin.coef_.ravel() * sigmas, LOGISTIC_TOL)
    _close(est.ridge_equivalent().fit(X, y).coef_, est.map_coef_, LOGISTIC_TOL)


# --- 2. prior means ----------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["map", "exact"])
def test_prior_mean_is_ridge_on_the_shifted_target(diabetes, method):
    X, y = diabetes
    m = np.linspace(-5, 5, 10)
    est = BayesianLinearRegression(3.0, prior_mean=m, noise_sigma=NOISE, method=method).fit(X, y)
    twin = Ridge(alpha=NOISE**2 / 9.0, solver="cholesky").fit(X, y - X.to_numpy() @ m)
    _close(est.coef_, m + twin.coef_, MAP_RTOL)
    _close(est.ridge_equivalent().fit(X, y).coef_, est.map_coef_, MAP_RTOL)
    assert "y − Xm" in est.penalty().note


def test_intercept_prior_is_one_more_penalised_column(diabetes):
    X, y = diabetes
    est = BayesianLinearRegression(
        3.0, intercept_prior_sigma=1.0, intercept_prior_mean=100.0, noise_sigma=NOISE, method="exact"
    ).fit(X, y)
    design = np.column_stack([X.to_numpy() * 3.0, np.ones(len(y))])
    v = Ridge(alpha=NOISE**2, fit_intercept=False, solver="cholesky").fit(design, y - 100.0).coef_
    _close(est.coef_, 3.0 * v[:-1], MAP_RTOL)
    assert est.intercept_ == pytest.approx(100.0 + v[-1], rel=1e-10)
    assert 100.0 < est.intercept_ < y.mean()  # pulled from ȳ = 152 toward the prior mean


# --- 3. Laplace and elastic net ------------------------------------------------------------------


@pytest.mark.parametrize("sigma", [0.5, 3.0, 20.0])
def test_laplace_map_is_the_lasso_with_its_exact_zeros(diabetes, sigma):
    X, y = diabetes
    est = BayesianLinearRegression(sigma, prior="laplace", noise_sigma=NOISE, method="map").fit(X, y)
    alpha = NOISE**2 / (len(y) * sigma / np.sqrt(2))
    lasso = Lasso(alpha=alpha, tol=1e-14, max_iter=10**6).fit(X, y)
    assert est.map_converged_
    _close(est.map_coef_, lasso.coef_, MAP_RTOL)
    np.testing.assert_array_equal(est.map_coef_ == 0, lasso.coef_ == 0)
    pen = est.penalty()
    assert isinstance(pen.twin, Lasso) and pen.value == pytest.approx(alpha, rel=1e-14)


def test_laplace_with_per_feature_scales_and_mean(diabetes):
    X, y = diabetes
    m = np.full(10, 0.5)
    est = BayesianLinearRegression(SIGMAS, prior="laplace", prior_mean=m, noise_sigma=NOISE, method="map")
    est.fit(X, y)
    b = SIGMAS / np.sqrt(2)
    v = Lasso(alpha=NOISE**2 / len(y), tol=1e-14, max_iter=10**6).fit(X * b, y - X.to_numpy() @ m).coef_
    _close(est.map_coef_, m + b * v, MAP_RTOL)
    assert np.any(est.map_coef_ == 0.5)  # shrunk exactly onto the prior mean


def test_elastic_net_map_is_sklearns_elastic_net(diabetes):
    X, y = diabetes
    est = BayesianLinearRegression(
        3.0, prior="elasticnet", l1_ratio=0.3, noise_sigma=NOISE, method="map"
    ).fit(X, y)
    twin = est.ridge_equivalent()
    assert isinstance(twin, ElasticNet) and twin.l1_ratio == 0.3
    _close(est.map_coef_, twin.fit(X, y).coef_, MAP_RTOL)
    np.testing.assert_array_equal(est.map_coef_ == 0, twin.coef_ == 0)


def test_logistic_laplace_and_elastic_net_maps(cancer):
    X, y = cancer
    lap = BayesianLogisticRegression(1.0, prior="laplace", method="map").fit(X, y)
    ref = LogisticRegression(C=1 / np.sqrt(2), l1_ratio=1.0, solver="saga", tol=1e-10, max_iter=10**6)
    ref.fit(X, y)
    _close(lap.map_coef_, ref.coef_.ravel(), LOGISTIC_TOL)
    assert np.any(lap.map_coef_ == 0)
    np.testing.assert_array_equal(lap.map_coef_ == 0, np.abs(ref.coef_.ravel()) < 1e-6)
    enet = BayesianLogisticRegression(1.0, prior="elasticnet", l1_ratio=0.5, method="map").fit(X, y)
    _close(enet.map_coef_, enet.ridge_equivalent().fit(X, y).coef_.ravel(), LOGISTIC_TOL)


def test_flat_prior_is_least_squares_and_maximum_likelihood(diabetes, cancer):
    X, y = diabetes
    est = BayesianLinearRegression(prior="flat", noise_sigma=NOISE, method="exact").fit(X, y)
    _close(est.coef_, LinearRegression().fit(X, y).coef_, 1e-10)
    assert isinstance(est.ridge_equivalent(), LinearRegression)
    Xc, yc = cancer
    log = BayesianLogisticRegression(prior="flat", method="map").fit(Xc[:, :3], yc)
    mle = LogisticRegression(C=np.inf, solver="newton-cholesky", tol=1e-12).fit(Xc[:, :3], yc)
    _close(log.map_coef_, mle.coef_.ravel(), LOGISTIC_TOL)


@pytest.mark.parametrize("noise_prior", ["halfnormal", "halfcauchy", "halfstudentt", "exponential", "flat"])
def test_every_noise_prior_has_a_certified_map_equal_to_ridge_at_its_noise(diabetes, noise_prior):
    X, y = diabetes
    est = BayesianLinearRegression(3.0, noise_prior=noise_prior, noise_prior_sigma=50.0, method="map").fit(
        X, y
    )
    assert est.map_converged_
    ridge = Ridge(alpha=est.map_noise_sigma_**2 / 9.0, solver="cholesky").fit(X, y)
    _close(est.map_coef_, ridge.coef_, MAP_RTOL)


# --- 4. the comparison names the twin ------------------------------------------------------------


def test_compare_names_the_lasso_and_does_not_claim_the_mean(diabetes):
    X, y = diabetes
    est = BayesianLinearRegression(3.0, prior="laplace", noise_sigma=NOISE, method="map").fit(X, y)
    cmp = compare_with_ridge(est, X, y)
    assert cmp.agrees and isinstance(cmp.ridge_estimator, Lasso)
    assert "Lasso(alpha=" in str(cmp.penalty) and not cmp.posterior_mean_should_equal_ridge


def test_a_prior_without_twin_says_so(cancer):
    X, y = cancer
    est = BayesianLogisticRegression(1.0, prior_mean=0.5, method="map").fit(X, y)
    pen = est.penalty()
    assert pen.twin is None and "offset" in pen.note
    cmp = compare_with_ridge(est, X, y)
    assert not cmp.agrees and "no penalised scikit-learn twin" in cmp.reasons[0]
    assert np.isnan(cmp.table["ridge"]).all()
    assert "no penalised twin" in pen.sentence()


# --- 7. bad values ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "error", "words"),
    [
        ({"prior_sigma": [1.0, -1.0]}, ValueError, "prior_sigma"),
        ({"prior_sigma": [1.0, 2.0, 3.0]}, ValueError, "has 3 values but X has 2 features"),
        ({"prior_sigma": {"a": 1.0, "zz": 2.0}}, ValueError, "['zz'] that are not features"),
        ({"prior_mean": [0.0, np.nan]}, ValueError, "prior_mean"),
        ({"prior": "elasticnet", "l1_ratio": 1.5}, ValueError, "l1_ratio"),
        ({"prior": "elasticnet", "l1_ratio": 1.0}, ValueError, "prior='laplace'"),
        ({"prior": "lasso"}, ValueError, "'prior' parameter"),
        ({"prior": "laplace", "method": "exact", "noise_sigma": 1.0}, ValueError, "method='exact'"),
        ({"l1_ratio": 0.2}, ValueError, "only to prior='elasticnet'"),
        ({"intercept_prior_sigma": 1.0, "fit_intercept": False}, ValueError, "no intercept"),
        ({"noise_prior": "gamma"}, ValueError, "'noise_prior' parameter"),
        ({"prior": "laplace", "prior_sigma_prior": 1.0}, ValueError, "prior_sigma_prior"),
    ],
)
def test_bad_prior_values_name_the_argument(params, error, words):
    X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    y = np.array([0.1, 1.2, 1.9, 3.2])
    with pytest.raises(error) as info:
        BayesianLinearRegression(**{"method": "map", **params}).fit(X, y)
    assert words in str(info.value)


def test_logistic_has_no_noise_prior():
    with pytest.raises(TypeError, match="noise_prior"):
        BayesianLogisticRegression(noise_prior="halfcauchy")


def test_saved_fits_round_trip_every_prior_option(diabetes, tmp_path):
    X, y = diabetes
    options = [
        {"prior_sigma": pd.Series(SIGMAS, index=X.columns), "noise_sigma": NOISE, "method": "exact"},
        {
            "prior_sigma": SIGMAS,
            "prior_mean": dict.fromkeys(X.columns, 1.0),
            "intercept_prior_sigma": 10.0,
            "intercept_prior_mean": 150.0,
            "noise_sigma": NOISE,
            "method": "map",
        },
        {"prior_sigma": 3.0, "prior": "laplace", "noise_prior": "halfcauchy", "noise_prior_sigma": 20.0},
        {"prior": "elasticnet", "l1_ratio": 0.3, "noise_prior": "halfstudentt", "noise_prior_nu": 5.0},
        {"prior": "flat", "noise_prior": "flat"},
    ]
    for i, kw in enumerate(options):
        est = BayesianLinearRegression(**{"method": "map", **kw}).fit(X, y)
        path = tmp_path / f"fit{i}.nc"
        est.save(path)
        back = BayesianLinearRegression.load(path)
        np.testing.assert_array_equal(back.predict(X), est.predict(X))
        assert back.prior == est.prior and back.penalty().twin_text == est.penalty().twin_text


def test_regularization_path_refuses_priors_its_closed_forms_do_not_describe():
    from bayesreg import regularization_path

    X = np.random.default_rng(0).normal(size=(20, 2))
    y = X @ [1.0, 2.0]
    template = BayesianLinearRegression(prior="laplace", noise_sigma=1.0, method="map")
    with pytest.raises(ValueError, match=r"also sets \['prior'\]"):
        regularization_path(template, X, y, prior_sigmas=[1.0, 2.0])


def test_compare_fits_the_twin_with_the_same_weights(diabetes):
    X, y = diabetes
    w = np.random.default_rng(1).uniform(0.2, 3.0, size=len(y))
    est = BayesianLinearRegression(3.0, prior="laplace", noise_sigma=NOISE, method="map")
    est.fit(X, y, sample_weight=w)
    assert compare_with_ridge(est, X, y, sample_weight=w).agrees
    assert not compare_with_ridge(est, X, y).agrees  # the unweighted lasso is another fit

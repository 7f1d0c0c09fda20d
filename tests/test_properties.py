"""Property-based tests (hypothesis): priors conversions and input validation at random sizes.

Example counts are modest (``max_examples`` 25-40) and deadlines off: a new column count compiles a
new MAP objective once, which is slow the first time and then cached.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy.special import expit
from sklearn.linear_model import BayesianRidge, LogisticRegression, Ridge

from bayesreg import BayesianLinearRegression, BayesianLogisticRegression, priors
from bayesreg.stats.conjugate import gaussian_posterior

EPS = np.finfo(float).eps
FAST = settings(max_examples=40, deadline=None)
FITS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Positive floats across 24 orders of magnitude, drawn log-uniformly.
positive = st.floats(-12.0, 12.0).map(lambda e: float(10.0**e))
n_samples = st.integers(1, 10**6)

# Each round trip is two or three float operations (squares, a division, a square root), so it is
# exact to a few ulp; 16 eps leaves room without hiding a wrong formula (which is off by far more).
ROUND_TRIP = 16 * EPS


@FAST
@given(sigma=positive, noise=positive)
def test_ridge_alpha_round_trip(sigma, noise):
    alpha = priors.ridge_alpha_from_sigma(sigma, noise)
    assume(np.isfinite(alpha) and alpha > 0)
    assert priors.sigma_from_ridge_alpha(alpha, noise) == pytest.approx(sigma, rel=ROUND_TRIP)


@FAST
@given(sigma=positive, noise=positive, n=n_samples)
def test_mean_loss_round_trips(sigma, noise, n):
    pairs = [
        (priors.elasticnet_alpha_from_sigma, priors.sigma_from_elasticnet_alpha),
        (priors.mean_loss_lambda_from_sigma, priors.sigma_from_mean_loss_lambda),
        (priors.torch_mse_weight_decay_from_sigma, priors.sigma_from_torch_mse_weight_decay),
    ]
    for forward, back in pairs:
        value = forward(sigma, noise, n)
        assume(np.isfinite(value) and value > 1e-300)
        assert back(value, noise, n) == pytest.approx(sigma, rel=ROUND_TRIP), forward.__name__


@FAST
@given(sigma=positive, n=n_samples)
def test_logistic_round_trips(sigma, n):
    assert priors.sigma_from_logistic_C(priors.logistic_C_from_sigma(sigma)) == pytest.approx(
        sigma, rel=ROUND_TRIP
    )
    for forward, back in [
        (priors.sgd_classifier_alpha_from_sigma, priors.sigma_from_sgd_classifier_alpha),
        (priors.torch_logistic_weight_decay_from_sigma, priors.sigma_from_torch_logistic_weight_decay),
    ]:
        value = forward(sigma, n)
        assume(np.isfinite(value) and value > 1e-300)
        assert back(value, n) == pytest.approx(sigma, rel=ROUND_TRIP), forward.__name__


@FAST
@given(sigma=positive, noise=positive)
def test_bayesian_ridge_round_trip(sigma, noise):
    alpha_, lambda_ = priors.bayesian_ridge_from_sigmas(sigma, noise)
    assume(0 < alpha_ < np.inf and 0 < lambda_ < np.inf)
    prior, noise_back = priors.sigmas_from_bayesian_ridge(alpha_, lambda_)
    assert prior == pytest.approx(sigma, rel=ROUND_TRIP)
    assert noise_back == pytest.approx(noise, rel=ROUND_TRIP)
    # The ridge penalty is the ratio of the precisions.
    assert lambda_ / alpha_ == pytest.approx(priors.ridge_alpha_from_sigma(sigma, noise), rel=ROUND_TRIP)


@FAST
@given(
    a=positive,
    b=positive,
    noise=positive,
    n=st.integers(1, 10**5),
    m=st.integers(1, 10**5),
)
def test_monotonicity(a, b, noise, n, m):
    assume(a < b)
    # A wider prior is a weaker penalty, in every parameterisation (never stronger).
    assert priors.ridge_alpha_from_sigma(a, noise) >= priors.ridge_alpha_from_sigma(b, noise)
    assert priors.logistic_C_from_sigma(a) <= priors.logistic_C_from_sigma(b)
    assert priors.elasticnet_alpha_from_sigma(a, noise, n) >= priors.elasticnet_alpha_from_sigma(b, noise, n)
    assert priors.sgd_classifier_alpha_from_sigma(a, n) >= priors.sgd_classifier_alpha_from_sigma(b, n)
    # More noise is a stronger penalty; more rows a weaker per-row one.
    assert priors.ridge_alpha_from_sigma(noise, a) <= priors.ridge_alpha_from_sigma(noise, b)
    if n < m:
        assert priors.mean_loss_lambda_from_sigma(a, noise, n) >= priors.mean_loss_lambda_from_sigma(
            a, noise, m
        )


@FAST
@given(sigmas=st.lists(positive, min_size=1, max_size=6), noise=positive)
def test_arrays_equal_scalars(sigmas, noise):
    arr = priors.ridge_alpha_from_sigma(np.array(sigmas), noise)
    assert isinstance(arr, np.ndarray)
    assert np.array_equal(arr, [priors.ridge_alpha_from_sigma(s, noise) for s in sigmas])
    assert isinstance(priors.ridge_alpha_from_sigma(sigmas[0], noise), float)


@FAST
@given(bad=st.sampled_from([0.0, -1.0, -1e-300, np.nan, np.inf, -np.inf]), good=positive)
def test_invalid_values_are_refused(bad, good):
    with pytest.raises(ValueError, match="'prior_sigma' argument must be a finite number > 0"):
        priors.ridge_alpha_from_sigma(bad, good)
    with pytest.raises(ValueError, match="'noise_sigma' argument must be a finite number > 0"):
        priors.ridge_alpha_from_sigma(good, bad)
    with pytest.raises(ValueError, match="'C' argument"):
        priors.sigma_from_logistic_C(bad)
    with pytest.raises(ValueError, match="'prior_sigma' argument"):
        priors.ridge_alpha_from_sigma([good, bad], good)


# --- agreement with scikit-learn ------------------------------------------------------------------


@st.composite
def regression_problems(draw):
    n = draw(st.integers(2, 40))
    p = draw(st.integers(1, 12))  # p > n happens
    x_scale = 10.0 ** draw(st.floats(-3, 3))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * x_scale
    y = X @ rng.normal(size=p) / x_scale + rng.normal(size=n)
    return X, y


@FAST
@given(problem=regression_problems(), sigma=st.floats(-3, 3).map(lambda e: 10.0**e), noise=positive)
def test_ridge_alpha_agrees_with_sklearn_ridge(problem, sigma, noise):
    X, y = problem
    alpha = priors.ridge_alpha_from_sigma(sigma, noise)
    assume(1e-8 < alpha < 1e8)
    exact = gaussian_posterior(X, y, prior_sigma=sigma, noise_sigma=noise)
    ridge = Ridge(alpha=alpha, solver="cholesky").fit(X, y)
    # Both solve (XcᵀXc + αI) w = Xcᵀyc by Cholesky: the error is bounded by ~cond · eps.
    Xc = X - X.mean(axis=0)
    cond = np.linalg.cond(Xc.T @ Xc + alpha * np.eye(X.shape[1]))
    tol = 100 * cond * EPS * max(1.0, np.max(np.abs(ridge.coef_)))
    np.testing.assert_allclose(exact.coef_mean, ridge.coef_, rtol=0, atol=tol)


@FAST
@given(problem=regression_problems())
def test_bayesian_ridge_precisions_give_its_coefficients(problem):
    X, y = problem
    br = BayesianRidge(tol=1e-10, max_iter=1000).fit(X, y)
    prior, noise = priors.sigmas_from_bayesian_ridge(br.alpha_, br.lambda_)
    alpha = priors.ridge_alpha_from_sigma(prior, noise)
    assume(1e-8 < alpha < 1e8)
    ridge = Ridge(alpha=alpha, solver="cholesky").fit(X, y)
    Xc = X - X.mean(axis=0)
    cond = np.linalg.cond(Xc.T @ Xc + alpha * np.eye(X.shape[1]))
    # BayesianRidge solves the same system by an SVD: again ~cond · eps.
    tol = 1000 * cond * EPS * max(1.0, np.max(np.abs(ridge.coef_)))
    np.testing.assert_allclose(br.coef_, ridge.coef_, rtol=0, atol=tol)


@FAST
@given(
    n=st.integers(5, 60),
    p=st.integers(1, 6),
    log_sigma=st.floats(-2, 2),
    log_scale=st.floats(-2, 2),
    seed=st.integers(0, 2**32 - 1),
)
def test_logistic_C_is_the_prior_variance_at_sklearns_optimum(n, p, log_sigma, log_scale, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * 10.0**log_scale
    labels = (rng.uniform(size=n) < 0.5).astype(int)
    assume(0 < labels.sum() < n)
    sigma = 10.0**log_sigma
    fit = LogisticRegression(
        C=priors.logistic_C_from_sigma(sigma), l1_ratio=0.0, solver="newton-cholesky", tol=1e-12, max_iter=200
    ).fit(X, labels)
    w, b = fit.coef_[0], fit.intercept_[0]
    resid = labels - expit(b + X @ w)
    # Stationarity of Σ logloss + ‖w‖²/(2σ²): Xᵀ(y − p) = w/σ², and Σ(y − p) = 0 (flat intercept).
    # Newton to tol=1e-12 leaves a gradient far below this scale of its terms.
    scale = np.abs(X).T @ np.abs(resid) + np.abs(w) / sigma**2 + 1.0
    np.testing.assert_allclose(X.T @ resid, w / sigma**2, rtol=0, atol=1e-7 * scale.max())
    assert abs(resid.sum()) <= 1e-7 * n


# --- input validation ------------------------------------------------------------------------------

DTYPES = [np.float64, np.float32, np.int64, np.int32, np.int8, np.uint8, np.bool_]


@st.composite
def good_inputs(draw):
    n = draw(st.integers(1, 25))
    p = draw(st.integers(1, 4))
    dtype = draw(st.sampled_from(DTYPES))
    as_frame = draw(st.booleans())
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    X = (rng.normal(size=(n, p)) * 3).astype(dtype)
    y = rng.normal(size=n)
    if as_frame:
        X = pd.DataFrame(X, columns=[f"c{j}" for j in range(p)])
        y = pd.Series(y)
    return X, y


@FITS
@given(data=good_inputs())
def test_every_good_input_fits_and_predicts(data):
    X, y = data
    est = BayesianLinearRegression(1.0, noise_sigma=1.0, method="map").fit(X, y)
    assert est.map_converged_
    pred = est.predict(X)
    assert pred.shape == (len(y),) and np.all(np.isfinite(pred))
    ridge = est.ridge_equivalent().fit(np.asarray(X, dtype=float), y)
    np.testing.assert_allclose(est.coef_, ridge.coef_, rtol=1e-6, atol=1e-9)
    if isinstance(X, pd.DataFrame):
        assert list(est.feature_names_in_) == list(X.columns)


@FITS
@given(data=good_inputs(), seed=st.integers(0, 2**32 - 1))
def test_good_labels_fit_the_logistic_model(data, seed):
    X, _ = data
    n = len(X)
    labels = np.random.default_rng(seed).integers(0, 2, size=n)
    assume(0 < labels.sum() < n)
    est = BayesianLogisticRegression(1.0, method="map").fit(X, labels)
    proba = est.predict_proba(X)
    assert proba.shape == (n, 2) and np.allclose(proba.sum(axis=1), 1.0)


@FITS
@given(
    data=good_inputs(),
    bad=st.sampled_from([np.nan, np.inf, -np.inf]),
    where=st.sampled_from(["X", "y"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_every_nan_or_inf_is_refused_by_name(data, bad, where, seed):
    X, y = data
    X = np.asarray(X, dtype=float).copy()
    y = np.asarray(y, dtype=float).copy()
    rng = np.random.default_rng(seed)
    target = X if where == "X" else y
    index = tuple(rng.integers(0, s) for s in target.shape)
    target[index] = bad
    kind = "NaN" if np.isnan(bad) else "infinity"
    with pytest.raises(ValueError, match=f"Input {where} contains {kind}"):
        BayesianLinearRegression(1.0, noise_sigma=1.0, method="map").fit(X, y)


@FITS
@given(data=good_inputs(), seed=st.integers(0, 2**32 - 1))
def test_missing_values_in_frames_are_refused(data, seed):
    X, y = data
    frame = pd.DataFrame(np.asarray(X, dtype=float)).astype("Float64")
    frame.columns = [f"c{j}" for j in range(frame.shape[1])]
    rng = np.random.default_rng(seed)
    frame.iloc[rng.integers(0, frame.shape[0]), rng.integers(0, frame.shape[1])] = pd.NA
    with pytest.raises(ValueError, match="Input X contains NaN"):
        BayesianLinearRegression(1.0, noise_sigma=1.0, method="map").fit(frame, y)


@FITS
@given(data=good_inputs(), column=st.integers(0, 3), text=st.sampled_from(["object", "category", "string"]))
def test_non_numeric_columns_are_named(data, column, text):
    X, y = data
    frame = pd.DataFrame(np.asarray(X, dtype=float), columns=[f"c{j}" for j in range(np.shape(X)[1])])
    column = min(column, frame.shape[1] - 1)
    frame[f"c{column}"] = pd.Series([f"v{i % 3}" for i in range(len(frame))], dtype=text)
    with pytest.raises(TypeError, match=rf"non-numeric columns \['c{column}'\]"):
        BayesianLinearRegression(1.0, noise_sigma=1.0, method="map").fit(frame, y)


@FITS
@given(
    n=st.integers(1, 20),
    p=st.integers(1, 4),
    shape=st.sampled_from(["1d", "3d", "short_y", "long_y", "2d_y", "empty_rows", "empty_cols"]),
)
def test_bad_shapes_are_refused(n, p, shape):
    X = np.ones((n, p))
    y = np.arange(n, dtype=float)
    patterns = {
        "1d": (X[:, 0], y, "Expected 2D array, got 1D array"),
        "3d": (X[:, :, None], y, "Found array with dim 3"),
        "short_y": (X, y[:-1], "inconsistent numbers of samples"),
        "long_y": (X, np.append(y, 1.0), "inconsistent numbers of samples"),
        "2d_y": (X, np.column_stack([y, y]), "y should be a 1d array"),
        "empty_rows": (np.ones((0, p)), np.ones(0), "0 sample"),
        "empty_cols": (np.ones((n, 0)), y, "0 feature"),
    }
    X_bad, y_bad, message = patterns[shape]
    with pytest.raises(ValueError, match=message):
        BayesianLinearRegression(1.0, noise_sigma=1.0, method="map").fit(X_bad, y_bad)


@pytest.mark.filterwarnings("ignore:X does not have valid feature names")
@FITS
@given(data=good_inputs(), extra=st.integers(1, 3))
def test_predict_refuses_other_widths_and_names(data, extra):
    X, y = data
    est = BayesianLinearRegression(1.0, noise_sigma=1.0, method="map").fit(X, y)
    wider = np.column_stack([np.asarray(X, dtype=float), np.zeros((len(y), extra))])
    with pytest.raises(ValueError, match=r"X has \d+ features, but BayesianLinearRegression is expecting"):
        est.predict(wider)
    if isinstance(X, pd.DataFrame):
        renamed = X.rename(columns=lambda c: c.upper())
        with pytest.raises(ValueError, match="feature names"):
            est.predict(renamed)

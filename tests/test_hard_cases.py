"""Hard numerical cases: each one fits correctly or fails with a message that says what to do.

MAP = ridge comparisons use a tolerance from the conditioning of the problem, not a fixed number.
Both solvers solve (or, for the MAP, converge to the solution of) ``(XcᵀXc + αI) w = Xcᵀyc``; by
van der Sluis, Cholesky's relative error in the column-scaled coefficients ``D w`` (``D`` = sqrt of
the diagonal) is about ``κ(D⁻¹AD⁻¹) · eps``, so features on wildly different scales are fine as
long as the *equilibrated* matrix is well conditioned. The tests allow 100 times that.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse
from scipy.special import expit

from bayesreg import BayesianLinearRegression, BayesianLogisticRegression, OptimizerWarning
from bayesreg.priors import ridge_alpha_from_sigma

EPS = np.finfo(float).eps
RNG = np.random.default_rng(20)
X_BASE = RNG.normal(size=(50, 3))
Y_BASE = 1.0 + X_BASE @ [1.0, -2.0, 0.5] + RNG.normal(size=50)


def equilibrated_tolerance(X: np.ndarray, alpha: float, fit_intercept: bool = True):
    """(tolerance, column scales d) for comparing ``d * w`` of two solutions."""
    Xc = X - X.mean(axis=0) if fit_intercept else X
    A = Xc.T @ Xc + alpha * np.eye(X.shape[1])
    d = np.sqrt(np.diag(A))
    return max(1e-12, 100 * EPS * np.linalg.cond(A / np.outer(d, d))), d


def assert_map_equals_ridge(est, X, y):
    assert est.map_converged_
    ridge = est.ridge_equivalent().fit(X, y)
    alpha = getattr(ridge, "alpha", None)
    tol, d = equilibrated_tolerance(np.asarray(X, dtype=float), alpha, est.fit_intercept)
    scaled_ridge = d * np.ravel(ridge.coef_)
    np.testing.assert_allclose(
        d * est.map_coef_, scaled_ridge, rtol=0, atol=tol * np.max(np.abs(scaled_ridge))
    )
    return ridge, tol


def linear_map(**kwargs):
    return BayesianLinearRegression(**({"prior_sigma": 1.0, "noise_sigma": 1.0, "method": "map"} | kwargs))


# --- p > n ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["map", "exact"])
def test_more_features_than_rows_known_noise(wide_problem, method):
    X, y = wide_problem
    est = linear_map(method=method).fit(X, y)
    assert_map_equals_ridge(est, X, y)
    if method == "exact":
        # With p > n most directions are prior-only: the posterior sd there stays near prior_sigma.
        assert np.median(est.coef_sd_) > 0.8


def test_more_features_than_rows_logistic(wide_problem):
    X, y = wide_problem
    labels = (y > np.median(y)).astype(int)
    est = BayesianLogisticRegression(1.0, method="map").fit(X, labels)
    ref = est.ridge_equivalent().fit(X, labels)
    assert est.map_converged_
    np.testing.assert_allclose(est.map_coef_, ref.coef_[0], rtol=0, atol=1e-8)


def test_unknown_noise_that_can_fit_y_exactly_says_why(wide_problem):
    # p > n - 1 with an unknown noise sd: coefficients that fit every row let sigma -> 0 and the
    # joint density grow without bound, so no MAP exists. The warning must say so.
    X, y = wide_problem
    with pytest.warns(OptimizerWarning, match=r"(?s)no maximum at all.*fit y exactly.*known noise_sigma"):
        est = linear_map(noise_sigma=None).fit(X, y)
    assert not est.map_converged_


# --- collinear and constant columns ----------------------------------------------------------------


def test_duplicated_column_splits_the_effect_equally():
    X = np.column_stack([X_BASE, X_BASE[:, 0]])
    est = linear_map().fit(X, Y_BASE)
    assert_map_equals_ridge(est, X, Y_BASE)
    # The prior is symmetric in the two copies, so the MAP gives each half of the effect.
    assert est.map_coef_[0] == pytest.approx(est.map_coef_[3], rel=1e-9)


def test_duplicated_column_with_a_nearly_flat_prior():
    # alpha = 1e-12: the difference of the two copies is determined by the prior alone, with
    # curvature 1e-12 against 1e2 along the data: cond ~ 1e14, so only ~2 digits of the split are
    # meaningful, for ridge and MAP alike. Their sum is well determined and must agree closely.
    X = np.column_stack([X_BASE, X_BASE[:, 0]])
    est = linear_map(prior_sigma=1e6).fit(X, Y_BASE)
    assert est.map_converged_
    ridge = est.ridge_equivalent().fit(X, Y_BASE)
    tol, _ = equilibrated_tolerance(X, ridge.alpha)
    assert tol > 1e-3  # the conditioning really is that bad
    total = est.map_coef_[0] + est.map_coef_[3]
    assert total == pytest.approx(ridge.coef_[0] + ridge.coef_[3], rel=1e-9)
    np.testing.assert_allclose(est.map_coef_[1:3], ridge.coef_[1:3], rtol=1e-9)
    assert abs(est.map_coef_[0] - est.map_coef_[3]) <= tol * abs(total)


@pytest.mark.parametrize("method", ["map", "exact"])
def test_constant_column_gets_the_prior(method):
    X = np.column_stack([X_BASE, np.full(50, 3.0)])
    est = linear_map(prior_sigma=2.0, method=method).fit(X, Y_BASE)
    assert_map_equals_ridge(est, X, Y_BASE)
    assert est.map_coef_[3] == 0.0  # centred, the column is zero: the data say nothing about it
    # Its posterior is the prior: sd exactly prior_sigma (the exact and the Laplace posterior).
    assert est.coef_sd_[3] == pytest.approx(2.0, rel=1e-12)


def test_constant_column_without_intercept_acts_as_one():
    X = np.column_stack([X_BASE, np.ones(50)])
    est = linear_map(fit_intercept=False).fit(X, Y_BASE)
    assert_map_equals_ridge(est, X, Y_BASE)
    assert est.map_coef_[3] == pytest.approx(Y_BASE.mean() - X_BASE.mean(0) @ est.map_coef_[:3], rel=0.05)


# --- extreme scales -------------------------------------------------------------------------------

SCALED = X_BASE * [1e-6, 1.0, 1e6]


@pytest.mark.parametrize("noise_sigma", [1.0, None], ids=["known-noise", "unknown-noise"])
def test_features_on_scales_1e6_apart(noise_sigma):
    est = linear_map(noise_sigma=noise_sigma).fit(SCALED, Y_BASE)
    assert_map_equals_ridge(est, SCALED, Y_BASE)
    # Predictions from the two scales agree too.
    ridge = est.ridge_equivalent().fit(SCALED, Y_BASE)
    np.testing.assert_allclose(est.predict(SCALED), ridge.predict(SCALED), rtol=1e-9)


def test_logistic_features_on_scales_1e6_apart():
    labels = (Y_BASE > 1).astype(int)
    est = BayesianLogisticRegression(1.0, method="map").fit(SCALED, labels)
    ref = est.ridge_equivalent().fit(SCALED, labels)
    assert est.map_converged_
    np.testing.assert_allclose(est.map_coef_ * [1e-6, 1, 1e6], ref.coef_[0] * [1e-6, 1, 1e6], rtol=1e-8)


@pytest.mark.parametrize("prior_sigma", [1e-6, 1e6])
@pytest.mark.parametrize("noise_sigma", [1.0, None], ids=["known-noise", "unknown-noise"])
def test_extreme_prior_sigma_still_equals_ridge(prior_sigma, noise_sigma):
    est = linear_map(prior_sigma=prior_sigma, noise_sigma=noise_sigma).fit(X_BASE, Y_BASE)
    ridge, _ = assert_map_equals_ridge(est, X_BASE, Y_BASE)
    assert ridge.alpha == pytest.approx(ridge_alpha_from_sigma(prior_sigma, est.map_noise_sigma_), rel=1e-12)
    if prior_sigma == 1e-6:
        assert np.max(np.abs(est.map_coef_)) < 1e-9  # the prior wins
    else:
        # The prior is irrelevant: ridge at alpha ~ 1e-12 is least squares.
        ols = np.linalg.lstsq(np.column_stack([np.ones(50), X_BASE]), Y_BASE, rcond=None)[0]
        np.testing.assert_allclose(est.map_coef_, ols[1:], rtol=1e-9)


@pytest.mark.parametrize("prior_sigma", [1e-6, 1e6])
def test_logistic_extreme_prior_sigma(prior_sigma):
    labels = (Y_BASE > 1).astype(int)
    est = BayesianLogisticRegression(prior_sigma, method="map").fit(X_BASE, labels)
    ref = est.ridge_equivalent().fit(X_BASE, labels)
    assert est.map_converged_
    np.testing.assert_allclose(est.map_coef_, ref.coef_[0], rtol=1e-8)


# --- separable logistic data ----------------------------------------------------------------------

SEPARABLE = (X_BASE[:, 0] > 0).astype(int)


@pytest.mark.parametrize("prior_sigma", [1.0, 1e3])
def test_separable_data_have_a_finite_map(prior_sigma):
    est = BayesianLogisticRegression(prior_sigma, method="map").fit(X_BASE, SEPARABLE)
    ref = est.ridge_equivalent().fit(X_BASE, SEPARABLE)
    assert est.map_converged_ and np.all(np.isfinite(est.map_coef_))
    # The prior keeps the MAP finite; the wider it is, the further out the MAP (and the worse the
    # conditioning: the curvature of the log likelihood vanishes out there).
    np.testing.assert_allclose(est.map_coef_, ref.coef_[0], rtol=1e-7 if prior_sigma > 1 else 1e-10)
    assert np.all(est.predict(X_BASE) == SEPARABLE)


def test_separable_data_with_a_nearly_flat_prior():
    # sigma = 1e6: sklearn's Newton solver stops at max_iter here (and warns), so check the MAP
    # against its own optimality condition instead: Xᵀ(y − p) = w/σ², Σ(y − p) = 0.
    est = BayesianLogisticRegression(1e6, method="map").fit(X_BASE, SEPARABLE)
    assert est.map_converged_
    eta = est.map_intercept_ + X_BASE @ est.map_coef_
    # y − p without cancellation: 1 − expit(η) = expit(−η). The residuals are ~1e-12 here.
    resid = np.where(SEPARABLE == 1, expit(-eta), -expit(eta))
    grad = X_BASE.T @ resid
    # Each sum has 50 terms of mixed sign, each accurate to a few ulp: allow 1e-6 of their
    # absolute sum (the MAP's Newton step is below 1e-9 of its scale).
    scale = np.abs(X_BASE).T @ np.abs(resid)
    np.testing.assert_allclose(grad, est.map_coef_ / 1e12, rtol=0, atol=1e-6 * scale.max())
    assert abs(resid.sum()) <= 1e-6 * np.abs(resid).sum()
    assert np.linalg.norm(est.map_coef_) > 100  # far out, as the nearly flat prior allows


# --- a single row ----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["map", "exact"])
def test_single_row_known_noise(method):
    X, y = X_BASE[:1], Y_BASE[:1]
    est = linear_map(prior_sigma=2.0, method=method).fit(X, y)
    # With an intercept, one row says nothing about the slopes: prior mean and sd.
    assert np.array_equal(est.coef_, np.zeros(3))
    np.testing.assert_allclose(est.coef_sd_, 2.0, rtol=1e-12)
    assert est.intercept_ == pytest.approx(y[0], rel=1e-12)
    # Without one, it is ridge on one row.
    est = linear_map(method=method, fit_intercept=False).fit(X, y)
    assert_map_equals_ridge(est, X, y)


def test_single_row_unknown_noise_needs_a_scale():
    with pytest.raises(ValueError, match=r"y is constant \(n_samples=1\).*noise_prior_sigma"):
        linear_map(noise_sigma=None).fit(X_BASE[:1], Y_BASE[:1])
    with pytest.warns(OptimizerWarning, match="no maximum at all"):
        linear_map(noise_sigma=None, noise_prior_sigma=1.0).fit(X_BASE[:1], Y_BASE[:1])


def test_single_row_logistic():
    with pytest.raises(ValueError, match=r"at least two classes.*got 1 class"):
        BayesianLogisticRegression(method="map").fit(X_BASE[:1], [1])


# --- dtypes and sparse input ----------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.int8, np.uint16, np.bool_])
def test_other_dtypes_give_exactly_the_float64_answer(dtype):
    X = (X_BASE * 10).astype(dtype)
    y = Y_BASE.astype(np.float32) if dtype == np.float32 else Y_BASE
    est = linear_map().fit(X, y)
    ref = linear_map().fit(X.astype(np.float64), y.astype(np.float64))
    # Validation casts to float64 exactly, so the results are identical, not just close.
    assert np.array_equal(est.coef_, ref.coef_) and est.intercept_ == ref.intercept_
    assert np.array_equal(est.predict(X), ref.predict(X.astype(np.float64)))
    labels = (Y_BASE > 1).astype(int)
    clf = BayesianLogisticRegression(method="map").fit(X, labels)
    clf_ref = BayesianLogisticRegression(method="map").fit(X.astype(np.float64), labels)
    assert np.array_equal(clf.coef_, clf_ref.coef_)


def test_integer_targets_and_labels():
    est = linear_map().fit(X_BASE, np.round(Y_BASE).astype(int))
    assert est.predict(X_BASE).dtype == np.float64
    clf = BayesianLogisticRegression(method="map").fit(X_BASE, np.where(Y_BASE > 1, 7, 3))
    assert set(clf.predict(X_BASE)) <= {3, 7} and clf.classes_.tolist() == [3, 7]


@pytest.mark.parametrize("make", [linear_map, lambda: BayesianLogisticRegression(method="map")])
@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_sparse_input_is_refused_clearly(make, fmt):
    X = sparse.random(20, 3, density=0.5, format=fmt, random_state=0)
    y = np.arange(20) % 2
    with pytest.raises(TypeError, match="Sparse data was passed.*dense data is required"):
        make().fit(X, y)
    fitted = make().fit(X.toarray(), y)
    with pytest.raises(TypeError, match="Sparse data was passed"):
        fitted.predict(X)


# --- a funnel: sampler trouble is reported, never hidden --------------------------------------------


def test_hierarchical_funnel_is_reported_as_sampler_trouble():
    # 8 rows of pure noise, 10 features and a learned prior sd: the marginal posterior of σ peaks
    # at 0, so the joint posterior is Neal's funnel. No affine whitening straightens it; NUTS
    # diverges in its neck. Both the missing mode of σ and the sampler's trouble must be said.
    from bayesreg import ConvergenceWarning, compare_with_ridge

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(8, 10)), rng.normal(size=8)
    est = BayesianLinearRegression(
        noise_sigma=1.0,
        prior_sigma_prior=1.0,
        draws=500,
        tune=500,
        chains=2,
        random_state=0,
        progressbar=False,
    )
    with pytest.warns(ConvergenceWarning) as record:
        est.fit(X, y)
    messages = [str(w.message) for w in record]
    assert any("no interior mode" in m for m in messages)  # the OptimizerWarning of σ's mode
    assert any("did not converge" in m and "divergent transitions" in m for m in messages)
    report = est.convergence_
    assert not report.converged and report.n_divergences > 0
    assert not est.map_converged_
    comparison = compare_with_ridge(est, X, y)
    assert not comparison.agrees
    assert any("sampler did not converge" in r for r in comparison.reasons)


def test_tiny_scales_whose_squares_underflow_still_give_ridge():
    # σ = σ_n = 1e-200: both squares underflow to 0, but λ = (σ_n/σ)² = 1 is an ordinary number.
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(3)
    X = rng.normal(size=(30, 2))
    y = X @ [1.0, -1.0] + rng.normal(size=30)
    kw = dict(noise_sigma=1e-200, method="exact", compute_log_likelihood=False)  # ((y - μ)/σ_n)² overflows
    est = BayesianLinearRegression(1e-200, **kw).fit(X, y)
    assert ridge_alpha_from_sigma(1e-200, 1e-200) == 1.0
    np.testing.assert_allclose(est.coef_, Ridge(alpha=1.0).fit(X, y).coef_, rtol=1e-10)

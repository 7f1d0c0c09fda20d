"""sample_weight: scikit-learn's semantics (w_i multiplies row i's log-likelihood term) in every method.

The MAP equals the penalised twin fitted with the same weights; integer weights equal repeated rows
(MAP, exact posterior, evidence-based σ mode, chunked statistics); the NUTS posterior with weights
agrees with the exact one; bad weights are refused with a message naming sample_weight.
"""

from __future__ import annotations

import arviz as az
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression, Ridge

from bayesreg import BayesianLinearRegression, BayesianLogisticRegression
from bayesreg.stats.suffstats import StatsAccumulator, sufficient_stats


def make_linear(n=80, p=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * [1.0, 3.0, 0.5, 2.0][:p] + [0.0, 1.0, -2.0, 0.5][:p]
    y = 1.5 + X @ np.array([1.0, -0.5, 2.0, 0.0][:p]) + rng.normal(scale=1.2, size=n)
    return X, y


def make_logistic(n=120, p=3, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * [1.0, 2.0, 0.5][:p]
    y = (0.3 + X @ np.array([1.5, -0.5, 1.0][:p]) + rng.logistic(size=n) > 0).astype(int)
    return X, y


def real_weights(n, seed=2):
    """Non-integer weights whose sum is not n, with some zeros."""
    rng = np.random.default_rng(seed)
    w = rng.uniform(0.2, 3.0, size=n)
    w[::9] = 0.0
    return w


def integer_weights(n, seed=3):
    w = np.random.default_rng(seed).integers(0, 4, size=n)
    w[:2] = [2, 1]
    return w


def repeat(X, y, w):
    return np.repeat(X, w, axis=0), np.repeat(y, w)


KNOWN = dict(prior_sigma=0.8, noise_sigma=1.3)


# --- the MAP is the penalised twin fitted with the same weights ---------------------------------------


def test_linear_map_equals_weighted_ridge():
    X, y = make_linear()
    w = real_weights(len(y))
    est = BayesianLinearRegression(**KNOWN, method="map").fit(X, y, sample_weight=w)
    ridge = Ridge(alpha=1.3**2 / 0.8**2).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(est.coef_, ridge.coef_, rtol=1e-8, atol=1e-10)
    assert est.intercept_ == pytest.approx(ridge.intercept_, rel=1e-8)
    # Not the unweighted fit: the weights matter at this tolerance.
    assert np.max(np.abs(est.coef_ - Ridge(alpha=1.3**2 / 0.8**2).fit(X, y).coef_)) > 1e-3
    assert est.n_samples_fit_ == pytest.approx(w.sum(), rel=1e-15)


@pytest.mark.parametrize(
    "params",
    [
        dict(),
        dict(prior_sigma=[0.5, 2.0, 1.0, 0.3]),
        dict(prior_mean=[0.5, 0.0, 1.0, -0.2]),
        dict(intercept_prior_sigma=0.7, intercept_prior_mean=0.4),
        dict(prior="flat"),
        dict(prior="laplace", prior_sigma=0.3),
        dict(prior="laplace", prior_sigma=[0.3, 0.1, 1.0, 0.05]),
        dict(prior="elasticnet", prior_sigma=0.3, l1_ratio=0.6),
        dict(prior="laplace", prior_sigma=0.3, prior_mean=[0.5, 0.0, 1.0, -0.2]),
    ],
    ids=["normal", "per-feature", "prior-mean", "intercept-prior", "flat", "laplace",
         "laplace-per-feature", "elasticnet", "laplace-mean"],
)  # fmt: skip
def test_linear_map_equals_its_twin_fitted_with_weights(params):
    # Lasso and ElasticNet rescale the weights to sum to the row count, so their alpha divides by
    # Σw (n_samples_fit_), not by the row count: this checks that conversion numerically.
    X, y = make_linear()
    w = real_weights(len(y))
    est = BayesianLinearRegression(**{**KNOWN, **params}, method="map").fit(X, y, sample_weight=w)
    twin = est.ridge_equivalent().fit(X, y, sample_weight=w)
    np.testing.assert_allclose(est.coef_, twin.coef_, rtol=1e-6, atol=1e-8)
    assert est.intercept_ == pytest.approx(float(np.ravel(twin.intercept_)[0]), rel=1e-6, abs=1e-8)


def test_lasso_twin_alpha_divides_by_the_weight_sum():
    X, y = make_linear()
    w = real_weights(len(y))
    est = BayesianLinearRegression(0.3, noise_sigma=1.3, prior="laplace", method="map")
    est.fit(X, y, sample_weight=w)
    b = 0.3 / np.sqrt(2.0)
    assert est.penalty().value == pytest.approx(1.3**2 / (w.sum() * b), rel=1e-14)
    # With the row count instead (wrong), the twin is another fit.
    wrong = est.ridge_equivalent().set_params(alpha=1.3**2 / (len(y) * b)).fit(X, y, sample_weight=w)
    assert np.max(np.abs(wrong.coef_ - est.coef_)) > 1e-3


@pytest.mark.parametrize(
    "params",
    [dict(), dict(prior_sigma=[0.5, 2.0, 1.0]), dict(intercept_prior_sigma=2.0), dict(prior="flat")],
    ids=["normal", "per-feature", "intercept-prior", "flat"],
)
def test_logistic_map_equals_weighted_logistic_regression(params):
    X, y = make_logistic()
    w = real_weights(len(y))
    est = BayesianLogisticRegression(**{"prior_sigma": 0.8, **params}, method="map")
    est.fit(X, y, sample_weight=w)
    twin = est.ridge_equivalent().fit(X, y, sample_weight=w)
    np.testing.assert_allclose(est.coef_, np.ravel(twin.coef_), rtol=1e-5, atol=1e-7)
    assert est.intercept_ == pytest.approx(float(np.ravel(twin.intercept_)[0]), rel=1e-5, abs=1e-7)
    if not params:
        sk = LogisticRegression(C=0.8**2, solver="newton-cholesky", tol=1e-12).fit(X, y, sample_weight=w)
        np.testing.assert_allclose(est.coef_, sk.coef_[0], rtol=1e-5, atol=1e-7)


def test_logistic_laplace_map_equals_weighted_saga():
    X, y = make_logistic()
    w = real_weights(len(y))
    est = BayesianLogisticRegression(0.5, prior="laplace", method="map").fit(X, y, sample_weight=w)
    twin = est.ridge_equivalent().fit(X, y, sample_weight=w)
    np.testing.assert_allclose(est.coef_, np.ravel(twin.coef_), rtol=1e-5, atol=1e-6)


# --- integer weights are repeated rows; zero weights are dropped rows ----------------------------------


def test_integer_weights_equal_repeated_rows_map_unknown_noise():
    X, y = make_linear()
    w = integer_weights(len(y))
    kw = dict(prior_sigma=0.8, method="map")
    weighted = BayesianLinearRegression(**kw).fit(X, y, sample_weight=w)
    repeated = BayesianLinearRegression(**kw).fit(*repeat(X, y, w))
    assert weighted.map_converged_ and repeated.map_converged_
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-7, atol=1e-9)
    assert weighted.noise_sigma_ == pytest.approx(repeated.noise_sigma_, rel=1e-7)
    np.testing.assert_allclose(weighted.coef_sd_, repeated.coef_sd_, rtol=1e-6)
    np.testing.assert_allclose(
        weighted.predict(X, return_std=True), repeated.predict(X, return_std=True), rtol=1e-6
    )
    assert weighted.n_samples_fit_ == repeated.n_samples_fit_ == w.sum()


def test_integer_weights_equal_repeated_rows_exact_posterior():
    X, y = make_linear()
    w = integer_weights(len(y))
    kw = dict(**KNOWN, method="exact", random_state=5, compute_log_likelihood=False)
    weighted = BayesianLinearRegression(**kw).fit(X, y, sample_weight=w)
    repeated = BayesianLinearRegression(**kw).fit(*repeat(X, y, w))
    a, b = weighted.exact_posterior_, repeated.exact_posterior_
    np.testing.assert_allclose(a.coef_mean, b.coef_mean, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(a.coef_cov, b.coef_cov, rtol=1e-10, atol=1e-14)
    assert a.intercept_mean == pytest.approx(b.intercept_mean, rel=1e-10)
    assert a.intercept_sd == pytest.approx(b.intercept_sd, rel=1e-10)
    # Same seed, same posterior: the same exact draws, to rounding.
    np.testing.assert_allclose(
        weighted.idata_["posterior"]["coef"].values, repeated.idata_["posterior"]["coef"].values, atol=1e-9
    )


def test_integer_weights_equal_repeated_rows_for_the_learned_prior_sd():
    # The mode of the scales' marginal posterior counts Σw − 1 centred rows (n → Σw in the evidence).
    X, y = make_linear()
    w = integer_weights(len(y))
    kw = dict(prior_sigma_prior=2.0, method="map")
    weighted = BayesianLinearRegression(**kw).fit(X, y, sample_weight=w)
    repeated = BayesianLinearRegression(**kw).fit(*repeat(X, y, w))
    assert weighted.map_prior_sigma_ == pytest.approx(repeated.map_prior_sigma_, rel=1e-7)
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-6, atol=1e-9)


def test_integer_weights_equal_repeated_rows_logistic():
    X, y = make_logistic()
    w = integer_weights(len(y))
    weighted = BayesianLogisticRegression(0.8, method="map").fit(X, y, sample_weight=w)
    repeated = BayesianLogisticRegression(0.8, method="map").fit(*repeat(X, y, w))
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(weighted.coef_sd_, repeated.coef_sd_, rtol=1e-6)
    np.testing.assert_allclose(weighted.predict_proba(X), repeated.predict_proba(X), rtol=1e-7)
    np.testing.assert_allclose(weighted._x_mean, repeated._x_mean, rtol=1e-12)


def test_unit_weights_change_nothing():
    X, y = make_linear()
    plain = BayesianLinearRegression(**KNOWN, method="exact", random_state=0).fit(X, y)
    ones = BayesianLinearRegression(**KNOWN, method="exact", random_state=0).fit(
        X, y, sample_weight=np.ones(len(y))
    )
    np.testing.assert_allclose(ones.coef_, plain.coef_, rtol=1e-12)
    np.testing.assert_allclose(
        ones.idata_["log_likelihood"]["y"].values, plain.idata_["log_likelihood"]["y"].values, rtol=1e-12
    )


@pytest.mark.parametrize("kind", ["linear", "logistic"])
def test_zero_weights_drop_their_rows(kind):
    if kind == "linear":
        X, y = make_linear()
        make = lambda: BayesianLinearRegression(0.8, method="map")  # noqa: E731
    else:
        X, y = make_logistic()
        make = lambda: BayesianLogisticRegression(0.8, method="map")  # noqa: E731
    w = np.ones(len(y))
    w[::3] = 0.0
    keep = w > 0
    y_bad = y.astype(float).copy() if kind == "linear" else y
    if kind == "linear":
        y_bad[~keep] = 1e6  # whatever the ignored rows hold
    weighted = make().fit(X, y_bad, sample_weight=w)
    dropped = make().fit(X[keep], y[keep])
    np.testing.assert_allclose(weighted.coef_, dropped.coef_, rtol=1e-7, atol=1e-9)
    assert weighted.intercept_ == pytest.approx(dropped.intercept_, rel=1e-7)


def test_weighted_statistics_equal_those_of_repeated_rows():
    X, y = make_linear(n=50)
    w = integer_weights(50)
    for fit_intercept in (True, False):
        a = sufficient_stats(X, y, fit_intercept=fit_intercept, sample_weight=w.astype(float))
        b = sufficient_stats(*repeat(X, y, w), fit_intercept=fit_intercept)
        assert a.n == b.n
        for name in ("x_mean", "y_mean", "xtx", "xty", "yty", "y_var", "y_range"):
            np.testing.assert_allclose(
                getattr(a, name), getattr(b, name), rtol=1e-11, atol=1e-12, err_msg=name
            )
    # A block whose weights are all zero changes nothing.
    acc = StatsAccumulator(fit_intercept=True)
    acc.add(X[:10], y[:10], np.zeros(10))
    acc.add(X, y, w.astype(float))
    assert acc.result().n == w.sum()


# --- chunked input: the weights are each block's third element -------------------------------------


EXACT = dict(**KNOWN, method="exact", compute_log_likelihood=False)


def test_weighted_blocks_equal_the_weighted_whole_data():
    X, y = make_linear(n=3000)
    w = real_weights(3000)
    w[1000:1500] = 0.0  # a block of zeros only
    whole = BayesianLinearRegression(**EXACT).fit(X, y, sample_weight=w)
    blocks = ((X[s : s + 500], y[s : s + 500], w[s : s + 500]) for s in range(0, 3000, 500))
    chunked = BayesianLinearRegression(**EXACT).fit(blocks)
    np.testing.assert_allclose(chunked.coef_, whole.coef_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(
        chunked.exact_posterior_.coef_cov, whole.exact_posterior_.coef_cov, rtol=1e-9, atol=1e-15
    )
    assert chunked.n_samples_fit_ == pytest.approx(w.sum(), rel=1e-12)
    unknown = dict(prior_sigma=0.8, method="map", compute_log_likelihood=False)
    blocks = [(X[s : s + 700], y[s : s + 700], w[s : s + 700]) for s in range(0, 3000, 700)]
    np.testing.assert_allclose(
        BayesianLinearRegression(**unknown).fit(blocks).coef_,
        BayesianLinearRegression(**unknown).fit(X, y, sample_weight=w).coef_,
        rtol=1e-7,
    )


def test_weighted_dask_input_equals_the_weighted_whole_data():
    dd = pytest.importorskip("dask.dataframe")
    import pandas as pd

    X, y = make_linear(n=2000)
    w = real_weights(2000)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"]).assign(y=y, w=w)
    ddf = dd.from_pandas(frame, npartitions=4)
    chunked = BayesianLinearRegression(**EXACT).fit(
        ddf[["a", "b", "c", "d"]], ddf["y"], sample_weight=ddf["w"]
    )
    whole = BayesianLinearRegression(**EXACT).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(chunked.coef_, whole.coef_, rtol=1e-10)
    with pytest.raises(TypeError, match="sample_weight must be one too"):
        BayesianLinearRegression(**EXACT).fit(ddf[["a", "b", "c", "d"]], ddf["y"], sample_weight=w)


@pytest.mark.parametrize(
    ("blocks", "error", "match"),
    [
        ([(np.ones((3, 2)), np.ones(3), np.ones(3)), (np.ones((3, 2)), np.ones(3))], ValueError,
         "Block 1 has no weights but the first block had weights"),
        ([(np.ones((3, 2)), np.ones(3)), (np.ones((3, 2)), np.ones(3), np.ones(3))], ValueError,
         "Block 1 has weights but the first block had none"),
        ([(np.eye(3, 2), np.arange(3.0), np.array([1.0, -1.0, 1.0]))], ValueError,
         r"sample_weight \(block 0\) has negative values"),
        ([(np.eye(3, 2), np.arange(3.0), np.array([1.0, np.nan, 1.0]))], ValueError,
         r"sample_weight \(block 0\) has values that are NaN"),
        ([(np.eye(3, 2), np.arange(3.0), np.ones(4))], ValueError,
         r"sample_weight \(block 0\) has 4 weights but X has 3 rows"),
        ([(np.eye(3, 2), np.arange(3.0), np.zeros(3)), (np.eye(3, 2), np.arange(3.0), np.zeros(3))],
         ValueError, r"third element of each block\) are zero for every one of its 6 rows"),
    ],
    ids=["weights-then-none", "none-then-weights", "negative", "nan", "length", "all-zero"],
)  # fmt: skip
def test_bad_weighted_blocks_are_named(blocks, error, match):
    est = BayesianLinearRegression(**EXACT)
    with pytest.raises(error, match=match):
        est.fit(iter(blocks))
    assert not hasattr(est, "coef_")


def test_sample_weight_beside_blocks_is_refused():
    X, y = make_linear(n=20)
    with pytest.raises(TypeError, match=r"triple \(X_block, y_block, w_block\)"):
        BayesianLinearRegression(**EXACT).fit([(X, y)], sample_weight=np.ones(20))


# --- bad weights ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("weights", "match"),
    [
        (lambda n: -np.ones(n), r"sample_weight has negative values \(-1 at row 0\)"),
        (lambda n: np.r_[np.nan, np.ones(n - 1)], "sample_weight has values that are NaN or infinite"),
        (lambda n: np.r_[np.ones(n - 1), np.inf], "sample_weight has values that are NaN or infinite"),
        (lambda n: np.ones(n + 1), r"sample_weight has \d+ weights but X has \d+ rows"),
        (lambda n: np.ones((n, 2)), "sample_weight must be 1-D"),
        (lambda n: np.zeros(n), "sample_weight is zero for every row"),
        (lambda n: ["a"] * n, "sample_weight must hold numbers"),
    ],
    ids=["negative", "nan", "inf", "length", "2-d", "all-zero", "strings"],
)
@pytest.mark.parametrize("kind", ["linear", "logistic"])
def test_bad_weights_are_refused_naming_sample_weight(kind, weights, match):
    X, y = make_linear(n=30) if kind == "linear" else make_logistic(n=30)
    est = (
        BayesianLinearRegression(**KNOWN, method="map")
        if kind == "linear"
        else BayesianLogisticRegression(method="map")
    )
    est.fit(X, y)
    with pytest.raises(ValueError, match=match):
        est.fit(X, y, sample_weight=weights(len(y)))
    assert not hasattr(est, "coef_")  # a failed fit leaves the estimator unfitted


def test_weights_that_leave_one_class_are_refused():
    X, y = make_logistic(n=40)
    with pytest.raises(ValueError, match="sample_weight is zero for every row of class 0"):
        BayesianLogisticRegression(method="map").fit(X, y, sample_weight=y.astype(float))


def test_weights_are_not_modified_and_a_scalar_is_one_weight_for_all():
    X, y = make_linear()
    w = real_weights(len(y))
    before = w.copy()
    BayesianLinearRegression(**KNOWN, method="map").fit(X, y, sample_weight=w)
    np.testing.assert_array_equal(w, before)
    scalar = BayesianLinearRegression(**KNOWN, method="map").fit(X, y, sample_weight=2.0)
    np.testing.assert_allclose(
        scalar.coef_, Ridge(alpha=1.3**2 / 0.8**2).fit(X, y, sample_weight=2.0).coef_, rtol=1e-8
    )


# --- the pointwise log likelihood, saved fits ---------------------------------------------------------


def test_log_likelihood_holds_the_weighted_terms():
    X, y = make_linear()
    w = real_weights(len(y))
    kw = dict(**KNOWN, method="exact", random_state=0)
    weighted = BayesianLinearRegression(**kw).fit(X, y, sample_weight=w)
    plain = BayesianLinearRegression(**kw).fit(X, y)  # same seed: the draws differ, so recompute
    coef, intercept, extra = weighted._draws_from(weighted.idata_)
    keep = np.flatnonzero(w > 0)  # rows of weight zero are not part of the data conditioned on
    per_row = plain._pointwise_log_likelihood(X[keep], y[keep], coef, intercept, extra)
    idata = weighted.idata_
    log_lik = idata["log_likelihood"]["y"].values.reshape(per_row.shape)
    np.testing.assert_allclose(log_lik, per_row * w[keep], rtol=1e-12)
    for group in ("log_likelihood", "observed_data", "constant_data"):
        np.testing.assert_array_equal(idata[group]["obs"].values, keep)
    np.testing.assert_array_equal(idata["constant_data"]["sample_weight"].values, w[keep])
    np.testing.assert_array_equal(idata["observed_data"]["y"].values, y[keep])
    loo = az.loo(idata)  # PSIS on the weighted terms: each row left out with all its weight
    assert np.isfinite(float(loo["elpd"]))
    assert plain.idata_["log_likelihood"].sizes["obs"] == len(y)


def test_weighted_fit_round_trips_through_save(tmp_path):
    X, y = make_linear()
    w = real_weights(len(y))
    est = BayesianLinearRegression(0.3, noise_sigma=1.3, prior="laplace", method="map").fit(
        X, y, sample_weight=w
    )
    est.save(tmp_path / "fit.nc")
    loaded = BayesianLinearRegression.load(tmp_path / "fit.nc")
    assert loaded.n_samples_fit_ == est.n_samples_fit_
    assert isinstance(loaded.n_samples_fit_, float)
    assert loaded.penalty().value == est.penalty().value  # the Lasso twin's alpha needs Σw
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    exact = BayesianLinearRegression(**KNOWN, method="exact", random_state=0).fit(X, y, sample_weight=w)
    exact.save(tmp_path / "exact.nc")
    back = BayesianLinearRegression.load(tmp_path / "exact.nc")
    np.testing.assert_array_equal(back.idata_["constant_data"]["sample_weight"].values, w[w > 0])
    np.testing.assert_array_equal(back.idata_["log_likelihood"]["obs"].values, np.flatnonzero(w > 0))
    np.testing.assert_array_equal(back.predict(X), exact.predict(X))


# --- NUTS: the weighted likelihood is the one sampled ---------------------------------------------------


@pytest.mark.slow
def test_nuts_with_weights_agrees_with_the_exact_weighted_posterior():
    X, y = make_linear()
    w = real_weights(len(y))
    est = BayesianLinearRegression(**KNOWN, draws=500, tune=500, chains=4, random_state=11, progressbar=False)
    est.fit(X, y, sample_weight=w)
    exact = est.exact_posterior_
    mcse = az.mcse(est.idata_["posterior"].to_dataset())
    assert est.convergence_.converged
    z = (est.coef_ - exact.coef_mean) / mcse["coef"].values
    assert np.all(np.abs(z) < 4), z
    assert abs(est.intercept_ - exact.intercept_mean) < 4 * float(mcse["intercept"])
    np.testing.assert_allclose(est.coef_sd_, exact.coef_sd, rtol=0.15)
    # The exact posterior itself is the weighted one: Ridge with the weights.
    ridge = Ridge(alpha=1.3**2 / 0.8**2).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(exact.coef_mean, ridge.coef_, rtol=1e-8)
    assert est.idata_["log_likelihood"].sizes["obs"] == np.count_nonzero(w)


@pytest.mark.slow
def test_nuts_logistic_with_integer_weights_agrees_with_repeated_rows():
    X, y = make_logistic(n=60)
    w = integer_weights(60)
    kw = dict(prior_sigma=1.0, draws=500, tune=500, chains=4, progressbar=False, compute_log_likelihood=False)
    weighted = BayesianLogisticRegression(**kw, random_state=12).fit(X, y, sample_weight=w)
    repeated = BayesianLogisticRegression(**kw, random_state=13).fit(*repeat(X, y, w))
    assert weighted.convergence_.converged and repeated.convergence_.converged
    se = np.hypot(
        az.mcse(weighted.idata_["posterior"].to_dataset())["coef"].values,
        az.mcse(repeated.idata_["posterior"].to_dataset())["coef"].values,
    )
    z = (weighted.coef_ - repeated.coef_) / se
    assert np.all(np.abs(z) < 4), z

"""Fitting on data in chunks gives the posterior of the whole data, with bounded memory.

The dask tests need the ``dask`` libraries, which the ``test`` extra installs; they fail rather
than skip under CI=true, so a missing dependency cannot pass for a green run.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from bayesreg import BayesianLinearRegression
from bayesreg.estimators.chunks import BlockStream, is_chunked_input

EXACT = dict(noise_sigma=1.5, prior_sigma=0.7, method="exact", compute_log_likelihood=False)


def make_data(n=5000, p=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(loc=2.0, size=(n, p)) * [1.0, 10.0, 0.1, 3.0][:p]
    y = 4.0 + X @ rng.normal(size=p) + rng.normal(scale=1.5, size=n)
    return X, y


def blocks_of(X, y, rows):
    return ((X[s : s + rows], y[s : s + rows]) for s in range(0, len(y), rows))


def dask_or_fail():
    if os.environ.get("CI", "").lower() == "true":
        import dask  # noqa: F401  (an ImportError fails the test under CI)
    return pytest.importorskip("dask")


@pytest.mark.parametrize("rows", [1, 7, 1000, 5000])
def test_exact_posterior_from_blocks_equals_the_whole_data(rows):
    X, y = make_data(n=3000 if rows > 1 else 200)
    whole = BayesianLinearRegression(**EXACT).fit(X, y)
    chunked = BayesianLinearRegression(**EXACT).fit(blocks_of(X, y, rows))
    # Both are the same linear solve on statistics that differ by QR rounding only.
    np.testing.assert_allclose(chunked.coef_, whole.coef_, rtol=1e-10, atol=1e-12)
    assert chunked.intercept_ == pytest.approx(whole.intercept_, rel=1e-10)
    np.testing.assert_allclose(
        chunked.exact_posterior_.coef_cov, whole.exact_posterior_.coef_cov, rtol=1e-9, atol=1e-15
    )
    assert chunked.n_features_in_ == X.shape[1]
    assert "observed_data" not in chunked.idata_.children
    np.testing.assert_allclose(chunked.predict(X[:5]), whole.predict(X[:5]), rtol=1e-10)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_unknown_noise_map_from_blocks_equals_the_whole_data(fit_intercept):
    # The default noise prior scale is sd(y), which the chunked fit gets from the merged moments.
    X, y = make_data()
    kw = dict(method="map", fit_intercept=fit_intercept, compute_log_likelihood=False)
    whole = BayesianLinearRegression(**kw).fit(X, y)
    chunked = BayesianLinearRegression(**kw).fit(list(blocks_of(X, y, 999)))
    np.testing.assert_allclose(chunked.map_coef_, whole.map_coef_, rtol=1e-8)
    assert chunked.map_noise_sigma_ == pytest.approx(whole.map_noise_sigma_, rel=1e-8)


def test_hierarchical_map_from_blocks_equals_the_whole_data():
    X, y = make_data()
    kw = dict(noise_sigma=1.5, prior_sigma_prior=2.0, method="map", compute_log_likelihood=False)
    whole = BayesianLinearRegression(**kw).fit(X, y)
    chunked = BayesianLinearRegression(**kw).fit(blocks_of(X, y, 1234))
    # Both modes are certified to a remaining Newton step of 1e-9 in log σ; the statistics differ
    # only by rounding, so the two must agree to that precision (plus the MAP's own 1e-9).
    assert whole.map_converged_ and chunked.map_converged_
    assert chunked.map_prior_sigma_ == pytest.approx(whole.map_prior_sigma_, rel=2e-9)
    np.testing.assert_allclose(chunked.map_coef_, whole.map_coef_, rtol=1e-8)


def test_mcmc_from_blocks_matches_the_exact_posterior_within_mcse():
    import arviz as az

    X, y = make_data(n=20_000)
    est = BayesianLinearRegression(
        0.7,
        noise_sigma=1.5,
        draws=500,
        tune=500,
        chains=4,
        random_state=3,
        progressbar=False,
        compute_log_likelihood=False,
    ).fit(blocks_of(X, y, 3000))
    assert est.convergence_.converged
    exact = est.exact_posterior_
    mcse = az.mcse(est.idata_["posterior"].to_dataset()[["coef"]])["coef"].values
    z = np.abs(est.coef_ - exact.coef_mean) / mcse
    assert np.all(z < 4), z
    assert "observed_data" not in est.idata_.children and "log_likelihood" not in est.idata_.children


def test_dataframe_blocks_name_the_features():
    X, y = make_data(p=3)
    frame = pd.DataFrame(X, columns=["age", "bmi", "bp"])
    blocks = ((frame.iloc[s : s + 500], pd.Series(y[s : s + 500])) for s in range(0, len(y), 500))
    est = BayesianLinearRegression(**EXACT).fit(blocks)
    assert list(est.feature_names_in_) == ["age", "bmi", "bp"]
    assert list(est.idata_["posterior"]["feature"].values) == ["age", "bmi", "bp"]


@pytest.mark.parametrize(
    ("second_block", "message"),
    [
        ((np.ones((3, 4)), np.ones(3)), "block 1 has 4 columns but the first block had 3"),
        ((np.full((3, 3), np.nan), np.ones(3)), r"X \(block 1\) contains NaN"),
        ((np.ones((3, 3)), np.array([1.0, np.inf, 1.0])), r"y \(block 1\) contains infinity"),
        ((np.ones((3, 3)), np.ones(4)), "block 1 have different numbers of rows"),
        (np.ones((3, 3)), "Block 1 is a ndarray, not an \\(X, y\\) pair"),
        (
            (pd.DataFrame(np.ones((3, 3)), columns=["a", "b", "z"]), np.ones(3)),
            r"columns of block 1 \(a, b, z\) differ from the first block's \(a, b, c\)",
        ),
    ],
)
def test_bad_blocks_are_named_in_the_error(second_block, message):
    first = (pd.DataFrame(np.ones((3, 3)) + np.eye(3), columns=["a", "b", "c"]), np.arange(3.0))
    with pytest.raises((ValueError, TypeError), match=message):
        BayesianLinearRegression(**EXACT).fit(iter([first, second_block]))


def test_chunked_fit_needs_compute_log_likelihood_off():
    X, y = make_data()
    est = BayesianLinearRegression(noise_sigma=1.0, method="exact")
    with pytest.raises(ValueError, match="compute_log_likelihood=False"):
        est.fit(blocks_of(X, y, 1000))


def test_empty_or_exhausted_iterators_are_errors():
    X, y = make_data()
    with pytest.raises(ValueError, match="had no blocks"):
        BayesianLinearRegression(**EXACT).fit(iter([]))
    blocks = blocks_of(X, y, 1000)
    BayesianLinearRegression(**EXACT).fit(blocks)
    with pytest.raises(ValueError, match="had no blocks"):  # a generator is read once
        BayesianLinearRegression(**EXACT).fit(blocks)


def test_arrays_are_not_mistaken_for_chunks():
    X, y = make_data(n=10, p=2)
    assert not is_chunked_input(X, y)
    assert not is_chunked_input(X.tolist(), None)  # list of rows: sklearn's "y is None" error
    with pytest.raises(ValueError, match="requires y to be passed"):
        BayesianLinearRegression(**EXACT).fit(X, None)
    stream = BlockStream.from_input([(X, y)])
    list(stream)
    with pytest.raises(RuntimeError, match="already read"):
        list(stream)


def test_dask_array_and_dataframe_give_the_whole_data_posterior():
    dask_or_fail()
    import dask.array as da
    import dask.dataframe as dd

    X, y = make_data(n=4000, p=3)
    whole = BayesianLinearRegression(**EXACT).fit(X, y)
    # Row chunks of X and y differ on purpose: y is rechunked to X's blocks.
    dX, dy = da.from_array(X, chunks=(700, 2)), da.from_array(y, chunks=900)
    from_array = BayesianLinearRegression(**EXACT).fit(dX, dy)
    np.testing.assert_allclose(from_array.coef_, whole.coef_, rtol=1e-10)

    frame = pd.DataFrame(X, columns=["u", "v", "w"]).assign(target=y)
    ddf = dd.from_pandas(frame, npartitions=6)
    from_frame = BayesianLinearRegression(**EXACT).fit(ddf[["u", "v", "w"]], ddf["target"])
    np.testing.assert_allclose(from_frame.coef_, whole.coef_, rtol=1e-10)
    assert list(from_frame.feature_names_in_) == ["u", "v", "w"]


def test_dask_inputs_that_cannot_be_aligned_are_refused():
    dask_or_fail()
    import dask.array as da
    import dask.dataframe as dd

    X, y = make_data(n=100, p=2)
    with pytest.raises(TypeError, match="must both be Dask collections"):
        BayesianLinearRegression(**EXACT).fit(da.from_array(X, chunks=50), y)
    ddf = dd.from_pandas(pd.DataFrame(X, columns=["a", "b"]), npartitions=2)
    other = dd.from_pandas(pd.Series(y), npartitions=3)
    with pytest.raises(ValueError, match="2 partitions and y 3"):
        BayesianLinearRegression(**EXACT).fit(ddf, other)


def test_values_whose_squares_overflow_are_named_in_chunks():
    X, y = make_data(n=200, p=3)
    blocks = [(X[:100], y[:100]), (X[100:] * [1.0, 1e200, 1.0], y[100:])]
    with pytest.raises(ValueError, match=r"Input X \(column \['x1'\]\) has values too large .* overflow"):
        BayesianLinearRegression(**EXACT).fit(iter(blocks))
    blocks = [(X[:100], y[:100]), (X[100:], y[100:] * 1e200)]
    with pytest.raises(ValueError, match=r"Input y has values too large .* overflow"):
        BayesianLinearRegression(**EXACT).fit(iter(blocks))


def test_tiny_y_in_chunks_is_not_called_constant():
    X, y = make_data(n=200, p=2)
    kw = dict(method="map", compute_log_likelihood=False)
    with pytest.raises(ValueError, match=r"Input y varies only by .* underflow"):
        BayesianLinearRegression(**kw).fit(blocks_of(X, y * 1e-200, 50))
    # Blocks that are each constant, at different values, make a y that varies.
    steps = [(X[i : i + 50], np.full(50, float(i))) for i in range(0, 200, 50)]
    assert BayesianLinearRegression(**kw).fit(iter(steps)).map_noise_sigma_ > 0
    same = [(X[i : i + 50], np.full(50, 2.0)) for i in range(0, 200, 50)]
    with pytest.raises(ValueError, match=r"y is constant \(n_samples=200\)"):
        BayesianLinearRegression(**kw).fit(iter(same))

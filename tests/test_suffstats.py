"""The one-pass, block-by-block statistics equal the statistics of all rows at once.

Tolerances come from Householder QR's backward error: the R of ``A`` is the exact R of ``A + δA``
with ``‖δa_j‖ ≤ c·(p+1)·eps·‖a_j‖`` column by column, so every entry of ``RᵀR − AᵀA`` is within
``c·(p+1)·eps·‖a_i‖‖a_j‖``; c = 64 leaves room for the merges.
"""

import itertools

import numpy as np
import pytest

from bayesreg.stats.suffstats import StatsAccumulator, stats_from_blocks, sufficient_stats

EPS = np.finfo(float).eps


def direct(X, y, fit_intercept):
    """Centred cross-products the obvious way, as the reference."""
    xm = X.mean(0) if fit_intercept else np.zeros(X.shape[1])
    ym = y.mean() if fit_intercept else 0.0
    a = np.column_stack([X - xm, y - ym])
    return a, a.T @ a


def assert_gram_close(stats, X, y, fit_intercept):
    a, gram = direct(X, y, fit_intercept)
    norms = np.linalg.norm(a, axis=0)
    tol = 64 * a.shape[1] * EPS * np.outer(norms, norms)
    p = X.shape[1]
    assert np.all(np.abs(stats.xtx - gram[:p, :p]) <= tol[:p, :p])
    assert np.all(np.abs(stats.xty - gram[:p, p]) <= tol[:p, p])
    assert abs(stats.yty - gram[p, p]) <= tol[p, p]
    r = np.column_stack([stats.r_factor, stats.qty])
    assert np.all(np.abs(r.T @ r - gram) <= tol)


def random_splits(n, rng, n_cuts):
    cuts = np.sort(rng.integers(0, n + 1, size=n_cuts))
    return np.concatenate([[0], cuts, [n]])


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("seed", range(4))
def test_any_split_into_blocks_gives_the_statistics_of_all_rows(fit_intercept, seed):
    rng = np.random.default_rng(seed)
    n, p = 257, 6
    X = rng.normal(loc=3.0, size=(n, p)) * rng.uniform(0.1, 10, size=p)
    y = X @ rng.normal(size=p) + 5.0 + rng.normal(size=n)
    edges = random_splits(n, rng, n_cuts=9)  # includes empty and one-row blocks by chance
    blocks = [(X[a:b], y[a:b]) for a, b in itertools.pairwise(edges)]
    stats = stats_from_blocks(blocks, fit_intercept=fit_intercept)
    assert stats.n == n
    assert_gram_close(stats, X, y, fit_intercept)
    if fit_intercept:
        np.testing.assert_allclose(stats.x_mean, X.mean(0), rtol=1e-14)
        assert stats.y_mean == pytest.approx(y.mean(), rel=1e-14)
    else:
        assert np.all(stats.x_mean == 0) and stats.y_mean == 0
    assert stats.y_var == pytest.approx(np.var(y), rel=1e-12)


def test_single_row_blocks_and_fewer_rows_than_columns():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(5, 9)), rng.normal(size=5)
    stats = stats_from_blocks(((X[i : i + 1], y[i : i + 1]) for i in range(5)), fit_intercept=True)
    # Merged factors stack up to p + 1 rows even when n is smaller: RᵀR, hence every RSS, is the same.
    assert stats.r_factor.shape[1] == 9 and stats.r_factor.shape[0] <= 10
    assert_gram_close(stats, X, y, True)


def test_rss_from_the_factor_matches_the_residuals_at_any_coefficients():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(3000, 4))
    y = X @ [1.0, 2.0, -1.0, 0.5] + rng.normal(scale=1e-3, size=3000)  # R² ≈ 1: the hard case
    stats = sufficient_stats(X, y, fit_intercept=True)
    a, _ = direct(X, y, True)
    for w in [np.zeros(4), np.array([1.0, 2.0, -1.0, 0.5]), rng.normal(size=4)]:
        rss_direct = np.sum((a[:, :4] @ w - a[:, 4]) ** 2)
        rss_factor = np.sum((stats.qty - stats.r_factor @ w) ** 2)
        # Each residual entry carries eps·(‖a‖·‖(w, −1)‖) of rounding; squared and summed:
        scale = np.linalg.norm(a) * np.linalg.norm(np.append(w, -1.0))
        assert abs(rss_factor - rss_direct) <= 64 * 5 * EPS * scale * (2 * np.sqrt(rss_direct) + EPS * scale)


def test_blocks_far_from_zero_keep_the_centred_variance():
    # Chan's merge centres each block at its own mean, so an offset of 1e6 costs only the rounding
    # of the data themselves (eps·1e6 per value: ~1e-9 relative on a unit variance).
    rng = np.random.default_rng(3)
    X = 1e6 + rng.normal(size=(4000, 2))
    y = 1e6 + rng.normal(size=4000)
    stats = stats_from_blocks(
        ((X[s : s + 333], y[s : s + 333]) for s in range(0, 4000, 333)), fit_intercept=True
    )
    _a, gram = direct(X, y, True)
    np.testing.assert_allclose(np.diag(stats.xtx), np.diag(gram)[:2], rtol=1e-8)
    assert stats.y_var == pytest.approx(np.var(y), rel=1e-8)


def test_in_memory_statistics_are_split_into_blocks_and_reproducible():
    from bayesreg.stats.suffstats import _block_rows

    rng = np.random.default_rng(4)
    p = 3
    n = 2 * _block_rows(p) + 17  # three blocks
    X, y = rng.normal(size=(n, p)), rng.normal(size=n)
    first = sufficient_stats(X, y, fit_intercept=True)
    second = sufficient_stats(X, y, fit_intercept=True)
    assert np.array_equal(first.r_factor, second.r_factor) and np.array_equal(first.qty, second.qty)
    assert_gram_close(first, X, y, True)


def test_no_rows_is_an_error():
    with pytest.raises(ValueError, match="No rows"):
        stats_from_blocks(iter([]), fit_intercept=True)
    acc = StatsAccumulator(fit_intercept=False)
    acc.add(np.empty((0, 2)), np.empty(0))
    assert acc.n_rows == 0

"""Sufficient statistics of the Gaussian linear model, accumulated in one pass over row blocks.

Everything the Gaussian likelihood needs from ``n`` rows fits in ``O(p²)`` numbers, so the rows can
arrive in blocks and be forgotten: this is what lets :class:`~bayesreg.BayesianLinearRegression`
fit data larger than memory, and fit data in memory without a centred copy of all of it.

Each block is centred at its own mean and reduced to the ``R`` factor of a Householder QR of
``[Xc | yc]``. Two reduced blocks merge exactly: stacking their ``R`` factors and the row
``sqrt(n_a n_b / n) (mean_b − mean_a)`` and taking the ``R`` of that gives the ``R`` of the pooled,
pooled-mean-centred block. (This is Chan, Golub and LeVeque's update of the scatter matrix,
``S = S_a + S_b + n_a n_b / n · δδᵀ``, written for square roots of ``S``; stacking ``R`` factors is
the tall-skinny QR of Demmel et al.)

Rows may carry weights ``w_i ≥ 0`` (scikit-learn's ``sample_weight``: row ``i``'s log-likelihood
term is multiplied by ``w_i``, as if the row were repeated ``w_i`` times). Then every count is a sum
of weights (``n = Σ w``), the means are weighted means, and each centred row enters the QR scaled by
``√w_i``, so that ``RᵀR = [Xc | yc]ᵀ W [Xc | yc]``; the same merge holds with weighted counts. Integer
weights give the statistics of the repeated rows (to rounding), and a zero weight drops its row.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X, y = rng.normal(size=(1000, 3)), rng.normal(size=1000)
>>> acc = StatsAccumulator(fit_intercept=True)
>>> for start in range(0, 1000, 300):
...     acc.add(X[start : start + 300], y[start : start + 300])
>>> stats = acc.result()
>>> whole = sufficient_stats(X, y, fit_intercept=True)
>>> stats.n, bool(np.allclose(stats.xtx, whole.xtx, rtol=1e-12))
(1000, True)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy import linalg
from scipy.linalg import lapack

__all__ = ["StatsAccumulator", "SufficientStats", "stats_from_blocks", "sufficient_stats"]

# Rows per block when an in-memory X is split: about 4 MB of centred copy per block, small enough
# to stay in cache-friendly sizes and large enough that LAPACK runs at full speed.
_BLOCK_BYTES = 4 * 2**20
# Columns per panel of geqrt: the fastest with one BLAS thread on 10⁶ × 51 here (benchmarks/qr_kernels.py).
_QR_PANEL = 8


@dataclass(frozen=True)
class SufficientStats:
    """Everything the Gaussian likelihood needs from the data, after centring.

    Attributes
    ----------
    n : int or float
        Number of rows (an int); with row weights, the sum of the weights ``Σ w`` (a float), which
        takes the place of the row count everywhere in the likelihood.
    fit_intercept : bool
        Whether the data were centred for a flat-prior intercept.
    x_mean, y_mean : ndarray, float
        Column means of X and mean of y, weighted by the row weights if any (zeros when there is
        no intercept).
    xtx : ndarray, shape (p, p)
        ``XcᵀXc`` with ``Xc = X − x̄`` (``XcᵀWXc`` with weights ``W = diag(w)``).
    xty : ndarray, shape (p,)
        ``Xcᵀyc`` (``XcᵀWyc``).
    yty : float
        ``ycᵀyc`` (``ycᵀWyc``).
    r_factor : ndarray, shape (k, p)
        The first ``p`` columns of an ``R`` with ``RᵀR = [Xc | yc]ᵀ[Xc | yc]`` (the R factor of a QR
        decomposition, here of the stacked block factors); ``k ≤ p + 1``.
    qty : ndarray, shape (k,)
        The last column of that ``R``: ``RSS(w) = ‖qty − r_factor w‖²`` exactly, because
        ``Xc w − yc = [Xc | yc] (w, −1)`` and ``RᵀR = [Xc | yc]ᵀ[Xc | yc]``.
    y_var : float
        The variance of y about its mean (``numpy.var(y)``; weighted, ``Σ w (y − ȳ)² / Σ w``),
        whether or not the model centres: it sets the default scale of the noise prior.
    y_range : float
        ``max(y) − min(y)`` (over the rows of positive weight): zero exactly when y is constant,
        which ``y_var`` cannot tell when the squares of a varying y underflow (y of magnitude
        1e-200 has ``y_var == 0.0``).

    Notes
    -----
    ``RSS(w) = yty − 2wᵀxty + wᵀ xtx w`` cancels catastrophically when the fit is good: with
    R² ≈ 0.99998 (posteriordb's ``sblri``) the terms are 5e6 and the RSS 86, and the rounding left in
    the log density stops a MAP optimizer short. ``‖qty − r_factor w‖²`` is a sum of squares of small
    terms, accurate at any conditioning. ``xtx``, ``xty`` and ``yty`` are read off the same ``R``
    (``RᵀR = [Xc | yc]ᵀ[Xc | yc]``), so no second pass over the rows is needed.
    """

    n: int | float
    fit_intercept: bool
    x_mean: np.ndarray
    y_mean: float
    xtx: np.ndarray
    xty: np.ndarray
    yty: float
    r_factor: np.ndarray
    qty: np.ndarray
    y_var: float
    y_range: float


@dataclass(frozen=True)
class _Reduced:
    """``n`` rows reduced: their means and the R factor of ``[X | y]`` centred (or not) at them.

    With row weights, ``n`` is their sum, the means are weighted and ``r`` is the R of the centred
    rows scaled by ``√w``.
    """

    n: int | float
    mean: np.ndarray  # column means of [X | y], always tracked (y's sets y_var)
    r: np.ndarray  # (min(rows, p + 1), p + 1), upper triangular
    y_m2: float  # Σ w (y − ȳ)²
    y_min: float
    y_max: float


def _r_factor(a: np.ndarray) -> np.ndarray:
    """The R of a Householder QR; ``a`` (Fortran order) is overwritten.

    LAPACK's ``geqrt`` (recursive panels, compact-WY blocks) factors these tall-skinny blocks
    faster than ``geqrf``, which ``numpy``/``scipy.linalg.qr`` call (``benchmarks/qr_kernels.py``).
    """
    k = min(a.shape)
    factored, _, info = lapack.dgeqrt(min(_QR_PANEL, k), a, overwrite_a=True)
    if info != 0:
        raise linalg.LinAlgError(f"LAPACK dgeqrt failed (info={info}).")
    return np.triu(factored[:k])


def _reduce_block(X: np.ndarray, y: np.ndarray, fit_intercept: bool, w: np.ndarray | None = None) -> _Reduced:
    if w is not None:
        return _reduce_weighted_block(X, y, fit_intercept, w)
    m, p = X.shape
    mean = np.empty(p + 1)
    mean[:p] = X.mean(axis=0)
    mean[p] = y.mean()
    # Fortran order is what LAPACK factors; writing the centred block straight into it saves the
    # transposing copy scipy would otherwise make.
    a = np.empty((m, p + 1), order="F")
    shift = mean if fit_intercept else np.zeros(p + 1)
    np.subtract(X, shift[:p], out=a[:, :p])
    np.subtract(y, shift[p], out=a[:, p])
    y_m2 = float(np.sum((a[:, p] if fit_intercept else y - mean[p]) ** 2))
    return _Reduced(n=m, mean=mean, r=_r_factor(a), y_m2=y_m2, y_min=float(y.min()), y_max=float(y.max()))


def _reduce_weighted_block(X: np.ndarray, y: np.ndarray, fit_intercept: bool, w: np.ndarray) -> _Reduced:
    """:func:`_reduce_block` of rows with weights ``w`` (positive sum): weighted means, rows × √w."""
    p = X.shape[1]
    total = float(w.sum())
    mean = np.empty(p + 1)
    mean[:p] = (w @ X) / total
    mean[p] = (w @ y) / total
    root = np.sqrt(w)
    shift = mean if fit_intercept else np.zeros(p + 1)
    a = np.empty((X.shape[0], p + 1), order="F")
    np.multiply(X - shift[:p], root[:, None], out=a[:, :p])
    np.multiply(y - shift[p], root, out=a[:, p])
    y_m2 = float(w @ (y - mean[p]) ** 2)
    kept = y[w > 0]
    return _Reduced(
        n=total, mean=mean, r=_r_factor(a), y_m2=y_m2, y_min=float(kept.min()), y_max=float(kept.max())
    )


def _merge(a: _Reduced, b: _Reduced, fit_intercept: bool) -> _Reduced:
    n = a.n + b.n
    delta = b.mean - a.mean
    weight = a.n * b.n / n
    rows = [a.r, b.r]
    if fit_intercept:
        rows.append(np.sqrt(weight) * delta[None, :])
    stacked = np.asfortranarray(np.vstack(rows))
    return _Reduced(
        n=n,
        mean=a.mean + delta * (b.n / n),
        r=_r_factor(stacked),
        y_m2=a.y_m2 + b.y_m2 + weight * delta[-1] ** 2,
        y_min=min(a.y_min, b.y_min),
        y_max=max(a.y_max, b.y_max),
    )


class StatsAccumulator:
    """Fold row blocks ``(X, y)`` into :class:`SufficientStats`, one block at a time.

    Memory holds the ``(p + 1)²`` running statistics and, while a block is being reduced, one
    centred copy of it; nothing grows with the number of rows. Blocks are not validated here (the
    estimator validates them first): they must be finite float arrays of matching shapes.

    Parameters
    ----------
    fit_intercept : bool
        Centre the data (flat-prior intercept) or not.

    Examples
    --------
    >>> import numpy as np
    >>> acc = StatsAccumulator(fit_intercept=True)
    >>> acc.add(np.array([[1.0]]), np.array([0.0]))
    >>> acc.add(np.array([[3.0]]), np.array([2.0]))
    >>> stats = acc.result()
    >>> round(float(stats.xtx[0, 0]), 12), round(float(stats.xty[0]), 12), stats.y_mean
    (2.0, 2.0, 1.0)
    """

    def __init__(self, fit_intercept: bool):
        self.fit_intercept = bool(fit_intercept)
        self._total: _Reduced | None = None

    @property
    def n_rows(self) -> int | float:
        """Rows added so far (the sum of their weights, for weighted rows)."""
        return 0 if self._total is None else self._total.n

    def add(self, X: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> None:
        """Fold in one block: X of shape (m, p), y of shape (m,); p must not change between blocks.

        ``w`` (shape (m,), finite and >= 0) weights the rows; a block whose weights are all zero
        changes nothing. Weighted and unweighted blocks can be mixed (no weights = weights of 1).
        """
        if self._total is not None and X.shape[1] + 1 != self._total.mean.size:
            raise ValueError(f"X has {X.shape[1]} columns; earlier blocks had {self._total.mean.size - 1}.")
        if X.shape[0] == 0 or (w is not None and not np.any(w > 0)):
            return
        block = _reduce_block(X, y, self.fit_intercept, w)
        self._total = block if self._total is None else _merge(self._total, block, self.fit_intercept)

    def result(self) -> SufficientStats:
        """The statistics of every row added so far."""
        if self._total is None:
            raise ValueError(
                "No rows were added: the data had no blocks, or only empty ones (or rows of weight zero)."
            )
        total = self._total
        p = total.mean.size - 1
        r = total.r
        r_factor, qty = r[:, :p], r[:, p]
        centred = self.fit_intercept
        return SufficientStats(
            n=total.n,
            fit_intercept=centred,
            x_mean=total.mean[:p].copy() if centred else np.zeros(p),
            y_mean=float(total.mean[p]) if centred else 0.0,
            xtx=r_factor.T @ r_factor,
            xty=r_factor.T @ qty,
            yty=float(qty @ qty),
            r_factor=r_factor,
            qty=qty,
            y_var=total.y_m2 / total.n,
            y_range=total.y_max - total.y_min,
        )


def stats_from_blocks(blocks: Iterable[tuple[np.ndarray, ...]], *, fit_intercept: bool) -> SufficientStats:
    """Fold a stream of validated ``(X, y)`` or ``(X, y, w)`` blocks into :class:`SufficientStats`, in order.

    Only the block being reduced is held (plus one centred copy of it), so memory is bounded by the
    block size whatever the number of rows.

    Parameters
    ----------
    blocks : iterable of (ndarray (m, p), ndarray (m,)[, ndarray (m,)])
        The rows, and optionally their weights (see :class:`StatsAccumulator`).
    fit_intercept : bool

    Returns
    -------
    SufficientStats

    Examples
    --------
    >>> import numpy as np
    >>> X, y = np.arange(8.0).reshape(4, 2), np.array([1.0, 0.0, 2.0, 5.0])
    >>> stats = stats_from_blocks([(X[:3], y[:3]), (X[3:], y[3:])], fit_intercept=True)
    >>> stats.n, stats.y_mean
    (4, 2.0)
    """
    from threadpoolctl import threadpool_limits

    acc = StatsAccumulator(fit_intercept=fit_intercept)
    # One BLAS thread: on these blocks a second one gains nothing here, and OpenBLAS threads that
    # compete with another busy process slow single blocks down many-fold (benchmarks/qr_kernels.py).
    with threadpool_limits(limits=1, user_api="blas"):
        for block in blocks:
            acc.add(*block)
    return acc.result()


def _block_rows(n_features: int) -> int:
    """Rows per block for an in-memory X with ``n_features`` columns (about 4 MB per block)."""
    return max(1024, _BLOCK_BYTES // (8 * (n_features + 1)))


def sufficient_stats(
    X: np.ndarray, y: np.ndarray, *, fit_intercept: bool, sample_weight: np.ndarray | None = None
) -> SufficientStats:
    """Centred cross-products of ``X`` and ``y`` (see :class:`SufficientStats`).

    ``sample_weight`` (finite, >= 0, not all zero) weights the rows: integer weights give the
    statistics of the rows repeated that many times.

    Examples
    --------
    >>> import numpy as np
    >>> stats = sufficient_stats(np.array([[1.0], [3.0]]), np.array([0.0, 2.0]), fit_intercept=True)
    >>> round(float(stats.xtx[0, 0]), 12), round(float(stats.xty[0]), 12), stats.y_mean
    (2.0, 2.0, 1.0)
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise ValueError(f"X must be 2-D and y 1-D with as many rows; got {X.shape} and {y.shape}.")
    rows = _block_rows(X.shape[1])
    if sample_weight is None:
        blocks: Iterable[tuple[np.ndarray, ...]] = (
            (X[s : s + rows], y[s : s + rows]) for s in range(0, X.shape[0], rows)
        )
    else:
        w = np.asarray(sample_weight, dtype=float)
        if w.shape != y.shape:
            raise ValueError(f"sample_weight must have shape {y.shape}; got {w.shape}.")
        blocks = ((X[s : s + rows], y[s : s + rows], w[s : s + rows]) for s in range(0, X.shape[0], rows))
    return stats_from_blocks(blocks, fit_intercept=fit_intercept)

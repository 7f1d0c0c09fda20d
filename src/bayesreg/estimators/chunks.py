"""Data in chunks: an iterator of ``(X, y)`` or ``(X, y, w)`` blocks, or Dask collections, as checked blocks.

The Gaussian linear model needs only its sufficient statistics (:mod:`bayesreg.stats.suffstats`), so it can
be fitted on more rows than fit in memory: ``BayesianLinearRegression().fit(blocks)`` reads the
blocks once, in order, and keeps ``O(p²)`` numbers. This module recognises such input, checks each
block as it arrives (numeric, finite, matching shapes and column names) and yields plain float
arrays. Dask arrays and DataFrames (the optional ``dask`` extra) are read one block or partition at
a time; dask itself is only imported when the input already is a Dask collection.

While the blocks are read, :meth:`BlockStream.showing_progress` shows how far the read is (blocks
and rows so far, of how many blocks when that is known: a list's length, a Dask collection's blocks
or partitions); the estimator's ``progressbar=False`` silences it.

Rows may be weighted (``sample_weight``): each block then carries its weights as a third element,
``(X_block, y_block, w_block)`` (or, for Dask input, ``sample_weight`` is a Dask collection aligned
with ``y``). Either every block has weights or none has.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> blocks = [(rng.normal(size=(100, 2)), rng.normal(size=100)) for _ in range(3)]
>>> stream = BlockStream.from_input(iter(blocks))
>>> [X.shape for X, y in stream]
[(100, 2), (100, 2), (100, 2)]
>>> stream.n_features, stream.n_rows
(2, 300)
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterable, Iterator, Sized
from typing import Any

import numpy as np

from bayesreg.estimators.progress import ProgressBar
from bayesreg.estimators.validation import check_feature_frame, check_sample_weight

__all__ = ["BlockStream", "is_chunked_input"]


def _is_dask(obj: Any) -> bool:
    if "dask" not in sys.modules:  # nothing made with dask can exist unless dask is imported
        return False
    import dask

    return dask.is_dask_collection(obj)


def _looks_like_block(item: Any) -> bool:
    return isinstance(item, tuple) and len(item) in (2, 3) and hasattr(item[0], "shape")


def is_chunked_input(X: Any, y: Any) -> bool:
    """Whether ``fit(X, y)`` was given data in chunks rather than one array.

    Chunked input is a Dask array or DataFrame ``X`` (with a Dask ``y``), or, with ``y=None``, an
    iterator of ``(X_block, y_block)`` pairs (or ``(X_block, y_block, w_block)`` triples, with row
    weights), or a list or tuple of such pairs or triples.

    Examples
    --------
    >>> import numpy as np
    >>> X, y = np.ones((4, 2)), np.ones(4)
    >>> is_chunked_input(X, y), is_chunked_input(iter([(X, y)]), None), is_chunked_input([(X, y)], None)
    (False, True, True)
    """
    if _is_dask(X) or _is_dask(y):
        return True
    if y is not None:
        return False
    if isinstance(X, Iterator):
        return True
    return isinstance(X, list | tuple) and len(X) > 0 and all(_looks_like_block(b) for b in X)


class BlockStream:
    """Checked float blocks from chunked input, read once, in order.

    Iterating yields ``(X_block, y_block)`` as float64 arrays and checks, block by block, that X is
    2-D, numeric and finite with the same columns (and column names) as the first block, and that y
    is 1-D, finite and as long as X. Weighted blocks ``(X_block, y_block, w_block)`` are yielded as
    triples, their weights checked like ``sample_weight`` (1-D, finite, >= 0, as long as X; a block
    may be all zero, the whole stream may not). ``n_features``, ``feature_names`` and ``weighted``
    are known once the first block has been read, ``n_rows`` and ``weight_sum`` once the whole
    stream has. ``n_blocks`` counts the blocks read so far, ``total_blocks`` is how many there are
    when that is known before reading (None for an iterator).

    Use :meth:`from_input` to build one from what a user passed to ``fit``.
    """

    def __init__(self, blocks: Iterable[tuple[Any, ...]], *, source: str, total_blocks: int | None = None):
        self._blocks = blocks
        self._source = source
        self._consumed = False
        self._bar: ProgressBar | None = None
        self.total_blocks = total_blocks
        self.n_blocks = 0
        self.n_features: int | None = None
        self.feature_names: np.ndarray | None = None
        self.n_rows = 0
        self.weighted: bool | None = None  # whether the blocks carry row weights
        self.weight_sum = 0.0

    @classmethod
    def from_input(cls, X: Any, y: Any = None, sample_weight: Any = None) -> BlockStream:
        """Wrap an iterator/list of ``(X, y)`` or ``(X, y, w)`` blocks, or Dask ``X``, ``y`` (and weights).

        Raises
        ------
        TypeError
            When only one of X and y is a Dask collection, or they are of kinds that cannot be
            aligned block by block; or when ``sample_weight`` is given beside an iterator of blocks
            (whose weights are the blocks' third elements).
        """
        if _is_dask(X) or _is_dask(y):
            return cls(_dask_blocks(X, y, sample_weight), source="dask", total_blocks=_dask_block_count(X))
        if y is not None:
            raise TypeError("Chunked input is an iterator of (X, y) blocks with y=None, or Dask X and y.")
        if sample_weight is not None:
            raise TypeError(
                "With chunked input the row weights come with the rows: make each block a triple "
                "(X_block, y_block, w_block) and leave sample_weight=None."
            )
        total = len(X) if isinstance(X, Sized) and not isinstance(X, Iterator) else None
        return cls(iter(X), source="blocks", total_blocks=total)

    @contextlib.contextmanager
    def showing_progress(self, enabled: bool = True) -> Iterator[BlockStream]:
        """Show a progress bar (blocks, and rows so far) while the stream is read inside the block.

        ``enabled=False`` shows nothing; see :class:`~bayesreg.estimators.progress.ProgressBar`.

        Examples
        --------
        >>> import numpy as np
        >>> stream = BlockStream.from_input([(np.ones((5, 2)), np.ones(5))] * 4)
        >>> with stream.showing_progress():
        ...     n = sum(len(y) for X, y in stream)
        >>> stream.n_blocks, stream.total_blocks, stream.n_rows
        (4, 4, 20)
        """
        with ProgressBar("reading blocks", total=self.total_blocks, enabled=enabled) as bar:
            self._bar = bar
            try:
                yield self
            finally:
                self._bar = None

    def __iter__(self) -> Iterator[tuple[np.ndarray, ...]]:
        if self._consumed:
            raise RuntimeError(
                "These blocks were already read: an iterator can be read only once. Pass a new "
                "iterator (or a list of blocks) to fit again."
            )
        self._consumed = True
        for index, item in enumerate(self._blocks):
            X_block, y_block, w_block = self._unpack(index, item)
            block = self._check(index, X_block, y_block, w_block)
            self.n_blocks = index + 1
            if self._bar is not None:
                self._bar.update(self.n_blocks, status=f"{self.n_rows:,} rows")
            yield block
        if self.n_features is None:
            raise ValueError(f"The chunked input ({self._source}) had no blocks: there is nothing to fit.")
        if self.weighted and not self.weight_sum > 0:
            raise ValueError(
                f"The weights of the chunked input (sample_weight, the third element of each block) are "
                f"zero for every one of its {self.n_rows} rows: at least one weight must be positive "
                "(a zero weight ignores its row, so there would be nothing to fit)."
            )

    def _unpack(self, index: int, item: Any) -> tuple[Any, Any, Any]:
        if not (isinstance(item, tuple | list) and len(item) in (2, 3)):
            raise TypeError(
                f"Block {index} is a {type(item).__name__}, not an (X, y) pair or (X, y, w) triple: "
                "chunked input must yield tuples (X_block, y_block), or (X_block, y_block, w_block) "
                "with row weights."
            )
        weighted = len(item) == 3
        if self.weighted is None:
            self.weighted = weighted
        elif weighted != self.weighted:
            first = "had weights (X, y, w)" if self.weighted else "had none (X, y)"
            raise ValueError(
                f"Block {index} {'has' if weighted else 'has no'} weights but the first block {first}: "
                "give every block its sample weights as a third element, or none."
            )
        return item[0], item[1], item[2] if weighted else None

    def _check(self, index: int, X_block: Any, y_block: Any, w_block: Any = None) -> tuple[np.ndarray, ...]:
        from sklearn.utils.validation import check_array, column_or_1d

        where = f"block {index}"
        check_feature_frame(X_block)
        names = _string_columns(X_block)
        X_arr = check_array(X_block, dtype=np.float64, ensure_min_samples=0, input_name=f"X ({where})")
        y_arr = column_or_1d(
            check_array(
                y_block, dtype=np.float64, ensure_2d=False, ensure_min_samples=0, input_name=f"y ({where})"
            )
        )
        if y_arr.shape[0] != X_arr.shape[0]:
            raise ValueError(
                f"X and y of {where} have different numbers of rows ({X_arr.shape[0]} and "
                f"{y_arr.shape[0]}); each block must pair X rows with their y values."
            )
        if self.n_features is None:
            self.n_features = X_arr.shape[1]
            self.feature_names = names
        elif X_arr.shape[1] != self.n_features:
            raise ValueError(
                f"X of {where} has {X_arr.shape[1]} columns but the first block had "
                f"{self.n_features}; every block must have the same columns."
            )
        elif not _same_names(names, self.feature_names):
            raise ValueError(
                f"The columns of {where} ({_describe(names)}) differ from the first block's "
                f"({_describe(self.feature_names)}); every block must have the same columns, in order."
            )
        self.n_rows += X_arr.shape[0]
        if w_block is None:
            return X_arr, y_arr
        w_arr = check_sample_weight(w_block, X_arr.shape[0], where=f" ({where})", allow_all_zero=True)
        if w_arr is None:  # a block triple whose third element is None
            raise ValueError(
                f"The weights of {where} are None: a weighted block is (X_block, y_block, w_block) "
                "with an array of weights."
            )
        self.weight_sum += float(w_arr.sum())
        return X_arr, y_arr, w_arr


def _string_columns(X: Any) -> np.ndarray | None:
    """Column names as sklearn keeps them (``feature_names_in_``): only when all are strings.

    A DataFrame is recognised as sklearn recognises it (by narwhals: pandas, polars, pyarrow, ...).
    """
    import narwhals.stable.v2 as nw

    if not nw.dependencies.is_into_dataframe(X):
        return None
    names = list(nw.from_native(X, eager_only=True).columns)
    if names and all(isinstance(c, str) for c in names):
        return np.asarray(names, dtype=object)
    return None


def _same_names(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a.shape == b.shape and bool(np.all(a == b))


def _describe(names: np.ndarray | None) -> str:
    return "no column names" if names is None else ", ".join(map(str, names))


def _dask_block_count(X: Any) -> int | None:
    """How many blocks :func:`_dask_blocks` will yield: row blocks of an array, partitions of a frame."""
    numblocks = getattr(X, "numblocks", None)
    if numblocks:
        return int(numblocks[0])
    npartitions = getattr(X, "npartitions", None)
    return int(npartitions) if isinstance(npartitions, int) else None


def _dask_blocks(X: Any, y: Any, w: Any = None) -> Iterator[tuple[Any, ...]]:
    """Compute Dask X and y (and weights w) one row block (array) or partition (DataFrame) at a time."""
    import dask
    import dask.array as da

    if not (_is_dask(X) and _is_dask(y)):
        raise TypeError(
            "X and y must both be Dask collections (e.g. a Dask DataFrame and one of its columns), "
            f"not {type(X).__name__} and {type(y).__name__}; or pass an iterator of (X, y) blocks."
        )
    if w is not None and not _is_dask(w):
        raise TypeError(
            f"X and y are Dask collections, so sample_weight must be one too (got {type(w).__name__}), "
            "split like y (e.g. another column of the same Dask DataFrame)."
        )
    columns = [y] if w is None else [y, w]  # the 1-D collections whose rows go with X's
    if isinstance(X, da.Array):
        yield from _dask_array_blocks(X, columns)
        return
    if not hasattr(X, "npartitions") or not all(hasattr(c, "npartitions") for c in columns):
        raise TypeError(
            f"Unsupported Dask input: X is {type(X).__name__}, y is {type(y).__name__}. Use a Dask "
            "array pair or a Dask DataFrame with a Dask Series (and a Dask Series of weights)."
        )
    if any(c.npartitions != X.npartitions for c in columns):
        weights = "" if w is None else f" and sample_weight {w.npartitions}"
        raise ValueError(
            f"X has {X.npartitions} partitions and y {y.npartitions}{weights}: take them from the same "
            "Dask DataFrame (e.g. df[features], df[target], df[weight]) so their partitions line up."
        )
    for i in range(X.npartitions):
        # One compute call per partition: X and y share the graph that reads the partition.
        yield dask.compute(X.get_partition(i), *(c.get_partition(i) for c in columns))


def _dask_array_blocks(X: Any, columns: list[Any]) -> Iterator[tuple[Any, ...]]:
    """Compute a Dask array X and its 1-D companions (y, and the weights) one row block at a time."""
    import dask
    import dask.array as da

    y = columns[0]
    if not all(isinstance(c, da.Array) for c in columns):
        raise TypeError(
            f"X is a Dask array, so y must be one too (got {type(y).__name__}); use y.to_dask_array("
            "lengths=True) or pass X as a Dask DataFrame. The same holds for sample_weight."
        )
    if X.ndim != 2 or any(c.ndim != 1 for c in columns):
        shapes = " and ".join(f"{c.ndim}-D" for c in columns)
        raise ValueError(f"Dask X must be 2-D and y (and sample_weight) 1-D; got {X.ndim}-D and {shapes}.")
    if any(np.isnan(c) for a in (X, *columns) for c in a.chunks[0]):
        raise ValueError(
            "The Dask arrays have unknown chunk sizes; call X.compute_chunk_sizes() and "
            "y.compute_chunk_sizes() first."
        )
    if any(c.shape[0] != X.shape[0] for c in columns):
        rows = " and ".join(str(c.shape[0]) for c in columns)
        raise ValueError(
            f"X and y (and sample_weight) have different numbers of rows ({X.shape[0]} and {rows})."
        )
    X = X.rechunk({1: -1})  # whole rows per block
    columns = [c.rechunk((X.chunks[0],)) for c in columns]
    for i in range(X.numblocks[0]):
        yield dask.compute(X.blocks[i], *(c.blocks[i] for c in columns))

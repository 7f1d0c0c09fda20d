"""Data in chunks: an iterator of ``(X, y)`` blocks, or Dask collections, turned into checked blocks.

The Gaussian linear model needs only its sufficient statistics (:mod:`bayesreg.stats.suffstats`), so it can
be fitted on more rows than fit in memory: ``BayesianLinearRegression().fit(blocks)`` reads the
blocks once, in order, and keeps ``O(p²)`` numbers. This module recognises such input, checks each
block as it arrives (numeric, finite, matching shapes and column names) and yields plain float
arrays. Dask arrays and DataFrames (the optional ``dask`` extra) are read one block or partition at
a time; dask itself is only imported when the input already is a Dask collection.

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

import sys
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from bayesreg.estimators.validation import check_feature_frame

__all__ = ["BlockStream", "is_chunked_input"]


def _is_dask(obj: Any) -> bool:
    if "dask" not in sys.modules:  # nothing made with dask can exist unless dask is imported
        return False
    import dask

    return dask.is_dask_collection(obj)


def _looks_like_block(item: Any) -> bool:
    return isinstance(item, tuple) and len(item) == 2 and hasattr(item[0], "shape")


def is_chunked_input(X: Any, y: Any) -> bool:
    """Whether ``fit(X, y)`` was given data in chunks rather than one array.

    Chunked input is a Dask array or DataFrame ``X`` (with a Dask ``y``), or, with ``y=None``, an
    iterator of ``(X_block, y_block)`` pairs, or a list or tuple of such pairs.

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
    is 1-D, finite and as long as X. ``n_features``, ``feature_names`` and ``n_rows`` are known once
    the first block (``n_features``) or the whole stream (``n_rows``) has been read.

    Use :meth:`from_input` to build one from what a user passed to ``fit``.
    """

    def __init__(self, blocks: Iterable[tuple[Any, Any]], *, source: str):
        self._blocks = blocks
        self._source = source
        self._consumed = False
        self.n_features: int | None = None
        self.feature_names: np.ndarray | None = None
        self.n_rows = 0

    @classmethod
    def from_input(cls, X: Any, y: Any = None) -> BlockStream:
        """Wrap an iterator/list of ``(X, y)`` blocks, or Dask ``X`` and ``y``.

        Raises
        ------
        TypeError
            When only one of X and y is a Dask collection, or they are of kinds that cannot be
            aligned block by block.
        """
        if _is_dask(X) or _is_dask(y):
            return cls(_dask_blocks(X, y), source="dask")
        if y is not None:
            raise TypeError("Chunked input is an iterator of (X, y) blocks with y=None, or Dask X and y.")
        return cls(iter(X), source="blocks")

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        if self._consumed:
            raise RuntimeError(
                "These blocks were already read: an iterator can be read only once. Pass a new "
                "iterator (or a list of blocks) to fit again."
            )
        self._consumed = True
        for index, item in enumerate(self._blocks):
            X_block, y_block = self._unpack(index, item)
            yield self._check(index, X_block, y_block)
        if self.n_features is None:
            raise ValueError(f"The chunked input ({self._source}) had no blocks: there is nothing to fit.")

    def _unpack(self, index: int, item: Any) -> tuple[Any, Any]:
        if not (isinstance(item, tuple | list) and len(item) == 2):
            raise TypeError(
                f"Block {index} is a {type(item).__name__}, not an (X, y) pair: chunked input must "
                "yield tuples (X_block, y_block)."
            )
        return item[0], item[1]

    def _check(self, index: int, X_block: Any, y_block: Any) -> tuple[np.ndarray, np.ndarray]:
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
        return X_arr, y_arr


def _string_columns(X: Any) -> np.ndarray | None:
    """Column names as sklearn keeps them (``feature_names_in_``): only when all are strings."""
    columns = getattr(X, "columns", None)
    if columns is None:
        return None
    names = list(columns)
    if names and all(isinstance(c, str) for c in names):
        return np.asarray(names, dtype=object)
    return None


def _same_names(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a.shape == b.shape and bool(np.all(a == b))


def _describe(names: np.ndarray | None) -> str:
    return "no column names" if names is None else ", ".join(map(str, names))


def _dask_blocks(X: Any, y: Any) -> Iterator[tuple[Any, Any]]:
    """Compute Dask X and y one row block (array) or partition (DataFrame) at a time."""
    import dask
    import dask.array as da

    if not (_is_dask(X) and _is_dask(y)):
        raise TypeError(
            "X and y must both be Dask collections (e.g. a Dask DataFrame and one of its columns), "
            f"not {type(X).__name__} and {type(y).__name__}; or pass an iterator of (X, y) blocks."
        )
    if isinstance(X, da.Array):
        if not isinstance(y, da.Array):
            raise TypeError(
                f"X is a Dask array, so y must be one too (got {type(y).__name__}); use y.to_dask_array("
                "lengths=True) or pass X as a Dask DataFrame."
            )
        if X.ndim != 2 or y.ndim != 1:
            raise ValueError(f"Dask X must be 2-D and y 1-D; got {X.ndim}-D and {y.ndim}-D.")
        if any(np.isnan(c) for c in X.chunks[0]) or any(np.isnan(c) for c in y.chunks[0]):
            raise ValueError(
                "The Dask arrays have unknown chunk sizes; call X.compute_chunk_sizes() and "
                "y.compute_chunk_sizes() first."
            )
        if X.shape[0] != y.shape[0]:
            raise ValueError(f"X and y have different numbers of rows ({X.shape[0]} and {y.shape[0]}).")
        X = X.rechunk({1: -1})  # whole rows per block
        y = y.rechunk((X.chunks[0],))
        for i in range(X.numblocks[0]):
            yield dask.compute(X.blocks[i], y.blocks[i])
        return
    if not hasattr(X, "npartitions") or not hasattr(y, "npartitions"):
        raise TypeError(
            f"Unsupported Dask input: X is {type(X).__name__}, y is {type(y).__name__}. Use a Dask "
            "array pair or a Dask DataFrame with a Dask Series."
        )
    if X.npartitions != y.npartitions:
        raise ValueError(
            f"X has {X.npartitions} partitions and y {y.npartitions}: take both from the same Dask "
            "DataFrame (e.g. df[features] and df[target]) so their partitions line up."
        )
    for i in range(X.npartitions):
        # One compute call per partition: X and y share the graph that reads the partition.
        yield dask.compute(X.get_partition(i), y.get_partition(i))

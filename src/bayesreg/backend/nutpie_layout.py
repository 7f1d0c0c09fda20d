"""The flat parameter vector nutpie samples, and the log density graph its callbacks compile from.

:class:`Layout` names and shapes the free variables (the flat vector, in order) and the other
stored variables; every route to a nutpie model needs it. :class:`Pieces` adds PyMC's log density
graph and its data containers, which only the derived route (:mod:`bayesreg.backend.numba_callbacks`)
compiles, and their fingerprint, which keys that route's disk cache. Nothing here imports numba or
nutpie: a model on a fixed density samples without loading either compiler (issue 14).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from importlib.metadata import version
from math import prod

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.basic import Variable
from pytensor.graph.traversal import graph_inputs

from bayesreg.backend.disk_cache import Unfingerprintable, fingerprint

__all__ = ["Layout", "Pieces", "layout", "pieces"]

# Bump when the callbacks' data layout changes (their source is part of every key anyway).
_FORMAT = "1"


@dataclasses.dataclass(frozen=True)
class Layout:
    """The variables nutpie samples and stores, and their shapes: what every route needs."""

    free_names: list[str]  # value variables, in the order of the flat vector
    free_shapes: list[tuple[int, ...]]
    remaining: list[Variable]  # the other stored variables (deterministics, untransformed values)
    remaining_shapes: list[tuple[int, ...]]

    @property
    def n_dim(self) -> int:
        """The length of the flat vector nutpie samples."""
        return sum(prod(s) for s in self.free_shapes)

    @property
    def names(self) -> list[str]:
        """Every stored variable's name: the free ones first, in the flat vector's order."""
        return [*self.free_names, *(str(v.name) for v in self.remaining)]

    @property
    def shapes(self) -> list[tuple[int, ...]]:
        """The shapes of :attr:`names`, in the same order."""
        return [*self.free_shapes, *self.remaining_shapes]


@dataclasses.dataclass(frozen=True)
class Pieces(Layout):
    """The layout and the log density graph the derived callbacks are compiled from."""

    logp: Variable  # unrewritten, with the Jacobian of the transforms
    shared: list[SharedVariable]  # data and dimension lengths, sorted by name: the callback's arguments

    def fingerprint(self, model: pm.Model, *sources: str) -> str:
        """The disk-cache key of callbacks compiled from these pieces with the given ``sources``."""
        return fingerprint(
            [],
            [self.logp, *self.remaining],
            *sources,
            f"nutpie_model {_FORMAT}, nutpie {version('nutpie')}",
            f"check_bounds={model.check_bounds}",
            f"free={list(zip(self.free_names, self.free_shapes, strict=True))}",
            f"remaining={[v.name for v in self.remaining]}, {self.remaining_shapes}",
            f"shared={[(v.name, str(v.type)) for v in self.shared]}",
        )


def layout(model: pm.Model, point: dict[str, np.ndarray]) -> Layout:
    """The free and stored variables of ``model`` and their shapes at ``point`` (its initial point).

    Examples
    --------
    >>> import pymc as pm
    >>> with pm.Model() as model:
    ...     w = pm.Normal("w", shape=3)
    ...     s = pm.HalfNormal("s")
    >>> found = layout(model, model.initial_point())
    >>> found.names, found.n_dim
    (['w', 's_log__', 's'], 4)
    """
    free_values = [model.rvs_to_values[rv] for rv in model.free_RVs]
    free_names = [v.name for v in free_values]
    remaining = [v for v in model.unobserved_value_vars if v.name not in set(free_names)]
    shapes = _shapes(model, [*free_values, *remaining], point)
    return Layout(
        free_names=free_names,
        free_shapes=shapes[: len(free_names)],
        remaining=remaining,
        remaining_shapes=shapes[len(free_names) :],
    )


def pieces(model: pm.Model, point: dict[str, np.ndarray]) -> Pieces:
    """The layout plus the log density graph (building it takes PyMC about 0.05 s).

    Examples
    --------
    >>> import pymc as pm
    >>> with pm.Model() as model:
    ...     x = pm.Data("x", [1.0, 2.0])
    ...     w = pm.Normal("w", x)
    >>> [v.name for v in pieces(model, model.initial_point()).shared]
    ['x']
    """
    base = layout(model, point)
    logp = model.logp()
    shared = {v for v in graph_inputs([logp, *base.remaining]) if isinstance(v, SharedVariable)}
    names = [v.name for v in shared]
    if None in names or len(set(names)) != len(names):
        raise Unfingerprintable(f"shared variables need unique names: {sorted(map(str, names))}")
    return Pieces(
        **{field.name: getattr(base, field.name) for field in dataclasses.fields(base)},
        logp=logp,
        shared=sorted(shared, key=lambda v: str(v.name)),
    )


def _shapes(model: pm.Model, variables: Sequence[Variable], point: dict) -> list[tuple[int, ...]]:
    """The shapes of ``variables`` at ``point``.

    Read from the point, the static types or the dims where they tell, else evaluated by a
    Python-mode function (nothing is compiled to machine code).
    """
    lengths = {name: len(values) for name, values in model.coords.items() if values is not None}
    known = []
    for var in variables:
        dims = model.named_vars_to_dims.get(var.name, ())
        if var.name in point:
            known.append(tuple(np.shape(point[var.name])))
        elif None not in var.type.shape:
            known.append(tuple(var.type.shape))
        elif len(dims) == var.type.ndim and all(d in lengths for d in dims):
            known.append(tuple(lengths[d] for d in dims))
        else:
            return _evaluated_shapes(model, variables, point)
    return known


def _evaluated_shapes(model: pm.Model, variables: Sequence[Variable], point: dict) -> list[tuple[int, ...]]:
    values = {model.rvs_to_values[rv]: rv for rv in model.free_RVs}
    givens = [(v, pt.as_tensor(point[v.name])) for v in variables if v in values]
    shapes = pytensor.function(
        [],
        [pt.as_tensor(v).shape for v in variables],
        givens=givens,
        mode="FAST_COMPILE",
        on_unused_input="ignore",
    )()
    return [tuple(int(n) for n in s) for s in shapes]

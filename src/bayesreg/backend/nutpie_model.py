"""nutpie's compiled model of a PyMC model, on callbacks that need no compiling in a warm process.

nutpie samples a model through two C callbacks (its log density with gradient, and the expansion
of a point into every stored variable) and the Python pieces around them: names, shapes, dims,
coordinates, each chain's start. This module assembles that model from the PyMC model, on one of
two routes, chosen by the model alone so that a seed draws the same whatever is cached:

- models a builder marked with a :class:`~bayesreg.backend.model.FixedStructure` (the whitened
  families) sample on the hand-written callbacks of :mod:`bayesreg.backend.fixed_density`, C
  compiled when bayesreg is installed: nothing is compiled and numba is never imported;
- any other model samples on callbacks derived from its graph and cached on disk
  (:mod:`bayesreg.backend.numba_callbacks`), imported only for such a model.

A model those callbacks cannot express falls back, with one warning, to
``nutpie.compile_pymc_model``, which compiles afresh in each process.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
from collections.abc import Callable, Sequence
from math import prod
from typing import Any

import numpy as np
import pymc as pm
from pytensor.compile.sharedvalue import SharedVariable

from bayesreg._warn import warn_user
from bayesreg.backend.fixed_density import callbacks, pack, structure_of
from bayesreg.backend.model import FixedStructure
from bayesreg.backend.nutpie_import import import_nutpie
from bayesreg.backend.nutpie_layout import Layout, layout, pieces
from bayesreg.backend.python_mode import without_c

# Before any `import nutpie` statement: nutpie without the arviz umbrella or numba (see nutpie_import).
nutpie = import_nutpie()
from nutpie.compile_pymc import CompiledPyMCModel  # noqa: E402

__all__ = ["compile_nutpie_model", "with_model_data"]

_UNCONSTRAINED = "unconstrained_parameter"  # nutpie's coordinate of the flat parameter vector


def with_model_data(compiled: Any, model: pm.Model) -> Any:
    """``compiled`` (of a model of the same structure) on the data and dimension lengths of ``model``."""
    if not isinstance(compiled, _CachedModel):  # nutpie's own compiled model: data containers only
        return compiled.with_data(**{d.name: d.get_value() for d in model.data_vars})
    values = {d.name: d.get_value() for d in model.data_vars}
    for name, length in model.dim_lengths.items():
        if isinstance(length, SharedVariable):
            values[name] = length.get_value()
    return compiled.with_data(**{k: v for k, v in values.items() if k in compiled.shared_data})


# --- the nutpie model --------------------------------------------------------------------------


def _pack(names: Sequence[str], data: dict[str, np.ndarray]) -> np.ndarray:
    """The callbacks' ``user_data``: [address, *shape] of each array, as int64."""
    meta: list[int] = []
    for name in names:
        meta += [data[name].ctypes.data, *data[name].shape]
    return np.array(meta or [0], dtype=np.int64)


def _frozen(value: Any, dtype: Any, ndim: int) -> np.ndarray:
    """A read-only C-contiguous copy of ``value``, with the dtype and rank the callbacks expect."""
    array = np.array(value, dtype=dtype, order="C", copy=True)
    if array.ndim != ndim:
        raise ValueError(f"data must have rank {ndim}, not {array.ndim}")
    array.flags.writeable = False
    return array


@dataclasses.dataclass(frozen=True)
class _CachedModel(CompiledPyMCModel):
    """nutpie's PyMC model with bayesreg's callbacks: ``user_data`` is the int64 layout of ``_pack``."""

    data_names: tuple[str, ...] = ()

    def with_data(self, **updates):
        """The same compiled model on new values of its shared variables (no compilation)."""
        shared = _updated(self.shared_data, updates)
        new_data = {"shared_data": shared, "user_data": _pack(self.data_names, shared)}
        return dataclasses.replace(self, **new_data)  # type: ignore[arg-type]  # fields of the base


@dataclasses.dataclass(frozen=True)
class _FixedModel(_CachedModel):
    """nutpie's PyMC model on :mod:`bayesreg.backend.fixed_density`'s callbacks.

    ``user_data`` is int64 [address of the packed buffer, its length, address of the header, its
    length]; ``packed`` keeps those two arrays alive.
    """

    structure: FixedStructure | None = None
    packed: tuple[np.ndarray, ...] = ()

    def with_data(self, **updates):
        """The same callbacks on new values of the model's Data containers (nothing compiles)."""
        shared = _updated(self.shared_data, updates)
        new_data = {"shared_data": shared, **_fixed_data(self.structure, shared, self.shape_info)}
        return dataclasses.replace(self, **new_data)


def _updated(shared: dict[str, np.ndarray], updates: dict[str, Any]) -> dict[str, np.ndarray]:
    """``shared`` with ``updates`` put in, each frozen in its container's dtype and ndim."""
    unknown = sorted(set(updates) - set(shared))
    if unknown:
        raise KeyError(f"Unknown shared variable: {unknown[0]}")
    new = dict(shared)
    for name, value in updates.items():
        new[name] = _frozen(value, new[name].dtype, new[name].ndim)
    return new


def _fixed_data(
    structure: FixedStructure | None, shared: dict[str, np.ndarray], shape_info: tuple
) -> dict[str, Any]:
    """The packed buffer and header of ``structure`` on ``shared`` data, and their user_data."""
    if structure is None:
        raise ValueError("a fixed model needs its structure")
    buf, ints = pack(structure, shared, shape_info[0], smooth_l1=True)  # for NUTS: see L1_SMOOTHING
    user_data = np.array([buf.ctypes.data, buf.size, ints.ctypes.data, ints.size], dtype=np.int64)
    return {"user_data": user_data, "packed": (buf, ints)}


def _point_fn(model: pm.Model) -> Callable[[int], dict[str, np.ndarray]]:
    """Each chain's start, as nutpie makes it: each free variable's support point, jittered by U(-1, 1)."""
    from pymc.initial_point import make_initial_point_fn

    with without_c():  # called once per chain: no C to compile for it
        return make_initial_point_fn(
            model=model,
            jitter_rvs=set(model.free_RVs),
            default_strategy="support_point",
            return_transformed=True,
        )


def _initial_point_fn(point_fn: Callable, found: Layout) -> Callable[[int], np.ndarray]:
    """``point_fn`` as nutpie calls it: from any chain's thread, returning one flat vector."""
    lock = threading.Lock()

    def initial_point(seed: int) -> np.ndarray:
        with lock:  # nutpie's chains ask from their own threads
            point = point_fn(seed)
        return np.concatenate([np.ravel(point[name]) for name in found.free_names]).astype("float64")

    return initial_point


def _dims_and_coords(model: pm.Model, found: Layout) -> tuple[dict, dict]:
    """The dims and coords nutpie needs: the model's, plus one name per entry of the flat parameter vector."""
    import pandas as pd

    coords = {}
    for name, values in model.coords.items():
        if values is not None:
            coords[name] = pd.Index(values)
        else:
            with without_c():
                coords[name] = pd.RangeIndex(model.dim_lengths[name].eval(mode="FAST_COMPILE"))
    flat = []
    for name, shape in zip(found.free_names, found.free_shapes, strict=True):
        indices = itertools.product(*(range(n) for n in shape))
        flat += [f"{name}_{'.'.join(map(str, idx))}" if idx else name for idx in indices]
    coords[_UNCONSTRAINED] = pd.Index(flat)
    dims = {name: tuple(d) for name, d in model.named_vars_to_dims.items()}
    shapes = dict(zip(found.names, found.shapes, strict=True))
    for value in model.value_vars:  # a transformed value has its variable's dims when shapes agree
        rv = model.values_to_rvs.get(value)
        if rv is not None and rv.name in dims and shapes.get(value.name) == shapes.get(rv.name):
            dims.setdefault(value.name, dims[rv.name])
    return dims, coords


def compile_nutpie_model(model: pm.Model) -> CompiledPyMCModel:
    """A nutpie model of ``model``: its log density and stored variables as cached C callbacks.

    Falls back to ``nutpie.compile_pymc_model`` (compiled afresh each process: seconds), with one
    warning, if the model holds something these callbacks cannot express.
    """
    try:
        return _compile(model)
    except Exception as error:  # a slower path that always works
        _warn_fallback(error)
        return nutpie.compile_pymc_model(model)


_fallback_warned: set[str] = set()


def _warn_fallback(error: Exception) -> None:
    text = f"{type(error).__name__}: {error}"
    if text not in _fallback_warned:
        _fallback_warned.add(text)
        warn_user(
            f"bayesreg's cached compilation does not handle this model ({text}); nutpie compiles it "
            "instead, which takes seconds in every new process.",
            RuntimeWarning,
        )


def _compile(model: pm.Model) -> _CachedModel:
    point_fn = _point_fn(model)
    structure = structure_of(model)
    if structure is not None and structure.whitened:  # the hand-written density: no logp graph
        return _compile_fixed(model, layout(model, point_fn(0)), point_fn, structure)
    # numba (0.2-0.3 s to import) is loaded only for a model that has no fixed density.
    from bayesreg.backend.numba_callbacks import derived_callbacks

    graph = pieces(model, point_fn(0))
    logp, expand, _ = derived_callbacks(model, graph)  # its length of the expanded vector is common's
    data = {str(v.name): _frozen(v.get_value(borrow=True), v.type.dtype, v.type.ndim) for v in graph.shared}
    names = tuple(str(v.name) for v in graph.shared)
    return _CachedModel(
        **_common_fields(model, graph, point_fn),
        compiled_logp_func=logp,
        compiled_expand_func=expand,
        shared_data=data,
        user_data=_pack(names, data),
        data_names=names,
    )


def _common_fields(model: pm.Model, found: Layout, point_fn) -> dict[str, Any]:
    """The fields of nutpie's compiled model that come from the PyMC model, whichever callbacks."""
    dims, coords = _dims_and_coords(model, found)
    shapes = found.shapes
    slices, start = [], 0
    for shape in shapes:
        slices.append(slice(start, start + prod(shape)))
        start += prod(shape)
    return {
        "dims": dims,
        "reparameterized_names": [
            model.rvs_to_values[rv].name
            for rv in model.free_RVs
            if model.rvs_to_transforms.get(rv) is not None
        ],
        "_n_dim": found.n_dim,
        "_coords": coords,
        "_shapes": {name: tuple(s) for name, s in zip(found.names, shapes, strict=True)},
        "initial_point_func": _initial_point_fn(point_fn, found),
        "shared_var_keys": {},
        "n_expanded": start,
        "shape_info": (found.names, slices, shapes),
        "logp_func": None,
        "expand_func": None,
    }


def _compile_fixed(model: pm.Model, found: Layout, point_fn, structure: FixedStructure) -> _FixedModel:
    """The model on the hand-written callbacks: its data, names and coordinates from the PyMC model."""
    fixed = callbacks()
    data = {
        str(d.name): _frozen(d.get_value(borrow=True), d.type.dtype, d.type.ndim) for d in model.data_vars
    }
    common = _common_fields(model, found, point_fn)
    return _FixedModel(
        **common,
        compiled_logp_func=fixed.logp,
        compiled_expand_func=fixed.expand,
        shared_data=data,
        data_names=tuple(data),
        structure=structure,
        **_fixed_data(structure, data, common["shape_info"]),
    )

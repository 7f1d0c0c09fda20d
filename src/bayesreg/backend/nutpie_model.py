"""nutpie's compiled log density, derived from the PyMC model and cached on disk between processes.

``nutpie.compile_pymc_model`` spends about 11 s of a diabetes fit compiling, with numba, a C
callback that unpacks the model's data from a record array; numba cannot cache that callback on
disk (its data keys are random UUIDs), so every new process pays the 11 s again. This module builds
the same sampler input from the same PyMC model — the log density with its Jacobian and its
gradient, and the function that expands a point into every stored variable, both compiled by
PyTensor's numba backend — and wraps them in a much smaller C callback that numba caches on disk
(:mod:`bayesreg.backend.disk_cache`) under a *fingerprint of the model's graph*:

- the fingerprint hashes the unrewritten graphs of the log density and of the stored variables
  (every Op with its parameters, every constant's bytes, every data container's name and type),
  the shapes of the variables, the callbacks' own source and the versions of the libraries that
  compile them. Any change to a model (a new prior, a prior mean, another noise prior) gives
  another key, so a stale entry is never used; nothing here is written by hand per model;
- data (``pm.Data`` containers and dimension lengths) are arguments of the callback, passed through
  nutpie's ``user_data`` pointer, so one entry serves every data set and prior scale of a
  structure, and ``with_data`` swaps them without compiling;
- a process that finds the entry loads the callbacks (tens of milliseconds) without building the
  gradient graph, rewriting it or compiling anything.

A seed reproduces draws in every process that loads the callbacks (tested in a second process).
The one process that compiled them with PyTensor's own numba cache empty can differ in the last
bits (numba then links freshly compiled copies of PyTensor's functions, which round differently
from the cached ones): posterior means within about 1e-11 of the later processes' here.

Models a builder marked with a :class:`~bayesreg.backend.model.FixedStructure` (the whitened
Gaussian and Bernoulli models) skip all of this: they sample on the hand-written callbacks of
:mod:`bayesreg.backend.fixed_density`, C compiled when bayesreg is installed.
The route depends only on the model, so a seed draws the same whatever is cached.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
from collections.abc import Callable, Sequence
from math import prod
from typing import Any, cast

import numba
import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
from numba.core import cgutils, types
from numba.extending import intrinsic
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.basic import Variable
from pytensor.graph.traversal import graph_inputs

from bayesreg._warn import warn_user
from bayesreg.backend.disk_cache import Unfingerprintable, cache_dir, fingerprint, generated
from bayesreg.backend.fixed_density import callbacks, pack, structure_of
from bayesreg.backend.model import FixedStructure
from bayesreg.backend.nutpie_import import import_nutpie
from bayesreg.backend.python_mode import without_c

# Before any `import nutpie` statement: nutpie without the arviz umbrella (see nutpie_import).
nutpie = import_nutpie()
from nutpie.compile_pymc import CompiledPyMCModel  # noqa: E402

__all__ = ["compile_nutpie_model", "with_model_data"]

# Bump when the callbacks' data layout changes (their source is part of every key anyway).
_FORMAT = "1"
_UNCONSTRAINED = "unconstrained_parameter"  # nutpie's coordinate of the flat parameter vector


# --- the model's pieces ------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Layout:
    """The variables nutpie samples and stores, and their shapes: what every route needs."""

    free_names: list[str]  # value variables, in the order of the flat vector
    free_shapes: list[tuple[int, ...]]
    remaining: list[Variable]  # the other stored variables (deterministics, untransformed values)
    remaining_shapes: list[tuple[int, ...]]

    @property
    def n_dim(self) -> int:
        return sum(prod(s) for s in self.free_shapes)

    @property
    def names(self) -> list[str]:
        return [*self.free_names, *(str(v.name) for v in self.remaining)]

    @property
    def shapes(self) -> list[tuple[int, ...]]:
        return [*self.free_shapes, *self.remaining_shapes]


@dataclasses.dataclass(frozen=True)
class _Pieces(_Layout):
    """The layout and the log density graph the derived callbacks are compiled from."""

    logp: Variable  # unrewritten, with the Jacobian of the transforms
    shared: list[SharedVariable]  # data and dimension lengths, sorted by name: the callback's arguments

    def fingerprint(self, model: pm.Model, *sources: str) -> str:
        return fingerprint(
            [],
            [self.logp, *self.remaining],
            *sources,
            f"nutpie_model {_FORMAT}, nutpie {nutpie.__version__}",
            f"check_bounds={model.check_bounds}",
            f"free={list(zip(self.free_names, self.free_shapes, strict=True))}",
            f"remaining={[v.name for v in self.remaining]}, {self.remaining_shapes}",
            f"shared={[(v.name, str(v.type)) for v in self.shared]}",
        )


def _layout(model: pm.Model, point: dict[str, np.ndarray]) -> _Layout:
    free_values = [model.rvs_to_values[rv] for rv in model.free_RVs]
    free_names = [v.name for v in free_values]
    remaining = [v for v in model.unobserved_value_vars if v.name not in set(free_names)]
    shapes = _shapes(model, [*free_values, *remaining], point)
    return _Layout(
        free_names=free_names,
        free_shapes=shapes[: len(free_names)],
        remaining=remaining,
        remaining_shapes=shapes[len(free_names) :],
    )


def _pieces(model: pm.Model, point: dict[str, np.ndarray]) -> _Pieces:
    """The layout plus the log density graph (building it takes PyMC about 0.05 s)."""
    layout = _layout(model, point)
    logp = model.logp()
    shared = {v for v in graph_inputs([logp, *layout.remaining]) if isinstance(v, SharedVariable)}
    names = [v.name for v in shared]
    if None in names or len(set(names)) != len(names):
        raise Unfingerprintable(f"shared variables need unique names: {sorted(map(str, names))}")
    return _Pieces(
        **{field.name: getattr(layout, field.name) for field in dataclasses.fields(layout)},
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


def with_model_data(compiled: Any, model: pm.Model) -> Any:
    """``compiled`` (of a model of the same structure) on the data and dimension lengths of ``model``."""
    if not isinstance(compiled, _CachedModel):  # nutpie's own compiled model: data containers only
        return compiled.with_data(**{d.name: d.get_value() for d in model.data_vars})
    values = {d.name: d.get_value() for d in model.data_vars}
    for name, length in model.dim_lengths.items():
        if isinstance(length, SharedVariable):
            values[name] = length.get_value()
    return compiled.with_data(**{k: v for k, v in values.items() if k in compiled.shared_data})


# --- the C callbacks ---------------------------------------------------------------------------


@intrinsic
def void_pointer(typingctx, address):
    """The integer ``address`` as a ``void*`` (numba has no cast for it)."""

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], cgutils.voidptr_t)

    return types.voidptr(address), codegen


# nutpie's callback signatures: logp(dim, x, grad, logp, user_data), expand(dim, n, x, out, user_data).
_LOGP_SIG = types.int64(
    types.uint64,
    types.CPointer(types.double),
    types.CPointer(types.double),
    types.CPointer(types.double),
    types.voidptr,
)
_EXPAND_SIG = types.int64(
    types.uint64, types.uint64, types.CPointer(types.double), types.CPointer(types.double), types.voidptr
)


def _unpack_source(shared: Sequence[SharedVariable]) -> tuple[list[str], list[str], int]:
    """Source lines that rebuild each shared array from the int64 layout [address, *shape] per array."""
    lines, names, offset = [], [], 0
    for i, var in enumerate(shared):
        ndim = var.type.ndim
        shape = ", ".join(f"meta[{offset + 1 + k}]" for k in range(ndim))
        shape = f"({shape},)" if ndim else "()"
        lines.append(f"d{i} = numba.carray(_void_pointer(meta[{offset}]), {shape}, np.{var.type.dtype})")
        names.append(f"d{i}")
        offset += 1 + ndim
    return lines, names, offset


def _callback_sources(pieces: _Pieces, n_expanded: int) -> tuple[str, str]:
    unpack, args, meta_len = _unpack_source(pieces.shared)
    call_args = ", ".join(["x", *args])
    unpack_code = "\n".join(f"        {line}" for line in unpack)
    n = pieces.n_dim
    logp = f"""
def bayesreg_logp(dim, x_, out_, logp_, user_data_):
    if dim != {n}:
        return -1
    try:
        meta = numba.carray(user_data_, ({meta_len},), np.int64)
{unpack_code}
        x = numba.carray(x_, ({n},))
        out = numba.carray(out_, ({n},))
        logp = numba.carray(logp_, ())
        logp_val, grad = inner({call_args})
        logp[()] = logp_val
        out[...] = grad
        if not np.all(np.isfinite(out)):
            return 3
        if not np.isfinite(logp_val):
            return 4
    except Exception:  # noqa: BLE001
        return 1
    return 0
"""
    expand = f"""
def bayesreg_expand(dim, expanded, x_, out_, user_data_):
    if dim != {n}:
        return -1
    if expanded != {n_expanded}:
        return -1
    try:
        meta = numba.carray(user_data_, ({meta_len},), np.int64)
{unpack_code}
        x = numba.carray(x_, ({n},))
        out = numba.carray(out_, ({n_expanded},))
        (values,) = inner({call_args})
        out[...] = values
    except Exception:  # noqa: BLE001
        return -2
    return 0
"""
    return logp, expand


def _callback(source: str, name: str, inner: Any, signature, key: str | None):
    """Compile (or load from the disk cache) one C callback that calls ``inner``."""
    env = {"numba": numba, "np": np, "_void_pointer": void_pointer, "inner": inner}
    func, cache = generated(source, name, env, key)
    return numba.cfunc(signature, cache=cache)(func)


def _load_cached(source: str, name: str, signature, key: str):
    """The cached callback, or None (with ``inner`` absent, a miss fails to type: nothing compiles)."""
    try:
        cfunc = _callback(source, name, None, signature, key)
    except Exception:  # a miss (numba cannot type the absent inner), or an unreadable entry
        return None
    return cfunc if cfunc.cache_hits else None


def _compile_inner(model: pm.Model, pieces: _Pieces):
    """PyTensor's numba functions of the log density (and gradient) and of the stored variables."""
    from pymc.pytensorf import compile as compile_pymc
    from pytensor.graph import rewrite_graph
    from pytensor.graph.replace import graph_replace

    value_vars = [model.rvs_to_values[rv] for rv in model.free_RVs]
    rewrites = ["canonicalize", "stabilize"]
    if not model.check_bounds:
        rewrites.append("local_remove_check_parameter")
    logp = cast("Variable", rewrite_graph(pieces.logp, include=rewrites))
    grads = cast("list[Variable]", pt.grad(logp, value_vars))
    grad = pt.concatenate([pt.as_tensor(g).ravel() for g in grads])

    joined = pt.TensorType("float64", shape=(pieces.n_dim,))(name="_unconstrained_point")
    replace: dict[Variable, Variable] = {}
    start = 0
    for value, shape in zip(value_vars, pieces.free_shapes, strict=True):
        size = prod(shape)
        replace[value] = joined[start : start + size].reshape(shape).astype(value.dtype)
        start += size
    inputs = [v.type(name=v.name) for v in pieces.shared]
    replace |= dict(zip(pieces.shared, inputs, strict=True))

    logp, grad = graph_replace([logp, grad], replace, strict=False)
    free = [pt.as_tensor(replace[v]).ravel() for v in value_vars]
    expanded = pt.concatenate([*free, *(pt.as_tensor(v).ravel() for v in pieces.remaining)])
    [expanded] = graph_replace([expanded], replace, strict=False)
    with model:
        logp_fn = compile_pymc([joined, *inputs], [logp, grad], mode="NUMBA", on_unused_input="ignore")
        expand_fn = compile_pymc([joined, *inputs], [expanded], mode="NUMBA", on_unused_input="ignore")
    return logp_fn.vm.jit_fn, expand_fn.vm.jit_fn


def _callbacks(model: pm.Model, pieces: _Pieces):
    """The two C callbacks: from the disk cache when there, else compiled (and stored)."""
    n_expanded = sum(prod(s) for s in pieces.shapes)
    sources = _callback_sources(pieces, n_expanded)
    try:
        # The callbacks' own source is part of the key, so editing it can never load a stale entry.
        key = pieces.fingerprint(model, *sources)
    except Unfingerprintable:
        key = None
    names, signatures = ("bayesreg_logp", "bayesreg_expand"), (_LOGP_SIG, _EXPAND_SIG)
    if key is not None and cache_dir() is not None:
        loaded = [_load_cached(*args, key) for args in zip(sources, names, signatures, strict=True)]
        if None not in loaded:
            return *loaded, n_expanded
    inner = _compile_inner(model, pieces)
    try:
        compiled = [_callback(*args, key) for args in zip(sources, names, inner, signatures, strict=True)]
    except OSError:  # the cache could not be written after all (full disk, a race): compile in memory
        compiled = [_callback(*args, None) for args in zip(sources, names, inner, signatures, strict=True)]
    return *compiled, n_expanded


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
    buf, ints = pack(structure, shared, shape_info[0])
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


def _initial_point_fn(point_fn: Callable, pieces: _Layout) -> Callable[[int], np.ndarray]:
    """``point_fn`` as nutpie calls it: from any chain's thread, returning one flat vector."""
    lock = threading.Lock()

    def initial_point(seed: int) -> np.ndarray:
        with lock:  # nutpie's chains ask from their own threads
            point = point_fn(seed)
        return np.concatenate([np.ravel(point[name]) for name in pieces.free_names]).astype("float64")

    return initial_point


def _dims_and_coords(model: pm.Model, pieces: _Layout) -> tuple[dict, dict]:
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
    for name, shape in zip(pieces.free_names, pieces.free_shapes, strict=True):
        indices = itertools.product(*(range(n) for n in shape))
        flat += [f"{name}_{'.'.join(map(str, idx))}" if idx else name for idx in indices]
    coords[_UNCONSTRAINED] = pd.Index(flat)
    dims = {name: tuple(d) for name, d in model.named_vars_to_dims.items()}
    shapes = dict(zip(pieces.names, pieces.shapes, strict=True))
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
        return _compile_fixed(model, _layout(model, point_fn(0)), point_fn, structure)
    pieces = _pieces(model, point_fn(0))
    logp, expand, _ = _callbacks(model, pieces)  # its length of the expanded vector is common's
    data = {str(v.name): _frozen(v.get_value(borrow=True), v.type.dtype, v.type.ndim) for v in pieces.shared}
    names = tuple(str(v.name) for v in pieces.shared)
    return _CachedModel(
        **_common_fields(model, pieces, point_fn),
        compiled_logp_func=logp,
        compiled_expand_func=expand,
        shared_data=data,
        user_data=_pack(names, data),
        data_names=names,
    )


def _common_fields(model: pm.Model, pieces: _Layout, point_fn) -> dict[str, Any]:
    """The fields of nutpie's compiled model that come from the PyMC model, whichever callbacks."""
    dims, coords = _dims_and_coords(model, pieces)
    shapes = pieces.shapes
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
        "_n_dim": pieces.n_dim,
        "_coords": coords,
        "_shapes": {name: tuple(s) for name, s in zip(pieces.names, shapes, strict=True)},
        "initial_point_func": _initial_point_fn(point_fn, pieces),
        "shared_var_keys": {},
        "n_expanded": start,
        "shape_info": (pieces.names, slices, shapes),
        "logp_func": None,
        "expand_func": None,
    }


def _compile_fixed(model: pm.Model, layout: _Layout, point_fn, structure: FixedStructure) -> _FixedModel:
    """The model on the hand-written callbacks: its data, names and coordinates from the PyMC model."""
    fixed = callbacks()
    data = {
        str(d.name): _frozen(d.get_value(borrow=True), d.type.dtype, d.type.ndim) for d in model.data_vars
    }
    common = _common_fields(model, layout, point_fn)
    return _FixedModel(
        **common,
        compiled_logp_func=fixed.logp,
        compiled_expand_func=fixed.expand,
        shared_data=data,
        data_names=tuple(data),
        structure=structure,
        **_fixed_data(structure, data, common["shape_info"]),
    )

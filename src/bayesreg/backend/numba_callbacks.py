"""nutpie's C callbacks derived from the PyMC model, compiled by numba and cached on disk.

``nutpie.compile_pymc_model`` spends about 11 s of a diabetes fit compiling, with numba, a C
callback that unpacks the model's data from a record array; numba cannot cache that callback on
disk (its data keys are random UUIDs), so every new process pays the 11 s again. This module
compiles the same two functions from the same PyMC model — the log density with its Jacobian and
its gradient, and the function that expands a point into every stored variable, both by
PyTensor's numba backend — and wraps them in a much smaller C callback that numba caches on disk
(:mod:`bayesreg.backend.numba_cache`) under a *fingerprint of the model's graph*
(:meth:`bayesreg.backend.nutpie_layout.Pieces.fingerprint`):

- the fingerprint hashes the unrewritten graphs of the log density and of the stored variables
  (every Op with its parameters, every constant's bytes, every data container's name and type),
  the shapes of the variables, the callbacks' own source and the versions of the libraries that
  compile them. Any change to a model (a new prior, a prior mean, another noise prior) gives
  another key, so a stale entry is never used; nothing here is written by hand per model;
- data (``pm.Data`` containers and dimension lengths) are arguments of the callback, passed through
  nutpie's ``user_data`` pointer as [address, *shape] per array, so one entry serves every data
  set and prior scale of a structure;
- a process that finds the entry loads the callbacks (tens of milliseconds) without building the
  gradient graph, rewriting it or compiling anything.

The one process that compiled them with PyTensor's own numba cache empty can differ in the last
bits (numba then links freshly compiled copies of PyTensor's functions, which round differently
from the cached ones): posterior means within about 1e-11 of the later processes' here.

Only models without a fixed density come here; importing this module imports numba (0.2-0.3 s),
which :mod:`bayesreg.backend.nutpie_model` therefore does only for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod
from typing import Any, cast

import numba
import numpy as np
import pymc as pm
import pytensor.tensor as pt
from numba.core import cgutils, types
from numba.extending import intrinsic
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.basic import Variable

from bayesreg.backend.disk_cache import Unfingerprintable, cache_dir
from bayesreg.backend.numba_cache import generated
from bayesreg.backend.nutpie_layout import Pieces

__all__ = ["derived_callbacks"]


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


def _callback_sources(pieces: Pieces, n_expanded: int) -> tuple[str, str]:
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


def _compile_inner(model: pm.Model, pieces: Pieces):
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


def derived_callbacks(model: pm.Model, pieces: Pieces) -> tuple[Any, Any, int]:
    """Nutpie's two C callbacks of ``model`` (log density, expansion), and the expanded length.

    Loaded from the disk cache when an earlier process compiled them, else compiled (seconds for a
    new structure) and stored.

    Examples
    --------
    >>> import pymc as pm
    >>> from bayesreg.backend.nutpie_layout import pieces
    >>> with pm.Model() as model:
    ...     w = pm.Normal("w", shape=2)
    >>> logp, expand, n_expanded = derived_callbacks(model, pieces(model, model.initial_point()))
    >>> n_expanded, logp.address > 0
    (2, True)
    """
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

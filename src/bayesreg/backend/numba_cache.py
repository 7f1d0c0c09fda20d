"""numba's on-disk cache for generated functions, keyed by bayesreg's graph fingerprints.

numba caches a function on disk under its source file and name, which generated code does not
have; PyTensor's own numba cache keys its functions by the *rewritten* graph, so a process must
still build, differentiate and rewrite a graph (about a second for bayesreg's MAP objective) before
it can look anything up. :func:`generated` registers a generated function with numba's cache under
a key of :func:`bayesreg.backend.disk_cache.fingerprint` (the graph as the caller builds it, before
any rewriting), in bayesreg's cache folder. :func:`cached_function` uses it for a whole PyTensor
function.

Importing this module imports numba (0.2-0.3 s in a fresh process); the folder, the fingerprint and
stored objects live in :mod:`bayesreg.backend.disk_cache`, which does not.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar
from weakref import WeakKeyDictionary

import numba
import numpy as np
import pytensor
from numba.core.caching import CacheImpl, _CacheLocator
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.basic import Variable
from pytensor.graph.traversal import graph_inputs

from bayesreg.backend.disk_cache import Unfingerprintable, cache_dir, fingerprint

__all__ = ["cached_function", "generated"]

# numba's "source stamp" of every entry: the key already names the source, so it only has to be stable.
_STAMP = "1"


class _Locator(_CacheLocator):
    """Points numba's cache of a generated function at bayesreg's folder, under an explicit key."""

    registry: ClassVar[WeakKeyDictionary[Callable, tuple[Path, str]]] = WeakKeyDictionary()

    def __init__(self, path: Path, key: str):
        self._path, self._key = path, key

    def ensure_cache_path(self) -> None:
        self._path.mkdir(parents=True, exist_ok=True)

    def get_cache_path(self) -> str:
        return str(self._path)

    def get_source_stamp(self) -> str:
        return _STAMP  # the key already names the source; the stamp only has to be stable

    def get_disambiguator(self) -> str:
        return self._key

    @classmethod
    def from_function(cls, py_func, py_file):
        entry = cls.registry.get(py_func)
        return None if entry is None else cls(*entry)


if _Locator not in CacheImpl._locator_classes:
    CacheImpl._locator_classes.insert(0, _Locator)


def generated(source: str, name: str, env: dict[str, Any], key: str | None) -> tuple[Callable, bool]:
    """Function ``name`` of ``source``, and whether numba may cache it on disk (under ``key``).

    Give the result to ``numba.njit(cache=...)``/``numba.cfunc(..., cache=...)`` with that flag.
    """
    # numba rebuilds a cached function's environment from its module: name an importable one.
    namespace = {"__name__": __name__, **env}
    exec(compile(source, "<bayesreg_generated>", "exec"), namespace)
    func = namespace[name]
    folder = cache_dir() if key is not None else None
    if key is not None and folder is not None:
        _Locator.registry[func] = (folder, key)
    return func, func in _Locator.registry


def cached_function(
    inputs: Sequence[Variable], outputs: Sequence[Variable]
) -> Callable[..., list[np.ndarray]]:
    """``pytensor.function(inputs, outputs, mode="NUMBA")``, loaded from disk when compiled before.

    A process that finds the graph's entry loads it without rewriting or compiling anything.
    ``inputs`` must be root variables. Shared variables in the graph become extra arguments, read
    at each call (as PyTensor does). Returns a callable taking one array per input (converted to
    the input's dtype) and returning a list of arrays. A graph that cannot be fingerprinted, or an
    unwritable cache folder, gives the same function compiled in memory.
    """
    from pytensor.graph.replace import graph_replace

    shared = sorted(
        {v for v in graph_inputs(outputs) if isinstance(v, SharedVariable)}, key=lambda v: str(v.name)
    )
    stand_ins = [v.type(name=v.name) for v in shared]
    replace: dict[Variable, Variable] = dict(zip(shared, stand_ins, strict=True))
    outputs = graph_replace(list(outputs), replace, strict=False)
    arguments = [*inputs, *stand_ins]
    try:
        names = [v.name for v in shared]
        if None in names or len(set(names)) != len(names):
            raise Unfingerprintable(f"shared variables need unique names: {names}")
        key = fingerprint(arguments, outputs, "cached_function", f"shared={names}")
    except Unfingerprintable:
        key = None
    dispatcher = _dispatcher(arguments, outputs, key)
    dtypes = [np.dtype(v.type.dtype) for v in inputs]
    single = len(outputs) == 1

    def call(*values: Any) -> list[np.ndarray]:
        arrays = [np.require(v, dtype=d, requirements="C") for v, d in zip(values, dtypes, strict=True)]
        arrays += [np.require(v.get_value(borrow=True), requirements="C") for v in shared]
        result = dispatcher(*arrays)
        return [result] if single and not isinstance(result, tuple) else list(result)

    call.dispatcher = dispatcher  # type: ignore[attr-defined]  # for tests: its cache hits
    return call


def _dispatcher(arguments: Sequence[Variable], outputs: Sequence[Variable], key: str | None):
    """A numba dispatcher of the graph, compiled for C-contiguous arrays: loaded, else compiled."""
    signature = tuple(
        numba.types.Array(numba.from_dtype(np.dtype(v.type.dtype)), v.type.ndim, "C") for v in arguments
    )
    args = ", ".join(f"a{i}" for i in range(len(arguments)))
    source = f"def bayesreg_function({args}):\n    return inner({args})\n"
    if key is not None:
        stub, cache = generated(source, "bayesreg_function", {"inner": None}, key)
        if cache:
            dispatcher = numba.njit(cache=True)(stub)
            try:
                dispatcher.compile(signature)
                return dispatcher
            except Exception:  # a miss: the absent inner does not type, so nothing compiled
                pass
    inner = pytensor.function(list(arguments), list(outputs), mode="NUMBA", on_unused_input="ignore")
    func, cache = generated(source, "bayesreg_function", {"inner": inner.vm.jit_fn}, key)
    dispatcher = numba.njit(cache=cache)(func)
    dispatcher.compile(signature)
    return dispatcher

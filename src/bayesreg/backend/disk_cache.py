"""The on-disk cache of compiled functions: its folder, the graph fingerprint that keys it, loading.

numba caches a function on disk under its source file and name, which generated code does not
have; PyTensor's own numba cache keys its functions by the *rewritten* graph, so a process must
still build, differentiate and rewrite a graph (about a second for bayesreg's MAP objective) before
it can look anything up. Here the key is a fingerprint of the graph as the caller builds it,
before any rewriting:

- every Apply node in topological order, its Op with all of the Op's parameters, the slots of its
  inputs; every constant's type and the hash of its bytes; every other input's position (or name,
  for shared variables) and type;
- the versions of PyMC, PyTensor, numba, llvmlite and numpy and the PyTensor flags that change
  compiled code (callers add their own: nutpie's, for its callbacks).

Anything that cannot be described stably (an Op without ``__props__`` whose text holds a memory
address, an unnamed shared variable) raises :class:`Unfingerprintable`, and the caller compiles
without the disk cache: a graph is either fingerprinted faithfully or not cached.

The folder is ``$BAYESREG_CACHE_DIR``, else the user's cache folder (``platformdirs``:
``~/.cache/bayesreg`` on Linux). It is safe to delete. If it cannot be written, everything still
works, compiled in memory, after one warning per process.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import pickle
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar
from weakref import WeakKeyDictionary

import numba
import numpy as np
import pymc as pm
import pytensor
from numba.core.caching import CacheImpl, _CacheLocator
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.basic import Constant, Variable
from pytensor.graph.traversal import graph_inputs, io_toposort

from bayesreg._warn import warn_user

__all__ = [
    "CACHE_ENV",
    "Unfingerprintable",
    "cache_dir",
    "cached_function",
    "fingerprint",
    "generated",
    "load_object",
    "store_object",
]

CACHE_ENV = "BAYESREG_CACHE_DIR"
# Part of every key: bump it to orphan every entry written before (they are then never read).
_FORMAT = "1"


# --- the folder --------------------------------------------------------------------------------

_cache_state: dict[str, Path | None] = {}
_cache_lock = threading.Lock()


def _default_cache_root() -> Path:
    try:
        import platformdirs
    except ImportError:  # pragma: no cover - nutpie depends on platformdirs
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        return Path(base) / "bayesreg"
    return Path(platformdirs.user_cache_dir("bayesreg", appauthor=False))


def cache_dir() -> Path | None:
    """The folder of numba's cached functions, or None (with one warning) when it is not writable.

    ``$BAYESREG_CACHE_DIR`` overrides the default, the user's cache folder. Checked once per
    process and folder.
    """
    root = Path(os.environ.get(CACHE_ENV) or _default_cache_root()).expanduser()
    key = str(root)
    with _cache_lock:
        if key not in _cache_state:
            _cache_state[key] = _writable(root / "numba")
            if _cache_state[key] is None:
                warn_user(
                    f"bayesreg cannot write its compile cache in {root}, so each new process compiles "
                    f"its models again (seconds per model). Set {CACHE_ENV} to a writable folder.",
                    RuntimeWarning,
                )
        return _cache_state[key]


def _writable(path: Path) -> Path | None:
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError:
        return None
    return path


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
        return _FORMAT  # the key already names the source; the stamp only has to be stable

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


def _object_path(kind: str, key: str) -> Path | None:
    folder = cache_dir()
    return None if folder is None else folder / f"{kind}-{key}.pkl"


def load_object(kind: str, key: str) -> Any | None:
    """The object stored under ``kind`` and ``key`` by :func:`store_object`, or None.

    An entry that cannot be read (written by other library versions, truncated) counts as absent;
    the caller compiles again and overwrites it.
    """
    path = _object_path(kind, key)
    if path is None or not path.exists():
        return None
    try:
        with path.open("rb") as file:
            return pickle.load(file)
    except Exception:  # any unreadable entry is a miss, never an error
        return None


def store_object(kind: str, key: str, obj: Any) -> None:
    """Pickle ``obj`` under ``kind`` and ``key``, atomically (a reader sees all of it or nothing).

    Does nothing when the folder is not writable (:func:`cache_dir` has warned once).

    Examples
    --------
    >>> store_object("example", "k", {"a": 1})    # doctest: +SKIP
    >>> load_object("example", "k")    # doctest: +SKIP
    {'a': 1}
    """
    path = _object_path(kind, key)
    if path is None:
        return
    temporary: Path | None = None
    try:
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, suffix=".tmp") as file:
            temporary = Path(file.name)
            pickle.dump(obj, file, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, path)
    except (OSError, pickle.PicklingError, TypeError, AttributeError) as error:
        # Not stored (a full disk, an object that does not pickle): the caller has its object and
        # the next process compiles it again; nothing else depends on the entry. Said once per kind.
        if temporary is not None:
            temporary.unlink(missing_ok=True)
        with _cache_lock:
            first = kind not in _unstored_kinds
            _unstored_kinds.add(kind)
        if first:
            warn_user(
                f"bayesreg could not store its compiled {kind!r} in {path.parent} "
                f"({type(error).__name__}: {error}); each new process compiles it again.",
                RuntimeWarning,
            )


_unstored_kinds: set[str] = set()


# --- the fingerprint ---------------------------------------------------------------------------


class Unfingerprintable(Exception):
    """A graph holds something whose identity is its address: it cannot be cached across processes."""


def _token(obj: Any) -> str:
    """A stable text for an Op parameter (recursively), or Unfingerprintable."""
    if obj is None or isinstance(obj, str | bytes | bool | int | float | complex | np.generic | np.dtype):
        return f"{type(obj).__name__}:{obj!r}"
    if isinstance(obj, np.ndarray):
        if obj.dtype.hasobject:  # its bytes are addresses: describe the objects instead
            return f"objects({obj.shape},{_token(obj.tolist())})"
        digest = hashlib.sha256(np.ascontiguousarray(obj).tobytes()).hexdigest()
        return f"array({obj.dtype},{obj.shape},{digest})"
    return _container_token(obj) or _object_token(obj)


def _container_token(obj: Any) -> str | None:
    if isinstance(obj, tuple | list):
        return f"{type(obj).__name__}({','.join(_token(o) for o in obj)})"
    if isinstance(obj, set | frozenset):
        return f"set({','.join(sorted(_token(o) for o in obj))})"
    if isinstance(obj, slice):
        return f"slice({_token(obj.start)},{_token(obj.stop)},{_token(obj.step)})"
    if hasattr(obj, "items") and callable(obj.items):  # dict, frozendict
        return f"map({','.join(sorted(f'{_token(k)}:{_token(v)}' for k, v in obj.items()))})"
    if isinstance(obj, type) or inspect.isfunction(obj) or inspect.isbuiltin(obj):
        return f"{obj.__module__}.{obj.__qualname__}"
    return None


def _object_token(obj: Any) -> str:
    if isinstance(obj, Variable):
        raise Unfingerprintable(f"a Variable as an Op parameter: {obj}")
    name = f"{type(obj).__module__}.{type(obj).__qualname__}"
    props = getattr(type(obj), "__props__", None)
    if props is not None:
        return f"{name}({','.join(f'{p}={_token(getattr(obj, p))}' for p in props)})"
    inner = getattr(obj, "fgraph", None)
    if inner is not None and hasattr(inner, "outputs"):  # Ops with an inner graph
        return f"{name}[{_graph_token(inner.inputs, inner.outputs)}]"
    text = repr(obj)
    if " at 0x" in text or "object at" in text:
        raise Unfingerprintable(f"{name} has no stable description: {text}")
    return f"{name}:{text}"


def _graph_token(inputs: Sequence[Variable], outputs: Sequence[Variable]) -> str:
    """A stable text for a graph: its Apply nodes in topological order, their Ops and input slots.

    ``inputs`` are named by position; other roots by their value (constants) or name and type.
    """
    ids: dict[Variable, str] = {var: f"arg{i}({var.type})" for i, var in enumerate(inputs)}

    def ref(var: Variable) -> str:
        if var in ids:
            return ids[var]
        if isinstance(var, Constant):
            ids[var] = f"const({var.type},{_token(var.data)})"
        elif var.owner is None:
            if not var.name:
                raise Unfingerprintable(f"an unnamed input: {var}")
            kind = "shared" if isinstance(var, SharedVariable) else "input"
            ids[var] = f"{kind}({var.name},{var.type})"
        else:  # pragma: no cover - io_toposort visits every node before its clients
            raise AssertionError(f"{var} reached before the node that computes it")
        return ids[var]

    lines = []
    for i, node in enumerate(io_toposort(list(inputs), list(outputs))):
        args = ",".join(ref(v) for v in node.inputs)
        outs = ",".join(str(v.type) for v in node.outputs)
        lines.append(f"{i}:{_token(node.op)}({args})->({outs})")
        for j, out in enumerate(node.outputs):
            ids[out] = f"n{i}.{j}"
    lines.append("outputs:" + ",".join(ref(v) for v in outputs))
    return "\n".join(lines)


def _library_versions() -> str:
    import llvmlite

    versions = [m.__version__ for m in (pm, pytensor, numba, llvmlite, np)]
    flags = (pytensor.config.floatX, pytensor.config.numba__fastmath, pytensor.config.optimizer)
    return f"{_FORMAT}|{versions}|{flags}"


def fingerprint(inputs: Sequence[Variable], outputs: Sequence[Variable], *extra: str) -> str:
    """The key of the graph from ``inputs`` to ``outputs`` (unrewritten) plus ``extra`` texts."""
    text = "\n".join([_library_versions(), *extra, _graph_token(inputs, outputs)])
    return hashlib.sha256(text.encode()).hexdigest()


# --- a PyTensor function that a later process loads without rewriting --------------------------


def _numba_type(var: Variable):
    return numba.types.Array(numba.from_dtype(np.dtype(var.type.dtype)), var.type.ndim, "C")


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

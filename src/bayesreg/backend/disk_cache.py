"""The on-disk cache of compiled objects: its folder, the graph fingerprint that keys it, pickles.

A compiled function is found again in a later process by a fingerprint of the graph as the caller
builds it, before any rewriting, so the lookup costs no rewriting or compiling:

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
works, compiled in memory, after one warning per process. numba's cached functions live in the
same folder (:mod:`bayesreg.backend.numba_cache`); this module does not import numba.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import pickle
import tempfile
import threading
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import pymc as pm
import pytensor
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.basic import Constant, Variable
from pytensor.graph.traversal import io_toposort

from bayesreg._warn import warn_user

__all__ = [
    "CACHE_ENV",
    "Unfingerprintable",
    "cache_dir",
    "fingerprint",
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
    # numba's and llvmlite's from their metadata: keying a fixed-density model must not import numba.
    versions = [pm.__version__, pytensor.__version__, version("numba"), version("llvmlite"), np.__version__]
    flags = (pytensor.config.floatX, pytensor.config.numba__fastmath, pytensor.config.optimizer)
    return f"{_FORMAT}|{versions}|{flags}"


def fingerprint(inputs: Sequence[Variable], outputs: Sequence[Variable], *extra: str) -> str:
    """The key of the graph from ``inputs`` to ``outputs`` (unrewritten) plus ``extra`` texts."""
    text = "\n".join([_library_versions(), *extra, _graph_token(inputs, outputs)])
    return hashlib.sha256(text.encode()).hexdigest()

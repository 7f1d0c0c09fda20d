"""Import nutpie without loading the ``arviz`` umbrella's plotting stack, or numba.

nutpie's ``sample`` module runs ``import arviz`` when it is imported, for two converters,
``arviz.from_dict`` and ``arviz.dict_to_dataset``, which arviz 1 re-exports from arviz_base.
Importing the umbrella also imports arviz_plots and, through it, matplotlib.pyplot. In a fresh
process that took 0.4–0.6 s of a 0.7–1.5 s warm first fit (``benchmarks/cold_start.py``), which is
most of issue 14's one-second budget. bayesreg itself imports only arviz_base and arviz_stats.

If nothing has imported ``arviz`` yet, :func:`import_nutpie` lets nutpie's ``import arviz`` bind an
:class:`ArvizBaseView`. The view serves arviz_base's public names, which are the very objects the
umbrella re-exports. For any other name it imports the real umbrella and returns its attribute,
so what nutpie reads is always what ``arviz`` itself holds. The view is removed from
``sys.modules`` as soon as nutpie is imported, so a later ``import arviz`` (the user's, or ours in
plotting) gets the real package. The upstream fix is for nutpie to import arviz_base, not arviz.

nutpie's ``compile_pymc`` module also imports numba when it is imported (0.2-0.3 s), for one
decorator, ``numba.extending.intrinsic``, which its own numba compilation uses on a module-level
helper and on a function it defines while compiling. A model on a fixed density never uses either.
nutpie already handles numba's absence there (it binds an identity decorator instead), so
:func:`import_nutpie` hides numba while nutpie is imported, if nothing has imported numba yet. It
then wraps ``_compile_pymc_model_numba`` so that, before nutpie's numba compilation first runs, the
module's ``intrinsic`` is numba's again and the helper is decorated with it:
``nutpie.compile_pymc_model`` works as before (tested). The upstream fix is for nutpie to import
numba where it compiles.
"""

from __future__ import annotations

import functools
import importlib
import sys
import types
from typing import Any

import arviz_base

__all__ = ["ArvizBaseView", "import_nutpie"]


class ArvizBaseView(types.ModuleType):
    """The ``arviz`` that nutpie sees: arviz_base's public names, anything else from the umbrella.

    Examples
    --------
    >>> import arviz_base
    >>> ArvizBaseView("arviz").from_dict is arviz_base.from_dict
    True
    """

    def __getattr__(self, name: str) -> Any:
        # Dunder names (``__version__``, ``__path__``) are the umbrella's, not arviz_base's.
        if name in arviz_base.__all__ and not name.startswith("__"):
            return getattr(arviz_base, name)
        if sys.modules.get("arviz") is self:  # only while nutpie is being imported
            del sys.modules["arviz"]
        return getattr(importlib.import_module("arviz"), name)


def import_nutpie() -> types.ModuleType:
    """Return the ``nutpie`` module, imported without the arviz umbrella and numba if nothing needs them yet.

    Returns
    -------
    module
        ``nutpie``. If ``nutpie`` is already imported, this is a plain import; an ``arviz`` or
        ``numba`` already imported is the one nutpie gets.

    Examples
    --------
    >>> nutpie = import_nutpie()
    >>> callable(nutpie.sample)
    True
    """
    if "nutpie" in sys.modules:
        return importlib.import_module("nutpie")
    stand_ins: dict[str, types.ModuleType | None] = {}
    if "arviz" not in sys.modules:
        stand_ins["arviz"] = ArvizBaseView(
            "arviz", "arviz_base's names for nutpie (see bayesreg.backend.nutpie_import)"
        )
    if "numba" not in sys.modules:
        stand_ins["numba"] = None  # ``import numba`` raises ImportError: nutpie's no-numba branch
    try:
        nutpie = _import_with(stand_ins)
    except ImportError:
        if "numba" not in stand_ins:
            raise
        del stand_ins["numba"]  # a nutpie that needs numba to import: let it have it
        return _import_with(stand_ins)
    if "numba" in stand_ins:
        _decorate_before_numba_compiles(nutpie.compile_pymc)
    return nutpie


def _import_with(stand_ins: dict[str, types.ModuleType | None]) -> types.ModuleType:
    """``import nutpie`` with ``stand_ins`` in ``sys.modules``, which are removed afterwards."""
    for name, stand_in in stand_ins.items():
        sys.modules[name] = stand_in  # type: ignore[assignment]  # None blocks the import (documented)
    try:
        return importlib.import_module("nutpie")
    finally:
        for name, stand_in in stand_ins.items():
            if name in sys.modules and sys.modules[name] is stand_in:
                del sys.modules[name]


def _decorate_before_numba_compiles(compile_pymc: Any) -> None:  # nutpie.compile_pymc
    """Give nutpie numba's ``intrinsic``, and its helper that decoration, before its first numba compile."""
    if not hasattr(compile_pymc, "intrinsic"):  # a nutpie that does not use the decorator
        return
    helper = getattr(compile_pymc, "address_as_void_pointer", None)  # read from the module's globals
    compile_numba = getattr(compile_pymc, "_compile_pymc_model_numba", None)
    done: list[bool] = []

    def decorate() -> None:
        if done:
            return
        from numba.extending import intrinsic

        compile_pymc.intrinsic = intrinsic  # used again inside nutpie's compile
        if helper is not None:
            compile_pymc.address_as_void_pointer = intrinsic(helper)
        done.append(True)

    if compile_numba is None:  # a nutpie laid out otherwise: decorate now, at numba's import cost
        decorate()
        return

    @functools.wraps(compile_numba)
    def compile_with_intrinsic(*args: Any, **kwargs: Any) -> Any:
        decorate()
        return compile_numba(*args, **kwargs)

    compile_pymc._compile_pymc_model_numba = compile_with_intrinsic

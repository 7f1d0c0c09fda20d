"""Import nutpie without loading the ``arviz`` umbrella's plotting stack.

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
"""

from __future__ import annotations

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
    """Return the ``nutpie`` module, imported without the arviz umbrella if nothing needs it yet.

    Returns
    -------
    module
        ``nutpie``. If ``arviz`` or ``nutpie`` is already imported, this is a plain import.

    Examples
    --------
    >>> nutpie = import_nutpie()
    >>> callable(nutpie.sample)
    True
    """
    if "nutpie" in sys.modules or "arviz" in sys.modules:
        return importlib.import_module("nutpie")
    view = ArvizBaseView("arviz", "arviz_base's names for nutpie (see bayesreg.backend.nutpie_import)")
    sys.modules["arviz"] = view
    try:
        return importlib.import_module("nutpie")
    finally:
        if sys.modules.get("arviz") is view:
            del sys.modules["arviz"]

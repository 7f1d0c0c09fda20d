"""Estimator classes by name, for loading saved fits without importing the estimators here.

:class:`~bayesreg.estimators.base.BayesianRegressionBase` registers every subclass as it is defined
(``__init_subclass__``); persistence looks names up here. A file thus names a class that must
already be a bayesreg estimator: nothing is imported by a name read from disk.
"""

from __future__ import annotations

import importlib

__all__ = ["estimator_class", "register"]

_CLASSES: dict[str, type] = {}


def register(cls: type) -> None:
    """Make ``cls`` loadable by its name (a later class of the same name replaces it)."""
    _CLASSES[cls.__name__] = cls


def estimator_class(name: str) -> type | None:
    """The registered estimator class called ``name``, or None.

    The public estimators are defined lazily (:mod:`bayesreg` loads them on first use), so a name
    of the public API that is not registered yet is first looked up there.
    """
    if name not in _CLASSES:
        package = importlib.import_module("bayesreg")
        if name in getattr(package, "__all__", ()):
            getattr(package, name)  # defines, and so registers, the class
    return _CLASSES.get(name)

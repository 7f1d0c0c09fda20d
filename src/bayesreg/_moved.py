"""The module paths of bayesreg 0.1, kept as deprecated aliases of where the modules live now.

Version 0.1 had 28 flat modules; they now sit in subpackages that show the layers (see
``docs/architecture.md``). ``import bayesreg.conjugate`` and ``from bayesreg.linear import ...``
keep working, with a ``DeprecationWarning`` naming the new path, through a finder that maps each
old name to an alias module forwarding every attribute to the new one (so classes are shared).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings
from types import ModuleType
from typing import Any

from bayesreg._warn import PACKAGE_DIR

# Old public module path -> its home since the layered layout (the evidence left conjugate).
MOVED_MODULES: dict[str, tuple[str, ...]] = {
    "bayesreg.suffstats": ("bayesreg.stats.suffstats",),
    "bayesreg.conjugate": ("bayesreg.stats.conjugate", "bayesreg.stats.evidence"),
    "bayesreg.laplace": ("bayesreg.stats.laplace",),
    "bayesreg.calibration": ("bayesreg.stats.calibration",),
    "bayesreg.inference": ("bayesreg.backend.inference",),
    "bayesreg.diagnostics": ("bayesreg.backend.diagnostics",),
    "bayesreg.linear": ("bayesreg.estimators.linear",),
    "bayesreg.logistic": ("bayesreg.estimators.logistic",),
    "bayesreg.chunks": ("bayesreg.estimators.chunks",),
    "bayesreg.persistence": ("bayesreg.estimators.persistence",),
    "bayesreg.spec": ("bayesreg.app.spec",),
    "bayesreg.datasets": ("bayesreg.app.datasets",),
    "bayesreg.runner": ("bayesreg.app.runner",),
    "bayesreg.report": ("bayesreg.app.report",),
    "bayesreg.cli": ("bayesreg.app.cli",),
}


class _MovedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolves an old module path to the module at its new path, with a DeprecationWarning."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None):
        if fullname not in MOVED_MODULES:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec) -> None:
        """Use the default module object; :meth:`exec_module` makes it forward to the new one."""
        return None

    def exec_module(self, module: ModuleType) -> None:
        new_names = MOVED_MODULES[module.__name__]
        warnings.warn(
            f"{module.__name__} has moved to {' and '.join(new_names)}; import from there (the old "
            "path will be removed in a later version).",
            DeprecationWarning,
            skip_file_prefixes=(PACKAGE_DIR, "<frozen importlib"),
        )
        targets = [importlib.import_module(name) for name in new_names]
        names = [n for t in targets for n in getattr(t, "__all__", ())]

        def forward(name: str) -> Any:
            for target in targets:
                if hasattr(target, name):
                    return getattr(target, name)
            raise AttributeError(f"module {module.__name__!r} has no attribute {name!r}")

        module.__doc__ = targets[0].__doc__
        module.__dict__["__all__"] = list(dict.fromkeys(names))  # ModuleType declares no __all__
        module.__getattr__ = forward  # type: ignore[method-assign]


def install() -> None:
    """Put the finder on ``sys.meta_path`` once."""
    if not any(isinstance(f, _MovedModuleFinder) for f in sys.meta_path):
        sys.meta_path.append(_MovedModuleFinder())

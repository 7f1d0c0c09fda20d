"""bayesreg: L2 regularization is a Gaussian prior.

Bayesian linear and logistic regression in PyMC, with their MAP and posterior set beside the ridge
solutions of scikit-learn. Importing the package is cheap: PyMC, ArviZ and scikit-learn load only
when an estimator or comparison is first used.

Examples
--------
>>> from bayesreg import BayesianLinearRegression, compare_with_ridge, priors
>>> priors.ridge_alpha_from_sigma(prior_sigma=2.0, noise_sigma=1.0)
0.25
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from bayesreg import _moved, priors
from bayesreg._version import __version__

_moved.install()  # the module paths of 0.1 keep working, with a DeprecationWarning

__all__ = [
    "BayesianLinearRegression",
    "BayesianLogisticRegression",
    "BayesianPoissonRegression",
    "ConvergenceWarning",
    "FormulaModel",
    "OptimizerWarning",
    "PriorScaleWarning",
    "RegularizationPath",
    "RidgeComparison",
    "__version__",
    "compare_prior_scale_choices",
    "compare_with_ridge",
    "from_formula",
    "priors",
    "regularization_path",
]

# Public name -> module that defines it; loaded on first attribute access (PEP 562).
_LAZY = {
    "BayesianLinearRegression": "bayesreg.estimators.linear",
    "BayesianLogisticRegression": "bayesreg.estimators.logistic",
    "BayesianPoissonRegression": "bayesreg.estimators.poisson",
    "compare_with_ridge": "bayesreg.compare",
    "RidgeComparison": "bayesreg.compare",
    "regularization_path": "bayesreg.selection",
    "RegularizationPath": "bayesreg.selection",
    "compare_prior_scale_choices": "bayesreg.selection",
    "FormulaModel": "bayesreg.formula",
    "from_formula": "bayesreg.formula",
    "ConvergenceWarning": "bayesreg.exceptions",
    "OptimizerWarning": "bayesreg.exceptions",
    "PriorScaleWarning": "bayesreg.exceptions",
}

if TYPE_CHECKING:
    from bayesreg.compare import RidgeComparison, compare_with_ridge
    from bayesreg.estimators.linear import BayesianLinearRegression
    from bayesreg.estimators.logistic import BayesianLogisticRegression
    from bayesreg.estimators.poisson import BayesianPoissonRegression
    from bayesreg.exceptions import ConvergenceWarning, OptimizerWarning, PriorScaleWarning
    from bayesreg.formula import FormulaModel, from_formula
    from bayesreg.selection import RegularizationPath, compare_prior_scale_choices, regularization_path


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'bayesreg' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)

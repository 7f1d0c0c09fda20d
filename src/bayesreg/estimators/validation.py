"""Parameter constraints and input checks shared by the estimators and the specs.

One message shape for every bad parameter, after scikit-learn's:
"The 'prior_sigma' parameter of BayesianLinearRegression must be a float in the range (0, inf).
Got -1 instead."
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "COMMON_CONSTRAINTS",
    "LINEAR_CONSTRAINTS",
    "LOGISTIC_CONSTRAINTS",
    "Constraint",
    "check_feature_frame",
    "validate_params",
]


@dataclass(frozen=True)
class Constraint:
    """A named predicate on a parameter value.

    ``description`` completes "must be ...". A value of the right kind (``right_kind``) that is
    out of range raises ``ValueError``; a value of the wrong kind raises ``TypeError``.
    """

    description: str
    accepts: Callable[[Any], bool]
    right_kind: Callable[[Any], bool] = lambda v: False
    options: tuple[str, ...] = ()  # the accepted strings of a one_of constraint


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


POSITIVE_FLOAT = Constraint(
    "a float in the range (0, inf)",
    lambda v: _is_real(v) and math.isfinite(v) and v > 0,
    _is_real,
)
OPTIONAL_POSITIVE_FLOAT = Constraint(
    "None or a float in the range (0, inf)",
    lambda v: v is None or POSITIVE_FLOAT.accepts(v),
    _is_real,
)
BOOLEAN = Constraint("a bool", lambda v: isinstance(v, bool | np.bool_))
POSITIVE_INT = Constraint("an int in the range [1, inf)", lambda v: _is_int(v) and v >= 1, _is_int)
NON_NEGATIVE_INT = Constraint("an int in the range [0, inf)", lambda v: _is_int(v) and v >= 0, _is_int)
RANDOM_STATE = Constraint(
    "None, an int in the range [0, 2**32) or a numpy.random.Generator",
    lambda v: v is None or isinstance(v, np.random.Generator) or (_is_int(v) and 0 <= v < 2**32),
    _is_int,
)
OPTIONAL_DICT = Constraint("None or a dict", lambda v: v is None or isinstance(v, Mapping))


def one_of(*options: str) -> Constraint:
    """A constraint accepting exactly the given strings."""
    listed = ", ".join(repr(o) for o in options)
    return Constraint(
        f"a str among {{{listed}}}",
        lambda v: isinstance(v, str) and v in options,
        lambda v: isinstance(v, str),
        options=options,
    )


# The estimators' parameter constraints, one table per estimator. They live here, not on the
# classes, so that the spec of the bayesreg command checks its values with the very same rules
# without importing the estimators.
COMMON_CONSTRAINTS: dict[str, Constraint] = {
    "prior_sigma": POSITIVE_FLOAT,
    "fit_intercept": BOOLEAN,
    "draws": POSITIVE_INT,
    "tune": NON_NEGATIVE_INT,
    "chains": POSITIVE_INT,
    "random_state": RANDOM_STATE,
    "progressbar": BOOLEAN,
    "sample_kwargs": OPTIONAL_DICT,
    "compute_log_likelihood": BOOLEAN,
}
LINEAR_CONSTRAINTS: dict[str, Constraint] = COMMON_CONSTRAINTS | {
    "noise_sigma": OPTIONAL_POSITIVE_FLOAT,
    "noise_prior_sigma": OPTIONAL_POSITIVE_FLOAT,
    "prior_sigma_prior": OPTIONAL_POSITIVE_FLOAT,
    "method": one_of("mcmc", "map", "exact"),
}
LOGISTIC_CONSTRAINTS: dict[str, Constraint] = COMMON_CONSTRAINTS | {"method": one_of("mcmc", "map")}


def validate_params(owner: str, params: Mapping[str, Any], constraints: Mapping[str, Constraint]):
    """Raise on the first parameter that breaks its constraint.

    Non-finite or non-positive numbers raise ``ValueError``; values of the wrong type raise
    ``TypeError``, as scikit-learn does.

    Examples
    --------
    >>> validate_params("Demo", {"prior_sigma": -1}, {"prior_sigma": POSITIVE_FLOAT})
    Traceback (most recent call last):
    ...
    ValueError: The 'prior_sigma' parameter of Demo must be a float in the range (0, inf). Got -1 instead.
    """
    for name, constraint in constraints.items():
        value = params[name]
        if constraint.accepts(value):
            continue
        message = (
            f"The {name!r} parameter of {owner} must be {constraint.description}. Got {value!r} instead."
        )
        raise (ValueError if constraint.right_kind(value) else TypeError)(message)


def check_feature_frame(X: Any) -> None:
    """Refuse DataFrame columns that are not numeric, naming them.

    scikit-learn's own message for this does not say which column is at fault.
    """
    dtypes = getattr(X, "dtypes", None)
    if dtypes is None or not hasattr(X, "columns"):
        return
    bad = [str(col) for col, dt in zip(X.columns, dtypes, strict=True) if not _numeric_dtype(dt)]
    if bad:
        raise TypeError(
            f"X has non-numeric columns {bad}; encode them as numbers first "
            "(e.g. pandas.get_dummies or sklearn.preprocessing.OneHotEncoder) or drop them."
        )


def _numeric_dtype(dtype: Any) -> bool:
    try:
        return np.issubdtype(np.dtype(dtype), np.number) or np.issubdtype(np.dtype(dtype), np.bool_)
    except TypeError:  # pandas extension dtypes (nullable Int64, Float64, category, string)
        return getattr(dtype, "kind", "O") in "biuf"

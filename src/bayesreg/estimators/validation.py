"""Parameter constraints and input checks shared by the estimators and the specs.

One message shape for every bad parameter, after scikit-learn's:
"The 'prior_sigma' parameter of BayesianLinearRegression must be a float in the range (0, inf).
Got -1 instead."
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "COMMON_CONSTRAINTS",
    "LINEAR_CONSTRAINTS",
    "LOGISTIC_CONSTRAINTS",
    "Constraint",
    "check_binomial_counts",
    "check_feature_frame",
    "check_labels",
    "check_sample_weight",
    "check_sums_of_squares",
    "sums_of_squares",
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
NONE = Constraint("None", lambda v: v is None)
FINITE_FLOAT = Constraint("a finite float", lambda v: _is_real(v) and math.isfinite(v), _is_real)
# NaN fails both comparisons, so it is refused like any number outside (0, 1).
PROBABILITY = Constraint("a float in the range (0, 1)", lambda v: _is_real(v) and 0 < v < 1, _is_real)


def _real_items(value: Any) -> list | None:
    """The items of a 1-D sequence (list, tuple, array, Series) of real numbers, else None."""
    if isinstance(value, str | bytes):
        return None
    if isinstance(value, np.ndarray) or hasattr(value, "to_numpy"):
        arr = np.asarray(value)
        items = list(arr) if arr.ndim == 1 else None
    elif isinstance(value, Sequence):
        items = list(value)
    else:
        return None
    if items is None or not all(_is_real(v) for v in items):
        return None
    return items


def _positive_floats(value: Any) -> bool:
    items = _real_items(value)
    return items is not None and len(items) > 0 and all(POSITIVE_FLOAT.accepts(x) for x in items)


POSITIVE_FLOATS = Constraint(
    "a non-empty 1-D sequence of floats in the range (0, inf)",
    _positive_floats,
    lambda v: _real_items(v) is not None,
)
OPTIONAL_POSITIVE_FLOATS = Constraint(
    f"None or {POSITIVE_FLOATS.description}",
    lambda v: v is None or POSITIVE_FLOATS.accepts(v),
    lambda v: _real_items(v) is not None,
)


def instance_of(*class_names: str, optional: bool = False) -> Constraint:
    """A constraint accepting instances of the named classes (by name, so nothing is imported)."""
    names = " or ".join(f"a {n}" for n in class_names)
    return Constraint(
        f"None or {names}" if optional else names,
        lambda v: (optional and v is None) or any(c.__name__ in class_names for c in type(v).__mro__),
    )


def one_of(*options: str) -> Constraint:
    """A constraint accepting exactly the given strings."""
    listed = ", ".join(repr(o) for o in options)
    return Constraint(
        f"a str among {{{listed}}}",
        lambda v: isinstance(v, str) and v in options,
        lambda v: isinstance(v, str),
        options=options,
    )


def _real_values(value: Any) -> list | None:
    """The numbers of a scalar, a 1-D sequence, or a dict/Series keyed by feature name, else None."""
    if _is_real(value):
        return [value]
    if isinstance(value, Mapping):
        values = list(value.values())
        keys_ok = all(isinstance(k, str) for k in value)
        return values if keys_ok and values and all(_is_real(v) for v in values) else None
    if hasattr(value, "index") and hasattr(value, "to_numpy"):  # a pandas Series keyed by name
        if not all(isinstance(k, str) for k in value.index):
            return _real_items(value)
        return _real_items(value.to_numpy())
    return _real_items(value)


def _all_accepted(value: Any, accepts_one: Callable[[Any], bool]) -> bool:
    values = _real_values(value)
    return values is not None and len(values) > 0 and all(map(accepts_one, values))


def _per_feature(description: str, accepts_one: Callable[[Any], bool]) -> Constraint:
    return Constraint(
        f"{description}, a 1-D array of them (one per feature) or a dict/Series of them keyed by "
        "feature name",
        lambda v: _all_accepted(v, accepts_one),
        lambda v: _real_values(v) is not None,
    )


POSITIVE_PER_FEATURE = _per_feature("a float in the range (0, inf)", POSITIVE_FLOAT.accepts)
FINITE_PER_FEATURE = _per_feature("a finite float", FINITE_FLOAT.accepts)
UNIT_INTERVAL = Constraint("a float in the range [0, 1]", lambda v: _is_real(v) and 0 <= v <= 1, _is_real)


def per_feature_positive(n_features: int) -> Constraint:
    """A fitted per-feature scale: an array of ``n_features`` positive floats."""
    return Constraint(
        f"an array of {n_features} floats in the range (0, inf)",
        lambda v: isinstance(v, np.ndarray) and v.shape == (n_features,) and bool(np.all(v > 0)),
    )


# The estimators' parameter constraints, one table per estimator. They live here, not on the
# classes, so that the spec of the bayesreg command checks its values with the very same rules
# without importing the estimators.
COMMON_CONSTRAINTS: dict[str, Constraint] = {
    "prior_sigma": POSITIVE_PER_FEATURE,
    "prior": one_of("normal", "laplace", "elasticnet", "flat"),
    "prior_mean": FINITE_PER_FEATURE,
    "l1_ratio": UNIT_INTERVAL,
    "intercept_prior_sigma": OPTIONAL_POSITIVE_FLOAT,
    "intercept_prior_mean": FINITE_FLOAT,
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
    "noise_prior": one_of("halfnormal", "halfcauchy", "halfstudentt", "exponential", "flat"),
    "noise_prior_nu": POSITIVE_FLOAT,
    "prior_sigma_prior": OPTIONAL_POSITIVE_FLOAT,
    "method": one_of("mcmc", "map", "exact", "laplace"),
}
LOGISTIC_CONSTRAINTS: dict[str, Constraint] = COMMON_CONSTRAINTS | {
    "method": one_of("mcmc", "map", "laplace")
}
POISSON_CONSTRAINTS: dict[str, Constraint] = COMMON_CONSTRAINTS | {"method": one_of("mcmc", "map")}


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


def check_sums_of_squares(name: str, sums_of_squares: Any, column_names: list[str] | None = None) -> None:
    """Refuse finite data whose sums of squares overflow float64, naming the array and its columns.

    The values passed the finiteness check, but the fit works with their squares (``XᵀX``, the
    residual sum of squares); above about 1e154 those are infinite and every later step would fail
    with a message about infinities the user never gave.

    Examples
    --------
    >>> check_sums_of_squares("X", np.array([1.0, np.inf]), ["a", "b"])
    Traceback (most recent call last):
    ...
    ValueError: Input X (column ['b']) has values too large for float64 arithmetic: ... Rescale X ...
    """
    bad = np.flatnonzero(~np.isfinite(np.atleast_1d(sums_of_squares)))
    if bad.size == 0:
        return
    where = ""
    if column_names is not None:
        shown = [column_names[i] for i in bad[:10]]
        where = f" (column{'s' if bad.size > 1 else ''} {shown}{' ...' if bad.size > 10 else ''})"
    raise ValueError(
        f"Input {name}{where} has values too large for float64 arithmetic: they are finite, but their "
        f"squares overflow to infinity. Rescale {name} (e.g. change its units, or standardise it with "
        "sklearn.preprocessing.StandardScaler)."
    )


def sums_of_squares(values: np.ndarray, *, centred: bool) -> np.ndarray:
    """Column sums of squares of a finite 2-D array (about the column means when ``centred``).

    Overflow gives ``inf`` silently, for :func:`check_sums_of_squares` to report.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        a = values - values.mean(axis=0) if centred else values
        return np.einsum("ij,ij->j", a, a)


def check_labels(y: np.ndarray) -> None:
    """Refuse missing labels (None) and labels of types that cannot be compared, naming y.

    scikit-learn's own checks sort the labels first and fail inside ``np.unique`` with
    "'<' not supported between instances of 'NoneType' and 'str'".

    Examples
    --------
    >>> check_labels(np.array(["yes", None, "no"], dtype=object))
    Traceback (most recent call last):
    ...
    ValueError: Input y has missing labels (None) at rows [1]: every row needs one of the two ...
    """
    if y.dtype != object:
        return
    missing = np.flatnonzero([v is None for v in y])
    if missing.size:
        rows = f"{missing[:10].tolist()}{' ...' if missing.size > 10 else ''}"
        raise ValueError(
            f"Input y has missing labels (None) at rows {rows}: every row needs one of the two "
            "class labels. Drop those rows or fill them in."
        )
    try:
        np.unique(y)
    except TypeError:
        kinds = sorted({type(v).__name__ for v in y})
        raise ValueError(
            f"Input y mixes labels of types {kinds}, which cannot be compared with each other: use "
            "labels of one type (e.g. all str, with y.astype(str))."
        ) from None


def _per_row_floats(
    value: Any, n_samples: int, name: str, *, item: str, hold: str, unit: str, finite_rule: str
) -> np.ndarray:
    """``value`` (one number for every row, or one per row) as a finite 1-D float64 copy, ``n_samples`` long.

    The messages name ``name``; ``item``, ``hold``, ``unit`` and ``finite_rule`` word them for the
    caller (sample weights, an exposure), which then checks the sign its model needs.
    """
    from sklearn.utils.validation import check_array

    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        values = np.full(n_samples, float(value))
    else:
        try:
            values = check_array(
                value,
                ensure_2d=False,
                dtype=np.float64,
                ensure_all_finite=False,
                ensure_min_samples=0,
                copy=True,
                input_name=name,
            )
        except (TypeError, ValueError) as exc:
            if name in str(exc):
                raise
            raise type(exc)(f"{name} must hold numbers, {hold}: {exc}") from exc
        if values.ndim != 1:
            raise ValueError(
                f"{name} must be 1-D, one {item} per row of X; got an array of shape {values.shape}."
            )
    if values.shape[0] != n_samples:
        raise ValueError(
            f"{name} has {values.shape[0]} {item}s but X has {n_samples} rows: give one {unit} per row."
        )
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise ValueError(
            f"{name} has values that are NaN or infinite ({values[bad[0]]} at row {bad[0]}): every "
            + finite_rule
        )
    return values


def check_sample_weight(
    sample_weight: Any, n_samples: int, *, where: str = "", allow_all_zero: bool = False
) -> np.ndarray | None:
    """``sample_weight`` as a float64 array of ``n_samples`` finite, non-negative weights (or None).

    A number is one weight for every row, as in scikit-learn. Zero weights are allowed (their rows
    are ignored), but not all of them unless ``allow_all_zero`` (a block of chunked input may be all
    zero; the whole data may not). ``where`` names a block in the messages. The input is never
    modified (the result is a copy when it would alias it).

    Examples
    --------
    >>> check_sample_weight([1, 0, 2.5], 3)
    array([1. , 0. , 2.5])
    >>> check_sample_weight([1.0, -1.0], 2)
    Traceback (most recent call last):
    ...
    ValueError: sample_weight has negative values (-1 at row 1): a weight must be >= 0 ...
    """
    if sample_weight is None:
        return None
    name = f"sample_weight{where}"
    weights = _per_row_floats(
        sample_weight,
        n_samples,
        name,
        item="weight",
        hold="one weight per row of X",
        unit="weight",
        finite_rule="weight must be a finite number >= 0.",
    )
    negative = np.flatnonzero(weights < 0)
    if negative.size:
        raise ValueError(
            f"{name} has negative values ({weights[negative[0]]:g} at row {negative[0]}): a weight must "
            "be >= 0 (it multiplies its row's log-likelihood term; a zero weight ignores the row)."
        )
    if not allow_all_zero and n_samples > 0 and not np.any(weights > 0):
        raise ValueError(
            f"{name} is zero for every row: at least one weight must be positive (a zero weight "
            "ignores its row, so there would be nothing to fit)."
        )
    return weights


def _count_array(value: Any, name: str, n_samples: int, fix: str) -> np.ndarray:
    """``value`` as a 1-D array of ``n_samples`` whole numbers (int64), or a ValueError naming it."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must hold numbers (whole counts), one per row of X; {fix}") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, one count per row of X; got an array of shape {arr.shape}.")
    if arr.shape[0] != n_samples:
        raise ValueError(f"{name} has {arr.shape[0]} values but X has {n_samples} rows: {fix}")
    bad = np.flatnonzero(~np.isfinite(arr) | (arr != np.round(arr)))
    if bad.size:
        raise ValueError(
            f"{name} has a value that is not a whole number ({arr[bad[0]]:g} at row {bad[0]}): {fix}"
        )
    return arr.astype(np.int64)


def check_binomial_counts(y: Any, trials: Any, n_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """Successes ``y`` out of ``trials`` as two int64 arrays, or a ValueError naming what is wrong.

    Every row needs ``trials_i >= 1`` and ``0 <= y_i <= trials_i``, both whole numbers.

    Examples
    --------
    >>> check_binomial_counts([0, 2, 3], [1, 2, 5], 3)
    (array([0, 2, 3]), array([1, 2, 5]))
    >>> check_binomial_counts([0, 4], [1, 3], 2)
    Traceback (most recent call last):
    ...
    ValueError: y exceeds trials at row 1 (4 successes out of 3 trials): ...
    """
    fix = "give y the number of successes and trials the number of trials of each row (whole numbers)."
    t = _count_array(trials, "trials", n_samples, fix)
    k = _count_array(y, "y (the successes, with trials given)", n_samples, fix)
    bad = np.flatnonzero(t < 1)
    if bad.size:
        raise ValueError(
            f"trials must be >= 1 in every row; got {t[bad[0]]} at row {bad[0]}: drop rows without "
            "trials (they carry no information) or fix the count."
        )
    bad = np.flatnonzero(k < 0)
    if bad.size:
        raise ValueError(
            f"y (the successes, with trials given) has a negative count ({k[bad[0]]} at row {bad[0]}): {fix}"
        )
    bad = np.flatnonzero(k > t)
    if bad.size:
        i = bad[0]
        raise ValueError(
            f"y exceeds trials at row {i} ({k[i]} successes out of {t[i]} trials): y counts the "
            "successes among the trials of its row, so 0 <= y <= trials; check that the two columns "
            "are not swapped."
        )
    return k, t


def check_feature_frame(X: Any) -> None:
    """Refuse DataFrame columns that are not numeric, naming them.

    scikit-learn's own message for this does not say which column is at fault. A DataFrame is
    whatever scikit-learn itself takes as one, recognised the same way (by narwhals): pandas,
    polars, pyarrow tables and the other frames narwhals supports. A column is refused when narwhals
    knows its type and it is neither numeric nor boolean (strings, categoricals, dates, nested
    types); a type narwhals cannot name (a pandas sparse or complex column) is left to
    scikit-learn's own checks.
    """
    import narwhals.stable.v2 as nw

    if not nw.dependencies.is_into_dataframe(X):
        return
    schema = nw.from_native(X, eager_only=True).schema
    bad = [str(col) for col, dtype in schema.items() if not _numeric_dtype(dtype)]
    if bad:
        raise TypeError(
            f"X has non-numeric columns {bad}; encode them as numbers first "
            "(e.g. pandas.get_dummies or sklearn.preprocessing.OneHotEncoder) or drop them."
        )


def _numeric_dtype(dtype: Any) -> bool:
    """Whether a narwhals column type can become float64, or is one narwhals cannot name."""
    import narwhals.stable.v2 as nw

    return dtype.is_numeric() or dtype in (nw.Boolean, nw.Unknown)


def check_counts(y: np.ndarray) -> np.ndarray:
    """``y`` as float64 counts: whole numbers >= 0 (finiteness is checked before), else a ValueError.

    Examples
    --------
    >>> check_counts(np.array([0.0, 3.0, 1.0]))
    array([0., 3., 1.])
    >>> check_counts(np.array([0.0, -2.0, 1.0]))
    Traceback (most recent call last):
    ...
    ValueError: Input y has negative values (-2 at row 1): a Poisson target is a count, ...
    """
    y = np.asarray(y, dtype=np.float64)
    negative = np.flatnonzero(y < 0)
    if negative.size:
        raise ValueError(
            f"Input y has negative values ({y[negative[0]]:g} at row {negative[0]}): a Poisson target "
            "is a count, a whole number >= 0. Pass the counts themselves (not centred or transformed)."
        )
    fractional = np.flatnonzero(y != np.floor(y))
    if fractional.size:
        raise ValueError(
            f"Input y has values that are not whole numbers ({y[fractional[0]]:g} at row "
            f"{fractional[0]}): a Poisson target is a count. For a rate (count / exposure), pass the "
            "counts as y and the exposure as exposure=...; for a non-count target use "
            "BayesianLinearRegression."
        )
    return y


def check_exposure(exposure: Any, n_samples: int) -> np.ndarray | None:
    """``exposure`` as a float64 array of ``n_samples`` finite values > 0 (or None).

    A number is one exposure for every row. The model's offset is ``log(exposure)``, so every
    exposure must be positive; the message names the first bad row.

    Examples
    --------
    >>> check_exposure([1.0, 2.5], 2)
    array([1. , 2.5])
    >>> check_exposure([1.0, 0.0], 2)
    Traceback (most recent call last):
    ...
    ValueError: exposure has values <= 0 (0 at row 1): ... drop rows of zero exposure ...
    """
    if exposure is None:
        return None
    values = _per_row_floats(
        exposure,
        n_samples,
        "exposure",
        item="value",
        hold="one per row of X",
        unit="exposure",
        finite_rule="exposure must be a finite number > 0 (the time, area or population the count is over).",
    )
    nonpositive = np.flatnonzero(values <= 0)
    if nonpositive.size:
        raise ValueError(
            f"exposure has values <= 0 ({values[nonpositive[0]]:g} at row {nonpositive[0]}): the model's "
            "offset is log(exposure), so every exposure must be > 0; drop rows of zero exposure (they "
            "can hold no counts) or fix the value."
        )
    return values

"""Turn the ``[data]`` and ``[preprocessing]`` tables of a spec into ``X`` and ``y``.

Needs pandas and scikit-learn, not PyMC. Problems that only show once the data is read (a target
column that is not there, a non-numeric feature, an empty file, an infinite value, a logistic
model on a target with more than two values, a constant target that would set the noise prior)
raise :class:`~bayesreg.app.spec.SpecError`, like the checks of the spec itself, so that
``bayesreg validate`` finds every data problem that ``bayesreg run`` would stop on.

A CSV path is read as given, wherever it points (``../../x.csv``, an absolute path): a spec reads
the file it names. The resolved path is recorded (:attr:`Dataset.source`) for the report.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bayesreg.app.spec import DataSpec, GenerateSpec, Spec, SpecError

__all__ = ["MAX_CLASSES", "Dataset", "load_data"]

# More distinct labels than this in a logistic model's target is taken for a numeric target.
MAX_CLASSES = 20


@dataclass(frozen=True)
class Dataset:
    """The design matrix and target of a spec, after preprocessing.

    Attributes
    ----------
    X : pandas.DataFrame
        Numeric features with their names as columns.
    y : pandas.Series
        The target.
    target : str
        The target's name.
    source_features : list of str
        The feature columns before polynomial expansion.
    description : str
        One sentence on where the rows came from and what was done to them.
    source : pathlib.Path or None
        The CSV file that was read, resolved (symbolic links and ``..`` followed); None for a
        bundled or generated data set.
    source_sha256 : str or None
        The SHA-256 of that file as it was read.
    trials : pandas.Series or None
        The trials of each row, for binomial counts (``data.trials``); ``y`` then counts successes.
    """

    X: pd.DataFrame
    y: pd.Series
    target: str
    source_features: list[str]
    description: str
    source: Path | None = None
    source_sha256: str | None = None
    trials: pd.Series | None = None
    exposure: pd.Series | None = None


def _bundled(name: str) -> tuple[pd.DataFrame, pd.Series]:
    from sklearn import datasets

    loader = {
        "diabetes": datasets.load_diabetes,
        "breast_cancer": datasets.load_breast_cancer,
        "iris": datasets.load_iris,
        "wine": datasets.load_wine,
    }[name]
    bunch = loader(as_frame=True)
    return bunch.data, bunch.target.rename("target")


def _generated(g: GenerateSpec) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(g.seed)
    x = np.sort(rng.uniform(g.x_min, g.x_max, size=g.n_samples))
    f = {"sin": lambda t: np.sin(2 * np.pi * t), "cubic": lambda t: t**3 - t}[g.function]
    y = f(x) + rng.normal(0.0, g.noise_sd, size=g.n_samples)
    return pd.DataFrame({"x": x}), pd.Series(y, name="y")


def _read_csv(csv: Path) -> pd.DataFrame:
    """The CSV file as a table with at least one row."""
    try:
        frame = pd.read_csv(csv)
    except pd.errors.EmptyDataError:
        raise SpecError(f"data.csv {csv} is empty: it needs a header line and data rows") from None
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SpecError(f"cannot read data.csv {csv}: {first}") from None
    if len(frame) == 0:
        header = ", ".join(map(str, frame.columns))
        raise SpecError(f"data.csv {csv} has a header ({header}) but no data rows")
    return frame


def _from_csv(data: DataSpec) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    """The features and the target of ``data.csv``, and the whole table (for its per-row columns)."""
    csv = data.csv
    if csv is None:
        raise RuntimeError("_from_csv needs a DataSpec with csv set")
    frame = _read_csv(csv)
    columns = [str(c) for c in frame.columns]
    if data.target not in columns:
        raise SpecError(f"data.target column {data.target!r} is not in {csv.name}; its columns are {columns}")
    for key, column in (("trials", data.trials), ("exposure", data.exposure)):
        if column is not None and column not in columns:
            raise SpecError(f"data.{key} column {column!r} is not in {csv.name}; its columns are {columns}")
    not_features = (data.target, data.trials, data.exposure)
    features = list(data.features) if data.features else [c for c in columns if c not in not_features]
    missing = [f for f in features if f not in columns]
    if missing:
        raise SpecError(f"data.features {missing} not in {csv.name}; its columns are {columns}")
    if not features:
        raise SpecError(f"{csv.name} has no feature columns besides the target {data.target!r}")
    X = frame[features]
    bad = [c for c in features if not pd.api.types.is_numeric_dtype(X[c])]
    if bad:
        raise SpecError(
            f"feature columns {bad} of {csv.name} are not numeric; encode them as numbers "
            "or leave them out of data.features"
        )
    return X, frame[data.target], frame


def _check_values(X: pd.DataFrame, y: pd.Series, target: str) -> None:
    """No missing and no infinite values, in the features or a numeric target."""
    if X.isna().any().any() or y.isna().any():
        cols = [str(c) for c in X.columns[X.isna().any()]] + ([target] if y.isna().any() else [])
        raise SpecError(f"the data has missing values in columns {cols}; drop or impute those rows first")
    infinite = [str(c) for c in X.columns[np.isinf(X.to_numpy()).any(axis=0)]]
    if pd.api.types.is_numeric_dtype(y) and np.isinf(y.to_numpy(dtype=float)).any():
        infinite.append(target)
    if infinite:
        raise SpecError(
            f"the data has infinite values (inf, or numbers beyond the float64 range such as 1e400) "
            f"in columns {infinite}; drop or fix those rows first"
        )


def _scaled(values: pd.DataFrame) -> pd.DataFrame:
    """Each column divided by the power of two nearest above its largest ``|value|``.

    Dividing by a power of two is exact, so means, sds and standardised values come out the same
    as from the column itself, bit for bit, but with no overflow: squares of values near 1e200,
    which a sd takes, are beyond float64 (the sd would be inf and the column all zeros).
    """
    _, exponent = np.frexp(values.abs().max().to_numpy(dtype=float))
    return values / np.ldexp(1.0, exponent)


def _check_target(spec: Spec, y: pd.Series, target: str) -> None:
    """A binary target for a logistic model; a numeric one, not constant with a noise prior from it."""
    m = spec.model
    if m.kind == "logistic" and spec.data.trials is not None:
        return  # binomial counts: checked with their trials by _check_counts
    if m.kind == "logistic":
        values = pd.unique(y)
        if not 2 <= len(values) <= MAX_CLASSES:
            shown = sorted(map(str, values))[:5]
            raise SpecError(
                f"model.kind = 'logistic' needs a binary target (or 3 to {MAX_CLASSES} classes), but "
                f"{target!r} has {len(values)} distinct values (e.g. {shown}); use kind = 'linear', a "
                "column of class labels, or counts with data.trials"
            )
        return
    if m.kind == "poisson":
        values = y.to_numpy(dtype=float) if pd.api.types.is_numeric_dtype(y) else None
        if values is None or (values < 0).any() or (values != np.floor(values)).any():
            raise SpecError(
                f"model.kind = 'poisson' needs a count target (whole numbers >= 0), but {target!r} "
                "is not one; use kind = 'linear' for other numbers"
            )
        return
    if not pd.api.types.is_numeric_dtype(y):
        raise SpecError(f"model.kind = 'linear' needs a numeric target, but {target!r} is not numeric")
    if m.noise_sigma is None and m.noise_prior_sigma is None:
        sd = float(_scaled(y.astype(float).to_frame()).std(ddof=0).iloc[0])
        if not sd > 0:
            raise SpecError(
                f"the target {target!r} is constant, so its sd cannot set the scale of the noise "
                'prior (model.noise_sigma = "unknown"): set model.noise_prior_sigma or a known '
                "model.noise_sigma"
            )


def _exposure(values: pd.Series, column: str) -> pd.Series:
    """Each row's exposure: finite numbers > 0, else SpecError."""
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.isna().any() or not np.all(np.isfinite(numbers)) or not (numbers > 0).all():
        raise SpecError(
            f"data.exposure column {column!r} must hold numbers > 0 (each row's time, area or "
            "population at risk), with no missing values; drop the rows with none"
        )
    return numbers.astype(float)


def _check_counts(y: pd.Series, trials: pd.Series, target: str, column: str) -> None:
    """Binomial counts: whole numbers with ``0 <= y <= trials`` and ``trials >= 1``, else SpecError."""

    def whole(values: pd.Series) -> np.ndarray | None:
        if not pd.api.types.is_numeric_dtype(values):
            return None
        arr = values.to_numpy(dtype=float)
        return arr if bool(np.all(np.isfinite(arr) & (arr == np.round(arr)))) else None

    k, t = whole(y), whole(trials)
    if t is None or (t < 1).any():
        raise SpecError(
            f"data.trials column {column!r} must hold whole numbers >= 1 (the trials of each row)"
        )
    if k is None or (k < 0).any() or (k > t).any():
        raise SpecError(
            f"with data.trials the target {target!r} counts successes: whole numbers from 0 to the "
            f"row's trials ({column!r}); check that the two columns are not swapped"
        )


def _preprocessed(spec: Spec, X: pd.DataFrame, source_features: list[str]) -> pd.DataFrame:
    """Polynomial expansion, then standardisation, as the spec says; every value finite."""
    if spec.polynomial_degree > 1:
        from sklearn.preprocessing import PolynomialFeatures

        poly = PolynomialFeatures(spec.polynomial_degree, include_bias=False)
        with np.errstate(over="ignore"):  # overflow is reported below, naming the columns
            values = poly.fit_transform(X.to_numpy())
        X = pd.DataFrame(values, columns=poly.get_feature_names_out(source_features), index=X.index)
        overflow = [str(c) for c in X.columns[~np.isfinite(X.to_numpy()).all(axis=0)]]
        if overflow:
            raise SpecError(
                f"polynomial features up to degree {spec.polynomial_degree} overflow float64 in "
                f"columns {overflow}; rescale the data or lower preprocessing.polynomial_degree"
            )
    if spec.standardize:
        scaled = _scaled(X)
        sd = scaled.std(ddof=0)
        constant = [str(c) for c in X.columns[~(sd > 0)]]
        if constant:
            raise SpecError(
                f"feature columns {constant} are constant, so they cannot be standardised; "
                "drop them or set preprocessing.standardize = false"
            )
        X = (scaled - scaled.mean()) / sd
    return X


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def load_data(spec: Spec) -> Dataset:
    """Load the spec's data and apply its preprocessing.

    Parameters
    ----------
    spec : Spec
        A parsed spec.

    Returns
    -------
    Dataset

    Raises
    ------
    SpecError
        When the data does not fit the spec (an empty CSV file or one without rows, a missing
        column, missing or infinite values, a non-binary target for a logistic model, a
        constant target whose sd would set the noise prior, a constant feature with
        ``standardize = true``, polynomial features that overflow).

    Examples
    --------
    >>> from bayesreg.app.spec import parse_spec
    >>> spec = parse_spec({"schema_version": 1, "data": {"generate": {"n_samples": 20}},
    ...                    "preprocessing": {"polynomial_degree": 3}}, "curve.toml")
    >>> data = load_data(spec)
    >>> data.X.shape, list(data.X.columns)
    ((20, 3), ['x', 'x^2', 'x^3'])
    """
    d = spec.data
    source = source_sha256 = None
    trials = exposure = None
    if d.dataset is not None:
        X, y = _bundled(d.dataset)
    elif d.csv is not None:
        X, y, frame = _from_csv(d)
        source, source_sha256 = d.csv.resolve(), _sha256(d.csv)
        if d.trials is not None:
            trials = frame[d.trials]
            if trials.isna().any():
                raise SpecError(
                    f"the data has missing values in columns {[d.trials]}; drop or impute those rows first"
                )
            _check_counts(y, trials, str(y.name), d.trials)
        if d.exposure is not None:
            exposure = _exposure(frame[d.exposure], d.exposure)
    elif d.generate is not None:
        X, y = _generated(d.generate)
    else:
        raise RuntimeError("DataSpec has none of dataset, csv and generate set")
    X = X.astype(float)
    source_features = [str(c) for c in X.columns]
    target = str(y.name)
    _check_values(X, y, target)
    _check_target(spec, y, target)
    X = _preprocessed(spec, X, source_features)
    description = spec.describe_data(len(y), X.shape[1], target)
    return Dataset(
        X=X,
        y=y,
        target=target,
        source_features=source_features,
        description=description,
        source=source,
        source_sha256=source_sha256,
        trials=trials,
        exposure=exposure,
    )

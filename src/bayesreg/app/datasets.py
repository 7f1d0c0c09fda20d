"""Turn the ``[data]`` and ``[preprocessing]`` tables of a spec into ``X`` and ``y``.

Needs pandas and scikit-learn, not PyMC. Problems that only show once the data is read (a target
column that is not there, a non-numeric feature, a logistic model on a target with more than two
values) raise :class:`~bayesreg.app.spec.SpecError`, like the checks of the spec itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayesreg.app.spec import DataSpec, GenerateSpec, Spec, SpecError

__all__ = ["Dataset", "load_data"]


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
    """

    X: pd.DataFrame
    y: pd.Series
    target: str
    source_features: list[str]
    description: str


def _bundled(name: str) -> tuple[pd.DataFrame, pd.Series]:
    from sklearn import datasets

    loader = {"diabetes": datasets.load_diabetes, "breast_cancer": datasets.load_breast_cancer}[name]
    bunch = loader(as_frame=True)
    return bunch.data, bunch.target.rename("target")


def _generated(g: GenerateSpec) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(g.seed)
    x = np.sort(rng.uniform(g.x_min, g.x_max, size=g.n_samples))
    f = {"sin": lambda t: np.sin(2 * np.pi * t), "cubic": lambda t: t**3 - t}[g.function]
    y = f(x) + rng.normal(0.0, g.noise_sd, size=g.n_samples)
    return pd.DataFrame({"x": x}), pd.Series(y, name="y")


def _from_csv(data: DataSpec) -> tuple[pd.DataFrame, pd.Series]:
    csv = data.csv
    if csv is None:
        raise RuntimeError("_from_csv needs a DataSpec with csv set")
    try:
        frame = pd.read_csv(csv)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SpecError(f"cannot read data.csv {data.csv}: {first}") from None
    columns = [str(c) for c in frame.columns]
    if data.target not in columns:
        raise SpecError(f"data.target column {data.target!r} is not in {csv.name}; its columns are {columns}")
    features = list(data.features) if data.features else [c for c in columns if c != data.target]
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
    return X, frame[data.target]


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
        When the data does not fit the spec (missing column, missing values, non-binary target
        for a logistic model, constant feature with ``standardize = true``).

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
    if d.dataset is not None:
        X, y = _bundled(d.dataset)
    elif d.csv is not None:
        X, y = _from_csv(d)
    elif d.generate is not None:
        X, y = _generated(d.generate)
    else:
        raise RuntimeError("DataSpec has none of dataset, csv and generate set")
    X = X.astype(float)
    source_features = [str(c) for c in X.columns]
    target = str(y.name)

    if X.isna().any().any() or y.isna().any():
        cols = [str(c) for c in X.columns[X.isna().any()]] + ([target] if y.isna().any() else [])
        raise SpecError(f"the data has missing values in columns {cols}; drop or impute those rows first")

    if spec.model.kind == "logistic":
        values = pd.unique(y)
        if len(values) != 2:
            shown = sorted(map(str, values))[:5]
            raise SpecError(
                f"model.kind = 'logistic' needs a binary target, but {target!r} has {len(values)} "
                f"distinct values (e.g. {shown}); use kind = 'linear' or a two-valued column"
            )
    elif not pd.api.types.is_numeric_dtype(y):
        raise SpecError(f"model.kind = 'linear' needs a numeric target, but {target!r} is not numeric")

    if spec.polynomial_degree > 1:
        from sklearn.preprocessing import PolynomialFeatures

        poly = PolynomialFeatures(spec.polynomial_degree, include_bias=False)
        values = poly.fit_transform(X.to_numpy())
        X = pd.DataFrame(values, columns=poly.get_feature_names_out(source_features), index=X.index)
    if spec.standardize:
        sd = X.std(ddof=0)
        constant = [str(c) for c in X.columns[~(sd > 0)]]
        if constant:
            raise SpecError(
                f"feature columns {constant} are constant, so they cannot be standardised; "
                "drop them or set preprocessing.standardize = false"
            )
        X = (X - X.mean()) / sd
    description = spec.describe_data(len(y), X.shape[1], target)
    return Dataset(X=X, y=y, target=target, source_features=source_features, description=description)

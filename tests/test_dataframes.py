"""DataFrames of any library scikit-learn takes: pandas, polars and pyarrow tables.

Column names become ``feature_names_in_`` and the posterior's ``feature`` coordinate, for fit,
predict and chunked input, whatever the library; a non-numeric column is refused by name in each.
polars and pyarrow come with the ``test`` extra; under CI=true a missing one fails rather than skips.
"""

from __future__ import annotations

import importlib
import os

import numpy as np
import pandas as pd
import pytest

from bayesreg import BayesianLinearRegression, BayesianLogisticRegression


def _require(name: str):
    if os.environ.get("CI", "").lower() == "true":
        return importlib.import_module(name)  # an ImportError fails the run under CI
    return pytest.importorskip(name)


pl = _require("polars")
pa = _require("pyarrow")

NAMES = ["alpha", "beta", "gamma"]
RNG = np.random.default_rng(7)
X = RNG.normal(size=(80, 3))
Y_LINEAR = 1.0 + X @ [2.0, -1.0, 0.5] + RNG.normal(size=80)
Y_LOGISTIC = (X @ [1.5, -1.0, 0.5] + RNG.logistic(size=80) > 0).astype(int)


def frame(kind: str, values: np.ndarray = X, names: list[str] = NAMES):
    columns = {name: values[:, j] for j, name in enumerate(names)}
    if kind == "pandas":
        return pd.DataFrame(columns)
    if kind == "polars":
        return pl.DataFrame(columns)
    return pa.table(columns)


def linear():
    return BayesianLinearRegression(1.0, noise_sigma=1.0, method="exact", random_state=0)


def logistic():
    return BayesianLogisticRegression(1.0, method="map")


KINDS = ["pandas", "polars", "pyarrow"]
MAKERS = {"linear": (linear, Y_LINEAR), "logistic": (logistic, Y_LOGISTIC)}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("model", ["linear", "logistic"])
def test_a_frame_fits_as_its_array_does_and_keeps_its_column_names(kind, model):
    make, y = MAKERS[model]
    on_frame = make().fit(frame(kind), y)
    on_array = make().fit(X, y)
    assert on_frame.feature_names_in_.tolist() == NAMES
    np.testing.assert_allclose(on_frame.coef_, on_array.coef_, rtol=1e-12)
    np.testing.assert_allclose(on_frame.predict(frame(kind)), on_array.predict(X), rtol=1e-12)
    if model == "linear":  # method="exact" has draws; the logistic coordinate is checked with NUTS below
        assert on_frame.idata_["posterior"]["feature"].values.tolist() == NAMES


@pytest.mark.parametrize("kind", ["polars", "pyarrow"])
def test_logistic_posterior_is_indexed_by_the_column_names(kind):
    est = BayesianLogisticRegression(
        1.0, draws=1000, tune=500, chains=4, random_state=1, progressbar=False, compute_log_likelihood=False
    ).fit(frame(kind), Y_LOGISTIC)
    assert est.idata_["posterior"]["feature"].values.tolist() == NAMES
    assert est.feature_names_in_.tolist() == NAMES


@pytest.mark.parametrize("kind", ["polars", "pyarrow"])
def test_predict_checks_the_column_names_of_a_frame(kind):
    est = linear().fit(frame(kind), Y_LINEAR)
    shuffled = frame(kind, X[:, [1, 0, 2]], ["beta", "alpha", "gamma"])
    with pytest.raises(ValueError, match="feature names should match"):
        est.predict(shuffled)


def test_polars_integer_and_boolean_columns_are_numeric():
    data = pl.DataFrame({"count": np.arange(80) % 5, "flag": (np.arange(80) % 2 == 0), "x": X[:, 0]})
    est = linear().fit(data, Y_LINEAR)
    assert est.feature_names_in_.tolist() == ["count", "flag", "x"]
    np.testing.assert_allclose(
        est.coef_, linear().fit(data.to_numpy().astype(float), Y_LINEAR).coef_, rtol=1e-12
    )


@pytest.mark.parametrize("model", ["linear", "logistic"])
@pytest.mark.parametrize(
    ("column", "values"),
    [
        ("city", [f"c{i % 3}" for i in range(80)]),
        ("city", pl.Series([f"c{i % 3}" for i in range(80)], dtype=pl.Categorical)),
        ("when", pl.date_range(pl.date(2020, 1, 1), pl.date(2020, 3, 20), eager=True)),
    ],
    ids=["string", "categorical", "date"],
)
def test_non_numeric_polars_columns_are_named(model, column, values):
    make, y = MAKERS[model]
    data = frame("polars").with_columns(pl.Series(column, values))
    with pytest.raises(TypeError, match=rf"non-numeric columns \['{column}'\]"):
        make().fit(data, y)
    fitted = make().fit(frame("polars"), y)
    with pytest.raises(TypeError, match=r"non-numeric columns \['beta'\]"):
        fitted.predict(frame("polars").with_columns(pl.Series("beta", ["x"] * 80)))


def test_non_numeric_pyarrow_column_is_named():
    data = frame("pyarrow").append_column("city", pa.array([f"c{i % 3}" for i in range(80)]))
    with pytest.raises(TypeError, match=r"non-numeric columns \['city'\]"):
        linear().fit(data, Y_LINEAR)


def test_pandas_sparse_column_is_left_to_scikit_learn():
    # narwhals cannot name a sparse dtype; it is numeric, and scikit-learn densifies it with a warning
    data = frame("pandas").astype({"gamma": pd.SparseDtype("float64", 0.0)})
    with pytest.warns(UserWarning, match="sparse columns"):
        est = linear().fit(data, Y_LINEAR)
    np.testing.assert_allclose(est.coef_, linear().fit(X, Y_LINEAR).coef_, rtol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_chunked_frames_keep_their_column_names(kind):
    blocks = [(frame(kind, X[s : s + 20]), Y_LINEAR[s : s + 20]) for s in range(0, 80, 20)]
    kw = dict(noise_sigma=1.0, method="exact", random_state=0, compute_log_likelihood=False)
    chunked = BayesianLinearRegression(1.0, **kw).fit(iter(blocks))
    whole = BayesianLinearRegression(1.0, **kw).fit(X, Y_LINEAR)
    assert chunked.feature_names_in_.tolist() == NAMES
    assert chunked.idata_["posterior"]["feature"].values.tolist() == NAMES
    np.testing.assert_allclose(
        chunked.exact_posterior_.coef_mean, whole.exact_posterior_.coef_mean, rtol=1e-10
    )


def test_chunked_polars_blocks_must_agree_and_be_numeric():
    kw = dict(noise_sigma=1.0, method="exact", compute_log_likelihood=False)
    renamed = [
        (frame("polars", X[:40]), Y_LINEAR[:40]),
        (frame("polars", X[40:], ["a", "b", "c"]), Y_LINEAR[40:]),
    ]
    with pytest.raises(ValueError, match="columns of block 1"):
        BayesianLinearRegression(1.0, **kw).fit(iter(renamed))
    text = frame("polars", X[40:]).with_columns(pl.Series("beta", ["x"] * 40))
    with pytest.raises(TypeError, match=r"non-numeric columns \['beta'\]"):
        BayesianLinearRegression(1.0, **kw).fit(
            iter([(frame("polars", X[:40]), Y_LINEAR[:40]), (text, Y_LINEAR[40:])])
        )

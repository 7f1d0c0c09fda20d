"""bayesreg.from_formula / FormulaModel: a formula's design is the estimator's X, names and all.

Every fit here is compared with the same estimator on a design built by hand, with formulaic's
column names: the formula layer must add the encoding and nothing else.
"""

from __future__ import annotations

import importlib
import os

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.model_selection import GridSearchCV

from bayesreg import (
    BayesianLinearRegression,
    BayesianLogisticRegression,
    BayesianPoissonRegression,
    FormulaModel,
    from_formula,
)

EXACT = dict(noise_sigma=1.0, method="exact", random_state=0)


def _require(name: str):
    if os.environ.get("CI", "").lower() == "true":
        return importlib.import_module(name)  # an ImportError fails the run under CI
    return pytest.importorskip(name)


def make_data(n=120, seed=0):
    rng = np.random.default_rng(seed)
    data = pd.DataFrame(
        {
            "x1": rng.normal(size=n),
            "x2": rng.normal(size=n),
            "x3": rng.uniform(0.5, 3.0, size=n),
            "g": rng.choice(["a", "b", "c"], size=n),
        }
    )
    signal = 1.0 + 2.0 * data.x1 - data.x2 + 1.5 * (data.g == "b") + 0.5 * np.log(data.x3)
    data["y"] = signal + rng.normal(size=n)
    data["label"] = np.where(signal + rng.logistic(size=n) > 1.5, "yes", "no")
    return data


DATA = make_data()
RICH = "y ~ x1 + C(g) + x1:x2 + np.log(x3)"
RICH_NAMES = ["x1", "C(g)[T.b]", "C(g)[T.c]", "np.log(x3)", "x1:x2"]


def rich_design(data: pd.DataFrame) -> pd.DataFrame:
    """The design of RICH built by hand, with formulaic's column names (level 'a' is the base)."""
    return pd.DataFrame(
        {
            "x1": data.x1,
            "C(g)[T.b]": (data.g == "b").astype(float),
            "C(g)[T.c]": (data.g == "c").astype(float),
            "np.log(x3)": np.log(data.x3),
            "x1:x2": data.x1 * data.x2,
        }
    )


def assert_same_fit(model: FormulaModel, direct, names: list[str]) -> None:
    assert model.feature_names_in_.tolist() == names
    assert model.estimator_.feature_names_in_.tolist() == names
    np.testing.assert_allclose(model.coef_, direct.coef_, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(model.intercept_, direct.intercept_, rtol=1e-12, atol=1e-12)


# --- the fit is the fit of the design -------------------------------------------------------------


def test_plain_formula_equals_the_estimator_on_its_columns():
    model = from_formula("y ~ x1 + x2", DATA, **EXACT)
    direct = BayesianLinearRegression(**EXACT).fit(DATA[["x1", "x2"]], DATA.y)
    assert isinstance(model.estimator_, BayesianLinearRegression) and model.estimator_.fit_intercept
    assert_same_fit(model, direct, ["x1", "x2"])
    np.testing.assert_allclose(model.predict(DATA), direct.predict(DATA[["x1", "x2"]]), rtol=1e-12)
    assert model.idata_["posterior"]["feature"].values.tolist() == ["x1", "x2"]


def test_categorical_interaction_and_transform_give_the_hand_built_fit():
    model = from_formula(RICH, DATA, **EXACT)
    direct = BayesianLinearRegression(**EXACT).fit(rich_design(DATA), DATA.y)
    assert_same_fit(model, direct, RICH_NAMES)
    assert model.idata_["posterior"]["feature"].values.tolist() == RICH_NAMES
    np.testing.assert_allclose(
        model.idata_["posterior"]["coef"].values, direct.idata_["posterior"]["coef"].values, rtol=1e-12
    )


def test_predict_reapplies_the_encoding_to_new_data_with_fewer_levels():
    model = from_formula(RICH, DATA, **EXACT)
    direct = BayesianLinearRegression(**EXACT).fit(rich_design(DATA), DATA.y)
    new = make_data(n=7, seed=5).drop(columns=["y", "label"])
    new["g"] = ["c", "a", "c", "a", "a", "c", "a"]  # no 'b': still three levels, 'a' the base
    assert model.model_spec_.rhs.get_model_matrix(new).columns.tolist()[1:] == RICH_NAMES
    mean, sd = model.predict(new, return_std=True)
    direct_mean, direct_sd = direct.predict(rich_design(new), return_std=True)
    np.testing.assert_allclose(mean, direct_mean, rtol=1e-12)
    np.testing.assert_allclose(sd, direct_sd, rtol=1e-12)


def test_stateful_transforms_use_the_training_state_at_predict():
    model = from_formula("y ~ center(x1)", DATA, **EXACT)
    direct = BayesianLinearRegression(**EXACT).fit(
        pd.DataFrame({"center(x1)": DATA.x1 - DATA.x1.mean()}), DATA.y
    )
    one_row = DATA.iloc[[3]]  # centred with its own mean it would be 0
    np.testing.assert_allclose(
        model.predict(one_row), direct.predict(pd.DataFrame({"center(x1)": one_row.x1 - DATA.x1.mean()}))
    )


def test_logistic_formula_equals_the_hand_built_map():
    formula = "label ~ x1 + C(g) + x1:x2 + np.log(x3)"
    model = from_formula(formula, DATA, model="logistic", method="map")
    direct = BayesianLogisticRegression(method="map").fit(rich_design(DATA), DATA.label)
    assert isinstance(model.estimator_, BayesianLogisticRegression)
    assert_same_fit(model, direct, RICH_NAMES)
    assert model.classes_.tolist() == ["no", "yes"]
    np.testing.assert_array_equal(model.predict(DATA), direct.predict(rich_design(DATA)))
    np.testing.assert_allclose(model.predict_proba(DATA), direct.predict_proba(rich_design(DATA)), rtol=1e-12)
    np.testing.assert_allclose(
        model.decision_function(DATA), direct.decision_function(rich_design(DATA)), rtol=1e-12
    )


def test_poisson_formula_equals_the_hand_built_map():
    data = DATA.assign(count=np.random.default_rng(1).poisson(np.exp(0.3 + 0.5 * DATA.x1)))
    formula = "count ~ x1 + C(g) + x1:x2 + np.log(x3)"
    model = from_formula(formula, data, model="poisson", method="map")
    direct = BayesianPoissonRegression(method="map").fit(rich_design(data), data["count"])
    assert isinstance(model.estimator_, BayesianPoissonRegression)
    assert_same_fit(model, direct, RICH_NAMES)
    np.testing.assert_allclose(model.predict(data), direct.predict(rich_design(data)), rtol=1e-12)


def test_logistic_takes_a_zero_one_column_or_an_expression():
    data = DATA.assign(sick=(DATA.label == "yes").astype(int))
    on_column = from_formula("sick ~ x1", data, model="logistic", method="map")
    on_expression = from_formula("I(label == 'yes') ~ x1", data, model="logistic", method="map")
    assert on_column.classes_.tolist() == [0, 1]
    np.testing.assert_allclose(on_column.coef_, on_expression.coef_, rtol=1e-12)


@pytest.mark.parametrize("formula", ["y ~ x1 + x2 - 1", "y ~ x1 + x2 + 0", "y ~ 0 + x1 + x2"])
def test_a_formula_without_intercept_fits_without_one(formula):
    model = from_formula(formula, DATA, **EXACT)
    direct = BayesianLinearRegression(fit_intercept=False, **EXACT).fit(DATA[["x1", "x2"]], DATA.y)
    assert model.estimator_.fit_intercept is False and model.intercept_ == 0.0
    assert_same_fit(model, direct, ["x1", "x2"])


def test_without_intercept_a_categorical_term_gets_every_level():
    model = from_formula("y ~ C(g) + x1 - 1", DATA, **EXACT)
    assert model.feature_names_in_.tolist() == ["C(g)[a]", "C(g)[b]", "C(g)[c]", "x1"]
    assert model.estimator_.fit_intercept is False


def test_polars_data_gives_the_pandas_fit():
    pl = _require("polars")
    on_polars = from_formula(RICH, pl.from_pandas(DATA), **EXACT)
    on_pandas = from_formula(RICH, DATA, **EXACT)
    assert_same_fit(on_polars, on_pandas.estimator_, RICH_NAMES)
    new = pl.from_pandas(make_data(n=5, seed=3).drop(columns=["y"]))
    np.testing.assert_allclose(on_polars.predict(new), on_pandas.predict(new.to_pandas()), rtol=1e-12)


@pytest.mark.parametrize("fitted_on", ["pandas", "polars", "pyarrow"])
def test_new_data_may_come_from_another_library(fitted_on):
    pl, pa = _require("polars"), _require("pyarrow")
    convert = {"pandas": lambda d: d, "polars": pl.from_pandas, "pyarrow": pa.Table.from_pandas}
    data = DATA.drop(columns="label")
    model = from_formula(RICH, convert[fitted_on](data), **EXACT)
    expected = from_formula(RICH, data, **EXACT).predict(data.head(6))
    for library in convert:
        np.testing.assert_allclose(model.predict(convert[library](data.head(6))), expected, rtol=1e-12)
    assert model.score(convert["polars"](data)) == pytest.approx(model.score(data), rel=1e-12)


def test_user_functions_come_through_context():
    model = from_formula("y ~ twice(x1)", DATA, context={"twice": lambda v: 2 * v}, **EXACT)
    assert model.feature_names_in_.tolist() == ["twice(x1)"]
    np.testing.assert_allclose(
        model.predict(DATA.head()), from_formula("y ~ I(2 * x1)", DATA, **EXACT).predict(DATA.head())
    )


# --- scikit-learn: parameters, clone, model selection ---------------------------------------------


def test_parameters_clone_and_estimator_type():
    model = FormulaModel("y ~ x1", prior_sigma=2.0, noise_sigma=1.0, method="exact")
    assert model.get_params() == {
        "formula": "y ~ x1", "model": "linear", "context": None,
        "prior_sigma": 2.0, "noise_sigma": 1.0, "method": "exact",
    }  # fmt: skip
    twin = clone(model.set_params(prior_sigma=3.0, model="linear"))
    assert twin.get_params()["prior_sigma"] == 3.0 and twin is not model
    assert is_regressor(model) and is_classifier(FormulaModel("label ~ x1", model="logistic"))
    assert not hasattr(model, "predict_proba") and hasattr(
        FormulaModel("a ~ b", model="logistic"), "predict_proba"
    )


def test_grid_search_over_prior_sigma_scores_with_the_left_hand_side():
    search = GridSearchCV(FormulaModel("y ~ x1 + x2 + C(g)", **EXACT), {"prior_sigma": [0.01, 1.0]}, cv=3)
    search.fit(DATA)
    assert search.best_params_ == {"prior_sigma": 1.0}
    model = search.best_estimator_
    assert model.score(DATA) == pytest.approx(model.estimator_.score(model._design(DATA), DATA.y))


# --- bad input: each message names what is wrong --------------------------------------------------


def test_unknown_model_is_refused():
    with pytest.raises(
        ValueError,
        match=r"'model' parameter of FormulaModel must be a str among \{'linear', 'logistic', 'poisson'\}",
    ):
        from_formula("y ~ x1", DATA, model="gamma")


def test_a_missing_column_is_named():
    with pytest.raises(ValueError, match=r"could not be evaluated on data.*`x9` is not present"):
        from_formula("y ~ x1 + x9", DATA, **EXACT)
    model = from_formula("y ~ x1 + x2", DATA, **EXACT)
    with pytest.raises(ValueError, match=r"`x2` is not present"):
        model.predict(DATA.drop(columns="x2"))


@pytest.mark.parametrize("library", ["pandas", "polars"])
def test_missing_values_are_an_error_naming_column_and_rows(library):
    data = DATA.copy()
    data.loc[[4, 9], "x2"] = np.nan
    data.loc[6, "g"] = None
    if library == "polars":
        data = _require("polars").from_pandas(data)
    with pytest.raises(
        ValueError, match=r"missing values \(null or NaN\) in 'g' at rows \[6\]; 'x2' at rows \[4, 9\]"
    ):
        from_formula("y ~ x1 + x2 + C(g)", data, **EXACT)
    model = from_formula("y ~ x1 + x2", DATA, **EXACT)
    with pytest.raises(ValueError, match=r"'x2' at rows \[4, 9\]"):
        model.predict(data)


def test_polars_nan_is_missing_too():
    pl = _require("polars")
    data = pl.from_pandas(DATA).with_columns(
        pl.when(pl.int_range(pl.len()) == 2).then(float("nan")).otherwise(pl.col("y")).alias("y")
    )
    with pytest.raises(ValueError, match=r"'y' at rows \[2\]"):
        from_formula("y ~ x1", data, **EXACT)


def test_a_transform_outside_its_domain_is_named():
    with (
        pytest.raises(ValueError, match=r"terms \['np.log\(x1\)'\] are NaN or infinite"),
        np.errstate(all="ignore"),
    ):
        from_formula("y ~ np.log(x1)", DATA, **EXACT)


def test_a_level_unseen_in_training_is_refused_at_predict():
    model = from_formula("y ~ x1 + C(g)", DATA, **EXACT)
    with pytest.raises(ValueError, match=r"not seen.*\{'z'\}"):
        model.predict(DATA.assign(g="z"))


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("x1 + x2", "has no left-hand side"),
        ("y ~ x1 +", "does not parse"),
        ("y ~ x1 | x2", "multi-part"),
        ("y ~ 1", "no terms besides the intercept"),
        ("y + x2 ~ x1", "y must be one column"),
    ],
)
def test_bad_formulas_are_refused(formula, message):
    with pytest.raises(ValueError, match=message):
        from_formula(formula, DATA, **EXACT)


def test_bad_parameters_and_data_are_refused():
    with pytest.raises(ValueError, match="fit_intercept is set by the formula"):
        from_formula("y ~ x1", DATA, fit_intercept=False, **EXACT)
    with pytest.raises(TypeError, match=r"parameters \['noise_sigma'\] that BayesianLogisticRegression"):
        from_formula("label ~ x1", DATA, model="logistic", noise_sigma=1.0)
    with pytest.raises(TypeError, match="data must be a DataFrame.*got dict"):
        from_formula("y ~ x1", DATA.to_dict("list"), **EXACT)
    with pytest.raises(TypeError, match="takes y from the left-hand side"):
        FormulaModel("y ~ x1", **EXACT).fit(DATA, DATA.y)
    with pytest.raises(TypeError, match="'formula' parameter of FormulaModel must be a str"):
        from_formula(["y ~ x1"], DATA, **EXACT)


def test_a_failed_refit_leaves_the_model_unfitted():
    from sklearn.exceptions import NotFittedError

    model = FormulaModel("y ~ x1", **EXACT).fit(DATA)
    with pytest.raises(ValueError):
        model.set_params(formula="y ~ x9").fit(DATA)
    with pytest.raises(NotFittedError):
        model.predict(DATA)

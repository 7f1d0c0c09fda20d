"""Spec parsing and data loading: fast, no fitting."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bayesreg import BayesianLinearRegression, BayesianLogisticRegression
from bayesreg.app.datasets import load_data
from bayesreg.app.spec import SpecError, load_spec, parse_spec

MODELS = Path(__file__).resolve().parents[1] / "models"
MODEL_SPECS = sorted(MODELS.glob("*.toml"))

BASE = """\
schema_version = 1
seed = 0
[data]
dataset = "diabetes"
[model]
kind = "linear"
prior_sigma = 10.0
noise_sigma = 54.0
"""


def write(tmp_path: Path, text: str, name: str = "spec.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_models_folder_has_the_required_specs():
    specs = {p.stem: load_spec(p) for p in MODEL_SPECS}
    kinds = {
        "diabetes known noise": any(
            s.data.dataset == "diabetes" and s.model.noise_sigma is not None for s in specs.values()
        ),
        "diabetes unknown noise": any(
            s.data.dataset == "diabetes" and s.model.noise_sigma is None for s in specs.values()
        ),
        "breast cancer logistic": any(
            s.data.dataset == "breast_cancer" and s.model.kind == "logistic" for s in specs.values()
        ),
        "polynomial sweep": any(s.is_sweep and s.polynomial_degree > 1 for s in specs.values()),
        "csv beside the spec": any(
            s.data.csv is not None and s.data.csv.parent == MODELS for s in specs.values()
        ),
    }
    assert kinds == dict.fromkeys(kinds, True)


@pytest.mark.parametrize("path", MODEL_SPECS, ids=lambda p: p.stem)
def test_every_model_spec_loads_its_data(path):
    spec = load_spec(path)
    data = load_data(spec)
    assert len(data.X) == len(data.y) > 0
    assert np.allclose(data.X.mean(), 0.0, atol=1e-10) == spec.standardize


# Estimator parameters a spec cannot set yet; a new parameter must be mapped or listed here.
NOT_IN_SPECS = {"prior_sigma_prior"}  # hierarchical prior sd: the report assumes a fixed σ


@pytest.mark.parametrize(
    ("kind", "cls"), [("linear", BayesianLinearRegression), ("logistic", BayesianLogisticRegression)]
)
def test_spec_keys_map_one_to_one_onto_estimator_parameters(kind, cls):
    extra = 'noise_sigma = "unknown"' if kind == "linear" else ""
    spec = parse_spec(
        tomllib.loads(
            f'schema_version = 1\nseed = 7\n[data]\ndataset = "breast_cancer"\n'
            f'[model]\nkind = "{kind}"\nprior_sigma = 2.5\n{extra}\n'
            '[sampler]\nmethod = "map"\ndraws = 11\ntune = 12\nchains = 3\n'
        ),
        "x.toml",
    )
    params = spec.estimator_params(2.5, progressbar=False)
    assert set(params) == set(cls().get_params()) - NOT_IN_SPECS
    assert params["random_state"] == 7
    assert (params["draws"], params["tune"], params["chains"], params["method"]) == (11, 12, 3, "map")
    cls(**params)  # accepted by the estimator as is


def test_sweep_and_overrides(tmp_path):
    spec = load_spec(write(tmp_path, BASE.replace("prior_sigma = 10.0", "prior_sigma = [0.1, 1, 10]")))
    assert spec.is_sweep and spec.model.prior_sigma == (0.1, 1.0, 10.0)
    quick = spec.with_overrides(draws=50, tune=20, chains=None, seed=3)
    assert (quick.draws, quick.tune, quick.chains, quick.seed) == (50, 20, spec.chains, 3)
    with pytest.raises(SpecError, match="--draws must be an integer >= 1"):
        spec.with_overrides(draws=0)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("prior_sigma = 10.0", "prior_sigm = 10.0"),
            "unknown key 'prior_sigm' in [model] (did you mean 'prior_sigma'?)",
        ),
        (("[model]", "[modle]"), "unknown key 'modle' at the top level (did you mean 'model'?)"),
        (("seed = 0", "sed = 0"), "did you mean 'seed'?"),
        (
            ("prior_sigma = 10.0", 'prior_sigma = "big"'),
            "model.prior_sigma must be a number > 0, got a string",
        ),
        (("prior_sigma = 10.0", "prior_sigma = -1"), "model.prior_sigma must be a number > 0, got -1"),
        (("prior_sigma = 10.0", "prior_sigma = [1, 0]"), "model.prior_sigma[1] must be a number > 0"),
        (("noise_sigma = 54.0", 'noise_sigma = "known"'), 'must be a number > 0 or "unknown"'),
        (("seed = 0", "seed = 1.5"), "seed must be an integer >= 0, got a number"),
        (('kind = "linear"', 'kind = "gamma"'), "model.kind must be one of 'linear', 'logistic'"),
        (('dataset = "diabetes"', 'dataset = "diabetis"'), "(did you mean 'diabetes'?)"),
        (("schema_version = 1", "schema_version = 2"), "schema_version 2 is not supported"),
        (("schema_version = 1", ""), "missing schema_version"),
        (('kind = "linear"', 'kind = "logistic"'), "model.noise_sigma is only for kind = 'linear'"),
    ],
)
def test_bad_specs_raise_one_clear_line(tmp_path, change, message):
    path = write(tmp_path, BASE.replace(*change))
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_sampler_types_are_checked(tmp_path):
    for line, message in [
        ("draws = 1.5", "sampler.draws must be an integer >= 1, got a number"),
        ("tune = -1", "sampler.tune must be an integer >= 0, got -1"),
        ("chains = true", "sampler.chains must be an integer >= 1, got a boolean"),
        ('method = "nuts"', "sampler.method must be one of 'mcmc', 'map', 'exact'"),
        ("sample_kwargs = { draws = 5 }", "sample_kwargs may not set ['draws']"),
        ("compute_log_likelihood = 1", "sampler.compute_log_likelihood must be true or false"),
    ]:
        path = write(tmp_path, BASE + "[sampler]\n" + line + "\n")
        with pytest.raises(SpecError) as info:
            load_spec(path)
        assert message in str(info.value), (line, str(info.value))


def test_exact_needs_known_noise(tmp_path):
    text = BASE.replace("noise_sigma = 54.0", 'noise_sigma = "unknown"') + '[sampler]\nmethod = "exact"\n'
    with pytest.raises(SpecError, match=r'method = "exact" needs a known model\.noise_sigma'):
        load_spec(write(tmp_path, text))


def test_not_toml_and_missing_file(tmp_path):
    with pytest.raises(SpecError, match="is not valid TOML"):
        load_spec(write(tmp_path, "schema_version = = 1"))
    with pytest.raises(SpecError, match="spec file not found"):
        load_spec(tmp_path / "nope.toml")


def csv_spec(tmp_path: Path, csv_text: str, data_lines: str, model: str = 'kind = "linear"') -> Path:
    (tmp_path / "d.csv").write_text(csv_text)
    return write(tmp_path, f'schema_version = 1\n[data]\ncsv = "d.csv"\n{data_lines}\n[model]\n{model}\n')


def test_csv_relative_to_spec_with_default_features(tmp_path):
    spec = load_spec(csv_spec(tmp_path, "a,b,y\n1,2,3\n2,1,4\n3,5,1\n", 'target = "y"'))
    data = load_data(spec)
    assert list(data.X.columns) == ["a", "b"] and data.y.tolist() == [3, 4, 1]


def test_csv_errors(tmp_path):
    with pytest.raises(SpecError, match=r"data.csv file not found: .*missing.csv"):
        load_spec(write(tmp_path, 'schema_version = 1\n[data]\ncsv = "missing.csv"\ntarget = "y"\n'))
    with pytest.raises(SpecError, match=r"data\.target is required"):
        load_spec(csv_spec(tmp_path, "a,y\n1,2\n", ""))
    spec = load_spec(csv_spec(tmp_path, "a,b,y\n1,2,3\n2,1,4\n", 'target = "price"'))
    with pytest.raises(SpecError, match=r"column 'price' is not in d.csv; its columns are \['a', 'b', 'y'\]"):
        load_data(spec)
    spec = load_spec(csv_spec(tmp_path, "a,b,y\nx,2,3\nz,1,4\n", 'target = "y"'))
    with pytest.raises(SpecError, match=r"feature columns \['a'\] of d.csv are not numeric"):
        load_data(spec)
    spec = load_spec(csv_spec(tmp_path, "a,y\n1,2\n,3\n", 'target = "y"'))
    with pytest.raises(SpecError, match=r"missing values in columns \['a'\]"):
        load_data(spec)


def test_logistic_needs_a_binary_target(tmp_path):
    spec = load_spec(
        write(tmp_path, 'schema_version = 1\n[data]\ndataset = "diabetes"\n[model]\nkind = "logistic"\n')
    )
    with pytest.raises(
        SpecError, match=r"needs a binary target \(or 3 to 20 classes\), but 'target' has 214 distinct values"
    ):
        load_data(spec)
    ok = load_spec(csv_spec(tmp_path, "a,y\n1,yes\n2,no\n3,yes\n", 'target = "y"', 'kind = "logistic"'))
    assert sorted(load_data(ok).y.unique()) == ["no", "yes"]


def test_generated_curve_is_reproducible_and_expanded(tmp_path):
    text = (
        'schema_version = 1\n[data.generate]\nfunction = "cubic"\nn_samples = 12\nseed = 4\n'
        "[preprocessing]\npolynomial_degree = 3\nstandardize = false\n"
    )
    a = load_data(load_spec(write(tmp_path, text)))
    b = load_data(load_spec(write(tmp_path, text, "again.toml")))
    assert list(a.X.columns) == ["x", "x^2", "x^3"]
    np.testing.assert_array_equal(a.y, b.y)
    np.testing.assert_allclose(a.X["x^3"], a.X["x"] ** 3)
    other = load_data(load_spec(write(tmp_path, text.replace("seed = 4", "seed = 5"), "c.toml")))
    assert not np.allclose(a.y, other.y)


def test_data_description_pluralises_counts(tmp_path):
    spec = load_spec(write(tmp_path, BASE))
    assert spec.describe_data(1, 1, "y") == (
        "scikit-learn data set 'diabetes': 1 row, 1 feature, target 'y' "
        "(each feature standardised to mean 0, sd 1)"
    )
    assert spec.describe_data(442, 10, "target").startswith(
        "scikit-learn data set 'diabetes': 442 rows, 10 features,"
    )
    raw = tomllib.loads(BASE + "[preprocessing]\nstandardize = false\npolynomial_degree = 3\n")
    assert parse_spec(raw, "x.toml").preprocessing_text == "polynomial features up to degree 3"
    raw = tomllib.loads(BASE + "[preprocessing]\nstandardize = false\n")
    assert parse_spec(raw, "x.toml").preprocessing_text == "no preprocessing"


# --- data problems name their cause (issue 16) ------------------------------------------------------

NO_STANDARDIZE = "noise_sigma = 1.0\n[preprocessing]\nstandardize = false"
DATA_PROBLEMS = {
    "header only": (
        "a,y\n",
        "noise_sigma = 1.0",
        r"data\.csv .*d\.csv has a header \(a, y\) but no data rows",
    ),
    "empty file": (
        "",
        "noise_sigma = 1.0",
        r"data\.csv .*d\.csv is empty: it needs a header line and data rows",
    ),
    "inf feature": (
        "a,y\n1,2\ninf,3\n2,4\n",
        NO_STANDARDIZE,
        r"infinite values \(inf, or numbers beyond the float64 range such as 1e400\) in columns \['a'\]",
    ),
    "inf feature, standardised": (
        "a,y\n1,2\ninf,3\n2,4\n",
        "noise_sigma = 1.0",
        r"infinite values .* \['a'\]",
    ),
    "-inf target": ("a,y\n1,2\n3,-inf\n2,4\n", "noise_sigma = 1.0", r"infinite values .* in columns \['y'\]"),
    "1e400 target": (
        "a,y\n1,2\n3,1e400\n2,4\n",
        "noise_sigma = 1.0",
        r"infinite values .* in columns \['y'\]",
    ),
    "inf in both": (
        "a,b,y\n1,inf,inf\n3,1,2\n",
        NO_STANDARDIZE,
        r"infinite values .* in columns \['b', 'y'\]",
    ),
    "polynomial overflow": (
        "a,y\n1e160,2\n3,1\n2,4\n",
        "noise_sigma = 1.0\n[preprocessing]\npolynomial_degree = 3",
        r"polynomial features up to degree 3 overflow float64 in columns \['a\^2', 'a\^3'\]; rescale",
    ),
    "constant target, noise prior from it": (
        "a,y\n1,2\n2,2\n3,2\n",
        'noise_sigma = "unknown"',
        r"the target 'y' is constant, so its sd cannot set the scale of the noise prior "
        r'\(model\.noise_sigma = "unknown"\): set model\.noise_prior_sigma or a known model\.noise_sigma',
    ),
}


@pytest.mark.parametrize("case", list(DATA_PROBLEMS))
def test_data_problems_name_their_cause(tmp_path, case):
    csv_text, model, message = DATA_PROBLEMS[case]
    spec = load_spec(csv_spec(tmp_path, csv_text, 'target = "y"', model))
    with pytest.raises(SpecError, match=message):
        load_data(spec)


@pytest.mark.parametrize(
    "model", ['noise_sigma = "unknown"\nnoise_prior_sigma = 1.0', "noise_sigma = 1.0"], ids=["prior", "known"]
)
def test_a_constant_target_is_fine_when_it_does_not_set_the_noise_prior(tmp_path, model):
    spec = load_spec(csv_spec(tmp_path, "a,y\n1,2\n2,2\n3,2\n", 'target = "y"', model))
    assert load_data(spec).y.tolist() == [2, 2, 2]


def test_a_tiny_target_is_not_called_constant(tmp_path):
    spec = load_spec(csv_spec(tmp_path, "a,y\n1,1e-200\n2,3e-200\n3,2e-200\n", 'target = "y"', ""))
    assert load_data(spec).y.tolist() == [1e-200, 3e-200, 2e-200]


def test_standardising_huge_values_neither_overflows_nor_zeroes_the_column(tmp_path):
    # The sd of values near 1e200 takes squares beyond float64: it was inf, and the column all 0.
    spec = load_spec(
        csv_spec(tmp_path, "a,y\n1e200,1\n-1e200,2\n3e200,4\n", 'target = "y"', "noise_sigma = 1.0")
    )
    x = np.array([1.0, -1.0, 3.0])
    np.testing.assert_allclose(load_data(spec).X["a"], (x - x.mean()) / x.std(), rtol=1e-15)


@pytest.mark.parametrize("path", MODEL_SPECS, ids=lambda p: p.stem)
def test_standardising_ordinary_data_is_unchanged_bit_for_bit(path):
    # Scaling by a power of two before standardising is exact: the shipped data give the bits that
    # the plain formula gives.
    import pandas as pd

    spec = load_spec(path)
    raw = replace(spec, standardize=False)
    X = load_data(raw).X
    plain = (X - X.mean()) / X.std(ddof=0)
    if spec.standardize:
        pd.testing.assert_frame_equal(load_data(spec).X, plain, check_exact=True)


def test_data_spec_keeps_what_the_spec_wrote_for_csv(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "d.csv").write_text("a,y\n1,2\n2,3\n")
    (tmp_path / "models").mkdir()
    text = 'schema_version = 1\n[data]\ncsv = "../data/d.csv"\ntarget = "y"\n'
    spec = load_spec(write(tmp_path / "models", text))
    assert spec.data.csv_text == "../data/d.csv"
    data = load_data(spec)
    assert data.source == (tmp_path / "data" / "d.csv").resolve()


def test_prior_keys_reach_the_estimator(tmp_path):
    text = BASE.replace(
        "prior_sigma = 10.0",
        'prior = "laplace"\nprior_sigma = 10.0\nprior_sigma_factor = { bmi = 2.0, s5 = 0.5 }\n'
        "prior_mean = { bmi = 1.0 }\nintercept_prior_sigma = 100.0\nintercept_prior_mean = 150.0",
    ).replace('method = "exact"', 'method = "map"')
    spec = load_spec(write(tmp_path, text))
    data = load_data(spec)
    names = [str(c) for c in data.X.columns]
    params = spec.estimator_params(10.0, feature_names=names)
    assert params["prior"] == "laplace"
    assert params["prior_sigma"]["bmi"] == 20.0 and params["prior_sigma"]["s5"] == 5.0
    assert params["prior_sigma"]["age"] == 10.0
    assert params["prior_mean"] == {n: (1.0 if n == "bmi" else 0.0) for n in names}
    assert (params["intercept_prior_sigma"], params["intercept_prior_mean"]) == (100.0, 150.0)
    est = BayesianLinearRegression(**params).fit(data.X, data.y)
    assert est.map_converged_ and est.penalty().twin is None  # Lasso cannot give b a normal prior


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ('prior = "lasso"', "model.prior must be one of 'normal', 'laplace', 'elasticnet', 'flat'"),
        ('prior = "elasticnet"\nl1_ratio = 1.5', "model.l1_ratio must be a number in [0, 1], got 1.5"),
        ("prior_sigma_factor = { bmi = -1.0 }", "model.prior_sigma_factor.bmi must be a number > 0"),
        ("prior_sigma_factor = 2.0", "[model.prior_sigma_factor] must be a table, got a number (2.0)"),
        ('noise_prior = "halfcauchy"', 'model.noise_prior is only used when noise_sigma = "unknown"'),
        ("l1_ratio = 0.2", "only to prior='elasticnet'"),
        (
            'prior = "laplace"\n[sampler]\nmethod = "exact"',
            'sampler.method = "exact" needs model.prior = "normal" or "flat"',
        ),
    ],
)
def test_bad_prior_keys_raise_one_clear_line(tmp_path, change, message):
    path = write(tmp_path, BASE + change + "\n")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_per_feature_prior_names_must_be_features(tmp_path):
    text = BASE.replace("prior_sigma = 10.0", "prior_sigma = 10.0\nprior_sigma_factor = { bmii = 2.0 }")
    spec = load_spec(write(tmp_path, text))
    names = [str(c) for c in load_data(spec).X.columns]
    with pytest.raises(SpecError, match=r"name features \['bmii'\] that the data does not have"):
        spec.estimator_params(10.0, feature_names=names)


def test_logistic_specs_refuse_noise_priors(tmp_path):
    text = BASE.replace('kind = "linear"', 'kind = "logistic"').replace(
        "noise_sigma = 54.0", 'noise_prior = "flat"'
    )
    text = text.replace('dataset = "diabetes"', 'dataset = "breast_cancer"')
    with pytest.raises(SpecError, match="model.noise_prior is only for kind = 'linear'"):
        load_spec(write(tmp_path, text))

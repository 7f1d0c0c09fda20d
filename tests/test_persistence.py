"""save/load: one netCDF file, no pickle, exact predictions, clear refusals, atomic writes."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from bayesreg import BayesianLinearRegression, BayesianLogisticRegression, compare_with_ridge
from bayesreg.estimators import persistence
from bayesreg.estimators.persistence import FORMAT_MARKER, load_estimator, save_estimator, saved_versions
from tests.helpers import DIABETES_NOISE, DIABETES_PRIOR


def assert_same_fitted_state(original, loaded):
    """Every fitted attribute and parameter survives, bit for bit."""
    assert type(loaded) is type(original)
    assert loaded.get_params() == original.get_params()
    assert sorted(vars(loaded)) == sorted(vars(original))
    for name, value in vars(original).items():
        other = getattr(loaded, name)
        if isinstance(value, np.ndarray):
            assert other.dtype == value.dtype, name
            assert np.array_equal(other, value), name
        elif isinstance(value, xr.DataTree):
            for group in ("posterior", "observed_data", "log_likelihood"):
                xr.testing.assert_equal(other[group].to_dataset(), value[group].to_dataset())
        elif dataclasses.is_dataclass(value):
            for f in dataclasses.fields(value):
                a, b = getattr(value, f.name), getattr(other, f.name)
                if isinstance(a, dict):
                    assert a.keys() == b.keys()
                    assert all(np.array_equal(a[k], b[k]) for k in a), name
                elif isinstance(a, float) and math.isnan(a):
                    assert math.isnan(b), (name, f.name)
                else:
                    assert np.array_equal(a, b), (name, f.name)
        else:
            assert other == value, name


def roundtrip(est, tmp_path: Path, name: str = "model.nc"):
    path = tmp_path / name
    est.save(path)
    return type(est).load(path)


def test_linear_mcmc_roundtrip_predicts_exactly(diabetes_known_mcmc, diabetes, tmp_path):
    X, y = diabetes
    est = diabetes_known_mcmc
    loaded = roundtrip(est, tmp_path)
    assert_same_fitted_state(est, loaded)
    assert np.array_equal(loaded.predict(X), est.predict(X))
    for a, b in zip(loaded.predict(X, return_std=True), est.predict(X, return_std=True), strict=True):
        assert np.array_equal(a, b)
    # The loaded posterior is the whole posterior: the comparison with ridge is unchanged.
    pd.testing.assert_frame_equal(compare_with_ridge(loaded, X, y).table, compare_with_ridge(est, X, y).table)
    # Feature names came back, so a frame with other columns is still refused.
    with pytest.raises(ValueError, match="feature names"):
        loaded.predict(X.rename(columns={"age": "AGE"}))


def test_linear_unknown_noise_mcmc_roundtrip(diabetes_unknown_mcmc, diabetes, tmp_path):
    X, _ = diabetes
    loaded = roundtrip(diabetes_unknown_mcmc, tmp_path)
    assert_same_fitted_state(diabetes_unknown_mcmc, loaded)
    assert np.array_equal(loaded.predict(X, return_std=True)[1], diabetes_unknown_mcmc.predict(X, True)[1])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"method": "exact", "noise_sigma": DIABETES_NOISE, "random_state": 3},
        {"method": "map", "noise_sigma": DIABETES_NOISE},
        {"method": "map"},
        {"method": "map", "fit_intercept": False},
        {"method": "map", "prior_sigma_prior": 10.0},
    ],
    ids=["exact", "map-known", "map-unknown", "map-no-intercept", "map-hierarchical"],
)
def test_linear_roundtrip_predicts_exactly(kwargs, diabetes, tmp_path):
    X, y = diabetes
    est = BayesianLinearRegression(DIABETES_PRIOR, **kwargs).fit(X, y)
    loaded = roundtrip(est, tmp_path)
    assert_same_fitted_state(est, loaded)
    mean, std = est.predict(X, return_std=True)
    loaded_mean, loaded_std = loaded.predict(X, return_std=True)
    assert np.array_equal(loaded_mean, mean) and np.array_equal(loaded_std, std)


def test_logistic_mcmc_roundtrip(breast_cancer_mcmc, breast_cancer, tmp_path):
    X, _ = breast_cancer
    loaded = roundtrip(breast_cancer_mcmc, tmp_path)
    assert_same_fitted_state(breast_cancer_mcmc, loaded)
    assert np.array_equal(loaded.predict_proba(X), breast_cancer_mcmc.predict_proba(X))
    assert np.array_equal(loaded.predict(X), breast_cancer_mcmc.predict(X))
    assert loaded.convergence_.converged


@pytest.mark.parametrize("labels", [["no", "yes"], [False, True], [-1, 1], [np.int8(3), np.int8(7)]])
def test_logistic_map_roundtrip_keeps_label_types(labels, breast_cancer, tmp_path):
    X, y = breast_cancer
    y_labels = np.asarray(labels)[y.to_numpy()]
    est = BayesianLogisticRegression(1.0, method="map").fit(X, y_labels)
    loaded = roundtrip(est, tmp_path)
    assert_same_fitted_state(est, loaded)
    assert loaded.classes_.dtype == est.classes_.dtype
    assert np.array_equal(loaded.predict(X), est.predict(X))
    assert np.array_equal(loaded.predict_proba(X), est.predict_proba(X))
    assert np.array_equal(loaded.decision_function(X), est.decision_function(X))


def test_plain_arrays_and_generator_seed(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(25, 3))
    y = X @ [1.0, 0.0, -1.0] + rng.normal(size=25)
    gen = np.random.default_rng(123)
    est = BayesianLinearRegression(2.0, noise_sigma=1.0, method="exact", random_state=gen).fit(X, y)
    loaded = roundtrip(est, tmp_path)
    assert not hasattr(loaded, "feature_names_in_")
    assert np.array_equal(loaded.predict(X), est.predict(X))
    # The generator comes back in the state it had when saved.
    assert loaded.random_state.bit_generator.state == gen.bit_generator.state
    refit = loaded.fit(X, y)  # a loaded estimator is an ordinary estimator: it can be refitted
    assert np.array_equal(refit.coef_, est.coef_)


def test_file_records_format_and_versions(tmp_path):
    X = np.arange(12.0).reshape(6, 2)
    est = BayesianLinearRegression(1.0, noise_sigma=1.0, method="map").fit(X, np.arange(6.0))
    path = tmp_path / "m.nc"
    save_estimator(est, path)
    with xr.open_datatree(path, engine="h5netcdf") as tree:
        assert tree.attrs["format"] == FORMAT_MARKER
        assert tree.attrs["format_version"] == persistence.FORMAT_VERSION
        assert tree.attrs["estimator_class"] == "BayesianLinearRegression"
        assert json.loads(tree.attrs["params"])["prior_sigma"] == 1.0
    versions = saved_versions(path)
    assert {"bayesreg", "pymc", "arviz", "numpy", "scikit-learn"} <= set(versions)
    import bayesreg

    assert versions["bayesreg"] == bayesreg.__version__


# --- refusals -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def saved_map_file(tmp_path_factory, diabetes):
    X, y = diabetes
    path = tmp_path_factory.mktemp("saved") / "linear.nc"
    BayesianLinearRegression(DIABETES_PRIOR, method="map").fit(X, y).save(path)
    return path


def test_never_overwrites_unless_asked(saved_map_file, tmp_path, diabetes):
    X, y = diabetes
    path = tmp_path / "m.nc"
    path.write_bytes(b"precious")
    est = BayesianLinearRegression(DIABETES_PRIOR, method="map").fit(X, y)
    with pytest.raises(FileExistsError, match=r"m\.nc already exists; pass overwrite=True"):
        est.save(path)
    assert path.read_bytes() == b"precious"
    est.save(path, overwrite=True)
    assert np.array_equal(BayesianLinearRegression.load(path).predict(X), est.predict(X))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.nc"]  # no temporary files left


def test_failed_save_leaves_no_file_and_no_temporary(monkeypatch, tmp_path, diabetes):
    X, y = diabetes
    est = BayesianLinearRegression(DIABETES_PRIOR, method="map").fit(X, y)
    real = xr.DataTree.to_netcdf

    def write_then_fail(self, filepath, *args, **kwargs):
        real(self, filepath, *args, **kwargs)
        Path(filepath).write_bytes(Path(filepath).read_bytes()[:500])  # as if cut off mid-write
        raise OSError("disk full")

    monkeypatch.setattr(xr.DataTree, "to_netcdf", write_then_fail)
    with pytest.raises(OSError, match="disk full"):
        est.save(tmp_path / "new.nc")
    assert list(tmp_path.iterdir()) == []
    # With overwrite=True the old file survives a failed save untouched.
    old = tmp_path / "old.nc"
    old.write_bytes(b"old contents")
    with pytest.raises(OSError, match="disk full"):
        est.save(old, overwrite=True)
    assert old.read_bytes() == b"old contents"
    assert [p.name for p in tmp_path.iterdir()] == ["old.nc"]


def test_text_file_is_refused(tmp_path):
    path = tmp_path / "notes.nc"
    path.write_text("coef,intercept\n1,2\n")
    with pytest.raises(ValueError, match=r"notes\.nc is not a bayesreg estimator file: it cannot be read"):
        BayesianLinearRegression.load(path)


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9])
def test_truncated_file_is_refused(saved_map_file, tmp_path, keep):
    data = saved_map_file.read_bytes()
    path = tmp_path / "cut.nc"
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ValueError, match=r"cut\.nc is not a (complete )?bayesreg estimator file"):
        load_estimator(path)


def test_empty_file_is_refused(tmp_path):
    path = tmp_path / "empty.nc"
    path.touch()
    with pytest.raises(ValueError, match=r"empty\.nc is not a bayesreg estimator file"):
        load_estimator(path)


def test_other_netcdf_is_refused(tmp_path):
    path = tmp_path / "other.nc"
    xr.Dataset({"a": ("x", np.arange(3.0))}, attrs={"title": "rainfall"}).to_netcdf(path, engine="h5netcdf")
    with pytest.raises(ValueError, match=r"other\.nc is a netCDF file but not a bayesreg .*'format'.*None"):
        load_estimator(path)


def test_newer_format_version_is_refused(saved_map_file, tmp_path):
    tree = xr.open_datatree(saved_map_file, engine="h5netcdf").load()
    tree.close()
    tree.attrs["format_version"] = persistence.FORMAT_VERSION + 1
    path = tmp_path / "future.nc"
    tree.to_netcdf(path, engine="h5netcdf")
    with pytest.raises(ValueError, match=r"future\.nc has format version 2; .*Upgrade bayesreg"):
        load_estimator(path)


def test_other_class_is_refused(saved_map_file):
    match = r"linear\.nc holds a BayesianLinearRegression, not a BayesianLogistic"
    with pytest.raises(ValueError, match=match):
        BayesianLogisticRegression.load(saved_map_file)
    # The shared loader takes either.
    assert isinstance(load_estimator(saved_map_file), BayesianLinearRegression)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.nc"):
        BayesianLinearRegression.load(tmp_path / "nothing.nc")


def test_unfitted_estimator_cannot_be_saved(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        BayesianLinearRegression().save(tmp_path / "m.nc")
    assert list(tmp_path.iterdir()) == []


def test_unsaveable_sample_kwargs_are_refused_before_writing(tmp_path, diabetes):
    X, y = diabetes
    est = BayesianLinearRegression(DIABETES_PRIOR, method="map", sample_kwargs={"callback": print}).fit(X, y)
    with pytest.raises(ValueError, match="Cannot save the estimator: cannot save 'params'"):
        est.save(tmp_path / "m.nc")
    assert list(tmp_path.iterdir()) == []


def test_json_sample_kwargs_round_trip(tmp_path, diabetes):
    X, y = diabetes
    kwargs = {"target_accept": 0.95, "nuts_sampler": "pymc", "init": "adapt_diag"}
    est = BayesianLinearRegression(DIABETES_PRIOR, method="map", sample_kwargs=kwargs).fit(X, y)
    assert roundtrip(est, tmp_path).sample_kwargs == kwargs


def test_a_saved_fit_loads_and_predicts_without_pymc(tmp_path):
    import subprocess
    import sys

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 2)), rng.normal(size=30)
    est = BayesianLinearRegression(1.0, noise_sigma=1.0, method="map").fit(X, y)
    path = tmp_path / "fit.nc"
    est.save(path)
    code = (
        "import sys, numpy as np; from bayesreg import BayesianLinearRegression; "
        f"est = BayesianLinearRegression.load({str(path)!r}); "
        f"print(est.predict(np.array({X[:2].tolist()!r})).tolist(), 'pymc' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().endswith("False")
    assert out.stdout.strip().startswith(str(est.predict(X[:2]).tolist()))


def test_a_file_from_another_bayesreg_version_loads_with_a_warning(saved_map_file, tmp_path):
    tree = xr.open_datatree(saved_map_file, engine="h5netcdf").load()
    tree.close()
    versions = json.loads(tree.attrs["versions"])
    versions["bayesreg"] = "0.0.1"
    tree.attrs["versions"] = json.dumps(versions)
    path = tmp_path / "old.nc"
    tree.to_netcdf(path, engine="h5netcdf")
    with pytest.warns(UserWarning, match=r"old\.nc was written by bayesreg 0\.0\.1; this is bayesreg"):
        est = load_estimator(path)
    assert hasattr(est, "coef_")


def test_a_file_from_this_version_loads_without_a_warning(saved_map_file, recwarn):
    load_estimator(saved_map_file)
    assert not [w for w in recwarn if "was written by bayesreg" in str(w.message)]


# --- files written before the layered layout -----------------------------------------------------


def test_fits_saved_by_bayesreg_0_1_before_the_move_still_load_and_predict_the_same():
    # Written by main at 4b2f050 (flat modules, before the architecture change), kept as fixtures.
    from bayesreg import BayesianLinearRegression, BayesianLogisticRegression
    from tests.helpers import REPO

    data = REPO / "tests" / "data"
    expected = np.load(data / "saved_fits_v0.1.0_expected.npz")
    X = expected["X"]
    linear = BayesianLinearRegression.load(data / "linear_exact_v0.1.0.nc")
    mean, std = linear.predict(X, return_std=True)
    np.testing.assert_array_equal(mean, expected["linear_predict"])
    np.testing.assert_array_equal(std, expected["linear_std"])
    logistic = BayesianLogisticRegression.load(data / "logistic_map_v0.1.0.nc")
    np.testing.assert_array_equal(logistic.predict_proba(X), expected["logistic_proba"])
    assert logistic.penalty().value == 1.0


# --- loads that check what they read ------------------------------------------------------------


def rewrite_params(source: Path, target: Path, **changes) -> Path:
    tree = xr.open_datatree(source, engine="h5netcdf").load()
    tree.close()
    params = json.loads(tree.attrs["params"]) | changes
    tree.attrs["params"] = json.dumps(params)
    tree.to_netcdf(target, engine="h5netcdf")
    return target


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"prior_sigma": -1.0},
            r"'prior_sigma' parameter of BayesianLinearRegression must be a float in the range \(0, inf\),"
            r" a 1-D array of them \(one per feature\) .* Got -1.0",
        ),
        ({"noise_prior_sigma": 0.0}, r"'noise_prior_sigma' parameter .* Got 0.0"),
        ({"draws": "many"}, r"'draws' parameter .* must be an int in the range \[1, inf\). Got 'many'"),
        ({"method": "exact"}, r"method='exact' needs a known noise sd"),
        ({"fit_intercept": "yes"}, r"'fit_intercept' parameter .* must be a bool"),
    ],
)
def test_parameters_out_of_range_are_refused(saved_map_file, tmp_path, changes, message):
    path = rewrite_params(saved_map_file, tmp_path / "bad.nc", **changes)
    with pytest.raises(
        ValueError,
        match=rf"bad\.nc holds a fit that BayesianLinearRegression\.fit could not have made: .*{message}",
    ):
        load_estimator(path)


def tamper(est, name, value):
    if "." in name:  # a field of a result record
        owner, field = name.split(".")
        record = getattr(est, owner)
        if field.startswith("values"):
            values = dict(record.values, coef=value)
            setattr(est, owner, dataclasses.replace(record, values=values))
        else:
            setattr(est, owner, dataclasses.replace(record, **{field: value}))
    elif value is None:
        delattr(est, name)
    else:
        setattr(est, name, value)


@pytest.mark.parametrize(
    ("kwargs", "name", "value", "message"),
    [
        (
            {"method": "map"},
            "coef_",
            np.zeros(9),
            r"'coef_' has shape \(9,\), but n_features_in_ = 10 needs \(10,\)",
        ),
        ({"method": "map"}, "map_coef_", np.zeros(3), r"'map_coef_' has shape \(3,\)"),
        ({"method": "map"}, "coef_sd_", np.zeros((10, 1)), r"'coef_sd_' has shape \(10, 1\)"),
        ({"method": "map"}, "_x_mean", np.zeros(11), r"'_x_mean' has shape \(11,\)"),
        (
            {"method": "map"},
            "feature_names_in_",
            np.array(["a", "b"], dtype=object),
            r"'feature_names_in_' has shape \(2,\)",
        ),
        (
            {"method": "map"},
            "n_features_in_",
            0,
            r"'n_features_in_' must be an int in the range \[1, inf\); it is 0",
        ),
        ({"method": "map"}, "intercept_", None, r"'intercept_' is missing"),
        ({"method": "map"}, "coef_", None, r"'coef_' is missing"),
        ({"method": "map"}, "intercept_", float("nan"), r"'intercept_' must be a finite float; it is nan"),
        ({"method": "map"}, "noise_sigma_", -1.0, r"'noise_sigma_' must be a float in the range \(0, inf\)"),
        ({"method": "map"}, "_map_result", None, r"'_map_result' is missing"),
        (
            {"method": "map"},
            "_map_result.location_cov",
            np.eye(3),
            r"'_map_result.location_cov' has shape \(3, 3\), but n_features_in_ = 10 and "
            r"fit_intercept=True need \(11, 11\)",
        ),
        (
            {"method": "map"},
            "_map_result.values",
            np.zeros(2),
            r"'_map_result.values\['coef'\]' has shape \(2,\)",
        ),
        (
            {"method": "exact", "noise_sigma": DIABETES_NOISE},
            "exact_posterior_.coef_cov",
            np.eye(2),
            r"'exact_posterior_.coef_cov' has shape \(2, 2\)",
        ),
        (
            {"method": "exact", "noise_sigma": DIABETES_NOISE},
            "exact_posterior_",
            None,
            r"'exact_posterior_' is missing",
        ),
        (
            {"method": "exact", "noise_sigma": DIABETES_NOISE},
            "idata_",
            None,
            r"'idata_' is missing",
        ),
    ],
)
def test_linear_fits_whose_arrays_disagree_are_refused(diabetes, tmp_path, kwargs, name, value, message):
    X, y = diabetes
    est = BayesianLinearRegression(DIABETES_PRIOR, **kwargs).fit(X, y)
    tamper(est, name, value)
    est.save(tmp_path / "bad.nc")  # save writes what it is given: load is the one that checks
    with pytest.raises(
        ValueError, match=rf"bad\.nc holds a fit that .* could not have made: the fitted attribute {message}"
    ):
        BayesianLinearRegression.load(tmp_path / "bad.nc")


def test_a_posterior_with_other_features_is_refused(diabetes, tmp_path):
    X, y = diabetes
    est = BayesianLinearRegression(DIABETES_PRIOR, noise_sigma=DIABETES_NOISE, method="exact").fit(X, y)
    narrow = BayesianLinearRegression(DIABETES_PRIOR, noise_sigma=DIABETES_NOISE, method="exact").fit(
        X.iloc[:, :4], y
    )
    est.idata_ = narrow.idata_
    est.save(tmp_path / "bad.nc")
    with pytest.raises(
        ValueError, match=r"bad\.nc .* the posterior in 'idata_' has 'coef' of dims .*'feature': 4"
    ):
        load_estimator(tmp_path / "bad.nc")


@pytest.mark.parametrize(
    ("classes", "message"),
    [
        (np.array([0, 1, 2]), r"'classes_' must be an array of two distinct labels"),
        (np.array([1, 1]), r"'classes_' must be an array of two distinct labels"),
        (None, r"'classes_' is missing"),
    ],
)
def test_logistic_fits_without_two_classes_are_refused(breast_cancer, tmp_path, classes, message):
    X, y = breast_cancer
    est = BayesianLogisticRegression(1.0, method="map").fit(X, y)
    tamper(est, "classes_", classes)
    est.save(tmp_path / "bad.nc")
    with pytest.raises(
        ValueError, match=rf"bad\.nc holds a fit that BayesianLogisticRegression.fit .*{message}"
    ):
        BayesianLogisticRegression.load(tmp_path / "bad.nc")


def test_a_no_intercept_logistic_fit_still_loads(breast_cancer, tmp_path):
    X, y = breast_cancer
    est = BayesianLogisticRegression(1.0, method="map", fit_intercept=False).fit(X, y)
    assert np.array_equal(roundtrip(est, tmp_path).predict_proba(X), est.predict_proba(X))


def test_save_into_a_missing_folder_names_the_folder(tmp_path, diabetes):
    X, y = diabetes
    est = BayesianLinearRegression(DIABETES_PRIOR, method="map").fit(X, y)
    missing = tmp_path / "results" / "today"
    with pytest.raises(
        FileNotFoundError, match=rf"Cannot save to .*m\.nc: the folder {missing} does not exist"
    ) as info:
        est.save(missing / "m.nc")
    assert ".m.nc." not in str(info.value)  # never the hidden temporary name
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    with pytest.raises(NotADirectoryError, match=rf"Cannot save to .*: {a_file} is not a folder"):
        est.save(a_file / "m.nc")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_save_into_an_unwritable_folder_names_the_folder(tmp_path, diabetes, monkeypatch):
    # Tests may run as root, for whom chmod does not forbid writing: fail the way the OS would.
    import tempfile

    X, y = diabetes
    est = BayesianLinearRegression(DIABETES_PRIOR, method="map").fit(X, y)

    def refused(prefix, suffix, dir):
        raise PermissionError(13, "Permission denied", str(Path(dir) / f"{prefix}abc{suffix}"))

    monkeypatch.setattr(tempfile, "mkstemp", refused)
    with pytest.raises(
        PermissionError,
        match=rf"Cannot save to .*m\.nc: cannot create a file in the folder {tmp_path} \(Permission denied\)",
    ) as info:
        est.save(tmp_path / "m.nc")
    assert ".m.nc." not in str(info.value)
    assert list(tmp_path.iterdir()) == []


is_none = np.vectorize(lambda v: v is None, otypes=[bool])


def test_nutpie_divergence_messages_survive_as_none(diabetes_known_mcmc, tmp_path):
    stats = diabetes_known_mcmc.idata_["sample_stats"].to_dataset()
    assert "divergence_message" in stats, "nutpie records a divergence_message per draw"
    loaded = roundtrip(diabetes_known_mcmc, tmp_path)
    back = loaded.idata_["sample_stats"].to_dataset()["divergence_message"]
    assert back.dtype == object and back.shape == stats["divergence_message"].shape
    assert back.values.tolist() == stats["divergence_message"].values.tolist()  # None is not NaN
    assert is_none(back.values).any()


def test_object_strings_with_none_round_trip_exactly(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 2)), rng.normal(size=30)
    est = BayesianLinearRegression(1.0, noise_sigma=1.0, method="exact", draws=3, chains=2).fit(X, y)
    messages = np.array([["", "Divergence: energy error 1e3", ""], ["", "", ""]], dtype=object)
    stats = xr.Dataset({"divergence_message": (("chain", "draw"), messages)})
    none_at = np.array([[True, False, True], [True, True, False]])
    stats["divergence_message"].values[none_at] = None  # in place: xarray makes NaN of a None it is given
    est.idata_["sample_stats"] = stats
    expected = [[None, "Divergence: energy error 1e3", None], [None, None, ""]]
    assert est.idata_["sample_stats"]["divergence_message"].values.tolist() == expected
    loaded = roundtrip(est, tmp_path)
    back = loaded.idata_["sample_stats"].to_dataset()["divergence_message"]
    assert back.dtype == object
    assert back.values.tolist() == expected  # None stays None, and "" stays ""
    assert "bayesreg_none_as" not in back.attrs
    assert (
        est.idata_["sample_stats"]["divergence_message"].values.tolist() == expected
    )  # the original is untouched

"""bayesreg's nutpie callbacks: equal to PyMC's density, keyed by the model, cached across processes."""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pymc as pm
import pytest

from bayesreg import BayesianLinearRegression, BayesianLogisticRegression
from bayesreg.backend import disk_cache, numba_cache, nutpie_layout, nutpie_model
from bayesreg.exceptions import ConvergenceWarning


def _small_linear_model(prior_sigma: float = 1.0, shift: float = 0.0, laplace: bool = False) -> pm.Model:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    with pm.Model(coords={"feature": ["a", "b", "c"]}) as model:
        scale = pm.Data("prior_sigma", prior_sigma)
        Xd = pm.Data("X", X)
        if laplace:
            coef = pm.Laplace("coef", shift, scale, dims="feature")
        else:
            coef = pm.Normal("coef", shift, scale, dims="feature")
        sigma = pm.HalfNormal("sigma", 2.0)
        pm.Normal("y", Xd @ coef, sigma, observed=X @ [1.0, 0.0, -1.0] + rng.normal(size=40))
        pm.Deterministic("coef_sum", coef.sum())
    return model


def _pieces(model: pm.Model):
    return nutpie_layout.pieces(model, nutpie_model._point_fn(model)(0))


def test_the_fingerprint_names_the_model_not_its_data():
    base = _pieces(_small_linear_model()).fingerprint(_small_linear_model())
    # Other data values, same structure: one compiled entry serves both.
    assert _pieces(_small_linear_model(prior_sigma=3.0)).fingerprint(_small_linear_model(3.0)) == base
    # Another prior mean (a constant) or another prior family: another entry.
    shifted = _small_linear_model(shift=0.5)
    assert _pieces(shifted).fingerprint(shifted) != base
    laplace = _small_linear_model(laplace=True)
    assert _pieces(laplace).fingerprint(laplace) != base


def _call_logp(cfunc, x: np.ndarray, user_data: np.ndarray) -> tuple[int, float, np.ndarray]:
    fn = ctypes.CFUNCTYPE(
        ctypes.c_int64,
        ctypes.c_uint64,
        ctypes.POINTER(ctypes.c_double),
        ctypes.POINTER(ctypes.c_double),
        ctypes.POINTER(ctypes.c_double),
        ctypes.c_void_p,
    )(cfunc.address)
    x = np.ascontiguousarray(x, dtype=float)
    grad, logp = np.empty_like(x), np.empty(1)
    as_ptr = lambda a: a.ctypes.data_as(ctypes.POINTER(ctypes.c_double))  # noqa: E731
    code = fn(x.size, as_ptr(x), as_ptr(grad), as_ptr(logp), user_data.ctypes.data)
    return code, float(logp[0]), grad


def test_the_callback_is_pymcs_log_density_and_gradient_on_new_data():
    model = _small_linear_model()
    compiled = nutpie_model.compile_nutpie_model(model)
    assert isinstance(compiled, nutpie_model._CachedModel)
    other = _small_linear_model(prior_sigma=0.3)
    bound = nutpie_model.with_model_data(compiled, other)
    logp_fn = other.compile_logp(mode="FAST_COMPILE")
    dlogp_fn = other.compile_dlogp(mode="FAST_COMPILE")
    rng = np.random.default_rng(5)
    for _ in range(3):
        point = {"coef": rng.normal(size=3), "sigma_log__": np.array(rng.normal())}
        x = np.concatenate([point["coef"], [point["sigma_log__"]]])
        code, logp, grad = _call_logp(bound.compiled_logp_func, x, bound.user_data)
        assert code == 0
        np.testing.assert_allclose(logp, logp_fn(point), rtol=1e-10)
        np.testing.assert_allclose(grad, dlogp_fn(point), rtol=1e-9, atol=1e-12)


def test_an_unwritable_cache_warns_once_and_still_compiles(tmp_path, monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(disk_cache.CACHE_ENV, str(blocker / "cache"))
    monkeypatch.setattr(disk_cache, "_cache_state", {})
    with pytest.warns(RuntimeWarning, match="cannot write its compile cache"):
        assert disk_cache.cache_dir() is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert disk_cache.cache_dir() is None  # once per process
        compiled = nutpie_model.compile_nutpie_model(_small_linear_model(shift=0.25))
    assert isinstance(compiled, nutpie_model._CachedModel)
    assert compiled.compiled_logp_func.cache_hits == 0


@pytest.mark.parametrize(
    "make",
    [
        lambda kw: BayesianLinearRegression(1.0, noise_sigma=1.0, **kw),
        lambda kw: BayesianLinearRegression(1.0, **kw),
        lambda kw: BayesianLinearRegression(1.0, prior_sigma_prior=2.0, **kw),
        lambda kw: BayesianLogisticRegression(1.0, **kw),
        # A prior written as pm.Flat + pm.Potential, per-feature scales, a prior mean, another noise
        # prior and an intercept prior: the callbacks follow the model, nothing is written per prior.
        lambda kw: BayesianLinearRegression(
            [1.0, 2.0, 0.5],
            prior="elasticnet",
            prior_mean=[0.1, 0.0, 0.0],
            noise_prior="halfstudentt",
            intercept_prior_sigma=5.0,
            **kw,
        ),
    ],
    ids=["linear_known_noise", "linear_unknown_noise", "hierarchical", "logistic", "other_priors"],
)
def test_every_model_takes_the_cached_path(make, monkeypatch):
    def fail(error):
        raise AssertionError(f"fell back to nutpie's compiler: {error}")

    monkeypatch.setattr(nutpie_model, "_warn_fallback", fail)
    rng = np.random.default_rng(3)
    X = rng.normal(size=(80, 3))
    y = X @ [1.0, 0.0, -1.0] + rng.normal(size=80)
    est = make(dict(draws=50, tune=50, chains=2, random_state=0, progressbar=False))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, (y > 0).astype(int) if isinstance(est, BayesianLogisticRegression) else y)
    assert est.idata_["posterior"].sizes["draw"] == 50


_WORKER = textwrap.dedent(
    """
    import json, warnings
    import numpy as np
    import pytensor, pytensor.tensor as pt
    import bayesreg
    from bayesreg.backend import disk_cache, inference, model, numba_cache, nutpie_model

    if DERIVED:  # no model is marked for a C density: the route any model without one takes
        model._mark = lambda built, structure: None
    rng = np.random.default_rng(7)
    X = rng.normal(size=(50, 4))
    y = X @ [1.0, -0.5, 0.0, 2.0] + rng.normal(size=50)
    stored = []
    real_store = disk_cache.store_object
    disk_cache.store_object = lambda kind, key, obj: (stored.append(kind), real_store(kind, key, obj))
    est = bayesreg.BayesianLinearRegression(2.0, noise_sigma=1.0, draws=200, tune=200, chains=2,
                                            random_state=11, progressbar=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    [compiled] = [c for c in inference._CACHE.values() if isinstance(c, nutpie_model._CachedModel)]
    # A Hessian as the MAP builds it (its graph holds constants whose bytes are addresses).
    x = pt.dvector("x")
    g = pt.grad((pt.exp(x) ** 2).sum(), x)
    fn = numba_cache.cached_function([x], [g, pytensor.gradient.jacobian(g, x, vectorize=True)])
    fixed = isinstance(compiled, nutpie_model._FixedModel)  # C functions built at install: no cache
    print(json.dumps({"coef": est.idata_["posterior"]["coef"].values.tolist(),
                      "hits": None if fixed else compiled.compiled_logp_func.cache_hits
                              + compiled.compiled_expand_func.cache_hits,
                      "fn_hits": sum(fn.dispatcher.stats.cache_hits.values()),
                      "fixed": fixed,
                      "objectives_stored": stored,
                      "hessian": fn(np.ones(2))[1].tolist()}))
    """
)


@pytest.mark.parametrize("fixed", [True, False], ids=["hand_written_density", "derived_density"])
def test_a_second_process_loads_the_callbacks_and_draws_the_same(tmp_path, fixed):
    """Both routes: the hand-written density (fixed_density) and the one derived from the graph.

    Every model bayesreg builds has a C density, so the derived route is taken here by leaving the
    model unmarked, as a model without one would be. There the second process loads the callbacks
    and the MAP's objective instead of compiling and storing them again; the hand-written route
    compiles and stores neither (its C functions serve the MAP too). Either way the second process
    draws what the first drew.
    """
    env = dict(os.environ, **{disk_cache.CACHE_ENV: str(tmp_path / "cache")})
    worker = f"DERIVED = {not fixed}\n{_WORKER}"
    runs = []
    for _ in range(2):
        out = subprocess.run(
            [sys.executable, "-c", worker], env=env, capture_output=True, text=True, check=True, timeout=900
        )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    cold, warm = runs
    assert cold["fixed"] == warm["fixed"] == fixed
    if fixed:
        assert cold["objectives_stored"] == warm["objectives_stored"] == []
        assert cold["hits"] is warm["hits"] is None
    else:
        assert "map" in cold["objectives_stored"] and warm["objectives_stored"] == []
        assert cold["hits"] == 0 and warm["hits"] == 2
    assert cold["fn_hits"] == 0 and warm["fn_hits"] == 1
    assert cold["hessian"] == warm["hessian"]
    np.testing.assert_allclose(warm["hessian"], 4 * np.exp(2.0) * np.eye(2), rtol=1e-12)
    assert cold["coef"] == warm["coef"], "the same seed drew other draws from the cached callbacks"


def test_cached_function_equals_pytensors_and_is_loaded_from_disk(tmp_path, monkeypatch):
    import pytensor
    import pytensor.tensor as pt

    monkeypatch.setenv(disk_cache.CACHE_ENV, str(tmp_path / "cache"))

    def graph():
        x, a = pt.dvector("x"), pt.dscalar("a")
        length = pytensor.shared(np.int64(3), name="length")  # a shared input, read at each call
        y = pt.exp(a * x).sum() + pt.cast(length, "float64")
        return [x, a], [y, pt.grad(y, x)], length

    inputs, outputs, length = graph()
    first = numba_cache.cached_function(inputs, outputs)
    expected = pytensor.function(inputs, outputs, mode="FAST_COMPILE")([0.5, -1.0, 2.0], 0.3)
    got = first([0.5, -1.0, 2.0], 0.3)
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-12)
    assert sum(first.dispatcher.stats.cache_hits.values()) == 0

    inputs, outputs, length = graph()  # the same graph built again, as a new process would
    second = numba_cache.cached_function(inputs, outputs)
    assert sum(second.dispatcher.stats.cache_hits.values()) == 1
    length.set_value(np.int64(5))
    np.testing.assert_allclose(second([0.5, -1.0, 2.0], 0.3)[0], expected[0] + 2.0, rtol=1e-12)


def test_stored_objects_round_trip_and_an_unreadable_entry_is_a_miss(tmp_path, monkeypatch):
    monkeypatch.setenv(disk_cache.CACHE_ENV, str(tmp_path / "cache"))
    assert disk_cache.load_object("map", "k1") is None
    disk_cache.store_object("map", "k1", {"a": np.arange(3)})
    np.testing.assert_array_equal(disk_cache.load_object("map", "k1")["a"], np.arange(3))
    entry = disk_cache.cache_dir() / "map-k1.pkl"
    entry.write_bytes(entry.read_bytes()[:10])  # truncated, as by a crash mid-write elsewhere
    assert disk_cache.load_object("map", "k1") is None
    monkeypatch.setattr(disk_cache, "_unstored_kinds", set())
    with pytest.warns(RuntimeWarning, match="could not store its compiled 'map'.*compiles it again"):
        disk_cache.store_object("map", "k2", lambda: None)  # does not pickle: not stored, said once
    assert disk_cache.load_object("map", "k2") is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        disk_cache.store_object("map", "k3", lambda: None)
    assert not list(disk_cache.cache_dir().glob("*.tmp"))


def test_a_map_objective_is_stored_once_per_shape_and_loaded_in_a_new_process(monkeypatch, tmp_path):
    """A model no C density covers: its compiled MAP objective is stored, keyed by the shapes too.

    The stored objective splits one flat vector by the variables' shapes, so two sizes are two
    entries; a new process (an empty in-memory cache) loads the entry instead of storing another.
    """
    import pymc as pm

    from bayesreg.backend import inference

    monkeypatch.setenv(disk_cache.CACHE_ENV, str(tmp_path / "cache"))
    stored = []
    real_store = disk_cache.store_object
    monkeypatch.setattr(
        disk_cache, "store_object", lambda kind, key, obj: (stored.append(kind), real_store(kind, key, obj))
    )

    def fit(p: int):
        with pm.Model() as model:  # y_i ~ N(x_i w, 1), w ~ N(mean, 1): MAP (XᵀX + I)⁻¹(Xᵀy + mean)
            X = pm.Data("X", np.arange(3.0 * p).reshape(3, p) / p)
            y = pm.Data("y", np.array([1.0, -1.0, 0.5]))
            mean = pm.Data("mean", np.full(p, 0.3))
            coef = pm.Normal("coef", mu=mean, sigma=1.0, shape=p)
            pm.Potential("log_likelihood", -0.5 * pm.math.sum((y - pm.math.dot(X, coef)) ** 2))
        result = inference.find_map(model, location_vars=["coef"], output_vars=["coef"], structure_key="test")
        X_, y_ = X.get_value(), y.get_value()
        expected = np.linalg.solve(X_.T @ X_ + np.eye(p), X_.T @ y_ + 0.3)
        np.testing.assert_allclose(result.values["coef"], expected, rtol=1e-9)

    for p in (3, 5):
        monkeypatch.setattr(inference, "_CACHE", type(inference._CACHE)())
        fit(p)
    assert stored == ["map", "map"]
    assert len(list(disk_cache.cache_dir().glob("map-*.pkl"))) == 2
    monkeypatch.setattr(inference, "_CACHE", type(inference._CACHE)())  # as in a new process
    fit(3)
    assert stored == ["map", "map"]

"""The MAP optimizer's own convergence check and the compiled-objective cache."""

from __future__ import annotations

import warnings

import numpy as np
import pymc as pm
import pytest
from sklearn.linear_model import Ridge

from bayesreg import (
    BayesianLinearRegression,
    BayesianLogisticRegression,
    ConvergenceWarning,
    OptimizerWarning,
)
from bayesreg.backend.inference import find_map


def test_unbounded_density_is_reported_not_converged():
    with pm.Model() as model:
        x = pm.Flat("x")
        pm.Potential("ramp", x**3)  # increases forever: there is no mode
    with pytest.warns(OptimizerWarning, match="did not converge"):
        result = find_map(model, location_vars=["x"], output_vars=["x"])
    assert not result.converged


def test_map_reaches_machine_precision_on_a_quadratic():
    with pm.Model() as model:
        pm.Normal("x", mu=3.0, sigma=0.01, shape=2)
    result = find_map(model, location_vars=["x"], output_vars=["x"])
    assert result.converged
    np.testing.assert_allclose(result.values["x"], 3.0, rtol=1e-14)
    np.testing.assert_allclose(result.location_cov, np.eye(2) * 1e-4, rtol=1e-10)


def test_cached_objective_uses_each_fits_own_data():
    # Same structure, different data: a stale cache would return the first fit's answer.
    rng = np.random.default_rng(0)
    for shift in (0.0, 5.0, -3.0):
        X = rng.normal(loc=shift, size=(25, 3))
        y = shift + X @ [1.0, -1.0, 2.0] + rng.normal(size=25)
        lin = BayesianLinearRegression(1.0, noise_sigma=1.0, method="map").fit(X, y)
        np.testing.assert_allclose(lin.map_coef_, Ridge(alpha=1.0).fit(X, y).coef_, rtol=1e-8)
        labels = (y > np.median(y)).astype(int)
        log = BayesianLogisticRegression(1.0, method="map").fit(X, labels)
        np.testing.assert_allclose(log.map_coef_, log.ridge_equivalent().fit(X, labels).coef_[0], atol=1e-6)
    # Different row counts reuse the logistic objective too.
    log = BayesianLogisticRegression(1.0, method="map").fit(X[:20], labels[:20])
    np.testing.assert_allclose(
        log.map_coef_, log.ridge_equivalent().fit(X[:20], labels[:20]).coef_[0], atol=1e-6
    )


def test_cached_sampler_uses_each_fits_data_and_names():
    import arviz as az
    import pandas as pd

    rng = np.random.default_rng(1)
    for shift, names in [(0.0, ["a", "b", "c"]), (4.0, ["u", "v", "w"])]:
        X = pd.DataFrame(rng.normal(loc=shift, size=(60, 3)), columns=names)
        y = shift + X.to_numpy() @ [1.0, -1.0, 2.0] * (1 + shift) + rng.normal(size=60)
        est = BayesianLinearRegression(
            1.0, noise_sigma=1.0, draws=500, tune=500, random_state=3, progressbar=False
        )
        est.fit(X, y)
        assert list(est.idata_["posterior"]["feature"].values) == names
        mcse = az.mcse(est.idata_["posterior"].to_dataset())["coef"].values
        assert np.all(np.abs(est.coef_ - est.exact_posterior_.coef_mean) < 4 * mcse)


def test_a_same_structure_refit_hits_the_compile_cache(monkeypatch):
    # Count compilations: the second fit of the same structure (new data, new prior_sigma) must
    # reuse the compiled MAP objective and nutpie model instead of compiling them again.
    from bayesreg.backend import inference

    compiled: list[object] = []
    original = inference._cached

    def counting(key, compile_):
        def compile_and_count():
            compiled.append(key)
            return compile_()

        return original(key, compile_and_count)

    monkeypatch.setattr(inference, "_cached", counting)
    rng = np.random.default_rng(11)
    kw = dict(noise_sigma=1.0, draws=100, tune=100, chains=2, progressbar=False, random_state=0)
    new_compilations = []
    for sigma, n_rows in ((1.0, 30), (2.5, 45)):
        X = rng.normal(size=(n_rows, 3))
        y = X @ [1.0, 0.0, -1.0] + rng.normal(size=n_rows)
        before = len(compiled)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # 100 draws: r_hat may be noisy
            BayesianLinearRegression(sigma, **kw).fit(X, y)
        new_compilations.append(compiled[before:])
    # The first fit compiled the MAP objective and the nutpie model (unless an earlier test did).
    assert {key[1] for key in new_compilations[0]} <= {"map", "nutpie"}
    assert new_compilations[1] == [], "the refit compiled again instead of reusing the cache"

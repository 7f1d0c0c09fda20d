"""K ≥ 3 classes in BayesianLogisticRegression: the symmetric softmax, against scikit-learn and PyMC.

The MAP must equal ``LogisticRegression(C=σ²)`` (multinomial) on iris and wine, intercepts centred to
sum 0 as scikit-learn reports them; the NUTS posterior must match a long plain PyMC run of the same
model written here independently (softmax of all K classes, K − 1 free intercept contrasts); and
simulation-based calibration (no intercept, whose flat prior has no draws) must give uniform ranks.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.special import softmax
from sklearn.datasets import load_iris, load_wine
from sklearn.linear_model import LogisticRegression

from bayesreg import BayesianLogisticRegression, compare_with_ridge
from bayesreg.exceptions import ConvergenceWarning
from bayesreg.stats.calibration import simulation_based_calibration

TIGHT = {"solver": "newton-cholesky", "tol": 1e-12, "max_iter": 1000}


def standardised(loader):
    X, y = loader(return_X_y=True, as_frame=True)
    return (X - X.mean()) / X.std(), y


@pytest.fixture(scope="module")
def iris():
    X, y = standardised(load_iris)
    names = np.array(["setosa", "versicolor", "virginica"])
    return X, names[y]


@pytest.mark.parametrize("loader", [load_iris, load_wine])
def test_map_equals_multinomial_logistic_regression(loader):
    X, y = standardised(loader)
    est = BayesianLogisticRegression(1.5, method="map").fit(X, y)
    assert est.likelihood_ == "multinomial" and est.map_converged_
    assert est.coef_.shape == (3, X.shape[1]) and est.intercept_.shape == (3,)
    assert abs(est.intercept_.sum()) < 1e-12  # centred, as scikit-learn reports them
    for ref in (
        LogisticRegression(C=1.5**2, **TIGHT).fit(X, y),
        LogisticRegression(C=1.5**2, tol=1e-12, max_iter=100_000).fit(X, y),  # lbfgs
    ):
        np.testing.assert_allclose(est.map_coef_, ref.coef_, rtol=0, atol=1e-5)
        np.testing.assert_allclose(est.map_intercept_, ref.intercept_, rtol=0, atol=1e-5)
    np.testing.assert_allclose(est.predict_proba(X), ref.predict_proba(X), atol=1e-6)
    np.testing.assert_array_equal(est.predict(X), ref.predict(X))
    cmp = compare_with_ridge(est, X, y)
    assert cmp.agrees and cmp.max_abs_diff_map < 1e-6
    assert len(cmp.table) == 3 * X.shape[1] + 3
    assert cmp.table.index[0] == f"{X.columns[0]} [0]" and cmp.table.index[-1] == "(intercept) [2]"


def test_per_feature_prior_sds_and_no_intercept(iris):
    X, y = iris
    sigmas = {name: s for name, s in zip(X.columns, [0.3, 1.0, 2.0, 0.5], strict=True)}
    est = BayesianLogisticRegression(sigmas, method="map").fit(X, y)
    cmp = compare_with_ridge(est, X, y)
    assert cmp.agrees and cmp.max_abs_diff_map < 1e-6, str(cmp)
    no_b = BayesianLogisticRegression(1.0, fit_intercept=False, method="map").fit(X, y)
    ref = LogisticRegression(C=1.0, fit_intercept=False, **TIGHT).fit(X, y)
    np.testing.assert_allclose(no_b.map_coef_, ref.coef_, rtol=0, atol=1e-5)
    assert compare_with_ridge(no_b, X, y).agrees


# --- NUTS against a plain PyMC run -----------------------------------------------------------------

SUBSET = ["petal length (cm)", "petal width (cm)"]


@pytest.fixture(scope="module")
def iris_small():
    """Two features and 20 rows per class, so that the classes overlap and the posterior is wide."""
    X, y = standardised(load_iris)
    rows = np.r_[0:20, 50:70, 100:120]
    rng = np.random.default_rng(0)
    Xs = X[SUBSET].iloc[rows] + rng.normal(scale=0.5, size=(60, 2))  # blur: overlapping classes
    return Xs, np.array(["setosa", "versicolor", "virginica"])[y.iloc[rows]]


@pytest.fixture(scope="module")
def iris_mcmc(iris_small):
    X, y = iris_small
    est = BayesianLogisticRegression(1.0, draws=1000, tune=600, chains=2, random_state=4, progressbar=False)
    return est.fit(X, y)


@pytest.fixture(scope="module")
def reference_draws(iris_small):
    """A long plain PyMC run: coef (K, p) ~ N(0, 1), flat contrasts of K − 1 intercepts, softmax."""
    import pymc as pm
    import pytensor.tensor as pt

    X, y = iris_small
    codes = pd.Categorical(y).codes
    with pm.Model():
        coef = pm.Normal("coef", 0.0, 1.0, shape=(3, 2))
        free = pm.Flat("free", shape=2)
        b = pt.concatenate([pt.zeros(1), free])  # class 0 the reference (the estimator uses the last)
        pm.Categorical("y", p=pm.math.softmax(b + pt.dot(X.to_numpy(), coef.T), axis=1), observed=codes)
        pm.Deterministic("intercept", b - pt.mean(b))
        idata = pm.sample(
            draws=4000, tune=1000, chains=2, random_seed=9, progressbar=False, nuts_sampler="nutpie"
        )
    return idata["posterior"].to_dataset()


def test_nuts_matches_a_plain_pymc_run(iris_mcmc, reference_draws):
    import arviz as az

    est = iris_mcmc
    assert est.convergence_.converged, str(est.convergence_)
    post = est.idata_["posterior"].to_dataset()
    assert post["coef"].dims == ("chain", "draw", "class", "feature")
    assert post["coef"]["class"].values.tolist() == ["setosa", "versicolor", "virginica"]
    assert "intercept_centered" not in post
    z = []
    for var in ("coef", "intercept"):
        ours = post[var].mean(("chain", "draw")).values
        theirs = reference_draws[var].mean(("chain", "draw")).values
        mcse = np.hypot(az.mcse(post[[var]])[var].values, az.mcse(reference_draws[[var]])[var].values)
        z.append(np.ravel((ours - theirs) / mcse))
    z = np.concatenate(z)
    assert np.all(np.abs(z) < 4), z
    np.testing.assert_allclose(post["intercept"].sum("class"), 0.0, atol=1e-12)


def test_predictions_average_the_softmax_over_draws(iris_mcmc, iris_small):
    X, y = iris_small
    est = iris_mcmc
    post = est.idata_["posterior"]
    coef = post["coef"].values.reshape(-1, 3, 2)
    intercept = post["intercept"].values.reshape(-1, 3)
    expected = softmax(intercept[:, None, :] + np.einsum("skp,np->snk", coef, X.to_numpy()), axis=2).mean(0)
    proba = est.predict_proba(X)
    np.testing.assert_allclose(proba, expected, rtol=1e-12)
    np.testing.assert_array_equal(est.predict(X), est.classes_[proba.argmax(1)])
    assert est.decision_function(X).shape == (60, 3)
    cmp = compare_with_ridge(est, X, y)
    assert cmp.agrees, str(cmp)
    assert cmp.table.loc["petal width (cm) [virginica]", "mcse"] > 0
    ll = est.idata_["log_likelihood"]["y"].values.reshape(-1, 60)
    rows = np.arange(60)
    np.testing.assert_allclose(
        np.exp(ll).mean(0)[:5], expected[rows, pd.Categorical(y).codes][:5], rtol=1e-10
    )
    ppc = est.sample_posterior_predictive(random_state=0)["posterior_predictive"]["y"].values
    assert set(np.unique(ppc)) <= {0, 1, 2}


def test_save_and_load_round_trip(iris_mcmc, iris_small, tmp_path):
    X, _ = iris_small
    est = iris_mcmc
    est.save(tmp_path / "iris.nc")
    loaded = BayesianLogisticRegression.load(tmp_path / "iris.nc")
    assert loaded.classes_.tolist() == est.classes_.tolist() and loaded.coef_.shape == (3, 2)
    np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))
    loaded.coef_ = loaded.coef_[:, :1]
    loaded.save(tmp_path / "bad.nc")
    with pytest.raises(
        ValueError, match=r"'coef_' has shape \(3, 1\), but n_features_in_ = 2 needs \(3, 2\)"
    ):
        BayesianLogisticRegression.load(tmp_path / "bad.nc")


# --- bad input -------------------------------------------------------------------------------------


def test_a_class_without_rows_is_refused(iris):
    X, y = iris
    levels = ["setosa", "versicolor", "virginica", "unseen"]
    with pytest.raises(ValueError, match=r"levels that no row has: \['unseen'\]"):
        BayesianLogisticRegression(method="map").fit(X, pd.Series(pd.Categorical(y, categories=levels)))
    weights = np.where(y == "versicolor", 0.0, 1.0)
    est = BayesianLogisticRegression(method="map")
    with pytest.raises(ValueError, match=r"sample_weight is zero for every row of class 'versicolor'"):
        est.fit(X, y, sample_weight=weights)
    assert not hasattr(est, "classes_")


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"prior": "laplace"}, "prior='laplace'"),
        ({"prior": "flat"}, "prior='flat'"),
        ({"prior_mean": 0.5}, "a non-zero prior_mean"),
        ({"intercept_prior_sigma": 2.0}, "intercept_prior_sigma"),
    ],
)
def test_unsupported_priors_are_refused_in_one_line(iris, params, named):
    X, y = iris
    with pytest.raises(ValueError, match="takes only the normal prior") as info:
        BayesianLogisticRegression(method="map", **params).fit(X, y)
    assert named in str(info.value) and "\n" not in str(info.value)


# --- simulation-based calibration ------------------------------------------------------------------

K, P, N = 3, 2, 40
SBC_SIGMA = 1.5


def simulate(rng):
    coef = rng.normal(0.0, SBC_SIGMA, size=(K, P))
    X = rng.normal(size=(N, P))
    proba = softmax(X @ coef.T, axis=1)
    y = (rng.uniform(size=(N, 1)) > np.cumsum(proba, axis=1)).sum(axis=1)
    y[:K] = np.arange(K)  # every class present (rarely needed at these sizes)
    return {"coef": coef}, X, y


def make_estimator(seed):
    return BayesianLogisticRegression(
        SBC_SIGMA, fit_intercept=False, draws=1000, tune=600, chains=2, random_state=seed, progressbar=False
    )


@pytest.mark.slow
def test_nuts_is_calibrated():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = simulation_based_calibration(make_estimator, simulate, 60, rng=12, n_draws=99)
    assert result.ranks.shape == (60, K * P)
    for report in result.reports:
        assert report.n_divergences == 0 and report.max_r_hat <= 1.02, str(report)
    test = result.uniformity(n_bins=5)
    assert (test["p_value"] >= 0.01 / len(test)).all(), test


def test_spec_runs_the_multinomial_model_on_iris(tmp_path):
    from bayesreg.app.runner import run_spec
    from bayesreg.app.spec import load_spec

    body = (
        '[data]\ndataset = "iris"\n[model]\nkind = "logistic"\nprior_sigma = 1.5\n[sampler]\nmethod = "map"\n'
    )
    (tmp_path / "iris.toml").write_text("schema_version = 1\n" + body)
    result = run_spec(load_spec(tmp_path / "iris.toml"), tmp_path / "out", progressbar=False)
    assert result.exit_code == 0
    table = result.fits[0].comparison.table
    assert len(table) == 3 * 4 + 3 and "(intercept) [2]" in table.index
    report = (tmp_path / "out" / "report.md").read_text()
    assert "Categorical(softmax(b_k + X·w_k)) over 3 classes" in report

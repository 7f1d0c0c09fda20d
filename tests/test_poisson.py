"""BayesianPoissonRegression against PoissonRegressor, an offset optimum, quadrature and SBC.

Exact answers only: the MAP is ``PoissonRegressor(alpha=1/(n·σ²))`` (``n = Σw`` with weights) to
1e-6; with an exposure it is the optimum of the penalised log likelihood with the offset
``log e`` (scipy, exact Hessian); the NUTS posterior of a one-parameter model is its numerical
integral (scipy.integrate.quad). The real data are scikit-learn's bundled Linnerud exercise data:
20 men's chin-ups (a count, 1-17) against their weight, waist and pulse (A. C. Linnerud's data as
given by Tenenhaus, 1998, shipped inside scikit-learn under its BSD-3 licence: nothing is downloaded
or copied into this repository).
"""

from __future__ import annotations

import time

import arviz as az
import numpy as np
import pandas as pd
import pytest
from scipy import integrate, optimize
from scipy.special import gammaln
from sklearn.datasets import load_linnerud
from sklearn.linear_model import PoissonRegressor

from bayesreg import BayesianPoissonRegression, compare_with_ridge, priors
from bayesreg.estimators.twins import PoissonExposureTwin, RescaledTwin
from bayesreg.stats.calibration import simulation_based_calibration

RTOL = 1e-6
NEWTON = {"solver": "newton-cholesky", "tol": 1e-12, "max_iter": 10_000}


def rel_diff(a, b) -> float:
    a, b = np.atleast_1d(np.asarray(a, dtype=float)), np.atleast_1d(np.asarray(b, dtype=float))
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


@pytest.fixture(scope="module")
def linnerud():
    data = load_linnerud(as_frame=True)
    X = data.target  # Weight, Waist, Pulse
    X = (X - X.mean()) / X.std(ddof=0)
    return X, data.data["Chins"].to_numpy()


@pytest.fixture(scope="module")
def exposure_data():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(150, 3))
    e = rng.uniform(0.3, 5.0, size=150)
    y = rng.poisson(e * np.exp(0.4 + X @ [0.5, -0.3, 0.2]))
    w = rng.uniform(0.2, 3.0, size=150)
    return X, y, e, w


def penalised_optimum(X, y, *, sigma, exposure=None, weights=None, intercept_sigma=None, fit_intercept=True):
    """The maximum of Σ w_i (y_i η_i − exp(η_i)) − ‖w‖²/(2σ²), by Newton's method (exact Hessian)."""
    n, p = X.shape
    design = np.column_stack([X, np.ones(n)]) if fit_intercept else X
    offset = np.zeros(n) if exposure is None else np.log(exposure)
    w = np.ones(n) if weights is None else weights
    precision = np.zeros(design.shape[1])
    precision[:p] = 1.0 / np.asarray(sigma, dtype=float) ** 2
    if fit_intercept:
        precision[p] = 0.0 if intercept_sigma is None else 1.0 / intercept_sigma**2

    def f(theta):
        eta = design @ theta + offset
        return np.sum(w * (np.exp(eta) - y * eta)) + 0.5 * np.sum(precision * theta**2)

    def grad(theta):
        eta = design @ theta + offset
        return design.T @ (w * (np.exp(eta) - y)) + precision * theta

    def hess(theta):
        eta = design @ theta + offset
        return design.T @ (design * (w * np.exp(eta))[:, None]) + np.diag(precision)

    # The objective is strictly convex: damped Newton from 0 converges, to rounding, in a few steps.
    theta = np.zeros(design.shape[1])
    for _ in range(200):
        step = np.linalg.solve(hess(theta), grad(theta))
        t = 1.0  # halved while it overshoots; near the optimum f's rounding hides the decrease
        while np.max(np.abs(step)) > 1e-6 and f(theta - t * step) > f(theta) and t > 1e-10:
            t /= 2
        theta = theta - t * step
        if np.max(np.abs(step)) < 1e-13 * max(1.0, np.max(np.abs(theta))):
            return theta
    raise AssertionError("Newton did not converge")


# --- the conversions ----------------------------------------------------------------------------


def test_poisson_alpha_conversion_values_and_round_trip():
    assert priors.poisson_alpha_from_sigma(0.5, 4) == 1.0
    assert priors.poisson_alpha_from_sigma(2.0, 12.5) == pytest.approx(0.02, rel=1e-15)
    sigma = np.array([0.1, 1.0, 30.0])
    back = priors.sigma_from_poisson_alpha(priors.poisson_alpha_from_sigma(sigma, 17.25), 17.25)
    np.testing.assert_allclose(back, sigma, rtol=1e-14)
    for bad in (0, -1.0, float("nan"), True, "10"):
        with pytest.raises(ValueError, match="n_samples"):
            priors.poisson_alpha_from_sigma(1.0, bad)
    with pytest.raises(ValueError, match="prior_sigma"):
        priors.poisson_alpha_from_sigma(-1.0, 10)
    with pytest.raises(ValueError, match="poisson_alpha"):
        priors.sigma_from_poisson_alpha(0.0, 10)


@pytest.mark.parametrize("weighted", [False, True])
def test_alpha_is_one_over_n_sigma_squared_not_twice_that(exposure_data, weighted):
    # The deviance is 2·NLL and sklearn divides by 2·Σw: α = 1/(Σw·σ²) exactly; 2/(Σw·σ²) is off.
    X, _, _, w = exposure_data
    y = np.random.default_rng(3).poisson(np.exp(0.4 + X @ [0.5, -0.3, 0.2]))
    weights = w if weighted else None
    total = w.sum() if weighted else X.shape[0]
    sigma = 0.3
    exact = penalised_optimum(X, y, sigma=sigma, weights=weights)

    def twin(alpha):
        ref = PoissonRegressor(alpha=alpha, **NEWTON).fit(X, y, sample_weight=weights)
        return np.append(ref.coef_, ref.intercept_)

    assert rel_diff(twin(priors.poisson_alpha_from_sigma(sigma, total)), exact) < 1e-8
    assert rel_diff(twin(2 * priors.poisson_alpha_from_sigma(sigma, total)), exact) > 1e-2


# --- the MAP --------------------------------------------------------------------------------------


@pytest.mark.parametrize("weighted", [False, True])
def test_map_equals_poisson_regressor_on_linnerud(linnerud, weighted):
    X, y = linnerud
    weights = np.random.default_rng(0).uniform(0.5, 2.0, size=len(y)) if weighted else None
    n = weights.sum() if weighted else len(y)
    sigma = 0.3
    est = BayesianPoissonRegression(sigma, method="map").fit(X, y, sample_weight=weights)
    ref = PoissonRegressor(alpha=1.0 / (n * sigma**2), **NEWTON).fit(X, y, sample_weight=weights)
    assert est.map_converged_
    assert rel_diff(est.map_coef_, ref.coef_) < RTOL
    assert rel_diff(est.map_intercept_, ref.intercept_) < RTOL
    assert est.n_samples_fit_ == pytest.approx(n)
    penalty = est.penalty()
    assert isinstance(penalty.twin, PoissonRegressor)
    assert penalty.value == pytest.approx(priors.poisson_alpha_from_sigma(sigma, float(n)), rel=1e-14)
    cmp = compare_with_ridge(est, X, y, sample_weight=weights)
    assert cmp.agrees, cmp.reasons
    assert cmp.max_abs_diff_map < 1e-6


def test_map_with_per_feature_sigma_and_an_intercept_prior(linnerud):
    X, y = linnerud
    sigmas = {"Pulse": 0.05, "Weight": 0.4, "Waist": 1.5}  # keyed by name, not in column order
    in_order = np.array([sigmas[c] for c in X.columns])
    est = BayesianPoissonRegression(sigmas, method="map").fit(X, y)
    # PoissonRegressor(alpha=1/n) on the columns x_j·σ_j is the prior N(0, σ_j²) on w_j = σ_j·v_j.
    ref = PoissonRegressor(alpha=1.0 / len(y), **NEWTON).fit(X * in_order, y)
    assert rel_diff(est.map_coef_, in_order * ref.coef_) < RTOL
    assert rel_diff(est.map_intercept_, ref.intercept_) < RTOL
    assert isinstance(est.penalty().twin, RescaledTwin)
    assert compare_with_ridge(est, X, y).agrees
    # A normal intercept prior (mean 0) is one more penalised column of the twin.
    both = BayesianPoissonRegression(sigmas, intercept_prior_sigma=0.7, method="map").fit(X, y)
    exact = penalised_optimum(X.to_numpy(), y, sigma=in_order, intercept_sigma=0.7)
    assert rel_diff(np.append(both.map_coef_, both.map_intercept_), exact) < RTOL
    assert compare_with_ridge(both, X, y).agrees


def test_exposure_is_an_offset(exposure_data):
    X, y, e, w = exposure_data
    sigma = 0.4
    for weights in (None, w):
        est = BayesianPoissonRegression(sigma, method="map").fit(X, y, sample_weight=weights, exposure=e)
        exact = penalised_optimum(X, y, sigma=sigma, exposure=e, weights=weights)
        assert rel_diff(np.append(est.map_coef_, est.map_intercept_), exact) < RTOL
        total = float(np.sum(e if weights is None else weights * e))
        assert est.exposure_sum_ == pytest.approx(total, rel=1e-14)
        penalty = est.penalty()
        assert isinstance(penalty.twin, PoissonExposureTwin)
        assert penalty.value == pytest.approx(1.0 / (total * sigma**2), rel=1e-14)
        cmp = compare_with_ridge(est, X, y, sample_weight=weights, exposure=e)
        assert cmp.agrees, cmp.reasons
        # predict scales the rate by the exposure
        np.testing.assert_allclose(est.predict(X[:5], exposure=e[:5]), e[:5] * est.predict(X[:5]), rtol=1e-14)
    # An exposure of 1 everywhere is no exposure.
    plain = BayesianPoissonRegression(sigma, method="map").fit(X, y)
    ones = BayesianPoissonRegression(sigma, method="map").fit(X, y, exposure=np.ones(len(y)))
    assert rel_diff(ones.map_coef_, plain.map_coef_) < 1e-9


def test_penalty_says_which_priors_have_no_poisson_twin():
    # The α of a normal prior needs n, so fit first; the other answers do not depend on the data.
    with pytest.raises(ValueError, match="fit the estimator first"):
        BayesianPoissonRegression(1.0).penalty()
    for kind in ("laplace", "elasticnet"):
        penalty = BayesianPoissonRegression(1.0, prior=kind).penalty()
        assert not penalty.has_twin and "L2 penalty only" in penalty.note
        assert penalty.sentence().startswith("This prior has no penalised twin in scikit-learn")
    for shifted in ({"prior_mean": 0.1}, {"intercept_prior_sigma": 1.0, "intercept_prior_mean": 2.0}):
        penalty = BayesianPoissonRegression(1.0, **shifted).penalty()
        assert not penalty.has_twin and "offset" in penalty.note
    flat = BayesianPoissonRegression(prior="flat").penalty()
    assert flat.value == 0.0 and isinstance(flat.twin, PoissonRegressor) and flat.twin.alpha == 0.0


# --- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("y", "kwargs", "message"),
    [
        ([0, 1, -2, 3], {}, r"Input y has negative values \(-2 at row 2\)"),
        ([0, 1, 2.5, 3], {}, r"Input y has values that are not whole numbers \(2.5 at row 2\).*exposure="),
        ([0, 0, 0, 0], {}, r"Input y is zero in every row.*intercept_prior_sigma"),
        ([0, 1, 2, 3], {"exposure": [1.0, 0.0, 1.0, 1.0]}, r"exposure has values <= 0 \(0 at row 1\)"),
        ([0, 1, 2, 3], {"exposure": [1.0, -1.0, 1.0, 1.0]}, r"exposure has values <= 0"),
        ([0, 1, 2, 3], {"exposure": [1.0, np.nan, 1.0, 1.0]}, r"exposure has values that are NaN"),
        ([0, 1, 2, 3], {"exposure": [1.0, 2.0]}, r"exposure has 2 values but X has 4 rows"),
        ([0, 1, 2, 3], {"exposure": np.ones((4, 2))}, r"exposure must be 1-D"),
    ],
)
def test_bad_counts_and_exposures_are_refused_by_name(y, kwargs, message):
    X = np.arange(8.0).reshape(4, 2)
    est = BayesianPoissonRegression(method="map")
    with pytest.raises(ValueError, match=message):
        est.fit(X, np.asarray(y, dtype=float), **kwargs)
    assert not hasattr(est, "coef_")


def test_predict_refuses_a_bad_exposure(linnerud):
    X, y = linnerud
    est = BayesianPoissonRegression(method="map").fit(X, y)
    with pytest.raises(ValueError, match="exposure has 3 values but X has 20 rows"):
        est.predict(X, exposure=[1.0, 2.0, 3.0])


# --- the posterior: NUTS against quadrature ------------------------------------------------------

# One feature, no intercept, an exposure: the posterior of the one coefficient w is
# p(w | y) ∝ N(w; 0, σ²) · Π Poisson(y_i; e_i exp(w x_i)), whose moments quad computes exactly.
QUAD_SIGMA = 0.5


@pytest.fixture(scope="module")
def one_parameter():
    rng = np.random.default_rng(11)
    x = rng.normal(size=12)
    e = rng.uniform(0.5, 3.0, size=12)
    y = rng.poisson(e * np.exp(0.6 * x))
    return x[:, None], y, e


@pytest.fixture(scope="module")
def one_parameter_fit(one_parameter):
    X, y, e = one_parameter
    est = BayesianPoissonRegression(
        QUAD_SIGMA, fit_intercept=False, draws=1000, tune=500, chains=4, random_state=5, progressbar=False
    )
    start = time.perf_counter()
    est.fit(X, y, exposure=e)
    est.fit_seconds_for_test = time.perf_counter() - start
    return est


def quadrature_moments(X, y, e, sigma):
    x, log_e = X[:, 0], np.log(e)

    def log_post(w):
        eta = w * x + log_e
        return np.sum(y * eta - np.exp(eta) - gammaln(y + 1)) - 0.5 * (w / sigma) ** 2

    mode = optimize.minimize_scalar(lambda w: -log_post(w)).x
    top = log_post(mode)

    def density(w):
        return np.exp(log_post(w) - top)

    lo, hi = mode - 3.0, mode + 3.0  # the posterior sd is about 0.1: ±30 sd
    mass = integrate.quad(density, lo, hi, epsabs=0, epsrel=1e-12, points=[mode])[0]
    mean = integrate.quad(lambda w: w * density(w), lo, hi, epsabs=0, epsrel=1e-12, points=[mode])[0] / mass
    var = (
        integrate.quad(lambda w: (w - mean) ** 2 * density(w), lo, hi, epsabs=0, epsrel=1e-12, points=[mode])[
            0
        ]
        / mass
    )
    rate = (
        integrate.quad(lambda w: np.exp(w) * density(w), lo, hi, epsabs=0, epsrel=1e-12, points=[mode])[0]
        / mass
    )
    return mean, np.sqrt(var), rate


def test_nuts_posterior_matches_quadrature(one_parameter, one_parameter_fit):
    X, y, e = one_parameter
    est = one_parameter_fit
    assert est.convergence_.converged, str(est.convergence_)
    mean, sd, rate_at_1 = quadrature_moments(X, y, e, QUAD_SIGMA)
    post = est.idata_["posterior"]["coef"]
    mcse = float(az.mcse(est.idata_["posterior"].to_dataset()[["coef"]])["coef"].values[0])
    assert abs(float(post.mean()) - mean) <= 4 * mcse, (float(post.mean()), mean, mcse)
    assert float(post.std(ddof=1)) == pytest.approx(sd, rel=0.05)
    assert est.coef_[0] == pytest.approx(float(post.mean()), rel=1e-12)
    # predict: the posterior mean of e·exp(w x); at x = 1, e = 2 that is 2·E[exp(w)] (quadrature).
    draws = post.values.ravel()
    rate_mean, rate_sd = est.predict(np.array([[1.0]]), exposure=2.0, return_std=True)
    assert rate_mean[0] == pytest.approx(2 * np.exp(draws).mean(), rel=1e-12)
    assert rate_sd[0] == pytest.approx(2 * np.exp(draws).std(ddof=1), rel=1e-12)
    assert rate_mean[0] == pytest.approx(2 * rate_at_1, rel=0.02)


def test_log_likelihood_and_constant_data_carry_the_exposure(one_parameter, one_parameter_fit):
    X, y, e = one_parameter
    idata = one_parameter_fit.idata_
    np.testing.assert_array_equal(idata["constant_data"]["exposure"].values, e)
    w = idata["posterior"]["coef"].values.reshape(-1)
    eta = w[:, None] * X[:, 0][None, :] + np.log(e)[None, :]
    expected = y * eta - np.exp(eta) - gammaln(y + 1)
    got = idata["log_likelihood"]["y"].values.reshape(len(w), -1)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert az.loo(idata).elpd is not None


def test_predictive_draws_are_counts_at_the_exposure(one_parameter, one_parameter_fit):
    X, y, e = one_parameter
    est = one_parameter_fit
    ppc = est.sample_posterior_predictive(random_state=0)
    draws = ppc["posterior_predictive"]["y"].values
    assert draws.dtype == np.int64 and draws.min() >= 0
    assert draws.shape == (4, 1000, len(y))
    np.testing.assert_array_equal(ppc["observed_data"]["y"].values, y)
    # Training rows use the training exposure: the draws' mean is the predicted mean count.
    expected = est.predict(X, exposure=e)
    np.testing.assert_allclose(draws.mean(axis=(0, 1)), expected, rtol=0.1)
    # New rows at exposure 10 have 10 times the counts of exposure 1.
    new = np.array([[0.5], [-0.5]])
    at_10 = est.sample_posterior_predictive(new, exposure=10.0, random_state=1)["posterior_predictive"]["y"]
    np.testing.assert_allclose(at_10.values.mean(axis=(0, 1)), est.predict(new, exposure=10.0), rtol=0.05)
    with pytest.raises(ValueError, match="exposure is given but X is None"):
        est.sample_posterior_predictive(exposure=e)
    prior = est.sample_prior_predictive(draws=4000, random_state=0)
    prior_draws = prior["prior_predictive"]["y"].values
    assert prior_draws.shape == (1, 4000, len(y)) and prior_draws.dtype == np.int64
    # E[y_i] under the prior w ~ N(0, σ²): e_i·exp(σ² x_i² / 2), the log-normal mean.
    expected_prior_mean = e * np.exp(QUAD_SIGMA**2 * X[:, 0] ** 2 / 2)
    np.testing.assert_allclose(prior_draws.mean(axis=(0, 1)), expected_prior_mean, rtol=0.15)
    groups = est.add_predictive_groups(random_state=0)
    assert {"posterior_predictive", "log_prior"} <= set(groups.children)


def test_save_and_load_predict_the_same(tmp_path, one_parameter, one_parameter_fit, linnerud):
    X, _, e = one_parameter
    path = tmp_path / "poisson.nc"
    one_parameter_fit.save(path)
    loaded = BayesianPoissonRegression.load(path)
    assert loaded.exposure_sum_ == one_parameter_fit.exposure_sum_
    np.testing.assert_array_equal(loaded.predict(X, exposure=e), one_parameter_fit.predict(X, exposure=e))
    ppc = loaded.sample_posterior_predictive(random_state=0)["posterior_predictive"]["y"].values
    again = one_parameter_fit.sample_posterior_predictive(random_state=0)["posterior_predictive"]["y"].values
    np.testing.assert_array_equal(ppc, again)
    Xl, yl = linnerud
    est = BayesianPoissonRegression({"Weight": 0.2, "Waist": 0.3, "Pulse": 0.4}, method="map").fit(Xl, yl)
    est.save(tmp_path / "map.nc")
    loaded_map = BayesianPoissonRegression.load(tmp_path / "map.nc")
    np.testing.assert_array_equal(loaded_map.predict(Xl, return_std=True), est.predict(Xl, return_std=True))
    assert loaded_map.exposure_sum_ is None
    assert loaded_map.penalty().value == est.penalty().value


# --- simulation-based calibration ---------------------------------------------------------------

SBC_SIGMA, SBC_ROWS = 0.5, 12


def _simulate(rng: np.random.Generator):
    coef = rng.normal(0.0, SBC_SIGMA, size=1)
    X = rng.normal(size=(SBC_ROWS, 1))
    e = rng.uniform(0.5, 3.0, size=SBC_ROWS)
    y = rng.poisson(e * np.exp(X @ coef))
    return {"coef": coef}, X, y, e


@pytest.mark.slow
def test_sbc_of_the_poisson_sampler():
    # The same structure as the quadrature fit (one feature, no intercept, an exposure), so the
    # compiled sampler is shared. 100 simulations, 99 thinned draws each, 10 bins (expected 10/bin).
    class WithExposure:
        """simulation_based_calibration fits (X, y); the exposure rides along with X."""

        def __init__(self, seed):
            self.est = BayesianPoissonRegression(
                SBC_SIGMA,
                fit_intercept=False,
                draws=400,
                tune=300,
                chains=2,
                random_state=seed,
                progressbar=False,
            )

        def fit(self, X, y):
            self.est.fit(X[:, :1], y, exposure=X[:, 1])
            self.idata_ = self.est.idata_
            self.convergence_ = self.est.convergence_
            return self

    def simulate(rng):
        truth, X, y, e = _simulate(rng)
        return truth, np.column_stack([X, e]), y

    result = simulation_based_calibration(WithExposure, simulate, 100, rng=4, n_draws=99)
    test = result.uniformity(n_bins=10)
    assert (test["p_value"] >= 0.01).all(), test


# --- the command's spec -----------------------------------------------------------------------------


def test_spec_kind_poisson_fits_a_count_csv(tmp_path, linnerud):
    from bayesreg.app.datasets import load_data
    from bayesreg.app.runner import _estimator
    from bayesreg.app.spec import SpecError, parse_spec

    X, y = linnerud
    frame = pd.concat([X.reset_index(drop=True), pd.Series(y, name="chins")], axis=1)
    frame.to_csv(tmp_path / "linnerud.csv", index=False)
    raw = {
        "schema_version": 1,
        "data": {"csv": "linnerud.csv", "target": "chins"},
        "model": {"kind": "poisson", "prior_sigma": 0.3},
        "sampler": {"method": "map"},
    }
    spec = parse_spec(raw, tmp_path / "chins.toml")
    data = load_data(spec)
    est = _estimator(spec, 0.3, False, list(map(str, data.X.columns)))
    assert isinstance(est, BayesianPoissonRegression)
    est.fit(data.X, data.y)
    assert compare_with_ridge(est, data.X, data.y).agrees
    with pytest.raises(SpecError, match="only for kind = 'linear' \\(the poisson model has no noise\\)"):
        parse_spec(raw | {"model": {"kind": "poisson", "noise_sigma": 1.0}}, tmp_path / "x.toml")
    with pytest.raises(SpecError, match="method"):
        parse_spec(raw | {"sampler": {"method": "exact"}}, tmp_path / "x.toml")
    frame["chins"] = frame["chins"] + 0.5
    frame.to_csv(tmp_path / "linnerud.csv", index=False)
    with pytest.raises(SpecError, match="needs a count target"):
        load_data(parse_spec(raw, tmp_path / "chins.toml"))


def test_spec_with_an_exposure_column_runs_the_rate_model(tmp_path):
    from bayesreg.app.datasets import load_data
    from bayesreg.app.runner import run_spec
    from bayesreg.app.spec import SpecError, load_spec

    rng = np.random.default_rng(7)
    X = rng.normal(size=(60, 2))
    years = rng.uniform(0.2, 2.0, size=60)
    counts = rng.poisson(years * np.exp(0.3 + X @ [0.5, -0.4]))
    frame = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "events": counts, "years": years})
    frame.to_csv(tmp_path / "d.csv", index=False)
    body = '[data]\ncsv = "d.csv"\ntarget = "events"\nexposure = "years"\n[model]\nkind = "poisson"\n'
    (tmp_path / "s.toml").write_text("schema_version = 1\n" + body + '[sampler]\nmethod = "map"\n')
    spec = load_spec(tmp_path / "s.toml")
    data = load_data(spec)
    assert list(data.X.columns) == ["a", "b"] and data.exposure.tolist() == years.tolist()
    assert run_spec(spec, tmp_path / "out", progressbar=False).exit_code == 0
    report = (tmp_path / "out" / "report.md").read_text()
    assert "y ~ Poisson(exposure · exp(b + X·w))" in report and "column 'years'" in report
    # The same MAP as the estimator given the exposure directly, and not as one without it.
    direct = BayesianPoissonRegression(1.0, method="map").fit(data.X, counts, exposure=years)
    table = pd.read_csv(tmp_path / "out" / "comparison.csv", index_col=0)
    np.testing.assert_allclose(table.loc[["a", "b"], "map"], direct.coef_, rtol=1e-9)
    unexposed = BayesianPoissonRegression(1.0, method="map").fit(data.X, counts)
    assert not np.allclose(unexposed.coef_, direct.coef_, rtol=1e-3)

    frame.assign(years=np.where(np.arange(60) == 3, 0.0, years)).to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(SpecError, match=r"data.exposure column 'years' must hold numbers > 0"):
        load_data(spec)
    for change, message in [
        (
            ('"poisson"', '"linear"'),
            r"data.exposure \(counts per unit of exposure\) needs model.kind = 'poisson'",
        ),
        (('exposure = "years"', 'exposure = "events"'), "also the target or a feature"),
        (('exposure = "years"', 'exposure = "years"\ntrials = "a"'), "exclude each other"),
        (('csv = "d.csv"\ntarget = "events"\n', 'dataset = "diabetes"\n'), "only used with data.csv"),
    ]:
        (tmp_path / "bad.toml").write_text("schema_version = 1\n" + body.replace(*change))
        with pytest.raises(SpecError, match=message):
            load_spec(tmp_path / "bad.toml")

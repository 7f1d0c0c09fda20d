"""Binomial counts in BayesianLogisticRegression: ``fit(X, y, trials=...)``, y successes out of trials.

The binomial likelihood is the Bernoulli likelihood of the rows expanded to 0/1 outcomes, up to a
constant, so the MAP must equal ``LogisticRegression(C=σ²)`` on the expanded rows and the posterior
must equal the posterior of the expanded Bernoulli fit. Data: simulated groups, and the breast
cancer data grouped into cells of two binned features (real data whose aggregation is exact,
because every row of a cell has the cell's covariates).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression

from bayesreg import BayesianLogisticRegression, compare_with_ridge

TIGHT = {"solver": "newton-cholesky", "tol": 1e-12, "max_iter": 1000}


def expand(X, successes, trials):
    """The 0/1 rows the counts stand for: row i repeated trials_i times, successes_i of them 1."""
    rows = np.repeat(np.asarray(X, dtype=float), trials, axis=0)
    labels = np.concatenate(
        [np.r_[np.ones(k, int), np.zeros(t - k, int)] for k, t in zip(successes, trials, strict=True)]
    )
    return rows, labels


@pytest.fixture(scope="module")
def grouped():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(12, 2))
    trials = rng.integers(1, 9, size=12)
    successes = rng.binomial(trials, 1.0 / (1.0 + np.exp(-(0.4 + X @ [1.0, -0.7]))))
    return X, successes, trials


@pytest.fixture(scope="module")
def breast_cancer_cells():
    """Breast cancer rows grouped into cells of two quintile-binned features (malignant = success)."""
    data = load_breast_cancer(as_frame=True)
    frame = data.data[["worst radius", "worst concave points"]]
    bins = frame.apply(lambda col: pd.qcut(col, 5, labels=False))
    cells = bins.assign(malignant=(data.target == 0).astype(int)).groupby(list(frame.columns))
    counts = cells["malignant"].agg(["sum", "count"]).reset_index()
    X = counts[list(frame.columns)].to_numpy(float)
    X = (X - 2.0) / np.sqrt(2.0)  # bin index 0..4, centred and scaled
    return X, counts["sum"].to_numpy(), counts["count"].to_numpy()


def test_map_equals_logistic_regression_on_the_expanded_rows(grouped):
    X, k, t = grouped
    est = BayesianLogisticRegression(1.5, method="map").fit(X, k, trials=t)
    rows, labels = expand(X, k, t)
    ref = LogisticRegression(C=1.5**2, **TIGHT).fit(rows, labels)
    assert est.likelihood_ == "binomial" and est.map_converged_
    np.testing.assert_allclose(est.map_coef_, ref.coef_[0], rtol=0, atol=1e-5)
    assert est.map_intercept_ == pytest.approx(ref.intercept_[0], abs=1e-5)
    assert est.n_samples_fit_ == t.sum()
    assert est.classes_.tolist() == [0, 1]
    p1 = est.predict_proba(X)[:, 1]
    np.testing.assert_allclose(p1, ref.predict_proba(X)[:, 1], atol=1e-6)
    np.testing.assert_array_equal(est.predict(X), (p1 > 0.5).astype(int))


def test_map_equals_logistic_regression_on_grouped_breast_cancer(breast_cancer_cells):
    X, k, t = breast_cancer_cells
    est = BayesianLogisticRegression(1.0, method="map").fit(X, k, trials=t)
    rows, labels = expand(X, k, t)
    assert rows.shape[0] == 569
    for ref in (
        LogisticRegression(C=1.0, **TIGHT).fit(rows, labels),
        LogisticRegression(C=1.0, tol=1e-10, max_iter=10_000).fit(rows, labels),  # lbfgs
    ):
        np.testing.assert_allclose(est.map_coef_, ref.coef_[0], rtol=0, atol=1e-5)
        assert est.map_intercept_ == pytest.approx(ref.intercept_[0], abs=1e-5)


def test_sample_weight_multiplies_the_counts(grouped):
    X, k, t = grouped
    w = np.linspace(0.5, 2.0, len(k))
    w[3] = 0.0
    est = BayesianLogisticRegression(1.0, method="map").fit(X, k, sample_weight=w, trials=t)
    rows = np.vstack([X, X])
    labels = np.r_[np.ones(len(k), int), np.zeros(len(k), int)]
    weights = np.r_[w * k, w * (t - k)]
    keep = weights > 0
    ref = LogisticRegression(C=1.0, **TIGHT).fit(rows[keep], labels[keep], sample_weight=weights[keep])
    np.testing.assert_allclose(est.map_coef_, ref.coef_[0], rtol=0, atol=1e-5)
    assert est.map_intercept_ == pytest.approx(ref.intercept_[0], abs=1e-5)
    cmp = compare_with_ridge(est, X, k, sample_weight=w, trials=t)
    assert cmp.agrees and cmp.max_abs_diff_map < 1e-6


def test_penalty_and_compare_fit_the_twin_on_expanded_counts(breast_cancer_cells):
    X, k, t = breast_cancer_cells
    est = BayesianLogisticRegression(2.0, method="map").fit(X, k, trials=t)
    pen = est.penalty()
    assert pen.value == 4.0 and "expanded to 0/1 rows" in pen.note
    assert isinstance(pen.twin.twin, LogisticRegression)
    cmp = compare_with_ridge(est, X, k, trials=t)
    assert cmp.agrees and cmp.max_abs_diff_map < 1e-6, str(cmp)
    with pytest.raises(ValueError, match="needs the trials of each row: pass trials="):
        compare_with_ridge(est, X, k)


@pytest.fixture(scope="module")
def posteriors(grouped):
    """NUTS on the counts and on the expanded 0/1 rows: the same posterior."""
    X, k, t = grouped
    kw = dict(draws=1500, tune=700, chains=2, progressbar=False)
    counts = BayesianLogisticRegression(1.0, random_state=1, **kw).fit(X, k, trials=t)
    rows, labels = expand(X, k, t)
    bernoulli = BayesianLogisticRegression(1.0, random_state=2, **kw).fit(rows, labels)
    return counts, bernoulli


def test_posterior_equals_the_expanded_bernoulli_posterior(posteriors, grouped):
    import arviz as az

    counts, bernoulli = posteriors
    assert counts.convergence_.converged and bernoulli.convergence_.converged
    z = []
    for var in ("coef", "intercept"):
        a, b = (e.idata_["posterior"][var] for e in (counts, bernoulli))
        mean_a, mean_b = a.mean(("chain", "draw")).values, b.mean(("chain", "draw")).values
        mcse_a = az.mcse(counts.idata_["posterior"].to_dataset()[[var]])[var].values
        mcse_b = az.mcse(bernoulli.idata_["posterior"].to_dataset()[[var]])[var].values
        z.append(np.atleast_1d((mean_a - mean_b) / np.hypot(mcse_a, mcse_b)))
    z = np.concatenate(z)
    assert np.all(np.abs(z) < 4), z
    # The stored data: counts observed, trials beside X; the pointwise log likelihood is binomial.
    X, k, t = grouped
    idata = counts.idata_
    np.testing.assert_array_equal(idata["observed_data"]["y"].values, k)
    np.testing.assert_array_equal(idata["constant_data"]["trials"].values, t)
    assert idata["log_likelihood"]["y"].shape == (2, 1500, len(k))
    coef = idata["posterior"]["coef"].values[:, :5].reshape(-1, 2)  # 5 draws per chain
    intercept = idata["posterior"]["intercept"].values[:, :5].ravel()
    success = 1 / (1 + np.exp(-(intercept[:, None] + coef @ X.T)))
    expected = binom.logpmf(k[None, :], t[None, :], success)
    got = idata["log_likelihood"]["y"].values[:, :5].reshape(expected.shape)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)
    proba = counts.predict_proba(X)[:, 1]
    post = idata["posterior"]
    eta = post["intercept"].values.reshape(-1, 1) + post["coef"].values.reshape(-1, 2) @ X.T
    np.testing.assert_allclose(proba, (1 / (1 + np.exp(-eta))).mean(0), rtol=1e-12)


def test_posterior_predictive_draws_successes_out_of_the_trials(posteriors, grouped):
    X, k, t = grouped
    counts, bernoulli = posteriors
    draws = counts.sample_posterior_predictive(random_state=0)["posterior_predictive"]["y"].values
    assert draws.shape == (2, 1500, len(k)) and draws.dtype == np.int64
    assert np.all((draws >= 0) & (draws <= t))
    # Their mean is t·E[p] per row, within 4 Monte Carlo standard errors of the draws' mean.
    flat = draws.reshape(-1, len(k))
    expected = t * counts.predict_proba(X)[:, 1]
    assert np.all(np.abs(flat.mean(0) - expected) < 4 * flat.std(0, ddof=1) / np.sqrt(flat.shape[0]))
    # The same seed gives the same draws; new rows need their trials; the groups go into idata_.
    again = counts.sample_posterior_predictive(random_state=0)["posterior_predictive"]["y"].values
    np.testing.assert_array_equal(draws, again)
    new = counts.sample_posterior_predictive(X[:2], trials=[3, 1000], random_state=1)
    new_draws = new["posterior_predictive"]["y"].values
    assert new_draws.shape[-1] == 2 and new_draws[..., 0].max() <= 3 and new_draws[..., 1].max() > 3
    with pytest.raises(ValueError, match=r"pass trials="):
        counts.sample_posterior_predictive(X[:2])
    with pytest.raises(ValueError, match=r"trials is given but X is None"):
        counts.sample_posterior_predictive(trials=t)
    with pytest.raises(ValueError, match=r"trials must be >= 1"):
        counts.sample_posterior_predictive(X[:2], trials=[0, 1])
    with pytest.raises(ValueError, match=r"trials is for a fit on binomial counts"):
        bernoulli.sample_posterior_predictive(X[:2], trials=[1, 1])
    assert "posterior_predictive" in counts.add_predictive_groups(random_state=0).children


def test_save_and_load_round_trip(posteriors, grouped, tmp_path):
    X, k, t = grouped
    est = posteriors[0]
    est.save(tmp_path / "counts.nc")
    loaded = BayesianLogisticRegression.load(tmp_path / "counts.nc")
    assert loaded.likelihood_ == "binomial"
    np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))
    assert compare_with_ridge(loaded, X, k, trials=t).agrees


@pytest.mark.parametrize(
    ("y", "trials", "match"),
    [
        ([1, 5, 2], [3, 4, 2], r"y exceeds trials at row 1 \(5 successes out of 4 trials\)"),
        ([1, -1, 2], [3, 4, 2], r"negative count \(-1 at row 1\)"),
        ([1, 1.5, 2], [3, 4, 2], r"not a whole number \(1.5 at row 1\)"),
        ([1, 1, 2], [3, 4.5, 2], r"trials has a value that is not a whole number"),
        ([0, 1, 2], [0, 4, 2], r"trials must be >= 1 in every row; got 0 at row 0"),
        ([1, 1, 2], [3, 4], r"trials has 2 values but X has 3 rows"),
        ([1, 1, 2], [[3, 4, 2]], r"trials must be 1-D"),
        (["a", "b", "c"], [3, 4, 2], r"y \(the successes, with trials given\) must hold numbers"),
        ([3, 4, 2], [3, 4, 2], r"no failures"),
        (None, [3, 4, 2], r"trials was given without y"),
    ],
)
def test_bad_counts_are_refused_with_a_clear_message(y, trials, match):
    X = np.array([[0.0], [1.0], [2.0]])
    est = BayesianLogisticRegression(method="map")
    with pytest.raises(ValueError, match=match):
        est.fit(X, y, trials=trials)
    assert not hasattr(est, "classes_")


def test_spec_with_a_trials_column_runs_the_binomial_model(tmp_path, grouped):
    from bayesreg.app.datasets import load_data
    from bayesreg.app.runner import run_spec
    from bayesreg.app.spec import SpecError, load_spec

    X, k, t = grouped
    pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "hits": k, "n": t}).to_csv(tmp_path / "d.csv", index=False)
    body = (
        '[data]\ncsv = "d.csv"\ntarget = "hits"\ntrials = "n"\n'
        + '[model]\nkind = "logistic"\nprior_sigma = 1.5\n'
    )
    (tmp_path / "s.toml").write_text("schema_version = 1\n" + body + '[sampler]\nmethod = "map"\n')
    spec = load_spec(tmp_path / "s.toml")
    data = load_data(spec)
    assert list(data.X.columns) == ["a", "b"] and data.trials.tolist() == t.tolist()
    result = run_spec(spec, tmp_path / "out", progressbar=False)
    assert result.exit_code == 0
    report = (tmp_path / "out" / "report.md").read_text()
    assert "y ~ Binomial(trials, sigmoid(b + X·w))" in report and "expanded to 0/1 rows" in report
    swapped = body.replace('target = "hits"\ntrials = "n"', 'target = "n"\ntrials = "hits"')
    (tmp_path / "bad.toml").write_text("schema_version = 1\n" + swapped)
    with pytest.raises(SpecError, match="trials"):
        load_data(load_spec(tmp_path / "bad.toml"))
    (tmp_path / "lin.toml").write_text("schema_version = 1\n" + body.replace('"logistic"', '"linear"'))
    with pytest.raises(SpecError, match=r"data.trials \(binomial counts\) needs model.kind = 'logistic'"):
        load_spec(tmp_path / "lin.toml")

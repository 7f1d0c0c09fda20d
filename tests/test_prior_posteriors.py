"""NUTS against exact answers for the priors of issue 12 (known noise throughout).

With a normal prior and a known noise sd the posterior is Gaussian and known exactly
(``method="exact"``, ``exact_posterior_``), whatever the per-feature scales ``σ_j``, the prior mean
``m`` and a normal prior on the intercept. The sampled means must lie within 4 MCSE of it, the
sampled sds within 4 MCSE of the sd (``az.mcse(method="sd")``, about 1.5% of the sd from 4 × 1000
draws, so about 6%), and the exact mean must equal the penalised twin's solution to 1e-10. The
exact posterior is itself checked against an independent numpy computation on the design
``[1, X]``, and each case checks that the same sample is many MCSE away from the posterior that
ignores the option under test, so that a sampler or closed form which dropped it would fail.

The Laplace prior has no closed form: there the test shows what the prior is, a MAP with the lasso's
exact zeros beside a posterior mean that is never 0.
"""

from __future__ import annotations

import arviz as az
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Lasso

from bayesreg import BayesianLinearRegression
from bayesreg.backend import fixed_density
from tests.helpers import DIABETES_NOISE, DIABETES_PRIOR

SAMPLER = dict(draws=1000, tune=1000, chains=4, progressbar=False, compute_log_likelihood=False)

# One prior sd per feature of diabetes (age sex bmi bp s1 s2 s3 s4 s5 s6, standardised): from a
# prior that pins age and s2 near 0 to one that leaves s1 and s5 nearly free.
SIGMA = np.array([1.0, 2.0, 5.0, 10.0, 20.0, 1.0, 5.0, 10.0, 20.0, 2.0])
# A prior guess to shrink toward, with a tight sd (2) so that the guess matters.
PRIOR_MEAN = np.array([5.0, -5.0, 20.0, 10.0, -10.0, 10.0, 0.0, 5.0, 20.0, 0.0])


def _case(name: str, X: pd.DataFrame):
    """(design, the options under test, the same model without them) for each case."""
    if name == "per_feature_sigma_array":
        return X, dict(prior_sigma=SIGMA), dict(prior_sigma=DIABETES_PRIOR)
    if name == "per_feature_sigma_dict":
        keyed = dict(zip(X.columns[::-1], SIGMA[::-1], strict=True))  # not in column order
        return X, dict(prior_sigma=keyed), dict(prior_sigma=DIABETES_PRIOR)
    if name == "prior_mean":
        return X, dict(prior_sigma=2.0, prior_mean=PRIOR_MEAN), dict(prior_sigma=2.0)
    if name == "intercept_prior":
        # Uncentred columns (means 3): the prior is on the intercept of X as given, which then
        # moves the coefficients too. N(100, 2²) is far from where the data put it (about 150).
        options = dict(prior_sigma=DIABETES_PRIOR, intercept_prior_sigma=2.0, intercept_prior_mean=100.0)
        return X + 3.0, options, dict(prior_sigma=DIABETES_PRIOR)
    raise ValueError(name)


def independent_posterior(X, y, *, noise, sigma, mean=0.0, intercept_sigma=None, intercept_mean=0.0):
    """Mean and covariance of (intercept, coef) by the textbook formula on ``[1, X]``."""
    design = np.column_stack([np.ones(len(y)), X])
    precision = np.zeros(design.shape[1])
    centre = np.zeros(design.shape[1])
    precision[1:] = 1.0 / np.broadcast_to(np.asarray(sigma, dtype=float), X.shape[1]) ** 2
    centre[1:] = mean
    if intercept_sigma is not None:
        precision[0], centre[0] = 1.0 / intercept_sigma**2, intercept_mean
    cov = np.linalg.inv(design.T @ design / noise**2 + np.diag(precision))
    return cov @ (design.T @ y / noise**2 + precision * centre), cov


@pytest.mark.parametrize(
    ("case", "seed"),
    [
        ("per_feature_sigma_array", 31),
        ("per_feature_sigma_dict", 32),
        ("prior_mean", 33),
        ("intercept_prior", 34),
    ],
)
def test_nuts_matches_the_exact_posterior(diabetes, case, seed):
    X, y = diabetes
    X, options, without = _case(case, X)
    exact = BayesianLinearRegression(noise_sigma=DIABETES_NOISE, method="exact", **options).fit(X, y)
    post = exact.exact_posterior_

    # The closed form is the textbook posterior (σ_j of a dict matched by name, not by position).
    ref_mean, ref_cov = independent_posterior(
        X.to_numpy(),
        y.to_numpy(),
        noise=DIABETES_NOISE,
        sigma=SIGMA if "per_feature" in case else options["prior_sigma"],
        mean=options.get("prior_mean", 0.0),
        intercept_sigma=options.get("intercept_prior_sigma"),
        intercept_mean=options.get("intercept_prior_mean", 0.0),
    )
    np.testing.assert_allclose(post.coef_mean, ref_mean[1:], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(post.intercept_mean, ref_mean[0], rtol=1e-12)
    np.testing.assert_allclose(post.coef_cov, ref_cov[1:, 1:], rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(post.intercept_var, ref_cov[0, 0], rtol=1e-8)

    # ... and the penalised twin's solution: ridge on rescaled, shifted columns.
    twin = exact.ridge_equivalent().fit(X, y)
    scale = np.max(np.abs(post.coef_mean))
    np.testing.assert_allclose(twin.coef_, post.coef_mean, rtol=1e-10, atol=1e-10 * scale)
    np.testing.assert_allclose(twin.intercept_, post.intercept_mean, rtol=1e-10)

    est = BayesianLinearRegression(noise_sigma=DIABETES_NOISE, random_state=seed, **options, **SAMPLER)
    est.fit(X, y)
    assert est.convergence_.converged, str(est.convergence_)
    draws = est.idata_["posterior"].to_dataset()[["coef", "intercept"]]
    mcse, mcse_sd = az.mcse(draws), az.mcse(draws, method="sd")
    mean = np.append(draws["coef"].mean(("chain", "draw")).values, float(draws["intercept"].mean()))
    sd = np.append(draws["coef"].std(("chain", "draw"), ddof=1).values, float(draws["intercept"].std(ddof=1)))
    se = np.append(mcse["coef"].values, float(mcse["intercept"]))
    names = [*X.columns, "intercept"]
    z = (mean - np.append(post.coef_mean, post.intercept_mean)) / se
    assert np.all(np.abs(z) < 4), dict(zip(names, z.round(2), strict=True))
    se_sd = np.append(mcse_sd["coef"].values, float(mcse_sd["intercept"]))
    z_sd = (sd - np.append(post.coef_sd, post.intercept_sd)) / se_sd
    assert np.all(np.abs(z_sd) < 4), dict(zip(names, z_sd.round(2), strict=True))

    # The test can fail: without the option under test the exact posterior is far from this sample.
    other = BayesianLinearRegression(noise_sigma=DIABETES_NOISE, method="exact", **without).fit(X, y)
    other_post = other.exact_posterior_
    z_other = (mean - np.append(other_post.coef_mean, other_post.intercept_mean)) / se
    assert np.max(np.abs(z_other)) > 20, dict(zip(names, z_other.round(1), strict=True))


def sparse_problem():
    """60 rows, 6 features; the two smallest effects (−0.4, 0.4) are real but the lasso zeroes them.

    At the MAP their likelihood gradients are 0.36 and 0.41 of the L1 weight: zero with a margin,
    and with the likelihood pulling them visibly off 0 in the posterior.
    """
    rng = np.random.default_rng(6)
    X = rng.normal(size=(60, 6))
    y = 1.0 + X @ np.array([2.0, -1.5, 1.0, 0.4, -0.4, 0.4]) + rng.normal(size=60)
    return X, y


def test_laplace_posterior_mean_is_not_sparse_while_the_map_is():
    X, y = sparse_problem()
    est = BayesianLinearRegression(0.1, prior="laplace", noise_sigma=1.0, random_state=35, **SAMPLER)
    est.fit(X, y)
    assert est.map_converged_
    assert est.convergence_.converged, str(est.convergence_)

    # The MAP is the lasso, exact zeros included: Lasso(alpha = σ_n²/(n·b)), b = σ/√2.
    twin = est.ridge_equivalent()
    assert isinstance(twin, Lasso)
    np.testing.assert_allclose(twin.alpha, 1.0 / (60 * 0.1 / np.sqrt(2)), rtol=1e-12)
    twin.fit(X, y)
    zero = twin.coef_ == 0
    assert zero.sum() == 2  # the test is about something: the lasso does zero coefficients here
    np.testing.assert_array_equal(est.map_coef_ == 0, zero)
    np.testing.assert_allclose(est.map_coef_, twin.coef_, rtol=0, atol=1e-6)
    np.testing.assert_allclose(est.map_intercept_, twin.intercept_, rtol=0, atol=1e-6)

    # NUTS samples the posterior, which has no point mass at 0: no draw is exactly 0, and the
    # mean of each coefficient the MAP zeroes is many MCSE away from 0.
    post = est.idata_["posterior"].to_dataset()
    coef = post["coef"]
    assert not np.any(coef.values == 0)
    mean = coef.mean(("chain", "draw")).values
    mcse = az.mcse(post[["coef"]])["coef"].values
    ratio = np.abs(mean) / mcse
    assert np.all(ratio[zero] > 10), dict(zip(np.flatnonzero(zero), ratio[zero].round(1), strict=True))
    np.testing.assert_allclose(est.coef_, mean, rtol=1e-12)  # coef_ reports that mean: not sparse


def orthogonal_problem():
    """50 rows, 4 centred orthogonal columns (Xᵀ X = n I): the posterior is a product of 1-D ones.

    Two true effects are 0 and one is small, so that each of those posteriors straddles its kink at 0.
    """
    rng = np.random.default_rng(8)
    raw = rng.normal(size=(50, 4))
    q, _ = np.linalg.qr(raw - raw.mean(axis=0))
    X = q * np.sqrt(50)
    y = 1.0 + X @ np.array([0.0, 0.05, 0.0, 0.8]) + rng.normal(size=50)
    return X, y


def quadrature_moments(centre, precision, l1, l2, delta=0.0):
    """Mean and sd of the density ∝ exp(-precision/2 (β - centre)² - l1 √(β² + δ²) - l2/2 β²), by quadrature.

    δ = 0 is the L1 prior's ``l1 |β|``. A uniform grid with 0 on it (the kink) and 12 sd either
    side: the trapezoid rule's error is far below 1e-8 relative here.
    """
    half_width = 12.0 / np.sqrt(precision)
    h = half_width / 200_000
    grid = np.arange(np.floor((centre - half_width) / h), np.ceil((centre + half_width) / h) + 1) * h
    l1_term = l1 * np.sqrt(grid**2 + delta**2)
    log_density = -0.5 * precision * (grid - centre) ** 2 - l1_term - 0.5 * l2 * grid**2
    weight = np.exp(log_density - log_density.max())
    total = np.trapezoid(weight, grid)
    mean = np.trapezoid(grid * weight, grid) / total
    return mean, np.sqrt(np.trapezoid((grid - mean) ** 2 * weight, grid) / total)


@pytest.mark.parametrize(
    ("prior", "seed", "smoothing"), [("laplace", 36, None), ("elasticnet", 37, None), ("laplace", 38, 1.5)]
)
def test_nuts_matches_the_exact_l1_posterior_on_an_orthogonal_design(prior, seed, smoothing, monkeypatch):
    """The L1 priors' posterior, sampled with the surrogate gradient (fixed_density.L1_SMOOTHING), is exact.

    With Xᵀ X = n I, centred columns and a known noise sd, coefficient j's posterior is the 1-D
    density ∝ exp(-n/(2σ²) (β - xⱼᵀy/n)² - l1 |β| - l2/2 β²), whose mean and sd quadrature gives.
    The last case triples the surrogate's smoothing (the default's target differs from the exact
    one by under 3 MCSE here): the draws still match the exact posterior, and are many MCSE away
    from the surrogate's own, so a sampler that used the surrogate's log density would fail.
    """
    if smoothing is not None:
        monkeypatch.setattr(fixed_density, "L1_SMOOTHING", smoothing)
    X, y = orthogonal_problem()
    n = len(y)
    est = BayesianLinearRegression(0.1, prior=prior, noise_sigma=1.0, random_state=seed, **SAMPLER)
    est.fit(X, y)
    assert est.convergence_.converged, str(est.convergence_)
    coef_prior = est._coefficient_prior()
    exact = [
        quadrature_moments(X[:, j] @ y / n, float(n), coef_prior.l1_weight[j], coef_prior.l2_precision[j])
        for j in range(X.shape[1])
    ]
    exact_mean, exact_sd = np.array(exact).T

    draws = est.idata_["posterior"].to_dataset()[["coef"]]
    mean = draws["coef"].mean(("chain", "draw")).values
    sd = draws["coef"].std(("chain", "draw"), ddof=1).values
    mcse_sd = az.mcse(draws, method="sd")["coef"].values
    z = (mean - exact_mean) / az.mcse(draws)["coef"].values
    z_sd = (sd - exact_sd) / mcse_sd
    assert np.all(np.abs(z) < 4), z.round(2)
    assert np.all(np.abs(z_sd) < 4), z_sd.round(2)
    # The test can fail: a sampler that lost the prior would draw the likelihood alone, whose sd
    # (1/√n for each coefficient) is many MCSE from these draws' for the two zero effects.
    z_likelihood_only = (sd - 1 / np.sqrt(n)) / mcse_sd
    assert np.all(z_likelihood_only[[0, 2]] < -20), z_likelihood_only.round(1)
    if smoothing is not None:
        delta = smoothing / (coef_prior.l1_weight * np.sqrt(X.shape[1]))
        surrogate_mean = [
            quadrature_moments(
                X[:, j] @ y / n, float(n), coef_prior.l1_weight[j], coef_prior.l2_precision[j], delta[j]
            )[0]
            for j in range(X.shape[1])
        ]
        z_surrogate = (mean - np.array(surrogate_mean)) / az.mcse(draws)["coef"].values
        assert np.max(np.abs(z_surrogate)) > 5, z_surrogate.round(1)

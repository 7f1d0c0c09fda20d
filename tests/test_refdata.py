"""Published reference posteriors (posteriordb, inference gym): bayesreg must reproduce them.

Means must lie within 4 joint MCSE, ``4·sqrt(mcse_ref² + mcse_ours²)``, of the reference, and sds
within 5% (our sd estimate from ~4000 effective draws has a relative error of about 1%). These tests
run whenever ../shared/refdata is present and fail, rather than skip, under CI=true.
"""

from __future__ import annotations

import json
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from bayesreg import BayesianLinearRegression, BayesianLogisticRegression

pytestmark = pytest.mark.refdata

SAMPLER = dict(draws=1000, tune=1000, chains=4, progressbar=False)


def load_posteriordb(refdata: Path, name: str):
    folder = refdata / "posteriordb" / name
    data = json.loads((folder / "data.json").read_text())
    summary = pd.read_csv(folder / "reference_summary.csv", index_col="parameter")
    return data, summary


def assert_matches(ours_mean, ours_mcse, ours_sd, ref: pd.DataFrame, *, mean_col="mean", se_col="mcse_mean"):
    joint = np.sqrt(ref[se_col].to_numpy() ** 2 + np.asarray(ours_mcse) ** 2)
    z = (np.asarray(ours_mean) - ref[mean_col].to_numpy()) / joint
    assert np.all(np.abs(z) < 4), pd.Series(z, index=ref.index).round(2).to_dict()
    np.testing.assert_allclose(ours_sd, ref["sd"].to_numpy(), rtol=0.05)


def coef_stats(est):
    post = est.idata_["posterior"].to_dataset()
    coef = post["coef"]
    return (
        coef.mean(("chain", "draw")).values,
        az.mcse(post)["coef"].values,
        coef.std(("chain", "draw"), ddof=1).values,
    )


def test_posteriordb_sblri_blr(refdata):
    data, ref = load_posteriordb(refdata, "sblri-blr")
    X, y = np.asarray(data["X"]), np.asarray(data["y"])
    est = BayesianLinearRegression(
        10.0, noise_prior_sigma=10.0, fit_intercept=False, random_state=10, **SAMPLER
    )
    est.fit(X, y)
    assert est.convergence_.converged
    mean, mcse, sd = coef_stats(est)
    assert_matches(mean, mcse, sd, ref.loc[[f"beta[{i}]" for i in range(1, 6)]])
    post = est.idata_["posterior"].to_dataset()
    noise = post["noise_sigma"]
    assert_matches(
        [float(noise.mean())],
        [float(az.mcse(post)["noise_sigma"])],
        [float(noise.std(ddof=1))],
        ref.loc[["sigma"]],
    )


def test_posteriordb_diamonds_shrinkage(refdata):
    data, ref = load_posteriordb(refdata, "diamonds-diamonds")
    X = np.asarray(data["X"])[:, 1:]  # the first column is brms's intercept column of ones
    y = np.asarray(data["Y"])
    est = BayesianLinearRegression(1.0, noise_prior_sigma=10.0, random_state=11, **SAMPLER).fit(X, y)
    assert est.convergence_.converged
    mean, mcse, sd = coef_stats(est)
    assert_matches(mean, mcse, sd, ref.loc[[f"b[{i}]" for i in range(1, 25)]])
    # brms's "Intercept" is the intercept of the centred design: ours plus x̄ᵀcoef, per draw.
    post = est.idata_["posterior"].to_dataset()
    centred = post["intercept"] + (post["coef"] * xr.DataArray(X.mean(0), dims="feature")).sum("feature")
    centred_mcse = float(az.mcse(xr.Dataset({"c": centred}))["c"])
    assert_matches(
        [float(centred.mean())], [centred_mcse], [float(centred.std(ddof=1))], ref.loc[["Intercept"]]
    )
    noise = post["noise_sigma"]
    assert_matches(
        [float(noise.mean())],
        [float(az.mcse(post)["noise_sigma"])],
        [float(noise.std(ddof=1))],
        ref.loc[["sigma"]],
    )
    # The prior really shrinks here: least squares is hundreds of reference MCSE away.
    ols = np.linalg.lstsq(np.column_stack([X - X.mean(0), np.ones(len(y))]), y, rcond=None)[0][:-1]
    ref_b = ref.loc[[f"b[{i}]" for i in range(1, 25)]]
    assert np.max(np.abs(ols - ref_b["mean"]) / ref_b["mcse_mean"]) > 100


def test_inference_gym_german_credit(refdata):
    folder = refdata / "inference_gym_german_credit"
    raw = np.loadtxt(folder / "german.data-numeric")
    features, labels = raw[:, :-1], raw[:, -1] - 1  # label = class - 1 (1 = bad credit)
    features = (features - features.mean(0)) / features.std(0)  # population sd, over all rows
    X = np.column_stack([features, np.ones(len(labels))])  # the bias is a weight with a N(0, 1) prior
    ref = pd.read_csv(folder / "ground_truth.csv", index_col="parameter")
    est = BayesianLogisticRegression(1.0, fit_intercept=False, random_state=12, **SAMPLER).fit(X, labels)
    assert est.convergence_.converged
    mean, mcse, sd = coef_stats(est)
    assert_matches(mean, mcse, sd, ref, se_col="mean_standard_error")
    # The MAP is sklearn's LogisticRegression(C=1) and visibly differs from the posterior mean.
    map_ref = est.ridge_equivalent().fit(X, labels)
    np.testing.assert_allclose(est.map_coef_, map_ref.coef_[0], atol=1e-5)
    assert abs(est.map_coef_[-1] - ref.loc["bias", "mean"]) > 10 * ref.loc["bias", "mean_standard_error"]


# --- Posteriors whose priors bayesreg now expresses exactly (issue 12) ------------------------------
#
# Means as above. Sds within 4·sqrt(mcse_sd_ref² + mcse_sd_ours²), the MCSE of an sd estimate from
# ``az.mcse(method="sd")``, and within the module's 5% as well. At 4 × 1000 draws our sd's MCSE is
# about 1.6% of the sd (the reference's 0.75%), so 5% would be only ~2.8 joint MCSE, and these fits
# did land 4–5% off at seeds where the means agreed: hence 4 × 4000 draws, where our MCSE of the sd
# is ~0.8% and 4 joint MCSE ≈ 4.5% ≤ 5%. The log likelihood is not needed and not stored.
REF_SAMPLER = dict(SAMPLER, draws=4000, compute_log_likelihood=False)


def posterior_summary(est, names: list[str]) -> pd.DataFrame:
    """Mean, MCSE, sd and MCSE of the sd of intercept, each coefficient and noise_sigma, in that order.

    ``names`` are the reference's names of the same parameters (Stan's ``beta[1]`` for the intercept).
    """
    post = est.idata_["posterior"].to_dataset()
    n_coef = post.sizes["feature"]
    parts = [post["intercept"], *(post["coef"].isel(feature=j, drop=True) for j in range(n_coef))]
    parts.append(post["noise_sigma"])
    assert len(names) == len(parts)
    ds = xr.Dataset(dict(zip(names, parts, strict=True)))
    mcse_mean, mcse_sd = az.mcse(ds), az.mcse(ds, method="sd")
    return pd.DataFrame(
        {
            "mean": [float(ds[n].mean()) for n in names],
            "mcse": [float(mcse_mean[n]) for n in names],
            "sd": [float(ds[n].std(ddof=1)) for n in names],
            "mcse_sd": [float(mcse_sd[n]) for n in names],
        },
        index=names,
    )


def assert_matches_reference(ours: pd.DataFrame, ref: pd.DataFrame) -> None:
    ref = ref.loc[ours.index]
    assert_matches(ours["mean"], ours["mcse"], ours["sd"], ref)
    sd_joint = np.sqrt(ref["mcse_sd"] ** 2 + ours["mcse_sd"] ** 2)
    z_sd = (ours["sd"] - ref["sd"]) / sd_joint
    assert np.all(np.abs(z_sd) < 4), z_sd.round(2).to_dict()


def test_posteriordb_kilpisjarvi_intercept_and_slope_priors(refdata):
    # alpha ~ N(pmualpha, psalpha) is a normal prior on the intercept of the uncentred model;
    # beta ~ N(pmubeta, psbeta); sigma has no prior statement in Stan: flat on sigma > 0.
    data, ref = load_posteriordb(refdata, "kilpisjarvi_mod-kilpisjarvi")
    X = np.asarray(data["x"], dtype=float)[:, None]  # years around 4000: far from centred
    y = np.asarray(data["y"], dtype=float)
    est = BayesianLinearRegression(
        data["psbeta"],
        prior_mean=data["pmubeta"],
        intercept_prior_sigma=data["psalpha"],
        intercept_prior_mean=data["pmualpha"],
        noise_prior="flat",
        random_state=13,
        **REF_SAMPLER,
    ).fit(X, y)
    assert est.convergence_.converged, str(est.convergence_)
    assert_matches_reference(posterior_summary(est, ["alpha", "beta", "sigma"]), ref)


def test_posteriordb_kidiq_flat_slopes_halfcauchy_noise(refdata):
    # kid_score ~ N(beta[1] + beta[2]·mom_hs + beta[3]·mom_iq, sigma): no prior on beta (the intercept
    # beta[1] included), sigma ~ cauchy(0, 2.5) on sigma > 0, i.e. half-Cauchy with scale 2.5.
    data, ref = load_posteriordb(refdata, "kidiq-kidscore_momhsiq")
    X = np.column_stack([data["mom_hs"], data["mom_iq"]]).astype(float)
    y = np.asarray(data["kid_score"], dtype=float)
    est = BayesianLinearRegression(
        prior="flat", noise_prior="halfcauchy", noise_prior_sigma=2.5, random_state=14, **REF_SAMPLER
    ).fit(X, y)
    assert est.convergence_.converged, str(est.convergence_)
    assert_matches_reference(posterior_summary(est, ["beta[1]", "beta[2]", "beta[3]", "sigma"]), ref)


def test_posteriordb_mesquite_log_design_flat_priors(refdata):
    # Stan's transformed data: log of weight and of every predictor but group, which enters as is;
    # beta (intercept beta[1] included) and sigma have no prior statement: flat.
    data, ref = load_posteriordb(refdata, "mesquite-logmesquite")
    logged = ["diam1", "diam2", "canopy_height", "total_height", "density"]
    X = np.column_stack([np.log(np.asarray(data[c], dtype=float)) for c in logged] + [data["group"]])
    y = np.log(np.asarray(data["weight"], dtype=float))
    est = BayesianLinearRegression(prior="flat", noise_prior="flat", random_state=15, **REF_SAMPLER).fit(X, y)
    assert est.convergence_.converged, str(est.convergence_)
    names = [f"beta[{i}]" for i in range(1, 8)] + ["sigma"]
    assert_matches_reference(posterior_summary(est, names), ref)

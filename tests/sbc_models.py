"""The three models checked by simulation-based calibration, and the script that draws the figure.

Each simulator draws the parameters from exactly the prior the estimator uses and data from the
model. The intercept has a flat prior, which cannot be drawn from:

* linear models: the true intercept is fixed at ``TRUE_INTERCEPT`` and still ranked. The intercept is
  a pure location shift of y and its prior is flat (translation invariant), so the posterior of
  ``intercept − b*`` given data simulated at ``b*`` does not depend on ``b*``; averaging over a
  N(0, τ²) prior on ``b*`` (for which SBC holds) and letting τ → ∞ shows its rank is uniform too,
  and the other parameters' posteriors do not depend on ``b*`` at all (they see centred data).
* logistic model: that argument fails (y is binary, not shifted by the intercept), so the
  estimator is fitted with ``fit_intercept=False``.

The priors of issue 12 (a Laplace prior, a prior sd per feature) are drawn with
:meth:`CoefficientPrior.sample`, the same record the estimator builds its prior from.

Run ``python tests/sbc_models.py`` to redraw ``docs/figures/sbc_ranks.png`` with the slow sizes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bayesreg import BayesianLinearRegression, BayesianLogisticRegression
from bayesreg.stats.prior_terms import CoefficientPrior

TRUE_INTERCEPT = 1.5
PRIOR_SIGMA = 1.0
KNOWN_NOISE = 1.0
NOISE_PRIOR_SIGMA = 1.0
LOGISTIC_PRIOR_SIGMA = 1.5
N_LINEAR, P_LINEAR = 20, 3
N_LOGISTIC, P_LOGISTIC = 40, 2

# NUTS: 2 chains x 1000 draws pooled, thinned by 20 to 99 draws (ranks 0..99: 100 values, so 5, 10 or
# 20 equally likely bins). The whitened posteriors give a tail ESS of about 500-800 per fit, so the
# 99 kept draws are close to independent. (With 200 draws per chain the split r_hat alone, noisy at
# that length, exceeded 1.01 in half the fits.)
N_DRAWS = 99
SAMPLER = {"draws": 1000, "tune": 700, "chains": 2, "progressbar": False}


def simulate_linear_known(rng: np.random.Generator):
    coef = rng.normal(0.0, PRIOR_SIGMA, size=P_LINEAR)
    X = rng.normal(size=(N_LINEAR, P_LINEAR))
    y = TRUE_INTERCEPT + X @ coef + rng.normal(0.0, KNOWN_NOISE, size=N_LINEAR)
    return {"coef": coef, "intercept": TRUE_INTERCEPT}, X, y


def simulate_linear_unknown(rng: np.random.Generator):
    noise = abs(rng.normal(0.0, NOISE_PRIOR_SIGMA))  # HalfNormal(NOISE_PRIOR_SIGMA)
    coef = rng.normal(0.0, PRIOR_SIGMA, size=P_LINEAR)
    X = rng.normal(size=(N_LINEAR, P_LINEAR))
    y = TRUE_INTERCEPT + X @ coef + rng.normal(0.0, noise, size=N_LINEAR)
    return {"coef": coef, "intercept": TRUE_INTERCEPT, "noise_sigma": noise}, X, y


# The hierarchical model: σ ~ HalfNormal(SIGMA_PRIOR), w | σ ~ N(0, σ² I), known noise. More rows
# than the other linear cases, so that σ is identified well enough for a mode (the whitening point).
SIGMA_PRIOR, N_HIERARCHICAL = 1.0, 40


def simulate_linear_hierarchical(rng: np.random.Generator):
    sigma = abs(rng.normal(0.0, SIGMA_PRIOR))  # HalfNormal(SIGMA_PRIOR)
    coef = rng.normal(0.0, sigma, size=P_LINEAR)
    X = rng.normal(size=(N_HIERARCHICAL, P_LINEAR))
    y = TRUE_INTERCEPT + X @ coef + rng.normal(0.0, KNOWN_NOISE, size=N_HIERARCHICAL)
    return {"coef": coef, "intercept": TRUE_INTERCEPT, "prior_sigma": sigma}, X, y


def simulate_logistic(rng: np.random.Generator):
    coef = rng.normal(0.0, LOGISTIC_PRIOR_SIGMA, size=P_LOGISTIC)
    X = rng.normal(size=(N_LOGISTIC, P_LOGISTIC))
    y = (rng.uniform(size=N_LOGISTIC) < 1.0 / (1.0 + np.exp(-(X @ coef)))).astype(int)
    if y.min() == y.max():  # one class only: flip one label (rare at these sizes)
        y[0] = 1 - y[0]
    return {"coef": coef}, X, y


# --- the priors of issue 12 -------------------------------------------------------------------------
# Laplace prior of sd PRIOR_SIGMA (scale b = σ/√2), known noise LAPLACE_NOISE. The noise is larger than
# KNOWN_NOISE so that 20 rows do not swamp the prior: at noise 1 the posterior is nearly the likelihood
# and SBC (60 sims) passed a fit whose Laplace sd was 3x too small (min p 0.36); at noise 3 the prior
# carries about a third of the information, its kink at 0 shows in the posterior, and that wrong
# scale is rejected (test_sbc_detects_a_laplace_prior_of_the_wrong_scale).
LAPLACE_NOISE = 3.0
LAPLACE_PRIOR = CoefficientPrior("laplace", sigma=np.full(P_LINEAR, PRIOR_SIGMA), mean=np.zeros(P_LINEAR))
LOGISTIC_LAPLACE_PRIOR = CoefficientPrior(
    "laplace", sigma=np.full(P_LOGISTIC, LOGISTIC_PRIOR_SIGMA), mean=np.zeros(P_LOGISTIC)
)
# A normal prior with its own sd per feature (narrow, unit, wide), known noise KNOWN_NOISE. X is a
# DataFrame so that the exact estimator can take the sds keyed by column name.
FEATURE_SIGMAS = np.array([0.3, 1.0, 3.0])
FEATURE_NAMES = ["x_narrow", "x_unit", "x_wide"]
PER_FEATURE_PRIOR = CoefficientPrior("normal", sigma=FEATURE_SIGMAS, mean=np.zeros(P_LINEAR))


def simulate_linear_laplace(rng: np.random.Generator):
    coef = LAPLACE_PRIOR.sample(1, rng)[0]
    X = rng.normal(size=(N_LINEAR, P_LINEAR))
    y = TRUE_INTERCEPT + X @ coef + rng.normal(0.0, LAPLACE_NOISE, size=N_LINEAR)
    return {"coef": coef, "intercept": TRUE_INTERCEPT}, X, y


def simulate_linear_per_feature(rng: np.random.Generator):
    coef = PER_FEATURE_PRIOR.sample(1, rng)[0]
    X = pd.DataFrame(rng.normal(size=(N_LINEAR, P_LINEAR)), columns=FEATURE_NAMES)
    y = TRUE_INTERCEPT + X.to_numpy() @ coef + rng.normal(0.0, KNOWN_NOISE, size=N_LINEAR)
    return {"coef": coef, "intercept": TRUE_INTERCEPT}, X, y


def simulate_logistic_laplace(rng: np.random.Generator):
    coef = LOGISTIC_LAPLACE_PRIOR.sample(1, rng)[0]
    X = rng.normal(size=(N_LOGISTIC, P_LOGISTIC))
    y = (rng.uniform(size=N_LOGISTIC) < 1.0 / (1.0 + np.exp(-(X @ coef)))).astype(int)
    if y.min() == y.max():  # one class only: flip one label (rare at these sizes)
        y[0] = 1 - y[0]
    return {"coef": coef}, X, y


def nuts_linear_laplace(seed: int) -> BayesianLinearRegression:
    return BayesianLinearRegression(
        PRIOR_SIGMA, prior="laplace", noise_sigma=LAPLACE_NOISE, random_state=seed, **SAMPLER
    )


def exact_linear_per_feature(seed: int) -> BayesianLinearRegression:
    # Keyed by name in reverse column order: the sds must follow the names, not the order.
    sigmas = dict(zip(FEATURE_NAMES[::-1], FEATURE_SIGMAS[::-1].tolist(), strict=True))
    return BayesianLinearRegression(
        sigmas, noise_sigma=KNOWN_NOISE, method="exact", draws=N_DRAWS, chains=1, random_state=seed
    )


def nuts_linear_per_feature(seed: int) -> BayesianLinearRegression:
    return BayesianLinearRegression(FEATURE_SIGMAS, noise_sigma=KNOWN_NOISE, random_state=seed, **SAMPLER)


def nuts_logistic_laplace(seed: int) -> BayesianLogisticRegression:
    return BayesianLogisticRegression(
        LOGISTIC_PRIOR_SIGMA, prior="laplace", fit_intercept=False, random_state=seed, **SAMPLER
    )


def exact_linear(seed: int) -> BayesianLinearRegression:
    return BayesianLinearRegression(
        PRIOR_SIGMA, noise_sigma=KNOWN_NOISE, method="exact", draws=N_DRAWS, chains=1, random_state=seed
    )


def nuts_linear_known(seed: int) -> BayesianLinearRegression:
    return BayesianLinearRegression(PRIOR_SIGMA, noise_sigma=KNOWN_NOISE, random_state=seed, **SAMPLER)


def nuts_linear_unknown(seed: int) -> BayesianLinearRegression:
    return BayesianLinearRegression(
        PRIOR_SIGMA, noise_prior_sigma=NOISE_PRIOR_SIGMA, random_state=seed, **SAMPLER
    )


def nuts_linear_hierarchical(seed: int) -> BayesianLinearRegression:
    # A funnel when the data favour σ near 0: a higher target_accept keeps NUTS out of divergences.
    return BayesianLinearRegression(
        noise_sigma=KNOWN_NOISE,
        prior_sigma_prior=SIGMA_PRIOR,
        random_state=seed,
        sample_kwargs={"target_accept": 0.95},
        **SAMPLER,
    )


def nuts_logistic(seed: int) -> BayesianLogisticRegression:
    return BayesianLogisticRegression(LOGISTIC_PRIOR_SIGMA, fit_intercept=False, random_state=seed, **SAMPLER)


# Sizes of the slow test and of the docs figure: (number of simulations, number of bins), one seed.
SLOW = {"exact": (2000, 20), "known": (250, 10), "unknown": (250, 10), "logistic": (250, 10)}
SLOW_SEED = 22


@dataclass(frozen=True)
class SBCCase:
    label: str
    make_estimator: Callable[[int], Any]
    simulate: Callable[[np.random.Generator], Any]


CASES = {
    "exact": SBCCase("linear, known noise (exact draws)", exact_linear, simulate_linear_known),
    "known": SBCCase("linear, known noise (NUTS)", nuts_linear_known, simulate_linear_known),
    "unknown": SBCCase("linear, unknown noise (NUTS)", nuts_linear_unknown, simulate_linear_unknown),
    "logistic": SBCCase("logistic, no intercept (NUTS)", nuts_logistic, simulate_logistic),
    "hierarchical": SBCCase(
        "linear, learned prior sd (NUTS)", nuts_linear_hierarchical, simulate_linear_hierarchical
    ),
    "laplace": SBCCase(
        "linear, Laplace prior, known noise (NUTS)", nuts_linear_laplace, simulate_linear_laplace
    ),
    "per_feature_exact": SBCCase(
        "linear, prior sd per feature (exact draws)", exact_linear_per_feature, simulate_linear_per_feature
    ),
    "per_feature": SBCCase(
        "linear, prior sd per feature (NUTS)", nuts_linear_per_feature, simulate_linear_per_feature
    ),
    "logistic_laplace": SBCCase(
        "logistic, Laplace prior, no intercept (NUTS)", nuts_logistic_laplace, simulate_logistic_laplace
    ),
}


def main() -> None:  # pragma: no cover - draws the docs figure
    import time
    from pathlib import Path

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bayesreg.estimators.progress import ProgressBar
    from bayesreg.plotting import plot_rank_histograms
    from bayesreg.stats.calibration import simulation_based_calibration

    fig, axes = plt.subplots(2, 2, figsize=(10.0, 7.0))
    for ax, key in zip(axes.ravel(), SLOW, strict=True):  # the figure's four models
        case, (n_sims, n_bins) = CASES[key], SLOW[key]
        start = time.perf_counter()
        with ProgressBar(case.label) as bar:
            result = simulation_based_calibration(
                case.make_estimator, case.simulate, n_sims, rng=SLOW_SEED, callback=bar
            )
        test = result.uniformity(n_bins=n_bins)
        print(
            f"{case.label}: {n_sims} sims in {time.perf_counter() - start:.0f} s, "
            f"{int((~result.converged).sum())} not converged"
        )
        print(test[["statistic", "df", "p_value"]].to_string(float_format=lambda v: f"{v:.3f}"))
        plot_rank_histograms(result, n_bins=n_bins, ax=ax)
        ax.set_title(f"{case.label}\n{n_sims} sims, min p = {test['p_value'].min():.2f}", fontsize=9)
    fig.tight_layout()
    out = Path(__file__).resolve().parents[1] / "docs" / "figures" / "sbc_ranks.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

"""The models and tolerances the tests of the hand-written densities share.

Every builder's options with random, fixed-seed data: different prior sds per feature, a nonzero
prior centre, random whitenings. ``tests/test_fixed_density.py`` checks the densities against
PyMC's, ``tests/test_fixed_map_objective.py`` the MAP's objective against PyTensor's.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt

from bayesreg.backend.model import (
    Whitening,
    build_binomial_model,
    build_linear_model,
    build_logistic_model,
    build_multinomial_model,
    build_poisson_model,
)
from bayesreg.stats.conjugate import sufficient_stats
from bayesreg.stats.prior_terms import NOISE_PRIORS, CoefficientPrior, InterceptPrior, NoisePrior

NAMES = ["a", "b", "c"]
N_ROWS = 40
N_POINTS = 3
LOGP_RTOL = 1e-10
GRAD_RTOL = 1e-9
EXPAND_RTOL = 1e-12

# (fit_intercept, intercept prior): an intercept prior only exists with an intercept.
INTERCEPTS = [(False, False), (True, False), (True, True)]
INTERCEPT_IDS = ["no-intercept", "flat-intercept", "normal-intercept"]
NOISES = ["known", *NOISE_PRIORS]

# log 2 as PyMC's HalfCauchy and HalfStudentT logp compute it (in pytensor's dtype for pt.log(2):
# float32), minus the exact value. Zero if pytensor ever computes it in float64.
PYMC_LOG_2_EXCESS = float(np.log(np.asarray(2, dtype=pt.log(2).dtype))) - float(np.log(2.0))
PYMC_LOG_2_NOISES = ("halfcauchy", "halfstudentt")


def feature_names(n_features: int = 3) -> list[str]:
    return NAMES if n_features == 3 else [f"x{j}" for j in range(n_features)]


def coefficient_prior(kind: str, n_features: int = 3) -> CoefficientPrior:
    """Different sds per feature and a nonzero centre (the elastic net half L1)."""
    sigma, mean = np.resize([0.7, 1.3, 2.1], n_features), np.resize([0.2, -0.4, 0.1], n_features)
    return CoefficientPrior(kind, sigma=sigma, mean=mean, l1_ratio=0.3)


def whitening(rng: np.random.Generator, size: int) -> Whitening:
    """A random lower-triangular factor with a positive diagonal, and a random location."""
    scale_tril = np.tril(0.4 * rng.normal(size=(size, size)), k=-1) + np.diag(rng.uniform(0.3, 1.5, size))
    return Whitening(loc=rng.normal(size=size), scale_tril=scale_tril)


def linear_model(kind, fit_intercept, with_intercept_prior, noise, *, seed=0, whiten=True, **kwargs):
    rng = np.random.default_rng(seed)
    X = rng.normal(loc=0.5, size=(N_ROWS, 3))
    y = 1.5 + X @ np.array([1.0, -0.5, 0.25]) + rng.normal(scale=0.8, size=N_ROWS)
    return build_linear_model(
        sufficient_stats(X, y, fit_intercept=fit_intercept),
        feature_names=NAMES,
        prior=coefficient_prior(kind),
        noise_sigma=0.9 if noise == "known" else None,
        noise_prior=NoisePrior("halfnormal" if noise == "known" else noise, scale=1.7, nu=4.0),
        intercept_prior=InterceptPrior(mean=0.8, sigma=1.9) if with_intercept_prior else None,
        whitening=whitening(rng, 3 + fit_intercept) if whiten else None,
        **kwargs,
    )


def row_options(
    rng, kind, fit_intercept, with_intercept_prior, weighted, whiten, n_rows, n_features=3
) -> dict:
    """The keywords every row builder takes; the whitening is drawn before the weights."""
    return {
        "feature_names": feature_names(n_features),
        "prior": coefficient_prior(kind, n_features),
        "fit_intercept": fit_intercept,
        "intercept_prior": InterceptPrior(mean=-0.3, sigma=1.2) if with_intercept_prior else None,
        "whitening": whitening(rng, n_features + fit_intercept) if whiten else None,
        "sample_weight": rng.uniform(0.2, 3.0, size=n_rows) if weighted else None,
    }


def logistic_model(
    kind, fit_intercept, with_intercept_prior, weighted, *, seed=0, whiten=True, n_rows=N_ROWS, n_features=3
):
    rng = np.random.default_rng(seed)
    X = rng.normal(loc=0.3, size=(n_rows, n_features))
    eta = 0.5 + X @ np.resize([1.0, -1.0, 0.5], n_features)
    y = (rng.uniform(size=n_rows) < 1.0 / (1.0 + np.exp(-eta))).astype(int)
    return build_logistic_model(
        X,
        y,
        **row_options(rng, kind, fit_intercept, with_intercept_prior, weighted, whiten, n_rows, n_features),
    )


def poisson_model(
    kind,
    fit_intercept,
    with_intercept_prior,
    weighted,
    exposure,
    *,
    seed=0,
    whiten=True,
    n_rows=N_ROWS,
    n_features=3,
):
    rng = np.random.default_rng(seed)
    X = rng.normal(loc=0.3, size=(n_rows, n_features))
    log_exposure = rng.normal(scale=0.5, size=n_rows)
    mean = np.exp(0.5 + X @ np.resize([0.4, -0.3, 0.2], n_features) + (log_exposure if exposure else 0.0))
    return build_poisson_model(
        X,
        rng.poisson(mean),
        **row_options(rng, kind, fit_intercept, with_intercept_prior, weighted, whiten, n_rows, n_features),
        log_exposure=log_exposure if exposure else None,
    )


def binomial_model(
    kind, fit_intercept, with_intercept_prior, weighted, *, seed=0, whiten=True, n_rows=N_ROWS, n_features=3
):
    rng = np.random.default_rng(seed)
    X = rng.normal(loc=0.3, size=(n_rows, n_features))
    trials = rng.integers(0, 12, size=n_rows)  # a row of no trials adds nothing
    p = 1.0 / (1.0 + np.exp(-(0.5 + X @ np.resize([1.0, -1.0, 0.5], n_features))))
    return build_binomial_model(
        X,
        rng.binomial(trials, p),
        trials,
        **row_options(rng, kind, fit_intercept, with_intercept_prior, weighted, whiten, n_rows, n_features),
    )


def multinomial_model(classes, fit_intercept, weighted, *, seed=0, whiten=True, n_rows=300):
    """K classes of softmax(b + W x) labels; the prior (normal, one sd per feature) is the only kind."""
    rng = np.random.default_rng(seed)
    X = rng.normal(loc=0.3, size=(n_rows, 3))
    W = rng.normal(size=(classes, 3))
    logits = X @ W.T + rng.normal(size=classes)
    probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    codes = np.array([rng.choice(classes, p=row) for row in probabilities])
    size = classes * 3 + (classes - 1) * fit_intercept
    return build_multinomial_model(
        X,
        codes,
        class_names=[f"k{k}" for k in range(classes)],
        feature_names=NAMES,
        prior=coefficient_prior("normal"),
        fit_intercept=fit_intercept,
        whitening=whitening(rng, size) if whiten else None,
        sample_weight=rng.uniform(0.2, 3.0, size=n_rows) if weighted else None,
    )

"""Every number a builder puts in a model is a Data container.

The compiled MAP objective and nutpie model are cached per model structure and reused with new data
(``inference._cached``, ``with_data``). That is only right if nothing data- or parameter-dependent
was baked into the graph as a constant. Here a model compiled for one set of numbers, given the data
of another, must give that other model's log density exactly: a builder that hard-codes a number
fails this test.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytest

from bayesreg.backend.model import Whitening, build_linear_model, build_logistic_model
from bayesreg.stats.prior_terms import CoefficientPrior, InterceptPrior, NoisePrior
from bayesreg.stats.suffstats import sufficient_stats

NAMES = ["a", "b", "c"]


def linear_data(seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(loc=seed, size=(40 + seed, 3))
    return X, X @ rng.normal(size=3) + rng.normal(size=40 + seed) + seed


def whitening(seed, size):
    rng = np.random.default_rng(100 + seed)
    m = rng.normal(size=(size, size))
    return Whitening(loc=rng.normal(size=size), scale_tril=np.tril(m) + size * np.eye(size))


def prior(seed, kind="normal"):
    """Per-feature sds and means that change with the seed (elastic net: l1_ratio fixed)."""
    sigma = 0.5 + seed + np.array([0.0, 0.3, 0.7])
    return CoefficientPrior(kind, sigma=sigma, mean=np.array([0.1, -0.2, 0.3]) * (seed + 1), l1_ratio=0.4)


def intercept_prior(seed, with_prior):
    return InterceptPrior(mean=1.0 + seed, sigma=2.0 + seed) if with_prior else None


def linear(seed, *, fit_intercept, noise_known, hierarchical, whiten, kind="normal", noise="halfnormal"):
    X, y = linear_data(seed)
    stats = sufficient_stats(X, y, fit_intercept=fit_intercept)
    size = 3 + fit_intercept
    return build_linear_model(
        stats,
        feature_names=NAMES,
        prior=prior(seed, kind),
        noise_sigma=1.0 + seed if noise_known else None,
        noise_prior=NoisePrior(noise, scale=2.0 + seed, nu=3.0 + seed),
        intercept_prior=intercept_prior(seed, fit_intercept and not hierarchical),
        whitening=whitening(seed, size) if whiten else None,
        prior_sigma_prior=3.0 + seed if hierarchical else None,
        initial_prior_sigma=0.5 + seed if hierarchical else None,
    )


def logistic(seed, *, fit_intercept, whiten, kind="normal"):
    rng = np.random.default_rng(seed)
    X = rng.normal(loc=seed, size=(50 + seed, 3))
    y = (rng.uniform(size=50 + seed) < 0.4).astype(int)
    return build_logistic_model(
        X,
        y,
        feature_names=NAMES,
        prior=prior(seed, kind),
        fit_intercept=fit_intercept,
        intercept_prior=intercept_prior(seed, fit_intercept),
        whitening=whitening(seed, 3 + fit_intercept) if whiten else None,
    )


def assert_data_carries_every_number(build):
    first, second = build(0), build(1)
    logp_first = first.compile_logp()  # compiled before its data change, as the caches do
    point = second.initial_point()
    rng = np.random.default_rng(7)
    point = {name: value + 0.1 * rng.normal(size=np.shape(value)) for name, value in point.items()}
    with first:
        pm.set_data({d.name: d.get_value() for d in second.data_vars})
    assert logp_first(point) == pytest.approx(second.compile_logp()(point), rel=1e-12)


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("noise_known", [True, False])
@pytest.mark.parametrize("whiten", [True, False])
def test_linear_model_numbers_are_all_data(fit_intercept, noise_known, whiten):
    assert_data_carries_every_number(
        lambda seed: linear(
            seed, fit_intercept=fit_intercept, noise_known=noise_known, hierarchical=False, whiten=whiten
        )
    )


@pytest.mark.parametrize("whiten", [True, False])
def test_hierarchical_linear_model_numbers_are_all_data(whiten):
    assert_data_carries_every_number(
        lambda seed: linear(seed, fit_intercept=True, noise_known=False, hierarchical=True, whiten=whiten)
    )


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("whiten", [True, False])
def test_logistic_model_numbers_are_all_data(fit_intercept, whiten):
    assert_data_carries_every_number(lambda seed: logistic(seed, fit_intercept=fit_intercept, whiten=whiten))


@pytest.mark.parametrize("kind", ["laplace", "elasticnet", "flat"])
@pytest.mark.parametrize("whiten", [True, False])
def test_every_coefficient_prior_keeps_its_numbers_in_data(kind, whiten):
    assert_data_carries_every_number(
        lambda seed: linear(
            seed, fit_intercept=True, noise_known=True, hierarchical=False, whiten=whiten, kind=kind
        )
    )
    assert_data_carries_every_number(
        lambda seed: logistic(seed, fit_intercept=True, whiten=whiten, kind=kind)
    )


@pytest.mark.parametrize("noise", ["halfcauchy", "halfstudentt", "exponential", "flat"])
def test_every_noise_prior_keeps_its_numbers_in_data(noise):
    assert_data_carries_every_number(
        lambda seed: linear(
            seed, fit_intercept=True, noise_known=False, hierarchical=False, whiten=False, noise=noise
        )
    )


def test_the_check_catches_a_hard_coded_number():
    # A model that bakes its prior sd into the graph: the check above must notice.
    def baked(seed):
        with pm.Model() as model:
            pm.Data("unused", np.zeros(1) + seed)
            pm.Normal("w", 0.0, 1.0 + seed)
        return model

    with pytest.raises(AssertionError):
        assert_data_carries_every_number(baked)

"""The MAP's objective on the C densities equals PyTensor's derivatives of the PyMC model.

For every unwhitened model a builder marks (the MAP's), :class:`bayesreg.backend.inference.FixedObjective`
gives the log density without the Jacobian, its gradient, its Hessian and the reported outputs;
the reference is the objective find_map compiles when no C density covers a model (about 2 s to
build for each case, so the grid is kept to what differs: see ``TWO_PRIORS``).
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytest

from bayesreg.backend.fixed_density import map_density, structure_of
from bayesreg.backend.inference import FixedObjective, _CompiledObjective
from bayesreg.stats.prior_terms import COEFFICIENT_PRIORS
from tests.fixed_models import (
    EXPAND_RTOL,
    GRAD_RTOL,
    INTERCEPT_IDS,
    INTERCEPTS,
    LOGP_RTOL,
    N_POINTS,
    NOISES,
    PYMC_LOG_2_EXCESS,
    PYMC_LOG_2_NOISES,
    binomial_model,
    linear_model,
    logistic_model,
    multinomial_model,
    poisson_model,
)

HESS_RTOL = 1e-9
# The prior's terms are the same C for every family (prior, prior_hessian), and so is leaving out
# the L1 term (map_density zeroes its weights): all four kinds, and the L1 left out as
# find_map_l1 does, run on the Bernoulli; the other families take flat (the likelihood's
# curvature alone) and the elastic net (an L1 and an L2 part).
TWO_PRIORS = ("flat", "elasticnet")


def check_map_objective(model: pm.Model, exclude_terms: tuple[str, ...] = (), seed: int = 0) -> None:
    """The C objective's log density (no Jacobian), gradient, Hessian and outputs equal PyTensor's.

    The reference is the objective find_map compiles when no C one covers a model: PyTensor's
    derivatives of ``model.logp(jacobian=False)`` (its Hessian by automatic differentiation too).
    """
    structure = structure_of(model)
    outputs = ["coef"] + (["intercept"] if structure.fit_intercept else [])
    if structure.family == "gaussian" and structure.noise != "known":
        outputs.append("noise_sigma")
    density = map_density(model, outputs, exclude_terms)
    assert density is not None
    fixed = FixedObjective(model, density, outputs)
    reference = _CompiledObjective(model, outputs, exclude_terms).bind(model)
    excess = PYMC_LOG_2_EXCESS if structure.noise in PYMC_LOG_2_NOISES else 0.0
    assert fixed.slices() == reference.slices()
    rng = np.random.default_rng(2000 + seed)
    for _ in range(N_POINTS):
        x = rng.normal(size=sum(s.stop - s.start for s in reference.slices().values()))
        logp, grad, hess = fixed(x)
        expected_logp, expected_grad, expected_hess = reference(x)
        np.testing.assert_allclose(logp, expected_logp - excess, rtol=LOGP_RTOL)
        np.testing.assert_allclose(
            grad, expected_grad, rtol=0, atol=GRAD_RTOL * np.max(np.abs(expected_grad))
        )
        np.testing.assert_allclose(
            hess, expected_hess, rtol=0, atol=HESS_RTOL * np.max(np.abs(expected_hess))
        )
        for value, expected in zip(fixed.report(x), reference.report(x), strict=True):
            assert np.shape(value) == np.shape(expected)
            np.testing.assert_allclose(value, expected, rtol=EXPAND_RTOL)


@pytest.mark.parametrize("noise", NOISES)
@pytest.mark.parametrize(("fit_intercept", "with_intercept_prior"), INTERCEPTS, ids=INTERCEPT_IDS)
@pytest.mark.parametrize("kind", TWO_PRIORS)
def test_gaussian_map_objective_equals_pytensors(kind, fit_intercept, with_intercept_prior, noise):
    check_map_objective(linear_model(kind, fit_intercept, with_intercept_prior, noise, whiten=False))


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize(("fit_intercept", "with_intercept_prior"), INTERCEPTS, ids=INTERCEPT_IDS)
@pytest.mark.parametrize("kind", COEFFICIENT_PRIORS)
def test_bernoulli_map_objective_equals_pytensors(kind, fit_intercept, with_intercept_prior, weighted):
    # 600 rows: more than one block of the C loops, and a last partial one.
    model = logistic_model(kind, fit_intercept, with_intercept_prior, weighted, whiten=False, n_rows=600)
    check_map_objective(model)
    if kind in ("laplace", "elasticnet"):
        check_map_objective(model, exclude_terms=("coef_prior_l1",))


@pytest.mark.parametrize("n_features", [4, 9])
def test_row_map_objectives_with_more_columns_than_one_pass_equal_pytensors(n_features):
    """The Hessian's column pairs and the gradient's four-column passes, past 3 features."""
    options = {"whiten": False, "n_rows": 600, "n_features": n_features}
    check_map_objective(logistic_model("normal", True, True, True, **options))
    check_map_objective(binomial_model("normal", False, False, False, **options))
    check_map_objective(poisson_model("normal", True, False, True, True, **options))


def test_the_map_objective_is_only_for_the_models_it_covers():
    whitened = linear_model("normal", True, False, "halfnormal")
    hierarchical = linear_model(
        "normal", True, False, "halfnormal", whiten=False, prior_sigma_prior=2.0, initial_prior_sigma=1.0
    )
    unwhitened = logistic_model("laplace", True, False, False, whiten=False)
    assert map_density(whitened, ["coef"]) is None
    assert map_density(hierarchical, ["coef"]) is None
    assert map_density(unwhitened, ["coef", "y"]) is None  # an output it does not compute
    assert map_density(unwhitened, ["coef"], exclude_terms=("coef_prior_smooth",)) is None
    assert map_density(unwhitened, ["coef", "intercept"], exclude_terms=("coef_prior_l1",)) is not None


@pytest.mark.parametrize("exposure", [False, True], ids=["no-exposure", "exposure"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize(("fit_intercept", "with_intercept_prior"), INTERCEPTS, ids=INTERCEPT_IDS)
@pytest.mark.parametrize("kind", TWO_PRIORS)
def test_poisson_map_objective_equals_pytensors(
    kind, fit_intercept, with_intercept_prior, weighted, exposure
):
    model = poisson_model(
        kind, fit_intercept, with_intercept_prior, weighted, exposure, whiten=False, n_rows=300
    )
    check_map_objective(model)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize(("fit_intercept", "with_intercept_prior"), INTERCEPTS, ids=INTERCEPT_IDS)
@pytest.mark.parametrize("kind", TWO_PRIORS)
def test_binomial_map_objective_equals_pytensors(kind, fit_intercept, with_intercept_prior, weighted):
    model = binomial_model(kind, fit_intercept, with_intercept_prior, weighted, whiten=False, n_rows=300)
    check_map_objective(model)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("fit_intercept", [False, True], ids=["no-intercept", "intercept"])
@pytest.mark.parametrize("classes", [2, 4])
def test_multinomial_map_objective_equals_pytensors(classes, fit_intercept, weighted):
    check_map_objective(multinomial_model(classes, fit_intercept, weighted, whiten=False))

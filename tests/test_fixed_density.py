"""The hand-written densities of :mod:`bayesreg.backend.fixed_density` equal PyMC's, on every option.

A whitened Gaussian, Bernoulli, binomial or Poisson model is sampled on hand-written C functions
instead of callbacks derived from its PyMC graph; the PyMC model stays the definition. So here, for
every combination of options the builders mark (coefficient prior, intercept and its prior, known or
free noise sd under each of its priors, row weights, exposure), the hand-written log density, its
gradient and the stored variables are checked against PyMC's own at random points:

- the log density with the Jacobian of the transforms (``compile_logp(jacobian=True)``) to 1e-10
  relative, and its gradient (``compile_dlogp``, in the order of the model's value variables, which
  is the order of the flat vector) to 1e-9 of its largest entry;
- the expanded vector (every variable nutpie stores, in nutpie's order of names) to 1e-12 relative,
  each deterministic computed by PyMC from the value variables.

PyMC's graphs run as written, unrewritten, on the Python linker (``Mode(linker="py",
optimizer=None)``: no C, no numba, and half the time of ``FAST_COMPILE``, whose rewrites change
nothing here); the reference needs to be right, not fast.

The sampler's densities give the L1 term of a Laplace or elastic-net prior the gradient of its
smooth surrogate ``-Σ l1 √((β - μ)² + δ²)`` (``fixed_density.L1_SMOOTHING``; their log density stays
exact): the reference gradient is PyMC's plus PyTensor's gradient of (surrogate − L1 term), both
written on the model's own ``coef_prior_l1`` Potential and Data containers, and the exact gradient
(``smooth_l1=False``, the MAP's) is checked against PyMC's unchanged.

One known difference is taken out of the reference rather than hidden in a tolerance: PyMC writes
the ``log 2`` of the half-Cauchy and half-Student-t densities as ``pt.log(2)``, which pytensor
computes in float32 (an int8 constant), 1.9e-9 above ``log 2``. The hand-written densities use the
exact constant, so PyMC's log density is lowered by that excess for those two noise priors.

Also: models the densities cannot stand in for carry no mark, :func:`pack` refuses names that do not
match the structure and follows the order of those that do, and a logistic or binomial point far in
the tail (``|η| ~ 800``, where ``exp(η)`` overflows) still gives PyMC's finite log density and
gradient (there against PyMC's rewritten graph: unrewritten, ``log(1 + exp(η))`` overflows to -inf).
The MAP's objective on the same C functions is checked in ``tests/test_fixed_map_objective.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import pytest
from pytensor.compile.mode import Mode

from bayesreg.backend import nutpie_layout, nutpie_model
from bayesreg.backend.fixed_density import (
    L1_SMOOTHING,
    CallableDensity,
    pack,
    python_density,
    structure_of,
)
from bayesreg.backend.model import FEATURE_DIM, build_linear_model
from bayesreg.backend.sparse_map import L1_TERM
from bayesreg.stats.conjugate import sufficient_stats
from bayesreg.stats.prior_terms import COEFFICIENT_PRIORS, InterceptPrior, NoisePrior
from tests.fixed_models import (
    EXPAND_RTOL,
    GRAD_RTOL,
    INTERCEPT_IDS,
    INTERCEPTS,
    LOGP_RTOL,
    N_POINTS,
    N_ROWS,
    NAMES,
    NOISES,
    PYMC_LOG_2_EXCESS,
    PYMC_LOG_2_NOISES,
    binomial_model,
    coefficient_prior,
    linear_model,
    logistic_model,
    multinomial_model,
    poisson_model,
    whitening,
)

REFERENCE_MODE = Mode(linker="py", optimizer=None)


class Reference:
    """PyMC's log density, gradient and stored variables of ``model``, beside the hand-written ones."""

    def __init__(self, model: pm.Model, mode: Any = REFERENCE_MODE, smooth_l1: bool = True):
        pieces = nutpie_layout.pieces(model, nutpie_model._point_fn(model)(0))
        self.names = pieces.names
        self.free_names, self.free_shapes = pieces.free_names, [tuple(s) for s in pieces.free_shapes]
        self.n_dim = pieces.n_dim
        # The flat vector is the free value variables in order; PyMC's gradient is in the order of
        # the (continuous) value variables. The two must be the same list for the orders to agree.
        assert [v.name for v in model.continuous_value_vars] == self.free_names
        structure = structure_of(model)
        values = {d.name: d.get_value() for d in model.data_vars}
        self.logp, self.expand = python_density(structure, values, self.names, smooth_l1=smooth_l1)
        self.pymc_excess = PYMC_LOG_2_EXCESS if structure.noise in PYMC_LOG_2_NOISES else 0.0
        self.pymc_logp = model.compile_logp(jacobian=True, mode=mode)
        self.pymc_dlogp = model.compile_dlogp(jacobian=True, mode=mode)
        self.surrogate_shift = None
        if smooth_l1 and L1_TERM in model.named_vars:
            self.surrogate_shift = _surrogate_gradient_shift(model, mode)
        # Every other stored variable (noise_sigma, coef, intercept_centered, intercept) as PyMC
        # computes it from the value variables.
        self.stored = [name for name in self.names if name not in self.free_names]
        graphs = model.replace_rvs_by_values([model[name] for name in self.stored])
        self.pymc_stored = model.compile_fn(
            graphs, inputs=model.value_vars, mode=mode, on_unused_input="ignore"
        )

    def point(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """The flat vector ``x`` as PyMC's dict of value variables."""
        out, start = {}, 0
        for name, shape in zip(self.free_names, self.free_shapes, strict=True):
            size = int(np.prod(shape))
            out[name] = x[start : start + size].reshape(shape)
            start += size
        assert start == x.size
        return out

    def expected_expansion(self, x: np.ndarray) -> np.ndarray:
        point = self.point(x)
        computed = dict(zip(self.stored, self.pymc_stored(point), strict=True))
        return np.concatenate([np.ravel(point[n] if n in point else computed[n]) for n in self.names])

    def differences(self, x: np.ndarray) -> dict[str, float]:
        """The relative differences at ``x`` between the hand-written and PyMC's numbers.

        The log density's is relative to ``max(|logp|, 1)`` (a log density near 0 is a difference of
        terms of order 1), the gradient's to its largest entry, the stored variables' entrywise.
        """
        value, grad = self.logp(x)
        expected = float(self.pymc_logp(self.point(x))) - self.pymc_excess
        expected_grad = np.asarray(self.pymc_dlogp(self.point(x)), dtype=float)
        if self.surrogate_shift is not None:
            expected_grad = expected_grad + np.asarray(self.surrogate_shift(self.point(x)), dtype=float)
        expanded, expected_expanded = self.expand(x), self.expected_expansion(x)
        assert np.isfinite(value) and np.all(np.isfinite(grad))
        assert grad.shape == expected_grad.shape == (self.n_dim,)
        assert expanded.shape == expected_expanded.shape
        return {
            "logp": abs(value - expected) / max(abs(expected), 1.0),
            "grad": float(np.max(np.abs(grad - expected_grad)) / np.max(np.abs(expected_grad))),
            "expand": float(np.max(np.abs(expanded - expected_expanded) / np.abs(expected_expanded))),
        }

    def check(self, x: np.ndarray) -> dict[str, float]:
        """Assert the hand-written numbers equal PyMC's at ``x`` (and return the differences)."""
        diffs = self.differences(x)
        context = f"at x = {x.tolist()}: {diffs}"
        assert diffs["logp"] <= LOGP_RTOL, f"log density differs from PyMC's {context}"
        assert diffs["grad"] <= GRAD_RTOL, f"gradient differs from PyMC's {context}"
        assert diffs["expand"] <= EXPAND_RTOL, f"stored variables differ from PyMC's {context}"
        return diffs


def _surrogate_gradient_shift(model: pm.Model, mode: Any):
    """The gradient of (the L1 term's surrogate − the L1 term) in the value variables, compiled.

    Written from the model's own pieces: its ``coef``, ``prior_mean`` and ``prior_l1_weight`` and
    its ``coef_prior_l1`` Potential (``-Σ l1 |coef - mean|``).
    """
    coef, mean, l1 = model["coef"], model["prior_mean"], model["prior_l1_weight"]
    delta = L1_SMOOTHING / (l1 * np.sqrt(len(model.coords[FEATURE_DIM])))
    surrogate = -pt.sum(l1 * pt.sqrt((coef - mean) ** 2 + delta**2))
    [shift] = model.replace_rvs_by_values([surrogate - model[L1_TERM]])
    grads = pt.grad(shift, model.continuous_value_vars, disconnected_inputs="ignore")
    return model.compile_fn(
        pt.concatenate([pt.flatten(g) for g in grads]),
        inputs=model.value_vars,
        mode=mode,
        on_unused_input="ignore",
    )


def check_random_points(model: pm.Model, seed: int = 0, smooth_l1: bool = True) -> list[dict[str, float]]:
    reference = Reference(model, smooth_l1=smooth_l1)
    rng = np.random.default_rng(1000 + seed)
    return [reference.check(rng.normal(size=reference.n_dim)) for _ in range(N_POINTS)]


@pytest.mark.parametrize("noise", NOISES)
@pytest.mark.parametrize(("fit_intercept", "with_intercept_prior"), INTERCEPTS, ids=INTERCEPT_IDS)
@pytest.mark.parametrize("kind", COEFFICIENT_PRIORS)
def test_gaussian_density_equals_pymc(kind, fit_intercept, with_intercept_prior, noise):
    model = linear_model(kind, fit_intercept, with_intercept_prior, noise)
    structure = structure_of(model)
    assert structure is not None
    assert (structure.family, structure.noise) == ("gaussian", noise)
    assert structure.intercept_prior == with_intercept_prior
    check_random_points(model)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize(("fit_intercept", "with_intercept_prior"), INTERCEPTS, ids=INTERCEPT_IDS)
@pytest.mark.parametrize("kind", COEFFICIENT_PRIORS)
def test_bernoulli_density_equals_pymc(kind, fit_intercept, with_intercept_prior, weighted):
    model = logistic_model(kind, fit_intercept, with_intercept_prior, weighted)
    structure = structure_of(model)
    assert structure is not None
    assert (structure.family, structure.weighted) == ("bernoulli", weighted)
    check_random_points(model)


@pytest.mark.parametrize("exposure", [False, True], ids=["no-exposure", "exposure"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize(("fit_intercept", "with_intercept_prior"), INTERCEPTS, ids=INTERCEPT_IDS)
@pytest.mark.parametrize("kind", COEFFICIENT_PRIORS)
def test_poisson_density_equals_pymc(kind, fit_intercept, with_intercept_prior, weighted, exposure):
    model = poisson_model(kind, fit_intercept, with_intercept_prior, weighted, exposure, n_rows=300)
    structure = structure_of(model)
    assert structure is not None
    assert (structure.family, structure.weighted, structure.offset) == ("poisson", weighted, exposure)
    check_random_points(model)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize(("fit_intercept", "with_intercept_prior"), INTERCEPTS, ids=INTERCEPT_IDS)
@pytest.mark.parametrize("kind", COEFFICIENT_PRIORS)
def test_binomial_density_equals_pymc(kind, fit_intercept, with_intercept_prior, weighted):
    # 300 rows: more than one block of the C loop, and a last partial one.
    model = binomial_model(kind, fit_intercept, with_intercept_prior, weighted, n_rows=300)
    structure = structure_of(model)
    assert structure is not None
    assert (structure.family, structure.weighted) == ("binomial", weighted)
    check_random_points(model)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("fit_intercept", [False, True], ids=["no-intercept", "intercept"])
@pytest.mark.parametrize("classes", [2, 4])
def test_multinomial_density_equals_pymc(classes, fit_intercept, weighted):
    model = multinomial_model(classes, fit_intercept, weighted)
    structure = structure_of(model)
    assert structure is not None
    assert (structure.family, structure.weighted) == ("multinomial", weighted)
    check_random_points(model)


@pytest.mark.parametrize("noise", NOISES)
@pytest.mark.parametrize("fit_intercept", [False, True], ids=["no-intercept", "flat-intercept"])
def test_hierarchical_density_equals_pymc(fit_intercept, noise):
    """A free prior sd under HalfNormal(prior_sigma_prior): x is (log tau, z, [log sigma])."""
    model = linear_model(
        "normal", fit_intercept, False, noise, prior_sigma_prior=2.0, initial_prior_sigma=1.0
    )
    structure = structure_of(model)
    assert structure is not None and structure.free_prior_sigma
    check_random_points(model)


def test_weighted_sufficient_statistics_equal_pymc():
    # Row weights make n a float (their sum) and weight the means and the R factor.
    rng = np.random.default_rng(3)
    X = rng.normal(size=(N_ROWS, 3))
    y = X @ np.array([0.5, 1.0, -1.0]) + rng.normal(size=N_ROWS)
    stats = sufficient_stats(X, y, fit_intercept=True, sample_weight=rng.uniform(0.1, 2.5, size=N_ROWS))
    model = build_linear_model(
        stats,
        feature_names=NAMES,
        prior=coefficient_prior("elasticnet"),
        noise_sigma=None,
        noise_prior=NoisePrior("halfstudentt", scale=1.1, nu=4.0),
        intercept_prior=InterceptPrior(mean=0.2, sigma=0.9),
        whitening=whitening(rng, 4),
    )
    check_random_points(model)


@pytest.mark.parametrize("family", ["gaussian", "bernoulli"])
def test_an_intercept_prior_without_an_intercept_is_ignored(family):
    if family == "gaussian":
        model = linear_model("laplace", False, True, "exponential")
    else:
        model = logistic_model("laplace", False, True, True)
    assert not structure_of(model).intercept_prior
    check_random_points(model)


def test_models_the_densities_do_not_cover_carry_no_mark():
    # Unwhitened models are marked for the MAP's objective only: nutpie samples them on callbacks
    # derived from the graph (their free variables are coef and intercept_centered, not z).
    assert not structure_of(linear_model("normal", True, True, "halfnormal", whiten=False)).whitened
    assert not structure_of(logistic_model("normal", True, True, False, whiten=False)).whitened
    # A free prior sd is written for the sampled (whitened) model with a normal prior and a flat
    # intercept, what the estimator allows; the builder takes more, which stays unmarked.
    hierarchical = {"prior_sigma_prior": 2.0, "initial_prior_sigma": 1.0}
    assert (
        structure_of(linear_model("normal", True, False, "halfnormal", whiten=False, **hierarchical)) is None
    )
    assert structure_of(linear_model("normal", True, True, "halfnormal", **hierarchical)) is None
    assert structure_of(linear_model("laplace", True, False, "halfnormal", **hierarchical)) is None


@pytest.mark.parametrize("kind", ["laplace", "elasticnet"])
@pytest.mark.parametrize("family", ["gaussian", "bernoulli"])
def test_the_l1_surrogate_changes_only_the_samplers_gradient(family, kind):
    """Without ``smooth_l1`` the gradient is PyMC's own; with it only the gradient moves, and visibly."""
    if family == "gaussian":
        model = linear_model(kind, True, True, "halfnormal")
    else:
        model = logistic_model(kind, True, True, True)
    check_random_points(model, smooth_l1=False)  # the exact (sub)gradient, as the MAP takes it
    values = {d.name: d.get_value() for d in model.data_vars}
    names = Reference(model).names
    exact_logp, _ = python_density(structure_of(model), values, names, smooth_l1=False)
    smooth_logp, _ = python_density(structure_of(model), values, names, smooth_l1=True)
    x = np.random.default_rng(7).normal(size=Reference(model).n_dim)
    (exact_value, exact_grad), (smooth_value, smooth_grad) = exact_logp(x), smooth_logp(x)
    assert smooth_value == exact_value
    # A thousand times GRAD_RTOL: a density that ignored the flag would fail the reference checks.
    assert np.max(np.abs(smooth_grad - exact_grad)) > 1e3 * GRAD_RTOL * np.max(np.abs(exact_grad))


def test_the_free_prior_sd_has_no_hessian():
    """The MAP is taken at a fixed prior sd: the C refuses a Hessian it does not write."""
    model = linear_model("normal", True, False, "known", prior_sigma_prior=2.0, initial_prior_sigma=1.0)
    values = {d.name: d.get_value() for d in model.data_vars}
    names = ["z", "prior_sigma_log__", "prior_sigma", "coef", "intercept_centered", "intercept"]
    density = CallableDensity(*pack(structure_of(model), values, names))
    with pytest.raises(ValueError, match="no Hessian with a free prior sd"):
        density.hessian(np.zeros(5))


def test_pack_follows_the_order_of_names_and_refuses_names_that_do_not_match():
    model = linear_model("normal", True, False, "halfcauchy")
    structure = structure_of(model)
    values = {d.name: d.get_value() for d in model.data_vars}
    names = ["z", "noise_sigma_log__", "noise_sigma", "coef", "intercept_centered", "intercept"]
    sizes = [4, 1, 1, 3, 1, 1]
    # The tests above see nutpie's order, which is the densities' own: here the permutation is not
    # the identity, and the expanded vector must come out in the order asked for.
    x = np.random.default_rng(5).normal(size=5)
    _, expand = python_density(structure, values, names)
    _, expand_reversed = python_density(structure, values, names[::-1])
    blocks = np.split(expand(x), np.cumsum(sizes)[:-1])
    np.testing.assert_array_equal(expand_reversed(x), np.concatenate(blocks[::-1]))
    buf, ints = pack(structure, values, names[::-1])
    assert buf.dtype == np.float64 and ints.dtype == np.int64
    for wrong in (names[:-1], [*names, "prior_sigma"], ["z", "coef", "intercept_centered", "intercept"]):
        with pytest.raises(ValueError, match="fixed density"):
            pack(structure, values, wrong)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("builder", [logistic_model, binomial_model], ids=["bernoulli", "binomial"])
def test_logit_far_in_the_tail_is_finite_and_equals_pymc(builder, weighted):
    model = builder("elasticnet", True, True, weighted)
    # FAST_COMPILE skips PyMC's stabilising rewrites (log(1 + exp(η)) to softplus): its naive graph
    # is -inf out here. The reference is PyMC's graph as it is sampled, rewritten, run by Python.
    reference = Reference(model, mode=Mode(linker="py", optimizer="fast_run"))
    loc, scale_tril = model["whitening_loc"].get_value(), model["whitening_scale_tril"].get_value()
    X_centered = model["X_centered"].get_value()
    # β = loc + L z with |η| = |b + X_c w| up to 800: exp(η) overflows, log(1 + exp(η)) must not.
    beta = np.array([1.0, -0.7, 0.4, 0.3])
    beta *= 800.0 / np.max(np.abs(beta[3] + X_centered @ beta[:3]))
    x = np.linalg.solve(scale_tril, beta - loc)
    value, grad = reference.logp(x)
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    assert value < -1000.0  # many rows far on the wrong side
    reference.check(x)


def test_the_vectorised_exp_and_log1p_are_within_two_ulp_of_numpys():
    """The row densities' own exp and log1p (0 <= e <= 1), over their whole range."""
    from bayesreg.backend.fixed_density import _exp, _log1p_unit

    rng = np.random.default_rng(0)
    log_max = np.log(np.finfo(float).max)
    x = np.concatenate(
        [
            -np.abs(rng.normal(scale=5.0, size=20_000)),
            -rng.uniform(0.0, 708.0, size=20_000),
            -(10.0 ** rng.uniform(-300.0, 0.0, size=5_000)),
            [0.0, -0.0, -1e-300, -0.5 * np.log(2.0), -708.0],
        ]
    )
    e = _exp(x)
    log1p_e = _log1p_unit(e)
    eps = np.finfo(float).eps
    assert np.max(np.abs(e - np.exp(x)) / np.exp(x)) < 2 * eps
    expected = np.log1p(e)
    nonzero = expected > 0
    assert np.max(np.abs(log1p_e - expected)[nonzero] / expected[nonzero]) < 2 * eps
    assert np.all(log1p_e[~nonzero] == 0.0)
    # Positive arguments (the Poisson mean), up to the largest finite exp, and beyond it inf.
    up = np.concatenate(
        [rng.uniform(0.0, log_max, 20_000), 10.0 ** rng.uniform(-300.0, 0.0, 5_000), [log_max]]
    )
    assert np.max(np.abs(_exp(up) - np.exp(up)) / np.exp(up)) < 2 * eps
    np.testing.assert_array_equal(_exp(np.array([np.nextafter(log_max, np.inf), 710.0, 1e6, np.inf])), np.inf)
    # Below -708 the exp stops at exp(-708) < 1e-307: an absolute error no sum can see.
    far = np.array([-709.0, -745.0, -1e6])
    e_far = _exp(far)
    assert np.all(e_far <= np.exp(-708.0) * (1.0 + 2 * eps)) and np.all(e_far > 0.0)


def test_the_bernoulli_density_is_the_same_in_blocks_of_rows():
    """More rows than one block (256), and a last partial block: the sums still equal PyMC's."""
    check_random_points(logistic_model("normal", True, False, True, n_rows=600))


# The C reads each block of X by columns, four at a time, then one at a time: 4 and 9 features
# take the four-column pass alone and with a remainder (the models above have 3, the remainder alone).
WIDE_ROW_MODELS = {
    "bernoulli": lambda n_features: logistic_model(
        "elasticnet", True, True, True, n_rows=600, n_features=n_features
    ),
    "binomial": lambda n_features: binomial_model(
        "normal", True, False, True, n_rows=600, n_features=n_features
    ),
    "poisson": lambda n_features: poisson_model(
        "laplace", True, True, False, True, n_rows=600, n_features=n_features
    ),
}


@pytest.mark.parametrize("n_features", [4, 9])
@pytest.mark.parametrize("family", sorted(WIDE_ROW_MODELS))
def test_row_densities_with_more_columns_than_one_pass_equal_pymc(family, n_features):
    model = WIDE_ROW_MODELS[family](n_features)
    assert structure_of(model).family == family
    check_random_points(model)


def test_an_extension_built_from_another_source_is_refused(monkeypatch):
    """A developer who edits _density.c and does not rebuild gets told so at import."""
    from bayesreg.backend import _density, fixed_density

    fixed_density._check_extension()  # this checkout's build
    monkeypatch.setattr(_density, "SOURCE_SHA256", "0" * 64, raising=False)
    with pytest.raises(ImportError, match="rebuild it with `pip install -e .`"):
        fixed_density._check_extension()

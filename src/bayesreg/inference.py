"""MAP and NUTS on a built PyMC model, with convergence checks of bayesreg's own.

``pymc.find_MAP`` stops at the optimizer's default tolerances (about 1e-6 relative) and does not
warn when it runs out of evaluations. :func:`find_map` instead runs a trust-region Newton method on
the exact gradient and Hessian (compiled once by PyTensor), polishes with full Newton steps, and then
*proves* convergence: at the final point the Hessian must be negative definite and the remaining
Newton step must be below ``rtol`` times each parameter's scale (its magnitude or its Laplace sd,
whichever is larger). Like ``find_MAP`` it maximises the log density without the Jacobian of the
transforms, so the mode is the mode of the parameters as written (e.g. ``noise_sigma``, not its
log).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
from pymc.pytensorf import join_nonshared_inputs
from scipy import linalg, optimize

from bayesreg.exceptions import OptimizerWarning

__all__ = ["MapResult", "find_map", "sample_posterior"]

MAP_RTOL = 1e-9
_RESERVED_SAMPLE_KWARGS = ("draws", "tune", "chains", "random_seed", "progressbar", "model")


@dataclass(frozen=True)
class MapResult:
    """The maximum a posteriori point and what the optimizer knows about it.

    Attributes
    ----------
    values : dict of str to ndarray
        Free variables and deterministics at the MAP, on their natural scale.
    location : ndarray
        The location parameters (coefficients, then the centred intercept if any) at the MAP.
    location_cov : ndarray
        Laplace covariance of ``location``: the inverse negative Hessian of the log density,
        marginalised over the other free variables.
    logp : float
        Log density (without transform Jacobians) at the MAP.
    converged : bool
        Whether the convergence check passed.
    max_relative_step : float
        The remaining Newton step, relative to each parameter's scale; ``converged`` means it is
        at most ``MAP_RTOL``.
    n_iterations : int
        Trust-region iterations plus Newton polishing steps.
    """

    values: dict[str, np.ndarray]
    location: np.ndarray
    location_cov: np.ndarray
    logp: float
    converged: bool
    max_relative_step: float
    n_iterations: int


class _Objective:
    """Log density, gradient and Hessian in one flat vector, evaluated once per point."""

    def __init__(self, model: pm.Model):
        self.point = model.initial_point()
        self.value_vars = model.value_vars
        [logp], joined = join_nonshared_inputs(self.point, [model.logp(jacobian=False)], self.value_vars)
        grad = pt.grad(logp, joined)
        hess = pytensor.gradient.jacobian(grad, joined, vectorize=True)
        self._fn = pytensor.function([joined], [logp, grad, hess])
        self._last_x: np.ndarray | None = None
        self._last: tuple = ()

    def __call__(self, x: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        if self._last_x is None or not np.array_equal(x, self._last_x):
            logp, grad, hess = self._fn(x)
            self._last_x, self._last = x.copy(), (float(logp), grad, hess)
        return self._last

    def flatten(self, point: Mapping[str, Any]) -> np.ndarray:
        return np.concatenate([np.ravel(point[v.name]) for v in self.value_vars]).astype(float)

    def unflatten(self, x: np.ndarray) -> dict[str, np.ndarray]:
        out, start = {}, 0
        for v in self.value_vars:
            shape = np.shape(self.point[v.name])
            size = int(np.prod(shape))
            out[v.name] = x[start : start + size].reshape(shape)
            start += size
        return out

    def slices(self) -> dict[str, slice]:
        out, start = {}, 0
        for v in self.value_vars:
            size = int(np.prod(np.shape(self.point[v.name])))
            out[v.name] = slice(start, start + size)
            start += size
        return out


def _newton_step(grad: np.ndarray, hess: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The Newton step toward the maximum and the inverse negative Hessian, or None if not a max."""
    try:
        factor = linalg.cho_factor(-hess)
    except linalg.LinAlgError:
        return None
    return linalg.cho_solve(factor, grad), linalg.cho_solve(factor, np.eye(grad.size))


def find_map(
    model: pm.Model,
    *,
    location_vars: Sequence[str],
    output_vars: Sequence[str],
    initvals: Mapping[str, Any] | None = None,
    rtol: float = MAP_RTOL,
    max_iter: int = 1000,
) -> MapResult:
    """Maximise the log posterior density of ``model`` to ``rtol`` and check that it got there.

    Parameters
    ----------
    model : pymc.Model
        The model; every free variable must be continuous.
    location_vars : sequence of str
        Names of the free variables whose joint Laplace covariance is returned (untransformed ones).
    output_vars : sequence of str
        Variables (free or deterministic) to report at the MAP.
    initvals : mapping, optional
        Starting values on the natural scale, for variables whose default start is poor.
    rtol : float
        Convergence threshold on the remaining Newton step, relative to each parameter's scale.
    max_iter : int
        Iteration limit of the trust-region optimizer.

    Returns
    -------
    MapResult
        Warns :class:`~bayesreg.exceptions.OptimizerWarning` when the check fails.
    """
    objective = _Objective(model)
    start = dict(objective.point)
    if initvals:
        for name, value in initvals.items():
            rv = model[name]
            value_var = model.rvs_to_values[rv]
            transform = model.rvs_to_transforms.get(rv)
            value = np.asarray(value, dtype=float)
            if transform is not None:
                value = transform.forward(pt.as_tensor(value)).eval()
            start[value_var.name] = value
    x = objective.flatten(start)

    result = optimize.minimize(
        lambda v: -objective(v)[0],
        x,
        jac=lambda v: -objective(v)[1],
        hess=lambda v: -objective(v)[2],
        method="trust-exact",
        options={"gtol": 1e-12, "maxiter": max_iter},
    )
    x, n_iter = result.x, int(result.nit)
    # Newton polish: quadratic convergence takes the last digits trust-exact may leave.
    for _ in range(20):
        logp, grad, hess = objective(x)
        newton = _newton_step(grad, hess)
        if newton is None:
            break
        step, _ = newton
        candidate = x + step
        if not objective(candidate)[0] >= logp - 1e-12 * abs(logp):
            break
        x, n_iter = candidate, n_iter + 1
        if np.max(np.abs(step)) <= np.finfo(float).eps * max(1.0, np.max(np.abs(x))):
            break

    logp, grad, hess = objective(x)
    newton = _newton_step(grad, hess)
    if newton is None:
        converged, rel_step, inv_neg_hess = False, np.inf, np.full(hess.shape, np.nan)
    else:
        step, inv_neg_hess = newton
        scale = np.maximum(np.abs(x), np.sqrt(np.diag(inv_neg_hess)))
        rel_step = float(np.max(np.abs(step) / scale))
        converged = bool(np.isfinite(logp) and rel_step <= rtol)
    if not converged:
        warnings.warn(
            f"The MAP optimizer did not converge (remaining relative Newton step {rel_step:.2e} "
            f"> {rtol:g} after {n_iter} iterations; {result.message}). The MAP, and any agreement "
            "with ridge, cannot be trusted: standardise X, check for perfectly collinear columns, "
            "or use a smaller prior_sigma.",
            OptimizerWarning,
            stacklevel=3,
        )

    slices = objective.slices()
    location_idx = np.concatenate(
        [np.arange(s.start, s.stop) for name, s in slices.items() if name in set(location_vars)]
    )
    point = objective.unflatten(x)
    outputs = model.replace_rvs_by_values([model[name] for name in output_vars])
    report_fn = pytensor.function(model.value_vars, outputs, on_unused_input="ignore")
    report = report_fn(*(point[v.name] for v in model.value_vars))
    return MapResult(
        values={name: np.asarray(v) for name, v in zip(output_vars, report, strict=True)},
        location=x[location_idx],
        location_cov=inv_neg_hess[np.ix_(location_idx, location_idx)],
        logp=logp,
        converged=converged,
        max_relative_step=rel_step,
        n_iterations=n_iter,
    )


def sample_posterior(
    model: pm.Model,
    *,
    draws: int,
    tune: int,
    chains: int,
    random_seed: int | np.random.Generator | None,
    progressbar: bool,
    sample_kwargs: Mapping[str, Any] | None = None,
):
    """Run NUTS (nutpie unless ``sample_kwargs`` says otherwise) and return the DataTree.

    ``sample_kwargs`` goes to :func:`pymc.sample`; the estimator's own parameters cannot be set
    through it, so that a grid search over them is never silently overridden.
    """
    kwargs = dict(sample_kwargs or {})
    clash = sorted(set(kwargs) & set(_RESERVED_SAMPLE_KWARGS))
    if clash:
        raise ValueError(f"sample_kwargs may not set {clash}: use the estimator's own parameters for those.")
    kwargs.setdefault("nuts_sampler", "nutpie")
    kwargs.setdefault("compute_convergence_checks", False)  # bayesreg.diagnostics does this
    if isinstance(random_seed, np.random.Generator):
        random_seed = int(random_seed.integers(2**31))
    with model:
        return pm.sample(
            draws=draws,
            tune=tune,
            chains=chains,
            random_seed=random_seed,
            progressbar=progressbar,
            **kwargs,
        )

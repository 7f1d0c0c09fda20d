"""MAP and NUTS on a built PyMC model, with convergence checks of bayesreg's own.

``pymc.find_MAP`` stops at the optimizer's default tolerances (about 1e-6 relative) and does not
warn when it runs out of evaluations. :func:`find_map` instead runs a trust-region Newton method on
the exact gradient and Hessian (the hand-written C density's for the models it covers, else
compiled once by PyTensor), polishes with full Newton steps, and then
*proves* convergence: at the final point the Hessian must be negative definite and the remaining
Newton step must be below ``rtol`` times each parameter's scale (its magnitude or its Laplace sd,
whichever is larger). Like ``find_MAP`` it maximises the log density without the Jacobian of the
transforms, so the mode is the mode of the parameters as written (e.g. ``noise_sigma``, not its
log).
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
import xarray as xr
from pymc.pytensorf import join_nonshared_inputs
from scipy import optimize

from bayesreg._warn import warn_user
from bayesreg.backend.fixed_density import CallableDensity, map_density
from bayesreg.backend.options import RESERVED_SAMPLE_KWARGS
from bayesreg.backend.python_mode import without_c
from bayesreg.backend.results import MapResult
from bayesreg.exceptions import OptimizerWarning
from bayesreg.stats.newton import newton_step, newton_step_and_inverse

if TYPE_CHECKING:
    from pytensor.graph.basic import Variable

__all__ = ["MapResult", "find_map", "sample_posterior"]

MAP_RTOL = 1e-9
_MAP_MODE = "FAST_COMPILE"


class _CompiledObjective:
    """Log density, gradient, Hessian and reported outputs of a model as functions of one flat vector.

    Every ``pm.Data`` container becomes an explicit input, so one compiled objective serves every
    model of the same structure: refits on new data (cross-validation, grid searches, sweeps over
    ``prior_sigma``) skip PyTensor's graph rewriting, which costs seconds per compile.
    """

    def __init__(self, model: pm.Model, output_vars: Sequence[str], exclude_terms: Sequence[str] = ()):
        from pytensor.graph.replace import graph_replace

        default_point = model.initial_point()
        self.value_names = [v.name for v in model.value_vars]
        self.shapes = [np.shape(default_point[name]) for name in self.value_names]
        data_vars = list(model.data_vars)
        data_inputs = [d.type(name=d.name) for d in data_vars]
        as_inputs = dict(zip(data_vars, data_inputs, strict=True))

        [logp], joined = join_nonshared_inputs(
            default_point, [_objective_logp(model, exclude_terms)], model.value_vars
        )
        # One scalar cost and one wrt variable: pt.grad returns one Variable (its stub says more).
        grad = cast("Variable", pt.grad(logp, joined))
        hess = pytensor.gradient.jacobian(grad, joined, vectorize=True)
        derivs = graph_replace([logp, grad, hess], as_inputs, strict=False)
        # Python mode (no rewrites, numpy kernels): the MAP evaluates its objective tens of times,
        # so compiling it with numba (10-80 s for a new structure, most of a cold fit; issue 14)
        # never pays back. Measured in benchmarks/cold_start.py: the same MAP to every digit.
        self._derivs = pytensor.function(
            [joined, *data_inputs], derivs, on_unused_input="ignore", mode=_MAP_MODE
        )

        outputs = model.replace_rvs_by_values([model[name] for name in output_vars])
        outputs = graph_replace(outputs, as_inputs, strict=False)
        self._report = pytensor.function(
            [*model.value_vars, *data_inputs], outputs, on_unused_input="ignore", mode=_MAP_MODE
        )

    def bind(self, model: pm.Model) -> _Objective:
        """The objective at the data of ``model`` (same structure as the compiled one)."""
        return _Objective(self, [d.get_value(borrow=True) for d in model.data_vars])


def _objective_logp(model: pm.Model, exclude_terms: Sequence[str]) -> Variable:
    """The MAP's log density of ``model``: no Jacobian, without the terms named in ``exclude_terms``.

    Terms left out are handled by the caller exactly, e.g. a non-smooth L1 prior.
    """
    terms = [t for t in [*model.basic_RVs, *model.potentials] if t.name not in set(exclude_terms)]
    return model.logp(vars=terms, jacobian=False)


class _FlatLayout:
    """The model's value variables as one flat vector: their names and shapes, in the model's order."""

    value_names: list[str]
    shapes: list[tuple[int, ...]]

    def slices(self) -> dict[str, slice]:
        """Where each value variable sits in the flat vector."""
        out, start = {}, 0
        for name, shape in zip(self.value_names, self.shapes, strict=True):
            size = int(np.prod(shape))
            out[name] = slice(start, start + size)
            start += size
        return out

    def flatten(self, point: Mapping[str, Any]) -> np.ndarray:
        """The flat vector of a point (a mapping of value variables)."""
        return np.concatenate([np.ravel(point[n]) for n in self.value_names]).astype(float)


class _Objective(_FlatLayout):
    """A compiled objective bound to data; evaluates each point once."""

    def __init__(self, compiled: _CompiledObjective, data: list[np.ndarray]):
        self.compiled = compiled
        self.data = data
        self.value_names, self.shapes = compiled.value_names, compiled.shapes
        self._last_x: np.ndarray | None = None
        self._last: tuple = ()

    def __call__(self, x: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        if self._last_x is None or not np.array_equal(x, self._last_x):
            # numpy kernels (Python mode) warn where numba did not: a trial step far out may
            # overflow, and the line search already rejects a non-finite objective.
            with np.errstate(all="ignore"):
                logp, grad, hess = self.compiled._derivs(x, *self.data)
            self._last_x, self._last = x.copy(), (float(logp), grad, hess)
        return self._last

    def report(self, x: np.ndarray) -> list[np.ndarray]:
        values = [x[sl].reshape(shape) for sl, shape in zip(self.slices().values(), self.shapes, strict=True)]
        with np.errstate(all="ignore"):
            return self.compiled._report(*values, *self.data)


# The C density's order of an unwhitened model's value variables (see fixed_density.map_density).
_DENSITY_ORDER = ("coef", "intercept_centered", "noise_sigma_log__")


class FixedObjective(_FlatLayout):
    """The MAP's objective on the hand-written C density: nothing to compile.

    The log density without the Jacobian of the log transform (the MAP is the mode of the noise sd
    as written), its gradient and Hessian, in the model's order of value variables, and the
    reported outputs at a point. Built by :func:`_objective_for` for the models
    :func:`bayesreg.backend.fixed_density.map_density` covers.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesreg.backend.model import build_logistic_model
    >>> from bayesreg.stats.prior_terms import CoefficientPrior
    >>> prior = CoefficientPrior("normal", sigma=np.ones(1), mean=np.zeros(1))
    >>> model = build_logistic_model(np.ones((1, 1)), np.ones(1), feature_names=["x"], prior=prior,
    ...                              fit_intercept=False)
    >>> logp, grad, hess = FixedObjective(model, map_density(model, ["coef"]), ["coef"])(np.zeros(1))
    >>> round(logp, 6), grad.tolist(), hess.tolist()  # log(1/2) + log N(0 | 0, 1); 1/2; -1/4 - 1
    (-1.612086, [0.5], [[-1.25]])
    """

    def __init__(self, model: pm.Model, density: CallableDensity, output_vars: Sequence[str]):
        self.density, self.output_vars = density, list(output_vars)
        self.value_names = [v.name for v in model.value_vars]
        self.shapes = [_static_shape(model, model.values_to_rvs[v].name) for v in model.value_vars]
        self.output_shapes = {name: _static_shape(model, name) for name in self.output_vars}
        slices = self.slices()
        # x_density = x[perm]: for each entry of the density's vector, its place in the model's.
        order = [name for name in _DENSITY_ORDER if name in slices]
        self.perm = np.concatenate([np.arange(slices[n].start, slices[n].stop) for n in order])
        # The density adds log sigma, the log transform's Jacobian, at its last entry.
        self.log_sigma = self.perm.size - 1 if "noise_sigma_log__" in slices else None
        self._last_x: np.ndarray | None = None
        self._last: tuple[float, np.ndarray, np.ndarray] = (np.nan, np.empty(0), np.empty(0))

    def __call__(self, x: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """Log density, gradient and Hessian at ``x`` (each point evaluated once)."""
        if self._last_x is None or not np.array_equal(x, self._last_x):
            x_density = x[self.perm]
            logp, grad_density = self.density.logp(x_density)
            hess_density = self.density.hessian(x_density)
            if self.log_sigma is not None:
                logp -= x_density[self.log_sigma]
                grad_density[self.log_sigma] -= 1.0
            grad, hess = np.empty_like(grad_density), np.empty_like(hess_density)
            grad[self.perm] = grad_density
            hess[np.ix_(self.perm, self.perm)] = hess_density
            self._last_x, self._last = x.copy(), (logp, grad, hess)
        return self._last

    def report(self, x: np.ndarray) -> list[np.ndarray]:
        """The values of ``output_vars`` at ``x``."""
        stored = self.density.stored(x[self.perm])
        return [stored[name].reshape(self.output_shapes[name]) for name in self.output_vars]


def _static_shape(model: pm.Model, name: str) -> tuple[int, ...]:
    """The shape of a model variable: from its dims' coordinates, else its type's static shape."""
    dims = model.named_vars_to_dims.get(name)
    if dims:
        return tuple(len(model.coords[dim]) for dim in dims)
    shape = model[name].type.shape
    if None in shape:
        raise ValueError(f"{name} has neither dims nor a static shape: {shape}")
    return tuple(int(size) for size in shape)


_CACHE: OrderedDict[Hashable, Any] = OrderedDict()
_CACHE_SIZE = 32


def _structure_key(model: pm.Model, structure_key: Hashable, *extra: Hashable) -> tuple:
    """A key for compiled artefacts: the caller's name for the structure plus every shape and type."""
    return (
        structure_key,
        *extra,
        tuple((name, len(values)) for name, values in model.coords.items()),
        tuple((v.name, v.type) for v in model.value_vars),
        tuple((d.name, d.type) for d in model.data_vars),
    )


def _cached(key: Hashable, compile_: Callable[[], Any]) -> Any:
    """Return the compiled artefact stored under ``key``, compiling it on a miss (LRU of 32)."""
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    value = _CACHE[key] = compile_()
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return value


def _objective_for(
    model: pm.Model,
    output_vars: Sequence[str],
    structure_key: Hashable | None,
    exclude_terms: Sequence[str] = (),
) -> _Objective | FixedObjective:
    """The C density's objective for a model it covers, else a compiled one bound to its data.

    The compiled objective is cached by structure (``structure_key``) and compiled on a miss.
    """
    density = map_density(model, output_vars, exclude_terms)
    if density is not None:
        return FixedObjective(model, density, output_vars)
    if structure_key is None:
        return _CompiledObjective(model, output_vars, exclude_terms).bind(model)
    key = _structure_key(model, structure_key, "map", tuple(output_vars), tuple(exclude_terms))
    return _cached(key, lambda: _stored_objective(model, output_vars, exclude_terms)).bind(model)


def _stored_objective(
    model: pm.Model, output_vars: Sequence[str], exclude_terms: Sequence[str]
) -> _CompiledObjective:
    """The compiled objective from bayesreg's disk cache, else compiled here and stored there.

    Building, differentiating and rewriting the objective's graph takes about a second, most of a
    warm fit; loading it (a pickle of the two compiled functions) takes milliseconds. The key is a
    fingerprint of the unrewritten graphs, so any change to the model gives another entry.
    """
    from bayesreg.backend.disk_cache import Unfingerprintable, fingerprint, load_object, store_object

    outputs = model.replace_rvs_by_values([model[name] for name in output_vars])
    # The compiled functions split one flat vector by the value variables' shapes: part of the key.
    shapes = {name: np.shape(value) for name, value in model.initial_point().items()}
    try:
        key = fingerprint(
            [],
            [_objective_logp(model, exclude_terms), *outputs],
            f"map objective, mode {_MAP_MODE}",
            f"values={[(v.name, str(v.type), shapes[v.name]) for v in model.value_vars]}",
            f"dims={[(name, len(values)) for name, values in model.coords.items()]}",
            f"data={[(d.name, str(d.type)) for d in model.data_vars]}",
            f"outputs={list(output_vars)}, excluded={list(exclude_terms)}",
        )
    except Unfingerprintable:
        return _CompiledObjective(model, output_vars, exclude_terms)
    loaded = load_object("map", key)
    if isinstance(loaded, _CompiledObjective):
        return loaded
    compiled = _CompiledObjective(model, output_vars, exclude_terms)
    store_object("map", key, compiled)
    return compiled


def find_map(
    model: pm.Model,
    *,
    location_vars: Sequence[str],
    output_vars: Sequence[str],
    initvals: Mapping[str, Any] | None = None,
    structure_key: Hashable | None = None,
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
    structure_key : hashable, optional
        Names the model's structure (its builder and options). Models with the same key and the
        same variable and data types reuse one compiled objective; every numeric input of such a
        model must be a ``pm.Data`` container. None compiles afresh.
    rtol : float
        Convergence threshold on the remaining Newton step, relative to each parameter's scale.
    max_iter : int
        Iteration limit of the trust-region optimizer.

    Returns
    -------
    MapResult
        Warns :class:`~bayesreg.exceptions.OptimizerWarning` when the check fails.
    """
    objective = _objective_for(model, output_vars, structure_key)
    x = _starting_point(model, objective, initvals)

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
        step = newton_step(grad, hess)
        if step is None:
            break
        candidate = x + step
        if not objective(candidate)[0] >= logp - 1e-12 * abs(logp):
            break
        x, n_iter = candidate, n_iter + 1
        if np.max(np.abs(step)) <= np.finfo(float).eps * max(1.0, np.max(np.abs(x))):
            break

    logp, grad, hess = objective(x)
    newton = newton_step_and_inverse(grad, hess)
    if newton is None:
        converged, rel_step, inv_neg_hess = False, np.inf, np.full(hess.shape, np.nan)
    else:
        step, inv_neg_hess = newton
        scale = np.maximum(np.abs(x), np.sqrt(np.diag(inv_neg_hess)))
        rel_step = float(np.max(np.abs(step) / scale))
        converged = bool(np.isfinite(logp) and rel_step <= rtol)
    if not converged:
        if newton is None:
            # Not a maximum at all: typically the density is unbounded, e.g. an unknown noise sd
            # that runs to 0 because the model fits every row exactly. Saying "standardise X" there
            # would send the user the wrong way.
            advice = (
                "the log density is not concave at the last point (its Hessian is not negative "
                "definite), so there may be no maximum at all: with an unknown noise sd this happens "
                "when the model can fit y exactly (n_samples <= n_features + 1, or y a linear "
                "function of X); give a known noise_sigma or use more rows."
            )
        else:
            advice = "standardise X, check for perfectly collinear columns, or use a smaller prior_sigma."
        warn_user(
            f"The MAP optimizer did not converge (remaining relative Newton step {rel_step:.2e} "
            f"> {rtol:g} after {n_iter} iterations; {result.message}). The MAP, and any agreement "
            f"with ridge, cannot be trusted: {advice}",
            OptimizerWarning,
        )

    return _map_result(
        objective, x, inv_neg_hess, location_vars, output_vars, logp, converged, rel_step, n_iter
    )


def _starting_point(
    model: pm.Model, objective: _Objective | FixedObjective, initvals: Mapping[str, Any] | None
) -> np.ndarray:
    """The model's initial point as a flat vector, with ``initvals`` (natural scale) put in."""
    # This model's own initial point (milliseconds), not the one of the model that compiled the
    # objective: the MAP, and so the whitening and the draws, never depend on what was cached.
    with without_c():  # functions run once: no C to compile for them
        start = model.initial_point()
        for name, value in (initvals or {}).items():
            rv = model[name]
            value_var = model.rvs_to_values[rv]
            transform = model.rvs_to_transforms.get(rv)
            value = np.asarray(value, dtype=float)
            if transform is not None:
                value = transform.forward(pt.as_tensor(value)).eval(mode="FAST_COMPILE")
            start[value_var.name] = value
    return objective.flatten(start)


def _map_result(
    objective: _Objective | FixedObjective,
    x: np.ndarray,
    inv_neg_hess: np.ndarray,
    location_vars: Sequence[str],
    output_vars: Sequence[str],
    logp: float,
    converged: bool,
    rel_step: float,
    n_iter: int,
) -> MapResult:
    """The MapResult of the point ``x``: reported outputs and the location block of the covariance."""
    slices = objective.slices()
    location_idx = np.concatenate(
        [np.arange(s.start, s.stop) for name, s in slices.items() if name in set(location_vars)]
    )
    report = objective.report(x)
    return MapResult(
        values={name: np.asarray(v) for name, v in zip(output_vars, report, strict=True)},
        location=x[location_idx],
        location_cov=inv_neg_hess[np.ix_(location_idx, location_idx)],
        logp=logp,
        converged=converged,
        max_relative_step=rel_step,
        n_iterations=n_iter,
    )


# pm.sample arguments the cached nutpie path understands (PyMC's name -> nutpie's name).
_NUTPIE_KWARGS = {"target_accept": "target_accept", "max_treedepth": "maxdepth", "cores": "cores"}


def sample_posterior(
    model: pm.Model,
    *,
    draws: int,
    tune: int,
    chains: int,
    random_seed: int | np.random.Generator | None,
    progressbar: bool,
    sample_kwargs: Mapping[str, Any] | None = None,
    structure_key: Hashable | None = None,
) -> xr.DataTree:
    """Run NUTS (nutpie unless ``sample_kwargs`` says otherwise) and return the DataTree.

    ``sample_kwargs`` goes to :func:`pymc.sample`; the estimator's own parameters cannot be set
    through it, so that a grid search over them is never silently overridden.

    With nutpie and a ``structure_key`` (see :func:`find_map`), the compiled nutpie model is cached
    and refitted with ``with_data``: a second fit of the same structure skips seconds of
    compilation. Its C callbacks are also cached on disk (:mod:`bayesreg.backend.nutpie_model`),
    so the first fit in a new process loads them instead of compiling; the Gaussian and Bernoulli
    models sample on hand-written callbacks (:mod:`bayesreg.backend.fixed_density`). Only ``target_accept``,
    ``max_treedepth`` and ``cores`` are passed on that path; any other ``sample_kwargs`` go
    through :func:`pymc.sample` as usual.
    """
    kwargs = dict(sample_kwargs or {})
    clash = sorted(set(kwargs) & set(RESERVED_SAMPLE_KWARGS))
    if clash:
        raise ValueError(f"sample_kwargs may not set {clash}: use the estimator's own parameters for those.")
    kwargs.setdefault("nuts_sampler", "nutpie")
    if isinstance(random_seed, np.random.Generator):
        random_seed = int(random_seed.integers(2**31))
    cached_path = kwargs["nuts_sampler"] == "nutpie" and set(kwargs) - {"nuts_sampler"} <= set(_NUTPIE_KWARGS)
    if structure_key is not None and cached_path:
        options = {_NUTPIE_KWARGS[k]: v for k, v in kwargs.items() if k != "nuts_sampler"}
        return _sample_nutpie_cached(
            model,
            structure_key,
            draws=draws,
            tune=tune,
            chains=chains,
            seed=random_seed,
            progressbar=progressbar,
            options=options,
        )
    kwargs.setdefault("compute_convergence_checks", False)  # bayesreg.backend.diagnostics does this
    in_process = kwargs["nuts_sampler"] == "nutpie"  # its chains are threads of this process
    limit = _blas_threads_for_chains(chains, kwargs.get("cores")) if in_process else contextlib.nullcontext()
    with model, limit:
        return pm.sample(
            draws=draws,
            tune=tune,
            chains=chains,
            random_seed=random_seed,
            progressbar=progressbar,
            **kwargs,
        )


def _blas_threads_for_chains(chains: int, cores: int | None):
    """Share the CPUs between nutpie's chain threads and BLAS, instead of multiplying them.

    nutpie runs chains as threads; each row-wise gradient (the logistic model's ``X @ coef``) then
    calls a BLAS that starts its own threads on every CPU. With 2 chains on 2 CPUs that
    oversubscription doubled the wall time of a 10⁵ × 20 logistic fit here (17.9 s against 8.8 s
    with one BLAS thread per chain, the same draws).
    """
    from threadpoolctl import threadpool_limits

    cpus = _available_cpus()
    parallel_chains = max(1, min(chains, cores or cpus, cpus))
    return threadpool_limits(limits=max(1, cpus // parallel_chains), user_api="blas")


def _available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _sample_nutpie_cached(
    model: pm.Model,
    structure_key: Hashable,
    *,
    draws: int,
    tune: int,
    chains: int,
    seed: int | None,
    progressbar: bool,
    options: Mapping[str, Any],
) -> xr.DataTree:
    from bayesreg.backend.nutpie_model import compile_nutpie_model, nutpie, with_model_data

    key = _structure_key(model, structure_key, "nutpie")
    compiled = with_model_data(_cached(key, lambda: compile_nutpie_model(model)), model)
    if seed is None:
        seed = int(np.random.default_rng().integers(2**31))
    with _blas_threads_for_chains(chains, options.get("cores")):
        idata = _run_nutpie(
            lambda: nutpie.sample(
                compiled,
                draws=draws,
                tune=max(tune, 1),  # nuts-rs needs at least one tuning step, as in pm.sample
                chains=chains,
                seed=seed,
                save_warmup=False,
                progress_bar=progressbar,
                blocking=False,
                **options,
            )
        )
    # The cached model carries the coordinates of the fit that compiled it: use this model's.
    posterior = idata["posterior"].to_dataset()
    coords = {dim: list(values) for dim, values in model.coords.items() if dim in posterior.dims}
    idata["posterior"] = posterior.assign_coords(coords)
    return idata


_INTERRUPTS = {signal.SIGINT, signal.SIGTERM}


def _run_nutpie(start: Callable[[], Any]) -> xr.DataTree:
    """Start nutpie's background sampler and wait for it, as ``nutpie.sample`` does, without its gap.

    ``nutpie.sample`` aborts its sampler threads on a KeyboardInterrupt only once it waits for
    them; an interrupt that lands while the sampler is being started (SIGTERM from ``timeout``, a
    Ctrl-C) left the threads running, and they panicked as the interpreter exited. Here SIGINT and
    SIGTERM are held back while the sampler starts (the threads it spawns inherit the mask) and
    let through only inside the ``try`` that aborts it. As with nutpie, an interrupt returns the
    draws made so far; the caller decides what an interrupted fit means.
    """
    can_mask = hasattr(signal, "pthread_sigmask")
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _INTERRUPTS) if can_mask else None
    try:
        sampler = start()
    except BaseException:
        if previous is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)
        raise
    try:
        if previous is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)  # a pending signal is raised here
        return sampler.wait()
    except KeyboardInterrupt:
        return sampler.abort()
    except BaseException:
        sampler.cancel()
        raise

"""What every estimator shares: parameter checks, input checks, MAP and NUTS orchestration.

A subclass states its model and its penalised twin, nothing else (the contract is the abstract
methods below): ``_build_model`` (the PyMC model, optionally whitened), ``_pointwise_log_likelihood``
of draws, ``penalty`` (the scikit-learn twin of its MAP), and its own ``fit`` and ``predict``.
Every subclass is registered by name, so that saved fits find their class. PyMC is imported only
inside ``fit``.

A fit that raises leaves the estimator exactly unfitted: the base class wraps every subclass's
``fit`` (:func:`_unfitted_if_it_fails`) so that any exception, ``KeyboardInterrupt`` included,
removes every fitted attribute before it propagates, whatever step failed. Nothing of the failed
fit, nor of an earlier successful one, survives: ``check_is_fitted`` raises ``NotFittedError``,
``save`` refuses, and the parameters are as they were set.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, validate_data

from bayesreg._dims import FEATURE_DIM, OBS_DIM
from bayesreg._warn import warn_user
from bayesreg.estimators.chunks import is_chunked_input
from bayesreg.estimators.penalty import Penalty
from bayesreg.estimators.prior_scale import prior_scale_problem
from bayesreg.estimators.registry import register
from bayesreg.estimators.validation import (
    BOOLEAN,
    COMMON_CONSTRAINTS,
    FINITE_FLOAT,
    Constraint,
    check_feature_frame,
    instance_of,
    validate_params,
)
from bayesreg.exceptions import OptimizerWarning, PriorScaleWarning

if TYPE_CHECKING:
    from bayesreg.backend.diagnostics import ConvergenceReport

# What one fitted attribute must be: an array of this shape, or a value meeting this constraint.
FittedSpec = tuple[int, ...] | Constraint


def _unfitted_if_it_fails(fit: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap ``fit`` so that, if it raises, the estimator is left exactly unfitted, then re-raise."""
    if getattr(fit, "_unfitted_if_it_fails", False):
        return fit

    @functools.wraps(fit)
    def fit_or_unfit(self: BayesianRegressionBase, *args: Any, **kwargs: Any) -> Any:
        try:
            return fit(self, *args, **kwargs)
        except BaseException:  # KeyboardInterrupt in the sampler too: no half-fitted estimator
            self._reset_fitted_state()
            raise

    setattr(fit_or_unfit, "_unfitted_if_it_fails", True)  # noqa: B010 (a function attribute)
    return fit_or_unfit


class BayesianRegressionBase(BaseEstimator, ABC):
    """Shared machinery; not part of the public API.

    Every subclass's ``fit`` is wrapped so that a fit that raises leaves the estimator exactly
    unfitted (see the module docstring).
    """

    _constraints: dict = COMMON_CONSTRAINTS
    # Internal sampler coordinates, dropped from the posterior users see.
    _internal_vars = ("z", "intercept_centered")
    # Fitted state that does not end in "_" (predict needs it): forgotten on refit, saved by save.
    _private_fitted_attrs: tuple[str, ...] = ("_map_result", "_x_mean")
    # Fitted attributes of _fitted_layout that some fits lack (no string column names).
    _optional_fitted_attrs: tuple[str, ...] = ("feature_names_in_",)

    # Fitted attributes that are None for some methods (declared only: no class-level value).
    idata_: xr.DataTree | None
    convergence_: ConvergenceReport | None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "fit" in cls.__dict__:  # setattr: mypy refuses assignments to a method
            setattr(cls, "fit", _unfitted_if_it_fails(cls.__dict__["fit"]))  # noqa: B010
        register(cls)

    # --- the subclass contract -------------------------------------------------------------------

    @abstractmethod
    def fit(self, X: Any, y: Any) -> BayesianRegressionBase:
        """Fit to ``X`` and ``y``; return ``self``."""

    @abstractmethod
    def _build_model(self, data: Any, whitening: Any = None) -> Any:
        """The PyMC model of ``data`` (sampled in whitened coordinates when ``whitening`` is given)."""

    @abstractmethod
    def _pointwise_log_likelihood(
        self, X: np.ndarray, y: np.ndarray, coef: np.ndarray, intercept: np.ndarray, extra: dict
    ) -> np.ndarray:
        """``log p(y_i | draw s)`` for draws ``coef`` (S, p), ``intercept`` (S,): shape (S, n)."""

    @abstractmethod
    def penalty(self) -> Penalty:
        """The penalised twin of this model's MAP: the scikit-learn estimator and its parameter."""

    def ridge_equivalent(self) -> Any:
        """The unfitted scikit-learn estimator whose solution is this model's MAP (``penalty().twin``)."""
        return self.penalty().twin

    # --- validation --------------------------------------------------------------------------

    def _validate_params(self) -> None:
        validate_params(type(self).__name__, self.get_params(deep=False), self._constraints)

    def _check_method_options(self) -> None:
        """Checks of parameters taken together, which ``fit`` (and ``load``) make; none by default."""

    def _is_chunked(self, X: Any, y: Any, *, accepts_chunks: bool) -> bool:
        """Whether ``fit(X, y)`` got chunked input; refuse, saying what is wrong, what fit cannot read."""
        name = type(self).__name__
        chunked = is_chunked_input(X, y)
        if chunked and not accepts_chunks:
            raise TypeError(
                f"{name} cannot fit chunked input (an iterator or list of (X, y) blocks, or Dask "
                "collections): its likelihood has no sufficient statistics, so it needs every row in "
                "memory. Pass X and y as arrays (e.g. numpy.vstack the X blocks and "
                "numpy.concatenate the y blocks); only BayesianLinearRegression fits chunks."
            )
        if not chunked and y is None:
            raise ValueError(_missing_y_message(name, X, accepts_chunks))
        return chunked

    def _reset_fitted_state(self) -> None:
        """Forget every result of an earlier fit, so a failed refit cannot leave a mixture."""
        for name in list(vars(self)):
            if (name.endswith("_") and not name.startswith("__")) or name in self._private_fitted_attrs:
                delattr(self, name)

    def _validate_training_data(self, X: Any, y: Any, *, y_numeric: bool):
        check_feature_frame(X)
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=y_numeric)
        return X, y

    def _validate_test_data(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        check_feature_frame(X)
        return validate_data(self, X, reset=False, dtype=np.float64)

    def _warn_if_prior_scale_mismatched(
        self, feature_sd: np.ndarray, output_scale: float, output: str
    ) -> None:
        """Warn :class:`~bayesreg.exceptions.PriorScaleWarning` when one prior sd cannot suit X."""
        if getattr(self, "prior_sigma_prior", None) is not None:
            return  # the prior sd is learned from the data
        problem = prior_scale_problem(
            feature_sd,
            self._feature_names(),
            prior_sigma=float(self.prior_sigma),
            output_scale=output_scale,
            output=output,
        )
        if problem is not None:
            warn_user(problem, PriorScaleWarning)

    def _feature_names(self) -> list[str]:
        names = getattr(self, "feature_names_in_", None)
        if names is not None:
            return [str(n) for n in names]
        return [f"x{i}" for i in range(self.n_features_in_)]

    def _fitted_layout(self) -> dict[str, FittedSpec]:
        """Every attribute a fit with these parameters leaves: an array's shape, or a constraint.

        Given ``n_features_in_``; ``load`` checks a saved fit against it (``feature_names_in_`` is
        there only when X had string column names).
        """
        p = self.n_features_in_
        sampled = self.method != "map"
        return {
            "coef_": (p,),
            "coef_sd_": (p,),
            "map_coef_": (p,),
            "_x_mean": (p,),
            "feature_names_in_": (p,),
            "intercept_": FINITE_FLOAT,
            "map_intercept_": FINITE_FLOAT,
            "map_converged_": BOOLEAN,
            "_map_result": instance_of("MapResult", optional=self.method == "exact"),
            "idata_": instance_of("DataTree", optional=not sampled),
            "convergence_": instance_of("ConvergenceReport", optional=self.method != "mcmc"),
        }

    @property
    def _output_vars(self) -> list[str]:
        return ["coef", "intercept"] if self.fit_intercept else ["coef"]

    @property
    def _location_vars(self) -> list[str]:
        return ["coef", "intercept_centered"] if self.fit_intercept else ["coef"]

    def _structure_key(self) -> tuple:
        """Names the model structure, so that compiled artefacts are shared between fits."""
        return (type(self).__name__, self.fit_intercept, getattr(self, "noise_sigma", 0) is None)

    # --- MAP and NUTS --------------------------------------------------------------------------

    def _find_map(self, model, *, initvals=None, extra_outputs=()):
        """Find the MAP, set ``map_*_`` attributes and return the result."""
        from bayesreg.backend.inference import find_map

        result = find_map(
            model,
            location_vars=self._location_vars,
            output_vars=[*self._output_vars, *extra_outputs],
            initvals=initvals,
            structure_key=self._structure_key(),
        )
        self.map_coef_ = result.values["coef"].copy()
        self.map_intercept_ = float(result.values["intercept"]) if self.fit_intercept else 0.0
        self.map_converged_ = result.converged
        self._map_result = result
        return result

    def _sample(self, data: Any, map_result, X: np.ndarray | None, y_observed: np.ndarray | None):
        """Sample the model of ``data``, whitened at the MAP; keep the user-facing posterior; check it."""
        from scipy import linalg

        from bayesreg.backend.diagnostics import check_convergence, warn_if_not_converged
        from bayesreg.backend.inference import sample_posterior
        from bayesreg.backend.model import Whitening

        try:
            scale_tril = linalg.cholesky(map_result.location_cov, lower=True)
            model = self._build_model(data, Whitening(loc=map_result.location, scale_tril=scale_tril))
        except (linalg.LinAlgError, ValueError):
            # No usable Laplace covariance (the MAP check failed and already warned): sample the
            # same posterior in its plain coordinates, and say so.
            warn_user(
                "No positive-definite Hessian at the MAP, so NUTS runs without whitening; expect "
                "slower sampling and check the convergence report.",
                OptimizerWarning,
            )
            model = self._build_model(data, None)
        idata = sample_posterior(
            model,
            draws=self.draws,
            tune=self.tune,
            chains=self.chains,
            random_seed=self.random_state,
            progressbar=self.progressbar,
            sample_kwargs=self.sample_kwargs,
            structure_key=self._structure_key(),
        )
        posterior = idata["posterior"].to_dataset()
        internal = [v for v in (*self._internal_vars, "location") if v in posterior.variables]
        idata["posterior"] = posterior.drop_vars(internal)
        self._attach_data_groups(idata, X, y_observed)
        report = check_convergence(idata)
        self.convergence_ = report
        self.idata_ = idata
        warn_if_not_converged(report)
        return idata

    def _attach_data_groups(self, idata: xr.DataTree, X: np.ndarray | None, y: np.ndarray | None) -> None:
        """Add observed_data and a pointwise log_likelihood group (needed by ``az.loo``).

        The log likelihood holds one number per draw and row (8 bytes × draws × chains × rows:
        3.2 GB for 4000 draws of 100,000 rows), so ``compute_log_likelihood=False`` skips it. A fit
        on chunked data has no rows in memory (``X`` and ``y`` are None) and gets neither group.
        """
        if y is None:
            return
        obs = np.arange(y.shape[0])
        idata["observed_data"] = xr.Dataset({"y": ((OBS_DIM,), y)}, coords={OBS_DIM: obs})
        if not self.compute_log_likelihood:
            return
        if X is None:
            raise RuntimeError("a fit with y in memory must have X in memory too")
        coef, intercept, extra = self._draws_from(idata)
        log_lik = self._pointwise_log_likelihood(X, y, coef, intercept, extra)
        n_chains, n_draws = idata["posterior"].sizes["chain"], idata["posterior"].sizes["draw"]
        idata["log_likelihood"] = xr.Dataset(
            {"y": (("chain", "draw", OBS_DIM), log_lik.reshape(n_chains, n_draws, -1))},
            coords={
                "chain": idata["posterior"]["chain"].values,
                "draw": idata["posterior"]["draw"].values,
                OBS_DIM: obs,
            },
        )

    def _draws_from(self, idata: xr.DataTree):
        """Posterior draws flattened over chains: coef (S, p), intercept (S,), extras."""
        post = idata["posterior"].to_dataset()
        coef = post["coef"].values.reshape(-1, post.sizes[FEATURE_DIM])
        n = coef.shape[0]
        intercept = post["intercept"].values.reshape(n) if "intercept" in post.data_vars else np.zeros(n)
        extra = {
            name: post[name].values.reshape(n) for name in post.data_vars if name not in ("coef", "intercept")
        }
        return coef, intercept, extra

    def _posterior_tree(self) -> xr.DataTree:
        """``idata_``, which a fit with posterior draws ("mcmc", "exact") has set."""
        idata = self.idata_
        if idata is None:
            raise RuntimeError("this fit has no posterior draws (idata_ is None)")
        return idata

    def _set_point_summaries_from_draws(self) -> None:
        coef, intercept, _ = self._draws_from(self._posterior_tree())
        self.coef_ = coef.mean(axis=0)
        self.coef_sd_ = coef.std(axis=0, ddof=1)
        self.intercept_ = float(intercept.mean()) if self.fit_intercept else 0.0

    def _set_point_summaries_from_map(self) -> None:
        p = self.n_features_in_
        self.coef_ = self.map_coef_.copy()
        self.intercept_ = self.map_intercept_
        self.coef_sd_ = np.sqrt(np.diag(self._map_result.location_cov)[:p])

    def _laplace_linear_predictor_var(self, X: np.ndarray) -> np.ndarray:
        """Laplace variance of ``b + Xw`` at the MAP (method="map")."""
        cov = self._map_result.location_cov
        design = X - self._x_mean
        if self.fit_intercept:
            design = np.column_stack([design, np.ones(X.shape[0])])
        return np.einsum("ij,jk,ik->i", design, cov, design)

    def _linear_predictor_draws(self, X: np.ndarray) -> np.ndarray:
        """``b + Xw`` for every posterior draw, shape (S, n)."""
        coef, intercept, _ = self._draws_from(self._posterior_tree())
        return intercept[:, None] + coef @ X.T

    # --- persistence ---------------------------------------------------------------------------

    def save(self, path: Any, *, overwrite: bool = False) -> None:
        """Write this fitted estimator to one netCDF file, atomically (see the persistence module).

        Raises ``FileExistsError`` if ``path`` exists, unless ``overwrite=True``; ``NotFittedError``
        if the estimator is not fitted (also after a failed fit); and an ``OSError`` naming the
        folder (``FileNotFoundError``, ``NotADirectoryError``, ``PermissionError``) when the folder
        of ``path`` is missing, not a folder or not writable.
        """
        from bayesreg.estimators.persistence import save_estimator

        save_estimator(self, path, overwrite=overwrite)

    @classmethod
    def load(cls, path: Any) -> BayesianRegressionBase:
        """Read an estimator written by :meth:`save`; it predicts exactly what the saved one did.

        Raises ``ValueError`` when ``path`` is not such a file, holds another estimator class, or
        holds a fit that ``fit`` could not have made (a parameter out of range, a missing fitted
        attribute, an array whose shape disagrees with ``n_features_in_``); the message names the
        file and the field.
        """
        from bayesreg.estimators.persistence import load_estimator

        return load_estimator(path, expected_class=cls)


def _missing_y_message(name: str, X: Any, accepts_chunks: bool) -> str:
    """What is wrong with ``fit(X)`` without y, for X that is not chunked input."""
    chunks = (
        "; chunked input is an iterator (or list) of (X_block, y_block) tuples, with y left out"
        if accepts_chunks
        else ""
    )
    if isinstance(X, list | tuple) and len(X) == 0:
        return (
            f"{name}.fit got an empty X ({X!r}) and no y: there are no rows to fit. Pass X of shape "
            f"(n_samples, n_features) and y of shape (n_samples,){chunks}."
        )
    if accepts_chunks and isinstance(X, list | tuple) and all(_is_list_pair(item) for item in X):
        return (
            f"{name}.fit got X as a {type(X).__name__} of [X_block, y_block] lists and no y: blocks "
            "must be tuples (X_block, y_block), e.g. [tuple(block) for block in blocks]."
        )
    if isinstance(X, list | tuple):
        return (
            f"{name} requires y to be passed, but the target y is None: X is a {type(X).__name__} of "
            f"{len(X)} rows, and y must give their {len(X)} targets{chunks}."
        )
    return f"{name} requires y to be passed, but the target y is None: pass y, the targets of X{chunks}."


def _is_list_pair(item: Any) -> bool:
    return isinstance(item, list) and len(item) == 2 and len(getattr(item[0], "shape", ())) > 0

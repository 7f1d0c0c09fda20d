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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import arviz_base  # noqa: F401  # imported early on purpose: see the note below
import numpy as np
import xarray as xr
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, validate_data

from bayesreg._dims import FEATURE_DIM, INTERCEPT_LABEL, OBS_DIM
from bayesreg._warn import warn_user
from bayesreg.estimators.chunks import is_chunked_input
from bayesreg.estimators.laplace_psis import check_laplace_options
from bayesreg.estimators.penalty import Penalty
from bayesreg.estimators.prior_params import (
    check_prior_combinations,
    coefficient_prior,
    intercept_prior,
    is_per_feature,
)
from bayesreg.estimators.prior_scale import prior_scale_problem

# arviz_base is imported above, at the short call stack of ``import bayesreg``, because importing it
# later from deep inside ``fit`` (nutpie imports it) costs 0.6-1 s: its lazy_loader calls
# ``inspect.stack()`` over every frame to note that the optional jax and numpyro are missing.
# Here that takes milliseconds (issue 14; benchmarks/cold_start.py).
from bayesreg.estimators.registry import register
from bayesreg.estimators.validation import (
    BOOLEAN,
    COMMON_CONSTRAINTS,
    FINITE_FLOAT,
    POSITIVE_FLOAT,
    Constraint,
    check_feature_frame,
    instance_of,
    validate_params,
)
from bayesreg.exceptions import OptimizerWarning, PriorScaleWarning
from bayesreg.stats.prior_terms import CoefficientPrior, InterceptPrior

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
    _optional_fitted_attrs: tuple[str, ...] = ("feature_names_in_", "n_samples_fit_")

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
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> BayesianRegressionBase:
        """Fit to ``X`` and ``y``, rows weighted by ``sample_weight`` as in scikit-learn; return ``self``."""

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
        if self.prior == "flat" or is_per_feature(self.prior_sigma):
            return  # no prior scale, or one chosen per feature by the user
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
            "n_samples_fit_": POSITIVE_FLOAT,  # an int, or Σ sample_weight (a float) when weighted
            "intercept_": FINITE_FLOAT,
            "map_intercept_": FINITE_FLOAT,
            "map_converged_": BOOLEAN,
            "_map_result": instance_of("MapResult", optional=self.method == "exact"),
            "idata_": instance_of("DataTree", optional=not sampled),
            "convergence_": instance_of("ConvergenceReport", optional=self.method != "mcmc"),
            "laplace_": instance_of("LaplaceReport", optional=self.method != "laplace"),
        }

    # --- the parameters as terms (compare's rows, load's shape checks) ---------------------------
    # One coefficient per feature and one intercept here; a model with a coefficient per class and
    # feature (the multinomial) overrides these, and compare and load need no branch.

    @property
    def _coef_dims(self) -> tuple[str, ...]:
        """The dimensions of ``coef`` in the posterior, after (chain, draw)."""
        return (FEATURE_DIM,)

    def _location_size(self) -> int:
        """The length of ``_map_result.location`` (the sampled location parameters)."""
        return self.n_features_in_ + int(self.fit_intercept)

    def _term_labels(self) -> list[str]:
        """One label per coefficient, then the intercept's (if any): the rows of compare's table."""
        names = self._feature_names()
        return [*names, INTERCEPT_LABEL] if self.fit_intercept else names

    def _terms(self, coef: Any, intercept: Any) -> np.ndarray:
        """A point's coefficients and intercept as one vector, in the order of :meth:`_term_labels`.

        Takes scikit-learn's shapes too (``coef_`` (1, p), ``intercept_`` (1,)).
        """
        flat = np.ravel(np.asarray(coef, dtype=float))
        if not self.fit_intercept:
            return flat
        return np.append(flat, np.ravel(np.asarray(intercept, dtype=float))[0])

    def _term_draws(self, posterior: xr.Dataset) -> np.ndarray:
        """The posterior's draws of the terms, shape (chain, draw, terms)."""
        chains, draws = posterior.sizes["chain"], posterior.sizes["draw"]
        parts = [posterior["coef"].values.reshape(chains, draws, -1)]
        if self.fit_intercept:
            parts.append(posterior["intercept"].values.reshape(chains, draws, 1))
        return np.concatenate(parts, axis=2)

    def _location_to_terms(self) -> np.ndarray:
        """The matrix ``A`` with ``terms = A · location + const`` (the Laplace covariance's map).

        The intercept of uncentred X is ``intercept_centered − x̄·w``.
        """
        p = self.n_features_in_
        if not self.fit_intercept:
            return np.eye(p)
        A = np.eye(p + 1)
        A[p, :p] = -np.asarray(self._x_mean, dtype=float)
        return A

    @property
    def _output_vars(self) -> list[str]:
        return ["coef", "intercept"] if self.fit_intercept else ["coef"]

    @property
    def _location_vars(self) -> list[str]:
        return ["coef", "intercept_centered"] if self.fit_intercept else ["coef"]

    def _structure_key(self) -> tuple:
        """Names the model structure, so that compiled artefacts are shared between fits."""
        noise_prior = getattr(self, "noise_prior", None) if getattr(self, "noise_sigma", 0) is None else None
        return (
            type(self).__name__,
            self.fit_intercept,
            getattr(self, "noise_sigma", 0) is None,
            self.prior,
            self.intercept_prior_sigma is None,
            noise_prior,
        )

    def _coefficient_prior(self) -> CoefficientPrior:
        """The coefficient prior of the parameters, resolved against the fitted features."""
        return coefficient_prior(self.get_params(deep=False), self._feature_names(), type(self).__name__)

    def _intercept_prior(self) -> InterceptPrior | None:
        return intercept_prior(self.get_params(deep=False))

    def _check_method_options(self) -> None:
        """Checks of parameters taken together, which ``fit`` (and ``load``) make."""
        check_prior_combinations(self.get_params(deep=False), type(self).__name__)
        if self.method == "laplace":
            check_laplace_options(self)

    def _prior_for_penalty(self) -> CoefficientPrior:
        """The coefficient prior, before ``fit`` too when it is one number for every feature."""
        if hasattr(self, "n_features_in_"):
            return self._coefficient_prior()
        if is_per_feature(self.prior_sigma) or is_per_feature(self.prior_mean):
            raise ValueError(
                "prior_sigma or prior_mean is given per feature, so the penalised twin depends on the "
                "features: fit the estimator first."
            )
        return coefficient_prior(self.get_params(deep=False), ["x0"], type(self).__name__)

    def _prior_sigma_attribute(self, prior: CoefficientPrior) -> float | np.ndarray:
        """``prior_sigma`` as a fit reports it: one float, or one per feature when given so."""
        return prior.sigma.copy() if is_per_feature(self.prior_sigma) else float(prior.sigma[0])

    # --- MAP and NUTS --------------------------------------------------------------------------

    def _find_map(self, model, *, prior: CoefficientPrior, initvals=None, extra_outputs=()):
        """Find the MAP, set ``map_*_`` attributes and return the result.

        A prior with an L1 part (Laplace, elastic net) is not differentiable where a coefficient
        equals its prior mean, so its MAP is found by proximal Newton, which handles that term
        exactly and lands on exact zeros (:func:`bayesreg.backend.sparse_map.find_map_l1`).
        """
        from bayesreg.backend.inference import find_map
        from bayesreg.backend.sparse_map import find_map_l1

        common = dict(
            location_vars=self._location_vars,
            output_vars=[*self._output_vars, *extra_outputs],
            initvals=initvals,
            structure_key=self._structure_key(),
        )
        if prior.is_smooth:
            result = find_map(model, **common)
        else:
            result = find_map_l1(model, l1_weight=prior.l1_weight, center=prior.mean, **common)
        self.map_coef_ = result.values["coef"].copy()
        self.map_intercept_ = float(result.values["intercept"]) if self.fit_intercept else 0.0
        self.map_converged_ = result.converged
        self._map_result = result
        return result

    def _sample(
        self,
        data: Any,
        map_result,
        X: np.ndarray | None,
        y_observed: np.ndarray | None,
        sample_weight: np.ndarray | None = None,
        row_data: dict[str, np.ndarray] | None = None,
    ):
        """Sample the model of ``data``, whitened at the MAP; keep the user-facing posterior; check it.

        ``row_data`` holds further per-row arrays of the likelihood (a binomial model's ``trials``),
        kept in ``constant_data`` and passed to ``_pointwise_log_likelihood`` (see
        :meth:`_attach_data_groups`).
        """
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
        self._attach_data_groups(idata, X, y_observed, sample_weight, row_data)
        report = check_convergence(idata)
        self.convergence_ = report
        self.idata_ = idata
        warn_if_not_converged(report)
        return idata

    def _attach_data_groups(
        self,
        idata: xr.DataTree,
        X: np.ndarray | None,
        y: np.ndarray | None,
        sample_weight: np.ndarray | None = None,
        row_data: dict[str, np.ndarray] | None = None,
    ) -> None:
        """Add observed_data, constant_data (the rows X) and a pointwise log_likelihood group.

        ``az.loo`` needs the log likelihood; :meth:`sample_posterior_predictive` and the other
        predictive methods read the training rows from ``constant_data`` when called with X=None.

        The log likelihood holds one number per draw and row (8 bytes × draws × chains × rows:
        3.2 GB for 4000 draws of 100,000 rows), so ``compute_log_likelihood=False`` skips it. A fit
        on chunked data has no rows in memory (``X`` and ``y`` are None) and gets neither group.

        With ``sample_weight`` the log likelihood of row ``i`` is the weighted term
        ``w_i · log p(y_i | θ)`` of the likelihood the posterior conditions on, so the terms sum to
        it: PSIS-LOO then leaves row ``i`` out with all its weight (the importance ratio of removing
        that term from the posterior), and likelihood power-scaling scales the likelihood actually
        fitted; unweighted densities would do neither. The weights go in ``constant_data`` as
        ``sample_weight``. Rows of weight zero are not part of the data the posterior conditions on
        (the fit equals the fit without them), so they are left out of all three groups, whose
        ``obs`` coordinate keeps the row numbers of the rows kept (a column of zeros would also stop
        PSIS, which cannot fit a tail to constant ratios).

        ``row_data`` (name → one value per row, e.g. a binomial model's ``trials``) goes in
        ``constant_data`` beside ``X``, with the same rows kept, and to
        ``_pointwise_log_likelihood`` in its ``extra`` mapping under the same names.
        """
        if y is None:
            return
        rows = dict(row_data or {})
        obs = np.arange(y.shape[0])
        if sample_weight is not None and not np.all(sample_weight > 0):
            obs = np.flatnonzero(sample_weight > 0)
            X = None if X is None else X[obs]
            y, sample_weight = y[obs], sample_weight[obs]
            rows = {name: values[obs] for name, values in rows.items()}
        idata["observed_data"] = xr.Dataset({"y": ((OBS_DIM,), y)}, coords={OBS_DIM: obs})
        if X is not None:  # the rows, for predictive draws at them (n × p, no copy in memory)
            constant: dict[str, Any] = {"X": ((OBS_DIM, FEATURE_DIM), X)}
            if sample_weight is not None:  # the row weights the likelihood (and log_likelihood) used
                constant["sample_weight"] = ((OBS_DIM,), sample_weight)
            constant |= {name: ((OBS_DIM,), values) for name, values in rows.items()}
            idata["constant_data"] = xr.Dataset(
                constant, coords={OBS_DIM: obs, FEATURE_DIM: self._feature_names()}
            )
        if not self.compute_log_likelihood:
            return
        if X is None:
            raise RuntimeError("a fit with y in memory must have X in memory too")
        coef, intercept, extra = self._draws_from(idata)
        log_lik = self._pointwise_log_likelihood(X, y, coef, intercept, extra | rows)
        if sample_weight is not None:
            log_lik = log_lik * sample_weight[None, :]
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

    # --- predictive draws, the log prior, prior sensitivity ------------------------------------
    # Numpy draws from the stored posterior or from the prior (bayesreg.estimators.predictive);
    # the PyMC model is never rebuilt. A subclass says how y is drawn given the linear predictor
    # (_observation_draws) and, if it has one, what the noise sd's prior is (_noise_prior_record).

    def sample_posterior_predictive(self, X: Any = None, *, random_state: Any = None) -> xr.DataTree:
        """Draws of ``y`` at the rows of ``X`` from the posterior predictive, one per posterior draw.

        Each posterior draw of the parameters gives one ``y`` per row (linear: ``N(b + Xw, σ_n²)``;
        logistic: 0/1 from ``Bernoulli(sigmoid(b + Xw))``, 1 meaning ``classes_[1]``), computed in
        numpy from ``idata_``. ``idata_`` itself is left as it is (see :meth:`add_predictive_groups`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or None
            The rows; None means the training rows, which fits on arrays keep in ``idata_``
            (``constant_data``; fits on chunked input keep none).
        random_state : int, numpy.random.Generator or None
            Seed for the draws (None: fresh randomness); the same int gives the same draws.

        Returns
        -------
        xarray.DataTree
            ``posterior_predictive`` (``y`` over chain, draw, obs; chains and draws as in
            ``idata_``), ``constant_data`` (``X``) and, for X=None, ``observed_data`` (the training
            ``y``): what ArviZ's ``plot_ppc_dist``, ``plot_ppc_pit`` (and for the classifier
            ``plot_ppc_pava``/``plot_ppc_rootogram``) read.

        Raises
        ------
        ValueError
            For a ``method="map"`` fit, which has no posterior draws, and for X=None when the fit
            kept no training rows.
        """
        from bayesreg.estimators.predictive import predictive_tree

        tree = self._tree_with_draws("posterior predictive draws")
        rows, observed, obs = self._predictive_rows(X)
        rng = np.random.default_rng(random_state)
        y = self._observation_draws(self._parameter_draws(tree), rows, rng)
        post = tree["posterior"].to_dataset()
        return predictive_tree(
            "posterior_predictive",
            y,
            chain=post["chain"].values,
            draw=post["draw"].values,
            X=rows,
            feature_names=self._feature_names(),
            obs=obs,
            observed=observed,
        )

    def sample_prior_predictive(
        self, X: Any = None, draws: int = 500, *, random_state: Any = None
    ) -> xr.DataTree:
        """``draws`` draws of the parameters from the prior, and of ``y`` at the rows of ``X`` given each.

        The prior is the fitted estimator's, resolved against its features (per-feature scales and
        means by name). It must be proper: a flat coefficient prior, the default flat intercept prior
        (set ``intercept_prior_sigma``) or a flat noise prior has no draws and is refused, naming the
        parameter to set. Any fit will do, ``method="map"`` included (with X given).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or None
            The rows; None means the training rows (as in :meth:`sample_posterior_predictive`).
        draws : int, default 500
            The number of prior draws (one chain).
        random_state : int, numpy.random.Generator or None
            Seed for the draws (None: fresh randomness).

        Returns
        -------
        xarray.DataTree
            ``prior`` (the parameter draws, named as in the posterior), ``prior_predictive``
            (``y`` over chain, draw, obs), ``constant_data`` and, for X=None, ``observed_data``.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesreg import BayesianLinearRegression
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(40, 2)); y = 1.0 + X @ [0.5, -0.5] + rng.normal(size=40)
        >>> est = BayesianLinearRegression(1.0, noise_sigma=1.0, intercept_prior_sigma=2.0, method="exact")
        >>> prior = est.fit(X, y).sample_prior_predictive(draws=200, random_state=0)
        >>> dict(prior["prior_predictive"]["y"].sizes)
        {'chain': 1, 'draw': 200, 'obs': 40}
        """
        from bayesreg.estimators.predictive import predictive_tree, sample_prior

        check_is_fitted(self)
        if isinstance(draws, bool) or not isinstance(draws, int | np.integer) or draws < 1:
            raise ValueError(f"draws must be a positive int; got {draws!r}")
        rows, observed, obs = self._predictive_rows(X)
        rng = np.random.default_rng(random_state)
        params = sample_prior(
            int(draws),
            rng,
            coefficient_prior=self._coefficient_prior(),
            intercept_prior=self._intercept_prior(),
            fit_intercept=self.fit_intercept,
            noise_prior=self._noise_prior_record(),
            prior_sigma_prior=getattr(self, "prior_sigma_prior", None),
        )
        y = self._observation_draws(params, rows, rng)
        return predictive_tree(
            "prior_predictive",
            y,
            chain=np.arange(1),
            draw=np.arange(int(draws)),
            X=rows,
            feature_names=self._feature_names(),
            obs=obs,
            observed=observed,
            parameters=params.variables(self.fit_intercept),
        )

    def add_predictive_groups(
        self,
        *,
        posterior_predictive: bool = True,
        prior: bool = False,
        log_prior: bool = True,
        prior_draws: int = 500,
        random_state: Any = None,
    ) -> xr.DataTree:
        """Add predictive and prior groups for the training rows to ``idata_``, and return it.

        The fit's ``idata_`` then holds what ArviZ's checks read beside the posterior, so that
        ``arviz_plots.plot_ppc_dist(est.idata_)`` and ``arviz_stats.psense_summary(est.idata_)`` run
        on it directly (a group already there is replaced). ``save`` keeps them.

        Parameters
        ----------
        posterior_predictive : bool, default True
            Add ``posterior_predictive`` (:meth:`sample_posterior_predictive` at the training rows).
            The classifier's ``observed_data`` becomes int 0/1 like the draws (the same values).
        prior : bool, default False
            Add ``prior`` and ``prior_predictive`` (:meth:`sample_prior_predictive`, ``prior_draws``
            draws); off by default because the default flat intercept prior has no draws.
        log_prior : bool, default True
            Add ``log_prior``: for each posterior draw, the log prior density of each parameter
            (``coef`` per feature, ``intercept``, ``noise_sigma``, ``prior_sigma``; a flat prior
            is 0), as ``arviz_stats.psense`` expects.
        prior_draws : int, default 500
        random_state : int, numpy.random.Generator or None
            Seed for the draws.

        Raises
        ------
        ValueError
            For a ``method="map"`` fit (no ``idata_``), a fit that kept no training rows, or an
            improper prior with ``prior=True``.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesreg import BayesianLinearRegression
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(40, 2)); y = X @ [0.5, -0.5] + rng.normal(size=40)
        >>> est = BayesianLinearRegression(1.0, noise_sigma=1.0, method="exact").fit(X, y)
        >>> sorted(est.add_predictive_groups(random_state=0).children)
        ['constant_data', 'log_likelihood', 'log_prior', 'observed_data', 'posterior', 'posterior_predictive']
        """
        tree = self._tree_with_draws("predictive groups")
        rng = np.random.default_rng(random_state)
        if posterior_predictive or prior:
            self._predictive_rows(None)  # refuse a fit without training rows before any change
        new: dict[str, xr.Dataset] = {}
        if posterior_predictive:
            ppc = self.sample_posterior_predictive(random_state=rng)
            new["posterior_predictive"] = ppc["posterior_predictive"].to_dataset()
            new["observed_data"] = ppc["observed_data"].to_dataset()
        if prior:
            prior_tree = self.sample_prior_predictive(draws=prior_draws, random_state=rng)
            new["prior"] = prior_tree["prior"].to_dataset()
            new["prior_predictive"] = prior_tree["prior_predictive"].to_dataset()
        if log_prior:
            new["log_prior"] = self._log_prior_dataset(tree)
        for name, group in new.items():  # all computed first: an error leaves idata_ unchanged
            tree[name] = group
        return tree

    def prior_sensitivity(self, *, threshold: float = 0.05, alphas: tuple[float, float] = (0.99, 1.01)):
        """How much the posterior moves when the prior, or the likelihood, is power-scaled.

        The power-scaling sensitivity diagnostic of Kallioinen et al. (2024), computed by
        ``arviz_stats.psense`` from the posterior draws by importance sampling (no refit): the
        prior ``p(θ)`` is raised to a power ``α`` near 1 (and then the likelihood), and the
        diagnostic is the rate at which each parameter's posterior changes (a cumulative Jensen-
        Shannon distance per unit of ``log α``). It answers "how much does σ matter" for these data:
        a prior sensitivity above ``threshold`` (0.05) says the prior shapes that parameter's
        posterior; with a likelihood sensitivity below it too, the data say little about it
        ("strong prior / weak likelihood"); both above it hint at prior-data conflict.

        It needs posterior draws (``method="mcmc"`` or ``"exact"``) and the pointwise log
        likelihood (``compute_log_likelihood=True``, rows in memory). ``idata_`` is not changed;
        :meth:`add_predictive_groups` stores the ``log_prior`` group used here.

        Parameters
        ----------
        threshold : float, default 0.05
            The sensitivity above which the diagnosis flags a parameter (ArviZ's default).
        alphas : (float, float), default (0.99, 1.01)
            The powers the prior and likelihood are scaled by.

        Returns
        -------
        pandas.DataFrame
            One row per parameter (index ``parameter``: ``coef[<feature>]``, ``intercept``,
            ``noise_sigma``, ``prior_sigma``), with columns ``prior`` and ``likelihood`` (the
            sensitivities) and ``diagnosis`` (ArviZ's ``psense_summary`` wording: "✓",
            "potential strong prior / weak likelihood", "potential prior-data conflict").

        Examples
        --------
        A prior sd of 0.1 on standardised diabetes features squeezes every coefficient (the data
        say bmi moves y by about 24 per sd; the prior, by less than 0.3); a prior sd of 100
        leaves them to the data:

        >>> from sklearn.datasets import load_diabetes
        >>> from bayesreg import BayesianLinearRegression
        >>> X, y = load_diabetes(return_X_y=True, as_frame=True)
        >>> X = (X - X.mean()) / X.std()
        >>> def sensitivity(sigma):
        ...     est = BayesianLinearRegression(sigma, noise_sigma=54.0, method="exact", random_state=0)
        ...     return est.fit(X, y).prior_sensitivity()
        >>> tight = sensitivity(0.1)
        >>> bool((tight.filter(like="coef", axis=0)["prior"] > 0.05).all())
        True
        >>> tight.loc["coef[bmi]", "diagnosis"]
        'potential prior-data conflict'
        >>> bool((sensitivity(100.0)["prior"] < 0.05).all())
        True
        """
        import pandas as pd
        from arviz_stats import psense

        tree = self._tree_with_draws("a prior sensitivity")
        if "log_likelihood" not in tree.children:
            raise ValueError(
                "prior_sensitivity needs the pointwise log likelihood in idata_, which this fit did not "
                "store (compute_log_likelihood=False, or a fit on chunked input): refit with "
                "compute_log_likelihood=True and X, y as arrays."
            )
        work = tree.copy()
        work["log_prior"] = log_prior = self._log_prior_dataset(tree)
        by_group = {group: psense(work, group=group, alphas=alphas) for group in ("likelihood",)}
        n_draws = log_prior.sizes["chain"] * log_prior.sizes["draw"]
        total = sum(v.values.reshape(n_draws, -1).sum(axis=1) for v in log_prior.values())
        if float(np.ptp(total)) > 0:
            by_group["prior"] = psense(work, group="prior", alphas=alphas)
        else:  # every prior flat: power-scaling leaves the posterior as it is (psense cannot weight)
            by_group["prior"] = xr.zeros_like(by_group["likelihood"])
        rows = []
        for name in by_group["prior"].data_vars:
            values = {group: by_group[group][name] for group in by_group}
            labels = [name]
            if FEATURE_DIM in values["prior"].dims:
                labels = [f"{name}[{f}]" for f in values["prior"][FEATURE_DIM].values]
            for k, label in enumerate(labels):
                prior_s, lik_s = (float(np.ravel(values[g].values)[k]) for g in ("prior", "likelihood"))
                rows.append((label, prior_s, lik_s, _diagnosis(prior_s, lik_s, threshold)))
        frame = pd.DataFrame(rows, columns=["parameter", "prior", "likelihood", "diagnosis"])
        return frame.set_index("parameter")

    def _tree_with_draws(self, what: str) -> xr.DataTree:
        """``idata_`` of a fit with posterior draws; a clear error for a MAP fit."""
        check_is_fitted(self)
        idata = getattr(self, "idata_", None)
        if idata is None:
            raise ValueError(
                f"{what} need posterior draws, and a method={self.method!r} fit has none (idata_ is "
                "None). Refit with method='mcmc' (BayesianLinearRegression with a known noise_sigma "
                "also has method='exact', exact draws without a sampler)."
            )
        return idata

    def _predictive_rows(self, X: Any) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """The rows to predict at, the observed y (training rows only) and the obs coordinate."""
        if X is not None:
            rows = self._validate_test_data(X)
            return rows, None, np.arange(rows.shape[0])
        check_is_fitted(self)
        idata = getattr(self, "idata_", None)
        if idata is None or not {"constant_data", "observed_data"} <= set(idata.children):
            raise ValueError(
                "X=None means the training rows, but this fit kept none: a method='map' fit has no "
                "idata_, a fit on chunked input keeps no rows, and fits saved before predictive draws "
                "existed keep y but not X. Pass the rows as X."
            )
        const = idata["constant_data"]
        return const["X"].values, idata["observed_data"]["y"].values, const[OBS_DIM].values

    def _training_y(self) -> np.ndarray | None:
        """The training y kept in ``idata_`` (``observed_data``), or None."""
        idata = getattr(self, "idata_", None)
        if idata is None or "observed_data" not in idata.children:
            return None
        return idata["observed_data"]["y"].values

    def _parameter_draws(self, idata: xr.DataTree):
        """The posterior's draws as a :class:`~bayesreg.estimators.predictive.ParameterDraws`."""
        from bayesreg.estimators.predictive import ParameterDraws

        coef, intercept, extra = self._draws_from(idata)
        return ParameterDraws(coef, intercept, extra.get("noise_sigma"), extra.get("prior_sigma"))

    def _log_prior_dataset(self, idata: xr.DataTree) -> xr.Dataset:
        """The ``log_prior`` group: each posterior draw's log prior density, per parameter."""
        from bayesreg.estimators.predictive import draws_dataset, log_prior_draws

        draws = self._parameter_draws(idata)
        values = log_prior_draws(
            draws,
            coefficient_prior=self._coefficient_prior(),
            intercept_prior=self._intercept_prior(),
            fit_intercept=self.fit_intercept,
            noise_prior=self._noise_prior_record() if draws.noise_sigma is not None else None,
            prior_sigma_prior=getattr(self, "prior_sigma_prior", None),
        )
        post = idata["posterior"].to_dataset()
        return draws_dataset(
            values,
            chain=post["chain"].values,
            draw=post["draw"].values,
            coords={FEATURE_DIM: post[FEATURE_DIM].values},
        )

    def _noise_prior_record(self) -> Any:
        """The prior of a free noise sd (a ``NoisePrior``), or None: the model has none."""
        return None

    @contextmanager
    def _row_data_for_draws(
        self, X: Any, name: str, given: Any, check: Callable[[Any, int], np.ndarray | None]
    ) -> Iterator[None]:
        """Hold the per-row likelihood data ``name`` (an exposure, trials) while draws are made at X.

        For X=None (the training rows) it is the fit's own, from ``constant_data`` (None when the fit
        kept none); for new rows, ``check(given, n_rows)``. :meth:`_observation_draws` reads it as
        ``self._draw_row_data``.
        """
        if X is None and given is not None:
            raise ValueError(
                f"{name} is given but X is None (the training rows), whose {name} the fit kept: pass X "
                f"with its {name}, or leave {name} out."
            )
        if X is None:
            idata = getattr(self, "idata_", None)
            const = None if idata is None or "constant_data" not in idata.children else idata["constant_data"]
            values = None if const is None or name not in const else np.asarray(const[name].values)
        else:
            values = check(given, int(np.shape(X)[0]))
        self._draw_row_data = values
        try:
            yield
        finally:
            del self._draw_row_data

    def _observation_draws(self, draws: Any, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One draw of y per parameter draw (``ParameterDraws``) and row of ``X``: shape (S, n)."""
        raise NotImplementedError(f"{type(self).__name__} has no predictive draws")

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


def _diagnosis(prior: float, likelihood: float, threshold: float) -> str:
    """ArviZ's reading of a prior and a likelihood sensitivity (as in ``psense_summary``)."""
    if prior >= threshold and likelihood >= threshold:
        return "potential prior-data conflict"
    if prior > threshold > likelihood:
        return "potential strong prior / weak likelihood"
    return "✓"

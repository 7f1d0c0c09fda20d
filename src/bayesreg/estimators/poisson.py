"""Bayesian Poisson regression with a log link and an optional exposure: PoissonRegressor as a posterior."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike
from scipy.special import gammaln
from sklearn.base import RegressorMixin

from bayesreg.estimators.base import BayesianRegressionBase, FittedSpec
from bayesreg.estimators.penalty import Penalty
from bayesreg.estimators.predictive import ParameterDraws
from bayesreg.estimators.twins import poisson_penalty
from bayesreg.estimators.validation import (
    OPTIONAL_POSITIVE_FLOAT,
    POISSON_CONSTRAINTS,
    check_counts,
    check_exposure,
    check_sample_weight,
    check_sums_of_squares,
    sums_of_squares,
)
from bayesreg.stats.prior_terms import CoefficientPrior, InterceptPrior

__all__ = ["BayesianPoissonRegression"]


@dataclass(frozen=True)
class _PoissonData:
    """What the Poisson model is built from: rows, counts, priors, weights and the exposure."""

    X: np.ndarray
    counts: np.ndarray
    prior: CoefficientPrior
    intercept_prior: InterceptPrior | None
    sample_weight: np.ndarray | None = None  # row weights of the likelihood (None: all 1)
    exposure: np.ndarray | None = None  # the offset is log(exposure) (None: no offset)


class BayesianPoissonRegression(RegressorMixin, BayesianRegressionBase):
    """Poisson regression with a log link and ``coef ~ N(0, prior_sigma²)``, fitted in PyMC.

    The model is ``y_i ~ Poisson(e_i · exp(intercept + x_i·coef))``: counts ``y_i``, an optional
    exposure ``e_i`` (the time, area or population each count is over; ``log e_i`` is an offset),
    and a flat prior on the intercept. Its MAP equals
    ``PoissonRegressor(alpha=1/(n·prior_sigma²))``, ``n`` the number of rows (``Σ w`` with sample
    weights; see :meth:`penalty`). The posterior is not Gaussian, so its mean differs from that
    solution; the gap shrinks as the counts grow.

    Parameters
    ----------
    prior_sigma : float, array of floats or dict of floats by feature name, default 1.0
        Standard deviation of the prior on each coefficient (log-rate units per unit of X); one per
        feature when given so.
    prior : {"normal", "laplace", "elasticnet", "flat"}, default "normal"
        The shape of the coefficient prior, as in :class:`~bayesreg.BayesianLinearRegression`.
    prior_mean : float, array or dict by feature name, default 0.0
        The prior centre of the coefficients.
    l1_ratio : float, default 0.5
        The L1 share of ``prior="elasticnet"``.
    intercept_prior_sigma : float or None, default None
        A ``N(intercept_prior_mean, intercept_prior_sigma²)`` prior on the intercept (the log rate
        at X = 0); None is flat.
    intercept_prior_mean : float, default 0.0
    fit_intercept : bool, default True
    method : {"mcmc", "map"}, default "mcmc"
        Sample the posterior with NUTS, or only find the MAP.
    draws, tune, chains : int, default 1000, 1000, 4
    random_state : int, numpy.random.Generator or None, default None
    progressbar : bool, default True
    sample_kwargs : dict or None, default None
        Extra keyword arguments for :func:`pymc.sample`.
    compute_log_likelihood : bool, default True
        Store the pointwise log likelihood in ``idata_`` (for ``arviz.loo``).

    Attributes
    ----------
    coef_, intercept_, coef_sd_, map_coef_, map_intercept_, map_converged_, idata_, convergence_,
    n_features_in_, feature_names_in_, n_samples_fit_
        As in :class:`~bayesreg.BayesianLinearRegression` (on the log-rate scale).
    exposure_sum_ : float or None
        ``Σ w_i e_i`` of the training rows for a fit with an exposure (the total weight of the
        rates the ``PoissonRegressor`` twin fits), None without one.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2))
    >>> y = rng.poisson(np.exp(0.5 + X @ [0.3, -0.2]))
    >>> est = BayesianPoissonRegression(prior_sigma=1.0, method="map").fit(X, y)
    >>> twin = est.penalty().twin.fit(X, y)
    >>> bool(np.allclose(est.coef_, twin.coef_, rtol=1e-6))
    True
    """

    _constraints = POISSON_CONSTRAINTS

    def __init__(
        self,
        prior_sigma: float | ArrayLike | Mapping[str, float] = 1.0,
        *,
        prior: str = "normal",
        prior_mean: float | ArrayLike | Mapping[str, float] = 0.0,
        l1_ratio: float = 0.5,
        intercept_prior_sigma: float | None = None,
        intercept_prior_mean: float = 0.0,
        fit_intercept: bool = True,
        method: str = "mcmc",
        draws: int = 1000,
        tune: int = 1000,
        chains: int = 4,
        random_state: int | np.random.Generator | None = None,
        progressbar: bool = True,
        sample_kwargs: dict[str, Any] | None = None,
        compute_log_likelihood: bool = True,
    ):
        self.prior_sigma = prior_sigma
        self.prior = prior
        self.prior_mean = prior_mean
        self.l1_ratio = l1_ratio
        self.intercept_prior_sigma = intercept_prior_sigma
        self.intercept_prior_mean = intercept_prior_mean
        self.fit_intercept = fit_intercept
        self.method = method
        self.draws = draws
        self.tune = tune
        self.chains = chains
        self.random_state = random_state
        self.progressbar = progressbar
        self.sample_kwargs = sample_kwargs
        self.compute_log_likelihood = compute_log_likelihood

    def fit(
        self, X: Any, y: Any = None, sample_weight: Any = None, exposure: Any = None
    ) -> BayesianPoissonRegression:
        """Fit the model to ``X`` (n_samples, n_features) and counts ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Counts: whole numbers >= 0.
        sample_weight : array-like of shape (n_samples,), float or None, default None
            Row weights, as in scikit-learn: ``w_i`` multiplies row ``i``'s log-likelihood term
            (the prior is unchanged), so the MAP equals ``PoissonRegressor(alpha=1/(Σw·σ²))`` fitted
            with the same weights. ``n_samples_fit_`` is then ``Σ w``.
        exposure : array-like of shape (n_samples,), float or None, default None
            The exposure ``e_i > 0`` of each count (the offset ``log e_i``): the model's mean count
            is ``e_i · exp(b + x_i·w)``, so the coefficients describe the rate per unit of
            exposure. Pass the same to :meth:`predict` for expected counts.

        Returns
        -------
        self

        Raises
        ------
        ValueError, TypeError
            On a bad parameter or bad input (negative or fractional counts; an exposure that is
            <= 0, NaN or of the wrong length), each naming what is wrong. A failed fit leaves the
            estimator exactly unfitted.

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(1)
        >>> X = rng.normal(size=(100, 1)); e = rng.uniform(1.0, 5.0, size=100)
        >>> y = rng.poisson(e * np.exp(0.2 + 0.5 * X[:, 0]))
        >>> est = BayesianPoissonRegression(method="map").fit(X, y, exposure=e)
        >>> est.predict(X[:3], exposure=e[:3]).shape
        (3,)
        """
        self._validate_params()
        self._reset_fitted_state()
        self._check_method_options()
        self._is_chunked(X, y, accepts_chunks=False)
        X, y = self._validate_training_data(X, y, y_numeric=True)
        counts = check_counts(y)
        weights = check_sample_weight(sample_weight, X.shape[0])
        exposure_values = check_exposure(exposure, X.shape[0])
        active = np.ones(X.shape[0], dtype=bool) if weights is None else weights > 0
        if self.fit_intercept and self.intercept_prior_sigma is None and not np.any(counts[active] > 0):
            raise ValueError(
                "Input y is zero in every row (with a positive weight): with a flat intercept prior the "
                "log rate runs off to -infinity, so there is no MAP. Give the intercept a prior "
                "(intercept_prior_sigma=...), or fit data with some non-zero counts."
            )
        squares = sums_of_squares(X, centred=self.fit_intercept)
        check_sums_of_squares("X", squares, self._feature_names())
        self.n_samples_fit_: int | float
        if weights is None:
            self._warn_if_prior_scale_mismatched(np.sqrt(squares / X.shape[0]), 1.0, "one unit of log rate")
            self._x_mean = X.mean(axis=0) if self.fit_intercept else np.zeros(X.shape[1])
            self.n_samples_fit_ = int(X.shape[0])
        else:
            centred = self.fit_intercept
            self._x_mean = np.average(X, axis=0, weights=weights) if centred else np.zeros(X.shape[1])
            with np.errstate(over="ignore", invalid="ignore"):
                feature_var = np.average((X - self._x_mean) ** 2, axis=0, weights=weights)
            self._warn_if_prior_scale_mismatched(np.sqrt(feature_var), 1.0, "one unit of log rate")
            self.n_samples_fit_ = float(weights.sum())
        self.exposure_sum_: float | None = None
        if exposure_values is not None:
            w = np.ones(X.shape[0]) if weights is None else weights
            self.exposure_sum_ = float(np.sum(w * exposure_values))
        self.idata_ = None
        self.convergence_ = None
        data = _PoissonData(
            X, counts, self._coefficient_prior(), self._intercept_prior(), weights, exposure_values
        )
        map_result = self._fit_map(data)
        if self.method == "mcmc":
            self._fit_sampled(data, map_result)
        return self

    def _fitted_layout(self) -> dict[str, FittedSpec]:
        return super()._fitted_layout() | {"exposure_sum_": OPTIONAL_POSITIVE_FLOAT}

    def _build_model(self, data: _PoissonData, whitening=None):
        from bayesreg.backend.model import build_poisson_model

        return build_poisson_model(
            data.X,
            data.counts,
            feature_names=self._feature_names(),
            prior=data.prior,
            fit_intercept=self.fit_intercept,
            intercept_prior=data.intercept_prior,
            whitening=whitening,
            sample_weight=data.sample_weight,
            log_exposure=None if data.exposure is None else np.log(data.exposure),
        )

    def _fit_map(self, data: _PoissonData):
        initvals = None
        if self.fit_intercept:
            # Start at the log of the overall rate: the default start (log rate 0) can be far away.
            w = np.ones_like(data.counts) if data.sample_weight is None else data.sample_weight
            e = np.ones_like(data.counts) if data.exposure is None else data.exposure
            total = float(np.sum(w * data.counts))
            if total > 0:
                initvals = {"intercept_centered": np.log(total / float(np.sum(w * e)))}
        map_result = self._find_map(self._build_model(data), prior=data.prior, initvals=initvals)
        self._set_point_summaries_from_map()
        return map_result

    def _fit_sampled(self, data: _PoissonData, map_result) -> None:
        # The exposure goes in constant_data beside X, and to _pointwise_log_likelihood in extra.
        rows = None if data.exposure is None else {"exposure": data.exposure}
        self._sample(data, map_result, data.X, data.counts, data.sample_weight, rows)
        self._set_point_summaries_from_draws()

    def _pointwise_log_likelihood(self, X, y, coef, intercept, extra) -> np.ndarray:
        eta = intercept[:, None] + coef @ X.T
        if "exposure" in extra:
            eta = eta + np.log(np.asarray(extra["exposure"], dtype=float))[None, :]
        return y[None, :] * eta - np.exp(eta) - gammaln(y + 1.0)[None, :]

    # --- predictions ---------------------------------------------------------------------------

    def _log_exposure(self, exposure: Any, n_rows: int) -> np.ndarray:
        values = check_exposure(exposure, n_rows)
        return np.zeros(n_rows) if values is None else np.log(values)

    def predict(self, X: Any, exposure: Any = None, return_std: bool = False):
        """The posterior mean of the expected count ``e · exp(b + X·w)`` (the rate when ``exposure`` is None).

        For "mcmc" the mean (and sd) over the posterior draws; for "map" the value at the MAP,
        with the sd of the Laplace approximation by the delta method (``rate · sd(b + X·w)``).
        Draws of the counts themselves (Poisson noise included) come from
        :meth:`sample_posterior_predictive`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        exposure : array-like of shape (n_samples,), float or None, default None
            The exposure of each row; None predicts the rate per unit of exposure.
        return_std : bool, default False
            Also return the posterior sd of that expected count.

        Returns
        -------
        mean : ndarray of shape (n_samples,)
        std : ndarray of shape (n_samples,)
            Only when ``return_std=True``.
        """
        X = self._validate_test_data(X)
        offset = self._log_exposure(exposure, X.shape[0])
        if self.method == "map":
            mean = np.exp(self.intercept_ + X @ self.coef_ + offset)
            if not return_std:
                return mean
            return mean, mean * np.sqrt(self._laplace_linear_predictor_var(X))
        rates = np.exp(self._linear_predictor_draws(X) + offset[None, :])
        if not return_std:
            return rates.mean(axis=0)
        return rates.mean(axis=0), rates.std(axis=0, ddof=1)

    def sample_posterior_predictive(
        self, X: Any = None, *, exposure: Any = None, random_state: Any = None
    ) -> xr.DataTree:
        """Count draws at the rows of ``X`` from the posterior predictive, one per posterior draw.

        As :meth:`BayesianLinearRegression.sample_posterior_predictive
        <bayesreg.BayesianLinearRegression.sample_posterior_predictive>`, with ``y ~ Poisson(e ·
        exp(b + X·w))``. ``exposure`` is that of the rows of ``X`` (None: 1); for X=None the
        training rows are used with the exposure the fit was given.
        """
        with self._row_data_for_draws(X, "exposure", exposure, check_exposure):
            return super().sample_posterior_predictive(X, random_state=random_state)

    def sample_prior_predictive(
        self, X: Any = None, draws: int = 500, *, exposure: Any = None, random_state: Any = None
    ) -> xr.DataTree:
        """Draws of the parameters from the prior, and of the counts at the rows of ``X`` given each.

        As :meth:`BayesianLinearRegression.sample_prior_predictive
        <bayesreg.BayesianLinearRegression.sample_prior_predictive>`; ``exposure`` as in
        :meth:`sample_posterior_predictive`.
        """
        with self._row_data_for_draws(X, "exposure", exposure, check_exposure):
            return super().sample_prior_predictive(X, draws, random_state=random_state)

    def _observation_draws(
        self, draws: ParameterDraws, X: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """Counts (int64) ``y ~ Poisson(e · exp(b + X·w))``, one per parameter draw and row."""
        eta = draws.linear_predictor(X)
        exposure = getattr(self, "_draw_row_data", None)  # None: no offset
        if exposure is not None:
            eta = eta + np.log(exposure)[None, :]
        return rng.poisson(np.exp(eta)).astype(np.int64)

    def penalty(self) -> Penalty:
        """The penalised ``PoissonRegressor`` whose solution is this model's MAP.

        ``alpha = 1/(n·σ²)``: scikit-learn's objective is ``(1/(2n)) Σ deviance + (α/2)‖w‖²`` and
        the deviance is twice the negative log likelihood (up to a constant), so ``n`` times it is
        the negative log posterior. ``n`` is the row count, ``Σ w`` with sample weights, and
        ``Σ w·e`` for a fit with an exposure, whose twin (a
        :class:`~bayesreg.estimators.twins.PoissonExposureTwin`) fits ``y/e`` with weights ``w·e``.
        Per-feature scales and a normal intercept prior of mean 0 rescale columns; a prior mean and
        the L1 priors have no twin, and say so. ``n`` is known only after ``fit``.

        Examples
        --------
        >>> import numpy as np
        >>> X = np.arange(8.0).reshape(4, 2); y = np.array([0, 1, 3, 2])
        >>> est = BayesianPoissonRegression(prior_sigma=0.5, method="map").fit(X, y)
        >>> est.penalty().twin_text
        'PoissonRegressor(alpha=1)'
        """
        self._validate_params()
        self._check_method_options()
        return poisson_penalty(
            self._prior_for_penalty(),
            self._intercept_prior(),
            n_samples=getattr(self, "n_samples_fit_", None),
            fit_intercept=self.fit_intercept,
            exposure_sum=getattr(self, "exposure_sum_", None),
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.target_tags.positive_only = True
        return tags

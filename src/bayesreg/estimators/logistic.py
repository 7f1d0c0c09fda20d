"""Bayesian logistic regression with a Gaussian prior: L2 logistic regression, seen as a posterior."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import expit, log_expit
from sklearn.base import ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from bayesreg.estimators.base import BayesianRegressionBase, FittedSpec
from bayesreg.estimators.penalty import Penalty
from bayesreg.estimators.predictive import ParameterDraws, bernoulli_draws
from bayesreg.estimators.twins import logistic_penalty
from bayesreg.estimators.validation import (
    LOGISTIC_CONSTRAINTS,
    Constraint,
    check_labels,
    check_sample_weight,
    check_sums_of_squares,
    sums_of_squares,
)
from bayesreg.stats.prior_terms import CoefficientPrior, InterceptPrior

__all__ = ["BayesianLogisticRegression"]


@dataclass(frozen=True)
class _LogisticData:
    """What the logistic model is built from: the rows, 0/1 labels and the resolved priors."""

    X: np.ndarray
    y01: np.ndarray
    prior: CoefficientPrior
    intercept_prior: InterceptPrior | None
    sample_weight: np.ndarray | None = None  # row weights of the likelihood (None: all 1)


class BayesianLogisticRegression(ClassifierMixin, BayesianRegressionBase):
    """Binary logistic regression with ``coef ~ N(0, prior_sigma²)``, fitted in PyMC.

    The model is ``y ~ Bernoulli(sigmoid(intercept + X coef))`` with a flat prior on the intercept.
    Its MAP equals ``LogisticRegression(C=prior_sigma²)``. Its posterior is skewed, so the posterior
    mean does *not* equal that solution; the gap shrinks as the number of rows grows.

    Parameters
    ----------
    prior_sigma : float, default 1.0
        Standard deviation of the prior on each coefficient (logit units per unit of X).
    fit_intercept : bool, default True
        Whether to fit an intercept (flat prior, unpenalised).
    method : {"mcmc", "map"}, default "mcmc"
        Sample the posterior with NUTS, or only find the MAP.
    draws, tune, chains : int, default 1000, 1000, 4
        Posterior draws and tuning steps per chain, and the number of chains.
    random_state : int, numpy.random.Generator or None, default None
        Seed for the sampler.
    progressbar : bool, default True
        Show the sampler's progress bar.
    sample_kwargs : dict or None, default None
        Extra keyword arguments for :func:`pymc.sample`.
    compute_log_likelihood : bool, default True
        Store the pointwise log likelihood in ``idata_`` (for ``arviz.loo``); it takes 8 bytes per
        draw and row, so turn it off for very many rows.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        The two labels; ``classes_[1]`` is the event modelled by the sigmoid.
    coef_, intercept_, coef_sd_, map_coef_, map_intercept_, map_converged_, idata_, convergence_,
    n_features_in_, feature_names_in_, n_samples_fit_
        As in :class:`~bayesreg.BayesianLinearRegression`.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 2))
    >>> y = np.where(X @ [2.0, -1.0] + rng.logistic(size=100) > 0, "yes", "no")
    >>> est = BayesianLogisticRegression(prior_sigma=1.0, method="map").fit(X, y)
    >>> est.classes_.tolist()
    ['no', 'yes']
    """

    _constraints = LOGISTIC_CONSTRAINTS

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

    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> BayesianLogisticRegression:
        """Fit the model to ``X`` (n_samples, n_features) and binary labels ``y``.

        Unlike :class:`~bayesreg.BayesianLinearRegression`, it needs every row in memory: chunked
        input is refused.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Two distinct labels of one type (no None).
        sample_weight : array-like of shape (n_samples,), float or None, default None
            Row weights, as in scikit-learn: ``w_i`` multiplies row ``i``'s log-likelihood term, as
            if the row were repeated ``w_i`` times (the prior is unchanged), so the MAP equals
            ``LogisticRegression(C).fit(X, y, sample_weight=w)`` and the sampled posterior uses the
            weighted likelihood. Weights must be finite and >= 0, not all zero; a zero weight
            ignores its row. ``n_samples_fit_`` is then ``Σ w``; the pointwise ``log_likelihood``
            holds ``w_i · log p(y_i | θ)`` and ``constant_data`` the weights, as for
            :meth:`BayesianLinearRegression.fit <bayesreg.BayesianLinearRegression.fit>`.

        Returns
        -------
        self

        Raises
        ------
        ValueError, TypeError
            On a bad parameter or bad input, each naming what is wrong. Whatever fails, and at
            whatever step, the estimator is then left exactly unfitted, as scikit-learn users expect
            after a failed ``fit``: every fitted attribute, of this fit and of any earlier one
            (``classes_`` included), is removed, so ``check_is_fitted`` raises ``NotFittedError``
            and ``save`` refuses. The parameters are kept as set.
        """
        self._validate_params()
        self._reset_fitted_state()
        self._check_method_options()
        self._is_chunked(X, y, accepts_chunks=False)
        X, y = self._validate_training_data(X, y, y_numeric=False)
        weights = check_sample_weight(sample_weight, X.shape[0])
        check_labels(y)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if self.classes_.size != 2:
            raise ValueError(
                "Only binary classification is supported: y must hold exactly two classes for "
                f"BayesianLogisticRegression; got "
                f"{self.classes_.size} class(es): {self.classes_.tolist()[:10]}. Use a binary "
                "target (multinomial models are not supported)."
            )
        y01 = (y == self.classes_[1]).astype(np.int64)
        if weights is not None and np.unique(y01[weights > 0]).size < 2:
            gone = np.asarray(self.classes_[0] if np.all(y01[weights > 0] == 1) else self.classes_[1])
            raise ValueError(
                f"sample_weight is zero for every row of class {gone.item()!r}, so only one class is "
                "left to fit (with a flat intercept its log-odds run off to infinity): give some rows "
                "of each of the two classes a positive weight."
            )
        squares = sums_of_squares(X, centred=self.fit_intercept)
        check_sums_of_squares("X", squares, self._feature_names())
        # The feature scale the prior meets, as the linear model measures it (about the mean with
        # an intercept, about 0 without): one pass over X serves both checks.
        self.n_samples_fit_: int | float
        if weights is None:
            self._warn_if_prior_scale_mismatched(np.sqrt(squares / X.shape[0]), 1.0, "one logit")
            self._x_mean = X.mean(axis=0) if self.fit_intercept else np.zeros(X.shape[1])
            self.n_samples_fit_ = int(X.shape[0])
        else:  # the same, of the weighted rows (as of the rows repeated w_i times)
            centred = self.fit_intercept
            self._x_mean = np.average(X, axis=0, weights=weights) if centred else np.zeros(X.shape[1])
            with np.errstate(over="ignore", invalid="ignore"):
                feature_var = np.average((X - self._x_mean) ** 2, axis=0, weights=weights)
            self._warn_if_prior_scale_mismatched(np.sqrt(feature_var), 1.0, "one logit")
            self.n_samples_fit_ = float(weights.sum())
        self.idata_ = None
        self.convergence_ = None
        data = _LogisticData(X, y01, self._coefficient_prior(), self._intercept_prior(), weights)
        map_result = self._fit_map(data)
        if self.method == "mcmc":
            self._fit_sampled(data, map_result)
        return self

    def _fitted_layout(self) -> dict[str, FittedSpec]:
        two_labels = Constraint(
            "an array of two distinct labels",
            lambda v: isinstance(v, np.ndarray) and v.shape == (2,) and bool(v[0] != v[1]),
        )
        return super()._fitted_layout() | {"classes_": two_labels}

    def _build_model(self, data: _LogisticData, whitening=None):
        from bayesreg.backend.model import build_logistic_model

        return build_logistic_model(
            data.X,
            data.y01,
            feature_names=self._feature_names(),
            prior=data.prior,
            fit_intercept=self.fit_intercept,
            intercept_prior=data.intercept_prior,
            whitening=whitening,
            sample_weight=data.sample_weight,
        )

    def _fit_map(self, data: _LogisticData):
        map_result = self._find_map(self._build_model(data), prior=data.prior)
        self._set_point_summaries_from_map()
        return map_result

    def _fit_sampled(self, data: _LogisticData, map_result) -> None:
        self._sample(data, map_result, data.X, data.y01.astype(float), data.sample_weight)
        self._set_point_summaries_from_draws()

    def _pointwise_log_likelihood(self, X, y, coef, intercept, extra) -> np.ndarray:
        eta = intercept[:, None] + coef @ X.T
        return y[None, :] * log_expit(eta) + (1.0 - y[None, :]) * log_expit(-eta)

    def _observation_draws(
        self, draws: ParameterDraws, X: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """0/1 labels (int64), 1 meaning ``classes_[1]``, as in ``observed_data``."""
        return bernoulli_draws(draws.linear_predictor(X), rng)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, averaged over posterior draws ("mcmc") or at the MAP ("map").

        Returns
        -------
        ndarray of shape (n_samples, 2)
            Columns follow ``classes_``.
        """
        X = self._validate_test_data(X)
        if self.method == "map":
            p1 = expit(self.intercept_ + X @ self.coef_)
        else:
            p1 = expit(self._linear_predictor_draws(X)).mean(axis=0)
        return np.column_stack([1.0 - p1, p1])

    def decision_function(self, X: Any) -> np.ndarray:
        """The linear predictor ``b + X·w``: log-odds of ``classes_[1]``, at the MAP or averaged over draws.

        Computed directly, not from probabilities, so it stays finite and ordered where
        :meth:`predict_proba` rounds to 0 or 1 (ROC AUC scoring needs that). For "mcmc" it is the
        posterior mean of the log-odds; that mean can differ in sign from the log-odds of the
        averaged probability that :meth:`predict` thresholds, only for rows near 0.5.

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(100, 2)); y = (X[:, 0] + rng.logistic(size=100) > 0).astype(int)
        >>> est = BayesianLogisticRegression(method="map").fit(X, y)
        >>> twin = est.ridge_equivalent().fit(X, y)
        >>> bool(np.allclose(est.decision_function(X), twin.decision_function(X), rtol=1e-6))
        True
        """
        X = self._validate_test_data(X)
        if self.method == "map":
            return self.intercept_ + X @ self.coef_
        return self._linear_predictor_draws(X).mean(axis=0)

    def predict(self, X: Any) -> np.ndarray:
        """The more probable label of each row under :meth:`predict_proba`."""
        check_is_fitted(self)
        return self.classes_[(self.predict_proba(X)[:, 1] > 0.5).astype(int)]

    def penalty(self) -> Penalty:
        """The penalised ``LogisticRegression`` whose solution is this model's MAP.

        ``C = prior_sigma²`` with an L2 penalty (``l1_ratio=0``, solved by Newton's method to a
        tight tolerance) for the default normal prior; ``C = b = σ/√2`` with ``l1_ratio=1`` for
        ``prior="laplace"`` and ``C = 1/(λ1 + λ2)`` with the prior's ``l1_ratio`` for
        ``"elasticnet"`` (both by saga, scikit-learn's only L1 solver that leaves the intercept
        unpenalised); ``C = inf`` for ``"flat"``. Per-feature scales rescale the columns. A prior
        mean has no twin (``LogisticRegression`` takes no offset), and says so.
        :meth:`ridge_equivalent` returns its ``twin``.

        Examples
        --------
        >>> BayesianLogisticRegression(prior_sigma=2.0).ridge_equivalent().C
        4.0
        >>> BayesianLogisticRegression(prior_sigma=2.0).penalty().twin_text
        'LogisticRegression(C=4)'
        """
        self._validate_params()
        self._check_method_options()
        return logistic_penalty(
            self._prior_for_penalty(), self._intercept_prior(), fit_intercept=self.fit_intercept
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.input_tags.sparse = False
        return tags

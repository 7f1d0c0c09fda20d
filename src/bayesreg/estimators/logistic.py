"""Bayesian logistic regression with a Gaussian prior: L2 logistic regression, seen as a posterior.

One estimator, three likelihoods, chosen by the data given to ``fit``: Bernoulli (two labels),
binomial (``y`` successes out of ``trials``) and multinomial (K ≥ 3 labels, the symmetric softmax).
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike
from scipy.special import expit, gammaln, softmax
from sklearn.base import ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from bayesreg._dims import CLASS_DIM, FEATURE_DIM, INTERCEPT_LABEL
from bayesreg.estimators.base import BayesianRegressionBase, FittedSpec
from bayesreg.estimators.laplace_psis import fit_laplace, rows_log_likelihood
from bayesreg.estimators.penalty import Penalty
from bayesreg.estimators.predictive import ParameterDraws, bernoulli_draws
from bayesreg.estimators.prior_params import is_per_feature
from bayesreg.estimators.twins import binomial_penalty, logistic_penalty, multinomial_penalty
from bayesreg.estimators.validation import (
    LOGISTIC_CONSTRAINTS,
    Constraint,
    check_binomial_counts,
    check_labels,
    check_sample_weight,
    check_sums_of_squares,
    sums_of_squares,
)
from bayesreg.stats.prior_terms import CoefficientPrior, InterceptPrior

__all__ = ["BayesianLogisticRegression"]

# The likelihood a fit used (the fitted attribute ``likelihood_``).
BERNOULLI, BINOMIAL, MULTINOMIAL = "bernoulli", "binomial", "multinomial"


@dataclass(frozen=True)
class _LogisticData:
    """What the logistic model is built from: the rows, the outcomes and the resolved priors.

    ``y01`` is the 0/1 label (Bernoulli), the number of successes (binomial, with ``trials``) or
    the class index 0..K−1 (multinomial).
    """

    X: np.ndarray
    y01: np.ndarray
    prior: CoefficientPrior
    intercept_prior: InterceptPrior | None
    sample_weight: np.ndarray | None = None  # row weights of the likelihood (None: all 1)
    trials: np.ndarray | None = None  # binomial counts: the trials of each row


def _log_expit_in_place(z: np.ndarray) -> np.ndarray:
    """``log expit(z) = min(z, 0) - log1p(exp(-|z|))``, written over ``z``, which it returns.

    The same formula as :func:`scipy.special.log_expit`, accurate for any ``z`` (no overflow, no
    cancellation), in numpy's vectorised ufuncs: on the draws × rows array of a pointwise log
    likelihood (4000 × 569) it takes 14 ms against scipy's 57 ms, whose loop is one element at a
    time, and it allocates one array rather than three.

    Examples
    --------
    >>> z = np.array([-800.0, 0.0, 30.0])
    >>> expected = [-800.0, -np.log(2.0), -np.log1p(np.exp(-30.0))]
    >>> np.allclose(_log_expit_in_place(z.copy()), expected, rtol=1e-15, atol=0)
    True
    """
    tail = np.abs(z)
    np.negative(tail, out=tail)
    np.exp(tail, out=tail)
    np.log1p(tail, out=tail)
    np.minimum(z, 0.0, out=z)
    z -= tail
    return z


class BayesianLogisticRegression(ClassifierMixin, BayesianRegressionBase):
    """Logistic regression with ``coef ~ N(0, prior_sigma²)``, fitted in PyMC: two labels, counts, K classes.

    The model is ``y ~ Bernoulli(sigmoid(intercept + X coef))`` with a flat prior on the intercept.
    Its MAP equals ``LogisticRegression(C=prior_sigma²)``. Its posterior is skewed, so the posterior
    mean does *not* equal that solution; the gap shrinks as the number of rows grows.

    Two more likelihoods share the estimator, chosen by what ``fit`` gets (``likelihood_`` says
    which):

    * **Binomial counts**, ``fit(X, y, trials=t)``: ``y_i ~ Binomial(t_i, sigmoid(b + x_i·w))``,
      ``y_i`` successes out of ``t_i`` trials. It is the Bernoulli model of the data expanded to
      ``t_i`` 0/1 rows each, so its MAP equals ``LogisticRegression(C=prior_sigma²)`` fitted on
      those rows (or on each row twice, successes with weight ``y_i`` and failures with weight
      ``t_i − y_i``), and its posterior is the expanded data's, at the cost of one row per count.
      ``classes_`` is ``[0, 1]`` (failure, success); ``predict_proba(X)[:, 1]`` is the success
      probability.
    * **K ≥ 3 classes** (multinomial): ``P(y_i = k) = softmax_k(b + W x_i)`` in scikit-learn's
      symmetric parametrisation: ``coef_`` has shape (K, p), every class's coefficient vector under
      the prior ``N(0, prior_sigma²)`` (which identifies them: the likelihood only sees differences
      between classes), and the intercepts are flat. Flat intercepts are identified only up to a
      common shift (softmax does not change), so the posterior is improper along that direction:
      the model samples K − 1 free contrasts (intercepts relative to the last class) and reports
      ``intercept_`` (shape (K,)) centred to sum 0, as scikit-learn does. Its MAP equals
      ``LogisticRegression(C=prior_sigma²)`` (multinomial). It takes the normal prior, one sd or
      one per feature (shared by the classes), with mean 0 and a flat intercept; other priors are
      refused. The posterior's ``coef`` has dimensions ``(class, feature)``, ``intercept``
      ``(class,)``, the class coordinate holding the labels as text.

    Parameters
    ----------
    prior_sigma : float, default 1.0
        Standard deviation of the prior on each coefficient (logit units per unit of X).
    fit_intercept : bool, default True
        Whether to fit an intercept (flat prior, unpenalised).
    method : {"mcmc", "map", "laplace"}, default "mcmc"
        Sample the posterior with NUTS, or only find the MAP, or (fast, for many rows) draw from the
        Gaussian at the MAP and correct the draws by Pareto-smoothed importance sampling:
        ``laplace_.pareto_k`` says whether that worked (above 0.7 the fit warns and says to use
        "mcmc"). "laplace" takes the normal or flat prior and two labels or counts, not K ≥ 3
        classes (see :mod:`bayesreg.estimators.laplace_psis`).
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
    classes_ : ndarray of shape (n_classes,)
        The labels, sorted; with two, ``classes_[1]`` is the event modelled by the sigmoid. ``[0, 1]``
        for binomial counts.
    likelihood_ : {"bernoulli", "binomial", "multinomial"}
        The likelihood fitted: two labels, counts with ``trials``, or K ≥ 3 classes.
    coef_, coef_sd_, map_coef_ : ndarray of shape (n_features,), or (n_classes, n_features) for K ≥ 3
    intercept_, map_intercept_ : float, or ndarray of shape (n_classes,) for K ≥ 3 (summing to 0)
    map_converged_, idata_, convergence_, laplace_, n_features_in_, feature_names_in_, n_samples_fit_
        As in :class:`~bayesreg.BayesianLinearRegression`; ``n_samples_fit_`` counts the trials
        (``Σ trials``, times the weights) of binomial counts.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 2))
    >>> y = np.where(X @ [2.0, -1.0] + rng.logistic(size=100) > 0, "yes", "no")
    >>> est = BayesianLogisticRegression(prior_sigma=1.0, method="map").fit(X, y)
    >>> est.classes_.tolist()
    ['no', 'yes']

    Counts: 3 groups of 20 trials each.

    >>> Xg = np.array([[-1.0], [0.0], [1.0]])
    >>> counts = BayesianLogisticRegression(method="map").fit(Xg, [4, 10, 15], trials=[20, 20, 20])
    >>> counts.likelihood_, counts.predict_proba(Xg)[:, 1].round(2).tolist()
    ('binomial', [0.24, 0.48, 0.73])

    Three classes:

    >>> from sklearn.datasets import load_iris
    >>> Xi, yi = load_iris(return_X_y=True)
    >>> iris = BayesianLogisticRegression(method="map").fit(Xi, yi)
    >>> iris.likelihood_, iris.coef_.shape, abs(float(iris.intercept_.sum())) < 1e-12  # centred
    ('multinomial', (3, 4), True)
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

    def fit(
        self, X: Any, y: Any = None, sample_weight: Any = None, *, trials: Any = None
    ) -> BayesianLogisticRegression:
        """Fit the model to ``X`` (n_samples, n_features) and labels (or counts) ``y``.

        Unlike :class:`~bayesreg.BayesianLinearRegression`, it needs every row in memory: chunked
        input is refused.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Labels of one type (no None): two distinct ones (Bernoulli) or K ≥ 3 (multinomial;
            every class must have rows, so a categorical y with an unused level is refused). With
            ``trials``: the number of successes of each row, whole numbers in ``[0, trials_i]``.
        sample_weight : array-like of shape (n_samples,), float or None, default None
            Row weights, as in scikit-learn: ``w_i`` multiplies row ``i``'s log-likelihood term, as
            if the row were repeated ``w_i`` times (the prior is unchanged), so the MAP equals
            ``LogisticRegression(C).fit(X, y, sample_weight=w)`` and the sampled posterior uses the
            weighted likelihood. Weights must be finite and >= 0, not all zero; a zero weight
            ignores its row. ``n_samples_fit_`` is then ``Σ w``; the pointwise ``log_likelihood``
            holds ``w_i · log p(y_i | θ)`` and ``constant_data`` the weights, as for
            :meth:`BayesianLinearRegression.fit <bayesreg.BayesianLinearRegression.fit>`.
        trials : array-like of shape (n_samples,) or None, default None
            Binomial counts: the number of trials of each row (whole numbers >= 1), ``y`` the
            successes among them. The fit is then that of the rows expanded to 0/1 outcomes (see the
            class docstring); ``observed_data`` holds the counts and ``constant_data`` the trials.

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
        if trials is not None and y is None:
            raise ValueError(
                "trials was given without y: with trials, y is the number of successes of each row. "
                "Pass fit(X, y=successes, trials=trials)."
            )
        self._is_chunked(X, y, accepts_chunks=False)
        _check_no_unused_levels(y)
        X, y = self._validate_training_data(X, y, y_numeric=False)
        weights = check_sample_weight(sample_weight, X.shape[0])
        if trials is not None:
            y01, n_trials = check_binomial_counts(y, trials, X.shape[0])
            self.classes_ = np.array([0, 1])
            self.likelihood_ = BINOMIAL
            row_weights = n_trials * (1.0 if weights is None else weights)
            _check_both_outcomes(y01, n_trials, weights)
        else:
            y01, n_trials = self._label_codes(y, weights), None
            row_weights = weights
        squares = sums_of_squares(X, centred=self.fit_intercept)
        check_sums_of_squares("X", squares, self._feature_names())
        # The feature scale the prior meets, as the linear model measures it (about the mean with
        # an intercept, about 0 without): one pass over X serves both checks.
        self.n_samples_fit_: int | float
        if row_weights is None:
            self._warn_if_prior_scale_mismatched(np.sqrt(squares / X.shape[0]), 1.0, "one logit")
            self._x_mean = X.mean(axis=0) if self.fit_intercept else np.zeros(X.shape[1])
            self.n_samples_fit_ = int(X.shape[0])
        else:  # the same, of the weighted rows (as of the rows repeated w_i times; counts: t_i·w_i)
            centred = self.fit_intercept
            self._x_mean = np.average(X, axis=0, weights=row_weights) if centred else np.zeros(X.shape[1])
            with np.errstate(over="ignore", invalid="ignore"):
                feature_var = np.average((X - self._x_mean) ** 2, axis=0, weights=row_weights)
            self._warn_if_prior_scale_mismatched(np.sqrt(feature_var), 1.0, "one logit")
            total = row_weights.sum()
            self.n_samples_fit_ = int(total) if weights is None else float(total)
        self.idata_ = None
        self.convergence_ = None
        data = _LogisticData(
            X, y01, self._coefficient_prior(), self._intercept_prior(), weights, trials=n_trials
        )
        map_result = self._fit_map(data)
        if self.method == "mcmc":
            self._fit_sampled(data, map_result)
        elif self.method == "laplace":  # the Gaussian at the MAP, corrected by PSIS
            rows = None if data.trials is None else {"trials": data.trials}
            y_obs = data.y01 if rows else data.y01.astype(float)  # as _fit_sampled keeps them
            weights = data.sample_weight
            loglik = rows_log_likelihood(self, data.X, y_obs, weights, rows)
            fit_laplace(self, map_result, loglik, X=data.X, y=y_obs, sample_weight=weights, row_data=rows)
        return self

    def _label_codes(self, y: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
        """Set ``classes_`` and ``likelihood_`` from the labels; return each row's class index."""
        check_labels(y)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if self.classes_.size < 2:
            raise ValueError(
                f"y must hold at least two classes for BayesianLogisticRegression; got "
                f"{self.classes_.size} class: {self.classes_.tolist()}. A single class has nothing to "
                "separate (with a flat intercept its log-odds run off to infinity)."
            )
        codes = np.searchsorted(self.classes_, y).astype(np.int64)
        if weights is not None:
            weight_per_class = np.bincount(codes, weights=weights, minlength=self.classes_.size)
            gone = np.flatnonzero(weight_per_class == 0)
            if gone.size:
                which = [np.asarray(c).item() for c in self.classes_[gone]]
                raise ValueError(
                    f"sample_weight is zero for every row of class{'es' if gone.size > 1 else ''} "
                    f"{', '.join(map(repr, which))}, so that class has no rows to fit (with a flat "
                    "intercept its log-odds run off to -infinity): give some rows of each class a "
                    "positive weight, or drop the class from y."
                )
        if self.classes_.size == 2:
            self.likelihood_ = BERNOULLI
            return codes
        self.likelihood_ = MULTINOMIAL
        self._check_multinomial_options()
        return codes

    def _check_multinomial_options(self) -> None:
        """Refuse, in one line, the parameters the K-class model does not take."""
        bad = []
        if self.prior != "normal":
            bad.append(f"prior={self.prior!r}")
        if is_per_feature(self.prior_mean) or self.prior_mean != 0:
            bad.append("a non-zero prior_mean")
        if self.intercept_prior_sigma is not None:
            bad.append("intercept_prior_sigma")
        if bad:
            raise ValueError(
                f"y has {self.classes_.size} classes, and the K-class (multinomial) model takes only the "
                f"normal prior with mean 0 (prior_sigma one number or one per feature) and a flat "
                f"intercept; it got {', '.join(bad)}: use prior='normal', prior_mean=0, "
                "intercept_prior_sigma=None, or a binary y."
            )

    def _likelihood(self) -> str:
        """``likelihood_``, Bernoulli for fits saved before it existed."""
        return getattr(self, "likelihood_", BERNOULLI)

    @property
    def _multinomial(self) -> bool:
        return self._likelihood() == MULTINOMIAL

    def _fitted_layout(self) -> dict[str, FittedSpec]:
        likelihood = self._likelihood()
        k = 2 if likelihood != MULTINOMIAL else max(3, np.size(getattr(self, "classes_", ())))
        labels = Constraint(
            f"an array of {'two' if k == 2 else k} distinct labels",
            lambda v: isinstance(v, np.ndarray) and v.shape == (k,) and np.unique(v).size == k,
        )
        kinds = Constraint(
            f"one of {[BERNOULLI, BINOMIAL, MULTINOMIAL]}", lambda v: v in (BERNOULLI, BINOMIAL, MULTINOMIAL)
        )
        layout = super()._fitted_layout() | {"classes_": labels, "likelihood_": kinds}
        if likelihood == MULTINOMIAL:
            shape = (k, self.n_features_in_)
            layout |= {"coef_": shape, "coef_sd_": shape, "map_coef_": shape}
            layout |= {"intercept_": (k,), "map_intercept_": (k,)}
        return layout

    _optional_fitted_attrs = (*BayesianRegressionBase._optional_fitted_attrs, "likelihood_")

    def _structure_key(self) -> tuple:
        return (*super()._structure_key(), self._likelihood())

    # --- K classes: coef (K, p), intercept (K,) -----------------------------------------------

    @property
    def _coef_dims(self) -> tuple[str, ...]:
        return (CLASS_DIM, FEATURE_DIM) if self._multinomial else (FEATURE_DIM,)

    def _location_size(self) -> int:
        if not self._multinomial:
            return super()._location_size()
        k = self.classes_.size
        return k * self.n_features_in_ + (k - 1) * int(self.fit_intercept)

    def _term_labels(self) -> list[str]:
        if not self._multinomial:
            return super()._term_labels()
        classes = [str(np.asarray(c).item()) for c in self.classes_]
        labels = [f"{f} [{c}]" for c in classes for f in self._feature_names()]
        if self.fit_intercept:
            labels += [f"{INTERCEPT_LABEL} [{c}]" for c in classes]
        return labels

    def _terms(self, coef: Any, intercept: Any) -> np.ndarray:
        if not self._multinomial:
            return super()._terms(coef, intercept)
        flat = np.ravel(np.asarray(coef, dtype=float))
        if not self.fit_intercept:
            return flat
        return np.concatenate([flat, np.ravel(np.asarray(intercept, dtype=float))])

    def _term_draws(self, posterior) -> np.ndarray:
        if not self._multinomial:
            return super()._term_draws(posterior)
        chains, draws = posterior.sizes["chain"], posterior.sizes["draw"]
        parts = [posterior["coef"].transpose("chain", "draw", CLASS_DIM, FEATURE_DIM).values]
        parts = [parts[0].reshape(chains, draws, -1)]
        if self.fit_intercept:
            parts.append(posterior["intercept"].transpose("chain", "draw", CLASS_DIM).values)
        return np.concatenate(parts, axis=2)

    def _location_to_terms(self) -> np.ndarray:
        """Coefficients as they are; the centred intercepts ``C((a, 0) − W x̄)``, ``C = I − 11ᵀ/K``."""
        if not self._multinomial:
            return super()._location_to_terms()
        k, p = self.classes_.size, self.n_features_in_
        coef_rows = np.eye(k * p, self._location_size())
        if not self.fit_intercept:
            return coef_rows
        raw = np.zeros((k, self._location_size()))
        x_mean = np.asarray(self._x_mean, dtype=float)
        for c in range(k):
            raw[c, c * p : (c + 1) * p] = -x_mean
            if c < k - 1:
                raw[c, k * p + c] = 1.0
        centring = np.eye(k) - 1.0 / k
        return np.vstack([coef_rows, centring @ raw])

    def _find_map(self, model, *, prior: CoefficientPrior, initvals=None, extra_outputs=()):
        if not self._multinomial:
            return super()._find_map(model, prior=prior, initvals=initvals, extra_outputs=extra_outputs)
        from bayesreg.backend.inference import find_map

        result = find_map(
            model,
            location_vars=self._location_vars,
            output_vars=self._output_vars,
            initvals=initvals,
            structure_key=self._structure_key(),
        )
        self.map_coef_ = result.values["coef"].copy()
        k = self.classes_.size
        intercepts = result.values["intercept"].copy() if self.fit_intercept else np.zeros(k)
        setattr(self, "map_intercept_", intercepts)  # noqa: B010 (one per class; a float otherwise)
        self.map_converged_ = result.converged
        self._map_result = result
        return result

    def _set_point_summaries_from_map(self) -> None:
        if not self._multinomial:
            return super()._set_point_summaries_from_map()
        shape = self.map_coef_.shape
        self.coef_ = self.map_coef_.copy()
        setattr(self, "intercept_", np.array(self.map_intercept_, dtype=float))  # noqa: B010 (per class)
        self.coef_sd_ = np.sqrt(np.diag(self._map_result.location_cov)[: self.map_coef_.size]).reshape(shape)

    def _set_point_summaries_from_draws(self) -> None:
        if not self._multinomial:
            return super()._set_point_summaries_from_draws()
        coef, intercept, _ = self._draws_from(self._posterior_tree())
        self.coef_ = coef.mean(axis=0)
        self.coef_sd_ = coef.std(axis=0, ddof=1)
        self.intercept_ = intercept.mean(axis=0)

    def _draws_from(self, idata):
        """Draws flattened over chains; K classes: coef (S, K, p), intercept (S, K)."""
        if not self._multinomial:
            return super()._draws_from(idata)
        post = idata["posterior"].to_dataset()
        k, p = post.sizes[CLASS_DIM], post.sizes[FEATURE_DIM]
        coef = post["coef"].transpose("chain", "draw", CLASS_DIM, FEATURE_DIM).values.reshape(-1, k, p)
        n = coef.shape[0]
        if "intercept" in post.data_vars:
            intercept = post["intercept"].transpose("chain", "draw", CLASS_DIM).values.reshape(n, k)
        else:
            intercept = np.zeros((n, k))
        return coef, intercept, {}

    def _softmax_draws(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities of every posterior draw at the rows of ``X``: shape (S, n, K)."""
        coef, intercept, _ = self._draws_from(self._posterior_tree())
        return softmax(intercept[:, None, :] + np.einsum("skp,np->snk", coef, X), axis=2)

    def _build_model(self, data: _LogisticData, whitening=None):
        from bayesreg.backend.model import (
            build_binomial_model,
            build_logistic_model,
            build_multinomial_model,
        )

        if data.trials is not None:
            return build_binomial_model(
                data.X,
                data.y01,
                data.trials,
                feature_names=self._feature_names(),
                prior=data.prior,
                fit_intercept=self.fit_intercept,
                intercept_prior=data.intercept_prior,
                whitening=whitening,
                sample_weight=data.sample_weight,
            )
        if self._multinomial:
            return build_multinomial_model(
                data.X,
                data.y01,
                class_names=[str(np.asarray(c).item()) for c in self.classes_],
                feature_names=self._feature_names(),
                prior=data.prior,
                fit_intercept=self.fit_intercept,
                whitening=whitening,
                sample_weight=data.sample_weight,
            )
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
        if data.trials is not None:  # the counts, with the trials of each row beside X
            row_data = {"trials": data.trials}
            self._sample(data, map_result, data.X, data.y01, data.sample_weight, row_data)
        elif self._multinomial:  # the class index 0..K−1 of each row
            self._sample(data, map_result, data.X, data.y01, data.sample_weight)
        else:
            self._sample(data, map_result, data.X, data.y01.astype(float), data.sample_weight)
        self._set_point_summaries_from_draws()

    def _pointwise_log_likelihood(self, X, y, coef, intercept, extra) -> np.ndarray:
        if self._multinomial:  # y: class indices; coef (S, K, p), intercept (S, K)
            # eta_y - logsumexp(eta) for the observed class only: a third of log_softmax's time.
            eta = np.einsum("skp,np->snk", coef, X, optimize=True) + intercept[:, None, :]
            top = eta.max(axis=2)
            log_norm = top + np.log(np.exp(eta - top[..., None]).sum(axis=2))
            chosen = np.take_along_axis(eta, np.asarray(y, dtype=np.int64)[None, :, None], axis=2)[..., 0]
            return chosen - log_norm
        eta = coef @ X.T
        eta += intercept[:, None]
        if "trials" in extra:  # binomial: y successes out of trials
            t = np.asarray(extra["trials"], dtype=float)
            k = np.asarray(y, dtype=float)
            log_choose = gammaln(t + 1.0) - gammaln(k + 1.0) - gammaln(t - k + 1.0)
            failures = (t - k)[None, :] * _log_expit_in_place(-eta)
            return log_choose[None, :] + k[None, :] * _log_expit_in_place(eta) + failures
        # log p(y | eta) = log expit(+eta) for y = 1, log expit(-eta) for y = 0: one pass, not two.
        eta *= np.where(np.asarray(y) == 1, 1.0, -1.0)[None, :]
        return _log_expit_in_place(eta)

    def _draw_trials(self, X: Any, trials: Any) -> AbstractContextManager[None]:
        """The trials :meth:`_observation_draws` draws counts out of: ``trials``, or the fit's for X=None."""
        if self._likelihood() == BINOMIAL:
            return self._row_data_for_draws(X, "trials", trials, _trials_of_new_rows)
        if trials is not None:
            raise ValueError(
                "trials is for a fit on binomial counts (fit(X, y, trials=...)); this fit has one "
                "label per row, so its draws are labels: leave trials out."
            )
        return nullcontext()

    def sample_posterior_predictive(
        self, X: Any = None, *, trials: Any = None, random_state: Any = None
    ) -> xr.DataTree:
        """Draws of ``y`` at the rows of ``X`` from the posterior predictive, one per posterior draw.

        As :meth:`BayesianLinearRegression.sample_posterior_predictive
        <bayesreg.BayesianLinearRegression.sample_posterior_predictive>`: labels (0/1, or the class
        index with K classes), or, after a fit on binomial counts, the successes out of ``trials``
        (one per row of ``X``; for X=None the training rows with the trials the fit was given).
        """
        with self._draw_trials(X, trials):
            return super().sample_posterior_predictive(X, random_state=random_state)

    def sample_prior_predictive(
        self, X: Any = None, draws: int = 500, *, trials: Any = None, random_state: Any = None
    ) -> xr.DataTree:
        """Draws of the parameters from the prior, and of ``y`` at the rows of ``X`` given each.

        As :meth:`BayesianLinearRegression.sample_prior_predictive
        <bayesreg.BayesianLinearRegression.sample_prior_predictive>`; ``trials`` as in
        :meth:`sample_posterior_predictive`.
        """
        with self._draw_trials(X, trials):
            return super().sample_prior_predictive(X, draws, random_state=random_state)

    def _observation_draws(
        self, draws: ParameterDraws, X: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """0/1 labels (int64), 1 meaning ``classes_[1]``, as in ``observed_data``.

        K classes: the class index 0..K−1 of each draw. Binomial counts: the successes out of each
        row's trials (set by :meth:`_draw_trials`).
        """
        if self._likelihood() == BINOMIAL:
            trials = np.asarray(self._draw_row_data, dtype=np.int64)
            return np.asarray(rng.binomial(trials[None, :], expit(draws.linear_predictor(X))), dtype=np.int64)
        if self._multinomial:
            if np.ndim(draws.coef) != 3:
                raise ValueError(
                    "Prior draws of the K-class model are not available (its intercepts are flat)."
                )
            eta = draws.intercept[:, None, :] + np.einsum("skp,np->snk", draws.coef, X)
            cumulative = np.cumsum(softmax(eta, axis=2), axis=2)
            u = rng.uniform(size=eta.shape[:2])[..., None]
            return np.minimum((u > cumulative).sum(axis=2), eta.shape[2] - 1).astype(np.int64)
        return bernoulli_draws(draws.linear_predictor(X), rng)

    def _log_prior_dataset(self, idata):
        if self._multinomial:
            raise ValueError(
                "The log prior of the K-class model's draws (log_prior, prior_sensitivity) is not "
                "available yet: its coefficients have a class dimension the power-scaling tables do "
                "not label."
            )
        return super()._log_prior_dataset(idata)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, averaged over posterior draws ("mcmc") or at the MAP ("map").

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_`` (binomial counts: column 1 is the success probability); K
            classes: the softmax, averaged over the draws.
        """
        X = self._validate_test_data(X)
        if self._multinomial:
            if self.method == "map":
                return softmax(self.intercept_ + X @ self.coef_.T, axis=1)
            return self._softmax_draws(X).mean(axis=0)
        if self.method == "map":
            p1 = expit(self.intercept_ + X @ self.coef_)
        else:
            p1 = expit(self._linear_predictor_draws(X)).mean(axis=0)
        return np.column_stack([1.0 - p1, p1])

    def decision_function(self, X: Any) -> np.ndarray:
        """The linear predictor ``b + X·w``: log-odds of ``classes_[1]``, at the MAP or averaged over draws.

        For K classes, shape (n_samples, K): ``b_k + X·w_k`` of each class (the softmax's inputs).

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
        if self._multinomial:
            if self.method == "map":
                return self.intercept_ + X @ self.coef_.T
            coef, intercept, _ = self._draws_from(self._posterior_tree())
            return intercept.mean(axis=0) + X @ coef.mean(axis=0).T  # linear: the mean of the draws'
        if self.method == "map":
            return self.intercept_ + X @ self.coef_
        return self._linear_predictor_draws(X).mean(axis=0)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable label of each row under :meth:`predict_proba`."""
        check_is_fitted(self)
        proba = self.predict_proba(X)
        if proba.shape[1] > 2:
            return self.classes_[np.argmax(proba, axis=1)]
        return self.classes_[(proba[:, 1] > 0.5).astype(int)]

    def penalty(self) -> Penalty:
        """The penalised ``LogisticRegression`` whose solution is this model's MAP.

        ``C = prior_sigma²`` with an L2 penalty (``l1_ratio=0``, solved by Newton's method to a
        tight tolerance) for the default normal prior; ``C = b = σ/√2`` with ``l1_ratio=1`` for
        ``prior="laplace"`` and ``C = 1/(λ1 + λ2)`` with the prior's ``l1_ratio`` for
        ``"elasticnet"`` (both by saga, scikit-learn's only L1 solver that leaves the intercept
        unpenalised); ``C = inf`` for ``"flat"``. Per-feature scales rescale the columns. A prior
        mean has no twin (``LogisticRegression`` takes no offset), and says so.
        :meth:`ridge_equivalent` returns its ``twin``.

        After a fit on binomial counts the twin is that ``LogisticRegression`` fitted on the
        counts expanded to 0/1 rows (a :class:`~bayesreg.estimators.twins.BinomialCountsTwin`,
        whose ``fit`` takes ``trials``); after a fit on K ≥ 3 classes it is the same
        ``LogisticRegression(C=σ²)``, which scikit-learn fits as the symmetric softmax.

        Examples
        --------
        >>> BayesianLogisticRegression(prior_sigma=2.0).ridge_equivalent().C
        4.0
        >>> BayesianLogisticRegression(prior_sigma=2.0).penalty().twin_text
        'LogisticRegression(C=4)'
        """
        self._validate_params()
        self._check_method_options()
        penalty = logistic_penalty(
            self._prior_for_penalty(), self._intercept_prior(), fit_intercept=self.fit_intercept
        )
        if self._likelihood() == BINOMIAL:
            return binomial_penalty(penalty)
        if self._multinomial:
            return multinomial_penalty(penalty)
        return penalty

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags


def _check_no_unused_levels(y: Any) -> None:
    """Refuse a categorical ``y`` with a level no row has: that class could not be fitted."""
    categories = getattr(getattr(y, "cat", None), "categories", None)
    if categories is None:
        return
    used = set(np.asarray(y).tolist())
    unused = [c for c in categories if c not in used]
    if unused:
        raise ValueError(
            f"y is categorical with levels that no row has: {unused[:10]}. Each class needs rows (with "
            "a flat intercept an empty class's log-odds run off to -infinity): drop the unused levels "
            "(y.cat.remove_unused_categories()) or give them rows."
        )


def _trials_of_new_rows(trials: Any, n_rows: int) -> np.ndarray:
    """The trials of new rows for predictive draws of a binomial fit: required, checked as in ``fit``."""
    if trials is None:
        raise ValueError(
            "This fit is on binomial counts, so its draws at new rows are successes out of each row's "
            "trials: pass trials= (one whole number >= 1 per row of X)."
        )
    return check_binomial_counts(np.zeros(n_rows, dtype=np.int64), trials, n_rows)[1]


def _check_both_outcomes(successes: np.ndarray, trials: np.ndarray, weights: np.ndarray | None) -> None:
    """Refuse counts that are all successes or all failures (where the weights are positive)."""
    w = np.ones(successes.shape[0]) if weights is None else weights
    for total, what in ((np.sum(w * successes), "successes"), (np.sum(w * (trials - successes)), "failures")):
        if total == 0:
            raise ValueError(
                f"y and trials have no {what} (in rows of positive weight), so only one outcome is left "
                "to fit (with a flat intercept its log-odds run off to infinity): give the fit rows with "
                "both outcomes."
            )

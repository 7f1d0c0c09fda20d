"""Bayesian linear regression with a Gaussian prior: ridge regression, seen as a posterior."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike
from sklearn.base import RegressorMixin

from bayesreg.estimators.base import BayesianRegressionBase, FittedSpec
from bayesreg.estimators.chunks import BlockStream
from bayesreg.estimators.laplace_psis import fit_laplace, gaussian_stats_log_likelihood
from bayesreg.estimators.penalty import Penalty
from bayesreg.estimators.predictive import ParameterDraws, gaussian_draws
from bayesreg.estimators.prior_params import is_per_feature, noise_prior
from bayesreg.estimators.twins import linear_penalty
from bayesreg.estimators.validation import (
    LINEAR_CONSTRAINTS,
    NONE,
    POSITIVE_FLOAT,
    check_sample_weight,
    check_sums_of_squares,
    instance_of,
    per_feature_positive,
)
from bayesreg.stats.conjugate import posterior_from_stats
from bayesreg.stats.evidence import find_hyperparameter_mode
from bayesreg.stats.prior_terms import CoefficientPrior, InterceptPrior, NoisePrior
from bayesreg.stats.suffstats import SufficientStats, stats_from_blocks, sufficient_stats

__all__ = ["BayesianLinearRegression"]


@dataclass(frozen=True)
class _LinearData:
    """What the linear model is built from: the data's statistics and the noise prior's scale."""

    stats: SufficientStats
    prior: CoefficientPrior
    noise_prior: NoisePrior
    intercept_prior: InterceptPrior | None
    free_prior_sigma: bool = False  # sample prior_sigma too (prior_sigma_prior), rather than fix it


class BayesianLinearRegression(RegressorMixin, BayesianRegressionBase):
    """Linear regression with ``coef ~ N(0, prior_sigma²)``, fitted in PyMC.

    The model is ``y ~ N(intercept + X coef, noise_sigma²)`` with a flat prior on the intercept (left
    unpenalised, like scikit-learn's ``Ridge``). With a known ``noise_sigma`` its MAP and posterior
    mean both equal ``Ridge(alpha=noise_sigma² / prior_sigma²)``; with unknown noise the MAP
    coefficients equal ridge at the MAP noise sd.

    Parameters
    ----------
    prior_sigma : float, default 1.0
        Standard deviation of the ``N(0, prior_sigma²)`` prior on each coefficient, in the units of
        X as given (standardise X first for one scale-free penalty).
    noise_sigma : float or None, default None
        Known noise sd (the exact ridge case), or None to learn it with a
        ``HalfNormal(noise_prior_sigma)`` prior.
    noise_prior_sigma : float or None, default None
        Scale of the half-normal prior on an unknown noise sd; None uses the sd of y.
    prior_sigma_prior : float or None, default None
        None keeps ``prior_sigma`` fixed. A float makes the model hierarchical: ``prior_sigma`` becomes
        a free parameter with a ``HalfNormal(prior_sigma_prior)`` prior, sampled with the rest
        (``method="mcmc"``; not available for ``"exact"``). The joint MAP of that model collapses to
        σ → 0 (a funnel), so ``map_prior_sigma_`` is instead the mode of the marginal posterior of
        the scales with the coefficients integrated out exactly
        (:func:`bayesreg.stats.evidence.hyperparameter_mode`), and ``map_coef_`` is the MAP with
        ``prior_sigma`` fixed there. The constructor's ``prior_sigma`` is then ignored.
    fit_intercept : bool, default True
        Whether to fit an intercept (flat prior, unpenalised).
    method : {"mcmc", "map", "exact", "laplace"}, default "mcmc"
        "mcmc" samples the posterior with NUTS; "map" only optimises; "exact" uses the closed-form
        conjugate posterior (known noise only) and draws from it exactly, without PyMC; "laplace"
        draws ``chains × draws`` points from the Gaussian at the MAP and corrects them by
        Pareto-smoothed importance sampling (known noise and a normal or flat prior only, where
        that Gaussian is the exact posterior: uniform weights; see
        :mod:`bayesreg.estimators.laplace_psis`).
    draws, tune, chains : int, default 1000, 1000, 4
        Posterior draws and tuning steps per chain, and the number of chains.
    random_state : int, numpy.random.Generator or None, default None
        Seed for the sampler; the same int gives the same draws.
    progressbar : bool, default True
        Show the sampler's progress bar, and how far a read of chunked input is (on a terminal or in
        Jupyter, on stderr); False shows nothing.
    sample_kwargs : dict or None, default None
        Extra keyword arguments for :func:`pymc.sample` (e.g. ``{"nuts_sampler": "pymc"}``,
        ``{"target_accept": 0.95}``).
    compute_log_likelihood : bool, default True
        Store the pointwise log likelihood in ``idata_`` (for ``arviz.loo``); it takes 8 bytes per
        draw and row, so turn it off for very many rows.

    Attributes
    ----------
    coef_, intercept_ : ndarray of shape (n_features,), float
        Posterior means ("mcmc", "exact"; "laplace": importance-weighted) or the MAP ("map").
    coef_sd_ : ndarray of shape (n_features,)
        Posterior sd of each coefficient (Laplace approximation for "map").
    map_coef_, map_intercept_ : ndarray, float
        The MAP, for every method.
    map_converged_ : bool
        Whether every convergence check of the MAP passed: the optimizer's and, with
        ``prior_sigma_prior``, that of the prior sd's mode it was computed at.
    noise_sigma_ : float
        The known noise sd, or its posterior mean ("mcmc") or MAP ("map").
    prior_sigma_ : float
        The fixed ``prior_sigma``; with ``prior_sigma_prior``, its posterior mean ("mcmc") or
        ``map_prior_sigma_`` ("map").
    map_prior_sigma_ : float
        The ``prior_sigma`` the MAP was computed at (see ``prior_sigma_prior``).
    map_noise_sigma_ : float
        The noise sd at the MAP (the known value when noise is known).
    idata_ : xarray.DataTree or None
        Posterior, sample_stats, observed_data and log_likelihood ("mcmc"; "exact" has exact draws
        and no sample_stats, "laplace" importance-resampled draws); None for "map".
    convergence_ : ConvergenceReport or None
        Sampler diagnostics ("mcmc" only).
    laplace_ : LaplaceReport
        Only for "laplace": the Pareto ``k̂`` of the importance ratios, the importance-sampling ESS,
        and the weighted mean, sd and Monte Carlo error of each term.
    exact_posterior_ : GaussianPosterior or None
        The closed-form posterior when the noise is known.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Present when X had string column names (they become the ``feature`` coordinate).
    n_samples_fit_ : int or float
        The rows the likelihood counts: their number, or with ``sample_weight`` the sum of the
        weights (a float; integer weights count as repeated rows). The L1 twins' penalty divides by it.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 3))
    >>> y = X @ [1.0, -2.0, 0.5] + rng.normal(size=50)
    >>> est = BayesianLinearRegression(prior_sigma=1.0, noise_sigma=1.0, method="exact").fit(X, y)
    >>> bool(np.allclose(est.coef_, Ridge(alpha=1.0).fit(X, y).coef_, rtol=1e-10))
    True
    """

    _constraints = LINEAR_CONSTRAINTS

    def __init__(
        self,
        prior_sigma: float | ArrayLike | Mapping[str, float] = 1.0,
        *,
        prior: str = "normal",
        prior_mean: float | ArrayLike | Mapping[str, float] = 0.0,
        l1_ratio: float = 0.5,
        intercept_prior_sigma: float | None = None,
        intercept_prior_mean: float = 0.0,
        noise_sigma: float | None = None,
        noise_prior: str = "halfnormal",
        noise_prior_sigma: float | None = None,
        noise_prior_nu: float = 3.0,
        prior_sigma_prior: float | None = None,
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
        self.noise_sigma = noise_sigma
        self.noise_prior = noise_prior
        self.noise_prior_sigma = noise_prior_sigma
        self.noise_prior_nu = noise_prior_nu
        self.prior_sigma_prior = prior_sigma_prior
        self.fit_intercept = fit_intercept
        self.method = method
        self.draws = draws
        self.tune = tune
        self.chains = chains
        self.random_state = random_state
        self.progressbar = progressbar
        self.sample_kwargs = sample_kwargs
        self.compute_log_likelihood = compute_log_likelihood

    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> BayesianLinearRegression:
        """Fit the model to ``X`` (n_samples, n_features) and ``y`` (n_samples,).

        The data may also come in chunks, for more rows than fit in memory: an iterator (or list) of
        ``(X_block, y_block)`` pairs with ``y`` left out, or a Dask array / DataFrame ``X`` with a
        Dask ``y`` (install the ``dask`` extra). Each block is read once and reduced to the
        sufficient statistics, so memory is bounded by the block size; the posterior is the same as
        from the whole arrays. Chunked fits keep no rows, so they need
        ``compute_log_likelihood=False`` and have no ``observed_data`` group.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or chunked input (see above)
        y : array-like of shape (n_samples,), or None for an iterator of blocks
        sample_weight : array-like of shape (n_samples,), float or None, default None
            Row weights, as in scikit-learn: ``w_i`` multiplies row ``i``'s log-likelihood term, as
            if the row were repeated ``w_i`` times (the prior is unchanged), so the MAP equals
            ``Ridge(alpha).fit(X, y, sample_weight=w)`` and every method (the exact and sampled
            posteriors too) uses the weighted likelihood. Weights must be finite and >= 0, not all
            zero; a zero weight ignores its row. Chunked input carries them as a third block element,
            ``(X_block, y_block, w_block)`` (Dask: a Dask ``sample_weight`` aligned with ``y``).
            ``n_samples_fit_`` is then ``Σ w``, and the pointwise ``log_likelihood`` group holds
            the weighted terms ``w_i · log p(y_i | θ)``, whose sum is the log likelihood the
            posterior conditions on, so ``arviz.loo`` leaves each row out with all its weight (the
            weights are in ``idata_``'s ``constant_data`` group; rows of weight zero, which the fit
            ignores, are left out of the data groups).

        Returns
        -------
        self

        Raises
        ------
        ValueError, TypeError
            On a bad parameter or bad input, each naming what is wrong (X or y, the parameter,
            the block). Whatever fails, and at whatever step, the estimator is then left exactly
            unfitted, as scikit-learn users expect after a failed ``fit``: every fitted attribute,
            of this fit and of any earlier one, is removed, so ``check_is_fitted`` raises
            ``NotFittedError`` and ``save`` refuses. The parameters are kept as set.

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(3000, 2)); y = X @ [1.0, -1.0] + rng.normal(size=3000)
        >>> blocks = ((X[i : i + 1000], y[i : i + 1000]) for i in range(0, 3000, 1000))
        >>> kw = dict(noise_sigma=1.0, method="exact", compute_log_likelihood=False)
        >>> chunked = BayesianLinearRegression(**kw).fit(blocks)
        >>> whole = BayesianLinearRegression(**kw).fit(X, y)
        >>> bool(np.allclose(chunked.coef_, whole.coef_, rtol=1e-12))
        True
        """
        self._validate_params()
        self._reset_fitted_state()
        self._check_method_options()
        weights = None
        if self._is_chunked(X, y, accepts_chunks=True):
            stats = self._stats_from_chunks(X, y, sample_weight)
            X = y = None  # the rows are gone: no observed_data or log_likelihood groups
        else:
            X, y = self._validate_training_data(X, y, y_numeric=True)
            weights = check_sample_weight(sample_weight, X.shape[0])
            with np.errstate(over="ignore", invalid="ignore"):  # overflow is named just below
                stats = sufficient_stats(X, y, fit_intercept=self.fit_intercept, sample_weight=weights)
        self._check_stats_finite(stats)
        # The rows the likelihood counts: Σw with weights (integer weights = repeated rows).
        self.n_samples_fit_ = float(stats.n) if isinstance(stats.n, float) else int(stats.n)
        prior = self._coefficient_prior()
        intercept_prior = self._intercept_prior()
        noise = noise_prior(self.get_params(deep=False), self._noise_prior_sigma(stats))
        data = _LinearData(stats, prior, noise, intercept_prior)
        y_sd = float(np.sqrt(stats.y_var))
        self._warn_if_prior_scale_mismatched(
            np.sqrt(np.diag(stats.xtx) / stats.n), y_sd, f"sd(y) = {y_sd:.3g}"
        )
        self._x_mean = stats.x_mean
        self.idata_ = None
        self.convergence_ = None
        self.exact_posterior_ = None
        if self._closed_form() and self.noise_sigma is not None:
            self.exact_posterior_ = posterior_from_stats(
                stats,
                prior_sigma=prior.sigma if prior.is_proper else np.inf,
                noise_sigma=self.noise_sigma,
                prior_mean=prior.mean,
                intercept_prior=None
                if intercept_prior is None
                else (intercept_prior.mean, intercept_prior.sigma),
            )
        if self.method == "exact":
            self._fit_exact(X, y, prior, weights)
            return self
        map_result = self._fit_map(data)
        if self.method == "mcmc":
            self._fit_sampled(data, map_result, X, y, weights)
        elif self.method == "laplace":  # the Gaussian at the MAP, importance-sampled (exact here)
            loglik = gaussian_stats_log_likelihood(stats, self.map_noise_sigma_)  # the known noise sd
            fit_laplace(self, map_result, loglik, X=X, y=y, sample_weight=weights)
        return self

    def _closed_form(self) -> bool:
        """Whether the posterior is Gaussian and known exactly: known noise, a fixed normal or flat prior."""
        return (
            self.noise_sigma is not None
            and self.prior_sigma_prior is None
            and self.prior in ("normal", "flat")
        )

    def _check_method_options(self) -> None:
        super()._check_method_options()
        if self.method == "exact" and self.noise_sigma is None:
            raise ValueError(
                "method='exact' needs a known noise sd: the posterior is only closed-form when "
                "noise_sigma is a number. Set noise_sigma=<float>, or use method='mcmc'."
            )
        if self.method == "exact" and self.prior_sigma_prior is not None:
            raise ValueError(
                "method='exact' needs a fixed prior sd: with prior_sigma_prior the posterior is a "
                "mixture over prior_sigma, not closed-form. Use method='mcmc' (or prior_sigma_prior=None)."
            )

    def _fitted_layout(self) -> dict[str, FittedSpec]:
        prior_sigma = POSITIVE_FLOAT
        if is_per_feature(self.prior_sigma):
            prior_sigma = per_feature_positive(len(self._feature_names()))
        return (
            super()._fitted_layout()
            | dict.fromkeys(("noise_sigma_", "map_noise_sigma_"), POSITIVE_FLOAT)
            | dict.fromkeys(("prior_sigma_", "map_prior_sigma_"), prior_sigma)
            | {"exact_posterior_": instance_of("GaussianPosterior") if self._closed_form() else NONE}
        )

    def _build_model(self, data: _LinearData, whitening=None):
        from bayesreg.backend.model import build_linear_model

        prior = data.prior
        if self.prior_sigma_prior is not None:  # fixed at the mode of its marginal posterior
            prior = replace(prior, sigma=np.full(prior.n_features, self.map_prior_sigma_))
        return build_linear_model(
            data.stats,
            feature_names=self._feature_names(),
            prior=prior,
            noise_sigma=self.noise_sigma,
            noise_prior=data.noise_prior,
            intercept_prior=data.intercept_prior,
            whitening=whitening,
            prior_sigma_prior=self.prior_sigma_prior if data.free_prior_sigma else None,
            initial_prior_sigma=float(self.map_prior_sigma_) if self.prior_sigma_prior is not None else None,
        )

    def _fit_map(self, data: _LinearData):
        """The MAP at a fixed prior sd: the given one, or the mode of its marginal posterior."""
        self.map_prior_sigma_ = self._prior_sigma_attribute(data.prior)
        scale_mode_converged = True
        if self.prior_sigma_prior is not None:
            mode = find_hyperparameter_mode(
                data.stats,
                prior_sigma_prior=self.prior_sigma_prior,
                noise_sigma=self.noise_sigma,
                noise_prior_sigma=data.noise_prior.scale,
            )
            mode.warn_if_not_converged()
            self.map_prior_sigma_, scale_mode_converged = mode.prior_sigma, mode.converged
        unknown_noise = self.noise_sigma is None
        initvals = None
        if unknown_noise:
            initvals = {"noise_sigma": float(np.sqrt(data.stats.y_var)) or data.noise_prior.scale}
        map_result = self._find_map(
            self._build_model(data),
            prior=data.prior,
            initvals=initvals,
            extra_outputs=["noise_sigma"] if unknown_noise else (),
        )
        self.map_noise_sigma_ = (
            float(map_result.values["noise_sigma"]) if self.noise_sigma is None else float(self.noise_sigma)
        )
        # The MAP is only as good as the prior sd it was computed at.
        self.map_converged_ = bool(map_result.converged and scale_mode_converged)
        self._set_point_summaries_from_map()
        self.noise_sigma_ = self.map_noise_sigma_
        self.prior_sigma_ = self.map_prior_sigma_
        return map_result

    def _fit_sampled(
        self,
        data: _LinearData,
        map_result,
        X: np.ndarray | None,
        y: np.ndarray | None,
        sample_weight: np.ndarray | None = None,
    ) -> None:
        """NUTS, whitened at the MAP; a learned prior sd is sampled too."""
        hierarchical = self.prior_sigma_prior is not None
        self._sample(replace(data, free_prior_sigma=hierarchical), map_result, X, y, sample_weight)
        self._set_point_summaries_from_draws()
        post = self._posterior_tree()["posterior"]
        self.prior_sigma_ = (
            float(post["prior_sigma"].mean()) if hierarchical else self._prior_sigma_attribute(data.prior)
        )
        self.noise_sigma_ = (
            float(post["noise_sigma"].mean()) if self.noise_sigma is None else float(self.noise_sigma)
        )

    def _check_stats_finite(self, stats: SufficientStats) -> None:
        """Name X or y when their values are finite but overflow float64 once squared."""
        check_sums_of_squares("X", np.diag(stats.xtx), self._feature_names())
        check_sums_of_squares("y", np.array([stats.y_var, stats.yty]))
        parts = (stats.x_mean, stats.y_mean, stats.xty, stats.r_factor, stats.qty)
        if not all(np.all(np.isfinite(part)) for part in parts):
            raise ValueError(
                "The cross-products of X and y overflow float64 although each is finite: rescale X "
                "and y (e.g. change their units, or standardise them)."
            )

    def _noise_prior_sigma(self, stats: SufficientStats) -> float:
        """The scale of the noise prior: ``noise_prior_sigma``, or sd(y) when that is None."""
        sd = float(np.sqrt(stats.y_var))
        if self.noise_sigma is None:
            _check_y_spread(stats)
        if self.noise_prior_sigma is not None:
            return float(self.noise_prior_sigma)
        if self.noise_sigma is None and not sd > 0:
            raise ValueError(
                f"y is constant (n_samples={stats.n}), so its sd cannot set the scale of the "
                "noise prior: pass noise_prior_sigma=<float> (or a known noise_sigma)."
            )
        return sd

    def _stats_from_chunks(self, X: Any, y: Any, sample_weight: Any = None) -> SufficientStats:
        """Read chunked input once, block by block (weights too, if any), into the sufficient statistics."""
        if self.compute_log_likelihood:
            raise ValueError(
                "Data in chunks are read once and not kept, so there is no pointwise log likelihood "
                "to store (it would take 8 bytes per draw and row). Pass compute_log_likelihood=False "
                "to fit on chunks, or pass X and y as arrays."
            )
        stream = BlockStream.from_input(X, y, sample_weight)
        # How far the read is (blocks, rows) is shown while it lasts, unless progressbar=False.
        with stream.showing_progress(self.progressbar):
            with np.errstate(over="ignore", invalid="ignore"):  # overflow is named by the caller
                stats = stats_from_blocks(stream, fit_intercept=self.fit_intercept)
        self.n_features_in_ = stream.n_features
        if stream.feature_names is not None:
            self.feature_names_in_ = stream.feature_names
        return stats

    def _fit_exact(
        self, X: np.ndarray, y: np.ndarray, prior: CoefficientPrior, sample_weight: np.ndarray | None = None
    ) -> None:
        """Closed-form posterior, and exact iid draws in a DataTree like the sampler's."""
        import arviz_base as azb

        post = self.exact_posterior_
        if post is None or self.noise_sigma is None:
            raise RuntimeError("method='exact' needs exact_posterior_, from a known noise_sigma")
        self.map_coef_ = self.coef_ = post.coef_mean.copy()
        self.map_intercept_ = self.intercept_ = post.intercept_mean
        self.map_converged_ = True
        self.coef_sd_ = post.coef_sd
        self.noise_sigma_ = self.map_noise_sigma_ = float(self.noise_sigma)
        self.prior_sigma_ = self._prior_sigma_attribute(prior)
        self.map_prior_sigma_ = self._prior_sigma_attribute(prior)
        coef, intercept = post.sample(self.chains * self.draws, rng=self.random_state)
        groups: dict[str, np.ndarray] = {"coef": coef.reshape(self.chains, self.draws, -1)}
        if self.fit_intercept:
            groups["intercept"] = intercept.reshape(self.chains, self.draws)
        idata = azb.from_dict(
            {"posterior": groups},
            dims={"coef": ["feature"]},
            coords={"feature": self._feature_names()},
        )
        self._attach_data_groups(idata, X, y, sample_weight)
        self.idata_ = idata

    def _pointwise_log_likelihood(self, X, y, coef, intercept, extra) -> np.ndarray:
        if "noise_sigma" in extra:
            noise = extra["noise_sigma"]
        elif self.noise_sigma is not None:
            noise = np.full(coef.shape[0], float(self.noise_sigma))
        else:
            raise RuntimeError("draws without noise_sigma need a known noise_sigma")
        mu = intercept[:, None] + coef @ X.T
        z = (y[None, :] - mu) / noise[:, None]
        return -0.5 * z**2 - np.log(noise)[:, None] - 0.5 * np.log(2 * np.pi)

    def predict(self, X: Any, return_std: bool = False):
        """Posterior predictive mean (and sd, noise included) at the rows of ``X``.

        Computed from the stored draws in numpy ("mcmc"), the closed form ("exact"), or the
        Laplace approximation at the MAP ("map"); the PyMC model is never rebuilt.

        Returns
        -------
        mean : ndarray of shape (n_samples,)
        std : ndarray of shape (n_samples,)
            Only when ``return_std=True``.
        """
        X = self._validate_test_data(X)
        if self.method == "exact":
            exact = self.exact_posterior_
            if exact is None:
                raise RuntimeError("a fit with method='exact' has no exact_posterior_")
            return exact.predict(X, return_std=return_std)
        if self.method == "map":
            mean = self.intercept_ + X @ self.coef_
            if not return_std:
                return mean
            var = self._laplace_linear_predictor_var(X) + self.map_noise_sigma_**2
            return mean, np.sqrt(var)
        mu = self._linear_predictor_draws(X)
        mean = mu.mean(axis=0)
        if not return_std:
            return mean
        _, _, extra = self._draws_from(self._posterior_tree())
        if "noise_sigma" in extra:
            noise_var = float(np.mean(extra["noise_sigma"] ** 2))
        elif self.noise_sigma is not None:
            noise_var = self.noise_sigma**2
        else:
            raise RuntimeError("draws without noise_sigma need a known noise_sigma")
        return mean, np.sqrt(mu.var(axis=0) + noise_var)

    def bayes_r2(self, X: Any = None) -> xr.DataArray:
        """Posterior draws of the Bayesian R² (Gelman, Goodrich, Gabry and Vehtari, 2019).

        For each posterior draw ``s``: ``R²_s = var(μ_s) / (var(μ_s) + σ_s²)``, where ``μ_s = b_s + X w_s``
        are the fitted means of the rows (their variance over rows with ``ddof=1``, as
        ``arviz_stats.bayesian_r2``) and ``σ_s`` the noise sd (the known one, or the draw's). Unlike
        the classical R² it is always in [0, 1] and has a posterior; with a weak prior and many rows
        it is close to the R² of the penalised twin on the training rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or None
            The rows; None means the training rows (kept in ``idata_``).

        Returns
        -------
        xarray.DataArray
            Named ``bayes_r2``, over ``(chain, draw)`` of the posterior.

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(500, 2)); y = X @ [1.0, 1.0] + rng.normal(size=500)  # R² = 2/3
        >>> est = BayesianLinearRegression(10.0, noise_sigma=1.0, method="exact", random_state=0).fit(X, y)
        >>> round(float(est.bayes_r2().mean()), 2)
        0.66
        """
        from bayesreg.estimators.predictive import bayes_r2

        tree = self._tree_with_draws("Bayesian R² draws")
        rows, _, _ = self._predictive_rows(X)
        draws = self._parameter_draws(tree)
        r2 = bayes_r2(draws.linear_predictor(rows), self._noise_draws(draws))
        post = tree["posterior"].to_dataset()
        return xr.DataArray(
            r2.reshape(post.sizes["chain"], post.sizes["draw"]),
            dims=("chain", "draw"),
            coords={"chain": post["chain"].values, "draw": post["draw"].values},
            name="bayes_r2",
        )

    def _noise_draws(self, draws: ParameterDraws) -> np.ndarray:
        """The noise sd of each draw: sampled, or the known one repeated."""
        if draws.noise_sigma is not None:
            return draws.noise_sigma
        if self.noise_sigma is None:
            raise RuntimeError("draws without noise_sigma need a known noise_sigma")
        return np.full(draws.coef.shape[0], float(self.noise_sigma))

    def _observation_draws(
        self, draws: ParameterDraws, X: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        return gaussian_draws(draws.linear_predictor(X), self._noise_draws(draws), rng)

    def _noise_prior_record(self) -> NoisePrior | None:
        """The prior of the unknown noise sd (None when it is known), at the scale the fit used.

        Its default scale (``noise_prior_sigma=None``) is sd(y) of the training rows (weighted by
        their ``sample_weight``, as the fit's statistics are), which the fit keeps in ``idata_``
        when it has draws and the rows were in memory.
        """
        if self.noise_sigma is not None:
            return None
        scale = self.noise_prior_sigma
        if scale is None:
            y = self._training_y()
            if y is None:
                raise ValueError(
                    "The noise prior's scale is sd(y) of the training data (noise_prior_sigma=None), "
                    "and this fit kept no y (method='map', or a fit on chunked input): set "
                    "noise_prior_sigma to a number and refit."
                )
            idata = self._posterior_tree()
            const = idata["constant_data"].to_dataset() if "constant_data" in idata.children else None
            weights = None
            if const is not None and "sample_weight" in const.data_vars:
                weights = const["sample_weight"].values
            centre = np.average(y, weights=weights)
            scale = float(np.sqrt(np.average((y - centre) ** 2, weights=weights)))
        return noise_prior(self.get_params(deep=False), scale)

    def penalty(self) -> Penalty:
        """The penalised scikit-learn twin of this model's MAP, and the conversion to it.

        ``Ridge(alpha = noise_sigma² / prior_sigma²)`` for the default normal prior; ``Lasso`` for
        ``prior="laplace"``, ``ElasticNet`` for ``"elasticnet"``, ``LinearRegression`` for
        ``"flat"``; per-feature scales, a prior mean and a normal intercept prior are the same
        penalty on rescaled, shifted columns (a :class:`~bayesreg.estimators.twins.RescaledTwin`).
        A prior with no such twin says so (``twin`` is None, ``note`` says why). With unknown
        noise it is taken at the MAP noise sd, and with ``prior_sigma_prior`` at
        ``map_prior_sigma_`` (so the estimator must be fitted first). :meth:`ridge_equivalent`
        returns its ``twin``.

        Examples
        --------
        >>> BayesianLinearRegression(prior_sigma=2.0, noise_sigma=1.0).ridge_equivalent()
        Ridge(alpha=0.25, solver='cholesky')
        >>> BayesianLinearRegression(prior_sigma=2.0, noise_sigma=1.0).penalty().formula
        'λ = σ_n²/σ² = 1² / 2² = 0.25'
        """
        self._validate_params()
        self._check_method_options()
        if self.noise_sigma is not None:
            noise = float(self.noise_sigma)
        elif hasattr(self, "map_noise_sigma_"):
            noise = self.map_noise_sigma_
        else:
            raise ValueError(
                "With unknown noise (noise_sigma=None) the equivalent ridge penalty depends on the "
                "MAP noise sd: fit the estimator first, or give a known noise_sigma."
            )
        prior = self._prior_for_penalty()
        if self.prior_sigma_prior is not None:
            if not hasattr(self, "map_prior_sigma_"):
                raise ValueError(
                    "With prior_sigma_prior the prior sd is learned: fit the estimator first; the "
                    "ridge twin is then taken at map_prior_sigma_."
                )
            prior = replace(prior, sigma=np.full(prior.n_features, float(self.map_prior_sigma_)))
        return linear_penalty(
            prior,
            self._intercept_prior(),
            noise=noise,
            noise_known=self.noise_sigma is not None,
            n_samples=getattr(self, "n_samples_fit_", None),
            fit_intercept=self.fit_intercept,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags


def _check_y_spread(stats: SufficientStats) -> None:
    """Refuse a y that varies (it is not constant) by too little for its squares: they underflow.

    A learned noise sd needs the residual sum of squares; below about 1e-154 the squares of y's
    deviations fall under the smallest normal float64 (y of magnitude 1e-200 has ``y_var == 0``),
    which must not be mistaken for a constant y.
    """
    tiny = float(np.finfo(np.float64).tiny)
    if stats.y_range > 0 and not stats.y_var >= tiny:
        factor = 10.0 ** -np.floor(np.log10(stats.y_range))
        raise ValueError(
            f"Input y varies only by {stats.y_range:.3g} (max - min): its squared deviations "
            f"underflow float64 (they fall below {tiny:.3g}), so the noise sd cannot be learned "
            f"from it. Rescale y (e.g. multiply it by {factor:.0e}), or give a known noise_sigma."
        )

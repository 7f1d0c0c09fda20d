"""Closed-form posterior of the Gaussian linear model with known noise.

Model: ``y = b + X w + ε``, ``ε ~ N(0, σ_n²)``, ``w ~ N(0, σ² I)``, flat prior on ``b``. The flat
intercept is the same as centring X and y (sklearn's ``Ridge`` does exactly that), so the posterior of
``w`` is Gaussian with precision ``XcᵀXc/σ_n² + I/σ²`` and mean equal to the ridge solution with
``α = σ_n²/σ²``; given ``w``, ``b ~ N(ȳ − x̄ᵀw, σ_n²/n)``.

Only numpy and scipy are used here: this module is the exact reference the sampler is tested against.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg

# Re-exported: the statistics began here, and callers import them from this module.
from bayesreg.stats.suffstats import SufficientStats, sufficient_stats

__all__ = [
    "GaussianPosterior",
    "PriorLikelihoodPosterior",
    "SufficientStats",
    "gaussian_posterior",
    "posterior_from_stats",
    "prior_likelihood_posterior",
    "sufficient_stats",
]


@dataclass(frozen=True)
class GaussianPosterior:
    """The exact joint posterior of coefficients and intercept.

    Attributes
    ----------
    coef_mean : ndarray, shape (p,)
        Posterior mean (= MAP = ridge solution) of the coefficients.
    coef_cov : ndarray, shape (p, p)
        Posterior covariance of the coefficients.
    intercept_mean : float
        Posterior mean of the intercept (0 without one).
    intercept_var : float
        Posterior variance of the intercept (0 without one).
    cov_coef_intercept : ndarray, shape (p,)
        Posterior covariance between each coefficient and the intercept.
    noise_sigma : float
        The known noise sd the posterior was computed at.
    """

    coef_mean: np.ndarray
    coef_cov: np.ndarray
    intercept_mean: float
    intercept_var: float
    cov_coef_intercept: np.ndarray
    noise_sigma: float

    @property
    def coef_sd(self) -> np.ndarray:
        """Posterior sd of each coefficient."""
        return np.sqrt(np.diag(self.coef_cov))

    @property
    def intercept_sd(self) -> float:
        """Posterior sd of the intercept."""
        return float(np.sqrt(self.intercept_var))

    def predict(self, X: np.ndarray, *, return_std: bool = False):
        """Posterior predictive mean (and sd, noise included) at the rows of ``X``."""
        X = np.asarray(X, dtype=float)
        mean = self.intercept_mean + X @ self.coef_mean
        if not return_std:
            return mean
        var_mu = (
            np.einsum("ij,jk,ik->i", X, self.coef_cov, X)
            + 2.0 * X @ self.cov_coef_intercept
            + self.intercept_var
        )
        return mean, np.sqrt(var_mu + self.noise_sigma**2)

    def sample(
        self, n_draws: int, rng: np.random.Generator | int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Independent exact draws ``(coef (n_draws, p), intercept (n_draws,))``.

        Examples
        --------
        >>> import numpy as np
        >>> post = gaussian_posterior(np.eye(3), np.ones(3), prior_sigma=1.0, noise_sigma=1.0,
        ...                           fit_intercept=False)
        >>> coef, intercept = post.sample(5, rng=0)
        >>> coef.shape, intercept.shape
        ((5, 3), (5,))
        """
        rng = np.random.default_rng(rng)
        p = self.coef_mean.size
        joint_cov = np.empty((p + 1, p + 1))
        joint_cov[:p, :p] = self.coef_cov
        joint_cov[:p, p] = joint_cov[p, :p] = self.cov_coef_intercept
        joint_cov[p, p] = self.intercept_var
        # A zero intercept variance (no intercept) makes the joint covariance singular: use an
        # eigendecomposition, which tolerates that, rather than a Cholesky factor.
        vals, vecs = linalg.eigh(joint_cov)
        root = vecs * np.sqrt(np.clip(vals, 0.0, None))
        joint_mean = np.append(self.coef_mean, self.intercept_mean)
        draws = joint_mean + rng.standard_normal((n_draws, p + 1)) @ root.T
        return draws[:, :p], draws[:, p]


def gaussian_posterior(
    X: np.ndarray,
    y: np.ndarray,
    *,
    prior_sigma: float,
    noise_sigma: float,
    fit_intercept: bool = True,
) -> GaussianPosterior:
    """Exact posterior of the Gaussian linear model with known noise.

    Parameters
    ----------
    X : ndarray, shape (n, p)
        Design matrix (validated by the caller).
    y : ndarray, shape (n,)
        Targets.
    prior_sigma : float
        Prior sd σ of each coefficient.
    noise_sigma : float
        Known noise sd σ_n.
    fit_intercept : bool, default True
        Whether to include an intercept with a flat prior.

    Returns
    -------
    GaussianPosterior

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(20, 3)), rng.normal(size=20)
    >>> post = gaussian_posterior(X, y, prior_sigma=2.0, noise_sigma=1.0)
    >>> bool(np.allclose(post.coef_mean, Ridge(alpha=0.25).fit(X, y).coef_, rtol=1e-10))
    True
    """
    stats = sufficient_stats(X, y, fit_intercept=fit_intercept)
    return posterior_from_stats(stats, prior_sigma=prior_sigma, noise_sigma=noise_sigma)


def posterior_from_stats(
    stats: SufficientStats,
    *,
    prior_sigma: float | np.ndarray,
    noise_sigma: float,
    prior_mean: float | np.ndarray = 0.0,
    intercept_prior: tuple[float, float] | None = None,
) -> GaussianPosterior:
    """Exact posterior from precomputed :class:`SufficientStats` (see :func:`gaussian_posterior`).

    Parameters
    ----------
    stats : SufficientStats
    prior_sigma : float or ndarray of shape (p,)
        The prior sd of each coefficient; ``inf`` is a flat prior on that coefficient.
    noise_sigma : float
        The known noise sd.
    prior_mean : float or ndarray of shape (p,), default 0
        The prior mean of the coefficients.
    intercept_prior : (mean, sd) or None, default None
        A normal prior on the intercept (of the model as written, X not centred); None is flat.

    Examples
    --------
    With a prior mean ``m`` the posterior mean is ``m`` plus ridge on ``y − Xm``:

    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(30, 2)), rng.normal(size=30)
    >>> m = np.array([1.0, -1.0])
    >>> post = posterior_from_stats(sufficient_stats(X, y, fit_intercept=True),
    ...                             prior_sigma=2.0, noise_sigma=1.0, prior_mean=m)
    >>> bool(np.allclose(post.coef_mean, m + Ridge(alpha=0.25).fit(X, y - X @ m).coef_))
    True
    """
    p = stats.xty.size
    noise_var = noise_sigma**2
    simple = np.ndim(prior_sigma) == 0 and not np.any(prior_mean) and intercept_prior is None
    if simple and np.isfinite(prior_sigma):
        # Scale by σ_n² so the solve is the ridge normal equations (XᵀX + αI) w = Xᵀy exactly.
        ridge_alpha = (noise_sigma / prior_sigma) ** 2  # the ratio first: 1e-200² would underflow to 0
        factor = linalg.cho_factor(stats.xtx + ridge_alpha * np.eye(p))
        coef_mean = linalg.cho_solve(factor, stats.xty)
        coef_cov = noise_var * linalg.cho_solve(factor, np.eye(p))
        coef_cov = 0.5 * (coef_cov + coef_cov.T)
        if stats.fit_intercept:
            intercept_mean = stats.y_mean - stats.x_mean @ coef_mean
            cov_coef_intercept = -coef_cov @ stats.x_mean
            intercept_var = noise_var / stats.n + stats.x_mean @ coef_cov @ stats.x_mean
        else:
            intercept_mean, intercept_var, cov_coef_intercept = 0.0, 0.0, np.zeros(p)
        return GaussianPosterior(
            coef_mean=coef_mean,
            coef_cov=coef_cov,
            intercept_mean=float(intercept_mean),
            intercept_var=float(intercept_var),
            cov_coef_intercept=cov_coef_intercept,
            noise_sigma=float(noise_sigma),
        )
    return _general_posterior(stats, prior_sigma, noise_sigma, prior_mean, intercept_prior)


def _general_posterior(
    stats: SufficientStats,
    prior_sigma: float | np.ndarray,
    noise_sigma: float,
    prior_mean: float | np.ndarray,
    intercept_prior: tuple[float, float] | None,
) -> GaussianPosterior:
    """Per-coefficient prior sds (some flat), a prior mean, a normal intercept prior.

    Solved jointly in ``θ = (w, b_c)``, ``b_c = b + x̄ᵀw`` the intercept of the centred model, with
    every term multiplied by ``σ_n²`` as in the ridge normal equations. The intercept prior
    ``N(μ0, s0²)`` on ``b = b_c − x̄ᵀw`` is the quadratic ``(aᵀθ − μ0)²/s0²`` with ``a = (−x̄, 1)``.
    """
    p = stats.xty.size
    noise_var = noise_sigma**2
    sigma = np.broadcast_to(np.asarray(prior_sigma, dtype=float), (p,))
    mean = np.broadcast_to(np.asarray(prior_mean, dtype=float), (p,))
    ratio = np.where(np.isfinite(sigma), (noise_sigma / np.where(np.isfinite(sigma), sigma, 1.0)) ** 2, 0.0)
    k = p + 1 if stats.fit_intercept else p
    A = np.zeros((k, k))
    rhs = np.zeros(k)
    A[:p, :p] = stats.xtx + np.diag(ratio)
    rhs[:p] = stats.xty + ratio * mean
    if stats.fit_intercept:
        A[p, p] = stats.n
        rhs[p] = stats.n * stats.y_mean
        if intercept_prior is not None:
            mu0, s0 = intercept_prior
            r = (noise_sigma / s0) ** 2
            a = np.append(-stats.x_mean, 1.0)
            A += r * np.outer(a, a)
            rhs += r * mu0 * a
    try:
        factor = linalg.cho_factor(A)
    except linalg.LinAlgError:
        raise ValueError(
            "The posterior is improper: with a flat prior on some coefficients, X must have full "
            "column rank on those columns (more rows than columns, none collinear). Use a proper "
            "prior (prior='normal') or drop collinear columns."
        ) from None
    theta = linalg.cho_solve(factor, rhs)
    cov = noise_var * linalg.cho_solve(factor, np.eye(k))
    cov = 0.5 * (cov + cov.T)
    coef_mean, coef_cov = theta[:p], cov[:p, :p]
    if not stats.fit_intercept:
        intercept_mean, intercept_var, cov_coef_intercept = 0.0, 0.0, np.zeros(p)
    else:
        # b = b_c − x̄ᵀw, a linear map of θ.
        x_mean = stats.x_mean
        intercept_mean = theta[p] - x_mean @ coef_mean
        cov_coef_intercept = cov[:p, p] - coef_cov @ x_mean
        intercept_var = cov[p, p] - 2 * x_mean @ cov[:p, p] + x_mean @ coef_cov @ x_mean
    return GaussianPosterior(
        coef_mean=coef_mean,
        coef_cov=coef_cov,
        intercept_mean=float(intercept_mean),
        intercept_var=float(intercept_var),
        cov_coef_intercept=cov_coef_intercept,
        noise_sigma=float(noise_sigma),
    )


@dataclass(frozen=True)
class PriorLikelihoodPosterior:
    """Prior, likelihood and posterior of the coefficients, as Gaussian centres and precisions.

    The likelihood is taken as a density in ``w`` with the flat intercept integrated out: it is
    centred at least squares, with precision ``XcᵀXc / σ_n²`` (singular when X is rank deficient).
    This is what the picture of "the posterior is prior × likelihood" draws.

    Attributes
    ----------
    prior_sigma, noise_sigma : float
    least_squares : ndarray of shape (p,)
        The minimum-norm least-squares coefficients (the likelihood's centre).
    likelihood_precision : ndarray of shape (p, p)
    posterior : GaussianPosterior
    stats : SufficientStats
    """

    prior_sigma: float
    noise_sigma: float
    least_squares: np.ndarray
    likelihood_precision: np.ndarray
    posterior: GaussianPosterior
    stats: SufficientStats

    @property
    def prior_precision(self) -> np.ndarray:
        """``I / σ²``."""
        return np.eye(self.least_squares.size) / self.prior_sigma**2

    @property
    def likelihood_full_rank(self) -> bool:
        """Whether the likelihood is a proper Gaussian in ``w`` (X of full column rank)."""
        return bool(np.linalg.matrix_rank(self.stats.xtx) == self.least_squares.size)

    def ridge_path(self, prior_sigmas: np.ndarray) -> np.ndarray:
        """The MAP at each prior sd, shape (len(prior_sigmas), p): the ridge path as σ varies."""
        return np.array(
            [
                posterior_from_stats(self.stats, prior_sigma=s, noise_sigma=self.noise_sigma).coef_mean
                for s in np.asarray(prior_sigmas, dtype=float).ravel()
            ]
        )

    def bounding_box(self, radius: float) -> tuple[np.ndarray, np.ndarray]:
        """Corners of a box holding the origin and ``radius`` sds of the likelihood and posterior."""
        post = self.posterior
        corners = [np.zeros_like(self.least_squares)]
        corners += [post.coef_mean - radius * post.coef_sd, post.coef_mean + radius * post.coef_sd]
        if self.likelihood_full_rank:
            lik_sd = np.sqrt(np.diag(np.linalg.inv(self.likelihood_precision)))
            corners += [self.least_squares - radius * lik_sd, self.least_squares + radius * lik_sd]
        else:  # an improper likelihood: let the prior set the scale instead
            corners += [np.full_like(self.least_squares, -radius * self.prior_sigma)]
            corners += [np.full_like(self.least_squares, radius * self.prior_sigma)]
        points = np.vstack(corners)
        return points.min(axis=0), points.max(axis=0)


def prior_likelihood_posterior(
    X: np.ndarray, y: np.ndarray, *, prior_sigma: float, noise_sigma: float, fit_intercept: bool = True
) -> PriorLikelihoodPosterior:
    """The three Gaussians of the known-noise model, for drawing or inspecting them.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(20, 2)); y = X @ [1.0, 2.0] + rng.normal(size=20)
    >>> pic = prior_likelihood_posterior(X, y, prior_sigma=0.5, noise_sigma=1.0)
    >>> # precision adds up: posterior = prior + likelihood
    >>> bool(np.allclose(np.linalg.inv(pic.posterior.coef_cov),
    ...                  pic.prior_precision + pic.likelihood_precision))
    True
    """
    stats = sufficient_stats(X, y, fit_intercept=fit_intercept)
    return PriorLikelihoodPosterior(
        prior_sigma=float(prior_sigma),
        noise_sigma=float(noise_sigma),
        least_squares=np.linalg.lstsq(stats.xtx, stats.xty, rcond=None)[0],
        likelihood_precision=stats.xtx / noise_sigma**2,
        posterior=posterior_from_stats(stats, prior_sigma=prior_sigma, noise_sigma=noise_sigma),
        stats=stats,
    )

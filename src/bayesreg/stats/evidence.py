"""The evidence of the Gaussian linear model, and the prior scales it favours.

``log p(y | σ, σ_n)`` with the coefficients and the flat intercept integrated out exactly
(:func:`log_evidence`); the σ (and σ_n) that maximise it, type-II maximum likelihood
(:func:`empirical_bayes`, which reproduces scikit-learn's ``BayesianRidge``); the mode of the
marginal posterior of the scales under half-normal hyperpriors, with a certificate
(:func:`find_hyperparameter_mode`); and the exact leave-one-out predictive density
(:func:`exact_loo_log_density`). numpy and scipy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg

from bayesreg.stats.conjugate import gaussian_posterior
from bayesreg.stats.newton import newton_step
from bayesreg.stats.suffstats import SufficientStats, sufficient_stats

__all__ = [
    "EvidenceFit",
    "HyperparameterMode",
    "empirical_bayes",
    "empirical_bayes_from_stats",
    "exact_loo_log_density",
    "find_hyperparameter_mode",
    "hyperparameter_mode",
    "hyperparameter_mode_from_stats",
    "log_evidence",
]


EVIDENCE_CONVENTIONS = ("integrated", "sklearn")


def _effective_rows(stats: SufficientStats, convention: str) -> tuple[float, float]:
    """Rows the centred likelihood counts, and the constant the flat intercept adds to log Z."""
    if convention not in EVIDENCE_CONVENTIONS:
        raise ValueError(f"convention must be one of {EVIDENCE_CONVENTIONS}; got {convention!r}.")
    if not stats.fit_intercept:
        return float(stats.n), 0.0
    if convention == "integrated":
        # ∫ N(y; b + Xw, σ_n² I) db = (2πσ_n²)^{-(n-1)/2} n^{-1/2} exp(-‖yc - Xc w‖² / 2σ_n²)
        return float(stats.n - 1), -0.5 * np.log(stats.n)
    return float(stats.n), 0.0


@dataclass(frozen=True)
class _Spectrum:
    """``XcᵀXc = V diag(eig) Vᵀ`` and ``r = Vᵀ Xcᵀyc``: the evidence is cheap in these terms."""

    eig: np.ndarray
    r2: np.ndarray
    yty: float

    @classmethod
    def from_stats(cls, stats: SufficientStats) -> _Spectrum:
        eig, vecs = linalg.eigh(stats.xtx)
        eig = np.clip(eig, 0.0, None)  # round-off can leave tiny negatives in a rank-deficient XᵀX
        return cls(eig=eig, r2=(vecs.T @ stats.xty) ** 2, yty=stats.yty)

    def rss_plus_penalty(self, ridge_alpha: np.ndarray | float) -> np.ndarray:
        """``S(α) = min_w ‖yc − Xc w‖² + α‖w‖² = ycᵀyc − Σ r_j² / (e_j + α)``."""
        a = np.asarray(ridge_alpha, dtype=float)[..., None]
        return self.yty - np.sum(self.r2 / (self.eig + a), axis=-1)

    def log_evidence(self, ridge_alpha, noise_var, rows: float, const: float) -> np.ndarray:
        """The log evidence in terms of ``α = σ_n²/σ²`` and ``σ_n²`` (see :func:`log_evidence`)."""
        a = np.asarray(ridge_alpha, dtype=float)
        p = self.eig.size
        logdet = np.sum(np.log(self.eig + a[..., None]), axis=-1)
        return (
            const
            - 0.5 * rows * np.log(2 * np.pi * noise_var)
            + 0.5 * p * np.log(a)
            - 0.5 * logdet
            - self.rss_plus_penalty(a) / (2 * noise_var)
        )

    def dlog_evidence_dlog_alpha(self, ridge_alpha: float, noise_var: float | None, rows: float) -> float:
        """The derivative d log Z / d log α at fixed σ_n² (σ_n² profiled out if ``noise_var`` is None)."""
        a = float(ridge_alpha)
        s = float(self.rss_plus_penalty(a))
        ds = float(np.sum(self.r2 / (self.eig + a) ** 2))
        scale = rows / s if noise_var is None else 1.0 / noise_var
        d = 0.5 * self.eig.size / a - 0.5 * np.sum(1.0 / (self.eig + a)) - 0.5 * scale * ds
        return a * d

    def effective_dof(self, ridge_alpha: float) -> float:
        """``γ = Σ e_j / (e_j + α)``, the effective number of parameters (ESL's df(α))."""
        return float(np.sum(self.eig / (self.eig + ridge_alpha)))


def log_evidence(
    X: np.ndarray,
    y: np.ndarray,
    *,
    prior_sigma: float,
    noise_sigma: float,
    fit_intercept: bool = True,
    convention: str = "integrated",
) -> float:
    """Log marginal likelihood ``log p(y | σ, σ_n)`` of the Gaussian model, in closed form.

    The coefficients ``w ~ N(0, σ² I)`` are integrated out exactly. What the flat intercept does
    depends on ``convention``:

    ``"integrated"`` (default)
        The intercept is integrated out too, against the flat density 1 (in units of 1/y):
        ``∫ N(y; b + Xw, σ_n²) db = (2πσ_n²)^{-(n−1)/2} n^{-1/2} exp(−‖yc − Xc w‖² / 2σ_n²)``, so the
        centred data count as ``n − 1`` rows and log Z gains ``−½ log n``. This is the evidence of
        bayesreg's own model; an improper prior makes it defined only up to the constant of that
        prior (a flat density c adds ``log c``), which does not move the optimum over σ or σ_n.
    ``"sklearn"``
        The objective of scikit-learn's ``BayesianRidge``: the centred data count as ``n`` rows, as if
        the intercept were known. With known noise both conventions differ by a constant only, so
        they choose the same σ; with unknown noise they choose slightly different σ_n
        (``σ̂_n² = S/(n − 1)`` against ``S/n``).

    With ``Xc = V diag(e) Vᵀ``-decomposed and ``α = σ_n²/σ²``:
    ``log Z = c − (N/2) log(2πσ_n²) + (p/2) log α − ½ Σ log(e_j + α) − S(α) / (2σ_n²)``, where
    ``S(α) = min_w ‖yc − Xc w‖² + α‖w‖²`` and N is the number of effective rows.

    Parameters
    ----------
    X : ndarray, shape (n, p)
    y : ndarray, shape (n,)
    prior_sigma : float
        Prior sd σ of each coefficient.
    noise_sigma : float
        Noise sd σ_n.
    fit_intercept : bool, default True
        Whether the model has a flat-prior intercept (without one, both conventions coincide).
    convention : {"integrated", "sklearn"}, default "integrated"
        How the flat intercept enters, see above.

    Returns
    -------
    float

    Examples
    --------
    With one row and no intercept, ``y ~ N(0, σ_n² + σ² x²)``:

    >>> import numpy as np
    >>> from scipy import stats
    >>> z = log_evidence(np.array([[2.0]]), np.array([1.0]), prior_sigma=0.5, noise_sigma=1.0,
    ...                  fit_intercept=False)
    >>> bool(np.isclose(z, stats.norm.logpdf(1.0, scale=np.sqrt(1.0 + 0.25 * 4.0))))
    True
    """
    stats = sufficient_stats(X, y, fit_intercept=fit_intercept)
    rows, const = _effective_rows(stats, convention)
    spectrum = _Spectrum.from_stats(stats)
    alpha = noise_sigma**2 / prior_sigma**2
    return float(spectrum.log_evidence(alpha, noise_sigma**2, rows, const))


@dataclass(frozen=True)
class EvidenceFit:
    """The prior scale (and noise sd) that maximise the evidence: type-II maximum likelihood.

    Attributes
    ----------
    prior_sigma : float
        The empirical-Bayes prior sd σ̂.
    noise_sigma : float
        The known noise sd, or its empirical-Bayes value.
    ridge_alpha : float
        ``σ̂_n² / σ̂²``, the ridge penalty of the fit (sklearn ``Ridge(alpha=...)``).
    log_evidence : float
        log Z at the optimum (same convention as the fit).
    effective_dof : float
        ``Σ e_j / (e_j + α)``: effective number of parameters (ESL's df(α)).
    noise_known : bool
        Whether ``noise_sigma`` was given rather than fitted.
    convention : str
        How the flat intercept entered (see :func:`log_evidence`).
    at_boundary : bool
        True when the evidence kept rising towards σ → 0 or σ → ∞ (no interior optimum; the value
        is the edge of the searched range).
    """

    prior_sigma: float
    noise_sigma: float
    ridge_alpha: float
    log_evidence: float
    effective_dof: float
    noise_known: bool
    convention: str
    at_boundary: bool


def empirical_bayes(
    X: np.ndarray,
    y: np.ndarray,
    *,
    noise_sigma: float | None = None,
    fit_intercept: bool = True,
    convention: str = "integrated",
) -> EvidenceFit:
    """Maximise :func:`log_evidence` over ``prior_sigma`` (and ``noise_sigma`` when it is None).

    The search is over ``log α`` with ``α = σ_n²/σ²``; with unknown noise ``σ_n² = S(α)/N`` is
    profiled out exactly first (N effective rows, see :func:`log_evidence`). A grid brackets the
    maximum and Brent's root finder solves ``d log Z / d log α = 0`` to machine precision. With
    ``convention="sklearn"`` and unknown noise this is what ``BayesianRidge`` converges to with flat
    hyperpriors (``alpha_1 = alpha_2 = lambda_1 = lambda_2 = 0``): ridge α = ``lambda_ / alpha_``.

    Parameters
    ----------
    X : ndarray, shape (n, p)
    y : ndarray, shape (n,)
    noise_sigma : float or None, default None
        Known noise sd, or None to choose it by the evidence too.
    fit_intercept : bool, default True
    convention : {"integrated", "sklearn"}, default "integrated"

    Returns
    -------
    EvidenceFit

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import BayesianRidge
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 3)); y = X @ [1.0, -1.0, 0.5] + rng.normal(size=60)
    >>> fit = empirical_bayes(X, y, convention="sklearn")
    >>> br = BayesianRidge(alpha_1=0, alpha_2=0, lambda_1=0, lambda_2=0, tol=1e-14, max_iter=10_000)
    >>> br = br.fit(X, y)
    >>> bool(np.isclose(fit.ridge_alpha, br.lambda_ / br.alpha_, rtol=1e-6))
    True
    """
    stats = sufficient_stats(X, y, fit_intercept=fit_intercept)
    return empirical_bayes_from_stats(stats, noise_sigma=noise_sigma, convention=convention)


def empirical_bayes_from_stats(
    stats: SufficientStats, *, noise_sigma: float | None = None, convention: str = "integrated"
) -> EvidenceFit:
    """:func:`empirical_bayes` on precomputed statistics (e.g. accumulated from chunks).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 3)); y = X @ [1.0, -1.0, 0.5] + rng.normal(size=60)
    >>> fit = empirical_bayes_from_stats(sufficient_stats(X, y, fit_intercept=True))
    >>> bool(np.isclose(fit.prior_sigma, empirical_bayes(X, y).prior_sigma, rtol=1e-12))
    True
    """
    from scipy import optimize

    rows, const = _effective_rows(stats, convention)
    spec = _Spectrum.from_stats(stats)
    noise_var = None if noise_sigma is None else float(noise_sigma) ** 2

    def objective(log_alpha: np.ndarray) -> np.ndarray:
        a = np.exp(log_alpha)
        nv = spec.rss_plus_penalty(a) / rows if noise_var is None else noise_var
        return spec.log_evidence(a, nv, rows, const)

    # α is relative to the data's own scale: the mean eigenvalue of XcᵀXc.
    scale = max(float(np.mean(spec.eig)), np.finfo(float).tiny)
    grid = np.log(scale) + np.linspace(-12 * np.log(10), 12 * np.log(10), 481)
    values = objective(grid)
    best = int(np.nanargmax(values))
    at_boundary = best in (0, grid.size - 1)
    log_alpha = grid[best]
    if not at_boundary:

        def deriv(t: float) -> float:
            return spec.dlog_evidence_dlog_alpha(np.exp(t), noise_var, rows)

        lo, hi = grid[best - 1], grid[best + 1]
        if deriv(lo) > 0 > deriv(hi):
            log_alpha = optimize.brentq(deriv, lo, hi, xtol=1e-14, rtol=4 * np.finfo(float).eps)
        else:  # flat to round-off: refine on the function itself
            res = optimize.minimize_scalar(lambda t: -objective(t), bounds=(lo, hi), method="bounded")
            log_alpha = float(res.x)
    alpha = float(np.exp(log_alpha))
    nv = float(spec.rss_plus_penalty(alpha)) / rows if noise_var is None else noise_var
    return EvidenceFit(
        prior_sigma=float(np.sqrt(nv / alpha)),
        noise_sigma=float(np.sqrt(nv)),
        ridge_alpha=alpha,
        log_evidence=float(spec.log_evidence(alpha, nv, rows, const)),
        effective_dof=spec.effective_dof(alpha),
        noise_known=noise_var is not None,
        convention=convention,
        at_boundary=at_boundary,
    )


def exact_loo_log_density(
    X: np.ndarray,
    y: np.ndarray,
    *,
    prior_sigma: float,
    noise_sigma: float,
    fit_intercept: bool = True,
) -> np.ndarray:
    """Exact leave-one-out log predictive density ``log p(y_i | y_{−i})`` of every row.

    For the Gaussian model with known noise the leave-one-out predictive is Gaussian. With
    ``θ = (w, b)``, ``z_i = (x_i, 1)``, the full-data posterior covariance ``Σ`` and mean ``θ̂``, and the
    leverage ``h_i = z_iᵀ Σ z_i / σ_n²``, a rank-one downdate gives
    ``y_i | y_{−i} ~ N(z_iᵀθ̂ + r_i h_i / (1 − h_i), σ_n² / (1 − h_i))`` with ``r_i = y_i − z_iᵀθ̂``, i.e.
    the leave-one-out residual is ``r_i / (1 − h_i)``. Summed over rows this is the exact elpd that
    PSIS-LOO estimates.

    Parameters
    ----------
    X : ndarray, shape (n, p)
    y : ndarray, shape (n,)
    prior_sigma, noise_sigma : float
    fit_intercept : bool, default True

    Returns
    -------
    ndarray, shape (n,)

    Examples
    --------
    Leaving out row 0 and predicting it from the rest gives the same density:

    >>> import numpy as np
    >>> from scipy import stats
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(15, 2)), rng.normal(size=15)
    >>> loo = exact_loo_log_density(X, y, prior_sigma=1.0, noise_sigma=0.5)
    >>> m, s = gaussian_posterior(X[1:], y[1:], prior_sigma=1.0, noise_sigma=0.5).predict(
    ...     X[:1], return_std=True)
    >>> bool(np.isclose(loo[0], stats.norm.logpdf(y[0], m[0], s[0])))
    True
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    post = gaussian_posterior(
        X, y, prior_sigma=prior_sigma, noise_sigma=noise_sigma, fit_intercept=fit_intercept
    )
    mean, sd = post.predict(X, return_std=True)
    noise_var = noise_sigma**2
    h = (sd**2 - noise_var) / noise_var  # the mean b + xᵀw has posterior variance σ_n² h_i
    resid_loo = (y - mean) / (1.0 - h)
    var_loo = noise_var / (1.0 - h)
    return -0.5 * np.log(2 * np.pi * var_loo) - 0.5 * resid_loo**2 / var_loo


def hyperparameter_mode(
    X: np.ndarray,
    y: np.ndarray,
    *,
    prior_sigma_prior: float,
    noise_sigma: float | None = None,
    noise_prior_sigma: float | None = None,
    fit_intercept: bool = True,
) -> tuple[float, float]:
    """Mode of ``p(σ, σ_n | y) ∝ Z(σ, σ_n) · HalfNormal(σ; s) [· HalfNormal(σ_n; s_n)]``.

    The hierarchical model (``prior_sigma ~ HalfNormal(prior_sigma_prior)``) has no useful joint
    MAP: its density grows without bound as σ → 0 with every coefficient at 0 (a funnel). With the
    coefficients and the intercept integrated out exactly (:func:`log_evidence`, "integrated"), the
    marginal posterior of the scales is bounded, and its mode is a well-defined point estimate
    (type-II MAP). Like bayesreg's MAP, this is the mode in σ itself (no Jacobian of a log transform).

    Parameters
    ----------
    X : ndarray, shape (n, p)
    y : ndarray, shape (n,)
    prior_sigma_prior : float
        Scale s of the half-normal prior on σ.
    noise_sigma : float or None, default None
        Known noise sd, or None for a half-normal prior with scale ``noise_prior_sigma``.
    noise_prior_sigma : float or None
        Scale of that prior (needed when ``noise_sigma`` is None).
    fit_intercept : bool, default True

    Returns
    -------
    (prior_sigma, noise_sigma) : tuple of float
        The mode (``noise_sigma`` is the known value when one is given).

    Examples
    --------
    A very wide hyperprior gives back the empirical-Bayes value:

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 3)); y = X @ [1.0, -1.0, 0.5] + rng.normal(size=50)
    >>> s, _ = hyperparameter_mode(X, y, prior_sigma_prior=1e6, noise_sigma=1.0)
    >>> bool(np.isclose(s, empirical_bayes(X, y, noise_sigma=1.0).prior_sigma, rtol=1e-6))
    True
    """
    stats = sufficient_stats(X, y, fit_intercept=fit_intercept)
    return hyperparameter_mode_from_stats(
        stats,
        prior_sigma_prior=prior_sigma_prior,
        noise_sigma=noise_sigma,
        noise_prior_sigma=noise_prior_sigma,
    )


def hyperparameter_mode_from_stats(
    stats: SufficientStats,
    *,
    prior_sigma_prior: float,
    noise_sigma: float | None = None,
    noise_prior_sigma: float | None = None,
) -> tuple[float, float]:
    """:func:`hyperparameter_mode` on precomputed statistics (e.g. accumulated from chunks).

    Warns :class:`~bayesreg.exceptions.OptimizerWarning` when the mode could not be certified
    (see :func:`find_hyperparameter_mode`, which returns that verdict instead).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 3)); y = X @ [1.0, -1.0, 0.5] + rng.normal(size=50)
    >>> stats = sufficient_stats(X, y, fit_intercept=True)
    >>> s, _ = hyperparameter_mode_from_stats(stats, prior_sigma_prior=1.0, noise_sigma=1.0)
    >>> bool(np.isclose(s, hyperparameter_mode(X, y, prior_sigma_prior=1.0, noise_sigma=1.0)[0]))
    True
    """
    mode = find_hyperparameter_mode(
        stats,
        prior_sigma_prior=prior_sigma_prior,
        noise_sigma=noise_sigma,
        noise_prior_sigma=noise_prior_sigma,
    )
    mode.warn_if_not_converged()
    return mode.prior_sigma, mode.noise_sigma


@dataclass(frozen=True)
class HyperparameterMode:
    """The mode of the marginal posterior of the scales, with the proof that it is one.

    Attributes
    ----------
    prior_sigma, noise_sigma : float
        The mode (``noise_sigma`` is the known value when one was given).
    converged : bool
        True when the Hessian in ``(log σ, log σ_n)`` is negative definite at the point and the
        remaining Newton step is below ``rtol`` (so σ is pinned to that relative precision).
    newton_step : float
        The largest component of the remaining Newton step, in log units (a relative change).
    n_iterations : int
        Newton iterations taken.
    reason : str
        Why the check failed, with what to do about it ("" when converged).
    """

    prior_sigma: float
    noise_sigma: float
    converged: bool
    newton_step: float
    n_iterations: int
    reason: str = ""

    def warn_if_not_converged(self) -> None:
        """Warn :class:`~bayesreg.exceptions.OptimizerWarning` with :attr:`reason` when not converged."""
        if self.converged:
            return
        from bayesreg._warn import warn_user
        from bayesreg.exceptions import OptimizerWarning

        warn_user(
            f"The most probable prior_sigma could not be certified (remaining Newton step "
            f"{self.newton_step:.2e} in log σ after {self.n_iterations} iterations): {self.reason} "
            "The MAP and the sampler's whitening rest on it.",
            OptimizerWarning,
        )


class _ScaleLogPosterior:
    """``log p(σ, σ_n | y)`` up to a constant, with its exact gradient and Hessian in log coordinates.

    With ``u = log σ``, ``v = log σ_n``, ``a = σ²``, ``b = σ_n²`` and ``α = b/a``::

        f = −½ Σ_j log(a e_j + b) − ½ (m − p) log b − S(α) / (2b) − a/(2s²) [− b/(2 s_n²)]

    where ``e_j`` are the eigenvalues of ``XcᵀXc``, ``m`` the rows the likelihood counts and
    ``S(α) = min_w ‖yc − Xc w‖² + α‖w‖²``. From the SVD ``R = U diag(√e) Vᵀ`` of the R factor of
    the data, with ``c = Uᵀ qty`` and ``ρ = ‖qty − U c‖²``, ``S(α) = ρ + Σ α c_j² / (e_j + α)``: a
    sum of non-negative terms, accurate even when the fit is nearly perfect (where
    ``yᵀy − Σ r_j²/(e_j + α)`` cancels). Its derivatives ``S' = Σ e c²/(e + α)²`` and
    ``S'' = −2 Σ e c²/(e + α)³`` are sums of the same kind.
    """

    def __init__(self, stats: SufficientStats, prior_sigma_prior: float, noise_prior_sigma: float | None):
        rows, const = _effective_rows(stats, "integrated")
        p = stats.xtx.shape[0]
        u_mat, sv, _ = linalg.svd(stats.r_factor, full_matrices=False)
        c = u_mat.T @ stats.qty
        self.rho = float(np.sum((stats.qty - u_mat @ c) ** 2))
        # Directions X does not span have e_j = 0 and c_j = 0 (padding keeps p terms in the log-det).
        self.e = np.zeros(p)
        self.e[: sv.size] = sv**2
        self.c2 = np.zeros(p)
        self.c2[: c.size] = c**2
        self.rows, self.p = rows, p
        self.const = const - 0.5 * rows * np.log(2 * np.pi)
        self.s2 = float(prior_sigma_prior) ** 2
        self.sn2 = None if noise_prior_sigma is None else float(noise_prior_sigma) ** 2

    def __call__(self, u: float, v: float, *, free_noise: bool) -> tuple[float, np.ndarray, np.ndarray]:
        """Value, gradient and Hessian in ``(u,)`` or ``(u, v)`` (``v`` fixed unless ``free_noise``)."""
        a, b = np.exp(2 * u), np.exp(2 * v)
        alpha = b / a
        e, c2 = self.e, self.c2
        d = a * e + b
        pj, qj = a * e / d, b / d
        ea = e + alpha
        s = self.rho + np.sum(alpha * c2 / ea)
        s1 = np.sum(e * c2 / ea**2)
        s2 = -2.0 * np.sum(e * c2 / ea**3)
        s_minus = self.rho + np.sum(alpha**2 * c2 / ea**2)  # S − αS', written without cancellation
        pq = np.sum(pj * qj)

        value = self.const - 0.5 * np.sum(np.log(d)) - 0.5 * (self.rows - self.p) * np.log(b) - s / (2 * b)
        value -= a / (2 * self.s2)
        g_u = -np.sum(pj) + alpha * s1 / b - a / self.s2
        h_uu = -2 * pq - 2 * alpha * np.sum(e * c2 * (e - alpha) / ea**3) / b - 2 * a / self.s2
        if not free_noise:
            return float(value), np.array([g_u]), np.array([[h_uu]])
        sn2 = self.sn2
        if sn2 is None:
            raise RuntimeError("free_noise needs the noise prior's scale (noise_prior_sigma)")
        value -= b / (2 * sn2)
        g_v = -np.sum(qj) - (self.rows - self.p) + s_minus / b - b / sn2
        h_uv = 2 * pq + 2 * alpha**2 * s2 / b
        h_vv = -2 * pq - 2 * alpha**2 * s2 / b - 2 * s_minus / b - 2 * b / sn2
        return float(value), np.array([g_u, g_v]), np.array([[h_uu, h_uv], [h_uv, h_vv]])


def find_hyperparameter_mode(
    stats: SufficientStats,
    *,
    prior_sigma_prior: float,
    noise_sigma: float | None = None,
    noise_prior_sigma: float | None = None,
    rtol: float = 1e-9,
    max_iter: int = 200,
) -> HyperparameterMode:
    """The mode of ``p(σ, σ_n | y)`` by Newton's method on the exact Hessian, with its own check.

    The search runs in ``(log σ, log σ_n)`` (``log σ`` alone when the noise is known) from the
    empirical-Bayes point, with damped Newton steps that must raise the log density. The result
    is *converged* only when, at the final point, the Hessian is negative definite and the
    remaining Newton step is below ``rtol`` in every coordinate: a strict local maximum, located to
    ``rtol`` relative precision in σ and σ_n.

    Parameters
    ----------
    stats : SufficientStats
        Statistics of the data.
    prior_sigma_prior : float
        Scale s of the ``HalfNormal(s)`` prior on σ.
    noise_sigma : float or None
        Known noise sd, or None for a ``HalfNormal(noise_prior_sigma)`` prior on it.
    noise_prior_sigma : float or None
        Needed when ``noise_sigma`` is None.
    rtol : float, default 1e-9
        Bound on the remaining Newton step (log units) for the check to pass.
    max_iter : int, default 200
        Newton iterations before giving up.

    Returns
    -------
    HyperparameterMode

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 3)); y = X @ [1.0, -1.0, 0.5] + rng.normal(size=50)
    >>> mode = find_hyperparameter_mode(sufficient_stats(X, y, fit_intercept=True),
    ...                                 prior_sigma_prior=1.0, noise_sigma=1.0)
    >>> mode.converged, mode.newton_step < 1e-9
    (True, True)
    """
    if noise_sigma is None and noise_prior_sigma is None:
        raise ValueError("Give noise_sigma, or noise_prior_sigma for an unknown noise sd.")
    free_noise = noise_sigma is None
    target = _ScaleLogPosterior(stats, prior_sigma_prior, noise_prior_sigma if free_noise else None)
    start = empirical_bayes_from_stats(stats, noise_sigma=noise_sigma)
    x = np.log([start.prior_sigma, start.noise_sigma]) if free_noise else np.log([start.prior_sigma])
    v_known = 0.0 if noise_sigma is None else float(np.log(noise_sigma))

    def evaluate(point: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        return target(point[0], point[1] if free_noise else v_known, free_noise=free_noise)

    n_iter = 0
    value, grad, hess = evaluate(x)
    for n_iter in range(1, max_iter + 1):  # noqa: B007 (n_iter is reported)
        step = _ascent_step(grad, hess)
        if np.max(np.abs(step)) <= 1e-3 * rtol:
            break
        # Backtrack until the log density rises (it is smooth, so a small enough step does).
        for _ in range(60):
            candidate = x + step
            c_value, c_grad, c_hess = evaluate(candidate)
            if np.isfinite(c_value) and c_value >= value:
                break
            step = step / 2
        else:
            break
        stalled = c_value <= value  # no rise left at round-off: more steps would only wander
        x, value, grad, hess = candidate, c_value, c_grad, c_hess
        if stalled:
            break

    newton = newton_step(grad, hess)
    remaining = float("inf") if newton is None else float(np.max(np.abs(newton)))
    converged = bool(np.isfinite(value) and remaining <= rtol)
    sigma = float(np.exp(x[0]))
    noise = float(np.exp(x[1])) if noise_sigma is None else float(noise_sigma)
    reason = "" if converged else _why_no_mode(target, sigma, noise, concave=newton is not None)
    return HyperparameterMode(sigma, noise, converged, remaining, n_iter, reason)


def _why_no_mode(target: _ScaleLogPosterior, sigma: float, noise: float, *, concave: bool) -> str:
    """The likeliest reason the search for the mode of the scales failed, and what to do."""
    # σ²·e_j against σ_n²: how much of the data's spread the prior lets the coefficients explain.
    reach = sigma**2 * float(np.max(target.e)) / noise**2
    if reach < 1e-10:
        return (
            "the marginal posterior of prior_sigma keeps rising as prior_sigma -> 0, so it has no "
            "interior mode: against this prior_sigma_prior the data hold too little evidence for "
            "non-zero coefficients. Use a fixed prior_sigma, or a wider prior_sigma_prior."
        )
    if not concave:
        return (
            "the log posterior of the scales is not concave at the last point, so there may be no "
            "interior mode (the noise sd may be unidentified when y is nearly a linear function "
            "of X). Use a fixed prior_sigma, or a known noise_sigma."
        )
    return "Newton's method stopped short of its tolerance; please report this data set."


def _ascent_step(grad: np.ndarray, hess: np.ndarray, max_length: float = 1.0) -> np.ndarray:
    """A Newton step, regularised toward gradient ascent where H is not negative definite.

    Steps are capped at ``max_length`` in log units (a factor e in σ), so one step cannot leave
    the region where the quadratic model means anything.
    """
    shift = 0.0
    scale = max(1.0, float(np.max(np.abs(np.diag(hess)))))
    while True:
        step = newton_step(grad, hess - shift * np.eye(grad.size))
        if step is not None:
            break
        shift = scale * 1e-8 if shift == 0.0 else shift * 10
    length = float(np.max(np.abs(step)))
    return step * (max_length / length) if length > max_length else step

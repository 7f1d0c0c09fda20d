"""Laplace-approximation evidence of the logistic model, and the prior scale that maximises it.

Model: ``w ~ N(0, σ² I)``, a flat (density 1) intercept ``b`` and ``y_i ~ Bernoulli(sigmoid(b + x_iᵀw))``.
The evidence ``Z(σ) = ∫∫ p(y | w, b) N(w; 0, σ² I) dw db`` has no closed form; the Laplace
approximation replaces the log posterior by its second-order expansion at the MAP θ̂ = (ŵ, b̂):

``log Z ≈ log p(y | θ̂) + log N(ŵ; 0, σ² I) + (d/2) log 2π − ½ log det H``,

with ``H`` the negative Hessian of the log posterior at θ̂ and ``d = p + 1`` (p without an intercept).
Its relative error in Z is O(1/n): it is exact only for a Gaussian posterior. Like the Gaussian
evidence of :mod:`bayesreg.stats.conjugate`, it is defined up to the constant of the flat intercept prior.

Only numpy and scipy: the MAP is found by Newton's method here, independently of the PyMC MAP.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg, optimize
from scipy.special import expit, log_expit

__all__ = ["LaplaceEvidence", "logistic_empirical_bayes", "logistic_laplace_evidence"]


@dataclass(frozen=True)
class LaplaceEvidence:
    """The Laplace approximation of the logistic model at one prior scale.

    Attributes
    ----------
    prior_sigma : float
        Prior sd σ of each coefficient.
    log_evidence : float
        The Laplace approximation of log Z.
    coef : ndarray, shape (p,)
        Coefficients at the MAP (equal to ``LogisticRegression(C=σ²)``).
    intercept : float
        Intercept at the MAP (0 without one).
    cov : ndarray, shape (d, d)
        Laplace covariance of ``(coef, intercept)`` (the inverse of H).
    log_likelihood : float
        ``log p(y | θ̂)``.
    """

    prior_sigma: float
    log_evidence: float
    coef: np.ndarray
    intercept: float
    cov: np.ndarray
    log_likelihood: float


def _design(X: np.ndarray, fit_intercept: bool) -> np.ndarray:
    return np.column_stack([X, np.ones(X.shape[0])]) if fit_intercept else X


def _check_binary(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y, dtype=float)
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("y must hold 0/1 labels.")
    return y


def _newton_map(Z: np.ndarray, y: np.ndarray, prior_prec: np.ndarray, theta0: np.ndarray) -> np.ndarray:
    """Maximise ``Σ log p(y_i | z_iᵀθ) − ½ θᵀ diag(prior_prec) θ`` by damped Newton steps."""

    def objective(theta: np.ndarray) -> float:
        eta = Z @ theta
        return float(np.sum(y * log_expit(eta) + (1 - y) * log_expit(-eta)) - 0.5 * prior_prec @ theta**2)

    theta, value = theta0.copy(), objective(theta0)
    for _ in range(200):
        prob = expit(Z @ theta)
        grad = Z.T @ (y - prob) - prior_prec * theta
        hess = (Z * (prob * (1 - prob))[:, None]).T @ Z + np.diag(prior_prec)
        step = linalg.solve(hess, grad, assume_a="pos")
        t = 1.0
        while True:
            candidate = theta + t * step
            new_value = objective(candidate)
            if new_value >= value - 1e-12 * abs(value) or t < 1e-10:
                break
            t *= 0.5
        theta, value = candidate, new_value
        if np.max(np.abs(t * step)) <= 1e-12 * max(1.0, np.max(np.abs(theta))):
            return theta
    raise RuntimeError(
        "Newton's method did not converge for the logistic MAP (separable data with a very wide "
        "prior?): use a smaller prior_sigma."
    )


def logistic_laplace_evidence(
    X: np.ndarray,
    y: np.ndarray,
    *,
    prior_sigma: float,
    fit_intercept: bool = True,
    _theta0: np.ndarray | None = None,
) -> LaplaceEvidence:
    """Laplace approximation of the logistic model's log evidence at ``prior_sigma``.

    Parameters
    ----------
    X : ndarray, shape (n, p)
    y : ndarray, shape (n,)
        Labels in {0, 1}.
    prior_sigma : float
        Prior sd σ of each coefficient.
    fit_intercept : bool, default True
        Whether to include an intercept with a flat (density 1) prior.

    Returns
    -------
    LaplaceEvidence

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(80, 2)); y = (X @ [1.5, -1.0] + rng.logistic(size=80) > 0).astype(int)
    >>> lap = logistic_laplace_evidence(X, y, prior_sigma=1.0)
    >>> lr = LogisticRegression(C=1.0, l1_ratio=0.0, solver="newton-cholesky", tol=1e-12).fit(X, y)
    >>> bool(np.allclose(lap.coef, lr.coef_[0], atol=1e-8))
    True
    """
    X = np.asarray(X, dtype=float)
    y = _check_binary(y)
    p = X.shape[1]
    x_mean = X.mean(axis=0) if fit_intercept else np.zeros(p)
    # Centring X makes the intercept nearly orthogonal to w; the map is affine with unit
    # determinant, so neither the MAP nor the evidence changes.
    Z = _design(X - x_mean, fit_intercept)
    prior_prec = np.r_[np.full(p, 1.0 / prior_sigma**2), np.zeros(Z.shape[1] - p)]
    theta0 = np.zeros(Z.shape[1]) if _theta0 is None else _theta0
    theta = _newton_map(Z, y, prior_prec, theta0)
    eta = Z @ theta
    log_lik = float(np.sum(y * log_expit(eta) + (1 - y) * log_expit(-eta)))
    w = theta[:p]
    log_prior = float(-0.5 * w @ w / prior_sigma**2 - p * np.log(prior_sigma) - 0.5 * p * np.log(2 * np.pi))
    prob = expit(eta)
    hess = (Z * (prob * (1 - prob))[:, None]).T @ Z + np.diag(prior_prec)
    chol = linalg.cholesky(hess, lower=True)
    logdet = 2.0 * float(np.sum(np.log(np.diag(chol))))
    d = Z.shape[1]
    log_z = log_lik + log_prior + 0.5 * d * np.log(2 * np.pi) - 0.5 * logdet
    cov_c = linalg.cho_solve((chol, True), np.eye(d))
    intercept = 0.0
    cov = cov_c
    if fit_intercept:
        # Back from the centred intercept: b = b_c − x̄ᵀw.
        shear = np.eye(d)
        shear[p, :p] = -x_mean
        cov = shear @ cov_c @ shear.T
        intercept = float(theta[p] - x_mean @ w)
    return LaplaceEvidence(
        prior_sigma=float(prior_sigma),
        log_evidence=float(log_z),
        coef=w.copy(),
        intercept=intercept,
        cov=cov,
        log_likelihood=log_lik,
    )


def logistic_empirical_bayes(
    X: np.ndarray,
    y: np.ndarray,
    *,
    fit_intercept: bool = True,
    bounds: tuple[float, float] = (1e-3, 1e3),
) -> LaplaceEvidence:
    """The prior sd that maximises the Laplace evidence, and the approximation there.

    A log-spaced grid over ``bounds`` brackets the maximum; Brent's method refines it in log σ.

    Parameters
    ----------
    X : ndarray, shape (n, p)
    y : ndarray, shape (n,)
        Labels in {0, 1}.
    fit_intercept : bool, default True
    bounds : (float, float), default (1e-3, 1e3)
        Range of σ searched. An optimum on an edge means the evidence keeps rising past it.

    Returns
    -------
    LaplaceEvidence
        At the empirical-Bayes σ̂ (``.prior_sigma``).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3)); y = (X @ [1.0, -1.0, 0.5] + rng.logistic(size=200) > 0)
    >>> fit = logistic_empirical_bayes(X, y.astype(int))
    >>> 0.3 < fit.prior_sigma < 3.0
    True
    """
    X = np.asarray(X, dtype=float)
    y = _check_binary(y)
    grid = np.linspace(np.log(bounds[0]), np.log(bounds[1]), 49)
    theta: np.ndarray | None = None
    log_evidences: list[float] = []
    # From wide to narrow: each MAP starts from the previous one, which is close.
    for t in grid[::-1]:
        fit = logistic_laplace_evidence(
            X, y, prior_sigma=np.exp(t), fit_intercept=fit_intercept, _theta0=theta
        )
        theta = np.r_[fit.coef, fit.intercept + X.mean(axis=0) @ fit.coef] if fit_intercept else fit.coef
        log_evidences.append(fit.log_evidence)
    values = np.array(log_evidences[::-1])
    best = int(np.argmax(values))
    if best in (0, grid.size - 1):
        return logistic_laplace_evidence(X, y, prior_sigma=np.exp(grid[best]), fit_intercept=fit_intercept)
    res = optimize.minimize_scalar(
        lambda t: (
            -logistic_laplace_evidence(X, y, prior_sigma=np.exp(t), fit_intercept=fit_intercept).log_evidence
        ),
        bounds=(grid[best - 1], grid[best + 1]),
        method="bounded",
        options={"xatol": 1e-9},
    )
    return logistic_laplace_evidence(X, y, prior_sigma=float(np.exp(res.x)), fit_intercept=fit_intercept)

"""The minimum of a smooth objective plus a weighted L1 term, with a proof that it is one.

The problem is ``F(x) = f(x) + Σ_j w_j |x_j − m_j|``: ``f`` smooth (minus a log density without its
Laplace or elastic-net L1 part; it may hold an L2 part and coordinates with no L1 term, such as an
intercept or a log noise sd, for which ``w_j = 0``), ``w_j ≥ 0`` the L1 weights and ``m_j`` the
centre each L1 term is put on (a prior mean). Gradient-based optimizers stop near such a minimum but
never *at* a kink, so they return no exact zeros and no usable certificate. :func:`minimize_l1`
instead runs three stages:

1. **Proximal Newton** (Lee, Sun & Saunders 2014, "Proximal Newton-type methods for minimizing
   composite functions", SIAM J. Optim. 24(3)). At ``x`` the smooth part is replaced by its
   quadratic model from the gradient ``g`` and Hessian ``H`` (shifted to positive definite where
   ``f`` is not convex there), and ``min_z gᵀ(z − x) + ½(z − x)ᵀH(z − x) + Σ w_j|z_j − m_j|`` is
   solved by coordinate descent with exact soft-thresholding, then *exactly*: once the sweeps settle
   on a sign pattern, the linear system of that pattern is solved and the subproblem's optimality
   conditions are checked. A backtracking line search along ``z − x`` accepts the first step size
   ``t`` with ``F(x + t(z − x)) ≤ F(x) + 10⁻⁴ t Δ``, where ``Δ = gᵀ(z − x) + Σ w_j(|z_j − m_j| −
   |x_j − m_j|) < 0`` (their sufficient decrease condition).
2. **Polish** (identification). When a step would leave the support ``S`` (the coordinates with
   ``x_j ≠ m_j`` or ``w_j = 0``) and the signs of ``x − m`` unchanged, ``F`` is smooth near ``x``
   along that face: the coordinates off the support are held *exactly* at their centre, and Newton
   steps on ``f(x) + Σ_S w_j s_j (x_j − m_j)`` over ``S`` take the last digits, as
   ``backend.inference.find_map`` does for smooth posteriors.
3. **Certificate** (:func:`l1_certificate`): the first-order (KKT) conditions of ``F`` at the point
   returned, and a positive definite Hessian on the support (not singular to working precision).

The KKT residual of coordinate ``j`` is ``g_j + w_j sign(x_j − m_j)`` on the support (``g_j`` when
``w_j = 0``) and ``max(|g_j| − w_j, 0)`` at the centre (how far ``−g_j`` lies outside the
subdifferential ``[−w_j, w_j]``). It is measured against the size of the forces that cancel there,
``scale_j = max(w_j, H_jj |x_j|, √H_jj)``: the L1 pull, or the curvature's pull over the
coordinate's magnitude or over one conditional sd (``1/√H_jj``; ``f`` is a negative log density, so
it is dimensionless and ``√H_jj`` is a gradient). A residual of ``tol·scale_j`` thus moves ``x_j`` by
about ``tol·max(|x_j|, 1/√H_jj)``, the measure of ``find_map``'s relative Newton step. With residuals
``≤ tol·scale`` and ``H_SS`` positive definite, the point is a minimum: for convex ``f`` the global one,
otherwise a strict local one whenever each centred coordinate holds strictly (``|g_j| < w_j``).

Numpy and scipy only; the Newton step and its positive-definiteness test are those of
:mod:`bayesreg.stats.newton`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import linalg

from bayesreg.stats.newton import newton_step_and_inverse

__all__ = ["L1Certificate", "L1Result", "l1_certificate", "minimize_l1"]

Objective = Callable[[np.ndarray], tuple[float, np.ndarray, np.ndarray]]

_EPS = float(np.finfo(float).eps)
_ARMIJO = 1e-4  # the sufficient-decrease fraction of the line search
_MAX_HALVINGS = 60
_MAX_POLISH_STEPS = 50
_FREE = 2  # pattern code of a coordinate without an L1 term (never at a kink)


@dataclass(frozen=True)
class L1Certificate:
    """The optimality conditions of ``f(x) + Σ w_j|x_j − m_j|`` at one point.

    Attributes
    ----------
    converged : bool
        The point is certified: every KKT residual ``≤ tol · scale_j`` and ``H_SS`` (the Hessian of
        ``f`` restricted to the support) positive definite, also with any tied coordinate added.
    kkt_violation : float
        ``max_j |residual_j| / scale_j`` (see the module docstring); ``inf`` if not finite.
    support : ndarray of bool
        The coordinates not at their centre, and every coordinate with ``w_j = 0``.
    support_hessian_pd : bool
        Whether ``H_SS`` has a Cholesky factor and is not singular to working precision (smallest
        eigenvalue above ``10 |S| ε`` times the largest), and so has the Hessian on the support and
        the tied coordinates (at their centre with ``|g_j|`` within the KKT tolerance of ``w_j``).
    inv_hess : ndarray, shape (n, n)
        ``H_SS⁻¹`` on the support block and 0 elsewhere; all NaN when ``support_hessian_pd`` is
        False.
    """

    converged: bool
    kkt_violation: float
    support: np.ndarray
    support_hessian_pd: bool
    inv_hess: np.ndarray


@dataclass(frozen=True)
class L1Result:
    """The result of :func:`minimize_l1`.

    Attributes
    ----------
    x : ndarray, shape (n,)
        The point returned. Coordinates off the support equal their centre ``m_j`` exactly.
    fun : float
        ``F(x) = f(x) + Σ w_j |x_j − m_j|``.
    grad : ndarray, shape (n,)
        The gradient of the smooth part ``f`` at ``x``.
    converged : bool
        The certificate of :func:`l1_certificate` at ``x``.
    kkt_violation : float
        The largest scaled KKT residual at ``x``.
    support : ndarray of bool
        The coordinates not at their centre, and those with ``w_j = 0``.
    inv_hess : ndarray, shape (n, n)
        The inverse of the Hessian of ``f`` restricted to the support, 0 off it (NaN everywhere when
        that Hessian is not positive definite). It is the covariance of a Laplace approximation
        *conditional on* the centred coordinates staying at their centre: the curvature of the
        posterior along the support, not a posterior covariance of the centred coordinates (a
        Laplace prior has no atom at its centre; their marginal posterior has positive variance).
    n_iterations : int
        Proximal Newton iterations plus polishing Newton steps.
    message : str
        Why the solver stopped, or why the certificate failed.
    """

    x: np.ndarray
    fun: float
    grad: np.ndarray
    converged: bool
    kkt_violation: float
    support: np.ndarray
    inv_hess: np.ndarray
    n_iterations: int
    message: str


# --- the certificate -------------------------------------------------------------------------------


def _as_weights(l1_weight: ArrayLike, center: ArrayLike | None, n: int) -> tuple[np.ndarray, np.ndarray]:
    weight = np.broadcast_to(np.asarray(l1_weight, dtype=float), (n,)).copy()
    if not np.all(np.isfinite(weight)) or np.any(weight < 0):
        raise ValueError(f"l1_weight must be finite and >= 0 in every coordinate; got {l1_weight!r}.")
    centre = np.zeros(n) if center is None else np.broadcast_to(np.asarray(center, dtype=float), (n,)).copy()
    if not np.all(np.isfinite(centre)):
        raise ValueError(f"center must be finite; got {center!r}.")
    return weight, centre


def _pattern(x: np.ndarray, weight: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """``sign(x − m)`` for the coordinates with an L1 term, ``_FREE`` for the others."""
    return np.where(weight > 0, np.sign(x - centre), _FREE).astype(int)


def _residuals(
    x: np.ndarray, grad: np.ndarray, weight: np.ndarray, centre: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The KKT residual of every coordinate, and the support."""
    pattern = _pattern(x, weight, centre)
    support = pattern != 0
    signs = np.where(pattern == _FREE, 0, pattern)
    residual = np.where(support, grad + weight * signs, np.maximum(np.abs(grad) - weight, 0.0))
    return residual, support


def l1_certificate(
    x: ArrayLike,
    grad: ArrayLike,
    hess: ArrayLike,
    l1_weight: ArrayLike,
    center: ArrayLike | None = None,
    *,
    tol: float = 1e-10,
) -> L1Certificate:
    """Check that ``x`` minimises ``f(x) + Σ_j w_j |x_j − m_j|``, given ``f``'s gradient and Hessian.

    Parameters
    ----------
    x : array, shape (n,)
        The point.
    grad, hess : arrays, shapes (n,) and (n, n)
        The gradient and Hessian of the smooth part ``f`` at ``x``.
    l1_weight : float or array
        ``w_j ≥ 0``.
    center : float or array, optional
        ``m_j`` (default 0).
    tol : float
        The bound on the scaled KKT residuals (see the module docstring).

    Returns
    -------
    L1Certificate

    Examples
    --------
    ``f(x) = ½(x − 3)²`` with ``w = 1`` has its minimum at 2; with ``w = 5``, at 0.

    >>> cert = l1_certificate([2.0], grad=[-1.0], hess=[[1.0]], l1_weight=1.0)
    >>> cert.converged, cert.kkt_violation
    (True, 0.0)
    >>> l1_certificate([0.0], grad=[-3.0], hess=[[1.0]], l1_weight=5.0).converged
    True
    >>> l1_certificate([0.0], grad=[-3.0], hess=[[1.0]], l1_weight=1.0).kkt_violation
    2.0
    """
    x = np.asarray(x, dtype=float).ravel()
    grad = np.asarray(grad, dtype=float).ravel()
    hess = np.asarray(hess, dtype=float).reshape(x.size, x.size)
    weight, centre = _as_weights(l1_weight, center, x.size)
    residual, support = _residuals(x, grad, weight, centre)
    curvature = np.maximum(np.diag(hess), 0.0)
    scale = np.maximum.reduce([weight, curvature * np.abs(x), np.sqrt(curvature)])
    scale = np.maximum(scale, np.finfo(float).tiny)
    ratio = np.abs(residual) / scale
    violation = float(np.max(ratio, initial=0.0)) if np.all(np.isfinite(ratio)) else np.inf

    inv_hess = _support_inverse(hess, support)
    # A coefficient at its centre whose KKT condition is tight (|g_j| = w_j within tol) can leave
    # the centre at no cost if the Hessian on the support and it is singular: a flat valley (e.g.
    # duplicated columns, one copy at zero), not a strict minimum.
    tied = (weight > 0) & ~support & (weight - np.abs(grad) <= tol * scale)
    if np.any(tied) and np.isnan(_support_inverse(hess, support | tied)).any():
        inv_hess = np.full_like(hess, np.nan)
    hessian_pd = not np.isnan(inv_hess).any()
    converged = bool(violation <= tol and hessian_pd and np.all(np.isfinite(x)))
    return L1Certificate(converged, violation, support, hessian_pd, inv_hess)


def _support_inverse(hess: np.ndarray, support: np.ndarray) -> np.ndarray:
    """``H_SS⁻¹`` embedded in zeros, or all NaN unless ``H_SS`` is positive definite and not singular.

    Singular to working precision (smallest eigenvalue ``≤ 10 k ε`` times the largest, k = |S|)
    counts as not positive definite even where rounding lets a Cholesky factor through: with
    duplicated columns, say, the minimum is a segment, not a point.
    """
    index = np.flatnonzero(support)
    block = hess[np.ix_(index, index)]
    inv_hess = np.zeros_like(hess)
    if index.size == 0:
        return inv_hess
    if not np.all(np.isfinite(block)):
        return np.full_like(hess, np.nan)
    newton = newton_step_and_inverse(np.zeros(index.size), -block)
    if newton is None:
        return np.full_like(hess, np.nan)
    eigenvalues = linalg.eigvalsh(block)
    if eigenvalues[0] <= 10 * index.size * _EPS * eigenvalues[-1]:
        return np.full_like(hess, np.nan)
    inv_hess[np.ix_(index, index)] = newton[1]
    return inv_hess


# --- the quadratic subproblem ----------------------------------------------------------------------


def _positive_definite(hess: np.ndarray) -> np.ndarray:
    """``hess``, shifted by a multiple of the identity where it has no Cholesky factor."""
    try:
        linalg.cholesky(hess, lower=True)
        return hess
    except linalg.LinAlgError:
        eigenvalues = linalg.eigvalsh(hess)
        size = max(float(np.max(np.abs(eigenvalues))), 1.0)
        shift = max(-float(eigenvalues[0]), 0.0) + 1e-6 * size
        return hess + shift * np.eye(hess.shape[0])


def _soft_threshold(value: float, threshold: float) -> float:
    return float(np.sign(value)) * max(abs(value) - threshold, 0.0)


def _cd_sweep(
    z: np.ndarray, r: np.ndarray, hess: np.ndarray, weight: np.ndarray, centre: np.ndarray
) -> float:
    """One cyclic sweep of exact coordinate minimisation, in place; the largest move in sd units.

    ``r`` is the gradient of the quadratic model at ``z`` (kept up to date).
    """
    biggest = 0.0
    for j in range(z.size):
        h = hess[j, j]
        old = z[j] - centre[j]
        new = _soft_threshold(old - r[j] / h, weight[j] / h)
        if new == old:
            continue
        z_new = centre[j] + new if new != 0.0 else centre[j]
        delta = z_new - z[j]
        z[j] = z_new
        r += hess[:, j] * delta
        biggest = max(biggest, abs(delta) * np.sqrt(h))
    return biggest


@dataclass(frozen=True)
class _Subproblem:
    """``gᵀ(z − x) + ½(z − x)ᵀH(z − x) + Σ w_j|z_j − m_j|``, the model minimised at each step."""

    x: np.ndarray
    grad: np.ndarray
    hess: np.ndarray  # positive definite
    weight: np.ndarray
    centre: np.ndarray

    def face_minimiser(self, pattern: np.ndarray) -> np.ndarray:
        """The minimiser on the face of ``pattern``: signs held, zeros at the centre."""
        x, centre = self.x, self.centre
        support = pattern != 0
        signs = np.where(pattern == _FREE, 0, pattern)
        z = np.where(support, x, centre)
        s = np.flatnonzero(support)
        if s.size:
            off = (centre - x)[~support]
            rhs = -(self.grad[s] + self.weight[s] * signs[s] + self.hess[np.ix_(s, ~support)] @ off)
            z[s] = x[s] + linalg.cho_solve(linalg.cho_factor(self.hess[np.ix_(s, s)]), rhs)
        return z

    def is_minimiser(self, z: np.ndarray, pattern: np.ndarray) -> bool:
        """Whether the face minimiser ``z`` of ``pattern`` keeps that pattern and meets the KKT conditions."""
        if not np.array_equal(_pattern(z, self.weight, self.centre), pattern):
            return False
        r = self.grad + self.hess @ (z - self.x)
        off = pattern == 0
        slack = 1e-12 * np.maximum(self.weight[off], np.sqrt(np.diag(self.hess)[off]))
        return bool(np.all(np.abs(r[off]) <= self.weight[off] + slack))


def _step_within_face(z: np.ndarray, face: np.ndarray, centre: np.ndarray, pattern: np.ndarray) -> None:
    """Move ``z`` toward ``face`` until the first coordinate reaches its centre, in place.

    On the face the subproblem is a convex quadratic minimised at ``face``, so the step decreases
    it; the coordinates whose sign would flip stop at the centre, where coordinate descent decides.
    """
    signed = (pattern == 1) | (pattern == -1)
    here, there = (z - centre)[signed], (face - centre)[signed]
    crossing = np.sign(there) != np.sign(here)
    t = 1.0
    if np.any(crossing):
        t = min(1.0, float(np.min(here[crossing] / (here[crossing] - there[crossing]))))
    stopped = np.flatnonzero(signed)[crossing & (here / np.where(crossing, here - there, 1.0) >= t)]
    z += t * (face - z)
    z[stopped] = centre[stopped]


def _solve_subproblem(
    x: np.ndarray, grad: np.ndarray, hess: np.ndarray, weight: np.ndarray, centre: np.ndarray
) -> np.ndarray:
    """``argmin_z gᵀ(z − x) + ½(z − x)ᵀH(z − x) + Σ w_j|z_j − m_j|`` for positive definite H.

    Coordinate descent finds the sign pattern; the linear system of that pattern gives the exact
    minimiser (checked). While the pattern is wrong, a step toward the face's minimiser (to the
    first sign change) moves the correlated coordinates together, which cyclic sweeps do slowly.
    Centred coordinates are exactly ``m_j``.
    """
    problem = _Subproblem(x, grad, hess, weight, centre)
    z = x.copy()
    r = grad.copy()
    max_sweeps = max(200, 20 * x.size)
    previous = _pattern(z, weight, centre)
    for _ in range(max_sweeps):
        biggest = _cd_sweep(z, r, hess, weight, centre)
        pattern = _pattern(z, weight, centre)
        if np.array_equal(pattern, previous):
            face = problem.face_minimiser(pattern)
            if problem.is_minimiser(face, pattern):
                return face
            if biggest == 0.0:
                break
            _step_within_face(z, face, centre, pattern)
            r[:] = grad + hess @ (z - x)
            pattern = _pattern(z, weight, centre)
        previous = pattern
    return z


# --- the outer iterations --------------------------------------------------------------------------


@dataclass
class _Point:
    x: np.ndarray
    f: float
    grad: np.ndarray
    hess: np.ndarray
    total: float  # f + the L1 term


def _evaluate(objective: Objective, x: np.ndarray, weight: np.ndarray, centre: np.ndarray) -> _Point:
    value, grad, hess = objective(x)
    n = x.size
    grad = np.asarray(grad, dtype=float).reshape(n)
    hess = np.asarray(hess, dtype=float).reshape(n, n)
    value = float(value)
    total = value + float(weight @ np.abs(x - centre))
    finite = np.isfinite(total) and np.all(np.isfinite(grad)) and np.all(np.isfinite(hess))
    return _Point(x, value, grad, 0.5 * (hess + hess.T), total if finite else np.inf)


def _line_search(
    objective: Objective, point: _Point, z: np.ndarray, weight: np.ndarray, centre: np.ndarray
) -> _Point | None:
    """The first step along ``z − x`` (t = 1, ½, ¼, ...) with sufficient decrease, or None."""
    d = z - point.x
    decrease = float(point.grad @ d + weight @ (np.abs(z - centre) - np.abs(point.x - centre)))
    if not decrease < 0.0:
        return None
    t = 1.0
    for _ in range(_MAX_HALVINGS):
        trial = z if t == 1.0 else point.x + t * d
        candidate = _evaluate(objective, trial, weight, centre)
        if candidate.total <= point.total + _ARMIJO * t * decrease:
            return candidate
        t *= 0.5
    return None


def _polish(
    objective: Objective, point: _Point, weight: np.ndarray, centre: np.ndarray
) -> tuple[_Point, int]:
    """Newton steps on the face of ``point``'s sign pattern, to machine precision."""
    pattern = _pattern(point.x, weight, centre)
    support = np.flatnonzero(pattern != 0)
    signs = np.where(pattern == _FREE, 0, pattern)[support]
    steps, previous = 0, np.inf
    for _ in range(_MAX_POLISH_STEPS):
        # Quadratic convergence: one step after a relative step of 1e-8 reaches rounding level.
        if support.size == 0 or previous <= 1e-8:
            break
        gradient = point.grad[support] + weight[support] * signs
        newton = newton_step_and_inverse(-gradient, -point.hess[np.ix_(support, support)])
        if newton is None:
            break
        step, inverse = newton
        trial = point.x.copy()
        trial[support] += step
        if not np.array_equal(_pattern(trial, weight, centre), pattern):
            break
        candidate = _evaluate(objective, trial, weight, centre)
        if not candidate.total <= point.total + 1e-12 * abs(point.total):
            break
        point, steps = candidate, steps + 1
        scale = np.maximum(np.abs(trial[support]), np.sqrt(np.diag(inverse)))
        previous = float(np.max(np.abs(step) / scale))
        if previous <= 4 * _EPS:
            break
    return point, steps


def minimize_l1(
    objective: Objective,
    x0: ArrayLike,
    l1_weight: ArrayLike,
    center: ArrayLike | None = None,
    *,
    tol: float = 1e-10,
    max_iter: int = 500,
) -> L1Result:
    """Minimise ``f(x) + Σ_j w_j |x_j − m_j|`` by proximal Newton, polish, and certify the result.

    Parameters
    ----------
    objective : callable
        ``objective(x) -> (f, gradient, Hessian)`` of the smooth part, to be *minimised* (minus a
        log density without its L1 term). It may be non-convex in places (the solver then shifts
        the Hessian of its quadratic model), but the certificate needs a positive definite Hessian
        on the support at the end.
    x0 : array, shape (n,)
        The starting point; where ``f`` is finite.
    l1_weight : float or array
        ``w_j ≥ 0``; 0 for coordinates without an L1 term (an intercept, a log noise sd).
    center : float or array, optional
        The centre ``m_j`` of each L1 term (default 0).
    tol : float
        The bound on the scaled KKT residuals of the certificate (see :func:`l1_certificate`).
    max_iter : int
        The limit on proximal Newton iterations.

    Returns
    -------
    L1Result
        ``converged`` is the certificate at the point returned; nothing is warned here.

    Examples
    --------
    ``f(x) = ½(x − 3)²``: soft-thresholding by ``w``.

    >>> def f(x):
    ...     return 0.5 * float((x[0] - 3.0) ** 2), x - 3.0, np.eye(1)
    >>> result = minimize_l1(f, [0.0], l1_weight=1.0)
    >>> float(result.x[0]), result.converged
    (2.0, True)
    >>> float(minimize_l1(f, [10.0], l1_weight=5.0).x[0])
    0.0
    >>> float(minimize_l1(f, [0.0], l1_weight=5.0, center=1.5).x[0])
    1.5
    """
    x = np.array(x0, dtype=float).ravel()
    if not np.all(np.isfinite(x)):
        raise ValueError("x0 must be finite.")
    weight, centre = _as_weights(l1_weight, center, x.size)
    point = _evaluate(objective, x, weight, centre)
    if not np.isfinite(point.total):
        raise ValueError("The objective, its gradient or its Hessian is not finite at x0.")
    n_iter, message = 0, f"max_iter={max_iter} proximal Newton iterations reached"
    for _ in range(max_iter):
        z = _solve_subproblem(point.x, point.grad, _positive_definite(point.hess), weight, centre)
        n_iter += 1
        if np.array_equal(_pattern(z, weight, centre), _pattern(point.x, weight, centre)):
            polished, steps = _polish(objective, point, weight, centre)
            n_iter += steps
            if l1_certificate(polished.x, polished.grad, polished.hess, weight, centre, tol=tol).converged:
                point, message = polished, "converged"
                break
            if polished.total < point.total:
                point = polished
                continue
        following = _line_search(objective, point, z, weight, centre)
        if following is None:
            message = "no step decreases the objective any more"
            break
        point = following
    return _result(point, weight, centre, tol, n_iter, message)


def _result(
    point: _Point, weight: np.ndarray, centre: np.ndarray, tol: float, n_iter: int, message: str
) -> L1Result:
    cert = l1_certificate(point.x, point.grad, point.hess, weight, centre, tol=tol)
    if not cert.converged:
        reasons = []
        if cert.kkt_violation > tol:
            reasons.append(f"the largest scaled KKT residual is {cert.kkt_violation:.2e} > {tol:g}")
        if not cert.support_hessian_pd:
            reasons.append(
                "the Hessian on the support (and any tied coefficient at its centre) is not positive "
                "definite, or singular to working precision: the minimum is not unique, e.g. with "
                "duplicated columns"
            )
        message = f"not converged ({message}): " + "; ".join(reasons or ["the point is not finite"])
    elif message != "converged":
        message = f"converged ({message})"
    return L1Result(
        x=point.x,
        fun=point.total,
        grad=point.grad,
        converged=cert.converged,
        kkt_violation=cert.kkt_violation,
        support=cert.support,
        inv_hess=cert.inv_hess,
        n_iterations=n_iter,
        message=message,
    )

"""The Newton step toward a maximum, with the test that there is one.

Both of bayesreg's convergence certificates rest on it: the MAP's (``backend.inference.find_map``)
and that of the prior scale's mode (``stats.evidence.find_hyperparameter_mode``). A step exists
only where the Hessian is negative definite (its negative has a Cholesky factor); the step itself
is ``−H⁻¹g``.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

__all__ = ["newton_step", "newton_step_and_inverse"]


def _factor_of_negative(hess: np.ndarray) -> tuple | None:
    try:
        return linalg.cho_factor(-hess)
    except linalg.LinAlgError:
        return None


def newton_step(grad: np.ndarray, hess: np.ndarray) -> np.ndarray | None:
    """The Newton step ``−H⁻¹g`` toward a maximum, or None where H is not negative definite.

    Examples
    --------
    >>> float(newton_step(np.array([2.0]), np.array([[-4.0]]))[0])
    0.5
    >>> newton_step(np.array([2.0]), np.array([[4.0]])) is None
    True
    """
    factor = _factor_of_negative(hess)
    return None if factor is None else linalg.cho_solve(factor, grad)


def newton_step_and_inverse(grad: np.ndarray, hess: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`newton_step` and ``(−H)⁻¹`` (the Laplace covariance at a mode), or None.

    Examples
    --------
    >>> step, cov = newton_step_and_inverse(np.array([2.0]), np.array([[-4.0]]))
    >>> float(step[0]), float(cov[0, 0])
    (0.5, 0.25)
    """
    factor = _factor_of_negative(hess)
    if factor is None:
        return None
    return linalg.cho_solve(factor, grad), linalg.cho_solve(factor, np.eye(grad.size))

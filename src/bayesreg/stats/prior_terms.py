"""The priors a model can put on its coefficients, intercept and noise sd, as plain records.

Every coefficient prior here has the log density ``−Σ_j λ1_j |w_j − m_j| − ½ Σ_j λ2_j (w_j − m_j)²``
up to a constant: the normal prior is ``λ1 = 0, λ2 = 1/σ²``, the Laplace prior ``λ1 = √2/σ,
λ2 = 0``, the elastic net both, and the flat prior neither. That split is what the MAP solvers need
(an L1 part that is not smooth, a smooth rest) and what the penalised twins are written in. The
scale is always the prior's standard deviation ``σ`` per coefficient, whatever the shape, so that
one number means the same spread for every prior.

Numpy only: the backend turns these records into PyMC terms, the estimators make them from
their parameters, and the tests draw from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import erfcx

from bayesreg import priors

__all__ = [
    "COEFFICIENT_PRIORS",
    "NOISE_PRIORS",
    "CoefficientPrior",
    "InterceptPrior",
    "NoisePrior",
]

COEFFICIENT_PRIORS = ("normal", "laplace", "elasticnet", "flat")
NOISE_PRIORS = ("halfnormal", "halfcauchy", "halfstudentt", "exponential", "flat")


@dataclass(frozen=True)
class CoefficientPrior:
    """An independent prior on each coefficient: its shape, sd and centre.

    Attributes
    ----------
    kind : {"normal", "laplace", "elasticnet", "flat"}
    sigma : ndarray of shape (p,)
        The prior sd of each coefficient (ignored by ``"flat"``). A Laplace prior of sd ``σ`` has
        scale ``b = σ/√2``.
    mean : ndarray of shape (p,)
        The centre ``m`` each coefficient is shrunk toward.
    l1_ratio : float
        The share of the penalty that is L1, for ``"elasticnet"`` (as in scikit-learn).

    Examples
    --------
    >>> import numpy as np
    >>> prior = CoefficientPrior("laplace", sigma=np.array([np.sqrt(2.0)]), mean=np.zeros(1))
    >>> prior.l1_weight, prior.l2_precision
    (array([1.]), array([0.]))
    """

    kind: str
    sigma: np.ndarray
    mean: np.ndarray
    l1_ratio: float = 0.0
    _penalties: tuple[np.ndarray, np.ndarray] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in COEFFICIENT_PRIORS:
            raise ValueError(f"kind must be one of {COEFFICIENT_PRIORS}; got {self.kind!r}")
        sigma = np.asarray(self.sigma, dtype=float)
        zeros = np.zeros_like(sigma)
        if self.kind == "normal":
            # Below sd ≈ 1e-154 the precision is beyond float64 and is inf (no warning): the models
            # and the closed forms use σ itself, or the ratio σ_n/σ, never this number.
            with np.errstate(over="ignore", divide="ignore"):
                penalties = (zeros, 1.0 / sigma**2)
        elif self.kind == "laplace":
            penalties = (np.sqrt(2.0) / sigma, zeros)
        elif self.kind == "elasticnet":
            lam1, lam2 = priors.elasticnet_penalties_from_sigma(sigma, self.l1_ratio)
            penalties = (np.broadcast_to(lam1, sigma.shape).copy(), np.broadcast_to(lam2, sigma.shape).copy())
        else:
            penalties = (zeros, zeros)
        object.__setattr__(self, "_penalties", penalties)

    @property
    def n_features(self) -> int:
        """The number of coefficients."""
        return int(np.size(self.sigma))

    @property
    def l1_weight(self) -> np.ndarray:
        """``λ1_j``: the weight of ``|w_j − m_j|`` in the negative log density."""
        return self._penalties[0]

    @property
    def l2_precision(self) -> np.ndarray:
        """``λ2_j``: the weight of ``½(w_j − m_j)²`` in the negative log density."""
        return self._penalties[1]

    @property
    def is_smooth(self) -> bool:
        """Whether the log density has a gradient everywhere (no L1 part)."""
        return not np.any(self.l1_weight > 0)

    @property
    def is_proper(self) -> bool:
        """Whether the prior integrates to one (every kind but ``"flat"``)."""
        return self.kind != "flat"

    def log_normaliser(self) -> float:
        """``−Σ_j log Z_j``, the constant that makes the density integrate to one (0 if flat)."""
        lam1, lam2 = self.l1_weight, self.l2_precision
        if self.kind == "normal":
            return float(-0.5 * np.sum(np.log(2 * np.pi / lam2)))
        if self.kind == "laplace":
            return float(np.sum(np.log(lam1 / 2.0)))
        if self.kind == "elasticnet":
            # Z = 2 ∫_0^∞ exp(−λ1 w − λ2 w²/2) dw = 2 √(π/(2λ2)) erfcx(λ1/√(2λ2))
            log_z = np.log(2.0) + 0.5 * np.log(np.pi / (2 * lam2)) + np.log(erfcx(lam1 / np.sqrt(2 * lam2)))
            return float(-np.sum(log_z))
        return 0.0

    def logpdf(self, coef: np.ndarray) -> np.ndarray:
        """The log density of coefficient vectors ``coef`` (..., p), normalised (0 for flat)."""
        d = np.asarray(coef, dtype=float) - self.mean
        return -np.abs(d) @ self.l1_weight - 0.5 * d**2 @ self.l2_precision + self.log_normaliser()

    def sample(self, size: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
        """``size`` independent draws, shape (size, p); a flat prior has none.

        The elastic net is drawn by rejection from the Laplace part, accepting with probability
        ``exp(−λ2 (w − m)²/2)``.
        """
        rng = np.random.default_rng(rng)
        p = self.n_features
        if self.kind == "flat":
            raise ValueError("a flat prior is improper: it has no draws")
        if self.kind == "normal":
            return self.mean + self.sigma * rng.standard_normal((size, p))
        if self.kind == "laplace":
            return self.mean + rng.laplace(0.0, 1.0 / self.l1_weight, (size, p))
        out = np.empty((size, p))
        for j in range(p):
            lam1, lam2 = self.l1_weight[j], self.l2_precision[j]
            kept: list[np.ndarray] = []
            while sum(k.size for k in kept) < size:
                w = (
                    rng.laplace(0.0, 1.0 / lam1, 2 * size)
                    if lam1 > 0
                    else rng.normal(0, lam2**-0.5, 2 * size)
                )
                accept = rng.uniform(size=w.size) < (np.exp(-0.5 * lam2 * w**2) if lam1 > 0 else 1.0)
                kept.append(w[accept])
            out[:, j] = self.mean[j] + np.concatenate(kept)[:size]
        return out


@dataclass(frozen=True)
class InterceptPrior:
    """``intercept ~ N(mean, sigma²)`` on the intercept of the model as written (X not centred)."""

    mean: float
    sigma: float


@dataclass(frozen=True)
class NoisePrior:
    """The prior on an unknown noise sd.

    ``scale`` is the half-normal's or half-Cauchy's or half-Student-t's scale, or the exponential's
    mean; ``nu`` the Student-t's degrees of freedom. ``"flat"`` is the improper uniform on (0, ∞).
    """

    kind: str
    scale: float
    nu: float = 3.0

    def __post_init__(self) -> None:
        if self.kind not in NOISE_PRIORS:
            raise ValueError(f"kind must be one of {NOISE_PRIORS}; got {self.kind!r}")

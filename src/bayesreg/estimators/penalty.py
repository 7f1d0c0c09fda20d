"""The penalised twin of a Bayesian model: one record that every comparison, report and plot reads.

A prior ``N(0, σ²)`` on the coefficients is a penalty on the loss; which penalty, with which
parameter, depends on the likelihood (``λ = σ_n²/σ²`` for ``Ridge``, ``C = σ²`` for
``LogisticRegression``). Each estimator says so once, in its ``penalty()`` method, and nothing
else branches on the kind of twin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Penalty"]


@dataclass(frozen=True)
class Penalty:
    """The scikit-learn estimator whose solution is a Bayesian model's MAP, and why.

    Attributes
    ----------
    twin : sklearn estimator
        Unfitted, configured to solve to a tight tolerance.
    parameter : str
        The name of its penalty parameter (``"alpha"`` or ``"C"``).
    value : float
        Its value.
    symbol : str
        The usual symbol of that parameter (``"λ"`` for ridge's alpha, ``"C"``).
    rule : str
        The parameter in terms of the scales, e.g. ``"σ_n²/σ²"`` or ``"σ²"``.
    formula : str
        The conversion with its numbers, e.g. ``"λ = σ_n²/σ² = 54² / 10² = 29.16"``.
    prior_sigma : float or ndarray
        The prior sd the twin was taken at (one per feature when given so).
    noise_sigma : float or None
        The noise sd it was taken at (None for likelihoods without one).
    noise_known : bool
        False when ``noise_sigma`` is the MAP of a learned noise sd.
    note : str
        What the formula leaves out: the column rescaling of per-feature scales, the shift of a
        prior mean, or why there is no twin (``twin`` is then None).
    mean_equals_twin : bool
        Whether the posterior mean, not only the MAP, equals the twin's solution (a Gaussian
        posterior: normal or flat prior, known noise).

    Examples
    --------
    >>> from bayesreg import BayesianLinearRegression
    >>> pen = BayesianLinearRegression(prior_sigma=2.0, noise_sigma=1.0).penalty()
    >>> pen.twin_text, pen.formula
    ('Ridge(alpha=0.25)', 'λ = σ_n²/σ² = 1² / 2² = 0.25')
    >>> str(pen)
    'Ridge(alpha=0.25) = σ_n²/σ² with σ_n=1 (known), σ=2'
    """

    twin: Any
    parameter: str
    value: float
    symbol: str
    rule: str
    formula: str
    prior_sigma: float | np.ndarray
    noise_sigma: float | None = None
    noise_known: bool = True
    note: str = ""
    mean_equals_twin: bool = False

    @property
    def has_twin(self) -> bool:
        """False for a prior that no penalised scikit-learn estimator reproduces (``note`` says why)."""
        return self.twin is not None

    @property
    def twin_text(self) -> str:
        """The twin as code, e.g. ``Ridge(alpha=0.25)``."""
        if self.twin is None:
            return "no penalised twin"
        inner = getattr(self.twin, "estimator", None)
        if inner is not None:  # a RescaledTwin: the penalty on transformed columns
            return f"{type(inner).__name__}({self.parameter}={self.value:.6g}) on rescaled columns"
        return f"{type(self.twin).__name__}({self.parameter}={self.value:.6g})"

    @property
    def short(self) -> str:
        """The penalty in a few characters for a table cell, e.g. ``λ = 29.16``."""
        return f"{self.symbol} = {self.value:.4g}" if self.twin is not None else "none"

    @property
    def sigma_text(self) -> str:
        """The prior sd as text: one number, or the range of the per-feature sds."""
        sigma = np.asarray(self.prior_sigma, dtype=float)
        if sigma.ndim == 0:
            return f"{float(sigma):g}"
        return (
            f"{sigma.min():g}…{sigma.max():g} per feature" if sigma.min() != sigma.max() else f"{sigma[0]:g}"
        )

    def __str__(self) -> str:
        noise = ""
        if self.noise_sigma is not None:
            noise = f"σ_n={self.noise_sigma:.6g} ({'known' if self.noise_known else 'MAP'}), "
        return f"{self.twin_text} = {self.rule} with {noise}σ={self.sigma_text}"

    def sentence(self) -> str:
        """The equivalence as one sentence, with every number (and the note, if any)."""
        if self.noise_sigma is None:
            detail = f"prior sd σ = {self.sigma_text}"
        else:
            which = "known" if self.noise_known else "at its MAP value, since it is learned"
            detail = f"noise sd σ_n = {self.noise_sigma:.6g}, {which}; prior sd σ = {self.sigma_text}"
        if self.twin is None:
            return f"This prior has no penalised twin in scikit-learn ({detail}): {self.note}"
        text = f"{self.formula}, so the MAP is `{self.twin_text}` ({detail})"
        return f"{text}. {self.note}" if self.note else text

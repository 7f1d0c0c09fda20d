"""Conversions between a ``N(0, σ²)`` prior and the penalties libraries write.

The model behind every function here: coefficients ``w ~ N(0, σ² I)`` (``prior_sigma``), a flat prior on
the intercept, and a Gaussian likelihood with noise sd ``σ_n`` (``noise_sigma``) or a Bernoulli-logit
likelihood. Its negative log posterior is ``Σ NLL_i + ‖w‖² / (2σ²)``; each library rescales it, and each
pair of functions below undoes one rescaling. The names never say "alpha" or "lambda" unqualified,
because those words mean a penalty in one library and a precision in another.

The same holds for the sparse priors, each with sd σ like the normal one. The Laplace prior
``p(w) ∝ exp(−|w|/b)`` has scale ``b = σ/√2`` and penalty ``‖w‖₁/b``. The elastic-net prior
``p(w) ∝ exp(−λ1|w| − ½λ2 w²)`` splits one scale ``c`` as scikit-learn splits its penalty,
``λ1 = cρ`` and ``λ2 = c(1 − ρ)`` with ``ρ`` the ``l1_ratio``, and ``c`` is the root that gives the
prior the sd σ (:func:`elasticnet_penalties_from_sigma`; its variance has a closed form, see
:func:`sigma_from_elasticnet_penalties`). ρ = 0 is the normal prior, ρ = 1 the Laplace. ρ is not
free of units: at a fixed ρ the prior is nearly normal when ``σ ≫ ρ/(1 − ρ)`` and nearly Laplace when
``σ ≪ ρ/(1 − ρ)`` (σ in the units of the coefficient), so its shape depends on the scale of X.

Every function accepts scalars or numpy arrays and is numpy-only, so it is cheap to import.

=========================================================  =============================  ==================
objective as the library writes it                          where                          value
=========================================================  =============================  ==================
``Σ (y − ŷ)² + α‖w‖²``                                      ``Ridge(alpha)``               α = σ_n²/σ²
``C · Σ logloss + ½‖w‖²``                                   ``LogisticRegression(C)``      C = σ²
``1/(2n) Σ (y − ŷ)² + ½ a‖w‖²``                             ``ElasticNet(l1_ratio=0)``,    a = σ_n²/(nσ²)
                                                            ``SGDRegressor(alpha)``
``(1/n) Σ logloss + ½ a‖w‖²``                               ``SGDClassifier(log_loss)``    a = 1/(nσ²)
``1/(2n) Σ deviance + ½ a‖w‖²`` (Poisson, log link)         ``PoissonRegressor(alpha)``    a = 1/(nσ²)
``(1/n) Σ (y − ŷ)² + λ‖w‖²``                                the seed note's loss           λ = σ_n²/(nσ²)
``(1/n) Σ (y − ŷ)²``, gradient ``+ λw``                     PyTorch MSE + weight decay     λ = 2σ_n²/(nσ²)
``(1/n) Σ logloss``, gradient ``+ λw``                      PyTorch BCE + weight decay     λ = 1/(nσ²)
``alpha_``, ``lambda_`` (precisions)                        ``BayesianRidge``              σ_n²=1/``alpha_``,
                                                                                           σ²=1/``lambda_``
``1/(2n) Σ (y − ŷ)² + a‖w‖₁``                               ``Lasso(alpha)``               a = σ_n²/(n b),
                                                                                           b = σ/√2
``C · Σ logloss + ‖w‖₁``                                    ``LogisticRegression(C)``,     C = b = σ/√2
                                                            ``l1_ratio=1``
``1/(2n) Σ (y − ŷ)² + a(ρ‖w‖₁ + ½(1 − ρ)‖w‖²)``             ``ElasticNet(alpha,``          a = σ_n² c/n
                                                            ``l1_ratio=ρ)``
``C · Σ logloss + ρ‖w‖₁ + ½(1 − ρ)‖w‖²``                    ``LogisticRegression(C)``,     C = 1/c
                                                            ``l1_ratio=ρ``
``λ1|w| + ½λ2 w²`` (minus the log prior)                    the elastic-net prior          λ1 = cρ,
                                                                                           λ2 = c(1 − ρ)
=========================================================  =============================  ==================
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "bayesian_ridge_from_sigmas",
    "elasticnet_alpha_from_sigma",
    "elasticnet_penalties_from_sigma",
    "laplace_scale_from_sigma",
    "lasso_alpha_from_sigma",
    "logistic_C_from_sigma",
    "logistic_elasticnet_C_from_sigma",
    "logistic_l1_C_from_sigma",
    "mean_loss_lambda_from_sigma",
    "poisson_alpha_from_sigma",
    "ridge_alpha_from_sigma",
    "sgd_classifier_alpha_from_sigma",
    "sigma_from_elasticnet_alpha",
    "sigma_from_elasticnet_penalties",
    "sigma_from_laplace_scale",
    "sigma_from_lasso_alpha",
    "sigma_from_logistic_C",
    "sigma_from_logistic_elasticnet_C",
    "sigma_from_logistic_l1_C",
    "sigma_from_mean_loss_lambda",
    "sigma_from_poisson_alpha",
    "sigma_from_ridge_alpha",
    "sigma_from_sgd_classifier_alpha",
    "sigma_from_torch_logistic_weight_decay",
    "sigma_from_torch_mse_weight_decay",
    "sigmas_from_bayesian_ridge",
    "torch_logistic_weight_decay_from_sigma",
    "torch_mse_weight_decay_from_sigma",
    "weight_decay_step",
]


def _positive(name: str, value: ArrayLike) -> np.ndarray | float:
    """Return ``value`` as float(s), or raise if any entry is not finite and > 0."""
    arr = np.asarray(value, dtype=float)
    if arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(
            f"The '{name}' argument must be a finite number > 0 (or an array of them). Got {value!r}."
        )
    return float(arr) if arr.ndim == 0 else arr


def _sqrt(value: np.ndarray | float) -> np.ndarray | float:
    """Square root that keeps Python floats as floats (so scalars print as plain numbers)."""
    root = np.sqrt(value)
    return float(root) if np.ndim(root) == 0 else root


def _n_samples(n_samples: int) -> int:
    if isinstance(n_samples, bool) or not isinstance(n_samples, int | np.integer) or n_samples < 1:
        raise ValueError(f"The 'n_samples' argument must be an integer >= 1. Got {n_samples!r}.")
    return int(n_samples)


# --- sum-of-squares ridge --------------------------------------------------------------------------


def ridge_alpha_from_sigma(prior_sigma: ArrayLike, noise_sigma: ArrayLike) -> float | np.ndarray:
    """Ridge penalty ``α = σ_n² / σ²`` for ``Ridge(alpha=α)`` and ``RidgeCV``.

    Parameters
    ----------
    prior_sigma : float or array
        Standard deviation σ of the ``N(0, σ²)`` prior on each coefficient.
    noise_sigma : float or array
        Noise standard deviation σ_n of the Gaussian likelihood.

    Returns
    -------
    float or ndarray
        The ``alpha`` of :class:`sklearn.linear_model.Ridge`.

    Examples
    --------
    >>> ridge_alpha_from_sigma(prior_sigma=2.0, noise_sigma=1.0)
    0.25
    """
    # The ratio first, so that scales like 1e-200 (whose squares underflow) still give their λ.
    return (_positive("noise_sigma", noise_sigma) / _positive("prior_sigma", prior_sigma)) ** 2


def sigma_from_ridge_alpha(ridge_alpha: ArrayLike, noise_sigma: ArrayLike) -> float | np.ndarray:
    """Prior sd ``σ = σ_n / √α`` implied by ``Ridge(alpha=α)`` at noise sd σ_n.

    Examples
    --------
    >>> sigma_from_ridge_alpha(ridge_alpha=0.25, noise_sigma=1.0)
    2.0
    """
    return _positive("noise_sigma", noise_sigma) / _sqrt(_positive("ridge_alpha", ridge_alpha))


# --- logistic regression ---------------------------------------------------------------------------


def logistic_C_from_sigma(prior_sigma: ArrayLike) -> float | np.ndarray:
    """Inverse regularization ``C = σ²`` for ``LogisticRegression(C=C)`` (non-liblinear solvers).

    Examples
    --------
    >>> logistic_C_from_sigma(prior_sigma=3.0)
    9.0
    """
    return _positive("prior_sigma", prior_sigma) ** 2


def sigma_from_logistic_C(C: ArrayLike) -> float | np.ndarray:
    """Prior sd ``σ = √C`` implied by ``LogisticRegression(C=C)``.

    Examples
    --------
    >>> sigma_from_logistic_C(9.0)
    3.0
    """
    return _sqrt(_positive("C", C))


# --- mean-loss penalties ---------------------------------------------------------------------------


def elasticnet_alpha_from_sigma(
    prior_sigma: ArrayLike, noise_sigma: ArrayLike, n_samples: int, l1_ratio: ArrayLike = 0.0
) -> float | np.ndarray:
    """``a = σ_n² / (n σ²)`` for ``ElasticNet(alpha=a, l1_ratio=0)`` and ``SGDRegressor(alpha=a)``.

    With ``l1_ratio=ρ > 0``, ``a = σ_n² c / n`` for ``ElasticNet(alpha=a, l1_ratio=ρ)`` (and
    ``SGDRegressor(penalty="elasticnet")``), where ``c`` is the scale that gives the elastic-net prior
    of :func:`elasticnet_penalties_from_sigma` the sd σ: ``1/(2n) Σ (y − ŷ)² + a(ρ‖w‖₁ + ½(1 − ρ)‖w‖²)``
    times ``n/σ_n²`` is ``Σ (y − ŷ)²/(2σ_n²) + λ1‖w‖₁ + ½λ2‖w‖²``. ρ = 1 is
    :func:`lasso_alpha_from_sigma`.

    Examples
    --------
    >>> elasticnet_alpha_from_sigma(prior_sigma=1.0, noise_sigma=2.0, n_samples=8)
    0.5
    >>> round(elasticnet_alpha_from_sigma(1.0, noise_sigma=2.0, n_samples=8, l1_ratio=0.5), 12)
    0.565190496601
    """
    if np.all(np.asarray(l1_ratio) == 0):
        return ridge_alpha_from_sigma(prior_sigma, noise_sigma) / _n_samples(n_samples)
    noise = _positive("noise_sigma", noise_sigma)
    scale = _elasticnet_scale(prior_sigma, l1_ratio)
    return _scalar_or_array(noise * (noise * scale) / _n_samples(n_samples))


def sigma_from_elasticnet_alpha(
    elasticnet_alpha: ArrayLike, noise_sigma: ArrayLike, n_samples: int, l1_ratio: ArrayLike = 0.0
) -> float | np.ndarray:
    """Prior sd implied by ``ElasticNet(alpha=a, l1_ratio=ρ)`` (default ρ = 0) on ``n_samples`` rows.

    Examples
    --------
    >>> sigma_from_elasticnet_alpha(0.5, noise_sigma=2.0, n_samples=8)
    1.0
    >>> round(sigma_from_elasticnet_alpha(0.565190496601, noise_sigma=2.0, n_samples=8, l1_ratio=0.5), 9)
    1.0
    """
    alpha = _positive("elasticnet_alpha", elasticnet_alpha) * _n_samples(n_samples)
    if np.all(np.asarray(l1_ratio) == 0):
        return sigma_from_ridge_alpha(alpha, noise_sigma)
    noise = _positive("noise_sigma", noise_sigma)
    scale = (alpha / noise) / noise  # c = n a / σ_n²
    rho = _l1_ratio(l1_ratio)
    return sigma_from_elasticnet_penalties(scale * rho, scale * (1.0 - rho))


def sgd_classifier_alpha_from_sigma(prior_sigma: ArrayLike, n_samples: int) -> float | np.ndarray:
    """``a = 1 / (n σ²)`` for ``SGDClassifier(loss="log_loss", alpha=a)``.

    Examples
    --------
    >>> sgd_classifier_alpha_from_sigma(prior_sigma=0.5, n_samples=4)
    1.0
    """
    return 1.0 / (_n_samples(n_samples) * _positive("prior_sigma", prior_sigma) ** 2)


def sigma_from_sgd_classifier_alpha(sgd_alpha: ArrayLike, n_samples: int) -> float | np.ndarray:
    """Prior sd ``σ = 1/√(n a)`` implied by ``SGDClassifier(loss="log_loss", alpha=a)``.

    Examples
    --------
    >>> sigma_from_sgd_classifier_alpha(1.0, n_samples=4)
    0.5
    """
    return 1.0 / _sqrt(_n_samples(n_samples) * _positive("sgd_alpha", sgd_alpha))


def _total_weight(n_samples: float) -> float:
    """A row count, or a total of sample weights (a float): finite and > 0."""
    if isinstance(n_samples, bool) or not isinstance(n_samples, int | float | np.integer | np.floating):
        raise ValueError(
            f"The 'n_samples' argument must be a number > 0 (the row count, or the sum of the sample "
            f"weights). Got {n_samples!r}."
        )
    if not (math.isfinite(n_samples) and n_samples > 0):
        raise ValueError(
            f"The 'n_samples' argument must be a number > 0 (the row count, or the sum of the sample "
            f"weights). Got {n_samples!r}."
        )
    return float(n_samples)


def poisson_alpha_from_sigma(prior_sigma: ArrayLike, n_samples: float) -> float | np.ndarray:
    """``a = 1 / (n σ²)`` for ``PoissonRegressor(alpha=a)`` on ``n_samples`` rows.

    scikit-learn's ``PoissonRegressor`` minimises ``(1/(2n)) Σ deviance_i + (a/2)‖w‖²``, and the
    Poisson deviance ``2(y log(y/μ) − y + μ)`` is twice the negative log likelihood up to a
    constant, so ``n`` times that objective is ``NLL + (n a/2)‖w‖²``: the ``N(0, σ²)`` prior with
    ``n a = 1/σ²``. With ``sample_weight`` the objective is ``(1/(2Σw)) Σ w_i deviance_i + …``, so
    ``n_samples`` is ``Σ w`` (a float); with an exposure ``e`` (the twin fitted to ``y/e`` with
    weights ``w·e``) it is ``Σ w_i e_i``.

    Parameters
    ----------
    prior_sigma : float or array
        Standard deviation σ of the ``N(0, σ²)`` prior on each coefficient (log-rate units per unit
        of X).
    n_samples : float
        The number of rows, or the sum of the sample weights.

    Returns
    -------
    float or ndarray
        The ``alpha`` of :class:`sklearn.linear_model.PoissonRegressor`.

    Examples
    --------
    >>> poisson_alpha_from_sigma(prior_sigma=0.5, n_samples=4)
    1.0
    >>> poisson_alpha_from_sigma(prior_sigma=2.0, n_samples=12.5)
    0.02
    """
    return 1.0 / (_total_weight(n_samples) * _positive("prior_sigma", prior_sigma) ** 2)


def sigma_from_poisson_alpha(poisson_alpha: ArrayLike, n_samples: float) -> float | np.ndarray:
    """Prior sd ``σ = 1/√(n a)`` implied by ``PoissonRegressor(alpha=a)`` on ``n_samples`` rows.

    ``n_samples`` is the row count, or ``Σ w`` with sample weights (see
    :func:`poisson_alpha_from_sigma`).

    Examples
    --------
    >>> sigma_from_poisson_alpha(1.0, n_samples=4)
    0.5
    >>> sigma_from_poisson_alpha(0.02, n_samples=12.5)
    2.0
    """
    return 1.0 / _sqrt(_total_weight(n_samples) * _positive("poisson_alpha", poisson_alpha))


def mean_loss_lambda_from_sigma(
    prior_sigma: ArrayLike, noise_sigma: ArrayLike, n_samples: int
) -> float | np.ndarray:
    """The seed note's λ in ``L = (1/n) Σ (y − ŷ)² + λ‖θ‖²``: ``λ = σ_n² / (n σ²)``.

    Multiplying that loss by ``n`` gives ``Ridge(alpha=nλ)``, hence the ``1/n``.

    Examples
    --------
    >>> mean_loss_lambda_from_sigma(prior_sigma=1.0, noise_sigma=1.0, n_samples=10)
    0.1
    """
    return ridge_alpha_from_sigma(prior_sigma, noise_sigma) / _n_samples(n_samples)


def sigma_from_mean_loss_lambda(
    mean_loss_lambda: ArrayLike, noise_sigma: ArrayLike, n_samples: int
) -> float | np.ndarray:
    """Prior sd implied by the seed note's mean-loss λ on ``n_samples`` rows.

    Examples
    --------
    >>> sigma_from_mean_loss_lambda(0.1, noise_sigma=1.0, n_samples=10)
    1.0
    """
    alpha = _positive("mean_loss_lambda", mean_loss_lambda) * _n_samples(n_samples)
    return sigma_from_ridge_alpha(alpha, noise_sigma)


def weight_decay_step(
    theta: ArrayLike, task_gradient: ArrayLike, learning_rate: float, mean_loss_lambda: float
) -> np.ndarray | float:
    """One step of the seed note's update ``θ ← θ − η (∇L_task + 2λθ)``.

    The penalty alone pulls θ toward zero by the factor ``1 − 2ηλ`` per step, whatever the task
    gradient. With the note's numbers, η = 0.01 and λ = 0.1, that factor is 0.998: θ = 10 becomes
    9.98, a 0.2% pull. (The note writes ``0.02·θ`` and "2%", but ``0.01 · 2 · 0.1 = 0.002``; a 2%
    pull per step needs ``2ηλ = 0.02``, e.g. η = 0.1 or λ = 1.)

    Parameters
    ----------
    theta : float or array
        Current parameters.
    task_gradient : float or array
        Gradient of the task loss at ``theta`` (zero isolates the pull of the penalty).
    learning_rate : float
        Step size η > 0.
    mean_loss_lambda : float
        Penalty λ ≥ 0 of the mean loss (see :func:`mean_loss_lambda_from_sigma`).

    Returns
    -------
    float or ndarray
        The updated parameters.

    Examples
    --------
    >>> weight_decay_step(10.0, task_gradient=0.0, learning_rate=0.01, mean_loss_lambda=0.1)
    9.98
    >>> weight_decay_step(10.0, task_gradient=0.0, learning_rate=0.1, mean_loss_lambda=0.1)
    9.8
    """
    eta = _positive("learning_rate", learning_rate)
    lam = np.asarray(mean_loss_lambda, dtype=float)
    if not np.all(np.isfinite(lam)) or np.any(lam < 0):
        raise ValueError(
            f"The 'mean_loss_lambda' argument must be a finite number >= 0. Got {mean_loss_lambda!r}."
        )
    theta_arr = np.asarray(theta, dtype=float)
    new = theta_arr - eta * (np.asarray(task_gradient, dtype=float) + 2.0 * lam * theta_arr)
    return float(new) if new.ndim == 0 else new


# --- PyTorch SGD weight decay ----------------------------------------------------------------------


def torch_mse_weight_decay_from_sigma(
    prior_sigma: ArrayLike, noise_sigma: ArrayLike, n_samples: int
) -> float | np.ndarray:
    """``λ = 2σ_n² / (n σ²)`` for ``MSELoss('mean')`` with ``SGD(weight_decay=λ)``.

    Torch adds ``λw`` to the gradient (the gradient of ``½λ‖w‖²``), hence twice the note's λ.

    Examples
    --------
    >>> torch_mse_weight_decay_from_sigma(prior_sigma=1.0, noise_sigma=1.0, n_samples=10)
    0.2
    """
    return 2.0 * mean_loss_lambda_from_sigma(prior_sigma, noise_sigma, n_samples)


def sigma_from_torch_mse_weight_decay(
    weight_decay: ArrayLike, noise_sigma: ArrayLike, n_samples: int
) -> float | np.ndarray:
    """Prior sd implied by ``SGD(weight_decay=λ)`` on a mean-squared-error loss.

    Examples
    --------
    >>> sigma_from_torch_mse_weight_decay(0.2, noise_sigma=1.0, n_samples=10)
    1.0
    """
    return sigma_from_mean_loss_lambda(_positive("weight_decay", weight_decay) / 2.0, noise_sigma, n_samples)


def torch_logistic_weight_decay_from_sigma(prior_sigma: ArrayLike, n_samples: int) -> float | np.ndarray:
    """``λ = 1 / (n σ²)`` for ``BCEWithLogitsLoss('mean')`` with ``SGD(weight_decay=λ)``.

    Examples
    --------
    >>> torch_logistic_weight_decay_from_sigma(prior_sigma=0.5, n_samples=4)
    1.0
    """
    return sgd_classifier_alpha_from_sigma(prior_sigma, n_samples)


def sigma_from_torch_logistic_weight_decay(weight_decay: ArrayLike, n_samples: int) -> float | np.ndarray:
    """Prior sd implied by ``SGD(weight_decay=λ)`` on a mean binary cross-entropy.

    Examples
    --------
    >>> sigma_from_torch_logistic_weight_decay(1.0, n_samples=4)
    0.5
    """
    return sigma_from_sgd_classifier_alpha(_positive("weight_decay", weight_decay), n_samples)


# --- BayesianRidge precisions ----------------------------------------------------------------------


def sigmas_from_bayesian_ridge(
    alpha_: ArrayLike, lambda_: ArrayLike
) -> tuple[float | np.ndarray, float | np.ndarray]:
    """``(prior_sigma, noise_sigma)`` from ``BayesianRidge``'s fitted precisions.

    ``alpha_`` is the noise precision (``σ_n² = 1/alpha_``) and ``lambda_`` the weight precision
    (``σ² = 1/lambda_``); the equivalent ridge penalty is ``lambda_ / alpha_``.

    Examples
    --------
    >>> sigmas_from_bayesian_ridge(alpha_=4.0, lambda_=0.25)
    (2.0, 0.5)
    """
    prior = 1.0 / _sqrt(_positive("lambda_", lambda_))
    noise = 1.0 / _sqrt(_positive("alpha_", alpha_))
    if np.ndim(prior) == 0 and np.ndim(noise) == 0:
        return float(prior), float(noise)
    return prior, noise


def bayesian_ridge_from_sigmas(
    prior_sigma: ArrayLike, noise_sigma: ArrayLike
) -> tuple[float | np.ndarray, float | np.ndarray]:
    """``(alpha_, lambda_)`` precisions of ``BayesianRidge`` for a prior sd and a noise sd.

    Examples
    --------
    >>> bayesian_ridge_from_sigmas(prior_sigma=2.0, noise_sigma=0.5)
    (4.0, 0.25)
    """
    return (
        1.0 / _positive("noise_sigma", noise_sigma) ** 2,
        1.0 / _positive("prior_sigma", prior_sigma) ** 2,
    )


# --- Laplace prior (L1) ----------------------------------------------------------------------------


def laplace_scale_from_sigma(prior_sigma: ArrayLike) -> float | np.ndarray:
    """Scale ``b = σ/√2`` of the Laplace prior ``p(w) ∝ exp(−|w|/b)`` whose sd is σ.

    Examples
    --------
    >>> laplace_scale_from_sigma(prior_sigma=np.sqrt(2.0))
    1.0
    """
    return _positive("prior_sigma", prior_sigma) / math.sqrt(2.0)


def sigma_from_laplace_scale(laplace_scale: ArrayLike) -> float | np.ndarray:
    """The sd ``σ = √2 b`` of the Laplace prior of scale b.

    Examples
    --------
    >>> sigma_from_laplace_scale(1.5)
    2.121320343559643
    """
    return math.sqrt(2.0) * _positive("laplace_scale", laplace_scale)


def lasso_alpha_from_sigma(
    prior_sigma: ArrayLike, noise_sigma: ArrayLike, n_samples: int
) -> float | np.ndarray:
    """``a = σ_n² / (n b)`` for ``Lasso(alpha=a)``: a Laplace prior of sd σ (scale ``b = σ/√2``).

    ``Lasso`` minimises ``1/(2n) Σ (y − ŷ)² + a‖w‖₁``; times ``n/σ_n²`` that is the negative log
    posterior ``Σ (y − ŷ)²/(2σ_n²) + ‖w‖₁/b`` (plus a constant).

    Parameters
    ----------
    prior_sigma : float or array
        Standard deviation σ of the Laplace prior on each coefficient.
    noise_sigma : float or array
        Noise standard deviation σ_n of the Gaussian likelihood.
    n_samples : int
        Number of rows n the lasso is fitted on.

    Returns
    -------
    float or ndarray
        The ``alpha`` of :class:`sklearn.linear_model.Lasso` (and of ``ElasticNet(l1_ratio=1)``).

    Examples
    --------
    >>> lasso_alpha_from_sigma(prior_sigma=np.sqrt(2.0), noise_sigma=2.0, n_samples=4)
    1.0
    """
    noise = _positive("noise_sigma", noise_sigma)
    # The ratio first, as in ridge_alpha_from_sigma, so that tiny or huge scales keep their value.
    return noise * (noise / laplace_scale_from_sigma(prior_sigma)) / _n_samples(n_samples)


def sigma_from_lasso_alpha(
    lasso_alpha: ArrayLike, noise_sigma: ArrayLike, n_samples: int
) -> float | np.ndarray:
    """Laplace prior sd ``σ = √2 σ_n² / (n a)`` implied by ``Lasso(alpha=a)`` on ``n_samples`` rows.

    Examples
    --------
    >>> sigma_from_lasso_alpha(1.0, noise_sigma=2.0, n_samples=4)
    1.4142135623730951
    """
    noise = _positive("noise_sigma", noise_sigma)
    scale = noise * (noise / (_positive("lasso_alpha", lasso_alpha) * _n_samples(n_samples)))
    return sigma_from_laplace_scale(scale)


def logistic_l1_C_from_sigma(prior_sigma: ArrayLike) -> float | np.ndarray:
    """``C = b = σ/√2`` for ``LogisticRegression(C=C, l1_ratio=1)`` (``solver="saga"``).

    ``C · Σ logloss + ‖w‖₁`` divided by C is ``Σ logloss + ‖w‖₁/b``: a Laplace prior of scale b.

    Examples
    --------
    >>> logistic_l1_C_from_sigma(prior_sigma=np.sqrt(2.0))
    1.0
    """
    return laplace_scale_from_sigma(prior_sigma)


def sigma_from_logistic_l1_C(C: ArrayLike) -> float | np.ndarray:
    """Laplace prior sd ``σ = √2 C`` implied by ``LogisticRegression(C=C, l1_ratio=1)``.

    Examples
    --------
    >>> sigma_from_logistic_l1_C(0.5)
    0.7071067811865476
    """
    return sigma_from_laplace_scale(_positive("C", C))


# --- elastic-net prior -----------------------------------------------------------------------------
#
# The density p(w) ∝ exp(−λ1|w| − ½λ2 w²) is, on each half-line, a normal N(∓λ1/λ2, 1/λ2) truncated at
# 0. With t = λ1/√λ2 and R(t) = Q(t)/φ(t) the Mills ratio of the standard normal, its variance is
#     Var = (1 + t² − t/R(t)) / λ2,
# and W(t) = (1 + t²) λ2 Var is bounded (1 at t = 0, the normal prior; 2 as t → ∞, the Laplace prior
# with Var = 2/λ1²; its minimum is 0.848 at t ≈ 0.45), so that
#     σ² = W(t) / (λ2 + λ1²)
# holds at both ends without a division by 0. For t < 2, R comes from the standard library's erfc
# (the cancellation in 1 + t² − t/R costs at most 10x rounding there). For t ≥ 2 Laplace's continued
# fraction R = 1/(t + 1/(t + 2/(t + 3/(t + …)))) gives 1 + t² − t/R = D/(t + D) with
# D = 2/(t + 3/(t + 4/(t + …))) exactly, free of cancellation; 120 terms are exact to rounding at t = 2.

_CF_FROM = 2.0
_CF_TERMS = 120
_W_MIN = 0.8  # below the minimum of W (0.848...), to bracket the scale


def _elasticnet_w(t: np.ndarray) -> np.ndarray:
    """``W(t) = (1 + t²) λ2 Var(w)`` of the elastic-net prior at ``t = λ1/√λ2`` in [0, ∞]."""
    t = np.asarray(t, dtype=float)
    out = np.empty_like(t)
    small = t < _CF_FROM
    ts = t[small]
    erfcx = np.array([math.exp(v * v / 2.0) * math.erfc(v / math.sqrt(2.0)) for v in ts], dtype=float)
    out[small] = (1.0 + ts**2) * (1.0 + ts**2 - ts / (math.sqrt(math.pi / 2.0) * erfcx))
    with np.errstate(divide="ignore"):
        u = 1.0 / t[~small]  # 0 where t = ∞ (no L2 part)
    tail = np.zeros_like(u)
    for k in range(_CF_TERMS, 2, -1):
        tail = k * u / (1.0 + u * tail)
    t_d = 2.0 / (1.0 + u * tail)  # t·D
    d = u * t_d
    out[~small] = (t_d + u * d) / (1.0 + u * d)  # (1 + t²) D / (t + D), divided through by t
    return out


def _l1_ratio(l1_ratio: ArrayLike) -> np.ndarray:
    rho = np.asarray(l1_ratio, dtype=float)
    if rho.size == 0 or not np.all(np.isfinite(rho)) or np.any((rho < 0) | (rho > 1)):
        raise ValueError(
            f"The 'l1_ratio' argument must be a number in [0, 1] (or an array of them). Got {l1_ratio!r}."
        )
    return rho


def _scalar_or_array(value: np.ndarray) -> float | np.ndarray:
    return float(value) if np.ndim(value) == 0 else value


def _log_t_from_product(log_product: np.ndarray) -> np.ndarray:
    """``log t`` from ``log(t²(1 + t²))``, without overflow: ``t² = 2a/(1 + √(1 + 4a))``."""
    log_sqrt = 0.5 * np.logaddexp(0.0, np.log(4.0) + log_product)
    return 0.5 * (np.log(2.0) + log_product - np.logaddexp(0.0, log_sqrt))


def _elasticnet_log_scale(sigma: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """``log c``: the penalty ``c(ρ|w| + ½(1 − ρ)w²)`` whose prior has sd σ, for 0 < ρ < 1.

    With ``λ1 = cρ``, ``λ2 = c(1 − ρ)`` and ``t = λ1/√λ2``, the sd is σ where
    ``G(log t) = log W(t) − log(t²(1 + t²)) − 2 log k = 0`` with ``k = σ(1 − ρ)/ρ``. G falls
    strictly; ``W ∈ [0.8, 2]`` brackets the root, which the Illinois method then finds.
    """
    log_k = np.log(sigma) + np.log1p(-rho) - np.log(rho)

    def g(log_t: np.ndarray) -> np.ndarray:
        log_t2 = 2.0 * log_t
        return np.log(_elasticnet_w(np.exp(log_t))) - log_t2 - np.logaddexp(0.0, log_t2) - 2.0 * log_k

    a = _log_t_from_product(np.log(_W_MIN) - 2.0 * log_k)
    b = _log_t_from_product(np.log(2.0) - 2.0 * log_k)
    ga, gb = g(a), g(b)
    for _ in range(200):
        active = (gb != 0.0) & (np.abs(b - a) > 4 * np.finfo(float).eps * np.maximum(1.0, np.abs(b)))
        if not np.any(active):
            break
        with np.errstate(invalid="ignore", divide="ignore"):
            c = np.where(active, b - gb * (b - a) / (gb - ga), b)
        c = np.where(np.isfinite(c), c, 0.5 * (a + b))
        gc = g(c)
        flip = active & (gc * gb < 0)  # the root lies between b and c: b becomes the far end
        keep = active & ~flip  # Illinois: halve the far end's value so that it moves next time
        a, ga = np.where(flip, b, a), np.where(flip, gb, np.where(keep, 0.5 * ga, ga))
        b, gb = np.where(active, c, b), np.where(active, gc, gb)
    return 2.0 * b + np.log1p(-rho) - 2.0 * np.log(rho)  # c = t²(1 − ρ)/ρ²


def _elasticnet_scale(prior_sigma: ArrayLike, l1_ratio: ArrayLike) -> np.ndarray:
    """The scale ``c`` of :func:`_elasticnet_log_scale`, with the limits ρ = 0 and ρ = 1 exact."""
    sigma, rho = np.broadcast_arrays(
        np.asarray(_positive("prior_sigma", prior_sigma), dtype=float), _l1_ratio(l1_ratio)
    )
    scale = np.where(rho == 0.0, (1.0 / sigma) ** 2, np.sqrt(2.0) / sigma)
    inside = (rho > 0.0) & (rho < 1.0)
    if np.any(inside):
        scale[inside] = np.exp(_elasticnet_log_scale(sigma[inside], rho[inside]))
    return scale


def elasticnet_penalties_from_sigma(
    prior_sigma: ArrayLike, l1_ratio: ArrayLike
) -> tuple[float | np.ndarray, float | np.ndarray]:
    """``(λ1, λ2)`` of the elastic-net prior ``p(w) ∝ exp(−λ1|w| − ½λ2 w²)`` whose sd is σ.

    The penalty is split as scikit-learn splits it, ``λ1 = cρ`` and ``λ2 = c(1 − ρ)`` with ρ the L1
    share (``l1_ratio``), and the one scale ``c`` is the root that makes the prior's standard
    deviation σ. ``ρ = 0`` is the normal prior (``λ2 = 1/σ²``), ``ρ = 1`` the Laplace prior
    (``λ1 = √2/σ``).

    Parameters
    ----------
    prior_sigma : float or array
        Standard deviation σ of the prior on each coefficient.
    l1_ratio : float or array
        ρ in [0, 1].

    Returns
    -------
    (float or ndarray, float or ndarray)
        ``λ1``, the weight of ``|w|``, and ``λ2``, that of ``½w²``, in the negative log density.

    Examples
    --------
    >>> elasticnet_penalties_from_sigma(prior_sigma=0.5, l1_ratio=0.0)
    (0.0, 4.0)
    >>> lam1, lam2 = elasticnet_penalties_from_sigma(prior_sigma=1.0, l1_ratio=0.5)
    >>> round(lam1, 12), round(lam2, 12), round(sigma_from_elasticnet_penalties(lam1, lam2), 12)
    (0.565190496601, 0.565190496601, 1.0)
    """
    rho = _l1_ratio(l1_ratio)
    scale = _elasticnet_scale(prior_sigma, rho)
    lam1, lam2 = scale * rho, scale * (1.0 - rho)
    return _scalar_or_array(lam1), _scalar_or_array(lam2)


def sigma_from_elasticnet_penalties(lam1: ArrayLike, lam2: ArrayLike) -> float | np.ndarray:
    """The sd of the prior ``p(w) ∝ exp(−λ1|w| − ½λ2 w²)``, in closed form.

    ``σ² = W(t) / (λ2 + λ1²)`` with ``t = λ1/√λ2`` and ``W(t) = (1 + t²)(1 + t² − t/R(t))`` (R the
    Mills ratio of the standard normal); W is 1 for the normal prior and 2 for the Laplace. The
    l1_ratio of the pair is ``λ1/(λ1 + λ2)``.

    Examples
    --------
    >>> sigma_from_elasticnet_penalties(0.0, 4.0), sigma_from_elasticnet_penalties(1.0, 0.0)
    (0.5, 1.4142135623730951)
    >>> round(sigma_from_elasticnet_penalties(1.0, 1.0), 12)
    0.689104290974
    """
    l1, l2 = np.broadcast_arrays(np.asarray(lam1, dtype=float), np.asarray(lam2, dtype=float))
    if (
        l1.size == 0
        or not np.all(np.isfinite(l1) & np.isfinite(l2))
        or np.any((l1 < 0) | (l2 < 0) | (l1 + l2 <= 0))
    ):
        raise ValueError(
            "The 'lam1' and 'lam2' arguments must be finite numbers >= 0, not both 0. "
            f"Got {lam1!r} and {lam2!r}."
        )
    with np.errstate(divide="ignore"):
        t = l1 / np.sqrt(l2)  # ∞ for the Laplace prior
    return _scalar_or_array(np.sqrt(_elasticnet_w(t)) / np.hypot(l1, np.sqrt(l2)))


def logistic_elasticnet_C_from_sigma(prior_sigma: ArrayLike, l1_ratio: ArrayLike) -> float | np.ndarray:
    """``C = 1/c`` for ``LogisticRegression(C=C, l1_ratio=ρ)`` (``solver="saga"``).

    ``C · Σ logloss + ρ‖w‖₁ + ½(1 − ρ)‖w‖²`` divided by C is the negative log posterior with the
    elastic-net prior of :func:`elasticnet_penalties_from_sigma`: ``λ1 = ρ/C``, ``λ2 = (1 − ρ)/C``.
    ρ = 0 gives :func:`logistic_C_from_sigma`, ρ = 1 :func:`logistic_l1_C_from_sigma`.

    Examples
    --------
    >>> logistic_elasticnet_C_from_sigma(prior_sigma=3.0, l1_ratio=0.0)
    9.0
    >>> round(logistic_elasticnet_C_from_sigma(prior_sigma=1.0, l1_ratio=0.5), 12)
    0.884657479216
    """
    return _scalar_or_array(1.0 / _elasticnet_scale(prior_sigma, l1_ratio))


def sigma_from_logistic_elasticnet_C(C: ArrayLike, l1_ratio: ArrayLike) -> float | np.ndarray:
    """Prior sd implied by ``LogisticRegression(C=C, l1_ratio=ρ)``.

    Examples
    --------
    >>> sigma_from_logistic_elasticnet_C(9.0, l1_ratio=0.0)
    3.0
    """
    scale = 1.0 / np.asarray(_positive("C", C), dtype=float)
    rho = _l1_ratio(l1_ratio)
    return sigma_from_elasticnet_penalties(scale * rho, scale * (1.0 - rho))

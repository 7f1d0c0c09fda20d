"""Conversions between a ``N(0, σ²)`` prior and the penalties libraries write.

The model behind every function here: coefficients ``w ~ N(0, σ² I)`` (``prior_sigma``), a flat prior on
the intercept, and a Gaussian likelihood with noise sd ``σ_n`` (``noise_sigma``) or a Bernoulli-logit
likelihood. Its negative log posterior is ``Σ NLL_i + ‖w‖² / (2σ²)``; each library rescales it, and each
pair of functions below undoes one rescaling. The names never say "alpha" or "lambda" unqualified,
because those words mean a penalty in one library and a precision in another.

Every function accepts scalars or numpy arrays and is numpy-only, so it is cheap to import.

=========================================================  =============================  ==================
objective as the library writes it                          where                          value
=========================================================  =============================  ==================
``Σ (y − ŷ)² + α‖w‖²``                                      ``Ridge(alpha)``               α = σ_n²/σ²
``C · Σ logloss + ½‖w‖²``                                   ``LogisticRegression(C)``      C = σ²
``1/(2n) Σ (y − ŷ)² + ½ a‖w‖²``                             ``ElasticNet(l1_ratio=0)``,    a = σ_n²/(nσ²)
                                                            ``SGDRegressor(alpha)``
``(1/n) Σ logloss + ½ a‖w‖²``                               ``SGDClassifier(log_loss)``    a = 1/(nσ²)
``(1/n) Σ (y − ŷ)² + λ‖w‖²``                                the seed note's loss           λ = σ_n²/(nσ²)
``(1/n) Σ (y − ŷ)²``, gradient ``+ λw``                     PyTorch MSE + SGD weight decay λ = 2σ_n²/(nσ²)
``(1/n) Σ logloss``, gradient ``+ λw``                      PyTorch BCE + SGD weight decay λ = 1/(nσ²)
``alpha_``, ``lambda_`` (precisions)                        ``BayesianRidge``              σ_n² = 1/alpha_,
                                                                                           σ² = 1/lambda_
=========================================================  =============================  ==================
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "bayesian_ridge_from_sigmas",
    "elasticnet_alpha_from_sigma",
    "logistic_C_from_sigma",
    "mean_loss_lambda_from_sigma",
    "ridge_alpha_from_sigma",
    "sgd_classifier_alpha_from_sigma",
    "sigma_from_elasticnet_alpha",
    "sigma_from_logistic_C",
    "sigma_from_mean_loss_lambda",
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
    prior_sigma: ArrayLike, noise_sigma: ArrayLike, n_samples: int
) -> float | np.ndarray:
    """``a = σ_n² / (n σ²)`` for ``ElasticNet(alpha=a, l1_ratio=0)`` and ``SGDRegressor(alpha=a)``.

    Examples
    --------
    >>> elasticnet_alpha_from_sigma(prior_sigma=1.0, noise_sigma=2.0, n_samples=8)
    0.5
    """
    return ridge_alpha_from_sigma(prior_sigma, noise_sigma) / _n_samples(n_samples)


def sigma_from_elasticnet_alpha(
    elasticnet_alpha: ArrayLike, noise_sigma: ArrayLike, n_samples: int
) -> float | np.ndarray:
    """Prior sd implied by ``ElasticNet(alpha=a, l1_ratio=0)`` on ``n_samples`` rows.

    Examples
    --------
    >>> sigma_from_elasticnet_alpha(0.5, noise_sigma=2.0, n_samples=8)
    1.0
    """
    alpha = _positive("elasticnet_alpha", elasticnet_alpha) * _n_samples(n_samples)
    return sigma_from_ridge_alpha(alpha, noise_sigma)


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

    ``alpha_`` is the noise precision (σ_n² = 1/alpha_) and ``lambda_`` the weight precision
    (σ² = 1/lambda_); the equivalent ridge penalty is ``lambda_ / alpha_``.

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

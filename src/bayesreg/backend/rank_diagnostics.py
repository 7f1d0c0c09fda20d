"""Rank-normalised split r̂ and bulk and tail ESS of many variables at once, as ArviZ computes them.

The same estimators as ``arviz_stats.rhat`` (method "rank") and ``arviz_stats.ess`` (methods
"bulk" and "tail", at ArviZ's default ``stats.ci_prob``), from Vehtari et al. (2021),
"Rank-normalization, folding, and localization", and equal to them to rounding
(``tests/test_rank_diagnostics.py`` checks this against the installed arviz_stats). They are
written out here for the convergence check that ends every fit, for time alone: importing
arviz_stats takes about 0.2 s (it loads scipy.signal, which parses docstrings at import) and its
per-variable loops about 0.1 s on a 31-variable posterior, together a third of the first fit of a
logistic model in a fresh process (issue 14). Here the ranks, normal scores and autocovariances
of all variables are computed in one vectorised pass each; only Geyer's truncation loops over
variables. Users' own diagnostics (``az.summary``, ``azs.ess``) stay ArviZ's.
"""

from __future__ import annotations

import numpy as np
from scipy.fft import irfft, next_fast_len, rfft
from scipy.special import ndtri
from scipy.stats import rankdata

__all__ = ["rhat_and_ess"]

MIN_DRAWS = 4  # fewer draws per chain give NaN, as in ArviZ
_BLOM_OFFSET = 3 / 8  # ranks → normal scores, Blom (1958)


def rhat_and_ess(draws: np.ndarray, prob: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rank-normalised split r̂, bulk ESS and tail ESS of each variable, as ArviZ computes them.

    r̂ is the larger of the bulk and folded ones; the bulk ESS is that of the rank-normalised split
    chains (the same normal scores as r̂'s, computed once); the tail ESS the smaller ESS of the two
    indicators ``draw <= quantile`` at ``1 - prob`` and ``prob``.

    Parameters
    ----------
    draws : ndarray of shape (n_variables, n_chains, n_draws)
    prob : float, optional
        The tail ESS's quantiles (either order); ArviZ's ``stats.ci_prob`` (0.89 unless set) by
        default, as ``arviz_stats.ess(method="tail")``.

    Returns
    -------
    rhat, ess_bulk, ess_tail : ndarray of shape (n_variables,)
        NaN for a variable with a NaN draw, or with fewer than 4 draws per chain; r̂ is NaN with
        fewer than 2 chains too.

    Examples
    --------
    >>> draws = np.random.default_rng(0).normal(size=(3, 4, 500))
    >>> rhat, bulk, tail = rhat_and_ess(draws)
    >>> bool(np.all(rhat < 1.01) and np.all(bulk > 1500) and np.all(tail > 1000))
    True
    """
    draws = np.asarray(draws, dtype=float)
    if draws.shape[2] < MIN_DRAWS:
        nan = np.full(draws.shape[0], np.nan)
        return nan, nan.copy(), nan.copy()
    invalid = np.isnan(draws).reshape(draws.shape[0], -1).any(axis=1)
    split = _split_chains(draws)
    scores = _normal_scores(split)
    rhat = _rank_rhat(split, scores) if draws.shape[1] >= 2 else np.full(draws.shape[0], np.nan)
    bulk, tail = _ess(scores), _ess_tail(draws, prob)
    return np.where(invalid, np.nan, rhat), np.where(invalid, np.nan, bulk), np.where(invalid, np.nan, tail)


def _rank_rhat(split: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """r̂ of the normal scores of the split chains and of their folded values, whichever is larger."""
    folded = np.abs(split - np.median(split.reshape(split.shape[0], -1), axis=1)[:, None, None])
    bulk, tail = _rhat(scores), _rhat(_normal_scores(folded))
    # Python's max(bulk, tail), as ArviZ takes it: a NaN tail (all folded draws equal) keeps the bulk.
    return np.where(tail > bulk, tail, bulk)


def _ess_tail(draws: np.ndarray, prob: float | None) -> np.ndarray:
    """The smaller ESS of the indicators ``draw <= quantile`` at ``1 - prob`` and ``prob``."""
    if prob is None:
        from arviz_base import rcParams

        prob = float(rcParams["stats.ci_prob"])
    quantiles = np.quantile(draws.reshape(draws.shape[0], -1), sorted((prob, 1 - prob)), axis=1)
    return np.minimum.reduce([_ess(_split_chains(draws <= q[:, None, None])) for q in quantiles])


def _split_chains(draws: np.ndarray) -> np.ndarray:
    """Each chain's first and last halves as chains: (k, c, n) → (k, 2c, n // 2), first halves first."""
    half = draws.shape[2] // 2
    return np.concatenate([draws[:, :, :half], draws[:, :, draws.shape[2] - half :]], axis=1)


def _normal_scores(draws: np.ndarray) -> np.ndarray:
    """Rank-normalise each variable's draws over all its chains: Φ⁻¹((rank − 3/8) / (N + 1/4))."""
    flat = draws.reshape(draws.shape[0], -1)
    ranks = rankdata(flat, method="average", axis=1)
    size = flat.shape[1]
    return ndtri((ranks - _BLOM_OFFSET) / (size - 2 * _BLOM_OFFSET + 1)).reshape(draws.shape)


def _rhat(chains: np.ndarray) -> np.ndarray:
    """Gelman-Rubin r̂ of each variable's chains (k, m, n)."""
    n = chains.shape[2]
    between = n * np.var(chains.mean(axis=2), axis=1, ddof=1)
    within = np.var(chains, axis=2, ddof=1).mean(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):  # constant draws: 0 / 0, r̂ is NaN (fails)
        return np.sqrt((between / within + n - 1) / n)


def _autocovariance(chains: np.ndarray) -> np.ndarray:
    """Autocovariance of each chain at every lag, by FFT (k, m, n) → (k, m, n)."""
    n = chains.shape[2]
    size = next_fast_len(2 * n)
    centred = chains - chains.mean(axis=2, keepdims=True)
    spectrum = rfft(centred, n=size, axis=2)
    spectrum *= np.conjugate(spectrum)
    return irfft(spectrum, n=size, axis=2)[:, :, :n] / n


def _ess(chains: np.ndarray) -> np.ndarray:
    """Effective sample size of each variable's chains (k, m, n), Geyer's initial monotone sequence."""
    chains = np.asarray(chains, dtype=float)
    k, m, n = chains.shape
    acov = _autocovariance(chains)
    mean_acov = acov.mean(axis=1)  # (k, n): the lag-t autocovariance averaged over chains
    mean_var = mean_acov[:, 0] * n / (n - 1.0)
    var_plus = mean_var * (n - 1.0) / n
    if m > 1:
        var_plus = var_plus + np.var(chains.mean(axis=2), axis=1, ddof=1)
    constant = np.ptp(chains.reshape(k, -1), axis=1) < np.finfo(float).resolution
    return np.array(
        [
            float(chains[i].size)
            if constant[i]
            else _ess_of_one(mean_acov[i], mean_var[i], var_plus[i], m * n)
            for i in range(k)
        ]
    )


def _ess_of_one(mean_acov: np.ndarray, mean_var: float, var_plus: float, size: int) -> float:
    """One variable's ESS from its chain-averaged autocovariances, truncated as in ArviZ."""
    n = mean_acov.shape[0]
    rho = np.zeros(n)
    rho_even, rho_odd = 1.0, 1.0 - (mean_var - mean_acov[1]) / var_plus
    rho[0], rho[1] = rho_even, rho_odd
    # Geyer's initial positive sequence: sum pairs of lags while the pair sum stays positive.
    t = 1
    while t < n - 3 and rho_even + rho_odd > 0.0:
        rho_even = 1.0 - (mean_var - mean_acov[t + 1]) / var_plus
        rho_odd = 1.0 - (mean_var - mean_acov[t + 2]) / var_plus
        if rho_even + rho_odd >= 0:
            rho[t + 1], rho[t + 2] = rho_even, rho_odd
        t += 2
    max_t = t - 2
    if rho_even > 0:
        rho[max_t + 1] = rho_even
    # Geyer's initial monotone sequence: no pair sum larger than the one before it.
    t = 1
    while t <= max_t - 2:
        if rho[t + 1] + rho[t + 2] > rho[t - 1] + rho[t]:
            rho[t + 1] = rho[t + 2] = (rho[t - 1] + rho[t]) / 2.0
        t += 2
    tau = -1.0 + 2.0 * np.sum(rho[: max_t + 1]) + np.sum(rho[max_t + 1 : max_t + 2])
    tau = max(tau, 1 / np.log10(size))
    return np.nan if np.isnan(rho).any() else size / tau

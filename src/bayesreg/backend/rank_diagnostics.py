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

__all__ = ["ess_bulk", "ess_tail", "rank_rhat", "rhat_and_ess"]

MIN_DRAWS = 4  # fewer draws per chain give NaN, as in ArviZ
_BLOM_OFFSET = 3 / 8  # ranks → normal scores, Blom (1958)


def rank_rhat(draws: np.ndarray) -> np.ndarray:
    """Rank-normalised split r̂ (the larger of bulk and folded) of each variable.

    Parameters
    ----------
    draws : ndarray of shape (n_variables, n_chains, n_draws)

    Returns
    -------
    ndarray of shape (n_variables,)
        NaN for a variable with NaN draws, fewer than 2 chains or fewer than 4 draws.

    Examples
    --------
    >>> draws = np.random.default_rng(0).normal(size=(3, 4, 500))
    >>> bool(np.all(rank_rhat(draws) < 1.01))
    True
    """
    draws = np.asarray(draws, dtype=float)
    if _too_short(draws, min_chains=2):
        return np.full(draws.shape[0], np.nan)
    split = _split_chains(draws)
    return _rank_rhat(draws, split, _normal_scores(split))


def ess_bulk(draws: np.ndarray) -> np.ndarray:
    """Bulk effective sample size (of the rank-normalised split chains) of each variable.

    Parameters
    ----------
    draws : ndarray of shape (n_variables, n_chains, n_draws)

    Returns
    -------
    ndarray of shape (n_variables,)
        NaN for a variable with NaN draws or fewer than 4 draws.

    Examples
    --------
    >>> draws = np.random.default_rng(0).normal(size=(3, 4, 500))
    >>> bool(np.all(ess_bulk(draws) > 1500))
    True
    """
    draws = np.asarray(draws, dtype=float)
    if _too_short(draws, min_chains=1):
        return np.full(draws.shape[0], np.nan)
    return _ess_bulk(draws, _normal_scores(_split_chains(draws)))


def ess_tail(draws: np.ndarray, prob: float | None = None) -> np.ndarray:
    """Tail effective sample size: the smaller ESS of the two indicators ``draw <= quantile``.

    Parameters
    ----------
    draws : ndarray of shape (n_variables, n_chains, n_draws)
    prob : float, optional
        The quantiles are ``(1 - prob)`` and ``prob`` (either order); ArviZ's ``stats.ci_prob``
        (0.89 unless set) by default, as ``arviz_stats.ess(method="tail")``.

    Returns
    -------
    ndarray of shape (n_variables,)

    Examples
    --------
    >>> draws = np.random.default_rng(0).normal(size=(3, 4, 500))
    >>> bool(np.all(ess_tail(draws) > 1000))
    True
    """
    if prob is None:
        from arviz_base import rcParams

        prob = float(rcParams["stats.ci_prob"])
    draws = np.asarray(draws, dtype=float)
    if _too_short(draws, min_chains=1):
        return np.full(draws.shape[0], np.nan)
    quantiles = np.quantile(draws.reshape(draws.shape[0], -1), sorted((prob, 1 - prob)), axis=1)
    ess = np.minimum.reduce([_ess(_split_chains(draws <= q[:, None, None])) for q in quantiles])
    return np.where(_invalid(draws, min_chains=1), np.nan, ess)


def rhat_and_ess(draws: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`rank_rhat`, :func:`ess_bulk` and :func:`ess_tail` together, ranking the draws once for both.

    Examples
    --------
    >>> draws = np.random.default_rng(0).normal(size=(3, 4, 500))
    >>> rhat, bulk, tail = rhat_and_ess(draws)
    >>> bool(np.all(rhat == rank_rhat(draws)) and np.all(bulk == ess_bulk(draws)))
    True
    """
    draws = np.asarray(draws, dtype=float)
    if _too_short(draws, min_chains=1):
        nan = np.full(draws.shape[0], np.nan)
        return nan, nan.copy(), nan.copy()
    split = _split_chains(draws)
    scores = _normal_scores(split)
    rhat = (
        np.full(draws.shape[0], np.nan)
        if _too_short(draws, min_chains=2)
        else _rank_rhat(draws, split, scores)
    )
    return rhat, _ess_bulk(draws, scores), ess_tail(draws)


def _rank_rhat(draws: np.ndarray, split: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """r̂ of the normal scores of the split chains and of their folded values, whichever is larger."""
    folded = np.abs(split - np.median(split.reshape(split.shape[0], -1), axis=1)[:, None, None])
    bulk, tail = _rhat(scores), _rhat(_normal_scores(folded))
    # Python's max(bulk, tail), as ArviZ takes it: a NaN tail (all folded draws equal) keeps the bulk.
    rhat = np.where(tail > bulk, tail, bulk)
    return np.where(_invalid(draws, min_chains=2), np.nan, rhat)


def _ess_bulk(draws: np.ndarray, scores: np.ndarray) -> np.ndarray:
    return np.where(_invalid(draws, min_chains=1), np.nan, _ess(scores))


def _too_short(draws: np.ndarray, *, min_chains: int) -> bool:
    """Too few chains or draws per chain for the estimator: every variable gets NaN, as in ArviZ."""
    return draws.shape[1] < min_chains or draws.shape[2] < MIN_DRAWS


def _invalid(draws: np.ndarray, *, min_chains: int) -> np.ndarray:
    """ArviZ's validity check per variable: any NaN draw, or too few chains or draws."""
    return np.isnan(draws).reshape(draws.shape[0], -1).any(axis=1) | _too_short(draws, min_chains=min_chains)


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

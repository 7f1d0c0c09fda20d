"""Simulation-based calibration (SBC): checks that a sampler draws from the model's posterior.

Talts et al. (2018), "Validating Bayesian inference algorithms with simulation-based calibration":
draw parameters θ* from the prior, simulate data from the model at θ*, fit, and count how many of
``L`` posterior draws fall below θ*. If the fitted posterior is the true posterior, that rank is
uniform on ``{0, ..., L}``, whatever the model. A sampler that is too narrow gives a U-shaped rank
histogram, one that is too wide a hump, one that is biased a slope.

The draws must be (close to) independent, otherwise the ranks are not uniform even for a correct
sampler; :func:`simulation_based_calibration` thins each posterior to ``n_draws`` evenly spaced
draws, and the caller should keep ``n_draws`` below the effective sample size.

Uniformity is tested per parameter by Pearson's chi-square on the ranks binned into ``n_bins``
equally likely bins (:func:`rank_uniformity_test`), so ``n_draws + 1`` must be a multiple of
``n_bins``.

Examples
--------
>>> import numpy as np
>>> from bayesreg import BayesianLinearRegression
>>> def simulate(rng):
...     coef = rng.normal(0.0, 1.0, size=2)
...     X = rng.normal(size=(20, 2))
...     return {"coef": coef}, X, X @ coef + rng.normal(size=20)
>>> def make_estimator(seed):
...     return BayesianLinearRegression(1.0, noise_sigma=1.0, fit_intercept=False,
...                                     method="exact", draws=99, chains=1, random_state=seed)
>>> result = simulation_based_calibration(make_estimator, simulate, 200, rng=0)
>>> result.ranks.shape
(200, 2)
>>> bool(rank_uniformity_test(result.ranks, result.n_draws, n_bins=10)["p_value"].min() > 0.01)
True
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from bayesreg.exceptions import ConvergenceWarning

__all__ = ["SBCResult", "rank_uniformity_test", "simulation_based_calibration"]

Simulation = tuple[Mapping[str, Any], Any, Any]


@dataclass(frozen=True)
class SBCResult:
    """Ranks of the true parameters among thinned posterior draws, one row per simulation.

    Attributes
    ----------
    ranks : ndarray of int, shape (n_sims, n_parameters)
        Number of the ``n_draws`` thinned posterior draws below the true value.
    parameter_names : list of str
        Column names of ``ranks``, e.g. ``["coef[0]", "coef[1]", "noise_sigma"]``.
    n_draws : int
        Draws per posterior after thinning; ranks lie in ``0..n_draws``.
    converged : ndarray of bool, shape (n_sims,)
        Whether each fit passed the sampler's convergence checks (no ConvergenceWarning).
    thin : int
        Stride used to thin the pooled draws of each fit.
    reports : list
        Each fit's ``convergence_`` (a :class:`~bayesreg.backend.diagnostics.ConvergenceReport`, or None for
        exact draws), to see *why* a fit was flagged.
    """

    ranks: np.ndarray
    parameter_names: list[str]
    n_draws: int
    converged: np.ndarray
    thin: int
    reports: list = dataclasses.field(default_factory=list)

    def uniformity(self, n_bins: int = 10) -> pd.DataFrame:
        """:func:`rank_uniformity_test` of these ranks."""
        return rank_uniformity_test(self.ranks, self.n_draws, n_bins=n_bins, names=self.parameter_names)


def _posterior_draws(idata: Any, name: str) -> np.ndarray:
    """Draws of one posterior variable as (n_samples, n_components)."""
    post = idata["posterior"]
    if name not in post.data_vars:
        raise KeyError(f"the posterior has no variable {name!r}; it has {sorted(post.data_vars)}")
    values = post[name].values
    n = values.shape[0] * values.shape[1]
    return values.reshape(n, -1)


def simulation_based_calibration(
    make_estimator: Callable[[int], Any],
    simulate: Callable[[np.random.Generator], Simulation],
    n_sims: int,
    rng: np.random.Generator | int | None,
    *,
    n_draws: int = 99,
    callback: Callable[[int, int], None] | None = None,
) -> SBCResult:
    """Run ``n_sims`` prior-draw / simulate / fit / rank cycles.

    Parameters
    ----------
    make_estimator : callable
        ``make_estimator(seed) -> estimator``: an unfitted estimator whose sampler uses ``seed``.
        Its prior must be the one ``simulate`` draws from (pass ``noise_prior_sigma`` explicitly: the
        default uses the sd of y, a data-dependent prior that SBC would rightly flag).
    simulate : callable
        ``simulate(rng) -> (truth, X, y)``: draws the parameters from the prior and data from the
        model. ``truth`` maps posterior variable names (``"coef"``, ``"intercept"``,
        ``"noise_sigma"``) to their true values; only these are ranked.
    n_sims : int
        Number of simulations.
    rng : numpy.random.Generator, int or None
        Source of all randomness (simulations and sampler seeds).
    n_draws : int, default 99
        Posterior draws kept per fit, evenly thinned from all chains; each fit must have at least
        this many. ``n_draws + 1`` a multiple of the number of bins keeps the bins equally likely.
    callback : callable, optional
        ``callback(done, n_sims)``, called after each simulation (``done`` = 1, ..., ``n_sims``), to
        report how far the run is. A :class:`bayesreg.estimators.progress.ProgressBar` is one: it
        draws a progress bar (this module itself displays nothing).

    Returns
    -------
    SBCResult

    Notes
    -----
    A :class:`~bayesreg.exceptions.ConvergenceWarning` raised by a fit is recorded in
    ``SBCResult.converged`` instead of being shown ``n_sims`` times.

    Examples
    --------
    With a progress bar (on a terminal or in Jupyter; nothing is printed elsewhere), and each
    fit's own sampler bar off (``progressbar=False`` in ``make_estimator``):

    >>> from bayesreg.estimators.progress import ProgressBar
    >>> with ProgressBar("SBC") as bar:  # doctest: +SKIP
    ...     result = simulation_based_calibration(make_estimator, simulate, 500, rng=0, callback=bar)

    Any callable of ``(done, total)`` will do:

    >>> seen = []
    >>> def simulate(rng):
    ...     X = rng.normal(size=(10, 1))
    ...     return {"coef": 0.0}, X, rng.normal(size=10)
    >>> from bayesreg import BayesianLinearRegression
    >>> def make_estimator(seed):
    ...     return BayesianLinearRegression(1.0, noise_sigma=1.0, fit_intercept=False,
    ...                                     method="exact", draws=9, chains=1, random_state=seed)
    >>> _ = simulation_based_calibration(make_estimator, simulate, 3, rng=0, n_draws=9,
    ...                                  callback=lambda done, total: seen.append((done, total)))
    >>> seen
    [(1, 3), (2, 3), (3, 3)]
    """
    rng = np.random.default_rng(rng)
    if n_sims < 1 or n_draws < 1:
        raise ValueError(f"n_sims and n_draws must be >= 1; got {n_sims} and {n_draws}.")
    rows, converged, reports = [], [], []
    names: list[str] | None = None
    thin = 1
    for sim in range(n_sims):
        truth, X, y = simulate(rng)
        est = make_estimator(int(rng.integers(2**31)))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            est.fit(X, y)
        converged.append(not any(issubclass(w.category, ConvergenceWarning) for w in caught))
        reports.append(getattr(est, "convergence_", None))
        if est.idata_ is None:
            raise ValueError("SBC needs posterior draws: use method='mcmc' or method='exact'.")
        row, row_names = [], []
        for name, value in truth.items():
            draws = _posterior_draws(est.idata_, name)
            total = draws.shape[0]
            if total < n_draws:
                raise ValueError(f"each fit must have at least n_draws={n_draws} draws; got {total}.")
            thin = total // n_draws
            kept = draws[::thin][:n_draws]
            true = np.ravel(np.asarray(value, dtype=float))
            if true.size != kept.shape[1]:
                raise ValueError(
                    f"truth[{name!r}] has {true.size} values; the posterior has {kept.shape[1]}."
                )
            row.extend((kept < true).sum(axis=0).tolist())
            row_names.extend(
                [name]
                if true.size == 1 and np.ndim(value) == 0
                else [f"{name}[{i}]" for i in range(true.size)]
            )
        names = names or row_names
        rows.append(row)
        if callback is not None:
            callback(sim + 1, n_sims)
    return SBCResult(
        ranks=np.asarray(rows, dtype=int),
        parameter_names=list(names or []),
        n_draws=n_draws,
        converged=np.asarray(converged, dtype=bool),
        thin=thin,
        reports=reports,
    )


def rank_uniformity_test(
    ranks: np.ndarray, n_draws: int, *, n_bins: int = 10, names: list[str] | None = None
) -> pd.DataFrame:
    """Pearson chi-square test that each column of ``ranks`` is uniform on ``0..n_draws``.

    The ``n_draws + 1`` possible ranks are grouped into ``n_bins`` bins of equal size, so each bin
    has probability ``1 / n_bins`` under uniformity; the statistic has ``n_bins − 1`` degrees of
    freedom. Keep the expected count ``n_sims / n_bins`` at 5 or more for the chi-square
    approximation.

    Parameters
    ----------
    ranks : array of int, shape (n_sims, n_parameters)
        Ranks in ``0..n_draws``.
    n_draws : int
        Draws per posterior.
    n_bins : int, default 10
        Number of bins; must divide ``n_draws + 1``.
    names : list of str, optional
        Row labels of the result.

    Returns
    -------
    pandas.DataFrame
        One row per parameter: ``statistic``, ``df``, ``p_value``, ``expected`` (count per bin),
        and ``counts`` (the binned ranks).

    Examples
    --------
    >>> import numpy as np
    >>> ranks = np.random.default_rng(1).integers(0, 100, size=(500, 1))
    >>> test = rank_uniformity_test(ranks, n_draws=99, n_bins=10)
    >>> bool(test["p_value"].iloc[0] > 0.01), int(test["df"].iloc[0])
    (True, 9)
    """
    ranks = np.atleast_2d(np.asarray(ranks))
    if ranks.ndim != 2:
        raise ValueError(f"ranks must be 2-D (n_sims, n_parameters); got shape {ranks.shape}.")
    if (n_draws + 1) % n_bins:
        raise ValueError(
            f"n_bins={n_bins} must divide n_draws + 1 = {n_draws + 1} so that every bin is equally likely."
        )
    if ranks.size and (ranks.min() < 0 or ranks.max() > n_draws):
        raise ValueError(f"ranks must lie in 0..{n_draws}.")
    width = (n_draws + 1) // n_bins
    names = names or [f"param{i}" for i in range(ranks.shape[1])]
    rows = []
    for j in range(ranks.shape[1]):
        counts = np.bincount(ranks[:, j] // width, minlength=n_bins)
        statistic, p_value = stats.chisquare(counts)
        rows.append(
            {
                "statistic": float(statistic),
                "df": n_bins - 1,
                "p_value": float(p_value),
                "expected": ranks.shape[0] / n_bins,
                "counts": counts.tolist(),
            }
        )
    return pd.DataFrame(rows, index=pd.Index(names, name="parameter"))

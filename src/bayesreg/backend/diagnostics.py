"""Convergence of a posterior sample, reported as data.

:func:`check_convergence` computes the numbers; :func:`warn_if_not_converged` turns a failed report
into a :class:`~bayesreg.exceptions.ConvergenceWarning` that says what to try. Thresholds follow
Vehtari et al. (2021), "Rank-normalization, folding, and localization": rank-normalised split
r_hat ≤ 1.01 and at least 100 effective draws per chain (bulk and tail), plus no divergences.
r_hat and ESS are ArviZ's estimators, equal to ``arviz_stats.rhat`` and ``arviz_stats.ess`` to
rounding, computed by :mod:`bayesreg.backend.rank_diagnostics` without arviz_stats' import.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from bayesreg._warn import warn_user
from bayesreg.backend.rank_diagnostics import rhat_and_ess
from bayesreg.exceptions import ConvergenceWarning

__all__ = ["ConvergenceReport", "check_convergence", "warn_if_not_converged"]

R_HAT_MAX = 1.01
MIN_ESS_PER_CHAIN = 100


@dataclass(frozen=True)
class ConvergenceReport:
    """What the convergence checks found.

    Attributes
    ----------
    n_chains, n_draws : int
        Shape of the sample.
    n_divergences : int
        Divergent transitions after tuning.
    n_max_treedepth : int
        Transitions that hit the maximum tree depth (an efficiency problem, not a failure).
    max_r_hat : float
        Largest rank-normalised split r_hat over the checked variables.
    min_ess_bulk, min_ess_tail : float
        Smallest bulk and tail effective sample sizes.
    problems : list of str
        One sentence per failed check, with what to try; empty when converged.
    """

    n_chains: int
    n_draws: int
    n_divergences: int
    n_max_treedepth: int
    max_r_hat: float
    min_ess_bulk: float
    min_ess_tail: float
    problems: list[str] = field(default_factory=list)

    @property
    def converged(self) -> bool:
        """True when every check passed."""
        return not self.problems

    def __str__(self) -> str:
        verdict = "converged" if self.converged else "NOT CONVERGED"
        lines = [
            f"{verdict}: {self.n_chains} chains x {self.n_draws} draws, "
            f"{self.n_divergences} divergences, max r_hat {self.max_r_hat:.4f}, "
            f"min ESS bulk {self.min_ess_bulk:.0f} / tail {self.min_ess_tail:.0f}"
        ]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


def _stacked_draws(posterior: xr.Dataset) -> np.ndarray:
    """Every scalar of every variable as a row of draws: shape (n_scalars, n_chains, n_draws)."""
    arrays = [da.transpose("chain", "draw", ...).values for da in posterior.data_vars.values()]
    n_chains, n_draws = posterior.sizes["chain"], posterior.sizes["draw"]
    stacked = [a.reshape(n_chains, n_draws, -1) for a in arrays]
    return np.moveaxis(np.concatenate(stacked, axis=2), 2, 0)


def check_convergence(
    idata: xr.DataTree,
    var_names: Sequence[str] | None = None,
    *,
    r_hat_max: float = R_HAT_MAX,
    min_ess_per_chain: int = MIN_ESS_PER_CHAIN,
) -> ConvergenceReport:
    """Check divergences, r_hat and ESS of the posterior in ``idata``.

    Parameters
    ----------
    idata : xarray.DataTree
        A sampling result with ``posterior`` and (for NUTS) ``sample_stats`` groups.
    var_names : sequence of str, optional
        Variables to check; all posterior variables by default.
    r_hat_max : float, default 1.01
        Largest acceptable r_hat.
    min_ess_per_chain : int, default 100
        Smallest acceptable bulk and tail ESS, per chain.

    Returns
    -------
    ConvergenceReport

    Examples
    --------
    >>> import numpy as np, arviz as az
    >>> draws = np.random.default_rng(0).normal(size=(4, 500))
    >>> check_convergence(az.from_dict({"posterior": {"x": draws}})).converged
    True
    """
    posterior = idata["posterior"].to_dataset()
    if var_names is not None:
        posterior = posterior[list(var_names)]
    n_chains, n_draws = posterior.sizes["chain"], posterior.sizes["draw"]
    # ArviZ's estimators, computed in one pass over all variables (see rank_diagnostics for why);
    # NaN anywhere (a NaN draw, too few chains or draws) makes the extreme NaN, which fails below.
    r_hats, ess_bulks, ess_tails = rhat_and_ess(_stacked_draws(posterior))
    r_hat, ess_bulk, ess_tail = float(np.max(r_hats)), float(np.min(ess_bulks)), float(np.min(ess_tails))

    n_div = n_depth = 0
    if "sample_stats" in idata.children:
        stats = idata["sample_stats"].to_dataset()
        for name in ("diverging", "divergences"):
            if name in stats:
                n_div = int(np.asarray(stats[name].values, dtype=bool).sum())
                break
        if "reached_max_treedepth" in stats:
            n_depth = int(np.asarray(stats["reached_max_treedepth"].values, dtype=bool).sum())

    problems = []
    if n_div:
        problems.append(
            f"{n_div} divergent transitions: raise target_accept (sample_kwargs="
            "{'target_accept': 0.95}) or reparameterise; the posterior may be biased."
        )
    if n_chains < 2:
        problems.append("r_hat needs at least two chains to compare: set chains >= 2 (4 is usual).")
    elif not r_hat <= r_hat_max:
        problems.append(
            f"r_hat up to {r_hat:.3f} > {r_hat_max}: chains disagree; increase `tune` and `draws`."
        )
    min_ess = min_ess_per_chain * n_chains
    if not min(ess_bulk, ess_tail) >= min_ess:
        problems.append(
            f"effective sample size down to {min(ess_bulk, ess_tail):.0f} < {min_ess} "
            f"({min_ess_per_chain} per chain): increase `draws` (and `tune`)."
        )
    return ConvergenceReport(
        n_chains=n_chains,
        n_draws=n_draws,
        n_divergences=n_div,
        n_max_treedepth=n_depth,
        max_r_hat=r_hat,
        min_ess_bulk=ess_bulk,
        min_ess_tail=ess_tail,
        problems=problems,
    )


def warn_if_not_converged(report: ConvergenceReport) -> None:
    """Raise a :class:`ConvergenceWarning` describing every failed check, if any.

    The warning names the first line outside bayesreg that led here (the user's ``fit``).
    """
    if not report.converged:
        warn_user(
            "The sampler did not converge; do not trust this posterior.\n" + str(report),
            ConvergenceWarning,
        )

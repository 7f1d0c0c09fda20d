"""Figures from bayesreg results; every function draws on an Axes and returns it.

matplotlib is imported inside the functions, so importing this module stays cheap; install it with
``pip install bayesreg[plot]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from bayesreg._dims import INTERCEPT_LABEL

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from bayesreg.compare import RidgeComparison

__all__ = ["plot_coefficients"]


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_coefficients(
    comparison: RidgeComparison,
    *,
    include_intercept: bool = False,
    ax: Axes | None = None,
) -> Axes:
    """Ridge, MAP and posterior mean with its HDI, one row per coefficient.

    Parameters
    ----------
    comparison : RidgeComparison
        The result of :func:`bayesreg.compare_with_ridge`.
    include_intercept : bool, default False
        Also draw the intercept row (often on a different scale).
    ax : matplotlib Axes, optional
        Where to draw; a new figure otherwise.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import numpy as np, matplotlib
    >>> matplotlib.use("Agg")
    >>> from bayesreg import BayesianLinearRegression, compare_with_ridge
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 2)); y = X @ [1.0, 2.0] + rng.normal(size=40)
    >>> est = BayesianLinearRegression(1.0, noise_sigma=1.0, method="exact").fit(X, y)
    >>> ax = plot_coefficients(compare_with_ridge(est, X, y))
    """
    table = comparison.table
    if not include_intercept:
        table = table.drop(index=INTERCEPT_LABEL, errors="ignore")
    ax = _axes(ax, (6.5, 0.45 * len(table) + 1.5))
    rows = np.arange(len(table))[::-1]
    has_posterior = bool(np.isfinite(table["posterior_mean"]).any())
    if has_posterior:
        ax.hlines(
            rows,
            table["hdi_low"],
            table["hdi_high"],
            color="C0",
            lw=2.5,
            alpha=0.6,
            label="posterior HDI",
        )
        ax.plot(table["posterior_mean"], rows, "o", color="C0", label="posterior mean")
    ax.plot(table["map"], rows, "D", mfc="none", color="C1", ms=9, label="MAP")
    ax.plot(table["ridge"], rows, "x", color="k", ms=7, label="sklearn ridge")
    ax.axvline(0.0, color="0.7", lw=0.8, zorder=0)
    ax.set_yticks(rows, [str(t) for t in table.index])
    ax.set_xlabel("coefficient")
    ax.set_title(comparison.penalty, fontsize="small")
    ax.legend(loc="best", fontsize="small")
    return ax

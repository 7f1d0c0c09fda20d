"""Figures from bayesreg results; every function draws on an Axes and returns it.

matplotlib (a dependency of bayesreg) is imported inside the functions, so importing this module
stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from bayesreg._dims import INTERCEPT_LABEL
from bayesreg._warn import warn_user
from bayesreg.estimators.validation import BOOLEAN, POSITIVE_INT, PROBABILITY, one_of, validate_params

if TYPE_CHECKING:
    from collections.abc import Mapping

    import pandas as pd
    from matplotlib.axes import Axes

    from bayesreg.compare import RidgeComparison

__all__ = [
    "plot_coefficients",
    "plot_path_with_elpd",
    "plot_predictive_band",
    "plot_prior_likelihood_posterior_2d",
    "plot_regularization_path",
]


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

    The interval's probability and source are in the legend, e.g. "94% HDI (posterior draws)";
    a ``method="map"`` fit has no draws, so it gets the Laplace interval around the MAP. The
    legend sits outside the axes, on the right, so it never covers a coefficient.

    Parameters
    ----------
    comparison : RidgeComparison
        The result of :func:`bayesreg.compare_with_ridge`.
    include_intercept : bool, default False
        Also draw the intercept row (often on a different scale).
    ax : matplotlib Axes, optional
        Where to draw; a new figure (constrained layout, so the legend fits) otherwise.

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
    >>> [t.get_text() for t in ax.get_legend().get_texts()][0]
    '94% HDI (exact posterior)'
    """
    from bayesreg.compare import find_interval_columns

    validate_params(
        "plot_coefficients", {"include_intercept": include_intercept}, {"include_intercept": BOOLEAN}
    )
    table = comparison.table
    if not include_intercept:
        table = table.drop(index=INTERCEPT_LABEL, errors="ignore")
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(8.0, 0.45 * len(table) + 1.5), layout="constrained")
    rows = np.arange(len(table))[::-1]
    found = find_interval_columns(table.columns)
    if found is not None:
        low, high, _ = found
        if np.isfinite(table[low]).any():
            ax.hlines(
                rows, table[low], table[high], color="C0", lw=2.5, alpha=0.6, label=comparison.interval_label
            )
    if np.isfinite(table["posterior_mean"]).any():
        ax.plot(table["posterior_mean"], rows, "o", color="C0", label="posterior mean")
    ax.plot(table["map"], rows, "D", mfc="none", color="C1", ms=9, label="MAP")
    ax.plot(table["ridge"], rows, "x", color="k", ms=7, label="sklearn ridge")
    ax.axvline(0.0, color="0.7", lw=0.8, zorder=0)
    ax.set_yticks(rows, [str(t) for t in table.index])
    if len(rows):
        ax.set_ylim(rows.min() - 0.6, rows.max() + 0.6)
    ax.set_xlabel("coefficient")
    ax.set_title(str(comparison.penalty), fontsize="small")
    # Outside the axes, top right: with 30 rows there is no empty corner inside.
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize="small")
    return ax


def _as_2d(name: str, values, shape: tuple[int, int] | None = None) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or (shape is not None and arr.shape != shape):
        want = f" of shape {shape}" if shape is not None else ""
        raise ValueError(f"'{name}' must be a 2-D array{want}; got shape {np.shape(values)}.")
    return arr


def _chi2_2d_radii(levels) -> np.ndarray:
    """Mahalanobis radii² that enclose the given probability masses of a 2-D Gaussian."""
    probs = np.sort(np.asarray(levels, dtype=float))
    if probs.size == 0 or np.any((probs <= 0) | (probs >= 1)):
        raise ValueError(f"'levels' must be probabilities in (0, 1); got {levels!r}.")
    return -2.0 * np.log1p(-probs)


def plot_prior_likelihood_posterior_2d(
    X: np.ndarray,
    y: np.ndarray,
    *,
    prior_sigma: float,
    noise_sigma: float,
    fit_intercept: bool = True,
    ridge_coef: np.ndarray | None = None,
    posterior_draws: np.ndarray | None = None,
    path_sigmas: np.ndarray | None = None,
    levels: tuple[float, ...] = (0.5, 0.9, 0.99),
    extent: tuple[float, float, float, float] | None = None,
    feature_names: list[str] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Prior circles, likelihood ellipses and posterior ellipses of a two-coefficient model.

    The model is bayesreg's Gaussian one with known noise: ``w ~ N(0, σ² I)``, a flat intercept and
    ``y ~ N(b + X w, σ_n²)``. Each family of contours encloses the probability masses in ``levels``
    (the likelihood drawn as a density in ``w``, with the intercept integrated out). The posterior
    mode (the MAP) is marked with a filled star; a ridge solution passed in ``ridge_coef`` is marked
    with a cross, so that one can see the two coincide.

    Parameters
    ----------
    X : array of shape (n_samples, 2)
        Two features.
    y : array of shape (n_samples,)
        Targets.
    prior_sigma : float
        Prior sd σ of each coefficient.
    noise_sigma : float
        Known noise sd σ_n.
    fit_intercept : bool, default True
        Whether the model has a (flat-prior) intercept.
    ridge_coef : array of shape (2,), optional
        A ridge solution to mark, e.g. ``Ridge(alpha=σ_n²/σ²).fit(X, y).coef_``.
    posterior_draws : array of shape (n_draws, 2), optional
        Posterior draws of the coefficients to overlay as points (e.g. from PyMC).
    path_sigmas : array, optional
        Prior sds at which to compute the MAP; the curve through them is the ridge path
        (the MAP moves from 0 towards least squares as σ grows).
    levels : tuple of float, default (0.5, 0.9, 0.99)
        Probability masses enclosed by the contours.
    extent : (xmin, xmax, ymin, ymax), optional
        Plot window; by default it covers the origin, the likelihood and the posterior.
    feature_names : list of 2 str, optional
        Axis labels.
    ax : matplotlib Axes, optional
        Where to draw; a new figure otherwise.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import numpy as np, matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.linear_model import Ridge
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(20, 2)); y = X @ [1.0, 2.0] + rng.normal(size=20)
    >>> ridge = Ridge(alpha=1.0 / 0.5**2).fit(X, y)
    >>> ax = plot_prior_likelihood_posterior_2d(X, y, prior_sigma=0.5, noise_sigma=1.0,
    ...                                         ridge_coef=ridge.coef_)
    """
    from bayesreg.stats.conjugate import prior_likelihood_posterior

    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float).ravel()
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have exactly two columns; got shape {X.shape}.")
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"X has {X.shape[0]} rows but y has {y.shape[0]}.")
    if not (prior_sigma > 0 and noise_sigma > 0):
        raise ValueError("prior_sigma and noise_sigma must be > 0.")
    names = list(feature_names) if feature_names is not None else ["coef x0", "coef x1"]
    if len(names) != 2:
        raise ValueError(f"'feature_names' must hold 2 names; got {len(names)}.")
    radii2 = _chi2_2d_radii(levels)
    pic = prior_likelihood_posterior(
        X, y, prior_sigma=prior_sigma, noise_sigma=noise_sigma, fit_intercept=fit_intercept
    )
    if extent is None:
        lo, hi = pic.bounding_box(float(np.sqrt(radii2.max())))
        pad = 0.08 * (hi - lo).max()
        extent = (lo[0] - pad, hi[0] + pad, lo[1] - pad, hi[1] + pad)

    ax = _axes(ax, (6.0, 5.5))
    handles = _draw_gaussian_contours(ax, pic, radii2, extent)
    if posterior_draws is not None:
        handles.append(_draw_draws(ax, posterior_draws))
    if path_sigmas is not None:
        path = pic.ridge_path(np.sort(np.asarray(path_sigmas, dtype=float).ravel()))
        (line,) = ax.plot(path[:, 0], path[:, 1], "-", color="C2", lw=1.5, zorder=2)
        line.set_label("ridge path (σ varies)")
        handles.append(line)
    handles += _draw_points(ax, pic, ridge_coef)
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    ax.set_aspect("equal", adjustable="box")
    alpha = noise_sigma**2 / prior_sigma**2
    ax.set_title(
        f"σ = {prior_sigma:g}, σ_n = {noise_sigma:g}  →  ridge α = σ_n²/σ² = {alpha:.3g}", fontsize="small"
    )
    ax.legend(handles=handles, loc="best", fontsize="small")
    return ax


def _draw_gaussian_contours(ax: Axes, pic: Any, radii2: np.ndarray, extent: tuple) -> list:
    """Contours of the prior, likelihood and posterior enclosing the masses behind ``radii2``."""
    from matplotlib.lines import Line2D

    xmin, xmax, ymin, ymax = extent
    g0, g1 = np.meshgrid(np.linspace(xmin, xmax, 241), np.linspace(ymin, ymax, 241))
    grid = np.stack([g0, g1], axis=-1)  # (ny, nx, 2)

    def quad(center: np.ndarray, prec: np.ndarray) -> np.ndarray:
        d = grid - center
        return np.einsum("...i,ij,...j->...", d, prec, d)

    post = pic.posterior
    styles = [
        (quad(np.zeros(2), pic.prior_precision), "0.45", "dotted", f"prior N(0, {pic.prior_sigma:g}²)"),
        (quad(pic.least_squares, pic.likelihood_precision), "C0", "dashed", "likelihood"),
        (quad(post.coef_mean, np.linalg.inv(post.coef_cov)), "C3", "solid", "posterior"),
    ]
    handles = []
    for q, colour, ls, label in styles:
        ax.contour(g0, g1, q, levels=radii2, colors=colour, linestyles=ls, linewidths=1.3)
        handles.append(Line2D([], [], color=colour, ls=ls, label=label))
    return handles


def _draw_draws(ax: Axes, posterior_draws: np.ndarray):
    from matplotlib.lines import Line2D

    draws = _as_2d("posterior_draws", posterior_draws)
    if draws.shape[1] != 2:
        raise ValueError(f"'posterior_draws' must have shape (n_draws, 2); got {draws.shape}.")
    ax.scatter(draws[:, 0], draws[:, 1], s=4, color="C3", alpha=0.15, lw=0, zorder=1)
    return Line2D([], [], color="C3", marker="o", ls="none", ms=3, alpha=0.5, label="posterior draws")


def _draw_points(ax: Axes, pic: Any, ridge_coef: np.ndarray | None) -> list:
    """The MAP, the origin, least squares and (if given) the sklearn ridge solution."""
    from matplotlib.lines import Line2D

    handles = []
    ax.plot(*pic.posterior.coef_mean, "*", color="C3", ms=15, mec="k", zorder=4)
    handles.append(Line2D([], [], color="C3", marker="*", ls="none", ms=12, mec="k", label="MAP"))
    ax.plot(0.0, 0.0, "+", color="0.3", ms=10, zorder=3)
    ax.plot(*pic.least_squares, "o", color="C0", ms=6, mfc="none", zorder=3)
    handles.append(Line2D([], [], color="C0", marker="o", ls="none", mfc="none", label="least squares"))
    if ridge_coef is not None:
        rc = np.asarray(ridge_coef, dtype=float).ravel()
        if rc.size != 2:
            raise ValueError(f"'ridge_coef' must have 2 entries; got {rc.size}.")
        ax.plot(*rc, "x", color="k", ms=10, mew=2, zorder=5)
        handles.append(Line2D([], [], color="k", marker="x", ls="none", mew=2, label="sklearn ridge"))
    return handles


def plot_predictive_band(
    x: np.ndarray,
    mean: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    *,
    x_train: np.ndarray | None = None,
    y_train: np.ndarray | None = None,
    curves: dict[str, np.ndarray] | None = None,
    band_label: str = "posterior predictive interval",
    mean_label: str = "posterior predictive mean",
    ax: Axes | None = None,
) -> Axes:
    """A predictive mean with its interval band over one input, the data and other fits.

    Parameters
    ----------
    x : array of shape (n_points,)
        Input values (sorted for drawing).
    mean, lower, upper : arrays of shape (n_points,)
        Predictive mean and interval bounds at ``x``, e.g. from ``est.predict(X, return_std=True)``
        (linear) or from quantiles of predicted probabilities over draws (logistic).
    x_train, y_train : arrays, optional
        Training points to scatter.
    curves : dict of {str: array of shape (n_points,)}, optional
        Other fits to draw as lines, keyed by legend label (e.g. least squares, ridge, the MAP).
    band_label, mean_label : str
        Legend labels of the band and of the mean.
    ax : matplotlib Axes, optional
        Where to draw; a new figure otherwise.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import numpy as np, matplotlib
    >>> matplotlib.use("Agg")
    >>> x = np.linspace(0, 1, 50); mean = np.sin(6 * x)
    >>> ax = plot_predictive_band(x, mean, mean - 0.3, mean + 0.3, curves={"truth": np.sin(6 * x)})
    """
    x = np.asarray(x, dtype=float).ravel()
    arrays = {"mean": mean, "lower": lower, "upper": upper, **(curves or {})}
    values = {}
    for name, arr in arrays.items():
        a = np.asarray(arr, dtype=float).ravel()
        if a.shape != x.shape:
            raise ValueError(f"'{name}' must have the shape of x, {x.shape}; got {a.shape}.")
        values[name] = a
    order = np.argsort(x)
    ax = _axes(ax, (7.0, 4.5))
    ax.fill_between(
        x[order],
        values["lower"][order],
        values["upper"][order],
        color="C0",
        alpha=0.2,
        lw=0,
        label=band_label,
    )
    ax.plot(x[order], values["mean"][order], color="C0", lw=2, label=mean_label)
    for i, name in enumerate(curves or {}):
        ax.plot(x[order], values[name][order], lw=1.4, color=f"C{(i + 1) % 10}", label=name)
    if x_train is not None or y_train is not None:
        if x_train is None or y_train is None:
            raise ValueError("Give both 'x_train' and 'y_train', or neither.")
        ax.scatter(np.ravel(x_train), np.ravel(y_train), s=18, color="k", zorder=5, label="training data")
    ax.legend(loc="best", fontsize="small")
    return ax


def plot_regularization_path(
    tables: Mapping[float, pd.DataFrame],
    *,
    column: str = "map",
    show_hdi: bool = False,
    include_intercept: bool = False,
    ax: Axes | None = None,
) -> Axes:
    """Each coefficient against ``prior_sigma`` (log scale), from the tables of a sweep.

    Small σ is strong regularization (all coefficients near 0); large σ approaches least squares.

    Parameters
    ----------
    tables : mapping of float to pandas.DataFrame
        ``prior_sigma`` -> ``RidgeComparison.table`` of the fit at that σ.
    column : str, default "map"
        The column to draw as lines (``"map"``, ``"ridge"`` or ``"posterior_mean"``).
    show_hdi : bool, default False
        Also draw each interval (columns ``hdi<prob>_low``/``hdi<prob>_high``, e.g.
        ``hdi94_low``) as a band, where the tables have one.
    include_intercept : bool, default False
        Also draw the intercept.
    ax : matplotlib Axes, optional
        Where to draw; a new figure otherwise.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib, pandas as pd
    >>> matplotlib.use("Agg")
    >>> tables = {s: pd.DataFrame({"map": [0.5 * s / (1 + s)]}, index=["x"]) for s in (0.1, 1, 10)}
    >>> ax = plot_regularization_path(tables)
    >>> [line.get_label() for line in ax.get_lines() if not line.get_label().startswith("_")]
    ['x']
    """
    from bayesreg.compare import find_interval_columns

    if len(tables) == 0:
        raise ValueError(
            "plot_regularization_path needs at least one table (prior_sigma -> table); got none."
        )
    sigmas = np.array(sorted(tables))
    first = tables[sigmas[0]]
    validate_params(
        "plot_regularization_path",
        {"column": column, "show_hdi": show_hdi, "include_intercept": include_intercept},
        {"column": one_of(*map(str, first.columns)), "show_hdi": BOOLEAN, "include_intercept": BOOLEAN},
    )
    terms = [t for t in first.index if include_intercept or t != INTERCEPT_LABEL]
    interval = find_interval_columns(first.columns) if show_hdi else None
    ax = _axes(ax, (6.5, 4.5))
    for i, term in enumerate(terms):
        values = np.array([tables[s].loc[term, column] for s in sigmas], dtype=float)
        (line,) = ax.plot(sigmas, values, "o-", ms=3, lw=1.2, color=f"C{i % 10}", label=str(term))
        if interval is not None:
            low = np.array([tables[s].loc[term, interval[0]] for s in sigmas], dtype=float)
            high = np.array([tables[s].loc[term, interval[1]] for s in sigmas], dtype=float)
            if np.isfinite(low).all() and np.isfinite(high).all():
                ax.fill_between(sigmas, low, high, color=line.get_color(), alpha=0.12, lw=0)
    ax.set_xscale("log")
    ax.axhline(0.0, color="0.7", lw=0.8, zorder=0)
    ax.set_xlabel("prior_sigma σ (log scale; larger = weaker penalty)")
    band = f"; bands: {100 * interval[2]:.10g}% HDI" if interval is not None else ""
    ax.set_ylabel(f"coefficient ({column}){band}")
    ax.set_title("Regularization path", fontsize="small")
    if len(terms) <= 15:
        ax.legend(loc="best", fontsize="x-small", ncol=2 if len(terms) > 6 else 1)
    return ax


def plot_path_with_elpd(
    path,
    *,
    column: str = "posterior_mean",
    axes=None,
):
    """Coefficient path (top) and PSIS-LOO elpd ± se with the log evidence (bottom) against σ.

    Points whose PSIS-LOO has Pareto k > 0.7 are drawn as red crosses on the elpd curve; the best σ
    by elpd and by the evidence are marked with vertical lines.

    Parameters
    ----------
    path : RegularizationPath
        The result of :func:`bayesreg.regularization_path`.
    column : str, default "posterior_mean"
        Coefficient column to draw (``"ridge"``, ``"map"`` or ``"posterior_mean"``), with its HDI.
    axes : sequence of two matplotlib Axes, optional
        Where to draw; a new two-panel figure otherwise.

    Returns
    -------
    ndarray of two matplotlib Axes

    Examples
    --------
    >>> import numpy as np, matplotlib
    >>> matplotlib.use("Agg")
    >>> from bayesreg import BayesianLinearRegression, regularization_path
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(30, 2)); y = X @ [1.0, -0.5] + rng.normal(size=30)
    >>> est = BayesianLinearRegression(noise_sigma=1.0, method="exact", draws=200, random_state=0)
    >>> axes = plot_path_with_elpd(regularization_path(est, X, y, [0.1, 1.0, 10.0]))
    """
    validate_params(
        "plot_path_with_elpd", {"column": column}, {"column": one_of("ridge", "map", "posterior_mean")}
    )
    if axes is None:
        import matplotlib.pyplot as plt

        _, axes = plt.subplots(2, 1, figsize=(7.0, 7.0), sharex=True)
    ax_coef, ax_elpd = axes
    plot_regularization_path(path.tables(), column=column, show_hdi=True, ax=ax_coef)
    ax_coef.set_xlabel("")
    summary = path.summary
    sigmas = summary.index.to_numpy(dtype=float)
    elpd = summary["elpd_loo"].to_numpy(dtype=float)
    se = summary["elpd_loo_se"].to_numpy(dtype=float)
    ax_elpd.fill_between(sigmas, elpd - se, elpd + se, color="C0", alpha=0.15, lw=0, label="PSIS-LOO ± se")
    ax_elpd.plot(sigmas, elpd, "o-", ms=3, color="C0", label="PSIS-LOO elpd")
    bad = summary["n_bad_pareto_k"].to_numpy(dtype=float) > 0
    if bad.any():
        ax_elpd.plot(sigmas[bad], elpd[bad], "x", color="C3", ms=8, mew=2, label="Pareto k > 0.7")
    if "elpd_loo_exact" in summary:
        ax_elpd.plot(sigmas, summary["elpd_loo_exact"], "--", color="k", lw=1, label="exact LOO elpd")
    if np.isfinite(elpd).any():
        ax_elpd.axvline(sigmas[np.nanargmax(elpd)], color="C0", ls=":", lw=1)
    evidence = summary["log_evidence"].to_numpy(dtype=float)
    if np.isfinite(evidence).any():
        ax_ev = ax_elpd.twinx()
        ax_ev.plot(sigmas, evidence, "-", color="C2", lw=1.2)
        ax_ev.axvline(sigmas[np.nanargmax(evidence)], color="C2", ls=":", lw=1)
        ax_ev.set_ylabel("log evidence", color="C2")
    ax_elpd.set_xscale("log")
    ax_elpd.set_xlabel("prior_sigma σ (log scale; larger = weaker penalty)")
    ax_elpd.set_ylabel("elpd (leave-one-out)")
    ax_elpd.legend(loc="lower right", fontsize="x-small")
    return np.asarray(axes)


__all__ += ["plot_rank_histograms"]  # appended here, so concurrent additions above stay separate


def plot_rank_histograms(
    ranks,
    n_draws: int | None = None,
    *,
    names: list[str] | None = None,
    n_bins: int = 10,
    band: float = 0.99,
    ax: Axes | None = None,
) -> Axes:
    """Binned simulation-based-calibration ranks, one step line per parameter, over the uniform band.

    The grey band is the central ``band`` interval of one bin's count under uniform ranks
    (``Binomial(n_sims, 1/n_bins)``) and the dashed line its expectation: a calibrated sampler keeps
    about ``band`` of the bins inside it. A U shape means posteriors too narrow, a hump too wide, a
    slope biased.

    Parameters
    ----------
    ranks : SBCResult or array of int, shape (n_sims, n_parameters)
        The result of :func:`bayesreg.stats.calibration.simulation_based_calibration`, or its ranks.
    n_draws : int, optional
        Posterior draws per fit (ranks lie in ``0..n_draws``); taken from an ``SBCResult``.
    names : list of str, optional
        Legend labels; taken from an ``SBCResult``.
    n_bins : int, default 10
        Number of equally likely bins; must divide ``n_draws + 1``.
    band : float, default 0.99
        Probability of the grey band.
    ax : matplotlib Axes, optional
        Where to draw; a new figure otherwise.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import numpy as np, matplotlib
    >>> matplotlib.use("Agg")
    >>> ranks = np.random.default_rng(0).integers(0, 100, size=(200, 2))
    >>> ax = plot_rank_histograms(ranks, n_draws=99, names=["a", "b"])
    >>> ax.get_xlabel()
    'rank of the true value among 99 posterior draws'
    """
    from scipy import stats

    if hasattr(ranks, "ranks"):
        n_draws = ranks.n_draws if n_draws is None else n_draws
        names = ranks.parameter_names if names is None else names
        ranks = ranks.ranks
    ranks = np.atleast_2d(np.asarray(ranks))
    if n_draws is None:
        raise ValueError("n_draws is needed when ranks is a plain array.")
    validate_params(
        "plot_rank_histograms",
        {"n_draws": n_draws, "n_bins": n_bins, "band": band},
        {"n_draws": POSITIVE_INT, "n_bins": POSITIVE_INT, "band": PROBABILITY},
    )
    if (n_draws + 1) % n_bins:
        raise ValueError(f"n_bins={n_bins} must divide n_draws + 1 = {n_draws + 1}.")
    n_sims, n_params = ranks.shape
    names = names or [f"param{i}" for i in range(n_params)]
    width = (n_draws + 1) // n_bins
    edges = np.arange(n_bins + 1) * width - 0.5
    ax = _axes(ax, (5.0, 3.5))
    low, high = stats.binom.interval(band, n_sims, 1.0 / n_bins)
    ax.axhspan(low, high, color="0.85", label=f"{band:.0%} band if uniform")
    ax.axhline(n_sims / n_bins, color="0.4", linestyle="--", linewidth=1)
    for j in range(n_params):
        counts = np.bincount(ranks[:, j] // width, minlength=n_bins)
        ax.stairs(counts, edges, baseline=None, linewidth=1.4, label=names[j])
    ax.set_xlim(edges[0], edges[-1])
    top = max(high, np.max([np.bincount(r // width, minlength=n_bins) for r in ranks.T]))
    ax.set_ylim(0, top * 1.4)  # headroom for the legend
    ax.set_xlabel(f"rank of the true value among {n_draws} posterior draws")
    ax.set_ylabel(f"simulations per bin (of {n_sims})")
    ax.legend(loc="upper center", fontsize="x-small", ncol=min(4, n_params + 1))
    return ax


def plot_regularisation_path(*args, **kwargs) -> Axes:
    """Deprecated spelling of :func:`plot_regularization_path`; it warns and forwards."""
    warn_user(
        "plot_regularisation_path is deprecated; use plot_regularization_path (bayesreg spells "
        "'regularization' with a z everywhere).",
        DeprecationWarning,
    )
    return plot_regularization_path(*args, **kwargs)

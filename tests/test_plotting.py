"""The plotting functions draw what they are given, on a non-interactive backend."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import PathCollection, PolyCollection
from matplotlib.contour import ContourSet
from sklearn.linear_model import Ridge

from bayesreg import BayesianLinearRegression, compare_with_ridge
from bayesreg.plotting import (
    plot_coefficients,
    plot_predictive_band,
    plot_prior_likelihood_posterior_2d,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def two_feature_data():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(25, 2))
    X[:, 1] += 0.6 * X[:, 0]  # correlated features give tilted likelihood ellipses
    y = 0.5 + X @ [1.5, -1.0] + rng.normal(scale=0.8, size=25)
    return X, y


def _legend_labels(ax) -> list[str]:
    legend = ax.get_legend()
    assert legend is not None
    return [t.get_text() for t in legend.get_texts()]


# --- plot_coefficients -------------------------------------------------------------------------


def test_plot_coefficients_rows_are_feature_names(two_feature_data):
    X, y = two_feature_data
    est = BayesianLinearRegression(1.0, noise_sigma=0.8, method="exact", random_state=0).fit(X, y)
    comparison = compare_with_ridge(est, X, y)
    ax = plot_coefficients(comparison)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["x0", "x1"]
    assert ax.get_title() == str(comparison.penalty)
    assert set(_legend_labels(ax)) == {"94% HDI (exact posterior)", "posterior mean", "MAP", "sklearn ridge"}
    ax2 = plot_coefficients(comparison, include_intercept=True)
    assert [t.get_text() for t in ax2.get_yticklabels()] == ["x0", "x1", "(intercept)"]


def test_coefficient_legend_sits_outside_the_axes_with_30_features():
    # 30 rows fill the axes top to bottom: no corner is free, so the legend must be outside.
    rng = np.random.default_rng(3)
    X = rng.normal(size=(120, 30))
    y = X @ rng.normal(scale=2.0, size=30) + rng.normal(size=120)
    est = BayesianLinearRegression(1.0, noise_sigma=1.0, method="exact", draws=50, random_state=0).fit(X, y)
    ax = plot_coefficients(compare_with_ridge(est, X, y))
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legend = ax.get_legend().get_window_extent(renderer)
    axes = ax.get_window_extent(renderer)
    assert legend.x0 >= axes.x1, (legend, axes)  # entirely to the right of the axes
    assert fig.bbox.contains(legend.x1 - 1, legend.y1 - 1)  # and still on the figure


def test_coefficient_plot_of_a_map_fit_draws_the_laplace_interval(two_feature_data):
    from matplotlib.collections import LineCollection

    X, y = two_feature_data
    est = BayesianLinearRegression(1.0, noise_sigma=0.8, method="map").fit(X, y)
    comparison = compare_with_ridge(est, X, y)
    ax = plot_coefficients(comparison)
    assert _legend_labels(ax) == ["94% HDI (Laplace at the MAP)", "MAP", "sklearn ridge"]
    (bars,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    ends = np.array([seg[:, 0] for seg in bars.get_segments()])  # rows drawn top to bottom
    table = comparison.table.drop(index="(intercept)")
    np.testing.assert_allclose(np.sort(ends, axis=1), table[["hdi94_low", "hdi94_high"]].to_numpy())


def test_regularization_path_bands_come_from_the_named_interval_columns():
    import pandas as pd

    from bayesreg.plotting import plot_regularization_path

    tables = {
        s: pd.DataFrame({"map": [s / (1 + s)], "hdi90_low": [-1.0], "hdi90_high": [1.0]}, index=["x"])
        for s in (0.1, 1.0, 10.0)
    }
    ax = plot_regularization_path(tables, show_hdi=True)
    (band,) = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert band.get_paths()[0].vertices[:, 1].min() == pytest.approx(-1.0)
    assert "90% HDI" in ax.get_ylabel()
    assert not [c for c in plot_regularization_path(tables).collections if isinstance(c, PolyCollection)]


# --- plot_prior_likelihood_posterior_2d ---------------------------------------------------------


def test_contour_plot_draws_three_families_and_marks_map_and_ridge(two_feature_data):
    X, y = two_feature_data
    ridge = Ridge(alpha=0.8**2 / 0.7**2).fit(X, y)
    ax = plot_prior_likelihood_posterior_2d(
        X, y, prior_sigma=0.7, noise_sigma=0.8, ridge_coef=ridge.coef_, feature_names=["w1", "w2"]
    )
    contour_sets = [c for c in ax.collections if isinstance(c, ContourSet)]
    assert len(contour_sets) == 3
    # Each family has one contour per requested level.
    assert all(len(c.levels) == 3 for c in contour_sets)
    assert ax.get_xlabel() == "w1" and ax.get_ylabel() == "w2"
    labels = _legend_labels(ax)
    assert labels[:3] == ["prior N(0, 0.7²)", "likelihood", "posterior"]
    assert "MAP" in labels and "sklearn ridge" in labels
    # The MAP star and the ridge cross sit on the same point.
    star = next(line for line in ax.get_lines() if line.get_marker() == "*")
    cross = next(line for line in ax.get_lines() if line.get_marker() == "x")
    np.testing.assert_allclose(star.get_xydata()[0], ridge.coef_, rtol=1e-8)
    np.testing.assert_allclose(cross.get_xydata()[0], ridge.coef_, rtol=0)
    assert "ridge α = σ_n²/σ² = 1.31" in ax.get_title()


def test_contour_plot_overlays_draws_and_ridge_path(two_feature_data):
    X, y = two_feature_data
    draws = np.random.default_rng(0).normal(size=(300, 2))
    sigmas = np.logspace(-2, 2, 15)
    ax = plot_prior_likelihood_posterior_2d(
        X,
        y,
        prior_sigma=1.0,
        noise_sigma=0.8,
        posterior_draws=draws,
        path_sigmas=sigmas,
        levels=(0.9,),
        extent=(-3, 3, -3, 3),
    )
    scatters = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(scatters) == 1 and scatters[0].get_offsets().shape == (300, 2)
    assert all(len(c.levels) == 1 for c in ax.collections if isinstance(c, ContourSet))
    path_line = next(line for line in ax.get_lines() if len(line.get_xdata()) == sigmas.size)
    path = path_line.get_xydata()
    # The path starts near 0 (tight prior) and ends near least squares (loose prior).
    assert np.linalg.norm(path[0]) < 0.05
    ols = Ridge(alpha=1e-12).fit(X, y).coef_
    np.testing.assert_allclose(path[-1], ols, atol=1e-3)
    assert ax.get_xlim() == (-3, 3) and ax.get_ylim() == (-3, 3)
    assert "ridge path (σ varies)" in _legend_labels(ax)


def test_contour_plot_rejects_wrong_shapes(two_feature_data):
    X, y = two_feature_data
    with pytest.raises(ValueError, match="exactly two columns"):
        plot_prior_likelihood_posterior_2d(np.c_[X, X], y, prior_sigma=1.0, noise_sigma=1.0)
    with pytest.raises(ValueError, match="levels"):
        plot_prior_likelihood_posterior_2d(X, y, prior_sigma=1.0, noise_sigma=1.0, levels=(1.5,))


def test_contour_plot_uses_given_axes(two_feature_data):
    X, y = two_feature_data
    _, axes = plt.subplots(1, 2)
    out = plot_prior_likelihood_posterior_2d(X, y, prior_sigma=1.0, noise_sigma=1.0, ax=axes[1])
    assert out is axes[1]
    assert not axes[0].collections


# --- plot_predictive_band -----------------------------------------------------------------------


def test_predictive_band_draws_band_mean_curves_and_data():
    x = np.linspace(0, 1, 40)[::-1]  # unsorted on purpose: the function sorts for drawing
    mean = np.sin(6 * x)
    ax = plot_predictive_band(
        x,
        mean,
        mean - 0.3,
        mean + 0.3,
        x_train=x[::4],
        y_train=mean[::4],
        curves={"least squares": mean + 0.1, "ridge": mean - 0.1},
    )
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    scatters = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(bands) == 1 and len(scatters) == 1
    assert scatters[0].get_offsets().shape == (10, 2)
    assert len(ax.get_lines()) == 3
    mean_line = ax.get_lines()[0]
    assert np.all(np.diff(mean_line.get_xdata()) > 0)
    np.testing.assert_allclose(mean_line.get_ydata(), np.sin(6 * np.sort(x)))
    assert _legend_labels(ax) == [
        "posterior predictive interval",
        "posterior predictive mean",
        "least squares",
        "ridge",
        "training data",
    ]


def test_predictive_band_checks_shapes():
    x = np.linspace(0, 1, 5)
    with pytest.raises(ValueError, match="'upper' must have the shape of x"):
        plot_predictive_band(x, x, x, x[:3])
    with pytest.raises(ValueError, match="both 'x_train' and 'y_train'"):
        plot_predictive_band(x, x, x - 1, x + 1, x_train=x)


def test_keyword_arguments_are_checked_like_estimator_parameters():
    import pandas as pd

    from bayesreg.plotting import plot_path_with_elpd, plot_rank_histograms, plot_regularization_path

    tables = {s: pd.DataFrame({"map": [0.5 * s / (1 + s)]}, index=["x"]) for s in (0.1, 1.0)}
    with pytest.raises(
        ValueError,
        match=r"'column' parameter of plot_regularization_path must be a str among \{'map'\}. Got 'post",
    ):
        plot_regularization_path(tables, column="posterior")
    with pytest.raises(TypeError, match=r"'show_hdi' parameter of plot_regularization_path must be a bool"):
        plot_regularization_path(tables, show_hdi="yes")
    with pytest.raises(ValueError, match="needs at least one table"):
        plot_regularization_path({})
    with pytest.raises(ValueError, match=r"'column' parameter of plot_path_with_elpd must be a str among"):
        plot_path_with_elpd(None, column="mean")
    ranks = np.zeros((10, 1), dtype=int)
    with pytest.raises(
        ValueError,
        match=r"'band' parameter of plot_rank_histograms must be a float in the range \(0, 1\). Got 99",
    ):
        plot_rank_histograms(ranks, n_draws=99, band=99)
    with pytest.raises(
        ValueError,
        match=r"'n_bins' parameter of plot_rank_histograms must be an int in the range \[1, inf\). Got 0",
    ):
        plot_rank_histograms(ranks, n_draws=99, n_bins=0)

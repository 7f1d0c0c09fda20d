"""Progress of long work: sweeps, SBC and chunked reads say how far they are; progressbar=False is silent.

Bars are drawn only where they can be redrawn in place (a terminal, or Jupyter): under pytest stderr
is captured, so the tests that look at a bar give it a console that pretends to be a terminal
(``terminal`` below) and read what it wrote.
"""

from __future__ import annotations

import io

import numpy as np
import pytest

import bayesreg.estimators.progress as progress
from bayesreg import BayesianLinearRegression, compare_prior_scale_choices, regularization_path
from bayesreg.estimators.progress import ProgressBar

RNG = np.random.default_rng(0)
X = RNG.normal(size=(30, 2))
Y = X @ [1.0, -1.0] + RNG.normal(size=30)
SIGMAS = [0.1, 1.0, 10.0]


def exact(**kw) -> BayesianLinearRegression:
    return BayesianLinearRegression(noise_sigma=1.0, method="exact", draws=40, chains=1, random_state=0, **kw)


@pytest.fixture
def terminal(monkeypatch) -> io.StringIO:
    """What the bars write, to a console that is a (wide, colourless) terminal."""
    from rich.console import Console

    out = io.StringIO()
    monkeypatch.setenv("TERM", "xterm")  # not "dumb", whatever the CI's terminal is
    monkeypatch.setattr(
        progress, "_console", lambda: Console(file=out, force_terminal=True, width=120, color_system=None)
    )
    return out


@pytest.fixture
def updates(monkeypatch) -> list[tuple[str, int, int | None, str | None]]:
    """Every (description, done, total, status) a ProgressBar is told, shown or not."""
    seen: list[tuple[str, int, int | None, str | None]] = []
    update = ProgressBar.update

    def spy(self, done, total=None, *, status=None):
        update(self, done, total, status=status)
        seen.append((self.description, self.done, self.total, status))

    monkeypatch.setattr(ProgressBar, "update", spy)
    return seen


# --- the bar ----------------------------------------------------------------------------------------


def test_a_bar_shows_its_description_count_and_status_then_goes(terminal):
    with ProgressBar("work", total=3) as bar:
        assert bar.shown
        for done in (1, 2, 3):
            bar.update(done, status=f"step {done}")
    assert not bar.shown and not progress._SHOWN
    text = terminal.getvalue()
    assert "work" in text and "3/3" in text and "step 3" in text
    assert text.endswith("\x1b[2K")  # transient: the last line is erased


def test_the_callback_form_is_done_and_total(terminal):
    with ProgressBar("sims") as bar:  # no total until the callback gives it
        bar(1, 4)
        bar(4, 4)
    assert (bar.done, bar.total) == (4, 4)
    assert "4/4" in terminal.getvalue()


def test_disabled_bars_write_nothing_but_keep_count(terminal, capfd):
    with ProgressBar("work", total=2, enabled=False) as bar:
        bar(2, 2)
    assert (bar.done, bar.shown) == (2, False)
    assert terminal.getvalue() == ""
    assert capfd.readouterr() == ("", "")


def test_nothing_is_drawn_when_stderr_is_not_a_terminal(capfd):
    # pytest captures stderr: it is not a terminal, so an enabled bar writes nothing at all.
    with ProgressBar("work", total=2) as bar:
        bar(2, 2)
    assert not bar.shown
    assert capfd.readouterr() == ("", "")


def test_a_bar_inside_another_stacks_on_the_same_display(terminal):
    with ProgressBar("outer", total=2) as outer:
        with ProgressBar("inner", total=3) as inner:
            assert inner.shown
            inner(3, 3)
            inner._progress.refresh()  # drawn now, not at the next tick of rich's refresh thread
        outer(2, 2)
    assert not progress._SHOWN
    text = terminal.getvalue()
    assert "inner" in text and "3/3" in text and "2/2" in text


def test_a_failure_inside_removes_the_bar(terminal):
    with pytest.raises(RuntimeError, match="boom"), ProgressBar("work", total=2) as bar:
        bar(1, 2)
        raise RuntimeError("boom")
    assert not bar.shown and not progress._SHOWN


# --- the regularization path ------------------------------------------------------------------------


def test_path_reports_each_sigma(terminal, updates):
    path = regularization_path(exact(), X, Y, SIGMAS, keep_estimators=True)
    assert [(d, t) for name, d, t, _ in updates if name == "regularization path"] == [
        (0, 3),
        (1, 3),
        (2, 3),
        (3, 3),
    ]
    assert "σ=10" in [status for name, _, _, status in updates if name == "regularization path"]
    # On the terminal only the final state is sure to appear: rich redraws ten times a second, and
    # these exact fits take milliseconds, so a per-σ status may be gone before the next redraw.
    text = terminal.getvalue()
    assert "regularization path" in text and "3/3" in text
    # One bar for the sweep: the fits were silent, and keep the template's setting afterwards.
    assert all(est.progressbar is True for est in path.estimators.values())


@pytest.mark.parametrize(
    ("template", "keyword"),
    [(False, None), (True, False), (False, False)],
    ids=["template-off", "keyword-off", "both-off"],
)
def test_path_progressbar_false_is_silent(terminal, capfd, template, keyword):
    path = regularization_path(exact(progressbar=template), X, Y, SIGMAS[:2], progressbar=keyword)
    assert len(path.summary) == 2
    assert terminal.getvalue() == ""
    assert capfd.readouterr().err == ""


def test_path_progressbar_true_overrides_a_silent_template(terminal):
    regularization_path(exact(progressbar=False), X, Y, SIGMAS[:2], progressbar=True)
    assert "2/2" in terminal.getvalue()


def test_path_checks_progressbar():
    message = r"'progressbar' parameter of regularization_path must be None or a bool"
    with pytest.raises(TypeError, match=message):
        regularization_path(exact(), X, Y, SIGMAS, progressbar="yes")


def test_prior_scale_choices_report_every_fit(terminal, updates, capfd):
    compare_prior_scale_choices(X, Y, noise_sigma=1.0, prior_sigmas=SIGMAS, draws=0)
    assert [(d, t) for name, d, t, _ in updates if name == "choosing σ"][-1] == (3, 3)
    assert "choosing σ" in terminal.getvalue()
    terminal.truncate(0)
    compare_prior_scale_choices(X, Y, noise_sigma=1.0, prior_sigmas=SIGMAS, draws=0, progressbar=False)
    assert terminal.getvalue() == ""
    assert capfd.readouterr().err == ""


# --- simulation-based calibration --------------------------------------------------------------------


def _simulate(rng):
    X = rng.normal(size=(10, 1))
    coef = rng.normal(size=1)
    return {"coef": coef}, X, X @ coef + rng.normal(size=10)


def _make_estimator(seed):
    return BayesianLinearRegression(
        1.0, noise_sigma=1.0, fit_intercept=False, method="exact", draws=9, chains=1, random_state=seed
    )


def test_sbc_calls_back_after_each_simulation():
    from bayesreg.stats.calibration import simulation_based_calibration

    seen = []
    result = simulation_based_calibration(
        _make_estimator, _simulate, 4, rng=0, n_draws=9, callback=lambda d, t: seen.append((d, t))
    )
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert result.ranks.shape == (4, 1)


def test_sbc_with_a_progress_bar(terminal):
    from bayesreg.stats.calibration import simulation_based_calibration

    with ProgressBar("SBC") as bar:
        simulation_based_calibration(_make_estimator, _simulate, 3, rng=0, n_draws=9, callback=bar)
    assert "SBC" in terminal.getvalue() and "3/3" in terminal.getvalue()


# --- chunked reads -----------------------------------------------------------------------------------


def _blocks():
    return [(X[i : i + 10], Y[i : i + 10]) for i in range(0, 30, 10)]


@pytest.mark.parametrize("kind", ["list", "iterator"])
def test_a_chunked_fit_reports_blocks_and_rows(terminal, updates, kind):
    blocks = _blocks() if kind == "list" else iter(_blocks())
    exact(compute_log_likelihood=False).fit(blocks)
    reads = [(d, t) for name, d, t, _ in updates if name == "reading blocks"]
    total = 3 if kind == "list" else None  # an iterator's length is not known before it is read
    assert reads == [(1, total), (2, total), (3, total)]
    text = terminal.getvalue()
    assert "reading blocks" in text and "30 rows" in text
    assert ("3/3" if kind == "list" else "3/?") in text


def test_a_chunked_fit_with_progressbar_false_is_silent(terminal, capfd):
    exact(compute_log_likelihood=False, progressbar=False).fit(_blocks())
    assert terminal.getvalue() == ""
    assert capfd.readouterr().err == ""


def test_dask_input_knows_its_number_of_blocks():
    da = pytest.importorskip("dask.array")
    from bayesreg.estimators.chunks import BlockStream

    stream = BlockStream.from_input(da.from_array(X, chunks=(7, 2)), da.from_array(Y, chunks=7))
    assert stream.total_blocks == 5
    with stream.showing_progress(enabled=False):
        assert sum(len(b[1]) for b in stream) == 30
    assert (stream.n_blocks, stream.n_rows) == (5, 30)


# --- the command ---------------------------------------------------------------------------------------


def test_quiet_run_of_a_sweep_prints_nothing_on_stderr(tmp_path, capfd):
    from bayesreg.app.cli import main

    spec = tmp_path / "spec.toml"
    spec.write_text(
        'schema_version = 1\nseed = 0\n[data]\ndataset = "diabetes"\n'
        "[model]\nprior_sigma = [1.0, 10.0]\nnoise_sigma = 54.0\n"
        '[sampler]\nmethod = "map"\n'
    )
    assert main(["run", str(spec), "--out", str(tmp_path / "o"), "--quiet"]) == 0
    assert capfd.readouterr().err == ""

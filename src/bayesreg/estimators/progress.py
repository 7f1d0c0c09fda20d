"""Progress bars for long work: a sweep of fits, simulation-based calibration, a read in chunks.

This is the one module of bayesreg that imports `rich <https://rich.readthedocs.io>`_ (PyMC's own
progress bars use it too). It sits in the estimators layer so that the estimators (a fit on chunked
input), the analysis modules (:func:`bayesreg.regularization_path`) and the command can use it,
while ``stats/`` and ``backend/`` cannot: code below reports progress through a plain callback,
``callback(done, total)``, and a :class:`ProgressBar` is such a callback.

A bar is drawn on stderr, and only where it can be redrawn in place: a terminal, or Jupyter with
``ipywidgets``. It is transient (it disappears when the work is done, leaving the output as it
was), and elsewhere (a file, a pipe, pytest's captured output) nothing at all is written. With
``enabled=False`` (an estimator's ``progressbar=False``) nothing is written anywhere. Bars opened
while another is shown stack under it on the same display instead of fighting over the lines.

Examples
--------
>>> with ProgressBar("simulations", total=3) as bar:
...     for done in range(1, 4):
...         bar(done, 3)  # the callback form: (done, total)
>>> bar.done, bar.total
(3, 3)
"""

from __future__ import annotations

import importlib.util
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

__all__ = ["ProgressBar"]

# The consoles of the bars now shown, outermost first: a bar opened inside another is drawn by
# the same rich Console, which stacks live displays instead of letting them overwrite each other.
_SHOWN: list[Console] = []


def _console() -> Console:
    """A console on stderr (read when written, so a redirected ``sys.stderr`` is followed)."""
    from rich.console import Console

    return Console(stderr=True)


def _can_redraw(console: Console) -> bool:
    """Whether a live bar can be drawn: a terminal, or Jupyter with ipywidgets (rich's widget)."""
    if console.is_jupyter:
        return importlib.util.find_spec("ipywidgets") is not None
    return console.is_terminal and not console.is_dumb_terminal


class ProgressBar:
    """A transient progress bar on stderr, usable as a ``callback(done, total)``.

    Use it as a context manager: the bar is shown on entering (when ``enabled`` and stderr is a
    terminal or Jupyter can show it) and removed on leaving, also when the work fails. Inside,
    report how far the work is by calling it, ``bar(done, total)``, or with :meth:`update`, which
    also takes a short status (``"σ=0.46"``, ``"12,000 rows"``).

    Parameters
    ----------
    description : str
        What is being done, shown before the bar (e.g. ``"regularization path"``).
    total : int or None, default None
        How many steps there are, when known; a bar without a total shows the count only.
    enabled : bool, default True
        False shows nothing, anywhere (the counts are still kept in :attr:`done` and :attr:`total`).

    Attributes
    ----------
    done : int
        Steps reported done so far.
    total : int or None
        The number of steps, when known.

    Examples
    --------
    Simulation-based calibration (which lives in ``bayesreg.stats``, free of display code) takes the
    bar as its callback:

    >>> from bayesreg.stats.calibration import simulation_based_calibration
    >>> with ProgressBar("SBC") as bar:  # doctest: +SKIP
    ...     result = simulation_based_calibration(make_estimator, simulate, 500, rng=0, callback=bar)

    The status text, and no output at all when disabled:

    >>> with ProgressBar("reading blocks", enabled=False) as bar:
    ...     bar.update(2, status="2,000 rows")
    >>> bar.done, bar.shown
    (2, False)
    """

    def __init__(self, description: str, total: int | None = None, *, enabled: bool = True) -> None:
        self.description = description
        self.total = total
        self.enabled = enabled
        self.done = 0
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    @property
    def shown(self) -> bool:
        """Whether the bar is on the screen now."""
        return self._progress is not None

    def __enter__(self) -> ProgressBar:
        if not self.enabled:
            return self
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        console = _SHOWN[-1] if _SHOWN else _console()
        if not _can_redraw(console):
            return self
        progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        self._task = progress.add_task(self.description, total=self.total, completed=self.done, status="")
        progress.start()
        self._progress = progress
        _SHOWN.append(console)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Remove the bar (leaving the ``with`` block does this)."""
        progress, self._progress = self._progress, None
        if progress is not None:
            _SHOWN.pop()
            progress.stop()

    def update(self, done: int, total: int | None = None, *, status: str | None = None) -> None:
        """Report ``done`` steps (of ``total``, when given: it replaces the one known so far).

        ``status`` is a short text shown after the count; None keeps the last one.
        """
        self.done = int(done)
        if total is not None:
            self.total = int(total)
        if self._progress is None or self._task is None:
            return
        if status is None:
            self._progress.update(self._task, completed=self.done, total=self.total)
        else:
            self._progress.update(self._task, completed=self.done, total=self.total, status=status)

    def __call__(self, done: int, total: int | None = None) -> None:
        """The callback form, ``callback(done, total)``: the same as :meth:`update`."""
        self.update(done, total)

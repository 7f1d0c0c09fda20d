"""Run a spec: fit every ``prior_sigma``, compare with ridge, and write files and a report.

Nothing is printed here; progress goes to an optional callback. Output is written into a temporary
sibling of the output folder and renamed into place only when every file has been written, so an
error, a Ctrl-C or a SIGTERM leaves no half-written output and (with ``force=True``) the previous
output is replaced only after the new one is complete, and only if it holds nothing but that
run's files (see :mod:`bayesreg.app.output`).

Files of one fit (at the top of the output folder, or in ``sigma_<σ>/`` for each fit of a sweep):

``posterior.nc``      the posterior, ``xarray.open_datatree("posterior.nc")`` (not for method "map");
                      its root attributes say what it is (spec, prior, penalty, bayesreg version,
                      creation time), so a copied file is not anonymous
``comparison.csv``    :attr:`bayesreg.compare.RidgeComparison.table`
``summary.csv``       ``arviz.summary`` of the posterior (not for method "map")
``coefficients.png``  ridge vs MAP vs posterior mean and HDI
``rank.png``          ArviZ rank plots of the chains (``trace.png`` for one chain; not for "map")

and at the top: ``report.md``, ``spec.toml`` (a copy of the spec), and for a sweep ``sweep.csv``
(all tables, with a ``prior_sigma`` column) and ``regularization_path.png``.

Every interval of a run folder is the same kind, a :data:`HDI_PROB` (94%) highest-density
interval, with its probability in each column name (``hdi94_low``/``hdi94_high`` in comparison.csv,
``hdi94_lb``/``hdi94_ub`` in summary.csv), legend and the report.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bayesreg.app.datasets import Dataset, load_data
from bayesreg.app.output import (
    RUN_MARKER,
    OutputExistsError,
    OutputPathError,
    PartialFolder,
    check_replaceable,
)
from bayesreg.app.records import FitResult, RunResult
from bayesreg.app.spec import Spec, plural

__all__ = [
    "HDI_PROB",
    "RUN_MARKER",
    "FitResult",
    "Interrupted",
    "OutputExistsError",
    "OutputPathError",
    "RunResult",
    "default_out_dir",
    "run_spec",
]

Progress = Callable[[str], None]

HDI_PROB = 0.94
"""Probability of every interval a run writes (comparison.csv, summary.csv, figures, report)."""


class Interrupted(KeyboardInterrupt):
    """A run stopped by a signal: SIGINT (Ctrl-C) or SIGTERM (``timeout``, schedulers, containers).

    A :class:`KeyboardInterrupt`, so code that stops on Ctrl-C (PyMC and nutpie return the draws
    so far) stops on SIGTERM too.

    Parameters
    ----------
    signum : int
        The signal's number.
    """

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.signal_name = signal.Signals(signum).name
        super().__init__(self.signal_name)


def _sigma_folders(sigmas: list[float]) -> list[str]:
    """One folder name per prior_sigma: short (``sigma_0.3``) unless two would collide."""
    names = [f"sigma_{sigma:g}" for sigma in sigmas]
    if len(set(names)) < len(names):
        names = [f"sigma_{sigma!r}" for sigma in sigmas]  # repr round-trips: distinct floats differ
    return names


def _estimator(spec: Spec, sigma: float, progressbar: bool, feature_names: list[str]):
    params = spec.estimator_params(sigma, progressbar=progressbar, feature_names=feature_names)
    if spec.model.kind == "linear":
        from bayesreg.estimators.linear import BayesianLinearRegression

        return BayesianLinearRegression(**params)
    if spec.model.kind == "poisson":
        from bayesreg.estimators.poisson import BayesianPoissonRegression

        return BayesianPoissonRegression(**params)
    from bayesreg.estimators.logistic import BayesianLogisticRegression

    return BayesianLogisticRegression(**params)


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _SignalGuard:
    """SIGINT and SIGTERM raise :class:`Interrupted`, except inside :meth:`deferred` blocks.

    PyMC and nutpie catch a KeyboardInterrupt and return the draws so far: :meth:`check` raises
    for a signal that was swallowed like that. A second signal raises at once.
    """

    def __init__(self) -> None:
        self.hits: list[int] = []
        self._deferring = 0

    def handle(self, signum: int, frame: Any) -> None:
        """The signal handler."""
        self.hits.append(signum)
        if not self._deferring:
            raise Interrupted(signum)

    def check(self) -> None:
        """Raise :class:`Interrupted` if a signal came (and was swallowed)."""
        if self.hits:
            raise Interrupted(self.hits[0])

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        """Record signals without raising: for steps that must not stop halfway (rename, cleanup)."""
        self._deferring += 1
        try:
            yield
        finally:
            self._deferring -= 1


@contextlib.contextmanager
def _interrupts_propagate() -> Iterator[_SignalGuard]:
    """Handle SIGINT and SIGTERM alike while a run is going (main thread only; elsewhere a no-op).

    The handlers that were installed before are restored on exit.
    """
    guard = _SignalGuard()
    if threading.current_thread() is not threading.main_thread():
        yield guard
        return
    previous = {signum: signal.getsignal(signum) for signum in _STOP_SIGNALS}
    for signum in _STOP_SIGNALS:
        signal.signal(signum, guard.handle)
    try:
        yield guard
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)


def _fit_one(spec: Spec, data: Dataset, sigma: float, progressbar: bool):
    """Fit and compare, recording bayesreg's convergence warnings instead of letting them escape."""
    from bayesreg.compare import compare_with_ridge
    from bayesreg.exceptions import ConvergenceWarning

    est = _estimator(spec, sigma, progressbar, [str(c) for c in data.X.columns])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        counts = {} if data.trials is None else {"trials": data.trials.to_numpy()}  # binomial counts
        if data.exposure is not None:  # Poisson counts per unit of exposure
            counts["exposure"] = data.exposure.to_numpy()
        est.fit(data.X, data.y, **counts)
        comparison = compare_with_ridge(est, data.X, data.y, hdi_prob=HDI_PROB, **counts)
    ours = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    for w in caught:
        if w not in ours:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return est, comparison, [str(w.message) for w in ours]


def _posterior_attrs(spec: Spec, data: Dataset, fit: FitResult) -> dict[str, Any]:
    """Root attributes of ``posterior.nc``: what was fitted, to what, by which bayesreg, when.

    netCDF attributes are strings and numbers only (no None, no booleans). Empty for a fit
    without a posterior (method "map").
    """
    from bayesreg._version import __version__
    from bayesreg.app.report import likelihood_text, prior_text, sampler_text

    est, sigma = fit.estimator, fit.prior_sigma
    if est.idata_ is None:
        return {}
    stored = "log_likelihood" in est.idata_.children
    attrs: dict[str, Any] = {
        "title": f"bayesreg posterior: spec {spec.name!r}, prior_sigma = {sigma:g}",
        "bayesreg_version": __version__,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "spec_name": spec.name,
        "spec_file": str(spec.path.resolve()),
        "data": data.description,
        "model_kind": spec.model.kind,
        "likelihood": likelihood_text(spec, est),
        "prior": prior_text(spec, sigma),
        "prior_sigma": float(sigma),
        "penalty": str(fit.comparison.penalty),
        "method": spec.method,
        "sampler": sampler_text(spec),
        "log_likelihood_group": (
            "pointwise log likelihood of each row and draw, for arviz.loo"
            if stored
            else "not stored (compute_log_likelihood = false): arviz.loo cannot use this file"
        ),
        "spec_toml": spec.path.read_text(encoding="utf-8"),
    }
    if spec.seed is not None:
        attrs["seed"] = int(spec.seed)
    if data.source is not None:
        attrs["data_file"] = str(data.source)
        attrs["data_sha256"] = str(data.source_sha256)
    return attrs


# Under every rank plot: what the lines are, and that the verdict comes from elsewhere.
_RANK_CAPTION = (
    "Rank plots of the {chains} chains: each line is one chain's ECDF of fractional ranks minus the "
    "uniform one;\nchains that sample the same posterior stay near 0 with no shared trend. "
    "Marked points (if any): where ArviZ's\nmulti-chain rank test flags a chain at the 1% level. "
    "The convergence verdict (r_hat, ESS, divergences) is in report.md."
)


def _chain_figure(idata) -> tuple[str, Any]:
    """``("rank.png", figure)`` of ArviZ rank plots, or ``("trace.png", figure)`` for one chain.

    ArviZ writes "p=1.00(α=0.01)" into every rank panel, which alarms readers of a converged fit
    and explains nothing; those texts are removed and a caption says what the lines and any marked
    points (ArviZ's multi-chain test flags, kept) mean.
    """
    import arviz_plots as azp
    import numpy as np

    post = idata["posterior"]
    var_names = [v for v in ("coef", "intercept", "noise_sigma") if v in post]
    n_panels = sum(int(np.prod([post[v].sizes[d] for d in post[v].dims[2:]])) for v in var_names)
    rows = -(-n_panels // 4)  # both plots wrap panels into 4 columns
    chains = post.sizes["chain"]
    name, plot = ("rank.png", azp.plot_rank) if chains >= 2 else ("trace.png", azp.plot_trace)
    pc = plot(
        idata,
        var_names=var_names,
        figure_kwargs={"figsize": (12, max(2.7 * rows, 3.0) + 0.5), "layout": "constrained"},
    )
    figure = pc.viz["figure"].item()
    if name == "rank.png":
        for ax in figure.axes:
            for text in list(ax.texts):
                text.remove()
        figure.suptitle(_RANK_CAPTION.format(chains=chains), fontsize="medium")
    return name, figure


def _write_fit_files(fit: FitResult, folder: Path, attrs: dict[str, Any]) -> None:
    """posterior.nc (with root ``attrs``), comparison.csv, summary.csv, coefficients.png, rank.png.

    Fills ``fit.files`` and the sizes ``fit.posterior_bytes``, ``fit.log_likelihood_bytes``.
    """
    from matplotlib.figure import Figure

    from bayesreg.plotting import plot_coefficients

    est, comparison = fit.estimator, fit.comparison
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    comparison.table.to_csv(folder / "comparison.csv")
    written.append("comparison.csv")

    n_rows = len(comparison.table)
    fig = Figure(figsize=(9.0, 0.45 * n_rows + 1.8), layout="constrained")
    plot_coefficients(comparison, ax=fig.subplots())
    fig.savefig(folder / "coefficients.png", dpi=110)
    written.append("coefficients.png")

    if est.idata_ is not None:
        import arviz_stats as azs
        import matplotlib.pyplot as plt

        tree = est.idata_.copy(deep=False)  # the estimator's own tree keeps its attributes
        tree.attrs = attrs
        tree.to_netcdf(folder / "posterior.nc")
        written.append("posterior.nc")
        fit.posterior_bytes = (folder / "posterior.nc").stat().st_size
        if "log_likelihood" in tree.children:
            fit.log_likelihood_bytes = int(tree["log_likelihood"].to_dataset().nbytes)
        summary = azs.summary(est.idata_, ci_kind="hdi", ci_prob=HDI_PROB, round_to="none")
        summary.to_csv(folder / "summary.csv")
        written.append("summary.csv")
        name, figure = _chain_figure(est.idata_)
        figure.savefig(folder / name, dpi=80)
        plt.close(figure)
        written.append(name)
    fit.files = written


def run_spec(
    spec: Spec,
    out_dir: str | Path,
    *,
    force: bool = False,
    progressbar: bool = True,
    progress: Progress | None = None,
) -> RunResult:
    """Fit the spec's model(s), compare each with ridge, and write files and ``report.md``.

    Parameters
    ----------
    spec : Spec
        A parsed spec (see :func:`bayesreg.app.spec.load_spec`).
    out_dir : str or pathlib.Path
        The output folder; it must not exist unless ``force`` is True.
    force : bool, default False
        Replace an existing output folder (only once the new run has been written), provided it
        is empty or holds an earlier run (its ``.bayesreg-run`` marker) and nothing else: a file
        added to it or changed since is named and the replacement refused, so ``--force`` never
        deletes a user's files.
    progressbar : bool, default True
        Show the sampler's progress bar.
    progress : callable, optional
        Called with one line of text at each step (loading, each fit of a sweep, writing).

    Returns
    -------
    RunResult
        ``exit_code`` is 0 when everything converged and agrees with ridge, else 1; the files
        are written either way.

    Raises
    ------
    OutputExistsError
        ``out_dir`` exists and ``force`` is False, or it holds files the earlier run did not
        write (they are named); checked before any fitting and again before replacing it.
    OutputPathError
        ``out_dir`` cannot be created: a file is in the way, or its parent folder is not writable.
    SpecError
        The data does not fit the spec.
    Interrupted
        A SIGINT (Ctrl-C) or SIGTERM stopped the run (in the main thread); nothing was written.

    Examples
    --------
    >>> from bayesreg.app.spec import load_spec
    >>> result = run_spec(load_spec("models/diabetes_known_noise.toml"), "runs/diabetes")  # doctest: +SKIP
    >>> result.exit_code, result.report  # doctest: +SKIP
    (0, PosixPath('runs/diabetes/report.md'))
    """
    say = progress or (lambda message: None)
    out_dir = Path(out_dir)
    with _interrupts_propagate() as guard:
        check_replaceable(out_dir, force)
        data = load_data(spec)  # before any progress line: a data error is then the only output
        say(f"data: {data.description}")
        # A hidden sibling (same file system, so the final rename is atomic).
        partial = PartialFolder(out_dir)
        with guard.deferred():
            tmp = partial.create()
        try:
            guard.check()  # a signal while the folder was created
            result = _fit_and_write(spec, data, tmp, out_dir, guard, progressbar, say)
            say(f"writing {out_dir}")
            guard.check()
            with guard.deferred():  # a signal now is noted; the output is complete either way
                partial.commit(force)
        except BaseException as exc:
            with guard.deferred():
                partial.discard()
            if guard.hits and not isinstance(exc, Interrupted):
                # e.g. a compiler child process killed by the same Ctrl-C: the signal is the cause
                raise Interrupted(guard.hits[0]) from exc
            raise
    return result


def _fit_settings(spec: Spec) -> str:
    """``"mcmc, 4 chains x 1000 draws (1000 tune)"``, ``"exact"``, ``"map"``."""
    if spec.method != "mcmc":
        return spec.method
    return f"mcmc, {plural(spec.chains, 'chain')} x {plural(spec.draws, 'draw')} ({spec.tune} tune)"


def _fit_and_write(
    spec: Spec,
    data: Dataset,
    tmp: Path,
    out_dir: Path,
    guard: _SignalGuard,
    progressbar: bool,
    say: Progress,
) -> RunResult:
    """Fit every ``prior_sigma`` and write all files into ``tmp``; a signal stops it between steps."""
    from bayesreg.app.report import write_report

    fits = []
    sigmas = spec.model.prior_sigma
    folders = _sigma_folders(list(sigmas)) if spec.is_sweep else [""] * len(sigmas)
    for i, (sigma, folder) in enumerate(zip(sigmas, folders, strict=True), start=1):
        step = f"[{i}/{len(sigmas)}] prior_sigma={sigma:g}"
        say(f"{step}: fitting {spec.model.kind} model ({_fit_settings(spec)})")
        start = time.perf_counter()
        est, comparison, caught = _fit_one(spec, data, sigma, progressbar)
        guard.check()  # the sampler may have caught the signal and returned early
        seconds = time.perf_counter() - start
        fit = FitResult(sigma, folder, comparison, est, caught, seconds=seconds)
        _write_fit_files(fit, tmp / folder, _posterior_attrs(spec, data, fit))
        fits.append(fit)
        state = "converged" if fit.converged else "NOT CONVERGED"
        agree = "agrees with ridge" if fit.agrees else "does NOT agree with ridge"
        gap = f"max |MAP - ridge| = {comparison.max_abs_diff_map:.2g}"
        say(f"{step}: {state}, {agree}, {gap} ({seconds:.1f} s)")

    result = RunResult(
        spec=spec,
        out_dir=out_dir,
        fits=fits,
        data_description=data.description,
        data_file=data.source,
        data_sha256=data.source_sha256,
    )
    if spec.is_sweep:
        _write_sweep_files(fits, tmp)
    shutil.copyfile(spec.path, tmp / "spec.toml")
    write_report(result, tmp / "report.md")
    return result


def _write_sweep_files(fits: list[FitResult], folder: Path) -> None:
    import pandas as pd
    from matplotlib.figure import Figure

    from bayesreg.plotting import plot_regularization_path

    tables = {f.prior_sigma: f.comparison.table for f in fits}
    long = pd.concat(
        [t.assign(prior_sigma=s).reset_index().set_index(["prior_sigma", "term"]) for s, t in tables.items()]
    )
    long.to_csv(folder / "sweep.csv")
    fig = Figure(figsize=(7.5, 5.0), layout="constrained")
    plot_regularization_path(tables, column="map", ax=fig.subplots())
    fig.savefig(folder / "regularization_path.png", dpi=110)


def default_out_dir(spec: Spec) -> Path:
    """``runs/<spec name>`` under the current folder.

    Examples
    --------
    >>> from bayesreg.app.spec import parse_spec
    >>> default_out_dir(parse_spec({"schema_version": 1, "data": {"dataset": "diabetes"}}, "m/a.toml"))
    PosixPath('runs/a')
    """
    return Path("runs") / spec.name

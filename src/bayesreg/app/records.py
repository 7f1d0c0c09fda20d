"""What a run produced: one record per fit and one for the run, read by the runner and the report.

They live apart from :mod:`~bayesreg.app.runner` so that the report can read them without
importing the runner (which imports the report to write it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bayesreg.app.exit_codes import EXIT_NOT_CONVERGED, EXIT_OK
from bayesreg.app.spec import Spec

__all__ = ["FitResult", "RunResult"]


@dataclass
class FitResult:
    """One fit of a run (one ``prior_sigma``).

    Attributes
    ----------
    prior_sigma : float
    folder : str
        Where its files are, relative to the output folder ("" for a single fit).
    comparison : RidgeComparison
    estimator : BayesianLinearRegression or BayesianLogisticRegression
        The fitted estimator.
    warnings : list of str
        Convergence warnings raised while fitting.
    files : list of str
        Files written, relative to the output folder.
    seconds : float
        Wall time of the fit.
    posterior_bytes : int or None
        Size of ``posterior.nc`` (None when there is none, for method "map").
    log_likelihood_bytes : int or None
        Size of its pointwise ``log_likelihood`` group (one number per draw and row); None when
        it was not stored (``compute_log_likelihood = false``) or there is no posterior.
    """

    prior_sigma: float
    folder: str
    comparison: Any
    estimator: Any
    warnings: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    seconds: float = 0.0
    posterior_bytes: int | None = None
    log_likelihood_bytes: int | None = None

    @property
    def converged(self) -> bool:
        """The MAP optimizer and (if any) the sampler passed their convergence checks."""
        conv = self.comparison.convergence
        return bool(self.estimator.map_converged_) and (conv is None or conv.converged)

    @property
    def agrees(self) -> bool:
        """The comparison's verdict (:attr:`RidgeComparison.agrees`)."""
        return bool(self.comparison.agrees)


@dataclass
class RunResult:
    """What :func:`run_spec` did.

    Attributes
    ----------
    spec : Spec
    out_dir : pathlib.Path
        The output folder (complete, in place).
    fits : list of FitResult
    data_description : str
    data_file : pathlib.Path or None
        The CSV file that was read, resolved (None for a bundled or generated data set).
    data_sha256 : str or None
        Its SHA-256 as it was read.
    """

    spec: Spec
    out_dir: Path
    fits: list[FitResult]
    data_description: str
    data_file: Path | None = None
    data_sha256: str | None = None

    @property
    def converged(self) -> bool:
        """Every fit converged."""
        return all(f.converged for f in self.fits)

    @property
    def agrees(self) -> bool:
        """Every fit agrees with its ridge twin."""
        return all(f.agrees for f in self.fits)

    @property
    def exit_code(self) -> int:
        """0 when every fit converged and agrees with ridge, else 1."""
        return EXIT_OK if self.converged and self.agrees else EXIT_NOT_CONVERGED

    @property
    def report(self) -> Path:
        """Path of ``report.md``."""
        return self.out_dir / "report.md"

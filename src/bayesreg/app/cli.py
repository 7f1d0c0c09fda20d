"""The ``bayesreg`` command: run, validate and list model specs.

``bayesreg run SPEC`` fits the model(s) a spec describes and writes a report folder;
``bayesreg validate SPEC`` checks a spec and its data without fitting; ``bayesreg list`` shows the
specs under ``models/``. Only the standard library and :mod:`bayesreg.app.spec` are imported up front,
so ``--help`` is instant; PyMC loads when a fit starts.

Exit codes
----------
0  the run converged and every MAP agrees with its sklearn twin (or: the spec is valid)
1  the report was written, but a fit did not converge or did not agree with ridge
2  bad spec, bad data, bad usage (e.g. an output path that cannot be created), or the output
   folder exists (without ``--force``, or with files in it that the earlier run did not write)
3  the run failed with an unexpected error; nothing was written
130  interrupted (Ctrl-C or SIGTERM); nothing was written
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from bayesreg.app.exit_codes import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
)
from bayesreg.app.spec import SpecError, load_spec, plural

__all__ = ["entry", "main"]


_EPILOG = """\
exit codes: 0 ok; 1 report written but not converged / MAP not equal to ridge;
2 bad spec, data or usage (or output exists without --force); 3 unexpected failure;
130 interrupted (Ctrl-C or SIGTERM).
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bayesreg",
        description="Fit Bayesian linear/logistic regression from a TOML spec and compare it with ridge.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{run,validate,list}")

    run = sub.add_parser(
        "run",
        help="fit a spec and write posterior, tables, figures and report.md",
        description="Fit the model(s) of SPEC, compare with sklearn ridge, and write an output folder.",
        epilog=_EPILOG,
    )
    run.add_argument("spec", metavar="SPEC", help="a TOML spec, e.g. models/diabetes_known_noise.toml")
    run.add_argument("--out", metavar="DIR", type=Path, help="output folder (default: runs/<spec name>)")
    run.add_argument("--seed", type=int, metavar="N", help="override the spec's seed")
    run.add_argument(
        "--force",
        action="store_true",
        help="replace DIR if it holds an earlier run and nothing else (after the run succeeds)",
    )
    run.add_argument(
        "--clean-partial",
        action="store_true",
        help="remove the unfinished .DIR.partial-* folders that killed runs left beside DIR",
    )
    run.add_argument("--draws", type=int, metavar="N", help="override sampler.draws (e.g. quick checks)")
    run.add_argument("--tune", type=int, metavar="N", help="override sampler.tune")
    run.add_argument("--chains", type=int, metavar="N", help="override sampler.chains")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress lines or progress bars")
    run.add_argument("--debug", action="store_true", help="show a traceback on unexpected errors")

    validate = sub.add_parser(
        "validate",
        help="check specs and their data without fitting",
        description="Check each SPEC (schema, types, files, columns, target) without fitting.",
    )
    validate.add_argument("specs", nargs="+", metavar="SPEC")

    lister = sub.add_parser(
        "list",
        help="list the specs in a folder, one line each",
        description=(
            "List the specs (TOML files with schema_version or a [data]/[model]/[sampler] table) in "
            "a folder and its subfolders, skipping hidden folders, virtual environments and the "
            "output folders of `bayesreg run`."
        ),
    )
    lister.add_argument("--dir", type=Path, default=Path("models"), help="folder of specs (default: models)")
    return parser


def _version() -> str:
    from bayesreg._version import __version__

    return __version__


def _error(message: str) -> None:
    print(f"bayesreg: error: {message}", file=sys.stderr)


def _cmd_validate(args: argparse.Namespace) -> int:
    from bayesreg.app.datasets import load_data

    status = EXIT_OK
    for path in args.specs:
        try:
            spec = load_spec(path)
            data = load_data(spec)
        except SpecError as exc:
            _error(f"{path}: {exc}")
            status = EXIT_USAGE
            continue
        what = f"{spec.model.kind}, {spec.method}, {plural(len(spec.model.prior_sigma), 'fit')}"
        print(f"{path}: ok ({what}; {spec.describe_data(len(data.y), data.X.shape[1], data.target)})")
    return status


# The top-level keys and tables of a spec: a TOML file without any of them is some other file.
_SPEC_MARKERS = ("schema_version", "data", "model", "sampler", "preprocessing")
_SPEC_LINE = re.compile(rf"^\s*(\[\s*({'|'.join(_SPEC_MARKERS)})\s*[.\]]|schema_version\s*=)", re.MULTILINE)
# Written into every output folder of `bayesreg run` (bayesreg.app.output.RUN_MARKER, not imported
# here to keep `list` fast): the spec.toml in there is a record of a run, not a spec to list.
_RUN_MARKER = ".bayesreg-run"


def _skip_folder(folder: Path) -> bool:
    """Hidden folders, virtual environments (pyvenv.cfg, conda-meta) and run output folders."""
    if folder.name.startswith(".") or folder.name in ("__pycache__", "node_modules"):
        return True
    return any((folder / marker).exists() for marker in ("pyvenv.cfg", "conda-meta", _RUN_MARKER))


def _looks_like_spec(path: Path) -> bool:
    """A TOML file with a spec's top-level keys or tables (it may still be an invalid spec).

    A file that is not valid TOML counts when one of its lines looks like a spec's, so a broken
    spec is listed as INVALID rather than silently left out.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return _SPEC_LINE.search(text) is not None
    return any(key in raw for key in _SPEC_MARKERS)


def _find_specs(folder: Path) -> list[Path]:
    """The spec files under ``folder``, sorted; see :func:`_skip_folder` for what is not searched."""
    found = []
    for root, dirs, files in os.walk(folder):
        here = Path(root)
        dirs[:] = sorted(d for d in dirs if not _skip_folder(here / d))
        found += [here / f for f in files if f.endswith(".toml") and not f.startswith(".")]
    return sorted(p for p in found if _looks_like_spec(p))


def _cmd_list(args: argparse.Namespace) -> int:
    folder: Path = args.dir
    if not folder.is_dir():
        _error(f"no folder {folder}; pass --dir DIR")
        return EXIT_USAGE
    paths = _find_specs(folder)
    if not paths:
        print(f"no specs (*.toml files with schema_version or a [data]/[model]/[sampler] table) in {folder}")
        return EXIT_OK
    width = max(len(str(p)) for p in paths)
    for path in paths:
        try:
            spec = load_spec(path)
        except SpecError as exc:
            print(f"{path!s:<{width}}  INVALID: {exc}")
            continue
        sigmas = spec.model.prior_sigma
        sweep = f"sweep of {len(sigmas)} prior_sigma" if spec.is_sweep else f"prior_sigma={sigmas[0]:g}"
        what = f"{spec.model.kind}/{spec.method}, {sweep}"
        print(f"{path!s:<{width}}  {what:<34}  {spec.description or spec.data.label}")
    return EXIT_OK


def _warn(message: str) -> None:
    print(f"bayesreg: warning: {message}", file=sys.stderr)


def _report_leftovers(out: Path, *, clean: bool) -> None:
    """Warn about (or, with ``clean``, remove) what killed runs left beside ``out``."""
    from bayesreg.app.output import find_leftovers, remove_leftovers

    partial, old = find_leftovers(out)
    removed = remove_leftovers(partial) if clean else []
    if removed:
        what = plural(len(removed), "unfinished output folder")
        print(f"bayesreg: removed {what} of killed runs: {', '.join(map(str, removed))}", file=sys.stderr)
    kept = [p for p in partial if p not in removed]
    if kept:
        what = plural(len(kept), "unfinished output folder")
        hint = "could not remove them" if clean else "--clean-partial removes them"
        _warn(f"{what} of {out} left by killed runs: {', '.join(map(str, kept))}; {hint}")
    for folder in old:
        if out.exists():
            _warn(f"{folder} is an earlier output of {out} that a killed run left; delete it if not needed")
        else:
            _warn(
                f"{folder} is the last complete output of {out}, moved aside by a killed run: "
                f"rename it to {out}"
            )


def _cmd_run(args: argparse.Namespace) -> int:
    try:
        spec = load_spec(args.spec).with_overrides(
            seed=args.seed, draws=args.draws, tune=args.tune, chains=args.chains
        )
    except SpecError as exc:
        _error(f"{args.spec}: {exc}")
        return EXIT_USAGE

    # Figures are written to files; never open windows.
    os.environ.setdefault("MPLBACKEND", "Agg")
    if args.quiet:
        # Importing pymc resets the "pymc" logger to INFO, but not the level of this child logger.
        logging.getLogger("pymc.sampling.mcmc").setLevel(logging.WARNING)
    from bayesreg.app.runner import OutputPathError, default_out_dir, run_spec

    out = args.out if args.out is not None else default_out_dir(spec)
    _report_leftovers(out, clean=args.clean_partial)

    def progress(message: str) -> None:
        if not args.quiet:
            print(f"bayesreg: {message}", file=sys.stderr, flush=True)

    try:
        result = run_spec(spec, out, force=args.force, progressbar=not args.quiet, progress=progress)
    except SpecError as exc:
        _error(f"{args.spec}: {exc}")
        return EXIT_USAGE
    except OutputPathError as exc:
        _error(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt as exc:
        how = getattr(exc, "signal_name", "SIGINT")
        _error(f"interrupted by {'Ctrl-C' if how == 'SIGINT' else how}; nothing was written")
        return EXIT_INTERRUPTED
    except Exception as exc:
        if args.debug:
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        _error(f"run failed, nothing was written: {type(exc).__name__}: {first} (rerun with --debug)")
        return EXIT_FAILED

    if result.exit_code == EXIT_OK:
        verdict = "converged; MAP = ridge"
    elif not result.converged:
        verdict = "NOT CONVERGED (see the top of the report)"
    else:
        verdict = "does NOT agree with ridge (see the report)"
    print(f"{result.report}  [{verdict}]")
    return result.exit_code


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``bayesreg`` command with ``argv`` (default: ``sys.argv[1:]``); return the exit code.

    Examples
    --------
    >>> main(["validate", "no/such.toml"])  # doctest: +SKIP
    bayesreg: error: no/such.toml: spec file not found: no/such.toml
    2
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors
        return int(exc.code or 0) if not isinstance(exc.code, str) else EXIT_USAGE
    command = {"run": _cmd_run, "validate": _cmd_validate, "list": _cmd_list}[args.command]
    return command(args)


def entry(argv: Sequence[str] | None = None) -> NoReturn:
    """The ``bayesreg`` command (its console script): run :func:`main`, then exit with its code.

    After an interrupt (exit code 130, the run already cleaned up and said so) the process ends at
    once, without the interpreter's teardown: a native thread of the interrupted sampler could
    still be running then, and the teardown crashed under it (SIGSEGV in a thread with no Python
    frame, about one interrupted run in ten on a loaded machine, seen with faulthandler). stdout
    and stderr are flushed first; the run has nothing else to write.
    """
    code = main(argv)
    if code == EXIT_INTERRUPTED:
        sys.stdout.flush()
        sys.stderr.flush()
        logging.shutdown()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    entry()

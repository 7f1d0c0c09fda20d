"""The ``bayesreg`` command, in-process through ``main(argv)`` and once as the installed script.

Every spec in models/ is run with small draws (``--draws/--tune/--chains``); the assertions check
real values (MAP = ridge in the written CSV, exit codes against the report's verdict, messages).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import os
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from bayesreg.app.cli import main

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "models"
MODEL_SPECS = sorted(MODELS.glob("*.toml"))
DRAWS, CHAINS = 500, 2
QUICK = ["--draws", str(DRAWS), "--tune", "200", "--chains", str(CHAINS), "--quiet"]
# The shipped specs run at settings where r_hat <= 1.01 holds with a margin (2 chains x 500
# draws gave r_hat 1.010-1.015 on well-mixed chains of three specs: false alarms, not trouble).
SPEC_DRAWS, SPEC_CHAINS = 1000, 4
SPEC_RUN = ["--draws", str(SPEC_DRAWS), "--tune", "500", "--chains", str(SPEC_CHAINS), "--quiet"]


def bayesreg_script() -> str:
    """The installed console script next to this interpreter (else on PATH)."""
    here = Path(sys.executable).with_name("bayesreg")
    if here.exists():
        return str(here)
    found = shutil.which("bayesreg")
    if found is None:
        pytest.fail("the bayesreg console script is not installed: pip install -e .")
    return found


def write_spec(folder: Path, body: str, name: str = "spec.toml") -> Path:
    path = folder / name
    path.write_text("schema_version = 1\nseed = 0\n" + body)
    return path


# Fast specs (no sampler): MAP only, or the closed-form posterior.
MAP_SPEC = """\
[data]
dataset = "diabetes"
[model]
prior_sigma = 10.0
noise_sigma = 54.0
[sampler]
method = "map"
"""
EXACT_SPEC = MAP_SPEC.replace('method = "map"', 'method = "exact"\ndraws = 100\nchains = 2')


def assert_map_equals_ridge(csv: Path) -> pd.DataFrame:
    table = pd.read_csv(csv, index_col="term")
    scale = max(1.0, float(table["ridge"].abs().max()))
    np.testing.assert_allclose(table["map"], table["ridge"], rtol=0, atol=1e-6 * scale)
    return table


def banner(report: Path) -> str:
    return report.read_text().split("\n")[2]


# --- help, list, validate --------------------------------------------------------------------------


def test_help_does_not_import_pymc():
    code = (
        "import sys\nfrom bayesreg.app.cli import main\nrc = main(['run', '--help'])\n"
        "assert 'pymc' not in sys.modules and 'arviz' not in sys.modules, 'heavy import'\nsys.exit(rc)"
    )
    # The timeout is a bound for a loaded machine, not a speed claim (60 s was within its reach).
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "--force" in proc.stdout and "exit codes" in proc.stdout


def test_list_prints_one_line_per_spec(capsys):
    assert main(["list", "--dir", str(MODELS)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(MODEL_SPECS) >= 5
    assert any("sweep of 4 prior_sigma" in line for line in lines)
    assert not any("INVALID" in line for line in lines)


def test_list_flags_an_invalid_spec(tmp_path, capsys):
    write_spec(tmp_path, MAP_SPEC, "good.toml")
    write_spec(tmp_path, MAP_SPEC.replace("prior_sigma", "prior_sigm"), "bad.toml")
    assert main(["list", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2
    assert "bad.toml" in out[0] and "INVALID: unknown key 'prior_sigm'" in out[0]
    assert "good.toml" in out[1] and "linear/map" in out[1]


def test_list_skips_hidden_folders_venvs_run_folders_and_other_toml_files(tmp_path, capsys):
    write_spec(tmp_path, MAP_SPEC, "good.toml")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n[tool.ruff]\nline-length = 99\n')
    (tmp_path / "broken.toml").write_text('schema_version = 1\n[data]\ndataset = "diabetes\n')  # bad TOML
    venv = tmp_path / "env" / "lib" / "site-packages" / "pandas"
    venv.mkdir(parents=True)
    (tmp_path / "env" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    write_spec(venv, MAP_SPEC, "pyproject.toml")  # even a spec-like file is not searched for there
    hidden = tmp_path / ".cache"
    hidden.mkdir()
    write_spec(hidden, MAP_SPEC, "cached.toml")
    run = tmp_path / "runs" / "good"
    run.mkdir(parents=True)
    (run / ".bayesreg-run").write_text("")
    write_spec(run, MAP_SPEC, "spec.toml")  # a record of a run, not a spec to run
    sub = tmp_path / "more"
    sub.mkdir()
    write_spec(sub, MAP_SPEC.replace("10.0", "[1.0, 2.0]"), "sweep.toml")

    assert main(["list", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    listed = [line.split()[0] for line in out]
    assert listed == [str(tmp_path / name) for name in ("broken.toml", "good.toml", "more/sweep.toml")]
    assert "INVALID" in out[0] and "not valid TOML" in out[0]
    assert "sweep of 2 prior_sigma" in out[2]


def test_list_says_when_a_folder_has_no_specs(tmp_path, capsys):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert main(["list", "--dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith("no specs (*.toml files with schema_version")


def test_validate_pluralises_counts(tmp_path, capsys):
    (tmp_path / "d.csv").write_text("a,y\n1,2\n2,3\n4,4\n")
    spec = write_spec(tmp_path, '[data]\ncsv = "d.csv"\ntarget = "y"\n')
    assert main(["validate", str(spec)]) == 0
    out = capsys.readouterr().out
    assert out == (
        f"{spec}: ok (linear, mcmc, 1 fit; CSV file 'd.csv': 3 rows, 1 feature, target 'y' "
        "(each feature standardised to mean 0, sd 1))\n"
    )


def test_validate_all_models(capsys):
    assert main(["validate", *map(str, MODEL_SPECS)]) == 0
    assert capsys.readouterr().out.count(": ok (") == len(MODEL_SPECS)


BAD_SPECS = {
    "unknown key": (
        MAP_SPEC.replace("noise_sigma", "noise_sgima"),
        "unknown key 'noise_sgima' in [model] (did you mean 'noise_sigma'?)",
    ),
    "wrong type": (MAP_SPEC.replace("10.0", '"ten"'), "model.prior_sigma must be a number > 0, got a string"),
    "missing csv": (
        '[data]\ncsv = "gone.csv"\ntarget = "y"\n',
        "data.csv file not found",
    ),
    "missing target column": (
        '[data]\ncsv = "d.csv"\ntarget = "price"\n',
        "data.target column 'price' is not in d.csv",
    ),
    "logistic on non-binary": (
        '[data]\ndataset = "diabetes"\n[model]\nkind = "logistic"\n',
        "model.kind = 'logistic' needs a binary target",
    ),
}


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize("case", list(BAD_SPECS))
def test_bad_spec_gives_one_line_and_exit_2(tmp_path, capsys, case, command):
    (tmp_path / "d.csv").write_text("a,y\n1,2\n2,3\n")
    body, message = BAD_SPECS[case]
    spec = write_spec(tmp_path, body)
    out = tmp_path / "out"
    argv = [command, str(spec)] + (["--out", str(out)] if command == "run" else [])
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith(f"bayesreg: error: {spec}: ")
    assert message in err
    assert "Traceback" not in err
    assert not out.exists()


# Data that `validate` passed and `run` then failed on with exit 3, or that got a wrong cause (issue 16).
DATA_PROBLEMS = {
    "inf in a feature": (
        "a,y\n1,2\ninf,3\n2,4\n",
        "[preprocessing]\nstandardize = false\n",
        "the data has infinite values (inf, or numbers beyond the float64 range such as 1e400) in "
        "columns ['a']; drop or fix those rows first",
    ),
    "inf in the target": (
        "a,y\n1,2\n3,inf\n2,4\n",
        "",
        "the data has infinite values (inf, or numbers beyond the float64 range such as 1e400) in "
        "columns ['y']; drop or fix those rows first",
    ),
    "header only": ("a,y\n", "", "data.csv {csv} has a header (a, y) but no data rows"),
}


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize("case", list(DATA_PROBLEMS))
def test_data_problems_stop_validate_and_run_alike(tmp_path, capsys, case, command):
    csv_text, extra, message = DATA_PROBLEMS[case]
    csv = tmp_path / "d.csv"
    csv.write_text(csv_text)
    model = '[model]\nnoise_sigma = 1.0\n[sampler]\nmethod = "map"\n'
    spec = write_spec(tmp_path, f'[data]\ncsv = "d.csv"\ntarget = "y"\n{model}{extra}')
    out = tmp_path / "out"
    argv = [command, str(spec)] + (["--out", str(out), "-q"] if command == "run" else [])
    assert main(argv) == 2
    assert capsys.readouterr().err == f"bayesreg: error: {spec}: {message.format(csv=csv)}\n"
    assert not out.exists()


def test_missing_spec_file(capsys):
    assert main(["run", "no/such/spec.toml"]) == 2
    assert (
        capsys.readouterr().err
        == "bayesreg: error: no/such/spec.toml: spec file not found: no/such/spec.toml\n"
    )


def test_usage_error_exit_2(capsys):
    assert main(["frobnicate"]) == 2
    assert main(["run", "x.toml", "--draws", "many"]) == 2
    assert "invalid int value" in capsys.readouterr().err


def test_bad_override_is_a_spec_error(tmp_path, capsys):
    spec = write_spec(tmp_path, MAP_SPEC)
    assert main(["run", str(spec), "--out", str(tmp_path / "o"), "--draws", "0"]) == 2
    assert "--draws must be an integer >= 1, got 0" in capsys.readouterr().err


# --- output folder safety ---------------------------------------------------------------------------


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".partial-" in p.name or ".old-" in p.name)


def test_existing_output_is_refused_then_replaced_with_force(tmp_path, capsys):
    spec = write_spec(tmp_path, MAP_SPEC)
    out = tmp_path / "out"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    assert main(["run", str(spec), "--out", str(out), "-q"]) == 2
    assert "exists; pass --force" in capsys.readouterr().err
    assert (out / "precious.txt").read_text() == "keep me"

    # --force will not delete a folder that bayesreg did not write...
    assert main(["run", str(spec), "--out", str(out), "-q", "--force"]) == 2
    assert "not written by `bayesreg run`" in capsys.readouterr().err
    assert (out / "precious.txt").read_text() == "keep me"

    # ...but it replaces an earlier run, once the new one is complete.
    (out / "precious.txt").unlink()
    assert main(["run", str(spec), "--out", str(out), "-q", "--force"]) == 0
    capsys.readouterr()
    assert main(["run", str(spec), "--out", str(out), "-q", "--force"]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        ".bayesreg-run",
        "coefficients.png",
        "comparison.csv",
        "report.md",
        "spec.toml",
    ]
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(("error", "code"), [(RuntimeError("disk on fire"), 3), (KeyboardInterrupt(), 130)])
def test_failed_run_leaves_nothing_and_keeps_the_old_output(tmp_path, monkeypatch, capsys, error, code):
    import bayesreg.app.report

    def boom(*args, **kwargs):
        raise error

    monkeypatch.setattr(bayesreg.app.report, "write_report", boom)
    spec = write_spec(tmp_path, MAP_SPEC)
    fresh = tmp_path / "fresh"
    assert main(["run", str(spec), "--out", str(fresh), "-q"]) == code
    assert not fresh.exists()

    old = tmp_path / "old"
    old.mkdir()
    (old / "report.md").write_text("previous run")
    (old / ".bayesreg-run").write_text("")  # an earlier run: --force may replace it, on success
    assert main(["run", str(spec), "--out", str(old), "-q", "--force"]) == code
    assert (old / "report.md").read_text() == "previous run"
    assert leftovers(tmp_path) == []
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert ("disk on fire" in err) == (code == 3)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_swallowed_by_the_sampler_still_interrupts_the_run(signum):
    # PyMC and nutpie catch KeyboardInterrupt and return the draws so far; the run must not go on.
    from bayesreg.app.runner import Interrupted, _interrupts_propagate

    before = signal.getsignal(signum)
    reached_end = False
    with pytest.raises(Interrupted, match=signal.Signals(signum).name), _interrupts_propagate() as guard:
        try:
            os.kill(os.getpid(), signum)
            time.sleep(60)  # the handler raises here, at once (the sleep is cut short)
        except KeyboardInterrupt:
            pass  # what the sampler does
        reached_end = True
        guard.check()  # what the runner does after each fit
    assert reached_end
    assert signal.getsignal(signum) is before


# --- --force keeps what a user put into a run folder (issue 16) -------------------------------------


def test_force_refuses_and_names_files_a_user_added_or_changed(tmp_path, capsys):
    spec = write_spec(tmp_path, MAP_SPEC)
    out = tmp_path / "out"
    assert main(["run", str(spec), "--out", str(out), "-q"]) == 0
    (out / "notes.txt").write_text("my notes")
    (out / "extra").mkdir()
    (out / "extra" / "plot.png").write_bytes(b"mine")
    (out / "empty").mkdir()
    with (out / "report.md").open("a") as f:
        f.write("\nmy comment\n")
    report = (out / "report.md").read_text()
    capsys.readouterr()

    assert main(["run", str(spec), "--out", str(out), "-q", "--force"]) == 2
    assert capsys.readouterr().err == (
        f"bayesreg: error: --force would delete files in {out} that the earlier run did not write "
        "(or that changed since): empty/, extra/plot.png, notes.txt, report.md (changed since the "
        "run); move them out of the folder (or choose another --out) and run again\n"
    )
    assert (out / "notes.txt").read_text() == "my notes"
    assert (out / "extra" / "plot.png").read_bytes() == b"mine"
    assert (out / "report.md").read_text() == report
    assert leftovers(tmp_path) == []

    # Moved out of the way, the run is replaced.
    for path in (out / "notes.txt", out / "extra" / "plot.png"):
        path.unlink()
    (out / "extra").rmdir()
    (out / "empty").rmdir()
    (out / "report.md").write_text(report.removesuffix("\nmy comment\n"))
    assert main(["run", str(spec), "--out", str(out), "-q", "--force"]) == 0


def test_force_names_files_added_inside_a_sweep_folder(tmp_path, capsys):
    spec = write_spec(tmp_path, MAP_SPEC.replace("prior_sigma = 10.0", "prior_sigma = [1.0, 10.0]"))
    out = tmp_path / "out"
    assert main(["run", str(spec), "--out", str(out), "-q"]) == 0
    (out / "sigma_1" / "my.csv").write_text("1,2\n")
    assert main(["run", str(spec), "--out", str(out), "-q", "--force"]) == 2
    assert "(or that changed since): sigma_1/my.csv; move them" in capsys.readouterr().err
    assert (out / "sigma_1" / "my.csv").read_text() == "1,2\n"


def test_a_file_added_while_the_run_writes_is_kept(tmp_path, monkeypatch, capsys):
    # Checked before fitting and again when the old run is moved aside: nothing added meanwhile is lost.
    import bayesreg.app.report

    spec = write_spec(tmp_path, MAP_SPEC)
    out = tmp_path / "out"
    assert main(["run", str(spec), "--out", str(out), "-q"]) == 0
    before = sorted(p.name for p in out.iterdir())
    write_report = bayesreg.app.report.write_report

    def write_report_and_add_a_file(result, path):
        (out / "added-during-the-run.txt").write_text("mine")
        write_report(result, path)

    monkeypatch.setattr(bayesreg.app.report, "write_report", write_report_and_add_a_file)
    capsys.readouterr()
    assert main(["run", str(spec), "--out", str(out), "-q", "--force"]) == 2
    assert "(or that changed since): added-during-the-run.txt; move them" in capsys.readouterr().err
    assert (out / "added-during-the-run.txt").read_text() == "mine"
    assert sorted(p.name for p in out.iterdir()) == sorted([*before, "added-during-the-run.txt"])
    assert leftovers(tmp_path) == []


def test_force_over_a_run_of_an_older_bayesreg_replaces_only_its_files(tmp_path, capsys):
    # Older runs have a marker without the list of files: the names a run writes are the run's.
    spec = write_spec(tmp_path, MAP_SPEC)
    out = tmp_path / "out"
    (out / "sigma_1").mkdir(parents=True)
    (out / ".bayesreg-run").write_text("written by `bayesreg run`; --force may replace this folder\n")
    for name in ("report.md", "spec.toml", "sigma_1/comparison.csv", "sigma_1/rank.png"):
        (out / name).write_text("old")
    (out / "sigma_1" / "mine.txt").write_text("mine")
    assert main(["run", str(spec), "--out", str(out), "-q", "--force"]) == 2
    assert "(or that changed since): sigma_1/mine.txt; move them" in capsys.readouterr().err
    (out / "sigma_1" / "mine.txt").unlink()
    assert main(["run", str(spec), "--out", str(out), "-q", "--force"]) == 0
    assert not (out / "sigma_1").exists()


def test_the_marker_lists_every_file_of_the_run_with_its_hash(tmp_path):
    import json

    spec = write_spec(tmp_path, EXACT_SPEC)
    out = tmp_path / "out"
    assert main(["run", str(spec), "--out", str(out), "-q"]) == 0
    header, _, body = (out / ".bayesreg-run").read_text().partition("\n")
    assert header == "written by `bayesreg run`; --force may replace this folder"
    files = json.loads(body)["files"]
    on_disk = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert sorted(files) == [name for name in on_disk if name != ".bayesreg-run"]
    for name, digest in files.items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest


# --- usage mistakes about the output path are exit 2, naming the path given (issue 16) -------------


@pytest.mark.parametrize("below", ["sub", "a/b"])
def test_out_below_a_regular_file_is_a_usage_error(tmp_path, capsys, below):
    spec = write_spec(tmp_path, MAP_SPEC)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    out = blocker / below
    assert main(["run", str(spec), "--out", str(out), "-q"]) == 2
    assert capsys.readouterr().err == (
        f"bayesreg: error: cannot create the output folder {out}: {blocker} is a file, not a folder\n"
    )
    assert blocker.read_text() == "not a folder"


@pytest.mark.parametrize(
    ("error", "words"),
    [(errno.EACCES, "Permission denied"), (errno.EROFS, "Read-only file system")],
    ids=["read-only folder", "read-only file system"],
)
def test_out_in_a_folder_that_cannot_be_written_is_a_usage_error(tmp_path, monkeypatch, capsys, error, words):
    # Simulated, since root may write anywhere; test_out_in_a_read_only_folder does it for real.
    spec = write_spec(tmp_path, MAP_SPEC)
    locked = tmp_path / "locked"
    locked.mkdir()
    mkdir = Path.mkdir

    def refusing_mkdir(self, *args, **kwargs):
        if self.parent == locked:
            raise OSError(error, os.strerror(error), str(self))
        return mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", refusing_mkdir)
    out = locked / "run"
    assert main(["run", str(spec), "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    why = f"folder {locked} is not writable ({words})"
    assert err == f"bayesreg: error: cannot create the output folder {out}: {why}\n"
    assert ".partial-" not in err


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes into read-only folders")
def test_out_in_a_read_only_folder(tmp_path, capsys):
    spec = write_spec(tmp_path, MAP_SPEC)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        assert main(["run", str(spec), "--out", str(locked / "run"), "-q"]) == 2
    finally:
        locked.chmod(0o755)
    assert capsys.readouterr().err == (
        f"bayesreg: error: cannot create the output folder {locked / 'run'}: folder {locked} is not "
        "writable (Permission denied)\n"
    )


# --- signals and leftovers of killed runs (issue 16) ------------------------------------------------

# A run that cannot finish while a test waits: NUTS for a million draws (the signal stops it).
ENDLESS_SPEC = MAP_SPEC.replace(
    'method = "map"',
    'method = "mcmc"\ndraws = 1000000\ntune = 100\nchains = 1\ncompute_log_likelihood = false',
)
# Runs the command (its console-script entry) after patching nutpie.sample to touch a file: the test
# then knows that sampling has started (nutpie catches KeyboardInterrupt there and returns the draws
# so far).
SAMPLING_DRIVER = """\
import pathlib, sys
import nutpie
sample = nutpie.sample
def touching_sample(*args, **kwargs):
    pathlib.Path(sys.argv[1]).touch()
    return sample(*args, **kwargs)
nutpie.sample = touching_sample
from bayesreg.app.cli import entry
entry(sys.argv[2:])
"""
WAIT_S = 600  # bounds, not expected times: on a quiet machine each wait takes seconds


def partials(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if ".partial-" in p.name)


def start(argv: list[str]) -> subprocess.Popen:
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def wait_for(proc: subprocess.Popen, ready) -> None:
    """Poll until ``ready()`` (bounded); fail with the output if the process ends first."""
    deadline = time.monotonic() + WAIT_S
    while not ready():
        if proc.poll() is not None:
            _, err = proc.communicate()
            pytest.fail(f"the run ended (rc {proc.returncode}) before the test could signal it:\n{err}")
        if time.monotonic() > deadline:
            proc.kill()
            proc.communicate()
            pytest.fail(f"nothing happened within {WAIT_S} s")
        time.sleep(0.05)


def finish(proc: subprocess.Popen) -> tuple[int, str]:
    try:
        _, err = proc.communicate(timeout=WAIT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail(f"the run did not stop within {WAIT_S} s of the signal")
    return proc.returncode, err


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_after_the_partial_folder_exists_removes_it(tmp_path, capsys, signum):
    # The installed script, a real signal as soon as the hidden partial folder exists; an earlier
    # run at --out (with --force) is kept.
    out = tmp_path / "out"
    assert main(["run", str(write_spec(tmp_path, MAP_SPEC, "quick.toml")), "--out", str(out), "-q"]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    proc = start(
        [
            bayesreg_script(),
            "run",
            str(write_spec(tmp_path, ENDLESS_SPEC)),
            "--out",
            str(out),
            "-q",
            "--force",
        ]
    )
    wait_for(proc, lambda: partials(tmp_path))
    proc.send_signal(signum)
    rc, err = finish(proc)
    how = "Ctrl-C" if signum == signal.SIGINT else "SIGTERM"
    assert rc == 130, err
    assert err.splitlines()[-1] == f"bayesreg: error: interrupted by {how}; nothing was written"
    assert err.count("bayesreg: error:") == 1 and "Traceback" not in err
    assert partials(tmp_path) == []
    assert leftovers(tmp_path) == []
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_sigterm_while_nutpie_samples_stops_the_run_and_cleans_up(tmp_path):
    # nutpie catches the KeyboardInterrupt of the handler and returns its draws: the run must stop.
    driver = tmp_path / "driver.py"
    driver.write_text(SAMPLING_DRIVER)
    sampling = tmp_path / "sampling-started"
    out = tmp_path / "out"
    spec = write_spec(tmp_path, ENDLESS_SPEC)
    proc = start([sys.executable, str(driver), str(sampling), "run", str(spec), "--out", str(out), "-q"])
    wait_for(proc, sampling.exists)
    proc.send_signal(signal.SIGTERM)
    rc, err = finish(proc)
    assert rc == 130, err
    assert err.splitlines()[-1] == "bayesreg: error: interrupted by SIGTERM; nothing was written"
    assert err.count("bayesreg: error:") == 1 and "Traceback" not in err
    assert not out.exists()
    assert partials(tmp_path) == []


@pytest.mark.parametrize("swallowed", [False, True], ids=["raised", "swallowed"])
def test_sigterm_in_process_is_an_interrupt(tmp_path, monkeypatch, capsys, swallowed):
    import bayesreg.app.report

    def terminated(*args, **kwargs):
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(60)  # cut short by the handler
        except KeyboardInterrupt:
            if not swallowed:
                raise

    monkeypatch.setattr(bayesreg.app.report, "write_report", terminated)
    out = tmp_path / "out"
    assert main(["run", str(write_spec(tmp_path, MAP_SPEC)), "--out", str(out), "-q"]) == 130
    assert capsys.readouterr().err == "bayesreg: error: interrupted by SIGTERM; nothing was written\n"
    assert not out.exists() and leftovers(tmp_path) == []
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_a_signal_while_the_partial_folder_is_created_stops_the_run_before_fitting(
    tmp_path, monkeypatch, capsys
):
    # Creating the folder and its locked marker is not cut short; the signal takes effect right after.
    import bayesreg.app.runner
    from bayesreg.app.output import PartialFolder

    create = PartialFolder.create
    fits = []

    def create_and_get_a_signal(self):
        path = create(self)
        os.kill(os.getpid(), signal.SIGTERM)
        return path

    monkeypatch.setattr(PartialFolder, "create", create_and_get_a_signal)
    monkeypatch.setattr(bayesreg.app.runner, "_fit_one", lambda *args: fits.append(args))
    out = tmp_path / "out"
    assert main(["run", str(write_spec(tmp_path, MAP_SPEC)), "--out", str(out), "-q"]) == 130
    assert capsys.readouterr().err == "bayesreg: error: interrupted by SIGTERM; nothing was written\n"
    assert fits == []
    assert not out.exists() and partials(tmp_path) == []


def test_kill_9_leaves_a_partial_folder_that_later_runs_report_and_clean(tmp_path, capsys):
    out = tmp_path / "out"
    proc = start([bayesreg_script(), "run", str(write_spec(tmp_path, ENDLESS_SPEC)), "--out", str(out), "-q"])
    wait_for(proc, lambda: partials(tmp_path))
    proc.kill()  # SIGKILL: nothing can clean up
    finish(proc)
    (stale,) = partials(tmp_path)

    quick = write_spec(tmp_path, MAP_SPEC, "quick.toml")
    assert main(["run", str(quick), "--out", str(out), "-q"]) == 0
    assert capsys.readouterr().err == (
        f"bayesreg: warning: 1 unfinished output folder of {out} left by killed runs: {stale}; "
        "--clean-partial removes them\n"
    )
    assert stale.is_dir()

    assert main(["run", str(quick), "--out", str(out), "-q", "--force", "--clean-partial"]) == 0
    assert (
        capsys.readouterr().err == f"bayesreg: removed 1 unfinished output folder of killed runs: {stale}\n"
    )
    assert partials(tmp_path) == []
    assert (out / "report.md").exists()


def test_a_partial_folder_being_written_is_left_alone(tmp_path, capsys):
    from bayesreg.app.output import PartialFolder

    out = tmp_path / "out"
    live = PartialFolder(out)  # another run, still writing: it holds the lock on its marker
    live.create()
    stale = tmp_path / ".out.partial-0123abcd"  # killed before it wrote its marker
    stale.mkdir()
    try:
        quick = write_spec(tmp_path, MAP_SPEC)
        assert main(["run", str(quick), "--out", str(out), "-q", "--clean-partial"]) == 0
        assert (
            capsys.readouterr().err
            == f"bayesreg: removed 1 unfinished output folder of killed runs: {stale}\n"
        )
        assert partials(tmp_path) == [live.path]
    finally:
        live.discard()
    assert partials(tmp_path) == []


def test_an_old_run_moved_aside_by_a_killed_run_is_reported_not_removed(tmp_path, capsys):
    # A run killed (kill -9) while replacing an earlier one leaves it as .NAME.old-*.
    out = tmp_path / "out"
    old = tmp_path / ".out.old-0123abcd"
    old.mkdir()
    (old / "report.md").write_text("the earlier run")
    quick = write_spec(tmp_path, MAP_SPEC)
    assert main(["run", str(quick), "--out", str(out), "-q", "--clean-partial"]) == 0
    assert capsys.readouterr().err == (
        f"bayesreg: warning: {old} is the last complete output of {out}, moved aside by a killed "
        f"run: rename it to {out}\n"
    )
    assert main(["run", str(quick), "--out", str(out), "-q", "--force", "--clean-partial"]) == 0
    assert capsys.readouterr().err == (
        f"bayesreg: warning: {old} is an earlier output of {out} that a killed run left; delete it "
        "if not needed\n"
    )
    assert (old / "report.md").read_text() == "the earlier run"


# --- runs -------------------------------------------------------------------------------------------


def test_seed_makes_runs_reproducible(tmp_path):
    spec = write_spec(tmp_path, EXACT_SPEC)
    for name, seed in [("a", "1"), ("b", "1"), ("c", "2")]:
        assert main(["run", str(spec), "--out", str(tmp_path / name), "--seed", seed, "-q"]) == 0
    a, b, c = (xr.open_datatree(tmp_path / n / "posterior.nc")["posterior"]["coef"].values for n in "abc")
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert "seed 1" in (tmp_path / "a" / "report.md").read_text()


@pytest.fixture(scope="module")
def model_run(tmp_path_factory):
    """Run a spec of models/ once per test module (quick settings); returns rc, stdout, stderr, out."""
    cache: dict[str, tuple[int, str, str, Path]] = {}

    def run(path: Path) -> tuple[int, str, str, Path]:
        if path.stem not in cache:
            out = tmp_path_factory.mktemp(path.stem) / "out"
            if path.stem == "linnerud_csv":
                # Once as a real subprocess of the installed console script.
                proc = subprocess.run(
                    [bayesreg_script(), "run", str(path), "--out", str(out), *SPEC_RUN],
                    capture_output=True,
                    text=True,
                    timeout=600,
                    env={**os.environ, "MPLBACKEND": "Agg"},
                )
                cache[path.stem] = (proc.returncode, proc.stdout, proc.stderr, out)
            else:
                out_buf, err_buf = io.StringIO(), io.StringIO()
                with contextlib.redirect_stdout(out_buf), contextlib.redirect_stderr(err_buf):
                    rc = main(["run", str(path), "--out", str(out), *SPEC_RUN])
                cache[path.stem] = (rc, out_buf.getvalue(), err_buf.getvalue(), out)
        return cache[path.stem]

    return run


@pytest.mark.slow
@pytest.mark.parametrize("path", MODEL_SPECS, ids=lambda p: p.stem)
def test_every_model_spec_runs(model_run, path):
    rc, stdout, stderr, out = model_run(path)
    # Every spec of models/ converges and agrees with its twin at the quick settings: a spec that
    # needs more draws to converge would be a poor example to ship.
    assert rc == 0, stderr
    assert "Traceback" not in stderr
    assert stdout.strip().startswith(str(out / "report.md"))

    report = out / "report.md"
    text = report.read_text()
    top = banner(report)
    assert top.startswith("> **OK**"), top
    assert (out / "spec.toml").read_text() == path.read_text()
    kind = tomllib.loads(path.read_text())["model"].get("kind", "linear")
    assert {"linear": "λ = σ_n²/σ² = ", "logistic": "C = σ² = ", "poisson": "α = 1/("}[kind] in text

    folders = sorted(p for p in out.iterdir() if p.is_dir()) or [out]
    for folder in folders:
        for name in ["posterior.nc", "comparison.csv", "summary.csv", "coefficients.png", "rank.png"]:
            assert (folder / name).stat().st_size > 0, folder / name
            assert name in text
        assert_map_equals_ridge(folder / "comparison.csv")
        tree = xr.open_datatree(folder / "posterior.nc")
        assert dict(tree["posterior"].sizes)["chain"] == SPEC_CHAINS
        assert dict(tree["posterior"].sizes)["draw"] == SPEC_DRAWS
        summary = pd.read_csv(folder / "summary.csv", index_col=0)
        assert {"mean", "r_hat", "ess_bulk", "hdi94_lb", "hdi94_ub"} <= set(summary.columns)
        assert tree.attrs["spec_toml"] == path.read_text()
    assert leftovers(out.parent) == []


@pytest.mark.slow
def test_exact_ridge_spec_converges_and_posterior_mean_is_ridge(model_run):
    rc, stdout, _, out = model_run(MODELS / "diabetes_known_noise.toml")
    assert rc == 0
    table = assert_map_equals_ridge(out / "comparison.csv")
    assert (table["z"].abs() <= 4).all()
    text = (out / "report.md").read_text()
    assert "λ = σ_n²/σ² = 54² / 10² = 29.16" in text
    assert "so the MAP is `Ridge(alpha=29.16)`" in text
    assert f"converged: {SPEC_CHAINS} chains x {SPEC_DRAWS} draws" in text
    assert "[converged; MAP = ridge]" in stdout


@pytest.mark.slow
def test_poisson_spec_models_claims_per_year_of_exposure(model_run):
    _, _, _, out = model_run(MODELS / "claims_poisson.toml")
    text = (out / "report.md").read_text()
    assert "y ~ Poisson(exposure · exp(b + X·w))" in text and "exposure from column 'years'" in text
    assert "PoissonRegressor takes no offset" in text
    table = assert_map_equals_ridge(out / "comparison.csv")
    assert list(table.index) == ["age", "vehicle_age", "urban", "(intercept)"]


@pytest.mark.slow
def test_multinomial_spec_reports_one_twin_for_every_class(model_run):
    _, _, _, out = model_run(MODELS / "iris_multinomial.toml")
    text = (out / "report.md").read_text()
    assert "over 3 classes" in text and "the twin fits the symmetric softmax" in text
    assert "sum 0)." in text and "sum 0).." not in text
    table = assert_map_equals_ridge(out / "comparison.csv")
    assert len(table) == 3 * 4 + 3  # a coefficient per class and feature, an intercept per class


@pytest.mark.slow
def test_logistic_report_gives_C(model_run):
    _, _, _, out = model_run(MODELS / "breast_cancer_logistic.toml")
    text = (out / "report.md").read_text()
    assert "C = σ² = 1² = 1, so the MAP is `LogisticRegression(C=1)`" in text
    table = assert_map_equals_ridge(out / "comparison.csv")
    assert len(table) == 31  # 30 features and the intercept


@pytest.mark.slow
def test_sweep_writes_a_path_that_shrinks_with_sigma(model_run):
    _, _, _, out = model_run(MODELS / "polynomial_sweep.toml")
    sweep = pd.read_csv(out / "sweep.csv", index_col=["prior_sigma", "term"])
    sigmas = sorted(sweep.index.get_level_values("prior_sigma").unique())
    assert sigmas == [0.03, 0.3, 3.0, 30.0]
    norms = [np.linalg.norm(sweep.loc[s].drop(index="(intercept)")["map"]) for s in sigmas]
    assert all(np.diff(norms) > 0), norms
    assert (out / "regularization_path.png").stat().st_size > 0
    assert [p.name for p in sorted(out.glob("sigma_*"))] == ["sigma_0.03", "sigma_0.3", "sigma_3", "sigma_30"]


def test_one_chain_gets_a_trace_plot_instead_of_ranks(tmp_path):
    # Rank plots compare chains, so they need two; a single chain gets a trace plot.
    spec = write_spec(tmp_path, EXACT_SPEC)
    assert main(["run", str(spec), "--out", str(tmp_path / "o"), "--chains", "1", "-q"]) == 0
    files = sorted(p.name for p in (tmp_path / "o").iterdir())
    assert "trace.png" in files and "rank.png" not in files
    assert "![trace.png](trace.png)" in (tmp_path / "o" / "report.md").read_text()


def test_compute_log_likelihood_reaches_the_estimator(tmp_path):
    spec = write_spec(tmp_path, EXACT_SPEC + "compute_log_likelihood = false\n")
    assert main(["run", str(spec), "--out", str(tmp_path / "o"), "-q"]) == 0
    tree = xr.open_datatree(tmp_path / "o" / "posterior.nc")
    assert "posterior" in tree.children and "log_likelihood" not in tree.children
    assert tree.attrs["log_likelihood_group"].startswith("not stored (compute_log_likelihood = false)")


def test_posterior_nc_says_what_it_is(tmp_path):
    from datetime import UTC, datetime

    import bayesreg
    from bayesreg.app.runner import run_spec
    from bayesreg.app.spec import load_spec

    spec = write_spec(tmp_path, EXACT_SPEC)
    result = run_spec(load_spec(spec).with_overrides(seed=3), tmp_path / "o", progressbar=False)
    assert result.fits[0].estimator.idata_.attrs == {}  # the estimator's own tree is left alone
    tree = xr.open_datatree(tmp_path / "o" / "posterior.nc")
    attrs = tree.attrs
    assert attrs["spec_toml"] == spec.read_text()  # the whole spec travels with a copied file
    assert attrs["spec_name"] == "spec" and attrs["spec_file"] == str(spec.resolve())
    assert attrs["bayesreg_version"] == bayesreg.__version__
    created = datetime.fromisoformat(attrs["created_at"])
    assert abs((datetime.now(UTC) - created).total_seconds()) < 600
    assert attrs["prior_sigma"] == 10.0
    assert attrs["prior"] == (
        "each coefficient w_j ~ Normal(0, σ²), σ = prior_sigma = 10; intercept b flat (unpenalised)"
    )
    assert attrs["penalty"] == "Ridge(alpha=29.16) = σ_n²/σ² with σ_n=54 (known), σ=10"
    assert attrs["likelihood"] == "y ~ Normal(b + X·w, σ_n²), known noise sd σ_n = 54"
    assert attrs["sampler"] == "exact (closed-form Gaussian posterior, 2 × 100 iid draws), seed 3"
    assert attrs["seed"] == 3  # the --seed override, not the spec's 0
    assert attrs["data"].startswith("scikit-learn data set 'diabetes': 442 rows, 10 features")
    assert attrs["log_likelihood_group"] == "pointwise log likelihood of each row and draw, for arviz.loo"


def test_rank_plot_explains_itself_instead_of_bare_p_values(tmp_path):
    import matplotlib.pyplot as plt

    from bayesreg import BayesianLinearRegression
    from bayesreg.app.runner import _chain_figure

    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    y = X @ [1.0, 2.0, -1.0] + rng.normal(size=50)
    est = BayesianLinearRegression(1.0, noise_sigma=1.0, method="exact", draws=200, random_state=0).fit(X, y)
    name, figure = _chain_figure(est.idata_)
    try:
        assert name == "rank.png"
        texts = [t.get_text() for ax in figure.axes for t in ax.texts]
        assert not [t for t in texts if "p=" in t or "α" in t], texts  # ArviZ's unexplained annotations
        caption = figure.get_suptitle()
        assert caption.startswith("Rank plots of the 4 chains")
        assert "Marked points (if any)" in caption and "verdict (r_hat, ESS, divergences)" in caption
    finally:
        plt.close(figure)


def test_progress_lines_across_a_sweep(tmp_path, capsys):
    spec = write_spec(tmp_path, EXACT_SPEC.replace("prior_sigma = 10.0", "prior_sigma = [1.0, 10.0]"))
    assert main(["run", str(spec), "--out", str(tmp_path / "o")]) == 0
    err = capsys.readouterr().err.splitlines()
    steps = [line for line in err if line.startswith("bayesreg: [")]
    assert [s.split()[1] for s in steps] == ["[1/2]", "[1/2]", "[2/2]", "[2/2]"]
    assert steps[0] == "bayesreg: [1/2] prior_sigma=1: fitting linear model (exact)"
    assert "prior_sigma=10: converged, agrees with ridge" in steps[3]


@pytest.mark.slow
@pytest.mark.filterwarnings("error")
def test_unconverged_run_still_writes_report_and_exits_1(tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["run", str(MODELS / "diabetes_unknown_noise.toml"), "--out", str(out)]
    rc = main([*argv, "--draws", "15", "--tune", "15", "--chains", "2", "-q"])
    assert rc == 1
    assert "NOT CONVERGED" in capsys.readouterr().out
    report = (out / "report.md").read_text()
    assert banner(out / "report.md").startswith("> **NOT CONVERGED** (this fit)")
    assert "effective sample size down to" in report
    assert "The sampler did not converge; do not trust this posterior." in report
    assert_map_equals_ridge(out / "comparison.csv")


def test_sweep_folders_never_collide():
    from bayesreg.app.runner import _sigma_folders

    assert _sigma_folders([0.03, 30.0]) == ["sigma_0.03", "sigma_30"]
    close = _sigma_folders([1.0000001, 1.0000002])
    assert len(set(close)) == 2

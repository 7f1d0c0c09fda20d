"""The ``bayesreg`` command, in-process through ``main(argv)`` and once as the installed script.

Every spec in models/ is run with small draws (``--draws/--tune/--chains``); the assertions check
real values (MAP = ridge in the written CSV, exit codes against the report's verdict, messages).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import sys
import time
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
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
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
    (out / "old-run.txt").write_text("from the first run")
    assert main(["run", str(spec), "--out", str(out), "-q", "--force"]) == 0
    assert not (out / "old-run.txt").exists()
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


def test_ctrl_c_swallowed_by_the_sampler_still_interrupts_the_run():
    # PyMC catches KeyboardInterrupt and returns the draws so far; the runner must not go on.
    import signal

    from bayesreg.app.runner import _interrupts_propagate

    reached_end = False
    with pytest.raises(KeyboardInterrupt), _interrupts_propagate():
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)  # the signal handler runs here
        except KeyboardInterrupt:
            pass  # what the sampler does
        reached_end = True
    assert reached_end
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


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
    logistic = 'kind = "logistic"' in path.read_text()
    assert ("C = σ² = " if logistic else "λ = σ_n²/σ² = ") in text

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

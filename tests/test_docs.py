"""The README and docs/ say what the code and the repository really do.

Each test reads the documents as a user would: the commands and code they show, the sample output
they print, and the files they link to.
"""

from __future__ import annotations

import ast
import inspect
import itertools
import os
import re
import shutil
import subprocess
import tomllib
import warnings
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
NOTEBOOK_DOC = REPO / "docs" / "notebooks.md"
NOTEBOOK_DIR = REPO / "notebooks"

FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.DOTALL | re.MULTILINE)
INLINE = re.compile(r"`([^`\n]+)`")


def _text(path: Path = README) -> str:
    return path.read_text(encoding="utf-8")


def _blocks(text: str, lang: str | None = None) -> list[str]:
    """Bodies of the fenced code blocks, optionally only those of one language."""
    return [body for tag, body in FENCE.findall(text) if lang is None or tag == lang]


def _commands(text: str) -> list[str]:
    """Every shell-like line a reader could copy: lines of fenced blocks and inline code spans."""
    lines = [line for body in _blocks(text) for line in body.splitlines()]
    return lines + INLINE.findall(FENCE.sub("", text))


def _section(text: str, heading: str) -> str:
    """The body of the ``## heading`` section, up to the next ``## `` heading."""
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, re.DOTALL | re.MULTILINE)
    assert match, f"README has no '## {heading}' section"
    return match.group(1)


# --- 1. set-up commands --------------------------------------------------------------------------


def _venv_commands(text: str) -> list[str]:
    """Each ``-m venv`` command, cut at the next ``&&``."""
    found = []
    for line in _commands(text):
        for part in line.split("&&"):
            if re.search(r"-m\s+venv\b", part):
                found.append(part.strip())
    return found


def test_readme_venv_commands_clear_a_leftover_venv():
    # venv run over a .venv made by an older Python keeps that Python in .venv/bin: only --clear
    # (or removing the folder) gives a clean environment when the set-up is run again.
    commands = _venv_commands(_text())
    assert commands, "README shows no `python -m venv` command"
    stale = [c for c in commands if "--clear" not in c.split()]
    assert not stale, f"venv commands without --clear: {stale}"


def test_readme_shows_no_versioned_python_shim_command():
    # `python3.12 -m venv` fails under pyenv when the global version is 3.11: pyenv's python3.12
    # shim says "command not found" unless a 3.12 is the selected version.
    bad = [c for c in _venv_commands(_text()) if re.match(r'"?python3\.\d+\b', c)]
    assert not bad, f"README tells users to run a versioned pythonX.Y: {bad}"


def test_readme_keeps_two_command_start_and_the_ci_test_command():
    text = _section(_text(), "Get going (Python 3.12 or newer)")
    bash = _blocks(text, "bash")
    start = [line for line in bash[0].splitlines() if line.strip()]
    assert len(start) == 2, f"the start should be two commands (set up, then run): {start}"
    assert start[0].startswith("python3 -m venv --clear .venv && .venv/bin/pip install -e .")
    assert start[1] == ".venv/bin/bayesreg run models/diabetes_known_noise.toml"
    assert (REPO / "models" / "diabetes_known_noise.toml").is_file()
    # .ci/run runs "the README's test command" with its own interpreter and venv.
    tests = [line for body in bash for line in body.splitlines() if line.endswith(".venv/bin/pytest")]
    assert tests == [
        'python3 -m venv --clear .venv && .venv/bin/pip install -e ".[test]" && .venv/bin/pytest'
    ]
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r'/pip"? install (-q )?-e "\.\[test\]"', ci)
    assert ci.rstrip().endswith('"$VENV/bin/pytest"')


def _pyenv_command() -> str:
    found = [c for c in _venv_commands(_text()) if "pyenv" in c]
    assert len(found) == 1, f"README should give one pyenv set-up command, found {found}"
    return found[0]


def _python_version(exe: Path) -> tuple[int, int]:
    out = subprocess.run(
        [str(exe), "-c", "import sys; print(*sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    major, minor = out.split()
    return int(major), int(minor)


def test_readme_pyenv_setup_replaces_a_leftover_older_venv(tmp_path):
    command = _pyenv_command()
    pyenv = shutil.which("pyenv")
    if pyenv is None or shutil.which("bash") is None:
        pytest.skip("pyenv is not installed here")
    prefix = subprocess.run([pyenv, "prefix", "3.12"], capture_output=True, text=True)
    if prefix.returncode != 0:
        pytest.skip("pyenv has no Python 3.12 installed")
    # A .venv left by a failed attempt with an older Python, when one is at hand.
    for old in ("3.11", "3.10"):
        old_prefix = subprocess.run([pyenv, "prefix", old], capture_output=True, text=True)
        if old_prefix.returncode == 0:
            old_python = Path(old_prefix.stdout.strip()) / "bin" / "python3"
            subprocess.run(
                [str(old_python), "-m", "venv", "--without-pip", ".venv"], cwd=tmp_path, check=True
            )
            assert _python_version(tmp_path / ".venv" / "bin" / "python") < (3, 12)
            break
    env = {k: v for k, v in os.environ.items() if k not in ("PYENV_VERSION", "VIRTUAL_ENV")}
    subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, check=True, capture_output=True)
    for name in ("python", "python3"):
        assert _python_version(tmp_path / ".venv" / "bin" / name) >= (3, 12), name
    pip = subprocess.run(
        [str(tmp_path / ".venv" / "bin" / "pip"), "--version"], capture_output=True, text=True, check=True
    )
    assert re.search(r"\(python 3\.(1[2-9]|[2-9]\d)\)", pip.stdout), pip.stdout


# --- 2. the compare_with_ridge sample output --------------------------------------------------------


def _script_and_sample() -> tuple[str, str]:
    """The README's script that calls compare_with_ridge, and the sample output printed after it."""
    text = _section(_text(), "In a script")
    blocks = FENCE.findall(text)
    index = next(
        i for i, (tag, body) in enumerate(blocks) if tag == "python" and "compare_with_ridge(" in body
    )
    sample = next(body for tag, body in blocks[index + 1 :] if tag == "" and "verdict:" in body)
    return blocks[index][1], sample


def _estimator_call(tree: ast.AST) -> ast.Call:
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "BayesianLinearRegression"
    ]
    assert len(calls) == 1
    return calls[0]


def test_readme_sample_output_has_the_scripts_draws_and_chains():
    from bayesreg import BayesianLinearRegression

    script, sample = _script_and_sample()
    call = _estimator_call(ast.parse(script))
    given = {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords if kw.arg in ("draws", "chains")}
    defaults = inspect.signature(BayesianLinearRegression).parameters
    chains = given.get("chains", defaults["chains"].default)
    draws = given.get("draws", defaults["draws"].default)
    match = re.search(r"^converged: (\d+) chains x (\d+) draws", sample, re.MULTILINE)
    assert match, "the sample output has no 'converged:' line"
    assert (int(match.group(1)), int(match.group(2))) == (chains, draws)


class _WithMethod(ast.NodeTransformer):
    """Set ``method`` (and no progress bar) in every BayesianLinearRegression(...) call."""

    def __init__(self, method: str):
        self.method = method

    def visit_Call(self, node: ast.Call) -> ast.Call:
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id == "BayesianLinearRegression":
            keep = [kw for kw in node.keywords if kw.arg not in ("method", "progressbar")]
            node.keywords = [
                *keep,
                ast.keyword("method", ast.Constant(self.method)),
                ast.keyword("progressbar", ast.Constant(False)),
            ]
        return node


def _run(script: str, method: str) -> dict:
    tree = ast.fix_missing_locations(_WithMethod(method).visit(ast.parse(script)))
    namespace: dict = {"__name__": "readme_snippet"}
    exec(compile(tree, str(README), "exec"), namespace)
    return namespace


def _table(lines: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """Header columns and {row label: cells} of a DataFrame as printed: title, header, index name, rows.

    pandas right-aligns every column with its header, so a cell ends where its column name ends, and
    the table ends at the first line that does not end where the header does.
    """
    header = lines[1].split()
    ends = [m.end() for m in re.finditer(r"\S+", lines[1])]
    rows = {}
    for line in lines[3:]:
        if line.strip() == "...":
            continue
        if len(line.rstrip()) != ends[-1]:
            break
        *label, first = line[: ends[0]].split()
        cells = [first] + [line[a:b].strip() for a, b in itertools.pairwise(ends)]
        rows[" ".join(label)] = cells
    return header, rows


def test_readme_sample_output_is_what_the_script_prints(capsys):
    # method="exact" prints the same title, columns and rows, and the same ridge and MAP values, as the
    # README's NUTS run, in seconds; only the posterior columns and the convergence line differ.
    script, sample = _script_and_sample()
    _run(script, "exact")
    printed = capsys.readouterr().out.splitlines()
    shown = sample.splitlines()
    assert shown[0] == printed[0]
    header, rows = _table(printed)
    shown_header, shown_rows = _table(shown)
    assert shown_header == header, "the sample output's columns are not the ones compare_with_ridge prints"
    assert shown_rows, "the sample output shows no rows"
    assert set(shown_rows) <= set(rows)
    ridge, map_ = header.index("ridge"), header.index("map")
    for term, cells in shown_rows.items():
        assert len(cells) == len(header), term
        assert (cells[ridge], cells[map_]) == (rows[term][ridge], rows[term][map_]), term
    labels = {line.split(":")[0].split(" =")[0] for line in printed[3 + len(rows) :] if line.strip()}
    for label in labels:
        assert any(line.startswith(label) for line in shown), f"the sample output lacks the '{label}' line"


# --- 3. the notebooks extra -------------------------------------------------------------------------


def test_notebooks_extra_installs_jupyter_and_the_readme_opens_the_notebooks():
    extras = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]
    assert "notebooks" in extras, "pyproject.toml has no `notebooks` extra"
    names = {re.split(r"[\s\[<>=!~;]", req, maxsplit=1)[0].lower() for req in extras["notebooks"]}
    assert names & {"jupyterlab", "notebook"}, names
    assert "ipykernel" in names, "the notebooks need a kernel in the venv"
    lines = [
        line
        for line in _blocks(_section(_text(), "Notebooks"), "bash")[0].splitlines()
        if '".[notebooks]"' in line
    ]
    assert len(lines) == 1, "README's Notebooks section should install the extra in one command"
    match = re.search(r"\.venv/bin/jupyter (lab|notebook) (\S+)$", lines[0])
    assert match, f"the command does not open the notebooks: {lines[0]}"
    assert (REPO / match.group(2)).resolve() == NOTEBOOK_DIR


# --- 4. every notebook documented -------------------------------------------------------------------


def _linked_notebooks(path: Path) -> set[str]:
    links = re.findall(r"\]\(([^)\s]+\.ipynb)\)", _text(path))
    resolved = {(path.parent / link).resolve() for link in links}
    missing = sorted(str(p) for p in resolved if not p.is_file())
    assert not missing, f"{path.name} links to notebooks that do not exist: {missing}"
    return {p.name for p in resolved if p.parent == NOTEBOOK_DIR}


@pytest.mark.parametrize("doc", [NOTEBOOK_DOC, README], ids=["docs/notebooks.md", "README.md"])
def test_every_notebook_is_linked(doc):
    on_disk = {p.name for p in NOTEBOOK_DIR.glob("*.ipynb")}
    assert on_disk
    linked = _linked_notebooks(doc)
    assert linked == on_disk, f"not linked: {sorted(on_disk - linked)}; gone: {sorted(linked - on_disk)}"


NUMBERS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten".split())}


@pytest.mark.parametrize("doc", [NOTEBOOK_DOC, README], ids=["docs/notebooks.md", "README.md"])
def test_notebook_counts_are_right(doc):
    count = len(list(NOTEBOOK_DIR.glob("*.ipynb")))
    pattern = rf"\b({'|'.join(NUMBERS)}|\d+) notebooks\b"
    for word in re.findall(pattern, _text(doc), re.IGNORECASE):
        assert NUMBERS.get(word.lower(), None if not word.isdigit() else int(word)) == count, word


# --- 5. one prior scale for every feature -----------------------------------------------------------


def _scale_section() -> str:
    text = _section(_text(), "The estimators")
    assert "prior_sigma" in text
    return text


def test_readme_says_one_sigma_needs_comparable_feature_scales():
    text = _scale_section()
    prose = re.sub(r"\s+", " ", FENCE.sub("", text))
    assert re.search(r"one σ for every coefficient", prose), "README does not say σ is shared"
    assert re.search(r"comparable scales", prose)
    assert "prior_sigma=1.0" in prose
    pipelines = [b for b in _blocks(text, "python") if "make_pipeline(StandardScaler()" in b]
    assert len(pipelines) == 1, "README shows no standardising pipeline next to the estimators"
    assert "BayesianLinearRegression(" in pipelines[0]


def test_readme_scaling_example_runs_and_its_numbers_are_right():
    import numpy as np
    import pandas as pd
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge

    from bayesreg import BayesianLinearRegression
    from bayesreg.exceptions import PriorScaleWarning

    text = _scale_section()
    (pipeline,) = [b for b in _blocks(text, "python") if "make_pipeline(StandardScaler()" in b]
    # The MAP is the ridge solution on the standardised columns, so it checks the example in seconds.
    with warnings.catch_warnings():
        warnings.simplefilter("error", PriorScaleWarning)
        namespace = _run(pipeline, "map")
    model, X_raw, y = namespace["model"], namespace["X_raw"], namespace["y"]
    est = model[-1]
    standardised = (X_raw - X_raw.mean()) / X_raw.std(ddof=0)
    alpha = est.noise_sigma**2 / est.prior_sigma**2
    ridge = Ridge(alpha=alpha).fit(standardised, y)
    np.testing.assert_allclose(est.map_coef_, ridge.coef_, rtol=1e-6)
    np.testing.assert_allclose(model.predict(X_raw[:5]), ridge.predict(standardised[:5]), rtol=1e-6)
    assert list(est.feature_names_in_) == list(X_raw.columns)

    # The prose's numbers: effects per sd of a feature, with the same σ on three versions of the data.
    def per_sd(X: pd.DataFrame) -> pd.Series:
        return pd.Series(Ridge(alpha=alpha).fit(X, y).coef_, index=X.columns) * X.std(ddof=0)

    X_sk, _ = load_diabetes(return_X_y=True, as_frame=True)
    on_sklearn, on_raw, on_standard = per_sd(X_sk), per_sd(X_raw), per_sd(standardised)
    prose = re.sub(r"\s+", " ", FENCE.sub("", text))
    assert f"sd {X_sk.std(ddof=0).mean():.2g}" in prose
    assert f"bmi down to {on_sklearn['bmi']:.1f}" in prose
    assert f"it is {on_standard['bmi']:.1f}" in prose
    raw_sd = X_raw.std(ddof=0)
    assert f"sds from {raw_sd.min():.1f} to {raw_sd.max():.0f}" in prose
    assert f"s5, from {on_standard['s5']:.1f} to {on_raw['s5']:.1f}" in prose
    # ... and what it says of the PriorScaleWarning: given on load_diabetes(), not on the raw units.
    sigma = {"prior_sigma": est.prior_sigma, "noise_sigma": est.noise_sigma, "method": "map"}
    with pytest.warns(PriorScaleWarning):
        BayesianLinearRegression(**sigma).fit(X_sk, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PriorScaleWarning)
        BayesianLinearRegression(**sigma).fit(X_raw, y)

"""The README and docs/ say what the code and the repository really do.

Each test reads the documents as a user would: the commands and code they show, the sample output
they print, and the files they link to.
"""

from __future__ import annotations

import ast
import inspect
import itertools
import re
import shutil
import subprocess
import sys
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

SETUP = REPO / "scripts" / "setup.sh"
FIND_PYTHON = REPO / "scripts" / "find_python.sh"
CI = REPO / ".ci" / "run"


def _venv_commands(text: str) -> list[str]:
    """Each ``-m venv`` command, cut at the next ``&&``."""
    found = []
    for line in _commands(text):
        for part in line.split("&&"):
            if re.search(r"-m\s+venv\b", part):
                found.append(part.strip())
    return found


def test_venv_commands_clear_a_leftover_venv():
    # venv run over a .venv made by an older Python keeps that Python in .venv/bin: only --clear
    # (or removing the folder) gives a clean environment when the set-up is run again.
    commands = _venv_commands(_text()) + _venv_commands(f"```\n{_text(SETUP)}```\n")
    assert any("setup.sh" not in c for c in commands), "README shows no `-m venv` command (Windows)"
    assert re.search(r'^"\$python" -m venv --clear \.venv$', _text(SETUP), re.MULTILINE)
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
    assert start == ["sh scripts/setup.sh", ".venv/bin/bayesreg run models/diabetes_known_noise.toml"]
    assert (REPO / "models" / "diabetes_known_noise.toml").is_file()
    # .ci/run runs "the README's test command" with the same interpreter finder and its own venv.
    tests = [line for body in bash for line in body.splitlines() if line.endswith(".venv/bin/pytest")]
    assert tests == ["sh scripts/setup.sh test && .venv/bin/pytest"]
    ci = _text(CI)
    assert re.search(r"^PY=\$\(sh scripts/find_python\.sh\)", ci, re.MULTILINE)
    assert re.search(r'/pip"? install (-q )?-e "\.\[test,docs\]"', ci)
    assert ci.rstrip().endswith('"$VENV/bin/pytest"')


def test_setup_scripts_are_posix_sh():
    # The README runs them with `sh` (no executable bit needed), and on Debian sh is dash.
    for script in (SETUP, FIND_PYTHON):
        assert _text(script).startswith("#!/bin/sh\n"), script.name
        subprocess.run(["sh", "-n", str(script)], check=True)
    # setup.sh installs with the venv's own pip, taking extras as its argument.
    assert re.search(
        r'^\.venv/bin/python -m pip install -e "\.\$\{1:\+\[\$1\]\}"$', _text(SETUP), re.MULTILINE
    )


def _fake_python(path: Path, version: str) -> None:
    """An interpreter too old for bayesreg: it reports ``version`` and fails every ``-c`` check."""
    path.write_text(f'#!/bin/sh\n[ "$1" = --version ] && echo "Python {version}" && exit 0\nexit 1\n')
    path.chmod(0o755)


def _bare_machine(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A copy of scripts/ and an environment whose PATH holds only sh, the tools the scripts use
    and what the test puts in ``bin``; HOME is empty (no pyenv, no uv), so nothing else is found."""
    repo = tmp_path / "repo"
    shutil.copytree(REPO / "scripts", repo / "scripts")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("sh", "dirname", "ls", "sort"):
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    (tmp_path / "home").mkdir()
    return repo, {"PATH": str(bin_dir), "HOME": str(tmp_path / "home"), "LC_ALL": "C"}


def _run_script(repo: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", *args], cwd=repo, env=env, capture_output=True, text=True, timeout=60)


def test_setup_without_a_new_enough_python_fails_in_the_readmes_one_line(tmp_path):
    if shutil.which("sh") is None:
        pytest.skip("no sh")
    repo, env = _bare_machine(tmp_path)
    _fake_python(Path(env["PATH"]) / "python3", "3.11.2")  # Debian 12's
    done = _run_script(repo, env, "scripts/setup.sh")
    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert "Python >= 3.12" in lines[0] and "python3 is 3.11.2" in lines[0]
    assert "`uv python install 3.12`" in lines[0] and "`pyenv install 3.12`" in lines[0]
    assert not (repo / ".venv").exists()
    # ... and the README quotes that line word for word.
    shown = _blocks(_section(_text(), "Get going (Python 3.12 or newer)"), "")
    assert lines[0] in [line for body in shown for line in body.splitlines()]


def test_setup_with_no_python_at_all_says_so(tmp_path):
    repo, env = _bare_machine(tmp_path)
    done = _run_script(repo, env, "scripts/find_python.sh")
    assert (done.returncode, done.stdout) == (1, "")
    assert "(no python3 on the PATH)" in done.stderr and len(done.stderr.splitlines()) == 1


def _new_enough_python() -> Path:
    """An interpreter >= 3.12 that is not a venv's (the one running the tests is based on one)."""
    return Path(sys._base_executable)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "where",
    [
        "versions/3.12.99/bin/python3",  # pyenv's, under $HOME/.pyenv
        "uv/python/cpython-3.12.99-linux-x86_64-gnu/bin/python3",  # uv's, under $HOME/.local/share
    ],
    ids=["pyenv", "uv"],
)
def test_find_python_finds_installed_pythons_that_python3_does_not_run(tmp_path, where):
    # Under pyenv with a global 3.11, `python3` is 3.11 and the python3.12 shim fails: the set-up
    # must still find the 3.12 that pyenv (or uv) installed.
    repo, env = _bare_machine(tmp_path)
    bin_dir = Path(env["PATH"])
    _fake_python(bin_dir / "python3", "3.11.7")
    shim = bin_dir / "python3.12"
    shim.write_text('#!/bin/sh\necho "pyenv: python3.12: command not found" >&2\nexit 127\n')
    shim.chmod(0o755)
    root = Path(env["HOME"]) / (".pyenv" if where.startswith("versions/") else ".local/share")
    installed = root / where
    installed.parent.mkdir(parents=True)
    installed.symlink_to(_new_enough_python())
    done = _run_script(repo, env, "scripts/find_python.sh")
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()).resolve() == installed.resolve()


def test_find_python_gives_the_base_interpreter_of_a_venv(tmp_path):
    # An activated venv's python3 comes first on the PATH; `-m venv --clear .venv` must not be run by
    # the interpreter inside the .venv it empties, so the base interpreter is given instead.
    if sys.prefix == sys.base_prefix:
        pytest.skip("the tests do not run in a venv here")
    repo, env = _bare_machine(tmp_path)
    (Path(env["PATH"]) / "python3").symlink_to(Path(sys.executable))
    done = _run_script(repo, env, "scripts/find_python.sh")
    assert done.returncode == 0, done.stderr
    found = Path(done.stdout.strip())
    assert not (found.parent.parent / "pyvenv.cfg").exists(), found
    assert found.resolve() == _new_enough_python().resolve()


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


# --- 6. the documentation site ----------------------------------------------------------------------

DOCS = REPO / "docs"
API = DOCS / "api"


def _conf():
    """docs/conf.py as a module (importing it has no side effects: its hooks run only in a build)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("docs_conf", DOCS / "conf.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _api_entries() -> tuple[list[tuple[str, str, bool]], list[str], str]:
    """From docs/api/*.rst: (current module, name, has its own page) of every autosummary entry, the
    automodule'd modules, and the pages' text."""
    entries: list[tuple[str, str, bool]] = []
    modules: list[str] = []
    texts = []
    for page in sorted(API.glob("*.rst")):
        text = _text(page)
        texts.append(text)
        current = ""
        lines = text.splitlines()
        for i, line in enumerate(lines):
            if m := re.match(r"\.\. (currentmodule|automodule|module):: (\S+)", line):
                current = m.group(2)
                if m.group(1) != "currentmodule":
                    modules.append(current)
            elif line.startswith(".. autosummary::"):
                body = list(itertools.takewhile(lambda s: not s or s.startswith("   "), lines[i + 1 :]))
                toctree = any(s.strip().startswith(":toctree:") for s in body)
                for item in body:
                    name = item.strip().lstrip("~")
                    if name and not name.startswith(":"):
                        entries.append((current, name, toctree))
    return entries, modules, "\n".join(texts)


def _resolve(current: str, name: str):
    import importlib

    full = name if name.startswith(current.split(".")[0] + ".") else f"{current}.{name}"
    module_name, _, attr = full.rpartition(".")
    return getattr(importlib.import_module(module_name), attr)


def _public_modules() -> list:
    import importlib
    import pkgutil

    import bayesreg.stats

    stats = [
        importlib.import_module(f"bayesreg.stats.{m.name}")
        for m in pkgutil.iter_modules(bayesreg.stats.__path__)
        if not m.name.startswith("_")
    ]
    return [
        importlib.import_module("bayesreg.priors"),
        importlib.import_module("bayesreg.exceptions"),
        *stats,
    ]


def test_api_reference_documents_every_public_object_once():
    import bayesreg

    entries, modules, text = _api_entries()
    pages = [(c, n) for c, n, own in entries if own]
    documented = [_resolve(c, n) for c, n in pages]
    # Each object has one page: a re-export (bayesreg.ConvergenceWarning, stats.conjugate's
    # SufficientStats) is listed where it is documented, not given a second page.
    twice = [f"{c}.{n}" for (c, n), obj in zip(pages, documented, strict=True) if documented.count(obj) > 1]
    assert not twice, f"documented twice: {twice}"
    # Linked entries (no page of their own) must point at documented objects.
    for current, name, own in entries:
        if not own:
            assert any(_resolve(current, name) is obj for obj in documented), f"{current}.{name}"

    def missing(module, names) -> list[str]:
        return [n for n in names if not any(getattr(module, n) is obj for obj in documented)]

    # Everything `import bayesreg` gives: objects have a page, modules a page, __version__ a mention.
    public = [
        n for n in bayesreg.__all__ if n != "__version__" and not inspect.ismodule(getattr(bayesreg, n))
    ]
    assert not missing(bayesreg, public), "not in docs/api/: " + ", ".join(missing(bayesreg, public))
    assert "bayesreg.__version__" in text
    for name in bayesreg.__all__:
        if inspect.ismodule(getattr(bayesreg, name)):
            assert f"bayesreg.{name}" in modules, f"docs/api/ has no page for bayesreg.{name}"
    # bayesreg.priors, bayesreg.exceptions and every public module of bayesreg.stats, new ones too.
    assert "bayesreg" in modules and "bayesreg.stats" in modules
    for module in _public_modules():
        assert module.__name__ in modules, f"docs/api/ does not document the module {module.__name__}"
        gone = missing(module, module.__all__)
        assert not gone, f"{module.__name__}: not in docs/api/: {', '.join(gone)}"


def test_api_pages_are_in_the_api_toctree():
    index = _text(API / "index.md")
    for page in API.glob("*.rst"):
        assert re.search(rf"^{page.stem}$", index, re.MULTILINE), f"api/index.md does not list {page.name}"


def test_docs_conf_leaves_nothing_out_silently():
    conf = _conf()
    # Notebooks are rendered from their committed outputs, every one of them (index.md globs).
    assert conf.nb_execution_mode == "off"
    index = _text(DOCS / "index.md")
    assert re.search(r"^:glob:$", index, re.MULTILINE) and re.search(r"^notebooks/\*$", index, re.MULTILINE)
    assert conf.NOTEBOOKS == NOTEBOOK_DIR
    # Each file of docs/ kept out of the build is shown by the page that includes it.
    for pattern in conf.exclude_patterns:
        if pattern == "_build":
            continue
        assert (DOCS / pattern).is_file(), f"exclude_patterns names {pattern}, which is not a file"
        shown_by = conf.SHOWN_BY.get(pattern)
        assert shown_by, f"docs/{pattern} is excluded, and no page is said to show it (SHOWN_BY)"
        assert re.search(rf"^```{{include}} {re.escape(pattern)}$", _text(DOCS / shown_by), re.MULTILINE)
    # Only scikit-learn's methods are left off the class pages.
    from bayesreg import BayesianLinearRegression as Est

    def skipped(name: str) -> bool:
        return bool(conf._skip_foreign_members(None, "class", name, getattr(Est, name), False, {}))

    assert all(skipped(n) for n in ("get_params", "set_params", "score", "get_metadata_routing"))
    assert not any(skipped(n) for n in ("fit", "predict", "save", "load", "ridge_equivalent", "penalty"))


def _rst_errors(docstring: str) -> list[str]:
    """docutils' errors in a docstring, other than Sphinx's roles (:func:, :class:, ...)."""
    import io

    import docutils.core

    stream = io.StringIO()
    docutils.core.publish_doctree(
        inspect.cleandoc(docstring), settings_overrides={"warning_stream": stream, "report_level": 2}
    )
    messages = re.split(r"\n(?=<string>:)", stream.getvalue().strip())
    return [m for m in messages if m and "Unknown interpreted text role" not in m]


def test_docstrings_left_out_of_the_site_are_still_broken():
    # DOCSTRINGS_LEFT_OUT is for now only: once a docstring parses, its entry must go (and the
    # docstring is back on the site). Each entry stays in the reference, with a note.
    import importlib

    pytest.importorskip("docutils")
    conf = _conf()
    entries, modules, _ = _api_entries()
    documented = {
        f"{c}.{n}" if not n.startswith(c.split(".")[0] + ".") else n for c, n, own in entries if own
    }
    for name in conf.DOCSTRINGS_LEFT_OUT:
        if name in modules:
            obj = importlib.import_module(name)
        else:
            assert name in documented, f"{name} is not on the API pages"
            obj = _resolve(*name.rsplit(".", 1))
        assert _rst_errors(obj.__doc__), f"{name}'s docstring parses now: remove it from DOCSTRINGS_LEFT_OUT"


@pytest.mark.parametrize(
    ("target", "written_in", "expected"),
    [
        ("docs/cli.md", REPO, "command.md"),  # the page that shows docs/cli.md
        ("docs/architecture.md", REPO, "architecture.md"),
        ("notebooks/05_logistic.ipynb", REPO, "notebooks/05_logistic.ipynb"),  # the rendered copy
        ("../notebooks/05_logistic.ipynb", DOCS, "notebooks/05_logistic.ipynb"),
        ("CHANGELOG.md", REPO, "path:../CHANGELOG.md"),  # not on the site: a download
        ("#choosing-σ", REPO, "#choosing-σ"),
        ("https://www.pymc.io", REPO, "https://www.pymc.io"),
    ],
)
def test_links_written_for_github_go_to_the_sites_pages(target, written_in, expected):
    assert _conf().site_link(target, written_in) == expected


def test_docs_pages_include_readme_sections_that_exist():
    # The pages include the README's sections by their headings (and one marker comment), so that
    # the site and the README say the same; a renamed heading must be renamed in docs/ too.
    readme = _text()
    for page in DOCS.glob("*.md"):
        text = _text(page)
        for include in re.finditer(
            r"^```\{include\} \.\./README\.md\n(.*?)^```", text, re.DOTALL | re.MULTILINE
        ):
            for option, value in re.findall(
                r'^:(start-after|end-before): "(.*)"$', include.group(1), re.MULTILINE
            ):
                assert value in readme, f"{page.name}: {option} {value!r} is not in README.md"


def test_readme_builds_the_docs_as_ci_does():
    builds = [c for c in _commands(_text()) if "sphinx-build" in c]
    assert len(builds) == 1, f"README should give one command that builds the docs: {builds}"
    install, build = (part.strip() for part in builds[0].split("&&"))
    assert install == '.venv/bin/pip install -e ".[docs]"'
    ci = _text(CI)
    ci_build = re.search(r'^"\$VENV/bin/sphinx-build" (.*)$', ci, re.MULTILINE)
    assert ci_build, ".ci/run does not build the docs"
    assert build == ".venv/bin/sphinx-build " + ci_build.group(1).replace("-q ", "")
    assert "-W" in build.split()
    # After the linters, before the tests.
    assert ci.index('"$VENV/bin/mypy"') < ci_build.start() < ci.index('"$VENV/bin/pytest"')
    extras = tomllib.loads(_text(REPO / "pyproject.toml"))["project"]["optional-dependencies"]
    names = {re.split(r"[\s\[<>=!~;]", req, maxsplit=1)[0].lower() for req in extras["docs"]}
    assert {"sphinx", "numpydoc", "myst-nb"} <= names and names & {"pydata-sphinx-theme", "furo"}
    ignored = _text(REPO / ".gitignore").splitlines()
    assert {"docs/_build/", "docs/api/generated/", "docs/notebooks/"} <= set(ignored)


def test_install_page_lists_every_extra():
    extras = set(tomllib.loads(_text(REPO / "pyproject.toml"))["project"]["optional-dependencies"])
    listed = set(re.findall(r"^\| `([\w-]+)` \|", _text(DOCS / "install.md"), re.MULTILINE))
    assert listed == extras, (
        f"docs/install.md's extras table: missing {extras - listed}, gone {listed - extras}"
    )

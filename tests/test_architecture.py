"""The layers of docs/architecture.md, checked over the ast of every module.

Every import counts, at module level or inside a function, under TYPE_CHECKING or not: a cycle
or an upward import that only runs late is still one that a reader must untangle.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.helpers import REPO

PACKAGE = REPO / "src" / "bayesreg"

# Lower number = lower layer; a module may import its own layer and those below.
LAYERS = {"root": 0, "stats": 1, "backend": 2, "estimators": 3, "analysis": 4, "app": 5}
ANALYSIS = {"bayesreg.compare", "bayesreg.selection", "bayesreg.plotting", "bayesreg.formula"}
BACKEND_ONLY = ("pymc", "pytensor", "nutpie")
NOT_IN_STATS = (*BACKEND_ONLY, "arviz", "sklearn", "matplotlib", "xarray", "rich")
# Progress bars are drawn by one module; the layers below it report progress through callbacks.
RICH_IMPORTER = "bayesreg.estimators.progress"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer(name: str) -> str:
    if name == "bayesreg.__main__":  # `python -m bayesreg` is the command
        return "app"
    parts = name.split(".")
    if len(parts) > 2 or (len(parts) == 2 and name in {f"bayesreg.{k}" for k in LAYERS}):
        return parts[1]
    return "analysis" if name in ANALYSIS else "root"


def imports_of(name: str) -> tuple[set[str], set[str]]:
    """The bayesreg modules ``name`` imports, and the top-level names of the other packages."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    ours, theirs = set(), set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        for target in targets:
            if not target.startswith("bayesreg"):
                theirs.add(target.split(".")[0])
                continue
            while target not in MODULES and "." in target:
                target = target.rsplit(".", 1)[0]
            # The root package is every module's parent, imported before any of them; an edge to
            # it is not a dependency (its own lazy names are checked separately).
            if target != name and target != "bayesreg":
                ours.add(target)
    return ours, theirs


GRAPH = {name: imports_of(name)[0] for name in MODULES}


def test_there_is_no_import_cycle():
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(GRAPH[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for name in MODULES:
        if name not in state:
            visit(name, [name])
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n != "bayesreg"))
def test_imports_point_down_the_layers(name):
    own = LAYERS[layer(name)]
    upward = sorted(t for t in GRAPH[name] if LAYERS[layer(t)] > own)
    assert not upward, f"{name} ({layer(name)}) imports {upward} from a higher layer"


def test_the_public_facade_imports_only_root_modules_at_run_time():
    tree = ast.parse(MODULES["bayesreg"].read_text())
    runtime = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    modules = {
        f"{n.module}.{a.name}" if n.module == "bayesreg" else n.module
        for n in runtime
        if isinstance(n, ast.ImportFrom)
        for a in n.names
    }
    assert {m for m in modules if m and m.startswith("bayesreg")} <= {
        "bayesreg._moved",
        "bayesreg.priors",
        "bayesreg._version",
    }


@pytest.mark.parametrize("name", sorted(MODULES))
def test_only_the_backend_imports_pymc(name):
    _, theirs = imports_of(name)
    if layer(name) != "backend":
        assert not theirs & set(BACKEND_ONLY), f"{name} imports {sorted(theirs & set(BACKEND_ONLY))}"
    if layer(name) == "stats":
        assert not theirs & set(NOT_IN_STATS), f"{name} imports {sorted(theirs & set(NOT_IN_STATS))}"


def test_only_the_progress_module_imports_rich():
    importers = sorted(name for name in MODULES if "rich" in imports_of(name)[1])
    assert importers == [RICH_IMPORTER], importers


def test_nothing_imports_the_formula_module():
    # from_formula is an entry point, reached through the lazy public API only.
    importers = [name for name, deps in GRAPH.items() if "bayesreg.formula" in deps and name != "bayesreg"]
    assert not importers, importers


def test_subpackage_inits_import_nothing():
    for name, path in MODULES.items():
        if path.name == "__init__.py" and name != "bayesreg":
            body = ast.parse(path.read_text()).body
            assert not [n for n in body if isinstance(n, ast.Import | ast.ImportFrom)], name


def test_docs_architecture_lists_every_module_and_only_those():
    text = (REPO / "docs" / "architecture.md").read_text()
    tree = text.split("```")[1]
    listed = set(re.findall(r"^\s+([\w]+\.py)\b", tree, flags=re.MULTILINE))
    folders = set(re.findall(r"^\s+(\w+)/\s", tree, flags=re.MULTILINE))
    on_disk = {p.name for p in PACKAGE.rglob("*.py")} - {"__main__.py"}
    assert listed == on_disk
    assert folders == {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}

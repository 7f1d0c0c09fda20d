"""``report.md`` and the files beside it: real GFM tables, one named interval kind, clear sources.

Tables are checked with a Markdown parser that knows GFM pipe tables (markdown-it-py), not by string
search: a header with more cells than its delimiter row is no table at all for a GFM renderer.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from markdown_it import MarkdownIt

from bayesreg.app.cli import main
from bayesreg.app.report import markdown_table

SWEEP_SPEC = """\
schema_version = 1
seed = 0
[data]
dataset = "diabetes"
[model]
prior_sigma = [1.0, 10.0]
noise_sigma = 54.0
[sampler]
method = "{method}"
draws = 100
chains = 2
"""
# A GFM delimiter row: every intended table has one under its header.
DELIMITER_ROW = re.compile(r"^\|(\s*:?-+:?\s*\|)+\s*$", re.MULTILINE)


def gfm_tables(text: str) -> list[list[list[str]]]:
    """Every table a GFM parser finds in ``text``: a list of rows (header first) of cell texts."""
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    tables, rows, row, in_cell = [], None, None, False
    for tok in tokens:
        if tok.type == "table_open":
            rows = []
        elif tok.type == "tr_open":
            row = []
        elif tok.type in ("th_open", "td_open"):
            in_cell = True
            row.append("")
        elif tok.type in ("th_close", "td_close"):
            in_cell = False
        elif tok.type == "inline" and in_cell:
            row[-1] = "".join(child.content for child in tok.children or [])
        elif tok.type == "tr_close":
            rows.append(row)
        elif tok.type == "table_close":
            tables.append(rows)
    return tables


def assert_all_tables_render(text: str) -> list[list[list[str]]]:
    tables = gfm_tables(text)
    assert len(tables) == len(DELIMITER_ROW.findall(text)), "a pipe table does not parse as a GFM table"
    for table in tables:
        header, *body = table
        assert body, header
        for row in body:
            assert len(row) == len(header), (header, row)
    return tables


def run(tmp_path: Path, method: str, extra: str = "") -> Path:
    spec = tmp_path / f"{method}.toml"
    spec.write_text(SWEEP_SPEC.format(method=method) + extra)
    out = tmp_path / f"out_{method}"
    assert main(["run", str(spec), "--out", str(out), "-q"]) == 0
    return out


@pytest.fixture(scope="module")
def exact_run(tmp_path_factory) -> Path:
    return run(tmp_path_factory.mktemp("exact"), "exact")


@pytest.fixture(scope="module")
def map_run(tmp_path_factory) -> Path:
    return run(tmp_path_factory.mktemp("map"), "map")


# --- GFM tables ------------------------------------------------------------------------------------


def test_markdown_table_escapes_header_cells_like_body_cells():
    frame = pd.DataFrame(
        {"max |a-b|": [1.0, np.nan], "note": ["x | y", "two\nlines"]},
        index=pd.Index(["r1", "r|2"], name="t|erm"),
    )
    (table,) = assert_all_tables_render(markdown_table(frame))
    assert table == [["t|erm", "max |a-b|", "note"], ["r1", "1", "x | y"], ["r|2", "", "two lines"]]


@pytest.mark.parametrize("fixture", ["exact_run", "map_run"])
def test_every_table_of_a_sweep_report_is_a_gfm_table(request, fixture):
    out = request.getfixturevalue(fixture)
    tables = assert_all_tables_render((out / "report.md").read_text())
    assert len(tables) == 3  # the sweep, then one table per prior_sigma
    sweep_header = tables[0][0]
    assert sweep_header[:3] == ["prior_sigma", "penalty", "max |MAP-ridge|"]
    assert [row[0] for row in tables[0][1:]] == ["1", "10"]
    for table in tables[1:]:
        assert table[0][:7] == [
            "term",
            "ridge",
            "map",
            "posterior_mean",
            "posterior_sd",
            "hdi94_low",
            "hdi94_high",
        ]


# --- one kind of interval, named --------------------------------------------------------------------


def test_a_run_folder_has_one_interval_kind_with_its_probability_in_every_name(exact_run):
    text = (exact_run / "report.md").read_text()
    assert "94% highest-density intervals (HDI) throughout this folder" in text
    assert "as a bar, the 94% HDI (exact posterior)" in text
    for folder in ("sigma_1", "sigma_10"):
        comparison = pd.read_csv(exact_run / folder / "comparison.csv", index_col="term")
        summary = pd.read_csv(exact_run / folder / "summary.csv", index_col=0)
        assert {"hdi94_low", "hdi94_high"} <= set(comparison.columns)
        assert {"hdi94_lb", "hdi94_ub"} <= set(summary.columns)
        names = [*comparison.columns, *summary.columns]
        # No interval of another kind or an unnamed probability (ArviZ's default is an 89% ETI).
        assert not [c for c in names if c.startswith("eti") or c in ("hdi_low", "hdi_high")], names
        assert (comparison["uncertainty_source"] == "exact").all()
    sweep = pd.read_csv(exact_run / "sweep.csv")
    assert {"hdi94_low", "hdi94_high", "uncertainty_source"} <= set(sweep.columns)


def test_map_report_shows_laplace_intervals_and_says_so(map_run):
    text = (map_run / "report.md").read_text()
    assert text.count("are those of the **Laplace approximation** at the MAP") == 2
    assert "94% HDI (Laplace at the MAP)" in text
    assert "MAP ± 1.88 sd" in text
    assert "its mean should equal ridge too" not in text  # there is no posterior mean to compare
    table = pd.read_csv(map_run / "sigma_10" / "comparison.csv", index_col="term")
    assert np.isfinite(table["posterior_sd"]).all() and table["posterior_mean"].isna().all()
    assert (table["uncertainty_source"] == "laplace").all()
    np.testing.assert_allclose(
        table["hdi94_high"] - table["map"], 1.880794 * table["posterior_sd"], rtol=1e-6
    )


# --- the log likelihood's share of posterior.nc -----------------------------------------------------


def test_report_gives_the_size_of_the_log_likelihood_group(exact_run):
    text = (exact_run / "report.md").read_text()
    lines = [line for line in text.splitlines() if line.startswith("posterior.nc is ")]
    assert len(lines) == 2
    match = re.match(
        r"posterior.nc is (\d+) kB; (\d+) kB of it \((\d+)%\) is the pointwise log likelihood", lines[0]
    )
    assert match, lines[0]
    total, log_lik = int(match[1]), int(match[2])
    assert total == pytest.approx((exact_run / "sigma_1" / "posterior.nc").stat().st_size / 1e3, abs=1)
    assert log_lik == pytest.approx(2 * 100 * 442 * 8 / 1e3, rel=0.01)  # chains × draws × rows × 8 bytes
    assert "2 chains × 100 draws × 442 rows" in lines[0]
    assert "Set `compute_log_likelihood = false` in `[sampler]` to leave it out." in lines[0]


def test_without_the_log_likelihood_the_report_says_loo_cannot_use_the_file(tmp_path):
    out = run(tmp_path, "exact", "compute_log_likelihood = false\n")
    text = (out / "report.md").read_text()
    assert text.count("has no pointwise log likelihood (`compute_log_likelihood = false`)") == 2
    assert "PSIS-LOO (`arviz.loo`) cannot be computed from it" in text
    assert "posterior.nc is " not in text


# --- the data file that was read (issue 16: a spec's csv may point anywhere) -------------------------

CSV_SPEC = """\
schema_version = 1
seed = 0
[data]
csv = "{csv}"
target = "y"
[model]
prior_sigma = 1.0
noise_sigma = 1.0
[sampler]
method = "exact"
draws = 50
chains = 2
"""


@pytest.mark.parametrize("how", ["dotdot", "symlink", "absolute"])
def test_report_records_the_resolved_csv_path_and_its_hash(tmp_path, how):
    import hashlib

    import xarray as xr

    data = tmp_path / "elsewhere" / "data.csv"
    data.parent.mkdir()
    data.write_text("a,b,y\n1,0,2.1\n2,1,2.9\n3,0,4.2\n4,1,4.8\n5,0,6.1\n")
    models = tmp_path / "project" / "models"
    models.mkdir(parents=True)
    written = {"dotdot": "../../elsewhere/data.csv", "absolute": str(data)}.get(how, "link.csv")
    if how == "symlink":
        (models / "link.csv").symlink_to(data)
    spec = models / "s.toml"
    spec.write_text(CSV_SPEC.format(csv=written))
    out = tmp_path / "out"
    assert main(["run", str(spec), "--out", str(out), "-q"]) == 0

    digest = hashlib.sha256(data.read_bytes()).hexdigest()
    relative = "" if how == "absolute" else ", relative to the folder of the spec"
    text = (out / "report.md").read_text()
    assert (
        f'Read from `{data.resolve()}` (SHA-256 `{digest}`): the spec\'s `csv = "{written}"`{relative}.'
        in text
    )
    attrs = xr.open_datatree(out / "posterior.nc").attrs
    assert attrs["data_file"] == str(data.resolve())
    assert attrs["data_sha256"] == digest


def test_bundled_data_names_no_file(exact_run):
    assert "Read from" not in (exact_run / "report.md").read_text()

"""Notebooks are stored without outputs and executed by the test suite; their tables show real figures."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from .conftest import REPO

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


def execute(nb: nbformat.NotebookNode, folder: Path = REPO / "notebooks") -> nbformat.NotebookNode:
    """Run every cell of `nb` in a fresh kernel, in `folder`, as a reader would; the outputs go into `nb`."""
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    ).execute()
    return nb


def errors(nb: nbformat.NotebookNode) -> list[str]:
    return [
        f"{o.ename}: {o.evalue}"
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "error"
    ]


class _Tables(HTMLParser):
    """Every <table> in an HTML output, as a header row and body rows of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[tuple[list[list[str]], list[list[str]]]] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._in_head = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append(([], []))
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "thead":
            self._in_head = False
        elif tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None and self.tables:
            header_rows, body = self.tables[-1]
            (header_rows if self._in_head else body).append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


_ZERO = re.compile(r"^[-+]?\$?[-+]?0+(?:\.0*)?\s*(?:[kMB%]|t|kW|kWh)?$")


def zero_columns(html: str) -> list[str]:
    """Names of the table columns in `html` whose every shown value reads as zero ("0", "0.0", "$0", "0 %").

    A column that reads zero on every row says nothing even where the data are zero, and where they are
    not it is a rounding bug (a share or a price rounded to thousands): either way it should not be shown.
    """
    parser = _Tables()
    parser.feed(html)
    found = []
    for header_rows, body in parser.tables:
        # the header row that names the columns (a named index adds a row of its own, mostly empty)
        header = max(header_rows, key=lambda r: sum(bool(c) for c in r), default=[])
        rows = [r for r in body if r]
        if len(rows) < 2 or not header:
            continue
        width = len(header)
        for i in range(width):
            # body rows may start with index cells the header lacks on the left: align from the right
            cells = [r[len(r) - width + i] for r in rows if len(r) >= width]
            if cells and all(_ZERO.match(c) for c in cells):
                found.append(header[i] or f"column {i}")
    return found


def test_zero_columns_finds_rounded_away_columns() -> None:
    rounded = (
        "<table><thead><tr><th></th><th>share</th><th>total</th><th>count</th></tr></thead><tbody>"
        "<tr><th>0</th><td>0.0</td><td>$6.6 M</td><td>0</td></tr>"
        "<tr><th>1</th><td>0.0</td><td>$0</td><td>3</td></tr></tbody></table>"
    )
    assert zero_columns(rounded) == ["share"]
    fixed = rounded.replace("<td>0.0</td><td>$6.6 M", "<td>0.05</td><td>$6.6 M")
    assert zero_columns(fixed) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs, f"{path.name}: a cell has stored outputs"
            assert cell.execution_count is None


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_executes_and_its_tables_show_real_figures(path: Path) -> None:
    nb = execute(nbformat.read(path, as_version=4), path.parent)
    assert not errors(nb), errors(nb)
    tables = 0
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            html = out.get("data", {}).get("text/html", "")
            if "<table" in html:
                tables += 1
                assert not zero_columns(html), f"{path.name} cell {i}: all-zero columns {zero_columns(html)}"
    if path.stem in ("tco-deep-dive", "hybrid-fleet", "quickstart"):
        assert tables, f"{path.name} showed no table: the check above checked nothing"

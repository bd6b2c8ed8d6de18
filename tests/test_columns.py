"""The device table is declared once (explorer.columns): the terminal, the browser, the export and the app
read that one declaration, so a column added there shows everywhere, with its source."""

from __future__ import annotations

import csv
import html
import io
import re

import pytest

from explorer import columns, export, views
from explorer.app import catalog_summary
from explorer.catalog import load_catalog
from explorer.cli import main

CAT = load_catalog()


def _browser_table(page: str) -> tuple[list[str], list[list[str]]]:
    """The catalog browser's device table: its headers and each row's cells (HTML)."""
    head = re.findall(r"<th>(.*?)</th>", page)
    rows = [re.findall(r"<td[^>]*>(.*?)</td>", r) for r in re.findall(r"<tr>(.*?)</tr>", page)[1:]]
    return [html.unescape(h) for h in head], rows


def _plain(cell: str) -> str:
    """A cell's figure without its markup and its small print."""
    figure = re.sub(r"<small>.*?</small>", "", cell.split("<br>")[0])
    return html.unescape(re.sub(r"<[^>]+>", "", figure)).strip()


def _terminal(capsys) -> list[str]:
    assert main(["catalog", "devices"]) == 0
    return capsys.readouterr().out.splitlines()


def test_every_view_shows_the_declared_columns_with_the_same_figures(capsys) -> None:
    head, rows = _browser_table(views.devices_html(CAT))
    assert head == [c.label for c in columns.columns_for("browser")]
    assert len(rows) == len(CAT.devices)
    lines = _terminal(capsys)
    assert lines[0].split()[:3] == ["id", "kind", "segment"]
    for c in columns.columns_for("terminal"):
        assert c.header("terminal") in lines[0], c.label
    exported = list(csv.reader(io.StringIO(export.devices_csv(CAT))))
    assert len(exported) == len(CAT.devices) + 1
    ordered = columns.sorted_devices(CAT)
    for c in columns.columns_for("browser"):
        if "terminal" not in c.views:
            continue
        i = head.index(c.label)
        for r, cells, line in zip(ordered.itertuples(), rows, lines[1:], strict=False):
            # the same figure in the browser and in the terminal (the terminal adds the detail after it)
            assert _plain(cells[i]) == c.cell(r), (c.label, r.id)
            assert c.cell(r) in line, (c.label, r.id)


@pytest.mark.slow
def test_a_sourced_column_carries_its_source_in_the_browser_and_the_export() -> None:
    head, rows = _browser_table(views.devices_html(CAT))
    exported = list(csv.DictReader(io.StringIO(export.devices_csv(CAT))))
    for c in columns.DEVICE_COLUMNS:
        if not c.source:
            continue
        for r, cells, out in zip(columns.sorted_devices(CAT).itertuples(), rows, exported, strict=True):
            prov = CAT.source_of("devices", r.id, c.source_field(r))
            if prov is None:
                continue
            assert prov["source_title"] in html.unescape(cells[head.index(c.label)]), (c.label, r.id)
            assert out[f"{c.label}: source"] == prov["source_title"], (c.label, r.id)
            assert out[f"{c.label}: retrieved"] == str(prov["retrieved"]), (c.label, r.id)


@pytest.mark.slow
def test_one_declaration_adds_a_column_to_the_terminal_the_browser_the_export_and_the_app(
    monkeypatch, capsys
) -> None:
    added = columns.Column(
        "power per GB of memory",
        ("power_w", "memory_gb"),
        unit="W/GB",
        show=lambda r: columns.fixed(1)(r.power_w / r.memory_gb),
        source="power",
        short="W per GB",
        numeric=True,
    )
    monkeypatch.setattr(columns, "DEVICE_COLUMNS", (*columns.DEVICE_COLUMNS, added))
    h100 = CAT.devices.set_index("id").loc["nvidia-h100-sxm"]
    shown = f"{h100.power_w / h100.memory_gb:,.1f}"

    lines = _terminal(capsys)
    assert lines[0].split()[-3:] == ["W", "per", "GB"]
    assert next(x for x in lines if x.strip().startswith("nvidia-h100-sxm ")).rstrip().endswith(shown)

    head, rows = _browser_table(views.devices_html(CAT))
    assert head[-1] == "power per GB of memory"
    cell = rows[list(columns.sorted_devices(CAT).id).index("nvidia-h100-sxm")][-1]
    assert _plain(cell) == shown and "title='" in cell, "the figure, with its source in the tooltip"

    out = {r["id"]: r for r in csv.DictReader(io.StringIO(export.devices_csv(CAT)))}
    assert out["nvidia-h100-sxm"]["power per GB of memory (W/GB)"] == shown
    assert out["nvidia-h100-sxm"]["power per GB of memory: source"]

    assert {"power_w", "memory_gb"} <= set(catalog_summary(CAT).columns)


@pytest.mark.parametrize("view", columns.VIEWS)
def test_each_view_has_columns(view: str) -> None:
    shown = columns.columns_for(view)
    assert len(shown) >= 8 and len({c.header(view) for c in shown}) == len(shown), "no header twice"

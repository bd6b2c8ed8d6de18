"""Exports: the scenario as JSON, the results as CSV, charts as PNG/SVG, and a one-page HTML report.

Everything renders offline: charts through vl-convert (Vega bundled in the package), the report as one
self-contained HTML file with its charts inlined as SVG.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
from typing import Any

import altair as alt
import pandas as pd

from . import charts as C
from .calc import EvaluationResult, usd, volume
from .catalog import Catalog
from .scenario import FIELD_SPECS

#: Columns of the results CSV, in order (the CLI's JSON option keys, plus sources).
CSV_COLUMNS = [
    "rank",
    "device_id",
    "name",
    "vendor",
    "kind",
    "segment",
    "available",
    "unavailable_reason",
    "throughput_per_device_rps",
    "throughput_measured",
    "throughput_source",
    "devices_needed",
    "training_devices",
    "training_device_id",
    "device_power_kw",
    "wall_power_kw",
    "facility_power_kw",
    "energy_kwh_per_year",
    "energy_cost_usd_per_year",
    "hardware_cost_usd",
    "porting_cost_usd",
    "tco_usd",
    "cost_per_million_requests_usd",
    "requests_per_joule",
    "co2_tonnes_per_year",
    "break_even_month",
    "price_source",
    "power_source",
]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula (=, +, -, @, tab, CR) gets a leading quote.

    Numbers stay numbers; only text is touched (OWASP's CSV-injection advice).
    """
    if isinstance(cell, str) and cell.startswith(_FORMULA_START):
        return "'" + cell
    return cell


def scenario_json(result: EvaluationResult) -> str:
    return result.scenario.to_json() + "\n"


def results_csv(result: EvaluationResult) -> str:
    df = result.options_frame()
    df.insert(0, "rank", range(1, len(df) + 1))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in df[CSV_COLUMNS].itertuples(index=False):
        writer.writerow(
            ["" if (isinstance(v, float) and v != v) or v is None else neutralise(v) for v in row]
        )
    return buf.getvalue()


def chart_svg(chart: alt.TopLevelMixin) -> str:
    import vl_convert as vlc

    return vlc.vegalite_to_svg(chart.to_dict(), vl_version=_vl_version())


def chart_png(chart: alt.TopLevelMixin, scale: float = 2.0) -> bytes:
    import vl_convert as vlc

    return vlc.vegalite_to_png(chart.to_dict(), vl_version=_vl_version(), scale=scale)


def _vl_version() -> str:
    return alt.SCHEMA_VERSION.lstrip("v").rsplit(".", 1)[0]


def _provenance_for(result: EvaluationResult, cat: Catalog) -> pd.DataFrame:
    """The catalog figures behind this result: devices offered, their prices, the workload, the region,
    the PUE default and the assumptions, each with its source and date."""
    s = result.scenario
    used_devices = {o.device_id for o in result.options if o.available}
    p = cat.provenance
    keep = (
        (p.collection.isin(["devices", "prices"]) & p.item.isin(used_devices))
        | ((p.collection == "workloads") & (p.item == s.workload))
        | ((p.collection == "results") & (p.item == s.workload))
        | ((p.collection == "regions") & (p.item == s.region))
        | (p.collection.isin(["pue", "assumptions"]))
    )
    cols = [
        "collection",
        "item",
        "field",
        "value",
        "unit",
        "estimate",
        "method",
        "source_title",
        "source_url",
        "retrieved",
    ]
    return p.loc[keep, cols]


def report_html(result: EvaluationResult, cat: Catalog) -> str:
    """A one-page, self-contained HTML report: headline, reasons, ranking, charts, assumptions, sources."""
    s = result.scenario
    rec = result.recommendation
    data = C.chart_data(result, cat)
    figures = C.build_all(data, s.horizon_years)
    esc = html.escape

    assumptions = []
    for name, spec in FIELD_SPECS.items():
        value = getattr(s, name)
        shown = value.label() if hasattr(value, "label") else value
        if value is None:
            resolved = getattr(result.inputs, name, None)
            shown = f"{resolved:g} (from the catalog: {result.inputs.origin.get(name, '')})"
        assumptions.append(
            f"<tr><td>{esc(spec.label)}</td><td>{esc(str(shown))} {esc(spec.unit)}</td>"
            f"<td class='doc'>{esc(spec.doc)}</td></tr>"
        )

    ranking = []
    for i, o in enumerate(result.options, 1):
        cells = [
            str(i),
            o.name,
            o.kind,
            "yes" if o.available else f"no: {o.unavailable_reason}",
            f"{o.devices_needed:,}" if o.devices_needed else "–",
            usd(o.tco_usd),
            usd(o.cost_per_million_requests_usd),
            o.throughput_source,
        ]
        ranking.append("<tr>" + "".join(f"<td>{esc(str(c))}</td>" for c in cells) + "</tr>")

    sources = []
    for r in _provenance_for(result, cat).itertuples():
        est = f" <i>estimate: {esc(str(r.method))}</i>" if r.estimate else ""
        sources.append(
            f"<tr><td>{esc(r.collection)}/{esc(r.item)}</td><td>{esc(r.field)}</td>"
            f"<td>{esc(str(r.value))} {esc(str(r.unit or ''))}{est}</td>"
            f"<td><a href='{esc(r.source_url.split()[0], quote=True)}'>{esc(r.source_title)}</a></td>"
            f"<td>{esc(str(r.retrieved))}</td></tr>"
        )

    headline = (
        (
            f"<h2>{esc(rec.name)} <small>({rec.plan} plan)</small></h2>"
            + "<ul>"
            + "".join(f"<li>{esc(x)}</li>" for x in rec.reasons)
            + "</ul>"
        )
        if rec
        else "<h2>No device can serve this scenario</h2>"
    )
    charts_html = "".join(f"<div class='chart'>{chart_svg(f)}</div>" for f in figures.values())
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>GPU or accelerator: {esc(volume(s.requests_per_day))} requests/day of {esc(s.workload)}</title>
<style>
body {{ font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }}
table {{ border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 12px; }}
td, th {{ border-top: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }}
td.doc {{ color: #555; }} .chart {{ display: inline-block; margin: 0 1em 1em 0; }}
small {{ color: #666; font-weight: normal; }}
</style></head><body>
<h1>GPU or accelerator? <small>{esc(volume(s.requests_per_day))} requests/day of {esc(s.workload)},
{esc(s.deployment)}</small></h1>
<p><small>Generated {generated} by the GPU-vs-accelerator deployment explorer. Every figure below comes
from the catalog with its source and date (last table); estimates say how they were made.</small></p>
{headline}
<h3>Charts</h3>{charts_html}
<h3>Ranking</h3>
<table><tr><th>#</th><th>device</th><th>kind</th><th>available</th><th>devices</th><th>total</th>
<th>per M requests</th><th>throughput</th></tr>{"".join(ranking)}</table>
<h3>Assumptions</h3><table>{"".join(assumptions)}</table>
<h3>Sources of every figure used</h3>
<table><tr><th>item</th><th>field</th><th>value</th><th>source</th><th>retrieved</th></tr>
{"".join(sources)}</table>
</body></html>
"""

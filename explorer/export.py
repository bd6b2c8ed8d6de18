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
from . import fmt
from .calc import EvaluationResult
from .catalog import Catalog
from .columns import columns_for, sorted_devices
from .model.custom import is_llm
from .scenario import FIELD_SPECS
from .views import PLAN_NAMES
from .views_api import api_options_html

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
    "throughput_basis",
    "serving_format",
    "throughput_source",
    "devices_needed",
    "training_devices",
    "training_device_id",
    "device_power_kw",
    "wall_power_kw",
    "provisioned_power_kw",
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
    "wall_power_source",
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


def devices_csv(cat: Catalog) -> str:
    """The catalog's device table as CSV: one column per declared column (``explorer.columns``), its
    figure as a number in the declared unit (with its detail fields beside it), then, for a sourced
    figure, its source and retrieved date."""
    columns = columns_for("export")
    header: list[str] = []
    for c in columns:
        header.append(f"{c.label} ({c.unit})" if c.unit else c.label)
        header += [f"{c.label}: {d}" for d in c.fields[1:] if c.detail]
        if c.source:
            header += [f"{c.label}: source", f"{c.label}: retrieved"]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for r in sorted_devices(cat).itertuples():
        row: list[Any] = []
        for c in columns:
            # the figure as the catalog holds it (a number stays a number); a computed cell as shown
            row.append(c.cell(r) if c.show else _text(getattr(r, c.fields[0])))
            row += [_text(getattr(r, d)) for d in c.fields[1:] if c.detail]
            if c.source:
                field = c.source_field(r)
                prov = cat.source_of("devices", r.id, field) if field else None
                row += [_text(prov.get("source_title")), _text(prov.get("retrieved"))] if prov else ["", ""]
        writer.writerow([neutralise(v) for v in row])
    return buf.getvalue()


# The charts are the app's own (explorer.charts, tested against the schema there): re-validating each
# spec against the Vega-Lite JSON schema on every export cost as much as drawing it.


def chart_svg(chart: alt.TopLevelMixin) -> str:
    import vl_convert as vlc

    return vlc.vegalite_to_svg(chart.to_dict(validate=False), vl_version=_vl_version())


def chart_png(chart: alt.TopLevelMixin, scale: float = 2.0) -> bytes:
    import vl_convert as vlc

    return vlc.vegalite_to_png(chart.to_dict(validate=False), vl_version=_vl_version(), scale=scale)


def _vl_version() -> str:
    return alt.SCHEMA_VERSION.lstrip("v").rsplit(".", 1)[0]


#: Monte Carlo draws behind the report's band and odds when the caller passes none: the app's headline
#: runs the same seeded 500 draws (``widgets.HEADLINE_DRAWS``), so the figures match the page.
REPORT_DRAWS = 500

_DEPLOYMENT_NAMES = {
    "cloud": "Cloud (rented instances)",
    "bare-metal": "Bare metal (bought servers)",
    "edge": "Edge (one device set per site)",
}
_MARKET_NAMES = {"major-clouds": "major clouds only", "any-provider": "any provider"}


def _text(x: Any) -> str:
    """A cell's text: empty for None or NaN (a report never says "nan" or "None")."""
    if x is None or (isinstance(x, float) and x != x) or x is pd.NA or x is pd.NaT:
        return ""
    return str(x)


def options_table(result: EvaluationResult, bands: Any = None, *, by: str = "name") -> pd.DataFrame:
    """The ranked options as human text, as the report and the CLI show them (``fmt.option_rows``)."""
    return pd.DataFrame(fmt.option_rows(result, bands, by=by))


def _provenance_for(result: EvaluationResult, cat: Catalog) -> pd.DataFrame:
    """The catalog figures behind this result: devices offered, their prices, the workload, the region,
    the PUE default and the assumptions, each with its source and date."""
    s = result.scenario
    used_devices = {o.device_id for o in result.options if o.available}
    offers = {(o.provider, o.model_id, o.tier) for o in result.api_options}  # the serverless APIs shown
    apis = getattr(cat, "api_prices", None)
    used_apis = (
        set()
        if apis is None
        else {r.api_id for r in apis.itertuples() if (r.provider, r.model_id, r.tier) in offers}
    )
    p = cat.provenance
    keep = (
        (p.collection.isin(["devices", "prices"]) & p.item.isin(used_devices))
        | ((p.collection == "workloads") & (p.item == s.workload))
        | ((p.collection == "results") & (p.item == s.workload))
        | ((p.collection == "regions") & (p.item == s.region))
        | (p.collection.isin(["pue", "assumptions"]))
        | ((p.collection == "apis") & p.item.isin(used_apis))
    )
    return p.loc[keep]


def _sources_of(row: Any, cat: Catalog) -> list[dict[str, str]]:
    """Each source behind a provenance row: title, url, retrieved and published dates (as text)."""
    known = cat.item_sources(row.collection, row.item)
    keys = [k.strip() for k in _text(row.source_key).split(",") if k.strip()]
    out = []
    if keys and all(k in known for k in keys):
        for k in keys:
            src = known[k]
            out.append(
                {
                    "title": _text(src.get("title")),
                    "url": _text(src.get("url")),
                    "retrieved": _text(src.get("retrieved")),
                    "published": _text(src.get("published")),
                }
            )
        return out
    # a source the documents do not hold (an upload): the row's own joined fields
    titles = _text(row.source_title).split("; ")
    urls = _text(row.source_url).split()
    for i, title in enumerate(titles):
        out.append(
            {
                "title": title,
                "url": urls[i] if i < len(urls) else "",
                "retrieved": _text(row.retrieved),
                "published": _text(row.source_published),
            }
        )
    return out


def _value_text(row: Any) -> str:
    """A figure as the catalog gives it, or why it is absent."""
    if _text(row.absent):
        return f"not published: {row.absent}"
    value = row.value
    if isinstance(value, float | int) and not isinstance(value, bool):
        shown = fmt.number(value, 4) if not float(value).is_integer() else f"{value:,.0f}"
    else:
        shown = _text(value)
    return f"{shown} {_text(row.unit)}".strip()


def _link(src: dict[str, str]) -> str:
    esc = html.escape
    if src["url"].startswith(("https://", "http://")):
        return f"<a href='{esc(src['url'], quote=True)}'>{esc(src['title'])}</a>"
    return esc(src["title"]) + (f" ({esc(src['url'])})" if src["url"] else "")


def assumption_rows(result: EvaluationResult, cat: Catalog) -> list[tuple[str, str, str]]:
    """(name, value in human units, what it means) for each scenario input that applies to the scenario.

    Values the scenario leaves to the catalog say which figure was used and where it came from; fields
    that do not apply (edge sites outside an edge deployment, the cloud market outside the cloud) are
    left out.
    """
    s = result.scenario
    x = result.inputs
    names = dict(zip(cat.workloads.id, cat.workloads.name, strict=True))
    if result.custom_workload:  # your model: its name (explorer.model.custom)
        names[s.workload] = f"{result.custom_workload['name']} (your model)"
    regions = dict(zip(cat.regions.id, cat.regions.name, strict=True))
    devices = dict(zip(cat.devices.id, cat.devices.name, strict=True))

    def origin(field: str) -> str:
        return f" (from the catalog: {x.origin[field]})" if field in x.origin else " (yours)"

    shown = {
        "requests_per_day": fmt.requests_per_day(s.requests_per_day),
        "peak_to_average": f"peak {fmt.number(s.peak_to_average)}× the average",
        "workload": names.get(s.workload, s.workload),
        "current_device": devices.get(s.current_device, s.current_device) if s.current_device else "none",
        "model_changes_per_year": f"{fmt.number(s.model_changes_per_year)} a year",
        "framework_mix": s.framework_mix.label(),
        "deployment": _DEPLOYMENT_NAMES.get(s.deployment, s.deployment),
        "edge_sites": fmt.plural(s.edge_sites, "site"),
        "volume_uncertainty": f"±{fmt.percent(s.volume_uncertainty)}" if s.volume_uncertainty else "none",
        "cloud_market": _MARKET_NAMES.get(s.cloud_market, s.cloud_market),
        "training_share": f"{fmt.percent(s.training_share)} of all compute",
        "horizon_years": fmt.years(s.horizon_years),
        "region": regions.get(s.region, s.region),
        "electricity_usd_per_kwh": f"{fmt.usd(x.electricity_usd_per_kwh)} per kWh"
        + origin("electricity_usd_per_kwh"),
        "pue": f"{fmt.number(x.pue)}" + origin("pue"),
        "grid_gco2_per_kwh": f"{fmt.number(x.grid_gco2_per_kwh)} g CO2 per kWh" + origin("grid_gco2_per_kwh"),
        "utilization": fmt.percent(s.utilization),
        "engineer_day_usd": f"{fmt.usd(x.engineer_day_usd)} per day" + origin("engineer_day_usd"),
    }
    skip = set()
    if s.deployment != "edge":
        skip.add("edge_sites")
    if s.deployment != "cloud":
        skip.add("cloud_market")
    # an LLM's tokens per request left empty: the workload's sourced figure (your model's, taken from the
    # nearest catalog workload), the one the answer used
    workload = result.custom_workload or (
        cat.workloads.set_index("id").loc[s.workload].to_dict() if s.workload in set(cat.workloads.id) else {}
    )
    for name in ("input_tokens", "output_tokens"):
        used = workload.get(f"{name}_per_request")
        if getattr(s, name) is None and isinstance(used, int | float) and used == used:
            shown[name] = f"{used:,.0f} tokens (the workload's sourced figure)"
    if workload and not is_llm(workload):  # what only a language model's serving reads
        skip |= {"input_tokens", "output_tokens", "latency_target", "tokens_per_s_per_user", "ttft_s"}
    rows = []
    values = s.to_dict()
    for name, spec in FIELD_SPECS.items():
        if name in skip or not spec.shown(values):  # a field that does not apply (your model's, ...)
            continue
        value = shown.get(name)
        if value is None:  # a field added to the scenario later: its value and unit as declared
            raw = getattr(s, name)
            if raw is None:  # left empty: what empty means, never a bare unit
                value = spec.empty_means or "the catalog's figure"
            else:
                value = f"{raw.label() if hasattr(raw, 'label') else _text(raw)} {spec.unit}".strip()
        rows.append((spec.label, value, spec.doc))
    return rows


def _charts_svg(
    result: EvaluationResult, cat: Catalog, bands: Any, boundary: str
) -> tuple[dict[str, str], list[str]]:
    """Every chart of the page as inline SVG, in the page's order (``explorer.charts.CHARTS``: the grid's,
    then the tornado and the break-even map), and notes for any that could not be drawn."""
    data = C.chart_data(result, cat, boundary, bands.options if bands is not None else None)
    notes = []
    try:
        data.update(C.tornado_frames(result.scenario, cat))
    except Exception as err:  # the report still goes out, and says what is missing
        notes.append(f"The tornado could not be computed ({type(err).__name__}).")
    data.update(C.breakeven_map_frames(result.scenario, cat))
    figures: dict[str, Any] = {}
    for spec in C.CHARTS:
        if all(n in data for n in spec.datasets):
            figures[spec.name] = spec.chart(data, horizon_years=result.scenario.horizon_years)
    if "breakeven_map" in figures:
        # 2,500 cells: without their ARIA labels (each a tooltip's text) the SVG is 180 kB instead of 950 kB
        figures["breakeven_map"] = figures["breakeven_map"].configure(aria=False)
    return {name: chart_svg(chart) for name, chart in figures.items()}, notes


def _bands_for(result: EvaluationResult, cat: Catalog) -> Any:
    from .uncertainty import monte_carlo

    try:
        return monte_carlo(result.scenario, cat, draws=REPORT_DRAWS, seed=0)
    except Exception:  # the nominal answer matters more than its band; the report says it is missing
        return None


def report_html(
    result: EvaluationResult, cat: Catalog, bands: Any = None, *, boundary: str = "facility"
) -> str:
    """A self-contained, offline HTML report a manager can forward.

    Everything the app's headline shows (the P10-P90 band, the odds, energy, CO2, break-even, the
    reasons), the charts as the page draws them (the cost chart with its whiskers, the power chart at
    `boundary`), the tornado and the break-even map, the ranking, the serverless APIs for an LLM
    (``views_api.api_options_html``, as the page shows them), the assumptions in human names and units,
    and every source used with its title, link and date. Charts are inline SVG (vl-convert): no script,
    no CDN, nothing fetched when it is opened.

    ``bands``: the Monte Carlo result the page shows (``Explorer.bands``); computed here with the app's
    seed and draws when not given.
    """
    s = result.scenario
    rec = result.recommendation
    esc = html.escape
    if bands is None:
        bands = _bands_for(result, cat)
    workload = dict(zip(cat.workloads.id, cat.workloads.name, strict=True)).get(s.workload, s.workload)
    workload = f"{result.custom_workload['name']} (your model)" if result.custom_workload else workload
    what = f"{fmt.requests_per_day(s.requests_per_day)} of {workload}, {_DEPLOYMENT_NAMES[s.deployment]}"

    if rec is None:
        headline = (
            "<h2>No device can serve this scenario</h2>"
            f"<p>Why: {esc(fmt.why_none_serve(result))} The ranking below says why, device by device.</p>"
        )
    else:
        plan = PLAN_NAMES[rec.plan]
        figs = "".join(
            f"<div class='fig'><div class='val'>{esc(v)}</div><div class='lbl'>{esc(k)}</div></div>"
            for k, v in fmt.headline_figures(result, bands)
        )
        headline = (
            f"<h2><span class='badge {'gpu' if rec.kind == 'gpu' else 'acc'}'>{plan}</span> "
            f"{esc(rec.name)}</h2>"
            f"<div class='figs'>{figs}</div>"
            + (f"<p class='note'>{esc(note)}</p>" if (note := fmt.band_note(result, bands)) else "")
            + "<ul class='reasons'>"
            + "".join(f"<li>{esc(x)}</li>" for x in rec.reasons)
            + "</ul>"
        )
    band_note = (
        f"P10-P90 and the odds: {bands.draws:,} Monte Carlo draws (seed {bands.seed}) over the uncertain "
        "inputs (prices, throughput, power, porting effort, lifetime, and the request volume's own range)."
        if bands is not None
        else "The uncertainty analysis could not run: no P10-P90 band or odds are shown."
    )

    svgs, chart_notes = _charts_svg(result, cat, bands, boundary)
    charts_html = "".join(f"<figure class='chart' id='chart-{n}'>{svg}</figure>" for n, svg in svgs.items())
    notes_html = "".join(f"<p class='note'>{esc(n)}</p>" for n in chart_notes)

    table = options_table(result, bands)
    head = "".join(f"<th>{esc(c)}</th>" for c in table.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{esc(_text(v))}</td>" for v in row) + "</tr>"
        for row in table.itertuples(index=False)
    )
    ranking = f"<table class='rank'><tr>{head}</tr>{body}</table>"
    format_key = f" {esc(fmt.FORMAT_KEY[0].upper() + fmt.FORMAT_KEY[1:])}." if "format" in table else ""

    assumptions = "".join(
        f"<tr><td>{esc(n)}</td><td>{esc(v)}</td><td class='doc'>{esc(d)}</td></tr>"
        for n, v, d in assumption_rows(result, cat)
    )

    prov = _provenance_for(result, cat)
    figures_rows = []
    unique: dict[tuple[str, str], dict[str, str]] = {}
    for r in prov.itertuples():
        srcs = _sources_of(r, cat)
        for src in srcs:
            unique.setdefault((src["title"], src["url"]), src)
        est = f"<br><i>estimate: {esc(_text(r.method))}</i>" if r.estimate and _text(r.method) else ""
        dates = "; ".join(dict.fromkeys(src["retrieved"] for src in srcs if src["retrieved"]))
        figures_rows.append(
            f"<tr><td>{esc(r.collection)}/{esc(r.item)}</td><td>{esc(r.field)}</td>"
            f"<td>{esc(_value_text(r))}{est}</td>"
            f"<td>{'<br>'.join(_link(src) for src in srcs)}</td><td>{esc(dates)}</td></tr>"
        )
    source_list = "".join(
        f"<li>{_link(src)}"
        + (f" <span class='url'>{esc(src['url'])}</span>" if src["url"] else "")
        + f" <small>retrieved {esc(src['retrieved'])}"
        + (f", published {esc(src['published'])}" if src["published"] else "")
        + "</small></li>"
        for src in sorted(unique.values(), key=lambda d: d["title"].lower())
    )
    options_used = [o for o in result.options if o.available]
    per_option = "".join(
        f"<tr><td>{esc(o.name)}</td><td>{esc(_text(o.throughput_source))}</td>"
        f"<td>{esc(_text(o.price_source))}</td><td>{esc(_text(o.power_source))}</td></tr>"
        for o in options_used
    )

    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>GPU or accelerator: {esc(what)}</title>
<style>
body {{ font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; padding: 0 1em;
       color: #222; }}
table {{ border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 12px; }}
td, th {{ border-top: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }}
td.doc, .note {{ color: #555; }} small, .url {{ color: #666; font-weight: normal; }}
.url {{ font-size: 11px; word-break: break-all; }}
.chart {{ display: inline-block; margin: 0 1em 1em 0; vertical-align: top; }}
.badge {{ font-size: 12px; padding: 2px 8px; border-radius: 10px; color: white; vertical-align: middle; }}
.badge.gpu {{ background: #4c78a8; }} .badge.acc {{ background: #f58518; }}
.figs {{ display: flex; flex-wrap: wrap; gap: 18px; margin: 4px 0 8px; }}
.fig .val {{ font-size: 18px; font-weight: 600; font-variant-numeric: tabular-nums; }}
.fig .lbl {{ font-size: 11px; color: #555; text-transform: uppercase; letter-spacing: .03em; }}
table.rank td {{ font-variant-numeric: tabular-nums; }}
@media print {{ .chart {{ page-break-inside: avoid; }} }}
</style></head><body>
<h1>GPU or accelerator? <small>{esc(what)}</small></h1>
<p><small>Generated {generated} by the GPU-vs-accelerator deployment explorer. Every figure comes from
the catalog with its source and date (last section); estimates say how they were made.</small></p>
<section id="headline">{headline}<p class="note">{esc(band_note)}</p></section>
<h3>Charts</h3>{notes_html}{charts_html}
<h3>Ranking</h3>
<p class="note">Throughput per device in requests/s ({esc(fmt.BASIS_KEY)}); power and energy at the
facility (server wall x PUE); totals over {esc(fmt.years(s.horizon_years))}.{format_key}</p>
{ranking}
<section id="apis">{api_options_html(result, cat)}</section>
<h3>Assumptions</h3><table id="assumptions">{assumptions}</table>
<h3>What each option's figures rest on</h3>
<table><tr><th>device</th><th>throughput</th><th>price</th><th>power</th></tr>{per_option}</table>
<h3>Sources</h3><ul id="sources">{source_list}</ul>
<h3>Every catalog figure used</h3>
<table id="figures"><tr><th>item</th><th>field</th><th>value</th><th>source</th><th>retrieved</th></tr>
{"".join(figures_rows)}</table>
</body></html>
"""

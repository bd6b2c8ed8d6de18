"""The composed views that the notebooks and the Voila app show.

For now: a catalog browser (devices, framework support, prices, workloads, measured results, energy,
sources), so that anyone can check the figures under the explorer and where each comes from.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as W
import pandas as pd

from .catalog import Catalog, load_catalog

_SUPPORT_STYLE = {
    "native": ("native", "#1a7f37", "#dafbe1"),
    "sdk": ("SDK", "#7d4e00", "#fff1c2"),
    "converter": ("converter", "#8c4a00", "#ffe2c4"),
    "none": ("none", "#8b1a1a", "#ffe0e0"),
}

_CSS = """
<style>
.ax-table { border-collapse: collapse; font-size: 13px; font-family: system-ui, sans-serif; }
.ax-table th { text-align: left; background: #f3f4f6; padding: 4px 8px; position: sticky; top: 0; }
.ax-table td { padding: 3px 8px; border-top: 1px solid #e5e7eb; vertical-align: top; }
.ax-table td.num { text-align: right; font-variant-numeric: tabular-nums; }
.ax-est { color: #8c4a00; font-style: italic; }
.ax-note { color: #4b5563; font-size: 12px; max-width: 70em; }
.ax-pill { border-radius: 9px; padding: 1px 7px; font-size: 12px; white-space: nowrap; }
</style>
"""


def _esc(x: Any) -> str:
    if x is None or (isinstance(x, float) and x != x):
        return "–"
    return html.escape(str(x))


def _num(x: Any, digits: int = 0) -> str:
    if x is None or (isinstance(x, float) and x != x):
        return "–"
    return f"{x:,.{digits}f}"


def _html_table(header: list[str], rows: list[list[str]], numeric: set[int] | None = None) -> str:
    numeric = numeric or set()
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(f"<td class='num'>{c}</td>" if i in numeric else f"<td>{c}</td>" for i, c in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f"{_CSS}<table class='ax-table'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _linked(value: str, cat: Catalog, collection: str, item: str, field: str) -> str:
    """A figure with its source, date and estimate flag in a tooltip (and italic when estimated)."""
    prov = cat.source_of(collection, item, field)
    if prov is None:
        return value
    tip = f"{prov['source_title']} (retrieved {prov['retrieved']})"
    if prov.get("estimate"):
        tip = f"ESTIMATE: {prov['method']} | {tip}"
    if prov.get("note"):
        tip += f" | {prov['note']}"
    cls = " class='ax-est'" if prov.get("estimate") else ""
    return f"<span title='{html.escape(tip, quote=True)}'{cls}>{value}</span>"


def devices_html(cat: Catalog) -> str:
    d = cat.devices.sort_values(["segment", "kind", "vendor", "id"])
    rows = []
    for r in d.itertuples():
        dep = ", ".join(
            n
            for n, ok in [
                ("cloud", r.cloud_available),
                ("bare metal", r.bare_metal_available),
                ("edge", r.edge_available),
            ]
            if ok
        )
        rows.append(
            [
                _esc(r.name),
                _esc(r.vendor),
                _esc(r.kind),
                _esc(r.segment),
                _linked(f"{_num(r.power_w)} W", cat, "devices", r.id, "power")
                + f"<br><small>{r.power_basis}, "
                f"{r.power_boundary}</small>",
                _linked(
                    _num(r.peak_bf16_tflops, 1), cat, "devices", r.id, f"peak_{r.peak_16bit_format}_dense"
                )
                + (f" <small>{r.peak_16bit_format}</small>" if r.peak_16bit_format else ""),
                _linked(_num(r.peak_int8_tops), cat, "devices", r.id, "peak_int8_dense"),
                _linked(
                    _num(r.memory_gb, 0 if (r.memory_gb or 0) >= 1 else 3), cat, "devices", r.id, "memory"
                ),
                _linked(_num(r.memory_bandwidth_gbps), cat, "devices", r.id, "memory_bandwidth"),
                _esc(dep),
            ]
        )
    return (
        _html_table(
            [
                "device",
                "vendor",
                "kind",
                "segment",
                "power",
                "BF16/FP16 TFLOPS (dense)",
                "INT8 TOPS (dense)",
                "memory GB",
                "memory GB/s",
                "deployable",
            ],
            rows,
            numeric={5, 6, 7, 8},
        )
        + "<p class='ax-note'>Hover a figure for its source and date; <span class='ax-est'>italic</span> "
        "figures are estimates (the tooltip gives the method).</p>"
    )


def frameworks_html(cat: Catalog) -> str:
    fw = cat.frameworks
    names = list(dict.fromkeys(fw.framework))
    rows = []
    for device_id, group in fw.groupby("device_id", sort=True):
        cells = [_esc(device_id)]
        for rec in group.set_index("framework").loc[names].reset_index().itertuples():
            label, fg, bg = _SUPPORT_STYLE[rec.support]
            via = f"<br><small>{_esc(rec.via)}</small>" if rec.via else ""
            tip = html.escape(
                f"{rec.source_title} (retrieved {rec.retrieved})" + (f" | {rec.note}" if rec.note else ""),
                quote=True,
            )
            cells.append(
                f"<span class='ax-pill' style='color:{fg};background:{bg}' title='{tip}'>{label}</span>{via}"
            )
        rows.append(cells)
    return _html_table(["device", *names], rows)


def prices_html(cat: Catalog) -> str:
    c = cat.cloud_prices.sort_values(["device_id", "price_usd_per_chip_hour"])
    cloud = _html_table(
        ["device", "provider", "instance", "region", "chips", "USD / chip-hour", "as of", "source"],
        [
            [
                _esc(r.device_id),
                _esc(r.provider),
                _esc(r.instance),
                _esc(r.region),
                _esc(r.chips),
                _num(r.price_usd_per_chip_hour, 2),
                _esc(r.as_of),
                _esc(r.source_title),
            ]
            for r in c.itertuples()
        ],
        numeric={4, 5},
    )
    p = cat.purchase_prices.sort_values("device_id")
    buy = _html_table(
        ["device", "USD per device", "what is sold", "as of", "how we know"],
        [
            [
                _esc(r.device_id),
                f"<span class='ax-est'>{_num(r.price_usd)}</span>" if r.estimate else _num(r.price_usd),
                _esc(r.unit_sold),
                _esc(r.as_of),
                (f"<span class='ax-est'>estimate: {_esc(r.method)}</span> " if r.estimate else "")
                + _esc(r.source_title),
            ]
            for r in p.itertuples()
        ],
        numeric={1},
    )
    return "<h4>Cloud, on demand</h4>" + cloud + "<h4>Purchase</h4>" + buy


def workloads_html(cat: Catalog) -> str:
    w = cat.workloads
    return _html_table(
        ["workload", "one request", "model", "GFLOP / request", "MB moved / request", "MLPerf benchmark"],
        [
            [
                _esc(r.name),
                _esc(r.request),
                _esc(r.model),
                _linked(_num(r.compute_gflop_per_request, 1), cat, "workloads", r.id, "compute_per_request"),
                _linked(
                    _num(r.memory_traffic_mb_per_request, 1),
                    cat,
                    "workloads",
                    r.id,
                    "memory_traffic_per_request",
                ),
                _esc(r.mlperf),
            ]
            for r in w.itertuples()
        ],
        numeric={3, 4},
    )


def results_html(cat: Catalog) -> str:
    r = cat.results.sort_values(["workload", "device_id"]) if not cat.results.empty else cat.results
    return _html_table(
        [
            "workload",
            "device",
            "benchmark",
            "scenario",
            "system",
            "accelerators",
            "throughput",
            "requests/s per accelerator",
            "source",
        ],
        [
            [
                _esc(x.workload),
                _esc(x.device_id),
                _esc(x.benchmark),
                _esc(x.scenario),
                _esc(x.system),
                _esc(x.accelerators),
                f"{_num(x.throughput_value, 1)} {_esc(x.throughput_unit)}",
                _num(x.requests_per_s_per_accelerator, 2),
                _esc(x.source_title),
            ]
            for x in r.itertuples()
        ],
        numeric={5, 7},
    )


def energy_html(cat: Catalog) -> str:
    g = cat.regions
    regions = _html_table(
        ["region", "electricity USD/kWh", "as of", "grid gCO2/kWh", "as of", "sources"],
        [
            [
                _esc(r.name),
                _num(r.electricity_usd_per_kwh, 3),
                _esc(r.electricity_as_of),
                _num(r.grid_gco2_per_kwh),
                _esc(r.grid_as_of),
                _esc(r.electricity_source) + "<br>" + _esc(r.grid_source),
            ]
            for r in g.itertuples()
        ],
        numeric={1, 3},
    )
    p = cat.pue
    pue = _html_table(
        ["data centre", "PUE", "as of", "source"],
        [[_esc(r.name), _num(r.pue, 2), _esc(r.as_of), _esc(r.source_title)] for r in p.itertuples()],
        numeric={1},
    )
    return "<h4>Regions</h4>" + regions + "<h4>PUE defaults</h4>" + pue


def sources_html(cat: Catalog) -> str:
    seen: dict[str, dict[str, Any]] = {}
    for collection, docs in cat.documents.items():
        for item, doc in docs.items():
            for src in doc["sources"].values():
                entry = seen.setdefault(src["url"], {**src, "used_by": []})
                entry["used_by"].append(f"{collection}/{item}")
    rows = [
        [
            f"<a href='{html.escape(s['url'], quote=True)}' target='_blank' rel='noopener'>"
            f"{_esc(s['title'])}</a>",
            _esc(s.get("publisher")),
            _esc(s.get("published")),
            _esc(s["retrieved"]),
            _esc(", ".join(sorted(set(s["used_by"])))),
        ]
        for s in sorted(seen.values(), key=lambda s: s["title"])
    ]
    return _html_table(["source", "publisher", "published", "retrieved", "used by"], rows)


def catalog_browser(cat: Catalog | None = None) -> W.Widget:
    """Tabs showing the whole catalog, every figure with its source and date."""
    cat = cat if cat is not None else load_catalog()
    pages = [
        ("Devices", devices_html(cat)),
        ("Framework support", frameworks_html(cat)),
        ("Prices", prices_html(cat)),
        ("Workloads", workloads_html(cat)),
        ("Measured results", results_html(cat)),
        ("Energy", energy_html(cat)),
        ("Sources", sources_html(cat)),
    ]
    tabs = W.Tab(
        children=[W.HTML(body, layout=W.Layout(overflow="auto", max_height="70vh")) for _, body in pages]
    )
    for i, (title, _) in enumerate(pages):
        tabs.set_title(i, title)
    counts = (
        f"{len(cat.devices)} devices · {len(cat.workloads)} workloads · {len(cat.results)} measured "
        f"results · {len(cat.provenance)} figures, each with its source"
    )
    header = W.HTML(
        f"<p class='ax-note' style='margin:4px 0'>{counts}. Power figures say their basis (rated, typical, "
        "measured) and boundary (chip, board, server). Hover any figure for its source and date.</p>" + _CSS
    )
    return W.VBox([header, tabs])


def catalog_summary(cat: Catalog | None = None) -> pd.DataFrame:
    """The devices as a compact frame, for a quick look in JupyterLab."""
    cat = cat if cat is not None else load_catalog()
    cols = [
        "id",
        "vendor",
        "kind",
        "segment",
        "power_w",
        "power_basis",
        "power_boundary",
        "peak_bf16_tflops",
        "peak_int8_tops",
        "memory_gb",
        "memory_bandwidth_gbps",
    ]
    return cat.devices[cols].sort_values(["segment", "kind", "id"]).reset_index(drop=True)


HOW_TO_READ = """
<div style="font: 13px/1.45 system-ui, sans-serif; max-width: 80em; color: #333">
<b>How to read this.</b> Set your workload on the left: how many requests a day, how often the model
changes, which frameworks your team writes in, and where it runs. The headline names the cheapest way to
serve it over the horizon and why; every device in the catalog is sized for your peak load and costed
(rental or purchase, electricity, and the engineering time to port your models to its toolchain, again at
every model change). <span style="color:#4c78a8"><b>Blue</b></span> is GPUs,
<span style="color:#f58518"><b>orange</b></span> accelerators, grey devices that cannot serve this
scenario (hover for why). Hover any mark for its figures, their sources and dates, and whether a
throughput is measured or estimated. Assumptions (prices, PUE, engineer-day cost ...) are under
<i>Assumptions</i>; every figure's source is under <i>Catalog and sources</i> below.
</div>
"""


def _lazy_section(title: str, build: Any) -> W.Accordion:
    """A collapsed section whose content is built the first time it is opened (the first page stays light)."""
    section = W.Accordion(children=[W.VBox()], selected_index=None)
    section.set_title(0, title)

    def _open(change: dict) -> None:
        box = section.children[0]
        if change["new"] == 0 and not box.children:
            box.children = [build()]

    section.observe(_open, names=["selected_index"])

    def _rebuild() -> None:  # the catalog changed (an upload): an opened section shows the new one
        box = section.children[0]
        if box.children:
            box.children = [build()]

    section.rebuild = _rebuild  # type: ignore[attr-defined]
    return section


def apply_query(app: W.Widget, query: str) -> None:
    """Show a shared link's scenario in an app built by `explorer_app` (one update; none for no query).

    ``query`` is the page's URL query string. A bad or unknown value falls back to that field's default,
    with a note saying why. The Voila app builds itself first and applies the visitor's query afterwards:
    a pre-started kernel has the whole app ready when its visitor arrives, and only this step waits.
    """
    from .scenario import from_query_lenient

    explorer = app.explorer  # type: ignore[attr-defined]
    cat = explorer.cat
    scenario, notes = from_query_lenient(
        query or "", {"workload": set(cat.workloads.id), "region": set(cat.regions.id)}
    )
    if scenario != explorer.result.scenario:
        explorer.set_scenario(scenario)
    explorer.show_notes(["Some settings in the link were not used:", *notes] if notes else [])


def explorer_app(cat: Catalog | None = None, query: str | None = None) -> W.Widget:
    """The dashboard that the Voila app and the notebooks show.

    ``query`` is the page's URL query string (Voila passes it to the kernel): a shared link restores its
    scenario (`apply_query`). Under Voila the kernel is also hardened for the public (`explorer.session`).
    """
    from .session import SessionWatch, harden_kernel, under_voila
    from .widgets import Explorer

    public = under_voila()
    if public:  # the public app: no traceback reaches a visitor's browser, whatever goes wrong
        harden_kernel()
    cat = cat if cat is not None else load_catalog()
    explorer = Explorer(cat)
    panel = share_panel(explorer)
    link, tools = panel.children[0], W.VBox(panel.children[1:])
    share = W.Accordion(children=[tools], selected_index=None)
    share.set_title(0, "Download or upload: scenario, results, report, charts, your own prices")
    # the link bar stays visible: its view keeps the address bar equal to the deep link
    explorer.top.children = (*explorer.top.children, link, share)
    # the sections read the explorer's catalog when they are built: a visitor's upload shows in them too
    catalog_section = _lazy_section("Catalog and sources", lambda: catalog_browser(explorer.cat))
    validation_section = _lazy_section(
        "How good are these estimates? Held-out estimates against measurements",
        lambda: validation_view(explorer.cat),
    )
    uncertainty_section = W.Accordion(children=[W.VBox()], selected_index=None)
    uncertainty_section.set_title(
        0, "How sure is this? What moves the answer, and where GPUs or accelerators win"
    )
    view: dict[str, Any] = {}

    def _refresh_uncertainty(_change: Any = None) -> None:
        if uncertainty_section.selected_index != 0:
            return
        data = uncertainty_data(explorer.result.scenario, explorer.cat)
        if not view:  # first opening: build the two charts; afterwards only their rows change
            from .charts import breakeven_map_chart, tornado_chart
            from .widgets import LiveChart

            view["tornado"] = LiveChart(
                "tornado", tornado_chart(data["tornado"], data["tornado_nominal"]), data
            )
            view["map"] = LiveChart("breakeven_map", breakeven_map_chart(data["breakeven_map"]), data)
            uncertainty_section.children[0].children = [W.HBox([view["tornado"].widget, view["map"].widget])]
        else:
            view["tornado"].push(data)
            view["map"].push(data)

    uncertainty_section.live = view  # type: ignore[attr-defined]  # the live charts, once opened
    uncertainty_section.observe(_refresh_uncertainty, names=["selected_index"])
    explorer.observe(_refresh_uncertainty, names=["scenario_value", "catalog_changes"])

    def _catalog_changed(_change: Any) -> None:
        catalog_section.rebuild()
        validation_section.rebuild()

    explorer.observe(_catalog_changed, names=["catalog_changes"])
    parts = [W.HTML(HOW_TO_READ), explorer, uncertainty_section, validation_section, catalog_section]
    if public:  # says "session ended, reload" if the kernel behind the page goes away
        parts.append(SessionWatch())
    app = W.VBox(parts)
    app.explorer = explorer  # type: ignore[attr-defined]
    app.share = share  # type: ignore[attr-defined]
    app.uncertainty = uncertainty_section  # type: ignore[attr-defined]
    app.validation = validation_section  # type: ignore[attr-defined]
    app.catalog = catalog_section  # type: ignore[attr-defined]
    if query:
        apply_query(app, query)
    return app


def uncertainty_data(scenario: Any, cat: Catalog) -> dict[str, Any]:
    """The tornado's and the 50 x 50 break-even map's datasets for a scenario (about 15 ms together)."""
    import numpy as np

    from .calc import breakeven_map
    from .charts import tornado_data
    from .uncertainty import tornado

    grid = breakeven_map(scenario, np.logspace(2, np.log10(5e11), 50), np.linspace(0, 52, 50), cat)
    return {**tornado_data(tornado(scenario, cat)), "breakeven_map": grid}


def validation_view(cat: Catalog) -> W.Widget:
    """Leave-one-out validation: error per device group, rank agreement, and every residual on a chart
    whose tooltips name the measurement's source."""
    from .charts import validation_chart
    from .validate import TARGET_ERROR, leave_one_out, summarise
    from .widgets import chart_view

    loo = leave_one_out(cat)
    summary = summarise(loo)

    def pct(x: float) -> str:
        return "–" if x != x else f"{x:.0%}"

    groups = _html_table(
        [
            "devices",
            "measured results",
            "median error",
            "worst",
            "with measured power",
            "perf/W median error",
            "perf/W worst",
        ],
        [
            [
                _esc(g.group),
                _esc(g.results),
                pct(g.median_error),
                pct(g.worst_error),
                _esc(g.ppw_results),
                pct(g.ppw_median_error),
                pct(g.ppw_worst_error),
            ]
            for g in summary.by_group.itertuples()
        ],
        numeric={1, 2, 3, 4, 5, 6},
    )
    ranks = _html_table(
        ["workload", "devices measured", "rank correlation", "orderings contradicted by > 25 %"],
        [
            [
                _esc(r.workload),
                _esc(r.devices),
                "–" if r.spearman != r.spearman else f"{r.spearman:.2f}",
                _esc(r.contradictions) or "none",
            ]
            for r in summary.ranks.itertuples()
        ],
        numeric={1, 2},
    )
    verdict = "within" if summary.within_target else "outside"
    intro = (
        "<p class='ax-note' style='max-width:70em'>Each measured result is held out in turn: the efficiency "
        "factor is refitted without that device's measurements on the workload, and the estimate is compared "
        f"with the measurement. Median error over {len(loo)} results: <b>{pct(summary.median_error)}</b>, "
        f"{verdict} the {pct(TARGET_ERROR)} target. Where the catalog has a measurement the app uses it; "
        "estimates are used only for the other devices. <code>accel-explorer validate</code> prints every "
        "residual.</p>"
    )
    view = W.VBox([W.HTML(intro + groups + ranks), chart_view(validation_chart(loo))])
    view.loo = loo  # type: ignore[attr-defined]
    return view


def share_panel(explorer: Any, base_dirs: list[Any] | None = None) -> W.Widget:
    """Copy link, downloads (scenario JSON, results CSV, report HTML, chart PNG/SVG) and uploads."""
    from . import export
    from .charts import build_all
    from .share import Downloader, LinkBar, upload_section

    link = LinkBar(query=explorer.query)
    downloader = Downloader()
    status = W.HTML()
    W.dlink((explorer, "query"), (link, "query"))  # the link is part of the one update (Explorer.update)

    def _say(text: str, ok: bool = True) -> None:
        cls = "ax-note" if ok else "ax-error"
        status.value = f"<div class='{cls}' role='status'>{html.escape(text)}</div>" if text else ""

    def _stem() -> str:
        s = explorer.result.scenario
        return f"accel-explorer-{s.workload}-{s.deployment}"

    def _guard(fn):
        def run(_button: Any = None) -> None:
            try:
                fn()
            except Exception as err:  # shown, never raised into the kernel log only
                _say(f"Export failed ({type(err).__name__}: {err})", ok=False)

        return run

    chart_pick = W.Dropdown(
        options=[
            (t, n)
            for n, t in [
                ("cumulative_cost", "Cumulative cost"),
                ("cost_per_request", "Cost per million requests"),
                ("cost_vs_volume", "Cost against volume"),
                ("perf_per_watt", "Performance per watt"),
                ("framework_support", "Framework support"),
                ("power", "Power"),
            ]
        ],
        value="cost_per_request",
        description="Chart",
        layout=W.Layout(width="300px"),
    )

    def _chart():
        return build_all(explorer.data, explorer.result.scenario.horizon_years)[chart_pick.value]

    actions = {
        "Scenario (JSON)": lambda: downloader.download(
            f"{_stem()}.json", export.scenario_json(explorer.result), "application/json"
        ),
        "Results (CSV)": lambda: downloader.download(
            f"{_stem()}.csv", export.results_csv(explorer.result), "text/csv"
        ),
        "Report (HTML)": lambda: downloader.download(
            f"{_stem()}-report.html",
            export.report_html(
                explorer.result, explorer.cat, explorer.bands, boundary=explorer.boundary.value
            ),
            "text/html",
        ),
        "PNG": lambda: downloader.download(
            f"{_stem()}-{chart_pick.value}.png", export.chart_png(_chart()), "image/png"
        ),
        "SVG": lambda: downloader.download(
            f"{_stem()}-{chart_pick.value}.svg", export.chart_svg(_chart()), "image/svg+xml"
        ),
    }
    buttons = {}
    for label, fn in actions.items():
        b = W.Button(description=label, tooltip=f"Download {label}", layout=W.Layout(width="auto"))
        b.on_click(_guard(fn))
        buttons[label] = b

    uploads = upload_section(explorer, _say, status)
    panel = W.VBox(
        [
            link,
            W.HBox(
                [
                    W.HTML("<b>Download</b>&nbsp;"),
                    buttons["Scenario (JSON)"],
                    buttons["Results (CSV)"],
                    buttons["Report (HTML)"],
                    chart_pick,
                    buttons["PNG"],
                    buttons["SVG"],
                ],
                layout=W.Layout(align_items="center", flex_flow="row wrap"),
            ),
            uploads.row,
            uploads.listing,
            status,
            downloader,
            uploads.keeper,
        ]
    )
    panel.uploads = uploads  # type: ignore[attr-defined]  # the upload controls, by name
    panel.downloader = downloader  # type: ignore[attr-defined]
    panel.status = status  # type: ignore[attr-defined]
    return panel

"""Views: what the page and the report show, as HTML strings built from catalog and result data.

No widgets here (nothing from ipywidgets or altair): the widgets (`explorer.widgets`, `explorer.app`) wrap
these strings in ``W.HTML``, and the report (`explorer.export`) can use them as they are. Every value is
escaped where it enters; a figure from the catalog carries its source and date in a tooltip.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from . import fmt
from .catalog import Catalog
from .columns import columns_for, sorted_devices

if TYPE_CHECKING:
    import pandas as pd

    from .calc import EvaluationResult

# -- the page: its style, how to read it, the headline ---------------------------------------------------

CSS = """
<style>
.ax-charts { gap: 8px 16px; align-items: flex-start; }
.ax-charts > * { flex: 0 1 auto; min-width: 0; max-width: 100%; }
.ax-charts > .ax-wide { flex-basis: 100%; }
.ax-charts .vega-embed { max-width: 100%; overflow-x: auto; }
.ax-toggle .widget-toggle-button { padding: 0 10px; }
.ax-toggle .widget-toggle-buttons { flex-wrap: wrap; }
.ax-headline { font-family: system-ui, sans-serif; }
.ax-rec { font-size: 22px; margin: 2px 0 6px 0; }
.ax-name { font-weight: 600; }
.ax-badge { font-size: 12px; padding: 2px 8px; border-radius: 10px; color: white; vertical-align: middle; }
.ax-gpu { background: #4c78a8; } .ax-acc { background: #f58518; }
.ax-figs { display: flex; flex-wrap: wrap; gap: 14px; margin: 4px 0; }
.ax-fig .ax-val { font-size: 18px; font-weight: 600; font-variant-numeric: tabular-nums; line-height: 26px; }
.ax-fig .ax-val.ax-na { font-size: 13px; font-weight: 400; color: #555; }
.ax-fig .ax-lbl { font-size: 11px; color: #555; text-transform: uppercase; letter-spacing: .03em; }
.ax-band-note { margin: 2px 0; font-size: 12px; color: #4b5563; max-width: 62em; }
.ax-reasons { margin: 6px 0 0 0; padding-left: 18px; font-size: 13px; line-height: 1.35; max-width: 62em; }
.ax-unit { color: #666; font-size: 12px; }
.ax-note { background: #fff6dd; color: #6b4d00; border: 1px solid #f0d68a; border-radius: 4px;
           padding: 6px 10px; font-size: 13px; }
.ax-error { background: #fde8e8; color: #8b1a1a; border: 1px solid #f3b4b4; border-radius: 4px;
            padding: 6px 10px; font-size: 13px; }
</style>
"""

HOW_TO_READ = """
<div style="font: 13px/1.45 system-ui, sans-serif; max-width: 80em; color: #333">
<b>How to read this.</b> Set your workload on the left: how many requests a day, how often the model
changes, which frameworks your team writes in, and where it runs. The headline names the cheapest way to
serve it over the horizon and why; every device in the catalog is sized for your peak load and costed
(rental or purchase, electricity, and the engineering time to port your models to its toolchain, again at
every model change). <span style="color:#4c78a8"><b>Blue</b></span> is GPUs,
<span style="color:#f58518"><b>orange</b></span> accelerators, grey devices that cannot serve this
scenario (hover for why). Hover any mark for its figures, their sources and dates, and whether a
throughput is measured, a measurement scaled to your request, or estimated. Assumptions (prices, PUE,
engineer-day cost ...) are under <i>Assumptions</i>; every figure's source is under <i>Catalog and
sources</i> below.
</div>
"""

#: Values said instead of a figure: shown in smaller type.
_NOT_A_FIGURE = ("not published", "not available")

#: The recommendation's plan, as the headline and the report name it.
PLAN_NAMES = {"gpu": "GPU plan", "accelerator": "Accelerator plan", "hybrid": "Hybrid plan"}


def headline_html(r: EvaluationResult, bands: Any = None) -> str:
    """The answer at a glance: what to buy, how many, what it costs, and why."""
    rec = r.recommendation
    if rec is None:
        return (
            "<div class='ax-headline'><h3>No device can serve this scenario</h3>"
            f"<p>Why: {html.escape(fmt.why_none_serve(r))} The cost chart gives every device's reason.</p>"
            "</div>"
        )
    plan = PLAN_NAMES[rec.plan]
    figs = fmt.headline_figures(r, bands)  # the report shows the same list
    cells = "".join(
        # a figure no source gives is said in smaller type: the row of figures then fits a laptop screen
        f"<div class='ax-fig'><div class='ax-val{' ax-na' if v in _NOT_A_FIGURE else ''}'>"
        f"{html.escape(v)}</div><div class='ax-lbl'>{html.escape(k)}</div></div>"
        for k, v in figs
    )
    reasons = "".join(f"<li>{html.escape(x)}</li>" for x in rec.reasons)
    note = fmt.band_note(r, bands)
    note = f"<p class='ax-band-note'>{html.escape(note)}</p>" if note else ""
    badge = "ax-gpu" if rec.kind == "gpu" else "ax-acc"
    return (
        f"<div class='ax-headline'><div class='ax-rec'><span class='ax-badge {badge}'>{plan}</span> "
        f"<span class='ax-name'>{html.escape(rec.name)}</span></div>"
        f"<div class='ax-figs'>{cells}</div>{note}<ul class='ax-reasons'>{reasons}</ul></div>"
    )


# -- the catalog browser's pages ------------------------------------------------------------

_SUPPORT_STYLE = {
    "native": ("native", "#1a7f37", "#dafbe1"),
    "sdk": ("SDK", "#7d4e00", "#fff1c2"),
    "converter": ("converter", "#8c4a00", "#ffe2c4"),
    "none": ("none", "#8b1a1a", "#ffe0e0"),
}

TABLE_CSS = """
<style>
.ax-table { border-collapse: collapse; font-size: 13px; font-family: system-ui, sans-serif; }
.ax-table th { text-align: left; background: #f3f4f6; padding: 4px 8px; position: sticky; top: 0; }
.ax-table td { padding: 3px 8px; border-top: 1px solid #e5e7eb; vertical-align: top; }
.ax-table td.num { text-align: right; font-variant-numeric: tabular-nums; }
.ax-est { color: #8c4a00; font-style: italic; }
.ax-cap { color: #4b5563; font-size: 12px; max-width: 70em; }
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


def html_table(header: list[str], rows: list[list[str]], numeric: set[int] | None = None) -> str:
    """A table of HTML cells (already escaped), its numeric columns right-aligned, with its style."""
    numeric = numeric or set()
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(f"<td class='num'>{c}</td>" if i in numeric else f"<td>{c}</td>" for i, c in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f"{TABLE_CSS}<table class='ax-table'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


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
    """The devices, one column per declared column (``explorer.columns``), each figure with its source."""
    columns = columns_for("browser")
    rows = []
    for r in sorted_devices(cat).itertuples():
        cells = []
        for c in columns:
            field = c.source_field(r)
            cell = _esc(c.cell(r))
            cell = _linked(cell, cat, "devices", r.id, field) if field else cell
            details = c.details(r)
            small = f"<small>{_esc(', '.join(details))}</small>" if details else ""
            cells.append(cell + (" " if c.beside else "<br>") + small if small else cell)
        rows.append(cells)
    return (
        html_table(
            [_esc(c.header("browser")) for c in columns],
            rows,
            numeric={i for i, c in enumerate(columns) if c.numeric},
        )
        + "<p class='ax-cap'>Hover a figure for its source and date; <span class='ax-est'>italic</span> "
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
    return html_table(["device", *names], rows)


def prices_html(cat: Catalog) -> str:
    c = cat.cloud_prices.sort_values(["device_id", "price_usd_per_chip_hour"])
    cloud = html_table(
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
    buy = html_table(
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
    u = cat.cloud_unpriced
    unpriced = (
        "<h4>Offered in the cloud without a published price</h4>"
        + html_table(
            ["device", "provider", "instance", "why there is no price", "source"],
            [
                [_esc(r.device_id), _esc(r.provider), _esc(r.instance), _esc(r.reason), _esc(r.source_title)]
                for r in u.sort_values("device_id").itertuples()
            ],
        )
        if not u.empty
        else ""
    )
    return "<h4>Cloud, on demand</h4>" + cloud + unpriced + "<h4>Purchase</h4>" + buy


def workloads_html(cat: Catalog) -> str:
    w = cat.workloads
    return html_table(
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
    return html_table(
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
    regions = html_table(
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
    pue = html_table(
        ["data centre", "PUE", "as of", "source"],
        [[_esc(r.name), _num(r.pue, 2), _esc(r.as_of), _esc(r.source_title)] for r in p.itertuples()],
        numeric={1},
    )
    return "<h4>Regions</h4>" + regions + "<h4>PUE defaults</h4>" + pue


def sources_html(cat: Catalog) -> str:
    seen: dict[str, dict[str, Any]] = {}
    for src in cat.source_records():
        entry = seen.setdefault(src["url"], {**src, "used_by": []})
        entry["used_by"].append(f"{src['collection']}/{src['item']}")
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
    return html_table(["source", "publisher", "published", "retrieved", "used by"], rows)


#: The catalog browser's pages, in order: (tab title, the function that renders it).
CATALOG_PAGES = [
    ("Devices", devices_html),
    ("Framework support", frameworks_html),
    ("Prices", prices_html),
    ("Workloads", workloads_html),
    ("Measured results", results_html),
    ("Energy", energy_html),
    ("Sources", sources_html),
]


def catalog_pages(cat: Catalog) -> dict[str, str]:
    """Tab title -> the page's HTML, for the whole catalog."""
    return {title: render(cat) for title, render in CATALOG_PAGES}


def catalog_header_html(cat: Catalog) -> str:
    """The line above the catalog browser's tabs: what the catalog holds, and how to read its figures."""
    counts = (
        f"{len(cat.devices)} devices · {len(cat.workloads)} workloads · {len(cat.results)} measured "
        f"results · {len(cat.provenance)} figures, each with its source"
    )
    return (
        f"<p class='ax-cap' style='margin:4px 0'>{counts}. Power figures say their basis (rated, typical, "
        "measured) and boundary (chip, board, server). Hover any figure for its source and date.</p>"
        + TABLE_CSS
    )


# -- the validation: held-out estimates against measurements ---------------------------------------------


def _pct(x: float) -> str:
    return "–" if x != x else f"{x:.0%}"


def validation_html(
    loo: pd.DataFrame,
    summary: Any,
    target_error: float,
    per_result: Any | None = None,
    market: Any | None = None,
    ours: pd.DataFrame | None = None,
) -> str:
    """The validation's text and tables: the median error against its target (devices held out, and with
    ``per_result`` single results held out), the error per device group, how well the estimates rank the
    devices, and the results off by more than 2x with their reasons (``explorer.validate``)."""
    groups = html_table(
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
                _pct(g.median_error),
                _pct(g.worst_error),
                _esc(g.ppw_results),
                _pct(g.ppw_median_error),
                _pct(g.ppw_worst_error),
            ]
            for g in summary.by_group.itertuples()
        ],
        numeric={1, 2, 3, 4, 5, 6},
    )
    ranks = html_table(
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
    also = (
        f" Holding out only the one result (the device's others still in the fit): "
        f"{_pct(per_result.median_error)}, {len(per_result.off)} off by more than 2x."
        if per_result is not None
        else ""
    )
    intro = (
        "<p class='ax-cap' style='max-width:70em'>Each measured result is held out in turn: the model's own "
        "estimator refits its efficiency factor without any of that device's results, as for a device the "
        "catalog never measured, and the estimate is compared with the measurement. Median error over "
        f"{len(loo)} results: <b>{_pct(summary.median_error)}</b>, {verdict} the {_pct(target_error)} "
        "target; "
        f"{len(summary.off)} off by more than 2x (below, with the reason).{also} Where the catalog has a "
        "measurement the app uses it; estimates are used only for the other devices, and their uncertainty "
        "range is a log-normal fitted to these residuals, the pairs off by 2x included (so is a measurement "
        "the serving model scales to another format, other tokens or a latency bound). <code>accel-explorer "
        "validate --hold-out {device,result}</code> prints every residual.</p>"
    )
    off = (
        html_table(
            ["off by more than 2x", "measured", "estimated", "estimate / measured", "why"],
            [
                [
                    _esc(f"{o.workload} · {o.device_id}"),
                    _esc(f"{o.measured_rps:,.3g}"),
                    _esc(f"{o.estimated_rps:,.3g}"),
                    _esc(f"{o.factor:.2f}x"),
                    _esc(o.reason),
                ]
                for o in summary.off.itertuples()
            ],
            numeric={1, 2, 3},
        )
        if getattr(summary, "off", None) is not None and len(summary.off)
        else ""
    )
    mine = measured_by_us_html(ours) if ours is not None and len(ours) else ""
    return intro + groups + ranks + off + mine + (market_html(market) if market is not None else "")


def measured_by_us_html(ours: pd.DataFrame) -> str:
    """Our own runs (``explorer.validate.measured_by_us``): each one's figure beside the model's estimate
    for its device, all of the device's results held out, and the share of the roofline it reached."""
    intro = (
        "<p class='ax-cap' style='max-width:70em'><b>Measured by us.</b> Runs of "
        "<code>python -m explorer.measure</code> (plain PyTorch, random weights, one GPU): kept out of the "
        "fit, which is for the tuned stacks that serve, and shown here beside the model's estimate for the "
        "device with all of its own results held out.</p>"
    )
    rows = [
        [
            _esc(f"{m.device_id} · {m.workload}"),
            _esc(m.formats),
            _esc(fmt.number(m.measured_rps)),
            _pct(m.share_of_roofline),
            _esc(fmt.number(m.estimated_rps)),
            _esc(f"{m.estimate_over_measured:.2f}x"),
            _esc(fmt.power_w(m.board_power_w)),
            _esc(f"{m.source_title} (as of {m.retrieved})"),
        ]
        for m in ours.itertuples()
    ]
    head = [
        "device · workload",
        "formats",
        "measured (requests/s)",
        "of the roofline",
        "model",
        "model / measured",
        "board power",
        "source",
    ]
    return intro + html_table(head, rows, numeric={2, 3, 4, 5, 6})


def market_html(m: Any) -> str:
    """The market check (``explorer.validate.summarise_market``): the tool's cost per million tokens beside
    each published one, on the source's conditions, with the source, its date and why a point misses."""
    usd = lambda x: "–" if x != x else f"${x:.2f}"  # noqa: E731
    rows = [
        [
            _esc(f"{p.device_id} · {p.workload}"),
            _esc(f"{p.tokens_per_s_per_user:g}"),
            _esc(
                f"{p.input_tokens:,.0f} in / {p.output_tokens:,.0f} out, {p.precision_words}, {p.software}; "
                f"cost per million {p.per_tokens}"
            ),
            usd(p.published_usd_per_mtoken),
            usd(p.tool_usd_per_mtoken),
            "–" if p.factor != p.factor else _esc(f"{p.factor:.2f}x"),
            f"<a href='{_esc(p.source_url.split()[0])}' target='_blank' rel='noopener'>"
            f"{_esc(p.publisher)}</a> (as of {_esc(p.as_of)})",
            _esc("; ".join(filter(None, ["within" if p.within else "", p.why]))),
        ]
        for p in m.points.itertuples()
    ]
    intro = (
        "<p class='ax-cap' style='max-width:70em'><b>Market check.</b> The tool's cost per million tokens "
        "against published serving analyses, each on its own conditions (tokens per request, tokens/s per "
        "user, precision, the GPU-hour price basis it states): "
        f"<b>{_esc(m.count_words())}</b> ({_esc(m.served_words())}). "
        "<code>accel-explorer validate --market</code> prints them.</p>"
    )
    table = html_table(
        [
            "device · model",
            "tokens/s per user",
            "conditions",
            "published",
            "tool",
            "tool / published",
            "source",
            "why",
        ],
        rows,
        numeric={1, 3, 4, 5},
    )
    order = "".join(f"<li>{_esc(what)}. <i>Why:</i> {_esc(why)}</li>" for what, why in m.order_lines())
    ranks = f"<p class='ax-cap' style='max-width:70em'>{_esc(m.order_words())}</p>" + (
        f"<ul class='ax-cap' style='max-width:70em'>{order}</ul>" if order else ""
    )
    return intro + table + ranks

"""Charts: the long-form frames of ``explorer.chart_frames`` -> ``alt.Chart`` (no ipywidgets here).

Every chart is declared once, in ``CHARTS`` (at the end of this module): its name, its title, the named
inline datasets it reads and its builder. Everything that lists charts reads that declaration: the page's
grid and its live charts (``build_all``, ``explorer.widgets``), the section under it (``explorer.app``),
the download picker, the report (``explorer.export``) and the tests. A view that shows a chart can replace
a dataset's rows in place when only the data changed, instead of rebuilding the chart: the dataset names
are the contract between ``chart_data`` and the builders.

Tooltips carry each figure's source and date and whether it is measured or estimated. Axis labels and
tooltip figures are formatted in the browser by the Vega expressions of ``explorer.fmt``, which follow
the same rules as the headline and the report: money as $41.2 k or $4.1 M (never SI milli or giga),
request volumes as k, M and B (never G or T), power in W, kW or MW.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import altair as alt
import pandas as pd
from altair.utils.schemapi import debug_mode

from . import fmt
from .chart_frames import (  # noqa: F401  (re-exported: the charts' data, as callers have always found it)
    BOUNDARIES,
    HOW,
    KIND_LABEL,
    breakeven_map_frames,
    chart_data,
    records,
    tornado_data,
    tornado_frames,
    uncertainty_data,
)

KIND_COLORS = alt.Scale(domain=["GPU", "accelerator", "unavailable"], range=["#4c78a8", "#f58518", "#c7c7c7"])
SUPPORT_COLORS = alt.Scale(
    domain=["native", "sdk", "converter", "none"], range=["#54a24b", "#eeca3b", "#f58518", "#e45756"]
)

WIDTH = 430
CHART_HEIGHT = 220  # the line and point charts' plot height (px)
LABEL_ROWS_PX = 30  # the cost-against-volume chart's two label rows at the top of its plot

#: Decades of request volume on the log axes: 100, 1 k, ... 100 B (labels from fmt.vega_volume).
VOLUME_TICKS = [10.0**k for k in range(2, 12)]


def _money_axis(**kwargs: Any) -> alt.Axis:
    """Money ticks as fmt.usd writes them ($400, $41.2 k, $4.1 M; never $400m or $100G)."""
    # labels that would overlap are dropped ("$1 k" and "$1.1 k" collided on a narrow axis)
    return alt.Axis(labelExpr=fmt.vega_usd("datum.value", trim=True), **{"labelOverlap": True, **kwargs})


def _volume_axis(**kwargs: Any) -> alt.Axis:
    """Request-volume ticks in k, M and B (never 10G or 1T)."""
    return alt.Axis(labelExpr=fmt.vega_volume("datum.value"), **{"labelOverlap": True, **kwargs})


def _decades(expr: str) -> str:
    """Label only the powers of ten of a log axis (its 2, 3, ... 9 ticks stay unlabelled, as Vega's own
    log format leaves them): "$10 k  $100 k  $1 M", not "$1 k $2 k $3 k ..." running into each other."""
    exponent = "log(datum.value) / LN10"
    return f"(datum.value > 0 && abs({exponent} - round({exponent})) < 1e-6) ? {expr} : ''"


def _shown(fields: dict[str, str]) -> dict[str, str]:
    """Tooltip text fields computed in the browser: {new field: fmt Vega expression of a datum field}.

    ``fields`` maps the new field to ``"<kind>:<source field>"``, kind one of usd, volume, power_kw,
    number (for ``transform_calculate``).
    """
    how = {
        "usd": fmt.vega_usd,
        "volume": fmt.vega_volume,
        "power_kw": fmt.vega_power_kw,
        "number": fmt.vega_number,
    }
    out = {}
    for name, spec in fields.items():
        kind, field = spec.split(":", 1)
        out[name] = how[kind](f"datum[{field!r}]")
    return out


def _data(name: str, df: pd.DataFrame) -> alt.InlineData:
    # altair's debug mode (its default) checks every object against the Vega-Lite schema as it is made:
    # for the rows of a dataset that is all of them, a third of building the app's charts. The rows are
    # checked with the chart's whole spec where the charts are tested (tests/test_charts.py).
    with debug_mode(False):
        return alt.InlineData(values=records(df), name=name)


# -- chart builders ------------------------------------------------------------------------------------


def cumulative_cost_chart(
    timeline: pd.DataFrame, breakeven: pd.DataFrame, horizon_years: float = 3
) -> alt.Chart:
    """Cumulative cost month by month: the best GPU against the best accelerator, break-even marked."""
    lines = (
        alt.Chart(_data("timeline", timeline))
        .mark_line(strokeWidth=2.5)
        .encode(
            x=alt.X("month:Q", title="month", scale=alt.Scale(domain=[0, 12 * horizon_years])),
            y=alt.Y("cumulative_usd:Q", title="cumulative cost (USD)", axis=_money_axis()),
            color=alt.Color("kind_label:N", scale=KIND_COLORS, title=None, legend=alt.Legend(orient="top")),
            detail="device_id:N",
            tooltip=[
                alt.Tooltip("name:N", title="device"),
                alt.Tooltip("month:Q"),
                alt.Tooltip("cumulative_text:N", title="cumulative cost"),
            ],
        )
        .transform_calculate(**_shown({"cumulative_text": "usd:cumulative_usd"}))
    )
    marker = alt.Chart(_data("breakeven", breakeven))
    point = marker.mark_point(size=160, filled=True, color="black").encode(
        x="month:Q", y="cumulative_usd:Q", tooltip=[alt.Tooltip("label:N", title="")]
    )
    text = marker.mark_text(align="left", dx=8, dy=-8, fontWeight="bold").encode(
        x="month:Q", y="cumulative_usd:Q", text="label:N"
    )
    return alt.layer(lines, point, text).properties(
        width=WIDTH, height=CHART_HEIGHT, title="Cumulative cost: best GPU vs best accelerator"
    )


def cost_per_request_chart(options: pd.DataFrame) -> alt.Chart:
    """Cost per million requests per device, GPU vs accelerator; unavailable devices greyed with why.

    The whiskers (P10-P90) are drawn where ``options`` carries the Monte Carlo band
    (``chart_data(..., bands=...)``); the subtitle promises them only then.
    """
    band = "p10_per_million_usd" in options and bool(options["p10_per_million_usd"].notna().any())
    base = (
        alt.Chart(_data("options", options))
        .transform_calculate(
            **_shown(
                {
                    "cost_text": "usd:cost_per_million_usd",
                    "tco_text": "usd:tco_usd",
                    "p10_text": "usd:p10_per_million_usd",
                    "p90_text": "usd:p90_per_million_usd",
                }
            ),
            band_text="isValid(datum.p10_per_million_usd) ? datum.p10_text + ' to ' + datum.p90_text : '–'",
        )
        .encode(
            y=alt.Y("device:N", sort=alt.EncodingSortField("rank", op="min", order="ascending"), title=None),
            tooltip=[
                alt.Tooltip("device:N"),
                alt.Tooltip("status:N"),
                alt.Tooltip("cost_text:N", title="per million requests"),
                alt.Tooltip("band_text:N", title="P10-P90 per million"),
                alt.Tooltip("tco_text:N", title="total cost"),
                alt.Tooltip("devices_needed:Q", title="devices", format=","),
                alt.Tooltip("throughput:N", title="throughput per device"),
                alt.Tooltip("throughput_source:N", title="throughput source"),
                alt.Tooltip("price_source:N", title="price source"),
            ],
        )
    )
    bars = base.mark_bar().encode(
        x=alt.X("cost_per_million_usd:Q", title="USD per million requests", axis=_money_axis()),
        color=alt.Color("kind:N", scale=KIND_COLORS, title=None, legend=alt.Legend(orient="top")),
    )
    whiskers = base.mark_rule(color="#333", strokeWidth=1.2).encode(
        x="p10_per_million_usd:Q", x2="p90_per_million_usd:Q"
    )
    # the reason is cut with an ellipsis where it would run past a laptop screen's column (1280 px);
    # hovering it shows the whole reason
    greyed = base.mark_text(align="left", dx=3, color="#8a8a8a", fontSize=10, limit=600).encode(
        x=alt.value(0),
        text="note:N",
        tooltip=[alt.Tooltip("device:N"), alt.Tooltip("note:N", title="why")],
    )
    return alt.layer(bars, whiskers, greyed).properties(
        width=WIDTH,
        # the explanation goes under the title: on one line it ran into the next column's controls
        title=alt.TitleParams(
            "Cost per million requests",
            subtitle="whiskers: P10-P90 over the uncertain inputs"
            if band
            else "no uncertainty band computed (no whiskers)",
        ),
    )


def cost_vs_volume_chart(curve: pd.DataFrame, crossover: pd.DataFrame, current: pd.DataFrame) -> alt.Chart:
    """Total cost against request volume over the whole range, with the crossover marked."""
    x = alt.X(
        "requests_per_day:Q",
        title="requests per day",
        scale=alt.Scale(type="log"),
        axis=_volume_axis(values=VOLUME_TICKS),
    )
    lines = (
        alt.Chart(_data("curve", curve))
        .mark_line(strokeWidth=2)
        .encode(
            x=x,
            y=alt.Y(
                "tco_usd:Q",
                title="total cost (USD)",
                scale=alt.Scale(type="log"),
                axis=alt.Axis(labelExpr=_decades(fmt.vega_usd("datum.value", trim=True))),
            ),
            color=alt.Color(
                "series:N",
                scale=alt.Scale(domain=["best GPU", "best accelerator"], range=["#4c78a8", "#f58518"]),
                title=None,
                legend=alt.Legend(orient="top"),
            ),
            tooltip=[
                alt.Tooltip("series:N"),
                alt.Tooltip("device_id:N", title="device"),
                alt.Tooltip("volume_text:N", title="requests/day"),
                alt.Tooltip("tco_text:N", title="total cost"),
            ],
        )
        .transform_calculate(**_shown({"volume_text": "volume:requests_per_day", "tco_text": "usd:tco_usd"}))
    )
    # The two labels sit in rows of their own at the top (the crossover's, then yours), and the two rules
    # start below those rows: close together on the log axis (1.6 M and 107 M/day at the report's width)
    # a rule ran through the other's label.
    below_labels = {"y": alt.value(LABEL_ROWS_PX), "y2": alt.value(CHART_HEIGHT)}
    cross = alt.Chart(_data("crossover", crossover))
    rule = cross.mark_rule(color="black", strokeDash=[4, 3]).encode(x=x, **below_labels)
    label = cross.mark_text(align="left", dx=4, y=8, fontWeight="bold").encode(x=x, text="label:N")
    here = alt.Chart(_data("current", current)).transform_calculate(
        **_shown({"volume_text": "volume:requests_per_day"})
    )
    here_rule = here.mark_rule(color="#54a24b", strokeWidth=2).encode(
        x=x, tooltip=[alt.Tooltip("volume_text:N", title="your volume (requests/day)")], **below_labels
    )
    here_text = here.mark_text(align="left", dx=4, y=22, color="#2f7a2a").encode(x=x, text="label:N")
    return alt.layer(lines, rule, label, here_rule, here_text).properties(
        width=WIDTH, height=CHART_HEIGHT, title="Total cost against request volume"
    )


def perf_per_watt_chart(efficiency: pd.DataFrame) -> alt.Chart:
    """Performance per watt (requests per joule at the device) against throughput per device."""
    return (
        alt.Chart(_data("efficiency", efficiency))
        .mark_point(size=90, filled=True)
        .encode(
            x=alt.X(
                "throughput_rps:Q",
                title="requests/s per device",
                scale=alt.Scale(type="log"),
                axis=alt.Axis(labelExpr=_decades(fmt.vega_volume("datum.value"))),
            ),
            y=alt.Y(
                "requests_per_joule:Q",
                title="requests per joule (device power)",
                scale=alt.Scale(type="log"),
                axis=alt.Axis(labelExpr=_decades(fmt.vega_number("datum.value"))),
            ),
            color=alt.Color("kind:N", scale=KIND_COLORS, title=None, legend=alt.Legend(orient="top")),
            shape=alt.Shape(
                "how:N",
                title=None,
                scale=alt.Scale(domain=list(HOW.values()), range=["circle", "square", "triangle"]),
            ),
            opacity=alt.Opacity(
                "available:O",  # ordered by its domain: Vega-Lite warns of opacity on an unsorted nominal
                scale=alt.Scale(domain=["available here", "not available here"], range=[1.0, 0.3]),
                title=None,
            ),
            tooltip=[
                alt.Tooltip("device:N"),
                alt.Tooltip("throughput_text:N", title="requests/s"),
                alt.Tooltip("per_joule_text:N", title="requests per joule (device power)"),
                alt.Tooltip("how:N", title="throughput is"),
                alt.Tooltip("throughput_source:N", title="throughput source"),
                alt.Tooltip("power_source:N", title="power source"),
                alt.Tooltip("available:N"),
            ],
        )
        .transform_calculate(
            **_shown(
                {"throughput_text": "number:throughput_rps", "per_joule_text": "number:requests_per_joule"}
            )
        )
        .properties(width=WIDTH, height=CHART_HEIGHT, title="Performance per watt against throughput")
    )


def framework_support_chart(support: pd.DataFrame) -> alt.Chart:
    """Device x framework heatmap of support level; column labels carry the scenario's shares."""
    base = alt.Chart(_data("support", support)).encode(
        x=alt.X(
            "framework:N",
            sort=alt.EncodingSortField("framework_order"),
            title=None,
            axis=alt.Axis(orient="top", labelAngle=-30),
        ),
        y=alt.Y("device:N", title=None),
    )
    cells = base.mark_rect(stroke="white").encode(
        color=alt.Color(
            "support:N", scale=SUPPORT_COLORS, title="support", legend=alt.Legend(orient="bottom")
        ),
        tooltip=[
            alt.Tooltip("device:N"),
            alt.Tooltip("framework:N", title="framework (your share)"),
            alt.Tooltip("support:N"),
            alt.Tooltip("via:N", title="through"),
            alt.Tooltip("source:N"),
        ],
    )
    return cells.properties(width=300, title="Framework support")


def power_chart(power: pd.DataFrame) -> alt.Chart:
    """Fleet power per device option at the chosen boundary."""
    return (
        alt.Chart(_data("power", power))
        .mark_bar()
        .encode(
            y=alt.Y("device:N", sort="x", title=None),
            x=alt.X(
                "power_kw:Q",
                title="provisioned fleet power"
                if len(power) and power.boundary.iloc[0] == BOUNDARIES["provisioned"][1]
                else "average fleet power",
                axis=alt.Axis(labelExpr=fmt.vega_power_kw("datum.value", zero="0")),
            ),
            color=alt.Color("kind:N", scale=KIND_COLORS, title=None, legend=alt.Legend(orient="top")),
            tooltip=[
                alt.Tooltip("device:N"),
                alt.Tooltip("power_text:N", title="power"),
                alt.Tooltip("devices_needed:Q", title="devices", format=","),
                alt.Tooltip("boundary:N"),
                alt.Tooltip("power_source:N", title="power source"),
            ],
        )
        .transform_calculate(**_shown({"power_text": "power_kw:power_kw"}))
        # narrower than the others: its device names take about 170 px of its half of the grid
        .properties(width=WIDTH - 130, title="Power of the fleet, by device")
    )


def breakeven_map_chart(df: pd.DataFrame) -> alt.Chart:
    """Over request volume x model changes per year: where GPUs win and where accelerators win.

    ``df`` is ``explorer.calc.breakeven_map`` output (long form).
    """
    data = df
    return (
        alt.Chart(_data("breakeven_map", data))
        .mark_rect()
        .encode(
            x=alt.X(
                "requests_per_day:O",
                title="requests per day",
                axis=_volume_axis(labelOverlap=True),
            ),
            y=alt.Y(
                "model_changes_per_year:O",
                title="model changes per year",
                sort="descending",
                axis=alt.Axis(format=".0f", labelOverlap=True),
            ),
            color=alt.Color(
                "winner:N",
                scale=alt.Scale(domain=["gpu", "accelerator"], range=["#4c78a8", "#f58518"]),
                title="cheaper",
            ),
            tooltip=[
                alt.Tooltip("volume_text:N", title="requests/day"),
                alt.Tooltip("model_changes_per_year:Q", title="changes/year", format=".1f"),
                alt.Tooltip("best_gpu:N"),
                alt.Tooltip("gpu_text:N", title="GPU total"),
                alt.Tooltip("best_accelerator:N"),
                alt.Tooltip("accelerator_text:N", title="accelerator total"),
            ],
        )
        .transform_calculate(
            **_shown(
                {
                    "volume_text": "volume:requests_per_day",
                    "gpu_text": "usd:gpu_tco_usd",
                    "accelerator_text": "usd:accelerator_tco_usd",
                }
            )
        )
        .properties(width=WIDTH, height=260, title="Where GPUs win and where accelerators win")
    )


def validation_chart(loo: pd.DataFrame) -> alt.Chart:
    """Held-out estimate against measurement, log-log, with the +/-25 % band: each point one measured
    result, its tooltip naming the source."""
    data = loo.assign(label=loo.workload + " · " + loo.device_id)
    lo = float(min(data.measured_rps.min(), data.estimated_rps.min()) / 2) if len(data) else 0.01
    hi = float(max(data.measured_rps.max(), data.estimated_rps.max()) * 2) if len(data) else 1e5
    line = pd.DataFrame(
        {
            "measured_rps": [lo, hi],
            "estimated_rps": [lo, hi],
            "lower": [lo * 0.75, hi * 0.75],
            "upper": [lo * 1.25, hi * 1.25],
        }
    )
    scale = alt.Scale(type="log", domain=[lo, hi])
    band = (
        alt.Chart(_data("validation_band", line))
        .mark_area(opacity=0.15, color="#54a24b")
        .encode(x=alt.X("measured_rps:Q", scale=scale), y=alt.Y("lower:Q", scale=scale), y2="upper:Q")
    )
    diagonal = (
        alt.Chart(_data("validation_band", line))
        .mark_line(color="#54a24b")
        .encode(x="measured_rps:Q", y="estimated_rps:Q")
    )
    points = (
        alt.Chart(_data("validation", data))
        .mark_point(size=70, filled=True)
        .encode(
            x=alt.X("measured_rps:Q", title="measured requests/s per device", scale=scale),
            y=alt.Y("estimated_rps:Q", title="estimated, with it held out", scale=scale),
            color=alt.Color("group:N", title=None, legend=alt.Legend(orient="top")),
            shape=alt.Shape("workload:N", title=None),
            tooltip=[
                alt.Tooltip("label:N", title="result"),
                alt.Tooltip("measured_rps:Q", title="measured", format=",.3g"),
                alt.Tooltip("estimated_rps:Q", title="estimated", format=",.3g"),
                alt.Tooltip("signed_error:Q", title="error", format="+.0%"),
                alt.Tooltip("system:N"),
                alt.Tooltip("fitted_on:N", title="efficiency fitted on"),
                alt.Tooltip("source_title:N", title="source"),
                alt.Tooltip("retrieved:N"),
            ],
        )
    )
    return alt.layer(band, diagonal, points).properties(
        width=WIDTH,
        height=300,
        title="How good are the estimates? Held-out estimate vs measurement (band: ±25 %)",
    )


def tornado_chart(tornado: pd.DataFrame, tornado_nominal: pd.DataFrame) -> alt.Chart:
    """Each uncertain input moved alone across its range: the recommended option's total at each end;
    inputs that can flip the recommendation are marked."""
    bars = (
        alt.Chart(_data("tornado", tornado))
        .mark_bar(height=12)
        .transform_calculate(
            **_shown({"low_text": "usd:total_at_low_usd", "high_text": "usd:total_at_high_usd"})
        )
        .encode(
            y=alt.Y("input:N", sort=alt.EncodingSortField("order", op="min"), title=None),
            x=alt.X("lo:Q", title="total cost of the recommended option (USD)", axis=_money_axis()),
            x2="hi:Q",
            color=alt.Color(
                "effect:N",
                scale=alt.Scale(
                    domain=["moves the total", "can flip the recommendation"], range=["#9ecae9", "#e45756"]
                ),
                title=None,
                legend=alt.Legend(orient="top"),
            ),
            tooltip=[
                alt.Tooltip("device_id:N", title="recommended"),
                alt.Tooltip("input:N"),
                alt.Tooltip("low_text:N", title="at the low end"),
                alt.Tooltip("high_text:N", title="at the high end"),
                alt.Tooltip("low:Q", title="low end", format=".3g"),
                alt.Tooltip("high:Q", title="high end", format=".3g"),
                alt.Tooltip("effect:N"),
            ],
        )
    )
    rule = alt.Chart(_data("tornado_nominal", tornado_nominal)).mark_rule(color="black").encode(x="nominal:Q")
    return alt.layer(bars, rule).properties(width=WIDTH, title="What moves the answer (tornado)")


# -- the declaration -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChartSpec:
    """One chart, declared once: adding a chart is one entry in ``CHARTS`` (and its builder above).

    ``build`` takes the chart's datasets in the order of ``datasets`` (frames of ``chart_data`` for the
    page's charts, of ``uncertainty_data`` for the section under them) and the keyword options it names
    in ``options``; a change of such an option changes the chart's structure, so a live view rebuilds it
    instead of pushing rows.
    """

    name: str  #: the chart's id: its CSS class ``ax-chart-<name>``, its file name, its report figure
    title: str  #: what the download picker and the page call it
    datasets: tuple[str, ...]  #: the named inline datasets it reads
    build: Callable[..., alt.TopLevelMixin]
    section: str = "page"  #: "page": the grid of charts, from ``chart_data``; "uncertainty": the section
    options: tuple[str, ...] = ()  #: keyword options of ``build``, each a Scenario field (``horizon_years``)
    wide: bool = False  #: takes a row of its own in the page's grid
    at_boundary: bool = False  #: drawn at the chosen power boundary: the page puts the picker above it

    def chart(self, data: dict[str, pd.DataFrame], **options: Any) -> alt.TopLevelMixin:
        """This chart for a dict of datasets (``chart_data`` or ``uncertainty_data`` output)."""
        return self.build(
            *(data[n] for n in self.datasets), **{k: options[k] for k in self.options if k in options}
        )


#: Every chart, in the page's order (left to right, top to bottom): the grid's, then the section's under it.
#: The report and the download picker follow it.
CHARTS: tuple[ChartSpec, ...] = (
    ChartSpec(
        "cumulative_cost",
        "Cumulative cost",
        ("timeline", "breakeven"),
        cumulative_cost_chart,
        options=("horizon_years",),
    ),
    ChartSpec(
        "cost_vs_volume", "Cost against volume", ("curve", "crossover", "current"), cost_vs_volume_chart
    ),
    ChartSpec(
        "cost_per_request", "Cost per million requests", ("options",), cost_per_request_chart, wide=True
    ),
    ChartSpec("power", "Power", ("power",), power_chart, at_boundary=True),
    ChartSpec("perf_per_watt", "Performance per watt", ("efficiency",), perf_per_watt_chart),
    ChartSpec("framework_support", "Framework support", ("support",), framework_support_chart),
    ChartSpec(
        "tornado",
        "What moves the answer",
        ("tornado", "tornado_nominal"),
        tornado_chart,
        section="uncertainty",
    ),
    ChartSpec(
        "breakeven_map",
        "Where GPUs or accelerators win",
        ("breakeven_map",),
        breakeven_map_chart,
        section="uncertainty",
    ),
)
#: The charts by name.
CHART = {c.name: c for c in CHARTS}
#: The page's grid of charts (built from ``chart_data``), by name.
PAGE_CHARTS = tuple(c.name for c in CHARTS if c.section == "page")
#: The named datasets each chart reads.
DATASETS: dict[str, tuple[str, ...]] = {c.name: c.datasets for c in CHARTS}


def build_all(data: dict[str, pd.DataFrame], horizon_years: float = 3) -> dict[str, alt.Chart]:
    """Every chart of the page's grid for one evaluation's datasets (``chart_data``), by chart name."""
    return {name: CHART[name].chart(data, horizon_years=horizon_years) for name in PAGE_CHARTS}

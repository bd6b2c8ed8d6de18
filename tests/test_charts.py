"""Chart builders: pure functions on long-form data, checked through their Vega-Lite specs."""

from __future__ import annotations

import pytest

from explorer import charts as C
from explorer.calc import evaluate
from explorer.catalog import load_catalog
from explorer.scenario import Scenario

CAT = load_catalog()


@pytest.fixture(scope="module")
def data():
    r = evaluate(Scenario(requests_per_day=1e9, workload="llama-3.1-8b"), CAT)
    return C.chart_data(r, CAT)


# The break-even and crossover marks need a scenario that has both. Since the throughput model became
# physical (issue 14) Llama-3.1-8B has no lasting crossover (whole devices make the totals steps: the best
# accelerator wins only in bands between 272 k and 202 M requests/day), so these tests use SDXL at its
# default 100 M images/day: one clean crossover near 68 k/day, far below the volume (robust to small catalog
# moves), and the best accelerator pays its porting back within the first month.
CROSSING = Scenario(workload="sdxl")


@pytest.fixture(scope="module")
def crossing():
    r = evaluate(CROSSING, CAT)
    assert r.crossover_requests_per_day is not None and r.break_even_month is not None, "scenario changed"
    return C.chart_data(r, CAT)


def _layers(spec: dict) -> list[dict]:
    return spec.get("layer", [spec])


def _datasets(spec: dict) -> set[str]:
    names = set()
    for layer in _layers(spec):
        d = layer.get("data", spec.get("data"))
        if d and "name" in d:
            names.add(d["name"])
    return names


@pytest.mark.slow
def test_every_chart_reads_exactly_its_named_datasets(data) -> None:
    for name, chart in C.build_all(data).items():
        spec = chart.to_dict()
        assert _datasets(spec) == set(C.DATASETS[name]), name


def test_cost_per_request_colours_kind_and_greys_unavailable(data) -> None:
    spec = C.cost_per_request_chart(data["options"]).to_dict()
    bars = _layers(spec)[0]
    assert bars["encoding"]["color"]["field"] == "kind"
    assert bars["encoding"]["color"]["scale"]["domain"] == ["GPU", "accelerator", "unavailable"]
    assert bars["encoding"]["color"]["scale"]["range"][2] == "#c7c7c7"
    tips = {t["field"] for t in bars["encoding"]["tooltip"]}
    assert {"status", "throughput_source", "price_source", "throughput"} <= tips
    opts = data["options"]
    assert (opts[opts.kind == "unavailable"].status.str.startswith("unavailable: ")).all()


def test_cumulative_cost_marks_break_even(crossing) -> None:
    assert len(crossing["breakeven"]) == 1
    spec = C.cumulative_cost_chart(crossing["timeline"], crossing["breakeven"]).to_dict()
    marks = [layer["mark"]["type"] for layer in _layers(spec)]
    assert marks == ["line", "point", "text"]
    assert set(crossing["timeline"].kind_label) == {"GPU", "accelerator"}


def test_cost_vs_volume_is_log_log_with_crossover_and_current(crossing) -> None:
    spec = C.cost_vs_volume_chart(crossing["curve"], crossing["crossover"], crossing["current"]).to_dict()
    line = _layers(spec)[0]
    assert line["encoding"]["x"]["scale"]["type"] == "log"
    assert line["encoding"]["y"]["scale"]["type"] == "log"
    assert len(crossing["crossover"]) == 1
    assert crossing["current"].requests_per_day.iloc[0] == CROSSING.requests_per_day
    assert crossing["curve"].requests_per_day.min() == pytest.approx(100)


def test_cost_vs_volumes_rules_start_below_both_labels(crossing) -> None:
    """The crossover's and your volume's labels sit in rows at the top; both rules start below those rows,
    so neither runs through the other's label however close the two volumes are (the report's chart drew
    your volume's rule through "crossover: 1.6 M/day")."""
    spec = C.cost_vs_volume_chart(crossing["curve"], crossing["crossover"], crossing["current"]).to_dict()
    marks = [(layer["mark"], layer.get("encoding", {})) for layer in _layers(spec)]
    rules = [e for m, e in marks if m["type"] == "rule"]
    texts = [m for m, _ in marks if m["type"] == "text"]
    assert len(rules) == len(texts) == 2
    for e in rules:
        assert e["y"] == {"value": C.LABEL_ROWS_PX} and e["y2"] == {"value": C.CHART_HEIGHT}
    for m in texts:
        assert 0 < m["y"] < C.LABEL_ROWS_PX - 6  # a row above where the rules start (11 px text)


def _rule_values(spec: dict) -> list:
    """The rows the crossover rule is drawn from (the rule layer reading the "crossover" dataset)."""
    (rule,) = [
        layer
        for layer in _layers(spec)
        if layer["mark"]["type"] == "rule" and layer.get("data", {}).get("name") == "crossover"
    ]
    return rule["data"]["values"]


@pytest.mark.slow
def test_cost_vs_volume_without_a_lasting_crossover_draws_no_rule(crossing) -> None:
    """Llama-3.1-8B at 1 B/day, frozen, has no lasting crossover: the chart draws both cost curves and no
    crossover rule (not one at a volume that does not hold); the result says why in words. (With four model
    changes a year, the default, a GPU has been cheaper at every volume since TPU v6e's eight-chip copies
    were priced on the tpu-v6e-8 instances that hold them, 2026-12-06.)"""
    r = evaluate(Scenario(requests_per_day=1e9, workload="llama-3.1-8b", model_changes_per_year=0), CAT)
    data = C.chart_data(r, CAT)
    assert r.crossover_requests_per_day is None
    assert r.crossover_note.startswith("no lasting crossover: ")
    assert data["crossover"].empty
    spec = C.cost_vs_volume_chart(data["curve"], data["crossover"], data["current"]).to_dict()
    assert _rule_values(spec) == []
    assert set(data["curve"].series) == {"best GPU", "best accelerator"}
    # the same chart with a crossover does draw the rule (so the empty one above can fail)
    with_rule = C.cost_vs_volume_chart(crossing["curve"], crossing["crossover"], crossing["current"])
    assert len(_rule_values(with_rule.to_dict())) == 1


def test_perf_per_watt_tooltips_name_sources(data) -> None:
    spec = C.perf_per_watt_chart(data["efficiency"]).to_dict()
    tips = {t["field"] for t in spec["encoding"]["tooltip"]}
    assert {"throughput_source", "power_source", "how"} <= tips
    assert set(data["efficiency"].how) <= {"measured", "estimated"}
    assert data["efficiency"].throughput_source.str.contains("retrieved").any()


def test_heatmap_covers_device_by_framework(data) -> None:
    s = data["support"]
    assert len(s) == len(CAT.devices) * 6
    assert s.framework.str.contains("PyTorch (100%)", regex=False).any()
    spec = C.framework_support_chart(s).to_dict()
    assert spec["mark"]["type"] == "rect" and spec["encoding"]["color"]["field"] == "support"


def test_power_chart_follows_the_boundary() -> None:
    r = evaluate(Scenario(deployment="bare-metal", requests_per_day=1e9), CAT)
    dev = C.chart_data(r, CAT, "device")["power"].set_index("device").power_kw
    fac = C.chart_data(r, CAT, "facility")["power"].set_index("device").power_kw
    common = dev.index.intersection(fac.index)
    assert len(common) > 3
    assert (fac[common] > dev[common]).all(), "facility power includes host and PUE"


def test_records_are_json_safe(data) -> None:
    import json

    for name, df in data.items():
        # no default=: a NaN, a numpy integer or a Timestamp left in a row raises here
        rows = json.loads(json.dumps(C.records(df), allow_nan=False))
        assert len(rows) == len(df) and all(list(r) == list(df.columns) for r in rows), name
        nan = int(df.isna().sum().sum())
        assert sum(v is None for r in rows for v in r.values()) == nan, f"{name}: NaN -> None"


@pytest.mark.slow
def test_cost_chart_renders_devices_in_rank_order(data) -> None:
    """Rendered for real (vl-convert): a layered chart can silently lose its sort in Vega-Lite."""
    import re

    import vl_convert as vlc

    svg = vlc.vegalite_to_svg(C.cost_per_request_chart(data["options"]).to_dict(), vl_version="6.4")
    names = list(data["options"].device)

    def named(label: str) -> str | None:
        """The device a y-axis label names: a long name is cut to the axis's label limit, ending in '…'."""
        if label in names:
            return label
        cut = [n for n in names if label.endswith("…") and n.startswith(label[:-1].rstrip())]
        return cut[0] if len(cut) == 1 else None

    shown = [n for n in map(named, re.findall(r"<text[^>]*>([^<]+)</text>", svg)) if n]
    assert any(len(n) > 35 for n in names[:8])  # a cut label is among those compared (B300's)
    assert shown[:8] == names[:8]


# -- numbers in human units: axes and tooltips use explorer.fmt's Vega expressions ---------------------


def _walk(node):
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from _walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v)


@pytest.fixture(scope="module")
def specs(data) -> dict:
    """Every chart's Vega-Lite spec: the page's six, the tornado and the break-even map."""
    import numpy as np

    from explorer.calc import breakeven_map
    from explorer.uncertainty import tornado

    s = Scenario(requests_per_day=1e9, workload="llama-3.1-8b")
    charts = dict(C.build_all(data))
    charts["tornado"] = C.tornado_chart(**C.tornado_data(tornado(s, CAT)))
    grid = breakeven_map(s, np.logspace(2, np.log10(5e11), 12), np.linspace(0, 52, 6), CAT)
    charts["breakeven_map"] = C.breakeven_map_chart(grid)
    return {name: chart.to_dict() for name, chart in charts.items()}


def _encodings(node):
    """Every encoding block in a spec, layers and concatenations included."""
    if isinstance(node, dict):
        if isinstance(node.get("encoding"), dict):
            yield node["encoding"]
        for v in node.values():
            yield from _encodings(v)
    elif isinstance(node, list):
        for v in node:
            yield from _encodings(v)


@pytest.mark.slow
def test_no_continuous_channel_takes_an_unsorted_nominal_field(specs) -> None:
    """Opacity, size and the like on a nominal field make Vega-Lite warn in the browser's console ("should
    not be used with an unsorted discrete field"): ordinal, ordered by its scale's domain, instead."""
    for name, spec in specs.items():
        for enc in _encodings(spec):
            for channel in ("opacity", "fillOpacity", "strokeOpacity", "size", "strokeWidth"):
                assert enc.get(channel, {}).get("type") != "nominal", f"{name}: {channel}"


@pytest.mark.slow
def test_no_si_format_and_money_and_volume_axes_use_fmt(specs) -> None:
    from explorer import fmt

    money_axis = fmt.vega_usd("datum.value", trim=True)
    volume_axis = fmt.vega_volume("datum.value")
    for name, spec in specs.items():
        for node in _walk(spec):
            assert "s" not in str(node.get("format", "")), (name, node)  # no d3 SI: "$400m", "10G"
        # a layered chart states an axis once, in one layer; the other layers' fields share it
        for enc in ("x", "y"):
            fields, label_expr = set(), ""
            for layer in _layers(spec):
                e = layer.get("encoding", {}).get(enc)
                if isinstance(e, dict) and "field" in e:
                    fields.add(e["field"])
                    label_expr += (e.get("axis") or {}).get("labelExpr", "")
            if any(f.endswith("usd") for f in fields) or "lo" in fields:
                assert money_axis in label_expr, (name, enc, fields)
            if "requests_per_day" in fields:
                assert volume_axis in label_expr, (name, enc)
            if "power_kw" in fields:
                assert "' MW'" in label_expr, (name, enc)


def test_money_tooltips_are_computed_by_fmt(specs) -> None:
    from explorer import fmt

    for name, spec in specs.items():
        calcs = {
            t["as"]: t["calculate"] for node in _walk(spec) for t in node.get("transform", []) if "as" in t
        }
        for node in _walk(spec):
            for tip in node.get("tooltip", []) if isinstance(node.get("tooltip"), list) else []:
                field = tip.get("field", "")
                assert not field.endswith("_usd"), (name, field)  # raw dollars: shown through fmt
                if field.endswith("_text") and field != "band_text":
                    assert calcs[field].startswith("(isValid("), (name, field)
    cost = {
        t["as"]: t["calculate"]
        for node in _walk(specs["cost_per_request"])
        for t in node.get("transform", [])
        if "as" in t
    }
    assert cost["cost_text"] == fmt.vega_usd("datum['cost_per_million_usd']")


def test_cost_chart_promises_whiskers_only_when_it_draws_them() -> None:
    from explorer.uncertainty import monte_carlo

    s = Scenario(requests_per_day=1e9, workload="llama-3.1-8b")
    r = evaluate(s, CAT)
    plain = C.cost_per_request_chart(C.chart_data(r, CAT)["options"]).to_dict()
    assert "no whiskers" in plain["title"]["subtitle"]
    banded = C.chart_data(r, CAT, bands=monte_carlo(s, CAT, draws=200, seed=0).options)["options"]
    spec = C.cost_per_request_chart(banded).to_dict()
    assert spec["title"]["subtitle"].startswith("whiskers: P10-P90")
    avail = banded[banded.kind != "unavailable"]
    assert (
        avail.p10_per_million_usd.notna().all()
        and (avail.p10_per_million_usd <= avail.p90_per_million_usd).all()
    )


def test_the_band_added_afterwards_gives_the_same_datasets() -> None:
    """A slider move computes the datasets without the band, shows the charts that do not draw it, then
    adds the band (``with_bands``): the same frames as ``chart_data`` with the band, the others untouched."""
    import pandas as pd

    from explorer.chart_frames import BANDED, with_bands
    from explorer.uncertainty import monte_carlo

    for s in (Scenario(requests_per_day=1e9, workload="llama-3.1-8b"), CROSSING):
        r = evaluate(s, CAT)
        bands = monte_carlo(s, CAT, draws=200, seed=0).options
        plain = C.chart_data(r, CAT, "wall")
        later = with_bands(plain, r, bands)
        at_once = C.chart_data(r, CAT, "wall", bands)
        assert set(later) == set(at_once)
        for name, frame in later.items():
            pd.testing.assert_frame_equal(frame, at_once[name])
            assert (frame is plain[name]) == (name not in BANDED), name
        assert later["options"].p10_per_million_usd.notna().any()
        assert with_bands(plain, r, None)["options"].p10_per_million_usd.isna().all()


def test_a_volume_move_hands_back_the_frames_it_leaves_unchanged() -> None:
    """A request-volume move keeps the devices' efficiency and the crossover as they were: chart data hands
    back the very frames it built for them last time, so a view skips them by identity; the frames it
    changes are new, and every frame equals the one built from scratch for that scenario."""
    import dataclasses

    import pandas as pd

    from explorer import chart_frames

    s = CROSSING
    first = C.chart_data(evaluate(s, CAT), CAT)
    moved = C.chart_data(
        evaluate(dataclasses.replace(s, requests_per_day=s.requests_per_day * 1.3), CAT), CAT
    )
    for name in ("efficiency", "crossover", "support"):
        assert moved[name] is first[name], name
    for name in ("options", "timeline", "current", "power"):
        assert moved[name] is not first[name], name
    # another workload: other efficiency rows, another frame; and nothing kept stands in for a fresh build
    other = C.chart_data(evaluate(dataclasses.replace(s, workload="resnet-50"), CAT), CAT)
    assert other["efficiency"] is not first["efficiency"]
    chart_frames._recent.clear()
    for scenario, data in ((s, first), (dataclasses.replace(s, workload="resnet-50"), other)):
        fresh = C.chart_data(evaluate(scenario, CAT), CAT)
        for name, frame in data.items():
            pd.testing.assert_frame_equal(frame, fresh[name])


def test_break_even_and_crossover_labels_are_in_words(crossing) -> None:
    from explorer import fmt

    r = evaluate(CROSSING, CAT)
    assert crossing["breakeven"].label.iloc[0] == f"break-even: {fmt.break_even(r.break_even_month)}"
    assert crossing["crossover"].label.iloc[0] == f"crossover: {fmt.volume(r.crossover_requests_per_day)}/day"
    assert "month 0" not in crossing["breakeven"].label.iloc[0]


def test_power_sources_in_the_chart_data_follow_the_catalog() -> None:
    """A device whose catalog entry has a power figure never says "no published power figure" (a NaN
    taken as true once labelled every device so), in either chart that shows the power source."""
    with_power = set(CAT.devices[CAT.devices.power_w.notna()].name)
    for s in (
        Scenario(),
        Scenario(deployment="bare-metal"),
        Scenario(deployment="edge", workload="resnet-50"),
    ):
        d = C.chart_data(evaluate(s, CAT), CAT)
        for frame in (d["efficiency"], d["power"]):
            for device, source in zip(frame.device, frame.power_source, strict=True):
                assert (source == "no published power figure") == (device not in with_power), (device, source)


# -- one declaration per chart (explorer.charts.CHARTS) ------------------------------------------------


@pytest.mark.slow
def test_every_list_of_charts_is_the_one_declaration(data) -> None:
    from . import journeys

    names = [c.name for c in C.CHARTS]
    assert len(set(names)) == len(names) == 8
    assert list(C.DATASETS) == names and set(C.CHART) == set(names)
    page = [c.name for c in C.CHARTS if c.section == "page"]
    assert list(C.PAGE_CHARTS) == page and len(page) == 6
    assert list(C.build_all(data)) == page
    assert list(journeys.CHARTS) == page
    for spec in C.CHARTS:  # each chart reads exactly the datasets it declares
        frames = data if spec.section == "page" else _section_frames()
        assert _datasets(spec.chart(frames).to_dict()) == set(spec.datasets), spec.name


_SECTION: dict = {}


def _section_frames() -> dict:
    if not _SECTION:
        _SECTION.update(C.uncertainty_data(CROSSING, CAT))
    return _SECTION


def _declare(monkeypatch, spec: C.ChartSpec) -> None:
    """Add `spec` to the declaration, with everything derived from it."""
    charts = (*C.CHARTS, spec)
    monkeypatch.setattr(C, "CHARTS", charts)
    monkeypatch.setattr(C, "CHART", {c.name: c for c in charts})
    monkeypatch.setattr(C, "PAGE_CHARTS", tuple(c.name for c in charts if c.section == "page"))
    monkeypatch.setattr(C, "DATASETS", {c.name: c.datasets for c in charts})


@pytest.mark.slow
def test_one_declaration_adds_a_chart_to_the_page_the_picker_and_the_report(monkeypatch) -> None:
    """A chart declared once is built, shown live in the page's grid, offered for download and drawn in
    the report; its title is the one declared."""
    import altair as alt

    from explorer import export
    from explorer.app import SharePanel
    from explorer.widgets import Explorer

    def devices_needed_chart(options):
        return (
            alt.Chart(alt.InlineData(values=C.records(options), name="options"))
            .mark_point()
            .encode(x="rank:Q", y="devices_needed:Q")
            .properties(title="Devices needed, by rank")
        )

    _declare(monkeypatch, C.ChartSpec("devices_needed", "Devices needed", ("options",), devices_needed_chart))
    s = Scenario(workload="sdxl")
    ex = Explorer(CAT, s)
    assert "devices_needed" in ex.charts
    grid = [w for w in _widgets(ex) if "ax-charts" in w._dom_classes]
    assert len(grid) == 1
    shown = [w for w in _widgets(grid[0]) if "ax-chart-devices_needed" in w._dom_classes]
    assert len(shown) == 1, "the new chart is in the page's grid"
    ex.update(Scenario(workload="sdxl", requests_per_day=2e8))
    assert ex.charts["devices_needed"].pushes == 1, "and follows the scenario"
    picker = SharePanel(ex).chart_pick
    assert ("Devices needed", "devices_needed") in picker.options
    svgs, notes = export._charts_svg(ex.result, CAT, None, "facility")
    assert list(svgs)[-1] == "devices_needed" and "Devices needed, by rank" in svgs["devices_needed"]
    assert not notes


def _widgets(root):
    """`root` and every widget under it."""
    stack = [root]
    while stack:
        w = stack.pop()
        yield w
        stack.extend(getattr(w, "children", ()))


def test_a_chart_widget_holds_the_spec_altair_validates_and_leaves_the_chart_as_it_was(data) -> None:
    """The page's chart widgets skip the schema check on every visit (explorer.runtime.Chart): the spec
    they hold must be the one a validated ``to_dict()`` gives, and the chart keeps its own method."""
    from explorer.runtime import Chart

    for name, chart in C.build_all(data).items():
        widget = Chart(chart)
        assert widget.spec == chart.to_dict(), name
        assert "to_dict" not in vars(chart), name
        rebuilt = C.build_all(data)[name]
        widget.chart = rebuilt  # a rebuilt chart goes through the same handler
        assert widget.spec == rebuilt.to_dict() and "to_dict" not in vars(rebuilt), name
        widget.close()

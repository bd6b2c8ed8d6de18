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


def _layers(spec: dict) -> list[dict]:
    return spec.get("layer", [spec])


def _datasets(spec: dict) -> set[str]:
    names = set()
    for layer in _layers(spec):
        d = layer.get("data", spec.get("data"))
        if d and "name" in d:
            names.add(d["name"])
    return names


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


def test_cumulative_cost_marks_break_even(data) -> None:
    assert len(data["breakeven"]) == 1
    spec = C.cumulative_cost_chart(data["timeline"], data["breakeven"]).to_dict()
    marks = [layer["mark"]["type"] for layer in _layers(spec)]
    assert marks == ["line", "point", "text"]
    assert set(data["timeline"].kind_label) == {"GPU", "accelerator"}


def test_cost_vs_volume_is_log_log_with_crossover_and_current(data) -> None:
    spec = C.cost_vs_volume_chart(data["curve"], data["crossover"], data["current"]).to_dict()
    line = _layers(spec)[0]
    assert line["encoding"]["x"]["scale"]["type"] == "log"
    assert line["encoding"]["y"]["scale"]["type"] == "log"
    assert len(data["crossover"]) == 1 and data["current"].requests_per_day.iloc[0] == 1e9
    assert data["curve"].requests_per_day.min() == pytest.approx(100)


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
        json.dumps(C.records(df), allow_nan=False, default=str), name


def test_cost_chart_renders_devices_in_rank_order(data) -> None:
    """Rendered for real (vl-convert): a layered chart can silently lose its sort in Vega-Lite."""
    import re

    import vl_convert as vlc

    svg = vlc.vegalite_to_svg(C.cost_per_request_chart(data["options"]).to_dict(), vl_version="6.4")
    names = list(data["options"].device)
    shown = [t for t in re.findall(r"<text[^>]*>([^<]+)</text>", svg) if t in names]
    assert shown[:8] == names[:8]

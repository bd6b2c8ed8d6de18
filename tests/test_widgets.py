"""The widgets, driven from Python by setting the traits a browser would set (no browser here)."""

from __future__ import annotations

import html
import json
import subprocess
import sys

import altair as alt
import ipywidgets as W
import pytest

from explorer import charts as C
from explorer.catalog import load_catalog
from explorer.controls import MixControl
from explorer.fmt import changes_per_year as changes_label
from explorer.runtime import chart_view
from explorer.scenario import FIELD_SPECS, Scenario
from explorer.widgets import Explorer

from .conftest import cli

CAT = load_catalog()


@pytest.fixture
def ex() -> Explorer:
    return Explorer(CAT, Scenario(requests_per_day=1e8, workload="llama-3.1-8b"))


@pytest.mark.slow
def test_a_control_per_field_with_bounds_and_help_from_the_declaration(ex) -> None:
    assert set(ex.controls.fields) == set(FIELD_SPECS)
    for name, w in ex.controls.fields.items():
        spec = FIELD_SPECS[name]
        if isinstance(w, W.FloatLogSlider):
            assert 10**w.min == pytest.approx(spec.bounds[0]) and 10**w.max == pytest.approx(spec.bounds[1])
        elif isinstance(w, W.FloatSlider):
            assert (w.min, w.max) == spec.bounds
        if isinstance(w, W.Dropdown):  # the help on the label's words: a select shows no tooltip
            assert w.description_allow_html and w.description.endswith(f">{spec.label}</span>")
            assert html.escape(spec.doc, quote=True) in w.description
        elif hasattr(w, "description") and not isinstance(w, MixControl):
            assert w.description == spec.label
            tips = w.tooltips if isinstance(w, W.ToggleButtons) else [w.tooltip]
            assert all(spec.doc in t for t in tips)


@pytest.mark.slow
def test_a_long_catalog_name_is_listed_short_with_the_rest_under_it(ex) -> None:
    """A dropdown's choice must read whole in its box: a long name is listed without its parenthesis (the
    browser test measures every choice), unless two would then read alike; while it is chosen, the
    parenthesis is shown under the dropdown, and follows the choice."""
    from explorer.controls import short_names

    assert short_names(["NVIDIA B300 (HGX B300, Blackwell Ultra)", "Singapore"]) == [
        "NVIDIA B300",
        "Singapore",
    ]
    alike = ["NVIDIA Jetson Orin Nano 8GB (Super, MAXN mode)", "NVIDIA Jetson Orin Nano 8GB (original, 15 W)"]
    assert short_names(alike) == alike  # cut, they would read alike: kept whole
    region = ex.controls.fields["region"]
    labels = dict((v, k) for k, v in region.options)
    full = CAT.regions.set_index("id").name["us-virginia"]
    assert labels["us-virginia"] == "United States - Virginia" and len(full) > 60
    under = ex.controls.details["region"]
    assert region.value == "us-virginia" and ex.controls.boxes["region"].children == (region, under)
    assert "Northern Virginia data-centre cluster; AWS us-east-1, Google us-east4" in under.value
    assert "(" not in under.value
    region.value = "singapore"  # a short name: nothing under it
    assert under.value == ""
    fleet, below = ex.controls.fields["current_device"], ex.controls.details["current_device"]
    assert dict((v, k) for k, v in fleet.options)["nvidia-b300"] == "NVIDIA B300" and below.value == ""
    fleet.value = "nvidia-b300"
    assert "HGX B300, Blackwell Ultra" in below.value
    assert "bert-large" not in ex.controls.details and "workload" in ex.controls.details  # only where cut


@pytest.mark.slow
def test_request_volume_readout_is_human(ex) -> None:
    ex.controls.fields["requests_per_day"].value = 2.5e9
    assert "2.5 B" in ex.controls.readouts["requests_per_day"].value


def test_changes_labels() -> None:
    assert changes_label(0).startswith("frozen")
    assert changes_label(4).startswith("quarterly")
    assert changes_label(52).startswith("weekly")
    assert changes_label(10).startswith("about monthly")


@pytest.mark.slow
def test_moving_volume_updates_headline_and_charts_in_place(ex) -> None:
    before_head = ex.headline.value
    before = ex.charts["cost_per_request"].datasets["options"]
    ex.controls.fields["requests_per_day"].value = 5e9
    assert ex.headline.value != before_head
    live = ex.charts["cost_per_request"]
    assert live.datasets["options"] != before
    assert live.pushes == 1 and live.rebuilds == 0, "data changed: pushed, not rebuilt"
    assert ex.charts["cost_vs_volume"].datasets["current"][0]["requests_per_day"] == 5e9
    # the headline and the API table are patched in the page (PatchedHTML); a browser's message to them
    # changes nothing, and the table's style is in the page once, not in every move's HTML
    shown = ex.headline.value
    forged = {"method": "update", "state": {"value": "<b>forged</b>"}, "buffer_paths": []}
    ex.headline._handle_msg({"content": {"data": forged}, "buffers": []})
    assert ex.headline.value == shown and "<style>" not in ex.apis.value and "ax-table" in ex.apis.value


@pytest.mark.slow
def test_a_volume_change_pushes_only_the_charts_whose_data_changed(ex) -> None:
    """Performance per watt and framework support do not depend on the volume: nothing is sent to them
    (their rows, in catalog order, are unchanged even where the ranking reorders); the volume curve is
    the same frame, so not even its rows are converted again."""
    before = {name: live.pushes for name, live in ex.charts.items()}
    curve = ex.charts["cost_vs_volume"].frames["curve"]
    for volume in (5e9, 2e6, 3e10):
        ex.controls.fields["requests_per_day"].value = volume
    pushed = {name for name, live in ex.charts.items() if live.pushes > before[name]}
    assert pushed == {"cumulative_cost", "cost_per_request", "cost_vs_volume", "power"}
    assert ex.charts["cost_vs_volume"].frames["curve"] is curve
    ex.controls.fields["model_changes_per_year"].value = 12
    assert ex.charts["cost_vs_volume"].frames["curve"] is not curve, "another sweep: a new curve"


def test_a_move_sends_the_charts_without_the_band_before_computing_it(ex, monkeypatch) -> None:
    """The browser draws the charts that do not show the Monte Carlo band while the kernel computes it;
    the ranked costs (their whiskers are the band), the headline and the link follow it."""
    from explorer.chart_frames import BANDED

    before = {name: live.pushes for name, live in ex.charts.items()}
    seen = {}
    bands = Explorer._bands

    def computing(self, scenario):
        seen["pushed"] = {name for name, live in self.charts.items() if live.pushes > before[name]}
        seen["headline"], seen["query"] = self.headline.value, self.query
        return bands(self, scenario)

    monkeypatch.setattr(Explorer, "_bands", computing)
    headline, query = ex.headline.value, ex.query
    ex.controls.fields["requests_per_day"].value = 5e9
    assert seen["pushed"] == {"cumulative_cost", "cost_vs_volume", "power"}, seen["pushed"]
    assert not any(set(C.DATASETS[name]) & set(BANDED) for name in seen["pushed"])
    assert (seen["headline"], seen["query"]) == (headline, query), "published after the band"
    assert ex.charts["cost_per_request"].pushes == before["cost_per_request"] + 1
    assert ex.headline.value != headline and ex.query != query


def test_a_chart_off_screen_in_every_view_gets_its_rows_when_a_view_is_back(ex) -> None:
    """The page says when a chart's view goes off or on screen (explorer/js/chart_loader.js): while no
    view is on screen a move sends no rows, the views are told once that the chart is stale, and a view
    back on screen gets the latest rows (those of a fresh chart for the scenario then shown)."""
    live = ex.charts["cost_per_request"]

    def say(content) -> None:  # a custom message from the page, as the browser sends it
        message = {"data": {"method": "custom", "content": content}}
        live.widget._handle_msg({"content": message, "buffers": []})

    for forged in ("junk", {"ax_view": 5, "visible": True}, {"visible": False}):
        say(forged)  # ignored, no error
    assert live.views == {}
    say({"ax_view": "a", "visible": False})
    ex.controls.fields["requests_per_day"].value = 5e9
    stale = live.widget._py_to_js_updates
    assert [u["namespace"] for u in stale] == ["ax-stale", "serial"], stale
    ex.controls.fields["requests_per_day"].value = 7e9
    assert live.widget._py_to_js_updates is stale, "told once: nothing more is sent while off screen"
    say({"ax_view": "a", "visible": True, "stale": True})
    sent = {u["name"]: u["value"] for u in live.widget._py_to_js_updates if u["namespace"] == "data"}
    fresh = Explorer(CAT, ex.result.scenario).charts["cost_per_request"].datasets
    assert sent == fresh and set(sent) == set(C.DATASETS["cost_per_request"])
    ex.controls.fields["requests_per_day"].value = 5e9  # on screen again: rows are sent at once
    assert any(u["namespace"] == "data" for u in live.widget._py_to_js_updates)
    say({"ax_view": "b", "visible": False})  # a second view off screen, the first still on: rows sent
    ex.controls.fields["requests_per_day"].value = 7e9
    assert any(u["namespace"] == "data" for u in live.widget._py_to_js_updates)


@pytest.mark.slow
def test_every_chart_shares_one_copy_of_the_chart_code(ex) -> None:
    """Vega travels to the browser once per kernel (AltairRuntime), not once per chart."""
    runtimes = {id(live.widget._runtime) for live in ex.charts.values()}
    assert len(runtimes) == 1
    runtime = next(iter(ex.charts.values())).widget._runtime
    assert runtime.bundle == alt.JupyterChart._esm and "vega" in runtime.bundle.lower()
    for live in ex.charts.values():
        state = live.widget.get_state()
        assert state["_runtime"] == f"IPY_MODEL_{runtime.model_id}"
        assert len(state["_esm"]) < 10_000 < len(runtime.bundle)  # the loader, not Vega
    forged = {"method": "update", "state": {"bundle": "alert(1)", "digest": "x"}, "buffer_paths": []}
    runtime._handle_msg(
        {"content": {"data": forged}, "buffers": []}
    )  # a browser's message to the runtime is ignored
    assert runtime.bundle == alt.JupyterChart._esm and runtime.digest != "x"
    runtime.close()  # e.g. Widget.close_all(): the next chart gets a live runtime, not the closed one
    later = chart_view(ex.charts["power"].widget.chart)
    assert later._runtime is not runtime and later._runtime.comm is not None


@pytest.mark.slow
def test_edge_changes_which_devices_are_available(ex) -> None:
    ex.controls.fields["deployment"].value = "edge"
    rows = {r["device_id"]: r for r in ex.charts["cost_per_request"].datasets["options"]}
    assert rows["nvidia-h100-sxm"]["kind"] == "unavailable"
    assert "edge" in rows["nvidia-h100-sxm"]["status"]
    assert ex.result.options[0].segment == "edge"


def test_mix_always_adds_up_to_100() -> None:
    m = MixControl(FIELD_SPECS["framework_mix"], {"pytorch": 1.0})
    m.sliders["jax"].value = 40
    shares = {f: s.value for f, s in m.sliders.items()}
    assert sum(shares.values()) == pytest.approx(100, abs=0.5)
    assert shares["jax"] == 40 and shares["pytorch"] == pytest.approx(60)
    m.preset.value = "JAX research"
    assert m.value["jax"] == pytest.approx(0.7) and m.value["cuda"] == pytest.approx(0.3)
    assert sum(m.value.values()) == pytest.approx(1)


@pytest.mark.slow
def test_framework_mix_and_change_rate_change_the_ranking(ex) -> None:
    ex.controls.fields["cloud_pricing"].value = "on-demand"  # where an accelerator leads (issue 15)
    assert ex.result.recommendation.kind == "accelerator"
    ex.controls.fields["model_changes_per_year"].value = 52
    ex.controls.fields["framework_mix"].preset.value = "JAX research"
    assert ex.result.recommendation.kind == "gpu"


@pytest.mark.slow
def test_bad_text_keeps_the_value_and_the_last_answer(ex) -> None:
    answer = ex.result
    box = ex.controls.fields["electricity_usd_per_kwh"]
    box.value = "cheap"
    assert ex.message.startswith(
        "electricity_usd_per_kwh: cheap is not allowed; allowed: a number from 0 to 2"
    )
    assert "Not updated" in ex.errors.value and box.value == "cheap"
    # on the page, the control's own label leads; the field's id is kept beside it
    assert "Electricity price (electricity_usd_per_kwh): cheap is not allowed" in ex.errors.value
    assert ex.result is answer
    box.value = "0.12"
    assert ex.message == "" and ex.errors.value == ""
    assert ex.result.inputs.electricity_usd_per_kwh == 0.12


@pytest.mark.slow
def test_forged_out_of_bounds_value_gets_the_same_message(ex) -> None:
    """A visitor's browser can set any property, bounds included: the calculators re-check."""
    slider = ex.controls.fields["requests_per_day"]
    answer = ex.result
    slider.max = 14  # 1e14, beyond the declaration's 5e11
    slider.value = 1e14
    assert ex.message.startswith(
        "requests_per_day: 100000000000000 is not allowed; allowed: a number from 100"
    )
    assert ex.result is answer
    slider.value = 1e9  # back to a valid volume, then forge another field
    assert ex.message == ""
    ex.controls.fields["utilization"].min = -5
    ex.controls.fields["utilization"].value = -1
    assert ex.message.startswith("utilization: -1 is not allowed")


@pytest.mark.slow
def test_an_internal_error_is_shown_not_raised(ex, monkeypatch) -> None:
    import explorer.widgets as widgets

    def boom(*a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr(widgets, "evaluate", boom)
    ex.controls.fields["requests_per_day"].value = 3e9
    assert "Something went wrong" in ex.message and "RuntimeError" in ex.message


@pytest.mark.slow
def test_widgets_and_cli_give_the_same_answer(ex, tmp_path) -> None:
    ex.controls.fields["requests_per_day"].value = 7e8
    ex.controls.fields["deployment"].value = "bare-metal"
    ex.controls.fields["framework_mix"].sliders["onnx"].value = 25
    ex.controls.fields["electricity_usd_per_kwh"].value = "0.2"
    f = tmp_path / "s.json"
    f.write_text(json.dumps(ex.scenario_value), encoding="utf-8")
    p = subprocess.run(
        [*cli(), "evaluate", "--scenario", str(f), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["scenario"] == ex.scenario_value
    assert out["recommendation"]["device_id"] == ex.result.recommendation.device_id
    assert [o["tco_usd"] for o in out["options"]] == pytest.approx([o.tco_usd for o in ex.result.options])


@pytest.mark.slow
def test_a_view_rendered_after_an_update_draws_that_update(ex) -> None:
    """A pre-started kernel applies a shared link before its visitor's page renders the charts: the state a
    view starts from (the kernel's spec) must be the scenario shown, not the one the app was built with."""
    from explorer import charts as C
    from explorer.live import _inline_data

    link = Scenario(requests_per_day=2e8, workload="resnet-50", deployment="bare-metal")
    ex.update(link)
    fresh = Explorer(CAT, link)
    assert ex.query == link.to_query(only_changed=True)
    for name, live in ex.charts.items():
        shown = _inline_data(live.widget.spec, set(C.DATASETS[name]))
        expected = _inline_data(fresh.charts[name].widget.spec, set(C.DATASETS[name]))
        assert set(shown) == set(C.DATASETS[name]), name
        for dataset, holders in shown.items():
            for holder in holders:
                assert holder["values"] == expected[dataset][0]["values"], (name, dataset)


@pytest.mark.slow
def test_a_typed_request_volume_moves_the_slider_and_a_bad_one_says_why(ex) -> None:
    box = ex.controls.typed["requests_per_day"]
    box.value = "50M"
    assert ex.result.scenario.requests_per_day == 5e7
    assert box.value == "" and "50 M" in ex.controls.readouts["requests_per_day"].value
    box.value = "2.5 B"
    assert ex.result.scenario.requests_per_day == 2.5e9
    before = ex.evaluations
    box.value = "lots"
    assert ex.evaluations == before and ex.result.scenario.requests_per_day == 2.5e9
    assert "requests_per_day" in ex.message and "lots" in ex.message
    assert box.value == "lots"  # what the visitor typed stays, to be corrected
    box.value = "1e9"
    assert ex.result.scenario.requests_per_day == 1e9 and ex.message == ""


@pytest.mark.slow
def test_empty_assumption_boxes_show_the_value_in_use(ex) -> None:
    box = ex.controls.fields["electricity_usd_per_kwh"]
    assert box.value == "" and box.placeholder == f"{ex.result.inputs.electricity_usd_per_kwh:.4g} (catalog)"
    virginia = box.placeholder
    ex.update(Scenario(requests_per_day=1e8, workload="llama-3.1-8b", region="france"))
    assert box.placeholder == f"{ex.result.inputs.electricity_usd_per_kwh:.4g} (catalog)" != virginia


@pytest.mark.slow
def test_importing_the_package_changes_nothing_global() -> None:
    """No effects at import: altair's JupyterChart and sys.modules are as they were until a chart is made
    (then the offline bundle is put in place) or an entry point prepares its process."""
    code = """
import sys
import altair as alt
online = alt.JupyterChart._esm
import explorer, explorer.app, explorer.widgets, explorer.runtime, explorer.controls, explorer.live
assert alt.JupyterChart._esm is online, "the chart runtime rewrote JupyterChart at import"
assert sys.modules.get("rfc3987_syntax", "absent") is not None, "the package changed sys.modules"
from explorer.runtime import chart_view
chart = chart_view(alt.Chart().mark_point())
assert alt.JupyterChart._esm is not online and alt.JupyterChart._is_offline, "the first chart is offline"
assert chart._runtime.bundle == alt.JupyterChart._esm
"""
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr


@pytest.mark.slow
def test_a_forged_nan_is_refused_and_the_control_goes_back(ex) -> None:
    slider = ex.controls.fields["peak_to_average"]
    before, evaluations = slider.value, ex.evaluations
    slider.value = float("nan")  # ipywidgets' slider takes it (it clamps an infinity to its bound instead)
    assert slider.value == before and ex.evaluations == evaluations
    assert "peak_to_average" in ex.message and "not allowed" in ex.message
    slider.value = 3.0  # and the control works again
    assert ex.result.scenario.peak_to_average == 3.0 and ex.message == ""


@pytest.mark.slow
def test_your_fleet_now_is_a_device_dropdown_under_the_workload(ex) -> None:
    w = ex.controls.fields["current_device"]
    assert isinstance(w, W.Dropdown) and w.description.endswith(">Your fleet now</span>")
    assert w.options[0] == ("(none)", "") and w.value == "" and ex.result.baseline is None
    from explorer.controls import short_names  # a long name is listed short, whole in the tooltip

    listed = dict(zip(short_names(list(CAT.devices.name)), CAT.devices.id, strict=True))
    assert dict(w.options[1:]) == listed and len(listed) == len(CAT.devices)
    main = list(ex.controls.children)
    # in the main group, under the workload and the fields that describe it (your model, tokens, ...)
    assert main.index(ex.controls.boxes["current_device"]) > main.index(ex.controls.boxes["workload"])
    w.value = "nvidia-h100-sxm"
    assert ex.result.baseline.device_id == "nvidia-h100-sxm" and ex.message == ""
    assert "saves vs your fleet" in ex.headline.value and "current_device=nvidia-h100-sxm" in ex.query
    w.value = ""
    assert ex.result.baseline is None and "saves vs your fleet" not in ex.headline.value
    ex.set_scenario(Scenario(current_device="amd-mi300x"))
    assert w.value == "amd-mi300x" and ex.result.baseline.device_id == "amd-mi300x"
    ex.set_scenario(Scenario())
    assert w.value == "" and ex.scenario_value["current_device"] is None

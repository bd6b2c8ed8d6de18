"""Your model (issue 14 point 6): a custom workload declared in the scenario, kept in links, JSON and CLI
flags, validated with clear messages, and turned into a workload row by the catalog's own methods."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from explorer import calc
from explorer.catalog import load_catalog
from explorer.cli import build_parser, scenario_from_args
from explorer.controls import ScenarioControls
from explorer.model import custom
from explorer.scenario import (
    CUSTOM_WORKLOAD,
    FIELD_SPECS,
    Scenario,
    ScenarioError,
    from_query_lenient,
    known_ids,
)

from .conftest import cli

CAT = load_catalog()
W = CAT.workloads.set_index("id")
#: A 47B mixture of experts with 13B active (Mixtral-8x7B-like), as a user types it.
MOE = Scenario(
    workload=CUSTOM_WORKLOAD,
    custom_name="Our MoE, v2",
    custom_parameters=47e9,
    custom_active_parameters=12.9e9,
    custom_precision="fp8",
    custom_layers=32,
    input_tokens=900,
    output_tokens=300,
    requests_per_day=3e7,
)
VISION = Scenario(
    workload=CUSTOM_WORKLOAD,
    custom_kind="other",
    custom_name="defect detector",
    custom_parameters=60e6,
    custom_gflop_per_request=35.5,
    requests_per_day=2e8,
)
CUSTOM_FIELDS = [s.name for s in FIELD_SPECS.values() if s.name.startswith("custom_")]


@pytest.mark.parametrize("s", [MOE, VISION], ids=["llm", "other"])
def test_your_model_round_trips_through_links_json_and_cli_flags(s: Scenario) -> None:
    assert Scenario.from_query(s.to_query()) == s
    assert Scenario.from_query(s.to_query(only_changed=True)) == s
    assert Scenario.from_json(s.to_json()) == s
    assert from_query_lenient(s.to_query(only_changed=True), known_ids(CAT)) == (s, [])
    argv = ["evaluate"]
    for name in s.to_dict():
        value = getattr(s, name)
        if value != FIELD_SPECS[name].default and name != "framework_mix":
            argv += [FIELD_SPECS[name].flag, str(value)]
    assert scenario_from_args(build_parser().parse_args(argv)) == s


def test_parameters_are_typed_as_people_write_them() -> None:
    s = Scenario.from_query("workload=custom&custom_parameters=47B&custom_active_parameters=13%20B")
    assert (s.custom_parameters, s.custom_active_parameters) == (47e9, 13e9)
    assert FIELD_SPECS["workload"].extra_ids == ((CUSTOM_WORKLOAD, "Your model…"),)
    assert "custom (Your model…)" in FIELD_SPECS["workload"].describe_allowed()


@pytest.mark.parametrize(
    ("changes", "field", "says"),
    [
        ({"custom_kind": "other"}, "custom_gflop_per_request", "needs its compute per request"),
        (
            {"custom_parameters": 10e9, "custom_active_parameters": 13e9},
            "custom_active_parameters",
            "at most",
        ),
        ({"custom_layers": 31.5}, "custom_layers", "a whole number from 1 to 1000 layers"),
        ({"custom_name": "  "}, "custom_name", "a name of 1 to 60 characters"),
        ({"custom_name": "x" * 61}, "custom_name", "a name of 1 to 60 characters"),
        ({"custom_name": "a\nb"}, "custom_name", "without line breaks"),
        ({"custom_parameters": "47 X"}, "custom_parameters", "written like 13B, 47 B"),
        ({"custom_parameters": 1e14}, "custom_parameters", "from 1,000,000 to"),
        ({"custom_precision": "fp4"}, "custom_precision", "allowed: int8, fp8, bf16, fp16"),
        ({"custom_kind": "vision"}, "custom_kind", "allowed: llm, other"),
    ],
)
def test_a_bad_value_says_which_field_what_was_wrong_and_what_is_allowed(changes, field, says) -> None:
    with pytest.raises(ScenarioError) as err:
        Scenario(workload=CUSTOM_WORKLOAD, **changes)
    assert err.value.field == field and says in str(err.value)
    assert "\n" not in str(err.value) and "Traceback" not in str(err.value)


def test_a_link_with_a_value_at_fault_keeps_the_others_and_says_why() -> None:
    s, notes = from_query_lenient(
        "workload=custom&custom_parameters=10B&custom_active_parameters=13B&requests_per_day=5e6",
        known_ids(CAT),
    )
    assert (s.workload, s.custom_parameters, s.custom_active_parameters, s.requests_per_day) == (
        CUSTOM_WORKLOAD,
        10e9,
        None,
        5e6,
    )
    assert (
        len(notes) == 1
        and "custom_active_parameters" in notes[0]
        and "at most the parameters (10 B)" in notes[0]
    )
    # a required figure missing: what made it apply (your model) falls back, the rest is kept
    s, notes = from_query_lenient("workload=custom&custom_kind=other&horizon_years=5", known_ids(CAT))
    assert (s.workload, s.custom_kind, s.horizon_years) == (Scenario().workload, "other", 5.0)
    assert "compute per request" in notes[0]


def test_an_llm_row_follows_the_catalogs_method() -> None:
    """Your model with Llama 3.1 8B's figures gets the catalog's own compute and traffic per request (its
    method: 2 FLOP per parameter per token; decode at batch 64, the KV cache at 2 bytes), and the catalog's
    dense LLMs' architectures come back from the scaling rule fitted through them."""
    w = W.loc["llama-3.1-8b"]
    same = Scenario(
        workload=CUSTOM_WORKLOAD,
        custom_parameters=w.parameters,
        input_tokens=w.input_tokens_per_request,
        output_tokens=w.output_tokens_per_request,
    )
    row = custom.workload_row(CAT, same).row
    assert row["compute_gflop_per_request"] == pytest.approx(w.compute_gflop_per_request, rel=2e-3)
    assert row["memory_traffic_mb_per_request"] == pytest.approx(w.memory_traffic_mb_per_request, rel=2e-3)
    for wid in ("llama-3.1-8b", "llama-2-70b"):
        ref = W.loc[wid]
        arch = custom.architecture(CAT, Scenario(workload=CUSTOM_WORKLOAD, custom_parameters=ref.parameters))
        assert (arch.layers, arch.attention_heads, arch.kv_heads, arch.head_dim) == (
            ref.layers,
            ref.attention_heads,
            ref.kv_heads,
            ref.head_dim,
        )
        assert arch.notes and "estimated" in arch.notes[0]
    assert custom.workload_row(CAT, same).nearest == "llama-3.1-8b"


@pytest.mark.slow
def test_a_mixture_of_experts_holds_all_its_weights_and_computes_with_the_active_ones() -> None:
    moe = custom.workload_row(CAT, MOE).row
    dense_active = custom.workload_row(
        CAT, MOE.replace(custom_parameters=12.9e9, custom_active_parameters=None)
    )
    dense_total = custom.workload_row(CAT, MOE.replace(custom_active_parameters=None)).row
    assert moe["compute_gflop_per_request"] == dense_active.row["compute_gflop_per_request"]
    assert moe["compute_gflop_per_request"] == pytest.approx(2 * 12.9e9 * 1200 / 1e9)
    assert moe["memory_traffic_mb_per_request"] == dense_total["memory_traffic_mb_per_request"]
    r = calc.evaluate(MOE, CAT)
    big = calc.evaluate(MOE.replace(custom_active_parameters=None), CAT)
    copies = {o.device_id: o.devices_needed for o in r.options if o.available}
    # the same weights to hold: never fewer devices per copy than the weights need, as the dense model of
    # the same size (each split to divide its own attention heads, which differ: placement)
    t_moe = calc.device_table(calc.catalog_for(CAT, MOE), CUSTOM_WORKLOAD, MOE.cloud_market)
    t_big = calc.device_table(calc.catalog_for(CAT, big.scenario), CUSTOM_WORKLOAD, MOE.cloud_market)
    weights_gb = moe["parameters"] * calc.precision_bytes(moe["precision"]) / 1e9
    memory = CAT.devices.set_index("id").loc[list(t_moe.ids), "memory_gb"].to_numpy(float)
    need = np.maximum(1, np.ceil(weights_gb / (memory * calc.MEMORY_HEADROOM)))
    known = np.isfinite(need)
    assert (t_moe.replica[known] >= need[known]).all() and (t_big.replica[known] >= need[known]).all()
    assert (np.minimum(t_moe.replica, t_big.replica)[known] <= 2 * need[known]).all() and copies


def test_the_estimate_is_the_roofline_times_the_nearest_catalog_workloads_efficiency() -> None:
    r = calc.evaluate(VISION, CAT)
    assert r.custom_workload["efficiency_from"] == "resnet-50"  # nearest in compute per request
    assert r.custom_workload["memory_traffic_mb_per_request"] == pytest.approx(60e6 * 2 / 32 / 1e6)
    derived = calc.catalog_for(CAT, VISION)
    assert derived is calc.catalog_for(CAT, VISION)  # one catalog per model: the caches hold
    eff = calc.fit_efficiency(derived, CUSTOM_WORKLOAD)
    assert eff.results == calc.fit_efficiency(CAT, "resnet-50", "bf16").results
    devices = derived.devices.set_index("id")
    row = derived.workloads.set_index("id").loc[CUSTOM_WORKLOAD]
    for o in r.options:
        assert not o.throughput_measured
        if o.throughput_per_device_rps:
            # each device's: its vendor's devices on resnet-50 where enough are measured
            own = calc.fit_efficiency(derived, CUSTOM_WORKLOAD, device_id=o.device_id)
            assert own.results == calc.fit_efficiency(CAT, "resnet-50", "bf16", device_id=o.device_id).results
            want = calc.roofline_estimate(devices.loc[o.device_id], row, own).rps
            assert o.throughput_per_device_rps == pytest.approx(want, rel=1e-9), o.device_id
            assert "resnet-50, the nearest catalog workload to yours" in o.throughput_source
    reasons = " ".join(r.recommendation.reasons)
    assert "nearest catalog workload of its kind, ResNet-50" in reasons
    assert "a lower bound" in reasons  # the traffic it estimated, marked


def test_your_llm_gets_a_catalog_llms_estimates_when_it_is_that_llm() -> None:
    w = W.loc["llama-3.1-8b"]
    mine = Scenario(
        workload=CUSTOM_WORKLOAD,
        custom_parameters=w.parameters,
        custom_precision=w.precision,
        input_tokens=w.input_tokens_per_request,
        output_tokens=w.output_tokens_per_request,
    )
    a = {o.device_id: o for o in calc.evaluate(mine, CAT).options}
    b = {o.device_id: o for o in calc.evaluate(Scenario(), CAT).options}
    compared = 0
    for device_id, o in b.items():
        if not o.throughput_measured and o.throughput_per_device_rps:
            assert a[device_id].throughput_per_device_rps == pytest.approx(
                o.throughput_per_device_rps, rel=5e-3
            )
            compared += 1
    assert compared >= 5


def test_the_controls_show_your_models_fields_only_when_it_is_chosen() -> None:
    controls = ScenarioControls(CAT)
    dropdown = controls.fields["workload"]
    assert ("Your model…", CUSTOM_WORKLOAD) in dropdown.options

    def shown() -> set[str]:
        return {n for n in CUSTOM_FIELDS if controls.boxes[n].layout.display != "none"}

    assert shown() == set()
    dropdown.value = CUSTOM_WORKLOAD
    assert shown() == set(CUSTOM_FIELDS) - {"custom_gflop_per_request", "custom_traffic_mb_per_request"}
    controls.fields["custom_kind"].value = "other"
    assert shown() == set(CUSTOM_FIELDS) - {"custom_layers", "custom_kv_heads"}
    with pytest.raises(ScenarioError, match="custom_gflop_per_request"):
        controls.scenario()  # the app shows it; nothing entered is lost
    controls.fields["custom_gflop_per_request"].value = "35.5"
    controls.fields["custom_name"].value = "defect detector"
    controls.fields["custom_parameters"].value = 60e6
    assert controls.scenario() == VISION.replace(requests_per_day=Scenario().requests_per_day)
    controls.set_scenario(MOE)
    assert controls.scenario() == MOE and shown() == set(CUSTOM_FIELDS) - {
        "custom_gflop_per_request",
        "custom_traffic_mb_per_request",
    }


@pytest.mark.slow
def test_the_cli_evaluates_your_model_and_refuses_a_bad_value_in_one_line(tmp_path) -> None:
    args = ["evaluate", "--workload", "custom", "--custom-name", "Our MoE", "--custom-parameters", "47B"]
    args += ["--custom-active-parameters", "13B", "--draws", "0", "--format", "json"]
    done = subprocess.run([*cli(), *args], capture_output=True, text=True, timeout=180, check=True)
    out = json.loads(done.stdout)
    assert out["custom_workload"]["name"] == "Our MoE" and out["custom_workload"]["active_parameters"] == 13e9
    s = Scenario.from_dict(out["scenario"])
    assert out["recommendation"]["name"] == calc.evaluate(s, CAT).recommendation.name
    assert {o["kind"] for o in out["api_options"]} == {"api"}
    bad = subprocess.run(
        [
            *cli(),
            "evaluate",
            "--workload",
            "custom",
            "--custom-parameters",
            "5B",
            "--custom-active-parameters",
            "13B",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and not bad.stdout
    assert bad.stderr.strip().splitlines() == [
        "accel-explorer: error: custom_active_parameters: 13 B is not allowed; allowed: at most the "
        "parameters (5 B)"
    ]


@pytest.mark.slow
def test_your_model_reuses_the_catalogs_held_out_errors() -> None:
    """Your model's catalog adds a row with no results: the estimates' error (validation's held-out
    residuals) is the base catalog's, taken from its fit, not held out again per model (seconds each)."""
    from explorer import uncertainty

    derived = calc.catalog_for(CAT, VISION)
    assert derived is not CAT and calc.base_catalog(derived) is CAT and calc.base_catalog(CAT) is CAT
    base = uncertainty.estimate_error(CAT)
    fitted = dict(uncertainty._ERRORS)
    assert uncertainty.estimate_error(derived) == base
    assert uncertainty.estimate_error(calc.catalog_for(CAT, MOE)) == base
    assert fitted == uncertainty._ERRORS, "a model's catalog was held out again"


def test_a_log_sliders_position_between_two_whole_counts_is_a_whole_count() -> None:
    """Edge sites are whole (1.5 sites charged 1.5 devices' hardware); the log slider stops between whole
    numbers (10^3.1 = 1258.9), so the controls hand the model the nearest whole count."""
    controls = ScenarioControls(CAT)
    controls.fields["edge_sites"].value = 10**3.1
    assert controls.scenario().edge_sites == 1259.0

"""The scenario declaration: every field documented, round trips, and clear messages for bad input."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from explorer.scenario import FIELD_SPECS, FRAMEWORKS, SPECS, FrameworkMix, Scenario, ScenarioError

REQUIRED_JSON_KEYS = [
    "requests_per_day",
    "peak_to_average",
    "workload",
    "model_changes_per_year",
    "framework_mix",
    "deployment",
    "training_share",
    "horizon_years",
    "electricity_usd_per_kwh",
    "pue",
    "grid_gco2_per_kwh",
    "utilization",
    "engineer_day_usd",
]


def test_required_keys_are_declared() -> None:
    assert set(REQUIRED_JSON_KEYS) <= set(FIELD_SPECS)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_every_field_has_doc_label_and_unit_or_choices(spec) -> None:
    assert len(spec.doc) > 20 and spec.label
    if spec.kind in ("float", "int"):
        assert spec.unit, f"{spec.name} has no unit"
        assert spec.bounds is not None and spec.bounds[0] < spec.bounds[1]
        if spec.default is not None:
            assert spec.bounds[0] <= spec.default <= spec.bounds[1]
    if spec.kind == "choice":
        assert spec.default in spec.choices


def test_mix_is_normalised() -> None:
    assert FrameworkMix.parse("pytorch=3,jax=1").as_dict() == pytest.approx(
        {"tensorflow": 0, "pytorch": 0.75, "jax": 0.25, "cuda": 0, "onnx": 0, "huggingface": 0}
    )
    assert FrameworkMix.parse("pytorch=0.6,onnx=0.4").onnx == pytest.approx(0.4)
    assert FrameworkMix.parse("jax").jax == 1.0


_scenarios = st.builds(
    Scenario,
    requests_per_day=st.floats(100, 5e11),
    peak_to_average=st.floats(1, 10),
    workload=st.sampled_from(["llama-3.1-8b", "resnet-50", "sdxl"]),
    model_changes_per_year=st.floats(0, 52),
    framework_mix=st.dictionaries(st.sampled_from(FRAMEWORKS), st.floats(0.01, 100), min_size=1),
    deployment=st.sampled_from(["cloud", "bare-metal", "edge"]),
    training_share=st.floats(0, 0.95),
    horizon_years=st.floats(1, 10),
    electricity_usd_per_kwh=st.none() | st.floats(0, 2),
    pue=st.none() | st.floats(1, 3),
    grid_gco2_per_kwh=st.none() | st.floats(0, 2000),
    utilization=st.floats(0.05, 1),
    engineer_day_usd=st.none() | st.floats(0, 10_000),
)


@settings(max_examples=200, deadline=None)
@given(_scenarios)
def test_json_round_trip_is_lossless(s: Scenario) -> None:
    assert Scenario.from_json(s.to_json()) == s


@settings(max_examples=200, deadline=None)
@given(_scenarios)
def test_url_round_trip_is_lossless(s: Scenario) -> None:
    assert Scenario.from_query(s.to_query()) == s
    assert Scenario.from_query(s.to_query(only_changed=True)) == s


def test_missing_keys_take_defaults() -> None:
    s = Scenario.from_json('{"requests_per_day": 5e9}')
    assert s.requests_per_day == 5e9
    assert s.deployment == Scenario().deployment


@pytest.mark.parametrize(
    ("data", "field", "fragment"),
    [
        ({"requests_per_day": -5}, "requests_per_day", "allowed: a number from 100 to 500,000,000,000"),
        ({"requests_per_day": float("nan")}, "requests_per_day", "not a finite number"),
        ({"requests_per_day": float("inf")}, "requests_per_day", "not a finite number"),
        ({"requests_per_day": "lots"}, "requests_per_day", "allowed: a number"),
        ({"utilization": 1.5}, "utilization", "allowed: a number from 0.05 to 1"),
        ({"deployment": "moon"}, "deployment", "allowed: cloud, bare-metal, edge"),
        ({"framework_mix": {"pytorch": -1}}, "framework_mix.pytorch", "non-negative"),
        ({"framework_mix": {"pytorch": 0, "jax": 0}}, "framework_mix", "must not all be zero"),
        ({"framework_mix": {"fortran": 1}}, "framework_mix.fortran", "allowed frameworks"),
        ({"colour": "blue"}, "colour", "unknown field"),
        ({"workload": "Not An Id!"}, "workload", "lower-kebab"),
    ],
)
def test_bad_values_name_field_value_and_allowed(data: dict, field: str, fragment: str) -> None:
    with pytest.raises(ScenarioError) as info:
        Scenario.from_dict(data)
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: ")
    assert fragment in str(info.value)


def test_malformed_json() -> None:
    with pytest.raises(ScenarioError, match=r"malformed JSON .* at line 1"):
        Scenario.from_json("{not json")


def test_query_with_bad_value_names_field() -> None:
    with pytest.raises(ScenarioError, match=r"^peak_to_average: abc"):
        Scenario.from_query("peak_to_average=abc")


def test_to_dict_is_json_serialisable() -> None:
    d = Scenario().to_dict()
    assert json.loads(json.dumps(d)) == d
    assert math.isclose(sum(d["framework_mix"].values()), 1.0)

"""The scenario declaration: every field documented, round trips, and clear messages for bad input."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from explorer.scenario import (
    FIELD_SPECS,
    FRAMEWORKS,
    SPECS,
    FrameworkMix,
    Scenario,
    ScenarioError,
    from_query_lenient,
)

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
    current_device=st.none() | st.sampled_from(["nvidia-h100-sxm", "amd-mi300x", "hailo-8"]),
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


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(_scenarios)
def test_json_round_trip_is_lossless(s: Scenario) -> None:
    assert Scenario.from_json(s.to_json()) == s


@pytest.mark.slow
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
        ({"workload": "Not An Id!"}, "workload", "in lower case with dashes"),
        ({"current_device": "NVIDIA H100"}, "current_device", "in lower case with dashes"),
        ({"current_device": 7}, "current_device", "in lower case with dashes"),
    ],
)
def test_bad_values_name_field_value_and_allowed(data: dict, field: str, fragment: str) -> None:
    with pytest.raises(ScenarioError) as info:
        Scenario.from_dict(data)
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: ")
    assert fragment in str(info.value)


def test_current_device_round_trips_through_json_links_and_the_cli() -> None:
    from explorer.cli import build_parser, scenario_from_args

    spec = FIELD_SPECS["current_device"]
    assert (spec.kind, spec.default, spec.group, spec.flag) == ("id", None, "main", "--current-device")
    # below the workload and the fields that describe it (your model, precision, tokens, latency target)
    assert list(FIELD_SPECS).index("current_device") > list(FIELD_SPECS).index("workload")
    s = Scenario(current_device="nvidia-h100-sxm", requests_per_day=5e7)
    assert Scenario.from_json(s.to_json()) == s
    assert json.loads(s.to_json())["current_device"] == "nvidia-h100-sxm"
    assert s.to_query(only_changed=True) == "requests_per_day=50000000&current_device=nvidia-h100-sxm"
    assert Scenario.from_query(s.to_query()) == s
    assert Scenario.from_query("current_device=") == Scenario() == Scenario(current_device="")
    assert Scenario().current_device is None and json.loads(Scenario().to_json())["current_device"] is None
    args = build_parser().parse_args(["evaluate", "--current-device", "nvidia-h100-sxm"])
    assert scenario_from_args(args).current_device == "nvidia-h100-sxm"
    args = build_parser().parse_args(["evaluate", "--current-device", ""])
    assert scenario_from_args(args).current_device is None
    # a link naming a device the catalog lacks: a note, and no baseline; the link's other settings stay
    known = {"current_device": {"nvidia-h100-sxm"}}
    back, notes = from_query_lenient("current_device=nvidia-h99&peak_to_average=3", known)
    assert back.current_device is None and back.peak_to_average == 3
    assert notes == [
        "current_device: nvidia-h99 is not allowed; allowed: nvidia-h100-sxm; "
        "the default (none) is used instead"
    ]
    assert from_query_lenient("current_device=nvidia-h100-sxm", known) == (
        Scenario(current_device="nvidia-h100-sxm"),
        [],
    )
    assert from_query_lenient("current_device=", known) == (Scenario(), [])


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


# -- request volumes as people write them (issue 12.7) ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("50M", 5e7),
        ("50 M", 5e7),
        ("50 m", 5e7),
        ("50\u202fM", 5e7),  # a narrow no-break space, as typeset numbers use
        ("2.5 B", 2.5e9),
        ("2.5B", 2.5e9),
        ("2.5 bn", 2.5e9),
        ("2.5 G", 2.5e9),
        ("1e9", 1e9),
        ("200k", 2e5),
        ("200 thousand", 2e5),
        ("1,000,000", 1e6),
        ("1_000_000", 1e6),
        ("50 million", 5e7),
        ("0.5T", 5e11),
        ("100000000", 1e8),
        ("50 M requests/day", 5e7),
        ("50M per day", 5e7),
    ],
)
def test_parse_volume_takes_what_people_write(text: str, value: float) -> None:
    from explorer.scenario import parse_volume

    assert parse_volume(text) == value


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("lots", "written like 50M, 50 M, 2.5 B, 1e9, 200k or 1,000,000"),
        ("50 X", "written like 50M"),
        ("50 millions", "written like 50M"),
        ("2,5 M", "a decimal comma is not read (write 2.5 M, not 2,5 M)"),
        ("1,00,000", "written like 50M"),
        ("", "requests_per_day: '' is not allowed"),
        ("nan", "not a finite number"),
        ("1e400", "not a finite number"),
        ("5", "allowed: a number from 100 to 500,000,000,000 requests/day"),
        ("600 B", "allowed: a number from 100 to 500,000,000,000 requests/day"),
        ("9" * 5000, "(5,000 characters) is not allowed"),
    ],
)
def test_parse_volume_refuses_with_examples(text: str, fragment: str) -> None:
    from explorer.scenario import parse_volume

    with pytest.raises(ScenarioError) as info:
        parse_volume(text)
    msg = str(info.value)
    assert msg.startswith("requests_per_day: ") and fragment in msg, msg
    assert "\n" not in msg and len(msg) < 400


@pytest.mark.parametrize("x", [100, 999, 1500, 12_345, 5e7, 123_456_789, 2.5e9, 5e11])
def test_parse_volume_reads_what_the_app_writes(x: float) -> None:
    """Whatever the app shows as a volume reads back to the same figure, to its 3 significant digits."""
    from explorer import fmt
    from explorer.scenario import parse_volume

    for text in (fmt.volume(x), fmt.requests_per_day(x)):
        assert parse_volume(text) == pytest.approx(x, rel=0.03), text


def test_volume_fields_take_text_everywhere() -> None:
    assert Scenario(requests_per_day="2.5 B").requests_per_day == 2.5e9
    assert Scenario.from_json('{"requests_per_day": "50 M"}').requests_per_day == 5e7
    assert Scenario.from_query("requests_per_day=50M&edge_sites=2k").edge_sites == 2000
    assert "50M, 50 M, 2.5 B" in FIELD_SPECS["requests_per_day"].describe_allowed()


# -- the framework mix as text (issue 12.9) and weights that overflow (issue 13.7) -----------------------


def test_framework_mix_takes_its_own_example_text() -> None:
    """The error message's own example, pytorch=0.6,onnx=0.4, was refused by Scenario()."""
    s = Scenario(framework_mix="pytorch=0.6,onnx=0.4")
    assert s.framework_mix.pytorch == pytest.approx(0.6) and s.framework_mix.onnx == pytest.approx(0.4)
    assert Scenario.from_dict({"framework_mix": "jax"}).framework_mix.jax == 1.0
    assert Scenario.from_json('{"framework_mix": "pytorch=3,jax=1"}').framework_mix.jax == 0.25
    assert FrameworkMix.of("pytorch=1,onnx=1") == FrameworkMix.of({"pytorch": 1, "onnx": 1})
    with pytest.raises(ScenarioError, match=r"framework_mix\.cobol: 1 is not allowed; allowed frameworks"):
        Scenario(framework_mix="cobol=1")


@pytest.mark.parametrize(
    "weights",
    [
        {"pytorch": 1e308, "jax": 1e308},
        {"pytorch": 1.7e308, "jax": 1.7e308, "onnx": 1.7e308},
        {"pytorch": 5e-324, "jax": 5e-324},
        {"pytorch": 1e300, "jax": 1e-300},
    ],
)
def test_mix_weights_never_overflow_to_nothing(weights: dict[str, float]) -> None:
    mix = FrameworkMix.of(weights)
    shares = mix.as_dict()
    assert all(math.isfinite(v) and v >= 0 for v in shares.values())
    assert math.fsum(shares.values()) == pytest.approx(1.0)
    assert shares["pytorch"] > 0


@pytest.mark.parametrize(
    "weight", [10**400, 10**5000, float("inf"), "1e999"], ids=["401", "5001", "inf", "1e999"]
)
def test_mix_weight_out_of_range_is_a_clear_error(weight: object) -> None:
    with pytest.raises(ScenarioError) as info:
        FrameworkMix.of({"pytorch": weight})
    msg = str(info.value)
    assert msg.startswith("framework_mix.pytorch: ") and "finite number" in msg and len(msg) < 300, msg


def test_link_with_huge_mix_weights_keeps_its_other_settings() -> None:
    """In the app the same link dropped every setting: the mix came out all zero."""

    s, notes = from_query_lenient(
        "requests_per_day=200000000&framework_mix=pytorch%3D1e308%2Cjax%3D1e308"
        "&workload=resnet-50&deployment=bare-metal"
    )
    assert notes == []
    assert (s.requests_per_day, s.workload, s.deployment) == (2e8, "resnet-50", "bare-metal")
    assert s.framework_mix.pytorch == s.framework_mix.jax == 0.5


def test_link_notes_stay_short_however_long_the_link() -> None:

    query = "&".join(f"x{i}={'a' * 1000}" for i in range(500)) + "&workload=resnet-50"
    s, notes = from_query_lenient(query)
    assert s.workload == "resnet-50"
    assert len(notes) <= 21 and all(len(n) < 400 for n in notes)
    assert notes[-1] == "... and 480 more values were ignored"


# -- hostile values: one line, bounded, never an exception other than ScenarioError ----------------------


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (10**400, "requests_per_day: a number of about 401 digits is not allowed; too large"),
        pytest.param(10**5000, "a number of about 5,001 digits", id="5001-digits"),
        ("a\nb", "requests_per_day: 'a\\nb' is not allowed"),
        ([[[1]]], "requests_per_day: [[[1]]] is not allowed"),
    ],
)
def test_hostile_values_are_one_line(value: object, fragment: str) -> None:
    with pytest.raises(ScenarioError) as info:
        Scenario(requests_per_day=value)
    assert fragment in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[" * 100_000 + "]" * 100_000, "scenario: this JSON is not allowed; it is nested more than 32"),
        ('{"requests_per_day": ' + "9" * 5000 + "}", "it has a number of 5000 digits"),
        ('{"requests_per_day": ' + "9" * 400 + "}", "it has a number of 400 digits"),
        ('{"requests_per_day": 1e999}', "requests_per_day: inf is not allowed; not a finite number"),
        (" " * 1_000_001, "the most allowed is 1 MB"),
    ],
)
def test_hostile_json_is_a_clear_error(text: str, fragment: str) -> None:
    with pytest.raises(ScenarioError) as info:
        Scenario.from_json(text)
    assert fragment in str(info.value), str(info.value)


def test_a_link_and_its_notes_write_numbers_as_people_do() -> None:
    """A whole number reads as one in a link (2000000000, not 2000000000.0) and in a message (-3, not -3.0);
    a note names the default that replaces a bad value with its unit (100 M requests/day, 2 ×), not as
    Python prints a float. Everything still reads back to the same scenario."""
    s = Scenario(requests_per_day=2e9, model_changes_per_year=0, utilization=0.75)
    query = s.to_query(only_changed=True)
    assert query == "requests_per_day=2000000000&model_changes_per_year=0&utilization=0.75"
    assert Scenario.from_query(query) == s
    odd = Scenario(requests_per_day=107151930.52376093)  # a log slider's step: kept exact
    assert Scenario.from_query(odd.to_query()) == odd
    _, notes = from_query_lenient("requests_per_day=-3&peak_to_average=99&utilization=2&pue=abc")
    assert notes[0].startswith("requests_per_day: -3 is not allowed; allowed: a number from 100 to ")
    assert notes[0].endswith("; the default (100 M requests/day) is used instead")
    assert notes[1].startswith("peak_to_average: 99 is not allowed") and "the default (2 ×)" in notes[1]
    assert "the default (0.6) is used instead" in notes[2]  # a fraction: no unit
    assert "the default (from the catalog) is used instead" in notes[3]

"""Leave-one-out validation: recomputed here and compared with what the app and the CLI show."""

from __future__ import annotations

import json
import math
import subprocess

import pandas as pd
import pytest

from explorer import charts as C
from explorer.app import validation_view
from explorer.catalog import load_catalog
from explorer.validate import TARGET_ERROR, leave_one_out, summarise

from .conftest import cli

CAT = load_catalog()


@pytest.fixture(scope="module")
def loo() -> pd.DataFrame:
    return leave_one_out(CAT)


def test_one_row_per_comparable_measurement(loo) -> None:
    comparable = CAT.results[CAT.results.comparable & CAT.results.requests_per_s_per_accelerator.notna()]
    assert len(loo) == len(comparable)
    assert (loo.error >= 0).all() and loo.estimated_rps.gt(0).all()
    assert set(loo.group) <= {"GPU", "datacenter accelerator", "edge"}
    assert loo.source_url.str.startswith("http").all()


def test_a_held_out_measurement_does_not_inform_its_own_estimate(loo, tmp_path) -> None:
    """Scale one device's measurements on a workload tenfold: its held-out estimate must not move."""
    import shutil

    base = tmp_path / "catalog"
    shutil.copytree(CAT.files["devices"]["nvidia-h100-sxm"][0].rsplit("/devices/", 1)[0], base)
    f = base / "results" / "sdxl.toml"
    text = f.read_text()
    block_start = text.index('device = "nvidia-l40s"')
    value_at = text.index("throughput = { value = ", block_start) + len("throughput = { value = ")
    end = text.index(",", value_at)
    f.write_text(text[:value_at] + str(float(text[value_at:end]) * 10) + text[end:])
    changed = leave_one_out(load_catalog(base=base, use_env=False))
    key = ["workload", "device_id", "system"]
    a = loo.set_index(key).sort_index().loc[("sdxl", "nvidia-l40s")].estimated_rps
    b = changed.set_index(key).sort_index().loc[("sdxl", "nvidia-l40s")].estimated_rps
    assert a.to_numpy() == pytest.approx(b.to_numpy())
    others = changed[(changed.workload == "sdxl") & (changed.device_id != "nvidia-l40s")].estimated_rps
    before = loo[(loo.workload == "sdxl") & (loo.device_id != "nvidia-l40s")].estimated_rps
    assert (others.to_numpy() != before.to_numpy()).all(), "the other devices' estimates do use it"


#: Pairs of devices the measurements order one way by more than the target error while the model
#: orders them the other way, each left with its reason. A new pair fails the test.
KNOWN_CONTRADICTIONS = {
    # Both rooflines favour MI300X (5.3 vs 4.8 TB/s, 2.6 vs 2.0 POPS FP8: 16.0 vs 15.1 samples/s); the
    # measured H200 lead (14.8 vs 11.8 samples/s, 26 %) is software (TensorRT-LLM vs vLLM on ROCm). Any
    # one factor per workload keeps the roofline order, and held out, each device's factor is fitted on
    # the other's: the estimates come out 15.8 (MI300X) vs 13.2 (H200). Tried and not adopted: a factor
    # per vendor (fitted on the workload's other devices of the same vendor, as a software-stack factor),
    # with MI325X's MLPerf v5.0/v5.1 Llama-2-70B results added as the other AMD device. It removes this
    # pair, but applied to every vendor it fits each of Google's two TPUs on SDXL on the other alone and
    # orders H100 and H200 below TPU v6e (measured 34 % and 43 % above it): with one other device a
    # vendor factor cannot tell the software stack from the device. Revisit with a third AMD device.
    "llama-2-70b": {"nvidia-h200 > amd-mi300x"},
}


def test_no_unexplained_rank_contradictions(loo) -> None:
    """The model never orders two devices against measurements that differ by more than the target,
    except for the pairs listed (and explained) in KNOWN_CONTRADICTIONS."""
    s = summarise(loo)
    new, gone = {}, {}
    for r in s.ranks.itertuples():
        found = {p for p in r.contradictions.split("; ") if p}
        assert r.contradicted_pairs == len(found)
        extra = found - KNOWN_CONTRADICTIONS.get(r.workload, set())
        if extra:
            new[r.workload] = sorted(extra)
        if KNOWN_CONTRADICTIONS.get(r.workload, set()) - found:
            gone[r.workload] = sorted(KNOWN_CONTRADICTIONS[r.workload] - found)
    assert not new, f"rank contradictions with no recorded reason: {new}"
    # a pair the model no longer contradicts leaves the list (and its explanation with it)
    assert not gone, f"listed contradictions that no longer occur: {gone}"


def test_median_error_within_target(loo) -> None:
    s = summarise(loo)
    assert s.median_error <= TARGET_ERROR
    assert s.within_target


def test_summary_figures(loo) -> None:
    s = summarise(loo)
    assert s.median_error == pytest.approx(loo.error.median())
    assert s.within_target == (s.median_error <= TARGET_ERROR)
    assert set(s.by_group.group) == set(loo.group)
    for r in s.ranks.itertuples():
        assert math.isnan(r.spearman) or -1 <= r.spearman <= 1


def test_the_app_shows_the_same_numbers(loo) -> None:
    view = validation_view(CAT)
    pd.testing.assert_frame_equal(view.loo.reset_index(drop=True), loo.reset_index(drop=True))
    chart = view.children[1].chart.to_dict()
    shown = next(
        d for layer in chart["layer"] for d in [layer.get("data", {})] if d.get("name") == "validation"
    )
    assert [round(v["estimated_rps"], 6) for v in shown["values"]] == [round(x, 6) for x in loo.estimated_rps]
    assert f"{summarise(loo).median_error:.0%}" in view.children[0].value


def test_cli_validate_json_matches(loo) -> None:
    p = subprocess.run([*cli(), "validate", "--format", "json"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["median_error"] == pytest.approx(loo.error.median())
    assert [r["estimated_rps"] for r in out["results"]] == pytest.approx(list(loo.estimated_rps))


def test_validation_chart_has_band_and_sources(loo) -> None:
    spec = C.validation_chart(loo).to_dict()
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["area", "line", "point"]
    tips = {t["field"] for t in spec["layer"][2]["encoding"]["tooltip"]}
    assert {"source_title", "retrieved", "fitted_on"} <= tips

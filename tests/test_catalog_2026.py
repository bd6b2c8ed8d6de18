"""The catalog brought to December 2026 (issue 14, point 7): each device's scale-up interconnect, the
rack-scale devices, FP4 peaks, and results that say which MLPerf scenario they ran and its latency bounds."""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import pytest

from explorer.catalog import load_catalog
from explorer.catalog import schema as S

CAT = load_catalog(use_env=False)
ROOT = Path(__file__).resolve().parents[1]
SOURCES = {"s": {"title": "t", "url": "https://example.org", "retrieved": dt.date(2026, 12, 3)}}


def _row(**kw):
    row = {
        "device": "nvidia-h200",
        "benchmark": "MLPerf Inference v5.1",
        "division": "closed",
        "scenario": "Offline",
        "system": "x",
        "accelerators": 8,
        "precision": "fp8",
        "throughput": {"value": 1.0, "unit": "tokens/s", "source": "s"},
    }
    row.update(kw)
    return {"workload": "llama-2-70b", "result": [row], "sources": SOURCES}


def _messages(doc) -> str:
    return "\n".join(str(i) for i in S.validate_results("results/llama-2-70b.toml", doc, "llama-2-70b"))


def test_every_device_names_its_interconnect_and_scale_up_domain() -> None:
    d = CAT.devices.set_index("id")
    assert d.interconnect.map(lambda x: isinstance(x, str) and len(x) > 10).all()
    assert (d.scale_up_domain >= 1).all()
    # the brief's anchors: HGX 8, NVL72 72, a PCIe card without NVLink 1, inf2.48xlarge's NeuronLink ring 12
    expected = {"nvidia-h100-sxm": 8, "nvidia-gb200-nvl72": 72, "nvidia-gb300-nvl72": 72, "nvidia-l4": 1}
    expected["aws-inferentia2"] = 12
    assert {k: d.loc[k, "scale_up_domain"] for k in expected} == expected


def test_every_pcie_card_sold_names_the_largest_server_it_is_sold_in() -> None:
    """A PCIe card's bare-metal copy spans up to its largest server sold (`pcie_server_cards`), so every
    PCIe card that can be bought records it, with a source, and no other device does (a baseboard
    module's server is its board, a reference server's size its own)."""
    from explorer.calc import power_class

    d = CAT.devices.set_index("id")
    pcie = d.apply(lambda r: power_class(r.segment, r.form_factor) == "pcie", axis=1)
    has = d.pcie_server_cards.notna()
    assert set(d.index[pcie & d.bare_metal_available]) <= set(d.index[has])
    assert set(d.index[has]) <= set(d.index[pcie])
    assert {k: d.loc[k, "pcie_server_cards"] for k in ("nvidia-l40s", "nvidia-t4", "nvidia-l4")} == {
        "nvidia-l40s": 8,
        "nvidia-t4": 16,
        "nvidia-l4": 4,
    }
    for k in d.index[has]:
        rec = tomllib.loads((ROOT / "catalog" / "devices" / f"{k}.toml").read_text())["pcie_server_cards"]
        assert rec["source"] and rec["note"], k


def test_rack_scale_devices_are_per_gpu_with_the_rack_as_their_server() -> None:
    d = CAT.devices.set_index("id")
    for dev in ("nvidia-gb200-nvl72", "nvidia-gb300-nvl72"):
        assert d.loc[dev, "server_devices"] == 72
        assert d.loc[dev, "server_power_w"] >= 72 * d.loc[dev, "power_w"]
        p = CAT.purchase_prices.set_index("device_id").loc[dev]
        assert "72" in p.unit_sold and p.estimate


def test_fp4_peaks_are_at_least_the_fp8_peaks() -> None:
    d = CAT.devices.set_index("id")
    fp4 = d.peak_fp4_tflops.dropna()
    blackwell = {"nvidia-b200", "nvidia-b300", "nvidia-gb200-nvl72", "nvidia-gb300-nvl72"}
    assert blackwell | {"amd-mi355x"} <= set(fp4.index)
    assert (fp4 >= d.loc[fp4.index, "peak_fp8_tflops"].fillna(d.loc[fp4.index, "peak_int8_tops"])).all()


def test_results_name_an_mlperf_scenario_and_server_rows_their_bounds() -> None:
    r = CAT.results
    assert set(r.scenario) <= set(S.RESULT_SCENARIOS)
    llm = r[r.workload.isin(["llama-2-70b", "llama-3.1-8b"]) & r.scenario.isin(["Server", "Interactive"])]
    mlperf = llm[llm.benchmark.str.startswith("MLPerf")]
    assert len(mlperf) >= 10 and mlperf.ttft_limit_ms.notna().all() and mlperf.tpot_limit_ms.notna().all()
    inter = mlperf[(mlperf.workload == "llama-2-70b") & (mlperf.scenario == "Interactive")]
    assert set(inter.tpot_limit_ms) == {40.0} and set(inter.ttft_limit_ms) == {450.0}
    # latency-bound rows stay out of the Offline calibration
    assert not r[r.scenario.isin(["Server", "Interactive"])].comparable.any()


def test_rows_from_the_unofficial_v6_copy_say_so() -> None:
    v6 = CAT.results[CAT.results.benchmark == "MLPerf Inference v6.0"]
    assert len(v6) and v6.note.str.contains("unofficial", case=False).all()


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({"scenario": "vendor"}, "'vendor' is not allowed; allowed: Offline, Server, Interactive"),
        ({"scenario": "Server"}, "an MLPerf Server result needs the latency bound it met"),
        (
            {"scenario": "Interactive", "ttft_limit": {"value": 450, "unit": "W", "source": "s"}},
            "result[0].ttft_limit.unit: unknown unit 'W' for this field; allowed: us, ms, s",
        ),
    ],
)
def test_bad_scenarios_and_bounds_get_clear_messages(row, expected) -> None:
    assert expected in _messages(_row(**row))


def test_a_server_row_with_its_bounds_is_accepted() -> None:
    limits = (("ttft_limit", 2000), ("tpot_limit", 200))
    bounds = {k: {"value": v, "unit": "ms", "source": "s"} for k, v in limits}
    assert _messages(_row(scenario="Server", **bounds)) == ""

"""The CLI, run as a subprocess like a user would."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from .conftest import cli

DEVICE_KEYS = {
    "id",
    "name",
    "vendor",
    "kind",
    "segment",
    "power_w",
    "power_boundary",
    "peak_bf16_tflops",
    "peak_int8_tops",
    "memory_gb",
    "memory_bandwidth_gbps",
    "sources",
}


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*cli(), *args], capture_output=True, text=True, timeout=120, env=env)


def test_devices_json_has_canonical_keys_and_sources() -> None:
    p = run("catalog", "devices", "--format", "json")
    assert p.returncode == 0, p.stderr
    records = json.loads(p.stdout)
    assert len(records) >= 26
    for rec in records:
        assert set(rec) >= DEVICE_KEYS, DEVICE_KEYS - set(rec)
        assert rec["sources"], rec["id"]
        for src in rec["sources"]:
            assert src["url"].startswith("http") and src["retrieved"] and src["fields"]
    h100 = next(r for r in records if r["id"] == "nvidia-h100-sxm")
    assert h100["power_w"] == 700
    assert h100["memory_bandwidth_gbps"] > 1000  # printed in TB/s, converted to GB/s
    assert any("power" in s["fields"] for s in h100["sources"])


def test_devices_json_uses_null_where_no_source_gives_the_figure() -> None:
    records = json.loads(run("catalog", "devices", "--format", "json").stdout)
    edge = [r for r in records if r["segment"] == "edge"]
    assert any(r["peak_bf16_tflops"] is None for r in edge), "NPUs without BF16 should be null, not 0"


def test_workloads_json() -> None:
    p = run("catalog", "workloads", "--format", "json")
    assert p.returncode == 0, p.stderr
    records = {r["id"]: r for r in json.loads(p.stdout)}
    assert {"resnet-50", "llama-2-70b"} <= set(records)
    for rec in records.values():
        assert {"id", "name", "task", "request", "sources"} <= set(rec)


def test_devices_table_is_readable() -> None:
    p = run("catalog", "devices")
    assert p.returncode == 0, p.stderr
    assert "nvidia-h100-sxm" in p.stdout and "700 W rated board" in p.stdout


@pytest.mark.parametrize("view", ["workloads", "prices", "results", "regions"])
def test_other_views(view: str) -> None:
    p = run("catalog", view)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() and "Traceback" not in p.stdout + p.stderr
    pj = run("catalog", view, "--format", "json")
    assert pj.returncode == 0 and json.loads(pj.stdout)


def test_check_passes_on_builtin_catalog() -> None:
    p = run("catalog", "check")
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("catalog OK:")


def test_bad_user_folder_exits_2_with_clear_lines(tmp_path: Path) -> None:
    user = tmp_path / "mine"
    (user / "devices").mkdir(parents=True)
    (user / "devices" / "nvidia-h100-sxm.toml").write_text("power = [\n", encoding="utf-8")
    p = run("catalog", "devices", "--catalog", str(user))
    assert p.returncode == 2
    assert "Traceback" not in p.stderr
    assert "nvidia-h100-sxm.toml: malformed TOML" in p.stderr


def test_missing_user_folder_exits_2(tmp_path: Path) -> None:
    p = run("catalog", "check", "--catalog", str(tmp_path / "nope"))
    assert p.returncode == 2
    assert "catalog folder does not exist" in p.stderr and "Traceback" not in p.stderr


@pytest.mark.parametrize("argv", [["catalog"], ["catalog", "devices", "--format", "xml"], ["frobnicate"]])
def test_usage_errors_exit_2_without_traceback(argv: list[str]) -> None:
    p = run(*argv)
    assert p.returncode == 2
    assert "error:" in p.stderr and "Traceback" not in p.stderr


# -- evaluate -----------------------------------------------------------------------------------------

OPTION_KEYS = {
    "device_id",
    "name",
    "vendor",
    "kind",
    "segment",
    "available",
    "unavailable_reason",
    "throughput_per_device_rps",
    "throughput_source",
    "devices_needed",
    "facility_power_kw",
    "energy_kwh_per_year",
    "energy_cost_usd_per_year",
    "hardware_cost_usd",
    "porting_cost_usd",
    "tco_usd",
    "cost_per_million_requests_usd",
    "requests_per_joule",
    "co2_tonnes_per_year",
    "break_even_month",
}


def test_evaluate_json_shape() -> None:
    p = run(
        "evaluate",
        "--requests-per-day",
        "1e9",
        "--workload",
        "llama-3.1-8b",
        "--framework-mix",
        "pytorch=0.6,onnx=0.4",
        "--format",
        "json",
    )
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert {"scenario", "recommendation", "options", "crossover_requests_per_day"} <= set(out)
    assert out["scenario"]["framework_mix"]["onnx"] == pytest.approx(0.4)
    rec = out["recommendation"]
    assert rec["plan"] in ("gpu", "accelerator", "hybrid") and rec["kind"] in ("gpu", "accelerator")
    assert rec["device_id"] == out["options"][0]["device_id"] and rec["reasons"]
    for o in out["options"]:
        assert set(o) >= OPTION_KEYS, OPTION_KEYS - set(o)


def test_evaluate_scenario_file_and_flags_override(tmp_path: Path) -> None:
    f = tmp_path / "s.json"
    f.write_text(
        json.dumps(
            {"requests_per_day": 5e8, "deployment": "bare-metal", "framework_mix": {"pytorch": 3, "jax": 1}}
        ),
        encoding="utf-8",
    )
    p = run("evaluate", "--scenario", str(f), "--deployment", "cloud", "--format", "json")
    assert p.returncode == 0, p.stderr
    s = json.loads(p.stdout)["scenario"]
    assert s["requests_per_day"] == 5e8 and s["deployment"] == "cloud"
    assert s["framework_mix"]["pytorch"] == pytest.approx(0.75)


def test_evaluate_table() -> None:
    p = run("evaluate", "--workload", "resnet-50", "--deployment", "edge")
    assert p.returncode == 0, p.stderr
    assert "Recommendation:" in p.stdout and "hailo-8" in p.stdout


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--requests-per-day", "nan"], "requests_per_day: nan is not allowed; not a finite number"),
        (["--requests-per-day", "inf"], "requests_per_day: inf is not allowed; not a finite number"),
        (["--requests-per-day", "-5"], "requests_per_day: -5.0 is not allowed; allowed: a number from 100"),
        (["--utilization", "3"], "utilization: 3.0 is not allowed; allowed: a number from 0.05 to 1"),
        (["--workload", "gpt-9"], "workload: gpt-9 is not allowed; allowed: bert-large"),
        (["--region", "atlantis"], "region: atlantis is not allowed; allowed:"),
        (["--deployment", "space"], "deployment: space is not allowed; allowed: cloud, bare-metal, edge"),
        (
            ["--framework-mix", "pytorch=-1"],
            "framework_mix.pytorch: -1 is not allowed; allowed: a non-negative",
        ),
        (
            ["--framework-mix", "pytorch=0,jax=0"],
            "framework_mix: {'pytorch': '0', 'jax': '0'} is not allowed; the shares must not all be zero",
        ),
        (["--framework-mix", "cobol=1"], "framework_mix.cobol: 1 is not allowed; allowed frameworks:"),
        (["--peak-to-average", "lots"], "peak_to_average: lots is not allowed; allowed: a number"),
    ],
)
def test_evaluate_bad_input_exits_2_with_one_line(argv: list[str], fragment: str) -> None:
    p = run("evaluate", *argv)
    assert p.returncode == 2, p.stdout
    assert "Traceback" not in p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert fragment in lines[0], lines[0]


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"requests_per_day": "NaN"}', '{"colour": 1}'])
def test_evaluate_bad_scenario_file(tmp_path: Path, content: str) -> None:
    f = tmp_path / "bad.json"
    f.write_text(content, encoding="utf-8")
    p = run("evaluate", "--scenario", str(f))
    assert p.returncode == 2
    assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1


def test_evaluate_missing_scenario_file(tmp_path: Path) -> None:
    p = run("evaluate", "--scenario", str(tmp_path / "none.json"))
    assert p.returncode == 2 and "the file cannot be read" in p.stderr


def test_evaluate_breakeven_map() -> None:
    p = run("evaluate", "--map", "10", "--draws", "0", "--format", "json")
    assert p.returncode == 0, p.stderr
    grid = json.loads(p.stdout)["breakeven_map"]
    assert len(grid) == 100 and {r["winner"] for r in grid} <= {"gpu", "accelerator"}
    table = run("evaluate", "--map", "8", "--draws", "0")
    assert table.returncode == 0 and "Break-even map (8 x 8)" in table.stdout
    for bad in ("1", "500", "-2"):
        p = run("evaluate", "--map", bad)
        assert p.returncode == 2 and "--map:" in p.stderr and "Traceback" not in p.stderr


def test_a_catalog_the_model_cannot_use_is_one_line(tmp_path: Path) -> None:
    """A catalog the model cannot use (no assumptions) gets one clear line, not a traceback."""
    import os
    import shutil

    from .conftest import CATALOG

    base = tmp_path / "catalog"
    shutil.copytree(CATALOG, base)
    shutil.rmtree(base / "assumptions")
    env = {**os.environ, "PYTHONPATH": ""}
    code = (
        "import sys; from explorer import catalog; from explorer.cli import main; "
        f"catalog.load.default_catalog_dir = lambda: __import__('pathlib').Path({str(base)!r}); "
        "sys.exit(main(['evaluate', '--draws', '0']))"
    )
    import sys

    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert p.returncode == 2, p.stderr
    assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert "the catalog cannot be used by the model: catalog/assumptions has no '" in p.stderr

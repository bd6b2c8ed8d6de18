"""The CLI, run as a subprocess like a user would."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from .conftest import cli

DEVICE_KEYS = {"id", "name", "vendor", "kind", "segment", "power_w", "power_boundary", "peak_bf16_tflops",
               "peak_int8_tops", "memory_gb", "memory_bandwidth_gbps", "sources"}


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*cli(), *args], capture_output=True, text=True, timeout=120, env=env)


def test_devices_json_has_canonical_keys_and_sources() -> None:
    p = run("catalog", "devices", "--format", "json")
    assert p.returncode == 0, p.stderr
    records = json.loads(p.stdout)
    assert len(records) >= 26
    for rec in records:
        assert DEVICE_KEYS <= set(rec), DEVICE_KEYS - set(rec)
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

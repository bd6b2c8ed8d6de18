"""``python -m explorer.measure``: rows the catalog accepts, nvidia-smi's output read, bad arguments refused.

No test needs a GPU. The CPU dry run needs PyTorch (the optional ``measure`` extra) and skips without it;
the rest runs everywhere: the rows a GPU run would write are built from timed batches given here, and
the power sampler runs against a stand-in nvidia-smi that prints what the real one prints.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import stat
import subprocess
import sys
import time
import tomllib

import pytest

from explorer.measure.bench import BatchResult, percentile
from explorer.measure.power import PowerReading, PowerSampler, parse_power_line, parse_power_samples
from explorer.measure.rows import BENCHMARK, RunInfo, appendable, check_rows, render

from .conftest import REPO

HAS_TORCH = importlib.util.find_spec("torch") is not None
needs_torch = pytest.mark.skipif(
    not HAS_TORCH, reason="PyTorch is not installed (optional extra: pip install -e '.[measure]')"
)

#: What `nvidia-smi --query-gpu=power.draw --format=csv,noheader,nounits -lms 100` printed on an H100
#: under load, with a board that briefly gave no reading.
NVIDIA_SMI_SAMPLE = "312.45\n318.02\n[N/A]\n\n684.91\n699.5\n"


def run_measure(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "explorer.measure", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


# -- the power sampler ----------------------------------------------------------------------------------


def test_power_parser_reads_nvidia_smi_output():
    watts, unreadable = parse_power_samples(NVIDIA_SMI_SAMPLE)
    assert watts == [312.45, 318.02, 684.91, 699.5]
    assert unreadable == 1  # the [N/A] line; the blank one is not a line of output
    reading = PowerReading.from_samples(watts, unreadable)
    assert reading.samples == 4 and reading.peak_w == 699.5
    assert reading.mean_w == pytest.approx((312.45 + 318.02 + 684.91 + 699.5) / 4)
    assert parse_power_line("345.67 W") == 345.67  # without nounits
    assert parse_power_line("[Not Supported]") is None
    with pytest.raises(ValueError):
        parse_power_line("Failed to initialize NVML")
    none = PowerReading.from_samples([], 3)
    assert none.mean_w is None and "[N/A]" in (none.absent or "")


def test_power_sampler_runs_nvidia_smi_in_the_background(tmp_path):
    """A stand-in nvidia-smi prints the captured lines, then keeps sampling until stopped."""
    args_file = tmp_path / "args"
    fake = tmp_path / "nvidia-smi"
    fake.write_text(
        "#!/bin/sh\n"
        f'echo "$@" > {args_file}\n'
        f"printf '{NVIDIA_SMI_SAMPLE}'\n"
        "while true; do echo 500.0; sleep 0.1; done\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    sampler = PowerSampler("0", nvidia_smi=str(fake)).start()
    deadline = time.monotonic() + 20
    while sampler.lines_seen < 8 and time.monotonic() < deadline:
        time.sleep(0.02)  # polling a condition with a deadline, not a fixed wait
    reading = sampler.stop()
    assert reading.absent is None and reading.samples >= 6
    assert reading.peak_w == 699.5
    assert args_file.read_text().split() == sampler.command()[1:]
    assert "--query-gpu=power.draw" in sampler.command()


def test_power_sampler_without_nvidia_smi_says_why(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    reading = PowerSampler("0").start().stop()
    assert reading.mean_w is None and "nvidia-smi is not on PATH" in (reading.absent or "")


# -- rows a GPU run writes, from timed batches given here --------------------------------------------------


def gpu_info(**kw) -> RunInfo:
    env = {"torch": "2.13.0", "python": "3.11", "gpu": "NVIDIA H200", "cuda": "12.8", "driver": "570.86"}
    base = dict(
        device_id="nvidia-h200",
        precision="bf16",
        env=env,
        commit="31d8107e7654",
        when=dt.datetime(2026, 12, 3, 11, 0, tzinfo=dt.UTC),
        warmup=2,
        iterations=50,
        min_seconds=5.0,
        dry_run=False,
        source_url="https://github.com/OWNER/REPO/blob/31d8107e7654/explorer/measure/bench.py",
    )
    return RunInfo(**{**base, **kw})


def batch(n: int, seconds_each: float, power: PowerReading) -> BatchResult:
    lat = [seconds_each * (1 + i / 100) for i in range(50)]
    return BatchResult("resnet-50", n, len(lat), sum(lat), lat, power)


def test_gpu_rows_are_marked_measured_and_the_catalog_accepts_them(tmp_path):
    info = gpu_info()
    results = [
        batch(1, 0.002, PowerReading(250.0, 300.0, 50)),
        batch(64, 0.030, PowerReading(610.0, 690.0, 52)),
    ]
    path = tmp_path / "resnet-50.toml"
    path.write_text(render(info, "resnet-50", results), encoding="utf-8")
    doc = tomllib.loads(path.read_text())
    assert doc["workload"] == "resnet-50"
    small, best = doc["result"]
    assert best["benchmark"] == small["benchmark"] == BENCHMARK
    assert best["accelerators"] == 1 and best["compute_precision"] == best["storage_precision"] == "bf16"
    method = best["throughput"]["method"]
    for part in (
        "explorer.measure",
        "31d8107e7654",
        "batch 64",
        "2 warm-up",
        "bf16",
        "random weights",
        "2026-12-03",
    ):
        assert part in method
    assert best["throughput"]["value"] == pytest.approx(64 * 50 / results[1].seconds, rel=1e-5)
    assert "p50" in best["throughput"]["note"] and "p99" in best["throughput"]["note"]
    assert best["power"] == {
        **best["power"],
        "value": 610.0,
        "unit": "W",
        "basis": "measured",
        "boundary": "board",
    }
    assert "peak 690.0 W" in best["power"]["note"]
    # the highest-throughput batch is the run's figure: a reference, outside the fit of tuned stacks
    assert best["comparable"] is False and "kept out of the efficiency fit" in best["why_not_comparable"]
    assert small["comparable"] is False and "batch-64 row" in small["why_not_comparable"]
    source = doc["sources"][info.source_key]
    assert source["retrieved"] == dt.date(2026, 12, 3) and "NVIDIA H200" in source["title"]

    catalog = check_rows({"resnet-50": path})
    rows = catalog.results[
        (catalog.results.workload == "resnet-50")
        & (catalog.results.benchmark == BENCHMARK)
        & catalog.results.system.str.contains("driver 570.86")  # this run's, not the catalog's own
    ]
    assert len(rows) == 2 and set(rows.power_boundary) == {"board"}
    assert len(catalog.results[catalog.results.workload == "resnet-50"]) > 2  # appended, not replaced


#: The catalog's ResNet-50 results: a row appended to them is result[RESNET_ROWS] (counted from 0).
RESNET_ROWS = len(tomllib.loads((REPO / "catalog/results/resnet-50.toml").read_text("utf-8"))["result"])


@pytest.mark.parametrize(
    ("kw", "says"),
    [
        ({"device_id": "no-such-gpu"}, "'no-such-gpu' is not a device in the catalog"),
        ({"precision": "fp32"}, f"catalog/results/resnet-50.toml: result[{RESNET_ROWS}].compute_precision"),
    ],
    ids=["unknown device", "precision outside the schema"],
)
def test_a_row_the_catalog_refuses_is_reported_with_the_catalogs_path(tmp_path, kw, says):
    from explorer.catalog import CatalogError

    path = tmp_path / "resnet-50.toml"
    path.write_text(render(gpu_info(**kw), "resnet-50", [batch(8, 0.01, PowerReading(1, 1, 1))]))
    with pytest.raises(CatalogError) as err:
        check_rows({"resnet-50": path})
    assert says in str(err.value) and "results/resnet-50.toml" in str(err.value)
    assert "measure-check-" not in str(err.value)  # the catalog's file, not the temporary copy


def test_a_file_not_written_by_the_script_is_refused():
    with pytest.raises(ValueError, match="append marker"):
        appendable("workload = 'x'\n")


def test_percentiles():
    values = [float(i) for i in range(1, 101)]
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile([3.0], 99) == 3.0


# -- the command line -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ((), "--out"),
        (("--out", "OUT", "--precision", "fp8"), "--precision fp8: not supported"),
        (("--out", "OUT", "--precision", "int4"), "allowed: bf16, fp16"),
        (("--out", "OUT", "--batch-sizes", "0,8"), "--batch-sizes"),
        (("--out", "OUT", "--batch-sizes", "one"), "whole numbers"),
        (("--out", "OUT", "--workloads", "resnet-50,gpt-5"), "gpt-5 unknown; allowed: resnet-50"),
        (("--out", "OUT", "--iterations", "0"), "--iterations"),
        (("--out", "OUT", "--min-seconds", "-1"), "--min-seconds"),
        (("--out", "catalog/measured"), "never write into catalog/"),
        (("--out", "OUT", "--device", "nvidia-h900"), "not a catalog device id; allowed:"),
        (("--out", "OUT", "--source-url", "file:///x"), "http(s) URL"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, tuple) else None,
)
@pytest.mark.slow
def test_cli_refuses_bad_arguments(tmp_path, args, says):
    args = tuple(str(tmp_path / "out") if a == "OUT" else a for a in args)
    proc = run_measure(*args)
    assert proc.returncode == 2, proc.stderr
    assert says in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()  # nothing written


def test_cli_without_torch_says_what_to_install(tmp_path):
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from explorer.measure.cli import main\n"
        f"raise SystemExit(main(['--out', {str(tmp_path)!r}, '--dry-run']))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "needs PyTorch" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow
@needs_torch
def test_cpu_dry_run_writes_rows_the_catalog_accepts(tmp_path):
    out = tmp_path / "out"
    proc = run_measure(
        "--out",
        str(out),
        "--dry-run",
        "--workloads",
        "resnet-50,bert-large,llama-3.1-8b,whisper-large-v3,sdxl",
    )
    assert proc.returncode == 0, proc.stderr
    assert "sdxl: not measured" in proc.stderr and "the catalog loader accepts them" in proc.stdout
    folder = out / "nvidia-h200" / "results"
    written = {p.stem: p for p in folder.glob("*.toml")}
    assert set(written) == {"resnet-50", "bert-large", "llama-3.1-8b", "whisper-large-v3"}
    for workload, path in written.items():
        doc = tomllib.loads(path.read_text())
        assert [r["accelerators"] for r in doc["result"]] == [1, 1]  # batches 1 and 2
        for r in doc["result"]:
            assert r["benchmark"] == BENCHMARK and r["comparable"] is False
            assert "dry run" in r["why_not_comparable"]
            assert r["throughput"]["value"] > 0 and r["throughput"]["unit"] == "samples/s"
            assert "random weights" in r["throughput"]["method"]
            assert "dry run on the CPU" in r["power"]["absent"]
            if workload in ("llama-3.1-8b", "whisper-large-v3"):
                assert "time to first token" in r["throughput"]["note"]
                assert ("the encoder and the prompt" in r["throughput"]["note"]) == (
                    workload != "llama-3.1-8b"
                )
                assert "time per output token" in r["throughput"]["note"]
    raw = json.loads((out / "nvidia-h200" / "measurements.json").read_text())
    assert raw["workloads"]["sdxl"]["skipped"].startswith("not measured")
    assert raw["environment"]["torch"]
    catalog = check_rows(written)  # what the run itself checked, shown here from the outside
    ours = catalog.results[catalog.results.benchmark == BENCHMARK]
    mine = ours[ours.system.str.startswith("CPU dry run")]  # the catalog holds real runs' rows too
    assert len(mine) == 8 and not ours.comparable.any()


def test_rows_say_how_each_workload_ran():
    """On a GPU the script runs ResNet-50 channels-last and replays the LLM's decode as a CUDA graph; the
    rows' method and the source's note say so; a plain run (--eager, or the CPU) says PyTorch eager."""
    habits = {"resnet-50": "PyTorch eager, channels-last memory format"}
    info = gpu_info(habits=habits)
    text = render(info, "resnet-50", [batch(8, 0.01, PowerReading(300.0, 320.0, 30))])
    doc = tomllib.loads(text)
    assert "channels-last memory format" in doc["result"][0]["throughput"]["method"]
    assert doc["sources"][info.source_key]["note"].startswith("PyTorch eager, channels-last")
    plain = tomllib.loads(render(gpu_info(), "resnet-50", [batch(8, 0.01, PowerReading(300.0, 320.0, 30))]))
    assert "PyTorch eager;" in plain["result"][0]["throughput"]["method"]
    assert "channels-last" not in plain["result"][0]["throughput"]["method"]


@needs_torch
def test_the_cpu_runner_runs_plain_eager_and_a_gpu_one_would_not():
    from explorer.measure.bench import Runner

    cpu = Runner("cpu", "bf16", tiny=True)
    assert not cpu.serving_habits
    workloads = ("resnet-50", "bert-large", "llama-3.1-8b", "whisper-large-v3")
    assert {cpu.habits(w) for w in workloads} == {"PyTorch eager"}
    # the texts a GPU run would write (no GPU needed to read them)
    cpu.serving_habits = True
    assert "CUDA graph" in cpu.habits("llama-3.1-8b") and "channels-last" in cpu.habits("resnet-50")
    assert "79 decode steps captured" in cpu.habits("whisper-large-v3")
    assert cpu.habits("bert-large") == "PyTorch eager"


@needs_torch
def test_the_measured_whisper_is_the_workload_the_catalog_counts():
    """Whisper large-v3 as the script builds it has the workload file's parameters and compute per request:
    counted on the meta device (no memory, no time), with torch's own FLOP counter, as the file says it was
    counted. Hugging Face's 1,543.5 M includes the encoder's 1,500 fixed sinusoidal positions (1.92 M), a
    buffer here."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from explorer.catalog import load_catalog
    from explorer.measure import nets

    s = nets.WHISPER_LARGE_V3
    w = load_catalog().workloads.set_index("id").loc["whisper-large-v3"]
    with torch.device("meta"):
        model = nets.Whisper(s).eval()
        assert sum(p.numel() for p in model.parameters()) == s.parameters()
        assert (s.parameters() + (s.frames // 2) * s.hidden) / 1e6 == pytest.approx(1543.5, abs=0.1)
        with torch.inference_mode(), FlopCounterMode(display=False) as flops:
            cross = model.encode(torch.randn(1, s.mels, s.frames))
            cache = model.new_cache(1, 84, "meta", torch.float32)
            model(torch.zeros(1, 4, dtype=torch.long), cache, cross, 0)
            for i in range(80):
                model(torch.zeros(1, 1, dtype=torch.long), cache, cross, 4 + i)
    assert flops.get_total_flops() / 1e9 == pytest.approx(w.compute_gflop_per_request, rel=0.01)

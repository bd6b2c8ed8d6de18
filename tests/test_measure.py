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

from explorer.measure.bench import WORKLOADS, BatchResult, percentile
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
        (("--out", "OUT", "--precision", "fp8"), "--precision fp8: this is the activations' format"),
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
    """With no --workloads the run builds every catalog workload (tiny shapes on the CPU)."""
    out = tmp_path / "out"
    proc = run_measure("--out", str(out), "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert "the catalog loader accepts them" in proc.stdout and "not measured" not in proc.stderr
    folder = out / "nvidia-h200" / "results"
    written = {p.stem: p for p in folder.glob("*.toml")}
    from explorer.catalog import load_catalog

    assert set(written) == set(load_catalog().workloads["id"])  # every workload the catalog has
    for workload, path in written.items():
        doc = tomllib.loads(path.read_text())
        assert [r["accelerators"] for r in doc["result"]] == [1, 1]  # batches 1 and 2
        for r in doc["result"]:
            assert r["benchmark"] == BENCHMARK and r["comparable"] is False
            assert "dry run" in r["why_not_comparable"]
            assert r["throughput"]["value"] > 0 and r["throughput"]["unit"] == "samples/s"
            assert "random weights" in r["throughput"]["method"]
            assert "dry run on the CPU" in r["power"]["absent"]
            note = r["throughput"]["note"]
            generative = workload in ("llama-3.1-8b", "llama-2-70b", "whisper-large-v3")
            assert ("time to first token" in note) == generative
            assert ("time per output token" in note) == generative
            assert ("the encoder and the prompt" in note) == (workload == "whisper-large-v3")
            assert ("the guided denoising steps" in note and "the VAE decode" in note) == (workload == "sdxl")
            fp8 = workload == "llama-2-70b"  # its linear layers run in fp8, whatever --precision says
            assert r["compute_precision"] == r["storage_precision"] == ("fp8" if fp8 else "bf16")
            assert ("torch._scaled_mm" in r["throughput"]["method"]) == fp8
    raw = json.loads((out / "nvidia-h200" / "measurements.json").read_text())
    assert set(raw["workloads"]) == set(written) and raw["environment"]["torch"]
    catalog = check_rows(written)  # what the run itself checked, shown here from the outside
    ours = catalog.results[catalog.results.benchmark == BENCHMARK]
    mine = ours[ours.system.str.startswith("CPU dry run")]  # the catalog holds real runs' rows too
    assert len(mine) == 2 * len(written) and not ours.comparable.any()
    # validation meets the 70B's row at the formats it ran: the fp8 roofline, not the bf16 one
    from explorer.validate import measured_by_us

    figures = measured_by_us(catalog).set_index(["workload", "device_id"])
    assert figures.loc[("llama-2-70b", "nvidia-h200"), "formats"] == "fp8"
    assert figures.loc[("sdxl", "nvidia-h200"), "formats"] == "bf16"


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
    assert {cpu.habits(w) for w in WORKLOADS} == {"PyTorch eager"}
    # the texts a GPU run would write (no GPU needed to read them)
    cpu.serving_habits = True
    assert "CUDA graph" in cpu.habits("llama-3.1-8b") and "channels-last" in cpu.habits("resnet-50")
    assert "127 decode steps captured" in cpu.habits("llama-3.1-8b")
    assert "293 decode steps captured" in cpu.habits("llama-2-70b")
    assert "79 decode steps captured" in cpu.habits("whisper-large-v3")
    assert cpu.habits("bert-large") == cpu.habits("sdxl") == "PyTorch eager"


@needs_torch
def test_a_model_that_does_not_fit_is_skipped_with_its_reason_and_the_rest_still_run(
    tmp_path, monkeypatch, capsys
):
    """A GPU too small for one copy (an L4 for the 70B) runs out of memory while building it: the run says
    so, records it, and measures the other workloads."""
    import torch

    from explorer.measure import bench
    from explorer.measure.cli import main

    build = bench.Runner.build

    def small_gpu(self, workload):
        if workload == "llama-2-70b":
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 448.00 MiB")
        return build(self, workload)

    monkeypatch.setattr(bench.Runner, "build", small_gpu)
    out = tmp_path / "out"
    assert main(["--out", str(out), "--dry-run", "--workloads", "llama-2-70b,resnet-50"]) == 0
    err = capsys.readouterr().err
    assert "llama-2-70b: not measured: one copy of the model does not fit" in err and "Traceback" not in err
    raw = json.loads((out / "nvidia-h200" / "measurements.json").read_text())
    assert raw["workloads"]["llama-2-70b"]["skipped"].startswith("not measured: one copy")
    assert [p.stem for p in (out / "nvidia-h200" / "results").glob("*.toml")] == ["resnet-50"]


@needs_torch
def test_a_gpu_without_fp8_tensor_cores_says_why_it_skips_the_70b(monkeypatch):
    """Llama-2-70B's linear layers run in fp8 (one copy in bf16 needs 138 GB): an A100 (8.0) cannot, an
    H100 or H200 (9.0) and an L40S (8.9) can. The capability is read from torch, faked here."""
    import torch

    from explorer.measure.bench import Runner

    runner = Runner("cpu", "bf16", tiny=True)
    assert runner.cannot_run("llama-2-70b") is None  # the CPU dry run has an fp8 matmul
    runner.device = torch.device("cuda")
    for capability, runs in (((8, 0), False), ((8, 9), True), ((9, 0), True)):
        monkeypatch.setattr(torch.cuda, "get_device_capability", lambda _d, c=capability: c)
        why = runner.cannot_run("llama-2-70b")
        assert (why is None) == runs
        if not runs:
            assert "FP8 tensor cores" in why and "this GPU has 8.0" in why and "138 GB" in why
        assert runner.cannot_run("llama-3.1-8b") is None


def catalog_workload(workload: str):
    from explorer.catalog import load_catalog

    return load_catalog().workloads.set_index("id").loc[workload]


@pytest.mark.slow
@needs_torch
def test_the_measured_sdxl_is_the_workload_the_catalog_counts():
    """The SDXL-base UNet as the script builds it has the parameter count the workload file gives (counted
    from the published config with diffusers), and one request (20 guided steps: the UNet on a batch of 2,
    then the VAE decoder) has the file's 281 TFLOP: counted on the meta device with torch's FLOP counter."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from explorer.measure import diffusion
    from explorer.measure.bench import SDXL_GUIDANCE, SDXL_STEPS

    s = diffusion.SDXL_BASE
    w = catalog_workload("sdxl")
    assert f"{SDXL_STEPS} Euler denoising steps" in w.request and f"scale {SDXL_GUIDANCE:g}" in w.request
    notes = tomllib.loads((REPO / "catalog/workloads/sdxl.toml").read_text("utf-8"))["notes"]
    assert "2,567,463,684 parameters" in notes
    with torch.device("meta"):
        unet, vae = diffusion.SDXLUNet(s).eval(), diffusion.VAEDecoder(s).eval()
        assert sum(p.numel() for p in unet.parameters()) == 2_567_463_684
        side = s.latent
        with torch.inference_mode(), FlopCounterMode(display=False) as step:
            unet(
                torch.randn(2, 4, side, side),
                torch.zeros(2),
                torch.randn(2, s.text_tokens, s.text_dim),
                torch.randn(2, s.pooled_dim),
                torch.zeros(2, s.time_ids),
            )
        with torch.inference_mode(), FlopCounterMode(display=False) as decode:
            image = vae(torch.randn(1, 4, side, side))
    assert image.shape == (1, 3, 8 * side, 8 * side) == (1, 3, 1024, 1024)
    assert step.get_total_flops() / 2e12 == pytest.approx(6.761, rel=1e-3)  # the file's per evaluation
    assert decode.get_total_flops() / 1e12 == pytest.approx(10.47, rel=1e-3)
    request = SDXL_STEPS * step.get_total_flops() + decode.get_total_flops()
    assert request / 1e9 == pytest.approx(w.compute_gflop_per_request, rel=0.01)


@pytest.mark.slow
@needs_torch
def test_the_measured_70b_is_the_workload_the_catalog_counts():
    """Llama-2-70B with fp8 linear layers, as the script builds it: the workload file's parameters, 70.6 GB
    of weights (so one copy fits on one 141 GB H200, or an 80 GB H100, with room for its KV cache), the
    file's mean prompt and output, and its compute per request (the file leaves out attention, 0.5 %).
    Decode FLOPs grow linearly with the position, so the first and last steps give their sum exactly."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from explorer.measure import nets

    s, spec = nets.LLAMA_2_70B, WORKLOADS["llama-2-70b"]
    w = catalog_workload("llama-2-70b")
    assert spec.prompt == round(w.input_tokens_per_request)
    assert spec.decode_steps + 1 == round(w.output_tokens_per_request)
    with torch.device("meta"):
        model = nets.Llama(s, fp8=True).eval()
        weights = list(model.parameters())
        assert sum(p.numel() for p in weights) == s.parameters() == pytest.approx(w.parameters, abs=5e6)
        assert sum(p.numel() * p.element_size() for p in weights) / 1e9 == pytest.approx(70.55, abs=0.01)
        assert {type(m) for m in model.modules()} >= {nets.FP8Linear}
        assert not any(isinstance(m, torch.nn.Linear) for m in model.layers.modules())
        steps = spec.decode_steps
        cache = model.new_cache(1, spec.prompt + steps + 1, "meta", model.embed.weight.dtype)
        counts = []
        for ids, start in (
            (torch.zeros(1, spec.prompt, dtype=torch.long), 0),
            *((torch.zeros(1, 1, dtype=torch.long), spec.prompt + i) for i in (0, steps - 1)),
        ):
            with torch.inference_mode(), FlopCounterMode(display=False) as flops:
                model(ids, cache, start)
            counts.append(flops.get_total_flops())
    prefill, first, last = counts
    request = prefill + steps * (first + last) / 2
    assert request / 1e9 == pytest.approx(w.compute_gflop_per_request, rel=0.01)


@needs_torch
def test_the_measured_whisper_is_the_workload_the_catalog_counts():
    """Whisper large-v3 as the script builds it has the workload file's parameters and compute per request:
    counted on the meta device (no memory, no time), with torch's own FLOP counter, as the file says it was
    counted. Hugging Face's 1,543.5 M includes the encoder's 1,500 fixed sinusoidal positions (1.92 M), a
    buffer here."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from explorer.measure import nets

    s = nets.WHISPER_LARGE_V3
    w = catalog_workload("whisper-large-v3")
    with torch.device("meta"):
        model = nets.Whisper(s).eval()
        assert sum(p.numel() for p in model.parameters()) == s.parameters()
        assert (s.parameters() + (s.frames // 2) * s.hidden) / 1e6 == pytest.approx(1543.5, abs=0.1)
        with torch.inference_mode(), FlopCounterMode(display=False) as flops:
            cross = model.encode(torch.randn(1, s.mels, s.frames))
            cache = model.new_cache(1, 84, "meta", torch.float32)
            model(torch.zeros(1, 4, dtype=torch.long), cache, cross, 0)
        steps = []  # a decode step's FLOPs grow linearly with its position: the first and last give the sum
        for i in (0, 79):
            with torch.inference_mode(), FlopCounterMode(display=False) as one:
                model(torch.zeros(1, 1, dtype=torch.long), cache, cross, 4 + i)
            steps.append(one.get_total_flops())
    request = flops.get_total_flops() + 80 * sum(steps) / 2
    assert request / 1e9 == pytest.approx(w.compute_gflop_per_request, rel=0.01)

"""``python -m explorer.measure``: measure this machine's GPU on the catalog's workloads, write catalog rows.

Arguments are checked before torch is imported: a bad one exits with status 2 and says which argument,
what was wrong and what is allowed. ``--dry-run`` runs the same code on the CPU with tiny shapes and no
nvidia-smi, so the tests exercise it without a GPU.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

from .bench import WORKLOADS

PRECISIONS = ("bf16", "fp16")
#: torch.cuda.get_device_name() substrings -> catalog device ids, most specific first.
GPU_NAMES = (
    ("H200", "nvidia-h200"),
    ("H100 PCIe", "nvidia-h100-pcie"),
    ("H100", "nvidia-h100-sxm"),
    ("B200", "nvidia-b200"),
    ("A100-SXM4-80GB", "nvidia-a100-80gb-sxm"),
    ("A100 80GB", "nvidia-a100-80gb-sxm"),
    ("A100-SXM4-40GB", "nvidia-a100-40gb-sxm"),
    ("L40S", "nvidia-l40s"),
    ("A10G", "nvidia-a10g"),
    ("L4", "nvidia-l4"),
    ("T4", "nvidia-t4"),
)
DEFAULT_URL = "https://github.com/OWNER/REPO/blob/{commit}/explorer/measure/bench.py"
REPO = Path(__file__).resolve().parents[2]


def device_for_gpu(name: str) -> str | None:
    """The catalog device id of a GPU by its name, or None when the catalog has no such device."""
    for part, device_id in GPU_NAMES:
        if part.lower() in name.lower():
            return device_id
    return None


def _positive_ints(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: write whole numbers separated by commas, e.g. 1,8,32"
        ) from None
    if not values or any(v < 1 or v > 65536 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: each batch size must be between 1 and 65536")
    return values


def _count(lo: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < lo or value > 100_000:
            raise argparse.ArgumentTypeError(f"{value} is outside {lo}-100000")
        return value

    return parse


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"{value:g} is outside 0-3600 seconds")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m explorer.measure",
        description="Measure a GPU's throughput, latency and board power on the catalog's workloads with "
        "random weights (PyTorch), and write catalog result rows marked as measured by us.",
    )
    p.add_argument("--out", required=True, type=Path, help="folder to write into (never catalog/)")
    p.add_argument(
        "--workloads",
        default=",".join(WORKLOADS),
        help=f"comma-separated catalog workload ids; known: {', '.join(WORKLOADS)}",
    )
    p.add_argument("--batch-sizes", type=_positive_ints, help="e.g. 1,8,32 (default: per workload)")
    p.add_argument("--warmup", type=_count(0), default=2, help="untimed iterations per batch (default 2)")
    p.add_argument(
        "--iterations", type=_count(1), help="least timed iterations per batch (default: per workload)"
    )
    p.add_argument(
        "--min-seconds", type=_seconds, help="least timed seconds per batch (default 5; dry run 0)"
    )
    p.add_argument("--precision", default="bf16", help="bf16 or fp16 (default bf16)")
    p.add_argument("--device", help="catalog device id of the GPU (default: recognised from its name)")
    p.add_argument(
        "--gpu-index", default=None, help="nvidia-smi index of the GPU (default: the first visible)"
    )
    p.add_argument(
        "--source-url", default=DEFAULT_URL, help="http(s) URL of this script for the rows' source"
    )
    p.add_argument(
        "--eager",
        action="store_true",
        help="plain eager PyTorch throughout (default on a GPU: ResNet-50 in channels-last memory, the LLM's "
        "decode steps replayed as one CUDA graph)",
    )
    p.add_argument(
        "--dry-run", action="store_true", help="CPU, tiny shapes, no nvidia-smi: checks the script"
    )
    return p


def check_args(p: argparse.ArgumentParser, a: argparse.Namespace) -> list[str]:
    """Validate what argparse cannot; exits 2 (p.error) naming the argument. Returns the workloads."""
    names = [w.strip() for w in a.workloads.split(",") if w.strip()]
    unknown = [w for w in names if w not in WORKLOADS]
    if not names or unknown:
        p.error(f"--workloads: {', '.join(unknown) or 'none given'} unknown; allowed: {', '.join(WORKLOADS)}")
    if a.precision == "fp8":
        p.error(
            "--precision fp8: this is the activations' format, and PyTorch eager has no fp8 convolution or "
            "attention; llama-2-70b runs its linear layers in fp8 (torch._scaled_mm) whatever this says; "
            "allowed: bf16, fp16"
        )
    if a.precision not in PRECISIONS:
        p.error(f"--precision {a.precision!r}: allowed: {', '.join(PRECISIONS)}")
    out = a.out.resolve()
    catalog = (REPO / "catalog").resolve()
    if out == catalog or catalog in out.parents:
        p.error(f"--out {a.out}: never write into catalog/ (review the rows, then append them by hand)")
    if out.exists() and not out.is_dir():
        p.error(f"--out {a.out}: exists and is not a folder")
    if not a.source_url.startswith(("https://", "http://")):
        p.error(f"--source-url {a.source_url!r}: must be an http(s) URL")
    if a.device is not None:
        from explorer.catalog import load_catalog

        ids = set(load_catalog(use_env=False).devices["id"])
        if a.device not in ids:
            p.error(f"--device {a.device!r} is not a catalog device id; allowed: {', '.join(sorted(ids))}")
    return names


def git_commit() -> str:
    try:
        head = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"
    if head.returncode != 0:
        return "unknown (not a git checkout)"
    return head.stdout.strip() + (" with local changes" if dirty.stdout.strip() else "")


def main(argv: list[str] | None = None) -> int:
    p = parser()
    a = p.parse_args(argv)
    names = check_args(p, a)
    try:
        import torch
    except ImportError:
        print(
            "explorer.measure needs PyTorch: pip install 'accel-explorer[measure]' (or torch)",
            file=sys.stderr,
        )
        return 1
    from explorer.catalog import CatalogError

    from .bench import Runner
    from .rows import RunInfo, check_rows, render

    gpu_index = a.gpu_index or (os.environ.get("CUDA_VISIBLE_DEVICES", "0").split(",")[0] or "0")
    if a.dry_run:
        runner = Runner("cpu", a.precision, tiny=True)
        device_id = a.device or "nvidia-h200"
    else:
        if not torch.cuda.is_available():
            print(
                "explorer.measure: no CUDA GPU is visible to PyTorch; on a machine without one, "
                "--dry-run checks the script on the CPU",
                file=sys.stderr,
            )
            return 1
        runner = Runner("cuda", a.precision, tiny=False, gpu_index=gpu_index, eager=a.eager)
        name = torch.cuda.get_device_name(0)
        device_id = a.device or device_for_gpu(name)
        if device_id is None:
            print(
                f"explorer.measure: the catalog has no device for the GPU {name!r}; add its device file "
                "first, then pass --device <its id>",
                file=sys.stderr,
            )
            return 1
    env = runner.environment()
    commit = git_commit()
    info = RunInfo(
        device_id=device_id,
        precision=a.precision,
        env=env,
        commit=commit,
        when=dt.datetime.now(dt.UTC),
        warmup=a.warmup,
        iterations=a.iterations or 1,
        min_seconds=a.min_seconds if a.min_seconds is not None else (0.0 if a.dry_run else 5.0),
        dry_run=a.dry_run,
        source_url=a.source_url.format(commit=commit.split()[0]),
        habits={n: runner.habits(n) for n in names},
    )
    folder = a.out / device_id / "results"
    folder.mkdir(parents=True, exist_ok=True)
    written, raw = {}, {"environment": env, "device": device_id, "commit": commit, "workloads": {}}
    for name in names:
        w = WORKLOADS[name]
        why_not = runner.cannot_run(name)
        if why_not is None:
            try:
                prepare = runner.build(name)
            except torch.OutOfMemoryError:
                why_not = "not measured: one copy of the model does not fit in this GPU's memory"
        if why_not is not None:
            runner.release()  # what a build that did not fit had allocated (its error is gone by now)
            print(f"{name}: {why_not}", file=sys.stderr)
            raw["workloads"][name] = {"skipped": why_not}
            continue
        batches = a.batch_sizes or ((1, 2) if a.dry_run else w.batch_sizes)
        iterations = a.iterations or (2 if a.dry_run else w.iterations)
        info_w = RunInfo(**{**info.__dict__, "iterations": iterations})
        results = []
        for b in batches:
            try:
                r = runner.time_batch(
                    name, prepare, b, a.warmup, iterations, info_w.min_seconds, not a.dry_run
                )
            except torch.OutOfMemoryError:
                print(
                    f"{name}: batch {b} does not fit in the GPU's memory; larger ones skipped",
                    file=sys.stderr,
                )
                break
            results.append(r)
            print(
                f"{name} batch {b}: {r.requests_per_s:.4g} requests/s over {r.iterations} iterations; "
                f"power {f'{r.power.mean_w:.0f} W' if r.power.mean_w else r.power.absent}"
            )
        del prepare
        runner.release()  # this workload's weights, before the next one is built
        if not results:
            continue
        path = folder / f"{name}.toml"
        path.write_text(render(info_w, name, results), encoding="utf-8")
        written[name] = path
        raw["workloads"][name] = [
            {
                "batch": r.batch,
                "iterations": r.iterations,
                "seconds": r.seconds,
                "latencies_s": r.latencies_s,
                "phases": r.phases,
                "power": r.power.__dict__,
            }
            for r in results
        ]
    (a.out / device_id / "measurements.json").write_text(json.dumps(raw, indent=1, default=str), "utf-8")
    if written:
        try:
            check_rows(written)  # the catalog's own loader, over a copy with these rows appended
        except CatalogError as exc:
            print(
                f"explorer.measure: the catalog would refuse the rows written under {folder}:",
                file=sys.stderr,
            )
            for issue in exc.issues:
                print(f"  {issue}", file=sys.stderr)
            return 1
        print(f"wrote {len(written)} results file(s) under {folder}; the catalog loader accepts them")
    return 0

"""Turn timed batches into catalog result rows (TOML), and check them with the catalog's own loader.

Each row is marked as measured by us: ``benchmark`` names this script, the throughput record carries the
``method`` (script, commit, batch size, warm-up, iterations, precision, random weights, date), the power
record is ``basis = "measured"`` at the ``board`` boundary, and one ``[sources.measured-...]`` table
describes the run. A written file is standalone TOML; the part after ``APPEND_MARK`` is what a reviewer
appends to ``catalog/results/<workload>.toml``. ``check_rows`` does exactly that in a temporary copy of
the catalog and loads it, so a run only ever writes rows the catalog accepts.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .bench import WORKLOADS, BatchResult, percentile

BENCHMARK = "accel-explorer measure (PyTorch, random weights)"
SUBMITTER = "accel-explorer (measured by us)"
#: Why even a run's best row stays out of the efficiency fit: the model's figures are for the stacks
#: that serve (MLPerf's), and a framework run on the same chip can be 2-3x slower (H200: ResNet-50 at 13 %
#: of its bf16 roofline in PyTorch, 43 % fitted on tuned stacks). ``explorer.validate.measured_by_us``
#: lists these rows beside the model's estimate instead.
REFERENCE = (
    "this run's throughput figure (its highest), measured by us in plain PyTorch with random weights: no "
    "serving engine (no fused or quantized kernels, no continuous batching), so it is kept out of the "
    "efficiency fit, whose figures are for the tuned stacks that serve; `accel-explorer validate` lists it "
    "beside the model's estimate as this device's measured reference"
)
APPEND_MARK = "# ---- append everything below this line to catalog/results/{workload}.toml ----"


@dataclass(frozen=True)
class RunInfo:
    """What every row of one run shares."""

    device_id: str
    precision: str
    env: dict[str, Any]
    commit: str
    when: dt.datetime  # UTC
    warmup: int
    iterations: int
    min_seconds: float
    dry_run: bool
    source_url: str
    #: workload id -> how it ran beyond plain eager PyTorch (``Runner.habits``); absent: "PyTorch eager"
    habits: dict[str, str] = field(default_factory=dict)

    def habit(self, workload: str) -> str:
        return self.habits.get(workload, "PyTorch eager")

    @property
    def source_key(self) -> str:
        stamp = self.when.strftime("%Y%m%dt%H%M%S")
        return f"measured-{self.device_id}-{self.precision}-{stamp}{'-dry-run' if self.dry_run else ''}"

    def system(self) -> str:
        e = self.env
        if self.dry_run:
            return f"CPU dry run ({e['gpu']}, PyTorch {e['torch']})"
        parts = [f"PyTorch {e['torch']}"]
        if e.get("cuda"):
            parts.insert(0, f"CUDA {e['cuda']}")
        if e.get("driver"):
            parts.insert(0, f"driver {e['driver']}")
        return f"1x {e['gpu']} ({', '.join(parts)})"


def toml_value(v: Any) -> str:
    """A TOML literal for the few types rows hold (strings are JSON-escaped: valid TOML basic strings)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(round(v, 6))
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"no TOML form for {type(v).__name__}")


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.3g} ms"


def latency_text(r: BatchResult) -> str:
    lat = r.latencies_s
    text = f"latency per batch of {r.batch}: p50 {_ms(percentile(lat, 50))}, p99 {_ms(percentile(lat, 99))}"
    if r.phases.get("denoise_s"):
        den, vae = r.phases["denoise_s"], r.phases["vae_s"]
        text += f"; the guided denoising steps p50 {_ms(percentile(den, 50))}, p99 {_ms(percentile(den, 99))}"
        text += f"; the VAE decode p50 {_ms(percentile(vae, 50))}, p99 {_ms(percentile(vae, 99))}"
    if r.phases.get("prefill_s"):
        pre, dec = r.phases["prefill_s"], r.phases["decode_step_s"]
        first = WORKLOADS[r.workload].first or "prefill"
        text += f"; time to first token ({first}) p50 {_ms(percentile(pre, 50))}"
        text += f", p99 {_ms(percentile(pre, 99))}"
        if dec:
            text += f"; time per output token p50 {_ms(percentile(dec, 50))}, p99 {_ms(percentile(dec, 99))}"
            if r.phases.get("decode_s"):
                text += " (each timed iteration's mean step: its decode ran as one CUDA graph)"
    return text


def formats(info: RunInfo, workload: str) -> tuple[str, str]:
    """The format of the weights and matrix maths (the rows' precision fields), and the run's in words."""
    if WORKLOADS[workload].weights == "fp8":
        return "fp8", (
            "fp8 (e4m3) linear-layer weights with per-tensor scales, multiplied on fp8 inputs by "
            f"torch._scaled_mm; {info.precision} embedding, output projection, attention and KV cache"
        )
    return info.precision, f"{info.precision} weights and activations"


def method_text(info: RunInfo, r: BatchResult) -> str:
    w = WORKLOADS[r.workload]
    return (
        f"Measured by us with `python -m explorer.measure` (commit {info.commit}) on "
        f"{info.when.date().isoformat()}: {w.what if not info.dry_run else 'tiny shapes (dry run)'}, "
        f"random weights (nothing downloaded), {formats(info, r.workload)[1]}, "
        f"{info.habit(r.workload)}; "
        f"fixed batch {r.batch}, {info.warmup} warm-up iterations, then {r.iterations} timed iterations "
        f"(at least {info.iterations} and {info.min_seconds:g} s) in {r.seconds:.3g} s: "
        f"throughput = batch x iterations / timed seconds"
    )


def row(info: RunInfo, r: BatchResult, best_batch: int) -> dict[str, Any]:
    key = info.source_key
    code, words = formats(info, r.workload)
    out: dict[str, Any] = {
        "device": info.device_id,
        "benchmark": BENCHMARK,
        "division": "measured by us",
        "scenario": "Offline",
        "system": f"{info.system()}, batch {r.batch}",
        "submitter": SUBMITTER,
        "accelerators": 1,
        "precision": words,
        "compute_precision": code,
        "storage_precision": code,
        "throughput": {
            "value": r.requests_per_s,
            "unit": "samples/s",
            "source": key,
            "method": method_text(info, r),
            "note": latency_text(r),
        },
    }
    p = r.power
    if p.mean_w is not None:
        out["power"] = {
            "value": p.mean_w,
            "unit": "W",
            "basis": "measured",
            "boundary": "board",
            "source": key,
            "note": f"mean of {p.samples} nvidia-smi power.draw samples (every 100 ms) during the timed "
            f"window; peak {p.peak_w:.1f} W",
        }
    else:
        out["power"] = {"absent": p.absent or "not sampled", "source": key}
    out["note"] = (
        "One request is the catalog workload's request (random weights give the same compute and memory "
        "traffic as trained ones). A request-per-second figure per batch size: one row per batch."
    )
    out["comparable"] = False
    if info.dry_run:
        out["why_not_comparable"] = (
            "dry run on the CPU with tiny shapes: exercises the script, measures nothing about this device; "
            "never add it to the catalog"
        )
    elif r.batch != best_batch:
        out["why_not_comparable"] = (
            f"a latency point at batch {r.batch}: this run's throughput figure for the workload is its "
            f"batch-{best_batch} row (the highest measured throughput)"
        )
    else:
        out["why_not_comparable"] = REFERENCE
    return out


def render(info: RunInfo, workload: str, results: Iterable[BatchResult]) -> str:
    """One workload's rows and their source, as a results file."""
    results = list(results)
    best = max(results, key=lambda r: r.requests_per_s).batch
    when = info.when.date()
    e = info.env
    lines = [
        f"# Written by `python -m explorer.measure` on {info.when.isoformat(timespec='seconds')}: "
        f"rows measured by us on {info.system()}.",
        "# Review, then append the part below the marker to the catalog's results file of this workload.",
        f"workload = {toml_value(workload)}",
        "",
        APPEND_MARK.format(workload=workload),
    ]
    for r in results:
        lines += ["", "[[result]]"] + [f"{k} = {toml_value(v)}" for k, v in row(info, r, best).items()]
    env = ", ".join(f"{k} {v}" for k, v in e.items() if v)
    lines += [
        "",
        f"[sources.{info.source_key}]",
        f"title = {toml_value(f'Measured by us: python -m explorer.measure on {info.system()}')}",
        'publisher = "accel-explorer"',
        f"url = {toml_value(info.source_url)}",
        f"published = {when.isoformat()}",
        f"retrieved = {when.isoformat()}",
        "note = "
        + toml_value(
            f"{info.habit(workload)} with random weights, {formats(info, workload)[1]}; batch sizes "
            f"{', '.join(str(r.batch) for r in results)}; {info.warmup} warm-up and at least "
            f"{info.iterations} timed iterations per batch; "
            + (
                "dry run: tiny shapes on the CPU, no power sampled"
                if info.dry_run
                else "board power sampled with nvidia-smi --query-gpu=power.draw every 100 ms"
            )
            + f". Environment: {env}. Commit {info.commit}."
        ),
        "",
    ]
    return "\n".join(lines)


def appendable(text: str) -> str:
    """The part of a written file that goes at the end of the catalog's results file."""
    _, sep, tail = text.partition("\n# ---- append everything below this line")
    if not sep:
        raise ValueError("not a file written by explorer.measure: its append marker is missing")
    return tail.split("\n", 1)[1]


def check_rows(written: dict[str, Path], base: Path | None = None):
    """Append each written file to a temporary copy of the catalog and load it: CatalogError if refused."""
    from explorer.catalog import CatalogError, Issue, default_catalog_dir, load_catalog

    base = Path(base) if base is not None else default_catalog_dir()
    with tempfile.TemporaryDirectory(prefix="measure-check-") as tmp:
        copy = Path(tmp) / "catalog"
        shutil.copytree(base, copy)
        for workload, path in written.items():
            target = copy / "results" / f"{workload}.toml"
            existing = target.read_text(encoding="utf-8") if target.exists() else f'workload = "{workload}"\n'
            target.write_text(existing.rstrip("\n") + "\n" + appendable(path.read_text("utf-8")), "utf-8")
        try:
            return load_catalog(base=copy, use_env=False)
        except CatalogError as exc:  # name the catalog's own file, not the temporary copy
            raise CatalogError(
                [Issue(i.path.replace(str(copy), "catalog"), i.field, i.message) for i in exc.issues]
            ) from None

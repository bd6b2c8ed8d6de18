"""Peaks per precision, the compute and memory ceilings, and the roofline (the lower of the two)."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from .request import dram_traffic_mb
from .serving import Target
from .serving_catalog import row_capacity


def peak_ops(dev: pd.Series, precision: str) -> float:
    """Peak throughput in ops/s at a precision, falling back across formats.

    FP4 work runs at the FP4 peak where the catalog has one, else as FP8. 8-bit (and other 4-bit) work
    runs at the device's peak for that format: FP8 at the FP8 peak where the
    catalog has one, else at the INT8 peak; INT8 at the faster of the INT8 and FP8 peaks (an 8-bit model
    is served in the device's faster 8-bit format: Blackwell Ultra's INT8 is a thirtieth of its FP8; Gaudi's
    only 8-bit matrix format is FP8); with neither, at the 16-bit peak (no speed-up the
    catalog does not publish is assumed: never above the device's fastest published peak). 16-bit work
    runs at the BF16 (else FP16) peak, else at the only peak published (8-bit NPUs).
    """
    p = precision.lower()

    def known(x: Any) -> float | None:
        return float(x) if x is not None and pd.notna(x) else None

    int8 = known(dev.peak_int8_tops)
    fp8 = known(getattr(dev, "peak_fp8_tflops", None))
    bf16 = known(dev.peak_bf16_tflops)
    fp4 = known(getattr(dev, "peak_fp4_tflops", None))
    if "fp4" in p and fp4 is not None:  # FP4 at the FP4 peak where the catalog has one (Blackwell, MI355X)
        val = fp4
    elif any(k in p for k in ("int8", "fp8", "int4", "fp4")):
        if "fp8" in p or "fp4" in p:
            val = fp8 if fp8 is not None else int8
        else:
            val = max((v for v in (int8, fp8) if v is not None), default=None)
        if val is None:
            val = bf16
    else:
        fp16 = known(getattr(dev, "peak_fp16_tflops", None))
        val = next((v for v in (bf16, fp16, int8, fp8) if v is not None), None)
    return float(val) * 1e12 if val is not None else math.nan


def stated_precision(precision: Any) -> str | None:
    """A result row's precision field if the source stated one (else None: the workload's is assumed)."""
    return precision if isinstance(precision, str) and precision else None


def ceilings(
    dev: pd.Series,
    w: pd.Series,
    compute_precision: str | None = None,
    storage_precision: str | None = None,
) -> tuple[float, float]:
    """(compute ceiling, memory ceiling) in requests/s: the most the device's peak and its DRAM bandwidth
    allow over the workload's compute and DRAM traffic per request.

    Compute runs at the device's peak in ``compute_precision`` and memory traffic is counted in
    ``storage_precision`` (both default to the workload's serving precision). The compute ceiling is NaN
    where the device publishes no peak for the format (nor one it falls back to); the memory ceiling is
    infinite where the request's working set stays on chip, and NaN where the device publishes no DRAM
    bandwidth (on-chip SRAM NPUs: the compute bound alone applies).
    """
    serving = row_capacity(dev, w, compute_precision, storage_precision)
    if serving is not None:  # an LLM: prefill and decode at the largest batch memory holds (serving.py)
        return float(serving.compute_rps[0]), float(serving.memory_rps[0])
    peak = peak_ops(dev, compute_precision or w.precision)
    compute = peak / (w.compute_gflop_per_request * 1e9) if peak > 0 else math.nan
    traffic = dram_traffic_mb(dev, w, storage_precision) * 1e6
    bw = float(dev.memory_bandwidth_gbps) * 1e9 if pd.notna(dev.memory_bandwidth_gbps) else math.nan
    memory = math.inf if traffic <= 0 else (bw / traffic if bw > 0 else math.nan)
    return compute, memory


def roofline(compute: float, memory: float) -> float:
    known = [c for c in (compute, memory) if c == c]
    best = min(known) if known else math.nan
    return best if math.isfinite(best) else math.nan


def roofline_rps(
    dev: pd.Series,
    w: pd.Series,
    compute_precision: str | None = None,
    storage_precision: str | None = None,
    target: Target | None = None,
    fixed_step_s_per_layer: float = 0.0,
    sequence_s_per_layer: float = 0.0,
) -> float:
    """Requests/s the device could serve at best: min(compute ceiling, memory ceiling) (``ceilings``).

    With no bandwidth figure (on-chip SRAM NPUs), or a working set that fits on chip, the compute bound
    alone is used; with neither bound known, NaN. An LLM's is its serving capacity without a latency bound
    (``serving.row_capacity``: prefill and decode at the largest batch the memory holds), under both; at a
    latency ``target`` (a measured result's bounds), the largest batch that meets it; its decode steps
    take the serving stack's ``fixed_step_s_per_layer`` and ``sequence_s_per_layer`` per sequence (0: the
    physics alone).
    """
    serving = row_capacity(
        dev,
        w,
        compute_precision,
        storage_precision,
        target=target or Target(),
        fixed_step_s_per_layer=fixed_step_s_per_layer,
        sequence_s_per_layer=sequence_s_per_layer,
    )
    if serving is not None:
        rps = float(serving.rps[0])
        return rps if rps > 0 else math.nan
    return roofline(*ceilings(dev, w, compute_precision, storage_precision))


def result_roofline_rps(dev: pd.Series, w: pd.Series, row: Any) -> float:
    """The roofline of what a measured result row ran: its stated compute and storage formats."""
    return roofline_rps(
        dev,
        w,
        stated_precision(getattr(row, "compute_precision", None)),
        stated_precision(getattr(row, "storage_precision", None)),
    )

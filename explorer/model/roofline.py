"""Peaks per precision, the compute and memory ceilings, and the roofline (the lower of the two)."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from .request import dram_traffic_mb
from .serving import PcieLink, Target, peak_used
from .serving_catalog import row_capacity


def peak_ops(dev: pd.Series, precision: str) -> float:
    """Peak throughput in ops/s at a precision, falling back across formats as the serving model does
    (``serving.PEAK_COLUMNS``, ``serving.peak_used``: one rule for both).

    FP4 work runs at the FP4 peak where the catalog has one, else as FP8. FP8 runs at the FP8 peak, else
    at the INT8 peak; INT8 (and INT4) at the faster of the two (Blackwell Ultra's INT8 is a thirtieth of
    its FP8; Gaudi's only 8-bit matrix format is FP8); with neither, at the 16-bit peak (no speed-up the
    catalog does not publish is assumed: never above the device's fastest published peak). 16-bit work
    runs at the BF16 (else FP16) peak, else, unlike an LLM's, at the only peak published (8-bit NPUs).
    """
    p = precision.lower()
    fmt = next((f for f in ("fp4", "fp8", "int8") if f in p), "int8" if "int4" in p else None)
    if fmt is not None:
        return peak_used(dev, fmt)[0]
    peak = peak_used(dev, "bf16")[0]
    return peak if peak == peak else peak_used(dev, "int8")[0]


def stated_precision(precision: Any) -> str | None:
    """A result row's precision field if the source stated one (else None: the workload's is assumed)."""
    return precision if isinstance(precision, str) and precision else None


def ceilings(
    dev: pd.Series,
    w: pd.Series,
    compute_precision: str | None = None,
    storage_precision: str | None = None,
    devices_per_copy: float | None = None,
) -> tuple[float, float]:
    """(compute ceiling, memory ceiling) in requests/s: the most the device's peak and its DRAM bandwidth
    allow over the workload's compute and DRAM traffic per request (an LLM's copy over ``devices_per_copy``
    devices, as placed; None: ``copy_devices``'s count, whose memory bounds the batch).

    Compute runs at the device's peak in ``compute_precision`` and memory traffic is counted in
    ``storage_precision`` (both default to the workload's serving precision). The compute ceiling is NaN
    where the device publishes no peak for the format (nor one it falls back to); the memory ceiling is
    infinite where the request's working set stays on chip, and NaN where the device publishes no DRAM
    bandwidth (on-chip SRAM NPUs: the compute bound alone applies).
    """
    serving = row_capacity(dev, w, compute_precision, storage_precision, devices_per_copy=devices_per_copy)
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
    pcie: PcieLink | None = None,
) -> float:
    """Requests/s the device could serve at best: min(compute ceiling, memory ceiling) (``ceilings``).

    With no bandwidth figure (on-chip SRAM NPUs), or a working set that fits on chip, the compute bound
    alone is used; with neither bound known, NaN. An LLM's is its serving capacity without a latency bound
    (``serving.row_capacity``: prefill and decode at the largest batch the memory holds), under both; at a
    latency ``target`` (a measured result's bounds), the largest batch that meets it; its decode steps
    take the serving stack's ``fixed_step_s_per_layer`` and ``sequence_s_per_layer`` per sequence (0: the
    physics alone), and a copy past its scale-up domain its all-reduces over PCIe (``pcie``; None: free).
    """
    serving = row_capacity(
        dev,
        w,
        compute_precision,
        storage_precision,
        target=target or Target(),
        fixed_step_s_per_layer=fixed_step_s_per_layer,
        sequence_s_per_layer=sequence_s_per_layer,
        pcie=pcie,
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

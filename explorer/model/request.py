"""What one request of a workload asks of a device: bytes per parameter at a precision, the working set,
whether it fits on chip, and the DRAM traffic it moves."""

from __future__ import annotations

import math

import pandas as pd

BYTES_PER_PARAM = {"int8": 1.0, "fp8": 1.0, "int4": 0.5, "fp4": 0.5, "bf16": 2.0, "fp16": 2.0, "fp32": 4.0}


def precision_bytes(precision: str) -> float:
    p = precision.lower()
    for key, b in BYTES_PER_PARAM.items():
        if key in p:
            return b
    return 2.0


def working_set_mb(w: pd.Series, storage_precision: str | None = None) -> float:
    """MB one request touches: the model's weights plus every activation it writes, at the storage
    precision (the workload's own by default). NaN where the workload does not catalogue its activations.
    """
    acts = getattr(w, "activations_per_request", math.nan)
    if acts is None or pd.isna(acts):
        return math.nan
    return (w.parameters + acts) * precision_bytes(storage_precision or w.precision) / 1e6


def fits_on_chip(dev: pd.Series, w: pd.Series, storage_precision: str | None = None) -> bool:
    """Whether one request's weights and activations fit in the device's on-chip memory.

    False where either figure is not catalogued (no on-chip reuse is then assumed, as before).
    """
    on_chip = getattr(dev, "on_chip_memory_mb", math.nan)
    ws = working_set_mb(w, storage_precision)
    return bool(pd.notna(on_chip) and on_chip > 0 and ws == ws and ws <= on_chip)


def on_chip_batch(dev: pd.Series, w: pd.Series, storage_precision: str | None = None) -> int:
    """How many requests' live activations the device's on-chip memory holds at once (0 if none, or if
    the device or the workload lacks the figure).

    A request's *peak* activations are the most it must hold at any point when its layers run in order:
    a layer's input and output, plus any earlier tensor kept for a residual add. When n requests' peaks
    fit on chip, a batch of n runs layer by layer without spilling activations to DRAM.
    """
    on_chip = getattr(dev, "on_chip_memory_mb", math.nan)
    peak = getattr(w, "peak_activations_per_request", math.nan)
    if not (pd.notna(on_chip) and on_chip > 0 and peak is not None and pd.notna(peak) and peak > 0):
        return 0
    return int(on_chip * 1e6 // (peak * precision_bytes(storage_precision or w.precision)))


def dram_traffic_mb(dev: pd.Series, w: pd.Series, storage_precision: str | None = None) -> float:
    """DRAM (device-memory) bytes per request, in MB.

    The workload's memory traffic is counted at its own precision; a run that keeps its tensors in a
    wider or narrower format moves proportionally more or fewer bytes. On-chip memory cuts it in two
    steps:

    * when the request's whole working set (weights and activations) fits in the device's on-chip
      memory, a schedule exists that reads neither from DRAM: only the request's input and output cross
      the memory bus, which is neglected, so the memory term is dropped. (Qualcomm's Cloud AI 100 proves
      the point on ResNet-50: its measured MLPerf throughput at the workload's 23 MB/image would need 4x
      its 137 GB/s DRAM bandwidth.)
    * else, when the peak activations of n >= 1 requests fit (``on_chip_batch``), a batch of n keeps its
      activations on chip and reads the weights once: weights / n per request (input and output again
      neglected), if that is less than the workload's traffic. (NVIDIA's Jetson AGX Orin, 4 MB of L2,
      reaches 73 % of the no-reuse bound on ResNet-50 in MLPerf v3.1, where the other devices reach
      about 45 %: two images' 1.8 MB peaks fit its L2, halving the traffic.)
    """
    if fits_on_chip(dev, w, storage_precision):
        return 0.0
    scale = precision_bytes(storage_precision or w.precision) / precision_bytes(w.precision)
    full = float(w.memory_traffic_mb_per_request) * scale
    n = on_chip_batch(dev, w, storage_precision)
    if n >= 1:
        weights_only = w.parameters * precision_bytes(storage_precision or w.precision) / n / 1e6
        return min(full, weights_only)
    return full

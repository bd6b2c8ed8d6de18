"""The decision engine: a scenario in, sized and costed options and a reasoned recommendation out.

A pure model (no ipywidgets, altair or IPython). Everything it knows comes from the catalog; everything it
assumes is a catalog figure with a source or a marked estimate (``catalog/assumptions``). The core is
vectorised over devices and over any grid of request volumes and model-change rates, so one evaluation of
the whole catalog, a crossover search and a break-even map are all a few array operations.

The model, per device d serving workload w:

* throughput: the measured result per accelerator where the catalog has one (Offline scenario first),
  else a roofline estimate, 1 / max(compute / peak, traffic / bandwidth), times an efficiency factor
  fitted on the measured results of w (the geometric mean of measured / roofline; all workloads' results
  where w has none). The peak is the device's at the precision the work runs in; the DRAM traffic is
  dropped when the request's weights and activations fit in the device's on-chip memory (L2 cache or
  SRAM), and cut to the weights shared by a batch of n when only the peak activations of n requests
  fit (the largest layer's input and output plus a kept residual; ``dram_traffic_mb``). Each measured
  result is compared with the roofline of what it ran (``run_formats``: its stated compute and storage
  formats; else the workload's; else, for a run above that ceiling, the widest format the device
  publishes a peak for that holds it), so the fitted factor measures software efficiency, not a
  precision mismatch; a run still above its ceiling counts at 1. The factor (one result per measured
  device, those at the estimate's precision where two or more devices ran at it) is never above 1, so
  an estimate never exceeds min(compute ceiling, memory ceiling) at the precision it runs in. The model,
  validation and the uncertainty ranges call the same estimator (``estimate_throughput``);
* fleet: enough devices to carry the peak at the target utilisation, in whole model replicas (a model
  that does not fit one device's memory spans several) and, in the cloud, whole instances;
* training (the training share of all compute) runs on GPUs: on a GPU option the same fleet trains in the
  inference troughs (one pooled fleet); on an accelerator option a separate GPU fleet trains (hybrid);
* power: rated power x (idle share + (1 - idle share) x average load) at the device; at the server wall
  the measured energy per request where the catalog has an MLPerf Power result for the device and
  workload, else a model per server class (8-way baseboard, PCIe server, TPU/Trainium host, edge board,
  edge add-in with its host; ``wall_power``): average (energy) and provisioned (rated) power; then x PUE;
* cost: cloud rental per chip-hour (electricity included in the price), or purchase (plus the server
  around the devices on bare metal, replaced after the hardware lifetime) plus electricity; plus porting:
  engineer-days by framework support level, weighted by the framework mix, repeated in part at every
  model change.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache, wraps
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from . import fmt
from .catalog import Catalog, load_catalog
from .catalog.units import convert
from .scenario import FIELD_SPECS, FRAMEWORK_LABELS, FRAMEWORKS, MAJOR_CLOUDS, Scenario, ScenarioError

T = TypeVar("T")

HOURS_PER_YEAR = 8766.0  # 365.25 days
SECONDS_PER_DAY = 86400.0
SUPPORT_ORDER = ("native", "sdk", "converter", "none")
MAX_REPLICA_DEVICES = 64  # a model needing more devices than this per copy is not offered
MEMORY_HEADROOM = 0.8  # share of device memory usable for weights (the rest: activations, KV cache)
BYTES_PER_PARAM = {"int8": 1.0, "fp8": 1.0, "int4": 0.5, "fp4": 0.5, "bf16": 2.0, "fp16": 2.0, "fp32": 4.0}

#: The assumptions the model reads from catalog/assumptions, with the unit it needs them in.
ASSUMPTIONS = {
    "engineer_day_usd": "USD/day",
    "porting_days_native": "days",
    "porting_days_sdk": "days",
    "porting_days_converter": "days",
    "porting_days_none": "days",
    "update_share_native": "ratio",
    "update_share_sdk": "ratio",
    "update_share_converter": "ratio",
    "update_share_none": "ratio",
    "host_power_ratio": "ratio",
    "wall_ratio_baseboard": "ratio",
    "cloud_host_power_ratio": "ratio",
    "pcie_host_power_w": "W",
    "pcie_devices_per_server": "count",
    "provisioned_headroom_ratio": "ratio",
    "edge_host_power_w": "W",
    "edge_host_rated_w": "W",
    "estimated_power": "ratio",
    "idle_power_ratio": "ratio",
    "host_cost_ratio": "ratio",
    "hardware_lifetime_years": "years",
    "training_mfu": "ratio",
}


class ModelError(ValueError):
    """The catalog lacks something the model needs (an assumption, a PUE default, a region)."""


def per_catalog(maxsize: int) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Cache ``fn(cat, *args)`` (hashable args) per catalog object, ``maxsize`` results per catalog.

    Each catalog gets its own ``functools.lru_cache``, held only as long as the catalog itself lives: a
    visitor's kernel makes a new catalog at every upload or removal, and the caches of the catalogs it
    dropped go with them (the cache holds the catalog weakly). The cached function's ``cache_clear``
    and the plain ``uncached`` are exposed.
    """

    def wrap(fn: Callable[..., T]) -> Callable[..., T]:
        caches: dict[int, Callable[..., T]] = {}

        @wraps(fn)
        def cached(cat: Catalog, *args: Any) -> T:
            inner = caches.get(id(cat))
            if inner is None:
                ref = weakref.ref(cat)
                inner = lru_cache(maxsize=maxsize)(lambda *a: fn(ref(), *a))
                caches[id(cat)] = inner
                # the id may be reused once the catalog is gone: its cache must be gone first
                weakref.finalize(cat, caches.pop, id(cat), None)
            return inner(*args)

        cached.cache_clear = caches.clear  # type: ignore[attr-defined]
        cached.uncached = fn  # type: ignore[attr-defined]
        cached.caches = caches  # type: ignore[attr-defined]  # for tests: the catalogs cached now
        return cached

    return wrap


# -- the per-workload device table (cached: it depends on the catalog and the workload only) ------------


@dataclass(frozen=True)
class DeviceTable:
    """Arrays over devices (axis -1) for one workload; built once per catalog and workload."""

    ids: np.ndarray
    names: np.ndarray
    vendors: np.ndarray
    kinds: np.ndarray
    segments: np.ndarray
    is_gpu: np.ndarray
    rps: np.ndarray  # requests/s per device (measured or estimated); nan where unknown
    rps_measured: np.ndarray  # bool
    rps_source: list[str]
    replica: np.ndarray  # devices per model copy
    fits: np.ndarray  # bool
    fit_reason: list[str]
    power_w: np.ndarray  # rated device power; nan where unpublished
    wall_ratio: np.ndarray  # average server wall power / device power at full load (class model)
    wall_w: np.ndarray  # average wall power per device at full load that scales with load; nan: unknown
    host_w: np.ndarray  # average wall power per device drawn whatever the load (its share of the host)
    provisioned_w: np.ndarray  # rated (provisioned) wall power per device, for racks and circuits
    power_class: np.ndarray  # server class (POWER_CLASSES)
    power_estimated: np.ndarray  # bool: the device's power figure is an estimate
    wall_source: list[str]  # where the average wall power comes from
    bf16_tflops: np.ndarray
    cloud_price: np.ndarray  # USD per chip-hour, cheapest on-demand; nan where none
    cloud_chips: np.ndarray  # chips per instance of that offer
    cloud_offer: list[str]
    purchase_usd: np.ndarray  # nan where none
    purchase_offer: list[str]
    power_source: list[str]
    support: np.ndarray  # (devices, frameworks) index into SUPPORT_ORDER
    support_via: list[list[str | None]]
    cloud_ok: np.ndarray
    bare_ok: np.ndarray
    edge_ok: np.ndarray
    cloud_why: list[str]
    bare_why: list[str]
    edge_why: list[str]
    bare_vendor_count: np.ndarray
    cloud_providers: list[list[str]]
    efficiency: float
    efficiency_n: int
    workload: dict[str, Any] = field(repr=False)


def _precision_bytes(precision: str) -> float:
    p = precision.lower()
    for key, b in BYTES_PER_PARAM.items():
        if key in p:
            return b
    return 2.0


def _peak_ops(dev: pd.Series, precision: str) -> float:
    """Peak throughput in ops/s at a precision, falling back across formats.

    8-bit (and 4-bit) work runs at the device's peak for that format: FP8 at the FP8 peak where the
    catalog has one, else at the INT8 peak; INT8 at the INT8 peak, else at the FP8 peak (devices whose
    only 8-bit matrix format is FP8, e.g. Gaudi); with neither, at the 16-bit peak (no speed-up the
    catalog does not publish is assumed: never above the device's fastest published peak). 16-bit work
    runs at the BF16 (else FP16) peak, else at the only peak published (8-bit NPUs).
    """
    p = precision.lower()

    def known(x: Any) -> float | None:
        return float(x) if x is not None and pd.notna(x) else None

    int8 = known(dev.peak_int8_tops)
    fp8 = known(getattr(dev, "peak_fp8_tflops", None))
    bf16 = known(dev.peak_bf16_tflops)
    if any(k in p for k in ("int8", "fp8", "int4", "fp4")):
        first, second = (fp8, int8) if "fp8" in p else (int8, fp8)
        val = first if first is not None else second
        if val is None:
            val = bf16
    else:
        fp16 = known(getattr(dev, "peak_fp16_tflops", None))
        val = next((v for v in (bf16, fp16, int8, fp8) if v is not None), None)
    return float(val) * 1e12 if val is not None else math.nan


def _stated(precision: Any) -> str | None:
    """A result row's precision field if the source stated one (else None: the workload's is assumed)."""
    return precision if isinstance(precision, str) and precision else None


def working_set_mb(w: pd.Series, storage_precision: str | None = None) -> float:
    """MB one request touches: the model's weights plus every activation it writes, at the storage
    precision (the workload's own by default). NaN where the workload does not catalogue its activations.
    """
    acts = getattr(w, "activations_per_request", math.nan)
    if acts is None or pd.isna(acts):
        return math.nan
    return (w.parameters + acts) * _precision_bytes(storage_precision or w.precision) / 1e6


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
    return int(on_chip * 1e6 // (peak * _precision_bytes(storage_precision or w.precision)))


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
    scale = _precision_bytes(storage_precision or w.precision) / _precision_bytes(w.precision)
    full = float(w.memory_traffic_mb_per_request) * scale
    n = on_chip_batch(dev, w, storage_precision)
    if n >= 1:
        weights_only = w.parameters * _precision_bytes(storage_precision or w.precision) / n / 1e6
        return min(full, weights_only)
    return full


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
    peak = _peak_ops(dev, compute_precision or w.precision)
    compute = peak / (w.compute_gflop_per_request * 1e9) if peak > 0 else math.nan
    traffic = dram_traffic_mb(dev, w, storage_precision) * 1e6
    bw = float(dev.memory_bandwidth_gbps) * 1e9 if pd.notna(dev.memory_bandwidth_gbps) else math.nan
    memory = math.inf if traffic <= 0 else (bw / traffic if bw > 0 else math.nan)
    return compute, memory


def _roofline(compute: float, memory: float) -> float:
    known = [c for c in (compute, memory) if c == c]
    best = min(known) if known else math.nan
    return best if math.isfinite(best) else math.nan


def _roofline_rps(
    dev: pd.Series,
    w: pd.Series,
    compute_precision: str | None = None,
    storage_precision: str | None = None,
) -> float:
    """Requests/s the device could serve at best: min(compute ceiling, memory ceiling) (``ceilings``).

    With no bandwidth figure (on-chip SRAM NPUs), or a working set that fits on chip, the compute bound
    alone is used; with neither bound known, NaN.
    """
    return _roofline(*ceilings(dev, w, compute_precision, storage_precision))


def result_roofline_rps(dev: pd.Series, w: pd.Series, row: Any) -> float:
    """The roofline of what a measured result row ran: its stated compute and storage formats."""
    return _roofline_rps(
        dev,
        w,
        _stated(getattr(row, "compute_precision", None)),
        _stated(getattr(row, "storage_precision", None)),
    )


def best_measured(cat: Catalog, workload: str) -> pd.DataFrame:
    """The measured result used per device: Offline scenario first, then Server, then any; the best."""
    r = cat.results
    r = r[(r.workload == workload) & r.requests_per_s_per_accelerator.notna() & r.comparable]
    if r.empty:
        return r
    tier = r.scenario.str.lower().map({"offline": 0, "server": 1}).fillna(2)
    r = r.assign(_tier=tier).sort_values(
        ["device_id", "_tier", "requests_per_s_per_accelerator"], ascending=[True, True, False]
    )
    # head(1), not first(): first() would fill a row's empty fields from the device's other rows
    return r.groupby("device_id").head(1).reset_index(drop=True)


# -- calibration: measured / roofline, never above 1 against the right-precision roofline ---------------


def narrower_formats(dev: pd.Series, precision: str) -> list[str]:
    """The formats narrower than ``precision`` the device publishes a peak for, widest first.

    16-bit where it has a BF16 peak, then 8-bit (FP8 where the catalog has that peak, else INT8). No 4-bit
    peak is catalogued, so no run is taken to compute in fewer than 8 bits unless its source says so.
    """
    width = _precision_bytes(precision)
    out = []
    if width > 2 and pd.notna(dev.peak_bf16_tflops):
        out.append("bf16")
    if width > 1:
        fp8 = getattr(dev, "peak_fp8_tflops", None)
        if fp8 is not None and pd.notna(fp8):
            out.append("fp8")
        elif pd.notna(dev.peak_int8_tops):
            out.append("int8")
    return out


def _bits(precision: str) -> str:
    return f"{_precision_bytes(precision) * 8:g}-bit"


def run_formats(dev: pd.Series, w: pd.Series, row: Any) -> tuple[str, str, str]:
    """(compute format, storage format, how it is known) of a measured result row.

    What the source states comes first. Where it states nothing, the workload's serving precision is
    assumed, unless the measurement is above the device's ceiling at that precision: then the run must
    have used a narrower format (MLPerf's closed division lets submitters quantize), and it is compared
    with the widest format the device publishes a peak for whose roofline holds the measurement (the
    narrowest one if none does). The factor fitted on it then measures the software, not a precision gap.
    """
    cp = _stated(getattr(row, "compute_precision", None))
    sp = _stated(getattr(row, "storage_precision", None))
    if cp or sp:
        return cp or w.precision, sp or w.precision, "stated by the source"
    measured = float(row.requests_per_s_per_accelerator)
    if not measured > _roofline_rps(dev, w):
        return w.precision, w.precision, "not stated: the workload's"
    candidates = narrower_formats(dev, w.precision)
    for f in candidates:
        if _roofline_rps(dev, w, f, f) >= measured:
            return f, f, f"not stated: above its {w.precision} ceiling, so {_bits(f)} at least"
    if candidates:
        f = candidates[-1]
        return f, f, f"not stated: above its ceiling even in {_bits(f)}"
    return w.precision, w.precision, f"not stated: above its {w.precision} ceiling"


@dataclass(frozen=True)
class Calibration:
    """One comparable measured result against the roofline of the formats it ran (``run_formats``)."""

    result: Any  # the row's index in cat.results
    workload: str
    device_id: str
    tier: int  # Offline 0, Server 1, other 2 (best_measured's order)
    measured_rps: float
    compute_precision: str
    storage_precision: str
    formats: str  # how the formats are known
    roofline_rps: float
    ratio: float  # measured / roofline
    efficiency: float  # the ratio, never above 1


@per_catalog(maxsize=1)
def calibration(cat: Catalog) -> tuple[Calibration, ...]:
    """Every comparable measured result against the roofline of what it ran, once per catalog.

    A ratio above 1 (a run above its ceiling: a format narrower than the device publishes a peak for,
    sparsity, padding removed from the requests, or a catalog figure off) counts as efficiency 1: it shows
    the device can reach its ceiling, never that another device can pass its own.
    """
    devices = cat.devices.set_index("id")
    workloads = cat.workloads.set_index("id")
    r = cat.results
    if r.empty:
        return ()
    r = r[r.comparable & r.requests_per_s_per_accelerator.notna()]
    out = []
    for row in r.itertuples():
        if row.device_id not in devices.index or row.workload not in workloads.index:
            continue
        dev, w = devices.loc[row.device_id], workloads.loc[row.workload]
        cp, sp, how = run_formats(dev, w, row)
        roof = _roofline_rps(dev, w, cp, sp)
        if not roof > 0:
            continue
        ratio = float(row.requests_per_s_per_accelerator) / roof
        out.append(
            Calibration(
                result=row.Index,
                workload=row.workload,
                device_id=row.device_id,
                tier={"offline": 0, "server": 1}.get(str(row.scenario).lower(), 2),
                measured_rps=float(row.requests_per_s_per_accelerator),
                compute_precision=cp,
                storage_precision=sp,
                formats=how,
                roofline_rps=roof,
                ratio=ratio,
                efficiency=min(ratio, 1.0),
            )
        )
    return tuple(out)


@dataclass(frozen=True)
class Efficiency:
    """The factor an estimate multiplies its roofline by, and what it was fitted on."""

    value: float  # geometric mean of the chosen rows' efficiencies: never above 1
    n: int
    basis: str  # in words, for the estimate's source
    results: tuple[Any, ...] = ()  # the rows of cat.results it was fitted on

    def __iter__(self):  # ``eff, n = fit_efficiency(...)`` as before
        return iter((self.value, self.n))


def _one_per_device(rows: list[Calibration]) -> list[Calibration]:
    """best_measured's choice per (workload, device): Offline first, then Server, then any; the fastest."""
    best: dict[tuple[str, str], Calibration] = {}
    for c in rows:
        key = (c.workload, c.device_id)
        b = best.get(key)
        if b is None or (c.tier, -c.measured_rps) < (b.tier, -b.measured_rps):
            best[key] = c
    return list(best.values())


def fit_efficiency(
    cat: Catalog,
    workload: str,
    precision: str | None = None,
    *,
    exclude_device: str | None = None,
    exclude_result: Any = None,
) -> Efficiency:
    """The efficiency factor of estimates on ``workload`` at ``precision`` (the workload's by default).

    The geometric mean of measured / roofline (``calibration``: each result against the roofline of the
    formats it ran, never above 1) over one result per measured device, as the model uses one per device:
    the results that ran at the estimate's precision where at least two devices did, else all of them;
    every workload's where this one has none. ``exclude_device`` leaves out all of a device's results (on
    every workload) and ``exclude_result`` one result row: validation's two ways of holding data out.
    """
    workloads = cat.workloads.set_index("id")
    p = precision or (workloads.loc[workload, "precision"] if workload in workloads.index else "bf16")
    pool = [
        c
        for c in calibration(cat)
        if c.device_id != exclude_device and not (exclude_result is not None and c.result == exclude_result)
    ]
    rows = _one_per_device([c for c in pool if c.workload == workload])
    where = f"on {workload}"
    if not rows:
        rows = _one_per_device(pool)
        where = f"on the other workloads ({workload} has none)"
    if not rows:
        return Efficiency(0.3, 0, "no measured result: a default of 0.3")  # pragma: no cover
    same = [c for c in rows if _precision_bytes(c.compute_precision) == _precision_bytes(p)]
    if len({c.device_id for c in same}) >= 2:
        used, formats, notes = same, f"run in {_bits(p)} formats", []
    else:
        used = rows
        ran = sorted({_bits(c.compute_precision) for c in rows})
        formats = f"run in {' and '.join(ran)} formats"
        notes = [] if ran == [_bits(p)] else [f"fewer than 2 devices measured in {_bits(p)}"]
    capped = sum(c.ratio > 1 for c in used)
    if capped:
        notes.append(f"{capped} above their ceiling counted at 1")
    value = float(np.exp(np.mean([math.log(c.efficiency) for c in used])))
    basis = f"{len(used)} measured result{'s' if len(used) != 1 else ''} {where}, {formats}" + (
        f" ({'; '.join(notes)})" if notes else ""
    )
    return Efficiency(min(value, 1.0), len(used), basis, tuple(c.result for c in used))


@dataclass(frozen=True)
class Estimate:
    """An estimated throughput and the ceilings it stays under."""

    rps: float  # requests/s per device: the roofline x efficiency, never above either ceiling
    compute_rps: float  # compute ceiling (NaN where no peak is published)
    memory_rps: float  # memory ceiling (inf where the working set stays on chip; NaN with no bandwidth)
    efficiency: Efficiency
    compute_precision: str
    storage_precision: str


def roofline_estimate(
    dev: pd.Series,
    w: pd.Series,
    efficiency: Efficiency,
    compute_precision: str | None = None,
    storage_precision: str | None = None,
) -> Estimate:
    """The estimate of a device on a workload from a fitted efficiency: min(compute ceiling, memory
    ceiling) at the precision it runs x the efficiency, which is never above 1."""
    cp, sp = compute_precision or w.precision, storage_precision or w.precision
    compute, memory = ceilings(dev, w, cp, sp)
    rps = _roofline(compute, memory) * min(efficiency.value, 1.0)
    return Estimate(float(rps), float(compute), float(memory), efficiency, cp, sp)


def estimate_throughput(
    cat: Catalog,
    workload: str,
    device_id: str,
    *,
    compute_precision: str | None = None,
    storage_precision: str | None = None,
    exclude_device: str | None = None,
    exclude_result: Any = None,
) -> Estimate:
    """The model's throughput estimate of one device on one workload: what a device without its own
    measurement gets (``build_device_table``), and what validation compares with each held-out result.

    ``exclude_device`` / ``exclude_result`` hold data out of the efficiency fit (``fit_efficiency``).
    """
    workloads = cat.workloads.set_index("id")
    if workload not in workloads.index:
        raise ScenarioError("workload", workload, "allowed: " + ", ".join(sorted(workloads.index)))
    devices = cat.devices.set_index("id")
    if device_id not in devices.index:
        raise ModelError(f"the catalog has no device {device_id!r}")
    w = workloads.loc[workload]
    eff = fit_efficiency(
        cat, workload, compute_precision, exclude_device=exclude_device, exclude_result=exclude_result
    )
    return roofline_estimate(devices.loc[device_id], w, eff, compute_precision, storage_precision)


def _cheapest_cloud(cat: Catalog, market: str) -> pd.DataFrame:
    c = cat.cloud_prices
    if c.empty:
        return c
    # A visitor's own prices (explorer.uploads labels them in `upload_label`) count in every market and come
    # first: a device with an uploaded cloud offer is costed at its cheapest uploaded offer.
    mine = c.upload_label.map(_is_label) if "upload_label" in c.columns else pd.Series(False, index=c.index)
    if market == "major-clouds":
        in_market = c.provider.isin(MAJOR_CLOUDS) | mine
        c, mine = c[in_market], mine[in_market]
    if mine.any():
        c = c[mine | ~c.device_id.isin(c.device_id[mine])]
    return c.sort_values("price_usd_per_chip_hour").groupby("device_id", as_index=False).first()


def _is_label(x: Any) -> bool:
    return isinstance(x, str) and bool(x)


def _upload_label(frame: pd.DataFrame, device_id: str) -> str | None:
    """The source of an uploaded price ("your upload, <file> ..."), or None for the catalog's own."""
    if "upload_label" not in frame.columns:
        return None
    label = frame.loc[device_id, "upload_label"]
    return label if _is_label(label) else None


@per_catalog(maxsize=64)
def _device_table(cat: Catalog, workload: str, market: str) -> DeviceTable:
    return build_device_table(cat, workload, market)


# -- power at every boundary: device, server wall (average and provisioned), facility ------------------

#: Server classes, each with its own wall-power model (``power_class``; catalog/assumptions/servers.toml).
POWER_CLASSES = {
    "baseboard": "8-way baseboard server (SXM/OAM modules)",
    "accelerator-host": "TPU/Trainium/Inferentia host (several chips per host)",
    "pcie": "PCIe server (cards sharing a host)",
    "edge-board": "edge board (the device is the computer)",
    "edge-addin": "edge add-in accelerator with its host computer",
}


def power_class(segment: str, form_factor: str | None) -> str:
    """The server class a device is deployed in, from its catalog segment and form factor.

    Edge parts on M.2/USB/HAT need a host computer (add-in); other edge parts are the computer (an SoC
    or module). In the data centre, SXM/OAM modules sit on 8-way baseboards, PCIe cards in PCIe servers,
    and chips sold only inside a cloud's own servers (TPU, Trainium, Inferentia) in their hosts.
    """
    ff = (form_factor or "").lower()
    if segment == "edge":
        return "edge-addin" if any(k in ff for k in ("m.2", "usb", " hat")) else "edge-board"
    head = ff.split(";")[0]
    if "sxm" in head or "oam" in head:
        return "baseboard"
    if "pcie" in head or "pci express" in head:
        return "pcie"
    return "accelerator-host"


@dataclass(frozen=True)
class WallPower:
    """Per-device power at the server wall for one workload (arrays over devices); see `wall_power`."""

    wall_ratio: np.ndarray
    wall_w: np.ndarray
    host_w: np.ndarray
    provisioned_w: np.ndarray
    power_class: np.ndarray
    power_estimated: np.ndarray
    wall_source: list[str]


def class_wall_w(
    cat: Catalog, dev: Any, devices_per_server: float | None = None
) -> tuple[float, float, float]:
    """(load-scaled wall W, constant host W, provisioned W) per device from its server class alone.

    At full load a device's server draws ``load-scaled + host`` watts per device on average (energy),
    and is provisioned for the third figure (rated: racks and circuits). ``devices_per_server`` sets the
    cards sharing a PCIe host (default: the catalog's ``pcie_devices_per_server``); nan where the device
    has no power figure and no reference server.
    """
    cls = power_class(dev.segment, getattr(dev, "form_factor", None))
    p = float(dev.power_w) if pd.notna(dev.power_w) else math.nan
    has_server = pd.notna(dev.server_power_w) and bool(dev.server_devices)
    per_server = dev.server_power_w / dev.server_devices if has_server else math.nan
    if math.isnan(p):
        # no device figure, but the reference system's (e.g. a Mac mini for the M4's Neural Engine)
        return per_server, 0.0, per_server
    if cls in ("baseboard", "accelerator-host"):
        scaled, host = p * _assumption(cat, "wall_ratio_baseboard"), 0.0
        if has_server and dev.server_power_basis == "rated":
            prov = per_server
        elif cls == "baseboard":
            prov = p * _assumption(cat, "host_power_ratio")
        else:
            prov = p * _assumption(cat, "cloud_host_power_ratio")
    elif cls == "pcie":
        n = devices_per_server or _assumption(cat, "pcie_devices_per_server")
        scaled, host = p, _assumption(cat, "pcie_host_power_w") / n
        prov = p + host * _assumption(cat, "provisioned_headroom_ratio")
    elif cls == "edge-addin":
        scaled, host = p, _assumption(cat, "edge_host_power_w")
        prov = p + _assumption(cat, "edge_host_rated_w")
    else:  # edge-board: the device's own board figure is the computer's
        scaled, host, prov = p, 0.0, p
    return scaled, host, max(prov, scaled + host)


def _measured_joules(cat: Catalog, workload: str) -> dict[str, tuple[float, str]]:
    """Measured wall energy per request per device on `workload` (MLPerf Power rows, server boundary)."""
    r = cat.results
    if r.empty or "power_w" not in r:
        return {}
    rows = r[
        (r.workload == workload)
        & r.comparable
        & r.power_w.notna()
        & (r.power_boundary == "server")
        & (r.requests_per_s_per_accelerator > 0)
    ]
    out: dict[str, tuple[float, str]] = {}
    for row in rows.itertuples():
        j = row.power_w / (row.accelerators * row.requests_per_s_per_accelerator)
        if row.device_id not in out or j < out[row.device_id][0]:  # the most efficient run measured
            out[row.device_id] = (
                j,
                f"measured: {row.benchmark} {row.scenario}, {row.system}, {row.power_w:,.0f} W at the wall "
                f"({j:.3g} J per request; {row.source_title}, retrieved {row.retrieved})",
            )
    return out


def wall_power(cat: Catalog, d: pd.DataFrame, workload: str, rps: np.ndarray) -> WallPower:
    """Wall power per device: measured energy per request where the catalog has an MLPerf Power result
    for the device on this workload (times the modelled throughput, capped at the provisioned power),
    else the server-class model (`class_wall_w`)."""
    n = len(d)
    ratio, scaled, host, prov = (np.full(n, np.nan) for _ in range(4))
    classes = np.empty(n, dtype=object)
    estimated = np.zeros(n, bool)
    sources: list[str] = []
    measured = _measured_joules(cat, workload)
    for i, dev in enumerate(d.itertuples()):
        classes[i] = power_class(dev.segment, dev.form_factor)
        estimated[i] = bool(dev.power_estimated)
        scaled[i], host[i], prov[i] = class_wall_w(cat, dev)
        ratio[i] = (scaled[i] / dev.power_w) if pd.notna(dev.power_w) and dev.power_w > 0 else np.nan
        if dev.id in measured and rps[i] > 0 and np.isfinite(prov[i]):
            j, text = measured[dev.id]
            scaled[i], host[i] = min(j * rps[i], prov[i]), 0.0
            sources.append(text)
        elif np.isfinite(scaled[i]):
            sources.append(
                f"modelled: {POWER_CLASSES[classes[i]]}, {scaled[i] + host[i]:,.0f} W per device at full "
                f"load, "
                f"{prov[i]:,.0f} W provisioned (catalog assumptions/servers)"
            )
        else:
            sources.append("no published power figure")
    return WallPower(ratio, scaled, host, prov, classes, estimated, sources)


def device_table(cat: Catalog, workload: str, market: str = "major-clouds") -> DeviceTable:
    """The per-workload device table, cached per catalog, workload and cloud market."""
    return _device_table(cat, workload, market)


def build_device_table(cat: Catalog, workload: str, market: str = "major-clouds") -> DeviceTable:
    workloads = cat.workloads.set_index("id")
    if workload not in workloads.index:
        raise ScenarioError("workload", workload, "allowed: " + ", ".join(sorted(workloads.index)))
    w = workloads.loc[workload]
    d = cat.devices.sort_values("id").reset_index(drop=True)
    n = len(d)
    eff = fit_efficiency(cat, workload)
    measured = (
        best_measured(cat, workload).set_index("device_id") if not cat.results.empty else pd.DataFrame()
    )

    rps = np.full(n, np.nan)
    rps_measured = np.zeros(n, bool)
    rps_source: list[str] = []
    replica = np.ones(n)
    fits = np.ones(n, bool)
    fit_reason: list[str] = []
    weights_gb = w.parameters * _precision_bytes(w.precision) / 1e9
    for i, dev in d.iterrows():
        has_measured = dev.id in measured.index
        if has_measured:
            m = measured.loc[dev.id]
            rps[i] = m.requests_per_s_per_accelerator
            rps_measured[i] = True
            rps_source.append(
                f"measured: {m.benchmark}, {m.scenario}, {m.system} ({m.source_title}, "
                f"retrieved {m.retrieved})"
            )
        else:
            rps[i] = roofline_estimate(dev, w, eff).rps
            traffic = dram_traffic_mb(dev, w)
            if fits_on_chip(dev, w):
                on_chip = " (weights and activations fit on chip: compute bound)"
            elif pd.notna(dev.memory_bandwidth_gbps) and traffic < w.memory_traffic_mb_per_request:
                on_chip = (
                    f" (activations of {on_chip_batch(dev, w)} requests fit on chip: "
                    f"{traffic:,.1f} MB of weights per request from DRAM)"
                )
            else:
                on_chip = ""
            rps_source.append(
                f"estimated: roofline from peak compute and memory bandwidth at {w.precision}{on_chip} x "
                f"efficiency {eff.value:.2f} fitted on {eff.basis}"
            )
        reason = ""
        if pd.notna(dev.memory_gb) and dev.memory_gb > 0:
            replica[i] = max(1, math.ceil(weights_gb / (dev.memory_gb * MEMORY_HEADROOM)))
        elif not has_measured:
            fits[i] = False
            reason = (
                f"no published memory to hold the model's {weights_gb:,.2f} GB of weights, and no "
                f"measured result on {w['name']}"
            )
        if replica[i] > MAX_REPLICA_DEVICES:
            fits[i] = False
            reason = (
                f"the model's {weights_gb:,.1f} GB of weights need {int(replica[i])} devices of "
                f"{dev.memory_gb:g} GB per copy"
            )
        if fits[i] and not (rps[i] > 0):
            fits[i] = False
            reason = "no measured result, and no compute or bandwidth figure to estimate one"
        fit_reason.append(reason)

    wall = wall_power(cat, d, workload, rps)

    cheapest = (
        _cheapest_cloud(cat, market).set_index("device_id") if not cat.cloud_prices.empty else pd.DataFrame()
    )
    purchase = cat.purchase_prices.set_index("device_id") if not cat.purchase_prices.empty else pd.DataFrame()
    cloud_price = np.array(
        [cheapest.loc[i, "price_usd_per_chip_hour"] if i in cheapest.index else np.nan for i in d.id]
    )
    cloud_chips = np.array([cheapest.loc[i, "chips"] if i in cheapest.index else 1 for i in d.id], float)
    cloud_offer = [
        _upload_label(cheapest, i)
        or f"{cheapest.loc[i, 'provider']} {cheapest.loc[i, 'instance']} ({cheapest.loc[i, 'region']}, "
        f"as of {cheapest.loc[i, 'as_of']})"
        if i in cheapest.index
        else ""
        for i in d.id
    ]
    purchase_usd = np.array([purchase.loc[i, "price_usd"] if i in purchase.index else np.nan for i in d.id])
    purchase_offer = [
        _upload_label(purchase, i)
        or (
            ("estimate" if purchase.loc[i, "estimate"] else "published")
            + f": {purchase.loc[i, 'source_title']} (as of {purchase.loc[i, 'as_of']})"
        )
        if i in purchase.index
        else ""
        for i in d.id
    ]
    power_source = []
    for dev in d.itertuples():
        prov = cat.source_of("devices", dev.id, "power")
        # a figure is absent only where the catalog says why (a reason string); an empty cell is NaN,
        # which is truthy, and once made every device's power "unpublished"
        absent = prov is not None and isinstance(prov.get("absent"), str) and bool(prov["absent"])
        if prov is None or absent or not pd.notna(dev.power_w):
            power_source.append("no published power figure")
        else:
            kind = "estimate" if prov["estimate"] else f"{dev.power_basis} {dev.power_boundary} power"
            power_source.append(f"{kind}: {prov['source_title']} (retrieved {prov['retrieved']})")

    fw = cat.frameworks.set_index(["device_id", "framework"])
    support = np.zeros((n, len(FRAMEWORKS)), int)
    via: list[list[str | None]] = []
    for i, dev_id in enumerate(d.id):
        row_via = []
        for j, f in enumerate(FRAMEWORKS):
            rec = fw.loc[(dev_id, f)]
            support[i, j] = SUPPORT_ORDER.index(rec.support)
            row_via.append(rec.via if isinstance(rec.via, str) else None)
        via.append(row_via)

    cloud_ok, bare_ok, edge_ok = np.zeros(n, bool), np.zeros(n, bool), np.zeros(n, bool)
    cloud_why, bare_why, edge_why = [], [], []
    for i, dev in d.iterrows():
        # cloud: offered by a cloud, with a price in the catalog
        if not dev.cloud_available:
            cloud_why.append("not offered by any cloud" + (f": {dev.cloud_note}" if dev.cloud_note else ""))
        elif np.isnan(cloud_price[i]):
            cloud_why.append(
                "offered in the cloud, but the catalog has no on-demand price for it"
                + (
                    " from a major cloud (try cloud prices from any provider)"
                    if market == "major-clouds" and (cat.cloud_prices.device_id == dev.id).any()
                    else ""
                )
            )
        else:
            cloud_ok[i] = True
            cloud_why.append("")
        # bare metal: can be bought, is a data-centre part, has a purchase price
        if not dev.bare_metal_available:
            bare_why.append("cannot be bought" + (f": {dev.bare_metal_note}" if dev.bare_metal_note else ""))
        elif dev.segment != "datacenter":
            bare_why.append("an edge part, not a data-centre server device")
        elif np.isnan(purchase_usd[i]):
            bare_why.append("the catalog has no purchase price for it")
        else:
            bare_ok[i] = True
            bare_why.append("")
        # edge: an edge device with a purchase price
        if not dev.edge_available:
            edge_why.append("not an edge device" + (f": {dev.edge_note}" if dev.edge_note else ""))
        elif np.isnan(purchase_usd[i]):
            edge_why.append("the catalog has no purchase price for it")
        else:
            edge_ok[i] = True
            edge_why.append("")

    bf16 = d.peak_bf16_tflops.astype(float).to_numpy()
    return DeviceTable(
        ids=d.id.to_numpy(),
        names=d.name.to_numpy(),
        vendors=d.vendor.to_numpy(),
        kinds=d.kind.to_numpy(),
        segments=d.segment.to_numpy(),
        is_gpu=(d.kind == "gpu").to_numpy(),
        rps=rps,
        rps_measured=rps_measured,
        rps_source=rps_source,
        replica=replica,
        fits=fits,
        fit_reason=fit_reason,
        power_w=d.power_w.astype(float).to_numpy(),
        wall_ratio=wall.wall_ratio,
        wall_w=wall.wall_w,
        host_w=wall.host_w,
        provisioned_w=wall.provisioned_w,
        power_class=wall.power_class,
        power_estimated=wall.power_estimated,
        wall_source=wall.wall_source,
        bf16_tflops=bf16,
        cloud_price=cloud_price,
        cloud_chips=cloud_chips,
        cloud_offer=cloud_offer,
        purchase_usd=purchase_usd,
        purchase_offer=purchase_offer,
        power_source=power_source,
        support=support,
        support_via=via,
        cloud_ok=cloud_ok,
        bare_ok=bare_ok,
        edge_ok=edge_ok,
        cloud_why=cloud_why,
        bare_why=bare_why,
        edge_why=edge_why,
        bare_vendor_count=d.bare_metal_vendor_count.to_numpy(),
        cloud_providers=list(d.cloud_providers),
        efficiency=eff.value,
        efficiency_n=eff.n,
        workload=w.to_dict() | {"id": workload},
    )


# -- assumptions and resolved inputs --------------------------------------------------------------------


def _assumption(cat: Catalog, key: str) -> float:
    for doc in cat.documents.get("assumptions", {}).values():
        rec = doc.get(key)
        if isinstance(rec, dict) and "value" in rec:
            return convert(float(rec["value"]), rec["unit"], ASSUMPTIONS[key])
    raise ModelError(f"catalog/assumptions has no {key!r} ({ASSUMPTIONS[key]}); the model needs it")


@dataclass(frozen=True)
class Inputs:
    """A scenario with every catalog-derived value resolved, and where each came from."""

    scenario: Scenario
    electricity_usd_per_kwh: float
    grid_gco2_per_kwh: float
    pue: float
    engineer_day_usd: float
    porting_days: np.ndarray  # by support level
    update_share: np.ndarray  # by support level
    idle_ratio: float
    host_cost_ratio: float
    lifetime_years: float
    training_mfu: float
    origin: dict[str, str]


PUE_BY_DEPLOYMENT = {"cloud": "hyperscale", "bare-metal": "enterprise", "edge": None}


_DEFAULT_VOLUME = Scenario().requests_per_day


def volume_free(s: Scenario) -> Scenario:
    """`s` at the default request volume: the cache key of what a request-volume change leaves as is."""
    return replace(s, requests_per_day=_DEFAULT_VOLUME, current_device=None)  # nor the baseline


def resolve(cat: Catalog, s: Scenario) -> Inputs:
    """`s` with every catalog-derived value resolved (cached: a volume change resolves nothing anew)."""
    x = _resolved(cat, volume_free(s))
    return x if x.scenario == s else replace(x, scenario=s)


@per_catalog(maxsize=32)
def _resolved(cat: Catalog, s: Scenario) -> Inputs:
    regions = cat.regions.set_index("id")
    if s.region not in regions.index:
        raise ScenarioError("region", s.region, "allowed: " + ", ".join(sorted(regions.index)))
    region = regions.loc[s.region]
    origin = {}
    price = s.electricity_usd_per_kwh
    if price is None:
        price = float(region.electricity_usd_per_kwh)
        origin["electricity_usd_per_kwh"] = f"region {s.region}: {region.electricity_source}"
    carbon = s.grid_gco2_per_kwh
    if carbon is None:
        carbon = float(region.grid_gco2_per_kwh)
        origin["grid_gco2_per_kwh"] = f"region {s.region}: {region.grid_source}"
    pue = s.pue
    if pue is None:
        pue_id = PUE_BY_DEPLOYMENT[s.deployment]
        if pue_id is None:
            pue = 1.0
            origin["pue"] = "edge: devices on site, no data-centre cooling overhead counted"
        else:
            table = cat.pue.set_index("id")
            if pue_id not in table.index:
                raise ModelError(f"catalog/pue has no {pue_id!r} default")
            pue = float(table.loc[pue_id, "pue"])
            origin["pue"] = f"catalog pue/{pue_id}: {table.loc[pue_id, 'source_title']}"
    eng = s.engineer_day_usd
    if eng is None:
        eng = _assumption(cat, "engineer_day_usd")
        origin["engineer_day_usd"] = "catalog assumptions/engineering (estimate; see its method)"
    return Inputs(
        scenario=s,
        electricity_usd_per_kwh=float(price),
        grid_gco2_per_kwh=float(carbon),
        pue=float(pue),
        engineer_day_usd=float(eng),
        porting_days=np.array([_assumption(cat, f"porting_days_{lvl}") for lvl in SUPPORT_ORDER]),
        update_share=np.array([_assumption(cat, f"update_share_{lvl}") for lvl in SUPPORT_ORDER]),
        idle_ratio=_assumption(cat, "idle_power_ratio"),
        host_cost_ratio=_assumption(cat, "host_cost_ratio"),
        lifetime_years=_assumption(cat, "hardware_lifetime_years"),
        training_mfu=_assumption(cat, "training_mfu"),
        origin=origin,
    )


# -- the vectorised core --------------------------------------------------------------------------------


def _ceil_to(x: np.ndarray, step: np.ndarray) -> np.ndarray:
    return np.ceil(np.maximum(x, 1e-12) / step - 1e-9) * step


def _available(t: DeviceTable, deployment: str) -> tuple[np.ndarray, list[str]]:
    ok = {"cloud": t.cloud_ok, "bare-metal": t.bare_ok, "edge": t.edge_ok}[deployment]
    why = {"cloud": t.cloud_why, "bare-metal": t.bare_why, "edge": t.edge_why}[deployment]
    avail = ok & t.fits
    reasons = [w or f for w, f in zip(why, t.fit_reason, strict=True)]
    if deployment == "edge":
        one = t.replica <= 1
        reasons = [
            r or ("" if o else f"the model needs {int(n)} devices per copy; an edge site runs one")
            for r, o, n in zip(reasons, one, t.replica, strict=True)
        ]
        avail &= one
    return avail, [("" if a else r) for a, r in zip(avail, reasons, strict=True)]


def _per_device_cost_rates(t: DeviceTable, x: Inputs, deployment: str) -> tuple[np.ndarray, np.ndarray]:
    """(hardware cost per device over the horizon, electricity-paying flag) for each device."""
    h = x.scenario.horizon_years
    if deployment == "cloud":
        return t.cloud_price * HOURS_PER_YEAR * h, np.zeros(len(t.ids), bool)
    buys = np.ceil(h / np.asarray(x.lifetime_years) - 1e-9)
    host = x.host_cost_ratio if deployment == "bare-metal" else 0.0
    return t.purchase_usd * (1 + host) * buys, np.ones(len(t.ids), bool)


@dataclass(frozen=True)
class Core:
    """Arrays of shape (..., devices) for a grid of volumes and change rates; see `core`."""

    devices: np.ndarray
    train_devices: np.ndarray
    train_device_index: int
    avg_load: np.ndarray
    device_power_kw: np.ndarray
    wall_power_kw: np.ndarray
    provisioned_power_kw: np.ndarray
    facility_power_kw: np.ndarray
    energy_kwh_year: np.ndarray
    energy_cost_year: np.ndarray
    hardware_cost: np.ndarray
    capex: np.ndarray
    opex_month: np.ndarray
    porting_initial: np.ndarray
    porting_updates: np.ndarray
    porting_cost: np.ndarray
    tco: np.ndarray
    available: np.ndarray
    reasons: list[str]


def core(
    t: DeviceTable,
    x: Inputs,
    requests_per_day: np.ndarray | float,
    model_changes_per_year: np.ndarray | float,
    train_gpu: int | None = None,
) -> Core:
    """The whole model for every device, broadcast over arrays of volumes and change rates.

    ``requests_per_day`` and ``model_changes_per_year`` broadcast against each other; the result arrays
    have their shape plus a trailing device axis. For the uncertainty analysis the device table's arrays
    and the inputs' assumptions may carry a leading draws axis too (``explorer.uncertainty``); then
    ``train_gpu`` fixes the training GPU to the nominal one.
    """
    s = x.scenario
    rpd = np.asarray(requests_per_day, float)[..., None]
    changes = np.asarray(model_changes_per_year, float)[..., None]
    rpd, changes = np.broadcast_arrays(rpd, changes)
    deployment = s.deployment
    avail, reasons = _available(t, deployment)
    h = s.horizon_years
    u = s.utilization

    rps = np.where(t.rps > 0, t.rps, np.nan)
    avg_rps = rpd / SECONDS_PER_DAY
    peak_rps = avg_rps * s.peak_to_average
    step = (
        np.lcm(t.replica.astype(int), t.cloud_chips.astype(int)).astype(float)
        if deployment == "cloud"
        else t.replica
    )
    if deployment == "edge":
        # Every site has its own device(s), sized for its share of the peak.
        sites = float(s.edge_sites)
        n_inf = sites * _ceil_to(peak_rps / sites / (rps * u), step)
    else:
        n_inf = _ceil_to(peak_rps / (rps * u), step)
    busy_inf = avg_rps / rps  # devices' worth of work on average

    # Training: the training share of all compute, in FLOP/s, on GPUs.
    share = s.training_share
    flops_inf = avg_rps * t.workload["compute_gflop_per_request"] * 1e9
    train_flops = flops_inf * share / (1 - share) if share > 0 else np.zeros_like(flops_inf)
    eff_train = np.where(t.is_gpu, t.bf16_tflops * 1e12 * x.training_mfu, np.nan)
    hw_cost_dev, pays_power = _per_device_cost_rates(t, x, deployment)

    # Where training runs for accelerator options (and for every option at the edge): the GPU with the
    # lowest cost per unit of training compute, in the cloud for edge deployments.
    train_deploy = "cloud" if deployment == "edge" else deployment
    train_ok = t.is_gpu & {"cloud": t.cloud_ok, "bare-metal": t.bare_ok}[train_deploy] & (t.bf16_tflops > 0)
    train_cost_dev, _ = _per_device_cost_rates(t, x, train_deploy)
    per_flop = np.where(train_ok, train_cost_dev / eff_train, np.inf)
    per_flop = per_flop.reshape(-1, per_flop.shape[-1])[0]  # with draws: the nominal pick is in train_gpu
    if train_gpu is not None:
        g = train_gpu
    else:
        g = int(np.argmin(per_flop)) if np.isfinite(per_flop).any() else -1
    gs = slice(g, g + 1)  # keeps the device axis, so draws broadcast

    if share > 0 and g >= 0:
        n_train_sep = _ceil_to(train_flops[..., 0:1] / (eff_train[..., gs] * u), np.array([1.0]))
    else:
        n_train_sep = np.zeros((*rpd.shape[:-1], 1))
    pooled = t.is_gpu & (deployment != "edge")
    busy_train_own = np.where(pooled, train_flops / eff_train, 0.0)
    n_pooled = np.maximum(n_inf, _ceil_to((busy_inf + busy_train_own) / u, step))
    devices = np.where(pooled & (share > 0), n_pooled, n_inf)
    separate_train = np.where(pooled, 0.0, n_train_sep) if share > 0 else np.zeros_like(devices)

    with np.errstate(divide="ignore", invalid="ignore"):  # unavailable devices carry nan, never a count of 0
        avg_load = np.clip((busy_inf + np.where(pooled, busy_train_own, 0.0)) / devices, 0, 1)
    load_factor = x.idle_ratio + (1 - x.idle_ratio) * avg_load  # average draw / rated draw
    pue = x.pue
    dev_kw = devices * t.power_w * load_factor / 1e3  # nan where the device's power is unpublished
    # at the server wall: the load-scaled draw plus each device's share of its host (average: energy),
    # and the rated draw the racks and circuits must be provisioned for
    wall_kw = devices * (t.wall_w * load_factor + t.host_w) / 1e3
    provisioned_kw = devices * t.provisioned_w / 1e3
    fac_kw = wall_kw * pue
    # The separate training fleet runs flat out at the target utilisation.
    if g >= 0:
        train_wall_w = t.wall_w[..., gs] * (x.idle_ratio + (1 - x.idle_ratio) * u) + t.host_w[..., gs]
        train_pue = pue if deployment != "edge" else _hyperscale_pue_fallback(x)
        train_fac_kw = separate_train * train_wall_w / 1e3 * train_pue
        train_fac_kw = np.nan_to_num(train_fac_kw)
        provisioned_kw = provisioned_kw + np.nan_to_num(separate_train * t.provisioned_w[..., gs] / 1e3)
    else:
        train_fac_kw = np.zeros_like(devices)
    fac_kw_all = fac_kw + train_fac_kw
    energy_kwh = fac_kw_all * HOURS_PER_YEAR
    elec_price = x.electricity_usd_per_kwh
    # Unknown power (nan) is not counted as cost; the option says its energy is unknown.
    energy_cost = np.where(pays_power, np.nan_to_num(fac_kw) * HOURS_PER_YEAR * elec_price, 0.0)
    if deployment == "bare-metal" and g >= 0:
        energy_cost = energy_cost + train_fac_kw * HOURS_PER_YEAR * elec_price

    hardware = devices * hw_cost_dev + (separate_train * train_cost_dev[..., gs] if g >= 0 else 0.0)

    # Porting: engineer-days per framework by support level, weighted by the mix.
    mix = np.array([getattr(s.framework_mix, f) for f in FRAMEWORKS])
    port = np.take(x.porting_days, t.support, axis=-1)  # (..., devices, frameworks)
    days = (port * mix).sum(axis=-1)
    update_days = (port * np.take(x.update_share, t.support, axis=-1) * mix).sum(axis=-1)
    porting_initial = np.broadcast_to(days * x.engineer_day_usd, devices.shape)
    porting_updates = update_days * x.engineer_day_usd * changes * h
    porting = porting_initial + porting_updates

    tco = hardware + energy_cost * h + porting
    if deployment == "cloud":
        capex = np.zeros_like(tco)
        opex_month = hardware / (h * 12)
    else:
        buys = np.ceil(h / np.asarray(x.lifetime_years) - 1e-9)
        capex = hardware / buys  # the first purchase; replacements fall at each lifetime
        opex_month = energy_cost / 12
    tco = np.where(avail, tco, np.nan)
    return Core(
        devices=devices,
        train_devices=separate_train,
        train_device_index=g,
        avg_load=avg_load,
        device_power_kw=dev_kw,
        wall_power_kw=wall_kw,
        provisioned_power_kw=provisioned_kw,
        facility_power_kw=fac_kw_all,
        energy_kwh_year=energy_kwh,
        energy_cost_year=energy_cost,
        hardware_cost=hardware,
        capex=capex,
        opex_month=opex_month,
        porting_initial=porting_initial,
        porting_updates=porting_updates,
        porting_cost=porting,
        tco=tco,
        available=np.broadcast_to(avail, tco.shape),
        reasons=reasons,
    )


def _hyperscale_pue_fallback(x: Inputs) -> float:
    return max(x.pue, 1.1)


def best_by_kind(c: Core, is_gpu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the cheapest available GPU and accelerator along the device axis (-1 where none)."""

    def pick(mask: np.ndarray) -> np.ndarray:
        tco = np.where(mask, c.tco, np.nan)
        none = np.all(np.isnan(tco), axis=-1)
        idx = np.nanargmin(np.where(none[..., None], 0.0, tco), axis=-1)
        return np.where(none, -1, idx)

    return pick(is_gpu), pick(~is_gpu)


# -- one evaluation -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    device_id: str
    name: str
    vendor: str
    kind: str
    segment: str
    available: bool
    unavailable_reason: str | None
    throughput_per_device_rps: float | None
    throughput_source: str
    throughput_measured: bool
    devices_needed: int | None
    training_devices: int
    training_device_id: str | None
    device_power_kw: float | None
    wall_power_kw: float | None  # average, at the server wall (energy)
    provisioned_power_kw: float | None  # rated, at the server wall (racks and circuits)
    facility_power_kw: float | None
    energy_kwh_per_year: float | None
    energy_cost_usd_per_year: float | None
    hardware_cost_usd: float | None
    porting_cost_usd: float | None
    porting_initial_usd: float | None
    porting_updates_usd: float | None
    tco_usd: float | None
    cost_per_million_requests_usd: float | None
    requests_per_joule: float | None
    co2_tonnes_per_year: float | None
    break_even_month: int | None
    plan: str
    framework_support: dict[str, str]
    cloud_offer: str
    price_source: str  # the price used: cloud offer or purchase price, with its source and date
    power_w: float | None  # rated device power, as the catalog gives it
    power_source: str
    wall_power_source: str  # measured energy per request, or the server-class model
    energy_known: bool  # False where no source gives the device's power: energy, CO2 not counted

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Recommendation:
    plan: str  # "gpu" | "accelerator" | "hybrid"
    device_id: str
    name: str
    kind: str
    reasons: list[str]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Baseline:
    """The fleet the team runs now (``Scenario.current_device``), costed as one of the options: same
    prices, same scenario. ``tco_usd`` and ``savings_usd`` are None where it cannot serve the scenario."""

    device_id: str
    name: str
    available: bool
    unavailable_reason: str | None
    devices_needed: int | None
    tco_usd: float | None
    savings_usd: float | None  # the baseline's total minus the recommendation's (>= 0: it is the cheapest)

    @property
    def savings_share(self) -> float | None:
        """The savings as a share of the baseline's total."""
        if self.savings_usd is None or not self.tco_usd:
            return None
        return self.savings_usd / self.tco_usd

    def to_dict(self) -> dict[str, Any]:
        return {
            "device_id": self.device_id,
            "tco_usd": self.tco_usd,
            "savings_usd": self.savings_usd,
            "available": self.available,
            "unavailable_reason": self.unavailable_reason,
        }


@dataclass(frozen=True)
class EvaluationResult:
    scenario: Scenario
    inputs: Inputs
    options: list[Option]  # ranked: available by total cost, then unavailable
    recommendation: Recommendation | None
    best_gpu: str | None
    best_accelerator: str | None
    crossover_requests_per_day: float | None
    crossover_note: str
    timeline: pd.DataFrame  # long form: month, device_id, cumulative_usd (available options)
    break_even_month: int | None
    sweep: Sweep | None = field(default=None, repr=False)
    baseline: Baseline | None = None  # the fleet run now, where the scenario names one

    @property
    def volume_curve(self) -> pd.DataFrame:
        """Long form: requests_per_day, series (best GPU / best accelerator), device_id, tco_usd.

        Shared by the evaluations that share a sweep (a request-volume change keeps it): read-only.
        """
        if self.sweep is None:
            return pd.DataFrame(columns=["requests_per_day", "series", "device_id", "tco_usd"])
        return self.sweep.curve

    def option(self, device_id: str) -> Option:
        return next(o for o in self.options if o.device_id == device_id)

    def options_frame(self) -> pd.DataFrame:
        return pd.DataFrame([o.to_dict() for o in self.options])

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario.to_dict(),
            "assumptions": {
                "electricity_usd_per_kwh": self.inputs.electricity_usd_per_kwh,
                "grid_gco2_per_kwh": self.inputs.grid_gco2_per_kwh,
                "pue": self.inputs.pue,
                "engineer_day_usd": self.inputs.engineer_day_usd,
                "from_catalog": self.inputs.origin,
            },
            "recommendation": self.recommendation.to_dict() if self.recommendation else None,
            "baseline": self.baseline.to_dict() if self.baseline else None,
            "options": [o.to_dict() for o in self.options],
            "best_gpu": self.best_gpu,
            "best_accelerator": self.best_accelerator,
            "break_even_month": self.break_even_month,
            "crossover_requests_per_day": self.crossover_requests_per_day,
            "crossover_note": self.crossover_note,
        }


def _f(x: Any) -> float | None:
    if x is None:
        return None
    v = float(x)
    return v if math.isfinite(v) else None


def _timeline(c: Core, x: Inputs, idx: np.ndarray) -> np.ndarray:
    """Cumulative cost per month (months 0..12h) for the device indices given: shape (months, len(idx))."""
    h = x.scenario.horizon_years
    months = np.arange(0, round(12 * h) + 1)
    capex = c.capex[idx]
    buys = math.ceil(h / x.lifetime_years - 1e-9) if x.scenario.deployment != "cloud" else 0
    cum = np.zeros((len(months), len(idx)))
    monthly = c.opex_month[idx] + c.porting_updates[idx] / (12 * h)
    for k, m in enumerate(months):
        purchases = sum(1 for b in range(buys) if m >= b * x.lifetime_years * 12) if buys else 0
        cum[k] = c.porting_initial[idx] + capex * purchases + monthly * m
    return cum


def stays_below_from(a: np.ndarray, b: np.ndarray) -> int | None:
    """The first month from which cumulative cost `a` stays below `b` to the horizon (None: it ends above)."""
    below = a < b
    if below.size == 0 or not below[-1]:
        return None
    above = np.flatnonzero(~below)
    return int(above[-1] + 1) if above.size else 0


def evaluate(scenario: Scenario, cat: Catalog | None = None, *, crossover: bool = True) -> EvaluationResult:
    """Evaluate a scenario over every device in the catalog."""
    cat = cat if cat is not None else load_catalog()
    t = device_table(cat, scenario.workload, scenario.cloud_market)
    if scenario.current_device is not None and scenario.current_device not in set(t.ids):
        allowed = "allowed: " + ", ".join(sorted(map(str, t.ids))) + ", or empty for none"
        raise ScenarioError("current_device", scenario.current_device, allowed)
    x = resolve(cat, scenario)
    c = core(t, x, scenario.requests_per_day, scenario.model_changes_per_year)
    s = scenario
    gi, ai = (int(v) for v in best_by_kind(c, t.is_gpu))
    total_requests = s.requests_per_day * 365.25 * s.horizon_years

    avail_idx = np.flatnonzero(c.available)
    cum = _timeline(c, x, avail_idx)
    months = np.arange(cum.shape[0])
    timeline = pd.DataFrame(
        {
            "month": np.repeat(months, len(avail_idx)),
            "device_id": np.tile(t.ids[avail_idx], len(months)),
            "kind": np.tile(t.kinds[avail_idx], len(months)),
            "cumulative_usd": cum.ravel(),
        }
    )
    break_even = None
    if gi >= 0 and ai >= 0:
        cg = cum[:, list(avail_idx).index(gi)]
        ca = cum[:, list(avail_idx).index(ai)]
        break_even = stays_below_from(ca, cg)

    options = []
    for i in range(len(t.ids)):
        ok = bool(c.available[i])
        be = None
        # Against the best device of the other kind: from which month this one stays cheaper.
        if ok and ((gi >= 0 and not t.is_gpu[i]) or (ai >= 0 and t.is_gpu[i])):
            rival = gi if not t.is_gpu[i] else ai
            be = stays_below_from(cum[:, list(avail_idx).index(i)], cum[:, list(avail_idx).index(rival)])
        energy_j = c.energy_kwh_year[i] * 3.6e6
        plan = "gpu" if t.is_gpu[i] else ("hybrid" if s.training_share > 0 else "accelerator")
        tg = c.train_device_index
        options.append(
            Option(
                device_id=str(t.ids[i]),
                name=str(t.names[i]),
                vendor=str(t.vendors[i]),
                kind=str(t.kinds[i]),
                segment=str(t.segments[i]),
                available=ok,
                unavailable_reason=None if ok else c.reasons[i],
                throughput_per_device_rps=_f(t.rps[i]),
                throughput_source=t.rps_source[i],
                throughput_measured=bool(t.rps_measured[i]),
                devices_needed=int(c.devices[i]) if ok else None,
                training_devices=int(c.train_devices[i]) if ok else 0,
                training_device_id=str(t.ids[tg]) if ok and c.train_devices[i] > 0 and tg >= 0 else None,
                device_power_kw=_f(c.device_power_kw[i]) if ok else None,
                wall_power_kw=_f(c.wall_power_kw[i]) if ok else None,
                provisioned_power_kw=_f(c.provisioned_power_kw[i]) if ok else None,
                facility_power_kw=_f(c.facility_power_kw[i]) if ok else None,
                energy_kwh_per_year=_f(c.energy_kwh_year[i]) if ok else None,
                energy_cost_usd_per_year=_f(c.energy_cost_year[i]) if ok else None,
                hardware_cost_usd=_f(c.hardware_cost[i]) if ok else None,
                porting_cost_usd=_f(c.porting_cost[i]) if ok else None,
                porting_initial_usd=_f(c.porting_initial[i]) if ok else None,
                porting_updates_usd=_f(c.porting_updates[i]) if ok else None,
                tco_usd=_f(c.tco[i]) if ok else None,
                cost_per_million_requests_usd=_f(c.tco[i] / total_requests * 1e6) if ok else None,
                requests_per_joule=_f(s.requests_per_day * 365.25 / energy_j)
                if ok and energy_j > 0
                else None,
                co2_tonnes_per_year=_f(c.energy_kwh_year[i] * x.grid_gco2_per_kwh / 1e6) if ok else None,
                break_even_month=be,
                plan=plan,
                framework_support={f: SUPPORT_ORDER[t.support[i, j]] for j, f in enumerate(FRAMEWORKS)},
                cloud_offer=t.cloud_offer[i],
                price_source=(t.cloud_offer[i] if s.deployment == "cloud" else t.purchase_offer[i]),
                power_w=_f(t.power_w[i]),
                power_source=t.power_source[i],
                wall_power_source=t.wall_source[i],
                energy_known=bool(np.isfinite(t.wall_w[i])),
            )
        )
    options.sort(key=lambda o: (not o.available, o.tco_usd if o.tco_usd is not None else 0, o.device_id))

    if crossover:
        sweep, cross, cross_note = _volume_sweep(cat, volume_free(s))
    else:
        sweep, cross, cross_note = None, None, "not computed"
    baseline = _baseline(options, s.current_device)
    rec = (
        _recommend(options, t, x, gi, ai, break_even, cross, cross_note, baseline)
        if options and options[0].available
        else None
    )
    return EvaluationResult(
        scenario=s,
        inputs=x,
        options=options,
        recommendation=rec,
        best_gpu=str(t.ids[gi]) if gi >= 0 else None,
        best_accelerator=str(t.ids[ai]) if ai >= 0 else None,
        crossover_requests_per_day=cross,
        crossover_note=cross_note,
        timeline=timeline,
        break_even_month=break_even,
        sweep=sweep,
        baseline=baseline,
    )


def _baseline(options: list[Option], device_id: str | None) -> Baseline | None:
    """The fleet run now, against the cheapest option (``options`` ranked, the cheapest first)."""
    if device_id is None:
        return None
    o = next(o for o in options if o.device_id == device_id)
    best = options[0] if options and options[0].available else None
    ok = o.available and o.tco_usd is not None and best is not None and best.tco_usd is not None
    return Baseline(
        device_id=o.device_id,
        name=o.name,
        available=o.available,
        unavailable_reason=o.unavailable_reason,
        devices_needed=o.devices_needed,
        tco_usd=o.tco_usd,
        # exactly zero when the fleet run now is the recommendation
        savings_usd=(0.0 if o is best else o.tco_usd - best.tco_usd) if ok else None,  # type: ignore[operator]
    )


def _baseline_reason(b: Baseline, deployment: str, horizon: str) -> str:
    """The headline's sentence on the fleet run now."""
    if not b.available or b.savings_usd is None:
        why = f": {b.unavailable_reason.rstrip('.')}" if b.unavailable_reason else ""
        return f"Your current {b.name} fleet cannot serve this scenario ({deployment} deployment){why}."
    if b.savings_usd <= 0:
        return f"It is the fleet you run now ({b.name}): staying on it is the cheapest option over {horizon}."
    return (
        f"Against the fleet you run now: {usd(b.savings_usd)} ({fmt.percent(b.savings_share)}) less over "
        f"{horizon} than your {b.name} fleet ({fmt.plural(b.devices_needed, 'device')}, {usd(b.tco_usd)} "
        "on the same prices and scenario)."
    )


@per_catalog(maxsize=32)
def _volume_sweep(cat: Catalog, s: Scenario) -> tuple[Sweep, float | None, str]:
    """The volume sweep and the crossover for `s` (cached: neither depends on the scenario's own request
    volume, so a request-volume slider reuses them)."""
    t = device_table(cat, s.workload, s.cloud_market)
    x = resolve(cat, s)
    sweep = sweep_volumes(t, x, VOLUME_GRID)
    return (sweep, *crossover_volume(t, x, sweep))


def volume_grid(points: int) -> np.ndarray:
    """`points` request volumes, evenly spaced on a log scale over the field's bounds (100 to 500 B a day)."""
    lo, hi = FIELD_SPECS["requests_per_day"].bounds or (1.0, 1.0)
    return np.logspace(math.log10(lo), math.log10(hi), max(points, 2))


def breakeven_grid(points: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """The break-even map's axes over the fields' bounds: request volumes (log) and model changes per year
    (linear), `points` of each; for `breakeven_map`."""
    lo, hi = FIELD_SPECS["model_changes_per_year"].bounds or (0.0, 0.0)
    return volume_grid(points), np.linspace(lo, hi, max(points, 2))


VOLUME_GRID = volume_grid(241)  # 0.03 decades apart
FINE_POINTS = 64  # refinement inside the bracketing grid step: 0.6 % resolution


@dataclass(frozen=True)
class Sweep:
    """The cheapest GPU and accelerator at each request volume of a grid."""

    volumes: np.ndarray
    gpu_tco: np.ndarray
    acc_tco: np.ndarray
    gpu_idx: np.ndarray
    acc_idx: np.ndarray
    device_ids: np.ndarray = field(repr=False)

    @property
    def acc_wins(self) -> np.ndarray:
        return self.acc_tco < self.gpu_tco

    @cached_property
    def curve(self) -> pd.DataFrame:
        """Long form: requests_per_day, series (best GPU / best accelerator), device_id, tco_usd.

        Built once per sweep; evaluations that share a sweep share this frame (treat it as read-only).
        """
        ids = self.device_ids
        parts = [
            pd.DataFrame(
                {
                    "requests_per_day": self.volumes,
                    "series": label,
                    "device_id": np.where(idx >= 0, ids[np.maximum(idx, 0)], None),
                    "tco_usd": tco,
                }
            )
            for label, idx, tco in (
                ("best GPU", self.gpu_idx, self.gpu_tco),
                ("best accelerator", self.acc_idx, self.acc_tco),
            )
        ]
        return pd.concat(parts, ignore_index=True).dropna(subset=["tco_usd"])


def sweep_volumes(t: DeviceTable, x: Inputs, volumes: np.ndarray) -> Sweep:
    c = core(t, x, volumes, x.scenario.model_changes_per_year)
    gi, ai = best_by_kind(c, t.is_gpu)
    rows = np.arange(len(volumes))
    tg = np.where(gi >= 0, c.tco[rows, np.maximum(gi, 0)], np.nan)
    ta = np.where(ai >= 0, c.tco[rows, np.maximum(ai, 0)], np.nan)
    return Sweep(np.asarray(volumes, float), tg, ta, gi, ai, t.ids)


def crossover_volume(t: DeviceTable, x: Inputs, coarse: Sweep | None = None) -> tuple[float | None, str]:
    """The request volume above which the best accelerator's total cost stays below the best GPU's.

    Two vectorised passes: a coarse log grid over the whole range, then a fine grid inside the last grid
    step where a GPU still wins.
    """
    coarse = coarse if coarse is not None else sweep_volumes(t, x, VOLUME_GRID)
    tg, ta, acc_wins = coarse.gpu_tco, coarse.acc_tco, coarse.acc_wins
    if np.all(np.isnan(tg)):
        return None, "no GPU is available for this deployment"
    if np.all(np.isnan(ta)):
        return None, "no accelerator is available for this deployment"
    if acc_wins.all():
        lowest = fmt.requests_per_day(VOLUME_GRID[0])
        return float(VOLUME_GRID[0]), f"an accelerator is cheaper at every volume from {lowest}"
    if not acc_wins[-1]:
        if not acc_wins.any():
            return None, f"a GPU is cheaper at every volume up to {fmt.requests_per_day(VOLUME_GRID[-1])}"
        # the two cross more than once (whole devices and instances make the totals steps): say where
        # the accelerator wins rather than name one volume above which it always would
        won = coarse.volumes[acc_wins]
        return None, (
            f"no lasting crossover: the best accelerator is cheaper only at some volumes between "
            f"{fmt.volume(won.min())} and {fmt.volume(won.max())} requests/day, and a GPU is cheaper "
            "at the highest volumes"
        )
    last_gpu = int(np.flatnonzero(~acc_wins)[-1])
    fine = np.logspace(math.log10(VOLUME_GRID[last_gpu]), math.log10(VOLUME_GRID[last_gpu + 1]), FINE_POINTS)
    fine_wins = sweep_volumes(t, x, fine).acc_wins
    gpu_at = np.flatnonzero(~fine_wins)
    cross = fine[gpu_at[-1] + 1] if gpu_at.size and gpu_at[-1] + 1 < len(fine) else fine[-1]
    if not gpu_at.size:
        cross = fine[0]
    return float(cross), "above this volume the best accelerator is cheaper than the best GPU"


def breakeven_map(
    scenario: Scenario, volumes: np.ndarray, changes: np.ndarray, cat: Catalog | None = None
) -> pd.DataFrame:
    """Over request volume x model changes per year: the cheapest GPU's and accelerator's totals (long)."""
    cat = cat if cat is not None else load_catalog()
    t = device_table(cat, scenario.workload, scenario.cloud_market)
    x = resolve(cat, scenario)
    vv, cc = np.meshgrid(np.asarray(volumes, float), np.asarray(changes, float), indexing="ij")
    c = core(t, x, vv, cc)
    gi, ai = best_by_kind(c, t.is_gpu)
    tco_g = np.take_along_axis(c.tco, np.maximum(gi, 0)[..., None], -1)[..., 0]
    tco_a = np.take_along_axis(c.tco, np.maximum(ai, 0)[..., None], -1)[..., 0]
    tco_g = np.where(gi >= 0, tco_g, np.nan)
    tco_a = np.where(ai >= 0, tco_a, np.nan)
    winner = np.where(np.isnan(tco_a) | (tco_g <= tco_a), "gpu", "accelerator")
    winner = np.where(np.isnan(tco_g) & ~np.isnan(tco_a), "accelerator", winner)
    return pd.DataFrame(
        {
            "requests_per_day": vv.ravel(),
            "model_changes_per_year": cc.ravel(),
            "best_gpu": np.where(gi >= 0, t.ids[np.maximum(gi, 0)], None).ravel(),
            "best_accelerator": np.where(ai >= 0, t.ids[np.maximum(ai, 0)], None).ravel(),
            "gpu_tco_usd": tco_g.ravel(),
            "accelerator_tco_usd": tco_a.ravel(),
            "winner": winner.ravel(),
        }
    )


# -- reasons ---------------------------------------------------------------------------------------------


# money and request volumes in human units (kept here under their old names; explorer.fmt has them all)
usd = fmt.usd
volume = fmt.volume


def _recommend(
    options: list[Option],
    t: DeviceTable,
    x: Inputs,
    gi: int,
    ai: int,
    break_even: int | None,
    cross: float | None,
    cross_note: str,
    baseline: Baseline | None = None,
) -> Recommendation:
    s = x.scenario
    best = options[0]
    i = list(t.ids).index(best.device_id)
    rival_idx = ai if t.is_gpu[i] else gi
    rival = next((o for o in options if rival_idx >= 0 and o.device_id == t.ids[rival_idx]), None)
    reasons = []
    h = f"{s.horizon_years:g} years"
    if rival is not None and rival.tco_usd and best.tco_usd is not None:
        saving = rival.tco_usd - best.tco_usd
        kind = "GPU" if rival.kind == "gpu" else "accelerator"
        reasons.append(
            f"Lowest total cost over {h}: {usd(best.tco_usd)}, {usd(saving)} "
            f"({saving / rival.tco_usd:.0%}) below the best {kind}, {rival.name} "
            f"({usd(rival.tco_usd)})."
        )
    else:
        reasons.append(
            f"Lowest total cost over {h}: {usd(best.tco_usd)}; no "
            f"{'accelerator' if t.is_gpu[i] else 'GPU'} is available for a {s.deployment} deployment."
        )
    if baseline is not None:
        reasons.append(_baseline_reason(baseline, s.deployment, h))
    peak = s.requests_per_day / SECONDS_PER_DAY * s.peak_to_average
    how = "measured" if best.throughput_measured else "estimated"
    reasons.append(
        f"Carries the peak of {volume(peak)} requests/s with {fmt.plural(best.devices_needed, 'device')} "
        f"at {s.utilization:.0%} target utilisation ({how}: "
        f"{fmt.requests_per_s(best.throughput_per_device_rps)} per device); "
        f"{fmt.usd_per_million(best.cost_per_million_requests_usd)}."
    )
    for o in (best, rival):  # a visitor's own price says so where the answer rests on it
        if o is not None and o.price_source.startswith("your upload"):
            reasons.append(f"{o.name} is priced with {o.price_source}.")
    mix = s.framework_mix.as_dict()
    non_native = [
        f"{FRAMEWORK_LABELS[f]} ({best.framework_support[f]}"
        + (f" via {t.support_via[i][FRAMEWORKS.index(f)]}" if t.support_via[i][FRAMEWORKS.index(f)] else "")
        + ")"
        for f, share in mix.items()
        if share > 0 and best.framework_support[f] != "native"
    ]
    reasons.append(_porting_reason(best, non_native, s.model_changes_per_year))
    if not t.is_gpu[i] and rival is not None:
        reasons.append(fmt.payback(break_even, rival.name))
    if cross is not None:
        reasons.append(f"Crossover at {volume(cross)} requests/day: {cross_note}.")
    else:
        lead = "" if cross_note.startswith("no ") else "No crossover: "
        reasons.append(f"{lead}{cross_note[0].upper() if not lead else cross_note[0]}{cross_note[1:]}.")
    if t.is_gpu[i]:
        native = [FRAMEWORK_LABELS[f] for f in FRAMEWORKS if best.framework_support[f] == "native"]
        vendors = int(t.bare_vendor_count[i])
        clouds = len(t.cloud_providers[i])
        reasons.append(
            f"Keeps options open: {len(native)} of {len(FRAMEWORKS)} frameworks run natively "
            f"({', '.join(native)}); sold by "
            f"{vendors} server vendor{'s' if vendors != 1 else ''} and rented in {clouds} "
            f"cloud{'s' if clouds != 1 else ''}."
        )
    else:
        where = (
            f"only in {', '.join(t.cloud_providers[i])}"
            if s.deployment == "cloud"
            else f"from {fmt.plural(int(t.bare_vendor_count[i]), 'vendor')}"
        )
        reasons.append(
            f"Locks in {best.vendor}'s toolchain, available {where}; every model change goes through "
            "its compiler."
        )
    if s.training_share > 0 and not t.is_gpu[i] and best.training_device_id:
        trainer = str(t.names[list(t.ids).index(best.training_device_id)])
        reasons.append(
            f"Hybrid: training ({s.training_share:.0%} of compute) runs on "
            f"{fmt.count(best.training_devices)} {trainer} GPU{'' if best.training_devices == 1 else 's'}, "
            f"inference on {best.name}."
        )
    plan = "gpu" if t.is_gpu[i] else ("hybrid" if s.training_share > 0 else "accelerator")
    return Recommendation(
        plan=plan, device_id=best.device_id, name=best.name, kind=best.kind, reasons=reasons
    )


def _porting_reason(best: Option, non_native: list[str], changes_per_year: float) -> str:
    """What porting costs the recommended option, in words that match the figure.

    Native support still costs re-validation on the device (up front and at every model change): with
    frequent model changes and a small fleet that can be a large share of the total, so the reason says
    the amount and its share rather than "no porting".
    """
    total = best.porting_cost_usd or 0.0
    if total <= 0:
        return "No porting: it runs your framework mix natively, with nothing to re-validate."
    share = f" ({fmt.percent(total / best.tco_usd)} of the total)" if best.tco_usd else ""
    updates = (
        f"{usd(best.porting_updates_usd)} for {changes_per_year:g} model change"
        f"{'' if changes_per_year == 1 else 's'} a year"
        if changes_per_year > 0
        else "nothing more while the model stays frozen"
    )
    if non_native:
        return (
            f"Porting costs {usd(total)}{share}: {usd(best.porting_initial_usd)} up front for "
            f"{', '.join(non_native)}, and {updates}."
        )
    return (
        f"No code to port (your framework mix runs natively), but re-validating models on it costs "
        f"{usd(total)}{share}: {usd(best.porting_initial_usd)} up front and {updates}."
    )

"""Calibration: measured results against the roofline of what they ran, the efficiency factor fitted on
them (never above 1 against the right-precision roofline), and the throughput estimate built from it."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from ..catalog import Catalog
from ..scenario import unknown_workload
from .assumptions import ModelError, fixed_step_s_per_layer, pcie_link, sequence_s_per_layer
from .cache import per_catalog
from .request import precision_bytes
from .roofline import ceilings, roofline_rps, stated_precision
from .serving import Architecture, PcieLink, Target
from .serving_catalog import memory_efficiency_of, row_capacity
from .siblings import sibling_cap


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


def narrower_formats(dev: pd.Series, precision: str) -> list[str]:
    """The formats narrower than ``precision`` the device publishes a peak for, widest first.

    16-bit where it has a BF16 peak, then 8-bit (FP8 where the catalog has that peak, else INT8). No 4-bit
    peak is catalogued, so no run is taken to compute in fewer than 8 bits unless its source says so.
    """
    width = precision_bytes(precision)
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
    return f"{precision_bytes(precision) * 8:g}-bit"


def run_formats(dev: pd.Series, w: pd.Series, row: Any) -> tuple[str, str, str]:
    """(compute format, storage format, how it is known) of a measured result row.

    What the source states comes first. Where it states nothing, the workload's serving precision is
    assumed, unless the measurement is above the device's ceiling at that precision: then the run must
    have used a narrower format (MLPerf's closed division lets submitters quantize), and it is compared
    with the widest format the device publishes a peak for whose roofline holds the measurement (the
    narrowest one if none does). The factor fitted on it then measures the software, not a precision gap.
    """
    cp = stated_precision(getattr(row, "compute_precision", None))
    sp = stated_precision(getattr(row, "storage_precision", None))
    if sp and not cp and Architecture.of(w) is not None:  # an LLM's weights in 8 or 4 bits: so its maths
        return sp, sp, "stated by the source (the weights' format; the maths run in it where the device can)"
    if cp or sp:
        return cp or w.precision, sp or w.precision, "stated by the source"
    measured = float(row.requests_per_s_per_accelerator)
    if not measured > roofline_rps(dev, w):
        return w.precision, w.precision, "not stated: the workload's"
    candidates = narrower_formats(dev, w.precision)
    for f in candidates:
        if roofline_rps(dev, w, f, f) >= measured:
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
    # the same without the stack's per-sequence time (``sequence_s_per_layer``), which only some devices'
    # records have: what the pool every unmeasured device's efficiency comes from takes (``fit_efficiency``)
    pooled_ratio: float
    pooled: float


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
    out, link = [], pcie_link(cat)
    for row in r.itertuples():
        if row.device_id not in devices.index or row.workload not in workloads.index:
            continue
        dev, w = devices.loc[row.device_id], workloads.loc[row.workload]
        cp, sp, how = run_formats(dev, w, row)
        bounds = Target.measured(getattr(row, "tpot_limit_ms", None), getattr(row, "ttft_limit_ms", None))
        # an LLM's: its capacity as served (the stack's fixed step and per-sequence times too), under its
        # latency bounds
        fixed, per_seq = fixed_step_s_per_layer(cat, row.device_id), sequence_s_per_layer(cat, row.device_id)
        roof = roofline_rps(dev, w, cp, sp, bounds, fixed, per_seq, link)
        if not roof > 0:
            continue
        ratio = float(row.requests_per_s_per_accelerator) / roof
        # the pool's: the fixed step alone, as every other device's record has it
        pooled = (
            ratio
            if not per_seq > 0
            else float(row.requests_per_s_per_accelerator)
            / roofline_rps(dev, w, cp, sp, bounds, fixed, pcie=link)
        )
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
                pooled_ratio=pooled,
                pooled=min(pooled, 1.0),
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


def efficiency_workload(workloads: pd.DataFrame, workload: str) -> str:
    """The workload whose measured results fit `workload`'s efficiency: its own, or for your model the
    nearest catalog workload its row names (``efficiency_from``; explorer.model.custom)."""
    if "efficiency_from" in workloads.columns and workload in workloads.index:
        near = workloads.loc[workload, "efficiency_from"]
        if isinstance(near, str) and near:
            return near
    return workload


#: Devices of one vendor (one software stack: TensorRT-LLM, ROCm, XLA, Neuron ...) that must be measured on
#: a workload before a device of that vendor is estimated from them alone (``fit_efficiency``). With one,
#: a vendor factor cannot tell the software stack from that one device (Google's two TPUs on SDXL would
#: each be fitted on the other alone); with two or more it stands for the stack.
VENDOR_MIN_DEVICES = 2


def fit_efficiency(
    cat: Catalog,
    workload: str,
    precision: str | None = None,
    *,
    device_id: str | None = None,
    exclude_device: str | None = None,
    exclude_result: Any = None,
) -> Efficiency:
    """The efficiency factor of estimates on ``workload`` at ``precision`` (the workload's by default).

    The geometric mean of measured / roofline (``calibration``: each result against the roofline of the
    formats it ran, never above 1) over one result per measured device, as the model uses one per device:
    for ``device_id``, the results of its vendor's devices (their software stack) where at least
    ``VENDOR_MIN_DEVICES`` are measured, else every vendor's; of those, the results that ran at the
    estimate's precision where at least two devices did, else all of them; every workload's where this
    one has none. ``exclude_device`` leaves out all of a device's results (on every workload) and
    ``exclude_result`` one result row: validation's two ways of holding data out.
    """
    workloads = cat.workloads.set_index("id")
    p = precision or (workloads.loc[workload, "precision"] if workload in workloads.index else "bf16")
    pool = [
        c
        for c in calibration(cat)
        if c.device_id != exclude_device and not (exclude_result is not None and c.result == exclude_result)
    ]
    # your model (explorer.model.custom) has no results: its row names the nearest catalog workload
    basis_id = efficiency_workload(workloads, workload)
    rows = [c for c in pool if c.workload == basis_id]
    where = f"on {basis_id}" + (", the nearest catalog workload to yours" if basis_id != workload else "")
    if not rows:
        rows = pool
        where = f"on the other workloads ({workload} has none)"
    if not rows:
        return Efficiency(0.3, 0, "no measured result: a default of 0.3")  # pragma: no cover
    vendors = dict(zip(cat.devices.id, cat.devices.vendor, strict=True))
    vendor = vendors.get(device_id) if device_id is not None else None
    if vendor is not None:
        own = [c for c in rows if vendors.get(c.device_id) == vendor]
        n_own = len({c.device_id for c in own})
        if n_own >= VENDOR_MIN_DEVICES:
            rows = own
            where += f", its vendor's ({vendor}'s) {n_own} measured devices: their software stack"
    # each device's result at the estimate's precision where at least two devices ran in it (a device's
    # fastest run is often in a narrower format, whose roofline its software reaches less of)
    same = [c for c in rows if precision_bytes(c.compute_precision) == precision_bytes(p)]
    if len({c.device_id for c in same}) >= 2:
        used, formats, notes = _one_per_device(same), f"run in {_bits(p)} formats", []
    else:
        used = _one_per_device(rows)
        ran = sorted({_bits(c.compute_precision) for c in used})
        formats = f"run in {' and '.join(ran)} formats"
        notes = [] if ran == [_bits(p)] else [f"fewer than 2 devices measured in {_bits(p)}"]
    capped = sum(c.pooled_ratio > 1 for c in used)
    if capped:
        notes.append(f"{capped} above their ceiling counted at 1")
    value = float(np.exp(np.mean([math.log(c.pooled) for c in used])))
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
    memory_efficiency: float | None = None,
    fixed_step_s_per_layer: float = 0.0,
    pcie: PcieLink | None = None,
) -> Estimate:
    """The estimate of a device on a workload from a fitted efficiency: min(compute ceiling, memory
    ceiling) at the precision it runs x the efficiency, which is never above 1. An LLM's is its serving
    capacity (``serving_catalog.row_capacity``) with its maths at the efficiency and its decode reads at
    ``memory_efficiency`` (``decode_memory_efficiency``; None: the same efficiency), its decode steps taking
    the serving stack's ``fixed_step_s_per_layer`` (``assumptions.fixed_step_s_per_layer``); no stack's
    per-sequence time, which goes with a device's own measurements (``serving_catalog.serve``); a copy past
    its scale-up domain pays its all-reduces over PCIe (``pcie``)."""
    cp, sp = compute_precision or w.precision, storage_precision or w.precision
    compute, memory = ceilings(dev, w, cp, sp)
    e = min(efficiency.value, 1.0)
    served = row_capacity(
        dev,
        w,
        cp,
        sp,
        efficiency=e,
        memory_efficiency=memory_efficiency,
        fixed_step_s_per_layer=fixed_step_s_per_layer,
        pcie=pcie,
    )
    if served is not None:
        rps = float(served.rps[0]) if served.rps[0] > 0 else math.nan
    else:
        rps = roofline_rps(dev, w, cp, sp) * e
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
        raise unknown_workload(workload, workloads.index)
    devices = cat.devices.set_index("id")
    if device_id not in devices.index:
        raise ModelError(f"the catalog has no device {device_id!r}")
    w = workloads.loc[workload]
    if compute_precision is None and storage_precision and Architecture.of(w) is not None:
        compute_precision = storage_precision  # an LLM's maths run in its weights' format (``run_formats``)
    eff = fit_efficiency(
        cat,
        workload,
        compute_precision,
        device_id=device_id,
        exclude_device=exclude_device,
        exclude_result=exclude_result,
    )
    # the Offline capacity (no latency bound): its decode reads at the efficiency, as the fit read the runs
    est = roofline_estimate(
        devices.loc[device_id],
        w,
        eff,
        compute_precision,
        storage_precision,
        None,
        fixed_step_s_per_layer(cat, device_id),
        pcie_link(cat),
    )
    held = {"exclude_device": exclude_device, "exclude_result": exclude_result}
    rps, _ = held_estimate(cat, w, device_id, est, measured_runs(cat, workload), **held)
    return replace(est, rps=rps)


def held_estimate(
    cat: Catalog, w: pd.Series, device_id: str, est: Estimate, runs: dict[str, Any], **held: Any
) -> tuple[float, str]:
    """(an estimate's requests/s held at its measured siblings, the words where one holds it): for a
    workload whose request is the one measured (``siblings.sibling_cap``, over ``runs``:
    ``measured_runs``); an LLM's as it is (the serving model holds its figures:
    ``siblings.held_at_siblings``). The one rule for the model's table and for validation."""
    if Architecture.of(w) is not None or not est.rps > 0:
        return est.rps, ""
    formats = (est.compute_precision, est.storage_precision)
    return sibling_cap(cat, runs, device_id, est.rps, formats, **held)


def measured_runs(cat: Catalog, workload: str, fmt: str | None = None) -> dict[str, Any]:
    """Each measured device's calibration row (``calibration``) on ``workload``: best_measured's choice,
    Offline first, then Server, then any; the fastest. With ``fmt``, a run whose maths and weights were
    both in that format comes first (a request in FP8 reads the device's FP8 run, not its FP4 one)."""

    def key(c: Calibration) -> tuple:
        other = fmt is not None and (c.compute_precision, c.storage_precision) != (fmt, fmt)
        return (other, c.tier, -c.measured_rps)

    chosen: dict[str, Any] = {}
    for c in calibration(cat):
        b = chosen.get(c.device_id)
        if c.workload == workload and (b is None or key(c) < key(b)):
            chosen[c.device_id] = c
    return chosen


def latency_bound_results(cat: Catalog, workload: str) -> pd.DataFrame | None:
    """``workload``'s MLPerf results measured under latency bounds (Server, Interactive), or None where the
    catalog records no bound. They are kept out of the Offline fit (comparable = false) for their scenario
    alone: for the read efficiency and the latency knots their scenario is the point."""
    r = cat.results
    if r.empty or "tpot_limit_ms" not in r.columns:
        return None
    r = r[(r.workload == workload) & r.requests_per_s_per_accelerator.notna() & r.tpot_limit_ms.notna()]
    return r[r.benchmark.astype(str).str.startswith("MLPerf")]


@per_catalog(maxsize=16)
def tightest_bounds(cat: Catalog, workload: str) -> dict[str, float]:
    """Per device, the tokens/s per user of its tightest latency-bound result on ``workload`` (MLPerf
    Server, Interactive): how far its own measurements reach towards an interactive request."""
    r = latency_bound_results(cat, workload)
    out: dict[str, float] = {}
    for row in [] if r is None else r.itertuples():
        t = Target.measured(row.tpot_limit_ms, getattr(row, "ttft_limit_ms", None))
        if t is not None and math.isfinite(t.tpot_s):
            out[row.device_id] = max(out.get(row.device_id, 0.0), 1.0 / t.tpot_s)
    return out


@per_catalog(maxsize=16)
def decode_memory_efficiency(
    cat: Catalog, workload: str, compute_efficiency: float, exclude_device: str | None = None
) -> tuple[float | None, dict[str, float]]:
    """The decode-read efficiency of an LLM, fitted on its results measured under latency bounds (MLPerf
    Server and Interactive: small batches, where reading the weights and KV cache sets the pace): per
    device, the efficiency at which the model meets its result with the tightest bound (then the fastest)
    (``serving.memory_efficiency_of``, at most 1), and their geometric mean for the devices without one
    (over the devices whose stacks have no per-sequence time of their own).
    (None, {}) where no such result exists: the decode reads then take the fitted (compute) efficiency.
    ``exclude_device`` leaves a device's results out (validation's device hold-out)."""
    r = latency_bound_results(cat, workload)
    if r is None:
        return None, {}
    r = r[r.device_id != exclude_device]
    r = r.sort_values(["tpot_limit_ms", "requests_per_s_per_accelerator"], ascending=[True, False])
    devices = cat.devices.set_index("id")
    w = cat.workloads.set_index("id").loc[workload]
    if not w.get("input_tokens_per_request", 0) > 0:
        # no sourced prompt length: the prompts' share of a latency bound (their prefill, the
        # first token) cannot be told from the reads', and a fit would charge the reads with both
        return None, {}
    runs = measured_runs(cat, workload)  # a device's maths run at its own measured efficiency
    found: dict[str, float] = {}
    link = pcie_link(cat)
    for row in r.itertuples():
        if row.device_id in found or row.device_id not in devices.index:
            continue
        dev = devices.loc[row.device_id]
        cp, sp, _ = run_formats(dev, w, row)
        target = Target.measured(row.tpot_limit_ms, getattr(row, "ttft_limit_ms", None))
        rps = float(row.requests_per_s_per_accelerator)
        own = runs[row.device_id].efficiency if row.device_id in runs else compute_efficiency
        fixed = fixed_step_s_per_layer(cat, row.device_id)
        per_seq = sequence_s_per_layer(cat, row.device_id)
        e = memory_efficiency_of(dev, w, cp, sp, rps, target, own, fixed, per_seq, link)
        if e == e and e > 0:
            found[row.device_id] = e
    # the devices without one of their own take the mean of those whose stacks have no per-sequence time
    # (``sequence_s_per_layer``): with one, a device's read efficiency no longer carries that time, which
    # the devices taking the mean do not add back
    pooled = [found[k] for k in _pooled(cat, found)]
    if not pooled:
        return None, found
    return float(min(1.0, np.exp(np.mean(np.log(pooled))))), found


def _pooled(cat: Catalog, devices: Any) -> list[str]:
    """The devices whose own read efficiencies make the pooled one: those whose stacks have no per-sequence
    time of their own (``sequence_s_per_layer``)."""
    return [k for k in devices if not sequence_s_per_layer(cat, k) > 0]


@per_catalog(maxsize=16)
def read_fit_speed(cat: Catalog, workload: str, compute_efficiency: float) -> float | None:
    """The tokens/s per user at which the pooled decode-read efficiency (``decode_memory_efficiency``,
    the one an estimate reads at under a bound) was fitted: the geometric mean over the pooled devices of
    the bound each was fitted at (its tightest). None where there is no pooled efficiency."""
    pooled, own = decode_memory_efficiency(cat, workload, compute_efficiency)
    if pooled is None:
        return None
    tight = tightest_bounds(cat, workload)
    speeds = [tight[k] for k in _pooled(cat, own) if k in tight]
    return float(np.exp(np.mean(np.log(speeds)))) if speeds else None


@per_catalog(maxsize=16)
def latency_knots(
    cat: Catalog, workload: str, compute_efficiency: float, span: float | None = None
) -> dict[str, tuple[tuple[float, float], ...]]:
    """Each device with its own latency-bound results (``decode_memory_efficiency``'s): what the serving
    model misses at each of them, as (tokens/s per user the bound allows, measured / the model's capacity
    under that bound), the model reading at the device's own fitted read efficiency and computing at its
    Offline run's efficiency, the fastest result per bound (formats as run). ``serve`` scales a bounded
    request by these: a request at a result's own conditions is served as measured (MLPerf's Server
    result, not the model's reading of it), and one between two bounds by a factor between theirs.
    Sorted by speed; the tightest bound's factor is about 1, where the read efficiency was fitted. With
    ``span``, the model spreads each copy over at most that many devices (as ``serve`` does a copy on a
    smaller instance), so that served so at a result's conditions the device still gives that result."""
    _, own = decode_memory_efficiency(cat, workload, compute_efficiency)
    if not own:
        return {}
    r = latency_bound_results(cat, workload)
    r = r[r.device_id.isin(list(own))]
    devices = cat.devices.set_index("id")
    w = cat.workloads.set_index("id").loc[workload]
    runs, link = measured_runs(cat, workload), pcie_link(cat)
    best: dict[str, dict[float, float]] = {}
    for row in r.itertuples():
        dev = devices.loc[row.device_id]
        cp, sp, _ = run_formats(dev, w, row)
        target = Target.measured(row.tpot_limit_ms, getattr(row, "ttft_limit_ms", None))
        if target is None or not math.isfinite(target.tpot_s):
            continue
        maths = runs[row.device_id].efficiency if row.device_id in runs else compute_efficiency
        c = row_capacity(
            dev,
            w,
            cp,
            sp,
            target=target,
            efficiency=maths,
            memory_efficiency=own[row.device_id],
            fixed_step_s_per_layer=fixed_step_s_per_layer(cat, row.device_id),
            sequence_s_per_layer=sequence_s_per_layer(cat, row.device_id),
            span=span,
            pcie=link,
        )
        model = float(c.rps[0]) if c is not None else math.nan
        if not model > 0:
            continue
        speed = 1.0 / target.tpot_s
        factor = float(row.requests_per_s_per_accelerator) / model
        at = best.setdefault(row.device_id, {})
        at[speed] = max(at.get(speed, 0.0), factor)
    return {k: tuple(sorted(v.items())) for k, v in best.items()}

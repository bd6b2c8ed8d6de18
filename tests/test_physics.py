"""Physical invariants of the throughput model, as properties over the whole catalog (issue 14).

A device without its own measurement gets the roofline at the precision it runs times an efficiency
fitted on the workload's measurements. Whatever the catalog holds, that estimate must stay physical:

* never above the compute ceiling or the memory ceiling at the precision it runs, nor above what the
  device's fastest published peak allows;
* an efficiency factor is never above 1;
* more bandwidth or more compute never lowers an estimate; a bigger model (more compute and traffic per
  request) never raises it;
* a measurement above its own ceiling (a narrower format than stated, sparsity, a wrong figure) never
  lifts another device above its ceilings.

The perturbations are made in copies of the catalog's frames; the estimate is the model's own
(``estimate_throughput``, the device held out of the fit as for a device the catalog never measured).
"""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explorer.calc import build_device_table, estimate_throughput, roofline_estimate, roofline_rps
from explorer.catalog import load_catalog
from explorer.model.assumptions import fixed_step_s_per_layer, pcie_link

CAT = load_catalog()
DEVICES = sorted(CAT.devices.id)
WORKLOADS = sorted(CAT.workloads.id)
DEV = CAT.devices.set_index("id")
WL = CAT.workloads.set_index("id")
PRECISIONS = ("bf16", "fp16", "fp8", "int8")
TOL = 1 + 1e-9
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _fastest_published_ceiling(device_id: str, workload: str) -> float:
    """Requests/s the device's fastest published peak (any format) allows on the workload's compute."""
    d = DEV.loc[device_id]
    peaks = [d[k] for k in ("peak_bf16_tflops", "peak_fp16_tflops", "peak_int8_tops", "peak_fp8_tflops")]
    peaks = [float(p) for p in peaks if p == p and p is not None]
    return max(peaks) * 1e12 / (WL.loc[workload, "compute_gflop_per_request"] * 1e9) if peaks else math.inf


def _ceilings(cat, device_id: str, workload: str, precision: str | None = None) -> tuple[float, float]:
    """(compute, memory) ceilings from the catalog's figures: peak / compute, bandwidth / DRAM traffic."""
    from explorer.calc import ceilings

    d = cat.devices.set_index("id").loc[device_id]
    w = cat.workloads.set_index("id").loc[workload]
    return ceilings(d, w, precision, precision)


def _under(rps: float, compute: float, memory: float) -> bool:
    return all(c != c or rps <= c * TOL for c in (compute, memory))


@pytest.mark.parametrize("workload", WORKLOADS)
def test_no_estimate_in_the_model_is_above_the_devices_ceilings(workload) -> None:
    """What users get: every estimated (not measured) throughput in the device table is at or under the
    roofline at the workload's precision, and under the device's fastest published peak."""
    t = build_device_table(CAT, workload)
    above = []
    for i, device_id in enumerate(t.ids):
        if t.rps_measured[i] or not t.rps[i] > 0:
            continue
        roof = roofline_rps(DEV.loc[device_id], WL.loc[workload])
        fastest = _fastest_published_ceiling(device_id, workload)
        if not (t.rps[i] <= roof * TOL and t.rps[i] <= fastest * TOL):
            above.append(f"{device_id}: {t.rps[i]:.4g} > min({roof:.4g}, {fastest:.4g})")
    assert not above, f"{workload}: estimates above the physics: {above}"


@pytest.mark.parametrize("workload", WORKLOADS)
def test_the_efficiency_factor_is_never_above_one(workload) -> None:
    t = build_device_table(CAT, workload)
    assert 0 < t.efficiency <= 1, f"{workload}: efficiency {t.efficiency:.3f}"


@pytest.mark.slow
@pytest.mark.parametrize("device_id", DEVICES)
def test_every_device_workload_precision_stays_under_its_ceilings(device_id) -> None:
    for workload in WORKLOADS:
        for precision in (None, *PRECISIONS):
            est = estimate_throughput(
                CAT,
                workload,
                device_id,
                compute_precision=precision,
                storage_precision=precision,
                exclude_device=device_id,
            )
            assert est.efficiency.value <= 1
            compute, memory = _ceilings(CAT, device_id, workload, precision)
            assert est.rps != est.rps or _under(est.rps, compute, memory), (device_id, workload, precision)


def _scaled_device(device_id: str, fields: tuple[str, ...], k: float):
    d = CAT.devices.copy()
    at = d.index[d.id == device_id]
    for f in fields:
        d.loc[at, f] = d.loc[at, f] * k
    return dataclasses.replace(CAT, devices=d)


def _held_out(cat, workload: str, device_id: str, precision: str | None = None) -> float:
    return estimate_throughput(
        cat,
        workload,
        device_id,
        compute_precision=precision,
        storage_precision=precision,
        exclude_device=device_id,
    ).rps


@SETTINGS
@given(
    st.sampled_from(DEVICES),
    st.sampled_from(WORKLOADS),
    st.sampled_from((None, *PRECISIONS)),
    st.floats(1.0, 16.0),
)
@pytest.mark.slow
@pytest.mark.parametrize(
    "fields",
    [
        ("memory_bandwidth_gbps",),
        ("peak_bf16_tflops", "peak_fp16_tflops", "peak_int8_tops", "peak_fp8_tflops", "peak_fp4_tflops"),
    ],
    ids=["bandwidth", "compute"],
)
def test_more_bandwidth_or_compute_never_lowers_an_estimate(
    fields, device_id, workload, precision, k
) -> None:
    before = _held_out(CAT, workload, device_id, precision)
    after = _held_out(_scaled_device(device_id, fields, k), workload, device_id, precision)
    assert before != before or after >= before / TOL


@SETTINGS
@given(
    st.sampled_from(DEVICES),
    st.sampled_from(WORKLOADS),
    st.sampled_from((None, *PRECISIONS)),
    st.floats(1.0, 16.0),
)
@pytest.mark.slow
def test_a_bigger_model_never_raises_an_estimate(device_id, workload, precision, k) -> None:
    """More compute, traffic, weights and activations per request at the same fitted efficiency.

    (Not refitted: the catalog's measurements are of the workload as it is. Refitting them against a
    model they did not run can raise a factor by more than k where the bigger model no longer fits other
    devices' on-chip memory, e.g. ResNet-50 x2 on the L4's L2; hypothesis found that.)
    """
    w = CAT.workloads.copy()
    at = w.index[w.id == workload]
    for f in (
        "compute_gflop_per_request",
        "memory_traffic_mb_per_request",
        "parameters",
        "activations_per_request",
        "peak_activations_per_request",
    ):
        w.loc[at, f] = w.loc[at, f] * k
    est = estimate_throughput(
        CAT,
        workload,
        device_id,
        compute_precision=precision,
        storage_precision=precision,
        exclude_device=device_id,
    )
    # an LLM's Offline capacity, its steps taking the stack's fixed time, as estimate_throughput's
    after = roofline_estimate(
        DEV.loc[device_id],
        w.set_index("id").loc[workload],
        est.efficiency,
        precision,
        precision,
        None,
        fixed_step_s_per_layer(CAT, device_id),
        pcie_link(CAT),
    )
    assert est.rps != est.rps or after.rps <= est.rps * TOL


@pytest.mark.slow
@SETTINGS
@given(st.sampled_from(sorted(CAT.results.index[CAT.results.comparable])), st.floats(1.0, 20.0))
def test_a_measurement_above_its_ceiling_lifts_no_other_device_above_its_own(row, k) -> None:
    """Scale one measured result up to 20x (a format the device has no published peak for, a wrong
    figure): every other device's estimate on that workload stays under its ceilings."""
    r = CAT.results.copy()
    r.loc[row, "requests_per_s_per_accelerator"] *= k
    cat = dataclasses.replace(CAT, results=r)
    workload, measured_device = r.loc[row, "workload"], r.loc[row, "device_id"]
    for device_id in DEVICES:
        if device_id == measured_device:
            continue
        est = estimate_throughput(cat, workload, device_id)
        assert est.efficiency.value <= 1
        assert est.rps != est.rps or _under(est.rps, *_ceilings(cat, device_id, workload))


def _at_least(a: str, b: str, fmt: str) -> bool:
    """Device ``a`` has at least ``b``'s peak at ``fmt``, DRAM bandwidth and memory (catalog figures)."""
    from explorer.model.roofline import peak_ops

    x, y = DEV.loc[a], DEV.loc[b]
    pairs = [(peak_ops(x, fmt), peak_ops(y, fmt))]
    pairs += [(float(x[k]), float(y[k])) for k in ("memory_bandwidth_gbps", "memory_gb") if y[k] == y[k]]
    return all(q != q or (p == p and p >= q) for p, q in pairs)


@pytest.mark.slow
@pytest.mark.parametrize("workload", WORKLOADS)
def test_no_estimate_is_above_a_measured_device_of_its_vendor_with_at_least_its_specs(workload) -> None:
    """An estimate (no measurement of its own) never exceeds a device of the same vendor measured in the
    same formats that has at least its peak, bandwidth and memory: MI300X was estimated at 2.64 images/s on
    SDXL beside the MI325X measured at 2.32 (the same compute, more bandwidth and memory). Over every
    workload as the page serves it, an LLM's in each format and as measured, in the cloud and on bare
    metal."""
    from explorer.calc import scenario_device_table
    from explorer.model.calibration import measured_runs
    from explorer.model.serving import Architecture
    from explorer.scenario import Scenario

    llm = Architecture.of(WL.loc[workload]) is not None
    precisions = ("auto", "bf16", "fp8", "fp4") if llm else ("auto",)
    runs = measured_runs(CAT, workload)
    checked = 0
    for precision in precisions:
        for deployment in ("cloud", "bare-metal"):
            t = scenario_device_table(
                CAT, Scenario(workload=workload, precision=precision, deployment=deployment)
            )
            ids = list(t.ids)
            for i, d in enumerate(ids):
                if t.basis(i) != "estimated" or not t.rps[i] > 0:
                    continue
                for j, m in enumerate(ids):
                    if j == i or t.basis(j) == "estimated" or not t.rps[j] > 0:
                        continue
                    if DEV.loc[m, "vendor"] != DEV.loc[d, "vendor"]:
                        continue
                    if t.serving_format[i]:  # an LLM: the formats each is served in
                        same, fmt = (
                            t.serving_format[i] == t.serving_format[j],
                            t.serving_format[i].split(" ")[0],
                        )
                    else:  # the workload's request: the estimate in its formats, the measurement in its run's
                        p = str(WL.loc[workload, "precision"])
                        same = (runs[m].compute_precision, runs[m].storage_precision) == (p, p)
                        fmt = p
                    if same and _at_least(m, d, fmt.lower()):
                        checked += 1
                        assert t.rps[i] <= t.rps[j] * TOL, (
                            workload,
                            precision,
                            deployment,
                            d,
                            t.rps[i],
                            m,
                            t.rps[j],
                        )
    if workload == "sdxl":
        assert checked >= 2  # MI300X beside MI325X, in the cloud and on bare metal: the test can fail


@pytest.mark.parametrize(
    "workload", [w for w in WORKLOADS if WL.loc[w].get("layers") == WL.loc[w].get("layers")]
)
def test_narrower_weights_with_the_same_maths_never_lower_an_estimate(workload) -> None:
    """A device asked for a narrower format than it has a peak for keeps its weights narrow and computes at a
    wider peak (FP4 weights, FP8 maths): the same maths and fewer bytes never serve less than the wider
    format served alike. Until 2026-12-06 such a device took the efficiency fitted on the narrow format's
    runs (FP4, on Blackwell and MI355X, against their FP4 peaks): an H200 asked for FP4 served
    Llama-3.1-8B at 38.6 requests/s against 64.5 in FP8. On bare metal, where a copy's degree is the one
    that serves most per device (the cloud's is the cheapest per request, so a narrower copy may take a
    cheaper, slower instance)."""
    from explorer.calc import scenario_device_table
    from explorer.scenario import Scenario

    checked = 0
    for target in ("batch", "interactive-chat"):
        t = {
            p: scenario_device_table(
                CAT, Scenario(workload=workload, precision=p, deployment="bare-metal", latency_target=target)
            )
            for p in ("bf16", "fp8", "fp4")
        }
        for narrow, wide in (("fp4", "fp8"), ("fp8", "bf16"), ("fp4", "bf16")):
            for k, d in enumerate(t[narrow].ids):
                n, w = t[narrow].serving_format[k], t[wide].serving_format[k]
                if not (t[narrow].rps[k] > 0 and t[wide].rps[k] > 0) or "maths" not in n:
                    continue
                if n.split(", ")[1] != (w.split(", ")[1] if ", " in w else f"{w} maths"):
                    continue
                checked += 1
                assert t[narrow].rps[k] >= t[wide].rps[k] * (1 - 1e-9), (workload, target, d, n, w)
    assert checked > 10

"""The per-workload device table: each device's throughput, placement, power, prices, framework support and
availability on one workload, as arrays over devices (axis -1), built once per catalog, workload and cloud
market from the steps in ``request``, ``roofline``, ``calibration``, ``placement``, ``power`` and ``cost``."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd

from ..catalog import Catalog
from ..scenario import DEPLOYMENTS, ScenarioError, unknown_workload
from .assumptions import fixed_steps_s_per_layer, pcie_link, sequences_s_per_layer
from .cache import per_catalog
from .calibration import (
    Efficiency,
    best_measured,
    decode_memory_efficiency,
    efficiency_workload,
    fit_efficiency,
    held_estimate,
    latency_knots,
    measured_runs,
    read_fit_speed,
    roofline_estimate,
    tightest_bounds,
)
from .copies import copies_needed, copy_spans, host_pcie, take
from .cost import Prices, framework_support, market_offers, offer_name, placed_offers, prices
from .placement import place_copies, where_offered
from .power import power_sources, wall_power
from .pricing import CloudBasis, cloud_bases, provider_discounts
from .request import dram_traffic_mb, fits_on_chip, on_chip_batch
from .serving import FORMAT_BYTES, FORMAT_NAMES, Architecture, peak_used, serving_format
from .serving_catalog import Request, Served, serve
from .siblings import held_at_siblings

#: The deployments whose containers (cloud instances, servers) hold copies of several devices; at the edge
#: a site runs one.
PLACED = tuple(d for d in DEPLOYMENTS if d != "edge")


@dataclass(frozen=True)
class DeviceTable:
    """Arrays over devices (axis -1) for one workload; built once per catalog and workload."""

    ids: np.ndarray
    names: np.ndarray
    vendors: np.ndarray
    kinds: np.ndarray
    segments: np.ndarray
    is_gpu: np.ndarray
    trains: np.ndarray  # bool: trains with the team's frameworks (catalog `trains`, sourced)
    rps: np.ndarray  # requests/s per device (measured or estimated); nan where unknown
    rps_measured: np.ndarray  # bool: the catalog's measurement, as run
    rps_scaled: np.ndarray  # bool: a measurement the serving model scaled to the request
    rps_source: list[str]
    serving_format: list[str]  # an LLM's format as served, in words ("FP4"; "" where none: other workloads)
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
    cloud_price: np.ndarray  # USD per serving chip-hour (the instance's price over the chips its copies use)
    cloud_chips: np.ndarray  # chips of that offer's instance that serve: copies x devices per copy
    cloud_offer: list[str]
    cloud_copies: np.ndarray  # model copies one instance of that offer holds (0 where none holds one)
    #: where a device's model copies live, per deployment (cloud, bare-metal, edge), in words; "" where
    #: it cannot serve there (``explorer.model.placement``)
    placement: dict[str, list[str]]
    interconnect: list[str]  # the device's scale-up interconnect in words ("" where none catalogued)
    server_devices: np.ndarray  # devices one bare-metal server holds (placement.server_size)
    server_max: np.ndarray  # the most devices a bare-metal copy spans (placement.largest_server)
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
    #: The offer and its price on every pricing basis (Scenario.cloud_pricing), per device (pricing.py).
    cloud_bases: dict[str, CloudBasis] = field(default_factory=dict, repr=False)

    def basis(self, i: int) -> str:
        """What device ``i``'s throughput rests on: "measured" (as run), "scaled" (a measurement the serving
        model carried to the request) or "estimated"."""
        return "measured" if self.rps_measured[i] else "scaled" if self.rps_scaled[i] else "estimated"

    def take(self, idx: Any) -> DeviceTable:
        """The table of the devices at positions ``idx`` (in that order): every per-device field taken
        along the device axis, the workload and the fitted efficiency as they are. The model computes each
        device from its own row (``fleet.core``; the training device is passed by position), so a taken
        table's results are the full table's at those positions (tests/test_uncertainty.py)."""
        idx = np.asarray(idx, dtype=int)
        n = len(self.ids)
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, np.ndarray) and v.ndim >= 1 and v.shape[0] == n:
                out[f.name] = v[idx]
            elif isinstance(v, list) and len(v) == n:
                out[f.name] = [v[i] for i in idx]
            elif f.name == "placement":
                out[f.name] = {k: [w[i] for i in idx] for k, w in v.items()}
            elif f.name == "cloud_bases":
                out[f.name] = {k: b.take(idx) for k, b in v.items()}
            else:
                out[f.name] = v
        return DeviceTable(**out)


def device_table(cat: Catalog, workload: str, market: str = "major-clouds") -> DeviceTable:
    """The per-workload device table, cached per catalog, workload and cloud market."""
    return cached_device_table(cat, workload, market)


@per_catalog(maxsize=64)
def cached_device_table(cat: Catalog, workload: str, market: str) -> DeviceTable:
    return build_device_table(cat, workload, market)


def throughputs(
    cat: Catalog,
    d: pd.DataFrame,
    w: pd.Series,
    effs: dict[str, Efficiency],
    measured: pd.DataFrame,
    memory_efficiency: float | None = None,
    fixed_step_s_per_layer: np.ndarray | float = 0.0,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(requests/s per device, whether it is measured, where it comes from) for each device (rows of ``d``):
    the measured result where ``measured`` (``best_measured``, by device) has one, else the roofline x the
    efficiency fitted for it (``effs``, by device: ``fit_efficiency`` with its vendor's devices); an LLM's
    decode reads at ``memory_efficiency`` (``decode_memory_efficiency``) and its steps taking the stack's
    ``fixed_step_s_per_layer`` (one for all, or one per row of ``d``), as ``estimate_throughput``: an
    estimate adds no stack's per-sequence time (``sequence_s_per_layer``), which goes with a device's own
    measurements; its efficiency, fitted on other devices' runs, carries their stacks' per-sequence work."""
    n = len(d)
    fixed = np.broadcast_to(np.asarray(fixed_step_s_per_layer, float), (n,))
    rps = np.full(n, np.nan)
    rps_measured = np.zeros(n, bool)
    rps_source: list[str] = []
    runs = measured_runs(cat, str(w.name))  # what an estimate is held at (``held_estimate``)
    link = pcie_link(cat)
    for i, dev in d.iterrows():
        if dev.id in measured.index:
            m = measured.loc[dev.id]
            rps[i] = m.requests_per_s_per_accelerator
            rps_measured[i] = True
            rps_source.append(measured_words(m))
        else:
            eff = effs[dev.id]
            est = roofline_estimate(
                dev,
                w,
                eff,
                memory_efficiency=memory_efficiency,
                fixed_step_s_per_layer=float(fixed[i]),
                pcie=link,
            )
            rps[i], held = held_estimate(cat, w, dev.id, est, runs)
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
            maths = peak_used(dev, str(w.precision).lower())[1]
            if maths and maths != FORMAT_NAMES.get(str(w.precision).lower(), maths):
                maths_words = f" (maths at the {maths} peak)"
            else:
                maths_words = ""
            rps_source.append(
                f"estimated: roofline from peak compute and memory bandwidth at {w.precision}{maths_words}"
                f"{on_chip} x "
                f"efficiency {eff.value:.2f} fitted on {eff.basis}{held}"
            )
    return rps, rps_measured, rps_source


def measured_words(m: Any) -> str:
    """Where a measured throughput comes from, in words (a result row of ``cat.results``)."""
    return f"measured: {m.benchmark}, {m.scenario}, {m.system} ({m.source_title}, retrieved {m.retrieved})"


def build_device_table(cat: Catalog, workload: str, market: str = "major-clouds") -> DeviceTable:
    """The device table of ``workload`` (uncached; ``device_table`` caches it)."""
    workloads = cat.workloads.set_index("id")
    if workload not in workloads.index:
        raise unknown_workload(workload, workloads.index)
    w = workloads.loc[workload]
    d = cat.devices.sort_values("id").reset_index(drop=True)
    eff = fit_efficiency(cat, workload)
    effs = device_efficiencies(cat, workload, None, tuple(d.id))
    measured = (
        best_measured(cat, workload).set_index("device_id") if not cat.results.empty else pd.DataFrame()
    )
    # an LLM here is served as a batch (no latency bound): its decode reads at the efficiency its Offline
    # runs were fitted at; the latency-bound runs' read efficiency is for a request under a bound (``serve``)
    fixed = fixed_steps_s_per_layer(cat, d.id)
    rps, rps_measured, rps_source = throughputs(cat, d, w, effs, measured, None, fixed)
    placed = place_copies(cat, d, w, rps_measured, rps)
    replica, fits, fit_reason = placed.replica, placed.fits, placed.fit_reason
    wall = wall_power(cat, d, workload, rps)
    p, ok, why, where, bases = _offered(cat, d, w, market, placed)
    support, via = framework_support(cat, d)
    return DeviceTable(
        ids=d.id.to_numpy(),
        names=d.name.to_numpy(),
        vendors=d.vendor.to_numpy(),
        kinds=d.kind.to_numpy(),
        segments=d.segment.to_numpy(),
        is_gpu=(d.kind == "gpu").to_numpy(),
        trains=d.trains.astype(bool).to_numpy() if "trains" in d else np.zeros(len(d), bool),
        rps=rps,
        rps_measured=rps_measured,
        rps_scaled=np.zeros(len(d), bool),
        rps_source=rps_source,
        serving_format=[""] * len(d),
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
        bf16_tflops=d.peak_bf16_tflops.astype(float).to_numpy(),
        cloud_price=p.cloud_price,
        cloud_chips=p.cloud_chips,
        cloud_offer=p.cloud_offer,
        cloud_copies=p.cloud_copies,
        placement=where,
        interconnect=placed.interconnect,
        server_devices=np.asarray(placed.server_devices, float),
        server_max=np.asarray(placed.server_max, float),
        purchase_usd=p.purchase_usd,
        purchase_offer=p.purchase_offer,
        power_source=power_sources(cat, d),
        support=support,
        support_via=via,
        cloud_ok=ok["cloud"],
        bare_ok=ok["bare-metal"],
        edge_ok=ok["edge"],
        cloud_why=why["cloud"],
        bare_why=why["bare-metal"],
        edge_why=why["edge"],
        bare_vendor_count=d.bare_metal_vendor_count.to_numpy(),
        cloud_providers=list(d.cloud_providers),
        efficiency=eff.value,
        efficiency_n=eff.n,
        workload=w.to_dict() | {"id": workload},
        cloud_bases=bases,
    )


def _offered(
    cat: Catalog, d: pd.DataFrame, w: pd.Series, market: str, placed: Any
) -> tuple[Prices, dict[str, np.ndarray], dict[str, list[str]], dict[str, list[str]], dict[str, CloudBasis]]:
    """With copies placed as ``placed`` says (its devices per copy): each device's prices (its cloud offer
    among the instances that hold a whole copy), where each deployment can place it and why not
    (``where_offered``), and its cloud pricing bases."""
    copies_of = dict(zip(d.id, placed.replica, strict=True))
    p = prices(cat, d, market, copies_of)
    ok, why, where = where_offered(cat, d, w, market, p, placed)
    bases = cloud_bases(
        placed_offers(market_offers(cat, market), copies_of),
        d.id.to_numpy(),
        p.cloud_price,
        provider_discounts(cat.assumptions),
        offer_name,
    )
    return p, ok, why, where, bases


def scenario_device_table(cat: Catalog, scenario: Any) -> DeviceTable:
    """The device table a scenario reads: ``device_table``, with an LLM's throughput served as the
    scenario asks (its precision, tokens and latency target: ``serving.serve``), cached per request."""
    t = device_table(cat, scenario.workload, scenario.cloud_market)
    if not serves_tokens(cat, scenario.workload, scenario.cloud_market):
        return t
    r = Request.of(scenario)
    err = context_error(cat, scenario)
    if err is not None:
        raise err
    return served_device_table(cat, scenario.workload, scenario.cloud_market, r, scenario.deployment)


def context_error(cat: Catalog, scenario: Any) -> ScenarioError | None:
    """Why an LLM scenario's request cannot be served at all: its input and output tokens together pass
    the model's context window (the workload's ``context_tokens``); None where they fit or none is known
    (your own model: ``cat`` may be the catalog without it)."""
    window = context_window(cat, scenario.workload)
    if window is None:
        return None
    context, w = window
    i, o = Request.of(scenario).tokens(w)
    if i + o <= context:
        return None
    return ScenarioError(
        "input_tokens" if scenario.input_tokens is not None else "output_tokens",
        f"{i:,.0f} input + {o:,.0f} output tokens",
        f"allowed: input and output tokens together within {w.model}'s context window of "
        f"{context:,.0f} tokens (catalog workloads/{scenario.workload}.toml)",
    )


@per_catalog(maxsize=64)
def context_window(cat: Catalog, workload: str) -> tuple[float, pd.Series] | None:
    """(context window, workload row) of a catalog LLM that records its window; None otherwise (a slider
    move asks this: cached, read once per catalog)."""
    rows = cat.workloads[cat.workloads.id == workload]
    if rows.empty or "context_tokens" not in rows or pd.isna(rows.iloc[0].context_tokens):
        return None
    return float(rows.iloc[0].context_tokens), rows.iloc[0]


@per_catalog(maxsize=64)
def serves_tokens(cat: Catalog, workload: str, market: str) -> bool:
    """Whether ``workload`` is an LLM the serving model reads (its architecture records are all there)."""
    return Architecture.of(pd.Series(device_table(cat, workload, market).workload)) is not None


@per_catalog(maxsize=64)
def served_device_table(
    cat: Catalog, workload: str, market: str, request: Request, deployment: str = "cloud"
) -> DeviceTable:
    """``device_table`` of an LLM with each device's throughput, availability and source for ``request``,
    each copy split over the devices its throughput is computed at in ``deployment`` (``copies.copy_spans``:
    in the cloud the offer and tensor-parallel degree with the lowest cost per request, so a one-GPU offer
    runs a copy on one GPU; on bare metal the degree that serves most per device in its server; at the
    edge, one device)."""
    from dataclasses import replace

    t = device_table(cat, workload, market)
    w = pd.Series(t.workload)
    d = serving_rows(cat)
    ids = list(t.ids)
    # a request in a stated format reads the device's run in that format where it has one (MI355X's FP8
    # run, not its faster FP4 one scaled down); ``auto`` reads each device as measured
    fmt = None if request.precision in (None, "auto") else serving_format(request.precision, w.precision)
    chosen = measured_runs(cat, workload, fmt)
    base = measured_runs(cat, workload) if fmt else chosen
    swapped = [
        bool(t.rps_measured[k]) and i in chosen and chosen[i].result != base[i].result
        for k, i in enumerate(ids)
    ]
    measured = np.where(t.rps_measured, t.rps, np.nan)
    measured[swapped] = [chosen[i].measured_rps for k, i in enumerate(ids) if swapped[k]]
    measured_source = [
        measured_words(cat.results.loc[chosen[i].result]) if swapped[k] else t.rps_source[k]
        for k, i in enumerate(ids)
    ]
    runs = [
        (chosen[i].compute_precision, chosen[i].storage_precision)
        if t.rps_measured[k] and i in chosen
        else None
        for k, i in enumerate(ids)
    ]
    run_eff = np.array([chosen[i].efficiency if i in chosen else np.nan for i in ids])
    precision = None if request.precision == "auto" else request.precision
    eff = fitted_efficiency(cat, workload, precision)
    effs = maths_efficiencies(cat, workload, precision, serving_format(request.precision, w.precision))
    # your model (explorer.model.custom): the nearest catalog LLM's latency-bound runs stand in for its own
    fitted_on = _fitted_on(cat, workload)
    memory_eff, own_memory_eff = decode_memory_efficiency(cat, fitted_on, eff.value)
    if not request.target.bounded:  # a batch: every read at the efficiency fitted on Offline runs
        memory_eff, own_memory_eff = None, {}
    per_device = (
        None
        if memory_eff is None
        else np.array(
            [
                own_memory_eff.get(i, memory_eff) if t.rps_measured[k] else memory_eff
                for k, i in enumerate(ids)
            ]
        )
    )

    def knots_at(span: float | None) -> list[Any] | None:  # each device's, its copy over ``span`` devices
        if per_device is None:
            return None
        at = latency_knots(cat, fitted_on, eff.value, span)
        return [at.get(i) if t.rps_measured[k] else None for k, i in enumerate(ids)]

    kw = dict(
        efficiency=np.array([effs[i].value for i in ids]),
        measured_rps=measured,
        run_formats=runs,
        run_efficiency=run_eff,
        memory_efficiency=per_device,
        fixed_step_s_per_layer=fixed_steps_s_per_layer(cat, ids),
        sequence_s_per_layer=sequences_s_per_layer(cat, ids),
        pcie=pcie_link(cat),
        host_pcie=host_pcie(t),
        settle=None if per_device is None else read_fit_speed(cat, fitted_on, eff.value),
    )
    # a copy holds the weights in the format each device serves them in (its run's, as measured)
    auto = request.precision in (None, "auto")
    own = w.precision
    weights = tuple(serving_format(r[1] if auto and r else request.precision, own) for r in runs)
    need = copies_needed(cat, workload, market, weights)
    replica = np.asarray(need, float)
    if deployment not in PLACED:
        s = serve(d, w, request, **kw, knots=knots_at(None))
    else:  # each copy over the degree its container and the cost choose (copies.py)

        def serve_at(idx: list[int], spans: np.ndarray) -> Served:  # rows: device idx[j], copy over spans[j]
            sub = {key: take(v, idx) for key, v in kw.items()}
            at = {x: knots_at(x) for x in {float(x) for x in spans}}  # None without a latency bound
            knots = None if per_device is None else [at[float(x)][k] for k, x in zip(idx, spans, strict=True)]
            return serve([d[k] for k in idx], w, request, **sub, span=spans, knots=knots)

        s, replica = copy_spans(cat, t, market, deployment, serve_at, need)
    ok = np.isfinite(s.rps) & (s.rps > 0)
    same = ok & t.rps_measured & np.isclose(s.rps, measured, rtol=1e-12)
    # how far the request lies past each device's tightest own result (an estimate has none)
    speed = 1.0 / request.target.tpot_s if math.isfinite(request.target.tpot_s) else 0.0
    tight = tightest_bounds(cat, fitted_on)
    reach = np.array(
        [max(speed - tight.get(i, 0.0), 0.0) if t.rps_measured[k] else np.inf for k, i in enumerate(ids)]
    )
    rps, held = held_at_siblings(cat, ids, s.rps, s.formats, same, reach)
    source = [
        measured_source[k]
        if same[k]
        else (
            f"{measured_source[k]}; {s.words[k]}"
            if t.rps_measured[k]
            else f"estimated: {s.words[k]} x efficiency {effs[ids[k]].value:.2f} fitted on "
            f"{effs[ids[k]].basis}"
            + (
                f"; each sequence's decode reads at {memory_eff:.2f} of the bandwidth, fitted on "
                "latency-bound runs"
                if memory_eff
                else ""
            )
        )
        + f"; one user alone gets at most {s.tokens_per_s_alone[k]:,.0f} tokens/s{held[k]}"
        if ok[k]
        else t.rps_source[k]
        for k in range(len(ids))
    ]
    why = request.words(w)
    held = np.array([(r.memory_gb or 0) > 0 for r in d]) | t.rps_measured
    if not np.array_equal(replica, t.replica) or set(weights) != {serving_format(None, w.precision)}:
        t = _placed_as(cat, t, workload, market, replica, weights)
    return replace(
        t,
        rps=np.where(ok, rps, np.nan),
        rps_measured=same,
        rps_scaled=ok & t.rps_measured & ~same,
        rps_source=source,
        serving_format=[s.formats[k] if ok[k] else "" for k in range(len(ids))],
        # a copy is held where memory or a measurement places it (placement's first test), and served where
        # the request's throughput is: a model too big at its own format may be served in a narrower one
        fits=held & ok,
        fit_reason=[
            t.fit_reason[k] if not held[k] else (f"{s.reason[k]} ({why})" if not ok[k] else "")
            for k in range(len(ids))
        ],
    )


def _placed_as(
    cat: Catalog, t: DeviceTable, workload: str, market: str, replica: np.ndarray, formats: tuple[str, ...]
) -> DeviceTable:
    """``t`` with each device's copies of ``replica`` devices, its weights in ``formats`` (per device)."""
    from dataclasses import replace

    return replace(t, **_placement_fields(cat, workload, market, tuple(float(x) for x in replica), formats))


@per_catalog(maxsize=32)
def _placement_fields(
    cat: Catalog, workload: str, market: str, replica: tuple[float, ...], formats: tuple[str, ...] = ()
) -> dict[str, Any]:
    """With each device's copies of ``replica`` devices, its weights in ``formats`` (per device; empty: the
    workload's own): its cheapest cloud offer among the instances that hold one, where each deployment
    can place it and in what words (``where_offered``), and its pricing bases; cached per devices per copy
    and formats (a token slider's move seldom changes them)."""
    from dataclasses import replace

    t = device_table(cat, workload, market)
    d = cat.devices.sort_values("id").reset_index(drop=True)
    w = cat.workloads.set_index("id").loc[workload]
    placed = replace(
        place_copies(cat, d, w, t.rps_measured, t.rps, formats), replica=np.asarray(replica, float)
    )
    p, ok, why, where, bases = _offered(cat, d, w, market, placed)
    return dict(
        replica=placed.replica,
        cloud_price=p.cloud_price,
        cloud_chips=p.cloud_chips,
        cloud_offer=p.cloud_offer,
        cloud_copies=p.cloud_copies,
        placement=where,
        cloud_ok=ok["cloud"],
        bare_ok=ok["bare-metal"],
        edge_ok=ok["edge"],
        cloud_why=why["cloud"],
        bare_why=why["bare-metal"],
        edge_why=why["edge"],
        cloud_bases=bases,
        fit_reason=placed.fit_reason,  # a device no memory places: its weights in their served format
    )


@per_catalog(maxsize=16)
def _fitted_on(cat: Catalog, workload: str) -> str:
    """``efficiency_workload`` of ``workload``, cached: a token move re-indexes no workload table."""
    return efficiency_workload(cat.workloads.set_index("id"), workload)


@per_catalog(maxsize=1)
def serving_rows(cat: Catalog) -> tuple[Any, ...]:
    """The device figures the serving model reads, one row per device in the table's order (by id)."""
    cols = ["id", "memory_gb", "memory_bandwidth_gbps"] + [
        c for c in cat.devices.columns if c.startswith("peak_") or c == "scale_up_domain"
    ]
    return tuple(cat.devices.sort_values("id")[cols].itertuples(index=False))


@per_catalog(maxsize=32)
def fitted_efficiency(cat: Catalog, workload: str, precision: str | None) -> Efficiency:
    """``fit_efficiency``, cached per catalog, workload and precision (a token slider refits nothing)."""
    return fit_efficiency(cat, workload, precision)


@per_catalog(maxsize=64)
def maths_efficiencies(
    cat: Catalog, workload: str, precision: str | None, asked: str
) -> dict[str, Efficiency]:
    """``device_efficiencies`` at ``precision``, but for a device without the ``asked`` format's peak, which
    computes at a wider one's (``peak_used``: FP4 weights, FP8 maths), the one fitted for the format its
    maths run in, not for its weights': until 2026-12-06 an H200 asked for FP4 computed in FP8 at the FP4
    runs' efficiency, 38.6 requests/s of Llama-3.1-8B against 64.5 in FP8 (the same maths, half the bytes)."""
    ids = tuple(r.id for r in serving_rows(cat))
    effs = device_efficiencies(cat, workload, precision, ids)
    out = {}
    for r in serving_rows(cat):
        m = peak_used(r, asked)[1].lower()
        wider = FORMAT_BYTES.get(m, FORMAT_BYTES[asked]) != FORMAT_BYTES[asked]
        out[r.id] = device_efficiencies(cat, workload, m, ids)[r.id] if wider else effs[r.id]
    return out


@per_catalog(maxsize=64)
def device_efficiencies(
    cat: Catalog, workload: str, precision: str | None, ids: tuple[str, ...]
) -> dict[str, Efficiency]:
    """Each device's fitted efficiency (``fit_efficiency`` for it: its vendor's devices where enough are
    measured, else every vendor's), cached per catalog, workload and precision."""
    return {i: fit_efficiency(cat, workload, precision, device_id=i) for i in ids}

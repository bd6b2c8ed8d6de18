"""One evaluation of a scenario over every device in the catalog (``evaluate``)."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from ..catalog import Catalog, load_catalog
from ..scenario import FRAMEWORKS, Scenario, ScenarioError
from .cache import per_catalog
from .cost import SUPPORT_ORDER, server_basis
from .custom import api_options, api_reason, catalog_for, custom_workload, workload_json
from .devices import DeviceTable, scenario_device_table
from .fleet import Core, best_by_kind, core, cumulative_cost, stays_below_from
from .inputs import Inputs, resolve, volume_free
from .results import Baseline, EvaluationResult, Option
from .sweep import volume_sweep
from .words import plan_of, recommend


def _offer(t: Any, s: Scenario, i: int, basis_offer: bool) -> str:
    """The cloud offer device `i` is costed at on the scenario's pricing basis, with that price's source."""
    basis = t.cloud_bases.get(s.cloud_pricing)
    if basis is None or not basis.offer[i]:
        return t.cloud_offer[i]
    if not basis_offer:  # plain on-demand won: a commitment would cost more for this fleet
        return f"{t.cloud_offer[i]}; on-demand, no commitment: a {s.cloud_pricing} commitment costs more here"
    return basis.offer[i]


def _f(x: Any) -> float | None:
    if x is None:
        return None
    v = float(x)
    return v if math.isfinite(v) else None


@per_catalog(maxsize=4)
def nominal_core(cat: Catalog, scenario: Scenario) -> tuple[DeviceTable, Inputs, Core]:
    """A scenario's device table, resolved inputs and the model at its own figures (``fleet.core``), kept
    for the next caller: a move of the app evaluates the scenario and then draws its uncertainty band,
    which starts from the same nominal answer. The arrays are read-only, as they are shared."""
    t = scenario_device_table(cat, scenario)
    x = resolve(cat, scenario)
    c = core(t, x, scenario.requests_per_day, scenario.model_changes_per_year)
    for value in vars(c).values():
        if isinstance(value, np.ndarray):
            value.flags.writeable = False
    return t, x, c


def evaluate(scenario: Scenario, cat: Catalog | None = None, *, crossover: bool = True) -> EvaluationResult:
    """Evaluate a scenario over every device in the catalog."""
    cat = catalog_for(cat if cat is not None else load_catalog(), scenario)  # with your model's row
    t, x, c = nominal_core(cat, scenario)
    if scenario.current_device is not None and scenario.current_device not in set(t.ids):
        allowed = "allowed: " + ", ".join(sorted(map(str, t.ids))) + ", or empty for none"
        raise ScenarioError("current_device", scenario.current_device, allowed)
    s = scenario
    gi, ai = (int(v) for v in best_by_kind(c, t.is_gpu))
    total_requests = s.requests_per_day * 365.25 * s.horizon_years

    avail_idx = np.flatnonzero(c.available)
    cum = cumulative_cost(c, x, avail_idx)
    column = {int(d): k for k, d in enumerate(avail_idx)}  # each available device's column in cum
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
        cg = cum[:, column[gi]]
        ca = cum[:, column[ai]]
        break_even = stays_below_from(ca, cg)

    options = _options(t, x, c, s, cum, column, gi, ai, total_requests)
    options.sort(key=lambda o: (not o.available, o.tco_usd if o.tco_usd is not None else 0, o.device_id))

    if crossover:
        sweep, cross, cross_note = volume_sweep(cat, volume_free(s))
    else:
        sweep, cross, cross_note = None, None, "not computed"
    baseline = _baseline(options, s.current_device)
    rec = (
        recommend(options, t, x, gi, ai, break_even, cross, cross_note, baseline)
        if options and options[0].available
        else None
    )
    apis = api_options(cat, s, t.workload)
    mine = custom_workload(cat, s)
    if rec is not None:  # your model's estimates, and a cheaper serverless API, said in words
        more = [*(mine.reasons if mine else ()), api_reason(apis[0] if apis else None, options[0].tco_usd, s)]
        rec = replace(rec, reasons=[*rec.reasons, *filter(None, more)])
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
        api_options=apis,
        custom_workload=workload_json(mine),
    )


def _options(
    t: DeviceTable,
    x: Inputs,
    c: Core,
    s: Scenario,
    cum: np.ndarray,
    column: dict[int, int],
    gi: int,
    ai: int,
    total_requests: float,
) -> list[Option]:
    """Every device's option, in the table's order: its figures from the model's arrays (``fleet.core``),
    None where the device cannot serve the scenario. The arrays are read as lists once: indexing them per
    device and figure was a third of an evaluation."""
    ok = c.available.tolist()

    def figure(values: np.ndarray) -> list[float | None]:  # finite figures of the devices that serve
        return [_f(v) if serves else None for v, serves in zip(values.tolist(), ok, strict=True)]

    def count(values: np.ndarray) -> list[int | None]:
        return [
            int(v) if serves and math.isfinite(v) else None
            for v, serves in zip(values.tolist(), ok, strict=True)
        ]

    energy_j = c.energy_kwh_year * 3.6e6
    with np.errstate(divide="ignore", invalid="ignore"):
        per_joule = np.where(energy_j > 0, s.requests_per_day * 365.25 / energy_j, np.nan)
    columns = {
        "device_power_kw": figure(c.device_power_kw),
        "wall_power_kw": figure(c.wall_power_kw),
        "provisioned_power_kw": figure(c.provisioned_power_kw),
        "facility_power_kw": figure(c.facility_power_kw),
        "energy_kwh_per_year": figure(c.energy_kwh_year),
        "energy_cost_usd_per_year": figure(c.energy_cost_year),
        "hardware_cost_usd": figure(c.hardware_cost),
        "porting_cost_usd": figure(c.porting_cost),
        "porting_initial_usd": figure(c.porting_initial),
        "porting_updates_usd": figure(c.porting_updates),
        "tco_usd": figure(c.tco),
        "cost_per_million_requests_usd": figure(c.tco / total_requests * 1e6),
        "requests_per_joule": figure(per_joule),
        "co2_tonnes_per_year": figure(c.energy_kwh_year * x.grid_gco2_per_kwh / 1e6),
        "devices_average": figure(c.devices_average),
        "devices_needed": count(c.devices),
        "devices_min": count(c.devices_min),
        "committed_devices": count(c.committed_devices),
        "servers": count(c.servers),
        "racks": count(c.racks),
    }
    rows = [dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)]
    is_gpu, train_devices, tg = t.is_gpu.tolist(), c.train_devices.tolist(), c.train_device_index
    rps, power_w, known = (
        [_f(v) for v in t.rps.tolist()],
        [_f(v) for v in t.power_w.tolist()],
        np.isfinite(t.wall_w),
    )
    support = t.support.tolist()
    cloud = s.deployment == "cloud"
    out = []
    for i, row in enumerate(rows):
        serves = ok[i]
        be = None
        # Against the best device of the other kind: from which month this one stays cheaper.
        if serves and ((gi >= 0 and not is_gpu[i]) or (ai >= 0 and is_gpu[i])):
            rival = gi if not is_gpu[i] else ai
            be = stays_below_from(cum[:, column[i]], cum[:, column[rival]])
        offer = _offer(t, s, i, c.basis_offer[i])
        out.append(
            Option(
                device_id=str(t.ids[i]),
                name=str(t.names[i]),
                vendor=str(t.vendors[i]),
                kind=str(t.kinds[i]),
                segment=str(t.segments[i]),
                available=serves,
                unavailable_reason=None if serves else c.reasons[i],
                throughput_per_device_rps=rps[i],
                throughput_source=t.rps_source[i],
                throughput_measured=bool(t.rps_measured[i]),
                throughput_basis=t.basis(i),
                serving_format=t.serving_format[i],
                training_devices=int(train_devices[i]) if serves else 0,
                training_device_id=str(t.ids[tg]) if serves and train_devices[i] > 0 and tg >= 0 else None,
                break_even_month=be,
                plan=plan_of(t, i, tg, train_devices[i] if serves else 0),
                framework_support={f: SUPPORT_ORDER[support[i][j]] for j, f in enumerate(FRAMEWORKS)},
                cloud_offer=offer,
                price_source=offer if cloud else _purchase(t, x, i),
                power_w=power_w[i],
                power_source=t.power_source[i],
                wall_power_source=t.wall_source[i],
                energy_known=bool(known[i]),
                placement=t.placement[s.deployment][i] if serves else "",
                cloud_pricing=s.cloud_pricing if cloud else None,
                **row,
            )
        )
    return out


def _purchase(t: Any, x: Any, i: int) -> str:
    """The purchase price used, and on bare metal how the server around the device is priced."""
    offer = t.purchase_offer[i]
    return f"{offer}; {server_basis(t, x, i)}" if offer and x.scenario.deployment == "bare-metal" else offer


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

"""The recommendation in words: its reasons and notes, each saying the figure it rests on."""

from __future__ import annotations

from .. import fmt
from ..scenario import FRAMEWORK_LABELS, FRAMEWORKS
from .devices import DeviceTable
from .fleet import SECONDS_PER_DAY
from .inputs import Inputs
from .results import Baseline, Option, Recommendation

# money and request volumes in human units (kept here under their old names; explorer.fmt has them all)
usd = fmt.usd
volume = fmt.volume


PRICING_WORDS = {"1-year": "on a 1-year commitment", "3-year": "on a 3-year commitment"}


#: A throughput's basis (``Option.throughput_basis``) where the headline says it.
BASIS_WORDS = {"scaled": "a measurement scaled to this request"}


def formats_apart(best: Option, rival: Option, precision: str | None) -> str:
    """Where the headline's two options are served in different formats because the scenario reads each
    device as measured (``precision`` "auto"), a sentence that says so and how to compare them in one; ""
    otherwise (a stated format, or one format for both)."""
    if precision not in (None, "auto") or not best.serving_format or not rival.serving_format:
        return ""
    if best.serving_format == rival.serving_format:
        return ""
    why = [
        "the format of its measured run"
        if o.throughput_basis != "estimated"
        else "the workload's own format: it has no run of its own"
        for o in (best, rival)
    ]
    return (
        f"Not like with like: Precision 'As measured' runs {best.name} in {best.serving_format} ({why[0]}) "
        f"and {rival.name} in {rival.serving_format} ({why[1]}); choose one format under Precision to "
        "compare them in it."
    )


def fleet_reason(o: Option) -> str:
    """The cloud fleet over the day in words: how many devices run, and how they are paid for."""
    shape = (
        f"The fleet follows the day: {fmt.plural(o.devices_min, 'device')} in the quietest hour, "
        f"{fmt.number(o.devices_average)} on average, {fmt.count(o.devices_needed)} at the peak"
    )
    if o.cloud_pricing == "spot":
        return f"{shape}, all on spot capacity ({o.price_source})."
    if o.committed_devices:
        term = PRICING_WORDS.get(o.cloud_pricing or "", "committed")
        committed = fmt.plural(o.committed_devices, "device")
        return f"{shape}; {committed} {term}, the rest on demand ({o.price_source})."
    return f"{shape}, all on demand ({o.price_source})."


def baseline_reason(b: Baseline, deployment: str, horizon: str) -> str:
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


def recommend(
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
            f"({fmt.percent(saving / rival.tco_usd)}) below the best {kind}, {rival.name} "
            f"({usd(rival.tco_usd)})."
        )
    else:
        reasons.append(
            f"Lowest total cost over {h}: {usd(best.tco_usd)}; no "
            f"{'accelerator' if t.is_gpu[i] else 'GPU'} is available for "
            f"{'an' if s.deployment == 'edge' else 'a'} {s.deployment} deployment."
        )
    if baseline is not None:
        reasons.append(baseline_reason(baseline, s.deployment, h))
    peak = s.requests_per_day / SECONDS_PER_DAY * s.peak_to_average
    how = BASIS_WORDS.get(best.throughput_basis, best.throughput_basis)
    served_in = f" in {best.serving_format}" if best.serving_format else ""
    reasons.append(
        f"Carries the peak of {volume(peak)} requests/s with {fmt.plural(best.devices_needed, 'device')} "
        f"at {s.utilization:.0%} target utilisation ({how}{served_in}: "
        f"{fmt.requests_per_s(best.throughput_per_device_rps)} per device); "
        f"{fmt.usd_per_million(best.cost_per_million_requests_usd)}."
    )
    if rival is not None and (apart := formats_apart(best, rival, getattr(s, "precision", None))):
        reasons.append(apart)
    if best.placement and t.replica[i] > 1:  # a copy spans several devices: where, and over what link
        reasons.append(f"Each model copy runs {best.placement}.")
    if best.devices_min is not None and best.cloud_pricing is not None:  # the cloud fleet over the day
        reasons.append(fleet_reason(best))
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
    elif rival is not None:  # without one, the first reason says already that none is available
        lead = "" if cross_note.startswith("no ") else "No crossover: "
        reasons.append(f"{lead}{cross_note[0].upper() if not lead else cross_note[0]}{cross_note[1:]}.")
    if t.is_gpu[i]:
        native = [FRAMEWORK_LABELS[f] for f in FRAMEWORKS if best.framework_support[f] == "native"]
        vendors = int(t.bare_vendor_count[i])
        clouds = len(t.cloud_providers[i])
        # what there is to buy or rent ("rented in 0 clouds" said nothing about an edge module)
        seller = "vendor" if s.deployment == "edge" else "server vendor"
        parts = [f"sold by {fmt.plural(vendors, seller)}"] if vendors else []
        parts.append(f"rented in {fmt.plural(clouds, 'cloud')}" if clouds else "not rented in any cloud")
        where = " and ".join(parts)
        reasons.append(
            f"Keeps options open: {len(native)} of {len(FRAMEWORKS)} frameworks run natively "
            f"({', '.join(native)}); {where}."
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
    tg = list(t.ids).index(best.training_device_id) if best.training_device_id else -1
    plan = plan_of(t, i, tg, best.training_devices)
    if s.training_share > 0 and best.training_device_id:
        trainer = str(t.names[tg])
        reasons.append(
            f"{'Hybrid: t' if plan == 'hybrid' else 'T'}raining ({s.training_share:.0%} of compute; "
            f"{s.elastic_training_share:.0%} of it elastic, in the serving fleet's troughs where it trains) "
            f"runs on a dedicated fleet of {fmt.count(best.training_devices)} {trainer}, "
            f"inference on {best.name}."
        )
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


def plan_of(t: DeviceTable, i: int, trainer: int, training_devices: float) -> str:
    """The plan of option `i`: "hybrid" where a dedicated training fleet of the other kind (GPUs train,
    accelerators serve, or the reverse) comes out of the model, else the serving device's kind."""
    if trainer >= 0 and training_devices > 0 and bool(t.is_gpu[trainer]) != bool(t.is_gpu[i]):
        return "hybrid"
    return "gpu" if t.is_gpu[i] else "accelerator"

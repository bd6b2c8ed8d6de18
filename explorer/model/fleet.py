"""The vectorised core: how many devices carry the peak (in whole model copies and, in the cloud, whole
instances), where training runs, the power, energy and cost of each option, over any grid of request
volumes and model-change rates; and the cumulative cost month by month."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..scenario import FRAMEWORKS
from .cost import (
    HOURS_PER_YEAR,
    SUPPORT_ORDER,
    owner_recurring_per_year,
    per_device_cost_rates,
    purchases,
    whole_pcie_servers_usd,
)
from .devices import DeviceTable
from .inputs import Inputs
from .placement import available, copy_server
from .pricing import basis_available, follow_load

SECONDS_PER_DAY = 86400.0


def _ceil_to(x: np.ndarray, step: np.ndarray) -> np.ndarray:
    return np.ceil(np.maximum(x, 1e-12) / step - 1e-9) * step


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
    basis_offer: np.ndarray  # bool: priced at the pricing basis's offer (False: plain on-demand was cheaper)
    devices_min: np.ndarray  # the quietest hour's fleet (the cloud follows the day; owned fleets do not)
    devices_average: np.ndarray  # devices running on average over the day
    committed_devices: np.ndarray  # devices under a 1- or 3-year commitment (0 on other bases)
    servers: np.ndarray  # bare metal: whole servers, spares and the training fleet's included (nan elsewhere)
    racks: np.ndarray  # bare metal: racks under the rack kW (nan elsewhere or where power is unknown)


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
    avail, reasons = available(t, deployment)
    # the cloud's pricing basis: its offer per device (whole instances of it), and what it cannot price
    basis = t.cloud_bases.get(s.cloud_pricing) if deployment == "cloud" else None
    if basis is not None:
        avail, reasons = basis_available(basis, s.cloud_pricing, s, avail, reasons)
    h = s.horizon_years
    u = s.utilization

    rps = np.where(t.rps > 0, t.rps, np.nan)
    avg_rps = rpd / SECONDS_PER_DAY
    peak_rps = avg_rps * s.peak_to_average
    chips = t.cloud_chips if basis is None else basis.chips  # per instance of the basis's offer
    step = (
        np.lcm(t.replica.astype(int), chips.astype(int)).astype(float) if deployment == "cloud" else t.replica
    )
    if deployment == "edge":
        # Every site has its own device(s), sized for its share of the peak.
        sites = float(s.edge_sites)
        n_inf = sites * _ceil_to(peak_rps / sites / (rps * u), step)
    else:
        n_inf = _ceil_to(peak_rps / (rps * u), step)
    servers = np.full(n_inf.shape, np.nan)
    if deployment == "bare-metal":
        # Whole servers (the device's reference server or server class), plus the spare servers that
        # carry the peak with that many down (N+1: 1). Baseboard and host servers are bought full; a
        # PCIe server holds up to its card count, a spare one as many cards as the fullest.
        per_server = copy_server(t.server_devices, t.replica)  # devices a server holds as bought
        usable = np.maximum(np.floor(per_server / t.replica), 1.0) * t.replica
        spare = float(s.spare_servers)
        with np.errstate(invalid="ignore"):
            servers = np.ceil(n_inf / usable - 1e-9) + spare
        n_inf = np.where(
            t.power_class == "pcie", n_inf + spare * np.minimum(usable, n_inf), servers * per_server
        )
    servers_inf = servers  # the serving fleet's (the training fleet's are added below)
    busy_inf = avg_rps / rps  # devices' worth of work on average

    # Training: the training share of all compute, in FLOP/s, on any device that trains (catalog `trains`).
    share = s.training_share
    flops_inf = avg_rps * t.workload["compute_gflop_per_request"] * 1e9
    train_flops = flops_inf * share / (1 - share) if share > 0 else np.zeros_like(flops_inf)
    trains = t.trains & (t.bf16_tflops > 0)
    eff_train = np.where(trains, t.bf16_tflops * 1e12 * x.training_mfu, np.nan)
    hw_cost_dev, pays_power = per_device_cost_rates(t, x, deployment)

    # The dedicated training fleet: the device that trains with the lowest cost per unit of training
    # compute (GPU, TPU, Trainium, Gaudi alike), in the cloud for edge deployments.
    train_deploy = "cloud" if deployment == "edge" else deployment
    train_ok = trains & {"cloud": t.cloud_ok, "bare-metal": t.bare_ok}[train_deploy]
    train_cost_dev, _ = per_device_cost_rates(t, x, train_deploy)
    per_flop_all = np.where(train_ok, train_cost_dev / eff_train, np.inf)
    per_flop = per_flop_all.reshape(-1, per_flop_all.shape[-1])[0]  # with draws: nominal pick is train_gpu
    if train_gpu is not None:
        g = train_gpu
    else:
        g = int(np.argmin(per_flop)) if np.isfinite(per_flop).any() else -1
    gs = slice(g, g + 1)  # keeps the device axis, so draws broadcast

    devices = n_inf
    # A cloud fleet follows the day (pricing.follow_load): whole instances each hour, a committed base and
    # on-demand above it, the cheapest mix. An owned fleet (bare metal, edge) is the peak-sized one all day.
    follow = None
    if basis is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            fleet = follow_load(
                t.cloud_price,
                t.cloud_bases,
                s.cloud_pricing,
                (peak_rps / (rps * u), busy_inf / u, np.zeros_like(busy_inf)),
                t.replica,
                s.peak_to_average,
                x.load_curve_amplitude,
                h,
            )
        follow = fleet.cost
        devices = np.where(np.isfinite(devices), follow.peak, devices)  # the busiest hour's fleet
    running = devices if follow is None else follow.average  # devices running on average

    # The elastic share of training runs preemptibly in the troughs of a serving fleet whose device
    # trains, at the preemption/checkpoint efficiency, up to the capacity that fleet already has idle below
    # the target utilisation (on average over the day: an owned fleet's troughs; in the cloud, what whole
    # instances and a committed base leave idle). The fleet is never grown for it, so the harvest is free
    # and more of it never costs more; everything else runs on the dedicated fleet.
    pooled = trains & (deployment != "edge")
    eff_e = x.elastic_training_efficiency
    if share > 0:
        with np.errstate(invalid="ignore"):
            trough = np.maximum(running * u - busy_inf, 0.0)  # device-equivalents idle below the target
            cap = np.nan_to_num(np.where(pooled, trough * eff_train * eff_e, 0.0))
        harvested = np.minimum(s.elastic_training_share * train_flops, cap)
    else:
        harvested = np.zeros_like(n_inf)
    if share > 0 and g >= 0:
        # the dedicated fleet in whole devices (on bare metal whole servers of its device), and only the
        # harvest that fleet needs: trough work that saves no dedicated device would only cost energy
        whole = t.server_devices[..., gs] if deployment == "bare-metal" else np.array([1.0])
        per_device = eff_train[..., gs] * u
        rest = train_flops - harvested
        separate_train = np.where(rest > 0, _ceil_to(rest / per_device, whole), 0.0)
        harvested = np.minimum(harvested, np.maximum(train_flops - separate_train * per_device, 0.0))
    else:
        separate_train = np.zeros_like(n_inf)
    busy_train_own = np.where(pooled, harvested / np.where(pooled, eff_train * eff_e, 1.0), 0.0)

    with np.errstate(divide="ignore", invalid="ignore"):  # unavailable devices carry nan, never a count of 0
        avg_load = np.clip((busy_inf + busy_train_own) / running, 0, 1)
    load_factor = x.idle_ratio + (1 - x.idle_ratio) * avg_load  # average draw / rated draw
    pue = x.pue
    dev_kw = running * t.power_w * load_factor / 1e3  # nan where the device's power is unpublished
    # at the server wall: the load-scaled draw plus each device's share of its host (average: energy),
    # and the rated draw the racks and circuits must be provisioned for
    wall_kw = running * (t.wall_w * load_factor + t.host_w) / 1e3
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
    racks = np.full(np.shape(devices), np.nan)
    if deployment == "bare-metal":
        # Racks: whole servers per rack under the rack's provisioned kW (a server above it, a rack-scale
        # system, is a rack of its own); the training fleet's servers in racks of their own.
        racks = _racks(servers, per_server * t.provisioned_w / 1e3, x.rack_kw)
        if g >= 0:
            train_servers = separate_train / t.server_devices[..., gs]
            racks = racks + np.nan_to_num(
                _racks(train_servers, t.server_devices[..., gs] * t.provisioned_w[..., gs] / 1e3, x.rack_kw)
            )
            servers = servers + train_servers
    energy_kwh = fac_kw_all * HOURS_PER_YEAR
    elec_price = x.electricity_usd_per_kwh
    # Unknown power (nan) is not counted as cost; the option says its energy is unknown.
    energy_cost = np.where(pays_power, np.nan_to_num(fac_kw) * HOURS_PER_YEAR * elec_price, 0.0)
    if deployment == "bare-metal" and g >= 0:
        energy_cost = energy_cost + train_fac_kw * HOURS_PER_YEAR * elec_price

    serving = devices * hw_cost_dev if follow is None else follow.usd_per_hour * HOURS_PER_YEAR * h
    if deployment == "bare-metal":  # whole PCIe servers, not the per-card shares of them
        serving = serving + whole_pcie_servers_usd(t, x, devices, servers_inf)
    hardware = serving + (separate_train * train_cost_dev[..., gs] if g >= 0 else 0.0)

    # Porting: engineer-days per framework by support level, weighted by the mix.
    by_level = support_weights(t.support, np.array([getattr(s.framework_mix, f) for f in FRAMEWORKS]))
    days = x.porting_days @ by_level
    update_days = (x.porting_days * x.update_share) @ by_level
    porting_initial = np.broadcast_to(days * x.engineer_day_usd, devices.shape)
    porting_updates = update_days * x.engineer_day_usd * changes * h
    porting = porting_initial + porting_updates

    tco = hardware + energy_cost * h + porting
    if deployment == "cloud":
        capex = np.zeros_like(tco)
        opex_month = hardware / (h * 12)
    else:
        buys = purchases(x)
        # bare metal's yearly support and rack space are running costs, not purchases
        yearly = owner_recurring_per_year(t, x) if deployment == "bare-metal" else np.zeros(len(t.ids))
        recurring = devices * yearly + (separate_train * yearly[..., gs] if g >= 0 else 0.0)
        capex = (hardware - recurring * h) / buys  # the first purchase; replacements fall at each lifetime
        opex_month = energy_cost / 12 + recurring / 12
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
        basis_offer=np.ones(np.shape(devices), bool) if follow is None else fleet.basis_offer,
        devices_min=devices if follow is None else follow.minimum,
        devices_average=devices if follow is None else follow.average,
        committed_devices=np.zeros_like(devices) if follow is None else follow.committed,
        servers=servers,
        racks=racks,
    )


def support_weights(support: np.ndarray, mix: np.ndarray) -> np.ndarray:
    """(support levels, devices): each device's share of the framework mix at each level of support, so
    that a per-level figure (porting days) weighted by the mix is one product, ``figure @ weights``, for
    the draws' (draws, levels) figures too: taking a level's figure per device and framework would build
    a (draws, devices, frameworks) array on every request-volume move."""
    levels = np.arange(len(SUPPORT_ORDER))[:, None, None]
    return (np.asarray(support)[None] == levels).astype(float) @ mix


def _racks(servers: np.ndarray, server_kw: np.ndarray, rack_kw: float) -> np.ndarray:
    """Racks holding ``servers`` whole servers of ``server_kw`` provisioned kW each under ``rack_kw``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        per_rack = np.maximum(np.floor(rack_kw / server_kw + 1e-9), 1.0)
        return np.where(servers > 0, np.ceil(servers / per_rack - 1e-9), 0.0)


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


def cumulative_cost(c: Core, x: Inputs, idx: np.ndarray) -> np.ndarray:
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

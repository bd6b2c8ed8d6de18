"""A scenario resolved against the catalog: electricity, carbon, PUE and the assumptions, each with where it
came from; cached, so that a request-volume change resolves nothing anew."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..catalog import Catalog
from ..scenario import Scenario, ScenarioError
from .assumptions import ModelError, assumption
from .cache import per_catalog
from .cost import SUPPORT_ORDER


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
    host_cost_ratio: float  # bare metal: the host over the devices' price (baseboard servers, hosts)
    pcie_server_usd: float  # bare metal: a PCIe server's price without its cards
    lifetime_years: float
    training_mfu: float
    elastic_training_efficiency: float  # useful work per borrowed trough device-hour (preemption, checkpoint)
    rack_kw: float  # bare metal: provisioned wall power one rack takes
    edge_host_usd: float  # edge: the host computer an add-in accelerator needs
    load_curve_amplitude: float  # the default daily shape's amplitude (pricing.load_curve)
    network_cost_ratio: float  # bare metal: the scale-out network over the servers' price
    support_cost_ratio_per_year: float  # bare metal: support per year over the servers' price
    colocation_usd_per_kw_month: float  # bare metal: rack space and power per provisioned kW-month
    origin: dict[str, str]


PUE_BY_DEPLOYMENT = {"cloud": "hyperscale", "bare-metal": "enterprise", "edge": None}


_DEFAULT_VOLUME = Scenario().requests_per_day


def volume_free(s: Scenario) -> Scenario:
    """`s` at the default request volume: the cache key of what a request-volume change leaves as is."""
    return replace(s, requests_per_day=_DEFAULT_VOLUME, current_device=None)  # nor the baseline


#: The scenario fields an LLM request is made of (its tokens, precision and latency target): none of them
#: enters the resolved inputs, so a token slider's move resolves nothing anew either.
_REQUEST_FIELDS = (
    "precision",
    "input_tokens",
    "output_tokens",
    "latency_target",
    "tokens_per_s_per_user",
    "ttft_s",
)
_DEFAULT = Scenario()


def resolve(cat: Catalog, s: Scenario) -> Inputs:
    """`s` with every catalog-derived value resolved (cached: a volume or token change resolves nothing
    anew)."""
    key = replace(volume_free(s), **{f: getattr(_DEFAULT, f) for f in _REQUEST_FIELDS})
    x = resolve_volume_free(cat, key)
    return x if x.scenario == s else replace(x, scenario=s)


@per_catalog(maxsize=32)
def resolve_volume_free(cat: Catalog, s: Scenario) -> Inputs:
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
        eng = assumption(cat, "engineer_day_usd")
        origin["engineer_day_usd"] = "catalog assumptions/engineering (estimate; see its method)"
    return Inputs(
        scenario=s,
        electricity_usd_per_kwh=float(price),
        grid_gco2_per_kwh=float(carbon),
        pue=float(pue),
        engineer_day_usd=float(eng),
        porting_days=np.array([assumption(cat, f"porting_days_{lvl}") for lvl in SUPPORT_ORDER]),
        update_share=np.array([assumption(cat, f"update_share_{lvl}") for lvl in SUPPORT_ORDER]),
        idle_ratio=assumption(cat, "idle_power_ratio"),
        host_cost_ratio=assumption(cat, "host_cost_ratio"),
        pcie_server_usd=assumption(cat, "pcie_server_usd"),
        lifetime_years=assumption(cat, "hardware_lifetime_years"),
        training_mfu=assumption(cat, "training_mfu"),
        elastic_training_efficiency=assumption(cat, "elastic_training_efficiency"),
        rack_kw=assumption(cat, "rack_kw"),
        edge_host_usd=assumption(cat, "edge_host_usd"),
        load_curve_amplitude=assumption(cat, "load_curve_amplitude"),
        network_cost_ratio=assumption(cat, "network_cost_ratio"),
        support_cost_ratio_per_year=assumption(cat, "support_cost_ratio_per_year"),
        colocation_usd_per_kw_month=assumption(cat, "colocation_usd_per_kw_month"),
        origin=origin,
    )

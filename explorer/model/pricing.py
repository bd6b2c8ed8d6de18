"""Pricing bases and fleets that follow the load (issue 15, points 1 and 2).

How a cloud fleet is paid for (`Scenario.cloud_pricing`):

* ``on-demand``: by the hour, for the devices each hour of the day needs;
* ``1-year`` / ``3-year``: a commitment (reservation, savings plan, committed-use discount) for a base of
  devices paid every hour of the term, used or not, and on-demand for what the hour needs above it; the
  base is the cheapest one (`fleet_cost`);
* ``spot``: capacity the provider may reclaim at any moment, by the hour; for batch work only
  (`spot_refusal` says why not otherwise).

The day's load follows a curve (`load_curve`): a sourced daily shape (catalog/assumptions/cloud-pricing.toml)
scaled so that its busiest hour is the scenario's peak-to-average. Each hour needs the devices its load
needs at the target utilisation, rounded up to whole instances; the busiest hour needs exactly the fleet the
model sizes for the peak.

A commitment's price per offer comes from the catalog's price files (``price_1yr``/``price_3yr`` per
offer), else from the provider's sourced discount (``commit_<term>_discount_<provider>`` in the assumptions),
else it is the on-demand price (no discount published: a commitment then saves nothing, and the offer text
says so). This module is pure: numbers and tables in, numbers and tables out.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from ..scenario import CLOUD_PRICINGS

HOURS_PER_DAY = 24
#: The hour (0-23, local time) the default shape peaks at: mid-afternoon, where the daytime peak of the
#: traces the shape's source describes lies. Only the spread of the hours matters for cost, not their order.
PEAK_HOUR = 14
#: Term of each commitment basis, in years; on-demand and spot have none.
TERM_YEARS = {"1-year": 1.0, "3-year": 3.0}
#: The catalog column prefix (``<prefix>_usd_per_chip_hour``, ``<prefix>_source``) of each basis's price.
BASIS_COLUMN = {"1-year": "price_1yr", "3-year": "price_3yr", "spot": "price_spot"}
#: Assumption-key stem of each commitment basis's per-provider discount (``commit_1yr_discount_aws``).
BASIS_DISCOUNT_KEY = {"1-year": "commit_1yr_discount", "3-year": "commit_3yr_discount"}
#: Assumption key of the default daily shape's amplitude.
AMPLITUDE_KEY = "load_curve_amplitude"


def provider_slug(provider: str) -> str:
    """A provider's name as an assumption key part: ``Google Cloud`` -> ``google_cloud``."""
    return re.sub(r"[^a-z0-9]+", "_", str(provider).lower()).strip("_")


# -- the daily load curve -------------------------------------------------------------------------------


def base_shape(amplitude: float) -> np.ndarray:
    """The default day before scaling: one cosine cycle, mean 1, busiest hour 1 + amplitude at PEAK_HOUR."""
    hours = np.arange(HOURS_PER_DAY)
    return 1.0 + amplitude * np.cos(2 * np.pi * (hours - PEAK_HOUR) / HOURS_PER_DAY)


@lru_cache(maxsize=256)
def _curve(peak_to_average: float, amplitude: float) -> tuple[float, ...]:
    base = base_shape(amplitude)
    if peak_to_average <= 1.0 + 1e-12:
        return (1.0,) * HOURS_PER_DAY

    def ratio(k: float) -> float:
        w = base**k
        return float(w.max() / w.mean())

    # base**k / mean is the shape sharpened (k > 1) or flattened (k < 1); its peak-to-average grows with k
    # from 1 (k = 0) towards 24 (one hour carries the day), so bisection finds the k that gives the target.
    target = min(peak_to_average, HOURS_PER_DAY * (1 - 1e-9))
    lo, hi = 0.0, 1.0
    while ratio(hi) < target:
        lo, hi = hi, hi * 2
    for _ in range(80):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if ratio(mid) < target else (lo, mid)
    w = base ** ((lo + hi) / 2)
    return tuple(float(x) for x in w / w.mean())


def load_curve(peak_to_average: float, amplitude: float) -> np.ndarray:
    """The day's load per hour relative to its average: 24 values, mean 1, the busiest = `peak_to_average`.

    The default shape (`base_shape`) raised to the power that gives the scenario's peak-to-average; 1 is a
    flat day. The busiest hour is set to the peak-to-average exactly, so the hour that needs the most
    devices needs the fleet the model sizes for the peak.
    """
    curve = np.array(_curve(float(peak_to_average), float(amplitude)))
    curve[int(np.argmax(curve))] = float(peak_to_average) if peak_to_average > 1 else 1.0
    return curve


@lru_cache(maxsize=256)
def _levels(peak_to_average: float, amplitude: float) -> tuple[tuple[float, ...], tuple[float, ...]]:
    curve = -np.sort(-load_curve(peak_to_average, amplitude))
    levels: list[float] = []
    hours: list[float] = []
    for v in curve:  # hours with the same load (to rounding) need the same fleet: counted once
        if levels and abs(v - levels[-1]) <= 1e-12 * max(1.0, abs(v)):
            hours[-1] += 1
        else:
            levels.append(float(v))
            hours.append(1.0)
    return tuple(levels), tuple(hours)


def day_levels(peak_to_average: float, amplitude: float) -> tuple[np.ndarray, np.ndarray]:
    """The day's distinct loads, busiest first, and how many hours each lasts (summing to 24): the default
    shape is symmetric about its peak, so its 24 hours are 13 loads."""
    levels, hours = _levels(float(peak_to_average), float(amplitude))
    return np.array(levels), np.array(hours)


def ceil_to(x: np.ndarray, step: np.ndarray | float) -> np.ndarray:
    """`x` rounded up to a whole multiple of `step` (as the model's fleet sizing does)."""
    return np.ceil(np.maximum(x, 1e-12) / step - 1e-9) * step


def hourly_devices(
    peak_devices: np.ndarray, avg_need: np.ndarray, curve: np.ndarray, step: np.ndarray | float
) -> np.ndarray:
    """Devices each hour needs, shape (..., 24): its load at the target utilisation in whole instances.

    ``avg_need`` is the average load in devices' worth at the target utilisation; ``peak_devices`` the
    fleet sized for the peak, which the busiest hour needs and no hour exceeds. Every hour keeps at least
    one instance (one copy of the model), however quiet.
    """
    step = np.asarray(step)[..., None]
    need = np.maximum(
        ceil_to(np.asarray(avg_need)[..., None] * curve, step), step
    )  # a live service keeps one
    return np.minimum(need, np.asarray(peak_devices)[..., None])


# -- the cheapest mix of committed and on-demand capacity -----------------------------------------------


@dataclass(frozen=True)
class FleetCost:
    """What a fleet following the day costs per hour on average, and its shape (arrays over (...))."""

    usd_per_hour: np.ndarray  # average over the day: committed base + on-demand above it (or spot)
    committed: np.ndarray  # devices committed for the term (0 on on-demand or spot)
    minimum: np.ndarray  # devices in the quietest hour
    average: np.ndarray  # devices on average over the day
    peak: np.ndarray  # devices in the busiest hour


def commitment_rate(rate: np.ndarray, term_years: float, horizon_years: float) -> np.ndarray:
    """A commitment's price per hour of the horizon: a term is paid whole, so a horizon shorter than the
    term (or not a multiple of it) pays the rest of the last term too."""
    terms = math.ceil(horizon_years / term_years - 1e-9)
    return np.asarray(rate) * terms * term_years / horizon_years


def fleet_cost(
    hourly: np.ndarray,
    on_demand: np.ndarray,
    committed_rate: np.ndarray | None,
    *,
    presorted: bool = False,
    hours: np.ndarray | None = None,
) -> FleetCost:
    """The cheapest way to pay for `hourly` devices (..., 24) at `on_demand` and `committed_rate`.

    Without a commitment rate every hour pays on-demand for what it runs. With one, a base of b devices is
    paid every hour at the committed rate c and the hours above it pay on-demand o: cost(b) = b c +
    o mean(max(n_h - b, 0)), convex and piecewise linear in b, its slope c - o k/24 where k hours need
    more than b. The cheapest base is therefore the k-th busiest hour's count with k = floor(24 c / o)
    (all of the peak when c < o/24, none when c >= o). Rates are per device-hour, arrays that broadcast
    over (...); NaN rates give NaN. `presorted`: the hours are already busiest first; `hours`: how many
    hours of the day each column stands for (summing to 24; default one each), so that hours with the same
    load are counted once.
    """
    n = np.asarray(hourly, float)
    w = np.ones(n.shape[-1]) if hours is None else np.asarray(hours, float)
    if presorted:
        s = n
    else:  # busiest hour first (with their weights)
        order = np.argsort(-n, axis=-1, kind="stable")
        s = np.take_along_axis(n, order, -1)
        if hours is not None:
            w = np.take_along_axis(np.broadcast_to(w, n.shape), order, -1)
    if w.ndim != 1:  # weighted hours, each row in its own order
        if committed_rate is not None:
            raise ValueError("fleet_cost: weighted hours must be given busiest first (presorted)")
        od = np.asarray(on_demand, float)
        minimum, peak = s[..., -1], s[..., 0]
        average = np.clip((s * w / HOURS_PER_DAY).sum(-1), minimum, peak)
        return FleetCost(average * od, np.zeros_like(average), minimum, average, peak)
    return hours_first_cost(np.moveaxis(s, -1, 0), on_demand, committed_rate, w)


@lru_cache(maxsize=64)
def _day_columns(hours: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For columns standing for `hours` hours each, busiest first: the (columns, columns) matrix whose row j
    holds each earlier column's share of the day (a product with it sums the first j columns), each
    column's earlier share, and the column of each hour of the day. Read-only: they are shared."""
    share = np.asarray(hours) / HOURS_PER_DAY
    before = np.tril(np.ones((len(share), len(share))), -1) * share  # [j, h]: share_h if h < j
    column_of_hour = np.repeat(np.arange(len(share)), np.round(share * HOURS_PER_DAY).astype(int))
    out = (before, before.sum(1), column_of_hour)
    for a in out:
        a.flags.writeable = False
    return out


def hours_first_cost(
    counts: np.ndarray, on_demand: np.ndarray, committed_rate: np.ndarray | None, hours: np.ndarray
) -> FleetCost:
    """``fleet_cost`` of devices per column of the day, busiest first, on the leading axis: (columns, ...),
    each column standing for ``hours[j]`` hours. The hour axis leads so that every pass over the counts
    runs along the long axis: in the uncertainty analysis they are (columns, draws, devices), and a
    trailing axis of 13 columns would make each pass 10,000 short loops."""
    od = np.asarray(on_demand, float)
    share = np.asarray(hours, float) / HOURS_PER_DAY
    flat = counts.reshape(len(share), -1)
    minimum, peak = counts[-1], counts[0]
    average = np.clip((share @ flat).reshape(minimum.shape), minimum, peak)
    if committed_rate is None:
        return FleetCost(average * od, np.zeros_like(average), minimum, average, peak)
    # The columns before the base's run at or above it, the rest at or below (busiest first). So what runs
    # above the base, on average over the day, is those columns' share-weighted sum less the base times
    # their share: one product gives those sums for every column, where subtracting the base from every
    # column would take three passes over the counts.
    before, share_before, column_of_hour = _day_columns(tuple(np.asarray(hours, float).tolist()))
    prefix = before @ flat  # (columns, ...): [j] the first j columns' device-hours over the day
    c = np.asarray(committed_rate, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.floor(HOURS_PER_DAY * c / od + 1e-12)
    k = np.clip(np.where(np.isfinite(k), k, HOURS_PER_DAY), 0, HOURS_PER_DAY).astype(int)
    shape = np.broadcast_shapes(k.shape, minimum.shape)
    commit_any = k < HOURS_PER_DAY  # no commitment where it costs as much as on-demand, or is unknown
    col = column_of_hour[np.minimum(k, HOURS_PER_DAY - 1)]  # the k-th busiest hour's column
    if shape != minimum.shape:  # a rate with more axes than the counts: the counts broadcast to it
        flat = np.broadcast_to(counts, (len(share), *shape)).reshape(len(share), -1)
        prefix = np.broadcast_to(prefix.reshape(counts.shape), (len(share), *shape)).reshape(len(share), -1)
    at = (np.broadcast_to(col, shape).ravel(), np.arange(flat.shape[1]))
    base = np.where(commit_any, flat[at].reshape(shape), 0.0)
    above = np.maximum(prefix[at].reshape(shape) - base * share_before[col], 0.0)  # on demand, on average
    usd = np.where(commit_any, base * c + above * od, average * od)
    return FleetCost(usd, base, minimum, average, peak)


# -- prices per basis from the catalog ------------------------------------------------------------------


def provider_discounts(assumptions: pd.DataFrame) -> dict[tuple[str, str], tuple[float, str]]:
    """{(provider slug, basis): (discount off on-demand, where it comes from)} from the assumptions frame
    (``Catalog.assumptions``: ``commit_1yr_discount_aws`` and the like)."""
    out: dict[tuple[str, str], tuple[float, str]] = {}
    if assumptions.empty:
        return out
    for row in assumptions.itertuples(index=False):
        for basis, stem in BASIS_DISCOUNT_KEY.items():
            if str(row.key).startswith(stem + "_") and math.isfinite(float(row.value)):
                kind = "estimate" if row.estimate else "published"
                out[(str(row.key)[len(stem) + 1 :], basis)] = (float(row.value), f"{kind}: {row.source}")
    return out


def amplitude_of(assumptions: pd.DataFrame) -> float:
    """The default daily shape's amplitude (catalog/assumptions/cloud-pricing.toml)."""
    rows = assumptions[assumptions.key == AMPLITUDE_KEY]
    if rows.empty:
        raise KeyError(f"catalog/assumptions has no {AMPLITUDE_KEY!r}; the load curve needs it")
    return float(rows.value.iloc[0])


def basis_prices(
    offers: pd.DataFrame, basis: str, discounts: Mapping[tuple[str, str], tuple[float, str]]
) -> pd.DataFrame:
    """Each offer's price per chip-hour on `basis` (``basis_rate``) and its origin (``basis_source``).

    ``on-demand``: the on-demand price. A commitment: the offer's own committed price, else, where the
    catalog records the offer as sold on no commitment (``price_1yr = { absent }``), the on-demand price,
    else its provider's discount off on-demand, else the on-demand price ("no commitment price
    published"). ``spot``: the offer's spot price, else NaN (no spot offer). Never above on-demand: a
    commitment that would cost more per hour than on-demand is not one anybody takes, and the cheaper figure
    is kept.
    """
    out = offers.copy()
    od = out.price_usd_per_chip_hour.astype(float)
    if basis == "on-demand":
        out["basis_rate"], out["basis_source"] = od, "on-demand"
        return out
    col = BASIS_COLUMN[basis]
    own = out[f"{col}_usd_per_chip_hour"].astype(float) if f"{col}_usd_per_chip_hour" in out else od * np.nan
    own_src = out[f"{col}_source"] if f"{col}_source" in out else pd.Series(None, index=out.index)
    none_sold = out[f"{col}_absent"] if f"{col}_absent" in out else pd.Series(None, index=out.index)
    rates, sources = [], []
    for rate, src, why, price, provider in zip(own, own_src, none_sold, od, out.provider, strict=True):
        if pd.notna(rate):
            rates.append(min(float(rate), float(price)))
            sources.append(f"{basis} price of the offer ({src})")
        elif isinstance(why, str) and why:
            rates.append(math.nan if basis == "spot" else float(price))
            costed = "no spot price" if basis == "spot" else "costed at its hourly price"
            sources.append(f"no {basis} price for this offer ({why}; {src}): {costed}")
        elif basis == "spot":
            rates.append(math.nan)
            sources.append("no spot price in the catalog")
        elif (provider_slug(provider), basis) in discounts:
            d, where = discounts[(provider_slug(provider), basis)]
            rates.append(float(price) * (1 - d))
            sources.append(f"{provider}'s {basis} discount of {d:.0%} off on-demand ({where})")
        else:
            rates.append(float(price))
            sources.append(f"no {basis} commitment price published for {provider}: costed at on-demand")
    out["basis_rate"], out["basis_source"] = rates, sources
    return out


def cheapest_offers(
    offers: pd.DataFrame, basis: str, discounts: Mapping[tuple[str, str], tuple[float, str]]
) -> pd.DataFrame:
    """One offer per device: the cheapest on `basis` (on-demand breaks ties), with ``basis_rate``.

    Offers without a price on the basis (spot where none is listed) are left out. Uploaded offers
    (``upload_label``) are kept first by the caller, as for on-demand.
    """
    priced = basis_prices(offers, basis, discounts)
    priced = priced[priced.basis_rate.notna()]
    return first_per_device(priced.sort_values(["basis_rate", "price_usd_per_chip_hour"], kind="stable"))


def first_per_device(ranked: pd.DataFrame) -> pd.DataFrame:
    """The first row of each device (``device_id``) in ``ranked``, whole. Not ``groupby(...).first()``,
    which takes each column's first non-null value and so mixes rows: a device's cheapest on-demand offer
    had carried another offer's spot and commitment prices wherever its own were blank."""
    return ranked.drop_duplicates("device_id", keep="first").reset_index(drop=True)


# -- why spot is refused --------------------------------------------------------------------------------

SPOT_REASON = (
    "spot capacity can be reclaimed by the provider at any moment with little notice: only batch work "
    "that can wait and retry may run on it, and this scenario serves requests as they arrive"
)


def spot_refusal(scenario: Any) -> str:
    """Why spot pricing cannot serve `scenario` ("" where it can: batch work).

    A scenario is batch work when it declares so: a field named ``latency_target`` or ``serving`` set to
    ``batch`` (the serving model's preset); without one, requests are served as they arrive.
    """
    for name in ("latency_target", "serving", "latency_preset"):
        if str(getattr(scenario, name, "") or "").lower() == "batch":
            return ""
    return SPOT_REASON


# -- the device table's prices on every basis, and what the fleet pays ----------------------------------


@dataclass(frozen=True)
class CloudBasis:
    """One pricing basis's offer per device (arrays over devices), as ratios to the device's cheapest
    on-demand price (``DeviceTable.cloud_price``), so that a draw that scales that price scales these."""

    od_ratio: np.ndarray  # the chosen offer's on-demand price / the cheapest on-demand price
    rate_ratio: np.ndarray  # its price on this basis / the cheapest on-demand price; nan: none
    chips: np.ndarray  # chips per instance of the chosen offer
    offer: list[str]  # the offer and where its price on this basis comes from

    def take(self, idx: np.ndarray) -> CloudBasis:
        """The offers of the devices at positions ``idx`` (``DeviceTable.take``)."""
        return CloudBasis(
            self.od_ratio[idx], self.rate_ratio[idx], self.chips[idx], [self.offer[i] for i in idx]
        )


def cloud_bases(
    offers: pd.DataFrame,
    ids: np.ndarray,
    cloud_price: np.ndarray,
    discounts: Mapping[tuple[str, str], tuple[float, str]],
    offer_text: Any,
) -> dict[str, CloudBasis]:
    """For every basis of `Scenario.cloud_pricing`, each device's cheapest offer on it among `offers` (the
    market's, uploads first) as a `CloudBasis`. ``offer_text(frame, device_id)`` names an offer."""
    out: dict[str, CloudBasis] = {}
    for basis in CLOUD_PRICINGS:
        best = cheapest_offers(offers, basis, discounts).set_index("device_id") if not offers.empty else None
        od, rate, chips, text = [], [], [], []
        for i, dev in enumerate(ids):
            if best is None or dev not in best.index:
                od.append(math.nan)
                rate.append(math.nan)
                chips.append(1.0)
                text.append("")
                continue
            row = best.loc[dev]
            od.append(float(row.price_usd_per_chip_hour) / cloud_price[i])
            rate.append(float(row.basis_rate) / cloud_price[i])
            chips.append(float(row.chips))
            named = offer_text(best, dev)
            text.append(named if basis == "on-demand" else f"{named}; {row.basis_source}")
        out[basis] = CloudBasis(np.array(od), np.array(rate), np.array(chips), text)
    return out


def basis_available(
    basis: CloudBasis, pricing_name: str, scenario: Any, avail: np.ndarray, reasons: list[str]
) -> tuple[np.ndarray, list[str]]:
    """`avail` and `reasons` with the devices the basis cannot price (or serve) taken out, with why."""
    if pricing_name != "spot":
        return avail, reasons
    refusal = spot_refusal(scenario)
    priced = np.isfinite(basis.rate_ratio)
    ok = avail & priced & (refusal == "")
    why = [
        r if not a else (refusal if refusal else ("" if p else "no spot price in the catalog for it"))
        for r, a, p in zip(reasons, avail, priced, strict=True)
    ]
    return ok, why


def all_term_ratio(basis: CloudBasis | None, pricing_name: str, horizon_years: float) -> np.ndarray | float:
    """Price per device-hour of a device that runs the whole horizon, over the cheapest on-demand price: a
    commitment's effective rate where cheaper (a separate training fleet runs flat out), else on-demand."""
    if basis is None or pricing_name not in TERM_YEARS:
        return 1.0
    committed = commitment_rate(basis.rate_ratio, TERM_YEARS[pricing_name], horizon_years)
    return np.fmin(1.0, committed)


@dataclass(frozen=True)
class CloudFleet:
    """A cloud fleet that follows the day (arrays over (..., devices)); see `follow_load`."""

    cost: FleetCost  # per hour on average, and min / average / peak / committed devices
    basis_offer: np.ndarray  # bool: the basis's own offer (False: plain on-demand at the cheapest offer won)


def _one_basis(
    cloud_price: np.ndarray,
    basis: CloudBasis,
    pricing_name: str,
    need: tuple[np.ndarray, np.ndarray, np.ndarray],
    replica: np.ndarray,
    day: tuple[np.ndarray, np.ndarray],
    horizon_years: float,
) -> FleetCost:
    peak_need, avg_need, floor_need = need
    curve, hours = day
    step = np.lcm(replica.astype(int), basis.chips.astype(int)).astype(
        float
    )  # whole copies in whole instances
    # Each hour's count rises with its load, so the hours in the curve's order, busiest first, are the
    # counts busiest first: no sort per device. Counted in whole steps (instances), in place, the day's
    # columns first: the arrays are (columns, draws, devices) in the uncertainty analysis.
    with np.errstate(divide="ignore", invalid="ignore"):
        least = np.maximum(np.ceil(floor_need / step - 1e-9), 1.0)  # what no hour drops below, one at least
        peak_units = np.maximum(np.ceil(peak_need / step - 1e-9), least)
        units = np.multiply.outer(curve, np.asarray(avg_need / step))  # (columns, ...): hours_first_cost
        np.subtract(units, 1e-9, out=units)
        np.ceil(units, out=units)
        np.clip(units, least, peak_units, out=units)
    if pricing_name == "spot":
        per_unit = hours_first_cost(units, cloud_price * basis.rate_ratio * step, None, hours)
    elif pricing_name in TERM_YEARS:
        committed = commitment_rate(cloud_price * basis.rate_ratio, TERM_YEARS[pricing_name], horizon_years)
        od = cloud_price * basis.od_ratio * step
        per_unit = hours_first_cost(units, od, committed * step, hours)
    else:
        per_unit = hours_first_cost(units, cloud_price * basis.od_ratio * step, None, hours)
    return FleetCost(
        per_unit.usd_per_hour,
        per_unit.committed * step,
        per_unit.minimum * step,
        per_unit.average * step,
        peak_units * step,
    )


def follow_load(
    cloud_price: np.ndarray,
    bases: Mapping[str, CloudBasis],
    pricing_name: str,
    need: tuple[np.ndarray, np.ndarray, np.ndarray],
    replica: np.ndarray,
    peak_to_average: float,
    amplitude: float,
    horizon_years: float,
) -> CloudFleet:
    """What a cloud fleet that follows the day costs per hour on `pricing_name`, and its min/avg/peak.

    ``need`` = (peak, average, floor) in devices' worth at the target utilisation: the busiest hour's load,
    the day's average, and what no hour drops below (a GPU fleet that trains in its troughs keeps what
    carries inference and training on average; 0 for none). Every hour runs whole model copies
    (``replica`` devices) in whole instances of the basis's offer, at least one.

    On a commitment the cheapest mix is chosen, and "no commitment" is one of the mixes: where plain
    on-demand at the device's cheapest on-demand offer costs less (a small fleet in big committed
    instances), it is used, so a commitment never costs more than on-demand.
    """
    curve, hours = day_levels(peak_to_average, amplitude)
    basis = bases[pricing_name]
    main = _one_basis(cloud_price, basis, pricing_name, need, replica, (curve, hours), horizon_years)
    plain_offer = bases.get("on-demand")
    # Where the basis's offer is the device's cheapest on-demand one, "no commitment" is already among
    # the mixes fleet_cost weighs (a base of 0): the plain on-demand fleet need not be costed again.
    if (
        pricing_name not in TERM_YEARS
        or plain_offer is None
        or not (
            ((basis.od_ratio != 1) | (basis.chips != plain_offer.chips)) & np.isfinite(basis.od_ratio)
        ).any()
    ):
        return CloudFleet(main, np.ones(np.shape(main.usd_per_hour), bool))
    plain = _one_basis(cloud_price, plain_offer, "on-demand", need, replica, (curve, hours), horizon_years)
    keep = ~(plain.usd_per_hour < main.usd_per_hour)  # nan compares False: keep the basis's figure
    pick = [np.where(keep, a, b) for a, b in zip(_fields(main), _fields(plain), strict=True)]
    return CloudFleet(FleetCost(*pick), np.broadcast_to(keep, pick[0].shape))


def _fields(f: FleetCost) -> tuple[np.ndarray, ...]:
    return (f.usd_per_hour, f.committed, f.minimum, f.average, f.peak)

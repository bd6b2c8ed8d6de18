"""Cost: the cheapest cloud offer and the purchase price of each device, its framework support (what porting
costs), and the hardware cost per device over the horizon."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import fmt
from ..catalog import Catalog
from ..scenario import FRAMEWORKS, MAJOR_CLOUDS
from .pricing import all_term_ratio, first_per_device

if TYPE_CHECKING:
    from .devices import DeviceTable
    from .inputs import Inputs

HOURS_PER_YEAR = 8766.0  # 365.25 days
SUPPORT_ORDER = ("native", "sdk", "converter", "none")


def cheapest_cloud(cat: Catalog, market: str, replica: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Each device's cheapest offer in ``market`` per chip that serves, among the instances that hold a whole
    model copy of ``replica[device]`` devices (``placed_offers``; one device per copy where not given)."""
    c = placed_offers(market_offers(cat, market), replica or {})
    if c.empty:
        return c
    # stable: of offers equally cheap per serving chip, the first listed (as ``pricing.cheapest_offers``)
    ranked = c.sort_values(["price_usd_per_chip_hour"], kind="stable")
    return first_per_device(ranked)


def placed_offers(offers: pd.DataFrame, replica: Mapping[str, float]) -> pd.DataFrame:
    """Cloud offers as whole instances that hold whole model copies (``explorer.model.placement``).

    An instance of N chips holds floor(N / r) copies of r devices (``replica[device]``, 1 where not given)
    and is paid whole: each offer's prices per chip-hour (every ``*_usd_per_chip_hour`` column, so every
    pricing basis) become prices per chip that serves, the instance's price over the chips its copies use,
    and ``chips`` the chips that serve. ``instance_chips`` keeps the instance's own count and ``copies``
    the copies it holds. Offers whose instance holds no whole copy are left out.
    """
    if offers.empty:
        return offers.assign(instance_chips=offers.get("chips"), copies=offers.get("chips"))
    r = offers.device_id.map(lambda dev: float(replica.get(dev, 1.0))).astype(float)
    chips = offers.chips.astype(float)
    copies = np.floor(chips / r + 1e-9)
    serving = copies * r
    out = offers.assign(instance_chips=chips, copies=copies, chips=serving)[copies >= 1]
    scale = (chips / serving)[copies >= 1]
    for col in [c for c in out.columns if c.endswith("_usd_per_chip_hour")]:
        out[col] = out[col].astype(float) * scale
    return out


def market_offers(cat: Catalog, market: str) -> pd.DataFrame:
    """The cloud offers that count in ``market``; a device with uploaded offers keeps only those."""
    c = cat.cloud_prices
    if c.empty:
        return c
    # A visitor's own prices (explorer.uploads labels them in `upload_label`) count in every market and come
    # first: a device with an uploaded cloud offer is costed at its cheapest uploaded offer.
    if "upload_label" in c.columns:
        mine = c.upload_label.map(is_upload_label)
    else:
        mine = pd.Series(False, index=c.index)
    if market == "major-clouds":
        in_market = c.provider.isin(MAJOR_CLOUDS) | mine
        c, mine = c[in_market], mine[in_market]
    if mine.any():
        c = c[mine | ~c.device_id.isin(c.device_id[mine])]
    return c


def is_upload_label(x: Any) -> bool:
    return isinstance(x, str) and bool(x)


def upload_label(frame: pd.DataFrame, device_id: str) -> str | None:
    """The source of an uploaded price ("your upload, <file> ..."), or None for the catalog's own."""
    if "upload_label" not in frame.columns:
        return None
    label = frame.loc[device_id, "upload_label"]
    return label if is_upload_label(label) else None


def offer_name(frame: pd.DataFrame, device_id: str) -> str:
    """A cloud offer (a row of ``frame``, indexed by device id) in words, with its region and date; for a
    placed offer (``placed_offers``) whose instance does not hold one copy per chip, what it holds."""
    named = upload_label(frame, device_id) or (
        f"{frame.loc[device_id, 'provider']} {frame.loc[device_id, 'instance']} "
        f"({frame.loc[device_id, 'region']}, as of {frame.loc[device_id, 'as_of']})"
    )
    return named + holding(frame.loc[device_id])


def _unnamed_chips(instance: Any, chips: int) -> str:
    """An instance's chips in words ("8 chips"), or "" where its name already states them."""
    words = fmt.plural(chips, "chip")
    return "" if words in str(instance) else words


def _named_with_chips(offer: pd.Series) -> str:
    """An offer's provider and instance with its chips, unless its name already says them."""
    chips = _unnamed_chips(offer["instance"], int(offer["chips"]))
    named = f"{offer['provider']} {offer['instance']}"
    return f"{named} ({chips})" if chips else named


def holding(offer: pd.Series) -> str:
    """What a placed offer's instance holds, where it does not hold one copy per chip ("" otherwise, and for
    an offer not placed): "; one instance of 8 chips holds 2 copies of 3 devices, 2 chips idle and paid"."""
    if "copies" not in offer.index or not offer.copies >= 1:
        return ""
    chips, copies, serving = int(offer.instance_chips), int(offer.copies), int(offer.chips)
    if chips == copies:
        return ""
    idle = chips - serving
    held = (
        f"; one instance of {fmt.plural(chips, 'chip')} holds {fmt.plural(copies, 'copy', 'copies')} of "
        f"{fmt.plural(serving // copies, 'device')}"
    )
    return held + (f", {fmt.plural(idle, 'chip')} idle and paid" if idle else "")


@dataclass(frozen=True)
class Prices:
    """Each device's cheapest cloud offer and purchase price (arrays and lists over devices)."""

    cloud_price: np.ndarray  # USD per chip-hour, cheapest on-demand; nan where none
    cloud_chips: np.ndarray  # chips of that offer's instance that serve (its copies x devices per copy)
    cloud_offer: list[str]
    purchase_usd: np.ndarray  # nan where none
    purchase_offer: list[str]
    cloud_copies: np.ndarray  # model copies one instance of that offer holds (0 where none)
    cloud_instance: list[str]  # that instance and its chips, in words ("" where none)
    cloud_largest: list[str]  # where the market offers the device but no instance holds a copy: the largest


def prices(cat: Catalog, d: pd.DataFrame, market: str, replica: Mapping[str, float] | None = None) -> Prices:
    """The cloud offer (in ``market``, the cheapest per chip that serves among the instances that hold a
    whole copy of ``replica[device]`` devices) and the purchase price of each device (rows of ``d``)."""
    cheapest = (
        cheapest_cloud(cat, market, replica).set_index("device_id")
        if not cat.cloud_prices.empty
        else pd.DataFrame()
    )
    offered = market_offers(cat, market)
    largest = (
        first_per_device(offered.sort_values("chips", ascending=False, kind="stable")).set_index("device_id")
        if not offered.empty
        else pd.DataFrame()
    )
    cloud_copies = np.array([cheapest.loc[i, "copies"] if i in cheapest.index else 0 for i in d.id], float)
    cloud_instance = [instance_words(cheapest.loc[i]) if i in cheapest.index else "" for i in d.id]
    cloud_largest = [
        _named_with_chips(largest.loc[i]) if i in largest.index and i not in cheapest.index else ""
        for i in d.id
    ]
    purchase = cat.purchase_prices.set_index("device_id") if not cat.purchase_prices.empty else pd.DataFrame()
    cloud_price = np.array(
        [cheapest.loc[i, "price_usd_per_chip_hour"] if i in cheapest.index else np.nan for i in d.id]
    )
    cloud_chips = np.array([cheapest.loc[i, "chips"] if i in cheapest.index else 1 for i in d.id], float)
    cloud_offer = [offer_name(cheapest, i) if i in cheapest.index else "" for i in d.id]
    purchase_usd = np.array([purchase.loc[i, "price_usd"] if i in purchase.index else np.nan for i in d.id])
    purchase_offer = [
        upload_label(purchase, i)
        or (
            ("estimate" if purchase.loc[i, "estimate"] else "published")
            + f": {purchase.loc[i, 'source_title']} (as of {purchase.loc[i, 'as_of']})"
        )
        if i in purchase.index
        else ""
        for i in d.id
    ]
    return Prices(
        cloud_price,
        cloud_chips,
        cloud_offer,
        purchase_usd,
        purchase_offer,
        cloud_copies,
        cloud_instance,
        cloud_largest,
    )


def instance_words(offer: pd.Series) -> str:
    """A placed offer's instance and what it holds: "inf2.48xlarge (12 chips: 4 copies)", the chips left
    out where the instance's name states them ("tpu-v5litepod-8 (ct5lp-hightpu-8t, 8 chips) (1 copy)")."""
    chips, copies, serving = int(offer.instance_chips), int(offer.copies), int(offer.chips)
    idle = chips - serving
    held = fmt.plural(copies, "copy", "copies")
    if in_words := _unnamed_chips(offer.instance, chips):
        held = f"{in_words}: {held}"
    if idle:
        held += f", {fmt.plural(idle, 'chip')} idle and paid"
    return f"{offer.instance} ({held})"


def framework_support(cat: Catalog, d: pd.DataFrame) -> tuple[np.ndarray, list[list[str | None]]]:
    """(support level per device and framework, an index into SUPPORT_ORDER; the tool it goes through)."""
    fw = cat.frameworks.set_index(["device_id", "framework"])
    support = np.zeros((len(d), len(FRAMEWORKS)), int)
    via: list[list[str | None]] = []
    for i, dev_id in enumerate(d.id):
        row_via = []
        for j, f in enumerate(FRAMEWORKS):
            rec = fw.loc[(dev_id, f)]
            support[i, j] = SUPPORT_ORDER.index(rec.support)
            row_via.append(rec.via if isinstance(rec.via, str) else None)
        via.append(row_via)
    return support, via


def purchases(x: Inputs) -> np.ndarray:
    """How many times owned hardware is bought over the horizon (its lifetime may be shorter)."""
    return np.ceil(x.scenario.horizon_years / np.asarray(x.lifetime_years) - 1e-9)


def per_device_cost_rates(t: DeviceTable, x: Inputs, deployment: str) -> tuple[np.ndarray, np.ndarray]:
    """(hardware cost per device over the horizon, electricity-paying flag) for each device."""
    h = x.scenario.horizon_years
    if deployment == "cloud":  # a device that runs all term: on a commitment where that is cheaper
        basis = t.cloud_bases.get(x.scenario.cloud_pricing)
        ratio = all_term_ratio(basis, x.scenario.cloud_pricing, h)
        return t.cloud_price * ratio * HOURS_PER_YEAR * h, np.zeros(len(t.ids), bool)
    buys = purchases(x)
    if deployment == "bare-metal":  # the owner's cost: servers and their network at each purchase, and
        # every year their support and the rack space and power they are provisioned for
        kit = server_usd_per_device(t, x) * (1 + x.network_cost_ratio) * buys
        return kit + owner_recurring_per_year(t, x) * h, np.ones(len(t.ids), bool)
    # edge: an add-in accelerator (M.2, HAT, USB) needs the host computer it plugs into, bought with it
    host = np.where(t.power_class == "edge-addin", x.edge_host_usd, 0.0)
    return (t.purchase_usd + host) * buys, np.ones(len(t.ids), bool)


def server_usd_per_device(t: DeviceTable, x: Inputs) -> np.ndarray:
    """Bare metal, per device: its price and its share of the server around it, by server class. A PCIe
    card shares the price of a PCIe server without cards (``pcie_server_usd``) with the cards that server
    holds (``t.server_devices``); an 8-way baseboard server or a TPU/Trainium/Inferentia host adds
    ``host_cost_ratio`` of the devices' price (Epoch AI's server-to-chip multiplier)."""
    pcie = t.power_class == "pcie"
    share = x.pcie_server_usd / np.where(pcie, t.server_devices, 1.0)
    return np.where(pcie, t.purchase_usd + share, t.purchase_usd * (1 + x.host_cost_ratio))


def whole_pcie_servers_usd(t: DeviceTable, x: Inputs, devices: np.ndarray, servers: np.ndarray) -> np.ndarray:
    """Bare metal, over the horizon: what whole PCIe servers cost beyond the per-card shares that
    ``per_device_cost_rates`` charged ``devices`` cards: a fleet of 2 cards in 2 servers (N+1) pays for 2
    servers, not half of one. The server's price, its network at each purchase and its support each year;
    zero for the other classes (bought full) and where the count is unknown."""
    pcie = t.power_class == "pcie"
    h = x.scenario.horizon_years
    buys = purchases(x)
    with np.errstate(invalid="ignore"):
        shares = devices / np.where(pcie, t.server_devices, 1.0)  # servers' worth the cards paid for
        extra = np.where(pcie, np.maximum(servers - shares, 0.0), 0.0)
    per_server = x.pcie_server_usd * ((1 + x.network_cost_ratio) * buys + x.support_cost_ratio_per_year * h)
    return np.nan_to_num(extra * per_server)


def server_basis(t: DeviceTable, x: Inputs, i: int) -> str:
    """How device ``i``'s server is priced on bare metal, in words."""
    if t.power_class[i] == "pcie":
        n, r = float(t.server_devices[i]), float(t.replica[i])
        big = (
            f"; a copy of {r:g} cards takes a server of its own, costed as {r / n:.3g} of these"
            if r > n
            else ""
        )
        return (
            f"server: a PCIe server at {fmt.usd(x.pcie_server_usd)} without cards (catalog assumption "
            f"pcie_server_usd, estimate) holding up to {fmt.plural(n, 'card')}, whole servers bought{big}"
        )
    return (
        f"server: the devices' price x {1 + x.host_cost_ratio:.2f} (catalog assumption host_cost_ratio, "
        "Epoch AI's server-to-chip cost multiplier)"
    )


def owner_recurring_per_year(t: DeviceTable, x: Inputs) -> np.ndarray:
    """Bare metal, per device and year: support on its server and its share of the rack space and power
    (colocation per provisioned kW at the server wall; unknown power counts none, as for energy)."""
    support = server_usd_per_device(t, x) * x.support_cost_ratio_per_year
    space = np.nan_to_num(t.provisioned_w / 1e3 * x.colocation_usd_per_kw_month * 12)
    return support + space

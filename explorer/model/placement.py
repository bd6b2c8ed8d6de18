"""Placement: where one model copy lives, and which devices each deployment can use, with the reason where
one cannot.

A model copy lives inside one interconnect domain: one cloud instance, one server on bare metal, one board
at the edge. It needs enough devices to hold its weights (at the workload's storage precision, in
``MEMORY_HEADROOM`` of each device's memory; the rest is left to activations and the KV cache), an LLM's
raised to a number that divides its attention heads (``tensor_parallel_degree``), and runs
tensor-parallel over them: over the device's scale-up interconnect (NVLink, Infinity Fabric, NeuronLink,
ICI ...) up to its ``scale_up_domain``, and over the host's PCIe between cards past it, never across two
instances or servers. In the cloud an instance of N chips holds floor(N / devices per copy) copies and is
paid whole, chips no copy uses included (``explorer.model.cost.cheapest_cloud`` picks the offer that is
cheapest per copy); on bare metal a copy must fit one server (the device's reference server, else its
server class: ``server_size``; a PCIe card's copy past that takes a server of its own size, up to the
largest server sold for the card: ``largest_server``); at the edge, one device.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import fmt
from ..catalog import Catalog
from ..scenario import DEPLOYMENTS
from .assumptions import assumption
from .power import power_class
from .request import precision_bytes

if TYPE_CHECKING:
    from .cost import Prices
    from .devices import DeviceTable

MEMORY_HEADROOM = 0.8  # share of device memory usable for weights (the rest: activations, KV cache)
#: Devices on one baseboard of the "baseboard" server class (8-way HGX/UBB/HLS boards; POWER_CLASSES).
BASEBOARD_DEVICES = 8


@dataclass(frozen=True)
class Placement:
    """One model copy per device (arrays and lists over devices): how many devices it needs, whether it can
    be placed at all, and the domains it may span."""

    replica: np.ndarray  # devices per model copy (memory)
    fits: np.ndarray  # bool: memory (or a measurement) and a throughput are known
    fit_reason: list[str]
    weights_gb: float  # one copy's weights at the workload's storage precision
    domain: np.ndarray  # scale_up_domain: devices one copy spans over the scale-up link; nan where unknown
    interconnect: list[str]  # the scale-up interconnect in words ("" where the catalog has none)
    server_devices: np.ndarray  # devices one bare-metal server holds (the copy's domain on bare metal)
    server_what: list[str]  # that server in words, with where its size comes from
    server_max: np.ndarray  # the most devices a bare-metal copy may span (``largest_server``)
    #: per device, the weights' format its copies are counted at where a request serves another format than
    #: the workload's (``devices._placement_fields``); empty: the workload's own
    formats: tuple[str, ...] = ()


def server_size(cat: Catalog, dev: pd.Series) -> tuple[float, str]:
    """(devices one server holds, that server in words): the device's reference server where the catalog
    has one, else its server class (an 8-way baseboard; a PCIe server of ``pcie_devices_per_server``
    cards; one device in a cloud's own host or at the edge); never fewer than its scale-up domain (a
    rack-scale domain is one "server")."""
    domain = getattr(dev, "scale_up_domain", math.nan)
    domain = float(domain) if domain is not None and pd.notna(domain) and domain > 0 else math.nan
    n_ref = getattr(dev, "server_devices", math.nan)
    cls = power_class(dev.segment, getattr(dev, "form_factor", None))
    if n_ref is not None and pd.notna(n_ref) and n_ref > 0:
        n, what = float(n_ref), f"its reference server ({getattr(dev, 'server_system', None) or 'catalog'})"
    elif cls == "baseboard":
        n, what = float(BASEBOARD_DEVICES), "an 8-way baseboard server (its server class)"
    elif cls == "pcie":
        n = assumption(cat, "pcie_devices_per_server")
        what = "a PCIe server (its server class; catalog assumption pcie_devices_per_server)"
    else:
        n, what = 1.0, "one device (its server class)"
    if domain == domain and domain > n:
        n, what = domain, f"its scale-up domain of {domain:g} devices"
    return n, what


def largest_server(dev: pd.Series, n: float) -> float:
    """The most devices one bare-metal copy of ``dev`` may span: a PCIe card's largest server sold
    (``pcie_server_cards``: L40S 8, T4 16) where it holds more than its server class's ``n``
    (``server_size``), else ``n``. Such a copy takes a server of its own size, whose host is costed and
    powered per card as the class's (``copy_server``). Until late on 2026-12-06
    every PCIe card stopped at the class's 4, so Llama-2-70B at the interactive-chat preset (33 tokens/s per
    user; four L40S give one user 32) had no bare-metal L40S plan, while Dell's XE7740 and Cisco's C845A
    hold 8 L40S (MLPerf Inference v5.1)."""
    most = getattr(dev, "pcie_server_cards", math.nan)
    if power_class(dev.segment, getattr(dev, "form_factor", None)) != "pcie":
        return n
    return max(n, float(most)) if most is not None and pd.notna(most) else n


def copy_server(server: Any, replica: Any) -> np.ndarray:
    """Devices one bare-metal server holds as bought, for copies of ``replica`` devices: the device's server
    (``server``: its reference server or server class), or, for a PCIe card's copy of more devices than
    that (up to ``largest_server``), a server of the copy's own size, its host costed and powered per card
    as the class's (an 8-card copy pays for two of a 4-card class's hosts). Arrays or scalars."""
    return np.where(np.asarray(replica) > server, replica, server)


def place_copies(
    cat: Catalog,
    d: pd.DataFrame,
    w: pd.Series,
    measured: np.ndarray,
    rps: np.ndarray,
    formats: tuple[str, ...] = (),
) -> Placement:
    """Devices per model copy on each device (rows of ``d``), and the domains a copy may span.

    A copy's weights at the workload's precision (an LLM served in another format: at that one, per
    device in ``formats``; ``copies.copy_spans``) fill ``MEMORY_HEADROOM`` of each device's memory. A device
    with no published memory is placed only on its own measured result (``measured``: one device per
    copy); a device with no throughput (``rps``) is not offered.
    """
    n = len(d)
    replica = np.ones(n)
    fits = np.ones(n, bool)
    fit_reason: list[str] = []
    weights_gb = w.parameters * precision_bytes(w.precision) / 1e9
    own = [w.parameters * precision_bytes(f) / 1e9 for f in formats] if formats else [weights_gb] * n
    domain = np.full(n, np.nan)
    server = np.ones(n)
    server_max = np.ones(n)
    interconnect: list[str] = []
    server_what: list[str] = []
    for i, dev in d.iterrows():
        reason = ""
        if pd.notna(dev.memory_gb) and dev.memory_gb > 0:
            replica[i] = fewest_devices(float(dev.memory_gb), own[i], w.get("attention_heads"))
        elif not measured[i]:
            fits[i] = False
            reason = (
                f"no published memory to hold the model's {fmt.memory_gb(own[i])} of weights, and no "
                f"measured result on {w['name']}"
            )
        if fits[i] and not (rps[i] > 0):
            fits[i] = False
            reason = "no measured result, and no compute or bandwidth figure to estimate one"
        fit_reason.append(reason)
        dom = getattr(dev, "scale_up_domain", math.nan)
        domain[i] = float(dom) if dom is not None and pd.notna(dom) and dom > 0 else math.nan
        link = getattr(dev, "interconnect", None)
        interconnect.append(link if isinstance(link, str) and link else "")
        server[i], what = server_size(cat, dev)
        server_max[i] = largest_server(dev, server[i])
        server_what.append(what)
    return Placement(
        replica, fits, fit_reason, weights_gb, domain, interconnect, server, server_what, server_max, formats
    )


def fewest_devices(memory_gb: float, weights_gb: float, heads: Any) -> int:
    """The devices one copy needs: the fewest whose ``MEMORY_HEADROOM`` of memory holds its weights, split
    evenly over its attention heads (``tensor_parallel_degree``)."""
    return tensor_parallel_degree(max(1, math.ceil(weights_gb / (memory_gb * MEMORY_HEADROOM))), heads)


def tensor_parallel_degree(need: int, heads: Any) -> int:
    """The devices a copy of an LLM is split over: the fewest that hold its weights (``need``), raised to
    the next number that divides its attention heads, up to the next power of two. Serving stacks split
    the heads evenly over the devices (vLLM and TensorRT-LLM require it), so 70B's 64 heads go over 4
    devices, not 3. Where no such number is that near (an estimated head count of your own model, 37),
    ``need`` stands: the heads are padded, as AWS Neuron pads 64 heads over 24 cores. A model with no
    heads on record (not an LLM) keeps ``need``."""
    if heads is None or heads != heads or heads < 1:
        return need
    h, top = int(heads), 1 << (need - 1).bit_length()  # the next power of two at or above need
    return next((d for d in range(need, top + 1) if h % d == 0), need)


def unpriced_offers(cat: Catalog, device_id: str) -> str:
    """Why the catalog's offers of a device carry no price, as its price file records them (``price =
    { absent }``, ``Catalog.cloud_unpriced``): ": CoreWeave: its page prints 'Contact sales' ...;
    Nebius: ...", or "" for none."""
    u = cat.cloud_unpriced
    if u.empty:
        return ""
    rows = u[u.device_id == device_id]
    why = [f"{p}: {r}" for p, r in zip(rows.provider, rows.reason, strict=True)]
    return (": " + "; ".join(why)) if why else ""


def _link(p: Placement, i: int, r: int, where: str) -> str:
    """How a copy of ``r`` devices is joined inside ``where``: the scale-up interconnect up to its domain,
    the host's PCIe past it."""
    link = p.interconnect[i] or "an interconnect the catalog does not name"
    dom = p.domain[i]
    if r <= 1:
        return f"one device per copy, no link needed; {where}"
    if dom != dom:
        return (
            f"tensor-parallel over {r} devices inside {where} ({link}; the catalog gives no scale-up domain, "
            "so the copy is taken to span the instance or server)"
        )
    if r <= dom:
        return f"tensor-parallel over {r} devices inside {where}, over {link}"
    return (
        f"tensor-parallel over {r} devices inside {where}, over the host's PCIe between the cards "
        f"(its scale-up link joins {dom:g}: {link})"
    )


def _cannot(w: pd.Series, dev: pd.Series, p: Placement, i: int, domain: str, span: str) -> str:
    """Why a copy cannot be placed, the deciding figures first: "one copy needs 4 devices, and <domain>;
    a copy cannot span <span> (<the model>'s weights and the device's memory; its interconnect)"."""
    link = f"; {p.interconnect[i]}" if p.interconnect[i] else ""
    at = p.formats[i] if p.formats else str(w.precision)
    weights = w.parameters * precision_bytes(at) / 1e9
    return (
        f"one copy needs {int(p.replica[i]):,} devices, and {domain}; a copy cannot span {span} "
        f"({w['name']} needs {fmt.memory_gb(weights)} for its weights at {at}; each device "
        f"holds {fmt.memory_gb(dev.memory_gb * MEMORY_HEADROOM)} of them, {fmt.percent(MEMORY_HEADROOM)} of "
        f"its {fmt.memory_gb(dev.memory_gb)}{link})"
    )


def where_offered(
    cat: Catalog, d: pd.DataFrame, w: pd.Series, market: str, prices: Prices, p: Placement
) -> tuple[dict[str, np.ndarray], dict[str, list[str]], dict[str, list[str]]]:
    """Per deployment (cloud, bare-metal, edge): whether each device (rows of ``d``) is offered there with a
    model copy placed inside one domain, why not, and where its copies live (in words)."""
    n = len(d)
    ok = {k: np.zeros(n, bool) for k in DEPLOYMENTS}
    why: dict[str, list[str]] = {k: [] for k in DEPLOYMENTS}
    where: dict[str, list[str]] = {k: [] for k in DEPLOYMENTS}
    for i, dev in d.iterrows():
        r = int(p.replica[i])
        # cloud: offered by a cloud, with a price in the catalog, on an instance that holds a whole copy
        if not dev.cloud_available:
            note = f": {dev.cloud_note}" if dev.cloud_note else ""
            why["cloud"].append("not offered by any cloud" + note)
        elif prices.cloud_largest[i]:
            why["cloud"].append(
                _cannot(
                    w,
                    dev,
                    p,
                    i,
                    f"the largest instance offered, {prices.cloud_largest[i]}, has fewer",
                    "instances",
                )
            )
        elif np.isnan(prices.cloud_price[i]):
            elsewhere = market == "major-clouds" and (cat.cloud_prices.device_id == dev.id).any()
            why["cloud"].append(
                "offered in the cloud, but the catalog has no on-demand price for it"
                + (" from a major cloud (try cloud prices from any provider)" if elsewhere else "")
                + ("" if elsewhere else unpriced_offers(cat, dev.id))
            )
        else:
            ok["cloud"][i] = True
            why["cloud"].append("")
        where["cloud"].append(_link(p, i, r, f"one {prices.cloud_instance[i]}") if ok["cloud"][i] else "")
        # bare metal: can be bought, is a data-centre part, has a purchase price, and a copy fits one server
        server, most = p.server_devices[i], p.server_max[i]
        if not dev.bare_metal_available:
            why["bare-metal"].append(
                "cannot be bought" + (f": {dev.bare_metal_note}" if dev.bare_metal_note else "")
            )
        elif dev.segment != "datacenter":
            why["bare-metal"].append("an edge part, not a data-centre server device")
        elif np.isnan(prices.purchase_usd[i]):
            why["bare-metal"].append("the catalog has no purchase price for it")
        elif r > most:
            held = p.server_what[i] if most == server else "the largest sold; catalog pcie_server_cards"
            why["bare-metal"].append(_cannot(w, dev, p, i, f"one server holds {most:g} ({held})", "servers"))
        else:
            ok["bare-metal"][i] = True
            why["bare-metal"].append("")
        if not ok["bare-metal"][i]:
            where["bare-metal"].append("")
        elif r <= server:
            where["bare-metal"].append(_link(p, i, r, f"one server of {server:g} ({p.server_what[i]})"))
        else:
            own = f"more than the {server:g} of its server class; servers of up to {most:g} are sold"
            where["bare-metal"].append(
                _link(p, i, r, f"one server of {r:g} ({own}: catalog pcie_server_cards)")
            )
        # edge: an edge device with a purchase price, a copy on the one device (board) a site runs
        if not dev.edge_available:
            why["edge"].append("not an edge device" + (f": {dev.edge_note}" if dev.edge_note else ""))
        elif np.isnan(prices.purchase_usd[i]):
            why["edge"].append("the catalog has no purchase price for it")
        elif r > 1:
            why["edge"].append(_cannot(w, dev, p, i, "an edge site runs one", "devices"))
        else:
            ok["edge"][i] = True
            why["edge"].append("")
        where["edge"].append("one device per copy, on the one device a site runs" if ok["edge"][i] else "")
    return ok, why, where


def available(t: DeviceTable, deployment: str) -> tuple[np.ndarray, list[str]]:
    """(whether each device can serve in ``deployment``, why not): offered there with a copy placed inside
    one domain (``where_offered``) and a throughput to size the fleet by (``place_copies``)."""
    ok = {"cloud": t.cloud_ok, "bare-metal": t.bare_ok, "edge": t.edge_ok}[deployment]
    why = {"cloud": t.cloud_why, "bare-metal": t.bare_why, "edge": t.edge_why}[deployment]
    avail = ok & t.fits
    reasons = [w or f for w, f in zip(why, t.fit_reason, strict=True)]
    return avail, [("" if a else r) for a, r in zip(avail, reasons, strict=True)]

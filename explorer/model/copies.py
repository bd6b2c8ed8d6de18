"""Copies as served: over how many devices each LLM copy is split in a deployment, and the capacity there.

The serving model (``serving_catalog.serve``) takes the most devices a copy may span; this module chooses
that number per device where the deployment's containers (a cloud offer's instance, a bare-metal server)
set it: a tensor-parallel degree within the scale-up domain (a PCIe card's past it, over the host's PCIe:
``host_pcie``) and the container, the one with the lowest
cost per request, so that what the page says of a copy (``placement``: "tensor-parallel over 8 devices
inside one tpu-v6e-8") is what its throughput was computed at. ``devices.served_device_table`` calls it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import fields
from typing import TYPE_CHECKING, Any

import numpy as np

from ..catalog import Catalog
from .cache import per_catalog
from .cost import market_offers
from .placement import copy_server, place_copies
from .serving_catalog import Served

if TYPE_CHECKING:
    from .devices import DeviceTable


@per_catalog(maxsize=1)
def domains(cat: Catalog) -> np.ndarray:
    """Each device's scale-up domain in the table's order (by id), 1 where the catalog gives none."""
    devices = cat.devices.sort_values("id")
    if "scale_up_domain" not in devices:
        return np.ones(len(devices))
    dom = devices.scale_up_domain.astype(float).to_numpy()
    return np.where(dom >= 1, dom, 1.0)


def host_pcie(t: DeviceTable) -> np.ndarray:
    """Whether each device of ``t`` is a card in a PCIe server (its server class, ``t.power_class``), whose
    copy may reach past its scale-up domain over the host's PCIe to what its instance or server holds; a
    copy of a module on a baseboard, a cloud's own accelerator host or an edge board stays inside its
    domain (Google's multi-host TPU slices join their hosts over ICI and the data-centre network, not a
    host's PCIe)."""
    return np.asarray(t.power_class) == "pcie"


#: A vendor whose serving stack splits an LLM over any number of devices, padding the attention heads: AWS
#: Neuron's own latency tables run Llama-3-70B's 64 heads with tensor parallelism 24 over the 12 chips of an
#: inf2.48xlarge and 32 over the 16 of a trn1.32xlarge (``catalog/assumptions/serving.toml``,
#: decode_step_fixed_per_layer_aws_inferentia2 and _aws_trainium; placement's ``tensor_parallel_degree``).
PADS_HEADS_VENDOR = "AWS"


def tp_degrees(need: float, most: float, heads: Any) -> list[int]:
    """The devices a copy of an LLM may be split over, from ``need`` (the fewest that hold it, placement's
    ``tensor_parallel_degree``) to ``most`` (its container and domain): the numbers that divide its
    attention heads (serving stacks split the heads evenly), or, with no head count on record, ``need``,
    the powers of two past it and ``most``."""
    lo, hi = max(1, math.ceil(need - 1e-9)), math.floor(most + 1e-9)
    if hi < lo:
        return []
    if heads is not None and heads == heads and heads >= 1:
        found = [x for x in range(lo, hi + 1) if int(heads) % x == 0]
        return found or [lo]
    return sorted({lo, hi} | {1 << b for b in range(hi.bit_length()) if lo <= 1 << b <= hi})


@per_catalog(maxsize=32)
def copies_needed(cat: Catalog, workload: str, market: str, formats: tuple[str, ...]) -> tuple[float, ...]:
    """The fewest devices a copy of LLM ``workload`` takes on each device (the table's order), its weights
    in ``formats[k]`` (the format each device serves the request in): placement's count
    (``place_copies``) at those formats. Cached: a token move keeps the formats. Until 2026-12-06 copies
    were counted at the workload's own format whatever the request's: Llama-2-70B asked for in BF16 was
    placed as two L40S per copy (96 GB for 138 GB of weights) and as one Gaudi 2."""
    from .devices import device_table

    t = device_table(cat, workload, market)
    d = cat.devices.sort_values("id").reset_index(drop=True)
    w = cat.workloads.set_index("id").loc[workload]
    return tuple(float(x) for x in place_copies(cat, d, w, t.rps_measured, t.rps, formats).replica)


def copy_spans(
    cat: Catalog,
    t: DeviceTable,
    market: str,
    deployment: str,
    serve_at: Callable[[list[int], np.ndarray], Served],
    need: tuple[float, ...] | None = None,
) -> tuple[Served, np.ndarray]:
    """Each LLM device's copy as placed in ``deployment``, over the devices the capacity spreads it:
    a container (a cloud offer's instance of N chips, or on bare metal one server) holds floor(N / d) copies
    of d devices, d a tensor-parallel degree (``tp_degrees``) within the scale-up domain and the container,
    paid whole (idle chips too). Per device, the (offer, d) with the lowest cost per request: price per
    serving chip (the on-demand price; on bare metal the server's devices alike) over requests/s per device
    at d (``serve_at(devices, degrees)``: one call, a row per device and degree it may take).
    ``need``: the fewest devices a copy takes at the weights' format each device serves in (placement's
    count at the workload's own format where not given); a device no container holds a copy of takes that
    many, so that placement says why it cannot serve. Returns the capacity as served so and each device's
    devices per copy. Until 2026-12-06 the capacity
    spread every copy over the whole domain (72 GPUs of an NVL72 rack for an 8B model; eight for a 70B copy
    on a one-GPU cloud offer) while placement and pricing held copies of the fewest devices that fit: the
    page said 4 devices inside a tpu-v6e-8 where the throughput was 8's, and priced TPU v6e on one-chip
    instances."""
    need = tuple(float(x) for x in t.replica) if need is None else need
    cands = candidates(cat, str(t.workload["id"]), market, deployment, need)
    dom = domains(cat)
    n = len(t.ids)
    # each device at each degree it may take, and over its domain where no container holds it: one call
    has = {k for k, _, _, _ in cands}
    pairs = sorted(
        {(k, float(d)) for k, _, _, d in cands} | {(k, float(dom[k])) for k in range(n) if k not in has}
    )
    served = serve_at([k for k, _ in pairs], np.array([d for _, d in pairs]))
    row = {pair: j for j, pair in enumerate(pairs)}
    best: dict[int, tuple[float, float]] = {}  # device -> (cost per request, degree)
    for k, size, p, d in cands:
        rps = served.rps[row[(k, float(d))]]
        used = math.floor(size / d + 1e-9) * d
        if not (rps > 0 and used > 0):
            continue
        cost = p * size / used / rps
        if k not in best or cost < best[k][0] * (1 - 1e-12):
            best[k] = (cost, float(d))
    replica = np.asarray(need, float).copy()
    take_row = []
    for k in range(n):
        if k in best:
            replica[k] = best[k][1]
            take_row.append(row[(k, best[k][1])])
        elif k in has:  # held, but no degree serves: the largest degree's answer (its best case) says why
            widest = max((pair for pair in row if pair[0] == k), key=lambda pair: pair[1])
            replica[k] = widest[1]
            take_row.append(row[widest])
        else:
            take_row.append(row[(k, float(dom[k]))])
    out = {}
    for f in fields(served):
        v = getattr(served, f.name)
        out[f.name] = [v[j] for j in take_row] if isinstance(v, list) else np.asarray(v)[take_row]
    return Served(**out), replica


@per_catalog(maxsize=32)
def candidates(
    cat: Catalog, workload: str, market: str, deployment: str, need: tuple[float, ...]
) -> tuple[tuple[int, float, float, int], ...]:
    """(device index, container size, price per chip, degree) for every container that holds a copy of
    ``workload`` of ``need[device]`` devices in ``deployment`` and every degree it may split the copy over
    (``copy_spans``), cached: they depend on the catalog and the weights' format, not on the tokens."""
    from .devices import device_table

    t = device_table(cat, workload, market)
    dom = domains(cat)
    reach = np.where(host_pcie(t), np.inf, dom)  # past the domain, over the host's PCIe
    heads = t.workload.get("attention_heads")
    cloud = deployment == "cloud"
    if cloud:
        offers = market_offers(cat, market)
        if offers.empty:
            return ()
        k_of = offers.device_id.map({str(i): k for k, i in enumerate(t.ids)})
        offers = offers[k_of.notna()]
        ks = k_of[k_of.notna()].astype(int).to_numpy()
        sizes = offers.chips.astype(float).to_numpy()
        price = offers.price_usd_per_chip_hour.astype(float).to_numpy()
    else:  # bare metal: one server, whatever its devices cost; a PCIe card's copy past it, one of its size
        ks = np.arange(len(t.ids))
        sizes = np.asarray(t.server_max, float)
        price = np.ones(len(ks))
    out = []
    for k, size, p in zip(ks, sizes, price, strict=True):
        if not (size >= need[k] and p > 0):
            continue
        split = None if str(t.vendors[k]).startswith(PADS_HEADS_VENDOR) else heads
        out += [
            (int(k), float(size if cloud else copy_server(t.server_devices[k], d)), float(p), d)
            for d in tp_degrees(need[k], min(size, reach[k]), split)
        ]
    return tuple(out)


def take(v: Any, idx: list[int]) -> Any:
    """``v`` (an array or list over devices, or one value for all) at the devices ``idx``."""
    if isinstance(v, np.ndarray) and v.ndim == 1:
        return v[idx]
    if isinstance(v, list):
        return [v[k] for k in idx]
    return v

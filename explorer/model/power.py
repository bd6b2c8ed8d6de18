"""Power at every boundary: the device, the server wall (average and provisioned), the facility.

Each device is deployed in a server class with its own wall-power model (``power_class``); where the
catalog has an MLPerf Power result for the device on the workload, its measured energy per request is used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..catalog import Catalog
from .assumptions import assumption

POWER_CLASSES = {
    "baseboard": "8-way baseboard server (SXM/OAM modules)",
    "accelerator-host": "TPU/Trainium/Inferentia host (several chips per host)",
    "pcie": "PCIe server (cards sharing a host)",
    "edge-board": "edge board (the device is the computer)",
    "edge-addin": "edge add-in accelerator with its host computer",
}


def power_class(segment: str, form_factor: str | None) -> str:
    """The server class a device is deployed in, from its catalog segment and form factor.

    Edge parts on M.2/USB/HAT need a host computer (add-in); other edge parts are the computer (an SoC
    or module). In the data centre, SXM/OAM modules sit on 8-way baseboards, PCIe cards in PCIe servers,
    and chips sold only inside a cloud's own servers (TPU, Trainium, Inferentia) in their hosts.
    """
    ff = (form_factor or "").lower()
    if segment == "edge":
        return "edge-addin" if any(k in ff for k in ("m.2", "usb", " hat")) else "edge-board"
    head = ff.split(";")[0]
    if "sxm" in head or "oam" in head:
        return "baseboard"
    if "pcie" in head or "pci express" in head:
        return "pcie"
    return "accelerator-host"


@dataclass(frozen=True)
class WallPower:
    """Per-device power at the server wall for one workload (arrays over devices); see `wall_power`."""

    wall_ratio: np.ndarray
    wall_w: np.ndarray
    host_w: np.ndarray
    provisioned_w: np.ndarray
    power_class: np.ndarray
    power_estimated: np.ndarray
    wall_source: list[str]


def class_wall_w(
    cat: Catalog, dev: Any, devices_per_server: float | None = None
) -> tuple[float, float, float]:
    """(load-scaled wall W, constant host W, provisioned W) per device from its server class alone.

    At full load a device's server draws ``load-scaled + host`` watts per device on average (energy),
    and is provisioned for the third figure (rated: racks and circuits). ``devices_per_server`` sets the
    cards sharing a PCIe host (default: the catalog's ``pcie_devices_per_server``); nan where the device
    has no power figure and no reference server.
    """
    cls = power_class(dev.segment, getattr(dev, "form_factor", None))
    p = float(dev.power_w) if pd.notna(dev.power_w) else math.nan
    has_server = pd.notna(dev.server_power_w) and bool(dev.server_devices)
    per_server = dev.server_power_w / dev.server_devices if has_server else math.nan
    if math.isnan(p):
        # no device figure, but the reference system's (e.g. a Mac mini for the M4's Neural Engine)
        return per_server, 0.0, per_server
    if cls in ("baseboard", "accelerator-host"):
        scaled, host = p * assumption(cat, "wall_ratio_baseboard"), 0.0
        if has_server and dev.server_power_basis == "rated":
            prov = per_server
        elif cls == "baseboard":
            prov = p * assumption(cat, "host_power_ratio")
        else:
            prov = p * assumption(cat, "cloud_host_power_ratio")
    elif cls == "pcie":
        n = devices_per_server or assumption(cat, "pcie_devices_per_server")
        scaled, host = p, assumption(cat, "pcie_host_power_w") / n
        prov = p + host * assumption(cat, "provisioned_headroom_ratio")
    elif cls == "edge-addin":
        scaled, host = p, assumption(cat, "edge_host_power_w")
        prov = p + assumption(cat, "edge_host_rated_w")
    else:  # edge-board: the device's own board figure is the computer's
        scaled, host, prov = p, 0.0, p
    return scaled, host, max(prov, scaled + host)


def _measured_joules(cat: Catalog, workload: str) -> dict[str, tuple[float, str]]:
    """Measured wall energy per request per device on `workload` (MLPerf Power rows, server boundary)."""
    r = cat.results
    if r.empty or "power_w" not in r:
        return {}
    rows = r[
        (r.workload == workload)
        & r.comparable
        & r.power_w.notna()
        & (r.power_boundary == "server")
        & (r.requests_per_s_per_accelerator > 0)
    ]
    out: dict[str, tuple[float, str]] = {}
    for row in rows.itertuples():
        j = row.power_w / (row.accelerators * row.requests_per_s_per_accelerator)
        if row.device_id not in out or j < out[row.device_id][0]:  # the most efficient run measured
            out[row.device_id] = (
                j,
                f"measured: {row.benchmark} {row.scenario}, {row.system}, {row.power_w:,.0f} W at the wall "
                f"({j:.3g} J per request; {row.source_title}, retrieved {row.retrieved})",
            )
    return out


def wall_power(cat: Catalog, d: pd.DataFrame, workload: str, rps: np.ndarray) -> WallPower:
    """Wall power per device: measured energy per request where the catalog has an MLPerf Power result
    for the device on this workload (times the modelled throughput, capped at the provisioned power),
    else the server-class model (`class_wall_w`)."""
    n = len(d)
    ratio, scaled, host, prov = (np.full(n, np.nan) for _ in range(4))
    classes = np.empty(n, dtype=object)
    estimated = np.zeros(n, bool)
    sources: list[str] = []
    measured = _measured_joules(cat, workload)
    for i, dev in enumerate(d.itertuples()):
        classes[i] = power_class(dev.segment, dev.form_factor)
        estimated[i] = bool(dev.power_estimated)
        scaled[i], host[i], prov[i] = class_wall_w(cat, dev)
        ratio[i] = (scaled[i] / dev.power_w) if pd.notna(dev.power_w) and dev.power_w > 0 else np.nan
        if dev.id in measured and rps[i] > 0 and np.isfinite(prov[i]):
            j, text = measured[dev.id]
            scaled[i], host[i] = min(j * rps[i], prov[i]), 0.0
            sources.append(text)
        elif np.isfinite(scaled[i]):
            sources.append(
                f"modelled: {POWER_CLASSES[classes[i]]}, {scaled[i] + host[i]:,.0f} W per device at full "
                f"load, "
                f"{prov[i]:,.0f} W provisioned (catalog assumptions/servers)"
            )
        else:
            sources.append("no published power figure")
    return WallPower(ratio, scaled, host, prov, classes, estimated, sources)


def power_sources(cat: Catalog, d: pd.DataFrame) -> list[str]:
    """Where each device's rated power figure comes from (or that none is published)."""
    power_source = []
    for dev in d.itertuples():
        prov = cat.source_of("devices", dev.id, "power")
        # a figure is absent only where the catalog says why (a reason string); an empty cell is NaN,
        # which is truthy, and once made every device's power "unpublished"
        absent = prov is not None and isinstance(prov.get("absent"), str) and bool(prov["absent"])
        if prov is None or absent or not pd.notna(dev.power_w):
            power_source.append("no published power figure")
        else:
            kind = "estimate" if prov["estimate"] else f"{dev.power_basis} {dev.power_boundary} power"
            power_source.append(f"{kind}: {prov['source_title']} (retrieved {prov['retrieved']})")
    return power_source

"""Siblings: a device's figure against those of its vendor's devices with at least its specs.

A device with at least another's peak, memory bandwidth and memory (and, for an LLM copy, scale-up domain)
runs its vendor's software no slower. Where the model's figure for the lesser device rests on less evidence
than the greater device's (an estimate beside a measurement; a latency-bound figure carried further past
the device's own results), the lesser is held at the greater's figure, and its source says so.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..catalog import Catalog
from .cache import per_catalog
from .roofline import peak_ops

#: What a sibling must have at least as much of, beside the peak, to hold a device's figure (``sibling_cap``).
SIBLING_SPECS = ("memory_bandwidth_gbps", "memory_gb")


def sibling_cap(
    cat: Catalog,
    runs: dict[str, Any],
    device_id: str,
    rps: float,
    formats: tuple[str, str],
    *,
    exclude_device: str | None = None,
    exclude_result: Any = None,
) -> tuple[float, str]:
    """(the estimate ``rps`` held at its measured siblings, the words where one holds it: "" otherwise).

    A device without a measurement is estimated no higher than a device of its vendor (its software stack)
    measured on the workload (``runs``: ``calibration.measured_runs``, per device) in the same ``formats``
    (compute, storage) that has at least its peak at them, its memory bandwidth and its memory: the
    efficiency fitted on every vendor's runs (a vendor with fewer than ``VENDOR_MIN_DEVICES`` measured) put
    MI300X above the MI325X measured on SDXL (2.64 against 2.32 images/s) though the MI325X has its compute
    and more bandwidth and memory. For a workload whose request is the one measured (not an LLM, whose
    requests the serving model carries to other tokens, formats and bounds: ``held_at_siblings``); the
    held-out rows validation leaves out are left out here too."""
    devices = _by_id(cat)
    me = devices.loc[device_id]
    cap, words = rps, ""
    for other, c in runs.items():
        held_out = exclude_result is not None and c.result == exclude_result
        if other in (device_id, exclude_device) or held_out:
            continue  # validation's held-out result or device
        if (c.compute_precision, c.storage_precision) != formats or not c.measured_rps < cap:
            continue
        sib = devices.loc[other]
        if sib.vendor != me.vendor or not _at_least(sib, me, formats[0]):
            continue
        cap = float(c.measured_rps)
        words = (
            f"; held at the {sib['name']}'s measured {cap:,.3g} requests/s: the same vendor's device, "
            f"measured in the same formats, with at least its {formats[0].upper()} peak, memory bandwidth "
            "and memory"
        )
    return cap, words


@per_catalog(maxsize=4)
def _by_id(cat: Catalog) -> pd.DataFrame:
    """The catalog's devices indexed by id, once per catalog (a token move asks this)."""
    return cat.devices.set_index("id")


def _at_least(a: pd.Series, b: pd.Series, fmt: str, specs: tuple[str, ...] = SIBLING_SPECS) -> bool:
    """Whether device ``a`` has at least ``b``'s peak at ``fmt`` and each of ``specs`` (a figure ``b`` does
    not publish asks nothing of ``a``)."""
    pairs = [(peak_ops(a, fmt), peak_ops(b, fmt))] + [
        (float(a.get(k, math.nan)), float(b.get(k, math.nan))) for k in specs
    ]
    return all((y != y) or (x == x and x >= y) for x, y in pairs)


def held_at_siblings(
    cat: Catalog, ids: Any, rps: np.ndarray, formats: list[str], as_run: np.ndarray, reach: np.ndarray
) -> tuple[np.ndarray, list[str]]:
    """An LLM's served figures (``rps``, each device served in ``formats``' words) held at a sibling whose
    own measurements reach nearer the request: a figure the serving model made (not one measured as run,
    ``as_run``) is no higher than that of a device of its vendor served in the same format with at least
    its peak there, bandwidth, memory and scale-up domain, where that device's figure rests on results
    nearer the request (``reach``: per device, how far the request's speed per user lies past its
    tightest own result, 0 within it; infinite for an estimate). At the interactive preset on Llama-2-70B
    the H100, whose tightest result is MLPerf's Server bound (5 tokens/s per user), was carried to 9.7
    requests/s per GPU, where the H200, measured at the Interactive bound (25), served 7.8. Returns the
    figures and, per device, the words where one is held ("" otherwise)."""
    devices = _by_id(cat)
    ids = list(ids)
    out, words = np.array(rps, float), [""] * len(ids)
    for i, d in enumerate(ids):
        if as_run[i] or not rps[i] > 0 or not formats[i]:
            continue
        fmt = formats[i].split(" ")[0].lower()
        for j, m in enumerate(ids):
            if j == i or formats[j] != formats[i] or not rps[j] > 0 or not rps[j] < out[i]:
                continue
            if not reach[j] < reach[i] or devices.at[m, "vendor"] != devices.at[d, "vendor"]:
                continue
            if _at_least(devices.loc[m], devices.loc[d], fmt, (*SIBLING_SPECS, "scale_up_domain")):
                out[i] = float(rps[j])
                words[i] = (
                    f"; held at the {devices.at[m, 'name']}'s {out[i]:,.3g} requests/s: the same vendor's "
                    f"device, served in {formats[i]} with at least its peak, memory bandwidth, memory and "
                    "scale-up domain, whose own results reach nearer this request"
                )
    return out, words

"""The assumptions the model reads from ``catalog/assumptions``, each in the unit the model needs."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..catalog import Catalog
from ..catalog.assumptions import ASSUMPTION_UNITS
from .cache import per_catalog
from .serving import PcieLink

#: The assumptions the model reads from catalog/assumptions, with the unit it needs them in: declared with
#: the catalog (``explorer.catalog.assumptions``), whose loader converts each value to it once.
ASSUMPTIONS = ASSUMPTION_UNITS


class ModelError(ValueError):
    """The catalog lacks something the model needs (an assumption, a PUE default, a region)."""


def assumption(cat: Catalog, key: str) -> float:
    """The catalog's value of the assumption `key`, in the unit the model needs (``ASSUMPTIONS[key]``)."""
    frame, unit = cat.assumptions, ASSUMPTIONS[key]
    if key not in frame.index:
        raise ModelError(f"catalog/assumptions has no {key!r} ({unit}); the model needs it")
    if frame.at[key, "unit"] != unit:  # the loader could not convert it (another dimension)
        raise ModelError(
            f"catalog/assumptions gives {key!r} in {frame.at[key, 'printed_unit']}; "
            f"the model needs it in {unit}"
        )
    return float(frame.at[key, "value"])


#: The serving stack's fixed time per LLM decode step and layer; a device's own (its stack's, measured)
#: is the key with ``_<device id>`` added, ``-`` written ``_``.
FIXED_STEP_KEY = "decode_step_fixed_per_layer"
#: The serving stack's time per sequence in a decode step and layer beyond its reads and maths, whatever
#: its context (device-seconds; per-sequence kernels, sampling, scheduling): only a device whose stack has
#: runs at short and long contexts to tell it from the KV reads has one, the key with ``_<device id>``
#: added. Without one: none (0), the reads and maths alone.
SEQUENCE_KEY = "decode_sequence_fixed_per_layer"
#: Tensor-parallel all-reduces over the host's PCIe (``serving.PcieLink``): the latency per rank past the
#: first, and NCCL's bus bandwidth.
PCIE_KEYS = ("pcie_allreduce_latency_per_rank", "pcie_allreduce_bus_bandwidth")


def _own_s(cat: Catalog, stem: str, device_id: str) -> float | None:
    """A device's own figure of the per-layer time ``stem`` (``<stem>_<device id, '-' as '_'>``), in
    seconds, or None where the catalog has none."""
    key = f"{stem}_{device_id.replace('-', '_')}"
    frame = cat.assumptions
    if key not in frame.index:
        return None
    if frame.at[key, "unit"] != "ms":
        raise ModelError(
            f"catalog/assumptions gives {key!r} in {frame.at[key, 'printed_unit']}; the model needs a time "
            "(us, ms or s)"
        )
    return float(frame.at[key, "value"]) / 1e3


def fixed_step_s_per_layer(cat: Catalog, device_id: str | None = None) -> float:
    """The serving stack's fixed time per decode step and layer, in seconds: what the serving model adds to
    every step of an LLM whatever its batch. The device's own figure where the catalog has one (its vendor's
    stack measured: ``decode_step_fixed_per_layer_aws_inferentia2``), else ``decode_step_fixed_per_layer``."""
    own = None if device_id is None else _own_s(cat, FIXED_STEP_KEY, device_id)
    return own if own is not None else assumption(cat, FIXED_STEP_KEY) / 1e3


def sequence_s_per_layer(cat: Catalog, device_id: str) -> float:
    """The serving stack's fixed time per sequence, decode step and layer on ``device_id``, in seconds of
    one device (a copy on several shares it): the catalog's record for the device, else 0."""
    own = _own_s(cat, SEQUENCE_KEY, device_id)
    return 0.0 if own is None else own


def fixed_steps_s_per_layer(cat: Catalog, device_ids: Any) -> np.ndarray:
    """``fixed_step_s_per_layer`` for each of ``device_ids`` (read once per catalog)."""
    return _per_device(cat, FIXED_STEP_KEY, device_ids)


def sequences_s_per_layer(cat: Catalog, device_ids: Any) -> np.ndarray:
    """``sequence_s_per_layer`` for each of ``device_ids`` (read once per catalog)."""
    return _per_device(cat, SEQUENCE_KEY, device_ids)


def _per_device(cat: Catalog, stem: str, device_ids: Any) -> np.ndarray:
    every = _every_device(cat, stem)
    return np.array([every.get(str(i), every[None]) for i in device_ids], dtype=float)


@per_catalog(maxsize=2)
def _every_device(cat: Catalog, stem: str) -> dict[str | None, float]:
    """Every catalog device's figure of ``stem`` (``FIXED_STEP_KEY`` or ``SEQUENCE_KEY``), and under None
    what a device without one takes (the catalog-wide fixed step; no per-sequence time)."""
    if stem == FIXED_STEP_KEY:
        return {None: fixed_step_s_per_layer(cat)} | {
            str(i): fixed_step_s_per_layer(cat, str(i)) for i in cat.devices.id
        }
    return {None: 0.0} | {str(i): sequence_s_per_layer(cat, str(i)) for i in cat.devices.id}


@per_catalog(maxsize=2)
def pcie_link(cat: Catalog) -> PcieLink:
    """What a copy past its scale-up domain pays per all-reduce over the host's PCIe (``PCIE_KEYS``)."""
    hop, bus = (assumption(cat, k) for k in PCIE_KEYS)
    return PcieLink(hop_s=hop / 1e3, bus_bandwidth=bus * 1e9)

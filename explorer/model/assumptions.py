"""The assumptions the model reads from ``catalog/assumptions``, each in the unit the model needs."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..catalog import Catalog
from ..catalog.assumptions import ASSUMPTION_UNITS
from .cache import per_catalog

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


def fixed_step_s_per_layer(cat: Catalog, device_id: str | None = None) -> float:
    """The serving stack's fixed time per decode step and layer, in seconds: what the serving model adds to
    every step of an LLM whatever its batch. The device's own figure where the catalog has one (its vendor's
    stack measured: ``decode_step_fixed_per_layer_aws_inferentia2``), else ``decode_step_fixed_per_layer``."""
    if device_id is not None:
        key = f"{FIXED_STEP_KEY}_{device_id.replace('-', '_')}"
        frame = cat.assumptions
        if key in frame.index:
            if frame.at[key, "unit"] != "ms":
                raise ModelError(
                    f"catalog/assumptions gives {key!r} in {frame.at[key, 'printed_unit']}; the model needs "
                    "a time (us, ms or s)"
                )
            return float(frame.at[key, "value"]) / 1e3
    return assumption(cat, FIXED_STEP_KEY) / 1e3


def fixed_steps_s_per_layer(cat: Catalog, device_ids: Any) -> np.ndarray:
    """``fixed_step_s_per_layer`` for each of ``device_ids`` (read once per catalog)."""
    every = _fixed_steps(cat)
    return np.array([every.get(str(i), every[None]) for i in device_ids], dtype=float)


@per_catalog(maxsize=1)
def _fixed_steps(cat: Catalog) -> dict[str | None, float]:
    """Every catalog device's fixed step time, and the catalog-wide one under None."""
    return {None: fixed_step_s_per_layer(cat)} | {
        str(i): fixed_step_s_per_layer(cat, str(i)) for i in cat.devices.id
    }


#: The serving stack's time per sequence in a decode step and layer beyond its reads and maths, whatever
#: its context (device-seconds; per-sequence kernels, sampling, scheduling): only a device whose stack has
#: runs at short and long contexts to tell it from the KV reads has one, the key with ``_<device id>``
#: added. Without one: none (0), the reads and maths alone.
SEQUENCE_KEY = "decode_sequence_fixed_per_layer"


def sequence_s_per_layer(cat: Catalog, device_id: str) -> float:
    """The serving stack's fixed time per sequence, decode step and layer on ``device_id``, in seconds of
    one device (a copy on several shares it): the catalog's record for the device, else 0."""
    key = f"{SEQUENCE_KEY}_{device_id.replace('-', '_')}"
    frame = cat.assumptions
    if key not in frame.index:
        return 0.0
    if frame.at[key, "unit"] != "ms":
        raise ModelError(
            f"catalog/assumptions gives {key!r} in {frame.at[key, 'printed_unit']}; the model needs a time "
            "(us, ms or s)"
        )
    return float(frame.at[key, "value"]) / 1e3


def sequences_s_per_layer(cat: Catalog, device_ids: Any) -> np.ndarray:
    """``sequence_s_per_layer`` for each of ``device_ids`` (read once per catalog)."""
    every = _sequences(cat)
    return np.array([every.get(str(i), 0.0) for i in device_ids], dtype=float)


@per_catalog(maxsize=1)
def _sequences(cat: Catalog) -> dict[str, float]:
    return {str(i): sequence_s_per_layer(cat, str(i)) for i in cat.devices.id}

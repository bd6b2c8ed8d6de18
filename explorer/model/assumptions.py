"""The assumptions the model reads from ``catalog/assumptions``, each in the unit the model needs."""

from __future__ import annotations

from ..catalog import Catalog
from ..catalog.assumptions import ASSUMPTION_UNITS

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


def fixed_step_s_per_layer(cat: Catalog) -> float:
    """The serving stack's fixed time per decode step and layer, in seconds (``decode_step_fixed_per_layer``:
    what the serving model adds to every step of an LLM whatever its batch)."""
    return assumption(cat, "decode_step_fixed_per_layer") / 1e3

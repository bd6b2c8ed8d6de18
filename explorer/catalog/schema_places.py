"""The schema of the regions (electricity price, grid carbon), the PUE by deployment and the assumptions."""

from __future__ import annotations

from typing import Any

from .units import UNITS
from .validator import Issue, Quantity, Text, Validator, is_number

REGION_FIELDS: dict[str, Quantity | Text] = {
    "name": Text("Region name"),
    "notes": Text("Free text for reviewers", required=False),
    "electricity_price": Quantity(
        "Electricity price for a business buyer", "energy_price", "USD/kWh", (0.005, 2), as_of=True
    ),
    "grid_carbon_intensity": Quantity(
        "Grid carbon intensity of electricity", "carbon_intensity", "gCO2/kWh", (1, 2000), as_of=True
    ),
}

PUE_FIELDS: dict[str, Quantity | Text] = {
    "name": Text("Data-centre class"),
    "notes": Text("Free text for reviewers", required=False),
    "pue": Quantity(
        "Power usage effectiveness: facility power / IT power", "ratio", "ratio", (1.0, 4.0), as_of=True
    ),
}


ASSUMPTION_RECORD_EXTRA: dict[str, tuple[str, ...] | type] = {"low": float, "high": float}
#: The largest assumption value (or low/high) accepted, in the record's own unit: far above any real
#: figure (an engineer-day is ~900 USD, a server ~300,000 USD), low enough that the model's sums and
#: products stay finite.
ASSUMPTION_MAX = 1e9


def validate_assumptions(path: str, doc: dict[str, Any]) -> list[Issue]:
    """An assumptions file: `name`, then any number of named value records the calculators read.

    Each record may carry `low`/`high` (the plausible range, in the record's unit) for the uncertainty
    analysis. Which keys the calculators need, and in which dimension, is declared in explorer.calc.
    """
    v = Validator(path, doc)
    v.check_sources()
    v.check_text(doc, "", "name", Text("What these assumptions are about"))
    for key, rec in doc.items():
        if key in {"name", "notes", "sources"}:
            continue
        if not isinstance(rec, dict):
            v.error(key, "must be a value record { value, unit, source }")
            continue
        unit = rec.get("unit")
        dim = UNITS[unit].dimension if unit in UNITS else "ratio"
        spec = Quantity(
            key, dim, unit if unit in UNITS else "", (0.0, ASSUMPTION_MAX), extra=ASSUMPTION_RECORD_EXTRA
        )
        v.check_quantity(doc, "", key, spec)
        if isinstance(rec.get("value"), int | float) and rec.get("value") == 0:
            v.issues = [i for i in v.issues if not (i.field == f"{key}.value" and "positive" in i.message)]
        lo, hi = rec.get("low"), rec.get("high")
        if (lo is None) != (hi is None):
            v.error(key, "give both 'low' and 'high', or neither")
        elif lo is not None and not (is_number(lo) and is_number(hi) and lo <= rec.get("value", lo) <= hi):
            v.error(key, f"low {lo!r} <= value <= high {hi!r} must hold")
        elif lo is not None and not (lo >= 0 and hi <= ASSUMPTION_MAX):
            v.error(key, f"low {lo!r} and high {hi!r} must lie from 0 to {ASSUMPTION_MAX:g}")
    return v.issues


def validate_region(path: str, doc: dict[str, Any]) -> list[Issue]:
    v = Validator(path, doc)
    v.check_sources()
    v.check_fields(doc, REGION_FIELDS, extra_ok={"sources"})
    return v.issues


def validate_pue(path: str, doc: dict[str, Any]) -> list[Issue]:
    v = Validator(path, doc)
    v.check_sources()
    v.check_fields(doc, PUE_FIELDS, extra_ok={"sources"})
    return v.issues

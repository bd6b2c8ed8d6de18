"""The catalog's building blocks, and the validator that checks a parsed file against a schema.

The enumerations (kinds, frameworks, deployments, precisions), what a field is (`Quantity`, `Text`), what a
problem is (`Issue`, `CatalogError`) and `Validator`, which collects every problem in a file, each naming
the file, the field, what is wrong and what is allowed. Each collection's fields and checks are in its own
module (``schema_devices``, ``schema_workloads``, ``schema_places``); ``explorer.catalog.schema``
holds them all.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from typing import Any

from .units import UNITS, allowed_units, convert

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9.]*(-[a-z0-9][a-z0-9.]*)*\Z")  # \Z: no trailing newline

KINDS = ("gpu", "accelerator")
SEGMENTS = ("datacenter", "edge")
POWER_BASES = ("rated", "typical", "measured")
POWER_BOUNDARIES = ("chip", "board", "server")
SUPPORT_LEVELS = ("native", "sdk", "converter", "none")
#: The frameworks a team's model code is written in: declared once, here. The catalog's [frameworks] tables,
#: the scenario's framework mix (``explorer.scenario.FrameworkMix``, one field each) and the model read it.
FRAMEWORKS = ("tensorflow", "pytorch", "jax", "cuda", "onnx", "huggingface")
#: Where a fleet runs, declared once, spelt as people type it: the scenario, links, JSON and the CLI.
DEPLOYMENTS = ("cloud", "bare-metal", "edge")
#: A deployment's table in a device file (``[deployment.bare_metal]``) and its loaded columns
#: (``bare_metal_available``) take an underscore: the one place where the two spellings meet.
DEPLOYMENT_KEYS = {name: name.replace("-", "_") for name in DEPLOYMENTS}
# Number formats a measured result may name for its matrix maths (the device has a peak for each) and
# for the tensors it keeps in memory (weights and activations).
COMPUTE_PRECISIONS = ("int8", "fp8", "bf16", "fp16")
#: A measured result may also name FP4 matrix maths (Blackwell, MI355X: the device's peak_fp4_dense).
RESULT_COMPUTE_PRECISIONS = (*COMPUTE_PRECISIONS, "fp4")
STORAGE_PRECISIONS = ("int4", "fp4", "int8", "fp8", "bf16", "fp16", "fp32")

# Keys every value record may carry, whatever its field.
#: The earliest as-of date a price or energy figure may carry (uploaded price files take the same window).
AS_OF_FIRST = dt.date(2000, 1, 1)


def _day(value: Any) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def as_of_window() -> tuple[dt.date, dt.date]:
    """The as-of dates a price or energy figure may carry: from AS_OF_FIRST to a year from today (a
    catalog file's and an uploaded price file's alike)."""
    return AS_OF_FIRST, dt.date.today() + dt.timedelta(days=366)


RECORD_KEYS = frozenset({"value", "unit", "source", "note", "estimate", "method", "absent", "as_of"})


@dataclass(frozen=True)
class Quantity:
    """A field holding a value record."""

    doc: str
    dimension: str  # "date" for a date-valued record
    canonical: str = ""  # canonical unit; empty for dates
    bounds: tuple[float, float] = (0.0, math.inf)  # plausible range in the canonical unit
    required: bool = True
    as_of: bool = False  # prices and energy figures need an as-of date
    extra: dict[str, tuple[str, ...] | type] = field(default_factory=dict)  # extra keys: allowed values/type


@dataclass(frozen=True)
class Text:
    """A plain string field, optionally one of a fixed set."""

    doc: str
    choices: tuple[str, ...] = ()
    required: bool = True


POWER_EXTRA: dict[str, tuple[str, ...] | type] = {"basis": POWER_BASES, "boundary": POWER_BOUNDARIES}


SOURCE_KEYS = {"title", "publisher", "url", "published", "retrieved", "note"}


@dataclass(frozen=True)
class Issue:
    """One problem in one catalog file."""

    path: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: {self.field}: " if self.field else f"{self.path}: "
        return where + self.message


class CatalogError(ValueError):
    """The catalog (or a user's override folder) has invalid files; `issues` lists every problem."""

    def __init__(self, issues: list[Issue]):
        self.issues = list(issues)
        super().__init__("\n".join(str(i) for i in self.issues))


def is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def is_date(x: Any) -> bool:
    return isinstance(x, dt.date)  # TOML dates and date-times both


class Validator:
    """Checks one parsed file, collecting issues rather than stopping at the first."""

    def __init__(self, path: str, doc: dict[str, Any]):
        self.path = path
        self.doc = doc
        self.issues: list[Issue] = []
        self.sources: dict[str, Any] = doc.get("sources", {}) if isinstance(doc.get("sources"), dict) else {}

    def error(self, field_name: str, message: str) -> None:
        self.issues.append(Issue(self.path, field_name, message))

    # -- sources ---------------------------------------------------------------------------------
    def check_sources(self) -> None:
        raw = self.doc.get("sources")
        if raw is None:
            self.error(
                "sources", "missing: every file needs [sources.<key>] tables with title, url, retrieved"
            )
            return
        if not isinstance(raw, dict) or not raw:
            self.error("sources", "must be one or more [sources.<key>] tables")
            return
        for key, src in raw.items():
            name = f"sources.{key}"
            if not isinstance(src, dict):
                self.error(name, "must be a table with title, url, retrieved")
                continue
            for req in ("title", "url", "retrieved"):
                if req not in src or src[req] in ("", None):
                    self.error(name, f"missing '{req}' (a source needs title, url and retrieved date)")
            url = src.get("url")
            if isinstance(url, str) and not re.match(r"^https?://\S+$", url):
                self.error(f"{name}.url", f"{url!r} is not an http(s) URL")
            for dkey in ("retrieved", "published"):
                if dkey in src and not is_date(src[dkey]):
                    self.error(f"{name}.{dkey}", f"{src[dkey]!r} is not a date (write 2024-05-01, unquoted)")
            for extra in set(src) - SOURCE_KEYS:
                self.error(f"{name}.{extra}", f"unknown key; allowed: {', '.join(sorted(SOURCE_KEYS))}")

    def check_source_ref(self, field_name: str, ref: Any) -> None:
        refs = ref if isinstance(ref, list) else [ref]
        if ref in (None, "", []):
            self.error(field_name, "missing 'source': every value needs a source key")
            return
        for r in refs:
            if not isinstance(r, str):
                self.error(f"{field_name}.source", f"{r!r} is not a source key (a string)")
            elif r not in self.sources:
                known = ", ".join(sorted(self.sources)) or "none"
                self.error(f"{field_name}.source", f"{r!r} is not defined in [sources]; defined: {known}")

    # -- fields ----------------------------------------------------------------------------------
    def check_text(self, container: dict[str, Any], prefix: str, name: str, spec: Text) -> None:
        full = f"{prefix}{name}"
        if name not in container:
            if spec.required:
                self.error(full, f"missing ({spec.doc})")
            return
        value = container[name]
        if not isinstance(value, str) or not value.strip():
            self.error(full, f"must be a non-empty string, got {value!r}")
        elif spec.choices and value not in spec.choices:
            self.error(full, f"{value!r} is not allowed; allowed: {', '.join(spec.choices)}")

    def check_quantity(self, container: dict[str, Any], prefix: str, name: str, spec: Quantity) -> None:
        full = f"{prefix}{name}"
        if name not in container:
            if spec.required:
                self.error(
                    full, f"missing ({spec.doc}); write {{ value, unit, source }} or {{ absent, source }}"
                )
            return
        rec = container[name]
        if not isinstance(rec, dict):
            self.error(full, f"must be a record {{ value, unit, source }}, got {rec!r}")
            return
        allowed = RECORD_KEYS | set(spec.extra)
        for key in rec:
            if key not in allowed:
                self.error(f"{full}.{key}", f"unknown key; allowed: {', '.join(sorted(allowed))}")
        self.check_source_ref(full, rec.get("source"))
        if rec.get("estimate") is not None and not isinstance(rec.get("estimate"), bool):
            self.error(f"{full}.estimate", "must be true or false")
        if rec.get("estimate") is True and not str(rec.get("method", "")).strip():
            self.error(
                f"{full}.method", "an estimate needs 'method': how it was estimated, from which figures"
            )
        if spec.as_of and "absent" not in rec:
            if "as_of" not in rec:
                self.error(f"{full}.as_of", "missing: prices and energy figures need an as-of date")
            elif not is_date(rec["as_of"]):
                self.error(f"{full}.as_of", f"{rec['as_of']!r} is not a date (write 2024-05-01, unquoted)")
            elif not (window := as_of_window())[0] <= _day(rec["as_of"]) <= window[1]:
                self.error(
                    f"{full}.as_of",
                    f"{rec['as_of']} is out of range; allowed: a date from {window[0]} to {window[1]}",
                )
        for key, allowed_values in spec.extra.items():
            if isinstance(allowed_values, tuple):  # a required qualifier, one of a fixed set
                if key not in rec:
                    if "absent" not in rec:
                        self.error(f"{full}.{key}", f"missing; allowed: {', '.join(allowed_values)}")
                elif rec[key] not in allowed_values:
                    self.error(
                        f"{full}.{key}", f"{rec[key]!r} is not allowed; allowed: {', '.join(allowed_values)}"
                    )
            elif key in rec and not (allowed_values is float and is_number(rec[key])):
                self.error(f"{full}.{key}", f"{rec[key]!r} must be a number")  # an optional typed key
        if "absent" in rec:
            if "value" in rec:
                self.error(full, "has both 'value' and 'absent'; keep one")
            elif not isinstance(rec["absent"], str) or not rec["absent"].strip():
                self.error(f"{full}.absent", "must say why the figure is absent")
            return
        if "value" not in rec:
            self.error(full, "missing 'value' (or 'absent' with the reason no figure is given)")
            return
        value = rec["value"]
        if spec.dimension == "date":
            if not is_date(value):
                self.error(f"{full}.value", f"{value!r} is not a date (write 2024-05-01, unquoted)")
            return
        self.check_number(full, rec, spec)

    def check_number(self, full: str, rec: dict[str, Any], spec: Quantity) -> None:
        value, unit = rec.get("value"), rec.get("unit")
        if not is_number(value):
            self.error(f"{full}.value", f"{value!r} is not a number")
            return
        if not math.isfinite(value):
            self.error(f"{full}.value", f"{value!r} is not a finite number")
            return
        dims = ("request_rate", "token_rate") if spec.dimension == "rate" else (spec.dimension,)
        allowed = [u for d in dims for u in allowed_units(d)]
        if unit is None:
            self.error(f"{full}.unit", f"missing; allowed: {', '.join(allowed)}")
            return
        if unit not in UNITS or UNITS[unit].dimension not in dims:
            self.error(f"{full}.unit", f"unknown unit {unit!r} for this field; allowed: {', '.join(allowed)}")
            return
        if value <= 0:
            self.error(f"{full}.value", f"{value} must be positive")
            return
        canonical = spec.canonical or unit
        converted = convert(float(value), unit, canonical)
        lo, hi = spec.bounds
        if not lo <= converted <= hi:
            self.error(
                f"{full}.value",
                f"{value} {unit} is outside the plausible range {lo:g}–{hi:g} {canonical}",
            )

    def check_fields(
        self,
        container: dict[str, Any],
        fields: dict[str, Quantity | Text],
        prefix: str = "",
        extra_ok: set[str] | None = None,
    ) -> None:
        for name, spec in fields.items():
            if isinstance(spec, Text):
                self.check_text(container, prefix, name, spec)
            else:
                self.check_quantity(container, prefix, name, spec)
        allowed = set(fields) | (extra_ok or set())
        for key in container:
            if key not in allowed:
                self.error(f"{prefix}{key}", f"unknown field; allowed: {', '.join(sorted(allowed))}")

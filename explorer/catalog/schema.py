"""The catalog's schema, declared once, and the validator that checks a parsed file against it.

Every figure is a value record ``{ value, unit, source }`` (see ``catalog/README.md``). Each field is
declared here with its doc, the dimension of its unit, the canonical unit the loader converts to, and
sanity bounds in that canonical unit. The validator collects every problem in a file, each naming the
file, the field, what is wrong and what is allowed.
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
STORAGE_PRECISIONS = ("int4", "fp4", "int8", "fp8", "bf16", "fp16", "fp32")

# Keys every value record may carry, whatever its field.
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

DEVICE_FIELDS: dict[str, Quantity | Text] = {
    "name": Text("Product name as the vendor writes it"),
    "vendor": Text("Company that designs and sells the device"),
    "kind": Text("General-purpose GPU or specialised accelerator", KINDS),
    "segment": Text("Where it is meant to run", SEGMENTS),
    "form_factor": Text("Module or card format, as the vendor names it"),
    "release": Quantity("Date of general availability or announcement (month precision: the 1st)", "date"),
    "memory": Quantity("Device memory capacity", "bytes", "GB", (0.0001, 2000)),
    "memory_bandwidth": Quantity("Device memory bandwidth", "bandwidth", "GB/s", (0.1, 50_000)),
    "peak_bf16_dense": Quantity(
        "Peak dense BF16 throughput (no structured sparsity)", "flops", "TFLOPS", (0.01, 50_000), False
    ),
    "peak_fp16_dense": Quantity(
        "Peak dense FP16 throughput (no structured sparsity)", "flops", "TFLOPS", (0.01, 50_000), False
    ),
    "peak_int8_dense": Quantity(
        "Peak dense INT8 throughput (no structured sparsity)", "ops", "TOPS", (0.1, 100_000)
    ),
    "peak_fp8_dense": Quantity(
        "Peak dense FP8 throughput (no structured sparsity); optional: where it is omitted FP8 work runs at "
        "the INT8 peak",
        "flops",
        "TFLOPS",
        (0.01, 100_000),
        False,
    ),
    "power": Quantity(
        "Power of one device, with its basis and boundary", "power", "W", (0.1, 5000), extra=POWER_EXTRA
    ),
    "on_chip_memory": Quantity(
        "On-chip memory all compute units share, as the vendor prints it (a GPU's L2 cache, AMD's Infinity "
        "Cache, an NPU's on-chip SRAM); optional: without it no on-chip reuse is assumed",
        "bytes",
        "MB",
        (0.01, 100_000),
        False,
    ),
    "notes": Text("Free text for reviewers", required=False),
}

SERVER_FIELDS = {
    "devices": "number of devices in the reference server",
    "power": "the reference server's power",
    "unit": "unit of power",
    "basis": "rated | typical | measured",
    "boundary": "server",
    "system": "name of the reference server",
    "source": "source key",
    "note": "free text",
    "estimate": "true if estimated",
    "method": "how it was estimated",
}

PRICE_CLOUD = Quantity(
    "On-demand price of the whole instance", "money_per_hour", "USD/hour", (0.01, 2000), as_of=True
)
PRICE_PURCHASE = Quantity("Purchase price of one device", "money", "USD", (1, 2_000_000), as_of=True)

WORKLOAD_FIELDS: dict[str, Quantity | Text] = {
    "name": Text("Workload name"),
    "task": Text("The task, e.g. image classification"),
    "model": Text("The model and its version"),
    "request": Text("What one request is, in plain words"),
    "precision": Text("Precision it is usually served at"),
    "mlperf": Text("The MLPerf Inference benchmark one request matches, if any", required=False),
    "notes": Text("Free text for reviewers", required=False),
    "parameters": Quantity("Model parameters", "count", "count", (1e3, 1e13)),
    "compute_per_request": Quantity("Compute per request", "work", "GFLOP", (1e-3, 1e9)),
    "memory_traffic_per_request": Quantity("Memory traffic per request", "bytes", "MB", (1e-3, 1e9)),
    "activations_per_request": Quantity(
        "Activation elements one request writes (every layer's output), for the on-chip fit test; optional",
        "count",
        "count",
        (1, 1e13),
        False,
    ),
    "peak_activations_per_request": Quantity(
        "Most activation elements one request holds at once (a layer's input and output, plus any input "
        "kept for a later residual add), for the partial on-chip reuse test; optional",
        "count",
        "count",
        (1, 1e13),
        False,
    ),
    "input_tokens_per_request": Quantity(
        "Input tokens per request (LLMs)", "count", "count", (1, 1e7), False
    ),
    "output_tokens_per_request": Quantity(
        "Output tokens per request (LLMs)", "count", "count", (1, 1e7), False
    ),
}

RESULT_THROUGHPUT = Quantity("Measured throughput of the whole system", "rate", "", (1e-6, 1e9))
RESULT_POWER = Quantity("Measured power", "power", "W", (0.1, 1e6), required=False, extra=POWER_EXTRA)

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
        elif lo is not None and not (_is_number(lo) and _is_number(hi) and lo <= rec.get("value", lo) <= hi):
            v.error(key, f"low {lo!r} <= value <= high {hi!r} must hold")
        elif lo is not None and not (lo >= 0 and hi <= ASSUMPTION_MAX):
            v.error(key, f"low {lo!r} and high {hi!r} must lie from 0 to {ASSUMPTION_MAX:g}")
    return v.issues


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


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _is_date(x: Any) -> bool:
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
                if dkey in src and not _is_date(src[dkey]):
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
            elif not _is_date(rec["as_of"]):
                self.error(f"{full}.as_of", f"{rec['as_of']!r} is not a date (write 2024-05-01, unquoted)")
        for key, allowed_values in spec.extra.items():
            if isinstance(allowed_values, tuple):  # a required qualifier, one of a fixed set
                if key not in rec:
                    if "absent" not in rec:
                        self.error(f"{full}.{key}", f"missing; allowed: {', '.join(allowed_values)}")
                elif rec[key] not in allowed_values:
                    self.error(
                        f"{full}.{key}", f"{rec[key]!r} is not allowed; allowed: {', '.join(allowed_values)}"
                    )
            elif key in rec and not (allowed_values is float and _is_number(rec[key])):
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
            if not _is_date(value):
                self.error(f"{full}.value", f"{value!r} is not a date (write 2024-05-01, unquoted)")
            return
        self.check_number(full, rec, spec)

    def check_number(self, full: str, rec: dict[str, Any], spec: Quantity) -> None:
        value, unit = rec.get("value"), rec.get("unit")
        if not _is_number(value):
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


def validate_device(path: str, doc: dict[str, Any]) -> list[Issue]:
    v = Validator(path, doc)
    v.check_sources()
    v.check_fields(doc, DEVICE_FIELDS, extra_ok={"sources", "server", "deployment", "frameworks"})
    if "peak_bf16_dense" not in doc and "peak_fp16_dense" not in doc:
        v.error("peak_bf16_dense", "missing: give peak_bf16_dense or peak_fp16_dense (or absent = reason)")
    server = doc.get("server")
    if server is not None:
        _validate_server(v, server)
    dep = doc.get("deployment")
    if not isinstance(dep, dict):
        v.error("deployment", "missing: " + ", ".join(f"[deployment.{k}]" for k in DEPLOYMENT_KEYS.values()))
    else:
        for name in DEPLOYMENT_KEYS.values():
            _validate_deployment(v, name, dep.get(name))
        keys = DEPLOYMENT_KEYS.values()
        for key in set(dep) - set(keys):
            v.error(f"deployment.{key}", f"unknown deployment; allowed: {', '.join(keys)}")
    fw = doc.get("frameworks")
    if not isinstance(fw, dict):
        v.error("frameworks", f"missing: a [frameworks] table with {', '.join(FRAMEWORKS)}")
    else:
        for name in FRAMEWORKS:
            _validate_framework(v, name, fw.get(name))
        for key in set(fw) - set(FRAMEWORKS):
            v.error(f"frameworks.{key}", f"unknown framework; allowed: {', '.join(FRAMEWORKS)}")
    return v.issues


def _validate_server(v: Validator, server: Any) -> None:
    if not isinstance(server, dict):
        v.error("server", "must be a record { devices, power, unit, basis, boundary, system, source }")
        return
    for key in server:
        if key not in SERVER_FIELDS:
            v.error(f"server.{key}", f"unknown key; allowed: {', '.join(SERVER_FIELDS)}")
    devices = server.get("devices")
    if not isinstance(devices, int) or isinstance(devices, bool) or devices < 1:
        v.error("server.devices", f"{devices!r} must be a whole number of devices, at least 1")
    if not isinstance(server.get("system"), str):
        v.error("server.system", "missing: name the reference server")
    rec = {
        "value": server.get("power"),
        "unit": server.get("unit"),
        "source": server.get("source"),
        "basis": server.get("basis"),
        "boundary": server.get("boundary"),
    }
    for key in ("note", "estimate", "method"):
        if key in server:
            rec[key] = server[key]
    spec = Quantity("Reference server power", "power", "W", (1, 1e6), extra=POWER_EXTRA)
    v.check_quantity({"server": rec}, "", "server", spec)


def _validate_deployment(v: Validator, name: str, rec: Any) -> None:
    full = f"deployment.{name}"
    if not isinstance(rec, dict):
        v.error(full, "missing: a table with available = true/false and source")
        return
    allowed = {"available", "providers", "instances", "vendors", "source", "note"}
    for key in rec:
        if key not in allowed:
            v.error(f"{full}.{key}", f"unknown key; allowed: {', '.join(sorted(allowed))}")
    if not isinstance(rec.get("available"), bool):
        v.error(f"{full}.available", f"{rec.get('available')!r} must be true or false")
    for key in ("providers", "instances", "vendors"):
        if key in rec and (not isinstance(rec[key], list) or not all(isinstance(x, str) for x in rec[key])):
            v.error(f"{full}.{key}", "must be a list of names")
    if name == "cloud" and rec.get("available") is True and not rec.get("providers"):
        v.error(f"{full}.providers", "available in the cloud: name the providers")
    if name == "bare_metal" and rec.get("available") is True and not rec.get("vendors"):
        v.error(f"{full}.vendors", "can be bought: name the vendors that sell it")
    v.check_source_ref(full, rec.get("source"))


def _validate_framework(v: Validator, name: str, rec: Any) -> None:
    full = f"frameworks.{name}"
    if not isinstance(rec, dict):
        v.error(full, f"missing: {{ support = {' | '.join(SUPPORT_LEVELS)}, via, source }}")
        return
    for key in rec:
        if key not in {"support", "via", "source", "note"}:
            v.error(f"{full}.{key}", "unknown key; allowed: note, source, support, via")
    support = rec.get("support")
    if support not in SUPPORT_LEVELS:
        v.error(f"{full}.support", f"{support!r} is not allowed; allowed: {', '.join(SUPPORT_LEVELS)}")
    elif support in ("sdk", "converter") and not str(rec.get("via", "")).strip():
        v.error(f"{full}.via", f"support = {support!r}: name the SDK or converter in 'via'")
    v.check_source_ref(full, rec.get("source"))


def validate_prices(path: str, doc: dict[str, Any], item_id: str) -> list[Issue]:
    v = Validator(path, doc)
    v.check_sources()
    if doc.get("device") != item_id:
        v.error("device", f"{doc.get('device')!r} must equal the file's id {item_id!r}")
    allowed = {"device", "cloud", "purchase", "purchase_note", "purchase_note_source", "notes", "sources"}
    for key in doc:
        if key not in allowed:
            v.error(key, f"unknown field; allowed: {', '.join(sorted(allowed))}")
    cloud = doc.get("cloud", [])
    if not isinstance(cloud, list):
        v.error("cloud", "must be an array of tables: [[cloud]]")
        cloud = []
    for i, row in enumerate(cloud):
        prefix = f"cloud[{i}]."
        if not isinstance(row, dict):
            v.error(f"cloud[{i}]", "must be a table")
            continue
        for key in ("provider", "instance", "region"):
            v.check_text(row, prefix, key, Text(f"cloud {key}"))
        chips = row.get("chips")
        if not isinstance(chips, int) or isinstance(chips, bool) or chips < 1:
            v.error(
                f"{prefix}chips", f"{chips!r} must be a whole number of chips in the instance, at least 1"
            )
        v.check_quantity(row, prefix, "price", PRICE_CLOUD)
        for key in set(row) - {"provider", "instance", "region", "chips", "price", "note"}:
            v.error(f"{prefix}{key}", "unknown key; allowed: chips, instance, note, price, provider, region")
    purchase = doc.get("purchase")
    if purchase is None:
        if not doc.get("purchase_note"):
            v.error(
                "purchase", "missing: a [purchase] price, or purchase_note saying why it cannot be bought"
            )
        else:
            v.check_source_ref("purchase_note", doc.get("purchase_note_source"))
    elif not isinstance(purchase, dict):
        v.error("purchase", "must be a table with price = { value, unit, as_of, source }")
    else:
        v.check_quantity(purchase, "purchase.", "price", PRICE_PURCHASE)
        for key in set(purchase) - {"price", "note", "unit_sold"}:
            v.error(f"purchase.{key}", "unknown key; allowed: note, price, unit_sold")
    if not cloud and purchase is None:
        v.error("cloud", "a price file needs at least one [[cloud]] price or a [purchase] price")
    return v.issues


def validate_workload(path: str, doc: dict[str, Any]) -> list[Issue]:
    v = Validator(path, doc)
    v.check_sources()
    v.check_fields(doc, WORKLOAD_FIELDS, extra_ok={"sources"})
    return v.issues


def validate_results(path: str, doc: dict[str, Any], item_id: str) -> list[Issue]:
    v = Validator(path, doc)
    v.check_sources()
    if doc.get("workload") != item_id:
        v.error("workload", f"{doc.get('workload')!r} must equal the file's id {item_id!r}")
    for key in set(doc) - {"workload", "result", "sources", "notes"}:
        v.error(key, "unknown field; allowed: notes, result, sources, workload")
    rows = doc.get("result")
    if not isinstance(rows, list) or not rows:
        v.error("result", "missing: one or more [[result]] tables")
        return v.issues
    texts = ("device", "benchmark", "division", "scenario", "system", "submitter", "precision")
    formats = {
        "compute_precision": Text(
            "Format the matrix maths ran in, when the source states it", COMPUTE_PRECISIONS, False
        ),
        "storage_precision": Text(
            "Format weights and activations were kept in, when the source states it",
            STORAGE_PRECISIONS,
            False,
        ),
    }
    for i, row in enumerate(rows):
        prefix = f"result[{i}]."
        if not isinstance(row, dict):
            v.error(f"result[{i}]", "must be a table")
            continue
        for key in texts:
            v.check_text(row, prefix, key, Text(key, required=key not in ("submitter",)))
        for key, spec in formats.items():
            v.check_text(row, prefix, key, spec)
        n = row.get("accelerators")
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            v.error(f"{prefix}accelerators", f"{n!r} must be a whole number of accelerators, at least 1")
        v.check_quantity(row, prefix, "throughput", RESULT_THROUGHPUT)
        v.check_quantity(row, prefix, "power", RESULT_POWER)
        if "comparable" in row:
            if not isinstance(row["comparable"], bool):
                v.error(f"{prefix}comparable", "must be true or false")
            elif row["comparable"] is False and not str(row.get("why_not_comparable", "")).strip():
                v.error(
                    f"{prefix}why_not_comparable",
                    "comparable = false needs the reason: what differs from the workload's request",
                )
        for key in set(row) - {
            *texts,
            *formats,
            "accelerators",
            "throughput",
            "power",
            "note",
            "id",
            "comparable",
            "why_not_comparable",
        }:
            v.error(
                f"{prefix}{key}",
                f"unknown key; allowed: {', '.join(sorted({*texts, *formats, 'accelerators'}))}, "
                "throughput, power, note, id, comparable, why_not_comparable",
            )
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

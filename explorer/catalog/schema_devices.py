"""The schema of the devices (with their servers, deployments and frameworks) and of their prices."""

from __future__ import annotations

from typing import Any

from .validator import (
    DEPLOYMENT_KEYS,
    FRAMEWORKS,
    KINDS,
    POWER_EXTRA,
    SEGMENTS,
    SUPPORT_LEVELS,
    Issue,
    Quantity,
    Text,
    Validator,
)

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
    "peak_fp4_dense": Quantity(
        "Peak dense FP4 throughput (no structured sparsity; MXFP4/NVFP4 as the vendor prints it); optional: "
        "where it is omitted 4-bit work runs at the 8-bit peak",
        "flops",
        "TFLOPS",
        (0.01, 200_000),
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
    "interconnect": Text(
        "The scale-up interconnect as the vendor names it, with its per-device bandwidth (e.g. 'NVLink 4, "
        "900 GB/s per GPU'; 'PCIe Gen4 x16' for a card without one); optional. Its source is the "
        "scale_up_domain record's",
        required=False,
    ),
    "scale_up_domain": Quantity(
        "The most devices one model copy can span over that interconnect inside one server, instance or "
        "board (8 for HGX H100, 72 for GB200 NVL72, 1 for a PCIe card without a bridge); optional",
        "count",
        "count",
        (1, 100_000),
        False,
    ),
    "pcie_server_cards": Quantity(
        "The most of these cards one server sold holds (the largest such server found, e.g. an MLPerf system "
        "its vendor submitted as available); optional, for PCIe cards: on bare metal a copy spans up to it "
        "over the host's PCIe, past the server class's card count (servers.toml pcie_devices_per_server)",
        "count",
        "count",
        (1, 64),
        False,
    ),
    "trains": Quantity(
        "1 where the device trains models with the team's frameworks (a published MLPerf Training result or "
        "the vendor's training documentation, cited), 0 where it does not; optional: absent = not known to "
        "train, so the model never places training on it",
        "count",
        "count",
        (0, 1),
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
#: Optional prices of one cloud offer on other pricing bases, per instance-hour like `price`: the effective
#: hourly rate of a 1- or 3-year commitment (reservation, savings plan, committed-use discount; no upfront
#: payment where the source offers a choice) and the spot / preemptible rate. Where an offer has none, the
#: model uses its provider's sourced discount (catalog/assumptions/cloud-pricing.toml), else on-demand.
PRICE_BASES = {
    "price_1yr": Quantity(
        "Effective hourly price with a 1-year commitment, whole instance",
        "money_per_hour",
        "USD/hour",
        (0.01, 2000),
        required=False,
        as_of=True,
    ),
    "price_3yr": Quantity(
        "Effective hourly price with a 3-year commitment, whole instance",
        "money_per_hour",
        "USD/hour",
        (0.01, 2000),
        required=False,
        as_of=True,
    ),
    "price_spot": Quantity(
        "Spot / preemptible hourly price (capacity the provider may reclaim), whole instance",
        "money_per_hour",
        "USD/hour",
        (0.01, 2000),
        required=False,
        as_of=True,
    ),
}


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
        for key, spec in PRICE_BASES.items():
            v.check_quantity(row, prefix, key, spec)
        row_keys = {"provider", "instance", "region", "chips", "price", "note", *PRICE_BASES}
        for key in set(row) - row_keys:
            v.error(f"{prefix}{key}", f"unknown key; allowed: {', '.join(sorted(row_keys))}")
        same = [
            j
            for j, other in enumerate(cloud[:i])
            if isinstance(other, dict)
            and all(other.get(k) == row.get(k) for k in ("provider", "instance", "region"))
        ]
        if same:  # two prices for one offer: which one is meant? (an uploaded CSV refuses it too)
            v.error(
                f"cloud[{i}]",
                f"the same offer as cloud[{same[0]}] ({row.get('provider')}, {row.get('instance')}, "
                f"{row.get('region')}); allowed: one entry per provider, instance and region",
            )
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

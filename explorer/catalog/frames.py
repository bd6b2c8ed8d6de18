"""From value records to frames: one row per device, price, API offer or market point, in canonical units,
and the provenance rows that trace every figure to its source. ``explorer.catalog.load`` assembles them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from . import schema
from .schema import Quantity
from .units import UNITS, convert

# -- value records -> frames ----------------------------------------------------------------------------


def walk_refs(doc: dict[str, Any], prefix: str = "") -> Iterable[tuple[str, dict[str, Any]]]:
    """Every table holding a `source` key, with its dotted path."""
    for key, value in doc.items():
        if key == "sources":
            continue
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            if "source" in value:
                yield path, value
            yield from walk_refs({k: v for k, v in value.items() if isinstance(v, dict | list)}, path + ".")
        elif isinstance(value, list):
            for i, elem in enumerate(value):
                if isinstance(elem, dict):
                    yield from _walk_list(elem, f"{path}[{i}]")


def _walk_list(elem: dict[str, Any], path: str) -> Iterable[tuple[str, dict[str, Any]]]:
    if "source" in elem:
        yield path, elem
    yield from walk_refs({k: v for k, v in elem.items() if isinstance(v, dict | list)}, path + ".")


def _spec_for(collection: str, path: str) -> Quantity | None:
    leaf = path.rsplit(".", 1)[-1]
    if collection == "devices":
        spec = schema.DEVICE_FIELDS.get(leaf)
        if path == "server":
            return Quantity("Reference server power", "power", "W")
        return spec if isinstance(spec, Quantity) else None
    if collection == "prices":
        return schema.PRICE_PURCHASE if path.startswith("purchase") else schema.PRICE_CLOUD
    if collection == "workloads":
        spec = schema.WORKLOAD_FIELDS.get(leaf)
        return spec if isinstance(spec, Quantity) else None
    if collection == "results":
        if leaf in schema.RESULT_LATENCY_BOUNDS:
            return schema.RESULT_LATENCY_BOUNDS[leaf]
        return schema.RESULT_POWER if leaf == "power" else schema.RESULT_THROUGHPUT
    if collection == "regions":
        spec = schema.REGION_FIELDS.get(leaf)
        return spec if isinstance(spec, Quantity) else None
    if collection == "pue":
        return schema.PUE_FIELDS["pue"]  # type: ignore[return-value]
    if collection == "assumptions":
        return None  # kept as printed here; Catalog.assumptions holds them in their canonical units
    if collection == "market":
        spec = {"cost": schema.MARKET_COST, "tokens_per_s_per_user": schema.MARKET_INTERACTIVITY}.get(leaf)
        return spec or schema.MARKET_FIELDS.get(leaf)  # type: ignore[return-value]
    if collection == "apis":
        return schema.PRICE_TOKENS if leaf.endswith("_price") else schema.API_FIELDS["parameters"]  # type: ignore[return-value]
    return None


def provenance_rows(collection: str, item: str, doc: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for path, rec in walk_refs(doc):
        if path == "server":
            rec = {**rec, "value": rec.get("power")}
        if "value" not in rec and "absent" not in rec:
            continue  # a support level or deployment fact: no figure
        spec = _spec_for(collection, path)
        value, unit = rec.get("value"), rec.get("unit")
        canonical_unit = ""
        canonical = None
        if spec is not None and unit in UNITS and isinstance(value, int | float):
            canonical_unit = spec.canonical or (
                "samples/s"
                if UNITS[unit].dimension == "request_rate"
                else "tokens/s"
                if UNITS[unit].dimension == "token_rate"
                else unit
            )
            canonical = convert(float(value), unit, canonical_unit)
        refs = rec["source"] if isinstance(rec["source"], list) else [rec["source"]]
        srcs = [doc["sources"][r] for r in refs]
        rows.append(
            {
                "collection": collection,
                "item": item,
                "field": path,
                "value": value if not isinstance(value, dt.date) else value.isoformat(),
                "unit": unit,
                "canonical_value": canonical,
                "canonical_unit": canonical_unit,
                "absent": rec.get("absent"),
                "estimate": bool(rec.get("estimate", False)),
                "method": rec.get("method"),
                "note": rec.get("note"),
                "as_of": rec.get("as_of"),
                "source_key": ", ".join(refs),
                "source_title": "; ".join(s["title"] for s in srcs),
                "source_url": " ".join(s["url"] for s in srcs),
                "source_published": ", ".join(str(s["published"]) for s in srcs if s.get("published"))
                or None,
                "retrieved": max(s["retrieved"] for s in srcs),
            }
        )
    return rows


def number_of(doc: dict[str, Any], key: str, unit: str) -> float | None:
    rec = doc.get(key)
    if not isinstance(rec, dict) or "value" not in rec:
        return None
    return convert(float(rec["value"]), rec["unit"], unit)


def device_row(item: str, d: dict[str, Any]) -> dict[str, Any]:
    bf16, fp16 = number_of(d, "peak_bf16_dense", "TFLOPS"), number_of(d, "peak_fp16_dense", "TFLOPS")
    server = d.get("server") or {}
    dep = d["deployment"]
    power = d["power"]
    row: dict[str, Any] = {
        "id": item,
        "name": d["name"],
        "vendor": d["vendor"],
        "kind": d["kind"],
        "segment": d["segment"],
        "form_factor": d["form_factor"],
        "release_date": d["release"].get("value"),
        "memory_gb": number_of(d, "memory", "GB"),
        "memory_bandwidth_gbps": number_of(d, "memory_bandwidth", "GB/s"),
        # BF16 where the device has it, else FP16 (e.g. T4): `peak_16bit_format` says which.
        "peak_bf16_tflops": bf16 if bf16 is not None else fp16,
        "peak_16bit_format": "bf16" if bf16 is not None else ("fp16" if fp16 is not None else None),
        "peak_fp16_tflops": fp16,
        "peak_int8_tops": number_of(d, "peak_int8_dense", "TOPS"),
        "peak_fp8_tflops": number_of(d, "peak_fp8_dense", "TFLOPS"),
        "peak_fp4_tflops": number_of(d, "peak_fp4_dense", "TFLOPS"),
        "on_chip_memory_mb": number_of(d, "on_chip_memory", "MB"),
        "interconnect": d.get("interconnect"),
        "scale_up_domain": number_of(d, "scale_up_domain", "count"),
        "pcie_server_cards": number_of(d, "pcie_server_cards", "count"),
        "trains": bool(number_of(d, "trains", "count") or 0),
        "power_w": number_of(d, "power", "W"),
        "power_basis": power.get("basis"),
        "power_boundary": power.get("boundary"),
        "power_estimated": bool(power.get("estimate", False)),
        "server_system": server.get("system"),
        "server_devices": server.get("devices"),
        "server_power_w": convert(float(server["power"]), server["unit"], "W") if server else None,
        "server_power_basis": server.get("basis"),
        "cloud_available": dep["cloud"]["available"],
        "cloud_providers": list(dep["cloud"].get("providers", [])),
        "cloud_instances": list(dep["cloud"].get("instances", [])),
        "bare_metal_available": dep["bare_metal"]["available"],
        "bare_metal_vendors": list(dep["bare_metal"].get("vendors", [])),
        "bare_metal_vendor_count": len(dep["bare_metal"].get("vendors", [])),
        "edge_available": dep["edge"]["available"],
        "cloud_note": dep["cloud"].get("note"),
        "bare_metal_note": dep["bare_metal"].get("note"),
        "edge_note": dep["edge"].get("note"),
    }
    for fw in schema.FRAMEWORKS:
        row[fw] = d["frameworks"][fw]["support"]
    return row


def source_cols(doc: dict[str, Any], ref: str | list[str]) -> dict[str, Any]:
    refs = ref if isinstance(ref, list) else [ref]
    srcs = [doc["sources"][r] for r in refs]
    return {
        "source_title": "; ".join(s["title"] for s in srcs),
        "source_url": " ".join(s["url"] for s in srcs),
        "retrieved": max(s["retrieved"] for s in srcs),
    }


def price_bases(doc: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    """A cloud offer's optional prices on other bases (schema.PRICE_BASES), per chip-hour, and their sources.

    ``price_1yr_usd_per_chip_hour`` and ``price_1yr_source`` ("title (as of date)", "estimate: ..." for an
    estimate) for each basis; NaN and None where the offer has no such price. ``price_1yr_absent`` is the
    catalog's reason where it records that the offer has no such price to be had (``{ absent, source }``:
    Trainium2 has no published rate but an EC2 Capacity Block's, so no commitment price), None otherwise.
    """
    out: dict[str, Any] = {}
    for key in schema.PRICE_BASES:
        rec = row.get(key)
        out[f"{key}_absent"] = None
        if isinstance(rec, dict) and "value" in rec:
            src = source_cols(doc, rec["source"])["source_title"]
            per_instance = convert(float(rec["value"]), rec["unit"], "USD/hour")
            out[f"{key}_usd_per_chip_hour"] = per_instance / row["chips"]
            kind = "estimate: " if rec.get("estimate") else ""
            out[f"{key}_source"] = f"{kind}{src} (as of {rec['as_of']})"
        else:
            out[f"{key}_usd_per_chip_hour"] = float("nan")
            out[f"{key}_source"] = None
            if isinstance(rec, dict) and "absent" in rec:
                out[f"{key}_absent"] = str(rec["absent"])
                out[f"{key}_source"] = source_cols(doc, rec["source"])["source_title"]
    return out


API_COLS = [
    "api_id",
    "name",
    "model",
    "serves",
    "comparable",
    "parameters",
    "provider",
    "model_id",
    "tier",
    "input_usd_per_mtoken",
    "output_usd_per_mtoken",
    "as_of",
    "note",
    "source_title",
    "source_url",
    "retrieved",
]


def api_rows(apis: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per serverless API offer, its prices in USD per million tokens."""
    rows = []
    for item, d in apis.items():
        for offer in d["offer"]:
            pin, pout = offer["input_price"], offer["output_price"]
            if "value" not in pin or "value" not in pout:  # absent: no published price
                continue
            rows.append(
                {
                    "api_id": item,
                    "name": d["name"],
                    "model": d["model"],
                    "serves": tuple(d["serves"]),
                    "comparable": d.get("comparable"),
                    "parameters": number_of(d, "parameters", "count"),
                    "provider": offer["provider"],
                    "model_id": offer["model_id"],
                    "tier": offer["tier"],
                    "input_usd_per_mtoken": convert(float(pin["value"]), pin["unit"], "USD/Mtoken"),
                    "output_usd_per_mtoken": convert(float(pout["value"]), pout["unit"], "USD/Mtoken"),
                    "as_of": max(pin["as_of"], pout["as_of"]),
                    "note": offer.get("note"),
                    **source_cols(d, list(dict.fromkeys([*_refs(pin["source"]), *_refs(pout["source"])]))),
                }
            )
    return rows


MARKET_COLS = [
    "market_id",
    "publisher",
    "title",
    "workload",
    "comparable",
    "pricing",
    "tokens",
    "software",
    "precision",
    "served_at",
    "served_at_method",
    "input_tokens",
    "output_tokens",
    "gpu_usd_per_hour",
    "price_stated",
    "providers",
    "device_id",
    "tokens_per_s_per_user",
    "usd_per_mtoken",
    "as_of",
    "note",
    "calibrates",
    "source_title",
    "source_url",
    "retrieved",
]


def market_rows(market: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per published point: its device, interactivity and cost per million tokens, with the
    conditions its file states (tokens per request, how the GPU-hour is priced)."""
    rows = []
    for item, d in market.items():
        names = (d.get("providers") or {}).get("names")
        for point in d["point"]:
            cost, speed = point["cost"], point["tokens_per_s_per_user"]
            if "value" not in cost or "value" not in speed:
                continue
            # a price the source states for this point's device comes before the file's own
            gpu = point.get("gpu_price") or d.get("gpu_price") or {}
            refs = [*_refs(cost["source"]), *_refs(speed["source"])]
            if "source" in gpu:
                refs += _refs(gpu["source"])
            if names and "source" in d["providers"]:
                refs += _refs(d["providers"]["source"])
            served = d.get("served_at") or {}
            if "source" in served:
                refs += _refs(served["source"])
            rows.append(
                {
                    "market_id": item,
                    "publisher": d["publisher"],
                    "title": d["title"],
                    "workload": d["workload"],
                    "comparable": d.get("comparable"),
                    "pricing": d["pricing"],
                    "tokens": d["tokens"],
                    "software": d["software"],
                    "precision": d["precision"],
                    # where the source states none: the precision the check serves its points at
                    "served_at": served.get("value"),
                    "served_at_method": served.get("method"),
                    "input_tokens": number_of(d, "input_tokens", "count"),
                    "output_tokens": number_of(d, "output_tokens", "count"),
                    "gpu_usd_per_hour": convert(float(gpu["value"]), gpu["unit"], "USD/hour")
                    if "value" in gpu
                    else float("nan"),
                    "price_stated": "value" in gpu,
                    "providers": tuple(names) if names else None,
                    "device_id": point["device"],
                    "tokens_per_s_per_user": convert(float(speed["value"]), speed["unit"], "tokens/s"),
                    "usd_per_mtoken": convert(float(cost["value"]), cost["unit"], "USD/Mtoken"),
                    "as_of": cost["as_of"],
                    "note": point.get("note") or cost.get("note"),
                    "calibrates": point.get("calibrates"),
                    **source_cols(d, list(dict.fromkeys(refs))),
                }
            )
    return rows


def _refs(ref: str | list[str]) -> list[str]:
    return ref if isinstance(ref, list) else [ref]


CLOUD_COLS = [
    "device_id",
    "provider",
    "instance",
    "region",
    "chips",
    "price_usd_per_hour",
    "price_usd_per_chip_hour",
    "as_of",
    "estimate",
    "note",
    "source_title",
    "source_url",
    "retrieved",
    *(f"{key}_{col}" for key in schema.PRICE_BASES for col in ("usd_per_chip_hour", "source", "absent")),
]
PURCHASE_COLS = [
    "device_id",
    "price_usd",
    "unit_sold",
    "as_of",
    "estimate",
    "method",
    "note",
    "source_title",
    "source_url",
    "retrieved",
]

"""Load the catalog's TOML files into pandas, with units converted and provenance kept for every figure.

Reading the folders is ``explorer.catalog.documents``; the rows of each frame, ``explorer.catalog.frames``;
this module assembles the `Catalog` from them and caches it until a file changes.

Layering: this module imports pandas and the standard library only (no ipywidgets, altair, IPython).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from . import schema
from .assumptions import assumptions_frame
from .documents import (
    COLLECTIONS,
    MAX_FOLDER_ENTRIES,
    USER_CATALOG_ENV,
    default_catalog_dir,
    merge_documents,
    read_documents,
)
from .documents import folder_problem as _folder_problem
from .documents import toml_files as _toml_files
from .documents import user_dirs_from_env as _user_dirs_from_env
from .frames import API_COLS as _API_COLS
from .frames import CLOUD_COLS as _CLOUD_COLS
from .frames import MARKET_COLS as _MARKET_COLS
from .frames import PURCHASE_COLS as _PURCHASE_COLS
from .frames import api_rows as _api_rows
from .frames import device_row as _device_row
from .frames import market_rows as _market_rows
from .frames import number_of as _num
from .frames import price_bases as _price_bases
from .frames import provenance_rows as _provenance_rows
from .frames import source_cols as _source_cols
from .frames import walk_refs as _walk_refs
from .schema import CatalogError, Issue
from .units import UNITS, convert


@dataclass(frozen=True)
class Catalog:
    """Everything in the catalog, as pandas frames in canonical units.

    ``provenance`` has one row per figure (collection, item, field) with its value as printed, the
    canonical value, and its source's title, URL and dates: every number the explorer shows can be
    traced back through it.
    """

    devices: pd.DataFrame
    frameworks: pd.DataFrame
    cloud_prices: pd.DataFrame
    purchase_prices: pd.DataFrame
    workloads: pd.DataFrame
    results: pd.DataFrame
    regions: pd.DataFrame
    pue: pd.DataFrame
    provenance: pd.DataFrame
    documents: dict[str, dict[str, dict[str, Any]]] = field(repr=False)
    files: dict[str, dict[str, list[str]]] = field(repr=False)
    #: Serverless API offers priced per token (catalog/apis), one row per offer; see `_api_rows`.
    api_prices: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    #: Every assumption (catalog/assumptions), one row per key in its canonical unit, with its range and
    #: source: what the model and the uncertainty analysis read (`explorer.catalog.assumptions`).
    assumptions: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    #: Published costs per million tokens (catalog/market), one row per point; see `_market_rows`.
    market: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    #: The cloud offers recorded without a price (``price = { absent }``: the provider rents the device but
    #: prints no price), one row per offer: device_id, provider, instance, region, the reason and its source.
    cloud_unpriced: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    def source_of(self, collection: str, item: str, field_name: str) -> dict[str, Any] | None:
        """The provenance row of one figure, or None where the catalog has no such figure."""
        p = self.provenance
        rows = p[(p.collection == collection) & (p.item == item) & (p.field == field_name)]
        # an empty cell is None, not NaN: NaN is truthy, so `rec.get("absent")` took every figure as absent
        return None if rows.empty else {k: jsonable(v) for k, v in rows.iloc[0].to_dict().items()}

    def device_records(self) -> list[dict[str, Any]]:
        """Devices as JSON-ready records in canonical units, each with the sources of its figures."""
        out = []
        for row in self.devices.to_dict("records"):
            rec = {k: jsonable(v) for k, v in row.items()}
            rec["sources"] = self._sources_for("devices", row["id"])
            out.append(rec)
        return out

    def workload_records(self) -> list[dict[str, Any]]:
        out = []
        for row in self.workloads.to_dict("records"):
            rec = {k: jsonable(v) for k, v in row.items()}
            rec["sources"] = self._sources_for("workloads", row["id"])
            out.append(rec)
        return out

    def _sources_for(self, collection: str, item: str) -> list[dict[str, Any]]:
        doc = self.documents[collection][item]
        used: dict[str, list[str]] = {}
        for path, rec in _walk_refs(doc):
            refs = rec.get("source")
            for ref in refs if isinstance(refs, list) else [refs]:
                used.setdefault(ref, []).append(path)
        sources = []
        for key, fields in used.items():
            src = doc["sources"][key]
            sources.append(
                {
                    "key": key,
                    "title": src["title"],
                    "publisher": src.get("publisher"),
                    "url": src["url"],
                    "published": jsonable(src.get("published")),
                    "retrieved": jsonable(src["retrieved"]),
                    "fields": fields,
                }
            )
        return sources

    def item_sources(self, collection: str, item: str) -> dict[str, dict[str, Any]]:
        """The sources one catalog item lists, by key (title, publisher, url, published, retrieved, note):
        empty for an item the documents do not hold (an uploaded offer carries its source in its row)."""
        doc = self.documents.get(collection, {}).get(item, {})
        sources = doc.get("sources", {}) if isinstance(doc, dict) else {}
        return {key: dict(src) for key, src in sources.items()}

    def source_records(self) -> list[dict[str, Any]]:
        """Every source of every item, in catalog order: collection, item, key and the source's fields."""
        return [
            {"collection": collection, "item": item, "key": key, **src}
            for collection, docs in self.documents.items()
            for item in docs
            for key, src in self.item_sources(collection, item).items()
        ]


def jsonable(v: Any) -> Any:
    """A value as JSON holds it: dates as ISO text, NaN as None, numpy scalars as Python ones."""
    if v is None:
        return None
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, pd.Timestamp):
        return v.date().isoformat()
    if isinstance(v, float) and v != v:  # NaN
        return None
    if hasattr(v, "item") and not isinstance(v, list | tuple | dict | str):
        try:
            return jsonable(v.item())
        except (ValueError, AttributeError):
            return v
    if isinstance(v, list | tuple):
        return [jsonable(x) for x in v]
    return v


def build_catalog(
    docs: dict[str, dict[str, dict[str, Any]]], files: dict[str, dict[str, list[str]]]
) -> Catalog:
    devices = pd.DataFrame([_device_row(i, d) for i, d in docs["devices"].items()])

    fw_rows = []
    for item, d in docs["devices"].items():
        for fw in schema.FRAMEWORKS:
            rec = d["frameworks"][fw]
            fw_rows.append(
                {
                    "device_id": item,
                    "framework": fw,
                    "support": rec["support"],
                    "via": rec.get("via"),
                    "note": rec.get("note"),
                    **_source_cols(d, rec["source"]),
                }
            )

    cloud_rows, purchase_rows, unpriced_rows = [], [], []
    for item, d in docs["prices"].items():
        for row in d.get("cloud", []):
            p = row["price"]
            if "value" not in p:  # absent: the offer exists but no price is published
                unpriced_rows.append(
                    {
                        "device_id": item,
                        "provider": row["provider"],
                        "instance": row["instance"],
                        "region": row["region"],
                        "reason": p["absent"],
                        **_source_cols(d, p["source"]),
                    }
                )
                continue
            per_instance = convert(float(p["value"]), p["unit"], "USD/hour")
            cloud_rows.append(
                {
                    "device_id": item,
                    "provider": row["provider"],
                    "instance": row["instance"],
                    "region": row["region"],
                    "chips": row["chips"],
                    "price_usd_per_hour": per_instance,
                    "price_usd_per_chip_hour": per_instance / row["chips"],
                    "as_of": p["as_of"],
                    "estimate": bool(p.get("estimate", False)),
                    "note": row.get("note") or p.get("note"),
                    **_source_cols(d, p["source"]),
                    **_price_bases(d, row),
                }
            )
        purchase = d.get("purchase")
        if purchase and "value" in purchase["price"]:
            p = purchase["price"]
            purchase_rows.append(
                {
                    "device_id": item,
                    "price_usd": convert(float(p["value"]), p["unit"], "USD"),
                    "unit_sold": purchase.get("unit_sold"),
                    "as_of": p["as_of"],
                    "estimate": bool(p.get("estimate", False)),
                    "method": p.get("method"),
                    "note": p.get("note"),
                    **_source_cols(d, p["source"]),
                }
            )

    workload_rows = []
    for item, d in docs["workloads"].items():
        workload_rows.append(
            {
                "id": item,
                "name": d["name"],
                "task": d["task"],
                "model": d["model"],
                "request": d["request"],
                "precision": d["precision"],
                "mlperf": d.get("mlperf"),
                "parameters": _num(d, "parameters", "count"),
                "compute_gflop_per_request": _num(d, "compute_per_request", "GFLOP"),
                "memory_traffic_mb_per_request": _num(d, "memory_traffic_per_request", "MB"),
                "activations_per_request": _num(d, "activations_per_request", "count"),
                "peak_activations_per_request": _num(d, "peak_activations_per_request", "count"),
                "input_tokens_per_request": _num(d, "input_tokens_per_request", "count"),
                "output_tokens_per_request": _num(d, "output_tokens_per_request", "count"),
                "active_parameters": _num(d, "active_parameters", "count"),
                "layers": _num(d, "layers", "count"),
                "attention_heads": _num(d, "attention_heads", "count"),
                "kv_heads": _num(d, "kv_heads", "count"),
                "head_dim": _num(d, "head_dim", "count"),
                "context_tokens": _num(d, "context_tokens", "count"),
            }
        )
    workloads = pd.DataFrame(workload_rows)
    out_tokens = {r["id"]: r["output_tokens_per_request"] for r in workload_rows}

    result_rows = []
    for workload_id, d in docs["results"].items():
        for i, row in enumerate(d["result"]):
            t = row["throughput"]
            dim = UNITS[t["unit"]].dimension
            per_acc = float(t["value"]) / row["accelerators"]
            tokens = out_tokens.get(workload_id)
            if dim == "request_rate":
                rps = per_acc
            elif tokens:
                rps = per_acc / tokens  # tokens/s over output tokens per request
            else:
                rps = None
            pw = row.get("power") or {}
            result_rows.append(
                {
                    "workload": workload_id,
                    "index": i,
                    "device_id": row["device"],
                    "benchmark": row["benchmark"],
                    "division": row["division"],
                    "scenario": row["scenario"],
                    "system": row["system"],
                    "submitter": row.get("submitter"),
                    "accelerators": row["accelerators"],
                    "precision": row["precision"],
                    "compute_precision": row.get("compute_precision"),
                    "storage_precision": row.get("storage_precision"),
                    "throughput_value": t["value"],
                    "throughput_unit": t["unit"],
                    "throughput_per_accelerator": per_acc,
                    "requests_per_s_per_accelerator": rps,
                    "power_w": convert(float(pw["value"]), pw["unit"], "W") if "value" in pw else None,
                    "power_boundary": pw.get("boundary"),
                    "note": row.get("note"),
                    "comparable": bool(row.get("comparable", True)),
                    "result_id": row.get("id"),
                    "ttft_limit_ms": _num(row, "ttft_limit", "ms"),
                    "tpot_limit_ms": _num(row, "tpot_limit", "ms"),
                    "latency_limit_ms": _num(row, "latency_limit", "ms"),
                    "why_not_comparable": row.get("why_not_comparable"),
                    **_source_cols(d, t["source"]),
                }
            )

    region_rows = []
    for item, d in docs["regions"].items():
        ep, ci = d["electricity_price"], d["grid_carbon_intensity"]
        region_rows.append(
            {
                "id": item,
                "name": d["name"],
                "electricity_usd_per_kwh": _num(d, "electricity_price", "USD/kWh"),
                "electricity_as_of": ep.get("as_of"),
                "grid_gco2_per_kwh": _num(d, "grid_carbon_intensity", "gCO2/kWh"),
                "grid_as_of": ci.get("as_of"),
                "electricity_source": _source_cols(d, ep["source"])["source_title"],
                "grid_source": _source_cols(d, ci["source"])["source_title"],
            }
        )
    pue_rows = [
        {
            "id": item,
            "name": d["name"],
            "pue": _num(d, "pue", "ratio"),
            "as_of": d["pue"].get("as_of"),
            **_source_cols(d, d["pue"]["source"]),
        }
        for item, d in docs["pue"].items()
    ]

    prov = [r for c in COLLECTIONS for item, d in docs[c].items() for r in _provenance_rows(c, item, d)]
    return Catalog(
        devices=devices,
        frameworks=pd.DataFrame(fw_rows),
        cloud_prices=pd.DataFrame(cloud_rows, columns=_CLOUD_COLS if not cloud_rows else None),
        purchase_prices=pd.DataFrame(purchase_rows, columns=_PURCHASE_COLS if not purchase_rows else None),
        workloads=workloads,
        results=pd.DataFrame(result_rows),
        regions=pd.DataFrame(region_rows),
        pue=pd.DataFrame(pue_rows),
        provenance=pd.DataFrame(prov),
        documents=docs,
        files=files,
        api_prices=pd.DataFrame(_api_rows(docs["apis"]), columns=_API_COLS),
        market=pd.DataFrame(_market_rows(docs["market"]), columns=_MARKET_COLS),
        assumptions=assumptions_frame(docs["assumptions"]),
        cloud_unpriced=pd.DataFrame(
            unpriced_rows,
            columns=[
                *("device_id", "provider", "instance", "region", "reason"),
                *("source_title", "source_url", "retrieved"),
            ]
            if not unpriced_rows
            else None,
        ),
    )


def _fingerprint(dirs: Sequence[Path]) -> tuple[Any, ...]:
    """What the cache is keyed on: every file's path, type, time and size (an unreadable one as such)."""
    parts: list[Any] = []
    for root in dirs:
        parts.append(str(root))
        if _folder_problem(root) is None:
            files, _ = _toml_files(root, [MAX_FOLDER_ENTRIES])
            for p, _in_place in files:
                try:
                    st = os.stat(p)
                    parts.append((str(p), st.st_mode, st.st_mtime_ns, st.st_size))
                except OSError as err:
                    parts.append((str(p), err.errno))
    return tuple(parts)


@lru_cache(maxsize=8)
def _load_cached(dirs: tuple[Path, ...], fingerprint: tuple[Any, ...]) -> Catalog:
    docs, files = read_documents(dirs)
    return build_catalog(docs, files)


def load_catalog(
    *user_dirs: str | os.PathLike[str], base: str | os.PathLike[str] | None = None, use_env: bool = True
) -> Catalog:
    """Load the built-in catalog, then each user folder (and those in $ACCEL_EXPLORER_CATALOG) over it.

    A user folder has the catalog's layout (``devices/``, ``prices/`` ...). A file whose id is new adds an
    item; one whose id exists overrides it key by key (tables merge, arrays such as ``[[cloud]]`` are
    replaced), and the merged item is validated as a whole. Raises CatalogError naming every bad file,
    field and what is allowed. Results are cached until a file changes.
    """
    dirs = [Path(base) if base is not None else default_catalog_dir()]
    dirs += [Path(d) for d in user_dirs]
    if use_env:
        dirs += _user_dirs_from_env()
    resolved = tuple(Path(os.path.realpath(d)) for d in dirs)  # a link loop stays as it is; _scan says so
    return _load_cached(resolved, _fingerprint(resolved))


__all__ = [
    "COLLECTIONS",
    "MAX_FOLDER_ENTRIES",
    "USER_CATALOG_ENV",
    "Catalog",
    "CatalogError",
    "Issue",
    "build_catalog",
    "default_catalog_dir",
    "jsonable",
    "load_catalog",
    "merge_documents",
    "read_documents",
]

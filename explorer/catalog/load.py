"""Load the catalog's TOML files into pandas, with units converted and provenance kept for every figure.

Layering: this module imports pandas and the standard library only (no ipywidgets, altair, IPython).
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import stat
import tomllib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from . import schema
from .files import MAX_TOML_BYTES, InputRefused, load_toml_file
from .schema import CatalogError, Issue, Quantity
from .units import UNITS, convert

COLLECTIONS = ("devices", "prices", "workloads", "results", "regions", "pue", "assumptions")

#: Environment variable naming user catalog folders (os.pathsep-separated), loaded after the built-in one.
USER_CATALOG_ENV = "ACCEL_EXPLORER_CATALOG"


def default_catalog_dir() -> Path:
    """The built-in catalog: a copy inside an installed wheel, or the repository's ``catalog/``."""
    packaged = Path(__file__).resolve().parent.parent / "_catalog"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "catalog"


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

    def source_of(self, collection: str, item: str, field_name: str) -> dict[str, Any] | None:
        """The provenance row of one figure, or None where the catalog has no such figure."""
        p = self.provenance
        rows = p[(p.collection == collection) & (p.item == item) & (p.field == field_name)]
        # an empty cell is None, not NaN: NaN is truthy, so `rec.get("absent")` took every figure as absent
        return None if rows.empty else {k: _jsonable(v) for k, v in rows.iloc[0].to_dict().items()}

    def device_records(self) -> list[dict[str, Any]]:
        """Devices as JSON-ready records in canonical units, each with the sources of its figures."""
        out = []
        for row in self.devices.to_dict("records"):
            rec = {k: _jsonable(v) for k, v in row.items()}
            rec["sources"] = self._sources_for("devices", row["id"])
            out.append(rec)
        return out

    def workload_records(self) -> list[dict[str, Any]]:
        out = []
        for row in self.workloads.to_dict("records"):
            rec = {k: _jsonable(v) for k, v in row.items()}
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
                    "published": _jsonable(src.get("published")),
                    "retrieved": _jsonable(src["retrieved"]),
                    "fields": fields,
                }
            )
        return sources


def _jsonable(v: Any) -> Any:
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
            return _jsonable(v.item())
        except (ValueError, AttributeError):
            return v
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    return v


# -- reading files ------------------------------------------------------------------------------------


def _user_dirs_from_env() -> list[Path]:
    raw = os.environ.get(USER_CATALOG_ENV, "")
    return [Path(p) for p in raw.split(os.pathsep) if p.strip()]


#: A catalog folder is read to this many entries (files and folders together); past it, one issue says so.
MAX_FOLDER_ENTRIES = 10_000


def _folder_problem(root: Path) -> str | None:
    """Why `root` cannot be a catalog folder, or None if it is one."""
    try:
        st = os.stat(root)
    except OSError as err:
        if err.errno == errno.ELOOP:
            return "is a symbolic link that leads back to itself (a loop); give a catalog folder"
        if root.is_symlink():
            return "is a symbolic link to a folder that does not exist; give a catalog folder"
        return "catalog folder does not exist"
    if not stat.S_ISDIR(st.st_mode):
        return "is not a folder; give a folder with the catalog's layout (devices/, prices/ ...)"
    return None


def _list_dir(path: Path, budget: list[int]) -> list[os.DirEntry[str]] | None:
    """The entries of one folder, sorted by name, counted against `budget`; None if unreadable."""
    out = []
    try:
        with os.scandir(path) as it:
            for entry in it:
                budget[0] -= 1
                if budget[0] < 0:
                    break
                out.append(entry)
    except OSError:
        return None
    return sorted(out, key=lambda e: e.name)


def _is_dir(entry: os.DirEntry[str], follow: bool) -> bool:
    try:
        return entry.is_dir(follow_symlinks=follow)
    except OSError:
        return False


def _toml_files(root: Path, budget: list[int]) -> tuple[list[tuple[Path, bool]], bool]:
    """``(path, in_place)`` for *.toml files up to two folders down; and whether the budget ran out.

    ``in_place`` is true for ``<collection>/<file>.toml``. Collection folders may be symbolic links; no
    other link to a folder is followed, and nothing deeper than two folders is read, so a catalog
    folder given as ``/`` or holding a link loop is scanned in bounded time.
    """
    found: list[tuple[Path, bool]] = []
    top = _list_dir(root, budget) or []
    for entry in top:
        if entry.name.endswith(".toml") and not _is_dir(entry, True):
            found.append((Path(entry.path), False))
        elif _is_dir(entry, entry.name in COLLECTIONS):
            sub = _list_dir(Path(entry.path), budget) or []
            for e in sub:
                if e.name.endswith(".toml") and not _is_dir(e, True):
                    found.append((Path(e.path), entry.name in COLLECTIONS))
                elif entry.name in COLLECTIONS and _is_dir(e, False):
                    for deeper in _list_dir(Path(e.path), budget) or []:
                        if deeper.name.endswith(".toml"):
                            found.append((Path(deeper.path), False))
    return found, budget[0] < 0


def _scan(dirs: Sequence[Path]) -> tuple[dict[str, dict[str, list[Path]]], list[Issue]]:
    """Files per collection and id, in load order (built-in first, then each user folder)."""
    found: dict[str, dict[str, list[Path]]] = {c: {} for c in COLLECTIONS}
    issues: list[Issue] = []
    for i, root in enumerate(dirs):
        problem = _folder_problem(root)
        if problem:
            issues.append(Issue(str(root), "", problem))
            continue
        files, overflow = _toml_files(root, [MAX_FOLDER_ENTRIES])
        if overflow:
            issues.append(
                Issue(
                    str(root),
                    "",
                    f"holds more than {MAX_FOLDER_ENTRIES:,} files and folders; a catalog folder holds "
                    + ", ".join(f"{c}/" for c in COLLECTIONS)
                    + " with one file per item",
                )
            )
            continue
        for path, in_place in files:
            rel = path.relative_to(root)
            if not in_place:
                if i > 0:  # a user's stray file would be silently ignored: say so
                    issues.append(
                        Issue(
                            str(path),
                            "",
                            "not in a catalog folder; put it in one of "
                            + ", ".join(f"{c}/" for c in COLLECTIONS),
                        )
                    )
                continue
            item_id = path.stem
            if not schema.ID_PATTERN.match(item_id):
                issues.append(
                    Issue(
                        str(path),
                        "id",
                        f"{item_id!r} is not a lower-kebab id "
                        "(lower-case letters, digits and dots, words joined by '-')",
                    )
                )
                continue
            found[rel.parts[0]].setdefault(item_id, []).append(path)
    return found, issues


def _parse(path: Path) -> tuple[dict[str, Any] | None, Issue | None]:
    """One catalog file, read only if it is a regular file of at most 1 MB, parsed with bounds."""
    try:
        return load_toml_file(path, MAX_TOML_BYTES), None
    except tomllib.TOMLDecodeError as err:
        return None, Issue(str(path), "", f"malformed TOML: {err}")
    except InputRefused as err:
        return None, Issue(str(path), "", str(err))


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """A user's file overrides the built-in one key by key; tables merge, arrays are replaced."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


_VALIDATORS: dict[str, Callable[[str, dict[str, Any], str], list[Issue]]] = {
    "devices": lambda p, d, i: schema.validate_device(p, d),
    "prices": schema.validate_prices,
    "workloads": lambda p, d, i: schema.validate_workload(p, d),
    "results": schema.validate_results,
    "regions": lambda p, d, i: schema.validate_region(p, d),
    "pue": lambda p, d, i: schema.validate_pue(p, d),
    "assumptions": lambda p, d, i: schema.validate_assumptions(p, d),
}


def read_documents(
    dirs: Sequence[Path],
) -> tuple[dict[str, dict[str, dict[str, Any]]], dict[str, dict[str, list[str]]]]:
    """Parse, merge and validate every file; raise CatalogError listing every problem found."""
    found, issues = _scan(dirs)
    docs: dict[str, dict[str, dict[str, Any]]] = {c: {} for c in COLLECTIONS}
    files: dict[str, dict[str, list[str]]] = {c: {} for c in COLLECTIONS}
    for collection, items in found.items():
        for item_id, paths in sorted(items.items()):
            merged: dict[str, Any] | None = {}
            for path in paths:
                doc, issue = _parse(path)
                if issue:
                    issues.append(issue)
                    merged = None
                    break
                assert merged is not None
                merged = _merge(merged, doc or {})
            if merged is None:
                continue
            label = " + ".join(str(p) for p in paths)
            file_issues = _VALIDATORS[collection](label, merged, item_id)
            issues.extend(file_issues)
            if not file_issues:
                docs[collection][item_id] = merged
                files[collection][item_id] = [str(p) for p in paths]
    issues.extend(_cross_check(docs))
    if issues:
        raise CatalogError(issues)
    return docs, files


def _cross_check(docs: dict[str, dict[str, dict[str, Any]]]) -> list[Issue]:
    issues = []
    devices, workloads = docs["devices"], docs["workloads"]
    for price_id in docs["prices"]:
        if price_id not in devices:
            issues.append(
                Issue(f"prices/{price_id}.toml", "device", f"{price_id!r} is not a device in the catalog")
            )
    for workload_id, doc in docs["results"].items():
        if workload_id not in workloads:
            issues.append(
                Issue(
                    f"results/{workload_id}.toml",
                    "workload",
                    f"{workload_id!r} is not a workload in the catalog",
                )
            )
        for i, row in enumerate(doc["result"]):
            if row["device"] not in devices:
                issues.append(
                    Issue(
                        f"results/{workload_id}.toml",
                        f"result[{i}].device",
                        f"{row['device']!r} is not a device in the catalog",
                    )
                )
    return issues


# -- value records -> frames ----------------------------------------------------------------------------


def _walk_refs(doc: dict[str, Any], prefix: str = "") -> Iterable[tuple[str, dict[str, Any]]]:
    """Every table holding a `source` key, with its dotted path."""
    for key, value in doc.items():
        if key == "sources":
            continue
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            if "source" in value:
                yield path, value
            yield from _walk_refs({k: v for k, v in value.items() if isinstance(v, dict | list)}, path + ".")
        elif isinstance(value, list):
            for i, elem in enumerate(value):
                if isinstance(elem, dict):
                    yield from _walk_list(elem, f"{path}[{i}]")


def _walk_list(elem: dict[str, Any], path: str) -> Iterable[tuple[str, dict[str, Any]]]:
    if "source" in elem:
        yield path, elem
    yield from _walk_refs({k: v for k, v in elem.items() if isinstance(v, dict | list)}, path + ".")


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
        return schema.RESULT_POWER if leaf == "power" else schema.RESULT_THROUGHPUT
    if collection == "regions":
        spec = schema.REGION_FIELDS.get(leaf)
        return spec if isinstance(spec, Quantity) else None
    if collection == "pue":
        return schema.PUE_FIELDS["pue"]  # type: ignore[return-value]
    if collection == "assumptions":
        return None  # kept as printed; explorer.calc converts to the unit it needs
    return None


def _provenance_rows(collection: str, item: str, doc: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for path, rec in _walk_refs(doc):
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


def _num(doc: dict[str, Any], key: str, unit: str) -> float | None:
    rec = doc.get(key)
    if not isinstance(rec, dict) or "value" not in rec:
        return None
    return convert(float(rec["value"]), rec["unit"], unit)


def _device_row(item: str, d: dict[str, Any]) -> dict[str, Any]:
    bf16, fp16 = _num(d, "peak_bf16_dense", "TFLOPS"), _num(d, "peak_fp16_dense", "TFLOPS")
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
        "memory_gb": _num(d, "memory", "GB"),
        "memory_bandwidth_gbps": _num(d, "memory_bandwidth", "GB/s"),
        # BF16 where the device has it, else FP16 (e.g. T4): `peak_16bit_format` says which.
        "peak_bf16_tflops": bf16 if bf16 is not None else fp16,
        "peak_16bit_format": "bf16" if bf16 is not None else ("fp16" if fp16 is not None else None),
        "peak_fp16_tflops": fp16,
        "peak_int8_tops": _num(d, "peak_int8_dense", "TOPS"),
        "peak_fp8_tflops": _num(d, "peak_fp8_dense", "TFLOPS"),
        "on_chip_memory_mb": _num(d, "on_chip_memory", "MB"),
        "power_w": _num(d, "power", "W"),
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


def _source_cols(doc: dict[str, Any], ref: str | list[str]) -> dict[str, Any]:
    refs = ref if isinstance(ref, list) else [ref]
    srcs = [doc["sources"][r] for r in refs]
    return {
        "source_title": "; ".join(s["title"] for s in srcs),
        "source_url": " ".join(s["url"] for s in srcs),
        "retrieved": max(s["retrieved"] for s in srcs),
    }


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

    cloud_rows, purchase_rows = [], []
    for item, d in docs["prices"].items():
        for row in d.get("cloud", []):
            p = row["price"]
            if "value" not in p:  # absent: the offer exists but no price is published
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
    )


_CLOUD_COLS = [
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
]
_PURCHASE_COLS = [
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


__all__ = ["Catalog", "CatalogError", "Issue", "default_catalog_dir", "load_catalog", "read_documents"]

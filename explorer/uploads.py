"""A session's uploads: a scenario JSON, and hardware uploads (a price CSV, or a price or device file in
the catalog's TOML format) applied over the catalog, with what each changed (`SessionUploads`).

Everything a visitor uploads is read in memory (nothing is written to disk) and checked as a whole before
anything changes. Prices are *offers*: a cloud price per chip-hour or per instance-hour, or a purchase
price. An upload adds offers or overrides the catalog's offer of the same provider, instance and region,
keeps the device's other offers, and counts in every cloud market; a device priced by an upload is costed
at the cheapest uploaded offer for it (a buyer's own price is the one they pay). Uploads accumulate; each
can be removed, and the catalog is then rebuilt from the session's starting catalog and the rest.

Reading one file safely is `explorer.upload_files`; the price CSV is `explorer.price_csv`; the widgets
that take the files are in `explorer.share`. This module imports no GUI library.
"""

from __future__ import annotations

import base64
import binascii
import copy
import datetime as dt
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from .catalog import Catalog, schema
from .catalog.load import build_catalog, merge_documents
from .catalog.units import convert
from .price_csv import PRICE_CSV_COLUMNS, PriceOffer, offers_from_csv
from .scenario import CUSTOM_WORKLOAD, Scenario, ScenarioError, unknown_workload
from .upload_files import (
    MAX_UPLOAD_BYTES,
    UPLOAD_SOURCE,
    UploadError,
    decode_text,
    file_content,
    load_json,
    load_toml,
    upload_name,
)

#: What the other modules and the tests use (the limits, the error and the file readers come from
#: `explorer.upload_files`, the offers from `explorer.price_csv`).
__all__ = [
    "MAX_KEPT_BYTES",
    "MAX_UPLOADS",
    "MAX_UPLOAD_BYTES",
    "UPLOAD_SOURCE",
    "HardwareUpload",
    "Plan",
    "PriceOffer",
    "SessionUploads",
    "UploadError",
    "apply_uploads",
    "read_hardware_upload",
    "restored_files",
    "scenario_from_upload",
    "upload_name",
]

#: How many hardware uploads one session keeps at once.
MAX_UPLOADS = 8
#: How much of the accepted uploads the browser keeps for a reload (sessionStorage), in bytes of content.
MAX_KEPT_BYTES = 1024 * 1024


def _known(kind: str, value: Any, allowed: list[str]) -> str:
    shown = ", ".join(allowed[:12]) + (" ..." if len(allowed) > 12 else "")
    return f"{kind}: {str(value)[:60]!r} is not a {kind} in the catalog; allowed: {shown}"


def scenario_from_upload(upload: Any, cat: Catalog | None = None) -> Scenario:
    """The scenario in an uploaded JSON file, checked entirely (against `cat` too, when given) before it is
    used: a refused file changes nothing."""
    name, data = file_content(upload)
    if not name.lower().endswith(".json"):
        raise UploadError(
            f"{name}: not allowed; allowed: a scenario .json file (the Scenario (JSON) download)"
        )
    text = decode_text(name, data, "a scenario JSON file")
    raw = load_json(name, text)
    try:
        scenario = Scenario.from_dict(raw)
    except ScenarioError as err:
        raise UploadError(f"{name}: {err}") from None
    except (TypeError, ValueError, OverflowError) as err:  # a value no field can hold
        raise UploadError(
            f"{name}: a value could not be read ({type(err).__name__}); allowed: the scenario's fields with "
            "numbers and names, as the Scenario (JSON) download writes them"
        ) from None
    if cat is not None:
        if scenario.workload not in {*cat.workloads.id, CUSTOM_WORKLOAD}:  # your model: its fields above
            raise UploadError(f"{name}: {unknown_workload(scenario.workload, cat.workloads.id)}")
        if scenario.region not in set(cat.regions.id):
            raise UploadError(f"{name}: " + _known("region", scenario.region, sorted(cat.regions.id)))
        from .calc import evaluate

        try:
            evaluate(scenario, cat)
        except ScenarioError as err:
            raise UploadError(f"{name}: {err}") from None
    return scenario


@dataclass(frozen=True)
class HardwareUpload:
    """One accepted hardware upload: its file (kept to hand back after a reload) and what it holds."""

    name: str
    data: bytes
    offers: tuple[PriceOffer, ...] = ()
    device_id: str = ""  # a device file: the device's id
    device_doc: dict[str, Any] | None = field(default=None, repr=False, compare=False)


# -- TOML files ----------------------------------------------------------------------------------------


def _issues(name: str, issues: list[Any]) -> UploadError:
    shown = [f"{i.field}: {i.message}" if i.field else i.message for i in issues[:3]]
    more = f" (and {len(issues) - 3} more)" if len(issues) > 3 else ""
    return UploadError(f"{name}: " + "; ".join(shown) + more)


def _offers_from_toml(name: str, doc: dict[str, Any], devices: pd.DataFrame) -> list[PriceOffer]:
    """A price file in the catalog's format to offers (checked by the catalog's own validator first)."""
    device = doc.get("device")
    if not isinstance(device, str) or device not in set(devices.id):
        raise UploadError(
            f"{name}: device: {str(device)[:60]!r} is not a device in the catalog; allowed: a device id such "
            "as nvidia-h100-sxm (upload a device file first to add one)"
        )
    issues = [
        i
        for i in schema.validate_prices(name, doc, device)
        if not (
            i.field == "purchase" and i.message.startswith("missing")
        )  # an upload may price the cloud only
    ]
    if issues:
        raise _issues(name, issues)
    sources = doc["sources"]

    def source(rec: dict[str, Any]) -> tuple[str, str]:
        refs = rec["source"] if isinstance(rec["source"], list) else [rec["source"]]
        return "; ".join(sources[r]["title"] for r in refs), sources[refs[0]]["url"]

    def as_of(rec: dict[str, Any]) -> dt.date:
        d = rec["as_of"]
        return d.date() if isinstance(d, dt.datetime) else d

    offers = []
    for i, row in enumerate(doc.get("cloud", [])):
        p = row["price"]
        if "value" not in p:
            continue
        title, url = source(p)
        offers.append(
            PriceOffer(
                file=name,
                where=f"cloud[{i}]",
                device_id=device,
                kind="cloud",
                price=convert(float(p["value"]), p["unit"], "USD/hour"),
                chips=row["chips"],
                as_of=as_of(p),
                source_title=title,
                source_url=url,
                provider=row["provider"],
                instance=row["instance"],
                region=row["region"],
                note=str(row.get("note") or p.get("note") or ""),
            )
        )
    purchase = doc.get("purchase")
    if purchase and "value" in purchase["price"]:
        p = purchase["price"]
        title, url = source(p)
        offers.append(
            PriceOffer(
                file=name,
                where="purchase",
                device_id=device,
                kind="purchase",
                price=convert(float(p["value"]), p["unit"], "USD"),
                chips=1,
                as_of=as_of(p),
                source_title=title,
                source_url=url,
                note=str(p.get("note") or ""),
                unit_sold=str(purchase.get("unit_sold") or ""),
            )
        )
    if not offers:
        raise UploadError(f"{name}: no prices (every price is 'absent'); allowed: at least one price")
    return offers


def _device_upload(name: str, doc: dict[str, Any], base: Catalog) -> tuple[str, dict[str, Any]]:
    """A device file: its id (the file name) and its document, checked as it will be loaded: merged over
    the catalog's device of that id key by key, as a catalog folder would be."""
    item = Path(name).stem
    if not schema.ID_PATTERN.match(item):
        raise UploadError(
            f"{name}: the file name gives the device's id, and {item[:40]!r} is not one; allowed: lower-case "
            "letters, digits and dots, words joined by '-', such as our-l4.toml"
        )
    existing = base.documents["devices"].get(item)
    issues = schema.validate_device(name, merge_documents(existing, doc) if existing is not None else doc)
    if issues:
        raise _issues(name, issues)
    return item, doc


def read_hardware_upload(upload: Any, cat: Catalog) -> HardwareUpload:
    """Read and check one hardware upload against `cat`: a price CSV, or a price or device file in the
    catalog's TOML format. Raises UploadError (file, row, column, what is allowed); changes nothing."""
    name, data = file_content(upload)
    lower = name.lower()
    if lower.endswith(".csv"):
        text = decode_text(name, data, "a price CSV", how="in Excel: Save As, 'CSV UTF-8'")
        return HardwareUpload(name, data, offers=tuple(offers_from_csv(name, text, cat.devices)))
    if lower.endswith(".toml"):
        doc = load_toml(name, decode_text(name, data, "a catalog TOML file"))
        if "device" in doc and ("cloud" in doc or "purchase" in doc):
            return HardwareUpload(name, data, offers=tuple(_offers_from_toml(name, doc, cat.devices)))
        if "frameworks" in doc or "kind" in doc:
            item, merged = _device_upload(name, doc, cat)
            return HardwareUpload(name, data, device_id=item, device_doc=merged)
        raise UploadError(
            f"{name}: neither a price file (device with [[cloud]] or [purchase]) nor a device file (kind, "
            "[frameworks] ...); allowed: the catalog's formats (catalog/README.md)"
        )
    raise UploadError(
        f"{name}: not allowed; allowed: a price .csv (columns {', '.join(PRICE_CSV_COLUMNS)}), or a "
        "device or price .toml file in the catalog's format"
    )


# -- the catalog with the uploads applied ---------------------------------------------------------------


def _retitled(doc: dict[str, Any], name: str, prefix: str) -> dict[str, Any]:
    """A copy of an uploaded document whose sources say they are the visitor's, under keys of their own."""
    keys = {k: f"{prefix}-{k}" for k in doc.get("sources", {})}

    def walk(node: Any, top: bool = False) -> Any:
        if isinstance(node, dict):
            out = {}
            for k, v in node.items():
                if top and k == "sources":
                    out[k] = {
                        keys[sk]: {**sv, "title": f"{UPLOAD_SOURCE}, {name}: {sv.get('title', '')}"}
                        for sk, sv in v.items()
                    }
                elif k in ("source", "purchase_note_source"):
                    out[k] = [keys.get(r, r) for r in v] if isinstance(v, list) else keys.get(v, v)
                else:
                    out[k] = walk(v)
            return out
        if isinstance(node, list):
            return [walk(x) for x in node]
        return node

    return walk(doc, top=True)


def _cloud_entry(o: PriceOffer, key: str) -> dict[str, Any]:
    price = {"value": o.price, "unit": "USD/hour", "as_of": o.as_of, "source": key}
    if o.note:
        price["note"] = o.note
    return {
        "provider": o.provider or UPLOAD_SOURCE,
        "instance": o.instance or "-",
        "region": o.region or "-",
        "chips": o.chips,
        "price": price,
    }


def _entry_key(entry: dict[str, Any]) -> tuple[str, str, str]:
    return tuple(str(entry.get(k, "")).casefold() for k in ("provider", "instance", "region"))  # type: ignore[return-value]


def _per_chip_hour(entry: dict[str, Any]) -> float:
    return convert(float(entry["price"]["value"]), entry["price"]["unit"], "USD/hour") / entry["chips"]


def _in_use(entries: list[dict[str, Any]], labels: dict[int, str], market: str) -> tuple[float, str] | None:
    """The price the model uses among a device's cloud entries (as calc does): the cheapest uploaded one,
    else the cheapest in the market; (USD per chip-hour, what it is) or None."""
    from .scenario import MAJOR_CLOUDS

    priced = [e for e in entries if "value" in e["price"]]
    pool = [e for e in priced if id(e) in labels] or [
        e for e in priced if market != "major-clouds" or e["provider"] in MAJOR_CLOUDS
    ]
    if not pool:
        return None
    e = min(pool, key=_per_chip_hour)
    return _per_chip_hour(e), labels.get(id(e)) or f"{e['provider']} {e['instance']}"


def apply_uploads(
    base: Catalog, uploads: list[HardwareUpload] | tuple[HardwareUpload, ...], market: str = "major-clouds"
) -> tuple[Catalog, list[list[str]]]:
    """`base` with every upload applied in order, and for each upload the lines saying what it changed
    (prices against what was in use before it, in `market`). Raises UploadError; changes nothing."""
    if not uploads:
        return base, []
    docs = {c: dict(items) for c, items in base.documents.items()}
    files = {c: dict(items) for c, items in base.files.items()}
    touched: dict[str, set[str]] = {"devices": set(), "prices": set()}
    cloud_labels: dict[int, str] = {}  # id(cloud entry) -> its upload label
    purchase_labels: dict[str, str] = {}  # device id -> the label of its uploaded purchase price
    changes: list[list[str]] = []
    names = base.devices.set_index("id").name.to_dict()
    for n, up in enumerate(uploads):
        lines: list[str] = []
        if up.device_doc is not None:
            own = _retitled(up.device_doc, up.name, f"upload{n}")
            new = up.device_id not in docs["devices"]
            doc = own if new else merge_documents(docs["devices"][up.device_id], own)
            docs["devices"][up.device_id] = doc
            files["devices"][up.device_id] = [
                *files["devices"].get(up.device_id, []),
                f"{UPLOAD_SOURCE}: {up.name}",
            ]
            touched["devices"].add(up.device_id)
            names[up.device_id] = str(doc.get("name", up.device_id))
            lines.append(
                f"{up.name}: adds the device {names[up.device_id]} ({up.device_id})"
                + ("; give it prices with a price CSV" if up.device_id not in docs["prices"] else "")
                if new
                else f"{up.name}: replaces figures of {names[up.device_id]} ({up.device_id})"
            )
        for k, o in enumerate(up.offers):
            if o.device_id not in docs["devices"]:
                raise UploadError(
                    f"{o.file}, {o.where}, column device: {o.device_id!r} is no longer a device in the "
                    "catalog (its device file was removed); allowed: a device in the catalog"
                )
            doc = docs["prices"].get(o.device_id)
            if o.device_id not in touched["prices"]:
                doc = copy.deepcopy(doc) if doc is not None else {"device": o.device_id, "sources": {}}
                touched["prices"].add(o.device_id)
                docs["prices"][o.device_id] = doc
            key = f"upload{n}-{k}"
            doc.setdefault("sources", {})[key] = {
                "title": f"{UPLOAD_SOURCE}, {o.file}: {o.source_title}",
                "url": o.source_url,
                "retrieved": o.as_of,
            }
            files["prices"][o.device_id] = list(
                dict.fromkeys([*files["prices"].get(o.device_id, []), f"{UPLOAD_SOURCE}: {o.file}"])
            )
            device = names.get(o.device_id, o.device_id)
            if o.kind == "cloud":
                entries = doc.setdefault("cloud", [])
                before = _in_use(entries, cloud_labels, market)
                entry = _cloud_entry(o, key)
                same = [i for i, e in enumerate(entries) if _entry_key(e) == _entry_key(entry)]
                if same:
                    cloud_labels.pop(id(entries[same[0]]), None)
                    entries[same[0]] = entry
                else:
                    entries.append(entry)
                cloud_labels[id(entry)] = o.label()
                after = _in_use(entries, cloud_labels, market)
                was = f"was ${before[0]:,.2f}, {before[1]}" if before else "no cloud price before"
                line = f"{o.file} ({o.where}): {device}, cloud, {o.figure()} ({was})"
                if after and after[1] != o.label():
                    line += f"; not used while your cheaper offer at ${after[0]:,.2f} per chip-hour stays"
                lines.append(line)
            else:
                old = doc.get("purchase")
                was = (
                    f"was ${convert(float(old['price']['value']), old['price']['unit'], 'USD'):,.0f}"
                    if isinstance(old, dict) and "value" in old.get("price", {})
                    else "no purchase price before"
                )
                price = {"value": o.price, "unit": "USD", "as_of": o.as_of, "source": key}
                if o.note:
                    price["note"] = o.note
                doc["purchase"] = {"price": price, "unit_sold": o.unit_sold or "one device (your upload)"}
                purchase_labels[o.device_id] = o.label()
                lines.append(f"{o.file} ({o.where}): {device}, purchase, {o.figure()} ({was})")
        changes.append(lines)
    issues = [i for d in sorted(touched["devices"]) for i in schema.validate_device(d, docs["devices"][d])]
    for d in sorted(touched["prices"]):
        doc = docs["prices"][d]
        if "purchase" not in doc and not doc.get("purchase_note"):  # a new device priced in the cloud only
            doc["purchase_note"] = "no purchase price uploaded"
            doc["purchase_note_source"] = next(iter(doc["sources"]))
        issues += schema.validate_prices(d, doc, d)
    if issues:
        raise _issues(uploads[-1].name if uploads else "upload", issues)
    try:
        cat = build_catalog(docs, files)
    except Exception as err:  # a shape the validators let through: refused, nothing changed
        raise UploadError(
            f"{uploads[-1].name if uploads else 'upload'}: could not be added to the catalog "
            f"({type(err).__name__}); allowed: the catalog's format (catalog/README.md)"
        ) from None
    cloud = cat.cloud_prices.copy()
    by_offer: dict[tuple[str, str, str, str], str] = {}
    for d in touched["prices"]:
        for e in docs["prices"][d].get("cloud", []):
            if id(e) in cloud_labels:
                by_offer[(d, e["provider"], e["instance"], e["region"])] = cloud_labels[id(e)]
    cloud["upload_label"] = [
        by_offer.get((r.device_id, r.provider, r.instance, r.region)) for r in cloud.itertuples()
    ]
    purchase = cat.purchase_prices.copy()
    purchase["upload_label"] = [purchase_labels.get(d) for d in purchase.device_id]
    return replace(cat, cloud_prices=cloud, purchase_prices=purchase), changes


#: A planned change of a session's uploads: the uploads, the catalog with them, what each changed.
Plan = tuple[tuple[HardwareUpload, ...], Catalog, list[list[str]]]


class SessionUploads:
    """The hardware uploads one session has accepted, applied in order over the catalog it started with.

    Adding or removing is planned first (`plan_add`, `plan_remove`: everything checked, nothing changed)
    and then committed, so that the caller can check the new catalog against the scenario in between.
    """

    def __init__(self, base: Catalog):
        self.base = base
        self.items: tuple[HardwareUpload, ...] = ()
        self.changes: list[list[str]] = []
        self.cat = base

    def plan_add(self, upload: Any, market: str = "major-clouds") -> Plan:
        up = read_hardware_upload(upload, self.cat)
        if len(self.items) >= MAX_UPLOADS:
            raise UploadError(
                f"{up.name}: {len(self.items)} uploads are in use already; allowed: up to {MAX_UPLOADS} "
                "(remove one first)"
            )
        items = (*self.items, up)
        cat, changes = apply_uploads(self.base, items, market)
        return items, cat, changes

    def plan_remove(self, index: int, market: str = "major-clouds") -> Plan:
        items = self.items[:index] + self.items[index + 1 :]
        try:
            cat, changes = apply_uploads(self.base, items, market)
        except UploadError as err:
            raise UploadError(
                f"{self.items[index].name} cannot be removed while another upload needs it ({err})"
            ) from None
        return items, cat, changes

    def commit(self, plan: Plan) -> None:
        self.items, self.cat, self.changes = plan

    def to_keep(self) -> tuple[list[dict[str, str]], list[str]]:
        """What the browser keeps for a reload ({name, b64} per upload, within MAX_KEPT_BYTES), and the names
        of the uploads too large to keep."""
        kept, left, total = [], [], 0
        for up in self.items:
            if total + len(up.data) > MAX_KEPT_BYTES:
                left.append(up.name)
                continue
            total += len(up.data)
            kept.append({"name": up.name, "b64": base64.b64encode(up.data).decode("ascii")})
        return kept, left


def restored_files(msg: Any) -> list[tuple[str, bytes]]:
    """The files a reloaded page hands back ({kind: "restore", files: [{name, b64}]}), as (name, bytes);
    anything malformed is dropped (it came from a browser: it is checked again like a fresh upload)."""
    if not isinstance(msg, dict) or msg.get("kind") != "restore" or not isinstance(msg.get("files"), list):
        return []
    out = []
    for f in msg["files"][:MAX_UPLOADS]:
        if not isinstance(f, dict) or not isinstance(f.get("name"), str) or not isinstance(f.get("b64"), str):
            continue
        if len(f["b64"]) > (MAX_UPLOAD_BYTES * 4) // 3 + 8:
            continue
        try:
            out.append((f["name"][:255], base64.b64decode(f["b64"], validate=True)))
        except (ValueError, binascii.Error):
            continue
    return out

"""Price offers, and the price CSV that holds them (one price per row, with its as-of date and source).

Spreadsheets: a UTF-8 byte-order mark is dropped; the separator is the header's most frequent of comma,
semicolon and tab. A decimal comma is read only in a semicolon-separated file and only where it cannot be
a thousands separator ("2,5" and "2,50" are 2.5; "2,500" is refused as ambiguous); in a comma-separated
file it is refused with a message that says so.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import io
import math
import re
from dataclasses import dataclass

import pandas as pd

from .catalog import schema
from .catalog.validator import as_of_window
from .upload_files import MAX_CELL, MAX_NUMBER_CHARS, MAX_ROWS, UPLOAD_SOURCE, UploadError

PRICE_CSV_COLUMNS = ("device", "price_type", "price", "unit", "as_of", "source_title", "source_url")
PRICE_CSV_OPTIONAL = ("provider", "instance", "region", "chips", "unit_sold", "note")
PRICE_TYPES = ("cloud", "purchase")
#: Units a price CSV may use, by what one price is for (spaces and case do not matter).
PER_CHIP_HOUR = ("USD/chip-hour", "USD/GPU-hour", "USD/accelerator-hour", "USD/device-hour")
PER_INSTANCE_HOUR = ("USD/hour", "USD/instance-hour")
PER_DEVICE = ("USD",)
UNITS_ALLOWED = (
    "for cloud: USD/chip-hour (per GPU or accelerator; USD/GPU-hour also) or USD/hour (the whole instance, "
    "with its chips); for purchase: USD (one device)"
)


@dataclass(frozen=True)
class PriceOffer:
    """One price from an upload: a cloud offer (per instance-hour, with its chips) or a purchase price."""

    file: str
    where: str  # "row 3" of a CSV, or "cloud[0]" / "purchase" of a TOML file
    device_id: str
    kind: str  # "cloud" or "purchase"
    price: float  # cloud: USD per instance-hour; purchase: USD per device
    chips: int
    as_of: dt.date
    source_title: str
    source_url: str
    provider: str = ""
    instance: str = ""
    region: str = ""
    note: str = ""
    unit_sold: str = ""

    @property
    def per_chip_hour(self) -> float:
        return self.price / self.chips

    def offer_key(self) -> tuple[str, str, str]:
        return (self.provider.casefold(), self.instance.casefold(), self.region.casefold())

    def figure(self) -> str:
        if self.kind == "cloud":
            return f"${self.per_chip_hour:,.2f} per chip-hour"
        return f"${self.price:,.0f} per device"

    def label(self) -> str:
        """The price's source, as every view shows it: "your upload, <file> (<where>): ..."."""
        offered = " ".join(x for x in (self.provider, self.instance) if x)
        if self.region:
            offered += f" ({self.region})" if offered else self.region
        return (
            f"{UPLOAD_SOURCE}, {self.file} ({self.where}): {self.source_title}, {self.figure()}"
            + (f", {offered}" if offered else "")
            + f", as of {self.as_of.isoformat()}"
        )


def _resolve_device(name: str, where: str, raw: str, devices: pd.DataFrame) -> str:
    """A device column's text to a catalog id: the id itself, the name, or the id without its vendor."""
    text = raw.strip()
    if not text:
        raise UploadError(
            f"{name}, {where}, column device: empty; allowed: a device id such as nvidia-h100-sxm or its name"
        )
    ids = list(devices.id)
    if text in ids:
        return text
    slug = re.sub(r"[^a-z0-9.]+", "-", text.casefold()).strip("-")
    by_name = [
        i for i, n in zip(devices.id, devices.name, strict=True) if str(n).casefold() == text.casefold()
    ]
    for candidates in ([slug] if slug in ids else [], by_name, [i for i in ids if i.endswith("-" + slug)]):
        if len(candidates) == 1:
            return candidates[0]
        if len(candidates) > 1:
            raise UploadError(
                f"{name}, {where}, column device: {text[:60]!r} could be {', '.join(candidates)}; "
                "allowed: one device id"
            )
    # suggestions: the devices whose id or name has each model number typed ("H200 SXM": h200), else the
    # closest spellings (difflib alone suggested nvidia-h100-sxm for "H200 SXM": closer as text)
    numbers = {t for t in slug.split("-") if any(c.isdigit() for c in t)}

    def words(i: str, n: object) -> set[str]:
        return set(i.split("-")) | set(re.sub(r"[^a-z0-9.]+", "-", str(n).casefold()).split("-"))

    def has(t: str, ws: set[str]) -> bool:  # "l40" in l40s, "mi300" in mi300x: one letter more at most
        return any(w == t or (w.startswith(t) and len(w) - len(t) == 1) for w in ws)

    close = [
        i
        for i, n in zip(devices.id, devices.name, strict=True)
        if numbers and all(has(t, words(i, n)) for t in numbers)
    ][:3] or difflib.get_close_matches(slug, ids, n=3, cutoff=0.5)
    hint = f" (did you mean {' or '.join(close)}?)" if close else ""
    raise UploadError(
        f"{name}, {where}, column device: {text[:60]!r} is not a device in the catalog{hint}; allowed: a "
        "device id such as nvidia-h100-sxm or its name (every device is listed under Catalog and sources; "
        "upload a device file first to add one)"
    )


_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d{1,3})?")


def _price_number(name: str, where: str, raw: str, delimiter: str) -> float:
    text = raw.strip()
    if text.startswith("$"):
        text = text[1:].strip()
    at = f"{name}, {where}, column price"
    if not text:
        raise UploadError(f"{at}: empty; allowed: a number above 0 such as 2.50")
    if len(text) > MAX_NUMBER_CHARS:
        raise UploadError(
            f"{at}: a number {len(text)} characters long ({text[:12]}...); allowed: a plain number of up to "
            f"{MAX_NUMBER_CHARS} characters, such as 2.50 or 30000"
        )
    if "," in text:
        whole, _, decimals = text.partition(",")
        if delimiter == ";" and re.fullmatch(r"\d+,\d+", text) and len(decimals) != 3:
            text = f"{whole}.{decimals}"  # a decimal comma, unambiguous in a semicolon-separated file
        elif delimiter == ";" and re.fullmatch(r"\d+,\d{3}", text):
            raise UploadError(
                f"{at}: {raw.strip()!r} could be a decimal comma or a thousands separator; allowed: write "
                f"{whole}.{decimals} or {whole}{decimals} (no thousands separators)"
            )
        else:
            raise UploadError(
                f"{at}: {raw.strip()!r} has a comma; allowed: a number with a decimal point and no thousands "
                "separators, such as 2.50 or 30000 (a decimal comma is read only in a file separated by "
                "semicolons)"
            )
    if not _NUMBER.fullmatch(text):
        raise UploadError(
            f"{at}: {raw.strip()[:40]!r} is not a number; allowed: a number above 0 such as 2.50"
        )
    value = float(text)
    if not math.isfinite(value):
        raise UploadError(f"{at}: {raw.strip()[:40]!r} is not a finite number; allowed: a number above 0")
    if value <= 0:
        raise UploadError(f"{at}: {raw.strip()[:40]!r} is not above 0; allowed: a price above 0 such as 2.50")
    return value


def _unit_kind(unit: str) -> str | None:
    u = re.sub(r"\s+", "", unit).casefold()
    for kind, units in (("chip", PER_CHIP_HOUR), ("instance", PER_INSTANCE_HOUR), ("device", PER_DEVICE)):
        if u in {x.casefold() for x in units}:
            return kind
    return None


def _date(name: str, where: str, column: str, raw: str) -> dt.date:
    text = raw.strip()
    try:
        day = dt.date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise UploadError(
            f"{name}, {where}, column {column}: {text[:30]!r} is not a date; allowed: year-month-day, such "
            "as 2026-10-01"
        )
    first, latest = as_of_window()
    if not first <= day <= latest:
        raise UploadError(
            f"{name}, {where}, column {column}: {text} is out of range; allowed: a date from "
            f"{first.isoformat()} to {latest.isoformat()}"
        )
    return day


def _delimiter(text: str) -> str:
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _csv_rows(name: str, text: str) -> tuple[str, list[str], list[tuple[int, list[str]]]]:
    """The delimiter, the header (normalised) and the data rows with their line numbers."""
    delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[tuple[int, list[str]]] = []
    try:
        for cells in reader:
            if any(len(c) > MAX_CELL for c in cells):
                col = next(i for i, c in enumerate(cells) if len(c) > MAX_CELL) + 1
                raise UploadError(
                    f"{name}, row {reader.line_num}, column {col}: longer than {MAX_CELL} characters; "
                    f"allowed: up to {MAX_CELL}"
                )
            if any(c.strip() for c in cells):
                rows.append((reader.line_num, cells))
            if len(rows) > MAX_ROWS + 1:
                raise UploadError(f"{name}: more than {MAX_ROWS:,} price rows; allowed: up to {MAX_ROWS:,}")
    except csv.Error as err:
        raise UploadError(
            f"{name}, row {reader.line_num}: not valid CSV ({err}); allowed: comma- or semicolon-separated "
            "values, one price per row"
        ) from None
    if not rows:
        raise UploadError(f"{name}: no header row; allowed columns: {', '.join(PRICE_CSV_COLUMNS)}")
    header = [re.sub(r"\s+", "_", h.strip().casefold()) for h in rows[0][1]]
    return delimiter, header, rows[1:]


def offers_from_csv(name: str, text: str, devices: pd.DataFrame) -> list[PriceOffer]:
    """Price rows to offers; raises UploadError naming the row and column, what was wrong and what is
    allowed."""
    delimiter, header, rows = _csv_rows(name, text)
    known = set(PRICE_CSV_COLUMNS) | set(PRICE_CSV_OPTIONAL)
    columns = (
        "allowed columns: " + ", ".join(PRICE_CSV_COLUMNS) + "; optional: " + ", ".join(PRICE_CSV_OPTIONAL)
    )
    unknown = [h for h in header if h and h not in known]
    if unknown:
        raise UploadError(f"{name}, row 1: column {unknown[0][:40]!r} is not allowed; {columns}")
    missing = [c for c in PRICE_CSV_COLUMNS if c not in header]
    if missing:
        hint = ""
        if len(header) == 1 and ("," in header[0] or ";" in header[0]):
            hint = " (the header is one cell: separate columns with commas or semicolons)"
        raise UploadError(f"{name}, row 1: missing column(s) {', '.join(missing)}{hint}; {columns}")
    repeated = sorted({h for h in header if h and header.count(h) > 1})
    if repeated:
        raise UploadError(f"{name}, row 1: column {repeated[0]!r} appears twice; each column once")
    if not rows:
        raise UploadError(f"{name}: no price rows under the header; {columns}")
    offers: list[PriceOffer] = []
    seen: dict[tuple[str, str, tuple[str, str, str]], str] = {}
    for line, cells in rows:
        where = f"row {line}"
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
            hint = (
                " (a decimal comma such as 2,50 splits a number in a comma-separated file: write 2.50, or "
                "separate the columns with semicolons)"
                if delimiter == ","
                else ""
            )
            raise UploadError(
                f"{name}, {where}: {len(cells)} cells but the header has {len(header)} columns{hint}; "
                "allowed: one cell per column"
            )
        nameless = [i for i, h in enumerate(header) if not h and i < len(cells) and cells[i].strip()]
        if nameless:  # a value under a column the header leaves unnamed would be dropped without a word
            raise UploadError(
                f"{name}, {where}, column {nameless[0] + 1}: {cells[nameless[0]].strip()[:30]!r} is under a "
                f"column with no name in the header; {columns}"
            )
        row = {h: (cells[i].strip() if i < len(cells) else "") for i, h in enumerate(header) if h}
        device = _resolve_device(name, where, row["device"], devices)
        kind = row["price_type"].casefold()
        if kind not in PRICE_TYPES:
            raise UploadError(
                f"{name}, {where}, column price_type: {row['price_type'][:30]!r} is not allowed; allowed: "
                + ", ".join(PRICE_TYPES)
            )
        price = _price_number(name, where, row["price"], delimiter)
        unit_kind = _unit_kind(row["unit"])
        if unit_kind is None or (kind == "purchase") != (unit_kind == "device"):
            shown = repr(row["unit"][:30]) if row["unit"] else "empty"
            raise UploadError(
                f"{name}, {where}, column unit: {shown} is not allowed for a {kind} price; "
                f"allowed {UNITS_ALLOWED}"
            )
        chips = 1
        if row.get("chips"):
            if not re.fullmatch(r"\d{1,4}", row["chips"]) or not 1 <= int(row["chips"]) <= 1024:
                raise UploadError(
                    f"{name}, {where}, column chips: {row['chips'][:20]!r} is not allowed; allowed: a whole "
                    "number of chips in the instance, 1 to 1024"
                )
            chips = int(row["chips"])
        per_instance = price * chips if unit_kind == "chip" else price
        lo, hi = (schema.PRICE_CLOUD if kind == "cloud" else schema.PRICE_PURCHASE).bounds
        if not lo <= per_instance <= hi:
            amount = f"${per_instance:,.2f}" if per_instance < 1e9 else f"${per_instance:.3g}"
            what = (
                f"{amount} per instance-hour ({chips} chip{'s' if chips > 1 else ''})"
                if kind == "cloud"
                else f"{amount} per device"
            )
            raise UploadError(
                f"{name}, {where}, column price: {what} is outside the plausible range; allowed: "
                + (
                    f"${lo:g} to ${hi:,.0f} per instance-hour"
                    if kind == "cloud"
                    else f"${lo:g} to ${hi:,.0f}"
                )
            )
        as_of = _date(name, where, "as_of", row["as_of"])
        for col in ("source_title", "source_url"):
            if not row[col]:
                raise UploadError(
                    f"{name}, {where}, column {col}: empty; allowed: every price needs its as-of date, a "
                    "source title and a link (an intranet link to the quote is fine)"
                )
        if not re.fullmatch(r"https?://[^\s\"'<>]+", row["source_url"]):
            raise UploadError(
                f"{name}, {where}, column source_url: {row['source_url'][:60]!r} is not a link; allowed: an "
                "http:// or https:// address"
            )
        offer = PriceOffer(
            file=name,
            where=where,
            device_id=device,
            kind=kind,
            price=per_instance,
            chips=chips,
            as_of=as_of,
            source_title=row["source_title"],
            source_url=row["source_url"],
            provider=row.get("provider", "") if kind == "cloud" else "",
            instance=row.get("instance", "") if kind == "cloud" else "",
            region=row.get("region", "") if kind == "cloud" else "",
            note=row.get("note", ""),
            unit_sold=row.get("unit_sold", ""),
        )
        key = (device, kind, offer.offer_key())
        if key in seen:
            raise UploadError(
                f"{name}, {where}: prices the same {kind} offer for {device} as {seen[key]}; allowed: one "
                "price per offer"
            )
        seen[key] = where
        offers.append(offer)
    return offers

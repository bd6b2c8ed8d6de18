"""Sharing: the scenario in the page's URL, downloads, and uploads (scenario JSON, hardware files).

Two tiny anywidgets (JavaScript inline, nothing fetched): ``LinkBar`` keeps the address bar's query string
equal to the scenario, so the URL is always the deep link, and copies it; ``Downloader`` turns bytes
sent from the kernel into a browser download. Uploads are size-limited and validated; a rejected upload
changes nothing and says which row and field was wrong.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from .catalog import Catalog, CatalogError, load_catalog
from .scenario import Scenario, ScenarioError

MAX_UPLOAD_BYTES = 256 * 1024

_LINK_ESM = """
function render({ model, el }) {
  const inVoila = document.body && document.body.dataset.voila === "voila";
  const button = document.createElement("button");
  button.className = "jupyter-button ax-copy";
  button.textContent = "Copy link";
  button.title = "Copy a link that opens the explorer with exactly these settings";
  const box = document.createElement("input");
  box.className = "ax-link";
  box.readOnly = true;
  box.setAttribute("aria-label", "Link to these settings");
  const status = document.createElement("span");
  status.className = "ax-copied";
  status.setAttribute("role", "status");
  const sync = () => {
    const q = model.get("query");
    if (inVoila) {
      const url = new URL(window.location.href);
      url.search = q ? "?" + q : "";
      window.history.replaceState(null, "", url.toString());
      box.value = url.toString();
    } else {
      box.value = q ? "?" + q : "(default settings)";
    }
  };
  button.addEventListener("click", async () => {
    sync();
    box.select();
    let ok = false;
    try { await navigator.clipboard.writeText(box.value); ok = true; } catch (e) {
      try { ok = document.execCommand("copy"); } catch (e2) { ok = false; }
    }
    status.textContent = ok ? "Copied" : "Select the link and copy it";
    model.set("copies", model.get("copies") + 1);
    model.save_changes();
    setTimeout(() => { status.textContent = ""; }, 2500);
  });
  // The address bar follows the controls a moment after they move: rewriting it costs the browser a few
  // milliseconds, which would otherwise delay the charts of every slider move.
  let pending = null;
  model.on("change:query", () => {
    clearTimeout(pending);
    pending = setTimeout(sync, 120);
  });
  sync();
  el.classList.add("ax-linkbar");
  el.append(button, box, status);
}
export default { render };
"""

_DOWNLOAD_ESM = """
function render({ model, el }) {
  model.on("msg:custom", (msg) => {
    if (msg.kind !== "download") return;
    const bytes = Uint8Array.from(atob(msg.b64), (c) => c.charCodeAt(0));
    const url = URL.createObjectURL(new Blob([bytes], { type: msg.mime }));
    const a = document.createElement("a");
    a.href = url;
    a.download = msg.filename;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  });
}
export default { render };
"""


class LinkBar(anywidget.AnyWidget):
    """The deep link: the page URL's query string follows ``query``; a button copies the link."""

    _esm = _LINK_ESM
    _css = """
    .ax-linkbar { display: flex; gap: 6px; align-items: center; }
    .ax-link { flex: 1 1 auto; min-width: 12em; font: 12px monospace; padding: 3px 5px; }
    .ax-copied { color: #1a7f37; font-size: 12px; min-width: 8em; }
    """
    query = traitlets.Unicode("", help="the scenario as a URL query string").tag(sync=True)
    copies = traitlets.Int(0, help="how many times the link was copied").tag(sync=True)


class Downloader(anywidget.AnyWidget):
    """Sends a file to the browser as a download; invisible."""

    _esm = _DOWNLOAD_ESM
    sent = traitlets.List(help="names of the files sent, in order")

    def download(self, filename: str, content: bytes | str, mime: str) -> None:
        data = content.encode("utf-8") if isinstance(content, str) else content
        self.send(
            {
                "kind": "download",
                "filename": filename,
                "mime": mime,
                "b64": base64.b64encode(data).decode("ascii"),
            }
        )
        self.sent = [*self.sent, filename]


# -- uploads -------------------------------------------------------------------------------------------


class UploadError(ValueError):
    """An upload that is refused: the message says which file, row and field, and what is allowed."""


def _content(upload: dict[str, Any]) -> tuple[str, bytes]:
    name = str(upload.get("name", "upload"))
    content = upload.get("content", b"")
    data = bytes(content.tobytes() if hasattr(content, "tobytes") else content)
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadError(
            f"{name}: {len(data):,} bytes is too large; allowed: up to {MAX_UPLOAD_BYTES:,} bytes"
        )
    return name, data


def scenario_from_upload(upload: dict[str, Any]) -> Scenario:
    name, data = _content(upload)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UploadError(f"{name}: not UTF-8 text; allowed: a scenario JSON file") from None
    try:
        return Scenario.from_json(text)
    except ScenarioError as err:
        raise UploadError(f"{name}: {err}") from None


PRICE_CSV_COLUMNS = ("device", "price_type", "price", "unit", "as_of", "source_title", "source_url")
PRICE_CSV_OPTIONAL = ("provider", "instance", "region", "chips", "note")


def _toml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def _price_csv_to_toml(name: str, text: str, known_devices: set[str]) -> dict[str, str]:
    """Price rows to catalog price files (by device id); raises naming the row and field."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in PRICE_CSV_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise UploadError(
            f"{name}: missing column(s) {', '.join(missing)}; the columns are "
            f"{', '.join(PRICE_CSV_COLUMNS)} and optionally {', '.join(PRICE_CSV_OPTIONAL)}"
        )
    files: dict[str, list[str]] = {}
    for i, row in enumerate(reader, start=2):  # row 1 is the header
        where = f"{name}: row {i}"
        device = (row.get("device") or "").strip()
        if device not in known_devices:
            raise UploadError(
                f"{where}, field device: {device!r} is not a device in the catalog "
                "(add the device with a device file first)"
            )
        kind = (row.get("price_type") or "").strip()
        if kind not in ("purchase", "cloud"):
            raise UploadError(f"{where}, field price_type: {kind!r} is not allowed; allowed: purchase, cloud")
        try:
            price = float(row["price"])
        except (TypeError, ValueError):
            raise UploadError(f"{where}, field price: {row.get('price')!r} is not a number") from None
        for field in ("unit", "as_of", "source_title", "source_url"):
            if not (row.get(field) or "").strip():
                raise UploadError(
                    f"{where}, field {field}: empty; every price needs its unit, as-of date and source"
                )
        key = f"upload-row-{i}"
        rec = (
            f"price = {{ value = {price!r}, unit = {_toml_str(row['unit'].strip())}, "
            f'as_of = {row["as_of"].strip()}, source = "{key}" }}'
        )
        lines = files.setdefault(device, [f'device = "{device}"'])
        if kind == "purchase":
            lines.append(f"[purchase]\n{rec}")
        else:
            chips = (row.get("chips") or "1").strip()
            extra = "".join(
                f"{f} = {_toml_str((row.get(f) or 'uploaded').strip())}\n"
                for f in ("provider", "instance", "region")
            )
            lines.append(f"[[cloud]]\n{extra}chips = {chips}\n{rec}")
        lines.append(
            f"[sources.{key}]\ntitle = {_toml_str(row['source_title'].strip())}\n"
            f"url = {_toml_str(row['source_url'].strip())}\nretrieved = {row['as_of'].strip()}"
        )
    if not files:
        raise UploadError(f"{name}: no price rows")
    return {device: "\n".join(lines) + "\n" for device, lines in files.items()}


def catalog_with_upload(
    upload: dict[str, Any], base_dirs: list[Path] | None = None, cat: Catalog | None = None
) -> tuple[Catalog, Path, str]:
    """A new catalog with an uploaded hardware file added: a price CSV, or a device or price file in the
    catalog's own TOML format. Returns the catalog, the session folder holding the upload, and a summary.

    Raises UploadError (or the catalog's own validation errors, as UploadError) without changing anything.
    """
    name, data = _content(upload)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UploadError(f"{name}: not UTF-8 text; allowed: a price CSV or a catalog TOML file") from None
    cat = cat if cat is not None else load_catalog(*(base_dirs or []))
    folder = Path(tempfile.mkdtemp(prefix="accel-explorer-upload-"))
    if name.lower().endswith(".csv"):
        files = _price_csv_to_toml(name, text, set(cat.devices.id))
        (folder / "prices").mkdir()
        for device, toml_text in files.items():
            (folder / "prices" / f"{device}.toml").write_text(toml_text, encoding="utf-8")
        summary = f"{name}: prices for {', '.join(sorted(files))}"
    elif name.lower().endswith(".toml"):
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as err:
            raise UploadError(f"{name}: malformed TOML: {err}") from None
        collection = (
            "prices"
            if "device" in doc and ("cloud" in doc or "purchase" in doc)
            else "devices"
            if "frameworks" in doc or "kind" in doc
            else None
        )
        if collection is None:
            raise UploadError(f"{name}: neither a device file nor a price file (see catalog/README.md)")
        (folder / collection).mkdir()
        (folder / collection / Path(name).name).write_text(text, encoding="utf-8")
        summary = f"{name}: {collection[:-1] if collection == 'devices' else 'price'} file {Path(name).stem}"
    else:
        raise UploadError(f"{name}: not allowed; allowed: a price .csv, or a device or price .toml file")
    try:
        new = load_catalog(*(base_dirs or []), folder)
    except CatalogError as err:
        first = err.issues[0]
        more = f" (and {len(err.issues) - 1} more)" if len(err.issues) > 1 else ""
        shown = str(first).replace(str(folder) + "/", "")
        raise UploadError(f"{name}: {shown}{more}") from None
    return new, folder, summary

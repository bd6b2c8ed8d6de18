"""Sharing: the scenario in the page's URL, downloads, and uploads (scenario JSON, prices, device files).

Three tiny anywidgets (their JavaScript in explorer/js/, nothing fetched): ``LinkBar`` keeps the address
bar's query string equal to the scenario, so the URL is always the deep link, and copies it; ``Downloader``
turns bytes sent from the kernel into a browser download; ``UploadKeeper`` keeps a visitor's accepted
uploads in the browser tab so that a reloaded page (a new kernel) gets them back, checked again. Uploads are
read in memory, size-limited and validated as a whole; a refused upload changes nothing and says which
file, row and column was wrong and what is allowed. The reading and checking of uploads, without widgets, is
`explorer.uploads`; this module holds the widgets and the upload controls.
"""

from __future__ import annotations

import base64
import html
import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import anywidget
import traitlets

from .uploads import SessionUploads, UploadError, restored_files, scenario_from_upload, upload_name

log = logging.getLogger(__name__)

# Each widget's front end is an ES module in its own file (explorer/js/, parsed by tests/test_js.py);
# anywidget reads a pathlib.Path given as ``_esm`` once, when the class is defined.
_JS = Path(__file__).with_name("js")
_LINK_ESM = _JS / "link_bar.js"

_DOWNLOAD_ESM = _JS / "downloader.js"


class LinkBar(anywidget.AnyWidget):
    """The deep link: the page URL's query string follows ``query``; a button copies the link."""

    _esm = _LINK_ESM
    _css = """
    .ax-linkbar { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; }
    .ax-link { flex: 1 1 auto; min-width: 12em; font: 12px monospace; padding: 3px 5px; }
    .ax-copied { color: #1a7f37; font-size: 12px; min-width: 8em; }
    .ax-link-note { flex: 1 1 100%; font-size: 12px; color: #8a5a00; }
    """
    query = traitlets.Unicode("", help="the scenario as a URL query string").tag(sync=True)
    copies = traitlets.Int(0, help="how many times the link was copied").tag(sync=True)
    note = traitlets.Unicode(
        "", help="what the link does not carry (your uploaded files), shown beside it; empty: nothing"
    ).tag(sync=True)

    def uploads_in_use(self, names: list[str]) -> None:
        """Say beside the link that it carries the settings, not the uploaded files `names` (a link is
        a query string; a file's prices would not fit in it, and would be another visitor's to trust)."""
        self.note = (
            f"The link and the Scenario (JSON) carry these settings, not your uploads ({', '.join(names)}): "
            "send those files too; whoever opens the link uploads them."
            if names
            else ""
        )


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


# -- uploads: kept across a reload, and the controls that take them --------------------------------

_KEEP_ESM = _JS / "upload_keeper.js"


class UploadKeeper(anywidget.AnyWidget):
    """Keeps the accepted uploads in the browser tab (sessionStorage) and hands them back to a new kernel
    after a reload, where they are checked again like fresh uploads; invisible."""

    _esm = _KEEP_ESM
    files = traitlets.List(help="the accepted uploads: {name, b64} each").tag(sync=True)


# -- the upload controls ---------------------------------------------------------------------------


def upload_section(
    explorer: Any, say: Any, status: Any, reveal: Any = None, in_use: Any = None
) -> SimpleNamespace:
    """Uploads: a scenario JSON (checked whole, then applied in one update) and your own prices or devices
    (they accumulate; each is listed with what it changed and can be removed; the browser tab keeps them
    for a reload, after which they are checked again). Every failure, whatever its cause, is said in
    `status` and changes nothing. `reveal()`, if given, opens what holds `status` when a reloaded page's
    uploads were restored, so that what was said is seen; `in_use(names)`, if given, is told the names of
    the uploads in use whenever they change."""
    import ipywidgets as W

    from .calc import evaluate

    up_scenario = W.FileUpload(
        accept=".json", multiple=False, description="Scenario JSON", layout=W.Layout(width="auto")
    )
    up_hardware = W.FileUpload(
        accept=".csv,.toml",
        multiple=False,
        description="Your prices or device",
        layout=W.Layout(width="auto"),
    )
    help_text = W.HTML(
        "<span class='ax-unit' style='display:block;line-height:1.4'>a scenario saved here; or your own "
        "prices: a CSV with the columns device, "
        "price_type (cloud or purchase), price, unit (USD/chip-hour; USD/hour for a whole instance, with a "
        "chips column; USD to buy one), as_of, source_title, source_url (optional: provider, instance, "
        "region, chips), or a device or price file in the catalog's format. Your prices count in every "
        "cloud market, several uploads add up, and this browser tab keeps them across a reload.</span>"
    )
    sessions = SessionUploads(explorer.cat)
    keeper = UploadKeeper()
    listing = W.VBox()
    state = {"restored": False}

    def refused(name: str, err: BaseException, what: str = "Upload refused") -> None:
        if isinstance(err, UploadError):
            say(f"{what}: {err}. Nothing was changed.", ok=False)
        else:  # a bug, or a file no check foresaw: said on the page, logged for the maintainers
            log.exception("upload of %s failed", name)
            say(
                f"{what}: {name} could not be read ({type(err).__name__}). Nothing was changed; please "
                "check the file against the format above.",
                ok=False,
            )

    def taken(change: dict) -> Any:
        """The file a FileUpload was just given; the control is emptied so the same file can be sent again."""
        files = change["new"]
        if not files:
            return None
        change["owner"].value = ()
        return files[0]

    def show() -> list[str]:
        old = listing.children
        rows = []
        for i, (up, lines) in enumerate(zip(sessions.items, sessions.changes, strict=True)):
            remove = W.Button(
                description=f"Remove {up.name}",
                tooltip=f"Stop using the prices and devices from {up.name}",
                layout=W.Layout(width="auto", flex="0 0 auto"),
            )
            remove.on_click(lambda _b, i=i: remove_upload(i))
            items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
            changed = W.HTML(f"<ul class='ax-unit' style='margin:2px 0'>{items}</ul>")
            # named parts (a row's button and what the upload changed), found by class, not by position
            remove.add_class("ax-upload-remove")
            changed.add_class("ax-upload-changes")
            rows.append(W.HBox([remove, changed], layout=W.Layout(align_items="flex-start")))
        listing.children = rows
        for row in old:
            for w in row.children:
                w.close()
            row.close()
        kept, too_large = sessions.to_keep()
        keeper.files = kept
        if in_use is not None:
            in_use([up.name for up in sessions.items])
        return too_large

    def use(plan: Any) -> list[str]:
        _items, cat, _changes = plan
        evaluate(explorer.result.scenario, cat)  # the scenario on the page must still evaluate: else refused
        explorer.set_catalog(cat)
        sessions.commit(plan)
        return show()

    def not_kept(too_large: list[str]) -> str:
        return (
            f" Too large to keep across a reload (upload again after one): {', '.join(too_large)}."
            if too_large
            else ""
        )

    def on_scenario(change: dict) -> None:
        upload = taken(change)
        if upload is None:
            return
        name = upload_name(upload)
        old, moved = explorer.result.scenario, False
        try:
            scenario = scenario_from_upload(upload, explorer.cat)  # checked whole before anything moves
            moved = True
            explorer.set_scenario(scenario)
            if explorer.message:
                raise UploadError(f"{name}: {explorer.message}")
        except Exception as err:
            if moved:  # put the controls back as they were
                explorer.set_scenario(old)
            refused(name, err)
            return
        say(f"Restored the scenario from {name}.")

    def on_hardware(change: dict) -> None:
        upload = taken(change)
        if upload is None:
            return
        try:
            too_large = use(sessions.plan_add(upload, explorer.result.scenario.cloud_market))
        except Exception as err:
            refused(upload_name(upload), err)
            return
        added = sessions.items[-1]
        basis = explorer.result.scenario.cloud_pricing
        # a cloud price is read as an on-demand list price: a commitment's discount is taken off it, which
        # a negotiated price already has
        commit = (
            f" Its cloud prices count as on-demand list prices: the scenario's {basis} pricing takes that "
            "commitment's discount off them; for a price already negotiated, choose On-demand under "
            "Assumptions, Cloud pricing."
            if basis != "on-demand" and any(o.kind == "cloud" for o in added.offers)
            else ""
        )
        say(
            f"Added {added.name}: its prices are used from now on, in every cloud market; what "
            "it changed is listed above." + commit + not_kept(too_large)
        )

    def remove_upload(index: int) -> None:
        name = sessions.items[index].name if index < len(sessions.items) else "the upload"
        try:
            use(sessions.plan_remove(index, explorer.result.scenario.cloud_market))
        except Exception as err:
            refused(name, err, "Not removed")
            return
        say(f"Removed {name}: the catalog's prices are used again where it had set them.")

    def on_restore(_widget: Any, content: Any, _buffers: Any) -> None:
        """A reloaded page hands back the uploads its tab kept: each is checked again like a fresh upload."""
        files = restored_files(content)
        if state["restored"] or sessions.items or not files:
            return
        state["restored"] = True
        back, lost = [], []
        for upload in files:
            try:
                use(sessions.plan_add(upload, explorer.result.scenario.cloud_market))
                back.append(sessions.items[-1].name)
            except Exception as err:
                if not isinstance(err, UploadError):
                    log.exception("restoring an upload failed")
                lost.append(
                    str(err) if isinstance(err, UploadError) else f"{upload_name(upload)}: unreadable"
                )
        text = (
            "Your uploads from before the reload were checked again and are in use: " + ", ".join(back) + "."
            if back
            else ""
        )
        if lost:
            text += " Not restored, please upload again: " + "; ".join(lost) + "."
        say(text.strip(), ok=not lost)
        if reveal is not None:  # open the collapsed section, so that this is seen
            reveal()

    up_scenario.observe(on_scenario, names=["value"])
    up_hardware.observe(on_hardware, names=["value"])
    keeper.on_msg(on_restore)
    row = W.HBox(
        [W.HTML("<b>Upload</b>&nbsp;"), up_scenario, up_hardware, help_text],
        layout=W.Layout(align_items="center", flex_flow="row wrap"),
    )
    return SimpleNamespace(
        row=row,
        listing=listing,
        keeper=keeper,
        scenario=up_scenario,
        hardware=up_hardware,
        sessions=sessions,
        restore=on_restore,
        remove=remove_upload,
    )

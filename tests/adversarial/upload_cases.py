"""Uploads: what a visitor could pick with the upload buttons, or a reloaded page could hand back.

Each case drives the kernel side exactly as the browser does (a FileUpload's value, the UploadKeeper's
restore message) on one shared page, and judges what the page then says and keeps: a refusal must name
the file and what is allowed, change nothing, show no path or traceback, and leave no scratch folder; a
file spreadsheets write (a byte-order mark, semicolons, a decimal comma) must be taken; markup in a name or
a cell must stay text.
"""

from __future__ import annotations

import base64
import datetime
import re
import tempfile
import threading
from pathlib import Path
from typing import Any

from . import Context, Outcome, case

HEADER = "device,price_type,price,unit,as_of,source_title,source_url\n"
ROW = "nvidia-h100-sxm,cloud,2.5,USD/GPU-hour,2026-10-01,Q,https://intranet.example.com/q\n"
LEAKS = re.compile(r"Traceback|/tmp/|/home/|/work/|/usr/|site-packages|\.py\b|prices/[a-z0-9-]+\.toml")
_page: dict[str, Any] = {}
_lock = threading.Lock()


def _shared_page() -> tuple[Any, Any]:
    """One explorer with its share panel, built once for all upload cases (each must leave it as it was)."""
    with _lock:
        if not _page:
            from explorer.app import share_panel
            from explorer.catalog import load_catalog
            from explorer.widgets import Explorer

            explorer = Explorer(load_catalog())
            _page["page"] = (explorer, share_panel(explorer))
        return _page["page"]


def _scratch() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("accel-explorer-upload-*"))


def _state(explorer: Any, panel: Any) -> tuple:
    return (
        explorer.cat,
        explorer.result.scenario,
        explorer.controls.value,
        panel.uploads.sessions.items,
        list(panel.uploads.keeper.files),
    )


def _file(name: str, content: str | bytes) -> dict[str, Any]:
    data = content.encode("utf-8") if isinstance(content, str) else content
    when = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    return {"name": name, "content": memoryview(data), "size": len(data), "type": "", "last_modified": when}


def _send(control: str, name: str, content: str | bytes, accept: bool = False) -> tuple[Outcome, str]:
    explorer, panel = _shared_page()
    with _lock:
        while panel.uploads.sessions.items:  # a clean page for every case
            panel.uploads.remove(0)
        before, scratch = _state(explorer, panel), _scratch()
        getattr(panel.uploads, control).value = [_file(name, content)]
        status = panel.status.value
        rows = panel.uploads.listing.children  # each row's list of changes, found by its class
        listing = [w.value for r in rows for w in r.children if "ax-upload-changes" in w._dom_classes]
        after = _state(explorer, panel)
        while panel.uploads.sessions.items:
            panel.uploads.remove(0)
    if _scratch() - scratch:
        return Outcome.LEAK, "a scratch folder was left behind"
    if re.search(r"<(img|script|svg)\b", status + "".join(listing), re.I):
        return Outcome.INJECTION, "markup from the file reached the page unescaped"
    if LEAKS.search(status):
        return Outcome.LEAK, status[:200]
    if accept:
        ok = "Added" in status or "Restored the scenario" in status
        return (Outcome.HELD, "taken") if ok else (Outcome.UNCLEAR, f"not taken: {status[:200]}")
    if after != before:
        return Outcome.DATA_LOST, "a refused upload changed the page"
    shown = re.sub(r"&#x27;|&quot;|&lt;|&gt;|&amp;", "", status)
    if (
        "Upload refused" in status
        and "Nothing was changed" in status
        and re.search(r"allowed|empty|missing", shown)
    ):
        return Outcome.CLEAR_ERROR, re.sub("<[^>]+>", "", status)[:160]
    return Outcome.UNCLEAR, status[:200] or "no message"


PRICE_FILES: dict[str, tuple[str, str | bytes, bool]] = {
    "400-digit price": ("p.csv", HEADER + ROW.replace("2.5,", "9" * 400 + ","), False),
    "negative price": ("p.csv", HEADER + ROW.replace("2.5,", "-2.5,"), False),
    "zero price": ("p.csv", HEADER + ROW.replace("2.5,", "0,"), False),
    "price nan": ("p.csv", HEADER + ROW.replace("2.5,", "nan,"), False),
    "price inf": ("p.csv", HEADER + ROW.replace("2.5,", "inf,"), False),
    "price 1e308": ("p.csv", HEADER + ROW.replace("2.5,", "1e308,"), False),
    "decimal comma in a comma file": ("p.csv", HEADER + ROW.replace("2.5,", "2,5,"), False),
    "ambiguous comma with semicolons": (
        "p.csv",
        (HEADER + ROW.replace("2.5,", '"2,500",')).replace(",", ";"),
        False,
    ),
    "missing column": ("p.csv", HEADER.replace(",source_url", "") + ROW.rsplit(",", 1)[0] + "\n", False),
    "unknown column": ("p.csv", HEADER.replace("source_url", "sauce_url") + ROW, False),
    "unknown device": ("p.csv", HEADER + ROW.replace("nvidia-h100-sxm", "nvidia-h900"), False),
    "device id with markup": (
        "p.csv",
        HEADER + ROW.replace("nvidia-h100-sxm", "<img src=x onerror=alert(1)>"),
        False,
    ),
    "unknown unit": ("p.csv", HEADER + ROW.replace("USD/GPU-hour", "EUR/hour"), False),
    "bad date": ("p.csv", HEADER + ROW.replace("2026-10-01", "31/12/2026"), False),
    "date in year 9999": ("p.csv", HEADER + ROW.replace("2026-10-01", "9999-12-31"), False),
    "javascript link": (
        "p.csv",
        HEADER + ROW.replace("https://intranet.example.com/q", "javascript:alert(1)"),
        False,
    ),
    "chips zero": ("p.csv", HEADER.rstrip() + ",chips\n" + ROW.rstrip() + ",0\n", False),
    "chips huge": ("p.csv", HEADER.rstrip() + ",chips\n" + ROW.rstrip() + ",99999999999\n", False),
    "extra cells": ("p.csv", HEADER + ROW.rstrip() + ",x,y\n", False),
    "unclosed quote": ("p.csv", HEADER + '"nvidia-h100-sxm,cloud\n', False),
    "header only": ("p.csv", HEADER, False),
    "empty file": ("p.csv", "", False),
    "binary file": ("p.csv", bytes(range(256)) * 10, False),
    "UTF-16 file": ("p.csv", (HEADER + ROW).encode("utf-16"), False),
    "NUL bytes": ("p.csv", (HEADER + ROW).replace("Q", "Q\x00"), False),
    "300 KB file": ("p.csv", HEADER + ROW * 3500, False),
    "10,000 short rows": ("p.csv", HEADER + "x\n" * 10_000, False),
    "a 100 KB cell": ("p.csv", HEADER + ROW.replace("Q,", "Q" * 100_000 + ","), False),
    "same offer twice": ("p.csv", HEADER + ROW + ROW, False),
    "executable name": ("p.exe", HEADER + ROW, False),
    "no extension": ("prices", HEADER + ROW, False),
    "deeply nested TOML": ("d.toml", "a = " + "[" * 20_000 + "]" * 20_000, False),
    "30,000 nested TOML tables": ("d.toml", "".join(f"[{'a.' * 30_000}b]\n"), False),
    "400-digit TOML number": ("d.toml", 'kind = "gpu"\nmemory = { value = ' + "9" * 400 + " }\n", False),
    "malformed TOML": ("d.toml", 'kind = "gpu"\nname = \n', False),
    "TOML device id from a bad name": ("My Device.toml", 'kind = "gpu"\n', False),
    "TOML device with missing fields": ("my-gpu.toml", 'kind = "gpu"\nname = "x"\n', False),
    "TOML price for an unknown device": ("p.toml", 'device = "nope"\n[purchase]\n', False),
    "TOML neither kind": ("x.toml", 'title = "x"\n', False),
    # taken: what spreadsheets and buyers write
    "Excel CSV UTF-8 with a byte-order mark": ("p.csv", "\ufeff" + HEADER + ROW, True),
    "semicolons and a decimal comma": (
        "p.csv",
        (HEADER + ROW.replace("2.5,", '"2,5",')).replace(",", ";").replace('"2;5"', "2,5"),
        True,
    ),
    "CRLF line ends and blank lines": ("p.csv", (HEADER + "\n" + ROW + "\n\n").replace("\n", "\r\n"), True),
    "device by name and a dollar sign": (
        "p.csv",
        HEADER + ROW.replace("nvidia-h100-sxm,cloud,2.5", "NVIDIA H100 SXM5 80GB,cloud,$2.5"),
        True,
    ),
    "name with markup": ("<img src=x onerror=alert(1)>.csv", HEADER + ROW, True),
    "source title with markup": ("p.csv", HEADER + ROW.replace(",Q,", ",<script>alert(1)</script>,"), True),
    "source title that is a formula": ("p.csv", HEADER + ROW.replace(",Q,", ",=HYPERLINK(1),"), True),
    "folder in the name": ("../../etc/passwd.csv", HEADER + ROW, True),
}

SCENARIO_FILES: dict[str, tuple[str, str | bytes, bool]] = {
    "scenario: unknown workload": ("s.json", '{"workload": "gpt-9", "requests_per_day": 7e9}', False),
    "scenario: 400-digit number": ("s.json", '{"requests_per_day": ' + "9" * 400 + "}", False),
    "scenario: 5000-digit number": ("s.json", '{"requests_per_day": ' + "9" * 5000 + "}", False),
    "scenario: 100,000-deep JSON": ("s.json", "[" * 100_000 + "]" * 100_000, False),
    "scenario: NaN": ("s.json", '{"requests_per_day": NaN}', False),
    "scenario: framework mix overflow": (
        "s.json",
        '{"framework_mix": {"pytorch": 1e308, "jax": 1e308}}',
        True,  # taken as half and half
    ),
    "scenario: not an object": ("s.json", "[1, 2]", False),
    "scenario: UTF-16": ("s.json", '{"pue": 1.2}'.encode("utf-16"), False),
    "scenario: a CSV as JSON": ("s.json", HEADER + ROW, False),
    "scenario: with a byte-order mark": ("s.json", '\ufeff{"pue": 1.3}', True),
}


def _register(area: str, label: str, control: str, spec: tuple[str, str | bytes, bool]) -> None:
    name, content, accept = spec

    @case(area, label, core=True, timeout=60)
    def _run(_ctx: Context) -> tuple[Outcome, str]:
        return _send(control, name, content, accept)


for _label, _spec in PRICE_FILES.items():
    _register("upload", _label, "hardware", _spec)
for _label, _spec in SCENARIO_FILES.items():
    _register("upload", _label, "scenario", _spec)


@case("upload", "restore: junk messages from a page", core=True)
def _restore_junk(_ctx: Context) -> tuple[Outcome, str]:
    explorer, panel = _shared_page()
    junk = [
        None,
        "restore",
        {"kind": "restore", "files": {"name": "x"}},
        {"kind": "restore", "files": [{"name": 1, "b64": 2}]},
        {"kind": "restore", "files": [{"name": "a.csv", "b64": "%%%"}]},
        {"kind": "restore", "files": [{"name": "a.csv", "b64": "A" * 2_000_000}]},
    ]
    with _lock:
        before = _state(explorer, panel)
        for msg in junk:
            panel.uploads.restore(None, msg, [])
        if _state(explorer, panel) != before:
            return Outcome.DATA_LOST, "a junk restore message changed the page"
    return Outcome.HELD, "ignored"


@case("upload", "restore: a file that is no longer valid", core=True)
def _restore_invalid(_ctx: Context) -> tuple[Outcome, str]:
    from explorer.app import share_panel
    from explorer.catalog import load_catalog
    from explorer.widgets import Explorer

    explorer = Explorer(load_catalog())
    panel = share_panel(explorer)
    bad = base64.b64encode((HEADER + ROW.replace("2.5,", "-1,")).encode()).decode()
    panel.uploads.restore(None, {"kind": "restore", "files": [{"name": "old.csv", "b64": bad}]}, [])
    status = panel.status.value
    if panel.uploads.sessions.items:
        return Outcome.DATA_LOST, "an invalid kept file was applied"
    if "Not restored, please upload again: old.csv, row 2, column price" in status:
        return Outcome.CLEAR_ERROR, "said to upload again"
    return Outcome.UNCLEAR, status[:200]

"""Reading an uploaded file safely: its name, its bytes and text, bounded JSON and TOML, and the limits
and the error (`UploadError`) that every upload check uses.

Everything a visitor uploads is read in memory (nothing is written to disk), size-limited, and checked as a
whole before anything changes; a refused upload says which file, row and column was wrong and what is
allowed. What the files mean (a scenario, prices, a device) is read in `explorer.price_csv` and
`explorer.uploads`; the widgets that take them are in `explorer.share`.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from typing import Any

from .catalog.files import InputRefused, check_nesting, decode_utf8, loads_toml

MAX_UPLOAD_BYTES = 256 * 1024
MAX_ROWS = 1000  # data rows in one price CSV
MAX_CELL = 500  # characters in one CSV cell
MAX_NUMBER_CHARS = 32  # characters in one number (a price, a JSON or TOML figure)
MAX_NESTING = 32  # levels of arrays and tables in a JSON or TOML upload
MAX_NAME = 80  # characters of an uploaded file's name that are kept

#: Where every figure from an upload says it came from (with the file name after it).
UPLOAD_SOURCE = "your upload"


class UploadError(ValueError):
    """An upload that is refused: the message names the file, row and column, and what is allowed."""


def _clean_name(raw: Any) -> str:
    """The file's own name as the visitor sees it: no folders, no control characters, not too long."""
    name = re.split(r"[/\\]", str(raw or ""))[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip() or "upload"
    if len(name) > MAX_NAME:
        stem, dot, ext = name.rpartition(".")
        name = (
            (stem[: MAX_NAME - len(ext) - 2] + "~" + dot + ext) if dot and len(ext) < 10 else name[:MAX_NAME]
        )
    return name


def upload_name(upload: Any) -> str:
    """The name of an uploaded file as messages show it (whatever the upload holds)."""
    if isinstance(upload, tuple | list) and upload:
        return _clean_name(upload[0])
    return _clean_name(upload.get("name") if isinstance(upload, dict) else None)


def file_content(upload: Any) -> tuple[str, bytes]:
    """(name, bytes) of a FileUpload value entry ({name, content, ...}) or a (name, bytes) pair."""
    if isinstance(upload, tuple | list) and len(upload) == 2:
        raw_name, content = upload
    elif isinstance(upload, dict):
        raw_name, content = upload.get("name"), upload.get("content", b"")
    else:
        raise UploadError("upload: not a file; allowed: a file chosen with the upload button")
    name = _clean_name(raw_name)
    if isinstance(content, str):
        content = content.encode("utf-8")
    try:
        data = bytes(content.tobytes() if hasattr(content, "tobytes") else content)
    except (TypeError, ValueError):
        raise UploadError(f"{name}: its content could not be read; allowed: a text file") from None
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadError(
            f"{name}: {len(data):,} bytes is too large; allowed: up to {MAX_UPLOAD_BYTES:,} bytes"
        )
    if not data.strip():
        raise UploadError(f"{name}: the file is empty")
    return name, data


def _refused(name: str, err: InputRefused, allowed: str) -> UploadError:
    """The catalog reader's refusal said of the visitor's file, and what is allowed ("f.json: nested
    more than 32 levels deep ...; allowed: ...")."""
    return UploadError(f"{name}: {str(err).removeprefix('is ')}; allowed: {allowed}")


def decode_text(name: str, data: bytes, allowed: str, how: str = "") -> str:
    """UTF-8 text (a byte-order mark, as Excel writes one, is dropped), read as the catalog's files are
    (``explorer.catalog.files.decode_utf8``); `allowed` names what the file must be ("a price CSV"),
    `how` how to save it so ("in Excel: Save As, 'CSV UTF-8'")."""
    try:
        return decode_utf8(data, allowed)
    except InputRefused as err:
        raise _refused(name, err, f"UTF-8 text ({how})" if how else "UTF-8 text") from None


def load_json(name: str, text: str) -> Any:
    """JSON with bounded nesting (the catalog's scan, ``check_nesting``) and numbers of at most
    MAX_NUMBER_CHARS characters; raises UploadError naming the file and what is allowed."""
    try:
        check_nesting(text, "json")
    except InputRefused as err:
        raise _refused(
            name, err, "a JSON object with the scenario's fields (one level, framework_mix two)"
        ) from None

    def number(kind: str) -> Any:
        def parse(token: str) -> Any:
            if len(token) > MAX_NUMBER_CHARS:
                raise UploadError(
                    f"{name}: a number {len(token)} characters long ({token[:12]}...); allowed: numbers of "
                    f"up to {MAX_NUMBER_CHARS} characters, such as 2500000000 or 2.5e9"
                )
            return int(token) if kind == "int" else float(token)

        return parse

    try:
        return json.loads(text, parse_int=number("int"), parse_float=number("float"))
    except json.JSONDecodeError as err:
        raise UploadError(
            f"{name}: malformed JSON ({err.msg} at line {err.lineno}, column {err.colno}); allowed: a JSON "
            "object with the scenario's fields, as the Scenario (JSON) download writes it"
        ) from None
    except RecursionError:  # a backstop: the scan above refuses it first
        raise UploadError(
            f"{name}: nested too deeply; allowed: a JSON object with the scenario's fields"
        ) from None


def _check_values(name: str, node: Any, path: str = "", depth: int = 0) -> None:
    """Bounded nesting and numbers in a parsed TOML file (the catalog's checks assume sane values)."""
    if depth > MAX_NESTING:
        raise UploadError(f"{name}: {path or 'the file'} is nested too deeply; allowed: the catalog's format")
    if isinstance(node, dict):
        for key, value in node.items():
            _check_values(name, value, f"{path}.{key}" if path else str(key), depth + 1)
    elif isinstance(node, list):
        if len(node) > MAX_ROWS:
            raise UploadError(f"{name}: {path} has {len(node):,} entries; allowed: up to {MAX_ROWS:,}")
        for i, value in enumerate(node):
            _check_values(name, value, f"{path}[{i}]", depth + 1)
    elif isinstance(node, bool):
        return
    elif isinstance(node, int) and abs(node) > 10**15:
        raise UploadError(f"{name}: {path}: a {len(str(abs(node)))}-digit number; allowed: up to 10^15")
    elif isinstance(node, float) and not math.isfinite(node):
        raise UploadError(f"{name}: {path}: {node} is not a finite number")


def load_toml(name: str, text: str) -> dict[str, Any]:
    """TOML read as the catalog's files are (``explorer.catalog.files.loads_toml``: nesting and dotted
    keys scanned first, 64-bit integers, finite floats, dates), then an upload's own bounds (entries,
    numbers); raises UploadError naming the file and the value."""
    try:
        doc = loads_toml(text)
    except InputRefused as err:
        raise _refused(name, err, "the catalog's format (catalog/README.md)") from None
    except tomllib.TOMLDecodeError as err:
        raise UploadError(
            f"{name}: not valid TOML: {err}; allowed: the catalog's format (catalog/README.md)"
        ) from None
    except (RecursionError, ValueError, OverflowError, MemoryError) as err:
        raise UploadError(
            f"{name}: not valid TOML ({type(err).__name__}: a value is nested too deeply or a number is too "
            "long); allowed: the catalog's format (catalog/README.md)"
        ) from None
    _check_values(name, doc)
    return doc

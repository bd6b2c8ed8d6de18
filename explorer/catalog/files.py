"""Read and parse a file a user names, safely: the door through which catalog TOML and scenario JSON come.

Every check happens before anything is parsed, on the file actually opened (not on its name, so a file
swapped between a check and the read changes nothing):

- only a regular file is read: a FIFO, a device (``/dev/zero``), a socket or a folder is refused, and a
  symbolic link counts as the file it points to (a loop or a dangling link is refused, saying so);
- its size is capped before reading, and no more than the cap is ever read;
- the text must be UTF-8 (a UTF-16/32 file or a binary file is refused, saying so; a UTF-8 byte-order
  mark is dropped);
- nesting is measured by a scan of the text before the parser sees it (the standard library's parsers
  recurse, and a 100,000-deep document would exhaust the stack), and TOML dotted keys are bounded too
  (``tomllib`` takes quadratic time on a 30,000-part key);
- numbers are bounded: an integer of more than 64 bits (TOML's own limit) or a JSON integer of more than
  20 digits is refused (Python refuses to convert 4,300 digits and a 400-digit one overflows a float),
  and a non-finite float (``inf``, ``nan``, a 400-digit float) in the catalog is refused;
- TOML date-times are taken as their date (sources mix ``2024-05-01`` and ``2024-05-01T10:00:00Z``; the
  catalog keeps dates).

Each refusal raises `InputRefused`, whose message says what was wrong and what is allowed, without the
file's name or path: the caller says which file (a CLI names the path the user typed, the app the name of
the upload). Standard library only.
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import math
import os
import re
import stat
import tomllib
from pathlib import Path
from typing import Any

#: Caps on what is read and parsed; each refusal names the cap.
MAX_TOML_BYTES = 1_000_000
MAX_JSON_BYTES = 1_000_000
MAX_NESTING = 32  # the catalog nests 4 deep, a scenario 2
MAX_DOTTED_KEY_PARTS = 32
MAX_JSON_INT_DIGITS = 20
TOML_INT_RANGE = (-(2**63), 2**63 - 1)


class InputRefused(ValueError):
    """A file or text that is not read or not parsed; the message says what was wrong and what is allowed."""


def _size(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:,.1f} MB".replace(".0 MB", " MB")
    if n >= 1_000:
        return f"{n / 1_000:,.1f} kB".replace(".0 kB", " kB")
    return f"{n} bytes"


def _kind_of(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _open_error(path: Path, err: OSError) -> InputRefused:
    if err.errno == errno.ELOOP:
        return InputRefused("is a symbolic link that leads back to itself (a loop); point it at a file")
    if err.errno == errno.ENOENT and path.is_symlink():
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        return InputRefused(
            f"is a symbolic link to {target!r}, which does not exist (a dangling link); point it at a file"
        )
    if err.errno == errno.ENOENT:
        return InputRefused("does not exist")
    if err.errno in (errno.EACCES, errno.EPERM):
        return InputRefused("is not readable (permission denied)")
    return InputRefused(f"could not be opened ({err.strerror or type(err).__name__})")


def read_bytes(path: str | os.PathLike[str], max_bytes: int) -> bytes:
    """The bytes of a regular file of at most `max_bytes`; anything else raises `InputRefused`.

    The file is opened without blocking (a FIFO with no writer would otherwise wait forever) and
    checked with fstat on the opened descriptor before a byte is read.
    """
    p = Path(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    flags |= getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(p, flags)
    except OSError as err:
        raise _open_error(p, err) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InputRefused(f"is {_kind_of(st.st_mode)}; only regular files are read")
        if st.st_size > max_bytes:
            raise InputRefused(f"is {st.st_size:,} bytes; the most allowed is {_size(max_bytes)}")
        chunks: list[bytes] = []
        left = max_bytes + 1  # one byte more than allowed tells a file that grew while being read
        while left > 0:
            try:
                chunk = os.read(fd, min(left, 1 << 20))
            except BlockingIOError:  # a regular file never blocks; be safe anyway
                raise InputRefused("could not be read without waiting; only regular files are read") from None
            except OSError as err:
                raise InputRefused(f"could not be read ({err.strerror or type(err).__name__})") from None
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        if len(data) > max_bytes:
            raise InputRefused(f"is larger than {_size(max_bytes)}, the most allowed")
        return data
    finally:
        os.close(fd)


_BOMS = [
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
]


def _looks_utf16(sample: bytes) -> bool:
    """Text in UTF-16/32: NUL bytes at most even (or odd) positions, almost none at the others."""
    even, odd = sample[0::2], sample[1::2]
    if not odd:
        return False
    share = lambda b: b.count(0) / len(b)  # noqa: E731
    return (share(odd) > 0.7 and share(even) < 0.3) or (share(even) > 0.7 and share(odd) < 0.3)


def decode_utf8(data: bytes, what: str = "text") -> str:
    """UTF-8 bytes as text (a UTF-8 byte-order mark dropped); any other encoding raises `InputRefused`."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            raise InputRefused(f"is {name} encoded; {what} must be UTF-8 (save it again as UTF-8)")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    nul = data.find(b"\x00")
    if nul >= 0:
        if _looks_utf16(data[:400]):
            raise InputRefused(f"is UTF-16 (or UTF-32) text without a byte-order mark; {what} must be UTF-8")
        raise InputRefused(
            f"is a binary file, not text (a NUL byte at position {nul}); {what} must be UTF-8 text"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InputRefused(
            f"is not UTF-8 (byte 0x{data[err.start]:02x} at position {err.start} cannot be decoded); "
            f"{what} must be UTF-8"
        ) from None


def read_text(path: str | os.PathLike[str], max_bytes: int, what: str = "the file") -> str:
    """`read_bytes` then `decode_utf8`."""
    return decode_utf8(read_bytes(path, max_bytes), what)


# -- nesting, measured before a recursive parser sees the text ------------------------------------------

# Each string pattern always matches from its opening quote (to the closing one, the end of the line for
# one-line TOML strings, or the end of the text), so an unterminated string is consumed once, never
# rescanned from every later quote: the scan is linear in the length of the text.
_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*(?:"|\\?\Z)|[\[\]{}]', re.DOTALL)
_TOML_TOKENS = re.compile(
    r"'''.*?(?:'''|\Z)"
    r'|"""(?:[^\\]|\\.)*?(?:"""|\\?\Z)'
    r'|"(?:[^"\\\n]|\\.)*(?:"|(?=\n)|\\?\Z)'
    r"|'[^'\n]*(?:'|(?=\n)|\Z)"
    r"|#[^\n]*"
    r"|[\[\]{}]",
    re.DOTALL,
)
_KEY_PART = r"(?:[A-Za-z0-9_-]++|\"[^\"\n]*+\"|'[^'\n]*+')"
_LONG_DOTTED_KEY = re.compile(
    rf"(?<![A-Za-z0-9_-]){_KEY_PART}(?:[ \t]*+\.[ \t]*+{_KEY_PART}){{{MAX_DOTTED_KEY_PARTS},}}"
)


def _blank_strings(m: re.Match[str]) -> str:
    token = m.group()
    if token[0] in "\"'":
        return '""' + "\n" * token.count("\n")
    if token[0] == "#":
        return ""
    return token


def check_nesting(text: str, syntax: str, limit: int = MAX_NESTING) -> None:
    """Raise `InputRefused` if arrays/tables nest deeper than `limit` (strings and comments skipped).

    A linear scan with no recursion; it stops at the first level past the limit.
    """
    tokens = _JSON_TOKENS if syntax == "json" else _TOML_TOKENS
    depth = 0
    for m in tokens.finditer(text):
        c = m.group()
        if c in "[{":
            depth += 1
            if depth > limit:
                line = text.count("\n", 0, m.start()) + 1
                raise InputRefused(
                    f"is nested more than {limit} levels deep (line {line}); at most {limit} are allowed"
                )
        elif c in "]}":
            depth = max(depth - 1, 0)
    if syntax == "toml":
        # strings and comments blanked out (a quoted "a.b.c" is text, not a key); line numbers kept
        skeleton = tokens.sub(_blank_strings, text)
        m = _LONG_DOTTED_KEY.search(skeleton)
        if m is not None:
            line = skeleton.count("\n", 0, m.start()) + 1
            raise InputRefused(
                f"has a dotted key of more than {MAX_DOTTED_KEY_PARTS} parts (line {line}); "
                f"at most {MAX_DOTTED_KEY_PARTS} are allowed"
            )


# -- TOML --------------------------------------------------------------------------------------------


def _where(path: list[str]) -> str:
    return ".".join(path) if path else "(top level)"


def _clean_toml(doc: dict[str, Any]) -> dict[str, Any]:
    """Bound depth and numbers, and make date-times dates, without recursion."""
    stack: list[tuple[Any, list[str]]] = [(doc, [])]
    while stack:
        node, path = stack.pop()
        if len(path) > MAX_NESTING:
            raise InputRefused(
                f"{_where(path[:3])}...: nested more than {MAX_NESTING} levels deep; "
                f"at most {MAX_NESTING} are allowed"
            )
        items = list(node.items()) if isinstance(node, dict) else list(enumerate(node))
        for key, value in items:
            here = [*path, str(key) if isinstance(node, dict) else f"[{key}]"]
            if isinstance(value, bool):
                continue
            if isinstance(value, int) and not TOML_INT_RANGE[0] <= value <= TOML_INT_RANGE[1]:
                digits = len(str(abs(value))) if value.bit_length() < 14_000 else "huge"
                raise InputRefused(
                    f"{_where(here)}: a {digits}-digit integer is out of range; "
                    "TOML integers must fit in 64 bits (at most 19 digits)"
                )
            if isinstance(value, float) and not math.isfinite(value):
                why = " (a number too large for a float reads as inf)" if value == value else ""
                raise InputRefused(
                    f"{_where(here)}: {value!r} is not a finite number{why}; "
                    "allowed: a finite number, as the source prints it"
                )
            if isinstance(value, dt.datetime):
                node[key] = value.date()  # the catalog keeps dates; the time of day adds nothing
            elif isinstance(value, dict | list):
                stack.append((value, here))
    return doc


def loads_toml(text: str) -> dict[str, Any]:
    """Parse TOML text after the nesting scan; numbers bounded, date-times made dates.

    Raises `InputRefused` for anything refused before or after parsing, and `tomllib.TOMLDecodeError`
    for malformed TOML (its message carries the line and column).
    """
    text = text.removeprefix("\ufeff")  # a UTF-8 byte-order mark, as some editors write
    check_nesting(text, "toml")
    try:
        doc = tomllib.loads(text)
    except RecursionError:  # a backstop: the scan above should have refused it
        raise InputRefused(f"is nested too deeply; at most {MAX_NESTING} levels are allowed") from None
    except ValueError as err:
        if isinstance(err, tomllib.TOMLDecodeError):
            raise
        # Python refuses to convert an integer of more than 4,300 digits
        raise InputRefused(
            "has an integer with too many digits; TOML integers must fit in 64 bits (at most 19 digits)"
        ) from None
    return _clean_toml(doc)


def load_toml_file(path: str | os.PathLike[str], max_bytes: int = MAX_TOML_BYTES) -> dict[str, Any]:
    """`read_text` then `loads_toml`."""
    return loads_toml(read_text(path, max_bytes, "a catalog file"))


# -- JSON --------------------------------------------------------------------------------------------


class _TooManyDigits(Exception):
    def __init__(self, digits: int):
        self.digits = digits


def _parse_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_JSON_INT_DIGITS:
        raise _TooManyDigits(digits)
    return int(text)


def _parse_float(text: str) -> float:
    if len(text) > 400:  # float() is linear, but keep the echo short
        raise _TooManyDigits(len(text))
    return float(text)


def loads_json(text: str, max_chars: int = MAX_JSON_BYTES) -> Any:
    """Parse JSON text after a size and nesting check, with integers bounded to 20 digits.

    Raises `InputRefused` for a refused document and `json.JSONDecodeError` for malformed JSON.
    ``NaN`` and ``Infinity`` parse as floats; the caller's own bounds refuse them.
    """
    if len(text) > max_chars:
        raise InputRefused(f"is {len(text):,} characters long; the most allowed is {_size(max_chars)}")
    check_nesting(text, "json")
    try:
        return json.loads(text, parse_int=_parse_int, parse_float=_parse_float)
    except _TooManyDigits as err:
        raise InputRefused(
            f"has a number of {err.digits} digits; allowed: numbers of at most {MAX_JSON_INT_DIGITS} digits "
            "(write large ones as 5e11)"
        ) from None
    except RecursionError:  # a backstop: the scan above should have refused it
        raise InputRefused(f"is nested too deeply; at most {MAX_NESTING} levels are allowed") from None


__all__ = [
    "MAX_JSON_BYTES",
    "MAX_NESTING",
    "MAX_TOML_BYTES",
    "InputRefused",
    "check_nesting",
    "decode_utf8",
    "load_toml_file",
    "loads_json",
    "loads_toml",
    "read_bytes",
    "read_text",
]

"""The server's limits on what a browser sends, checked before Voila or jupyter_server sees it, and the pages
that say no (busy, refused). Pure functions and text: no Voila import (explorer.serve's docstring says why
each limit exists; tests/test_hardening.py attacks them)."""

from __future__ import annotations

import hashlib
import itertools
import struct
from collections import deque

# Requests: a link to the app carries a scenario in a few hundred bytes; anything far beyond is refused early.
MAX_QUERY_BYTES = 16 * 1024
MAX_QUERY_FIELDS = 256
MAX_HEADER_BYTES = 512 * 1024  # tornado's own limit (64 KB) dropped the connection without a word
# Websocket frames: tornado's default limit, made explicit; parts per kernel message (5 + its buffers).
MAX_FRAME_BYTES = 10 * 1024 * 1024
MAX_FRAME_PARTS = 1024
#: The legacy protocol (JSON text; browsers' pages speak v1) parses a whole frame on the server's only thread
#: (a 10 MB frame held every visitor up for half a second): its frames are kept to what a widget message
#: needs. The page's uploads travel on v1.
LEGACY_FRAME_BYTES = 256 * 1024
#: Bytes a kernel websocket may have waiting for a browser that does not read; past it, the connection is
#: dropped (a page's largest message, the widgets' states, is about 0.5 MB).
MAX_WRITE_BUFFER_BYTES = 16 * 1024 * 1024
#: A connection asks for every widget's state (about 0.5 MB back) at most once in this many seconds; a page
#: asks once as it opens.
REQUEST_STATES_SECONDS = 2.0
#: Seconds a connection has to send a request's headers (and an idle keep-alive connection is kept); tornado's
#: default is an hour.
HEADER_SECONDS = 30
V1_PROTOCOL = "v1.kernel.websocket.jupyter.org"
#: The messages a connection has sent that it may not send again (a replay: the kernel refuses a message
#: whose signature it has seen and logs a traceback for each), the most recent this many.
SEEN_MESSAGES = 1024

BUSY_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="{retry}">
<title>The explorer is busy</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 36rem; margin: 12vh auto; padding: 0 1rem;
 color: #222; }}
h1 {{ font-size: 1.5rem; }} a.button {{ display: inline-block; padding: .5rem 1rem; background: #1f6feb;
color: #fff; border-radius: 4px; text-decoration: none; }}
</style></head>
<body>
<h1>The explorer is busy right now</h1>
<p id="busy-message">This server takes {cap} visitors at a time, and it is full. Nothing is lost: this
page tries again by itself in {retry} seconds, with the same link.</p>
<p><a class="button" href="{again}">Try again now</a></p>
</body></html>
"""

REFUSED_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 36rem; margin: 12vh auto; padding: 0 1rem;
 color: #222; }}
h1 {{ font-size: 1.5rem; }}
</style></head>
<body>
<h1>{title}</h1>
<p id="refused-message">{message}</p>
<p><a href="{home}">Open the explorer</a></p>
</body></html>
"""


def query_problem(query: str) -> str | None:
    """What is wrong with a request's query string for this app, or None (checked before it is parsed)."""
    if len(query) > MAX_QUERY_BYTES:
        return (
            f"This link's settings part is {len(query):,} characters long; the explorer accepts up to "
            f"{MAX_QUERY_BYTES:,}. A link made by the explorer's own 'copy link' button is far shorter."
        )
    fields = query.count("&") + query.count(";") + 1 if query else 0
    if fields > MAX_QUERY_FIELDS:
        return (
            f"This link has {fields:,} settings; the explorer accepts up to {MAX_QUERY_FIELDS}. "
            "A link made by the explorer's own 'copy link' button has far fewer."
        )
    return None


def frame_problem(frame: bytes | str, subprotocol: str | None) -> str | None:
    """What is wrong with a websocket frame from a browser, or None; cheap, and before any deserializing.

    jupyter_server's deserializers trust the count of parts at the start of a binary frame: the v1 protocol's
    loops that many times (0.5 us and 16 bytes each, on the server's only thread), the legacy one builds a
    format string that long. A browser's frame has a handful of parts (header, parent header, metadata,
    content, buffers), each offset inside the frame.
    """
    if len(frame) > MAX_FRAME_BYTES:
        return f"a frame of {len(frame):,} bytes (allowed: up to {MAX_FRAME_BYTES:,})"
    if subprotocol != V1_PROTOCOL and len(frame) > LEGACY_FRAME_BYTES:
        return f"a legacy-protocol frame of {len(frame):,} bytes (allowed: up to {LEGACY_FRAME_BYTES:,})"
    if subprotocol == V1_PROTOCOL:
        if not isinstance(frame, bytes):
            return "a text frame on the v1 protocol, which sends binary frames only"
        if len(frame) < 8:
            return "a binary frame shorter than its count of parts"
        count = int.from_bytes(frame[:8], "little")
        if not 6 <= count <= MAX_FRAME_PARTS or 8 * (count + 1) > len(frame):
            return f"a binary frame announcing {count} offsets in {len(frame)} bytes"
        offsets = [int.from_bytes(frame[8 * (i + 1) : 8 * (i + 2)], "little") for i in range(count)]
        size = 8 * (count + 1)
    elif isinstance(frame, bytes):
        if len(frame) < 4:
            return "a binary frame shorter than its count of parts"
        (count,) = struct.unpack("!i", frame[:4])
        if not 1 <= count <= MAX_FRAME_PARTS or 4 * (count + 1) > len(frame):
            return f"a binary frame announcing {count} parts in {len(frame)} bytes"
        offsets = list(struct.unpack(f"!{count}I", frame[4 : 4 * (count + 1)]))
        size = 4 * (count + 1)
    else:
        return None
    if offsets[0] < size or any(b < a for a, b in itertools.pairwise(offsets)) or offsets[-1] > len(frame):
        return "a binary frame whose offsets are not inside it, in order"
    return None


def message_key(frame: bytes | str, subprotocol: str | None) -> bytes:
    """A digest of what the server signs of a browser's message (header, parent header, metadata, content):
    two frames with one key are one message sent twice, which the kernel refuses as a duplicate signature.
    For a frame ``frame_problem`` passed: v1, the four parts after the channel; legacy, the whole frame (its
    JSON carries exactly those, and its binary form their buffers too)."""
    if subprotocol == V1_PROTOCOL and isinstance(frame, bytes):
        start, end = (int.from_bytes(frame[8 * (i + 1) : 8 * (i + 2)], "little") for i in (1, 5))
        frame = frame[start:end]
    data = frame.encode("utf-8", "surrogatepass") if isinstance(frame, str) else frame
    return hashlib.blake2b(data, digest_size=16).digest()


class SeenMessages:
    """The last ``size`` message keys (``message_key``) a connection sent: ``first(key)`` is True for a key
    not among them, and remembers it."""

    def __init__(self, size: int = SEEN_MESSAGES) -> None:
        self.order: deque[bytes] = deque(maxlen=size)
        self.keys: set[bytes] = set()

    def first(self, key: bytes) -> bool:
        if key in self.keys:
            return False
        if len(self.order) == self.order.maxlen:
            self.keys.discard(self.order[0])
        self.order.append(key)
        self.keys.add(key)
        return True

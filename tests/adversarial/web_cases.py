"""Adversarial cases against the public server: HTTP requests, websocket frames and messages, widget messages
and shared links, as any visitor could send them. Loopback only (the servers are started on 127.0.0.1).

Judging, for every case: a traceback, a server path, a file or the notebook's source in an answer is a LEAK;
script reflected unescaped, or code that ran, is an INJECTION; a server that stops answering another
visitor's request within a few seconds, or no answer at all, is a HANG; a 5xx, a blank error or a dropped
connection is UNCLEAR; a refusal with a page saying so is a CLEAR_ERROR; a forged value brought back inside
its bounds, or a message dropped while everything keeps working, is HELD.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any

from . import Context, Outcome, case

# what must never be in an answer to a visitor
SECRETS = ("[project]", '"cells"', "Traceback", "site-packages", "/work/", "/root/", "get_query_string")
MADE_UP = "00000000-0000-4000-8000-000000000000"
V1 = "v1.kernel.websocket.jupyter.org"


def fetch(url: str, method: str = "GET", body: bytes | None = None, headers: dict | None = None) -> Any:
    """(status, body text, headers, seconds), or an exception's text if there was no HTTP answer."""
    t0 = time.monotonic()
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, r.read().decode("utf-8", "replace"), dict(r.headers), time.monotonic() - t0
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode("utf-8", "replace"), dict(err.headers), time.monotonic() - t0
    except Exception as err:  # a dropped connection, a timeout
        return f"{type(err).__name__}: {err}"


def raw(url: str, data: bytes, timeout: float = 15) -> bytes:
    """Send bytes on a fresh connection to the server; what came back before it closed (or timed out)."""
    parts = urllib.parse.urlsplit(url)
    answer = b""
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as s:
        s.sendall(data)
        with contextlib.suppress(OSError):
            while chunk := s.recv(65536):
                answer += chunk
    return answer


def responsive(url: str, within: float = 3.0) -> bool:
    """Another visitor's cheap request is answered within `within` seconds."""
    got = fetch(url + f"/api/kernels/{MADE_UP}")
    return not isinstance(got, str) and got[3] < within


def judge_refusal(url: str, got: Any, url_path: str = "") -> Outcome | tuple[Outcome, str]:
    """A request that must be refused: a 4xx with some text, nothing secret in it, and the server still up."""
    if isinstance(got, str):
        return Outcome.UNCLEAR, got[:200]
    status, body, _, _ = got
    if any(s in body for s in SECRETS):
        return Outcome.LEAK, body[:200]
    if not responsive(url):
        return Outcome.HANG, "the server stopped answering"
    if 400 <= status < 500 and (body.strip() or url_path.endswith("/channels")):
        # (a websocket endpoint answers a plain GET with its status only: a browser never shows that body)
        return Outcome.CLEAR_ERROR
    return Outcome.UNCLEAR, f"HTTP {status}: {body[:100]!r}"


# -- HTTP: files, the Jupyter API, methods ----------------------------------------------------------------

REFUSED_PATHS = [
    "/voila/files/pyproject.toml",
    "/voila/files/../pyproject.toml",
    "/voila/files/%2e%2e/pyproject.toml",
    "/voila/files/notebooks/app.ipynb",
    "/voila/files/catalog/devices/nvidia-h100-sxm.toml",
    "/voila/files/%2Fetc%2Fpasswd",
    "/voila/static/../../pyproject.toml",
    "/voila/static/%2e%2e/%2e%2e/pyproject.toml",
    "/voila/templates/../../../pyproject.toml",
    "/voila/render/%2e%2e/%2e%2e/etc/passwd",
    "/voila/tree",
    "/notebooks/app.ipynb",
    "/api/kernels",
    "/api/sessions",
    "/api/contents",
    "/api/contents/pyproject.toml",
    "/api/kernelspecs",
    "/api/terminals",
    "/api/config/notebook",
    f"/api/kernels/{MADE_UP}",
    f"/api/kernels/{MADE_UP}/channels",
    "/lab",
    "/tree",
    "/terminals/1",
]

for _path in REFUSED_PATHS:

    @case("http", f"GET {_path}", core=True)
    def _refused(ctx: Context, path: str = _path) -> Any:
        url = ctx.app_url()
        return judge_refusal(url, fetch(url + path), path)


for _method, _path in [
    ("POST", "/"),
    ("PUT", "/"),
    ("DELETE", f"/api/kernels/{MADE_UP}"),
    ("POST", f"/api/kernels/{MADE_UP}/restart"),
    ("POST", "/api/kernels"),
    ("POST", f"/voila/api/shutdown/{MADE_UP}"),
    ("GET", f"/voila/api/shutdown/{MADE_UP}"),
]:

    @case("http", f"{_method} {_path}", core=True)
    def _method_case(ctx: Context, method: str = _method, path: str = _path) -> Any:
        url = ctx.app_url()
        return judge_refusal(url, fetch(url + path, method=method, body=b"x=1" if method != "GET" else None))


@case("http", "1,001 query fields", core=True)
def many_fields(ctx: Context) -> Any:
    url = ctx.app_url()
    return judge_refusal(url, fetch(url + "/?" + "&".join(f"f{i}=1" for i in range(1001))))


@case("http", "a 100 KB query", core=True)
def long_query(ctx: Context) -> Any:
    url = ctx.app_url()
    return judge_refusal(url, fetch(url + "/?x=" + "a" * 100_000))


@case("http", "a 300 KB header", core=True)
def long_header(ctx: Context) -> Any:
    url = ctx.app_url()
    got = fetch(url + f"/api/kernels/{MADE_UP}", headers={"X-Big": "a" * 300_000})
    return judge_refusal(url, got)


@case("http", "a NUL byte in the path", core=True)
def nul_path(ctx: Context) -> Any:
    url = ctx.app_url()
    return judge_refusal(url, fetch(url + "/voila/static/%00"))


@case("http", "script in the path is not reflected", core=True)
def script_in_path(ctx: Context) -> Any:
    url = ctx.app_url()
    got = fetch(url + "/voila/static/%3Cscript%3Ealert(1)%3C/script%3E")
    if not isinstance(got, str) and "<script>alert(1)" in got[1]:
        return Outcome.INJECTION, "reflected unescaped"
    return judge_refusal(url, got)


@case("http", "script in ?theme= is not reflected", core=True)
def script_in_theme(ctx: Context) -> Any:
    url = ctx.app_url()
    got = fetch(url + "/?theme=%3Cscript%3Ealert(1)%3C/script%3E")
    if isinstance(got, str) or got[0] != 200:
        return Outcome.UNCLEAR, str(got)[:200]
    return (Outcome.INJECTION, "reflected") if "alert(1)" in got[1] else Outcome.HELD


@case("http", "a header injected through the query", core=True)
def crlf_query(ctx: Context) -> Any:
    url = ctx.app_url()
    got = fetch(url + "/voila/static/x%0d%0aSet-Cookie:%20evil=1")
    if not isinstance(got, str) and any("evil" in v for v in got[2].values()):
        return Outcome.INJECTION, "a header was injected"
    return judge_refusal(url, got)


@case("http", "a missing template does not hang", core=True)
def missing_template(ctx: Context) -> Any:
    url = ctx.app_url()
    got = fetch(url + "/?template=no-such-template")
    if isinstance(got, str):
        return Outcome.HANG if "timed out" in got else Outcome.UNCLEAR, got
    return Outcome.HELD if got[0] == 200 and "no-such-template" not in got[1] else Outcome.UNCLEAR


for _name, _bytes in [
    ("TLS bytes", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(40)),
    ("not HTTP at all", b"hello there\r\n\r\n"),
    ("a bad Host header", b"GET / HTTP/1.1\r\nHost: a b c\r\n\r\n"),
    ("two Host headers", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
    ("a bad Content-Length", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n"),
    ("a bad chunk size", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
    ("HTTP/0.9", b"GET /\r\n\r\n"),
]:

    @case("http", f"raw: {_name}", core=True)
    def _raw_case(ctx: Context, data: bytes = _bytes) -> Any:
        url = ctx.app_url()
        answer = raw(url, data).decode("latin-1")
        if any(s in answer for s in SECRETS):
            return Outcome.LEAK, answer[:200]
        if not responsive(url):
            return Outcome.HANG, "the server stopped answering"
        # tornado answers malformed HTTP with a bare 400 (or closes): no page can be shown for bytes that are
        # not HTTP, and nothing else is affected
        return Outcome.CLEAR_ERROR if answer.startswith("HTTP/1.1 4") or not answer else Outcome.UNCLEAR


# -- /voila/query/: how a pre-started kernel learns its visitor's request --------------------------------


async def ws_status(url: str, subprotocols: list[str] | None = None) -> int:
    """The HTTP status a websocket upgrade to `url` gets (101 if it opened; the socket is then closed)."""
    from tornado.httpclient import HTTPClientError
    from tornado.websocket import websocket_connect

    try:
        ws = await websocket_connect(url, subprotocols=subprotocols)
    except HTTPClientError as err:
        return err.code
    ws.close()
    return 101


for _name, _id in [("a made-up id", MADE_UP), ("an id that is not a uuid", "not-a-kernel")]:

    @case("http", f"/voila/query/ for {_name}", core=True)
    def _query_made_up(ctx: Context, kernel_id: str = _id) -> Any:
        url = ctx.app_url()
        status = ctx.run_async(ws_status(url.replace("http", "ws", 1) + f"/voila/query/{kernel_id}"))
        if status == 101:
            return Outcome.UNCLEAR, "the socket opened"
        return Outcome.CLEAR_ERROR if status in (403, 404) and responsive(url) else (Outcome.UNCLEAR, status)


# -- a visitor's own session: websocket frames and messages -----------------------------------------------


class Session:
    """A scripted visitor kept open on the run's event loop, re-opened if a case ends it."""

    def __init__(self, ctx: Context) -> None:
        self.ctx, self.v = ctx, None
        self.seen_leaks: list[str] = []  # leaks already reported by an earlier case

    def visitor(self) -> Any:
        if self.v is None or self.v.closed:
            self.v = self.ctx.run_async(self._open(), timeout=180)
        return self.v

    async def _open(self) -> Any:
        if self.v is not None:
            with contextlib.suppress(Exception):
                await self.v.close()
        v = self.ctx.visitor()
        await v.open_page()
        await v.connect()
        await v.request_states()
        return v

    def works(self) -> bool:
        """The session still answers: a move of the volume control updates charts."""
        v = self.visitor()

        async def move() -> int:
            volume = v.model("Request volume")
            now = v.states[volume]["state"].get("value")
            _, charts = await v.set(volume, value=2e9 if now != 2e9 else 3e9)
            v.states[volume]["state"]["value"] = 2e9 if now != 2e9 else 3e9
            return charts

        try:
            return self.ctx.run_async(move(), timeout=30) >= 1
        except Exception:
            return False


def session(ctx: Context) -> Session:
    return ctx.shared("web-session", lambda: Session(ctx))


def judge_session(ctx: Context, s: Session, before: int, marker: Any = None) -> Any:
    """After an attack on the visitor's own session: no leak, nothing ran, others unaffected, and the
    session works (or ended cleanly; a reload gives a working one)."""
    url = ctx.app_url()
    if marker is not None and marker.exists():
        return Outcome.INJECTION, "code sent by a browser ran"
    v = s.v
    leaks = [leak for leak in (v.leaks() if v is not None else []) if leak not in s.seen_leaks]
    if leaks:
        s.seen_leaks.extend(leaks)
        return Outcome.LEAK, leaks[0][:200]
    if not responsive(url):
        return Outcome.HANG, "another visitor's request was not answered within 3 s"
    if not s.works():
        return Outcome.UNCLEAR, "the session stopped working without a word"
    return Outcome.HELD


def v1_frame(channel: str, msg: dict) -> bytes:
    """A message as the v1 websocket protocol frames it: a count, offsets, then the parts."""
    keys = ("header", "parent_header", "metadata", "content")
    parts = [channel.encode()] + [json.dumps(msg[k]).encode() for k in keys]
    count = len(parts) + 1
    offsets = [8 * (count + 1)]
    for part in parts:
        offsets.append(offsets[-1] + len(part))
    return b"".join(n.to_bytes(8, "little") for n in [count, *offsets]) + b"".join(parts)


async def ready(ws: Any, subprotocol: str | None) -> None:
    """Wait until the kernel answers on this connection (its channels are up)."""
    msg = _message("kernel_info_request", {})
    await ws.write_message(
        v1_frame("shell", msg) if subprotocol == V1 else json.dumps(msg), binary=bool(subprotocol)
    )
    while True:
        got = await asyncio.wait_for(ws.read_message(), 30)
        if got is None:
            raise ConnectionError("closed before the kernel answered")
        if "kernel_info_reply" in (got.decode("latin-1") if isinstance(got, bytes) else got):
            return


def _frame_case(name: str, frame: bytes | str, subprotocol: str | None = None) -> None:
    @case("websocket", name, core=True)
    def run(ctx: Context) -> Any:
        s = session(ctx)
        v = s.visitor()
        url = ctx.app_url()

        async def attack() -> None:
            from tornado.websocket import websocket_connect

            ws_url = url.replace("http", "ws", 1) + f"/api/kernels/{v.kernel_id}/channels?session_id=adv"
            ws = await websocket_connect(ws_url, subprotocols=[subprotocol] if subprotocol else None)
            try:
                await ready(ws, subprotocol)  # frames sent earlier are dropped: the attack would not land
                await ws.write_message(frame, binary=isinstance(frame, bytes))
                await asyncio.sleep(0.2)
            finally:
                ws.close()

        ctx.run_async(attack(), timeout=30)
        return judge_session(ctx, s, 0)


def _v1(count: int, rest: bytes = bytes(64)) -> bytes:
    return count.to_bytes(8, "little") + rest


for _name, _frame, _proto in [
    ("v1: a count of 15 million in 72 bytes", _v1(15_000_000), V1),
    ("v1: a count of 2**64-1", _v1(2**64 - 1), V1),
    ("v1: a count of 0", _v1(0), V1),
    ("v1: a count of 1", _v1(1), V1),
    (
        "v1: offsets past the frame",
        _v1(6, b"".join(o.to_bytes(8, "little") for o in (56, 999, 1, 2, 3, 4))),
        V1,
    ),
    ("v1: 3 bytes", b"abc", V1),
    ("v1: a text frame", "{not binary}", V1),
    ("legacy: a count of 2**31-1", (2**31 - 1).to_bytes(4, "big") + bytes(64), None),
    ("legacy: a count of -1", (2**32 - 1).to_bytes(4, "big") + bytes(64), None),
    ("legacy: a count of 0", bytes(68), None),
    ("legacy: binary garbage", b"\x00\x01binary garbage", None),
    ("legacy: not JSON", "{not json", None),
    ("legacy: JSON that is a list", "[1, 2, 3]", None),
    ("legacy: JSON nested 100,000 deep", "[" * 100_000 + "]" * 100_000, None),
    ("legacy: a message with no header", json.dumps({"channel": "shell", "content": {}}), None),
    ("legacy: an unknown channel", json.dumps({"channel": "nosuch", "header": {"msg_type": "x"}}), None),
    ("legacy: invalid UTF-8 in a binary frame", b"\x00\x00\x00\x01\x00\x00\x00\x08\xff\xfe\xfd", None),
]:
    _frame_case(_name, _frame, _proto)


@case("websocket", "a frame past the size limit is refused", core=False, timeout=120)
def frame_too_big(ctx: Context) -> Any:
    s = session(ctx)
    v = s.visitor()
    url = ctx.app_url()

    async def attack() -> Any:
        from tornado.websocket import websocket_connect

        ws_url = url.replace("http", "ws", 1) + f"/api/kernels/{v.kernel_id}/channels?session_id=adv"
        from tornado.websocket import WebSocketClosedError

        ws = await websocket_connect(ws_url, max_message_size=64 * 1024 * 1024)
        try:
            await ws.write_message("x" * (11 * 1024 * 1024))
            closed = await asyncio.wait_for(ws.read_message(), 20)  # None: the server closed it
        except WebSocketClosedError:  # closed while the frame was being sent
            closed = None
        return closed, ws.close_code

    closed, code = ctx.run_async(attack(), timeout=60)
    if closed is not None:
        return Outcome.UNCLEAR, "the server kept the connection"
    verdict = judge_session(ctx, s, 0)
    return (Outcome.CLEAR_ERROR, f"closed with code {code}") if verdict == Outcome.HELD else verdict


def _message(msg_type: str, content: dict, channel: str = "shell") -> dict:
    from ..load.visitor import message

    msg = message(msg_type, content)
    msg["channel"] = channel
    return msg


def _message_case(name: str, msg_type: str, content_of: Any, channel: str = "shell") -> None:
    @case("websocket", name, core=True)
    def run(ctx: Context) -> Any:
        s = session(ctx)
        v = s.visitor()
        marker = ctx.tmp() / "ran"
        msg = _message(msg_type, content_of(marker), channel)

        async def attack() -> None:
            await v.ws.write_message(json.dumps(msg))
            # a connection's messages are handled in order (control ones first): once a request sent after
            # the attack is answered, the attack was handled or dropped; no answer (a dead kernel) is judged
            with contextlib.suppress(ConnectionError, asyncio.TimeoutError):
                await v.send(_message("kernel_info_request", {}, "shell"), timeout=20)

        ctx.run_async(attack(), timeout=30)
        return judge_session(ctx, s, 0, marker)


def _code(marker: Any) -> str:
    return f"open({str(marker)!r}, 'w').write('ran')"


def _execute(marker: Any) -> dict:
    return {
        "code": _code(marker),
        "silent": False,
        "store_history": False,
        "user_expressions": {"x": _code(marker)},
        "allow_stdin": False,
    }


for _name, _type, _content, _channel in [
    ("execute_request on shell", "execute_request", _execute, "shell"),
    ("execute_request on control", "execute_request", _execute, "control"),
    ("execute_request on stdin", "execute_request", _execute, "stdin"),
    ("complete_request", "complete_request", lambda m: {"code": _code(m), "cursor_pos": 3}, "shell"),
    (
        "inspect_request",
        "inspect_request",
        lambda m: {"code": _code(m), "cursor_pos": 3, "detail_level": 1},
        "shell",
    ),
    (
        "history_request",
        "history_request",
        lambda m: {"hist_access_type": "tail", "n": 10, "output": True, "raw": True},
        "shell",
    ),
    ("is_complete_request", "is_complete_request", lambda m: {"code": _code(m)}, "shell"),
    (
        "debug_request",
        "debug_request",
        lambda m: {"command": "evaluate", "arguments": {"expression": _code(m)}},
        "control",
    ),
    ("an unsolicited input_reply", "input_reply", lambda m: {"value": _code(m)}, "stdin"),
    ("interrupt_request", "interrupt_request", lambda m: {}, "control"),
    ("kernel_info_request", "kernel_info_request", lambda m: {}, "shell"),
    ("comm_info_request", "comm_info_request", lambda m: {"target_name": ""}, "shell"),
    ("a made-up message type", "no_such_request", lambda m: {"code": _code(m)}, "shell"),
]:
    _message_case(_name, _type, _content, _channel)


@case("websocket", "1,000 messages at once", core=True, timeout=120)
def burst(ctx: Context) -> Any:
    s = session(ctx)
    v = s.visitor()
    msg = _message("comm_info_request", {"target_name": ""})

    async def attack() -> None:
        for _ in range(1000):
            msg["header"]["msg_id"] = uuid.uuid4().hex
            await v.ws.write_message(json.dumps(msg))

    ctx.run_async(attack(), timeout=60)
    return judge_session(ctx, s, 0)


@case("websocket", "another visitor's kernel, made-up id", core=True)
def other_kernel(ctx: Context) -> Any:
    url = ctx.app_url()
    status = ctx.run_async(ws_status(url.replace("http", "ws", 1) + f"/api/kernels/{MADE_UP}/channels"))
    if status == 101:
        return Outcome.LEAK, "a websocket to a made-up kernel opened"
    return Outcome.CLEAR_ERROR if status in (403, 404) else (Outcome.UNCLEAR, status)


@case("websocket", "shutdown_request ends only the sender's session", core=False)
def shutdown_own(ctx: Context) -> Any:
    s = session(ctx)
    v = s.visitor()

    async def attack() -> None:
        await v.ws.write_message(json.dumps(_message("shutdown_request", {"restart": False}, "control")))
        await asyncio.sleep(1)

    ctx.run_async(attack(), timeout=30)
    s.v = None if not s.works() else s.v  # the sender's own kernel may be gone: a reload gives a new one
    return judge_session(ctx, s, 0)


# -- widget messages: what the page's controls send, forged -------------------------------------------------

BAD_VALUES: list[tuple[str, Any]] = [
    ("a string", "a lot"),
    ("a list", [1, 2]),
    ("null", None),
    ("an object", {"x": 1}),
    ("true", True),
    ("1e308", 1e308),
    ("-1e308", -1e308),
    ("a 100 KB string", "9" * 100_000),
]
NON_FINITE: list[tuple[str, Any]] = [
    ("NaN", float("nan")),
    ("Infinity", float("inf")),
    ("-Infinity", float("-inf")),
]
CONTROLS = ["Request volume", "Model changes", "Peak to average"]


def _value_case(control: str, label: str, value: Any, core: bool) -> None:
    @case("widget", f"{control} = {label}", core=core)
    def run(ctx: Context) -> Any:
        s = session(ctx)
        v = s.visitor()
        model = v.model(control)

        async def attack() -> list[dict]:
            before = len(v.received)
            await v.set(model, value=value)
            return v.received[before:]

        replies = ctx.run_async(attack(), timeout=30)
        verdict = judge_session(ctx, s, 0)
        if verdict != Outcome.HELD:
            return verdict
        # what the kernel now says the control holds: a finite number, or no change at all
        states = [
            m["content"]["data"]["state"]
            for m in replies
            if m.get("msg_type") == "comm_msg"
            and m["content"].get("comm_id") == model
            and m["content"].get("data", {}).get("method") == "update"
        ]
        held = [st["value"] for st in states if "value" in st]
        if held and not (isinstance(held[-1], int | float) and abs(held[-1]) < float("inf")):
            return Outcome.UNCLEAR, f"the control now holds {str(held[-1])[:40]!r} and says nothing"
        return Outcome.HELD

    return None


for _control in CONTROLS:
    for _label, _value in BAD_VALUES:
        _value_case(_control, _label, _value, core=True)
    for _label, _value in NON_FINITE:
        # ipywidgets' sliders take a NaN (and clamp an infinity to their bound): the controls put a NaN
        # back to the last good value and say why (explorer/controls.py)
        _value_case(_control, _label, _value, core=True)


def _widget_message_case(name: str, make: Any) -> None:
    @case("widget", name, core=True)
    def run(ctx: Context) -> Any:
        s = session(ctx)
        v = s.visitor()

        async def attack() -> None:
            await v.send(make(v), timeout=20)

        with contextlib.suppress(TimeoutError, asyncio.TimeoutError):
            ctx.run_async(attack(), timeout=30)
        return judge_session(ctx, s, 0)


def _comm(
    method: str, comm_id: str, data: dict, msg_type: str = "comm_msg", target: str | None = None
) -> dict:
    from ..load.visitor import WIDGET_PROTOCOL, message

    content: dict[str, Any] = {"comm_id": comm_id, "data": data}
    if target is not None:
        content["target_name"] = target
    return message(msg_type, content, {"version": WIDGET_PROTOCOL})


for _name, _make in [
    ("an update to a comm that does not exist", lambda v: v.update("0" * 32, {"value": 1})),
    ("comm_open of a widget with no state", lambda v: _comm("", "x1", {}, "comm_open", "jupyter.widget")),
    (
        "comm_open of a widget from a made-up module",
        lambda v: _comm(
            "",
            uuid.uuid4().hex,
            {
                "state": {"_model_module": "evil", "_model_name": "X", "_view_module": "evil"},
                "buffer_paths": [],
            },
            "comm_open",
            "jupyter.widget",
        ),
    ),
    ("comm_open of a made-up target", lambda v: _comm("", "x2", {}, "comm_open", "no.such.target")),
    ("comm_msg with no data", lambda v: _comm("", v.model("Request volume"), None)),
    ("an update with no state", lambda v: _comm("", v.model("Request volume"), {"method": "update"})),
    ("a made-up method", lambda v: _comm("", v.model("Request volume"), {"method": "evil", "state": {}})),
    (
        "an update of a private trait (_model_name)",
        lambda v: v.update(v.model("Request volume"), {"_model_name": "ButtonModel"}),
    ),
    (
        "an update of min and max",
        lambda v: v.update(v.model("Request volume"), {"min": -1e308, "max": 1e308}),
    ),
    (
        "a description with script",
        lambda v: v.update(v.model("Request volume"), {"description": "<script>x</script>"}),
    ),
    (
        "a layout that is not one",
        lambda v: v.update(v.model("Request volume"), {"layout": "IPY_MODEL_nonexistent"}),
    ),
    ("request_states for a made-up comm", lambda v: _comm("", "0" * 32, {"method": "request_states"})),
]:
    _widget_message_case(_name, _make)


@case("widget", "a forged click on every button", core=True, timeout=180)
def click_everything(ctx: Context) -> Any:
    """Every button the page has, clicked by a forged message; none may show a traceback or stop the app."""
    s = session(ctx)
    v = s.visitor()
    buttons = [m for m, st in v.states.items() if st["model_name"] == "ButtonModel"]

    async def attack() -> None:
        for model in buttons:
            msg = v.update(model, {})
            msg["content"]["data"] = {"method": "custom", "content": {"event": "click"}}
            with contextlib.suppress(asyncio.TimeoutError, TimeoutError):
                await v.send(msg, timeout=20)

    ctx.run_async(attack(), timeout=150)
    return judge_session(ctx, s, 0)


@case("widget", "a custom message with garbage to every anywidget", core=True)
def garbage_to_anywidgets(ctx: Context) -> Any:
    s = session(ctx)
    v = s.visitor()
    models = [m for m, st in v.states.items() if st["model_name"] == "AnyModel"]

    async def attack() -> None:
        for model in models:
            for content in ({"ping": "x" * 1000}, {"pong": None}, [1, 2], "text", {"b64": "%%%"}):
                msg = v.update(model, {})
                msg["content"]["data"] = {"method": "custom", "content": content}
                with contextlib.suppress(asyncio.TimeoutError, TimeoutError):
                    await v.send(msg, timeout=10)

    ctx.run_async(attack(), timeout=120)
    return judge_session(ctx, s, 0)


# -- links: what a shared link's query string can hold ---------------------------------------------------

GOOD = "requests_per_day=2500000000.0"


def _link_case(name: str, query: str, expect_note: bool) -> None:
    @case("link", name, core=True)
    def run(ctx: Context) -> Any:
        from explorer.catalog import load_catalog
        from explorer.scenario import from_query_lenient

        cat = ctx.shared("catalog", load_catalog)
        known = {"workload": set(cat.workloads.id), "region": set(cat.regions.id)}
        try:
            scenario, notes = from_query_lenient(f"{query}&{GOOD}", known)
        except Exception as err:
            return Outcome.UNCLEAR, f"{type(err).__name__}: {err}"[:200]
        if any(s in " ".join(notes) for s in SECRETS):
            return Outcome.LEAK, notes[0][:200]
        if scenario.requests_per_day != 2.5e9:
            return Outcome.DATA_LOST, "a bad setting dropped the link's other settings"
        if expect_note:
            return Outcome.CLEAR_ERROR if notes else (Outcome.UNCLEAR, "ignored or accepted without a word")
        return Outcome.HELD if not notes else (Outcome.UNCLEAR, notes[0][:200])


for _name, _query, _note in [
    ("a script as the volume", "requests_per_day=%3Cscript%3Ealert(1)%3C/script%3E", True),
    ("NaN as the volume", "peak_to_average=nan", True),
    ("Infinity", "peak_to_average=inf", True),
    ("1e309", "horizon_years=1e309", True),
    ("a negative horizon", "horizon_years=-3", True),
    ("a 5,000-digit number", "horizon_years=" + "9" * 5000, True),
    ("a traversal as the workload", "workload=../../../etc/passwd", True),
    ("an unknown region", "region=%00", True),
    ("an unknown field", "no_such_field=1", True),
    ("a field given twice", "horizon_years=3&horizon_years=5", False),
    # shares are relative weights (70/30, 0.7/0.3 and 7/3 are one mix): 1e308 and 1e308 are read as 50/50,
    # as the CLI reads them, and the link's other settings are kept (they were all dropped before)
    ("a framework mix that overflows", "framework_mix=pytorch%3D1e308%2Cjax%3D1e308", False),
    ("a framework mix with a negative share", "framework_mix=pytorch%3D-1%2Cjax%3D2", True),
    ("a framework mix of garbage", "framework_mix=%3D%3D%2C%2C", True),
    ("a 10,000-item framework mix", "framework_mix=" + "%2C".join(f"f{i}%3D1" for i in range(10_000)), True),
    ("a deployment with script", "deployment=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E", True),
    ("an empty value", "horizon_years=", True),
    ("percent-encoding that is not", "horizon_years=%zz", True),
    ("a unicode digit (it is a 3)", "horizon_years=%D9%A3", False),
]:
    _link_case(_name, _query, _note)


@case("link", "a page opened with a hostile link shows no script and works", core=True, timeout=180)
def hostile_link_page(ctx: Context) -> Any:
    url = ctx.app_url()
    query = "requests_per_day=%3Cscript%3Ealert(1)%3C/script%3E&framework_mix=pytorch%3D1e308&" + GOOD

    async def visit() -> Any:
        v = ctx.visitor(url, query)
        await v.open_page()
        await v.connect()
        await v.request_states()
        try:
            texts = json.dumps(v.states)
            return v.page, texts, v.leaks()
        finally:
            await v.leave()

    page, states, leaks = ctx.run_async(visit(), timeout=170)
    if "<script>alert(1)" in page:
        return Outcome.INJECTION, "the link's script is in the page"
    if leaks:
        return Outcome.LEAK, leaks[0][:200]
    return Outcome.CLEAR_ERROR if "were not used" in states else (Outcome.UNCLEAR, "no note in the page")


# -- the server as a whole: damage that needs a server of its own (not in the core) ----------------------


@case("http", "plain GETs do not fill the cap", timeout=240)
def plain_gets(ctx: Context) -> Any:
    with ctx.fresh_app(max_sessions=3, pool_size=1, connect_seconds=4, pages_per_client=2) as url:
        codes = [fetch(url + "/") for _ in range(3)]
        if any(isinstance(c, str) for c in codes):
            return Outcome.UNCLEAR, str(codes)[:200]
        if [c[0] for c in codes] != [200, 200, 429]:
            return Outcome.UNCLEAR, f"statuses {[c[0] for c in codes]}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # the unopened pages' kernels are reclaimed: places free again
            got = fetch(url + "/")
            if not isinstance(got, str) and got[0] == 200:
                return Outcome.CLEAR_ERROR
            time.sleep(1)
        return Outcome.HANG, "the places never came back"


@case("http", "the busy page's link for //evil.invalid/x stays here", timeout=180)
def busy_link(ctx: Context) -> Any:
    import re

    with ctx.fresh_app(max_sessions=1, pool_size=0) as url:
        if isinstance(fetch(url + "/"), str):
            return Outcome.UNCLEAR, "no first page"
        host = urllib.parse.urlsplit(url).netloc
        answer = raw(
            url, f"GET //evil.invalid/x HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
        )
        text = answer.decode("utf-8", "replace")
        if not any(f" {code} " in text.split("\r\n", 1)[0] for code in (404, 503)):  # no such page, or busy
            return Outcome.UNCLEAR, text[:100]
        hrefs = re.findall(r'href="([^"]*)"', text)
        if any(not h.startswith("/") or h.startswith("//") for h in hrefs):
            return Outcome.INJECTION, f"a link leaves the site: {hrefs}"
        return Outcome.CLEAR_ERROR


@case("websocket", "two /voila/query/ sockets for one id cannot poison the pool", timeout=300)
def query_poison(ctx: Context) -> Any:
    with ctx.fresh_app(max_sessions=3, pool_size=2) as url:

        async def attack() -> Any:
            from tornado.websocket import websocket_connect

            first = ctx.visitor(url)
            await first.open_page()
            opened = []
            for _ in range(2):
                with contextlib.suppress(Exception):
                    opened.append(
                        await websocket_connect(url.replace("http", "ws", 1) + f"/voila/query/{MADE_UP}")
                    )
            for ws in reversed(opened):
                ws.close()
            for _ in range(2):
                v = ctx.visitor(url)
                await asyncio.wait_for(v.open_page(), 60)
                await v.connect()
                await v.request_states()
                _, charts = await v.set(v.model("Request volume"), value=2e9)
                await v.leave()
                if charts < 1:
                    return Outcome.UNCLEAR, "a page did not work"
            return Outcome.CLEAR_ERROR if not opened else (Outcome.UNCLEAR, "the sockets opened")

        try:
            return ctx.run_async(attack(), timeout=240)
        except TimeoutError:
            return Outcome.HANG, "a visitor's page never finished"

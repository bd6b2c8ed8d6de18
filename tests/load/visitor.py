"""A scripted visitor of the Voila app, speaking the browser's wire protocol without a browser.

It does what the page's JavaScript does on the server: fetch the page (which runs the notebook in a
kernel, or hands over a pre-started one), connect to the kernel's websocket, ask for every widget's state
(``jupyter.widget.control`` / ``request_states``), then move controls with ``comm_msg`` updates. An update
is done when the kernel reports idle for that message: by then every resulting widget and chart update has
been sent. What the browser then draws is the visitor's machine's work, not the server's; the browser tests
and tests/benchmarks/bench_browser.py measure that part.

Used by the load test (tests/load/run.py) and the hardening tests, which also send what no browser would.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from typing import Any

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

WIDGET_PROTOCOL = "2.1.0"
CONTROL_PROTOCOL = "1.0.0"


def message(msg_type: str, content: dict, metadata: dict | None = None) -> dict:
    return {
        "header": {
            "msg_id": uuid.uuid4().hex,
            "msg_type": msg_type,
            "session": "load",
            "username": "",
            "version": "5.3",
            "date": "",
        },
        "parent_header": {},
        "metadata": metadata or {},
        "content": content,
        "channel": "shell",
        "buffers": [],
    }


class PageError(RuntimeError):
    """The page did not come back as a working app page (HTTP error, busy page, no kernel id)."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(f"HTTP {status}: {text[:200]}")
        self.status = status
        self.text = text


@dataclass
class Visitor:
    base: str  # http://127.0.0.1:PORT
    query: str = ""
    kernel_id: str = ""
    page: str = ""
    states: dict[str, dict] = field(default_factory=dict)
    received: list[dict] = field(default_factory=list)  # every message the kernel sent this visitor
    ws: WebSocketClientConnection | None = None
    _idle: dict[str, asyncio.Future] = field(default_factory=dict)
    _reader: asyncio.Task | None = None
    closed: bool = False
    cookies: dict[str, str] = field(default_factory=dict)

    async def open_page(self, timeout: float = 300) -> float:
        """GET the app page; returns the seconds it took. Raises PageError unless it is a working page."""
        t0 = time.monotonic()
        url = self.base + "/" + (f"?{self.query}" if self.query else "")
        try:
            r = await AsyncHTTPClient().fetch(url, request_timeout=timeout, connect_timeout=timeout)
        except HTTPClientError as err:
            body = err.response.body.decode("utf-8", "replace") if err.response is not None else ""
            raise PageError(err.code, body) from None
        self.page = r.body.decode("utf-8", "replace")
        for header in r.headers.get_list("Set-Cookie"):
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        found = re.search(r'kernelId": "([0-9a-f-]{36})"', self.page)
        if not found:
            raise PageError(r.code, "no kernel id in the page")
        self.kernel_id = found.group(1)
        return time.monotonic() - t0

    async def connect(self, timeout: float = 20) -> None:
        """Open the kernel's websocket; the server answers once the kernel has replied to kernel_info, which
        can take a while when the machine is busy starting other kernels (`timeout` seconds at most)."""
        self.closed = False
        ws_base = self.base.replace("http://", "ws://", 1)
        self.ws = await websocket_connect(
            HTTPRequest(
                f"{ws_base}/api/kernels/{self.kernel_id}/channels?session_id={uuid.uuid4()}",
                connect_timeout=timeout,
                request_timeout=timeout,
            ),
            max_message_size=256 * 1024 * 1024,
        )
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        assert self.ws is not None
        while True:
            raw = await self.ws.read_message()
            if raw is None:
                self.closed = True
                for fut in self._idle.values():
                    if not fut.done():
                        fut.set_exception(ConnectionError("websocket closed"))
                return
            if isinstance(raw, bytes):  # binary frames carry buffers; the JSON part is what matters here
                continue
            msg = json.loads(raw)
            self.received.append(msg)
            parent = msg.get("parent_header", {}).get("msg_id")
            if (
                msg.get("msg_type") == "status"
                and msg["content"].get("execution_state") == "idle"
                and parent in self._idle
                and not self._idle[parent].done()
            ):
                self._idle[parent].set_result(time.monotonic())

    async def send(self, msg: dict, timeout: float = 60) -> float:
        """Send a shell message; returns the seconds until the kernel went idle after it."""
        assert self.ws is not None
        fut = asyncio.get_running_loop().create_future()
        self._idle[msg["header"]["msg_id"]] = fut
        t0 = time.monotonic()
        await self.ws.write_message(json.dumps(msg))
        try:
            return await asyncio.wait_for(fut, timeout) - t0
        finally:
            self._idle.pop(msg["header"]["msg_id"], None)

    async def request_states(self) -> dict[str, dict]:
        comm_id = uuid.uuid4().hex
        meta = {"version": CONTROL_PROTOCOL}
        await self.send(
            message(
                "comm_open", {"comm_id": comm_id, "target_name": "jupyter.widget.control", "data": {}}, meta
            )
        )
        before = len(self.received)
        await self.send(message("comm_msg", {"comm_id": comm_id, "data": {"method": "request_states"}}, meta))
        for msg in self.received[before:]:
            data = msg.get("content", {}).get("data", {})
            if msg.get("msg_type") == "comm_msg" and data.get("method") == "update_states":
                self.states = data["states"]
        return self.states

    def model(self, description: str, model_name: str | None = None) -> str:
        """The model id of the control labelled `description`."""
        for model_id, s in self.states.items():
            if s["state"].get("description") == description and model_name in (None, s["model_name"]):
                return model_id
        raise KeyError(description)

    def update(self, model_id: str, state: dict[str, Any]) -> dict:
        return message(
            "comm_msg",
            {"comm_id": model_id, "data": {"method": "update", "state": state, "buffer_paths": []}},
            {"version": WIDGET_PROTOCOL},
        )

    async def set(self, model_id: str, **state: Any) -> tuple[float, int]:
        """Move a control; returns (seconds until every update was sent, number of chart updates sent)."""
        before = len(self.received)
        seconds = await self.send(self.update(model_id, state))
        charts = {
            m["content"]["comm_id"]
            for m in self.received[before:]
            if m.get("msg_type") == "comm_msg"
            and "_py_to_js_updates" in m["content"].get("data", {}).get("state", {})
        }
        return seconds, len(charts)

    def leaks(self) -> list[str]:
        """Messages the kernel sent that would show a visitor a traceback or the server's file paths."""
        found = []
        for m in self.received:
            kind, content = m.get("msg_type"), m.get("content", {})
            text = json.dumps(content) if kind in ("stream", "error", "display_data") else ""
            if kind == "error" or "Traceback" in text or "site-packages" in text or 'File \\"' in text:
                found.append(f"{kind}: {text[:300] or content}")
        return found

    async def leave(self) -> None:
        """Close the tab: the page's `beforeunload` beacon asks the server to shut its kernel down."""
        await self.close()
        xsrf = self.cookies.get("_xsrf", "")
        await AsyncHTTPClient().fetch(
            f"{self.base}/voila/api/shutdown/{self.kernel_id}",
            method="POST",
            body=urllib.parse.urlencode({"_xsrf": xsrf}),
            headers={"Cookie": f"_xsrf={xsrf}", "Content-Type": "application/x-www-form-urlencoded"},
        )

    async def close(self) -> None:
        if self.ws is not None:
            self.ws.close()
        if self._reader is not None:
            self._reader.cancel()

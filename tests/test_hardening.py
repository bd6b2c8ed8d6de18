"""The public Voila app: a visitor reads no file, reaches no Jupyter API and runs no code; query parameters
cannot inject script or hang the server; no message a browser can send shows a traceback; malformed requests
get an error; past the cap on visitors, a friendly busy page."""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import nbformat
import psutil
import pytest
from tornado.httpclient import HTTPClientError
from tornado.websocket import WebSocketClosedError, websocket_connect

from explorer.serve import CELL_ERROR
from explorer.serve_limits import V1_PROTOCOL
from explorer.session import FRIENDLY

from .conftest import REPO, cli
from .load.run import kernel_processes as server_kernels
from .load.visitor import PageError, Visitor, message
from .servers import server_process, voila, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with voila(REPO / "notebooks" / "app.ipynb") as u:
        yield u.rstrip("/")


def _answers(url: str) -> bool:
    """Whether `url` is answered (404 here): a reset means the server has not yet seen the held connections
    close, so it is not an answer yet, and the caller polls again."""
    try:
        return get(url, 10)[0] == 404
    except OSError:
        return False


def get(url: str, timeout: float = 30) -> tuple[int, str, float]:
    t0 = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace"), time.monotonic() - t0
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode("utf-8", "replace"), time.monotonic() - t0


@pytest.mark.parametrize(
    "path",
    [
        "/voila/files/pyproject.toml",
        "/voila/files/../pyproject.toml",
        "/voila/files/%2e%2e/pyproject.toml",
        "/voila/files/notebooks/app.ipynb",
        "/voila/files/catalog/devices/nvidia-h100-sxm.toml",
        "/voila/files/notebooks/images/app.png",
        "/voila/static/../../pyproject.toml",
        "/api/kernels",
        "/api/sessions",
        "/api/contents",
        "/api/contents/pyproject.toml",
        # the chart code's route serves the chart bundles by their 16-digit names, and nothing else
        "/accel-explorer/charts/../../pyproject.toml",
        "/accel-explorer/charts/%2e%2e/%2e%2e/pyproject.toml",
        "/accel-explorer/charts/pyproject.toml",
        "/accel-explorer/charts/0123456789abcdef.js",
        "/accel-explorer/charts/0123456789ABCDEF.js",
        "/accel-explorer/charts/",
    ],
)
def test_no_file_and_no_jupyter_api_is_served(url: str, path: str) -> None:
    code, body, _ = get(url + path)
    assert code in (403, 404), (path, code)
    assert "[project]" not in body and '"cells"' not in body and "nvidia" not in body.lower()


def test_the_chart_code_is_served_once_as_a_cacheable_module(url: str) -> None:
    """The page's template imports current.js, which imports the bundle the kernels use, by its digest;
    the bundle is cached by the browser (its name changes with its content), current.js is not."""
    import re

    with urllib.request.urlopen(url + "/accel-explorer/charts/current.js", timeout=30) as r:
        current = r.read().decode()
        assert r.headers["Cache-Control"] == "no-cache"
        assert r.headers["Content-Type"].startswith("text/javascript")
    digest = re.fullmatch(r'import "\./([0-9a-f]{16})\.js";\n', current).group(1)
    with urllib.request.urlopen(url + f"/accel-explorer/charts/{digest}.js", timeout=30) as r:
        bundle = r.read().decode()
        assert "immutable" in r.headers["Cache-Control"]
    import altair as alt

    from explorer.bundle_files import digest_of
    from explorer.runtime import enable_offline_charts

    enable_offline_charts()
    assert bundle == alt.JupyterChart._esm and digest_of(bundle) == digest
    code, page, _ = get(url + "/")
    assert code == 200 and "accel-explorer/charts/current.js" in page
    # the bundle of this install is served from memory: a cleared cache breaks no page already sent
    from explorer.bundle_files import path_of, save

    path_of(digest).unlink()
    try:
        with urllib.request.urlopen(url + f"/accel-explorer/charts/{digest}.js", timeout=30) as r:
            assert r.read().decode() == bundle
    finally:
        save(bundle)


def test_theme_parameter_cannot_inject_script(url: str) -> None:
    code, body, _ = get(url + "/?theme=%3Cscript%3Ealert(1)%3C/script%3E")
    assert code == 200
    assert "<script>alert(1)</script>" not in body and "alert(1)" not in body


def test_missing_template_parameter_does_not_hang(url: str) -> None:
    code, body, seconds = get(url + "/?template=no-such-template", timeout=60)
    assert code == 200 and seconds < 60
    assert "no-such-template" not in body


def test_sources_are_not_in_the_page(url: str) -> None:
    _, body, _ = get(url + "/")
    assert "explorer_app(" not in body and "get_query_string" not in body and "apply_query" not in body


# -- what a visitor's browser can send: widget messages only, and none of them shows a traceback ----------


async def until(check: Callable[[], Any], timeout: float, what: str) -> None:
    """Poll `check` (a function, or an async one) until it is true; fail naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        done = check()
        if asyncio.iscoroutine(done):
            done = await done
        if done:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.2)  # polling the condition, not a fixed wait


def visit(url: str, scenario: Callable[[Visitor], Awaitable[object]], query: str = "") -> Any:
    """Open the app as a scripted visitor, run `scenario` with it, and close it."""

    async def main() -> object:
        v = Visitor(url, query)
        await v.open_page()
        await v.connect()
        await v.request_states()
        try:
            return await scenario(v)
        finally:
            await v.close()

    return asyncio.run(main())


def test_a_browser_cannot_run_code(url: str, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    code = f"open({str(marker)!r}, 'w').write('code from a browser ran')"

    async def scenario(v: Visitor) -> None:
        msg = message(
            "execute_request",
            {
                "code": code,
                "silent": False,
                "store_history": False,
                "user_expressions": {},
                "allow_stdin": False,
            },
        )
        with pytest.raises(asyncio.TimeoutError):  # dropped by the server: the kernel never sees it
            await v.send(msg, timeout=5)
        # the session still works afterwards
        _, charts = await v.set(v.model("Request volume"), value=2e9)
        assert charts >= 4, charts
        replies = [
            m for m in v.received if m.get("parent_header", {}).get("msg_id") == msg["header"]["msg_id"]
        ]
        assert replies == []

    visit(url, scenario)
    assert not marker.exists()


def test_forged_and_malformed_widget_messages_show_no_traceback(url: str) -> None:
    """Wrong-typed values, unknown comms and malformed comm_open messages: the kernel logs them to the server
    log; the browser gets no traceback and no file path, and the app keeps working."""

    async def scenario(v: Visitor) -> list[str]:
        volume = v.model("Request volume")
        await v.set(volume, value="a lot")
        await v.set(volume, value=[1, 2])
        await v.set(volume, value=None)
        await v.set(v.model("Model changes"), value={"x": 1})
        await v.send(v.update("0" * 32, {"value": 1}))  # a comm that does not exist
        await v.send(
            message("comm_open", {"comm_id": "x1", "target_name": "jupyter.widget.control", "data": {}})
        )
        await v.send(message("comm_open", {"comm_id": "x2", "target_name": "no.such.target", "data": {}}))
        await v.send(message("comm_msg", {"comm_id": volume}))  # no data at all
        _, charts = await v.set(volume, value=3e9)
        assert charts >= 4, "the app stopped answering after the bad messages"
        return v.leaks()

    assert visit(url, scenario) == []


def test_a_forged_value_past_the_bounds_is_brought_back_inside(url: str) -> None:
    async def scenario(v: Visitor) -> dict:
        volume = v.model("Request volume")
        await v.set(volume, value=1e30)
        await v.set(v.model("Model changes"), value=-5)
        echoed = {}
        for m in v.received:
            state = m.get("content", {}).get("data", {}).get("state", {})
            if m.get("msg_type") == "comm_msg" and "value" in state:
                echoed[m["content"]["comm_id"]] = state["value"]
        return {"volume": echoed.get(volume), "changes": echoed.get(v.model("Model changes"))}

    got = visit(url, scenario)
    assert got["volume"] is not None and got["volume"] <= 5e11
    assert got["changes"] == 0


def test_another_visitors_kernel_is_out_of_reach(url: str) -> None:
    """Kernel ids are never listed (see above), and a made-up one leads nowhere."""
    made_up = "00000000-0000-4000-8000-000000000000"
    for path in (f"/api/kernels/{made_up}", f"/api/kernels/{made_up}/channels"):
        code, _, _ = get(url + path)
        assert code in (403, 404), (path, code)


#: Malformed requests and what each gets: the app for a query it cannot read (the link's values are then the
#: defaults), an error for the rest; never a crash or a traceback.
MALFORMED = {
    "/?volume=%zz%": 200,
    "/?" + "x=" + "9" * 20000: 414,
    "/voila/static/%00": 403,
    "/api/kernels/not-a-kernel/channels": 404,
    "/voila/render/%2e%2e/%2e%2e/etc/passwd": 404,
}


#: Which garbage frames end the connection (see the test below): none since 2026-12-05; until then a text
#: frame that was not a kernel message ended it, with a traceback in the server's log.
DROPPED_BY_GARBAGE: list[str | bytes] = []


def test_malformed_requests_get_an_error_not_a_crash(url: str) -> None:
    got = {path: get(url + path) for path in MALFORMED}
    assert {path: code for path, (code, _, _) in got.items()} == MALFORMED
    assert [path for path, (_, body, _) in got.items() if "Traceback" in body] == []
    parts = urllib.parse.urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port)) as raw:  # TLS bytes, then nonsense
        raw.sendall(b"\x16\x03\x01 not http at all\r\n\r\n")
        raw.settimeout(10)
        with contextlib.suppress(OSError):
            raw.recv(1024)

    async def scenario(v: Visitor) -> list[str | bytes]:
        closed: list[str | bytes] = []
        garbage_list = ("{not json", json.dumps({"channel": "shell"}), b"\x00\x01binary garbage")
        for volume, garbage in zip((4e9, 5e9, 6e9), garbage_list, strict=True):
            assert v.ws is not None
            await v.ws.write_message(garbage, binary=isinstance(garbage, bytes))
            # frames are handled in order: once a message sent after the garbage is answered, the garbage
            # was handled; if the server dropped the connection instead, the page reconnects, as here
            try:
                await v.send(message("kernel_info_request", {}), timeout=30)
            except (ConnectionError, WebSocketClosedError):
                # the write can meet the closed socket before the reader task reads the close: wait for it
                await until(lambda: v.closed, timeout=60, what="the visitor to see the connection closed")
            if v.closed:
                closed.append(garbage)
                await v.close()
                await v.connect()
            _, charts = await v.set(v.model("Request volume"), value=volume)
            assert charts >= 4, f"the session stopped working after {garbage!r}"
        return closed

    # garbage that is not a message is dropped alone, the connection kept: a binary frame that fails the
    # check before deserializing (explorer.serve_limits.frame_problem), and text that is not a kernel message
    assert visit(url, scenario) == DROPPED_BY_GARBAGE
    code, body, _ = get(url + "/")  # and the server still serves a fresh visitor
    assert code == 200 and "kernelId" in body


def test_a_replayed_or_garbled_frame_is_dropped_and_logged_once_per_connection() -> None:
    """A message sent again reached the kernel, which refused its seen signature and logged a traceback for
    each (a visitor could fill the server's log with them), and every dropped frame logged a line. Now a
    replay is dropped before the kernel sees it, and a connection's drops take two lines of log at most:
    the first with its reason, the rest as a count when it closes. The page keeps working throughout."""
    app = REPO / "notebooks" / "app.ipynb"
    with voila(app, pool_size=0) as u:
        u = u.rstrip("/")

        async def main() -> None:
            v = Visitor(u)
            await asyncio.wait_for(v.open_page(timeout=120), 120)
            await v.connect(timeout=60)
            await asyncio.wait_for(v.request_states(), 60)
            volume = v.model("Request volume")
            replay = json.dumps(v.update(volume, {"value": 2e9}))
            assert v.ws is not None
            for _ in range(20):
                await v.ws.write_message(replay)
            for _ in range(20):
                await v.ws.write_message("{not json")
            _, charts = await v.set(volume, value=3e9)  # answered after the frames before it: all handled
            assert charts >= 4 and not v.closed
            # the protocol browsers speak (v1, binary): a kernel_info_request sent five times is answered once
            ws_url = u.replace("http://", "ws://", 1) + f"/api/kernels/{v.kernel_id}/channels?session_id=y"
            other = await websocket_connect(ws_url, subprotocols=[V1_PROTOCOL])
            ask = message("kernel_info_request", {})
            for _ in range(5):
                await other.write_message(v1_frame("shell", ask), binary=True)
            last = message("kernel_info_request", {})
            await other.write_message(v1_frame("shell", last), binary=True)
            replies = []
            while True:
                raw = await asyncio.wait_for(other.read_message(), 30)
                if isinstance(raw, bytes) and b"kernel_info_reply" in raw:
                    replies.append(ask["header"]["msg_id"].encode() in raw)
                    if not replies[-1]:
                        break  # the last request's reply: every frame before it was handled
            other.close()
            # at most one reply to the replayed request (none if it came before the socket was up)
            assert sum(replies) <= 1
            await v.close()

        asyncio.run(main())
        log = _server_log(u)
        wait_for(lambda: log.read_text().count("more websocket frames") == 2, timeout=30, what="two counts")
        text = log.read_text()
    assert "Duplicate Signature" not in text and "Traceback" not in text and "Uncaught" not in text
    assert text.count("Dropped a websocket frame") == 2  # one line per connection, with its reason
    assert text.count("a message sent again") == 2
    # legacy: the replay's first copy was the message, then 19 replays and 20 garbled frames, one logged;
    # v1: the first copy, then 4 replays, one logged
    assert "Dropped 38 more websocket frames" in text and "Dropped 3 more websocket frames" in text


def test_callbacks_in_an_output_widget_show_a_message_not_a_traceback(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import ipywidgets as W\n"
            "from explorer.session import harden_kernel\n"
            "harden_kernel()\n"
            "out = W.Output()\n"
            "button = W.Button(description='Fail')\n"
            "def fail(_):\n"
            "    with out:\n"
            "        raise ZeroDivisionError('a secret path /srv/app')\n"
            "button.on_click(fail)\n"
            "def fail_outside(_):\n"
            "    raise KeyError('outside any Output')\n"
            "other = W.Button(description='Fail outside')\n"
            "other.on_click(fail_outside)\n"
            "W.VBox([button, other, out])"
        )
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "fails.ipynb"
    nbformat.write(nb, path)

    async def scenario(v: Visitor) -> list[str]:
        for label in ("Fail", "Fail outside"):
            click = v.update(v.model(label, "ButtonModel"), {})
            click["content"]["data"] = {"method": "custom", "content": {"event": "click"}}
            await v.send(click)
        shown = [
            m["content"].get("text", "")
            for m in v.received
            if m.get("msg_type") == "stream" and m["content"].get("name") == "stdout"
        ]
        assert any(FRIENDLY in text for text in shown), shown
        return v.leaks()

    with voila(path, pool_size=0) as u:
        leaks = visit(u.rstrip("/"), scenario)
    assert leaks == []
    assert not any("secret path" in leak for leak in leaks)


# -- a cap on visitors --------------------------------------------------------------------------------


def test_past_the_cap_a_visitor_gets_a_busy_page_and_a_place_once_one_frees(tmp_path: Path) -> None:
    with voila(REPO / "notebooks" / "app.ipynb", max_sessions=2, pool_size=1) as u:
        u = u.rstrip("/")

        async def main() -> None:
            first, second, third = Visitor(u), Visitor(u), Visitor(u)
            await first.open_page()
            await second.open_page()
            with pytest.raises(PageError) as busy:
                await third.open_page()
            assert busy.value.status == 503
            assert "busy" in busy.value.text and "try again" in busy.value.text.lower()
            assert "Traceback" not in busy.value.text
            # the page a visitor's tab sends on closing: the kernel goes, and the place with it
            await first.leave()

            async def a_place() -> bool:
                try:
                    return (await third.open_page()) > 0
                except PageError as err:
                    if err.status != 503:
                        raise
                    return False

            await until(a_place, timeout=60, what="the place the first visitor gave back")
            await third.connect()
            await third.request_states()
            _, charts = await third.set(third.model("Request volume"), value=1e9)
            assert charts >= 4

        asyncio.run(main())


def test_an_error_in_a_cell_shows_a_friendly_message_and_logs_the_traceback(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("print('before')"),
        nbformat.v4.new_code_cell("raise ValueError('a secret path /srv/app/config')"),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "broken.ipynb"
    nbformat.write(nb, path)
    with voila(path, pool_size=0) as u:
        code, body, _ = get(u)
        log = _server_log(u).read_text()
    assert code == 200
    assert CELL_ERROR in html.unescape(body)
    assert "secret path" not in body and "Traceback" not in body and "ValueError" not in body
    assert "ValueError" in log and "secret path" in log


# -- what one visitor could do to the others (issue 13) ----------------------------------------------------


def timed_get(url: str, timeout: float = 30) -> float:
    return get(url, timeout=timeout)[2]


def v1_frame(channel: str, msg: dict) -> bytes:
    """A message as the v1 websocket protocol frames it: a count, offsets, then the parts."""
    parts = [channel.encode()] + [
        json.dumps(msg[k]).encode() for k in ("header", "parent_header", "metadata", "content")
    ]
    count = len(parts) + 1
    offsets = [8 * (count + 1)]
    for part in parts:
        offsets.append(offsets[-1] + len(part))
    return b"".join(n.to_bytes(8, "little") for n in [count, *offsets]) + b"".join(parts)


def test_a_forged_websocket_frame_does_not_freeze_the_server(url: str) -> None:
    """jupyter_server's v1 deserializer looped as many times as the frame's first 8 bytes said: 72 bytes with
    a count of 15 million froze every visitor for seconds. The frame is now checked first and dropped."""
    cheap = url + "/api/kernels/00000000-0000-4000-8000-000000000000"  # a 404, answered at once
    baseline = sorted(timed_get(cheap) for _ in range(5))[2]
    forged = (15_000_000).to_bytes(8, "little") + bytes(64)

    async def scenario(v: Visitor) -> list[float]:
        ws_url = url.replace("http://", "ws://", 1) + f"/api/kernels/{v.kernel_id}/channels?session_id=x"
        attacker = await websocket_connect(ws_url, subprotocols=[V1_PROTOCOL])
        assert attacker.selected_subprotocol == V1_PROTOCOL
        # the connection is up once the kernel answers on it (frames that come earlier are dropped)
        await attacker.write_message(v1_frame("shell", message("kernel_info_request", {})), binary=True)
        while b"kernel_info_reply" not in (await asyncio.wait_for(attacker.read_message(), 30) or b""):
            pass
        await attacker.write_message(forged, binary=True)
        # another visitor's requests, sent while the frame is being handled
        seconds = [await asyncio.to_thread(timed_get, cheap) for _ in range(5)]
        attacker.close()
        _, charts = await v.set(v.model("Request volume"), value=7e9)  # and this visitor's session works
        assert charts >= 4
        return seconds

    seconds = visit(url, scenario)
    assert max(seconds) < max(20 * baseline, 0.5), (baseline, seconds)


def test_a_nan_value_shows_no_warning_and_no_path(url: str) -> None:
    async def scenario(v: Visitor) -> list[str]:
        volume = v.model("Request volume")
        for forged in (float("nan"), float("inf"), float("-inf")):
            await v.set(volume, value=forged)  # json.dumps writes NaN/Infinity, which Python's json reads
        await v.set(v.model("Model changes"), value=float("nan"))
        await v.set(v.model("Model changes"), value=4.0)
        _, charts = await v.set(volume, value=3e9)
        assert charts >= 4, "the app stopped answering after NaN values"
        return v.leaks() + [
            m["content"].get("text", "")
            for m in v.received
            if m.get("msg_type") == "stream" and "Warning" in m["content"].get("text", "")
        ]

    assert visit(url, scenario) == []


def pre_heated(log: Path) -> int:
    return log.read_text().count("Using pre-heated kernel")


def test_theme_and_template_parameters_still_get_a_pre_started_kernel(tmp_path: Path) -> None:
    with voila(REPO / "notebooks" / "app.ipynb", pool_size=1) as u:
        log = _server_log(u)
        # Voila uses its pool once the first pre-started kernel has started: a first visitor makes sure
        assert get(u, timeout=120)[0] == 200
        for query in ("?theme=dark", "?template=lab", "?theme=light&template=no-such&requests_per_day=1e9"):
            before = pre_heated(log)
            code, body, _ = get(u.rstrip("/") + "/" + query, timeout=120)
            assert code == 200 and "kernelId" in body, query
            wait_for(
                lambda b=before: pre_heated(log) > b, timeout=60, what=f"a pre-heated kernel for {query}"
            )


def test_over_long_links_get_a_clear_error_page(url: str) -> None:
    many = "/?" + "&".join(f"f{i}=1" for i in range(1001))
    long = "/?x=" + "a" * 100_000
    for path in (many, long):
        code, body, seconds = get(url + path)
        assert code == 414, (path[:30], code)
        assert "too long" in body and "accepts up to" in body and "Traceback" not in body
        assert seconds < 5
    code, body, _ = get(url + "/")  # and the server still serves a fresh visitor
    assert code == 200 and "kernelId" in body


def test_the_busy_pages_link_stays_on_this_server() -> None:
    with voila(REPO / "notebooks" / "app.ipynb", max_sessions=1, pool_size=0) as u:
        u = u.rstrip("/")
        assert get(u + "/")[0] == 200  # the one place is taken (no browser: reclaimed after 30 s)
        for path in ("//evil.invalid/x", "/?requests_per_day=1e9&x=%22%3E%3Cscript%3E", "///evil.invalid"):
            raw = urllib.parse.urlsplit(u)
            with socket.create_connection((raw.hostname, raw.port), timeout=30) as s:
                s.sendall(f"GET {path} HTTP/1.1\r\nHost: {raw.netloc}\r\nConnection: close\r\n\r\n".encode())
                answer = b""
                while chunk := s.recv(65536):
                    answer += chunk
            text = answer.decode("utf-8", "replace")
            status = text.split("\r\n", 1)[0]
            assert " 503 " in status or (" 404 " in status and path.startswith("//")), (path, text[:200])
            hrefs = re.findall(r'href="([^"]*)"', text)
            assert hrefs, text
            for href in map(html.unescape, hrefs):  # a path on this server: never //host, \\host or a scheme
                assert href.startswith("/") and href[1:2] not in ("/", "\\"), (path, href)
            assert "<script>" not in text


def _server_log(u: str) -> Path:
    """The log of the server at `u` (tests/servers.py writes one per port)."""
    return next(REPO.glob(f".pytest_cache/voila-{urllib.parse.urlsplit(u).port}.log"))


def reclaimed(log: Path) -> int:
    """How many pages' kernels the server has reclaimed because no browser connected to them."""
    return log.read_text().count("no browser connected within")


def kernel_processes(url: str) -> list[Any]:
    return server_kernels(server_process(urllib.parse.urlsplit(url).port))


def test_plain_gets_cannot_fill_the_cap() -> None:
    """Each GET took a kernel that stayed until the 15-minute idle cull: 3 requests locked a cap of 3. Now
    one address holds at most `pages_per_client` unopened pages, and a page's kernel that no browser connects
    to within `connect_seconds` is reclaimed; a connected one is kept."""
    app = REPO / "notebooks" / "app.ipynb"
    with voila(app, max_sessions=4, pool_size=1, connect_seconds=4, pages_per_client=2) as u:
        u = u.rstrip("/")
        log = _server_log(u)
        assert get(u + "/", timeout=120)[0] == 200
        assert get(u + "/", timeout=120)[0] == 200
        code, body, _ = get(u + "/", timeout=120)
        assert code == 429 and "no browser has opened" in body and "Traceback" not in body
        wait_for(lambda: len(kernel_processes(u)) <= 1, timeout=60, what="the unopened pages' kernels to go")
        assert reclaimed(log) == 2

        async def main() -> None:  # and the places are free for real visitors
            visitors = [Visitor(u) for _ in range(3)]
            for v in visitors:
                await v.open_page(timeout=120)
                await v.connect()
                await v.request_states()
            for v in visitors:
                _, charts = await v.set(v.model("Request volume"), value=2e9)
                assert charts >= 4
            # a page no browser opens, sent after the visitors' pages: once it is reclaimed, connect_seconds
            # has passed for theirs too, and the sweep has looked at them
            assert (await asyncio.to_thread(get, u + "/", 120))[0] == 200
            await until(lambda: reclaimed(log) == 3, timeout=60, what="the unopened page's kernel to go")
            for v in visitors:
                _, charts = await v.set(v.model("Request volume"), value=3e9)
                assert charts >= 4
                await v.close()

        asyncio.run(main())


def test_the_query_socket_cannot_poison_pre_started_kernels() -> None:
    """/voila/query/<id> needed no secret: two sockets to a made-up id, closed in turn, deleted a pre-started
    kernel's entry; the visitor later given that kernel waited forever. Only a pre-started kernel may open it,
    once, and closing a socket removes its own entry only."""
    app = REPO / "notebooks" / "app.ipynb"
    with voila(app, max_sessions=3, pool_size=2) as u:
        u = u.rstrip("/")
        ws_base = u.replace("http://", "ws://", 1)

        async def main() -> None:
            first = Visitor(u)
            await first.open_page(timeout=120)  # the pool is up
            for round_ in range(2):
                made_up = f"00000000-0000-4000-8000-00000000000{round_}"
                for kernel_id in (made_up, made_up, first.kernel_id):
                    with pytest.raises(HTTPClientError) as refused:
                        await websocket_connect(f"{ws_base}/voila/query/{kernel_id}")
                    assert refused.value.code == 403
                v = Visitor(u)
                await asyncio.wait_for(v.open_page(timeout=120), 120)
                await v.connect()
                await v.request_states()
                _, charts = await v.set(v.model("Request volume"), value=2e9)
                assert charts >= 4
                await v.leave()

        asyncio.run(main())


def test_a_dead_pre_started_kernel_is_replaced_not_handed_out() -> None:
    app = REPO / "notebooks" / "app.ipynb"
    with voila(app, pool_size=2) as u:
        u = u.rstrip("/")
        wait_for(lambda: len(kernel_processes(u)) == 2, timeout=60, what="two pre-started kernels")
        killed = kernel_processes(u)
        for k in killed:
            k.send_signal(signal.SIGKILL)
        # dead before the visitor comes: on a loaded machine a killed kernel takes a moment to go, and one
        # that dies between the pool's check and its use still reaches its page (README, Serving it to a
        # crowd)
        _, alive = psutil.wait_procs(killed, timeout=30)
        assert not alive

        async def main() -> None:
            v = Visitor(u)
            await asyncio.wait_for(v.open_page(timeout=120), 120)
            # the pool is starting two replacements meanwhile: on two cores the handshake can take a while
            await v.connect(timeout=120)
            await asyncio.wait_for(v.request_states(), 60)
            _, charts = await v.set(v.model("Request volume"), value=2e9)
            assert charts >= 4
            await v.close()

        asyncio.run(main())


def test_a_shrinking_pool_retires_its_kernels_without_an_error() -> None:
    """After a burst the pre-started pool sheds kernels whose notebook still waits for a visitor. Their runs
    were cancelled, which nbclient reports as a dead kernel: Voila logged "Error at server while executing
    cell" with a traceback for each (seven in one afternoon's use), and an operator read a crash. Told
    there is no visitor, each notebook finishes; then its kernel is shut down, and the log has no error."""
    app = REPO / "notebooks" / "app.ipynb"
    with voila(app, pool_size=1, pool_max=3, burst_seconds=15, connect_seconds=3) as u:
        log_path = _server_log(u)
        with ThreadPoolExecutor(4) as arrive:  # four arrivals together: the pool grows to 3
            assert [code for code, _, _ in arrive.map(lambda _: get(u, timeout=120), range(4))] == [200] * 4
        log = lambda: log_path.read_text(errors="replace")  # noqa: E731
        shed = re.compile(r"Shutting kernel (\S+) down: the pre-started pool shrinks")
        wait_for(lambda: len(shed.findall(log())) >= 1, timeout=120, what="the pool shrinking")
        retired = shed.findall(log())
        done = lambda: all(f"Kernel shutdown: {k}" in log() for k in retired)  # noqa: E731
        wait_for(done, timeout=60, what="the shed kernels shut down")
        # the visitor pages above (no browser connected) are reclaimed; a visitor still gets a working page
        assert get(u, timeout=120)[0] == 200
    text = log_path.read_text(errors="replace")
    assert "Pre-started pool: 3 kernels" in text
    assert "is not trusted" not in text  # the contents manager's warning for every kernel, filtered
    for noise in ("Error at server while executing cell", "DeadKernelError", "Kernel died", "Traceback"):
        assert noise not in text, noise


def test_the_sweep_leaves_a_kernel_being_shut_down_alone() -> None:
    """A page that leaves shuts its kernel down; a sweep meanwhile found its process gone and logged "its
    process has died" (and shut it down again) after Voila's own "Kernel shutdown". A kernel whose shutdown
    is under way is left to it; a dead kernel nobody is shutting down is still removed."""
    import collections

    from explorer.serve_app import ExplorerVoila

    class Kernel:
        def __init__(self, shutting_down: bool) -> None:
            self.shutting_down = shutting_down

        async def is_alive(self) -> bool:
            return False

    class Kernels:
        def __init__(self) -> None:
            self.kernel_pools_config: dict = {}  # no pre-started pool
            self._pools: dict = {}
            self.kernels = {"leaving": Kernel(True), "died": Kernel(False)}
            self.shut: list[str] = []

        def list_kernel_ids(self) -> list[str]:
            return list(self.kernels)

        def get_kernel(self, kernel_id: str) -> Kernel:
            return self.kernels[kernel_id]

        async def shutdown_kernel(self, kernel_id: str, now: bool = False) -> None:
            self.shut.append(kernel_id)
            del self.kernels[kernel_id]

    app = ExplorerVoila()
    app.kernel_manager = km = Kernels()
    app.owner, app.sent_at, app.connected, app.request_info_asked = {}, {}, set(), set()
    app.sockets, app.gone_at, app.sockets_refused = {}, {}, set()
    app.arrivals, app.pool_base = collections.deque(), None
    asyncio.run(app._sweep())
    assert km.shut == ["died"]


def test_a_port_out_of_range_is_refused() -> None:
    for port in ("99999", "0", "-1", "http"):
        done = subprocess.run([*cli(), "app", "--port", port], capture_output=True, text=True, timeout=60)
        assert done.returncode == 2, (port, done.stdout)
        assert "--port" in done.stderr and "Traceback" not in done.stderr and "served at" not in done.stdout


def test_one_client_holds_a_few_websockets_per_kernel_and_a_few_seats() -> None:
    """300 websockets to one's own kernel ran the server's ZMQ context out of sockets (four each) and locked
    new visitors out; one client dropping its pages' sockets without the closing beacon held every seat for
    the 15-minute idle cull. Now a kernel takes `sockets_per_kernel` websockets, an address holds
    `sessions_per_client` kernels, and a kernel whose browser has gone is reclaimed after
    `disconnected_seconds`."""
    app = REPO / "notebooks" / "app.ipynb"
    options = {"pool_size": 0, "sessions_per_client": 2, "sockets_per_kernel": 2, "disconnected_seconds": 3}
    with voila(app, max_sessions=8, **options) as u:
        u = u.rstrip("/")
        log = _server_log(u)

        async def main() -> None:
            v = Visitor(u)
            await v.open_page(timeout=120)
            await v.connect()
            await v.request_states()
            ws_url = u.replace("http://", "ws://", 1) + f"/api/kernels/{v.kernel_id}/channels?session_id=x"
            second = await websocket_connect(ws_url, subprotocols=[V1_PROTOCOL])
            for _ in range(3):
                with pytest.raises(HTTPClientError) as refused:
                    await websocket_connect(ws_url, subprotocols=[V1_PROTOCOL])
                assert refused.value.code == 429
            text = log.read_text()  # said once, and no traceback for a refusal
            assert text.count("Refused websockets to kernel") == 1 and "Traceback" not in text
            second.close()  # a place frees once one closes
            await until(lambda: _can_connect(ws_url), timeout=30, what="a websocket once one closed")
            _, charts = await v.set(v.model("Request volume"), value=2e9)  # the visitor's own still works
            assert charts >= 4
            # a second page is a second seat; a third from the same address is refused with a page
            assert (await asyncio.to_thread(get, u + "/", 120))[0] == 200
            code, body, _ = await asyncio.to_thread(get, u + "/", 120)
            assert code == 429 and "pages of the explorer open" in body and "Traceback" not in body
            # behind a reverse proxy on this machine, each visitor is the address the proxy forwards
            for visitor in ("10.0.0.7", "10.0.0.8"):
                via = {"X-Forwarded-For": f"1.2.3.4, {visitor}"}  # as nginx's $proxy_add_x_forwarded_for
                forwarded = urllib.request.Request(u + "/", headers=via)
                with urllib.request.urlopen(forwarded, timeout=120) as r:
                    assert r.status == 200
            # the visitor's browser goes without the beacon: its seat comes back
            await v.close()
            await until(
                lambda: "its browser has been gone for 3 s" in log.read_text(),
                timeout=60,
                what="the kernel of a browser that went to be reclaimed",
            )

        asyncio.run(main())
        wait_for(lambda: get(u + "/", 120)[0] == 200, timeout=60, what="a seat for a new visitor")


async def _can_connect(ws_url: str) -> bool:
    try:
        ws = await websocket_connect(ws_url, subprotocols=[V1_PROTOCOL])
    except HTTPClientError:
        return False
    ws.close()
    return True


def test_a_browser_that_does_not_read_is_dropped_and_states_are_not_asked_for_in_a_loop() -> None:
    """Ten websockets that never read, asking for every widget's state (0.5 MB back each) every 50 ms, took
    the server to 3 GB that it kept. Now a connection asks for the states at most once every
    REQUEST_STATES_SECONDS, and one whose browser leaves `max_write_buffer_bytes` unread is dropped."""
    from explorer.serve_limits import REQUEST_STATES_SECONDS

    app = REPO / "notebooks" / "app.ipynb"
    with voila(app, "--ExplorerVoila.max_write_buffer_bytes=1000000", pool_size=1) as u:
        u = u.rstrip("/")
        log = _server_log(u)
        server = server_process(urllib.parse.urlsplit(u).port)

        async def main() -> None:
            v = Visitor(u)
            await v.open_page(timeout=120)
            ws_url = u.replace("http://", "ws://", 1) + f"/api/kernels/{v.kernel_id}/channels?session_id=x"
            port = urllib.parse.urlsplit(u).port
            # a client that never reads: a websocket opened by hand on a socket with a small receive buffer
            raw = socket.socket()
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            raw.connect(("127.0.0.1", port))
            path = urllib.parse.urlsplit(ws_url)
            raw.sendall(
                (
                    f"GET {path.path}?{path.query} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                    f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: {V1_PROTOCOL}\r\n\r\n"
                ).encode()
            )
            assert b"101" in raw.recv(64)
            comm = "c" * 32
            meta = {"version": "1.0.0"}
            control = {"comm_id": comm, "target_name": "jupyter.widget.control", "data": {}}
            raw.sendall(_masked(v1_frame("shell", message("comm_open", control, meta))))
            rss0 = server.memory_info().rss

            def ask() -> None:
                asks = message("comm_msg", {"comm_id": comm, "data": {"method": "request_states"}}, meta)
                raw.sendall(_masked(v1_frame("shell", asks)))

            ask()
            ask()  # at once again: dropped
            dropped = "its browser left 1,000,000 bytes unread"
            deadline = time.monotonic() + 90
            # as often as allowed, until the states it does not read (0.5 MB each) fill the socket's buffers
            # (up to 4 MB in the operating system) and then the server's own
            while dropped not in log.read_text():
                assert time.monotonic() < deadline, "the connection that does not read was not dropped"
                await asyncio.sleep(REQUEST_STATES_SECONDS * 1.05)  # the pace the server allows
                with contextlib.suppress(OSError):
                    ask()
            assert "the widgets' states asked for again within" in log.read_text()
            assert "Traceback" not in log.read_text().split(dropped, 1)[1]  # dropped quietly, for good
            assert server.memory_info().rss - rss0 < 200 * 2**20
            raw.close()
            # the same page's visitor, connecting as a browser does, is served
            await v.connect()
            await v.request_states()
            _, charts = await v.set(v.model("Request volume"), value=2e9)
            assert charts >= 4
            await v.close()

        asyncio.run(main())


def _masked(payload: bytes) -> bytes:
    """A client's binary websocket frame (clients mask their frames; the mask here is zero)."""
    n = len(payload)
    head = bytes([0x82]) + (
        bytes([0x80 | n])
        if n < 126
        else bytes([0x80 | 126]) + n.to_bytes(2, "big")
        if n < 65536
        else bytes([0x80 | 127]) + n.to_bytes(8, "big")
    )
    return head + bytes(4) + payload


def test_jupyters_other_routes_and_a_template_folder_are_404s_without_a_traceback(url: str) -> None:
    """`/logout` answered a blank 500 with an 8.7 KB traceback in the log each time (13,000 requests filled
    108 MB in 30 s); the template's static folder itself, a blank 500 too."""
    log = _server_log(url)
    before = log.read_text().count("Traceback")
    for path in ("/logout", "/voila/templates/accel-explorer/static/"):
        code, body, _ = get(url + path)
        assert (code == 404 and "No such page" in body) or code == 404, (path, code)
        assert "Traceback" not in body
    assert log.read_text().count("Traceback") == before


def test_one_client_cannot_hold_every_connection() -> None:
    """20,000 half-sent requests from one client ran the server out of file descriptors: its accept loop
    spun and nobody was served. Now an address holds `connections_per_client` connections; past it a new
    one is closed at once, and once the client lets go the server answers."""
    app = REPO / "notebooks" / "app.ipynb"
    # loopback is a trusted proxy by default (its connections are every visitor's): trust none here
    with voila(app, "--ExplorerVoila.trusted_proxies=", pool_size=0, connections_per_client=20) as u:
        port = urllib.parse.urlsplit(u).port
        held = []
        for _ in range(30):
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # headers never finished
            held.append(s)

        def closed(s: socket.socket) -> bool:
            s.settimeout(0.05)
            try:
                return s.recv(1) == b""
            except TimeoutError:
                return False
            except OSError:
                return True

        wait_for(
            lambda: sum(closed(s) for s in held) >= 10, timeout=30, what="the connections past 20 closed"
        )
        log = _server_log(u)
        assert "Refused connections from 127.0.0.1: 20 open" in log.read_text()
        for s in held:
            s.close()
        wait_for(lambda: _answers(u.rstrip("/") + "/favicon.ico"), timeout=30, what="an answer")

"""The public Voila app: a visitor reads no file, reaches no Jupyter API and runs no code; query parameters
cannot inject script or hang the server; no message a browser can send shows a traceback; malformed requests
get an error; past the cap on visitors, a friendly busy page."""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from explorer.serve import CELL_ERROR
from explorer.session import FRIENDLY

from .conftest import REPO
from .load.visitor import PageError, Visitor, message
from .servers import voila

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with voila(REPO / "notebooks" / "app.ipynb") as u:
        yield u.rstrip("/")


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
    ],
)
def test_no_file_and_no_jupyter_api_is_served(url: str, path: str) -> None:
    code, body, _ = get(url + path)
    assert code in (403, 404), (path, code)
    assert "[project]" not in body and '"cells"' not in body and "nvidia" not in body.lower()


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


def test_malformed_requests_get_an_error_not_a_crash(url: str) -> None:
    bad = [
        "/?volume=%zz%",
        "/?" + "x=" + "9" * 20000,
        "/voila/static/%00",
        "/api/kernels/not-a-kernel/channels",
        "/voila/render/%2e%2e/%2e%2e/etc/passwd",
    ]
    for path in bad:
        code, body, _ = get(url + path)
        assert code < 600 and "Traceback" not in body, path
    parts = urllib.parse.urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port)) as raw:  # TLS bytes, then nonsense
        raw.sendall(b"\x16\x03\x01 not http at all\r\n\r\n")
        raw.settimeout(10)
        with contextlib.suppress(OSError):
            raw.recv(1024)

    async def scenario(v: Visitor) -> list[str]:
        closed = []
        garbage_list = ("{not json", json.dumps({"channel": "shell"}), b"\x00\x01binary garbage")
        for volume, garbage in zip((4e9, 5e9, 6e9), garbage_list, strict=True):
            assert v.ws is not None
            await v.ws.write_message(garbage, binary=isinstance(garbage, bytes))
            await asyncio.sleep(0.5)
            if v.closed:  # the server may drop the connection: the page reconnects, as here
                closed.append(repr(garbage)[:20])
                await v.close()
                await v.connect()
            _, charts = await v.set(v.model("Request volume"), value=volume)
            assert charts >= 4, f"the session stopped working after {garbage!r}"
        return closed

    print("connections the server dropped:", visit(url, scenario))
    code, body, _ = get(url + "/")  # and the server still serves a fresh visitor
    assert code == 200 and "kernelId" in body


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
            await asyncio.sleep(1)
            assert (await third.open_page()) > 0
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
        log = max(REPO.glob(".pytest_cache/voila-*.log"), key=lambda p: p.stat().st_mtime).read_text()
    assert code == 200
    assert CELL_ERROR in html.unescape(body)
    assert "secret path" not in body and "Traceback" not in body and "ValueError" not in body
    assert "ValueError" in log and "secret path" in log

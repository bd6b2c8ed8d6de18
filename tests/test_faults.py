"""Faults, in a real browser: a visitor whose kernel dies is told so and can reload into the same scenario;
other visitors carry on; a visitor who leaves gives the kernel back at once."""

from __future__ import annotations

import json
import re
import signal
import tempfile
import urllib.parse
from pathlib import Path

import psutil
import pytest

from .conftest import REPO
from .load.run import kernel_processes
from .servers import browser_page, server_process, voila, wait_for

pytestmark = pytest.mark.slow
APP = REPO / "notebooks" / "app.ipynb"


def kernel_pids(url: str) -> dict[str, int]:
    """Kernel id -> process id, for the kernels of the server behind `url`.

    A kernel forked by the server's fork server has the fork server's command line, so a kernel is found by
    its connection file (kernel-<id>.json, in Voila's connection folder): the process listening on its
    shell port is the kernel.
    """
    server = server_process(urllib.parse.urlsplit(url).port)
    pids = {k.pid for k in kernel_processes(server)}
    listening = {
        c.laddr.port: c.pid
        for c in psutil.net_connections("tcp")
        if c.status == psutil.CONN_LISTEN and c.pid in pids
    }
    found = {}
    for kernel, path in connection_files().items():
        try:
            port = json.loads(path.read_text())["shell_port"]
        except (OSError, ValueError, KeyError):
            continue
        if port in listening:
            found[kernel] = listening[port]
    return found


def connection_files() -> dict[str, Path]:
    """Kernel id -> its connection file, in Voila's connection folders."""
    found = {}
    for path in Path(tempfile.gettempdir()).glob("voila_*/kernel-*.json"):
        with_id = re.fullmatch(r"kernel-([0-9a-f-]{36})\.json", path.name)
        if with_id:
            found[with_id.group(1)] = path
    return found


def page_kernel(page) -> str:
    return re.search(r'kernelId": "([0-9a-f-]{36})"', page.content()).group(1)


def open_app(page, url: str) -> None:
    page.goto(url, timeout=120_000)
    page.locator(".ax-headline").wait_for(timeout=120_000)
    page.locator(".vega-embed svg").nth(5).wait_for(timeout=60_000)


def test_a_killed_kernel_tells_its_visitor_and_no_one_else() -> None:
    query = "?requests_per_day=2500000000.0&deployment=bare-metal"
    with voila(APP) as url, browser_page() as page:
        open_app(page, url + query)
        other = page.context.browser.new_page(viewport={"width": 1440, "height": 900})
        open_app(other, url)
        victim = page_kernel(page)
        assert victim != page_kernel(other)
        # the visitor is down at the charts, as one reading them is
        page.locator(".vega-embed svg").nth(5).scroll_into_view_if_needed()
        assert page.evaluate("document.querySelector('.ax-headline').getBoundingClientRect().bottom") < 0
        psutil.Process(kernel_pids(url)[victim]).send_signal(signal.SIGKILL)

        lost = page.locator(".ax-session-lost")
        lost.wait_for(state="visible", timeout=40_000)
        assert "not answering" in lost.inner_text() and "reload" in lost.inner_text().lower()
        # on screen where the visitor is (it was fixed to the notebook's scroll box, and scrolled away),
        # its Reload button the topmost thing at its own centre
        on_top = page.evaluate(
            """() => { const b = document.querySelector('.ax-reload').getBoundingClientRect();
                 const at = document.elementFromPoint(b.x + b.width / 2, b.y + b.height / 2);
                 return b.top >= 0 && b.bottom <= innerHeight && at && at.closest('.ax-reload') !== null; }"""
        )
        assert on_top, "the note's Reload button is off screen or covered"
        assert "Traceback" not in page.inner_text("body")

        # the other visitor is unaffected: the controls still move the answer, and no banner
        headline = other.locator(".ax-headline")
        before = headline.inner_text()
        other.get_by_role("button", name="Edge").click()
        wait_for(lambda: headline.inner_text() != before, what="the other visitor's headline to change")
        assert not other.locator(".ax-session-lost").is_visible()

        # Reload: a new kernel, the same scenario (the address bar holds it)
        page.get_by_role("button", name="Reload").click()
        page.locator(".ax-headline").wait_for(timeout=120_000)
        wait_for(lambda: page_kernel(page) != victim, what="a new kernel")
        assert "requests_per_day=2500000000" in page.evaluate("location.href")
        assert "2.5 B" in page.inner_text("body")
        assert not page.locator(".ax-session-lost").is_visible()


def test_a_visitor_who_leaves_gives_the_kernel_back_at_once() -> None:
    """The page's `beforeunload` beacon shuts its kernel down (it failed with a 403 before serve.py set the
    `_xsrf` cookie it is signed with). Leaving for another page runs the same handler as closing the tab;
    headless Chromium's page.close() does not wait for the beacon, so the test navigates away."""
    with voila(APP, pool_size=0) as url, browser_page() as page:
        open_app(page, url)
        kernel = page_kernel(page)
        assert kernel in kernel_pids(url)
        page.goto("about:blank")
        wait_for(lambda: kernel not in kernel_pids(url), timeout=20, what="the kernel to be shut down")


def test_a_forked_kernel_takes_the_fork_servers_app_and_leaves_its_objects_to_it() -> None:
    """The fork server builds the app before it forks, and a visitor's kernel takes it instead of building
    one (explorer.app.prebuild_app: the page above shows it, and the journeys check what it shows). The
    server freezes what it has built, so a visitor's garbage collections do not write to, and so copy, the
    pages it shares with the fork server (26 % of a visitor's own memory: bench_browser.py --only memory).
    Asked through its own connection file, a served kernel has those objects frozen, and its app is the
    fork server's."""
    from jupyter_client import BlockingKernelClient

    with voila(APP) as url, browser_page() as page:
        open_app(page, url)
        kernel = page_kernel(page)
        client = BlockingKernelClient()
        client.load_connection_file(str(connection_files()[kernel]))
        client.start_channels()
        out: list[str] = []

        def keep(msg) -> None:
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])

        try:
            client.execute_interactive(
                "import gc; print(gc.get_freeze_count(), app.prebuilt)", timeout=60, output_hook=keep
            )
        finally:
            client.stop_channels()
        frozen, prebuilt = "".join(out).split()
        assert int(frozen) > 10_000, "the fork server's objects are frozen in the kernel"
        assert prebuilt == "True", "the kernel took the app the fork server built"

"""The notebooks in a real JupyterLab, offline: widgets and charts render, nothing is fetched from outside."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import REPO
from .servers import browser_page, free_port

pytestmark = pytest.mark.slow


@contextlib.contextmanager
def jupyterlab(root: Path) -> Iterator[str]:
    port = free_port()
    exe = Path(sys.executable).parent / "jupyter"
    log = (REPO / ".pytest_cache" / f"lab-{port}.log").open("w")
    proc = subprocess.Popen(
        [
            str(exe),
            "lab",
            f"--port={port}",
            "--ServerApp.ip=127.0.0.1",
            "--no-browser",
            "--allow-root",
            "--IdentityProvider.token=",
            "--ServerApp.password=",
            "--ServerApp.disable_check_xsrf=True",
            f"--ServerApp.root_dir={root}",
            "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=root,
    )
    try:
        import socket

        deadline = time.monotonic() + 90
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("JupyterLab did not start") from None
                time.sleep(0.3)
        yield f"http://127.0.0.1:{port}/lab/tree/"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_quickstart_renders_charts_and_widgets_offline_in_jupyterlab() -> None:
    with jupyterlab(REPO / "notebooks") as url, browser_page() as page:
        external: list[str] = []
        page.on(
            "request",
            lambda r: (
                external.append(r.url)
                if not r.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:"))
                else None
            ),
        )
        page.goto(url + "quickstart.ipynb", timeout=120_000)
        page.locator(".jp-Notebook").wait_for(timeout=120_000)
        page.wait_for_timeout(2000)  # the kernel connects
        page.locator(".jp-Notebook").click()
        page.keyboard.press("Escape")
        page.get_by_role("menuitem", name="Run").click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        # two charts shown with chart_view, then the explorer's six: eight rendered Vega views
        page.locator(".vega-embed svg").nth(7).wait_for(timeout=180_000)
        page.locator(".ax-headline").wait_for(timeout=30_000)
        errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        tracebacks = [t for t in errors.all_inner_texts() if "Traceback" in t or "Error" in t]
        assert not tracebacks, tracebacks
        page.screenshot(path=str(REPO / ".pytest_cache" / "jupyterlab.png"))
        assert not external, external

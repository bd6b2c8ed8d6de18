"""Start the real parts for tests: a Voila server on loopback, and Debian's Chromium through Playwright."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from .conftest import REPO

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def voila(notebook: Path, *extra: str, timeout: float = 90) -> Iterator[str]:
    """Serve `notebook` with Voila on 127.0.0.1 and yield its URL; the server stops afterwards."""
    from explorer.serve import voila_argv

    port = free_port()
    log = REPO / ".pytest_cache"
    log.mkdir(exist_ok=True)
    logfile = (log / f"voila-{port}.log").open("w")
    proc = subprocess.Popen(
        voila_argv(notebook, port, *extra),
        cwd=REPO,
        stdout=logfile,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"voila exited with {proc.returncode}; see {logfile.name}")
            try:  # listening is enough: the page itself is checked by the test
                with socket.create_connection(("127.0.0.1", port), timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"voila did not answer on {url} in {timeout} s") from None
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        logfile.close()


def chromium_executable() -> str | None:
    """Debian's Chromium if present; else None, after making sure Playwright has its own build."""
    for candidate in (shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and Path(candidate).exists():
            return candidate
    # A user's machine without a system Chromium: Playwright's own download (fails on locked-down networks).
    subprocess.run([sys.executable, "-m", "playwright", "install", "chromium"], check=True)
    return None


@contextlib.contextmanager
def browser_page() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_executable(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            yield page
        finally:
            browser.close()

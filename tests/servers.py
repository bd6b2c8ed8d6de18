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
from typing import Any

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


def wait_for(predicate: Any, timeout: float = 30.0, what: str = "condition") -> None:
    """Poll `predicate` until it is true; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def server_process(port: int) -> Any:
    """The process listening on 127.0.0.1:`port` (a psutil.Process)."""
    import psutil

    return next(
        psutil.Process(c.pid)
        for c in psutil.net_connections("tcp")
        if c.status == psutil.CONN_LISTEN and c.laddr.port == port and c.pid
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(
    argv: list[str],
    port: int,
    name: str,
    *,
    cwd: Path = REPO,
    env: dict[str, str] | None = None,
    timeout: float = 90,
) -> Iterator[str]:
    """Run a server on 127.0.0.1:`port`, wait until it listens, yield its URL, and stop it afterwards.

    Its output goes to .pytest_cache/<name>-<port>.log.
    """
    logdir = REPO / ".pytest_cache"
    logdir.mkdir(exist_ok=True)
    logfile = (logdir / f"{name}-{port}.log").open("w")
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=logfile, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}; see {logfile.name}")
            try:  # listening is enough: the page itself is checked by the test
                with socket.create_connection(("127.0.0.1", port), timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{name} did not answer on {url} in {timeout} s") from None
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        logfile.close()


@contextlib.contextmanager
def voila(notebook: Path, *extra: str, timeout: float = 90, **options: int) -> Iterator[str]:
    """Serve `notebook` with Voila, as `accel-explorer app` does, and yield its URL.

    `options` go to `explorer.serve.voila_argv` (max_sessions, pool_size).
    """
    from explorer.serve import voila_argv

    port = free_port()
    with serving(voila_argv(notebook, port, *extra, **options), port, "voila", timeout=timeout) as url:
        yield url


def jupyter_argv(bin_dir: Path, command: str, port: int, *extra: str) -> list[str]:
    """`jupyter <command>` (lab, server) on 127.0.0.1 with no token, as the tests run it."""
    return [
        str(bin_dir / "jupyter"),
        command,
        f"--port={port}",
        "--ServerApp.ip=127.0.0.1",
        "--no-browser",
        "--allow-root",
        "--IdentityProvider.token=",
        "--ServerApp.password=",
        *extra,
    ]


def record_external_requests(page: Any) -> list[str]:
    """Every request the page makes to anything but this machine (the app must make none)."""
    local = ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")
    external: list[str] = []
    page.on("request", lambda r: external.append(r.url) if not r.url.startswith(local) else None)
    return external


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

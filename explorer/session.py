"""A visitor's session in the public app: no traceback reaches the browser; a clear word if the kernel goes.

Voila's ``show_tracebacks=False`` covers only the notebook's own cells. Two other paths reached the browser
with a full traceback (file paths, library versions) whatever it says:

- errors in widget messages (a wrong-typed value, a malformed comm message, an exception in an observer)
  are logged by the kernel's comm manager, and the kernel's stderr goes to the browser;
- an exception in a callback run inside an ``Output`` widget, or in a button's ``on_click``, is shown with
  ``showtraceback``;
- Python warnings (a NaN forged as a slider's value made numpy warn) are written to stderr with the file
  and line that warned, a ``site-packages`` path.

`harden_kernel` sends all three to the server log instead (the kernel's own stderr, which Voila's log gets)
and leaves the visitor a short message. `SessionWatch` notices when the kernel behind the page has gone
(restarted, culled, crashed, server stopped) and says so, with a reload button: the address bar always
holds the scenario (see `explorer.share.LinkBar`), so reloading loses nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import threading
import traceback
import warnings
from pathlib import Path
from typing import Any, TextIO

import anywidget
import traitlets

FRIENDLY = (
    "Something went wrong on the server while handling that. Nothing you entered is lost; "
    "if the page stops responding, reload it."
)

_log = logging.getLogger("explorer.session")


def under_voila() -> bool:
    """True in a kernel started by Voila (the public app), False in JupyterLab or plain Python."""
    return "VOILA_BASE_URL" in os.environ


def _server_log() -> TextIO:
    """A stream to the kernel process's original stderr: the server's log, and only the server's.

    ipykernel (6.x, ``capture_fd_output``) points file descriptor 2 at a pipe whose contents it forwards to
    the browser, so ``sys.__stderr__`` is not private either; the kernel's stderr stream keeps a copy of the
    original descriptor, which is the server's log.
    """
    original = getattr(sys.stderr, "_original_stdstream_copy", None)
    if isinstance(original, int):
        return os.fdopen(os.dup(original), "w", buffering=1, encoding="utf-8", errors="replace")
    return sys.__stderr__


def get_query_string() -> str:
    """The visitor's query string: what ``voila.utils.get_query_string`` does, without importing voila.

    A pre-started kernel (``VOILA_PREHEAT=True``) waits here until a visitor is given it: the server then
    sends the visitor's request over ``/voila/query/<kernel id>``. Importing ``voila.utils`` pulls in
    jupyter_server, half a CPU-second in every kernel, which a room arriving at once pays forty times over.
    Outside a pre-started kernel, the query string is in the environment (or there is none).
    """
    if os.environ.get("VOILA_PREHEAT", "False") == "False":
        return os.environ.get("QUERY_STRING", "")
    base = os.environ.get("VOILA_WS_BASE_URL", os.environ.get("VOILA_SERVER_URL", "/"))
    url = (
        f"{os.environ.get('VOILA_WS_PROTOCOL', 'ws')}://{os.environ.get('VOILA_APP_IP', '127.0.0.1')}:"
        f"{os.environ.get('VOILA_APP_PORT', '8866')}{base}voila/query/{os.environ.get('VOILA_KERNEL_ID')}"
    )
    received: list[Any] = []

    async def fetch() -> None:
        import websockets

        async with websockets.connect(url, open_timeout=5) as ws:
            received.append(await ws.recv())

    def wait() -> None:  # in a thread of its own: the kernel's own event loop is running in this one
        try:
            asyncio.run(fetch())
        except Exception as err:  # refused or unreachable: the visitor gets the default scenario
            print(f"[explorer kernel {os.getpid()}] no request info from {url}: {err!r}", file=_server_log())

    thread = threading.Thread(target=wait, name="voila-request-info")
    thread.start()
    thread.join()
    if received:
        for key, value in json.loads(received[0]).items():
            os.environ[key] = value
    return os.environ.get("QUERY_STRING", "")


def harden_kernel(shell: Any = None) -> bool:
    """Keep tracebacks out of the browser in this kernel; True if it was done (there is an IPython kernel).

    Idempotent. Only for the public app: in JupyterLab an engineer wants the traceback.
    """
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:  # pragma: no cover - IPython comes with ipykernel
            return False
        shell = get_ipython()
    if shell is None or getattr(shell, "_explorer_hardened", False):
        return shell is not None
    # Log records (the comm manager's "Exception in comm_msg ..." among them) go to the server's log, not to
    # sys.stderr, which the kernel forwards to the browser.
    server_log = _server_log()
    root = logging.getLogger()
    handler = logging.StreamHandler(server_log)
    handler.setFormatter(
        logging.Formatter("[explorer kernel %(process)d] %(levelname)s %(name)s: %(message)s")
    )
    root.addHandler(handler)

    def showtraceback(exc_tuple: Any = None, *args: Any, **kwargs: Any) -> None:
        etype, value, tb = exc_tuple if exc_tuple else sys.exc_info()
        if etype is not None and issubclass(etype, KeyboardInterrupt):
            # no browser can interrupt the app's kernel (the server refuses it): the server is stopping
            print(f"[explorer kernel {os.getpid()}] interrupted: the server is stopping", file=server_log)
            return
        text = "".join(traceback.format_exception(etype, value, tb)) if etype else "(no exception)"
        print(
            f"[explorer kernel {os.getpid()}] error shown to a visitor as a message:\n{text}", file=server_log
        )
        print(FRIENDLY, file=sys.stdout)

    def showwarning(
        message: Any, category: Any, filename: str, lineno: int, file: Any = None, line: Any = None
    ) -> None:
        text = warnings.formatwarning(message, category, filename, lineno, line)
        print(f"[explorer kernel {os.getpid()}] warning: {text}", end="", file=server_log)

    shell.showtraceback = showtraceback
    warnings.showwarning = showwarning
    shell._explorer_hardened = True
    return True


# the page side, in its own file (explorer/js/, parsed by tests/test_js.py); anywidget reads it once
_WATCH_ESM = Path(__file__).with_name("js") / "session_watch.js"

_WATCH_CSS = """
.ax-session-lost { position: fixed; inset: 0; z-index: 1000; display: flex; flex-direction: column;
  align-items: center; justify-content: center; gap: 1rem; background: #fff;
  font-size: 1.1rem; text-align: center; padding: 2rem; }
.ax-session-lost[hidden] { display: none; }
.ax-session-lost p { max-width: 34rem; }
"""


class SessionWatch(anywidget.AnyWidget):
    """Answers the page's pings; the page shows 'session ended, reload' when answers stop coming."""

    _esm = _WATCH_ESM
    _css = _WATCH_CSS
    interval_ms = traitlets.Int(3000).tag(sync=True)
    timeout_ms = traitlets.Int(10000).tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.on_msg(self._pong)

    def _pong(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and isinstance(content.get("ping"), int):
            self.send({"pong": content["ping"]})

"""How the app is served: one command line, used by `accel-explorer app`, `make app` and the tests.

It runs standalone Voila (not the Jupyter server extension), which runs the app notebook with its code hidden,
drops code-execution requests from browsers (only widget messages reach a visitor's kernel), and uses the
``accel-explorer`` template: Voila's lab template without its CDN links, so the page fetches nothing from the
internet. On top of Voila's own settings, `ExplorerVoila` adds what a public server needs and Voila lacks: a
cap on visitor kernels, past which a visitor gets a short "busy, try again" page instead of a kernel, and
guards against what one visitor could do to the others (each found by an attack on the real server; the
regression tests are tests/test_hardening.py and tests/adversarial/):

- a websocket frame is checked before jupyter_server deserializes it: a forged count of parts made its
  deserializers loop (or allocate) in proportion to the count, freezing the server for everyone;
- `/voila/query/<kernel id>` (how a pre-started kernel learns its visitor's query string) is answered only to
  a pre-started kernel that exists, once, one socket at a time: Voila's handler let anyone open it for any id
  and, on close, deleted another kernel's entry, leaving the next visitor a kernel that never finished;
- a kernel that no browser connects to within `connect_seconds` of its page being sent is reclaimed, and one
  client address holds at most `pages_per_client` pages that no browser has connected to: plain GETs cannot
  fill the cap;
- kernels are not restarted after dying (a restarted kernel is empty: its page never finishes); a dead kernel
  is removed, and a dead pre-started kernel is replaced, checked again just before one is handed out;
- a query string longer than `MAX_QUERY_BYTES` or with more than `MAX_QUERY_FIELDS` fields gets a clear
  error page (tornado answered a blank 400, or dropped the connection);
- `?theme=` and `?template=` (ignored: overrides are off) no longer make Voila skip the pre-started pool;
- under a burst of arrivals the pre-started pool grows (up to `pool_max`), so that a room arriving together
  finds kernels ready, and shrinks back once the burst is over; kernels are forks of a process that has
  imported everything and built the app once (`explorer.forkserver`, ``fork_kernels``), a quarter of the
  CPU of a new process.

The public deployment is this standalone server. Voila as a Jupyter server extension (Binder, JupyterHub)
applies no filter on code-execution requests: there, each user owns their server, and the hub is what keeps
users apart (see ``explorer/deploy/README.md``).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import re
import shutil
import struct
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

APP_NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "app.ipynb"
TEMPLATE = "accel-explorer"

# Defaults chosen from the load test (tests/load/run.py; figures in explorer/deploy/README.md).
MAX_SESSIONS = 60
POOL_SIZE = 2
IDLE_MINUTES = 15
CONNECT_SECONDS = 30  # a page's kernel that no browser connects to within this is reclaimed
PAGES_PER_CLIENT = 10  # pages one client address may hold that no browser has connected to yet
POOL_MAX = 8  # the most pre-started kernels kept during a burst of arrivals

# Requests: a link to the app carries a scenario in a few hundred bytes; anything far beyond is refused early.
MAX_QUERY_BYTES = 16 * 1024
MAX_QUERY_FIELDS = 256
MAX_HEADER_BYTES = 512 * 1024  # tornado's own limit (64 KB) dropped the connection without a word
# Websocket frames: tornado's default limit, made explicit; parts per kernel message (5 + its buffers).
MAX_FRAME_BYTES = 10 * 1024 * 1024
MAX_FRAME_PARTS = 1024
V1_PROTOCOL = "v1.kernel.websocket.jupyter.org"

CELL_ERROR = (
    "The app could not finish loading. Reload the page to try again; if it happens again, please tell "
    "whoever runs this server (the details are in its log)."
)

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


def voila_argv(
    notebook: Path | str = APP_NOTEBOOK,
    port: int = 8866,
    *extra: str,
    ip: str = "127.0.0.1",
    max_sessions: int = MAX_SESSIONS,
    pool_size: int = POOL_SIZE,
    idle_seconds: int = IDLE_MINUTES * 60,
    connect_seconds: int = CONNECT_SECONDS,
    pages_per_client: int = PAGES_PER_CLIENT,
    pool_max: int = POOL_MAX,
    fork_kernels: bool = True,
) -> list[str]:
    """The command line that serves `notebook` for the public; `extra` arguments go to Voila last."""
    preheat = ["--preheat_kernel=True", f"--pool_size={pool_size}"] if pool_size > 0 else []
    return [
        sys.executable,
        "-m",
        "explorer.serve",
        str(notebook),
        f"--port={port}",
        f"--Voila.ip={ip}",
        # Fail loudly if the port is taken: Voila would otherwise move to another port without a word.
        "--Voila.port_retries=0",
        "--no-browser",
        f"--template={TEMPLATE}",
        "--VoilaConfiguration.show_tracebacks=False",
        # What a visitor reads in place of a cell's traceback (Voila's default tells them to restart the
        # server with --show_tracebacks=True); the traceback itself goes to the server's log.
        f"--VoilaExecutor.cell_error_instruction={CELL_ERROR}",
        "--VoilaConfiguration.strip_sources=True",
        # A visitor's ?theme= was written into the page unescaped (script injection) and ?template=<missing>
        # hung the request and left a kernel behind: the app uses its own template and theme, always.
        "--VoilaConfiguration.allow_theme_override=NO",
        "--VoilaConfiguration.allow_template_override=NO",
        # The app serves no files of its own: nothing from the folder is readable through /voila/files.
        # (a list with one pattern, which matches nothing; not "(?!)", which traitlets reads as a tuple)
        "--VoilaConfiguration.file_allowlist",
        r"\A(?!)",
        # Kernels of visitors who left without closing the tab are shut down once idle (a closed tab shuts
        # its kernel down at once). Pre-started kernels are never culled.
        f"--MappingKernelManager.cull_idle_timeout={idle_seconds}",
        f"--MappingKernelManager.cull_interval={min(60, max(idle_seconds // 4, 1))}",
        # Pre-started kernels: the notebook has already run when a visitor arrives; the visitor's query
        # string reaches it through voila.utils.get_query_string().
        *preheat,
        # A kernel that dies is not restarted: a restarted kernel is empty (the notebook does not run again),
        # and a pre-started one would be handed to a visitor whose page never finishes. The server's sweep
        # removes dead kernels, replaces dead pre-started ones, and the visitor's page says "session ended,
        # reload" (explorer.session.SessionWatch).
        "--KernelManager.autorestart=False",
        f"--ExplorerVoila.max_sessions={max_sessions}",
        f"--ExplorerVoila.connect_seconds={connect_seconds}",
        f"--ExplorerVoila.pages_per_client={pages_per_client}",
        f"--ExplorerVoila.pool_max={pool_max}",
        # Kernels are forks of a process that has imported everything already (explorer.forkserver).
        f"--ExplorerVoila.fork_kernels={fork_kernels}",
        *extra,
    ]


_KERNEL_ID = re.compile(r'kernelId": "([0-9a-f-]{36})"')


def _explorer_voila():  # voila is imported only when serving
    from tornado import httputil, web
    from tornado.ioloop import PeriodicCallback
    from traitlets import Bool, Integer
    from voila.app import Voila
    from voila.request_info_handler import RequestInfoSocketHandler
    from voila.static_file_handler import TemplateStaticFileHandler
    from voila.tornado.handler import TornadoVoilaHandler
    from voila.tornado.kernel_websocket_handler import VoilaKernelWebsocketHandler

    def page(handler: web.RequestHandler, status: int, title: str, message: str) -> None:
        handler.set_status(status)
        handler.set_header("Cache-Control", "no-store")
        handler.set_header("Content-Type", "text/html; charset=utf-8")
        handler.finish(REFUSED_PAGE.format(title=title, message=html.escape(message), home=_home(handler)))

    def _home(handler: web.RequestHandler) -> str:
        """The app's own address as a path on this server: never `//host/...`, which leaves the origin."""
        return "/" + handler.settings.get("base_url", "/").strip("/")

    class CappedVoilaHandler(TornadoVoilaHandler):
        """Voila's page handler; past the cap, a new visitor gets a friendly page (HTTP 503), no kernel."""

        @web.authenticated
        async def get(self, path=None):
            app: ExplorerVoila = self.settings["explorer_voila"]
            client = self.request.remote_ip or "?"
            if self.notebook_path and path:  # Voila redirected any other path to /voila/files/ (refused)
                page(self, 404, "No such page", "This server shows one page, the explorer.")
                return
            if app.sessions() >= app.max_sessions:
                self.log.warning("Busy: %d visitor kernels, cap %d", app.sessions(), app.max_sessions)
                self.set_status(503)
                self.set_header("Retry-After", "30")
                self.set_header("Cache-Control", "no-store")
                self.set_header("Content-Type", "text/html; charset=utf-8")
                # the same page again, as a path on this server (a request for `//evil.invalid/x` must not
                # send the visitor to another site)
                again = _home(self) + (f"?{self.request.query}" if self.request.query else "")
                again = html.escape(again, quote=True)
                self.finish(BUSY_PAGE.format(cap=app.max_sessions, retry=30, again=again))
                return
            if app.unconnected_pages(client) >= app.pages_per_client:
                self.log.warning(
                    "Refused a page to %s: %d pages no browser opened", client, app.pages_per_client
                )
                self.set_header("Retry-After", str(app.connect_seconds))
                page(
                    self,
                    429,
                    "Too many pages at once",
                    f"This address has {app.pages_per_client} pages of the explorer that no browser has "
                    f"opened yet. Open one of them, or wait {app.connect_seconds} seconds and reload.",
                )
                return
            app.arrived()
            # Voila's page sends a beacon on closing to shut its kernel down at once, signed with the `_xsrf`
            # cookie, which voila 0.5 never sets: without this line the beacon gets a 403 and a closed tab's
            # kernel lingers until it is culled.
            _ = self.xsrf_token
            # What TornadoVoilaHandler.get does, plus the count of pages in the making: a page is counted
            # as starting until its first part is sent, which Voila does once the page has its kernel
            # (from then on the kernel itself is counted).
            app.starting += 1
            starting, kernel_id, head = True, None, ""
            try:
                await app.prune_pool(handing_out=True)  # a dead pre-started kernel is never handed out
                async for part in self.get_generator(path=path):
                    if starting:
                        app.starting -= 1
                        starting = False
                    if kernel_id is None and len(head) < 1_000_000:
                        head += part
                        found = _KERNEL_ID.search(head)
                        if found:
                            kernel_id = found.group(1)
                            app.page_started(kernel_id, client)
                    self.write(part)
                    self.flush()
            finally:
                if starting:
                    app.starting -= 1
                if kernel_id is not None:
                    app.page_sent(kernel_id)

        def should_use_rendered_notebook(self, notebook_data, pool_size, template_name, theme, request_args):
            # ?template= and ?theme= are ignored (overrides are off), so they must not cost a cold kernel
            return super().should_use_rendered_notebook(notebook_data, pool_size, None, None, request_args)

    class GuardedTemplateStaticFileHandler(TemplateStaticFileHandler):
        """Voila's template files: a malformed path was an AssertionError (HTTP 500); now a 404."""

        def parse_url_path(self, path):
            template, static, rest = ([*path.split("/", 2), "", ""])[:3]
            if (
                static != "static"
                or not re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*", template)
                or ".." in rest.replace("\\", "/").split("/")
            ):
                raise web.HTTPError(404)
            return super().parse_url_path(path)

    class GuardedKernelWebsocketHandler(VoilaKernelWebsocketHandler):
        """The kernel websocket: frames are checked before they are deserialized; connections are noted."""

        async def open(self, kernel_id):
            self.settings["explorer_voila"].connected.add(kernel_id)
            return await super().open(kernel_id)

        def on_message(self, ws_message):
            problem = frame_problem(ws_message, self.selected_subprotocol)
            if problem is not None:
                self.log.warning("Dropped a websocket frame for kernel %s: %s", self.kernel_id, problem)
                return None
            return super().on_message(ws_message)

    class GuardedRequestInfoHandler(RequestInfoSocketHandler):
        """How a pre-started kernel learns its visitor's request: only for such a kernel, once, one socket."""

        async def get(self, kernel_id, *args, **kwargs):
            app: ExplorerVoila = self.settings["explorer_voila"]
            if not app.may_ask_request_info(kernel_id):
                app.log.warning("Refused /voila/query/ for %s: not a pre-started kernel waiting", kernel_id)
                raise web.HTTPError(403)
            app.request_info_asked.add(kernel_id)
            return await super().get(kernel_id, *args, **kwargs)

        def open(self, kernel_id: str) -> None:
            self.kernel_id = kernel_id
            RequestInfoSocketHandler._waiters[kernel_id] = self
            if kernel_id in RequestInfoSocketHandler._cache:
                self.write_message(RequestInfoSocketHandler._cache.pop(kernel_id))

        def on_close(self) -> None:
            # Voila's own deleted whichever entry its loop ended on when this socket was not found
            kernel_id = getattr(self, "kernel_id", None)
            if RequestInfoSocketHandler._waiters.get(kernel_id) is self:
                del RequestInfoSocketHandler._waiters[kernel_id]

    class QueryGuard(httputil.HTTPMessageDelegate):
        """Refuses an over-long query string with a page, before tornado parses it (its own answer to more
        than 1,000 fields was a blank 400; past its header limit, a dropped connection)."""

        def __init__(self, inner: httputil.HTTPMessageDelegate, connection: Any, base_url: str) -> None:
            self.inner, self.connection, self.base_url, self.refused = inner, connection, base_url, False

        def headers_received(self, start_line, headers):
            problem = query_problem(start_line.path.partition("?")[2])
            if problem is None:
                return self.inner.headers_received(start_line, headers)
            self.refused = True
            title = "This link is too long"
            body = REFUSED_PAGE.format(title=title, message=html.escape(problem), home=self.base_url).encode()
            self.connection.write_headers(
                httputil.ResponseStartLine("HTTP/1.1", 414, "URI Too Long"),
                httputil.HTTPHeaders(
                    {
                        "Content-Type": "text/html; charset=utf-8",
                        "Content-Length": str(len(body)),
                        "Cache-Control": "no-store",
                        "Connection": "close",
                    }
                ),
                body,
            )
            self.connection.finish()
            return None

        def data_received(self, chunk):
            return None if self.refused else self.inner.data_received(chunk)

        def finish(self):
            if not self.refused:
                self.inner.finish()

        def on_connection_close(self):
            if not self.refused:
                self.inner.on_connection_close()

    class ExplorerVoila(Voila):
        """Voila with a cap on the number of visitor kernels (pre-started kernels are not counted), and the
        guards listed in this module's docstring."""

        max_sessions = Integer(
            MAX_SESSIONS,
            config=True,
            help="Most visitors served at once; past it a visitor gets a 'busy, try again' page (HTTP 503).",
        )
        connect_seconds = Integer(
            CONNECT_SECONDS,
            config=True,
            help="A page's kernel that no browser connects to within this many seconds is shut down.",
        )
        pages_per_client = Integer(
            PAGES_PER_CLIENT,
            config=True,
            help="Pages one client address may hold that no browser has connected to (HTTP 429 past it).",
        )
        pool_max = Integer(
            POOL_MAX,
            config=True,
            help="Most pre-started kernels while visitors arrive in a burst (the pool grows with arrivals).",
        )
        fork_kernels = Bool(
            True,
            config=True,
            help="Start kernels as forks of a process that has imported the app already (a fraction of the "
            "CPU of a new process); off: each kernel is a new process.",
        )
        starting = 0
        stopping = False

        def initialize(self, argv: Any = None) -> None:
            super().initialize(argv)
            if self.fork_kernels:
                from . import forkserver

                forkserver.install()
            self.owner: dict[str, str] = {}  # kernel id -> client address of its page
            self.sent_at: dict[str, float] = {}  # kernel id -> when its page was sent
            self.connected: set[str] = set()  # kernel ids a browser has connected to
            self.request_info_asked: set[str] = set()
            self.arrivals: deque[float] = deque()
            self.pool_base: int | None = None  # the configured pool size (the kernel manager comes later)

        # -- counting ---------------------------------------------------------------------------------

        def pooled_ids(self) -> set[str]:
            # Voila keeps its pre-started kernels as tasks in `_pools` (no public accessor): a done task is
            # a started kernel that no visitor holds yet.
            pools = getattr(self.kernel_manager, "_pools", {}).values()
            return {
                task.result()["kernel_id"]
                for pool in pools
                for task in pool
                if task.done() and not task.cancelled() and not task.exception()
            }

        def sessions(self) -> int:
            """Visitor kernels (those whose page was sent, or any running kernel beyond the pre-started
            pool, counting kernels still starting for it), plus pages being made."""
            km = self.kernel_manager
            running = set(km.list_kernel_ids())
            beyond_pool = (
                len(running)
                - len(self.pooled_ids())
                - sum(1 for pool in getattr(km, "_pools", {}).values() for task in pool if not task.done())
            )
            return max(len(running & set(self.owner)), beyond_pool, 0) + self.starting

        def unconnected_pages(self, client: str) -> int:
            """Pages sent to `client` whose kernel no browser has connected to yet. (Pages still being made
            are not counted: in a room arriving at once, behind one address, many wait together; they count
            against the cap on visitors.)"""
            running = set(self.kernel_manager.list_kernel_ids())
            return sum(
                1
                for k, c in self.owner.items()
                if c == client and k in self.sent_at and k not in self.connected and k in running
            )

        def page_started(self, kernel_id: str, client: str) -> None:
            self.owner[kernel_id] = client

        def page_sent(self, kernel_id: str) -> None:
            self.sent_at[kernel_id] = time.monotonic()

        def may_ask_request_info(self, kernel_id: str) -> bool:
            km = self.kernel_manager
            preheated = any(kernel_id in d.get("kernel_ids", ()) for d in km.notebook_data.values())
            return (
                preheated
                and kernel_id in km.list_kernel_ids()
                and kernel_id not in self.request_info_asked
                and kernel_id not in RequestInfoSocketHandler._waiters
            )

        # -- the pool ---------------------------------------------------------------------------------

        def _pool_size(self) -> int:
            config = getattr(self.kernel_manager, "kernel_pools_config", {}).get("default", {})
            return int(config.get("pool_size", 0))

        def arrived(self) -> None:
            """A visitor asks for a page: in a burst, the pool grows so that the next ones find kernels."""
            now = time.monotonic()
            self.arrivals.append(now)
            self._resize_pool(now)

        def _resize_pool(self, now: float) -> None:
            km = self.kernel_manager
            if self.stopping:
                return
            if self.pool_base is None:
                self.pool_base = self._pool_size()
            if self.pool_base <= 0 or not hasattr(km, "fill_if_needed"):
                return
            while self.arrivals and now - self.arrivals[0] > 60:
                self.arrivals.popleft()
            # one more pre-started kernel per two arrivals in the last minute, up to pool_max
            target = min(max(self.pool_max, self.pool_base), self.pool_base + len(self.arrivals) // 2)
            if target != self._pool_size():
                km.kernel_pools_config["default"]["pool_size"] = target
                self.log.info(
                    "Pre-started pool: %d kernels (%d arrivals in a minute)", target, len(self.arrivals)
                )
            if km._pools:
                for name in list(km._pools):
                    km.fill_if_needed(delay=0, notebook_name=name)

        async def _alive(self, kernel_id: str) -> bool:
            try:
                return bool(await self.kernel_manager.get_kernel(kernel_id).is_alive())
            except Exception:  # gone from the map, or its process cannot be polled
                return False

        async def _shutdown(self, kernel_id: str, why: str) -> None:
            self.owner.pop(kernel_id, None)
            self.sent_at.pop(kernel_id, None)
            if kernel_id not in self.kernel_manager.list_kernel_ids():
                return  # already shut down (a visitor who left, while this was looking)
            self.log.warning("Shutting kernel %s down: %s", kernel_id, why)
            try:
                await self.kernel_manager.shutdown_kernel(kernel_id, now=True)
            except Exception as err:  # already gone
                self.log.info("Kernel %s was already gone (%s)", kernel_id, err)

        async def _healthy(self, task: Any) -> bool:
            """A finished pool task holds a live kernel whose notebook has not failed."""
            if task.cancelled() or task.exception() is not None:
                return False
            content = task.result()
            render = content.get("task")
            if render is not None and render.done() and (render.cancelled() or render.exception()):
                return False
            return await self._alive(content["kernel_id"])

        async def _discard(self, name: str, pool: list, task: Any) -> None:
            if task in pool:
                pool.remove(task)
            if not task.cancelled() and task.exception() is None:
                await self._shutdown(task.result()["kernel_id"], "a pre-started kernel that died")
            else:
                self.log.warning("A pre-started kernel failed to start")
            if not self.stopping:
                self.kernel_manager.fill_if_needed(delay=0, notebook_name=name)

        async def prune_pool(self, handing_out: bool = False) -> None:
            """Remove dead or failed pre-started kernels from the pool, and start their replacements.

            `handing_out`: a visitor is about to be given the first one, so wait for it to be started and
            make sure it is alive (a kernel can die while starting, too).
            """
            km = self.kernel_manager
            for name, pool in list(getattr(km, "_pools", {}).items()):
                for task in [t for t in pool if t.done()]:
                    if not await self._healthy(task):
                        await self._discard(name, pool, task)
                for _ in range(len(pool) + 2 if handing_out else 0):
                    if not pool:
                        break
                    first = pool[0]
                    if not first.done():
                        with contextlib.suppress(Exception):
                            await asyncio.wait_for(asyncio.shield(first), 120)
                    if not first.done() or await self._healthy(first):
                        break
                    await self._discard(name, pool, first)

        # -- the sweep --------------------------------------------------------------------------------

        async def sweep(self) -> None:
            """Every few seconds: replace dead pooled kernels, remove dead ones, reclaim unopened pages."""
            try:
                await self._sweep()
            except Exception:
                self.log.exception("The explorer's sweep failed")

        async def _sweep(self) -> None:
            if self.stopping:
                return
            km = self.kernel_manager
            now = time.monotonic()
            await self.prune_pool()
            self._resize_pool(now)
            await self._shrink_pool()
            running = set(km.list_kernel_ids())
            pooled = self.pooled_ids()
            for kernel_id in running - pooled:
                if not await self._alive(kernel_id):
                    await self._shutdown(kernel_id, "its process has died")
                    continue
                sent = self.sent_at.get(kernel_id)
                if sent is not None and kernel_id not in self.connected and now - sent > self.connect_seconds:
                    await self._shutdown(
                        kernel_id, f"no browser connected within {self.connect_seconds} s of its page"
                    )
            running = set(km.list_kernel_ids())
            for table in (self.owner, self.sent_at):
                for kernel_id in list(table):
                    if kernel_id not in running:
                        del table[kernel_id]
            self.connected &= running
            self.request_info_asked &= running

        async def _shrink_pool(self) -> None:
            """Once a burst is over, shut down the pre-started kernels beyond the target (their memory)."""
            km = self.kernel_manager
            target = self._pool_size()
            for pool in getattr(km, "_pools", {}).values():
                ready = [t for t in pool if t.done() and not t.exception()]
                while len(pool) > target and ready:
                    task = ready.pop()
                    if task not in pool:  # handed to a visitor meanwhile
                        continue
                    pool.remove(task)
                    content = task.result()
                    if content.get("task") is not None:
                        content["task"].cancel()  # its notebook waits for a visitor who will not come
                    await self._shutdown(content["kernel_id"], "the pre-started pool shrinks")

        # -- wiring -----------------------------------------------------------------------------------

        def init_settings(self) -> dict:
            return {
                **super().init_settings(),
                "explorer_voila": self,
                "websocket_max_message_size": MAX_FRAME_BYTES,
            }

        def init_handlers(self) -> list:
            replace = {
                TornadoVoilaHandler: CappedVoilaHandler,
                VoilaKernelWebsocketHandler: GuardedKernelWebsocketHandler,
                RequestInfoSocketHandler: GuardedRequestInfoHandler,
                TemplateStaticFileHandler: GuardedTemplateStaticFileHandler,
            }
            return [(h[0], replace.get(h[1], h[1]), *h[2:]) for h in super().init_handlers()]

        def stop(self) -> None:
            self.stopping = True  # no more kernels: the sweep stops, the pool is not refilled
            if getattr(self, "_sweeper", None) is not None:
                self._sweeper.stop()
            try:
                super().stop()
            except Exception as err:  # a kernel that went while the server was stopping
                self.log.warning("While stopping: %s", err)
            # Voila removes its folder of connection files before shutting the kernels down; a kernel
            # started meanwhile (a pool refill) wrote it again, and it was left in /tmp
            shutil.rmtree(self.connection_dir, ignore_errors=True)

        def listen(self) -> None:
            app, listen, start_request = self.app, self.app.listen, self.app.start_request
            home = "/" + self.base_url.strip("/")

            def guarded_start_request(server_conn: Any, request_conn: Any) -> Any:
                return QueryGuard(start_request(server_conn, request_conn), request_conn, home)

            app.start_request = guarded_start_request
            app.listen = lambda port, address="", **kw: listen(
                port, address, max_header_size=MAX_HEADER_BYTES, **kw
            )
            interval = max(0.5, min(5.0, self.connect_seconds / 3))
            self._sweeper = PeriodicCallback(self.sweep, interval * 1000)
            self._sweeper.start()
            super().listen()

    return ExplorerVoila


def main(argv: list[str] | None = None) -> None:
    """`python -m explorer.serve NOTEBOOK [voila options]`: what `voila_argv` runs."""
    from .startup import prepare_process

    prepare_process()
    _explorer_voila().launch_instance(argv=argv)


if __name__ == "__main__":
    main()

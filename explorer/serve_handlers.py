"""The public server's request handlers: Voila's own, each with a guard (see explorer.serve's docstring).

Imports Voila: imported only when serving (by explorer.serve_app)."""

from __future__ import annotations

import html
import re
import time
from typing import TYPE_CHECKING, Any

from tornado import httputil, web
from tornado.httpserver import HTTPServer
from tornado.iostream import StreamBufferFullError
from tornado.log import app_log
from voila.request_info_handler import RequestInfoSocketHandler
from voila.static_file_handler import TemplateStaticFileHandler
from voila.tornado.handler import TornadoVoilaHandler
from voila.tornado.kernel_websocket_handler import VoilaKernelWebsocketHandler

from .serve_limits import (
    BUSY_PAGE,
    REFUSED_PAGE,
    REQUEST_STATES_SECONDS,
    SeenMessages,
    frame_problem,
    message_key,
    query_problem,
)

if TYPE_CHECKING:
    from .serve_app import ExplorerVoila

_KERNEL_ID = re.compile(r'kernelId": "([0-9a-f-]{36})"')


def page(handler: web.RequestHandler, status: int, title: str, message: str) -> None:
    handler.set_status(status)
    handler.set_header("Cache-Control", "no-store")
    handler.set_header("Content-Type", "text/html; charset=utf-8")
    handler.finish(REFUSED_PAGE.format(title=title, message=html.escape(message), home=_home(handler)))


def _home(handler: web.RequestHandler) -> str:
    """The app's own address as a path on this server: never `//host/...`, which leaves the origin."""
    return "/" + handler.settings.get("base_url", "/").strip("/")


def client_address(handler: web.RequestHandler) -> str:
    """The visitor's address: the peer's, or, where the peer is a trusted reverse proxy
    (``ExplorerVoila.trusted_proxies``), the last address in its X-Forwarded-For (the one it added)."""
    peer = handler.request.remote_ip or "?"
    forwarded = handler.request.headers.get("X-Forwarded-For", "")
    if forwarded and peer in handler.settings["explorer_voila"].trusted():
        return forwarded.rsplit(",", 1)[-1].strip() or peer
    return peer


class CappedVoilaHandler(TornadoVoilaHandler):
    """Voila's page handler; past the cap, a new visitor gets a friendly page (HTTP 503), no kernel."""

    @web.authenticated
    async def get(self, path=None):
        app: ExplorerVoila = self.settings["explorer_voila"]
        client = client_address(self)
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
        if app.client_sessions(client) >= app.sessions_per_client:
            self.log.warning("Refused a page to %s: it holds %d kernels", client, app.sessions_per_client)
            self.set_header("Retry-After", "60")
            page(
                self,
                429,
                "Too many pages at once",
                f"This address has {app.sessions_per_client} pages of the explorer open. Close one (its "
                "tab), then reload this page; a tab left open elsewhere is reclaimed a few minutes after "
                "it goes.",
            )
            return
        if app.unconnected_pages(client) >= app.pages_per_client:
            self.log.warning("Refused a page to %s: %d pages no browser opened", client, app.pages_per_client)
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
            or not rest
            or not re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*", template)
            or ".." in rest.replace("\\", "/").split("/")
        ):
            raise web.HTTPError(404)
        return super().parse_url_path(path)


class ChartBundleHandler(web.RequestHandler):
    """The offline chart code as files (``explorer.bundle_files``): ``<digest>.js``, a bundle, the same for
    every page, cached by the browser for a year (its name changes with its content); ``current.js``, a
    module that imports the bundle this machine's kernels use, which the page's template imports first, so
    that the browser fetches and compiles Vega while the page loads (never cached: a new install changes
    it). Anything else under the route is a 404, as is ``current.js`` where the server could not make the
    file at start (the runtime widget then carries the code)."""

    def initialize(self, current: str | None, code: bytes | None = None) -> None:
        self.current = current  # the digest of the bundle this install's kernels use, made at start
        self.code = code  # that bundle, read at start

    def get(self, name: str) -> None:
        from . import bundle_files

        self.set_header("Content-Type", "text/javascript; charset=utf-8")
        self.set_header("X-Content-Type-Options", "nosniff")
        if name == "current":
            digest = self.current
            if digest is None:
                raise web.HTTPError(404)
            self.set_header("Cache-Control", "no-cache")
            self.finish(f'import "./{digest}.js";\n')
            return
        code = self.code if name == self.current else None
        if code is None:
            path = bundle_files.path_of(name)
            if path is None:
                raise web.HTTPError(404)
            code = path.read_bytes()
        self.set_header("Cache-Control", "public, max-age=31536000, immutable")
        self.finish(code)


class GuardedKernelWebsocketHandler(VoilaKernelWebsocketHandler):
    """The kernel websocket: at most ``sockets_per_kernel`` at once; frames checked before they are
    deserialized (``frame_problem``), a message sent again refused (``message_key``: the kernel would log
    a traceback for each), and one that is not a kernel message dropped; the widgets' states asked for at
    most once every ``REQUEST_STATES_SECONDS``; a browser that does not read is dropped once
    ``MAX_WRITE_BUFFER_BYTES`` wait for it; connections are noted (``ExplorerVoila.socket_opened`` /
    ``socket_closed``). A connection's first dropped frame is logged with its reason, the rest counted and
    logged as one line when it closes: a visitor's frames cannot fill the log."""

    counted = False
    dropped = False
    states_at = -1e9
    frames_dropped = 0

    async def get(self, kernel_id, *args, **kwargs):
        app: ExplorerVoila = self.settings["explorer_voila"]
        if app.sockets.get(kernel_id, 0) >= app.sockets_per_kernel:
            if kernel_id not in app.sockets_refused:  # said once until one of them closes, not per attempt
                app.sockets_refused.add(kernel_id)
                app.log.warning("Refused websockets to kernel %s: %d open", kernel_id, app.sockets_per_kernel)
            # answered here: an HTTPError made jupyter_server's error page fail to render, a traceback in
            # the log for every refused attempt
            self.set_status(429)
            self.finish()
            return None
        return await super().get(kernel_id, *args, **kwargs)

    async def open(self, kernel_id):
        app: ExplorerVoila = self.settings["explorer_voila"]
        app.socket_opened(kernel_id)
        self.counted = True
        self.seen = SeenMessages()
        # tornado buffers without limit for a peer that does not read: bounded, then the socket is dropped
        self.ws_connection.stream.max_write_buffer_size = app.max_write_buffer_bytes
        return await super().open(kernel_id)

    def on_close(self):
        if self.counted:
            self.counted = False
            self.settings["explorer_voila"].socket_closed(self.kernel_id)
        if self.frames_dropped > 1:
            self.log.warning(
                "Dropped %d more websocket frames for kernel %s", self.frames_dropped - 1, self.kernel_id
            )
        return super().on_close()

    def on_message(self, ws_message):
        problem = frame_problem(ws_message, self.selected_subprotocol)
        asks = b"request_states" if isinstance(ws_message, bytes) else "request_states"
        if problem is None and not self.seen.first(message_key(ws_message, self.selected_subprotocol)):
            problem = "a message sent again (the kernel refuses a signature it has seen)"
        if problem is None and asks in ws_message:  # a comm message asking for every widget's state
            now = time.monotonic()
            if now - self.states_at < REQUEST_STATES_SECONDS:
                problem = f"the widgets' states asked for again within {REQUEST_STATES_SECONDS:g} s"
            else:
                self.states_at = now
        if problem is None:
            try:
                return super().on_message(ws_message)
            except (ValueError, KeyError, TypeError, IndexError) as err:  # JSON, or its fields, not a message
                problem = f"not a kernel message ({type(err).__name__})"
        self.frames_dropped += 1
        if self.frames_dropped == 1:
            self.log.warning("Dropped a websocket frame for kernel %s: %s", self.kernel_id, problem)
        return None

    def write_message(self, message, binary=False):
        # once dropped, the kernel's further messages for this socket are dropped too, without a word: an
        # exception here would reach jupyter_server's ZMQ callback (its v1 path catches none) and log a
        # traceback per message until the socket's close is handled
        if self.dropped:
            return None
        try:
            sent = super().write_message(message, binary)
        except StreamBufferFullError:
            self.dropped = True
            self.log.warning(
                "Dropped a websocket to kernel %s: its browser left %s bytes unread",
                self.kernel_id,
                f"{self.settings['explorer_voila'].max_write_buffer_bytes:,}",
            )
            if self.ws_connection is not None and self.ws_connection.stream is not None:
                self.ws_connection.stream.close()  # no closing frame: nothing more can be written to it
            return None
        if sent is not None:  # a write still waiting when its socket closes fails: that is no news
            sent.add_done_callback(_retrieved)
        return sent


def _retrieved(future: Any) -> None:
    """Mark a finished write's outcome as seen (asyncio logs "exception was never retrieved" otherwise)."""
    if not future.cancelled():
        future.exception()


class NoSuchPageHandler(web.RequestHandler):
    """Routes Jupyter's server would answer (``/logout``: a blank 500, a traceback in the log each time)."""

    def get(self, *args: Any) -> None:
        page(self, 404, "No such page", "This server shows one page, the explorer.")

    post = get


class CappedHTTPServer(HTTPServer):
    """tornado's HTTP server, holding at most ``per_client`` connections from one address (20,000 half-sent
    requests from one client ran the server out of file descriptors, and its accept loop spun); a trusted
    reverse proxy's are not capped (the proxy limits its clients: explorer/deploy/README.md)."""

    def initialize(
        self, *args: Any, per_client: int = 256, trusted: frozenset[str] = frozenset(), **kwargs: Any
    ) -> None:
        super().initialize(*args, **kwargs)
        self.per_client = per_client
        self.trusted = trusted  # reverse proxies: every visitor's connections come from them
        self.open_from: dict[str, int] = {}
        self.client_of: dict[Any, str] = {}
        self.refused_at = 0.0

    def handle_stream(self, stream: Any, address: Any) -> None:
        client = address[0] if isinstance(address, tuple) and address else str(address)
        if client in self.trusted:
            super().handle_stream(stream, address)
            return
        if self.open_from.get(client, 0) >= self.per_client:
            stream.close()
            now = time.monotonic()
            if now - self.refused_at > 10:  # one line per 10 s, not one per connection
                self.refused_at = now
                app_log.warning("Refused connections from %s: %d open", client, self.per_client)
            return
        before = set(self._connections)
        super().handle_stream(stream, address)
        for conn in set(self._connections) - before:
            self.client_of[conn] = client
        self.open_from[client] = self.open_from.get(client, 0) + 1

    def on_close(self, server_conn: Any) -> None:
        super().on_close(server_conn)
        client = self.client_of.pop(server_conn, None)
        if client is not None:
            left = self.open_from.get(client, 1) - 1
            if left > 0:
                self.open_from[client] = left
            else:
                self.open_from.pop(client, None)


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

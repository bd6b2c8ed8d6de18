"""`ExplorerVoila`: Voila with a cap on visitor kernels, a sweep that reclaims unopened pages and dead
kernels, a pre-started pool that grows in a burst, and the guarded handlers (explorer.serve_handlers).

Imports Voila: imported only when serving (by explorer.serve.main)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import time
from collections import deque
from typing import Any

from jupyter_server.utils import url_path_join
from tornado.ioloop import PeriodicCallback
from traitlets import Bool, Integer, Unicode
from voila.app import Voila
from voila.request_info_handler import RequestInfoSocketHandler
from voila.static_file_handler import TemplateStaticFileHandler
from voila.tornado.handler import TornadoVoilaHandler
from voila.tornado.kernel_websocket_handler import VoilaKernelWebsocketHandler

from . import bundle_files
from .serve import (
    BURST_SECONDS,
    CONNECT_SECONDS,
    CONNECTIONS_PER_CLIENT,
    DISCONNECTED_SECONDS,
    MAX_SESSIONS,
    PAGES_PER_CLIENT,
    POOL_MAX,
    SESSIONS_PER_CLIENT,
    SOCKETS_PER_KERNEL,
)
from .serve_handlers import (
    CappedHTTPServer,
    CappedVoilaHandler,
    ChartBundleHandler,
    GuardedKernelWebsocketHandler,
    GuardedRequestInfoHandler,
    GuardedTemplateStaticFileHandler,
    NoSuchPageHandler,
    QueryGuard,
)
from .serve_limits import HEADER_SECONDS, MAX_FRAME_BYTES, MAX_HEADER_BYTES, MAX_WRITE_BUFFER_BYTES


def _not_the_trust_warning(record: logging.LogRecord) -> bool:
    return record.msg != "Notebook %s is not trusted"


#: How long a pre-started kernel the pool sheds may take to finish its notebook before its run is cancelled
#: (the app's last cell, told there is no visitor, finishes in well under a second).
RETIRE_SECONDS = 10


class ExplorerVoila(Voila):
    """Voila with a cap on the number of visitor kernels (pre-started kernels are not counted), and the
    guards listed in explorer.serve's docstring."""

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
    burst_seconds = Integer(
        BURST_SECONDS,
        config=True,
        help="How long an arrival counts toward growing the pre-started pool (a burst is over once no page "
        "has been asked for in this long).",
    )
    sessions_per_client = Integer(
        SESSIONS_PER_CLIENT,
        config=True,
        help="Visitor kernels one client address may hold (HTTP 429 past it); a room behind one address "
        "needs one per seat.",
    )
    sockets_per_kernel = Integer(
        SOCKETS_PER_KERNEL,
        config=True,
        help="Websockets open at once to one kernel (HTTP 429 past it); a page uses one.",
    )
    disconnected_seconds = Integer(
        DISCONNECTED_SECONDS,
        config=True,
        help="A visitor kernel whose browser has been gone (no websocket) this long is shut down.",
    )
    connections_per_client = Integer(
        CONNECTIONS_PER_CLIENT,
        config=True,
        help="TCP connections one client address may hold open at once (more are closed at once).",
    )
    trusted_proxies = Unicode(
        "127.0.0.1,::1",
        config=True,
        help="Addresses of reverse proxies in front of this server, comma-separated: a request from one of "
        "them counts as from the last address in its X-Forwarded-For header (the visitor's), and its "
        "connections are not capped per address. Empty: trust none.",
    )
    max_write_buffer_bytes = Integer(
        MAX_WRITE_BUFFER_BYTES,
        config=True,
        help="Bytes a kernel websocket may have waiting for a browser that does not read; past it, the "
        "connection is dropped.",
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
        # this install's chart code as a file, made before the first page (and the fork server's app) asks
        self.chart_bundle = bundle_files.make_current()
        # kept in memory too (0.9 MB): a page already sent still gets it if the cache file is cleared
        path = bundle_files.path_of(self.chart_bundle) if self.chart_bundle else None
        self.chart_bundle_code = path.read_bytes() if path is not None else None
        super().initialize(argv)
        # Voila re-reads the notebook for every kernel and the contents manager warns each time that it is
        # "not trusted": trust decides whether stored outputs may run in a notebook editor, and the app's
        # notebook is stored without outputs and run by Voila either way; 22 such lines in one afternoon's
        # log hid what an operator needs to read
        self.log.addFilter(_not_the_trust_warning)
        # where this server sends the chart code, for its kernels (forked or not) to tell their pages
        if self.chart_bundle is not None:
            os.environ[bundle_files.SERVED_AT] = url_path_join(self.base_url, bundle_files.ROUTE)
        if self.fork_kernels:
            from . import forkserver

            forkserver.install()
        self.owner: dict[str, str] = {}  # kernel id -> client address of its page
        self.sent_at: dict[str, float] = {}  # kernel id -> when its page was sent
        self.connected: set[str] = set()  # kernel ids a browser has connected to
        self.sockets: dict[str, int] = {}  # kernel id -> websockets open to it now
        self.gone_at: dict[str, float] = {}  # kernel id -> when its last websocket closed
        self.sockets_refused: set[str] = set()  # kernels whose refused websockets were logged
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

    def trusted(self) -> frozenset[str]:
        return frozenset(a.strip() for a in self.trusted_proxies.split(",") if a.strip())

    def client_sessions(self, client: str) -> int:
        """Visitor kernels held by pages sent to `client` (opened or not)."""
        running = set(self.kernel_manager.list_kernel_ids())
        return sum(1 for k, c in self.owner.items() if c == client and k in running)

    def socket_opened(self, kernel_id: str) -> None:
        self.connected.add(kernel_id)
        self.sockets[kernel_id] = self.sockets.get(kernel_id, 0) + 1
        self.gone_at.pop(kernel_id, None)

    def socket_closed(self, kernel_id: str) -> None:
        self.sockets_refused.discard(kernel_id)
        left = self.sockets.get(kernel_id, 1) - 1
        if left > 0:
            self.sockets[kernel_id] = left
        else:
            self.sockets.pop(kernel_id, None)
            self.gone_at[kernel_id] = time.monotonic()

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
        while self.arrivals and now - self.arrivals[0] > self.burst_seconds:
            self.arrivals.popleft()
        # one more pre-started kernel per two arrivals in the burst window, up to pool_max
        target = min(max(self.pool_max, self.pool_base), self.pool_base + len(self.arrivals) // 2)
        if target != self._pool_size():
            km.kernel_pools_config["default"]["pool_size"] = target
            self.log.info(
                "Pre-started pool: %d kernels (%d arrivals in %d s)",
                target,
                len(self.arrivals),
                self.burst_seconds,
            )
        if km._pools:
            for name in list(km._pools):
                km.fill_if_needed(delay=0, notebook_name=name)

    async def _alive(self, kernel_id: str) -> bool:
        try:
            return bool(await self.kernel_manager.get_kernel(kernel_id).is_alive())
        except Exception:  # gone from the map, or its process cannot be polled
            return False

    def _shutting_down(self, kernel_id: str) -> bool:
        """Whether the kernel's shutdown is under way (jupyter_client sets ``shutting_down`` as it begins):
        a page that leaves shuts its kernel down, and a sweep meanwhile found its process gone and logged
        "its process has died" after Voila's own "Kernel shutdown" (a warning for a routine exit)."""
        try:
            return bool(getattr(self.kernel_manager.get_kernel(kernel_id), "shutting_down", False))
        except Exception:  # gone from the map
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
            if self._shutting_down(kernel_id):
                continue  # being shut down already (a page that left): its process ending is no news
            if not await self._alive(kernel_id):
                await self._shutdown(kernel_id, "its process has died")
                continue
            sent = self.sent_at.get(kernel_id)
            if sent is not None and kernel_id not in self.connected and now - sent > self.connect_seconds:
                await self._shutdown(
                    kernel_id, f"no browser connected within {self.connect_seconds} s of its page"
                )
                continue
            gone = self.gone_at.get(kernel_id)
            if gone is not None and now - gone > self.disconnected_seconds:
                why = f"its browser has been gone for {self.disconnected_seconds} s"
                await self._shutdown(kernel_id, why)
        running = set(km.list_kernel_ids())
        for table in (self.owner, self.sent_at, self.sockets, self.gone_at):
            for kernel_id in list(table):
                if kernel_id not in running:
                    del table[kernel_id]
        self.connected &= running
        self.request_info_asked &= running
        self.sockets_refused &= running

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
                await self._retire(content["kernel_id"], content.get("task"))
                await self._shutdown(content["kernel_id"], "the pre-started pool shrinks")

    async def _retire(self, kernel_id: str, render: Any) -> None:
        """Let a pre-started kernel's notebook finish before its kernel is shut down.

        Its last cell waits for a visitor's request (``explorer.session.get_query_string``); told there is
        none, it finishes with the default scenario. Cancelling the notebook's run instead made nbclient
        report the kernel dead (it reads any cancellation so) and Voila log "Error at server while executing
        cell" with a traceback for every kernel the pool shed: an operator read a crash into a routine
        shrink. If the notebook does not finish in time it is cancelled as before."""
        if render is None or render.done():
            return
        RequestInfoSocketHandler.send_updates(
            {"kernel_id": kernel_id, "payload": json.dumps({"QUERY_STRING": ""})}
        )
        try:
            await asyncio.wait_for(asyncio.shield(render), RETIRE_SECONDS)
        except Exception:  # not finished in time, or its notebook failed: the run is cancelled
            render.cancel()
        finally:
            # a message its kernel never asked for (it had not yet opened its socket) is dropped with it
            RequestInfoSocketHandler._cache.pop(kernel_id, None)

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
        bundles = url_path_join(self.base_url, bundle_files.ROUTE, r"(current|[0-9a-f]{16})\.js")
        guarded = [(h[0], replace.get(h[1], h[1]), *h[2:]) for h in super().init_handlers()]
        chart_code = {"current": self.chart_bundle, "code": self.chart_bundle_code}
        logout = url_path_join(self.base_url, "logout")
        return [(bundles, ChartBundleHandler, chart_code), (logout, NoSuchPageHandler), *guarded]

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
        app, start_request = self.app, self.app.start_request
        home = "/" + self.base_url.strip("/")

        def guarded_start_request(server_conn: Any, request_conn: Any) -> Any:
            return QueryGuard(start_request(server_conn, request_conn), request_conn, home)

        app.start_request = guarded_start_request

        def capped_listen(port: int, address: str = "", **kw: Any) -> Any:
            # what tornado's Application.listen does, with a server that caps connections per address and
            # gives a request's headers HEADER_SECONDS to arrive (tornado's default: an hour)
            server = CappedHTTPServer(
                app,
                per_client=self.connections_per_client,
                trusted=self.trusted(),
                max_header_size=MAX_HEADER_BYTES,
                idle_connection_timeout=HEADER_SECONDS,
                **kw,
            )
            server.listen(port, address)
            return server

        app.listen = capped_listen
        interval = max(0.5, min(5.0, self.connect_seconds / 3))
        self._sweeper = PeriodicCallback(self.sweep, interval * 1000)
        self._sweeper.start()
        super().listen()

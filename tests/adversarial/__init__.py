"""The adversarial suite: what a visitor or a user could send, tried against the real parts, on loopback only.

Run it all (prints a table per area; exits 1 if any case leaked, hung, lost data or ran an injection)::

    python -m tests.adversarial            # every case
    python -m tests.adversarial --core     # the fast core, which `make test` runs (tests/test_adversarial.py)
    python -m tests.adversarial --area http --area cli

Registration API (stable; other modules use it)
-----------------------------------------------
A case is a function taking a `Context` and returning an `Outcome` (or ``(Outcome, "detail")``), registered
with the `case` decorator in any module named ``tests/adversarial/*_cases.py`` (all are imported by
`load_cases`)::

    from tests.adversarial import Context, Outcome, case

    @case("cli", "seed -1", core=True)
    def seed_minus_one(ctx: Context) -> Outcome:
        done = ctx.run_cli("evaluate", "--seed", "-1")
        if done is None:
            return Outcome.HANG
        clear = done.returncode == 2 and "Traceback" not in done.stderr
        return Outcome.CLEAR_ERROR if clear else Outcome.LEAK

Outcomes: what happened, judged by the case itself.

- ``HELD``: the input was accepted or ignored harmlessly (a forged value brought back inside its bounds, a
  request for code execution dropped) and everything kept working;
- ``CLEAR_ERROR``: refused with a clear message (a 4xx page, exit 2 with one line naming what was wrong);
- ``UNCLEAR``: refused, but with no useful message (a blank page, a dropped connection, exit 1 "internal
  error"): a defect, counted as a failure;
- ``LEAK``: a traceback, a server path, a file or another visitor's data reached the caller;
- ``HANG``: no answer within the case's time (or another visitor was frozen by it);
- ``DATA_LOST``: something the user entered or uploaded was lost without a word;
- ``INJECTION``: injected script or code ran.

Only ``HELD`` and ``CLEAR_ERROR`` pass. A case that raises is recorded as ``ERROR`` (a broken case, also a
failure); one that overruns its ``timeout`` is recorded as ``HANG`` by the runner.

``core=True`` marks a case fast and robust enough for every `make test` (seconds, no big payloads); the rest
run with the full command. ``needs`` is informative only.

`Context` gives a case what it needs, started lazily and shared between cases of one run:
``ctx.app_url()`` (the app served as `accel-explorer app` serves it, pool 1; a case must leave it working),
``ctx.fresh_app(**options)`` (a private server for cases that damage it), ``ctx.tmp()`` (a fresh folder),
``ctx.run_cli(*args, timeout=...)`` (the CLI as a subprocess; None if it overran), ``ctx.visitor(...)``
(a scripted browser session, tests/load/visitor.py), ``ctx.run_async(coro, timeout)`` (on one event loop
kept for the run) and ``ctx.shared(key, make)`` (a value made once per run).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import enum
import importlib
import pkgutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class Outcome(enum.Enum):
    HELD = "held"
    CLEAR_ERROR = "clear error"
    UNCLEAR = "unclear error"
    LEAK = "leak"
    HANG = "hang"
    DATA_LOST = "data lost"
    INJECTION = "injection ran"
    ERROR = "case broke"

    @property
    def passed(self) -> bool:
        return self in (Outcome.HELD, Outcome.CLEAR_ERROR)


@dataclass(frozen=True)
class Case:
    area: str
    name: str
    run: Callable[[Context], Outcome | tuple[Outcome, str]]
    core: bool = False
    timeout: float = 60.0
    needs: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.area}: {self.name}"


@dataclass
class Result:
    case: Case
    outcome: Outcome
    detail: str = ""
    seconds: float = 0.0


REGISTRY: dict[str, Case] = {}


def case(
    area: str, name: str, *, core: bool = False, timeout: float = 60.0, needs: tuple[str, ...] = ()
) -> Callable[[Callable[[Context], Any]], Callable[[Context], Any]]:
    """Register the decorated function as the case `name` of `area` (ids must be unique)."""

    def register(fn: Callable[[Context], Any]) -> Callable[[Context], Any]:
        c = Case(area, name, fn, core=core, timeout=timeout, needs=needs)
        if c.id in REGISTRY and REGISTRY[c.id].run.__qualname__ != fn.__qualname__:
            raise ValueError(f"two adversarial cases named {c.id!r}")
        REGISTRY[c.id] = c
        return fn

    return register


def load_cases() -> list[Case]:
    """Import every tests/adversarial/*_cases.py module; the registered cases, in a stable order."""
    for info in pkgutil.iter_modules(__path__):
        if info.name.endswith("_cases"):
            importlib.import_module(f"{__name__}.{info.name}")
    return sorted(REGISTRY.values(), key=lambda c: (c.area, c.name))


@dataclass
class Context:
    """What cases share in one run; close() stops every server it started."""

    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    _app: str | None = None
    _tmp: Path | None = None
    _shared: dict[str, Any] = field(default_factory=dict)
    _loop: asyncio.AbstractEventLoop | None = None

    def app_url(self) -> str:
        """The app served as `accel-explorer app` serves it (pool of 1), shared by cases; no final /."""
        if self._app is None:
            self._app = self._stack.enter_context(self.fresh_app(pool_size=1)).rstrip("/")
        return self._app

    @contextlib.contextmanager
    def fresh_app(self, *extra: str, **options: int) -> Iterator[str]:
        """A private app server (for cases that damage it); options go to explorer.serve.voila_argv."""
        from explorer.serve import APP_NOTEBOOK

        from ..servers import voila

        with voila(APP_NOTEBOOK, *extra, **options) as url:
            yield url.rstrip("/")

    def tmp(self) -> Path:
        """A fresh empty folder, removed with the context."""
        if self._tmp is None:
            self._tmp = Path(self._stack.enter_context(tempfile.TemporaryDirectory(prefix="adversarial-")))
        return Path(tempfile.mkdtemp(dir=self._tmp))

    def run_cli(
        self, *args: str, timeout: float = 60, input: str | None = None, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str] | None:
        """`accel-explorer ARGS` as a subprocess; None if it ran past `timeout` (it is then killed)."""
        from ..conftest import cli

        try:
            return subprocess.run(
                [*cli(), *args], capture_output=True, text=True, timeout=timeout, input=input, cwd=cwd
            )
        except subprocess.TimeoutExpired:
            return None

    def visitor(self, url: str | None = None, query: str = "") -> Any:
        """A scripted visitor (tests/load/visitor.py) of `url` (default: the shared app); not yet opened."""
        from ..load.visitor import Visitor

        return Visitor(url or self.app_url(), query)

    def shared(self, key: str, make: Callable[[], Any]) -> Any:
        """A value shared by the cases of one run, made on first use (e.g. a visitor kept open)."""
        if key not in self._shared:
            self._shared[key] = make()
        return self._shared[key]

    def run_async(self, coro: Any, timeout: float = 60) -> Any:
        """Run a coroutine on the run's own event loop (one thread, kept for the whole run), so that
        websockets opened by one case can be used by the next; raises TimeoutError past `timeout`."""
        if self._loop is None:
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="adversarial-loop", daemon=True)
            thread.start()
            self._loop = loop
            self._stack.callback(lambda: loop.call_soon_threadsafe(loop.stop))
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(f"no answer within {timeout:g} s") from None

    def close(self) -> None:
        self._stack.close()


def run_case(c: Case, ctx: Context) -> Result:
    """Run one case; an exception is ERROR, overrunning `c.timeout` is HANG (the thread is left behind)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = c.run(ctx)
        except BaseException as err:  # a broken case is reported, not raised
            box["error"] = err

    t0 = time.monotonic()
    thread = threading.Thread(target=target, name=f"case {c.id}", daemon=True)
    thread.start()
    thread.join(c.timeout)
    seconds = time.monotonic() - t0
    if thread.is_alive():
        return Result(c, Outcome.HANG, f"no answer within {c.timeout:.0f} s", seconds)
    if "error" in box:
        err = box["error"]
        return Result(c, Outcome.ERROR, f"{type(err).__name__}: {err}"[:300], seconds)
    value = box.get("value")
    outcome, detail = value if isinstance(value, tuple) else (value, "")
    if not isinstance(outcome, Outcome):
        return Result(c, Outcome.ERROR, f"the case returned {value!r}, not an Outcome", seconds)
    return Result(c, outcome, str(detail), seconds)

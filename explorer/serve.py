"""How the app is served: one command line, used by `accel-explorer app`, `make app` and the tests.

It runs standalone Voila (not the Jupyter server extension), which runs the app notebook with its code hidden,
drops code-execution requests from browsers (only widget messages reach a visitor's kernel), and uses the
``accel-explorer`` template: Voila's lab template without its CDN links, so the page fetches nothing from the
internet. On top of Voila's own settings, `ExplorerVoila` adds what a public server needs and Voila lacks: a
cap on visitor kernels, past which a visitor gets a short "busy, try again" page instead of a kernel.

The public deployment is this standalone server. Voila as a Jupyter server extension (Binder, JupyterHub)
applies no filter on code-execution requests: there, each user owns their server, and the hub is what keeps
users apart (see ``explorer/deploy/README.md``).
"""

from __future__ import annotations

import html
import sys
from pathlib import Path

APP_NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "app.ipynb"
TEMPLATE = "accel-explorer"

# Defaults chosen from the load test (tests/load/run.py; figures in explorer/deploy/README.md).
MAX_SESSIONS = 60
POOL_SIZE = 2
IDLE_MINUTES = 15

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


def voila_argv(
    notebook: Path | str = APP_NOTEBOOK,
    port: int = 8866,
    *extra: str,
    ip: str = "127.0.0.1",
    max_sessions: int = MAX_SESSIONS,
    pool_size: int = POOL_SIZE,
    idle_seconds: int = IDLE_MINUTES * 60,
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
        f"--ExplorerVoila.max_sessions={max_sessions}",
        *extra,
    ]


def _explorer_voila():  # voila is imported only when serving
    from tornado import web
    from traitlets import Integer
    from voila.app import Voila
    from voila.tornado.handler import TornadoVoilaHandler

    class CappedVoilaHandler(TornadoVoilaHandler):
        """Voila's page handler; past the cap, a new visitor gets a friendly page (HTTP 503), no kernel."""

        @web.authenticated
        async def get(self, path=None):
            app: ExplorerVoila = self.settings["explorer_voila"]
            if app.sessions() >= app.max_sessions:
                self.log.warning("Busy: %d visitor kernels, cap %d", app.sessions(), app.max_sessions)
                self.set_status(503)
                self.set_header("Retry-After", "30")
                self.set_header("Cache-Control", "no-store")
                self.set_header("Content-Type", "text/html; charset=utf-8")
                again = html.escape(self.request.uri, quote=True)
                self.finish(BUSY_PAGE.format(cap=app.max_sessions, retry=30, again=again))
                return
            # Voila's page sends a beacon on closing to shut its kernel down at once, signed with the `_xsrf`
            # cookie, which voila 0.5 never sets: without this line the beacon gets a 403 and a closed tab's
            # kernel lingers until it is culled.
            _ = self.xsrf_token
            # What TornadoVoilaHandler.get does, plus the count of pages in the making: a page is counted
            # as starting until its first part is sent, which Voila does once the page has its kernel
            # (from then on the kernel itself is counted).
            app.starting += 1
            starting = True
            try:
                async for part in self.get_generator(path=path):
                    if starting:
                        app.starting -= 1
                        starting = False
                    self.write(part)
                    self.flush()
            finally:
                if starting:
                    app.starting -= 1

    class ExplorerVoila(Voila):
        """Voila with a cap on the number of visitor kernels (pre-started kernels are not counted)."""

        max_sessions = Integer(
            MAX_SESSIONS,
            config=True,
            help="Most visitors served at once; past it a visitor gets a 'busy, try again' page (HTTP 503).",
        )
        starting = 0

        def sessions(self) -> int:
            """Visitor kernels: running kernels not waiting in the pre-started pool, plus pages being made."""
            km = self.kernel_manager
            # Voila keeps its pre-started kernels as tasks in `_pools` (no public accessor): a done task is
            # a started kernel that no visitor holds yet.
            pools = getattr(km, "_pools", {}).values()
            pooled = sum(1 for pool in pools for task in pool if task.done() and not task.exception())
            return max(len(km.list_kernel_ids()) - pooled, 0) + self.starting

        def init_settings(self) -> dict:
            return {**super().init_settings(), "explorer_voila": self}

        def init_handlers(self) -> list:
            return [
                (h[0], CappedVoilaHandler, *h[2:]) if h[1] is TornadoVoilaHandler else h
                for h in super().init_handlers()
            ]

    return ExplorerVoila


def main(argv: list[str] | None = None) -> None:
    """`python -m explorer.serve NOTEBOOK [voila options]`: what `voila_argv` runs."""
    _explorer_voila().launch_instance(argv=argv)


if __name__ == "__main__":
    main()

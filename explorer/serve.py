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
- one client address holds at most `sessions_per_client` visitor kernels (one client took every seat by
  opening pages and dropping their websockets without the closing beacon), and a kernel whose browser has
  been gone for `disconnected_seconds` is reclaimed (it waited for the 15-minute idle cull);
- a kernel takes at most `sockets_per_kernel` websockets at once (each takes four ZMQ sockets: 300 of them
  to one kernel ran the server's ZMQ context out of sockets and locked new visitors out), a frame on the
  legacy protocol is at most `LEGACY_FRAME_BYTES` (it parsed 10 MB JSON frames on the server's only
  thread; browsers speak v1), and a connection whose
  browser does not read is dropped once `MAX_WRITE_BUFFER_BYTES` wait for it (ten such connections asking
  for the widgets' states over and over took the server to 3 GB); a connection asks for the widgets'
  states at most once every `REQUEST_STATES_SECONDS`; a message sent again on a connection is dropped
  before the kernel sees it (the kernel logged a traceback for each replay's seen signature), a frame that
  is not a kernel message is dropped without ending the connection (it ended it, with a traceback), and a
  connection's dropped frames take two lines of log at most (the first, and a count when it closes);
- one client address holds at most `connections_per_client` TCP connections, and a request's headers must
  arrive within `HEADER_SECONDS` (20,000 half-sent requests ran the server out of file descriptors);
- a query string longer than `MAX_QUERY_BYTES` or with more than `MAX_QUERY_FIELDS` fields gets a clear
  error page (tornado answered a blank 400, or dropped the connection);
- `?theme=` and `?template=` (ignored: overrides are off) no longer make Voila skip the pre-started pool;
- under a burst of arrivals the pre-started pool grows (up to `pool_max`), so that a room arriving together
  finds kernels ready, and shrinks back once the burst is over; kernels are forks of a process that has
  imported everything and built the app once (`explorer.forkserver`, ``fork_kernels``), a quarter of the
  CPU of a new process.

Where each part is: this module holds the defaults and the command line (`voila_argv`, `main`);
`explorer.serve_app` the server (`ExplorerVoila`: the cap, the sweep, the pool), `explorer.serve_handlers`
its guarded request handlers, and `explorer.serve_limits` the limits on requests and frames and the pages
that refuse them (no Voila import).

The public deployment is this standalone server. Voila as a Jupyter server extension (Binder, JupyterHub)
applies no filter on code-execution requests: there, each user owns their server, and the hub is what keeps
users apart (see ``explorer/deploy/README.md``).
"""

from __future__ import annotations

import sys
from pathlib import Path

APP_NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "app.ipynb"
TEMPLATE = "accel-explorer"

# Defaults chosen from the load test (tests/load/run.py; figures in explorer/deploy/README.md).
MAX_SESSIONS = 60
POOL_SIZE = 2
IDLE_MINUTES = 15
CONNECT_SECONDS = 30  # a page's kernel that no browser connects to within this is reclaimed
PAGES_PER_CLIENT = 10  # pages one client address may hold that no browser has connected to yet
POOL_MAX = 8  # the most pre-started kernels kept during a burst of arrivals
BURST_SECONDS = 60  # an arrival counts toward growing the pool for this long
SESSIONS_PER_CLIENT = 20  # visitor kernels one client address may hold (a room behind one NAT: raise it)
SOCKETS_PER_KERNEL = 3  # websockets open at once to one kernel (a page uses one; a reload overlaps a second)
DISCONNECTED_SECONDS = 300  # a kernel whose browser went without closing the tab is reclaimed after this
CONNECTIONS_PER_CLIENT = 256  # TCP connections one client address may hold open at once

CELL_ERROR = (
    "The app could not finish loading. Reload the page to try again; if it happens again, please tell "
    "whoever runs this server (the details are in its log)."
)


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
    burst_seconds: int = BURST_SECONDS,
    sessions_per_client: int = SESSIONS_PER_CLIENT,
    sockets_per_kernel: int = SOCKETS_PER_KERNEL,
    disconnected_seconds: int = DISCONNECTED_SECONDS,
    connections_per_client: int = CONNECTIONS_PER_CLIENT,
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
        f"--ExplorerVoila.burst_seconds={burst_seconds}",
        f"--ExplorerVoila.sessions_per_client={sessions_per_client}",
        f"--ExplorerVoila.sockets_per_kernel={sockets_per_kernel}",
        f"--ExplorerVoila.disconnected_seconds={disconnected_seconds}",
        f"--ExplorerVoila.connections_per_client={connections_per_client}",
        # Kernels are forks of a process that has imported everything already (explorer.forkserver).
        f"--ExplorerVoila.fork_kernels={fork_kernels}",
        *extra,
    ]


def main(argv: list[str] | None = None) -> None:
    """`python -m explorer.serve NOTEBOOK [voila options]`: what `voila_argv` runs."""
    from .startup import prepare_process

    prepare_process()
    from .serve_app import ExplorerVoila  # voila is imported only when serving

    ExplorerVoila.launch_instance(argv=argv)


if __name__ == "__main__":
    main()

"""Kernels forked from a warm process: what lets a room of visitors arriving at once get pages in seconds.

A visitor's kernel used to be a new Python process that imported ipykernel, IPython, pandas, altair,
ipywidgets and the explorer before building the app: about 1.3 of its 2 CPU-seconds went to imports, the
same for every kernel. On a 2-core server, 40 visitors arriving within a minute need more CPU than there is,
and pages queued for half a minute. Here one process (the "zygote", started by the server) imports all of
that once, and builds the app once; each kernel is a fork of it, which starts with all that done (and
shares its memory with the zygote until written to). Each kernel takes its own copy of that app, for its
own visitor, and opens its widgets (``explorer.app.prebuild_app``).

`ForkProvisioner` is a jupyter_client kernel provisioner: jupyter_client calls it to launch a kernel; it asks
the zygote for a fork, which runs ``ipykernel`` with the connection file exactly as
``python -m ipykernel_launcher -f FILE`` would. Any other kernel command, or a zygote that cannot be
reached, falls back to launching a process as usual. The server turns it on (`explorer.serve`,
``--ExplorerVoila.fork_kernels``); nothing else uses it.

A forked kernel keeps the code of the explorer as it was when the server started (as the server itself
does): restart the server to serve changed code.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
import traceback
from typing import Any

from jupyter_client.provisioning import LocalProvisioner

NAME = "explorer-fork"
# What every kernel of the app imports; imported once, in the zygote.
PRELOAD = (
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.zmqshell",
    "ipywidgets",
    "anywidget",
    "altair",
    "altair.jupyter",
    "pandas",
    "numpy",
    "websockets",
    "explorer.app",
    "explorer.widgets",
    "explorer.charts",
    "explorer.share",
    "explorer.export",
    "explorer.session",
    "explorer.uncertainty",
)


# -- the zygote ---------------------------------------------------------------------------------------------


def zygote(read_fd: int, write_fd: int) -> None:
    """Import everything, then fork a kernel for each request line read from `read_fd` (until it closes)."""
    import importlib

    from .startup import prepare_process

    prepare_process()  # before altair: every forked kernel inherits the lighter import
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception as err:  # a kernel imports it itself, if it can
            print(f"[explorer forkserver] could not preload {name}: {err!r}", file=sys.stderr)
    _warm_up()
    # Every object so far is shared with the forks until written to. A fork's garbage collections write to
    # each tracked object they visit (its gc header), copying its page: frozen, they visit none of them
    # (Python's gc docs: "call gc.freeze() right before fork()" for copy-on-write sharing).
    gc.collect()
    gc.freeze()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # forked kernels are reaped as they exit
    requests = os.fdopen(read_fd, "r", encoding="utf-8")
    replies = os.fdopen(write_fd, "w", encoding="utf-8", buffering=1)
    replies.write("ready\n")
    for line in requests:  # ends when the server closes its end (it stopped, or died)
        try:
            request = json.loads(line)
            pid = os.fork()
            if pid == 0:
                _kernel(request, (read_fd, write_fd))
            deadline = time.monotonic() + 5
            while os.getpgid(pid) != pid and time.monotonic() < deadline:
                time.sleep(0.001)  # until the kernel has its own process group: signals go to it only
            replies.write(json.dumps({"pid": pid}) + "\n")
        except Exception as err:
            replies.write(json.dumps({"error": repr(err)}) + "\n")


def _warm_up() -> None:
    """Build the public app once, with no kernel (its widgets get placeholder comms): what is computed once
    per process (altair's compiled schema validators, the catalog, keyed by its files' state) is then ready
    in every fork, and each fork's kernel takes the app itself, opening its widgets instead of building
    them (``explorer.app.prebuild_app``)."""
    try:
        from explorer.app import prebuild_app
        from explorer.catalog import load_catalog
        from explorer.uncertainty import warm_fixed_step

        cat = load_catalog()
        prebuild_app(cat)
        warm_fixed_step(cat)  # a link to another LLM then costs its kernel no more than before
    except Exception as err:  # a fork builds the app itself anyway
        print(f"[explorer forkserver] warm-up failed: {err!r}", file=sys.stderr)


def _kernel(request: dict[str, Any], fds: tuple[int, int]) -> None:
    """In the forked child: become the kernel that `python -m ipykernel_launcher ARGS` would be."""
    code = 1
    try:
        os.setsid()
        for signum in (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # as Python sets it up at start
        for fd in fds:
            os.close(fd)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = ["ipykernel_launcher", *request["args"]]
        from ipykernel import kernelapp

        # (the default of parent_handle was read from the environment when the zygote imported ipykernel)
        app = kernelapp.IPKernelApp.instance(parent_handle=int(os.environ.get("JPY_PARENT_PID") or 0))
        app.initialize(request["args"])
        # ipywidgets registers its comm targets when imported into a running kernel; here it was imported
        # before there was one (any other module that needs the kernel at import is not preloaded)
        widgets = sys.modules.get("ipywidgets")
        if widgets is not None:
            widgets.register_comm_target()
        app.start()
        code = 0
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else 0
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(code)


# -- the server's side ---------------------------------------------------------------------------------


class ForkedProcess:
    """What jupyter_client needs of a kernel's process (a Popen's poll, wait, signals) for a forked kernel,
    which is the zygote's child, not the server's."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._fd = os.pidfd_open(pid)  # readable once the process has exited; immune to pid reuse

    def poll(self) -> int | None:
        if self.returncode is None and select.select([self._fd], [], [], 0)[0]:
            self.returncode = 0  # the exit status belongs to the zygote, which reaps it
            os.close(self._fd)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout or 0)
            time.sleep(0.05)
        return self.returncode or 0

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class Zygote:
    """The server's handle on its zygote: started on first use, restarted if it has gone."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.proc: subprocess.Popen | None = None

    def _start(self) -> None:
        to_zygote_r, to_zygote_w = os.pipe()
        from_zygote_r, from_zygote_w = os.pipe()
        env = {**os.environ, "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "1")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "explorer.forkserver", str(to_zygote_r), str(from_zygote_w)],
            pass_fds=(to_zygote_r, from_zygote_w),
            stdin=subprocess.DEVNULL,
            env=env,
        )
        os.close(to_zygote_r)
        os.close(from_zygote_w)
        self.requests = os.fdopen(to_zygote_w, "w", encoding="utf-8", buffering=1)
        self.replies = os.fdopen(from_zygote_r, "r", encoding="utf-8")
        if self.replies.readline().strip() != "ready":
            raise RuntimeError("the kernel fork server did not start")

    def fork(self, args: list[str], env: dict[str, str], cwd: str) -> int:
        """A new kernel process running ipykernel with `args`; its pid. Blocking (call it in a thread)."""
        with self.lock:
            for attempt in (1, 2):
                if self.proc is None or self.proc.poll() is not None:
                    self._start()
                try:
                    self.requests.write(json.dumps({"args": args, "env": env, "cwd": cwd}) + "\n")
                    reply = json.loads(self.replies.readline() or "{}")
                except (OSError, ValueError):
                    reply = {}
                if "pid" in reply:
                    return int(reply["pid"])
                if attempt == 2 or self.proc.poll() is None:
                    raise RuntimeError(f"the kernel fork server failed: {reply.get('error', 'no answer')}")
            raise AssertionError("not reached")

    def start_soon(self) -> None:
        """Start the zygote in the background (its imports take a couple of seconds)."""

        def start() -> None:
            with self.lock:
                if self.proc is None:
                    self._start()

        threading.Thread(target=start, name="explorer-forkserver-start", daemon=True).start()


ZYGOTE = Zygote()


def fork_args(cmd: list[str]) -> list[str] | None:
    """The ipykernel arguments if `cmd` is `python -m ipykernel_launcher ...` of this Python, else None."""
    if len(cmd) >= 3 and cmd[1:3] == ["-m", "ipykernel_launcher"]:
        same = os.path.realpath(cmd[0]) == os.path.realpath(sys.executable) or cmd[0] in ("python", "python3")
        return cmd[3:] if same else None
    return None


class ForkProvisioner(LocalProvisioner):
    """Launches a kernel as a fork of the warm zygote; anything else as jupyter_client always does."""

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> Any:
        args = fork_args(cmd)
        if args is None:
            return await super().launch_kernel(cmd, **kwargs)
        env = {k: str(v) for k, v in (kwargs.get("env") or os.environ).items()}
        env.setdefault("JPY_PARENT_PID", str(os.getpid()))  # as jupyter_client's launcher sets it
        cwd = str(kwargs.get("cwd") or os.getcwd())
        try:
            pid = await asyncio.to_thread(ZYGOTE.fork, args, env, cwd)
        except Exception as err:
            self.log.warning("Kernel fork failed (%s); starting a new process instead", err)
            return await super().launch_kernel(cmd, **kwargs)
        self.process = ForkedProcess(pid)
        self.pid = self.pgid = pid
        self.cwd = cwd
        return self.connection_info


def install() -> None:
    """Make `ForkProvisioner` the default kernel provisioner of this (server) process."""
    from importlib.metadata import EntryPoint

    from jupyter_client.provisioning.factory import KernelProvisionerFactory

    KernelProvisionerFactory.provisioners[NAME] = EntryPoint(
        name=NAME, value="explorer.forkserver:ForkProvisioner", group=KernelProvisionerFactory.GROUP_NAME
    )
    KernelProvisionerFactory.instance().default_provisioner_name = NAME
    ZYGOTE.start_soon()


if __name__ == "__main__":
    try:
        zygote(int(sys.argv[1]), int(sys.argv[2]))
    except BrokenPipeError:  # the server stopped before it read the reply (it could not listen)
        sys.exit(0)

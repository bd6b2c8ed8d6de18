"""Serve a workshop to a room from one machine: JupyterLab over a copy of the notebooks, with the app.

``accel-explorer workshop`` runs this. One Jupyter server, reachable from the room's laptops with a token,
serves JupyterLab over a room folder (a copy of ``notebooks/``: each seat gets its own copy of the workshop
notebook, so that two learners never share a kernel or overwrite each other's file) and, through Voila as a
server extension, the app at ``/voila/render/app.ipynb``. The instructor's answer key is not copied.

This is a room's server, not a public one: whoever holds the token can run code on this machine as the user
who started it (in a notebook; the server's terminals are turned off). For the public, ``accel-explorer
app`` serves the app alone (``explorer/deploy/README.md``). Standard library only at import: the command
line imports it; JupyterLab is imported by ``main``, in the server's own process.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

from .serve import APP_NOTEBOOK, IDLE_MINUTES, TEMPLATE

NOTEBOOKS = APP_NOTEBOOK.parent
WORKSHOP = "workshop.ipynb"
SEATS = 30  # seat copies made by default (cheap files; what one machine holds: notebooks/WORKSHOP.md)
PORT = 8888


@dataclass(frozen=True)
class Room:
    folder: Path
    seats: list[str]  # seat notebooks, relative to the folder ("seats/workshop-01.ipynb", ...)
    added: list[str]  # files this call created (an existing file is never overwritten)


def prepare_room(folder: Path | str, seats: int = SEATS, source: Path = NOTEBOOKS) -> Room:
    """Fill `folder` for a room: the app and the other notebooks read-only, and `seats` writable copies
    of the workshop notebook in ``seats/``. Files already there are kept as they are (a restarted server
    keeps everyone's work); the answer key (``instructor/``) is never copied."""
    root = Path(folder)
    (root / "seats").mkdir(parents=True, exist_ok=True)
    added: list[str] = []
    for nb in sorted(source.glob("*.ipynb")):
        if nb.name == WORKSHOP:
            continue
        target = root / nb.name
        if not target.exists():
            shutil.copyfile(nb, target)
            # the app and the reference notebooks are shared by the whole room: nobody saves over them
            target.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
            added.append(nb.name)
    # JupyterLab settings for the room: no "get notified about Jupyter news?" prompt on every laptop (the
    # room may have no internet, and nothing is fetched)
    quiet = root / ".settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    if not quiet.exists():
        quiet.parent.mkdir(parents=True, exist_ok=True)
        quiet.write_text('{"fetchNews": "false", "checkForUpdates": false}\n', encoding="utf-8")
    names = [f"seats/workshop-{i:02d}.ipynb" for i in range(1, seats + 1)]
    for name in names:
        target = root / name
        if not target.exists():
            shutil.copyfile(source / WORKSHOP, target)
            added.append(name)
    return Room(root, names, added)


def lab_argv(folder: Path | str, port: int = PORT, ip: str = "127.0.0.1", token: str = "") -> list[str]:
    """The command line of the room's server: JupyterLab on `folder`, with Voila as a server extension."""
    argv = [
        sys.executable,
        "-m",
        "explorer.room",
        f"--ServerApp.root_dir={Path(folder).resolve()}",
        f"--ServerApp.ip={ip}",
        f"--ServerApp.port={port}",
        # fail loudly if the port is taken, rather than moving to another port the room was not told
        "--ServerApp.port_retries=0",
        "--no-browser",
        f"--IdentityProvider.token={token}",
        # no terminals: a learner's notebook is all the room needs (kernels still run code: see above)
        "--ServerApp.terminals_enabled=False",
        # the room's JupyterLab layouts (one workspace per seat) and settings stay in the room folder, not
        # in the home folder of whoever runs it, where they would outlive the room and meet the next one
        f"--LabApp.workspaces_dir={Path(folder).resolve() / '.workspaces'}",
        f"--LabApp.user_settings_dir={Path(folder).resolve() / '.settings'}",
        # offline: no news feed, no update check
        "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        # the app, as Voila renders it for the public: its offline template, no code, no tracebacks
        f"--VoilaConfiguration.template={TEMPLATE}",
        "--VoilaConfiguration.show_tracebacks=False",
        "--VoilaConfiguration.strip_sources=True",
        # kernels nobody is connected to (a closed or reloaded app page, a closed notebook) are shut down
        # once idle; a learner's open notebook stays connected and keeps its kernel
        f"--MappingKernelManager.cull_idle_timeout={IDLE_MINUTES * 60}",
        "--MappingKernelManager.cull_interval=60",
    ]
    if hasattr(os, "getuid") and os.getuid() == 0:  # containers run as root; Jupyter refuses without this
        argv.append("--allow-root")
    return argv


def port_free(ip: str, port: int) -> bool:
    """Whether a server could listen on `ip`:`port` now (checked before the room is given URLs)."""
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        try:
            s.bind((ip, port))
        except OSError:
            return False
    return True


def new_token() -> str:
    """A token for the room: 64 random bits, short enough to type from the projector."""
    return secrets.token_hex(8)


def room_address() -> str | None:
    """This machine's address on its network (what other laptops use), or None if it cannot be told.

    Connecting a UDP socket sends nothing: it only makes the system pick the interface it would route
    through (to a documentation-only address), whose address is then read back.
    """
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))
            address = s.getsockname()[0]
    except OSError:
        address = ""
    if address and not address.startswith(("127.", "0.")):
        return address
    try:
        address = socket.gethostbyname(socket.gethostname())
    except OSError:
        return None
    return None if address.startswith(("127.", "0.")) else address


def seat_url(base: str, seat: str, token: str) -> str:
    """A seat's link: its notebook, in a JupyterLab workspace of its own. All learners share one server,
    and with one workspace every learner's open tabs would be restored into every other learner's page."""
    name = Path(seat).stem.replace("workshop-", "seat-")
    return f"{base}lab/workspaces/{name}/tree/{seat}?token={token}"


def urls(ip: str, port: int, token: str, seats: list[str]) -> list[str]:
    """The lines that tell the room where to go (printed by ``accel-explorer workshop``)."""
    q = f"?token={token}"
    if ip in ("0.0.0.0", "::", ""):
        host = room_address() or "<this machine's address>"
        here = f"http://localhost:{port}/"
    else:
        host = "localhost" if ip in ("127.0.0.1", "::1", "localhost") else ip
        here = ""
    base = f"http://{host}:{port}/"
    lines = [
        f"JupyterLab: {base}lab{q}",
        f"The app:    {base}voila/render/app.ipynb{q}",
    ]
    if seats:
        last = seats[-1].rsplit("/", 1)[1]
        lines.append(f"Seat notebooks: {seat_url(base, seats[0], token)}  (one per learner, up to {last})")
    if here:
        lines.append(f"On this machine: {here}lab{q}")
    lines.append(f"Token: {token}")
    return lines


def main(argv: list[str] | None = None) -> None:
    """`python -m explorer.room [JupyterLab options]`: what `lab_argv` runs. JupyterLab, with no MathJax
    URL for Voila: as a server extension Voila would otherwise load MathJax from a CDN on every app page
    (binder/postBuild sets the same), and a room's network may have no internet."""
    from jupyterlab.labapp import LabApp
    from traitlets.config import Config

    config = Config()
    config.ServerApp.tornado_settings = {"mathjax_url": None, "mathjax_config": None}
    # LabApp.launch_instance(), less its subcommands, with this config (launch_instance drops a config)
    server = LabApp.initialize_server(argv=sys.argv[1:] if argv is None else argv, config=config)
    server.start()


if __name__ == "__main__":
    main()

"""How the app is served: one Voila command line, used by `accel-explorer app`, `make app` and the tests.

Standalone Voila (not the Jupyter server extension) runs the app notebook with its code hidden, drops
code-execution requests from browsers, and uses the ``accel-explorer`` template: Voila's lab template
without its CDN links, so the page fetches nothing from the internet.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

APP_NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "app.ipynb"
TEMPLATE = "accel-explorer"


def voila_argv(
    notebook: Path | str = APP_NOTEBOOK, port: int = 8866, *extra: str, ip: str = "127.0.0.1"
) -> list[str]:
    exe = Path(sys.executable).parent / "voila"
    cmd = [str(exe)] if exe.exists() else [shutil.which("voila") or "voila"]
    return [
        *cmd,
        str(notebook),
        f"--port={port}",
        f"--Voila.ip={ip}",
        "--no-browser",
        f"--template={TEMPLATE}",
        "--VoilaConfiguration.show_tracebacks=False",
        "--VoilaConfiguration.strip_sources=True",
        *extra,
    ]

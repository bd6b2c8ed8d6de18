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
        # A visitor's ?theme= was written into the page unescaped (script injection) and ?template=<missing>
        # hung the request and left a kernel behind: the app uses its own template and theme, always.
        "--VoilaConfiguration.allow_theme_override=NO",
        "--VoilaConfiguration.allow_template_override=NO",
        # The app serves no files of its own: nothing from the folder is readable through /voila/files.
        "--VoilaConfiguration.file_allowlist=['(?!)']",
        # Idle kernels of visitors who left are shut down (connected ones are kept).
        "--MappingKernelManager.cull_idle_timeout=900",
        "--MappingKernelManager.cull_interval=60",
        *extra,
    ]

"""The offline chart bundle as files: altair's JupyterChart code with Vega (about 0.9 MB), kept on disk
once per bundle and named by its digest, so that the public server can send it to pages as a module the
browser caches and compiles while the page loads, instead of as 0.9 MB of every page's widget states.

Kernels write the file when they first make the chart runtime (``explorer.runtime``); the public server
(``explorer.serve_app``) tells its kernels where it serves the files (``SERVED_AT``, in their environment)
and serves them (``explorer.serve_handlers.ChartBundleHandler``). Anywhere else (JupyterLab, another
Voila) the bundle travels in the runtime widget's state as before. Imports nothing heavy: the server reads
it without importing altair.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

#: Where the public server serves the files, under its base URL: ``<digest>.js`` and ``current.js``.
ROUTE = "accel-explorer/charts/"
#: The environment variable in which the public server gives its kernels the files' address.
SERVED_AT = "ACCEL_EXPLORER_CHART_BUNDLES"
_DIGEST = re.compile(r"[0-9a-f]{16}")


def cache_dir() -> Path:
    """The folder the explorer caches what it makes once per machine in (``$XDG_CACHE_HOME`` or ~/.cache)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "accel-explorer"


def digest_of(bundle: str) -> str:
    """The bundle's name: 16 hex digits of its SHA-256."""
    return hashlib.sha256(bundle.encode()).hexdigest()[:16]


def path_of(digest: str) -> Path | None:
    """The file holding the bundle named ``digest``, if there is one (a malformed name has none)."""
    if not _DIGEST.fullmatch(digest):
        return None
    path = cache_dir() / f"chart-bundle-{digest}.js"
    return path if path.is_file() else None


def save(bundle: str) -> str | None:
    """Keep ``bundle`` on disk under its digest (atomically: a page never reads half a file); the digest, or
    None where the cache cannot be written."""
    digest = digest_of(bundle)
    if path_of(digest) is not None:
        return digest
    path = cache_dir() / f"chart-bundle-{digest}.js"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(bundle, encoding="utf-8")
        tmp.replace(path)
    except OSError:
        return None
    return digest


def make_current(timeout: float = 120.0) -> str | None:
    """Make this install's bundle file now, in a separate Python (the server imports no altair), and return
    its digest; None, with the reason logged, where that fails. The public server calls it once as it
    starts, so that the first page already finds the chart code (``current.js``)."""
    import logging
    import subprocess
    import sys

    code = "from explorer.runtime import bundle_digest; print(bundle_digest() or '')"
    try:
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.SubprocessError) as err:
        logging.getLogger(__name__).warning("chart code not made as a file (%s): pages carry it", err)
        return None
    digest = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    if done.returncode != 0 or not _DIGEST.fullmatch(digest) or path_of(digest) is None:
        logging.getLogger(__name__).warning(
            "chart code not made as a file (exit %s: %s): pages carry it",
            done.returncode,
            (done.stderr.strip().splitlines() or ["no message"])[-1],
        )
        return None
    return digest


def served_url(digest: str) -> str | None:
    """Where the page finds the bundle ``digest``: under the public server's address for the files, when
    this kernel was started by it; else None (the bundle goes in the widget's state)."""
    base = os.environ.get(SERVED_AT)
    return f"{base}{digest}.js" if base and _DIGEST.fullmatch(digest) else None

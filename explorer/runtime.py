"""The chart runtime: altair's JupyterChart, offline, with one copy of Vega per kernel.

Importing this module changes nothing: the offline bundle is put in place when the first chart is made.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import altair as alt
import anywidget
import ipywidgets as W
import traitlets

from .bundle_files import cache_dir, digest_of, save, served_url

log = logging.getLogger(__name__)


_OFFLINE = False


def enable_offline_charts() -> None:
    """Charts render offline: Vega comes bundled from vl-convert, never from a CDN.

    Called when the kernel's first chart is made (``altair_runtime``), not when this module is imported:
    it sets ``alt.JupyterChart``'s class attributes, which every JupyterChart of the process then uses.
    Once per process; a failed attempt is tried again by the next chart.
    """
    global _OFFLINE
    if not _OFFLINE:
        _install_offline_bundle()
        _OFFLINE = True


def _install_offline_bundle() -> None:
    """``alt.JupyterChart.enable_offline()`` bundles the JavaScript anew in every kernel (about 1.2 s of each
    visitor's start here). The bundle depends only on altair's widget source and vl-convert's version, so
    it is cached on disk under that key; where altair's internals differ from what this expects, or the
    cache cannot be written, the plain call is used.
    """
    import hashlib
    import os

    try:
        import vl_convert as vlc
        from altair.jupyter.jupyter_chart import load_js_src

        key = hashlib.sha256(f"{alt.__version__}|{vlc.__version__}|{load_js_src()}".encode()).hexdigest()[:20]
        root = cache_dir()
        cached = root / f"jupyterchart-offline-{key}.js"
        if (
            cached.is_file()
            and hasattr(alt.JupyterChart, "_esm")
            and hasattr(alt.JupyterChart, "_is_offline")
        ):
            alt.JupyterChart._esm = cached.read_text(encoding="utf-8")
            alt.JupyterChart._is_offline = True
            return
        alt.JupyterChart.enable_offline()
        bundle = getattr(alt.JupyterChart, "_esm", None)
        if isinstance(bundle, str) and bundle:
            root.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(bundle, encoding="utf-8")
            tmp.replace(cached)  # atomic: concurrent kernels never read half a file
    except (ImportError, OSError) as err:
        log.info("offline chart bundle not cached (%s); bundling in this kernel", err)
        alt.JupyterChart.enable_offline()


# Every chart below shares one copy of altair's chart code in the browser. JupyterChart ships Vega,
# Vega-Lite and vega-embed inside each widget's ``_esm`` (0.9 MB once bundled for offline use), and the
# browser fetches, parses and runs a separate copy for every chart: six copies for the app's six charts,
# each warming up on its own. Here the bundle travels once per kernel, in one ``AltairRuntime`` widget;
# each chart's module is a loader that imports it once per page (keyed by its digest, so two kernels
# with different versions in one JupyterLab each get their own) and hands the chart to its ``render``.
# The loader is JavaScript in its own file (explorer/js/, parsed by tests/test_js.py); anywidget reads a
# pathlib.Path given as ``_esm`` once, when the class is defined.
_LOADER_ESM = Path(__file__).with_name("js") / "chart_loader.js"


class AltairRuntime(anywidget.AnyWidget):
    """Altair's JupyterChart code (with Vega, offline), sent to the browser once per kernel; see Chart. Its
    module is the charts' loader, whose ``initialize`` starts importing the code as soon as this model
    exists in the page (before the first chart asks for it). Under the public server the code is a file
    the server sends (``url``; the page's template starts loading it first, ``explorer.bundle_files``),
    and ``bundle`` is empty; anywhere else ``bundle`` carries it."""

    _esm = _LOADER_ESM
    bundle = traitlets.Unicode("").tag(sync=True)
    digest = traitlets.Unicode("").tag(sync=True)
    url = traitlets.Unicode("", help="where the page imports the code from, if not `bundle`").tag(sync=True)

    def set_state(self, sync_data: dict[str, Any]) -> None:
        """Nothing a browser sends changes it: the code every later chart runs comes from the kernel."""


_RUNTIME: AltairRuntime | None = None


def altair_runtime() -> AltairRuntime:
    """The kernel's one AltairRuntime widget (created on first use; made anew if someone closed it, say
    with ``Widget.close_all()``, so that later charts still find their code)."""
    global _RUNTIME
    if _RUNTIME is None or _RUNTIME.comm is None:
        enable_offline_charts()

        bundle = alt.JupyterChart._esm
        saved = bundle_digest()  # on disk, where the server finds it (None: it could not be written)
        digest = saved or digest_of(bundle)
        url = served_url(saved) if saved else None
        _RUNTIME = AltairRuntime(bundle="" if url else bundle, digest=digest, url=url or "")
    return _RUNTIME


def bundle_digest() -> str | None:
    """This install's offline chart code, kept on disk by its digest (``explorer.bundle_files``): the digest,
    or None where the file cannot be written."""
    enable_offline_charts()
    return save(alt.JupyterChart._esm)


class Chart(alt.JupyterChart):
    """``alt.JupyterChart`` whose JavaScript is the kernel's shared AltairRuntime, not a copy of its own.

    Everything else (``.chart``, ``params``, the data channel ``LiveChart`` pushes through) is
    JupyterChart's, unchanged.
    """

    _esm = _LOADER_ESM
    _runtime = traitlets.Instance(AltairRuntime).tag(sync=True, **W.widget_serialization)

    def __init__(self, chart: alt.TopLevelMixin, **kwargs: Any):
        kwargs.setdefault("embed_options", {"actions": False, "renderer": "svg"})
        super().__init__(chart, _runtime=altair_runtime(), **kwargs)

    @traitlets.observe("chart")
    def _on_change_chart(self, change: Any) -> None:
        """JupyterChart's own handler, with the chart's spec made without validating it against the
        Vega-Lite schema: that took 42 % of building the app, for every visitor and every rebuilt chart,
        on specs the code makes the same way each time. tests/test_charts.py validates every chart the
        app draws (``to_dict()``), so a spec the schema refuses fails there."""
        chart = change.get("new")
        if chart is None:
            return super()._on_change_chart(change)
        # shadow the method on this one chart for the call: altair's handler calls ``chart.to_dict()``
        object.__setattr__(
            chart, "to_dict", lambda *a, **k: type(chart).to_dict(chart, *a, **k, validate=False)
        )
        try:
            return super()._on_change_chart(change)
        finally:
            object.__delattr__(chart, "to_dict")


def chart_view(chart: alt.TopLevelMixin) -> Chart:
    """Show any chart offline, in JupyterLab and Voila alike (Vega comes from vl-convert, not a CDN)."""
    return Chart(chart)

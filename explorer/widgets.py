"""Widgets: controls generated from the scenario declaration, and live charts that update in place.

State lives in traitlets: ``ScenarioControls.value`` is the scenario as a JSON-like dict, and the
explorer observes it with ``names=["value"]``. Bounds, labels, units and help text come from
``explorer.scenario.FIELD_SPECS``; nothing is typed again here. A browser can set any widget property
(bounds included), so every value goes through ``Scenario`` validation before it reaches the
calculators; a bad value produces the same clear message as a typed one, and the last good answer stays.
"""

from __future__ import annotations

import html
import logging
import math
from pathlib import Path
from typing import Any

import altair as alt
import anywidget
import ipywidgets as W
import pandas as pd
import traitlets

from . import charts as C
from . import fmt
from .calc import EvaluationResult, evaluate, volume
from .catalog import Catalog, load_catalog
from .scenario import (
    FIELD_SPECS,
    FRAMEWORK_LABELS,
    FRAMEWORKS,
    FieldSpec,
    Scenario,
    ScenarioError,
    parse_text,
    parse_volume,
)

log = logging.getLogger(__name__)


def enable_offline_charts() -> None:
    """Charts render offline: Vega comes bundled from vl-convert, never from a CDN.

    ``alt.JupyterChart.enable_offline()`` bundles the JavaScript anew in every kernel (about 1.2 s of each
    visitor's start here). The bundle depends only on altair's widget source and vl-convert's version, so
    it is cached on disk under that key; where altair's internals differ from what this expects, or the
    cache cannot be written, the plain call is used.
    """
    import hashlib
    import os
    from pathlib import Path

    try:
        import vl_convert as vlc
        from altair.jupyter.jupyter_chart import load_js_src

        key = hashlib.sha256(f"{alt.__version__}|{vlc.__version__}|{load_js_src()}".encode()).hexdigest()[:20]
        root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "accel-explorer"
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


enable_offline_charts()

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
    """Altair's JupyterChart code (with Vega, offline), sent to the browser once per kernel; see Chart."""

    _esm = "export default {};"
    bundle = traitlets.Unicode("").tag(sync=True)
    digest = traitlets.Unicode("").tag(sync=True)

    def set_state(self, sync_data: dict[str, Any]) -> None:
        """Nothing a browser sends changes it: the code every later chart runs comes from the kernel."""


_RUNTIME: AltairRuntime | None = None


def altair_runtime() -> AltairRuntime:
    """The kernel's one AltairRuntime widget (created on first use; made anew if someone closed it, say
    with ``Widget.close_all()``, so that later charts still find their code)."""
    global _RUNTIME
    if _RUNTIME is None or _RUNTIME.comm is None:
        import hashlib

        bundle = alt.JupyterChart._esm
        _RUNTIME = AltairRuntime(bundle=bundle, digest=hashlib.sha256(bundle.encode()).hexdigest()[:16])
    return _RUNTIME


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


CHANGE_LABELS = [(0, "frozen"), (1, "yearly"), (4, "quarterly"), (12, "monthly"), (52, "weekly")]

#: Framework mix presets (shares in %): illustrative team profiles, not catalog figures.
MIX_PRESETS: dict[str, dict[str, float]] = {
    "PyTorch shop": {"pytorch": 70, "huggingface": 30},
    "TensorFlow/TFX": {"tensorflow": 85, "onnx": 15},
    "JAX research": {"jax": 70, "cuda": 30},
    "mixed": {"pytorch": 35, "tensorflow": 15, "jax": 15, "cuda": 10, "onnx": 10, "huggingface": 15},
}

DEPLOYMENT_LABELS = {"cloud": "Cloud", "bare-metal": "Bare metal", "edge": "Edge"}
MARKET_LABELS = {"major-clouds": "Major clouds", "any-provider": "Any provider"}

_LABEL_W = "140px"
_CTRL_W = "370px"
_TEXT_W = "262px"  # a typed assumption, with its unit beside it inside the controls' column


def changes_label(n: float) -> str:
    """'quarterly (4 per year)' and the like, for the model-stability slider."""
    nearest = min(CHANGE_LABELS, key=lambda p: abs(math.log1p(p[0]) - math.log1p(n)))
    if n == 0:
        return "frozen: the model never changes"
    approx = "" if abs(nearest[0] - n) < 0.5 else "about "
    return f"{approx}{nearest[1]} ({n:g} per year)"


def _help(spec: FieldSpec) -> str:
    unit = f" Unit: {spec.unit}." if spec.unit and spec.kind not in ("choice", "id", "mix") else ""
    return f"{spec.doc}.{unit} {spec.describe_allowed().capitalize()}."


def _style() -> dict[str, str]:
    return {"description_width": _LABEL_W}


class MixControl(W.VBox):
    """One slider per framework; the shares always add up to 100 %, with presets."""

    value = traitlets.Dict(help="framework -> share (0-1), summing to 1")

    def __init__(self, initial: dict[str, float], **kwargs: Any):
        spec = FIELD_SPECS["framework_mix"]
        self.preset = W.Dropdown(
            options=["(custom)", *MIX_PRESETS],
            value="(custom)",
            description="Preset",
            style=_style(),
            layout=W.Layout(width=_CTRL_W),
        )
        self.sliders = {
            f: W.FloatSlider(
                value=round(100 * initial.get(f, 0.0), 1),
                min=0,
                max=100,
                step=1,
                description=FRAMEWORK_LABELS[f].replace(" custom kernels", " kernels"),
                readout_format=".0f",
                continuous_update=False,
                style=_style(),
                layout=W.Layout(width=_CTRL_W),
                tooltip=f"Share of {FRAMEWORK_LABELS[f]} code, %",
            )
            for f in FRAMEWORKS
        }
        self._busy = False
        title = W.HTML(
            f"<b title='{html.escape(_help(spec), quote=True)}'>{spec.label}</b> "
            "<span class='ax-unit'>(% of your model code; always adds up to 100 %)</span>"
        )
        super().__init__([title, self.preset, *self.sliders.values()], **kwargs)
        self.value = self._read()
        for f, sl in self.sliders.items():
            sl.observe(lambda ch, f=f: self._on_slider(f, ch), names=["value"])
        self.preset.observe(self._on_preset, names=["value"])

    def _read(self) -> dict[str, float]:
        total = sum(s.value for s in self.sliders.values())
        if total <= 0:
            return {}
        return {f: s.value / total for f, s in self.sliders.items()}

    def set_shares(self, shares: dict[str, float]) -> None:
        """Set shares (0-1 or %, any scale: they are normalised) without a cascade of updates."""
        total = sum(shares.values())
        self._busy = True
        try:
            with self.hold_trait_notifications():
                for f, sl in self.sliders.items():
                    sl.value = round(100 * shares.get(f, 0.0) / total, 1) if total > 0 else 0.0
        finally:
            self._busy = False
        self.value = self._read()

    def _on_preset(self, change: dict[str, Any]) -> None:
        if change["new"] in MIX_PRESETS:
            self.set_shares(MIX_PRESETS[change["new"]])

    def _on_slider(self, name: str, change: dict[str, Any]) -> None:
        if self._busy:
            return
        new = min(max(float(change["new"]), 0.0), 100.0)
        others = {f: s.value for f, s in self.sliders.items() if f != name}
        rest = 100.0 - new
        old_rest = sum(others.values())
        if old_rest > 0:
            scaled = {f: v * rest / old_rest for f, v in others.items()}
        else:
            scaled = {f: rest / len(others) for f in others}
        self._busy = True
        try:
            for f, v in scaled.items():
                self.sliders[f].value = round(v, 1)
            self.preset.value = "(custom)"
        finally:
            self._busy = False
        self.value = self._read()


class ScenarioControls(W.VBox):
    """A control for every scenario field, generated from the declaration. ``value`` is the scenario dict
    exactly as the controls hold it (validated later, by ``Scenario``)."""

    value = traitlets.Dict(help="the scenario's fields as the controls hold them")
    input_error = traitlets.Unicode("", help="why the last typed request volume was not used, if it was not")

    def __init__(self, cat: Catalog, scenario: Scenario | None = None, **kwargs: Any):
        s = scenario or Scenario()
        self.cat = cat
        self.fields: dict[str, W.Widget] = {}
        self.readouts: dict[str, W.HTML] = {}
        main, assumptions = [], []
        for name, spec in FIELD_SPECS.items():
            box = self._build(spec, getattr(s, name))
            (main if spec.group == "main" else assumptions).append(box)
        self.assumptions = W.Accordion(children=[W.VBox(assumptions)], selected_index=None)
        self.assumptions.set_title(0, "Assumptions")
        super().__init__([*main, self.assumptions], **kwargs)
        self.value = self._collect()
        for name, w in self.fields.items():
            w.observe(lambda ch, n=name: self._changed(n), names=["value"])

    # -- building ------------------------------------------------------------------------------------
    def _build(self, spec: FieldSpec, value: Any) -> W.Widget:
        tip = _help(spec)
        common = {
            "description": spec.label,
            "style": _style(),
            "layout": W.Layout(width=_CTRL_W),
            "tooltip": tip,
        }
        if spec.kind == "mix":
            w = MixControl(value.as_dict())
            self.fields[spec.name] = w
            return w
        if spec.kind == "choice":
            labels = DEPLOYMENT_LABELS if spec.name == "deployment" else MARKET_LABELS
            w = W.ToggleButtons(
                options=[(labels.get(c, c), c) for c in spec.choices],
                value=value,
                tooltips=[tip] * len(spec.choices),
                style={"button_width": "auto", **_style()},
                description=spec.label,
                layout=W.Layout(width=_CTRL_W),
            ).add_class("ax-toggle")
        elif spec.kind == "id":
            table = self.cat.workloads if spec.name == "workload" else self.cat.regions
            w = W.Dropdown(
                options=[
                    (n, i) for i, n in sorted(zip(table.id, table.name, strict=True), key=lambda p: p[1])
                ],
                value=value,
                **common,
            )
        elif spec.default is None:  # optional: empty takes the catalog's figure
            w = W.Text(
                value="" if value is None else f"{value:g}",
                placeholder="catalog's value",
                continuous_update=False,
                **{**common, "layout": W.Layout(width=_TEXT_W)},
            )
        else:
            lo, hi = spec.bounds or (0, 1)
            if spec.scale == "log":
                w = W.FloatLogSlider(
                    value=value,
                    base=10,
                    min=math.log10(lo),
                    max=math.log10(hi),
                    step=0.01,
                    readout=False,
                    continuous_update=False,
                    **common,
                )
            else:
                step = 1.0 if spec.name == "model_changes_per_year" else (0.05 if hi <= 1 else 0.1)
                w = W.FloatSlider(
                    value=value,
                    min=lo,
                    max=hi,
                    step=step,
                    readout=True,
                    readout_format=".2g",
                    continuous_update=False,
                    **common,
                )
        self.fields[spec.name] = w
        unit = (
            f" <span class='ax-unit'>{html.escape(spec.unit)}</span>"
            if spec.unit and spec.kind == "float" and spec.default is None
            else ""
        )
        if unit:  # a unit beside a text box
            return W.HBox(
                [w, W.HTML(unit, layout=W.Layout(margin="0 0 0 6px", flex="0 1 auto", min_width="0"))],
                layout=W.Layout(align_items="center", width=_CTRL_W),
            )
        if spec.name not in ("requests_per_day", "model_changes_per_year", "edge_sites"):
            return w
        # a human readout under the slider ("2.5 B requests/day", "quarterly (4 per year)")
        readout = W.HTML(layout=W.Layout(margin="-6px 0 4px 146px"))
        self.readouts[spec.name] = readout
        self._refresh_readout(spec.name)
        if spec.name != "requests_per_day":
            return W.VBox([w, readout])
        # the volume can be typed too ("50M", "2.5 B", "1e9"): dragging to an exact figure is slow
        self.typed_volume = W.Text(
            placeholder="or type: 50M, 2.5 B, 1e9",
            continuous_update=False,
            tooltip="Type a request volume and press Enter: 50M, 2.5 B, 200k, 1e9",
            layout=W.Layout(width="224px", margin="0 0 6px 146px"),
        ).add_class("ax-typed-volume")
        self.typed_volume.observe(self._on_typed_volume, names=["value"])
        return W.VBox([w, readout, self.typed_volume])

    def _on_typed_volume(self, change: dict[str, Any]) -> None:
        text = change["new"].strip()
        if not text:
            return
        try:
            value = parse_volume(text, "requests_per_day")
        except ScenarioError as err:
            # shown by the explorer; the text stays in the box, so the visitor can correct it
            self.input_error = ""
            self.input_error = str(err)
            return
        self.input_error = ""
        self.fields["requests_per_day"].value = value
        self.typed_volume.value = ""  # the readout beside it now says the volume in words

    def _refresh_readout(self, name: str) -> None:
        if name not in self.readouts:
            return
        w = self.fields[name]
        if name == "requests_per_day":
            self.readouts[name].value = f"<b>{volume(w.value)}</b> requests/day"
        elif name == "model_changes_per_year":
            self.readouts[name].value = changes_label(w.value)
        elif name == "edge_sites":
            self.readouts[name].value = f"{w.value:,.0f} sites"

    # -- reading ---------------------------------------------------------------------------------------
    def _collect(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, w in self.fields.items():
            out[name] = w.value if name != "framework_mix" else dict(w.value)
        return out

    def _changed(self, name: str) -> None:
        self._refresh_readout(name)
        self.value = self._collect()

    def scenario(self) -> Scenario:
        """The controls' values as a validated Scenario; raises ScenarioError naming the field."""
        data: dict[str, Any] = {}
        for name, raw in self.value.items():
            spec = FIELD_SPECS[name]
            if isinstance(raw, str) and spec.kind == "float":
                data[name] = parse_text(spec, raw)
            else:
                data[name] = raw
        return Scenario.from_dict(data)

    def show_values_in_use(self, inputs: Any) -> None:
        """An empty assumption box shows the catalog's figure the answer uses (it follows the region)."""
        for name, w in self.fields.items():
            spec = FIELD_SPECS[name]
            if isinstance(w, W.Text) and spec.default is None:
                used = getattr(inputs, name, None)
                known = isinstance(used, int | float)
                w.placeholder = f"{used:.4g} (catalog)" if known else "catalog's value"

    def set_scenario(self, s: Scenario) -> None:
        """Show a scenario in the controls (one update for the whole change)."""
        with self.hold_trait_notifications():
            for name, w in self.fields.items():
                v = getattr(s, name)
                if name == "framework_mix":
                    w.set_shares(v.as_dict())
                elif isinstance(w, W.Text):
                    w.value = "" if v is None else f"{v:g}"
                else:
                    w.value = v
        self.value = self._collect()


class LiveChart:
    """One ``alt.JupyterChart`` whose named datasets are replaced in place when only the data changed.

    Rebuilding a chart (``replace``) re-embeds it in the browser; pushing rows into its Vega datasets
    (``push``) updates marks, scales and axes without a re-embed, the fast path for sliders. The push uses
    the ``_py_to_js_updates`` channel of altair's JupyterChart (altair 6.x), which VegaFusion also uses.

    The kernel's copy of the chart's spec always holds the rows last pushed: a view rendered later (a
    pre-started kernel whose visitor arrives after a shared link was applied, a page reloaded, a second
    view in JupyterLab) draws the same data as the views that received the pushes. The spec is updated in
    place, so nothing extra travels to views that already show the chart.
    """

    def __init__(self, name: str, chart: alt.TopLevelMixin, data: dict[str, pd.DataFrame]):
        self.name = name
        self.widget = Chart(chart)
        self.widget.add_class(f"ax-chart-{name}")  # found by name in the page, by tests and by CSS
        self.pushes = 0
        self.rebuilds = 0
        self._adopt(data)

    def _adopt(self, data: dict[str, pd.DataFrame]) -> None:
        """Take the rows and the frames of a freshly built chart, and find where its spec holds them."""
        self.datasets: dict[str, list[dict[str, Any]]] = {
            n: C.records(data[n]) for n in C.DATASETS[self.name]
        }
        # the frames last shown: a frame shared between evaluations (the volume curve, the support grid)
        # is the same object when unchanged, so it is skipped without converting its rows
        self.frames = {n: data[n] for n in C.DATASETS[self.name]}
        self._holders = _inline_data(self.widget.spec, set(self.datasets))

    def push(self, data: dict[str, pd.DataFrame]) -> bool:
        updates = []
        for n in C.DATASETS[self.name]:
            if data[n] is self.frames[n]:
                continue
            self.frames[n] = data[n]
            rows = C.records(data[n])
            if rows != self.datasets[n]:
                updates.append({"namespace": "data", "name": n, "scope": [], "value": rows})
                self.datasets[n] = rows
                for holder in self._holders.get(n, ()):
                    holder["values"] = rows  # the state a view rendered from now on starts from
        if not updates:
            return False
        self.pushes += 1
        # the serial makes every push a change, so the browser always receives it
        self.widget._py_to_js_updates = [*updates, {"namespace": "serial", "value": self.pushes}]
        return True

    def replace(self, chart: alt.TopLevelMixin, data: dict[str, pd.DataFrame]) -> None:
        self.rebuilds += 1
        self.widget.chart = chart
        self._adopt(data)


def _inline_data(spec: Any, names: set[str]) -> dict[str, list[dict[str, Any]]]:
    """The ``{"name": ..., "values": [...]}`` entries of a Vega-Lite spec, by dataset name."""
    found: dict[str, list[dict[str, Any]]] = {}
    stack = [spec]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("name") in names and isinstance(node.get("values"), list):
                found.setdefault(node["name"], []).append(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


HEADLINE_DRAWS = 500  # Monte Carlo draws behind the headline's band (about 6 ms; +/-2 points on the odds)


def headline_html(r: EvaluationResult, bands: Any = None) -> str:
    """The answer at a glance: what to buy, how many, what it costs, and why."""
    rec = r.recommendation
    if rec is None:
        return (
            "<div class='ax-headline'><h3>No device can serve this scenario</h3>"
            "<p>See the reasons in the cost chart; try another deployment type or workload.</p></div>"
        )
    plan = {"gpu": "GPU plan", "accelerator": "Accelerator plan", "hybrid": "Hybrid plan"}[rec.plan]
    figs = fmt.headline_figures(r, bands)  # the report shows the same list
    cells = "".join(
        # a figure no source gives is said in smaller type: the row of figures then fits a laptop screen
        f"<div class='ax-fig'><div class='ax-val{' ax-na' if v == 'not published' else ''}'>"
        f"{html.escape(v)}</div><div class='ax-lbl'>{html.escape(k)}</div></div>"
        for k, v in figs
    )
    reasons = "".join(f"<li>{html.escape(x)}</li>" for x in rec.reasons)
    badge = "ax-gpu" if rec.kind == "gpu" else "ax-acc"
    return (
        f"<div class='ax-headline'><div class='ax-rec'><span class='ax-badge {badge}'>{plan}</span> "
        f"<span class='ax-name'>{html.escape(rec.name)}</span></div>"
        f"<div class='ax-figs'>{cells}</div><ul class='ax-reasons'>{reasons}</ul></div>"
    )


CSS = """
<style>
.ax-charts { gap: 8px 16px; align-items: flex-start; }
.ax-charts > * { flex: 0 1 auto; min-width: 0; max-width: 100%; }
.ax-charts > .ax-wide { flex-basis: 100%; }
.ax-charts .vega-embed { max-width: 100%; overflow-x: auto; }
.ax-toggle .widget-toggle-button { padding: 0 10px; }
.ax-toggle .widget-toggle-buttons { flex-wrap: wrap; }
.ax-headline { font-family: system-ui, sans-serif; }
.ax-rec { font-size: 22px; margin: 2px 0 6px 0; }
.ax-name { font-weight: 600; }
.ax-badge { font-size: 12px; padding: 2px 8px; border-radius: 10px; color: white; vertical-align: middle; }
.ax-gpu { background: #4c78a8; } .ax-acc { background: #f58518; }
.ax-figs { display: flex; flex-wrap: wrap; gap: 14px; margin: 4px 0; }
.ax-fig .ax-val { font-size: 18px; font-weight: 600; font-variant-numeric: tabular-nums; line-height: 26px; }
.ax-fig .ax-val.ax-na { font-size: 13px; font-weight: 400; color: #555; }
.ax-fig .ax-lbl { font-size: 11px; color: #555; text-transform: uppercase; letter-spacing: .03em; }
.ax-reasons { margin: 6px 0 0 0; padding-left: 18px; font-size: 13px; line-height: 1.35; max-width: 62em; }
.ax-unit { color: #666; font-size: 12px; }
.ax-note { background: #fff6dd; color: #6b4d00; border: 1px solid #f0d68a; border-radius: 4px;
           padding: 6px 10px; font-size: 13px; }
.ax-error { background: #fde8e8; color: #8b1a1a; border: 1px solid #f3b4b4; border-radius: 4px;
            padding: 6px 10px; font-size: 13px; }
</style>
"""


class Explorer(W.VBox):
    """Controls, headline and live charts, wired: moving a control re-evaluates and updates in place."""

    scenario_value = traitlets.Dict(help="the last valid scenario, as JSON-like data")
    query = traitlets.Unicode(
        "", help="the last valid scenario as a link's query string (only changed fields)"
    )
    message = traitlets.Unicode("", help="the last error shown to the user, if any")
    catalog_changes = traitlets.Int(0, help="how many times the catalog was replaced (uploads, removals)")

    def __init__(self, cat: Catalog | None = None, scenario: Scenario | None = None, **kwargs: Any):
        self.cat = cat if cat is not None else load_catalog()
        s = scenario or Scenario()
        self.controls = ScenarioControls(self.cat, s, layout=W.Layout(width="390px", min_width="390px"))
        self.controls.add_class("ax-controls")
        self.boundary = W.Dropdown(
            options=[("device", "device"), ("server wall", "wall"), ("facility (x PUE)", "facility")],
            value="facility",
            description="Power at",
            layout=W.Layout(width="260px"),
        )
        self.headline = W.HTML()
        self.errors = W.HTML()
        self.notes = W.HTML()
        self.result = evaluate(s, self.cat)
        self.scenario_value = s.to_dict()
        self.query = s.to_query(only_changed=True)
        self.bands = self._bands(s)
        self.data = C.chart_data(self.result, self.cat, self.boundary.value, self._band_frame())
        built = C.build_all(self.data, s.horizon_years)
        self.charts = {name: LiveChart(name, chart, self.data) for name, chart in built.items()}
        self.headline.value = headline_html(self.result, self.bands)
        self.controls.show_values_in_use(self.result.inputs)
        self.evaluations = 1

        ch = self.charts
        # the ranked costs take the grid's whole width: every device's row, and why the greyed ones are
        # unavailable, in words that are too long for half of a laptop screen
        # the charts keep their drawn width and wrap onto as many rows as the window needs: two side by
        # side from about 1400 px, one under the other at 1280 px; nothing is cut off or scrolls sideways.
        # The ranked costs take a row of their own: every device's row, and why the greyed ones are
        # unavailable, in words that are too long for half of a laptop screen
        grid = W.Box(
            [
                ch["cumulative_cost"].widget,
                ch["cost_vs_volume"].widget,
                ch["cost_per_request"].widget.add_class("ax-wide"),
                W.VBox([self.boundary, ch["power"].widget]),
                ch["perf_per_watt"].widget,
                ch["framework_support"].widget,
            ],
            layout=W.Layout(flex_flow="row wrap", grid_gap="8px 16px", width="100%"),
        ).add_class("ax-charts")
        self.top = W.VBox([self.notes, self.errors])  # the app adds its share bar here
        right = W.VBox([self.top, self.headline, grid], layout=W.Layout(flex="1 1 auto", min_width="0"))
        body = W.HBox([self.controls, right], layout=W.Layout(width="100%", align_items="flex-start"))
        super().__init__([W.HTML(CSS), body], **kwargs)
        self.controls.observe(self._on_controls, names=["value"])
        self.controls.observe(
            lambda change: self._show_error(change["new"]) if change["new"] else None, names=["input_error"]
        )
        self.boundary.observe(self._on_controls, names=["value"])

    # -- updates --------------------------------------------------------------------------------------
    def _on_controls(self, change: dict[str, Any] | None = None) -> None:
        try:
            scenario = self.controls.scenario()
        except ScenarioError as err:
            self._show_error(str(err))
            return
        try:
            self.update(scenario)
        except ScenarioError as err:
            self._show_error(str(err))
        except Exception as err:  # a bug must not kill the app: say so, keep the last answer, log it
            log.exception("update failed")
            self._show_error(
                f"Something went wrong while updating ({type(err).__name__}); the last answer "
                "is still shown. The details are in the server log."
            )

    def _show_error(self, text: str) -> None:
        self.message = text
        self.errors.value = (
            f"<div class='ax-error' role='alert'><b>Not updated.</b> {html.escape(text)}. "
            "Your other settings are kept.</div>"
        )

    def update(self, scenario: Scenario) -> None:
        """Evaluate `scenario` and show it everywhere: headline, every chart, the link, the state.

        The one place a scenario becomes what the page shows, however it arrived (a control, a shared
        link, an uploaded scenario or price file, a reload): everything is computed first, then published,
        so an observer of ``scenario_value`` or ``query`` sees the headline and charts already updated.
        """
        old_horizon = self.result.scenario.horizon_years
        result = evaluate(scenario, self.cat)
        bands = self._bands(scenario)
        data = C.chart_data(
            result, self.cat, self.boundary.value, bands.options if bands is not None else None
        )
        self.result, self.bands, self.data = result, bands, data
        self.evaluations += 1
        self.headline.value = headline_html(result, bands)
        self.controls.show_values_in_use(result.inputs)
        for name, live in self.charts.items():
            if name == "cumulative_cost" and scenario.horizon_years != old_horizon:
                # the month axis spans the horizon: a structural change, so the chart is rebuilt
                live.replace(
                    C.cumulative_cost_chart(data["timeline"], data["breakeven"], scenario.horizon_years), data
                )
            else:
                live.push(data)
        self.scenario_value = scenario.to_dict()
        self.query = scenario.to_query(only_changed=True)
        if self.message:
            self.message = ""
            self.errors.value = ""

    def _bands(self, scenario: Scenario) -> Any:
        """P10-P90 totals and the odds that an accelerator is cheaper (seeded: the same scenario, the same
        figures); None if the analysis cannot run, so the headline still shows the answer."""
        from .uncertainty import monte_carlo

        try:
            return monte_carlo(scenario, self.cat, draws=HEADLINE_DRAWS, seed=0)
        except Exception:  # the nominal answer matters more than its band
            log.exception("uncertainty analysis failed")
            return None

    def _band_frame(self) -> pd.DataFrame | None:
        return self.bands.options if self.bands is not None else None

    def set_scenario(self, scenario: Scenario) -> None:
        """Show `scenario` in the controls and everywhere that follows them (one update)."""
        self.controls.set_scenario(scenario)

    def show_notes(self, notes: list[str]) -> None:
        """Notes for the visitor (a shared link's ignored values, an accepted upload); empty clears them."""
        if not notes:
            self.notes.value = ""
            return
        items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
        self.notes.value = (
            f"<div class='ax-note' role='status'><ul style='margin:0;padding-left:18px'>{items}</ul></div>"
        )

    def set_catalog(self, cat: Catalog) -> None:
        """Use another catalog (a visitor's uploaded prices or devices) from now on, for this session."""
        self.cat = cat
        self._on_controls()
        self.catalog_changes += 1


def chart_view(chart: alt.TopLevelMixin) -> Chart:
    """Show any chart offline, in JupyterLab and Voila alike (Vega comes from vl-convert, not a CDN)."""
    return Chart(chart)

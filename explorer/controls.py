"""The controls: one per scenario field, generated from the declaration (``explorer.scenario``).

State lives in traitlets: ``ScenarioControls.value`` is the scenario as a JSON-like dict, observed with
``names=["value"]``. Bounds, labels, units and help text come from ``explorer.scenario.FIELD_SPECS``;
nothing is typed again here. A browser can set any widget property (bounds included), so every value goes
through ``Scenario`` validation before it reaches the calculators (``ScenarioControls.scenario``).
"""

from __future__ import annotations

import html
import math
from typing import Any

import ipywidgets as W
import traitlets

from . import fmt
from .catalog import Catalog
from .scenario import FIELD_SPECS, FieldSpec, Scenario, ScenarioError, parse_text, parse_volume

#: Framework mix presets (shares in %): illustrative team profiles, not catalog figures.
MIX_PRESETS: dict[str, dict[str, float]] = {
    "PyTorch shop": {"pytorch": 70, "huggingface": 30},
    "TensorFlow/TFX": {"tensorflow": 85, "onnx": 15},
    "JAX research": {"jax": 70, "cuda": 30},
    "mixed": {"pytorch": 35, "tensorflow": 15, "jax": 15, "cuda": 10, "onnx": 10, "huggingface": 15},
}

_LABEL_W = "140px"
_CTRL_W = "370px"
_TEXT_W = "262px"  # a typed assumption, with its unit beside it inside the controls' column


#: A dropdown shows its choice whole. A catalog name longer than this (about what the select's 200-odd
#: pixels hold) is listed without its parenthesis ("NVIDIA B300 (HGX B300, Blackwell Ultra)" -> "NVIDIA
#: B300"), unless that would make two choices read alike; the chosen one's parenthesis is shown under it.
_CHOICE_CHARS = 32


def described(label: str, tip: str) -> dict[str, Any]:
    """A dropdown's description with its help on the label's own words: ipywidgets 8 puts a select's
    tooltip nowhere once it has a description, so this is how every dropdown carries its help, as every
    other control does on its label."""
    return {
        "description": f"<span title='{html.escape(tip, quote=True)}'>{html.escape(label)}</span>",
        "description_allow_html": True,
    }


def short_names(names: list[str]) -> list[str]:
    """Each catalog name as a dropdown lists it (``_CHOICE_CHARS``)."""
    cut = [n.split(" (")[0] if len(n) > _CHOICE_CHARS and " (" in n else n for n in names]
    return [c if cut.count(c) == 1 else n for c, n in zip(cut, names, strict=True)]


def _left_out(name: str, shown: str) -> str:
    """What ``short_names`` left out of ``name``: its parenthesis, without the brackets."""
    rest = name[len(shown) :].strip()
    return rest[1:-1] if rest.startswith("(") and rest.endswith(")") and rest.count("(") == 1 else rest


def _help(spec: FieldSpec) -> str:
    unit = f" Unit: {spec.unit}." if spec.unit and spec.kind not in ("choice", "id", "mix") else ""
    return f"{spec.doc}.{unit} {spec.describe_allowed().capitalize()}."


def _text_of(value: float | None, spec: FieldSpec | None = None) -> str:
    """An optional number as its text box shows it, or empty: a count in words where that reads back
    exactly ("13 B"), else every digit it holds (links round-trip)."""
    if value is None:
        return ""
    if spec is not None and spec.human_count:
        words = fmt.volume(value)
        try:
            if parse_volume(words, spec.name, check_bounds=False) == value:
                return words
        except ScenarioError:
            pass
    return f"{value:.15g}"


def _style() -> dict[str, str]:
    return {"description_width": _LABEL_W}


class MixControl(W.VBox):
    """One slider per part of a mix field (its ``choices``: the frameworks); the shares always add up to
    100 %, with presets."""

    value = traitlets.Dict(help="framework -> share (0-1), summing to 1")

    def __init__(self, spec: FieldSpec, initial: dict[str, float], **kwargs: Any):
        self.preset = W.Dropdown(
            options=["(custom)", *MIX_PRESETS],
            value="(custom)",
            **described(
                "Preset",
                "Sets the sliders below to a typical team's framework mix (illustrative profiles, not "
                "catalog figures); moving a slider makes the mix your own, (custom)",
            ),
            style=_style(),
            layout=W.Layout(width="100%", max_width=_CTRL_W),
        )
        self.sliders = {
            f: W.FloatSlider(
                value=round(100 * initial.get(f, 0.0), 1),
                min=0,
                max=100,
                step=1,
                description=spec.label_of(f).replace(" custom kernels", " kernels"),
                readout_format=".0f",
                continuous_update=False,
                style=_style(),
                layout=W.Layout(width="100%", max_width=_CTRL_W),
                tooltip=f"Share of {spec.label_of(f)} code, %",
            )
            for f in spec.choices
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
    input_error = traitlets.Unicode("", help="why the last typed value was not used, if it was not")

    def __init__(self, cat: Catalog, scenario: Scenario | None = None, **kwargs: Any):
        s = scenario or Scenario()
        self.cat = cat
        self.fields: dict[str, W.Widget] = {}
        self.readouts: dict[str, W.HTML] = {}
        self.details: dict[str, W.HTML] = {}  # under a dropdown: the chosen name's part its list leaves out
        self.typed: dict[str, W.Text] = {}  # a typed count beside its slider ("50M"), by field name
        self.boxes: dict[str, W.Widget] = {}  # each field's whole control, shown per its `visible_when`
        main, assumptions = [], []
        for name, spec in FIELD_SPECS.items():
            box = self.boxes[name] = self._build(spec, getattr(s, name))
            # shown or hidden through its layout (`_refresh_visibility`): never shared (app.share_styles)
            box.keeps_own_layout = bool(spec.visible_when)
            (main if spec.group == "main" else assumptions).append(box)
        self.assumptions = W.Accordion(children=[W.VBox(assumptions)], selected_index=None)
        self.assumptions.set_title(0, "Assumptions")
        super().__init__([*main, self.assumptions], **kwargs)
        self.value = self._collect()
        self._refresh_visibility()
        for name, w in self.fields.items():
            w.observe(lambda ch, n=name: self._changed(n), names=["value"])

    # -- building ------------------------------------------------------------------------------------
    def _build(self, spec: FieldSpec, value: Any) -> W.Widget:
        tip = _help(spec)
        common = {
            "description": spec.label,
            "style": _style(),
            "layout": W.Layout(width="100%", max_width=_CTRL_W),
            "tooltip": tip,
        }
        if spec.kind == "mix":
            w = MixControl(spec, value.as_dict())
            self.fields[spec.name] = w
            return w
        if spec.kind == "choice":
            w = W.ToggleButtons(
                options=[(spec.label_of(c), c) for c in spec.choices],
                value=value,
                tooltips=[tip] * len(spec.choices),
                style={"button_width": "auto", **_style()},
                description=spec.label,
                layout=W.Layout(width="100%", max_width=_CTRL_W),
            ).add_class("ax-toggle")
        elif spec.kind == "id":
            table = getattr(self.cat, spec.ids)  # the catalog table the field's ids come from
            none = [(spec.none_choice, "")] if spec.none_choice else []  # an optional id: "" is None
            named = sorted(zip(table.id, table.name, strict=True), key=lambda p: p[1])
            shown = short_names([n for _, n in named])
            w = W.Dropdown(
                options=none
                + [(label, i) for label, (i, _) in zip(shown, named, strict=True)]
                + [(label, v) for v, label in spec.extra_ids],  # declared ones too: "Your model…"
                value="" if value is None else value,
                **{**common, **described(spec.label, tip)},
            )
            # what the list leaves out of a name it shows short, under the dropdown while that one is chosen
            cut = {i: _left_out(n, label) for label, (i, n) in zip(shown, named, strict=True) if label != n}
            if cut:
                detail = W.HTML(layout=W.Layout(margin="-4px 0 4px 146px", max_width="224px"))
                self.details[spec.name] = detail

                def show(_change: Any = None, w: W.Dropdown = w, d: W.HTML = detail, cut: dict = cut) -> None:
                    rest = html.escape(cut.get(w.value, ""))
                    d.value = f"<div class='ax-unit' style='line-height:1.35'>{rest}</div>" if rest else ""

                show()
                w.observe(show, names=["value"])
        elif spec.kind == "text":
            w = W.Text(value=value, continuous_update=False, **common)
        elif spec.default is None:  # optional: empty takes the catalog's figure
            w = W.Text(
                value=_text_of(value, spec),
                placeholder=spec.empty_means or "catalog's value",
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
                    step=spec.slider_step,
                    readout=False,
                    continuous_update=False,
                    **common,
                )
            else:
                w = W.FloatSlider(
                    value=value,
                    min=lo,
                    max=hi,
                    step=spec.slider_step,
                    readout=True,
                    readout_format=".2g",
                    continuous_update=False,
                    **common,
                )
        self.fields[spec.name] = w
        w.add_class(f"ax-field-{spec.name}")  # a page (and a test) finds a field's control by its name
        unit = (
            f" <span class='ax-unit'>{html.escape(spec.unit)}</span>"
            if spec.unit and spec.kind == "float" and spec.default is None
            else ""
        )
        if unit:  # a unit beside a text box, which takes the rest of the row (its hint read whole)
            w.layout = W.Layout(flex="1 1 auto", width="auto", min_width="0")
            return W.HBox(
                [w, W.HTML(unit, layout=W.Layout(margin="0 0 0 6px", flex="0 0 auto"))],
                layout=W.Layout(align_items="center", width="100%", max_width=_CTRL_W),
            )
        if spec.name in self.details:  # a name the dropdown lists short: the rest of it under the dropdown
            return W.VBox([w, self.details[spec.name]])
        if spec.readout is None:
            return w
        # a human readout under the slider ("2.5 B requests/day", "quarterly (4 per year)")
        readout = W.HTML(layout=W.Layout(margin="-6px 0 4px 146px"))
        self.readouts[spec.name] = readout
        self._refresh_readout(spec.name)
        if not spec.typed:
            return W.VBox([w, readout])
        # a count can be typed too ("50M", "2.5 B", "1e9"): dragging to an exact figure is slow
        placeholder, tooltip = spec.typed
        box = W.Text(
            placeholder=placeholder,
            continuous_update=False,
            tooltip=tooltip,
            layout=W.Layout(width="224px", margin="0 0 6px 146px"),
        ).add_class("ax-typed")
        box.add_class(f"ax-typed-{spec.name}")  # a page (and a test) finds a field's box by its name
        box.observe(lambda ch, n=spec.name: self._on_typed(n, ch), names=["value"])
        self.typed[spec.name] = box
        return W.VBox([w, readout, box])

    def _on_typed(self, name: str, change: dict[str, Any]) -> None:
        text = change["new"].strip()
        if not text:
            return
        try:
            value = parse_volume(text, name)
        except ScenarioError as err:
            # shown by the explorer; the text stays in the box, so the visitor can correct it
            self.input_error = ""
            self.input_error = str(err)
            return
        self.input_error = ""
        self.fields[name].value = value
        self.typed[name].value = ""  # the readout beside it now says the figure in words

    def _refresh_readout(self, name: str) -> None:
        readout = FIELD_SPECS[name].readout
        if name in self.readouts and readout is not None:
            self.readouts[name].value = readout(self.fields[name].value)

    # -- reading ---------------------------------------------------------------------------------------
    def _collect(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, w in self.fields.items():
            out[name] = dict(w.value) if isinstance(w, MixControl) else w.value
        return out

    def _changed(self, name: str) -> None:
        w = self.fields[name]
        if isinstance(w.value, float) and not math.isfinite(w.value):
            # no control of the page can send one: a forged message. The control goes back to the value
            # the answer was computed from, and the page says why
            spec = FIELD_SPECS[name]
            self.input_error = ""
            self.input_error = f"{name}: {w.value} is not allowed; {spec.describe_allowed()}"
            w.value = self.value.get(name, spec.default)
            return
        self._refresh_readout(name)
        self.value = self._collect()
        self._refresh_visibility()

    def _refresh_visibility(self) -> None:
        """Show each field whose declared `visible_when` holds for the values in the controls now."""
        for name, box in self.boxes.items():
            spec = FIELD_SPECS[name]
            if spec.visible_when:
                box.layout.display = None if spec.shown(self.value) else "none"

    def scenario(self) -> Scenario:
        """The controls' values as a validated Scenario; raises ScenarioError naming the field."""
        data: dict[str, Any] = {}
        for name, raw in self.value.items():
            spec = FIELD_SPECS[name]
            if isinstance(raw, str) and spec.kind == "float":
                data[name] = parse_text(spec, raw)
            elif spec.whole and isinstance(raw, float) and math.isfinite(raw):
                data[name] = float(round(raw))  # a log slider's position between two whole counts
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
                w.placeholder = f"{used:.4g} (catalog)" if known else (spec.empty_means or "catalog's value")

    def set_scenario(self, s: Scenario) -> None:
        """Show a scenario in the controls (one update for the whole change)."""
        with self.hold_trait_notifications():
            for name, w in self.fields.items():
                v = getattr(s, name)
                if isinstance(w, MixControl):
                    w.set_shares(v.as_dict())
                elif isinstance(w, W.Text):
                    w.value = v if isinstance(v, str) else _text_of(v, FIELD_SPECS[name])
                else:
                    w.value = "" if v is None else v  # an optional id's "(none)"
        self.value = self._collect()

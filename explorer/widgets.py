"""The controller: controls, headline and live charts, wired (``Explorer``).

Moving a control re-evaluates the scenario and updates the headline and every chart in place; a bad value
produces the same clear message as a typed one, and the last good answer stays. The parts live beside it:
the chart runtime (`explorer.runtime`), the controls (`explorer.controls`), the live charts
(`explorer.live`) and the headline's markup (`explorer.views`).
"""

from __future__ import annotations

import html
import logging
from pathlib import Path
from typing import Any

import anywidget
import ipywidgets as W
import pandas as pd
import traitlets

from . import charts as C
from .calc import evaluate
from .catalog import Catalog, load_catalog
from .chart_frames import BANDED, with_bands
from .controls import ScenarioControls, described
from .live import LiveChart
from .scenario import FIELD_SPECS, Scenario, ScenarioError
from .views import CSS, TABLE_CSS, headline_html
from .views_api import api_options_html

log = logging.getLogger(__name__)


HEADLINE_DRAWS = 500  # Monte Carlo draws behind the headline's band (about 6 ms; +/-2 points on the odds)


class PatchedHTML(anywidget.AnyWidget):
    """HTML, as ``W.HTML`` shows it, whose new value changes only the page's nodes that differ: a slider
    move changes a few figures' text, not the whole headline or table (``explorer/js/html_patch.js``)."""

    _esm = Path(__file__).with_name("js") / "html_patch.js"
    value = traitlets.Unicode("", help="the HTML shown").tag(sync=True)

    def set_state(self, sync_data: dict[str, Any]) -> None:
        """Nothing a browser sends changes it: the page shows what the kernel computed."""


#: The charts that draw the Monte Carlo band (they read a dataset ``with_bands`` changes): sent last.
BANDED_CHARTS = frozenset(name for name, sets in C.DATASETS.items() if set(sets) & set(BANDED))


class Explorer(W.VBox):
    """Controls, headline and live charts, wired: moving a control re-evaluates and updates in place."""

    scenario_value = traitlets.Dict(help="the last valid scenario, as JSON-like data")
    query = traitlets.Unicode(
        "", help="the last valid scenario as a link's query string (only changed fields)"
    )
    message = traitlets.Unicode("", help="the last error shown to the user, if any")
    catalog_changes = traitlets.Int(0, help="how many times the catalog was replaced (uploads, removals)")
    toolbar = traitlets.Instance(
        W.Widget, allow_none=True, help="shown above the headline, under the notes (the app's share panel)"
    )

    def __init__(self, cat: Catalog | None = None, scenario: Scenario | None = None, **kwargs: Any):
        self.cat = cat if cat is not None else load_catalog()
        s = scenario or Scenario()
        self.controls = ScenarioControls(self.cat, s, layout=W.Layout(width="390px", min_width="390px"))
        self.controls.add_class("ax-controls")
        self.boundary = W.Dropdown(
            options=[("device", "device"), ("server wall", "wall"), ("facility (x PUE)", "facility")],
            value="facility",
            **described(
                "Power at",
                "Where the power chart measures each option's power: at the devices (their rated board or "
                "chip power at the fleet's load), at the server wall (the devices plus their share of the "
                "host), or at the facility (the server wall times the PUE)",
            ),
            layout=W.Layout(width="260px"),
        )
        self.headline = PatchedHTML()
        self.apis = PatchedHTML()  # the serverless APIs for an LLM workload (views_api.api_options_html)
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
        self.apis.value = api_options_html(self.result, self.cat, style=False)
        self.controls.show_values_in_use(self.result.inputs)
        self.evaluations = 1

        ch = self.charts
        # the charts, in the order of their declaration (explorer.charts.CHARTS), keep their drawn width
        # and wrap onto as many rows as the window needs: two side by side from about 1400 px, one under
        # the other at 1280 px; nothing is cut off or scrolls sideways. The ranked costs take a row of
        # their own: every device's row, and why the greyed ones are unavailable, in words that are too
        # long for half of a laptop screen
        cells = []
        for name, live in ch.items():
            spec = C.CHART[name]
            cell = W.VBox([self.boundary, live.widget]) if spec.at_boundary else live.widget
            cells.append(cell.add_class("ax-wide") if spec.wide else cell)
        grid = W.Box(
            cells,
            layout=W.Layout(flex_flow="row wrap", grid_gap="8px 16px", width="100%"),
        ).add_class("ax-charts")
        self.top = W.VBox([self.notes, self.errors])  # and the toolbar, when there is one
        right = W.VBox(
            [self.top, self.headline, grid, self.apis], layout=W.Layout(flex="1 1 auto", min_width="0")
        )
        body = W.HBox([self.controls, right], layout=W.Layout(width="100%", align_items="flex-start"))
        super().__init__([W.HTML(CSS + TABLE_CSS), body], **kwargs)  # the API table's style, once
        self.controls.observe(self._on_controls, names=["value"])
        self.controls.observe(
            lambda change: self._show_error(change["new"]) if change["new"] else None, names=["input_error"]
        )
        self.boundary.observe(self._on_controls, names=["value"])
        self.observe(self._show_toolbar, names=["toolbar"])

    def _show_toolbar(self, change: dict[str, Any]) -> None:
        self.top.children = [self.notes, self.errors, *([change["new"]] if change["new"] else [])]

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
        # "requests_per_day: abc is not allowed" reads "Request volume (requests_per_day): ..." on the page:
        # the control's own label first, the field's id kept for a link or a scenario file
        field, sep, rest = text.partition(": ")
        name = field.split(".", 1)[0]
        if sep and name in FIELD_SPECS:
            text = f"{FIELD_SPECS[name].label} ({field}): {rest}"
        self.errors.value = (
            f"<div class='ax-error' role='alert'><b>Not updated.</b> {html.escape(text)}. "
            "Your other settings are kept.</div>"
        )

    def update(self, scenario: Scenario) -> None:
        """Evaluate `scenario` and show it everywhere: headline, every chart, the link, the state.

        The one place a scenario becomes what the page shows, however it arrived (a control, a shared
        link, an uploaded scenario or price file, a reload). Nothing is published unless the scenario
        evaluates; then what the browser takes longest to draw goes first, so that it draws while the kernel
        computes the rest; ``scenario_value`` and ``query`` last, so an observer of them sees the headline
        and charts already updated.
        """
        old = self.result.scenario
        result = evaluate(scenario, self.cat)
        data = C.chart_data(result, self.cat, self.boundary.value)
        # The charts that do not draw the Monte Carlo band (most of a move's drawing) are sent first: the
        # browser draws them while the kernel computes the band, the rest of the charts and the headline.
        # Nothing is sent before the evaluation has succeeded.
        self._show_charts(old, scenario, data, [name for name in self.charts if name not in BANDED_CHARTS])
        # the API table does not draw the band either: the browser patches it while the band is computed
        self.apis.value = api_options_html(result, self.cat, style=False)
        bands = self._bands(scenario)
        self.headline.value = headline_html(result, bands)
        # the charts of the band last: the ranked costs' rows are the largest message of a move, and their
        # chart is under the headline (below the fold of a laptop screen)
        data = with_bands(data, result, bands.options if bands is not None else None)
        self._show_charts(old, scenario, data, [name for name in self.charts if name in BANDED_CHARTS])
        self.result, self.bands, self.data = result, bands, data
        self.evaluations += 1
        self.controls.show_values_in_use(result.inputs)
        self.scenario_value = scenario.to_dict()
        self.query = scenario.to_query(only_changed=True)
        if self.message:
            self.message = ""
            self.errors.value = ""

    def _show_charts(
        self, old: Scenario, scenario: Scenario, data: dict[str, pd.DataFrame], names: list[str]
    ) -> None:
        for name in names:
            live, spec = self.charts[name], C.CHART[name]
            # a chart's options (ChartSpec.options) are scenario fields that shape it (the month axis
            # spans horizon_years): a change of one is structural, so the chart is rebuilt
            options = {k: getattr(scenario, k) for k in spec.options}
            if any(getattr(old, k) != v for k, v in options.items()):
                live.replace(spec.chart(data, **options), data)
            else:
                live.push(data)

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

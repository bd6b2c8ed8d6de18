"""The app: the dashboard that the notebooks and the Voila app show, one widget with its parts by name.

`explorer_app` builds it, and the app notebook, the notebooks and the tests call it. An `ExplorerApp`
holds the controller (`explorer`: controls, headline, charts), the share panel (`share`: the link, the
downloads and the uploads), three collapsed sections built when first opened (`uncertainty`,
`validation`, `catalog`) and, for the public, the session watch. The HTML inside them comes from
`explorer.views`. The widget modules (which import altair) are imported when the app is built, after the
process is prepared (`explorer.startup`).
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import ipywidgets as W
import pandas as pd
import traitlets

from . import views
from .catalog import Catalog, load_catalog
from .columns import summary_fields
from .controls import described

# -- the catalog browser and the validation view -----------------------------------------------------


class CatalogBrowser(W.VBox):
    """Tabs showing the whole catalog, every figure with its source and date (`views.catalog_pages`)."""

    tabs = traitlets.Instance(W.Tab, help="one tab per page of the catalog")
    pages = traitlets.Dict(help="tab title -> the W.HTML showing that page")

    def __init__(self, cat: Catalog, **kwargs: Any):
        pages = {
            title: W.HTML(body, layout=W.Layout(overflow="auto", max_height="70vh"))
            for title, body in views.catalog_pages(cat).items()
        }
        tabs = W.Tab(children=list(pages.values()))
        for i, title in enumerate(pages):
            tabs.set_title(i, title)
        header = W.HTML(views.catalog_header_html(cat))
        super().__init__([header, tabs], tabs=tabs, pages=pages, **kwargs)


def catalog_browser(cat: Catalog | None = None) -> CatalogBrowser:
    """Tabs showing the whole catalog, every figure with its source and date."""
    return CatalogBrowser(cat if cat is not None else load_catalog())


def catalog_summary(cat: Catalog | None = None) -> pd.DataFrame:
    """The devices as a compact frame, for a quick look in JupyterLab: the fields of the device table's
    declared columns (``explorer.columns``), in canonical units."""
    cat = cat if cat is not None else load_catalog()
    return cat.devices[summary_fields()].sort_values(["segment", "kind", "id"]).reset_index(drop=True)


class ValidationView(W.VBox):
    """Leave-one-out validation: its text and tables (`views.validation_html`), then every residual on a
    chart whose tooltips name the measurement's source."""

    loo = traitlets.Instance(pd.DataFrame, help="the held-out results shown (`validate.leave_one_out`)")
    text = traitlets.Instance(W.HTML, help="the median error, the error per device group, the ranks")
    residuals = traitlets.Instance(W.DOMWidget, help="the chart of every held-out estimate")


def validation_view(cat: Catalog) -> ValidationView:
    """Leave-one-out validation: error per device group, rank agreement, and every residual on a chart
    whose tooltips name the measurement's source."""
    from .charts import validation_chart
    from .runtime import chart_view
    from .validate import (
        TARGET_ERROR,
        leave_one_out,
        market_check,
        measured_by_us,
        summarise,
        summarise_market,
    )

    loo = leave_one_out(cat)
    per_result = summarise(leave_one_out(cat, "result"))
    market = summarise_market(market_check(cat))
    ours = measured_by_us(cat)
    text = W.HTML(views.validation_html(loo, summarise(loo), TARGET_ERROR, per_result, market, ours))
    residuals = chart_view(validation_chart(loo))
    return ValidationView([text, residuals], loo=loo, text=text, residuals=residuals)


# -- one model per distinct layout and style ----------------------------------------------------------


def share_styles(root: W.Widget) -> int:
    """Let the widgets under ``root`` share one Layout or Style model per distinct state; returns how many
    models were closed.

    ipywidgets gives every widget a Layout and most a Style of their own: 238 of the app's 375 models,
    in 27 distinct states. Each is a model the kernel opens and sends and the page creates before the first
    chart shows. Identical ones are merged into one (a model may back many views): 225 models are left, 199
    since the containers' layouts are merged too (they had been kept apart; 20 of 32 were empty; in
    interleaved pre-started loads the page's first chart came 3-5 % sooner). Widgets marked
    ``keeps_own_layout`` (the controls hide a field's box through its layout) keep their own; a shared model
    refuses any change, so a later ``w.layout.display = ...`` fails at once rather than hide every widget
    sharing it.
    """
    canon: dict[tuple[str, str], W.Widget] = {}
    closed = 0
    for w in list(_tree(root)):
        for trait in ("layout", "style"):
            model = getattr(w, trait, None) if trait in w.keys else None
            own = getattr(w, "keeps_own_layout", False)
            if not isinstance(model, W.Widget) or (trait == "layout" and own):
                continue
            state = {k: v for k, v in model.get_state().items() if not k.startswith("_")}
            key = (type(model).__name__, json.dumps(state, sort_keys=True, default=str))
            shared = canon.setdefault(key, model)
            if shared is model:
                continue
            setattr(w, trait, shared)
            model.close()
            closed += 1
    for model in canon.values():  # their synced state (a model's own machinery, its comm, may still change)
        model._register_validator(_refuse_change, tuple(k for k in model.keys if not k.startswith("_")))
    return closed


def _refuse_change(_model: Any, proposal: Any) -> Any:
    """A cross-validator (it runs before a value is set): a shared model's state never changes."""
    what = type(proposal.owner).__name__
    if proposal.value == getattr(proposal.owner, proposal.trait.name):
        return proposal.value  # setting what it is already changes nothing
    raise AttributeError(
        f"this {what} is shared by several widgets (explorer.app.share_styles): give the widget a {what} "
        f"of its own before changing {proposal.trait.name}"
    )


def _tree(root: W.Widget) -> Any:
    """Every widget reachable from ``root`` through its synced traits, once."""
    seen: set[int] = set()
    stack: list[Any] = [root]
    while stack:
        w = stack.pop()
        if not isinstance(w, W.Widget) or id(w) in seen:
            continue
        seen.add(id(w))
        yield w
        stack.extend(_referenced(w))


def _referenced(w: W.Widget) -> list[Any]:
    """What a widget's synced traits hold (the widgets among them are the ones its state refers to)."""
    out: list[Any] = []
    for name in w.keys:
        value = getattr(w, name, None)
        if isinstance(value, dict):
            value = list(value.values())
        out.extend(value if isinstance(value, (list, tuple)) else [value])
    return out


def _open_tree(w: Any, done: set[int]) -> None:
    """Open ``w`` and every widget it refers to, each after the widgets it refers to (its state names
    theirs by model id, which needs their comm)."""
    if not isinstance(w, W.Widget) or id(w) in done:
        return
    done.add(id(w))
    for ref in _referenced(w):
        _open_tree(ref, done)
    w.open()
    w.__dict__.pop("_repr_mimebundle_", None)  # ``close`` hid the class's: the widget shows itself again


# -- the sections ------------------------------------------------------------------------------------


class LazySection(W.Accordion):
    """A collapsed section whose content is built the first time it is opened (the first page stays light).

    ``rebuild()`` builds an opened section's content anew (the catalog changed: an upload shows in it).
    """

    content = traitlets.Instance(W.Widget, allow_none=True, help="what the section shows, once opened")

    def __init__(self, title: str, build: Callable[[], W.Widget], **kwargs: Any):
        self._build = build
        super().__init__(children=[W.VBox()], selected_index=None, **kwargs)
        self.set_title(0, title)
        self.observe(self._opened, names=["selected_index"])

    def _opened(self, change: dict[str, Any]) -> None:
        if change["new"] == 0 and self.content is None:
            self._show()

    def rebuild(self) -> None:
        if self.content is not None:
            self._show()

    def _show(self) -> None:
        self.content = self._build()
        self.children[0].children = [self.content]


class UncertaintySection(W.Accordion):
    """How sure is this: the tornado and the break-even map, built when first opened; from then on they
    follow the explorer's scenario and catalog (their rows pushed, the charts not rebuilt)."""

    explorer = traitlets.Instance("explorer.widgets.Explorer", help="the controller whose scenario is shown")
    live = traitlets.Dict(
        help="the live charts by name (the section's charts in explorer.charts.CHARTS), once opened"
    )

    def __init__(self, explorer: Any, **kwargs: Any):
        super().__init__(children=[W.VBox()], selected_index=None, explorer=explorer, **kwargs)
        self.set_title(0, "How sure is this? What moves the answer, and where GPUs or accelerators win")
        self.observe(self._refresh, names=["selected_index"])
        explorer.observe(self._refresh, names=["scenario_value", "catalog_changes"])

    def _refresh(self, _change: Any = None) -> None:
        if self.selected_index != 0:
            return
        from .charts import CHARTS, uncertainty_data

        data = uncertainty_data(self.explorer.result.scenario, self.explorer.cat)
        if self.live:  # opened before: only the charts' rows change
            for live in self.live.values():
                live.push(data)
            return
        from .live import LiveChart

        live = {c.name: LiveChart(c.name, c.chart(data), data) for c in CHARTS if c.section == "uncertainty"}
        self.children[0].children = [W.HBox([chart.widget for chart in live.values()])]
        self.live = live


# -- the share panel ---------------------------------------------------------------------------------


class SharePanel(W.VBox):
    """The link bar (always in view: it keeps the address bar equal to the deep link) and, collapsed under
    it, the downloads (scenario JSON, results CSV, report HTML, chart PNG/SVG), the uploads and their status.
    """

    explorer = traitlets.Instance("explorer.widgets.Explorer", help="the controller whose results are shared")
    link = traitlets.Instance("explorer.share.LinkBar", help="the scenario's link, copied with one click")
    tools = traitlets.Instance(W.Accordion, help="the collapsed downloads and uploads")
    buttons = traitlets.Dict(help="download label -> its button, in the order shown")
    chart_pick = traitlets.Instance(W.Dropdown, help="which chart the PNG and SVG buttons download")
    downloader = traitlets.Instance("explorer.share.Downloader", help="sends a file to the browser")
    uploads = traitlets.Instance(SimpleNamespace, help="the upload controls (`share.upload_section`)")
    status = traitlets.Instance(W.HTML, help="what the last download or upload did, or why it failed")

    def __init__(self, explorer: Any, **kwargs: Any):
        from .charts import CHART, PAGE_CHARTS
        from .share import Downloader, LinkBar, upload_section

        link = LinkBar(query=explorer.query)
        W.dlink((explorer, "query"), (link, "query"))  # the link is part of the one update (Explorer.update)
        chart_pick = W.Dropdown(
            options=[(CHART[name].title, name) for name in PAGE_CHARTS],  # the page's grid
            value="cost_per_request",
            **described("Chart", "The chart the PNG and SVG buttons download, as the page draws it now"),
            layout=W.Layout(width="300px"),
        )
        buttons = {
            label: W.Button(description=label, tooltip=f"Download {label}", layout=W.Layout(width="auto"))
            for label in ("Scenario (JSON)", "Results (CSV)", "Report (HTML)", "PNG", "SVG")
        }
        status = W.HTML()
        downloads = W.HBox(
            [
                W.HTML("<b>Download</b>&nbsp;"),
                buttons["Scenario (JSON)"],
                buttons["Results (CSV)"],
                buttons["Report (HTML)"],
                chart_pick,
                buttons["PNG"],
                buttons["SVG"],
            ],
            layout=W.Layout(align_items="center", flex_flow="row wrap"),
        )
        tools = W.Accordion(selected_index=None)
        uploads = upload_section(
            explorer,
            self.say,
            status,
            reveal=lambda: setattr(tools, "selected_index", 0),
            in_use=link.uploads_in_use,
        )
        downloader = Downloader()
        tools.children = [
            W.VBox([downloads, uploads.row, uploads.listing, status, downloader, uploads.keeper])
        ]
        tools.set_title(0, "Download or upload: scenario, results, report, charts, your own prices")
        super().__init__(
            [link, tools],
            explorer=explorer,
            link=link,
            tools=tools,
            buttons=buttons,
            chart_pick=chart_pick,
            downloader=downloader,
            uploads=uploads,
            status=status,
            **kwargs,
        )
        for label, button in buttons.items():
            button.on_click(lambda _button, label=label: self.download(label))

    def say(self, text: str, ok: bool = True) -> None:
        """Show `text` in the status line (a note, or an error); empty clears it."""
        cls = "ax-note" if ok else "ax-error"
        self.status.value = f"<div class='{cls}' role='status'>{html.escape(text)}</div>" if text else ""

    def download(self, label: str) -> None:
        """Send the file that the button `label` names; a failure is said in the status line, not raised."""
        from . import export
        from .charts import build_all

        ex = self.explorer
        s = ex.result.scenario
        stem = f"accel-explorer-{s.workload}-{s.deployment}"
        chart = self.chart_pick.value
        try:
            if label == "Scenario (JSON)":
                self.downloader.download(f"{stem}.json", export.scenario_json(ex.result), "application/json")
            elif label == "Results (CSV)":
                self.downloader.download(f"{stem}.csv", export.results_csv(ex.result), "text/csv")
            elif label == "Report (HTML)":
                report = export.report_html(ex.result, ex.cat, ex.bands, boundary=ex.boundary.value)
                self.downloader.download(f"{stem}-report.html", report, "text/html")
            elif label in ("PNG", "SVG"):
                figure = build_all(ex.data, s.horizon_years)[chart]
                if label == "PNG":
                    self.downloader.download(f"{stem}-{chart}.png", export.chart_png(figure), "image/png")
                else:
                    self.downloader.download(f"{stem}-{chart}.svg", export.chart_svg(figure), "image/svg+xml")
        except Exception as err:  # shown, never raised into the kernel log only
            self.say(f"Export failed ({type(err).__name__}: {err})", ok=False)


def share_panel(explorer: Any, base_dirs: list[Any] | None = None) -> SharePanel:
    """Copy link, downloads (scenario JSON, results CSV, report HTML, chart PNG/SVG) and uploads."""
    return SharePanel(explorer)


# -- the app -----------------------------------------------------------------------------------------


class ExplorerApp(W.VBox):
    """The dashboard: how to read it, the controller with its share panel, then the collapsed sections."""

    explorer = traitlets.Instance("explorer.widgets.Explorer", help="controls, headline and live charts")
    share = traitlets.Instance(SharePanel, help="the link, the downloads and the uploads")
    uncertainty = traitlets.Instance(UncertaintySection, help="the section: how sure is this?")
    validation = traitlets.Instance(LazySection, help="the section: how good are these estimates?")
    catalog = traitlets.Instance(LazySection, help="the section: the catalog and its sources")
    session_watch = traitlets.Instance(
        W.Widget, allow_none=True, help="says 'session ended, reload' if the kernel goes away (public only)"
    )
    public = traitlets.Bool(False, help="built for the public (under Voila): the session is watched")
    prebuilt = False  # built by the fork server before this kernel existed (``prebuild_app``)

    def __init__(self, cat: Catalog | None = None, *, public: bool = False, **kwargs: Any):
        from .widgets import Explorer

        explorer = Explorer(cat if cat is not None else load_catalog())
        share = SharePanel(explorer)
        explorer.toolbar = share
        # the sections read the explorer's catalog when they are built: a visitor's upload shows in them too
        catalog = LazySection("Catalog and sources", lambda: catalog_browser(explorer.cat))
        validation = LazySection(
            "How good are these estimates? Held-out estimates against measurements",
            lambda: validation_view(explorer.cat),
        )
        uncertainty = UncertaintySection(explorer)
        parts = [W.HTML(views.HOW_TO_READ), explorer, uncertainty, validation, catalog]
        watch = None
        if public:  # says "session ended, reload" if the kernel behind the page goes away
            from .session import SessionWatch

            watch = SessionWatch()
            parts.append(watch)
        super().__init__(
            parts,
            explorer=explorer,
            share=share,
            uncertainty=uncertainty,
            validation=validation,
            catalog=catalog,
            session_watch=watch,
            public=public,
            **kwargs,
        )
        explorer.observe(self._rebuild_sections, names=["catalog_changes"])
        share_styles(self)

    def _rebuild_sections(self, _change: Any) -> None:
        """The catalog changed (an upload): an opened section shows the new one."""
        self.catalog.rebuild()
        self.validation.rebuild()

    def apply_query(self, query: str) -> None:
        """Show a shared link's scenario (one update; none for no query); see `apply_query`."""
        from .calc import context_error
        from .scenario import from_query_lenient, known_ids

        explorer = self.explorer
        scenario, notes = from_query_lenient(query or "", known_ids(explorer.cat))
        err = context_error(explorer.cat, scenario)
        if err is not None:  # tokens past the model's context window: the workload's own figures instead
            scenario = scenario.replace(input_tokens=None, output_tokens=None)
            notes = [*notes, f"{err}; the workload's own tokens are used"]
        if scenario != explorer.result.scenario:
            explorer.set_scenario(scenario)
        explorer.show_notes(["Some settings in the link were not used:", *notes] if notes else [])


def apply_query(app: ExplorerApp, query: str) -> None:
    """Show a shared link's scenario in an app built by `explorer_app` (one update; none for no query).

    ``query`` is the page's URL query string. A bad or unknown value falls back to that field's default,
    with a note saying why. The Voila app builds itself first and applies the visitor's query afterwards:
    a pre-started kernel has the whole app ready when its visitor arrives, and only this step waits.
    """
    app.apply_query(query)


def explorer_app(cat: Catalog | None = None, query: str | None = None) -> ExplorerApp:
    """The dashboard that the Voila app and the notebooks show.

    ``query`` is the page's URL query string (Voila passes it to the kernel): a shared link restores its
    scenario (`apply_query`). Under Voila the kernel is also hardened for the public (`explorer.session`),
    and a kernel forked from the fork server takes the app it built (`prebuild_app`) instead of building
    one.
    """
    from .startup import prepare_process

    prepare_process()  # before the widgets import altair
    from .session import harden_kernel, under_voila

    public = under_voila()
    if public:  # the public app: no traceback reaches a visitor's browser, whatever goes wrong
        harden_kernel()
    app = _take_prebuilt(cat if cat is not None else load_catalog()) if public else None
    if app is None:
        app = ExplorerApp(cat, public=public)
    if query:
        app.apply_query(query)
    return app


# -- built before the visitor arrives ------------------------------------------------------------------

#: The public app the fork server built before forking (``prebuild_app``): each forked kernel has its own
#: copy of it, which the kernel's first ``explorer_app`` takes.
_PREBUILT: list[ExplorerApp] = []


def prebuild_app(cat: Catalog) -> ExplorerApp:
    """Build the public app in a process that has no kernel yet (the fork server, ``explorer.forkserver``),
    to be taken by each kernel forked from it: a visitor's kernel then opens the app's widgets instead of
    building them (the build was about a third of a cold page's wait in the kernel). Its widgets are
    built with placeholder comms (the ``comm`` package's, where there is no kernel) and closed; the kernel
    opens them with its own, under the same model ids, when it takes the app.
    """
    app = ExplorerApp(cat, public=True)
    # Closed until a kernel takes it: ipywidgets answers a page's request for the kernel's widget states
    # with every widget of its registry, so a page served by a kernel that builds its own (another
    # catalog) or none (another notebook) would otherwise receive this app's widgets too. A closed widget
    # keeps its model id, which ``open`` reuses.
    for w in _tree(app):
        w.close()
    _PREBUILT[:] = [app]
    return app


def _take_prebuilt(cat: Catalog) -> ExplorerApp | None:
    """The fork server's app with its widgets opened in this kernel, if it was built from ``cat`` (the
    catalog as it is now: ``load_catalog`` returns the same object while the files are unchanged); else
    None (the stale app stays closed)."""
    if not _PREBUILT:
        return None
    app = _PREBUILT.pop()
    if app.explorer.cat is not cat:
        return None
    _open_tree(app, set())  # a comm in this kernel for each, with the model id it was built with
    app.prebuilt = True  # (for the tests: a served kernel says whether it took the fork server's app)
    return app

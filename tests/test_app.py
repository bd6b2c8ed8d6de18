"""The app: built from Python first (no browser), then served by Voila to a real headless Chromium."""

from __future__ import annotations

import re
import shutil
import time

import ipywidgets as W
import pytest

from explorer import views
from explorer.app import catalog_browser, catalog_summary
from explorer.catalog import load_catalog

from .conftest import REPO
from .servers import browser_page, voila


@pytest.mark.slow
def test_catalog_browser_shows_every_device_with_sources() -> None:
    cat = load_catalog()
    browser = catalog_browser(cat)
    titles = [browser.tabs.get_title(i) for i in range(len(browser.tabs.children))]
    assert titles == list(browser.pages) and titles[0] == "Devices" and "Sources" in titles
    assert list(browser.tabs.children) == list(browser.pages.values())
    devices_html = browser.pages["Devices"].value
    assert devices_html == views.devices_html(cat), "the widget shows the view's HTML as it is"
    for name in cat.devices.name:
        assert name.replace("&", "&amp;") in devices_html or name in devices_html
    # every figure carries its source in a tooltip
    assert devices_html.count("title='") >= len(cat.devices) * 4
    assert browser.pages["Sources"].value.count("<a href=") >= 20
    # a device rented without a published price is listed with the reason, not left out (issue 15)
    prices = browser.pages["Prices"].value.split("without a published price")[1].split("<h4>")[0]
    assert "nvidia-gb300-nvl72" in prices and "&#x27;Contact sales&#x27;" in prices


def test_catalog_summary() -> None:
    df = catalog_summary()
    assert {"id", "power_w", "power_boundary"} <= set(df.columns)


@pytest.mark.slow
def test_catalog_and_sources_open_in_the_app(tmp_path) -> None:
    """The catalog browser loads when its section is opened (not before: the first page stays light)."""
    with voila(REPO / "notebooks" / "app.ipynb") as url, browser_page() as page:
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url, timeout=120_000)
        page.locator(".vega-embed svg").nth(5).wait_for(timeout=120_000)
        assert "figures, each with its source" not in page.inner_text("body")
        page.get_by_text("Catalog and sources", exact=True).last.click()
        page.get_by_text("figures, each with its source").first.wait_for(timeout=30_000)
        body = page.inner_text("body")
        assert "Traceback" not in body and f"{len(load_catalog().devices)} devices" in body
        page.get_by_role("tab", name="Framework support").click()
        page.get_by_text("nvidia-h100-sxm").first.wait_for(timeout=10_000)
        page.get_by_role("tab", name="Sources").click()
        page.get_by_role("link", name="NVIDIA", exact=False).first.wait_for(timeout=10_000)
        page.screenshot(path=str(REPO / ".pytest_cache" / "catalog.png"), full_page=False)
        # the validation view: its headline figure is the one the library computes
        from explorer.validate import leave_one_out, summarise

        median = summarise(leave_one_out(load_catalog())).median_error
        page.get_by_text("How good are these estimates?", exact=False).first.click()
        page.get_by_text("Median error over").first.wait_for(timeout=60_000)
        assert f"{median:.0%}" in page.locator(".ax-cap", has_text="Median error over").inner_text()
        page.locator(".vega-embed svg").nth(6).wait_for(timeout=60_000)
        # how sure is this: the tornado and the break-even map render, and follow the controls
        page.get_by_text("How sure is this?", exact=False).first.click()
        tornado = page.locator(".vega-embed", has_text="What moves the answer")
        tornado.locator("svg").wait_for(timeout=60_000)
        page.locator(".vega-embed", has_text="Where GPUs win").locator("svg").wait_for(timeout=60_000)
        before = tornado.inner_html()
        page.get_by_role("button", name="Bare metal").click()
        deadline = time.monotonic() + 30
        # a chart off screen draws its latest data when it comes into view (explorer/js/chart_loader.js):
        # the tornado, below the fold once the button is clicked, is scrolled to, as a reader would
        while tornado.inner_html() == before and time.monotonic() < deadline:
            tornado.scroll_into_view_if_needed()
            page.wait_for_timeout(100)
        assert tornado.inner_html() != before, "the tornado follows the controls"
        assert "P10-P90" in page.locator(".ax-headline").inner_text()
        assert not errors, errors


def _text(widget: W.Widget) -> str:
    """Every HTML and label text in a widget tree."""
    own = getattr(widget, "value", "") if isinstance(widget, W.HTML | W.Label) else ""
    return own + "".join(_text(c) for c in getattr(widget, "children", ()))


@pytest.mark.slow
def test_an_upload_reaches_the_uncertainty_view_and_the_catalog_browser(catalog_copy) -> None:
    """A new catalog (an uploaded price) is what the tornado, the break-even map and the price table
    read from then on, not the catalog the app started with."""
    from explorer.app import explorer_app

    app = explorer_app(load_catalog())
    uncertainty, catalog = app.uncertainty, app.catalog
    assert uncertainty.live == {} and catalog.content is None, "built when first opened, not before"
    uncertainty.selected_index = 0
    catalog.selected_index = 0
    tornado = uncertainty.live["tornado"]
    shown = catalog.content
    before = tornado.datasets["tornado"]
    # the tornado is the recommended option's total: raise that device's first cloud price tenfold
    prices = catalog_copy / "prices" / f"{app.explorer.result.recommendation.device_id}.toml"
    text = prices.read_text(encoding="utf-8")
    row = re.search(r"^chips = (\d+)\nprice = \{ value = ([\d.]+),", text, re.M)
    chips, raised = int(row[1]), float(row[2]) * 10
    per_chip = f"<td class='num'>{raised / chips:.2f}</td>"  # the browser shows USD per chip-hour
    assert per_chip not in _text(catalog)
    raised_text = text.replace(row[0], f"chips = {chips}\nprice = {{ value = {raised:g},", 1)
    prices.write_text(raised_text, encoding="utf-8")
    app.explorer.set_catalog(load_catalog(base=catalog_copy))
    assert tornado.datasets["tornado"] != before
    assert per_chip in _text(catalog) and catalog.content is not shown


@pytest.mark.slow
def test_the_app_holds_its_parts_by_name() -> None:
    """Each part is a trait of the app, and the page shows each of them (none only referenced)."""
    from explorer.app import ExplorerApp, explorer_app
    from explorer.widgets import Explorer

    app = explorer_app(load_catalog())
    assert isinstance(app, ExplorerApp) and isinstance(app.explorer, Explorer)
    assert not app.public and app.session_watch is None, "no session watch outside Voila"
    shown = list(app.children)
    for part in (app.explorer, app.uncertainty, app.validation, app.catalog):
        assert part in shown
    assert app.explorer.toolbar is app.share and app.share in app.explorer.top.children
    assert app.share.link in app.share.children and app.share.tools in app.share.children
    assert app.validation.get_title(0).startswith("How good are these estimates?")
    assert app.catalog.get_title(0) == "Catalog and sources"


def test_identical_layouts_and_styles_are_one_model_and_a_shared_one_refuses_changes() -> None:
    """The page creates every widget model before its first chart: the app's leaves share one Layout or
    Style model per distinct state (explorer.app.share_styles), containers too, except the boxes the
    controls hide a field through (each keeps its own), and a shared model refuses a change that would
    restyle all its sharers."""
    from explorer.app import ExplorerApp, _tree, share_styles

    app = ExplorerApp(load_catalog())
    widgets = list(_tree(app))
    leaves = [w for w in widgets if "layout" in w.keys and not isinstance(w, W.Box)]
    layouts = {id(w.layout) for w in leaves}
    assert len(leaves) > 60 and len(layouts) <= len(leaves) / 4  # 27 distinct states among ~240 models
    styles = [w.style for w in widgets if "style" in w.keys and isinstance(w.style, W.Widget)]
    assert len({id(s) for s in styles}) <= len(styles) / 3
    own = [w for w in widgets if getattr(w, "keeps_own_layout", False)]
    assert own and len({id(b.layout) for b in own}) == len(own)  # each field's box keeps its own
    boxes = [w for w in widgets if isinstance(w, W.Box) and not getattr(w, "keeps_own_layout", False)]
    assert len({id(b.layout) for b in boxes}) <= len(boxes) / 3  # 32 containers, 7 distinct states
    others = {id(w.layout) for w in widgets if "layout" in w.keys and w not in own}
    assert not {id(b.layout) for b in own} & others  # and shares it with nobody
    assert len({w.model_id for w in widgets}) < 210  # 225 before the containers' layouts were merged
    assert share_styles(app) == 0  # merged once: nothing left to merge
    shared = app.explorer.headline.layout
    with pytest.raises(AttributeError, match="shared by several widgets"):
        shared.width = "10px"
    assert shared.width is None  # refused before any sharer changed
    shared.width = None  # setting what it is already is no change
    # a field shown only for some values hides and shows through its control's own layout
    ctl = app.explorer.controls
    hidden = {n for n, b in ctl.boxes.items() if b.layout.display == "none"}
    assert hidden and all(ctl.boxes[n].keeps_own_layout for n in hidden)
    for n in hidden:
        ctl.boxes[n].layout.display = None  # its own: allowed, and no other control moves
    assert all(b.layout.display is None for b in ctl.boxes.values())


@pytest.mark.slow
def test_a_kernel_takes_the_app_the_fork_server_built(tmp_path, monkeypatch) -> None:
    """The fork server builds the public app before any kernel exists (`prebuild_app`); a kernel's first
    `explorer_app` takes it, each widget under a new comm with the model id the other widgets' states
    refer to, and shows the same answer as an app built in the kernel. Built from another catalog (a file
    changed since the server started), it is closed and the kernel builds its own."""
    import explorer.session
    from explorer.app import _tree, explorer_app, prebuild_app
    from explorer.export import scenario_json

    monkeypatch.setattr(explorer.session, "under_voila", lambda: True)
    from ipywidgets.widgets.widget import _instances as registry  # what a page's request for states gets

    cat = load_catalog()
    built = prebuild_app(cat)
    before = {id(w): w._model_id for w in _tree(built)}
    assert len(before) > 150 and not set(before.values()) & set(registry), "closed until taken"
    app = explorer_app(cat)
    assert app is built and app.prebuilt and app.public
    after = {id(w): w.model_id for w in _tree(app)}
    assert after == before, "each widget opened under the model id the other widgets' states refer to"
    assert all(registry[m] is w for m, w in zip(after.values(), _tree(app), strict=True))
    assert "application/vnd.jupyter.widget-view+json" in app._repr_mimebundle_()
    fresh = explorer_app(cat)  # taken once: the next is built
    assert fresh is not app and not fresh.prebuilt
    assert scenario_json(app.explorer.result) == scenario_json(fresh.explorer.result)

    stale = prebuild_app(cat)
    (tmp_path / "regions").mkdir()  # another catalog object: a user folder restating one region
    shutil.copy(REPO / "catalog" / "regions" / "us-average.toml", tmp_path / "regions")
    changed = load_catalog(tmp_path)
    own = explorer_app(changed)
    assert own is not stale and not own.prebuilt and own.explorer.cat is changed
    assert all(w.comm is None for w in _tree(stale)), "the stale app stays closed"

"""The Voila app in a real headless Chromium: loads offline, answers, and follows the controls."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from explorer import fmt
from explorer.calc import evaluate
from explorer.catalog import load_catalog
from explorer.controls import MIX_PRESETS
from explorer.scenario import Scenario
from explorer.uncertainty import monte_carlo
from explorer.widgets import HEADLINE_DRAWS

from .conftest import REPO
from .journeys import drawn_rows, mismatches
from .servers import browser_page, record_external_requests, voila, wait_for

pytestmark = pytest.mark.slow
CAT = load_catalog()
APP = REPO / "notebooks" / "app.ipynb"
SHOTS = REPO / ".pytest_cache"


def drawn(chart) -> str:
    """What a chart draws, seen as a reader sees it: a chart off screen draws its latest data when it
    scrolls into view (explorer/js/chart_loader.js), so it is scrolled into view first."""
    chart.scroll_into_view_if_needed()
    return chart.inner_html()


def test_rows_pushed_before_a_charts_first_draw_are_the_rows_it_draws() -> None:
    """The charts are first drawn one at a time (explorer/js/chart_loader.js); a move made while they wait
    pushes rows that their specs, the page's first, do not hold. Held back until the move is made, every
    chart must draw that move's scenario, not the page's first one."""
    with voila(APP) as url, browser_page() as page:
        page.add_init_script(
            "globalThis.__accelExplorerCharts = {hold: new Promise((r) => (globalThis.__axRelease = r))}"
        )
        page.goto(url, timeout=120_000)
        headline = page.locator(".ax-headline .ax-name")
        headline.wait_for(timeout=120_000)
        first = page.locator(".ax-headline").inner_text()
        assert page.locator(".vega-embed svg").count() == 0, "the first draws wait"
        s = Scenario(workload="sdxl", requests_per_day=1e6)
        name = CAT.workloads.set_index("id").name["sdxl"]
        page.get_by_role("combobox", name="Workload").select_option(label=name)
        page.locator(".ax-typed-requests_per_day input").fill("1M")
        page.locator(".ax-typed-requests_per_day input").press("Enter")
        wait_for(lambda: page.locator(".ax-headline").inner_text() != first, what="the headline to change")
        wait_for(lambda: headline.inner_text() == evaluate(s).recommendation.name, what="the new answer")
        page.evaluate("globalThis.__axRelease()")
        page.locator(".vega-embed svg").nth(5).wait_for(timeout=60_000)
        problems = mismatches(s, CAT, drawn_rows(page))
        assert not problems, "\n".join(problems)


#: In the page before it loads: a frame counter (one per animation frame) and, for each chart, the frame in
#: which its drawing appeared (Vega's svg inside the chart's element), in the order they appeared.
FIRST_DRAWS = """
(() => {
  let frame = 0;
  const tick = () => { frame += 1; requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
  const drawn = (window.__axFirstDraws = []);
  const seen = new Set();
  new MutationObserver(() => {
    for (const el of document.querySelectorAll("[class*='ax-chart-']")) {
      const name = [...el.classList].find((c) => c.startsWith("ax-chart-"));
      if (!seen.has(name) && el.querySelector(".vega-embed svg, .vega-embed canvas")) {
        seen.add(name);
        drawn.push([name.slice("ax-chart-".length), frame]);
      }
    }
  }).observe(document, { subtree: true, childList: true });
})();
"""


def test_the_charts_are_first_drawn_one_at_a_time_in_page_order_each_shown_before_the_next() -> None:
    """The first chart is on screen before the second is drawn, and so on down the page
    (explorer/js/chart_loader.js): the page's first chart is not held back while Vega draws the other
    five. Each chart's widget imports the loader as a module of its own, so the queue lives in the page,
    not in the module; kept in the module, all six were drawn in one frame (the first shown 230 ms later,
    in a pre-started page: bench_browser.py --only load)."""
    from explorer import charts as C

    with voila(APP) as url, browser_page() as page:
        page.add_init_script(FIRST_DRAWS)
        page.goto(url, timeout=120_000)
        page.locator(".vega-embed svg").nth(len(C.PAGE_CHARTS) - 1).wait_for(timeout=120_000)
        drawn = page.evaluate("window.__axFirstDraws")
        in_page = page.evaluate(
            "[...document.querySelectorAll(\"[class*='ax-chart-']\")].map((el) =>"
            " [...el.classList].find((c) => c.startsWith('ax-chart-')).slice(9))"
        )
    assert sorted(in_page) == sorted(C.PAGE_CHARTS)
    assert [name for name, _ in drawn] == in_page, "drawn in page order"
    frames = [frame for _, frame in drawn]
    assert all(a < b for a, b in itertools.pairwise(frames)), f"a frame between draws: {drawn}"


def test_the_chart_code_starts_loading_when_its_runtime_arrives_not_when_a_chart_asks(tmp_path) -> None:
    """The kernel's AltairRuntime widget starts importing Vega as soon as its model exists in the page
    (explorer/js/chart_loader.js, `initialize`), while the page is still making its other widgets; the
    first chart then finds it loaded or loading. A page with the runtime and no chart shows it: the code is
    imported all the same (it used to wait for a chart's `render`)."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "from explorer.runtime import altair_runtime\n"
            "import ipywidgets as W\n"
            "runtime = altair_runtime()\n"
            "W.HTML('no chart here').add_class('ax-no-chart')"
        )
    ]
    path = tmp_path / "runtime_only.ipynb"
    nbformat.write(nb, path)
    with voila(path, pool_size=0) as url, browser_page() as page:
        page.goto(url, timeout=120_000)
        page.locator(".ax-no-chart").wait_for(timeout=120_000)
        wait_for(
            lambda: page.evaluate("globalThis.__accelExplorerAltair?.size ?? 0") == 1,
            what="the runtime's code to be imported",
        )
        loaded = page.evaluate(
            "async () => { const m = await [...globalThis.__accelExplorerAltair.values()][0];"
            " return typeof (m.default ?? m).render; }"
        )
        assert loaded == "function", "the import gives altair's chart module"
        assert page.locator(".vega-embed").count() == 0


def test_app_loads_offline_and_follows_the_controls() -> None:
    with voila(APP) as url, browser_page() as page:
        external = record_external_requests(page)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(url, timeout=120_000)
        headline = page.locator(".ax-headline")
        headline.wait_for(timeout=120_000)
        charts = page.locator(".vega-embed svg")
        charts.nth(5).wait_for(timeout=60_000)
        assert charts.count() == 6
        # the six charts run one copy of Vega, imported once, from the file the server sends by its digest
        # (explorer.bundle_files), not from 0.9 MB of the runtime widget's state
        assert page.evaluate("globalThis.__accelExplorerAltair.size") == 1
        digest = page.evaluate("[...globalThis.__accelExplorerAltair.keys()][0]")
        loaded = page.evaluate("performance.getEntriesByType('resource').map((r) => r.name)")
        assert any(u.endswith(f"/accel-explorer/charts/{digest}.js") for u in loaded), loaded

        body = page.inner_text("body")
        assert "Traceback" not in body and "Error" not in body
        first = headline.inner_text()
        assert "TOTAL, 3 YEARS" in first.upper() and "PER MILLION REQUESTS" in first.upper()
        expected = evaluate(Scenario()).recommendation.name
        assert page.locator(".ax-headline .ax-name").inner_text() == expected

        cost = page.locator(".vega-embed", has_text="Cost per million requests")
        name = page.locator(".ax-headline .ax-name")
        # another workload, at a typed volume: the headline names what a fresh evaluation gives for it (an
        # accelerator; the default LLM's answer is a GPU, which no framework mix moves)
        sdxl = Scenario(workload="sdxl", requests_per_day=1e6)
        chosen = evaluate(sdxl).recommendation
        assert chosen.plan == "accelerator", "the next step's change can be seen"
        sdxl_name = CAT.workloads.set_index("id").name["sdxl"]
        page.get_by_role("combobox", name="Workload").select_option(label=sdxl_name)
        page.locator(".ax-typed-requests_per_day input").fill("1M")
        page.locator(".ax-typed-requests_per_day input").press("Enter")
        wait_for(lambda: name.inner_text() == chosen.name, what=f"the headline to name {chosen.name}")
        wait_for(lambda: "1 M" in page.locator(".ax-controls").inner_text(), what="the volume's readout")
        expected = chosen.name
        # a framework mix with JAX research and CUDA code, changing weekly: the ranking moves to what the
        # model says for exactly that scenario (a GPU, where the scenario before gives an accelerator)
        jax_weekly = evaluate(
            dataclasses.replace(sdxl, framework_mix=MIX_PRESETS["JAX research"], model_changes_per_year=52)
        )
        assert jax_weekly.recommendation.name != expected
        page.get_by_role("combobox", name="Preset").select_option("JAX research")
        changes = page.locator(".ax-field-model_changes_per_year .noUi-handle")
        changes.focus()
        page.keyboard.press("End")
        wait_for(
            lambda: name.inner_text() == jax_weekly.recommendation.name,
            what=f"the headline to name {jax_weekly.recommendation.name}",
        )
        # the preset alone may already name that device: wait for the slider's own readout too
        wait_for(lambda: "weekly (52 per year)" in page.inner_text("body"), what="the weekly readout")
        wait_for(
            lambda: (
                name.inner_text() == jax_weekly.recommendation.name and "GPU plan" in headline.inner_text()
            ),
            what="the headline for the weekly JAX scenario",
        )
        page.screenshot(path=str(SHOTS / "app-jax.png"))
        first = headline.inner_text()

        before = drawn(cost)

        # move the request-volume slider: click near the right end of its track
        slider = page.locator(".ax-field-requests_per_day .noUi-target")
        slider.scroll_into_view_if_needed()
        track = slider.bounding_box()
        page.mouse.click(track["x"] + track["width"] * 0.92, track["y"] + track["height"] / 2)
        wait_for(lambda: headline.inner_text() != first, what="the headline to change")
        wait_for(lambda: drawn(cost) != before, what="the cost chart to change")
        page.screenshot(path=str(SHOTS / "app-volume.png"))

        # edge: data-centre devices become unavailable, with the reason shown greyed in the chart
        page.get_by_role("button", name="Edge").click()
        wait_for(lambda: "not an edge device" in drawn(cost), what="the edge availability to show")
        edge_names = set(CAT.devices[CAT.devices.segment == "edge"].name)
        wait_for(lambda: any(n in headline.inner_text() for n in edge_names), what="an edge device first")

        # a bad typed value: a clear message, the app keeps working
        page.get_by_text("Assumptions", exact=True).last.click()
        box = page.get_by_role("textbox", name="Electricity price")
        box.fill("cheap")
        box.press("Enter")
        wait_for(
            # the control's label leads, the field's id beside it
            lambda: "Electricity price (electricity_usd_per_kwh): cheap is not" in page.inner_text("body"),
            what="the error message",
        )
        assert box.input_value() == "cheap"
        box.fill("0.1")
        box.press("Enter")
        wait_for(lambda: "Not updated" not in page.inner_text("body"), what="the message to clear")
        assert not external, external
        assert not errors, errors


def test_deep_link_restores_the_scenario_and_exports_download(tmp_path) -> None:
    from explorer.export import CSV_COLUMNS

    with voila(APP) as url, browser_page() as page:
        page.goto(url + "?requests_per_day=2500000000.0&deployment=edge&utilization=7", timeout=120_000)
        headline = page.locator(".ax-headline")
        headline.wait_for(timeout=120_000)
        page.locator(".vega-embed svg").nth(5).wait_for(timeout=60_000)  # the page is fully wired
        body = page.inner_text("body")
        assert "2.5 B" in body, "the link's volume is restored"
        assert "utilization: 7 is not allowed" in body and "the default (0.6) is used instead" in body
        edge_names = set(CAT.devices[CAT.devices.segment == "edge"].name)
        assert any(n in headline.inner_text() for n in edge_names)
        # the tornado (in the section under the charts) draws the link's scenario
        edge, bare = (Scenario(requests_per_day=2.5e9, deployment=d) for d in ("edge", "bare-metal"))
        tornado = ("tornado",)
        page.get_by_text("How sure is this?", exact=False).first.click()
        page.locator(".ax-chart-tornado svg").wait_for(timeout=60_000)
        wait_for(
            lambda: not mismatches(edge, CAT, drawn_rows(page, tornado), tornado), what="the edge tornado"
        )
        assert mismatches(bare, CAT, drawn_rows(page, tornado), tornado), "the check can fail"
        # the address bar follows the controls: it is always the deep link
        page.get_by_role("button", name="Bare metal").click()

        def href() -> str:  # page.url is a cached copy, updated only while Playwright runs
            return page.evaluate("location.href")

        wait_for(lambda: "deployment=bare-metal" in href(), what="the URL to follow the control")
        assert "requests_per_day=2500000000&" in href() and "utilization" not in href()
        # the tornado, off screen while the control was clicked, draws the new scenario once scrolled to
        wait_for(
            lambda: not mismatches(bare, CAT, drawn_rows(page, tornado), tornado),
            timeout=60,
            what="the tornado to draw the bare-metal scenario",
        )

        # the link, opened again, gives the same answer
        again = page.context.browser.new_page()
        again.goto(href(), timeout=120_000)
        again.locator(".vega-embed svg").nth(5).wait_for(timeout=120_000)
        wait_for(
            lambda: headline.inner_text() == again.locator(".ax-headline").inner_text(),
            what="the same headline from the shared link",
        )
        again.close()

        page.get_by_text("Download or upload", exact=False).first.click()
        with page.expect_download(timeout=60_000) as info:
            page.get_by_role("button", name="Results (CSV)").click()
        target = tmp_path / info.value.suggested_filename
        info.value.save_as(target)
        assert target.name.endswith(".csv")
        assert target.read_text(encoding="utf-8").splitlines()[0] == ",".join(CSV_COLUMNS)
        with page.expect_download(timeout=60_000) as info:
            page.get_by_role("button", name="Report (HTML)").click()
        report = tmp_path / info.value.suggested_filename
        info.value.save_as(report)
        assert "<svg" in report.read_text(encoding="utf-8")

        # a total above its own P10-P90 band (list prices at the top of their ranges) says why, as a fresh
        # evaluation with the page's draws does
        link = url + "?workload=resnet-50&deployment=bare-metal"
        s = Scenario(workload="resnet-50", deployment="bare-metal")
        expected = fmt.band_note(evaluate(s, CAT), monte_carlo(s, CAT, draws=HEADLINE_DRAWS, seed=0))
        assert "above its P10-P90 band" in expected
        third = page.context.browser.new_page()
        third.goto(link, timeout=120_000)
        third.locator(".ax-headline .ax-band-note").wait_for(timeout=120_000)
        assert third.locator(".ax-headline .ax-band-note").inner_text() == expected
        third.close()

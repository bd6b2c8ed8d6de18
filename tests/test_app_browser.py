"""The Voila app in a real headless Chromium: loads offline, answers, and follows the controls."""

from __future__ import annotations

import time

import pytest

from explorer.calc import evaluate
from explorer.catalog import load_catalog
from explorer.scenario import Scenario
from explorer.widgets import MIX_PRESETS

from .conftest import REPO
from .servers import browser_page, voila

pytestmark = pytest.mark.slow
CAT = load_catalog()
APP = REPO / "notebooks" / "app.ipynb"
SHOTS = REPO / ".pytest_cache"


def _wait_for(predicate, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_app_loads_offline_and_follows_the_controls() -> None:
    with voila(APP) as url, browser_page() as page:
        external: list[str] = []
        errors: list[str] = []
        page.on(
            "request",
            lambda r: (
                external.append(r.url)
                if not r.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:"))
                else None
            ),
        )
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(url, timeout=120_000)
        headline = page.locator(".ax-headline")
        headline.wait_for(timeout=120_000)
        charts = page.locator(".vega-embed svg")
        charts.nth(5).wait_for(timeout=60_000)
        assert charts.count() == 6

        body = page.inner_text("body")
        assert "Traceback" not in body and "Error" not in body
        first = headline.inner_text()
        assert "TOTAL, 3 YEARS" in first.upper() and "PER MILLION REQUESTS" in first.upper()
        expected = evaluate(Scenario()).recommendation.name
        assert expected in first

        cost = page.locator(".vega-embed", has_text="Cost per million requests")
        # a framework mix with JAX research and CUDA code, changing weekly: the ranking moves to what the
        # model says for exactly that scenario (a GPU, where the default scenario gives an accelerator)
        jax_weekly = evaluate(Scenario(framework_mix=MIX_PRESETS["JAX research"], model_changes_per_year=52))
        assert jax_weekly.recommendation.name != expected
        page.get_by_role("combobox", name="Preset").select_option("JAX research")
        weekly = page.locator(".noUi-target").nth(2).bounding_box()  # model changes per year
        page.mouse.click(weekly["x"] + weekly["width"] - 1, weekly["y"] + weekly["height"] / 2)
        _wait_for(
            lambda: jax_weekly.recommendation.name in headline.inner_text(),
            what=f"the headline to name {jax_weekly.recommendation.name}",
        )
        assert "weekly" in page.inner_text("body") and "GPU plan" in headline.inner_text()
        page.screenshot(path=str(SHOTS / "app-jax.png"))
        first = headline.inner_text()

        before = cost.inner_html()

        # move the request-volume slider: click near the right end of its track
        track = page.locator(".noUi-target").first.bounding_box()
        page.mouse.click(track["x"] + track["width"] * 0.92, track["y"] + track["height"] / 2)
        _wait_for(lambda: headline.inner_text() != first, what="the headline to change")
        _wait_for(lambda: cost.inner_html() != before, what="the cost chart to change")
        page.screenshot(path=str(SHOTS / "app-volume.png"))

        # edge: data-centre devices become unavailable, with the reason shown greyed in the chart
        page.get_by_role("button", name="Edge").click()
        _wait_for(lambda: "not an edge device" in cost.inner_html(), what="the edge availability to show")
        edge_names = set(CAT.devices[CAT.devices.segment == "edge"].name)
        _wait_for(lambda: any(n in headline.inner_text() for n in edge_names), what="an edge device first")

        # a bad typed value: a clear message, the app keeps working
        page.get_by_text("Assumptions", exact=True).last.click()
        box = page.get_by_role("textbox", name="Electricity price")
        box.fill("cheap")
        box.press("Enter")
        _wait_for(
            lambda: "electricity_usd_per_kwh: cheap is not allowed" in page.inner_text("body"),
            what="the error message",
        )
        assert box.input_value() == "cheap"
        box.fill("0.1")
        box.press("Enter")
        _wait_for(lambda: "Not updated" not in page.inner_text("body"), what="the message to clear")
        assert not external, external
        assert not errors, errors

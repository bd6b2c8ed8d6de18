"""The app: built from Python first (no browser), then served by Voila to a real headless Chromium."""

from __future__ import annotations

import ipywidgets as W
import pytest

from explorer.app import catalog_browser, catalog_summary
from explorer.catalog import load_catalog

from .conftest import REPO
from .servers import browser_page, voila


def test_catalog_browser_shows_every_device_with_sources() -> None:
    cat = load_catalog()
    app = catalog_browser(cat)
    _header, tabs = app.children
    assert isinstance(tabs, W.Tab)
    titles = [tabs.get_title(i) for i in range(len(tabs.children))]
    assert titles[0] == "Devices" and "Sources" in titles
    devices_html = tabs.children[0].value
    for name in cat.devices.name:
        assert name.replace("&", "&amp;") in devices_html or name in devices_html
    # every figure carries its source in a tooltip
    assert devices_html.count("title='") >= len(cat.devices) * 4
    sources_html = tabs.children[titles.index("Sources")].value
    assert sources_html.count("<a href=") >= 20


def test_catalog_summary() -> None:
    df = catalog_summary()
    assert {"id", "power_w", "power_boundary"} <= set(df.columns)


@pytest.mark.slow
def test_app_in_voila_and_chromium(tmp_path) -> None:
    with voila(REPO / "notebooks" / "app.ipynb") as url, browser_page() as page:
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url, timeout=120_000)
        page.get_by_text("NVIDIA H100", exact=False).first.wait_for(timeout=120_000)
        body = page.inner_text("body")
        assert "Traceback" not in body and "Error" not in body.split("catalog", 1)[0]
        assert "figures, each with its source" in body and "26 devices" in body
        page.get_by_role("tab", name="Framework support").click()
        page.get_by_text("nvidia-h100-sxm").first.wait_for(timeout=10_000)
        page.screenshot(path=str(REPO / ".pytest_cache" / "app.png"), full_page=False)
        assert not errors, errors

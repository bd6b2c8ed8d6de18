"""Your own prices in a real browser: uploads add up, each figure from one says so and equals a fresh
evaluation, a refused file changes nothing, and the uploads outlive a killed kernel (the tab keeps them)."""

from __future__ import annotations

import csv
import io
import re
import signal
import tempfile
from pathlib import Path

import psutil
import pytest

from explorer.calc import evaluate
from explorer.catalog import load_catalog
from explorer.model.cost import market_offers
from explorer.scenario import Scenario
from explorer.uploads import SessionUploads

from .conftest import REPO
from .servers import browser_page, voila, wait_for
from .test_faults import kernel_pids, open_app, page_kernel

pytestmark = pytest.mark.slow
CAT = load_catalog()
APP = REPO / "notebooks" / "app.ipynb"
H100 = "nvidia-h100-sxm"
HEADER = "device,price_type,price,unit,as_of,source_title,source_url\n"
FILES = {
    # a negotiated H100 price, low enough to change the answer
    "prices.csv": HEADER
    + "H100 SXM,cloud,0.50,USD/GPU-hour,2026-10-01,Contract C-9,https://intranet.example.com/c9\n",
    # Excel's CSV UTF-8 in a semicolon locale: a byte-order mark and a decimal comma
    "l4.csv": "\ufeff"
    + HEADER.replace(",", ";")
    + "nvidia-l4;cloud;0,35;USD/chip-hour;2026-10-01;Quote L;https://intranet.example.com/l\n",
    "bad.csv": HEADER + "nvidia-l4,cloud,-3,USD/hour,2026-10-01,Q,https://intranet.example.com/q\n",
    "s.json": '{"workload": "gpt-9", "requests_per_day": 7000000000}',
}


def _expected(*names: str):
    uploads = SessionUploads(CAT)
    for name in names:
        uploads.commit(uploads.plan_add((name, FILES[name].encode("utf-8"))))
    return evaluate(Scenario(), uploads.cat)


def _results_csv(page, tmp_path: Path) -> dict[str, dict[str, str]]:
    with page.expect_download(timeout=60_000) as info:
        page.get_by_role("button", name="Results (CSV)").click()
    target = tmp_path / info.value.suggested_filename
    info.value.save_as(target)
    return {r["device_id"]: r for r in csv.DictReader(io.StringIO(target.read_text(encoding="utf-8")))}


def _choose(page, button: str, path: Path) -> None:
    """Pick a file with an upload button, as a visitor does (the button opens the file chooser)."""
    with page.expect_file_chooser(timeout=30_000) as chooser:
        page.get_by_role("button", name=re.compile(re.escape(button))).click()
    chooser.value.set_files(str(path))


def _matches(rows: dict[str, dict[str, str]], expected) -> None:
    for device in (H100, "nvidia-l4"):
        o = expected.option(device)
        assert float(rows[device]["tco_usd"]) == pytest.approx(o.tco_usd, rel=1e-9), device
        assert rows[device]["price_source"] == o.price_source


def test_own_prices_add_up_say_so_and_outlive_a_killed_kernel(tmp_path: Path) -> None:
    for name, text in FILES.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    one, both = _expected("prices.csv"), _expected("prices.csv", "l4.csv")
    assert one.recommendation.device_id == H100, "the upload changes the answer"
    scratch = set(Path(tempfile.gettempdir()).glob("accel-explorer-upload-*"))
    with voila(APP) as url, browser_page() as page:
        open_app(page, url)
        name = page.locator(".ax-headline .ax-name")
        page.get_by_text("Download or upload", exact=False).first.click()
        _choose(page, "Your prices or device", tmp_path / "prices.csv")
        wait_for(lambda: "Added prices.csv" in page.inner_text("body"), what="the upload to be taken")
        # on the default 1-year commitment, a price is said to be read as an on-demand list price
        assert "count as on-demand list prices: the scenario's 1-year pricing" in page.inner_text("body")
        wait_for(lambda: name.inner_text() == one.recommendation.name, what="the headline to follow")
        body = page.inner_text("body")
        # "was": the catalog's cheapest on-demand H100 offer in the major clouds, as the model reads them
        offers = market_offers(CAT, "major-clouds")
        was = offers[offers.device_id == H100].price_usd_per_chip_hour.min()
        assert (
            f"prices.csv (row 2): NVIDIA H100 SXM5 80GB, cloud, $0.50 per chip-hour (was ${was:,.2f}" in body
        )
        assert "priced with your upload, prices.csv (row 2)" in page.locator(".ax-headline").inner_text()

        _choose(page, "Your prices or device", tmp_path / "l4.csv")  # a second upload adds to the first
        wait_for(lambda: "Added l4.csv" in page.inner_text("body"), what="the second upload")
        assert page.get_by_role("button", name="Remove prices.csv").is_visible()
        assert page.get_by_role("button", name="Remove l4.csv").is_visible()
        _matches(_results_csv(page, tmp_path), both)
        # the link carries the settings, not the files: said beside it, and in its button's tooltip
        note = page.locator(".ax-link-note")
        wait_for(lambda: "not your uploads (prices.csv, l4.csv)" in note.inner_text(), what="the link's note")
        assert "not your uploaded files" in page.locator(".ax-copy").get_attribute("title")
        shown = page.locator(".ax-headline").inner_text()

        # refused files: a message on the page naming file, row and column; nothing changes
        _choose(page, "Your prices or device", tmp_path / "bad.csv")
        wait_for(
            lambda: (
                "Upload refused: bad.csv, row 2, column price: '-3' is not above 0" in page.inner_text("body")
            ),
            what="the refusal",
        )
        _choose(page, "Scenario JSON", tmp_path / "s.json")
        wait_for(lambda: "workload: gpt-9 is not allowed" in page.inner_text("body"), what="the refusal")
        assert "Added" not in page.inner_text("body") and "7 B" not in page.inner_text("body")
        assert page.locator(".ax-headline").inner_text() == shown
        assert page.get_by_role("button", name="Remove prices.csv").is_visible()

        # the kernel dies; Reload gets a new one, and the tab hands it the uploads, checked again
        victim = page_kernel(page)
        psutil.Process(kernel_pids(url)[victim]).send_signal(signal.SIGKILL)
        page.locator(".ax-session-lost").wait_for(state="visible", timeout=40_000)
        page.get_by_role("button", name="Reload").click()
        page.locator(".ax-headline").wait_for(timeout=120_000)
        wait_for(lambda: page_kernel(page) != victim, what="a new kernel")
        wait_for(
            lambda: "checked again and are in use: prices.csv, l4.csv" in page.inner_text("body"),
            timeout=60,
            what="the uploads to be restored and said so",
        )
        wait_for(lambda: name.inner_text() == both.recommendation.name, what="the restored answer")
        _matches(_results_csv(page, tmp_path), both)

        # removing one upload: its prices go, the other's stay
        page.get_by_role("button", name="Remove prices.csv").click()
        wait_for(lambda: "Removed prices.csv" in page.inner_text("body"), what="the removal to be said")
        assert not page.get_by_role("button", name="Remove prices.csv").count()
        _matches(_results_csv(page, tmp_path), _expected("l4.csv"))
        wait_for(lambda: "not your uploads (l4.csv)" in note.inner_text(), what="the note to follow")
    assert set(Path(tempfile.gettempdir()).glob("accel-explorer-upload-*")) <= scratch, "no scratch folders"

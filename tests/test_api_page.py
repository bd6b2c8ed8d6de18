"""The serverless APIs an LLM could be served by instead (``EvaluationResult.api_options``), where people
read them: a compact table on the page and in the report (provider, price per million input and output
tokens, the total over the horizon, what each cannot do), read back from Chromium and compared with a
fresh evaluation; for another workload one line and no rows."""

from __future__ import annotations

import html
import re

import pytest

from explorer import export, fmt, views_api
from explorer.calc import evaluate
from explorer.catalog import load_catalog
from explorer.scenario import Scenario

from .conftest import REPO
from .servers import browser_page, voila, wait_for

APP = REPO / "notebooks" / "app.ipynb"
CAT = load_catalog()

#: An LLM link: a server latency target (the batch tier cannot serve it), five years, 30 M requests/day.
LLM = Scenario(requests_per_day=3e7, horizon_years=5, latency_target="server")
OTHER = Scenario(workload="resnet-50", requests_per_day=1e8)

_ROWS_JS = """() => [...document.querySelectorAll('.ax-apis tr[data-api]')].map((tr) => {
  const cells = [...tr.querySelectorAll('td')];
  return {
    id: tr.dataset.api,
    cells: cells.slice(0, 4).map((td) => td.innerText.trim()),
    cannot: [...cells[4].querySelectorAll('span[title]')].map((s) => [s.innerText.trim(), s.title]),
    why: cells[4].querySelector('i') ? cells[4].querySelector('i').innerText.trim() : null,
  };
})"""


def expected_rows(s: Scenario) -> list[dict]:
    """A fresh evaluation's API offers as the table must show them (cheapest first)."""
    return [
        {
            "id": o.device_id,
            "cells": [
                o.provider + (" (batch)" if o.tier == "batch" else ""),
                fmt.usd(o.input_usd_per_mtoken),
                fmt.usd(o.output_usd_per_mtoken),
                fmt.usd(o.tco_usd) if o.available else "not available",
            ],
            "why": None if o.available else o.unavailable_reason,
            "reasons": list(o.reasons),
        }
        for o in evaluate(s, CAT).api_options
    ]


def _shown(rows: list[dict]) -> list[dict]:
    return [{k: r[k] for k in ("id", "cells", "why")} for r in rows]


def _cannot_says_it(row: dict, reasons: list[str]) -> None:
    """What an offer cannot do comes from its own reasons: your own weights and data residency at least."""
    words = [w for w, _ in row["cannot"]]
    assert {"your own weights", "data residency"} <= set(words), (row["id"], words)
    assert all(why in reasons for _, why in row["cannot"]), row["id"]


def _rows_in(page_html: str) -> list[dict]:
    """The rows of an API table in HTML, parsed as the browser test reads them."""
    out = []
    for rid, body in re.findall(r"<tr data-api='([^']*)'>(.*?)</tr>", page_html):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", body)
        why = re.search(r"<i>(.*?)</i>", cells[4])
        out.append(
            {
                "id": html.unescape(rid),
                "cells": [html.unescape(re.sub(r"<[^>]+>", "", c)) for c in cells[:4]],
                "why": html.unescape(why.group(1)) if why else None,
                "cannot": [
                    (html.unescape(w), html.unescape(t))
                    for t, w in re.findall(r"<span title='([^']*)'>([^<]*)</span>", cells[4])
                ],
            }
        )
    return out


@pytest.mark.slow
def test_the_report_and_the_view_show_every_api_offer_of_a_fresh_evaluation() -> None:
    result = evaluate(LLM, CAT)
    table = views_api.api_options_html(result, CAT)
    rows, want = _rows_in(table), expected_rows(LLM)
    assert _shown(rows) == _shown(want)
    assert any(r["why"] for r in rows) and any(not r["why"] for r in rows)  # a batch tier cannot serve
    for row, w in zip(rows, want, strict=True):
        _cannot_says_it(row, w["reasons"])
    # the check can fail: the default scenario's offers differ (volume, horizon, latency target)
    assert _shown(expected_rows(Scenario())) != _shown(want)
    report = export.report_html(result, CAT)
    assert table in report  # the same table, and the prices' sources among the report's sources
    offers = {(o.provider, o.model_id, o.tier) for o in result.api_options}
    urls = {r.source_url for r in CAT.api_prices.itertuples() if (r.provider, r.model_id, r.tier) in offers}
    assert urls and all(f"<span class='url'>{html.escape(u)}</span>" in report for u in urls)
    # another workload: one line, no rows
    other = views_api.api_options_html(evaluate(OTHER, CAT), CAT)
    assert "not offered for this workload" in other and not _rows_in(other)


@pytest.mark.slow
def test_an_llm_link_shows_its_api_offers_and_another_workload_none() -> None:
    want = expected_rows(LLM)
    with voila(APP) as url, browser_page() as page:
        page.goto(url + "?" + LLM.to_query(only_changed=True), timeout=120_000)
        table = page.locator(".ax-apis tr[data-api]")
        table.first.wait_for(timeout=120_000)
        name = evaluate(LLM, CAT).recommendation.name
        headline = page.locator(".ax-headline .ax-name")
        wait_for(lambda: headline.inner_text() == name, timeout=60, what=f"the headline to name {name}")
        wait_for(
            lambda: _shown(page.evaluate(_ROWS_JS)) == _shown(want), timeout=30, what="the link's API offers"
        )
        for row, w in zip(page.evaluate(_ROWS_JS), want, strict=True):
            _cannot_says_it(row, w["reasons"])

        page.goto(url + "?" + OTHER.to_query(only_changed=True), timeout=120_000)
        none = page.locator(".ax-apis-none")
        none.wait_for(timeout=120_000)
        assert "not offered for this workload" in none.inner_text()
        assert page.locator(".ax-apis tr[data-api]").count() == 0
        assert headline.inner_text() == evaluate(OTHER, CAT).recommendation.name

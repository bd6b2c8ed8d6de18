"""The HTML report a manager can forward: the headline's figures, the charts as drawn on the page (the
cost chart's whiskers included), the tornado, the assumptions in human units and every source, with no
"nan" or "None", self-contained and offline. Also the power sources in the CSV and JSON exports."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from pathlib import Path

import pytest

from explorer import charts as C
from explorer import export, fmt
from explorer.calc import evaluate
from explorer.catalog import load_catalog
from explorer.scenario import Scenario
from explorer.uncertainty import monte_carlo

from .servers import browser_page

CAT = load_catalog()

SCENARIOS = {
    # the issue's own: a slider's volume (50118723.36...) must read "50 M requests/day"
    "cloud": Scenario(requests_per_day=50118723.36272725),
    "bare-metal": Scenario(workload="resnet-50", deployment="bare-metal", requests_per_day=2e8),
    "edge": Scenario(workload="resnet-50", deployment="edge", requests_per_day=1e6, volume_uncertainty=0.3),
    "weekly-mix": Scenario(
        requests_per_day=5e9, model_changes_per_year=52, framework_mix={"cuda": 0.5, "jax": 0.5}
    ),
}
NOT_A_NUMBER = re.compile(r"\bnan\b|\bNone\b|\bNaN\b|\bnull\b|\bundefined\b")


@pytest.fixture(scope="module")
def reports() -> dict[str, tuple]:
    """(result, bands, page) per scenario; the bands are the app's (500 seeded draws)."""
    out = {}
    for name, s in SCENARIOS.items():
        r = evaluate(s, CAT)
        bands = monte_carlo(s, CAT, draws=500, seed=0)
        out[name] = (r, bands, export.report_html(r, CAT, bands))
    return out


def _text(page: str) -> str:
    """What a reader sees: tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


@pytest.mark.slow
@pytest.mark.parametrize("name", SCENARIOS)
def test_report_shows_every_headline_figure_and_reason(reports, name: str) -> None:
    r, bands, page = reports[name]
    text = _text(page)
    figures = dict(fmt.headline_figures(r, bands))
    assert {"P10-P90", "energy per year", "CO2 per year", "break-even, accelerator vs GPU"} <= set(figures)
    if r.best_gpu and r.best_accelerator:
        assert "odds accelerator cheaper" in figures
    for label, value in figures.items():
        assert label in text and value in text, (label, value)
    for reason in r.recommendation.reasons:
        assert reason in text
    if name == "cloud":  # without bands, the report computes the app's own (seeded): the same figures
        assert html.escape(figures["P10-P90"]) in export.report_html(r, CAT)


@pytest.mark.slow
@pytest.mark.parametrize("name", SCENARIOS)
def test_report_has_no_nan_none_or_raw_numbers(reports, name: str) -> None:
    page = reports[name][2]
    text = _text(page)
    assert not NOT_A_NUMBER.search(text), NOT_A_NUMBER.search(text)
    # the report's own figures (not the titles of its sources, e.g. "arXiv:2603.27296") are rounded
    ours = re.search(r"<section id=\"headline\">.*?<h3>Charts</h3>", page, re.S).group(0)
    ours += re.search(r"<h3>Ranking</h3>.*?<h3>What each option", page, re.S).group(0)
    # (an exponent standing alone, not inside a name such as the instance "tpu-v6e-1")
    raw = re.search(r"\b\d+\.\d{4,}\b|\b\d+(\.\d+)?e[+-]\d", _text(ours))
    assert not raw, raw  # e.g. "Request volume 50118723.36272725", "1.39e+03 requests/s"
    assert "<script" not in page and "<link" not in page and "@import" not in page
    assert not re.search(r"""src=['"]?https?:""", page), "the report is self-contained"


@pytest.mark.parametrize("name", SCENARIOS)
def test_report_draws_the_page_charts_with_whiskers_and_the_tornado(reports, name: str) -> None:
    r, _bands, page = reports[name]
    charts = dict(re.findall(r"<figure class='chart' id='chart-([a-z_]+)'>(.*?)</figure>", page, re.S))
    assert list(charts) == [c.name for c in C.CHARTS], "every declared chart, in the page's order"
    cost = charts["cost_per_request"]
    assert "whiskers: P10-P90" in cost and "no whiskers" not in cost
    rules = re.search(r"class=\"mark-rule role-mark[^\"]*\"[^>]*>(.*?)</g>", cost, re.S)
    assert rules, "the whisker layer is drawn"
    available = sum(o.available for o in r.options)
    assert rules.group(1).count("<line") == available, "one whisker per available option"
    assert "What moves the answer" in charts["tornado"]
    assert not re.search(r">\$?[0-9.]+[mGT]<", page), "no SI milli, giga or tera on an axis"


@pytest.mark.parametrize("name", SCENARIOS)
def test_report_assumptions_are_in_human_names_and_units(reports, name: str) -> None:
    r, _bands, page = reports[name]
    s = r.scenario
    rows = {
        html.unescape(k): html.unescape(v)
        for k, v in re.findall(r"<tr><td>([^<]+)</td><td>([^<]*)</td><td class='doc'>", page)
    }
    assert rows["Request volume"] == fmt.requests_per_day(s.requests_per_day)
    assert rows["Workload"] == CAT.workloads.set_index("id").loc[s.workload, "name"]
    assert ("Edge sites" in rows) == (s.deployment == "edge")
    assert ("Cloud prices from" in rows) == (s.deployment == "cloud")
    assert rows["Electricity price"].startswith(fmt.usd(r.inputs.electricity_usd_per_kwh) + " per kWh")
    if name == "cloud":
        assert rows["Request volume"] == "50 M requests/day"


@pytest.mark.parametrize("name", SCENARIOS)
def test_report_lists_every_source_with_title_link_and_date(reports, name: str) -> None:
    r, _bands, page = reports[name]
    text = html.unescape(page)
    used = export._provenance_for(r, CAT)
    assert len(used) > 50
    links = set(re.findall(r"<a href='([^']+)'>", text))
    for row in used.itertuples():
        for src in export._sources_of(row, CAT):
            assert src["title"] and src["title"] in text, src
            assert src["url"] in links, src
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", src["retrieved"]) and src["retrieved"] in text, src
    for o in r.options:
        if o.available:
            assert o.price_source in text and o.throughput_source in text


@pytest.mark.slow
def test_report_opened_from_disk_in_chromium_shows_it_all_offline(reports, tmp_path: Path) -> None:
    """The downloaded file, opened as a manager would: every headline figure, the whiskers and every
    source in the page's DOM, no nan/None, and not one network request."""
    r, bands, page = reports["weekly-mix"]
    target = tmp_path / "report.html"
    target.write_text(page, encoding="utf-8")
    requests: list[str] = []
    with browser_page() as tab:
        tab.on("request", lambda req: requests.append(req.url))
        tab.goto(target.as_uri())
        tab.locator("#headline").wait_for(timeout=30_000)
        body = tab.inner_text("body")
        headline = tab.inner_text("#headline")
        for label, value in fmt.headline_figures(r, bands):
            assert value in headline and label.upper() in headline.upper(), (label, value)
        assert not NOT_A_NUMBER.search(body), NOT_A_NUMBER.search(body)
        whiskers = tab.locator("#chart-cost_per_request .mark-rule.role-mark line").count()
        assert whiskers == sum(o.available for o in r.options)
        assert tab.locator("figure.chart svg").count() == 8
        hrefs = set(tab.eval_on_selector_all("#sources a", "els => els.map(e => e.getAttribute('href'))"))
        expected = {
            src["url"]
            for row in export._provenance_for(r, CAT).itertuples()
            for src in export._sources_of(row, CAT)
            if src["url"].startswith("http")
        }
        assert hrefs == expected
    assert requests == [target.as_uri()], f"the report fetched {requests}"


# -- power sources in the exports (issue 12, point 3) ---------------------------------------------------

POWER_SCENARIOS = [
    Scenario(),
    Scenario(deployment="bare-metal"),
    Scenario(deployment="edge", workload="resnet-50"),
    Scenario(cloud_market="any-provider"),
]


@pytest.mark.parametrize("scenario", POWER_SCENARIOS, ids=lambda s: f"{s.deployment}-{s.cloud_market}")
def test_a_device_with_a_power_figure_never_says_unpublished(scenario: Scenario) -> None:
    """Over the whole catalog, in the options, the CSV and the JSON: "no published power figure" exactly
    where the catalog has no power figure (MI300X 750 W and L4 72 W have one)."""
    power = CAT.devices.set_index("id").power_w
    unpublished = {d for d, w in power.items() if w != w}
    assert {"amd-mi300x", "nvidia-l4"}.isdisjoint(unpublished) and unpublished
    r = evaluate(scenario, CAT, crossover=False)

    def check(device_id: str, source: str) -> None:
        assert (source == "no published power figure") == (device_id in unpublished), (device_id, source)

    for o in r.options:
        check(o.device_id, o.power_source)
    rows = list(csv.DictReader(io.StringIO(export.results_csv(r))))
    assert len(rows) == len(CAT.devices)
    for row in rows:
        check(row["device_id"], row["power_source"])
    for o in json.loads(json.dumps(r.to_dict(), default=str))["options"]:
        check(o["device_id"], o["power_source"])
    mi300x = r.option("amd-mi300x").power_source
    assert "power" in mi300x and "retrieved" in mi300x


@pytest.mark.parametrize(
    "scenario",
    [
        Scenario(),
        Scenario(latency_target="custom"),
        Scenario(workload="custom", custom_parameters=47e9, custom_active_parameters=13e9),
        Scenario(workload="resnet-50", deployment="edge"),
    ],
    ids=["default", "custom-latency", "your-model", "resnet-edge"],
)
def test_every_assumption_shows_a_value_never_a_bare_unit(scenario: Scenario) -> None:
    """The report's Assumptions list said "Input tokens: tokens" where the scenario left the field to the
    workload: every row now shows the figure used (the workload's tokens) or what empty means, and an LLM's
    fields are left out for a model that is not one."""
    r = evaluate(scenario, CAT)
    rows = export.assumption_rows(r, CAT)
    units = {spec.unit for spec in export.FIELD_SPECS.values()} | {""}
    assert [(n, v) for n, v, _ in rows if v.strip() in units] == []
    values = dict((n, v) for n, v, _ in rows)
    workload = r.custom_workload or CAT.workloads.set_index("id").loc[scenario.workload].to_dict()
    if scenario.workload == "resnet-50":
        assert "Input tokens" not in values and "Latency target" not in values
    else:
        assert values["Input tokens"].startswith(f"{workload['input_tokens_per_request']:,.0f} tokens")
        assert values["Output tokens"].startswith(f"{workload['output_tokens_per_request']:,.0f} tokens")

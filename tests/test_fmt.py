"""Numbers in human units: explorer.fmt's rules, their Vega twins, and the views that use them."""

from __future__ import annotations

import html
import math
import re

import pytest

from explorer import fmt
from explorer.calc import evaluate
from explorer.catalog import load_catalog
from explorer.scenario import Scenario

CAT = load_catalog()
NAN = float("nan")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "$0"),
        (0.036248, "$0.036"),  # per-request figures keep two significant digits: never "$0"
        (0.00012, "$0.00012"),
        (0.5, "$0.50"),
        (0.996, "$1.00"),
        (7.523, "$7.52"),
        (59.97, "$60"),
        (412.4, "$412"),
        (999.4, "$999"),
        (999.6, "$1 k"),  # rounding moves it into the next unit, not "$1,000" nor "$1.0 k"
        (41_234, "$41.2 k"),
        (99_960, "$100 k"),
        (4.1e6, "$4.1 M"),
        (6_571_579, "$6.57 M"),
        (1.2e9, "$1.2 B"),
        (1.234e12, "$1,230 B"),  # money never in giga or tera
        (-5e6, "-$5 M"),
        (None, "–"),
        (NAN, "–"),
    ],
)
def test_money(value, text) -> None:
    assert fmt.usd(value) == text


def test_money_is_never_si_and_never_zero_when_not_zero() -> None:
    for exp in range(-6, 13):
        for mantissa in (1, 1.5, 2.5, 4.99, 9.996):
            x = mantissa * 10.0**exp
            text = fmt.usd(x)
            assert re.fullmatch(r"\$[0-9][0-9,]*(\.[0-9]+)?( [kMB])?", text), (x, text)
            assert text != "$0" and not re.search(r"[0-9](m|G|T)\b", text), (x, text)
            value = float(text[1:].split()[0].replace(",", "")) * {"k": 1e3, "M": 1e6, "B": 1e9}.get(
                text.split()[-1], 1
            )
            assert value == pytest.approx(x, rel=0.05), (x, text)


def test_money_ranges_say_the_unit_once() -> None:
    assert fmt.usd_range(5.9e6, 7.4e6) == "$5.9–7.4 M"
    assert fmt.usd_range(950e3, 1.2e6) == "$950 k–$1.2 M"
    assert fmt.usd_range(None, 1) == "–"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (50_118_723.36, "50 M"),
        (2.5e9, "2.5 B"),
        (1e10, "10 B"),
        (1e12, "1,000 B"),  # never "1T"
        (5e11, "500 B"),
        (999_700, "1 M"),
        (167, "167"),
        (2_140_000, "2.1 M"),
        (2.31, "2.3"),
        (0, "0"),
        (None, "–"),
    ],
)
def test_request_volumes(value, text) -> None:
    assert fmt.volume(value) == text


def test_requests_per_day() -> None:
    assert fmt.requests_per_day(5e7) == "50 M requests/day"
    assert fmt.requests_per_s(12_913.4) == "12,900 requests/s"  # never "1.29e+04"


@pytest.mark.parametrize(
    ("fn", "value", "text"),
    [
        (fmt.energy_kwh, 514.2, "514 kWh"),
        (fmt.energy_kwh, 41_234, "41.2 MWh"),
        (fmt.energy_kwh, 1.5e6, "1.5 GWh"),
        (fmt.energy_kwh, 0, "0 kWh"),
        (fmt.power_kw, 0.0586, "58.6 W"),
        (fmt.power_kw, 12.4, "12.4 kW"),
        (fmt.power_kw, 1234, "1.23 MW"),
        (fmt.power_kw, 999.7, "1 MW"),
        (fmt.power_w, 750, "750 W"),
        (fmt.power_w, 72, "72 W"),
        (fmt.co2_tonnes, 0.166, "166 kg"),
        (fmt.co2_tonnes, 0.0004, "400 g"),
        (fmt.co2_tonnes, 4.123, "4.12 t"),
        (fmt.co2_tonnes, 1234.5, "1,230 t"),
        (fmt.co2_tonnes, 0, "0 kg"),
        (fmt.co2_tonnes, None, "–"),
    ],
)
def test_energy_power_co2(fn, value, text) -> None:
    assert fn(value) == text


def test_co2_never_reads_zero_for_a_non_zero_mass() -> None:
    for exp in range(-9, 6):
        text = fmt.co2_tonnes(3.3 * 10.0**exp)
        assert not text.startswith("0 ") and not text.startswith("0.0 "), text


def test_counts_shares_odds_and_months() -> None:
    assert fmt.count(1234.0) == "1,234"
    assert fmt.plural(1, "device") == "1 device" and fmt.plural(327, "device") == "327 devices"
    assert fmt.percent(0.004) == "<1%" and fmt.percent(0.13) == "13%"
    assert fmt.odds(0.998) == ">99%" and fmt.odds(1.0) == "100%" and fmt.odds(0) == "0%"
    assert fmt.years(1) == "1 year" and fmt.years(3) == "3 years"
    assert fmt.break_even(0) == "from the start"
    assert fmt.break_even(1) == "within the first month"
    assert fmt.break_even(14) == "month 14"
    assert fmt.break_even(None, 3) == "none within 3 years"
    assert "month 0" not in fmt.payback(0, "X") and "within the first month" in fmt.payback(1, "X")


# -- the Vega expressions follow the same rules, in the browser's own number formatting -----------------

PARITY = [
    0.00012, 0.036248, 0.5, 0.996, 7.523, 9.996, 59.97, 412.4, 999.4, 999.6, 41_234, 99_960, 4.1e6,
    6_571_579, 1.2e9, 1.234e12, -5e6, 0, 2.31, 167, 2_140_000, 50_118_723.36, 5e11, 0.0586, 12.4, 1234,
]  # fmt: skip


def _vega_texts(expr: str, values: list[float | None]) -> list[str]:
    """Each value formatted by a Vega expression, rendered for real (vl-convert, offline)."""
    import altair as alt
    import vl_convert as vlc

    rows = [{"i": i, "v": v} for i, v in enumerate(values)]
    chart = (
        alt.Chart(alt.InlineData(values=rows))
        .transform_calculate(t=expr.replace("datum.value", "datum.v"))
        .mark_text()
        .encode(y=alt.Y("i:O", axis=None), text="t:N")
    )
    svg = vlc.vegalite_to_svg(chart.to_dict(), vl_version="6.4")
    return [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]


@pytest.mark.parametrize(
    ("expr", "python"),
    [
        (fmt.vega_usd(), fmt.usd),
        (fmt.vega_usd(trim=True), lambda x: fmt.usd(x, trim=True)),
        (fmt.vega_volume(), fmt.volume),
        (fmt.vega_power_kw(), fmt.power_kw),
    ],
    ids=["usd", "usd-trim", "volume", "power"],
)
def test_vega_expressions_match_python(expr, python) -> None:
    values = [*PARITY, None]
    assert _vega_texts(expr, values) == [python(v) for v in values]


# -- the views: the reasons and the headline say the same figures the same way ------------------------

SCENARIOS = {
    "bare-metal resnet": Scenario(workload="resnet-50", deployment="bare-metal", requests_per_day=2e8),
    "native gpu, weekly": Scenario(requests_per_day=1e5, model_changes_per_year=52),
    "edge hailo": Scenario(workload="resnet-50", deployment="edge", requests_per_day=1e6),
    "cloud default": Scenario(),
    "hybrid": Scenario(training_share=0.3, requests_per_day=3e9, model_changes_per_year=0),
}


@pytest.mark.parametrize("scenario", SCENARIOS.values(), ids=SCENARIOS.keys())
def test_reasons_and_headline_agree(scenario: Scenario) -> None:
    from explorer.views import headline_html

    r = evaluate(scenario, CAT)
    o = r.option(r.recommendation.device_id)
    text = " ".join(r.recommendation.reasons)
    per_million = fmt.usd(o.cost_per_million_requests_usd)
    assert f"{per_million} per million requests" in text
    assert "$0 " not in text and "month 0" not in text and "e+" not in text and "(s)" not in text
    head = html.unescape(headline_html(r))
    for label, value in fmt.headline_figures(r):
        assert value in head and label in head
    assert per_million in head


def test_porting_reason_says_what_porting_costs() -> None:
    """A natively supported GPU still pays for re-validation at every model change: with weekly changes
    and one small device that is over half the total, and the reason must not say "No porting"."""
    r = evaluate(SCENARIOS["native gpu, weekly"], CAT)
    o = r.option(r.recommendation.device_id)
    assert o.porting_cost_usd > 0.5 * o.tco_usd
    # the device's own porting reason (the serverless-API sentence says an API needs "no porting")
    (porting,) = [x for x in r.recommendation.reasons if "port" in x.lower() and "serverless API" not in x]
    assert not porting.startswith("No porting")
    assert fmt.usd(o.porting_cost_usd) in porting and fmt.percent(o.porting_cost_usd / o.tco_usd) in porting
    frozen = evaluate(SCENARIOS["hybrid"], CAT)
    assert any("while the model stays frozen" in x for x in frozen.recommendation.reasons)


def test_payback_month_zero_reads_in_words() -> None:
    r = evaluate(SCENARIOS["edge hailo"], CAT)
    assert r.break_even_month == 0 and r.recommendation.kind == "accelerator"
    assert any("from the start" in x for x in r.recommendation.reasons)
    assert dict(fmt.headline_figures(r))["break-even, accelerator vs GPU"] == "from the start"


def test_option_rows_are_text_in_human_units() -> None:
    r = evaluate(SCENARIOS["bare-metal resnet"], CAT)
    rows = fmt.option_rows(r, by="id")
    assert rows[0]["device"] == r.options[0].device_id and rows[0]["per M requests"] == "$0.36"
    for row in rows:
        for value in row.values():
            assert not re.search(r"\bnan\b|\bNone\b|e\+\d", value), row
    assert all(math.isfinite(o.tco_usd) for o in r.options if o.available)


def test_the_headline_says_what_the_recommendation_saves_against_your_fleet() -> None:
    from explorer.views import headline_html

    s = Scenario(requests_per_day=5e7, model_changes_per_year=12)
    assert "saves vs your fleet" not in dict(fmt.headline_figures(evaluate(s, CAT))), "none by default"
    r = evaluate(s.replace(current_device="nvidia-h100-sxm"), CAT)
    b = r.baseline
    figs = fmt.headline_figures(r)
    labels = [k for k, _ in figs]
    assert labels.index("saves vs your fleet") == labels.index("per million requests") + 1
    shown = dict(figs)["saves vs your fleet"]
    assert shown == f"{fmt.usd(b.savings_usd)} ({fmt.percent(b.savings_usd / b.tco_usd)})"
    assert re.fullmatch(r"\$\d[\d.]* [kMB] \(\d+%\)", shown), shown
    head = html.unescape(headline_html(r))
    assert shown in head and "less over 3 years than your NVIDIA H100 SXM5 80GB fleet" in head
    same = evaluate(s.replace(current_device=r.recommendation.device_id), CAT)
    assert dict(fmt.headline_figures(same))["saves vs your fleet"] == "$0 (your fleet)"
    gone = evaluate(s.replace(current_device="hailo-8"), CAT)  # an edge module, not rented in a cloud
    assert dict(fmt.headline_figures(gone))["saves vs your fleet"] == "not available"
    assert "ax-na'>not available" in headline_html(gone)


def test_where_no_device_serves_the_headline_says_the_commonest_reason() -> None:
    """Spot pricing for a scenario that serves requests as they arrive leaves no device: the headline said
    "try another deployment type or workload", when the cause was the pricing basis."""
    from explorer.views import headline_html

    r = evaluate(Scenario(latency_target="server", cloud_pricing="spot"), CAT)
    assert r.recommendation is None
    why = fmt.why_none_serve(r)
    spot = [o for o in r.options if o.unavailable_reason.startswith("spot capacity")]
    assert (
        why.startswith("Spot capacity can be reclaimed")
        and f"({len(spot)} of {len(r.options)} devices)" in why
    )
    assert "serves requests as they arrive" in why  # the whole reason where every device gives the same one
    assert html.escape(why) in headline_html(r) and "try another deployment" not in headline_html(r)
    # reasons that differ after their colon are grouped by what comes before it
    edge = evaluate(Scenario(workload="llama-2-70b", deployment="edge"), CAT)
    assert fmt.why_none_serve(edge).startswith("Not an edge device (")


def test_a_headline_with_one_kind_of_device_says_why_it_has_no_break_even() -> None:
    """Llama-3.1-8B at the edge: no accelerator can hold a copy, so no break-even; the headline's figure
    read "–", a blank where the page can say why."""
    r = evaluate(Scenario(workload="llama-3.1-8b", deployment="edge"), CAT)
    assert r.best_gpu and not r.best_accelerator
    figures = dict(fmt.headline_figures(r))
    assert figures["break-even, accelerator vs GPU"] == "no accelerator available"
    assert fmt.DASH not in figures.values()

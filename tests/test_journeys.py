"""Journeys in Chromium against `accel-explorer app` with its pre-started kernels: however a scenario
arrives (a shared link, an uploaded scenario file, a reload after the kernel died), the headline names the
device the CLI recommends and every chart draws exactly what a fresh evaluation of that scenario gives."""

from __future__ import annotations

import dataclasses
import json
import signal

import psutil
import pytest

from explorer import fmt
from explorer.calc import evaluate
from explorer.catalog import load_catalog
from explorer.scenario import Scenario
from explorer.uncertainty import monte_carlo
from explorer.widgets import HEADLINE_DRAWS

from .conftest import REPO
from .journeys import CHARTS, cli_recommendation, drawn_rows, expected_data, mismatches
from .servers import browser_page, voila, wait_for
from .test_faults import kernel_pids, page_kernel

pytestmark = pytest.mark.slow
APP = REPO / "notebooks" / "app.ipynb"
CAT = load_catalog()

LINKS = {
    "bare metal": Scenario(requests_per_day=2e8, workload="resnet-50", deployment="bare-metal"),
    # Llama-2-70B at 33 tokens/s per user: the L40S's copy over an 8-card server of its own
    "bare metal, 70B at interactive chat": Scenario(
        workload="llama-2-70b", latency_target="interactive-chat", deployment="bare-metal"
    ),
    "edge": Scenario(workload="resnet-50", deployment="edge", edge_sites=500),
    "cloud, frozen model, H100s now": Scenario(
        workload="sdxl", requests_per_day=1e7, model_changes_per_year=0, current_device="nvidia-h100-sxm"
    ),
    "cloud, weekly changes, CUDA and JAX": Scenario(
        model_changes_per_year=52, framework_mix={"cuda": 50, "jax": 50}
    ),
    "cloud, 3-year commitment, any provider": Scenario(
        requests_per_day=1e9, cloud_pricing="3-year", cloud_market="any-provider"
    ),
}


def as_drawn(scenario: Scenario) -> dict[str, list[dict]]:
    """What a page showing `scenario` would draw: every chart's rows (to show that the check can fail)."""
    from explorer import charts as C

    data = expected_data(scenario, CAT)
    return {name: [r for n in C.DATASETS[name] for r in C.records(data[n])] for name in CHARTS}


def shows(page, scenario: Scenario, expected_name: str) -> None:
    """Wait until the page shows `scenario`: the headline's device and its reasons, word for word, and
    every chart's drawn rows."""
    page.locator(".vega-embed svg").nth(5).wait_for(timeout=120_000)
    name = page.locator(".ax-headline .ax-name")
    wait_for(
        lambda: name.inner_text() == expected_name, timeout=60, what=f"the headline to name {expected_name}"
    )
    reasons = evaluate(scenario, CAT).recommendation.reasons
    shown = page.locator(".ax-headline .ax-reasons li")
    wait_for(
        lambda: (
            [" ".join(x.split()) for x in shown.all_inner_texts()] == [" ".join(x.split()) for x in reasons]
        ),
        timeout=30,
        what="the headline's reasons to be a fresh evaluation's",
    )
    problems: list[str] = []

    def agree() -> bool:
        problems[:] = mismatches(scenario, CAT, drawn_rows(page))
        return not problems

    try:
        wait_for(agree, timeout=30, what="the charts to draw the scenario")
    except AssertionError:
        raise AssertionError("\n".join(problems[:12])) from None


def test_links_uploads_and_reloads_show_what_was_computed(tmp_path) -> None:
    expected = {label: cli_recommendation(s, tmp_path) for label, s in LINKS.items()}
    # the check can fail: a page stuck on any other link's charts (or the default's) is caught
    for label, scenario in LINKS.items():
        for other in [Scenario(), *(s for o, s in LINKS.items() if o != label)]:
            assert mismatches(scenario, CAT, as_drawn(other)), (label, other)
    with voila(APP) as url, browser_page() as page:
        for label, scenario in LINKS.items():
            page.goto(url + "?" + scenario.to_query(only_changed=True), timeout=120_000)
            shows(page, scenario, expected[label])
            # the fleet figure (peak, average and quietest hour in the cloud): a fresh evaluation's
            fleet = dict(fmt.headline_figures(evaluate(scenario, CAT)))["devices"]
            assert fleet in page.locator(".ax-headline .ax-figs").inner_text()
            if scenario.current_device:  # the saving against the fleet run now: a fresh evaluation's
                saving = dict(fmt.headline_figures(evaluate(scenario, CAT)))["saves vs your fleet"]
                assert saving in page.locator(".ax-headline .ax-figs").inner_text()

        # a link whose tokens pass the model's context window (Llama 2: 4,096): the page shows the
        # workload's own tokens, evaluated afresh, and says why
        served = Scenario(workload="llama-2-70b")
        long = dataclasses.replace(served, input_tokens=8000.0)
        assert mismatches(served, CAT, as_drawn(Scenario())), "the check can fail"
        page.goto(url + "?" + long.to_query(only_changed=True), timeout=120_000)
        shows(page, served, cli_recommendation(served, tmp_path))
        assert "context window of 4,096 tokens" in page.locator(".ax-note").inner_text()

        # an uploaded scenario file, into a page that shows another scenario
        saved = LINKS["bare metal"]
        path = tmp_path / "saved-scenario.json"
        path.write_text(json.dumps(saved.to_dict()), encoding="utf-8")
        page.get_by_text("Download or upload", exact=False).first.click()
        with page.expect_file_chooser() as chooser:
            page.locator(".widget-upload", has_text="Scenario JSON").click()
        chooser.value.set_files(str(path))
        shows(page, saved, expected["bare metal"])
        wait_for(lambda: "deployment=bare-metal" in page.evaluate("location.href"), what="the link to follow")

        # the kernel dies; the visitor reloads and gets the same scenario back, drawn in full
        psutil.Process(kernel_pids(url)[page_kernel(page)]).send_signal(signal.SIGKILL)
        page.locator(".ax-session-lost").wait_for(state="visible", timeout=40_000)
        page.reload(timeout=120_000)
        shows(page, saved, expected["bare metal"])

        # a typed request volume ("50M") moves the slider, the headline and every chart
        typed = dataclasses.replace(saved, requests_per_day=5e7)
        figs = page.locator(".ax-headline .ax-figs")
        figs.evaluate("(e) => { e.axKept = true; }")
        box = page.locator(".ax-typed-requests_per_day input")
        box.fill("50M")
        box.press("Enter")
        shows(page, typed, cli_recommendation(typed, tmp_path))
        assert "50 M" in page.locator(".ax-controls").inner_text()
        # every headline figure a fresh evaluation gives, its band included, patched into the elements
        # already shown (explorer/js/html_patch.js: a move changes the figures' text, not the headline)
        band = monte_carlo(typed, CAT, draws=HEADLINE_DRAWS, seed=0)
        want = [v for _, v in fmt.headline_figures(evaluate(typed, CAT), band)]
        assert [v for v in want if v not in figs.inner_text()] == []
        assert figs.evaluate("(e) => e.axKept === true"), "the headline was patched, not replaced"


def test_your_model_from_a_link_then_a_bad_value(tmp_path) -> None:
    """A link with your own model (a 47B mixture of experts) shows what a fresh evaluation of it gives;
    a value at fault then gets a clear message, and what was typed stays where it was typed."""
    mine = Scenario(
        workload="custom",
        custom_name="Our MoE",
        custom_parameters=47e9,
        custom_active_parameters=13e9,
        requests_per_day=3e7,
    )
    expected = cli_recommendation(mine, tmp_path)
    assert mismatches(mine, CAT, as_drawn(Scenario())), "the check can fail"
    with voila(APP) as url, browser_page() as page:
        page.goto(url + "?" + mine.to_query(only_changed=True), timeout=120_000)
        shows(page, mine, expected)
        active = page.locator(".widget-text", has_text="Active parameters").locator("input")
        assert active.input_value() == "13 B"
        assert page.locator(".widget-text", has_text="Model name").locator("input").input_value() == "Our MoE"
        assert not page.get_by_text("Compute per request", exact=True).is_visible()  # an LLM's fields only

        # its Scenario (JSON) download, uploaded into a page that shows the default, brings your model back
        page.get_by_text("Download or upload", exact=False).first.click()
        with page.expect_download(timeout=60_000) as info:
            page.get_by_role("button", name="Scenario (JSON)").click()
        saved = tmp_path / info.value.suggested_filename
        info.value.save_as(saved)
        assert Scenario.from_dict(json.loads(saved.read_text(encoding="utf-8"))) == mine
        other = page.context.browser.new_page()
        other.goto(url, timeout=120_000)
        shows(other, Scenario(), cli_recommendation(Scenario(), tmp_path))
        other.get_by_text("Download or upload", exact=False).first.click()
        with other.expect_file_chooser() as chooser:
            other.locator(".widget-upload", has_text="Scenario JSON").click()
        chooser.value.set_files(str(saved))
        shows(other, mine, expected)
        assert other.locator(".ax-error").count() == 0
        other.close()

        active.fill("60B")
        active.press("Enter")
        error = page.locator(".ax-error")
        wait_for(
            lambda: error.count() > 0 and "custom_active_parameters" in error.inner_text(), what="a message"
        )
        assert "at most the parameters (47 B)" in error.inner_text()
        assert active.input_value() == "60B"  # nothing entered is lost
        shows(page, mine, expected)  # and the last answer stays

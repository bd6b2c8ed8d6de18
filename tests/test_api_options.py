"""Serverless APIs as options (issue 15 point 4): per-token prices from dated provider pages in
catalog/apis, options of kind "api" for the catalog's LLMs and for your model by size, no porting, and
what they cannot do in their reasons."""

from __future__ import annotations

import dataclasses
import json
import shutil

import pytest

from explorer import calc
from explorer.catalog import CatalogError, load_catalog
from explorer.model import custom
from explorer.scenario import CUSTOM_WORKLOAD, Scenario

from .conftest import CATALOG

CAT = load_catalog()
W = CAT.workloads.set_index("id")


def test_every_offer_has_a_dated_sourced_price_per_token() -> None:
    a = CAT.api_prices
    assert len(a) >= 8 and set(a.tier) <= {"standard", "batch"}
    assert (a.input_usd_per_mtoken > 0).all() and (a.output_usd_per_mtoken > 0).all()
    assert a.as_of.notna().all() and a.source_url.str.startswith("https://").all()
    assert set().union(*a.serves) <= set(CAT.workloads.id)
    prov = CAT.provenance[CAT.provenance.collection == "apis"]
    prices = prov[prov.field.str.endswith("_price")]
    assert len(prices) == 2 * len(a) and prices.as_of.notna().all() and prices.source_title.notna().all()
    assert not (CATALOG / "incoming" / "serverless-api-prices.md").exists()  # converted, then removed


def test_an_offer_costs_its_tokens_at_its_prices_with_no_hardware_and_no_porting() -> None:
    s = Scenario(requests_per_day=2e7, horizon_years=2, model_changes_per_year=12)
    w = W.loc[s.workload]
    options = custom.api_options(CAT, s, w)
    assert options and [o.tco_usd for o in options if o.available] == sorted(
        o.tco_usd for o in options if o.available
    )
    for o in options:
        per_request = (
            w.input_tokens_per_request * o.input_usd_per_mtoken
            + w.output_tokens_per_request * o.output_usd_per_mtoken
        ) / 1e6
        assert o.tco_usd == pytest.approx(per_request * 2e7 * 365.25 * 2)
        assert o.cost_per_million_requests_usd == pytest.approx(per_request * 1e6)
        assert (o.kind, o.plan, o.porting_cost_usd, o.hardware_cost_usd) == ("api", "api", 0.0, 0.0)
        words = " ".join(o.reasons)
        assert "fine-tuned weights are not served" in words and "data residency" in words
        assert "as of 2026-12-03" in o.price_source
    assert len({o.device_id for o in options}) == len(options)
    # the scenario's own token counts price the request
    longer = custom.api_options(CAT, s.replace(input_tokens=4000, output_tokens=500), w)
    assert longer[0].input_tokens_per_request == 4000 and longer[0].tco_usd > options[0].tco_usd


@pytest.mark.slow
def test_only_llms_get_api_options_and_a_missing_token_figure_is_said() -> None:
    assert calc.evaluate(Scenario(workload="resnet-50"), CAT).api_options == []
    assert all(o.available for o in calc.evaluate(Scenario(workload="llama-2-70b"), CAT).api_options)
    w = CAT.workloads.copy()
    w.loc[w.id == "llama-2-70b", "input_tokens_per_request"] = float("nan")  # a workload without the figure
    unknown = dataclasses.replace(CAT, workloads=w)
    seventy = calc.evaluate(Scenario(workload="llama-2-70b"), unknown).api_options
    assert seventy and not any(o.available for o in seventy)
    assert all("no input-token figure" in o.unavailable_reason for o in seventy)
    given = calc.evaluate(Scenario(workload="llama-2-70b", input_tokens=1000), CAT).api_options
    assert all(o.available for o in given)
    assert all("not Llama 2 70B" in " ".join(o.reasons) for o in given)


def test_a_batch_tier_is_no_option_at_an_interactive_latency_target() -> None:
    s = Scenario()
    batch = [o for o in custom.api_options(CAT, s, W.loc[s.workload]) if o.tier == "batch"]
    assert batch and all(o.available for o in batch)
    chat = custom.api_options(CAT, s.replace(latency_target="interactive-chat"), W.loc[s.workload])
    assert [o.unavailable_reason for o in chat if o.tier == "batch"] == [
        "a batch tier answers within hours, not at your latency target"
    ] * len(batch)


@pytest.mark.slow
def test_your_llm_is_matched_by_size_and_told_it_is_not_your_model() -> None:
    moe = Scenario(workload=CUSTOM_WORKLOAD, custom_parameters=47e9, custom_active_parameters=13e9)
    near = calc.evaluate(moe, CAT).api_options
    assert near and {o.model for o in near} == {"Llama 3.3 / 3.1 70B Instruct (FP8)"}
    assert all("Does not run your model" in " ".join(o.reasons) for o in near)
    assert (
        calc.evaluate(moe.replace(custom_parameters=1e9, custom_active_parameters=None), CAT).api_options
        == []
    )
    vision = Scenario(workload=CUSTOM_WORKLOAD, custom_kind="other", custom_gflop_per_request=10)
    assert calc.evaluate(vision, CAT).api_options == []


def test_the_json_has_kind_api_and_the_recommendation_says_when_an_api_costs_less() -> None:
    r = calc.evaluate(Scenario(), CAT)
    out = json.loads(json.dumps(r.to_dict(), allow_nan=False, default=str))
    assert out["api_options"] and {o["kind"] for o in out["api_options"]} == {"api"}
    cheapest = r.api_options[0]
    lead = "A serverless API costs less than any device here: "  # the first reason's lowest is the devices'
    said = [x for x in r.recommendation.reasons if x.startswith(lead)]
    assert (cheapest.tco_usd < r.options[0].tco_usd) == bool(said)
    if said:
        assert cheapest.name in said[0] and "not your own" in said[0]
    assert custom.api_reason(cheapest, cheapest.tco_usd * 0.9, Scenario()) is None  # dearer: nothing said
    # a plan that trains too is not compared with an API that only serves
    training = calc.evaluate(Scenario(training_share=0.5), CAT)
    assert not [x for x in training.recommendation.reasons if x.startswith("A serverless API")]
    said = "training (50% of the compute) is not in this total"
    assert all(said in " ".join(o.reasons) for o in training.api_options)


@pytest.mark.parametrize(
    ("edit", "where", "says"),
    [
        (('tier = "standard"', 'tier = "premium"', 1), "offer[0].tier", "allowed: standard, batch"),
        (
            ('serves = ["llama-3.1-8b"]', 'serves = ["gpt-9"]', 1),
            "serves[0]",
            "not a workload in the catalog",
        ),
        (("as_of = 2026-12-03, ", "", 1), "offer[0].input_price.as_of", "need an as-of date"),
        (('unit = "USD/Mtoken"', 'unit = "USD/hour"', 1), "offer[0].input_price.unit", "USD/Mtoken"),
    ],
)
def test_a_bad_api_file_names_the_file_the_field_and_what_is_allowed(tmp_path, edit, where, says) -> None:
    folder = tmp_path / "mine" / "apis"
    folder.mkdir(parents=True)
    src = (CATALOG / "apis" / "llama-3.1-8b-instruct.toml").read_text()
    old, new, count = edit
    assert old in src
    (folder / "llama-3.1-8b-instruct.toml").write_text(src.replace(old, new, count))
    with pytest.raises(CatalogError) as err:
        load_catalog(tmp_path / "mine")
    text = str(err.value)
    assert "llama-3.1-8b-instruct.toml" in text and where in text and says in text, text


@pytest.mark.slow
def test_a_users_own_api_offer_counts(tmp_path) -> None:
    dst = tmp_path / "mine" / "apis"
    dst.mkdir(parents=True)
    shutil.copy(CATALOG / "apis" / "llama-3.1-8b-instruct.toml", dst / "my-gateway.toml")
    text = (dst / "my-gateway.toml").read_text().replace('provider = "DeepInfra"', 'provider = "Our gateway"')
    (dst / "my-gateway.toml").write_text(text)
    cat = load_catalog(tmp_path / "mine")
    assert "Our gateway" in set(cat.api_prices.provider)
    names = {o.provider for o in calc.evaluate(Scenario(), cat).api_options}
    assert "Our gateway" in names and "DeepInfra" in names


def test_for_your_model_each_api_row_names_the_model_it_serves() -> None:
    """For your model the APIs serve catalogued models of its size, not yours: two rows read "DeepInfra"
    and nothing told them apart. Each row now names its model; a catalog LLM's rows, distinct by provider,
    stay as they were."""
    import re

    from explorer.views_api import api_options_html

    mine = calc.evaluate(Scenario(workload="custom", custom_parameters=70e9), CAT)
    cells = re.findall(r"<td title='([^']*)'>(.*?)</td>", api_options_html(mine, CAT))
    assert len(cells) >= 2
    for model_id, cell in cells:
        assert model_id.rsplit("/", 1)[-1] in cell
    ours = re.findall(r"<td title='[^']*'>(.*?)</td>", api_options_html(calc.evaluate(Scenario(), CAT), CAT))
    assert ours and not any("ax-unit" in cell for cell in ours)

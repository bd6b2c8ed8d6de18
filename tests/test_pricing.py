"""Pricing bases and fleets that follow the load (explorer.model.pricing): properties, the catalog's
prices on every basis, and the scenario field."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from explorer import fmt
from explorer.calc import evaluate
from explorer.catalog import load_catalog
from explorer.model import pricing
from explorer.model.cost import HOURS_PER_YEAR
from explorer.model.devices import device_table
from explorer.scenario import CLOUD_MARKETS, CLOUD_PRICINGS, MAJOR_CLOUDS, Scenario, ScenarioError
from explorer.uncertainty import tornado

CAT = load_catalog()
AMPLITUDE = pricing.amplitude_of(CAT.assumptions)
DISCOUNTS = pricing.provider_discounts(CAT.assumptions)

peak_to_average = st.floats(1.0, 10.0)
fleet = st.lists(st.integers(0, 400), min_size=24, max_size=24).map(lambda xs: np.array(xs, float))
rate = st.floats(0.01, 200.0)
discount = st.floats(0.0, 0.9)


# -- the load curve -------------------------------------------------------------------------------------


@given(peak_to_average)
def test_the_day_averages_one_and_peaks_at_the_peak_to_average(p: float) -> None:
    curve = pricing.load_curve(p, AMPLITUDE)
    assert curve.shape == (24,)
    assert curve.mean() == pytest.approx(1.0, rel=1e-9)
    assert curve.max() == pytest.approx(p, rel=1e-9)
    assert (curve >= 0).all()


def test_a_flat_day_and_a_peakier_day() -> None:
    assert (pricing.load_curve(1.0, AMPLITUDE) == 1.0).all()
    # a higher peak-to-average leaves the quiet hours quieter
    assert pricing.load_curve(3.0, AMPLITUDE).min() < pricing.load_curve(2.0, AMPLITUDE).min()
    assert int(np.argmax(pricing.load_curve(2.0, AMPLITUDE))) == pricing.PEAK_HOUR


@given(peak_to_average, st.floats(0.01, 1e5), st.sampled_from([1.0, 4.0, 8.0]))
def test_the_busiest_hour_needs_the_peak_sized_fleet(p: float, avg_need: float, step: float) -> None:
    peak = pricing.ceil_to(np.array(avg_need * p), np.array(step))
    hourly = pricing.hourly_devices(
        peak, np.array(avg_need), pricing.load_curve(p, AMPLITUDE), np.array(step)
    )
    assert hourly.max() == peak
    assert (hourly % step == 0).all() and (hourly >= step).all()


# -- the cheapest mix -----------------------------------------------------------------------------------


@pytest.mark.slow
@settings(max_examples=200)
@given(fleet, rate, discount, st.sampled_from([(1.0, 1.0), (1.0, 3.0), (3.0, 3.0), (3.0, 6.0)]))
def test_a_commitment_never_costs_more_than_on_demand_over_its_whole_term(
    hourly: np.ndarray, od: float, d: float, term_horizon: tuple[float, float]
) -> None:
    term, horizon = term_horizon
    committed = pricing.commitment_rate(np.array(od * (1 - d)), term, horizon)
    mixed = pricing.fleet_cost(hourly, np.array(od), committed)
    on_demand = pricing.fleet_cost(hourly, np.array(od), None)
    assert mixed.usd_per_hour <= on_demand.usd_per_hour * (1 + 1e-12)
    # and the mix is the cheapest base: no other base does better (the cost is piecewise linear in the
    # base with its breaks at the hours' counts, so trying those and 0 tries every candidate)
    for b in {0.0, *np.unique(hourly)}:
        other = b * committed + np.maximum(hourly - b, 0).mean() * od
        assert mixed.usd_per_hour <= other * (1 + 1e-12)
    assert mixed.usd_per_hour == pytest.approx(
        mixed.committed * committed + np.maximum(hourly - mixed.committed, 0).mean() * od
    )
    # the hours in any order cost the same; busiest first may skip the sort
    busiest_first = -np.sort(-hourly)
    same = pricing.fleet_cost(busiest_first, np.array(od), committed, presorted=True)
    assert same.usd_per_hour == pytest.approx(mixed.usd_per_hour) and same.committed == mixed.committed
    for got, want in ((same.minimum, mixed.minimum), (same.average, mixed.average), (same.peak, mixed.peak)):
        assert float(got) == pytest.approx(float(want))


@pytest.mark.slow
@settings(max_examples=200)
@given(fleet, rate, discount)
def test_following_the_load_never_costs_more_than_a_peak_sized_fleet(
    hourly: np.ndarray, od: float, d: float
) -> None:
    c = np.array(od * (1 - d))
    for committed in (None, c):
        f = pricing.fleet_cost(hourly, np.array(od), committed)
        peak_rate = od if committed is None else min(od, float(c))
        assert f.usd_per_hour <= hourly.max() * peak_rate * (1 + 1e-12)
        assert f.minimum <= f.average <= f.peak == hourly.max()
        assert 0 <= f.committed <= f.peak


def test_a_base_load_is_committed_and_the_peak_bought_by_the_hour() -> None:
    hourly = np.array([8.0] * 17 + [16.0] * 7)
    f = pricing.fleet_cost(hourly, np.array(1.0), np.array(0.6))
    assert f.committed == 8  # the 8 busy all day are cheaper committed; the 7 peak hours are not (7/24 < 0.6)
    assert f.usd_per_hour == pytest.approx(8 * 0.6 + 8 * 7 / 24)
    assert pricing.fleet_cost(hourly, np.array(1.0), np.array(0.2)).committed == 16  # 7/24 > 0.2


def test_a_term_longer_than_the_horizon_is_paid_whole() -> None:
    assert pricing.commitment_rate(np.array(1.0), 3.0, 1.0) == pytest.approx(3.0)
    assert pricing.commitment_rate(np.array(1.0), 1.0, 2.5) == pytest.approx(3 / 2.5)
    assert pricing.commitment_rate(np.array(1.0), 3.0, 6.0) == pytest.approx(1.0)


def test_unknown_rates_stay_unknown() -> None:
    f = pricing.fleet_cost(np.full((2, 24), 4.0), np.array([math.nan, 1.0]), np.array([math.nan, 0.5]))
    assert math.isnan(f.usd_per_hour[0]) and f.usd_per_hour[1] == pytest.approx(2.0)


# -- the catalog's prices on every basis ----------------------------------------------------------------


@pytest.mark.parametrize("basis", ["1-year", "3-year", "spot"])
def test_no_offer_costs_more_on_a_basis_than_on_demand(basis: str) -> None:
    priced = pricing.basis_prices(CAT.cloud_prices, basis, DISCOUNTS)
    known = priced[priced.basis_rate.notna()]
    assert (known.basis_rate <= known.price_usd_per_chip_hour * (1 + 1e-12)).all()
    assert known.basis_source.str.len().gt(0).all()
    if basis != "spot":
        assert len(known) == len(priced), (
            "every offer has a commitment price (its own, its provider's, or on-demand)"
        )


def test_every_printed_commitment_and_spot_price_is_below_on_demand() -> None:
    c = CAT.cloud_prices
    for col in ("price_1yr", "price_3yr", "price_spot"):
        rows = c[c[f"{col}_usd_per_chip_hour"].notna()]
        assert len(rows) > 0, col
        bad = rows[rows[f"{col}_usd_per_chip_hour"] >= rows.price_usd_per_chip_hour]
        assert bad.empty, (
            f"{col} at or above on-demand: {list(zip(bad.device_id, bad.instance, strict=True))}"
        )
    # 3-year commitments cost less than 1-year ones where an offer prints both
    both = c[c.price_1yr_usd_per_chip_hour.notna() & c.price_3yr_usd_per_chip_hour.notna()]
    assert (both.price_3yr_usd_per_chip_hour < both.price_1yr_usd_per_chip_hour).all()


def test_provider_discounts_are_sourced_fractions() -> None:
    assert ("aws", "1-year") in DISCOUNTS and ("google_cloud", "3-year") in DISCOUNTS
    for (provider, basis), (d, where) in DISCOUNTS.items():
        assert 0 < d < 1, (provider, basis)
        assert where.startswith(("estimate:", "published:")) and len(where) > 12


@pytest.mark.parametrize("market", CLOUD_MARKETS)
def test_every_device_with_a_cloud_offer_has_a_price_in_every_market(market: str) -> None:
    """A device with a priced cloud offer has a price, on every basis but spot, in every market that offer
    belongs to: any provider for all, the major clouds for their own (issue 15, point 3)."""
    c = CAT.cloud_prices
    missing = []
    for dev_id, offers in c.groupby("device_id"):
        if market == "major-clouds":
            offers = offers[offers.provider.isin(MAJOR_CLOUDS)]
            if offers.empty:
                continue
        for basis in ("on-demand", "1-year", "3-year"):
            priced = pricing.cheapest_offers(offers, basis, DISCOUNTS)
            if len(priced) != 1 or not np.isfinite(priced.basis_rate).all():
                missing.append((dev_id, basis))
    assert not missing, f"{market}: devices offered there without a price: {missing}"


@pytest.mark.parametrize("market", CLOUD_MARKETS)
def test_the_offer_chosen_for_a_device_is_one_offer_whole(market: str) -> None:
    """Each device's chosen offer, on every basis and as the device table's on-demand offer, is one of its
    offers with all of that offer's own figures: none of its blank columns (a spot or commitment price it
    does not have) filled from another offer of the device, as pandas' groupby.first did (the H200's
    cheapest on-demand offer had carried another provider's $1.76 spot price)."""
    from explorer.model.cost import cheapest_cloud, market_offers, placed_offers

    def rows(frame: pd.DataFrame) -> set[str]:
        return set(
            frame.drop(columns=["basis_rate", "basis_source"], errors="ignore").apply(
                lambda r: json.dumps([None if pd.isna(v) else str(v) for v in r]), axis=1
            )
        )

    offers = placed_offers(market_offers(CAT, market), {})
    chosen = cheapest_cloud(CAT, market)
    assert set(chosen.device_id) == set(offers.device_id) and chosen.device_id.is_unique
    assert rows(chosen) <= rows(offers)
    for basis in CLOUD_PRICINGS:
        best = pricing.cheapest_offers(offers, basis, DISCOUNTS)
        assert best.device_id.is_unique and rows(best) <= rows(offers), basis
    h200 = chosen.set_index("device_id").loc["nvidia-h200"]
    own = offers[(offers.device_id == "nvidia-h200") & (offers.instance == h200.instance)]
    assert (own.provider == h200.provider).any()
    assert pd.isna(h200.price_spot_usd_per_chip_hour) == own.price_spot_usd_per_chip_hour.isna().all()


#: Devices offered in the cloud with no price there to be had (checked 2026-12-05): each price file says why.
UNPRICED_IN_THE_CLOUD = {"apple-m4-neural-engine", "aws-trainium3", "google-tpu-v7", "nvidia-gb300-nvl72"}


def test_every_device_offered_in_the_cloud_has_a_price_or_says_why_not() -> None:
    """Issue 15, point 3: a device whose catalog entry says it is rented in the cloud has a priced offer;
    where no provider publishes one, its price file records the offer with the reason (``absent``), which
    the app shows beside the device."""
    offered = set(CAT.devices[CAT.devices.cloud_available.eq(True)].id)
    priced = set(CAT.cloud_prices.device_id)
    assert offered - priced == UNPRICED_IN_THE_CLOUD
    for dev in UNPRICED_IN_THE_CLOUD:
        reasons = list(CAT.cloud_unpriced[CAT.cloud_unpriced.device_id == dev].reason)
        assert reasons and all(len(r) > 40 for r in reasons), dev
    # and the page says it beside the device, in the price file's words
    r = evaluate(Scenario(workload="llama-2-70b"))
    why = r.option("nvidia-gb300-nvl72").unavailable_reason
    assert "CoreWeave: its pricing page prints 'Contact sales'" in why and "Nebius: " in why


def test_an_offer_sold_by_capacity_block_only_commits_at_its_own_rate() -> None:
    """Trainium2 has no published rate but an EC2 Capacity Block's: its price file records no commitment price
    (``price_1yr = { absent }``), so a commitment costs the block rate, not AWS's EC2 discount off it,
    and the offer says why."""
    offers = CAT.cloud_prices[CAT.cloud_prices.device_id == "aws-trainium2"]
    assert ("aws", "1-year") in DISCOUNTS  # the discount it would otherwise take
    for basis in ("1-year", "3-year"):
        priced = pricing.basis_prices(offers, basis, DISCOUNTS)
        assert (priced.basis_rate == priced.price_usd_per_chip_hour).all()
        assert priced.basis_source.str.contains("Capacity Block").all()
    o = evaluate(Scenario(workload="sdxl", requests_per_day=1e7, model_changes_per_year=0)).option(
        "aws-trainium2"
    )
    assert o.available and o.committed_devices == 0 and "Capacity Block" in o.cloud_offer


NEOCLOUD_GPUS = [
    "nvidia-h100-sxm",
    "nvidia-h100-pcie",
    "nvidia-h200",
    "nvidia-l40s",
    "nvidia-a100-40gb-sxm",
    "nvidia-a100-80gb-sxm",
    "nvidia-b200",
    "nvidia-l4",
    "amd-mi300x",
]


@pytest.mark.parametrize("device", NEOCLOUD_GPUS)
def test_any_provider_prices_each_gpu_below_the_major_clouds(device: str) -> None:
    """The market switch is not lopsided: each GPU a neocloud rents has a neocloud price, dated, region
    stated (a 'not stated' region says so)."""
    c = CAT.cloud_prices[CAT.cloud_prices.device_id == device]
    neo = c[~c.provider.isin(MAJOR_CLOUDS)]
    assert not neo.empty, f"{device}: no neocloud price"
    assert neo.as_of.map(lambda x: hasattr(x, "year")).all() and neo.region.str.len().gt(0).all()
    major = c[c.provider.isin(MAJOR_CLOUDS)]
    if not major.empty:
        assert neo.price_usd_per_chip_hour.min() < major.price_usd_per_chip_hour.min()


def test_b200_has_more_than_one_provider_and_p5_is_priced_in_us_east_1() -> None:
    c = CAT.cloud_prices
    assert c[c.device_id == "nvidia-b200"].provider.nunique() >= 2
    p5 = c[(c.device_id == "nvidia-h100-sxm") & (c.instance == "p5.48xlarge")]
    assert list(p5.region) == ["us-east-1"]


def test_spot_is_refused_for_live_requests_with_the_reason() -> None:
    for target in ("server", "interactive-chat", "custom"):
        assert "batch" in pricing.spot_refusal(Scenario(latency_target=target))
    assert pricing.spot_refusal(Scenario(latency_target="batch")) == ""


# -- the scenario field ---------------------------------------------------------------------------------


def test_cloud_pricing_is_a_scenario_field_with_a_sourced_default() -> None:
    s = Scenario()
    assert s.cloud_pricing == "1-year"
    for basis in CLOUD_PRICINGS:
        t = Scenario(cloud_pricing=basis)
        assert Scenario.from_query(t.to_query()) == t
        assert Scenario.from_json(t.to_json()) == t
    with pytest.raises(ScenarioError, match=r"cloud_pricing.*allowed: on-demand, 1-year, 3-year, spot"):
        Scenario(cloud_pricing="2-year")


def test_offer_tables_stay_tables() -> None:
    """basis_prices keeps the offers' other columns (the model reads provider, instance, region, as_of)."""
    out = pricing.basis_prices(CAT.cloud_prices, "1-year", DISCOUNTS)
    assert isinstance(out, pd.DataFrame) and set(CAT.cloud_prices.columns) <= set(out.columns)


# -- the model: every option on every basis --------------------------------------------------------------

CASES = [
    dict(workload="llama-3.1-8b", requests_per_day=1e8),
    dict(workload="llama-3.1-8b", requests_per_day=2e9, peak_to_average=3.0),
    dict(workload="resnet-50", requests_per_day=1e6, cloud_market="any-provider"),
    dict(workload="sdxl", requests_per_day=3e5, peak_to_average=1.0),
    dict(workload="bert-large", requests_per_day=5e9, training_share=0.2),
]


def _cloud_costs(**kw: object) -> dict[str, float]:
    r = evaluate(Scenario(**kw), CAT, crossover=False)
    return {o.device_id: o.hardware_cost_usd for o in r.options if o.available}


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['workload']}-{c['requests_per_day']:g}")
@pytest.mark.parametrize(
    "basis,horizon", [("1-year", 1.0), ("1-year", 3.0), ("3-year", 3.0), ("3-year", 6.0)]
)
def test_the_model_never_costs_a_commitment_above_on_demand_over_whole_terms(
    case: dict, basis: str, horizon: float
) -> None:
    """Over whole terms, every option's cloud bill on a commitment is at most its bill on demand (the
    same fleet, following the same day; "no commitment" is one of the mixes the model may choose)."""
    committed = _cloud_costs(**case, cloud_pricing=basis, horizon_years=horizon)
    on_demand = _cloud_costs(**case, cloud_pricing="on-demand", horizon_years=horizon)
    assert committed and set(committed) == set(on_demand)
    worse = {d: (committed[d], on_demand[d]) for d in committed if committed[d] > on_demand[d] * (1 + 1e-9)}
    assert not worse, worse


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['workload']}-{c['requests_per_day']:g}")
@pytest.mark.parametrize("basis", ["on-demand", "1-year", "3-year"])
def test_the_models_fleets_follow_the_day_for_no_more_than_a_peak_sized_fleet(case: dict, basis: str) -> None:
    """Each cloud option costs at most its peak-sized fleet running all day at on-demand prices, and its
    fleet over the day runs from min to peak around its average."""
    s = Scenario(**case, cloud_pricing=basis)
    r = evaluate(s, CAT, crossover=False)
    t = device_table(CAT, s.workload, s.cloud_market)
    price = dict(zip(t.ids, t.cloud_price, strict=True))
    hours = HOURS_PER_YEAR * s.horizon_years
    for o in r.options:
        if not o.available:
            continue
        assert o.devices_min <= o.devices_average <= o.devices_needed, o.device_id
        assert 0 <= o.committed_devices <= o.devices_needed and o.cloud_pricing == basis
        serving = o.hardware_cost_usd - (o.training_devices and _training_cost(r, o, price, hours))
        assert serving <= o.devices_needed * price[o.device_id] * hours * (1 + 1e-9), o.device_id
    best = r.options[0]
    # a day with a peak, a fleet that can shrink (a GPU fleet that trains in its troughs stays busy)
    if s.peak_to_average > 1 and best.devices_needed >= 16 and s.training_share == 0:
        assert best.devices_min < best.devices_needed


def _training_cost(r: object, o: object, price: dict, hours: float) -> float:
    """The separate training fleet's cost, all term at on-demand (an upper bound for the check)."""
    return 0.0 if o.training_device_id is None else o.training_devices * price[o.training_device_id] * hours


def test_the_option_and_its_json_carry_the_fleet_over_the_day_and_the_basis() -> None:
    r = evaluate(Scenario(requests_per_day=1e9), CAT)
    d = json.loads(json.dumps(r.to_dict(), default=str))
    best = d["options"][0]
    for key in ("devices_min", "devices_average", "devices_needed", "committed_devices", "cloud_pricing"):
        assert key in best and best[key] is not None, key
    assert best["cloud_pricing"] == "1-year" and "1-year" in best["price_source"]
    assert any("follows the day" in reason for reason in r.recommendation.reasons)
    figs = dict(fmt.headline_figures(r))
    assert "peak" in figs["devices"] and "min" in figs["devices"]
    bare = evaluate(Scenario(requests_per_day=1e9, deployment="bare-metal"), CAT, crossover=False)
    owned = bare.options[0]
    assert owned.devices_min == owned.devices_needed and owned.cloud_pricing is None


def test_spot_prices_batch_work_and_says_why_not_for_live_requests() -> None:
    batch = evaluate(Scenario(cloud_pricing="spot", latency_target="batch"), CAT, crossover=False)
    assert batch.options[0].available and "spot" in batch.options[0].price_source
    live = evaluate(Scenario(cloud_pricing="spot", latency_target="server"), CAT, crossover=False)
    assert not any(o.available for o in live.options)
    served = evaluate(Scenario(cloud_pricing="on-demand", latency_target="server"), CAT, crossover=False)
    for o in served.options:  # what serves the scenario on demand is refused on spot, saying why
        if o.available:
            assert "only batch work" in live.option(o.device_id).unavailable_reason, o.device_id
    assert tornado(live.scenario, CAT).empty  # nothing to move: no device serves it


def test_bare_metal_pays_the_owners_costs_every_year_and_the_timeline_ends_at_the_total() -> None:
    """Owning: the servers and their network at purchase, then support and rack space with power per
    provisioned kW every month; the running costs fall month by month, not up front."""
    s = Scenario(requests_per_day=1e9, deployment="bare-metal")
    r = evaluate(s, CAT, crossover=False)
    t = device_table(CAT, s.workload, s.cloud_market)
    a = CAT.assumptions.set_index("key").value
    i = {d: k for k, d in enumerate(t.ids)}
    for o in r.options[:3]:
        k = i[o.device_id]
        servers = _servers_and_devices_usd(t, k, a, o)
        kit = servers * (1 + a["network_cost_ratio"])
        space = o.devices_needed * t.provisioned_w[k] / 1e3 * a["colocation_usd_per_kw_month"] * 12 * 3
        support = servers * a["support_cost_ratio_per_year"] * 3
        assert o.hardware_cost_usd == pytest.approx(kit + space + support, rel=1e-9), o.device_id
        line = r.timeline[r.timeline.device_id == o.device_id].cumulative_usd.to_numpy()
        assert line[-1] == pytest.approx(o.tco_usd, rel=1e-9)
        monthly = (line[-1] - line[1]) / (len(line) - 2)
        assert monthly > (space + support) / 36 * 0.999  # the running costs accrue month by month


def _servers_and_devices_usd(t, k: int, a: pd.Series, o) -> float:
    """What a plan's devices and their servers cost on bare metal, from the catalog's figures alone: PCIe
    cards plus the sourced PCIe server price for each whole server the plan counts; else the devices'
    price x (1 + the host-cost ratio)."""
    if t.power_class[k] == "pcie":
        return o.devices_needed * t.purchase_usd[k] + o.servers * a["pcie_server_usd"]
    return o.devices_needed * t.purchase_usd[k] * (1 + a["host_cost_ratio"])


def test_bare_metal_servers_are_priced_by_their_class_and_the_plan_says_so() -> None:
    """A PCIe card's server is a sourced server price, bought whole (an L4 no longer brings a $1.5 k server,
    and 2 cards in 2 servers pay for 2); 8-way baseboard servers keep Epoch AI's host-cost ratio, and each
    plan names its basis."""
    s = Scenario(deployment="bare-metal")
    r = evaluate(s, CAT, crossover=False)
    t = device_table(CAT, s.workload, s.cloud_market)
    a = CAT.assumptions.set_index("key").value
    assert a["pcie_server_usd"] > 10_000  # a two-socket server one could order, not a fraction of a card
    i = {d: k for k, d in enumerate(t.ids)}
    seen = set()
    for o in (o for o in r.options if o.available):
        k = i[o.device_id]
        kit = _servers_and_devices_usd(t, k, a, o) * (1 + a["network_cost_ratio"])
        space = o.devices_needed * t.provisioned_w[k] / 1e3 * a["colocation_usd_per_kw_month"] * 12 * 3
        support = kit / (1 + a["network_cost_ratio"]) * a["support_cost_ratio_per_year"] * 3
        assert o.hardware_cost_usd == pytest.approx(kit + space + support, rel=1e-9), o.device_id
        basis = "pcie_server_usd" if t.power_class[k] == "pcie" else "host_cost_ratio"
        assert basis in o.price_source, o.device_id
        seen.add(t.power_class[k])
    assert {"pcie", "baseboard"} <= seen

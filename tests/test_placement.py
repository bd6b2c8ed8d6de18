"""Placement (issue 14, point 4), as properties over the whole catalog.

A model copy lives inside one interconnect domain: one cloud instance, one server on bare metal, one device
at the edge. Cloud offers are whole instances that hold whole copies and are paid whole; a device that
cannot hold a copy inside one domain is unavailable, with the reason in words.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from explorer.calc import (
    MEMORY_HEADROOM,
    device_table,
    evaluate,
    placed_offers,
    precision_bytes,
    server_size,
)
from explorer.catalog import load_catalog
from explorer.model.assumptions import assumption
from explorer.model.cost import market_offers
from explorer.scenario import Scenario

CAT = load_catalog()
WORKLOADS = sorted(CAT.workloads.id)
MARKETS = ("major-clouds", "any-provider")
DEVICES = CAT.devices.set_index("id")


def tables():
    return [(w, m, device_table(CAT, w, m)) for w in WORKLOADS for m in MARKETS]


@pytest.mark.slow
def test_a_copy_fits_inside_one_domain_everywhere_it_is_offered() -> None:
    """Where a deployment can use a device, one copy's weights (at the workload's storage precision, in
    MEMORY_HEADROOM of each device's memory) fit on the devices of one instance, server or device."""
    checked = 0
    for w, _market, t in tables():
        weights = t.workload["parameters"] * precision_bytes(t.workload["precision"]) / 1e9
        for i, dev_id in enumerate(t.ids):
            dev = DEVICES.loc[dev_id]
            r = int(t.replica[i])
            if pd.notna(dev.memory_gb) and dev.memory_gb > 0:
                assert r * dev.memory_gb * MEMORY_HEADROOM >= weights - 1e-9, (w, dev_id)
            if t.cloud_ok[i]:  # inside one instance: its chips hold whole copies
                assert t.cloud_copies[i] >= 1 and t.cloud_chips[i] == t.cloud_copies[i] * r, (w, dev_id)
                checked += 1
            if t.bare_ok[i]:  # inside one server: its class's, or for a PCIe card the largest sold
                assert r <= t.server_max[i], (w, dev_id)
                most = dev.get("pcie_server_cards")
                if t.power_class[i] == "pcie" and pd.notna(most):
                    assert t.server_max[i] == max(server_size(CAT, dev)[0], most), (w, dev_id)
                else:
                    assert t.server_max[i] == server_size(CAT, dev)[0], (w, dev_id)
                checked += 1
            if t.edge_ok[i]:  # on the one device an edge site runs
                assert r == 1, (w, dev_id)
    assert checked > 100


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["auto", "bf16", "fp8", "int8", "fp4"])
def test_a_copy_fits_at_the_format_it_is_served_in(precision) -> None:
    """An LLM asked for in another format than the workload's own is placed at that format: its copy's
    weights as served fit the devices of one instance, server or board. Until 2026-12-06 copies were
    counted at the workload's format whatever the request's: Llama-2-70B in BF16 (138 GB) was placed as
    two L40S per copy (96 GB), on one Gaudi 2 (96 GB) and on two H100 PCIe in a server (160 GB)."""
    from explorer.calc import scenario_device_table
    from explorer.model.serving import FORMAT_BYTES, Architecture

    checked = 0
    for w in WORKLOADS:
        if Architecture.of(CAT.workloads.set_index("id").loc[w]) is None:
            continue
        for deployment in ("cloud", "bare-metal", "edge"):
            for target in ("batch", "interactive-chat"):
                s = Scenario(workload=w, precision=precision, deployment=deployment, latency_target=target)
                t = scenario_device_table(CAT, s)
                ok = {"cloud": t.cloud_ok, "bare-metal": t.bare_ok, "edge": t.edge_ok}[deployment]
                why = {"cloud": t.cloud_why, "bare-metal": t.bare_why, "edge": t.edge_why}[deployment]
                for i, dev_id in enumerate(t.ids):
                    dev = DEVICES.loc[dev_id]
                    if precision != "auto" and "cannot span" in why[i]:  # said at the format asked for
                        assert f"for its weights at {precision}" in why[i], (s, dev_id, why[i])
                    if not (ok[i] and t.fits[i] and t.rps[i] > 0) or not dev.memory_gb > 0:
                        continue
                    served = FORMAT_BYTES[t.serving_format[i].split(" ")[0].lower()]
                    weights = t.workload["parameters"] * served / 1e9
                    r = int(t.replica[i])
                    assert r * dev.memory_gb * MEMORY_HEADROOM >= weights - 1e-9, (s, dev_id, r)
                    if deployment == "cloud":
                        assert t.cloud_chips[i] == t.cloud_copies[i] * r, (s, dev_id)
                    elif deployment == "bare-metal":
                        assert r <= t.server_max[i], (s, dev_id)
                    else:
                        assert r == 1, (s, dev_id)
                    checked += 1
    assert checked > 50


def test_a_narrower_format_fits_a_model_on_a_board_its_own_format_does_not() -> None:
    """At the edge, Llama-3.1-8B in BF16 (16 GB) fits no Jetson but the 64 GB AGX Orin; in FP8 (8 GB) the
    16 GB Orin NX holds it, in FP4 (4 GB) the 8 GB Orin Nano too. Until 2026-12-06 the edge was placed at
    the workload's own format whatever the request's, and a board the model did not fit at that format was
    read as having 'no compute or bandwidth figure to estimate one'."""

    def edge(precision: str) -> dict[str, object]:
        r = evaluate(Scenario(workload="llama-3.1-8b", precision=precision, deployment="edge"), CAT)
        return {o.device_id: o for o in r.options if o.device_id.startswith("nvidia-jetson")}

    bf16, fp8, fp4 = edge("bf16"), edge("fp8"), edge("fp4")
    assert [d for d, o in bf16.items() if o.available] == ["nvidia-jetson-agx-orin"]
    nx = bf16["nvidia-jetson-orin-nx-16gb"].unavailable_reason
    assert nx.startswith("one copy needs 2 devices") and "needs 16 GB for its weights at bf16" in nx
    assert fp8["nvidia-jetson-orin-nx-16gb"].available and not fp8["nvidia-jetson-orin-nano-super"].available
    assert "needs 8 GB for its weights at fp8" in fp8["nvidia-jetson-orin-nano-super"].unavailable_reason
    assert all(o.available for o in fp4.values()), {d: o.unavailable_reason for d, o in fp4.items()}
    # a board with no published memory is named with the weights it would have to hold, in the format asked
    hailo = evaluate(Scenario(workload="llama-3.1-8b", precision="fp4", deployment="edge"), CAT).option(
        "hailo-8"
    )
    assert hailo.unavailable_reason.startswith("no published memory to hold the model's 4 GB of weights")


def test_a_format_too_wide_for_every_instance_says_so_and_names_the_chips_once() -> None:
    """Llama-2-70B in BF16 needs 16 TPU v5e (16 GB each) where its own FP8 needs 8: the largest v5e
    instance (8 chips) then holds no copy, and the reason says so, the instance's chips named once (its
    catalog name already states them; until 2026-12-06 the words read "8 chips) (8 chips)")."""
    r = evaluate(Scenario(workload="llama-2-70b", precision="bf16"), CAT)
    v5e = next(o for o in r.options if o.device_id == "google-tpu-v5e")
    assert not v5e.available
    assert v5e.unavailable_reason.startswith(
        "one copy needs 16 devices, and the largest instance offered, Google Cloud tpu-v5litepod-8 "
        "(ct5lp-hightpu-8t, 8 chips), has fewer"
    ), v5e.unavailable_reason
    fp8 = next(
        o for o in evaluate(Scenario(workload="llama-2-70b"), CAT).options if o.device_id == v5e.device_id
    )
    assert (
        fp8.available
        and "over 8 devices inside one tpu-v5litepod-8 (ct5lp-hightpu-8t, 8 chips) (1 copy)"
        in (fp8.placement)
    )


def test_every_cloud_option_is_priced_as_whole_instances() -> None:
    """Paying for the chips that serve at the table's rate pays exactly for whole instances of the offer
    chosen, chips no copy uses included; a fleet is a whole number of instances."""
    for w, market, t in tables():
        placed = placed_offers(market_offers(CAT, market), dict(zip(t.ids, t.replica, strict=True)))
        for i, dev_id in enumerate(t.ids):
            if not t.cloud_ok[i]:
                continue
            rows = placed[placed.device_id == dev_id]
            match = rows[np.isclose(rows.price_usd_per_chip_hour, t.cloud_price[i], rtol=1e-12)]
            assert not match.empty, (w, dev_id)
            row = match.iloc[0]
            raw = CAT.cloud_prices.loc[row.name]  # the offer as the catalog lists it
            instance_usd_per_hour = raw.price_usd_per_chip_hour * raw.chips
            assert t.cloud_price[i] * t.cloud_chips[i] == pytest.approx(instance_usd_per_hour, rel=1e-12)
            assert row.instance_chips == raw.chips and row.copies == math.floor(raw.chips / t.replica[i])
    for w in WORKLOADS:
        for pricing in ("on-demand", "3-year"):
            s = Scenario(workload=w, cloud_pricing=pricing)
            r = evaluate(s, CAT)
            t = device_table(CAT, w, s.cloud_market)
            basis = t.cloud_bases.get(pricing) if hasattr(t, "cloud_bases") else None
            for o in r.options:
                if o.available:
                    i = list(t.ids).index(o.device_id)
                    step = basis.chips[i] if basis is not None else t.cloud_chips[i]
                    assert o.devices_needed % step == 0, (w, pricing, o.device_id, o.devices_needed, step)


def test_llama_2_70b_on_inferentia2_runs_on_whole_neuronlink_instances() -> None:
    """Issue 14's case: a copy needs several Inferentia2 chips joined by NeuronLink inside one inf2.24xlarge
    or inf2.48xlarge, never separate inf2.xlarge instances."""
    r = evaluate(Scenario(workload="llama-2-70b", cloud_pricing="on-demand"), CAT)
    o = r.option("aws-inferentia2")
    t = device_table(CAT, "llama-2-70b")
    assert t.replica[list(t.ids).index("aws-inferentia2")] > 1
    assert o.available and "NeuronLink" in o.placement
    assert any(k in o.cloud_offer for k in ("inf2.24xlarge", "inf2.48xlarge")), o.cloud_offer
    assert "inf2.xlarge" not in o.cloud_offer and "inf2.8xlarge" not in o.cloud_offer


def test_a_device_that_cannot_hold_a_copy_in_one_domain_says_why() -> None:
    """Every unavailable option has a reason; where the reason is placement, it says what the model needs,
    what the largest instance or the server holds, and that a copy cannot span them."""
    found = 0
    for w in WORKLOADS:
        for deployment in ("cloud", "bare-metal", "edge"):
            for market in MARKETS:
                r = evaluate(Scenario(workload=w, deployment=deployment, cloud_market=market), CAT)
                t = device_table(CAT, w, market)
                for o in r.options:
                    if o.available:
                        assert o.placement, (w, deployment, o.device_id)
                        continue
                    assert o.unavailable_reason and o.unavailable_reason.strip(), (w, deployment, o.device_id)
                    i = list(t.ids).index(o.device_id)
                    if "cannot span" in o.unavailable_reason:
                        found += 1
                        assert re.search(r"needs [\d.,]+ [MGT]B for its weights", o.unavailable_reason)
                        assert t.replica[i] > 1
    assert found > 0
    # Llama-2-70B in FP8 (69 GB) takes 8 T4 (16 GB each): one g4dn.metal; in BF16 (138 GB), 16: none holds
    # them, and the words give the weights at the format asked for, not the workload's own
    t4 = evaluate(Scenario(workload="llama-2-70b"), CAT).option("nvidia-t4")
    assert t4.available and "over 8 devices inside one g4dn.metal (8 chips: 1 copy)" in t4.placement
    t4 = evaluate(Scenario(workload="llama-2-70b", precision="bf16"), CAT).option("nvidia-t4")
    assert not t4.available and "AWS g4dn.metal (8 chips), has fewer" in t4.unavailable_reason
    assert "one copy needs 16 devices" in t4.unavailable_reason
    assert "needs 138 GB for its weights at bf16" in t4.unavailable_reason
    assert "PCIe" in t4.unavailable_reason  # the interconnect, named


@pytest.mark.slow
@pytest.mark.parametrize("factor", [3])
def test_more_chips_per_instance_never_makes_a_copy_not_fit(factor: int) -> None:
    """Every offer's instance made `factor` times larger at the same price per chip: a device that could hold
    a copy in the cloud still can, at a price per serving chip that never rises (a larger instance wastes
    no larger share of its chips: floor(k x) / k x >= floor(x) / x)."""
    prices = CAT.cloud_prices.assign(chips=CAT.cloud_prices.chips * factor)
    bigger = replace(CAT, cloud_prices=prices)
    for w in WORKLOADS:
        for market in MARKETS:
            before, after = device_table(CAT, w, market), device_table(bigger, w, market)
            assert np.all(after.cloud_ok >= before.cloud_ok), (w, market)
            ok = before.cloud_ok
            assert np.all(after.cloud_price[ok] <= before.cloud_price[ok] * (1 + 1e-12)), (w, market)


def test_a_pcie_card_copy_past_its_class_server_takes_a_server_of_its_own_up_to_the_largest_sold() -> None:
    """Llama-2-70B at the interactive-chat preset (33 tokens/s per user) needs the L40S's copy over 8 cards
    (four give one user 32, eight 40). Every PCIe card stopped at its server class's 4 on bare metal, so
    no bare-metal L40S plan existed, while Dell's XE7740 and Cisco's C845A hold 8 (MLPerf v5.1). The
    copy now takes an 8-card server: the fleet is whole such servers plus a spare one, the racks hold
    them by their kW, the page says so, and the server is costed as two of the class's. Without the
    record (an older catalog folder) the plan is unavailable, its reason the rate the 4 cards of its
    server class reach."""
    s = Scenario(workload="llama-2-70b", latency_target="interactive-chat", deployment="bare-metal")
    o = evaluate(s, CAT).option("nvidia-l40s")
    assert o.available, o.unavailable_reason
    assert (
        "tensor-parallel over 8 devices inside one server of 8 (more than the 4 of its server class;"
        in o.placement
    )
    assert "servers of up to 8 are sold" in o.placement and "host's PCIe" in o.placement
    spare = s.spare_servers
    assert o.devices_needed % 8 == 0 and o.servers == o.devices_needed // 8
    assert o.servers - spare == math.ceil((o.devices_needed - 8 * spare) / 8)
    t = device_table(CAT, "llama-2-70b")
    i = list(t.ids).index("nvidia-l40s")
    per_rack = math.floor(assumption(CAT, "rack_kw") / (8 * t.provisioned_w[i] / 1e3))
    assert o.racks == math.ceil(o.servers / per_rack)
    assert (
        "holding up to 4 cards, whole servers bought; a copy of 8 cards takes a server of its own, "
        "costed as 2 of these" in o.price_source
    )
    older = replace(CAT, devices=CAT.devices.drop(columns=["pcie_server_cards"]))
    o = evaluate(s, older).option("nvidia-l40s")
    assert not o.available and "weights over 4 devices" in o.unavailable_reason


@pytest.mark.slow
def test_a_larger_server_sold_never_takes_a_bare_metal_plan_away_or_raises_its_devices_per_request() -> None:
    """Over the LLMs and the latency presets, in each format: with the catalog's largest PCIe servers
    every bare-metal plan the class's 4-card server allowed is still there, and the copies chosen serve
    at least as much per card (the degree is the cheapest per request among more choices)."""
    older = replace(CAT, devices=CAT.devices.drop(columns=["pcie_server_cards"]))
    gained = 0
    for w in ("llama-2-70b", "llama-3.1-8b"):
        for target in ("interactive-chat", "batch"):
            for precision in ("auto", "bf16"):
                s = Scenario(workload=w, latency_target=target, deployment="bare-metal", precision=precision)
                now, before = evaluate(s, CAT), evaluate(s, older)
                for b in before.options:
                    o = now.option(b.device_id)
                    assert o.available >= b.available, (s, b.device_id)
                    gained += o.available and not b.available
                    if b.available:
                        assert o.throughput_per_device_rps >= b.throughput_per_device_rps * (1 - 1e-9)
    assert gained >= 3  # L40S at interactive chat, T4 at batch (FP8 and BF16)


def test_without_a_scale_up_domain_or_interconnect_the_model_still_places_copies_and_says_so() -> None:
    """A catalog (an upload, an older folder) without the columns: copies still placed, within the instance
    or the server class, and the words say the domain is unknown."""
    bare = replace(
        CAT, devices=CAT.devices.drop(columns=["scale_up_domain", "interconnect"], errors="ignore")
    )
    t = device_table(bare, "llama-2-70b")
    i = list(t.ids).index("aws-inferentia2")
    assert t.cloud_ok[i] and "no scale-up domain" in t.placement["cloud"][i]
    r = evaluate(Scenario(workload="llama-2-70b"), bare)
    assert r.options[0].available and r.options[0].placement


@pytest.mark.parametrize("workload", ["llama-2-70b", "llama-3.1-8b"])
def test_a_copy_is_split_over_devices_that_divide_its_attention_heads(workload) -> None:
    """Serving stacks split an LLM's heads evenly over its devices: 70B's 64 heads went over 3 TPU v6e
    chips (2 of 8 idle and paid) or 6 v5e chips. Every catalog LLM's copy now spans a number of devices
    that divides its heads, at least what its weights need, and the words say that number: as served, the
    number its throughput is computed at."""
    from explorer.calc import build_device_table

    t = build_device_table(CAT, workload)
    w = CAT.workloads.set_index("id").loc[workload]
    heads = int(w.attention_heads)
    weights_gb = w.parameters * precision_bytes(w.precision) / 1e9
    memory = CAT.devices.set_index("id").loc[list(t.ids), "memory_gb"].astype(float)
    for i, device_id in enumerate(t.ids):
        n = int(t.replica[i])
        if n > heads:  # more devices than heads (Coral's 8 MB: 10,779 for 70B): no copy can be split so
            assert not (t.cloud_ok[i] or t.bare_ok[i] or t.edge_ok[i]), device_id
            continue
        assert heads % n == 0, (device_id, n)
        if memory[device_id] > 0:
            assert n >= weights_gb / (memory[device_id] * MEMORY_HEADROOM), device_id
    # as served, in each deployment, a copy spans the degree its throughput is computed at: one that
    # divides the heads, at least what the weights need, within the domain and the instance or server
    from explorer.calc import scenario_device_table

    domain = CAT.devices.set_index("id").scale_up_domain
    for deployment in ("cloud", "bare-metal"):
        for market in ("major-clouds", "any-provider"):
            s = Scenario(workload=workload, deployment=deployment, cloud_market=market)
            served = scenario_device_table(CAT, s)
            ok = served.cloud_ok if deployment == "cloud" else served.bare_ok
            for i, device_id in enumerate(served.ids):
                n = int(served.replica[i])
                if not (ok[i] and served.fits[i]):
                    continue
                # AWS Neuron pads the heads (its own tables: TP 24 over 12 Inferentia2 chips)
                pads = str(served.vendors[i]).startswith("AWS")
                assert (pads or heads % n == 0) and n >= t.replica[i], (deployment, market, device_id, n)
                assert n <= max(domain[device_id], t.replica[i]), (deployment, device_id, n)
                if deployment == "cloud":
                    assert n <= served.cloud_chips[i], (market, device_id)
    r = evaluate(Scenario(workload="llama-2-70b"), CAT)
    v6e = next(o for o in r.options if o.device_id == "google-tpu-v6e")
    # the 8-chip copy its throughput is computed at (4 until 2026-12-06, while the throughput was 8's)
    assert "tensor-parallel over 8 devices inside one tpu-v6e-8" in v6e.placement
    assert "idle" not in v6e.placement

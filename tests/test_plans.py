"""Plans one could order from, and fair training (issue 15, points 6 and 7): property tests over the model.

- More elastic training never raises a plan's cost (the elastic share only moves training from the
  dedicated fleet into the serving fleet's troughs, where that is cheaper).
- Redundancy (spare servers) never lowers the device count.
- A bare-metal plan's devices fit in whole servers, and its servers in racks under the rack kW.
- Every edge add-in accelerator's cost includes the host computer it plugs into.
- Training goes to any device that trains (catalog `trains`), and a hybrid plan comes out of the model.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import numpy as np
import pytest

from explorer import calc
from explorer.catalog import load_catalog
from explorer.model.assumptions import assumption
from explorer.model.cost import per_device_cost_rates
from explorer.model.devices import device_table
from explorer.model.inputs import resolve
from explorer.scenario import Scenario

CAT = load_catalog()
ELASTIC = (0.0, 0.25, 0.5, 0.75, 1.0)


def _tco(s: Scenario) -> dict[str, float]:
    r = calc.evaluate(s, CAT)
    return {o.device_id: o.tco_usd for o in r.options if o.available}


@pytest.mark.parametrize("deployment", ["cloud", "bare-metal"])
@pytest.mark.parametrize(
    ("workload", "volume", "share"),
    [("llama-3.1-8b", 1e9, 0.2), ("resnet-50", 2e8, 0.5), ("llama-3.1-8b", 5e7, 0.6)],
)
def test_more_elastic_training_never_raises_a_plans_cost(
    deployment: str, workload: str, volume: float, share: float
) -> None:
    base = replace(
        Scenario(), deployment=deployment, workload=workload, requests_per_day=volume, training_share=share
    )
    runs = [_tco(replace(base, elastic_training_share=e)) for e in ELASTIC]
    assert runs[0], "no option available: the property would hold vacuously"
    moved = 0
    for lo, hi, a, b in zip(ELASTIC, ELASTIC[1:], runs, runs[1:], strict=False):
        assert a.keys() == b.keys()
        for dev, cost in b.items():
            assert cost <= a[dev] * (1 + 1e-9), f"{dev}: {a[dev]:,.0f} at {lo} elastic, {cost:,.0f} at {hi}"
            moved += cost < a[dev] * (1 - 1e-6)
    if deployment == "bare-metal":  # owned troughs are free to harvest: some plan must get cheaper
        assert moved > 0


def test_training_runs_on_any_device_that_trains_and_hybrid_comes_out_of_the_model() -> None:
    t = device_table(CAT, "llama-3.1-8b")
    trains = dict(zip(t.ids, t.trains, strict=True))
    # sourced capability: GPUs, TPUs, Trainium and Gaudi train; inference-only parts do not
    for dev in ("nvidia-h100-sxm", "google-tpu-v5p", "aws-trainium2", "intel-gaudi3", "amd-mi300x"):
        assert trains[dev], dev
    for dev in ("aws-inferentia2", "qualcomm-cloud-ai-100", "hailo-8", "google-coral-edge-tpu"):
        assert not trains[dev], dev
    r = calc.evaluate(replace(Scenario(), deployment="cloud", training_share=0.3), CAT)
    for o in r.options:
        if o.available and o.training_devices:
            assert trains[o.training_device_id], o.training_device_id
            kinds = {o.kind == "gpu", r.option(o.training_device_id).kind == "gpu"}
            assert (o.plan == "hybrid") == (len(kinds) == 2), (o.device_id, o.plan)
    # an inference-only accelerator cannot harvest: all its training is on the dedicated fleet
    a = {
        e: calc.evaluate(replace(Scenario(), training_share=0.3, elastic_training_share=e), CAT)
        for e in (0, 1)
    }
    inf2 = [x.option("aws-inferentia2") for x in a.values()]
    if inf2[0].available:
        assert inf2[0].training_devices == inf2[1].training_devices > 0


@pytest.mark.parametrize(("workload", "volume"), [("resnet-50", 2e8), ("llama-3.1-8b", 1e9)])
def test_redundancy_never_lowers_the_device_count(workload: str, volume: float) -> None:
    base = replace(Scenario(), deployment="bare-metal", workload=workload, requests_per_day=volume)
    runs = [calc.evaluate(replace(base, spare_servers=n), CAT) for n in (0, 1, 2)]
    grew = 0
    for a, b in itertools.pairwise(runs):
        for oa in a.options:
            if not oa.available:
                continue
            ob = b.option(oa.device_id)
            assert ob.devices_needed >= oa.devices_needed, oa.device_id
            assert ob.servers == oa.servers + 1, oa.device_id
            grew += ob.devices_needed > oa.devices_needed
    assert grew > 0
    if workload == "resnet-50":  # N+1 by default: one L4's worth of load (issue 15) is two servers
        l4 = calc.evaluate(base, CAT).option("nvidia-l4")
        assert l4.available and l4.servers == 2 and l4.devices_needed == 2


@pytest.mark.parametrize(
    ("workload", "volume", "share"),
    [("resnet-50", 2e8, 0.0), ("llama-3.1-8b", 1e9, 0.0), ("llama-3.1-8b", 1e9, 0.3)],
)
def test_bare_metal_devices_fit_whole_servers_and_servers_fit_racks(
    workload: str, volume: float, share: float
) -> None:
    s = replace(
        Scenario(), deployment="bare-metal", workload=workload, requests_per_day=volume, training_share=share
    )
    r = calc.evaluate(s, CAT)
    t = device_table(CAT, workload)
    per = dict(zip(t.ids, t.server_devices, strict=True))
    cls = dict(zip(t.ids, t.power_class, strict=True))
    prov_w = dict(zip(t.ids, t.provisioned_w, strict=True))
    rack_kw = assumption(CAT, "rack_kw")
    checked = 0
    for o in r.options:
        if not o.available:
            continue
        n = per[o.device_id]
        train = o.training_devices / per[o.training_device_id] if o.training_devices else 0
        assert train == int(train), f"{o.device_id}: training fleet not in whole servers"
        serving = o.servers - train
        assert serving >= 1 + s.spare_servers
        assert o.devices_needed <= serving * n
        if cls[o.device_id] != "pcie":  # baseboard and host servers are bought full
            assert o.devices_needed == serving * n
        if o.racks is None:
            assert math.isnan(prov_w[o.device_id])
            continue
        server_kw = n * prov_w[o.device_id] / 1e3
        per_rack = max(math.floor(rack_kw / server_kw + 1e-9), 1)
        assert o.racks >= math.ceil(serving / per_rack)
        if server_kw <= rack_kw and not o.training_devices:  # no rack holds more than the rack kW
            assert serving * server_kw <= o.racks * rack_kw + 1e-6
        checked += 1
    assert checked >= 5
    doc = r.to_dict()
    assert any(o.get("servers") and o.get("racks") for o in doc["options"])


def test_every_edge_add_in_accelerator_costs_its_host() -> None:
    s = replace(Scenario(), deployment="edge", workload="resnet-50", requests_per_day=1e7, edge_sites=100)
    t = device_table(CAT, "resnet-50")
    r = calc.evaluate(s, CAT)
    host = assumption(CAT, "edge_host_usd")
    addins = [i for i, c in enumerate(t.power_class) if c == "edge-addin"]
    assert len(addins) >= 2  # Hailo-8 and Coral
    buys = math.ceil(s.horizon_years / assumption(CAT, "hardware_lifetime_years") - 1e-9)
    rates, _ = per_device_cost_rates(t, resolve(CAT, s), "edge")
    shown = 0
    for i in addins:  # every add-in, whether or not it serves this workload, is priced with its host
        assert rates[i] == pytest.approx((t.purchase_usd[i] + host) * buys), t.ids[i]
        o = r.option(str(t.ids[i]))
        if o.available:  # and the option's figures carry it
            assert o.hardware_cost_usd == pytest.approx(o.devices_needed * (t.purchase_usd[i] + host) * buys)
            shown += 1
    assert shown >= 1
    boards = [i for i, c in enumerate(t.power_class) if c == "edge-board" and np.isfinite(t.purchase_usd[i])]
    for i in boards:  # a board that is its own computer carries no host
        assert rates[i] == pytest.approx(t.purchase_usd[i] * buys), t.ids[i]

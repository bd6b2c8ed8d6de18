"""The figures the README quotes from the model, validation and the market check are what the code gives
now. A new user who ran the README's commands found five that had drifted (2026-12-05: a baseline example
from two pricing changes ago, a rank correlation, two validation estimates, a measured-by-us estimate); the
golden table has its own check (``tests/test_golden.py``). Each figure is formatted as the README writes it,
and looked for in the README with its line breaks folded."""

from __future__ import annotations

import pytest

from explorer import fmt
from explorer.calc import evaluate
from explorer.catalog import load_catalog
from explorer.scenario import Scenario
from explorer.validate import leave_one_out, market_check, measured_by_us, summarise, summarise_market

from .conftest import REPO

CAT = load_catalog()
README = " ".join((REPO / "README.md").read_text(encoding="utf-8").split())

pytestmark = pytest.mark.slow


def pct(x: float) -> str:
    return f"{round(100 * x)} %"


def sig3(x: float) -> str:
    """Three significant digits, with thousands separators: 52,600, 1,390, 20.4."""
    return f"{float(f'{x:.3g}'):,.0f}" if x >= 100 else f"{x:.3g}"


def ratio(x: float) -> str:
    return f"{x:.1f}x" if x >= 1 else f"{x:.2f}x"


def test_validation_figures() -> None:
    device = leave_one_out(CAT, "device")
    s = summarise(device)
    groups = s.by_group.set_index("group").median_error
    assert (
        f"({len(device)} comparable results, all Offline), device held out: median error "
        f"{pct(s.median_error)} (target 20 %; GPUs {pct(groups['GPU'])}, data-centre accelerators "
        f"{pct(groups['datacenter accelerator'])}, edge {pct(groups['edge'])}), rank correlation "
        f"{s.ranks.spearman.min():.2f}-{s.ranks.spearman.max():.2f} per workload; result held out: "
        f"{pct(summarise(leave_one_out(CAT, 'result')).median_error)}."
    ) in README
    llama = device[device.workload == "llama-3.1-8b"].set_index("device_id")
    h200, h100 = llama.loc["nvidia-h200"], llama.loc["nvidia-h100-sxm"]
    assert (
        f"H200 and H100 are estimated {h200.estimated_rps:.1f} and {h100.estimated_rps:.1f} requests/s where "
        f"they measured {h200.measured_rps:.1f} and {h100.measured_rps:.1f}"
    ) in README


def test_measured_by_us_figures() -> None:
    for r in measured_by_us(CAT).itertuples():
        shown = f"| {sig3(r.measured_rps)} | {pct(r.share_of_roofline)} | {sig3(r.estimated_rps)} "
        assert f"{shown}({ratio(r.estimate_over_measured)}) |" in README, r.workload


def test_market_figures() -> None:
    points = market_check(CAT)
    m = summarise_market(points)
    assert f"{m.independent_within} of the {m.independent} independent points are within the 1.5x" in README
    aa = points[points.publisher == "Artificial Analysis"].set_index("device_id")
    for dev, name in (("nvidia-h100-sxm", "H100"), ("amd-mi300x", "MI300X"), ("google-tpu-v6e", "TPU v6e")):
        assert f"{name} {aa.factor[dev]:.2f}x" in README, dev
        assert f"implies {round(aa.source_tokens_per_s_per_device[dev]):,} tokens/s per" in README, dev
    assert f"where the tool serves {sig3(aa.tool_tokens_per_s_per_device['nvidia-h100-sxm'])}" in README
    assert f"the tool serves {sig3(aa.tool_tokens_per_s_per_device['amd-mi300x'])} from" in README
    assert f"the tool's estimate {sig3(aa.tool_tokens_per_s_per_device['google-tpu-v6e'])})" in README
    # the same two figures again, beside the open-source stacks' own tables
    assert (
        f"per user and the tool's {sig3(aa.tool_tokens_per_s_per_device['amd-mi300x'])}; on the H100"
        in README
    )
    assert (
        f"AA's 784 and the tool's {sig3(aa.tool_tokens_per_s_per_device['nvidia-h100-sxm'])} at 30" in README
    )
    fp4 = points[(points.device_id == "amd-mi355x") & (points.served_precision == "fp4")]
    fp4 = fp4.set_index("tokens_per_s_per_user")
    # InferenceX's ROCm FP4 recipe is slower than its FP8 one past 55 tokens/s per user: the two misses
    assert list(fp4.within) == [True, False, False]
    assert (
        f"at {sig3(fp4.tool_tokens_per_s_per_device[55])}, {sig3(fp4.tool_tokens_per_s_per_device[76])} and "
        f"{sig3(fp4.tool_tokens_per_s_per_device[96])}, and those points read {fp4.factor[55]:.2f}x, "
        f"{fp4.factor[76]:.2f}x and {fp4.factor[96]:.2f}x"
    ) in " ".join(README.split())
    mi355x = points[(points.device_id == "amd-mi355x") & (points.served_precision == "fp8")]
    mi355x = mi355x.set_index("tokens_per_s_per_user")
    f = mi355x.factor
    text = " ".join(README.split())
    assert (
        f"at 55 and 76 tokens/s per user ({f[55]:.2f}x and {f[76]:.2f}x), which set nothing, "
        f"and at 96 ({f[96]:.2f}x)" in text
    )
    assert mi355x.within.all() and mi355x.calibrates[96] == "decode_step_fixed_per_layer_amd_mi355x"
    tool = mi355x.tool_tokens_per_s_per_device
    assert (
        f"it serves {sig3(tool[96])} tokens/s per GPU there, and {sig3(tool[55])} and {sig3(tool[76])} "
        "at 55 and 76" in text
    )
    b200 = points[(points.device_id == "nvidia-b200") & (points.served_precision == "fp8")]
    b200 = b200.set_index("tokens_per_s_per_user")
    b4 = points[(points.device_id == "nvidia-b200") & (points.served_precision == "fp4")]
    b4 = b4.set_index("tokens_per_s_per_user").factor
    # the page's FP4 side: no figure taken from it, all three within
    assert b4.between(1 / 1.5, 1.5).all() and len(b4) == 3
    said = f"B200's FP4 side reads {b4[76]:.2f}x, {b4[108]:.2f}x and {b4[139]:.2f}x"
    assert said in " ".join(README.split())
    assert f"B200 at all three: {b200.factor[76]:.2f}x and {b200.factor[139]:.2f}x at 76 and 139" in README
    assert (
        f"{b200.factor[108]:.2f}x at 108, which set nothing ({sig3(b200.tool_tokens_per_s_per_device[108])} "
        f"tokens/s per GPU against the {round(b200.source_tokens_per_s_per_device[108]):,} its cost"
    ) in README


def test_the_baseline_example() -> None:
    s = Scenario(requests_per_day=5e7, workload="llama-3.1-8b", current_device="nvidia-h100-sxm")
    b = evaluate(s, CAT).baseline
    assert b.savings_usd > 0  # else the example would not show a saving
    assert f'"{fmt.BASELINE_LABEL}": "{fmt.usd(b.savings_usd)} ({fmt.percent(b.savings_share)})"' in README


ORDINAL = {4: "fourth", 5: "fifth", 6: "sixth", 7: "seventh", 8: "eighth"}


def test_the_interactive_70b_example_and_its_tornado() -> None:
    """The README's Llama-2-70B at 33 tokens/s per user: who leads, where Inferentia2 falls, and the range
    the serving stack's fixed step time gives the leader (found stale on 2026-12-06: an H100 and a B200
    that no longer led)."""
    r = evaluate(Scenario(workload="llama-2-70b", latency_target="interactive-chat"), CAT)
    totals = {o.device_id: o.tco_usd for o in r.options if o.available}
    ranked = sorted(totals, key=totals.get)
    assert ranked[:3] == ["amd-mi355x", "nvidia-gb200-nvl72", "nvidia-b300"], ranked[:3]
    assert f"The MI355X leads at {fmt.usd(totals['amd-mi355x'])}" in README
    assert f"then GB200 NVL72 at {fmt.usd(totals['nvidia-gb200-nvl72'])}" in README
    assert f"B300 at {fmt.usd(totals['nvidia-b300'])}" in README
    assert f"is {ORDINAL[ranked.index('nvidia-b200') + 1]} at {fmt.usd(totals['nvidia-b200'])} now" in README
    assert (
        f"is {ORDINAL[ranked.index('nvidia-h100-sxm') + 1]} at {fmt.usd(totals['nvidia-h100-sxm'])}:"
        in README
    )
    rank = ranked.index("aws-inferentia2") + 1
    assert f"falls to {fmt.usd(totals['aws-inferentia2'])} ({rank}th)" in README
    from explorer.uncertainty import tornado

    t = tornado(Scenario(workload="llama-2-70b", latency_target="interactive-chat"), CAT)
    fixed = t[t.input.str.startswith("fixed time per LLM step")].iloc[0]
    assert (
        f"from {fmt.usd(fixed.total_at_low_usd)} at the low end to {fmt.usd(fixed.total_at_high_usd)} "
        f"at the high end against {fmt.usd(totals['amd-mi355x'])}"
    ) in README


def test_the_sdxl_runners_up() -> None:
    r = evaluate(Scenario(requests_per_day=1e7, workload="sdxl", model_changes_per_year=0), CAT)
    totals = {o.device_id: o.tco_usd for o in r.options if o.available}
    second, third = sorted(totals, key=totals.get)[1:3]
    assert (second, third) == ("aws-inferentia2", "aws-trainium2")
    assert f"Inferentia2 ({fmt.usd(totals[second])}) and Trainium2 ({fmt.usd(totals[third])})" in README
    assert f"Inferentia2 {fmt.usd(totals[second])}; Trainium2 {fmt.usd(totals[third])};" in README


def test_the_catalog_readme_lists_every_unit() -> None:
    """Each unit the loader knows is in catalog/README.md's table (seven were missing on 2026-12-06)."""
    from explorer.catalog.units import UNITS

    table = (REPO / "catalog" / "README.md").read_text(encoding="utf-8").split("| quantity | units |")[1]
    table = table.split("\n\n")[0]
    missing = [u for u in UNITS if f"`{u}`" not in table]
    assert not missing, f"units not documented in catalog/README.md: {missing}"

"""How good are the throughput estimates? Held-out validation against the catalog's measurements.

Each comparable measured result is predicted by the model's own estimator (``calc.estimate_throughput``:
the roofline at the precision the run is estimated in, times the efficiency factor ``calc.fit_efficiency``
fits, never above 1) with data held out of the fit, and compared with the measurement. Two ways of
holding out:

* ``device``: all of the device's results are removed (on every workload), as for a device the catalog
  has never measured: what a user gets for the 24 of 26 devices without their own measurement;
* ``result``: only the one result is removed; the device's other results still inform the fit.

The estimate is for the run as measured: in the formats its source states (e.g. BF16 maths on FP32
tensors), else at the workload's serving precision, unless the measurement is above the device's ceiling
there (MLPerf's closed division lets submitters quantize): then in the narrowest format whose roofline
holds it, as the efficiency fit reads the same row (``run_formats``). A pair off by
more than 2x carries its reason. Performance per watt is compared the same way where the result carries
measured power (MLPerf Power: whole-system wall power), against the model's wall power per device.

Pure pandas/numpy (the calc layer): the CLI, the app's view, the uncertainty ranges and the tests all call
``leave_one_out``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from .calc import (
    device_table,
    estimate_throughput,
    per_catalog,
    roofline,
    run_formats,
    scenario_device_table,
)
from .catalog import Catalog, load_catalog
from .model.pricing import first_per_device
from .model.serving import FORMAT_NAMES
from .scenario import SERVING_PRECISIONS, Scenario

#: The median error device-held-out estimates are meant to stay within (issue 14; issue 6 had 25 %).
TARGET_ERROR = 0.20
#: Two devices' measurements must differ by more than this for the estimates' opposite order to count as a
#: contradicted ranking (``summarise``).
RANK_GAP = 0.25
#: How a result is held out of the fit that predicts it (see the module docstring).
HOLD_OUTS = ("device", "result")
#: A pair whose estimate is off by more than this factor either way is listed with its reason.
OFF_FACTOR = 2.0

#: What the numbers alone cannot say about a pair that stays off by more than 2x, from its sources.
KNOWN_REASONS = {
    ("bert-large", "nvidia-jetson-agx-orin"): (
        "the slow run is a third-party one in a non-MaxN power mode, below the clocks the published peak "
        "assumes (NVIDIA's own MaxN run of the same device is estimated within 3 %)"
    ),
}


def leave_one_out(cat: Catalog | None = None, hold_out: str = "device") -> pd.DataFrame:
    """One row per comparable measured result: measured and held-out estimated throughput (and perf/W).

    ``hold_out`` is ``"device"`` (all of the device's results removed from the fit) or ``"result"`` (the
    one result removed). Computed once per catalog and kind (the app's headline band and its validation
    view both need it); each call gets its own copy.
    """
    if hold_out not in HOLD_OUTS:
        raise ValueError(f"hold_out: {hold_out!r} is not allowed; allowed: {', '.join(HOLD_OUTS)}")
    return _leave_one_out(cat if cat is not None else load_catalog(), hold_out).copy()


def _group(dev: pd.Series) -> str:
    return "edge" if dev.segment == "edge" else ("GPU" if dev.kind == "gpu" else "datacenter accelerator")


def _reason(workload: str, device_id: str, measured: float, estimate: float, est, own: float) -> str:
    """Why a pair is off by more than 2x, in words; empty where it is not."""
    if not (estimate > 0 and max(estimate / measured, measured / estimate) > OFF_FACTOR):
        return ""
    fmt = (
        est.compute_precision
        if est.compute_precision == est.storage_precision
        else (f"{est.compute_precision} maths on {est.storage_precision} tensors")
    )
    fitted = est.efficiency.value
    if own > 1:
        why = (
            f"measured {own:.2f}x the device's {fmt} ceiling: the run used narrower formats (or less work "
            f"per request) than the estimate's {fmt}, which its source does not state"
        )
    elif estimate > measured:
        why = (
            f"this run reached {own:.0%} of its {fmt} roofline where the factor fitted on the other devices "
            f"is {fitted:.0%}: software the roofline cannot see"
        )
    else:
        why = f"this run reached {own:.0%} of its {fmt} roofline, the others' fitted factor {fitted:.0%}"
    known = KNOWN_REASONS.get((workload, device_id))
    return f"{why}; {known}" if known else why


@per_catalog(maxsize=8)
def _leave_one_out(cat: Catalog, hold_out: str) -> pd.DataFrame:
    devices = cat.devices.set_index("id")
    workloads = cat.workloads.set_index("id")
    r = cat.results[cat.results.comparable & cat.results.requests_per_s_per_accelerator.notna()]
    rows = []
    for row in r.itertuples():
        dev = devices.loc[row.device_id]
        held = {"exclude_device": row.device_id} if hold_out == "device" else {"exclude_result": row.Index}
        # The estimate is for the run as measured: the formats its source states, else the workload's
        # precision unless the measurement is above the device's ceiling there (then the narrowest format
        # that holds it: calibration's ``run_formats``, the same reading the fit makes of the row).
        cp, sp, how = run_formats(dev, workloads.loc[row.workload], row)
        est = estimate_throughput(
            cat, row.workload, row.device_id, compute_precision=cp, storage_precision=sp, **held
        )
        estimate = est.rps
        measured = row.requests_per_s_per_accelerator
        ceiling = roofline(est.compute_rps, est.memory_rps)
        own = measured / ceiling if ceiling > 0 and math.isfinite(ceiling) else math.nan
        meas_ppw = est_ppw = math.nan
        if pd.notna(row.power_w) and row.power_w > 0:
            meas_ppw = measured / (row.power_w / row.accelerators)  # requests per joule at the server wall
            t = device_table(cat, row.workload)
            wall = t.wall_w[list(t.ids).index(row.device_id)]  # the model's own wall power per device
            if wall > 0:
                est_ppw = estimate / wall
        reason = _reason(row.workload, row.device_id, measured, estimate, est, own)
        rows.append(
            {
                "workload": row.workload,
                "device_id": row.device_id,
                "group": _group(dev),
                "benchmark": row.benchmark,
                "scenario": row.scenario,
                "system": row.system,
                "hold_out": hold_out,
                "measured_rps": measured,
                "estimated_rps": estimate,
                "ceiling_rps": ceiling,
                "error": abs(estimate - measured) / measured,
                "signed_error": (estimate - measured) / measured,
                "off_by_2x": bool(reason),
                "reason": reason,
                "efficiency": est.efficiency.value,
                "fitted_on": est.efficiency.basis,
                "estimated_in": f"{est.compute_precision}/{est.storage_precision}",
                "formats_known": how,
                "measured_requests_per_joule": meas_ppw,
                "estimated_requests_per_joule": est_ppw,
                "ppw_error": abs(est_ppw - meas_ppw) / meas_ppw
                if meas_ppw == meas_ppw and est_ppw == est_ppw
                else math.nan,
                "source_title": row.source_title,
                "source_url": row.source_url,
                "retrieved": row.retrieved,
            }
        )
    return pd.DataFrame(rows)


#: ``division`` of the rows ``python -m explorer.measure`` writes (plain PyTorch: never in the fit)
MEASURED_BY_US = "measured by us"


def measured_by_us(cat: Catalog | None = None) -> pd.DataFrame:
    """Each of our own runs' figure (its highest-throughput row per device and workload) beside the model:
    the share of the device's roofline it reached at the formats it ran, and the model's estimate for the
    device with all of its own results held out. The rows are plain PyTorch, kept out of the fit (the
    catalog's README says why), so this is where they meet the model."""
    cat = cat if cat is not None else load_catalog()
    devices = cat.devices.set_index("id")
    workloads = cat.workloads.set_index("id")
    r = cat.results[
        (cat.results.division == MEASURED_BY_US) & cat.results.requests_per_s_per_accelerator.notna()
    ]
    rows = []
    for (workload, device_id), runs in r.groupby(["workload", "device_id"], sort=False):
        row = runs.loc[runs.requests_per_s_per_accelerator.idxmax()]
        cp, sp, _ = run_formats(devices.loc[device_id], workloads.loc[workload], row)
        est = estimate_throughput(
            cat, workload, device_id, compute_precision=cp, storage_precision=sp, exclude_device=device_id
        )
        ceiling = roofline(est.compute_rps, est.memory_rps)
        measured = float(row.requests_per_s_per_accelerator)
        rows.append(
            {
                "workload": workload,
                "device_id": device_id,
                "system": row.system,
                "formats": cp if cp == sp else f"{cp}/{sp}",
                "measured_rps": measured,
                "ceiling_rps": ceiling,
                "share_of_roofline": measured / ceiling if ceiling > 0 else math.nan,
                "estimated_rps": est.rps,
                "estimate_over_measured": est.rps / measured,
                "board_power_w": row.power_w,
                "source_title": row.source_title,
                "retrieved": row.retrieved,
            }
        )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class Summary:
    by_group: pd.DataFrame  # group, n, median and worst error (throughput and perf/W)
    ranks: pd.DataFrame  # workload, devices, spearman, contradicted pairs
    median_error: float
    within_target: bool
    by_workload: pd.DataFrame | None = None  # workload, results, median and worst error
    off: pd.DataFrame | None = None  # the results off by more than 2x, with their reasons
    hold_out: str = "device"


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 3:
        return math.nan
    ra, rb = pd.Series(a).rank().to_numpy(), pd.Series(b).rank().to_numpy()
    return float(np.corrcoef(ra, rb)[0, 1])


def summarise(loo: pd.DataFrame) -> Summary:
    """Median and worst error per device group and per workload; rank agreement across devices per
    workload; the results off by more than 2x, with their reasons.

    A pair of devices is *contradicted* when the measurements order them one way by more than ``RANK_GAP``
    (25 %) and the estimates order them the other way.
    """
    groups = []
    for group, g in loo.groupby("group"):
        p = g.ppw_error.dropna()
        groups.append(
            {
                "group": group,
                "results": len(g),
                "median_error": g.error.median(),
                "worst_error": g.error.max(),
                "ppw_results": len(p),
                "ppw_median_error": p.median() if len(p) else math.nan,
                "ppw_worst_error": p.max() if len(p) else math.nan,
            }
        )
    ranks, per_workload = [], []
    for workload, g in loo.groupby("workload"):
        per_workload.append(
            {
                "workload": workload,
                "results": len(g),
                "median_error": g.error.median(),
                "worst_error": g.error.max(),
                "off_by_2x": int(g.off_by_2x.sum()) if "off_by_2x" in g else 0,
            }
        )
        # each device's best measured row, whole (not one row's measurement with another's estimate)
        ranked = g.sort_values("measured_rps", ascending=False, kind="stable")
        best = first_per_device(ranked).set_index("device_id").sort_index()
        m, e = best.measured_rps.to_numpy(), best.estimated_rps.to_numpy()
        contradicted = []
        ids = list(best.index)
        for i in range(len(ids)):
            for j in range(len(ids)):
                if m[i] > m[j] * (1 + RANK_GAP) and e[i] < e[j]:
                    contradicted.append(f"{ids[i]} > {ids[j]}")
        ranks.append(
            {
                "workload": workload,
                "devices": len(best),
                "spearman": _spearman(m, e),
                "contradicted_pairs": len(contradicted),
                "contradictions": "; ".join(contradicted),
            }
        )
    median = float(loo.error.median()) if len(loo) else math.nan
    off = loo[loo.off_by_2x] if "off_by_2x" in loo else loo.iloc[:0]
    off = off.assign(factor=off.estimated_rps / off.measured_rps)[
        ["workload", "device_id", "system", "measured_rps", "estimated_rps", "factor", "reason"]
    ]
    return Summary(
        pd.DataFrame(groups),
        pd.DataFrame(ranks),
        median,
        median <= TARGET_ERROR,
        by_workload=pd.DataFrame(per_workload),
        off=off.reset_index(drop=True),
        hold_out=str(loo.hold_out.iloc[0]) if "hold_out" in loo and len(loo) else "device",
    )


#: A published cost per million tokens is matched when the tool's is within this factor either way (issue 15).
MARKET_FACTOR = 1.5
#: Which tokens a published cost is per (``catalog/market``'s ``tokens``), in words: "per million ...".
MARKET_TOKEN_WORDS = {
    "total": "tokens, input and output together",
    "output": "output tokens (each with its input)",
}
#: Why the tool prices two of one source's points at one speed per user in the other order than the source
#: (issue 14: the fixed-interactivity measurements keep their rank order, or the user is told why not), by
#: (publisher, tokens/s per user, "cheaper < dearer" as published). The CLI and the app show it beside the
#: pair; a pair with no reason here reads "no reason recorded" (and fails tests/test_market.py).
_MI355X_FP4 = (
    "InferenceX's ROCm FP4 recipe for Llama 70B (vLLM's MXFP4 GEMMs in Triton or assembly, last run by "
    "2025-10-30) is slower than its FP8 one past 55 tokens/s per user, while its MI355X FP4 recipes for "
    "DeepSeek R1 and MiniMax M3 run 1.5-2.3x their FP8 ones, and MLPerf's MI355X runs, which the tool serves "
    "each precision from, are faster in FP4 (AMD's own stack) than in FP8 (MangoBoost's LLMBoost): the "
    "serving software's gap, which the tool does not model"
)
MARKET_ORDER_REASONS: dict[tuple[str, float, str], str] = {
    # The MI355X in FP8 and FP4 (one InferenceX page's two sides; B200 < MI355X at 76 read right 2026-12-05):
    ("SemiAnalysis InferenceX", 76.0, "amd-mi355x in FP8 < amd-mi355x in FP4"): _MI355X_FP4,
    ("SemiAnalysis InferenceX", 96.0, "amd-mi355x in FP8 < amd-mi355x in FP4"): _MI355X_FP4,
}


@dataclass(frozen=True)
class MarketSummary:
    points: pd.DataFrame  # one row per published point: published and tool cost, factor, why
    matched: int  # points the tool could price (the device serves at that interactivity)
    within: int  # of those, within MARKET_FACTOR
    worst_factor: float  # the largest miss either way (>= 1), NaN without a matched point
    factor: float = MARKET_FACTOR  # the target: within this factor either way
    # pairs the tool orders against the source (``market_order``)
    order: pd.DataFrame = field(default_factory=pd.DataFrame)
    order_compared: int = 0  # pairs of one source's points at one speed, published costs far enough apart
    # the priced points the catalog took no figure from (``calibrates``), and how many of them are within
    independent: int = 0
    independent_within: int = 0

    def count_words(self) -> str:
        """The headline count (the CLI and the app): the independent points where a point sets a catalog
        figure, which agreeing with proves little ("5 of 8 independent priced points within 1.5x")."""
        if self.independent == self.matched:
            return f"{self.within} of {self.matched} priced points within {self.factor:g}x"
        n, k = self.independent, self.independent_within
        return f"{k} of {n} independent priced points within {self.factor:g}x"

    def order_words(self) -> str:
        """The rank-order check in words (the CLI and the app)."""
        n = len(self.order)
        if not self.order_compared:
            return (
                "Rank order: no source prices two devices at one speed per user with costs more than "
                f"{RANK_GAP:.0%} apart, so there is no order to compare."
            )
        head = (
            f"Rank order: {self.order_compared} pairs of one source's points at one speed per user whose "
            f"published costs differ by more than {RANK_GAP:.0%}"
        )
        if not n:
            return f"{head}; the tool prices every one in the source's order."
        return f"{head}; the tool prices {n} of them the other way:"

    def order_lines(self) -> list[tuple[str, str]]:
        """Each pair the tool orders against its source (``market_order``) in words, with its reason: one
        phrasing for the CLI and the app."""
        lines = []
        for o in self.order.itertuples():
            (a, b), (pa, pb), (ta, tb) = (
                o.pair.split(" < "),
                o.published_usd_per_mtoken,
                o.tool_usd_per_mtoken,
            )
            what = (
                f"{o.publisher} at {o.tokens_per_s_per_user:g} tokens/s per user: published {a} "
                f"${pa:.2f} < {b} ${pb:.2f}; the tool ${ta:.2f} against ${tb:.2f}"
            )
            lines.append((what, o.reason))
        return lines

    def served_words(self) -> str:
        """How many published points the tool serves at their conditions, and how many the catalog took a
        figure from (``calibrates``), in words (the CLI and the app): "all 9 published points served at
        their conditions; 1 point sets a catalog figure, so is no independent check and is left out of the
        count: it is within"."""
        n, missed = len(self.points), len(self.points) - self.matched
        if not missed:
            words = f"all {n} published points served at their conditions"
        else:
            words = f"{missed} of {n} published points the tool does not serve at their conditions"
        sets = int(self.points.calibrates.notna().sum()) if "calibrates" in self.points else 0
        if sets:
            within = self.within - self.independent_within
            priced = self.matched - self.independent
            words += (
                f"; 1 point sets a catalog figure, so is no independent check and is left out of the count: "
                f"it is {'within' if within else 'outside' if priced else 'not served'}"
                if sets == 1
                else f"; {sets} points set catalog figures, so are no independent check and are left out of "
                f"the count: {within} of them within"
            )
        return words


def market_check(cat: Catalog | None = None) -> pd.DataFrame:
    """The tool's cost per million tokens beside each published one (``catalog/market``), on the same
    conditions: the point's model (the workload it stands for), tokens per request, interactivity (a custom
    latency target of the point's tokens/s per user), precision where it states one, and the same GPU-hour
    price basis (the price the source states for the point, or else the tool's cheapest on-demand offer
    among the clouds the source took the cheapest rental from: its named ``providers``, any provider where
    it names none). One row per point."""
    cat = cat if cat is not None else load_catalog()
    rows = []
    among: dict[tuple[str, ...] | None, Catalog] = {}  # one catalog per set of clouds: its tables built once
    for p in cat.market.itertuples():
        if p.providers not in among:
            among[p.providers] = _among_providers(cat, p.providers)
        priced_in = among[p.providers]
        precision = market_precision(p)
        stated = bool(p.price_stated)
        # At the source's own GPU-hour price the tool's throughput is its best on the device's own server
        # (the 8-GPU nodes the sources ran): each copy over the tensor-parallel degree that serves most per
        # device. Priced from the catalog's offers instead, the cloud's choice: the offer and degree with the
        # lowest cost per request.
        scenario = Scenario(
            deployment="bare-metal" if stated else "cloud",
            workload=p.workload,
            precision=precision,
            input_tokens=float(p.input_tokens),
            output_tokens=float(p.output_tokens),
            latency_target="custom",
            tokens_per_s_per_user=float(p.tokens_per_s_per_user),
            cloud_market="any-provider",
            cloud_pricing="on-demand",
        )
        t = scenario_device_table(priced_in, scenario)
        i = list(t.ids).index(p.device_id)
        per_request = p.input_tokens + p.output_tokens if p.tokens == "total" else p.output_tokens
        tokens_per_s = float(t.rps[i]) * per_request
        price = float(p.gpu_usd_per_hour) if stated else float(t.cloud_price[i])
        ok = tokens_per_s > 0 and price > 0  # NaN compares False
        cost = price / (tokens_per_s * 3600) * 1e6 if ok else math.nan
        factor = cost / p.usd_per_mtoken if ok else math.nan
        within = bool(ok and 1 / MARKET_FACTOR <= factor <= MARKET_FACTOR)
        priced = (
            "the source's stated price"
            if stated
            else f"the catalog's cheapest on-demand offer among the source's clouds: {t.cloud_offer[i]}"
            if p.providers
            else "the catalog's cheapest on-demand offer, any provider"
        )
        # the throughput the source's cost means at that price: the gap in tokens/s, not dollars
        at = price / (p.usd_per_mtoken * 3600) * 1e6 if price > 0 else math.nan
        implied = (
            ""
            if not at > 0
            else f"the source's cost at its ${price:.2f} implies {at:,.0f} tokens/s per device"
            if stated
            else f"the source states no GPU-hour price; at ${price:.2f} its cost implies "
            f"{at:,.0f} tokens/s per device"
        )
        if not ok:
            why = f"the tool does not serve it at these conditions: {t.fit_reason[i] or 'no price'}"
            if implied:
                why += f"; {implied}"
        elif within:
            why = ""
        else:
            side = "lower" if factor < 1 else "higher"
            why = (
                f"the tool's cost is {side}: it serves {tokens_per_s:,.0f} tokens/s per device at "
                f"{p.tokens_per_s_per_user:g} tokens/s per user, priced at ${price:.2f} per device-hour "
                f"({priced}); {implied}; the tool's throughput is "
                + str(t.rps_source[i]).split("; ")[0].replace("measured: ", "scaled from the measured ", 1)
            )
        calibrates = p.calibrates if isinstance(p.calibrates, str) and p.calibrates else None
        if calibrates:  # the catalog took a figure from this point: agreeing with it proves little
            taken = f"not an independent check: the catalog's {calibrates} is taken from this point"
            why = "; ".join(filter(None, [why, taken]))
        rows.append(
            {
                "publisher": p.publisher,
                "workload": p.workload,
                "device_id": p.device_id,
                "tokens_per_s_per_user": p.tokens_per_s_per_user,
                "input_tokens": p.input_tokens,
                "output_tokens": p.output_tokens,
                "tokens": p.tokens,
                "per_tokens": MARKET_TOKEN_WORDS[p.tokens],
                "precision": p.precision,
                "served_precision": precision,
                "precision_words": market_precision_words(p),
                "software": p.software,
                "pricing": p.pricing,
                "published_usd_per_mtoken": p.usd_per_mtoken,
                "tool_usd_per_mtoken": cost,
                "tool_tokens_per_s_per_device": tokens_per_s if ok else math.nan,
                "tool_usd_per_device_hour": price,
                "source_tokens_per_s_per_device": at,  # what the source's cost implies at that price
                "factor": factor,
                "within": within,
                "why": why,
                "calibrates": calibrates,
                "as_of": p.as_of,
                "analysis": p.title,
                "source_title": p.source_title,
                "source_url": p.source_url,
                "retrieved": p.retrieved,
            }
        )
    return pd.DataFrame(rows)


def market_precision(p: Any) -> str:
    """The serving precision a published point is served at: the one its source states, else the file's
    ``served_at`` (the serving software's documented default for the model's weights), else "auto" (the
    narrowest the device runs, as a scenario would)."""
    if p.precision in SERVING_PRECISIONS:
        return str(p.precision)
    served = getattr(p, "served_at", None)
    return str(served) if isinstance(served, str) and served else "auto"


def market_precision_words(p: Any) -> str:
    """The precision as the CLI and the app say it: the source's, or what the check chose and why."""
    served = market_precision(p)
    if p.precision in SERVING_PRECISIONS:
        return str(p.precision)
    if served == "auto":
        return f"{p.precision}; served at the narrowest precision each device runs"
    return f"{p.precision}; served at {FORMAT_NAMES.get(served, served)}: {p.served_at_method}"


def _among_providers(cat: Catalog, providers: tuple[str, ...] | None) -> Catalog:
    """The catalog with only the named clouds' offers (all of them where none are named)."""
    if not providers:
        return cat
    return replace(cat, cloud_prices=cat.cloud_prices[cat.cloud_prices.provider.isin(providers)])


def summarise_market(points: pd.DataFrame) -> MarketSummary:
    """How many published points the tool prices, how many within ``MARKET_FACTOR``, the worst miss, and
    the pairs it orders against their source (``market_order``)."""
    order, compared = market_order(points)
    if not len(points):
        return MarketSummary(points, 0, 0, math.nan, order=order, order_compared=compared)
    priced = points[points.factor.notna()]
    worst = priced.factor.map(lambda f: max(f, 1 / f)).max() if len(priced) else math.nan
    free = priced[priced.calibrates.isna()] if "calibrates" in priced else priced
    return MarketSummary(
        points,
        len(priced),
        int(priced.within.sum()),
        float(worst),
        order=order,
        order_compared=compared,
        independent=len(free),
        independent_within=int(free.within.sum()),
    )


def _point_label(r: Any, twice: set[str]) -> str:
    """A published point in a rank-order pair: its device, and its precision where the source prices that
    device at two (InferenceX's MI355X in FP8 and FP4)."""
    return f"{r.device_id} in {str(r.served_precision).upper()}" if r.device_id in twice else r.device_id


def market_order(points: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Where one source prices several devices at the same tokens/s per user, the pairs whose published
    costs differ by more than ``RANK_GAP`` (the spread of one device's MLPerf submissions) and that the tool
    prices the other way, each with its reason (``MARKET_ORDER_REASONS``); and how many pairs were compared.
    A pair the tool does not price is not compared."""
    cols = [
        "publisher",
        "tokens_per_s_per_user",
        "pair",
        "published_usd_per_mtoken",
        "tool_usd_per_mtoken",
        "reason",
    ]
    found, compared = [], 0
    if not len(points):
        return pd.DataFrame(columns=cols), 0
    for (publisher, speed), g in points.groupby(["publisher", "tokens_per_s_per_user"], sort=True):
        g = g[g.tool_usd_per_mtoken > 0]
        twice = set(g.device_id[g.device_id.duplicated()])  # one device at two precisions: name each
        for a, b in itertools.combinations(list(g.itertuples()), 2):
            lo, hi = sorted((a, b), key=lambda r: r.published_usd_per_mtoken)
            if hi.published_usd_per_mtoken <= (1 + RANK_GAP) * lo.published_usd_per_mtoken:
                continue
            compared += 1
            if lo.tool_usd_per_mtoken < hi.tool_usd_per_mtoken:
                continue
            pair = f"{_point_label(lo, twice)} < {_point_label(hi, twice)}"
            found.append(
                {
                    "publisher": publisher,
                    "tokens_per_s_per_user": float(speed),
                    "pair": pair,  # the cheaper < the dearer, as published
                    "published_usd_per_mtoken": [lo.published_usd_per_mtoken, hi.published_usd_per_mtoken],
                    "tool_usd_per_mtoken": [lo.tool_usd_per_mtoken, hi.tool_usd_per_mtoken],
                    "reason": MARKET_ORDER_REASONS.get((publisher, float(speed), pair), "no reason recorded"),
                }
            )
    return pd.DataFrame(found, columns=cols), compared

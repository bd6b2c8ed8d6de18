"""How good are the throughput estimates? Leave-one-out validation against the catalog's measurements.

For every comparable measured result, the device's measurements on that workload are held out, the
efficiency factor is refitted on the remaining measurements (the same fit the model uses), and the
roofline estimate is compared with the measurement. Rooflines are taken for what each result ran: its
stated compute and storage formats where the source gives them (``calc.result_roofline_rps``).
Performance per watt is compared the same way where the result carries measured power (MLPerf Power:
whole-system wall power, so the estimate is taken at the server wall too).

Pure pandas/numpy (the calc layer): the CLI, the app's view and the tests all call ``leave_one_out``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .calc import per_catalog, result_roofline_rps
from .catalog import Catalog, load_catalog

#: The error the estimates are meant to stay within (issue 6's target).
TARGET_ERROR = 0.25


def _efficiency(ratios: list[float]) -> float:
    return float(np.exp(np.mean(np.log(ratios)))) if ratios else math.nan


def leave_one_out(cat: Catalog | None = None) -> pd.DataFrame:
    """One row per comparable measured result: measured and held-out estimated throughput (and perf/W).

    Computed once per catalog (the app's headline band and its validation view both need it); each call
    gets its own copy.
    """
    return _leave_one_out(cat if cat is not None else load_catalog()).copy()


@per_catalog(maxsize=8)
def _leave_one_out(cat: Catalog) -> pd.DataFrame:
    devices = cat.devices.set_index("id")
    workloads = cat.workloads.set_index("id")
    r = cat.results[cat.results.comparable & cat.results.requests_per_s_per_accelerator.notna()]
    # Each measurement against the roofline of what it ran (its stated compute and storage formats):
    # the fitted factor then measures software efficiency, not a precision mismatch.
    roof = {
        row.Index: result_roofline_rps(devices.loc[row.device_id], workloads.loc[row.workload], row)
        for row in r.itertuples()
    }
    rows = []
    for row in r.itertuples():
        others = r[(r.workload == row.workload) & (r.device_id != row.device_id)]
        ratios = [
            o.requests_per_s_per_accelerator / roof[o.Index] for o in others.itertuples() if roof[o.Index] > 0
        ]
        basis = "same workload"
        if not ratios:  # no other device measured on this workload: fit on every other measurement
            pool = r[r.device_id != row.device_id]
            ratios = [
                o.requests_per_s_per_accelerator / roof[o.Index]
                for o in pool.itertuples()
                if roof[o.Index] > 0
            ]
            basis = "all workloads"
        eff = _efficiency(ratios)
        # The estimate is for the run as measured: a row that states its formats (e.g. BF16 maths on
        # FP32 tensors) is predicted from the device's peak and traffic in those formats.
        estimate = roof[row.Index] * eff
        dev = devices.loc[row.device_id]
        measured = row.requests_per_s_per_accelerator
        group = (
            "edge" if dev.segment == "edge" else ("GPU" if dev.kind == "gpu" else "datacenter accelerator")
        )
        meas_ppw = est_ppw = math.nan
        if pd.notna(row.power_w) and row.power_w > 0:
            meas_ppw = measured / (row.power_w / row.accelerators)  # requests per joule at the server wall
            if pd.notna(dev.power_w):
                wall = (dev.server_power_w / dev.server_devices) if pd.notna(dev.server_power_w) else math.nan
                if math.isnan(wall):
                    from .calc import _assumption

                    wall = dev.power_w * (
                        _assumption(cat, "host_power_ratio") if dev.segment == "datacenter" else 1.0
                    )
                est_ppw = estimate / wall
        rows.append(
            {
                "workload": row.workload,
                "device_id": row.device_id,
                "group": group,
                "benchmark": row.benchmark,
                "scenario": row.scenario,
                "system": row.system,
                "measured_rps": measured,
                "estimated_rps": estimate,
                "error": abs(estimate - measured) / measured,
                "signed_error": (estimate - measured) / measured,
                "efficiency": eff,
                "fitted_on": f"{len(ratios)} results ({basis})",
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


@dataclass(frozen=True)
class Summary:
    by_group: pd.DataFrame  # group, n, median and worst error (throughput and perf/W)
    ranks: pd.DataFrame  # workload, devices, spearman, contradicted pairs
    median_error: float
    within_target: bool


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 3:
        return math.nan
    ra, rb = pd.Series(a).rank().to_numpy(), pd.Series(b).rank().to_numpy()
    return float(np.corrcoef(ra, rb)[0, 1])


def summarise(loo: pd.DataFrame) -> Summary:
    """Median and worst error per device group; rank agreement across devices per workload.

    A pair of devices is *contradicted* when the measurements order them one way by more than the target
    error (25 %) and the estimates order them the other way.
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
    ranks = []
    for workload, g in loo.groupby("workload"):
        best = g.sort_values("measured_rps", ascending=False).groupby("device_id").first()
        m, e = best.measured_rps.to_numpy(), best.estimated_rps.to_numpy()
        contradicted = []
        ids = list(best.index)
        for i in range(len(ids)):
            for j in range(len(ids)):
                if m[i] > m[j] * (1 + TARGET_ERROR) and e[i] < e[j]:
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
    return Summary(pd.DataFrame(groups), pd.DataFrame(ranks), median, median <= TARGET_ERROR)

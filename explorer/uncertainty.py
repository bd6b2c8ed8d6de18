"""Uncertainty: how sure is the answer, and which input could change it?

Inputs that are not known exactly carry ranges: the modelling assumptions their catalog ``low``/``high``,
prices, measured throughput and power the multipliers in ``catalog/assumptions/uncertainty.toml``, the
estimated throughputs the spread of the leave-one-out residuals (``explorer.validate``), and the request
volume the scenario's own ``volume_uncertainty``. Each draw takes every input from a triangular
distribution (low, nominal, high); one vectorised call of the model evaluates all draws.

- ``monte_carlo``: P10/P50/P90 total cost per option and the probability that the best accelerator is
  cheaper than the best GPU;
- ``tornado``: each input alone at its low and its high: how far the recommended option's total moves,
  and whether the recommendation flips.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from .calc import (
    SUPPORT_ORDER,
    DeviceTable,
    Inputs,
    best_by_kind,
    core,
    device_table,
    per_catalog,
    resolve,
)
from .catalog import Catalog, load_catalog
from .scenario import Scenario

#: Assumption keys with catalog ranges, shown under these names in the tornado.
ASSUMPTION_INPUTS = {
    "engineer_day_usd": "engineer-day cost",
    "idle_power_ratio": "idle power share",
    "host_cost_ratio": "server cost around the devices",
    "hardware_lifetime_years": "hardware lifetime",
    "training_mfu": "training efficiency (MFU)",
}
MULTIPLIERS = {
    "measured_throughput": "measured throughput",
    "cloud_price": "cloud prices",
    "purchase_price": "purchase prices",
    "device_power": "device power",
}


def _ranges(cat: Catalog) -> dict[str, tuple[float, float, float]]:
    """(low, value, high) for every ranged assumption in the catalog, as printed (units as the model uses
    them: explorer.calc converts the values it reads the same way)."""
    from .calc import ASSUMPTIONS
    from .catalog.units import convert

    out = {}
    for doc in cat.documents.get("assumptions", {}).values():
        for key, rec in doc.items():
            if isinstance(rec, dict) and "low" in rec and "value" in rec:
                unit = ASSUMPTIONS.get(key, rec["unit"])
                out[key] = tuple(convert(float(rec[k]), rec["unit"], unit) for k in ("low", "value", "high"))
    return out


def estimate_spread(cat: Catalog) -> np.ndarray:
    """measured / estimated for every held-out result: the empirical error of a throughput estimate."""
    from .validate import leave_one_out

    loo = leave_one_out(cat)
    return (loo.measured_rps / loo.estimated_rps).to_numpy()


def _tri(rng: np.random.Generator, lo: float, mode: float, hi: float, size) -> np.ndarray:
    if hi <= lo:
        return np.full(size, mode)
    return rng.triangular(lo, mode, hi, size)


def _perturbed(
    t: DeviceTable, x: Inputs, m: dict[str, np.ndarray], a: dict[str, np.ndarray]
) -> tuple[DeviceTable, Inputs]:
    """The table and inputs with multipliers `m` (shape (N, D) or (N, 1)) and assumption values `a`."""
    t2 = replace(
        t,
        rps=t.rps * np.where(t.rps_measured, m["measured_throughput"], m["estimated_throughput"]),
        cloud_price=t.cloud_price * m["cloud_price"],
        purchase_usd=t.purchase_usd * m["purchase_price"],
        power_w=t.power_w * m["device_power"],
        wall_w=t.wall_w * m["device_power"],
    )
    porting = np.stack([a[f"porting_days_{lvl}"] for lvl in SUPPORT_ORDER], axis=-1)
    update = np.stack([a[f"update_share_{lvl}"] for lvl in SUPPORT_ORDER], axis=-1)
    x2 = replace(
        x,
        porting_days=porting,
        update_share=update,
        engineer_day_usd=a["engineer_day_usd"],
        idle_ratio=a["idle_power_ratio"],
        host_cost_ratio=a["host_cost_ratio"],
        lifetime_years=a["hardware_lifetime_years"],
        training_mfu=a["training_mfu"],
    )
    return t2, x2


@dataclass(frozen=True)
class MonteCarloResult:
    draws: int
    seed: int
    options: pd.DataFrame  # device_id, kind, p10_usd, p50_usd, p90_usd (available options)
    probability_accelerator_cheaper: float | None


def _nominal_assumptions(x: Inputs, n: int) -> dict[str, np.ndarray]:
    """The resolved assumptions of `x`, repeated for `n` draws: (n, 1) columns, (n,) per support level."""
    out = {
        "engineer_day_usd": np.full((n, 1), x.engineer_day_usd),  # the scenario's own, or the catalog's
        "idle_power_ratio": np.full((n, 1), x.idle_ratio),
        "host_cost_ratio": np.full((n, 1), x.host_cost_ratio),
        "hardware_lifetime_years": np.full((n, 1), x.lifetime_years),
        "training_mfu": np.full((n, 1), x.training_mfu),
    }
    for i, lvl in enumerate(SUPPORT_ORDER):
        out[f"porting_days_{lvl}"] = np.full(n, x.porting_days[i])
        out[f"update_share_{lvl}"] = np.full(n, x.update_share[i])
    return out


_CACHED_CELLS = 50_000  # draws x devices kept per entry: about 2.5 MB of multipliers (16 entries at most)


@per_catalog(maxsize=16)
def _seeded_draws(
    cat: Catalog, workload: str, market: str, n: int, seed: int, engineer_given: bool
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, Any]]:
    """The seeded draws (multipliers, assumption values) and the generator's state after them.

    They depend only on the catalog's ranges, the device table's size, the number of draws, the seed and
    whether the user gave the engineer-day cost, so they are cached: the app re-runs the same 500 draws
    on every slider move. The arrays are shared between calls; nothing writes to them.
    """
    rng = np.random.default_rng(seed)
    d = len(device_table(cat, workload, market).ids)
    ranges = _ranges(cat)
    m = {k: _tri(rng, *ranges[k], (n, d)) for k in MULTIPLIERS}
    m["estimated_throughput"] = rng.choice(estimate_spread(cat), size=(n, d))
    drawn = {}
    for key, (lo, mode, hi) in ranges.items():
        if key in MULTIPLIERS or key == "host_power_ratio":
            continue  # host power: the device table's wall power is kept (it moves energy only)
        if key == "engineer_day_usd" and engineer_given:
            continue  # the user gave the figure
        shape = (n,) if key.startswith(("porting_days_", "update_share_")) else (n, 1)
        drawn[key] = _tri(rng, lo, mode, hi, shape)
    return m, drawn, rng.bit_generator.state


def monte_carlo(
    scenario: Scenario, cat: Catalog | None = None, draws: int = 10_000, seed: int = 0
) -> MonteCarloResult:
    cat = cat if cat is not None else load_catalog()
    t = device_table(cat, scenario.workload, scenario.cloud_market)
    x = resolve(cat, scenario)
    n = draws
    # the app's small runs come from the cache; a one-off 10,000-draw run is not kept
    draw = _seeded_draws if n * len(t.ids) <= _CACHED_CELLS else _seeded_draws.uncached
    m, drawn, state = draw(
        cat, scenario.workload, scenario.cloud_market, n, seed, scenario.engineer_day_usd is not None
    )
    rng = np.random.default_rng(seed)
    rng.bit_generator.state = state
    a = _nominal_assumptions(x, n) | drawn
    u = scenario.volume_uncertainty
    volumes = scenario.requests_per_day * (rng.uniform(1 - u, 1 + u, n) if u > 0 else np.ones(n))
    nominal = core(t, x, scenario.requests_per_day, scenario.model_changes_per_year)
    t2, x2 = _perturbed(t, x, m, a)
    c = core(t2, x2, volumes, scenario.model_changes_per_year, train_gpu=nominal.train_device_index)
    tco = np.where(nominal.available, c.tco, np.nan)
    avail = np.asarray(nominal.available)
    shown = tco[:, avail]
    # percentile (a partition per column) where no draw is NaN, which is the rule; nanpercentile otherwise
    pct = np.nanpercentile if np.isnan(shown).any() else np.percentile
    p10, p50, p90 = pct(shown, [10, 50, 90], axis=0)
    options = pd.DataFrame(
        {
            "device_id": t.ids[avail],
            "kind": t.kinds[avail],
            "p10_usd": p10,
            "p50_usd": p50,
            "p90_usd": p90,
        }
    )
    gpu = np.where(t.is_gpu & avail, tco, np.inf).min(axis=1)
    acc = np.where(~t.is_gpu & avail, tco, np.inf).min(axis=1)
    both = np.isfinite(gpu) & np.isfinite(acc)
    prob = float(np.mean(acc[both] < gpu[both])) if both.any() else None
    return MonteCarloResult(draws=n, seed=seed, options=options, probability_accelerator_cheaper=prob)


def tornado(scenario: Scenario, cat: Catalog | None = None) -> pd.DataFrame:
    """Each uncertain input alone at its low and its high end (the others nominal): the recommended
    option's total at each end, the swing, and whether the first-ranked kind of device changes."""
    cat = cat if cat is not None else load_catalog()
    t = device_table(cat, scenario.workload, scenario.cloud_market)
    x = resolve(cat, scenario)
    ranges = _ranges(cat)
    spread = estimate_spread(cat)
    inputs: list[tuple[str, str, float, float]] = []  # (key, label, low, high)
    for key, label in MULTIPLIERS.items():
        inputs.append((key, label, ranges[key][0], ranges[key][2]))
    inputs.append(
        (
            "estimated_throughput",
            "estimated throughput",
            float(np.quantile(spread, 0.1)),
            float(np.quantile(spread, 0.9)),
        )
    )
    porting_lo = np.array([ranges[f"porting_days_{lvl}"][0] for lvl in SUPPORT_ORDER])
    porting_hi = np.array([ranges[f"porting_days_{lvl}"][2] for lvl in SUPPORT_ORDER])
    inputs.append(("porting_days", "porting effort", 0.0, 1.0))
    inputs.append(("update_share", "re-porting at each model change", 0.0, 1.0))
    for key, label in ASSUMPTION_INPUTS.items():
        if key in ranges and not (key == "engineer_day_usd" and scenario.engineer_day_usd is not None):
            inputs.append((key, label, ranges[key][0], ranges[key][2]))
    if scenario.volume_uncertainty > 0:
        inputs.append(
            ("volume", "request volume", 1 - scenario.volume_uncertainty, 1 + scenario.volume_uncertainty)
        )

    n = 1 + 2 * len(inputs)  # row 0 nominal, then low/high per input
    d = len(t.ids)
    m = {k: np.ones((n, 1)) for k in (*MULTIPLIERS, "estimated_throughput")}
    a = _nominal_assumptions(x, n)
    volumes = np.full(n, scenario.requests_per_day)
    for i, (key, _label, lo, hi) in enumerate(inputs):
        for j, val in ((1 + 2 * i, lo), (2 + 2 * i, hi)):
            if key in m:
                m[key] = m[key].copy()
                m[key][j] = val
            elif key == "porting_days":
                for k, lvl in enumerate(SUPPORT_ORDER):
                    a[f"porting_days_{lvl}"] = a[f"porting_days_{lvl}"].copy()
                    a[f"porting_days_{lvl}"][j] = (porting_lo if val == 0 else porting_hi)[k]
            elif key == "update_share":
                for lvl in SUPPORT_ORDER:
                    a[f"update_share_{lvl}"] = a[f"update_share_{lvl}"].copy()
                    a[f"update_share_{lvl}"][j] = ranges[f"update_share_{lvl}"][0 if val == 0 else 2]
            elif key == "volume":
                volumes[j] = scenario.requests_per_day * val
            else:
                a[key] = a[key].copy()
                a[key][j] = val
    m = {k: np.broadcast_to(v, (n, d)) for k, v in m.items()}
    nominal = core(t, x, scenario.requests_per_day, scenario.model_changes_per_year)
    t2, x2 = _perturbed(t, x, m, a)
    c = core(t2, x2, volumes, scenario.model_changes_per_year, train_gpu=nominal.train_device_index)
    tco = np.where(nominal.available, c.tco, np.nan)
    first = int(np.nanargmin(tco[0]))
    gi, ai = best_by_kind(c, t.is_gpu)
    first_kind = np.where(
        (ai >= 0)
        & (
            (gi < 0)
            | (
                np.take_along_axis(tco, np.maximum(ai, 0)[:, None], 1)[:, 0]
                < np.take_along_axis(tco, np.maximum(gi, 0)[:, None], 1)[:, 0]
            )
        ),
        "accelerator",
        "gpu",
    )
    rows = []
    for i, (_key, label, lo, hi) in enumerate(inputs):
        a_lo, a_hi = tco[1 + 2 * i, first], tco[2 + 2 * i, first]
        rows.append(
            {
                "input": label,
                "low": lo,
                "high": hi,
                "total_at_low_usd": a_lo,
                "total_at_high_usd": a_hi,
                "swing_usd": abs(a_hi - a_lo),
                "flips": bool(
                    first_kind[1 + 2 * i] != first_kind[0] or first_kind[2 + 2 * i] != first_kind[0]
                ),
            }
        )
    out = pd.DataFrame(rows).sort_values("swing_usd", ascending=False).reset_index(drop=True)
    out.attrs["device_id"] = str(t.ids[first])
    out.attrs["nominal_usd"] = float(tco[0, first])
    return out

"""Over request volumes and model-change rates: the cheapest GPU and accelerator at each volume (the sweep),
the volume above which the accelerator stays cheaper (the crossover), and the break-even map; the grids
are derived from the scenario fields' bounds."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from .. import fmt
from ..catalog import Catalog, load_catalog
from ..scenario import FIELD_SPECS, Scenario
from .cache import per_catalog
from .custom import catalog_for
from .devices import DeviceTable, scenario_device_table
from .fleet import best_by_kind, core
from .inputs import Inputs, resolve


@per_catalog(maxsize=32)
def volume_sweep(cat: Catalog, s: Scenario) -> tuple[Sweep, float | None, str]:
    """The volume sweep and the crossover for `s` (cached: neither depends on the scenario's own request
    volume, so a request-volume slider reuses them)."""
    t = scenario_device_table(cat, s)
    x = resolve(cat, s)
    sweep = sweep_volumes(t, x, VOLUME_GRID)
    return (sweep, *crossover_volume(t, x, sweep))


def volume_grid(points: int) -> np.ndarray:
    """`points` request volumes, evenly spaced on a log scale over the field's bounds (100 to 500 B a day)."""
    lo, hi = FIELD_SPECS["requests_per_day"].bounds or (1.0, 1.0)
    return np.logspace(math.log10(lo), math.log10(hi), max(points, 2))


def breakeven_grid(points: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """The break-even map's axes over the fields' bounds: request volumes (log) and model changes per year
    (linear), `points` of each; for `breakeven_map`."""
    lo, hi = FIELD_SPECS["model_changes_per_year"].bounds or (0.0, 0.0)
    return volume_grid(points), np.linspace(lo, hi, max(points, 2))


VOLUME_GRID = volume_grid(241)  # 0.03 decades apart
FINE_POINTS = 64  # refinement inside the bracketing grid step: 0.6 % resolution


@dataclass(frozen=True)
class Sweep:
    """The cheapest GPU and accelerator at each request volume of a grid."""

    volumes: np.ndarray
    gpu_tco: np.ndarray
    acc_tco: np.ndarray
    gpu_idx: np.ndarray
    acc_idx: np.ndarray
    device_ids: np.ndarray = field(repr=False)

    @property
    def acc_wins(self) -> np.ndarray:
        return self.acc_tco < self.gpu_tco

    @cached_property
    def curve(self) -> pd.DataFrame:
        """Long form: requests_per_day, series (best GPU / best accelerator), device_id, tco_usd.

        Built once per sweep; evaluations that share a sweep share this frame (treat it as read-only).
        """
        ids = self.device_ids
        parts = [
            pd.DataFrame(
                {
                    "requests_per_day": self.volumes,
                    "series": label,
                    "device_id": np.where(idx >= 0, ids[np.maximum(idx, 0)], None),
                    "tco_usd": tco,
                }
            )
            for label, idx, tco in (
                ("best GPU", self.gpu_idx, self.gpu_tco),
                ("best accelerator", self.acc_idx, self.acc_tco),
            )
        ]
        return pd.concat(parts, ignore_index=True).dropna(subset=["tco_usd"])


def sweep_volumes(t: DeviceTable, x: Inputs, volumes: np.ndarray) -> Sweep:
    c = core(t, x, volumes, x.scenario.model_changes_per_year)
    gi, ai = best_by_kind(c, t.is_gpu)
    rows = np.arange(len(volumes))
    tg = np.where(gi >= 0, c.tco[rows, np.maximum(gi, 0)], np.nan)
    ta = np.where(ai >= 0, c.tco[rows, np.maximum(ai, 0)], np.nan)
    return Sweep(np.asarray(volumes, float), tg, ta, gi, ai, t.ids)


def crossover_volume(t: DeviceTable, x: Inputs, coarse: Sweep | None = None) -> tuple[float | None, str]:
    """The request volume above which the best accelerator's total cost stays below the best GPU's.

    Two vectorised passes: a coarse log grid over the whole range, then a fine grid inside the last grid
    step where a GPU still wins.
    """
    coarse = coarse if coarse is not None else sweep_volumes(t, x, VOLUME_GRID)
    tg, ta, acc_wins = coarse.gpu_tco, coarse.acc_tco, coarse.acc_wins
    if np.all(np.isnan(tg)):
        return None, "no GPU is available for this deployment"
    if np.all(np.isnan(ta)):
        return None, "no accelerator is available for this deployment"
    if acc_wins.all():
        lowest = fmt.requests_per_day(VOLUME_GRID[0])
        return float(VOLUME_GRID[0]), f"an accelerator is cheaper at every volume from {lowest}"
    if not acc_wins[-1]:
        if not acc_wins.any():
            return None, f"a GPU is cheaper at every volume up to {fmt.requests_per_day(VOLUME_GRID[-1])}"
        # the two cross more than once (whole devices and instances make the totals steps): say where
        # the accelerator wins rather than name one volume above which it always would
        won = coarse.volumes[acc_wins]
        low, high = fmt.volume(won.min()), fmt.volume(won.max())
        where = f"around {low}" if low == high else f"between {low} and {high}"
        return None, (
            f"no lasting crossover: the best accelerator is cheaper only at some volumes {where} "
            "requests/day, and a GPU is cheaper at the highest volumes"
        )
    last_gpu = int(np.flatnonzero(~acc_wins)[-1])
    fine = np.logspace(math.log10(VOLUME_GRID[last_gpu]), math.log10(VOLUME_GRID[last_gpu + 1]), FINE_POINTS)
    fine_wins = sweep_volumes(t, x, fine).acc_wins
    gpu_at = np.flatnonzero(~fine_wins)
    cross = fine[gpu_at[-1] + 1] if gpu_at.size and gpu_at[-1] + 1 < len(fine) else fine[-1]
    if not gpu_at.size:
        cross = fine[0]
    return float(cross), "above this volume the best accelerator is cheaper than the best GPU"


def breakeven_map(
    scenario: Scenario, volumes: np.ndarray, changes: np.ndarray, cat: Catalog | None = None
) -> pd.DataFrame:
    """Over request volume x model changes per year: the cheapest GPU's and accelerator's totals (long)."""
    cat = catalog_for(cat if cat is not None else load_catalog(), scenario)  # with your model's row
    t = scenario_device_table(cat, scenario)
    x = resolve(cat, scenario)
    vv, cc = np.meshgrid(np.asarray(volumes, float), np.asarray(changes, float), indexing="ij")
    c = core(t, x, vv, cc)
    gi, ai = best_by_kind(c, t.is_gpu)
    tco_g = np.take_along_axis(c.tco, np.maximum(gi, 0)[..., None], -1)[..., 0]
    tco_a = np.take_along_axis(c.tco, np.maximum(ai, 0)[..., None], -1)[..., 0]
    tco_g = np.where(gi >= 0, tco_g, np.nan)
    tco_a = np.where(ai >= 0, tco_a, np.nan)
    winner = np.where(np.isnan(tco_a) | (tco_g <= tco_a), "gpu", "accelerator")
    winner = np.where(np.isnan(tco_g) & ~np.isnan(tco_a), "accelerator", winner)
    return pd.DataFrame(
        {
            "requests_per_day": vv.ravel(),
            "model_changes_per_year": cc.ravel(),
            "best_gpu": np.where(gi >= 0, t.ids[np.maximum(gi, 0)], None).ravel(),
            "best_accelerator": np.where(ai >= 0, t.ids[np.maximum(ai, 0)], None).ravel(),
            "gpu_tco_usd": tco_g.ravel(),
            "accelerator_tco_usd": tco_a.ravel(),
            "winner": winner.ravel(),
        }
    )

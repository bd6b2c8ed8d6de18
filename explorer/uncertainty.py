"""Uncertainty: how sure is the answer, and which input could change it?

Inputs that are not known exactly carry ranges: the modelling assumptions their catalog ``low``/``high``,
prices, measured throughput and power the multipliers in ``catalog/assumptions/uncertainty.toml``, the
estimated throughputs a log-normal fitted to the held-out residuals (``explorer.validate``;
``estimate_error``), an LLM's throughputs the serving stack's times per decode step (the model at either end
of their ranges: ``fixed_step_throughputs``), and the request volume the scenario's own
``volume_uncertainty``. Each draw takes every other input from a triangular distribution (low, nominal,
high); one vectorised call evaluates all draws.

- ``monte_carlo``: P10/P50/P90 total cost per option, and the odds the best accelerator beats the best GPU;
- ``tornado``: each input alone at its low and its high: how far the recommended option's total moves,
  and whether the recommendation flips.
"""

from __future__ import annotations

import hashlib
import pickle
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import pandas as pd

from .calc import (
    FIXED_STEP_KEY,
    PCIE_KEYS,
    SEQUENCE_KEY,
    SUPPORT_ORDER,
    DeviceTable,
    Inputs,
    base_catalog,
    best_by_kind,
    catalog_for,
    core,
    device_table,
    nominal_core,
    on_disk,
    per_catalog,
    resolve,
    scenario_device_table,
    serves_tokens,
    volume_free,
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
    "wall_ratio_baseboard": "server wall power over board power",
    "pcie_host_power_w": "host power of PCIe servers",
    "pcie_server_usd": "price of a PCIe server without cards",
    "support_cost_ratio_per_year": "hardware support per year",
    "network_cost_ratio": "scale-out network over the servers' price",
    "colocation_usd_per_kw_month": "rack space and power per kW-month",
    "edge_host_usd": "host computer of an edge add-in card",
    "elastic_training_efficiency": "useful work of preemptible training",
    "decode_step_fixed_per_layer": "fixed time per LLM step and its PCIe all-reduces (ms/layer)",
}
#: Assumptions left at their value: the user's own choices (scenario fields whose default the catalog
#: sources), the daily load curve's swing (one curve per scenario, not per draw), the power one rack takes
#: (it moves the rack count, not a cost: space and power are paid per provisioned kW) and, by their key's
#: prefix, committed-price discounts (in the device table's cloud bases, which the cloud-price multiplier
#: moves as a whole).
CHOICES = frozenset({"elastic_training_share", "spare_servers", "load_curve_amplitude", "rack_kw"})
#: The assumptions drawn per draw that act through the model's inputs: catalog key -> ``Inputs`` field.
INPUT_FIELDS = {
    "engineer_day_usd": "engineer_day_usd",
    "idle_power_ratio": "idle_ratio",
    "host_cost_ratio": "host_cost_ratio",
    "pcie_server_usd": "pcie_server_usd",
    "support_cost_ratio_per_year": "support_cost_ratio_per_year",
    "network_cost_ratio": "network_cost_ratio",
    "colocation_usd_per_kw_month": "colocation_usd_per_kw_month",
    "edge_host_usd": "edge_host_usd",
    "elastic_training_efficiency": "elastic_training_efficiency",
    "hardware_lifetime_years": "lifetime_years",
    "training_mfu": "training_mfu",
}
#: Power assumptions drawn per draw that act through the device table's wall power (`_perturbed`).
WALL_INPUTS = ("wall_ratio_baseboard", "pcie_host_power_w")
#: Bare-metal owner's-cost assumptions drawn per draw from a stream of their own (added after the others).
OWNER_INPUTS = ("pcie_server_usd", "support_cost_ratio_per_year")
#: The serving stack's fixed time per LLM decode step: drawn per draw (its own stream), acting on LLMs only
#: (``fixed_step_throughputs``); devices' own times and PCIe all-reduces move with it (``_with_fixed_step``).
FIXED_STEP = FIXED_STEP_KEY
#: Ranged power assumptions the draws leave at their value.
NOT_DRAWN = frozenset(
    {
        "host_power_ratio",
        "cloud_host_power_ratio",
        "pcie_devices_per_server",
        "provisioned_headroom_ratio",
        "edge_host_power_w",
        "edge_host_rated_w",
    }
)
MULTIPLIERS = {
    "measured_throughput": "measured throughput",
    "cloud_price": "cloud prices",
    "purchase_price": "purchase prices",
    "device_power": "device power",
    "estimated_power": "estimated device power",
}


@per_catalog(maxsize=1)
def _ranges(cat: Catalog) -> dict[str, tuple[float, float, float]]:
    """(low, value, high) for every ranged assumption, in the catalog's order and in the units the model
    uses (``Catalog.assumptions``: the loader converted them, as it did the values the model reads).
    Cached per catalog (read only: callers never change the dict)."""
    a = cat.assumptions
    ranged = a[a["low"].notna()] if len(a) else a
    return {
        key: (float(lo), float(v), float(hi))
        for key, lo, v, hi in zip(ranged.key, ranged.low, ranged.value, ranged.high, strict=True)
    }


def estimate_spread(cat: Catalog) -> np.ndarray:
    """measured / estimated for every held-out result: the empirical error of a throughput estimate."""
    from .validate import leave_one_out

    loo = leave_one_out(cat)
    return (loo.measured_rps / loo.estimated_rps).to_numpy()


#: The standard normal's 90th percentile: an input drawn log-normally is at its P10/P90 at mean -/+ Z90 sd.
Z90 = 1.2815515655446004


def estimate_error(cat: Catalog) -> tuple[float, float]:
    """The log-normal an estimated throughput's error is drawn from: the mean and the (sample) standard
    deviation of log(measured / estimated) over the held-out results (``estimate_spread``).

    Fitted, not resampled. About 50 residuals drawn as they are give the multiplier about 50 possible
    values, and a device ranked on an estimate then has a lumpy cost distribution whose P10 and P90 sit on
    those lumps: widening another input's range (+/-25 % volume on Llama-3.1-8B's Inferentia2) narrowed the
    P10-P90 band by 4-6 %. A kernel-smoothed resample (Silverman's bandwidth) keeps the lumps and still
    narrowed it by up to 4 %; the fitted log-normal, being unimodal, did not in any of 300 scenario and range
    pairs tried. Multiplicative error is what a log-normal models; its P10-P90 (0.67-1.56x on today's
    catalog) contains the residuals' own (0.68-1.43x), and its tails reach past the worst held-out misses,
    though thinner than they are (3.6 % of draws beyond 2x either way, 4 of 52 residuals): those misses are
    shown with their reasons (``explorer.validate``). Fewer than two residuals give a standard deviation of 0
    (and none a mean of 0: the estimate as it stands).
    """
    cat = base_catalog(cat)  # your model's row has no results: the held-out errors are the base's
    key = throughput_inputs_key(cat)
    if key not in _ERRORS:
        while len(_ERRORS) >= 16:
            _ERRORS.pop(next(iter(_ERRORS)))
        # a new kernel reads it from disk: holding every result out is most of a cold app's build
        mu, sd = on_disk("estimate-error", key, lambda: list(_fitted_error(cat)))
        _ERRORS[key] = (float(mu), float(sd))
    return _ERRORS[key]


def _fitted_error(cat: Catalog) -> tuple[float, float]:
    z = np.log(estimate_spread(cat))
    if len(z) < 2:
        return (float(z[0]) if len(z) else 0.0), 0.0
    return float(z.mean()), float(z.std(ddof=1))


#: estimate_error by the catalog's throughput inputs (``throughput_inputs_key``): a catalog whose prices alone
#: differ (each visitor's price upload makes one) reuses the fit instead of holding out every result again
#: (several seconds of a kernel's time with the LLM serving model, long enough to look like a lost session)
_ERRORS: dict[str, tuple[float, float]] = {}
_PRICE_PARTS = ("cloud_prices", "purchase_prices", "api_prices", "provenance")


def throughput_inputs_key(cat: Catalog) -> str:
    """A digest of everything in `cat` but its prices (and their provenance): equal for two catalogs whose
    throughput estimates, and so their held-out errors, are the same."""
    parts = []
    for f in fields(cat):
        if f.name in _PRICE_PARTS:
            continue
        value = getattr(cat, f.name)
        if f.name in ("documents", "files"):
            value = {k: v for k, v in value.items() if k != "prices"}
        parts.append(value)
    return hashlib.sha256(pickle.dumps(parts, protocol=5)).hexdigest()


def _tri(rng: np.random.Generator, lo: float, mode: float, hi: float, size) -> np.ndarray:
    if hi <= lo:
        return np.full(size, mode)
    return rng.triangular(lo, mode, hi, size)


@dataclass(frozen=True)
class FixedStep:
    """Each device's throughput with an LLM's fixed step time at the low and the high end of its range,
    over its throughput at the catalog's value (``fixed_step_throughputs``): a draw's value between them
    scales it by linear interpolation. 0 where a device cannot serve the request at that end."""

    low: float
    value: float
    high: float
    at_low: np.ndarray  # (D,)
    at_high: np.ndarray  # (D,)

    def take(self, columns: np.ndarray) -> FixedStep:
        return replace(self, at_low=self.at_low[columns], at_high=self.at_high[columns])

    def multiplier(self, v: np.ndarray) -> np.ndarray:
        """(N, D) throughput multipliers for values `v` of shape (N, 1)."""
        v = np.asarray(v, float)
        # how far towards each end the value lies (0 at the catalog's value, 1 at the end)
        down = np.clip((self.value - v) / max(self.value - self.low, 1e-300), 0, 1)
        up = np.clip((v - self.value) / max(self.high - self.value, 1e-300), 0, 1)
        return 1.0 + down * (self.at_low - 1.0) + up * (self.at_high - 1.0)


@per_catalog(maxsize=8)
def _with_fixed_step(cat: Catalog, end: str) -> Catalog:
    """The catalog with the stack's fixed step, each device's own times and PCIe's all-reduces (latency at
    ``end``, bus bandwidth at the other) as slow or fast: one stack speed, drawn once; fits on them refit."""
    a, (latency, bandwidth) = cat.assumptions.copy(), PCIE_KEYS
    keys = a.index[a.index.str.startswith((FIXED_STEP, SEQUENCE_KEY, latency)) & a[end].notna()]
    a.loc[keys, "value"] = a.loc[keys, end]
    a.loc[bandwidth, "value"] = a.loc[bandwidth, "high" if end == "low" else "low"]
    return replace(cat, assumptions=a)


def fixed_step_throughputs(cat: Catalog, scenario: Scenario, t: DeviceTable) -> FixedStep | None:
    """How each device's throughput on the scenario's LLM moves with the serving stack's fixed time per
    decode step, from its catalog value to either end of its range (``FixedStep``); None for a workload
    that is not an LLM, or a catalog without that range. Two more device tables per catalog and workload
    (about 0.15 s each, once), then a few milliseconds per request."""
    ranges = _ranges(cat)
    if FIXED_STEP not in ranges or not serves_tokens(cat, scenario.workload, scenario.cloud_market):
        return None
    ends = []
    for end in ("low", "high"):
        rps = scenario_device_table(_with_fixed_step(cat, end), scenario).rps
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(t.rps > 0, rps / t.rps, 1.0)
        ends.append(np.where(np.isfinite(ratio), ratio, 0.0))
    return FixedStep(*ranges[FIXED_STEP], *ends)


def warm_fixed_step(cat: Catalog, market: str = "major-clouds") -> None:
    """Build the device tables ``fixed_step_throughputs`` reads for every LLM in the catalog, in a process
    whose forks then share them (the fork server): about 0.15 s per LLM and end of the range, once."""
    if FIXED_STEP not in _ranges(cat):
        return
    for workload in cat.workloads.id:
        if serves_tokens(cat, workload, market):
            for end in ("low", "high"):
                device_table(_with_fixed_step(cat, end), workload, market)


def _perturbed(
    t: DeviceTable,
    x: Inputs,
    m: dict[str, np.ndarray],
    a: dict[str, np.ndarray],
    nominal: dict[str, float] | None = None,
    fixed: FixedStep | None = None,
) -> tuple[DeviceTable, Inputs]:
    """The table and inputs with multipliers `m` (shape (N, D) or (N, 1)) and assumption values `a`;
    the wall-power assumptions (`WALL_INPUTS`) scale the table's modelled wall power from `nominal`, and
    an LLM's fixed step time (``a[FIXED_STEP]``) its throughputs through `fixed`."""
    # a rated figure moves within the rated range, an estimated one within the estimates' wider range
    power = np.where(t.power_estimated, m["estimated_power"], m["device_power"])
    wall, host = t.wall_w * power, t.host_w
    modelled = np.array([not w.startswith("measured") for w in t.wall_source])
    if nominal:
        hosts = np.isin(t.power_class, ("baseboard", "accelerator-host")) & modelled
        wall = np.where(hosts, wall * a["wall_ratio_baseboard"] / nominal["wall_ratio_baseboard"], wall)
        pcie = (t.power_class == "pcie") & modelled
        host = np.where(pcie, host * a["pcie_host_power_w"] / nominal["pcie_host_power_w"], host)
    rps = t.rps * np.where(t.rps_measured, m["measured_throughput"], m["estimated_throughput"])
    if fixed is not None and FIXED_STEP in a:
        rps = rps * fixed.multiplier(a[FIXED_STEP])
    t2 = replace(
        t,
        rps=rps,
        cloud_price=t.cloud_price * m["cloud_price"],
        purchase_usd=t.purchase_usd * m["purchase_price"],
        power_w=t.power_w * power,
        wall_w=wall,
        host_w=host,
        provisioned_w=t.provisioned_w * power,
    )
    porting = np.stack([a[f"porting_days_{lvl}"] for lvl in SUPPORT_ORDER], axis=-1)
    update = np.stack([a[f"update_share_{lvl}"] for lvl in SUPPORT_ORDER], axis=-1)
    x2 = replace(
        x,
        porting_days=porting,
        update_share=update,
        **{field: a[key] for key, field in INPUT_FIELDS.items()},
    )
    return t2, x2


@dataclass(frozen=True)
class MonteCarloResult:
    draws: int
    seed: int
    options: pd.DataFrame  # device_id, kind, p10_usd, p50_usd, p90_usd (available options)
    probability_accelerator_cheaper: float | None


def _wall_nominal(cat: Catalog) -> dict[str, float]:
    """The catalog's values of the wall-power assumptions the draws scale from."""
    ranges = _ranges(cat)
    return {k: ranges[k][1] for k in WALL_INPUTS if k in ranges}


def _nominal_assumptions(x: Inputs, n: int, wall: dict[str, float] | None = None) -> dict[str, np.ndarray]:
    """The resolved assumptions of `x`, repeated for `n` draws: (n, 1) columns, (n,) per support level."""
    out = {k: np.full((n, 1), v) for k, v in (wall or {}).items()}
    # the engineer-day cost is the scenario's own where given, else the catalog's
    out |= {key: np.full((n, 1), getattr(x, field)) for key, field in INPUT_FIELDS.items()}
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
    # the power inputs are drawn from their own stream, so the other inputs' draws stay as they were
    late = ("estimated_power", *WALL_INPUTS, *OWNER_INPUTS, FIXED_STEP)
    m = {k: _tri(rng, *ranges[k], (n, d)) for k in MULTIPLIERS if k not in late}
    mu, sd = estimate_error(cat)
    m["estimated_throughput"] = np.exp(rng.normal(mu, sd, size=(n, d)))
    drawn = {}
    for key, (lo, mode, hi) in ranges.items():
        if (
            key in MULTIPLIERS
            or key in NOT_DRAWN
            or key in CHOICES
            or key.startswith("commit_")
            or key in late
        ):
            continue  # NOT_DRAWN: they move provisioned power (or a rarely chosen edge host) only
        if key == "engineer_day_usd" and engineer_given:
            continue  # the user gave the figure
        shape = (n,) if key.startswith(("porting_days_", "update_share_")) else (n, 1)
        drawn[key] = _tri(rng, lo, mode, hi, shape)
    state = rng.bit_generator.state
    power_rng = np.random.default_rng([seed, 1])  # a stream of their own: the main stream stays as it was
    m["estimated_power"] = _tri(power_rng, *ranges["estimated_power"], (n, d))
    for key in WALL_INPUTS:
        drawn[key] = _tri(power_rng, *ranges[key], (n, 1))
    owner_rng = np.random.default_rng([seed, 2])  # likewise: the streams above stay as they were
    for key in OWNER_INPUTS:
        if key in ranges:
            drawn[key] = _tri(owner_rng, *ranges[key], (n, 1))
    if FIXED_STEP in ranges:  # likewise; it acts only on an LLM's throughputs (``fixed_step_throughputs``)
        drawn[FIXED_STEP] = _tri(np.random.default_rng([seed, 3]), *ranges[FIXED_STEP], (n, 1))
    return m, drawn, state


def _kept_perturbed(
    cat: Catalog, free: Scenario, n: int, keep: tuple[int, ...], m: dict[str, np.ndarray], drawn: dict
) -> tuple[DeviceTable, Inputs]:
    """The table's kept rows and the inputs with the draws applied (``_perturbed``), at the default volume
    (``volume_free``): ``core`` reads the volume as its own argument, so these serve every volume."""
    t, x, wall = scenario_device_table(cat, free), resolve(cat, free), _wall_nominal(cat)
    rows = np.asarray(keep, dtype=int)
    a = _nominal_assumptions(x, n, wall) | drawn
    fixed = fixed_step_throughputs(cat, free, t)
    fixed = fixed.take(rows) if fixed is not None else None
    return _perturbed(t.take(rows), x, {k: v[:, rows] for k, v in m.items()}, a, wall, fixed)


@per_catalog(maxsize=2)  # about 0.5 MB each at the headline's 500 draws: one drag's, and one more
def _drawn_inputs(
    cat: Catalog, free: Scenario, n: int, seed: int, keep: tuple[int, ...]
) -> tuple[DeviceTable, Inputs]:
    """``_kept_perturbed`` with the cached draws (``_seeded_draws``): what a request-volume move reuses."""
    m, drawn, _ = _seeded_draws(
        cat, free.workload, free.cloud_market, n, seed, free.engineer_day_usd is not None
    )
    return _kept_perturbed(cat, free, n, keep, m, drawn)


def monte_carlo(
    scenario: Scenario, cat: Catalog | None = None, draws: int = 10_000, seed: int = 0
) -> MonteCarloResult:
    cat = catalog_for(cat if cat is not None else load_catalog(), scenario)  # with your model's row
    t, _, nominal = nominal_core(cat, scenario)  # the evaluation's own, where it ran just before
    n = draws
    # the app's small runs come from the cache; a one-off 10,000-draw run is not kept
    draw = _seeded_draws if n * len(t.ids) <= _CACHED_CELLS else _seeded_draws.uncached
    m, drawn, state = draw(
        cat, scenario.workload, scenario.cloud_market, n, seed, scenario.engineer_day_usd is not None
    )
    rng = np.random.default_rng(seed)
    rng.bit_generator.state = state
    u = scenario.volume_uncertainty
    volumes = scenario.requests_per_day * (rng.uniform(1 - u, 1 + u, n) if u > 0 else np.ones(n))
    avail = np.asarray(nominal.available)
    # Only the available options are drawn (about half the table): each device is computed from its own
    # row, so the draws of the others would be thrown away. The training device, which every option's
    # dedicated training fleet uses, is kept by position.
    g = nominal.train_device_index
    keep = np.flatnonzero(avail | (np.arange(len(avail)) == g))
    shown_at = np.flatnonzero(avail[keep])  # the available options' positions among those kept
    # the drawn table and inputs do not depend on the request volume: a volume move draws nothing anew
    free, kept = volume_free(scenario), tuple(int(k) for k in keep)
    if draw is _seeded_draws:
        t2, x2 = _drawn_inputs(cat, free, n, seed, kept)
    else:  # a one-off large run: its draws, made above, are not drawn again
        t2, x2 = _kept_perturbed(cat, free, n, kept, m, drawn)
    train = int(np.flatnonzero(keep == g)[0]) if g >= 0 else g
    c = core(t2, x2, volumes, scenario.model_changes_per_year, train_gpu=train)
    shown = c.tco[:, shown_at]
    # percentile (a partition per column) where no draw is NaN, which is the rule; nanpercentile otherwise
    pct = np.nanpercentile if np.isnan(shown).any() else np.percentile
    p10, p50, p90 = pct(shown, [10, 50, 90], axis=0)
    total = np.asarray(nominal.tco, float)[avail]
    options = pd.DataFrame(
        {
            "device_id": t.ids[avail],
            "kind": t.kinds[avail],
            "p10_usd": p10,
            "p50_usd": p50,
            "p90_usd": p90,
            "total_usd": total,
            # where the total (the catalog's figures) lies outside its own band: the inputs that put it there
            "outside_band": _outside_band(cat, total, p10, p90, shown, m, drawn, np.flatnonzero(avail)),
        }
    )
    gpu = np.where(t.is_gpu[avail], shown, np.inf).min(axis=1, initial=np.inf)
    acc = np.where(~t.is_gpu[avail], shown, np.inf).min(axis=1, initial=np.inf)
    both = np.isfinite(gpu) & np.isfinite(acc)
    prob = float(np.mean(acc[both] < gpu[both])) if both.any() else None
    return MonteCarloResult(draws=n, seed=seed, options=options, probability_accelerator_cheaper=prob)


def _outside_band(
    cat: Catalog,
    total: np.ndarray,
    p10: np.ndarray,
    p90: np.ndarray,
    tco: np.ndarray,
    m: dict[str, np.ndarray],
    drawn: dict[str, np.ndarray],
    columns: np.ndarray,
) -> list[str]:
    """Per option, why its total (every input at the catalog's figure) lies above its P90 or below its P10,
    in words; "" where it lies inside. A figure the catalog takes at one end of its range (a list price whose
    range runs down to volume pricing, a rated power that devices draw at most) is drawn only on one side of
    it: those whose draws move the option's total towards the band (correlated across the draws) are
    named, as ``"above: price of a PCIe server without cards, hardware support per year"``."""
    out = [""] * len(total)
    ranges = _ranges(cat)
    names = ASSUMPTION_INPUTS | MULTIPLIERS
    for j, (x, lo, hi) in enumerate(zip(total, p10, p90, strict=True)):
        side = "above" if x > hi else "below" if x < lo else ""
        if not side or not np.isfinite(tco[:, j]).all():
            continue
        why = []
        for key, (low, value, high) in ranges.items():
            if key not in names or high <= low or value not in (low, high):
                continue
            d = drawn.get(key, m.get(key))
            if d is None:
                continue
            d = d[:, 0] if d.shape[1] == 1 else d[:, columns[j]]
            if np.ptp(d) == 0 or np.ptp(tco[:, j]) == 0:
                continue
            r = float(np.corrcoef(d, tco[:, j])[0, 1])
            # at the top of its range, an input the total rises with is drawn lower, so the draws lie below
            # the total; at the bottom, above it (and the other way round for one the total falls with)
            lifts = (r > 0) == (value == high)  # the total sits above the draws this input makes
            if abs(r) >= 0.1 and lifts == (side == "above"):
                why.append(names[key])
        out[j] = f"{side}: " + ", ".join(why)  # none named: the ranges are skewed, none at an end
    return out


def tornado(scenario: Scenario, cat: Catalog | None = None) -> pd.DataFrame:
    """Each uncertain input alone at its low and its high end (the others nominal): the recommended
    option's total at each end, the swing, and whether the first-ranked kind of device changes."""
    cat = catalog_for(cat if cat is not None else load_catalog(), scenario)  # with your model's row
    t, x, nominal = nominal_core(cat, scenario)  # the evaluation's own, where it ran just before
    ranges = _ranges(cat)
    mu, sd = estimate_error(cat)
    inputs: list[tuple[str, str, float, float]] = []  # (key, label, low, high)
    for key, label in MULTIPLIERS.items():
        inputs.append((key, label, ranges[key][0], ranges[key][2]))
    inputs.append(
        (
            "estimated_throughput",
            "estimated throughput",
            float(np.exp(mu - Z90 * sd)),  # the P10 and P90 of the distribution the draws take
            float(np.exp(mu + Z90 * sd)),
        )
    )
    porting_lo = np.array([ranges[f"porting_days_{lvl}"][0] for lvl in SUPPORT_ORDER])
    porting_hi = np.array([ranges[f"porting_days_{lvl}"][2] for lvl in SUPPORT_ORDER])
    inputs.append(("porting_days", "porting effort", 0.0, 1.0))
    inputs.append(("update_share", "re-porting at each model change", 0.0, 1.0))
    fixed = fixed_step_throughputs(cat, scenario, t)
    for key, label in ASSUMPTION_INPUTS.items():
        if key == FIXED_STEP and fixed is None:
            continue  # not an LLM: no decode steps
        if key in ranges and not (key == "engineer_day_usd" and scenario.engineer_day_usd is not None):
            inputs.append((key, label, ranges[key][0], ranges[key][2]))
    if scenario.volume_uncertainty > 0:
        inputs.append(
            ("volume", "request volume", 1 - scenario.volume_uncertainty, 1 + scenario.volume_uncertainty)
        )

    n = 1 + 2 * len(inputs)  # row 0 nominal, then low/high per input
    d = len(t.ids)
    m = {k: np.ones((n, 1)) for k in (*MULTIPLIERS, "estimated_throughput")}
    wall = _wall_nominal(cat)
    a = _nominal_assumptions(x, n, wall)
    if fixed is not None:
        a[FIXED_STEP] = np.full((n, 1), fixed.value)
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
    t2, x2 = _perturbed(t, x, m, a, wall, fixed)
    c = core(t2, x2, volumes, scenario.model_changes_per_year, train_gpu=nominal.train_device_index)
    tco = np.where(nominal.available, c.tco, np.nan)
    if not np.isfinite(tco[0]).any():  # no device serves the scenario (e.g. spot for live requests)
        columns = ["input", "low", "high", "total_at_low_usd", "total_at_high_usd", "swing_usd", "flips"]
        return pd.DataFrame(columns=columns)
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
        # NaN at an end: the recommended device cannot serve the request there (an LLM's latency target
        # under a slower serving stack), so that end moves the answer more than any total can say
        lost = bool(np.isnan(a_lo) or np.isnan(a_hi))
        rows.append(
            {
                "input": label,
                "low": lo,
                "high": hi,
                "total_at_low_usd": a_lo,
                "total_at_high_usd": a_hi,
                "swing_usd": np.inf if lost else abs(a_hi - a_lo),
                "flips": lost
                or bool(first_kind[1 + 2 * i] != first_kind[0] or first_kind[2 + 2 * i] != first_kind[0]),
            }
        )
    out = pd.DataFrame(rows).sort_values("swing_usd", ascending=False).reset_index(drop=True)
    out.attrs["device_id"] = str(t.ids[first])
    out.attrs["nominal_usd"] = float(tco[0, first])
    return out

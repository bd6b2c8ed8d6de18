"""Your own model as a workload, and serverless APIs priced per token (issue 14 point 6, issue 15 point 4).

**Your model.** A scenario whose ``workload`` is ``"custom"`` describes the model in its ``custom_*``
fields: its total and active parameters (a mixture of experts runs fewer per token than it holds), its
number format, and what one request is: input and output tokens for an LLM (the scenario's
``input_tokens``/``output_tokens``), else the compute and memory traffic per request. `workload_row` turns
that into a catalog workload row, by the catalog's own methods, so the rest of the model treats it like
any other workload:

* an LLM's compute is 2 FLOP per active parameter per token (prompt and output), and its memory traffic
  the catalog's Llama method: decode at a batch of 64, every weight read once per step (all experts: at
  that batch nearly every expert is chosen by some token), the prefill's weight pass shared by 64
  prompts, and the KV cache (2 x layers x KV heads x head dim x 2 bytes per token) read at every step
  and written once;
* layers and attention heads a user leaves empty are estimated from the active parameters by a power
  law through the catalog's dense LLMs (Llama 3.1 8B: 32 layers, 32 heads; Llama 2 70B: 80 layers, 64
  heads), the head dimension and KV heads are theirs (128 and 8): marked as estimates in the reasons;
* another model gives its compute per request; its traffic, if empty, is its weights read once per batch
  of 32 requests (the batch of the catalog's BERT-Large and ResNet-50 figures), activations not counted:
  a lower bound.

No measured result exists for your model, so a device's estimate is its roofline x the efficiency fitted
on the **nearest catalog workload of its kind** (LLM: nearest in active parameters; other: nearest in
compute per request), which the row names in ``efficiency_from`` and the reasons say. `catalog_for` gives
the catalog with that row added (the same object for the same model, so the per-catalog caches hold).

**Serverless APIs** (``catalog/apis``): for an LLM workload, each offer that serves the catalog workload's
model (``serves``), or for your LLM an open model of similar size (within 2x of its parameters), is an
option of kind ``"api"``: the tokens a year at the offer's per-token prices, no hardware, no porting; its
reasons say what it cannot do (your own weights, data residency, rate limits).
"""

from __future__ import annotations

import math
import re
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from .. import fmt
from ..catalog import Catalog
from ..scenario import CUSTOM_WORKLOAD, Described, Scenario, ScenarioError
from .cache import per_catalog
from .request import precision_bytes

#: The decode batch of the catalog's LLM memory-traffic figures (catalog/workloads/llama-*.toml).
LLM_BATCH = 64
#: The batch of the catalog's BERT-Large and ResNet-50 memory-traffic figures.
OTHER_BATCH = 32
#: The KV cache's bytes per value: FP16/BF16, as the catalog's Llama figures assume.
KV_BYTES = 2.0
#: An API model stands in for your LLM when its parameters are within this factor of yours.
API_SIZE_FACTOR = 2.0
DAYS_PER_YEAR = 365.25


def is_llm(w: Any) -> bool:
    """A catalog workload row is an LLM where it catalogues the output tokens of a request."""
    return _num(w, "output_tokens_per_request") > 0


def _num(w: Any, key: str) -> float:
    v = getattr(w, key, None) if not isinstance(w, dict) else w.get(key)
    try:
        v = float(v)
    except (TypeError, ValueError):
        return math.nan
    return v if math.isfinite(v) and v > 0 else math.nan


def _active(w: Any) -> float:
    a = _num(w, "active_parameters")
    return a if a == a else _num(w, "parameters")


def nearest_workload(cat: Catalog, s: Scenario) -> pd.Series:
    """The catalog workload of your model's kind nearest to it: an LLM by active parameters, another
    model by compute per request (on a log scale); its fitted efficiency stands in for yours."""
    w = cat.workloads
    llm = w.apply(is_llm, axis=1)
    pool = w[llm] if s.custom_kind == "llm" else w[~llm]
    if pool.empty:
        pool = w
    if s.custom_kind == "llm":
        mine = s.custom_active_parameters or s.custom_parameters
        theirs = pool.apply(_active, axis=1)
    else:
        mine = float(s.custom_gflop_per_request or 1.0)
        theirs = pool.compute_gflop_per_request.astype(float)
    distance = (np.log(theirs.astype(float)) - math.log(mine)).abs().fillna(np.inf)
    return pool.loc[distance.idxmin()]


def _power_law(points: list[tuple[float, float]], x: float) -> float:
    """y at x on the least-squares line through log(y) against log(x) of the points (one: y scales 1:1)."""
    lx = np.log([p[0] for p in points])
    ly = np.log([p[1] for p in points])
    if len(points) < 2 or np.ptp(lx) == 0:
        return float(np.exp(ly.mean()) * x / np.exp(lx.mean()))
    slope, icpt = np.polyfit(lx, ly, 1)
    return float(np.exp(icpt + slope * math.log(x)))


@dataclass(frozen=True)
class Architecture:
    layers: float
    attention_heads: float
    kv_heads: float
    head_dim: float
    notes: tuple[str, ...] = ()


def architecture(cat: Catalog, s: Scenario) -> Architecture:
    """Your LLM's layers, heads and head dimension: as you give them, else estimated (with the method)."""
    w = cat.workloads
    dense = [
        r
        for r in w.itertuples()
        if is_llm(r)
        and all(_num(r, k) == _num(r, k) for k in ("layers", "attention_heads", "head_dim", "kv_heads"))
        and _active(r) == _num(r, "parameters")
    ]
    if not dense:  # pragma: no cover - the built-in catalog has two
        raise ScenarioError(
            "custom_layers", Scenario().custom_layers, "the catalog has no dense LLM to estimate it from"
        )
    names = " and ".join(
        f"{r.name} ({_num(r, 'parameters') / 1e9:.3g} B, {r.layers:g} layers)" for r in dense
    )
    active = s.custom_active_parameters or s.custom_parameters
    head_dim = float(np.median([r.head_dim for r in dense]))
    notes = []
    layers = s.custom_layers
    if layers is None:
        layers = max(1.0, round(_power_law([(_num(r, "parameters"), r.layers) for r in dense], active)))
        notes.append(
            f"layers estimated at {layers:g} from the active parameters by a power law through the "
            f"catalog's dense LLMs ({names}); give the layers for a better KV-cache figure"
        )
    width = _power_law([(_num(r, "parameters"), r.attention_heads * r.head_dim) for r in dense], active)
    heads = max(1.0, round(width / head_dim))
    kv = s.custom_kv_heads
    if kv is None:
        kv = float(np.median([r.kv_heads for r in dense]))
        notes.append(f"KV heads taken as {kv:g} and head dimension as {head_dim:g}, as the catalog's LLMs")
    return Architecture(float(layers), float(max(heads, kv)), float(kv), head_dim, tuple(notes))


def _tokens(cat: Catalog, s: Scenario, key: str, given: float | None) -> tuple[float, str]:
    """A token count as the scenario gives it, else the nearest catalog LLM's that catalogues it."""
    if given is not None:
        return float(given), ""
    w = cat.workloads
    pool = w[w.apply(is_llm, axis=1) & w[key].notna()] if key in w.columns else w.iloc[0:0]
    if pool.empty:
        field_name = key.replace("_per_request", "")
        raise ScenarioError(field_name, Described("empty"), "the catalog has no LLM to take it from: give it")
    mine = s.custom_active_parameters or s.custom_parameters
    near = pool.loc[(np.log(pool.apply(_active, axis=1).astype(float)) - math.log(mine)).abs().idxmin()]
    what = key.split("_")[0]
    return float(near[key]), f"{what} tokens per request from {near['name']} ({near[key]:,.0f})"


@dataclass(frozen=True)
class CustomWorkload:
    """Your model as a catalog workload row, with the reasons that say what was estimated."""

    row: dict[str, Any]
    nearest: str  # the catalog workload whose fitted efficiency stands in for yours
    reasons: tuple[str, ...] = field(default=())


def workload_row(cat: Catalog, s: Scenario) -> CustomWorkload:
    """The workload row of your model (``id`` "custom"), built by the catalog's methods."""
    near = nearest_workload(cat, s)
    total = float(s.custom_parameters)
    active = float(s.custom_active_parameters or total)
    bpp = precision_bytes(s.custom_precision)
    moe = f"{_count(total)} parameters, {_count(active)} active" if active < total else ""
    size = moe or f"{_count(total)} parameters"
    reasons = [
        f"your model ({s.custom_name}: {size}, {s.custom_precision.upper()}) has no measured result: each "
        f"device's estimate is its roofline x the efficiency fitted on the nearest catalog workload of its "
        f"kind, {near['name']}"
    ]
    row: dict[str, Any] = {
        "id": CUSTOM_WORKLOAD,
        "name": s.custom_name,
        "precision": s.custom_precision,
        "mlperf": None,
        "parameters": total,
        "active_parameters": active,
        "activations_per_request": math.nan,
        "peak_activations_per_request": math.nan,
        "efficiency_from": str(near["id"]),
    }
    if s.custom_kind == "llm":
        arch = architecture(cat, s)
        tin, why_in = _tokens(cat, s, "input_tokens_per_request", s.input_tokens)
        tout, why_out = _tokens(cat, s, "output_tokens_per_request", s.output_tokens)
        kv_token = 2 * arch.layers * arch.kv_heads * arch.head_dim * KV_BYTES
        weights = total * bpp
        traffic = (
            weights * tout / LLM_BATCH
            + weights / LLM_BATCH
            + kv_token * (tout * tin + tout * (tout + 1) / 2)
            + (tin + tout) * kv_token
        )
        row |= {
            "task": "text generation (your model)",
            "model": s.custom_name,
            "request": f"{tin:,.0f} input tokens answered with {tout:,.0f} output tokens",
            "compute_gflop_per_request": 2 * active * (tin + tout) / 1e9,
            "memory_traffic_mb_per_request": traffic / 1e6,
            "input_tokens_per_request": tin,
            "output_tokens_per_request": tout,
            "layers": arch.layers,
            "attention_heads": arch.attention_heads,
            "kv_heads": arch.kv_heads,
            "head_dim": arch.head_dim,
        }
        reasons += [r for r in (why_in, why_out, *arch.notes) if r]
    else:
        gflop = float(s.custom_gflop_per_request)  # required for this kind (Scenario checks it)
        traffic_mb = s.custom_traffic_mb_per_request
        if traffic_mb is None:
            traffic_mb = total * bpp / OTHER_BATCH / 1e6
            reasons.append(
                f"memory traffic estimated at {traffic_mb:,.1f} MB per request: the weights read once per "
                f"batch of {OTHER_BATCH} requests, activations not counted (a lower bound; give the figure)"
            )
        row |= {
            "task": "your model",
            "model": s.custom_name,
            "request": f"one request of {gflop:,.4g} GFLOP",
            "compute_gflop_per_request": gflop,
            "memory_traffic_mb_per_request": float(traffic_mb),
            "input_tokens_per_request": math.nan,
            "output_tokens_per_request": math.nan,
        }
    return CustomWorkload(row, str(near["id"]), tuple(map(sentence, reasons)))


def sentence(text: str) -> str:
    """A reason as the recommendation's other reasons read: a capital first, a full stop last."""
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


#: The custom fields a workload row depends on (the scenario's others do not change it).
def _key(s: Scenario) -> tuple[Any, ...]:
    return (
        s.custom_name,
        s.custom_kind,
        s.custom_parameters,
        s.custom_active_parameters,
        s.custom_precision,
        s.custom_layers,
        s.custom_kv_heads,
        s.custom_gflop_per_request,
        s.custom_traffic_mb_per_request,
        s.input_tokens if s.custom_kind == "llm" else None,
        s.output_tokens if s.custom_kind == "llm" else None,
    )


_DERIVED: OrderedDict[tuple[int, tuple[Any, ...]], tuple[Catalog, CustomWorkload]] = OrderedDict()
_MAX_DERIVED = 16


def catalog_for(cat: Catalog, s: Scenario) -> Catalog:
    """The catalog the model evaluates `s` against: `cat` itself, or for your model `cat` with its
    workload row added. The same model gives the same catalog object (so the caches keyed on it hold)."""
    if s.workload != CUSTOM_WORKLOAD:
        return cat
    return _derived(cat, s)[0]


def base_catalog(cat: Catalog) -> Catalog:
    """The catalog a derived one (``catalog_for``: your model's row added) was made from, else ``cat``.
    Everything measured is the base's: your model's row has no results."""
    base = getattr(cat, "_custom_base", None)
    return base() if base is not None and base() is not None else cat


def custom_workload(cat: Catalog, s: Scenario) -> CustomWorkload | None:
    """Your model's row and reasons, or None for a catalog workload."""
    return _derived(cat, s)[1] if s.workload == CUSTOM_WORKLOAD else None


def _derived(cat: Catalog, s: Scenario) -> tuple[Catalog, CustomWorkload]:
    cat = base_catalog(cat)  # already derived: derive again from its base
    key = (id(cat), _key(s))
    hit = _DERIVED.get(key)
    if hit is not None:
        _DERIVED.move_to_end(key)
        return hit
    if CUSTOM_WORKLOAD in set(cat.workloads.id):
        raise ScenarioError(
            "workload", CUSTOM_WORKLOAD, "the catalog has a workload with the id 'custom': rename it"
        )
    custom = workload_row(cat, s)
    workloads = pd.concat([cat.workloads, pd.DataFrame([custom.row])], ignore_index=True)
    derived = replace(cat, workloads=workloads)
    object.__setattr__(derived, "_custom_base", weakref.ref(cat))
    _DERIVED[key] = (derived, custom)
    weakref.finalize(cat, _forget, id(cat))
    while len(_DERIVED) > _MAX_DERIVED:
        _DERIVED.popitem(last=False)
    return derived, custom


def _forget(cat_id: int) -> None:
    for key in [k for k in _DERIVED if k[0] == cat_id]:
        _DERIVED.pop(key, None)


# -- serverless APIs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiOption:
    """A serverless API offer as an option: priced per token, no hardware, no porting."""

    device_id: str  # "api:<provider>:<model id>:<tier>", unique
    name: str
    provider: str
    model: str
    model_id: str
    tier: str
    available: bool
    unavailable_reason: str | None
    input_tokens_per_request: float | None
    output_tokens_per_request: float | None
    input_usd_per_mtoken: float
    output_usd_per_mtoken: float
    tco_usd: float | None
    cost_per_million_requests_usd: float | None
    price_source: str
    reasons: tuple[str, ...]
    kind: str = "api"
    plan: str = "api"
    hardware_cost_usd: float = 0.0
    porting_cost_usd: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["reasons"] = list(self.reasons)
        return out


@per_catalog(maxsize=1)
def offer_records(cat: Catalog) -> tuple[Any, ...]:
    """The catalog's API offers as plain records (``Catalog.api_prices`` rows), once per catalog."""
    apis = getattr(cat, "api_prices", None)
    if apis is None or apis.empty:
        return ()
    return tuple(apis.itertuples(index=False))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def api_options(cat: Catalog, s: Scenario, w: Any) -> list[ApiOption]:
    """The serverless API offers for workload row `w` under `s`, cheapest first (none for a model that is
    not an LLM). `w` is the catalog row of ``s.workload`` (your model's row for ``"custom"``)."""
    apis = offer_records(cat)
    if not apis or not is_llm(w):
        return []
    tin = s.input_tokens if s.input_tokens is not None else _num(w, "input_tokens_per_request")
    tout = s.output_tokens if s.output_tokens is not None else _num(w, "output_tokens_per_request")
    custom = s.workload == CUSTOM_WORKLOAD
    if custom:
        size = s.custom_parameters
        rows = [r for r in apis if 1 / API_SIZE_FACTOR <= r.parameters / size <= API_SIZE_FACTOR]
    else:
        rows = [r for r in apis if s.workload in r.serves]
    per_year = s.requests_per_day * DAYS_PER_YEAR
    out = []
    for r in rows:
        pin, pout = float(r.input_usd_per_mtoken), float(r.output_usd_per_mtoken)
        why = None
        if tin != tin:
            why = "the catalog has no input-token figure for this workload: give the input tokens"
        elif r.tier == "batch" and getattr(s, "latency_target", "batch") != "batch":
            why = "a batch tier answers within hours, not at your latency target"
        ok = why is None
        per_request = (tin * pin + tout * pout) / 1e6 if ok else math.nan
        tco = per_request * per_year * s.horizon_years if ok else None
        source = f"{r.provider} {r.model_id} ({r.source_title}, as of {_date(r.as_of)})"
        reasons = [
            f"priced per token: ${pin:g} per million input, ${pout:g} per million output tokens ({source})",
            "no hardware to buy or rent and no porting: the provider runs the model",
        ]
        if custom:
            reasons.append(
                f"does not run your model: the provider serves {r.name} ({_count(r.parameters)} "
                f"parameters, within {API_SIZE_FACTOR:g}x of yours): an option only if it does the job"
            )
        else:
            reasons.append(
                f"serves the provider's copy of {r.name}: your own fine-tuned weights are not served"
            )
        if isinstance(r.comparable, str) and r.comparable:
            reasons.append(r.comparable)
        reasons += [
            "your requests and data go to the provider's regions: no data residency beyond them",
            "rate limits and capacity are the provider's and are not modelled",
        ]
        if r.tier == "batch":
            reasons.append("batch tier: answers within hours, for work that can wait")
        if s.training_share > 0:
            reasons.append(
                f"serving only: the scenario's training ({s.training_share:.0%} of the compute) is not in "
                "this total, and an API cannot run it"
            )
        if isinstance(r.note, str) and r.note:
            reasons.append(r.note)
        out.append(
            ApiOption(
                device_id=f"api:{_slug(r.provider)}:{_slug(r.model_id)}:{r.tier}",
                name=f"{r.provider} API, {r.model_id}" + (" (batch)" if r.tier == "batch" else ""),
                provider=str(r.provider),
                model=str(r.name),
                model_id=str(r.model_id),
                tier=str(r.tier),
                available=ok,
                unavailable_reason=why,
                input_tokens_per_request=float(tin) if tin == tin else None,
                output_tokens_per_request=float(tout) if tout == tout else None,
                input_usd_per_mtoken=pin,
                output_usd_per_mtoken=pout,
                tco_usd=tco,
                cost_per_million_requests_usd=per_request * 1e6 if ok else None,
                price_source=source,
                reasons=tuple(map(sentence, reasons)),
            )
        )
    out.sort(key=lambda o: (not o.available, o.tco_usd if o.tco_usd is not None else 0.0, o.device_id))
    return out


def _count(n: float) -> str:
    """A parameter count in words: 47 B, 340 M."""
    return f"{n / 1e9:,.3g} B" if n >= 1e9 else f"{n / 1e6:,.3g} M"


def _date(v: Any) -> str:
    return v.isoformat() if hasattr(v, "isoformat") else str(v)


def workload_json(custom: CustomWorkload | None) -> dict[str, Any] | None:
    """Your model's row as JSON holds it (NaN as None), with the reasons that say what was estimated."""
    if custom is None:
        return None
    row = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in custom.row.items()}
    return {**row, "reasons": list(custom.reasons)}


def api_reason(best: ApiOption | None, tco_usd: float | None, s: Scenario) -> str | None:
    """The recommendation's sentence about the cheapest API where it costs less than the plan."""
    if (
        best is None
        or not best.available
        or best.tco_usd is None
        or tco_usd is None
        or best.tco_usd >= tco_usd
        or s.training_share > 0  # the plan's total trains too; the API's only serves: not comparable
    ):
        return None
    share = 1 - best.tco_usd / tco_usd
    return (
        # "lowest total cost" (the first reason) is among the devices; this says the API is outside them
        f"A serverless API costs less than any device here: {best.name} at {fmt.usd(best.tco_usd)} over "
        f"{s.horizon_years:g} "
        f"years, {fmt.percent(share)} below this plan, with no hardware or porting; but it serves the "
        "provider's weights, not your own, and your data goes to its regions (see the api options)"
    )

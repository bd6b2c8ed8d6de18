"""LLM serving on the catalog's rows: one device on one workload (``row_capacity``, what the roofline and the
calibration call), a scenario's request over the device table (``serve``), and the decode-read efficiency
that a result measured under latency bounds implies (``memory_efficiency_of``). The physics is in
``serving``; this module reads catalog rows and scenarios into it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from types import SimpleNamespace
from typing import Any

import numpy as np

from .cache import ByValue
from .serving import (
    FORMAT_BYTES,
    FORMAT_NAMES,
    WEIGHTS_HEADROOM,
    Architecture,
    Capacity,
    PcieLink,
    Target,
    capacity,
    peak_flops,
    peak_used,
    serving_format,
)


def default_tokens(workload: Any) -> tuple[float, float]:
    """(input, output) tokens per request from the workload's sourced records. A workload without a
    sourced prompt length (a user's catalog row that leaves it out) counts no prefill: a lower bound.
    NaN output: not a serving workload."""
    i = getattr(workload, "input_tokens_per_request", None)
    o = getattr(workload, "output_tokens_per_request", None)
    i = float(i) if i is not None and i == i else 0.0
    o = float(o) if o is not None and o == o else math.nan
    return i, o


def copy_devices(
    arch: Architecture, memory_gb: Any, weight_bytes: float, headroom: float, domain: Any = 1.0
) -> np.ndarray:
    """The devices' worth one copy is spread over: its whole scale-up ``domain`` (tensor parallel over
    the interconnect: the most memory per device left for KV cache), or, for a model too large for it,
    its weights over ``headroom`` of a device's memory. At least 1; NaN domains count as 1.

    A share past the domain, not placement's whole count (``placement``: whole devices): whole devices
    leave a copy slack for KV cache that would let a bigger model serve more per device; the share is
    the lower estimate there, and monotone in the model's size. (Inside the domain, a copy on too few
    devices is what the catalog's 70B runs on an 8-GPU H100 server avoid: they spread it.)"""
    with np.errstate(divide="ignore", invalid="ignore"):
        need = arch.total_params * weight_bytes / 1e9 / (np.asarray(memory_gb, float) * headroom)
    dom = np.asarray(domain, float)
    dom = np.where(np.isfinite(dom) & (dom >= 1), dom, 1.0)
    need = np.where(np.isfinite(need), need, 1.0)
    return np.maximum(np.maximum(need, dom), 1.0)


def row_capacity(
    dev: Any,
    w: Any,
    compute_precision: str | None = None,
    storage_precision: str | None = None,
    *,
    weights_headroom: float = WEIGHTS_HEADROOM,
    devices_per_copy: float | None = None,
    input_tokens: float | None = None,
    output_tokens: float | None = None,
    target: Target | None = None,
    efficiency: float = 1.0,
    memory_efficiency: float | None = None,
    fixed_step_s_per_layer: float = 0.0,
    sequence_s_per_layer: float = 0.0,
    span: float | None = None,
    pcie: PcieLink | None = None,
) -> Capacity | None:
    """The serving capacity of one catalog device (row) on one catalog workload (row), or None where the
    workload is not an LLM. Compute runs at the peak of ``compute_precision`` and the weights are read in
    ``storage_precision`` (both default to the workload's); the copy spans ``devices_per_copy`` devices
    (default: the fewest whose memory x ``weights_headroom`` holds the weights); the request's tokens
    default to the workload's (``default_tokens``); a decode step takes ``fixed_step_s_per_layer`` x layers
    more than its reads and maths (the serving stack's: ``assumptions.fixed_step_s_per_layer``), and
    ``sequence_s_per_layer`` x layers more per sequence, spread over the copy's devices
    (``assumptions.sequence_s_per_layer``); a copy past the device's scale-up domain runs its all-reduces
    over the host's PCIe (``pcie``, as ``serve``)."""
    arch = Architecture.of(w)
    i0, o0 = default_tokens(w)
    if arch is None or o0 != o0:
        return None
    cf = serving_format(compute_precision, w.precision)
    sf = serving_format(storage_precision, w.precision)
    wb = FORMAT_BYTES[sf]
    memory_gb = getattr(dev, "memory_gb", math.nan)
    memory_gb = float(memory_gb) if memory_gb is not None and memory_gb == memory_gb else math.nan
    bw = getattr(dev, "memory_bandwidth_gbps", math.nan)
    bw = float(bw) if bw is not None and bw == bw else math.nan
    dom = _val(dev, "scale_up_domain")
    d = (
        devices_per_copy
        if devices_per_copy is not None
        else float(copy_devices(arch, memory_gb, wb, weights_headroom, _spread(dom, span)))
    )
    return capacity(
        arch,
        peak=peak_flops(dev, cf),
        bandwidth=bw * 1e9,
        memory=memory_gb * 1e9,
        devices_per_copy=d,
        input_tokens=i0 if input_tokens is None else input_tokens,
        output_tokens=o0 if output_tokens is None else output_tokens,
        weight_bytes=wb,
        target=target or Target(),
        compute_efficiency=efficiency,
        memory_efficiency=memory_efficiency,
        fmt=cf,
        fixed_step_s_per_layer=fixed_step_s_per_layer,
        sequence_s_per_layer=sequence_s_per_layer,
        domain=dom if dom >= 1 else 1.0,
        pcie=pcie,
    )


# -- a scenario's serving request over the device table ----------------------------------------------------


@dataclass(frozen=True)
class Request:
    """What a scenario asks of an LLM deployment: precision, tokens (None: the workload's) and target."""

    precision: str = "auto"
    input_tokens: float | None = None
    output_tokens: float | None = None
    target: Target = field(default_factory=Target)

    @classmethod
    def of(cls, scenario: Any) -> Request:
        """From a ``Scenario`` (its precision, input/output tokens and latency fields)."""
        return cls(
            scenario.precision,
            scenario.input_tokens,
            scenario.output_tokens,
            Target.of(scenario.latency_target, scenario.tokens_per_s_per_user, scenario.ttft_s),
        )

    def tokens(self, workload: Any) -> tuple[float, float]:
        i0, o0 = default_tokens(workload)
        return (
            i0 if self.input_tokens is None else float(self.input_tokens),
            o0 if self.output_tokens is None else float(self.output_tokens),
        )

    def words(self, workload: Any) -> str:
        i, o = self.tokens(workload)
        fmt = FORMAT_NAMES[serving_format(self.precision, workload.precision)]
        return f"{fmt}, {i:,.0f} input and {o:,.0f} output tokens, {self.target.words()}"


@dataclass(frozen=True)
class Served:
    """Requests/s per device serving a scenario's request, and what limits each (``serve``)."""

    rps: np.ndarray  # NaN where no batch meets the request
    devices_per_copy: np.ndarray
    reason: list[str]  # why unavailable ("" where available)
    words: list[str]  # how it was obtained, for the throughput's source
    tokens_per_s_alone: np.ndarray  # what one user alone gets from a copy (the model's; NaN: unavailable)
    formats: list[str]  # the format each device serves in, in words ("FP4"; ``format_words``)


def format_words(maths: str, weights: str) -> str:
    """A served format in words: "FP4" where maths and weights run in one, else "FP8 weights, BF16 maths"."""
    m, s = FORMAT_NAMES.get(maths, maths.upper()), FORMAT_NAMES.get(weights, weights.upper())
    return s if m == s else f"{s} weights, {m} maths"


#: ``serve``'s capacities as measured, the last few requests' (``cache.ByValue``)
_AS_MEASURED = ByValue(16)


def serve(
    devices: Any,
    w: Any,
    request: Request,
    *,
    efficiency: float | np.ndarray,
    measured_rps: np.ndarray,
    run_formats: list[tuple[str, str] | None],
    run_efficiency: np.ndarray,
    memory_efficiency: float | np.ndarray | None = None,
    fixed_step_s_per_layer: float | np.ndarray = 0.0,
    sequence_s_per_layer: float | np.ndarray = 0.0,
    knots: Sequence[tuple[tuple[float, float], ...] | None] | None = None,
    span: np.ndarray | None = None,
    settle: float | None = None,
    pcie: PcieLink | None = None,
    host_pcie: np.ndarray | None = None,
) -> Served:
    """Each device (rows of ``devices``, a frame or its row tuples, in the table's order) serving ``request``
    on LLM ``w``.

    A device without a measurement gets its capacity at the fitted ``efficiency`` (its maths) and
    ``memory_efficiency`` (each sequence's decode reads, one for all or one per device; None: the same,
    what the caller passes for a request without a latency bound, as the Offline runs were fitted). A
    measured device keeps its measurement where the request is the one measured (its formats, the
    workload's tokens, no latency bound) and otherwise scales it by the model: measured x
    capacity(request) / capacity(as measured), its maths at the device's own efficiency
    (``run_efficiency``: measured / its capacity as run, at most 1), or, asked for a format it did not run
    in, at the one fitted for that format; served otherwise than measured, never above the ceilings of
    what it is asked to run. The capacity as measured reads at the request's ``memory_efficiency`` too, so
    that the factor carries the Offline result over the model's as the request reads (until 2026-12-06 a
    device with latency-bound results of its own read its Offline run at the run's efficiency, which cut a
    third off figures under bounds that did not bind). A copy takes ``copy_devices`` of each device at its
    weights' format; every decode step takes ``fixed_step_s_per_layer`` (one for all, or one per device) x
    layers more, and each sequence in it ``sequence_s_per_layer`` x layers (likewise; a measured device's
    only). Vectorised: one ``capacity`` call per group of devices that run the same formats.

    ``knots`` (per device, or None): a device's latency-bound results as (tokens/s per user, measured /
    the model there: ``calibration.latency_knots``). A latency-bound request to such a device takes, in
    place of its Offline run's factor alone, ``bound_factor`` over that factor (at no bound) and these:
    served at one of its results' own conditions it is that result, and the factor never rises as the
    bound tightens.

    ``span`` (per device, or None: its scale-up domain): the most devices a copy is spread over as served,
    a cloud instance smaller than the domain (a one-GPU offer runs a copy on one GPU); the capacity as
    measured is spread so too (the measurement is its system's per device, whatever the copies). A card in
    a PCIe server (``host_pcie``, per device) may spread a copy past its domain up to ``span``, over the
    host's PCIe; a copy past its domain pays its all-reduces there (``pcie``: ``PcieLink``), and its
    measurement, made inside the domain, is carried from the spread the domain allows.

    A latency-bound request reading at ``memory_efficiency`` starts where the batch figure is (the same
    request with no bound, every read at the Offline fit) and never rises above it: a bound only takes
    batches away. At no bound the factor is the batch figure over the model's reading of it at the bound's
    read efficiency; a measured device's results then take over (``knots``), and an estimate's factor
    falls to 1 by ``settle`` (tokens/s per user: where the pooled read efficiency was fitted, the model's
    reading stands). Until 2026-12-06 the two readings met only for a measured device at its own formats:
    a bound of 0.1 tokens/s per user served B200 on Llama-3.1-8B in BF16 at 1.47x its batch figure, and
    TPU v6e in FP8 at 0.51x.
    """
    arch = Architecture.of(w)
    if arch is None:
        raise ValueError(f"{w.get('name', 'this workload')} is not an LLM: it has no architecture records")
    w = _plain(w)  # read per device and format below: without pandas' attribute lookup
    fmt = serving_format(request.precision, w.precision)
    i0, o0 = default_tokens(w)
    i, o = request.tokens(w)
    rows = list(devices.itertuples()) if hasattr(devices, "itertuples") else list(devices)
    n = len(rows)
    memory_gb = np.array([_val(r, "memory_gb") for r in rows])
    bandwidth = np.array([_val(r, "memory_bandwidth_gbps") for r in rows]) * 1e9
    domain = np.array([_val(r, "scale_up_domain") for r in rows])
    spread = domain if span is None else _spread(domain, span)
    joined = np.where(domain >= 1, domain, 1.0)  # NaN: one, as ``copy_devices`` counts it
    # over the host's PCIe, a card's copy reaches what its instance or server holds
    over = spread if span is None or host_pcie is None else np.where(host_pcie, np.fmax(spread, span), spread)
    measured = np.isfinite(np.asarray(measured_rps, float))
    fitted = np.broadcast_to(np.asarray(efficiency, float), (n,))  # one for all, or one per device
    eff = np.where(measured, np.asarray(run_efficiency, float), fitted)
    eff = np.where(np.isfinite(eff) & (eff > 0), eff, fitted)
    auto = request.precision in (None, "auto")
    # (maths, weights) each device runs now, and ran when measured
    now_f = [(run_formats[k] if auto and measured[k] and run_formats[k] else (fmt, fmt)) for k in range(n)]
    then_f = [run_formats[k] if measured[k] and run_formats[k] else None for k in range(n)]
    # A run's maths efficiency is against its own format's peak and says little about another format's
    # (MLPerf v6.0, Llama-2-70B on MI355X: 38 % of its FP4 roofline, 65 % of its FP8 one; B300's FP4 run,
    # 30 %, carried to FP8 served it at 0.39x a B200). A device asked for a format it has no run in
    # computes at the efficiency fitted for that format on its vendor's runs (``efficiency``); its
    # measurement still scales the result by what the model misses at the device's own conditions.
    other = measured & np.array(
        [
            then_f[k] is not None and _maths(rows[k], now_f[k], w) != _maths(rows[k], then_f[k], w)
            for k in range(n)
        ]
    )
    eff_now = np.where(other, fitted, eff)
    fixed = np.broadcast_to(np.asarray(fixed_step_s_per_layer, float), (n,))
    # a stack's per-sequence time goes with the device's own measurements, which it was solved beside; an
    # estimate's efficiency, fitted on other devices' runs, already carries their stacks' per-sequence work
    per_seq = np.where(measured, np.broadcast_to(np.asarray(sequence_s_per_layer, float), (n,)), 0.0)
    mem_eff = (
        eff if memory_efficiency is None else np.broadcast_to(np.asarray(memory_efficiency, float), (n,))
    )

    def grouped(
        formats: list[tuple[str, str] | None],
        tokens: tuple[float, float],
        target: Target,
        reads: np.ndarray,
        eff: np.ndarray,
        domain: np.ndarray,
    ):
        rps, reason, limit = np.full(n, np.nan), [""] * n, [""] * n
        ceiling = np.full(n, np.nan)  # the compute and memory ceilings' lower (efficiency 1)
        alone = np.full(n, np.nan)  # tokens/s one user alone gets: the interactivity ceiling
        link = np.zeros(n)  # a step's all-reduces over the host's PCIe
        for f in sorted({f for f in formats if f is not None}):
            idx = [k for k in range(n) if formats[k] == f]
            cf, sf = serving_format(f[0], w.precision), serving_format(f[1], w.precision)
            wb = FORMAT_BYTES[sf]
            c = capacity(
                arch,
                peak=np.array([peak_flops(rows[k], cf) for k in idx]),
                bandwidth=bandwidth[idx],
                memory=memory_gb[idx] * 1e9,
                devices_per_copy=copy_devices(arch, memory_gb[idx], wb, WEIGHTS_HEADROOM, domain[idx]),
                input_tokens=tokens[0],
                output_tokens=tokens[1],
                weight_bytes=wb,
                target=target,
                compute_efficiency=eff[idx],
                memory_efficiency=reads[idx],
                fmt=cf,
                fixed_step_s_per_layer=fixed[idx],
                sequence_s_per_layer=per_seq[idx],
                domain=joined[idx],
                pcie=pcie,
            )
            rps[idx], alone[idx], link[idx] = c.rps, 1.0 / c.step_alone_s, c.link_s
            ceiling[idx] = np.fmin(c.compute_rps, c.memory_rps)
            for j, k in enumerate(idx):
                reason[k], limit[k] = c.reason[j], c.limit[j]
        return rps, reason, limit, alone, ceiling, link

    now, reason, limit, alone, ceiling, link = grouped(now_f, (i, o), request.target, mem_eff, eff_now, over)
    # as measured (Offline, no latency bound)
    anchor = np.where(np.isfinite(mem_eff) & (mem_eff > 0), mem_eff, eff)
    # as measured, the copy spread as it is served: the measurement is the system's per device whatever
    # its copies, so the factor carries it to the request, not to another placement of the model
    # the same at every token move (its tokens are the run's): kept by the values it reads
    key = (tuple(rows), arch, w.precision, tuple(then_f), i0, o0, pcie, WEIGHTS_HEADROOM)
    key += tuple(x.tobytes() for x in (anchor, eff, spread, fixed, per_seq))
    then = _AS_MEASURED(key, lambda: grouped(then_f, (i0, o0), Target(), anchor, eff, spread)[0])
    rps = now.copy()
    scaled = measured & (then > 0)
    factor = np.full(n, np.nan)
    beside = [""] * n  # the latency-bound results a device's factor comes from, in words
    factor[scaled] = np.asarray(measured_rps, float)[scaled] / then[scaled]
    free = None  # the batch figure: the request with no bound, as ``serve`` gives it
    carried = np.zeros(n, bool)  # an estimate scaled from its batch figure
    if request.target.bounded and memory_efficiency is not None:
        free = serve(
            rows,
            w,
            replace(request, target=Target()),
            efficiency=efficiency,
            measured_rps=measured_rps,
            run_formats=run_formats,
            run_efficiency=run_efficiency,
            fixed_step_s_per_layer=fixed_step_s_per_layer,
            sequence_s_per_layer=sequence_s_per_layer,
            span=span,
            pcie=pcie,
            host_pcie=host_pcie,
        ).rps
        unbound, *_ = grouped(now_f, (i, o), Target(), mem_eff, eff_now, over)
        with np.errstate(divide="ignore", invalid="ignore"):
            start = free / unbound  # what carries the model, read as the bound reads, to the batch figure
        speed = 1.0 / request.target.tpot_s if math.isfinite(request.target.tpot_s) else 0.0
        for k in range(n):
            ok = start[k] > 0 and math.isfinite(start[k])
            own = knots[k] if knots is not None and scaled[k] else None
            if scaled[k] and (ok or own):
                factor[k] = bound_factor(speed, ((0.0, float(start[k] if ok else factor[k])), *(own or ())))
                beside[k] = f", x {factor[k]:.2f} for what it misses " + (
                    knot_words(speed, own) if own else "in its Offline run"
                )
            elif not measured[k] and ok and start[k] > 1 and settle:
                factor[k] = bound_factor(speed, ((0.0, float(start[k])), (settle, 1.0)))
                if factor[k] > 1:
                    carried[k] = True
                    beside[k] = (
                        f", x {factor[k]:.2f} from its batch figure (at no bound) to the model read as "
                        f"bounds are fitted (x 1 from {settle:.3g} tokens/s per user)"
                    )
    rps[scaled] = now[scaled] * factor[scaled]
    rps[carried] = now[carried] * factor[carried]
    # a run above its roofline (its ratio counted at 1) scales up by that ratio: served as it ran it stays
    # the measurement, served otherwise it stays under the ceilings of what it is asked to run
    moved = (scaled & ~np.isclose(now, then, rtol=1e-12, atol=0.0)) | carried
    capped = moved & np.isfinite(ceiling)
    rps[capped] = np.minimum(rps[capped], ceiling[capped])  # NaN (not served) stays NaN
    if free is not None:  # a bound never serves more than none
        held = np.isfinite(rps) & np.isfinite(free) & (rps > free)
        rps[held] = free[held]
        for k in np.flatnonzero(held):
            beside[k] += f"; held at its batch figure ({free[k]:.3g} requests/s): a bound never adds capacity"
    name = FORMAT_NAMES[fmt]
    words = []
    for k, r in enumerate(rows):
        if not rps[k] > 0:
            words.append("")
        elif scaled[k]:
            cp, sp = now_f[k]
            how = f"as measured ({cp} maths, {sp} weights)" if auto else name
            refit = (
                f" (maths at efficiency {fitted[k]:.2f}, fitted for {name}; its own "
                f"{then_f[k][0].upper()} run's was {eff[k]:.2f})"
                if other[k]
                else ""
            )
            words.append(f"measured, scaled by the serving model to {how}{refit}{beside[k]}: {limit[k]}")
        else:
            maths = peak_used(r, fmt)[1]
            how = name + (f" weights, maths at the {maths} peak" if maths and maths != name else "")
            step = arch.layers * fixed[k]
            fixed_words = f", {step * 1e3:.2g} ms of fixed time per decode step" if step > 0 else ""
            if link[k] > 0:
                fixed_words += f" and {link[k] * 1e3:.2g} ms of all-reduces over the host's PCIe"
            words.append(f"serving model, {how}{fixed_words}{beside[k]}: {limit[k]}")
    d = copy_devices(arch, memory_gb, FORMAT_BYTES[fmt], WEIGHTS_HEADROOM, over)
    named = {f: (serving_format(f[0], w.precision), serving_format(f[1], w.precision)) for f in set(now_f)}
    formats = [  # the format each is served in: its weights', and the peak its maths run at
        format_words(peak_used(r, named[now_f[k]][0])[1].lower() or named[now_f[k]][0], named[now_f[k]][1])
        if rps[k] > 0
        else ""
        for k, r in enumerate(rows)
    ]
    return Served(
        rps=rps,
        devices_per_copy=d,
        reason=reason,
        words=words,
        tokens_per_s_alone=np.where(rps > 0, alone, np.nan),
        formats=formats,
    )


def _spread(domain: Any, span: Any) -> Any:
    """The most devices a copy spans: its scale-up ``domain`` (NaN: 1), at most ``span`` where given."""
    if span is None:
        return domain
    d = np.asarray(domain, float)
    return np.fmin(np.where(d >= 1, d, 1.0), np.asarray(span, float))


def knot_words(speed: float, knots: Sequence[tuple[float, float]]) -> str:
    """Which of a device's latency-bound results (``knots``: (tokens/s per user, factor)) a request at
    ``speed`` is scaled by, in words."""
    xs = sorted({float(x) for x, _ in knots})
    if speed in xs:
        return f"at its own result at {speed:.3g} tokens/s per user"
    if speed > xs[-1]:
        return f"at its own result at {xs[-1]:.3g} tokens/s per user, the tightest bound it ran"
    above = min(x for x in xs if x > speed)
    below = [x for x in xs if x < speed]
    looser = f"its result at {below[-1]:.3g}" if below else "its Offline run"
    return f"between {looser} and its result at {above:.3g} tokens/s per user"


def bound_factor(speed: float, knots: Sequence[tuple[float, float]]) -> float:
    """The factor a latency-bound request at ``speed`` (tokens/s per user; 0: no bound on the time per
    token) scales the serving model by, from ``knots``: (speed, measured / model) at each of a device's
    results, the Offline one at speed 0. Linear between two knots, the last knot's past it; but never
    above any knot's at a lower speed (the envelope that only falls): with the model's own capacity
    falling as the bound tightens, the figure then never rises with it. Knots at one speed: the largest."""
    at: dict[float, float] = {}
    for x, f in knots:
        if f == f and f > 0:
            at[float(x)] = max(at.get(float(x), 0.0), float(f))
    xs = sorted(at)
    if not xs:
        return math.nan
    low = math.inf  # the lowest factor at or below the segment's start
    for j, x in enumerate(xs):
        low = min(low, at[x])
        if j + 1 == len(xs) or speed < xs[j + 1]:
            if speed <= x or j + 1 == len(xs):
                return low
            x1 = xs[j + 1]
            line = at[x] + (at[x1] - at[x]) * (speed - x) / (x1 - x)
            return min(line, low)
    return low  # pragma: no cover


def _plain(row: Any) -> Any:
    """A catalog row as a namespace of its values (the same attributes, read without pandas' lookup)."""
    to_dict = getattr(row, "to_dict", None)
    return SimpleNamespace(**{str(k): v for k, v in to_dict().items()}) if callable(to_dict) else row


def _maths(row: Any, formats: tuple[str, str] | None, w: Any) -> str:
    """The format a device's maths run in for (maths, weights) ``formats`` (``peak_used``: without that
    format's peak, a wider one's): a run and a request that compute alike share the run's efficiency,
    whatever their weights (H200's FP8 run, asked for FP4 weights, computes in FP8 as it ran)."""
    return peak_used(row, serving_format(formats[0], w.precision))[1] if formats else ""


def _val(row: Any, key: str) -> float:
    v = getattr(row, key, None)
    return float(v) if v is not None and v == v else math.nan


def memory_efficiency_of(
    dev: Any,
    w: Any,
    compute_precision: str,
    storage_precision: str,
    measured_rps: float,
    target: Target,
    compute_efficiency: float,
    fixed_step_s_per_layer: float = 0.0,
    sequence_s_per_layer: float = 0.0,
    pcie: PcieLink | None = None,
) -> float:
    """The decode-read efficiency at which the model's capacity at ``target`` (with the maths at
    ``compute_efficiency``) equals a measurement made under that latency bound; at most 1 (a measurement
    above the capacity at 1 counts as 1), NaN where the model has no capacity to compare. Capacity rises
    with this efficiency, so bisection finds it."""
    # The bisection reads the two rows about 40 times: plain attributes, not a pandas Series' lookup
    # (which took most of a new catalog's leave-one-out validation, 5 s).
    dev, w = _plain(dev), _plain(w)

    def at(e: float) -> float:
        c = row_capacity(
            dev,
            w,
            compute_precision,
            storage_precision,
            target=target,
            efficiency=compute_efficiency,
            memory_efficiency=e,
            fixed_step_s_per_layer=fixed_step_s_per_layer,
            sequence_s_per_layer=sequence_s_per_layer,
            pcie=pcie,
        )
        r = float(c.rps[0]) if c is not None else math.nan
        return r if r == r else 0.0

    if not at(1.0) > 0:
        return math.nan
    if at(1.0) <= measured_rps:
        return 1.0
    lo, hi = 1e-4, 1.0
    for _ in range(40):
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if at(mid) < measured_rps else (lo, mid)
    return hi

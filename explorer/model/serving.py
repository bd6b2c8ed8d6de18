"""LLM serving, in tokens: prefill, decode, the KV cache and a latency target (issue 14, point 2).

A language-model request is input tokens (the prompt) plus output tokens. One model copy spans ``D``
devices (tensor parallel: their peaks, bandwidths and memories add up) and serves a batch of ``B``
sequences by continuous batching with chunked prefill (vLLM's and TensorRT-LLM's default):

* **prefill** runs a prompt through the model once: ``2 x active parameters`` FLOP per prompt token plus
  causal attention (``2 x layers x heads x head dim x I^2``): compute, at the precision's peak x the
  compute efficiency;
* **decode** makes one token for every sequence in the batch per step. A step reads the weights (at their
  storage precision) once and every sequence's KV cache (at the memory efficiency), and does
  ``2 x active parameters`` FLOP per sequence plus attention over its context, plus its share of the
  prompts of the sequences that replace those finishing (B / output tokens prompts a step, in chunks):
  step time = a **fixed time per step** (the serving stack's: kernel launches, the tensor-parallel
  all-reduces, sampling and scheduling; per layer, ``catalog/assumptions/serving.toml``) + max(memory
  time, compute time), the two overlapping. The fixed time was derived with the weights read at the
  rated bandwidth, so beside it they are; each sequence's reads (its KV cache, and what its attention
  and sampling cost beyond them) take the fitted decode-read efficiency, and where the catalog records
  one for the device's stack, each sequence adds a fixed time too, whatever its context
  (``decode_sequence_fixed_per_layer_<device>``: short- and long-context runs of one stack disagree
  otherwise);
* the **batch** is limited by the memory the weights leave for KV cache (``memory x headroom - weights``
  over ``KV bytes per token x (input + output)`` per sequence) and by the **latency target**: the time
  per output token (the step) and the time to first token (one prompt's prefill, alone, plus a step).

``B / output tokens`` requests finish every step, and requests/s never falls as the batch grows, so the
capacity is the largest batch that meets the target, found in closed form (every bound is linear in
``B``). Everything here is a pure function of arrays over devices (numpy, no catalog; ``serving_catalog``
reads catalog rows into it): tests/test_serving.py checks its physics over the whole catalog. The two
efficiencies (maths; decode's reads) are fitted on measured results (``devices``), each at most 1.

At efficiencies up to 1 the capacity is never above the compute ceiling (peak over a request's FLOP) nor
the memory ceiling (bandwidth over a request's bytes at the largest batch the memory holds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..scenario import LATENCY_TARGETS

#: Bytes per weight in each serving precision (the formats a scenario may choose).
FORMAT_BYTES = {"bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "fp4": 0.5, "int4": 0.5}
#: The KV cache is counted in 16 bits whatever the weights' format. The runs the decode-read efficiency is
#: fitted on keep it in 8 bits (NVIDIA's MLPerf Llama-2-70B is quantized with ``--qformat=fp8
#: --kv_cache_dtype=fp8``: MLCommons' mlperf-automations, script/get-ml-model-llama2/run-nvidia.sh; so do
#: InferenceX's recipes), so the fitted efficiency is per 16-bit byte and the reads' time of an 8-bit cache
#: comes out as measured; what 16 bits overstate is the memory a sequence holds, which caps the batch
#: early where memory binds (long contexts on small devices): the conservative side. A deployment that
#: keeps its cache in 16 bits reads twice the bytes of the fitted runs, which the model does not see.
KV_BYTES = 2.0
#: Bytes per activation a tensor-parallel all-reduce carries (16 bits: the stacks reduce in BF16 whatever
#: the weights' format).
ACTIVATION_BYTES = 2.0
#: Share of each device's memory the weights may fill when counting the fewest devices per copy: placement's
#: MEMORY_HEADROOM (tests/test_serving.py holds the two equal).
WEIGHTS_HEADROOM = 0.8
#: Share of a copy's device memory that weights and KV cache may fill; the rest is activations and
#: workspace. vLLM's default ``gpu_memory_utilization`` is 0.9.
KV_HEADROOM = 0.9
#: Catalog device columns whose peak each format's maths runs at, in order. 8-bit formats take the FP8 or
#: INT8 peak (the catalog's schema: "where [the FP8 peak] is omitted FP8 work runs at the INT8 peak";
#: Gaudi's only 8-bit format is FP8); without either, the weights are kept in 8 bits and the maths runs
#: at the 16-bit peak (weight-only quantization: never faster than a published peak). FP4 takes an FP4
#: peak, else an 8-bit one, else a 16-bit one, likewise. 16-bit maths needs a 16-bit peak: an NPU that
#: publishes only INT8 cannot run a model in BF16. INT8 work takes the faster of the INT8 and FP8 peaks where
#: a device publishes both (``peak_used``): a model quantized to 8 bits is served in the device's faster
#: 8-bit format, and Blackwell Ultra (B300, GB300) cut INT8 to about 150 TOPS beside 4.5-5 PFLOPS of FP8.
PEAK_COLUMNS = {
    "bf16": ("peak_bf16_tflops", "peak_fp16_tflops"),
    "fp16": ("peak_fp16_tflops", "peak_bf16_tflops"),
    "fp8": ("peak_fp8_tflops", "peak_int8_tops", "peak_bf16_tflops", "peak_fp16_tflops"),
    "int8": ("peak_int8_tops", "peak_fp8_tflops", "peak_bf16_tflops", "peak_fp16_tflops"),
    "fp4": ("peak_fp4_tflops", "peak_fp8_tflops", "peak_int8_tops", "peak_bf16_tflops", "peak_fp16_tflops"),
}
COLUMN_FORMATS = {
    "peak_bf16_tflops": "BF16",
    "peak_fp16_tflops": "FP16",
    "peak_fp8_tflops": "FP8",
    "peak_int8_tops": "INT8",
    "peak_fp4_tflops": "FP4",
}
FORMAT_NAMES = {"bf16": "BF16", "fp16": "FP16", "fp8": "FP8", "int8": "INT8", "fp4": "FP4", "int4": "INT4"}


def serving_format(precision: str | None, workload_precision: str) -> str:
    """The format a deployment runs: the scenario's choice, or the workload's own for ``auto``/None."""
    p = (precision or "auto").lower()
    if p == "auto":
        p = str(workload_precision).lower()
    for key in FORMAT_BYTES:  # "fp8 (weights)" and the like
        if key in p:
            return key
    return "bf16"


def peak_flops(device: Any, fmt: str) -> float:
    """A device's peak in FLOP/s for a format's maths (``PEAK_COLUMNS``' order); NaN where none applies.

    ``device`` is a catalog device row (a pandas Series or a namedtuple).
    """
    return peak_used(device, fmt)[0]


def peak_used(device: Any, fmt: str) -> tuple[float, str]:
    """(peak in FLOP/s, the format whose peak it is) for a format's maths; (NaN, "") where none applies."""
    if fmt == "int8":  # the faster 8-bit peak where both are published (PEAK_COLUMNS)
        both = [
            (float(v) * 1e12, COLUMN_FORMATS[c])
            for c in ("peak_int8_tops", "peak_fp8_tflops")
            if (v := getattr(device, c, None)) is not None and v == v and float(v) > 0
        ]
        if both:
            return max(both, key=lambda p: p[0])
    for col in PEAK_COLUMNS.get(fmt, ()):
        v = getattr(device, col, None)
        if v is not None and v == v and float(v) > 0:
            return float(v) * 1e12, COLUMN_FORMATS[col]
    return math.nan, ""


@dataclass(frozen=True)
class Architecture:
    """What the serving model needs of an LLM, from the workload's sourced records."""

    layers: float
    kv_heads: float
    head_dim: float
    attention_heads: float
    total_params: float
    active_params: float  # = total for a dense model; fewer for a mixture of experts

    @classmethod
    def of(cls, workload: Any) -> Architecture | None:
        """From a catalog workload row; None where it is not an LLM (any figure missing)."""
        vals = [getattr(workload, k, None) for k in ("layers", "kv_heads", "head_dim", "attention_heads")]
        total = getattr(workload, "parameters", None)
        active = getattr(workload, "active_parameters", None)
        if active is None or active != active:
            active = total
        if any(v is None or v != v or v <= 0 for v in [*vals, total, active]):
            return None
        return cls(*(float(v) for v in vals), float(total), float(active))

    def kv_bytes_per_token(self, kv_bytes: float = KV_BYTES) -> float:
        """Keys and values of every layer for one token: 2 x layers x KV heads x head dim x bytes."""
        return 2.0 * self.layers * self.kv_heads * self.head_dim * kv_bytes

    @property
    def attention_width(self) -> float:
        return self.attention_heads * self.head_dim

    def prefill_flop(self, input_tokens: float) -> float:
        """FLOP to prefill one prompt: 2 x active parameters per token, plus causal attention (QK^T and
        AV over half the square: 2 x layers x heads x head dim x I^2)."""
        i = float(input_tokens)
        return 2.0 * self.active_params * i + 2.0 * self.layers * self.attention_width * i * i

    def decode_flop(self, context: float) -> float:
        """FLOP for one output token of one sequence at a context length: 2 x active parameters plus
        attention over the context (4 x layers x heads x head dim x context)."""
        return 2.0 * self.active_params + 4.0 * self.layers * self.attention_width * float(context)


@dataclass(frozen=True)
class Target:
    """A latency target: time per output token and time to first token (inf: no bound)."""

    name: str = "batch"
    tpot_s: float = math.inf
    ttft_s: float = math.inf

    @classmethod
    def of(cls, name: str, tokens_per_s_per_user: float | None = None, ttft_s: float | None = None) -> Target:
        """A preset (``explorer.scenario.LATENCY_TARGETS``), or ``custom`` with its two figures (a None
        figure: no bound)."""
        if name == "custom":
            tps = tokens_per_s_per_user
            return cls(
                "custom",
                1.0 / tps if tps is not None and tps > 0 else math.inf,
                ttft_s if ttft_s is not None and ttft_s > 0 else math.inf,
            )
        preset = LATENCY_TARGETS[name]
        tps, ttft = preset["tokens_per_s_per_user"], preset["ttft_s"]
        return cls(name, 1.0 / tps if tps else math.inf, ttft if ttft else math.inf)

    @classmethod
    def measured(cls, tpot_ms: Any, ttft_ms: Any) -> Target | None:
        """The bounds a measured result met (its p99 time per output token and to first token, in ms),
        or None where it states neither (an Offline run)."""

        def s(x: Any) -> float:
            return float(x) / 1000 if x is not None and x == x and float(x) > 0 else math.inf

        t = cls("as measured", s(tpot_ms), s(ttft_ms))
        return t if t.bounded else None

    @property
    def bounded(self) -> bool:
        return math.isfinite(self.tpot_s) or math.isfinite(self.ttft_s)

    def words(self) -> str:
        parts = []
        if math.isfinite(self.tpot_s):
            parts.append(f"{1 / self.tpot_s:.3g} tokens/s per user")
        if math.isfinite(self.ttft_s):
            parts.append(f"first token within {self.ttft_s:.3g} s")
        return ", ".join(parts) or "no latency bound (batch)"


@dataclass(frozen=True)
class Capacity:
    """Requests/s per device serving an LLM at a target, over devices (arrays), and what limits it."""

    rps: np.ndarray  # requests/s per device at the best batch meeting the target; NaN: unavailable
    batch: np.ndarray  # sequences in flight per model copy
    compute_rps: np.ndarray  # compute ceiling per device (efficiency 1)
    memory_rps: np.ndarray  # memory ceiling per device (efficiency 1, at the largest batch memory holds)
    max_batch: np.ndarray  # the largest batch the memory left for KV cache holds
    tpot_s: np.ndarray  # time per output token a user sees at that batch
    ttft_s: np.ndarray  # time to first token at that batch
    step_alone_s: np.ndarray  # one sequence's decode step: the fastest any user gets (the fixed time too)
    limit: list[str]  # what bounds the batch, in words ("" where unavailable)
    reason: list[str]  # why a device is unavailable ("" where it is available)
    extra: dict[str, Any] = field(default_factory=dict)
    link_s: Any = 0.0  # a step's all-reduces over the host's PCIe, whatever the batch (in tpot_s; 0: none)


@dataclass(frozen=True)
class PcieLink:
    """Tensor-parallel all-reduces over the host's PCIe, which a copy past its scale-up domain pays on top of
    its stack's fixed step (``catalog/assumptions/serving.toml``: ``pcie_allreduce_latency_per_rank`` and
    ``pcie_allreduce_bus_bandwidth``). An all-reduce of S bytes over n ranks takes ``(n - 1) x hop_s`` plus
    ``2 (n - 1) / n x S / bus_bandwidth`` (NCCL's ring: its bus bandwidth is the algorithm's times
    2 (n - 1) / n); a layer takes two (after attention and after the MLP) of each token's activations
    (``ACTIVATION_BYTES`` x the model's width). Inside the domain the stack's fixed step holds them: it was
    measured on copies tensor-parallel over NVLink, Infinity Fabric, NeuronLink."""

    hop_s: float  # seconds per rank past the first, per all-reduce (the small-message latency)
    bus_bandwidth: float  # bytes/s, NCCL's bus bandwidth over PCIe

    def times(self, arch: Architecture, d: np.ndarray, domain: np.ndarray, i: float, o: float) -> tuple:
        """(per step, per sequence in a step, one prompt's prefill) in seconds, over copies of ``d`` devices
        (0 where a copy stays inside its ``domain``): a step's tokens are each sequence's one plus its share
        of a newcomer's prompt (i / o, chunked prefill), as the step's maths are counted."""
        ranks = np.where(d > domain + 1e-9, np.ceil(d - 1e-9), 1.0)
        hops = 2.0 * arch.layers * (ranks - 1.0)  # two all-reduces a layer, each its ranks' hops
        per_token = 2.0 * arch.layers * ACTIVATION_BYTES * arch.attention_width * 2.0 * (ranks - 1.0) / ranks
        fixed = hops * self.hop_s
        return (
            fixed,
            per_token * (1.0 + i / o) / self.bus_bandwidth,
            fixed + per_token * i / self.bus_bandwidth,
        )


def _arr(x: Any, n: int) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    return np.broadcast_to(a, (n,)).astype(float) if a.ndim == 0 else a.astype(float)


def capacity(
    arch: Architecture,
    *,
    peak: Any,
    bandwidth: Any,
    memory: Any,
    devices_per_copy: Any = 1.0,
    input_tokens: float,
    output_tokens: float,
    weight_bytes: float,
    target: Target = Target(),
    compute_efficiency: Any = 1.0,
    memory_efficiency: Any = None,
    headroom: float = KV_HEADROOM,
    fmt: str = "",
    fixed_step_s_per_layer: Any = 0.0,
    sequence_s_per_layer: Any = 0.0,
    domain: Any = math.inf,
    pcie: PcieLink | None = None,
) -> Capacity:
    """Serving capacity over devices: ``peak`` FLOP/s, ``bandwidth`` bytes/s and ``memory`` bytes per
    device (arrays or scalars), ``devices_per_copy`` devices per model copy; the request's tokens; the
    weights' bytes per parameter; a latency target, the two phases' efficiencies (each at most 1) and the
    serving stack's fixed time per decode step and layer (seconds, one for all or one per device; 0: none,
    the physics alone) and its time per sequence in a step and layer (device-seconds, spread over the
    copy's devices like its reads; 0: none). A copy on more devices than its scale-up ``domain`` joins
    (one for all or one per device) runs its all-reduces over the host's PCIe (``pcie``; None: free, the
    physics alone), serialised with its reads and maths.
    """
    peak_a = np.asarray(peak, dtype=float)
    n = int(max(peak_a.size, np.asarray(bandwidth).size, np.asarray(memory).size))
    n = max(n, np.asarray(devices_per_copy).size)
    p1, bw1, mem1 = _arr(peak, n), _arr(bandwidth, n), _arr(memory, n)
    d = _arr(devices_per_copy, n)
    e_pf = np.minimum(_arr(compute_efficiency, n), 1.0)  # prefill, and decode's maths
    e_m = e_pf if memory_efficiency is None else np.minimum(_arr(memory_efficiency, n), 1.0)  # decode's reads
    i, o = float(input_tokens), float(output_tokens)
    kv = arch.kv_bytes_per_token()
    ctx_end = i + o
    ctx_dec = i + (o + 1.0) / 2.0  # mean context over the decode steps
    weights = arch.total_params * weight_bytes
    f_pf = arch.prefill_flop(i)
    f_tok = arch.decode_flop(ctx_dec)
    # a step's fixed time, whatever the batch
    f = arch.layers * np.maximum(_arr(fixed_step_s_per_layer, n), 0.0)
    # each sequence's share of a step beyond its reads and maths, whatever its context (device-seconds)
    g = arch.layers * np.maximum(_arr(sequence_s_per_layer, n), 0.0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        p, bw, mem = p1 * d, bw1 * d, mem1 * d  # the copy's
        # sequences as a continuous count (at least 1): a whole-sequence floor would let a copy on more
        # devices lose less to rounding, and a bigger model serve more per device
        b_max = (mem * headroom - weights) / (kv * ctx_end)
        timed = (p1 > 0) & (bw1 > 0)  # a peak in the format and a bandwidth: steps can be timed
        t_pf = f_pf / (p * e_pf)  # one prompt's prefill
        # a step's weight read: at the rated bandwidth beside a fixed step time (the two were measured as a
        # pair: the fixed time is what a batch-1 step takes beyond reading the weights at the rated
        # bandwidth, ``catalog/assumptions/serving.toml``), else at the decode-read efficiency
        a = np.where(f > 0, weights / bw, weights / (bw * e_m))
        # a step's time per sequence: its KV read, and the stack's own per-sequence time on the copy's devices
        b = kv * ctx_dec / (bw * e_m) + g / d
        # a step's maths per sequence: its token, and 1 / output tokens of a newcomer's prompt (chunked
        # prefill: the prompts of the sequences that replace those finishing ride in the decode steps)
        c = f_tok / (p * e_pf) + t_pf / o
        t_first = np.maximum(t_pf, a) + f  # one prompt alone reads the weights too, and has the fixed time
        link = np.zeros(n)  # a step's all-reduces over PCIe, whatever the batch
        if pcie is not None:  # past the domain: neither reads nor maths overlap the all-reduces
            link, e, t_link = pcie.times(arch, d, _arr(domain, n), i, o)
            f, b, c, t_first = f + link, b + e, c + e, t_first + t_link
        bounds = {"memory for the KV cache": b_max}
        if math.isfinite(target.tpot_s):
            tp = target.tpot_s - f
            bounds["time per output token"] = np.minimum((tp - a) / b, tp / c)
        if math.isfinite(target.ttft_s):
            room = target.ttft_s - t_first - f
            bounds["time to first token"] = np.minimum((room - a) / b, room / c)
        names = list(bounds)
        stack = np.vstack([np.asarray(bounds[k], float) for k in names])
        stack = np.where(np.isnan(stack), -np.inf, stack)
        which = np.argmin(stack, axis=0)
        batch = np.min(stack, axis=0)
        ok = (batch >= 1) & timed
        batch = np.where(ok, batch, np.nan)
        step = f + np.maximum(a + b * batch, c * batch)  # reads and maths overlap within a step
        rps = batch / (o * step) / d  # every step, batch / output tokens requests finish
        compute_rps = p1 / (f_pf + o * f_tok)
        memory_rps = np.where(
            b_max >= 1, bw / (o * (weights / np.maximum(b_max, 1.0) + kv * ctx_dec)) / d, 0.0
        )
        tpot = step
        ttft = t_first + step
        alone = f + np.maximum(a + b, c)
    limit, reason = [], []
    name = FORMAT_NAMES.get(fmt, fmt or "this precision")
    for k in range(n):
        if ok[k]:
            reason.append("")
            limit.append(f"{names[which[k]]} (batch {int(batch[k]):,} per copy)")
            continue
        limit.append("")
        reason.append(
            _why_not(
                arch,
                k,
                name,
                p1,
                bw1,
                mem1,
                d,
                b_max,
                weights,
                kv,
                ctx_end,
                a,
                b,
                c,
                f[k],
                link[k],
                t_first,
                target,
            )
        )
    return Capacity(
        rps=rps,
        batch=batch,
        compute_rps=compute_rps,
        memory_rps=memory_rps,
        max_batch=b_max,
        tpot_s=tpot,
        ttft_s=ttft,
        step_alone_s=np.where(timed, alone, np.nan),
        limit=limit,
        reason=reason,
        link_s=link,
    )


def _why_not(
    arch: Architecture,
    k: int,
    fmt_name: str,
    peak: np.ndarray,
    bw: np.ndarray,
    mem: np.ndarray,
    d: np.ndarray,
    b_max: np.ndarray,
    weights: float,
    kv: float,
    ctx_end: float,
    a: np.ndarray,
    b: np.ndarray,
    c: np.ndarray,
    f: float,
    link: float,
    t_first: np.ndarray,
    target: Target,
) -> str:
    """Why no batch of at least one sequence serves this request on device ``k``, in words."""
    # a copy past its scale-up domain spans its weights' share of devices, not a whole count (copy_devices)
    whole = abs(d[k] - round(d[k])) < 1e-9
    copies = (
        "one device" if d[k] <= 1 else f"{round(d[k])} devices" if whole else f"{d[k]:.2g} devices' worth"
    )
    if not peak[k] > 0:
        return f"no published {fmt_name} peak to run the model in {fmt_name}"
    if not bw[k] > 0:
        return "no published memory bandwidth to time the decode steps"
    if not mem[k] > 0:
        return "no published memory to hold the model's weights and KV cache"
    if not b_max[k] >= 1:
        return (
            f"the {weights / 1e9:,.1f} GB of weights leave no room in {copies} "
            f"({mem[k] * d[k] / 1e9:,.0f} GB, {KV_HEADROOM:.0%} usable) for one sequence's KV cache "
            f"({kv * ctx_end / 1e9:,.2f} GB)"
        )
    alone = f + max(a[k] + b[k], c[k])  # one sequence's step
    if math.isfinite(target.ttft_s) and t_first[k] + alone > target.ttft_s:
        return (
            f"the first token takes {t_first[k] + alone:.2g} s even alone, over the "
            f"{target.ttft_s:g} s target"
        )
    if math.isfinite(target.tpot_s):
        fixed = f" and takes {f * 1e3:.3g} ms of fixed time" if f > 0 else ""
        if link > 0:
            fixed += f", {link * 1e3:.2g} ms of it all-reduces over the host's PCIe"
        return (
            f"even one user gets {1 / alone:.3g} tokens/s (a step reads {weights / 1e9:,.1f} GB of weights "
            f"over {copies}{fixed}), under the {1 / target.tpot_s:.3g} tokens/s per user target"
        )
    return "no batch of one sequence fits"  # pragma: no cover


def ceilings(cap: Capacity) -> tuple[np.ndarray, np.ndarray]:
    """(compute ceiling, memory ceiling) in requests/s per device."""
    return cap.compute_rps, cap.memory_rps

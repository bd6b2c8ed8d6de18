"""Time the catalog's workloads at fixed batch sizes: warm-up, then a timed window with power sampled.

One iteration serves one batch of whole requests in the catalog's units: a batch of images (ResNet-50),
of 384-token sequences (BERT-Large), of prompts prefilled and then decoded token by token with a KV
cache (Llama-3.1-8B: 1,064 prompt tokens, 128 generated), or of 30 s audio windows encoded and then
transcribed token by token with self- and cross-attention caches (Whisper large-v3: 4 task tokens, 80
generated). Throughput is requests per second over the timed window; latency is the time of one
iteration (every request of the batch finishes with it).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .power import PowerReading, PowerSampler

DTYPES = {"bf16": "bfloat16", "fp16": "float16"}


@dataclass(frozen=True)
class Workload:
    """What one request of a catalog workload is, as this script builds it."""

    id: str
    what: str  # the request as measured, for the row's method text
    batch_sizes: tuple[int, ...]  # defaults on a GPU
    iterations: int
    skip: str | None = None  # why it is not measured by this script


WORKLOADS: dict[str, Workload] = {
    w.id: w
    for w in (
        Workload(
            "resnet-50",
            "one 224x224 RGB image through ResNet-50 v1.5 (1,000 classes)",
            (1, 8, 32, 128, 256),
            50,
        ),
        Workload(
            "bert-large",
            "one 384-token sequence through BERT-Large (24 layers) with the SQuAD span head",
            (1, 8, 32, 128),
            30,
        ),
        Workload(
            "llama-3.1-8b",
            "one 1,064-token prompt prefilled, then 128 tokens generated greedily with a KV cache, through a "
            "Llama-3.1-8B-shaped decoder (32 layers, hidden 4096, 32 heads, 8 KV heads, FFN 14336, "
            "vocabulary 128256)",
            (1, 8, 32, 64, 128, 256),
            3,
        ),
        Workload(
            "llama-2-70b",
            "",
            (),
            0,
            skip="not measured: one copy needs 138 GB of bf16 weights (68.98 B parameters) plus its KV "
            "cache, more than one GPU holds, and this script runs one GPU (no tensor parallelism); the "
            "catalog also has no mean input length for it",
        ),
        Workload(
            "sdxl",
            "",
            (),
            0,
            skip="not measured: SDXL's UNet (2.6 B parameters, 20 guided steps) and VAE are not written in "
            "this script yet",
        ),
        Workload(
            "whisper-large-v3",
            "one 30 s log-mel window (128 bins x 3,000 frames) through Whisper large-v3's encoder, then "
            "its 4 task tokens prefilled and 80 tokens generated greedily with self- and cross-attention "
            "caches (32+32 layers, d_model 1280, 20 heads, FFN 5120, vocabulary 51,866: 2.74 TFLOP a "
            "request, as the workload counts it)",
            (1, 8, 32, 64, 128, 256),
            3,
        ),
    )
}


@dataclass
class BatchResult:
    workload: str
    batch: int
    iterations: int
    seconds: float
    latencies_s: list[float]
    power: PowerReading
    phases: dict[str, list[float]] = field(default_factory=dict)  # LLM: prefill and decode-step times

    @property
    def requests_per_s(self) -> float:
        return self.batch * self.iterations / self.seconds


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation between order statistics."""
    if not values:
        raise ValueError("no values")
    if len(values) == 1:
        return float(values[0])
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return float(values[0]) if q <= 0 else float(max(values)) if q >= 100 else cuts[int(q) - 1]


class Runner:
    """Builds each workload on a device (``cuda`` or ``cpu``) and times it."""

    def __init__(
        self, device: str, precision: str, tiny: bool, gpu_index: str = "0", eager: bool = False
    ) -> None:
        import torch  # lazily: the package and the test suite need no torch

        self.torch = torch
        self.device = torch.device(device)
        self.dtype = getattr(torch, DTYPES[precision])
        self.tiny = tiny
        self.gpu_index = gpu_index
        # On a GPU, as serving stacks run them: a convnet in channels-last memory (the layout tensor cores
        # take), and an LLM's decode steps replayed as one CUDA graph, so that a step's time is the GPU's
        # work, not Python launching some 600 kernels one by one (18-24 ms a step on an H200 in eager mode,
        # at every batch size, against about 3 ms to read the weights once). ``eager`` turns both off.
        self.serving_habits = self.device.type == "cuda" and not eager
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick its fastest convolutions

    def habits(self, workload: str) -> str:
        """How this runner runs ``workload`` beyond plain eager PyTorch, for the rows' method text."""
        if not self.serving_habits:
            return "PyTorch eager"
        return {
            "resnet-50": "PyTorch eager, channels-last memory format",
            "llama-3.1-8b": "PyTorch eager prefill; the 127 decode steps captured once per batch size as one "
            "CUDA graph and replayed",
            "whisper-large-v3": "PyTorch eager encoder and prompt prefill; the 79 decode steps captured once "
            "per batch size as one CUDA graph and replayed",
        }.get(workload, "PyTorch eager")

    def sync(self) -> None:
        if self.device.type == "cuda":
            self.torch.cuda.synchronize(self.device)

    # -- building: (model-state, step(batch) -> phases dict) --------------------------------------------

    def build(self, workload: str) -> Callable[[int], Callable[[], dict[str, list[float]]]]:
        from . import nets

        torch = self.torch
        dev, dt = self.device, self.dtype
        with torch.device(dev):
            if workload == "resnet-50":
                model = nets.ResNet50(base=8 if self.tiny else 64).to(dt).eval()
                size = 32 if self.tiny else 224
                layout = torch.channels_last if self.serving_habits else torch.contiguous_format
                model = model.to(memory_format=layout)

                def prepare(b: int):
                    x = torch.randn(b, 3, size, size, device=dev, dtype=dt).to(memory_format=layout)
                    return lambda: (model(x), {})[1]

            elif workload == "bert-large":
                dims = (2, 64, 4, 256, 1000, 64) if self.tiny else (24, 1024, 16, 4096, 30522, 512)
                seq = 16 if self.tiny else 384
                model = nets.BertQA(*dims).to(dt).eval()

                def prepare(b: int):
                    ids = torch.randint(0, dims[4], (b, seq), device=dev)
                    return lambda: (model(ids), {})[1]

            elif workload == "llama-3.1-8b":
                shape = nets.LLAMA_TINY if self.tiny else nets.LLAMA_3_1_8B
                prompt, new = (16, 4) if self.tiny else (1064, 128)
                default = torch.get_default_dtype()
                torch.set_default_dtype(dt)  # weights are created in the serving format, on the device
                try:
                    model = nets.Llama(shape).eval()
                finally:
                    torch.set_default_dtype(default)

                def prepare(b: int):
                    cache = model.new_cache(b, prompt + new, dev, dt)
                    ids = torch.randint(0, shape.vocab, (b, prompt), device=dev)
                    first = torch.zeros((b, 1), dtype=torch.long, device=dev)  # the prefill's token

                    def advance(tok, i: int):  # one decode step after the prompt's first token
                        return model(tok, cache, prompt + i).argmax(-1)

                    def prefill() -> None:
                        first.copy_(model(ids, cache, 0).argmax(-1))

                    return self._generation(prefill, advance, first, new - 1)

            elif workload == "whisper-large-v3":
                shape = nets.WHISPER_TINY if self.tiny else nets.WHISPER_LARGE_V3
                prompt, new = 4, (4 if self.tiny else 80)
                default = torch.get_default_dtype()
                torch.set_default_dtype(dt)
                try:
                    model = nets.Whisper(shape).eval()
                finally:
                    torch.set_default_dtype(default)

                def prepare(b: int):
                    mel = torch.randn(b, shape.mels, shape.frames, device=dev, dtype=dt)
                    task = torch.randint(0, shape.vocab, (b, prompt), device=dev)
                    cache = model.new_cache(b, prompt + new, dev, dt)
                    # the cross-attention keys and values live in fixed buffers, which each request's
                    # encoding fills: a captured decode graph reads them where it was captured
                    cross = [(k.clone(), v.clone()) for k, v in model.encode(mel)]
                    first = torch.zeros((b, 1), dtype=torch.long, device=dev)

                    def advance(tok, i: int):
                        return model(tok, cache, cross, prompt + i).argmax(-1)

                    def prefill() -> None:  # the encoder into the cross buffers, then the task tokens
                        for (k, v), (k2, v2) in zip(cross, model.encode(mel), strict=True):
                            k.copy_(k2)
                            v.copy_(v2)
                        first.copy_(model(task, cache, cross, 0).argmax(-1))

                    return self._generation(prefill, advance, first, new - 1)

            else:
                raise ValueError(f"{workload!r} is not built by this script")
        return prepare

    def _generation(
        self, prefill: Callable[[], None], advance: Callable[[Any, int], Any], first: Any, steps: int
    ) -> Callable[[], dict[str, list[float]]]:
        """One request batch of a generative model: ``prefill`` (which writes the first token into ``first``),
        then ``steps`` decode steps, each ``advance(token, i)``, timed per phase. With serving habits the
        steps are captured once as a CUDA graph and replayed (one replay: each step's own time is not seen,
        the mean is)."""

        def decode() -> None:
            tok = first
            for i in range(steps):
                tok = advance(tok, i)

        graph = self._capture(decode) if self.serving_habits else None

        def step() -> dict[str, list[float]]:
            t0 = time.perf_counter()
            prefill()
            self.sync()
            t1 = time.perf_counter()
            times: dict[str, list[float]] = {"prefill_s": [t1 - t0], "decode_step_s": []}
            if graph is not None:
                graph.replay()
                self.sync()
                times["decode_s"] = [time.perf_counter() - t1]
                times["decode_step_s"] = [times["decode_s"][0] / steps]
                return times
            tok = first
            for i in range(steps):
                tok = advance(tok, i)
                self.sync()
                t2 = time.perf_counter()
                times["decode_step_s"].append(t2 - t1)
                t1 = t2
            return times

        return step

    def _capture(self, work: Callable[[], None]):
        """``work`` as a CUDA graph: run once on a side stream (what capture needs first), then captured."""
        torch = self.torch
        side = torch.cuda.Stream(self.device)
        side.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(side):
            work()
        torch.cuda.current_stream(self.device).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            work()
        self.sync()
        return graph

    # -- timing ------------------------------------------------------------------------------------------

    def time_batch(
        self,
        workload: str,
        prepare: Callable[[int], Callable[[], dict[str, list[float]]]],
        batch: int,
        warmup: int,
        iterations: int,
        min_seconds: float,
        sample_power: bool,
    ) -> BatchResult:
        torch = self.torch
        with torch.inference_mode():
            step = prepare(batch)
            for _ in range(warmup):
                step()
            self.sync()
            latencies: list[float] = []
            phases: dict[str, list[float]] = {}
            sampler = PowerSampler(self.gpu_index) if sample_power else None
            if sampler is not None:
                sampler.start()
            try:
                start = time.perf_counter()
                while len(latencies) < iterations or time.perf_counter() - start < min_seconds:
                    t0 = time.perf_counter()
                    for key, values in step().items():
                        phases.setdefault(key, []).extend(values)
                    self.sync()
                    latencies.append(time.perf_counter() - t0)
                seconds = time.perf_counter() - start
            finally:
                power = (
                    sampler.stop()
                    if sampler is not None
                    else PowerReading(None, None, 0, "dry run on the CPU: no GPU, nvidia-smi not sampled")
                )
        return BatchResult(workload, batch, len(latencies), seconds, latencies, power, phases)

    def environment(self) -> dict[str, Any]:
        import platform

        from .power import query_gpu

        torch = self.torch
        env: dict[str, Any] = {"torch": torch.__version__, "python": platform.python_version()}
        if self.device.type == "cuda":
            env["gpu"] = torch.cuda.get_device_name(self.device)
            env["cuda"] = torch.version.cuda
            env["driver"] = query_gpu("driver_version", self.gpu_index) or "unknown (nvidia-smi not readable)"
            env["power_limit"] = query_gpu("power.limit", self.gpu_index)
        else:
            env["gpu"] = f"no GPU; CPU {platform.machine()}"
            env["cuda"] = None
            env["driver"] = None
        return env

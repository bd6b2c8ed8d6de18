"""How a scenario field is declared: `FieldSpec` (doc, unit, bounds, labels, steps, readouts), `declare`
(a dataclass field carrying it), the framework mix, the choices' labels and `ScenarioError`.

``explorer.scenario`` declares the `Scenario` with these; ``explorer.scenario_parse`` reads values into it.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, make_dataclass
from typing import Any

from . import fmt
from .catalog.schema import FRAMEWORKS

FRAMEWORK_LABELS = {
    "tensorflow": "TensorFlow",
    "pytorch": "PyTorch",
    "jax": "JAX",
    "cuda": "CUDA custom kernels",
    "onnx": "ONNX",
    "huggingface": "Hugging Face",
}
DEPLOYMENT_LABELS = {"cloud": "Cloud", "bare-metal": "Bare metal", "edge": "Edge"}
CLOUD_MARKETS = ("major-clouds", "any-provider")
MARKET_LABELS = {"major-clouds": "Major clouds", "any-provider": "Any provider"}
CLOUD_PRICINGS = ("on-demand", "1-year", "3-year", "spot")
PRICING_LABELS = {
    "on-demand": "On-demand",
    "1-year": "1-year commitment",
    "3-year": "3-year commitment",
    "spot": "Spot",
}
VOLUME_EXAMPLES = "50M, 50 M, 2.5 B, 1e9, 200k or 1,000,000"
#: The workload id that means "your model": the custom_* fields describe it (explorer.model.custom).
CUSTOM_WORKLOAD = "custom"
CUSTOM_KINDS = ("llm", "other")
CUSTOM_KIND_LABELS = {"llm": "LLM (tokens in, tokens out)", "other": "Other model (compute per request)"}
PARAMETER_EXAMPLES = "13B, 47 B, 340M or 1.3e10"
#: The custom fields that apply to your model, and to an LLM or another model only.
WHEN_CUSTOM = ("workload", (CUSTOM_WORKLOAD,))
WHEN_CUSTOM_LLM = (WHEN_CUSTOM, ("custom_kind", ("llm",)))
WHEN_CUSTOM_OTHER = (WHEN_CUSTOM, ("custom_kind", ("other",)))
#: The clouds whose list prices count under cloud_market = "major-clouds".
MAJOR_CLOUDS = ("AWS", "Google Cloud", "Microsoft Azure", "Oracle Cloud Infrastructure")
#: The number formats an LLM deployment may run in (explorer.model.serving); auto: each measured device in
#: the formats its run used, every other device in the workload's own.
SERVING_PRECISIONS = ("auto", "bf16", "fp8", "int8", "fp4")
SERVING_PRECISION_LABELS = {
    "auto": "As measured",
    "bf16": "BF16",
    "fp8": "FP8",
    "int8": "INT8",
    "fp4": "FP4",
}
#: Latency presets for LLM serving: tokens per second each user sees and time to first token (None: no
#: bound). From MLPerf Inference v5.1's mlperf.conf for llama3.1-8b (the default workload), p99 bounds:
#: Server TTFT <= 2 s and TPOT <= 100 ms; Interactive TTFT <= 0.5 s and TPOT <= 30 ms
#: (https://github.com/mlcommons/inference_results_v5.1, read 2026-12-03; catalog/incoming/mlperf-v5.md).
LATENCY_TARGETS: dict[str, dict[str, float | None]] = {
    "batch": {"tokens_per_s_per_user": None, "ttft_s": None},
    "server": {"tokens_per_s_per_user": 10.0, "ttft_s": 2.0},
    "interactive-chat": {"tokens_per_s_per_user": 1 / 0.030, "ttft_s": 0.5},
}
LATENCY_TARGET_LABELS = {
    "batch": "Batch (no per-user bound)",
    "server": "Server (10 tokens/s per user, first token in 2 s)",
    "interactive-chat": "Interactive chat (33 tokens/s per user, first token in 0.5 s)",
    "custom": "Custom",
}
WHEN_CUSTOM_LATENCY = (("latency_target", ("custom",)),)


class ScenarioError(ValueError):
    """A scenario value that is not allowed: names the field, the value, and what is allowed.

    The message is one line: a value with line breaks or control characters is shown escaped, a long
    one shortened, a huge integer by its number of digits.
    """

    def __init__(self, field_name: str, value: Any, allowed: str):
        self.field = field_name
        self.value = value
        self.allowed = allowed
        super().__init__(f"{shown_value(field_name, 300)}: {shown_value(value)} is not allowed; {allowed}")


class Described(str):
    """Text that describes a value rather than being one (``malformed JSON (...)``): shown whole."""


#: What a name may not hold: control characters, line and paragraph separators, the text-direction
#: controls (a right-to-left override makes a name read otherwise than it is) and lone surrogates (no
#: UTF-8 form: a link, CSV or report holding one cannot be written).
UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")


def float_text(value: float) -> str:
    """A float as people and links write it: a whole number without ".0" (2000000000, -3), any other as
    Python's shortest exact form; past 2^53 a float is not every integer, and repr keeps it exact."""
    return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)


def visible(text: str) -> bool:
    """Whether text shows anything: a character that is not a space, a separator or an invisible format
    character (a zero-width space alone is no name)."""
    return any(unicodedata.category(c)[0] not in "ZC" for c in text)


def shown_value(value: Any, limit: int = 80) -> str:
    """A value as an error message shows it: on one line, at most about `limit` characters."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"a number of about {int(value.bit_length() * 0.30103) + 1:,} digits"
    if isinstance(value, Described):
        return UNPRINTABLE.sub("?", value)
    if isinstance(value, str):
        text = value if visible(value) and not UNPRINTABLE.search(value) else repr(value)
    elif isinstance(value, float):
        text = float_text(value)  # what was typed: -3, not -3.0
    else:
        try:
            text = repr(value)
        except (RecursionError, ValueError):
            text = f"a {type(value).__name__} too large to show"
        text = UNPRINTABLE.sub("?", text)
    if len(text) > limit:
        text = f"{text[: limit - 20]}... ({len(text):,} characters)"
    return text


@dataclass(frozen=True)
class FieldSpec:
    """What one scenario field is: read from the dataclass metadata, never typed twice."""

    name: str
    label: str
    doc: str
    unit: str
    kind: str  # "float" | "int" | "choice" | "id" | "mix" | "text"
    default: Any
    bounds: tuple[float, float] | None = None
    choices: tuple[str, ...] = ()
    scale: str = "linear"  # "log" for request volume
    group: str = "main"  # "main" controls, or "assumptions"
    from_catalog: str = ""  # where a None default comes from
    human_count: bool = False  # text may be written as 50M, 2.5 B, 1e9, 200k, 1,000,000 (parse_volume)
    #: How each choice (or each part of a mix) reads for people: ((value, label), ...); unlisted: the value.
    choice_labels: tuple[tuple[str, str], ...] = ()
    #: A slider's step; None: 0.01 of a decade on a log scale, else 0.05 up to a bound of 1, else 0.1.
    step: float | None = None
    #: The figure in words under the control: value -> text (HTML-safe), e.g. "quarterly (4 per year)".
    readout: Callable[[Any], str] | None = None
    #: For a human count: a text box beside the slider, (placeholder, tooltip); empty: none.
    typed: tuple[str, str] = ()
    #: For a human count: how it may be written, as the error message says; empty: a generic list.
    examples: str = ""
    #: For an "id": the catalog table (a `Catalog` attribute with an ``id`` column) the ids come from.
    ids: str = ""
    #: For an "id" whose default is None: the label of the choice that means none (e.g. "(none)").
    none_choice: str = ""
    #: For an "id": values allowed beside the catalog table's ids, ((value, label), ...): "Your model...".
    extra_ids: tuple[tuple[str, str], ...] = ()
    #: The field applies, and its control is shown, only while each named field holds one of the values:
    #: ((field, (value, ...)), ...); empty: always. A field that does not apply keeps its value (in links
    #: and JSON) and the model does not read it.
    visible_when: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: Where the field applies, an empty (None) value is refused, and this says why it is needed.
    required_when_shown: str = ""
    #: The name of the field whose value this one may not exceed (active parameters <= total parameters).
    at_most: str = ""
    #: A number that must be whole (layers, tokens).
    whole: bool = False
    #: For a "text": the most characters it may hold.
    max_length: int = 0
    #: For an optional field (default None): what empty means, as its box's placeholder says it.
    empty_means: str = ""

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def label_of(self, choice: str) -> str:
        """How one choice reads for people ("Bare metal" for bare-metal)."""
        return dict(self.choice_labels).get(choice, choice)

    @property
    def slider_step(self) -> float:
        if self.step is not None:
            return self.step
        if self.scale == "log":
            return 0.01
        return 0.05 if self.bounds is not None and self.bounds[1] <= 1 else 0.1

    def shown(self, values: Mapping[str, Any]) -> bool:
        """Whether the field applies (and its control is shown) given the other fields' `values`."""
        return all(values.get(other) in allowed for other, allowed in self.visible_when)

    def show(self, value: Any) -> str:
        """A value as a message shows it to people: a count in words with its unit (100 M requests/day), a
        number with its unit (4 changes/year; a fraction bare), a choice as it is written in a link."""
        if self.kind not in ("float", "int") or not isinstance(value, int | float) or isinstance(value, bool):
            return str(value)
        text = fmt.volume(value) if self.human_count else _num(value)
        return f"{text} {self.unit}" if self.unit and self.unit != "fraction" else text

    def describe_allowed(self) -> str:
        if self.kind == "text":
            return (
                f"allowed: a name of 1 to {self.max_length} characters with at least one visible, without "
                "line breaks, control or text-direction characters"
            )
        if self.kind == "choice":
            return "allowed: " + ", ".join(self.choices)
        if self.kind == "mix":
            return (
                "allowed: non-negative weights for "
                + ", ".join(self.choices)
                + ", not all zero, e.g. pytorch=0.6,onnx=0.4"
            )
        if self.kind == "id":
            extra = "".join(f", or {value} ({label})" for value, label in self.extra_ids)
            none = ", or empty for none" if self.default is None else ""
            return f"allowed: an id from the catalog{extra}{none}"
        assert self.bounds is not None
        lo, hi = self.bounds
        number = "a whole number" if self.whole else "a number"
        allowed = f"allowed: {number} from {_num(lo)} to {_num(hi)} {self.unit}".rstrip()
        if self.empty_means:
            allowed += f", or empty ({self.empty_means})"
        if self.human_count:
            examples = self.examples or "1000, 2.5k, 1,000,000 or 1M"
            allowed += f", written like {examples}"
        return allowed


def _num(x: float) -> str:
    if x != 0 and (abs(x) >= 1e6 or abs(x) < 1e-3):
        return f"{x:,.0f}" if abs(x) >= 1e6 else f"{x:g}"
    return f"{x:g}"


def declare(
    default: Any,
    label: str,
    doc: str,
    unit: str,
    kind: str = "float",
    *,
    bounds: tuple[float, float] | None = None,
    choices: tuple[str, ...] = (),
    scale: str = "linear",
    group: str = "main",
    from_catalog: str = "",
    human_count: bool = False,
    **presentation: Any,
) -> Any:
    """A scenario field; `presentation` takes FieldSpec's other fields (choice_labels, step, readout, ...)."""
    meta = {
        "human_count": human_count,
        "label": label,
        "doc": doc,
        "unit": unit,
        "kind": kind,
        "bounds": bounds,
        "choices": choices,
        "scale": scale,
        "group": group,
        "from_catalog": from_catalog,
        **presentation,
    }
    if isinstance(default, dict):
        frozen = dict(default)
        return field(default_factory=lambda: FrameworkMix.of(frozen), metadata=meta)
    return field(default=default, metadata=meta)


class _Shares:
    """Shares of the team's model code per framework, normalised to sum to 1.

    One float field per framework of `FRAMEWORKS` (declared in ``explorer.catalog.schema``), 0 by default:
    `FrameworkMix` is this class made a frozen dataclass with those fields, below.
    """

    @classmethod
    def of(
        cls, weights: Mapping[str, Any] | FrameworkMix | str, field_name: str = "framework_mix"
    ) -> FrameworkMix:
        """From weights per framework (a mapping, or text as `parse` takes it), normalised to shares.

        Weights may be any non-negative finite numbers, however large: they are scaled by the largest
        before summing, so ``pytorch=1e308,jax=1e308`` is half and half, not an overflow to nothing.
        """
        if isinstance(weights, FrameworkMix):
            weights = weights.as_dict()
        if isinstance(weights, str):
            return cls.parse(weights, field_name)
        if not isinstance(weights, Mapping):
            from .scenario import FIELD_SPECS  # the declaration, which imports this module

            raise ScenarioError(field_name, weights, FIELD_SPECS["framework_mix"].describe_allowed())
        clean: dict[str, float] = {}
        for name, w in weights.items():
            if name not in FRAMEWORKS:
                raise ScenarioError(f"{field_name}.{name}", w, "allowed frameworks: " + ", ".join(FRAMEWORKS))
            try:
                value = float(w)
            except (TypeError, ValueError, OverflowError):
                raise ScenarioError(
                    f"{field_name}.{name}", w, "allowed: a non-negative finite number, e.g. 0.6"
                ) from None
            if isinstance(w, bool) or not math.isfinite(value) or value < 0:
                raise ScenarioError(f"{field_name}.{name}", w, "allowed: a non-negative finite number")
            clean[name] = value
        largest = max(clean.values(), default=0.0)
        if largest <= 0:
            raise ScenarioError(field_name, dict(weights), "the shares must not all be zero")
        if largest <= 1.0 and abs(math.fsum(clean.values()) - 1.0) < 1e-9:
            return cls(**clean)  # already shares: keep them bit for bit (lossless round trips)
        # Scale by the largest first: the sum of the scaled weights lies in [1, len(FRAMEWORKS)], so it
        # cannot overflow (1e308 + 1e308 is inf) nor underflow, and every share is finite.
        scaled = {k: v / largest for k, v in clean.items()}
        total = math.fsum(scaled.values())
        return cls(**{k: v / total for k, v in scaled.items()})

    @classmethod
    def parse(cls, text: str, field_name: str = "framework_mix") -> FrameworkMix:
        """``pytorch=0.6,onnx=0.4`` (weights; normalised). ``pytorch`` alone means all PyTorch."""
        weights: dict[str, Any] = {}
        for part in filter(None, (p.strip() for p in str(text).split(","))):
            name, sep, w = part.partition("=")
            if not sep:
                name, sep, w = part.partition(":")
            name = name.strip().lower()
            if not sep and name not in FRAMEWORKS:  # "jax 0.5 pytorch 0.5": not name=share pairs
                raise ScenarioError(
                    field_name,
                    text,
                    "allowed: name=share pairs joined by commas, e.g. pytorch=0.6,onnx=0.4 (a name alone "
                    "means all of it); frameworks: " + ", ".join(FRAMEWORKS),
                )
            if name in weights:
                raise ScenarioError(f"{field_name}.{name}", text, "each framework may appear once")
            weights[name] = w.strip() if sep else 1.0
        return cls.of(weights, field_name)

    def as_dict(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in FRAMEWORKS}

    def __str__(self) -> str:
        """Lossless text, as the CLI and URLs take it: ``pytorch=0.75,jax=0.25``."""
        return ",".join(f"{k}={v!r}" for k, v in self.as_dict().items() if v > 0)

    def label(self) -> str:
        """For people: ``PyTorch 75 %, JAX 25 %``."""
        return ", ".join(f"{FRAMEWORK_LABELS[k]} {v:.0%}" for k, v in self.as_dict().items() if v > 0)

    def __iter__(self) -> Iterator[tuple[str, float]]:
        return iter(self.as_dict().items())


FrameworkMix = make_dataclass(
    "FrameworkMix",
    [(name, float, 0.0) for name in FRAMEWORKS],
    bases=(_Shares,),
    frozen=True,
)
FrameworkMix.__module__, FrameworkMix.__doc__ = __name__, _Shares.__doc__


def volume_readout(v: float) -> str:
    return f"<b>{fmt.volume(v)}</b> requests/day"


def sites_readout(v: float) -> str:
    return f"{fmt.count(v)} sites"


def parameters_readout(v: float) -> str:
    return f"<b>{fmt.volume(v)}</b> parameters"

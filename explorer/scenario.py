"""The deployment scenario, declared once.

Every input carries its doc, unit, default and bounds in its field's metadata (Param's ``bounds=``/``doc=``
habit), and how it is shown: its choices' labels, slider step, readout in words and the catalog table its
ids come from. The CLI flags, JSON files, URL query strings and the widgets are all generated from, and
validated against, this one declaration: no bound or label is typed twice, and adding a field is one edit
(its ``_f(...)`` here) plus its use in the model. The frameworks and deployments are declared once, in the
catalog layer (``explorer.catalog.schema``), and read from there.

Fields left at ``None`` take their value from the catalog (the region's electricity price and grid carbon
intensity, the deployment's PUE, the sourced engineer-day cost); ``explorer.calc`` says which it used.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import MISSING, dataclass, field, fields, make_dataclass, replace
from typing import Any
from urllib.parse import parse_qsl, urlencode

from . import fmt
from .catalog.schema import DEPLOYMENTS, FRAMEWORKS

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
VOLUME_EXAMPLES = "50M, 50 M, 2.5 B, 1e9, 200k or 1,000,000"
#: The clouds whose list prices count under cloud_market = "major-clouds".
MAJOR_CLOUDS = ("AWS", "Google Cloud", "Microsoft Azure", "Oracle Cloud Infrastructure")


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


_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def shown_value(value: Any, limit: int = 80) -> str:
    """A value as an error message shows it: on one line, at most about `limit` characters."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"a number of about {int(value.bit_length() * 0.30103) + 1:,} digits"
    if isinstance(value, Described):
        return _UNPRINTABLE.sub("?", value)
    if isinstance(value, str):
        text = value if value.strip() and not _UNPRINTABLE.search(value) else repr(value)
    else:
        try:
            text = repr(value)
        except (RecursionError, ValueError):
            text = f"a {type(value).__name__} too large to show"
        text = _UNPRINTABLE.sub("?", text)
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
    kind: str  # "float" | "int" | "choice" | "id" | "mix"
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

    def describe_allowed(self) -> str:
        if self.kind == "choice":
            return "allowed: " + ", ".join(self.choices)
        if self.kind == "mix":
            return (
                "allowed: non-negative weights for "
                + ", ".join(self.choices)
                + ", not all zero, e.g. pytorch=0.6,onnx=0.4"
            )
        if self.kind == "id":
            return "allowed: an id from the catalog" + (", or empty for none" if self.default is None else "")
        assert self.bounds is not None
        lo, hi = self.bounds
        allowed = f"allowed: a number from {_num(lo)} to {_num(hi)} {self.unit}".rstrip()
        if self.human_count:
            examples = self.examples or "1000, 2.5k, 1,000,000 or 1M"
            allowed += f", written like {examples}"
        return allowed


def _num(x: float) -> str:
    if x != 0 and (abs(x) >= 1e6 or abs(x) < 1e-3):
        return f"{x:,.0f}" if abs(x) >= 1e6 else f"{x:g}"
    return f"{x:g}"


def _f(
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


def _volume_readout(v: float) -> str:
    return f"<b>{fmt.volume(v)}</b> requests/day"


def _sites_readout(v: float) -> str:
    return f"{fmt.count(v)} sites"


@dataclass(frozen=True)
class Scenario:
    """A deployment scenario: the workload, how much of it, how it changes, where it runs, what it costs."""

    requests_per_day: float = _f(
        1e8,
        "Request volume",
        "Inference requests served per day, averaged over the year",
        "requests/day",
        bounds=(100, 5e11),
        scale="log",
        human_count=True,
        examples=VOLUME_EXAMPLES,
        readout=_volume_readout,
        typed=("or type: 50M, 2.5 B, 1e9", "Type a request volume and press Enter: 50M, 2.5 B, 200k, 1e9"),
    )
    peak_to_average: float = _f(
        2.0,
        "Peak to average",
        "Busiest hour's request rate divided by the average rate; the fleet is sized for the peak",
        "×",
        bounds=(1.0, 10.0),
    )
    workload: str = _f(
        "llama-3.1-8b",
        "Workload",
        "The model served, as a catalog workload id (what one request is comes from the catalog)",
        "",
        "id",
        ids="workloads",
    )
    current_device: str | None = _f(
        None,
        "Your fleet now",
        "The device you run this workload on today, as a catalog device id (empty: none): the headline "
        "then says what the recommendation saves against it, on the same prices and scenario",
        "",
        "id",
        ids="devices",
        none_choice="(none)",
    )
    model_changes_per_year: float = _f(
        4.0,
        "Model changes",
        "How often the model is replaced or retrained (0 = frozen, 52 = weekly); "
        "every change repeats part of the porting work on devices without native support",
        "changes/year",
        bounds=(0.0, 52.0),
        step=1.0,
        readout=fmt.changes_per_year,
    )
    framework_mix: FrameworkMix = _f(
        {"pytorch": 1.0},
        "Framework mix",
        "Shares of the team's model code per framework (weights, normalised to 100 %)",
        "",
        "mix",
        choices=FRAMEWORKS,
        choice_labels=tuple(FRAMEWORK_LABELS.items()),
    )
    deployment: str = _f(
        "cloud",
        "Deployment",
        "Where the fleet runs: rented in a cloud, bought for your own data centre "
        "(bare metal), or at the edge (on site, in devices)",
        "",
        "choice",
        choices=DEPLOYMENTS,
        choice_labels=tuple(DEPLOYMENT_LABELS.items()),
    )
    edge_sites: float = _f(
        1000.0,
        "Edge sites",
        "For an edge deployment: the number of places (stores, cameras, vehicles) that "
        "each need their own device(s); the requests are spread evenly over them",
        "sites",
        bounds=(1.0, 10_000_000.0),
        scale="log",
        human_count=True,
        readout=_sites_readout,
    )
    volume_uncertainty: float = _f(
        0.0,
        "Volume uncertainty",
        "How far the real request volume could land from the figure above, either way, as a share of it "
        "(0 = known); used by the uncertainty analysis only",
        "fraction",
        bounds=(0.0, 0.9),
        group="assumptions",
    )
    cloud_market: str = _f(
        "major-clouds",
        "Cloud prices from",
        "Which on-demand prices count in the cloud: the major clouds' list "
        "prices (AWS, Google Cloud, Microsoft Azure, Oracle), or any provider in the catalog, GPU-only "
        "neoclouds included (cheaper, but the catalog has their prices for a few GPUs only)",
        "",
        "choice",
        choices=CLOUD_MARKETS,
        choice_labels=tuple(MARKET_LABELS.items()),
        group="assumptions",
    )
    training_share: float = _f(
        0.0,
        "Training share",
        "Share of the compute that is training rather than inference (training runs on "
        "GPUs; with accelerators for inference that is the hybrid plan)",
        "fraction",
        bounds=(0.0, 0.95),
        group="assumptions",
    )
    horizon_years: float = _f(
        3.0,
        "Horizon",
        "Years over which costs are totalled",
        "years",
        bounds=(1.0, 10.0),
        group="assumptions",
    )
    region: str = _f(
        "us-virginia",
        "Region",
        "Where the electricity comes from (catalog region id): sets the electricity "
        "price and grid carbon intensity unless you give them",
        "",
        "id",
        group="assumptions",
        ids="regions",
    )
    electricity_usd_per_kwh: float | None = _f(
        None,
        "Electricity price",
        "Price of electricity (empty: the region's price from the catalog)",
        "USD/kWh",
        bounds=(0.0, 2.0),
        group="assumptions",
        from_catalog="region",
    )
    pue: float | None = _f(
        None,
        "PUE",
        "Facility power / IT power (empty: the catalog's default for the deployment: hyperscale "
        "for cloud, enterprise for bare metal, 1.0 at the edge)",
        "×",
        bounds=(1.0, 3.0),
        group="assumptions",
        from_catalog="deployment",
    )
    grid_gco2_per_kwh: float | None = _f(
        None,
        "Grid carbon intensity",
        "Grams of CO2 per kWh of electricity (empty: the region's figure from the catalog)",
        "gCO2/kWh",
        bounds=(0.0, 2000.0),
        group="assumptions",
        from_catalog="region",
    )
    utilization: float = _f(
        0.6,
        "Target utilisation",
        "Share of each device's measured or estimated throughput planned for at "
        "peak (headroom for latency targets and failures)",
        "fraction",
        bounds=(0.05, 1.0),
        group="assumptions",
    )
    engineer_day_usd: float | None = _f(
        None,
        "Engineer-day cost",
        "Fully loaded cost of one ML engineer-day, for porting work (empty: the catalog's sourced estimate)",
        "USD/day",
        bounds=(0.0, 10_000.0),
        group="assumptions",
        from_catalog="assumptions",
    )

    def __post_init__(self) -> None:
        for spec in SPECS:
            value = getattr(self, spec.name)
            object.__setattr__(self, spec.name, _check(spec, value))

    # -- conversions --------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for spec in SPECS:
            value = getattr(self, spec.name)
            out[spec.name] = value.as_dict() if isinstance(value, FrameworkMix) else value
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Scenario:
        """From JSON-like data; a missing key takes its default, an unknown key is an error."""
        if not isinstance(data, Mapping):
            raise ScenarioError("scenario", data, "allowed: a JSON object with the scenario's fields")
        unknown = set(data) - set(FIELD_SPECS)
        if unknown:
            name = sorted(unknown)[0]
            raise ScenarioError(name, data[name], "unknown field; allowed fields: " + ", ".join(FIELD_SPECS))
        return cls(**dict(data))

    @classmethod
    def from_json(cls, text: str) -> Scenario:
        """From JSON text of at most 1 MB, nested at most 32 deep, numbers at most 20 digits.

        Volumes may be numbers or text as `parse_volume` takes it (``"50 M"``); the framework mix an
        object of weights or text (``"pytorch=0.6,onnx=0.4"``).
        """
        from .catalog.files import InputRefused, loads_json

        allowed = "allowed: a JSON object with the scenario's fields"
        try:
            data = loads_json(text)
        except json.JSONDecodeError as err:
            where = f"malformed JSON ({err.msg} at line {err.lineno}, column {err.colno})"
            raise ScenarioError("scenario", Described(where), allowed) from None
        except InputRefused as err:
            raise ScenarioError("scenario", Described("this JSON"), f"it {err}") from None
        return cls.from_dict(data)

    def to_query(self, only_changed: bool = False) -> str:
        """A URL query string holding the whole scenario (or only what differs from the defaults)."""
        default = Scenario()
        pairs = []
        for spec in SPECS:
            value = getattr(self, spec.name)
            if only_changed and value == getattr(default, spec.name):
                continue
            pairs.append((spec.name, _to_text(value)))
        return urlencode(pairs)

    @classmethod
    def from_query(cls, query: str) -> Scenario:
        """From a URL query string; every value is parsed as its field declares."""
        data: dict[str, Any] = {}
        for key, text in parse_qsl(query.lstrip("?"), keep_blank_values=True):
            if key not in FIELD_SPECS:
                raise ScenarioError(key, text, "unknown field; allowed fields: " + ", ".join(FIELD_SPECS))
            data[key] = parse_text(FIELD_SPECS[key], text)
        return cls(**data)

    def replace(self, **changes: Any) -> Scenario:
        return replace(self, **changes)


def _to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def parse_text(spec: FieldSpec, text: str) -> Any:
    """Parse one field from text (a CLI flag or a URL query value)."""
    text = str(text).strip()
    if spec.kind == "mix":
        return FrameworkMix.parse(text, spec.name)
    if spec.kind in ("choice", "id"):
        return text
    if text == "" and spec.default is None:
        return None
    if spec.human_count:
        return parse_volume(text, spec.name, check_bounds=False)
    if len(text) > _MAX_NUMBER_TEXT:
        raise ScenarioError(spec.name, text, spec.describe_allowed())
    try:
        return float(text.replace("_", ""))
    except ValueError:
        raise ScenarioError(spec.name, text, spec.describe_allowed()) from None


_MAX_NUMBER_TEXT = 64
_VOLUME_MULTIPLIERS = {
    "": 1.0,
    "k": 1e3,
    "thousand": 1e3,
    "m": 1e6,
    "mn": 1e6,
    "mio": 1e6,
    "million": 1e6,
    "b": 1e9,
    "bn": 1e9,
    "g": 1e9,
    "billion": 1e9,
    "t": 1e12,
    "tn": 1e12,
    "trillion": 1e12,
}
_VOLUME = re.compile(
    r"(?P<number>[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?(?:e[+-]?\d+)?|[+-]?\.\d+(?:e[+-]?\d+)?)"
    r"(?: ?(?P<suffix>thousand|million|billion|trillion|mio|mn|bn|tn|[kmbgt])(?![a-z]))?"
    r"(?: ?requests?)?(?: ?(?:/ ?day|per day|a day))?",
    re.IGNORECASE,
)


def parse_volume(text: str | float, field_name: str = "requests_per_day", check_bounds: bool = True) -> float:
    """A count as people write it: ``"50M"``, ``"50 M"``, ``"2.5 B"``, ``"1e9"``, ``"200k"``, ``"1,000,000"``.

    The one parser for typed request volumes: the CLI's ``--requests-per-day`` and ``--edge-sites``,
    scenario files, links and the app's typed field all use it. Accepted, case-insensitively:

    - a plain number: ``100000000``, ``1e8``, ``2.5e9``, ``1_000_000``, ``1,000,000`` (commas only as
      thousands separators: ``2,5 M`` is refused, since a decimal comma is ambiguous);
    - a number and a multiplier, with or without a space: ``k``/``thousand`` (10^3),
      ``M``/``mn``/``million`` (10^6; a lower-case ``m`` means million here, never milli),
      ``B``/``bn``/``G``/``billion`` (10^9), ``T``/``trillion`` (10^12), as `explorer.fmt.volume`
      writes them (``50 M``, ``2.5 B``);
    - optionally followed by ``requests/day``, ``/day`` or ``per day``.

    Returns the number as a float. Raises `ScenarioError` naming `field_name`, the text and what is
    allowed, with examples; with `check_bounds` (the default) a value outside the field's bounds is
    refused too.
    """
    spec = FIELD_SPECS.get(field_name)
    allowed = (
        spec.describe_allowed()
        if spec is not None and spec.bounds is not None
        else f"allowed: a number, written like {VOLUME_EXAMPLES}"
    )
    if isinstance(text, int | float) and not isinstance(text, bool):
        value = float(text)
    else:
        raw = str(text)
        if len(raw) > _MAX_NUMBER_TEXT:
            raise ScenarioError(field_name, raw, allowed)
        clean = re.sub(r"(?<=\d)_(?=\d)", "", re.sub(r"\s+", " ", raw).strip())  # 1_000_000
        m = _VOLUME.fullmatch(clean)
        if m is None:
            try:  # nan, inf, infinity: say why they are refused
                finite = math.isfinite(float(clean))
            except ValueError:
                finite = True
            if not finite:
                raise ScenarioError(field_name, raw, "not a finite number; " + allowed)
            if re.search(r"\d,\d{1,2}(?!\d)", clean):
                allowed = "a decimal comma is not read (write 2.5 M, not 2,5 M); " + allowed
            raise ScenarioError(field_name, raw, allowed)
        number = m.group("number").replace(",", "")
        value = float(number) * _VOLUME_MULTIPLIERS[(m.group("suffix") or "").lower()]
    if not math.isfinite(value):
        raise ScenarioError(field_name, text, "not a finite number; " + allowed)
    if check_bounds and spec is not None and spec.bounds is not None:
        lo, hi = spec.bounds
        if not lo <= value <= hi:
            raise ScenarioError(field_name, text, allowed)
    return value


def _check(spec: FieldSpec, value: Any) -> Any:
    if spec.kind == "mix":
        return FrameworkMix.of(value, spec.name) if not isinstance(value, FrameworkMix) else value
    if spec.kind == "choice":
        if value not in spec.choices:
            raise ScenarioError(spec.name, value, spec.describe_allowed())
        return value
    if spec.kind == "id":
        if spec.default is None and value in (None, ""):  # an optional id (current_device): none
            return None
        if not isinstance(value, str) or not re.fullmatch(r"[a-z0-9][a-z0-9.-]*", value):
            raise ScenarioError(spec.name, value, "allowed: a lower-kebab catalog id")
        return value
    if value is None and spec.default is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        if isinstance(value, str):
            return _check(spec, parse_text(spec, value))
        raise ScenarioError(spec.name, value, spec.describe_allowed())
    try:
        value = float(value)
    except OverflowError:  # an int beyond a float's range (about 1e308)
        raise ScenarioError(spec.name, value, "too large; " + spec.describe_allowed()) from None
    if not math.isfinite(value):
        raise ScenarioError(spec.name, value, "not a finite number; " + spec.describe_allowed())
    assert spec.bounds is not None
    lo, hi = spec.bounds
    if not lo <= value <= hi:
        raise ScenarioError(spec.name, value, spec.describe_allowed())
    return value


def _specs() -> tuple[FieldSpec, ...]:
    out = []
    for f in fields(Scenario):
        m = f.metadata
        default = f.default if f.default is not MISSING else f.default_factory()  # type: ignore[misc]
        out.append(FieldSpec(name=f.name, default=default, **m))
    return tuple(out)


SPECS: tuple[FieldSpec, ...] = ()
SPECS = _specs()
FIELD_SPECS: dict[str, FieldSpec] = {s.name: s for s in SPECS}


def known_ids(cat: Any) -> dict[str, set[str]]:
    """The ids a catalog knows for each id field, from the table its FieldSpec names (``ids``)."""
    return {spec.name: set(getattr(cat, spec.ids).id) for spec in SPECS if spec.ids}


def from_query_lenient(
    query: str, known_ids: Mapping[str, set[str]] | None = None
) -> tuple[Scenario, list[str]]:
    """A scenario from a shared link, keeping every valid field.

    A bad or unknown value takes that field's default and adds a note saying which value was ignored and
    why; the notes are meant to be shown to the person who opened the link. ``known_ids`` lists the ids
    the catalog knows for id fields (``{"workload": {...}, "region": {...}}``).
    """
    notes: list[str] = []
    data: dict[str, Any] = {}
    for key, text in parse_qsl(query.lstrip("?"), keep_blank_values=True):
        if key not in FIELD_SPECS:
            shown = shown_value(f"{key}={text}")
            notes.append(f"'{shown}' was ignored: '{shown_value(key)}' is not a setting of the explorer")
            continue
        spec = FIELD_SPECS[key]
        default = spec.default if spec.kind != "mix" else FrameworkMix.of(spec.default)
        shown_default = (
            ("none" if spec.kind == "id" else "from the catalog")
            if default is None
            else (default.label() if isinstance(default, FrameworkMix) else _to_text(default))
        )
        try:
            value = _check(spec, parse_text(spec, text))
            ids = (known_ids or {}).get(key)
            if ids is not None and value is not None and value not in ids:
                raise ScenarioError(key, value, "allowed: " + ", ".join(sorted(ids)))
        except ScenarioError as err:
            notes.append(f"{err}; the default ({shown_default}) is used instead")
            continue
        except (ValueError, TypeError, OverflowError):  # never drop the link's other settings
            notes.append(
                f"{key}: {shown_value(text)} could not be read; the default ({shown_default}) is used instead"
            )
            continue
        data[key] = value
    if len(notes) > _MAX_NOTES:
        notes = [*notes[:_MAX_NOTES], f"... and {len(notes) - _MAX_NOTES:,} more values were ignored"]
    return Scenario(**data), notes


_MAX_NOTES = 20

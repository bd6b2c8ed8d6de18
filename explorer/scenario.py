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
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields, replace
from typing import Any
from urllib.parse import parse_qsl, urlencode

from . import fmt
from .catalog.schema import COMPUTE_PRECISIONS, DEPLOYMENTS, FRAMEWORKS
from .scenario_fields import (
    CLOUD_MARKETS,
    CLOUD_PRICINGS,
    CUSTOM_KIND_LABELS,
    CUSTOM_KINDS,
    CUSTOM_WORKLOAD,
    DEPLOYMENT_LABELS,
    FRAMEWORK_LABELS,
    LATENCY_TARGET_LABELS,
    LATENCY_TARGETS,
    MAJOR_CLOUDS,
    MARKET_LABELS,
    PARAMETER_EXAMPLES,
    PRICING_LABELS,
    SERVING_PRECISION_LABELS,
    SERVING_PRECISIONS,
    VOLUME_EXAMPLES,
    Described,
    FieldSpec,
    FrameworkMix,
    ScenarioError,
    shown_value,
)
from .scenario_fields import WHEN_CUSTOM as _CUSTOM
from .scenario_fields import WHEN_CUSTOM_LATENCY as _CUSTOM_LATENCY
from .scenario_fields import WHEN_CUSTOM_LLM as _CUSTOM_LLM
from .scenario_fields import WHEN_CUSTOM_OTHER as _CUSTOM_OTHER
from .scenario_fields import declare as _f
from .scenario_fields import parameters_readout as _parameters_readout
from .scenario_fields import sites_readout as _sites_readout
from .scenario_fields import volume_readout as _volume_readout
from .scenario_parse import check_value as _check
from .scenario_parse import from_query_lenient, known_ids, parse_text, parse_volume
from .scenario_parse import to_text as _to_text

#: Re-exported: ``from explorer.scenario import ...`` keeps working for every name that moved.
__all__ = [
    "CLOUD_MARKETS",
    "CLOUD_PRICINGS",
    "COMPUTE_PRECISIONS",
    "CUSTOM_KINDS",
    "CUSTOM_KIND_LABELS",
    "CUSTOM_WORKLOAD",
    "DEPLOYMENTS",
    "DEPLOYMENT_LABELS",
    "FIELD_SPECS",
    "FRAMEWORKS",
    "FRAMEWORK_LABELS",
    "LATENCY_TARGETS",
    "LATENCY_TARGET_LABELS",
    "MAJOR_CLOUDS",
    "MARKET_LABELS",
    "PARAMETER_EXAMPLES",
    "PRICING_LABELS",
    "SERVING_PRECISIONS",
    "SERVING_PRECISION_LABELS",
    "SPECS",
    "VOLUME_EXAMPLES",
    "Described",
    "FieldSpec",
    "FrameworkMix",
    "Scenario",
    "ScenarioError",
    "from_query_lenient",
    "known_ids",
    "parse_text",
    "parse_volume",
    "shown_value",
]


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
        extra_ids=((CUSTOM_WORKLOAD, "Your model…"),),
    )
    custom_name: str = _f(
        "My model",
        "Model name",
        "Your model's name, as the page and the report show it",
        "",
        "text",
        max_length=60,
        visible_when=(_CUSTOM,),
    )
    custom_kind: str = _f(
        "llm",
        "Model type",
        "What one request to your model is: an LLM's input and output tokens, or (any other model) a "
        "compute and memory-traffic figure per request",
        "",
        "choice",
        choices=CUSTOM_KINDS,
        choice_labels=tuple(CUSTOM_KIND_LABELS.items()),
        visible_when=(_CUSTOM,),
    )
    custom_parameters: float = _f(
        13e9,
        "Parameters",
        "Your model's total parameters (all experts of a mixture-of-experts model): they set the memory "
        "its weights need",
        "parameters",
        bounds=(1e6, 1e13),
        scale="log",
        human_count=True,
        examples=PARAMETER_EXAMPLES,
        readout=_parameters_readout,
        typed=("or type: 13B, 47 B, 340M", "Type the parameter count and press Enter: 13B, 47 B, 340M"),
        visible_when=(_CUSTOM,),
    )
    custom_active_parameters: float | None = _f(
        None,
        "Active parameters",
        "For a mixture-of-experts model: the parameters one token runs through (e.g. 13B of a 47B model); "
        "they set the compute per token (empty: all of them, a dense model)",
        "parameters",
        bounds=(1e6, 1e13),
        scale="log",
        human_count=True,
        examples=PARAMETER_EXAMPLES,
        at_most="custom_parameters",
        empty_means="all: a dense model",
        visible_when=(_CUSTOM,),
    )
    custom_precision: str = _f(
        "bf16",
        "Native precision",
        "The number format your model's weights and maths run in as built: what the precision choice "
        "'auto' means for it",
        "",
        "choice",
        choices=COMPUTE_PRECISIONS,
        choice_labels=tuple((p, p.upper()) for p in COMPUTE_PRECISIONS),
        visible_when=(_CUSTOM,),
    )
    custom_layers: float | None = _f(
        None,
        "Layers",
        "Transformer layers (num_hidden_layers in the model's config.json); they set the KV cache per "
        "token (empty: estimated from the active parameters)",
        "layers",
        bounds=(1.0, 1000.0),
        whole=True,
        empty_means="estimated",
        visible_when=_CUSTOM_LLM,
    )
    custom_kv_heads: float | None = _f(
        None,
        "KV heads",
        "Key-value heads per layer (num_key_value_heads in config.json; equal to the attention heads "
        "without grouped-query attention) (empty: 8, as the catalog's Llama models)",
        "heads",
        bounds=(1.0, 1024.0),
        whole=True,
        empty_means="8, as Llama",
        visible_when=_CUSTOM_LLM,
    )
    custom_gflop_per_request: float | None = _f(
        None,
        "Compute per request",
        "Floating-point operations one request takes (2 per multiply-accumulate), e.g. from "
        "torch.utils.flop_counter",
        "GFLOP",
        bounds=(1e-3, 1e9),
        required_when_shown="a model other than an LLM needs its compute per request",
        visible_when=_CUSTOM_OTHER,
    )
    custom_traffic_mb_per_request: float | None = _f(
        None,
        "Memory traffic per request",
        "Bytes one request moves to and from device memory (empty: the weights read once per batch of "
        "32 requests, activations not counted: a lower bound)",
        "MB",
        bounds=(1e-3, 1e9),
        empty_means="estimated",
        visible_when=_CUSTOM_OTHER,
    )
    precision: str = _f(
        "auto",
        "Precision",
        "For an LLM: the number format the deployment keeps its weights in and runs its maths at. As "
        "measured (the default): each device with a measured run in the formats that run used (Blackwell's "
        "and MI355X's MLPerf runs are FP4), every other device in the workload's own. A stated format "
        "reads a device's run in that format where it has one, else scales its run by the serving model "
        "at the efficiency fitted for that format. Where a device publishes no peak for an 8- or 4-bit "
        "format, its maths run at the next wider peak it publishes (weight-only quantization); BF16 needs "
        "a 16-bit peak, and a device without one is unavailable. Other workloads ignore it",
        "",
        "choice",
        choices=SERVING_PRECISIONS,
        choice_labels=tuple(SERVING_PRECISION_LABELS.items()),
    )
    input_tokens: float | None = _f(
        None,
        "Input tokens",
        "For an LLM: prompt tokens per request (empty: the workload's sourced figure); input and output "
        "together within the model's context window (its catalog file's context_tokens). Other workloads "
        "ignore it",
        "tokens",
        bounds=(1.0, 1e6),
        whole=True,
        empty_means="the workload's figure",
    )
    output_tokens: float | None = _f(
        None,
        "Output tokens",
        "For an LLM: generated tokens per request (empty: the workload's sourced figure); input and output "
        "together within the model's context window (its catalog file's context_tokens). Other workloads "
        "ignore it",
        "tokens",
        bounds=(1.0, 1e6),
        whole=True,
        empty_means="the workload's figure",
    )
    latency_target: str = _f(
        "batch",
        "Latency target",
        "For an LLM: what each user must get. Batch: no per-user bound (the Offline capacity); server and "
        "interactive chat: MLPerf Inference's Llama 3.1 8B Server and Interactive bounds (time per output "
        "token 100 ms and 30 ms, first token within 2 s and 0.5 s); custom: the two figures below. The "
        "capacity is the largest batch that meets it. Other workloads ignore it",
        "",
        "choice",
        choices=(*LATENCY_TARGETS, "custom"),
        choice_labels=tuple(LATENCY_TARGET_LABELS.items()),
    )
    tokens_per_s_per_user: float | None = _f(
        None,
        "Tokens/s per user",
        "For a custom latency target: the output tokens per second each user must see (empty: no bound)",
        "tokens/s",
        bounds=(0.1, 10_000.0),
        empty_means="no bound",
        visible_when=_CUSTOM_LATENCY,
    )
    ttft_s: float | None = _f(
        None,
        "Time to first token",
        "For a custom latency target: the most a user waits for the first token (empty: no bound)",
        "s",
        bounds=(0.001, 600.0),
        empty_means="no bound",
        visible_when=_CUSTOM_LATENCY,
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
        whole=True,
        scale="log",
        human_count=True,
        readout=_sites_readout,
        visible_when=(("deployment", ("edge",)),),  # shown where it counts: it did nothing in the cloud
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
    cloud_pricing: str = _f(
        "1-year",
        "Cloud pricing",
        "How cloud capacity is paid for. The fleet follows the daily load curve; a 1- or 3-year commitment "
        "(reservation, savings plan, committed-use discount) covers the base and on-demand the rest, in "
        "the cheapest mix; on-demand pays by the hour for what runs; spot is capacity the provider may "
        "reclaim at any moment, for batch work only. Default 1-year: teams at scale commit (CoreWeave's "
        "backlog is 96-98 % take-or-pay contracts; 1-year H100 commitments run 30-40 % below on-demand), "
        "and one year does not lock a fleet into a device generation past its successor",
        "",
        "choice",
        choices=CLOUD_PRICINGS,
        choice_labels=tuple(PRICING_LABELS.items()),
        group="assumptions",
    )
    training_share: float = _f(
        0.0,
        "Training share",
        "Share of the compute that is training rather than inference (it runs on devices that train: "
        "its elastic share in the serving fleet's troughs, the rest on a dedicated fleet of the cheapest "
        "device that trains; a dedicated fleet of the other kind is the hybrid plan)",
        "fraction",
        bounds=(0.0, 0.95),
        group="assumptions",
    )
    elastic_training_share: float = _f(
        0.3,
        "Elastic training",
        "Share of the training that is preemptible and checkpointed, so it can run in the troughs of an "
        "inference fleet of a device that trains (at the catalog's elastic_training_efficiency); the rest "
        "runs on a dedicated fleet of the cheapest device that trains. Default: an estimate with its method "
        "in catalog/assumptions/training.toml (elastic_training_share)",
        "fraction",
        bounds=(0.0, 1.0),
        group="assumptions",
    )
    spare_servers: float = _f(
        1.0,
        "Spare servers",
        "Bare metal: whole servers bought beyond those the peak needs, so the fleet carries the peak with "
        "that many servers down (N+1 redundancy: 1; 0 for none). Default: N+1, the usual redundancy level "
        "(catalog/assumptions/servers.toml, spare_servers)",
        "servers",
        bounds=(0.0, 100.0),
        whole=True,
        step=1.0,
        group="assumptions",
        visible_when=(("deployment", ("bare-metal",)),),
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
        values = {spec.name: getattr(self, spec.name) for spec in _RELATED}
        for spec in _RELATED:  # what one field allows given the others, as declared
            value = values[spec.name]
            if value is None and spec.required_when_shown and spec.shown(values):
                raise ScenarioError(
                    spec.name, Described("empty"), f"{spec.required_when_shown}; " + spec.describe_allowed()
                )
            bound = values.get(spec.at_most) if spec.at_most else None
            if value is not None and bound is not None and value > bound:
                other = FIELD_SPECS[spec.at_most]
                shown = fmt.volume(bound) if other.human_count else _to_text(bound)
                mine = Described(fmt.volume(value)) if spec.human_count else value
                raise ScenarioError(spec.name, mine, f"allowed: at most the {other.label.lower()} ({shown})")

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
#: The fields a cross-field rule reads: those with a rule (required when shown, at most another) and those
#: the rules name.
_RULED = [s for s in SPECS if s.required_when_shown or s.at_most]
_NAMED = {n for r in _RULED for n in (r.at_most, *(k for k, _ in r.visible_when))}
_RELATED = tuple(s for s in SPECS if s in _RULED or s.name in _NAMED)


def unknown_workload(workload: str, ids: Any) -> ScenarioError:
    """The error for a workload id the catalog lacks: its ids, and the field's own extra values ("custom",
    your model), as a link's note lists them too."""
    extras = FIELD_SPECS["workload"].extra_ids
    extra = "".join(f", or {v} ({label.rstrip('…').lower()})" for v, label in extras)
    return ScenarioError("workload", workload, "allowed: " + ", ".join(sorted(ids)) + extra)

"""What an evaluation returns: every device as an option, the recommendation, the fleet run now (baseline),
and the evaluation as a whole."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..scenario import Scenario
from .inputs import Inputs
from .sweep import Sweep


@dataclass(frozen=True)
class Option:
    device_id: str
    name: str
    vendor: str
    kind: str
    segment: str
    available: bool
    unavailable_reason: str | None
    throughput_per_device_rps: float | None
    throughput_source: str
    throughput_measured: bool
    #: "measured" (the catalog's result as run), "scaled" (a measurement scaled by the serving model to the
    #: request: another format, other tokens, a latency bound) or "estimated" (no measurement of its own)
    throughput_basis: str
    #: an LLM's format as served, in words ("FP4", "FP8 weights, INT8 maths"); "" for other workloads
    serving_format: str
    devices_needed: int | None
    training_devices: int
    training_device_id: str | None
    device_power_kw: float | None
    wall_power_kw: float | None  # average, at the server wall (energy)
    provisioned_power_kw: float | None  # rated, at the server wall (racks and circuits)
    facility_power_kw: float | None
    energy_kwh_per_year: float | None
    energy_cost_usd_per_year: float | None
    hardware_cost_usd: float | None
    porting_cost_usd: float | None
    porting_initial_usd: float | None
    porting_updates_usd: float | None
    tco_usd: float | None
    cost_per_million_requests_usd: float | None
    # the fleet's year: its requests over its energy at the facility (PUE, idle devices in): not the chart's
    # requests per joule of one device at its rated power (``chart_frames``, "device power")
    requests_per_joule: float | None
    co2_tonnes_per_year: float | None
    break_even_month: int | None
    plan: str
    framework_support: dict[str, str]
    cloud_offer: str
    price_source: str  # the price used: cloud offer or purchase price, with its source and date
    power_w: float | None  # rated device power, as the catalog gives it
    power_source: str
    wall_power_source: str  # measured energy per request, or the server-class model
    energy_known: bool  # False where no source gives the device's power: energy, CO2 not counted
    # The fleet over the day: a cloud fleet follows the load curve (its busiest hour is devices_needed),
    # an owned one is the same all day; and how the cloud's is paid for (Scenario.cloud_pricing).
    devices_min: int | None = None
    devices_average: float | None = None
    committed_devices: int | None = None
    cloud_pricing: str | None = None  # the basis, for cloud options; None elsewhere
    # where one model copy lives (instance or server, devices, interconnect); "" where it cannot serve
    placement: str = ""
    # bare metal: whole servers bought (spares and the training fleet's included) and the racks they take
    # under the catalog's rack kW; None elsewhere (and racks where power is unknown)
    servers: int | None = None
    racks: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Recommendation:
    plan: str  # "gpu" | "accelerator" | "hybrid"
    device_id: str
    name: str
    kind: str
    reasons: list[str]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Baseline:
    """The fleet the team runs now (``Scenario.current_device``), costed as one of the options: same
    prices, same scenario. ``tco_usd`` and ``savings_usd`` are None where it cannot serve the scenario."""

    device_id: str
    name: str
    available: bool
    unavailable_reason: str | None
    devices_needed: int | None
    tco_usd: float | None
    savings_usd: float | None  # the baseline's total minus the recommendation's (>= 0: it is the cheapest)

    @property
    def savings_share(self) -> float | None:
        """The savings as a share of the baseline's total."""
        if self.savings_usd is None or not self.tco_usd:
            return None
        return self.savings_usd / self.tco_usd

    def to_dict(self) -> dict[str, Any]:
        return {
            "device_id": self.device_id,
            "tco_usd": self.tco_usd,
            "savings_usd": self.savings_usd,
            "available": self.available,
            "unavailable_reason": self.unavailable_reason,
        }


@dataclass(frozen=True)
class EvaluationResult:
    scenario: Scenario
    inputs: Inputs
    options: list[Option]  # ranked: available by total cost, then unavailable
    recommendation: Recommendation | None
    best_gpu: str | None
    best_accelerator: str | None
    crossover_requests_per_day: float | None
    crossover_note: str
    timeline: pd.DataFrame  # long form: month, device_id, cumulative_usd (available options)
    break_even_month: int | None
    sweep: Sweep | None = field(default=None, repr=False)
    baseline: Baseline | None = None  # the fleet run now, where the scenario names one
    #: Serverless API offers priced per token (kind "api"; explorer.model.custom), cheapest first; LLMs only.
    api_options: list[Any] = field(default_factory=list)
    #: Your model as the workload row the model used, with what was estimated (None: a catalog workload).
    custom_workload: dict[str, Any] | None = None

    @property
    def volume_curve(self) -> pd.DataFrame:
        """Long form: requests_per_day, series (best GPU / best accelerator), device_id, tco_usd.

        Shared by the evaluations that share a sweep (a request-volume change keeps it): read-only.
        """
        if self.sweep is None:
            return pd.DataFrame(columns=["requests_per_day", "series", "device_id", "tco_usd"])
        return self.sweep.curve

    def option(self, device_id: str) -> Option:
        return next(o for o in self.options if o.device_id == device_id)

    def options_frame(self) -> pd.DataFrame:
        return pd.DataFrame([o.to_dict() for o in self.options])

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario.to_dict(),
            "assumptions": {
                "electricity_usd_per_kwh": self.inputs.electricity_usd_per_kwh,
                "grid_gco2_per_kwh": self.inputs.grid_gco2_per_kwh,
                "pue": self.inputs.pue,
                "engineer_day_usd": self.inputs.engineer_day_usd,
                "from_catalog": self.inputs.origin,
            },
            "recommendation": self.recommendation.to_dict() if self.recommendation else None,
            "baseline": self.baseline.to_dict() if self.baseline else None,
            "options": [o.to_dict() for o in self.options],
            "best_gpu": self.best_gpu,
            "best_accelerator": self.best_accelerator,
            "break_even_month": self.break_even_month,
            "crossover_requests_per_day": self.crossover_requests_per_day,
            "crossover_note": self.crossover_note,
            "api_options": [o.to_dict() for o in self.api_options],
            "custom_workload": self.custom_workload,
        }

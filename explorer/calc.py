"""The decision engine's public face: the names of the model's steps (``explorer.model``), re-exported.

``from explorer import calc`` / ``calc.evaluate(scenario)`` keep working for notebooks, tests and the
command line. This module holds no logic: each name lives in the step of ``explorer.model`` that says
what it does (read ``explorer/model/__init__.py`` for the order). A new public name of the model is
added to its step, and here.
"""

from __future__ import annotations

from .model.assumptions import (
    ASSUMPTIONS,
    FIXED_STEP_KEY,
    PCIE_KEYS,
    SEQUENCE_KEY,
    ModelError,
    assumption,
    fixed_step_s_per_layer,
)
from .model.cache import on_disk, per_catalog
from .model.calibration import (
    Calibration,
    Efficiency,
    Estimate,
    best_measured,
    calibration,
    estimate_throughput,
    fit_efficiency,
    narrower_formats,
    roofline_estimate,
    run_formats,
)
from .model.cost import (
    HOURS_PER_YEAR,
    SUPPORT_ORDER,
    Prices,
    cheapest_cloud,
    framework_support,
    per_device_cost_rates,
    placed_offers,
    prices,
)
from .model.custom import ApiOption, api_options, base_catalog, catalog_for, custom_workload
from .model.devices import (
    DeviceTable,
    build_device_table,
    context_error,
    device_table,
    scenario_device_table,
    serves_tokens,
)
from .model.evaluate import evaluate, nominal_core
from .model.fleet import SECONDS_PER_DAY, Core, best_by_kind, core, cumulative_cost, stays_below_from
from .model.inputs import PUE_BY_DEPLOYMENT, Inputs, resolve, volume_free
from .model.placement import MEMORY_HEADROOM, Placement, available, place_copies, server_size, where_offered
from .model.power import POWER_CLASSES, WallPower, class_wall_w, power_class, power_sources, wall_power
from .model.request import (
    BYTES_PER_PARAM,
    dram_traffic_mb,
    fits_on_chip,
    on_chip_batch,
    precision_bytes,
    working_set_mb,
)
from .model.results import Baseline, EvaluationResult, Option, Recommendation
from .model.roofline import ceilings, peak_ops, result_roofline_rps, roofline, roofline_rps, stated_precision
from .model.sweep import (
    FINE_POINTS,
    VOLUME_GRID,
    Sweep,
    breakeven_grid,
    breakeven_map,
    crossover_volume,
    sweep_volumes,
    volume_grid,
)
from .model.words import usd, volume

__all__ = [
    "ASSUMPTIONS",
    "BYTES_PER_PARAM",
    "FINE_POINTS",
    "FIXED_STEP_KEY",
    "HOURS_PER_YEAR",
    "MEMORY_HEADROOM",
    "PCIE_KEYS",
    "POWER_CLASSES",
    "PUE_BY_DEPLOYMENT",
    "SECONDS_PER_DAY",
    "SEQUENCE_KEY",
    "SUPPORT_ORDER",
    "VOLUME_GRID",
    "ApiOption",
    "Baseline",
    "Calibration",
    "Core",
    "DeviceTable",
    "Efficiency",
    "Estimate",
    "EvaluationResult",
    "Inputs",
    "ModelError",
    "Option",
    "Placement",
    "Prices",
    "Recommendation",
    "Sweep",
    "WallPower",
    "api_options",
    "assumption",
    "available",
    "base_catalog",
    "best_by_kind",
    "best_measured",
    "breakeven_grid",
    "breakeven_map",
    "build_device_table",
    "calibration",
    "catalog_for",
    "ceilings",
    "cheapest_cloud",
    "class_wall_w",
    "context_error",
    "core",
    "crossover_volume",
    "cumulative_cost",
    "custom_workload",
    "device_table",
    "dram_traffic_mb",
    "estimate_throughput",
    "evaluate",
    "fit_efficiency",
    "fits_on_chip",
    "fixed_step_s_per_layer",
    "framework_support",
    "narrower_formats",
    "nominal_core",
    "on_chip_batch",
    "on_disk",
    "peak_ops",
    "per_catalog",
    "per_device_cost_rates",
    "place_copies",
    "placed_offers",
    "power_class",
    "power_sources",
    "precision_bytes",
    "prices",
    "resolve",
    "result_roofline_rps",
    "roofline",
    "roofline_estimate",
    "roofline_rps",
    "run_formats",
    "scenario_device_table",
    "server_size",
    "serves_tokens",
    "stated_precision",
    "stays_below_from",
    "sweep_volumes",
    "usd",
    "volume",
    "volume_free",
    "volume_grid",
    "wall_power",
    "where_offered",
    "working_set_mb",
]

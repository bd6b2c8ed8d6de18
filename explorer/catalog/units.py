"""Units the catalog may use, and their conversion to the canonical unit of each quantity.

Values are stored in the catalog as their source prints them; this table converts them. A unit belongs
to one dimension; converting between dimensions is an error, never a silent guess.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Unit:
    symbol: str
    dimension: str
    factor: float  # multiply a value in this unit by `factor` to get the dimension's base unit


_LB_IN_G = 453.59237

_UNITS = [
    # power, base W
    Unit("W", "power", 1.0),
    Unit("kW", "power", 1e3),
    Unit("mW", "power", 1e-3),
    # bytes (capacity, or data per request), base byte
    Unit("B", "bytes", 1.0),
    Unit("KB", "bytes", 1e3),
    Unit("MB", "bytes", 1e6),
    Unit("GB", "bytes", 1e9),
    Unit("TB", "bytes", 1e12),
    Unit("KiB", "bytes", 2.0**10),
    Unit("MiB", "bytes", 2.0**20),
    Unit("GiB", "bytes", 2.0**30),
    # bandwidth, base byte/s
    Unit("MB/s", "bandwidth", 1e6),
    Unit("GB/s", "bandwidth", 1e9),
    Unit("TB/s", "bandwidth", 1e12),
    Unit("GiB/s", "bandwidth", 2.0**30),
    # floating-point throughput, base FLOP/s
    Unit("GFLOPS", "flops", 1e9),
    Unit("TFLOPS", "flops", 1e12),
    Unit("PFLOPS", "flops", 1e15),
    # integer throughput, base OP/s
    Unit("GOPS", "ops", 1e9),
    Unit("TOPS", "ops", 1e12),
    Unit("POPS", "ops", 1e15),
    # work per request, base FLOP
    Unit("MFLOP", "work", 1e6),
    Unit("GFLOP", "work", 1e9),
    Unit("TFLOP", "work", 1e12),
    Unit("PFLOP", "work", 1e15),
    # money
    Unit("USD", "money", 1.0),
    Unit("USD/hour", "money_per_hour", 1.0),
    Unit("USD/day", "money_per_day", 1.0),
    Unit("USD/year", "money_per_year", 1.0),
    # a serverless API's price per token, base USD per million tokens
    Unit("USD/Mtoken", "token_price", 1.0),
    Unit("USD/ktoken", "token_price", 1e3),
    # durations, base day
    Unit("days", "duration", 1.0),
    Unit("weeks", "duration", 7.0),
    Unit("months", "duration", 365.25 / 12),
    Unit("years", "duration", 365.25),
    # latency (a result's bounds: time to first token, time per output token), base ms
    Unit("us", "latency", 1e-3),
    Unit("ms", "latency", 1.0),
    Unit("s", "latency", 1e3),
    Unit("USD/kWh", "energy_price", 1.0),
    Unit("USD/MWh", "energy_price", 1e-3),
    Unit("cents/kWh", "energy_price", 1e-2),
    # grid carbon intensity, base gCO2/kWh (tCO2/GWh is numerically the same)
    Unit("gCO2/kWh", "carbon_intensity", 1.0),
    Unit("gCO2e/kWh", "carbon_intensity", 1.0),
    Unit("kgCO2/kWh", "carbon_intensity", 1e3),
    Unit("tCO2/GWh", "carbon_intensity", 1.0),
    Unit("lbCO2/MWh", "carbon_intensity", _LB_IN_G / 1e3),
    Unit("lbCO2e/MWh", "carbon_intensity", _LB_IN_G / 1e3),
    # request throughput: one MLPerf sample or query, one image, one frame = one request
    Unit("samples/s", "request_rate", 1.0),
    Unit("queries/s", "request_rate", 1.0),
    Unit("images/s", "request_rate", 1.0),
    Unit("inferences/s", "request_rate", 1.0),
    Unit("FPS", "request_rate", 1.0),
    Unit("tokens/s", "token_rate", 1.0),
    # counts
    Unit("count", "count", 1.0),
    Unit("K", "count", 1e3),
    Unit("M", "count", 1e6),
    Unit("billion", "count", 1e9),  # "B" is bytes in the catalog, so a billion is spelled out
    # dimensionless ratio (PUE)
    Unit("ratio", "ratio", 1.0),
]

UNITS: dict[str, Unit] = {u.symbol: u for u in _UNITS}

DIMENSION_UNITS: dict[str, list[str]] = {}
for _u in UNITS.values():
    DIMENSION_UNITS.setdefault(_u.dimension, []).append(_u.symbol)


class UnitError(ValueError):
    """A unit that is unknown, or of the wrong dimension for the field."""


def allowed_units(dimension: str) -> list[str]:
    return list(DIMENSION_UNITS.get(dimension, []))


def convert(value: float, unit: str, to: str) -> float:
    """Convert `value` from `unit` to `to`; both must be known units of one dimension."""
    try:
        src, dst = UNITS[unit], UNITS[to]
    except KeyError as err:
        raise UnitError(f"unknown unit {err.args[0]!r}") from None
    if src.dimension != dst.dimension:
        raise UnitError(f"cannot convert {unit!r} ({src.dimension}) to {to!r} ({dst.dimension})")
    return value * src.factor / dst.factor

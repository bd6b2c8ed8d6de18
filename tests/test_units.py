from __future__ import annotations

import pytest

from explorer.catalog import UnitError, convert


@pytest.mark.parametrize(
    ("value", "unit", "to", "expected"),
    [
        (3.35, "TB/s", "GB/s", 3350.0),
        (2039, "GB/s", "GB/s", 2039.0),
        (1.2, "kW", "W", 1200.0),
        (2000, "mW", "W", 2.0),
        (8, "MB", "GB", 0.008),
        (80, "GiB", "GB", 85.89934592),
        (2.0, "PFLOPS", "TFLOPS", 2000.0),
        (12.5, "cents/kWh", "USD/kWh", 0.125),
        (85, "USD/MWh", "USD/kWh", 0.085),
        (1000, "lbCO2/MWh", "gCO2/kWh", 453.59237),
        (0.4, "kgCO2/kWh", "gCO2/kWh", 400.0),
        (8.03, "billion", "count", 8.03e9),
    ],
)
def test_convert(value: float, unit: str, to: str, expected: float) -> None:
    assert convert(value, unit, to) == pytest.approx(expected)


def test_convert_refuses_other_dimensions() -> None:
    with pytest.raises(UnitError, match="cannot convert 'W'"):
        convert(1, "W", "GB")


def test_convert_names_unknown_unit() -> None:
    with pytest.raises(UnitError, match="unknown unit 'Watt'"):
        convert(1, "Watt", "W")

"""The assumptions frame: every value record of ``catalog/assumptions`` as one row, in its canonical unit.

The model (``explorer.model.assumptions.assumption``) and the uncertainty analysis
(``explorer.uncertainty``) both read ``Catalog.assumptions``; neither reads the TOML documents or
converts a unit itself. Values are stored in the files as their sources print them ("5 years",
"900 USD/day"); the loader converts each record's value, low and high here, once, to the unit declared
for its key in ``ASSUMPTION_UNITS`` (the unit the model computes in), or keeps the record's own unit for
a key not declared there (the uncertainty multipliers, the providers' discounts: ratios).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .units import UnitError, convert

#: The canonical unit of each assumption the model reads (the unit it computes in).
ASSUMPTION_UNITS = {
    "engineer_day_usd": "USD/day",
    "porting_days_native": "days",
    "porting_days_sdk": "days",
    "porting_days_converter": "days",
    "porting_days_none": "days",
    "update_share_native": "ratio",
    "update_share_sdk": "ratio",
    "update_share_converter": "ratio",
    "update_share_none": "ratio",
    "host_power_ratio": "ratio",
    "wall_ratio_baseboard": "ratio",
    "cloud_host_power_ratio": "ratio",
    "pcie_host_power_w": "W",
    "pcie_devices_per_server": "count",
    "rack_kw": "kW",
    "provisioned_headroom_ratio": "ratio",
    "edge_host_power_w": "W",
    "edge_host_rated_w": "W",
    "edge_host_usd": "USD",
    "estimated_power": "ratio",
    "idle_power_ratio": "ratio",
    "host_cost_ratio": "ratio",
    "pcie_server_usd": "USD",
    "hardware_lifetime_years": "years",
    "training_mfu": "ratio",
    "elastic_training_efficiency": "ratio",
    "load_curve_amplitude": "ratio",
    "network_cost_ratio": "ratio",
    "support_cost_ratio_per_year": "ratio",
    "colocation_usd_per_kw_month": "USD",
    "decode_step_fixed_per_layer": "ms",
    "pcie_allreduce_latency_per_rank": "ms",
    "pcie_allreduce_bus_bandwidth": "GB/s",
}
#: Keys that start with one of these take its unit: a device's own figure of an assumption the model reads
#: per device (``decode_step_fixed_per_layer_<device id, '-' as '_'>``, and the per-sequence time
#: ``decode_sequence_fixed_per_layer_<device id>``, which only devices have: ``explorer.model.assumptions``).
ASSUMPTION_UNIT_PREFIXES = {"decode_step_fixed_per_layer_": "ms", "decode_sequence_fixed_per_layer_": "ms"}


def assumption_unit(key: str, printed: str) -> str:
    """The unit the model reads ``key`` in (``ASSUMPTION_UNITS``, then ``ASSUMPTION_UNIT_PREFIXES``), else
    the record's own."""
    if key in ASSUMPTION_UNITS:
        return ASSUMPTION_UNITS[key]
    return next((u for p, u in ASSUMPTION_UNIT_PREFIXES.items() if key.startswith(p)), printed)


#: The frame's columns: `key` (its index too), the value and its range (NaN where the file gives none)
#: in `unit`, the unit the file prints, the source titles, whether it is an estimate and how it was made,
#: and the file (document id) it comes from.
ASSUMPTION_COLUMNS = [
    "key",
    "value",
    "low",
    "high",
    "unit",
    "printed_unit",
    "source",
    "estimate",
    "method",
    "file",
]


def assumptions_frame(docs: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """One row per assumption (the first file that gives a key wins), in file order, indexed by key."""
    rows: dict[str, dict[str, Any]] = {}
    for item, doc in docs.items():
        sources = doc.get("sources", {})
        for key, rec in doc.items():
            if key in rows or not (isinstance(rec, dict) and "value" in rec):
                continue
            printed = rec["unit"]
            unit = assumption_unit(key, printed)
            try:
                convert(1.0, printed, unit)
            except UnitError:  # another dimension: kept as printed, and the model says so when it reads it
                unit = printed
            refs = rec.get("source", [])
            refs = refs if isinstance(refs, list) else [refs]

            def canonical(
                field: str, rec: dict[str, Any] = rec, printed: str = printed, unit: str = unit
            ) -> float:
                if field not in rec:
                    return float("nan")
                try:
                    return convert(float(rec[field]), printed, unit)
                except UnitError:  # a unit the table does not know: as printed
                    return float(rec[field])

            rows[key] = {
                "key": key,
                "value": canonical("value"),
                "low": canonical("low"),
                "high": canonical("high"),
                "unit": unit,
                "printed_unit": printed,
                "source": "; ".join(str(sources.get(r, {}).get("title", r)) for r in refs),
                "estimate": bool(rec.get("estimate", False)),
                "method": rec.get("method"),
                "file": item,
            }
    return pd.DataFrame(list(rows.values()), columns=ASSUMPTION_COLUMNS).set_index("key", drop=False)

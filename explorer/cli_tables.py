"""``accel-explorer catalog VIEW``: the catalog as readable tables or JSON records in canonical units."""

from __future__ import annotations

import argparse
import json
from typing import Any

import pandas as pd

from .catalog import Catalog, load_catalog
from .catalog.check import summary
from .cli_args import EXIT_OK
from .columns import device_table

# -- views --------------------------------------------------------------------------------------------


def _fmt(x: Any, digits: int = 0) -> str:
    if x is None or (isinstance(x, float) and x != x):
        return "–"
    if isinstance(x, float | int):
        return f"{x:,.{digits}f}"
    return str(x)


def _table(df: pd.DataFrame) -> str:
    return df.to_string(index=False) if not df.empty else "(none)"


def _devices_table(cat: Catalog) -> str:
    view = device_table(cat, "terminal")  # the columns declared in explorer.columns
    return _table(view) + "\n\npower: basis (rated | typical | measured) and boundary (chip | board | server)"


def _workloads_table(cat: Catalog) -> str:
    w = cat.workloads
    view = pd.DataFrame(
        {
            "id": w.id,
            "task": w.task,
            "GFLOP/request": [_fmt(x, 1) for x in w.compute_gflop_per_request],
            "MB/request": [_fmt(x, 1) for x in w.memory_traffic_mb_per_request],
            "one request": w.request,
        }
    )
    return _table(view)


def _prices_table(cat: Catalog) -> str:
    c = cat.cloud_prices
    cloud = (
        pd.DataFrame(
            {
                "device": c.device_id,
                "provider": c.provider,
                "instance": c.instance,
                "region": c.region,
                "chips": c.chips,
                "USD/chip-hour": [_fmt(x, 2) for x in c.price_usd_per_chip_hour],
                "as of": c.as_of,
            }
        )
        if not c.empty
        else c
    )
    p = cat.purchase_prices
    buy = (
        pd.DataFrame(
            {
                "device": p.device_id,
                "USD": [_fmt(x) for x in p.price_usd],
                "estimate": p.estimate.map({True: "estimate", False: "published"}),
                "as of": p.as_of,
            }
        )
        if not p.empty
        else p
    )
    u = cat.cloud_unpriced
    unpriced = (
        "\n\nOffered in the cloud without a published price (the catalog's reason)\n"
        + _table(pd.DataFrame({"device": u.device_id, "provider": u.provider, "why": u.reason}))
        if not u.empty
        else ""
    )
    return "Cloud, on demand\n" + _table(cloud) + unpriced + "\n\nPurchase, per device\n" + _table(buy)


def _results_table(cat: Catalog) -> str:
    r = cat.results
    if r.empty:
        return "(none)"
    view = pd.DataFrame(
        {
            "workload": r.workload,
            "device": r.device_id,
            "benchmark": r.benchmark,
            "scenario": r.scenario,
            "accelerators": r.accelerators,
            "throughput": [
                f"{_fmt(v, 1)} {u}" for v, u in zip(r.throughput_value, r.throughput_unit, strict=True)
            ],
            "requests/s per accelerator": [_fmt(x, 2) for x in r.requests_per_s_per_accelerator],
        }
    )
    return _table(view)


def _regions_table(cat: Catalog) -> str:
    g = cat.regions
    regions = (
        pd.DataFrame(
            {
                "id": g.id,
                "name": g.name,
                "USD/kWh": [_fmt(x, 3) for x in g.electricity_usd_per_kwh],
                "gCO2/kWh": [_fmt(x) for x in g.grid_gco2_per_kwh],
            }
        )
        if not g.empty
        else g
    )
    p = cat.pue
    pue = (
        pd.DataFrame({"id": p.id, "name": p.name, "PUE": [_fmt(x, 2) for x in p.pue], "as of": p.as_of})
        if not p.empty
        else p
    )
    return "Regions\n" + _table(regions) + "\n\nPUE defaults\n" + _table(pue)


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    from .catalog.load import jsonable

    return [{k: jsonable(v) for k, v in row.items()} for row in df.to_dict("records")]


def catalog_command(args: argparse.Namespace) -> int:
    cat = load_catalog(*args.catalog)
    if args.view == "check":
        print(summary(cat))
        return EXIT_OK
    as_json = args.format == "json"
    if args.view == "devices":
        out: Any = cat.device_records() if as_json else _devices_table(cat)
    elif args.view == "workloads":
        out = cat.workload_records() if as_json else _workloads_table(cat)
    elif args.view == "prices":
        out = (
            {
                "cloud": records(cat.cloud_prices),
                "cloud_unpriced": records(cat.cloud_unpriced),
                "purchase": records(cat.purchase_prices),
            }
            if as_json
            else _prices_table(cat)
        )
    elif args.view == "results":
        out = records(cat.results) if as_json else _results_table(cat)
    else:
        out = {"regions": records(cat.regions), "pue": records(cat.pue)} if as_json else _regions_table(cat)
    print(json.dumps(out, indent=2, default=str) if as_json else out)
    return EXIT_OK

"""The ``accel-explorer`` command line.

Bad input exits with status 2 and says which file or flag, what was wrong and what is allowed; it never
prints a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from .catalog import USER_CATALOG_ENV, Catalog, CatalogError, load_catalog
from .scenario import FIELD_SPECS, SPECS, Scenario, ScenarioError, parse_text
from .serve import MAX_SESSIONS, POOL_SIZE

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the problem, then the usage, exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _add_catalog_dirs(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--catalog",
        metavar="DIR",
        action="append",
        default=[],
        help="a folder of your own catalog files (same layout as catalog/: devices/, prices/ ...), loaded "
        "over the built-in catalog: new ids add items, existing ids override them key by key. "
        f"Repeatable; folders in ${USER_CATALOG_ENV} are loaded too.",
    )


def _count(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is too small: the least allowed is {minimum}")
        return value

    return parse


_positive_int, _non_negative_int = _count(1), _count(0)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="accel-explorer",
        description="GPU-vs-accelerator deployment explorer: which hardware should serve your ML models.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    cat = commands.add_parser("catalog", help="show or check the hardware catalog")
    views = cat.add_subparsers(dest="view", metavar="VIEW", parser_class=_Parser)
    views.required = True
    for name, help_text in [
        ("devices", "devices: specs, power (with its boundary), deployment options, framework support"),
        ("workloads", "workloads: what one request is, compute and memory traffic per request"),
        ("prices", "cloud prices per chip-hour and purchase prices, each with its as-of date"),
        ("results", "measured results (MLPerf Inference and vendor figures) per device and workload"),
        ("regions", "electricity price and grid carbon intensity per region, and PUE defaults"),
    ]:
        v = views.add_parser(name, help=help_text, description=help_text)
        v.add_argument(
            "--format",
            choices=["table", "json"],
            default="table",
            help="a readable table (default) or JSON records in canonical units, with sources",
        )
        _add_catalog_dirs(v)
    check = views.add_parser("check", help="validate every catalog file; exit 2 listing every problem")
    _add_catalog_dirs(check)

    val = commands.add_parser(
        "validate",
        help="how good are the throughput estimates: leave-one-out against every measured result",
        description="For every comparable measured result, refit the efficiency factor without that device's "
        "measurements on the workload and compare the roofline estimate with the measurement. Prints the "
        "error per device group, rank agreement per workload, and every residual with its source.",
    )
    val.add_argument("--format", choices=["table", "json"], default="table")
    _add_catalog_dirs(val)

    app = commands.add_parser(
        "app",
        help="serve the explorer app with Voila (offline, code hidden) and print its URL",
        description="Serve notebooks/app.ipynb with Voila on this machine. Ctrl-C stops it.",
    )
    app.add_argument("--port", type=int, default=8866, help="port to listen on (default 8866)")
    app.add_argument(
        "--ip", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)"
    )
    app.add_argument(
        "--max-sessions",
        type=_positive_int,
        default=None,
        help="most visitors at once; past it a visitor gets a 'busy, try again' page "
        f"(default {MAX_SESSIONS})",
    )
    app.add_argument(
        "--pool",
        type=_non_negative_int,
        default=None,
        help=f"kernels kept pre-started, so a visitor's page is ready at once (default {POOL_SIZE}; 0: none)",
    )

    ev = commands.add_parser(
        "evaluate",
        help="size, cost and rank every device for a scenario, with a recommendation",
        description="Evaluate a deployment scenario over every device in the catalog. Every scenario field "
        "is a flag; --scenario FILE.json gives them all at once (flags override the file).",
    )
    ev.add_argument("--scenario", metavar="FILE.json", help="a scenario as JSON (keys as the flags, with _)")
    for spec in SPECS:
        default = (
            "from the catalog"
            if spec.default is None
            else (str(spec.default) if spec.kind != "mix" else "pytorch=1")
        )
        unit = f" [{spec.unit}]" if spec.unit and spec.kind not in ("choice", "id", "mix") else ""
        ev.add_argument(
            spec.flag,
            dest=spec.name,
            default=None,
            metavar=spec.name.upper(),
            help=f"{spec.doc}{unit}. {spec.describe_allowed().capitalize()}. Default: {default}.".replace(
                "%", "%%"
            ),
        )
    ev.add_argument(
        "--format", choices=["table", "json"], default="table", help="a readable summary (default) or JSON"
    )
    ev.add_argument(
        "--draws",
        type=int,
        default=10_000,
        metavar="N",
        help="Monte Carlo draws for the uncertainty analysis (default 10000; 0 skips it)",
    )
    ev.add_argument("--seed", type=int, default=0, help="random seed: the same seed gives the same figures")
    ev.add_argument(
        "--map",
        type=int,
        default=0,
        metavar="N",
        dest="map_size",
        help="also compute the break-even map on an N x N grid of request volume (100 to 500 B "
        "a day, log) x model changes per year (0 to 52): where GPUs and where accelerators win",
    )
    ev.add_argument(
        "--export",
        metavar="FILE",
        action="append",
        default=[],
        help="also write FILE: .json (the scenario), .csv (the results, safe to open in a spreadsheet) or "
        ".html (a one-page report with charts and sources). Repeatable.",
    )
    _add_catalog_dirs(ev)
    return parser


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
    d = cat.devices.sort_values(["segment", "kind", "vendor", "id"])
    yes = {True: "yes", False: "–"}
    view = pd.DataFrame(
        {
            "id": d.id,
            "kind": d.kind,
            "segment": d.segment,
            "power": [
                f"{_fmt(w)} W {b} {bd}"
                for w, b, bd in zip(d.power_w, d.power_basis, d.power_boundary, strict=True)
            ],
            "bf16/fp16 TFLOPS": [_fmt(x, 1) for x in d.peak_bf16_tflops],
            "int8 TOPS": [_fmt(x, 0) for x in d.peak_int8_tops],
            "memory GB": [_fmt(x, 0) if x is None or x >= 1 else f"{x:.3f}" for x in d.memory_gb],
            "mem BW GB/s": [_fmt(x) for x in d.memory_bandwidth_gbps],
            "cloud": d.cloud_available.map(yes),
            "bare metal": d.bare_metal_available.map(yes),
            "edge": d.edge_available.map(yes),
        }
    )
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
    return "Cloud, on demand\n" + _table(cloud) + "\n\nPurchase, per device\n" + _table(buy)


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


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    from .catalog.load import _jsonable

    return [{k: _jsonable(v) for k, v in row.items()} for row in df.to_dict("records")]


def _catalog_command(args: argparse.Namespace) -> int:
    cat = load_catalog(*args.catalog)
    if args.view == "check":
        counts = ", ".join(f"{len(cat.documents[c])} {c}" for c in cat.documents)
        print(f"catalog OK: {counts}; {len(cat.provenance)} figures, each with a source")
        return EXIT_OK
    as_json = args.format == "json"
    if args.view == "devices":
        out: Any = cat.device_records() if as_json else _devices_table(cat)
    elif args.view == "workloads":
        out = cat.workload_records() if as_json else _workloads_table(cat)
    elif args.view == "prices":
        out = (
            {"cloud": _records(cat.cloud_prices), "purchase": _records(cat.purchase_prices)}
            if as_json
            else _prices_table(cat)
        )
    elif args.view == "results":
        out = _records(cat.results) if as_json else _results_table(cat)
    else:
        out = {"regions": _records(cat.regions), "pue": _records(cat.pue)} if as_json else _regions_table(cat)
    print(json.dumps(out, indent=2, default=str) if as_json else out)
    return EXIT_OK


def scenario_from_args(args: argparse.Namespace) -> Scenario:
    data: dict[str, Any] = {}
    if args.scenario:
        try:
            text = open(args.scenario, encoding="utf-8").read()  # noqa: SIM115
        except OSError as err:
            raise ScenarioError(
                "--scenario", args.scenario, f"the file cannot be read ({err.strerror})"
            ) from None
        data = Scenario.from_json(text).to_dict()
    for name, spec in FIELD_SPECS.items():
        raw = getattr(args, name)
        if raw is not None:
            data[name] = parse_text(spec, raw)
    return Scenario.from_dict(data)


def _breakeven(scenario: Scenario, cat: Catalog, n: int) -> pd.DataFrame:
    import numpy as np

    from .calc import breakeven_map

    return breakeven_map(
        scenario, np.logspace(2, np.log10(5e11), max(n, 2)), np.linspace(0, 52, max(n, 2)), cat
    )


def _uncertainty(scenario: Scenario, cat: Catalog, draws: int, seed: int) -> dict[str, Any]:
    from .uncertainty import monte_carlo, tornado

    mc = monte_carlo(scenario, cat, draws=draws, seed=seed)
    td = tornado(scenario, cat)
    return {
        "uncertainty": {
            "draws": mc.draws,
            "seed": mc.seed,
            "probability_accelerator_cheaper": mc.probability_accelerator_cheaper,
            "options": _records(mc.options.sort_values("p50_usd")),
        },
        "tornado": _records(td),
    }


def _export(result: Any, cat: Catalog, target: str) -> None:
    from . import export

    ext = target.lower().rsplit(".", 1)[-1]
    text = {"json": export.scenario_json, "csv": export.results_csv}.get(ext)
    content = text(result) if text else export.report_html(result, cat)
    try:
        with open(target, "w", encoding="utf-8", newline="") as fh:
            fh.write(content)
    except OSError as err:
        raise ScenarioError("--export", target, f"the file cannot be written ({err.strerror})") from None
    print(f"wrote {target}", file=sys.stderr)


def _evaluate_command(args: argparse.Namespace) -> int:
    from .calc import evaluate, usd, volume

    scenario = scenario_from_args(args)
    for target in args.export:
        if not target.lower().endswith((".json", ".csv", ".html")):
            raise ScenarioError("--export", target, "allowed: a file name ending in .json, .csv or .html")
    cat = load_catalog(*args.catalog)
    result = evaluate(scenario, cat)
    for target in args.export:
        _export(result, cat, target)
    if not 0 <= args.draws <= 1_000_000:
        raise ScenarioError("--draws", args.draws, "allowed: a whole number from 0 to 1,000,000")
    extra = _uncertainty(scenario, cat, args.draws, args.seed) if args.draws else {}
    if not (args.map_size == 0 or 2 <= args.map_size <= 200):
        raise ScenarioError("--map", args.map_size, "allowed: a grid size from 2 to 200 (0: no map)")
    if args.map_size:
        extra["breakeven_map"] = _records(_breakeven(scenario, cat, args.map_size))
    if args.format == "json":
        print(json.dumps({**result.to_dict(), **extra}, indent=2, default=str, allow_nan=False))
        return EXIT_OK
    rec = result.recommendation
    s = scenario
    print(
        f"Scenario: {volume(s.requests_per_day)} requests/day of {s.workload}, {s.deployment}, "
        f"{s.model_changes_per_year:g} model changes/year, {s.framework_mix.label()}, "
        f"training share {s.training_share:.0%}, {s.horizon_years:g} years"
    )
    if rec is None:
        print("No device is available for this scenario.")
    else:
        print(f"\nRecommendation: {rec.name} ({rec.plan} plan)")
        for reason in rec.reasons:
            print(f"  - {reason}")
    rows = []
    for o in result.options:
        rows.append(
            {
                "device": o.device_id,
                "kind": o.kind,
                "devices": o.devices_needed if o.available else "–",
                "throughput": ("m " if o.throughput_measured else "e ")
                + (f"{o.throughput_per_device_rps:,.3g}" if o.throughput_per_device_rps else "–"),
                "total cost": usd(o.tco_usd),
                "per M req": usd(o.cost_per_million_requests_usd)
                if o.cost_per_million_requests_usd is None or o.cost_per_million_requests_usd >= 1
                else f"${o.cost_per_million_requests_usd:.3f}",
                "porting": usd(o.porting_cost_usd),
                "kW": _fmt(o.facility_power_kw, 1),
                "tCO2/yr": _fmt(o.co2_tonnes_per_year, 1),
                "note": "" if o.available else (o.unavailable_reason or "")[:70],
            }
        )
    print()
    print(pd.DataFrame(rows).to_string(index=False))
    print("\nthroughput per device in requests/s: m = measured, e = estimated; kW at the facility (x PUE)")
    if "uncertainty" in extra:
        u = extra["uncertainty"]
        p = u["probability_accelerator_cheaper"]
        print(
            f"\nUncertainty ({u['draws']:,} draws, seed {u['seed']}): the best accelerator is cheaper than "
            f"the best GPU in {'–' if p is None else f'{p:.0%}'} of draws"
        )
        for o in u["options"][:5]:
            print(
                f"  {o['device_id']:24s} P10 {usd(o['p10_usd']):>9s}  P50 {usd(o['p50_usd']):>9s}  "
                f"P90 {usd(o['p90_usd']):>9s}"
            )
        print("Inputs that move the recommended option's total most (tornado):")
        for row in extra["tornado"][:5]:
            flip = "  <- can flip the recommendation" if row["flips"] else ""
            print(
                f"  {row['input']:32s} {usd(row['total_at_low_usd']):>9s} .. "
                f"{usd(row['total_at_high_usd']):>9s}{flip}"
            )
    if "breakeven_map" in extra:
        grid = pd.DataFrame(extra["breakeven_map"])
        table = grid.pivot(index="model_changes_per_year", columns="requests_per_day", values="winner")
        print(
            f"\nBreak-even map ({args.map_size} x {args.map_size}): A = accelerator cheaper, G = GPU "
            "cheaper; rows: model changes per year (top 52), columns: requests per day (100 to 500 B)"
        )
        for changes, row in table.sort_index(ascending=False).iterrows():
            print(f"  {changes:5.1f} " + "".join("A" if w == "accelerator" else "G" for w in row))
    if result.crossover_requests_per_day is not None:
        print(
            f"Crossover: {volume(result.crossover_requests_per_day)} requests/day ({result.crossover_note})"
        )
    else:
        print(f"Crossover: none ({result.crossover_note})")
    return EXIT_OK


def _validate_command(args: argparse.Namespace) -> int:
    from .validate import TARGET_ERROR, leave_one_out, summarise

    loo = leave_one_out(load_catalog(*args.catalog))
    summary = summarise(loo)
    if args.format == "json":
        out = {
            "median_error": summary.median_error,
            "target": TARGET_ERROR,
            "within_target": summary.within_target,
            "by_group": _records(summary.by_group),
            "ranks": _records(summary.ranks),
            "results": _records(loo),
        }
        print(json.dumps(out, indent=2, default=str, allow_nan=False))
        return EXIT_OK
    pct = lambda x: "–" if x != x else f"{x:.0%}"  # noqa: E731
    print(
        f"Median error of held-out throughput estimates: {pct(summary.median_error)} "
        f"(target {pct(TARGET_ERROR)}: {'met' if summary.within_target else 'missed'})\n"
    )
    g = summary.by_group
    print(
        pd.DataFrame(
            {
                "group": g.group,
                "results": g.results,
                "median error": g.median_error.map(pct),
                "worst": g.worst_error.map(pct),
                "perf/W results": g.ppw_results,
                "perf/W median": g.ppw_median_error.map(pct),
                "perf/W worst": g.ppw_worst_error.map(pct),
            }
        ).to_string(index=False)
    )
    print()
    r = summary.ranks
    print(
        pd.DataFrame(
            {
                "workload": r.workload,
                "devices": r.devices,
                "rank correlation": r.spearman.round(2),
                "contradicted pairs": r.contradicted_pairs,
                "which": r.contradictions,
            }
        ).to_string(index=False)
    )
    print(
        "\nEfficiency factors the model uses (measured / roofline, geometric mean over each workload's "
        "comparable measurements; refitted from the catalog on every load):"
    )
    from .calc import fit_efficiency

    cat = load_catalog(*args.catalog)
    for wid in sorted(cat.workloads.id):
        eff, n = fit_efficiency(cat, wid)
        pooled = "" if any(loo.workload == wid) else "; none on this workload: all workloads pooled"
        print(f"  {wid:18s} {eff:6.3f}  (from {n} measurements{pooled})")
    print()
    print(
        pd.DataFrame(
            {
                "workload": loo.workload,
                "device": loo.device_id,
                "measured": loo.measured_rps.map("{:,.3g}".format),
                "estimated": loo.estimated_rps.map("{:,.3g}".format),
                "error": loo.signed_error.map("{:+.0%}".format),
                "source": loo.source_title.str.slice(0, 60),
            }
        ).to_string(index=False)
    )
    return EXIT_OK


def _app_command(args: argparse.Namespace) -> int:
    from .serve import voila_argv

    if args.ip in ("0.0.0.0", "::"):  # every address of this machine: visitors use its network name
        where = f"http://<this machine's address>:{args.port}/ (here: http://localhost:{args.port}/)"
    else:
        where = f"http://{'localhost' if args.ip == '127.0.0.1' else args.ip}:{args.port}/"
    print(f"The explorer is served at {where} (Ctrl-C stops it)", flush=True)
    options = {"max_sessions": args.max_sessions, "pool_size": args.pool}
    options = {k: v for k, v in options.items() if v is not None}
    argv = voila_argv(port=args.port, ip=args.ip, **options)
    # This process becomes the server, so a stop signal (a service manager's SIGTERM) reaches it and it
    # shuts its kernels down; a child process would be orphaned with its kernels.
    os.execv(argv[0], argv)
    return EXIT_OK  # not reached


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "catalog":
            return _catalog_command(args)
        if args.command == "evaluate":
            return _evaluate_command(args)
        if args.command == "app":
            return _app_command(args)
        if args.command == "validate":
            return _validate_command(args)
        parser.error(f"unknown command {args.command!r}")
    except ScenarioError as err:
        print(f"accel-explorer: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except CatalogError as err:
        print(f"accel-explorer: the catalog has {len(err.issues)} problem(s):", file=sys.stderr)
        for issue in err.issues:
            print(f"  {issue}", file=sys.stderr)
        return EXIT_USAGE
    except ValueError as err:
        from .calc import ModelError

        if not isinstance(err, ModelError):
            raise
        print(f"accel-explorer: the catalog cannot be used by the model: {err}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # `accel-explorer catalog devices | head`
        return EXIT_OK
    except Exception as err:  # a bug: one line, not a traceback (ACCEL_EXPLORER_DEBUG=1 shows it)
        import os

        if os.environ.get("ACCEL_EXPLORER_DEBUG"):
            raise
        print(
            f"accel-explorer: internal error ({type(err).__name__}: {err}); please report it, with the "
            "command line. Set ACCEL_EXPLORER_DEBUG=1 for the details.",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())

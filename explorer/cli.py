"""The ``accel-explorer`` command line.

Bad input exits with status 2 and says which file or flag, what was wrong and what is allowed; it never
prints a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from .catalog import USER_CATALOG_ENV, Catalog, CatalogError, load_catalog
from .scenario import FIELD_SPECS, SPECS, Described, Scenario, ScenarioError, parse_text, shown_value
from .serve import MAX_SESSIONS, POOL_SIZE

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the problem and where the help is, exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse quotes the offending text whole: shorten any long run (a 5000-digit number)
        message = re.sub(r"\S{120,}", lambda m: shown_value(m.group(), 80), _one_line(message))
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _path(path: str) -> Described:
    """A file name as a message shows it: whole, unless very long (then its end, which names the file)."""
    text = _one_line(path)
    return Described(text if len(text) <= 200 else "..." + text[-150:])


def _one_line(text: str) -> str:
    """A message as one terminal line: line breaks and control characters escaped."""
    return re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]", lambda m: repr(m.group())[1:-1], str(text))


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


def _count(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number of at most 18 digits, from `minimum` (to `maximum`)."""
    allowed = (
        f"allowed: a whole number from {minimum:,} to {maximum:,}"
        if maximum is not None
        else f"allowed: a whole number of at least {minimum:,}"
    )

    def parse(text: str) -> int:
        try:
            if len(text.strip()) > 18:
                raise ValueError
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{shown_value(text)!r} is not a whole number; {allowed}"
            ) from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is too small; {allowed}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"{value} is too large; {allowed}")
        return value

    return parse


def _map_size(text: str) -> int:
    """--map: 0 (no map) or a grid size from 2 to 200."""
    value = _count(0, 200)(text)
    if value == 1:
        raise argparse.ArgumentTypeError("1 is too small; allowed: a grid size from 2 to 200 (0: no map)")
    return value


#: numpy's seeds: the same seed gives the same draws.
MAX_SEED = 2**32 - 1


_positive_int, _non_negative_int = _count(1), _count(0)


def _port(text: str) -> int:
    """A TCP port: 1 to 65535 (Voila would otherwise listen elsewhere than the URL printed)."""
    value = _count(1)(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"{value} is too large: a port is 1 to 65535")
    return value


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
        help="how good are the throughput estimates: held out against every measured result",
        description="For every comparable measured result, estimate it with the model's own estimator with "
        "data held out of the efficiency fit (--hold-out device: all of the device's results; result: that "
        "result only) and compare with the measurement. Prints the error per device group and workload, "
        "rank agreement per workload, the pairs off by more than 2x with their reasons, and every residual "
        "with its source.",
    )
    val.add_argument("--format", choices=["table", "json"], default="table")
    val.add_argument(
        "--hold-out",
        choices=["device", "result"],
        default="device",
        help="what is removed from the fit for each result: all of its device's results (default: as for "
        "a device the catalog has never measured) or the one result",
    )
    _add_catalog_dirs(val)

    app = commands.add_parser(
        "app",
        help="serve the explorer app with Voila (offline, code hidden) and print its URL",
        description="Serve notebooks/app.ipynb with Voila on this machine. Ctrl-C stops it.",
    )
    app.add_argument("--port", type=_port, default=8866, help="port to listen on (default 8866)")
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

    room = commands.add_parser(
        "workshop",
        help="serve a workshop to a room: JupyterLab with the notebooks and the app, and print its URLs",
        description="Serve JupyterLab over a room folder (a copy of the notebooks, one workshop notebook per "
        "seat) with the app at /voila/render/app.ipynb, protected by a token, and print the URLs to give "
        "the room. Whoever has the token can run code on this machine: share it only with the room. "
        "Ctrl-C stops it. See notebooks/WORKSHOP.md.",
    )
    room.add_argument("--port", type=_port, default=8888, help="port to listen on (default 8888)")
    room.add_argument(
        "--ip",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0: the room's network)",
    )
    room.add_argument(
        "--dir",
        default="accel-workshop",
        metavar="DIR",
        help="the room folder, created if missing; files already in it are kept, so a restart keeps "
        "everyone's work (default ./accel-workshop)",
    )
    room.add_argument(
        "--seats",
        type=_non_negative_int,
        default=30,
        help="copies of the workshop notebook, one per learner, in DIR/seats/ (default 30)",
    )
    room.add_argument("--token", default=None, help="the token (default: a new random one)")

    ev = commands.add_parser(
        "evaluate",
        help="size, cost and rank every device for a scenario, with a recommendation",
        description="Evaluate a deployment scenario over every device in the catalog. Every scenario field "
        "is a flag; --scenario FILE.json gives them all at once (flags override the file).",
    )
    ev.add_argument("--scenario", metavar="FILE.json", help="a scenario as JSON (keys as the flags, with _)")
    for spec in SPECS:
        default = (
            ("none" if spec.kind == "id" else "from the catalog")
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
        type=_count(0, 1_000_000),
        default=10_000,
        metavar="N",
        help="Monte Carlo draws for the uncertainty analysis (default 10000; 0 skips it)",
    )
    ev.add_argument(
        "--seed",
        type=_count(0, MAX_SEED),
        default=0,
        help=f"random seed, 0 to {MAX_SEED:,}: the same seed gives the same figures",
    )
    ev.add_argument(
        "--map",
        type=_map_size,
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
        from .catalog.files import MAX_JSON_BYTES, InputRefused, read_text

        # Only a regular UTF-8 file of at most 1 MB is read: not a FIFO, a device or a link loop.
        try:
            text = read_text(args.scenario, MAX_JSON_BYTES, "a scenario file")
        except InputRefused as err:
            raise ScenarioError(
                "--scenario", _path(args.scenario), f"the file cannot be read: it {err}; allowed: a JSON file"
            ) from None
        try:
            data = Scenario.from_json(text).to_dict()
        except ScenarioError as err:  # name the file as well as the field
            field_name = f"--scenario {_path(args.scenario)}"
            field_name += f": {err.field}" if err.field != "scenario" else ""
            raise ScenarioError(field_name, Described(shown_value(err.value)), err.allowed) from None
    for name, spec in FIELD_SPECS.items():
        raw = getattr(args, name)
        if raw is not None:
            data[name] = parse_text(spec, raw)
    return Scenario.from_dict(data)


def _breakeven(scenario: Scenario, cat: Catalog, n: int) -> pd.DataFrame:
    from .calc import breakeven_grid, breakeven_map

    return breakeven_map(scenario, *breakeven_grid(n), cat)


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
    # Only a regular file is written: opening a FIFO would wait for a reader forever, a device is no file.
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(target, flags, 0o666)
    except OSError as err:
        import errno

        why = "it is a FIFO (named pipe) with no reader" if err.errno == errno.ENXIO else err.strerror
        raise ScenarioError("--export", _path(target), f"the file cannot be written ({why})") from None
    try:
        import stat

        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ScenarioError(
                "--export", _path(target), "not a regular file; allowed: a file to (over)write"
            )
        os.ftruncate(fd, 0)
        with os.fdopen(fd, "w", encoding="utf-8", newline="", closefd=False) as fh:
            fh.write(content)
    except OSError as err:
        raise ScenarioError(
            "--export", _path(target), f"the file cannot be written ({err.strerror})"
        ) from None
    finally:
        os.close(fd)
    print(f"wrote {target}", file=sys.stderr)


def _evaluate_command(args: argparse.Namespace) -> int:
    from . import fmt
    from .calc import evaluate

    usd = fmt.usd

    scenario = scenario_from_args(args)
    for target in args.export:
        if not target.lower().endswith((".json", ".csv", ".html")):
            raise ScenarioError(
                "--export", _path(target), "allowed: a file name ending in .json, .csv or .html"
            )
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
        f"Scenario: {fmt.requests_per_day(s.requests_per_day)} of {s.workload}, {s.deployment}, "
        f"{s.model_changes_per_year:g} model changes/year, {s.framework_mix.label()}, "
        f"training share {s.training_share:.0%}, {s.horizon_years:g} years"
    )
    if rec is None:
        print("No device is available for this scenario.")
    else:
        print(f"\nRecommendation: {rec.name} ({rec.plan} plan)")
        for reason in rec.reasons:
            print(f"  - {reason}")
    table = pd.DataFrame(fmt.option_rows(result, by="id"))
    note = table.pop("note").str.slice(0, 70)
    print()
    # the reasons a device is unavailable, left-aligned after the figures
    lines = table.to_string(index=False).splitlines()
    print("\n".join(f"{line}  {n}".rstrip() for line, n in zip(lines, ["note", *note], strict=True)))
    print(
        "\nthroughput per device in requests/s: m = measured, e = estimated; power, energy and CO2 at the "
        "facility (x PUE); – where no source gives the device's power"
    )
    if "uncertainty" in extra:
        u = extra["uncertainty"]
        p = u["probability_accelerator_cheaper"]
        print(
            f"\nUncertainty ({u['draws']:,} draws, seed {u['seed']}): the best accelerator is cheaper than "
            f"the best GPU in {fmt.odds(p)} of draws"
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
            f"Crossover: {fmt.requests_per_day(result.crossover_requests_per_day)} ({result.crossover_note})"
        )
    else:
        print(f"Crossover: none ({result.crossover_note})")
    return EXIT_OK


def _validate_command(args: argparse.Namespace) -> int:
    from .validate import TARGET_ERROR, leave_one_out, summarise

    loo = leave_one_out(load_catalog(*args.catalog), args.hold_out)
    summary = summarise(loo)
    if args.format == "json":
        out = {
            "hold_out": args.hold_out,
            "median_error": summary.median_error,
            "off_by_2x": _records(summary.off),
            "target": TARGET_ERROR,
            "within_target": summary.within_target,
            "by_group": _records(summary.by_group),
            "ranks": _records(summary.ranks),
            "results": _records(loo),
        }
        print(json.dumps(out, indent=2, default=str, allow_nan=False))
        return EXIT_OK
    pct = lambda x: "–" if x != x else f"{x:.0%}"  # noqa: E731
    held = "all of its device's results" if args.hold_out == "device" else "the result alone"
    print(
        f"Median error of held-out throughput estimates ({held} held out): {pct(summary.median_error)} "
        f"over {len(loo)} results (target {pct(TARGET_ERROR)}: "
        f"{'met' if summary.within_target else 'missed'}); {len(summary.off)} off by more than 2x\n"
    )
    for o in summary.off.itertuples():
        print(f"  off {o.factor:.2f}x: {o.workload} on {o.device_id}: {o.reason}")
    if len(summary.off):
        print()
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
        "\nEfficiency factors the model uses (measured / roofline at the formats each run used, never above "
        "1; geometric mean over one result per measured device; refitted from the catalog on every load):"
    )
    from .calc import fit_efficiency

    cat = load_catalog(*args.catalog)
    for wid in sorted(cat.workloads.id):
        eff = fit_efficiency(cat, wid)
        print(f"  {wid:18s} {eff.value:6.3f}  (from {eff.basis})")
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


def _workshop_command(args: argparse.Namespace) -> int:
    from . import room

    token = args.token if args.token is not None else room.new_token()
    if not room.port_free(args.ip, args.port):
        where = f"it is in use on {args.ip}, or that address is not this machine's"
        raise ScenarioError("--port", args.port, f"{where}; allowed: a free port, e.g. --port 8890")
    if not token or any(c.isspace() or c in "&#?/" for c in token):
        raise ScenarioError("--token", token, "allowed: letters, digits, '-' and '_', not empty")
    try:
        prepared = room.prepare_room(args.dir, args.seats)
    except OSError as err:
        raise ScenarioError("--dir", args.dir, f"the room folder cannot be made ({err.strerror})") from None
    print(
        f"The workshop is served from {prepared.folder.resolve()} ({len(prepared.added)} files added; the "
        "learners' work is saved there). Give the room:",
        flush=True,
    )
    for line in room.urls(args.ip, args.port, token, prepared.seats):
        print(f"  {line}", flush=True)
    print("Whoever has the token can run code on this machine. Ctrl-C stops the server.", flush=True)
    argv = room.lab_argv(prepared.folder, port=args.port, ip=args.ip, token=token)
    # as for `app`: this process becomes the server, so Ctrl-C and SIGTERM reach it and it stops its kernels
    os.execv(argv[0], argv)
    return EXIT_OK  # not reached


def main(argv: Sequence[str] | None = None) -> int:
    from .startup import prepare_process

    prepare_process()  # before anything imports altair (the exports do)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "catalog":
            return _catalog_command(args)
        if args.command == "evaluate":
            return _evaluate_command(args)
        if args.command == "app":
            return _app_command(args)
        if args.command == "workshop":
            return _workshop_command(args)
        if args.command == "validate":
            return _validate_command(args)
        parser.error(f"unknown command {args.command!r}")
    except ScenarioError as err:
        print(f"accel-explorer: error: {_one_line(err)}", file=sys.stderr)
        return EXIT_USAGE
    except CatalogError as err:
        if len(err.issues) == 1:  # one problem: one line
            print(f"accel-explorer: the catalog has a problem: {_one_line(err.issues[0])}", file=sys.stderr)
            return EXIT_USAGE
        print(f"accel-explorer: the catalog has {len(err.issues)} problem(s):", file=sys.stderr)
        for issue in err.issues:
            print(f"  {_one_line(issue)}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # `accel-explorer catalog devices | head`
        return EXIT_OK
    except KeyboardInterrupt:  # Ctrl-C: stop quietly, as a shell command does
        print("accel-explorer: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # a bug: one line, not a traceback (ACCEL_EXPLORER_DEBUG=1 shows it)
        from .calc import ModelError

        if isinstance(err, ModelError):
            print(
                f"accel-explorer: the catalog cannot be used by the model: {_one_line(err)}",
                file=sys.stderr,
            )
            return EXIT_USAGE
        if os.environ.get("ACCEL_EXPLORER_DEBUG"):
            raise
        print(
            f"accel-explorer: internal error ({type(err).__name__}: {shown_value(str(err), 300)}); please "
            "report it, with the command line. Set ACCEL_EXPLORER_DEBUG=1 for the details.",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())

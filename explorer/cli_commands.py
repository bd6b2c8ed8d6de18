"""The ``accel-explorer`` subcommands past the catalog: evaluate (with uncertainty, the break-even map and
exports), validate, app and workshop. Each returns the exit status; bad input raises ScenarioError."""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from types import SimpleNamespace
from typing import Any

import pandas as pd

from .catalog import Catalog, load_catalog
from .cli_args import EXIT_OK, MAX_DRAWS, shown_path
from .cli_tables import records
from .scenario import FIELD_SPECS, Described, Scenario, ScenarioError, parse_text, shown_value

NOTE_WIDTH = 70  # the evaluate table's note column: the most characters of a device's reason


def scenario_from_args(args: argparse.Namespace) -> Scenario:
    data: dict[str, Any] = {}
    if args.scenario is not None:  # "" too: an empty name is no file, not "no file given"
        from .catalog.files import MAX_JSON_BYTES, InputRefused, read_text

        if not args.scenario.strip():
            raise ScenarioError("--scenario", args.scenario, "allowed: the name of a JSON file")

        # Only a regular UTF-8 file of at most 1 MB is read: not a FIFO, a device or a link loop.
        try:
            text = read_text(args.scenario, MAX_JSON_BYTES, "a scenario file")
        except InputRefused as err:
            raise ScenarioError(
                "--scenario",
                shown_path(args.scenario),
                f"the file cannot be read: it {err}; allowed: a JSON file",
            ) from None
        try:
            data = Scenario.from_json(text).to_dict()
        except ScenarioError as err:  # name the file as well as the field
            field_name = f"--scenario {shown_path(args.scenario)}"
            # "scenario" names the whole object, unless the file holds a key of that name
            whole = err.field == "scenario" and "unknown field" not in err.allowed
            field_name += "" if whole else f": {err.field}"
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
            "options": records(mc.options.sort_values("p50_usd")),
        },
        "tornado": records(td),
    }


def _export(result: Any, cat: Catalog, target: str) -> None:
    from . import export

    ext = target.lower().rsplit(".", 1)[-1]
    text = {"json": export.scenario_json, "csv": export.results_csv}.get(ext)
    # encoded before the file is opened: nothing the user had in it is lost to a failure on the way
    data = (text(result) if text else export.report_html(result, cat)).encode("utf-8")
    # Only a regular file is written: opening a FIFO would wait for a reader forever, a device is no file.
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(target, flags, 0o666)
    except OSError as err:
        import errno

        why = "it is a FIFO (named pipe) with no reader" if err.errno == errno.ENXIO else err.strerror
        raise ScenarioError("--export", shown_path(target), f"the file cannot be written ({why})") from None
    try:
        import stat

        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ScenarioError(
                "--export", shown_path(target), "not a regular file; allowed: a file to (over)write"
            )
        os.ftruncate(fd, 0)
        with os.fdopen(fd, "wb", closefd=False) as fh:
            fh.write(data)
    except OSError as err:
        raise ScenarioError(
            "--export", shown_path(target), f"the file cannot be written ({err.strerror})"
        ) from None
    finally:
        os.close(fd)
    print(f"wrote {target}", file=sys.stderr)


def evaluate_command(args: argparse.Namespace) -> int:
    from . import fmt
    from .calc import evaluate

    usd = fmt.usd

    scenario = scenario_from_args(args)
    for target in args.export:
        if not target.lower().endswith((".json", ".csv", ".html")):
            raise ScenarioError(
                "--export", shown_path(target), "allowed: a file name ending in .json, .csv or .html"
            )
    cat = load_catalog(*args.catalog)
    result = evaluate(scenario, cat)
    for target in args.export:
        _export(result, cat, target)
    if not 0 <= args.draws <= MAX_DRAWS:
        raise ScenarioError("--draws", args.draws, f"allowed: a whole number from 0 to {MAX_DRAWS:,}")
    extra = _uncertainty(scenario, cat, args.draws, args.seed) if args.draws else {}
    if not (args.map_size == 0 or 2 <= args.map_size <= 200):
        raise ScenarioError("--map", args.map_size, "allowed: a grid size from 2 to 200 (0: no map)")
    if args.map_size:
        extra["breakeven_map"] = records(_breakeven(scenario, cat, args.map_size))
    if args.format == "json":
        print(json.dumps({**result.to_dict(), **extra}, indent=2, default=str, allow_nan=False))
        return EXIT_OK
    rec = result.recommendation
    s = scenario
    print(
        f"Scenario: {fmt.requests_per_day(s.requests_per_day)} of "
        f"{s.custom_name if result.custom_workload else s.workload}, {s.deployment}, "
        f"{s.model_changes_per_year:g} model changes/year, {s.framework_mix.label()}, "
        f"training share {s.training_share:.0%}"
        + (f" ({s.elastic_training_share:.0%} elastic)" if s.training_share > 0 else "")
        + (f", {s.spare_servers:g} spare server(s)" if s.deployment == "bare-metal" else "")
        + f", {s.horizon_years:g} years"
    )
    if rec is None:
        print("No device is available for this scenario.")
    else:
        print(f"\nRecommendation: {rec.name} ({rec.plan} plan)")
        for reason in rec.reasons:
            print(f"  - {reason}")
    table = pd.DataFrame(fmt.option_rows(result, by="id"))
    # a long reason is cut at a word, and says so; the JSON output has each in full
    note = table.pop("note").map(lambda t: textwrap.shorten(t, NOTE_WIDTH, placeholder=" …") if t else t)
    print()
    # the reasons a device is unavailable, left-aligned after the figures
    lines = table.to_string(index=False).splitlines()
    print("\n".join(f"{line}  {n}".rstrip() for line, n in zip(lines, ["note", *note], strict=True)))
    cut = any(n.endswith(" …") for n in note)
    print(
        ("\n" + fmt.FORMAT_KEY if "format" in table else "")
        + f"\nthroughput per device in requests/s: {fmt.BASIS_KEY}; power, energy and CO2 at the "
        "facility (x PUE); – where no source gives the device's power"
        + ("; a note that ends in … is cut short (--format json gives it whole)" if cut else "")
    )
    if result.api_options:  # LLMs: serverless APIs priced per token (explorer.model.custom)
        print("\nServerless APIs, priced per token (no hardware, no porting; the provider's weights):")
        for o in result.api_options:
            cost = f"{usd(o.tco_usd)}, {fmt.usd_per_million(o.cost_per_million_requests_usd)}"
            print(f"  {o.name[:64]:64s}  {cost if o.available else o.unavailable_reason}")
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
        bands = SimpleNamespace(options=pd.DataFrame(u["options"]))
        if note := fmt.band_note(result, bands):
            print(f"  {note}")
        print("Inputs that move the recommended option's total most (tornado):")
        shown = extra["tornado"][:5]
        width = max((len(row["input"]) for row in shown), default=0)
        for row in shown:
            flip = "  <- can flip the recommendation" if row["flips"] else ""
            print(
                f"  {row['input']:{width}s} {usd(row['total_at_low_usd']):>9s} .. "
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


def market_command(args: argparse.Namespace) -> int:
    """``validate --market``: the tool's cost per million tokens beside each published one."""
    from .validate import MARKET_FACTOR, market_check, summarise_market

    m = summarise_market(market_check(load_catalog(*args.catalog)))
    if args.format == "json":
        out = {
            "target_factor": MARKET_FACTOR,
            "points": len(m.points),
            "matched": m.matched,
            "within": m.within,
            "independent": m.independent,  # matched points the catalog took no figure from
            "independent_within": m.independent_within,
            "worst_factor": None if m.worst_factor != m.worst_factor else m.worst_factor,
            "results": records(m.points),
            "order": {"compared": m.order_compared, "contradicted": records(m.order)},
        }
        print(json.dumps(out, indent=2, default=str, allow_nan=False))
        return EXIT_OK
    print(f"Market check: {m.count_words()} of the published cost per million tokens ({m.served_words()})\n")
    usd = lambda x: "–" if x != x else f"${x:.2f}"  # noqa: E731
    for p in m.points.itertuples():
        factor = "–" if p.factor != p.factor else f"{p.factor:.2f}x"
        print(
            f"  {p.device_id} on {p.workload} at {p.tokens_per_s_per_user:g} tokens/s per user "
            f"({p.publisher}, {p.software}, {p.precision_words}; as of {p.as_of}): published "
            f"{usd(p.published_usd_per_mtoken)}, tool {usd(p.tool_usd_per_mtoken)} per million "
            f"{p.per_tokens}: {factor}{' (within)' if p.within else ''}"
        )
        if p.why:
            print(f"      {p.why}")
        print(f"      source: {p.source_title} <{p.source_url}>")
    print(f"\n{m.order_words()}")
    for what, why in m.order_lines():
        print(f"  {what}")
        print(f"      why: {why}")
    return EXIT_OK


def validate_command(args: argparse.Namespace) -> int:
    from .validate import TARGET_ERROR, leave_one_out, measured_by_us, summarise

    if getattr(args, "market", False):
        return market_command(args)
    cat = load_catalog(*args.catalog)
    loo = leave_one_out(cat, args.hold_out)
    summary = summarise(loo)
    ours = measured_by_us(cat)
    if args.format == "json":
        out = {
            "hold_out": args.hold_out,
            "median_error": summary.median_error,
            "off_by_2x": records(summary.off),
            "target": TARGET_ERROR,
            "within_target": summary.within_target,
            "by_group": records(summary.by_group),
            "ranks": records(summary.ranks),
            "results": records(loo),
            "measured_by_us": records(ours),
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
    if len(ours):
        print(
            "\nMeasured by us (python -m explorer.measure: plain PyTorch, random weights; not in the fit): "
            "each run's figure, the share of the device's roofline it reached, and the model's estimate "
            "for the device with all of its own results held out:"
        )
        print(
            pd.DataFrame(
                {
                    "workload": ours.workload,
                    "device": ours.device_id,
                    "formats": ours.formats,
                    "measured": ours.measured_rps.map("{:,.3g}".format),
                    "of roofline": ours.share_of_roofline.map(pct),
                    "model": ours.estimated_rps.map("{:,.3g}".format),
                    "model/measured": ours.estimate_over_measured.map("{:.2f}x".format),
                    "board W": ours.board_power_w.map("{:.0f}".format),
                }
            ).to_string(index=False)
        )
    return EXIT_OK


def _port_in_use(ip: str, port: int) -> str | None:
    """Why the server could not listen at ``ip:port`` (another program holds it), or None where it can."""
    import socket

    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds: TIME_WAIT is free
        try:
            probe.bind((ip, port))
        except OSError as err:
            return err.strerror or str(err)
    return None


def app_command(args: argparse.Namespace) -> int:
    from .serve import voila_argv

    busy = _port_in_use(args.ip, args.port)
    if busy:  # said before anything is printed as served: a second `make app` found the first's port taken
        raise ScenarioError(
            "--port",
            args.port,
            f"the server cannot listen there ({busy}: is the explorer already running?); allowed: a free "
            f"port, e.g. --port {args.port + 1} (make app PORT={args.port + 1})",
        )

    if args.ip in ("0.0.0.0", "::"):  # every address of this machine: visitors use its network name
        where = f"http://<this machine's address>:{args.port}/ (here: http://localhost:{args.port}/)"
    else:
        where = f"http://{'localhost' if args.ip == '127.0.0.1' else args.ip}:{args.port}/"
    print(f"The explorer is served at {where} (Ctrl-C stops it)", flush=True)
    options = {
        "max_sessions": args.max_sessions,
        "pool_size": args.pool,
        "sessions_per_client": args.sessions_per_client,
    }
    options = {k: v for k, v in options.items() if v is not None}
    argv = voila_argv(port=args.port, ip=args.ip, **options)
    # This process becomes the server, so a stop signal (a service manager's SIGTERM) reaches it and it
    # shuts its kernels down; a child process would be orphaned with its kernels.
    os.execv(argv[0], argv)
    return EXIT_OK  # not reached


def workshop_command(args: argparse.Namespace) -> int:
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

"""The ``accel-explorer`` command line's arguments: the parser, its subcommands and flags (each scenario
flag generated from the Scenario's declaration), and the checks on numbers, ports and file names.

A usage error is one line naming the problem and where the help is, exit 2."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable

from .catalog import USER_CATALOG_ENV
from .catalog.check import one_line
from .scenario import SPECS, Described, shown_value
from .serve import MAX_SESSIONS, POOL_SIZE, SESSIONS_PER_CLIENT

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the problem and where the help is, exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse quotes the offending text whole: shorten any long run (a 5000-digit number)
        message = re.sub(r"\S{120,}", lambda m: shown_value(m.group(), 80), one_line(message))
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def shown_path(path: str) -> Described:
    """A file name as a message shows it: whole, unless very long (then its end, which names the file)."""
    text = one_line(path)
    return Described(text if len(text) <= 200 else "..." + text[-150:])


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


#: Monte Carlo draws one evaluation may ask for: each holds about 12 KB (a million took 11.8 GB and 40 s).
MAX_DRAWS = 100_000
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
    val.add_argument(
        "--market",
        action="store_true",
        help="instead: compare the tool's cost per million tokens with published serving analyses "
        "(catalog/market: SemiAnalysis InferenceX, Artificial Analysis), each on its own conditions "
        "(tokens per request, tokens/s per user, precision, GPU-hour price basis)",
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
    app.add_argument(
        "--sessions-per-client",
        type=_positive_int,
        default=None,
        help="most visitor kernels one client address may hold: raise it to the seats of a room whose "
        f"laptops reach the server through one address (NAT) (default {SESSIONS_PER_CLIENT})",
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
        type=_count(0, MAX_DRAWS),
        default=10_000,
        metavar="N",
        help=f"Monte Carlo draws for the uncertainty analysis, 0 to {MAX_DRAWS:,} (default 10000; 0 skips "
        "it; about 12 KB of memory a draw: 100,000 take 1.2 GB and a few seconds). The app's "
        "headline uses 500 (seed 0): --draws 500 gives its P10-P90 and odds exactly",
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

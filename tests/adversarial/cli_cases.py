"""The CLI and catalog folders: what a user could type or leave in a folder, run as a real subprocess.

Each case builds its input in a fresh folder, runs ``accel-explorer`` with a time limit and judges the
answer: a refusal must exit 2 with one line that names the flag, field or file, says what was wrong and
what is allowed; it must not show a traceback, the explorer's own code paths or raw control characters,
and it must come back (a FIFO or ``/dev/zero`` must not be read). An input that should be taken (``50 M``,
huge but finite framework weights) must give the right figure.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import Context, Outcome, case

CLI_TIMEOUT = 30.0  # a refusal takes about a second; past this the CLI is taken to hang
# The explorer's own code and the interpreter's, which a message must never show (the user's own file
# names are fine: the user typed them).
LEAKS = re.compile(r"Traceback|site-packages|\.venv|File \"|explorer/[a-z_]+\.py|lib/python3")
Build = Callable[[Path], list[str]]
Check = Callable[[Any], str | None]  # the parsed JSON output -> None if right, else what is wrong


def judge(done: Any, fragments: tuple[str, ...] = (), check: Check | None = None) -> tuple[Outcome, str]:
    """Classify one run: HANG, LEAK, INJECTION, CLEAR_ERROR, HELD or UNCLEAR, with a short detail."""
    if done is None:
        return Outcome.HANG, f"no answer within {CLI_TIMEOUT:.0f} s"
    out = done.stdout + done.stderr
    if LEAKS.search(out):
        return Outcome.LEAK, LEAKS.search(out).group()  # type: ignore[union-attr]
    if "\x1b" in out:
        return Outcome.INJECTION, "a raw terminal escape sequence reached the terminal"
    if check is not None:  # an input that must be taken, with the right figure
        if done.returncode != 0:
            return Outcome.UNCLEAR, f"refused (exit {done.returncode}): {done.stderr.strip()[:200]}"
        try:
            wrong = check(
                json.loads(done.stdout) if done.stdout.lstrip().startswith(("{", "[")) else done.stdout
            )
        except (ValueError, KeyError, TypeError) as err:
            return Outcome.UNCLEAR, f"unexpected output ({type(err).__name__}: {err})"
        return (Outcome.UNCLEAR, wrong) if wrong else (Outcome.HELD, "taken, with the right figure")
    lines = done.stderr.strip().splitlines()
    if done.returncode == 0:
        return Outcome.UNCLEAR, "accepted without a word"
    if done.returncode != 2 or "internal error" in done.stderr:
        return Outcome.UNCLEAR, f"exit {done.returncode}: {done.stderr.strip()[:200]}"
    # One line; or, for a catalog with several problems, a heading and one indented line per problem.
    several = re.fullmatch(r"accel-explorer: the catalog has \d+ problem\(s\):", lines[0] if lines else "")
    if len(lines) != 1 and not (several and all(line.startswith("  ") for line in lines[1:])):
        return Outcome.UNCLEAR, f"{len(lines)} lines, not one"
    missing = [f for f in fragments if f not in done.stderr]
    if missing or max(len(line) for line in lines) > 500:
        return Outcome.UNCLEAR, f"the message lacks {missing} or is too long: {done.stderr.strip()[:200]}"
    return Outcome.CLEAR_ERROR, " / ".join(lines)[:160]


def _register(
    area: str,
    name: str,
    build: Build,
    fragments: tuple[str, ...] = (),
    check: Check | None = None,
    core: bool = False,
) -> None:
    def run(ctx: Context) -> tuple[Outcome, str]:
        tmp = ctx.tmp()
        args = build(tmp)
        return judge(ctx.run_cli(*args, timeout=CLI_TIMEOUT, cwd=tmp), fragments, check)

    run.__qualname__ = f"cli_case_{area}_{name}"
    case(area, name, core=core, timeout=CLI_TIMEOUT + 30, needs=("cli",))(run)


# -- evaluate flags -------------------------------------------------------------------------------------


def _evaluate(*flags: str) -> Build:
    return lambda tmp: ["evaluate", "--draws", "20", *flags]


def _json_evaluate(*flags: str) -> Build:
    return lambda tmp: ["evaluate", "--draws", "0", "--format", "json", *flags]


def _volume_is(expected: float) -> Check:
    def check(out: Any) -> str | None:
        got = out["scenario"]["requests_per_day"]
        return None if got == expected else f"requests_per_day {got}, not {expected}"

    return check


def _half_and_half(out: Any) -> str | None:
    mix = out["scenario"]["framework_mix"]
    if abs(mix["pytorch"] - 0.5) > 1e-9 or abs(mix["jax"] - 0.5) > 1e-9:
        return f"shares {mix}, not half PyTorch, half JAX"
    if not any(o["porting_cost_usd"] for o in out["options"]):
        return "no porting cost on any device"
    return None


DIGITS = "9" * 5000
FLAG_CASES: list[tuple[str, Build, tuple[str, ...], Check | None, bool]] = [
    ("seed -1", _evaluate("--seed", "-1"), ("--seed", "0 to 4,294,967,295"), None, False),
    ("seed past 2^32", _evaluate("--seed", "4294967296"), ("--seed", "4,294,967,295"), None, False),
    ("seed of 5000 digits", _evaluate("--seed", DIGITS), ("--seed",), None, False),
    ("draws -1", _evaluate("--draws", "-1"), ("--draws", "0 to 1,000,000"), None, False),
    ("draws of 400 digits", _evaluate("--draws", "9" * 400), ("--draws",), None, False),
    ("map 1", _evaluate("--map", "1"), ("--map", "2 to 200"), None, False),
    ("map of 5000 digits", _evaluate("--map", DIGITS), ("--map",), None, False),
    ("volume nan", _evaluate("--requests-per-day", "nan"), ("requests_per_day", "not a finite"), None, False),
    ("volume of 5000 digits", _evaluate("--requests-per-day", DIGITS), ("requests_per_day",), None, False),
    ("volume 1e400", _evaluate("--requests-per-day", "1e400"), ("requests_per_day", "finite"), None, False),
    (
        "volume with a decimal comma",
        _evaluate("--requests-per-day", "2,5 M"),
        ("decimal comma",),
        None,
        False,
    ),
    ("volume 50 X", _evaluate("--requests-per-day", "50 X"), ("written like 50M",), None, False),
    ("volume 50M taken", _json_evaluate("--requests-per-day", "50M"), (), _volume_is(5e7), False),
    ("volume 2.5 B taken", _json_evaluate("--requests-per-day", "2.5 B"), (), _volume_is(2.5e9), False),
    ("volume 1,000,000 taken", _json_evaluate("--requests-per-day", "1,000,000"), (), _volume_is(1e6), False),
    (
        "framework weights 1e308",
        _json_evaluate("--framework-mix", "pytorch=1e308,jax=1e308"),
        (),
        _half_and_half,
        True,
    ),
    (
        "framework weight 1e309",
        _evaluate("--framework-mix", "pytorch=1e309"),
        ("framework_mix.pytorch",),
        None,
        False,
    ),
    (
        "framework mix empty",
        _evaluate("--framework-mix", ""),
        ("framework_mix", "not all be zero"),
        None,
        False,
    ),
    ("framework twice", _evaluate("--framework-mix", "pytorch=1,pytorch=2"), ("appear once",), None, False),
    (
        "framework of 5000 digits",
        _evaluate("--framework-mix", "pytorch=" + DIGITS),
        ("framework_mix",),
        None,
        False,
    ),
    ("workload with a line break", _evaluate("--workload", "a\nb"), ("workload: 'a\\nb'",), None, False),
    ("workload of 100 kB", _evaluate("--workload", "a" * 100_000), ("workload", "characters)"), None, False),
    ("workload with a terminal escape", _evaluate("--workload", "\x1b[31mred"), ("workload",), None, True),
    ("region as a path", _evaluate("--region", "../../etc/passwd"), ("region",), None, False),
    (
        "deployment with a bidi override",
        _evaluate("--deployment", "cloud\u202e"),
        ("deployment",),
        None,
        False,
    ),
    ("peak-to-average 1e400", _evaluate("--peak-to-average", "1e400"), ("peak_to_average",), None, False),
    ("utilization 0x10", _evaluate("--utilization", "0x10"), ("utilization",), None, False),
    ("horizon of 5000 digits", _evaluate("--horizon-years", DIGITS), ("horizon_years",), None, False),
    ("misspelt flag", _evaluate("--requests-per-dya", "5"), ("unrecognized arguments",), None, False),
    ("format xml", _evaluate("--format", "xml"), ("--format", "invalid choice"), None, False),
    ("export as .exe", _evaluate("--export", "out.exe"), ("--export", ".json, .csv or .html"), None, False),
    (
        "export into a missing folder",
        lambda tmp: ["evaluate", "--draws", "0", "--export", str(tmp / "no" / "out.json")],
        ("--export", "cannot be written"),
        None,
        False,
    ),
]


def _fifo(name: str) -> Build:
    def build(tmp: Path) -> list[str]:
        os.mkfifo(tmp / name)
        return ["evaluate", "--draws", "0", "--export", str(tmp / name)]

    return build


def _link_to(target: str, name: str = "out.json") -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        (tmp / name).symlink_to(target)
        return tmp / name

    return make


FLAG_CASES += [
    ("export to a FIFO", _fifo("out.json"), ("--export", "FIFO"), None, True),
    (
        "export to a link to /dev/null",
        lambda tmp: ["evaluate", "--draws", "0", "--export", str(_link_to("/dev/null")(tmp))],
        ("--export", "not a regular file"),
        None,
        False,
    ),
]

for _name, _build, _fragments, _check, _core in FLAG_CASES:
    _register("cli", _name, _build, _fragments, _check, _core)


# -- scenario files -------------------------------------------------------------------------------------


def _scenario(make: Callable[[Path], Path], *extra: str) -> Build:
    return lambda tmp: ["evaluate", "--draws", "0", *extra, "--scenario", str(make(tmp))]


def _file(content: str | bytes, name: str = "s.json", encoding: str = "utf-8") -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        data = content if isinstance(content, bytes) else content.encode(encoding)
        (tmp / name).write_bytes(data)
        return tmp / name

    return make


def _special(kind: str, name: str = "s.json") -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        path = tmp / name
        if kind == "fifo":
            os.mkfifo(path)
        elif kind == "folder":
            path.mkdir()
        elif kind == "self-link":
            path.symlink_to(name)
        elif kind == "dangling":
            path.symlink_to("nothing-here.json")
        return path

    return make


def _program(tmp: Path) -> Path:
    return Path(sys.executable).resolve()


def _takes(field: str, expected: Any) -> Check:
    def check(out: Any) -> str | None:
        got = out["scenario"][field]
        if isinstance(expected, dict):
            wrong = {k: v for k, v in expected.items() if abs(got[k] - v) > 1e-9}
            return f"{field} {got}, not {expected}" if wrong else None
        return None if got == expected else f"{field} {got}, not {expected}"

    return check


SCENARIO_CASES: list[tuple[str, Build, tuple[str, ...], Check | None, bool]] = [
    ("scenario is a program", _scenario(_program), ("--scenario", "binary file"), None, False),
    (
        "scenario in UTF-16",
        _scenario(_file('{"workload": "resnet-50"}', encoding="utf-16")),
        ("UTF-16",),
        None,
        False,
    ),
    (
        "scenario in UTF-16 without a byte-order mark",
        _scenario(_file('{"workload": "resnet-50"}', encoding="utf-16-le")),
        ("UTF-16",),
        None,
        False,
    ),
    (
        "scenario number of 5000 digits",
        _scenario(_file('{"requests_per_day": ' + DIGITS + "}")),
        ("5000 digits",),
        None,
        False,
    ),
    (
        "scenario number of 400 digits",
        _scenario(_file('{"requests_per_day": ' + "9" * 400 + "}")),
        ("400 digits",),
        None,
        False,
    ),
    (
        "scenario nested 100,000 deep",
        _scenario(_file("[" * 100_000 + "]" * 100_000)),
        ("nested",),
        None,
        False,
    ),
    ("scenario linking to itself", _scenario(_special("self-link")), ("leads back to itself",), None, False),
    ("scenario dangling link", _scenario(_special("dangling")), ("does not exist",), None, False),
    (
        "scenario linking to /dev/zero",
        _scenario(_link_to("/dev/zero", "s.json")),
        ("character device",),
        None,
        True,
    ),
    ("scenario is a FIFO", _scenario(_special("fifo")), ("FIFO",), None, True),
    ("scenario is a folder", _scenario(_special("folder")), ("folder",), None, False),
    (
        "scenario of 1.1 MB",
        _scenario(_file(" " * 1_100_000 + "{}")),
        ("the most allowed is 1 MB",),
        None,
        False,
    ),
    (
        "scenario with NaN",
        _scenario(_file('{"requests_per_day": NaN}')),
        ("not a finite number",),
        None,
        False,
    ),
    ("scenario with an unknown key", _scenario(_file('{"colour": 1}')), ("unknown field",), None, False),
    ("scenario as a list", _scenario(_file("[1, 2]")), ("JSON object",), None, False),
    ("scenario empty", _scenario(_file("")), ("malformed JSON",), None, False),
    (
        "scenario with a 900 kB workload",
        _scenario(_file('{"workload": "' + "a" * 900_000 + '"}')),
        ("workload",),
        None,
        False,
    ),
    (
        "scenario volume as text taken",
        _scenario(_file('{"requests_per_day": "50 M"}'), "--format", "json"),
        (),
        _takes("requests_per_day", 5e7),
        False,
    ),
    (
        "scenario mix as text taken",
        _scenario(_file('{"framework_mix": "pytorch=0.6,onnx=0.4"}'), "--format", "json"),
        (),
        _takes("framework_mix", {"pytorch": 0.6, "onnx": 0.4}),
        False,
    ),
    (
        "scenario with a UTF-8 byte-order mark taken",
        _scenario(_file(b'\xef\xbb\xbf{"requests_per_day": 2e8}'), "--format", "json"),
        (),
        _takes("requests_per_day", 2e8),
        False,
    ),
]

for _name, _build, _fragments, _check, _core in SCENARIO_CASES:
    _register("cli", _name, _build, _fragments, _check, _core)


# -- catalog folders ------------------------------------------------------------------------------------


def _folder(write: Callable[[Path], None], command: tuple[str, ...] = ("catalog", "check")) -> Build:
    def build(tmp: Path) -> list[str]:
        (tmp / "mine" / "devices").mkdir(parents=True)
        write(tmp / "mine")
        return [*command, "--catalog", str(tmp / "mine")]

    return build


def _device(content: str | bytes, encoding: str = "utf-8") -> Callable[[Path], None]:
    def write(user: Path) -> None:
        data = content if isinstance(content, bytes) else content.encode(encoding)
        (user / "devices" / "x.toml").write_bytes(data)

    return write


def _device_special(kind: str) -> Callable[[Path], None]:
    def write(user: Path) -> None:
        f = user / "devices" / "x.toml"
        if kind == "fifo":
            os.mkfifo(f)
        elif kind == "dev-zero":
            f.symlink_to("/dev/zero")
        elif kind == "self-link":
            f.symlink_to("x.toml")
        elif kind == "dangling":
            f.symlink_to("none.toml")
        elif kind == "loop-folder":
            (user / "devices" / "loop").symlink_to("..")
        elif kind == "many":
            for i in range(10_001):
                (user / "devices" / f"n{i}.txt").touch()
        elif kind == "newline-name":
            (user / "devices" / "x\n.toml").write_text('name = "x"\n', encoding="utf-8")

    return write


def _mixed_dates(user: Path) -> None:
    from explorer.catalog import default_catalog_dir

    text = (default_catalog_dir() / "workloads" / "llama-2-70b.toml").read_text(encoding="utf-8")
    (user / "workloads").mkdir()
    (user / "workloads" / "llama-2-70b.toml").write_text(
        text.replace("retrieved = 2026-11-24", "retrieved = 2026-11-24T10:00:00Z", 1), encoding="utf-8"
    )


def _huge_assumption(user: Path) -> None:
    (user / "assumptions").mkdir()
    (user / "assumptions" / "engineering.toml").write_text(
        'engineer_day_usd = { value = 1.7e308, unit = "USD/day", low = 1, high = 1.7e308 }\n',
        encoding="utf-8",
    )


def _catalog_ok(out: Any) -> str | None:
    return None if str(out).startswith("catalog OK") else f"not 'catalog OK': {str(out)[:120]}"


def _not_a_folder(target: str) -> Build:
    def build(tmp: Path) -> list[str]:
        (tmp / "cat").symlink_to(target)
        return ["catalog", "check", "--catalog", str(tmp / "cat")]

    return build


CATALOG_CASES: list[tuple[str, Build, tuple[str, ...], Check | None, bool]] = [
    ("FIFO named x.toml", _folder(_device_special("fifo")), ("x.toml", "FIFO"), None, True),
    ("link to /dev/zero", _folder(_device_special("dev-zero")), ("x.toml", "character device"), None, True),
    (
        "link to itself",
        _folder(_device_special("self-link")),
        ("x.toml", "leads back to itself"),
        None,
        False,
    ),
    ("dangling link", _folder(_device_special("dangling")), ("x.toml", "does not exist"), None, False),
    (
        "TOML nested 30,000 deep",
        _folder(_device("a = " + "[" * 30_000 + "]" * 30_000)),
        ("nested",),
        None,
        False,
    ),
    (
        "TOML dotted key of 30,000 parts",
        _folder(_device(".".join(["a"] * 30_000) + " = 1\n")),
        ("dotted key",),
        None,
        True,
    ),
    ("TOML integer of 400 digits", _folder(_device("a = " + "9" * 400)), ("400-digit integer",), None, False),
    ("TOML integer of 5000 digits", _folder(_device("a = " + DIGITS)), ("too many digits",), None, False),
    (
        "TOML float of 400 digits",
        _folder(_device("a = 1" + "0" * 400 + ".0")),
        ("not a finite number",),
        None,
        False,
    ),
    ("TOML nan", _folder(_device("a = nan")), ("not a finite number",), None, False),
    ("TOML in UTF-16", _folder(_device('name = "x"\n', "utf-16")), ("UTF-16",), None, False),
    ("binary file", _folder(_device(bytes(range(256)) * 4)), ("binary file",), None, False),
    ("file of 1.1 MB", _folder(_device('notes = "' + "a" * 1_100_000 + '"\n')), ("1 MB",), None, False),
    ("10,001 entries", _folder(_device_special("many")), ("more than 10,000",), None, False),
    ("file name with a line break", _folder(_device_special("newline-name")), ("\\n",), None, False),
    ("link loop folder inside", _folder(_device_special("loop-folder")), (), _catalog_ok, False),
    ("sources mixing dates and date-times", _folder(_mixed_dates), (), _catalog_ok, False),
    (
        "assumption of 1.7e308",
        _folder(_huge_assumption, ("evaluate", "--draws", "10", "--format", "json")),
        ("engineer_day_usd", "plausible range"),
        None,
        False,
    ),
    ("folder linking to itself", _not_a_folder("cat"), ("leads back to itself",), None, False),
    ("folder that is /dev/zero", _not_a_folder("/dev/zero"), ("not a folder",), None, False),
]

for _name, _build, _fragments, _check, _core in CATALOG_CASES:
    _register("catalog", _name, _build, _fragments, _check, _core)


@case("catalog", "the whole file system as a folder", timeout=CLI_TIMEOUT + 30, needs=("cli",))
def whole_file_system(ctx: Context) -> tuple[Outcome, str]:
    """``--catalog /``: read in bounded time (two folders down at most), then OK or one clear line."""
    done = ctx.run_cli("catalog", "check", "--catalog", "/", timeout=CLI_TIMEOUT)
    if done is not None and done.returncode == 0:
        return judge(done, check=_catalog_ok)
    return judge(done, ("/",))

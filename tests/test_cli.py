"""The CLI: most cases call its ``main(argv)`` in this process, with stdout and stderr captured and the exit
status it returns (or exits with), which is fast; a few run the installed console script as a subprocess,
like a user would, to prove it works end to end (marked slow)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from explorer.cli import main
from explorer.cli_commands import NOTE_WIDTH

from .conftest import REPO, cli

DEVICE_KEYS = {
    "id",
    "name",
    "vendor",
    "kind",
    "segment",
    "power_w",
    "power_boundary",
    "peak_bf16_tflops",
    "peak_int8_tops",
    "memory_gb",
    "memory_bandwidth_gbps",
    "sources",
}


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``accel-explorer ARGS`` in this process: its exit status, stdout and stderr, as a subprocess has them.

    main() runs in a thread so that a hang (a FIFO opened for reading, say) fails the test after `timeout`
    instead of blocking the suite; the thread is a daemon and is left behind."""
    out, err, done = io.StringIO(), io.StringIO(), {}

    def call() -> None:
        try:
            done["code"] = main(list(args))
        except SystemExit as exit_:  # argparse: usage errors and --help
            done["code"] = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        except BaseException as error:  # what escapes main() is the test's failure, shown whole
            done["error"] = error

    worker = threading.Thread(target=call, daemon=True)
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        worker.start()
        worker.join(timeout)
    if worker.is_alive():
        pytest.fail(f"accel-explorer {' '.join(args)[:200]} did not finish within {timeout} s (a hang)")
    if "error" in done:
        raise done["error"]
    return subprocess.CompletedProcess(
        ["accel-explorer", *args], done["code"], out.getvalue(), err.getvalue()
    )


def run_script(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The installed console script as a subprocess, like a user runs it."""
    return subprocess.run([*cli(), *args], capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("argv", "code", "shown"),
    [
        (["catalog", "check"], 0, "catalog OK:"),
        (
            ["evaluate", "--draws", "0", "--workload", "resnet-50", "--deployment", "edge"],
            0,
            "Recommendation:",
        ),
        (["evaluate", "--requests-per-day", "nan"], 2, "requests_per_day: nan is not allowed"),
        (["frobnicate"], 2, "error: argument COMMAND: invalid choice"),
    ],
    ids=["check", "evaluate", "bad-value", "usage"],
)
def test_the_console_script_runs_end_to_end(argv: list[str], code: int, shown: str) -> None:
    p = run_script(*argv)
    assert p.returncode == code, (p.stdout[-2000:], p.stderr[-2000:])
    assert shown in (p.stdout if code == 0 else p.stderr), (p.stdout[-2000:], p.stderr[-2000:])
    assert "Traceback" not in p.stderr
    here = run(*argv)
    assert (p.returncode, p.stdout, p.stderr) == (here.returncode, here.stdout, here.stderr), "as in-process"


@pytest.mark.slow
def test_the_catalog_check_runs_as_a_module_without_the_command_line(tmp_path: Path) -> None:
    """``python -m explorer.catalog check``: the catalog layer's own entry point; it never imports the CLI."""
    for argv, code in ((["check"], 0), (["check", "--catalog", str(tmp_path / "nope")], 2)):
        p = subprocess.run(
            [sys.executable, "-m", "explorer.catalog", *argv], capture_output=True, text=True, timeout=120
        )
        assert p.returncode == code and "Traceback" not in p.stderr, p.stderr
        assert ("catalog OK:" in p.stdout) if code == 0 else ("catalog folder does not exist" in p.stderr)
    probe = (
        "import sys, explorer.catalog.__main__; print(sorted(m for m in sys.modules if 'explorer.cli' in m))"
    )
    p = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert p.stdout.strip() == "[]", (p.stdout, p.stderr)


@pytest.mark.slow
def test_the_catalog_check_module_says_what_the_cli_says(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from explorer.catalog.check import main as check

    assert check(["check"]) == 0
    assert capsys.readouterr().out == run("catalog", "check").stdout
    assert check(["--catalog", str(tmp_path / "nope")], prog="accel-explorer") == 2
    assert capsys.readouterr().err == run("catalog", "check", "--catalog", str(tmp_path / "nope")).stderr


def test_devices_json_has_canonical_keys_and_sources() -> None:
    p = run("catalog", "devices", "--format", "json")
    assert p.returncode == 0, p.stderr
    records = json.loads(p.stdout)
    assert len(records) >= 26
    for rec in records:
        assert set(rec) >= DEVICE_KEYS, DEVICE_KEYS - set(rec)
        assert rec["sources"], rec["id"]
        for src in rec["sources"]:
            assert src["url"].startswith("http") and src["retrieved"] and src["fields"]
    h100 = next(r for r in records if r["id"] == "nvidia-h100-sxm")
    assert h100["power_w"] == 700
    assert h100["memory_bandwidth_gbps"] > 1000  # printed in TB/s, converted to GB/s
    assert any("power" in s["fields"] for s in h100["sources"])


def test_devices_json_uses_null_where_no_source_gives_the_figure() -> None:
    records = json.loads(run("catalog", "devices", "--format", "json").stdout)
    edge = [r for r in records if r["segment"] == "edge"]
    assert any(r["peak_bf16_tflops"] is None for r in edge), "NPUs without BF16 should be null, not 0"


def test_workloads_json() -> None:
    p = run("catalog", "workloads", "--format", "json")
    assert p.returncode == 0, p.stderr
    records = {r["id"]: r for r in json.loads(p.stdout)}
    assert {"resnet-50", "llama-2-70b"} <= set(records)
    for rec in records.values():
        assert {"id", "name", "task", "request", "sources"} <= set(rec)


def test_devices_table_is_readable() -> None:
    p = run("catalog", "devices")
    assert p.returncode == 0, p.stderr
    assert "nvidia-h100-sxm" in p.stdout and "700 W rated board" in p.stdout


@pytest.mark.parametrize("view", ["workloads", "prices", "results", "regions"])
def test_other_views(view: str) -> None:
    p = run("catalog", view)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() and "Traceback" not in p.stdout + p.stderr
    pj = run("catalog", view, "--format", "json")
    assert pj.returncode == 0 and json.loads(pj.stdout)


def test_prices_say_which_cloud_offers_have_no_published_price_and_why() -> None:
    """Issue 15, point 3: a device rented in the cloud without a published price is listed with the
    catalog's reason, in the table and in the JSON, not left out."""
    p = run("catalog", "prices")
    assert p.returncode == 0, p.stderr
    table = p.stdout.split("Offered in the cloud without a published price")[1].split("Purchase")[0]
    assert "nvidia-gb300-nvl72" in table and "'Contact sales'" in table and "google-tpu-v7" in table
    rows = json.loads(run("catalog", "prices", "--format", "json").stdout)["cloud_unpriced"]
    gb300 = [r for r in rows if r["device_id"] == "nvidia-gb300-nvl72"]
    assert {r["provider"] for r in gb300} == {"CoreWeave", "Nebius"}
    assert all(r["reason"] and r["source_url"].startswith("https://") for r in gb300)


def test_check_passes_on_builtin_catalog() -> None:
    p = run("catalog", "check")
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("catalog OK:")


def test_bad_user_folder_exits_2_with_clear_lines(tmp_path: Path) -> None:
    user = tmp_path / "mine"
    (user / "devices").mkdir(parents=True)
    (user / "devices" / "nvidia-h100-sxm.toml").write_text("power = [\n", encoding="utf-8")
    p = run("catalog", "devices", "--catalog", str(user))
    assert p.returncode == 2
    assert "Traceback" not in p.stderr
    assert "nvidia-h100-sxm.toml: malformed TOML" in p.stderr


@pytest.mark.parametrize("name", ["nvidia-h100-sxm.TOML", "nvidia-h100-sxm.toml.txt", "nvidia-h100-sxm.json"])
def test_a_price_file_the_loader_would_pass_over_is_named(tmp_path: Path, name: str) -> None:
    """A valid $21,000 quote saved as x.TOML (a Windows save), x.toml.txt or x.json was skipped without a
    word, and the H100's total stayed at the catalog's price. It is named now, with what to rename it to;
    a folder with nothing to read says so too. Notes (.md) and hidden files are left alone."""
    user = tmp_path / "mine"
    (user / "prices").mkdir(parents=True)
    (user / "prices" / name).write_text('device = "nvidia-h100-sxm"\n', encoding="utf-8")
    (user / "prices" / "README.md").write_text("our quotes\n", encoding="utf-8")
    (user / "prices" / ".DS_Store").write_bytes(b"\0")
    p = run("catalog", "check", "--catalog", str(user))
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert (
        f"{name}: not read: a catalog file's name ends in .toml (lower case), e.g. nvidia-h100-sxm.toml"
        in (p.stderr)
    )
    assert "holds no catalog file" in p.stderr
    assert "README.md" not in p.stderr and ".DS_Store" not in p.stderr


def test_missing_user_folder_exits_2(tmp_path: Path) -> None:
    p = run("catalog", "check", "--catalog", str(tmp_path / "nope"))
    assert p.returncode == 2
    assert "catalog folder does not exist" in p.stderr and "Traceback" not in p.stderr


@pytest.mark.parametrize("argv", [["catalog"], ["catalog", "devices", "--format", "xml"], ["frobnicate"]])
def test_usage_errors_exit_2_without_traceback(argv: list[str]) -> None:
    p = run(*argv)
    assert p.returncode == 2
    assert "error:" in p.stderr and "Traceback" not in p.stderr


# -- evaluate -----------------------------------------------------------------------------------------

OPTION_KEYS = {
    "device_id",
    "name",
    "vendor",
    "kind",
    "segment",
    "available",
    "unavailable_reason",
    "throughput_per_device_rps",
    "throughput_source",
    "devices_needed",
    "facility_power_kw",
    "energy_kwh_per_year",
    "energy_cost_usd_per_year",
    "hardware_cost_usd",
    "porting_cost_usd",
    "tco_usd",
    "cost_per_million_requests_usd",
    "requests_per_joule",
    "co2_tonnes_per_year",
    "break_even_month",
}


@pytest.mark.slow
def test_evaluate_json_shape() -> None:
    p = run(
        "evaluate",
        "--requests-per-day",
        "1e9",
        "--workload",
        "llama-3.1-8b",
        "--framework-mix",
        "pytorch=0.6,onnx=0.4",
        "--format",
        "json",
    )
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert {"scenario", "recommendation", "options", "crossover_requests_per_day"} <= set(out)
    assert out["scenario"]["framework_mix"]["onnx"] == pytest.approx(0.4)
    rec = out["recommendation"]
    assert rec["plan"] in ("gpu", "accelerator", "hybrid") and rec["kind"] in ("gpu", "accelerator")
    assert rec["device_id"] == out["options"][0]["device_id"] and rec["reasons"]
    for o in out["options"]:
        assert set(o) >= OPTION_KEYS, OPTION_KEYS - set(o)


@pytest.mark.slow
def test_evaluate_scenario_file_and_flags_override(tmp_path: Path) -> None:
    f = tmp_path / "s.json"
    f.write_text(
        json.dumps(
            {"requests_per_day": 5e8, "deployment": "bare-metal", "framework_mix": {"pytorch": 3, "jax": 1}}
        ),
        encoding="utf-8",
    )
    p = run("evaluate", "--scenario", str(f), "--deployment", "cloud", "--format", "json")
    assert p.returncode == 0, p.stderr
    s = json.loads(p.stdout)["scenario"]
    assert s["requests_per_day"] == 5e8 and s["deployment"] == "cloud"
    assert s["framework_mix"]["pytorch"] == pytest.approx(0.75)


def test_evaluate_against_the_fleet_you_run_now(tmp_path: Path) -> None:
    """--current-device (and the same field in a scenario file): the JSON's baseline, the table's reason."""
    common = ("evaluate", "--draws", "0", "--requests-per-day", "50M")
    p = run(*common, "--current-device", "nvidia-h100-sxm", "--format", "json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["scenario"]["current_device"] == "nvidia-h100-sxm"
    base, options = out["baseline"], {o["device_id"]: o for o in out["options"]}
    assert base["device_id"] == "nvidia-h100-sxm" and base["tco_usd"] == options["nvidia-h100-sxm"]["tco_usd"]
    assert base["savings_usd"] == pytest.approx(base["tco_usd"] - out["options"][0]["tco_usd"])
    assert base["savings_usd"] > 0
    assert json.loads(run(*common, "--format", "json").stdout)["baseline"] is None, "none by default"
    f = tmp_path / "s.json"
    f.write_text(json.dumps({"requests_per_day": 5e7, "current_device": "nvidia-h100-sxm"}), encoding="utf-8")
    table = run("evaluate", "--draws", "0", "--scenario", str(f))
    assert table.returncode == 0, table.stderr
    assert "less over 3 years than your NVIDIA H100 SXM5 80GB fleet" in table.stdout
    assert "--current-device" in run("evaluate", "--help").stdout


def test_evaluate_table() -> None:
    p = run("evaluate", "--workload", "resnet-50", "--deployment", "edge")
    assert p.returncode == 0, p.stderr
    assert "Recommendation:" in p.stdout and "hailo-8" in p.stdout
    head = next(line for line in p.stdout.splitlines() if line.lstrip().startswith("#"))
    assert " format " not in head and "format:" not in p.stdout  # only an LLM has a format to say


@pytest.mark.slow
def test_evaluate_table_cuts_a_long_reason_at_a_word_and_says_so() -> None:
    """A device's reason longer than the note column ends in " …" after a whole word (it was cut mid-word,
    "... on-demand price for it fr"), and the line under the table says the JSON gives it whole."""
    table, whole = run("evaluate"), run("evaluate", "--format", "json")
    assert table.returncode == whole.returncode == 0, table.stderr + whole.stderr
    options = json.loads(whole.stdout)["options"]
    reasons = [o["unavailable_reason"] for o in options if o["unavailable_reason"]]
    assert any(len(r) > NOTE_WIDTH for r in reasons)  # else the test could not fail
    for r in reasons:
        shown = textwrap.shorten(r, NOTE_WIDTH, placeholder=" …")
        assert shown in table.stdout
        if len(" ".join(r.split())) > NOTE_WIDTH:
            kept = shown.removesuffix(" …")
            assert shown.endswith(" …") and len(shown) <= NOTE_WIDTH
            assert " ".join(r.split()).startswith(kept + " ")  # at a word's end
    assert "a note that ends in … is cut short (--format json gives it whole)" in table.stdout
    # an LLM's ranking says the format each device is served in, with its key
    head = next(line for line in table.stdout.splitlines() if line.lstrip().startswith("#"))
    assert " format " in head and "format: the number format an LLM is served in" in table.stdout
    b300 = next(line for line in table.stdout.splitlines() if " nvidia-b300 " in line)
    assert " FP4 " in b300, b300


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--requests-per-day", "nan"], "requests_per_day: nan is not allowed; not a finite number"),
        (["--requests-per-day", "inf"], "requests_per_day: inf is not allowed; not a finite number"),
        (["--requests-per-day", "-5"], "requests_per_day: -5 is not allowed; allowed: a number from 100"),
        (["--utilization", "3"], "utilization: 3 is not allowed; allowed: a number from 0.05 to 1"),
        (["--workload", "gpt-9"], "workload: gpt-9 is not allowed; allowed: bert-large"),
        (["--workload", "gpt-9"], "whisper-large-v3, or custom (your model)"),
        (["--region", "atlantis"], "region: atlantis is not allowed; allowed:"),
        (["--current-device", "nvidia-h99"], "current_device: nvidia-h99 is not allowed; allowed: amd-"),
        (
            ["--current-device", "H100 SXM"],
            "current_device: H100 SXM is not allowed; allowed: a catalog id, in lower case with dashes, like "
            "nvidia-h100-sxm (accel-explorer catalog devices lists them)",
        ),
        (["--workload", "LLAMA-3.1-8B"], "workload: LLAMA-3.1-8B is not allowed; did you mean llama-3.1-8b?"),
        (
            ["--framework-mix", "jax 0.5 pytorch 0.5"],
            "framework_mix: jax 0.5 pytorch 0.5 is not allowed; allowed: name=share pairs joined by commas",
        ),
        (["--deployment", "space"], "deployment: space is not allowed; allowed: cloud, bare-metal, edge"),
        (
            ["--framework-mix", "pytorch=-1"],
            "framework_mix.pytorch: -1 is not allowed; allowed: a non-negative",
        ),
        (
            ["--framework-mix", "pytorch=0,jax=0"],
            "framework_mix: {'pytorch': '0', 'jax': '0'} is not allowed; the shares must not all be zero",
        ),
        (["--framework-mix", "cobol=1"], "framework_mix.cobol: 1 is not allowed; allowed frameworks:"),
        (["--peak-to-average", "lots"], "peak_to_average: lots is not allowed; allowed: a number"),
    ],
)
def test_evaluate_bad_input_exits_2_with_one_line(argv: list[str], fragment: str) -> None:
    p = run("evaluate", *argv)
    assert p.returncode == 2, p.stdout
    assert "Traceback" not in p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert fragment in lines[0], lines[0]


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"requests_per_day": "NaN"}', '{"colour": 1}'])
def test_evaluate_bad_scenario_file(tmp_path: Path, content: str) -> None:
    f = tmp_path / "bad.json"
    f.write_text(content, encoding="utf-8")
    p = run("evaluate", "--scenario", str(f))
    assert p.returncode == 2
    assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1


def test_a_scenario_file_with_a_key_named_scenario_names_that_key(tmp_path: Path) -> None:
    """{"scenario": {...}} (a result's JSON pasted whole) read "{'workload': 'sdxl'} is not allowed":
    the key itself was left out, because "scenario" also names the whole object's errors."""
    f = tmp_path / "nested.json"
    f.write_text('{"scenario": {"workload": "sdxl"}}', encoding="utf-8")
    p = run("evaluate", "--scenario", str(f))
    assert p.returncode == 2
    assert f"--scenario {f}: scenario: {{'workload': 'sdxl'}} is not allowed; unknown field" in p.stderr


def test_an_empty_scenario_file_name_is_refused_not_ignored() -> None:
    p = run("evaluate", "--scenario", "")
    assert p.returncode == 2 and "--scenario: '' is not allowed; allowed: the name of a JSON file" in p.stderr


def test_a_price_file_with_two_prices_for_one_offer_or_a_date_out_of_range_is_refused(tmp_path: Path) -> None:
    """A TOML price file took two [[cloud]] entries for one provider, instance and region, and an as-of
    date of 9999-12-31, which an uploaded CSV refuses: both are refused with the entry and the window."""
    entry = (
        '[[cloud]]\nprovider = "AWS"\ninstance = "p5.48xlarge"\nregion = "us-east-1"\nchips = 8\n'
        'price = {{ value = {v}, unit = "USD/hour", as_of = {d}, source = "q" }}\n'
    )
    user = tmp_path / "mine"
    (user / "prices").mkdir(parents=True)
    (user / "prices" / "nvidia-h100-sxm.toml").write_text(
        'device = "nvidia-h100-sxm"\n'
        + entry.format(v=40, d="2026-10-01")
        + entry.format(v=30, d="9999-12-31")
        + '[sources.q]\ntitle = "Q-1"\nurl = "https://example.com/q"\nretrieved = 2026-10-02\n',
        encoding="utf-8",
    )
    p = run("catalog", "check", "--catalog", str(user))
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert "cloud[1]: the same offer as cloud[0] (AWS, p5.48xlarge, us-east-1)" in p.stderr
    assert "cloud[1].price.as_of: 9999-12-31 is out of range; allowed: a date from 2000-01-01 to" in p.stderr


def test_evaluate_missing_scenario_file(tmp_path: Path) -> None:
    p = run("evaluate", "--scenario", str(tmp_path / "none.json"))
    assert p.returncode == 2 and "the file cannot be read" in p.stderr


def test_evaluate_breakeven_map() -> None:
    p = run("evaluate", "--map", "10", "--draws", "0", "--format", "json")
    assert p.returncode == 0, p.stderr
    grid = json.loads(p.stdout)["breakeven_map"]
    assert len(grid) == 100 and {r["winner"] for r in grid} <= {"gpu", "accelerator"}
    table = run("evaluate", "--map", "8", "--draws", "0")
    assert table.returncode == 0 and "Break-even map (8 x 8)" in table.stdout
    for bad in ("1", "500", "-2"):
        p = run("evaluate", "--map", bad)
        assert p.returncode == 2 and "--map:" in p.stderr and "Traceback" not in p.stderr


def test_a_catalog_the_model_cannot_use_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A catalog the model cannot use (no assumptions) gets one clear line, not a traceback."""
    import shutil

    from .conftest import CATALOG

    base = tmp_path / "catalog"
    shutil.copytree(CATALOG, base)
    shutil.rmtree(base / "assumptions")
    shutil.rmtree(base / "market")  # a market point names an assumption: the loader would refuse it first
    from explorer.catalog import load

    monkeypatch.setattr(load, "default_catalog_dir", lambda: base)
    p = run("evaluate", "--draws", "0")
    assert p.returncode == 2, p.stderr
    assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert "the catalog cannot be used by the model: catalog/assumptions has no '" in p.stderr


# -- hostile input (issue 13.7, 12.7): one line, exit 2, never a traceback or a hang ---------------------


def assert_one_clear_line(p: subprocess.CompletedProcess[str], *fragments: str) -> str:
    assert p.returncode == 2, (p.returncode, p.stderr[-2000:])
    assert "Traceback" not in p.stderr and "internal error" not in p.stderr, p.stderr[-2000:]
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert len(lines[0]) < 500, lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def _bad_scenario_file(tmp_path: Path, kind: str) -> Path:
    f = tmp_path / f"{kind}.json"
    if kind == "utf16":
        f.write_text('{"requests_per_day": 1000000}', encoding="utf-16")
    elif kind == "binary":
        f.write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)))
    elif kind == "digits5000":
        f.write_text('{"requests_per_day": ' + "9" * 5000 + "}", encoding="utf-8")
    elif kind == "digits400":
        f.write_text('{"requests_per_day": ' + "9" * 400 + "}", encoding="utf-8")
    elif kind == "deep":
        f.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    elif kind == "self-link":
        f.symlink_to(f.name)
    elif kind == "dangling":
        f.symlink_to(tmp_path / "no-such-file.json")
    elif kind == "dev-zero":
        f.symlink_to("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(f)
    elif kind == "folder":
        f.mkdir()
    elif kind == "huge":
        f.write_text('{"workload": "' + "a" * 1_100_000 + '"}', encoding="utf-8")
    return f


@pytest.mark.parametrize(
    ("kind", "fragment"),
    [
        ("utf16", "is UTF-16 encoded; a scenario file must be UTF-8"),
        ("binary", "is a binary file, not text"),
        ("digits5000", "has a number of 5000 digits; allowed: numbers of at most 20 digits"),
        ("digits400", "has a number of 400 digits"),
        ("deep", "is nested more than 32 levels deep"),
        ("self-link", "is a symbolic link that leads back to itself"),
        ("dangling", "which does not exist (a dangling link)"),
        ("dev-zero", "is a character device; only regular files are read"),
        ("fifo", "is a FIFO (named pipe); only regular files are read"),
        ("folder", "is a folder; only regular files are read"),
        ("huge", "the most allowed is 1 MB"),
    ],
)
def test_hostile_scenario_file_is_one_clear_line(tmp_path: Path, kind: str, fragment: str) -> None:
    f = _bad_scenario_file(tmp_path, kind)
    line = assert_one_clear_line(run("evaluate", "--draws", "0", "--scenario", str(f)), fragment)
    assert "--scenario" in line and f.name in line


def test_a_program_given_as_scenario_is_refused() -> None:
    exe = Path(sys.executable).resolve()
    assert_one_clear_line(run("evaluate", "--scenario", str(exe)), "--scenario", "binary file")


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--seed", "-1"], "--seed: -1 is too small; allowed: a whole number from 0 to 4,294,967,295"),
        (["--seed", "4294967296"], "allowed: a whole number from 0 to 4,294,967,295"),
        (["--seed", "9" * 5000], "argument --seed: '999"),
        (["--draws", "9" * 400], "argument --draws: '999"),
        (["--requests-per-day", "9" * 5000], "requests_per_day: 999"),
        (["--requests-per-day", "2,5 M"], "a decimal comma is not read"),
        (["--requests-per-day", "50 X"], "written like 50M, 50 M, 2.5 B, 1e9, 200k or 1,000,000"),
        (["--framework-mix", "pytorch=" + "9" * 5000], "framework_mix.pytorch: 999"),
        (["--workload", "a\nb"], "workload: 'a\\nb' is not allowed"),
        # a million draws took 11.8 GB and 40 s
        (["--draws", "1000000"], "--draws: 1000000 is too large; allowed: a whole number from 0 to 100,000"),
        # a lone surrogate (a byte no UTF-8 decodes) has no form a link, CSV or report can hold
        (["--workload", "custom", "--custom-name", "a\udcffb"], "custom_name: 'a\\udcffb' is not allowed"),
        (
            ["--workload", "custom", "--custom-name", "ab\u202ecd"],
            "custom_name: 'ab\\u202ecd' is not allowed",
        ),
        (["--workload", "custom", "--custom-name", "\u200b"], "at least one visible"),
        (["--deployment", "edge", "--edge-sites", "1.5"], "edge_sites: 1.5 is not allowed; allowed: a whole"),
        (["--deployment", "bare-metal", "--spare-servers", "1.5"], "spare_servers: 1.5 is not allowed"),
    ],
)
def test_hostile_flags_are_one_clear_line(argv: list[str], fragment: str) -> None:
    assert_one_clear_line(run("evaluate", "--draws", "10", *argv), fragment)


@pytest.mark.parametrize(
    "text", ["50M", "50 M", "50 m", "5e7", "50,000,000", "50 million", "50 M requests/day"]
)
def test_requests_per_day_takes_what_people_and_the_app_write(text: str) -> None:
    p = run("evaluate", "--draws", "0", "--format", "json", "--requests-per-day", text)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["scenario"]["requests_per_day"] == 5e7


def test_scenario_file_takes_volume_and_mix_as_text(tmp_path: Path) -> None:
    f = tmp_path / "s.json"
    f.write_text(json.dumps({"requests_per_day": "2.5 B", "framework_mix": "pytorch=0.6,onnx=0.4"}), "utf-8")
    p = run("evaluate", "--draws", "0", "--format", "json", "--scenario", str(f))
    assert p.returncode == 0, p.stderr
    s = json.loads(p.stdout)["scenario"]
    assert s["requests_per_day"] == 2.5e9
    assert s["framework_mix"]["pytorch"] == pytest.approx(0.6)
    assert s["framework_mix"]["onnx"] == pytest.approx(0.4)


def test_huge_framework_weights_do_not_overflow_to_nothing() -> None:
    """1e308 + 1e308 overflows: the shares were all 0 and every device reported no porting."""
    p = run("evaluate", "--draws", "0", "--format", "json", "--framework-mix", "pytorch=1e308,jax=1e308")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    mix = out["scenario"]["framework_mix"]
    assert mix["pytorch"] == pytest.approx(0.5) and mix["jax"] == pytest.approx(0.5)
    ref = run("evaluate", "--draws", "0", "--format", "json", "--framework-mix", "pytorch=1,jax=1")
    assert [o["porting_cost_usd"] for o in out["options"]] == [
        o["porting_cost_usd"] for o in json.loads(ref.stdout)["options"]
    ]
    assert any(o["porting_cost_usd"] for o in out["options"])


def test_export_to_a_fifo_does_not_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "out.json"
    os.mkfifo(fifo)
    assert_one_clear_line(run("evaluate", "--draws", "0", "--export", str(fifo)), "--export")


def _user_folder(tmp_path: Path, kind: str) -> Path:
    user = tmp_path / "mine"
    devices = user / "devices"
    devices.mkdir(parents=True)
    f = devices / "x.toml"
    if kind == "fifo":
        os.mkfifo(f)
    elif kind == "dev-zero":
        f.symlink_to("/dev/zero")
    elif kind == "self-link":
        f.symlink_to(f.name)
    elif kind == "dangling":
        f.symlink_to("none.toml")
    elif kind == "deep":
        f.write_text("a = " + "[" * 30_000 + "]" * 30_000 + "\n", encoding="utf-8")
    elif kind == "dotted":
        f.write_text(".".join(["a"] * 30_000) + " = 1\n", encoding="utf-8")
    elif kind == "digits400":
        f.write_text("a = " + "9" * 400 + "\n", encoding="utf-8")
    elif kind == "digits5000":
        f.write_text("a = " + "9" * 5000 + "\n", encoding="utf-8")
    elif kind == "float400":
        f.write_text("a = 1" + "0" * 400 + ".0\n", encoding="utf-8")
    elif kind == "utf16":
        f.write_text('name = "x"\n', encoding="utf-16")
    elif kind == "huge":
        f.write_text('notes = "' + "a" * 1_100_000 + '"\n', encoding="utf-8")
    return user


@pytest.mark.parametrize(
    ("kind", "fragment"),
    [
        ("fifo", "x.toml: is a FIFO (named pipe); only regular files are read"),
        ("dev-zero", "x.toml: is a character device; only regular files are read"),
        ("self-link", "x.toml: is a symbolic link that leads back to itself"),
        ("dangling", "x.toml: is a symbolic link to 'none.toml', which does not exist"),
        ("deep", "x.toml: is nested more than 32 levels deep"),
        ("dotted", "x.toml: has a dotted key of more than 32 parts"),
        ("digits400", "x.toml: a: a 400-digit integer is out of range"),
        ("digits5000", "x.toml: has an integer with too many digits"),
        ("float400", "x.toml: a: inf is not a finite number"),
        ("utf16", "x.toml: is UTF-16 encoded; a catalog file must be UTF-8"),
        ("huge", "x.toml: is 1,100,011 bytes; the most allowed is 1 MB"),
    ],
)
def test_hostile_catalog_folder_is_one_clear_line(tmp_path: Path, kind: str, fragment: str) -> None:
    user = _user_folder(tmp_path, kind)
    assert_one_clear_line(run("catalog", "check", "--catalog", str(user), timeout=30), fragment)


@pytest.mark.parametrize("target", ["self-link", "/dev/zero", "regular-file"])
def test_a_catalog_folder_that_is_no_folder_is_refused(tmp_path: Path, target: str) -> None:
    path = tmp_path / "cat"
    if target == "self-link":
        path.symlink_to(path.name)
    elif target == "regular-file":
        path.write_text("x", encoding="utf-8")
    else:
        path.symlink_to(target)
    assert_one_clear_line(run("catalog", "check", "--catalog", str(path), timeout=30), "cat")


def test_sources_mixing_dates_and_date_times_load(tmp_path: Path) -> None:
    """One figure citing two sources, one retrieved on a date and one at a date-time: an internal error."""
    from .conftest import CATALOG

    text = (CATALOG / "workloads" / "llama-2-70b.toml").read_text(encoding="utf-8")
    new = text.replace("retrieved = 2026-11-24", "retrieved = 2026-11-24T10:00:00Z", 1)
    assert new != text
    user = tmp_path / "mine"
    (user / "workloads").mkdir(parents=True)
    (user / "workloads" / "llama-2-70b.toml").write_text(new, encoding="utf-8")
    p = run("catalog", "workloads", "--format", "json", "--catalog", str(user))
    assert p.returncode == 0, p.stderr
    rec = next(r for r in json.loads(p.stdout) if r["id"] == "llama-2-70b")
    assert all(len(s["retrieved"]) == 10 for s in rec["sources"])  # dates, as the catalog keeps them


def test_an_assumption_too_large_for_the_model_is_refused(tmp_path: Path) -> None:
    """An engineer-day of 1.7e308 USD made every total inf and the JSON output a traceback."""
    user = tmp_path / "mine"
    (user / "assumptions").mkdir(parents=True)
    (user / "assumptions" / "engineering.toml").write_text(
        'engineer_day_usd = { value = 1.7e308, unit = "USD/day", low = 1, high = 1.7e308 }\n',
        encoding="utf-8",
    )
    p = run("evaluate", "--draws", "10", "--format", "json", "--catalog", str(user))
    assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr[-2000:]
    assert "engineer_day_usd.value: 1.7e+308 USD/day is outside the plausible range" in p.stderr


def test_app_takes_the_serving_limits_a_room_needs(monkeypatch, capsys) -> None:
    """A room whose laptops reach the server through one address needs more than 20 kernels per address:
    `accel-explorer app --sessions-per-client` passes it to the server, beside --max-sessions and --pool."""
    import socket

    from explorer import cli_commands

    ran: list[list[str]] = []
    monkeypatch.setattr(cli_commands.os, "execv", lambda path, argv: ran.append(list(argv)))
    with socket.socket() as probe:  # a free port: a developer's own `make app` may hold 8866
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    argv = ["app", "--port", str(port), "--sessions-per-client", "40", "--max-sessions", "80", "--pool", "3"]
    assert main(argv) == 0
    (argv,) = ran
    assert "--ExplorerVoila.sessions_per_client=40" in argv
    assert any(a.endswith("max_sessions=80") for a in argv) and "--pool_size=3" in argv
    assert f"served at http://localhost:{port}/" in capsys.readouterr().out


def test_a_failed_export_leaves_the_file_as_it_was(tmp_path: Path, monkeypatch, capsys) -> None:
    """A report that cannot be written (here: text with no UTF-8 form) used to truncate the user's file
    before failing. The content is now made whole before the file is opened."""
    from explorer import export

    target = tmp_path / "keep.csv"
    target.write_text("the user's own figures\n", encoding="utf-8")
    monkeypatch.setattr(export, "results_csv", lambda result: "a\udcffb")
    assert main(["evaluate", "--draws", "0", "--export", str(target)]) != 0
    assert "internal error" in capsys.readouterr().err
    assert target.read_text(encoding="utf-8") == "the user's own figures\n"


def test_an_override_error_names_the_built_in_file_without_the_installation_path(tmp_path: Path) -> None:
    user = tmp_path / "mine"
    (user / "prices").mkdir(parents=True)
    (user / "prices" / "nvidia-h100-sxm.toml").write_text(
        'device = "nvidia-h100-sxm"\n[purchase]\nprice = { value = -21000, unit = "USD", as_of = 2026-10-01, '
        'source = "q" }\n[sources.q]\ntitle = "Q-1"\nurl = "https://example.com/q"\nretrieved = 2026-10-02\n',
        encoding="utf-8",
    )
    p = run("catalog", "check", "--catalog", str(user))
    assert p.returncode == 2 and "Traceback" not in p.stderr
    mine = user / "prices" / "nvidia-h100-sxm.toml"
    shown = f"catalog/prices/nvidia-h100-sxm.toml + {mine}: purchase.price"
    assert shown in p.stderr
    assert str(REPO / "catalog") not in p.stderr


def test_app_on_a_port_in_use_says_so_before_claiming_to_serve(monkeypatch, capsys) -> None:
    """A second `make app` printed 'The explorer is served at http://localhost:8866/', then Voila's
    'could not be started' and a fork server's BrokenPipeError traceback. The port is tried first now."""
    import socket

    from explorer import cli_commands

    ran: list[list[str]] = []
    monkeypatch.setattr(cli_commands.os, "execv", lambda path, argv: ran.append(list(argv)))
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        assert main(["app", "--port", str(port)]) == 2
    out = capsys.readouterr()
    assert not ran and "served at" not in out.out
    assert f"--port: {port} is not allowed; the server cannot listen there" in out.err
    assert f"allowed: a free port, e.g. --port {port + 1}" in out.err

"""The workshop: self-checks that accept the model's answers (with a tolerance, in any case) and teach on a
wrong one; the notebook run as shipped and with the answer key filled in; and `accel-explorer workshop`,
which serves JupyterLab and the app to a room, run as a subprocess on loopback."""

from __future__ import annotations

import importlib.util
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from explorer import workshop
from explorer.workshop import EXERCISES, check, hint, is_correct, own_cloud_price

from .conftest import REPO, cli
from .servers import browser_page, free_port, record_external_requests, wait_for
from .test_notebooks import errors, execute

NOTEBOOK = REPO / "notebooks" / "workshop.ipynb"
KEY_PATH = REPO / "notebooks" / "instructor" / "workshop_answers.py"


def answer_key():
    spec = importlib.util.spec_from_file_location("workshop_answers", KEY_PATH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _fresh_hints() -> None:
    workshop._hints_given.clear()


def _canonical(n: int):
    expected = EXERCISES[n].expected()
    return expected[0] if isinstance(expected, tuple) else expected


# -- the checks -------------------------------------------------------------------------------------------


def test_six_exercises_with_hints_and_takeaways() -> None:
    assert sorted(EXERCISES) == [1, 2, 3, 4, 5, 6]
    for ex in EXERCISES.values():
        assert len(ex.hints) >= 2 and ex.takeaway


@pytest.mark.slow
@pytest.mark.parametrize("n", sorted(EXERCISES))
def test_expected_answer_passes_and_a_wrong_one_fails_with_a_hint(n: int, capsys) -> None:
    expected = _canonical(n)
    assert check(n, expected) is True
    assert "correct" in capsys.readouterr().out
    wrong = expected * 3 if isinstance(expected, float) else "no-such-answer"
    assert check(n, wrong) is False
    out = capsys.readouterr().out
    assert "not quite" in out and "Hint 1 of" in out


def test_words_and_ids_in_any_case() -> None:
    device_id, name = EXERCISES[1].expected()
    for answer in (device_id.upper(), f"  {device_id} ", name, name.lower(), f"'{device_id}'"):
        assert is_correct(1, answer), answer
    kind = EXERCISES[3].expected()[0]
    for answer in (kind.upper(), kind.capitalize(), f"a {kind}", f"{kind}s"):
        assert is_correct(3, answer), answer
    other = "accelerator" if kind == "gpu" else "gpu"
    assert not is_correct(3, other) and not is_correct(3, other.upper())


@pytest.mark.slow
def test_numbers_within_a_tolerance_in_the_forms_people_write() -> None:
    crossover = EXERCISES[2].expected()  # within 10 %
    assert is_correct(2, crossover * 1.09) and is_correct(2, crossover * 0.91)
    assert not is_correct(2, crossover * 1.2) and not is_correct(2, "lots")
    millions = f"{crossover / 1e6:.2f}"
    for answer in (
        f"{millions}M",
        f"{millions} M",
        f"{millions} million",
        f"{crossover:,.0f}",
        f"{crossover:.3e}",
    ):
        assert is_correct(2, answer), answer
    odds = EXERCISES[6].expected()  # a share, within 5 points; 0.69, 69 and "69 %" are the same answer
    for answer in (odds, odds * 100, f"{odds * 100:.1f} %", f"{odds * 100:.0f}%", odds + 0.04):
        assert is_correct(6, answer), answer
    assert not is_correct(6, odds + 0.1) and not is_correct(6, True)
    h100 = EXERCISES[5].expected()  # within 2 %
    assert is_correct(5, f"${h100 / 1e6:.3f} M") and not is_correct(5, h100 * 1.05)


def test_a_wrong_answer_says_what_kind_of_wrong(capsys) -> None:
    crossover = EXERCISES[2].expected()
    check(2, crossover / 86_400)
    assert "86,400 times too small" in capsys.readouterr().out
    check(2, crossover * 1.5)
    assert "50% too high" in capsys.readouterr().out
    check(1, 42)
    assert "not a number" in capsys.readouterr().out


def test_unanswered_says_so_and_never_raises(capsys) -> None:
    for n in EXERCISES:
        assert check(n, None) is False
        assert "not answered yet" in capsys.readouterr().out


def test_hints_come_one_step_at_a_time(capsys) -> None:
    hints = EXERCISES[2].hints
    for i, text in enumerate(hints, 1):
        hint(2)
        out = capsys.readouterr().out
        assert f"Hint {i} of {len(hints)}" in out and text in out
    hint(2)
    assert "Still stuck" in capsys.readouterr().out
    check(4, "no")  # a wrong answer brings the next hint of its own exercise
    assert "Hint 1 of" in capsys.readouterr().out


@pytest.mark.slow
def test_hints_teach_without_giving_the_line_away() -> None:
    key = answer_key()
    for n, ex in EXERCISES.items():
        text = " ".join((ex.question, *ex.hints))
        code = key.ANSWERS[n].answer
        # no hint holds the answer's code, or its last attribute access (the part to find out)
        assert code not in text, n
        attribute = re.findall(r"\.(\w+)", code)[-1]
        assert f".{attribute}" not in text and f"`{attribute}`" not in text, (n, attribute)
        expected = _canonical(n)
        if isinstance(expected, str):  # (a question may list the choices; a hint never says which)
            assert expected not in " ".join(ex.hints).lower(), (n, expected)


def test_own_cloud_price_adds_a_sourced_price_and_refuses_bad_ones(tmp_path: Path, capsys) -> None:
    cat = own_cloud_price("nvidia-h100-sxm", 2.5, folder=tmp_path)
    shown = capsys.readouterr().out
    assert "[sources.own-quote]" in shown and str(tmp_path) in shown
    offers = cat.cloud_prices[cat.cloud_prices.device_id == "nvidia-h100-sxm"]
    assert list(offers.price_usd_per_chip_hour) == [2.5]
    with pytest.raises(ValueError, match=r"device_id 'nvidia-h1000'.*allowed"):
        own_cloud_price("nvidia-h1000", 2.5, folder=tmp_path)
    for bad in (0, -1, float("nan"), "cheap"):
        with pytest.raises(ValueError, match="usd_per_gpu_hour"):
            own_cloud_price("nvidia-h100-sxm", bad, folder=tmp_path)


def test_the_answer_key_is_kept_apart_from_the_learners_notebook() -> None:
    assert KEY_PATH.parent != NOTEBOOK.parent
    source = "\n".join(c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells)
    assert "workshop_answers" not in source and "instructor/" not in source  # no pointer to the key
    code = "\n".join(c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells if c.cell_type == "code")
    assert re.findall(r"^answer_(\d) = None", code, re.M) == [str(n) for n in sorted(EXERCISES)]


# -- the notebook, executed ---------------------------------------------------------------------------------


def _checks(nb) -> list[str]:
    """What each `check` cell printed, in order."""
    return [
        "".join(o.get("text", "") for o in c.outputs if o.output_type == "stream")
        for c in nb.cells
        if c.cell_type == "code" and re.search(r"^check\(\d, answer_\d\)$", c.source, re.M)
    ]


@pytest.mark.slow
def test_workshop_as_shipped_runs_and_every_check_says_not_answered_yet() -> None:
    nb = execute(nbformat.read(NOTEBOOK, as_version=4))
    assert not errors(nb), errors(nb)
    checks = _checks(nb)
    assert len(checks) == len(EXERCISES)
    for n, out in enumerate(checks, 1):
        assert f"Exercise {n} is not answered yet" in out, out


@pytest.mark.slow
def test_workshop_with_the_answer_key_filled_in_passes_every_check() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    answer_key().fill(nb)
    execute(nb)
    assert not errors(nb), errors(nb)
    checks = _checks(nb)
    assert len(checks) == len(EXERCISES)
    for n, out in enumerate(checks, 1):
        assert f"Exercise {n}: correct." in out, out


# -- serving the room ---------------------------------------------------------------------------------------


def _read_until(proc: subprocess.Popen, marker: str, timeout: float = 60) -> str:
    """The command's output up to `marker` (fails after `timeout` or if it exits first)."""
    out, deadline = b"", time.monotonic() + timeout
    assert proc.stdout is not None
    fd = proc.stdout.fileno()  # read the pipe itself: a buffered reader would hide lines from select
    while marker.encode() not in out:
        left = deadline - time.monotonic()
        assert left > 0 and proc.poll() is None, f"no {marker!r} in: {out.decode(errors='replace')}"
        if select.select([fd], [], [], left)[0]:
            out += os.read(fd, 65536)
    return out.decode()


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def test_room_urls_are_usable_from_other_laptops_when_bound_to_every_address(monkeypatch) -> None:
    from explorer import room

    seats = ["seats/workshop-01.ipynb", "seats/workshop-02.ipynb"]
    monkeypatch.setattr(room, "room_address", lambda: "192.0.2.7")
    lines = room.urls("0.0.0.0", 8888, "t0k", seats)
    assert "JupyterLab: http://192.0.2.7:8888/lab?token=t0k" in lines
    assert "The app:    http://192.0.2.7:8888/voila/render/app.ipynb?token=t0k" in lines
    assert "On this machine: http://localhost:8888/lab?token=t0k" in lines
    seat = "http://192.0.2.7:8888/lab/workspaces/seat-01/tree/seats/workshop-01.ipynb?token=t0k"
    assert any(seat in line for line in lines)
    monkeypatch.setattr(room, "room_address", lambda: None)
    assert "JupyterLab: http://<this machine's address>:8888/lab?token=t0k" in room.urls(
        "0.0.0.0", 8888, "t0k", []
    )


def test_a_restarted_room_keeps_the_learners_work(tmp_path: Path) -> None:
    from explorer import room

    first = room.prepare_room(tmp_path, seats=2)
    assert "seats/workshop-02.ipynb" in first.added and "app.ipynb" in first.added
    work = tmp_path / "seats" / "workshop-01.ipynb"
    work.write_text(work.read_text().replace("answer_1 = None", "answer_1 = 'mine'"))
    again = room.prepare_room(tmp_path, seats=3)
    assert again.added == ["seats/workshop-03.ipynb"]
    assert "answer_1 = 'mine'" in work.read_text()
    assert not (tmp_path / "app.ipynb").stat().st_mode & 0o222, "the shared app is read-only"


@pytest.mark.slow
def test_workshop_command_refuses_a_taken_port_and_a_bad_token_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for extra, fragment in (
            (["--port", str(port)], f"--port: {port} is not allowed; it is in use on 127.0.0.1"),
            (["--port", str(free_port()), "--token", "a b"], "--token"),
            (["--port", "70000"], "a port is 1 to 65535"),
        ):
            done = subprocess.run(
                [*cli(), "workshop", "--dir", str(tmp_path / "room"), *extra],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == 2, done
            assert fragment in done.stderr and "Traceback" not in done.stderr, done.stderr
            assert "token=" not in done.stdout, "no URL is given out for a server that will not start"


@pytest.mark.slow
def test_workshop_command_serves_jupyterlab_and_the_app_and_stops_cleanly(tmp_path: Path) -> None:
    import psutil
    import requests

    room, port = tmp_path / "room", free_port()
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen(
        [*cli(), "workshop", "--ip", "127.0.0.1", "--port", str(port), "--dir", str(room), "--seats", "2"],
        stdin=subprocess.DEVNULL,  # Ctrl-C on a terminal asks to confirm; without one it stops at once
        stdout=subprocess.PIPE,
        stderr=log,
    )
    try:
        printed = _read_until(proc, "Ctrl-C stops")
        token = re.search(r"Token: (\w+)", printed).group(1)
        lab = re.search(r"JupyterLab: (\S+)", printed).group(1)
        app = re.search(r"The app: +(\S+)", printed).group(1)
        assert lab == f"http://localhost:{port}/lab?token={token}"
        assert app == f"http://localhost:{port}/voila/render/app.ipynb?token={token}"
        seat_1 = re.search(r"Seat notebooks: (\S+)", printed).group(1).replace("localhost", "127.0.0.1")
        assert seat_1.endswith(f"/lab/workspaces/seat-01/tree/seats/workshop-01.ipynb?token={token}")
        wait_for(lambda: _listening(port), timeout=60, what="the workshop server to listen")

        # the room folder: a notebook per seat, the app, and no answer key
        assert sorted(p.name for p in (room / "seats").iterdir()) == [
            "workshop-01.ipynb",
            "workshop-02.ipynb",
        ]
        assert (room / "app.ipynb").exists() and not (room / "workshop.ipynb").exists()
        assert not list(room.rglob("*answers*")) and not (room / "instructor").exists()

        base = f"http://127.0.0.1:{port}"
        assert requests.get(lab.replace("localhost", "127.0.0.1"), timeout=30).status_code == 200
        refused = requests.get(f"{base}/api/contents", timeout=30)
        assert refused.status_code == 403, "without the token the server must refuse"
        assert requests.get(f"{base}/api/terminals?token={token}", timeout=30).status_code == 404
        listing = requests.get(f"{base}/api/contents/seats?token={token}", timeout=30).json()
        assert {c["name"] for c in listing["content"]} == {"workshop-01.ipynb", "workshop-02.ipynb"}

        with browser_page() as page:
            external = record_external_requests(page)
            page.goto(app.replace("localhost", "127.0.0.1"), timeout=120_000)
            page.locator(".ax-headline").wait_for(timeout=120_000)
            page.locator(".vega-embed svg").nth(5).wait_for(timeout=120_000)
            assert "Traceback" not in page.inner_text("body")
            # each seat's link opens its notebook in a workspace of its own: no other learner's tabs
            for n in (1, 2):
                # only the seat's own "01"s: the port or the token may hold an "01" too
                seat = seat_1.replace("seat-01/", f"seat-{n:02d}/").replace(
                    "workshop-01.", f"workshop-{n:02d}."
                )
                page.goto(seat, timeout=120_000)
                title = page.locator(".jp-RenderedMarkdown h1").filter(
                    has_text="Workshop: GPU or accelerator?"
                )
                title.first.wait_for(timeout=120_000)
                tabs = page.locator(".jp-mod-current .lm-TabBar-tabLabel, .lm-DockPanel .lm-TabBar-tabLabel")
                assert tabs.all_inner_texts() == [f"workshop-{n:02d}.ipynb"], tabs.all_inner_texts()
                saved = f"{base}/lab/api/workspaces/seat-{n:02d}?token={token}"
                wait_for(
                    lambda s=saved, n=n: f"workshop-{n:02d}" in requests.get(s, timeout=10).text, 30, "save"
                )
            assert not external, external
        # the room's layouts and settings live in the room folder, not in the home folder of whoever runs it
        assert list((room / ".workspaces").glob("seat-0*")) and (room / ".settings").is_dir()

        server = psutil.Process(proc.pid)
        kernels = server.children(recursive=True)
        assert kernels, "the app page started no kernel"
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # Ctrl-C
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        finally:
            log.close()
    assert code == 0, (tmp_path / "server.log").read_text()[-3000:]
    wait_for(
        lambda: not any(k.is_running() and k.status() != "zombie" for k in kernels), 30, "kernels to stop"
    )
    assert not _listening(port)

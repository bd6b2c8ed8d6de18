"""The load test, small: a few visitors arrive, use the app for half a minute and leave (tests/load/run.py).

The full-size runs (40 and more visitors, several minutes) are too long for the suite; their figures are
in explorer/deploy/README.md, with the command that reproduces them."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .conftest import REPO

pytestmark = pytest.mark.slow


def test_a_few_visitors_arrive_use_the_app_and_leave() -> None:
    argv = [sys.executable, "-m", "tests.load.run", "--sessions", "6", "--within", "10", "--settle", "5"]
    argv += ["--minutes", "0.5", "--cull", "20", "--warmup", "10"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=600, env=env)
    print(done.stdout)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "sessions held: 6 of 6" in done.stdout and "errors: 0" in done.stdout
    assert done.stdout.rstrip().splitlines()[-1].startswith("PASS")

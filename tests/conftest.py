from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CATALOG = REPO / "catalog"
BIN = Path(sys.executable).parent

#: The modules whose tests time what visitors get (the load test: p95 of a move under 500 ms): marked
#: ``alone``, which ``make test`` runs after the rest, one test at a time (the rest run in two processes),
#: so that another test's load cannot move what they time.
ALONE = frozenset({"test_load.py"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.name in ALONE:
            item.add_marker(pytest.mark.alone)


@pytest.fixture(autouse=True)
def _no_user_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own $ACCEL_EXPLORER_CATALOG must not leak into the tests."""
    monkeypatch.delenv("ACCEL_EXPLORER_CATALOG", raising=False)


@pytest.fixture
def catalog_copy(tmp_path: Path) -> Path:
    """A private copy of the built-in catalog that a test may break."""
    dst = tmp_path / "catalog"
    shutil.copytree(CATALOG, dst, ignore=shutil.ignore_patterns("README.md"))
    return dst


def cli() -> list[str]:
    """The installed console script, run as a subprocess like a user would."""
    exe = BIN / "accel-explorer"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "explorer.cli"]

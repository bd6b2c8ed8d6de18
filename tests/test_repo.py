"""The set-up the README promises: its two commands exist, and CI runs the README's test command."""

from __future__ import annotations

import re

from .conftest import REPO


def _quick_start_commands() -> list[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(?:sh|bash|console)?\n(.*?)```", section, flags=re.S)
    return [
        line.strip() for b in blocks for line in b.splitlines() if line.strip() and not line.startswith("#")
    ]


def test_readme_quick_start_has_exactly_two_commands() -> None:
    assert _quick_start_commands() == ["make app", "make test"]


def test_ci_runs_the_readme_test_command() -> None:
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    test_command = _quick_start_commands()[1]
    assert any(line.strip() == test_command for line in ci.splitlines())


def test_makefile_targets_exist() -> None:
    mk = (REPO / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^app:", mk, re.M) and re.search(r"^test:", mk, re.M)


def test_lint_and_format_are_clean() -> None:
    """ruff, configured in pyproject.toml: lint rules and formatting hold for the whole tree."""
    import subprocess
    import sys
    from pathlib import Path

    ruff = Path(sys.executable).parent / "ruff"
    cmd = [str(ruff)] if ruff.exists() else [sys.executable, "-m", "ruff"]
    for args in (["check", "."], ["format", "--check", "."]):
        p = subprocess.run([*cmd, *args], cwd=REPO, capture_output=True, text=True)
        assert p.returncode == 0, p.stdout + p.stderr

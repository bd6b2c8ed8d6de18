"""Lower layers never import upper ones (panel's tests/test_imports.py habit)."""

from __future__ import annotations

import subprocess
import sys

import pytest

GUI = ("ipywidgets", "altair", "IPython", "voila")


@pytest.mark.parametrize("module", ["explorer.catalog", "explorer.cli"])
def test_module_pulls_in_no_gui(module: str) -> None:
    code = f"import sys, {module}; print(','.join(m for m in {GUI!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "", f"{module} imported {out.strip()}"

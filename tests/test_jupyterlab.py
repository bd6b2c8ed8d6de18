"""The notebooks in a real JupyterLab, offline: widgets and charts render, nothing is fetched from outside."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from .conftest import REPO
from .servers import browser_page, free_port, jupyter_argv, record_external_requests, serving

pytestmark = pytest.mark.slow


def jupyterlab(root: Path):
    port = free_port()
    argv = jupyter_argv(
        Path(sys.executable).parent,
        "lab",
        port,
        f"--ServerApp.root_dir={root}",
        "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    )
    return serving(argv, port, "jupyterlab", cwd=root)


def test_quickstart_renders_charts_and_widgets_offline_in_jupyterlab() -> None:
    with jupyterlab(REPO / "notebooks") as url, browser_page() as page:
        external = record_external_requests(page)
        page.goto(url + "lab/tree/quickstart.ipynb", timeout=120_000)
        page.locator(".jp-Notebook").wait_for(timeout=120_000)
        # the kernel has started, connected and is idle, as the notebook's toolbar shows it (the indicator
        # also says "idle" for a moment before there is any kernel: the kernel's name tells them apart)
        page.wait_for_function(
            """() => {
                const name = document.querySelector('.jp-Toolbar-kernelName')?.textContent ?? '';
                const status = document.querySelector('.jp-Notebook-ExecutionIndicator')?.dataset.status;
                return name.trim() !== '' && !name.includes('No Kernel') && status === 'idle';
            }""",
            timeout=120_000,
        )
        page.locator(".jp-Notebook").click()
        page.keyboard.press("Escape")
        page.get_by_role("menuitem", name="Run").click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        # two charts shown with chart_view, then the explorer's six: eight rendered Vega views
        page.locator(".vega-embed svg").nth(7).wait_for(timeout=180_000)
        assert page.evaluate("globalThis.__accelExplorerAltair.size") == 1, "one copy of Vega for all eight"
        page.locator(".ax-headline").wait_for(timeout=30_000)
        errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        tracebacks = [t for t in errors.all_inner_texts() if "Traceback" in t or "Error" in t]
        assert not tracebacks, tracebacks
        page.screenshot(path=str(REPO / ".pytest_cache" / "jupyterlab.png"))
        assert not external, external

"""Binder: build a fresh environment from binder/ alone, as repo2docker does, then execute the notebooks
in it and serve the app from it the way mybinder.org does (Voila as a Jupyter server extension, at the
README badge's urlpath). A broken Binder build is caught here, not in front of a class."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from .conftest import REPO
from .servers import browser_page, free_port, jupyter_argv, record_external_requests, serving

BINDER = REPO / "binder"


def _pins() -> dict[str, str]:
    pins = {}
    for line in (BINDER / "requirements.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.lower().replace("_", "-")] = version.strip()
    return pins


def test_binder_pins_satisfy_the_package_dependencies() -> None:
    import tomllib

    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = _pins()
    for dep in deps:
        req = Requirement(dep)
        name = req.name.lower().replace("_", "-")
        assert name in pins, f"{name} is not pinned in binder/requirements.txt"
        assert req.specifier.contains(pins[name]), f"{name}=={pins[name]} does not satisfy {req.specifier}"
    assert (BINDER / "requirements.txt").read_text().splitlines()[-1] == "."


def test_badges_use_the_right_urlpaths() -> None:
    readme = (REPO / "README.md").read_text()
    badges = re.findall(r"\((https://mybinder\.org/v2/gh/[^)]+)\)", readme)
    assert any(b.endswith("?urlpath=voila/render/notebooks/app.ipynb") for b in badges), badges
    assert any(b.endswith("?urlpath=lab/tree/notebooks") for b in badges), badges


@pytest.mark.slow
def test_fresh_binder_environment_runs_the_notebooks_and_serves_the_app(tmp_path: Path) -> None:
    env_dir, home = tmp_path / "env", tmp_path / "home"
    home.mkdir()
    subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True)
    bin_dir = env_dir / "bin"
    environ = {
        **os.environ,
        "HOME": str(home),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "XDG_CACHE_HOME": str(home / ".cache"),
    }
    environ.pop("VIRTUAL_ENV", None)
    # repo2docker: pip install -r binder/requirements.txt from the repository root, then postBuild
    subprocess.run(
        [str(bin_dir / "pip"), "install", "-q", "-r", "binder/requirements.txt"],
        cwd=REPO,
        env=environ,
        check=True,
        timeout=900,
    )
    subprocess.run(["bash", str(BINDER / "postBuild")], cwd=REPO, env=environ, check=True, timeout=300)

    # the notebooks execute in that environment
    run_all = (
        "import sys, nbformat; from nbclient import NotebookClient\n"
        "for path in sys.argv[1:]:\n"
        "    nb = nbformat.read(path, as_version=4)\n"
        "    NotebookClient(nb, timeout=300, kernel_name='python3',\n"
        "                   resources={'metadata': {'path': 'notebooks'}}).execute()\n"
        "    print('ran', path)\n"
    )
    notebooks = sorted(str(p.relative_to(REPO)) for p in (REPO / "notebooks").glob("*.ipynb"))
    done = subprocess.run(
        [str(bin_dir / "python"), "-c", run_all, *notebooks],
        cwd=REPO,
        env=environ,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("ran ") == len(notebooks)

    # the app, served as Binder serves it: Voila as a server extension, at the badge's urlpath
    port = free_port()
    argv = jupyter_argv(bin_dir, "server", port)
    with serving(argv, port, "binder-server", env=environ), browser_page() as page:
        external = record_external_requests(page)
        page.goto(f"http://127.0.0.1:{port}/voila/render/notebooks/app.ipynb", timeout=180_000)
        page.locator(".vega-embed svg").nth(5).wait_for(timeout=180_000)
        assert "Traceback" not in page.inner_text("body")
        assert not external, external
        page.goto(f"http://127.0.0.1:{port}/lab/tree/notebooks", timeout=180_000)
        page.locator(".jp-DirListing").wait_for(timeout=120_000)

"""Layers: data flows one way, and every module stays small enough to read.

catalog < scenario < model (calc) < uncertainty, validate < charts < views < widgets < app < cli, serve.
A module may import its own layer and those below it, never one above; nothing below the widgets imports a
GUI library, and nothing below the charts a chart library. Checked twice: from the source (every import
statement, those inside functions too, so a lazy import cannot hide an upward dependency), and after a
real import in a fresh interpreter (panel's tests/test_imports.py habit), which also sees what third-party
packages pull in. ruff's banned-api rule (TID251, pyproject.toml) flags GUI and chart imports in the lowest
layers while one types; this test holds the whole order.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO

PACKAGE = REPO / "explorer"

#: Bottom to top. A module belongs to the layer that lists it or a package above it (``explorer.catalog``
#: covers ``explorer.catalog.load``).
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    # loading and checking data (the catalog, uploaded files, price CSVs), formatting helpers, the device
    # table's columns declared once (explorer.columns), what an entry point does first (explorer.startup:
    # anything may call it, so it imports nothing of ours), and the chart code's files on disk
    # (explorer.bundle_files: the chart runtime writes them, the server sends them; it imports nothing)
    (
        "catalog",
        (
            "explorer",
            "explorer.catalog",
            "explorer.upload_files",
            "explorer.price_csv",
            "explorer.fmt",
            "explorer.columns",
            "explorer.startup",
            "explorer.bundle_files",
        ),
    ),
    # the Scenario declared once (explorer.scenario), how a field is declared (scenario_fields) and how
    # values are read from text and links (scenario_parse)
    ("scenario", ("explorer.scenario", "explorer.scenario_fields", "explorer.scenario_parse")),
    # the model: its steps in explorer.model (request, roofline, calibration, placement, power, cost, fleet,
    # words, evaluate), and explorer.calc, the facade that re-exports their public names
    ("model", ("explorer.model", "explorer.calc")),
    # what runs the model: its uncertainty and validation, and a session's uploads applied over the catalog
    ("uncertainty, validate", ("explorer.uncertainty", "explorer.validate", "explorer.uploads")),
    # the charts' data (results -> long-form frames, no chart library) and the charts built on it
    ("charts", ("explorer.chart_frames", "explorer.charts")),
    # what people read, without widgets: HTML views, the report and exports, the workshop's checks
    ("views", ("explorer.views", "explorer.views_api", "explorer.export", "explorer.workshop")),
    # everything that is an ipywidget or anywidget: the chart runtime, the controls, the live charts, the
    # controller, sharing, the kernel-side session
    (
        "widgets",
        (
            "explorer.runtime",
            "explorer.controls",
            "explorer.live",
            "explorer.widgets",
            "explorer.share",
            "explorer.session",
        ),
    ),
    ("app", ("explorer.app",)),
    # entry points: the command line, the hardened server (its forked kernels too), the workshop room's
    # server, the GPU measurement script (python -m explorer.measure)
    (
        "cli, serve",
        (
            "explorer.cli",
            "explorer.cli_args",
            "explorer.cli_commands",
            "explorer.cli_tables",
            "explorer.serve",
            "explorer.serve_app",
            "explorer.serve_handlers",
            "explorer.serve_limits",
            "explorer.forkserver",
            "explorer.room",
            "explorer.measure",
        ),
    ),
]
LAYER_NAMES = [name for name, _ in LAYERS]

#: Imported below the widgets layer, these make the model depend on a notebook front end.
GUI = ("ipywidgets", "anywidget", "IPython", "ipykernel", "voila", "jupyterlab", "jupyter_server")
#: Imported below the charts layer, these make the model depend on a chart library.
CHART_LIBS = ("altair", "vl_convert")

#: Upward imports that exist today, each with the issue that removes it. Listed so that a new one fails;
#: an entry that no longer occurs fails too, so the list only ever shrinks.
KNOWN_UPWARD: dict[tuple[str, str], str] = {}

#: Longest a module may be, in lines: past this a module is usually two things (issue 16).
MAX_LINES = 600
#: Modules over MAX_LINES today, to be split (issue 16). A new long module fails; so does an entry here
#: that is no longer long, so that the list only ever shrinks.
LONG_MODULES: set[str] = set()


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def where(module: str, line: int) -> str:
    path = MODULES[module]
    return f"{path.relative_to(REPO) if path.is_relative_to(REPO) else path}:{line}"


def layer_of(module: str) -> int | None:
    """Index into LAYERS of the most specific entry that covers `module`; None where none does."""
    best: tuple[int, int] | None = None  # (length of the matching name, layer)
    for index, (_, names) in enumerate(LAYERS):
        for name in names:
            covers = module == name if name == "explorer" else module == name or module.startswith(name + ".")
            if covers and (best is None or len(name) > best[0]):
                best = (len(name), index)
    return None if best is None else best[1]


def imports_of(module: str) -> list[tuple[int, str]]:
    """(line, absolute module name) for every import statement in `module`, at any depth."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the importing module's package
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            # `from . import fmt` and `from explorer import cli` import modules by name
            submodules = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in MODULES]
            found += [(node.lineno, m) for m in submodules or [target]]
    return found


def test_every_module_has_a_layer() -> None:
    unplaced = [m for m in MODULES if layer_of(m) is None]
    assert not unplaced, f"add these modules to LAYERS in tests/test_layers.py: {unplaced}"


def test_the_layers_cover_the_modules_that_exist() -> None:
    """The check is not vacuous: the modules the order names are there and seen importing each other."""
    for module in ("explorer.catalog", "explorer.scenario", "explorer.calc", "explorer.app", "explorer.cli"):
        assert module in MODULES, module
    charts = [m for m in MODULES if layer_of(m) == LAYER_NAMES.index("charts")]
    assert any(target == "explorer.calc" for m in charts for _, target in imports_of(m))
    assert any(target.startswith("explorer.model.") for _, target in imports_of("explorer.calc"))
    assert any(target == "altair" for _, target in imports_of("explorer.charts"))


def upward_imports() -> dict[tuple[str, str], str]:
    found = {}
    for module in MODULES:
        own = layer_of(module)
        for line, target in imports_of(module):
            if not target.startswith("explorer") or own is None:
                continue
            theirs = layer_of(target)
            if theirs is not None and theirs > own:
                found[(module, target)] = (
                    f"{where(module, line)}: {module} ({LAYER_NAMES[own]}) imports "
                    f"{target} ({LAYER_NAMES[theirs]}), a layer above it"
                )
    return found


@pytest.mark.slow
def test_no_module_imports_a_layer_above_its_own() -> None:
    found = upward_imports()
    new = [why for pair, why in found.items() if pair not in KNOWN_UPWARD]
    assert not new, "\n".join(new)
    gone = [pair for pair in KNOWN_UPWARD if pair not in found]
    assert not gone, f"no longer imported upward, remove from KNOWN_UPWARD in tests/test_layers.py: {gone}"


def front_end_imports(below: str, banned: tuple[str, ...]) -> list[str]:
    limit = LAYER_NAMES.index(below)
    return [
        f"{where(module, line)}: {module} imports {target}"
        for module in MODULES
        if (layer_of(module) or 0) < limit
        for line, target in imports_of(module)
        if target.split(".")[0] in banned
    ]


@pytest.mark.parametrize(
    ("below", "banned"),
    [("widgets", GUI), ("charts", CHART_LIBS)],
    ids=["no GUI below the widgets", "no chart library below the charts"],
)
@pytest.mark.slow
def test_no_front_end_library_below_its_layer(below: str, banned: tuple[str, ...]) -> None:
    found = front_end_imports(below, banned)
    assert not found, "\n".join(found)


@pytest.mark.slow
def test_the_source_check_sees_imports_inside_functions(tmp_path: Path, monkeypatch) -> None:
    """A lazy import of an upper layer, or of a GUI library, in a lower module is found."""
    fake = tmp_path / "calc.py"
    fake.write_text("def f():\n    from .widgets import Explorer\n    import ipywidgets\n", encoding="utf-8")
    monkeypatch.setitem(MODULES, "explorer.calc", fake)
    assert imports_of("explorer.calc") == [(2, "explorer.widgets"), (3, "ipywidgets")]
    assert ("explorer.calc", "explorer.widgets") in upward_imports()
    assert any("explorer.calc imports ipywidgets" in line for line in front_end_imports("widgets", GUI))


# The model's layers and the command line, after a real import. Not explorer.charts: `import altair` itself
# imports anywidget, ipywidgets and IPython (alt.JupyterChart); the source check holds the charts to
# importing none of them directly. The command line starts fast: it imports the GUI only to serve.
@pytest.mark.parametrize(
    "module",
    [
        "explorer.catalog",
        "explorer.scenario",
        "explorer.calc",
        "explorer.uncertainty",
        "explorer.validate",
        "explorer.cli",
    ],
)
@pytest.mark.slow
def test_module_pulls_in_no_gui(module: str) -> None:
    banned = GUI + CHART_LIBS
    code = f"import sys, {module}; print(','.join(m for m in {banned!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "", f"{module} imported {out.strip()}"


def source_of_from(module: str, node: ast.ImportFrom) -> str:
    """The absolute module a ``from ... import`` statement in ``module`` imports from."""
    if not node.level:
        return node.module or ""
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    base = package.split(".")[: len(package.split(".")) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def private_reach_ins() -> list[str]:
    """Where a module of ours uses another module's private name (``from .x import _y``, ``x._y``)."""
    found = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        ours: set[str] = set()  # local names bound to modules of ours
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                source = source_of_from(module, node)
                for alias in node.names:
                    if f"{source}.{alias.name}" in MODULES:
                        ours.add(alias.asname or alias.name)
                    elif source.startswith("explorer") and source != module and is_private(alias.name):
                        found.append(f"{where(module, node.lineno)}: imports {source}.{alias.name}")
            elif isinstance(node, ast.Import):
                ours |= {a.asname for a in node.names if a.asname and a.name.startswith("explorer")}
        found += [
            f"{where(module, node.lineno)}: uses {node.value.id}.{node.attr}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in ours
            and is_private(node.attr)
        ]
    return found


def is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


@pytest.mark.slow
def test_no_module_reaches_into_another_modules_private_names() -> None:
    """A name used across modules is public (issue 16): no ``from .calc import _x``, no ``load._x``."""
    found = private_reach_ins()
    assert not found, "make these names public in the module that defines them:\n" + "\n".join(found)


@pytest.mark.slow
def test_the_private_check_sees_a_reach_in(tmp_path: Path, monkeypatch) -> None:
    fake = tmp_path / "cli.py"
    fake.write_text("from .catalog import load\nfrom .calc import _f\n\nload._x(1)\n", encoding="utf-8")
    monkeypatch.setitem(MODULES, "explorer.cli", fake)
    found = [line.split(": ", 1)[1] for line in private_reach_ins() if line.startswith(str(fake))]
    assert found == ["imports explorer.calc._f", "uses load._x"], found


def test_no_module_is_over_the_line_limit() -> None:
    lengths = {
        str(p.relative_to(REPO)): len(p.read_text(encoding="utf-8").splitlines()) for p in MODULES.values()
    }
    long = {path for path, n in lengths.items() if n > MAX_LINES}
    new = sorted(f"{path} ({lengths[path]} lines)" for path in long - LONG_MODULES)
    assert not new, f"over {MAX_LINES} lines: split by what the module does (see issue 16): {new}"
    shrunk = sorted(LONG_MODULES - long)
    assert not shrunk, (
        f"now within {MAX_LINES} lines: remove from LONG_MODULES in tests/test_layers.py: {shrunk}"
    )


@pytest.mark.parametrize(
    ("path", "flagged"),
    [("explorer/calc.py", True), ("explorer/model/fleet.py", True), ("explorer/widgets.py", False)],
)
def test_ruff_bans_gui_and_chart_imports_in_the_model_layers(path: str, flagged: bool) -> None:
    """pyproject.toml's banned-api rule (TID251) flags them in the lower layers only, lazy imports too."""
    ruff = Path(sys.executable).parent / "ruff"
    cmd = [str(ruff)] if ruff.exists() else [sys.executable, "-m", "ruff"]
    source = "def f():\n    import ipywidgets\n    import altair as alt\n\n    return ipywidgets, alt\n"
    p = subprocess.run(
        [*cmd, "check", "--select", "TID251", "--output-format", "concise", "--stdin-filename", path, "-"],
        input=source,
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    banned = {name for name in ("ipywidgets", "altair") if f"`{name}` is banned" in p.stdout}
    assert (p.returncode, banned) == ((1, {"ipywidgets", "altair"}) if flagged else (0, set())), (
        p.stdout + p.stderr
    )

"""The JavaScript the explorer sends to browsers is checked by a tool: Node.js parses every module.

Each widget's front end is an ES module (anywidget's ``_esm``) in a file under ``explorer/js/`` (``*.js``),
never a string in the Python source; the files ship in the wheel (hatch packages every file under
``explorer/``). ``node --check`` parses without running, so a syntax error fails here rather than as a blank
widget in a visitor's browser.
"""

from __future__ import annotations

import importlib
import pkgutil
import shutil
import subprocess
from typing import Any

import pytest
from traitlets import TraitType

import explorer

from .conftest import REPO

NODE = shutil.which("node")
needs_node = pytest.mark.skipif(
    NODE is None,
    reason="Node.js (`node`) is not installed, so the JavaScript is not checked (Debian: apt-get install "
    "nodejs; .ci/run installs it)",
)
JS_FILES = sorted((REPO / "explorer").rglob("*.js"))


def node_check(source: str) -> str:
    """Node's complaint about `source` as an ES module, or "" when it parses."""
    # stdin with --input-type=module: parsed as a module on every Node version, whatever the file is called
    p = subprocess.run(
        [NODE, "--input-type=module", "--check"], input=source, capture_output=True, text=True, timeout=60
    )
    return "" if p.returncode == 0 else (p.stderr or p.stdout or f"node exited with {p.returncode}")


def explorer_widget_modules() -> dict[str, Any]:
    """Every anywidget class of the explorer that declares its own front end: name -> its ``_esm`` (a
    FileContents for a file, whose str() is the file's text)."""
    import anywidget

    for info in pkgutil.walk_packages(explorer.__path__, "explorer."):
        # explorer.measure needs the optional torch extra, and holds no widgets
        if not info.name.endswith("__main__") and not info.name.startswith("explorer.measure"):
            importlib.import_module(info.name)
    found, todo = {}, list(anywidget.AnyWidget.__subclasses__())
    while todo:
        cls = todo.pop()
        todo += cls.__subclasses__()
        esm = cls.__dict__.get("_esm")
        # a widget's instance gets its _esm as a trait, on a class traitlets makes for it: skip those
        if cls.__module__.startswith("explorer.") and esm is not None and not isinstance(esm, TraitType):
            found[f"{cls.__module__}.{cls.__qualname__}"] = esm
    return found


def test_the_chart_loader_is_a_file_the_chart_sends() -> None:
    """Chart's module is explorer/js/chart_loader.js, read by anywidget and sent to the browser as is."""
    import altair as alt

    from explorer.runtime import Chart

    loader = REPO / "explorer" / "js" / "chart_loader.js"
    assert loader in JS_FILES
    sent = Chart(alt.Chart().mark_point()).get_state()["_esm"]
    assert sent == loader.read_text(encoding="utf-8")


def test_javascript_lines_keep_the_python_line_length() -> None:
    """The JavaScript keeps the repository's line length (pyproject's ruff ``line-length``): ruff reads only
    Python, so this is the one check the JS files' layout gets."""
    import tomllib

    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    limit = pyproject["tool"]["ruff"]["line-length"]
    long = [
        f"{path.relative_to(REPO)}:{n}: {len(line)} characters"
        for path in JS_FILES
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if len(line) > limit
    ]
    assert JS_FILES and not long, long


@needs_node
@pytest.mark.parametrize("path", JS_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_javascript_file_parses(path) -> None:
    error = node_check(path.read_text(encoding="utf-8"))
    assert not error, f"{path.relative_to(REPO)}: {error}"


@pytest.mark.slow
@needs_node
def test_every_widget_module_parses() -> None:
    """Each widget's ES module, whether in a .js file or still a string in Python, parses."""
    modules = explorer_widget_modules()
    assert "explorer.runtime.Chart" in modules, sorted(modules)
    errors = {name: error for name, source in modules.items() if (error := node_check(str(source)))}
    assert not errors, "\n\n".join(f"{name}: {error}" for name, error in errors.items())


@needs_node
def test_the_check_finds_a_syntax_error() -> None:
    assert node_check("export default { render };\n") == ""
    assert "SyntaxError" in node_check("export default { render( };\n")


#: The one module still written in Python: AltairRuntime's placeholder (the bundle travels in a trait).
EMPTY_MODULE = "export default {};"


def test_every_widget_module_is_a_file_under_explorer_js() -> None:
    """No JavaScript hides in a Python string: each widget's _esm is one of the files checked above."""
    from anywidget._file_contents import FileContents

    modules = explorer_widget_modules()
    assert {"explorer.share.LinkBar", "explorer.session.SessionWatch"} <= set(modules), sorted(modules)
    strings = {name for name, esm in modules.items() if not isinstance(esm, FileContents)}
    assert {name for name in strings if str(modules[name]).strip() != EMPTY_MODULE} == set(), strings
    used = {esm._path for esm in modules.values() if isinstance(esm, FileContents)}
    assert used <= set(JS_FILES), used - set(JS_FILES)
    assert set(JS_FILES) <= used, f"not any widget's module: {sorted(set(JS_FILES) - used)}"


# The session watch's logic run in Node with a stand-in page (elements, a clock and a timer the test
# drives) and a stand-in widget model: the note shows when the kernel's answers are overdue and goes away
# when they resume (a kernel busy for longer than the timeout is not a dead one).
_WATCH_HARNESS = r"""
const made = [];
globalThis.document = { createElement: (tag) => {
  const e = { tag, hidden: false, children: [], classList: { add() {} }, setAttribute() {},
              addEventListener() {}, append(...c) { this.children.push(...c); } };
  made.push(e); return e; } };
let now = 0, tick = null;
Date.now = () => now;
globalThis.setInterval = (fn, ms) => { tick = fn; return 1; };
globalThis.clearInterval = () => { tick = null; };
const handlers = [];
const sent = [];
const model = { get: (k) => ({ interval_ms: 3000, timeout_ms: 10000 })[k],
                on: (ev, fn) => handlers.push(fn), send: (m) => sent.push(m) };
const mod = await import(process.argv[2]);
const el = document.createElement("div");
mod.default.render({ model, el });
const box = made.find((e) => e.className === "ax-session-lost");
const step = (ms, answer) => { now += ms; if (tick) tick();
  if (answer) handlers.forEach((h) => h({ pong: sent[sent.length - 1].ping })); return box.hidden; };
const seen = [];
seen.push(step(3000, true));    // answered: hidden
for (let i = 0; i < 5; i++) seen.push(step(3000, false));  // 15 s with no answer: shown
seen.push(step(3000, true));    // answers resume: hidden again
seen.push(step(3000, true));
console.log(JSON.stringify(seen));
"""


@needs_node
def test_the_session_note_shows_while_answers_are_overdue_and_goes_when_they_resume(tmp_path) -> None:
    harness = tmp_path / "harness.mjs"
    harness.write_text(_WATCH_HARNESS)
    module = REPO / "explorer" / "js" / "session_watch.js"
    p = subprocess.run([NODE, str(harness), module.as_uri()], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    import json

    hidden = json.loads(p.stdout.strip().splitlines()[-1])
    # hidden after an answer; still hidden within the 10 s timeout; shown past it; hidden once answered
    assert hidden[0] is True
    assert hidden[1:4] == [True, True, True]  # 3, 6, 9 s overdue: within the timeout
    assert hidden[4:6] == [False, False]  # 12 and 15 s: the note shows
    assert hidden[6:] == [True, True], hidden

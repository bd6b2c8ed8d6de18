"""What the page shows, read back from Chromium, against a fresh evaluation of the same scenario.

The journeys (open a link, upload a scenario, reload after a dead kernel, upload a price) end the same
way: the page's headline names the device the CLI recommends, and every chart draws exactly the rows that
a fresh evaluation gives. Vega's SVG renderer binds each drawn mark to its scenegraph item
(``element.__data__``); the item's ``datum`` is the data row the mark draws, so the rows are read from
what is drawn, not from the widget's state.
"""

from __future__ import annotations

import json
import math
import subprocess
from typing import Any

from explorer import charts as C
from explorer.calc import evaluate
from explorer.catalog import Catalog
from explorer.scenario import Scenario
from explorer.uncertainty import monte_carlo
from explorer.widgets import HEADLINE_DRAWS

from .conftest import cli

#: The page's charts, from their one declaration (explorer.charts.CHARTS).
CHARTS = C.PAGE_CHARTS

_DRAWN_JS = """(names) => Object.fromEntries(names.map((name) => {
  const el = document.querySelector('.ax-chart-' + name);
  if (!el) return [name, null];
  const rows = [...el.querySelectorAll('g.role-mark > *')]
    .map((mark) => mark.__data__ && mark.__data__.datum)
    .filter((d) => d && typeof d === 'object')
    .map((d) => JSON.parse(JSON.stringify(d)));
  return [name, rows];
}))"""


def drawn_rows(page: Any, charts: tuple[str, ...] = CHARTS) -> dict[str, list[dict[str, Any]] | None]:
    """The data rows each chart on the page draws (None for a chart not on the page).

    A chart off screen draws its latest data when it scrolls into view (explorer/js/chart_loader.js marks
    it data-ax-pending until then): each such chart is scrolled into view first, as a reader would."""
    for name in charts:
        waiting = page.locator(f".ax-chart-{name}[data-ax-pending]")
        if waiting.count():
            # scroll the chart itself: it may draw (and lose data-ax-pending) between the count and the scroll
            page.locator(f".ax-chart-{name}").first.scroll_into_view_if_needed()
            waiting.first.wait_for(state="detached", timeout=30_000)
    return page.evaluate(_DRAWN_JS, list(charts))


def expected_data(scenario: Scenario, cat: Catalog, boundary: str = "facility") -> dict[str, Any]:
    """A fresh evaluation's chart datasets, computed here, in the test process."""
    result = evaluate(scenario, cat)
    bands = monte_carlo(scenario, cat, draws=HEADLINE_DRAWS, seed=0)
    return C.chart_data(result, cat, boundary, bands.options)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float | int) and isinstance(b, float | int) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def mismatches(
    scenario: Scenario, cat: Catalog, drawn: dict[str, Any], charts: tuple[str, ...] = CHARTS
) -> list[str]:
    """Every way the drawn charts differ from a fresh evaluation of `scenario` (empty when they agree);
    `charts` may name the page's grid and the charts of the section under it (the tornado)."""
    data = expected_data(scenario, cat) if set(charts) & set(CHARTS) else {}
    if set(charts) - set(CHARTS):
        data.update(C.uncertainty_data(scenario, cat))
    problems = []
    for name in charts:
        rows = drawn.get(name)
        if rows is None:
            problems.append(f"{name}: not on the page")
            continue
        expected = [r for n in C.DATASETS[name] for r in C.records(data[n])]
        verified = 0
        for datum in rows:
            keys = [k for k in datum if any(k in r for r in expected)]
            if len(keys) < 2:  # a mark Vega derived (an axis helper, an aggregate): nothing to compare
                continue
            candidates = [r for r in expected if all(k in r and _same(r[k], datum[k]) for k in keys)]
            if not candidates:
                problems.append(f"{name}: draws a row no fresh evaluation gives: {json.dumps(datum)[:300]}")
            else:
                verified += 1
        if verified == 0 and expected:
            problems.append(f"{name}: none of its {len(rows)} marks could be matched to the evaluation")
        # every device the evaluation ranks is drawn (bars and points: one mark per row)
        for key in ("device", "name"):
            want = {r[key] for n in C.DATASETS[name] for r in C.records(data[n]) if key in r}
            got = {d[key] for d in rows if key in d}
            if want and name in ("cost_per_request", "perf_per_watt", "power") and want != got:
                problems.append(f"{name}: draws {sorted(got - want)} extra and misses {sorted(want - got)}")
    return problems


def cli_recommendation(scenario: Scenario, tmp_path: Any) -> str:
    """The device the CLI (a subprocess, as a user runs it) recommends for `scenario`."""
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(scenario.to_dict()), encoding="utf-8")
    out = subprocess.run(
        [*cli(), "evaluate", "--scenario", str(path), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(out.stdout)["recommendation"]["name"]

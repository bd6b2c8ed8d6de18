"""Live charts: a chart whose datasets are replaced in place when only its data changed."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

from . import charts as C
from .runtime import Chart


class LiveChart:
    """One ``alt.JupyterChart`` whose named datasets are replaced in place when only the data changed.

    Rebuilding a chart (``replace``) re-embeds it in the browser; pushing rows into its Vega datasets
    (``push``) updates marks, scales and axes without a re-embed, the fast path for sliders. The push uses
    the ``_py_to_js_updates`` channel of altair's JupyterChart (altair 6.x), which VegaFusion also uses.

    The kernel's copy of the chart's spec always holds the rows last pushed: a view rendered later (a
    pre-started kernel whose visitor arrives after a shared link was applied, a page reloaded, a second
    view in JupyterLab) draws the same data as the views that received the pushes. The spec is updated in
    place, so nothing extra travels to views that already show the chart.

    Each view says when it goes off or on screen (explorer/js/chart_loader.js). While every view that
    said so is off screen, a push sends no rows: the views are told once that the chart is stale, and
    get the latest rows when one is back on screen (the ranked costs and the power chart, under the
    fold, are most of what a slider move would send).
    """

    MAX_VIEWS = 64  # views remembered per chart (a page sends a few; a forged flood is not kept)

    def __init__(self, name: str, chart: alt.TopLevelMixin, data: dict[str, pd.DataFrame]):
        self.name = name
        self.widget = Chart(chart)
        self.widget.add_class(f"ax-chart-{name}")  # found by name in the page, by tests and by CSS
        self.pushes = 0
        self.rebuilds = 0
        self.views: dict[str, bool] = {}  # view id -> on screen, as each view last said
        self.held = False  # rows changed since the views were told the chart is stale
        self._sent = 0
        self.widget.on_msg(self._on_view)
        self._adopt(data)

    def _adopt(self, data: dict[str, pd.DataFrame]) -> None:
        """Take the rows and the frames of a freshly built chart, and find where its spec holds them."""
        self.datasets: dict[str, list[dict[str, Any]]] = {
            n: C.records(data[n]) for n in C.DATASETS[self.name]
        }
        # the frames last shown: a frame shared between evaluations (the volume curve, the support grid)
        # is the same object when unchanged, so it is skipped without converting its rows
        self.frames = {n: data[n] for n in C.DATASETS[self.name]}
        self._holders = _inline_data(self.widget.spec, set(self.datasets))

    def push(self, data: dict[str, pd.DataFrame]) -> bool:
        updates = []
        for n in C.DATASETS[self.name]:
            if data[n] is self.frames[n]:
                continue
            self.frames[n] = data[n]
            rows = C.records(data[n])
            if rows != self.datasets[n]:
                updates.append({"namespace": "data", "name": n, "scope": [], "value": rows})
                self.datasets[n] = rows
                for holder in self._holders.get(n, ()):
                    holder["values"] = rows  # the state a view rendered from now on starts from
        if not updates:
            return False
        self.pushes += 1
        if self.views and not any(self.views.values()):  # no view on screen: the rows wait
            if not self.held:
                self.held = True
                self._send([{"namespace": "ax-stale"}])
            return True
        self._send(updates)
        return True

    def _send(self, updates: list[dict[str, Any]]) -> None:
        # the serial makes every sending a change, so the browser always receives it
        self._sent += 1
        self.widget._py_to_js_updates = [*updates, {"namespace": "serial", "value": self._sent}]

    def _on_view(self, _widget: Any, content: Any, _buffers: Any) -> None:
        """A view went off or on screen; one back on screen that is stale gets the latest rows."""
        if not isinstance(content, dict) or not isinstance(content.get("ax_view"), str):
            return
        view, visible = content["ax_view"][:64], content.get("visible") is True
        if view not in self.views and len(self.views) >= self.MAX_VIEWS:
            self.views.clear()  # forgotten views count as on screen: rows are sent, never lost
        self.views[view] = visible
        if visible and (self.held or content.get("stale") is True):
            self.held = False
            self._send(
                [
                    {"namespace": "data", "name": n, "scope": [], "value": rows}
                    for n, rows in self.datasets.items()
                ]
            )

    def replace(self, chart: alt.TopLevelMixin, data: dict[str, pd.DataFrame]) -> None:
        self.rebuilds += 1
        self.widget.chart = chart  # every view embeds the new spec, with its rows: none is stale
        self.held = False
        self._adopt(data)


def _inline_data(spec: Any, names: set[str]) -> dict[str, list[dict[str, Any]]]:
    """The ``{"name": ..., "values": [...]}`` entries of a Vega-Lite spec, by dataset name."""
    found: dict[str, list[dict[str, Any]]] = {}
    stack = [spec]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("name") in names and isinstance(node.get("values"), list):
                found.setdefault(node["name"], []).append(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found

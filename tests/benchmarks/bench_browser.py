"""Benchmark the app in headless Chromium against Voila (a script that prints figures; not a test).

    .venv/bin/python tests/benchmarks/bench_browser.py [--changes 25] [--loads 3]

In one run, each figure beside its baseline, medians over several runs (this machine is noisy):

1. slider to chart: from a key press on the request-volume slider to the last chart update it causes
   (the page quiet for 400 ms afterwards), for
   - the app (charts' data replaced in place),
   - the naive way (clear an Output, display freshly built charts: tests/benchmarks/naive.ipynb),
   - the floor (one slider, one label: tests/benchmarks/floor.ipynb);
2. time to first chart: page opened to first chart drawn, cold (a new kernel per visit) and with
   pre-started kernels (Voila's preheat pool), beside the floor page;
3. memory: the kernel's resident memory per visitor, against the floor's bare kernel;
4. where a cold start goes: Python-side steps timed in a fresh interpreter;
5. the kernel's part of a request-volume move, in-process (no browser, no sending): each step's median.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.servers import browser_page, voila  # noqa: E402

APP = REPO / "notebooks" / "app.ipynb"
NAIVE = REPO / "tests" / "benchmarks" / "naive.ipynb"
FLOOR = REPO / "tests" / "benchmarks" / "floor.ipynb"

OBSERVE = """
() => {
  window.__t0 = 0; window.__last = 0;
  document.addEventListener('keydown', () => { window.__t0 = performance.now(); window.__last = 0; }, true);
  new MutationObserver(() => { if (window.__t0) window.__last = performance.now(); })
    .observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true});
}
"""


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def slider_latencies(notebook: Path, changes: int, ready: str) -> list[float]:
    """Milliseconds from key press to the last DOM change it causes, for `changes` key presses."""
    out = []
    with voila(notebook) as url, browser_page() as page:
        page.goto(url, timeout=180_000)
        page.locator(ready).first.wait_for(timeout=180_000)
        page.wait_for_timeout(1500)
        page.evaluate(OBSERVE)
        handle = page.locator(".noUi-handle").first
        handle.focus()
        for i in range(changes):
            page.keyboard.press("ArrowRight" if i % 2 == 0 else "ArrowLeft")
            # wait for the update to start, then for 400 ms of quiet
            deadline = time.monotonic() + 20
            while page.evaluate("window.__last") == 0 and time.monotonic() < deadline:
                page.wait_for_timeout(5)
            last, quiet_since = page.evaluate("window.__last"), time.monotonic()
            while time.monotonic() - quiet_since < 0.4:
                page.wait_for_timeout(20)
                now = page.evaluate("window.__last")
                if now != last:
                    last, quiet_since = now, time.monotonic()
            out.append(page.evaluate("window.__last - window.__t0"))
    return out


def first_chart_times(notebook: Path, loads: int, ready: str, pool: int = 0) -> list[float]:
    """Seconds from page opened to `ready` drawn: with `pool` pre-started kernels, or cold (pool 0)."""
    times = []
    with voila(notebook, pool_size=pool) as url, browser_page() as page:
        if pool:
            time.sleep(20)  # let the pre-started kernels run the notebook
        for _ in range(loads):
            t0 = time.perf_counter()
            page.goto(url, timeout=180_000)
            page.locator(ready).first.wait_for(timeout=180_000)
            times.append(time.perf_counter() - t0)
            if pool:
                time.sleep(12)  # the pool refills before the next visitor
    return times


def kernel_rss_mb(notebook: Path, ready: str) -> float:
    with voila(notebook) as url, browser_page() as page:
        page.goto(url, timeout=180_000)
        page.locator(ready).first.wait_for(timeout=180_000)
        page.wait_for_timeout(2000)
        # the server's kernels, launched or forked (tests/load/run.py finds both kinds)
        import urllib.parse

        from tests.load.run import kernel_processes
        from tests.servers import server_process

        kernels = kernel_processes(server_process(urllib.parse.urlsplit(url).port))
        rss = [k.memory_info().rss for k in kernels if k.is_running()]
        return max(rss) / 2**20 if rss else float("nan")


STARTUP = """
import time, json
from explorer.startup import prepare_process; prepare_process()  # first, as in the app (explorer_app)
t = time.perf_counter(); import altair; a = time.perf_counter()
import explorer.runtime, explorer.widgets; explorer.runtime.enable_offline_charts(); b = time.perf_counter()
from explorer.catalog import load_catalog; cat = load_catalog(); c = time.perf_counter()
from explorer.app import explorer_app; explorer_app(cat); d = time.perf_counter()
print(json.dumps({"import altair": a - t, "import explorer.widgets (offline charts)": b - a,
                  "load catalog": c - b, "build the app (evaluate, charts, widgets)": d - c}))
"""


def startup_breakdown() -> dict[str, float]:
    import json

    out = subprocess.run(
        [sys.executable, "-c", STARTUP], capture_output=True, text=True, cwd=REPO, check=True
    )
    return json.loads(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--changes", type=int, default=25, help="slider changes per mode (median and p95)")
    ap.add_argument("--loads", type=int, default=3, help="page loads per first-chart figure")
    ap.add_argument(
        "--only", choices=["slider", "load", "memory", "startup", "kernel"], help="run one part only"
    )
    args = ap.parse_args()

    def run(part: str) -> bool:
        return args.only in (None, part)

    if run("slider"):
        slider_part(args)
    if run("load"):
        load_part(args)
    if run("memory"):
        memory_part()
    if run("startup"):
        print("\n4. Where a cold start goes (s, fresh interpreter, offline bundle cached)")
        for step, secs in startup_breakdown().items():
            print(f"   {step:45s} {secs:5.2f}")
    if run("kernel"):
        kernel_part()


def kernel_part(moves: int = 60) -> None:
    """The steps of Explorer.update for a request-volume move, timed in this process."""
    import dataclasses

    from explorer import charts as C
    from explorer.calc import evaluate
    from explorer.catalog import load_catalog
    from explorer.uncertainty import monte_carlo
    from explorer.views import headline_html
    from explorer.widgets import HEADLINE_DRAWS, Explorer

    cat = load_catalog()
    ex = Explorer(cat)
    s0 = ex.controls.scenario()
    steps: dict[str, list[float]] = {}

    def timed(step: str, fn, *args, **kwargs):
        t = time.perf_counter()
        out = fn(*args, **kwargs)
        steps.setdefault(step, []).append((time.perf_counter() - t) * 1000)
        return out

    for i in range(moves):
        s = dataclasses.replace(s0, requests_per_day=s0.requests_per_day * (1.12 if i % 2 else 1.0))
        r = timed("evaluation", evaluate, s, cat)
        b = timed(f"Monte Carlo band ({HEADLINE_DRAWS} draws)", monte_carlo, s, cat, HEADLINE_DRAWS, 0)
        d = timed("chart data", C.chart_data, r, cat, "facility", b.options)
        timed("headline", headline_html, r, b)
        timed("pushes (rows compared, changed ones set)", lambda d=d: [c.push(d) for c in ex.charts.values()])
        timed("the whole update, as a move runs it", ex.update, s)
    print("\n5. A request-volume move in the kernel (ms, in-process medians; Voila adds sending it)")
    for step, ms in steps.items():
        print(f"   {step:45s} {statistics.median(ms):6.2f}")


def slider_part(args: argparse.Namespace) -> None:
    print("1. Slider to chart (ms): key press to the last update it causes")
    rows = {}
    for label, nb, ready in [
        ("app: data replaced in place", APP, ".vega-embed svg"),
        ("naive: clear Output, new charts", NAIVE, ".vega-embed svg"),
        ("floor: one slider, one label", FLOOR, ".floor"),
    ]:
        lat = slider_latencies(nb, args.changes, ready)
        rows[label] = lat
        print(
            f"   {label:34s} median {statistics.median(lat):7.1f}   p95 {pct(lat, 0.95):7.1f}   "
            f"(n={len(lat)})"
        )
    app, naive, floor = (statistics.median(v) for v in rows.values())
    print(
        f"   naive / app = {naive / app:.1f}x (target >= 3x);  app / floor = {app / floor:.1f}x "
        "(target <= ~2x); "
        f"app median {'<' if app < 50 else '>='} 50 ms target"
    )


def load_part(args: argparse.Namespace) -> None:
    print("\n2. Time to first chart (s): page opened to first chart drawn")
    cold = first_chart_times(APP, args.loads, ".vega-embed svg")
    floor_cold = first_chart_times(FLOOR, args.loads, ".floor")
    warm = first_chart_times(APP, args.loads, ".vega-embed svg", pool=1)
    print(
        f"   app, cold (new kernel):        median {statistics.median(cold):5.2f}  "
        f"{[round(x, 2) for x in cold]}"
    )
    print(
        f"   floor page, cold:              median {statistics.median(floor_cold):5.2f}  "
        f"{[round(x, 2) for x in floor_cold]}"
    )
    print(
        f"   app, pre-started kernel:       median {statistics.median(warm):5.2f}  "
        f"{[round(x, 2) for x in warm]}"
    )
    print(
        f"   cold app / cold floor = {statistics.median(cold) / statistics.median(floor_cold):.1f}x "
        "(target 1.5x); "
        f"pre-started {'<' if statistics.median(warm) < 2 else '>='} 2 s target"
    )


def memory_part() -> None:
    print("\n3. Kernel memory per visitor (MB, resident)")
    print(
        f"   app kernel {kernel_rss_mb(APP, '.vega-embed svg'):6.0f}   bare kernel (floor) "
        f"{kernel_rss_mb(FLOOR, '.floor'):6.0f}"
    )


if __name__ == "__main__":
    main()

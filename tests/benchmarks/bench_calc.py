"""Benchmark the decision engine (a script that prints figures; not a timed test).

    .venv/bin/python tests/benchmarks/bench_calc.py [--repeats 7]

Prints medians over several runs (this machine is noisy) for:
- one full evaluation over the whole catalog, without and with the crossover search (target: median < 5 ms
  for the evaluation a slider triggers);
- the same for an LLM's token slider: every evaluation a new request (its tokens), so the serving model runs
  again, each copy at every degree its containers allow (``explorer/model/copies.py``);
- a 50 x 50 grid of request volume x model changes per year, the break-even surface (target < 0.5 s);
- 10,000 Monte Carlo draws over the whole catalog and the tornado (targets: well under 1 s).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from explorer.calc import breakeven_map, evaluate
from explorer.catalog import load_catalog
from explorer.scenario import Scenario
from explorer.uncertainty import monte_carlo, tornado


def _time(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7, help="runs per figure (median and spread are printed)")
    args = ap.parse_args()
    cat = load_catalog()
    s = Scenario(requests_per_day=2.5e9, model_changes_per_year=4, framework_mix={"pytorch": 1})
    evaluate(s, cat)  # warm the per-workload device table, as a running app has

    tokens = iter(range(10**9))  # a new request at every call: nothing served is reused

    def token_move():
        evaluate(Scenario(input_tokens=400.0 + next(tokens) % 600), cat, crossover=False)

    def bound_token_move():  # under a latency bound: the batch figure is served too, where the bound starts
        s = Scenario(input_tokens=400.0 + next(tokens) % 600, latency_target="interactive-chat")
        evaluate(s, cat, crossover=False)

    volumes = np.logspace(2, np.log10(5e11), 50)
    changes = np.linspace(0, 52, 50)
    rows = []
    for label, fn, inner, target in [
        ("evaluate, whole catalog (no crossover)", lambda: evaluate(s, cat, crossover=False), 50, 0.005),
        ("evaluate, whole catalog + crossover", lambda: evaluate(s, cat), 20, 0.005),
        ("evaluate, an LLM token move (new request)", token_move, 20, 0.005),
        ("the same under a latency bound", bound_token_move, 20, 0.005),
        ("break-even map 50 x 50", lambda: breakeven_map(s, volumes, changes, cat), 3, 0.5),
        ("Monte Carlo, 10,000 draws, whole catalog", lambda: monte_carlo(s, cat, draws=10_000), 3, 1.0),
        ("tornado (every ranged input, low and high)", lambda: tornado(s, cat), 10, 0.5),
    ]:
        medians = []
        for _ in range(args.repeats):
            medians.append(statistics.median(_time(fn, inner)))
        med = statistics.median(medians)
        rows.append((label, med, min(medians), max(medians), target))
    print(f"{'figure':42s} {'median':>10s} {'min':>10s} {'max':>10s}  target")
    for label, med, lo, hi, target in rows:
        verdict = (
            "" if target is None else (f"< {target * 1e3:g} ms " + ("met" if med < target else "MISSED"))
        )
        print(f"{label:42s} {med * 1e3:8.2f}ms {lo * 1e3:8.2f}ms {hi * 1e3:8.2f}ms  {verdict}")
    print(
        f"({args.repeats} runs; each run's figure is itself a median over repeated calls; "
        f"{len(cat.devices)} devices in the catalog)"
    )


if __name__ == "__main__":
    main()

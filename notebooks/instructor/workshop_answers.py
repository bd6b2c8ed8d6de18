"""Answer key for notebooks/workshop.ipynb: for the instructor, not for the room.

Kept out of the learners' notebook and out of the folder that ``accel-explorer workshop`` serves to the
room. Each answer is the code a learner would write; the figures it gives come from the model, so they
follow the catalog. Run it to see today's figures and the follow-up answers:

    .venv/bin/python notebooks/instructor/workshop_answers.py                # every answer, with notes
    .venv/bin/python notebooks/instructor/workshop_answers.py solved.ipynb   # also a solved copy to show

The test suite fills these answers into the workshop notebook, executes it and requires every check to
pass (tests/test_workshop.py), so the key cannot drift from the notebook or the model.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORKSHOP = HERE.parent / "workshop.ipynb"


@dataclass(frozen=True)
class Answer:
    work: str  # what goes in the exercise's "# your code here" cell
    answer: str  # the expression that replaces None in `answer_n = None`
    notes: str  # what to say when the room gets there


ANSWERS: dict[int, Answer] = {
    1: Answer(
        work="result = evaluate(Scenario(), cat)\nresult.recommendation",
        answer="result.recommendation.device_id",
        notes="Show that the reasons in `result.recommendation.reasons` are the headline's bullet points: "
        "one model, two views. Common slip: answering with the name; it is accepted.",
    ),
    2: Answer(
        work="sdxl = Scenario(workload='sdxl')\n"
        "result = evaluate(sdxl, cat)\n"
        "result.crossover_requests_per_day, result.crossover_note",
        answer="result.crossover_requests_per_day",
        notes="Slider readings land within a few percent (it moves in 2 % steps). Ask why there is a "
        "crossover at all: porting is a fixed cost, rental scales with the fleet. Then ask why the "
        "exercise is not on the defaults: Llama-3.1-8B has no lasting crossover (printed below by running "
        "this file): fleets are whole devices, so totals are steps and the lead changes hands in bands of "
        "volume. A learner who keeps dragging below the SDXL crossover sees that too. A learner who enters "
        "the peak rate per second gets told it is 86,400 times too small.",
    ),
    3: Answer(
        work="weekly = Scenario(workload='sdxl', requests_per_day=1e6,\n"
        "                  framework_mix={'jax': 0.5, 'cuda': 0.5}, model_changes_per_year=52)\n"
        "evaluate(weekly, cat).recommendation",
        answer="evaluate(weekly, cat).recommendation.kind",
        notes="The follow-up (is either change alone enough?) is printed below by running this file: "
        "today neither is, weekly changes alone come closest, so ask how far each moves the margin. Point "
        "at the porting reason: the cost repeats at every model change, and custom CUDA ports worst.",
    ),
    4: Answer(
        work="vision = dict(workload='resnet-50', requests_per_day=1e6, edge_sites=1000)\n"
        "edge = evaluate(Scenario(deployment='edge', **vision), cat)\n"
        "cloud = evaluate(Scenario(deployment='cloud', **vision), cat)\n"
        "edge.options[0].device_id, edge.options[0].tco_usd, cloud.options[0].device_id, "
        "cloud.options[0].tco_usd",
        answer="edge.options[0].tco_usd / cloud.options[0].tco_usd",
        notes="The edge fleet is one device per site: 1,000 devices however small the traffic. Ask what the "
        "edge buys for that (latency, privacy, working offline), which the model does not price.",
    ),
    5: Answer(
        work="my_cat = own_cloud_price('nvidia-h100-sxm', 2.50)\n"
        "mine = evaluate(Scenario(), my_cat)\n"
        "mine.recommendation.device_id",
        answer="mine.option('nvidia-h100-sxm').tco_usd",
        notes="Whether the H100 goes first at the quoted price, and the break-even price (both printed "
        "below by running this file), are the figures a buyer takes into the negotiation.",
    ),
    6: Answer(
        work="odds = monte_carlo(Scenario(), cat, draws=2000, seed=0)\nodds.probability_accelerator_cheaper",
        answer="odds.probability_accelerator_cheaper",
        notes="The headline's odds use 500 draws, so they differ by a few points (both printed below): "
        "the tolerance is 5 points. The tornado's top bar (printed below) is the figure to check first.",
    ),
}


def fill(nb) -> None:
    """Put every answer into a workshop notebook (an nbformat notebook), in place."""
    for n, a in ANSWERS.items():
        work = next(c for c in nb.cells if c.cell_type == "code" and c.source.startswith(f"ask({n})"))
        work.source = f"ask({n})\n{a.work}"
        cell = next(c for c in nb.cells if c.cell_type == "code" and f"answer_{n} = None" in c.source)
        cell.source = cell.source.replace(f"answer_{n} = None", f"answer_{n} = {a.answer}", 1)


def follow_ups() -> list[str]:
    """The answers to the questions each exercise asks after its check, as the model gives them today."""
    from explorer import fmt
    from explorer.calc import evaluate
    from explorer.scenario import Scenario
    from explorer.uncertainty import monte_carlo, tornado
    from explorer.widgets import HEADLINE_DRAWS
    from explorer.workshop import (
        CROSSOVER_WORKLOAD,
        FLIP_VOLUME,
        QUOTE_USD_PER_GPU_HOUR,
        flip_scenario,
        own_cloud_price,
    )

    lines = []
    default = evaluate(Scenario())
    lines.append(
        f"2. {CROSSOVER_WORKLOAD} crosses over at "
        f"{fmt.volume(evaluate(Scenario(workload=CROSSOVER_WORKLOAD)).crossover_requests_per_day)}"
        " requests/day; the defaults (Llama-3.1-8B): "
        + (
            f"crossover at {fmt.volume(default.crossover_requests_per_day)} requests/day."
            if default.crossover_requests_per_day is not None
            else f"{default.crossover_note}."
        )
    )
    start = evaluate(flip_scenario()).recommendation
    mix_only = evaluate(flip_scenario(framework_mix={"jax": 0.5, "cuda": 0.5})).recommendation
    weekly_only = evaluate(flip_scenario(model_changes_per_year=52)).recommendation
    assert start is not None and mix_only is not None and weekly_only is not None
    lines.append(
        f"3. {CROSSOVER_WORKLOAD} at {fmt.volume(FLIP_VOLUME)}/day: {start.kind} first ({start.device_id}); "
        f"JAX/CUDA mix alone: {mix_only.kind} first ({mix_only.device_id}); weekly changes alone: "
        f"{weekly_only.kind} first ({weekly_only.device_id})."
    )

    quote = QUOTE_USD_PER_GPU_HOUR
    quoted = evaluate(Scenario(), own_cloud_price("nvidia-h100-sxm", quote, quiet=True)).recommendation
    assert quoted is not None
    lines.append(f"5. At {fmt.usd(quote)} per GPU-hour the first option is {quoted.device_id}.")

    def h100_first(price: float) -> bool:
        rec = evaluate(Scenario(), own_cloud_price("nvidia-h100-sxm", price, quiet=True)).recommendation
        return rec is not None and rec.device_id == "nvidia-h100-sxm"

    lo, hi = 0.01, 20.0
    if h100_first(lo) and not h100_first(hi):
        for _ in range(20):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if h100_first(mid) else (lo, mid)
        lines.append(f"5. The H100 stays first up to about {fmt.usd(lo)} per GPU-hour.")
    headline = monte_carlo(Scenario(), draws=HEADLINE_DRAWS, seed=0).probability_accelerator_cheaper
    if headline is not None:
        lines.append(f"6. The headline's odds ({HEADLINE_DRAWS} draws): {fmt.percent(headline)}.")
    top = tornado(Scenario()).iloc[0]
    lines.append(
        f"6. Tornado's top input: {top['input']} ({fmt.usd(top['total_at_low_usd'])} to "
        f"{fmt.usd(top['total_at_high_usd'])}{'; it can flip the answer' if top['flips'] else ''})."
    )
    return lines


def main(argv: list[str]) -> int:
    from explorer.workshop import EXERCISES

    for n, a in ANSWERS.items():
        ex = EXERCISES[n]
        expected = ex.expected()
        shown = expected[0] if isinstance(expected, tuple) else f"{expected:,.4g}"
        print(f"Exercise {n}: {shown}\n  answer: {a.answer}\n  work:\n    " + a.work.replace("\n", "\n    "))
        print(f"  notes: {a.notes}\n")
    print("Follow-ups:\n  " + "\n  ".join(follow_ups()))
    if argv:
        import nbformat

        nb = nbformat.read(WORKSHOP, as_version=4)
        fill(nb)
        nbformat.write(nb, argv[0])
        print(f"\nwrote {argv[0]} (the workshop with every answer filled in)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

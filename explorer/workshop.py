"""Self-checking exercises for the workshop notebook (``notebooks/workshop.ipynb``).

Each exercise's expected answer is computed by the same model the app uses, so the checks follow the
catalog. ``check(n, answer)`` says whether an answer is right (numbers within a tolerance, words and ids
in any case), and if not, what kind of wrong it is and a first hint; ``hint(n)`` gives the next hint, each
a step closer without writing the line. An unanswered exercise (``None``) says so and never raises, so the
notebook runs top to bottom as shipped. The answer key is kept apart, for the instructor:
``notebooks/instructor/workshop_answers.py``.
"""

from __future__ import annotations

import math
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from . import fmt
from .calc import evaluate
from .catalog import Catalog, load_catalog
from .scenario import MAJOR_CLOUDS, Scenario

#: The negotiated price of exercise 5, in USD per H100 SXM GPU-hour (a made-up quote, for the exercise).
QUOTE_USD_PER_GPU_HOUR = 2.50
#: Monte Carlo settings of exercise 6 (the same seed gives the same draws).
DRAWS, SEED = 2000, 0
#: The workload of exercise 2, at the other defaults: one with a clean crossover. The default Llama-3.1-8B
#: has none since the throughput model became physical: whole devices make its totals steps, and the best
#: accelerator is cheaper only in bands of volume (its headline says so in words; the key prints it).
CROSSOVER_WORKLOAD = "sdxl"
#: Exercise 3's volume of that workload: above its crossover, so an accelerator ranks first on the other
#: defaults, and low enough that porting weighs (the default Llama-3.1-8B already goes to a GPU, so it had
#: nothing to flip). Half JAX, half custom CUDA and weekly changes together put a GPU first; either alone
#: does not (the key prints both).
FLIP_VOLUME = 1e6


@dataclass(frozen=True)
class Exercise:
    question: str
    #: the expected answer: a number, or the accepted words (the first one canonical), any case
    expected: Callable[[], float | tuple[str, ...]]
    hints: tuple[str, ...]  # each a step closer; none writes the line
    takeaway: str  # said once the answer is right: what the exercise was for
    rel_tol: float = 0.0  # for numbers: how far off, as a share of the expected value
    abs_tol: float = 0.0  # for numbers: how far off, in the answer's own unit
    percent: bool = False  # a share: 0.7, 70 and "70 %" are the same answer


# -- the expected answers, from the model -------------------------------------------------------------


def _default_recommendation() -> tuple[str, ...]:
    rec = evaluate(Scenario()).recommendation
    assert rec is not None
    return rec.device_id, rec.name


def _crossover() -> float:
    r = evaluate(Scenario(workload=CROSSOVER_WORKLOAD))
    assert r.crossover_requests_per_day is not None, (
        f"{CROSSOVER_WORKLOAD} has no crossover: {r.crossover_note}"
    )
    return r.crossover_requests_per_day


def flip_scenario(**changes: Any) -> Scenario:
    """Exercise 3's starting point (``CROSSOVER_WORKLOAD`` at ``FLIP_VOLUME``), with `changes`."""
    return Scenario(workload=CROSSOVER_WORKLOAD, requests_per_day=FLIP_VOLUME, **changes)


def _weekly_jax_cuda_kind() -> tuple[str, ...]:
    weekly = flip_scenario(framework_mix={"jax": 1, "cuda": 1}, model_changes_per_year=52)
    rec = evaluate(weekly).recommendation
    assert rec is not None
    return (rec.kind,)


def _edge_over_cloud() -> float:
    vision = {"workload": "resnet-50", "requests_per_day": 1e6, "edge_sites": 1000}
    edge = evaluate(Scenario(deployment="edge", **vision)).options[0].tco_usd
    cloud = evaluate(Scenario(deployment="cloud", **vision)).options[0].tco_usd
    assert edge is not None and cloud
    return edge / cloud


def _h100_at_quote() -> float:
    with tempfile.TemporaryDirectory(prefix="accel-own-price-") as folder:
        cat = own_cloud_price("nvidia-h100-sxm", QUOTE_USD_PER_GPU_HOUR, folder=folder, quiet=True)
        tco = evaluate(Scenario(), cat).option("nvidia-h100-sxm").tco_usd
    assert tco is not None
    return tco


def _odds() -> float:
    from .uncertainty import monte_carlo

    p = monte_carlo(Scenario(), draws=DRAWS, seed=SEED).probability_accelerator_cheaper
    assert p is not None
    return p


EXERCISES: dict[int, Exercise] = {
    1: Exercise(
        "Which device does the explorer recommend for the defaults (100 M Llama-3.1-8B requests a day, in "
        "the cloud)? Read it off the headline, then get the same answer from Python. Answer with its catalog "
        "id, such as 'nvidia-h100-sxm' (its name is accepted too).",
        _default_recommendation,
        hints=(
            "The headline above the charts names it. In Python, `evaluate` turns a Scenario into a result; "
            "a Scenario() with no arguments is the defaults.",
            "Print the result's `recommendation`: it is a small record. Which of its fields is the id?",
            "A catalog id is lower case with hyphens, like the file names in catalog/devices/.",
        ),
        takeaway="The app and the Python API are the same model: what the headline says, `evaluate` returns.",
    ),
    2: Exercise(
        "Pick Stable Diffusion XL (text-to-image, one image a request) as the workload, the other defaults "
        "as they are, and move the request-volume slider down from 100 M until the recommendation turns "
        "from an accelerator into a GPU. About how many requests a day is that crossover? Then ask the "
        "model for its exact figure. (a number of requests per day, such as 2.5e5 or '250k'; within 10 %)",
        _crossover,
        hints=(
            "Watch the headline's device and the 'Total cost vs request volume' chart as you move the "
            "slider: the crossover is where the accelerator's line goes under the GPU's and stays under. "
            "A volume typed in the box under the slider (such as 500k) gets you near faster than dragging.",
            "In Python the workload is a Scenario field like the volume: its catalog id is a file name in "
            "catalog/workloads/. The result of `evaluate` has a field for the crossover; `dir(result)` or "
            "tab completion after `result.` lists them.",
            "The figure is in requests per day, the slider's unit. 'k' is a thousand, 'M' a million.",
        ),
        takeaway="Porting to an accelerator is a fixed cost and the fleet scales with volume: accelerators "
        "win only above a volume, and the crossover says which. Below it, whole devices make the totals "
        "steps, so the lead can change hands again; some workloads (the default Llama-3.1-8B) have no "
        "lasting crossover at all, and the headline says so.",
        rel_tol=0.10,
    ),
    3: Exercise(
        "Keep Stable Diffusion XL from exercise 2, at 1 M images a day: above its crossover, so an "
        "accelerator ranks first. Now the team writes half its model code in JAX and half in custom CUDA, "
        "and ships a new model every week. Which kind of device ranks first now: 'gpu' or 'accelerator'?",
        _weekly_jax_cuda_kind,
        hints=(
            "In the explorer, set the workload, the volume (type 1M in the box under the slider), the "
            "framework mix (a preset, or the sliders) and the model changes per year; in Python, the same "
            "Scenario fields.",
            "`Scenario.__doc__` lists every field. The mix takes weights per framework, e.g. a dict of "
            "framework name to share.",
            "The recommendation has a field that says its kind, besides its id.",
        ),
        takeaway="Every model change repeats part of the porting work, and custom CUDA ports worst: a team "
        "that changes its model often pays for an accelerator again and again.",
    ),
    4: Exercise(
        "ResNet-50 image classification, 1 M images a day in all. Served from 1,000 edge sites (every site "
        "needs its own device), how many times does the cheapest edge option cost what the cheapest cloud "
        "option costs for the same volume? (a ratio, e.g. 3.2; within 5 %)",
        _edge_over_cloud,
        hints=(
            "Two scenarios that differ only in `deployment`: evaluate both, and compare the total cost of "
            "the first option of each (options are ranked by total cost).",
            "Every field the question names is a Scenario field: workload, requests_per_day, deployment, "
            "edge_sites. The workload's catalog id is in catalog/workloads/.",
            "Each option has its total cost over the horizon in US dollars; divide edge by cloud.",
        ),
        takeaway="At the edge the fleet is sized by sites, not by throughput: a thousand small devices cost "
        "more than the few data-centre chips the same volume needs, but buy latency and privacy.",
        rel_tol=0.05,
    ),
    5: Exercise(
        f"Your team negotiated ${QUOTE_USD_PER_GPU_HOUR:.2f} per H100 SXM GPU-hour on AWS. Put that price "
        "over the catalog with `own_cloud_price` and evaluate the default scenario with it: what does the "
        "H100 fleet cost over 3 years now? Is it first? (USD; within 2 %)",
        _h100_at_quote,
        hints=(
            "`own_cloud_price(device_id, usd_per_gpu_hour)` writes your price as a catalog file (it shows "
            "you the file, with its source) and returns a catalog with it.",
            "`evaluate` takes a catalog as its second argument; without one it uses the built-in prices.",
            "The result can give you one option by its device id; the option's total cost is in USD.",
        ),
        takeaway="A negotiated price can flip the answer: the list prices in the catalog are where a buyer "
        "starts, not where they end. Your figure carries its own source, like every catalog figure.",
        rel_tol=0.02,
    ),
    6: Exercise(
        f"How sure is the default answer? Draw the uncertain inputs {DRAWS:,} times (seed {SEED}) with "
        "`monte_carlo`: in what share of the draws is the best accelerator cheaper than the best GPU? "
        "(a share such as 0.4 or '40 %'; within 5 points)",
        _odds,
        hints=(
            "The headline shows these odds too, from fewer draws: your answer should be close to it.",
            "`monte_carlo` takes the scenario, and `draws` and `seed` as keywords; its result has a field "
            "for the probability.",
            "A probability is between 0 and 1; a percentage between 0 and 100. Either is accepted.",
        ),
        takeaway="An answer with its odds: the tornado (`tornado(Scenario())`) shows which inputs move the "
        "total most, and so which figures are worth checking before buying.",
        abs_tol=0.05,
        percent=True,
    ),
}


# -- your own price ---------------------------------------------------------------------------------------


def own_cloud_price(
    device_id: str,
    usd_per_gpu_hour: float,
    *,
    provider: str = "AWS",
    source: str = "Our negotiated quote",
    source_url: str = "https://example.com/your-quote",
    folder: str | Path | None = None,
    quiet: bool = False,
) -> Catalog:
    """The catalog with your own cloud price for one device, as a catalog file of your own.

    Writes ``<folder>/prices/<device_id>.toml`` (a new temporary folder unless `folder` is given) with one
    on-demand offer at `usd_per_gpu_hour` from `provider`, citing `source` at `source_url` (the catalog
    wants a link for every source: point it at where your quote is kept), dated today, shows the file,
    and returns ``load_catalog(folder)``: the built-in catalog with your file over it. Your price replaces
    the catalog's cloud offers for that device (you pay your price); its purchase price stays. Raises
    ValueError naming the argument if the device is unknown or the price is not a positive number.
    """
    base = load_catalog()
    if device_id not in set(base.devices.id):
        known = ", ".join(sorted(base.devices.id))
        raise ValueError(f"device_id {device_id!r} is not in the catalog; allowed: {known}")
    try:
        price = float(usd_per_gpu_hour)
    except (TypeError, ValueError):
        raise ValueError(f"usd_per_gpu_hour {usd_per_gpu_hour!r} is not a number") from None
    if not (math.isfinite(price) and price > 0):
        raise ValueError(f"usd_per_gpu_hour {usd_per_gpu_hour!r}: allowed: a price above 0")
    if provider not in MAJOR_CLOUDS:
        note = f" (not one of the major clouds, {', '.join(MAJOR_CLOUDS)}: set cloud_market='any-provider')"
    else:
        note = ""
    root = Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix="accel-own-price-"))
    (root / "prices").mkdir(parents=True, exist_ok=True)
    today = date.today().isoformat()
    text = (
        f"device = {_toml(device_id)}\n\n"
        "[[cloud]]\n"
        f"provider = {_toml(provider)}\n"
        'instance = "your negotiated rate"\n'
        'region = "any"\n'
        "chips = 1\n"
        f'price = {{ value = {price!r}, unit = "USD/hour", as_of = {today}, source = "own-quote", '
        'note = "per GPU-hour" }\n\n'
        "[sources.own-quote]\n"
        f"title = {_toml(source)}\n"
        f"url = {_toml(source_url)}\n"
        f"retrieved = {today}\n"
    )
    path = root / "prices" / f"{device_id}.toml"
    path.write_text(text, encoding="utf-8")
    if not quiet:
        print(f"Wrote {path}{note}:\n\n{text}")
    return load_catalog(root)


def _toml(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# -- checking ---------------------------------------------------------------------------------------------

_SCALE = {"k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6, "b": 1e9, "bn": 1e9, "billion": 1e9}
_NUMBER = re.compile(
    r"^\$?\s*([-+]?(?:\d[\d,_]*\.?\d*|\.\d+)(?:e[-+]?\d+)?)\s*(k|thousand|m|million|bn|b|billion|%)?$"
)


def _as_number(answer: Any) -> tuple[float, bool] | None:
    """A learner's number: 2.1e6, '2.1M', '2,100,000', '$4.2 M', '70 %'; with whether it said '%'."""
    if isinstance(answer, bool):
        return None
    if isinstance(answer, int | float):
        return float(answer), False
    try:  # numpy and pandas numbers
        return float(answer.item()), False
    except (AttributeError, TypeError, ValueError):
        pass
    m = _NUMBER.match(str(answer).strip().lower().replace(" ", ""))
    if not m:
        return None
    value = float(m.group(1).replace(",", "").replace("_", ""))
    unit = m.group(2)
    if unit == "%":
        return value / 100, True
    return value * _SCALE.get(unit or "", 1.0), False


def _as_words(answer: Any) -> str:
    words = " ".join(str(answer).strip().strip("'\"").lower().split())
    for article in ("a ", "an ", "the "):
        words = words.removeprefix(article)
    return words


def _same_word(answer: str, expected: str) -> bool:
    e = _as_words(expected)
    return answer in (e, e + "s")  # 'gpu' and 'gpus'


def is_correct(n: int, answer: Any) -> bool:
    """Whether `answer` is right for exercise `n` (numbers within its tolerance, words in any case)."""
    return _verdict(EXERCISES[n], answer)[0]


def _verdict(ex: Exercise, answer: Any) -> tuple[bool, str]:
    """(right, what is wrong with it): the second says what kind of mistake, without the answer."""
    expected = ex.expected()
    if isinstance(expected, tuple):
        words = _as_words(answer)
        if any(_same_word(words, e) for e in expected):
            return True, ""
        if _as_number(answer) is not None:
            return False, "The answer is a word or an id, not a number."
        return False, ""
    parsed = _as_number(answer)
    if parsed is None:
        return False, "The answer is a number (words like 'about' cannot be checked)."
    value, said_percent = parsed
    if ex.percent and not said_percent and 1 < abs(value) <= 100:
        value /= 100  # 70 means 70 %
    tol = max(ex.rel_tol * abs(expected), ex.abs_tol)
    if abs(value - expected) <= tol:
        return True, ""
    if expected and value:
        ratio = value / expected
        for factor, what in ((86_400, "per second rather than per day"), (1e3, "off by a thousand")):
            for r, way in ((ratio * factor, "small"), (ratio / factor, "large")):
                if abs(r - 1) <= max(ex.rel_tol, 0.1):
                    return False, f"It is about {factor:,.0f} times too {way}: {what}? Check the unit."
        way = "high" if ratio > 1 else "low"
        if ex.percent:
            return False, f"It is {abs(value - expected) * 100:.0f} points too {way}."
        return False, f"It is {fmt.percent(abs(ratio - 1))} too {way}."
    return False, ""


_hints_given: dict[int, int] = {}


def ask(n: int) -> None:
    """Print exercise `n`'s question."""
    print(f"Exercise {n}: {EXERCISES[n].question}")


def hint(n: int) -> None:
    """Print the next hint for exercise `n` (each call one step further)."""
    hints = EXERCISES[n].hints
    given = _hints_given.get(n, 0)
    if given >= len(hints):
        last = f"Hint {len(hints)} of {len(hints)} again: {hints[-1]}"
        print(f"{last} Still stuck? Ask a neighbour or the instructor.")
        return
    _hints_given[n] = given + 1
    more = f" (hint({n}) for the next)" if given + 1 < len(hints) else ""
    print(f"Hint {given + 1} of {len(hints)}: {hints[given]}{more}")


def check(n: int, answer: Any) -> bool:
    """Print whether `answer` to exercise `n` is right; return it as a bool. Never raises for an answer."""
    ex = EXERCISES[n]
    if answer is None:
        print(f"Exercise {n} is not answered yet: put your answer in place of None and run this cell again.")
        return False
    right, why = _verdict(ex, answer)
    if right:
        print(f"Exercise {n}: correct. {ex.takeaway}")
        return True
    print(f"Exercise {n}: not quite ({answer!r}). {why + ' ' if why else ''}", end="")
    hint(n)  # each wrong answer brings the next hint
    return False

"""Self-checking exercises for the workshop notebook.

Each exercise's expected answer is computed by the same model the app uses, so the checks follow the
catalog: ``check(n, answer)`` prints whether an answer is right, close, or how to get there. An
unanswered exercise (``None``) prints what is asked and never raises, so the notebook runs top to bottom.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .calc import evaluate
from .scenario import Scenario


@dataclass(frozen=True)
class Exercise:
    question: str
    expected: Callable[[], Any]
    tolerance: float  # relative, for numbers; 0 for exact answers
    hint: str


def _crossover_sdxl() -> float:
    r = evaluate(Scenario(workload="sdxl", model_changes_per_year=0))
    assert r.crossover_requests_per_day is not None
    return r.crossover_requests_per_day


EXERCISES: dict[int, Exercise] = {
    1: Exercise(
        "Which device does the model recommend for 100 M Llama-3.1-8B requests a day in the cloud, with the "
        "defaults? Answer with its catalog id (a string).",
        lambda: evaluate(Scenario()).recommendation.device_id,
        0.0,
        "evaluate(Scenario()).recommendation.device_id",
    ),
    2: Exercise(
        "For SDXL in the cloud with a frozen model, above how many requests a day does the best accelerator "
        "beat the best GPU? (a number; within 5 %)",
        _crossover_sdxl,
        0.05,
        "look at crossover_requests_per_day of evaluate(Scenario(workload='sdxl', model_changes_per_year=0))",
    ),
    3: Exercise(
        "Same default scenario, but the team writes half JAX and half custom CUDA and ships a new model "
        "every week. Which kind of device ranks first now: 'gpu' or 'accelerator'?",
        lambda: (
            evaluate(
                Scenario(framework_mix={"jax": 1, "cuda": 1}, model_changes_per_year=52)
            ).recommendation.kind
        ),
        0.0,
        "change framework_mix and model_changes_per_year, then read recommendation.kind",
    ),
    4: Exercise(
        "ResNet-50 at 1,000 edge sites, 1 M images a day in all: how much does the cheapest option cost over "
        "3 years, in USD? (within 2 %)",
        lambda: (
            evaluate(Scenario(workload="resnet-50", deployment="edge", requests_per_day=1e6, edge_sites=1000))
            .options[0]
            .tco_usd
        ),
        0.02,
        "options[0].tco_usd of the edge scenario",
    ),
}


def ask(n: int) -> None:
    print(f"Exercise {n}: {EXERCISES[n].question}")


def is_correct(n: int, answer: Any) -> bool:
    ex = EXERCISES[n]
    expected = ex.expected()
    if isinstance(expected, int | float) and not isinstance(expected, bool):
        try:
            return abs(float(answer) - expected) <= ex.tolerance * abs(expected)
        except (TypeError, ValueError):
            return False
    return answer == expected


def check(n: int, answer: Any) -> bool:
    """Print whether `answer` to exercise `n` is right; return it as a bool."""
    ex = EXERCISES[n]
    if answer is None:
        print(f"Exercise {n} is not answered yet. {ex.question}")
        return False
    if is_correct(n, answer):
        print(f"Exercise {n}: correct.")
        return True
    print(f"Exercise {n}: not quite ({answer!r}). Hint: {ex.hint}")
    return False

"""The core of the adversarial suite (tests/adversarial): each fast case, one test, against the real parts.

The whole suite, with the table, is `python -m tests.adversarial`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .adversarial import Case, Context, load_cases, run_case

pytestmark = pytest.mark.slow
CORE = [c for c in load_cases() if c.core]


@pytest.fixture(scope="module")
def ctx() -> Iterator[Context]:
    context = Context()
    try:
        yield context
    finally:
        context.close()


@pytest.mark.parametrize("c", CORE, ids=[c.id for c in CORE])
def test_adversarial_case_holds(ctx: Context, c: Case) -> None:
    result = run_case(c, ctx)
    assert result.outcome.passed, f"{c.id}: {result.outcome.value} ({result.detail})"


def test_the_suite_is_large_enough() -> None:
    """The issue asks for at least 100 cases across links, uploads, widget and websocket messages, HTTP, the
    CLI and catalog folders."""
    cases = load_cases()
    assert len(cases) >= 100, len(cases)
    assert {"http", "websocket", "widget", "link"} <= {c.area for c in cases}

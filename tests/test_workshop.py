"""The workshop's self-checks accept the model's answers and reject others, and never raise."""

from __future__ import annotations

import pytest

from explorer.workshop import EXERCISES, check, is_correct


@pytest.mark.parametrize("n", sorted(EXERCISES))
def test_expected_answer_passes_and_a_wrong_one_fails(n: int, capsys) -> None:
    expected = EXERCISES[n].expected()
    assert check(n, expected) is True
    assert "correct" in capsys.readouterr().out
    wrong = expected * 3 if isinstance(expected, float) else "nvidia-t4" if n == 1 else "no-such-answer"
    assert check(n, wrong) is False
    assert "Hint:" in capsys.readouterr().out


def test_unanswered_prints_the_question(capsys) -> None:
    assert check(2, None) is False
    assert "not answered yet" in capsys.readouterr().out


def test_numeric_tolerance() -> None:
    expected = EXERCISES[2].expected()
    assert is_correct(2, expected * 1.04) and not is_correct(2, expected * 1.2)
    assert not is_correct(2, "lots")

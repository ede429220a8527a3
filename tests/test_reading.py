"""Reading an answer: parsed and resolved once, though the judge and the typesetting both ask."""

from __future__ import annotations

import pytest

from dlverify.checking import reading
from dlverify.checking.judge import judge_problem
from dlverify.checking.parse import ParseError
from dlverify.problem import Problem
from tests import kind_fixtures as fx


@pytest.mark.parametrize(
    ("problem", "answer"),
    [
        (fx.RESNET, r"I +  \operatorname{diag}(\sigma'(W_t h_t + b_t)) W_t"),  # a matrix
        (fx.LOSS, r"\log  4"),  # a number
    ],
)
def test_an_answer_is_parsed_once_for_its_verdict_and_its_typesetting(
    problem: Problem, answer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[str] = []
    real = reading.parse
    monkeypatch.setattr(reading, "parse", lambda text, **kw: parsed.append(text) or real(text, **kw))
    verdict = judge_problem(problem, answer)
    assert verdict.verdict == "correct" and verdict.answer_latex, verdict.message
    assert parsed == [answer]


def test_a_remembered_refusal_is_the_same_refusal() -> None:
    text = r"\sigma' + ("
    with pytest.raises(ParseError) as first:
        reading.to_sympy(text, fx.RESNET)
    with pytest.raises(ParseError) as again:
        reading.to_sympy(text, fx.RESNET)
    assert type(first.value) is type(again.value)
    assert (first.value.pointer(), first.value.pos) == (again.value.pointer(), again.value.pos)
    assert reading.latex_of(fx.RESNET, text) is None

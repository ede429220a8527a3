"""Indexed answers: element formulas checked at every element on random tensors."""

from __future__ import annotations

import pytest

from dlverify import notation
from dlverify.checking.judge import judge_problem
from tests import kind_fixtures as fx


@pytest.mark.parametrize(
    "answer",
    [
        r"\sum_{c=1}^{5} \sum_{k=1}^{3} W[1, c, k] \, x[2(r-1)+k, c]",
        r"\sum_{c=1}^{5}\sum_{k=1}^{3} W_{1,c,k} x_{2r+k-2,c}",
        "sum(sum(W[1,c,k]*x[2*r-2+k, c], k, 1, 3), c, 1, 5)",
    ],
)
def test_convolution_output_element(answer: str) -> None:
    v = judge_problem(fx.CONV_OUT, answer)
    assert v.verdict == "correct", v.message


def test_a_stride_mistake_is_caught_with_the_element() -> None:
    v = judge_problem(fx.CONV_OUT, r"\sum_{c=1}^{5} \sum_{k=1}^{3} W[1, c, k] x[r+k-1, c]")
    assert v.verdict == "incorrect"
    assert "r = " in v.message  # the counterexample names the element


@pytest.mark.parametrize(
    "answer",
    [
        r"W[1, c, n-2r+2] \, \mathbb{1}[1 \le n-2r+2 \le 3]",
        r"\sum_{k=1}^{3} W[1, c, k] \delta_{n, 2r+k-2}",
        r"\sum_{k=1}^{3} W_{1,c,k} \delta_{2(r-1)+k, n}",
    ],
)
def test_jacobian_entry_with_indicator_or_delta(answer: str) -> None:
    v = judge_problem(fx.CONV_DF_DX, answer)
    assert v.verdict == "correct", v.message


def test_a_missing_indicator_is_caught() -> None:
    v = judge_problem(fx.CONV_DF_DX, "W[1, c, n-2r+2]")
    assert v.verdict == "incorrect"


@pytest.mark.parametrize("problem", [fx.CONV_OUT, fx.CONV_DF_DX], ids=lambda p: p.id)
@pytest.mark.parametrize("printer", [notation.latex, notation.plain], ids=["latex", "plain"])
def test_printed_indexed_references_read_back(problem, printer) -> None:
    v = judge_problem(problem, printer(problem.derive().result))
    assert v.verdict == "correct", (printer(problem.derive().result), v.message)

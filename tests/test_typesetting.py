"""The homework's notation everywhere a person reads a result: `show`, verdict messages and
diagnoses never print SymPy's own syntax."""

from __future__ import annotations

import re

import pytest

from dlverify import notation, registry, render
from dlverify.checking.judge import judge_problem
from dlverify.checking.kinds import checkable_kinds
from dlverify.checking.matrices import matrix_mutations
from dlverify.checking.mutations import mutations

RAW = re.compile(
    r"\*\*|(?<=[\w)])\*(?=[\w(])|\b(Sum|Product|Transpose|Elementwise|Piecewise|Indexed)\(|DiagMatrix|Hadamard(Product|Power)"
    r"|MatPow|MatMul|MatAdd|MatrixSymbol|KroneckerDelta|OrderedProduct|MatrixSum|SequenceElement|\.T\b"
)
PROBLEMS = list(registry.problems().values())
IDS = [p.id for p in PROBLEMS]


def _raw(text: str) -> list[str]:
    return [m.group(0) for m in RAW.finditer(text)]


@pytest.mark.parametrize("problem", PROBLEMS, ids=IDS)
def test_show_prints_the_homeworks_notation(problem) -> None:
    shown = render.problem_text(problem)
    result = shown.split("\nResult:", 1)[1]
    assert not _raw(result), result


@pytest.mark.parametrize("problem", [p for p in PROBLEMS if p.kind in ("expr", "matrix")], ids=lambda p: p.id)
def test_verdict_messages_print_the_homeworks_notation(problem) -> None:
    reference = problem.derive().result
    wrong = matrix_mutations(reference)[:6] if problem.kind == "matrix" else mutations(reference)[:6]
    for m in wrong:
        assert not _raw(m.detail), m.detail
        v = judge_problem(problem, notation.latex(m.expr))
        assert not _raw(v.message), v.message
        assert v.counterexample is None or not _raw(str(list(v.counterexample.at or {})))


def test_the_checkable_kinds_are_covered() -> None:
    assert {"expr", "matrix"} <= set(checkable_kinds())

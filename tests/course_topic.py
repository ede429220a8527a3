"""A topic shipped outside dlverify, as a course's own package would ship one (tests only).

It is found through the ``dlverify.topics`` entry point group (the tests fake the entry
point), and is verified and checked like a catalog topic."""

from __future__ import annotations

from typing import Any

from dlverify.problem import Problem, SymbolSpec, Topic

TOPIC = Topic("hw_course", "A course's own problem (test)")


def _derive() -> Any:
    import sympy as sp

    from derivations.core import Derivation, Step

    x = sp.Symbol("x", real=True)
    result = sp.diff(sp.tanh(x) ** 2, x)
    steps = (Step("Differentiate tanh(x)² by the chain rule:", rhs=result, lhs=sp.Function("f'")(x)),)
    return Derivation(result, steps, {"x": x})


def _oracle(case: dict) -> float:
    import torch

    x = torch.tensor(case["x"], dtype=torch.float64, requires_grad=True)
    (torch.tanh(x) ** 2).backward()
    return float(x.grad)


def _cases() -> Any:
    from hypothesis import strategies as st

    return st.fixed_dictionaries({"x": st.floats(-3, 3)})


PROBLEMS = (
    Problem(
        id="hw_course.dtanh2",
        topic="hw_course",
        title="d/dx tanh(x)²",
        kind="expr",
        statement="Differentiate f(x) = tanh(x)².",
        symbols=(SymbolSpec("x", "x", "real", "the input"),),
        derive=_derive,
        oracle=_oracle,
        oracle_name="torch autograd (float64)",
        cases=_cases,
        tolerance=lambda case: 1e-14,
        tolerance_note="1e-14: a few float64 operations",
    ),
)

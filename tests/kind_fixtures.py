"""Test-only problem descriptions, one per answer kind that no catalog topic uses yet.

They exercise the checker's kinds (shape, number, choice, bigO) on realistic
references; the catalog's own items of these kinds arrive with their topics.
"""

from __future__ import annotations

import sympy as sp

from derivations.core import Derivation, Step
from dlverify.problem import AnswerSpec, Problem, SymbolSpec

H, W, K, S, D, P = sp.symbols("H W K S D P", integer=True, positive=True)
m = sp.Symbol("m", integer=True, positive=True)
T, Kb, M = sp.symbols("T K M", integer=True, positive=True)


def _problem(pid: str, kind: str, result, symbols=(), objects=None, answer=None, alternatives=()) -> Problem:
    derivation = Derivation(result, (Step("fixture"),), objects or {}, {}, alternatives)
    return Problem(
        id=pid,
        topic="fixture",
        title=pid,
        kind=kind,
        statement="a test fixture",
        symbols=tuple(symbols),
        derive=lambda: derivation,
        oracle=lambda case: None,
        oracle_name="none",
        cases=lambda: None,
        tolerance=lambda case: 0.0,
        tolerance_note="",
        answer=answer or AnswerSpec(),
    )


def _int(name: str, bounds=("1", "")) -> SymbolSpec:
    return SymbolSpec(name, name, "integer", "a size", bounds=bounds)


CONV_SHAPE = _problem(
    "fixture.conv_shape",
    "shape",
    sp.Tuple(sp.floor((H + 2 * P - D * (K - 1) - 1) / S) + 1, sp.floor((W + 2 * P - D * (K - 1) - 1) / S) + 1),
    [_int("H", ("9", "30")), _int("W", ("9", "30")), _int("K", ("1", "3")), _int("S", ("1", "4")),
     _int("D", ("1", "2")), _int("P", ("0", "2"))],
    {"H": H, "W": W, "K": K, "S": S, "D": D, "P": P},
)  # fmt: skip

GRAD_SHAPE = _problem(
    "fixture.grad_shape", "shape", sp.Tuple(1, 5, 3), answer=AnswerSpec(hint="a gradient has the shape of W")
)

VECTOR_SHAPE = _problem("fixture.vector_shape", "shape", sp.Tuple(m), [_int("m")], {"m": m})

LOSS = _problem("fixture.initial_loss", "number", sp.log(4), answer=AnswerSpec(tolerance=5e-4))

BEAM_STEP = _problem(
    "fixture.beam_step",
    "choice",
    frozenset({"neural network", "network neural"}),
    answer=AnswerSpec(options=("neural neural", "neural network", "network neural", "network network"), multiple=True),
)

TRUE_FALSE = _problem(
    "fixture.true_false", "choice", frozenset({"false"}), answer=AnswerSpec(options=("true", "false"))
)

BEAM_COST = _problem(
    "fixture.beam_cost",
    "bigO",
    T * Kb * M * sp.log(M),
    [_int("T"), _int("K"), _int("M")],
    {"T": T, "K": Kb, "M": M},
    AnswerSpec(order=(("K", "M"),)),
)

NO_CACHE = _problem(
    "fixture.beam_no_cache",
    "bigO",
    T**2 * Kb * M + T * Kb * M * sp.log(M),
    [_int("T"), _int("K"), _int("M")],
    {"T": T, "K": Kb, "M": M},
    AnswerSpec(order=(("K", "M"),)),
    alternatives=(T**2 * Kb * M * sp.log(M),),
)

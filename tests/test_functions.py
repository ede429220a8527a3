"""An elementwise function is one row of derivations.functions: softplus, added as a row, is read in
scalar and matrix answers, printed in every notation, evaluated, and differentiated through."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
import torch

from derivations import functions
from derivations.functions import Function
from derivations.jacobian import Trace, jacobian
from derivations.matexpr import Elementwise
from dlverify import notation
from dlverify.checking.judge import judge_problem
from dlverify.checking.reading import latex_of, to_sympy
from dlverify.matrix_eval import MatrixPoint, matrix_value
from dlverify.problem import Problem, SymbolSpec
from tests.function_rows import SOFTPLUS
from tests.kind_fixtures import _problem

m = sp.Symbol("m", integer=True, positive=True)
W = sp.MatrixSymbol("W", m, m)
v = sp.MatrixSymbol("v", m, 1)
x = sp.Symbol("x", real=True)


def _scalar(result: sp.Basic) -> Problem:
    return _problem("fixture.softplus_scalar", "expr", result, [SymbolSpec("x", "x", "real")], {"x": x})


def _matrix() -> Problem:
    specs = [
        SymbolSpec("m", "m", "integer", "size", bounds=("1", "4")),
        SymbolSpec("W", "W", "matrix", shape=("m", "m")),
        SymbolSpec("v", "v", "matrix", shape=("m", "1")),
    ]
    return _problem(
        "fixture.softplus_matrix", "matrix", Elementwise("softplus", W * v), specs, {"m": m, "W": W, "v": v}
    )


@pytest.mark.usefixtures("softplus")
@pytest.mark.parametrize(
    ("answer", "verdict"),
    [("softplus(x)", "correct"), (r"\operatorname{softplus}(x)", "correct"), ("softplus(2x)", "incorrect")],
)
def test_a_scalar_answer_reads_the_new_function(answer: str, verdict: str) -> None:
    got = judge_problem(_scalar(sp.log(1 + sp.exp(x))), answer)
    assert got.verdict == verdict, got.message


@pytest.mark.usefixtures("softplus")
def test_its_derivative_row_is_the_prime() -> None:
    got = judge_problem(_scalar(1 / (1 + sp.exp(-x))), "softplus'(x)")
    assert got.verdict == "correct", got.message


@pytest.mark.usefixtures("softplus")
@pytest.mark.parametrize(
    ("answer", "verdict"),
    [(r"\operatorname{softplus}(W v)", "correct"), ("softplus(W*v)", "correct"), ("softplus(W^T v)", "incorrect")],
)
def test_a_matrix_answer_reads_the_new_function(answer: str, verdict: str) -> None:
    problem = _matrix()
    assert to_sympy(answer, problem)[0] in (Elementwise("softplus", W * v), Elementwise("softplus", W.T * v))
    got = judge_problem(problem, answer)
    assert got.verdict == verdict, got.message


@pytest.mark.usefixtures("softplus")
def test_it_prints_in_every_notation_and_reads_back() -> None:
    expr = Elementwise("softplus", W * v)
    assert notation.latex(expr) == r"\operatorname{softplus}\left(W v\right)"
    assert sp.sstr(expr) == "softplus(W*v)"
    assert notation.unicode(expr) == "softplus(W v)"
    problem = _matrix()
    for printed in (notation.latex(expr), notation.plain(expr), notation.unicode(expr)):
        assert to_sympy(printed, problem) == (expr, {})
    assert latex_of(problem, "softplus(W v)") == notation.latex(expr)


@pytest.mark.usefixtures("softplus")
def test_it_evaluates_exactly_and_in_floats() -> None:
    exact = Elementwise("softplus", sp.ImmutableMatrix([[0], [1]])).doit()
    assert exact == sp.ImmutableMatrix([[sp.log(2)], [sp.log(1 + sp.E)]])
    rng = np.random.default_rng(0)
    w, h = rng.normal(size=(3, 3)), rng.normal(size=(3, 1))
    point = MatrixPoint({m: 3.0}, {W: w, v: h}, rng)
    got = matrix_value(Elementwise("softplus", W * v), point)
    np.testing.assert_allclose(got, torch.nn.functional.softplus(torch.tensor(w @ h)).numpy(), rtol=1e-12)


@pytest.mark.usefixtures("softplus")
def test_the_chain_rule_goes_through_it() -> None:
    trace = Trace()
    J = jacobian(Elementwise("softplus", W * v), v, trace)
    assert "softplus" in trace.steps[0].text
    rng = np.random.default_rng(1)
    w, h = rng.normal(size=(4, 4)), rng.normal(size=(4, 1))
    got = matrix_value(J, MatrixPoint({m: 4.0}, {W: w, v: h}, rng))
    wt = torch.tensor(w)
    want = torch.autograd.functional.jacobian(
        lambda u: torch.nn.functional.softplus(wt @ u), torch.tensor(h[:, 0])
    ).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


# The course statements' use of an added row is tested with the course package (a statement
# `y = softplus(W x)` read, derived and checked against its oracle).


def test_a_removed_row_is_forgotten_by_every_reader() -> None:
    problem = _scalar(sp.log(1 + sp.exp(x)))
    functions.add(SOFTPLUS)
    try:
        assert to_sympy("softplus(x)", problem) == (sp.log(1 + sp.exp(x)), {})
    finally:
        functions.remove(SOFTPLUS.name)
    _, unknown = to_sympy("softplus(x)", problem)  # the same text, read again without the row
    assert "softplus" in unknown
    with pytest.raises(ValueError, match="unknown elementwise function"):
        Elementwise("softplus", W * v)
    assert "softplus" not in functions.DERIVATIVE


def test_a_row_may_not_take_another_functions_spelling() -> None:
    clash = Function("logistic", sp.exp, np.exp, "logistic", "logistic", "logistic", ("logistic", "sigmoid"))
    with pytest.raises(ValueError, match="sigmoid"):
        functions.add(clash)
    assert "logistic" not in functions.FUNCTIONS

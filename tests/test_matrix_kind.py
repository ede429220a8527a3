"""Matrix answers: evaluation on random matrices with fresh sizes, and matrix mistakes."""

from __future__ import annotations

import pytest

from dlverify import notation
from dlverify.checking.judge import judge_problem
from dlverify.checking.matrices import matrix_mutations
from tests import kind_fixtures as fx

MATRIX_FIXTURES = [fx.RESNET, fx.LINEAR_RNN, fx.TANH_RNN]


@pytest.mark.parametrize(
    "answer",
    [
        r"I + \operatorname{diag}(\sigma'(W_t h_t + b_t)) W_t",
        "I + diag(sigma'(W_t*h_t + b_t))*W_t",
        r"\operatorname{diag}\left(\sigma(W_t h_t + b_t) \odot (1 - \sigma(W_t h_t + b_t))\right) W_t + I",
    ],
)
def test_resnet_jacobian_spellings(answer: str) -> None:
    v = judge_problem(fx.RESNET, answer)
    assert v.verdict == "correct", v.message


@pytest.mark.parametrize(
    ("answer", "diagnosis"),
    [
        (r"I + \operatorname{diag}(\sigma'(W_t h_t + b_t)) W_t^T", "W_t appears transposed"),
        (
            r"I + W_t \operatorname{diag}(\sigma'(W_t h_t + b_t))",
            "the product diag(σ'(W_t h_t + b_t))·W_t is commuted",
        ),
        (r"\operatorname{diag}(\sigma'(W_t h_t + b_t)) W_t", "the term I is missing"),
        (r"I + \operatorname{diag}(\sigma(W_t h_t + b_t)) W_t", "σ appears instead of σ'"),
    ],
)
def test_resnet_mistakes_are_diagnosed(answer: str, diagnosis: str) -> None:
    v = judge_problem(fx.RESNET, answer)
    assert v.verdict == "incorrect" and v.diagnosis == diagnosis, v.message


@pytest.mark.parametrize(
    "answer",
    [
        r"2(\hat{y} - y) W^f (W^h)^{T-t}",
        r"2 (\hat{y}_T - y_T) W_f (W_h)^{T - t}",
        "2*(yhat - y) * W_f * W_h**(T-t)",
        r"-2 (y - \hat y) W^f \prod_{k=1}^{T-t} W^h",
    ],
)
def test_linear_rnn_gradient(answer: str) -> None:
    v = judge_problem(fx.LINEAR_RNN, answer)
    assert v.verdict == "correct", v.message


def test_commuted_row_vector_is_a_shape_error_with_a_diagnosis() -> None:
    v = judge_problem(fx.LINEAR_RNN, r"2(\hat{y} - y) (W^h)^{T-t} W^f")
    assert v.verdict == "incorrect" and "shapes do not fit" in v.message
    assert v.diagnosis is not None and "commuted" in v.diagnosis


def test_power_off_by_one() -> None:
    v = judge_problem(fx.LINEAR_RNN, r"2(\hat{y} - y) W^f (W^h)^{T-t+1}")
    assert v.diagnosis == "the power of W_h is off by one (T - t + 1 instead of T - t)", v.message
    assert v.counterexample and v.counterexample.entry


def test_missing_transpose_when_shapes_allow_it() -> None:
    # (W^h)ᵀ has the right shape, so only the values tell: found at a random point.
    v = judge_problem(fx.LINEAR_RNN, r"2(\hat{y} - y) W^f ((W^h)^T)^{T-t}")
    assert v.verdict == "incorrect"


@pytest.mark.parametrize(
    "answer",
    [
        r"2(\hat{y}-y) W^f \prod_{j=0}^{T-t-1} \operatorname{diag}(1 - h_{T-j} \odot h_{T-j}) W^h",
        r"2(\hat{y}-y) W^f \prod_{i=0}^{T-t-1} \left(\operatorname{diag}(\mathbf{1} - h_{T-i} \circ h_{T-i}) W^h\right)",  # noqa: E501
    ],
)
def test_tanh_rnn_product_order(answer: str) -> None:
    v = judge_problem(fx.TANH_RNN, answer)
    assert v.verdict == "correct", v.message


def test_tanh_rnn_increasing_order_is_diagnosed() -> None:
    # ∏_{k=t+1}^{T} runs left to right with k increasing: the wrong order.
    v = judge_problem(fx.TANH_RNN, r"2(\hat{y}-y) W^f \prod_{k=t+1}^{T} \operatorname{diag}(1 - h_k \odot h_k) W^h")
    assert v.verdict == "incorrect"
    assert v.diagnosis == "the product is in reverse order", v.message


@pytest.mark.parametrize("problem", MATRIX_FIXTURES, ids=lambda p: p.id)
@pytest.mark.parametrize("printer", [notation.latex, notation.plain], ids=["latex", "plain"])
def test_printed_matrix_references_read_back_as_correct(problem, printer) -> None:
    v = judge_problem(problem, printer(problem.derive().result))
    assert v.verdict == "correct", (printer(problem.derive().result), v.message)


@pytest.mark.parametrize("problem", MATRIX_FIXTURES, ids=lambda p: p.id)
def test_matrix_mutations_are_incorrect(problem) -> None:
    ref = problem.derive().result
    for m in matrix_mutations(ref):
        v = judge_problem(problem, notation.latex(m.expr))
        if v.verdict == "correct":
            continue  # a mutation can be value-equal (a transpose of a symmetric part)
        assert v.verdict == "incorrect", (m.detail, v.message)
        assert v.diagnosis is not None, (m.detail, v.message)


@pytest.mark.parametrize("printer", [notation.latex, notation.plain], ids=["latex", "plain"])
def test_a_nested_negative_factor_prints_as_a_factor(printer) -> None:
    # 2·(−(2/n) A) printed as "2 − (2/n) A" would read back as a subtraction
    import sympy as sp

    from dlverify.checking.judge import judge

    inner = sp.MatMul(sp.Rational(-2, 5), sp.MatrixSymbol("W_2", 3, 2).T)
    assert "2 -" not in printer(sp.MatMul(2, inner)) and "2*-" not in printer(sp.MatMul(2, inner))
    reference = registry_result("lae.grad_W2")
    assert judge("lae.grad_W2", printer(sp.MatMul(sp.S.NegativeOne, sp.MatMul(-1, reference)))).ok


def registry_result(pid: str):
    from dlverify import registry

    return registry.problems()[pid].derive().result

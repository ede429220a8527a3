"""The checker's shape, number, choice and bigO kinds, on test-only descriptions."""

from __future__ import annotations

import pytest

from dlverify.checking.judge import judge_problem
from tests import kind_fixtures as fx


@pytest.mark.parametrize(
    "answer",
    [
        r"(\lfloor (H + 2P - D(K-1) - 1)/S \rfloor + 1) \times (\lfloor (W + 2P - D(K-1) - 1)/S \rfloor + 1)",
        r"\mathbb{R}^{(\lfloor (H+2P-DK+D-1)/S \rfloor + 1) \times (\lfloor (W+2P-DK+D-1)/S \rfloor+1)}",
        "(floor((H+2*P-D*(K-1)-1)/S)+1, floor((W+2*P-D*(K-1)-1)/S)+1)",
    ],
)
def test_symbolic_shapes_are_compared_axis_by_axis(answer: str) -> None:
    v = judge_problem(fx.CONV_SHAPE, answer)
    assert v.verdict == "correct", v.message


def test_a_wrong_axis_is_named_with_a_witness() -> None:
    v = judge_problem(
        fx.CONV_SHAPE, r"(\lfloor (H-K)/S \rfloor + 1) \times (\lfloor (W + 2P - D(K-1) - 1)/S \rfloor + 1)"
    )
    assert v.verdict == "incorrect" and v.message.startswith("axis 1 of 2 differs")
    assert v.counterexample.axis == 1


@pytest.mark.parametrize(
    "answer", [r"\mathbb{R}^{1 \times 5 \times 3}", "R^{1x5x3}", "1x5x3", "(1, 5, 3)", "1 × 5 × 3"]
)
def test_every_shape_spelling(answer: str) -> None:
    assert judge_problem(fx.GRAD_SHAPE, answer).ok


def test_reversed_axes_say_why() -> None:
    v = judge_problem(fx.GRAD_SHAPE, "3x5x1")
    assert v.verdict == "incorrect" and "wrong order" in v.message and "gradient has the shape of W" in v.message
    assert judge_problem(fx.GRAD_SHAPE, "1x5").message.startswith("the answer has 2 axes")


@pytest.mark.parametrize("answer", ["R^m", "m", r"m \times 1", r"\mathbb{R}^{m}"])
def test_vector_shapes(answer: str) -> None:
    assert judge_problem(fx.VECTOR_SHAPE, answer).ok


def test_shape_errors_point_into_the_text() -> None:
    v = judge_problem(fx.GRAD_SHAPE, "1 x x 3")
    assert v.verdict == "unparsed"


@pytest.mark.parametrize(
    ("answer", "ok"),
    [
        (r"\ln 4", True),
        ("1.3863", True),
        ("2 log(2)", True),
        ("1.39", False),
        ("log(4) + 0.001", False),
        (1.3863, True),
    ],
)
def test_numbers_within_tolerance(answer, ok: bool) -> None:
    assert judge_problem(fx.LOSS, answer).ok is ok


def test_number_with_a_symbol_is_incorrect() -> None:
    assert judge_problem(fx.LOSS, "log(K)").verdict == "incorrect"


@pytest.mark.parametrize(
    ("answer", "verdict"),
    [
        (["neural network", "network neural"], "correct"),
        (["Network  Neural", "neural network."], "correct"),
        (["neural network"], "incorrect"),
        (["neural network", "network neural", "neural neural"], "incorrect"),
        (["neural nets"], "unparsed"),
        (7, "unparsed"),
    ],
)
def test_choices_are_sets(answer, verdict: str) -> None:
    assert judge_problem(fx.BEAM_STEP, answer).verdict == verdict


@pytest.mark.parametrize(("answer", "ok"), [("False", True), ("f", True), ("no", True), ("true", False)])
def test_true_false(answer: str, ok: bool) -> None:
    assert judge_problem(fx.TRUE_FALSE, answer).ok is ok


def test_hidden_choice_key() -> None:
    v = judge_problem(fx.BEAM_STEP, ["neural network"], hide_reference=True)
    assert "network neural" not in v.message


@pytest.mark.parametrize(
    ("answer", "ok"),
    [
        (r"O(T K M \log M)", True),
        (r"\mathcal{O}(T K M \log M + T K)", True),  # T K is dominated
        (r"O(T M K \log(M^2))", True),
        (r"O(T K M)", False),
        (r"O(T M^2 \log M)", False),  # K ≤ M: T K M log M = O(T M² log M) but not Θ
        (r"O(T K^2 \log M)", False),
        (r"\Theta(T K M \log M + T K \log K)", True),  # K log K ≤ M log M since K ≤ M
    ],
)
def test_bigo_under_k_le_m(answer: str, ok: bool) -> None:
    v = judge_problem(fx.BEAM_COST, answer)
    assert v.ok is ok, v.message


@pytest.mark.parametrize(
    ("answer", "ok"),
    [
        (r"\Theta(T^2 K M + T K M \log M)", True),
        (r"O(T^2 K M \log M)", True),  # the accepted looser bound
        (r"O(T^2 K M)", False),  # misses T K M log M when log M > T
        (r"O(T^3 K M)", False),
    ],
)
def test_bigo_with_an_accepted_alternative(answer: str, ok: bool) -> None:
    v = judge_problem(fx.NO_CACHE, answer)
    assert v.ok is ok, v.message

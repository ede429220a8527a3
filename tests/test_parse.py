"""The answer parser: spellings, notation traps of ready-made LaTeX parsers, and fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlverify import registry
from dlverify.checking.parse import ParseError, parse
from dlverify.checking.reading import to_sympy

DY_DW = registry.get("scalar_rnn.dy_dw")
GENERAL = registry.get("scalar_rnn.dy_dw_general")


@pytest.mark.parametrize("spelling", ["u_1", "u_{1}", "u1", "u[1]", r"\mathbf{u}_1"])
def test_one_symbol_many_spellings(spelling: str) -> None:
    value, unknown = to_sympy(spelling, DY_DW)
    assert not unknown and str(value) == "u_1"


@pytest.mark.parametrize(
    "text",
    [
        r"3w^2 u_1 + 2 w u_2 + u_3",
        "3*w**2*u1 + 2*w*u2 + u3",
        "3w^2u_1+2wu_2+u_3",
        r"3\cdot w^{2}\cdot u_{1}+2\,w\,u_{2}+u_{3}",
        r"\left(3 w^2 u_1 + 2 w u_2\right) + u_3",
        "3·w^2·u_1 + 2·w·u_2 − (−u_3)",
    ],
)
def test_latex_and_plain_text_read_the_same(text: str) -> None:
    value, unknown = to_sympy(text, DY_DW)
    assert not unknown
    assert str(value) == "3*u_1*w**2 + 2*u_2*w + u_3"


def test_subtraction_is_kept() -> None:
    # A known trap of a ready-made parser: `x -` read as `x`.  Ours refuses it.
    with pytest.raises(ParseError) as err:
        parse("w -")
    assert err.value.pos == 3


@pytest.mark.parametrize(
    "text",
    [r"\sum_{t=1}^{T} (T-t+1) w^{T-t} u_t", r"\sum_{t=1}^T (T-t+1)w^{T-t}u[t]", "sum((T-t+1)*w^(T-t)*u_t, t, 1, T)"],
)
def test_sums_bind_their_index(text: str) -> None:
    value, unknown = to_sympy(text, GENERAL)
    assert not unknown
    assert value.free_symbols >= {next(s for s in value.free_symbols if s.name == "T")}
    assert "t" not in {s.name for s in value.free_symbols}


@pytest.mark.parametrize(
    ("text", "where"),
    [("w + * u_1", 4), ("(w + u_1", 8), (r"\frac{w}", 8), ("w \x00", 2), ("w ++", 4), ("u_1 $ w", 4)],
)
def test_errors_point_at_the_character(text: str, where: int) -> None:
    with pytest.raises(ParseError) as err:
        parse(text)
    assert err.value.pos == where
    assert "^" in err.value.pointer() or "\n" in text or "\x00" in text


def test_unknown_symbols_are_named() -> None:
    _, unknown = to_sympy("w x + u_4", DY_DW)
    assert set(unknown) == {"x", "u_{4}"}


@given(st.text(max_size=200))
def test_arbitrary_text_raises_only_our_parse_error(text: str) -> None:
    try:
        parse(text)
    except ParseError:
        pass


TOKENS = st.sampled_from(
    [
        "w",
        "u_1",
        "u_{t}",
        "T",
        "t",
        "^",
        "_",
        "{",
        "}",
        "(",
        ")",
        "[",
        "]",
        "+",
        "-",
        "*",
        "/",
        "2",
        "0.5",
        r"\frac",
        r"\sum",
        r"\sigma",
        "'",
        r"\cdot",
        r"\odot",
        r"\top",
        r"\operatorname{diag}",
        r"\mathbb{1}",
        ">",
        "=",
        ",",
        r"\left(",
        r"\right)",
        "e",
        "sum",
        r"\partial",
        r"\hat",
        r"\sqrt",
    ]
)


@given(st.lists(TOKENS, max_size=40).map(" ".join))
def test_token_soup_raises_only_our_errors(text: str) -> None:
    # Well-formed-looking input goes through the resolver too: only ParseError may escape.
    try:
        to_sympy(text, GENERAL)
    except ParseError:
        pass


@pytest.mark.parametrize("text", [r"\|x\|^2", "||x||^2", r"\lVert x \rVert^2", "‖x‖_2^2", r"\|x\|_F^2"])
def test_a_squared_norm_in_any_spelling(text: str) -> None:
    tree = parse(text)
    assert tree.rule == "pow" and "norm" in repr(tree)


def test_an_unclosed_norm_bar_is_an_error_with_a_position() -> None:
    with pytest.raises(ParseError) as caught:
        parse(r"\| x + 1")
    assert caught.value.pos is not None

"""A step's left side is one SymPy object; its plain and LaTeX forms are printed from it."""

from __future__ import annotations

import pickle
from functools import cache
from pathlib import Path

import pytest
import sympy as sp

from derivations import symbols
from derivations.core import Step
from derivations.symbols import Entry, Name, Partial, Sub, TotalDerivative, Words, minus, offset, plus, times
from dlverify import registry
from dlverify.checking.names import key
from dlverify.checking.parse import ParseError, parse

ROOT = Path(__file__).resolve().parents[1]

# The left sides that are words rather than a quantity (a count, a shape, a label): printed as
# \text{…}, and kept to these few so that a new step writes mathematics.
TEXT_ONLY = {
    "MSE thresholds",
    "accuracy",
    "admissible",
    "cost at",
    "count",
    "difference",
    "graph",
    "loss",
    "output shape",
    "shape",
    "shape of",
    "step scale",
    "total",
}


@cache
def _steps() -> tuple[tuple[str, Step], ...]:
    """Every step of the catalog's derivations and of the example course files'."""
    courses = sorted(p for p in (ROOT / "examples" / "course").glob("*.toml") if not p.name.endswith("_answers.toml"))
    catalog = registry.build_catalog().adding_files(courses)
    return tuple((p.id, s) for p in catalog.problems.values() if p.derive is not None for s in p.derive().steps)


def _with_left_side() -> list[tuple[str, Step]]:
    return [(pid, s) for pid, s in _steps() if s.lhs is not None]


def test_every_left_side_is_a_sympy_object() -> None:
    found = _with_left_side()
    assert len(found) > 200  # the catalog's steps, not an empty walk
    for pid, step in found:
        assert isinstance(step.lhs, sp.Basic), (pid, step.text)


def test_a_left_side_written_as_a_string_is_refused() -> None:
    with pytest.raises(TypeError, match="SymPy object"):
        Step("The loss:", rhs=sp.Symbol("x"), lhs="L")  # type: ignore[arg-type]


@pytest.mark.parametrize("pid_step", _with_left_side(), ids=lambda ps: f"{ps[0]}:{ps[1].lhs_text}")
def test_both_forms_are_printed_from_the_one_object(pid_step: tuple[str, Step]) -> None:
    _, step = pid_step
    lhs = step.lhs
    assert step.lhs_text == symbols.plain(lhs) and step.lhs_latex == symbols.latex(lhs)
    assert step.lhs_text and step.lhs_latex
    # SymPy rebuilds objects from their args (xreplace, subs) and the disk cache pickles them
    rebuilt = lhs.func(*lhs.args) if lhs.args else lhs
    for again in (rebuilt, pickle.loads(pickle.dumps(lhs))):
        assert again == lhs and symbols.latex(again) == step.lhs_latex and symbols.plain(again) == step.lhs_text


def test_text_only_left_sides_are_the_documented_few() -> None:
    words = {w.text for _, s in _with_left_side() for w in s.lhs.atoms(Words)}
    assert words and words <= TEXT_ONLY, words - TEXT_ONLY


def _key(text: str) -> str | None:
    try:
        return key(parse(text))
    except ParseError:
        return None


def test_derivative_symbols_read_back_through_the_answer_reader() -> None:
    """The LaTeX form of ∂a/∂b is what a student may write; where the reader takes the plain form
    too, both name the same derivative."""
    derivatives = [s for _, s in _with_left_side() if isinstance(s.lhs, Partial)]
    read = 0
    for step in derivatives:
        parse(step.lhs_latex)  # the reader accepts every printed derivative symbol
        latex_key = _key(step.lhs_latex)
        if latex_key is None:
            continue  # an entry ∂ℓ/∂W[f,c,k]: read, but named by no key
        read += 1
        assert latex_key.startswith("d") and "/d" in latex_key, (step.lhs_latex, latex_key)
        if any(not isinstance(x, Name) for x in step.lhs.free_symbols):
            continue  # a derivation's own symbol: plain text gives its answer name (yhat), LaTeX SymPy's (\\hat{y})
        plain_key = _key(step.lhs_text)
        assert plain_key in (None, latex_key), (step.lhs_text, plain_key, latex_key)
    assert read > 40


@pytest.mark.parametrize(
    ("lhs", "plain", "latex"),
    [
        (Partial("y", "w"), "∂y/∂w", r"\frac{\partial y}{\partial w}"),
        (TotalDerivative("y", "w"), "dy/dw", r"\frac{dy}{dw}"),
        (Partial("L", r"\hat{y}_T"), "∂L/∂ŷ_T", r"\frac{\partial L}{\partial \hat{y}_T}"),
        (
            Partial(Entry("h", "t"), Entry("h", offset("t", -1))),
            "∂h[t]/∂h[t−1]",
            r"\frac{\partial h[t]}{\partial h[t-1]}",
        ),
        (Partial(r"\ell", Entry("W", "p", "q")), "∂ℓ/∂W[p, q]", r"\frac{\partial \ell}{\partial W[p,q]}"),
        (Entry("y", "f", "r"), "y[f, r]", "y[f, r]"),
        (
            Sub(Partial(r"\ell", "W_x"), "k", "l"),
            "(∂ℓ/∂W_x)_{kl}",
            r"\left(\frac{\partial \ell}{\partial W_x}\right)_{kl}",
        ),
        (plus("c_t", minus("c_{t-1}")), "c_t − c_{t−1}", "c_t - c_{t-1}"),
        (plus("h_{t+1}", minus(times("w", plus("u", "h_t")))), "h_{t+1} − w(u + h_t)", r"h_{t+1} - w\,(u + h_t)"),
        (Name(r"\hat m_t"), "m̂_t", r"\hat m_t"),
        (Name(r"L_{\text{out}}"), "L_out", r"L_{\text{out}}"),
        (Words("cost at", "t"), "cost at t", r"\text{cost at } t"),
        # the derivation's own symbols print as SymPy prints them
        (Partial(sp.Symbol("y"), sp.Symbol("h_3")), "∂y/∂h_3", r"\frac{\partial y}{\partial h_{3}}"),
    ],
)
def test_printers(lhs: sp.Basic, plain: str, latex: str) -> None:
    assert symbols.plain(lhs) == plain
    assert symbols.latex(lhs) == latex
    assert sp.latex(lhs) == latex  # SymPy's own printer defers to the notation's


def test_a_name_and_a_derivation_symbol_are_different_objects() -> None:
    assert Name("h_3") != sp.Symbol("h_3")  # printed differently: h_3 and h_{3}
    assert Partial("L", "h_t") == Partial(Name("L"), Name("h_t"))

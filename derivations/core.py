"""What every derivation returns: the result and the steps that led to it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

import sympy as sp

from derivations import symbols


class ChoiceKey(frozenset):
    """The key of a choice item: the options that are right (a derivation may return a plain
    frozenset of option names; ``Derivation`` makes it a ChoiceKey)."""


# A SymPy object; named entries (a table); or the key of a choice item.
Result = sp.Basic | Mapping[str, sp.Basic] | ChoiceKey


@dataclass(frozen=True)
class Step:
    """One sentence of a derivation with the equation it produces: ``lhs = rhs``.

    Both sides are SymPy objects.  The left side is notation built from ``derivations.symbols``
    (``Partial("y", "w")``, ``Sub("h", t)``) or the derivation's own symbols; its plain and LaTeX
    forms are printed from it, so the renderers and a step checker read the same mathematics.
    """

    text: str
    _: KW_ONLY  # Step("…", rhs=…, lhs=…): the parts are named where they are written
    rhs: sp.Basic | None = None
    lhs: sp.Basic | None = None

    def __post_init__(self) -> None:
        if self.lhs is not None and not isinstance(self.lhs, sp.Basic):
            raise TypeError(f"a step's left side is a SymPy object, not {type(self.lhs).__name__}: {self.lhs!r}")

    @property
    def lhs_text(self) -> str:
        """The left side in plain text (Unicode), or "" when the step has none."""
        return "" if self.lhs is None else symbols.plain(self.lhs)

    @property
    def lhs_latex(self) -> str:
        """The left side in LaTeX, or "" when the step has none."""
        return "" if self.lhs is None else symbols.latex(self.lhs)


@dataclass(frozen=True)
class Derivation:
    """A derived result, the steps behind it, and the SymPy objects of its symbols.

    ``symbols`` maps the names used in numeric cases and answers (``"w"``, ``"u"``,
    ``"T"``) to the SymPy objects in ``result``, so a result can be evaluated at any case.
    ``definitions`` gives the symbols that stand for something derived (a graph node, a
    fixed initial state, an upstream gradient) in terms of the others; an answer may use
    them, and the checker substitutes them before comparing.
    """

    result: Result
    steps: tuple[Step, ...]
    symbols: Mapping[str, sp.Basic] = field(default_factory=dict)
    definitions: Mapping[str, sp.Basic] = field(default_factory=dict)
    alternatives: tuple[sp.Basic, ...] = ()  # other forms also accepted (a looser bigO bound)
    # what the problem fixes and a judge needs beside the result: a trace's function f and point
    given: Mapping[str, sp.Basic] = field(default_factory=dict)
    # the topic's setup equations (f_t = σ(x_t U^f + …), q_i = Q_i s_i): an answer may write either
    # side and the checker substitutes them; the result is verified without them
    setup: Mapping[str, sp.Basic] = field(default_factory=dict)
    # quantities the model determines (attention weights a_i = softmax of the scores), each a SymPy
    # expression of the drawn inputs and of the ones before it: a checker computes them at its points
    # instead of drawing them free, so a correct form that uses Σ_i a_i = 1 holds there. Inputs of
    # these expressions that the item does not name (the other attended states) are drawn as well.
    determined: Mapping[str, sp.Basic] = field(default_factory=dict)
    # the setup's equations and named derivatives as a chain rule (derivations.chain.Chain): what a
    # derivative symbol ∂a/∂b of the item's quantities means; None where the item records none
    chain: Any = None

    def __post_init__(self) -> None:
        if isinstance(self.result, frozenset) and not isinstance(self.result, ChoiceKey):
            object.__setattr__(self, "result", ChoiceKey(self.result))

    @property
    def is_choice(self) -> bool:
        """Whether the result is a choice item's key (no entries, no SymPy value)."""
        return isinstance(self.result, ChoiceKey)

    def _repr_latex_(self) -> str:
        if self.is_choice:
            return r"$\{" + ", ".join(sorted(self.result)) + r"\}$"
        return result_display([(k, sp.latex(v)) for k, v in self.entries().items()])

    def entries(self) -> dict[str, sp.Basic]:
        """The result as named entries (a single result is the entry ``""``)."""
        if self.is_choice:
            raise TypeError("a choice key has no entries")
        if isinstance(self.result, Mapping):
            return dict(self.result)
        return {"": self.result}


def result_display(entries: list[tuple[str, str]], head: str = "") -> str:
    """A result's named entries (name, LaTeX; "" for a single result) as one Jupyter display, after
    ``head``: the form both ``Derivation`` and ``dlverify.problem.Problem`` show."""
    parts = [(rf"\text{{{name}}} = " if name else "") + latex for name, latex in entries]
    return r"$\displaystyle " + head + r",\quad ".join(parts) + "$"


def inline(expr: sp.Basic) -> str:
    """An expression inside a step's sentence, as the homework writes it by hand: w^2 p, not w**2*p."""
    return sp.sstr(expr).replace("**", "^").replace("*", " ")


def substitute_definitions(expr: sp.Basic, definitions: Mapping[sp.Basic, sp.Basic], rounds: int = 64) -> sp.Basic:
    """``expr`` with every defined symbol (a graph node, an upstream gradient) replaced by its
    definition, repeatedly: definitions may refer to other defined symbols."""
    for _ in range(rounds):
        new = expr.xreplace(dict(definitions))
        if new == expr:
            return expr
        expr = new
    raise RecursionError("the definitions refer to each other in a cycle")

"""What every derivation returns: the result and the steps that led to it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass, field

import sympy as sp

# A SymPy object; named entries (a table); or the key of a choice item.
Result = sp.Basic | Mapping[str, sp.Basic] | frozenset[str]


@dataclass(frozen=True)
class Step:
    """One sentence of a derivation with the equation it produces.

    ``lhs`` is written twice (plain text and LaTeX) because left-hand sides such as
    ``∂y/∂p`` are notation rather than SymPy objects; ``rhs`` is a SymPy object.
    """

    text: str
    _: KW_ONLY  # Step("…", rhs=…, lhs=…, lhs_latex=…): the parts are named where they are written
    rhs: sp.Basic | None = None
    lhs: str = ""
    lhs_latex: str = ""


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

    def _repr_latex_(self) -> str:
        if isinstance(self.result, frozenset):
            return r"$\{" + ", ".join(sorted(self.result)) + r"\}$"
        parts = [(rf"\text{{{k}}} = " if k else "") + sp.latex(v) for k, v in self.entries().items()]
        return r"$\displaystyle " + r",\quad ".join(parts) + "$"

    def entries(self) -> dict[str, sp.Basic]:
        """The result as named entries (a single result is the entry ``""``)."""
        if isinstance(self.result, frozenset):
            raise TypeError("a choice key has no entries")
        if isinstance(self.result, Mapping):
            return dict(self.result)
        return {"": self.result}


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

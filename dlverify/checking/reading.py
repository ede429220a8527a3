"""What the judges call to read an answer: text → SymPy against one problem, refusals as verdicts.

An answer is parsed and resolved once: the judge reads it to compare it, and typesetting it for
the feedback (``latex_of``) finds the same reading in a small memo keyed on the problem, the
text and the revision of the function table.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from derivations import functions
from dlverify import notation
from dlverify.checking.names import Unreadable, table_for
from dlverify.checking.parse import ParseError, parse
from dlverify.checking.resolve import Resolver
from dlverify.checking.sizes import FREE, dims, fit
from dlverify.checking.verdict import Verdict
from dlverify.problem import Problem

# Readings kept: a table's entries (judge.MAX_PARTS at most) are all read before any is typeset.
MEMO = 256


@dataclass(frozen=True)
class _Refusal:
    """A ParseError kept as data, raised afresh each time the reading is asked for."""

    cls: type[ParseError]
    reason: str
    pos: int | None
    text: str

    def error(self) -> ParseError:
        return self.cls(self.reason, self.pos, self.text)


@dataclass(frozen=True)
class _Read:
    value: sp.Basic | None
    unknown: tuple[tuple[str, int], ...] = ()
    refusal: _Refusal | None = None


def _resolve(text: str, problem: Problem) -> _Read:
    resolver = Resolver(table_for(problem))
    try:
        value = resolver(parse(text))
    except RecursionError:
        return _Read(None, refusal=_Refusal(Unreadable, "the answer is nested too deeply", None, text))
    except Unreadable as exc:
        return _Read(None, refusal=_Refusal(Unreadable, exc.reason, exc.pos, text))
    except ParseError as exc:
        return _Read(None, refusal=_Refusal(type(exc), exc.reason, exc.pos, exc.text))
    return _Read(value, tuple(resolver.unknown().items()))


@lru_cache(maxsize=MEMO)
def _remembered(text: str, problem: Problem, revision: int) -> _Read:
    return _resolve(text, problem)


def to_sympy(text: str, problem: Problem, shape: tuple | None = None) -> tuple[sp.Basic, dict[str, int]]:
    """Parse and resolve an answer: (SymPy object, unknown names → position).

    ``shape``, the reference's, fixes the size of an I or ones vector that nothing
    around it determines (an answer that is just ``I``)."""
    read = _remembered(text, problem, functions.revision()) if isinstance(text, str) else _resolve(text, problem)
    if read.refusal is not None:
        raise read.refusal.error()
    value = read.value
    try:
        if shape is not None and isinstance(value, sp.MatrixExpr) and FREE in dims(value):
            value = fit(value, *shape)
        if isinstance(value, sp.Basic) and value.has(FREE):
            raise Unreadable("the size of I or of the ones vector cannot be inferred from the context", None, text)
    except RecursionError:
        raise Unreadable("the answer is nested too deeply", None, text) from None
    return value, dict(read.unknown)


class AnswerRefused(Exception):
    """An answer that cannot be compared with the reference; ``verdict`` says why."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(verdict.message)
        self.verdict = verdict


@dataclass(frozen=True)
class Reading:
    """An answer and its reference in the same terms (defined symbols substituted on both sides)."""

    answer: sp.Basic
    reference: sp.Basic


def read_answer(problem: Problem, label: str, answer: object, reference: sp.Basic) -> Reading:
    """The answer and the reference in the same terms; raises AnswerRefused with the verdict
    that ends it here.

    Text only; parse and resolve (unparsed on error); names the item does not define make
    it incorrect; defined symbols (graph nodes, h_0 = 0) are substituted on both sides."""
    from dlverify.evaluation import substitute_definitions

    if not isinstance(answer, str):
        raise AnswerRefused(Verdict(label, "unparsed", f"expected the answer as text, got {type(answer).__name__}"))
    try:
        shape = reference.shape if isinstance(reference, sp.MatrixExpr) else None
        student, unknown = to_sympy(answer, problem, shape=shape)
    except ParseError as exc:
        raise AnswerRefused(Verdict(label, "unparsed", exc.pointer())) from None
    if unknown:
        names = ", ".join(f"{n} (position {p + 1})" for n, p in unknown.items())
        allowed = ", ".join(s.name for s in problem.symbols)
        message = f"uses symbols this item does not define: {names}; allowed: {allowed}"
        raise AnswerRefused(Verdict(label, "incorrect", message))
    definitions = table_for(problem).definitions
    return Reading(substitute_definitions(student, definitions), substitute_definitions(reference, definitions))


def latex_of(problem: Problem, answer: str) -> str | None:
    """The answer as read, typeset from its tree (never from its text); None if unreadable."""
    try:
        value, unknown = to_sympy(answer, problem)
    except ParseError:
        return None
    return None if unknown else notation.latex(value)

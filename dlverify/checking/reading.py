"""What the judges call to read an answer: text → SymPy against one problem, refusals as verdicts.

An answer is parsed and resolved once: the judge reads it to compare it, and typesetting it for
the feedback (``latex_of``) finds the same reading in a small memo keyed on the problem, the
text and the revision of the function table.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from derivations import functions
from dlverify import notation
from dlverify.checking.names import SymbolTable, Unreadable, key, table_for
from dlverify.checking.parse import Node, ParseError, parse
from dlverify.checking.resolve import DerivativeReading, NotJudged, Resolver
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
    derivatives: tuple[DerivativeReading, ...] = ()


def _keeper(table: SymbolTable):
    """TeX's one-token scripts, except where the item spells a symbol with several letters
    (W_{ir}) and has none with the first alone (W_i): then ``W_ir`` is that symbol."""

    def keep(base: str, mark: str, word: str) -> bool:
        if mark == "_" and base.lstrip("\\") == "delta" and "delta" not in table.by_key:
            return True  # \delta_ij: a Kronecker delta's two indices
        rule = "sub" if mark == "_" else "pow"
        whole, first = (key(Node(rule, (Node("name", (base,)), Node("name", (w,))))) for w in (word, word[0]))
        return whole in table.by_key and first not in table.by_key

    return keep


def _without_asked_side(text: str, table: SymbolTable) -> str:
    """``\\frac{dy}{dw} = 3w^2 u_1 + …``: an answer that starts by naming the asked quantity is its right
    side (the left side blanked, so positions stay); any other left side is left for the grammar to refuse."""
    from dlverify.checking.derivation_lines import _top_level_equals

    cuts = _top_level_equals(text)
    if len(cuts) != 1 or not table.asked:
        return text
    left = text[: cuts[0]]
    try:
        named = key(parse(left, keep=_keeper(table)))
    except ParseError:
        return text
    return " " * (cuts[0] + 1) + text[cuts[0] + 1 :] if named in table.asked else text


def _resolve(text: str, problem: Problem, setup: bool = False, indices: tuple = ()) -> _Read:
    table = table_for(problem)
    if not setup:
        text = _without_asked_side(text, table)
    resolver = Resolver(table, setup=setup)
    resolver.env.bound.update(dict(indices))  # a derivation's "for every k" line, at one value of k
    try:
        value = resolver(parse(text, keep=_keeper(table)))
    except RecursionError:
        return _Read(None, refusal=_Refusal(Unreadable, "the answer is nested too deeply", None, text))
    except (Unreadable, NotJudged) as exc:
        return _Read(None, refusal=_Refusal(type(exc), exc.reason, exc.pos, text))
    except ParseError as exc:
        return _Read(None, refusal=_Refusal(type(exc), exc.reason, exc.pos, exc.text))
    return _Read(value, tuple(resolver.unknown().items()), derivatives=tuple(resolver.derivatives()))


@lru_cache(maxsize=MEMO)
def _remembered(text: str, problem: Problem, revision: int, setup: bool = False, indices: tuple = ()) -> _Read:
    return _resolve(text, problem, setup, indices)


def derivatives_in(text: str, problem: Problem) -> tuple[DerivativeReading, ...]:
    """How the derivative symbols of an answer were read (none if it does not read)."""
    if not isinstance(text, str):
        return ()
    return _remembered(text, problem, functions.revision(), False, ()).derivatives


# Set while a derivation's lines are judged: a line may name the setup's own quantities (h_2, L).
_IN_A_DERIVATION: ContextVar[bool] = ContextVar("in_a_derivation", default=False)


# A derivation's line may hold for every value of a free step index (∂h_k/∂h_{k−1} = …): the index
# letters and the value each takes while the line is judged at one of them.
_FREE_INDICES: ContextVar[tuple[tuple[str, sp.Basic], ...]] = ContextVar("free_indices", default=())


@contextmanager
def free_indices(values: dict[str, sp.Basic]) -> Iterator[None]:
    """Within: the letters of ``values`` read as those values (a line "for every k" at one k)."""
    token = _FREE_INDICES.set(tuple(sorted(values.items(), key=lambda kv: kv[0])))
    try:
        yield
    finally:
        _FREE_INDICES.reset(token)


@contextmanager
def derivation_lines(on: bool = True) -> Iterator[None]:
    """Within: answers are lines of a derivation (the setup's quantities allowed); ``on=False``: a
    final answer again (the derivation's result)."""
    token = _IN_A_DERIVATION.set(on)
    try:
        yield
    finally:
        _IN_A_DERIVATION.reset(token)


def to_sympy(
    text: str, problem: Problem, shape: tuple | None = None, *, setup: bool | None = None
) -> tuple[sp.Basic, dict[str, int]]:
    """Parse and resolve an answer: (SymPy object, unknown names → position).

    ``shape``, the reference's, fixes the size of an I or ones vector that nothing
    around it determines (an answer that is just ``I``)."""
    if setup is None:
        setup = _IN_A_DERIVATION.get()
    indices = _FREE_INDICES.get() if setup else ()
    if isinstance(text, str):
        read = _remembered(text, problem, functions.revision(), setup, indices)
    else:
        read = _resolve(text, problem, setup, indices)
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
    except NotJudged as exc:
        raise AnswerRefused(Verdict(label, "unsupported", str(exc))) from None
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


def reading_note(read: tuple[DerivativeReading, ...]) -> str:
    """How each derivative symbol was read, for a message."""
    parts = []
    for r in dict.fromkeys(read):
        if r.asked:
            what = "the asked quantity"
        else:
            what = "a scalar" if r.shape is None else f"the {r.shape[0]}×{r.shape[1]} Jacobian"
        parts.append(f"{r.symbol} as {what}")
    return "read " + ", ".join(parts) + " (numerator layout, at the same point)"


def derivative_verdict(verdict: Verdict, read: tuple[DerivativeReading, ...]) -> Verdict:
    """A final answer written with derivative symbols the item does not list is incorrect: it says
    whether the chain rule written holds (the verdict it would have had) and how each symbol was read."""
    if not read or verdict.verdict not in ("correct", "incorrect"):
        return verdict
    note = reading_note(read)
    asked = [r.symbol for r in read if r.asked]
    if asked:
        head = f"the answer is the asked quantity itself ({', '.join(dict.fromkeys(asked))}): write it out"
    else:
        names = ", ".join(dict.fromkeys(r.symbol for r in read))
        holds = "holds" if verdict.verdict == "correct" else "does not hold"
        head = f"the item asks for the derivatives written out, and the answer uses {names}"
        head += f"; the chain rule written {holds}"
    if verdict.verdict == "incorrect":
        prefix = head + ": "
        message = prefix + verdict.message + f"; {note}"
    else:
        prefix, message = "", f"{head}; {note}"
    reference = verdict.reference
    if reference is not None:  # the quote keeps its place in what the judge said
        reference = dataclasses.replace(reference, at=reference.at + len(prefix))
    return dataclasses.replace(verdict, verdict="incorrect", message=message, score=0.0, reference=reference)

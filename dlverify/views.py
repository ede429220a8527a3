"""Typed views between the data and its renderings.

The terminal (``render``, ``dlverify verify``), the solution manual (``reports.build``), Jupyter
(``Problem._repr_latex_``) and the feedback document (``reports.feedback``) read an item or a verdict
through these frozen views, so a new rendering is one module over them: it decides how things look,
never which branch of a sentence applies or where a reference sits in a message (the JSON record,
the terminal and Gradescope quote it with ``Verdict.said``, the same ``quoted``).

- ``ItemView``: a problem's statement, symbols, derivation steps, result entries and, once it has
  been cross-checked, its ``VerificationView`` (with the case rows a table shows).
- ``VerdictView``: a verdict's message without the reference, the reference, the typed
  counterexample (and its ``WitnessView``: the values that matter, in a few lines) and the
  diagnosis, entry by entry.

This module reads a problem through the ``Described`` protocol rather than importing
``dlverify.problem``: ``Problem._repr_latex_`` renders from the view, and the import flow stays one-way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol

import sympy as sp

from dlverify import notation
from dlverify.checking.verdict import SHOWN_VALUES, Counterexample, LineVerdict, Reference, Verdict, quoted

if TYPE_CHECKING:
    from derivations.core import Derivation


class DescribedSymbol(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def latex(self) -> str: ...
    @property
    def meaning(self) -> str: ...
    @property
    def spellings(self) -> tuple[str, ...]: ...
    @property
    def value(self) -> float | None: ...


class Described(Protocol):
    """What an item view reads of a problem (``dlverify.problem.Problem`` is one)."""

    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def statement(self) -> str: ...
    @property
    def symbols(self) -> Sequence[DescribedSymbol]: ...
    @property
    def derive(self) -> Callable[[], Derivation]: ...


@dataclass(frozen=True)
class SymbolRow:
    name: str
    latex: str
    meaning: str
    spellings: tuple[str, ...] = ()
    value: float | None = None  # a fixed value (h_0 = 0)


@dataclass(frozen=True)
class StepView:
    """One sentence of the derivation and the equation it produces (none when ``rhs`` is None)."""

    text: str
    lhs: str  # plain text
    lhs_latex: str
    rhs: sp.Basic | None


@dataclass(frozen=True)
class ResultEntry:
    """One entry of the result ("" names a single result), printed both ways; ``expr`` is the entry
    as SymPy (None for a choice item's key)."""

    name: str
    latex: str
    plain: str
    expr: sp.Basic | None = None


class Outcome(Enum):
    """Which verification sentence a record is: every rendering branches on this, not on the record."""

    FAILED = "failed"
    ARGUMENT_ONLY = "argument only"  # no experiment decides it: it rests on the derivation's argument
    EXACT = "exact"  # every comparison yes or no
    WITHIN_TOLERANCE = "within tolerance"


@dataclass(frozen=True)
class CaseRow:
    """One comparison at one kept case: the report's table row."""

    case: Mapping[str, Any]
    entry: str  # the result's entry or the check's name; "" for an item's single result
    reference: float | None
    oracle: float | None
    error: float


@dataclass(frozen=True)
class VerificationView:
    """What a cross-check found, as its renderings need it (built by ``CrossCheck.view``)."""

    item: str
    oracle: str
    passed: bool
    cases: int
    sizes: str
    exact: bool
    max_error: float
    max_tolerance: float
    tolerance_note: str
    error_cells: tuple[str, str]  # the verify table's "max rel err" and "tolerance"
    argument_only: bool = False
    failure: str | None = None
    failing_case: Mapping[str, Any] | None = None
    measured: tuple[str, ...] = ()  # the last case's checks
    rows: tuple[CaseRow, ...] = ()
    recorded: bool = False  # an experiment's stored results, not run now
    recorded_checks: tuple[str, ...] = ()
    recorded_by: str = ""  # the command that regenerates them

    @property
    def outcome(self) -> Outcome:
        if not self.passed:
            return Outcome.FAILED
        if self.argument_only:
            return Outcome.ARGUMENT_ONLY
        return Outcome.EXACT if self.exact else Outcome.WITHIN_TOLERANCE

    def sentence(self) -> str:
        """One sentence: what was checked against what, and how closely."""
        outcome = self.outcome
        if outcome is Outcome.ARGUMENT_ONLY:
            return "not measured: no experiment decides this statement; it rests on the argument in its derivation"
        if outcome is Outcome.FAILED:
            return f"FAILED against {self.oracle}: {self.failure} (case {self.failing_case})"
        head = f"verified against {self.oracle} on {self.cases} random cases ({self.sizes})"
        if outcome is Outcome.EXACT:
            return f"{head}; exact agreement"
        error, tolerance = f"{self.max_error:.2e}", f"{self.max_tolerance:.2e}"
        return f"{head}; max relative error {error}, tolerance ≤ {tolerance} ({self.tolerance_note})"


@dataclass(frozen=True)
class ItemView:
    id: str
    title: str
    kind: str
    statement: str
    symbols: tuple[SymbolRow, ...]
    steps: tuple[StepView, ...]
    results: tuple[ResultEntry, ...]
    choice: bool = False  # the result is a choice item's key (one row, no SymPy entry)
    verification: VerificationView | None = None

    @property
    def letters(self) -> frozenset[str]:
        """The symbols named by one letter: prose typesets them as math."""
        return frozenset(s.name for s in self.symbols if len(s.name) == 1 and s.name.isalpha())


def item_view(problem: Described, verification: VerificationView | None = None) -> ItemView:
    d = problem.derive()
    choice = d.is_choice
    entries = {} if choice else d.entries()
    return ItemView(
        id=problem.id,
        title=problem.title,
        kind=problem.kind,
        statement=problem.statement,
        symbols=tuple(SymbolRow(s.name, s.latex, s.meaning, tuple(s.spellings), s.value) for s in problem.symbols),
        steps=tuple(StepView(s.text, s.lhs_text, s.lhs_latex, s.rhs) for s in d.steps),
        results=tuple(ResultEntry(name, latex, plain, entries.get(name)) for name, latex, plain in notation.results(d)),
        choice=choice,
        verification=verification,
    )


@dataclass(frozen=True)
class WitnessView:
    """A counterexample as the terminal and the feedback show it: the values that matter (the sizes, the
    quantities the model determines, the symbols of the answer and of the reference as written), at most
    SHOWN_VALUES of them, how many more the JSON record has (``left_out``), and the entry and the two
    values there; ``details`` are the other fields (a shape's axes, a bound's terms)."""

    values: tuple[tuple[str, Any], ...]
    left_out: int
    entry: tuple[int, ...] | None
    answer_value: float | str | None
    reference_value: float | str | None
    details: Mapping[str, Any]

    @property
    def note(self) -> str:
        """What a rendering says of the values it leaves out ("" when none are)."""
        return f"{self.left_out} more values: dlverify check --json gives them all" if self.left_out else ""


def witness_view(example: Counterexample, limit: int = SHOWN_VALUES) -> WitnessView:
    shown, left_out = example.brief(limit)
    return WitnessView(
        values=tuple(shown.items()),
        left_out=left_out,
        entry=example.entry,
        answer_value=example.answer_value,
        reference_value=example.reference_value,
        details=example.details(),
    )


@dataclass(frozen=True)
class VerdictView:
    """A verdict as its renderings read it: ``message`` without the reference, which ``reference``
    holds; ``said`` is the two together, as the JSON record and the terminal give it."""

    id: str
    verdict: str
    message: str
    reference: Reference | None
    counterexample: Counterexample | None
    diagnosis: str | None
    answer_latex: str | None
    score: float
    max_score: float
    entries: tuple[tuple[str, VerdictView], ...] = ()
    # a derivation: its lines as judged, and the first that does not hold (None: every line holds)
    lines: tuple[LineVerdict, ...] = ()
    step: int | None = None

    @property
    def said(self) -> str:
        return quoted(self.message, self.reference)

    @property
    def witness(self) -> WitnessView | None:
        """The counterexample in a few lines (None without one); ``counterexample`` keeps every value."""
        return None if self.counterexample is None else witness_view(self.counterexample)


def verdict_view(verdict: Verdict) -> VerdictView:
    return VerdictView(
        id=verdict.id,
        verdict=verdict.verdict,
        message=verdict.message,
        reference=verdict.reference,
        counterexample=verdict.counterexample,
        diagnosis=verdict.diagnosis,
        answer_latex=verdict.answer_latex,
        score=verdict.score,
        max_score=verdict.max_score,
        entries=tuple((name, verdict_view(v)) for name, v in verdict.entries.items()),
        lines=verdict.lines,
        step=verdict.step,
    )

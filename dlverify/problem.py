"""The description of one catalog item, read by the tests, the reports and the checker.

Modelled on PyTorch's OpInfo: each item is described once — its symbols, its SymPy
derivation, its numeric oracle, its input strategy, its tolerance and any extra
properties — and generic code runs over every description.  This module imports neither
SymPy nor torch, so that listing the catalog stays fast: the heavy parts are callables
that import what they need when first called.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

    from derivations.core import Derivation

Case = Mapping[str, Any]
"""One numeric instance: symbol name → float, int (sizes) or list (a sequence u_1..u_T)."""


def one_case() -> SearchStrategy[dict[str, Any]]:
    """The cases of an item with nothing to draw (a fixed example, a seeded experiment): one, empty."""
    from hypothesis import strategies as st

    return st.just({})


@dataclass(frozen=True)
class Topic:
    """A catalog topic: one module in ``dlverify/problems/`` (or a course's own package) exports
    it as ``TOPIC`` beside its ``PROBLEMS``.

    ``order`` places it in listings and in the solution manual (the catalog's order; a
    course's topics default to after the catalog's)."""

    name: str
    title: str
    order: int = 1000


class Assumption(StrEnum):
    """What a symbol is known to be, as a description writes it (``assumptions=("positive",)``); the
    checker draws the symbol's random values to match (checking/points.py, checking/matrices.py).
    One more is written with a parameter: ``below NAME``, a scalar under the smallest diagonal entry
    of the matrix NAME (λ < σ_k², where a formula holds).  Anything else is refused (Problem)."""

    POSITIVE = "positive"
    UNIT_INTERVAL = "in (0, 1)"  # a decay rate β: drawn inside, away from both ends
    DESCENDING = "descending"  # a sequence σ_1 > σ_2 > … > 0, or a diagonal's entries
    DIAGONAL = "diagonal"
    ORTHONORMAL_COLUMNS = "orthonormal columns"
    ORTHOGONAL = "orthogonal"
    SYMMETRIC_POSITIVE_DEFINITE = "symmetric positive definite"
    IDENTITY_WHEN_OMITTED = "identity when omitted"  # an answer may leave this factor out where it is I
    # the result holds for every orthogonal value of this factor (rlae's O in U_k (I − λΛ_k⁻¹)^{1/2} O): an
    # answer is right when it is the reference at some orthogonal factor (O, Oᵀ, −O, O², or none: I)
    ARBITRARY_ORTHOGONAL = "an arbitrary orthogonal factor"


BELOW = "below "  # the prefix of the one assumption with a parameter: "below Lambda_k"


class TraceMode(StrEnum):
    """What the nodes of a ``trace`` item carry besides their values."""

    FORWARD = "forward"  # tangents ∂v_i/∂x along one input
    REVERSE = "reverse"  # adjoints ∂f/∂v_i, the inputs' included


@dataclass(frozen=True)
class SymbolSpec:
    """A symbol of a problem, as students write it and as the numerics see it.

    ``name`` is the key in numeric cases and in the derivation's symbol map;
    ``spellings`` are the other ways an answer may write it (``u1`` for ``u_1``).
    ``role`` is ``real``, ``integer`` (a size), ``index`` (a free index of an ``indexed``
    answer), ``sequence`` (u_t, indexed 1..T, or a tensor x[n, c]), ``vector_sequence`` (h_k) or
    ``matrix`` (an answer's kind is the problem's ``kind``).  ``assumptions`` are Assumption names
    (text is read as one) or ``below NAME``; the problem refuses any other.
    """

    name: str
    latex: str
    role: str
    meaning: str = ""
    spellings: tuple[str, ...] = ()
    shape: tuple[str, ...] = ()
    assumptions: tuple[Assumption | str, ...] = ()
    value: float | None = None  # a fixed value, e.g. h_0 = 0
    bounds: tuple[str, str] | None = None  # integer range, by name: t in ("1", "T")

    def __post_init__(self) -> None:
        known = {a.value: a for a in Assumption}
        object.__setattr__(self, "assumptions", tuple(known.get(a, a) for a in self.assumptions))

    @property
    def below(self) -> str | None:
        """The matrix whose smallest diagonal entry this scalar stays under (``below NAME``), or None."""
        return next((a.removeprefix(BELOW) for a in self.assumptions if a.startswith(BELOW)), None)

    def unknown_assumptions(self, names: set[str]) -> list[str]:
        """The assumptions that are neither an Assumption nor ``below`` one of ``names`` (the
        problem's matrices), each with a hint."""
        import difflib

        wrong = []
        for a in self.assumptions:
            if isinstance(a, Assumption) or (a.startswith(BELOW) and a.removeprefix(BELOW) in names):
                continue
            if a.startswith(BELOW):
                wrong.append(f"{a!r} (no matrix {a.removeprefix(BELOW)!r} in this problem)")
                continue
            close = difflib.get_close_matches(a, [m.value for m in Assumption], n=1)
            wrong.append(f"{a!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        return wrong


@dataclass(frozen=True)
class Measurement:
    """One numeric comparison: an error and the tolerance it must stay within."""

    check: str
    error: float
    tolerance: float
    reference: float | None = None  # the SymPy result's value, where this compares values
    oracle: float | None = None  # the oracle's value
    exact: bool = False  # a yes/no comparison (equal shapes, the same beam): error 0 or 1, no tolerance
    entry: str | None = None  # the result's entry compared ("" a single result); None: a check named by ``check``

    @property
    def ok(self) -> bool:
        return self.error <= self.tolerance

    @classmethod
    def holds(cls, check: str, holds: bool) -> Measurement:
        """An exact comparison: it holds or it does not."""
        return cls(check, 0.0 if holds else 1.0, 0.5, exact=True)


@dataclass(frozen=True)
class Property:
    """An extra numeric property of a problem, beyond "reference equals oracle"."""

    name: str
    measure: Callable[[Case], list[Measurement]]
    # cases the derandomized ci profile draws, where each is costly (a Monte Carlo, a fit); None: all
    ci_examples: int | None = None


@dataclass(frozen=True)
class Check:
    """A named comparison of the derived result with a measurement, for items whose agreement is
    not "reference equals oracle" (a claim, an experiment against derived thresholds).  It reads
    the derivation through the problem, so a perturbed derivation is seen by every check."""

    name: str
    measure: Callable[[Problem, Case], list[Measurement]]


@dataclass(frozen=True)
class AnswerSpec:
    """How answers of a problem are judged, beyond its kind.

    ``options``: the accepted choices (``choice``), ``multiple`` if several may be
    chosen; ``tolerance``: absolute tolerance of a ``number``; ``order``: chains of
    size symbols known to be ordered, smallest first (``("K", "M")`` for K ≤ M), for
    ``bigO``; ``hint``: a sentence added when a ``shape`` has its axes in the wrong order;
    ``functions``: what a function name means in this item where it is not the default, as
    (name, elementwise function) pairs — ``(("sigma", "relu"), ("sigma'", "step"))`` where σ is ReLU;
    ``trace``: forward (tangents) or reverse (adjoints), for ``trace``.
    """

    options: tuple[str, ...] = ()
    multiple: bool = False
    tolerance: float | None = None
    order: tuple[tuple[str, ...], ...] = ()
    hint: str = ""
    functions: tuple[tuple[str, str], ...] = ()
    trace: TraceMode | None = None  # a ``trace`` item's mode


@dataclass(frozen=True)
class Problem:
    """One catalog item, described once."""

    id: str
    topic: str
    title: str
    kind: str
    statement: str
    symbols: tuple[SymbolSpec, ...]
    derive: Callable[[], Derivation]
    oracle: Callable[[Case], Any]
    oracle_name: str
    cases: Callable[[], SearchStrategy[dict[str, Any]]]
    tolerance: Callable[[Case], float]
    tolerance_note: str
    sizes: tuple[str, ...] = ()
    fixed_sizes: str = ""
    entries: tuple[str, ...] = ()
    properties: tuple[Property, ...] = field(default=())
    answer: AnswerSpec = field(default_factory=AnswerSpec)
    # A claim measured by experiments compares its own way (measured ≤ threshold, say): its checks.
    compare: tuple[Check, ...] = ()
    # An experiment too long for every report build: its stored results, and the command
    # that regenerates them; the report shows these instead of rerunning it.
    recorded: Callable[[Problem], list[Measurement]] | None = None
    recorded_by: str = ""
    # A statement that no experiment decides: its oracle is consistent with every option, and the
    # report and verify say that it rests on the argument in its derivation alone.
    argument_only: bool = False
    # For an indexed item: which index symbol runs along each axis of the oracle's tensor
    # (a digit is a fixed index, the filter axis "1" say).
    axes: tuple[str, ...] = ()
    # Cases the derandomized ci profile draws for the reference-equals-oracle test where each case
    # is costly (a run of an optimizer, a training); None: the profile's count.  The thorough
    # profile and `dlverify verify` draw their own counts regardless.
    ci_examples: int | None = None

    def __post_init__(self) -> None:
        if self.kind == "table" and not self.entries:
            raise ValueError(f"{self.id}: a table item needs its entry names")
        if self.kind == "choice" and not self.answer.options:
            raise ValueError(f"{self.id}: a choice item needs its options")
        if self.kind == "number" and self.answer.tolerance is None:
            raise ValueError(f"{self.id}: a number item needs its tolerance")
        if self.kind == "trace" and self.answer.trace is None:
            raise ValueError(f"{self.id}: a trace item needs its mode (AnswerSpec(trace=TraceMode.FORWARD), say)")
        matrices = {s.name for s in self.symbols if s.role == "matrix"}
        for spec in self.symbols:
            wrong = spec.unknown_assumptions(matrices)
            if wrong:  # a typo would otherwise be ignored: the symbol drawn without its structure
                known = ", ".join(a.value for a in Assumption)
                raise ValueError(
                    f"{self.id}: symbol {spec.name}: unknown assumption {', '.join(wrong)}; known: {known}, below NAME"
                )

    def _repr_latex_(self) -> str:
        """In Jupyter: the id, the title and the derived result, from the item's view."""
        from derivations.core import result_display
        from dlverify import notation
        from dlverify.views import item_view

        view = item_view(self)
        head = r"\text{" + notation.text(f"{self.id} — {self.title}: ") + "}"
        if view.choice:  # the key, as text
            return "$" + head + view.results[0].latex + "$"
        return result_display([(notation.text(e.name), notation.latex(e.expr)) for e in view.results], head)

    def symbol(self, name: str) -> SymbolSpec:
        for spec in self.symbols:
            if spec.name == name:
                return spec
        raise KeyError(name)

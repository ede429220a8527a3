"""Expression answers (``expr``) and element formulas (``indexed``): both sides evaluated at
random points of each symbol's domain, in exact rational arithmetic where the answer is
rational, else in 50-digit arithmetic; an indexed item at every element of random tensors.
A wrong answer gets the witness point and, where one matches, the common mistake it makes.
"""

from __future__ import annotations

import itertools
import random
from typing import Any

import sympy as sp

from dlverify.checking.kinds import AnswerKind, Ask
from dlverify.checking.mutations import mutations
from dlverify.checking.points import (
    DIGITS,
    WIDE_DRAWS,
    Point,
    TooLong,
    beyond_literals,
    certainly_same,
    defined,
    draw,
    same,
    value_at,
)
from dlverify.checking.reading import AnswerRefused, latex_of, read_answer
from dlverify.checking.verdict import Counterexample, Reference, Verdict
from dlverify.notation import latex, unicode
from dlverify.problem import Problem

POINTS = 12
DIAGNOSIS_EVALUATIONS = 1000
ELEMENT_DRAWS = 30  # an indexed item is checked on up to POINTS × ELEMENT_DRAWS elements
MAX_ELEMENTS = 2000
MAX_TRIES = 60  # points drawn, counting those where an answer is undefined
# The draws whose reals have small denominators (integers, then halves to sevenths; the rest have
# large primes): sin(420πw) vanishes at the small ones, 1 − ⌈10⁶w⌉ + ⌊10⁶w⌋ at the large ones, and
# an answer must agree at every kind.
NICE_DRAWS = {3: (1,), 8: (2, 3, 4, 5, 7)}


def judge_expression(problem: Problem, answer: Any, ask: Ask, reference: sp.Basic | None = None) -> Verdict:
    """An expression (or an indexed element formula) against the reference, default the problem's result."""
    label, rng, hide, report = ask.label, ask.rng, ask.hide, ask.report
    try:
        read = read_answer(problem, label, answer, problem.derive().result if reference is None else reference)
    except AnswerRefused as refused:
        return refused.verdict
    student, reference = read.answer, read.reference
    try:
        checked, exact, witness = _compare(problem, student, reference, rng)
    except TooLong as exc:
        return Verdict(label, "incorrect", str(exc))
    if witness is not None:
        point, got, want = witness
        at = point.shown(_used(student) | _used(reference))
        counter = Counterexample(at=at, answer_value=_show(got), reference_value=_show(want))
        # the point in a few values (the sizes and free indices first, then entries): --json has all of them
        shown = counter.point_text() if at else "every point"
        message = f"not equivalent: at {shown} the answer is {counter.answer_value}"
        message += f" but the reference is {counter.reference_value}"
        quote = None if hide else Reference(unicode(reference), latex(reference), at=len(message))
        diagnosis = _diagnose(problem, student, reference, random.Random(rng.random()), hide, witness=point)
        if diagnosis:
            message += f"; looks like {diagnosis}"
        return Verdict(label, "incorrect", message, counterexample=counter, diagnosis=diagnosis, reference=quote)
    if checked == 0:
        return Verdict(label, "incorrect", "the reference is undefined at every point drawn; cannot judge")
    arithmetic = "exact rational arithmetic" if exact else f"{DIGITS}-digit arithmetic"
    numeric = f"equal to the reference at {checked} random points ({arithmetic})"
    if report is not None:
        report(Verdict(label, "correct", numeric + "; symbolic check did not finish in time", score=1.0))
    proved = _symbolic_zero(student - reference)
    tail = (
        "; SymPy also reduces the difference to 0"
        if proved
        else "; SymPy's simplification did not reduce the difference to 0"
    )
    return Verdict(label, "correct", numeric + tail, score=1.0)


def _used(expr: sp.Basic) -> set[sp.Basic]:
    used = set(expr.free_symbols)
    used |= {i.base for i in expr.atoms(sp.Indexed)}
    return used


def _points(problem: Problem, reference: sp.Basic, rng: random.Random, beyond: int = 0):
    """Points where the reference is defined, with its values there.

    For an ``indexed`` item every element is visited: each random draw of the tensors is
    combined with every value of the free indices (r, c, k…) within their bounds."""
    # only the indices free in the reference: a summation index (the i of Σ_i) would repeat one point m times
    objects, free = problem.derive().symbols, reference.free_symbols
    indices = [s for s in problem.symbols if s.role == "index" and objects.get(s.name) in free]
    for k in range(MAX_TRIES):
        # the wide draws take sizes past the small box, and past every number the answer writes
        base = draw(problem, rng, nice=NICE_DRAWS.get(k, ()), wide=k in WIDE_DRAWS, beyond=beyond)
        for point in _elements(problem, base, indices) if indices else [base]:
            want = value_at(reference, point)
            if defined(want):
                yield point, want


def _elements(problem: Problem, base: Point, indices) -> list[Point]:
    objects = problem.derive().symbols
    ranges = []
    for spec in indices:
        lo, hi = (_size(b, objects, base) for b in spec.bounds)
        ranges.append([(objects[spec.name], sp.Integer(v)) for v in range(lo, hi + 1)])
    combos = list(itertools.product(*ranges))[:MAX_ELEMENTS]
    # one tensor draw for all elements: the entries are shared, the indices vary
    return [Point({**base.values, **dict(combo)}, base.rng, base.sequence_values, base.structure) for combo in combos]


def _size(name: str, objects, point: Point) -> int:
    if name.lstrip("-").isdigit():
        return int(name)
    return int(point.values[objects[name]])


def _compare(problem: Problem, student: sp.Basic, reference: sp.Basic, rng: random.Random):
    """(points checked, all exact?, None) if equal everywhere, else the witness point."""
    checked = 0
    exact = True
    for point, want in _points(problem, reference, rng, beyond_literals(student)):
        got = value_at(student, point)
        both_rational = got.is_Rational and want.is_Rational
        if (
            not defined(got)
            or not same(got, want)
            or not (both_rational or certainly_same(student, reference, point, want))  # rounding hides tiny terms
        ):
            return checked, exact, (point, got, want)
        exact = exact and both_rational
        checked += 1
        if checked >= (POINTS * ELEMENT_DRAWS if problem.kind == "indexed" else POINTS):
            break
    return checked, exact, None


_INDEX = sp.Symbol("_k", integer=True)


def _symbolic_zero(diff: sp.Basic) -> bool:
    """A cheap symbolic proof that ``diff`` is 0: sums get one index name and are combined.

    Evaluating symbolic sums (``doit``) can take seconds; the random points are the
    primary evidence, so this only tries what is fast.
    """
    try:
        renamed = diff.replace(
            lambda e: isinstance(e, (sp.Sum, sp.Product)) and len(e.limits) == 1,
            lambda e: e.func(e.function.subs(e.limits[0][0], _INDEX), (_INDEX, *e.limits[0][1:])),
        )
        expanded = sp.expand(renamed)
        if expanded == 0:
            return True
        if expanded.has(sp.Sum):
            from sympy.simplify.simplify import sum_combine

            combined = sum_combine(expanded)
            combined = combined.replace(
                lambda e: isinstance(e, sp.Sum), lambda e: sp.Sum(sp.expand(e.function), *e.limits)
            )
            return sp.expand(combined) == 0
        if expanded.has(sp.Function) and sp.count_ops(expanded) < 200:
            return sp.simplify(expanded) == 0
        return False
    except Exception:
        return False


def _diagnose(
    problem: Problem,
    student: sp.Basic,
    reference: sp.Basic,
    rng: random.Random,
    hide: bool,
    witness: Point | None = None,
) -> str | None:
    """The common mistake that the answer agrees with at every one of fresh random points and at
    the witness, where the answer differs from the reference: so the mutation does too, and one
    that leaves the reference's value alone is never claimed (at most DIAGNOSIS_EVALUATIONS
    evaluations: a count, so verdicts do not depend on speed)."""
    budget = DIAGNOSIS_EVALUATIONS
    try:
        drawn = zip(_points(problem, reference, rng), range(POINTS), strict=False)
        points = ([witness] if witness is not None else []) + [p for (p, _want), _ in drawn]
        sample = [(p, value_at(student, p)) for p in points]
        if not sample or not all(defined(v) for _, v in sample):
            return None
        for m in mutations(reference):
            budget -= len(sample)
            if budget < 0:
                return None
            values = [value_at(m.expr, p) for p, _ in sample]
            if all(defined(mv) and same(v, mv) for (_, v), mv in zip(sample, values, strict=True)):
                return m.hint if hide else m.detail
    except TooLong:
        return None
    return None


def _show(value: sp.Basic) -> str:
    if value.is_Rational and max(abs(value.p), value.q).bit_length() <= 72:  # exact where it is short
        return str(value)
    if value.is_number and value.is_finite:
        return unicode(sp.N(value, 12))
    return "undefined"


def typeset_text(problem: Problem, answer: Any, verdict: Verdict) -> None:
    """Attach a text answer as read (LaTeX printed from the parsed tree)."""
    if isinstance(answer, str):
        verdict.answer_latex = latex_of(problem, answer)


def warm_entries(problem: Problem) -> None:
    """The mutations that diagnoses compare with, for each entry of the result."""
    for expr in problem.derive().entries().values():
        mutations(expr)


EXPR = AnswerKind("expr", judge_expression, typeset_text, warm_entries)
INDEXED = AnswerKind("indexed", judge_expression, typeset_text, warm_entries)

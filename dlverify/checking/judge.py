"""Judge one answer against the verified reference, in this process.

``judge`` is what a worker process runs (see pool.py, which adds the hard time limit).
It never raises: every outcome is a Verdict.  The random points are seeded from the id
and the answer text, so a regrade gives the same verdict.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import random
from collections.abc import Callable, Mapping
from typing import Any

import sympy as sp

from dlverify import notation, registry
from dlverify.checking.bigo import judge_bigo
from dlverify.checking.choices import judge_choice, judge_number
from dlverify.checking.matrices import judge_matrix
from dlverify.checking.mutations import mutations
from dlverify.checking.parse import ParseError
from dlverify.checking.points import DIGITS, Point, TooLong, defined, draw, evaluate, same
from dlverify.checking.resolve import read_answer, to_sympy
from dlverify.checking.shapes import judge_shape, parse_shape
from dlverify.checking.verdict import Verdict
from dlverify.problem import Problem

POINTS = 12
DIAGNOSIS_EVALUATIONS = 1000
ELEMENT_DRAWS = 30  # an indexed item is checked on up to POINTS × ELEMENT_DRAWS elements
MAX_ELEMENTS = 2000
MAX_TRIES = 60  # points drawn, counting those where an answer is undefined
SUPPORTED = ("expr", "indexed", "matrix", "table", "shape", "number", "choice", "bigO")

Report = Callable[[Verdict], None]


def seed_for(problem_id: str, answer: Any) -> int:
    digest = hashlib.sha256(f"{problem_id}\x00{answer!r}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def judge(problem_id: str, answer: Any, hide_reference: bool = False, report: Report | None = None) -> Verdict:
    """The verdict on ``answer`` (a string, a list or a table of strings) for ``problem_id``."""
    if not isinstance(problem_id, str):
        return Verdict(str(problem_id), "unknown_id", "an id must be text")
    try:
        problem = registry.problems().get(problem_id)
        if problem is None:
            if problem_id in registry.planned():
                kind = registry.planned()[problem_id][0]
                return Verdict(
                    problem_id, "unsupported", f"{problem_id} ({kind}) is in the catalog but not derived yet"
                )
            return Verdict(problem_id, "unknown_id", f"no catalog item has the id {problem_id!r}")
        return judge_problem(problem, answer, hide_reference, report)
    except Exception as exc:  # a checker bug must still give every item a verdict
        if os.environ.get("DLVERIFY_DEBUG"):
            raise
        return Verdict(
            problem_id, "incorrect", f"the checker failed on this answer ({type(exc).__name__}); please report it"
        )


def judge_problem(problem: Problem, answer: Any, hide_reference: bool = False, report: Report | None = None) -> Verdict:
    """The verdict on ``answer`` for a problem description (registered or not)."""
    problem_id = problem.id
    try:
        if problem.kind == "claim":
            message = "a numeric claim: derived and verified (dlverify verify), not answered"
            return Verdict(problem_id, "unsupported", message)
        if problem.kind not in SUPPORTED:
            return Verdict(problem_id, "unsupported", f"answers of kind {problem.kind} cannot be checked yet")
        verdict = _dispatch(problem, answer, hide_reference, report)
        if verdict.verdict != "unparsed":
            _typeset(problem, answer, verdict)
        return verdict
    except Exception as exc:  # a checker bug must still give every item a verdict
        if os.environ.get("DLVERIFY_DEBUG"):
            raise
        return Verdict(
            problem_id, "incorrect", f"the checker failed on this answer ({type(exc).__name__}); please report it"
        )


def _typeset(problem: Problem, answer: Any, verdict: Verdict) -> None:
    """Attach the answer as read (LaTeX printed from the parsed tree, never from the text)."""
    if problem.kind == "table" and isinstance(answer, Mapping):
        for name, entry in verdict.entries.items():
            if entry.verdict != "unparsed" and isinstance(answer.get(name), str):
                entry.answer_latex = _latex_of(problem, answer[name])
    elif problem.kind in ("expr", "matrix", "indexed", "number") and isinstance(answer, str):
        verdict.answer_latex = _latex_of(problem, answer)
    elif problem.kind == "shape" and isinstance(answer, str):
        try:
            axes, _ = parse_shape(answer, problem)
            verdict.answer_latex = r" \times ".join(notation.latex(a) for a in axes)
        except ParseError:
            pass


def _latex_of(problem: Problem, answer: str) -> str | None:
    try:
        value, unknown = to_sympy(answer, problem)
    except ParseError:
        return None
    return None if unknown else notation.latex(value)


def _dispatch(problem: Problem, answer: Any, hide_reference: bool, report: Report | None) -> Verdict:
    problem_id = problem.id
    rng = random.Random(seed_for(problem_id, answer))
    if problem.kind == "table":
        return _judge_table(problem, answer, rng, hide_reference)
    if problem.kind == "shape":
        if not isinstance(answer, str):
            return Verdict(problem_id, "unparsed", "a shape is written as text, e.g. '1x5x3'")
        return judge_shape(problem, problem_id, answer, rng, hide_reference)
    if problem.kind == "choice":
        return judge_choice(problem, problem_id, answer, hide_reference)
    if problem.kind == "number":
        return judge_number(problem, problem_id, answer, hide_reference)
    if problem.kind == "bigO":
        return judge_bigo(problem, problem_id, answer, hide_reference)
    reference = problem.derive().result
    if problem.kind == "matrix":
        return judge_matrix(problem, problem_id, answer, reference, rng, hide_reference)
    return _judge_expr(problem, problem_id, answer, reference, rng, hide_reference, report)


def _judge_table(problem: Problem, answer: Any, rng: random.Random, hide: bool) -> Verdict:
    if not isinstance(answer, Mapping):
        return Verdict(problem.id, "unparsed", f"a table item needs one key per entry: {', '.join(problem.entries)}")
    reference = problem.derive().entries()
    entries: dict[str, Verdict] = {}
    for name in problem.entries:
        label = f"{problem.id}[{name}]"
        if name not in answer:
            entries[name] = Verdict(label, "missing", f"entry {name} is not answered")
            continue
        entries[name] = _judge_expr(
            problem, label, answer[name], reference[name], random.Random(rng.random()), hide, None
        )
    extra = sorted(set(map(str, answer)) - set(problem.entries))
    right = sum(v.ok for v in entries.values())
    score = right / len(problem.entries)
    wrong = [f"{k}: {v.verdict} — {v.message}" for k, v in entries.items() if not v.ok]
    note = f"; ignored unknown entries {', '.join(extra)}" if extra else ""
    if not wrong:
        return Verdict(problem.id, "correct", f"all {len(entries)} entries correct{note}", score=1.0, entries=entries)
    worst = "unparsed" if all(v.verdict == "unparsed" for v in entries.values() if not v.ok) else "incorrect"
    first = next(v for v in entries.values() if not v.ok)
    return Verdict(
        problem.id,
        worst,
        f"{right}/{len(entries)} entries correct; " + "; ".join(wrong) + note,
        counterexample=first.counterexample,
        score=score,
        diagnosis=first.diagnosis,
        entries=entries,
    )


def _judge_expr(
    problem: Problem,
    label: str,
    answer: Any,
    reference: sp.Basic,
    rng: random.Random,
    hide: bool,
    report: Report | None,
) -> Verdict:
    read = read_answer(problem, label, answer, reference)
    if isinstance(read, Verdict):
        return read
    student, reference = read
    try:
        checked, exact, witness = _compare(problem, student, reference, rng)
    except TooLong as exc:
        return Verdict(label, "incorrect", str(exc))
    if witness is not None:
        point, got, want = witness
        shown_ref = "(hidden)" if hide else sp.sstr(reference)
        counter = {
            "at": point.shown(_used(student) | _used(reference)),
            "answer_value": _show(got),
            "reference_value": _show(want),
        }
        message = f"not equivalent: at {_fmt(counter['at'])} the answer is {counter['answer_value']}"
        message += f" but the reference is {counter['reference_value']}"
        if not hide:
            message += f" (reference: {shown_ref})"
        diagnosis = _diagnose(problem, student, reference, random.Random(rng.random()), hide)
        if diagnosis:
            message += f"; looks like {diagnosis}"
        return Verdict(label, "incorrect", message, counterexample=counter, diagnosis=diagnosis)
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


def _points(problem: Problem, reference: sp.Basic, rng: random.Random):
    """Points where the reference is defined, with its values there.

    For an ``indexed`` item every element is visited: each random draw of the tensors is
    combined with every value of the free indices (r, c, k…) within their bounds."""
    indices = [s for s in problem.symbols if s.kind == "index"]
    for _ in range(MAX_TRIES):
        base = draw(problem, rng)
        for point in _elements(problem, base, indices) if indices else [base]:
            want = evaluate(reference, point)
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
    for point, want in _points(problem, reference, rng):
        got = evaluate(student, point)
        if not defined(got) or not same(got, want):
            return checked, exact, (point, got, want)
        exact = exact and got.is_Rational and want.is_Rational
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


def _diagnose(problem: Problem, student: sp.Basic, reference: sp.Basic, rng: random.Random, hide: bool) -> str | None:
    """The common mistake that the answer agrees with at every one of fresh random points
    (at most DIAGNOSIS_EVALUATIONS evaluations: a count, so verdicts do not depend on speed)."""
    budget = DIAGNOSIS_EVALUATIONS
    try:
        drawn = zip(_points(problem, reference, rng), range(POINTS), strict=False)
        sample = [(p, evaluate(student, p)) for (p, _want), _ in drawn]
        if not sample or not all(defined(v) for _, v in sample):
            return None
        for m in mutations(reference):
            budget -= len(sample)
            if budget < 0:
                return None
            values = [evaluate(m.expr, p) for p, _ in sample]
            if all(defined(mv) and same(v, mv) for (_, v), mv in zip(sample, values, strict=True)):
                return m.hint if hide else m.detail
    except TooLong:
        return None
    return None


def _show(value: sp.Basic) -> str:
    if value.is_Rational:
        return str(value)
    if value.is_number and value.is_finite:
        return sp.sstr(sp.N(value, 12))
    return "undefined"


def _fmt(at: dict[str, str]) -> str:
    return ", ".join(f"{k} = {v}" for k, v in at.items()) or "every point"

"""Table answers: one expression per named entry, each judged as an ``expr`` answer."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

import sympy as sp

from dlverify.checking.answers import listing
from dlverify.checking.expressions import judge_expression, warm_entries
from dlverify.checking.kinds import AnswerKind, Ask, symbols_and_table, toml_key
from dlverify.checking.mutations import scale_mutations
from dlverify.checking.reading import latex_of
from dlverify.checking.verdict import Counterexample, Verdict
from dlverify.problem import Problem


def judge_table(problem: Problem, answer: Any, ask: Ask) -> Verdict:
    if not isinstance(answer, Mapping):
        return Verdict(problem.id, "unparsed", f"a table item needs one key per entry: {', '.join(problem.entries)}")
    reference = problem.derive().entries()
    entries: dict[str, Verdict] = {}
    for name in problem.entries:
        label = f"{problem.id}[{name}]"
        if name not in answer or _blank(answer[name]):  # a key left as the template wrote it is not an answer
            entries[name] = Verdict(label, "missing", f"entry {name} is not answered")
            continue
        entry_ask = Ask(label, random.Random(ask.rng.random()), ask.hide)
        if isinstance(reference[name], sp.ImmutableDenseMatrix):  # a matrix of numbers (forward values)
            entries[name] = judge_array(problem, answer[name], entry_ask, reference[name])
        else:
            entries[name] = judge_expression(problem, answer[name], entry_ask, reference[name])
    extra = sorted(set(map(str, answer)) - set(problem.entries))
    right = sum(v.ok for v in entries.values())
    score = right / len(problem.entries)
    # every entry the item asks for counts: the ones not answered are named together, and make the item incorrect
    absent = [k for k, v in entries.items() if v.verdict == "missing"]
    wrong = [f"{k}: {v.verdict} — {v.said()}" for k, v in entries.items() if not v.ok and v.verdict != "missing"]
    wrong += [f"not answered: {', '.join(absent)}"] if absent else []
    note = f"; ignored unknown entries {listing(extra)}" if extra else ""
    if not wrong:
        return Verdict(problem.id, "correct", f"all {len(entries)} entries correct{note}", score=1.0, entries=entries)
    worst = "unparsed" if all(v.verdict == "unparsed" for v in entries.values() if not v.ok) else "incorrect"
    first = next((v for v in entries.values() if not v.ok and v.verdict != "missing"), None)
    first = first or next(v for v in entries.values() if not v.ok)
    return Verdict(
        problem.id,
        worst,
        f"{right}/{len(entries)} entries correct; " + "; ".join(wrong) + note,
        counterexample=first.counterexample,
        score=score,
        diagnosis=first.diagnosis,
        entries=entries,
    )


MAX_ENTRIES = 10_000


def _blank(value: Any) -> bool:
    """An entry with nothing in it: empty or blank text, or an empty array."""
    return (isinstance(value, str) and not value.strip()) or (isinstance(value, list) and not value)


def judge_array(problem: Problem, answer: Any, ask: Ask, reference: sp.ImmutableDenseMatrix) -> Verdict:
    """An array of rows of numbers against the reference's, entry by entry within the item's tolerance."""
    label, tol = ask.label, problem.answer.tolerance or 0.0
    rows, cols = reference.shape
    example = "a TOML array of rows of numbers, e.g. [[1.5, -0.25], [0.0, 2.0]]"
    if not isinstance(answer, list) or not all(isinstance(row, list) for row in answer):
        return Verdict(label, "unparsed", f"expected {example}")
    if sum(len(row) for row in answer) > MAX_ENTRIES:
        return Verdict(label, "unparsed", f"more than {MAX_ENTRIES} entries")
    if any(isinstance(x, bool) or not isinstance(x, (int, float)) for row in answer for x in row):
        return Verdict(label, "unparsed", f"every entry must be a number: {example}")
    shape = (len(answer), len(answer[0]) if answer else 0)
    if len({len(row) for row in answer}) > 1:
        return Verdict(label, "incorrect", "the rows have different lengths")
    if shape != (rows, cols):
        message = f"the answer is {shape[0]}×{shape[1]} but the reference is {rows}×{cols}"
        return Verdict(label, "incorrect", message, counterexample=Counterexample(answer_shape=shape))
    wrong = [
        (i, j, float(answer[i][j]), float(reference[i, j]))
        for i in range(rows)
        for j in range(cols)
        if not abs(float(answer[i][j]) - float(reference[i, j])) <= tol
    ]
    if not wrong:
        return Verdict(label, "correct", f"all {rows}×{cols} entries within {tol:g} of the reference", score=1.0)
    i, j, got, want = wrong[0]
    diagnosis = _array_diagnosis(answer, reference, tol, ask.hide)
    message = f"{len(wrong)} of {rows * cols} entries differ by more than {tol:g}; "
    message += f"the first, [{i + 1}, {j + 1}], is {got:.6g}"
    message += "" if ask.hide else f" but the reference has {want:.6g}"
    counter = Counterexample(entry=(i + 1, j + 1), answer_value=got, reference_value=None if ask.hide else want)
    if diagnosis:
        message += f"; looks like {diagnosis}"
    return Verdict(label, "incorrect", message, counterexample=counter, diagnosis=diagnosis)


def _array_diagnosis(answer: list, reference: sp.ImmutableDenseMatrix, tol: float, hide: bool) -> str | None:
    """The whole-array slip (sign, factor 2) the answer matches within the tolerance."""
    for m in scale_mutations(reference):
        scaled = sp.ImmutableMatrix(m.expr.doit())
        if all(
            abs(float(a) - float(b)) <= tol
            for row, ref in zip(answer, scaled.tolist(), strict=True)
            for a, b in zip(row, ref, strict=True)
        ):
            return m.hint if hide else m.detail
    return None


def typeset_table(problem: Problem, answer: Any, verdict: Verdict) -> None:
    if not isinstance(answer, Mapping):
        return
    for name, entry in verdict.entries.items():
        if entry.verdict != "unparsed" and isinstance(answer.get(name), str):
            entry.answer_latex = latex_of(problem, answer[name])


def table_skeleton(problem: Problem) -> list[str]:
    """An empty answer per entry."""
    return [*symbols_and_table(problem), *(f"{toml_key(e)} = ''" for e in problem.entries)]


TABLE = AnswerKind("table", judge_table, typeset_table, warm_entries, takes_table=True, skeleton=table_skeleton)

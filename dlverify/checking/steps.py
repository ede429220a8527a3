"""Derivations judged line by line (answers-format.md, "Derivations, step by step").

Each equation line is judged as an answer whose reference is the truth of its left side: the
asked quantity (the item's reference), a quantity of the setup (its definition), or a derivative
symbol (what the setup's chain rule gives, ``derivations.chain``) — never anything the student
wrote.  Derivative symbols are allowed on every line; the last right-hand side is the answer and
is judged as ``answer`` would be.  The first line that does not hold is the verdict's ``step``,
with that line's counterexample and whether it follows from the line before.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Mapping
from typing import Any

from dlverify.checking.derivation_lines import Line, LinesError, position, split
from dlverify.checking.kinds import STEP_KINDS, Ask, answer_kind
from dlverify.checking.parse import ParseError
from dlverify.checking.reading import derivation_lines, derivative_verdict, derivatives_in, to_sympy
from dlverify.checking.verdict import LineVerdict, Verdict
from dlverify.problem import Problem


def _against(problem: Problem, text: str, reference: Any, ask: Ask) -> Verdict:
    """``text`` judged by the item's kind against ``reference`` instead of the item's result."""
    if problem.kind == "matrix":
        from dlverify.checking.matrices import judge_matrix

        return judge_matrix(problem, text, ask, reference=reference)
    from dlverify.checking.expressions import judge_expression

    return judge_expression(problem, text, ask, reference=reference)


def _line_ask(ask: Ask, number: int) -> Ask:
    return Ask(f"{ask.label} line {number}", random.Random(f"{ask.rng.random()}:{number}"), ask.hide, None)


def judge_steps(problem: Problem, answer: Mapping[str, Any], ask: Ask) -> Verdict:
    """The verdict on a derivation, and on each of its lines."""
    with derivation_lines():
        return _judge_steps(problem, answer, ask)


def _judge_steps(problem: Problem, answer: Mapping[str, Any], ask: Ask) -> Verdict:
    label = ask.label
    if problem.kind not in STEP_KINDS:
        return Verdict(label, "unsupported", f"a {problem.kind} item is answered by its result, not a derivation")
    text = answer.get("steps")
    if not isinstance(text, str):
        return Verdict(label, "unparsed", f"steps must be text, got {type(text).__name__}")
    try:
        lines = split(text)
    except LinesError as exc:
        row, column = position(text, exc.offset)
        return Verdict(label, "unparsed", f"{exc.reason} (line {row}, column {column})")
    records: list[LineVerdict] = []
    previous_rhs: Any = None
    for line in lines:
        line_ask = _line_ask(ask, line.number)
        try:
            truth, unknown = to_sympy(line.lhs.text, problem)
        except ParseError as exc:
            return _unparsed(label, text, line.lhs.offset, exc, records, line)
        try:
            rhs_value = to_sympy(line.rhs.text, problem)[0]
        except ParseError as exc:
            return _unparsed(label, text, line.rhs.offset, exc, records, line)
        free = _free_index_letters(problem, unknown, line)
        if free:
            verdict = _for_every(problem, line, free, line_ask)
            unknown = {}
        elif unknown:
            names = ", ".join(unknown)
            verdict = Verdict(
                line_ask.label, "incorrect", f"its left side uses what the setup does not define: {names}"
            )
        elif not free:
            verdict = _against(problem, line.rhs.text, truth, line_ask)
        holds = verdict.verdict == "correct"
        records.append(LineVerdict(line.number, line.row, line.source, holds, "" if holds else verdict.said()))
        if not holds:
            if verdict.verdict in ("unsupported", "error", "timeout"):
                message = f"line {line.number} (row {line.row}): {verdict.said()}"
                return Verdict(label, verdict.verdict, message, step=line.number, lines=tuple(records))
            follows = previous_rhs is not None and _against(problem, line.rhs.text, previous_rhs, line_ask).ok
            if follows:
                why = "its right side equals the line before's, so its left side is not what that line found"
            elif line.number > 1:
                why = "it does not follow from the line before (a slip in this step)"
            else:
                why = "the first line is already wrong"
            message = f"line {line.number} (row {line.row}: {line.source}) does not hold: {why}; {verdict.said()}"
            counter = verdict.counterexample
            return Verdict(label, "incorrect", message, counterexample=counter, step=line.number, lines=tuple(records))
        previous_rhs = rhs_value
    result = _final(problem, lines[-1], answer, ask)
    if result.verdict == "correct":
        message = f"every line holds ({len(lines)}), and the result: {result.message}"
        return Verdict(label, "correct", message, score=1.0, lines=tuple(records))
    message = f"every line holds, but the result is not what the item asks: {result.said()}"
    verdict = result.verdict if result.verdict != "correct" else "incorrect"
    return Verdict(label, verdict, message, counterexample=result.counterexample, lines=tuple(records))


def _free_index_letters(problem: Problem, unknown: dict[str, int], line: Line) -> list[str]:
    """The single letters a line uses that the item does not define, where each is only a step index
    (∂h_k/∂h_{k−1} = …: a statement for every k); none if anything else is unknown."""
    import re

    letters = []
    for name in unknown:
        found = re.fullmatch(r".*?_\{([a-z])(?:[+-]\d+)?\}.*", name) or re.fullmatch(r"([a-z])", name)
        if found is None:
            return []
        letters.append(found.group(1))
    defined = {s.name for s in problem.symbols}
    letters = sorted(set(letters) - defined)
    text = line.lhs.text + " " + line.rhs.text
    return letters if letters and all(re.search(rf"(?<![A-Za-z\\]){k}(?![A-Za-z])", text) for k in letters) else []


def _for_every(problem: Problem, line: Line, letters: list[str], ask: Ask) -> Verdict:
    """A line with a free step index holds when it holds at every value tried: each of the item's step
    symbols (T, t, …) and one past it, as the index."""
    from dlverify.checking.reading import free_indices

    objects = problem.derive().symbols
    # the time symbols first (T, t: the index of a sequence), then the sizes
    specs = sorted(problem.symbols, key=lambda s: s.name not in ("T", "t", "K"))
    steps = [objects[s.name] for s in specs if s.role in ("integer", "index") and s.name in objects]
    if not steps:
        return Verdict(ask.label, "incorrect", f"the line uses {', '.join(letters)}, which the item does not define")
    verdict = None
    for value in [*steps, *(v + 1 for v in steps[:1])]:
        with free_indices(dict.fromkeys(letters, value)):
            try:
                truth, unknown = to_sympy(line.lhs.text, problem)
            except ParseError as exc:
                return Verdict(ask.label, "unparsed", exc.reason)
            if unknown:
                names = ", ".join(unknown)
                return Verdict(ask.label, "incorrect", f"its left side uses what the setup does not define: {names}")
            verdict = _against(problem, line.rhs.text, truth, ask)
        if not verdict.ok:
            prefix = "at " + ", ".join(f"{k} = {value}" for k in letters) + ": "
            reference = verdict.reference
            if reference is not None:  # the quote keeps its place in what the judge said
                reference = dataclasses.replace(reference, at=reference.at + len(prefix))
            return dataclasses.replace(verdict, message=prefix + verdict.message, reference=reference)
    return verdict


def _final(problem: Problem, last: Line, answer: Mapping[str, Any], ask: Ask) -> Verdict:
    """The last right-hand side judged as ``answer`` would be; an ``answer`` beside it must agree."""
    kind = answer_kind(problem.kind)
    with derivation_lines(on=False):
        verdict = derivative_verdict(kind.judge(problem, last.rhs.text, ask), derivatives_in(last.rhs.text, problem))
        given = answer.get("answer")
        if given is None or verdict.verdict != "correct":
            return verdict
        stated = derivative_verdict(kind.judge(problem, given, ask), derivatives_in(given, problem))
        if stated.verdict != "correct":
            message = f"the answer beside the steps does not agree with their last line: {stated.said()}"
            return Verdict(ask.label, "incorrect", message)
    return verdict


def _unparsed(label: str, text: str, offset: int, exc: ParseError, records: list[LineVerdict], line: Line) -> Verdict:
    pos = offset + (exc.pos or 0)
    row, column = position(text, pos)
    message = f"line {line.number} (row {row}, column {column}): {exc.reason}"
    return Verdict(label, "unparsed", message, step=line.number, lines=tuple(records))


def reference_steps(problem: Problem) -> str:
    """The item's own derivation as a ``steps`` answer: each recorded step whose two sides the checker
    reads in the item's terms, as ``LHS = RHS`` in LaTeX, ending with the asked quantity = the result.
    Steps that name a quantity the answer language does not have (h_k for a general k) are left out."""
    from dlverify.notation import latex

    derivation = problem.derive()
    lines: list[str] = []
    with derivation_lines():
        for step in derivation.steps:
            if getattr(step, "lhs", None) is None or getattr(step, "rhs", None) is None:
                continue
            left, right = latex(step.lhs), latex(step.rhs)
            try:
                _, unknown_left = to_sympy(left, problem)
                _, unknown_right = to_sympy(right, problem)
            except ParseError:
                continue
            if not unknown_left and not unknown_right:
                lines.append(f"{left} = {right}")
    return "\n".join(dict.fromkeys(lines))

"""Table answers: one expression per named entry, each judged as an ``expr`` answer."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from dlverify.checking.expressions import judge_expression, warm_entries
from dlverify.checking.kinds import AnswerKind, Ask
from dlverify.checking.resolve import latex_of
from dlverify.checking.verdict import Verdict
from dlverify.problem import Problem


def judge_table(problem: Problem, answer: Any, ask: Ask) -> Verdict:
    if not isinstance(answer, Mapping):
        return Verdict(problem.id, "unparsed", f"a table item needs one key per entry: {', '.join(problem.entries)}")
    reference = problem.derive().entries()
    entries: dict[str, Verdict] = {}
    for name in problem.entries:
        label = f"{problem.id}[{name}]"
        if name not in answer:
            entries[name] = Verdict(label, "missing", f"entry {name} is not answered")
            continue
        entry_ask = Ask(label, random.Random(ask.rng.random()), ask.hide)
        entries[name] = judge_expression(problem, answer[name], entry_ask, reference[name])
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


def typeset_table(problem: Problem, answer: Any, verdict: Verdict) -> None:
    if not isinstance(answer, Mapping):
        return
    for name, entry in verdict.entries.items():
        if entry.verdict != "unparsed" and isinstance(answer.get(name), str):
            entry.answer_latex = latex_of(problem, answer[name])


TABLE = AnswerKind("table", judge_table, typeset_table, warm_entries)

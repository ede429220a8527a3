"""Judge one answer against the verified reference, in this process.

``judge`` is what a worker process runs (see pool.py, which adds the hard time limit).
It never raises: every outcome is a Verdict.  The random points are seeded from the id
and the answer text, so a regrade gives the same verdict.  What a kind of answer means is
its judge's business (kinds.py has the table); this module only finds the judge.
"""

from __future__ import annotations

import hashlib
import os
import random
from typing import Any

from dlverify import registry
from dlverify.checking.kinds import Ask, Report, answer_kind
from dlverify.checking.verdict import Verdict
from dlverify.problem import Problem


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
        kind = answer_kind(problem.kind)
        ask = Ask(problem_id, random.Random(seed_for(problem_id, answer)), hide_reference, report)
        verdict = kind.judge(problem, answer, ask)
        if verdict.verdict != "unparsed":
            kind.typeset(problem, answer, verdict)
        return verdict
    except Exception as exc:  # a checker bug must still give every item a verdict
        if os.environ.get("DLVERIFY_DEBUG"):
            raise
        return Verdict(
            problem_id, "incorrect", f"the checker failed on this answer ({type(exc).__name__}); please report it"
        )

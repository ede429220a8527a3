"""Judge one answer against the verified reference, in this process.

``judge`` is what a worker process runs (see pool.py, which adds the hard time limit).
It never raises: every outcome is a Verdict.  The random points are seeded from the id
and the answer text, so a regrade gives the same verdict.  What a kind of answer means is
its judge's business (kinds.py has the table); this module only finds the judge.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import random
import sys
from collections.abc import Mapping
from typing import Any

from dlverify import registry
from dlverify.checking.answers import one_line
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
            problem_id, "error", f"the checker failed on this answer ({type(exc).__name__}); please report it"
        )


MAX_ANSWER_CHARS = 20_000  # all the text of one item's answer (a table's entries together)
MAX_PARTS = 200  # entries of a table, options of a choice


def int_digit_limit(exc: BaseException) -> bool:
    """Whether ``exc`` is, or was caused by, Python's refusal to convert an integer of more than
    ``sys.get_int_max_str_digits()`` digits to or from text (a number too big to judge), rather than
    some other ValueError.  CPython raises a plain ValueError for it, told apart by how its message
    starts; a library may raise its own error from it, so the chain of causes is read too."""
    prefix = f"Exceeds the limit ({sys.get_int_max_str_digits()} digits) for integer string"
    seen: set[int] = set()
    found: BaseException | None = exc
    while found is not None and id(found) not in seen:
        if type(found) is ValueError and str(found).startswith(prefix):
            return True
        seen.add(id(found))
        found = found.__cause__ or found.__context__
    return False


def _size_problem(answer: Any) -> str | None:
    """Why an answer is too large to judge (None if it is not): limits before any parsing."""
    parts = answer.values() if isinstance(answer, Mapping) else answer if isinstance(answer, list) else [answer]
    parts = list(parts)
    if len(parts) > MAX_PARTS:
        return f"{len(parts)} parts; an answer has at most {MAX_PARTS}"
    total = sum(len(p) for p in parts if isinstance(p, str))
    total += sum(len(k) for k in answer if isinstance(k, str)) if isinstance(answer, Mapping) else 0
    total += sum(len(x) for p in parts if isinstance(p, list) for x in p if isinstance(x, str))
    if total > MAX_ANSWER_CHARS:
        return f"{total} characters; an answer has at most {MAX_ANSWER_CHARS}"
    return None


def _misplaced_keys(problem: Problem, answer: Any) -> str | None:
    """A table written where one value is expected: a misspelt 'answer', or keys beside it."""
    if answer_kind(problem.kind).takes_table or not isinstance(answer, Mapping):
        return None
    keys = sorted(map(str, answer))
    shown = ", ".join(repr(one_line(k, 40)) for k in keys[:5]) + (" …" if len(keys) > 5 else "")
    if "steps" in answer:
        others = [k for k in keys if k not in ("steps", "answer")]
        return f"unknown key(s) beside steps: {', '.join(repr(one_line(k, 40)) for k in others)}" if others else None
    if "answer" in answer:
        return f"unknown key(s) beside answer: {', '.join(repr(one_line(k, 40)) for k in keys if k != 'answer')}"
    close = difflib.get_close_matches("answer", keys, n=1)
    hint = f"; did you mean answer instead of {close[0]!r}?" if close else "; write answer = '…'"
    return f"no key 'answer' (found {shown}){hint}"


def judge_problem(problem: Problem, answer: Any, hide_reference: bool = False, report: Report | None = None) -> Verdict:
    """The verdict on ``answer`` for a problem description (registered or not)."""
    problem_id = problem.id
    try:
        too_large = _size_problem(answer)
        if too_large:
            return Verdict(problem_id, "unparsed", f"too large to judge: {too_large}")
        misplaced = _misplaced_keys(problem, answer)
        if misplaced:
            return Verdict(problem_id, "unparsed", misplaced)
        kind = answer_kind(problem.kind)
        ask = Ask(problem_id, random.Random(seed_for(problem_id, answer)), hide_reference, report)
        if isinstance(answer, Mapping) and "steps" in answer and not kind.takes_table:
            from dlverify.checking.steps import judge_steps

            verdict = judge_steps(problem, answer, ask)
        else:
            verdict = kind.judge(problem, answer, ask)
            if isinstance(answer, str):  # derivative symbols in a final answer: only those the item lists
                from dlverify.checking.reading import derivative_verdict, derivatives_in

                verdict = derivative_verdict(verdict, derivatives_in(answer, problem))
    except (OverflowError, RecursionError, MemoryError) as exc:  # numbers or nesting beyond any machine
        message = f"too large to evaluate ({type(exc).__name__}): a number or a nesting too big"
        return Verdict(problem_id, "unparsed", message)
    except ValueError as exc:
        if not int_digit_limit(exc):
            return _failure(problem_id, exc)
        return Verdict(problem_id, "unparsed", "too large to evaluate: a number with thousands of digits")
    except Exception as exc:  # a checker bug must still give every item a verdict — never the student's fault
        return _failure(problem_id, exc)
    if verdict.verdict != "unparsed":
        try:  # typesetting the answer is for the feedback document: it must not change the verdict
            kind.typeset(problem, answer, verdict)
        except Exception:
            verdict.answer_latex = None
    return verdict


def _failure(problem_id: str, exc: Exception) -> Verdict:
    if os.environ.get("DLVERIFY_DEBUG"):
        raise exc
    return Verdict(problem_id, "error", f"the checker failed on this answer ({type(exc).__name__}); please report it")

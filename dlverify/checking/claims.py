"""Claims: statements verified by measurement (``dlverify verify``), not answered."""

from __future__ import annotations

from typing import Any

from dlverify.checking.kinds import AnswerKind, Ask
from dlverify.checking.verdict import Verdict
from dlverify.problem import Problem


def judge_claim(problem: Problem, answer: Any, ask: Ask) -> Verdict:
    return Verdict(ask.label, "unsupported", "a numeric claim: derived and verified (dlverify verify), not answered")


def claim_skeleton(problem: Problem) -> list[str]:
    """Nothing to answer: the skeleton says so instead of an empty answer."""
    return [f"# a numeric claim, derived and verified (dlverify verify {problem.id}), not answered"]


CLAIM = AnswerKind("claim", judge_claim, checkable=False, skeleton=claim_skeleton, noun="a numeric claim")

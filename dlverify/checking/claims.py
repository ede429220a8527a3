"""Claims: statements verified by measurement (``dlverify verify``), not answered."""

from __future__ import annotations

from typing import Any

from dlverify.checking.kinds import AnswerKind, Ask
from dlverify.checking.verdict import Verdict
from dlverify.problem import Problem


def judge_claim(problem: Problem, answer: Any, ask: Ask) -> Verdict:
    return Verdict(ask.label, "unsupported", "a numeric claim: derived and verified (dlverify verify), not answered")


CLAIM = AnswerKind("claim", judge_claim, checkable=False)

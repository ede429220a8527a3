"""The answer kinds: one row each, from a kind's name to the object that judges it.

A kind is judged by one module that exports an ``AnswerKind``: how it reads and compares an
answer (``judge``, which also diagnoses), how it typesets what it read (``typeset``) and
what a worker prepares before the first answer arrives (``warm``).  Every judge has the
same signature, ``judge(problem, answer, ask) -> Verdict``.  Adding a kind means adding its
module and its row in ``KIND_MODULES``; the table is plain text so that listing the catalog
(which validates each description's kind) imports none of the judges.
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dlverify.checking.verdict import Verdict
    from dlverify.problem import Problem

KIND_MODULES: dict[str, str] = {
    "expr": "dlverify.checking.expressions:EXPR",
    "indexed": "dlverify.checking.expressions:INDEXED",
    "matrix": "dlverify.checking.matrices:MATRIX",
    "table": "dlverify.checking.tables:TABLE",
    "shape": "dlverify.checking.shapes:SHAPE",
    "number": "dlverify.checking.choices:NUMBER",
    "choice": "dlverify.checking.choices:CHOICE",
    "bigO": "dlverify.checking.bigo:BIGO",
    "trace": "dlverify.checking.traces:TRACE",
    "claim": "dlverify.checking.claims:CLAIM",
}

Report = Callable[["Verdict"], None]


@dataclass(frozen=True)
class Ask:
    """What a judge needs beside the problem and the answer.

    ``label`` names the item in messages (an id, or ``id[entry]`` inside a table); ``rng``
    draws the random points, seeded from the id and the answer so that a regrade agrees;
    ``hide`` keeps the reference out of messages; ``report`` receives a provisional verdict
    before a slow last step (the symbolic check), so a time limit does not lose it."""

    label: str
    rng: random.Random
    hide: bool = False
    report: Report | None = None


def _nothing(*_: Any) -> None:
    return None


@dataclass(frozen=True)
class AnswerKind:
    """How answers of one kind are read, compared, typeset and prepared for."""

    name: str
    judge: Callable[[Problem, Any, Ask], Verdict]
    typeset: Callable[[Problem, Any, Verdict], None] = _nothing  # sets verdict.answer_latex
    warm: Callable[[Problem], None] = _nothing  # what a worker computes once, before any answer
    checkable: bool = True  # False for a claim: verified, not answered


@cache
def answer_kind(name: str) -> AnswerKind:
    """The kind's judge, imported on first use."""
    module, attribute = KIND_MODULES[name].split(":")
    kind = getattr(importlib.import_module(module), attribute)
    if kind.name != name:
        raise ValueError(f"{KIND_MODULES[name]} judges {kind.name!r}, not {name!r}")
    return kind


def checkable_kinds() -> tuple[str, ...]:
    """The kinds whose answers the checker judges."""
    return tuple(name for name in KIND_MODULES if answer_kind(name).checkable)

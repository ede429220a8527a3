"""The answer kinds: one row each, from a kind's name to the object that judges it.

A kind is judged by one module that exports an ``AnswerKind``: how it reads and compares an
answer (``judge``, which also diagnoses), how it typesets what it read (``typeset``),
what a worker prepares before the first answer arrives (``warm``), and what the command line
and the tests ask of a kind: the answer file's skeleton for an item (``skeleton``), whether an
answer is a table of entries (``takes_table``) and whether it is answered at all
(``checkable``).  Every judge has the same signature, ``judge(problem, answer, ask) -> Verdict``.
Adding a kind means adding its module and its row in ``KIND_MODULES``; the table is plain text
so that listing the catalog (which validates each description's kind) imports none of the judges.
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

# The kinds an answer may give as a derivation (``steps``): an expression, a matrix, an element formula.
STEP_KINDS = ("expr", "matrix", "indexed")


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


def toml_key(name: str) -> str:
    """``name`` as a TOML quoted key: an id from a course's file may hold quotes, backslashes or
    newlines, which must not end the key early (the template must stay valid TOML).  A key TOML
    allows bare (letters, digits, _ and -) stays bare, as a student would write it."""
    if name and all(ch.isascii() and (ch.isalnum() or ch in "_-") for ch in name):
        return name
    escaped = []
    for ch in name:
        if ch in '"\\':
            escaped.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            escaped.append(f"\\u{ord(ch):04x}")
        else:
            escaped.append(ch)
    return '"' + "".join(escaped) + '"'


def comment(text: str, width: int = 0) -> list[str]:
    """``text`` as TOML comment lines, wrapped at ``width`` (0: one line).  A title or statement from
    a course's file may hold newlines: each line stays a comment."""
    import textwrap

    from dlverify.checking.answers import one_line

    text = one_line(" ".join(text.split()))
    return ["# " + line for line in (textwrap.wrap(text, width) if width else [text])]


def symbols_and_table(problem: Problem) -> list[str]:
    """The skeleton's common part: a comment per symbol (its meaning and spellings), then the item's
    table header."""
    lines = []
    for s in problem.symbols:
        spellings = ", ".join(dict.fromkeys((s.name, s.latex, *s.spellings)))
        fixed = f" = {s.value:g}" if s.value is not None else ""
        lines.append("#   " + comment(f"{s.name}{fixed}: {s.meaning} — write {spellings}")[0][2:])
    return [*lines, f"[{toml_key(problem.id)}]"]


def one_answer(problem: Problem) -> list[str]:
    """The skeleton of an item answered by one text."""
    return [*symbols_and_table(problem), "answer = ''"]


@dataclass(frozen=True)
class AnswerKind:
    """How answers of one kind are read, compared, typeset and prepared for, and what the command
    line and the tests ask of the kind."""

    name: str
    judge: Callable[[Problem, Any, Ask], Verdict]
    typeset: Callable[[Problem, Any, Verdict], None] = _nothing  # sets verdict.answer_latex
    warm: Callable[[Problem], None] = _nothing  # what a worker computes once, before any answer
    checkable: bool = True  # False for a claim: verified, not answered
    takes_table: bool = False  # an answer is a table of entries, not one value under ``answer``
    # the answer file's lines for one item, after its title and statement (``dlverify template``)
    skeleton: Callable[[Problem], list[str]] = one_answer
    # what messages call an item of the kind that is not checkable ("a numeric claim")
    noun: str = ""


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

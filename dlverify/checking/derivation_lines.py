"""A derivation's text split into its equation lines (answers-format.md, "Derivations, step by
step"): one equation a line, ``LHS = RHS`` or ``= RHS`` continuing the previous left side.

Pasted LaTeX alignment is layout, not mathematics: ``\\begin{align*}`` … ``\\end{align*}`` (and
the other display environments), ``&=`` and ``&``, a trailing ``\\\\``, ``\\nonumber``, ``\\notag``
and a ``%`` comment (not ``\\%``) are dropped; blank lines are skipped.  Each part keeps the
offset of its first character in the original text, so an error points at the student's line
and column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_LINES = 60

_ENVIRONMENTS = re.compile(r"\\(begin|end)\{(align|aligned|equation|eqnarray|gather|multline|split)\*?\}")
_LAYOUT = re.compile(r"\\(nonumber|notag)(?![A-Za-z])|\\\\\s*$")
_COMMENT = re.compile(r"(?<!\\)%.*$")


class LinesError(ValueError):
    """The derivation's layout cannot be read; ``offset`` is into the original text."""

    def __init__(self, reason: str, offset: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.offset = offset


@dataclass(frozen=True)
class Part:
    """A piece of a line, the offset of its first character in the whole text."""

    text: str
    offset: int


@dataclass(frozen=True)
class Line:
    """One equation: its left side (the previous line's, for a continuation) and right side."""

    number: int  # 1-based among the equation lines
    lhs: Part
    rhs: Part
    continued: bool  # written as "= RHS"
    row: int  # the line of the text, 1-based
    source: str  # the line as written, for display


def position(text: str, offset: int) -> tuple[int, int]:
    """(line, column), both 1-based, of an offset into ``text``."""
    before = text[:offset]
    return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1


def _blank(text: str, pattern: re.Pattern[str]) -> str:
    """Matches replaced by spaces, so every offset stays where it was."""
    return pattern.sub(lambda m: " " * len(m.group(0)), text)


def _top_level_equals(text: str) -> list[int]:
    """Offsets of each ``=`` outside braces, brackets and parentheses that is not part of
    <=, >=, != or ==."""
    out, depth = [], 0
    for k, ch in enumerate(text):
        if ch in "({[":
            depth += 1
        elif ch in ")}]":
            depth -= 1
        elif ch == "=" and depth == 0:
            before = text[k - 1] if k else " "
            after = text[k + 1] if k + 1 < len(text) else " "
            if before not in "<>!=" and after != "=":
                out.append(k)
    return out


def split(text: str) -> list[Line]:
    """The equation lines of a derivation; raises LinesError where the layout cannot be read."""
    if not isinstance(text, str):
        raise LinesError(f"expected the derivation as text, got {type(text).__name__}", 0)
    lines: list[Line] = []
    offset = 0
    lhs: Part | None = None
    for row, raw in enumerate(text.split("\n"), start=1):
        start = offset
        offset += len(raw) + 1
        cleaned = _blank(_blank(_blank(raw, _COMMENT), _ENVIRONMENTS), _LAYOUT).replace("&", " ")
        if not cleaned.strip():
            continue
        cuts = _top_level_equals(cleaned)
        lead = len(cleaned) - len(cleaned.lstrip())
        if not cuts:
            raise LinesError("a line of a derivation is an equation: LHS = RHS, or = RHS to continue", start + lead)
        pieces, begin = [], 0
        for cut in [*cuts, len(cleaned)]:
            pieces.append(Part(cleaned[begin:cut], start + begin))
            begin = cut + 1
        first, *rights = pieces
        continued = not first.text.strip()
        if continued:
            if lhs is None:
                raise LinesError("the first line has no left side: write LHS = RHS", start + lead)
        else:
            lhs = Part(first.text.strip(), first.offset + len(first.text) - len(first.text.lstrip()))
        for k, right in enumerate(rights):
            if not right.text.strip():
                raise LinesError("an equation needs a right side after =", right.offset)
            stripped = Part(right.text.strip(), right.offset + len(right.text) - len(right.text.lstrip()))
            lines.append(Line(len(lines) + 1, lhs, stripped, continued or k > 0, row, raw.strip()))
            if len(lines) > MAX_LINES:
                raise LinesError(f"a derivation of more than {MAX_LINES} equations is too long to check", right.offset)
    if not lines:
        raise LinesError("the derivation has no equation", 0)
    return lines

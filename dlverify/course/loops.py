"""Loops of the forward statements, ``for t in 1..T:``, written out step by step before they are read."""

from __future__ import annotations

import re
from collections.abc import Iterator

from dlverify.course.errors import Where
from dlverify.course.limits import MAX_STEPS

LOOP = re.compile(r"^for\s+([A-Za-z])\s+in\s+(\d+)\s*\.\.\s*(\d+)\s*:\s*(.*)$")


def step_range(m: re.Match) -> tuple[int, int]:
    """A loop's first and last step; ValueError (in words) unless 0 ≤ first ≤ last ≤ MAX_STEPS."""
    lo, hi = m.group(2), m.group(3)
    if len(lo) > 3 or len(hi) > 3 or not int(lo) <= int(hi) <= MAX_STEPS:  # no int() of a thousand digits
        shown = f"{lo[:8]}{'…' if len(lo) > 8 else ''}..{hi[:8]}{'…' if len(hi) > 8 else ''}"
        raise ValueError(f"a loop runs over steps a..b with 0 ≤ a ≤ b ≤ {MAX_STEPS}, not {shown}")
    return int(lo), int(hi)


def loop_bound(forward: str) -> int:
    """The largest time step any loop of the statements reaches (0 without a loop); ValueError for a
    loop outside 0..MAX_STEPS."""
    bounds = [step_range(m)[1] for line in forward.splitlines() if (m := LOOP.match(line.strip()))]
    return max(bounds, default=0)


def unrolled(forward: str, first: int, where: Where) -> Iterator[tuple[int, str]]:
    """The statements with every ``for t in 1..T:`` loop written out, each with its line in the file:
    ``h_t = tanh(W h_{t-1} + U x_t)`` for t = 2 becomes ``h_2 = tanh(W h_{1} + U x_{2})``.  A loop's
    body is the rest of its line, or the indented lines under it.  Lazily: the caller stops at
    MAX_STATEMENTS, before a long loop is written out."""
    lines = forward.splitlines()
    k = 0
    while k < len(lines):
        at, line = first + k, lines[k]
        m = LOOP.match(line.strip())
        if m is None:
            yield at, line
            k += 1
            continue
        try:
            lo, hi = step_range(m)
        except ValueError as exc:
            raise where.error("forward", str(exc), at, 1) from None
        var, rest = m.group(1), m.group(4)
        body = [(at, rest)] if rest.strip() else []
        k += 1
        while not rest.strip() and k < len(lines) and lines[k][:1] in (" ", "\t") and lines[k].strip():
            body.append((first + k, lines[k].strip()))
            k += 1
        if not body:
            raise where.error("forward", "a loop needs a statement after its colon or indented under it", at, 1)
        for step in range(lo, hi + 1):
            for line_at, text in body:
                yield line_at, _at_step(text, var, step, where, line_at)


def _at_step(text: str, var: str, step: int, where: Where, line: int) -> str:
    """Every index that mentions the loop variable (_t, _{t-1}, [t-1]) evaluated at ``step``."""

    def value(index: str) -> str:
        expr = index.replace(" ", "")
        if not re.fullmatch(rf"[+-]?(\d{{1,3}}|{var})([+-](\d{{1,3}}|{var}))*", expr):  # small numbers only
            raise where.error("forward", f"an index such as {index!r:.40} may add or subtract whole numbers", line)
        total = sum(
            (-1 if sign == "-" else 1) * (step if token == var else int(token))
            for sign, token in re.findall(rf"([+-]?)(\d+|{var})", expr)
        )
        return f"_{{{total}}}"

    text = re.sub(
        r"_\{([^{}]*)\}",
        lambda m: value(m.group(1)) if re.search(rf"(?<![A-Za-z]){var}(?![A-Za-z])", m.group(1)) else m.group(0),
        text,
    )
    text = re.sub(
        r"\[([^\[\]]*)\]",
        lambda m: value(m.group(1)) if re.search(rf"(?<![A-Za-z]){var}(?![A-Za-z])", m.group(1)) else m.group(0),
        text,
    )
    return re.sub(rf"_{var}(?![A-Za-z0-9])", f"_{{{step}}}", text)

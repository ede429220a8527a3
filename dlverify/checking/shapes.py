"""Shape answers: ``\\mathbb{R}^{1\\times 5\\times 3}``, ``R^{1x5x3}``, ``1x5x3``, ``(1, 5, 3)``.

The wrapper and the separators between axes are found here (outside brackets);
each axis is then read by the ordinary answer parser, so an axis may be an expression
such as ``\\lfloor (H - K)/S \\rfloor + 1``.  Axes are compared one by one as expressions
over the sizes' domain.

Grouped shapes.  A Jacobian's shape is, by the catalog's layout rule (numerator layout), the
shape of its numerator followed by the shape of its denominator; an item whose derivation
knows the two operands gives their shapes in ``given``, in order, as ``"shape of f"``,
``"shape of x"`` entries.  For such an item parentheses (or brackets) around several axes group
an operand's shape: ``3 × (7 × 5)`` or ``(3, (7, 5))`` whose groups fall on the operands'
boundaries reads as the flat shape 3 × 7 × 5 (and the message says so), while a group that cuts
an operand's shape apart, ``(3 × 7) × 5``, is incorrect for that reason.  Braces are TeX's
invisible grouping and group nothing.  Elsewhere parentheses around axes are an expression, as
before: ``(7 × 5)`` is the one axis 35.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import sympy as sp

from dlverify.checking.kinds import AnswerKind, Ask
from dlverify.checking.parse import ParseError, check_text
from dlverify.checking.points import WIDE_DRAWS, beyond_literals, defined, draw, same, value_at
from dlverify.checking.reading import to_sympy
from dlverify.checking.verdict import Counterexample, Verdict
from dlverify.notation import unicode
from dlverify.problem import Problem

_WRAPPER = re.compile(r"^\s*(?:\\mathbb\s*\{\s*R\s*\}|\\R|\\mathbb\s*R|R|ℝ)\s*\^\s*")
POINTS = 12


def split_shape(text: str) -> list[tuple[str, int]]:
    """The axes of a shape as (text, offset) pairs; raises ParseError."""
    check_text(text)
    start = 0
    m = _WRAPPER.match(text)
    if m:
        start = m.end()
    body = text[start:]
    stripped = body.strip()
    lead = len(body) - len(body.lstrip())
    if len(stripped) >= 2 and stripped[0] in "({" and _closing(stripped) == len(stripped) - 1:
        start += lead + 1
        body = stripped[1:-1]
    elif m and not stripped.startswith("{"):
        pass  # R^m: the exponent is the single axis
    axes = _split_body(body, start)
    if len(axes) > 1 and not axes[-1][0].strip() and body.rstrip().endswith(","):
        axes.pop()  # (3,): a one-axis tuple written the Python way
    for piece, offset in axes:
        if not piece.strip():
            raise ParseError("an axis of the shape is empty", offset, text)
    return axes


def _split_body(body: str, start: int) -> list[tuple[str, int]]:
    """``body``'s pieces between separators outside brackets, with their offsets (``start`` is
    ``body``'s own offset in the answer)."""
    axes: list[tuple[str, int]] = []
    depth = 0
    piece_start = 0
    k = 0
    while k < len(body):
        ch = body[k]
        sep = 0
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif depth == 0:
            if body.startswith(r"\times", k) and not body[k + 6 : k + 7].isalpha():
                sep = 6
            elif ch in ",×":
                sep = 1
            elif ch == "x" and _standalone_x(body, k):
                sep = 1
        if sep:
            axes.append((body[piece_start:k], start + piece_start))
            piece_start = k + sep
            k += sep
            continue
        k += 1
    axes.append((body[piece_start:], start + piece_start))
    return axes


def _closing(text: str) -> int:
    depth = 0
    for k, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth == 0:
                return k
    return -1


def _standalone_x(body: str, k: int) -> bool:
    before = body[k - 1] if k > 0 else " "
    after = body[k + 1] if k + 1 < len(body) else " "
    return not (before.isalpha() or before in "_\\") and not (after.islower() or after == "_")


def parse_shape(text: str, problem: Problem) -> tuple[list[sp.Basic], dict[str, int]]:
    """The axes as SymPy expressions, and unknown names → position."""
    axes, unknown, _ = read_shape(text, problem)
    return axes, unknown


def read_shape(text: str, problem: Problem) -> tuple[list[sp.Basic], dict[str, int], list[tuple[int, int]]]:
    """The axes, unknown names → position, and the groups an item with operands reads: (first axis,
    one past the last) of each parenthesised run of axes, outermost first."""
    if operands(problem):
        pieces, groups = grouped_shape(text)
    else:
        pieces, groups = split_shape(text), []
    axes = []
    unknown: dict[str, int] = {}
    for piece, offset in pieces:
        try:
            value, missing = to_sympy(piece, problem)
        except ParseError as exc:
            pos = None if exc.pos is None else exc.pos + offset
            raise ParseError(exc.reason, pos, text) from None
        axes.append(value)
        unknown.update({name: pos + offset for name, pos in missing.items()})
    return axes, unknown, groups


def operands(problem: Problem) -> list[tuple[str, int]]:
    """(name, number of axes) of each operand whose shapes make up the item's reference, in order
    (``shape of f``, ``shape of x`` for ∂f/∂x); empty where the derivation gives none."""
    derivation = problem.derive()
    found = [(k, len(v)) for k, v in derivation.given.items() if k.startswith("shape of ")]
    return found if found and sum(n for _, n in found) == len(derivation.result) else []


_OPEN = re.compile(r"\\left\s*[(\[]|[(\[]")
_CLOSE = re.compile(r"(?:\\right\s*)?[)\]]$")


def grouped_shape(text: str) -> tuple[list[tuple[str, int]], list[tuple[int, int]]]:
    """The axes (text, offset) of a shape whose parenthesised runs of axes are groups, and the groups
    as (first axis, one past the last); raises ParseError."""
    pieces: list[tuple[str, int]] = []
    groups: list[tuple[int, int]] = []

    def visit(piece: str, offset: int) -> None:
        lead = len(piece) - len(piece.lstrip())
        body = piece.strip()
        opened = _OPEN.match(body)
        braced = body.startswith("{") and _closing(body) == len(body) - 1
        if (opened or braced) and _closing(body) == len(body) - 1:
            closed = _CLOSE.search(body)
            inner_start = opened.end() if opened else 1
            inner_end = closed.start() if opened and closed else len(body) - 1
            inner = body[inner_start:inner_end]
            parts = _split_body(inner, offset + lead + inner_start)
            first = len(pieces)
            for part, at in parts:
                if not part.strip():
                    raise ParseError("an axis of the shape is empty", at, text)
                visit(part, at)  # one part: brackets around one axis (or around a group) change nothing
            if opened and len(pieces) - first > 1:  # several axes in one pair of brackets: a group
                groups.append((first, len(pieces)))
            return
        pieces.append((piece, offset))

    for piece, offset in split_shape(text):
        visit(piece, offset)
    return pieces, sorted(set(groups), key=lambda g: (g[0], -g[1]))  # ((7 × 5)) is one group


def _as_vector(axes: list[sp.Basic]) -> list[sp.Basic]:
    return axes[:1] if len(axes) == 2 and axes[1] == 1 else axes


def judge_shape(problem: Problem, answer: Any, ask: Ask) -> Verdict:
    label = ask.label
    if not isinstance(answer, str):
        return Verdict(label, "unparsed", "a shape is written as text, e.g. '1x5x3'")
    try:
        axes, unknown, groups = read_shape(answer, problem)
    except ParseError as exc:
        return Verdict(label, "unparsed", exc.pointer())
    if unknown:
        names = ", ".join(f"{n} (position {p + 1})" for n, p in unknown.items())
        return Verdict(label, "incorrect", f"uses symbols this item does not define: {names}")
    verdict = _judge_axes(problem, axes, ask)
    if not groups:
        return verdict
    return _judge_groups(problem, axes, groups, verdict, ask.hide)


def _judge_groups(
    problem: Problem, axes: list[sp.Basic], groups: list[tuple[int, int]], flat: Verdict, hide: bool
) -> Verdict:
    """The verdict on the flat axes, with the grouping judged against the operands' boundaries."""
    parts = operands(problem)
    layout = " × ".join(f"({name})" for name, _ in parts)
    bounds, ranges, at = {0}, [], 0
    for name, n in parts:
        ranges.append((name, at, at + n))
        at += n
        bounds.add(at)
    cut = [g for g in groups if g[0] not in bounds or g[1] not in bounds]
    read = " × ".join(unicode(a) for a in axes)
    if len(axes) != at:  # another number of axes: the grouping cannot be matched with the operands
        return replace(flat, message=f"{flat.message}; read as {read}")
    if not cut:
        return replace(flat, message=f"{flat.message}; read as {read}, {layout}")
    split = [name for name, lo, hi in ranges if any(lo < g[0] < hi or lo < g[1] < hi for g in cut)]
    message = f"grouped as {_grouping(axes, groups)}, which cuts the {' and the '.join(split)} apart: "
    message += f"the layout rule reads the shape as {layout}"
    if not hide:
        reference = list(problem.derive().result)
        message += f", grouped {_grouping(reference, [(lo, hi) for _, lo, hi in ranges if hi - lo > 1])}"
    if not flat.ok:
        message += f"; read flat, {flat.message}"
    return replace(flat, verdict="incorrect", message=message, score=0.0, diagnosis="grouped across the operands")


def _grouping(axes: list[sp.Basic], groups: list[tuple[int, int]]) -> str:
    """``3 × (7 × 5)``: the axes with their groups' parentheses."""
    words = []
    for k, a in enumerate(axes):
        opened = "(" * sum(1 for g in groups if g[0] == k)
        closed = ")" * sum(1 for g in groups if g[1] == k + 1)
        words.append(f"{opened}{unicode(a)}{closed}")
    return " × ".join(words)


def _judge_axes(problem: Problem, axes: list[sp.Basic], ask: Ask) -> Verdict:
    label, rng, hide = ask.label, ask.rng, ask.hide
    reference = list(problem.derive().result)
    if len(_as_vector(reference)) == 1:  # a vector: R^m, m and m×1 are one shape
        axes, reference = _as_vector(axes), _as_vector(reference)
    shown = "(hidden)" if hide else _fmt(reference)
    counter = Counterexample(
        answer_shape=_fmt(axes), reference_axes=len(reference), reference_shape=None if hide else _fmt(reference)
    )
    if len(axes) != len(reference):
        msg = f"the answer has {len(axes)} axes but the shape has {len(reference)}"
        return Verdict(label, "incorrect", msg + ("" if hide else f": {shown}"), counterexample=counter)
    # two wide draws take the sizes past the small box and past every number the answer writes, so that
    # F + (S−1)(S−2)(S−3)(S−4) is not the number of filters
    beyond = max((beyond_literals(a) for a in axes), default=0)
    points = [draw(problem, rng, wide=k in WIDE_DRAWS, beyond=beyond) for k in range(POINTS)]
    wrong = [k for k, (a, r) in enumerate(zip(axes, reference, strict=True)) if not _equal(a, r, points)]
    if not wrong:
        return Verdict(label, "correct", f"shape {_fmt(axes)} matches axis by axis", score=1.0)
    if sorted(map(sp.srepr, axes)) == sorted(map(sp.srepr, reference)) or _permutation(axes, reference, points):
        msg = f"the axes are in the wrong order: {_fmt(axes)}"
        msg += "" if hide else f" but the reference is {shown}"
        if problem.answer.hint:
            msg += f"; {problem.answer.hint}"
        return Verdict(label, "incorrect", msg, counterexample=counter, diagnosis="axes in the wrong order")
    k = wrong[0]
    msg = f"axis {k + 1} of {len(reference)} differs"
    witness = _witness(axes[k], reference[k], points)
    if witness is not None:
        point, got, want = witness
        at = point.shown(axes[k].free_symbols | reference[k].free_symbols)
        counter = replace(counter, axis=k + 1, at=at, answer_value=str(got), reference_value=str(want))
        where = ", ".join(f"{a} = {b}" for a, b in at.items())
        msg += f": {'at ' + where + ' ' if where else ''}the answer gives {got}, the reference {want}"
    if not hide:
        msg += f" (reference shape {shown})"
    return Verdict(label, "incorrect", msg, counterexample=counter)


def _equal(a: sp.Basic, b: sp.Basic, points) -> bool:
    return _witness(a, b, points) is None


def _witness(a: sp.Basic, b: sp.Basic, points):
    for p in points:
        want = value_at(b, p)
        if not defined(want):
            continue
        got = value_at(a, p)
        if not defined(got) or not same(got, want):
            return p, got, want
    return None


def _permutation(axes, reference, points) -> bool:
    remaining = list(reference)
    for a in axes:
        match = next((r for r in remaining if _equal(a, r, points)), None)
        if match is None:
            return False
        remaining.remove(match)
    return True


def _fmt(axes: list[sp.Basic]) -> str:
    return "(" + ", ".join(unicode(a) for a in axes) + ")"


def typeset_shape(problem: Problem, answer: Any, verdict: Verdict) -> None:
    from dlverify import notation

    if not isinstance(answer, str):
        return
    try:
        axes, _ = parse_shape(answer, problem)
    except ParseError:
        return
    verdict.answer_latex = r" \times ".join(notation.latex(a) for a in axes)


SHAPE = AnswerKind("shape", judge_shape, typeset_shape)

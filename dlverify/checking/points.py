"""Random points from each symbol's domain, and exact evaluation of answers there.

Real symbols get small random rationals, so polynomial and rational answers are
compared *exactly* (no tolerance: 2^-99 and 2^-98 differ); integer sizes get integers
within their declared bounds (t ≤ T), sequences u_k a value per index.  Answers with
transcendental functions are compared in 50-digit arithmetic.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from fractions import Fraction

import sympy as sp

from dlverify.problem import Problem

MAX_SIZE = 8  # integer sizes are drawn from [lower bound, MAX_SIZE]
MAX_TERMS = 5000  # a sum or product longer than this at a point is refused
DIGITS = 50
TOLERANCE = sp.Float("1e-30", DIGITS)


class TooLong(ValueError):
    """A sum or product with too many terms to expand at a point."""


@dataclass
class Point:
    """Values for every symbol of a problem; sequence entries are drawn on demand."""

    values: dict[sp.Basic, sp.Basic]
    rng: random.Random
    sequence_values: dict[sp.Basic, sp.Basic]

    def entry(self, indexed: sp.Indexed) -> sp.Basic:
        if indexed not in self.sequence_values:
            self.sequence_values[indexed] = _rational(self.rng)
        return self.sequence_values[indexed]

    def shown(self, used: set[sp.Basic]) -> dict[str, str]:
        """The point as text, restricted to the symbols an expression uses."""
        out = {}
        for sym, val in self.values.items():
            if sym in used:
                out[str(sym)] = str(val)
        for idx, val in sorted(self.sequence_values.items(), key=str):
            if idx.base in used or idx in used:
                out[str(idx)] = str(val)
        return out


def _rational(rng: random.Random, positive: bool = False) -> sp.Rational:
    num = rng.choice([k for k in range(-9, 10) if k != 0])
    den = rng.choice([1, 2, 3, 4, 5, 7])
    f = Fraction(abs(num) if positive else num, den)
    return sp.Rational(f.numerator, f.denominator)


def draw(problem: Problem, rng: random.Random) -> Point:
    objects = problem.derive().symbols
    values: dict[sp.Basic, sp.Basic] = {}
    pending = [s for s in problem.symbols if s.kind == "integer"]
    # Integer symbols may be bounded by others (t ≤ T): resolve in dependency order.
    for _ in range(len(pending) + 1):
        for spec in list(pending):
            lo_name, hi_name = spec.bounds or ("1", "")
            lo = _bound(lo_name, objects, values)
            hi = _bound(hi_name, objects, values) if hi_name else MAX_SIZE
            if lo is None or hi is None:
                continue
            values[objects[spec.name]] = sp.Integer(rng.randint(int(lo), max(int(lo), int(hi))))
            pending.remove(spec)
    for spec in problem.symbols:
        if spec.kind == "real" and spec.name in objects and spec.value is None:
            values[objects[spec.name]] = _rational(rng, positive="positive" in spec.assumptions)
    return Point(values, rng, {})


def _bound(name: str, objects, values) -> int | None:
    if name.lstrip("-").isdigit():
        return int(name)
    obj = objects.get(name)
    return int(values[obj]) if obj in values else None


def substitute_definitions(expr: sp.Basic, definitions: dict[sp.Basic, sp.Basic]) -> sp.Basic:
    for _ in range(5):  # definitions may refer to other defined symbols
        new = expr.xreplace(definitions)
        if new == expr:
            break
        expr = new
    return expr


def evaluate(expr: sp.Basic, point: Point) -> sp.Basic:
    """The exact (or 50-digit) value of ``expr`` at ``point``; NaN where undefined."""
    # subs, not xreplace: a sum's own index (the t of Σ_t) must stay bound.
    integers = {s: v for s, v in point.values.items() if v.is_Integer and s in expr.free_symbols}
    e = expr.subs(integers) if integers else expr
    for big in e.atoms(sp.Sum, sp.Product):
        for _, lo, hi in big.limits:
            span = hi - lo
            if span.is_number and span > MAX_TERMS:
                raise TooLong(f"a sum or product with {span} terms cannot be checked")
    e = e.doit()
    e = e.xreplace({idx: point.entry(idx) for idx in e.atoms(sp.Indexed)})
    e = e.xreplace(point.values)
    if e.is_Rational:
        return e
    try:
        return sp.N(e, DIGITS)
    except (TypeError, ValueError, ZeroDivisionError):
        return sp.nan


def defined(value: sp.Basic) -> bool:
    return bool(value.is_number) and value.is_finite is not False and value is not sp.nan and value.is_real is not False


def same(a: sp.Basic, b: sp.Basic) -> bool:
    if a.is_Rational and b.is_Rational:
        return a == b
    scale = max(sp.Integer(1), abs(a), abs(b))
    return bool(abs(a - b) <= TOLERANCE * scale)

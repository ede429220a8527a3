"""Random points from each symbol's domain, and exact evaluation of answers there.

Real symbols get random rationals n/q with q a random prime in [10^6, 10^7], so polynomial and
rational answers are compared *exactly* (no tolerance: 2^-99 and 2^-98 differ), yet no
multiplier an answer can afford makes them integers: with small denominators (q ≤ 7) 420w
would be one, and sin(420πw) or 420w − ⌊420w⌋ would pass for 0.  Integer sizes get integers
within their declared bounds (t ≤ T), sequences u_k a value per index.  Answers with
transcendental functions are compared in 50-digit arithmetic, *relatively* (``same``): w³ + e^-100
is not w³.

Evaluation has two routes.  The fast one compiles the SymPy tree (never the answer
text: every name in it is a declared symbol or a bound index, and ``dummify`` renames
them all) into Python over ``fractions.Fraction``; it is used only when its result is
an exact rational, so it can never make a comparison inexact.  Anything else takes the
slow route: SymPy substitution, ``doit`` and 50-digit ``evalf``.
"""

from __future__ import annotations

import ast
import math
import operator
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache

import sympy as sp
from sympy.printing.pycode import PythonCodePrinter

from dlverify.matrix_eval import MAX_TERMS, TooLong
from dlverify.problem import Assumption, Problem

MAX_SIZE = 8  # integer sizes are drawn from [lower bound, MAX_SIZE]
# A wide draw takes sizes up to WIDE_SIZE (from the top half of the range), past a size's numeric upper
# bound too: an answer off by a polynomial in T that vanishes on the small box, (T-1)(T-2)…(T-8) u_1,
# is wrong at T > 8.  Exact arithmetic keeps such points cheap; a descending σ_i stays positive (and
# above λ's range, so λ < σ_k²) for i ≤ 52.
WIDE_SIZE = 40
WIDE_DRAWS = frozenset({5, 10})  # which of an expression item's draws are wide (by their number)
DIGITS = 50
WORKING = DIGITS + 10  # digits of the comparison's own arithmetic: its rounding is negligible
# Two 50-digit values are the same when they agree to 45 significant digits: 5 digits of slack for
# evalf's rounding, which is not certified to the last digit.  No absolute floor (there was one of
# 1e-30): w³ + e^-100 (e^-100 ≈ 3.7e-44) differs from w³ wherever |w³| < 37.
RELATIVE = sp.Float(10, WORKING) ** (5 - DIGITS)
DENOMINATORS = (10**6, 10**7)  # the range a real's prime denominator is drawn from


@dataclass
class Point:
    """Values for every symbol of a problem; sequence entries are drawn on demand."""

    values: dict[sp.Basic, sp.Basic]
    rng: random.Random
    sequence_values: dict[tuple[str, tuple[int, ...]], sp.Rational]
    structure: dict[str, tuple[Assumption | str, ...]] = field(default_factory=dict)  # a sequence's assumptions

    def entry(self, base: sp.Basic, k) -> sp.Rational:
        """u_k, or the entry x[n, c] of a tensor (k a tuple): drawn once, then reused."""
        index = tuple(int(i) for i in k) if isinstance(k, tuple) else (int(k),)
        key = (str(base), index)
        if key not in self.sequence_values:
            assumptions = self.structure.get(str(base), ())
            if Assumption.DESCENDING in assumptions and len(index) == 1:
                # σ_1 > σ_2 > … > 0: steps of 1/4 plus a jitter below 1/8, positive up to index 64
                q = _prime(self.rng)
                jitter = sp.Rational(self.rng.randint(1, q // 8), q)
                self.sequence_values[key] = sp.Rational(65 - index[0], 4) + jitter
            else:
                self.sequence_values[key] = _rational(self.rng, positive=Assumption.POSITIVE in assumptions)
        return self.sequence_values[key]

    def shown(self, used: set[sp.Basic]) -> dict[str, str]:
        """The point as text, restricted to the symbols an expression uses."""
        from dlverify.notation import subscripted, unicode

        names = {str(s) for s in used}
        out = {unicode(sym): str(val) for sym, val in self.values.items() if sym in used}
        for (base, k), val in sorted(self.sequence_values.items()):
            if base in names:
                out[subscripted(base, tuple(k))] = str(val)
        return out


def _prime(rng: random.Random) -> int:
    """A random prime in DENOMINATORS: a multiple of every such prime has millions of digits."""
    return int(sp.nextprime(rng.randint(*DENOMINATORS)))


def _rational(
    rng: random.Random, positive: bool = False, low: float = -9, high: float = 9, nice: tuple[int, ...] = ()
) -> sp.Rational:
    """A random n/q in (low, high) (in (0, high) if ``positive``), q a random prime, n not a multiple
    of it: a value in lowest terms whose denominator is q itself.  ``nice``: q from these small
    denominators instead, values a term built to vanish at large ones (1 − ⌈10⁶w⌉ + ⌊10⁶w⌋, or
    ⌈w⌉ − ⌊w⌋ − 1 at integers) does not vanish at."""
    low = max(low, 0) if positive else low
    q = rng.choice(nice) if nice else _prime(rng)
    first, last = math.floor(low * q) + 1, math.ceil(high * q) - 1
    if not any(n != 0 and (q == 1 or n % q) for n in range(first, min(last, first + 2 * q) + 1)):
        return _rational(rng, positive, low, high)  # no such value in the domain, (0.05, 0.95) at q = 1
    n = 0
    while n == 0 or (q > 1 and n % q == 0):
        n = rng.randint(first, last)
    return sp.Rational(n, q)


# how far past an answer's own numbers a wide scalar draw may go: a sum over T terms in exact arithmetic
# stays well under the time limit at a few hundred terms
BEYOND_CAP = 400


def beyond_literals(expr: sp.Basic, cap: int = BEYOND_CAP) -> int:
    """The largest integer an answer writes (a factor T − 40, a product's bound ∏_{j=1}^{40}), at most
    ``cap``: a wide draw puts its sizes past it, so that a term built to vanish at every size up to a
    number the answer chose (∏_{j=1}^{40} (T − j)) does not vanish there."""
    found = [abs(int(a)) for a in expr.atoms(sp.Integer)] if isinstance(expr, sp.Basic) else []
    return min(max(found, default=0), cap)


def draw_sizes(
    problem: Problem,
    rng: random.Random,
    cap: int,
    stress: bool = False,
    wide: int | None = None,
    beyond: int = 0,
) -> dict[sp.Basic, int]:
    """Values for the integer symbols within their bounds (an unbounded one up to ``cap``).

    Symbols may be bounded by others (t ≤ T, k ≤ m - 1, H ≥ D(K-1) + 1 - 2P): they are drawn in
    dependency order.  With ``stress``, free sizes and those bounded by an expression come from
    the top of their range and an index bounded by a size (t ≤ T) from the bottom, so that
    matrices are not 1×1 and products over t+1..T have several factors — where mistakes show.
    With ``wide``, a size (role ``integer``) whose upper bound is a number or none is drawn from
    the top half of [lower bound, max(bound, wide)]: a numeric bound on a size keeps the ordinary
    draws small, it is not the size's domain (an index's numeric bound is: conv1d's r ≤ 3), and
    an answer must hold at every size; ``beyond``: a wide draw's sizes are past this number
    (``beyond_literals``)."""
    objects = problem.derive().symbols
    values: dict[sp.Basic, int] = {}
    pending = [s for s in problem.symbols if s.role in ("integer", "index")]
    for _ in range(len(pending) + 1):
        for spec in list(pending):
            lo_name, hi_name = spec.bounds or ("1", "")
            lo = _bound(lo_name, objects, values)
            hi = _bound(hi_name, objects, values) if hi_name else cap
            if lo is None or hi is None:
                continue
            hi = max(lo, hi)
            free = not hi_name or hi_name.lstrip("-").isdigit()
            if wide is not None and spec.role == "integer" and free:
                hi = max(hi, wide, beyond + 8)
                lo = max(lo, (lo + hi + 1) // 2, beyond + 1)
            elif stress and hi_name.isidentifier():
                hi = max(lo, hi - 2)  # an index bounded by a size (t ≤ T): leave room above it
            elif stress and not free:  # bounded by an expression (k ≤ m - 1): from the top, k×k blocks not 1×1
                lo = max(lo, (lo + hi + 1) // 2)
            elif stress:
                lo = max(lo, (lo + hi + 1) // 2, min(2, hi))
            values[objects[spec.name]] = rng.randint(lo, hi)
            pending.remove(spec)
    missing = [s.name for s in pending]
    if missing:  # a bound naming no size, or a cycle: a catalog error, not a point without them
        raise ValueError(f"{problem.id}: the bounds of {', '.join(missing)} cannot be resolved")
    return values


def draw(
    problem: Problem, rng: random.Random, nice: tuple[int, ...] = (), wide: bool = False, beyond: int = 0
) -> Point:
    """A random point of the problem's domain; ``nice``: its reals with these small denominators (a
    few such points sit among the others: a term may vanish at one kind of rational, not at all);
    ``wide``: its sizes up to WIDE_SIZE (see ``draw_sizes``)."""
    objects = problem.derive().symbols
    sizes = draw_sizes(problem, rng, MAX_SIZE, wide=WIDE_SIZE if wide else None, beyond=beyond if wide else 0)
    values: dict[sp.Basic, sp.Basic] = {k: sp.Integer(v) for k, v in sizes.items()}
    for spec in problem.symbols:
        if spec.role == "real" and spec.name in objects and spec.value is None:
            if Assumption.UNIT_INTERVAL in spec.assumptions:  # a decay rate β: its domain only, away from its ends
                values[objects[spec.name]] = _rational(rng, low=0.05, high=0.95, nice=nice)
            else:
                values[objects[spec.name]] = _rational(rng, Assumption.POSITIVE in spec.assumptions, nice=nice)
    structure = {
        str(objects[s.name]): s.assumptions
        for s in problem.symbols
        if s.role == "sequence" and s.name in objects and s.assumptions
    }
    return Point(values, rng, {}, structure)


_OPERATORS: dict[type, Callable] = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul}


def bound_value(text: str, lookup: Callable[[str], object], maximum: Callable = max, minimum: Callable = min):
    """A bound as the catalog writes it (``T``, ``m-1``, ``max(1, D*(K-1)+1-2*P)``: integers, sizes, + - *,
    max, min) with each name's value from ``lookup``: ints when sizes are drawn, SymPy symbols for a
    sum's default bounds.  Catalog text only (never an answer's), walked node by node, never eval'd."""

    def value(node: ast.AST):
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return node.value
        if isinstance(node, ast.Name):
            return lookup(node.id)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -value(node.operand)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            return _OPERATORS[type(node.op)](value(node.left), value(node.right))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("max", "min"):
            if node.keywords or not node.args:
                raise ValueError(f"bound {text!r}: {node.func.id} takes values")
            return (maximum if node.func.id == "max" else minimum)(*(value(a) for a in node.args))
        raise ValueError(f"bound {text!r}: only integers, sizes, + - *, max and min")

    return value(ast.parse(text.strip(), mode="eval").body)


class _Undrawn(Exception):
    """A bound names a size not drawn yet."""


def _bound(name: str, objects, values) -> int | None:
    if name.lstrip("-").isdigit():
        return int(name)

    def lookup(n: str) -> int:
        obj = objects.get(n)
        if obj not in values:
            raise _Undrawn(n)
        return int(values[obj])

    try:
        return int(bound_value(name, lookup))
    except _Undrawn:
        return None


# ---- the fast, exact route ---------------------------------------------------------


class ExactInt(int):
    """An integer whose arithmetic stays exact: 1/T and 2**(t − T) give Fractions."""

    def _wrap(self, value):
        return ExactInt(value) if type(value) is int else value

    def __add__(self, o):
        return self._wrap(int(self) + o) if isinstance(o, int) else NotImplemented

    __radd__ = __add__

    def __sub__(self, o):
        return self._wrap(int(self) - o) if isinstance(o, int) else NotImplemented

    def __rsub__(self, o):
        return self._wrap(o - int(self)) if isinstance(o, int) else NotImplemented

    def __mul__(self, o):
        return self._wrap(int(self) * o) if isinstance(o, int) else NotImplemented

    __rmul__ = __mul__

    def __neg__(self):
        return ExactInt(-int(self))

    def __truediv__(self, o):
        return Fraction(int(self), int(o)) if isinstance(o, int) else NotImplemented

    def __rtruediv__(self, o):
        return Fraction(int(o), int(self)) if isinstance(o, int) else NotImplemented

    def __pow__(self, o, mod=None):
        if not isinstance(o, int) or mod is not None:
            return NotImplemented
        return self._wrap(int(self) ** int(o)) if o >= 0 else Fraction(1, int(self) ** -int(o))

    def __rpow__(self, o):
        if not isinstance(o, int):
            return NotImplemented
        return int(o) ** int(self) if self >= 0 else Fraction(1, int(o) ** -int(self))


def _span(lo, hi) -> range:
    if not isinstance(lo, int) or not isinstance(hi, int):
        raise TypeError("non-integer bounds")
    if hi - lo > MAX_TERMS:
        raise TooLong(f"a sum or product with {hi - lo + 1} terms cannot be checked")
    return range(int(lo), int(hi) + 1)


def _bsum(fn, lo, hi):
    total = 0
    for k in _span(lo, hi):
        total = total + fn(ExactInt(k))
    return total


def _bprod(fn, lo, hi):
    total = 1
    for k in _span(lo, hi):
        total = total * fn(ExactInt(k))
    return total


class _ExactPrinter(PythonCodePrinter):
    """Python source over Fractions: our three helpers, and Lambda as a Python lambda."""

    def _print_Function(self, expr: sp.Basic) -> str:
        name = expr.func.__name__
        if name in ("BSUM", "BPROD", "FRAC"):
            return f"{name}({', '.join(self._print(a) for a in expr.args)})"
        return super()._print_Function(expr)

    def _print_KroneckerDelta(self, expr: sp.Basic) -> str:
        a, b = (self._print(x) for x in expr.args)
        return f"(1 if ({a}) == ({b}) else 0)"

    def _print_Lambda(self, expr: sp.Lambda) -> str:
        args = ", ".join(self._print(a) for a in expr.variables)
        return f"(lambda {args}: ({self._print(expr.expr)}))"


_BSUM = sp.Function("BSUM")
_BPROD = sp.Function("BPROD")
_FRAC = sp.Function("FRAC")
_EXACT_ATOMS = (sp.Symbol, sp.Integer, sp.Rational, sp.Indexed, sp.IndexedBase, sp.Idx, sp.logic.boolalg.BooleanAtom)


def _prepare(expr: sp.Basic) -> sp.Basic | None:
    """Sums as BSUM(lambda, lo, hi), fractions as FRAC(p, q); None if not exact-able."""
    for node in sp.preorder_traversal(expr):
        if isinstance(node, sp.Pow) and not node.exp.is_integer:
            return None
        if isinstance(node, sp.Function) and not isinstance(node, (sp.Piecewise, sp.KroneckerDelta)):
            return None
        if node.is_Atom and not isinstance(node, _EXACT_ATOMS):
            return None

    def nest(big: sp.Basic) -> sp.Basic:
        fn = _BSUM if isinstance(big, sp.Sum) else _BPROD
        inner = big.function
        for var, lo, hi in big.limits:
            inner = fn(sp.Lambda(var, inner), lo, hi)
        return inner

    while True:
        bigs = [b for b in sp.preorder_traversal(expr) if isinstance(b, (sp.Sum, sp.Product))]
        if not bigs:
            break
        expr = expr.xreplace({bigs[-1]: nest(bigs[-1])})  # innermost first
    fracs = {r: _FRAC(r.p, r.q) for r in expr.atoms(sp.Rational) if not r.is_Integer}
    return expr.xreplace(fracs)


@lru_cache(maxsize=4096)
def _compiled(expr: sp.Basic):
    prepared = _prepare(expr)
    if prepared is None:
        return None
    bases = sorted({i.base for i in prepared.atoms(sp.Indexed)}, key=str)
    labels = {b.label for b in bases}
    scalars = sorted((s for s in prepared.free_symbols if isinstance(s, sp.Symbol) and s not in labels), key=str)
    namespace = {"BSUM": _bsum, "BPROD": _bprod, "FRAC": Fraction}
    try:
        fn = sp.lambdify([*scalars, *bases], prepared, modules=[namespace], printer=_ExactPrinter, dummify=True)
    except Exception:
        return None
    return scalars, bases, fn


class _Sequence:
    def __init__(self, base: sp.Basic, point: Point) -> None:
        self.base, self.point = base, point

    def __getitem__(self, k):
        if not all(isinstance(i, int) for i in (k if isinstance(k, tuple) else (k,))):
            raise TypeError("non-integer index")
        v = self.point.entry(self.base, k)
        return Fraction(v.p, v.q)


def _fast(expr: sp.Basic, point: Point) -> sp.Basic | None:
    compiled = _compiled(expr)
    if compiled is None:
        return None
    scalars, bases, fn = compiled
    args = []
    for s in scalars:
        v = point.values.get(s)
        if v is None:
            return None
        args.append(ExactInt(int(v)) if v.is_Integer and s.is_integer else Fraction(v.p, v.q))
    args += [_Sequence(b, point) for b in bases]
    try:
        value = fn(*args)
    except ZeroDivisionError:
        return sp.nan
    except (TypeError, ValueError, OverflowError, RecursionError) as exc:
        if isinstance(exc, TooLong):
            raise
        return None
    if isinstance(value, (int, Fraction)):
        return sp.Rational(value.numerator, value.denominator)
    return None  # a float crept in: use the exact slow route


# ---- the slow route -----------------------------------------------------------------


def _slow(expr: sp.Basic, point: Point) -> sp.Basic:
    e = _exact(expr, point)
    if e.is_Rational:
        return e
    try:
        # maxn: a term that cancels (10^200 (cos² + sin² − 1)) is resolved, not left as 0 ± 10^k
        return sp.N(e, DIGITS, maxn=MAX_DIGITS)
    except (TypeError, ValueError, ZeroDivisionError):
        return sp.nan


def _exact(expr: sp.Basic, point: Point) -> sp.Basic:
    """``expr`` at ``point`` as an exact SymPy number (e^{-100}, sin(3/7)), not yet evaluated."""
    # subs, not xreplace: a sum's own index (the t of Σ_t) must stay bound.
    integers = {s: v for s, v in point.values.items() if v.is_Integer and s in expr.free_symbols}
    e = expr.subs(integers) if integers else expr
    for big in e.atoms(sp.Sum, sp.Product):
        for _, lo, hi in big.limits:
            span = hi - lo
            if span.is_number and span > MAX_TERMS:
                raise TooLong(f"a sum or product with {span + 1} terms cannot be checked")
    # An empty range is an empty sum (0) or product (1), as in the homework's notation;
    # SymPy's Karr convention would make Σ_{i=6}^{4} equal −Σ_{i=5}^{5} instead.
    e = e.replace(
        lambda x: (
            isinstance(x, (sp.Sum, sp.Product)) and any((hi - lo).is_number and hi < lo for _, lo, hi in x.limits)
        ),
        lambda x: sp.Integer(0) if isinstance(x, sp.Sum) else sp.Integer(1),
    )
    e = e.doit()
    e = e.xreplace(
        {i: point.entry(i.base, tuple(i.indices)) for i in e.atoms(sp.Indexed) if all(x.is_Integer for x in i.indices)}
    )
    return e.xreplace(point.values)


# How far evalf may raise its working precision (digits) to resolve a difference that cancels:
# enough for 10^300 (√(2 + 10^-300) − √2) and for e^{e^10}(1 − cos 10^-300), a few ms each.
MAX_DIGITS = 2000


def certainly_same(student: sp.Basic, reference: sp.Basic, point: Point, want: sp.Basic) -> bool:
    """Whether ``student`` and ``reference``, whose 50-digit values agree at ``point``, are equal
    there: their exact difference, evaluated with precision tracking, is 0 to 45 digits.  Two
    separately rounded values cannot tell w³ + e^{-200} from w³; the difference e^{-200} comes out
    certified nonzero.  A difference evalf cannot resolve (its bound stays large) is not taken as
    equal: such a term is no answer a course expects, and accepting it would let any answer pass.
    ``want``: the reference's 50-digit value there, the scale of the comparison."""
    try:
        difference = _exact(student, point) - _exact(reference, point)
        if difference == 0:
            return True
        value = difference.evalf(DIGITS, maxn=MAX_DIGITS)
    except (TypeError, ValueError, ZeroDivisionError, ArithmeticError):
        return False
    if value == 0:
        return True
    real, imaginary, uncertainty = _parts(value)
    magnitude = abs(real) + abs(imaginary)
    if magnitude > uncertainty:  # a certified nonzero difference: different, however small
        return False
    # 0 within evalf's bound: the same if that bound is below the comparison's own resolution
    scale = max(sp.Integer(1), sum(abs(x) for x in _parts(want)[:2]))
    return bool(uncertainty <= RELATIVE * scale)


def value_at(expr: sp.Basic, point: Point) -> sp.Basic:
    """The exact (or 50-digit) value of ``expr`` at ``point``; NaN where undefined."""
    fast = _fast(expr, point)
    return fast if fast is not None else _slow(expr, point)


def defined(value: sp.Basic) -> bool:
    return bool(value.is_number) and value.is_finite is not False and value is not sp.nan and value.is_real is not False


def same(a: sp.Basic, b: sp.Basic) -> bool:
    """Whether two values are equal: exactly, when both are rationals; else to RELATIVE of their
    magnitude, widened by each 50-digit value's own uncertainty."""
    if a.is_Rational and b.is_Rational:
        return a == b
    (ar, ai, au), (br, bi, bu) = _parts(a), _parts(b)
    difference = abs(ar - br) + abs(ai - bi)
    return bool(difference <= RELATIVE * max(abs(ar) + abs(ai), abs(br) + abs(bi)) + au + bu)


def _parts(value: sp.Basic) -> tuple[sp.Float, sp.Float, sp.Float]:
    """(real part, imaginary part, uncertainty) in WORKING digits.  evalf marks the bits it could not
    certify: a difference that cancels to 0 comes back as 0.e-160 with 1 bit, meaning 0 ± 10^-160;
    a p-bit value v is taken as v ± |v|·2^(1-p), which for a full 50-digit value is far below RELATIVE."""
    uncertainty = sp.Float(0, WORKING)
    parts = []
    for part in value.as_real_imag():
        if isinstance(part, sp.Float):
            uncertainty += abs(sp.Float(part, WORKING)) * sp.Integer(2) ** (1 - part._prec)
        parts.append(sp.Float(part, WORKING))
    return parts[0], parts[1], uncertainty

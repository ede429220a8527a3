"""Cross-check a derivation against its independent numeric oracle.

The SymPy result is evaluated at each case in 50-digit arithmetic (the drawn float64
inputs are exact binary fractions, so this is the exact value to far below float64
resolution); all the error measured is therefore the float64 oracle's.  Errors are
relative to the result's *magnitude*: the same expression evaluated at the absolute
values of the inputs.  For a sum of products with positive coefficients that is
Σ|terms|, the quantity that float64 rounding error is proportional to, so cancellation
in the exact value cannot cause a false failure, and a wrong formula still shows errors
of order one.
"""

from __future__ import annotations

import math
import numbers
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import mpmath
import sympy as sp

from dlverify.problem import Case, Measurement, Problem

DIGITS = 50


class OneBased:
    """A sequence indexed from 1, as u_1..u_T are in the homework and in SymPy sums."""

    def __init__(self, values: list[Any]) -> None:
        self._values = values

    def __getitem__(self, k: int) -> Any:
        if not 1 <= k <= len(self._values):
            raise IndexError(f"index {k} outside 1..{len(self._values)}")
        return self._values[k - 1]


class Tensor:
    """A tensor x[n, c] indexed from 1; outside its range it reads 0, as a formula's
    indicator multiplies such entries by 0 (x[0, c]·1[…] must not raise)."""

    def __init__(self, values: Any) -> None:
        import numpy as np

        self._values = np.asarray(values, dtype=float)

    def __getitem__(self, index: Any) -> Any:
        index = index if isinstance(index, tuple) else (index,)
        if len(index) != self._values.ndim:
            raise IndexError(f"{len(index)} indices for a {self._values.ndim}-axis tensor")
        if any(not 1 <= int(i) <= n for i, n in zip(index, self._values.shape, strict=True)):
            return mpmath.mpf(0)
        return mpmath.mpf(float(self._values[tuple(int(i) - 1 for i in index)]))


def _arguments(expr: sp.Basic, symbols: Mapping[str, sp.Basic]) -> tuple[str, ...]:
    names = []
    for name, obj in symbols.items():
        used = expr.has(obj) if isinstance(obj, sp.IndexedBase) else obj in expr.free_symbols
        if used:
            names.append(name)
    return tuple(names)


@cache
def _compiled(expr: sp.Basic, symbols: tuple[tuple[str, sp.Basic], ...]) -> tuple[tuple[str, ...], Callable]:
    names = _arguments(expr, dict(symbols))
    objs = [dict(symbols)[n] for n in names]
    return names, sp.lambdify(objs, expr, modules="mpmath")


def _mp(value: Any, absolute: bool) -> Any:
    if isinstance(value, bool) or isinstance(value, numbers.Integral):
        return int(value)
    if hasattr(value, "ndim") and value.ndim >= 1:  # a tensor x[n, c]
        import numpy as np

        return Tensor(np.abs(value) if absolute else value)
    if isinstance(value, (list, tuple)):
        return OneBased([_mp(v, absolute) for v in value])
    x = mpmath.mpf(value)  # exact: a float64 is a binary fraction
    return abs(x) if absolute else x


def evaluate(expr: sp.Basic, symbols: Mapping[str, sp.Basic], case: Case, absolute: bool = False) -> float:
    """Value of ``expr`` at ``case`` (in 50-digit arithmetic, rounded to float)."""
    names, fn = _compiled(expr, tuple(symbols.items()))
    with mpmath.workdps(DIGITS):
        value = fn(*(_mp(case[n], absolute) for n in names))
        return float(value)


# Rounding into the subnormal range adds an *absolute* error of up to half the smallest
# subnormal per operation, which no relative tolerance covers (w = 1e-158 makes w² u_1
# subnormal).  A difference below the smallest normal float is that underflow noise:
# with at most a few hundred operations, each amplified by at most ~1e11 (|w| ≤ 1.5
# over 60 steps), it stays below 2^-1022.  It is discounted before dividing.
UNDERFLOW = sys.float_info.min


def relative_error(value: float, exact: float, magnitude: float) -> float:
    """|value − exact| relative to the magnitude, after discounting underflow noise."""
    scale = max(abs(exact), magnitude)
    diff = max(0.0, abs(value - exact) - UNDERFLOW)
    if scale == 0.0:
        return 0.0 if diff == 0.0 else math.inf
    return diff / scale


def agreement(problem: Problem, case: Case) -> list[Measurement]:
    """The derivation against the oracle at one case, entry by entry."""
    if problem.compare is not None:
        return problem.compare(problem, case)
    derivation = problem.derive()
    observed = problem.oracle(case)
    if isinstance(derivation.result, frozenset):
        # a choice: the key must be among the options this case is consistent with; where several
        # are chosen, the oracle measures the right set itself, and the key must be that set
        consistent = frozenset(observed)
        ok = derivation.result == consistent if problem.answer.multiple else derivation.result <= consistent
        return [Measurement(f"{problem.id} (key among {sorted(consistent)})", 0.0 if ok else 1.0, 0.5)]
    entries = derivation.entries()
    if problem.axes:
        return [_indexed_agreement(problem, derivation, case, observed, problem.tolerance(case))]
    if not isinstance(observed, Mapping):
        observed = {"": observed}
    tol = problem.tolerance(case)
    out = []
    for name, expr in entries.items():
        label = f"{problem.id}[{name}]" if name else problem.id
        if isinstance(expr, sp.MatrixExpr):
            out.append(_matrix_agreement(label, expr, derivation.symbols, case, observed[name], tol))
            continue
        if isinstance(expr, sp.Tuple):  # a shape: every axis exactly
            axes = tuple(int(evaluate(a, derivation.symbols, case)) for a in expr)
            got = tuple(int(a) for a in observed[name])
            out.append(Measurement(f"{label} {got} vs {axes}", 0.0 if got == axes else 1.0, tol))
            continue
        exact = evaluate(expr, derivation.symbols, case)
        magnitude = evaluate(expr, derivation.symbols, case, absolute=True)
        value = float(observed[name])
        out.append(Measurement(label, relative_error(value, exact, magnitude), tol, exact, value))
    return out


def _indexed_agreement(problem: Problem, derivation, case: Case, observed, tol: float) -> Measurement:
    """The element formula at every entry of the oracle's tensor, axis by axis."""
    import itertools

    import numpy as np

    tensor = np.atleast_1d(np.asarray(observed, dtype=float))
    if len(problem.axes) != tensor.ndim:
        return Measurement(f"{problem.id} (tensor of shape {tensor.shape} for axes {problem.axes})", math.inf, tol)
    expr = derivation.result
    worst = 0.0
    scale = max(1.0, float(np.abs(tensor).max(initial=0.0)))
    for index in itertools.product(*(range(size) for size in tensor.shape)):
        at = dict(case)
        for axis, i in zip(problem.axes, index, strict=True):
            if axis.isdigit():
                if int(axis) != i + 1:
                    return Measurement(f"{problem.id} (axis fixed at {axis} has {i + 1})", math.inf, tol)
            else:
                at[axis] = i + 1
        value = evaluate(expr, derivation.symbols, at)
        worst = max(worst, abs(value - float(tensor[index])) / scale)
    return Measurement(f"{problem.id} (every entry of {tensor.shape})", worst, tol)


def matrix_point(symbols: Mapping[str, sp.Basic], case: Case) -> Any:  # a MatrixPoint
    """A numeric point for matrix expressions: arrays for matrices, vectors h_1..h_T for a
    sequence (case value: a list, h_k = item k − 1), numbers for scalars."""
    import numpy as np

    from derivations.matexpr import SequenceElement
    from dlverify.matrix_eval import MatrixPoint

    point = MatrixPoint({}, {}, np.random.default_rng(0))
    for name, obj in symbols.items():
        if name not in case:
            continue
        value = case[name]
        if isinstance(obj, SequenceElement):
            for k, v in enumerate(value, start=1):
                point.sequences[(obj.name, k)] = np.asarray(v, dtype=float).reshape(obj_shape(v))
        elif isinstance(obj, sp.MatrixSymbol):
            point.matrices[obj] = np.atleast_2d(np.asarray(value, dtype=float))
        else:
            point.scalars[obj] = float(value)
    return point


def obj_shape(v) -> tuple[int, int]:
    import numpy as np

    arr = np.asarray(v)
    return (arr.shape[0], 1) if arr.ndim == 1 else arr.shape


def _matrix_agreement(label: str, expr: sp.MatrixExpr, symbols, case: Case, observed, tol: float) -> Measurement:
    """Max entrywise difference relative to max(1, the largest entry): inputs are O(1)."""
    import numpy as np

    from dlverify.matrix_eval import evaluate as evaluate_matrix

    point = matrix_point(symbols, case)
    want = evaluate_matrix(expr, point)
    got = np.asarray(observed, dtype=float)
    if got.shape != want.shape:
        # only a vector may come flat from the oracle; any other difference is a layout error
        if not (got.ndim <= 1 and 1 in want.shape and got.size == want.size):
            return Measurement(f"{label} (shape {got.shape} vs {want.shape})", float("inf"), tol)
        got = got.reshape(want.shape)
    scale = max(1.0, float(np.abs(want).max(initial=0.0)), _magnitude(expr, point))
    return Measurement(label, float(np.abs(got - want).max(initial=0.0)) / scale, tol)


def _magnitude(expr: sp.MatrixExpr, point) -> float:
    """The largest entry with every input replaced by its absolute value: for sums and
    products (W^f (W^h)^k) this bounds Σ|terms|, which rounding error is proportional to."""
    import numpy as np

    from dlverify.matrix_eval import MatrixPoint, ShapeMismatch
    from dlverify.matrix_eval import evaluate as evaluate_matrix

    absolute = MatrixPoint(
        {k: abs(v) for k, v in point.scalars.items()},
        {k: np.abs(v) for k, v in point.matrices.items()},
        point.rng,
        {k: np.abs(v) for k, v in point.sequences.items()},
    )
    try:
        value = evaluate_matrix(expr, absolute)
    except (ShapeMismatch, ValueError):
        return 0.0
    return float(np.abs(value).max(initial=0.0)) if np.isfinite(value).all() else 0.0


def measure(problem: Problem, case: Case) -> list[Measurement]:
    """Every numeric check of the problem at one case."""
    found = agreement(problem, case)
    for prop in problem.properties:
        found.extend(prop.measure(case))
    return found


@dataclass
class CrossCheck:
    """What a run of the numeric cross-check found."""

    problem: Problem
    cases: int = 0
    max_error: float = 0.0
    max_tolerance: float = 0.0
    worst_ratio: float = 0.0
    size_ranges: dict[str, tuple[int, int]] = field(default_factory=dict)
    failure: str | None = None
    failing_case: Case | None = None
    samples: list[tuple[Case, list[Measurement]]] = field(default_factory=list)
    recorded: bool = False  # from an experiment's stored results, not run now
    samples_all: list[Measurement] = field(default_factory=list)

    SAMPLE_AT = (37, 53, 71, 97)  # which cases to keep for a report's table: spread, fixed

    @property
    def passed(self) -> bool:
        return self.failure is None and self.cases > 0

    def _repr_latex_(self) -> str:
        from dlverify.notation import text
        from dlverify.render import record_text

        return r"\text{" + text(f"{self.problem.id}: {record_text(self)}") + "}"

    def sizes_text(self) -> str:
        if not self.size_ranges:
            return self.problem.fixed_sizes or "-"
        return ", ".join(f"{k}∈[{lo},{hi}]" if lo != hi else f"{k}={lo}" for k, (lo, hi) in self.size_ranges.items())

    def record(self, case: Case, found: list[Measurement]) -> None:
        if self.cases in self.SAMPLE_AT:
            self.samples.append((dict(case), [m for m in found if m.reference is not None]))
        if self.recorded:
            self.samples_all = list(found)
        self.cases += 1
        for k in self.problem.sizes:
            lo, hi = self.size_ranges.get(k, (case[k], case[k]))
            self.size_ranges[k] = (min(lo, case[k]), max(hi, case[k]))
        for m in found:
            self.max_error = max(self.max_error, m.error)
            self.max_tolerance = max(self.max_tolerance, m.tolerance)
            self.worst_ratio = max(self.worst_ratio, m.error / m.tolerance)


class _Disagreement(AssertionError):
    pass


def cross_check(problem: Problem, examples: int = 100, derandomize: bool = True) -> CrossCheck:
    """Draw ``examples`` cases from the problem's strategy and check every property.

    Hypothesis drives the draws, so a failure is shrunk to a small counterexample,
    which is reported in ``failing_case``.
    """
    from hypothesis import HealthCheck, Phase, given, settings

    result = CrossCheck(problem)
    last: list[Case] = []

    @settings(
        max_examples=examples,
        derandomize=derandomize,
        database=None,
        deadline=None,
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    @given(problem.cases())
    def run(case: dict[str, Any]) -> None:
        last[:] = [case]
        found = measure(problem, case)
        bad = [m for m in found if not m.ok]
        if bad:
            raise _Disagreement("; ".join(f"{m.check}: error {m.error:.3g} > tolerance {m.tolerance:.3g}" for m in bad))
        result.record(case, found)

    try:
        run()
    except _Disagreement as exc:
        result.failure = str(exc)
        result.failing_case = last[0] if last else None
    except Exception as exc:  # an oracle or derivation that crashes is a failure, reported
        result.failure = f"{type(exc).__name__}: {exc}"
        result.failing_case = last[0] if last else None
    return result

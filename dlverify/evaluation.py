"""Evaluating derived results numerically: the helpers that the cross-check engine and the
problem descriptions share.

A scalar result is evaluated in 50-digit arithmetic (the drawn float64 inputs are exact binary
fractions, so this is the exact value to far below float64 resolution); a matrix result on
numpy arrays.  Errors are relative to a result's *magnitude* — the same expression evaluated at
the absolute values of its inputs — because float64 rounding is proportional to that, not to a
value that may cancel to zero.
"""

from __future__ import annotations

import math
import numbers
import sys
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

import mpmath
import sympy as sp

from derivations.core import substitute_definitions  # noqa: F401 (the one helper, for the engine and the descriptions)
from dlverify.problem import Case, Measurement

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


def scalar_value(expr: sp.Basic, symbols: Mapping[str, sp.Basic], case: Case, absolute: bool = False) -> float:
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


def matrix_agreement(label: str, expr: sp.MatrixExpr, symbols, case: Case, observed, tol: float) -> Measurement:
    """Max entrywise difference relative to max(1, the largest entry): inputs are O(1)."""
    import numpy as np

    from dlverify.matrix_eval import matrix_value

    point = matrix_point(symbols, case)
    want = matrix_value(expr, point)
    got = np.asarray(observed, dtype=float)
    if got.shape != want.shape:
        # only a vector may come flat from the oracle; any other difference is a layout error
        if not (got.ndim <= 1 and 1 in want.shape and got.size == want.size):
            return Measurement(f"{label} (shape {got.shape} vs {want.shape})", float("inf"), tol)
        got = got.reshape(want.shape)
    scale = max(1.0, float(np.abs(want).max(initial=0.0)), matrix_magnitude(expr, point))
    return Measurement(label, float(np.abs(got - want).max(initial=0.0)) / scale, tol)


def matrix_magnitude(expr: sp.MatrixExpr, point) -> float:
    """The largest entry with every input replaced by its absolute value: for sums and
    products (W^f (W^h)^k) this bounds Σ|terms|, which rounding error is proportional to."""
    import numpy as np

    from dlverify.matrix_eval import MatrixPoint, ShapeMismatch, matrix_value

    absolute = MatrixPoint(
        {k: abs(v) for k, v in point.scalars.items()},
        {k: np.abs(v) for k, v in point.matrices.items()},
        point.rng,
        {k: np.abs(v) for k, v in point.sequences.items()},
    )
    try:
        value = matrix_value(expr, absolute)
    except (ShapeMismatch, ValueError):
        return 0.0
    return float(np.abs(value).max(initial=0.0)) if np.isfinite(value).all() else 0.0

"""Numeric evaluation of SymPy matrix expressions (float64, numpy), as the homework means them.

Products are numpy's ``@`` in the written order; the homework's own notation (σ and
tanh entry by entry, by the NumPy form of their row in ``derivations.functions``; ordered
products, sums over an index, sequences of vectors h_k, the ones vector, diag) is evaluated
directly.  Used by the answer checker and by the
cross-check of matrix-valued derivations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from derivations.functions import FUNCTIONS
from derivations.matexpr import Elementwise, MatrixSum, OrderedProduct, SequenceElement
from dlverify.notation import unicode

MAX_TERMS = 5000
RTOL = 1e-8


class TooLong(ValueError):
    """A sum, product or power too long to evaluate."""


class ShapeMismatch(ValueError):
    """The expression's shapes do not fit at this point."""


@dataclass
class MatrixPoint:
    """Sizes, scalars and matrices for one evaluation; sequence vectors drawn on demand."""

    scalars: dict[sp.Basic, float]
    matrices: dict[sp.Basic, np.ndarray]
    rng: np.random.Generator
    sequences: dict[tuple[str, int], np.ndarray] = field(default_factory=dict)
    # values of subexpressions outside any sum or product body: an answer and the mutations that
    # diagnose it share most of their tree, evaluated once per point
    memo: dict[sp.Basic, Any] = field(default_factory=dict)
    # quantities computed from the model at this point (attention weights): shown with every witness
    determined: set[sp.Basic] = field(default_factory=set)
    # symbols whose drawn value no comparison uses (a definition that could not be evaluated here)
    unshown: set[sp.Basic] = field(default_factory=set)

    def scalar(self, expr: sp.Basic) -> float:
        expr = sp.sympify(expr)
        if expr.has(sp.Trace, sp.Determinant):
            # a scalar of matrices (an attention score qᵀk as the trace of a 1×1 product; tr X, det X, log det X)
            of = {sp.Trace: np.trace, sp.Determinant: np.linalg.det}
            values = {
                s: sp.Float(float(of[type(s)](matrix_value(s.arg, self))), 30)
                for s in expr.atoms(sp.Trace, sp.Determinant)
            }
            expr = expr.xreplace(values)
        value = expr.xreplace({k: sp.Float(v, 30) for k, v in self.scalars.items()})
        number = sp.N(value, 30)
        if not number.is_number:
            raise ShapeMismatch(f"cannot evaluate {unicode(expr)} here")
        if number.is_real is False:  # log det X where det X < 0: outside the domain, as a point
            raise ShapeMismatch(f"{unicode(expr)} is not real here")
        return float(number)

    def size(self, expr: sp.Basic) -> int:
        value = self.scalar(expr)
        if value != int(value) or value < 0:
            raise ShapeMismatch(f"size {unicode(expr)} = {value} is not a size")
        return int(value)

    def sequence(self, name: str, k: int, shape: tuple[int, int]) -> np.ndarray:
        key = (name, k)
        if key not in self.sequences:
            self.sequences[key] = self.rng.uniform(-1, 1, size=shape)
        return self.sequences[key]

    def shown(self) -> dict[str, object]:
        """Every value of the point, as a counterexample gives it (what --json prints)."""
        from dlverify.notation import subscripted

        out: dict[str, object] = {unicode(k): number_text(v) for k, v in self.scalars.items() if k not in self.unshown}
        for k, v in self.matrices.items():
            if k not in self.unshown:
                out[unicode(k)] = _matrix_text(v)
        for (name, k), v in sorted(self.sequences.items()):
            out[subscripted(name, k)] = _matrix_text(v)
        return out

    def relevant(self, used: set[sp.Basic]) -> tuple[str, ...]:
        """The names in ``shown`` a reader of a witness needs: the sizes, the symbols ``used`` (by the
        answer and the reference as written; a sequence by its name) and the determined quantities."""
        from dlverify.notation import subscripted

        names = {str(s) for s in used}
        out = [
            unicode(k)
            for k in self.scalars
            if k not in self.unshown and (getattr(k, "is_integer", False) or k in used or k in self.determined)
        ]
        out += [unicode(k) for k in self.matrices if k not in self.unshown and (k in used or k in self.determined)]
        out += [subscripted(name, k) for name, k in sorted(self.sequences) if name in names]
        return tuple(out)


def number_text(v: float) -> object:
    return int(v) if float(v).is_integer() and abs(v) < 1e15 else round(float(v), 6)


def _matrix_text(v: np.ndarray) -> object:
    if v.size > 16:
        return f"{v.shape[0]}×{v.shape[1]} matrix"
    return [[round(float(x), 4) + 0.0 for x in row] for row in v]  # + 0.0: no -0.0


def matrix_value(expr: sp.Basic, point: MatrixPoint) -> np.ndarray:
    """The value at ``point`` as a 2-D array (a scalar is 1×1)."""
    try:
        with np.errstate(all="ignore"):
            value = _ev(expr, point, 0)
    except ValueError as exc:
        if isinstance(exc, (TooLong, ShapeMismatch)):
            raise
        raise ShapeMismatch(str(exc)) from None
    except np.linalg.LinAlgError as exc:
        raise ShapeMismatch(f"not invertible here ({exc})") from None
    arr = np.asarray(value, dtype=float)
    return arr.reshape(1, 1) if arr.ndim == 0 else arr


def _ev(e: sp.Basic, pt: MatrixPoint, depth: int):
    if depth:  # inside a body, the bound index changes the value
        return _compute(e, pt, depth)
    found = pt.memo.get(e)
    if found is None:
        found = pt.memo[e] = _compute(e, pt, depth)
    return found


def _compute(e: sp.Basic, pt: MatrixPoint, depth: int):
    if not isinstance(e, sp.MatrixExpr):
        return pt.scalar(e)
    if isinstance(e, sp.MatrixSymbol):
        if e not in pt.matrices:
            raise ShapeMismatch(f"no value for {e}")
        return pt.matrices[e]
    if isinstance(e, SequenceElement):
        return pt.sequence(e.name, pt.size(e.index), (pt.size(e.shape[0]), pt.size(e.shape[1])))
    if isinstance(e, sp.ImmutableDenseMatrix):  # explicit numbers (a table of values)
        return np.array(e.tolist(), dtype=float)
    if isinstance(e, sp.Identity):
        return np.eye(pt.size(e.shape[0]))
    if isinstance(e, sp.OneMatrix):
        return np.ones((pt.size(e.shape[0]), pt.size(e.shape[1])))
    if isinstance(e, sp.ZeroMatrix):
        return np.zeros((pt.size(e.shape[0]), pt.size(e.shape[1])))
    if isinstance(e, sp.MatAdd):
        parts = [np.asarray(_ev(a, pt, depth)) for a in e.args]
        shapes = {p.shape for p in parts}
        if len(shapes) > 1:
            raise ShapeMismatch(f"a sum of terms of shapes {' and '.join(map(str, sorted(shapes)))}")
        return sum(parts[1:], parts[0])
    if isinstance(e, sp.MatMul):
        scale = 1.0
        result = None
        for a in e.args:
            v = _ev(a, pt, depth)
            if isinstance(a, sp.MatrixExpr):
                result = v if result is None else _matmul(result, v)
            else:
                scale *= v
        return scale * result
    if isinstance(e, sp.Transpose):
        return np.asarray(_ev(e.arg, pt, depth)).T
    if isinstance(e, sp.Inverse):
        return np.linalg.inv(_ev(e.arg, pt, depth))
    if isinstance(e, sp.MatPow):
        base = np.asarray(_ev(e.base, pt, depth))
        exp = pt.scalar(e.exp)
        if float(exp).is_integer():
            k = int(exp)
            if abs(k) > MAX_TERMS:
                raise TooLong(f"a matrix power {k} cannot be checked")
            if k < 0:
                base, k = np.linalg.inv(base), -k
            return np.linalg.matrix_power(base, k)
        return _symmetric_power(base, exp)
    if isinstance(e, sp.HadamardProduct):
        parts = [np.asarray(_ev(a, pt, depth)) for a in e.args]
        if len({p.shape for p in parts}) > 1:
            raise ShapeMismatch("an entrywise (⊙) product of terms of different shapes")
        out = parts[0]
        for p in parts[1:]:
            out = out * p
        return out
    if isinstance(e, sp.HadamardPower):
        return np.asarray(_ev(e.base, pt, depth)) ** pt.scalar(e.exp)
    if isinstance(e, sp.DiagMatrix):
        v = np.asarray(_ev(e.args[0], pt, depth))
        if 1 not in v.shape:
            raise ShapeMismatch("diag(…) of a matrix that is not a vector")
        return np.diag(v.ravel())
    if isinstance(e, Elementwise):
        return FUNCTIONS[e.name].numpy(np.asarray(_ev(e.arg, pt, depth)))
    if isinstance(e, (OrderedProduct, MatrixSum)):
        var, lo, hi = e.limits
        lo_v, hi_v = int(pt.scalar(lo)), int(pt.scalar(hi))
        if hi_v - lo_v > MAX_TERMS:
            raise TooLong(f"a product or sum with {hi_v - lo_v + 1} terms cannot be checked")
        saved = pt.scalars.get(var)
        out = None
        try:
            for k in range(lo_v, hi_v + 1):
                pt.scalars[var] = float(k)
                v = np.asarray(_ev(e.body, pt, depth + 1))
                out = v if out is None else (_matmul(out, v) if isinstance(e, OrderedProduct) else out + v)
        finally:
            if saved is None:
                pt.scalars.pop(var, None)
            else:
                pt.scalars[var] = saved
        if out is None:  # an empty product is I, an empty sum 0
            rows, cols = pt.size(e.shape[0]), pt.size(e.shape[1])
            return np.eye(rows) if isinstance(e, OrderedProduct) else np.zeros((rows, cols))
        return out
    if isinstance(e, sp.Trace):
        return np.trace(_ev(e.arg, pt, depth))
    raise ShapeMismatch(f"{type(e).__name__} cannot be evaluated")


def _matmul(a, b):
    a, b = np.atleast_2d(a), np.atleast_2d(b)
    if a.shape[1] != b.shape[0]:
        if a.shape == (1, 1):
            return a[0, 0] * b
        if b.shape == (1, 1):
            return a * b[0, 0]
        hint = " (an entrywise product is written ⊙ or \\odot)" if a.shape == b.shape else ""
        raise ShapeMismatch(f"a product of a {a.shape[0]}×{a.shape[1]} and a {b.shape[0]}×{b.shape[1]} matrix{hint}")
    return a @ b


def _symmetric_power(a: np.ndarray, p: float) -> np.ndarray:
    if not np.allclose(a, a.T):
        raise ShapeMismatch("a fractional power of a non-symmetric matrix")
    w, v = np.linalg.eigh(a)
    if (w < -1e-12).any():
        raise ShapeMismatch("a fractional power of a matrix that is not positive semidefinite")
    return (v * np.clip(w, 0, None) ** p) @ v.T


def close(a: np.ndarray, b: np.ndarray) -> bool:
    if a.shape != b.shape or not np.isfinite(a).all():
        return False
    scale = max(1.0, float(np.abs(b).max(initial=0.0)))
    return float(np.abs(a - b).max(initial=0.0)) <= RTOL * scale

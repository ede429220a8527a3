"""Jacobians of vector expressions by the matrix chain rule, with every rule recorded.

For a column vector f(x) (n×1) and a vector x (m×1), ``jacobian(f, x)`` returns the
n×m matrix ∂f/∂x (numerator layout, entry [i, j] = ∂f_i/∂x_j) as a SymPy matrix
expression, built from the rules

    ∂x/∂x = I,   ∂(Σ a_k)/∂x = Σ ∂a_k/∂x,   ∂(A v)/∂x = A ∂v/∂x  (A constant),
    ∂φ(z)/∂x = diag(φ'(z)) ∂z/∂x  (φ entry by entry),
    ∂(a ⊙ b)/∂x = diag(b) ∂a/∂x + diag(a) ∂b/∂x,
    ∂(s v)/∂x = v ∂s/∂x + s ∂v/∂x  (s a 1×1 factor),   ∂(uᵀv)/∂x = vᵀ ∂u/∂x + uᵀ ∂v/∂x.

SymPy's own matrix derivative is not used: it has silent bugs (a sum of traces
differentiates to 0) and the transposed layout.  The results are checked against
PyTorch's jacrev by the tests, never against SymPy alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixExpr

from derivations.core import Step
from derivations.functions import DERIVATIVE  # f → f', current when a row is added
from derivations.matexpr import Elementwise


@dataclass
class Trace:
    """The rules applied, in order, as derivation steps."""

    steps: list[Step] = field(default_factory=list)

    def note(self, text: str, rhs: sp.Basic | None = None, lhs: sp.Basic | None = None) -> None:
        self.steps.append(Step(text, rhs=rhs, lhs=lhs))


def _rows(f: MatrixExpr) -> sp.Basic:
    return f.shape[0]


def jacobian(f: sp.Basic, x: MatrixExpr, trace: Trace | None = None) -> MatrixExpr:
    """∂f/∂x for a column vector (or 1×1) expression f and a column vector x."""
    trace = trace or Trace()
    m = x.shape[0]
    if not isinstance(f, MatrixExpr):
        raise TypeError(f"{f} is not a matrix expression")
    if f == x:
        return sp.Identity(m)
    if not f.has(x):
        return sp.ZeroMatrix(_rows(f), m)
    if isinstance(f, sp.MatAdd):
        parts = [jacobian(a, x, trace) for a in f.args]
        return _add(parts)
    if isinstance(f, sp.MatMul):
        return _product(f, x, trace)
    if isinstance(f, Elementwise):
        if f.name not in DERIVATIVE:
            raise NotImplementedError(f"no derivative rule for {f.name}")
        inner = jacobian(f.arg, x, trace)
        outer = sp.DiagMatrix(Elementwise(DERIVATIVE[f.name], f.arg))
        trace.note(f"Chain rule through {f.name}, applied entry by entry: a diagonal factor.", outer)
        return _mul(outer, inner)
    if isinstance(f, sp.HadamardProduct):
        a, *rest = f.args
        b = rest[0] if len(rest) == 1 else sp.HadamardProduct(*rest)
        trace.note("Product rule for ⊙: ∂(a ⊙ b) = diag(b) ∂a + diag(a) ∂b.")
        return _add([_mul(sp.DiagMatrix(b), jacobian(a, x, trace)), _mul(sp.DiagMatrix(a), jacobian(b, x, trace))])
    raise NotImplementedError(f"no rule for {type(f).__name__}")


def _add(parts: list[MatrixExpr]) -> MatrixExpr:
    kept = [p for p in parts if not isinstance(p, sp.ZeroMatrix)]
    if not kept:
        return parts[0]
    return kept[0] if len(kept) == 1 else sp.MatAdd(*kept).doit(deep=False)


def _mul(a: MatrixExpr, b: MatrixExpr) -> MatrixExpr:
    if isinstance(b, sp.Identity):
        return a
    if isinstance(a, sp.Identity):
        return b
    if isinstance(a, sp.ZeroMatrix) or isinstance(b, sp.ZeroMatrix):
        return sp.ZeroMatrix(a.shape[0], b.shape[1])
    return sp.MatMul(a, b).doit(deep=False)


def _product(f: sp.MatMul, x: MatrixExpr, trace: Trace) -> MatrixExpr:
    """A product of scalars and matrices: the factors that depend on x, one at a time."""
    scalars = [a for a in f.args if not isinstance(a, MatrixExpr)]
    mats = [a for a in f.args if isinstance(a, MatrixExpr)]
    scale = sp.Mul(*scalars)
    if scale.has(x):
        raise NotImplementedError("a scalar coefficient that depends on x")
    dependent = [k for k, a in enumerate(mats) if a.has(x)]
    if f.shape == (1, 1) and len(dependent) > 1:
        # uᵀ v: a 1×1 result that depends on x on both sides of the last x-dependent factor
        split = dependent[-1]
        u_t = mats[0] if split == 1 else sp.MatMul(*mats[:split])
        v = mats[split] if split == len(mats) - 1 else sp.MatMul(*mats[split:])
        trace.note("Product rule for uᵀv: ∂(uᵀv) = vᵀ ∂u + uᵀ ∂v.")
        parts = []
        if u_t.has(x):
            parts.append(_mul(v.T, jacobian(u_t.T, x, trace)))
        if v.has(x):
            parts.append(_mul(u_t, jacobian(v, x, trace)))
        return _scale(scale, _add(parts))
    if dependent == [len(mats) - 1]:
        prefix = mats[:-1]
        inner = jacobian(mats[-1], x, trace)
        if not prefix:  # only a scalar coefficient: −c, say
            return _scale(scale, inner)
        left = prefix[0] if len(prefix) == 1 else sp.MatMul(*prefix)
        return _scale(scale, _mul(left, inner))
    if len(mats) == 2 and mats[0].shape == (1, 1):
        # s v with a 1×1 factor s depending on x: v ∂s + s ∂v
        s, v = mats
        trace.note("Product rule for a 1×1 factor: ∂(s v) = v ∂s + s ∂v.")
        parts = [_mul(v, jacobian(s, x, trace))]
        if v.has(x):
            parts.append(_mul(s, jacobian(v, x, trace)))
        return _scale(scale, _add(parts))
    raise NotImplementedError("a product with an x-dependent factor other than the last")


def _scale(scale: sp.Basic, m: MatrixExpr) -> MatrixExpr:
    return m if scale == 1 else sp.MatMul(scale, m).doit(deep=False)

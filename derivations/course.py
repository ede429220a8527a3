"""Derivatives of a course's own forward model, stated as assignments ``name = expression``.

A gradient of a scalar (1×1) quantity is found by reverse accumulation over the statements,
one matrix rule per operation, in the catalog's layout (the gradient has the variable's shape):

    C = A B:  Ā += C̄ Bᵀ,  B̄ += Aᵀ C̄        C = A + B:  Ā += C̄,  B̄ += C̄
    C = Aᵀ:  Ā += C̄ᵀ                      C = A ⊙ B:  Ā += C̄ ⊙ B
    C = φ(A) entry by entry:  Ā += C̄ ⊙ φ'(A)
    C = A² (1×1):  Ā += 2 A C̄             C = c A (c a number):  Ā += c C̄

Intermediate quantities keep their names (h, ŷ) in the result, with their definitions, so a
result reads as the homework writes it.  A Jacobian of a vector by a vector uses the rules of
derivations.jacobian (numerator layout) on the expanded expression.

SymPy's own matrix derivative is not used; the results are checked against PyTorch's autograd
run on the same statements by dlverify's tests, never against SymPy alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixExpr

from derivations.core import Derivation, Step, substitute_definitions
from derivations.jacobian import DERIVATIVE, Trace, jacobian
from derivations.matexpr import Elementwise
from derivations.symbols import Partial

Statements = Sequence[tuple[sp.MatrixSymbol, MatrixExpr]]


class Unsupported(ValueError):
    """An operation the chain rule here does not differentiate (said in words)."""


def _one() -> MatrixExpr:
    return sp.Identity(1)


def _mul(*factors: sp.Basic) -> MatrixExpr:
    kept = [f for f in factors if not isinstance(f, sp.Identity) or f.shape != (1, 1)]
    mats = [f for f in kept if isinstance(f, MatrixExpr)]
    if any(isinstance(f, sp.ZeroMatrix) for f in mats):
        return sp.ZeroMatrix(factors[0].shape[0], factors[-1].shape[1])
    if not mats:  # only 1×1 identities and numbers (∂(c x)/∂x = c): still a 1×1 matrix, c 𝕀
        kept.append(_one())
    if len(kept) == 1:
        return kept[0]
    return sp.MatMul(*kept).doit(deep=False)


def _hadamard(a: MatrixExpr, b: MatrixExpr) -> MatrixExpr:
    if isinstance(a, sp.Identity) and a.shape == (1, 1):
        return b
    return sp.HadamardProduct(a, b)


def _backward(expr: sp.Basic, bar: MatrixExpr, adjoint: dict[sp.Basic, list[MatrixExpr]]) -> None:
    """Push the adjoint ``bar`` of ``expr`` down to the symbols it is built from."""
    if isinstance(expr, sp.MatrixSymbol):
        adjoint.setdefault(expr, []).append(bar)
    elif isinstance(expr, (sp.Identity, sp.ZeroMatrix, sp.OneMatrix)) or not isinstance(expr, MatrixExpr):
        return  # a constant (a number factor is handled by the product)
    elif isinstance(expr, sp.MatAdd):
        for term in expr.args:
            _backward(term, bar, adjoint)
    elif isinstance(expr, sp.MatMul):
        scale = sp.Mul(*(a for a in expr.args if not isinstance(a, MatrixExpr)))
        mats = [a for a in expr.args if isinstance(a, MatrixExpr)]
        for k, factor in enumerate(mats):
            left_t = [m.T for m in reversed(mats[:k])]
            right_t = [m.T for m in reversed(mats[k + 1 :])]
            _backward(factor, _mul(scale, *left_t, bar, *right_t), adjoint)
    elif isinstance(expr, sp.Transpose):
        _backward(expr.arg, bar.T, adjoint)
    elif isinstance(expr, sp.HadamardProduct):
        for k, factor in enumerate(expr.args):
            others = [a for j, a in enumerate(expr.args) if j != k]
            _backward(factor, sp.HadamardProduct(bar, *others), adjoint)
    elif isinstance(expr, Elementwise):
        if expr.name == "exp":
            _backward(expr.arg, _hadamard(bar, expr), adjoint)
        elif expr.name == "log":
            _backward(expr.arg, _hadamard(bar, sp.HadamardPower(expr.arg, -1)), adjoint)
        elif expr.name in DERIVATIVE:
            _backward(expr.arg, _hadamard(bar, Elementwise(DERIVATIVE[expr.name], expr.arg)), adjoint)
        else:
            raise Unsupported(f"the derivative of {expr.name}")
    elif isinstance(expr, sp.MatPow) and expr.base.shape == (1, 1) and expr.exp.is_Integer and expr.exp >= 1:
        k = int(expr.exp)
        inner = expr.base if k == 2 else sp.MatPow(expr.base, k - 1)
        _backward(expr.base, _mul(sp.Integer(k), inner, bar), adjoint)
    else:
        raise Unsupported(f"the derivative through {type(expr).__name__}")


def _ones_times(a: sp.Basic) -> sp.Basic | None:
    """c for a matrix c 𝟏𝟏ᵀ (a number or size c times ones); None for anything else."""
    if isinstance(a, sp.OneMatrix):
        return sp.Integer(1)
    if isinstance(a, sp.MatMul):
        mats = [x for x in a.args if isinstance(x, MatrixExpr)]
        if mats and all(isinstance(x, sp.OneMatrix) for x in mats):
            return sp.Mul(*(x for x in a.args if not isinstance(x, MatrixExpr)))
    return None


def _tidy(expr: sp.Basic) -> sp.Basic:
    """(c 𝟏𝟏ᵀ) ⊙ D as c D, and equal terms of a sum added: the result as one writes it by hand."""

    def entrywise(h: sp.HadamardProduct) -> sp.Basic:
        coeff, kept = sp.Integer(1), []
        for a in h.args:
            c = _ones_times(a)
            if c is not None:
                coeff *= c
            elif isinstance(a, sp.MatMul) and a.args[0].is_number:  # (c A) ⊙ B = c (A ⊙ B)
                coeff *= a.args[0]
                kept.append(sp.MatMul(*a.args[1:]) if len(a.args) > 2 else a.args[1])
            else:
                kept.append(a)
        if not kept:
            return sp.MatMul(coeff, sp.OneMatrix(*h.shape))
        body = kept[0] if len(kept) == 1 else sp.HadamardProduct(*kept)
        return body if coeff == 1 else sp.MatMul(coeff, body)

    def scalar_column(h: sp.HadamardProduct) -> sp.Basic:
        # (𝟏 s) ⊙ v with s 1×1 is v s: a column scaled by a 1×1 quantity
        for k, a in enumerate(h.args):
            if isinstance(a, sp.MatMul) and len(a.args) == 2 and isinstance(a.args[0], sp.OneMatrix):
                if a.args[1].shape == (1, 1) and a.args[0].shape[1] == 1:
                    rest = [x for j, x in enumerate(h.args) if j != k]
                    body = rest[0] if len(rest) == 1 else sp.HadamardProduct(*rest)
                    return sp.MatMul(body, a.args[1])
        return h

    one_by_one = {
        sp.Transpose: lambda e: e.arg,  # a 1×1 quantity is its own transpose
        sp.HadamardPower: lambda e: sp.Inverse(e.base) if e.exp == -1 else e,
    }
    tidy = expr.replace(lambda e: isinstance(e, sp.HadamardProduct), entrywise)
    tidy = tidy.replace(lambda e: isinstance(e, sp.HadamardProduct), scalar_column)
    tidy = tidy.replace(lambda e: type(e) in one_by_one and e.shape == (1, 1), lambda e: one_by_one[type(e)](e))
    # products flattened (−(−c A) is c A) and equal terms of a sum added
    return tidy.replace(lambda e: isinstance(e, (sp.MatMul, sp.MatAdd)), lambda e: e.doit(deep=False))


def gradient(statements: Statements, target: sp.MatrixSymbol, variable: sp.MatrixSymbol) -> Derivation:
    """∂target/∂variable for a 1×1 target, by reverse accumulation over the statements."""
    if target.shape != (1, 1):
        raise Unsupported(f"{target.name} is not a scalar: ask for a Jacobian of a vector instead")
    definitions = {name: expr for name, expr in statements}
    order = [name for name, _ in statements]
    if target not in definitions:
        raise Unsupported(f"{target.name} is not computed by the statements")
    adjoint: dict[sp.Basic, list[MatrixExpr]] = {target: [_one()]}
    steps = [Step(f"Seed the backward pass at the output: ∂{target.name}/∂{target.name} = 1.")]
    for name in reversed(order[: order.index(target) + 1]):
        parts = adjoint.get(name)
        if not parts:
            continue
        bar = parts[0] if len(parts) == 1 else sp.MatAdd(*parts)
        if name != target:
            steps.append(
                Step(
                    f"Backpropagate into {name} (the sum over the statements that use it):",
                    rhs=bar,
                    lhs=Partial(target, name),
                )
            )
        _backward(definitions[name], bar, adjoint)
    parts = adjoint.get(variable)
    if not parts:
        result: MatrixExpr = sp.ZeroMatrix(*variable.shape)
    else:
        result = _tidy(parts[0] if len(parts) == 1 else sp.MatAdd(*parts))
    steps.append(
        Step(
            f"Collect the contributions that reach {variable.name}; the gradient has {variable.name}'s shape:",
            rhs=result,
            lhs=Partial(target, variable),
        )
    )
    return Derivation(result, tuple(steps), {}, {})


def vector_jacobian(statements: Statements, target: sp.MatrixSymbol, variable: sp.MatrixSymbol) -> Derivation:
    """∂target/∂variable for column vectors (numerator layout), on the expanded expression."""
    if target.shape[1] != 1 or variable.shape[1] != 1:
        raise Unsupported("a Jacobian here is of a column vector by a column vector")
    definitions: Mapping[sp.Basic, sp.Basic] = {name: expr for name, expr in statements}
    if target not in definitions:
        raise Unsupported(f"{target.name} is not computed by the statements")
    # everything in the inputs, except the variable itself when it is computed (∂h_3/∂h_2: h_2 a leaf)
    expanded = substitute_definitions(definitions[target], {k: v for k, v in definitions.items() if k != variable})
    trace = Trace()
    try:
        result = jacobian(expanded, variable, trace)
    except NotImplementedError as exc:
        raise Unsupported(str(exc)) from None
    steps = [
        Step(f"{target.name} in the inputs:", rhs=expanded, lhs=target),
        *trace.steps,
        Step(
            "so, with entry [i, j] = ∂f_i/∂x_j:",
            rhs=result,
            lhs=Partial(target, variable),
        ),
    ]
    return Derivation(result, tuple(steps), {}, {})

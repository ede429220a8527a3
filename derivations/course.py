"""Derivatives of a course's own forward model, stated as assignments ``name = expression``.

A gradient of a scalar (1×1) quantity is found by reverse accumulation over the statements,
one matrix rule per operation, in the catalog's layout (the gradient has the variable's shape):

    C = A B:  Ā += C̄ Bᵀ,  B̄ += Aᵀ C̄        C = A + B:  Ā += C̄,  B̄ += C̄
    C = Aᵀ:  Ā += C̄ᵀ                      C = A ⊙ B:  Ā += C̄ ⊙ B
    C = φ(A) entry by entry:  Ā += C̄ ⊙ φ'(A)  (exp: C̄ ⊙ C; log: C̄ ⊙ A^{∘-1})
    C = A^{∘k}:  Ā += k C̄ ⊙ A^{∘(k-1)}     C = A^{-1}:  Ā += −A^{-T} C̄ A^{-T}
    C = A^k (A square, k ≥ 1):  Ā += Σ_j (Aᵀ)^j C̄ (Aᵀ)^{k-1-j}   (1×1: k A^{k-1} C̄, any k)
    C = c A (c a number):  Ā += c C̄
    C = s A (s a scalar of the matrices):  s̄ = tr(C̄ᵀ A), then
        s = tr(M): M̄ += s̄ I     s = det(M): M̄ += s̄ det(M) M^{-T}     s = f(u): ū += f'(u) s̄

A 1×1 quantity s scaling a matrix is written where a 1×1 factor fits (``scaled``): v s for a column,
s vᵀ for a row, tr(s) M otherwise (the scalar entry of s), so every result is a plain SymPy matrix
expression the printers write and the answer reader reads back.

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


def scaled(m: MatrixExpr, s: MatrixExpr) -> MatrixExpr:
    """The matrix ``m`` scaled by the 1×1 quantity ``s``, written as a matrix product that fits: a number
    factor of s (c 𝕀) scales as a number, s after a column and before a row, else tr(s) m."""
    coeff = sp.Integer(1)
    if isinstance(s, sp.MatMul):
        mats = [a for a in s.args if isinstance(a, MatrixExpr)]
        if all(isinstance(a, sp.Identity) for a in mats):
            coeff, s = sp.Mul(*(a for a in s.args if not isinstance(a, MatrixExpr))), sp.Identity(1)
    if isinstance(s, sp.Identity):
        return m if coeff == 1 else sp.MatMul(coeff, m).doit(deep=False)
    if m.shape == (1, 1) or m.shape[1] == 1:
        out: MatrixExpr = sp.MatMul(coeff, m, s) if coeff != 1 else sp.MatMul(m, s)
    elif m.shape[0] == 1:
        out = sp.MatMul(coeff, s, m) if coeff != 1 else sp.MatMul(s, m)
    else:  # the entry of s as a scalar, tr(s) where nothing plainer says it (‖A‖² is tr(AᵀA))
        out = sp.MatMul(coeff * _entry(s), m)
    return out


def _entry(s: MatrixExpr) -> sp.Basic:
    """The entry of the 1×1 quantity ``s`` as a scalar: powers and products of entries, the Cookbook's
    tr(AᵀA) for 𝟏ᵀ(A ⊙ A)𝟏, else tr(s)."""
    if isinstance(s, sp.MatPow) and s.exp.is_number:
        return _entry(s.base) ** s.exp
    if isinstance(s, sp.Inverse):
        return 1 / _entry(s.arg)
    if isinstance(s, sp.MatMul):
        numbers = sp.Mul(*(a for a in s.args if not isinstance(a, MatrixExpr)))
        mats = [a for a in s.args if isinstance(a, MatrixExpr)]
        if len(mats) > 1 and all(a.shape == (1, 1) for a in mats):
            return numbers * sp.Mul(*(_entry(a) for a in mats))
        if len(mats) == 3 and isinstance(mats[0], sp.OneMatrix) and isinstance(mats[2], sp.OneMatrix):
            h = mats[1]
            if isinstance(h, sp.HadamardProduct) and len(h.args) == 2 and h.args[0] == h.args[1]:
                return numbers * sp.Trace(sp.MatMul(h.args[0].T, h.args[0]))
    return sp.Trace(s)


def _contract(bar: MatrixExpr, p: sp.Basic) -> MatrixExpr:
    """tr(C̄ᵀ P) as a 1×1 matrix: the adjoint of a scalar factor s of C = s P."""
    if not isinstance(p, MatrixExpr):
        return _mul(p, bar) if bar.shape == (1, 1) else sp.MatMul(p, _contract(bar, sp.OneMatrix(*bar.shape)))
    if p.shape == (1, 1):
        return _mul(bar, p)
    if p.shape[1] == 1:
        return _mul(p.T, bar)
    if p.shape[0] == 1:
        return _mul(bar, p.T)
    return sp.MatMul(sp.OneMatrix(1, p.shape[0]), sp.HadamardProduct(bar, p), sp.OneMatrix(p.shape[1], 1))


def _depends(e: sp.Basic) -> bool:
    return bool(e.atoms(sp.MatrixSymbol))


def _backward_scalar(expr: sp.Basic, bar: MatrixExpr, adjoint: dict[sp.Basic, list[MatrixExpr]]) -> None:
    """Push the 1×1 adjoint ``bar`` of a scalar ``expr`` of the matrices (tr M, det M, log det M) down."""
    if not _depends(expr):
        return
    if isinstance(expr, sp.Trace):
        _backward(expr.arg, scaled(sp.Identity(expr.arg.shape[0]), bar), adjoint)
    elif isinstance(expr, sp.Determinant):
        m = expr.arg
        _backward(m, scaled(sp.MatMul(sp.Determinant(m), sp.Inverse(m).T), bar), adjoint)
    elif isinstance(expr, sp.Add):
        for term in expr.args:
            _backward_scalar(term, bar, adjoint)
    elif isinstance(expr, sp.Mul):
        for k, factor in enumerate(expr.args):
            others = sp.Mul(*(a for j, a in enumerate(expr.args) if j != k))
            _backward_scalar(factor, _mul(others, bar), adjoint)
    elif isinstance(expr, sp.Pow) and not _depends(expr.exp):
        _backward_scalar(expr.base, _mul(expr.exp * expr.base ** (expr.exp - 1), bar), adjoint)
    elif isinstance(expr, sp.log):
        _backward_scalar(expr.args[0], _mul(1 / expr.args[0], bar), adjoint)
    elif isinstance(expr, sp.exp):
        _backward_scalar(expr.args[0], _mul(expr, bar), adjoint)
    else:
        raise Unsupported(f"the derivative through {type(expr).__name__}")


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
        scalars = [a for a in expr.args if not isinstance(a, MatrixExpr)]
        scale = sp.Mul(*scalars)
        mats = [a for a in expr.args if isinstance(a, MatrixExpr)]
        for k, factor in enumerate(scalars):
            if _depends(factor):  # tr(M), det(M) as a factor: its adjoint is tr(C̄ᵀ × the rest)
                rest = sp.Mul(*(a for j, a in enumerate(scalars) if j != k))
                product = _mul(rest, *mats) if mats else rest
                _backward_scalar(factor, _contract(bar, product), adjoint)
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
        elif expr.name == "sqrt":  # the Cookbook's x ⊘ (2√x): C̄ ⊙ (2C)^{∘-1}
            _backward(expr.arg, sp.MatMul(sp.Rational(1, 2), _hadamard(bar, sp.HadamardPower(expr, -1))), adjoint)
        elif expr.name in DERIVATIVE:
            _backward(expr.arg, _hadamard(bar, Elementwise(DERIVATIVE[expr.name], expr.arg)), adjoint)
        else:
            raise Unsupported(f"the derivative of {expr.name}")
    elif isinstance(expr, sp.HadamardPower) and expr.exp.is_number:
        k = expr.exp
        if k == 1:
            _backward(expr.base, bar, adjoint)
        else:
            power = expr.base if k == 2 else sp.HadamardPower(expr.base, k - 1)
            _backward(expr.base, sp.MatMul(k, sp.HadamardProduct(bar, power)), adjoint)
    elif isinstance(expr, sp.Inverse):
        inverse_t = sp.Inverse(expr.arg).T
        _backward(expr.arg, _mul(sp.Integer(-1), inverse_t, bar, inverse_t), adjoint)
    elif isinstance(expr, sp.MatPow) and expr.base.shape == (1, 1) and expr.exp.is_number:
        k = expr.exp  # a 1×1 quantity to any power (‖x‖ = (‖x‖²)^{1/2})
        inner = [] if k == 2 - 1 else [expr.base] if k == 2 else [sp.MatPow(expr.base, k - 1)]
        _backward(expr.base, _mul(k, *inner, bar), adjoint)
    elif isinstance(expr, sp.MatPow) and expr.exp.is_Integer and expr.exp < 0:
        _backward(sp.MatPow(sp.Inverse(expr.base), -expr.exp), bar, adjoint)
    elif isinstance(expr, sp.MatPow) and expr.exp.is_Integer and expr.exp >= 1:
        k, base_t = int(expr.exp), expr.base.T  # X^k: Σ_j (Xᵀ)^j C̄ (Xᵀ)^{k-1-j}
        powers = [None, base_t, *(sp.MatPow(base_t, j) for j in range(2, k))]
        terms = [_mul(*(p for p in (powers[j], bar, powers[k - 1 - j]) if p is not None)) for j in range(k)]
        _backward(expr.base, terms[0] if k == 1 else sp.MatAdd(*terms), adjoint)
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
        # (𝟏 s) ⊙ v with s 1×1 (a product of 1×1 factors) is v s: a column scaled by a 1×1 quantity
        for k, a in enumerate(h.args):
            if not isinstance(a, sp.MatMul):
                continue
            numbers = [x for x in a.args if not isinstance(x, MatrixExpr)]
            mats = [x for x in a.args if isinstance(x, MatrixExpr)]
            if len(mats) >= 2 and isinstance(mats[0], sp.OneMatrix) and mats[0].shape[1] == 1:
                if mats[1].shape[0] == 1 and mats[-1].shape[1] == 1:  # the rest is 1×1 as a product
                    rest = [x for j, x in enumerate(h.args) if j != k]
                    body = rest[0] if len(rest) == 1 else sp.HadamardProduct(*rest)
                    return sp.MatMul(*numbers, body, *mats[1:])
        return h

    def spread(h: sp.HadamardProduct) -> sp.Basic:
        # (𝟏 s 𝟏ᵀ) ⊙ D with s 1×1 (a product of 1×1 factors) is D scaled by s (``scaled``)
        for k, a in enumerate(h.args):
            mats = [x for x in a.args if isinstance(x, MatrixExpr)] if isinstance(a, sp.MatMul) else []
            if len(mats) >= 3 and isinstance(mats[0], sp.OneMatrix) and isinstance(mats[-1], sp.OneMatrix):
                if mats[0].shape[1] == 1 and mats[-1].shape[0] == 1 and mats[1].shape[0] == 1:
                    rest = [x for j, x in enumerate(h.args) if j != k]
                    body = rest[0] if len(rest) == 1 else sp.HadamardProduct(*rest)
                    numbers = [x for x in a.args if not isinstance(x, MatrixExpr)]
                    middle = mats[1] if len(mats) == 3 else sp.MatMul(*mats[1:-1])
                    return sp.MatMul(*numbers, scaled(body, middle)) if numbers else scaled(body, middle)
        return h

    def squared_norm(m: sp.MatMul) -> sp.Basic:
        # 𝟏ᵀ (v ⊙ v) 𝟏 of a column v as vᵀ v: the Cookbook's ‖v‖², with v written twice as a product
        mats = [
            a for a in m.args if isinstance(a, MatrixExpr) and not (isinstance(a, sp.OneMatrix) and a.shape == (1, 1))
        ]
        if len(mats) == 2 and isinstance(mats[0], sp.OneMatrix) and isinstance(mats[1], sp.HadamardProduct):
            args = mats[1].args
            if len(args) == 2 and args[0] == args[1] and args[0].shape[1] == 1:
                numbers = [a for a in m.args if not isinstance(a, MatrixExpr)]
                return sp.MatMul(*numbers, args[0].T, args[0])
        return m

    def ones_last(m: sp.MatMul) -> sp.Basic:
        # vᵀ 𝟏 (1×1) as 𝟏ᵀ v: the sum of v's entries, as one writes it (and as the printers read back)
        args = list(m.args)
        for k in range(len(args) - 1):
            a, b = args[k], args[k + 1]
            if isinstance(a, sp.Transpose) and a.arg.shape[1] == 1 and isinstance(b, sp.OneMatrix) and b.shape[1] == 1:
                args[k : k + 2] = [sp.MatMul(sp.OneMatrix(1, b.shape[0]), a.arg)]
                return sp.MatMul(*args) if len(args) > 1 else args[0]
        return m

    one_by_one = {
        sp.Transpose: lambda e: e.arg,  # a 1×1 quantity is its own transpose
        sp.HadamardPower: lambda e: sp.Inverse(e.base) if e.exp == -1 else e,
    }
    tidy = expr.replace(lambda e: isinstance(e, sp.HadamardProduct), entrywise)
    tidy = tidy.replace(lambda e: isinstance(e, sp.HadamardProduct), spread)
    tidy = tidy.replace(lambda e: isinstance(e, sp.HadamardProduct), scalar_column)
    tidy = tidy.replace(lambda e: isinstance(e, sp.MatMul), squared_norm)
    tidy = tidy.replace(lambda e: isinstance(e, sp.MatMul), ones_last)
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
    except NotImplementedError:
        # beyond derivations.jacobian's products (a scale after the vector, α tanh(W x); softmax's
        # exp(z) (1ᵀ exp(z))^{-1}): the product rule of _jac, one rule per operation
        trace = Trace()
        result = _tidy(_jac(expanded, variable))
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


def _transposed(y: sp.Basic) -> sp.Basic:
    """Yᵀ with the transpose pushed to the leaves (a row vector's transpose as a column's operations)."""
    if isinstance(y, sp.MatMul):
        scalars = [a for a in y.args if not isinstance(a, MatrixExpr)]
        return sp.MatMul(*scalars, *(_transposed(a) for a in reversed(y.args) if isinstance(a, MatrixExpr)))
    if isinstance(y, sp.MatAdd):
        return sp.MatAdd(*(_transposed(a) for a in y.args))
    if isinstance(y, sp.HadamardProduct):
        return sp.HadamardProduct(*(_transposed(a) for a in y.args))
    if isinstance(y, Elementwise):
        return Elementwise(y.name, _transposed(y.arg))
    if isinstance(y, sp.HadamardPower):
        return sp.HadamardPower(_transposed(y.base), y.exp)
    if isinstance(y, sp.Transpose):
        return y.arg
    return y.T


def _diag(v: MatrixExpr) -> MatrixExpr:
    return v if v.shape == (1, 1) else sp.DiagMatrix(v)


def _jac(f: sp.Basic, x: sp.MatrixSymbol) -> MatrixExpr:
    """∂f/∂x (numerator layout) of a column vector or 1×1 ``f`` by the column vector ``x``, forward
    through the operations: (A B)' = A B' + A' B (B the last factor, a column; A' only where B is 1×1),
    (a ⊙ b)' = diag(b) a' + diag(a) b', φ(a)' = diag(φ'(a)) a', (s^{-1})' = −s^{-1} s^{-1} s'."""
    rows, n = f.shape[0], x.shape[0]
    if f == x:
        return sp.Identity(n)
    if not isinstance(f, MatrixExpr) or x not in f.atoms(sp.MatrixSymbol):
        return sp.ZeroMatrix(rows, n)
    if isinstance(f, sp.MatAdd):
        parts = [p for p in (_jac(a, x) for a in f.args) if not isinstance(p, sp.ZeroMatrix)]
        return sp.ZeroMatrix(rows, n) if not parts else parts[0] if len(parts) == 1 else sp.MatAdd(*parts)
    if isinstance(f, sp.MatMul):
        scalars = [a for a in f.args if not isinstance(a, MatrixExpr)]
        for c in scalars:
            if x in c.atoms(sp.MatrixSymbol):  # c g: c J(g) + g J(c), for c = tr(s) of a 1×1 s
                if not isinstance(c, sp.Trace) or c.arg.shape != (1, 1):
                    raise Unsupported("a Jacobian through a scalar of the matrices (tr, det)")
                others = list(f.args)
                others.remove(c)
                rest = others[0] if len(others) == 1 else sp.MatMul(*others)
                return sp.MatAdd(_mul(c, _jac(rest, x)), _mul(rest, _jac(c.arg, x)))
        mats = [a for a in f.args if isinstance(a, MatrixExpr)]
        scale = sp.Mul(*scalars)
        last = mats[-1]
        head = mats[0] if len(mats) == 2 else sp.MatMul(*mats[:-1]) if len(mats) > 2 else None
        if head is None:
            return _mul(scale, _jac(last, x))
        terms = []
        if x in last.atoms(sp.MatrixSymbol):
            terms.append(_mul(scale, head, _jac(last, x)))
        if x in head.atoms(sp.MatrixSymbol):
            if last.shape != (1, 1):
                raise Unsupported("a Jacobian through a matrix that depends on the variable")
            terms.append(_mul(scale, scaled(_jac(head, x), last)))
        return terms[0] if len(terms) == 1 else sp.MatAdd(*terms)
    if isinstance(f, sp.Transpose):
        return _jac(_transposed(f.arg), x)
    if isinstance(f, sp.HadamardProduct):
        terms = []
        for k, a in enumerate(f.args):
            if x in a.atoms(sp.MatrixSymbol):
                others = [b for j, b in enumerate(f.args) if j != k]
                other = others[0] if len(others) == 1 else sp.HadamardProduct(*others)
                terms.append(_mul(_diag(other), _jac(a, x)))
        return terms[0] if len(terms) == 1 else sp.MatAdd(*terms)
    if isinstance(f, Elementwise):
        if f.name == "exp":
            outer = f
        elif f.name == "log":
            outer = sp.HadamardPower(f.arg, -1)
        elif f.name in DERIVATIVE:
            outer = Elementwise(DERIVATIVE[f.name], f.arg)
        else:
            raise Unsupported(f"the derivative of {f.name}")
        return _mul(_diag(outer), _jac(f.arg, x))
    if isinstance(f, sp.HadamardPower) and f.exp.is_number:
        power = f.base if f.exp == 2 else sp.HadamardPower(f.base, f.exp - 1)
        return _mul(f.exp, _diag(power), _jac(f.base, x)) if f.exp != 1 else _jac(f.base, x)
    if isinstance(f, sp.Inverse) and f.shape == (1, 1):
        return _mul(sp.Integer(-1), f, f, _jac(f.arg, x))
    if isinstance(f, sp.MatPow) and f.shape == (1, 1) and f.exp.is_number:
        inner = [] if f.exp == 2 - 1 else [f.base] if f.exp == 2 else [sp.MatPow(f.base, f.exp - 1)]
        return _mul(f.exp, *inner, _jac(f.base, x))
    raise Unsupported(f"the Jacobian through {type(f).__name__}")

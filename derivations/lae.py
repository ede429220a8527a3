"""The linear autoencoder L = (1/n)‖X − W2 W1 X‖_F² and its PCA optimum.

The gradients are derived entry by entry with indexed symbols for general sizes (m, k, n),
then recognised as matrix products; the minimum is derived in the eigenbasis of Σ.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from derivations.core import Derivation, Step

m, k, n = sp.symbols("m k n", integer=True, positive=True)
X = sp.MatrixSymbol("X", m, n)
W1 = sp.MatrixSymbol("W_1", k, m)
W2 = sp.MatrixSymbol("W_2", m, k)
R = X - W2 * W1 * X
MATRIX_SYMBOLS = {"m": m, "k": k, "n": n, "X": X, "W_1": W1, "W_2": W2}


def _entrywise(which: str) -> tuple[sp.Basic, sp.Basic]:
    """SymPy's derivative of L in the entry [p, q], the range conditions of its deltas dropped."""
    Xi, A, B = sp.IndexedBase("X"), sp.IndexedBase("W_1"), sp.IndexedBase("W_2")
    i, j, a, b, p, q = sp.symbols("i j a b p q", integer=True, positive=True)
    residual = Xi[i, j] - sp.Sum(B[i, a] * A[a, b] * Xi[b, j], (a, 1, k), (b, 1, m))
    loss = sp.Sum(residual**2, (i, 1, m), (j, 1, n)) / n
    target = A[p, q] if which == "W_1" else B[p, q]
    raw = sp.diff(loss, target).doit()
    raw = raw.replace(lambda e: isinstance(e, sp.Piecewise), lambda e: e.args[0].expr)  # [p, q] is an entry
    return loss, raw


def _explicit_check(result: sp.MatrixExpr, which: str) -> sp.Basic:
    """SymPy at explicit sizes m = 3, k = 2, n = 4: the matrix form minus the entrywise derivative."""
    sizes = {m: 3, k: 2, n: 4}
    Xe = sp.Matrix(3, 4, lambda a, b: sp.Symbol(f"x{a}{b}"))
    Ae = sp.Matrix(2, 3, lambda a, b: sp.Symbol(f"a{a}{b}"))
    Be = sp.Matrix(3, 2, lambda a, b: sp.Symbol(f"b{a}{b}"))
    loss = sum(e**2 for e in (Xe - Be * Ae * Xe)) / 4
    target = Ae if which == "W_1" else Be
    derivative = target.applyfunc(lambda e: sp.diff(loss, e))
    explicit = {X.subs(sizes): Xe, W1.subs(sizes): Ae, W2.subs(sizes): Be}
    matrix_form = result.subs(sizes).xreplace(explicit).doit()
    return sp.simplify(sp.Matrix(matrix_form) - derivative)


def _gradient(which: str, result: sp.MatrixExpr, form: str) -> Derivation:
    loss, entry = _entrywise(which)
    gap = _explicit_check(result, which)
    if gap != sp.zeros(*gap.shape):
        raise ArithmeticError(f"the matrix form of ∂L/∂{which} disagrees at explicit sizes")
    steps = (
        Step("Entry by entry, with R = X − W2 W1 X:", loss, "L", "L"),
        Step(f"SymPy differentiates in the entry [p, q] of {which} (its Kronecker deltas summed):", entry,
             f"∂L/∂{which}[p, q]", rf"\frac{{\partial L}}{{\partial {which}[p,q]}}"),
        Step(f"This is entry [p, q] of {form} (at explicit sizes 3, 2, 4 the difference simplifies to 0 entry by "
             "entry):", result, f"∂L/∂{which}", rf"\frac{{\partial L}}{{\partial {which}}}"),
    )  # fmt: skip
    return Derivation(result, steps, MATRIX_SYMBOLS)


@cache
def grad_W1() -> Derivation:
    return _gradient("W_1", -sp.Rational(2) / n * W2.T * R * X.T, "−(2/n) W2ᵀ (X − W2 W1 X) Xᵀ")


@cache
def grad_W2() -> Derivation:
    return _gradient("W_2", -sp.Rational(2) / n * R * X.T * W1.T, "−(2/n) (X − W2 W1 X) Xᵀ W1ᵀ")


@cache
def min_loss() -> Derivation:
    """At W2 W1 = U_k U_kᵀ, L = tr((I − P) Σ) = Σ_{i>k} σ_i²: computed in the eigenbasis of Σ."""
    sigma = sp.IndexedBase("sigma", positive=True)
    i = sp.Symbol("i", integer=True, positive=True)
    # In the eigenbasis Σ = diag(σ_1², …, σ_m²) and P = U_k U_kᵀ = diag(1, …, 1, 0, …, 0): check at m = 5, k = 2.
    lam = [sp.Symbol(f"s{t}", positive=True) ** 2 for t in range(5)]
    proj = sp.diag(*([1] * 2 + [0] * 3))
    trace = sp.expand(((sp.eye(5) - proj) * sp.diag(*lam)).trace())
    result = sp.Sum(sigma[i] ** 2, (i, k + 1, m))
    named = {sigma[t + 1]: sp.Symbol(f"s{t}", positive=True) for t in range(5)}
    check = sp.simplify(trace - result.subs({m: 5, k: 2}).doit().xreplace(named))
    if check != 0:
        raise ArithmeticError("the trailing-eigenvalue sum")
    steps = (
        Step("L(W1, W2) = (1/n)‖(I − W2W1)X‖_F² = tr((I − W2W1)ᵀ(I − W2W1) Σ) with Σ = XXᵀ/n. At the PCA solution "
             "W2W1 = U_k U_kᵀ = P, a projection, so L = tr((I − P) Σ)."),
        Step("In the eigenbasis of Σ, P keeps the top-k directions; SymPy at m = 5, k = 2:", trace,
             "tr((I − P)Σ)", r"\operatorname{tr}((I - P)\Sigma)"),
        Step("In general the trailing eigenvalues remain (the m = 5, k = 2 case agrees):", result, "L_min",
             r"L_{\min}"),
    )  # fmt: skip
    return Derivation(result, steps, {"m": m, "k": k, "sigma": sigma, "i": i})

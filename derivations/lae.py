"""The linear autoencoder L = (1/n)‖X − W2 W1 X‖_F² and its PCA optimum.

The gradients are derived entry by entry with indexed symbols for general sizes (m, k, n),
then recognised as matrix products; the minimum is derived in the eigenbasis of Σ.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from derivations.chain import Chain
from derivations.core import Derivation, Step
from derivations.symbols import At, Entry, Inverted, Name, Partial, Transposed, minus, plus, times

m, k, n = sp.symbols("m k n", integer=True, positive=True)
X = sp.MatrixSymbol("X", m, n)
W1 = sp.MatrixSymbol("W_1", k, m)
W2 = sp.MatrixSymbol("W_2", m, k)
R = X - W2 * W1 * X
MATRIX_SYMBOLS = {"m": m, "k": k, "n": n, "X": X, "W_1": W1, "W_2": W2}


def _entrywise(which: str, lam: sp.Symbol | None = None) -> tuple[sp.Basic, sp.Basic]:
    """SymPy's derivative of L (of L_λ with ``lam``) in the entry [p, q], the range conditions of its
    deltas dropped."""
    Xi, A, B = sp.IndexedBase("X"), sp.IndexedBase("W_1"), sp.IndexedBase("W_2")
    i, j, a, b, p, q = sp.symbols("i j a b p q", integer=True, positive=True)
    residual = Xi[i, j] - sp.Sum(B[i, a] * A[a, b] * Xi[b, j], (a, 1, k), (b, 1, m))
    loss = sp.Sum(residual**2, (i, 1, m), (j, 1, n)) / n
    if lam is not None:
        loss += lam * sp.Sum(A[a, b] ** 2, (a, 1, k), (b, 1, m)) + lam * sp.Sum(B[b, a] ** 2, (b, 1, m), (a, 1, k))
    target = A[p, q] if which == "W_1" else B[p, q]
    raw = sp.diff(loss, target).doit()
    raw = raw.replace(lambda e: isinstance(e, sp.Piecewise), lambda e: e.args[0].expr)  # [p, q] is an entry
    return loss, raw


def _explicit_check(result: sp.MatrixExpr, which: str, lam: sp.Symbol | None = None) -> sp.Basic:
    """SymPy at explicit sizes m = 3, k = 2, n = 4: the matrix form minus the entrywise derivative."""
    sizes = {m: 3, k: 2, n: 4}
    Xe = sp.Matrix(3, 4, lambda a, b: sp.Symbol(f"x{a}{b}"))
    Ae = sp.Matrix(2, 3, lambda a, b: sp.Symbol(f"a{a}{b}"))
    Be = sp.Matrix(3, 2, lambda a, b: sp.Symbol(f"b{a}{b}"))
    loss = sum(e**2 for e in (Xe - Be * Ae * Xe)) / 4
    if lam is not None:
        loss += lam * sum(e**2 for e in Ae) + lam * sum(e**2 for e in Be)
    target = Ae if which == "W_1" else Be
    derivative = target.applyfunc(lambda e: sp.diff(loss, e))
    explicit = {X.subs(sizes): Xe, W1.subs(sizes): Ae, W2.subs(sizes): Be}
    matrix_form = result.subs(sizes).xreplace(explicit).doit()
    return sp.expand(sp.Matrix(matrix_form) - derivative)  # polynomials: expanding decides equality


def gradient(which: str, result: sp.MatrixExpr, form: str, lam: sp.Symbol | None = None) -> Derivation:
    """∂L/∂W (∂L_λ/∂W with ``lam``): SymPy entry by entry, recognised as ``result`` (``form`` in words),
    which SymPy confirms at explicit sizes."""
    loss, entry = _entrywise(which, lam)
    gap = _explicit_check(result, which, lam)
    name = "L" if lam is None else "L_λ"
    loss_name = Name("L" if lam is None else r"L_\lambda")
    if gap != sp.zeros(*gap.shape):
        raise ArithmeticError(f"the matrix form of ∂{name}/∂{which} disagrees at explicit sizes")
    steps = (
        Step("Entry by entry, with R = X − W2 W1 X:", rhs=loss, lhs=loss_name),
        Step(
            f"SymPy differentiates in the entry [p, q] of {which} (its Kronecker deltas summed):",
            rhs=entry,
            lhs=Partial(loss_name, Entry(which, "p", "q")),
        ),
        Step(
            f"This is entry [p, q] of {form} (at explicit sizes 3, 2, 4 the difference simplifies to 0 entry by "
            "entry):",
            rhs=result,
            lhs=Partial(loss_name, which),
        ),
    )
    symbols = MATRIX_SYMBOLS if lam is None else {**MATRIX_SYMBOLS, "lambda": lam}
    return Derivation(result, steps, symbols, chain=_loss_chain(lam))


def _squared(a: sp.MatrixExpr) -> sp.MatrixExpr:
    """‖A‖_F² as the 1×1 product 1ᵀ (A ⊙ A) 1, as the answer language reads it."""
    return sp.MatMul(sp.OneMatrix(1, a.shape[0]), sp.HadamardProduct(a, a), sp.OneMatrix(a.shape[1], 1))


def _loss_chain(lam: sp.Symbol | None) -> Chain:
    """The loss as a quantity of the setup, so a derivation may start from L = (1/n)‖X − W2 W1 X‖_F²."""
    loss = sp.Symbol("L", real=True)
    value = _squared(X - W2 * W1 * X) / n
    if lam is not None:
        value = value + lam * _squared(W1) + lam * _squared(W2)
    spellings = ("L",) if lam is None else ("L", r"L_\lambda", "L_lambda")
    return Chain(equations={loss: value}, names={spelling: loss for spelling in spellings})


@cache
def grad_W1() -> Derivation:
    return gradient("W_1", -sp.Rational(2) / n * W2.T * R * X.T, "−(2/n) W2ᵀ (X − W2 W1 X) Xᵀ")


@cache
def grad_W2() -> Derivation:
    return gradient("W_2", -sp.Rational(2) / n * R * X.T * W1.T, "−(2/n) (X − W2 W1 X) Xᵀ W1ᵀ")


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
        Step(
            "L(W1, W2) = (1/n)‖(I − W2W1)X‖_F² = tr((I − W2W1)ᵀ(I − W2W1) Σ) with Σ = XXᵀ/n. At the PCA solution "
            "W2W1 = U_k U_kᵀ = P, a projection, so L = tr((I − P) Σ)."
        ),
        Step(
            "In the eigenbasis of Σ, P keeps the top-k directions; SymPy at m = 5, k = 2:",
            rhs=trace,
            lhs=sp.Function(r"\operatorname{tr}")(times(plus("I", minus("P")), r"\Sigma")),
        ),
        Step(
            "In general the trailing eigenvalues remain (the m = 5, k = 2 case agrees):",
            rhs=result,
            lhs=Name(r"L_{\min}"),
        ),
    )
    return Derivation(result, steps, {"m": m, "k": k, "sigma": sigma, "i": i})


# Σ = XXᵀ/n = U Λ Uᵀ: the facts about the top-k eigenvectors that the optimality argument uses.
U_k = sp.MatrixSymbol("U_k", m, k)
C = sp.MatrixSymbol("C", k, k)
Sigma = sp.MatrixSymbol("Sigma", m, m)
Lambda_k = sp.MatrixSymbol("Lambda_k", k, k)
EIGEN_RULES = (
    ((U_k.T, U_k), ()),  # orthonormal columns
    ((Sigma, U_k), (U_k, Lambda_k)),  # Σ U_k = U_k Λ_k
    ((U_k.T, Sigma), (Lambda_k, U_k.T)),  # its transpose (Σ symmetric)
)
COVARIANCE_RULES = (((X, X.T), (n, Sigma)),)  # X Xᵀ = n Σ


def rewrite(expr: sp.MatrixExpr, rules: tuple) -> sp.MatrixExpr:
    """Expand, then replace adjacent factors of each product by the rules until none applies.

    Products are never reordered: a rule matches a run of consecutive factors only.
    """
    expanded = sp.expand(expr)
    terms = expanded.args if isinstance(expanded, sp.MatAdd) else (expanded,)
    out = []
    for term in terms:
        factors = list(term.args) if isinstance(term, sp.MatMul) else [term]
        changed = True
        while changed:
            changed = False
            for pattern, replacement in rules:
                for at in range(len(factors) - len(pattern) + 1):
                    if tuple(factors[at : at + len(pattern)]) == pattern:
                        factors[at : at + len(pattern)] = replacement
                        changed = True
                        break
        out.append(sp.MatMul(*factors).doit() if factors else sp.Integer(1))
    return sp.MatAdd(*out).doit()


def _in_covariance(gradient: sp.MatrixExpr) -> sp.MatrixExpr:
    return rewrite(gradient, COVARIANCE_RULES)


@cache
def pca_is_optimal() -> Derivation:
    """Both gradients vanish on the family W1 = C U_kᵀ, W2 = U_k C⁻¹; the loss there is the trailing sum;
    critical points from other eigenvector subsets have a direction of negative curvature."""
    on_family = {W1: C * U_k.T, W2: U_k * C.I}
    g1 = _in_covariance(grad_W1().result)
    g2 = _in_covariance(grad_W2().result)
    at1 = rewrite(g1.xreplace(on_family), EIGEN_RULES)
    at2 = rewrite(g2.xreplace(on_family), EIGEN_RULES)
    if not (isinstance(at1, sp.ZeroMatrix) and isinstance(at2, sp.ZeroMatrix)):
        raise ArithmeticError(f"the gradients on the PCA family did not cancel: {at1}, {at2}")
    # A saddle: in the plane of eigenvectors u_i (left out, σ_i² larger) and u_j (kept), the kept column
    # u_j moves towards u_i along the line W + ε d, d = (e_j u_iᵀ, u_i e_jᵀ). Other directions decouple
    # (u_i is orthogonal to every kept column), so the plane carries the whole second derivative.
    eps = sp.Symbol("epsilon", real=True)
    si, sj = sp.symbols("sigma_i sigma_j", positive=True)
    sigma_plane = sp.diag(si**2, sj**2)  # Σ in the basis (u_i, u_j)
    w2 = sp.Matrix([eps, 1])  # the column u_j + ε u_i
    residual = sp.eye(2) - w2 * w2.T
    plane_loss = (residual * sigma_plane * residual.T).trace()
    curvature = sp.factor(sp.diff(plane_loss, eps, 2).subs(eps, 0))
    sigma = sp.IndexedBase("sigma", positive=True)
    i, j = sp.symbols("i j", integer=True, positive=True)
    derived = curvature.xreplace({si: sigma[i], sj: sigma[j]})
    if sp.expand(derived + 2 * (sigma[i] ** 2 - sigma[j] ** 2)) != 0:
        raise ArithmeticError(f"unexpected curvature {derived}")
    result = {
        "∂L/∂W1 at (C U_kᵀ, U_k C⁻¹)": at1,
        "∂L/∂W2 at (C U_kᵀ, U_k C⁻¹)": at2,
        "L there": min_loss().result,
        "dᵀ H d at a saddle": -2 * (sigma[i] ** 2 - sigma[j] ** 2),
    }
    family = sp.Tuple(times("C", Transposed("U_k")), times("U_k", Inverted("C")))  # the point (C U_kᵀ, U_k C⁻¹)
    steps = (
        Step(
            "With X Xᵀ = nΣ, the derived gradients read",
            rhs=g1,
            lhs=Partial("L", "W_1"),
        ),
        Step("and", rhs=g2, lhs=Partial("L", "W_2")),
        Step(
            "Put W1 = C U_kᵀ, W2 = U_k C⁻¹ (C invertible; C⁻¹C = I cancels) and use U_kᵀU_k = I, Σ U_k = U_k Λ_k "
            "and U_kᵀ Σ = Λ_k U_kᵀ, factor by factor without reordering: the terms cancel.",
            rhs=at1,
            lhs=At(Partial("L", "W_1"), family),
        ),
        Step(
            "Likewise",
            rhs=at2,
            lhs=At(Partial("L", "W_2"), family),
        ),
        Step(
            "The product W2 W1 = U_k U_kᵀ does not depend on C, so the loss on the whole family is the minimum "
            "(lae.min_loss); the minimiser is unique only as the product.",
            rhs=min_loss().result,
            lhs=Name("L"),
        ),
        Step(
            "Any other subset S of k eigenvectors also gives a critical point (the same cancellation). If S leaves "
            "out u_i and keeps u_j with σ_i² > σ_j², move u_j towards u_i: along W + εd, d = (e_j u_iᵀ, u_i e_jᵀ), "
            "the loss restricted to the plane (u_i, u_j) is",
            rhs=plane_loss,
            lhs=plus(sp.Function("L")(Name(r"\epsilon")), minus("c")),
        ),
        Step(
            "Its second derivative at ε = 0, which is dᵀ H d (the gradient vanishes there), is negative: S is "
            "a saddle, not a minimum (Baldi and Hornik, 1989). With ‖d‖² = 2 the Hessian's smallest eigenvalue is "
            "at most −(σ_i² − σ_j²).",
            rhs=derived,
            lhs=times(Transposed("d"), "H", "d"),
        ),
    )
    symbols = {
        **MATRIX_SYMBOLS,
        "sigma": sigma,
        "i": i,
        "j": j,
        "C": C,
        "U_k": U_k,
        "Sigma": Sigma,
        "Lambda_k": Lambda_k,
    }
    return Derivation(result, steps, symbols)

"""The ℓ2-regularised linear autoencoder L_λ = (1/n)‖X − W2 W1 X‖_F² + λ‖W1‖_F² + λ‖W2‖_F².

Its gradients (entry by entry, as for L), the torch.optim.SGD settings that optimise it, the
balance W1 W1ᵀ = W2ᵀ W2 at critical points, and the global minimiser of Kunin et al. (ICML
2019) reduced to one scalar problem per eigen-direction. With the 1/n of this loss, the σ_i²
are the eigenvalues of Σ = XXᵀ/n (Kunin et al.'s loss has no 1/n: theirs are those of XXᵀ).
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from derivations import lae
from derivations.core import Derivation, Step
from derivations.lae import W1, W2, X, k, m, n
from derivations.symbols import Entry, Minimum, Name, Partial, Transposed, Words, minus, plus, power, times

lam = sp.Symbol("lambda", positive=True)
U_k, Lambda_k, Sigma = lae.U_k, lae.Lambda_k, lae.Sigma
O = sp.MatrixSymbol("O", k, k)  # noqa: E741 (the catalog's name)
I_k = sp.Identity(k)
sigma = sp.IndexedBase("sigma", positive=True)
i = sp.Symbol("i", integer=True, positive=True)
OPTIMUM = U_k * sp.MatPow(I_k - lam * Lambda_k.I, sp.Rational(1, 2)) * O


@cache
def grad_W1() -> Derivation:
    R = X - W2 * W1 * X
    return lae.gradient(
        "W_1", -sp.Rational(2) / n * W2.T * R * X.T + 2 * lam * W1, "−(2/n) W2ᵀ (X − W2 W1 X) Xᵀ + 2λ W1", lam
    )


@cache
def grad_W2() -> Derivation:
    R = X - W2 * W1 * X
    return lae.gradient(
        "W_2", -sp.Rational(2) / n * R * X.T * W1.T + 2 * lam * W2, "−(2/n) (X − W2 W1 X) Xᵀ W1ᵀ + 2λ W2", lam
    )


def _sgd_steps(mean: bool) -> tuple[sp.Basic, sp.Basic, tuple[Step, ...]]:
    """Match one torch.optim.SGD step, W ← W − η(∇ℓ + wd·W), to a step along −∇L_λ = −(∇D + 2λW).

    ∇D (the data term's gradient) and W are independent, so both coefficients must match: with
    the step c·∇L_λ, ∇ℓ = s·∇D gives s = c and wd = 2λc. Returns wd and the step's scale c."""
    wd, c = sp.symbols("omega c", real=True)  # ω: the weight_decay
    grad_data, w = sp.symbols("G w", real=True)  # G = ∇D, and w an entry of W
    a, b, p, q = sp.symbols("a b p q", integer=True, positive=True)
    A = sp.IndexedBase("W")
    penalty = lam * sp.Sum(A[a, b] ** 2, (a, 1, k), (b, 1, m))
    d_penalty = sp.diff(penalty, A[p, q]).doit()
    d_penalty = d_penalty.replace(lambda e: isinstance(e, sp.Piecewise), lambda e: e.args[0].expr)
    scale = 1 / m if mean else sp.Integer(1)  # MSELoss's mean also divides by the m coordinates
    sgd = scale * grad_data + wd * w
    target = grad_data + d_penalty.subs(A[p, q], w)
    solved = sp.solve(sp.Poly(sgd - c * target, grad_data, w).coeffs(), [wd, c], dict=True)
    if len(solved) != 1:
        raise ArithmeticError(f"the SGD step matches −∇L_λ in {len(solved)} ways")
    value, step_scale = solved[0][wd], solved[0][c]
    loss_text = (
        "nn.MSELoss() (the mean over the n·m entries of a batch of n) = D/m"
        if mean
        else "the per-sample summed squared error averaged over the batch = D"
    )
    steps = (
        Step(
            "PyTorch's SGD adds weight_decay·W to each parameter's gradient: W ← W − η(∇ℓ + ω·W) with ω the "
            "weight_decay (torch.optim.SGD's documented update, measured in the check)."
        ),
        Step(
            "The penalty's gradient, SymPy entry by entry:",
            rhs=d_penalty,
            lhs=Partial(r"(\lambda \|W\|_F^2)", Entry("W", "p", "q")),
        ),
        Step(
            f"With the loss ℓ = {loss_text}, where D = (1/n)‖X − W2W1X‖_F² is L_λ's data term with gradient G, "
            "one SGD step with weight_decay ω is along (entry by entry)",
            rhs=sgd,
            lhs=plus(r"\nabla \ell", times(r"\omega", "W")),
        ),
        Step(
            "It must be c·∇L_λ = c(G + 2λW); G and W vary independently, so SymPy matches both coefficients and "
            "finds the step's scale",
            rhs=step_scale,
            lhs=Name("c"),
        ),
        Step("and the weight decay", rhs=value, lhs=Name(r"\mathrm{weight\_decay}")),
    )
    return value, step_scale, steps


@cache
def weight_decay() -> Derivation:
    value, _, steps = _sgd_steps(mean=False)
    return Derivation(value, steps, {"lambda": lam, "m": m})


@cache
def weight_decay_mean() -> Derivation:
    value, scale, steps = _sgd_steps(mean=True)
    steps += (
        Step(
            "The step is then 1/m as long as η∇L_λ: multiply the learning rate by m for the same step.",
            rhs=scale,
            lhs=Words("step scale"),
        ),
    )
    return Derivation(value, steps, {"lambda": lam, "m": m})


def mean_step_scale() -> sp.Basic:
    """The scale c of the SGD step with nn.MSELoss's mean reduction, as derived."""
    return _sgd_steps(mean=True)[1]


@cache
def sigma_minimizer() -> Derivation:
    s = sp.Symbol("sigma", positive=True)
    f = 1 / s**2 + s**2
    critical = sp.solve(sp.diff(f, s), s)
    if critical != [1]:
        raise ArithmeticError(f"critical points {critical}")
    second = sp.diff(f, s, 2).subs(s, 1)
    ends = (sp.limit(f, s, 0, "+"), sp.limit(f, s, sp.oo))
    steps = (
        Step(
            "For a fixed product a·b = 1 of two factors (a singular value of W2 times W1's), the penalty "
            "a² + b² with a = σ, b = 1/σ is",
            rhs=f,
            lhs=sp.Function("f")(Name(r"\sigma")),
        ),
        Step("Its derivative", rhs=sp.diff(f, s), lhs=sp.Function("f'")(Name(r"\sigma"))),
        Step("vanishes on σ > 0 only at", rhs=critical[0], lhs=Name(r"\sigma^*")),
        Step("f″ there is positive,", rhs=second, lhs=sp.Function("f''")(1)),
        Step(
            "and f → ∞ at both ends of (0, ∞), so σ = 1 is the global minimiser: the penalty prefers balanced "
            "factors, which is why W1 = W2ᵀ at the regularised optimum.",
            rhs=sp.Tuple(*ends),
            lhs=sp.Tuple(sp.Function("f")(Name("0^+")), sp.Function("f")(sp.oo)),
        ),
    )
    return Derivation(sp.Integer(1), steps, {})


@cache
def _gradients_in_sigma() -> tuple[sp.MatrixExpr, sp.MatrixExpr]:
    """The derived ∂L_λ/∂W1 and ∂L_λ/∂W2 with X Xᵀ = nΣ."""
    return (lae.rewrite(grad_W1().result, lae.COVARIANCE_RULES), lae.rewrite(grad_W2().result, lae.COVARIANCE_RULES))


def _balance() -> sp.MatrixExpr:
    """∇_{W1} W1ᵀ − W2ᵀ ∇_{W2} in Σ-form: the data terms cancel, leaving 2λ(W1W1ᵀ − W2ᵀW2)."""
    g1, g2 = _gradients_in_sigma()
    return lae.rewrite(g1 * W1.T - W2.T * g2, ())


t = sp.Symbol("t", positive=True)  # t = s_i², a squared singular value of W2
s_i = sp.Symbol("sigma_i", positive=True)


@cache
def _scalar_problem() -> tuple[sp.Basic, sp.Basic, sp.Basic]:
    """One eigen-direction: f(t) = σ_i²(1 − t)² + 2λt over t ≥ 0, its minimiser t* for λ < σ_i², and f(t*)."""
    f = s_i**2 * (1 - t) ** 2 + 2 * lam * t
    (root,) = sp.solve(sp.diff(f, t), t)
    return f, root, sp.simplify(f.subs(t, root))


def _saving() -> sp.Basic:
    """σ² − f(t*) for one direction, with a check that it increases in σ² for σ² > λ."""
    saving = sp.factor(s_i**2 - _scalar_problem()[2])
    v = sp.Symbol("v", positive=True)  # v = σ² − λ > 0
    slope = sp.simplify(sp.diff(saving, s_i).subs(s_i, sp.sqrt(lam + v)))
    if not slope.is_positive:
        raise ArithmeticError(f"the saving is not increasing: {slope}")
    return saving


def _explicit_optimum_check() -> sp.Matrix:
    """At m = 3, k = 2 in the eigenbasis (Σ = diag(a, b, c), U_k = [e1 e2]) with a symbolic rotation O:
    the derived gradients of L_λ at W2 = U_k (I − λΛ_k⁻¹)^{1/2} O, W1 = W2ᵀ, simplified."""
    a, b, c, theta = sp.symbols("a b c theta", positive=True)
    Uk = sp.Matrix([[1, 0], [0, 1], [0, 0]])
    rot = sp.Matrix([[sp.cos(theta), -sp.sin(theta)], [sp.sin(theta), sp.cos(theta)]])
    B = Uk * sp.diag(sp.sqrt(1 - lam / a), sp.sqrt(1 - lam / b)) * rot
    sizes = {m: 3, k: 2}
    explicit = {Sigma.subs(sizes): sp.diag(a, b, c), W1.subs(sizes): B.T, W2.subs(sizes): B}
    g1, g2 = (sp.Matrix(g.subs(sizes).xreplace(explicit).doit()) for g in _gradients_in_sigma())
    return sp.simplify(g1).col_join(sp.simplify(g2.T))


@cache
def optimum() -> Derivation:
    balance = _balance()
    expected = 2 * lam * (W1 * W1.T - W2.T * W2)
    if lae.rewrite(balance - expected, ()) != sp.ZeroMatrix(k, k):
        raise ArithmeticError(f"the balance identity: {balance}")
    f, root, _ = _scalar_problem()
    explicit = _explicit_optimum_check()
    if explicit != sp.zeros(*explicit.shape):
        raise ArithmeticError("the gradients at the closed form do not vanish at m = 3, k = 2")
    steps = (
        Step(
            "The gradients of L_λ (rlae.grad_W1, rlae.grad_W2) in Σ = XXᵀ/n give, expanded factor by factor, "
            "W1-gradient·W1ᵀ − W2ᵀ·W2-gradient =",
            rhs=balance,
            lhs=plus(times(r"\nabla_{W_1}", Transposed("W_1")), minus(times(Transposed("W_2"), r"\nabla_{W_2}"))),
        ),
        Step(
            "So at every critical point W1W1ᵀ = W2ᵀW2 (λ > 0): the two layers are balanced, as W1 = W2ᵀ is (the "
            "penalty a² + b² at a fixed product ab prefers a = b: rlae.sigma_minimizer)."
        ),
        Step(
            "With W2 = U_k S O, W1 = W2ᵀ, S = diag(s_i) and u_i eigenvectors of Σ, the loss splits into one term per "
            "direction, with t = s_i² ≥ 0 (Kunin et al. 2019 show the global minimum has this form):",
            rhs=f,
            lhs=sp.Function("f")(Name("t")),
        ),
        Step(
            "Its stationary point, a minimum on t ≥ 0 exactly when λ < σ_i² (else f′ ≥ 0 on t ≥ 0 and t = 0):",
            rhs=root,
            lhs=Name("t^*"),
        ),
        Step(
            "Keeping direction i (t = t*) instead of dropping it (t = 0, loss σ_i²) saves",
            rhs=_saving(),
            lhs=plus(power(r"\sigma_i", 2), minus(sp.Function("f")(Name("t^*")))),
        ),
        Step(
            "which grows with σ_i² above λ, so the k largest eigenvalues are kept, each with t* > 0 when λ < σ_k². "
            "SymPy confirms at m = 3, k = 2 with a symbolic rotation O that both gradients vanish there "
            "(the difference simplifies to 0). The minimiser, W1 = W2ᵀ:",
            rhs=OPTIMUM,
            lhs=Name("W_2^*"),
        ),
        Step(
            "For λ ≥ σ_k² the directions with σ_i² ≤ λ get t* = 0: the optimum's rank drops to #{i : σ_i² > λ}, "
            "and W2 W2ᵀ = Σ_i max(0, 1 − λ/σ_i²) u_i u_iᵀ."
        ),
    )
    symbols = {"m": m, "k": k, "lambda": lam, "U_k": U_k, "Lambda_k": Lambda_k, "O": O}
    return Derivation(OPTIMUM, steps, symbols)


@cache
def min_loss() -> Derivation:
    """The minimum value for λ < σ_k²: each kept direction contributes f(t*), each other one σ_i²."""
    per_direction = _scalar_problem()[2]
    result = sp.Sum(per_direction.subs(s_i, sigma[i]), (i, 1, k)) + sp.Sum(sigma[i] ** 2, (i, k + 1, m))
    steps = (
        Step("At t* = 1 − λ/σ_i² one direction's loss is", rhs=per_direction, lhs=sp.Function("f")(Name("t^*"))),
        Step(
            "The k kept directions contribute that and the others σ_i² (as in lae.min_loss); for λ < σ_k²:",
            rhs=result,
            lhs=Minimum(r"L_\lambda"),
        ),
    )
    return Derivation(result, steps, {"lambda": lam, "m": m, "k": k, "sigma": sigma, "i": i})


@cache
def layers() -> Derivation:
    steps = (
        Step(
            "L_λ has exactly two weight matrices, the encoder W1 (k×m) and the decoder W2 (m×k), composed with no "
            "nonlinearity and no bias (X is centred) and each penalised by λ‖·‖_F²: two bias-free nn.Linear layers. "
            "One layer would learn a single m×m matrix with a different penalty, three a third penalised matrix."
        ),
    )
    return Derivation(frozenset({"2"}), steps, {})


@cache
def loss_fn() -> Derivation:
    steps = (
        Step(
            "The data term (1/n)‖X − W2W1X‖_F² is a mean of squared errors: nn.MSELoss (summed per sample and "
            "averaged over the batch; with its default mean it is 1/m of that, fixed by rlae.weight_decay_mean). "
            "L1Loss penalises absolute errors and CrossEntropyLoss compares class scores, not reconstructions."
        ),
    )
    return Derivation(frozenset({"MSELoss"}), steps, {})


@cache
def needed() -> Derivation:
    steps = (
        Step(
            "The penalty λ‖W1‖² + λ‖W2‖² is weight decay (weight_decay = 2λ, rlae.weight_decay), and the plain "
            "gradient step is torch.optim.SGD (Adam rescales each coordinate). Dropout and layer or batch "
            "normalisation change the function being trained, so none of them belongs to L_λ."
        ),
    )
    return Derivation(frozenset({"weight decay", "SGD"}), steps, {})

"""The vanilla RNN h_t = σ(W^h h_{t-1} + W^x x_t + b), ŷ_t = W^f h_t + b^f, h_0 = 0.

∂L/∂h_t is a row vector (1×m) here, as in the homework: the gradient of L = (ŷ_T − y_T)²
with respect to h_t, obtained by the chain rule from the loss back through the output
layer and T − t recurrence steps, each step's Jacobian derived by the rules of
derivations.jacobian.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from derivations.chain import Chain
from derivations.core import Derivation, Step
from derivations.jacobian import Trace, jacobian
from derivations.matexpr import Elementwise, OrderedProduct, SequenceElement
from derivations.symbols import Name, Partial, Words, minus, over, plus, power

m, n = sp.symbols("m n", integer=True, positive=True)
T = sp.Symbol("T", integer=True, positive=True)
t = sp.Symbol("t", integer=True, positive=True)
k = sp.Symbol("k", integer=True)
j = sp.Symbol("j", integer=True)
W_h = sp.MatrixSymbol("W_h", m, m)
W_x = sp.MatrixSymbol("W_x", m, n)
W_f = sp.MatrixSymbol("W_f", 1, m)
b = sp.MatrixSymbol("b", m, 1)
yhat, y = sp.symbols("yhat y", real=True)  # ŷ_T and y_T
yhat_seq, y_seq = sp.IndexedBase("yhat", real=True), sp.IndexedBase("y", real=True)


def h(index: sp.Basic) -> SequenceElement:
    return SequenceElement("h", index, m, 1)


def x(index: sp.Basic) -> SequenceElement:
    return SequenceElement("x", index, n, 1)


MATRIX_SYMBOLS = {
    "m": m,
    "n": n,
    "T": T,
    "t": t,
    "W^h": W_h,
    "W^x": W_x,
    "W^f": W_f,
    "b": b,
    "yhat": yhat,
    "y": y,
    "h": h(0),
    "x": x(0),
}
LOSS_SYMBOLS = {"T": T, "t": t, "yhat": yhat_seq, "y": y_seq}


@cache
def loss_all_steps() -> Derivation:
    squared = (yhat_seq[t] - y_seq[t]) ** 2
    result = sp.Sum(squared, (t, 1, T)) / T
    steps = (
        Step("Each step t predicts ŷ_t; its squared error is", rhs=squared, lhs=Name("e_t")),
        Step("The mean squared error averages the T errors of one sequence.", rhs=result, lhs=Name("L")),
    )
    return Derivation(result, steps, LOSS_SYMBOLS)


@cache
def loss_last_step() -> Derivation:
    result = (yhat_seq[T] - y_seq[T]) ** 2
    steps = (Step("Only the last prediction is scored: a mean over one term.", rhs=result, lhs=Name("L")),)
    return Derivation(result, steps, LOSS_SYMBOLS)


def _backward(activation: str) -> tuple[list[Step], sp.Basic, sp.MatrixExpr]:
    """The steps shared by both activations: loss → ŷ_T → h_T, and one recurrence step."""
    dL_dyhat = sp.diff((yhat - y) ** 2, yhat)
    trace = Trace()
    dyhat_dh = jacobian(W_f * h(T) + sp.Symbol("b^f") * sp.OneMatrix(1, 1), h(T), trace)
    pre = W_h * h(k - 1) + W_x * x(k) + b
    step_map = pre if activation == "linear" else Elementwise(activation, pre)
    step_trace = Trace()
    step_jacobian = jacobian(step_map, h(k - 1), step_trace)
    steps = [
        Step(
            "The loss of the last step, L = (ŷ_T − y_T)², differentiated in ŷ_T:",
            rhs=dL_dyhat,
            lhs=Partial("L", r"\hat{y}_T"),
        ),
        Step(
            "The output layer ŷ_T = W^f h_T + b^f has the Jacobian",
            rhs=dyhat_dh,
            lhs=Partial(r"\hat{y}_T", "h_T"),
        ),
        Step("One recurrence step maps h_{k−1} to", rhs=step_map, lhs=Name("h_k")),
        *step_trace.steps,
        Step(
            "so one step's Jacobian is",
            rhs=step_jacobian,
            lhs=Partial("h_k", "h_{k-1}"),
        ),
    ]
    return steps, dL_dyhat * dyhat_dh, step_jacobian


LOSS = sp.Symbol("L", real=True)


def _chain(activation: str) -> Chain:
    """The setup as a chain rule: L = (ŷ_T − y_T)², ŷ_T = W^f h_T + b^f, h_k = σ(W^h h_{k−1} + W^x x_k + b)."""

    def step(index: sp.Basic) -> sp.MatrixExpr:
        pre = W_h * h(index - 1) + W_x * x(index) + b
        return pre if activation == "linear" else Elementwise(activation, pre)

    output = W_f * h(T) + sp.Symbol("b^f") * sp.OneMatrix(1, 1)
    return Chain(
        equations={LOSS: (yhat - y) ** 2, yhat: output},
        recurrences={"h": step},
        names={"L": LOSS, "h": h(0), "x": x(0)},
        bounds={t: (1, T)},
    )


@cache
def dL_dh_linear() -> Derivation:
    steps, head, step_jacobian = _backward("linear")
    if step_jacobian != W_h:
        raise ArithmeticError(f"a linear step should have the Jacobian W^h, got {step_jacobian}")
    result = head * sp.MatPow(W_h, T - t)
    steps += [
        Step(
            "From h_t to h_T there are T − t steps, each contributing W^h (the same matrix), so by the chain rule "
            "(row-vector gradient on the left):",
            rhs=result,
            lhs=Partial("L", "h_t"),
        )
    ]
    return Derivation(result, tuple(steps), MATRIX_SYMBOLS, chain=_chain("linear"))


@cache
def dL_dh_tanh() -> Derivation:
    steps, head, step_jacobian = _backward("tanh")
    # tanh'(z_k) = 1 − tanh(z_k)² = 1 − h_k ⊙ h_k: the derivative in terms of the state itself.
    in_states = step_jacobian.replace(
        lambda e: isinstance(e, Elementwise) and e.name == "tanh'",
        lambda e: sp.OneMatrix(m, 1) - sp.HadamardProduct(h(k), h(k)),
    )
    factor = in_states.xreplace({k: T - j})
    result = head * OrderedProduct(factor, (j, 0, T - t - 1))
    steps += [
        Step(
            "Since h_k = tanh(z_k), tanh'(z_k) = 1 − h_k ⊙ h_k:",
            rhs=in_states,
            lhs=Partial("h_k", "h_{k-1}"),
        ),
        Step(
            "The chain rule multiplies the step Jacobians from the output backwards: ∂h_T/∂h_{T−1} first, then "
            "∂h_{T−1}/∂h_{T−2}, …, ∂h_{t+1}/∂h_t — a product over k = T, T−1, …, t+1, written with j = T − k "
            "increasing (left to right):",
            rhs=result,
            lhs=Partial("L", "h_t"),
        ),
    ]
    return Derivation(result, tuple(steps), MATRIX_SYMBOLS, chain=_chain("tanh"))


OPTIONS = ("spectral radius > 1", "spectral radius < 1", "spectral radius = 1", "norm of W^f > 1")


@cache
def explode_condition() -> Derivation:
    """For diagonalizable W^h = P Λ P⁻¹, (W^h)^k = P Λ^k P⁻¹: its entries are combinations of λ_i^k."""
    lam = sp.Symbol("lambda", complex=True)
    steps_k = sp.Symbol("K", integer=True, positive=True)
    s = sp.Symbol("s", positive=True)  # ρ = 1 + s above 1, ρ = 1/(1 + s) below
    rho_above = sp.limit((1 + s) ** steps_k, steps_k, sp.oo)
    rho_below = sp.limit((1 + s) ** -steps_k, steps_k, sp.oo)
    rho_one = sp.limit(sp.Integer(1) ** steps_k, steps_k, sp.oo)
    if not (rho_above == sp.oo and rho_below == 0 and rho_one == 1):
        raise ArithmeticError("unexpected limits")
    steps = (
        Step(
            "∂L/∂h_t = 2(ŷ_T − y_T) W^f (W^h)^{T−t}, and with W^h = P Λ P⁻¹ diagonalizable, "
            "(W^h)^K = P Λ^K P⁻¹ with K = T − t; each entry is a combination of the powers",
            rhs=lam**steps_k,
            lhs=power(r"\lambda_i", "K"),
        ),
        Step(
            "|λ^K| = |λ|^K; as K → ∞ the largest modulus, the spectral radius ρ, dominates. "
            "For ρ = 1 + s above 1 (any s > 0) the powers grow without bound:",
            rhs=rho_above,
            lhs=sp.Limit(power(plus(1, "s"), "K"), Name("K"), sp.oo),
        ),
        Step(
            "for ρ = 1/(1 + s) below 1 they vanish:",
            rhs=rho_below,
            lhs=sp.Limit(power(plus(1, "s"), minus("K")), Name("K"), sp.oo),
        ),
        Step("and for ρ = 1 the powers stay bounded:", rhs=rho_one, lhs=sp.Limit(power(1, "K"), Name("K"), sp.oo)),
        Step(
            "So for generic W^f and ŷ − y the gradient grows without bound exactly when the spectral radius "
            "exceeds 1; the norm of W^f only scales it. (A non-normal W^h with ρ < 1 can grow for a while before "
            "it decays, and a Jordan block at eigenvalue 1 grows polynomially: P is then not invertible.)"
        ),
    )
    return Derivation(frozenset({"spectral radius > 1"}), steps, {})


@cache
def stacked() -> Derivation:
    """The target's own recurrence, and the claim's thresholds."""
    xs = sp.IndexedBase("x")
    mean = sp.Sum(xs[k], (k, 1, t)) / t
    previous = sp.Sum(xs[k], (k, 1, t - 1)) / (t - 1)
    # y_t − y_{t−1} = (x_t − y_{t−1}) / t: verified by peeling the last term of the sum
    peeled = (sp.Sum(xs[k], (k, 1, t - 1)) + xs[t]) / t
    gap = sp.simplify(peeled - previous - (xs[t] - previous) / t)
    if gap != 0:
        raise ArithmeticError("running-mean recurrence")
    thresholds = sp.Tuple(sp.Rational(1, 1000), sp.Rational(1, 100))
    steps = (
        Step("The target is the running mean of the inputs:", rhs=mean, lhs=Name("y_t")),
        Step(
            "Peeling the last term, it obeys y_t = y_{t−1} + (x_t − y_{t−1})/t; the difference simplifies to",
            rhs=gap,
            lhs=plus("y_t", minus("y_{t-1}"), minus(over(plus("x_t", minus("y_{t-1}")), "t"))),
        ),
        Step(
            "A recurrence with the time-varying gain 1/t: an RNN with fixed weights can only approximate it, "
            "through its state (it must count steps). The claim: with at most 8 hidden units, training reaches an "
            "MSE below these thresholds (2 layers, 1 layer):",
            rhs=thresholds,
            lhs=Words("MSE thresholds"),
        ),
    )
    return Derivation(thresholds, steps, {})

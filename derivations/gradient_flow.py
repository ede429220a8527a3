"""How gradients flow back through time and depth: the reasons behind the homework's experiment questions.

Each derivation gives a key (or a claim's thresholds) and the mathematics that predicts it; the
experiments of numerics.gradient_flow measure it (dlverify/experiments/gradient_flow.py compares).
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from derivations import lstm, resnet
from derivations.core import Derivation, Step
from derivations.symbols import Name, Partial

z = sp.Symbol("z", real=True)


def _tanh_steps() -> tuple[Step, ...]:
    derivative = sp.diff(sp.tanh(z), z)
    peak = sp.solve(sp.diff(derivative, z), z)
    if peak != [0] or derivative.subs(z, 0) != 1:
        raise ArithmeticError("tanh' should peak at 1 at z = 0")
    saturated = sp.limit(derivative, z, sp.oo)
    relu = sp.Piecewise((1, z > 0), (0, True))
    return (
        Step(
            "One step's Jacobian is ∂h_t/∂h_{t−1} = diag(φ'(z_t)) W^h, so ∂L/∂h_t carries the product of these over "
            "the later steps. For φ = tanh, SymPy differentiates:",
            rhs=derivative,
            lhs=Name(r"\tanh'(z)"),
        ),
        Step(
            "its only critical point is z = 0, where it is 1: every factor diag(tanh'(z_t)) shrinks, and as a unit "
            "saturates (|z| large, |h| → 1) its factor goes to",
            rhs=saturated,
            lhs=sp.Limit(Name(r"\tanh'(z)"), Name("z"), sp.oo),
        ),
        Step("For φ = ReLU the derivative is 0 or 1:", rhs=relu, lhs=Name(r"\mathrm{ReLU}'(z)")),
        Step(
            "so on its active units a ReLU step's Jacobian is W^h itself, the linear RNN's factor: products grow like "
            "ρ(W^h)^k where the radius exceeds 1, and the states grow with them (ReLU(z) = z for z > 0, unbounded), "
            "while tanh bounds every state by 1 and shrinks every factor. With the same weights, ReLU explodes where "
            "tanh does not, and tanh vanishes where ReLU does not (below ρ ≈ 1 both vanish: ReLU's inactive units "
            "cut the gradient to 0)."
        ),
    )


@cache
def more_exploding() -> Derivation:
    steps = (*_tanh_steps(), Step("So ReLU gives more exploding hidden states and gradients."))
    return Derivation(frozenset({"ReLU"}), steps, {})


@cache
def more_vanishing() -> Derivation:
    steps = (*_tanh_steps(), Step("So tanh gives more vanishing gradients: saturation shrinks tanh'."))
    return Derivation(frozenset({"tanh"}), steps, {})


@cache
def all_targets_long_range() -> Derivation:
    k, t, T = sp.symbols("k t T", integer=True, positive=True)
    total = sp.Sum(Partial(Name("L_k"), Name("h_t")), (k, t, T))
    steps = (
        Step(
            "With a loss at every step, L = Σ_k L_k and each L_k depends on h_t only for k ≥ t:",
            rhs=total,
            lhs=Partial("L", "h_t"),
        ),
        Step(
            "Each term is ∂L_k/∂h_k ∂h_k/∂h_t, and ∂h_k/∂h_t is the product of the k − t one-step Jacobians "
            "diag(1 − h_j ⊙ h_j) W^h, j = t+1..k: the very factor of the last-step loss's gradient when k = T. The "
            "terms with k close to t make ∂L/∂h_t large, but a term that links h_t to a target k − t steps later "
            "vanishes with k − t exactly as in the last-step case: adding losses adds short-range terms, not "
            "long-range signal.",
        ),
        Step("So the statement is false: a loss at every step does not let the network learn long-range dependencies."),
    )
    return Derivation(frozenset({"false"}), steps, {})


@cache
def vanish_slower() -> Derivation:
    cell = lstm.dC_dCprev().result
    steps = (
        Step(
            "A vanilla tanh RNN multiplies the backpropagated gradient by diag(1 − h_t ⊙ h_t) W^h at every step: a "
            "weight matrix and a saturating derivative. The LSTM's cell state passes it back through",
            rhs=cell,
            lhs=Partial(Name("C_t"), Name("C_{t-1}")),
        ),
        Step(
            "with h_{t−1} held: the forget gate alone, entry by entry, with no weight matrix and no tanh' on this "
            "path; where the network keeps f_t near 1 the gradient along the cell path decays as the product of "
            "the f_t, more slowly than the RNN's product of W^h and tanh'. So the statement is true."
        ),
    )
    return Derivation(frozenset({"true"}), steps, {})


@cache
def can_explode() -> Derivation:
    cell = lstm.dC_dCprev().result
    steps = (
        Step("The cell path on its own multiplies by", rhs=cell, lhs=Partial(Name("C_t"), Name("C_{t-1}"))),
        Step(
            "whose entries are in (0, 1): it cannot explode. But the whole one-step Jacobian dh_t/dh_{t−1} also runs "
            "through the gates and the candidate cell, each a σ or tanh of h_{t−1} W: with large recurrent weights "
            "its norm exceeds 1 along the trajectory, and products over many steps grow geometrically, as for "
            "the gated RNN (gated_rnn.can_explode). So the statement is true; one homework solution says LSTM "
            "gradients do not explode, and a stored witness, re-measured, decides it."
        ),
    )
    return Derivation(frozenset({"true"}), steps, {})


@cache
def gradient_through_depth() -> Derivation:
    block = resnet.jacobian_step().result
    sigma = 1 / (1 + sp.exp(-z))
    slope = sp.simplify(sp.diff(sigma, z))
    peak = sp.solve(sp.diff(slope, z), z)
    largest = sp.simplify(slope.subs(z, 0))
    if peak != [0] or largest != sp.Rational(1, 4):
        raise ArithmeticError("σ' should peak at 1/4 at z = 0")
    # with skips ‖∂h_L/∂h_0‖ within [1/2, 4] at every depth; without, below 10⁻⁶ by L = 16; σ' ≤ 1/4
    thresholds = sp.Tuple(sp.Rational(1, 2), sp.Integer(4), sp.Rational(1, 10**6), largest)
    steps = (
        Step(
            "One residual block's Jacobian (resnet.jacobian):",
            rhs=block,
            lhs=Partial(Name("h_{t+1}"), Name("h_t")),
        ),
        Step(
            "so ∂h_L/∂h_0 is the product of (I + diag(σ'(W_t h_t + b_t)) W_t) over the L blocks. Expanded, it is I + "
            "Σ_t diag(σ'(z_t)) W_t + …: the identity path carries the gradient through every skip unattenuated, "
            "as the LSTM's cell state does with f_t = 1. Without the skip only the product of diag(σ'(z_t)) W_t "
            "remains, and σ' is at most",
            rhs=largest,
            lhs=Name(r"\max_z \sigma'(z)"),
        ),
        Step(
            "(SymPy: σ' = σ(1 − σ) has its only critical point at z = 0). So without skips ‖∂h_L/∂h_0‖_2 ≤ "
            "∏_t ‖W_t‖_2/4, geometric decay when ‖W_t‖_2 < 4. The claim's thresholds — with skips the norm stays "
            "within [1/2, 4] at every depth up to 64; without, it falls below 10^(−6) by L = 16 and under the bound "
            "with σ' ≤ 1/4 at every depth:",
            rhs=thresholds,
            lhs=Name(r"\text{thresholds}"),
        ),
    )
    return Derivation(thresholds, steps, {})

"""AttentionRNN(k): attention over the input and the last k states.

q_i = Q_i s_i, k_i = K_i s_i, v_i = V_i s_i with s_0 = x[t], s_i = h[t−i] (i ≥ 1);
w_i = q_iᵀ k_i, a = softargmax(w_0, …, w_k), h[t] = Σ_i a_i v_i; all matrices n×n.

Only s_1 = h[t−1] depends on h[t−1], so ∂h[t]/∂h[t−1] has the same form for every k ≥ 1,
and for AttentionRNN(∞) with Q, K, V shared by all past states.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from derivations.core import Derivation, Step
from derivations.jacobian import Trace, jacobian
from derivations.symbols import Entry, Name, Partial, Words, minus, offset, plus, times

n = sp.Symbol("n", integer=True, positive=True)
k = sp.Symbol("k", integer=True, positive=True)
Q = {i: sp.MatrixSymbol(f"Q_{i}", n, n) for i in range(3)}
K = {i: sp.MatrixSymbol(f"K_{i}", n, n) for i in range(3)}
V = {i: sp.MatrixSymbol(f"V_{i}", n, n) for i in range(3)}
x_t = sp.MatrixSymbol("x_t", n, 1)
h_prev = sp.MatrixSymbol("h_{t-1}", n, 1)
h_prev2 = sp.MatrixSymbol("h_{t-2}", n, 1)
h_t = sp.MatrixSymbol("h_t", n, 1)
v_1 = sp.MatrixSymbol("v_1", n, 1)
a = {i: sp.Symbol(f"a_{i}", positive=True) for i in range(3)}
S = {0: x_t, 1: h_prev, 2: h_prev2}

SYMBOLS = {
    "n": n,
    **{f"Q_{i}": Q[i] for i in range(3)},
    **{f"K_{i}": K[i] for i in range(3)},
    **{f"V_{i}": V[i] for i in range(3)},
    "x_t": x_t,
    "h_{t-1}": h_prev,
    "h_{t-2}": h_prev2,
    **{f"a_{i}": a[i] for i in range(3)},
    "h_t": h_t,
    "v_1": v_1,
}
DEFINITIONS = {"v_1": V[1] * h_prev, "h_t": sp.MatAdd(*(a[i] * V[i] * S[i] for i in range(3)))}
# The setup's named intermediates q_i[t] = Q_i s_i, k_i[t] = K_i s_i, v_i[t] = V_i s_i, which an
# answer may use (the catalog's rule for an item that lists no symbols).
SETUP_SYMBOLS = {
    f"{name}_{i}": sp.MatrixSymbol(f"{name}_{i}", n, 1) for name in "qkv" for i in range(3) if (name, i) != ("v", 1)
}
SETUP = {
    f"{name}_{i}": M[i] * S[i] for name, M in (("q", Q), ("k", K), ("v", V)) for i in range(3) if (name, i) != ("v", 1)
}


def softargmax(queries: list[sp.MatrixExpr], keys: list[sp.MatrixExpr], states: list[sp.MatrixExpr]) -> list[sp.Expr]:
    """The weights a_i = e^{w_i} / Σ_j e^{w_j} of the scores w_i = (Q_i s_i)ᵀ (K_i s_i), in the inputs.

    A score is a 1×1 product, written as its trace so that it is a scalar SymPy can put in exp."""
    scores = [sp.Trace((Qi * s).T * (Ki * s)) for Qi, Ki, s in zip(queries, keys, states, strict=True)]
    total = sp.Add(*(sp.exp(w) for w in scores))
    return [sp.exp(w) / total for w in scores]


# The weights are the model's, not free: Σ_i a_i = 1 holds wherever an answer is judged.
WEIGHTS = {f"a_{i}": w for i, w in enumerate(softargmax([Q[i] for i in S], [K[i] for i in S], list(S.values())))}


@cache
def a_shape() -> Derivation:
    """softargmax of the k + 1 scores w_0..w_k is a vector of k + 1 weights; k = 2 here."""
    w = sp.MatrixSymbol("w", k + 1, 1)
    shape = sp.Tuple(*w.shape).subs(k, 2)
    steps = (
        Step(
            "There is one score w_i = q_iᵀ k_i (a scalar) for each of s_0, …, s_k, so a[t] has k + 1 entries; "
            "at k = 2:",
            rhs=shape,
            lhs=Words("shape of", Entry("a", "t")),
        ),
    )
    return Derivation(sp.Tuple(k + 1).subs(k, 2), steps, {})


@cache
def softmax_derivative() -> Derivation:
    """∂a_i/∂w_j = a_i (δ_ij − a_j), by SymPy from the definition of softargmax (k = 2)."""
    w = sp.symbols("w_0:3", real=True)
    total = sum(sp.exp(wi) for wi in w)
    soft = [sp.exp(wi) / total for wi in w]
    checks = []
    for i in range(3):
        for j in range(3):
            claim = soft[i] * (int(i == j) - soft[j])
            checks.append(sp.simplify(sp.diff(soft[i], w[j]) - claim))
    if any(c != 0 for c in checks):
        raise ArithmeticError("softargmax derivative")
    steps = (
        Step(
            "With a_i = e^{w_i} / Σ_j e^{w_j}, SymPy differentiates each a_i in each w_j; the difference from "
            "a_i(δ_ij − a_j) simplifies to 0 for all nine pairs:",
            rhs=sp.Integer(0),
            lhs=plus(Partial("a_i", "w_j"), minus(times("a_i", plus(r"\delta_{ij}", minus("a_j"))))),
        ),
    )
    return Derivation(sp.Integer(0), steps, {})


@cache
def dh_dhprev() -> Derivation:
    trace = Trace()
    score = (Q[1] * h_prev).T * (K[1] * h_prev)
    dw = jacobian(score, h_prev, trace)
    dv = jacobian(V[1] * h_prev, h_prev, trace)
    result = a[1] * dv + a[1] * (v_1 - h_t) * dw
    steps = (
        Step(
            "Only s_1 = h[t−1] depends on h[t−1]: through v_1 = V_1 h[t−1], whose Jacobian is",
            rhs=dv,
            lhs=Partial("v_1", Entry("h", offset("t", -1))),
        ),
        Step("and through the score w_1 = (Q_1 h[t−1])ᵀ (K_1 h[t−1]):", rhs=score, lhs=Name("w_1")),
        *trace.steps,
        Step("so its gradient (a row) is", rhs=dw, lhs=Partial("w_1", Entry("h", offset("t", -1)))),
        *softmax_derivative().steps,
        Step(
            "h[t] = Σ_i a_i v_i, so ∂h[t]/∂h[t−1] = a_1 ∂v_1/∂h[t−1] + Σ_i v_i ∂a_i/∂w_1 ∂w_1/∂h[t−1], and "
            "Σ_i v_i a_i(δ_i1 − a_1) = a_1 (v_1 − Σ_i a_i v_i) = a_1 (v_1 − h[t]):",
            rhs=result,
            lhs=Partial(Entry("h", "t"), Entry("h", offset("t", -1))),
        ),
    )
    return Derivation(result, steps, {**SYMBOLS, **SETUP_SYMBOLS}, DEFINITIONS, setup=SETUP, determined=WEIGHTS)


@cache
def infinite() -> Derivation:
    """AttentionRNN(∞): Q, K, V shared by every past state; the same derivation with Q_1 = Q etc."""
    shared = {Q[1]: sp.MatrixSymbol("Q", n, n), K[1]: sp.MatrixSymbol("K", n, n), V[1]: sp.MatrixSymbol("V", n, n)}
    base = dh_dhprev()
    result = base.result.xreplace(shared)
    steps = (
        Step(
            "With weight sharing, s_1 = h[t−1] is still the only attended state that depends on h[t−1] "
            "(earlier states do not depend on it), so the k = 2 derivation holds with Q_1, K_1, V_1 → Q, K, V and "
            "a_1, h[t] computed over all past states:",
            rhs=result,
            lhs=Partial(Entry("h", "t"), Entry("h", offset("t", -1))),
        ),
    )
    symbols = {
        "n": n,
        "Q": shared[Q[1]],
        "K": shared[K[1]],
        "V": shared[V[1]],
        "h_{t-1}": h_prev,
        "a_1": a[1],
        "h_t": h_t,
        "v_1": v_1,
    }
    # a_1 and h[t] of the model over x[t], h[t−1] and one earlier state h[t−2] (t = 2), all with the shared
    # Q, K, V: the states the answer does not name are drawn, the weights and h[t] computed from them
    states = [x_t, h_prev, h_prev2]
    weights = softargmax([symbols["Q"]] * 3, [symbols["K"]] * 3, states)
    state = sp.MatAdd(*(w * symbols["V"] * s for w, s in zip(weights, states, strict=True)))
    determined = {"a_1": weights[1], "h_t": state}
    return Derivation(result, steps, symbols, {"v_1": shared[V[1]] * h_prev}, determined=determined)

"""The gated RNN c[t] = σ(W_c x[t] + W_h h[t−1]), h[t] = c[t] ⊙ h[t−1] + (1 − c[t]) ⊙ W_x x[t]."""

from __future__ import annotations

from functools import cache

import sympy as sp

from derivations.chain import Chain
from derivations.core import Derivation, Step
from derivations.jacobian import Trace, jacobian
from derivations.matexpr import Elementwise, MatrixSum, SequenceElement
from derivations.symbols import Containing, Entry, Partial, Sub, Words, offset

m, n, K = sp.symbols("m n K", integer=True, positive=True)
t = sp.Symbol("t", integer=True, positive=True)
W_c = sp.MatrixSymbol("W_c", m, n)
W_h = sp.MatrixSymbol("W_h", m, m)
W_x = sp.MatrixSymbol("W_x", m, n)
x_t = sp.MatrixSymbol("x_t", n, 1)
h_prev = sp.MatrixSymbol("h_{t-1}", m, 1)
c_t = sp.MatrixSymbol("c_t", m, 1)
GATE = Elementwise("sigma", W_c * x_t + W_h * h_prev)
ONES = sp.OneMatrix(m, 1)
STEP = sp.HadamardProduct(GATE, h_prev) + sp.HadamardProduct(ONES - GATE, W_x * x_t)

SYMBOLS = {"m": m, "n": n, "W_c": W_c, "W_h": W_h, "W_x": W_x, "x_t": x_t, "h_{t-1}": h_prev, "c_t": c_t}
DEFINITIONS = {"c_t": GATE}


def seq(name: str, rows: sp.Basic, index: sp.Basic = t) -> SequenceElement:
    return SequenceElement(name, index, rows, 1)


SUM_SYMBOLS = {"m": m, "n": n, "K": K, "t": t, "c": seq("c", m, 0), "g": seq("g", m, 0), "x": seq("x", n, 0)}


@cache
def c_shape() -> Derivation:
    pre = W_c * x_t + W_h * h_prev
    steps = (
        Step(
            f"W_c x[t] is ({m}×{n})({n}×1) = {m}×1 and W_h h[t−1] is ({m}×{m})({m}×1) = {m}×1; "
            "SymPy's shape algebra gives the shape of the sum:",
            rhs=sp.Tuple(*pre.shape),
            lhs=Words("shape"),
        ),
        Step(
            "σ acts entry by entry, so it keeps the shape:",
            rhs=sp.Tuple(*GATE.shape),
            lhs=Words("shape of", Entry("c", "t")),
        ),
    )
    return Derivation(sp.Tuple(*GATE.shape), steps, {"m": m, "n": n})


@cache
def dh_dhprev() -> Derivation:
    trace = Trace()
    raw = jacobian(STEP, h_prev, trace)
    # In terms of the gate itself: σ(z) = c[t] and σ'(z) = c[t] ⊙ (1 − c[t]).
    result = raw.xreplace({Elementwise("sigma'", GATE.arg): sp.HadamardProduct(c_t, ONES - c_t), GATE: c_t})
    steps = (
        Step("One step of the gated RNN as a function of h[t−1]:", rhs=STEP, lhs=Entry("h", "t")),
        *trace.steps,
        Step("By the rules above:", rhs=raw, lhs=Partial(Entry("h", "t"), Entry("h", offset("t", -1)))),
        Step(
            "Writing c[t] = σ(W_c x[t] + W_h h[t−1]) and σ' = σ(1 − σ):",
            rhs=result,
            lhs=Partial(Entry("h", "t"), Entry("h", offset("t", -1))),
        ),
    )
    return Derivation(result, steps, SYMBOLS, DEFINITIONS, chain=_chain())


H_T = sp.MatrixSymbol("h_t", m, 1)


def _chain() -> Chain:
    """One step as a chain rule: h[t] = c[t] ⊙ h[t−1] + (1 − c[t]) ⊙ W_x x[t], c[t] = σ(W_c x[t] + W_h h[t−1])."""
    update = sp.HadamardProduct(c_t, h_prev) + sp.HadamardProduct(ONES - c_t, W_x * x_t)
    step = sp.Symbol("t", integer=True)
    return Chain(
        equations={H_T: update, c_t: GATE},
        steps={H_T: step, c_t: step, h_prev: step - 1, x_t: step},
        names={"h_t": H_T, "h[t]": H_T},
    )


@cache
def dl_dWx() -> Derivation:
    """Entry by entry with indexed symbols, then recognised as a sum of outer products."""
    i, j, k, l_ = sp.symbols("i j k l", integer=True)
    W = sp.IndexedBase("W_x")
    xb, cb, gb = sp.IndexedBase("x"), sp.IndexedBase("c"), sp.IndexedBase("g")
    direct = (1 - cb[i]) * sp.Sum(W[i, j] * xb[j], (j, 1, n))  # the part of h[t]_i that W_x enters directly
    local = sp.diff(direct, W[k, l_]).doit()
    entry = sp.Sum(gb[i] * local, (i, 1, m)).doit()
    outer = ((1 - cb[k]) * gb[k]) * xb[l_]  # entry [k, l] of ((1 − c) ⊙ g) xᵀ
    # SymPy keeps the Kronecker deltas' range conditions; (k, l) is an entry, so they hold.
    domain = {k >= 1, l_ >= 1, k <= m, l_ <= n}

    def in_domain(cond: sp.Basic) -> bool:
        parts = cond.args if isinstance(cond, sp.And) else (cond,)
        return all(p in domain for p in parts)

    for _ in range(3):  # nested Piecewise: one layer at a time
        entry = entry.replace(
            lambda e: isinstance(e, sp.Piecewise) and in_domain(e.args[0].cond), lambda e: e.args[0].expr
        )
    gap = sp.simplify(entry - outer)
    if gap != 0:
        raise ArithmeticError(f"the outer-product form does not match the entries: {gap}")
    term = sp.HadamardProduct(ONES - seq("c", m), seq("g", m)) * seq("x", n).T
    result = MatrixSum(term, (t, 1, K))
    steps = (
        Step(
            "W_x enters h[t] only through (1 − c[t]) ⊙ W_x x[t]; its i-th entry is",
            rhs=direct,
            lhs=Containing(Sub(Entry("h", "t"), "i")),
        ),
        Step(
            "Differentiating in the entry (W_x)_{kl} (c[t] does not depend on W_x):",
            rhs=local,
            lhs=Partial(Sub(Entry("h", "t"), "i"), Sub("W_x", "k", "l")),
        ),
        Step(
            "With g_t = ∂ℓ/∂h[t] the backpropagated gradient, step t contributes Σ_i g_t[i] ∂h[t]_i/∂(W_x)_{kl}:",
            rhs=entry,
            lhs=Sub(Partial(r"\ell", "W_x"), "k", "l"),
        ),
        Step(
            "which is entry [k, l] of the outer product ((1 − c[t]) ⊙ g_t) x[t]ᵀ (the difference simplifies to 0):",
            rhs=gap,
            lhs=Words("difference"),
        ),
        Step(
            "W_x is shared by all steps, so the contributions of t = 1..K add up:",
            rhs=result,
            lhs=Partial(r"\ell", "W_x"),
        ),
    )
    return Derivation(result, steps, SUM_SYMBOLS)


OPTIONS = ("true", "false")


def _can(kind: str) -> Derivation:
    jac = dh_dhprev()
    text = (
        "diag(c[t]) has entries in (0, 1), but the second term grows with W_h and with h[t−1] − W_x x[t]: "
        "large recurrent weights make a step's Jacobian larger than 1 in norm, so products over many steps can grow."
        if kind == "explode"
        else "When c[t] → 0 (W_c x[t] very negative) and W_h is small, every step's Jacobian is near 0, so "
        "products over many steps shrink to 0."
    )
    steps = (
        Step(
            "The backpropagated gradient is multiplied by one step's Jacobian per step:",
            rhs=jac.result,
            lhs=Partial(Entry("h", "t"), Entry("h", offset("t", -1))),
        ),
        Step(text + " A stored witness (found by search, re-measured by the tests) shows it."),
    )
    return Derivation(frozenset({"true"}), steps, {})


@cache
def can_explode() -> Derivation:
    return _can("explode")


@cache
def can_vanish() -> Derivation:
    return _can("vanish")

"""The residual block h_{t+1} = σ(W_t h_t + b_t) + h_t and its Jacobian ∂h_{t+1}/∂h_t."""

from __future__ import annotations

from functools import cache

import sympy as sp

from derivations.core import Derivation, Step
from derivations.jacobian import Trace, jacobian
from derivations.matexpr import Elementwise
from derivations.symbols import Name, Partial

m = sp.Symbol("m", integer=True, positive=True)
W = sp.MatrixSymbol("W_t", m, m)
h = sp.MatrixSymbol("h_t", m, 1)
b = sp.MatrixSymbol("b_t", m, 1)
SYMBOLS = {"m": m, "W_t": W, "h_t": h, "b_t": b}


@cache
def jacobian_step() -> Derivation:
    block = Elementwise("sigma", W * h + b) + h
    trace = Trace()
    result = jacobian(block, h, trace)
    steps = (
        Step("The residual block: a σ layer plus the identity path.", rhs=block, lhs=Name("h_{t+1}")),
        Step("The identity path contributes ∂h_t/∂h_t = I."),
        *trace.steps,
        Step(
            "The affine map W_t h_t + b_t contributes W_t; adding the two paths:",
            rhs=result,
            lhs=Partial("h_{t+1}", "h_t"),
        ),
    )
    return Derivation(result, steps, SYMBOLS)

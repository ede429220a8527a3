"""The GRU cell with PyTorch's equations, and its Jacobian ∂h_t/∂h_{t−1} (beyond the homework).

r = σ(W_ir x + b_ir + W_hr h + b_hr), z = σ(W_iz x + b_iz + W_hz h + b_hz),
n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), h' = (1 − z) ⊙ n + z ⊙ h.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from derivations.core import Derivation, Step
from derivations.jacobian import Trace, jacobian
from derivations.matexpr import Elementwise
from derivations.symbols import Name, Partial

m, d = sp.symbols("m d", integer=True, positive=True)  # hidden and input sizes
x = sp.MatrixSymbol("x_t", d, 1)
h = sp.MatrixSymbol("h_{t-1}", m, 1)
W_i = {g: sp.MatrixSymbol(f"W_i{g}", m, d) for g in "rzn"}
W_h = {g: sp.MatrixSymbol(f"W_h{g}", m, m) for g in "rzn"}
b_i = {g: sp.MatrixSymbol(f"b_i{g}", m, 1) for g in "rzn"}
b_h = {g: sp.MatrixSymbol(f"b_h{g}", m, 1) for g in "rzn"}
SYMBOLS = {
    "m": m,
    "d": d,
    "x_t": x,
    "h_{t-1}": h,
    **{f"W_i{g}": W_i[g] for g in "rzn"},
    **{f"W_h{g}": W_h[g] for g in "rzn"},
    **{f"b_i{g}": b_i[g] for g in "rzn"},
    **{f"b_h{g}": b_h[g] for g in "rzn"},
}


@cache
def dh_dhprev() -> Derivation:
    r = Elementwise("sigma", W_i["r"] * x + b_i["r"] + W_h["r"] * h + b_h["r"])
    z = Elementwise("sigma", W_i["z"] * x + b_i["z"] + W_h["z"] * h + b_h["z"])
    n = Elementwise("tanh", W_i["n"] * x + b_i["n"] + sp.HadamardProduct(r, W_h["n"] * h + b_h["n"]))
    cell = sp.HadamardProduct(sp.OneMatrix(m, 1) - z, n) + sp.HadamardProduct(z, h)
    trace = Trace()
    result = jacobian(cell, h, trace)
    steps = (
        Step("PyTorch's GRU cell (torch.nn.GRUCell) as a function of h_{t−1}:", rhs=cell, lhs=Name("h_t")),
        *trace.steps,
        Step(
            "Collecting the terms (the reset gate enters n inside tanh, the update gate twice):",
            rhs=result,
            lhs=Partial("h_t", "h_{t-1}"),
        ),
    )
    return Derivation(result, steps, SYMBOLS)

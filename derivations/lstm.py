"""The LSTM cell in the homework's row-vector convention, and its cell-state gradient path.

f_t = σ(x_t U^f + h_{t−1} W^f + b^f), likewise i_t, o_t; C̃_t = tanh(x_t U^g + h_{t−1} W^g + b^g);
C_t = f_t ∘ C_{t−1} + i_t ∘ C̃_t;  h_t = tanh(C_t) ∘ o_t.

The Jacobians are derived by the rules of derivations.jacobian on the transposed
(column) form of the cell, then written with the gates as the row vectors of the
homework; the Jacobians here are diagonal, so the two layouts agree.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from derivations.chain import Chain
from derivations.core import Derivation, Step
from derivations.jacobian import Trace, jacobian
from derivations.matexpr import Elementwise
from derivations.symbols import Name, Partial, times

m, n = sp.symbols("m n", integer=True, positive=True)


def _col(name: str) -> sp.MatrixSymbol:
    return sp.MatrixSymbol(name, m, 1)


def _row(name: str) -> sp.MatrixSymbol:
    return sp.MatrixSymbol(name, 1, m)


# Row vectors of the homework (1×m), and the one-step quantities the answers use.
f_T, o_T, C_T, o_prev, C_prev = (_row(s) for s in ("f_T", "o_T", "C_T", "o_{T-1}", "C_{T-1}"))
g = _row("g")
J = sp.MatrixSymbol("J", m, m)
SYMBOLS = {"m": m, "f_T": f_T, "o_T": o_T, "C_T": C_T, "o_{T-1}": o_prev, "C_{T-1}": C_prev, "g": g, "J": J}

# The setup's own symbols at the item's step, as rows: an answer may expand a gate,
# diag(σ(x_t U^f + h_{t−1} W^f + b^f)) for diag(f_t).
x_T, h_Tprev = sp.MatrixSymbol("x_T", 1, n), _row("h_{T-1}")
ROW_WEIGHTS = {
    gate: (sp.MatrixSymbol(f"U^{gate}", n, m), sp.MatrixSymbol(f"W^{gate}", m, m), _row(f"b^{gate}")) for gate in "fiog"
}
i_T, Ctilde_T = _row("i_T"), _row("Ctilde_T")
SETUP_SYMBOLS = {
    "n": n,
    "x_T": x_T,
    "h_{T-1}": h_Tprev,
    "i_T": i_T,
    "Ctilde_T": Ctilde_T,
    **{name: obj for U, W, b in ROW_WEIGHTS.values() for name, obj in ((U.name, U), (W.name, W), (b.name, b))},
}


def _row_gate(gate: str, activation: str) -> sp.MatrixExpr:
    U, W, b = ROW_WEIGHTS[gate]
    return Elementwise(activation, x_T * U + h_Tprev * W + b)


SETUP = {
    "f_T": _row_gate("f", "sigma"),
    "i_T": _row_gate("i", "sigma"),
    "o_T": _row_gate("o", "sigma"),
    "Ctilde_T": _row_gate("g", "tanh"),
    "C_T": sp.HadamardProduct(f_T, C_prev) + sp.HadamardProduct(i_T, Ctilde_T),
}


h_T = _row("h_T")
LOSS = sp.Symbol("L", real=True)


def _chain(named: bool = False) -> Chain:
    """The cell as a chain rule, in rows: h_T = tanh(C_T) ∘ o_T, C_T = f_T ∘ C_{T−1} + i_T ∘ C̃_T, the gates
    of x_T and h_{T−1}, and h_{T−1} = tanh(C_{T−1}) ∘ o_{T−1}; with ``named``, the item's g = ∂L/∂h_T and
    J = ∂h_T/∂h_{T−1}."""
    T = sp.Symbol("T", integer=True)
    equations = {
        h_T: sp.HadamardProduct(Elementwise("tanh", C_T), o_T),
        h_Tprev: sp.HadamardProduct(Elementwise("tanh", C_prev), o_prev),
        **{SYMBOLS.get(k, SETUP_SYMBOLS.get(k)): v for k, v in SETUP.items()},
    }
    steps = {q: T for q in (h_T, C_T, f_T, i_T, o_T, Ctilde_T)} | {h_Tprev: T - 1, C_prev: T - 1, o_prev: T - 1}
    given = {(LOSS, h_T): g, (h_T, h_Tprev): J} if named else {}
    names = {"L": LOSS, "h_T": h_T, "h_t": h_T, "h_{T-1}": h_Tprev, "h_{t-1}": h_Tprev}
    return Chain(equations=equations, given=given, steps=steps, names=names)


def _with_setup() -> dict[str, sp.Basic]:
    return {**SYMBOLS, **SETUP_SYMBOLS}


# The cell in column form: each row vector v of the homework is vᵀ here.
x = sp.MatrixSymbol("x", n, 1)
h_prev = _col("h_prev")
c_prev = _col("c_prev")
GATE_WEIGHTS = {
    gate: (sp.MatrixSymbol(f"U_{gate}", n, m), sp.MatrixSymbol(f"W_{gate}", m, m), _col(f"b_{gate}")) for gate in "fiog"
}


def _gate(name: str, activation: str) -> sp.MatrixExpr:
    U, W, b = GATE_WEIGHTS[name]
    return Elementwise(activation, U.T * x + W.T * h_prev + b)


def _to_rows(expr: sp.Basic, columns: dict[sp.Basic, sp.MatrixSymbol]) -> sp.Basic:
    return expr.xreplace(columns)


@cache
def dC_dCprev() -> Derivation:
    f, i, c_tilde = _gate("f", "sigma"), _gate("i", "sigma"), _gate("g", "tanh")
    cell = sp.HadamardProduct(f, c_prev) + sp.HadamardProduct(i, c_tilde)
    trace = Trace()
    column = jacobian(cell, c_prev, trace)
    f_col = _col("f_T")
    result = _to_rows(column.xreplace({f: f_col}), {f_col: f_T})
    steps = (
        Step(
            "The cell update, with the gates computed from x_t and h_{t−1} (held fixed here):",
            rhs=cell,
            lhs=Name("C_t"),
        ),
        *trace.steps,
        Step(
            "The gates do not depend on C_{t−1} when h_{t−1} is fixed, so only f_t ∘ C_{t−1} remains:",
            rhs=result,
            lhs=Partial("C_t", "C_{t-1}"),
        ),
    )
    return Derivation(result, steps, _with_setup(), setup=SETUP, chain=_chain())


def _dh_dC(c: sp.MatrixSymbol, o: sp.MatrixSymbol, trace: Trace) -> sp.MatrixExpr:
    # column twins of the row symbols, with the same names so the recorded steps read right
    c_col, o_col = _col(c.name), _col(o.name)
    column = jacobian(sp.HadamardProduct(Elementwise("tanh", c_col), o_col), c_col, trace)
    return _to_rows(column, {c_col: c, o_col: o})


@cache
def dh_dC() -> Derivation:
    trace = Trace()
    result = _dh_dC(C_T, o_T, trace)
    steps = (
        Step("The output h_t = tanh(C_t) ∘ o_t, with the output gate o_t not depending on C_t."),
        *trace.steps,
        Step("so the Jacobian is diagonal:", rhs=result, lhs=Partial("h_t", "C_t")),
    )
    return Derivation(result, steps, _with_setup(), setup=SETUP, chain=_chain())


@cache
def dL_dCprev() -> Derivation:
    trace = Trace()
    through_cell = _dh_dC(C_T, o_T, trace) * sp.DiagMatrix(f_T)
    through_state = J * _dh_dC(C_prev, o_prev, trace)
    result = g * through_cell + g * through_state
    steps = (
        Step(
            "L depends on h_T only; g = ∂L/∂h_T is a row vector. C_{T−1} reaches h_T along two paths: "
            "through C_T = f_T ∘ C_{T−1} + … (h_{T−1} fixed), and through h_{T−1} = tanh(C_{T−1}) ∘ o_{T−1}, "
            "which then moves h_T by the whole one-step Jacobian J = dh_T/dh_{T−1}."
        ),
        *trace.steps,
        Step(
            "Path through C_T: ∂h_T/∂C_T times ∂C_T/∂C_{T−1} = diag(f_T):",
            rhs=through_cell,
            lhs=times(Partial("h_T", "C_T"), Partial("C_T", "C_{T-1}")),
        ),
        Step(
            "Path through h_{T−1}: J times ∂h_{T−1}/∂C_{T−1}:",
            rhs=through_state,
            lhs=times("J", Partial("h_{T-1}", "C_{T-1}")),
        ),
        Step(
            "The multivariate chain rule adds the paths, with g on the left:",
            rhs=result,
            lhs=Partial("L", "C_{T-1}"),
        ),
    )
    return Derivation(result, steps, SYMBOLS, chain=_chain(named=True), determined=_gates_of_two_steps())


def _gates_of_two_steps() -> dict[str, sp.Basic]:
    """f_T, o_T, C_T and o_{T−1} as the cell computes them (gates in (0, 1)), from inputs the item does
    not name (x_T, h_{T−1}, the weights; x_{T−1}, h_{T−2} for the step before), which a point draws."""
    x_before, h_before2 = sp.MatrixSymbol("x_{T-1}", 1, n), _row("h_{T-2}")
    U_o, W_o, b_o = ROW_WEIGHTS["o"]
    return {
        "f_T": SETUP["f_T"],
        "o_T": SETUP["o_T"],
        "C_T": sp.HadamardProduct(f_T, C_prev) + sp.HadamardProduct(SETUP["i_T"], SETUP["Ctilde_T"]),
        "o_{T-1}": Elementwise("sigma", x_before * U_o + h_before2 * W_o + b_o),
    }

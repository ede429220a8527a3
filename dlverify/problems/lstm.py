"""Topic lstm: the cell-state gradient path, in the homework's row-vector convention.

The oracle is an explicit LSTM cell in PyTorch (numerics.lstm); Jacobians by jacrev,
∂L/∂C_{T−1} by autograd through two steps.  The givens of each formula (gates, cells,
g = ∂L/∂h_T, the one-step Jacobian J) come from the same cell's forward pass.
"""

from __future__ import annotations

import sys
from typing import Any

from dlverify.lazy import lazy
from dlverify.problem import Case, Problem, SymbolSpec, Topic

TOPIC = Topic("lstm", "LSTM: the cell-state gradient path", order=30)
NUMERIC = lazy("numerics.lstm")
DERIVED = lazy("derivations.lstm")
EPS = sys.float_info.epsilon
SETUP = (
    "An LSTM in the row-vector convention: f_t = σ(x_t U^f + h_{t−1} W^f + b^f), i_t and o_t likewise, "
    "C̃_t = tanh(x_t U^g + h_{t−1} W^g + b^g), C_t = f_t ∘ C_{t−1} + i_t ∘ C̃_t, h_t = tanh(C_t) ∘ o_t."
)


def _row(name: str, meaning: str, *spellings: str) -> SymbolSpec:
    return SymbolSpec(name, name, "matrix", meaning, spellings, shape=("1", "m"))


SIZE = SymbolSpec("m", "m", "integer", "hidden size", bounds=("1", "5"))
F_T = _row("f_T", "forget gate at step T (or t)", "f_t", "f_{t}", "f_{T}")
O_T = _row("o_T", "output gate at step T (or t)", "o_t", "o_{t}", "o_{T}")
C_T = _row("C_T", "cell state at step T (or t)", "C_t", "C_{t}", "C_{T}")
O_PREV = _row("o_{T-1}", "output gate at step T−1", "o[T-1]", "o_{t-1}")
C_PREV = _row("C_{T-1}", "cell state at step T−1", "C[T-1]", "C_{t-1}")
G = SymbolSpec("g", "g", "matrix", "∂L/∂h_T (a row vector)", (r"\frac{\partial L}{\partial h_T}",), shape=("1", "m"))
J = SymbolSpec("J", "J", "matrix", "dh_T/dh_{T−1}, the whole one-step Jacobian", shape=("m", "m"))

# The setup's symbols, which an item that lists none allows (the catalog's rule): the gates
# expanded, x_t U^f + h_{t−1} W^f + b^f, and the cell's parts.
GATES = {"f": "forget gate", "i": "input gate", "o": "output gate", "g": "candidate cell"}
SETUP_SPECS = (
    SymbolSpec("n", "n", "integer", "input size", bounds=("1", "4")),
    SymbolSpec("x_T", "x_T", "matrix", "input at step t (a row)", ("x_t", "x[t]", "x[T]"), shape=("1", "n")),
    SymbolSpec("h_{T-1}", "h_{T-1}", "matrix", "state at step t−1 (a row)", ("h_{t-1}", "h[t-1]"), shape=("1", "m")),
    *(
        SymbolSpec(f"{w}^{k}", f"{w}^{k}", "matrix", f"{what} weights", shape=shape)
        for k, what in GATES.items()
        for w, shape in (("U", ("n", "m")), ("W", ("m", "m")))
    ),
    *(SymbolSpec(f"b^{k}", f"b^{k}", "matrix", f"{what} bias", shape=("1", "m")) for k, what in GATES.items()),
    _row("i_T", "input gate at step t", "i_t", "i_{t}"),
    SymbolSpec(
        "Ctilde_T",
        r"\tilde{C}_T",
        "matrix",
        "candidate cell at step t",
        (r"\tilde{C}_t", r"\tilde C_t", r"\tilde{C}_{t}"),
        shape=("1", "m"),
    ),
)


def _with_setup(*own: SymbolSpec) -> tuple[SymbolSpec, ...]:
    """An item's own symbols, then the setup's that it does not list itself."""
    names = {s.name for s in own}
    rest = (F_T, O_T, C_T, C_PREV, *SETUP_SPECS)
    return (*own, *(s for s in rest if s.name not in names))


def _cases() -> Any:
    from hypothesis import strategies as st

    from dlverify.strategies import matrix, sizes_then

    def build(s: dict) -> dict:
        m, n = s["m"], s["n"]
        return {
            **{f"U^{k}": matrix(n, m) for k in "fiog"},
            **{f"W^{k}": matrix(m, m) for k in "fiog"},
            **{f"b^{k}": matrix(1, m) for k in "fiog"},
            "x": st.lists(matrix(1, n), min_size=2, max_size=2),
            "h0": matrix(1, m),
            "c0": matrix(1, m, 2.0),
            "target": matrix(1, m),
        }

    def givens(case: dict) -> dict:
        two = NUMERIC.two_steps(_params(case), case["x"], case["h0"], case["c0"], case["target"])
        return {**case, **two.givens, "_dL_dCprev": two.dL_dCprev}

    return sizes_then({"m": st.integers(1, 5), "n": st.integers(1, 3)}, build).map(givens)


def _params(case: Case) -> Any:
    return NUMERIC.Params.from_arrays(
        {k: case[f"U^{k}"] for k in "fiog"}, {k: case[f"W^{k}"] for k in "fiog"}, {k: case[f"b^{k}"] for k in "fiog"}
    )


def _tolerance(case: Case) -> float:
    # A cell step is a few dot products of length m + n and one tanh per entry.
    return 32 * (case["m"] + case["n"] + 2) * EPS


NOTE = "32(m+n+2)·eps relative to max(1, largest entry): dot products of length m+n in one or two cell steps"


def _common(**kw: Any) -> dict[str, Any]:
    return {
        "topic": TOPIC.name,
        "cases": _cases,
        "tolerance": _tolerance,
        "tolerance_note": NOTE,
        "sizes": ("m", "n"),
        **kw,
    }


PROBLEMS = (
    Problem(
        id="lstm.dC_dCprev",
        title="∂C_t/∂C_{t−1} with h_{t−1} held fixed",
        kind="matrix",
        statement=SETUP + " Find ∂C_t/∂C_{t−1} with h_{t−1} held fixed.",
        symbols=_with_setup(SIZE, F_T),
        derive=lambda: DERIVED.dC_dCprev(),
        # the second step of the two: C_T from C_{T−1} with h_{T−1} fixed
        oracle=lambda c: NUMERIC.dC_dCprev(_params(c), c["x"][1], _h_prev(c), c["C_{T-1}"]),
        oracle_name="torch.func.jacrev of an explicit LSTM cell (float64)",
        **_common(),
    ),
    Problem(
        id="lstm.dh_dC",
        title="∂h_t/∂C_t",
        kind="matrix",
        statement=SETUP + " Find ∂h_t/∂C_t.",
        symbols=_with_setup(SIZE, O_T, C_T),
        derive=lambda: DERIVED.dh_dC(),
        oracle=lambda c: NUMERIC.dh_dC(_params(c), c["x"][1], _h_prev(c), c["C_{T-1}"]),
        oracle_name="torch.func.jacrev of an explicit LSTM cell (float64)",
        **_common(),
    ),
    Problem(
        id="lstm.dL_dCprev",
        title="∂L/∂C_{T−1} through both paths",
        kind="matrix",
        statement=SETUP + " For a loss that depends on h_T only, with g = ∂L/∂h_T (a row vector) and J = dh_T/dh_{T−1} "
        "the total Jacobian of one step, find ∂L/∂C_{T−1} through both paths (via C_T and via h_{T−1}), in g, "
        "f_T, o_T, C_T, o_{T−1}, C_{T−1} and J.",
        symbols=(SIZE, G, F_T, O_T, C_T, O_PREV, C_PREV, J),
        derive=lambda: DERIVED.dL_dCprev(),
        oracle=lambda c: c["_dL_dCprev"],
        oracle_name="torch autograd through two explicit LSTM steps (float64)",
        **_common(),
    ),
)


def _h_prev(case: Case) -> Any:
    """h_{T−1} = tanh(C_{T−1}) ∘ o_{T−1}, the state the second step starts from."""
    import numpy as np

    return np.tanh(case["C_{T-1}"]) * case["o_{T-1}"]


# The homework's experiment questions (issue 27), described with the others in dlverify/problems/measured.py.
from dlverify.problems import measured  # noqa: E402

PROBLEMS = (*PROBLEMS, *measured.lstm_items(SETUP))

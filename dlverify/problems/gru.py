"""Topic gru (beyond the homework): the standard GRU's ∂h_t/∂h_{t−1}, against torch.nn.GRUCell."""

from __future__ import annotations

import sys
from typing import Any

from dlverify.problem import Case, Problem, SymbolSpec, Topic

TOPIC = Topic("gru", "GRU (beyond the homework)", order=70)
EPS = sys.float_info.epsilon


def _spec(name: str, rows: str, cols: str) -> SymbolSpec:
    return SymbolSpec(name, name, "matrix", name, shape=(rows, cols))


SYMBOLS = (
    SymbolSpec("m", "m", "integer", "hidden size", bounds=("1", "5")),
    SymbolSpec("d", "d", "integer", "input size", bounds=("1", "4")),
    _spec("x_t", "d", "1"),
    _spec("h_{t-1}", "m", "1"),
    *(_spec(f"W_i{g}", "m", "d") for g in "rzn"),
    *(_spec(f"W_h{g}", "m", "m") for g in "rzn"),
    *(_spec(f"b_i{g}", "m", "1") for g in "rzn"),
    *(_spec(f"b_h{g}", "m", "1") for g in "rzn"),
)


def _cases() -> Any:
    from hypothesis import strategies as st

    from dlverify.strategies import matrix, sizes_then

    return sizes_then(
        {"m": st.integers(1, 5), "d": st.integers(1, 4)},
        lambda s: {
            "x_t": matrix(s["d"], 1),
            "h_{t-1}": matrix(s["m"], 1),
            **{f"W_i{g}": matrix(s["m"], s["d"]) for g in "rzn"},
            **{f"W_h{g}": matrix(s["m"], s["m"]) for g in "rzn"},
            **{f"b_i{g}": matrix(s["m"], 1) for g in "rzn"},
            **{f"b_h{g}": matrix(s["m"], 1) for g in "rzn"},
        },
    )


def _oracle(case: Case) -> Any:
    from numerics.gru import dh_dhprev

    return dh_dhprev({k: v for k, v in case.items() if k[0] in "Wb"}, case["x_t"], case["h_{t-1}"])


def _derive() -> Any:
    from derivations.gru import dh_dhprev

    return dh_dhprev()


PROBLEMS = (
    Problem(
        id="gru.dh_dhprev",
        topic="gru",
        title="∂h_t/∂h_{t−1} of the standard GRU (beyond the catalog)",
        kind="matrix",
        statement="PyTorch's GRU cell: r = σ(W_ir x + b_ir + W_hr h + b_hr), z = σ(W_iz x + b_iz + W_hz h + b_hz), "
        "n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), h_t = (1 − z) ⊙ n + z ⊙ h with h = h_{t−1}. "
        "Find ∂h_t/∂h_{t−1}.",
        symbols=SYMBOLS,
        derive=_derive,
        oracle=_oracle,
        oracle_name="torch.func.jacrev of torch.nn.GRUCell (float64)",
        cases=_cases,
        tolerance=lambda c: 64 * (c["m"] + c["d"] + 2) * EPS,
        tolerance_note="64(m+d+2)·eps relative to max(1, largest entry): three gates of dot products of length m+d",
        sizes=("m", "d"),
    ),
)

"""Topic gated_rnn: c[t] = σ(W_c x[t] + W_h h[t−1]), h[t] = c[t] ⊙ h[t−1] + (1 − c[t]) ⊙ W_x x[t]."""

from __future__ import annotations

import json
import sys
from functools import cache
from pathlib import Path
from typing import Any

from dlverify.lazy import lazy
from dlverify.problem import AnswerSpec, Case, Problem, SymbolSpec, Topic

TOPIC = Topic("gated_rnn", "A gated RNN", order=50)
NUMERIC = lazy("numerics.gated_rnn")
DERIVED = lazy("derivations.gated_rnn")
EPS = sys.float_info.epsilon
SETUP = (
    "A gated RNN: c[t] = σ(W_c x[t] + W_h h[t−1]), h[t] = c[t] ⊙ h[t−1] + (1 − c[t]) ⊙ W_x x[t], with x ∈ R^n, "
    "h ∈ R^m, W_c m×n, W_h m×m, W_x m×n, h[0] = 0."
)
WITNESSES = Path(__file__).resolve().parents[1] / "data" / "gated_rnn_witnesses.json"

M = SymbolSpec("m", "m", "integer", "hidden size", bounds=("1", "5"))
N = SymbolSpec("n", "n", "integer", "input size", bounds=("1", "4"))
K = SymbolSpec("K", "K", "integer", "number of steps", bounds=("1", "5"))
STEP_SYMBOLS = (
    M,
    N,
    SymbolSpec("W_c", "W_c", "matrix", "gate weights", ("W^c",), shape=("m", "n")),
    SymbolSpec("W_h", "W_h", "matrix", "recurrent gate weights", ("W^h",), shape=("m", "m")),
    SymbolSpec("W_x", "W_x", "matrix", "input weights", ("W^x",), shape=("m", "n")),
    SymbolSpec("x_t", "x[t]", "matrix", "the input at step t", ("x_{t}", "x"), shape=("n", "1")),
    SymbolSpec("h_{t-1}", "h[t-1]", "matrix", "the previous state", ("h_{t-1}",), shape=("m", "1")),
    SymbolSpec("c_t", "c[t]", "matrix", "the gate σ(W_c x[t] + W_h h[t−1])", ("c_{t}", "c"), shape=("m", "1")),
)
SUM_SYMBOLS = (
    M,
    N,
    K,
    SymbolSpec("c", "c", "vector_sequence", "the gates c[t]", shape=("m", "1")),
    SymbolSpec(
        "g",
        "g",
        "vector_sequence",
        "g_t = ∂ℓ/∂h[t], backpropagated",
        (r"\frac{\partial \ell}{\partial h}", r"\frac{\partial l}{\partial h}", r"\frac{\partial L}{\partial h}"),
        shape=("m", "1"),
    ),
    SymbolSpec("x", "x", "vector_sequence", "the inputs x[t]", shape=("n", "1")),
    SymbolSpec("t", "t", "integer", "time step (bound by the sum)", bounds=("1", "K")),
)


def _params(case: Case) -> Any:
    return NUMERIC.Params.from_arrays(case["W_c"], case["W_h"], case["W_x"])


def _step_cases() -> Any:
    from hypothesis import strategies as st

    from dlverify.strategies import matrix, sizes_then

    def givens(case: dict) -> dict:
        import numpy as np

        z = case["W_c"] @ case["x_t"] + case["W_h"] @ case["h_{t-1}"]
        return {**case, "c_t": 1 / (1 + np.exp(-z))}

    return sizes_then(
        {"m": st.integers(1, 5), "n": st.integers(1, 4)},
        lambda s: {
            "W_c": matrix(s["m"], s["n"], 2.0),
            "W_h": matrix(s["m"], s["m"], 2.0),
            "W_x": matrix(s["m"], s["n"], 2.0),
            "x_t": matrix(s["n"], 1, 2.0),
            "h_{t-1}": matrix(s["m"], 1, 2.0),
        },
    ).map(givens)


def _sum_cases() -> Any:
    from hypothesis import strategies as st

    from dlverify.strategies import matrix, sizes_then

    def givens(case: dict) -> dict:
        run = NUMERIC.unrolled(_params(case), case["x"], case["targets"])
        return {**case, "g": run.g, "c": run.c, "_dl_dWx": run.dl_dWx}

    return sizes_then(
        {"m": st.integers(1, 5), "n": st.integers(1, 4), "K": st.integers(1, 6)},
        lambda s: {
            "W_c": matrix(s["m"], s["n"]),
            "W_h": matrix(s["m"], s["m"]),
            "W_x": matrix(s["m"], s["n"]),
            "x": st.lists(matrix(s["n"], 1), min_size=s["K"], max_size=s["K"]),
            "targets": st.lists(matrix(s["m"], 1), min_size=s["K"], max_size=s["K"]),
        },
    ).map(givens)


def _shape_cases() -> Any:
    from hypothesis import strategies as st

    return st.fixed_dictionaries({"m": st.integers(1, 64), "n": st.integers(1, 64)})


@cache
def _witnesses() -> dict:
    return json.loads(WITNESSES.read_text())


def _witness_case(kind: str) -> Any:
    from hypothesis import strategies as st

    return st.just({"kind": kind})


def _witness_oracle(case: Case) -> frozenset[str]:
    """'true' if the stored witness still shows the behaviour when re-measured by autograd."""
    data = _witnesses()
    w = data[case["kind"]]
    norms = NUMERIC.backprop_norms(NUMERIC.Params.from_arrays(w["W_c"], w["W_h"], w["W_x"]), w["x"], w["h0"])
    if case["kind"] == "explode":
        shown = norms[-1] > data["explode_threshold"] and norms[-1] > 100 * norms[0]
    else:
        shown = norms[-1] < data["vanish_threshold"]
    return frozenset({"true" if shown else "false"})


def _tolerance(case: Case) -> float:
    return 32 * (case["m"] + case["n"] + case.get("K", 1) + 2) * EPS


NOTE = "32(m+n+K+2)·eps relative to max(1, largest entry): a few dot products of length m+n per step"


def _common(**kw: Any) -> dict[str, Any]:
    return {"topic": TOPIC.name, "tolerance": _tolerance, "tolerance_note": NOTE, **kw}


def _witness_problem(kind: str, title: str, behaviour: str) -> Problem:
    """A true/false item backed by the stored witness of ``kind`` (explode or vanish)."""
    return Problem(
        id=f"gated_rnn.can_{kind}",
        title=title,
        kind="choice",
        statement=SETUP + f" True or false: the gradient backpropagated through many steps can {behaviour}.",
        symbols=(),
        derive=lambda: getattr(DERIVED, f"can_{kind}")(),
        oracle=_witness_oracle,
        oracle_name="a stored witness re-measured by autograd (‖∂h[K]/∂h[0]‖ over 30 steps)",
        cases=lambda: _witness_case(kind),
        answer=AnswerSpec(options=("true", "false")),
        **_common(tolerance=lambda c: 0.5, tolerance_note="the witness must show the behaviour"),
    )


PROBLEMS = (
    Problem(
        id="gated_rnn.c_shape",
        title="The shape of the gate c[t]",
        kind="shape",
        statement=SETUP + " What is the shape of c[t]?",
        symbols=(M, N),
        derive=lambda: DERIVED.c_shape(),
        oracle=lambda c: NUMERIC.gate_shape(c["m"], c["n"]),
        oracle_name="the shape of c[t] computed by PyTorch",
        cases=_shape_cases,
        sizes=("m", "n"),
        **_common(tolerance=lambda c: 0.5, tolerance_note="shapes must match exactly"),
    ),
    Problem(
        id="gated_rnn.dh_dhprev",
        title="∂h[t]/∂h[t−1]",
        kind="matrix",
        statement=SETUP + " Find ∂h[t]/∂h[t−1].",
        symbols=STEP_SYMBOLS,
        derive=lambda: DERIVED.dh_dhprev(),
        oracle=lambda c: NUMERIC.dh_dhprev(_params(c), c["x_t"], c["h_{t-1}"]),
        oracle_name="torch.func.jacrev of one step (float64)",
        cases=_step_cases,
        sizes=("m", "n"),
        **_common(),
    ),
    Problem(
        id="gated_rnn.dl_dWx",
        title="∂ℓ/∂W_x from the backpropagated gradients",
        kind="matrix",
        statement=SETUP + " Given the total (backpropagated) gradients g_t = ∂ℓ/∂h[t] ∈ R^m for t = 1..K, find "
        "∂ℓ/∂W_x (m×n); a sum over t = 1..K is allowed.",
        symbols=SUM_SYMBOLS,
        derive=lambda: DERIVED.dl_dWx(),
        oracle=lambda c: c["_dl_dWx"],
        oracle_name="torch autograd through K unrolled steps (float64)",
        cases=_sum_cases,
        sizes=("m", "n", "K"),
        **_common(),
    ),
    _witness_problem("explode", "Can the backpropagated gradient explode?", "grow without bound"),
    _witness_problem("vanish", "Can the backpropagated gradient vanish?", "shrink to zero"),
)

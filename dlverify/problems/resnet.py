"""Topic resnet: the Jacobian of a residual block, against torch.func.jacrev."""

from __future__ import annotations

import sys
from typing import Any

from dlverify.problem import Case, Problem, SymbolSpec, Topic

TOPIC = Topic("resnet", "Residual blocks", order=40)
EPS = sys.float_info.epsilon

SYMBOLS = (
    SymbolSpec("m", "m", "integer", "width of the block", bounds=("1", "6")),
    SymbolSpec("W_t", "W_t", "matrix", "weights of step t", ("W_{t}", "W"), shape=("m", "m")),
    SymbolSpec("h_t", "h_t", "matrix", "the state at step t", ("h_{t}", "h"), shape=("m", "1")),
    SymbolSpec("b_t", "b_t", "matrix", "the bias of step t", ("b_{t}", "b"), shape=("m", "1")),
)


def _cases() -> Any:
    from hypothesis import strategies as st

    from dlverify.strategies import matrix, sizes_then

    return sizes_then(
        {"m": st.integers(1, 6)},
        lambda s: {"W_t": matrix(s["m"], s["m"], 2.0), "h_t": matrix(s["m"], 1, 2.0), "b_t": matrix(s["m"], 1, 2.0)},
    )


def _oracle(case: Case) -> Any:
    from numerics.resnet import block_jacobian

    return block_jacobian(case["W_t"], case["h_t"], case["b_t"])


def _derive() -> Any:
    from derivations.resnet import jacobian_step

    return jacobian_step()


PROBLEMS = (
    Problem(
        id="resnet.jacobian",
        topic="resnet",
        title="Jacobian of a residual block",
        kind="matrix",
        statement="For the residual block h_{t+1} = σ(W_t h_t + b_t) + h_t (σ the logistic sigmoid, entry by entry), "
        "find the Jacobian ∂h_{t+1}/∂h_t (entry [i, j] = ∂(h_{t+1})_i/∂(h_t)_j).",
        symbols=SYMBOLS,
        derive=_derive,
        oracle=_oracle,
        oracle_name="torch.func.jacrev (float64)",
        cases=_cases,
        # One matrix-vector product and a sigmoid per entry: a few ulps on a chain of m terms.
        tolerance=lambda case: 16 * (case["m"] + 2) * EPS,
        tolerance_note="16(m+2)·eps relative to max(1, largest entry): rounding along one m-term dot product",
        sizes=("m",),
    ),
)

# The homework's experiment questions (issue 27), described with the others in dlverify/problems/measured.py.
from dlverify.problems import measured  # noqa: E402

PROBLEMS = (*PROBLEMS, *measured.resnet_items())

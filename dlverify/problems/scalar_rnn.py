"""Topic scalar_rnn: backprop through the 1-D linear RNN h_t = w (u_t + h_{t-1}), h_0 = 0.

Each item joins a SymPy derivation (derivations.scalar_rnn) with a PyTorch autograd
oracle (numerics.scalar_rnn) that never sees the closed form.
"""

from __future__ import annotations

import sys
from typing import Any

from dlverify.lazy import lazy
from dlverify.problem import Case, Measurement, Problem, Property, SymbolSpec, Topic

TOPIC = Topic("scalar_rnn", "Backprop through a 1-D linear RNN", order=10)
NUMERIC = lazy("numerics.scalar_rnn")
DERIVED = lazy("derivations.scalar_rnn")
ORACLE_BACKWARD = "torch autograd, unrolled recurrence (float64)"
ORACLE_FORWARD = "torch forward pass (float64)"
EPS = sys.float_info.epsilon

SETUP = (
    "A 1-D linear RNN h_t = w (u_t + h_{t-1}) with h_0 = 0 and one scalar weight w, no bias; "
    "y = h_T. Unrolled for T = 3: p = u_1 + h_0, q = w p, r = q + u_2, s = w r, t = s + u_3, y = w t, "
    "so w enters through three multiplication edges (into q, s and y)."
)

W = SymbolSpec("w", "w", "real", "the shared recurrent weight")
H0 = SymbolSpec("h_0", "h_0", "real", "the initial state", ("h0", "h[0]"), value=0.0)
INPUTS_T3 = tuple(
    SymbolSpec(f"u_{k}", f"u_{{{k}}}", "real", f"input at step {k}", (f"u{k}", f"u[{k}]")) for k in (1, 2, 3)
)
NODES_T3 = tuple(SymbolSpec(n, n, "real", f"graph node {n} (its forward value)") for n in "pqrst")
ADJOINTS_T3 = tuple(
    SymbolSpec(
        f"dy_d{n}",
        rf"\frac{{\partial y}}{{\partial {n}}}",
        "real",
        f"the backward-pass value ∂y/∂{n}",
        (rf"\frac{{dy}}{{d{n}}}", f"dy/d{n}", rf"\partial y/\partial {n}"),
    )
    for n in "pqrsty"
)
GENERAL = (
    W,
    SymbolSpec("T", "T", "integer", "sequence length", bounds=("1", "")),
    SymbolSpec("u", "u", "sequence", "inputs u_1..u_T, written u_t, u_{t} or u[t]"),
    SymbolSpec("t", "t", "integer", "time index (bound by the sum)", bounds=("1", "T")),
)


def _tolerance(case: Case) -> float:
    # Rounding in the forward recurrence perturbs each term of y by at most γ_{2T}
    # (two roundings per step), the backward pass adds γ_{2T+2}: at most (4T + 2)·eps
    # relative to Σ|terms|, which is the magnitude errors are measured against.
    # A factor 2 of headroom covers the final summation order.
    length = int(case.get("T", 3))
    return 8 * (length + 1) * EPS


TOLERANCE_NOTE = "8(T+1)·eps relative to Σ|terms|: float64 rounding of a length-T recurrence and its backward pass"


def _cases_t3() -> Any:
    from hypothesis import strategies as st

    from dlverify.strategies import reals, recurrent_weight

    return st.fixed_dictionaries({"w": recurrent_weight(), "u_1": reals(), "u_2": reals(), "u_3": reals()})


def _cases_general() -> Any:
    from hypothesis import strategies as st

    from dlverify.strategies import recurrent_weight, sequence

    return st.integers(1, 60).flatmap(
        lambda length: st.fixed_dictionaries({"T": st.just(length), "w": recurrent_weight(), "u": sequence(length)})
    )


def _u3(case: Case) -> list[float]:
    return [case["u_1"], case["u_2"], case["u_3"]]


def _edges_sum_to_total(case: Case) -> list[Measurement]:
    """Per-step autograd edge partials sum to autograd's dy/dw and to the SymPy result."""
    from dlverify.evaluation import relative_error, scalar_value

    num = NUMERIC
    u = case["u"] if "u" in case else _u3(case)
    edges = num.edge_partials(case["w"], u)
    general = DERIVED.dy_dw_general()
    at = {"w": case["w"], "u": list(u), "T": len(u)}
    exact = scalar_value(general.result, general.symbols, at)
    magnitude = scalar_value(general.result, general.symbols, at, absolute=True)
    tol = _tolerance(at)
    return [
        Measurement("Σ edges = autograd dy/dw", relative_error(sum(edges), num.dy_dw(case["w"], u), magnitude), tol),
        Measurement("Σ edges = SymPy dy/dw", relative_error(sum(edges), exact, magnitude), tol),
    ]


def _edge_formula(case: Case) -> list[Measurement]:
    """Each per-step autograd edge partial equals the derived e_t, for every t ≤ T."""
    from dlverify.evaluation import relative_error, scalar_value

    edge = DERIVED.edge_partial_general()
    grads = NUMERIC.edge_partials(case["w"], case["u"])
    out = []
    for step, grad in enumerate(grads, start=1):
        at = {**case, "t": step}
        exact = scalar_value(edge.result, edge.symbols, at)
        magnitude = scalar_value(edge.result, edge.symbols, at, absolute=True)
        out.append(Measurement(f"e_{step} = autograd", relative_error(grad, exact, magnitude), _tolerance(case)))
    return out


def _common(**kw: Any) -> dict[str, Any]:
    return {
        "topic": TOPIC.name,
        "oracle_name": ORACLE_BACKWARD,
        "tolerance": _tolerance,
        "tolerance_note": TOLERANCE_NOTE,
        **kw,
    }


PROBLEMS = (
    Problem(
        id="scalar_rnn.forward",
        title="Forward pass of the T = 3 graph",
        kind="table",
        statement=SETUP + " Give every node p, q, r, s, t, y as an expression in w and u_1, u_2, u_3.",
        symbols=(W, H0, *INPUTS_T3),
        derive=lambda: DERIVED.forward(),
        oracle=lambda c: NUMERIC.graph_nodes(c["w"], _u3(c)),
        cases=_cases_t3,
        fixed_sizes="T=3",
        entries=("p", "q", "r", "s", "t", "y"),
        **_common(oracle_name=ORACLE_FORWARD),
    ),
    Problem(
        id="scalar_rnn.dy_dw",
        title="dy/dw for T = 3 from the closed form of y",
        kind="expr",
        statement=SETUP + " Find dy/dw from the closed form of y.",
        symbols=(W, H0, *INPUTS_T3),
        derive=lambda: DERIVED.dy_dw(),
        oracle=lambda c: NUMERIC.dy_dw(c["w"], _u3(c)),
        cases=_cases_t3,
        fixed_sizes="T=3",
        **_common(),
    ),
    Problem(
        id="scalar_rnn.dy_dp",
        title="Backward-pass partial ∂y/∂p (T = 3)",
        kind="expr",
        statement=SETUP + " Find the backward-pass partial ∂y/∂p.",
        symbols=(W, H0, *INPUTS_T3),
        derive=lambda: DERIVED.dy_dp(),
        oracle=lambda c: NUMERIC.dy_dp(c["w"], _u3(c)),
        cases=_cases_t3,
        fixed_sizes="T=3",
        **_common(),
    ),
    Problem(
        id="scalar_rnn.edge_partials",
        title="Partials of y along the three edges leaving w (T = 3)",
        kind="table",
        statement=SETUP + " Give the partial of y along each edge leaving w (into q, s and y); they must sum to dy/dw.",
        symbols=(W, H0, *INPUTS_T3, *NODES_T3, *ADJOINTS_T3),
        derive=lambda: DERIVED.edge_partials(),
        oracle=lambda c: dict(zip("qsy", NUMERIC.edge_partials(c["w"], _u3(c)), strict=True)),
        cases=_cases_t3,
        fixed_sizes="T=3",
        entries=("q", "s", "y"),
        properties=(Property("edge partials sum to dy/dw", _edges_sum_to_total),),
        **_common(),
    ),
    Problem(
        id="scalar_rnn.dy_dw_general",
        title="dy/dw for any sequence length T",
        kind="expr",
        statement=SETUP + " Find dy/dw for any T, as a sum over t in w, T and u_t.",
        symbols=GENERAL,
        derive=lambda: DERIVED.dy_dw_general(),
        oracle=lambda c: NUMERIC.dy_dw(c["w"], c["u"]),
        cases=_cases_general,
        sizes=("T",),
        properties=(
            Property("per-step edge partials equal e_t", _edge_formula),
            Property("edge partials sum to dy/dw", _edges_sum_to_total),
        ),
        **_common(),
    ),
)

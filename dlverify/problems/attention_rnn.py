"""Topic attention_rnn: AttentionRNN(k) and, by weight sharing, AttentionRNN(∞)."""

from __future__ import annotations

import sys
from typing import Any

from dlverify.lazy import lazy
from dlverify.problem import Case, Measurement, Problem, Property, SymbolSpec, Topic

TOPIC = Topic("attention_rnn", "AttentionRNN(k)", order=60)
NUMERIC = lazy("numerics.attention_rnn")
DERIVED = lazy("derivations.attention_rnn")
EPS = sys.float_info.epsilon
SETUP = (
    "AttentionRNN(k): q_i[t] = Q_i s_i, k_i[t] = K_i s_i, v_i[t] = V_i s_i with s_0 = x[t], s_i = h[t−i] (i ≥ 1); "
    "w_i[t] = q_i[t]ᵀ k_i[t]; a[t] = softargmax(w_0, …, w_k); h[t] = Σ_i a_i[t] v_i[t]; all matrices n×n."
)

N = SymbolSpec("n", "n", "integer", "state size", bounds=("1", "4"))


def _mat(name: str, meaning: str) -> SymbolSpec:
    return SymbolSpec(name, name, "matrix", meaning, shape=("n", "n"))


def _vec(name: str, latex: str, meaning: str, *spellings: str) -> SymbolSpec:
    return SymbolSpec(name, latex, "matrix", meaning, spellings, shape=("n", "1"))


_S = ("x[t]", "h[t−1]", "h[t−2]")
# q_i[t], k_i[t], v_i[t] of the setup (v_1 is an item symbol already)
SETUP_SPECS = tuple(
    _vec(f"{c}_{i}", f"{c}_{i}[t]", f"{c.upper()}_{i} {_S[i]}", f"{c}_{{{i}}}[t]", f"{c}_{i}")
    for c in "qkv"
    for i in range(3)
    if (c, i) != ("v", 1)
)


WEIGHTS = tuple(_mat(f"{M}_{i}", f"{M}_{i}") for i in range(3) for M in "QKV")
STATES = (
    _vec("x_t", "x[t]", "the input", "x_{t}"),
    _vec("h_{t-1}", "h[t-1]", "the previous state"),
    _vec("h_{t-2}", "h[t-2]", "the state before it"),
    _vec("h_t", "h[t]", "the new state Σ_i a_i v_i", "h_{t}"),
    _vec("v_1", "v_1[t]", "V_1 h[t−1]", "v_{1}[t]", "v_1"),
)
WEIGHTS_A = tuple(
    SymbolSpec(
        f"a_{i}",
        f"a_{i}[t]",
        "real",
        f"attention weight of s_{i} (the softargmax of the scores: Σ_i a_i = 1)",
        (f"a_{{{i}}}[t]", f"a_{i}"),
        # a checker computes it from Q, K and the states (the derivation's ``determined``), never draws it
        assumptions=("positive",),
    )
    for i in range(3)
)


def _cases() -> Any:
    from hypothesis import strategies as st

    from dlverify.strategies import matrix, sizes_then

    def givens(case: dict) -> dict:
        Q, K, V = ([case[f"{M}_{i}"] for i in range(3)] for M in "QKV")
        h, a = NUMERIC.step(Q, K, V, case["x_t"], [case["h_{t-1}"], case["h_{t-2}"]])
        return {**case, "h_t": h, "v_1": case["V_1"] @ case["h_{t-1}"], **{f"a_{i}": float(a[i]) for i in range(3)}}

    return sizes_then(
        {"n": st.integers(1, 4)},
        lambda s: {
            **{f"{M}_{i}": matrix(s["n"], s["n"]) for i in range(3) for M in "QKV"},
            "x_t": matrix(s["n"], 1),
            "h_{t-1}": matrix(s["n"], 1),
            "h_{t-2}": matrix(s["n"], 1),
        },
    ).map(givens)


def _infinite_cases() -> Any:
    from hypothesis import strategies as st

    from dlverify.strategies import matrix, sizes_then

    def givens(case: dict) -> dict:
        h, a = NUMERIC.infinite_step(case["Q"], case["K"], case["V"], case["x_t"], case["past"])
        return {**case, "h_{t-1}": case["past"][0], "h_t": h, "v_1": case["V"] @ case["past"][0], "a_1": float(a[1])}

    return sizes_then(
        {"n": st.integers(1, 4), "t": st.integers(1, 8)},
        lambda s: {
            "Q": matrix(s["n"], s["n"]),
            "K": matrix(s["n"], s["n"]),
            "V": matrix(s["n"], s["n"]),
            "x_t": matrix(s["n"], 1),
            "past": st.lists(matrix(s["n"], 1), min_size=s["t"], max_size=s["t"]),
        },
    ).map(givens)


def _any_k(case: Case) -> list[Measurement]:
    """The same formula for AttentionRNN(k), k = 1..4, with its own weights per position."""
    import numpy as np

    from dlverify.evaluation import matrix_agreement

    n = case["n"]
    seed = int(np.abs(case["Q_0"]).sum() * 1e6) % 2**31  # weights drawn from the case's own values
    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, 5))
    Q, K, V = ([rng.uniform(-1, 1, (n, n)) for _ in range(k + 1)] for _ in "QKV")
    x = rng.uniform(-1, 1, (n, 1))
    past = [rng.uniform(-1, 1, (n, 1)) for _ in range(k)]
    h, a = NUMERIC.step(Q, K, V, x, past)
    at = {
        "Q_1": Q[1],
        "K_1": K[1],
        "V_1": V[1],
        "h_{t-1}": past[0],
        "h_t": h,
        "v_1": V[1] @ past[0],
        "a_1": float(a[1]),
    }
    d = DERIVED.dh_dhprev()
    expected = NUMERIC.dh_dhprev(Q, K, V, x, past)
    m = matrix_agreement(f"AttentionRNN({k})", d.result, d.symbols, at, expected, _tolerance({"n": n, "t": k}))
    return [m]


def _tolerance(case: Case) -> float:
    # scores are dot products of length n; softmax and the weighted sum add a few ulps per state
    return 64 * (case["n"] + case.get("t", 2) + 2) * EPS


NOTE = "64(n+k+2)·eps relative to max(1, largest entry): dot products of length n and a softmax over k+1 scores"


def _common(**kw: Any) -> dict[str, Any]:
    return {"topic": TOPIC.name, "tolerance": _tolerance, "tolerance_note": NOTE, **kw}


PROBLEMS = (
    Problem(
        id="attention_rnn.a_shape",
        title="The shape of a[t] for k = 2",
        kind="shape",
        statement=SETUP + " With k = 2, what is the shape of a[t]?",
        symbols=(),
        derive=lambda: DERIVED.a_shape(),
        oracle=lambda c: NUMERIC.step(*c["weights"], c["x"], c["past"])[1].shape,
        oracle_name="the weights PyTorch computes for k = 2",
        cases=lambda: _shape_cases(),
        **_common(tolerance=lambda c: 0.5, tolerance_note="shapes must match exactly"),
    ),
    Problem(
        id="attention_rnn.dh_dhprev",
        title="∂h[t]/∂h[t−1] for k = 2",
        kind="matrix",
        statement=SETUP + " With k = 2, find ∂h[t]/∂h[t−1].",
        symbols=(N, *WEIGHTS, *STATES, *WEIGHTS_A, *SETUP_SPECS),
        derive=lambda: DERIVED.dh_dhprev(),
        oracle=lambda c: NUMERIC.dh_dhprev(
            [c[f"Q_{i}"] for i in range(3)],
            [c[f"K_{i}"] for i in range(3)],
            [c[f"V_{i}"] for i in range(3)],
            c["x_t"],
            [c["h_{t-1}"], c["h_{t-2}"]],
        ),
        oracle_name="torch.func.jacrev of one step (float64)",
        cases=_cases,
        sizes=("n",),
        properties=(Property("the same formula for k = 1..4", _any_k),),
        **_common(),
    ),
    Problem(
        id="attention_rnn.infinite",
        title="AttentionRNN(∞) by weight sharing, and its Jacobian",
        kind="claim",
        statement=SETUP + " AttentionRNN(∞) shares Q, K, V over all past states; its ∂h[t]/∂h[t−1] has the k = 2 form "
        "with Q, K, V and the weights over all states.",
        symbols=(
            N,
            _mat("Q", "shared Q"),
            _mat("K", "shared K"),
            _mat("V", "shared V"),
            STATES[1],
            STATES[3],
            STATES[4],
            WEIGHTS_A[1],
        ),
        derive=lambda: DERIVED.infinite(),
        oracle=lambda c: NUMERIC.infinite_dh_dhprev(c["Q"], c["K"], c["V"], c["x_t"], c["past"]),
        oracle_name="torch.func.jacrev of the shared-weight model over t past states (float64)",
        cases=_infinite_cases,
        sizes=("n", "t"),
        **_common(),
    ),
)


def _shape_cases() -> Any:
    from hypothesis import strategies as st

    from dlverify.strategies import matrix

    return st.integers(1, 4).flatmap(
        lambda n: st.fixed_dictionaries(
            {
                "weights": st.tuples(*(st.lists(matrix(n, n), min_size=3, max_size=3) for _ in "QKV")),
                "x": matrix(n, 1),
                "past": st.lists(matrix(n, 1), min_size=2, max_size=2),
            }
        )
    )


# The homework's question about ∂ℓ/∂h[T] (issue 27), described with the other experiment questions.
from dlverify.problems import measured  # noqa: E402

PROBLEMS = (*PROBLEMS, *measured.attention_items(SETUP))

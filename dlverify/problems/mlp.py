"""Topic mlp: matrix backprop through a 3-layer ReLU network (any depth in a property), against autograd."""

from __future__ import annotations

import sys
from functools import cache
from typing import Any

from dlverify.lazy import lazy
from dlverify.problem import AnswerSpec, Case, Measurement, Problem, Property, SymbolSpec, Topic, one_case

TOPIC = Topic("mlp", "Matrix backprop through a ReLU network", order=102)
DERIVED = lazy("derivations.mlp")
NUMERIC = lazy("numerics.mlp")
EPS = sys.float_info.epsilon
SETUP = (
    "f = ½‖Y − W3 σ(W2 σ(W1 X))‖_F² with σ = ReLU: V1 = W1 X, V2 = σ(V1), V3 = W2 V2, V4 = σ(V3), V5 = W3 V4, "
    "D = Y − V5, z = ½‖D‖_F². A gradient ∂z/∂A has the shape of A; g_{V_k} (also V_k.g, \\bar{V}_k) is ∂z/∂V_k, "
    "and σ′(V) = 1[V > 0]."
)
RELU = (("sigma", "relu"), ("sigma'", "step"), ("sigmoid", "relu"), ("sigmoid'", "step"))
MATRIX_NOTE = "32(d_0+…+d_3+N)·eps relative to max(1, the largest entry of |…| on absolute values): three products"


def _size(name: str, meaning: str) -> SymbolSpec:
    return SymbolSpec(name, name, "integer", meaning, bounds=("1", "5"))


def _matrix(name: str, rows: str, meaning: str, *spellings: str) -> SymbolSpec:
    return SymbolSpec(name, name, "matrix", meaning, spellings, shape=(rows, "N"))


def _gradient(k: int) -> SymbolSpec:
    spellings = (
        f"V_{k}.g",
        f"V{k}.g",
        rf"\bar{{V}}_{k}",
        rf"\bar{{V_{k}}}",
        f"g_{{V_{k}}}",
        f"g_V{k}",
        f"G_{{V_{k}}}",
        # its derivative symbol: g_{V_k} is ∂z/∂V_k, so either spelling is the same quantity
        rf"\frac{{\partial z}}{{\partial V_{k}}}",
        rf"\frac{{\partial f}}{{\partial V_{k}}}",  # the statement's f = ½‖Y − …‖_F² is z
    )
    rows = f"d_{(k + 1) // 2}"
    return SymbolSpec(f"g_V{k}", f"g_{{V_{k}}}", "matrix", f"∂z/∂V_{k}", spellings, shape=(rows, "N"))


SYMBOLS = (
    SymbolSpec("N", "N", "integer", "samples (the catalog's 50)", bounds=("1", "6")),
    _size("d_0", "rows of X (5)"),
    _size("d_1", "rows of W1 (4)"),
    _size("d_2", "rows of W2 (3)"),
    _size("d_3", "rows of W3 and Y (2)"),
    _matrix("X", "d_0", "the inputs"),
    _matrix("Y", "d_3", "the targets"),
    SymbolSpec("W_1", "W_1", "matrix", "the first layer", ("W1",), shape=("d_1", "d_0")),
    SymbolSpec("W_2", "W_2", "matrix", "the second layer", ("W2",), shape=("d_2", "d_1")),
    SymbolSpec("W_3", "W_3", "matrix", "the third layer", ("W3",), shape=("d_3", "d_2")),
    *(_matrix(f"V_{k}", f"d_{(k + 1) // 2}", f"node V{k}", f"V{k}", f"V_{k}.v") for k in range(1, 6)),
    _matrix("D", "d_3", "the residual Y − V5"),
    *(_gradient(k) for k in range(1, 6)),
)


def _cases() -> Any:
    from hypothesis import strategies as st

    from dlverify.strategies import matrix, sizes_then

    return sizes_then(
        {"N": st.integers(1, 6), **{f"d_{k}": st.integers(1, 5) for k in range(4)}, "seed": st.integers(0, 2**31)},
        lambda s: {
            "X": matrix(s["d_0"], s["N"], 2.0),
            "Y": matrix(s["d_3"], s["N"], 2.0),
            **{f"W_{k}": matrix(s[f"d_{k}"], s[f"d_{k - 1}"], 2.0) for k in (1, 2, 3)},
        },
    )


def _oracle(target: str):
    key = target if target.startswith("W") else f"g_V{target.split('_')[1]}"
    return lambda case: NUMERIC.backprop(case["X"], case["Y"], [case[f"W_{k}"] for k in (1, 2, 3)])[key]


def _tolerance(case: Case) -> float:
    return 32 * (sum(case[f"d_{k}"] for k in range(4)) + case["N"]) * EPS


def _any_depth(case: Case) -> list[Measurement]:
    """Depth L from 1 to 5 with random widths: every ∂z/∂V_k and ∂z/∂W_l of the general derivation
    (its definitions written out) against autograd."""
    import numpy as np

    from dlverify.evaluation import matrix_agreement, substitute_definitions

    rng = np.random.default_rng(case["seed"])
    depth = 1 + case["seed"] % 5
    widths = [int(w) for w in rng.integers(1, 6, depth + 1)]
    samples = int(rng.integers(1, 7))
    values = {"N": samples, **{f"d_{k}": w for k, w in enumerate(widths)}}
    values["X"] = rng.uniform(-2, 2, (widths[0], samples))
    values["Y"] = rng.uniform(-2, 2, (widths[-1], samples))
    values.update({f"W_{k}": rng.uniform(-2, 2, (widths[k], widths[k - 1])) for k in range(1, depth + 1)})
    observed = NUMERIC.backprop(values["X"], values["Y"], [values[f"W_{k}"] for k in range(1, depth + 1)])
    tol = 32 * (sum(widths) + samples + 2 * depth) * EPS
    out = []
    targets = [f"W_{k}" for k in range(1, depth + 1)] + [f"V_{k}" for k in range(1, 2 * depth)]
    for target in targets:
        derivation = DERIVED.gradient(depth, target)
        defined = {derivation.symbols[n]: v for n, v in derivation.definitions.items()}
        expr = substitute_definitions(derivation.result, defined)
        key = target if target.startswith("W") else f"g_V{target.split('_')[1]}"
        label = f"depth {depth}, widths {widths}, N = {samples}: ∂z/∂{target}"
        out.append(matrix_agreement(label, expr, derivation.symbols, values, observed[key], tol))
    return out


def _item(target: str, title: str, ask: str, properties: tuple[Property, ...] = ()) -> Problem:
    short = target.replace("_", "")
    return Problem(
        id=f"mlp.grad_{short}",
        topic="mlp",
        title=title,
        kind="matrix",
        statement=f"{SETUP} {ask}",
        symbols=SYMBOLS,
        derive=lambda: DERIVED.catalog_gradient(target),
        oracle=_oracle(target),
        oracle_name="torch autograd through the same network (float64)",
        cases=_cases,
        tolerance=_tolerance,
        tolerance_note=MATRIX_NOTE,
        sizes=("N", "d_0", "d_1", "d_2", "d_3"),
        answer=AnswerSpec(functions=RELU),
        properties=properties,
    )


@cache
def _values() -> Any:
    return DERIVED.values(NUMERIC.seeded_data())


def _values_oracle(case: Case) -> dict[str, Any]:
    data = NUMERIC.seeded_data()
    found = NUMERIC.backprop(data["X"], data["Y"], [data[f"W_{k}"] for k in (1, 2, 3)])
    out = {f"V{k}_v": found[f"V_{k}"] for k in range(1, 6)}
    out.update({f"V{k}_g": found[f"g_V{k}"] for k in range(1, 6)})
    out.update({f"W{k}_g": found[f"W_{k}"] for k in (1, 2, 3)})
    return out


PROBLEMS = (
    _item("V_5", "∂z/∂V5", "Give ∂z/∂V5."),
    _item("V_4", "∂z/∂V4", "Give ∂z/∂V4 (you may use g_{V_5})."),
    _item("V_3", "∂z/∂V3", "Give ∂z/∂V3 (you may use earlier gradients)."),
    _item("W_3", "∂z/∂W3", "Give ∂z/∂W3 (you may use earlier gradients)."),
    _item("W_2", "∂z/∂W2", "Give ∂z/∂W2 (you may use earlier gradients)."),
    _item(
        "W_1",
        "∂z/∂W1",
        "Give ∂z/∂W1 (you may use earlier gradients).",
        (Property("any depth L = 1…5, every gradient", _any_depth),),
    ),
    Problem(
        id="mlp.values",
        topic="mlp",
        title="Every node's value and gradient at the seeded matrices",
        kind="table",
        statement=f"{SETUP} Y (2×50), X (5×50), W1 (4×5), W2 (3×4), W3 (2×3) are drawn after torch.manual_seed(0) by "
        "torch.randn(shape, dtype=torch.float64) in the order Y, X, W1, W2, W3. Give the values V1_v … V5_v and the "
        "gradients V5_g … V1_g, W3_g, W2_g, W1_g, each an array of rows, to 4 decimals.",
        symbols=(),
        derive=_values,
        oracle=_values_oracle,
        oracle_name="torch autograd at the seeded matrices (float64)",
        cases=one_case,
        tolerance=lambda case: 1e-12,
        tolerance_note="1e-12 relative to max(1, the largest entry): float64 against 30-digit arithmetic",
        fixed_sizes="the catalog's seeded 2×50, 5×50, 4×5, 3×4, 2×3",
        entries=(
            *(f"V{k}_v" for k in range(1, 6)),
            *(f"V{k}_g" for k in range(5, 0, -1)),
            "W3_g",
            "W2_g",
            "W1_g",
        ),
        answer=AnswerSpec(tolerance=5e-5),
    ),
)

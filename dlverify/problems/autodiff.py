"""Topic autodiff: forward- and reverse-mode traces of any expression, against torch.func.jvp and
autograd — the homework's f at (1, 1.5, 2), and random expressions at random points."""

from __future__ import annotations

import sys
from typing import Any

from dlverify.lazy import lazy
from dlverify.problem import AnswerSpec, Case, Check, Measurement, Problem, SymbolSpec, Topic, TraceMode, one_case

TOPIC = Topic("autodiff", "Automatic differentiation: forward and reverse traces", order=101)
DERIVED = lazy("derivations.autodiff")
NUMERIC = lazy("numerics.autodiff")
EPS = sys.float_info.epsilon
SETUP = (
    "f(x1, x2, x3) = (x1 x2 sin x3 + e^{x1 x2}) / x3 at (x1, x2, x3) = (1, 1.5, 2); inputs v_{-2} = x1, "
    "v_{-1} = x2, v_0 = x3; nodes v1, v2, … each one elementary operation of earlier nodes; 4 decimals."
)
MAX_NODES = 30
TOLERANCE_NOTE = "64·(nodes + 1)·eps relative to max(1, |value|): a float64 run of the same graph"
INPUT_SPELLINGS = {-2: ("x_1", "x1", "v-2"), -1: ("x_2", "x2", "v-1"), 0: ("x_3", "x3", "v0", "v_0")}


def _node_symbol(index: int) -> SymbolSpec:
    name = f"v_{{{index}}}" if index < 1 else f"v_{index}"
    role = "input" if index < 1 else "node"
    return SymbolSpec(name, name, "real", f"{role} {index}", INPUT_SPELLINGS.get(index, ()))


NODE_SYMBOLS = tuple(_node_symbol(i) for i in range(-2, MAX_NODES + 1))

# plain trees (as numerics.autodiff reads them) for random expressions
LEAVES = ("x", "c")
SAFE_UNARY = ("exp", "sin", "cos", "tanh", "sigmoid", "neg")


def _trees() -> Any:
    from hypothesis import strategies as st

    leaf = st.one_of(
        st.integers(0, 2).map(lambda k: ("x", k)), st.sampled_from([2.0, 3.0, 0.5, -1.5]).map(lambda c: ("c", c))
    )

    def extend(children: Any) -> Any:
        positive = children.map(lambda t: ("add", ("c", 1.5), ("pow", t, 2)))  # 1.5 + t² > 0: log, √, ÷ safe
        return st.one_of(
            st.tuples(st.sampled_from(["add", "sub", "mul"]), children, children),
            st.tuples(st.just("div"), children, positive),
            st.tuples(st.sampled_from(SAFE_UNARY), children),
            st.tuples(st.sampled_from(["log", "sqrt"]), positive),
            st.tuples(st.just("pow"), children, st.sampled_from([2, 3])),
        )

    return st.recursive(leaf, extend, max_leaves=8)


def _traceable(tree: tuple) -> bool:
    """SymPy may fold a tree to a constant or to an input (x − x): nothing to trace then."""
    f = DERIVED.from_tree(tree, (DERIVED.x1, DERIVED.x2, DERIVED.x3))
    return not f.is_number and f not in (DERIVED.x1, DERIVED.x2, DERIVED.x3) and f.count_ops() < 40


def _cases() -> Any:
    from hypothesis import strategies as st

    point = st.tuples(*(st.floats(-2, 2, allow_subnormal=False).map(lambda v: round(v, 3)) for _ in range(3)))
    return st.fixed_dictionaries({"tree": _trees().filter(_traceable), "point": point, "direction": st.integers(0, 2)})


def _close(got: float, want: float, nodes: int) -> tuple[float, float]:
    return abs(got - want) / max(1.0, abs(want)), 64 * (nodes + 1) * EPS


def _against_torch(
    problem: Problem, derivation: Any, tree: tuple, point: tuple, direction: int | None
) -> list[Measurement]:
    """Every node's value and tangent/adjoint against torch running the same graph; the last node,
    its tangent and the inputs' adjoints against torch's jvp and autograd of f built from the tree."""
    inputs = (DERIVED.x1, DERIVED.x2, DERIVED.x3)
    graph = DERIVED.graph(DERIVED.from_tree(tree, inputs), inputs)
    run = NUMERIC.run_graph(DERIVED.node_list(graph), point, direction or 0)
    direct = NUMERIC.derivatives(tree, point, direction or 0)
    count = len(graph.nodes)
    worst: dict[str, float] = {"values": 0.0, "derivatives": 0.0}
    tol = 0.0
    for key, row in derivation.result.items():
        index = int(key[1:])
        value, third = float(row[1]), float(row[2])
        torch_value, torch_tangent, torch_adjoint = run[index]
        error, tol = _close(value, torch_value, count)
        worst["values"] = max(worst["values"], error)
        error, _ = _close(third, torch_tangent if direction is not None else torch_adjoint, count)
        worst["derivatives"] = max(worst["derivatives"], error)
    mode = "tangents (jvp)" if direction is not None else "adjoints (autograd)"
    out = [
        Measurement(f"{count} nodes: values = torch running the same graph", worst["values"], tol),
        Measurement(f"{count} nodes: {mode} = torch running the same graph", worst["derivatives"], tol),
    ]
    last = derivation.result[f"v{count}"]
    error, _ = _close(float(last[1]), direct["value"], count)
    out.append(Measurement("the last node = f built independently in torch", error, tol))
    if direction is not None:
        error, _ = _close(float(last[2]), direct["tangent"], count)
        out.append(Measurement(f"the last tangent = torch.func.jvp of f along x{direction + 1}", error, tol))
    else:
        gradient = [float(derivation.result[f"v{k}"][2]) for k in (-2, -1, 0)]
        error = max(_close(g, w, count)[0] for g, w in zip(gradient, direct["gradient"], strict=True))
        out.append(Measurement("the inputs' adjoints = torch.autograd.grad of f", error, tol))
    return out


_HOMEWORK_MEASURED: dict[int, tuple[Any, list[Measurement]]] = {}


def _homework(problem: Problem, case: Case) -> list[Measurement]:
    """The homework's trace as derived, at (1, 1.5, 2): the same for every case, so measured once per
    derivation (a perturbed derivation is another object, measured afresh)."""
    derivation = problem.derive()
    kept = _HOMEWORK_MEASURED.get(id(derivation))
    if kept is None or kept[0] is not derivation:
        direction = 1 if problem.answer.trace is TraceMode.FORWARD else None
        found = _against_torch(problem, derivation, NUMERIC.HOMEWORK, (1.0, 1.5, 2.0), direction)
        kept = _HOMEWORK_MEASURED[id(derivation)] = (derivation, found)
    return list(kept[1])


def _random(problem: Problem, case: Case) -> list[Measurement]:
    """The same engine on a random expression at a random point."""
    inputs = (DERIVED.x1, DERIVED.x2, DERIVED.x3)
    f = DERIVED.from_tree(case["tree"], inputs)
    point = [DERIVED.sp_number(v) for v in case["point"]]
    if problem.answer.trace is TraceMode.FORWARD:
        derivation = DERIVED.forward_trace(f, inputs, point, case["direction"])
        return _against_torch(problem, derivation, case["tree"], case["point"], case["direction"])
    derivation = DERIVED.reverse_trace(f, inputs, point)
    return _against_torch(problem, derivation, case["tree"], case["point"], None)


def _trace(mode: TraceMode, title: str, ask: str) -> Problem:
    third = "tangent ∂v_i/∂x2" if mode is TraceMode.FORWARD else "adjoint ∂f/∂v_i"
    return Problem(
        id=f"autodiff.{mode}_trace",
        topic="autodiff",
        title=title,
        kind="trace",
        statement=f"{SETUP} {ask} Each entry is '<definition from earlier nodes> | <value> | <{third}>'.",
        symbols=NODE_SYMBOLS,
        derive=lambda: getattr(DERIVED, f"homework_{mode}")(),
        oracle=lambda case: None,
        oracle_name="torch.func.jvp and torch.autograd on f written in torch, and on the trace's own graph (float64)",
        cases=_cases,
        tolerance=lambda case: 64 * 31 * EPS,
        tolerance_note=TOLERANCE_NOTE,
        fixed_sizes="the homework's f at (1, 1.5, 2), then random expressions of up to 8 leaves at random points",
        answer=AnswerSpec(tolerance=5e-5, trace=mode),
        compare=(
            Check("the homework's trace against torch", _homework),
            Check("random expressions at random points", _random),
        ),
    )


def _df_dx2_oracle(case: Case) -> float:
    return NUMERIC.derivatives(NUMERIC.HOMEWORK, (1.0, 1.5, 2.0), 1)["tangent"]


PROBLEMS = (
    _trace(
        TraceMode.FORWARD,
        "The forward-mode trace of f along x2",
        "Give the forward-mode trace (value and tangent ∂v_i/∂x2 of every node).",
    ),
    _trace(
        TraceMode.REVERSE,
        "The reverse-mode trace of f",
        "Give the reverse-mode trace (value and adjoint of every node), and the inputs' adjoints as v-2, v-1, v0.",
    ),
    Problem(
        id="autodiff.df_dx2",
        topic="autodiff",
        title="∂f/∂x2 at (1, 1.5, 2)",
        kind="number",
        statement=f"{SETUP} Give ∂f/∂x2 to 4 decimals.",
        symbols=(),
        derive=lambda: DERIVED.df_dx2(),
        oracle=_df_dx2_oracle,
        oracle_name="torch.func.jvp of f written in torch (float64)",
        cases=one_case,
        tolerance=lambda case: 16 * EPS,
        tolerance_note="16·eps relative: a handful of float64 operations",
        answer=AnswerSpec(tolerance=5e-5),
        fixed_sizes="(x1, x2, x3) = (1, 1.5, 2)",
    ),
)

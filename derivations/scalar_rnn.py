"""Backprop through the 1-D linear RNN h_t = w (u_t + h_{t-1}), h_0 = 0, y = h_T.

Everything here is derived by SymPy from the recurrence: the T = 3 graph is run forward
and backward symbolically, and the general-T closed form is obtained by variation of
constants and certified by induction. Nothing is typed in as an answer.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from derivations.chain import Chain
from derivations.core import Derivation, Step, inline
from derivations.symbols import At, Name, Partial, TotalDerivative, Words, minus, plus, times

w = sp.Symbol("w", real=True)
u1, u2, u3 = sp.symbols("u_1 u_2 u_3", real=True)
h0 = sp.Symbol("h_0", real=True)

# Graph nodes of the T = 3 unrolling.  The node ``t`` is unrelated to the time index.
p, q, r, s, t_node, y = sp.symbols("p q r s t y", real=True)
NODES = (p, q, r, s, t_node, y)
GRAPH = {
    p: u1 + h0,
    q: w * p,
    r: q + u2,
    s: w * r,
    t_node: s + u3,
    y: w * t_node,
}

# General T: time index t, bound summation index i, the input sequence u_t.
T = sp.Symbol("T", integer=True, positive=True)
t = sp.Symbol("t", integer=True, positive=True)
i = sp.Symbol("i", integer=True, positive=True)
u = sp.IndexedBase("u", real=True)

# ∂y/∂n for each node n: symbols an answer may use for the backward-pass values.
ADJOINT = {n: sp.Symbol(f"dy/d{n.name}", real=True) for n in NODES}

T3_SYMBOLS = {"w": w, "u_1": u1, "u_2": u2, "u_3": u3, "h_0": h0}
T3_GRAPH_SYMBOLS = {
    **T3_SYMBOLS,
    **{n.name: n for n in NODES[:-1]},
    **{f"dy_d{n.name}": ADJOINT[n] for n in NODES},
}
GENERAL_SYMBOLS = {"w": w, "u": u, "T": T, "t": t}


def _name(node: sp.Symbol) -> str:
    return node.name


@cache
def forward() -> Derivation:
    """Forward pass of the T = 3 graph: every node as a polynomial in w and u_1..u_3."""
    values: dict[sp.Symbol, sp.Basic] = {h0: sp.Integer(0)}
    steps = [Step("Start from the empty state.", rhs=sp.Integer(0), lhs=Name("h_0"))]
    for node in NODES:
        local = GRAPH[node]
        values[node] = sp.expand(local.xreplace(values))
        steps.append(
            Step(
                f"Node {node.name} = {inline(local)}; substitute the earlier nodes.",
                rhs=values[node],
                lhs=node,
            )
        )
    table = {node.name: values[node] for node in NODES}
    return Derivation(table, tuple(steps), T3_SYMBOLS, {"h_0": sp.Integer(0)})


@cache
def adjoints() -> dict[sp.Symbol, sp.Basic]:
    """∂y/∂node for every node and input of the T = 3 graph, by reverse accumulation.

    Each node's adjoint is the sum over its consumers of (consumer's adjoint) × (local
    partial of the consumer with respect to it), the chain rule applied edge by edge.
    """
    adj: dict[sp.Symbol, sp.Basic] = {y: sp.Integer(1)}
    for node in reversed(NODES):
        for arg in GRAPH[node].free_symbols:
            if arg == w:
                continue  # w's partial is split per edge, see edge_partials()
            local = sp.diff(GRAPH[node], arg)
            adj[arg] = adj.get(arg, sp.Integer(0)) + adj[node] * local
    return adj


def graph_definitions() -> dict[str, sp.Basic]:
    """Every node and every ∂y/∂node of the T = 3 graph in terms of w and the inputs."""
    values = forward().result
    adj = adjoints()
    defs: dict[str, sp.Basic] = {"h_0": sp.Integer(0)}
    defs.update({n.name: values[n.name] for n in NODES[:-1]})
    defs.update({f"dy_d{n.name}": _in_inputs(adj[n]) for n in NODES})
    return defs


def _in_inputs(expr: sp.Basic) -> sp.Basic:
    values = forward().result
    return sp.expand(expr.xreplace({node: values[node.name] for node in NODES}))


STATES = sp.symbols("h_1 h_2 h_3", real=True)


def _chain() -> Chain:
    """The T = 3 recurrence as a chain rule: h_t = w (u_t + h_{t−1}), y = h_3."""
    inputs = (u1, u2, u3)
    previous = (h0, *STATES[:2])
    equations = {state: w * (u + before) for state, u, before in zip(STATES, inputs, previous, strict=True)}
    equations[y] = STATES[-1]
    steps = {h0: sp.Integer(0), **{state: sp.Integer(k) for k, state in enumerate(STATES, start=1)}}
    names = {**{state.name: state for state in STATES}, "y": y, "h_0": h0}
    return Chain(equations=equations, steps=steps, names=names)


@cache
def dy_dw() -> Derivation:
    """dy/dw for T = 3, by differentiating the closed form of y."""
    y_closed = forward().result["y"]
    result = sp.expand(sp.diff(y_closed, w))
    steps = (
        Step("Unroll the recurrence (forward pass with h_0 = 0).", rhs=y_closed, lhs=Name("y")),
        Step(
            "Differentiate the closed form with respect to w term by term.",
            rhs=result,
            lhs=TotalDerivative("y", "w"),
        ),
    )
    return Derivation(result, steps, T3_SYMBOLS, {"h_0": sp.Integer(0)}, chain=_chain())


@cache
def dy_dp() -> Derivation:
    """The backward-pass partial ∂y/∂p of the T = 3 graph."""
    adj = adjoints()
    steps = [
        Step(
            "Seed the backward pass at the output.",
            rhs=sp.Integer(1),
            lhs=Partial("y", "y"),
        )
    ]
    for node in reversed(NODES[:-1]):
        consumers = [c for c in NODES if node in GRAPH[c].free_symbols]
        chain = " + ".join(f"∂y/∂{c.name}·∂{c.name}/∂{node.name}" for c in consumers)
        steps.append(
            Step(
                f"Chain rule through the consumers of {node.name}: ∂y/∂{node.name} = {chain}.",
                rhs=adj[node],
                lhs=Partial("y", node.name),
            )
        )
    return Derivation(_in_inputs(adj[p]), tuple(steps), T3_SYMBOLS, {"h_0": sp.Integer(0)})


@cache
def edge_partials() -> Derivation:
    """The partial of y along each of the three multiplication edges leaving w (T = 3).

    Along the edge w → n the partial is ∂y/∂n times the local partial ∂n/∂w; the three
    sum to dy/dw (the multivariate chain rule), which is checked here symbolically.
    """
    adj = adjoints()
    steps = []
    table: dict[str, sp.Basic] = {}
    for node in NODES:
        if w not in GRAPH[node].free_symbols:
            continue
        local = sp.diff(GRAPH[node], w)
        along = adj[node] * local
        table[node.name] = _in_inputs(along)
        steps.append(
            Step(
                f"Edge w → {node.name}: ∂y/∂{node.name} · ∂{node.name}/∂w = "
                f"({inline(adj[node])})·({inline(local)}); in the inputs:",
                rhs=table[node.name],
                lhs=Name(f"e_{{{node.name}}}"),
            )
        )
    total = sp.expand(sum(table.values()))
    gap = sp.simplify(total - dy_dw().result)
    if gap != 0:
        raise ArithmeticError(f"edge partials do not sum to dy/dw: difference {gap}")
    steps.append(
        Step(
            "Sum the three edges; SymPy simplifies the difference from dy/dw to 0.",
            rhs=total,
            lhs=plus("e_q", "e_s", "e_y"),
        )
    )
    return Derivation(table, tuple(steps), T3_GRAPH_SYMBOLS, graph_definitions())


@cache
def hidden_state_general() -> Derivation:
    """Closed form of h_t for any t, by variation of constants, certified by induction."""
    h = sp.Function("h")
    c = sp.Function("c")
    recurrence = sp.Eq(h(t), w * (u[t] + h(t - 1)))
    ansatz = recurrence.subs({h(t): w**t * c(t), h(t - 1): w ** (t - 1) * c(t - 1)})
    increment = sp.simplify(sp.solve(ansatz, c(t))[0] - c(t - 1))
    # c_0 = h_0 / w^0 = 0, so c_t is the telescoping sum of its increments.
    summand = sp.powsimp(w**t * increment.subs(t, i))
    closed = sp.Sum(summand, (i, 1, t))

    base_gap = sp.simplify(closed.subs(t, 1).doit() - w * (u[1] + 0))
    # Inductive step: peel the last term off the sum at t + 1 and compare with the
    # recurrence applied to the closed form at t.
    at_next = closed.subs(t, t + 1)
    peeled = sp.Sum(at_next.function, (i, 1, t)) + at_next.function.subs(i, t + 1)
    step_gap = sp.simplify(sp.expand(peeled - w * (u[t + 1] + closed)))
    if base_gap != 0 or step_gap != 0:
        raise ArithmeticError(f"induction failed: base {base_gap}, step {step_gap}")

    steps = (
        Step("The recurrence, with h_0 = 0.", rhs=recurrence.rhs, lhs=Name("h_t")),
        Step(
            "Variation of constants: write h_t = w^t c_t (w ≠ 0; the polynomial result "
            "extends to w = 0) and solve for the increment c_t − c_{t−1}.",
            rhs=increment,
            lhs=plus("c_t", minus("c_{t-1}")),
        ),
        Step(
            "Since c_0 = 0, c_t telescopes to the sum of its increments; multiply by w^t.",
            rhs=closed,
            lhs=Name("h_t"),
        ),
        Step(
            "Induction, base t = 1: the closed form minus w(u_1 + h_0) simplifies to",
            rhs=base_gap,
            lhs=plus("h_1", minus(times("w", "u_1"))),
        ),
        Step(
            "Induction step: peel the term i = t + 1 off the sum at t + 1; "
            "its difference from w(u_{t+1} + h_t) simplifies to",
            rhs=step_gap,
            lhs=plus("h_{t+1}", minus(times("w", plus("u_{t+1}", "h_t")))),
        ),
    )
    return Derivation(closed, steps, GENERAL_SYMBOLS)


def _rename_index(expr: sp.Sum, new: sp.Symbol) -> sp.Sum:
    """Write a single sum with the index ``new`` (the catalog sums over t)."""
    ((old, lo, hi),) = expr.limits
    return sp.Sum(expr.function.xreplace({old: new}), (new, lo, hi))


@cache
def dy_dw_general() -> Derivation:
    """dy/dw for any T: differentiate y = h_T = Σ_t w^{T-t+1} u_t term by term."""
    h_t = hidden_state_general()
    y_general = _rename_index(h_t.result.subs(t, T), t)
    term = y_general.function
    result = sp.Sum(sp.powsimp(sp.diff(term, w)), y_general.limits[0])
    # SymPy-only consistency: at T = 3 the general result is the T = 3 result.
    at_three = sp.expand(result.subs(T, 3).doit().xreplace({u[1]: u1, u[2]: u2, u[3]: u3}))
    gap = sp.simplify(at_three - dy_dw().result)
    if gap != 0:
        raise ArithmeticError(f"general dy/dw disagrees with T = 3: {gap}")
    steps = h_t.steps + (
        Step("The output is the last state.", rhs=y_general, lhs=sp.Eq(Name("y"), Name("h_T"), evaluate=False)),
        Step(
            "A finite sum is differentiated term by term (the bounds do not depend on w).",
            rhs=result,
            lhs=TotalDerivative("y", "w"),
        ),
        Step(
            "At T = 3 it agrees with the unrolled graph: the difference simplifies to",
            rhs=gap,
            lhs=plus(
                At(TotalDerivative("y", "w"), sp.Eq(Name("T"), 3)), minus(At(TotalDerivative("y", "w"), Words("graph")))
            ),
        ),
    )
    return Derivation(result, steps, GENERAL_SYMBOLS)


@cache
def state_gradient_general() -> Derivation:
    """∂y/∂h_t for any t ≤ T: T − t factors ∂h_{j+1}/∂h_j = w."""
    j = sp.Symbol("j", integer=True, positive=True)
    local = sp.diff(w * (u[j + 1] + sp.Symbol("h_j")), sp.Symbol("h_j"))
    result = sp.Product(local, (j, t, T - 1)).doit()
    steps = (
        Step(
            "One step of the recurrence has the local partial ∂h_{j+1}/∂h_j",
            rhs=local,
            lhs=Partial("h_{j+1}", "h_j"),
        ),
        Step(
            "The chain rule multiplies the T − t local partials from h_t to h_T.",
            rhs=result,
            lhs=Partial("y", "h_t"),
        ),
    )
    return Derivation(result, steps, GENERAL_SYMBOLS)


@cache
def edge_partial_general() -> Derivation:
    """The partial of y along the copy of w used at step t (any T).

    ∂h_{j+1}/∂h_j = w locally, so ∂y/∂h_t is the product of T − t such factors; times the
    local partial ∂h_t/∂w = u_t + h_{t-1}.
    """
    j = sp.Symbol("j", integer=True, positive=True)
    dy_dh = sp.Product(w, (j, t + 1, T)).doit()
    h_prev = hidden_state_general().result.subs(t, t - 1)
    result = dy_dh * (u[t] + h_prev)
    steps = (
        Step(
            "Backpropagate from y = h_T: each step multiplies by ∂h_{j+1}/∂h_j = w.",
            rhs=dy_dh,
            lhs=Partial("y", "h_t"),
        ),
        Step("Times the local partial ∂h_t/∂w = u_t + h_{t−1}.", rhs=result, lhs=Name("e_t")),
    )
    return Derivation(result, steps, GENERAL_SYMBOLS)

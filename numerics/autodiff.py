"""Derivatives of scalar functions by PyTorch (float64): forward mode by ``torch.func.jvp``,
reverse mode by ``torch.autograd``.

Functions are given as plain trees, so the same function can be built independently here
and symbolically elsewhere: ``("x", k)`` is input k (0-based), ``("c", value)`` a constant,
``(op, child, …)`` an operation — add, sub, mul, div, neg, pow (child and a constant
exponent), exp, log, sin, cos, tanh, sigmoid, sqrt.  A trace's own graph runs here as a
list of ``(op, argument indices, constant)`` nodes over the inputs' indices 1−n … 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

DTYPE = torch.float64
Tree = tuple

UNARY = {
    "neg": torch.neg,
    "exp": torch.exp,
    "log": torch.log,
    "sin": torch.sin,
    "cos": torch.cos,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "sqrt": torch.sqrt,
}
BINARY = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div}

# The homework's f(x1, x2, x3) = (x1 x2 sin x3 + e^{x1 x2}) / x3, written here by hand.
HOMEWORK: Tree = (
    "div",
    ("add", ("mul", ("mul", ("x", 0), ("x", 1)), ("sin", ("x", 2))), ("exp", ("mul", ("x", 0), ("x", 1)))),
    ("x", 2),
)


def evaluate(tree: Tree, x: Sequence[torch.Tensor]) -> torch.Tensor:
    op = tree[0]
    if op == "x":
        return x[tree[1]]
    if op == "c":
        return torch.tensor(float(tree[1]), dtype=DTYPE)
    if op == "pow":
        return evaluate(tree[1], x) ** float(tree[2])
    if op in UNARY:
        return UNARY[op](evaluate(tree[1], x))
    return BINARY[op](evaluate(tree[1], x), evaluate(tree[2], x))


def derivatives(tree: Tree, point: Sequence[float], direction: int) -> dict[str, Any]:
    """f(point), its directional derivative along input ``direction`` (jvp) and its gradient (autograd)."""
    primal = tuple(torch.tensor(float(v), dtype=DTYPE) for v in point)
    seed = tuple(torch.tensor(1.0 if k == direction else 0.0, dtype=DTYPE) for k in range(len(point)))
    value, tangent = torch.func.jvp(lambda *x: evaluate(tree, x), primal, seed)
    leaves = [p.clone().requires_grad_() for p in primal]
    grads = torch.autograd.grad(evaluate(tree, leaves), leaves, allow_unused=True)  # an unused input: 0
    gradient = [0.0 if g is None else float(g) for g in grads]
    return {"value": float(value), "tangent": float(tangent), "gradient": gradient}


def _node_value(op: str, args: list[torch.Tensor], const: float | None) -> torch.Tensor:
    if op in BINARY:
        return BINARY[op](args[0], args[1])
    if op in UNARY:
        return UNARY[op](args[0])
    c = torch.tensor(const, dtype=DTYPE)
    return {
        "scale": lambda: c * args[0],
        "shift": lambda: c + args[0],
        "rdiv": lambda: c / args[0],
        "pow": lambda: args[0] ** c,
    }[op]()


def _run(nodes: Sequence[tuple[str, tuple[int, ...], float | None]], x: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    values: dict[int, torch.Tensor] = {k + 1 - len(x): v for k, v in enumerate(x)}
    out = []
    for index, (op, args, const) in enumerate(nodes, start=1):
        values[index] = _node_value(op, [values[a] for a in args], const)
        out.append(values[index])
    return out


def run_graph(
    nodes: Sequence[tuple[str, tuple[int, ...], float | None]], point: Sequence[float], direction: int
) -> dict[int, tuple[float, float, float]]:
    """(value, tangent along input ``direction``, adjoint ∂last/∂node) of every node and input, by
    running the graph in torch: jvp through all nodes at once, and autograd with every node kept."""
    primal = tuple(torch.tensor(float(v), dtype=DTYPE) for v in point)
    seed = tuple(torch.tensor(1.0 if k == direction else 0.0, dtype=DTYPE) for k in range(len(point)))
    values, tangents = torch.func.jvp(lambda *x: torch.stack(_run(nodes, x)), primal, seed)
    leaves = [p.clone().requires_grad_() for p in primal]
    outputs = _run(nodes, leaves)
    for t in outputs:
        t.retain_grad()
    outputs[-1].backward()
    first = 1 - len(point)
    out = {
        first + k: (float(point[k]), 1.0 if k == direction else 0.0, float(leaf.grad if leaf.grad is not None else 0.0))
        for k, leaf in enumerate(leaves)
    }
    for index, t in enumerate(outputs, start=1):
        adjoint = float(t.grad) if t.grad is not None else 0.0
        out[index] = (float(values[index - 1]), float(tangents[index - 1]), adjoint)
    return out

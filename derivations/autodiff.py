"""Forward- and reverse-mode traces of any expression of elementary functions.

``graph(f, inputs)`` turns a SymPy expression into elementary nodes v_1, v_2, … over the
inputs v_{1−n}, …, v_0 (the homework's numbering: three inputs are v_{−2}, v_{−1}, v_0), each
one operation of earlier nodes: +, −, ×, ÷, a constant power, exp, log, sin, cos, tanh, σ or √.
A subexpression that occurs twice is one node.  ``forward`` evaluates every node and its
tangent ∂v_i/∂x_j for one input; ``reverse`` the adjoints v̄_i = ∂f/∂v_i, from v̄_last = 1 back
to the inputs, each the sum over the node's consumers.  Every local derivative is SymPy's
derivative of one elementary operation; values are exact (sin 2, e^{3/2}), shown to 4 decimals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache

import sympy as sp

from derivations.core import Derivation, Step, inline
from derivations.symbols import Name, Partial

x1, x2, x3 = sp.symbols("x_1 x_2 x_3", real=True)
HOMEWORK = (x1 * x2 * sp.sin(x3) + sp.exp(x1 * x2)) / x3
HOMEWORK_POINT = (sp.Integer(1), sp.Rational(3, 2), sp.Integer(2))
HOMEWORK_DIRECTION = 1  # the tangent ∂/∂x_2 (0-based input index)
NAMED_NODES = 30  # a student's trace may name this many nodes
UNARY = {"exp": sp.exp, "log": sp.log, "sin": sp.sin, "cos": sp.cos, "tanh": sp.tanh, "sqrt": sp.sqrt}


def name_of(index: int) -> str:
    return f"v_{{{index}}}" if index < 1 else f"v_{index}"


def node_symbol(index: int) -> sp.Symbol:
    return sp.Symbol(name_of(index), real=True)


def sigmoid(x: sp.Basic) -> sp.Basic:
    return 1 / (1 + sp.exp(-x))


@dataclass(frozen=True)
class Node:
    """One elementary operation: ``op`` on earlier nodes ``args`` (indices), with a constant
    ``const`` where the operation has one (c·a, a^c, c + a)."""

    index: int
    op: str
    args: tuple[int, ...]
    const: sp.Basic | None = None

    def definition(self) -> sp.Basic:
        """The operation on its arguments' symbols, as written in a trace."""
        a = [node_symbol(i) for i in self.args]
        c = self.const
        return {
            "add": lambda: a[0] + a[1],
            "sub": lambda: a[0] - a[1],
            "mul": lambda: a[0] * a[1],
            "div": lambda: a[0] / a[1],
            "neg": lambda: -a[0],
            "scale": lambda: c * a[0],
            "shift": lambda: c + a[0],
            "rdiv": lambda: c / a[0],
            "pow": lambda: a[0] ** c,
            "sigmoid": lambda: sigmoid(a[0]),
            **{name: (lambda fn=fn: fn(a[0])) for name, fn in UNARY.items()},
        }[self.op]()


@dataclass(frozen=True)
class Graph:
    inputs: tuple[sp.Symbol, ...]
    nodes: tuple[Node, ...]

    @property
    def first(self) -> int:
        return 1 - len(self.inputs)

    def expression(self, index: int) -> sp.Basic:
        """A node as a function of the inputs."""
        if index < 1:
            return self.inputs[index - self.first]
        node = self.nodes[index - 1]
        return node.definition().xreplace({node_symbol(i): self.expression(i) for i in node.args})

    def consumers(self, index: int) -> list[Node]:
        return [n for n in self.nodes if index in n.args]


class _Builder:
    def __init__(self, inputs: Sequence[sp.Symbol]) -> None:
        self.inputs = tuple(inputs)
        self.nodes: list[Node] = []
        self.memo: dict[sp.Basic, int] = {x: i - len(self.inputs) + 1 for i, x in enumerate(self.inputs)}

    def emit(self, op: str, args: tuple[int, ...], const: sp.Basic | None, expr: sp.Basic) -> int:
        index = len(self.nodes) + 1
        self.nodes.append(Node(index, op, args, const))
        self.memo[expr] = index
        return index

    def node(self, expr: sp.Basic) -> int:
        if expr in self.memo:
            return self.memo[expr]
        if expr.is_number:
            raise ValueError(f"a constant {expr} is an operand, not a node")
        # σ(a) = 1/(1 + e^{−a}): one node, as written
        if isinstance(expr, sp.Pow) and expr.exp == -1 and isinstance(expr.base, sp.Add):
            terms = expr.base.args
            if len(terms) == 2 and sp.S.One in terms:
                other = next(t for t in terms if t != 1)
                if isinstance(other, sp.exp):
                    inner = -other.args[0]
                    return self.emit("sigmoid", (self.node(inner),), None, expr)
        if isinstance(expr, sp.Add):
            return self._add(expr)
        if isinstance(expr, sp.Mul):
            return self._mul(expr)
        if isinstance(expr, sp.Pow):
            base, power = expr.args
            if not power.is_number:
                raise ValueError(f"{expr}: a power must have a constant exponent")
            if power == sp.Rational(1, 2):
                return self.emit("sqrt", (self.node(base),), None, expr)
            if power == -1:
                return self.emit("rdiv", (self.node(base),), sp.S.One, expr)
            return self.emit("pow", (self.node(base),), power, expr)
        for name, fn in UNARY.items():
            if isinstance(expr, sp.Function) and expr.func == fn:
                return self.emit(name, (self.node(expr.args[0]),), None, expr)
        raise ValueError(f"{expr} is not built from elementary operations")

    def _add(self, expr: sp.Add) -> int:
        terms = list(expr.as_ordered_terms())
        constants = [t for t in terms if t.is_number]
        rest = [t for t in terms if not t.is_number]
        current_expr = rest[0]
        current = self.node(rest[0])
        for term in rest[1:]:
            coefficient, body = term.as_coeff_Mul()
            if coefficient == -1:
                current_expr = current_expr - body
                current = self.emit("sub", (current, self.node(body)), None, current_expr)
            else:
                current_expr = current_expr + term
                current = self.emit("add", (current, self.node(term)), None, current_expr)
        if constants:
            c = sp.Add(*constants)
            current = self.emit("shift", (current,), c, current_expr + c)
        return current

    def _mul(self, expr: sp.Mul) -> int:
        # every constant factor (2, e², sin 1) is one coefficient: c·a is one operation
        numbers = [f for f in expr.args if f.is_number]
        coefficient = sp.Mul(*numbers)
        body = sp.Mul(*[f for f in expr.args if not f.is_number])
        if coefficient != 1:
            inner = self.node(body)
            if coefficient == -1:
                return self.emit("neg", (inner,), None, expr)
            return self.emit("scale", (inner,), coefficient, expr)
        factors = list(sp.Mul.make_args(body))
        numerator = [f for f in factors if not (isinstance(f, sp.Pow) and f.exp.is_number and f.exp < 0)]
        denominator = [1 / f for f in factors if f not in numerator]
        if not numerator:
            return self.emit("rdiv", (self._product(denominator),), sp.S.One, expr)
        top = self._product(numerator)
        if not denominator:
            return top
        return self.emit("div", (top, self._product(denominator)), None, expr)

    def _product(self, factors: list[sp.Basic]) -> int:
        current_expr = factors[0]
        current = self.node(factors[0])
        for factor in factors[1:]:
            current_expr = current_expr * factor
            current = self.emit("mul", (current, self.node(factor)), None, current_expr)
        return current


def graph(f: sp.Basic, inputs: Sequence[sp.Symbol]) -> Graph:
    """The elementary nodes of ``f`` over ``inputs`` (numerator factors in SymPy's printed order)."""
    builder = _Builder(inputs)
    last = builder.node(f)
    if last < 1:
        raise ValueError("f is one of its inputs: there is nothing to trace")
    if last != len(builder.nodes):
        raise AssertionError("the last node must be f")
    return Graph(builder.inputs, tuple(builder.nodes))


def _local(node: Node, arg: int) -> sp.Basic:
    """∂v_node/∂v_arg: SymPy's derivative of the one operation (by position, so a·a counts twice)."""
    return sp.diff(node.definition(), node_symbol(arg))


def forward(g: Graph, point: Sequence[sp.Basic], direction: int) -> dict[int, tuple[sp.Basic, sp.Basic]]:
    """(value, tangent ∂v_i/∂x_direction) of every node, inputs included, exactly."""
    out: dict[int, tuple[sp.Basic, sp.Basic]] = {}
    for k, value in enumerate(point):
        out[g.first + k] = (sp.nsimplify(value), sp.Integer(1 if k == direction else 0))
    for node in g.nodes:
        at = {node_symbol(i): out[i][0] for i in node.args}
        value = node.definition().xreplace(at)
        tangent = sum((_local(node, i).xreplace(at) * out[i][1] for i in dict.fromkeys(node.args)), sp.Integer(0))
        out[node.index] = (value, tangent)  # exact; simplifying costs seconds and changes no value
    return out


def reverse(g: Graph, point: Sequence[sp.Basic]) -> dict[int, tuple[sp.Basic, sp.Basic]]:
    """(value, adjoint ∂f/∂v_i) of every node and input: v̄_last = 1, then each node's adjoint is the
    sum over its consumers of the consumer's adjoint times the local derivative."""
    values = {i: v for i, (v, _) in forward(g, point, 0).items()}
    adjoint: dict[int, sp.Basic] = {len(g.nodes): sp.Integer(1)}
    for index in range(len(g.nodes) - 1, g.first - 1, -1):
        total = sp.Integer(0)
        for consumer in g.consumers(index):
            at = {node_symbol(i): values[i] for i in consumer.args}
            total += adjoint[consumer.index] * _local(consumer, index).xreplace(at)
        adjoint[index] = total
    return {i: (values[i], adjoint[i]) for i in values}


def entry_name(index: int) -> str:
    """The table key of a node: v1, v2, …; inputs v-2, v-1, v0."""
    return f"v{index}"


def _table(g: Graph, rows: Mapping[int, tuple[sp.Basic, sp.Basic]], with_inputs: bool) -> dict[str, sp.Basic]:
    out = {}
    if with_inputs:
        for i in range(g.first, 1):
            out[entry_name(i)] = sp.Tuple(node_symbol(i), *rows[i])
    for node in g.nodes:
        out[entry_name(node.index)] = sp.Tuple(node.definition(), *rows[node.index])
    return out


def _given(f: sp.Basic, inputs: Sequence[sp.Symbol], point: Sequence[sp.Basic], direction: int | None) -> dict:
    renamed = f.xreplace({x: node_symbol(k + 1 - len(inputs)) for k, x in enumerate(inputs)})
    given = {"f": renamed, "point": sp.Tuple(*point)}
    if direction is not None:
        given["direction"] = sp.Integer(direction)
    return given


def symbols(count: int, inputs: int = 3) -> dict[str, sp.Symbol]:
    return {name_of(i): node_symbol(i) for i in range(1 - inputs, count + 1)}


def _graph_steps(g: Graph) -> list[Step]:
    listing = "; ".join(f"v_{n.index} = {inline(n.definition())}" for n in g.nodes)
    return [
        Step(
            f"The inputs are v_{g.first} … v_0; each node is one elementary operation of earlier nodes (a "
            f"subexpression used twice is one node): {listing}."
        )
    ]


def forward_trace(f: sp.Basic, inputs: Sequence[sp.Symbol], point: Sequence[sp.Basic], direction: int) -> Derivation:
    g = graph(f, inputs)
    rows = forward(g, point, direction)
    steps = _graph_steps(g)
    steps.append(
        Step(
            f"Forward mode carries each node's value and its tangent ∂v_i/∂x_{direction + 1} (the seed: 1 for "
            f"x_{direction + 1}, 0 for the other inputs), applying to each operation its own derivative: the last "
            "node's tangent is",
            rhs=rows[len(g.nodes)][1],
            lhs=Partial("f", f"x_{direction + 1}"),
        )
    )
    return Derivation(
        _table(g, rows, with_inputs=False),
        tuple(steps),
        symbols(max(len(g.nodes), NAMED_NODES), len(inputs)),
        {},
        (),
        _given(f, inputs, point, direction),
    )


def reverse_trace(f: sp.Basic, inputs: Sequence[sp.Symbol], point: Sequence[sp.Basic]) -> Derivation:
    g = graph(f, inputs)
    rows = reverse(g, point)
    steps = _graph_steps(g)
    gradient = sp.Tuple(*(rows[i][1] for i in range(g.first, 1)))
    steps.append(
        Step(
            "Reverse mode seeds v̄_last = 1 and visits the nodes backwards: each adjoint is the sum, over the "
            "node's consumers, of the consumer's adjoint times the local derivative. The inputs' adjoints are "
            "the gradient:",
            rhs=gradient,
            lhs=Name(r"\nabla f"),
        )
    )
    return Derivation(
        _table(g, rows, with_inputs=True),
        tuple(steps),
        symbols(max(len(g.nodes), NAMED_NODES), len(inputs)),
        {},
        (),
        _given(f, inputs, point, None),
    )


@cache
def homework_forward() -> Derivation:
    return forward_trace(HOMEWORK, (x1, x2, x3), HOMEWORK_POINT, HOMEWORK_DIRECTION)


@cache
def homework_reverse() -> Derivation:
    return reverse_trace(HOMEWORK, (x1, x2, x3), HOMEWORK_POINT)


@cache
def df_dx2() -> Derivation:
    forward_ = homework_forward()
    last = forward_.result[entry_name(len(forward_.result))]
    value = sp.simplify(last[2])
    direct = sp.diff(HOMEWORK, x2)
    steps = (
        *forward_.steps,
        Step(
            "Symbolically, SymPy's derivative of f in x_2 is",
            rhs=direct,
            lhs=Partial("f", "x_2"),
        ),
        Step("At (1, 1.5, 2) both give", rhs=value, lhs=Partial("f", "x_2")),
    )
    if sp.simplify(direct.subs(dict(zip((x1, x2, x3), HOMEWORK_POINT, strict=True))) - value) != 0:
        raise ArithmeticError("the forward trace disagrees with the symbolic derivative")
    return Derivation(value, steps, {})


def from_tree(tree: tuple, inputs: Sequence[sp.Symbol]) -> sp.Basic:
    """A function given as a plain tree (``("x", k)``, ``("c", value)``, ``(op, child, …)``) as SymPy."""
    op = tree[0]
    if op == "x":
        return inputs[tree[1]]
    if op == "c":
        return sp.nsimplify(tree[1])
    if op == "pow":
        return from_tree(tree[1], inputs) ** sp.nsimplify(tree[2])
    if op == "neg":
        return -from_tree(tree[1], inputs)
    if op == "sigmoid":
        return sigmoid(from_tree(tree[1], inputs))
    if op in UNARY:
        return UNARY[op](from_tree(tree[1], inputs))
    a, b = (from_tree(t, inputs) for t in tree[1:])
    return {"add": a + b, "sub": a - b, "mul": a * b, "div": a / b}[op]


def node_list(g: Graph) -> list[tuple[str, tuple[int, ...], float | None]]:
    """The graph as plain data (operation, argument indices, constant), for running it elsewhere."""
    return [(n.op, n.args, None if n.const is None else float(n.const)) for n in g.nodes]


def sp_number(value: float) -> sp.Basic:
    """A float64 point coordinate as the exact binary fraction it is."""
    return sp.Rational(value)

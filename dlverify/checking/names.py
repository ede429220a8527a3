"""What a name in an answer can mean: a symbol of the problem (under any of its spellings), a
function of ``derivations.functions``, an operator (diag, Σ, Π) or a constant.

``key`` gives every name-like tree one canonical spelling, so that ``u_1``, ``u_{1}``, ``u1``
and ``u[1]`` find the same symbol; ``table_for`` collects a problem's symbols under those keys.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import sympy as sp

from dlverify.checking.parse import Node, ParseError, parse
from dlverify.problem import Problem

_DIGIT_SUFFIX = re.compile(r"^([A-Za-z]+)([0-9]+)$")
TRANSPOSE_MARKS = {"T", "top", "intercal", "mathsf{T}"}
DIAG = {"diag", "DiagMatrix", "Diag"}
BIG_OPERATORS = {"sum": sp.Sum, "prod": sp.Product, "Sum": sp.Sum, "Product": sp.Product}
CONSTANTS = {"e": sp.E, "pi": sp.pi, "infty": sp.oo}


class Unreadable(ParseError):
    """Parsed, but a construct has no meaning here (a prime after a scalar, say)."""


def bare(name: str) -> str:
    """A command's name without its backslash: ``\\sigma`` → ``sigma``."""
    return name[1:] if name.startswith("\\") else name


def key(node: Node) -> str | None:
    """A canonical spelling of a name-like tree, equal for ``u_1``, ``u_{1}``, ``u1``, ``u[1]``."""
    k = node.rule
    if k == "name":
        name = bare(node.args[0])
        m = _DIGIT_SUFFIX.match(name)
        return f"{m.group(1)}_{{{m.group(2)}}}" if m else name
    if k == "num":
        return node.args[0]
    if k == "paren":
        return key(node.args[0])
    if k in ("sub", "index"):
        base, sub = (key(a) for a in node.args)
        return None if base is None or sub is None else f"{base}_{{{sub}}}"
    if k == "pow":
        base, sup = (key(a) for a in node.args)
        return None if base is None or sup is None else f"{base}^{{{sup}}}"
    if k == "accent":
        kind = {"widehat": "hat", "widetilde": "tilde", "overline": "bar"}.get(node.args[0], node.args[0])
        inner = key(node.args[1])
        return None if inner is None else f"{kind}{{{inner}}}"
    if k == "font":
        inner = key(node.args[1])
        if node.args[0] == "mathbb":
            return None if inner is None else f"mathbb{{{inner}}}"
        return inner  # bold / roman / text: the same symbol
    if k == "div":
        num, den = (_called_partial(a) for a in node.args)
        if num.rule == "partial" and den.rule == "partial":
            a, b = key(num.args[0]), key(den.args[0])
            return None if a is None or b is None else f"d{a}/d{b}"
        if num.rule == "name" and den.rule == "name":
            a, b = bare(num.args[0]), bare(den.args[0])
            if a.startswith("d") and b.startswith("d") and len(a) > 1 and len(b) > 1:
                return f"d{a[1:]}/d{b[1:]}"
        return None
    if k == "call":
        fn, arg = (key(a) for a in node.args)
        return None if fn is None or arg is None else f"{fn}({arg})"
    if k == "attr":
        inner = key(node.args[0])
        return None if inner is None else f"{inner}.{node.args[1]}"
    if k == "add":  # subscripts such as t-1
        parts = [key(a) for a in node.args]
        return None if None in parts else "+".join(parts).replace("+-", "-")
    if k == "neg":
        inner = key(node.args[0])
        return None if inner is None else f"-{inner}"
    return None


def _called_partial(node: Node) -> Node:
    """``\\partial f_W(x)`` (read as ∂f_W times (x)) as the derivative symbol's ∂(f_W(x))."""
    if node.rule == "mul" and len(node.args) == 2 and node.args[0].rule == "partial" and node.args[1].rule == "paren":
        return Node("partial", (Node("call", (node.args[0].args[0], node.args[1].args[0]), node.pos),), node.pos)
    return node


@dataclass
class SymbolTable:
    """What the names of one problem mean."""

    by_key: dict[str, sp.Basic]
    index_bounds: dict[sp.Symbol, tuple[sp.Expr, sp.Expr]]
    definitions: dict[sp.Basic, sp.Basic]
    problem_id: str
    has_matrices: bool = False
    functions: dict[str, str] = field(default_factory=dict)  # this item's meaning of a function name
    # what a derivative symbol ∂a/∂b means: the setup's chain rule (derivations.chain), if the item has one,
    # and the asked quantity's own symbol (∂L/∂h_t → the reference), under its key
    chain: Any = None
    asked: dict[str, sp.Basic] = field(default_factory=dict)
    quantities: dict[str, sp.Basic] = field(default_factory=dict)  # the setup's names inside a derivative
    arity: dict[sp.Basic, int] = field(default_factory=dict)  # how many indices an indexed symbol takes


@cache
def table_for(problem: Problem) -> SymbolTable:
    """The problem's symbols under every spelling's key, their bounds and its definitions."""
    derivation = problem.derive()
    objects = dict(derivation.symbols)
    by_key: dict[str, sp.Basic] = {}
    bounds: dict[sp.Symbol, tuple[sp.Expr, sp.Expr]] = {}
    for spec in problem.symbols:
        if spec.name not in objects:
            raise KeyError(f"{problem.id}: symbol {spec.name} has no SymPy object in its derivation")
        obj = objects[spec.name]
        for spelling in (spec.name, spec.latex, *spec.spellings):
            k = key(parse(spelling, greedy=True))
            if k is None:
                raise ValueError(f"{problem.id}: spelling {spelling!r} is not name-like")
            for variant in {k, k.replace("^{", "_{")}:
                by_key.setdefault(variant, obj)
    for spec in problem.symbols:
        if spec.bounds:
            # a bound may be an expression in sizes (k ≤ m - 1); imported here: points pulls in numpy
            from dlverify.checking.points import bound_value

            read = (sp.sympify(bound_value(b, objects.__getitem__, sp.Max, sp.Min)) if b else None for b in spec.bounds)
            lo, hi = read
            bounds[objects[spec.name]] = (lo, hi)
    definitions = {objects[n]: v for n, v in {**derivation.setup, **derivation.definitions}.items()}
    has_matrices = any(isinstance(o, sp.MatrixExpr) for o in objects.values())
    functions = dict(problem.answer.functions)
    chain = getattr(derivation, "chain", None)
    quantities = {}
    if chain is not None:
        for spelling, obj in chain.names.items():
            k = key(parse(spelling, greedy=True))
            if k is not None:
                quantities.setdefault(k, obj)
    table = SymbolTable(by_key, bounds, definitions, problem.id, has_matrices, functions, chain, {}, quantities)
    table.asked.update(_asked(derivation))
    from dlverify.checking.mutations import index_arity  # sympy only, no cycle

    table.arity.update(index_arity(derivation.result))
    return table


def _asked(derivation: Any) -> dict[str, sp.Basic]:
    """The asked quantity's derivative symbol (the last step that states the result) → the result."""
    for step in reversed(derivation.steps):
        if getattr(step, "rhs", None) is None or step.lhs is None or step.rhs != derivation.result:
            continue
        try:
            k = key(parse(sp.latex(step.lhs), greedy=True))
        except ParseError:
            return {}
        return {k: derivation.result} if k is not None and k.startswith("d") and "/d" in k else {}
    return {}

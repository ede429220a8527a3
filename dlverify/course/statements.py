"""The forward statements, ``name = expression`` one per line: each read by the answer grammar and
resolved to SymPy (for the derivation), measured as it would be written out in the inputs (what
the checker evaluates), and turned into the oracle's tree (``program``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from dlverify.course.errors import Where
from dlverify.course.limits import (
    MAX_EXPANDED_DEPTH,
    MAX_EXPANDED_SIZE,
    MAX_FILE_STATEMENTS,
    MAX_NAME,
    MAX_NESTING,
    MAX_STATEMENTS,
)
from dlverify.course.loops import unrolled
from dlverify.course.program import tree

NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Forward:
    """The forward statements of one problem, read and resolved."""

    statements: tuple[tuple[Any, Any], ...]  # (MatrixSymbol, SymPy expression)
    program: tuple[tuple[str, Any], ...]  # (name, oracle tree)
    written: tuple[tuple[str, str], ...]  # (name, expression as written)
    measures: dict[Any, tuple[int, int]]  # quantity → (nodes, levels) written out in the inputs (written_out)


def read_statements(forward: str, objects: dict[str, Any], where: Where, budget: list[int] | None = None) -> Forward:
    """Each line ``name = expression``: resolved to SymPy (for the derivation) and to an oracle tree;
    ``objects`` gains each computed quantity, ``budget`` (the file's statements left) loses one per line."""
    import sympy as sp
    from sympy.matrices.common import ShapeError

    from dlverify.checking.names import SymbolTable, Unreadable
    from dlverify.checking.parse import ParseError, parse
    from dlverify.checking.resolve import Resolver

    first = where.first_statement_line()
    statements, program, written = [], [], []
    by_key = _keys(objects)  # grown by each statement's name, not rebuilt: loading stays linear
    measures: dict[Any, tuple[int, int]] = {}  # quantity → (nodes, levels) written out in the inputs
    for at, line in unrolled(forward, first, where):
        body = line.split("#", 1)[0]
        if not body.strip():
            continue
        if "=" not in body:
            raise where.error("forward", "a statement is name = expression", at, 1)
        if len(statements) == MAX_STATEMENTS:
            raise where.error("forward", f"more than {MAX_STATEMENTS} statements (loops unrolled)", at, 1)
        if budget is not None:
            if budget[0] <= 0:
                raise where.error("forward", f"more than {MAX_FILE_STATEMENTS} statements in one file", at, 1)
            budget[0] -= 1
        name, expr_text = (part for part in body.split("=", 1))
        name = re.sub(r"_\{(-?\d+)\}$", r"_\1", name.strip())  # h_{2}, written out from h_t, is h_2
        column = body.index("=") + 2 + (len(expr_text) - len(expr_text.lstrip()))
        if not NAME.fullmatch(name) or len(name) > MAX_NAME:
            raise where.error("forward", f"{name[:MAX_NAME]!r} is not a name for a quantity", at, 1)
        if name in objects:
            raise where.error("forward", f"{name} is defined twice (or is a size or an input)", at, 1)
        table = SymbolTable(by_key, {}, {}, where.pid, has_matrices=True)
        try:
            node = parse(expr_text.strip(), greedy=True)
        except ParseError as exc:
            reason = exc.reason.replace("the answer", "the statement")
            raise where.error("forward", reason, at, column + (exc.pos or 0)) from None
        nesting = _nesting(node)
        if nesting > MAX_NESTING:  # e.g. 500 minus signs: refused before anything recurses through them
            reason = f"the statement nests more than {MAX_NESTING} levels deep (brackets, signs, operators)"
            raise where.error("forward", reason, at, column)
        huge = _huge_constant(node)
        if huge is not None:  # (10^{999})^{999}: SymPy would compute its billion digits exactly
            raise where.error("forward", "a number here is beyond 1e300", at, column + huge.pos)
        try:
            resolver = Resolver(table)
            value = resolver(node)
            undefined = resolver.unknown()
        except (ParseError, Unreadable) as exc:
            reason = exc.reason.replace("the answer", "the statement")
            raise where.error("forward", reason, at, column + (exc.pos or 0)) from None
        except (ShapeError, ValueError, TypeError) as exc:
            raise where.error("forward", f"the shapes do not fit: {exc}", at, column) from None
        except (RecursionError, OverflowError, MemoryError) as exc:
            reason = f"the statement is too large to read ({type(exc).__name__})"
            raise where.error("forward", reason, at, column) from None
        if undefined:
            symbol, pos = next(iter(undefined.items()))
            raise where.error("forward", f"undefined symbol {symbol}", at, column + pos)
        if not isinstance(value, sp.MatrixExpr) and value.atoms(sp.MatrixSymbol):
            value = sp.MatMul(value, sp.Identity(1))  # tr(A X), log det X: a scalar of the matrices, 1×1
        mismatch = _shape_mismatch(value)
        if mismatch:
            raise where.error("forward", f"the shapes do not fit: {mismatch}", at, column)
        if not isinstance(value, sp.MatrixExpr):
            raise where.error("forward", "an expression here is built from the declared symbols", at, column)
        quantity = sp.MatrixSymbol(name, *value.shape)
        measures[quantity] = size, depth = written_out(value, measures)
        if depth > MAX_EXPANDED_DEPTH or size > MAX_EXPANDED_SIZE:
            reason = (
                f"{name} written out in the inputs is {'over ' if size > MAX_EXPANDED_SIZE else ''}"
                f"{min(size, MAX_EXPANDED_SIZE)} nodes, {depth} levels deep (at most {MAX_EXPANDED_SIZE} nodes, "
                f"{MAX_EXPANDED_DEPTH} levels; a statement using a quantity twice doubles it)"
            )
            raise where.error("forward", reason, at, 1)
        objects[name] = quantity
        statements.append((quantity, value))
        program.append((name, tree(node, by_key, where, at, column)))
        written.append((name, expr_text.strip()))
        _add_keys(by_key, name, quantity)
    if not statements:
        raise where.error("forward", "no statements")
    return Forward(tuple(statements), tuple(program), tuple(written), measures)


def _nesting(node: Any) -> int:
    """The depth of a parsed tree, walked without recursion (a deep tree is what is being measured);
    once past MAX_NESTING the walk stops, that being enough to refuse it."""
    from dlverify.checking.parse import Node

    deepest, stack = 0, [(node, 1)]
    while stack and deepest <= MAX_NESTING:
        n, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((a, depth + 1) for a in n.args if isinstance(a, Node))
    return deepest


def _huge_constant(node: Any) -> Any:
    """The innermost part of a parsed statement that is a number beyond 1e300 (a constant tower
    such as (10^{999})^{999}), or None; evaluated in floats, where such a number overflows."""
    import math

    from dlverify.checking.parse import Node

    found: list[Any] = []

    def value(n: Any) -> float | None:  # None: not a constant (or already found too large)
        args = [value(a) if isinstance(a, Node) else None for a in n.args]
        if n.rule == "num":
            return float(n.args[0])
        if n.rule in ("paren", "neg") and args[-1] is not None:
            return args[-1] if n.rule == "paren" else -args[-1]
        if n.rule not in ("pow", "mul", "add") or None in args:
            return None
        try:
            out = args[0] ** args[1] if n.rule == "pow" else math.prod(args) if n.rule == "mul" else math.fsum(args)
        except OverflowError:
            out = math.inf
        except ZeroDivisionError:  # 0^{-1}: for the resolver to refuse
            return None
        if isinstance(out, complex):  # (-8)^{0.5}: not a whole power, refused as such later
            return None
        if not math.isfinite(out) or abs(out) > 1e300:
            found.append(n)
            return None
        return out

    value(node)
    return found[0] if found else None


def written_out(expr: Any, measures: dict[Any, tuple[int, int]], cap: int = MAX_EXPANDED_SIZE) -> tuple[int, int]:
    """(nodes, levels) of ``expr`` with every computed quantity replaced by its definition, from the
    measures of those quantities, without writing anything out.  Nodes are counted as a recursive
    walk visits them (a quantity used twice counts twice), capped just above ``cap`` so that the
    counts stay small numbers; each distinct subexpression is looked at once, without recursion."""
    memo: dict[Any, tuple[int, int]] = dict(measures)
    stack = [expr]
    while stack:
        e = stack[-1]
        if e in memo:
            stack.pop()
            continue
        pending = [a for a in e.args if a not in memo]
        if pending:
            stack.extend(pending)
            continue
        stack.pop()
        parts = [memo[a] for a in e.args]
        memo[e] = min(1 + sum(p[0] for p in parts), cap + 1), 1 + max((p[1] for p in parts), default=0)
    return memo[expr]


def _shape_mismatch(expr: Any) -> str | None:
    """Where the sizes of a product, a sum or an entrywise product disagree (symbolically: W x with W
    m×n and x of size m), in words; None if every operation fits."""
    import sympy as sp

    from dlverify.notation import unicode

    def shape(e: Any) -> str:
        return "×".join(unicode(d) for d in e.shape)

    for node in sp.preorder_traversal(expr):
        if isinstance(node, sp.MatMul):
            mats = [a for a in node.args if isinstance(a, sp.MatrixExpr)]
            for a, b in zip(mats, mats[1:], strict=False):
                if sp.expand(a.shape[1] - b.rows) != 0:  # sizes are declared names or 1: no simplify needed
                    return f"{unicode(a)} ({shape(a)}) times {unicode(b)} ({shape(b)})"
        elif isinstance(node, (sp.MatAdd, sp.HadamardProduct)):
            first = node.args[0]
            for other in node.args[1:]:
                if any(sp.expand(x - y) != 0 for x, y in zip(first.shape, other.shape, strict=True)):
                    what = "plus" if isinstance(node, sp.MatAdd) else "⊙"
                    return f"{unicode(first)} ({shape(first)}) {what} {unicode(other)} ({shape(other)})"
    return None


def _keys(objects: dict[str, Any]) -> dict[str, Any]:
    """Every spelling of every name the statements may use (W_1, W_{1}, W1; yhat, \\hat{y})."""
    out: dict[str, Any] = {}
    for name, obj in objects.items():
        _add_keys(out, name, obj)
    return out


def _add_keys(by_key: dict[str, Any], name: str, obj: Any) -> None:
    """The spellings of one name added to ``by_key`` (an earlier name keeps a spelling it has)."""
    from dlverify.checking.names import key
    from dlverify.checking.parse import parse

    spellings = [name]
    if name.endswith("hat") and len(name) > 3:
        spellings.append(rf"\hat{{{name[:-3]}}}")
    for spelling in spellings:
        k = key(parse(spelling, greedy=True))
        if k is not None:
            by_key.setdefault(k, obj)

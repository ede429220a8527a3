"""A course's own problems, from a short TOML problem file (``--problems FILE``).

    [problem."hw5.q2"]
    title = "Gradients of a one-hidden-layer tanh regressor"
    symbols = { x = "vector n", W = "matrix m×n", b = "vector m", v = "vector m", y = "real" }
    forward = '''
    h = tanh(W x + b)
    yhat = v^T h
    L = (yhat - y)^2
    '''
    ask = ["dL/dW", "dL/db", "dL/dx", "dh/dx"]

Each asked derivative becomes a catalog-like ``Problem`` (id ``hw5.q2.dL_dW``) of topic ``hw5``:
derived by the matrix chain rule of ``derivations.course`` from the statements read by the
answer grammar, verified against ``numerics.course`` — the same statements run as a torch
program and differentiated by autograd — and checked like any catalog item.  The two meet
only here: the oracle is built from the parsed text, never from the derived result.

A file is read whole before anything is registered: an error (an undefined symbol, a shape
mismatch, a derivative of something not computed) is one message with its line and column.

A problem file may come from anyone, so what it may ask for is bounded before any of it is
built: a loop's steps (its sequences become inputs x_1 … x_T), the number of problems, asks,
inputs and statements, a statement's nesting, and the size and depth of each quantity written
out in the inputs, which is what the checker evaluates (a statement using the previous quantity
twice doubles it).  Beyond a bound the file is refused with its line and column, never loaded
slowly or half-way.
"""

from __future__ import annotations

import os
import re
import sys
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from dlverify.problem import Case, Problem, SymbolSpec, Topic

EPS = sys.float_info.epsilon
SHAPE = re.compile(r"^\s*(real|scalar|vector\s+(\w+)|matrix\s+(\w+)\s*[×x*]\s*(\w+))\s*$")
NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)+")  # fullmatch: "$" would let "a.b\n" through
ASK = re.compile(r"^\s*(?:d|∂|\\partial\s*)\s*(\w+)\s*/\s*(?:d|∂|\\partial\s*)\s*(\w+)\s*$")
FRAC_ASK = re.compile(r"^\s*\\frac\{\s*\\partial\s*(\w+)\s*\}\{\s*\\partial\s*(\w+)\s*\}\s*$")


# Bounds on what a file may ask for (README "A course's own problems").
MAX_PROBLEMS = 50  # [problem."id"] tables in one file
MAX_ASKS = 20  # asked derivatives of one problem
MAX_NAME = 40  # characters of a symbol or size name, and of a title (times 5)
MAX_INPUTS = 200  # symbols of one problem, a sequence counting T times
MAX_STATEMENTS = 200  # statements of one problem, loops unrolled
MAX_FILE_STATEMENTS = 1000  # statements of all the problems of a file
MAX_NESTING = 60  # levels of one parsed statement (brackets, signs, operators)
# The checker writes a reference out in the inputs (as a tree: a quantity used twice is there
# twice), walks it recursively, and for a wrong answer does so again for each likely mistake:
# the size and depth of that tree decide whether an answer is judged well within its CPU limit
# (dlverify.checking.pool.DEFAULT_TIMEOUT), and whether the walk stays within Python's recursion limit.
MAX_EXPANDED_DEPTH = 200  # levels of a quantity, or of an asked derivative, written out in the inputs
MAX_EXPANDED_SIZE = 5000  # nodes of a quantity written out in the inputs
MAX_REFERENCE_SIZE = 6000  # nodes of an asked derivative written out in the inputs (derived at load)
MAX_FILE_ASKS = 100  # asked derivatives of all the problems of a file (each is derived at load)


class ProblemFileError(ValueError):
    """A problem file that cannot be used; the message names the file, line and column."""


@dataclass(frozen=True)
class Model:
    """One ``[problem."id"]`` table, read and resolved."""

    id: str
    title: str
    sizes: tuple[str, ...]
    inputs: dict[str, tuple[str, str]]  # name → (rows, cols) by size name ("1" for a scalar axis)
    forward_text: tuple[tuple[str, str], ...]  # (name, expression as written)
    statements: tuple[Any, ...]  # (MatrixSymbol, SymPy expression)
    program: tuple[tuple[str, Any], ...]  # (name, oracle tree)
    objects: dict[str, Any]  # name → SymPy object (sizes, inputs, intermediates)
    in_inputs: dict[str, Any]  # name → its statement with every computed quantity written out (shared subtrees)
    measures: dict[Any, tuple[int, int]]  # quantity → (nodes, levels) written out in the inputs (_written_out)


def load(path: Path) -> tuple[list[Topic], list[Problem]]:
    """The topics and problems of a problem file; ProblemFileError (nothing registered) if it is wrong."""
    from dlverify.checking.answers import AnswerFileError, _read_bytes

    try:
        raw = _read_bytes(path)
    except AnswerFileError as exc:
        raise ProblemFileError(str(exc)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProblemFileError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProblemFileError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:  # tomllib reads nested arrays and tables recursively
        raise ProblemFileError(f"{path}: not valid TOML: nested too deeply") from None
    except ValueError as exc:  # e.g. an integer longer than Python converts
        raise ProblemFileError(f"{path}: not valid TOML: {exc}") from None
    tables = data.get("problem")
    if not isinstance(tables, dict) or not tables:
        raise ProblemFileError(f'{path}: no [problem."id"] tables')
    lines = text.splitlines()
    if len(tables) > MAX_PROBLEMS:
        pid = list(tables)[MAX_PROBLEMS]
        raise _Where(path, lines, pid).error("", f"more than {MAX_PROBLEMS} problems in one file")
    topics: dict[str, Topic] = {}
    problems: list[Problem] = []
    budget = [MAX_FILE_STATEMENTS]  # statements left for the file's remaining problems
    for pid, table in tables.items():
        where = _Where(path, lines, pid)
        model = _model(pid, table, where, budget)
        topic = pid.split(".")[0]
        topics.setdefault(topic, Topic(topic, f"Course problems ({topic}, from {path.name})", order=5000))
        for ask in _asks(table, model, where):
            if len(problems) == MAX_FILE_ASKS:
                raise where.error("ask", f"more than {MAX_FILE_ASKS} asked derivatives in one file")
            problem = _problem(model, topic, *ask)
            _check_reference(problem, model, ask[0], where)
            problems.append(problem)
    return list(topics.values()), problems


def _check_reference(problem: Problem, model: Model, ask: str, where: _Where) -> None:
    """Derive the asked derivative now (its derive() keeps the result) and refuse it if it cannot be
    derived, or if written out in the inputs — as the checker evaluates it, against every wrong
    answer's likely mistakes — it is too large to check in the time an answer has."""
    from derivations.course import Unsupported

    try:
        result = problem.derive().result
        size, depth = _written_out(result, model.measures, MAX_REFERENCE_SIZE)
    except Unsupported as exc:
        raise where.error("ask", f"{ask}: cannot be derived here: {exc} is not supported") from None
    except (RecursionError, MemoryError, OverflowError) as exc:
        raise where.error("ask", f"{ask}: the derivative is too large to derive ({type(exc).__name__})") from None
    except Exception as exc:  # a derivation bug on an unusual file: still one line, not a traceback
        if os.environ.get("DLVERIFY_DEBUG"):
            raise
        raise where.error("ask", f"{ask}: the derivation failed ({type(exc).__name__}); please report it") from None
    if size > MAX_REFERENCE_SIZE or depth > MAX_EXPANDED_DEPTH:
        reason = (
            f"{ask}: the derivative written out in the inputs is {'over ' if size > MAX_REFERENCE_SIZE else ''}"
            f"{min(size, MAX_REFERENCE_SIZE)} nodes, {depth} levels deep (at most {MAX_REFERENCE_SIZE} nodes, "
            f"{MAX_EXPANDED_DEPTH} levels): too large to check answers against; ask about fewer steps"
        )
        raise where.error("ask", reason)


@dataclass
class _Where:
    """Positions in the file, for messages: the line of a key inside one problem's table."""

    path: Path
    lines: list[str]
    pid: str

    def line_of(self, key: str) -> int:
        header = next((k for k, line in enumerate(self.lines) if self.pid in line and line.lstrip().startswith("[")), 0)
        for k in range(header + 1, len(self.lines)):
            if self.lines[k].lstrip().startswith("["):
                break
            if re.match(rf"\s*{re.escape(key)}\s*=", self.lines[k]):
                return k + 1
        return header + 1

    def error(self, key: str, reason: str, line: int | None = None, column: int | None = None) -> ProblemFileError:
        at = line if line is not None else self.line_of(key)
        col = f":{column}" if column is not None else ""
        shown = self.pid if self.pid.isprintable() else repr(self.pid)  # one line, whatever the key holds
        return ProblemFileError(f"{self.path}:{at}{col}: problem {shown[:100]}: {reason}")


def _model(pid: str, table: Any, where: _Where, budget: list[int] | None = None) -> Model:
    import sympy as sp

    if not ID.fullmatch(pid) or len(pid) > 2 * MAX_NAME:
        raise where.error("", f"the id {pid[: 2 * MAX_NAME]!r} must look like course.item (letters, digits, dots)")
    if not isinstance(table, dict):
        raise where.error("", "a problem is a table with title, symbols, forward and ask")
    unknown = set(table) - {"title", "symbols", "forward", "ask"}
    if unknown:
        raise where.error(sorted(unknown)[0], f"unknown key {sorted(unknown)[0]!r} (title, symbols, forward, ask)")
    title = table.get("title", pid)
    symbols = table.get("symbols")
    if not isinstance(title, str):
        raise where.error("title", "the title is text")
    # one line: it is printed into listings, TOML templates and LaTeX headings
    if not title.isprintable() or len(title) > 5 * MAX_NAME:
        raise where.error("title", f"the title is one line of at most {5 * MAX_NAME} printable characters")
    if not isinstance(symbols, dict) or not symbols:
        raise where.error("symbols", 'symbols is a table such as { x = "vector n", W = "matrix m×n", y = "real" }')
    inputs: dict[str, tuple[str, str]] = {}
    sizes: list[str] = []
    forward = table.get("forward")
    if isinstance(forward, str):  # a loop's range first: it decides how many inputs a sequence is
        for k, line in enumerate(forward.splitlines()):
            if m := LOOP.match(line.strip()):
                try:
                    _steps(m)
                except ValueError as exc:
                    raise where.error("forward", str(exc), _first_line(where) + k, 1) from None
    steps = loop_bound(forward) if isinstance(forward, str) else 0
    expanded: dict[str, Any] = {}
    for name, spec in symbols.items():
        sequence = isinstance(spec, str) and spec.strip().startswith("sequence of ")
        if sequence:  # x = "sequence of vector n": x_1 … x_T, T the loops' last step
            if not steps:
                raise where.error("symbols", f"symbol {name} is a sequence, but no loop (for t in 1..T:) uses it")
            spec = spec.strip().removeprefix("sequence of ")
            expanded.update({f"{name}_{k}": spec for k in range(1, steps + 1)})
        else:
            expanded[name] = spec
        if len(expanded) > MAX_INPUTS:
            raise where.error("symbols", f"more than {MAX_INPUTS} inputs (a sequence counts once per step)")
    for name, spec in expanded.items():
        m = SHAPE.match(spec) if isinstance(spec, str) else None
        if not NAME.fullmatch(name) or len(name) > MAX_NAME or m is None:
            shown = name[:MAX_NAME] if NAME.fullmatch(name) else repr(name[:MAX_NAME])
            raise where.error("symbols", f'symbol {shown}: write "real", "vector n" or "matrix m×n", not {spec!r:.60}')
        shape = _shape_of(m)
        for axis in shape:
            if axis != "1" and (not NAME.fullmatch(axis) or len(axis) > MAX_NAME):
                raise where.error("symbols", f"symbol {name}: a size is a name such as n, not {axis!r}")
            if axis != "1" and axis not in sizes:
                sizes.append(axis)
        inputs[name] = shape
    clash = set(sizes) & set(inputs)
    if clash:
        raise where.error("symbols", f"{sorted(clash)[0]} is both a size and a symbol")
    objects: dict[str, Any] = {s: sp.Symbol(s, integer=True, positive=True) for s in sizes}

    def dim(axis: str) -> Any:
        return sp.Integer(1) if axis == "1" else objects[axis]

    for name, (rows, cols) in inputs.items():
        objects[name] = sp.MatrixSymbol(name, dim(rows), dim(cols))
    if not isinstance(forward, str) or not forward.strip():
        raise where.error("forward", "forward is text: one statement name = expression per line")
    statements, program, written, measures = _statements(forward, objects, where, budget)
    # Each quantity in the inputs, built on the ones before it (one xreplace of its own statement):
    # given as the derivation's definitions, the checker writes a reference out in one round, not
    # one round per level of the chain.
    in_inputs: dict[Any, Any] = {}
    for quantity, value in statements:
        in_inputs[quantity] = value.xreplace(in_inputs)
    written_out = {q.name: v for q, v in in_inputs.items()}
    kept = (tuple(written), tuple(statements), tuple(program), objects, written_out, measures)
    return Model(pid, title, tuple(sizes), inputs, *kept)


def _shape_of(m: re.Match) -> tuple[str, str]:
    """(rows, cols) by size name from a SHAPE match: real (1, 1), vector n (n, 1), matrix m×n (m, n)."""
    if m.group(2):
        return m.group(2), "1"
    if m.group(3):
        return m.group(3), m.group(4)
    return "1", "1"


def _statements(forward: str, objects: dict[str, Any], where: _Where, budget: list[int] | None = None):
    """Each line ``name = expression``: resolved to SymPy (for the derivation) and to an oracle tree."""
    import sympy as sp
    from sympy.matrices.common import ShapeError

    from dlverify.checking.parse import ParseError, parse
    from dlverify.checking.resolve import Resolver, SymbolTable, Unreadable

    first = _first_line(where)
    statements, program, written = [], [], []
    by_key = _keys(objects)  # grown by each statement's name, not rebuilt: loading stays linear
    measures: dict[Any, tuple[int, int]] = {}  # quantity → (nodes, levels) written out in the inputs
    for at, line in _unrolled(forward, first, where):
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
            node = parse(expr_text.strip())
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
        mismatch = _shape_mismatch(value)
        if mismatch:
            raise where.error("forward", f"the shapes do not fit: {mismatch}", at, column)
        if not isinstance(value, sp.MatrixExpr):
            raise where.error("forward", "an expression here is built from the declared symbols", at, column)
        quantity = sp.MatrixSymbol(name, *value.shape)
        measures[quantity] = size, depth = _written_out(value, measures)
        if depth > MAX_EXPANDED_DEPTH or size > MAX_EXPANDED_SIZE:
            reason = (
                f"{name} written out in the inputs is {'over ' if size > MAX_EXPANDED_SIZE else ''}"
                f"{min(size, MAX_EXPANDED_SIZE)} nodes, {depth} levels deep (at most {MAX_EXPANDED_SIZE} nodes, "
                f"{MAX_EXPANDED_DEPTH} levels; a statement using a quantity twice doubles it)"
            )
            raise where.error("forward", reason, at, 1)
        objects[name] = quantity
        statements.append((quantity, value))
        program.append((name, _tree(node, by_key, where, at, column)))
        written.append((name, expr_text.strip()))
        _add_keys(by_key, name, quantity)
    if not statements:
        raise where.error("forward", "no statements")
    return statements, program, written, measures


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


def _written_out(expr: Any, measures: dict[Any, tuple[int, int]], cap: int = MAX_EXPANDED_SIZE) -> tuple[int, int]:
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


def _first_line(where: _Where) -> int:
    """The file line of the first statement: forward's own line for forward = "h = ...", the next
    one after an opening triple quote (TOML drops the newline right after it)."""
    key_line = where.line_of("forward")
    after_key = where.lines[key_line - 1].split("=", 1)[-1].strip() if key_line <= len(where.lines) else ""
    return key_line + (1 if after_key in ("'''", '"""') else 0)


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


LOOP = re.compile(r"^for\s+([A-Za-z])\s+in\s+(\d+)\s*\.\.\s*(\d+)\s*:\s*(.*)$")
# A loop's last step, not only its length: a sequence x becomes the inputs x_1 … x_T, T the last step.
MAX_STEPS = 64


def _steps(m: re.Match) -> tuple[int, int]:
    """A loop's first and last step; ValueError (in words) unless 0 ≤ first ≤ last ≤ MAX_STEPS."""
    lo, hi = m.group(2), m.group(3)
    if len(lo) > 3 or len(hi) > 3 or not int(lo) <= int(hi) <= MAX_STEPS:  # no int() of a thousand digits
        shown = f"{lo[:8]}{'…' if len(lo) > 8 else ''}..{hi[:8]}{'…' if len(hi) > 8 else ''}"
        raise ValueError(f"a loop runs over steps a..b with 0 ≤ a ≤ b ≤ {MAX_STEPS}, not {shown}")
    return int(lo), int(hi)


def loop_bound(forward: str) -> int:
    """The largest time step any loop of the statements reaches (0 without a loop); ValueError for a
    loop outside 0..MAX_STEPS."""
    bounds = [_steps(m)[1] for line in forward.splitlines() if (m := LOOP.match(line.strip()))]
    return max(bounds, default=0)


def _unrolled(forward: str, first: int, where: _Where) -> Iterator[tuple[int, str]]:
    """The statements with every ``for t in 1..T:`` loop written out, each with its line in the file:
    ``h_t = tanh(W h_{t-1} + U x_t)`` for t = 2 becomes ``h_2 = tanh(W h_{1} + U x_{2})``.  A loop's
    body is the rest of its line, or the indented lines under it.  Lazily: the caller stops at
    MAX_STATEMENTS, before a long loop is written out."""
    lines = forward.splitlines()
    k = 0
    while k < len(lines):
        at, line = first + k, lines[k]
        m = LOOP.match(line.strip())
        if m is None:
            yield at, line
            k += 1
            continue
        try:
            lo, hi = _steps(m)
        except ValueError as exc:
            raise where.error("forward", str(exc), at, 1) from None
        var, rest = m.group(1), m.group(4)
        body = [(at, rest)] if rest.strip() else []
        k += 1
        while not rest.strip() and k < len(lines) and lines[k][:1] in (" ", "\t") and lines[k].strip():
            body.append((first + k, lines[k].strip()))
            k += 1
        if not body:
            raise where.error("forward", "a loop needs a statement after its colon or indented under it", at, 1)
        for step in range(lo, hi + 1):
            for line_at, text in body:
                yield line_at, _at_step(text, var, step, where, line_at)


def _at_step(text: str, var: str, step: int, where: _Where, line: int) -> str:
    """Every index that mentions the loop variable (_t, _{t-1}, [t-1]) evaluated at ``step``."""

    def value(index: str) -> str:
        expr = index.replace(" ", "")
        if not re.fullmatch(rf"[+-]?(\d{{1,3}}|{var})([+-](\d{{1,3}}|{var}))*", expr):  # small numbers only
            raise where.error("forward", f"an index such as {index!r:.40} may add or subtract whole numbers", line)
        total = sum(
            (-1 if sign == "-" else 1) * (step if token == var else int(token))
            for sign, token in re.findall(rf"([+-]?)(\d+|{var})", expr)
        )
        return f"_{{{total}}}"

    text = re.sub(
        r"_\{([^{}]*)\}",
        lambda m: value(m.group(1)) if re.search(rf"(?<![A-Za-z]){var}(?![A-Za-z])", m.group(1)) else m.group(0),
        text,
    )
    text = re.sub(
        r"\[([^\[\]]*)\]",
        lambda m: value(m.group(1)) if re.search(rf"(?<![A-Za-z]){var}(?![A-Za-z])", m.group(1)) else m.group(0),
        text,
    )
    return re.sub(rf"_{var}(?![A-Za-z0-9])", f"_{{{step}}}", text)


def _keys(objects: dict[str, Any]) -> dict[str, Any]:
    """Every spelling of every name the statements may use (W_1, W_{1}, W1; yhat, \\hat{y})."""
    out: dict[str, Any] = {}
    for name, obj in objects.items():
        _add_keys(out, name, obj)
    return out


def _add_keys(by_key: dict[str, Any], name: str, obj: Any) -> None:
    """The spellings of one name added to ``by_key`` (an earlier name keeps a spelling it has)."""
    from dlverify.checking.parse import parse
    from dlverify.checking.resolve import key

    spellings = [name]
    if name.endswith("hat") and len(name) > 3:
        spellings.append(rf"\hat{{{name[:-3]}}}")
    for spelling in spellings:
        k = key(parse(spelling))
        if k is not None:
            by_key.setdefault(k, obj)


FUNCTION_NAMES = {"tanh", "sigma", "sigmoid", "relu", "ReLU", "exp", "log", "diag"}  # as numerics.course runs them


def _tree(node: Any, by_key: dict[str, Any], where: _Where, line: int, column: int) -> Any:
    """The oracle's tree, straight from the parsed text: names by their key, products in order,
    a function name applying to the factor after it."""
    from dlverify.checking.resolve import TRANSPOSE_MARKS, key

    def name_of(n: Any) -> str | None:
        k = key(n)
        obj = by_key.get(k) if k is not None else None
        return str(obj.name) if obj is not None and hasattr(obj, "name") else None

    def walk(n: Any) -> Any:
        rule = n.rule
        found = name_of(n) if rule in ("name", "sub", "font", "accent") else None
        if found is not None:
            return ("sym", found)
        if rule == "name":
            bare = n.args[0].lstrip("\\")
            if bare in FUNCTION_NAMES or bare == "operatorname":
                return ("fn", bare)
        if rule == "font" and key(n) == "mathbb{1}" or rule == "font" and n.args[0] == "mathbf" and key(n) == "1":
            return ("ones",)
        if rule == "num":
            return ("num", float(n.args[0]))
        if rule in ("paren", "font"):
            return walk(n.args[-1])
        if rule == "add":
            return ("add", [walk(a) for a in n.args])
        if rule == "neg":
            return ("neg", walk(n.args[0]))
        if rule == "div":
            return ("div", walk(n.args[0]), walk(n.args[1]))
        if rule == "hadamard":
            return ("had", [walk(a) for a in n.args])
        if rule == "transpose":
            return ("T", walk(n.args[0]))
        if rule == "norm":
            return ("norm", walk(n.args[0]))
        if rule == "sub" and n.args[0].rule == "norm" and key(n.args[1]) in ("F", "2"):
            return ("norm", walk(n.args[0].args[0]))
        if rule == "pow":
            base, sup = n.args
            bare = base.args[0] if base.rule == "sub" and base.args[0].rule == "norm" else base
            if bare.rule == "norm" and sup.rule == "num" and sup.args[0] == "2":
                return ("sqnorm", walk(bare.args[0]))
            if key(sup) in TRANSPOSE_MARKS and sup.rule != "paren":
                inner = walk(base)
                return ("onesT",) if inner == ("ones",) else ("T", inner)
            if sup.rule == "num" and sup.args[0].isdigit():
                return ("pow", walk(base), int(sup.args[0]))
            raise where.error("forward", "a power here is a whole number or a transpose", line, column + n.pos)
        if rule == "mul":
            parts = [walk(a) for a in n.args]
            out: list[Any] = []
            k = 0
            while k < len(parts):
                if parts[k][0] == "fn":
                    if k + 1 == len(parts):
                        raise where.error("forward", f"{parts[k][1]} needs an argument", line, column + n.pos)
                    out.append(("apply", parts[k][1], parts[k + 1]))
                    k += 2
                else:
                    out.append(parts[k])
                    k += 1
            return out[0] if len(out) == 1 else ("prod", out)
        raise where.error("forward", f"the oracle cannot run {rule} here", line, column + n.pos)

    return walk(node)


def _asks(table: dict, model: Model, where: _Where) -> list[tuple[str, str, str]]:
    asks = table.get("ask")
    if not isinstance(asks, list) or not asks or not all(isinstance(a, str) for a in asks):
        raise where.error("ask", 'ask is a list such as ["dL/dW", "dh/dx"]')
    if len(asks) > MAX_ASKS:
        raise where.error("ask", f"more than {MAX_ASKS} asked derivatives in one problem")
    out = []
    computed = {name for name, _ in model.forward_text}
    for ask in asks:
        m = ASK.match(ask) or FRAC_ASK.match(ask)
        if m is None:
            raise where.error("ask", f"{ask!r:.60}: write a derivative as dL/dW")
        target, variable = m.groups()
        if target not in computed:
            raise where.error("ask", f"{ask}: {target} is not computed by the forward statements")
        if variable not in model.objects or variable in model.sizes:
            raise where.error("ask", f"{ask}: {variable} is not a symbol or a computed quantity")
        t_obj, v_obj = model.objects[target], model.objects[variable]
        if t_obj.shape != (1, 1) and (t_obj.shape[1] != 1 or v_obj.shape[1] != 1):
            raise where.error("ask", f"{ask}: a gradient of a scalar, or a Jacobian of a vector by a vector")
        out.append((ask, target, variable))
    return out


def _problem(model: Model, topic: str, ask: str, target: str, variable: str) -> Problem:
    slug = f"d{target}_d{variable}"
    specs = [SymbolSpec(s, s, "integer", "a size", bounds=("1", "4")) for s in model.sizes]
    for name, (rows, cols) in model.inputs.items():
        specs.append(SymbolSpec(name, name, "matrix", "given", shape=(rows, cols)))
    for name, written in model.forward_text:
        obj = model.objects[name]
        spellings = (rf"\hat{{{name[:-3]}}}",) if name.endswith("hat") and len(name) > 3 else ()
        specs.append(
            SymbolSpec(name, name, "matrix", f"= {written}", spellings, shape=tuple(str(d) for d in obj.shape))
        )
    forward = "; ".join(f"{name} = {written}" for name, written in model.forward_text)
    shapes = ", ".join(
        f"{name} {'×'.join(shape) if shape != ('1', '1') else 'scalar'}" for name, shape in model.inputs.items()
    )
    statement = f"{model.title}. Given {shapes}: {forward}. Find {ask}."
    layout = "the gradient has the variable's shape" if model.objects[target].shape == (1, 1) else "numerator layout"
    return Problem(
        id=f"{model.id}.{slug}",
        topic=topic,
        title=f"{ask} ({model.title})",
        kind="matrix",
        statement=statement + f" ({layout})",
        symbols=tuple(specs),
        derive=_deriver(model, target, variable),
        oracle=_oracle(model, target, variable),
        oracle_name="the forward statements run in torch (float64), differentiated by autograd",
        cases=_cases(model),
        tolerance=lambda case: 64 * (sum(case[s] for s in model.sizes) + len(model.statements)) * EPS,
        tolerance_note="64(Σ sizes + statements)·eps relative to the largest entry of |…| on absolute values",
        sizes=model.sizes,
    )


def _deriver(model: Model, target: str, variable: str) -> Callable[[], Any]:
    memo: list[Any] = []

    def derive() -> Any:
        if not memo:
            from derivations.course import gradient, vector_jacobian

            t, v = model.objects[target], model.objects[variable]
            how = gradient if t.shape == (1, 1) else vector_jacobian
            d = how(model.statements, t, v)
            memo.append(replace(d, symbols=dict(model.objects), definitions=dict(model.in_inputs)))
        return memo[0]

    return derive


def _oracle(model: Model, target: str, variable: str) -> Callable[[Case], Any]:
    def oracle(case: Case) -> Any:
        from numerics.course import derivative

        jacobian = model.objects[target].shape != (1, 1)
        given = {k: case[k] for k in (*model.inputs, *model.sizes)}  # a size may appear as a number (1/n)
        return derivative(model.program, given, target, variable, jacobian)

    return oracle


def _cases(model: Model) -> Callable[[], Any]:
    def cases() -> Any:
        from hypothesis import strategies as st

        from dlverify.strategies import matrix, sizes_then

        def build(sizes: dict) -> dict:
            def n(axis: str) -> int:
                return 1 if axis == "1" else sizes[axis]

            return {name: matrix(n(rows), n(cols)) for name, (rows, cols) in model.inputs.items()}

        return sizes_then({s: st.integers(1, 4) for s in model.sizes}, build)

    return cases

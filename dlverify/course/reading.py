"""Reading a problem file: its TOML tables, each ``[problem."id"]`` checked key by key (title,
symbols, forward, ask) and resolved into a ``Model``, within the bounds of ``limits``."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlverify.course.errors import ProblemFileError, Where
from dlverify.course.limits import MAX_INPUTS, MAX_NAME, MAX_PROBLEMS
from dlverify.course.loops import LOOP, loop_bound, step_range
from dlverify.course.statements import NAME, read_statements

SHAPE = re.compile(r"^\s*(real|scalar|vector\s+(\w+)|matrix\s+(\w+)\s*[×x*]\s*(\w+))\s*$")
# Declared structure before the shape ("symmetric matrix n×n", "positive vector n"), honoured by the
# draws (verify's cases, the checker's points) and by the derivation where it simplifies (Wᵀ = W)
STRUCTURE = ("symmetric", "positive definite", "diagonal", "orthogonal", "invertible", "positive")
SQUARE_ONLY = frozenset(STRUCTURE) - {"positive"}
ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)+")  # fullmatch: "$" would let "a.b\n" through
KEYS = ("title", "symbols", "forward", "ask")


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
    measures: dict[Any, tuple[int, int]]  # quantity → (nodes, levels) written out in the inputs (written_out)
    structure: dict[str, tuple[str, ...]] = field(default_factory=dict)  # input → its declared STRUCTURE


def read_tables(path: Path) -> tuple[list[str], dict[str, Any]]:
    """The file's lines (for positions) and its ``[problem."id"]`` tables; ProblemFileError if the
    file is not UTF-8 TOML with at least one and at most MAX_PROBLEMS of them."""
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
        raise Where(path, lines, pid).error("", f"more than {MAX_PROBLEMS} problems in one file")
    return lines, tables


def model(pid: str, table: Any, where: Where, budget: list[int] | None = None) -> Model:
    """One problem's table read and resolved: its symbols (sizes, inputs), then its statements."""
    import sympy as sp

    if not ID.fullmatch(pid) or len(pid) > 2 * MAX_NAME:
        raise where.error("", f"the id {pid[: 2 * MAX_NAME]!r} must look like course.item (letters, digits, dots)")
    if not isinstance(table, dict):
        raise where.error("", "a problem is a table with title, symbols, forward and ask")
    unknown = set(table) - set(KEYS)
    if unknown:
        raise where.error(sorted(unknown)[0], f"unknown key {sorted(unknown)[0]!r} (title, symbols, forward, ask)")
    title = table.get("title", pid)
    if not isinstance(title, str):
        raise where.error("title", "the title is text")
    # one line: it is printed into listings, TOML templates and LaTeX headings
    if not title.isprintable() or len(title) > 5 * MAX_NAME:
        raise where.error("title", f"the title is one line of at most {5 * MAX_NAME} printable characters")
    forward = table.get("forward")
    sizes, inputs, structure = _symbols(table.get("symbols"), forward, where)
    objects: dict[str, Any] = {s: sp.Symbol(s, integer=True, positive=True) for s in sizes}

    def dim(axis: str) -> Any:
        return sp.Integer(1) if axis == "1" else objects[axis]

    for name, (rows, cols) in inputs.items():
        objects[name] = sp.MatrixSymbol(name, dim(rows), dim(cols))
    if not isinstance(forward, str) or not forward.strip():
        raise where.error("forward", "forward is text: one statement name = expression per line")
    read = read_statements(forward, objects, where, budget)
    # Each quantity in the inputs, built on the ones before it (one xreplace of its own statement):
    # given as the derivation's definitions, the checker writes a reference out in one round, not
    # one round per level of the chain.
    in_inputs: dict[Any, Any] = {}
    for quantity, value in read.statements:
        in_inputs[quantity] = value.xreplace(in_inputs)
    written_out = {q.name: v for q, v in in_inputs.items()}
    for name in _inverted(read.statements, inputs, objects):  # X^{-1}, det X: drawn well conditioned
        structure.setdefault(name, ("invertible",))
    kept = (read.written, read.statements, read.program, objects, written_out, read.measures)
    return Model(pid, title, tuple(sizes), inputs, *kept, structure)


def _symbols(
    symbols: Any, forward: Any, where: Where
) -> tuple[list[str], dict[str, tuple[str, str]], dict[str, tuple[str, ...]]]:
    """The sizes (in order of appearance), the inputs, name → (rows, cols), and their declared structure
    of a symbols table; a sequence is its inputs x_1 … x_T, T the last step of the statements' loops."""
    if not isinstance(symbols, dict) or not symbols:
        raise where.error("symbols", 'symbols is a table such as { x = "vector n", W = "matrix m×n", y = "real" }')
    inputs: dict[str, tuple[str, str]] = {}
    sizes: list[str] = []
    if isinstance(forward, str):  # a loop's range first: it decides how many inputs a sequence is
        for k, line in enumerate(forward.splitlines()):
            if m := LOOP.match(line.strip()):
                try:
                    step_range(m)
                except ValueError as exc:
                    raise where.error("forward", str(exc), where.first_statement_line() + k, 1) from None
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
    structure: dict[str, tuple[str, ...]] = {}
    for name, spec in expanded.items():
        declared, spec = _structure(spec)
        m = SHAPE.match(spec) if isinstance(spec, str) else None
        if not NAME.fullmatch(name) or len(name) > MAX_NAME or m is None:
            shown = name[:MAX_NAME] if NAME.fullmatch(name) else repr(name[:MAX_NAME])
            reason = f'write "real", "vector n" or "matrix m×n" (after symmetric, diagonal, …), not {spec!r:.60}'
            raise where.error("symbols", f"symbol {shown}: {reason}")
        shape = _shape_of(m)
        square_only = sorted(set(declared) & SQUARE_ONLY)
        if square_only and (shape[0] != shape[1] or shape == ("1", "1")):
            raise where.error("symbols", f"symbol {name}: a {square_only[0]} matrix is square (matrix n×n)")
        if declared:
            structure[name] = declared
        for axis in shape:
            if axis != "1" and (not NAME.fullmatch(axis) or len(axis) > MAX_NAME):
                raise where.error("symbols", f"symbol {name}: a size is a name such as n, not {axis!r}")
            if axis != "1" and axis not in sizes:
                sizes.append(axis)
        inputs[name] = shape
    clash = set(sizes) & set(inputs)
    if clash:
        raise where.error("symbols", f"{sorted(clash)[0]} is both a size and a symbol")
    reserved = sorted(set(sizes + list(inputs)) & _reserved())
    if reserved:  # exp(e) with a symbol e would silently read as the product e·e
        raise where.error("symbols", f"{reserved[0]} is a name of the notation (a function, a constant), not a symbol")
    return sizes, inputs, structure


def _inverted(statements: Any, inputs: dict[str, tuple[str, str]], objects: dict[str, Any]) -> list[str]:
    """The square inputs a statement inverts, or takes the determinant of, itself (X^{-1}, det X, log det X):
    verify draws them invertible and well conditioned unless their structure is declared."""
    import sympy as sp

    found = []
    for name, (rows, cols) in inputs.items():
        x = objects[name]
        if rows != cols or rows == "1":
            continue
        for _, value in statements:
            inside = value.atoms(sp.Inverse, sp.Determinant) | {
                p for p in value.atoms(sp.MatPow) if p.exp.is_number and p.exp < 0
            }
            if any(getattr(a, "arg", None) == x or (isinstance(a, sp.MatPow) and a.base == x) for a in inside):
                found.append(name)
                break
    return found


def _structure(spec: Any) -> tuple[tuple[str, ...], Any]:
    """The structure words at the start of a symbol's spec, and the rest (its shape)."""
    if not isinstance(spec, str):
        return (), spec
    declared: list[str] = []
    rest = spec.strip()
    while True:
        word = next((w for w in STRUCTURE if re.match(rf"{w}\b", rest)), None)
        if word is None:
            return tuple(declared), rest
        declared.append(word)
        rest = rest[len(word) :].lstrip()


def _reserved() -> set[str]:
    """Names the statements' reader gives a meaning of its own: functions, constants, big operators,
    diag, the identity I."""
    from derivations.functions import by_spelling
    from dlverify.checking.names import BIG_OPERATORS, CONSTANTS, DIAG

    return set(by_spelling()) | set(CONSTANTS) | set(BIG_OPERATORS) | set(DIAG) | {"I"}


def _shape_of(m: re.Match) -> tuple[str, str]:
    """(rows, cols) by size name from a SHAPE match: real (1, 1), vector n (n, 1), matrix m×n (m, n)."""
    if m.group(2):
        return m.group(2), "1"
    if m.group(3):
        return m.group(3), m.group(4)
    return "1", "1"

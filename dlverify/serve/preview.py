"""The preview of an answer as the student types: how the checker read it, before it is judged.

For each answer (a table's entry, a derivation's line) the preview gives the answer as read,
typeset (MathML); its shape, or the first place where shapes do not fit, at the operand that
breaks them; which products are matrix products and which entrywise; where each transpose
applies; the names the item does not define; how each derivative symbol was read.  It reads the
text with the checker's own parser and resolver (the judge's reading, the same one-token
scripts and juxtapositions), recording the value of every subtree so that a value can be traced
back to the characters it came from.  Nothing is compared with the reference, and a derivative
symbol is shown as written, never as the value it stands for (which may be the reference).

This runs in a reader process under a limit of CPU time (readers.py): a hostile answer costs
that process, never the server.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

import sympy as sp

from derivations.matexpr import SequenceElement
from dlverify import notation
from dlverify.checking import parse as parsing
from dlverify.checking import reading
from dlverify.checking.derivation_lines import LinesError, split
from dlverify.checking.names import SymbolTable, table_for
from dlverify.checking.parse import Node, ParseError, parse
from dlverify.checking.resolve import Resolver, unicode_symbol
from dlverify.checking.sizes import FREE, dims, fit
from dlverify.problem import Problem
from dlverify.serve.mathml import Printer, math, mtext, node_mathml

READ_KINDS = ("expr", "matrix", "indexed")  # kinds whose answers are expressions the preview reads
MAX_LISTED = 12  # products and transposes listed per answer


def shape_text(e: sp.Basic) -> str:
    """``k × m`` of a matrix expression, ``scalar`` of anything else."""
    if not isinstance(e, sp.MatrixExpr):
        return "scalar"
    return " × ".join(notation.unicode(d) for d in e.shape)


# reading with a record of every subtree -----------------------------------------------------------


class _Tracing(Resolver):
    """The checker's resolver, keeping each subtree's value, and a derivative symbol as a stand-in
    of its shape that prints as written (its value may be the asked quantity itself)."""

    def __init__(self, table: SymbolTable, setup: bool) -> None:
        super().__init__(table, setup=setup)
        self.records: list[tuple[Node, sp.Basic]] = []
        self.stand_ins: dict[sp.Basic, Node] = {}

    def expr(self, node: Node) -> sp.Basic:
        value = super().expr(node)
        self.records.append((node, value))
        return value

    def _derivative(self, node: Node, total: bool = False) -> sp.Basic:
        value = super()._derivative(node, total)
        if value in set(self.env.table.by_key.values()):
            return value  # the item's own symbol for it (J, g): shown as that symbol
        if isinstance(value, sp.Symbol) and value.name.startswith("?"):
            return value  # not a quantity of the setup: an unknown name
        name = f"∂{len(self.stand_ins)}"
        stand_in = sp.MatrixSymbol(name, *value.shape) if isinstance(value, sp.MatrixExpr) else sp.Symbol(name)
        self.stand_ins[stand_in] = node
        return stand_in


class _Place:
    """Positions of the normalised text the parser reads mapped back to the text as written (a
    Unicode σ became ``\\sigma ``, ‖x‖ became ``\\lVert x \\rVert``)."""

    def __init__(self, text: str) -> None:
        self.text = text
        try:  # the parser's own normalisation, so its positions map exactly
            _, self.origin = parsing._normalise(parsing._unwrapped(text))
        except Exception:  # noqa: BLE001 - a failure here must only cost the highlighting
            self.origin = list(range(len(text)))

    def at(self, pos: int) -> int:
        return self.origin[pos] if 0 <= pos < len(self.origin) else len(self.text)

    def span(self, node: Node) -> tuple[int, int]:
        """Where a subtree is written: from its first character to the end of its last name or number,
        a bracket around it included."""
        end = node.pos
        stack = [node]
        while stack:
            n = stack.pop()
            if n.rule in ("name", "num") and n.args and isinstance(n.args[0], str):
                end = max(end, n.pos + len(n.args[0]))
            stack.extend(a for a in n.args if isinstance(a, Node))
        start = self.at(node.pos)
        stop = self.at(end - 1) + 1 if end > node.pos else start + 1
        return _bracketed(self.text, start, stop)


def _bracketed(text: str, start: int, stop: int) -> tuple[int, int]:
    """``(start, stop)`` widened over a bracket pair right around it (``(X − W X)``, ``\\left(…\\right)``)."""
    before = text[:start].rstrip()
    after = text[stop:].lstrip()
    for opening, closing in (("(", ")"), ("[", "]"), ("{", "}")):
        if before.endswith("\\left" + opening) and after.startswith("\\right" + closing):
            return len(before) - len("\\left") - 1, len(text) - len(after) + len("\\right") + 1
        if before.endswith(opening) and after.startswith(closing):
            return len(before) - 1, len(text) - len(after) + 1
    return start, stop


# shapes ----------------------------------------------------------------------------------------------


def _differ(a: sp.Basic, b: sp.Basic) -> bool:
    """Whether two sizes differ for some drawn sizes (an open size, FREE, fits any)."""
    a, b = sp.sympify(a), sp.sympify(b)
    if FREE in a.free_symbols or FREE in b.free_symbols:
        return False
    return sp.expand(a - b) != 0


def _one_by_one(shape: tuple) -> bool:
    return all(sp.sympify(d) == 1 for d in shape)


def _mismatch(value: sp.Basic, text_of: Callable[[sp.Basic], str]) -> tuple[str, sp.Basic] | None:
    """The innermost operation whose shapes do not fit, in words, and the operand that breaks it; the
    rules of the checker's evaluation (matrix_eval): a product left to right, a 1×1 factor a scalar."""

    def described(e: sp.Basic) -> str:
        text = text_of(e)
        if isinstance(e, (sp.MatAdd, sp.Add)):  # a sum as one operand: in its brackets
            text = f"({text})"
        return f"{text} ({shape_text(e).replace(' ', '')})"

    for e in sp.postorder_traversal(value):
        if isinstance(e, sp.MatMul):
            mats = [a for a in e.args if isinstance(a, sp.MatrixExpr)]
            if not mats:
                continue
            shape = tuple(mats[0].shape)
            for k, b in enumerate(mats[1:], start=1):
                if not _differ(shape[1], b.shape[0]):
                    shape = (shape[0], b.shape[1])
                elif _one_by_one(shape):
                    shape = tuple(b.shape)
                elif _one_by_one(b.shape):
                    continue
                else:
                    left = mats[0] if k == 1 else sp.MatMul(*mats[:k])
                    cols, rows = (notation.unicode(d) for d in (shape[1], b.shape[0]))
                    reason = f"a product of {described(left)} and {described(b)}: {cols} columns against {rows} rows"
                    if not any(_differ(x, y) for x, y in zip(shape, b.shape, strict=True)):
                        reason += " (an entrywise product is written ⊙ or \\odot)"
                    return reason, b
        elif isinstance(e, (sp.MatAdd, sp.HadamardProduct)):
            first = e.args[0]
            for other in e.args[1:]:
                if any(_differ(x, y) for x, y in zip(first.shape, other.shape, strict=True)):
                    what = "a sum" if isinstance(e, sp.MatAdd) else "an entrywise (⊙) product"
                    return f"{what} of {described(first)} and {described(other)}", other
        elif isinstance(e, sp.DiagMatrix):
            arg = e.args[0]
            if all(_differ(d, 1) for d in arg.shape):
                return f"diag(…) of {described(arg)}, which is not a vector", arg
        elif isinstance(e, (sp.MatPow, sp.Inverse)):
            base = e.args[0]
            if _differ(*base.shape):
                return f"a power of {described(base)}, which is not square", base
    return None


def _located(target: sp.Basic, records: list[tuple[Node, sp.Basic]], place: _Place) -> tuple[int, int] | None:
    """Where ``target`` is written: the last subtree read to that value (the outermost, since a subtree is
    recorded after its parts)."""
    found = [node for node, value in records if value == target]
    if not found:
        return None
    return place.span(found[-1])


# one answer ------------------------------------------------------------------------------------------


@lru_cache(maxsize=64)
def display_map(problem: Problem) -> dict[sp.Basic, str]:
    """Each symbol of the item → its MathML as the item spells it (W^h, ŷ_t), not its internal name."""
    objects = problem.derive().symbols
    out: dict[sp.Basic, str] = {}
    for spec in problem.symbols:
        obj = objects.get(spec.name)
        if obj is None:
            continue
        try:
            node = parse(spec.latex, greedy=True)
        except ParseError:
            continue
        if isinstance(obj, SequenceElement):  # h_k: the sequence's letter, its index printed apart
            base = node.args[0] if node.rule in ("sub", "index") else node
            out[sp.Symbol(obj.name)] = node_mathml(base)
        elif isinstance(obj, sp.IndexedBase):
            base = node.args[0] if node.rule in ("sub", "index") else node
            out[obj.label] = node_mathml(base)
        elif isinstance(obj, (sp.Symbol, sp.MatrixSymbol)):
            out[obj] = node_mathml(node)
    return out


def reference_shape(problem: Problem) -> tuple | None:
    result = problem.derive().result
    return tuple(result.shape) if isinstance(result, sp.MatrixExpr) else None


def read_one(problem: Problem, text: str, *, setup: bool = False, hide: bool = False, offset: int = 0) -> dict:
    """The preview of one answer text (positions from ``offset``, where it starts in the box)."""
    out: dict[str, Any] = {"source": text, "ok": False, "mathml": None, "shape": None, "error": None}
    out.update(unknown=[], products=[], transposes=[], derivatives=[], notes=[])
    if not isinstance(text, str) or not text.strip():
        out["error"] = {"message": "nothing to read yet", "start": None, "end": None}
        return out
    table = table_for(problem)
    place = _Place(text)
    tracer = _Tracing(table, setup)
    try:  # the reader's own rules: an answer that starts "dy/dw =", scripts of one token
        read_text = text if setup else reading._without_asked_side(text, table)
        tree = parse(read_text, keep=reading._keeper(table))
    except ParseError as exc:  # its position is the text's as written
        return _refused(out, exc.reason, exc.pos, offset)
    try:
        value = tracer(tree)
    except RecursionError:
        return _refused(out, "the answer is nested too deeply", None, offset)
    except ParseError as exc:  # the resolver's positions are the normalised text's
        return _refused(out, exc.reason, None if exc.pos is None else place.at(exc.pos), offset)

    shape = reference_shape(problem)
    if shape is not None and isinstance(value, sp.MatrixExpr) and FREE in dims(value):
        value = fit(value, *shape)  # an answer that is just I: the asked quantity's size, as the judge fits it
    stand_in_text = {s: unicode_symbol(n) for s, n in tracer.stand_ins.items()}
    shown = {
        s: sp.MatrixSymbol(t, *s.shape) if isinstance(s, sp.MatrixExpr) else sp.Symbol(t)
        for s, t in stand_in_text.items()
    }

    def text_of(e: sp.Basic) -> str:
        return notation.unicode(e.xreplace(shown)) if shown else notation.unicode(e)

    stand_ins = {s: node_mathml(n) for s, n in tracer.stand_ins.items()}
    printer = Printer(display_map(problem), stand_ins.get)

    for name, pos in tracer.unknown().items():
        start, end = place.span(Node("name", (name,), pos))
        out["unknown"].append({"name": name, "start": start + offset, "end": end + offset})
    for s, n in tracer.stand_ins.items():
        what = "a scalar" if not isinstance(s, sp.MatrixExpr) else f"the {shape_text(s)} Jacobian"
        out["derivatives"].append({"symbol": stand_in_text[s], "read_as": what, "mathml": math(node_mathml(n))})
    if tracer.stand_ins and not setup:
        out["notes"].append("a final answer may use a derivative symbol only where the item lists it: write it out")
    try:
        out["mathml"] = math(printer.doprint(value), display=True)
    except Exception:  # noqa: BLE001 - a printer gap shows the Unicode notation instead
        try:
            out["mathml"] = math(mtext(text_of(value)), display=True)
        except Exception:  # noqa: BLE001 - nor that: the reading is shown by its parts below
            out["mathml"] = None

    if isinstance(value, sp.Basic) and value.has(FREE):
        out["error"] = {"message": "the size of I or of the ones vector cannot be inferred from the context"}
        out["error"].update(start=None, end=None)
        return out
    broken = _mismatch(value, text_of)
    if broken is not None:
        reason, operand = broken
        where = _located(operand, tracer.records, place)
        start, end = (where[0] + offset, where[1] + offset) if where else (None, None)
        out["error"] = {"message": f"the shapes do not fit: {reason}", "start": start, "end": end}
    else:
        out["shape"] = shape_text(value)
        if shape is not None and not hide and isinstance(value, sp.MatrixExpr):
            expected = " × ".join(notation.unicode(d) for d in shape)
            out["expected"] = expected
            if expected != out["shape"]:
                out["notes"].append(f"the item asks for a {expected} result; this answer is {out['shape']}")
    out["products"], out["transposes"] = _annotations(value, printer)
    out["ok"] = out["error"] is None and not out["unknown"]
    return out


def _refused(out: dict, reason: str, pos: int | None, offset: int) -> dict:
    start = None if pos is None else pos + offset
    out["error"] = {"message": reason, "start": start, "end": None if start is None else start + 1}
    return out


def _annotations(value: sp.Basic, printer: Printer) -> tuple[list[dict], list[dict]]:
    """Each matrix and entrywise product, matrix and entrywise power, and transpose of the reading,
    typeset with the shapes of its operands (at most MAX_LISTED of each)."""
    products: list[dict] = []
    transposes: list[dict] = []
    for e in sp.preorder_traversal(value):
        if isinstance(e, sp.MatMul):
            mats = [a for a in e.args if isinstance(a, sp.MatrixExpr)]
            if len(mats) > 1:
                products.append(_product("matrix product", sp.MatMul(*mats), mats, printer))
        elif isinstance(e, sp.HadamardProduct):
            products.append(_product("entrywise product", e, list(e.args), printer))
        elif isinstance(e, sp.MatPow):
            products.append(_product("matrix power", e, [e.base], printer))
        elif isinstance(e, sp.HadamardPower):
            products.append(_product("entrywise power", e, [e.base], printer))
        elif isinstance(e, sp.Transpose):
            transposes.append({"mathml": math(printer.doprint(e.arg)), "from": shape_text(e.arg), "to": shape_text(e)})
    return products[:MAX_LISTED], transposes[:MAX_LISTED]


def _product(kind: str, e: sp.Basic, operands: list[sp.Basic], printer: Printer) -> dict:
    return {
        "kind": kind,
        "mathml": math(printer.doprint(e)),
        "operands": [shape_text(a) for a in operands],
        "shape": shape_text(e),
    }


# an answer of any form -----------------------------------------------------------------------------


def read(problem: Problem, answer: Any, hide: bool = False) -> dict:
    """The preview of an answer as the API takes it (a string, a table of entries, ``{"steps": …}``):
    ``parts``, one per answer text read, each labelled ("" for a single answer, an entry's name, or
    ``line N`` of a derivation)."""
    out: dict[str, Any] = {"id": problem.id, "kind": problem.kind, "parts": [], "note": None}
    if isinstance(answer, Mapping) and "steps" in answer and problem.kind in READ_KINDS:
        out["parts"] = _steps(problem, answer["steps"], hide)
        return out
    if problem.kind == "table":
        if not isinstance(answer, Mapping):
            out["note"] = f"a table: one answer per entry ({', '.join(problem.entries)})"
            return out
        for name in problem.entries:
            value = answer.get(name)
            if isinstance(value, str) and value.strip():
                part = read_one(problem, value, hide=hide)
                out["parts"].append({"label": name, **part})
        return out
    if problem.kind not in READ_KINDS:
        out["note"] = f"a {problem.kind} answer is read when it is checked"
        return out
    if not isinstance(answer, str):
        out["note"] = "the answer is one expression, written as text"
        return out
    out["parts"].append({"label": "", **read_one(problem, answer, hide=hide)})
    return out


def _steps(problem: Problem, text: Any, hide: bool) -> list[dict]:
    """A derivation's lines: each left side as written and each right side as read (the setup's
    quantities and derivative symbols allowed, as on a derivation's line)."""
    try:
        lines = split(text)
    except LinesError as exc:
        return [{"label": "steps", "source": "", "ok": False, "error": {"message": exc.reason, "start": exc.offset}}]
    parts = []
    for line in lines:
        try:
            lhs = math(node_mathml(parse(line.lhs.text, greedy=False)))
        except ParseError:
            lhs = None
        with reading.derivation_lines():
            part = read_one(problem, line.rhs.text, setup=True, hide=hide, offset=line.rhs.offset)
        parts.append({"label": f"line {line.number}", "lhs_mathml": lhs, "row": line.row, **part})
    return parts

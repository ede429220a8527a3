"""The assignment page's content: each item read through its view (``views.item_view``) and rendered
for the browser, one more renderer beside the terminal's, the manual's and the feedback's.

What it decides is only how things look: the statement as HTML with its symbols typeset, the
allowed symbols as the item spells them (MathML) with their shapes, the reference typeset (or
nothing, under ``--hide-reference``), and what the answer box takes (one text, a table's entries,
a choice's options, a derivation).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape

import sympy as sp

from derivations.matexpr import SequenceElement
from dlverify.checking.parse import ParseError, parse
from dlverify.problem import Problem
from dlverify.serve.mathml import Printer, math, mtext, node_mathml
from dlverify.serve.preview import READ_KINDS, display_map, shape_text
from dlverify.views import item_view


@dataclass(frozen=True)
class SymbolPage:
    mathml: str
    name: str
    meaning: str
    shape: str
    spellings: tuple[str, ...]
    value: float | None


@dataclass(frozen=True)
class ItemPage:
    id: str
    title: str
    kind: str
    statement_html: str
    symbols: tuple[SymbolPage, ...]
    reference: tuple[tuple[str, str], ...]  # (entry name, MathML); empty when hidden
    entries: tuple[str, ...]  # a table's keys
    options: tuple[str, ...]  # a choice's options
    steps: bool  # may be answered by its derivation
    previewed: bool  # the preview reads its answers


# a symbol in prose: a letter (Greek, accented) with sub- and superscripts, as notation.prose finds them
_TOKEN = re.compile(
    r"(?<![A-Za-z0-9_\\.\[])([A-Za-zα-ωΑ-Ωŷĝḡℓ]{1,2}[\u0302\u0303]?)"
    r"((?:[_^](?:\{[^{}\s]{1,20}\}|[A-Za-z0-9−+\-]{1,3}(?![A-Za-z0-9])))+)"
)
_SCRIPT = re.compile(r"([_^])(\{[^{}\s]{1,20}\}|[A-Za-z0-9−+\-]{1,3})")


def statement_html(text: str) -> str:
    """A description as HTML: escaped text, each symbol with scripts (h_{t−1}, W^h, R^{m×n}) as MathML."""
    out, last = [], 0
    for m in _TOKEN.finditer(text):
        out.append(escape(text[last : m.start()]))
        out.append(_token_mathml(m.group(1), m.group(2)))
        last = m.end()
    out.append(escape(text[last:]))
    return "".join(out)


def _token_mathml(base: str, scripts: str) -> str:
    sub = sup = None
    for mark, body in _SCRIPT.findall(scripts):
        body = body[1:-1] if body.startswith("{") else body
        if mark == "_":
            sub = body
        else:
            sup = body
    shown = f"<mi>{'ℝ' if base == 'R' and sup else escape(base)}</mi>"
    if sub is not None and sup is not None:
        body = f"<msubsup>{shown}{_script(sub)}{_script(sup)}</msubsup>"
    elif sub is not None:
        body = f"<msub>{shown}{_script(sub)}</msub>"
    else:
        body = f"<msup>{shown}{_script(sup or '')}</msup>"
    return math(body)


def _script(text: str) -> str:
    return f"<mrow><mtext>{escape(text)}</mtext></mrow>"


def _symbol_shape(obj: sp.Basic | None, role: str) -> str:
    if isinstance(obj, SequenceElement):
        return f"{shape_text(obj)} each"
    if isinstance(obj, sp.MatrixExpr):
        return shape_text(obj)
    if isinstance(obj, sp.IndexedBase) or role in ("sequence", "vector_sequence"):
        return "sequence"
    if role in ("integer", "index"):
        return "integer" if role == "integer" else "index"
    return "scalar"


def item_page(problem: Problem, hide_reference: bool) -> ItemPage:
    from dlverify.checking.steps import STEP_KINDS

    view = item_view(problem)
    objects = problem.derive().symbols
    symbols = []
    for spec, row in zip(problem.symbols, view.symbols, strict=True):
        try:
            shown = math(node_mathml(parse(spec.latex, greedy=True)))
        except ParseError:
            shown = math(mtext(spec.latex))
        shape = _symbol_shape(objects.get(spec.name), spec.role)
        symbols.append(SymbolPage(shown, row.name, row.meaning, shape, row.spellings, row.value))
    reference: list[tuple[str, str]] = []
    if not hide_reference:
        printer = Printer(display_map(problem))
        for entry in view.results:
            if entry.expr is None:  # a choice's key
                reference.append((entry.name, math(mtext(entry.plain))))
                continue
            try:
                reference.append((entry.name, math(printer.doprint(entry.expr), display=True)))
            except Exception:  # noqa: BLE001 - a printer gap shows the Unicode text
                reference.append((entry.name, math(mtext(entry.plain), display=True)))
    return ItemPage(
        id=problem.id,
        title=problem.title,
        kind=problem.kind,
        statement_html=statement_html(problem.statement),
        symbols=tuple(symbols),
        reference=tuple(reference),
        entries=tuple(problem.entries) if problem.kind == "table" else (),
        options=tuple(problem.answer.options),
        steps=problem.kind in STEP_KINDS,
        previewed=problem.kind in READ_KINDS or problem.kind == "table",
    )

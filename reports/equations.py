"""Displayed equations that fit the page: long results broken across lines, long repeated parts named.

A result such as the GRU's Jacobian is thousands of points wide when printed on one line.  It is
set in three moves, over the expression tree rather than the LaTeX string:

1. an argument of σ, tanh, diag(…) that is long is named (ξ_1, ξ_2, …) wherever it occurs, and
   defined under the equation ("where ξ_1 = …");
2. a sum is broken between its top-level terms, packed greedily into lines;
3. a term still too long, a product, is broken between its factors.

Widths are estimated from the LaTeX (visible characters, a command as one), which is rough but
errs on the wide side; tests read the LaTeX log for overfull boxes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sympy as sp

from dlverify import notation

LINE = 62  # visible characters that fit one displayed line beside its label


def visible(latex: str) -> int:
    """An estimate of the width of a LaTeX formula in characters."""
    s = re.sub(r"\\(left|right|big|Big|bigg|Bigg)(?![A-Za-z])", "", latex)
    s = re.sub(r"\\operatorname\{([^{}]*)\}", r"\1", s)
    s = re.sub(r"\\(mathbb|mathbf|mathrm|text|hat|bar|tilde|boxed)\{", "{", s)
    s = re.sub(r"\\[,;:!]|\\q?quad", " ", s)
    s = re.sub(r"\\[A-Za-z]+", "x", s)
    s = re.sub(r"[{}\s^_]", "", s)
    return len(s)


@dataclass
class Display:
    """An equation as lines of an ``aligned`` body, and the definitions of the names it uses."""

    lines: list[str]
    where: list[tuple[str, str]]

    def tex(self, boxed: bool = False) -> str:
        body = r"\begin{aligned}" + r" \\ ".join(self.lines) + r"\end{aligned}"
        out = r"\[ " + (rf"\boxed{{{body}}}" if boxed else body) + r" \]"
        if self.where:
            rows = r" \\ ".join(rf"{name} &= {value}" for name, value in self.where)
            out += "\n" + r"\[ \text{where}\quad \begin{aligned}" + rows + r"\end{aligned} \]"
        return out


def display(lhs: str, expr: sp.Basic) -> Display:
    """``lhs = expr`` broken to fit (see the module's docstring)."""
    expr, where = _named(expr, lhs)
    lines = _lines(lhs, expr)
    return Display(lines, where)


def equation(lhs: str, expr: sp.Basic, boxed: bool = False) -> str:
    """The LaTeX of ``lhs = expr`` as a display (or as a single line where it fits)."""
    if visible(notation.latex(expr)) + visible(lhs) <= LINE:
        body = f"{lhs} = {notation.latex(expr)}" if lhs else notation.latex(expr)
        return r"\[ " + (rf"\boxed{{{body}}}" if boxed else body) + r" \]"
    return display(lhs, expr).tex(boxed)


# ---- naming long arguments --------------------------------------------------------------


def _argument_of(node: sp.Basic) -> sp.Basic | None:
    """What may be named: the argument of σ(…), tanh(…), …, or a sum inside diag(…) (a
    preactivation, not a whole σ(…): σ(ξ) and σ'(ξ) then share the name)."""
    if type(node).__name__ == "Elementwise":
        return node.arg
    if isinstance(node, sp.DiagMatrix) and isinstance(node.args[0], sp.MatAdd):
        return node.args[0]
    return None


def _named(expr: sp.Basic, lhs: str) -> tuple[sp.Basic, list[tuple[str, str]]]:
    """Replace long arguments of σ(…), tanh(…), diag(…) by ξ_k, the widest (times its repeats)
    first, until every line fits."""
    if not isinstance(expr, sp.MatrixExpr):
        return expr, []
    where: list[tuple[str, str]] = []
    for k in range(1, 10):
        if max(visible(line) for line in _lines(lhs, expr)) <= LINE + visible(lhs):
            break
        candidates: dict[sp.Basic, int] = {}
        for node in sp.preorder_traversal(expr):
            arg = _argument_of(node)
            if arg is not None and isinstance(arg, sp.MatrixExpr) and not isinstance(arg, sp.MatrixSymbol):
                candidates[arg] = candidates.get(arg, 0) + 1
        scored = [(visible(notation.latex(a)) * n, a) for a, n in candidates.items() if visible(notation.latex(a)) > 12]
        if not scored:
            break
        _, chosen = max(scored, key=lambda t: (t[0], sp.default_sort_key(t[1])))
        name = sp.MatrixSymbol(f"xi_{k}", *chosen.shape)
        where.append((rf"\xi_{{{k}}}", notation.latex(chosen)))
        expr = expr.xreplace({chosen: name})
    return expr, where


# ---- breaking into lines ------------------------------------------------------------------


def _terms(expr: sp.Basic) -> list[tuple[bool, sp.Basic]]:
    """(negative, magnitude) of each top-level term of a sum; the one term otherwise."""
    if isinstance(expr, sp.MatAdd):
        return [notation.signed_term(term) for term in expr.args]
    if isinstance(expr, sp.Add):
        return [(True, -t) if t.could_extract_minus_sign() else (False, t) for t in sp.Add.make_args(expr)]
    return [(False, expr)]


def _factors(expr: sp.Basic) -> list[str] | None:
    """A product's factors as LaTeX pieces that may each start a line."""

    def factor(a: sp.Basic) -> str:
        body = notation.latex(a)
        return rf"\left({body}\right)" if isinstance(a, (sp.MatAdd, sp.Add, sp.HadamardProduct)) else body

    if isinstance(expr, sp.MatMul):
        return [factor(a) for a in expr.args]
    if isinstance(expr, sp.HadamardProduct):
        parts = [factor(a) for a in expr.args]
        return [parts[0]] + [r"\circ " + p for p in parts[1:]]
    return None


def _lines(lhs: str, expr: sp.Basic) -> list[str]:
    pieces: list[str] = []  # each a term with its sign, or a part of a long term
    for negative, term in _terms(expr):
        prefix = "- " if negative else "+ " if pieces else ""
        body = notation.latex(term)
        if visible(body) <= LINE:
            pieces.append(prefix + body)
            continue
        parts = _factors(term)
        if not parts:
            pieces.append(prefix + body)
            continue
        pieces += [prefix + parts[0], *parts[1:]]
    lines: list[str] = []
    current = ""
    for piece in pieces:
        if current and visible(current) + visible(piece) > LINE:
            lines.append(current)
            current = piece
        else:
            current = f"{current} {piece}" if current else piece
    lines.append(current)
    head = f"{lhs} &= " if lhs else "&"
    return [head + lines[0]] + [r"&\quad " + line for line in lines[1:]]

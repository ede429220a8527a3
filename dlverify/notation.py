"""The homework's notation for printing results: what students write, and what reads back.

SymPy's own printers write nested sums as one ``\\substack``, indicators as ``cases``
and the ones vector as ``\\mathbb{1}``; these printers write ``\\sum_{k=1}^{3}\\sum_{c=1}^{5}``,
``\\mathbb{1}[1 \\le n \\le 3]`` and ``\\mathbf{1}``, the notation of the catalog, which the
answer parser reads back (a test checks that every reference does).
"""

from __future__ import annotations

import re

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.printing.latex import LatexPrinter
from sympy.printing.str import StrPrinter

from derivations.functions import FUNCTIONS

_LATEX_REL = {"<": "<", "<=": r"\le", ">": ">", ">=": r"\ge", "==": "=", "!=": r"\ne"}


def _indicator_parts(expr: sp.Piecewise):
    """Piecewise((v, cond), (0, True)) → (v, cond): v times an indicator; else None."""
    if len(expr.args) == 2 and expr.args[1].expr == 0 and expr.args[1].cond is sp.true:
        return expr.args[0].expr, expr.args[0].cond
    return None


def signed_term(term: sp.Basic) -> tuple[bool, sp.Basic]:
    """A matrix sum's term as (negative, magnitude): −2A is (True, 2A), −A is (True, A).

    SymPy's printers ask every term whether a minus sign can be extracted, which for a
    diag(…) factor runs the assumptions system: seconds for a GRU Jacobian.  Only a leading
    negative number counts here."""
    if isinstance(term, sp.MatMul) and term.args[0].is_number and term.args[0].is_negative:
        rest = term.args[1:] if term.args[0] == -1 else (-term.args[0], *term.args[1:])
        return True, rest[0] if len(rest) == 1 else sp.MatMul(*rest)
    return False, term


def _signed_terms(printer, expr: sp.MatAdd) -> str:
    """A matrix sum term by term; a leading negative number is the sign (see ``signed_term``)."""
    out = []
    for k, term in enumerate(expr.args):
        negative, magnitude = signed_term(term)
        body = printer._print(magnitude)
        if isinstance(term, sp.MatAdd):
            body = f"({body})"
        out.append(("-" if negative else "") + body if k == 0 else (" - " if negative else " + ") + body)
    return "".join(out)


def _factors(printer, expr: sp.MatMul, sep: str, left: str, right: str) -> str:
    """A product factor by factor, bracketing sums, without SymPy's doit (slow on diag)."""
    out = []
    negative_product, magnitude = signed_term(expr)  # −D, −2/n A: the sign in front
    args = list(magnitude.args) if isinstance(magnitude, sp.MatMul) else [magnitude]
    sign = "-" if negative_product else ""
    for k, arg in enumerate(args):
        body = printer._print(arg)
        negative = arg.is_number and arg.is_negative and len(args) > 1
        # a later factor that prints with a sign (a nested −2/n·A) would read as a subtraction
        entrywise = isinstance(arg, sp.HadamardProduct) and len(expr.args) > 1  # (a ⊙ b) x, not a ⊙ (b x)
        if isinstance(arg, (sp.MatAdd, sp.Add)) or negative or entrywise or (k > 0 and body.startswith("-")):
            body = f"{left}{body}{right}"
        out.append(body)
    return sign + sep.join(out)


SHOWN_COLUMNS = 5  # a wide array of numbers is shown by its first columns


def _number_rows(expr: sp.MatrixBase) -> tuple[list[list[str]], bool]:
    """Rows of numbers to 4 decimals (no −0), cut to the first columns; and whether it was cut."""
    cut = expr.shape[1] > SHOWN_COLUMNS + 1

    def fmt(x: sp.Basic) -> str:
        value = round(float(x), 4)
        return f"{value + 0.0:.4f}"  # + 0.0: no −0

    rows = [[fmt(x) for x in row[: SHOWN_COLUMNS if cut else len(row)]] for row in expr.tolist()]
    return rows, cut


def _numeric(expr: sp.Basic) -> bool:
    return isinstance(expr, sp.ImmutableDenseMatrix) and all(x.is_number for x in expr)


class NotationLatex(LatexPrinter):
    def _print_ImmutableDenseMatrix(self, expr: sp.Basic) -> str:
        if not _numeric(expr):
            return super()._print_ImmutableDenseMatrix(expr)
        rows, cut = _number_rows(expr)
        body = r" \\ ".join(" & ".join(row) + (r" & \cdots" if cut else "") for row in rows)
        size = rf"_{{{expr.shape[0]}\times {expr.shape[1]}}}" if cut else ""
        return rf"\begin{{bmatrix}} {body} \end{{bmatrix}}{size}"

    def _print_MatAdd(self, expr: sp.MatAdd) -> str:
        return _signed_terms(self, expr)

    def _print_MatMul(self, expr: sp.MatMul) -> str:
        return _factors(self, expr, " ", r"\left(", r"\right)")

    def _print_Sum(self, expr: sp.Sum) -> str:
        out = self._print(expr.function)
        if isinstance(expr.function, sp.Add) or out.startswith("-"):  # the body is one product: bracket it
            out = rf"\left({out}\right)"
        for var, lo, hi in expr.limits:  # innermost first
            out = rf"\sum_{{{self._print(var)}={self._print(lo)}}}^{{{self._print(hi)}}} {out}"
        return rf"\left({out}\right)" if len(expr.limits) else out

    def _print_Piecewise(self, expr: sp.Piecewise) -> str:
        parts = _indicator_parts(expr)
        if parts is None:
            return super()._print_Piecewise(expr)
        value, cond = parts
        conds = cond.args if isinstance(cond, sp.And) else (cond,)
        indicator = " ".join(rf"\mathbb{{1}}\left[{self._rel(c)}\right]" for c in conds)
        return indicator if value == 1 else rf"\left({self._print(value)}\right) {indicator}"

    def _rel(self, c: sp.Basic) -> str:
        return f"{self._print(c.lhs)} {_LATEX_REL[c.rel_op]} {self._print(c.rhs)}"

    def _print_Tuple(self, expr: sp.Tuple) -> str:
        # a tuple of sizes is a shape, ℝ^{F×(⌊…⌋+1)}: an axis that is a sum in brackets; any other a pair
        if not all(a.is_integer for a in expr.args):
            return r"\left(" + ", ".join(self._print(a) for a in expr.args) + r"\right)"
        axes = [self._print(a) for a in expr.args]
        axes = [
            rf"\left({t}\right)" if isinstance(a, sp.Add) and len(expr.args) > 1 else t
            for a, t in zip(expr.args, axes, strict=True)
        ]
        return r"\mathbb{R}^{" + r" \times ".join(axes) + "}"

    def _print_OneMatrix(self, expr: sp.OneMatrix) -> str:
        return r"\mathbf{1}" if expr.shape[1] == 1 else r"\mathbf{1}^{T}" if expr.shape[0] == 1 else r"\mathbf{1}"

    def _print_Identity(self, expr: sp.Identity) -> str:
        return "I"

    def _print_DiagMatrix(self, expr: sp.Basic) -> str:
        return rf"\operatorname{{diag}}\left({self._print(expr.args[0])}\right)"

    def _print_Function(self, expr: sp.Basic, exp: str | None = None) -> str:
        if _sequence_call(expr):  # h(t − 1), a sequence: h_{t−1}
            base = f"{self._print(sp.Symbol(expr.func.__name__))}_{{{self._print(expr.args[0])}}}"
            return base if exp is None else f"{{{base}}}^{{{exp}}}"
        return super()._print_Function(expr, exp)

    def _print_HadamardPower(self, expr: sp.Basic) -> str:
        base = self._print(expr.base)
        if not (expr.exp.is_Integer and expr.exp > 0):  # x^{∘-1}: no product of copies spells it
            return rf"\left({base}\right)^{{\circ {self._print(expr.exp)}}}"
        return r" \odot ".join([rf"\left({base}\right)"] * int(expr.exp))

    def _print_KroneckerDelta(self, expr: sp.Basic, exp=None) -> str:
        a, b = (self._print(x) for x in expr.args)
        return rf"\delta_{{{a}, {b}}}"


class NotationPlain(StrPrinter):
    def _print_ImmutableDenseMatrix(self, expr: sp.Basic) -> str:
        if not _numeric(expr):
            return super()._print_ImmutableDenseMatrix(expr)
        rows, cut = _number_rows(expr)
        shown = "[" + ", ".join("[" + ", ".join(row) + (", …" if cut else "") + "]" for row in rows) + "]"
        return shown + (f" ({expr.shape[0]}×{expr.shape[1]})" if cut else "")

    def _print_MatAdd(self, expr: sp.MatAdd) -> str:
        return _signed_terms(self, expr)

    def _print_MatMul(self, expr: sp.MatMul) -> str:
        return _factors(self, expr, "*", "(", ")")

    def _print_Sum(self, expr: sp.Sum) -> str:
        out = self._print(expr.function)
        for var, lo, hi in expr.limits:
            out = f"sum({out}, {self._print(var)}, {self._print(lo)}, {self._print(hi)})"
        return out

    def _print_Piecewise(self, expr: sp.Piecewise) -> str:
        parts = _indicator_parts(expr)
        if parts is None:
            return super()._print_Piecewise(expr)
        value, cond = parts
        conds = cond.args if isinstance(cond, sp.And) else (cond,)
        indicator = "*".join(f"1({self._print(c.lhs)} {c.rel_op} {self._print(c.rhs)})" for c in conds)
        return indicator if value == 1 else f"({self._print(value)})*{indicator}"

    def _print_OneMatrix(self, expr: sp.OneMatrix) -> str:
        return "1"  # a scalar 1 added to a vector applies to every entry

    def _print_DiagMatrix(self, expr: sp.Basic) -> str:
        return f"diag({self._print(expr.args[0])})"

    def _print_HadamardPower(self, expr: sp.Basic) -> str:
        if not (expr.exp.is_Integer and expr.exp > 0):  # x^{∘-1}: no product of copies spells it
            return f"({self._print(expr.base)})^{{∘{self._print(expr.exp)}}}"
        return " ⊙ ".join([f"({self._print(expr.base)})"] * int(expr.exp))

    def _print_HadamardProduct(self, expr: sp.Basic) -> str:
        return " ⊙ ".join(f"({self._print(a)})" for a in expr.args)

    def _print_KroneckerDelta(self, expr: sp.Basic) -> str:
        a, b = (self._print(x) for x in expr.args)
        return f"delta_{{{a}, {b}}}"

    def _print_Transpose(self, expr: sp.Transpose) -> str:
        # W^T as the homework writes it (and the checker reads), not Python's W.T
        body = self._print(expr.arg)
        arg = expr.arg
        simple = isinstance(arg, sp.MatrixSymbol) or not arg.args or type(arg).__name__ == "SequenceElement"
        return f"{body}^T" if simple else f"({body})^T"


_GREEK_LETTERS = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "eta": "η", "theta": "θ",
    "lambda": "λ", "mu": "μ", "rho": "ρ", "sigma": "σ", "tau": "τ", "phi": "φ", "omega": "ω",
    "Lambda": "Λ", "Sigma": "Σ", "Delta": "Δ", "ell": "ℓ",
}  # fmt: skip


def _sequence_call(expr: sp.Basic) -> bool:
    """h(t − 1), c(t): a one-letter undefined function of one argument, a sequence written h_{t−1}
    (P_y(k) keeps its call: its name has a subscript already)."""
    return isinstance(expr, AppliedUndef) and len(expr.args) == 1 and len(expr.func.__name__) == 1


def subscripted(name: str, index: object) -> str:
    """u_1, h_{t-1}, σ_{2,3}: a readable name with its index."""
    idx = ", ".join(map(str, index)) if isinstance(index, tuple) else str(index)
    return f"{_readable_name(name)}_{idx}" if len(idx) == 1 else f"{_readable_name(name)}_{{{idx}}}"


def function_name(name: str) -> str:
    """An elementwise function as the homework writes it (its row's Unicode name): sigma' → σ'."""
    row = FUNCTIONS.get(name)
    return row.unicode if row is not None else name


def _readable_name(name: str, read_back: bool = False) -> str:
    """sigma_i → σ_i, Lambda_k → Λ_k, yhat → ŷ, beta_1 → β_1: the homework's letters.  With
    ``read_back``, only the letters the answer parser reads as Unicode (every Greek letter here);
    a hat keeps its name (yhat), so a printed reference can be pasted back as an answer."""
    head, sep, rest = name.partition("_")
    if read_back:
        letter = _GREEK_LETTERS.get(head, head)
        return (letter if letter in _READ_BACK_LETTERS else head) + sep + rest
    if head.endswith("hat") and len(head) > 3:
        head = _readable_name(head[:-3]) + "\u0302"
    head = _GREEK_LETTERS.get(head, head)
    return head + sep + rest


# the Greek letters the answer parser maps from Unicode (checking/parse.py's UNICODE table: all of them)
_READ_BACK_LETTERS = frozenset(_GREEK_LETTERS.values())


class NotationUnicode(StrPrinter):
    """One line of readable math for a terminal or a message: σ, ⊙, ᵀ, ∑, juxtaposed products,
    no Python syntax (``**``, ``*``, ``.T``, ``Sum(``).  What it prints reads back through the
    answer parser to the same value (a message's reference can be pasted as an answer): powers
    as ``^2``, ``^(-1)``, ``^(1/2)``, an entrywise power as ``^{∘2}``, and only the Unicode
    letters the parser reads."""

    printmethod = "_dlverify_unicode"  # our own methods below, not the classes' _sympystr

    def _print_Symbol(self, expr: sp.Symbol) -> str:
        return _readable_name(expr.name, read_back=True)

    def _print_MatrixSymbol(self, expr: sp.MatrixSymbol) -> str:
        return _readable_name(str(expr.name), read_back=True)

    def _print_Indexed(self, expr: sp.Indexed) -> str:
        base = self._print(expr.base.label)
        idx = ",".join(self._print(i) for i in expr.indices)
        return f"{base}_{idx}" if len(idx) == 1 else f"{base}_{{{idx}}}"

    def _print_SequenceElement(self, expr: sp.Basic) -> str:
        idx = self._print(expr.index)
        name = _readable_name(expr.name, read_back=True)
        return f"{name}_{idx}" if len(idx) == 1 else f"{name}_{{{idx}}}"

    def _print_Pow(self, expr: sp.Pow, rational: bool = False) -> str:
        base, exp = expr.args
        if exp == sp.S.Half:
            return f"sqrt({self._print(base)})"
        if exp.is_Rational and exp < 0:
            inverse = self._print(sp.Pow(base, -exp))
            return f"1/{inverse}" if " " not in inverse else f"1/({inverse})"
        shown = self._print(base)
        if not (base.is_Atom or isinstance(base, (sp.Indexed, sp.MatrixSymbol))):
            shown = f"({shown})"
        power = self._print(exp)
        return f"{shown}^{power}" if exp.is_Atom and len(power) == 1 else f"{shown}^({power})"

    def _print_Mul(self, expr: sp.Mul) -> str:
        return super()._print_Mul(expr).replace("*", "·")

    def _print_MatAdd(self, expr: sp.MatAdd) -> str:
        return _signed_terms(self, expr)

    def _print_MatMul(self, expr: sp.MatMul) -> str:
        return _factors(self, expr, " ", "(", ")")

    def _print_MatPow(self, expr: sp.MatPow) -> str:
        base = self._print(expr.base)
        if not isinstance(expr.base, sp.MatrixSymbol):
            base = f"({base})"
        exp = expr.exp
        power = self._print(exp)
        return f"{base}^{power}" if exp.is_Integer and 0 <= exp <= 9 else f"{base}^({power})"

    def _print_Inverse(self, expr: sp.Inverse) -> str:
        base = self._print(expr.arg)
        return (base if isinstance(expr.arg, sp.MatrixSymbol) else f"({base})") + "^(-1)"

    def _print_Transpose(self, expr: sp.Transpose) -> str:
        arg = expr.arg
        body = self._print(arg)
        simple = isinstance(arg, sp.MatrixSymbol) or type(arg).__name__ == "SequenceElement"
        return f"{body}ᵀ" if simple else f"({body})ᵀ"

    def _print_HadamardProduct(self, expr: sp.Basic) -> str:
        parts = [self._print(a) for a in expr.args]
        return " ⊙ ".join(
            p
            if isinstance(a, (sp.MatrixSymbol,)) or type(a).__name__ in ("Elementwise", "SequenceElement")
            else f"({p})"
            for a, p in zip(expr.args, parts, strict=True)
        )

    def _print_HadamardPower(self, expr: sp.Basic) -> str:
        return f"({self._print(expr.base)})^{{∘{self._print(expr.exp)}}}"  # braced: how the parser reads ^{∘k}

    def _print_DiagMatrix(self, expr: sp.Basic) -> str:
        return f"diag({self._print(expr.args[0])})"

    def _print_Identity(self, expr: sp.Identity) -> str:
        return "I"

    def _print_OneMatrix(self, expr: sp.OneMatrix) -> str:
        return "1ᵀ" if expr.shape[0] == 1 and expr.shape[1] != 1 else "1"

    def _print_ZeroMatrix(self, expr: sp.ZeroMatrix) -> str:
        return "0"

    def _print_Elementwise(self, expr: sp.Basic) -> str:
        if FUNCTIONS[expr.name].indicator:
            return f"{function_name(expr.name)}[{self._print(expr.arg)} > 0]"
        return f"{function_name(expr.name)}({self._print(expr.arg)})"

    def _print_Function(self, expr: sp.Basic) -> str:
        if _sequence_call(expr):  # h(t − 1), a sequence: h_{t−1}
            return subscripted(expr.func.__name__, self._print(expr.args[0]).replace(" ", ""))
        func = expr.func.__name__
        name = function_name(func) if func in FUNCTIONS else _readable_name(func)
        return f"{name}({', '.join(self._print(a) for a in expr.args)})"

    def _big(self, sign: str, body: sp.Basic, limits) -> str:
        out = self._print(body)
        if isinstance(body, (sp.Add, sp.MatAdd)):
            out = f"({out})"
        for var, lo, hi in reversed(limits):
            out = f"{sign}_{{{self._print(var)}={self._print(lo)}}}^{{{self._print(hi)}}} {out}"
        return out

    def _print_Sum(self, expr: sp.Sum) -> str:
        return self._big("∑", expr.function, expr.limits)

    def _print_Product(self, expr: sp.Product) -> str:
        return self._big("∏", expr.function, expr.limits)

    def _print_MatrixSum(self, expr: sp.Basic) -> str:
        return self._big("∑", expr.body, [expr.limits])

    def _print_OrderedProduct(self, expr: sp.Basic) -> str:
        return self._big("∏", expr.body, [expr.limits])

    def _print_Piecewise(self, expr: sp.Piecewise) -> str:
        parts = _indicator_parts(expr)
        if parts is None:
            return super()._print_Piecewise(expr)
        value, cond = parts
        conds = cond.args if isinstance(cond, sp.And) else (cond,)
        rel = {"<=": "≤", ">=": "≥", "!=": "≠"}
        indicator = "·".join(
            f"1[{self._print(c.lhs)} {rel.get(c.rel_op, c.rel_op)} {self._print(c.rhs)}]" for c in conds
        )
        return indicator if value == 1 else f"({self._print(value)})·{indicator}"

    def _print_KroneckerDelta(self, expr: sp.Basic) -> str:
        a, b = (self._print(x) for x in expr.args)
        return f"δ_{{{a},{b}}}"

    def _print_ImmutableDenseMatrix(self, expr: sp.Basic) -> str:
        if not _numeric(expr):
            return "[" + "; ".join(", ".join(self._print(x) for x in row) for row in expr.tolist()) + "]"
        rows, cut = _number_rows(expr)
        shown = "[" + "; ".join(", ".join(row) + (", …" if cut else "") for row in rows) + "]"
        return shown + (f" ({expr.shape[0]}×{expr.shape[1]})" if cut else "")

    def _print_Tuple(self, expr: sp.Tuple) -> str:
        return "(" + ", ".join(self._print(a) for a in expr.args) + ")"

    def _print_Infinity(self, expr: sp.Basic) -> str:
        return "∞"


def latex(expr: sp.Basic) -> str:
    return NotationLatex().doprint(expr)


def unicode(expr: sp.Basic) -> str:
    """One line of readable Unicode math (messages, ``show``) that the answer parser reads back."""
    return NotationUnicode().doprint(expr)


def plain(expr: sp.Basic) -> str:
    """One line of text in the answers' plain notation: ``^`` for powers, ``^T`` for transposes."""
    return NotationPlain().doprint(expr).replace("**", "^")


# Characters of the derivation texts and messages, as pdflatex reads them.
_UNICODE = {
    "∂": r"$\partial$",
    "→": r"$\to$",
    "Σ": r"$\Sigma$",
    "·": r"$\cdot$",
    "≠": r"$\neq$",
    "≤": r"$\le$",
    "≥": r"$\ge$",
    "−": "-",
    "–": "--",
    "—": "---",
    "²": r"$^2$",
    "³": r"$^3$",
    "…": r"\dots{}",
    "σ": r"$\sigma$",
    "λ": r"$\lambda$",
    "Λ": r"$\Lambda$",
    "ŷ": r"$\hat{y}$",
    "∈": r"$\in$",
    "×": r"$\times$",
    "⊙": r"$\odot$",
    "ᵀ": r"$^{T}$",
    "‖": r"$\|$",
    "γ": r"$\gamma$",
    "ε": r"$\varepsilon$",
    "δ": r"$\delta$",
    "Θ": r"$\Theta$",
    "√": r"$\surd$",
    "∏": r"$\Pi$",
    "φ": r"$\varphi$",
    "ℓ": r"$\ell$",
    "∞": r"$\infty$",
    "≈": r"$\approx$",
    "“": "``",
    "”": "''",
    "’": "'",
    "ᵢ": r"$_i$",
    "₁": r"$_1$",
    "₂": r"$_2$",
    "⁻": r"$^{-}$",
    "¹": r"$^{1}$",
    "⁺": r"$^{+}$",
    "ρ": r"$\rho$",
    "\u0303": r"\~{}",
    "∘": r"$\circ$",
    "⊃": r"$\supset$",
    "∇": r"$\nabla$",
    "η": r"$\eta$",
    "←": r"$\leftarrow$",
    "′": r"$'$",
    "″": r"$''$",
    "ω": r"$\omega$",
    "α": r"$\alpha$",
    "β": r"$\beta$",
    "θ": r"$\theta$",
    "μ": r"$\mu$",
    "ĝ": r"$\hat{g}$",
    "ḡ": r"$\bar{g}$",
    "\u0302": r"\^{}",
    "½": r"$\frac{1}{2}$",
    "\u0304": r"\={}",
}

_SPECIALS = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "$": r"\$",
    "&": r"\&",
    "#": r"\#",
    "^": r"\textasciicircum{}",
    "_": r"\_\allowbreak{}",  # lr_decay, mlp.values[V1_v]: a line may break after the underscore
    "%": r"\%",
    "~": r"\textasciitilde{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
}


_COMBINING = {"\u0302": (r"\^", r"\hat"), "\u0303": (r"\~", r"\tilde"), "\u0304": (r"\=", r"\bar")}
MAX_ACCENTS = 2  # accents kept over one character; more are dropped


def text(s: str) -> str:
    """Any string as LaTeX text: every TeX special becomes a literal character.

    Nothing in the result can act as a command (\\input, \\write18, \\def, an unbalanced
    brace): backslashes and braces are printed, never interpreted.  Characters pdflatex
    cannot print are replaced by '?'.
    """
    out: list[str] = []
    stacked = 0  # accents over the last character: TeX nests each in a group, so a few at most
    for ch in s:
        if ch in _COMBINING and out:  # an accent over the character before it: C̃, m̂
            stacked += 1
            if stacked > MAX_ACCENTS:
                continue
            prev, (text_accent, math_accent) = out.pop(), _COMBINING[ch]
            inner = prev[1:-1] if prev.startswith("$") and prev.endswith("$") else None
            out.append(f"${math_accent}{{{inner}}}$" if inner is not None else f"{text_accent}{{{prev}}}")
        elif ch in _SPECIALS:
            out.append(_SPECIALS[ch])
        elif ch in _UNICODE:
            out.append(_UNICODE[ch])
        elif ch == "\n":  # \newline, not \\ (which reads a "[1cm]" after it); \leavevmode: even first in a paragraph
            out.append(r"\leavevmode\newline{}")
        elif ord(ch) < 32 or 127 <= ord(ch) < 160:  # control characters (DEL, C1 included): TeX rejects them
            out.append(" ")
        elif ord(ch) < 128 or ch.isalpha() and ord(ch) < 256:
            out.append(ch)
        else:
            out.append("?")
        if ch not in _COMBINING:
            stacked = 0
    return "".join(out)


GREEK_COMMANDS = {v: "\\" + k for k, v in _GREEK_LETTERS.items()}
_SCRIPT = r"(?:\{[^{}\s]{1,14}\}|[A-Za-z0-9]{1,3}(?![A-Za-z0-9]))"
_MATH_TOKEN = re.compile(
    r"(?<![A-Za-z0-9_\\.\[])([A-Za-z\u03b1-\u03c9\u0391-\u03a9ŷĝḡ]{1,2}(?:\u0303|\u0302)?)"
    rf"((?:[_^]{_SCRIPT}){{1,2}})(?![A-Za-z0-9_\]])"
)


def _math_token(match: re.Match) -> str:
    base, scripts = match.group(1), match.group(2)
    accent = ""
    if base.endswith(("\u0303", "\u0302")):
        accent, base = ("tilde" if base.endswith("\u0303") else "hat"), base[:-1]
    precomposed = {"ŷ": r"\hat{y}", "ĝ": r"\hat{g}", "ḡ": r"\bar{g}"}
    base = "".join(
        precomposed.get(ch) or GREEK_COMMANDS.get(ch, ch) + (" " if ch in GREEK_COMMANDS else "") for ch in base
    ).strip()
    if accent:
        base = rf"\{accent}{{{base}}}"
    if base == "R" and scripts.startswith("^"):  # R^{m×n}: the reals
        base = r"\mathbb{R}"
    body = re.sub(r"([_^])([A-Za-z0-9]{2,3})", r"\1{\2}", scripts)
    symbols = {"−": "-", "≤": r"\le ", "≥": r"\ge ", "…": r"\dots ", "∞": r"\infty ", "×": r"\times ", **GREEK_COMMANDS}
    body = "".join(symbols.get(ch, ch) + (" " if ch in GREEK_COMMANDS else "") for ch in body)
    if not body.isascii() or not _scripts_ok(body):
        return text(match.group(0))  # not plain scripts (a command, a character math mode cannot take): text
    return f"${base}{body}$"


# commands a math token's scripts may hold: the letters and symbols above, nothing that reads or defines
_SCRIPT_COMMANDS = frozenset(_GREEK_LETTERS) | {"le", "ge", "dots", "infty", "times", "to", "top"}
_SCRIPT_TEXT = re.compile(r"[A-Za-z0-9 +\-=,.;:!?*/()\[\]|<>_^]*")


def _scripts_ok(body: str) -> bool:
    """True if TeX reads ``body`` as scripts and nothing else: only the commands above, no ``^^``
    (TeX's character-code notation, which can spell any character: ``^^;`` is a brace), each ``_``
    and ``^`` with an operand, at most one of each on a nucleus (a double subscript stops TeX)."""
    if "^^" in body or any(name not in _SCRIPT_COMMANDS for name in re.findall(r"\\([A-Za-z]+)", body)):
        return False
    flat = re.sub(r"\\[A-Za-z]+ ?", "X", body)
    while "{" in flat or "}" in flat:  # innermost groups first, each one operand once checked
        groups = re.findall(r"\{([^{}]*)\}", flat)
        if not groups or not all(map(_script_group_ok, groups)):
            return False
        flat = re.sub(r"\{[^{}]*\}", "X", flat)
    return _script_group_ok(flat)


def _script_group_ok(s: str) -> bool:
    if not _SCRIPT_TEXT.fullmatch(s) or re.search(r"[_^](?![A-Za-z0-9X])", s):
        return False
    return all(run.count("_") <= 1 and run.count("^") <= 1 for run in re.findall(r"(?:[_^][A-Za-z0-9X])+", s))


def prose(s: str, letters: frozenset[str] = frozenset()) -> str:
    """A description (statement, title, step) as LaTeX text with its symbols set as math: h_{t-1},
    W^h, u_1, x_t U^f become $h_{t-1}$, $W^h$, …, and so does a lone letter among ``letters`` (the
    item's one-letter symbols: w, T); everything else as ``text`` escapes it.

    For the project's own descriptions only: a student's text goes through ``text``."""
    out, last = [], 0
    for m in _MATH_TOKEN.finditer(s):
        out.append(_letters(s[last : m.start()], letters))
        out.append(_math_token(m))
        last = m.end()
    out.append(_letters(s[last:], letters))
    return "".join(out)


def _letters(s: str, letters: frozenset[str]) -> str:
    """Text with each lone symbol letter in math italic (not "a" or "I", which are words)."""
    usable = "".join(sorted(letters - {"a", "A", "I"}))
    if not usable:
        return text(s)
    pattern = re.compile(rf"(?<![A-Za-z0-9_\\.'’\[\]])([{re.escape(usable)}])(?![A-Za-z0-9_\[(’'])")
    out, last = [], 0
    for m in pattern.finditer(s):
        out.append(text(s[last : m.start()]))
        out.append(f"${m.group(1)}$")
        last = m.end()
    out.append(text(s[last:]))
    return "".join(out)


def results(derivation) -> list[tuple[str, str, str]]:
    """A derivation's result as (entry name, LaTeX, plain text) rows; a choice key is one row."""
    if derivation.is_choice:
        key = ", ".join(sorted(derivation.result))
        return [("", r"\text{" + text(key) + "}", key)]
    rows = []
    for name, expr in derivation.entries().items():
        if _trace_row(expr):  # definition | value | tangent, to 4 decimals as a trace is written
            value, third = (f"{float(x) + 0.0:.4f}" for x in expr[1:])
            rows.append(
                (
                    name,
                    rf"{latex(expr[0])} \;\big|\; {value} \;\big|\; {third}",
                    f"{unicode(expr[0])} | {value} | {third}",
                )
            )
            continue
        rows.append((name, latex(expr), unicode(expr)))
    return rows


def _trace_row(expr: sp.Basic) -> bool:
    return (
        isinstance(expr, sp.Tuple) and len(expr) == 3 and not expr[0].is_number and all(x.is_number for x in expr[1:])
    )

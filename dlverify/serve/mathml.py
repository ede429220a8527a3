"""MathML for the answer page: SymPy expressions (an answer as read, a reference) and name-like
syntax trees (a symbol's spelling, a derivative symbol), rendered natively by the browser.

Two printers, both over trees, never over the student's text:

- ``Printer``: a SymPy expression in the homework's notation (the notation printers' conventions:
  diag(…), σ applied entry by entry, ∑ and ∏ with their limits, 𝟙[x > 0]).  Matrix products are
  written with a visible ⋅ and entrywise products with ⊙, each with a class the page colours, and a
  transposed operand is grouped under its ⊤, so a student sees which product is which and where
  each transpose applies.  Symbols show as the item spells them (``display``: object → MathML).
- ``node_mathml``: a parse tree of a name (W^{h}, \\hat{y}_t, ∂h_T/∂h_t) as written.

Every piece of text is XML-escaped: an unknown name an answer invents (``?<b>``) is shown as text.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from html import escape

import sympy as sp
from sympy.core.function import AppliedUndef

from derivations.functions import FUNCTIONS
from derivations.matexpr import Elementwise, MatrixSum, OrderedProduct, SequenceElement
from dlverify import notation
from dlverify.checking.parse import GREEK, Node

ADD, MUL, POW, ATOM = 1, 2, 3, 4  # binding strength: a weaker child is bracketed
INVISIBLE_TIMES = "<mo>&#x2062;</mo>"
SHOWN_DIGITS = 6  # significant digits of a float
MAX_BITS = 3000  # an integer longer is described, not written (Python refuses to write 4,300 digits)


def _digits(n: int) -> str:
    """A natural number; one too long to write out (2^{999·999}) by its length."""
    if n.bit_length() > MAX_BITS:
        return mtext(f"(a number of about {int(n.bit_length() * 0.30103)} digits)")
    return mn(str(n))


def _greek(name: str) -> str | None:
    """``alpha`` → α, ``Lambda`` → Λ, ``varepsilon`` → ε; None for any other word."""
    if name not in GREEK and name != "ell":
        return None
    if name == "ell":
        return "ℓ"
    word = name.removeprefix("var")
    case = "CAPITAL" if word[0].isupper() else "SMALL"
    try:
        return unicodedata.lookup(f"GREEK {case} LETTER {word.upper()}")
    except KeyError:
        return None


def mi(text: str, cls: str = "") -> str:
    attr = f' class="{escape(cls)}"' if cls else ""
    return f"<mi{attr}>{escape(text)}</mi>"


def mo(text: str, cls: str = "", title: str = "") -> str:
    attrs = (f' class="{escape(cls)}"' if cls else "") + (f' title="{escape(title)}"' if title else "")
    return f"<mo{attrs}>{escape(text)}</mo>"


def mn(text: str) -> str:
    return f"<mn>{escape(text)}</mn>"


def row(*parts: str) -> str:
    return "<mrow>" + "".join(parts) + "</mrow>"


def fenced(body: str, left: str = "(", right: str = ")") -> str:
    return row(mo(left), body, mo(right))


def math(body: str, display: bool = False) -> str:
    """A whole formula: ``<math>`` around ``body``."""
    attr = ' display="block"' if display else ""
    return f'<math xmlns="http://www.w3.org/1998/Math/MathML"{attr}>{body}</math>'


def text_math(text: str) -> str:
    """Text where a formula cannot be printed (the Unicode notation, escaped)."""
    return f"<mtext>{escape(text)}</mtext>"


def _word(name: str, cls: str = "") -> str:
    """A name's letters: a Greek letter's name as the letter, a hat as an accent (yhat → ŷ)."""
    if name.startswith("\\"):
        name = name[1:]
    letter = _greek(name)
    if letter is not None:
        return mi(letter, cls)
    if name.endswith("hat") and len(name) > 3:
        return f'<mover accent="true">{_word(name[:-3], cls)}{mo("^")}</mover>'
    if name.endswith("tilde") and len(name) > 5:
        return f'<mover accent="true">{_word(name[:-5], cls)}{mo("~")}</mover>'
    if name.endswith("bar") and len(name) > 3:
        return f'<mover accent="true">{_word(name[:-3], cls)}{mo("¯")}</mover>'
    return mi(name, cls)


def _script_text(text: str) -> str:
    """A subscript written in a symbol's name (``1``, ``t``, ``{t-1}``, ``prev``) as MathML."""
    text = text.strip("{}")
    if text.isdigit():
        return mn(text)
    if text == "prev":
        return row(mi("t"), mo("−"), mn("1"))
    parts = []
    for piece in text.replace("-", " - ").replace("+", " + ").split():
        parts.append(
            mo("−") if piece == "-" else mo("+") if piece == "+" else mn(piece) if piece.isdigit() else _word(piece)
        )
    return row(*parts) if len(parts) != 1 else parts[0]


def name_mathml(name: str, cls: str = "") -> str:
    """A SymPy symbol's name (``W_1``, ``beta_1``, ``yhat``, ``u_{t-1}``) as MathML."""
    head, sep, sub = name.partition("_")
    if not sep or not head or not sub:
        return _word(name, cls)
    return f"<msub>{_word(head, cls)}{_script_text(sub)}</msub>"


class Printer:
    """SymPy → MathML in the homework's notation (see the module's docstring).

    ``display`` gives the MathML of a symbol as the item writes it; ``placeholder`` the MathML of a
    stand-in the reader put in place of something it shows as written (a derivative symbol)."""

    def __init__(
        self,
        display: Mapping[sp.Basic, str] | None = None,
        placeholder: Callable[[sp.Basic], str | None] | None = None,
    ) -> None:
        self.display = dict(display or {})
        self.placeholder = placeholder

    def doprint(self, expr: sp.Basic) -> str:
        return self.p(expr)

    # dispatch --------------------------------------------------------------------------------
    def p(self, e: sp.Basic) -> str:
        if self.placeholder is not None:
            shown = self.placeholder(e)
            if shown is not None:
                return shown
        if e in self.display:
            return self.display[e]
        for cls in type(e).__mro__:
            method = getattr(self, f"_print_{cls.__name__}", None)
            if method is not None:
                return method(e)
        return text_math(notation.unicode(e))

    def strength(self, e: sp.Basic) -> int:
        if e in self.display:
            return ATOM
        if isinstance(e, (sp.Add, sp.MatAdd, sp.Sum, sp.Product, MatrixSum, OrderedProduct)):
            return ADD
        if isinstance(e, sp.Mul):
            return ADD if e.as_coeff_Mul()[0].is_negative else MUL
        if isinstance(e, sp.MatMul):
            return ADD if notation.signed_term(e)[0] else MUL
        if isinstance(e, sp.HadamardProduct):
            return MUL
        if isinstance(e, sp.Rational) and not e.is_Integer:
            return ADD if e.is_negative else ATOM
        if isinstance(e, sp.Number):
            return ADD if e.is_negative else ATOM
        if isinstance(e, sp.Pow):
            return ATOM if e.exp.is_Rational and (e.exp < 0 or e.exp == sp.S.Half) else POW
        if isinstance(e, (sp.Transpose, sp.Inverse, sp.MatPow, sp.HadamardPower)):
            return POW
        return ATOM

    def wrap(self, e: sp.Basic, at_least: int) -> str:
        body = self.p(e)
        return fenced(body) if self.strength(e) < at_least else body

    # numbers ---------------------------------------------------------------------------------
    def _print_Integer(self, e: sp.Integer) -> str:
        body = _digits(abs(e.p))
        return row(mo("−"), body) if e < 0 else body

    def _print_Rational(self, e: sp.Rational) -> str:
        body = f"<mfrac>{_digits(abs(e.p))}{_digits(e.q)}</mfrac>"
        return row(mo("−"), body) if e < 0 else body

    def _print_Float(self, e: sp.Float) -> str:
        value = float(e)
        body = mn(f"{abs(value):.{SHOWN_DIGITS}g}")
        return row(mo("−"), body) if value < 0 else body

    def _print_Pi(self, e: sp.Basic) -> str:
        return mi("π")

    def _print_Exp1(self, e: sp.Basic) -> str:
        return mi("e")

    def _print_Infinity(self, e: sp.Basic) -> str:
        return mi("∞")

    def _print_NegativeInfinity(self, e: sp.Basic) -> str:
        return row(mo("−"), mi("∞"))

    def _print_BooleanTrue(self, e: sp.Basic) -> str:
        return mtext("otherwise")

    # symbols ---------------------------------------------------------------------------------
    def _print_Symbol(self, e: sp.Symbol) -> str:
        if e.name.startswith("?"):  # a name the item does not define, as the answer wrote it
            return mi(e.name[1:], "unknown")
        return name_mathml(e.name)

    def _print_MatrixSymbol(self, e: sp.MatrixSymbol) -> str:
        return name_mathml(str(e.name))

    def _print_Indexed(self, e: sp.Indexed) -> str:
        base = self.p(e.base.label)
        idx = [self.p(i) for i in e.indices]
        joined = idx[0] if len(idx) == 1 else row(*sum(([x, mo(",")] for x in idx), [])[:-1])
        return f"<msub>{base}{joined}</msub>"

    def _print_IndexedBase(self, e: sp.IndexedBase) -> str:
        return self.p(e.label)

    def _print_SequenceElement(self, e: SequenceElement) -> str:
        base = self.display.get(sp.Symbol(e.name)) or name_mathml(e.name)
        return f"<msub>{base}{self.p(e.index)}</msub>"

    def _print_Identity(self, e: sp.Identity) -> str:
        return mi("I", "identity")

    def _print_OneMatrix(self, e: sp.OneMatrix) -> str:
        one = '<mn mathvariant="bold">1</mn>'
        return f"<msup>{one}{mo('⊤')}</msup>" if e.shape[0] == 1 and e.shape[1] != 1 else one

    def _print_ZeroMatrix(self, e: sp.ZeroMatrix) -> str:
        return '<mn mathvariant="bold">0</mn>'

    # sums and products ---------------------------------------------------------------------------
    def _terms(self, terms: list[tuple[bool, sp.Basic]]) -> str:
        out = []
        for k, (negative, magnitude) in enumerate(terms):
            body = self.wrap(magnitude, MUL) if negative or k else self.p(magnitude)
            if negative:
                out.append(mo("−") + body)
            else:
                out.append((mo("+") if k else "") + body)
        return row(*out)

    def _print_Add(self, e: sp.Add) -> str:
        terms = []
        for term in e.as_ordered_terms():
            coeff = term.as_coeff_Mul()[0]
            terms.append((True, -term) if coeff.is_negative else (False, term))
        return self._terms(terms)

    def _print_MatAdd(self, e: sp.MatAdd) -> str:
        return self._terms([notation.signed_term(t) for t in e.args])

    def _print_Mul(self, e: sp.Mul) -> str:
        coeff = e.as_coeff_Mul()[0]
        if coeff.is_negative:
            return row(mo("−"), self.wrap(-e, MUL))
        top, bottom = sp.fraction(e, exact=True)
        if bottom != 1:
            return f"<mfrac>{self.p(top)}{self.p(bottom)}</mfrac>"
        factors = list(e.as_ordered_factors())
        out = []
        for k, f in enumerate(factors):
            if k:  # two numbers side by side need a visible product
                out.append(mo("·") if f.is_number and factors[k - 1].is_number else INVISIBLE_TIMES)
            out.append(self.wrap(f, MUL + 1 if k else MUL))
        return row(*out)

    def _print_MatMul(self, e: sp.MatMul) -> str:
        negative, magnitude = notation.signed_term(e)
        if negative:
            return row(mo("−"), self.wrap(magnitude, MUL))
        args = list(magnitude.args) if isinstance(magnitude, sp.MatMul) else [magnitude]
        scale = sp.Mul(*(a for a in args if not isinstance(a, sp.MatrixExpr)))
        matrices = [a for a in args if isinstance(a, sp.MatrixExpr)]
        if scale.as_coeff_Mul()[0].is_negative:  # −(2/n) W: the sign in front, not a bracketed −2/n
            return row(mo("−"), self.p(sp.MatMul(-scale, *matrices)))
        scalars = [] if scale == 1 else [scale]
        out = []
        if scalars:
            out.append(self.wrap(scale, MUL))
        for k, m in enumerate(matrices):
            if k:
                out.append(mo("⋅", "op-matmul", "matrix product"))
            elif scalars:
                out.append(INVISIBLE_TIMES)
            out.append(self.wrap(m, MUL + 1))
        return row(*out)

    def _print_HadamardProduct(self, e: sp.HadamardProduct) -> str:
        out = []
        for k, a in enumerate(e.args):
            if k:
                out.append(mo("⊙", "op-hadamard", "entrywise product"))
            out.append(self.wrap(a, MUL + 1))
        return row(*out)

    def _print_Pow(self, e: sp.Pow) -> str:
        base, exp = e.args
        if exp == sp.S.Half:
            return f"<msqrt>{self.p(base)}</msqrt>"
        if exp.is_Rational and exp < 0:
            return f"<mfrac>{mn('1')}{self.p(sp.Pow(base, -exp, evaluate=False))}</mfrac>"
        if base == sp.E:
            return f"<msup>{mi('e')}{self.p(exp)}</msup>"
        return f"<msup>{self.wrap(base, ATOM)}{self.p(exp)}</msup>"

    def _print_exp(self, e: sp.Basic) -> str:
        return f"<msup>{mi('e')}{self.p(e.args[0])}</msup>"

    def _print_Transpose(self, e: sp.Transpose) -> str:
        inner = self.wrap(e.arg, ATOM)
        return f'<msup><mrow class="transposed">{inner}</mrow>{mo("⊤", "op-transpose", "transpose")}</msup>'

    def _print_Inverse(self, e: sp.Inverse) -> str:
        return f"<msup>{self.wrap(e.arg, ATOM)}{row(mo('−'), mn('1'))}</msup>"

    def _print_MatPow(self, e: sp.MatPow) -> str:
        return f'<msup>{self.wrap(e.base, ATOM)}<mrow class="op-matpow">{self.p(e.exp)}</mrow></msup>'

    def _print_HadamardPower(self, e: sp.HadamardPower) -> str:
        power = row(mo("∘", "op-hadamard", "entrywise power"), self.p(e.exp))
        return f"<msup>{self.wrap(e.base, ATOM)}{power}</msup>"

    def _big(self, sign: str, body: sp.Basic, limits) -> str:
        out = self.wrap(body, MUL)
        for var, lo, hi in limits:  # innermost first, as SymPy keeps them
            head = f"<munderover>{mo(sign)}{row(self.p(var), mo('='), self.p(lo))}{self.p(hi)}</munderover>"
            out = row(head, out)
        return out

    def _print_Sum(self, e: sp.Sum) -> str:
        return self._big("∑", e.function, e.limits)

    def _print_Product(self, e: sp.Product) -> str:
        return self._big("∏", e.function, e.limits)

    def _print_MatrixSum(self, e: MatrixSum) -> str:
        return self._big("∑", e.body, [e.limits])

    def _print_OrderedProduct(self, e: OrderedProduct) -> str:
        return self._big("∏", e.body, [e.limits])

    # functions -------------------------------------------------------------------------------
    def _call(self, name: str, *args: sp.Basic) -> str:
        inner = sum(([self.p(a), mo(",")] for a in args), [])[:-1]
        return row(mi(name), fenced(row(*inner)))

    def _print_Elementwise(self, e: Elementwise) -> str:
        fn = FUNCTIONS[e.name]
        if fn.indicator:
            return row(mi("𝟙"), fenced(row(self.p(e.arg), mo(">"), mn("0")), "[", "]"))
        return row(mi(notation.function_name(e.name), "elementwise"), fenced(self.p(e.arg)))

    def _print_DiagMatrix(self, e: sp.Basic) -> str:
        return self._call("diag", e.args[0])

    def _print_Trace(self, e: sp.Basic) -> str:
        return self._call("tr", e.args[0])

    def _print_Abs(self, e: sp.Basic) -> str:
        return fenced(self.p(e.args[0]), "|", "|")

    def _print_floor(self, e: sp.Basic) -> str:
        return fenced(self.p(e.args[0]), "⌊", "⌋")

    def _print_ceiling(self, e: sp.Basic) -> str:
        return fenced(self.p(e.args[0]), "⌈", "⌉")

    def _print_KroneckerDelta(self, e: sp.Basic) -> str:
        a, b = (self.p(x) for x in e.args)
        return f"<msub>{mi('δ')}{row(a, mo(','), b)}</msub>"

    def _print_Function(self, e: sp.Basic) -> str:
        func = e.func.__name__
        if isinstance(e, AppliedUndef) and len(e.args) == 1 and len(func) == 1:  # h(t − 1): a sequence
            return f"<msub>{_word(func)}{self.p(e.args[0])}</msub>"
        name = notation.function_name(func) if func in FUNCTIONS else func
        return self._call(name, *e.args)

    # conditions ------------------------------------------------------------------------------
    _RELATIONS = {"<": "<", "<=": "≤", ">": ">", ">=": "≥", "==": "=", "!=": "≠"}

    def _print_Relational(self, e: sp.Basic) -> str:
        return row(self.p(e.lhs), mo(self._RELATIONS.get(e.rel_op, e.rel_op)), self.p(e.rhs))

    def _print_And(self, e: sp.Basic) -> str:
        return row(*sum(([self.p(a), mo("∧")] for a in e.args), [])[:-1])

    def _print_Piecewise(self, e: sp.Piecewise) -> str:
        pieces = e.args
        if len(pieces) == 2 and pieces[1].expr == 0 and pieces[1].cond is sp.true:  # v · 𝟙[cond]
            value, cond = pieces[0].expr, pieces[0].cond
            conds = cond.args if isinstance(cond, sp.And) else (cond,)
            marks = [row(mi("𝟙"), fenced(self.p(c), "[", "]")) for c in conds]
            if value == 1:
                return row(*marks)
            return row(self.wrap(value, MUL + 1), INVISIBLE_TIMES, *marks)
        cells = [(self.p(p.expr), mtext("otherwise") if p.cond is sp.true else self.p(p.cond)) for p in pieces]
        rows = "".join(f"<mtr><mtd>{value}</mtd><mtd>{cond}</mtd></mtr>" for value, cond in cells)
        return row(mo("{"), f'<mtable columnalign="left left">{rows}</mtable>')

    # containers ------------------------------------------------------------------------------
    def _print_Tuple(self, e: sp.Tuple) -> str:
        return fenced(row(*sum(([self.p(a), mo(",")] for a in e.args), [])[:-1]))

    def _print_MatrixBase(self, e: sp.MatrixBase) -> str:
        return matrix_mathml([[self.p(x) for x in r] for r in e.tolist()])


def mtext(text: str) -> str:
    return f"<mtext>{escape(text)}</mtext>"


def matrix_mathml(cells: list[list[str]]) -> str:
    """A bracketed table of MathML cells."""
    body = "".join("<mtr>" + "".join(f"<mtd>{c}</mtd>" for c in r) + "</mtr>" for r in cells)
    return fenced(f"<mtable>{body}</mtable>", "[", "]")


# name-like syntax trees ------------------------------------------------------------------------

_ACCENTS = {"hat": "^", "widehat": "^", "tilde": "~", "widetilde": "~", "bar": "¯", "overline": "¯", "dot": "˙"}


def node_mathml(node: Node) -> str:
    """A name-like parse tree (a symbol's spelling, a derivative symbol) as MathML, as written."""
    rule, args = node.rule, node.args
    if rule == "name":
        return _word(str(args[0]))
    if rule == "num":
        return mn(str(args[0]))
    if rule == "paren":
        return fenced(node_mathml(args[0]))
    if rule in ("sub", "index"):
        base, sub = args
        if rule == "index":
            return row(node_mathml(base), fenced(node_mathml(sub), "[", "]"))
        if base.rule == "pow":  # x^a_b: TeX's order, one base with both scripts
            return f"<msubsup>{node_mathml(base.args[0])}{node_mathml(sub)}{node_mathml(base.args[1])}</msubsup>"
        return f"<msub>{node_mathml(base)}{node_mathml(sub)}</msub>"
    if rule == "pow":
        base, sup = args
        if base.rule == "sub":
            inner, sub = base.args
            return f"<msubsup>{node_mathml(inner)}{node_mathml(sub)}{node_mathml(sup)}</msubsup>"
        return f"<msup>{node_mathml(base)}{node_mathml(sup)}</msup>"
    if rule == "accent":
        mark = _ACCENTS.get(str(args[0]), "^")
        return f'<mover accent="true">{node_mathml(args[1])}{mo(mark)}</mover>'
    if rule == "font":
        font, inner = args
        if font == "mathbb" and inner.rule == "name":
            return mi({"E": "𝔼", "R": "ℝ", "I": "𝕀"}.get(str(inner.args[0]), str(inner.args[0])))
        return node_mathml(inner)
    if rule == "partial":
        return row(mo("∂"), node_mathml(args[0]))
    if rule == "div":
        return f"<mfrac>{node_mathml(args[0])}{node_mathml(args[1])}</mfrac>"
    if rule == "add":
        out = []
        for k, a in enumerate(args):
            if a.rule == "neg":
                out += [mo("−"), node_mathml(a.args[0])]
            else:
                out += ([mo("+")] if k else []) + [node_mathml(a)]
        return row(*out)
    if rule == "neg":
        return row(mo("−"), node_mathml(args[0]))
    if rule in ("mul", "tuple"):
        sep = INVISIBLE_TIMES if rule == "mul" else mo(",")
        return row(*sum(([node_mathml(a), sep] for a in args), [])[:-1])
    if rule == "transpose":
        return f"<msup>{node_mathml(args[0])}{mo('⊤')}</msup>"
    if rule == "prime":
        return f"<msup>{node_mathml(args[0])}{mo('′')}</msup>"
    return mtext(repr(node))

"""The homework's notation for the left side of a step, as SymPy objects printed two ways.

A step's left side (``∂y/∂h_t``, ``h[t]_i``, ``(1 + s)^K``) is mathematics: it is built once from
the objects below (sums, products and powers as :class:`Plus`, :class:`Times`, :class:`Power`,
which keep the written order where SymPy's would sort; ``doit()`` gives SymPy's) and SymPy's own
``Limit``, ``Sum``, ``Eq``, ``Tuple`` and applied functions, and ``plain`` and ``latex`` print it.
The derivation's own symbols print as SymPy prints them; a :class:`Name` is a quantity of the
notation spelled as it is typeset (``\\theta_t``, ``\\hat{y}``), whose plain form is
transliterated from that one spelling (``θ_t``, ``ŷ``).  :class:`Words` is the one text-only
left side ("output shape", "cost at t"): a description, not a quantity.

The printers follow the hand-written forms of the homework: terms in the order written, the
Unicode minus in plain text, compact indices (``h[t-1]``, ``T=3``), entries ``W[p,q]`` in LaTeX
and ``W[p, q]`` in plain text.
"""

from __future__ import annotations

import re
import unicodedata

import sympy as sp

MINUS = "−"


class Name(sp.Symbol):
    """A quantity of the homework's notation, named by its LaTeX spelling (``\\hat g``, ``L_{\\min}``)."""

    def _latex(self, printer) -> str:
        return self.name

    def _sympystr(self, printer) -> str:
        return transliterate(self.name)


class _Notation(sp.Expr):
    """An unevaluated piece of notation: its arguments stay as written, and both printers know it.
    A string argument is a :class:`Name` (``Partial("L", "h_t")``)."""

    def __new__(cls, *args: sp.Basic | str):
        return sp.Basic.__new__(cls, *(Name(a) if isinstance(a, str) else sp.sympify(a) for a in args))

    def _latex(self, printer) -> str:
        return latex(self)

    def _sympystr(self, printer) -> str:
        return plain(self)


class Words(_Notation):
    """Text standing where a quantity would ("output shape", "cost at t"): the few left sides that are
    a description rather than an expression.  ``Words("cost at", t)`` puts an expression after the words."""

    def __new__(cls, text: str | sp.Symbol, *then: sp.Basic):
        label = text if isinstance(text, sp.Symbol) else sp.Symbol(text)  # SymPy rebuilds from args
        return sp.Basic.__new__(cls, label, *(Name(a) if isinstance(a, str) else sp.sympify(a) for a in then))

    @property
    def text(self) -> str:
        return self.args[0].name

    @property
    def then(self) -> sp.Basic | None:
        return self.args[1] if len(self.args) > 1 else None


class Partial(_Notation):
    """∂num/∂den: the homework's derivative symbol of any quantity of the setup."""

    @property
    def num(self) -> sp.Basic:
        return self.args[0]

    @property
    def den(self) -> sp.Basic:
        return self.args[1]


class TotalDerivative(Partial):
    """dy/dw: the derivative of a scalar function of one variable."""


class Entry(_Notation):
    """An entry in the homework's bracket notation: ``W[p, q]``, ``h[t-1]``, ``f_W(x)[r]``."""


class Position(_Notation):
    """The entry ``[r, 1, c, k]`` of the quantity just shown (a Jacobian's entry, in the example)."""


class Sub(_Notation):
    """A subscripted element: ``h_t``, ``h_{k-1}``, ``(W_x)_{kl}``, ``h[t]_i``; several indices are run together."""


class Transposed(_Notation):
    """``dᵀ``: a transpose written on a name of the notation."""


class Inverted(_Notation):
    """``C⁻¹``: an inverse written on a name of the notation."""


class Norm(_Notation):
    """``‖W‖_F``: a norm, with the subscript naming it."""


class Expectation(_Notation):
    """``E[m_t]``."""


class Minimum(_Notation):
    """``min L_λ``: the smallest value of a quantity."""


class At(_Notation):
    """A quantity evaluated at a point (``dy/dw|_{T=3}``) or as computed some way (a :class:`Words` label:
    ``dy/dw|_graph``)."""


class Plus(_Notation):
    """A sum in the order written (SymPy's ``Add`` would sort, and rebuild sorted after a pickle)."""

    def doit(self, **hints) -> sp.Basic:
        return sp.Add(*(a.doit(**hints) for a in self.args))


class Negative(_Notation):
    """``−x``, a term of :class:`Plus`."""

    def doit(self, **hints) -> sp.Basic:
        return -self.args[0].doit(**hints)


class Times(_Notation):
    """A product in the order written."""

    def doit(self, **hints) -> sp.Basic:
        return sp.Mul(*(a.doit(**hints) for a in self.args))


class Ratio(_Notation):
    """``top/bottom``."""

    def doit(self, **hints) -> sp.Basic:
        return self.args[0].doit(**hints) / self.args[1].doit(**hints)


class Power(_Notation):
    """``base^exponent`` as written (``1^K`` stays)."""

    def doit(self, **hints) -> sp.Basic:
        return self.args[0].doit(**hints) ** self.args[1].doit(**hints)


class Containing(_Notation):
    """``h[t]_i ⊃``: the terms of a quantity include those on the right."""


# --- plain text from a LaTeX spelling -------------------------------------------------------------

_COMMANDS = {
    **{g: chr(0x3B1 + k) for k, g in enumerate("alpha beta gamma delta epsilon zeta eta theta iota kappa".split())},
    **{g: chr(0x3BB + k) for k, g in enumerate("lambda mu nu xi omicron pi rho".split())},
    "sigma": "σ",
    "tau": "τ",
    "phi": "φ",
    "omega": "ω",
    "Theta": "Θ",
    "Sigma": "Σ",
    "Lambda": "Λ",
    "ell": "ℓ",
    "nabla": "∇",
    "infty": "∞",
    "dots": "…",
    "top": "ᵀ",
    "min": "min",
    "max": "max",
    "operatorname": "",
    "text": "",
    "mathrm": "",
    "mathbb": "",
}
_ACCENTS = {"hat": "\u0302", "bar": "\u0304", "tilde": "\u0303"}
_SUPERSCRIPTS = {"*": "*", "+": "⁺", r"\top": "ᵀ", "2": "²", "3": "³"}
_COMMAND = re.compile(r"\\[a-zA-Z]+\s*|\\.")


def _group(spelling: str, at: int) -> tuple[str, int]:
    """The LaTeX group starting at ``at`` (a braced group, a command or one character) and where it ends."""
    if spelling[at] == "{":
        depth = 0
        for end in range(at, len(spelling)):
            depth += {"{": 1, "}": -1}.get(spelling[end], 0)
            if depth == 0:
                return spelling[at : end + 1], end + 1
        raise ValueError(f"unbalanced braces in {spelling!r}")
    m = _COMMAND.match(spelling, at)
    return (m.group(0).strip(), m.end()) if m else (spelling[at], at + 1)


def transliterate(spelling: str) -> str:
    """The plain form of a LaTeX spelling: ``\\hat{y}_T`` → ``ŷ_T``, ``h_{k-1}`` → ``h_{k−1}``,
    ``L_{\\min}`` → ``L_min``."""
    out, at = [], 0
    while at < len(spelling):
        token, end = _group(spelling, at)
        if token.startswith("\\") and token[1:] in _ACCENTS:
            inner, end = _group(spelling, end)
            out.append(unicodedata.normalize("NFC", transliterate(inner.strip("{}")) + _ACCENTS[token[1:]]))
        elif token == r"\|":
            out.append("‖")
        elif token.startswith("\\"):
            out.append(_COMMANDS.get(token[1:], token[1:]))
        elif token in ("_", "^"):
            arg, end = _group(spelling, end)
            inner = transliterate(arg[1:-1] if arg.startswith("{") else arg)
            if token == "^" and arg.strip("{}") in _SUPERSCRIPTS:
                out.append(_SUPERSCRIPTS[arg.strip("{}")])
            elif token == "_" and inner.isalnum():
                out.append("_" + inner)
            else:
                out.append(f"{token}{{{inner}}}" if len(inner) > 1 else token + inner)
        elif token.startswith("{"):
            out.append(transliterate(token[1:-1]))
        else:
            out.append(MINUS if token == "-" else token)
        at = end
    return "".join(out)


# --- the printers ---------------------------------------------------------------------------------


def latex(expr: sp.Basic) -> str:
    """The LaTeX form of a left side."""
    return _Printer(tex=True).form(expr)


def plain(expr: sp.Basic) -> str:
    """The plain-text form of a left side (Unicode, as the terminal shows a step)."""
    return _Printer(tex=False).form(expr)


class _Printer:
    def __init__(self, tex: bool, compact: bool = False, tight: bool = False) -> None:
        self.tex = tex
        self.compact = compact  # an index or a point: t-1, T=3
        self.tight = tight  # inside a derivative's fraction, LaTeX runs an entry's indices together: W[p,q]

    def minus(self) -> str:
        return "-" if self.tex else MINUS

    def inner(self, expr: sp.Basic) -> str:
        return _Printer(self.tex, compact=True, tight=self.tight).form(expr)

    def paren(self, expr: sp.Basic) -> str:
        """``expr`` in parentheses where it is a sum (the base of a power, a factor, a derivative's top)."""
        text = self.form(expr)
        return f"({text})" if isinstance(expr, Plus) else text

    def form(self, expr: sp.Basic) -> str:
        tex = self.tex
        if isinstance(expr, Words):
            then = "" if expr.then is None else self.form(expr.then)
            if tex:
                return rf"\text{{{expr.text} }} {then}" if then else rf"\text{{{expr.text}}}"
            return f"{expr.text} {then}" if then else expr.text
        if isinstance(expr, Name):
            return expr.name if tex else transliterate(expr.name)
        if isinstance(expr, TotalDerivative):
            return (
                rf"\frac{{d{self.form(expr.num)}}}{{d{self.form(expr.den)}}}"
                if tex
                else f"d{self.form(expr.num)}/d{self.form(expr.den)}"
            )
        if isinstance(expr, Partial):
            inside = _Printer(tex, self.compact, tight=True)
            num, den = inside.paren(expr.num), inside.paren(expr.den)
            return rf"\frac{{\partial {num}}}{{\partial {den}}}" if tex else f"∂{num}/∂{den}"
        if isinstance(expr, Entry):
            base, *indices = expr.args
            return self.form(base) + "[" + ("," if tex and self.tight else ", ").join(map(self.inner, indices)) + "]"
        if isinstance(expr, Position):
            return ("" if tex else "entry ") + "[" + ", ".join(map(self.inner, expr.args)) + "]"
        if isinstance(expr, Sub):
            return self._sub(expr)
        if isinstance(expr, Transposed):
            return self.form(expr.args[0]) + (r"^\top" if tex else "ᵀ")
        if isinstance(expr, Inverted):
            return self.form(expr.args[0]) + ("^{-1}" if tex else "⁻¹")
        if isinstance(expr, Norm):
            bar = r"\|" if tex else "‖"
            return f"{bar}{self.form(expr.args[0])}{bar}_{self.form(expr.args[1])}"
        if isinstance(expr, Expectation):
            return (r"\mathbb{E}" if tex else "E") + f"[{self.form(expr.args[0])}]"
        if isinstance(expr, Minimum):
            return (r"\min " if tex else "min ") + self.form(expr.args[0])
        if isinstance(expr, At):
            return self._at(expr)
        if isinstance(expr, Containing):
            return self.form(expr.args[0]) + (r" \supset" if tex else " ⊃")
        if isinstance(expr, sp.Limit):
            body, var, point = expr.args[:3]
            head = rf"\lim_{{{self.form(var)}\to{self.form(point)}}} " if tex else "lim "
            return head + self.form(body)
        if isinstance(expr, sp.Sum):
            (var, *_), body = expr.limits[0], expr.function
            return (rf"\sum_{self.form(var)} " if tex else f"Σ_{self.form(var)} ") + self.form(body)
        if isinstance(expr, sp.exp):
            return f"e^{{{self.form(expr.args[0])}}}"
        if isinstance(expr, Plus):
            return self._plus(expr)
        if isinstance(expr, Negative):
            return self.minus() + self.form(expr.args[0])
        if isinstance(expr, Times):
            return self._times(expr)
        if isinstance(expr, Ratio):
            top, bottom = expr.args
            return (
                rf"\frac{{{self.form(top)}}}{{{self.form(bottom)}}}"
                if tex
                else f"{self.paren(top)}/{self.paren(bottom)}"
            )
        if isinstance(expr, Power):
            return self._power(expr)
        if isinstance(expr, sp.Eq):
            sep = "=" if self.compact else " = "
            return self.form(expr.lhs) + sep + self.form(expr.rhs)
        if isinstance(expr, sp.Tuple):
            return "(" + ", ".join(self.form(a) for a in expr.args) + ")"
        if isinstance(expr, sp.core.function.AppliedUndef):
            name = expr.func.__name__
            if not tex:
                name = transliterate(name.replace("''", "″").replace("'", "′"))
            return name + "(" + ", ".join(self.form(a) for a in expr.args) + ")"
        if expr is sp.oo:
            return r"\infty" if tex else "∞"
        # the derivation's own objects: as SymPy prints them (its LaTeX braces every subscript: h_{3})
        return sp.latex(expr) if tex else sp.sstr(expr)

    def _sub(self, expr: Sub) -> str:
        base, *indices = expr.args
        index = "".join(self.inner(i) for i in indices)
        text = self.form(base)
        if isinstance(base, Partial):
            text = rf"\left({text}\right)" if self.tex else f"({text})"
        elif isinstance(base, Name) and "_" in base.name:
            text = f"({text})"
        braced = len(index) > 1
        return f"{text}_{{{index}}}" if braced else f"{text}_{index}"

    def _at(self, expr: At) -> str:
        body, point = expr.args
        if isinstance(point, Words):
            label = rf"\text{{{point.text}}}" if self.tex else point.text
            return rf"{self.form(body)}\Big|_{{{label}}}" if self.tex else f"{self.form(body)}|_{label}"
        if isinstance(point, sp.Tuple):
            where = (r",\," if self.tex else ", ").join(self.inner(a) for a in point.args)
        else:
            where = self.inner(point)
        return rf"\left.{self.form(body)}\right|_{{{where}}}" if self.tex else f"{self.form(body)}|_{{{where}}}"

    def _plus(self, expr: Plus) -> str:
        out = ""
        for k, term in enumerate(expr.args):
            if isinstance(term, Negative):
                sign = self.minus() if self.compact or k == 0 else f" {self.minus()} "
                out += sign + self.paren(term.args[0])
            else:
                out += ("" if k == 0 else "+" if self.compact else " + ") + self.form(term)
        return out

    def _times(self, expr: Times) -> str:
        out = ""
        for k, factor in enumerate(expr.args):
            if k:
                out += self._between(expr.args[k - 1], factor)
            out += self.paren(factor)
        return out

    def _between(self, left: sp.Basic, right: sp.Basic) -> str:
        """What separates two written factors: a space, except beside a parenthesis (and, in plain text,
        a norm's bars); LaTeX sets two fractions side by side, and spaces a bare letter from the
        parenthesis after it (w\\,(u + h)) lest it read as a function applied."""
        if isinstance(right, Plus) and self.tex and isinstance(left, Name) and len(left.name) == 1:
            return r"\,"
        if self._delimited(left) or self._delimited(right):
            return ""
        if self.tex and isinstance(left, Partial) and isinstance(right, Partial):
            return ""
        return " "

    def _delimited(self, factor: sp.Basic) -> bool:
        if isinstance(factor, Power):
            factor = factor.args[0]
        return isinstance(factor, Plus) or (not self.tex and isinstance(factor, Norm))

    def _power(self, expr: Power) -> str:
        base, exp = self.paren(expr.args[0]), expr.args[1]
        if self.tex:
            power = self.form(exp)
            return f"{base}^{power}" if len(power) == 1 else f"{base}^{{{power}}}"
        if exp in (2, 3):
            return base + _SUPERSCRIPTS[str(exp)]
        power = self.form(exp)
        return f"{base}^{power}" if len(power) == 1 else f"{base}^({power})"


def offset(name: str | sp.Basic, by: int) -> Plus:
    """``t−1``, ``t+1`` as written (an index of a sequence): the name first, then the offset."""
    return Plus(name, by) if by >= 0 else Plus(name, Negative(-by))


def plus(*terms: sp.Basic | str) -> Plus:
    """A sum in the order written (a string is a :class:`Name`)."""
    return Plus(*terms)


def minus(term: sp.Basic | str) -> Negative:
    """``−term``, for a term of :func:`plus`."""
    return Negative(term)


def times(*factors: sp.Basic | str) -> Times:
    """A product in the order written."""
    return Times(*factors)


def over(top: sp.Basic | str, bottom: sp.Basic | str) -> Ratio:
    """``top/bottom``."""
    return Ratio(top, bottom)


def power(base: sp.Basic | str, exponent: sp.Basic | str) -> Power:
    """``base^exponent`` as written."""
    return Power(base, exponent)

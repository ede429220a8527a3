"""Matrix notation of the homework that SymPy lacks, as SymPy matrix expressions.

- ``Elementwise("sigma", X)``: a function of ``derivations.functions`` (σ, σ', tanh, ReLU, the
  indicator 1[X > 0], …) applied entry by entry (SymPy's ElementwiseApplyFunction prints as an
  anonymous lambda);
- ``OrderedProduct(M_k, (k, a, b))``: M_a M_{a+1} ⋯ M_b, left to right (SymPy's Product
  treats its body as commutative);
- ``MatrixSum(M_k, (k, a, b))``: Σ_k M_k;
- ``SequenceElement("h", k, rows, cols)``: the k-th vector of a sequence h_1, h_2, ….

Each prints to LaTeX and plain text in the notation students write, so that a printed
reference reads back through the answer parser.
"""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixExpr

from derivations.functions import FUNCTIONS


class Elementwise(MatrixExpr):
    """f applied to every entry of a matrix expression."""

    def __new__(cls, name: str | sp.Symbol, arg: MatrixExpr):
        name = name.name if isinstance(name, sp.Symbol) else name  # SymPy rebuilds from args
        if name not in FUNCTIONS or not FUNCTIONS[name].matrix:
            raise ValueError(f"unknown elementwise function {name}")
        return sp.Basic.__new__(cls, sp.Symbol(name), arg)

    @property
    def name(self) -> str:
        return self.args[0].name

    @property
    def arg(self) -> MatrixExpr:
        return self.args[1]

    @property
    def shape(self):
        return self.arg.shape

    @property
    def free_symbols(self):
        return self.arg.free_symbols  # the function's name is not a variable

    def doit(self, **hints):
        """On an explicit matrix of numbers, the function entry by entry (the values of a formula)."""
        arg = self.arg.doit(**hints) if hints.get("deep", True) else self.arg
        if isinstance(arg, sp.MatrixBase) and all(x.is_number for x in arg):
            return sp.ImmutableMatrix(arg.applyfunc(FUNCTIONS[self.name].sympy))
        return Elementwise(self.name, arg)

    def _latex(self, printer) -> str:
        row = FUNCTIONS[self.name]
        if row.indicator:
            return rf"{row.latex}\left[{printer._print(self.arg)} > 0\right]"
        return rf"{row.latex}\left({printer._print(self.arg)}\right)"

    def _sympystr(self, printer) -> str:
        row = FUNCTIONS[self.name]
        if row.indicator:
            return f"{row.plain}[{printer._print(self.arg)} > 0]"
        return f"{row.plain}({printer._print(self.arg)})"


class _Indexed(MatrixExpr):
    """Base of a sum or ordered product over an integer index."""

    _op = ""

    def __new__(cls, body: MatrixExpr, limits):
        var, lo, hi = (sp.sympify(x) for x in limits)
        return sp.Basic.__new__(cls, body, sp.Tuple(var, lo, hi))

    @property
    def body(self) -> MatrixExpr:
        return self.args[0]

    @property
    def limits(self):
        return tuple(self.args[1])

    @property
    def shape(self):
        return self.body.shape

    @property
    def free_symbols(self):
        var, lo, hi = self.limits
        return (self.body.free_symbols - {var}) | lo.free_symbols | hi.free_symbols

    def _latex(self, printer) -> str:
        var, lo, hi = self.limits
        body = printer._print(self.body)
        # Parenthesised whole: a factor written after it is not part of the body.
        head = rf"{self._op}_{{{printer._print(var)}={printer._print(lo)}}}^{{{printer._print(hi)}}}"
        return rf"\left({head} \left({body}\right)\right)"

    def _sympystr(self, printer) -> str:
        var, lo, hi = (printer._print(x) for x in self.limits)
        return f"{type(self)._plain}({printer._print(self.body)}, {var}, {lo}, {hi})"


class OrderedProduct(_Indexed):
    """∏_{k=a}^{b} M_k = M_a M_{a+1} ⋯ M_b (k increasing, left to right)."""

    _op = r"\prod"
    _plain = "prod"


class MatrixSum(_Indexed):
    """Σ_{k=a}^{b} M_k."""

    _op = r"\sum"
    _plain = "sum"


class SequenceElement(MatrixExpr):
    """The vector h_k of a sequence h_1, h_2, … (rows × cols each)."""

    def __new__(cls, name: str | sp.Symbol, index, rows, cols):
        symbol = name if isinstance(name, sp.Symbol) else sp.Symbol(name)  # SymPy rebuilds from args
        return sp.Basic.__new__(cls, symbol, sp.sympify(index), sp.sympify(rows), sp.sympify(cols))

    @property
    def name(self) -> str:
        return self.args[0].name

    @property
    def index(self):
        return self.args[1]

    @property
    def shape(self):
        return self.args[2], self.args[3]

    @property
    def free_symbols(self):
        return self.index.free_symbols | {self.args[0]}

    def _latex(self, printer) -> str:
        return f"{self.name}_{{{printer._print(self.index)}}}"

    def _sympystr(self, printer) -> str:
        return f"{self.name}[{printer._print(self.index)}]"

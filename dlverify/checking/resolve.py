"""Syntax tree → SymPy, against one problem's symbol table.

Every construct maps to SymPy through an explicit table: a name is a symbol of the
problem (under any of its spellings, names.py), a function of ``derivations.functions``, or a
constant — anything else is reported as unknown.  Numbers are built from their digits with
``fractions.Fraction``; nothing is evaluated from text, and powers that would build
astronomically large numbers are refused before SymPy sees them.  Sizes left open (I, the ones
vector) are fixed from the context by sizes.py; reading.py is what the judges call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction

import sympy as sp

from derivations.course import scaled
from derivations.functions import FUNCTIONS, MATRIX_SPELLINGS, SPELLINGS
from derivations.matexpr import Elementwise, MatrixSum, OrderedProduct, SequenceElement
from dlverify.checking.names import (
    BIG_OPERATORS,
    CONSTANTS,
    DIAG,
    TRANSPOSE_MARKS,
    SymbolTable,
    Unreadable,
    bare,
    key,
)
from dlverify.checking.parse import Node, ParseError
from dlverify.checking.sizes import FREE, common_shape, dims, fit, fit_product
from dlverify.notation import unicode

MAX_EXPONENT = 1000  # |numeric exponent|; larger ones are refused, not computed
# Scalars of a square matrix, by every spelling: the Cookbook's, and SymPy's printed one (what reads back)
MATRIX_SCALARS = {
    "tr": sp.Trace,
    "Tr": sp.Trace,
    "trace": sp.Trace,
    "Trace": sp.Trace,
    "det": sp.Determinant,
    "Determinant": sp.Determinant,
}
MAX_DIGITS = 60


@dataclass
class _Env:
    table: SymbolTable
    bound: dict[str, sp.Symbol] = field(default_factory=dict)
    unknown: dict[str, int] = field(default_factory=dict)
    derivatives: list[DerivativeReading] = field(default_factory=list)


@dataclass(frozen=True)
class DerivativeReading:
    """How a derivative symbol of the answer was read: its text, what it stands for and its shape."""

    symbol: str  # as the message prints it, ∂h_T/∂h_t
    shape: tuple | None  # rows × columns of the Jacobian, None for a scalar
    asked: bool  # the asked quantity itself
    listed: bool  # a symbol the item lists (g, J): allowed in a final answer
    value: sp.Basic = field(compare=False, default=None)


class NotJudged(ParseError):
    """Read, but the checker cannot evaluate it (a derivative the setup does not give): ``unsupported``."""


def _d_name(node: Node) -> bool:
    """``dy``, ``dh_3``, ``d\\ell``: a plain name after a d, as in \\frac{dy}{dw}."""
    if node.rule == "mul" and len(node.args) == 2 and node.args[0].rule == "name" and node.args[0].args[0] == "d":
        return node.args[1].rule in ("name", "sub")
    if node.rule == "sub":
        return _d_name(node.args[0])
    name = node.args[0] if node.rule == "name" else ""
    return not name.startswith("\\") and len(name) > 1 and name[0] == "d"


def _strip_d(node: Node) -> Node:
    if node.rule == "mul":  # d\ell
        return node.args[1]
    if node.rule == "sub":
        return Node("sub", (_strip_d(node.args[0]), node.args[1]), node.pos)
    return Node("name", (node.args[0][1:],), node.pos)


def unicode_symbol(node: Node) -> str:
    """A derivative symbol as messages print it: ∂h_T/∂h_t."""
    k = key(node) or ""
    cut = k.find("/d")
    if not k.startswith("d") or cut < 0:
        return "∂…/∂…"
    tidy = lambda part: re.sub(r"_\{([^{}])\}", r"_\1", part).replace("ell", "ℓ")  # noqa: E731
    return f"∂{tidy(k[1:cut])}/∂{tidy(k[cut + 2 :])}"


def _number(text: str, pos: int) -> sp.Rational:
    digits = re.sub(r"[eE].*", "", text).replace(".", "")
    exp = int(text.split("e")[-1].split("E")[-1]) if re.search(r"[eE]", text) else 0
    if len(digits) > MAX_DIGITS or abs(exp) > 300:
        raise Unreadable(f"number {text[:20]}… is too large to check", pos)
    f = Fraction(text)
    return sp.Rational(f.numerator, f.denominator)


def _lookup(node: Node, env: _Env) -> sp.Basic | None:
    k = key(node)
    if k is None:
        return None
    if k in env.bound:
        return env.bound[k]
    return env.table.by_key.get(k)


def _is_function(node: Node, env: _Env) -> str | None:
    """The function a factor names (``sigma``, ``sigma'``, ``exp``…), unless it is a symbol."""
    if node.rule == "prime":
        inner = _is_function(node.args[0], env)
        row = SPELLINGS.get(inner) if inner is not None else None
        return f"{inner}'" if row is not None and row.derivative else None
    if node.rule in ("name", "font") and _lookup(node, env) is None:
        name = key(node)
        if name in SPELLINGS or name in DIAG or name == "HadamardPower":
            return name
    return None


def _big_head(node: Node, env: _Env) -> tuple[str, Node | None, Node | None] | None:
    """``\\sum_{t=1}^{T}`` (in either script order) → (operator, lower/binding, upper)."""
    lower = upper = None
    cur = node
    for _ in range(2):
        if cur.rule == "pow" and upper is None:
            cur, upper = cur.args
        elif cur.rule == "sub" and lower is None:
            cur, lower = cur.args
    if cur.rule == "name" and bare(cur.args[0]) in BIG_OPERATORS and _lookup(cur, env) is None:
        return bare(cur.args[0]), lower, upper
    return None


def _pow(base: sp.Basic, exponent: sp.Basic, pos: int) -> sp.Basic:
    if exponent.is_number:
        if not exponent.is_finite:
            raise Unreadable("an infinite exponent cannot be checked", pos)
        if exponent.is_real and abs(exponent) > MAX_EXPONENT:
            raise Unreadable(f"exponent {unicode(exponent)[:30]} is too large to check", pos)
    if isinstance(base, sp.MatrixExpr) and exponent == -1:
        return sp.Inverse(base)
    if isinstance(base, sp.MatrixExpr) and 1 in base.shape and base.shape != (1, 1):
        # a vector has no matrix powers: tanh(C)^2 is the entrywise square
        if exponent.is_Integer and 2 <= exponent <= 8:
            return sp.HadamardProduct(*([base] * int(exponent)))
        raise Unreadable("a power of a vector must be a small entrywise power such as ^2", pos)
    if isinstance(base, sp.MatrixExpr):
        return sp.MatPow(base, exponent)
    return sp.Pow(base, exponent)


def _font_name(node: Node) -> str | None:
    """The word of \\mathrm{tr}, \\text{det} (an upright name in a font), else None."""
    if node.rule == "font" and node.args[0] in ("mathrm", "text", "operatorname") and node.args[1].rule == "name":
        return bare(node.args[1].args[0])
    return None


def _scales_placed(factors: list[sp.Basic]) -> list[sp.Basic]:
    """A 1×1 quantity written where its neighbours do not fit it (α tanh(W x), α the course's "real"): a
    scale, placed where a 1×1 factor fits (``scaled``).  A product that fits as written is kept."""
    mats = [f for f in factors if isinstance(f, sp.MatrixExpr)]
    if len(mats) < 2 or any(FREE in dims(m) for m in mats):
        return factors
    fits = all(sp.expand(a.cols - b.rows) == 0 for a, b in zip(mats, mats[1:], strict=False))
    if fits or not any(m.shape == (1, 1) for m in mats):
        return factors
    scales = [m for m in mats if m.shape == (1, 1)]
    rest = [f for f in factors if not (isinstance(f, sp.MatrixExpr) and f.shape == (1, 1))]
    body_mats = [f for f in rest if isinstance(f, sp.MatrixExpr)]
    if not all(sp.expand(a.cols - b.rows) == 0 for a, b in zip(body_mats, body_mats[1:], strict=False)):
        return factors  # a mismatch of its own: said as such
    numbers = [f for f in rest if not isinstance(f, sp.MatrixExpr)]
    body = sp.MatMul(*body_mats) if len(body_mats) > 1 else body_mats[0]
    for s in scales:
        body = scaled(body, s)
    return [*numbers, body]


class Resolver:
    """Turns a syntax tree into SymPy for one problem."""

    def __init__(self, table: SymbolTable, *, setup: bool = False) -> None:
        """``setup``: a line of a derivation, which may name the setup's own quantities (h_2 of an
        unrolled recurrence, L), read through the setup's equations."""
        self.env = _Env(table)
        self.setup = setup

    def unknown(self) -> dict[str, int]:
        return dict(self.env.unknown)

    def __call__(self, node: Node) -> sp.Basic:
        if not self.setup or not self.env.table.quantities:
            return self.expr(node)
        named = set(self.env.table.by_key.values())
        extra = {k: v for k, v in self.env.table.quantities.items() if k not in self.env.table.by_key}
        self.env.bound.update(extra)
        value = self.expr(node)
        for k in extra:
            self.env.bound.pop(k, None)
        return self._in_inputs(value, named)

    def _in_inputs(self, value: sp.Basic, named: set[sp.Basic]) -> sp.Basic:
        """The setup's own quantities in terms of what a point draws (the item's symbols keep theirs)."""
        chain = self.env.table.chain
        inner = {q: e for q, e in chain.equations.items() if q not in named} if chain is not None else {}
        if not inner:
            return value
        from derivations.core import substitute_definitions

        return substitute_definitions(value, inner)

    def expr(self, node: Node) -> sp.Basic:
        env = self.env
        if node.rule == "index":
            node = self._bracket(node)
        found = _lookup(node, env)
        if found is not None:
            return found
        method = getattr(self, f"_{node.rule}", None)
        if method is None:
            raise Unreadable(f"{node.rule} is not allowed here", node.pos)
        return method(node)

    # names ----------------------------------------------------------------------------
    def _name(self, node: Node) -> sp.Basic:
        raw = node.args[0]
        word = bare(raw)
        if word == "I" and self.env.table.has_matrices:
            return sp.Identity(FREE)
        if word in CONSTANTS:
            return CONSTANTS[word]
        if word in SPELLINGS or word in BIG_OPERATORS:
            raise Unreadable(f"{raw} needs an argument", node.pos)
        if not raw.startswith("\\"):
            split = self._split(word)
            if split is not None:
                return sp.Mul(*split)
        self.env.unknown.setdefault(raw, node.pos)
        return sp.Symbol(f"?{raw}")

    def _split(self, word: str) -> list[sp.Basic] | None:
        """``wu1`` → w·u_1 when every piece is a symbol of the problem (LaTeX-style juxtaposition)."""
        if len(word) < 2:
            return None
        for cut in range(len(word) - 1, 0, -1):
            head, tail = word[:cut], word[cut:]
            first = _lookup(Node("name", (head,)), self.env)
            if first is None:
                continue
            rest = _lookup(Node("name", (tail,)), self.env)
            if rest is not None:
                return [first, rest]
            deeper = self._split(tail)
            if deeper is not None:
                return [first, *deeper]
        return None

    def _sub(self, node: Node) -> sp.Basic:
        base, sub = node.args
        if base.rule in ("norm", "bars") and key(sub) in ("F", "2"):  # ‖D‖_F, ‖v‖_2: the norm itself
            return self._norm(base)
        obj = _lookup(base, self.env)
        if isinstance(obj, sp.IndexedBase):
            indices = sub.args if sub.rule == "tuple" else (sub,)
            takes = self.env.table.arity.get(obj)
            if takes is not None and takes != len(indices):
                count = f"{len(indices)} index" if len(indices) == 1 else f"{len(indices)} indices"
                label = f"{key(base)}[…] with {count} ({key(base)} takes {takes})"
                self.env.unknown.setdefault(label, node.pos)
                return sp.Symbol(f"?{label}")
            return obj[tuple(self.expr(i) for i in indices)]
        if base.rule == "name" and bare(base.args[0]) == "delta" and obj is None:
            return self._kronecker(sub, node.pos)
        if base.rule == "name" and base.args[0] == "I" and obj is None and self.env.table.has_matrices:
            size = self.expr(sub)  # I_m: the identity of that size
            if not isinstance(size, sp.MatrixExpr) and size.free_symbols <= set(self.env.table.by_key.values()):
                return sp.Identity(size)
        if isinstance(obj, SequenceElement):
            return SequenceElement(obj.name, self.expr(sub), *obj.shape)
        if _big_head(node, self.env):
            raise Unreadable("a sum or product needs a body", node.pos)
        juxtaposed = self._juxtaposed(node)
        if juxtaposed is not None:
            return juxtaposed
        if sub.rule == "name" and isinstance(self.env.bound.get(key(sub) or ""), sp.Integer):
            # a_i with i bound to a number (a sum written out): the symbol a_1
            numbered = _lookup(
                Node("sub", (base, Node("num", (str(self.env.bound[key(sub)]),), sub.pos)), node.pos), self.env
            )
            if numbered is not None:
                return numbered
        label = key(node) or f"{key(base)}_…"
        self.env.unknown.setdefault(label, node.pos)
        return sp.Symbol(f"?{label}")

    def _bracket(self, node: Node) -> Node:
        """``x[…]`` is an index where x takes one (u[1], h[t-1], W[1, c, k], E[g], ∂ℓ/∂f_W(x)[r]), else a
        bracket around a factor, as in W_2^T[X − W_2 W_1 X] or 2[ŷ − y]."""
        base, inner = node.args
        if base.rule == "index" and self._indexable(base):  # x[i][c] is x[i, c]
            indices = [inner]
            while base.rule == "index":
                base, first = base.args
                indices.insert(0, first)
            return Node("sub", (base, Node("tuple", tuple(indices), indices[0].pos)), node.pos)
        as_sub = Node("sub", (base, inner), node.pos)
        if self._indexable(base) or _lookup(as_sub, self.env) is not None or inner.rule == "tuple":
            return as_sub
        if base.rule == "name" and len(base.args[0]) > 1 and not base.args[0].startswith("\\"):
            # wu[2]: w·u[2] when the last letter takes the index
            last = Node("name", (base.args[0][-1],), base.pos)
            if self._indexable(last) or _lookup(Node("sub", (last, inner), node.pos), self.env) is not None:
                return as_sub
        if base.rule == "name" and bare(base.args[0]) in ("delta", "KroneckerDelta"):
            return as_sub
        return Node("mul", (base, Node("paren", (inner,), inner.pos)), node.pos)

    def _indexable(self, base: Node) -> bool:
        found = _lookup(base, self.env)
        if isinstance(found, (sp.IndexedBase, SequenceElement)):
            return True
        if base.rule == "index":  # x[i][c]: an index of an index
            return self._indexable(base.args[0])
        if base.rule == "div" and base.args[0].rule == "partial":  # ∂ℓ/∂h[t]: the sequence at t
            return True
        return False

    def _juxtaposed(self, node: Node, power: Node | None = None) -> sp.Basic | None:
        """LaTeX juxtaposition: ``wu_2`` is w·u_2 and ``XX^T`` is X·Xᵀ (a script binds to the last
        letter of a run of letters that is no symbol itself)."""
        base = node.args[0]
        if node.rule == "pow" and base.rule == "sub" and base.args[0].rule == "name":
            # DV_4^T: the subscript and then the transpose bind to V (D V_4ᵀ)
            inner = self._juxtaposed(Node("sub", base.args, base.pos), power=node.args[1])
            if inner is not None:
                return inner
        if base.rule != "name" or base.args[0].startswith("\\") or len(base.args[0]) < 2:
            return None
        word = base.args[0]
        if _lookup(base, self.env) is not None or word in SPELLINGS or word in CONSTANTS or word in BIG_OPERATORS:
            return None
        m = re.match(r"^(.*?)([A-Za-z][0-9]*)$", word)
        if m is None or not m.group(1):
            return None
        head_word, last = m.groups()
        head = _lookup(Node("name", (head_word,)), self.env)
        head_parts = [head] if head is not None else self._split(head_word)
        if head_parts is None:
            return None
        tail_node = Node(node.rule, (Node("name", (last,), base.pos), *node.args[1:]), node.pos)
        if power is not None:
            tail_node = Node("pow", (tail_node, power), node.pos)
        return self._product([*head_parts, self.expr(tail_node)], node.pos)

    def _product(self, out: list[sp.Basic], pos: int) -> sp.Basic:
        out = fit_product(out, pos)
        out = _scales_placed(out)
        if any(isinstance(f, sp.MatrixExpr) for f in out) and len(out) > 1:
            # MatMul without doit: SymPy's doit asks the assumptions system about every diag(…)
            return sp.MatMul(*out)
        product = out[0]
        for factor in out[1:]:
            product = product * factor
        return product

    def _kronecker(self, sub: Node, pos: int) -> sp.Basic:
        """δ_{ij}, δ_{i,j}, δ_{n, 2r+k}: 1 where the two indices are equal."""
        if sub.rule == "tuple" and len(sub.args) == 2:
            a, b = sub.args
        elif sub.rule == "mul" and len(sub.args) == 2:
            a, b = sub.args
        elif sub.rule == "name" and len(sub.args[0]) == 2 and sub.args[0].isalpha():
            a, b = (Node("name", (ch,), sub.pos) for ch in sub.args[0])
        else:
            raise Unreadable("write a Kronecker delta with two indices: \\delta_{ij} or \\delta_{i,j}", pos)
        return sp.KroneckerDelta(self.expr(a), self.expr(b))

    def _attr(self, node: Node) -> sp.Basic:
        label = key(node) or node.args[1]
        self.env.unknown.setdefault(label, node.pos)
        return sp.Symbol(f"?{label}")

    def _accent(self, node: Node) -> sp.Basic:
        label = key(node) or node.args[0]
        self.env.unknown.setdefault(label, node.pos)
        return sp.Symbol(f"?{label}")

    def _font(self, node: Node) -> sp.Basic:
        font, inner = node.args
        if font == "mathbb" and inner.rule == "num" and inner.args[0] == "1":
            # the ones vector where there are matrices (1 − h ⊙ h); else the indicator's 1
            return sp.OneMatrix(FREE, 1) if self.env.table.has_matrices else sp.Integer(1)
        if font == "mathbb" and key(inner) == "I" and self.env.table.has_matrices:
            return sp.Identity(FREE)
        if font in ("mathbf", "boldsymbol", "bm") and inner.rule == "num" and self.env.table.has_matrices:
            if inner.args[0] == "1":
                return sp.OneMatrix(FREE, 1)  # the ones vector
            if inner.args[0] == "0":
                return sp.ZeroMatrix(FREE, 1)
        if font in ("mathbb", "mathcal"):
            raise Unreadable(f"\\{font}{{…}} has no meaning here", node.pos)
        return self.expr(inner)

    def _paren(self, node: Node) -> sp.Basic:
        return self.expr(node.args[0])

    def _num(self, node: Node) -> sp.Basic:
        return _number(node.args[0], node.pos)

    # arithmetic -----------------------------------------------------------------------
    def _add(self, node: Node) -> sp.Basic:
        parts = [self.expr(a) for a in node.args]
        matrices = [p for p in parts if isinstance(p, sp.MatrixExpr)]
        if not matrices:
            return sp.Add(*parts)
        shape = common_shape(matrices, node.pos)
        fitted = []
        for p in parts:
            if not isinstance(p, sp.MatrixExpr):
                p = p * sp.OneMatrix(*shape)  # 1 − h ⊙ h: a scalar is added to every entry
            elif FREE in dims(p):
                p = fit(p, shape[0], shape[1])
            fitted.append(p)
        return sp.MatAdd(*fitted) if len(fitted) > 1 else fitted[0]

    def _neg(self, node: Node) -> sp.Basic:
        return -self.expr(node.args[0])

    def _div(self, node: Node) -> sp.Basic:
        top, bottom = node.args
        if bottom.rule == "partial" and top.rule in ("mul", "hadamard") and top.args[-1].rule == "partial":
            # a ⊙ ∂ℓ/∂h[t] written inline parses as (a ⊙ ∂ℓ)/∂h[t]: the derivative is the last factor's
            last = Node("div", (top.args[-1], bottom), top.args[-1].pos)
            return self.expr(Node(top.rule, (*top.args[:-1], last), top.pos))
        total = False
        if _d_name(top) and _d_name(bottom) and _lookup(top, self.env) is None and _lookup(bottom, self.env) is None:
            # \frac{dy}{dw}, \frac{d\ell}{dh_t}: d-names as the derivative symbol dy/dw (a total derivative)
            parts = tuple(Node("partial", (_strip_d(n),), n.pos) for n in (top, bottom))
            node, total = Node("div", parts, node.pos), True
            top, bottom = parts
            found = _lookup(node, self.env)
            if found is not None:
                return found
        if top.rule == "partial" and bottom.rule == "partial" and bottom.args[0].rule in ("sub", "index"):
            # ∂ℓ/∂h[t], ∂ℓ/∂h_{t-1}: the sequence spelled ∂ℓ/∂h, at that index
            variable, index = bottom.args[0].args
            spelled = Node("div", (top, Node("partial", (variable,), bottom.pos)), node.pos)
            if _lookup(spelled, self.env) is not None:
                return self._sub(Node("sub", (spelled, index), node.pos))
        if top.rule == "partial" and bottom.rule == "partial":
            return self._derivative(node, total=total)
        num, den = (self.expr(a) for a in node.args)
        if den == 0:
            raise Unreadable("division by zero", node.pos)
        return self._divided(num, den, node.pos)

    def _divided(self, num: sp.Basic, den: sp.Basic, pos: int) -> sp.Basic:
        """num / den: by a number or a scalar; by a 1×1 quantity (softmax's exp(z) / 1ᵀexp(z)), a scale by
        its inverse; by a matrix of num's shape (a ⊘ b, g / x), entry by entry."""
        if not isinstance(den, sp.MatrixExpr):
            return num / den
        if FREE in dims(den):
            raise Unreadable("the size of what divides here cannot be inferred", pos)
        if den.shape == (1, 1):
            inverse = sp.Inverse(den)
            if not isinstance(num, sp.MatrixExpr):
                return sp.MatMul(num, inverse) if num != 1 else inverse
            return scaled(num, inverse)
        if not isinstance(num, sp.MatrixExpr):
            reciprocal = sp.HadamardPower(den, -1)
            return reciprocal if num == 1 else num * reciprocal
        if FREE in dims(num):
            num = fit(num, *den.shape)
        if any(sp.expand(a - b) != 0 for a, b in zip(num.shape, den.shape, strict=True)):
            raise Unreadable("division by a matrix is entry by entry, of two matrices of one shape; use ^{-1}", pos)
        return sp.HadamardProduct(num, sp.HadamardPower(den, -1))

    def _hadamard_div(self, node: Node) -> sp.Basic:  # a ⊘ b
        num, den = (self.expr(a) for a in node.args)
        return self._divided(num, den, node.pos)

    def _derivative(self, node: Node, total: bool = False) -> sp.Basic:
        """∂a/∂b of the setup's quantities (answers-format.md): the item's own symbol for it (g, J),
        the asked quantity, or the Jacobian the setup's chain rule gives (derivations.chain)."""
        table = self.env.table
        text = unicode_symbol(node)
        k = key(node)
        if k is not None and k in table.asked:
            value = table.asked[k]
            self._read(text, value, asked=True)
            return value
        a, b = (self._quantity(part.args[0]) for part in node.args)
        if a is None or b is None:
            missing = node.args[0 if a is None else 1].args[0]
            label = f"{text} ({key(missing) or 'a quantity'} is not a quantity of the setup)"
            self.env.unknown.setdefault(label, node.pos)
            return sp.Symbol(f"?{label}")
        chain = table.chain
        if chain is None:
            reason = f"{text}: this item's setup records no chain rule to read derivative symbols"
            raise NotJudged(reason, node.pos)
        from derivations.chain import Unsupported

        try:
            value = chain.derivative(a, b, total=total)
        except (Unsupported, NotImplementedError, TypeError) as exc:
            raise NotJudged(f"{text} cannot be evaluated here ({exc})", node.pos) from None
        # the setup's own quantities (h_2 of an unrolled recurrence) in terms of what the point draws;
        # the item's symbols keep their drawn values
        value = self._in_inputs(value, set(table.by_key.values()))
        named = set(table.by_key.values())
        same_sequence = isinstance(value, SequenceElement) and any(
            isinstance(v, SequenceElement) and v.name == value.name and v.shape == value.shape for v in named
        )
        if value in named or same_sequence:
            # the item's own symbol for it (J = dh_T/dh_{T−1}, g = ∂L/∂h_T, g_j at any step j): the same quantity
            return value
        asked = any(value == v for v in table.asked.values())
        mark = "d" if total else "∂"
        self._read(f"{mark}{unicode(a)}/{mark}{unicode(b)}", value, asked=asked)
        return value

    def _read(self, text: str, value: sp.Basic, *, asked: bool) -> None:
        shape = tuple(value.shape) if isinstance(value, sp.MatrixExpr) else None
        self.env.derivatives.append(DerivativeReading(text, shape, asked, False, value))

    def _quantity(self, node: Node) -> sp.Basic | None:
        """A quantity inside a derivative symbol: a symbol of the item or a name of its setup (L)."""
        saved = dict(self.env.bound)
        self.env.bound.update(self.env.table.quantities)
        unknown = dict(self.env.unknown)
        try:
            value = self.expr(node)
        except Unreadable:
            value = None
        finally:
            self.env.bound = saved
        invented = isinstance(value, sp.Symbol) and value.name.startswith("?")
        if len(self.env.unknown) != len(unknown) or value is None or invented:
            self.env.unknown = unknown
            return None
        return value

    def _sqrt(self, node: Node) -> sp.Basic:
        value = self.expr(node.args[0])
        if isinstance(value, sp.MatrixExpr):  # \sqrt{x^T x}, \sqrt{v}: entry by entry, as sqrt(v) is
            if FREE in dims(value):
                raise Unreadable("the size of this vector cannot be inferred", node.pos)
            return Elementwise("sqrt", value)
        return sp.sqrt(value)

    def _squared_norm(self, inner: Node, pos: int) -> sp.Basic:
        value = self.expr(inner)
        if not isinstance(value, sp.MatrixExpr):
            return value**2
        rows, cols = value.shape
        return sp.MatMul(sp.OneMatrix(1, rows), sp.HadamardProduct(value, value), sp.OneMatrix(cols, 1))

    def _norm(self, node: Node) -> sp.Basic:
        value = self.expr(node.args[0])
        if not isinstance(value, sp.MatrixExpr):
            return sp.Abs(value)
        return sp.MatPow(self._squared_norm(node.args[0], node.pos), sp.S.Half)

    def _bars(self, node: Node) -> sp.Basic:
        """|x|: the absolute value of a scalar, the determinant of a square matrix (the Cookbook's |X|, as
        SymPy's LaTeX printer writes det), else the norm."""
        value = self.expr(node.args[0])
        if isinstance(value, sp.MatrixExpr) and value.shape != (1, 1) and FREE not in dims(value):
            if sp.expand(value.rows - value.cols) == 0 and 1 not in value.shape:
                return sp.Determinant(value)
        return self._norm(node)

    def _floor(self, node: Node) -> sp.Basic:
        return sp.floor(self.expr(node.args[0]))

    def _ceil(self, node: Node) -> sp.Basic:
        return sp.ceiling(self.expr(node.args[0]))

    def _hadamard(self, node: Node) -> sp.Basic:
        parts = [self.expr(a) for a in node.args]
        matrices = [p for p in parts if isinstance(p, sp.MatrixExpr)]
        if not matrices:
            return sp.Mul(*parts)
        if any(FREE in dims(p) for p in matrices):  # c ⊙ 1: the ones vector takes c's shape
            shape = common_shape(matrices, node.pos)
            matrices = [fit(p, *shape) if FREE in dims(p) else p for p in matrices]
        scale = sp.Mul(*(p for p in parts if not isinstance(p, sp.MatrixExpr)))
        product = sp.HadamardProduct(*matrices) if len(matrices) > 1 else matrices[0]
        return product if scale == 1 else scale * product

    def _transpose(self, node: Node) -> sp.Basic:
        inner = self.expr(node.args[0])
        if inner == 1 and node.args[0].rule == "num" and self.env.table.has_matrices:
            return sp.OneMatrix(1, FREE)  # 1ᵀ: the ones row, as the Unicode printer writes it
        return inner.T if isinstance(inner, sp.MatrixExpr) else inner

    def _prime(self, node: Node) -> sp.Basic:
        inner = self.expr(node.args[0])
        if isinstance(inner, sp.MatrixExpr):
            return inner.T
        raise Unreadable("a prime (') may follow σ, tanh or a matrix (transpose) only", node.pos)

    def _pow(self, node: Node) -> sp.Basic:
        base_node, sup = node.args
        if base_node.rule == "index" and self._bracket(base_node).rule == "mul":
            # U_k[I − λΛ_k^{-1}]^{1/2}: the power belongs to the bracket, as TeX sets it
            factor, grouped = self._bracket(base_node).args
            return self.expr(Node("mul", (factor, Node("pow", (grouped, sup), node.pos)), node.pos))
        if sup.rule == "index" and not self._indexable(sup.args[0]):
            # W_2^T[X − W_2 W_1 X]: TeX sets the bracket after the superscript, a factor of its own
            grouped = Node("paren", (sup.args[1],), sup.args[1].pos)
            return self.expr(Node("mul", (Node("pow", (base_node, sup.args[0]), node.pos), grouped), node.pos))
        return self._power(node)

    def _power(self, node: Node) -> sp.Basic:
        base_node, sup = node.args
        if key(sup) == "prime":  # x^{\prime}, \sigma^\prime: TeX's own spelling of x'
            return self.expr(Node("prime", (base_node,), node.pos))
        found = _lookup(base_node, self.env)
        if sup.rule == "paren" and isinstance(found, (sp.IndexedBase, SequenceElement)):
            return self.expr(Node("sub", (base_node, sup.args[0]), node.pos))  # u^{(t)}: the time index
        return self._power_of(node)

    def _power_of(self, node: Node) -> sp.Basic:
        """A power, or a transpose.  On a matrix, ``^T``, ``^{T}``, ``^\\top``, ``^\\intercal`` are
        transposes even where T is also a symbol (a sequence length): a matrix power by T is
        written ``^{(T)}``, and ``^{T-t}`` is a power.  On a scalar, ``^T`` is the power."""
        base_node, sup = node.args
        if base_node.rule == "name" and bare(base_node.args[0]) == "e" and _lookup(base_node, self.env) is None:
            exponent = self.expr(sup)  # e^{V} of a matrix is exp applied entry by entry, as exp(V) is
            return self._apply("exp", sup) if isinstance(exponent, sp.MatrixExpr) else sp.exp(exponent)
        normed = (
            base_node.args[0] if base_node.rule == "sub" and base_node.args[0].rule in ("norm", "bars") else base_node
        )
        if normed.rule in ("norm", "bars") and sup.rule == "num" and sup.args[0] == "2":  # ‖D‖², without the root
            if normed.rule == "norm" or not isinstance(self._bars(normed), sp.Determinant):
                return self._squared_norm(normed.args[0], node.pos)
        labelled = self._labelled_transpose(base_node, sup)
        if labelled is not None:
            return labelled
        juxtaposed = self._juxtaposed(node)
        if juxtaposed is not None:
            return juxtaposed
        base = self.expr(base_node)
        if isinstance(base, sp.MatrixExpr) and sup.rule != "paren" and key(sup) in TRANSPOSE_MARKS:
            return base.T
        if base == 1 and base_node.rule == "num" and key(sup) in TRANSPOSE_MARKS and self.env.table.has_matrices:
            return sp.OneMatrix(1, FREE)  # 1^T: the ones row
        if isinstance(base, sp.MatrixExpr) and sup.rule == "neg" and key(sup.args[0]) in TRANSPOSE_MARKS:
            return sp.Inverse(base).T  # the Cookbook's X^{-T}, the inverse transposed
        return _pow(base, self.expr(sup), node.pos)

    def _raise(self, value: sp.Basic, sup: Node, pos: int) -> sp.Basic:
        """A function's value to a power written after it or on its name: ``σ(V)^⊤`` and
        ``diag(f)^T`` are transposes; ``tanh^2(x)`` and ``σ(X)^2`` are entrywise
        squares of a matrix (a function's power is never a matrix power)."""
        if isinstance(value, sp.MatrixExpr) and sup.rule != "paren" and key(sup) in TRANSPOSE_MARKS:
            return value.T
        exponent = self.expr(sup)
        if isinstance(value, sp.MatrixExpr) and value.shape != (1, 1):
            return self._hadamard_power(value, exponent, pos)
        return _pow(value, exponent, pos)

    def _labelled_transpose(self, base_node: Node, sup: Node) -> sp.Basic | None:
        """``W^{h\\top}``, ``W^{hT}``, ``W^{h T}``: the transpose of the matrix W^h."""
        if sup.rule == "mul" and len(sup.args) >= 2 and key(sup.args[-1]) in TRANSPOSE_MARKS:
            label = Node("mul", sup.args[:-1]) if len(sup.args) > 2 else sup.args[0]
        elif sup.rule == "name" and not sup.args[0].startswith("\\") and len(sup.args[0]) > 1:
            word = sup.args[0]
            if not word.endswith("T") or _lookup(sup, self.env) is not None:
                return None
            label = Node("name", (word[:-1],), sup.pos)
        else:
            return None
        found = _lookup(Node("pow", (base_node, label)), self.env)
        return found.T if isinstance(found, sp.MatrixExpr) else None

    def _hadamard_pow(self, node: Node) -> sp.Basic:
        return self._hadamard_power(self.expr(node.args[0]), self.expr(node.args[1]), node.pos)

    def _hadamard_power(self, base: sp.Basic, exp: sp.Basic, pos: int) -> sp.Basic:
        if not isinstance(base, sp.MatrixExpr):
            return _pow(base, exp, pos)
        if exp.is_Integer and 1 <= exp <= 8:
            return sp.HadamardProduct(*([base] * int(exp))) if exp > 1 else base
        if exp.is_Rational and -8 <= exp <= 8 and exp != 0 and (2 * exp).is_Integer:
            # the entrywise reciprocal (x^{∘-1}, as a derivative of log(x) is printed), -2, ±1/2 (sqrt)
            return sp.HadamardPower(base, exp)
        raise Unreadable("an elementwise power must be a whole number or a half between -8 and 8", pos)

    def _indicator(self, node: Node) -> sp.Basic:
        rel = node.args[0]
        parts = rel.args
        first = self.expr(parts[0])
        last = self.expr(parts[2]) if len(parts) == 3 else None
        if isinstance(first, sp.MatrixExpr) or isinstance(last, sp.MatrixExpr):
            # step(X) = 1[X > 0], so X < 0 is step(−X) and X ≤ 0 is 1 − step(X), exactly (a ReLU net's X has
            # entries that are exactly 0); X ≥ 0 stays step(X), ReLU's derivative as it was always read
            if len(parts) != 3 or parts[1] not in (">", ">=", "<", "<=") or 0 not in (first, last):
                raise Unreadable("for a matrix, write the indicator as 1[X > 0] or 1[X < 0]", node.pos)
            flip = {">": "<", ">=": "<=", "<": ">", "<=": ">="}
            matrix, rel = (first, parts[1]) if last == 0 else (last, flip[parts[1]])
            if rel == "<":
                return Elementwise("step", -matrix)
            if rel == "<=":
                return sp.MatAdd(sp.OneMatrix(*matrix.shape), -Elementwise("step", matrix))
            return Elementwise("step", matrix)
        return sp.Piecewise((1, self._condition(rel)), (0, True))

    def _percent(self, node: Node) -> sp.Basic:
        return self.expr(node.args[0]) / 100

    def _cases(self, node: Node) -> sp.Basic:
        """``\\begin{cases} a & x > 0 \\\\ b & \\text{otherwise} \\end{cases}``: a piecewise value; with a
        matrix condition (V > 0) it holds entry by entry, a ⊙ 1[V > 0] + b ⊙ (1 − 1[V > 0])."""
        rows = [(self.expr(value), cond) for value, cond in (row.args for row in node.args)]
        matrix_rows = [cond for _, cond in rows if cond.rule == "relation"]
        conditions = [self._indicator(Node("indicator", (cond,), cond.pos)) for cond in matrix_rows]
        if not any(isinstance(c, sp.MatrixExpr) for c in conditions):
            pieces = []
            for value, cond in rows:
                if isinstance(value, sp.MatrixExpr):
                    raise Unreadable("a matrix case needs a matrix condition such as V > 0", cond.pos)
                truth = sp.true if cond.rule == "otherwise" else self._condition(cond)
                pieces.append((value, truth))
            return sp.Piecewise(*pieces)
        masks = iter(conditions)
        terms, taken = [], []
        for value, cond in rows:
            mask = next(masks) if cond.rule == "relation" else None
            if mask is not None and not isinstance(mask, sp.MatrixExpr):
                raise Unreadable("the conditions of a matrix case must all be entrywise (V > 0)", cond.pos)
            if mask is None:
                mask = sp.MatAdd(sp.OneMatrix(*taken[0].shape), *(-t for t in taken))
            taken.append(mask)
            if isinstance(value, sp.MatrixExpr):
                if FREE in dims(value):
                    value = fit(value, *mask.shape)
                terms.append(sp.HadamardProduct(value, mask))
            elif value != 0:
                terms.append(value * mask)
        return sp.MatAdd(*terms) if terms else sp.ZeroMatrix(*taken[0].shape)

    def _condition(self, rel: Node) -> sp.Basic:
        ops = {"<": sp.Lt, "<=": sp.Le, ">": sp.Gt, ">=": sp.Ge, "==": sp.Eq, "!=": sp.Ne}
        parts = rel.args
        conds, left = [], self.expr(parts[0])
        for k in range(1, len(parts), 2):
            right = self.expr(parts[k + 1])
            conds.append(ops[parts[k]](left, right))
            left = right
        return sp.And(*conds)

    def _tuple(self, node: Node) -> sp.Basic:
        raise Unreadable("a list of values (a, b, …) is only allowed as the arguments of sum or prod", node.pos)

    def _partial(self, node: Node) -> sp.Basic:
        raise Unreadable("∂ is only allowed in a derivative symbol such as \\frac{\\partial y}{\\partial p}", node.pos)

    def derivatives(self) -> list[DerivativeReading]:
        return list(self.env.derivatives)

    def _binding(self, node: Node) -> sp.Basic:
        raise Unreadable("'=' is only allowed in the limits of a sum or product", node.pos)

    # products, functions and big operators ---------------------------------------------
    def _mul(self, node: Node) -> sp.Basic:
        factors = list(node.args)
        out: list[sp.Basic] = []
        k = 0
        while k < len(factors):
            f = factors[k]
            bare_f, negated = f, 0
            while bare_f.rule == "neg":
                bare_f, negated = bare_f.args[0], negated + 1
            if (
                bare_f.rule == "font"
                and (key(bare_f) in ("mathbb{1}", "mathbb{I}") or key(bare_f) == "1")
                and k + 1 < len(factors)
                and factors[k + 1].rule == "indicator"
            ):
                # \mathbb{1}[A > 0]: the bracket alone is the indicator; -\mathbb{1}[…] negates it
                if negated % 2:
                    out.append(sp.Integer(-1))
                k += 1
                continue
            sign = 1
            inner = f
            while inner.rule == "neg":  # -\sum_t …, -\tanh(x): the minus applies to the whole
                sign, inner = -sign, inner.args[0]
            if inner is not f and (_big_head(inner, self.env) or self._call_head(inner)):
                out.append(sp.Integer(sign))
                f = inner
            head = _big_head(f, self.env)
            if head is not None:
                out.append(self._big(head, factors[k + 1 :], f.pos))
                break
            if k + 1 < len(factors) and _lookup(f, self.env) is None and f.rule in ("name", "font"):
                inner = factors[k + 1].args[0] if factors[k + 1].rule == "paren" else factors[k + 1]
                spelled = _lookup(Node("sub", (f, inner), f.pos), self.env)
                if spelled is not None:  # \mathbb{E}(g), \mathbb{E}\left[g\right]: the symbol E[g]
                    out.append(spelled)
                    k += 2
                    continue
            if k + 1 < len(factors) and (applied := self._named_call(f, factors[k + 1])) is not None:
                out.append(applied)
                k += 2
                continue
            fn = _is_function(f, self.env)
            power = None
            if fn is None and f.rule == "pow":
                fn = _is_function(f.args[0], self.env)
                power = f.args[1] if fn else None
                row = SPELLINGS.get(fn) if fn else None
                if row is not None and row.inverse and key(power) == "-1":
                    fn, power = row.inverse, None  # \tanh^{-1}(x) is artanh(x), as the notation means it
                elif row is not None and row.derivative and key(power) == "prime":
                    fn, power = f"{fn}'", None  # \sigma^\prime(z) is σ'(z)
            if fn is not None:
                if k + 1 >= len(factors):
                    raise Unreadable(f"{fn} needs an argument", f.pos)
                arg = factors[k + 1]
                taken = 2
                while self._call_head(arg) and k + taken < len(factors):  # \log \det(X): a call is the argument
                    arg = Node("mul", (arg, factors[k + taken]), arg.pos)
                    taken += 1
                if arg.rule == "pow" and arg.args[0].rule == "paren" and power is None:
                    # \sigma(z)^2 is (σ(z))², while \sin x^2 is sin(x²)
                    arg, power = arg.args
                value = self._apply(fn, arg)
                out.append(self._raise(value, power, f.pos) if power is not None else value)
                k += taken
                continue
            indicator = k + 1 < len(factors) and factors[k + 1].rule == "indicator"  # 1[W x > 0]
            if f.rule == "num" and f.args[0] == "1" and out and isinstance(out[-1], sp.MatrixExpr) and not indicator:
                out.append(sp.OneMatrix(FREE, 1))  # A 1 after a matrix: the ones vector (1ᵀ (M ⊙ M) 1, as printed)
            else:
                out.append(self.expr(f))
            k += 1
        return self._product(out, node.pos)

    def _named_call(self, f: Node, arg_node: Node) -> sp.Basic | None:
        """Calls the homework's documents write that are no elementwise function: a logarithm to a
        base (``\\log_2 x``, ``\\log_e x``: log x / log b), ``transpose(W)`` and ``delta(i, j)``."""
        if f.rule == "sub" and f.args[0].rule == "name" and bare(f.args[0].args[0]) in ("log", "ln"):
            if _lookup(f, self.env) is not None:
                return None
            base = self.expr(f.args[1])
            if isinstance(base, sp.MatrixExpr):
                raise Unreadable("the base of a logarithm is a number", f.args[1].pos)
            value = self._apply("log", arg_node)
            return value if base == sp.E else value / sp.log(base)
        if _font_name(f) in MATRIX_SCALARS and _lookup(f, self.env) is None:  # \mathrm{tr}(X), \mathrm{det} X
            return self._matrix_scalar(_font_name(f), arg_node)
        if f.rule != "name" or _lookup(f, self.env) is not None:
            return None
        word = bare(f.args[0])
        if word in MATRIX_SCALARS:
            return self._matrix_scalar(word, arg_node)
        if word == "transpose":
            inner = self.expr(arg_node.args[0] if arg_node.rule == "paren" else arg_node)
            return inner.T if isinstance(inner, sp.MatrixExpr) else inner
        if word in ("max", "min") and arg_node.rule == "pow" and arg_node.args[0].rule == "tuple":
            value = self._named_call(f, arg_node.args[0])  # \max(0, V)^\top
            return None if value is None else self._raise(value, arg_node.args[1], arg_node.pos)
        if word in ("max", "min") and arg_node.rule == "tuple" and len(arg_node.args) == 2:
            a, b = (self.expr(x) for x in arg_node.args)
            matrices = [v for v in (a, b) if isinstance(v, sp.MatrixExpr)]
            if not matrices:
                return sp.Max(a, b) if word == "max" else sp.Min(a, b)
            other = b if a in matrices else a
            if len(matrices) == 1 and other == 0:  # max(0, V) is ReLU entry by entry; min(0, V) = −ReLU(−V)
                v = matrices[0]
                return Elementwise("relu", v) if word == "max" else -Elementwise("relu", -v)
            raise Unreadable(f"{word} of matrices is read entry by entry against 0 only: {word}(0, V)", arg_node.pos)
        if word in ("delta", "KroneckerDelta") and arg_node.rule == "tuple" and len(arg_node.args) == 2:
            a, b = (self.expr(x) for x in arg_node.args)
            return sp.KroneckerDelta(a, b)
        return None

    def _matrix_scalar(self, word: str, arg_node: Node) -> sp.Basic | None:
        """tr(M), det(M) (the Matrix Cookbook's \\operatorname{tr}, \\det, and SymPy's printed Trace(…),
        Determinant(…)) of a square matrix: a scalar.  Anything else is not this call (None): a
        problem with symbols t and r may mean the product t r."""
        if arg_node.rule == "pow" and arg_node.args[0].rule == "paren":  # \det(X)^2 is (det X)², as σ(z)^2
            value = self._matrix_scalar(word, arg_node.args[0])
            return None if value is None else _pow(value, self.expr(arg_node.args[1]), arg_node.pos)
        saved = dict(self.env.unknown)
        try:
            arg = self.expr(arg_node.args[0] if arg_node.rule == "paren" else arg_node)
        except Unreadable:
            self.env.unknown = saved
            return None
        if not isinstance(arg, sp.MatrixExpr) or FREE in dims(arg) or sp.expand(arg.rows - arg.cols) != 0:
            self.env.unknown = saved
            return None
        if MATRIX_SCALARS[word] is sp.Determinant and arg.shape == (1, 1):
            return sp.Trace(arg)  # the determinant of a 1×1 quantity is its entry
        return MATRIX_SCALARS[word](arg)

    def _call_head(self, node: Node) -> bool:
        """Whether a factor is a function name waiting for its argument (\\log \\det X: log's argument
        is det X)."""
        if _is_function(node, self.env) is not None:
            return True
        if node.rule == "name":
            return _lookup(node, self.env) is None and bare(node.args[0]) in MATRIX_SCALARS
        return _font_name(node) in MATRIX_SCALARS and _lookup(node, self.env) is None

    def _apply(self, fn: str, arg_node: Node) -> sp.Basic:
        if fn == "HadamardPower":
            if arg_node.rule != "tuple" or len(arg_node.args) != 2:
                raise Unreadable("write HadamardPower(X, k)", arg_node.pos)
            return self._hadamard_power(*(self.expr(a) for a in arg_node.args), arg_node.pos)
        if arg_node.rule == "tuple":
            raise Unreadable(f"{fn} takes one argument", arg_node.pos)
        arg = self.expr(arg_node)
        if isinstance(arg, sp.MatrixExpr):
            if fn in DIAG:
                if isinstance(arg, sp.OneMatrix) and FREE in dims(arg):
                    return sp.Identity(FREE)  # diag(1) is I, sized by its context
                if FREE in dims(arg):
                    raise Unreadable("the size of this vector cannot be inferred", arg_node.pos)
                return sp.DiagMatrix(arg)
            meaning = self.env.table.functions.get(fn, MATRIX_SPELLINGS.get(fn))
            if meaning is None:
                raise Unreadable(f"{fn} of a matrix is not defined here", arg_node.pos)
            return Elementwise(meaning, arg)
        if fn in DIAG:
            if self.env.table.has_matrices:
                return arg * sp.Identity(FREE)  # diag(1) of a vector of ones: c·I, sized by its context
            raise Unreadable("diag(…) applies to a vector", arg_node.pos)
        if fn.endswith("'"):
            return FUNCTIONS[SPELLINGS[fn[:-1]].derivative].sympy(arg)
        return SPELLINGS[fn].sympy(arg)

    def _big(self, head: tuple[str, Node | None, Node | None], body: list[Node], pos: int) -> sp.Basic:
        op, lower, upper = head
        if not body:
            raise Unreadable(f"\\{op} needs a body", pos)
        if lower is None and upper is None and len(body) == 1 and body[0].rule == "tuple":
            items = list(body[0].args)  # plain text: sum(body, t, lo, hi) or sum(body, (t, lo, hi))
            if len(items) == 2 and items[1].rule == "tuple":
                items = [items[0], *items[1].args]
            if len(items) != 4:
                raise Unreadable(f"write {op}(body, t, lower, upper)", pos)
            body_node, var_node, lo_node, hi_node = items
            return self._bind(op, var_node, lo_node, hi_node, body_node, pos)
        if lower is None:
            raise Unreadable(f"\\{op} needs its index: \\{op}_{{t=1}}^{{T}}", pos)
        if lower.rule == "binding":
            var_node, lo_node = lower.args
        else:
            var_node, lo_node = lower, None
        body_node = body[0] if len(body) == 1 else Node("mul", tuple(body), body[0].pos)
        return self._bind(op, var_node, lo_node, upper, body_node, pos)

    def _with_bound(self, name: str, value: sp.Basic, body: Node) -> sp.Basic:
        saved = self.env.bound.get(name)
        self.env.bound[name] = value
        try:
            return self.expr(body)
        finally:
            if saved is None:
                self.env.bound.pop(name, None)
            else:
                self.env.bound[name] = saved

    def _bind(self, op: str, var_node: Node, lo_node: Node | None, hi_node: Node | None, body: Node, pos: int):
        name = key(var_node)
        if var_node.rule != "name" or name is None:
            raise Unreadable("the index of a sum must be a single letter such as t", var_node.pos)
        declared = self.env.table.by_key.get(name)
        default = self.env.table.index_bounds.get(declared) if declared is not None else None
        lo = self.expr(lo_node) if lo_node is not None else (default[0] if default else None)
        hi = self.expr(hi_node) if hi_node is not None else (default[1] if default else None)
        if lo is None or hi is None:
            raise Unreadable(f"give the bounds of the {op}: \\{op}_{{{name}=1}}^{{T}}", pos)
        index = sp.Symbol(name, integer=True)
        unknown_before = dict(self.env.unknown)
        inner = self._with_bound(name, index, body)
        if len(self.env.unknown) > len(unknown_before) and lo.is_Integer and hi.is_Integer and 0 <= hi - lo <= 12:
            # \sum_{i=0}^{2} a_i v_i over symbols named one by one (a_0, a_1, a_2): the sum written out
            self.env.unknown = unknown_before
            terms = [self._with_bound(name, sp.Integer(v), body) for v in range(int(lo), int(hi) + 1)]
            if not any(isinstance(t, sp.Symbol) and t.name.startswith("?") for t in terms):
                if all(isinstance(t, sp.MatrixExpr) for t in terms):
                    return sp.MatAdd(*terms) if BIG_OPERATORS[op] is sp.Sum else sp.MatMul(*terms)
                return sp.Add(*terms) if BIG_OPERATORS[op] is sp.Sum else sp.Mul(*terms)
        if isinstance(inner, sp.MatrixExpr):
            cls = MatrixSum if BIG_OPERATORS[op] is sp.Sum else OrderedProduct
            return cls(inner, (index, lo, hi))
        return BIG_OPERATORS[op](inner, (index, lo, hi))

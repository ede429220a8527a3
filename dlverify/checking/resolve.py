"""Syntax tree → SymPy, against one problem's symbol table.

Every construct maps to SymPy through an explicit table: a name is a symbol of the
problem (under any of its spellings), a known function, or a constant — anything else is
reported as unknown.  Numbers are built from their digits with ``fractions.Fraction``;
nothing is evaluated from text, and powers that would build astronomically large numbers
are refused before SymPy sees them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache

import sympy as sp

from derivations.matexpr import Elementwise, MatrixSum, OrderedProduct, SequenceElement
from dlverify.checking.parse import Node, ParseError, parse
from dlverify.checking.verdict import Verdict
from dlverify.notation import unicode
from dlverify.problem import Problem

MAX_EXPONENT = 1000  # |numeric exponent|; larger ones are refused, not computed
MAX_DIGITS = 60

_DIGIT_SUFFIX = re.compile(r"^([A-Za-z]+)([0-9]+)$")
TRANSPOSE_MARKS = {"T", "top", "intercal", "mathsf{T}"}


class Unreadable(ParseError):
    """Parsed, but a construct has no meaning here (a prime after a scalar, say)."""


def _sigmoid(x: sp.Expr) -> sp.Expr:
    return 1 / (1 + sp.exp(-x))


def _sigmoid_prime(x: sp.Expr) -> sp.Expr:
    return _sigmoid(x) * (1 - _sigmoid(x))


FUNCTIONS = {
    "exp": sp.exp,
    "log": sp.log,
    "ln": sp.log,
    "sin": sp.sin,
    "cos": sp.cos,
    "tan": sp.tan,
    "tanh": sp.tanh,
    "sqrt": sp.sqrt,
    "sigma": _sigmoid,
    "sigmoid": _sigmoid,
    "abs": sp.Abs,
    "relu": lambda x: sp.Max(0, x),
    "ReLU": lambda x: sp.Max(0, x),
    "floor": sp.floor,
    "ceil": sp.ceiling,
}
DERIVATIVES = {
    "sigma": _sigmoid_prime,
    "sigmoid": _sigmoid_prime,
    "tanh": lambda x: 1 - sp.tanh(x) ** 2,
    "relu": lambda x: sp.Piecewise((1, x > 0), (0, True)),
    "ReLU": lambda x: sp.Piecewise((1, x > 0), (0, True)),
}
MATRIX_FUNCTIONS = {
    "sigma": "sigma",
    "sigmoid": "sigma",
    "sigma'": "sigma'",
    "sigmoid'": "sigma'",
    "tanh": "tanh",
    "tanh'": "tanh'",
    "relu": "relu",
    "ReLU": "relu",
    "relu'": "step",
    "ReLU'": "step",
    "exp": "exp",
    "log": "log",
    "sqrt": "sqrt",
}
DIAG = {"diag", "DiagMatrix", "Diag"}
# A size to be fixed from the context: I in I + A, the ones vector in 1ᵀ h.
FREE = sp.Symbol("_free_size", integer=True, positive=True)
BIG_OPERATORS = {"sum": sp.Sum, "prod": sp.Product, "Sum": sp.Sum, "Product": sp.Product}
CONSTANTS = {"e": sp.E, "pi": sp.pi, "infty": sp.oo}


def _bare(name: str) -> str:
    return name[1:] if name.startswith("\\") else name


def key(node: Node) -> str | None:
    """A canonical spelling of a name-like tree, equal for ``u_1``, ``u_{1}``, ``u1``, ``u[1]``."""
    k = node.rule
    if k == "name":
        bare = _bare(node.args[0])
        m = _DIGIT_SUFFIX.match(bare)
        return f"{m.group(1)}_{{{m.group(2)}}}" if m else bare
    if k == "num":
        return node.args[0]
    if k == "paren":
        return key(node.args[0])
    if k == "sub":
        base, sub = (key(a) for a in node.args)
        return None if base is None or sub is None else f"{base}_{{{sub}}}"
    if k == "pow":
        base, sup = (key(a) for a in node.args)
        return None if base is None or sup is None else f"{base}^{{{sup}}}"
    if k == "accent":
        kind = {"widehat": "hat", "widetilde": "tilde", "overline": "bar"}.get(node.args[0], node.args[0])
        inner = key(node.args[1])
        return None if inner is None else f"{kind}{{{inner}}}"
    if k == "font":
        inner = key(node.args[1])
        if node.args[0] == "mathbb":
            return None if inner is None else f"mathbb{{{inner}}}"
        return inner  # bold / roman / text: the same symbol
    if k == "div":
        num, den = node.args
        if num.rule == "partial" and den.rule == "partial":
            a, b = key(num.args[0]), key(den.args[0])
            return None if a is None or b is None else f"d{a}/d{b}"
        if num.rule == "name" and den.rule == "name":
            a, b = _bare(num.args[0]), _bare(den.args[0])
            if a.startswith("d") and b.startswith("d") and len(a) > 1 and len(b) > 1:
                return f"d{a[1:]}/d{b[1:]}"
        return None
    if k == "attr":
        inner = key(node.args[0])
        return None if inner is None else f"{inner}.{node.args[1]}"
    if k == "add":  # subscripts such as t-1
        parts = [key(a) for a in node.args]
        return None if None in parts else "+".join(parts).replace("+-", "-")
    if k == "neg":
        inner = key(node.args[0])
        return None if inner is None else f"-{inner}"
    return None


@dataclass
class SymbolTable:
    """What the names of one problem mean."""

    by_key: dict[str, sp.Basic]
    index_bounds: dict[sp.Symbol, tuple[sp.Expr, sp.Expr]]
    definitions: dict[sp.Basic, sp.Basic]
    problem_id: str
    has_matrices: bool = False
    functions: dict[str, str] = field(default_factory=dict)  # this item's meaning of a function name


@cache
def table_for(problem: Problem) -> SymbolTable:
    derivation = problem.derive()
    objects = dict(derivation.symbols)
    by_key: dict[str, sp.Basic] = {}
    bounds: dict[sp.Symbol, tuple[sp.Expr, sp.Expr]] = {}
    for spec in problem.symbols:
        if spec.name not in objects:
            raise KeyError(f"{problem.id}: symbol {spec.name} has no SymPy object in its derivation")
        obj = objects[spec.name]
        for spelling in (spec.name, spec.latex, *spec.spellings):
            k = key(parse(spelling))
            if k is None:
                raise ValueError(f"{problem.id}: spelling {spelling!r} is not name-like")
            for variant in {k, k.replace("^{", "_{")}:
                by_key.setdefault(variant, obj)
    for spec in problem.symbols:
        if spec.bounds:
            lo, hi = (objects[b] if b in objects else sp.Integer(int(b)) if b else None for b in spec.bounds)
            bounds[objects[spec.name]] = (lo, hi)
    definitions = {objects[n]: v for n, v in {**derivation.setup, **derivation.definitions}.items()}
    has_matrices = any(isinstance(o, sp.MatrixExpr) for o in objects.values())
    functions = dict(problem.answer.functions)
    return SymbolTable(by_key, bounds, definitions, problem.id, has_matrices, functions)


@dataclass
class _Env:
    table: SymbolTable
    bound: dict[str, sp.Symbol] = field(default_factory=dict)
    unknown: dict[str, int] = field(default_factory=dict)


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


def _is_one(node: Node) -> bool:
    """The 1 of an indicator: ``1`` or ``\\mathbb{1}``."""
    return (node.rule == "num" and node.args[0] == "1") or (node.rule == "font" and key(node) == "mathbb{1}")


def _is_function(node: Node, env: _Env) -> str | None:
    """The function a factor names (``sigma``, ``sigma'``, ``exp``…), unless it is a symbol."""
    if node.rule == "prime":
        inner = _is_function(node.args[0], env)
        return f"{inner}'" if inner in DERIVATIVES else None
    if node.rule in ("name", "font") and _lookup(node, env) is None:
        name = key(node)
        if name in FUNCTIONS or name in DIAG or name == "HadamardPower":
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
    if cur.rule == "name" and _bare(cur.args[0]) in BIG_OPERATORS and _lookup(cur, env) is None:
        return _bare(cur.args[0]), lower, upper
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


def _dims(m: sp.MatrixExpr) -> set[sp.Basic]:
    return set().union(*(sp.sympify(d).free_symbols for d in m.shape))


def _fit(m: sp.MatrixExpr, rows: sp.Basic, cols: sp.Basic) -> sp.MatrixExpr:
    """I or the ones vector, given its size from the context."""
    if isinstance(m, sp.Identity):
        return sp.Identity(rows)
    if isinstance(m, sp.OneMatrix):
        return sp.OneMatrix(rows, cols)
    if isinstance(m, sp.ZeroMatrix):
        return sp.ZeroMatrix(rows, cols)
    return m.xreplace({FREE: rows})


def _common_shape(matrices: list[sp.MatrixExpr], pos: int) -> tuple:
    shape = next((m.shape for m in matrices if FREE not in _dims(m)), None)
    if shape is None:
        raise Unreadable("the size of I or of the ones vector cannot be inferred here", pos)
    return shape


def _fit_product(factors: list[sp.Basic], pos: int) -> list[sp.Basic]:
    """Sizes of I and of the ones vector from their neighbours in a product."""
    mats = [k for k, f in enumerate(factors) if isinstance(f, sp.MatrixExpr)]
    out = list(factors)
    for j, k in enumerate(mats):
        f = out[k]
        if FREE not in _dims(f):
            continue
        before = out[mats[j - 1]] if j > 0 else None
        after = out[mats[j + 1]] if j + 1 < len(mats) else None
        if f.shape == (FREE, FREE):  # I, and square things made of it: (I)^{1/2}, (2I)^{-1}
            size = before.shape[1] if before is not None else after.shape[0] if after is not None else None
            if size is not None and FREE not in sp.sympify(size).free_symbols:
                out[k] = f.xreplace({FREE: size})  # else a sum around it may still fix it (2I + A)
        elif isinstance(f, (sp.OneMatrix, sp.ZeroMatrix)):
            row = f.shape[0] == 1  # 1ᵀ (after a transpose) takes its length from what follows
            if row and after is not None and FREE not in _dims(after):
                out[k] = f.func(1, after.shape[0])
            elif not row and before is not None and FREE not in _dims(before):
                out[k] = f.func(before.shape[1], 1)
    return out


class Resolver:
    """Turns a syntax tree into SymPy for one problem."""

    def __init__(self, table: SymbolTable) -> None:
        self.env = _Env(table)

    def unknown(self) -> dict[str, int]:
        return dict(self.env.unknown)

    def __call__(self, node: Node) -> sp.Basic:
        return self.expr(node)

    def expr(self, node: Node) -> sp.Basic:
        env = self.env
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
        bare = _bare(raw)
        if bare == "I" and self.env.table.has_matrices:
            return sp.Identity(FREE)
        if bare in CONSTANTS:
            return CONSTANTS[bare]
        if bare in FUNCTIONS or bare in BIG_OPERATORS:
            raise Unreadable(f"{raw} needs an argument", node.pos)
        if not raw.startswith("\\"):
            split = self._split(bare)
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
        if base.rule == "norm" and key(sub) in ("F", "2"):  # ‖D‖_F, ‖v‖_2: the norm itself
            return self.expr(base)
        obj = _lookup(base, self.env)
        if isinstance(obj, sp.IndexedBase):
            indices = sub.args if sub.rule == "tuple" else (sub,)
            return obj[tuple(self.expr(i) for i in indices)]
        if base.rule == "name" and _bare(base.args[0]) == "delta" and obj is None:
            return self._kronecker(sub, node.pos)
        if isinstance(obj, SequenceElement):
            return SequenceElement(obj.name, self.expr(sub), *obj.shape)
        if _big_head(node, self.env):
            raise Unreadable("a sum or product needs a body", node.pos)
        if base.rule == "name" and not base.args[0].startswith("\\") and len(base.args[0]) > 1:
            # LaTeX juxtaposition: wu_2 is w·u_2 (the subscript binds to the last letter)
            word = base.args[0]
            head = _lookup(Node("name", (word[:-1],)), self.env)
            head_parts = [head] if head is not None else self._split(word[:-1])
            if head_parts is not None:
                tail = self.expr(Node("sub", (Node("name", (word[-1],), base.pos), sub), node.pos))
                return sp.Mul(*head_parts, tail)
        label = key(node) or f"{key(base)}_…"
        self.env.unknown.setdefault(label, node.pos)
        return sp.Symbol(f"?{label}")

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
        shape = _common_shape(matrices, node.pos)
        fitted = []
        for p in parts:
            if not isinstance(p, sp.MatrixExpr):
                p = p * sp.OneMatrix(*shape)  # 1 − h ⊙ h: a scalar is added to every entry
            elif FREE in _dims(p):
                p = _fit(p, shape[0], shape[1])
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
        if top.rule == "partial" and bottom.rule == "partial" and bottom.args[0].rule == "sub":
            # ∂ℓ/∂h[t], ∂ℓ/∂h_{t-1}: the sequence spelled ∂ℓ/∂h, at that index
            variable, index = bottom.args[0].args
            spelled = Node("div", (top, Node("partial", (variable,), bottom.pos)), node.pos)
            if _lookup(spelled, self.env) is not None:
                return self._sub(Node("sub", (spelled, index), node.pos))
        num, den = (self.expr(a) for a in node.args)
        if den == 0:
            raise Unreadable("division by zero", node.pos)
        if isinstance(den, sp.MatrixExpr):
            raise Unreadable("division by a matrix is not defined; use ^{-1}", node.pos)
        return num / den

    def _sqrt(self, node: Node) -> sp.Basic:
        return sp.sqrt(self.expr(node.args[0]))

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

    def _floor(self, node: Node) -> sp.Basic:
        return sp.floor(self.expr(node.args[0]))

    def _ceil(self, node: Node) -> sp.Basic:
        return sp.ceiling(self.expr(node.args[0]))

    def _hadamard(self, node: Node) -> sp.Basic:
        parts = [self.expr(a) for a in node.args]
        matrices = [p for p in parts if isinstance(p, sp.MatrixExpr)]
        if not matrices:
            return sp.Mul(*parts)
        if any(FREE in _dims(p) for p in matrices):  # c ⊙ 1: the ones vector takes c's shape
            shape = _common_shape(matrices, node.pos)
            matrices = [_fit(p, *shape) if FREE in _dims(p) else p for p in matrices]
        scale = sp.Mul(*(p for p in parts if not isinstance(p, sp.MatrixExpr)))
        product = sp.HadamardProduct(*matrices) if len(matrices) > 1 else matrices[0]
        return product if scale == 1 else scale * product

    def _transpose(self, node: Node) -> sp.Basic:
        inner = self.expr(node.args[0])
        return inner.T if isinstance(inner, sp.MatrixExpr) else inner

    def _prime(self, node: Node) -> sp.Basic:
        inner = self.expr(node.args[0])
        if isinstance(inner, sp.MatrixExpr):
            return inner.T
        raise Unreadable("a prime (') may follow σ, tanh or a matrix (transpose) only", node.pos)

    def _pow(self, node: Node) -> sp.Basic:
        """A power, or a transpose.  On a matrix, ``^T``, ``^{T}``, ``^\\top``, ``^\\intercal`` are
        transposes even where T is also a symbol (a sequence length): a matrix power by T is
        written ``^{(T)}``, and ``^{T-t}`` is a power.  On a scalar, ``^T`` is the power."""
        base_node, sup = node.args
        if base_node.rule == "name" and _bare(base_node.args[0]) == "e" and _lookup(base_node, self.env) is None:
            return sp.exp(self.expr(sup))
        bare = base_node.args[0] if base_node.rule == "sub" and base_node.args[0].rule == "norm" else base_node
        if bare.rule == "norm" and sup.rule == "num" and sup.args[0] == "2":  # ‖D‖², without the root
            return self._squared_norm(bare.args[0], node.pos)
        labelled = self._labelled_transpose(base_node, sup)
        if labelled is not None:
            return labelled
        base = self.expr(base_node)
        if isinstance(base, sp.MatrixExpr) and sup.rule != "paren" and key(sup) in TRANSPOSE_MARKS:
            return base.T
        return _pow(base, self.expr(sup), node.pos)

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
        raise Unreadable("an elementwise power must be a small positive integer", pos)

    def _indicator(self, node: Node) -> sp.Basic:
        rel = node.args[0]
        parts = rel.args
        ops = {"<": sp.Lt, "<=": sp.Le, ">": sp.Gt, ">=": sp.Ge, "==": sp.Eq, "!=": sp.Ne}
        first = self.expr(parts[0])
        if isinstance(first, sp.MatrixExpr):
            if len(parts) != 3 or parts[1] not in (">", ">=") or self.expr(parts[2]) != 0:
                raise Unreadable("for a matrix, write the indicator as 1[X > 0]", node.pos)
            return Elementwise("step", first)
        conds = []
        left = first
        for k in range(1, len(parts), 2):
            right = self.expr(parts[k + 1])
            conds.append(ops[parts[k]](left, right))
            left = right
        return sp.Piecewise((1, sp.And(*conds)), (0, True))

    def _tuple(self, node: Node) -> sp.Basic:
        raise Unreadable("a list of values (a, b, …) is only allowed as the arguments of sum or prod", node.pos)

    def _partial(self, node: Node) -> sp.Basic:
        raise Unreadable("∂ is only allowed in a derivative symbol such as \\frac{\\partial y}{\\partial p}", node.pos)

    def _binding(self, node: Node) -> sp.Basic:
        raise Unreadable("'=' is only allowed in the limits of a sum or product", node.pos)

    # products, functions and big operators ---------------------------------------------
    def _mul(self, node: Node) -> sp.Basic:
        factors = list(node.args)
        for k, f in enumerate(factors[:-1]):
            # a ⊙ \tanh(x): ⊙ took only the function's name; give it the factors that follow
            last = f.args[-1] if f.rule == "hadamard" else None
            if last is not None and (_is_function(last, self.env) or _big_head(last, self.env)):
                operand = Node("mul", (last, *factors[k + 1 :]), last.pos)
                factors = [*factors[:k], Node("hadamard", (*f.args[:-1], operand), f.pos)]
                break
            if last is not None and _is_one(last) and factors[k + 1].rule == "indicator":
                # a ⊙ 1[X > 0]: ⊙ took only the 1; the bracket after it belongs to the same operand
                operand = Node("mul", (last, factors[k + 1]), last.pos)
                factors = [*factors[:k], Node("hadamard", (*f.args[:-1], operand), f.pos), *factors[k + 2 :]]
                break
        out: list[sp.Basic] = []
        k = 0
        while k < len(factors):
            f = factors[k]
            if (
                f.rule == "font"
                and key(f) == "mathbb{1}"
                and k + 1 < len(factors)
                and factors[k + 1].rule == "indicator"
            ):
                k += 1  # \mathbb{1}[A > 0]: the bracket alone is the indicator
                continue
            sign = 1
            inner = f
            while inner.rule == "neg":  # -\sum_t …, -\tanh(x): the minus applies to the whole
                sign, inner = -sign, inner.args[0]
            if inner is not f and (_big_head(inner, self.env) or _is_function(inner, self.env)):
                out.append(sp.Integer(sign))
                f = inner
            head = _big_head(f, self.env)
            if head is not None:
                out.append(self._big(head, factors[k + 1 :], f.pos))
                break
            fn = _is_function(f, self.env)
            power = None
            if fn is None and f.rule == "pow":
                fn = _is_function(f.args[0], self.env)
                power = f.args[1] if fn else None
            if fn is not None:
                if k + 1 >= len(factors):
                    raise Unreadable(f"{fn} needs an argument", f.pos)
                arg = factors[k + 1]
                if arg.rule == "pow" and arg.args[0].rule == "paren" and power is None:
                    # \sigma(z)^2 is (σ(z))², while \sin x^2 is sin(x²)
                    arg, power = arg.args
                value = self._apply(fn, arg)
                out.append(_pow(value, self.expr(power), f.pos) if power is not None else value)
                k += 2
                continue
            out.append(self.expr(f))
            k += 1
        out = _fit_product(out, node.pos)
        if any(isinstance(f, sp.MatrixExpr) for f in out) and len(out) > 1:
            # MatMul without doit: SymPy's doit asks the assumptions system about every diag(…)
            return sp.MatMul(*out)
        product = out[0]
        for factor in out[1:]:
            product = product * factor
        return product

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
                if isinstance(arg, sp.OneMatrix) and FREE in _dims(arg):
                    return sp.Identity(FREE)  # diag(1) is I, sized by its context
                if FREE in _dims(arg):
                    raise Unreadable("the size of this vector cannot be inferred", arg_node.pos)
                return sp.DiagMatrix(arg)
            meaning = self.env.table.functions.get(fn, MATRIX_FUNCTIONS.get(fn))
            if meaning is None:
                raise Unreadable(f"{fn} of a matrix is not defined here", arg_node.pos)
            return Elementwise(meaning, arg)
        if fn in DIAG:
            if self.env.table.has_matrices:
                return arg * sp.Identity(FREE)  # diag(1) of a vector of ones: c·I, sized by its context
            raise Unreadable("diag(…) applies to a vector", arg_node.pos)
        if fn.endswith("'"):
            return DERIVATIVES[fn[:-1]](arg)
        return FUNCTIONS[fn](arg)

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
        saved = self.env.bound.get(name)
        self.env.bound[name] = index
        try:
            inner = self.expr(body)
        finally:
            if saved is None:
                self.env.bound.pop(name, None)
            else:
                self.env.bound[name] = saved
        if isinstance(inner, sp.MatrixExpr):
            cls = MatrixSum if BIG_OPERATORS[op] is sp.Sum else OrderedProduct
            return cls(inner, (index, lo, hi))
        return BIG_OPERATORS[op](inner, (index, lo, hi))


def to_sympy(text: str, problem: Problem, shape: tuple | None = None) -> tuple[sp.Basic, dict[str, int]]:
    """Parse and resolve an answer: (SymPy object, unknown names → position).

    ``shape``, the reference's, fixes the size of an I or ones vector that nothing
    around it determines (an answer that is just ``I``)."""
    resolver = Resolver(table_for(problem))
    try:
        value = resolver(parse(text))
        if shape is not None and isinstance(value, sp.MatrixExpr) and FREE in _dims(value):
            value = _fit(value, *shape)
        if isinstance(value, sp.Basic) and value.has(FREE):
            raise Unreadable("the size of I or of the ones vector cannot be inferred from the context", None, text)
    except RecursionError:
        raise Unreadable("the answer is nested too deeply", None, text) from None
    except Unreadable as exc:
        raise Unreadable(exc.reason, exc.pos, text) from None
    return value, resolver.unknown()


class AnswerRefused(Exception):
    """An answer that cannot be compared with the reference; ``verdict`` says why."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(verdict.message)
        self.verdict = verdict


@dataclass(frozen=True)
class Reading:
    """An answer and its reference in the same terms (defined symbols substituted on both sides)."""

    answer: sp.Basic
    reference: sp.Basic


def read_answer(problem: Problem, label: str, answer: object, reference: sp.Basic) -> Reading:
    """The answer and the reference in the same terms; raises AnswerRefused with the verdict
    that ends it here.

    Text only; parse and resolve (unparsed on error); names the item does not define make
    it incorrect; defined symbols (graph nodes, h_0 = 0) are substituted on both sides."""
    from dlverify.evaluation import substitute_definitions

    if not isinstance(answer, str):
        raise AnswerRefused(Verdict(label, "unparsed", f"expected the answer as text, got {type(answer).__name__}"))
    try:
        shape = reference.shape if isinstance(reference, sp.MatrixExpr) else None
        student, unknown = to_sympy(answer, problem, shape=shape)
    except ParseError as exc:
        raise AnswerRefused(Verdict(label, "unparsed", exc.pointer())) from None
    if unknown:
        names = ", ".join(f"{n} (position {p + 1})" for n, p in unknown.items())
        allowed = ", ".join(s.name for s in problem.symbols)
        message = f"uses symbols this item does not define: {names}; allowed: {allowed}"
        raise AnswerRefused(Verdict(label, "incorrect", message))
    definitions = table_for(problem).definitions
    return Reading(substitute_definitions(student, definitions), substitute_definitions(reference, definitions))


def latex_of(problem: Problem, answer: str) -> str | None:
    """The answer as read, typeset from its tree (never from its text); None if unreadable."""
    from dlverify import notation

    try:
        value, unknown = to_sympy(answer, problem)
    except ParseError:
        return None
    return None if unknown else notation.latex(value)

"""The setup's quantities and the chain rule between them: what a derivative symbol ∂a/∂b means.

A topic's setup is a set of equations ``q = expression`` (h_T = tanh(C_T) ∘ o_T, C_T = f_T ∘ C_{T−1}
+ i_T ∘ C̃_T, ŷ_T = W^f h_T + b^f), recurrences of a sequence (h_k = tanh(W^h h_{k−1} + W^x x_k + b)
for every k), and derivatives the item names with a symbol of their own (g = ∂L/∂h_T,
J = ∂h_T/∂h_{T−1}).  :meth:`Chain.derivative` is ∂a/∂b by the multivariate chain rule over them:

- numerator layout (∂a/∂b has entry [i, j] = ∂a_i/∂b_j; the Jacobian of a scalar is a row);
- a named derivative is used wherever its path is taken, and the equations then hold its
  denominator fixed, so J stands for every path from h_{T−1} to h_T;
- where a is a quantity of a time step and b an input of that step (a quantity of the step before,
  or a parameter), the step's other inputs are held fixed: the step function's partial derivatives
  (∂C_t/∂C_{t−1} holds h_{t−1}, ∂h_t/∂h_{t−1} holds C_{t−1}, ∂h_t/∂w holds h_{t−1}); where b lies
  further back, b's own same-step companions are held; a quantity of no step (the loss L, the
  output y) is differentiated along every path;
- from h_t to h_T over a symbolic number of steps, the product of the one-step Jacobians,
  ∂h_T/∂h_{T−1} ⋯ ∂h_{t+1}/∂h_t, ordered as the chain rule multiplies them.

Each local Jacobian is taken by the recorded rules of ``derivations.jacobian`` (SymPy's ``diff``
for scalars); row vectors are differentiated through their transposes.  Nothing here reads an
answer: a derivative symbol's meaning comes from the setup alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import sympy as sp

from derivations.functions import FUNCTIONS
from derivations.jacobian import jacobian
from derivations.matexpr import Elementwise, OrderedProduct, SequenceElement

MAX_UNROLL = 12  # concrete steps expanded one by one; beyond, a symbolic product


class Unsupported(ValueError):
    """A derivative the setup cannot give (a matrix in a matrix, an undefined quantity)."""


@dataclass(frozen=True)
class Chain:
    """The setup of one item: its equations, recurrences, named derivatives and step structure.

    ``equations``: quantity → its expression; ``recurrences``: a sequence's name → k ↦ (h_k's
    expression in h_{k−1} and the inputs); ``given``: (a, b) → the item's symbol for ∂a/∂b;
    ``steps``: quantity → the time step it belongs to (companions share one); ``names``: spelling →
    a quantity that is none of the item's symbols (L), for derivative symbols only."""

    equations: Mapping[sp.Basic, sp.Basic] = field(default_factory=dict)
    recurrences: Mapping[str, Callable[[sp.Basic], sp.Basic]] = field(default_factory=dict)
    given: Mapping[tuple[sp.Basic, sp.Basic], sp.Basic] = field(default_factory=dict)
    steps: Mapping[sp.Basic, sp.Basic] = field(default_factory=dict)
    names: Mapping[str, sp.Basic] = field(default_factory=dict)
    # an index's range (t ↦ (1, T)): decides which of two symbolic steps comes first
    bounds: Mapping[sp.Symbol, tuple[sp.Basic, sp.Basic]] = field(default_factory=dict)

    def derivative(self, a: sp.Basic, b: sp.Basic, *, total: bool = False) -> sp.Basic:
        """∂a/∂b in numerator layout (see the module's rules); ``total``: da/db, along every path
        (Leibniz's d, as ``\\frac{dh_3}{dw}`` is read)."""
        _check_variable(b)
        return self._d(a, b, frozenset() if total else frozenset(self._held(a, b)), 0)

    def _held(self, a: sp.Basic, b: sp.Basic) -> list[sp.Basic]:
        """What ∂a/∂b holds fixed: for a of step s and b an input of that step (a quantity of step s − 1, or
        a parameter), the step's other inputs (the step function's partial: ∂h_t/∂w holds h_{t−1});
        for b further back, b's own companions; nothing for a of no step (the loss)."""
        step = self._step(a)
        if step is None:
            return []
        before = self._step(b)
        if before is None or sp.simplify(before - (step - 1)) == 0 or sp.simplify(before - step) == 0:
            # an input of a's step, or a quantity inside it (∂h_T/∂C_T): the step's inputs stay as they are
            return [q for q in self._at_step(step - 1) if q != b]
        return [q for q in self._companions(b) if q != a]

    def _at_step(self, step: sp.Basic) -> list[sp.Basic]:
        found = [q for q, s in self.steps.items() if sp.simplify(s - step) == 0]
        for name, rule in self.recurrences.items():
            template = rule(step + 1)
            shape = template.shape if isinstance(template, sp.MatrixExpr) else (1, 1)
            found.append(SequenceElement(name, step, *shape))
        return found

    # the step structure ------------------------------------------------------------------
    def _step(self, q: sp.Basic) -> sp.Basic | None:
        if isinstance(q, SequenceElement) and q.name in self.recurrences:
            return q.index
        return self.steps.get(q)

    def _companions(self, b: sp.Basic) -> list[sp.Basic]:
        step = self._step(b)
        if step is None:
            return []
        return [q for q, s in self.steps.items() if q != b and sp.simplify(s - step) == 0]

    def _definition(self, q: sp.Basic) -> sp.Basic | None:
        if q in self.equations:
            return self.equations[q]
        if isinstance(q, SequenceElement) and q.name in self.recurrences:
            return self.recurrences[q.name](q.index)
        return None

    # dependence --------------------------------------------------------------------------
    def _depends(self, a: sp.Basic, b: sp.Basic, fixed: frozenset, depth: int) -> bool:
        if a == b:
            return True
        if a in fixed or depth > 4 * MAX_UNROLL:
            return False
        if any(num == a and self._depends(den, b, fixed, depth + 1) for num, den in self.given):
            return True
        if self._sequence_gap(a, b) is not None:
            return True
        expr = self._definition(a)
        if expr is None:
            return False
        held = fixed | {den for num, den in self.given if num == a}
        return any(self._depends(c, b, held, depth + 1) for c in self._quantities(expr, b))

    def _quantities(self, expr: sp.Basic, b: sp.Basic) -> list[sp.Basic]:
        """The quantities an expression reads that may lead to b: b itself, defined ones, given ones."""
        found = set()
        for node in sp.preorder_traversal(expr):
            if node == b or node in self.equations or any(num == node for num, _ in self.given):
                found.add(node)
            elif isinstance(node, SequenceElement) and node.name in self.recurrences:
                found.add(node)
            elif isinstance(node, SequenceElement) and isinstance(b, SequenceElement) and node.name == b.name:
                found.add(node)
        return sorted(found, key=sp.default_sort_key)

    def _sequence_gap(self, a: sp.Basic, b: sp.Basic) -> sp.Basic | None:
        """The symbolic number of steps from b to a along one sequence, where it is not a small integer."""
        if not (isinstance(a, SequenceElement) and isinstance(b, SequenceElement)) or a.name != b.name:
            return None
        if a.name not in self.recurrences:
            return None
        gap = sp.expand(a.index - b.index)
        if gap.is_Integer:
            return None
        return gap

    # the chain rule ----------------------------------------------------------------------
    def _d(self, a: sp.Basic, b: sp.Basic, fixed: frozenset, depth: int) -> sp.Basic:
        if a == b:
            return _identity(b)
        if depth > 4 * MAX_UNROLL:
            raise Unsupported("the setup's equations are nested too deeply to differentiate")
        if (a, b) in self.given and b not in fixed:
            return self.given[(a, b)]
        zero = _zero(a, b)
        if a in fixed:
            return zero
        gap = self._sequence_gap(a, b)
        if gap is not None:
            if self._sign(gap) < 0:  # h_t in h_T for t ≤ T: I at t = T, 0 before
                return sp.KroneckerDelta(a.index, b.index) * sp.Identity(_size(a))
            return self._across(a, b, gap)
        if isinstance(a, SequenceElement) and isinstance(b, SequenceElement) and a.name == b.name:
            steps = sp.expand(a.index - b.index)
            if steps.is_Integer and (steps < 0 or steps > MAX_UNROLL):
                if steps < 0:
                    return zero
                return self._across(a, b, steps)
        terms: list[sp.Basic] = []
        held = set(fixed)
        for (num, den), value in self.given.items():
            if num == a and den not in fixed and self._depends(den, b, frozenset(fixed), depth + 1):
                terms.append(_times(value, self._d(den, b, fixed, depth + 1)))
            if num == a:
                held.add(den)
        expr = self._definition(a)
        if expr is not None:
            for c in self._quantities(expr, b):
                if c in held or not self._depends(c, b, frozenset(held), depth + 1):
                    continue
                local = in_value(local_jacobian(expr, c), expr, a)
                terms.append(_times(local, self._d(c, b, frozenset(held), depth + 1)))
        if not terms:
            return zero
        return _plus(terms)

    def _sign(self, gap: sp.Basic) -> int:
        """+1 if gap ≥ 0 over the indices' ranges, −1 if gap ≤ 0; Unsupported if it changes sign."""
        lowest, highest = gap, gap
        for symbol, (lo, hi) in self.bounds.items():
            if gap.has(symbol):
                coeff = sp.expand(gap).coeff(symbol)
                lowest = lowest.subs(symbol, lo if coeff > 0 else hi)
                highest = highest.subs(symbol, hi if coeff > 0 else lo)
        if sp.simplify(lowest).is_nonnegative:
            return 1
        if sp.simplify(highest).is_nonpositive:
            return -1
        raise Unsupported(f"the order of the two steps (a gap of {gap}) is not fixed by the item's ranges")

    def _across(self, a: SequenceElement, b: SequenceElement, gap: sp.Basic) -> sp.Basic:
        """∂h_T/∂h_t over T − t steps: ∏_{j=0}^{T−t−1} ∂h_{T−j}/∂h_{T−j−1} (left to right)."""
        j = sp.Dummy("j", integer=True)
        k = sp.Dummy("k", integer=True)
        one_step = self._d(_at(a, k), _at(a, k - 1), frozenset(), 0)
        return OrderedProduct(one_step.xreplace({k: a.index - j}), (j, 0, gap - 1))


def _at(q: SequenceElement, index: sp.Basic) -> SequenceElement:
    return SequenceElement(q.args[0], index, *q.shape)


def _check_variable(b: sp.Basic) -> None:
    if isinstance(b, sp.MatrixExpr) and 1 not in b.shape:
        raise Unsupported("a derivative in a matrix is a gradient or a 4-axis tensor: write it with the item's symbols")


def _size(q: sp.Basic) -> sp.Basic:
    if isinstance(q, sp.MatrixExpr):
        return q.shape[0] if q.shape[1] == 1 else q.shape[1]
    return sp.Integer(1)


def _identity(b: sp.Basic) -> sp.Basic:
    return sp.Identity(_size(b)) if isinstance(b, sp.MatrixExpr) and b.shape != (1, 1) else sp.Integer(1)


def _zero(a: sp.Basic, b: sp.Basic) -> sp.Basic:
    if not isinstance(a, sp.MatrixExpr) and not isinstance(b, sp.MatrixExpr):
        return sp.Integer(0)
    return sp.ZeroMatrix(_size(a), _size(b))


def _times(a: sp.Basic, b: sp.Basic) -> sp.Basic:
    if isinstance(b, sp.Identity) or b == 1:
        return a
    if isinstance(a, sp.Identity) or a == 1:
        return b
    if isinstance(a, sp.MatrixExpr) and isinstance(b, sp.MatrixExpr):
        if isinstance(a, sp.ZeroMatrix) or isinstance(b, sp.ZeroMatrix):
            return sp.ZeroMatrix(a.shape[0], b.shape[1])
        if a.shape == (1, 1) and b.shape[0] != 1:
            return sp.MatMul(b, a)
        return sp.MatMul(a, b)
    return a * b


def _plus(terms: list[sp.Basic]) -> sp.Basic:
    if len(terms) == 1:
        return terms[0]
    if any(isinstance(t, sp.MatrixExpr) for t in terms):
        return sp.MatAdd(*terms)
    return sp.Add(*terms)


def in_value(local: sp.Basic, expr: sp.Basic, q: sp.Basic) -> sp.Basic:
    """For q = φ(z), φ'(z) in the local Jacobian written in q itself (tanh'(z) = 1 − q ⊙ q), as the
    homework writes it: q's value is what the point gives, whether or not its inputs are drawn."""
    if not isinstance(expr, Elementwise) or not isinstance(q, sp.MatrixExpr):
        return local
    row = FUNCTIONS.get(expr.name)
    if row is None or row.by_value is None or row.derivative is None:
        return local
    y = sp.Symbol("y")
    poly = sp.Poly(row.by_value(y), y)
    ones = sp.OneMatrix(*q.shape)
    terms = []
    for (power,), coeff in poly.terms():
        term = ones if power == 0 else q if power == 1 else sp.HadamardProduct(*([q] * power))
        terms.append(term if coeff == 1 else coeff * term)
    value = sp.MatAdd(*terms) if len(terms) > 1 else terms[0]
    return local.xreplace({Elementwise(row.derivative, expr.arg): value})


def local_jacobian(expr: sp.Basic, c: sp.Basic) -> sp.Basic:
    """∂expr/∂c with every other quantity held fixed: SymPy's diff for scalars, the recorded
    matrix rules for vectors (a row differentiated through its transpose)."""
    if not isinstance(c, sp.MatrixExpr):
        if isinstance(expr, sp.MatrixExpr):
            raise Unsupported("the derivative of a vector in a scalar")
        return sp.diff(expr, c)
    _check_variable(c)
    scalar = not isinstance(expr, sp.MatrixExpr)
    if scalar:
        if not expr.has(c):
            return sp.ZeroMatrix(1, _size(c))
        raise Unsupported("a scalar written with a vector's entries")
    if c.shape[1] == 1:
        return jacobian(_column(expr) if expr.shape[0] == 1 and expr.shape != (1, 1) else expr, c)
    column = sp.MatrixSymbol(f"{_name(c)}__col", c.shape[1], 1)
    swapped = expr.xreplace({c: column.T})
    f = _column(swapped) if swapped.shape[0] == 1 and swapped.shape != (1, 1) else swapped
    return jacobian(f, column).xreplace({column: c.T})


def _name(c: sp.Basic) -> str:
    return c.name if hasattr(c, "name") else str(c)


def _column(e: sp.Basic) -> sp.Basic:
    """The transpose of a row expression, pushed down to its symbols (the rules know columns)."""
    if not isinstance(e, sp.MatrixExpr):
        return e
    if isinstance(e, sp.Transpose):
        return e.arg
    if isinstance(e, sp.MatAdd):
        return sp.MatAdd(*(_column(a) for a in e.args))
    if isinstance(e, sp.MatMul):
        scalars = [a for a in e.args if not isinstance(a, sp.MatrixExpr)]
        mats = [_column(a) for a in reversed([a for a in e.args if isinstance(a, sp.MatrixExpr)])]
        return sp.MatMul(*scalars, *mats)
    if isinstance(e, sp.HadamardProduct):
        return sp.HadamardProduct(*(_column(a) for a in e.args))
    if isinstance(e, Elementwise):
        return Elementwise(e.name, _column(e.arg))
    if isinstance(e, (sp.OneMatrix, sp.ZeroMatrix, sp.Identity)):
        return e.T
    return sp.Transpose(e)

"""Matrix answers: both sides evaluated on random matrices of the declared shapes.

Sizes are drawn afresh at every point (several shape draws, so an answer that is only
right when m = n is caught), matrices respect each symbol's structure (diagonal and
positive, orthonormal columns, orthogonal, symmetric positive definite), and products
are never reordered: numpy's ``@`` is the product.  Values are float64; two results agree
when every entry is within 1e-8 of the reference relative to the reference's largest
entry (the inputs are O(1), so rounding is far below that and a real mistake far above).
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import sympy as sp

from derivations.matexpr import Elementwise, MatrixSum, OrderedProduct, SequenceElement
from dlverify.checking.expressions import typeset_text
from dlverify.checking.kinds import AnswerKind, Ask
from dlverify.checking.mutations import Mutation, occurrences, replace_at, scale_mutations, unique
from dlverify.checking.names import table_for
from dlverify.checking.points import TooLong, beyond_literals, draw_sizes
from dlverify.checking.reading import AnswerRefused, read_answer, to_sympy
from dlverify.checking.verdict import Counterexample, Reference, Verdict
from dlverify.evaluation import substitute_definitions
from dlverify.matrix_eval import MatrixPoint, ShapeMismatch, close, matrix_value, number_text
from dlverify.notation import function_name, latex, unicode
from dlverify.problem import Assumption, Problem

POINTS = 10
DIAGNOSIS_EVALUATIONS = 400
MAX_MATRIX_SIZE = 5
# Two of the points draw sizes from the top half of a range up to 12 (past a numeric bound: see draw_sizes),
# so an answer off by (m-1)⋯(m-5) W_1 (0 at every m ≤ 5) or (N-1)⋯(N-6) is caught; 12×12 products stay fast.
WIDE_MATRIX_SIZE = 12
WIDE_MATRIX_POINTS = frozenset({4, 8})
# how far past the answer's own numbers a wide point's sizes may go: 60×60 products stay fast
BEYOND_CAP = 56


def _structured(
    spec_assumptions: tuple[Assumption | str, ...], rows: int, cols: int, rng: np.random.Generator
) -> np.ndarray:
    a = set(spec_assumptions)
    if a & {Assumption.ORTHONORMAL_COLUMNS, Assumption.ORTHOGONAL, Assumption.ARBITRARY_ORTHOGONAL}:
        q, _ = np.linalg.qr(rng.normal(size=(rows, max(rows, cols))))
        return q[:, :cols]
    if Assumption.DIAGONAL in a:
        values = rng.uniform(0.5, 2.0, size=rows) if Assumption.POSITIVE in a else rng.uniform(-1, 1, size=rows)
        if Assumption.DESCENDING in a:
            values = np.sort(values)[::-1]
        return np.diag(values)
    if Assumption.SYMMETRIC_POSITIVE_DEFINITE in a:
        b = rng.normal(size=(rows, rows))
        return b @ b.T + rows * np.eye(rows)
    return rng.uniform(-1, 1, size=(rows, cols))


def draw_matrix_point(
    problem: Problem, rng: random.Random, stress: bool = False, wide: bool = False, beyond: int = 0
) -> MatrixPoint:
    """A random point; with ``stress``, sizes come from the top of their range and an
    index bounded by another symbol (t ≤ T) from the bottom, so that matrices are not
    1×1 and products over t+1..T have several factors — where mistakes show; with ``wide``,
    sizes up to WIDE_MATRIX_SIZE.

    Only the inputs are drawn: the quantities the model determines (``Derivation.determined``, the
    attention weights) and the symbols the setup and definitions give (a gate f_T = σ(…), v_1 = V_1 h)
    take the values computed from the inputs, so a witness shows the values the comparison used."""
    derivation = problem.derive()
    objects = derivation.symbols
    determined = {objects[name]: expr for name, expr in derivation.determined.items()}
    np_rng = np.random.default_rng(rng.getrandbits(64))
    sizes = draw_sizes(
        problem, rng, MAX_MATRIX_SIZE, stress, wide=WIDE_MATRIX_SIZE if wide else None, beyond=beyond if wide else 0
    )
    scalars: dict[sp.Basic, float] = {k: float(v) for k, v in sizes.items()}
    for spec in problem.symbols:
        obj = objects.get(spec.name)
        if spec.role == "real" and spec.value is None and obj is not None and obj not in determined:
            scalars[obj] = rng.uniform(0.1, 2.0) if Assumption.POSITIVE in spec.assumptions else rng.uniform(-2, 2)
    point = MatrixPoint(scalars, {}, np_rng, determined=set(determined))
    for spec in problem.symbols:
        obj = objects.get(spec.name)
        if spec.role == "matrix" and isinstance(obj, sp.MatrixSymbol) and obj not in determined:
            rows, cols = (point.size(d) for d in obj.shape)
            point.matrices[obj] = _structured(spec.assumptions, rows, cols, np_rng)
    for spec in problem.symbols:
        # "below Lambda_k": a scalar under the smallest diagonal entry (λ < σ_k², where a formula holds)
        if spec.below is not None:
            ceiling = float(np.min(np.diag(point.matrices[objects[spec.below]])))
            scalars[objects[spec.name]] = rng.uniform(0.05, 0.95) * ceiling
    _model_values(problem, point, determined)
    return point


def _model_values(problem: Problem, point: MatrixPoint, determined: dict[sp.Basic, sp.Basic]) -> None:
    """The determined quantities, then every defined symbol, computed at ``point`` from its inputs."""
    defined = table_for(problem).definitions
    for expr in determined.values():  # inputs the item does not name (the other attended states)
        for sym in sorted(expr.atoms(sp.MatrixSymbol) - set(point.matrices) - set(determined), key=str):
            if sym not in defined:
                for size in sorted(set().union(*(sp.sympify(d).free_symbols for d in sym.shape)), key=str):
                    if size not in point.scalars:  # a size only the unnamed inputs have (the LSTM's input size)
                        point.scalars[size] = float(point.rng.integers(1, MAX_MATRIX_SIZE + 1))
                point.matrices[sym] = point.rng.uniform(-1, 1, size=(point.size(sym.rows), point.size(sym.cols)))
    for obj, expr in determined.items():  # in order: each may use the ones before it
        _store(point, obj, matrix_value(substitute_definitions(expr, defined), point))
    for obj, expr in defined.items():
        try:
            value = matrix_value(substitute_definitions(expr, defined), point)
        except (ShapeMismatch, TooLong, KeyError):
            value = None
        if value is None or not isinstance(obj, (sp.Symbol, sp.MatrixSymbol)):
            point.unshown.add(obj)  # its drawn value (if any) is never compared: not shown either
            continue
        _store(point, obj, value)
    point.memo.clear()  # values computed before the model's were set are not kept


def _store(point: MatrixPoint, obj: sp.Basic, value: np.ndarray) -> None:
    if isinstance(obj, sp.MatrixSymbol):
        point.matrices[obj] = value
    else:
        point.scalars[obj] = float(value.reshape(-1)[0])


def _points(problem: Problem, reference: sp.Basic, rng: random.Random, n: int, beyond: int = 0):
    """n points where the reference evaluates; all but the first two are stress points; the wide ones
    take sizes past ``beyond`` (the answer's largest number, see points.beyond_literals)."""
    made = 0
    for attempt in range(n * 6):
        wide = made in WIDE_MATRIX_POINTS
        point = draw_matrix_point(problem, rng, stress=made >= 2 or attempt >= 2 * n, wide=wide, beyond=beyond)
        try:
            want = matrix_value(reference, point)
        except (ShapeMismatch, TooLong):
            continue
        if np.isfinite(want).all():
            yield point, want
            made += 1
            if made >= n:
                return


def _shape_text(a: np.ndarray) -> str:
    return "a scalar" if a.shape == (1, 1) else f"{a.shape[0]}×{a.shape[1]}"


def judge_matrix(problem: Problem, answer: object, ask: Ask, reference: sp.Basic | None = None) -> Verdict:
    """A matrix answer against the reference, default the problem's result (a derivation's line
    passes the truth of its left side)."""
    label, rng, hide = ask.label, ask.rng, ask.hide
    target = problem.derive().result if reference is None else reference
    try:
        read = read_answer(problem, label, answer, target)
    except AnswerRefused as refused:
        return refused.verdict
    student, reference = read.answer, read.reference
    reference = _omitted_identities(problem, student, reference)
    # the reference as derived, before its defined symbols (g_{V_5} = −D, …) were written out: what
    # messages show, and what mistakes are made from
    written = _omitted_identities(problem, student, target)
    family = _family(problem, reference)
    base = reference if family is None else family.base(reference)
    # the symbols a witness shows: the answer's, and the reference's unless it is hidden (which symbols
    # it uses is a hint to its form)
    used = _used(_as_written(problem, answer, student)) | (set() if hide else _used(written))
    checked = 0
    for point, want in _points(problem, base, rng, POINTS, beyond_literals(student, BEYOND_CAP)):
        try:
            got = matrix_value(student, point)
        except TooLong as exc:
            return Verdict(label, "incorrect", str(exc))
        except ShapeMismatch as exc:
            sizes = _sizes(point)
            diagnosis = _diagnose(problem, student, written, rng, hide, witness=point)
            msg = f"the shapes do not fit at {sizes}: {exc}" + (f"; looks like {diagnosis}" if diagnosis else "")
            counter = Counterexample(at=point.shown(), relevant=point.relevant(used))
            return Verdict(label, "incorrect", msg, counter, diagnosis=diagnosis)
        nearest = None if family is None or got.shape != want.shape else family.nearest(want, got)
        if close(got, want if nearest is None else nearest):
            checked += 1
            continue
        counter = Counterexample(at=point.shown(), relevant=point.relevant(used))
        if got.shape != want.shape:
            msg = f"at {_sizes(point)} the answer is {_shape_text(got)} but the reference is {_shape_text(want)}"
        else:
            if nearest is not None:  # the reference's closest member: the values the answer is furthest from
                want = nearest
            i, j = np.unravel_index(int(np.argmax(np.abs(got - want))), got.shape)
            counter = dataclasses.replace(
                counter,
                entry=(int(i) + 1, int(j) + 1),
                answer_value=float(got[i, j]),
                reference_value=float(want[i, j]),
            )
            which = "the reference" if family is None else f"the reference at the closest orthogonal {family.name}"
            msg = (
                f"not equivalent: at {_sizes(point)} entry [{i + 1}, {j + 1}] of the answer is {got[i, j]:.6g}"
                f" but {which} has {want[i, j]:.6g}"
            )
            if family is not None:
                msg = msg.replace("not equivalent:", f"not the reference at any orthogonal {family.name}:", 1)
        quote = None if hide else Reference(unicode(written), latex(written), at=len(msg))
        diagnosis = _diagnose(problem, student, written, rng, hide, witness=point)
        if diagnosis:
            msg += f"; looks like {diagnosis}"
        return Verdict(label, "incorrect", msg, counterexample=counter, diagnosis=diagnosis, reference=quote)
    if checked < POINTS:
        message = f"the reference could be evaluated at only {checked} of {POINTS} points; cannot judge reliably"
        return Verdict(label, "incorrect", message + " (please report it)")
    said = f"equal to the reference at {checked} random points with fresh sizes each (float64)"
    if family is not None:
        said = (
            f"equal to the reference at an orthogonal {family.name} (the item allows any) at {checked} random "
            "points with fresh sizes each (float64)"
        )
    return Verdict(label, "correct", said, score=1.0)


def _used(expr: sp.Basic) -> set[sp.Basic]:
    """The symbols, matrices and sequences (by their name's symbol) an expression names."""
    return set(expr.free_symbols) | set(expr.atoms(sp.MatrixSymbol))


def _as_written(problem: Problem, answer: object, student: sp.Basic) -> sp.Basic:
    """The answer before its defined symbols were written out (h_t stays h_t): what a witness shows."""
    try:
        return to_sympy(answer, problem)[0] if isinstance(answer, str) else student
    except Exception:  # read once already; a second reading that fails costs only the witness's choice
        return student


@dataclass(frozen=True)
class _Family:
    """The minimisers {M Q : Q orthogonal} of an item whose result holds for any orthogonal value of a
    factor (rlae's U_k (I − λΛ_k⁻¹)^{1/2} O): M is the reference with the factor I, on the right of the
    product (or {Q M}, on its left).  An answer is right when, at each point, Q = M⁺A (A M⁺) is
    orthogonal and M Q = A, within the comparison's tolerance."""

    factor: sp.MatrixSymbol
    right: bool

    @property
    def name(self) -> str:
        return unicode(self.factor)

    def base(self, expr: sp.Basic) -> sp.Basic:
        return expr.xreplace({self.factor: sp.Identity(self.factor.rows)})

    def nearest(self, base: np.ndarray, got: np.ndarray) -> np.ndarray:
        """The member closest to ``got``: M times the orthogonal factor nearest to M⁺A (its polar
        factor); ``got`` itself exactly when got = M Q for an orthogonal Q (M has full column rank)."""
        with np.errstate(all="ignore"):
            pinv = np.linalg.pinv(base)
            q = pinv @ got if self.right else got @ pinv
            if not np.isfinite(q).all():
                return np.full_like(got, np.nan)
            u, _, vt = np.linalg.svd(q)
            polar = u @ vt
        if not close(q.T @ q, np.eye(q.shape[1])):
            # Q itself not orthogonal (2O, O + I, a root missing): no member equals the answer
            return base @ polar if self.right else polar @ base
        return base @ q if self.right else q @ base

    def agrees(self, base: np.ndarray | None, got: np.ndarray | None) -> bool:
        """Whether ``got`` is a member of the family whose M is ``base``."""
        if base is None or got is None or base.shape != got.shape:
            return False
        return close(got, self.nearest(base, got))


def _family(problem: Problem, reference: sp.Basic) -> _Family | None:
    """The family of an arbitrary orthogonal factor, if the item declares one and the reference ends (or
    starts) with it; a reference with the factor elsewhere is a description error."""
    objects = problem.derive().symbols
    for spec in problem.symbols:
        obj = objects.get(spec.name)
        if Assumption.ARBITRARY_ORTHOGONAL not in spec.assumptions or not isinstance(obj, sp.MatrixSymbol):
            continue
        side = _side(reference, obj)
        if side is None:
            raise ValueError(f"{problem.id}: {spec.name} is an arbitrary factor but not the reference's first or last")
        return _Family(obj, side == "right")
    return None


def _side(expr: sp.Basic, factor: sp.MatrixSymbol) -> str | None:
    """ "right" or "left" where ``factor`` is the last or first factor of ``expr``'s product and
    nowhere else; None otherwise."""
    if not isinstance(expr, sp.MatMul):
        return None
    matrices = [a for a in expr.args if isinstance(a, sp.MatrixExpr)]
    if matrices and matrices[-1] == factor and not any(a.has(factor) for a in matrices[:-1]):
        return "right"
    if matrices and matrices[0] == factor and not any(a.has(factor) for a in matrices[1:]):
        return "left"
    return None


def _omitted_identities(problem: Problem, student: sp.Basic, reference: sp.Basic) -> sp.Basic:
    """A factor the item lets an answer omit ("identity when omitted"): when the answer has none, the
    reference takes it as I; when it has one, any value must work."""
    objects = problem.derive().symbols
    for spec in problem.symbols:
        obj = objects.get(spec.name)
        if Assumption.IDENTITY_WHEN_OMITTED in spec.assumptions and isinstance(obj, sp.MatrixSymbol):
            if not student.has(obj):
                reference = reference.xreplace({obj: sp.Identity(obj.rows)})
    return reference


def _sizes(point: MatrixPoint) -> str:
    parts = [f"{unicode(k)} = {number_text(v)}" for k, v in point.scalars.items() if getattr(k, "is_integer", False)]
    return ", ".join(parts) or "these values"


@lru_cache(maxsize=256)  # the same reference for every answer: build its mutations once
def matrix_mutations(reference: sp.Basic, limit: int = 80) -> tuple[Mutation, ...]:
    """Common matrix mistakes: a missing transpose, a commuted product, a reversed ordered
    product, a dropped term, a flipped sign, an exponent or an index off by one."""
    out = scale_mutations(reference)
    # b aᵀ for a bᵀ: the whole result transposed (where it is square; a 1×1 one equals its transpose,
    # which the witness rule of _diagnose excludes)
    out.append(Mutation(sp.Transpose(reference), "the whole result is transposed", "the result is transposed"))
    for path, node in occurrences(reference):
        if isinstance(node, sp.Transpose):
            out.append(
                Mutation(
                    replace_at(reference, path, node.arg),
                    "{} appears without its transpose",
                    "a transpose is missing",
                    parts=(node.arg,),
                )
            )
        elif isinstance(node, (sp.MatrixSymbol, SequenceElement)):
            out.append(
                Mutation(
                    replace_at(reference, path, node.T), "{} appears transposed", "a transpose is extra", parts=(node,)
                )
            )
        if isinstance(node, sp.MatMul):
            mats = [k for k, a in enumerate(node.args) if isinstance(a, sp.MatrixExpr)]
            for a, b in zip(mats, mats[1:], strict=False):
                args = list(node.args)
                args[a], args[b] = args[b], args[a]
                desc = "the product {}·{} is commuted"
                parts = (
                    node.args[a],
                    node.args[b],
                )
                out.append(
                    Mutation(
                        replace_at(reference, path, sp.MatMul(*args)),
                        desc,
                        "a product is in the wrong order",
                        parts=parts,
                    )
                )
        elif isinstance(node, sp.MatAdd):
            for term in node.args:
                rest = [t for t in node.args if t is not term]
                new = sp.MatAdd(*rest) if len(rest) > 1 else rest[0]
                out.append(
                    Mutation(
                        replace_at(reference, path, new), "the term {} is missing", "a term is missing", parts=(term,)
                    )
                )
        elif isinstance(node, sp.HadamardProduct):
            for factor in node.args:
                rest = [f for f in node.args if f is not factor]
                new = sp.HadamardProduct(*rest) if len(rest) > 1 else rest[0]
                desc = "the entrywise factor {} is missing"
                parts = (factor,)
                out.append(
                    Mutation(replace_at(reference, path, new), desc, "an entrywise factor is missing", parts=parts)
                )
        elif isinstance(node, sp.MatPow) and (node.exp.is_Integer or not node.exp.is_Rational):
            for shift in (1, -1):
                new = sp.MatPow(node.base, node.exp + shift)
                desc = "the power of {} is off by one ({} instead of {})"
                parts = (node.base, node.exp + shift, node.exp)
                out.append(Mutation(replace_at(reference, path, new), desc, "a power is off by one", parts=parts))
        elif isinstance(node, sp.MatPow):  # a root: dropped, or doubled
            for new, what in ((node.base, "is missing"), (sp.MatPow(node.base, 2 * node.exp), "is doubled")):
                desc = f"the power {{}} of {{}} {what}"
                parts = (
                    node.exp,
                    node.base,
                )
                out.append(Mutation(replace_at(reference, path, new), desc, "a power is wrong", parts=parts))
        elif isinstance(node, OrderedProduct):
            var, lo, hi = node.limits
            reversed_body = node.body.xreplace({var: lo + hi - var})
            out.append(
                Mutation(
                    replace_at(reference, path, OrderedProduct(reversed_body, (var, lo, hi))),
                    "the product is in reverse order",
                    "the product is in reverse order",
                )
            )
            for new_lo, new_hi in ((lo - 1, hi), (lo + 1, hi), (lo, hi - 1), (lo, hi + 1)):
                out.append(
                    Mutation(
                        replace_at(reference, path, OrderedProduct(node.body, (var, new_lo, new_hi))),
                        f"the product runs from {var} = {{}} to {{}}",
                        "a bound of the product is off by one",
                        parts=(
                            new_lo,
                            new_hi,
                        ),
                    )
                )
        elif isinstance(node, SequenceElement):
            for shift in (1, -1):
                moved = SequenceElement(node.name, node.index + shift, *node.shape)
                out.append(
                    Mutation(
                        replace_at(reference, path, moved),
                        "{} appears instead of {}",
                        "an index is off by one",
                        parts=(
                            moved,
                            node,
                        ),
                    )
                )
        elif isinstance(node, Elementwise) and node.name in ("sigma", "sigma'", "tanh", "tanh'"):
            other = {"sigma": "sigma'", "sigma'": "sigma", "tanh": "tanh'", "tanh'": "tanh"}[node.name]
            out.append(
                Mutation(
                    replace_at(reference, path, Elementwise(other, node.arg)),
                    f"{function_name(other)} appears instead of {function_name(node.name)}",
                    "a function and its derivative are mixed up",
                )
            )
    return tuple(unique(out, reference, limit))


def _diagnose(
    problem: Problem,
    student: sp.Basic,
    reference: sp.Basic,
    rng: random.Random,
    hide: bool,
    witness: MatrixPoint | None = None,
) -> str | None:
    """The mutation the answer agrees with: equal where both evaluate, failing where both fail.

    The witness (where the answer and the reference differ) is among the points: a mutation that
    agrees with the answer there differs from the reference there, so a change that leaves the
    reference's value alone (Λ_kᵀ for a diagonal Λ_k) is never claimed as the mistake.  Where the item
    has an arbitrary orthogonal factor, a mutation that keeps it last (or first) is a family too, and
    agrees with the answer where the answer is one of its members.

    At most DIAGNOSIS_EVALUATIONS evaluations (a count, so verdicts do not depend on the
    machine's speed): a large reference has many mutations, and a wrong answer must get
    its verdict in time even when no diagnosis is found."""
    budget = DIAGNOSIS_EVALUATIONS
    defined = table_for(problem).definitions
    sample = []
    drawn = [p for p, _ in _points(problem, substitute_definitions(reference, defined), random.Random(rng.random()), 6)]
    for point in ([witness] if witness is not None else []) + drawn:
        try:
            sample.append((point, matrix_value(student, point)))
        except (ShapeMismatch, TooLong):
            sample.append((point, None))
    if not sample:
        return None
    student_key = ""
    family = _family(problem, substitute_definitions(reference, defined))
    for m in matrix_mutations(reference):
        expr = substitute_definitions(m.expr, defined)
        # a mutation with the factor in its place: compared as a family (its M), else value by value
        members = family is not None and _side(expr, family.factor) == ("right" if family.right else "left")
        if members:
            expr = family.base(expr)
        agree = 0
        for point, got in sample:
            budget -= 1
            if budget < 0:
                return None
            try:
                value = matrix_value(expr, point)
            except (ShapeMismatch, TooLong):
                value = None
            if (got is None) != (value is None):
                break
            if got is not None and not (family.agrees(value, got) if members else close(got, value)):
                break
            agree += got is not None
        else:
            # where nothing evaluates (every point a shape error), the same tree must have been written
            if agree or _canonical(expr) == (student_key := student_key or _canonical(student)):
                return m.hint if hide else m.detail
    return None


_BOUND = sp.Symbol("_k", integer=True)


def _entrywise_normal(e: sp.Basic) -> sp.Basic:
    """h^{∘2} as h ⊙ h, and a number factor of an entrywise product in front: (−h) ⊙ h as −(h ⊙ h),
    the forms the answer parser gives, so a printed mutation compares equal to its tree."""
    if isinstance(e, sp.HadamardPower):
        if not (e.exp.is_Integer and e.exp > 1):
            return e
        factors = [e.base] * int(e.exp)
    else:
        factors = list(e.args)
    coeff, plain_factors = sp.Integer(1), []
    for a in factors:
        if isinstance(a, sp.MatMul) and a.args[0].is_number:
            coeff *= a.args[0]
            a = sp.MatMul(*a.args[1:]) if len(a.args) > 2 else a.args[1]
        plain_factors.append(a)
    product = sp.HadamardProduct(*plain_factors)
    return product if coeff == 1 else sp.MatMul(coeff, product)


@lru_cache(maxsize=4096)
def _canonical(expr: sp.Basic) -> str:
    """A tree's canonical spelling, to compare a written answer with a mutation structurally
    (a sum's or product's own index renamed, so Σ_t and Σ_i compare equal)."""
    renamed = expr.replace(
        lambda e: isinstance(e, (MatrixSum, OrderedProduct)),
        lambda e: e.func(e.body.xreplace({e.limits[0]: _BOUND}), (_BOUND, *e.limits[1:])),
    ).replace(lambda e: isinstance(e, (sp.HadamardPower, sp.HadamardProduct)), _entrywise_normal)
    # diag(v) as an opaque symbol named by v's own form: SymPy's doit would ask its assumptions
    # system about every diag factor (a fifth of a second for one GRU Jacobian)
    renamed = renamed.replace(
        lambda e: isinstance(e, sp.DiagMatrix),
        lambda e: sp.MatrixSymbol("diag:" + sp.srepr(e.args[0]), *e.shape),
    )
    try:
        return sp.srepr(renamed.doit())
    except Exception:
        return sp.srepr(renamed)


def _warm(problem: Problem) -> None:
    matrix_mutations(problem.derive().result)


MATRIX = AnswerKind("matrix", judge_matrix, typeset_text, _warm)

"""Answer checking, generically over every checkable catalog item and on hostile input."""

from __future__ import annotations

import pytest
import sympy as sp

from dlverify import notation, registry
from dlverify.checking.judge import judge
from dlverify.checking.kinds import answer_kind, checkable_kinds
from dlverify.checking.matrices import matrix_mutations
from dlverify.checking.mutations import Mutation, mutations, scale_mutations
from dlverify.checking.pool import CheckerPool

CHECKABLE = [p for p in registry.problems().values() if p.kind in checkable_kinds() and p.kind != "choice"]
IDS = [p.id for p in CHECKABLE]
CHOICES = [p for p in registry.problems().values() if p.kind == "choice"]


@pytest.mark.parametrize("problem", CHOICES, ids=[p.id for p in CHOICES])
def test_a_choice_key_is_correct_and_every_other_option_is_not(problem) -> None:
    key = sorted(problem.derive().result)
    assert judge(problem.id, key).ok
    assert judge(problem.id, [k.upper() for k in key]).ok  # case does not matter
    for option in problem.answer.options:
        if option not in key:
            assert judge(problem.id, [option]).verdict == "incorrect", option


def _entries(problem) -> dict[str, sp.Basic]:
    return problem.derive().entries()


def _printed(value: sp.Basic, printer) -> object:
    if isinstance(value, sp.Tuple) and len(value) == 3:  # a trace's node: definition | value | tangent
        return f"{printer(value[0])} | {float(value[1]):.4f} | {float(value[2]):.4f}"
    if isinstance(value, sp.ImmutableDenseMatrix):  # numbers: an array of rows, to 4 decimals
        return [[round(float(x), 4) for x in row] for row in value.tolist()]
    return printer(value)


def _as_answer(problem, printer) -> object:
    entries = _entries(problem)
    if answer_kind(problem.kind).takes_table:
        return {k: _printed(v, printer) for k, v in entries.items()}
    return printer(entries[""])


@pytest.mark.parametrize("printer", [notation.latex, notation.plain], ids=["latex", "plain"])
@pytest.mark.parametrize("problem", CHECKABLE, ids=IDS)
def test_the_printed_reference_is_correct(problem, printer) -> None:
    verdict = judge(problem.id, _as_answer(problem, printer))
    assert verdict.verdict == "correct", verdict.message


def _same_value(a: sp.Basic, b: sp.Basic, problem) -> bool:
    """Exact equality for T = 1..6 (sums made finite), independent of the checker's points."""
    sizes = [s for s in problem.derive().symbols.values() if getattr(s, "name", "") == "T"]
    diff = a - b
    if not sizes:
        return sp.expand(diff.doit()) == 0
    return all(sp.expand(diff.subs(sizes[0], k).doit()) == 0 for k in range(1, 7))


def _matrix_same_value(a: sp.Basic, b: sp.Basic, problem) -> bool:
    """Equal at random points (the evaluator is the one the cross-check validates against torch)."""
    import random

    import numpy as np

    from dlverify.checking.matrices import draw_matrix_point
    from dlverify.matrix_eval import ShapeMismatch, close, matrix_value
    from dlverify.problem import Assumption

    # an item whose result holds for any orthogonal factor O (rlae.optimum): the same when a = M Q for an
    # orthogonal Q, M being b at O = I (least squares for Q, then QᵀQ = I checked directly)
    objects = problem.derive().symbols
    free = [objects[s.name] for s in problem.symbols if Assumption.ARBITRARY_ORTHOGONAL in s.assumptions]
    rng = random.Random(1)
    for _ in range(6):
        point = draw_matrix_point(problem, rng, stress=True)
        try:
            got = matrix_value(a, point)
            if free:
                base = matrix_value(b.xreplace({free[0]: sp.Identity(free[0].rows)}), point)
                if got.shape != base.shape:
                    return False
                q = np.linalg.lstsq(base, got, rcond=None)[0]
                if not (close(base @ q, got) and close(q.T @ q, np.eye(q.shape[1]))):
                    return False
            elif not close(got, matrix_value(b, point)):
                return False
        except ShapeMismatch:
            return False
    return True


def _reread(expr: sp.Basic, ref: sp.Basic, problem) -> sp.Basic:
    from dlverify.checking.reading import to_sympy

    return to_sympy(notation.latex(expr), problem, shape=ref.shape)[0]


def _mutants(problem):
    """Mutations that change the value (the sum to T + 1 of (T − t + 1)… adds a zero term)."""
    for name, ref in _entries(problem).items():
        if problem.kind == "bigO":  # a constant factor is the same bound: one factor of a size more or less is not
            for size in sorted(ref.free_symbols, key=str):
                yield name, Mutation(ref * size, f"an extra factor {size}", "")
                yield name, Mutation(sp.expand(ref / size), f"a factor {size} missing", "")
            continue
        if problem.kind == "trace":  # a node's value off in the third decimal, its derivative doubled
            yield name, Mutation(sp.Tuple(ref[0], ref[1] + sp.Rational(1, 100), ref[2]), "a wrong value", "")
            if ref[2] != 0:
                yield name, Mutation(sp.Tuple(ref[0], ref[1], 2 * ref[2]), "a wrong derivative", "")
            continue
        if isinstance(ref, sp.ImmutableDenseMatrix):  # numbers: the whole array's slips
            yield from ((name, m) for m in scale_mutations(ref))
            continue
        if problem.kind == "shape":
            wrong = [sp.Tuple(ref[0] + 1, *ref[1:]), sp.Tuple(*reversed(ref.args)) if len(ref) > 1 else None]
            yield from ((name, Mutation(w, "a wrong axis", "")) for w in wrong if w is not None and w != ref)
            continue
        if problem.kind == "matrix":
            # judged as printed: the printed form is what a student would write
            found = [
                m for m in matrix_mutations(ref) if not _matrix_same_value(_reread(m.expr, ref, problem), ref, problem)
            ]
        else:
            found = [m for m in mutations(ref) if not _same_value(m.expr, ref, problem)]
        yield from ((name, m) for m in found)


@pytest.mark.parametrize("problem", CHECKABLE, ids=IDS)
def test_mutations_are_incorrect_with_a_counterexample(problem) -> None:
    checked = 0
    for name, m in _mutants(problem):
        answer = _as_answer(problem, notation.latex)
        if answer_kind(problem.kind).takes_table:
            answer[name] = _printed(m.expr.doit(), notation.latex)
        else:
            answer = notation.latex(m.expr)
        verdict = judge(problem.id, answer)
        assert verdict.verdict == "incorrect", (m.detail, verdict.message)
        assert verdict.counterexample is not None, m.detail
        # a wrong shape gets its axis named, and an answer whose shapes do not fit says so, instead
        if problem.kind != "shape" and "shapes do not fit" not in verdict.message:
            assert verdict.diagnosis is not None, f"no diagnosis for a mutation ({m.detail})"
        checked += 1
    assert checked >= (1 if problem.kind == "shape" else 3)  # the sign and the two scales; a wrong shape


# matrix answers are float64 by design, and so are tables of numbers
EXACT = [
    p
    for p in CHECKABLE
    if p.kind in ("expr", "table", "indexed")
    and not any(isinstance(v, sp.ImmutableDenseMatrix) for v in p.derive().entries().values())
]


@pytest.mark.parametrize("problem", EXACT, ids=[p.id for p in EXACT])
def test_fast_exact_evaluation_agrees_with_sympy(problem) -> None:
    # The compiled Fraction route must give exactly what SymPy's substitution gives.
    import random

    from dlverify.checking.points import _fast, _slow, draw

    rng = random.Random(0)
    exprs = [m.expr for _, m in _mutants(problem)] + list(_entries(problem).values())
    compared = 0
    for expr in exprs:
        for _ in range(3):
            point = draw(problem, rng)
            fast = _fast(expr, point)
            if fast is not None:
                assert fast == _slow(expr, point), expr
                compared += 1
    assert compared >= len(exprs)  # the fast route handled these polynomial answers


def test_diagnosis_names_the_mistake() -> None:
    v = judge("scalar_rnn.dy_dw_general", r"\sum_{t=1}^{T} (T-t+1) w^{T-t+1} u_t")
    assert v.diagnosis == "the exponent of w is off by one (T - t + 1 instead of T - t)"
    hidden = judge("scalar_rnn.dy_dw_general", r"\sum_{t=1}^{T} (T-t+1) w^{T-t+1} u_t", hide_reference=True)
    assert hidden.diagnosis == "an exponent is off by one"
    assert hidden.reference is None and "Sum(" not in hidden.said() and "reference:" not in hidden.said()
    assert hidden.counterexample.reference_value  # the value at the witness is still shown


def test_near_misses_are_told_apart_exactly() -> None:
    right = r"\sum_{t=1}^{T} (T-t+1) w^{T-t} u_t"
    assert judge("scalar_rnn.dy_dw_general", right).ok
    assert not judge("scalar_rnn.dy_dw_general", right + " + 2^{-99}").ok
    assert not judge("scalar_rnn.dy_dp", "w^3 (1 + 2^{-60})").ok


def test_verdicts_are_deterministic() -> None:
    a = judge("scalar_rnn.dy_dw", "3w^2 u_1 + 2 w u_2").to_json()
    b = judge("scalar_rnn.dy_dw", "3w^2 u_1 + 2 w u_2").to_json()
    assert a == b


def test_table_scores_each_entry() -> None:
    v = judge("scalar_rnn.edge_partials", {"q": "w^2 p", "s": "w r", "y": "w t"})
    assert v.verdict == "incorrect" and v.score == pytest.approx(2 / 3)
    assert v.entries["y"].diagnosis == "it has an extra factor w"


def test_wrong_shapes_of_answers(planned_row: str) -> None:
    assert judge("scalar_rnn.dy_dw", ["w"]).verdict == "unparsed"
    assert judge("scalar_rnn.forward", "w").verdict == "unparsed"
    assert judge("scalar_rnn.forward", {"p": "u_1"}).entries["q"].verdict == "missing"
    assert judge("no.such_id", "w").verdict == "unknown_id"
    assert judge(planned_row, "w").verdict == "unsupported"


HOSTILE = [
    "__import__('os').system('touch {sentinel}')",
    "exec(\"open('{sentinel}', 'w')\")",
    "eval('1')",
    r"\input{/etc/passwd}",
    r"\write18{touch {sentinel}}",
    r"9^{9^{9^9}}",
    "w^(10^10)",
    r"\sum_{t=1}^{10^{9}} u_t",
    "(" * 10_000 + "w" + ")" * 10_000,
    "w" + "+w" * 990,
    "u_1\x00",
    "1e999999999",
    "",
    "lambda: 0",
    "w." + "__class__",
]


def test_hostile_answers_get_a_verdict_and_execute_nothing(tmp_path) -> None:
    sentinel = tmp_path / "SENTINEL"
    with CheckerPool(1, timeout=2.0) as pool:
        for text in HOSTILE:
            answer = text.replace("{sentinel}", str(sentinel))
            v = pool.check("scalar_rnn.dy_dw_general", answer)
            assert v.verdict in ("unparsed", "incorrect"), (answer[:40], v)
            assert v.message
        assert pool.check("'; DROP TABLE", "w").verdict == "unknown_id"
    assert not sentinel.exists()


def test_the_time_limit_holds_even_when_sympy_would_run_for_minutes() -> None:
    # Three nested sums of 10^3 terms each: expanding them takes minutes.
    slow = r"\sum_{a=1}^{1000} \sum_{b=1}^{1000} \sum_{c=1}^{1000} u_a"
    with CheckerPool(1, timeout=1.0) as pool:
        v = pool.check("scalar_rnn.dy_dw_general", slow)
        assert v.verdict == "timeout" and "could not be evaluated within 1 s of CPU time" in v.message
        assert pool.replaced == 1
        # the replacement worker is ready and right
        assert pool.check("scalar_rnn.dy_dp", "w^3").ok


def test_python_api_judges_in_a_worker() -> None:
    from dlverify.checking import check

    assert check("scalar_rnn.dy_dp", "w^3").ok
    v = check("scalar_rnn.dy_dp", r"\input{/etc/passwd}")
    assert v.verdict == "unparsed" and "unknown LaTeX command \\input" in v.message

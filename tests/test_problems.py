"""Generic tests run over every problem description (the OpInfo pattern).

Adding a problem to the registry adds it to every test here.
"""

from __future__ import annotations

import dataclasses

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from derivations.core import Derivation
from dlverify import registry
from dlverify.crosscheck import agreement, cross_check
from dlverify.problem import Problem
from tests.conftest import PROFILE

PROBLEMS = list(registry.problems().values())
IDS = [p.id for p in PROBLEMS]
WITH_PROPERTIES = [(p, prop) for p in PROBLEMS for prop in p.properties]


def _examples(declared: int | None) -> settings:
    """The profile's settings; in the ci profile, a costly item's own smaller count of cases."""
    if declared is None or PROFILE != "ci":
        return settings()
    return settings(max_examples=min(declared, settings().max_examples))


@pytest.mark.parametrize("problem", PROBLEMS, ids=IDS)
def test_reference_equals_oracle(problem: Problem) -> None:
    @_examples(problem.ci_examples)
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        case = data.draw(problem.cases(), label="case")
        for m in agreement(problem, case):
            assert m.ok, f"{m.check}: error {m.error:.3g} > tolerance {m.tolerance:.3g} at {case}"

    run()


@pytest.mark.parametrize(
    ("problem", "prop"), WITH_PROPERTIES, ids=[f"{p.id}-{prop.name}" for p, prop in WITH_PROPERTIES]
)
def test_property(problem: Problem, prop) -> None:
    @_examples(prop.ci_examples)
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        case = data.draw(problem.cases(), label="case")
        for m in prop.measure(case):
            assert m.ok, f"{m.check}: error {m.error:.3g} > tolerance {m.tolerance:.3g} at {case}"

    run()


def _scaled(problem: Problem, factor: sp.Expr) -> Problem:
    original = problem.derive()
    if original.is_choice:  # a choice: another option instead of the key
        others = [o for o in problem.answer.options if o not in original.result]
        # another option; or, where the key is every option, one of them left out
        wrong = frozenset({others[0]}) if others else frozenset(sorted(original.result)[1:])
        wrong_key = Derivation(wrong, original.steps, original.symbols)
        return dataclasses.replace(problem, derive=lambda: wrong_key)

    def wrong(v: sp.Basic) -> sp.Basic:
        if problem.kind == "bigO":  # a constant factor is the same bound: one more factor of a size is not
            return v * sorted(v.free_symbols, key=str)[0]
        if isinstance(v, sp.Tuple) and problem.compare:  # thresholds of an experiment: far too strict
            return sp.Tuple(*(a * sp.Rational(1, 10**6) for a in v))
        if isinstance(v, sp.Tuple):  # a shape: one axis one longer
            return sp.Tuple(v[0] + 1, *v[1:])
        return v * factor

    mutated = {k: wrong(v) for k, v in original.entries().items()}
    result = mutated[""] if set(mutated) == {""} else mutated
    wrong = Derivation(result, original.steps, original.symbols)
    return dataclasses.replace(problem, derive=lambda: wrong)


MEASURED = [p for p in PROBLEMS if not p.argument_only]


@pytest.mark.parametrize("problem", MEASURED, ids=[p.id for p in MEASURED])
def test_a_wrong_reference_is_caught(problem: Problem) -> None:
    # A reference off by one part in a million must fail the cross-check, so the
    # agreement above is evidence and not a test that cannot fail.
    wrong = _scaled(problem, sp.Rational(1_000_001, 1_000_000))
    if wrong.recorded is not None:
        # an experiment too long to run twice (training, minutes in the thorough profile): its stored
        # results, compared as a live run is (the live run is test_reference_equals_oracle's)
        assert not all(m.ok for m in wrong.recorded(wrong))
        return
    check = cross_check(wrong, examples=20, shrink=False)  # failing is the point here, not the smallest case
    assert not check.passed
    assert check.failing_case is not None


@pytest.mark.parametrize("problem", [p for p in PROBLEMS if p.argument_only])
def test_a_statement_no_experiment_decides_says_so(problem: Problem) -> None:
    # Its oracle accepts every option, so its record must not pass for a measurement: the oracle's
    # name says the argument alone carries it, and the argument is in the derivation.
    assert problem.kind == "choice" and problem.oracle({}) == frozenset(problem.answer.options)
    assert "argument" in problem.oracle_name
    assert len(problem.derive().steps[0].text) > 80


@pytest.mark.parametrize("problem", PROBLEMS, ids=IDS)
def test_description_is_complete(problem: Problem) -> None:
    from dlverify.checking.names import table_for

    table_for(problem)  # every spelling of every symbol reads back through the answer parser
    d = problem.derive()
    assert d.steps, "a derivation needs its steps"
    assert problem.id.split(".")[0] == problem.topic
    if d.is_choice:
        assert d.result <= set(problem.answer.options)
        return
    declared = {s.name for s in problem.symbols}
    names_of = {obj: name for name, obj in d.symbols.items()}
    for expr in d.entries().values():
        used = {names_of.get(s, getattr(s, "name", str(s))) for s in expr.free_symbols if not isinstance(s, sp.Indexed)}
        used |= {names_of[b] for b in expr.atoms(sp.IndexedBase) if b in names_of}
        assert used <= declared, f"result uses undeclared symbols {used - declared}"
    if problem.kind == "table":
        assert set(d.entries()) == set(problem.entries)


@pytest.mark.parametrize("problem", PROBLEMS, ids=IDS)
def test_every_character_of_the_description_is_typeset(problem: Problem) -> None:
    # pdflatex drops a character it has no glyph for, silently: C⁻¹ printed as "C".
    from dlverify.notation import _UNICODE

    d = problem.derive()
    texts = [problem.title, problem.statement, problem.tolerance_note, problem.oracle_name]
    texts += [s.meaning for s in problem.symbols] + [s.text for s in d.steps] + [s.lhs_text for s in d.steps]
    texts += list(d.result) if isinstance(d.result, dict) else []
    missing = {ch for t in texts for ch in t if ord(ch) > 127 and ch not in _UNICODE}
    assert not missing, f"no LaTeX for {sorted(missing)}"

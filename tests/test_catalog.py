"""The catalog as a value, answer kinds that carry what is asked of them, and the vocabularies
that used to be strings (assumptions, choice keys, a trace's mode, Python's digit limit)."""

from __future__ import annotations

import dataclasses
import os
import pickle
import tomllib
from pathlib import Path

import pytest

from dlverify import registry
from dlverify.checking.kinds import KIND_MODULES, answer_kind, comment
from dlverify.cli import EXIT_USAGE, _assignable, main
from dlverify.course import ProblemFileError
from dlverify.problem import Assumption, Problem, SymbolSpec, TraceMode

COURSE = Path(__file__).resolve().parents[1] / "examples" / "course"
SOFTMAX = COURSE / "softmax.toml"
SOFTMAX_ID = "course.softmax.dL_dz"


# ---- the catalog ------------------------------------------------------------------------


def test_the_fixture_gives_each_test_a_fresh_current_catalog(catalog: registry.Catalog) -> None:
    assert registry.current() is catalog and catalog is not registry.default_catalog()
    assert list(catalog.problems) == list(registry.default_catalog().problems)
    assert catalog.course_files == ()
    pid = next(iter(catalog.problems))
    assert registry.source(pid) == registry.DescriptionModule("dlverify.problems.scalar_rnn")
    assert registry.source_module(pid) == "dlverify.problems.scalar_rnn"


def test_a_course_file_read_into_one_catalog_leaves_another_untouched(catalog: registry.Catalog) -> None:
    other = registry.build_catalog()
    with_course = catalog.adding_file(SOFTMAX)
    assert SOFTMAX_ID in with_course.problems and SOFTMAX_ID not in catalog.problems
    assert SOFTMAX_ID not in other.problems and other.course_files == ()
    assert with_course.course_files == (SOFTMAX,)
    assert with_course.sources[SOFTMAX_ID] == registry.CourseFile(SOFTMAX)
    assert "course" in with_course.topics and "course" not in catalog.topics
    with pytest.raises(TypeError):  # read-only: a catalog is changed only by making a new one
        catalog.problems[SOFTMAX_ID] = with_course.problems[SOFTMAX_ID]  # type: ignore[index]


def test_load_problems_replaces_the_current_catalog_until_the_block_ends(catalog: registry.Catalog) -> None:
    with registry.using(catalog):
        loaded = registry.load_problems(SOFTMAX)
        assert SOFTMAX_ID in {p.id for p in loaded} and SOFTMAX_ID in registry.problems()
        assert registry.source_module(SOFTMAX_ID) == ""  # not described by a module: never cached on disk
        with pytest.raises(ProblemFileError, match="already defined"):
            registry.load_problems(SOFTMAX)
        assert registry.current().course_files == (SOFTMAX,)  # the failed second read added nothing
    assert SOFTMAX_ID not in registry.problems() and SOFTMAX_ID not in catalog.problems


def test_a_command_with_a_course_file_leaves_the_catalog_as_it_was(catalog, capsys) -> None:
    assert main(["list", "--problems", str(SOFTMAX)]) == 0
    assert SOFTMAX_ID in capsys.readouterr().out
    assert registry.current() is catalog and SOFTMAX_ID not in registry.problems()


def test_a_problem_added_in_code_is_in_memory_and_an_existing_id_needs_replace(catalog) -> None:
    original = catalog.problems["scalar_rnn.dy_dp"]
    copy = dataclasses.replace(original, id="scalar_rnn.copy")
    added = catalog.adding([copy])
    assert isinstance(added.sources["scalar_rnn.copy"], registry.InMemory)
    assert list(added.problems)[-1] == "scalar_rnn.copy"
    with pytest.raises(ValueError, match="scalar_rnn.dy_dp is already defined"):
        catalog.adding([original])
    retitled = catalog.adding([dataclasses.replace(original, title="another")], replace=True)
    assert list(retitled.problems) == list(catalog.problems)  # replaced where it stood
    assert retitled.problems["scalar_rnn.dy_dp"].title == "another"


def test_a_pool_judges_against_the_catalog_it_is_given(catalog) -> None:
    """Only the course files cross to the workers, which read them into their own catalog."""
    from dlverify.checking.pool import CheckerPool

    answer = r"exp(z) (\mathbf{1}^T exp(z))^{-1} - y"
    with CheckerPool(1, timeout=20.0, ids=[SOFTMAX_ID], catalog=catalog.adding_file(SOFTMAX)) as pool:
        assert pool.check(SOFTMAX_ID, answer).verdict == "correct"
    with CheckerPool(1, timeout=20.0) as pool:  # the current catalog has no course file
        assert pool.check(SOFTMAX_ID, answer).verdict == "unknown_id"


# ---- answer kinds -------------------------------------------------------------------------


def _template(problem: Problem) -> str:
    lines = comment(f"{problem.id} — {problem.title} [{problem.kind}]") + comment(problem.statement, 88)
    return "\n".join(lines + answer_kind(problem.kind).skeleton(problem)) + "\n"


def test_every_kinds_skeleton_is_toml_with_the_items_table_where_it_is_answered(catalog) -> None:
    seen = set()
    for problem in catalog.problems.values():
        kind = answer_kind(problem.kind)
        parsed = tomllib.loads(_template(problem))
        seen.add(kind.name)
        if not kind.checkable:
            assert parsed == {}, problem.id
            continue
        assert list(parsed) == [problem.id], problem.id
        body = parsed[problem.id]
        if problem.kind == "table":
            assert list(body) == list(problem.entries)
        elif not kind.takes_table:
            assert list(body) == ["answer"], problem.id
    assert seen == set(KIND_MODULES)  # the catalog has an item of every kind


def test_a_reverse_trace_asks_for_the_inputs_adjoints_too(catalog) -> None:
    forward, reverse = (catalog.problems[f"autodiff.{mode}_trace"] for mode in TraceMode)
    skeleton = answer_kind("trace").skeleton
    assert forward.answer.trace is TraceMode.FORWARD and reverse.answer.trace is TraceMode.REVERSE
    assert "v-2 = ''" in skeleton(reverse) and "v-2 = ''" not in skeleton(forward)


def test_only_tables_and_traces_take_a_table() -> None:
    assert {name for name in KIND_MODULES if answer_kind(name).takes_table} == {"table", "trace"}


def test_a_claim_is_not_answerable(catalog, tmp_path: Path, capsys) -> None:
    claim = next(p for p in catalog.problems.values() if p.kind == "claim")
    kind = answer_kind("claim")
    assert not kind.checkable and "claim" not in [n for n in KIND_MODULES if answer_kind(n).checkable]
    assert "not answered" in _assignable(claim.id) and kind.noun in _assignable(claim.id)
    assert _assignable("scalar_rnn.dy_dp") is None
    assert main(["autograder", claim.id, "--out", str(tmp_path / "out")]) == EXIT_USAGE
    assert "none of these ids takes an answer" in capsys.readouterr().err
    from dlverify.checking.judge import judge

    assert judge(claim.id, "anything").verdict == "unsupported"


def test_a_table_where_one_value_is_expected_is_unparsed(catalog) -> None:
    from dlverify.checking.judge import judge

    verdict = judge("scalar_rnn.dy_dp", {"answr": "3 w^2"})
    assert verdict.verdict == "unparsed" and "did you mean answer" in verdict.message


# ---- vocabularies -------------------------------------------------------------------------


def _problem(*symbols: SymbolSpec, **changes) -> Problem:
    base = registry.default_catalog().problems["scalar_rnn.dy_dp"]
    return dataclasses.replace(base, id="test.item", symbols=symbols, **changes)


def test_known_assumptions_are_read_as_the_vocabulary() -> None:
    spec = SymbolSpec("beta", r"\beta", "real", assumptions=("positive", "in (0, 1)"))
    assert spec.assumptions == (Assumption.POSITIVE, Assumption.UNIT_INTERVAL)
    assert all(isinstance(a, Assumption) for a in spec.assumptions)


@pytest.mark.parametrize(
    ("assumption", "said"),
    [("postive", "did you mean 'positive'"), ("orthonormal", "'orthonormal'"), ("below Nope", "no matrix 'Nope'")],
)
def test_an_unknown_assumption_is_refused_by_name(assumption: str, said: str) -> None:
    lam = SymbolSpec("lambda", r"\lambda", "real", assumptions=(assumption,))
    with pytest.raises(ValueError, match="unknown assumption") as refused:
        _problem(lam)
    assert "test.item" in str(refused.value) and "lambda" in str(refused.value) and said in str(refused.value)


def test_below_names_a_matrix_of_the_problem() -> None:
    lam = SymbolSpec("lambda", r"\lambda", "real", assumptions=("positive", "below L"))
    problem = _problem(lam, SymbolSpec("L", "L", "matrix", shape=("k", "k"), assumptions=("diagonal",)))
    assert problem.symbol("lambda").below == "L" and problem.symbol("L").below is None


def test_a_trace_item_needs_its_mode() -> None:
    trace = registry.default_catalog().problems["autodiff.forward_trace"]
    with pytest.raises(ValueError, match="needs its mode"):
        dataclasses.replace(trace, answer=dataclasses.replace(trace.answer, trace=None))


def test_a_choice_key_is_a_type_that_survives_the_disk_cache() -> None:
    from derivations.core import ChoiceKey, Derivation

    key = Derivation(frozenset({"true"}), ())
    assert key.is_choice and isinstance(key.result, ChoiceKey) and key.result == frozenset({"true"})
    assert pickle.loads(pickle.dumps(key)).is_choice
    assert not Derivation(registry.get("scalar_rnn.dy_dp").derive().result, ()).is_choice


def test_pythons_digit_limit_is_told_apart_from_other_value_errors() -> None:
    from dlverify.checking.judge import int_digit_limit

    def raised(f) -> BaseException:
        try:
            f()
        except ValueError as exc:
            return exc
        raise AssertionError("no ValueError")

    def wrapped() -> None:
        try:
            int("9" * 5000)
        except ValueError as exc:
            raise ValueError("could not read the number") from exc

    assert int_digit_limit(raised(lambda: str(10**5000)))  # an integer to text
    assert int_digit_limit(raised(lambda: int("9" * 5000)))  # text to an integer
    assert int_digit_limit(raised(wrapped))  # a library's own error, caused by it
    assert not int_digit_limit(ValueError("a number with 5000 digits"))  # a checker bug mentioning digits


def test_only_the_forkserver_sees_the_flag() -> None:
    from dlverify.checking import forkserver

    assert forkserver.FLAG not in os.environ and not forkserver.in_forkserver()
    with forkserver.flagged():
        assert os.environ[forkserver.FLAG] == "1"
        assert forkserver.in_forkserver() and not forkserver.in_forkserver()  # once: its workers do not inherit it
    assert forkserver.FLAG not in os.environ

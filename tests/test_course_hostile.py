"""Hostile course problem files: each is refused with one line ``file:line[:column]: reason``, or
loads in bounded work and is then derived and checked correctly — never a traceback, a hang, or
a blow-up of time or memory (dlverify/course/, its MAX_* bounds in limits.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dlverify import course, registry
from dlverify.checking.judge import judge_problem
from dlverify.cli import main
from dlverify.course import ProblemFileError
from dlverify.crosscheck import cross_check


def _file(tmp_path: Path, body: str, pid: str = "hw.q1") -> Path:
    path = tmp_path / "hostile.toml"
    path.write_text(f'[problem."{pid}"]\n{body}\n', encoding="utf-8")
    return path


def _forward(symbols: str, lines: list[str], asks: list[str]) -> str:
    statements = "\n".join(lines)
    return f'symbols = {symbols}\nforward = """\n{statements}\n"""\nask = {json.dumps(asks, ensure_ascii=False)}'


def _refused(path: Path, where: str, reason: str) -> str:
    with pytest.raises(ProblemFileError) as caught:
        course.load(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:{where}") and reason in message, message
    assert "\n" not in message
    return message


def _refused_by_cli(path: Path, reason: str, capsys) -> None:
    assert main(["list", "--problems", str(path)]) == 2
    err = capsys.readouterr().err
    assert reason in err and "Traceback" not in err, err


# ---- loops ---------------------------------------------------------------------------------

SEQUENCE = '{ x = "sequence of vector n", h_0 = "vector n" }'


def test_a_loop_past_the_last_allowed_step_is_refused(tmp_path, capsys, catalog) -> None:
    # x_1 … x_T become inputs for the loop's last step T: the old code capped only the number of
    # steps (hi - lo < 50), so 65..66 made 66 inputs, and 5000000..5000002 five million
    path = _file(tmp_path, _forward(SEQUENCE, ["for t in 65..66:", "    h_t = tanh(x_t)"], ["dh_66/dx_66"]))
    _refused(path, "4:1:", f"0 ≤ a ≤ b ≤ {course.MAX_STEPS}")
    _refused_by_cli(path, "a loop runs over steps", capsys)


def test_a_huge_loop_range_is_refused_before_anything_is_expanded(tmp_path, monkeypatch) -> None:
    lines = ["for t in 5000000..5000002:", "    h_t = tanh(h_{t-1} + x_t)"]
    path = _file(tmp_path, _forward(SEQUENCE, lines, ["dh_5000002/dh_0"]))
    monkeypatch.setattr(course.reading, "_shape_of", lambda m: pytest.fail("a symbol was expanded"))
    _refused(path, "4:1:", "not 5000000..5000002")
    huge = _file(tmp_path, _forward(SEQUENCE, ["for t in 1..9" + "9" * 5000 + ":", "    h_t = x_t"], ["dh_1/dh_0"]))
    _refused(huge, "4:1:", "a loop runs over steps")  # no int() of 5000 digits


def test_a_long_loop_stops_at_the_statement_cap(tmp_path) -> None:
    body = [f"    a{k}_t = tanh(h_{{t-1}})" for k in range(course.MAX_STATEMENTS)]
    path = _file(
        tmp_path, _forward(SEQUENCE, ["for t in 1..64:", "    h_t = tanh(h_{t-1} + x_t)", *body], ["dh_1/dh_0"])
    )
    _refused(path, "", f"more than {course.MAX_STATEMENTS} statements")


# ---- the number of statements, and linear loading ----------------------------------------------


def _wide(n: int) -> str:
    """n statements, none using another: nothing grows but their number."""
    lines = [f"h_{k} = tanh(W x + b)" for k in range(1, n + 1)]
    return _forward('{ x = "vector n", W = "matrix m×n", b = "vector m" }', lines, ["dh_1/dx"])


def test_loading_does_work_linear_in_the_number_of_statements(tmp_path, monkeypatch) -> None:
    # The old code re-parsed the spelling of every known name for each statement: 3 times the
    # statements meant 9 times the parsing (800 statements took seconds, 3000 minutes).
    import dlverify.checking.parse as parse_module

    calls = [0]
    real = parse_module.parse

    def counting(text: str, **kw):
        calls[0] += 1
        return real(text, **kw)

    monkeypatch.setattr(parse_module, "parse", counting)
    counts = []
    for n in (50, 150):
        calls[0] = 0
        (tmp_path / str(n)).mkdir()
        course.load(_file(tmp_path / str(n), _wide(n)))
        counts.append(calls[0])
    assert counts[1] <= 3.5 * counts[0], counts  # linear: 3×, with room for the fixed part


def test_more_statements_than_the_cap_are_refused(tmp_path) -> None:
    path = _file(tmp_path, _wide(course.MAX_STATEMENTS + 1))
    _refused(path, f"{4 + course.MAX_STATEMENTS}:1:", f"more than {course.MAX_STATEMENTS} statements")


def test_blank_lines_and_comments_are_not_statements(tmp_path) -> None:
    lines = ["# a comment", ""] * course.MAX_STATEMENTS + ["h = tanh(x)"]
    _, problems = course.load(_file(tmp_path, _forward('{ x = "vector n" }', lines, ["dh/dx"])))
    assert [p.id for p in problems] == ["hw.q1.dh_dx"]


def test_a_file_has_a_bounded_number_of_problems_and_asks(tmp_path) -> None:
    one = 'symbols = { x = "vector n" }\nforward = "h = tanh(x)"\nask = ["dh/dx"]\n'
    many = "".join(f'[problem."hw.q{k}"]\n{one}' for k in range(course.MAX_PROBLEMS + 1))
    path = tmp_path / "many.toml"
    path.write_text(many, encoding="utf-8")
    with pytest.raises(ProblemFileError, match=f"more than {course.MAX_PROBLEMS} problems"):
        course.load(path)
    asks = ["dh/dx"] * (course.MAX_ASKS + 1)
    _refused(_file(tmp_path, _forward('{ x = "vector n" }', ["h = tanh(x)"], asks)), "6:", "asked derivatives")


# ---- one statement's nesting, and numbers ------------------------------------------------------


def test_five_hundred_minus_signs_are_refused_by_their_nesting(tmp_path, capsys, catalog) -> None:
    # the old code resolved them recursively: RecursionError, a traceback
    path = _file(tmp_path, 'symbols = { x = "real" }\nforward = "L = ' + "-" * 500 + 'x"\nask = ["dL/dx"]')
    _refused(path, "3:5:", f"nests more than {course.MAX_NESTING} levels")
    _refused_by_cli(path, "nests more than", capsys)


def test_a_few_minus_signs_still_read(tmp_path) -> None:
    path = _file(tmp_path, 'symbols = { x = "real" }\nforward = "L = ---x"\nask = ["dL/dx"]')
    (problem,) = course.load(path)[1]
    assert judge_problem(problem, "-1").verdict == "correct"


def test_a_numeric_power_is_a_constant(tmp_path, catalog) -> None:
    # L = x² + 2² x: ∂L/∂x = 2x + 4, which the old derivation returned as a bare number beside a
    # matrix (TypeError: every answer an error)
    path = _file(tmp_path, 'symbols = { x = "real" }\nforward = "L = x^2 + 2^2 x"\nask = ["dL/dx"]')
    (problem,) = course.load(path)[1]
    check = cross_check(problem, examples=20)
    assert check.passed, check.failure  # against torch autograd of the same statement
    assert judge_problem(problem, "2x + 4").verdict == "correct"
    assert judge_problem(problem, "2x + 2").verdict == "incorrect"


def test_a_constant_tower_is_refused_not_computed(tmp_path) -> None:
    # SymPy would compute (10^999)^999)^999 exactly: a billion digits
    path = _file(tmp_path, 'symbols = { x = "real" }\nforward = "L = ((10^{999})^{999})^{999} x"\nask = ["dL/dx"]')
    _refused(path, "3:", "beyond 1e300")


# ---- growth when written out in the inputs -----------------------------------------------------


def _fan_out(n: int) -> str:
    lines = ["a_1 = x"] + [f"a_{k} = a_{k - 1} + a_{k - 1}" for k in range(2, n + 1)] + [f"L = ||a_{n}||^2"]
    return _forward('{ x = "vector n" }', lines, ["dL/dx"])


def test_forty_fan_out_statements_are_refused_at_load(tmp_path, capsys, catalog) -> None:
    # written out, a_40 has 2^39 copies of x: the old code loaded it, and its checker workers
    # never finished preparing it ("a checker worker did not start" after 122 s)
    path = _file(tmp_path, _fan_out(40))
    _refused(path, "", "written out in the inputs")
    answers = tmp_path / "answers.toml"
    answers.write_text('["hw.q1.dL_dx"]\nanswer = "x"\n', encoding="utf-8")
    assert main(["check", str(answers), "--problems", str(path)]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_a_small_fan_out_is_checked(tmp_path, capsys, catalog) -> None:
    path = _file(tmp_path, _fan_out(4))  # a_4 = 8 x, L = ‖8x‖², ∂L/∂x = 128 x
    answers = tmp_path / "answers.toml"
    answers.write_text('["hw.q1.dL_dx"]\nanswer = "128 x"\n', encoding="utf-8")
    assert main(["check", str(answers), "--problems", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["results"][0]["verdict"] == "correct"


def _chain(n: int) -> str:
    lines = ["h_1 = tanh(x)"] + [f"h_{k} = tanh(h_{k - 1})" for k in range(2, n + 1)] + [f"L = ||h_{n}||^2"]
    return _forward('{ x = "vector n" }', lines, ["dL/dx"])


def test_a_deep_chain_never_leaves_an_answer_unparsed(tmp_path) -> None:
    # 70 statements, each using the one before: the old code loaded it, and the checker, writing
    # the reference out one level of definitions per round (64 at most), called a simple answer
    # "unparsed (RecursionError)".  Now it is refused at load, or judged.
    path = _file(tmp_path, _chain(70))
    try:
        problems = course.load(path)[1]
    except ProblemFileError as exc:
        assert str(exc).startswith(f"{path}:") and "too large to check" in str(exc)
        return
    for problem in problems:
        assert judge_problem(problem, "x").verdict == "incorrect"


def test_the_definitions_are_written_out_so_the_checker_needs_one_round(tmp_path) -> None:
    from derivations.core import substitute_definitions

    (problem,) = course.load(_file(tmp_path, _chain(30)))[1]
    d = problem.derive()
    defined = {d.symbols[name]: value for name, value in d.definitions.items()}
    expanded = substitute_definitions(d.result, defined, rounds=2)  # old: RecursionError, 30 levels needed
    assert {str(s) for s in expanded.free_symbols} <= {"x", "n"}
    assert judge_problem(problem, "x").verdict == "incorrect"


def test_a_deep_chain_is_judged_at_the_depth_allowed(tmp_path) -> None:
    (problem,) = course.load(_file(tmp_path, _chain(60)))[1]
    verdict = judge_problem(problem, "x")
    assert verdict.verdict == "incorrect", verdict.message


def test_a_derivative_too_large_to_check_is_refused_at_load(tmp_path) -> None:
    symbols = '{ x = "sequence of vector n", h_0 = "vector m", W = "matrix m×m", U = "matrix m×n", v = "vector m" }'
    lines = ["for t in 1..12:", "    h_t = tanh(W h_{t-1} + U x_t)", "L = (v^T h_12)^2"]
    _refused(_file(tmp_path, _forward(symbols, lines, ["dL/dW"])), "8:", "too large to check answers against")


# ---- the file's text ---------------------------------------------------------------------------


def test_a_title_is_one_line(tmp_path) -> None:
    # printed into listings, TOML templates and LaTeX: a newline in it broke `template`'s TOML
    body = 'title = "Two\\nlines"\nsymbols = { x = "vector n" }\nforward = "h = tanh(x)"\nask = ["dh/dx"]'
    _refused(_file(tmp_path, body), "2:", "the title is one line")


def test_a_newline_does_not_slip_through_an_id_or_a_name(tmp_path) -> None:
    body = 'symbols = { x = "vector n" }\nforward = "h = tanh(x)"\nask = ["dh/dx"]'
    _refused(_file(tmp_path, body, pid="hw.q1\\n"), "", "must look like course.item")
    named = 'symbols = { "x\\n" = "vector n" }\nforward = "h = tanh(x)"\nask = ["dh/dx"]'
    _refused(_file(tmp_path, named), "2:", "symbol 'x\\n'")


def test_toml_nested_too_deeply_is_refused(tmp_path) -> None:
    path = tmp_path / "deep.toml"
    path.write_text("a = " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    with pytest.raises(ProblemFileError, match="nested too deeply"):
        course.load(path)


def test_a_problem_file_in_an_inline_table_has_no_traceback(tmp_path) -> None:
    # no `forward = ` line of its own to count lines from
    path = tmp_path / "inline.toml"
    path.write_text(
        '[problem]\n"hw.q1" = { symbols = { x = "vector n" }, forward = "h = tanh(x", ask = ["dh/dx"] }\n',
        encoding="utf-8",
    )
    with pytest.raises(ProblemFileError, match="ends too early"):
        course.load(path)


def test_the_examples_still_load_within_the_bounds() -> None:
    examples = Path(__file__).resolve().parents[1] / "examples" / "course"
    for path in sorted(examples.glob("*.toml")):
        if not path.stem.endswith("_answers"):
            assert course.load(path)[1], path


def test_registry_loading_refuses_without_registering(tmp_path, catalog) -> None:
    before = set(registry.problems())
    with pytest.raises(ProblemFileError):
        registry.load_problems(_file(tmp_path, _fan_out(40)))
    assert set(registry.problems()) == before


@pytest.mark.parametrize("name", ["exp", "e", "pi", "sigma", "sum", "I", "diag"])
def test_a_symbol_named_like_the_notation_is_refused(tmp_path, capsys, catalog, name: str) -> None:
    """exp(e) with a symbol e would silently read as a product: such a name is not a symbol."""
    text = f'[problem."hw.q1"]\nsymbols = {{ x = "vector n", {name} = "real" }}\nforward = "L = {name} ||x||^2"\n'
    text += 'ask = ["dL/dx"]\n'
    path = tmp_path / "hw.toml"
    path.write_text(text)
    assert main(["list", "--problems", str(path)]) == 2
    assert "a name of the notation" in capsys.readouterr().err


def test_a_course_problem_cannot_join_a_catalog_topic(tmp_path, capsys, catalog) -> None:
    path = tmp_path / "hw.toml"
    text = '[problem."scalar_rnn.dy"]\nsymbols = { x = "vector n" }\nforward = "L = ||x||^2"\nask = ["dL/dx"]\n'
    path.write_text(text)
    assert main(["list", "--problems", str(path)]) == 2
    assert "would join the catalog's topic scalar_rnn" in capsys.readouterr().err

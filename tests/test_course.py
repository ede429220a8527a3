"""A course's own problem files: derived, verified against torch, checked, refused when wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlverify import notation, registry
from dlverify.checking.judge import judge, judge_problem
from dlverify.cli import main
from dlverify.course import ProblemFileError
from dlverify.crosscheck import cross_check

COURSE = Path(__file__).resolve().parents[1] / "examples" / "course"
FILES = sorted(p for p in COURSE.glob("*.toml") if not p.stem.endswith("_answers"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_asked_derivative_agrees_with_torch(path: Path, catalog) -> None:
    problems = registry.load_problems(path)
    assert problems
    for problem in problems:
        check = cross_check(problem, examples=25)
        assert check.passed, (problem.id, check.failure)
        wrong = cross_check(_scaled(problem), examples=10, shrink=False)
        assert not wrong.passed, problem.id  # the agreement above can fail


def _scaled(problem):
    import dataclasses

    import sympy as sp

    d = problem.derive()
    off = dataclasses.replace(d, result=sp.MatMul(sp.Rational(1_000_001, 1_000_000), d.result))
    return dataclasses.replace(problem, derive=lambda: off)


TWINS = [
    ("resnet", "course.resnet.dz_dh_t", "resnet.jacobian", {}),
    ("lae", "course.lae.dL_dW_1", "lae.grad_W1", {}),
    ("lae", "course.lae.dL_dW_2", "lae.grad_W2", {}),
    ("gated", "course.gated.dh_next_dh", "gated_rnn.dh_dhprev", {"h_{t-1}": "h", "x_{t}": "x", "c_{t}": "c"}),
]


@pytest.mark.parametrize(("stem", "course_id", "catalog_id", "rename"), TWINS, ids=[t[1] for t in TWINS])
def test_a_restated_catalog_item_agrees_with_its_hand_built_twin(stem, course_id, catalog_id, rename, catalog) -> None:
    registry.load_problems(COURSE / f"{stem}.toml")
    reference = notation.latex(registry.get(catalog_id).derive().result)
    for old, new in rename.items():
        reference = reference.replace(old, new)
    verdict = judge_problem(registry.get(course_id), reference)
    assert verdict.verdict == "correct", (reference, verdict.message)


ANSWERS = {
    "resnet": {"course.resnet.dz_dh_t": "correct"},
    "lae": {"course.lae.dL_dW_1": "correct", "course.lae.dL_dW_2": "incorrect"},
    "gated": {"course.gated.dh_next_dh": "correct"},
    "rnn_bptt": {"course.bptt.dh_3_dh_2": "correct", "course.bptt.dL_dh_1": "correct"},
    "softmax": {
        "course.softmax.dL_dz": "correct",
        "course.softmax.dL_dW": "correct",
        "course.softmax.dL_db": "incorrect",
    },
    "leaky_mlp": {
        "course.leaky.dL_dW_1": "correct",
        "course.leaky.dL_db_1": "incorrect",
        "course.leaky.dL_dw_2": "correct",
        "course.leaky.dL_db_2": "correct",
    },
}


@pytest.mark.parametrize("stem", sorted(ANSWERS))
def test_the_answers_files_get_their_verdicts(stem: str, capsys, catalog) -> None:
    import json

    problems = COURSE / f"{stem}.toml"
    answers = COURSE / f"{stem}_answers.toml"
    code = main(["check", str(answers), "--problems", str(problems), "--json"])
    got = {r["id"]: r["verdict"] for r in json.loads(capsys.readouterr().out)["results"]}
    assert got == ANSWERS[stem]
    assert code == (0 if set(got.values()) == {"correct"} else 1)


BAD = [
    (
        'symbols = { x = "vector m", W = "matrix m×n" }\nforward = "h = W x"\nask = ["dh/dx"]',
        ":3:",
        "W (m×n) times x (m×1)",
    ),
    ('symbols = { x = "vector n" }\nforward = "h = V x"\nask = ["dh/dx"]', ":3:5:", "undefined symbol V"),
    ('symbols = { x = "vector n" }\nforward = "h = tanh(x"\nask = ["dh/dx"]', ":3:", "ends too early"),
    ('symbols = { x = "vector n" }\nforward = "h = tanh(x)"\nask = ["dz/dx"]', ":4:", "z is not computed"),
    ('symbols = { x = "vektor n" }\nforward = "h = x"\nask = ["dh/dx"]', ":2:", 'write "real"'),
    ('symbols = { x = "vector n" }\nforward = "x = tanh(x)"\nask = ["dx/dx"]', ":3:", "defined twice"),
    (
        'symbols = { x = "vector n" }\nforward = "h = tanh(x)"\nask = ["the gradient"]',
        ":4:",
        "write a derivative as dL/dW",
    ),
    ('symbols = { x = "vector n" }\nforwrd = "h = tanh(x)"\nask = ["dh/dx"]', ":3:", "unknown key 'forwrd'"),
    ('symbols = { x = "vector n" }\nforward = "h = tanh(x)\nask = 3', ":", "not valid TOML"),
    ('symbols = { x = "sequence of vector n" }\nforward = "h = tanh(x_1)"\nask = ["dh/dx_1"]', ":2:", "no loop"),
    (
        'symbols = { x = "sequence of vector n", h_0 = "vector n" }\nforward = """\nfor t in 1..2:\n'
        '    h_t = tanh(h_{2t})\n"""\nask = ["dh_2/dh_0"]',
        ":5:",
        "may add or subtract whole numbers",
    ),
]


@pytest.mark.parametrize(("body", "where", "reason"), BAD, ids=[b[2] for b in BAD])
def test_a_malformed_problem_file_is_refused_with_its_position(body, where, reason, tmp_path, capsys, catalog) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(f'[problem."hw.q1"]\n{body}\n', encoding="utf-8")
    before = set(registry.problems())
    with pytest.raises(ProblemFileError) as caught:
        registry.load_problems(path)
    message = str(caught.value)
    assert message.startswith(str(path) + where) and reason in message, message
    assert set(registry.problems()) == before  # nothing half-registered
    assert main(["verify", "--problems", str(path)]) == 2
    err = capsys.readouterr().err
    assert reason in err and "Traceback" not in err


def test_an_intermediate_keeps_its_name_in_the_result(catalog) -> None:
    registry.load_problems(COURSE / "leaky_mlp.toml")
    d = registry.get("course.leaky.dL_dw_2").derive()
    assert "a" in {str(s) for s in d.result.free_symbols}  # the hidden activations, named
    assert judge("course.leaky.dL_dw_2", r"2 (\hat{y} - y) (\mathrm{relu}(u) - 0.1 \mathrm{relu}(-u))").ok

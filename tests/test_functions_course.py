"""A function added as one row of derivations.functions is known to a course's statements: read,
derived through by the chain rule, run by the oracle with torch's own implementation (never the
row's), agreeing under the cross-check, and checked in answers; a function torch does not have
is refused where the statement names it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
import torch

from derivations import functions
from derivations.functions import Function
from dlverify import registry
from dlverify.checking.judge import judge_problem
from dlverify.course import ProblemFileError
from dlverify.crosscheck import cross_check
from numerics import course_functions

ROOT = Path(__file__).resolve().parents[1]

LAYER = """[problem."hw.softplus"]
title = "A softplus layer"
symbols = {{ x = "vector n", W = "matrix m×n" }}
forward = '''
h = {function}(W x)
L = ||h||^2
'''
ask = ["dL/dW", "dh/dx"]
"""


def _file(tmp_path: Path, function: str) -> Path:
    path = tmp_path / f"{function}.toml"
    path.write_text(LAYER.format(function=function), encoding="utf-8")
    return path


def _scaled(problem):
    """The problem with its derived result off by one part in a million: the cross-check must see it."""
    import dataclasses

    d = problem.derive()
    off = dataclasses.replace(d, result=sp.MatMul(sp.Rational(1_000_001, 1_000_000), d.result))
    return dataclasses.replace(problem, derive=lambda: off)


@pytest.mark.usefixtures("softplus")
def test_a_statement_applies_the_added_function_and_agrees_with_torch(tmp_path: Path, catalog) -> None:
    problems = {p.id: p for p in registry.load_problems(_file(tmp_path, "softplus"))}
    assert set(problems) == {"hw.softplus.dL_dW", "hw.softplus.dh_dx"}
    for problem in problems.values():
        check = cross_check(problem, examples=25)
        assert check.passed, (problem.id, check.failure)
        assert not cross_check(_scaled(problem), examples=10, shrink=False).passed, problem.id
    # the chain rule went through softplus' = σ (its row's derivative), h keeping its name
    gradient = problems["hw.softplus.dL_dW"]
    assert judge_problem(gradient, r"2 (h \odot \sigma(W x)) x^T").verdict == "correct"
    assert judge_problem(gradient, r"2 (h \odot \sigma(W x))").verdict != "correct"
    assert judge_problem(problems["hw.softplus.dh_dx"], r"\operatorname{diag}(\sigma(W x)) W").verdict == "correct"


def test_the_oracle_runs_torchs_own_softplus() -> None:
    # the witness is independent: torch's implementation, found by the row's name
    assert course_functions.function("softplus") is torch.nn.functional.softplus
    assert course_functions.function("sigma") is torch.sigmoid
    assert course_functions.function("no_such_function") is None


def test_without_the_row_the_statement_is_refused(tmp_path: Path) -> None:
    path = _file(tmp_path, "softplus")
    with pytest.raises(ProblemFileError, match="undefined symbol softplus") as caught:
        from dlverify import course

        course.load(path)
    assert str(caught.value).startswith(f"{path}:5:5:")


WOBBLE = Function(
    "wobble", lambda x: x**3, lambda x: np.asarray(x) ** 3, r"\operatorname{wobble}", "wobble", "wobble", ("wobble",)
)


def test_a_function_the_oracle_cannot_run_is_refused_at_its_column(tmp_path: Path) -> None:
    from dlverify import course

    functions.add(WOBBLE)
    try:
        path = _file(tmp_path, "wobble")
        with pytest.raises(ProblemFileError) as caught:
            course.load(path)
    finally:
        functions.remove(WOBBLE.name)
    message = str(caught.value)
    assert message.startswith(f"{path}:5:5:") and "the oracle (torch) has no function wobble" in message, message


def test_reading_a_file_of_the_oracles_own_functions_imports_no_torch() -> None:
    # the checker's workers load a course's files and never import torch: only a function outside
    # the oracle's own table is looked up in torch
    code = (
        "import sys; from pathlib import Path; from dlverify import course;"
        f"course.load(Path({str(ROOT / 'examples/course/gated.toml')!r}));"
        "assert 'torch' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, cwd=ROOT)

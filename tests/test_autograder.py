"""The Gradescope autograder folder, run as Gradescope runs it, against a fake /autograder tree."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from dlverify.cli import main

IDS = ["scalar_rnn.dy_dw", "scalar_rnn.dy_dp", "lae.grad_W1"]


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """/autograder as Gradescope leaves it after setup.sh: the zip unpacked in source/, and the
    problems derived into the cache (setup.sh's last step; its pip installs are not rerun here)."""
    out = tmp_path_factory.mktemp("autograder-out")
    assert main(["autograder", *IDS, "--out", str(out)]) == 0
    root = tmp_path_factory.mktemp("autograder")
    with zipfile.ZipFile(out / "autograder.zip") as z:
        z.extractall(root / "source")
    for script in ("setup.sh", "run_autograder"):
        (root / "source" / script).chmod(0o755)
    assert (root / "source" / "dlverify-src" / "pyproject.toml").is_file()
    assert (root / "source" / "ids.txt").read_text().split() == IDS
    subprocess.run(["bash", "-n", str(root / "source" / "setup.sh")], check=True)  # valid shell
    env = {**os.environ, "DLVERIFY_CACHE": str(root / "dlverify-cache")}
    subprocess.run([sys.executable, "-m", "dlverify.autograder", "warm", *IDS], check=True, env=env)
    assert list((root / "dlverify-cache").rglob("*.pickle"))
    return root


def _grade(root: Path, files: dict[str, str]) -> dict:
    submission = root / "submission"
    if submission.exists():
        for f in submission.iterdir():
            f.unlink()
    submission.mkdir(exist_ok=True)
    for name, text in files.items():
        (submission / name).write_text(text, encoding="utf-8")
    results = root / "results" / "results.json"
    results.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "DLVERIFY_CACHE"}
    run = subprocess.run(
        ["bash", str(root / "source" / "run_autograder")],
        env={**env, "AUTOGRADER_ROOT": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    return json.loads(results.read_text())


def test_a_submission_is_graded_into_results_json(tree: Path) -> None:
    answers = '["scalar_rnn.dy_dw"]\nanswer = "3w^2 u_1 + 2 w u_2 + u_3"\n["scalar_rnn.dy_dp"]\nanswer = "w^2"\n'
    got = _grade(tree, {"hw.toml": answers})
    tests = {t["name"]: t for t in got["tests"]}
    assert set(tests) == set(IDS)  # the unanswered id is listed, with no marks
    assert tests["scalar_rnn.dy_dw"]["score"] == tests["scalar_rnn.dy_dw"]["max_score"] == 1
    assert tests["scalar_rnn.dy_dp"]["score"] == 0  # w^2 for w^3
    assert tests["lae.grad_W1"]["score"] == 0
    assert got["score"] == 1
    assert "w**3" not in json.dumps(got) and "w^3" not in json.dumps(got)  # the reference stays hidden


def test_no_answers_file_or_several_are_said_so(tree: Path) -> None:
    assert "No answers file" in _grade(tree, {})["output"]
    several = _grade(tree, {"a.toml": "", "b.toml": ""})
    assert "Several .toml files" in several["output"] and several["score"] == 0


def test_an_unreadable_answers_file_is_the_students_to_fix(tree: Path) -> None:
    got = _grade(tree, {"hw.toml": '["scalar_rnn.dy_dw"\nanswer = 1\n'})
    assert got["score"] == 0
    assert got["output"].startswith("Your answers file could not be read:")
    assert "line" in got["output"]  # the TOML error says where


def test_a_checker_failure_is_not_the_students_mistake(tmp_path: Path) -> None:
    from dlverify.autograder import failed

    log = tmp_path / "log"
    log.write_text("Traceback (most recent call last):\nRuntimeError: boom\n")
    failed(tmp_path / "results.json", "1", log)
    text = json.loads((tmp_path / "results.json").read_text())["output"]
    assert "not a mistake in your answers" in text


def test_a_course_problem_file_travels_with_the_autograder(tmp_path: Path, catalog) -> None:
    course = Path(__file__).resolve().parents[1] / "examples" / "course"
    out = tmp_path / "out"
    assert main(["autograder", "course", "--problems", str(course / "softmax.toml"), "--out", str(out)]) == 0
    root = tmp_path / "autograder"
    with zipfile.ZipFile(out / "autograder.zip") as z:
        z.extractall(root / "source")
    assert (root / "source" / "warm.txt").read_text().strip() == ""  # a course file's items derive when checked
    got = _grade(root, {"hw.toml": (course / "softmax_answers.toml").read_text()})
    scores = {t["name"]: t["score"] for t in got["tests"]}
    assert scores == {
        "course.softmax.dL_dz": 1,
        "course.softmax.dL_dW": 1,
        "course.softmax.dL_db": 0,
        "course.softmax.dL_dx": 0,
    }

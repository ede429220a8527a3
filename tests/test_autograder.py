"""The Gradescope autograder folder, run as Gradescope runs it, against a fake /autograder tree."""

from __future__ import annotations

import json
import os
import shutil
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


def _fake_python3(folder: Path) -> Path:
    """A folder whose ``python3`` is not this interpreter (it exits 99), to put first on PATH: the
    script must run the interpreter it is told to, not whichever python3 PATH finds."""
    folder.mkdir(exist_ok=True)
    fake = folder / "python3"
    fake.write_text("#!/bin/sh\nexit 99\n")
    fake.chmod(0o755)
    return folder


def _grade(
    root: Path, files: dict[str, str | Path | None], cwd: Path | None = None, keep_results: bool = False
) -> dict:
    """Run ``run_autograder`` as Gradescope does, with this test run's interpreter as the
    environment's (``DLVERIFY_PYTHON``; setup.sh's virtual environment is not built here).
    ``files``: the submission, name → its text (a Path: a link to it; None: a folder)."""
    submission = root / "submission"
    if submission.exists():
        for f in submission.iterdir():
            if f.is_dir() and not f.is_symlink():
                shutil.rmtree(f)
            else:
                f.unlink()
    submission.mkdir(exist_ok=True)
    for name, text in files.items():
        if isinstance(text, Path):
            (submission / name).symlink_to(text)
        elif text is None:
            (submission / name).mkdir()
        else:
            (submission / name).write_text(text, encoding="utf-8")
    results = root / "results" / "results.json"
    if not keep_results:
        results.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "DLVERIFY_CACHE"}
    fakes = _fake_python3(root / "fake-bin")
    run = subprocess.run(
        ["bash", str(root / "source" / "run_autograder")],
        env={
            **env,
            "AUTOGRADER_ROOT": str(root),
            "DLVERIFY_PYTHON": sys.executable,
            "PATH": f"{fakes}{os.pathsep}{env.get('PATH', '')}",
        },
        cwd=cwd,
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


RIGHT = '["scalar_rnn.dy_dw"]\nanswer = "3w^2 u_1 + 2 w u_2 + u_3"\n'


def test_the_scripts_python_is_the_one_it_is_told_not_paths(tree: Path) -> None:
    """A suite run from a virtual environment that is not activated: PATH's python3 is another
    interpreter (here one that exits 99), and the run still grades with DLVERIFY_PYTHON's."""
    assert subprocess.run(["python3"], env={"PATH": str(_fake_python3(tree / "fake-bin"))}).returncode == 99
    got = _grade(tree, {"hw.toml": RIGHT})
    assert {t["name"]: t["score"] for t in got["tests"]}["scalar_rnn.dy_dw"] == 1


def test_a_problem_file_name_is_never_run_as_a_command(tmp_path: Path, catalog) -> None:
    """A problem file's name is pasted into run_autograder: ``$(touch X)`` in it stays a name."""
    course = Path(__file__).resolve().parents[1] / "examples" / "course"
    named = tmp_path / "hw$(touch X).toml"
    named.write_text((course / "softmax.toml").read_text())
    out = tmp_path / "out"
    assert main(["autograder", "course", "--problems", str(named), "--out", str(out)]) == 0
    root = tmp_path / "autograder"
    with zipfile.ZipFile(out / "autograder.zip") as z:
        z.extractall(root / "source")
    subprocess.run(["bash", "-n", str(root / "source" / "run_autograder")], check=True)
    work = tmp_path / "work"
    work.mkdir()
    got = _grade(root, {"hw.toml": (course / "softmax_answers.toml").read_text()}, cwd=work)
    assert not list(tmp_path.rglob("X"))
    assert {t["name"]: t["score"] for t in got["tests"]}["course.softmax.dL_dz"] == 1  # the file was still used


def test_a_submitted_module_is_never_imported(tree: Path, tmp_path: Path) -> None:
    """The checker imports lark: a lark.py in the submission folder, where Gradescope may start the
    script, or in the folder the script runs from, must not be the one imported."""
    marker = tmp_path / "imported"
    module = f"open({str(marker)!r}, 'w').close()\n"
    (tree / "lark.py").write_text(module)
    try:
        got = _grade(tree, {"hw.toml": RIGHT, "lark.py": module}, cwd=tree / "submission")
    finally:
        (tree / "lark.py").unlink()
        (tree / "submission" / "lark.py").unlink()
    assert not marker.exists()
    assert {t["name"]: t["score"] for t in got["tests"]}["scalar_rnn.dy_dw"] == 1


def test_a_previous_results_json_never_stands_for_this_submission(tree: Path) -> None:
    """A reused tree: the last student's 5/5 is still in results/; an unreadable file scores 0."""
    (tree / "results").mkdir(exist_ok=True)
    (tree / "results" / "results.json").write_text(json.dumps({"score": 5, "output": "all correct"}))
    got = _grade(tree, {"hw.toml": '["scalar_rnn.dy_dw"\nanswer = 1\n'}, keep_results=True)
    assert got["score"] == 0
    assert got["output"].startswith("Your answers file could not be read:")


@pytest.mark.parametrize("name", ["-x $(touch Y).toml", "--json.toml", "a\nb `touch Y` 'q\".toml"])
def test_a_submission_of_any_name_is_graded_as_data(tree: Path, tmp_path: Path, name: str) -> None:
    """The student names the file: a leading dash is not an option, and $(…) or `…` is not run."""
    work = tmp_path / "work"
    work.mkdir()
    got = _grade(tree, {name: RIGHT}, cwd=work)
    assert {t["name"]: t["score"] for t in got["tests"]}["scalar_rnn.dy_dw"] == 1
    assert not list(tmp_path.rglob("Y")) and not list(tree.rglob("Y"))


def test_a_link_or_a_folder_is_not_read_as_the_answers(tree: Path, tmp_path: Path) -> None:
    """Only a plain file is read: a link could point at the image's own files."""
    elsewhere = tmp_path / "elsewhere.toml"
    elsewhere.write_text(RIGHT)
    for entry in (elsewhere, None):
        got = _grade(tree, {"hw.toml": entry})
        assert got["score"] == 0 and "not a plain file" in got["output"], entry


def test_setup_sh_stops_with_a_clear_message_on_an_old_python(tmp_path: Path) -> None:
    """Gradescope's Ubuntu 22.04 image has python3 3.10: setup.sh says what it needs, before any install."""
    out = tmp_path / "out"
    assert main(["autograder", *IDS, "--out", str(out)]) == 0
    root = tmp_path / "autograder"
    with zipfile.ZipFile(out / "autograder.zip") as z:
        z.extractall(root / "source")
    fakes = tmp_path / "bin"
    fakes.mkdir()
    calls = tmp_path / "calls"
    for tool, script in {
        "python3": 'echo "python3 $*" >> "$CALLS"; case "$*" in *-V*) echo "Python 3.10.12";; esac; exit 1',
        "apt-get": 'echo "apt-get $*" >> "$CALLS"; exit 1',  # never the machine's own
        "pip": 'echo "pip $*" >> "$CALLS"; exit 1',
    }.items():
        (fakes / tool).write_text(f"#!/bin/sh\n{script}\n")
        (fakes / tool).chmod(0o755)
    run = subprocess.run(
        ["bash", str(root / "source" / "setup.sh")],
        env={"PATH": f"{fakes}{os.pathsep}/usr/bin{os.pathsep}/bin", "AUTOGRADER_ROOT": str(root), "CALLS": str(calls)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode != 0
    assert "Python 3.11 or newer" in run.stderr and "Python 3.10.12" in run.stderr and "Ubuntu 24.04" in run.stderr
    made = calls.read_text()
    assert "pip" not in made and "apt-get" not in made and "venv" not in made
    assert not (root / "venv").exists()


def test_out_that_holds_a_users_files_is_refused_untouched(tmp_path: Path, capsys) -> None:
    out = tmp_path / "mine"
    (out / "dlverify-src").mkdir(parents=True)
    (out / "dlverify-src" / "notes.txt").write_text("the user's notes\n")
    (out / "setup.sh").write_text("# the user's own script\n")
    assert main(["autograder", "scalar_rnn.dy_dp", "--out", str(out)]) == 2
    assert "did not write" in capsys.readouterr().err
    assert (out / "dlverify-src" / "notes.txt").read_text() == "the user's notes\n"
    assert (out / "setup.sh").read_text() == "# the user's own script\n"
    fresh = tmp_path / "fresh"
    assert main(["autograder", "scalar_rnn.dy_dp", "--out", str(fresh)]) == 0
    assert main(["autograder", "scalar_rnn.dy_dw", "--out", str(fresh)]) == 0  # its own folder: rewritten
    assert (fresh / "ids.txt").read_text().split() == ["scalar_rnn.dy_dw"]


def test_out_that_others_may_write_is_refused(tmp_path: Path, capsys) -> None:
    """A shared folder could hold links planted where setup.sh and ids.txt are written."""
    out = tmp_path / "shared"
    out.mkdir()
    (out / ".dlverify-autograder").write_text("planted\n")
    victim = tmp_path / "victim.sh"
    victim.write_text("# the user's own script\n")
    (out / "setup.sh").symlink_to(victim)
    out.chmod(0o777)
    assert main(["autograder", "scalar_rnn.dy_dp", "--out", str(out)]) == 2
    assert "not yours alone" in capsys.readouterr().err
    assert victim.read_text() == "# the user's own script\n"

"""The checker under hostile files, careless users and faults: every file a verdict or a one-line
error with its exit code, no traceback, no hang, no lost results (each defect reproduced here)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dlverify.checking import answers as af
from dlverify.checking.judge import judge
from dlverify.checking.pool import CheckerPool
from dlverify.cli import main

ROOT = Path(__file__).resolve().parents[1]
RIGHT = "[\"scalar_rnn.dy_dp\"]\nanswer = 'w^3'\n"


def _file(tmp_path: Path, text: str | bytes, name: str = "a.toml") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


@pytest.mark.parametrize(
    "text",
    [
        '["x"]\nanswer = ' + "[" * 500 + "]" * 500 + "\n",
        '["x"]\nanswer = ' + "{a = " * 3000 + "1" + "}" * 3000 + "\n",
        '["x"]\nanswer = ' + "9" * 5000 + "\n",
        "",
        "# only a comment\n",
    ],
    ids=["deep array", "deep inline table", "huge integer", "empty", "no tables"],
)
def test_a_malformed_file_is_one_line_and_exit_2(tmp_path: Path, text: str, capsys) -> None:
    assert main(["check", str(_file(tmp_path, text))]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dlverify: ") and "Traceback" not in err and err.count("\n") == 1


def test_special_files_are_refused_without_reading_them(tmp_path: Path, capsys) -> None:
    fifo = tmp_path / "x.toml"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.toml"
    zero.symlink_to("/dev/zero")
    for path in (fifo, zero):
        started = time.monotonic()
        assert main(["check", str(path)]) == 2
        assert time.monotonic() - started < 5
        assert "not a regular file" in capsys.readouterr().err


def test_a_folder_survives_its_bad_files(tmp_path: Path, capsys) -> None:
    _file(tmp_path, RIGHT, "good.toml")
    _file(tmp_path, '["x"]\nanswer = ' + "[" * 500 + "]" * 500 + "\n", "bomb.toml")
    os.mkfifo(tmp_path / "pipe.toml")
    _file(tmp_path, RIGHT, "=1+2.toml")
    assert main(["check", str(tmp_path)]) == 2  # a file could not be read
    csv_text = (tmp_path / "dlverify-summary.csv").read_text()
    summary = json.loads((tmp_path / "dlverify-summary.json").read_text())
    assert {s["file"] for s in summary["submissions"]} == {"good.toml", "bomb.toml", "pipe.toml", "=1+2.toml"}
    assert summary["partial"] is False
    assert "\n'=1+2.toml," in csv_text  # a spreadsheet must not run it


def test_a_bom_and_a_misspelt_key(tmp_path: Path) -> None:
    answers = af.read_answers(_file(tmp_path, b"\xef\xbb\xbf" + RIGHT.encode()))
    assert answers == {"scalar_rnn.dy_dp": "w^3"}
    verdict = judge("scalar_rnn.dy_dp", {"anwser": "w^3"})
    assert verdict.verdict == "unparsed" and "did you mean answer" in verdict.message
    extra = judge("scalar_rnn.dy_dp", {"answer": "w^3", "note": "x"})
    assert extra.verdict == "unparsed" and "'note'" in extra.message


def test_expect_that_is_not_utf8_is_a_usage_error(tmp_path: Path, capsys) -> None:
    expect = _file(tmp_path, b"\xff\xfe\x00", "ids.txt")
    assert main(["check", str(_file(tmp_path, RIGHT)), "--expect", str(expect)]) == 2
    assert "not UTF-8" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["inf", "1e308", "0", "-1", "nan", "soon"])
def test_a_bad_timeout_is_a_usage_error(tmp_path: Path, value: str, capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["check", str(_file(tmp_path, RIGHT)), "--timeout", value])
    assert stop.value.code == 2
    assert "--timeout" in capsys.readouterr().err


def test_an_output_that_cannot_be_written_does_not_hide_the_verdicts(tmp_path: Path, capsys) -> None:
    answers = str(_file(tmp_path, RIGHT))
    for target in (tmp_path / "missing" / "results.json", tmp_path, Path("/dev/full")):
        assert main(["check", answers, "--gradescope", str(target)]) == 2
        out, err = capsys.readouterr()
        assert "correct" in out and "score: 1/1" in out
        assert err.startswith("dlverify: --gradescope: could not write it") and "Traceback" not in err


def test_control_characters_never_reach_the_terminal(tmp_path: Path, capsys) -> None:
    main(["check", str(_file(tmp_path, "[\"\\u001b[2J\"]\nanswer = 'w'\n"))])
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\\x1b[2J" in out


def test_del_in_an_answer_does_not_break_the_report(tmp_path: Path, capsys) -> None:
    path = _file(tmp_path, '["scalar_rnn.dy_dp"]\nanswer = "w^3\\u007f"\n["bad\\u007fid"]\nanswer = \'x\'\n')
    report = tmp_path / "feedback.tex"
    main(["check", str(path), "--report", str(report)])
    out = capsys.readouterr().out
    assert "score:" in out
    assert "\x7f" not in report.read_text()


def test_answers_too_large_are_unparsed_with_a_short_message() -> None:
    huge_choice = judge("rnn.explode_condition", "x" * 100_000)
    assert huge_choice.verdict == "unparsed" and len(huge_choice.message) < 200
    many_keys = judge("scalar_rnn.forward", {f"k{i}": "w" for i in range(60_000)})
    assert many_keys.verdict == "unparsed" and len(many_keys.message) < 200
    huge_text = judge("scalar_rnn.dy_dp", "w" * 10_000_000)
    assert huge_text.verdict == "unparsed" and len(huge_text.message) < 200


@pytest.mark.parametrize(
    "answer",
    [r"w^3 + \log((10^{1000})^{5}) - 5000\log(10)", "w^3 + 0 * " + " ".join(["w^{999}"] * 285)],
    ids=["a 5,001-digit integer inside", "a long product times 0"],
)
def test_costly_but_correct_answers_keep_their_mark(answer: str) -> None:
    verdict = judge("scalar_rnn.dy_dp", answer)
    assert verdict.verdict in ("correct", "unparsed", "error"), verdict
    assert verdict.verdict != "incorrect"


def test_a_checker_failure_is_never_incorrect(monkeypatch: pytest.MonkeyPatch) -> None:
    from dlverify.checking import expressions

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(expressions, "read_answer", broken)
    monkeypatch.delenv("DLVERIFY_DEBUG", raising=False)
    verdict = judge("scalar_rnn.dy_dp", "w^3")
    assert verdict.verdict == "error" and "please report it" in verdict.message


def test_a_killed_worker_is_replaced_and_the_answer_retried() -> None:
    with CheckerPool(1) as pool:
        pool._idle[0].process.kill()  # kill -9 of the worker that will take the next answer
        pool._idle[0].process.join(5)
        assert pool.check("scalar_rnn.dy_dp", "w^3").verdict == "correct"
        assert pool.replaced >= 1


def test_the_api_works_from_a_script_without_a_main_guard(tmp_path: Path) -> None:
    script = tmp_path / "grade.py"
    script.write_text(
        "from dlverify.checking import check\n"
        "print(check('scalar_rnn.dy_dp', 'w^3').verdict)\n"
        "print(check('scalar_rnn.dy_dp', lambda: 1).verdict)\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["correct", "unparsed"]
    assert "Traceback" not in done.stderr


def test_ctrl_c_during_a_folder_run_writes_a_partial_summary(tmp_path: Path) -> None:
    # each answer runs into the time limit (a huge power), so the run takes far longer than the interrupt
    slow = "[\"scalar_rnn.dy_dp\"]\nanswer = 'w^(w^(w^(w^(w^(w^(w^99))))))'\n"
    for k in range(30):
        _file(tmp_path, slow, f"s{k:02}.toml")
    process = subprocess.Popen(
        [sys.executable, "-m", "dlverify.cli", "check", str(tmp_path), "--timeout", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    time.sleep(3)  # the workers start in about a second; 30 answers of 1 s each are far from done
    process.send_signal(signal.SIGINT)
    started = time.monotonic()
    out, err = process.communicate(timeout=60)
    assert time.monotonic() - started < 15
    assert process.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    summary = json.loads((tmp_path / "dlverify-summary.json").read_text())
    assert summary["partial"] is True
    assert any(s.get("error", "").startswith("not graded") for s in summary["submissions"])


def _descendants(pid: int) -> set[int]:
    """Every process below ``pid``, from /proc (no ps needed)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:  # ended meanwhile
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])  # the field after the state
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()


def test_the_workers_end_with_the_checker(tmp_path: Path) -> None:
    # kill -9 of the main process: the forkserver and the workers (busy judging) must not run on
    slow = "[\"scalar_rnn.dy_dp\"]\nanswer = 'w^(w^(w^(w^(w^(w^(w^99))))))'\n"
    for k in range(10):
        _file(tmp_path, slow, f"s{k}.toml")
    process = subprocess.Popen(
        [sys.executable, "-m", "dlverify.cli", "check", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 120
    helpers: set[int] = set()
    while time.monotonic() < deadline and len(helpers) < 3:  # the forkserver and its workers
        time.sleep(0.5)
        helpers = _descendants(process.pid)
    process.kill()
    process.wait()
    gone_by = time.monotonic() + 10
    while time.monotonic() < gone_by and any(_alive(pid) for pid in helpers):
        time.sleep(0.1)
    assert helpers and not [pid for pid in helpers if _alive(pid)]

"""The check command's outputs cannot be faked, lost or mis-scored by what a file holds (issue:
safe to run on a course's machines): --expect is validated, every file's exit status and score
line are true, rows are named by the path found, only regular files are written, JSON is strict."""

from __future__ import annotations

import json
import os
import threading
import tomllib
from pathlib import Path

import pytest

from dlverify.cli import main

RIGHT = "[\"scalar_rnn.dy_dp\"]\nanswer = 'w^3'\n"
WRONG = "[\"scalar_rnn.dy_dp\"]\nanswer = 'w^2'\n"


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _strict(text: str):
    def refuse(constant: str):
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize(
    ("spec", "said"),
    [
        ("no-such-folder/assignment.txt", "no such file"),
        ("scalar_rnn", "is a topic"),
        ("scalar_rnn.dy_dp scalar_rnn.dy_dw", "not one id"),
        ("scalar_rnn.dy_dp,scalar_rnn.dy_pd", "did you mean"),
        ("rnn.explode_threshold", "numeric claim"),
    ],
    ids=["missing path", "topic", "spaces", "misspelt", "claim"],
)
def test_expect_that_is_not_an_assignment_is_refused(tmp_path: Path, capsys, spec: str, said: str) -> None:
    from dlverify import registry

    if spec == "rnn.explode_threshold":  # any claim of the catalog
        spec = next(p.id for p in registry.problems().values() if p.kind == "claim")
    answers = _write(tmp_path, "a.toml", RIGHT)
    assert main(["check", str(answers), "--expect", spec]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dlverify: --expect:") and said in err.lower() and err.count("\n") == 1


def test_a_misspelt_id_in_the_assignment_file_names_its_line(tmp_path: Path, capsys) -> None:
    expect = _write(tmp_path, "ids.txt", "scalar_rnn.dy_dp\nscalar_rnn.dy_dww  # typo\n")
    answers = _write(tmp_path, "a.toml", RIGHT)
    assert main(["check", str(answers), "--expect", str(expect)]) == 2
    err = capsys.readouterr().err
    assert f"{expect}:2:" in err and "scalar_rnn.dy_dw" in err


def test_several_files_exit_1_when_one_is_not_all_correct(tmp_path: Path, capsys) -> None:
    good, bad = _write(tmp_path, "good.toml", RIGHT), _write(tmp_path, "bad.toml", WRONG)
    assert main(["check", str(good), str(bad)]) == 1
    assert main(["check", str(good), str(_write(tmp_path, "good2.toml", RIGHT))]) == 0
    assert main(["check", str(tmp_path)]) == 1  # the folder run says the same


def test_gradescope_output_counts_only_the_assignment(tmp_path: Path) -> None:
    answers = _write(tmp_path, "a.toml", RIGHT + "[\"scalar_rnn.dy_dw\"]\nanswer = '0'\n")
    out = tmp_path / "results.json"
    assert main(["check", str(answers), "--expect", "scalar_rnn.dy_dp", "--gradescope", str(out)]) == 0
    results = _strict(out.read_text())
    assert results["output"] == "1 of 1 items correct" and results["score"] == 1


def test_a_symlinked_file_is_graded_under_its_own_name(tmp_path: Path) -> None:
    _write(tmp_path, "alice.toml", RIGHT)
    (tmp_path / "bob.toml").symlink_to("alice.toml")
    assert main(["check", str(tmp_path)]) == 0
    summary = _strict((tmp_path / "dlverify-summary.json").read_text())
    assert sorted(s["file"] for s in summary["submissions"]) == ["alice.toml", "bob.toml"]
    assert main(["check", str(tmp_path / "alice.toml"), str(tmp_path / "bob.toml")]) == 0
    summary = _strict((tmp_path / "dlverify-summary.json").read_text())
    assert sorted(s["file"] for s in summary["submissions"]) == ["alice.toml", "bob.toml"]


def _in_thread(argv: list[str]) -> int | None:
    """main(argv), or None if it did not return within a minute (a hang: a FIFO opened to write)."""
    status: list[int] = []
    thread = threading.Thread(target=lambda: status.append(main(argv)), daemon=True)
    thread.start()
    thread.join(60)
    return status[0] if status else None


def test_a_fifo_or_a_link_at_a_summary_name_is_not_written(tmp_path: Path, capsys) -> None:
    _write(tmp_path, "a.toml", RIGHT)
    os.mkfifo(tmp_path / "dlverify-summary.csv")
    victim = tmp_path / "elsewhere" / "victim.txt"
    victim.parent.mkdir()
    victim.write_text("the user's own file\n")
    (tmp_path / "dlverify-summary.json").symlink_to(victim)
    assert _in_thread(["check", str(tmp_path)]) == 2  # returned (no hang); the summary not written
    err = capsys.readouterr().err
    assert "not a regular file" in err and "symbolic link" in err
    assert (tmp_path / "dlverify-summary.csv").is_fifo()
    assert (tmp_path / "dlverify-summary.json").is_symlink() and victim.read_text() == "the user's own file\n"


def test_gradescope_output_through_a_link_to_a_device_is_refused(tmp_path: Path, capsys) -> None:
    answers = _write(tmp_path, "a.toml", RIGHT)
    link = tmp_path / "results.json"
    link.symlink_to("/dev/null")
    assert main(["check", str(answers), "--gradescope", str(link)]) == 2
    assert "symbolic link" in capsys.readouterr().err and link.is_symlink()


def test_json_outputs_are_strict_json(tmp_path: Path, capsys) -> None:
    answers = _write(tmp_path, "a.toml", "[\"lae.grad_W1\"]\nanswer = '\\log(W_1 - W_1)'\n")
    assert main(["check", str(answers), "--json"]) == 1
    data = _strict(capsys.readouterr().out)
    assert data["results"][0]["verdict"] == "incorrect"
    assert "-inf" in json.dumps(data)  # the value is still shown, as a string
    out = tmp_path / "results.json"
    assert main(["check", str(answers), "--gradescope", str(out)]) == 1
    _strict(out.read_text())
    folder = tmp_path / "class"
    folder.mkdir()
    answers.rename(folder / "a.toml")
    assert main(["check", str(folder)]) == 1
    _strict((folder / "dlverify-summary.json").read_text())


def test_ids_cannot_fake_rows_or_reverse_text(tmp_path: Path, capsys) -> None:
    fake = "x\nscalar_rnn.dy_dw  correct  right\nscore: 9/9"
    text = json.dumps({fake: {"answer": "w"}, "a\u202etxt.exe": {"answer": "w"}})  # TOML accepts JSON's escapes
    answers = _write(tmp_path, "a.toml", "".join(f"[{json.dumps(k)}]\nanswer = 'w'\n" for k in json.loads(text)))
    assert main(["check", str(answers)]) == 1
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) == 3 and lines[-1] == "score: 0/2"
    assert "\u202e" not in out and "\\u202e" in out
    named = tmp_path / "class"
    named.mkdir()
    _write(named, "evil\nscore.toml", RIGHT)
    assert main(["check", str(named)]) == 0
    assert all(not line.startswith("score") for line in capsys.readouterr().out.splitlines())


def test_template_stays_valid_toml_whatever_a_title_holds(capsys, catalog) -> None:
    import dataclasses

    from dlverify import registry

    # a course file's title is refused unless it is one line; this is the template's own guard
    hostile = 'Two lines\n["scalar_rnn.dy_dw"]\nanswer = "3w^2 u_1"\r\u2028'
    titled = dataclasses.replace(catalog.problems["scalar_rnn.dy_dp"], title=hostile)
    with registry.using(catalog.adding([titled], replace=True)):
        assert main(["template", "scalar_rnn.dy_dp"]) == 0
    template = tomllib.loads(capsys.readouterr().out)
    assert template == {"scalar_rnn.dy_dp": {"answer": ""}}


def test_a_multi_line_course_title_is_refused(tmp_path: Path, capsys, catalog) -> None:
    problems = _write(
        tmp_path,
        "hw.toml",
        '[problem."hw.q1"]\n'
        "title = '''Two lines\n[\"scalar_rnn.dy_dp\"]\nanswer = \"w^3\"'''\n"
        'symbols = { x = "vector n", W = "matrix m×n" }\n'
        "forward = '''\nh = W x\nL = ||h||^2\n'''\n"
        'ask = ["dL/dW"]\n',
    )
    assert main(["template", "hw.q1.dL_dW", "--problems", str(problems)]) == 2
    assert "title" in capsys.readouterr().err


def test_a_link_to_a_file_outside_the_folder_is_not_read(tmp_path: Path) -> None:
    """In a shared drop folder a student's link must not claim the TA's solutions."""
    private = tmp_path / "ta"
    private.mkdir()
    _write(private, "solutions.toml", RIGHT)
    drop = tmp_path / "drop"
    drop.mkdir()
    _write(drop, "alice.toml", WRONG)
    (drop / "bob.toml").symlink_to(private / "solutions.toml")
    assert main(["check", str(drop)]) == 2
    summary = _strict((drop / "dlverify-summary.json").read_text())
    bob = next(s for s in summary["submissions"] if s["file"] == "bob.toml")
    assert "outside the folder" in bob["error"] and "score" not in bob


def test_expect_with_a_bom_and_ids_named_like_a_file(tmp_path: Path, monkeypatch) -> None:
    expect = tmp_path / "ids.txt"
    expect.write_bytes(b"\xef\xbb\xbfscalar_rnn.dy_dp\r\n")
    answers = _write(tmp_path, "a.toml", RIGHT)
    assert main(["check", str(answers), "--expect", str(expect)]) == 0
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, "scalar_rnn.dy_dp", "scalar_rnn.dy_dw\n")  # a file that happens to bear the id's name
    assert main(["check", str(answers), "--expect", "scalar_rnn.dy_dp"]) == 0  # the id, not the file


def test_feedback_is_never_written_through_a_link_or_into_a_fifo(tmp_path: Path, capsys) -> None:
    answers = _write(tmp_path, "a.toml", WRONG)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep\n")
    link = tmp_path / "fb.tex"
    link.symlink_to(victim)
    assert main(["check", str(answers), "--report", str(link)]) == 2
    assert victim.read_text() == "keep\n" and link.is_symlink()
    fifo = tmp_path / "ff.tex"
    os.mkfifo(fifo)
    assert _in_thread(["check", str(answers), "--report", str(fifo)]) == 2
    assert "not a regular file" in capsys.readouterr().err

"""`dlverify check` and `dlverify template` as answers-format.md specifies them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dlverify.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_correct_submission_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(EXAMPLES / "scalar_rnn_correct.toml")]) == 0
    out = capsys.readouterr().out
    assert out.count("correct") >= 5 and "score: 5/5" in out


def test_mistakes_get_verdicts_counterexamples_and_diagnoses(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(EXAMPLES / "scalar_rnn_mistakes.toml"), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    by_id = {r["id"]: r for r in data["results"]}
    assert by_id["scalar_rnn.dy_dw"]["diagnosis"] == "the term u_3 is missing"
    assert by_id["scalar_rnn.dy_dp"]["counterexample"]["at"]
    assert by_id["lae.pca_is_optimal"]["verdict"] == "unsupported"
    assert by_id["scalar_rnn.dy_dq"]["verdict"] == "unknown_id"
    assert "u_{4}" in by_id["scalar_rnn.forward"]["message"]
    assert data["max_score"] == len(data["results"])


def test_autoencoder_examples(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(EXAMPLES / "autoencoders_correct.toml")]) == 0
    assert "score: 10/10" in capsys.readouterr().out
    assert main(["check", str(EXAMPLES / "autoencoders_mistakes.toml"), "--json"]) == 1
    results = json.loads(capsys.readouterr().out)["results"]
    assert all(r["verdict"] == "incorrect" for r in results)
    by_id = {r["id"]: r for r in results}
    assert "without its transpose" in by_id["lae.grad_W1"]["diagnosis"]
    assert by_id["lae.grad_W2"]["diagnosis"] == "it is half the reference"
    assert "starts at i = k" in by_id["lae.min_loss"]["diagnosis"]
    assert "1/2" in by_id["rlae.optimum"]["diagnosis"] and "missing" in by_id["rlae.optimum"]["diagnosis"]
    assert "1/m" in by_id["rlae.weight_decay_mean"]["diagnosis"]


def test_calculus_examples(capsys: pytest.CaptureFixture[str]) -> None:
    # autodiff (a trace in another decomposition than ours included), mlp, optim and xent
    assert main(["check", str(EXAMPLES / "calculus_correct.toml")]) == 0
    assert "score: 13/13" in capsys.readouterr().out
    assert main(["check", str(EXAMPLES / "calculus_mistakes.toml"), "--json"]) == 1
    results = json.loads(capsys.readouterr().out)["results"]
    assert all(r["verdict"] == "incorrect" for r in results)
    by_id = {r["id"]: r for r in results}
    assert "v4: wrong tangent" in by_id["autodiff.forward_trace"]["message"]
    assert "misses the path through v3" in by_id["autodiff.reverse_trace"]["message"]
    assert "exp(3/2)/2 is missing" in by_id["autodiff.df_dx2"]["diagnosis"]
    assert by_id["mlp.grad_V5"]["diagnosis"] == "the sign is flipped"
    assert "without its transpose" in by_id["mlp.grad_V4"]["diagnosis"]
    assert "1[V_3 > 0] is missing" in by_id["mlp.grad_V3"]["diagnosis"]
    assert "commuted" in by_id["mlp.grad_W3"]["diagnosis"]
    assert "off by one" in by_id["optim.adam_bias_correction"]["diagnosis"]


def test_beam_and_concepts_examples(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(EXAMPLES / "beam_concepts_correct.toml")]) == 0
    assert "score: 17/17" in capsys.readouterr().out
    assert main(["check", str(EXAMPLES / "beam_concepts_mistakes.toml"), "--json"]) == 1
    results = json.loads(capsys.readouterr().out)["results"]
    assert all(r["verdict"] == "incorrect" for r in results)
    by_id = {r["id"]: r for r in results}
    assert "not tight" in by_id["beam.complexity"]["message"]
    assert "neural neural neural" in by_id["beam.best_sequence"]["message"]


def test_expect_adds_missing_items_and_fixes_max_score(tmp_path: Path, capsys) -> None:
    expect = tmp_path / "assignment.txt"
    expect.write_text("scalar_rnn.dy_dw\nscalar_rnn.dy_dp  # second\nscalar_rnn.dy_dw_general\n")
    answers = tmp_path / "a.toml"
    answers.write_text("[\"scalar_rnn.dy_dw\"]\nanswer = '3w^2 u_1 + 2 w u_2 + u_3'\n")
    gs = tmp_path / "results.json"
    assert main(["check", str(answers), "--json", "--expect", str(expect), "--gradescope", str(gs)]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["score"] == 1 and data["max_score"] == 3
    assert [r["verdict"] for r in data["results"]] == ["correct", "missing", "missing"]
    results = json.loads(gs.read_text())
    assert results["score"] == 1 and len(results["tests"]) == 3
    assert {"name", "score", "max_score", "output", "visibility"} <= set(results["tests"][0])


def test_hide_reference_keeps_values_but_not_the_reference(tmp_path: Path, capsys) -> None:
    answers = tmp_path / "a.toml"
    answers.write_text("[\"scalar_rnn.dy_dp\"]\nanswer = 'w^2'\n")
    assert main(["check", str(answers), "--json", "--hide-reference"]) == 1
    result = json.loads(capsys.readouterr().out)["results"][0]
    assert "w**3" not in result["message"] and "reference:" not in result["message"]
    assert result["counterexample"]["reference_value"]


@pytest.mark.parametrize(
    "content",
    [b"not = [toml", b'answer = "top-level, not a table"\n', b"\xff\xfe binary", b"a = 1"],
)
def test_unreadable_files_exit_2(tmp_path: Path, content: bytes, capsys) -> None:
    f = tmp_path / "bad.toml"
    f.write_bytes(content)
    assert main(["check", str(f)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dlverify: ") and "Traceback" not in err


def test_missing_file_exits_2(tmp_path: Path, capsys) -> None:
    assert main(["check", str(tmp_path / "nope.toml")]) == 2


def test_a_folder_is_graded_with_a_summary(tmp_path: Path, capsys) -> None:
    for name in ("scalar_rnn_correct.toml", "scalar_rnn_mistakes.toml"):
        (tmp_path / name).write_bytes((EXAMPLES / name).read_bytes())
    (tmp_path / "broken.toml").write_text("[[[")
    assert main(["check", str(tmp_path)]) == 2  # one file could not be read
    csv_text = (tmp_path / "dlverify-summary.csv").read_text()
    summary = json.loads((tmp_path / "dlverify-summary.json").read_text())
    assert csv_text.splitlines()[0].startswith("file,score,max_score,error,")
    assert len(summary["submissions"]) == 3
    scores = {s["file"]: s.get("score") for s in summary["submissions"]}
    assert scores["scalar_rnn_correct.toml"] == 5


def test_template_lists_symbols_and_entries(planned_row: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["template", "scalar_rnn.edge_partials", planned_row]) == 0
    out = capsys.readouterr().out
    assert '["scalar_rnn.edge_partials"]' in out and "q = ''" in out and "dy/dq" in out
    assert "not checkable yet" in out
    assert main(["template", "nope.nope"]) == 2


def test_several_files_as_a_shell_glob_gives_them(tmp_path: Path, capsys) -> None:
    for folder, name in (("a", "scalar_rnn_correct.toml"), ("b", "scalar_rnn_mistakes.toml")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "s1.toml").write_text((EXAMPLES / name).read_text())
    files = [str(tmp_path / "a" / "s1.toml"), str(tmp_path / "b" / "s1.toml")]
    assert main(["check", *files]) == 1  # b's answers are not all correct
    out = capsys.readouterr().out
    assert "a/s1.toml  5/5" in out and "b/s1.toml" in out  # same names in two folders stay apart
    assert (tmp_path / "dlverify-summary.csv").exists() and (tmp_path / "dlverify-summary.json").exists()
    assert main(["check", *files, "--report", str(tmp_path / "r.tex")]) == 2  # a report is for one file
    assert main(["check", str(tmp_path / "a"), files[0]]) == 2


def test_derivation_examples(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(EXAMPLES / "derivations_correct.toml")]) == 0
    assert "score: 4/4" in capsys.readouterr().out
    assert main(["check", str(EXAMPLES / "derivations_mistakes.toml"), "--json"]) == 1
    by_id = {r["id"]: r for r in json.loads(capsys.readouterr().out)["results"]}
    # the planted slip of each (the comment beside it in the file)
    assert {pid: r["step"] for pid, r in by_id.items()} == {
        "rnn.dL_dh_linear": 2,
        "lstm.dL_dCprev": 1,
        "lae.grad_W1": 3,
        "mlp.grad_W1": 3,
    }

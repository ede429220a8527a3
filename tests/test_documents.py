"""Answers read from the student's own LaTeX, Markdown or Jupyter document (issue 25): the same
verdicts as the TOML twin, positions in the student's file, nothing executed, the shipped
dlverify.sty compiling, and every hostile document one line and exit 2."""

from __future__ import annotations

import fnmatch
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import numpy as np
import pytest

from dlverify.checking import answers as af
from dlverify.checking import formats
from dlverify.checking.documents import Document, Form, Piece, read_document
from dlverify.checking.traces import node_index
from dlverify.checking.verdict import Reference, Verdict
from dlverify.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
DOCUMENTS = ["homework.tex", "homework.md", "homework.ipynb"]
PDFLATEX = shutil.which("pdflatex")

# The examples' verdicts, each worked out by hand (the numbers are checked in TestExpectedByHand):
EXPECTED = {
    "scalar_rnn.dy_dw": "correct",  # y = w^3 u_1 + w^2 u_2 + w u_3, so dy/dw = 3w^2 u_1 + 2w u_2 + u_3
    "scalar_rnn.dy_dp": "incorrect",  # y = w t, t = s + u_3, s = w r, r = q + u_2, q = w p: ∂y/∂p = w^3, not w^2
    "scalar_rnn.forward": "incorrect",  # y written with u_4, which T = 3 does not have; the other 5 right
    "beam.step2": "correct",  # the two best of the four step-2 sequences (computed below)
    "gated_rnn.can_explode": "correct",  # one step's Jacobian can exceed 1 (a witness below)
    "conv1d.dl_dW_shape": "correct",  # a gradient has the shape of W ∈ R^{1×5×3}
    "resnet.jacobian": "correct",  # d/dh (σ(W h + b) + h) = diag(σ'(W h + b)) W + I (checked below)
    "beam.complexity": "correct",  # T steps × K beams × M words, each step's M scores sorted: O(T K M log M)
    "optim.adam_bias_correction": "unparsed",  # "(1 - \beta_1^t \mathbb{E}[g]": a bracket never closed
    "autodiff.forward_trace": "correct",  # every value and tangent within 5e-5 (computed below)
    "rnn.dL_dh_linear": "incorrect",  # line 2 drops the 2 of ∂L/∂ŷ = 2(ŷ − y): the slip is in step 2
}


def _check_json(path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, dict]:
    code = main(["check", str(path), "--json", *extra])
    return code, json.loads(capsys.readouterr().out)


def _lines_and_columns(text: str, needle: str, nth: int = 0) -> tuple[int, int]:
    """(line, column), 1-based, of the nth occurrence of ``needle`` in ``text``, counted here by hand."""
    offset = -1
    for _ in range(nth + 1):
        offset = text.index(needle, offset + 1)
    lines = text[:offset].split("\n")
    return len(lines), len(lines[-1]) + 1


class TestTwins:
    """Each example document gets the verdicts of its TOML twin, which are the ones worked out by hand."""

    @pytest.fixture(scope="class")
    def twin(self) -> dict:
        return self._verdicts(EXAMPLES / "homework_twin.toml")

    @staticmethod
    def _verdicts(path: Path) -> dict:
        run = subprocess.run(
            [sys.executable, "-m", "dlverify", "check", str(path), "--json"], capture_output=True, text=True
        )
        assert run.returncode == 1, run.stderr  # some answers are wrong
        data = json.loads(run.stdout)
        return {r["id"]: r for r in data["results"]} | {"": data["score"]}

    def test_the_twin_is_as_worked_out(self, twin: dict) -> None:
        assert {k: v["verdict"] for k, v in twin.items() if k} == EXPECTED
        assert twin["rnn.dL_dh_linear"]["step"] == 2
        assert twin["scalar_rnn.forward"]["score"] == pytest.approx(5 / 6)

    @pytest.mark.parametrize("name", DOCUMENTS)
    def test_a_document_gets_the_twins_verdicts(self, twin: dict, name: str) -> None:
        got = self._verdicts(EXAMPLES / name)
        assert set(got) == set(twin)  # the same items (in the document's order)
        for pid, result in got.items():
            if not pid:
                assert result == twin[""]  # the same score
                continue
            assert result["verdict"] == twin[pid]["verdict"], pid
            assert result["score"] == twin[pid]["score"], pid
            assert result.get("step") == twin[pid].get("step"), pid
        assert name in got["optim.adam_bias_correction"]["message"]  # the position is the document's

    @pytest.mark.parametrize("name", DOCUMENTS)
    def test_the_answers_read_are_the_twins(self, name: str) -> None:
        twin = af.read_answers(EXAMPLES / "homework_twin.toml")
        got = formats.read(EXAMPLES / name).answers
        assert set(got) == set(twin)
        for pid, value in twin.items():
            if isinstance(value, dict) and "steps" in value:  # layout differs; the equations are the same
                assert set(got[pid]) == {"steps"}
                assert _equations(got[pid]["steps"]) == _equations(value["steps"])
            elif pid == "autodiff.forward_trace":  # v_1 in TeX is TOML's v1: the same node to the judge
                assert {node_index(k): v for k, v in got[pid].items()} == {node_index(k): v for k, v in value.items()}
            else:
                assert got[pid] == value, pid


def _equations(steps: str) -> list[str]:
    """A derivation's equations without layout, to compare two spellings of it."""
    flat = re.sub(r"\\\\|&|\s+", "", steps)
    return [part for part in flat.split("=") if part]


class TestExpectedByHand:
    """The numbers behind EXPECTED, computed here without the checker."""

    def test_scalar_rnn_derivatives(self) -> None:
        w, u1, u2, u3 = 0.7, 1.3, -0.4, 2.1

        def forward(w: float, p: float) -> float:
            q = w * p
            r = q + u2
            s = w * r
            t = s + u3
            return w * t

        eps = 1e-6
        dy_dw = (forward(w + eps, u1) - forward(w - eps, u1)) / (2 * eps)
        assert dy_dw == pytest.approx(3 * w**2 * u1 + 2 * w * u2 + u3, rel=1e-8)
        dy_dp = (forward(w, u1 + eps) - forward(w, u1 - eps)) / (2 * eps)
        assert dy_dp == pytest.approx(w**3, rel=1e-8) and dy_dp != pytest.approx(w**2, rel=1e-3)

    def test_beam_step2(self) -> None:
        first = {"neural": -0.65, "network": -0.73}
        after = {("neural", "neural"): -0.8, ("neural", "network"): -0.6, ("network", "neural"): -0.6}
        scores = {(a, b): first[a] + after.get((a, b), -0.8) for a in first for b in first}
        best = sorted(scores, key=scores.get, reverse=True)[:2]
        assert {" ".join(s) for s in best} == {"neural network", "network neural"}

    def test_gated_rnn_can_explode(self) -> None:
        # m = n = 1: h' = c h + (1 - c) W_x x, c = σ(W_c x + W_h h); dh'/dh = c + (h - W_x x) σ'(z) W_h
        h, wx_x, w_h, z = 10.0, 0.0, 1.0, 0.0
        c = 1 / (1 + math.exp(-z))
        assert c + (h - wx_x) * c * (1 - c) * w_h > 1

    def test_resnet_jacobian(self) -> None:
        rng = np.random.default_rng(0)
        W, b, h = rng.normal(size=(3, 3)), rng.normal(size=3), rng.normal(size=3)
        sig = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
        f = lambda h: sig(W @ h + b) + h  # noqa: E731
        eps = 1e-6
        numeric = np.column_stack([(f(h + eps * e) - f(h - eps * e)) / (2 * eps) for e in np.eye(3)])
        z = W @ h + b
        assert np.allclose(numeric, np.eye(3) + np.diag(sig(z) * (1 - sig(z))) @ W, atol=1e-8)

    def test_forward_trace(self) -> None:
        x1, x2, x3 = 1.0, 1.5, 2.0
        v1, d1 = x1 * x2, x1
        v2, d2 = math.sin(x3), 0.0
        v3, d3 = v1 * v2, d1 * v2
        v4, d4 = math.exp(v1), math.exp(v1) * d1
        v5, d5 = v3 + v4, d3 + d4
        v6, d6 = v5 / x3, d5 / x3
        written = [(1.5, 1.0), (0.9093, 0.0), (1.3639, 0.9093), (4.4817, 4.4817), (5.8456, 5.3910), (2.9228, 2.6955)]
        for (value, tangent), (v, d) in zip(
            written, [(v1, d1), (v2, d2), (v3, d3), (v4, d4), (v5, d5), (v6, d6)], strict=True
        ):
            assert abs(value - v) <= 5e-5 and abs(tangent - d) <= 5e-5


class TestNothingIsRun:
    def test_a_notebooks_code_cell_is_not_executed(self, tmp_path: Path) -> None:
        notebook = tmp_path / "hw.ipynb"
        shutil.copyfile(EXAMPLES / "homework.ipynb", notebook)
        cells = json.loads(notebook.read_text())["cells"]
        assert any("ran-by-the-checker.txt" in "".join(c["source"]) for c in cells if c["cell_type"] == "code")
        run = subprocess.run(
            [sys.executable, "-m", "dlverify", "check", str(notebook)], cwd=tmp_path, capture_output=True, text=True
        )
        assert run.returncode == 1 and "Traceback" not in run.stderr
        assert not list(tmp_path.rglob("ran-by-the-checker.txt")) and not list(ROOT.rglob("ran-by-the-checker.txt"))

    def test_a_marker_in_a_code_cell_or_its_output_is_not_an_answer(self) -> None:
        answers = formats.read(EXAMPLES / "homework.ipynb").answers
        assert answers["scalar_rnn.dy_dw"] == "3w^2 u_1 + 2 w u_2 + u_3"  # the markdown cell's, not the code's "0"
        assert answers["scalar_rnn.dy_dp"] == "w^2"  # not the w^3 a code cell's output prints

    def test_tex_is_not_run_and_input_is_not_followed(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        (tmp_path / "part2.tex").write_text("\\begin{answer}{scalar_rnn.dy_dp} w^3 \\end{answer}\n")
        doc = tmp_path / "hw.tex"
        doc.write_text(
            "\\documentclass{article}\n\\usepackage{dlverify}\n"
            "\\immediate\\write18{touch ran-by-tex}\n"  # shell escape: TeX would run it, the reader never does
            "\\begin{document}\n\\input{part2}\n"
            "\\begin{answer}{scalar_rnn.dy_dw} 3w^2 u_1 + 2 w u_2 + u_3 \\end{answer}\n\\end{document}\n"
        )
        code, data = _check_json(doc, capsys)
        assert code == 0 and [r["id"] for r in data["results"]] == ["scalar_rnn.dy_dw"]  # part2's is not read
        assert "\\input (line 5) not followed" in data["notes"][0]
        assert not list(tmp_path.rglob("ran-by-tex")) and not list(tmp_path.glob("*.pdf"))


def _write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def _tex(*body: str) -> str:
    return (
        "\\documentclass{article}\n\\usepackage{dlverify}\n\\begin{document}\n"
        + "\n".join(body)
        + "\n\\end{document}\n"
    )


def _md(*blocks: tuple[str, str, str]) -> str:
    return "\n\n".join(f"<!-- {what} {pid} -->\n$$\n{body}\n$$" for what, pid, body in blocks) + "\n"


def _ipynb(*blocks: tuple[str, str, str]) -> str:
    cells = [{"cell_type": "code", "source": ["print('x')\n"], "outputs": [], "metadata": {}, "execution_count": None}]
    cells += [
        {"cell_type": "markdown", "metadata": {}, "source": f"Intro\n<!-- {what} {pid} -->\n$$\n{body}\n$$\n"}
        for what, pid, body in blocks
    ]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def _document(fmt: str, blocks: list[tuple[str, str, str]]) -> str:
    if fmt == "tex":
        return _tex(*(f"\\begin{{{what}}}{{{pid}}}\n{body}\n\\end{{{what}}}" for what, pid, body in blocks))
    return _md(*blocks) if fmt == "md" else _ipynb(*blocks)


class TestReading:
    """Spellings a student writes, read as their TOML value; a subtly different text read as itself."""

    @pytest.mark.parametrize(
        ("pid", "body", "value"),
        [
            (
                "scalar_rnn.dy_dw",
                "  3w^2 u_1 + 2 w u_2 + u_3.  ",
                "3w^2 u_1 + 2 w u_2 + u_3",
            ),  # the sentence's full stop
            ("scalar_rnn.dy_dw", "3w^2 u_1 + 2 w u_2 \\\\ &\\quad + u_3", "3w^2 u_1 + 2 w u_2    \\quad + u_3"),
            ("scalar_rnn.dy_dw", "3w^2 u_1 + 2 w u_2 + u_3 \\label{eq:a} \\nonumber", "3w^2 u_1 + 2 w u_2 + u_3"),
            ("xent.initial_accuracy", "25\\% % a comment", "25\\%"),  # \% is a percent sign, % a comment
            ("beam.step2", "\\text{neural network}; \\text{network neural}", ["neural network", "network neural"]),
            ("beam.step2", "\\text{neural network}", "neural network"),  # one option: a string, as TOML's
            ("beam.step2", "neural network ; network~neural", ["neural network", "network neural"]),
            ("gated_rnn.can_explode", "\\textrm{true}.", "true"),
            ("conv1d.dl_dW_shape", "\\mathbb{R}^{1 \\times 5 \\times 3}", "\\mathbb{R}^{1 \\times 5 \\times 3}"),
            (
                "x.cases",  # an unknown id is text; the cases' own \\ and & stay
                "\\begin{cases} a & x > 0 \\\\ b & \\text{otherwise} \\end{cases}",
                "\\begin{cases} a & x > 0 \\\\ b & \\text{otherwise} \\end{cases}",
            ),
        ],
    )
    @pytest.mark.parametrize("fmt", ["tex", "md", "ipynb"])
    def test_an_answer_reads_as_its_toml_value(self, tmp_path: Path, fmt: str, pid: str, body: str, value) -> None:
        path = _write(tmp_path, f"hw.{fmt}", _document(fmt, [("answer", pid, body)]))
        got = formats.read(path).answers[pid]
        if isinstance(value, str):  # blanked layout keeps offsets: compare the words
            assert " ".join(got.split()) == " ".join(value.split())
        else:
            assert got == value

    @pytest.mark.parametrize(
        ("body", "value"),
        [
            ("p &= u_1 \\\\\nq &= w u_1", {"p": "u_1", "q": "w u_1"}),
            ("p = u_1\nq = w u_1", {"p": "u_1", "q": "w u_1"}),  # a line end parts entries too
            ("p &= u_1 \\\\ q &= w\n   u_1", {"p": "u_1", "q": "w\n   u_1"}),  # a row without = continues
            ("\\text{p} &= u_1 \\\\ q_{} &= w u_1,", {"p": "u_1", "q": "w u_1"}),
        ],
    )
    def test_a_table_reads_as_its_entries(self, tmp_path: Path, body: str, value: dict) -> None:
        path = _write(tmp_path, "hw.tex", _tex(f"\\begin{{answer}}{{scalar_rnn.forward}}\n{body}\n\\end{{answer}}"))
        got = formats.read(path).answers["scalar_rnn.forward"]
        assert {k: " ".join(v.split()) for k, v in got.items()} == {k: " ".join(v.split()) for k, v in value.items()}

    @pytest.mark.parametrize(
        "written",
        [
            "V1\\_v &= \\begin{bmatrix} 1 & -2.5 \\\\ 3e-1 & 4 \\end{bmatrix}",
            "\\text{V1\\_v} &= [[1, -2.5], [0.3, 4]]",
            "V1_{v} &= \\begin{pmatrix} 1 & −2.5 \\\\ 0.3 & 4 \\end{pmatrix} \\\\",
        ],
    )
    def test_an_array_of_numbers_is_a_list_of_rows(self, tmp_path: Path, written: str) -> None:
        path = _write(tmp_path, "hw.tex", _tex(f"\\begin{{answer}}{{mlp.values}}\n{written}\n\\end{{answer}}"))
        assert formats.read(path).answers["mlp.values"] == {"V1_v": [[1, -2.5], [0.3, 4]]}

    def test_an_array_with_a_symbol_stays_text(self, tmp_path: Path) -> None:
        body = "V1_v &= \\begin{bmatrix} 1 & w \\end{bmatrix}"
        path = _write(tmp_path, "hw.tex", _tex(f"\\begin{{answer}}{{mlp.values}}\n{body}\n\\end{{answer}}"))
        assert formats.read(path).answers["mlp.values"]["V1_v"] == "\\begin{bmatrix} 1 & w \\end{bmatrix}"

    def test_steps_and_answer_together_are_one_table(self, tmp_path: Path) -> None:
        path = _write(
            tmp_path,
            "hw.md",
            _md(("answer", "scalar_rnn.dy_dp", "w^3"), ("steps", "scalar_rnn.dy_dp", "\\frac{dy}{dp} = w^3")),
        )
        got = formats.read(path).answers["scalar_rnn.dy_dp"]
        assert set(got) == {"steps", "answer"} and got["answer"] == "w^3"

    @pytest.mark.parametrize(
        "skipped",
        [
            "% \\begin{answer}{scalar_rnn.dy_dp} w^3 \\end{answer}",
            "\\begin{verbatim}\n\\begin{answer}{scalar_rnn.dy_dp} w^3 \\end{answer}\n\\end{verbatim}",
            "\\iffalse\n\\begin{answer}{scalar_rnn.dy_dp} w^3 \\end{answer}\n\\fi",
            "\\verb|\\begin{answer}{scalar_rnn.dy_dp} w^3 \\end{answer}|",
        ],
        ids=["comment", "verbatim", "iffalse", "verb"],
    )
    def test_what_tex_does_not_typeset_is_not_an_answer(self, tmp_path: Path, skipped: str) -> None:
        path = _write(tmp_path, "hw.tex", _tex(skipped, "\\begin{answer}{scalar_rnn.dy_dw} w \\end{answer}"))
        assert formats.read(path).answers == {"scalar_rnn.dy_dw": "w"}

    def test_a_fenced_marker_is_an_example(self, tmp_path: Path) -> None:
        text = "```\n<!-- answer scalar_rnn.dy_dp -->\n$$ w^3 $$\n```\n\n<!-- answer scalar_rnn.dy_dw --> $$ w $$\n"
        assert formats.read(_write(tmp_path, "hw.md", text)).answers == {"scalar_rnn.dy_dw": "w"}

    @pytest.mark.parametrize("ending", ["\r\n", "\n"])
    def test_a_bom_and_windows_line_ends(self, tmp_path: Path, ending: str) -> None:
        text = "\ufeff" + _tex("\\begin{answer}{scalar_rnn.dy_dw}", "w^3", "\\end{answer}").replace("\n", ending)
        doc = formats.read(_write(tmp_path, "hw.tex", text))
        assert doc.answers == {"scalar_rnn.dy_dw": "w^3"}
        assert doc.place(doc.pieces["scalar_rnn.dy_dw"][""].offset) == (5, 1, None)

    def test_without_forms_every_answer_is_text(self, tmp_path: Path) -> None:
        path = _write(tmp_path, "hw.md", _md(("answer", "beam.step2", "\\text{a}; \\text{b}")))
        assert af.read_answers(path) == {"beam.step2": "\\text{a}; \\text{b}"}  # the judge says it is no option
        assert formats.form_of("beam.step2") == Form("choice")
        assert formats.form_of("scalar_rnn.forward") == Form("table", ("p", "q", "r", "s", "t", "y"))
        assert formats.form_of("no.such_id") == Form()

    @pytest.mark.parametrize(
        ("written", "verdict"),
        [
            ("3w^2 u_1 + 2 w u_2 + u_3", "correct"),
            ("3w^2 u_1 + 2 w u_2 + u_3 % - u_3 in a comment is not read", "correct"),
            ("3w^2 u_1 + 2 w u_2 + u_3 \\% + (", "unparsed"),  # \% is not a comment: the ( is read
            ("3w^2 u_1 + 2 w u_2", "incorrect"),  # the direct term dropped
            ("3w^2 u_1 + 2 w u_2 + u_3 \\\\ + u_3", "incorrect"),  # a second row is still the answer
        ],
    )
    def test_a_verdict_of_a_document_is_the_texts(self, tmp_path: Path, written: str, verdict: str, capsys) -> None:
        path = _write(tmp_path, "hw.tex", _tex(f"\\begin{{answer}}{{scalar_rnn.dy_dw}}\n{written}\n\\end{{answer}}"))
        _, data = _check_json(path, capsys)
        assert data["results"][0]["verdict"] == verdict


class TestPositions:
    """An unparsed answer points at the student's file: line and column counted here from the file."""

    @pytest.mark.parametrize("fmt", ["tex", "md"])
    def test_a_parse_error_names_the_files_line_and_column(self, tmp_path: Path, fmt: str, capsys) -> None:
        text = _document(fmt, [("answer", "scalar_rnn.dy_dw", "  w^3 + (2 w u_2")])
        _, data = _check_json(_write(tmp_path, f"hw.{fmt}", text), capsys)
        line, column = _lines_and_columns(text, "(2 w u_2")
        end = column + len("(2 w u_2")  # the parser stops where the text ends
        assert data["results"][0]["verdict"] == "unparsed"
        assert f"at line {line}, column {end} of hw.{fmt}" in data["results"][0]["message"]

    def test_a_notebook_position_names_the_cell(self, tmp_path: Path, capsys) -> None:
        text = _ipynb(("answer", "scalar_rnn.dy_dw", "w^3 + (2 w"))
        _, data = _check_json(_write(tmp_path, "hw.ipynb", text), capsys)
        # cell 2 (after a code cell): "Intro", the marker, "$$", then the answer on its line 4
        assert "at line 4, column 11 of cell 2 of hw.ipynb" in data["results"][0]["message"]

    def test_a_table_entrys_unknown_symbol(self, tmp_path: Path, capsys) -> None:
        body = (
            "p &= u_1 \\\\ q &= w u_1 \\\\ r &= w u_1 + u_2 \\\\\ns &= w^2 u_1 + w u_2 \\\\\n"
            "t &= w^2 u_1 + w u_2 + u_3 \\\\\ny &= w^3 u_1 + w^2 u_2 + w u_9"
        )
        text = _tex(f"\\begin{{answer}}{{scalar_rnn.forward}}\n{body}\n\\end{{answer}}")
        _, data = _check_json(_write(tmp_path, "hw.tex", text), capsys)
        line, column = _lines_and_columns(text, "u_9")
        result = data["results"][0]
        assert result["verdict"] == "incorrect" and result["score"] == pytest.approx(5 / 6)
        assert f"(line {line}, column {column} of hw.tex)" in result["message"]
        assert f"(line {line}, column {column} of hw.tex)" in result["entries"]["y"]["message"]

    @pytest.mark.parametrize("fmt", ["tex", "md"])
    def test_a_derivations_lines_are_the_files(self, tmp_path: Path, fmt: str, capsys) -> None:
        body = (
            "\\frac{\\partial L}{\\partial h_t}\n"
            "  &= \\frac{\\partial L}{\\partial \\hat{y}_T} \\frac{\\partial \\hat{y}_T}{\\partial h_T}"
            " \\frac{\\partial h_T}{\\partial h_t} \\\\\n"
            "  &= 3 (\\hat{y}_T - y_T) W^f \\frac{\\partial h_T}{\\partial h_t} \\\\\n"
            "  &= 2 (\\hat{y}_T - y_T) W^f (W^h)^{T-t}"
        )
        text = _document(fmt, [("steps", "rnn.dL_dh_linear", body)])
        _, data = _check_json(_write(tmp_path, f"hw.{fmt}", text), capsys)
        result = data["results"][0]
        first, _ = _lines_and_columns(text, "\\frac{\\partial L}{\\partial h_t}")
        wrong, _ = _lines_and_columns(text, "&= 3 (")
        assert result["verdict"] == "incorrect" and result["step"] == 2  # 3(ŷ − y) for 2(ŷ − y)
        assert [line["row"] for line in result["lines"]] == [first, wrong]
        assert result["message"].startswith(f"line 2 (at line {wrong} of hw.{fmt}: ")

    def test_a_derivations_parse_error(self, tmp_path: Path, capsys) -> None:
        body = "\\frac{dy}{dp} &= w \\cdot w^2 \\\\\n  &= w^2 (w"  # line 1 holds (∂y/∂p = w^3)
        text = _tex(f"\\begin{{steps}}{{scalar_rnn.dy_dp}}\n{body}\n\\end{{steps}}")
        _, data = _check_json(_write(tmp_path, "hw.tex", text), capsys)
        line, column = _lines_and_columns(text, "w^2 (w")
        result = data["results"][0]
        assert result["verdict"] == "unparsed" and result["step"] == 2
        assert result["message"].startswith(f"line 2 (at line {line}, column {column + len('w^2 (w')} of hw.tex)")

    def test_a_derivation_line_that_is_no_equation(self, tmp_path: Path, capsys) -> None:
        text = _md(("steps", "scalar_rnn.dy_dp", "\\frac{dy}{dp} = w^3\nw^3"))
        _, data = _check_json(_write(tmp_path, "hw.md", text), capsys)
        line, column = _lines_and_columns(text, "w^3", 1)
        assert data["results"][0]["message"].endswith(f"(at line {line}, column {column} of hw.md)")

    def test_the_references_place_in_the_message_is_kept(self) -> None:
        doc = Document("hw.tex", "x\n" * 5 + "  w^3 + (", {"a": "w^3 + ("}, {"a": {"": Piece("w^3 + (", 12)}}, {"a": 0})
        said = "not equivalent at position 3; more"
        verdict = Verdict("a", "incorrect", said, reference=Reference("w^2", None, len("not equivalent")))
        moved = doc.relocate(verdict)
        assert moved.message == "not equivalent at line 6, column 5 of hw.tex; more"
        assert moved.said() == "not equivalent (reference: w^2) at line 6, column 5 of hw.tex; more"

    def test_a_toml_verdict_is_untouched(self, capsys) -> None:
        _, data = _check_json(EXAMPLES / "homework_twin.toml", capsys)
        message = next(r["message"] for r in data["results"] if r["id"] == "optim.adam_bias_correction")
        assert "at position 29" in message and "of homework" not in message


class TestHostile:
    """Bad documents: one line on stderr, exit 2, quickly, nothing run, no traceback."""

    CASES = [
        ("braces.tex", b"{" * 499_000 + b"}" * 499_000, "nested more than 255 deep"),
        (
            "deep-answer.tex",
            b"\\begin{answer}{scalar_rnn.dy_dw}" + b"{" * 300_000 + b"}" * 300_000 + b"\\end{answer}",
            "nested more than 255 deep",
        ),
        ("open.tex", _tex("\\begin{answer}{scalar_rnn.dy_dw} w^3").encode(), "is never closed"),
        ("wrong-end.tex", _tex("\\begin{answer}{scalar_rnn.dy_dw} w^3 \\end{steps}").encode(), "write \\end{answer}"),
        ("stray-end.tex", _tex("w^3 \\end{answer}").encode(), "without a \\begin{answer}"),
        ("no-id.tex", _tex("\\begin{answer} w^3 \\end{answer}").encode(), "needs the item's id"),
        (
            "two.tex",
            _tex(*["\\begin{answer}{scalar_rnn.dy_dw} w^3 \\end{answer}"] * 2).encode(),
            "two answers for 'scalar_rnn.dy_dw' (line 4 and line 5): neither counts",
        ),
        (
            "two.md",
            _md(("answer", "scalar_rnn.dy_dw", "w"), ("answer", "scalar_rnn.dy_dw", "w^2")).encode(),
            "two answers for 'scalar_rnn.dy_dw' (line 1 and line 6)",
        ),
        ("not-json.ipynb", b'{"cells": [{"cell_type": "markdown", "source": "x"', "not valid JSON"),
        ("deep.ipynb", b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        ("list.ipynb", b"[1, 2]", "not a Jupyter notebook"),
        ("v3.ipynb", b'{"worksheets": [], "nbformat": 3}', "nbformat 3"),
        ("binary.tex", bytes(range(256)) * 50, "not UTF-8 text"),
        ("nul.tex", b"\\begin{answer}{x} \x00 \\end{answer}", "binary file"),
        ("nothing.tex", _tex("no answers here").encode(), "no answers"),
        ("nothing.md", b"# Homework\n$$ w^3 $$\n", "no answers"),
        ("no-display.md", b"<!-- answer scalar_rnn.dy_dw -->\nw^3\n", "must be followed by a $$"),
        ("open-display.md", b"<!-- answer scalar_rnn.dy_dw -->\n$$ w^3\n", "never closed"),
        ("dollars.md", b"<!-- answer x -->\n$$" + b"\\$$" * 300_000, "never closed"),
        ("many.tex", b"".join(b"\\begin{answer}{x%d} a \\end{answer}\n" % i for i in range(501)), "at most 500"),
        (
            "entry-twice.tex",
            _tex("\\begin{answer}{scalar_rnn.forward} p = u_1 \\\\ p = u_1 \\end{answer}").encode(),
            "twice",
        ),
    ]

    @pytest.mark.parametrize(("name", "data", "said"), CASES, ids=[c[0] for c in CASES])
    def test_a_bad_document_is_one_line_and_exit_2(
        self, tmp_path: Path, name: str, data: bytes, said: str, capsys
    ) -> None:
        path = _write(tmp_path, name, data)
        started = time.monotonic()
        assert main(["check", str(path)]) == 2
        assert time.monotonic() - started < 10
        err = capsys.readouterr().err
        assert err.startswith("dlverify: ") and err.count("\n") == 1 and "Traceback" not in err
        assert said in err

    def test_a_fifo_named_tex_is_not_opened(self, tmp_path: Path, capsys) -> None:
        os.mkfifo(tmp_path / "hw.tex")
        assert main(["check", str(tmp_path / "hw.tex")]) == 2
        assert "not a regular file" in capsys.readouterr().err

    def test_control_characters_in_a_document_never_reach_the_terminal(self, tmp_path: Path, capsys) -> None:
        path = _write(tmp_path, "hw.md", "<!-- answer x\x1b[2J -->\n$$ w \u202e $$\n")
        main(["check", str(path)])
        captured = capsys.readouterr()
        assert "\x1b" not in captured.out + captured.err and "\u202e" not in captured.out + captured.err

    def test_a_folder_survives_its_bad_documents(self, tmp_path: Path, capsys) -> None:
        shutil.copyfile(EXAMPLES / "homework.md", tmp_path / "alice.md")
        _write(tmp_path, "bob.tex", _tex("\\begin{answer}{scalar_rnn.dy_dw} w^3"))
        _write(tmp_path, "carol.ipynb", b"not json")
        assert main(["check", str(tmp_path)]) == 2
        summary = json.loads((tmp_path / "dlverify-summary.json").read_text())
        by_file = {s["file"]: s for s in summary["submissions"]}
        assert by_file["alice.md"]["score"] == pytest.approx(7 + 5 / 6)
        assert "never closed" in by_file["bob.tex"]["error"] and "not valid JSON" in by_file["carol.ipynb"]["error"]


class TestOutputs:
    def test_prairielearn_results(self, tmp_path: Path, capsys) -> None:
        out = tmp_path / "results.json"
        assert main(["check", str(EXAMPLES / "homework.tex"), "--prairielearn", str(out)]) == 1
        results = json.loads(out.read_text())
        assert results["gradable"] is True
        assert results["score"] == pytest.approx((7 + 5 / 6) / 11)  # the fraction, in [0, 1]
        assert sorted(t["name"] for t in results["tests"]) == sorted(EXPECTED)
        forward = next(t for t in results["tests"] if t["name"] == "scalar_rnn.forward")
        assert forward["points"] == pytest.approx(5 / 6) and forward["max_points"] == 1
        assert forward["message"].startswith("incorrect: ")
        steps = next(t for t in results["tests"] if t["name"] == "rnn.dL_dh_linear")
        assert "✗ 2." in steps["output"]

    def test_prairielearn_with_expect_counts_the_assignment(self, tmp_path: Path, capsys) -> None:
        out = tmp_path / "results.json"
        doc = _write(tmp_path, "hw.md", _md(("answer", "scalar_rnn.dy_dw", "3w^2 u_1 + 2 w u_2 + u_3")))
        assert (
            main(["check", str(doc), "--expect", "scalar_rnn.dy_dw,scalar_rnn.dy_dp", "--prairielearn", str(out)]) == 1
        )
        results = json.loads(out.read_text())
        assert results["score"] == 0.5 and [t["points"] for t in results["tests"]] == [1, 0]

    @pytest.mark.parametrize("data", [b"\\begin{answer}{x} w", b"\xff\xfe binary"])
    def test_prairielearn_not_gradable(self, tmp_path: Path, data: bytes, capsys) -> None:
        out = tmp_path / "results.json"
        assert main(["check", str(_write(tmp_path, "hw.tex", data)), "--prairielearn", str(out)]) == 2
        results = json.loads(out.read_text())
        assert results["gradable"] is False and results["format_errors"] and "hw.tex" in results["format_errors"][0]

    def test_gradescope_and_json_carry_the_input_note(self, tmp_path: Path, capsys) -> None:
        doc = _write(
            tmp_path, "hw.tex", _tex("\\include{part2}", "\\begin{answer}{scalar_rnn.dy_dp} w^3 \\end{answer}")
        )
        out = tmp_path / "gs.json"
        code, data = _check_json(doc, capsys, "--gradescope", str(out))
        assert code == 0 and "\\include (line 4) not followed" in data["notes"][0]
        assert "not followed" in json.loads(out.read_text())["output"]

    def test_several_files_of_mixed_formats(self, tmp_path: Path, capsys) -> None:
        paths = [EXAMPLES / n for n in [*DOCUMENTS, "homework_twin.toml"]]
        for p in paths:
            shutil.copyfile(p, tmp_path / p.name)
        assert main(["check", *(str(tmp_path / p.name) for p in paths)]) == 1
        summary = json.loads((tmp_path / "dlverify-summary.json").read_text())
        assert {s["file"]: s["score"] for s in summary["submissions"]} == dict.fromkeys(
            [p.name for p in paths], pytest.approx(7 + 5 / 6)
        )

    def test_report_from_a_notebook(self, tmp_path: Path, capsys) -> None:
        out = tmp_path / "feedback.tex"
        assert main(["check", str(EXAMPLES / "homework.ipynb"), "--report", str(out), "--hide-reference"]) == 1
        assert out.exists() and "homework.ipynb" in out.read_text()


class TestTemplates:
    IDS = ["scalar_rnn.dy_dw", "scalar_rnn.forward", "beam.step2", "autodiff.reverse_trace", "rnn.dL_dh_linear"]

    @pytest.mark.parametrize("fmt", ["tex", "md", "ipynb"])
    @pytest.mark.parametrize("steps", [False, True])
    def test_a_skeleton_reads_back_with_every_id(self, tmp_path: Path, fmt: str, steps: bool, capsys) -> None:
        assert main(["template", *self.IDS, "--format", fmt, *(["--steps"] if steps else [])]) == 0
        path = _write(tmp_path, f"hw.{fmt}", capsys.readouterr().out)
        answers = formats.read(path).answers
        assert list(answers) == self.IDS
        assert isinstance(answers["rnn.dL_dh_linear"], dict) == steps  # {"steps": ""} with --steps
        assert set(answers["scalar_rnn.forward"]) == {"p", "q", "r", "s", "t", "y"}
        if fmt == "ipynb":
            notebook = json.loads(path.read_text())
            assert notebook["nbformat"] == 4 and all(c["cell_type"] == "markdown" for c in notebook["cells"])

    def test_a_filled_in_skeleton_is_graded(self, tmp_path: Path, capsys) -> None:
        assert main(["template", "scalar_rnn.forward", "--format", "tex"]) == 0
        text = capsys.readouterr().out
        values = {"p": "u_1", "q": "w u_1", "r": "w u_1 + u_2", "s": "w^2 u_1 + w u_2", "t": "w^2 u_1 + w u_2 + u_3"}
        values["y"] = "w^3 u_1 + w^2 u_2 + w u_3"
        for key, value in values.items():
            text = text.replace(f"{key} &=  \\\\", f"{key} &= {value} \\\\")
        code, data = _check_json(_write(tmp_path, "hw.tex", text), capsys)
        assert code == 0 and data["results"][0]["verdict"] == "correct"

    def test_an_unknown_id_is_refused(self, capsys) -> None:
        assert main(["template", "scalar_rnn.dy_dx", "--format", "md"]) == 2


@pytest.mark.skipif(PDFLATEX is None, reason="pdflatex is not installed (CI installs it: .ci/run)")
class TestCompiles:
    """The shipped package typesets the documents the checker reads."""

    @staticmethod
    def _pdf(folder: Path, tex: Path) -> Path:
        assert main(["latex-package", str(folder)]) == 0
        run = subprocess.run(
            [PDFLATEX, "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", tex.name],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stdout[-2000:]
        return tex.with_suffix(".pdf")

    def test_the_example_compiles(self, tmp_path: Path, capsys) -> None:
        shutil.copyfile(EXAMPLES / "homework.tex", tmp_path / "homework.tex")
        assert self._pdf(tmp_path, tmp_path / "homework.tex").stat().st_size > 1000

    @pytest.mark.parametrize("option", ["", "[showids]"])
    def test_the_readme_example_compiles_and_is_right(self, tmp_path: Path, option: str, capsys) -> None:
        readme = (ROOT / "README.md").read_text()
        tex = re.findall(r"```latex\n(.*?)```", readme, flags=re.S)[0].replace("{dlverify}", option + "{dlverify}", 1)
        path = _write(tmp_path, "hw.tex", tex)
        self._pdf(tmp_path, path)
        capsys.readouterr()  # latex-package's line
        code, data = _check_json(path, capsys)
        assert code == 0 and {r["verdict"] for r in data["results"]} == {"correct"}

    @pytest.mark.parametrize("steps", [False, True])
    def test_a_skeleton_compiles(self, tmp_path: Path, steps: bool, capsys) -> None:
        assert main(["template", *TestTemplates.IDS, "mlp.values", "--format", "tex", *(["--steps"] * steps)]) == 0
        self._pdf(tmp_path, _write(tmp_path, "hw.tex", capsys.readouterr().out))

    def test_a_class_that_defines_answer_is_overridden(self, tmp_path: Path, capsys) -> None:
        text = _tex("\\begin{answer}{scalar_rnn.dy_dw} w \\end{answer}").replace(
            "\\usepackage{dlverify}", "\\newenvironment{answer}{}{}\n\\usepackage{dlverify}"
        )
        self._pdf(tmp_path, _write(tmp_path, "hw.tex", text))


class TestPackage:
    def test_the_sty_is_package_data(self) -> None:
        patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
        assert any(fnmatch.fnmatch("data/dlverify.sty", p) for p in patterns["dlverify"])  # a wheel carries it
        assert "\\ProvidesPackage{dlverify}" in formats.package_text()

    def test_latex_package_writes_it(self, tmp_path: Path, capsys) -> None:
        assert main(["latex-package", str(tmp_path / "new")]) == 0
        assert (tmp_path / "new" / "dlverify.sty").read_text() == formats.package_text()

    def test_latex_package_never_writes_through_a_link(self, tmp_path: Path, capsys) -> None:
        victim = tmp_path / "victim.txt"
        victim.write_text("mine")
        (tmp_path / "dlverify.sty").symlink_to(victim)
        assert main(["latex-package", str(tmp_path)]) == 2
        assert victim.read_text() == "mine" and "Traceback" not in capsys.readouterr().err


def test_the_reader_is_pure_data() -> None:
    """The document reader, given a text, returns the TOML mapping (no file, no catalog)."""
    text = "<!-- answer a -->\n$$ x + 1 $$\n<!-- steps b -->\n$$\na = 1 \\\\\n= 1\n$$\n"
    doc = read_document(text, "hw.md", "md")
    assert doc.answers == {"a": "x + 1", "b": {"steps": doc.pieces["b"]["steps"].text}}
    assert doc.pieces["b"]["steps"].text.split("\n")[0].strip() == "a = 1"


class TestAutograder:
    """run_autograder, as Gradescope runs it, takes one submission of any format."""

    @pytest.fixture(scope="class")
    def tree(self, tmp_path_factory: pytest.TempPathFactory) -> Path:
        from tests.test_autograder import tree as build

        return build.__wrapped__(tmp_path_factory)

    @pytest.mark.parametrize("fmt", ["tex", "md", "ipynb"])
    def test_a_document_is_graded(self, tree: Path, fmt: str) -> None:
        from tests.test_autograder import _grade

        blocks = [("answer", "scalar_rnn.dy_dw", "3w^2 u_1 + 2 w u_2 + u_3"), ("answer", "scalar_rnn.dy_dp", "w^2")]
        got = _grade(tree, {f"HW.{fmt.upper()}": _document(fmt, blocks)})
        tests = {t["name"]: t["score"] for t in got["tests"]}
        assert tests == {"scalar_rnn.dy_dw": 1, "scalar_rnn.dy_dp": 0, "lae.grad_W1": 0} and got["score"] == 1
        assert not list(tree.rglob("ran-by-the-checker.txt"))

    def test_the_example_notebook_runs_nothing(self, tree: Path) -> None:
        from tests.test_autograder import _grade

        got = _grade(tree, {"hw.ipynb": (EXAMPLES / "homework.ipynb").read_text()}, cwd=tree / "submission")
        assert got["score"] == 1  # dy_dw right, dy_dp wrong; the other items are not this assignment's
        assert not list(tree.rglob("ran-by-the-checker.txt"))

    def test_two_answers_files_are_refused(self, tree: Path) -> None:
        from tests.test_autograder import _grade

        got = _grade(tree, {"hw.tex": _tex(), "README.md": "# notes\n"})
        assert got["score"] == 0 and "Several answers files" in got["output"] and "README.md" in got["output"]

    def test_an_unreadable_notebook_is_the_students_to_fix(self, tree: Path) -> None:
        from tests.test_autograder import _grade

        got = _grade(tree, {"hw.ipynb": "{not json"})
        assert got["score"] == 0 and got["output"].startswith("Your answers file could not be read:")
        assert "not valid JSON" in got["output"]

"""Reports: built from the registry and a live cross-check, deterministic, TeX-safe."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from dlverify import registry
from dlverify.cli import main
from dlverify.notation import text
from reports.build import build, latexmk_available
from reports.latex import safe_math

HOSTILE = [
    r"\input{/etc/passwd}",
    r"\write18{touch SENTINEL}",
    r"\immediate\write18{rm -rf ~}",
    r"\def\x{\x}\x",
    r"\catcode`\^^M=13",
    "}{}}{ unbalanced {",
    "$x$ % comment & # ~ ^ _",
    "\\\\input",
]
# SymPy's own spellings, which a typeset page must never show
RAW_SYMPY = re.compile(
    r"\*\*|\b(Sum|Product|DiagMatrix|HadamardProduct|HadamardPower|MatPow|MatMul|Transpose|Elementwise)\("
    r"|\\operatorname\{(Sum|DiagMatrix|Elementwise|sign)\}|\\mathbb\{R\}\^\{\\infty"
)
DANGEROUS = re.compile(r"\\(input|include|write|def|catcode|immediate|openout|read|csname|let)\b")


@pytest.mark.parametrize("s", HOSTILE)
def test_text_escaping_leaves_no_command(s: str) -> None:
    out = text(s)
    assert not DANGEROUS.search(out)
    unescaped = re.sub(r"\\[{}]", "", out.replace(r"\textbackslash{}", "").replace(r"\textasciicircum{}", ""))
    unescaped = re.sub(r"\\text\w+\{\}", "", unescaped)
    assert unescaped.count("{") == unescaped.count("}")


def test_safe_math_admits_only_our_commands() -> None:
    assert safe_math(r"\left(\sum_{t=1}^{T} w^{T - t} u_{t}\right)")
    assert safe_math(r"I + \operatorname{diag}\left(\sigma'\left(W_{t} h_{t}\right)\right) W_{t}")
    for s in HOSTILE + [r"\frac{1}{2}}", r"x \\ y", r"\mathbb{1}\left[x > 0\right] \write"]:
        assert not safe_math(s), s


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("reports")
    result = build(["scalar_rnn"], out, examples=40, pdf=False)
    assert result.pdf_skipped and not result.failures
    return out


def test_every_item_has_its_steps_result_and_a_fresh_record(built: Path) -> None:
    tex = (built / "scalar_rnn.tex").read_text()
    for problem in registry.select(["scalar_rnn"]):
        assert text(problem.id) in tex
    assert tex.count(r"\paragraph{Verification.} \textbf{Verified}") == 5
    assert tex.count(r"\boxed{") >= 5
    assert "on 40 random cases" in tex  # the record comes from this build's run
    assert (built / "scalar_rnn_decay.pdf").exists() and (built / "scalar_rnn_activations.pdf").exists()


def test_two_builds_give_identical_tex(built: Path, tmp_path: Path) -> None:
    build(["scalar_rnn"], tmp_path, examples=40, pdf=False)
    for name in ("scalar_rnn.tex", "solution-manual.tex"):
        assert (tmp_path / name).read_bytes() == (built / name).read_bytes(), name


def test_report_cli_says_when_pdf_is_skipped(tmp_path: Path, capsys) -> None:
    assert main(["report", "scalar_rnn", "--out", str(tmp_path), "--examples", "10", "--no-pdf"]) == 0
    out = capsys.readouterr().out
    assert "scalar_rnn.tex" in out and "note: PDF step not requested" in out


def test_feedback_tex_escapes_student_text(tmp_path: Path, capsys) -> None:
    answers = tmp_path / "a.toml"
    hostile = "\n".join(
        f"[\"scalar_rnn.{pid}\"]\nanswer = '''{s}'''"
        for pid, s in zip(
            ("dy_dw", "dy_dp", "dy_dw_general"),
            (r"\input{/etc/passwd}", r"\write18{touch X} }{", r"w^3 $ % &"),
            strict=True,
        )
    )
    answers.write_text(hostile)
    report = tmp_path / "fb.tex"
    main(["check", str(answers), "--report", str(report)])
    tex = report.read_text()
    body = tex.split(r"\begin{document}")[1]
    assert not DANGEROUS.search(body)
    assert r"\textbackslash{}input" in body


def _pdf_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


needs_tex = pytest.mark.skipif(
    not latexmk_available() and not os.environ.get("CI"),
    reason="no TeX toolchain here (CI installs one and runs these)",
)


@needs_tex
def test_pdfs_compile_and_carry_every_id_and_record(tmp_path: Path) -> None:
    # a few cases per item: the cross-checks themselves run at 100 cases in test_problems.py
    result = build(None, tmp_path, examples=5, pdf=True)
    assert result.pdf and result.pdf_skipped is None
    manual = _pdf_text(tmp_path / "solution-manual.pdf")
    for problem in registry.problems().values():
        assert problem.id in manual, problem.id
    recorded = [p for p in registry.problems().values() if p.recorded]
    argued = [p for p in registry.problems().values() if p.argument_only]
    assert manual.count("Verified against") == len(registry.problems()) - len(recorded) - len(argued)
    assert manual.count("Argument only") == len(argued)
    assert manual.count("Verified by stored results") == len(recorded)
    # typeset like a book: no line wider than the text by more than 5 pt, in any document
    wide = [
        (log.name, float(width))
        for log in tmp_path.glob("*.log")
        for width in re.findall(r"Overfull \\hbox \((\d+(?:\.\d+)?)pt too wide\)", log.read_text(errors="replace"))
        if float(width) > 5
    ]
    assert not wide, wide
    # no symbol falls back to a wrong glyph: amssymb sets \mathbb{1} as ⊮ unless the preamble draws it
    assert "⊮" not in manual
    assert "--examples" in manual and "–examples" not in manual  # the command copies as written
    for tex in tmp_path.glob("*.tex"):
        raw = RAW_SYMPY.findall(tex.read_text())
        assert not raw, (tex.name, raw[:5])


@needs_tex
def test_hostile_feedback_compiles_and_executes_nothing(tmp_path: Path) -> None:
    sentinel = tmp_path / "SENTINEL"
    answers = tmp_path / "a.toml"
    answers.write_text(
        '["scalar_rnn.dy_dw"]\n'
        f"answer = '''\\immediate\\write18{{touch {sentinel}}} \\input{{/etc/passwd}} }}{{ $'''\n"
        "[\"scalar_rnn.dy_dp\"]\nanswer = 'w^2'\n"
    )
    pdf = tmp_path / "feedback.pdf"
    main(["check", str(answers), "--report", str(pdf)])
    assert pdf.exists() and not sentinel.exists()
    content = _pdf_text(pdf)
    assert "scalar_rnn.dy_dw" in content and "root:" not in content  # /etc/passwd was not read
    assert "⊮" not in content
    assert shutil.which("pdftotext")


def test_case_tables_typeset_symbols_as_mathematics() -> None:
    from reports.build import _case_latex

    row = _case_latex({"lambda": 0.259399, "beta_1": 0.5, "h_{t-1}": 2, "W^h": 1}, {"W^h": "W^h"})
    assert r"$\lambda$ = 0.259399" in row and r"$\beta_{1}$ = 0.5" in row
    assert r"$h_{t-1}$ = 2" in row and "$W^h$ = 1" in row
    assert "lambda =" not in row  # no Greek letter spelled as a word

"""TeX output that a hostile text cannot subvert: a course title, a student's id or answer.

What a file gives reaches TeX as printed characters, or as math scripts made of known
commands only: never as a command that reads or writes a file, never as TeX's ``^^``
character codes (``^^;`` is ``{``, so ``\\input^^;ab^^=`` would be ``\\input{ab}``).  A
document TeX still stops on ends in one line that says where, never in a traceback.
"""

from __future__ import annotations

import random
import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from dlverify import course, notation
from dlverify.cli import main
from reports import build as report_build
from reports.build import LatexError, compile_pdf, item_section
from reports.latex import code, document, shown

LAE = Path(__file__).resolve().parents[1] / "examples" / "course" / "lae.toml"
LAE_TITLE = 'title = "Gradients of the linear autoencoder\'s loss"'
HOSTILE_TITLES = [r"x_{\input^^;ab^^=}", r"x_{\usepackage}"]
MARKER = "MARKERFROMABTEX"
# the commands text() and prose() may write: their own escapes and the math of the tables
ALLOWED = (
    {
        name
        for table in (notation._SPECIALS, notation._UNICODE)
        for value in table.values()
        for name in re.findall(r"\\([A-Za-z]+)", value)
    }
    | set(notation._SCRIPT_COMMANDS)
    | {"hat", "tilde", "bar", "mathbb", "leavevmode", "newline"}
)
CONTROL_SYMBOLS = set("_{}$&#%^~=\\|")  # \_ \{ … and the accents \^{…} \~{…} \={…}
needs_tex = pytest.mark.skipif(shutil.which("latexmk") is None, reason="no latexmk here (CI installs TeX)")


def _tex_safe(out: str) -> None:
    """Only allowed commands, no ^^, balanced braces and math: nothing TeX reads as a command we did not write."""
    assert "^^" not in out and not any(ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in out), out
    depth, dollars = 0, 0
    for token in re.findall(r"\\[A-Za-z]+|\\.|.", out, re.S):
        if token.startswith("\\"):
            name = token[1:]
            assert name in ALLOWED if name.isalpha() else name in CONTROL_SYMBOLS, (token, out)
        depth += {"{": 1, "}": -1}.get(token, 0)
        dollars += token == "$"
        assert depth >= 0, out
    assert depth == 0 and dollars % 2 == 0, out


# scripts TeX would obey (a command, ^^ codes), or stop on (a double subscript, a lone ^, NUL, \\[1cm])
HOSTILE_SCRIPTS = [
    *HOSTILE_TITLES,
    r"x_{a\}",
    "x_a_b",
    "x_{a^}",
    "x_{\x00}",
    "x_{^^5cinput}",
    r"x_{\^^;}",
    "x_{a'}^b",
    "\n[1cm]x",
]


def _random_hostile_strings() -> list[str]:
    rng = random.Random(21)  # fixed: the same strings every run
    alphabet = list("ab x1_^{}\\$%&#~;=\n\x00'-[]") + ["\u0302", "\u0303", "x_{", "^^", r"\input", "}", "\n[1cm]"]
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 16))) for _ in range(3000)]


@pytest.mark.parametrize("s", HOSTILE_SCRIPTS)
def test_prose_sets_only_scripts_as_math(s: str) -> None:
    out = notation.prose(s, frozenset("x"))
    _tex_safe(out)
    assert not re.search(r"\\(input|usepackage)\b", out)


def test_prose_and_text_of_random_hostile_strings_stay_text() -> None:
    for s in _random_hostile_strings():
        _tex_safe(notation.prose(s, frozenset("ab")))
        _tex_safe(notation.text(s))


@needs_tex
def test_hostile_prose_and_text_compile(tmp_path: Path) -> None:
    strings = HOSTILE_SCRIPTS + _random_hostile_strings()
    body = "\n\n".join(notation.prose(s, frozenset("ab")) for s in strings)  # each one a paragraph
    body += "\n\n" + "\n\n".join(rf"$\text{{{notation.text(s)}}}$ {code(s)}" for s in strings[:500])
    tex = tmp_path / "hostile.tex"
    tex.write_text(document("hostile", body), encoding="utf-8")
    assert compile_pdf(tex).exists()


def test_the_catalogs_math_tokens_stay_math() -> None:
    assert notation.prose("h_{t-1}, R^{m×n}, e^{w_i}, x_{\\alpha}, Σ_{i≤t}") == (
        r"$h_{t-1}$, $\mathbb{R}^{m\times n}$, $e^{w_i}$, $x_{\alpha}$, $\Sigma_{i\le t}$"
    )


def test_stacked_accents_are_capped() -> None:
    out = notation.text("w" + "\u0302" * 1990)
    assert out.count(r"\^{") == notation.MAX_ACCENTS  # TeX nests each accent in a group (255 at most)


def test_shown_cuts_and_says_so() -> None:
    assert shown("a" * 900_000, 100) == "a" * 100 + " … (899,900 more characters)"
    assert shown("w" + "\u0302" * 1990, 100) == "w\u0302\u0302 … (1,988 more characters)"
    assert shown("h_{t-1}", 100) == "h_{t-1}"


def _hostile_item(title: str) -> str:
    """The lae course item's section with ``title`` as the course's title (set after the file is
    read, so that a title the file format may refuse still reaches the typesetting)."""
    _, problems = course.load(LAE)
    p = problems[0]
    p = replace(p, title=f"dL/dW_1 ({title})", statement=f"{title}. {p.statement}")
    return item_section(p, None)


@pytest.mark.parametrize("title", HOSTILE_TITLES)
def test_a_course_title_reaches_tex_as_text(title: str, tmp_path: Path) -> None:
    section = _hostile_item(title)
    assert not re.search(r"\\(input|usepackage)\b", section) and "^^" not in section
    if shutil.which("latexmk") is None:
        return
    (tmp_path / "ab.tex").write_text(MARKER + "\n")  # what \input{ab} would read
    tex = tmp_path / "item.tex"
    tex.write_text(document("course", section), encoding="utf-8")
    pdf = compile_pdf(tex)
    shown_text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert MARKER not in shown_text and title in shown_text  # printed, not obeyed


@needs_tex
@pytest.mark.parametrize("title", HOSTILE_TITLES)
def test_report_of_a_course_file_with_a_hostile_title(title: str, tmp_path: Path, catalog, capsys) -> None:
    problems = tmp_path / "hostile.toml"
    problems.write_text(LAE.read_text().replace(LAE_TITLE, f"title = '{title}'"))
    out = tmp_path / "out"
    out.mkdir()
    (out / "ab.tex").write_text(MARKER + "\n")
    rc = main(["report", "--problems", str(problems), "--out", str(out), "--examples", "2"])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if rc == 2 and "title" in err:  # the file format refused the title: nothing reached TeX
        return
    assert rc == 0, err
    for tex in out.glob("*.tex"):
        body = tex.read_text().split(r"\begin{document}")[-1]
        assert not re.search(r"\\(input|usepackage)\b", body) and "^^" not in body, tex.name
    manual = subprocess.run(
        ["pdftotext", str(out / "solution-manual.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert MARKER not in manual and title in manual


@needs_tex
def test_report_says_where_tex_stopped(tmp_path: Path, catalog, capsys, monkeypatch) -> None:
    real = report_build.item_section
    monkeypatch.setattr(report_build, "item_section", lambda p, c: real(p, c) + "\n" + r"\undefinedbyanyone")
    rc = main(["report", "--problems", str(LAE), "--out", str(tmp_path), "--examples", "1"])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    line = next(line for line in err.splitlines() if "course.tex" in line)
    assert "LaTeX stopped on course.tex at line" in line and "in item course.lae.dL_dW_1" in line, line
    assert "Undefined control sequence" in line and "kept" in line, line
    assert (tmp_path / "course.tex").exists() and (tmp_path / "course.log").exists()


@needs_tex
def test_tex_reads_no_absolute_path_and_latexmk_no_rc_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.tex"
    secret.write_text(MARKER + "\n")
    work = tmp_path / "work"
    work.mkdir()
    # a latexmkrc is Perl that latexmk runs; one in the folder being built must not be read
    (work / "latexmkrc").write_text(f'system("touch {tmp_path / "RC_RAN"}");\n')
    tex = work / "a.tex"
    tex.write_text(r"\documentclass{article}\begin{document}\input{" + str(secret) + r"} x\end{document}" + "\n")
    with pytest.raises(LatexError, match="not found"):  # openin_any=p: no absolute path
        compile_pdf(tex)
    assert not (tmp_path / "RC_RAN").exists()


def _feedback(tmp_path: Path, answers: str, capsys) -> tuple[int, str, Path]:
    path = tmp_path / "a.toml"
    path.write_text(answers, encoding="utf-8")
    out = tmp_path / "feedback.pdf"
    rc = main(["check", str(path), "--report", str(out)])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return rc, err, out


@pytest.mark.parametrize(
    "answers",
    [
        '["' + "a" * 900_000 + '"]\nanswer = "w"\n["scalar_rnn.dy_dw"]\nanswer = "3w^2"\n',
        '["scalar_rnn.dy_dw"]\nanswer = "w' + "\u0302" * 1990 + '"\n',
    ],
    ids=["900000-character id", "1990 combining marks"],
)
def test_feedback_for_long_ids_and_stacked_marks(answers: str, tmp_path: Path, capsys) -> None:
    rc, err, out = _feedback(tmp_path, answers, capsys)
    assert rc == 1, err  # graded (incorrect), the document written
    if shutil.which("latexmk") is None:
        tex = out.with_suffix(".tex").read_text()
        assert "more characters" in tex and max(map(len, tex.splitlines())) < 50_000
        return
    assert out.exists(), err
    content = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True, check=True).stdout
    assert "more characters)" in content


@needs_tex
def test_feedback_tex_kept_when_tex_stops(tmp_path: Path, capsys, monkeypatch) -> None:
    broken = document("dlverify feedback", r"\undefinedbyanyone")
    monkeypatch.setattr("reports.feedback.feedback_tex", lambda *args: broken)
    (tmp_path / "feedback.tex").write_text("a file of the student's own\n")
    rc, err, out = _feedback(tmp_path, '["scalar_rnn.dy_dw"]\nanswer = "3w^2"\n', capsys)
    assert rc == 2 and not out.exists()
    assert "LaTeX stopped on feedback.tex at line" in err and "Undefined control sequence" in err, err
    assert "kept as" in err and "feedback-1.tex" in err, err
    assert (tmp_path / "feedback.tex").read_text() == "a file of the student's own\n"  # never replaced
    assert (tmp_path / "feedback-1.tex").read_text() == broken

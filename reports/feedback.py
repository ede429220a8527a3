"""A feedback document for one checked submission: verdict, answer, reference, witness.

Student text is untrusted.  It reaches TeX only through ``notation.text`` (every TeX
special printed literally), and the typeset form of an answer is printed by the checker
from the parsed tree — never the student's LaTeX — and admitted only if ``safe_math``
finds nothing but our own math commands in it.  What a file gives (an id, an answer, a
message quoting them) is shown cut to a length TeX reads (``shown``) and breakable.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

from dlverify import notation, registry
from dlverify.checking.answers import Graded, write_atomically
from dlverify.checking.verdict import Counterexample
from dlverify.views import VerdictView, WitnessView, verdict_view, witness_view
from reports.build import LatexError, compile_pdf, latexmk_available
from reports.equations import equation
from reports.latex import breakable, code, document, safe_math, shown, text

COLOUR = {"correct": "green!50!black", "incorrect": "red!70!black", "missing": "orange!80!black"}
# characters shown of an id or a file name, an answer, a message (answers are at most 2,000)
NAME_LIMIT, ANSWER_LIMIT, MESSAGE_LIMIT = 200, 2_000, 4_000


def _said(s: str, limit: int = MESSAGE_LIMIT) -> str:
    """Text that quotes a file (an id, an answer, a message about them) as LaTeX: cut, breakable."""
    return breakable(shown(s, limit))


def _answer_block(raw: Any, verdict: VerdictView) -> list[str]:
    out = []
    if isinstance(raw, str):
        out.append(r"\textit{Your answer:} " + code(shown(raw, ANSWER_LIMIT)))
    elif raw is not None:
        out.append(r"\textit{Your answer:} " + code(shown(json.dumps(raw, ensure_ascii=False), ANSWER_LIMIT)))
    if verdict.answer_latex and safe_math(verdict.answer_latex):
        out.append(r"\textit{read as:} \[ " + verdict.answer_latex + r" \]")
    return out


def _math_name(name: str) -> str | None:
    """A symbol's name as printed by the checker (σ_2, W_2, h_{t-1}, ŷ) as math; None if it is not one."""
    greek = notation.GREEK_COMMANDS
    latex = "".join(greek.get(ch, ch) + (" " if ch in greek else "") for ch in name.replace("ŷ", r"\hat{y}"))
    latex = re.sub(r"_([A-Za-z0-9]{2,})", r"_{\1}", latex).strip()
    return latex if safe_math(latex) and latex.isascii() else None


def _math_value(value: Any) -> str:
    """A number, a fraction, or a matrix (a list of rows) as math; anything else as text."""
    if isinstance(value, bool) or value is None:
        return rf"\text{{{text(str(value))}}}"
    if isinstance(value, (int, float)):
        return f"{value:.6g}"
    if isinstance(value, list) and value and all(isinstance(row, list) for row in value):
        rows = [" & ".join(_math_value(x) for x in row) for row in value]
        return r"\begin{pmatrix}" + r" \\ ".join(rows) + r"\end{pmatrix}"
    if isinstance(value, list):
        return r"\left(" + ", ".join(_math_value(x) for x in value) + r"\right)"
    written = str(value)
    fraction = re.fullmatch(r"(-?)(\d+)/(\d+)", written)
    if fraction:
        sign, num, den = fraction.groups()
        return rf"{sign}\tfrac{{{num}}}{{{den}}}"
    if re.fullmatch(r"-?\d+(\.\d+)?(e-?\d+)?", written):
        return written
    return rf"\text{{{_said(written)}}}"


def _counterexample(example: WitnessView | Counterexample) -> str:
    """Where the answer and the reference differ, typeset: the values that matter (matrices as
    matrices), a note of those left out (the JSON record has them), then the two values."""
    if isinstance(example, Counterexample):
        example = witness_view(example)
    scalars, matrices = [], []
    for name, value in example.values:
        math = _math_name(str(name))
        shown_as = (rf"{math} = " if math else rf"\text{{{_said(str(name), NAME_LIMIT)}}} = ") + _math_value(value)
        (matrices if isinstance(value, list) else scalars).append(shown_as)
    # matrices three to a line (a wide one alone), so a point of many vectors stays on one page
    rows: list[list[str]] = []
    for m in matrices:
        wide = m.count("&") > 4 * max(1, m.count(r"\\"))
        if not rows or wide or len(rows[-1]) == 3 or rows[-1][0].count("&") > 4:
            rows.append([m])
        else:
            rows[-1].append(m)
    lines = ([r",\quad ".join(scalars)] if scalars else []) + [r",\quad ".join(r) for r in rows]
    out = r"\textit{Counterexample:} \begin{gather*} " + r" \\ ".join(lines) + r" \end{gather*}" if lines else ""
    if example.note:
        out += ("\n\n" if out else "") + r"\textit{" + text(f"({example.note})") + "}"
    rest = []
    if example.entry is not None:
        rest.append(_said(f"entry {list(example.entry)}", NAME_LIMIT))
    for value, label in ((example.answer_value, "your answer"), (example.reference_value, "the reference")):
        if value is not None:
            rest.append(text(f"{label} ") + "$" + _math_value(value) + "$")
    rest += [_said(f"{k}: {json.dumps(v, ensure_ascii=False)}") for k, v in example.details.items()]
    return out + ("\n\n" + "; ".join(rest) + "." if rest else "")


def _reference(pid: str) -> str | None:
    """The reference, each entry as a display that fits the page (long ones broken, parts named)."""
    problem = registry.problems().get(pid)
    if problem is None:
        return None
    d = problem.derive()
    if d.is_choice:
        return r"\[ " + notation.results(d)[0][1] + r" \]"
    return "\n".join(equation(rf"\text{{{notation.prose(k)}}}" if k else "", v) for k, v in d.entries().items())


def _derivation(verdict: VerdictView) -> str:
    """The student's derivation, a line each as written, the first line that does not hold marked."""
    rows = [r"\textit{Your derivation:}", r"\begin{enumerate}"]
    for line in verdict.lines:
        source = code(shown(line.source, ANSWER_LIMIT))
        if line.holds:
            rows.append(r"\item " + source + r" \hfill \textcolor{green!50!black}{holds}")
        else:
            mark = r"\textcolor{red!70!black}{\textbf{the first line that does not hold}}"
            rows.append(r"\item " + source + r" \hfill " + mark)
    rows.append(r"\end{enumerate}")
    return "\n".join(rows)


def _item(verdict: VerdictView, raw: Any, hide: bool) -> str:
    colour = COLOUR.get(verdict.verdict, "black")
    head = _said(verdict.id, NAME_LIMIT)
    out = [r"\subsection*{" + head + r" \quad \textcolor{" + colour + "}{" + text(verdict.verdict) + "}}"]
    if verdict.entries:
        for name, entry in verdict.entries:
            out.append(r"\paragraph{" + _said(f"Entry {shown(name, NAME_LIMIT)}: {entry.verdict}") + "}")
            value = raw.get(name) if isinstance(raw, dict) else None
            out += _answer_block(value, entry)
            out.append(_said(entry.message))  # the reference is typeset below, not quoted in the sentence
    elif verdict.lines:
        out.append(_derivation(verdict))
        out.append(_said(verdict.message))
    else:
        out += _answer_block(raw, verdict)
        out.append(_said(verdict.message))
    if verdict.diagnosis:
        out.append(r"\textbf{Likely mistake:} " + _said(verdict.diagnosis) + ".")
    if verdict.witness is not None:
        out.append(_counterexample(verdict.witness))
    if not hide and verdict.verdict in ("incorrect", "missing"):
        ref = _reference(verdict.id)
        if ref is not None:
            out.append(r"\textit{Reference:} " + ref)
    return "\n\n".join(out)


def feedback_tex(graded: Graded, answers: dict[str, Any], source: str, hide: bool) -> str:
    right = sum(v.ok for v in graded.results)
    body = [
        _said(
            f"Submission: {shown(source, NAME_LIMIT)}. Score {graded.score:g} of {graded.max_score:g}; {right} of "
            f"{len(graded.results)} items correct."
        ),
    ]
    body += [_item(verdict_view(v), answers.get(v.id), hide) for v in graded.results]
    return document("dlverify feedback", "\n\n".join(body))


def _keep(tex: str, out: Path) -> Path:
    """Write ``tex`` beside ``out`` as OUT.tex, or OUT-N.tex where a file of that name is there
    already (a file we did not write is never replaced)."""
    for k in range(1000):
        path = out.with_suffix(".tex") if k == 0 else out.with_name(f"{out.stem}-{k}.tex")
        try:
            with path.open("x", encoding="utf-8") as f:
                f.write(tex)
            return path
        except FileExistsError:
            continue
    raise OSError(f"no free name for the .tex beside {out}")


def write_feedback(
    graded: Graded, answers: dict[str, Any], source: str, out: Path, hide: bool
) -> tuple[Path, str | None]:
    """Write ``out`` (.tex, or .pdf compiled from it): the path written, and a note when the PDF
    was skipped.  Where TeX stops on the document, the .tex is kept beside ``out`` and the
    RuntimeError says where and why, in one line."""
    tex = feedback_tex(graded, answers, source, hide)
    # only a regular file is ever replaced: a link planted at OUT is not written through, a FIFO never blocks
    if out.suffix != ".pdf":
        write_atomically(out, tex)
        return out, None
    if not latexmk_available():
        return _keep(tex, out), "no TeX toolchain installed: skipped the PDF"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "feedback.tex"
        path.write_text(tex, encoding="utf-8")
        try:
            pdf = compile_pdf(path)
        except LatexError as exc:
            kept = _keep(tex, out)
            raise RuntimeError(f"{exc}; no PDF written, the document is kept as {kept}") from None
        write_atomically(out, pdf.read_bytes())
    return out, None

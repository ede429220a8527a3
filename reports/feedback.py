"""A feedback document for one checked submission: verdict, answer, reference, witness.

Student text is untrusted.  It reaches TeX only through ``notation.text`` (every TeX
special printed literally), and the typeset form of an answer is printed by the checker
from the parsed tree — never the student's LaTeX — and admitted only if ``safe_math``
finds nothing but our own math commands in it.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from dlverify import notation, registry
from dlverify.checking.answers import Graded
from dlverify.checking.verdict import Verdict
from reports.build import compile_pdf, latexmk_available
from reports.equations import equation
from reports.latex import code, document, safe_math, text

COLOUR = {"correct": "green!50!black", "incorrect": "red!70!black", "missing": "orange!80!black"}


def _answer_block(raw: Any, verdict: Verdict) -> list[str]:
    out = []
    if isinstance(raw, str):
        out.append(r"\textit{Your answer:} " + code(raw))
    elif raw is not None:
        out.append(r"\textit{Your answer:} " + code(json.dumps(raw, ensure_ascii=False)))
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
    shown = str(value)
    fraction = re.fullmatch(r"(-?)(\d+)/(\d+)", shown)
    if fraction:
        sign, num, den = fraction.groups()
        return rf"{sign}\tfrac{{{num}}}{{{den}}}"
    if re.fullmatch(r"-?\d+(\.\d+)?(e-?\d+)?", shown):
        return shown
    return rf"\text{{{text(shown)}}}"


def _counterexample(example: dict[str, Any]) -> str:
    """Where the answer and the reference differ, typeset: the point (matrices as matrices), then
    the two values."""
    scalars, matrices = [], []
    point = example.get("at")
    if isinstance(point, dict):
        for name, value in point.items():
            math = _math_name(str(name))
            shown = (rf"{math} = " if math else rf"\text{{{text(str(name))}}} = ") + _math_value(value)
            (matrices if isinstance(value, list) else scalars).append(shown)
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
    rest = []
    if "entry" in example:
        rest.append(text(f"entry {example['entry']}"))
    labels = {"answer_value": "your answer", "reference_value": "the reference", "answer": "your answer"}
    labels["reference"] = "the reference"
    for key, label in labels.items():
        if key in example:
            rest.append(text(f"{label} ") + "$" + _math_value(example[key]) + "$")
    extra = {
        k: v
        for k, v in example.items()
        if k not in ("at", "entry", "answer_value", "reference_value", "answer", "reference")
    }
    rest += [text(f"{k}: {json.dumps(v, ensure_ascii=False)}") for k, v in extra.items()]
    return out + ("\n\n" + "; ".join(rest) + "." if rest else "")


def _reference(pid: str) -> str | None:
    """The reference, each entry as a display that fits the page (long ones broken, parts named)."""
    problem = registry.problems().get(pid)
    if problem is None:
        return None
    d = problem.derive()
    if isinstance(d.result, frozenset):
        return r"\[ " + notation.results(d)[0][1] + r" \]"
    return "\n".join(equation(rf"\text{{{notation.prose(k)}}}" if k else "", v) for k, v in d.entries().items())


def _without_reference(message: str) -> str:
    """The message less its "(reference: …)", which the document typesets below instead."""
    start = message.find(" (reference: ")
    if start < 0:
        return message
    depth = 0
    for k in range(start + 1, len(message)):
        depth += {"(": 1, ")": -1}.get(message[k], 0)
        if depth == 0:
            return message[:start] + message[k + 1 :]
    return message


def _item(verdict: Verdict, raw: Any, hide: bool) -> str:
    colour = COLOUR.get(verdict.verdict, "black")
    out = [
        r"\subsection*{" + text(verdict.id) + r" \quad \textcolor{" + colour + "}{" + text(verdict.verdict) + "}}",
    ]
    if verdict.entries:
        for name, entry in verdict.entries.items():
            out.append(r"\paragraph{" + text(f"Entry {name}: {entry.verdict}") + "}")
            value = raw.get(name) if isinstance(raw, dict) else None
            out += _answer_block(value, entry)
            out.append(text(_without_reference(entry.message)))
    else:
        out += _answer_block(raw, verdict)
        out.append(text(_without_reference(verdict.message)))
    if verdict.diagnosis:
        out.append(r"\textbf{Likely mistake:} " + text(verdict.diagnosis) + ".")
    if verdict.counterexample:
        out.append(_counterexample(verdict.counterexample))
    if not hide and verdict.verdict in ("incorrect", "missing"):
        ref = _reference(verdict.id)
        if ref is not None:
            out.append(r"\textit{Reference:} " + ref)
    return "\n\n".join(out)


def feedback_tex(graded: Graded, answers: dict[str, Any], source: str, hide: bool) -> str:
    right = sum(v.ok for v in graded.results)
    body = [
        text(
            f"Submission: {source}. Score {graded.score:g} of {graded.max_score:g}; {right} of "
            f"{len(graded.results)} items correct."
        ),
    ]
    body += [_item(v, answers.get(v.id), hide) for v in graded.results]
    return document("dlverify feedback", "\n\n".join(body))


def write_feedback(
    graded: Graded, answers: dict[str, Any], source: str, out: Path, hide: bool
) -> tuple[Path, str | None]:
    """Write ``out`` (.tex, or .pdf compiled from it): the path written, and a note when the PDF
    was skipped."""
    tex = feedback_tex(graded, answers, source, hide)
    if out.suffix != ".pdf":
        out.write_text(tex, encoding="utf-8")
        return out, None
    if not latexmk_available():
        fallback = out.with_suffix(".tex")
        fallback.write_text(tex, encoding="utf-8")
        return fallback, "no TeX toolchain installed: skipped the PDF"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "feedback.tex"
        path.write_text(tex, encoding="utf-8")
        shutil.copyfile(compile_pdf(path), out)
    return out, None

"""A feedback document for one checked submission: verdict, answer, reference, witness.

Student text is untrusted.  It reaches TeX only through ``notation.text`` (every TeX
special printed literally), and the typeset form of an answer is printed by the checker
from the parsed tree — never the student's LaTeX — and admitted only if ``safe_math``
finds nothing but our own math commands in it.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from dlverify import notation, registry
from dlverify.checking.answers import Graded
from dlverify.checking.verdict import Verdict
from reports.build import compile_pdf, latexmk_available
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


def _reference(pid: str) -> str | None:
    problem = registry.problems().get(pid)
    if problem is None:
        return None
    parts = [(rf"\text{{{text(k)}}} = " if k else "") + value for k, value, _ in notation.results(problem.derive())]
    return r" \\ ".join(parts)


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
            out.append(text(entry.message))
    else:
        out += _answer_block(raw, verdict)
        out.append(text(verdict.message))
    if verdict.diagnosis:
        out.append(r"\textbf{Likely mistake:} " + text(verdict.diagnosis) + ".")
    if verdict.counterexample:
        shown = ", ".join(f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in verdict.counterexample.items())
        out.append(r"\textit{Counterexample:} " + text(shown))
    if not hide and verdict.verdict in ("incorrect", "missing"):
        ref = _reference(verdict.id)
        if ref is not None:
            out.append(r"\textit{Reference:} \begin{gather*} " + ref + r" \end{gather*}")
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

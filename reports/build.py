"""Build the solution manual: one .tex per topic and a combined one, compiled to PDF.

Everything in a report is produced while it is built: the derivation steps from the
registry, the verification record by running the cross-check (never copied text), the
tables from the cases that run checked, the figures from the oracles.  Seeds, thread
counts and number formats are fixed, so two builds give byte-identical .tex files.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sympy as sp

from dlverify import registry
from dlverify.crosscheck import CrossCheck, cross_check_many
from dlverify.notation import prose
from dlverify.problem import Problem
from dlverify.views import ItemView, Outcome, VerificationView, item_view
from reports.equations import equation
from reports.figures import FIGURES, Figure
from reports.latex import document, safe_math, shown, text

# -norc: no latexmkrc (Perl that latexmk would run) from the output folder or elsewhere is read
LATEXMK = ["latexmk", "-norc", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", "-quiet"]
# a second guard behind the escaping: kpathsea's paranoid mode (TeX opens no absolute path, no ../
# and no dotfile, for reading or writing) and no shell escape, whatever a texmf.cnf says
TEX_ENV = {"openin_any": "p", "openout_any": "p", "shell_escape": "f"}
TITLE_LIMIT, STATEMENT_LIMIT = 500, 10_000  # characters of a title or a statement a section shows
ITEM_HEAD = r"\needspace{8\baselineskip}\subsection*{"


@dataclass
class Built:
    tex: list[Path] = field(default_factory=list)
    pdf: list[Path] = field(default_factory=list)
    pdf_skipped: str | None = None
    failures: list[str] = field(default_factory=list)
    pdf_failed: list[str] = field(default_factory=list)  # why each document that TeX stopped on failed, one line
    items: dict[str, str] = field(default_factory=dict)  # id → title of each item written, to say where TeX stopped


def _num(x: Any) -> str:
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        return "0" if abs(x) < TINY else f"{x:.6g}"  # no −0, no 1e-180 beside values of order 1
    if hasattr(x, "shape") and getattr(x, "ndim", 0) >= 1:  # an array: its shape, not its entries
        return "×".join(map(str, x.shape)) + " array"
    if isinstance(x, (list, tuple)):
        shown = ", ".join(_num(v) if not isinstance(v, float) else f"{v:.3g}" for v in x[:3])
        return f"({shown}{', …' if len(x) > 3 else ''})"
    return str(x)


TINY = 1e-12  # below this a value is shown as 0 (the error column is computed on the unrounded values)


def _number(x: float | None, digits: int) -> str:
    """A table cell: a sensible precision, 0 for a tiny value, powers of ten typeset."""
    if x is None:
        return "--"
    if abs(x) < TINY:
        return "0"
    mantissa, _, exponent = f"{x:.{digits}g}".partition("e")
    if not exponent:
        return mantissa
    return rf"${mantissa}\times 10^{{{int(exponent)}}}$"


_GREEK = set("alpha beta gamma delta epsilon eta theta lambda mu rho sigma tau phi omega Lambda Sigma Delta".split())


def _name_latex(name: str, spelled: dict[str, str]) -> str | None:
    """A case's symbol as the item's statement typesets it (λ, W^h, u_1), or None to keep it as text."""
    latex = spelled.get(name)
    if latex is None:
        head, _, tail = name.partition("_")
        head = "\\" + head if head in _GREEK else head
        latex = head + (f"_{tail}" if tail.startswith("{") else f"_{{{tail}}}" if tail else "")
    return latex if safe_math(latex) and len(latex) < 40 else None


def _case_latex(case: dict[str, Any], spelled: dict[str, str]) -> str:
    """The case's values with their symbols as mathematics (λ = 0.26, not "lambda = 0.26")."""
    parts = []
    for k in sorted(case, key=str.casefold):
        latex = _name_latex(k, spelled)
        value = text(_num(case[k]))
        parts.append(f"${latex}$ = {value}" if latex is not None else text(f"{k} = {_num(case[k])}"))
    return ", ".join(parts)


def _draw(job: tuple[str, Path]) -> tuple[str, list[Figure]]:
    topic, out = job
    return topic, [make(out) for make in FIGURES[topic]]


def _draw_all(figure_topics: list[str], out: Path) -> dict[str, list[Figure]]:
    """Every topic's figures, on every core (each figure is seeded: the same files whichever
    worker drew it)."""
    import multiprocessing

    jobs = [(t, out) for t in figure_topics]
    if min(os.cpu_count() or 1, len(jobs)) > 1 and "fork" in multiprocessing.get_all_start_methods():
        with multiprocessing.get_context("fork").Pool(min(os.cpu_count() or 1, len(jobs))) as pool:
            return dict(pool.map(_draw, jobs, chunksize=1))
    return dict(_draw(job) for job in jobs)


def _recorded_check(problem: Problem) -> CrossCheck:
    """An experiment's stored results, compared as its cross-check would compare them."""
    check = CrossCheck(problem, recorded=True)
    found = problem.recorded(problem)
    bad = [m for m in found if not m.ok]
    if bad:
        check.failure = "; ".join(f"{m.check}: {m.error:.3g} > {m.tolerance:.3g}" for m in bad)
    check.record({}, found)
    return check


def _record(v: VerificationView) -> str:
    if v.recorded:
        status = r"\textbf{Verified} " if v.passed else r"\textcolor{red}{\textbf{FAILED}} "
        return (
            status
            + text(f"by stored results: {'; '.join(v.recorded_checks)}. ")
            + r"\\ \small Regenerate: \texttt{"
            + text(v.recorded_by)
            + r"}; retrain and check: \texttt{"
            + text(f"dlverify verify {v.item}")
            + r"}\normalsize"
        )
    outcome = v.outcome
    if outcome is Outcome.FAILED:
        return r"\textcolor{red}{\textbf{Verification FAILED}}: " + text(f"{v.failure}; case {v.failing_case}")
    if outcome is Outcome.ARGUMENT_ONLY:
        return r"\textbf{Argument only:} " + text("no experiment decides this statement; the reason above carries it.")
    measured = ""
    if v.cases == 1 and v.measured:  # one fixed experiment: what it measured
        measured = r"\\ " + text("Measured: " + "; ".join(v.measured) + ".")
    if outcome is Outcome.EXACT:
        agreement = "every comparison exact (yes or no, no tolerance)."
    else:
        agreement = (
            f"max relative error {v.max_error:.2e}, tolerance at most {v.max_tolerance:.2e} ({v.tolerance_note})."
        )
    return (
        r"\textbf{Verified} "
        + text(f"against {v.oracle} on {v.cases} random case{'s' if v.cases != 1 else ''} ({v.sizes}); {agreement}")
        + measured
        + r"\\ \small Reproduce: \texttt{"
        # -{}- keeps the option's two hyphens apart: T1 fonts join "--" into an en dash, and copy-paste breaks
        + text(f"dlverify verify {v.item} --examples {v.cases}").replace("--", "-{}-")
        + r"}\normalsize"
    )


def _spellings(item: str) -> dict[str, str]:
    try:
        return {spec.name: spec.latex for spec in registry.get(item).symbols}
    except Exception:  # an item outside the registry (a test's): its names stay as text
        return {}


def _table(v: VerificationView) -> str:
    if not v.rows:
        return ""
    lines = [
        r"\begin{center}\small",
        # long cases and claims' checks wrap, ragged
        r"\begin{tabular}{>{\raggedright\arraybackslash}p{0.34\linewidth}"
        r">{\raggedright\arraybackslash}p{0.24\linewidth}rrr}",
        r"\toprule",
        r"case & entry & SymPy & oracle & rel.\ error \\",
        r"\midrule",
    ]
    spelled = _spellings(v.item)
    for row in v.rows[:12]:
        lines.append(
            rf"{_case_latex(row.case, spelled)} & {text(row.entry or '--')} & {_number(row.reference, 10)} & "
            rf"{_number(row.oracle, 10)} & {_number(row.error, 2)} \\"
        )
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{center}"]
    lines.append(
        r"{\footnotesize "
        + text(
            f"Values below {TINY:g} in magnitude are shown as 0; errors are measured "
            "on the unrounded values, against the tolerance stated above."
        )
        + "}"
    )
    return "\n".join(lines)


def item_section(problem: Problem, check: CrossCheck | None) -> str:
    return item_latex(item_view(problem, check.view() if check is not None else None))


def item_latex(view: ItemView) -> str:
    """An item's section of the manual: statement, derivation, boxed result, verification record."""
    letters = view.letters
    title, statement = shown(view.title, TITLE_LIMIT), shown(view.statement, STATEMENT_LIMIT)
    out = [
        ITEM_HEAD + text(f"{view.id} — ") + prose(title, letters) + "}",
        r"\textit{Answer kind:} " + text(view.kind) + r".\quad " + prose(statement, letters),
        r"\needspace{4\baselineskip}\paragraph{Derivation.}",
        r"\begin{enumerate}",
    ]
    for step in view.steps:
        out.append(r"\item " + prose(step.text, letters))
        if step.rhs is not None:
            out.append(equation(step.lhs_latex, step.rhs))
    out.append(r"\end{enumerate}")
    out.append(r"\needspace{4\baselineskip}\paragraph{Result.}")
    for entry in view.results:
        if entry.expr is not None and not isinstance(entry.expr, sp.Tuple):
            out.append(equation(rf"\text{{{prose(entry.name)}}}" if entry.name else "", entry.expr, boxed=True))
            continue
        label = rf"\text{{{prose(entry.name)}}} = " if entry.name else ""
        out.append(rf"\[ \boxed{{{label}{entry.latex}}} \]")
    if view.verification is not None:
        out.append(r"\needspace{4\baselineskip}\paragraph{Verification.} " + _record(view.verification))
        out.append(_table(view.verification))
    return "\n".join(out)


def _figures_tex(figures: list[Figure]) -> str:
    out = []
    for f in figures:
        out += [
            r"\begin{figure}[H]\centering",  # here, after its item: never drifting into the next section
            rf"\includegraphics[width=0.8\linewidth]{{{f.filename}}}",
            rf"\caption{{{f.caption}}}",
            r"\end{figure}",
        ]
    return "\n".join(out)


def topic_body(topic: str, checks: list[CrossCheck], figures: list[Figure]) -> str:
    title = registry.topic(topic).title
    ids = {c.problem.id for c in checks}
    loose = [f for f in figures if f.item not in ids]  # no item of its own: at the topic's head
    out = [r"\section{" + text(f"{title} ({topic})") + "}", _figures_tex(loose)]
    for c in checks:
        out.append(item_section(c.problem, c))
        out.append(_figures_tex([f for f in figures if f.item == c.problem.id]))
    return "\n\n".join(part for part in out if part)


def build(
    topics: list[str] | None,
    out: Path,
    examples: int = 100,
    pdf: bool = True,
    progress: Callable[[str], None] | None = None,
) -> Built:
    """Write the reports into ``out``; compile them when a TeX toolchain is installed.
    ``progress`` is called with each item's id as its cross-check ends."""
    import torch

    torch.set_num_threads(1)  # fixed thread count: the same floating-point sums every build
    out.mkdir(parents=True, exist_ok=True)
    chosen = topics or registry.topics()
    built = Built()
    bodies = []
    live = [p for t in chosen for p in registry.select([t]) if not p.recorded]
    done = {c.problem.id: c for c in cross_check_many(live, examples, progress)}
    drawn = _draw_all([t for t in chosen if t in FIGURES], out)
    for topic in chosen:
        problems = registry.select([topic])
        checks = [_recorded_check(p) if p.recorded else done[p.id] for p in problems]
        built.items.update((p.id, p.title) for p in problems)
        built.failures += [c.problem.id for c in checks if not c.passed]
        figures = drawn.get(topic, [])
        body = topic_body(topic, checks, figures)
        bodies.append(body)
        path = out / f"{topic}.tex"
        path.write_text(document(f"dlverify: {registry.topic(topic).title}", body), encoding="utf-8")
        built.tex.append(path)
    manual = out / "solution-manual.tex"
    manual.write_text(document("dlverify solution manual", r"\tableofcontents" + "\n\n" + "\n\n".join(bodies)))
    built.tex.append(manual)
    if pdf:
        compile_all(built)
    else:
        built.pdf_skipped = "PDF step not requested (--no-pdf)"
    return built


def latexmk_available() -> bool:
    return shutil.which("latexmk") is not None and shutil.which("pdflatex") is not None


class LatexError(RuntimeError):
    """A document TeX stopped on: the line it stopped at and its error, in one line."""

    def __init__(self, tex: Path, error: str, line: int | None) -> None:
        self.tex, self.error, self.line = tex, error, line
        super().__init__(f"LaTeX stopped on {tex.name}{f' at line {line}' if line else ''}: {error}")


def printable(s: str, limit: int = 160) -> str:
    """Text from a file or a log as one short terminal line (no control or bidirectional characters)."""
    return "".join(ch if ch.isprintable() else "?" for ch in shown(s, limit))


LOG_WIDTH = 79  # TeX's max_print_line


def _log_error(log: str) -> tuple[str, int | None]:
    """TeX's first error in a log ("! Undefined control sequence.") and the source line it names (l.24)."""
    lines = log.splitlines()
    for k, line in enumerate(lines):
        if line.startswith("! "):
            message = line
            for more in lines[k + 1 : k + 5]:  # TeX wraps a log's lines at 79 characters
                if len(message) % LOG_WIDTH or not more:
                    break
                message += more
            at = next((m for m in (re.match(r"l\.(\d+)\b", later) for later in lines[k + 1 : k + 40]) if m), None)
            return printable(message[2:].strip()), int(at.group(1)) if at else None
    return "no error message in the log", None


def compile_pdf(tex: Path) -> Path:
    """latexmk -pdf, no shell escape, no rc file, kpathsea paranoid, halting on the first error;
    returns the PDF, or raises LatexError."""
    # A fixed date and ID in the PDF, so that two builds give the same bytes.
    env = {**os.environ, "SOURCE_DATE_EPOCH": "0", "FORCE_SOURCE_DATE": "1", **TEX_ENV}
    try:
        done = subprocess.run(
            [*LATEXMK, tex.name], cwd=tex.parent, capture_output=True, text=True, timeout=300, check=False, env=env
        )
    except subprocess.TimeoutExpired:
        raise LatexError(tex, "latexmk ran for more than 300 s", None) from None
    pdf = tex.with_suffix(".pdf")
    if done.returncode != 0 or not pdf.exists():
        log = tex.with_suffix(".log")
        error, line = _log_error(log.read_text(errors="replace") if log.exists() else done.stdout + done.stderr)
        raise LatexError(tex, error, line)
    return pdf


def _item_at(tex: Path, line: int | None, items: dict[str, str]) -> str:
    """ " in item ID (title)" for the item whose section holds ``line`` of ``tex``; "" if none does."""
    if line is None or not items:
        return ""
    for source in reversed(tex.read_text(encoding="utf-8", errors="replace").splitlines()[:line]):
        if source.startswith(ITEM_HEAD):
            for pid, title in items.items():
                if source.startswith(ITEM_HEAD + text(f"{pid} — ")):
                    return f", in item {printable(pid)} (title “{printable(title, 80)}”)"
            return ""
    return ""


def compile_all(built: Built) -> None:
    """Compile every .tex of ``built``; a document TeX stops on is a line in ``built.pdf_failed``
    (where and why; its .tex and .log stay), the others are still compiled."""
    if not latexmk_available():
        built.pdf_skipped = "no TeX toolchain (latexmk, pdflatex) installed: wrote .tex only, skipped the PDF step"
        return
    from concurrent.futures import ThreadPoolExecutor

    def one(tex: Path) -> Path | LatexError:
        try:
            return compile_pdf(tex)
        except LatexError as exc:
            return exc

    # one latexmk per document, side by side: each has its own auxiliary files
    with ThreadPoolExecutor(max(1, os.cpu_count() or 1)) as pool:
        for result in pool.map(one, built.tex):
            if isinstance(result, Path):
                built.pdf.append(result)
                continue
            where = f" at line {result.line}" if result.line else ""
            built.pdf_failed.append(
                f"LaTeX stopped on {result.tex.name}{where}{_item_at(result.tex, result.line, built.items)}: "
                f"{result.error} (the .tex and its .log are kept in {printable(str(result.tex.parent), 500)})"
            )

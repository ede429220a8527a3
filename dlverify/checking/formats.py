"""A submission in any format with the catalog's knowledge of each item: how an item's answer is
written in a document (``form_of``: a table's entries, a choice's options), and the skeletons
``dlverify template --format tex|md|ipynb`` writes.

This module reads the registry, so only the command line imports it: answers.py and documents.py
are imported by the judges and must not reach the registry (the import-cycle rule).
"""

from __future__ import annotations

import json
from pathlib import Path

from dlverify import registry
from dlverify.checking import answers as af
from dlverify.checking.documents import Document, Form
from dlverify.checking.kinds import STEP_KINDS, answer_kind, comment  # not steps: the parent never imports SymPy

FORMATS = ("toml", "tex", "md", "ipynb")
PACKAGE = "dlverify.sty"


def form_of(pid: str) -> Form:
    """How ``pid``'s answer is written in a document: an id the catalog does not have is text (its
    verdict says it is unknown)."""
    problem = registry.problems().get(pid)
    kind = problem.kind if problem is not None else registry.planned().get(pid, ("",))[0]
    if kind and answer_kind(kind).takes_table:
        return Form("table", problem.entries if problem is not None else ())
    return Form("choice") if kind == "choice" else Form()


def read(path: Path) -> Document:
    """A submission of any format (answers.read_document with the catalog's forms)."""
    return af.read_document(path, form_of)


def package_text() -> str:
    """``dlverify.sty`` as it ships inside the package (package data: a wheel carries it too)."""
    from importlib.resources import files

    return files("dlverify").joinpath("data", PACKAGE).read_text(encoding="utf-8")


def write_package(folder: Path) -> Path:
    """``dlverify.sty`` written into ``folder`` (made if missing), beside the student's document."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / PACKAGE
    af.write_atomically(target, package_text())
    return target


# --- skeletons -----------------------------------------------------------------------------------


def _item(pid: str, steps: bool) -> tuple[list[str], str, list[str]]:
    """An item's comment lines (title, statement, symbols), whether it takes a ``steps`` block
    (``answer`` or ``steps``), and the lines its display starts with (a table's keys)."""
    if pid in registry.planned():
        kind = registry.planned()[pid][0]
        return [f"{pid} [{kind}]: in the catalog, not checkable yet"], "answer", []
    p = registry.get(pid)
    lines = [line[2:] for line in comment(f"{p.id} — {p.title} [{p.kind}]") + comment(p.statement, 88)]
    for s in p.symbols:
        spellings = ", ".join(dict.fromkeys((s.name, s.latex, *s.spellings)))
        fixed = f" = {s.value:g}" if s.value is not None else ""
        lines += [line[2:] for line in comment(f"  {s.name}{fixed}: {s.meaning} — write {spellings}")]
    kind = answer_kind(p.kind)
    if steps and p.kind in STEP_KINDS:
        return lines + ["one equation a line: LHS &= RHS \\\\, then &= RHS \\\\ to continue"], "steps", []
    if p.kind == "choice":
        return lines + ["options separated by ;, e.g. \\text{first}; \\text{second}"], "answer", []
    if p.kind == "trace":
        lines.append("one node a line: v_1 &= <definition> | <value> | <tangent or adjoint> \\\\")
        return lines, "answer", ["v_1 &=  |  |  \\\\"]
    if kind.takes_table:
        return lines + ["one entry a line: key &= value \\\\"], "answer", [f"{e} &=  \\\\" for e in p.entries]
    return lines, "answer", []


def _tex(pids: list[str], steps: bool) -> str:
    out = [
        "\\documentclass{article}",
        f"% answers the checker reads: dlverify check {{this file}}; {PACKAGE} is written by dlverify latex-package .",
        "\\usepackage{dlverify}",
        "\\begin{document}",
    ]
    for pid in pids:
        notes, what, body = _item(pid, steps)
        # the course's text goes in comments only: TeX reads nothing from a comment line (one_line keeps
        # it one line), so a title cannot \input a file
        out += ["", *(f"% {line}" for line in notes), f"\\begin{{{what}}}{{{pid}}}", *body, f"\\end{{{what}}}"]
    return "\n".join([*out, "", "\\end{document}", ""])


def _markdown_cell(pid: str, steps: bool) -> str:
    notes, what, body = _item(pid, steps)
    # a heading to see (its text escaped: a course's title is not markup), and the statement and symbols
    # as an HTML comment, read where the answer is written, without a "--" that would end it
    title = notes[0].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    shown = "\n".join(line.replace("--", "- -") for line in notes[1:])
    return "\n".join([f"### {title}", f"<!--\n{shown}\n-->", f"<!-- {what} {pid} -->", "$$", *body, "$$", ""])


def template(pids: list[str], fmt: str, steps: bool = False) -> str:
    """A skeleton for ``pids`` in ``fmt`` (``tex``, ``md`` or ``ipynb``); TOML's is the command line's."""
    if fmt == "tex":
        return _tex(pids, steps)
    cells = [_markdown_cell(pid, steps) for pid in pids]
    if fmt == "md":
        return "\n".join(cells)
    notebook = {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": cell.splitlines(keepends=True)} for cell in cells
        ],
        "metadata": {"language_info": {"name": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    for k, cell in enumerate(notebook["cells"]):
        cell["id"] = f"answer-{k + 1}"  # nbformat 4.5 wants an id per cell
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"

"""LaTeX building blocks: the preamble, safe text, and a check that math is ours."""

from __future__ import annotations

import re
import unicodedata

from dlverify.notation import text

PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage[T1]{fontenc}
\usepackage[utf8]{inputenc}
\usepackage{lmodern}
\usepackage[margin=2.2cm]{geometry}
\usepackage{amsmath,amssymb}
\usepackage{booktabs,array}
\usepackage{graphicx}
\usepackage{xcolor}
\usepackage{float}
\usepackage{needspace}
\allowdisplaybreaks
\setlength{\emergencystretch}{3em}
\setlength{\parindent}{0pt}
\setlength{\parskip}{0.5em}
\newcommand{\verdict}[1]{\textbf{#1}}
% amssymb's blackboard font has no 1 (\mathbb{1} would set ⊮): the indicator's 1 is drawn double-struck
% from two strokes, every other \mathbb letter as amssymb sets it
\let\amsmathbb\mathbb
\renewcommand{\mathbb}[1]{\ifx1#1\mathrm{1}\mkern-5mu\mathrm{l}\else\amsmathbb{#1}\fi}
"""


MARKS = 2  # combining marks shown over one character: TeX nests each accent in a group
RUN = 30  # characters without a space after which a line may break


def shown(s: str, limit: int) -> str:
    """``s`` as a document shows text from a file: at most ``MARKS`` combining marks over a
    character, at most ``limit`` characters (TeX reads a source line of at most 200,000 into its
    buffer), and what was left out counted: "… (N more characters)"."""
    kept: list[str] = []
    marks = 0
    for ch in s:
        if len(kept) >= limit:
            break
        marks = marks + 1 if unicodedata.combining(ch) else 0
        if marks <= MARKS:
            kept.append(ch)
    dropped = len(s) - len(kept)
    return "".join(kept) + (f" … ({dropped:,} more characters)" if dropped else "")


def breakable(s: str) -> str:
    """``text(s)``, with a place to break the line in every ``RUN`` characters of a word (an id or
    an answer with no space in it would otherwise run off the page)."""
    pieces: list[str] = []
    start = run = 0
    for k, ch in enumerate(s):
        if ch.isspace() or ch == "_":  # a line may break there already (text breaks after _)
            run = 0
        elif not unicodedata.combining(ch):  # a mark stays with its character
            if run == RUN:
                pieces.append(s[start:k])
                start, run = k, 0
            run += 1
    pieces.append(s[start:])
    return r"\allowbreak{}".join(text(piece) for piece in pieces)


def code(s: str) -> str:
    """Text in a typewriter font, breakable, still fully escaped."""
    return r"\texttt{" + breakable(s) + "}"


_MATH_COMMANDS = set(
    """left right frac dfrac sum prod mathbb mathbf operatorname hat bar tilde widehat overline sigma tanh exp log
    ln sin cos tan sqrt cdot odot circ times delta le ge leq geq ne neq lfloor rfloor lceil rceil partial top
    infty pi lambda Lambda alpha beta gamma epsilon eta theta mu nu rho tau phi psi omega ell quad boxed text
    mathrm dots cdots ldots Sigma Delta Gamma Theta Omega Phi Psi""".split()
)
_COMMAND = re.compile(r"\\([A-Za-z]+)")


def safe_math(latex: str) -> bool:
    """True if ``latex`` uses only math commands from our printers and balanced braces.

    The checker typesets a student's answer from its own SymPy tree, never from the
    text; this is a second guard before that LaTeX reaches TeX.
    """
    if any(ch in latex for ch in "%#$&~\n\r") or len(latex) > 4000:
        return False
    if any(name not in _MATH_COMMANDS for name in _COMMAND.findall(latex)):
        return False
    if re.search(r"\\[^A-Za-z{}|,;:!\s]", latex):
        return False
    depth = 0
    for ch in latex:
        depth += ch == "{"
        depth -= ch == "}"
        if depth < 0:
            return False
    return depth == 0


def document(title: str, body: str) -> str:
    return "\n".join(
        [
            PREAMBLE,
            r"\title{" + text(title) + "}",
            r"\date{}",
            r"\begin{document}",
            r"\maketitle",
            body,
            r"\end{document}",
            "",
        ]
    )

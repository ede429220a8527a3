"""LaTeX building blocks: the preamble, safe text, and a check that math is ours."""

from __future__ import annotations

import re

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
"""


def code(s: str) -> str:
    """Text in a typewriter font, breakable, still fully escaped."""
    return r"\texttt{" + text(s) + "}"


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

"""Plain-text and LaTeX renderings of problems, derivations and cross-check records."""

from __future__ import annotations

import sympy as sp

from dlverify import notation
from dlverify.crosscheck import CrossCheck
from dlverify.problem import Problem


def plain(expr: sp.Basic) -> str:
    return notation.unicode(expr)  # one line of the homework's notation


def _equation(lhs: str, rhs: sp.Basic, indent: str = "    ") -> str:
    body = plain(rhs).splitlines()
    if len(body) == 1:
        return f"{indent}{lhs} = {body[0]}"
    pad = " " * (len(lhs) + 3)
    mid = len(body) // 2
    lines = [(f"{lhs} = " if k == mid else pad) + line for k, line in enumerate(body)]
    return "\n".join(indent + line for line in lines)


def problem_text(problem: Problem, check: CrossCheck | None = None, note: str = "") -> str:
    d = problem.derive()
    out = [f"{problem.id} — {problem.title}  [{problem.kind}]", "", problem.statement, "", "Symbols:"]
    for s in problem.symbols:
        extra = f" (also {', '.join(s.spellings)})" if s.spellings else ""
        fixed = f" = {s.value:g}" if s.value is not None else ""
        out.append(f"  {s.name}{fixed}: {s.meaning}{extra}")
    out += ["", "Derivation:"]
    for k, step in enumerate(d.steps, start=1):
        out.append(f"  {k}. {step.text}")
        if step.rhs is not None:
            out.append(_equation(step.lhs or "", step.rhs))
    out += ["", "Result:"]
    for name, _, plain_value in notation.results(d):
        lines = plain_value.splitlines()
        label = name or problem.id
        out += [f"  {label} = {lines[0]}"] if len(lines) == 1 else [f"  {label} ="] + [f"    {x}" for x in lines]
    if check is not None:
        out += ["", verification_text(check, note)]
    return "\n".join(out)


def verification_text(check: CrossCheck, note: str = "") -> str:
    return "Verification: " + check.summary() + (f" ({note})" if note else "")

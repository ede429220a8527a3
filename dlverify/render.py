"""Plain-text renderings of problems, derivations and cross-check records, from their views."""

from __future__ import annotations

import sympy as sp

from dlverify import notation
from dlverify.crosscheck import CrossCheck
from dlverify.problem import Problem
from dlverify.views import ItemView, VerificationView, item_view


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
    return item_text(item_view(problem, check.view() if check is not None else None), note)


def item_text(view: ItemView, note: str = "") -> str:
    out = [f"{view.id} — {view.title}  [{view.kind}]", "", view.statement, "", "Symbols:"]
    for s in view.symbols:
        extra = f" (also {', '.join(s.spellings)})" if s.spellings else ""
        fixed = f" = {s.value:g}" if s.value is not None else ""
        out.append(f"  {s.name}{fixed}: {s.meaning}{extra}")
    out += ["", "Derivation:"]
    for k, step in enumerate(view.steps, start=1):
        out.append(f"  {k}. {step.text}")
        if step.rhs is not None:
            out.append(_equation(step.lhs, step.rhs))
    out += ["", "Result:"]
    for entry in view.results:
        lines = entry.plain.splitlines()
        label = entry.name or view.id
        out += [f"  {label} = {lines[0]}"] if len(lines) == 1 else [f"  {label} ="] + [f"    {x}" for x in lines]
    if view.verification is not None:
        out += ["", verification_line(view.verification, note)]
    return "\n".join(out)


def verification_text(check: CrossCheck, note: str = "") -> str:
    return verification_line(check.view(), note)


def verification_line(view: VerificationView, note: str = "") -> str:
    return "Verification: " + view.sentence() + (f" ({note})" if note else "")

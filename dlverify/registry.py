"""The one registry of problem descriptions that the CLI, tests, reports and checker read.

Importing the descriptions is cheap (no SymPy, no torch), so listing is fast; the
derivations and oracles are imported when a problem is first derived or checked.
"""

from __future__ import annotations

import importlib
from functools import cache

from dlverify.problem import Problem
from dlverify.problems import TOPIC_MODULES
from dlverify.problems.planned import PLANNED


class UnknownProblem(LookupError):
    """An id or topic that the catalog does not have."""


@cache
def problems() -> dict[str, Problem]:
    """Every described problem by id, in catalog order."""
    found: dict[str, Problem] = {}
    for module in TOPIC_MODULES:
        for problem in importlib.import_module(module).PROBLEMS:
            if problem.id in found:
                raise ValueError(f"duplicate problem id {problem.id}")
            found[problem.id] = problem
    clash = found.keys() & {pid for pid, _, _ in PLANNED}
    if clash:
        raise ValueError(f"ids both described and planned: {sorted(clash)}")
    return found


def topics() -> list[str]:
    return list(dict.fromkeys(p.topic for p in problems().values()))


def planned() -> dict[str, tuple[str, str]]:
    """Catalog ids not described yet: id → (answer kind, topic)."""
    return {pid: (kind, topic) for pid, kind, topic in PLANNED}


def get(problem_id: str) -> Problem:
    try:
        return problems()[problem_id]
    except KeyError:
        if problem_id in planned():
            raise UnknownProblem(f"{problem_id} is in the catalog but not derived yet") from None
        raise UnknownProblem(_unknown_message(problem_id)) from None


def select(names: list[str]) -> list[Problem]:
    """Problems named by id or by topic, in catalog order, without repeats."""
    chosen: dict[str, Problem] = {}
    for name in names:
        if name in problems():
            chosen[name] = problems()[name]
        elif name in topics():
            chosen.update((p.id, p) for p in problems().values() if p.topic == name)
        elif name in {topic for _, topic in planned().values()}:
            raise UnknownProblem(f"topic {name} is in the catalog but not derived yet (dlverify list --planned)")
        else:
            get(name)  # raises with the right message
    order = list(problems())
    return sorted(chosen.values(), key=lambda p: order.index(p.id))


def _unknown_message(name: str) -> str:
    import difflib

    known = list(problems()) + list(planned()) + topics()
    close = difflib.get_close_matches(name, known, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else "; `dlverify list` shows the ids"
    return f"unknown problem id or topic {name!r}{hint}"

"""The one registry of problem descriptions that the CLI, tests, reports and checker read.

Topics are found, not listed: every module of the package ``dlverify.problems`` that exports
``TOPIC`` and ``PROBLEMS``, and every module named by an entry point in the group
``dlverify.topics`` (how a course ships its own topics as a separate package).  Importing the
descriptions is cheap (no SymPy, no torch), so listing is fast; the derivations and oracles
are imported when a problem is first derived or checked.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from functools import cache
from importlib.metadata import entry_points
from types import ModuleType

from dlverify import cache as disk_cache
from dlverify.checking.kinds import KIND_MODULES
from dlverify.problem import Problem, Topic
from dlverify.problems import planned as planned_rows

ENTRY_POINT_GROUP = "dlverify.topics"


class UnknownProblem(LookupError):
    """An id or topic that the catalog does not have."""


def _topic_modules() -> list[ModuleType]:
    import dlverify.problems as package

    names = [f"{package.__name__}.{info.name}" for info in pkgutil.iter_modules(package.__path__)]
    names += [ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)]
    modules = [importlib.import_module(name) for name in dict.fromkeys(names)]
    return [m for m in modules if hasattr(m, "TOPIC") and hasattr(m, "PROBLEMS")]


_SOURCE: dict[str, str] = {}  # problem id → the module that describes it


def source_module(problem_id: str) -> str:
    """The name of the module that describes ``problem_id`` (what its cached results depend on)."""
    _catalog()
    return _SOURCE[problem_id]


@cache
def _catalog() -> tuple[dict[str, Topic], dict[str, Problem]]:
    modules = sorted(_topic_modules(), key=lambda m: (m.TOPIC.order, m.TOPIC.name))
    topics: dict[str, Topic] = {}
    found: dict[str, Problem] = {}
    for module in modules:
        topic: Topic = module.TOPIC
        if topic.name in topics:
            raise ValueError(f"topic {topic.name} is defined twice ({module.__name__})")
        topics[topic.name] = topic
        for problem in module.PROBLEMS:
            if problem.topic != topic.name:
                raise ValueError(f"{problem.id} is described in topic {topic.name}'s module but says {problem.topic}")
            if problem.kind not in KIND_MODULES:
                raise ValueError(f"{problem.id}: unknown answer kind {problem.kind!r}")
            if problem.id in found:
                raise ValueError(f"duplicate problem id {problem.id}")
            _SOURCE[problem.id] = module.__name__
            # derived once per version of the code, then read from disk (dlverify/cache.py)
            found[problem.id] = dataclasses.replace(
                problem, derive=disk_cache.cached(problem.id, (module.__name__,), problem.derive)
            )
    return topics, found


def load_problems(path) -> list[Problem]:
    """Add a course's problem file (dlverify/course.py) to the catalog; ProblemFileError, with nothing
    added, if it is wrong or names an id that exists already."""
    from pathlib import Path

    from dlverify.course import ProblemFileError, load

    new_topics, new_problems = load(Path(path))
    topics, found = _catalog()
    for problem in new_problems:
        if problem.id in found:
            raise ProblemFileError(f"{path}: {problem.id} is already defined")
    for topic in new_topics:
        topics.setdefault(topic.name, topic)
    for problem in new_problems:
        found[problem.id] = problem
        _SOURCE[problem.id] = ""  # a course file's: not in the disk cache (its key covers package sources)
    return new_problems


def problems() -> dict[str, Problem]:
    """Every described problem by id, in catalog order."""
    return _catalog()[1]


def topics() -> list[str]:
    """The topics that have descriptions, in catalog order."""
    return list(_catalog()[0])


def topic(name: str) -> Topic:
    return _catalog()[0][name]


def planned() -> dict[str, tuple[str, str]]:
    """Catalog ids not described yet: id → (answer kind, topic).  A row whose id has been
    described since is superseded by the description."""
    described = problems()
    return {pid: (kind, name) for pid, kind, name in planned_rows.PLANNED if pid not in described}


def get(problem_id: str) -> Problem:
    try:
        return problems()[problem_id]
    except KeyError:
        if problem_id in planned():
            raise UnknownProblem(f"{problem_id} is in the catalog but not derived yet") from None
        raise UnknownProblem(unknown_message(problem_id)) from None


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


def unknown_message(name: str) -> str:
    """Why ``name`` is neither an id nor a topic, with the closest ones."""
    import difflib

    known = list(problems()) + list(planned()) + topics()
    close = difflib.get_close_matches(name, known, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else "; `dlverify list` shows the ids"
    return f"unknown problem id or topic {name!r}{hint}"

"""The one registry of problem descriptions that the CLI, tests, reports and checker read.

Topics are found, not listed: every module of the package ``dlverify.problems`` that exports
``TOPIC`` and ``PROBLEMS``, and every module named by an entry point in the group
``dlverify.topics`` (how a course ships its own topics as a separate package).  Importing the
descriptions is cheap (no SymPy, no torch), so listing is fast; the derivations and oracles
are imported when a problem is first derived or checked.

A ``Catalog`` is a value: its topics, its problems and where each came from.  ``build_catalog``
makes one from the modules; ``adding_file`` and ``adding`` give a new catalog, leaving the old
one as it was.  The module-level functions (``problems``, ``get``, ``select``, …) read the
*current* catalog: the package's own unless ``using(catalog)`` or ``load_problems`` says otherwise.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import pkgutil
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from types import MappingProxyType, ModuleType

from dlverify import cache as disk_cache
from dlverify.checking.kinds import KIND_MODULES
from dlverify.problem import Problem, Topic
from dlverify.problems import planned as planned_rows

ENTRY_POINT_GROUP = "dlverify.topics"


class UnknownProblem(LookupError):
    """An id or topic that the catalog does not have."""


@dataclass(frozen=True)
class DescriptionModule:
    """A problem described by a module (of ``dlverify.problems``, or a course's package): its
    derivation and verification record are cached on disk under that module's source."""

    name: str


@dataclass(frozen=True)
class CourseFile:
    """A problem read from a course's problem file (dlverify/course/): derived when needed, never
    cached on disk (the cache's key covers the package's sources, not the file); a checker worker
    reads the file again."""

    path: Path


@dataclass(frozen=True)
class InMemory:
    """A problem added by code (a notebook's, a test's): neither cached on disk nor known to the
    checker's worker processes, which rebuild their catalog from modules and files."""

    note: str = ""


Source = DescriptionModule | CourseFile | InMemory


@dataclass(frozen=True)
class Catalog:
    """Topics and problems in catalog order, and where each problem came from."""

    topics: Mapping[str, Topic]
    problems: Mapping[str, Problem]
    sources: Mapping[str, Source]

    def __post_init__(self) -> None:
        for name in ("topics", "problems", "sources"):  # read-only views: a catalog is never changed in place
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))

    @property
    def course_files(self) -> tuple[Path, ...]:
        """The course files read into this catalog, in the order they were read: what a worker
        process reads again to know the same problems."""
        return tuple(dict.fromkeys(s.path for s in self.sources.values() if isinstance(s, CourseFile)))

    def adding(
        self,
        problems: Iterable[Problem],
        topics: Iterable[Topic] = (),
        source: Source = InMemory(),
        replace: bool = False,
    ) -> Catalog:
        """A new catalog with ``problems`` (after this one's) and the ``topics`` it does not have yet;
        ValueError naming the first id it has already, unless ``replace``."""
        problems = list(problems)
        if not replace:
            taken = next((p.id for p in problems if p.id in self.problems), None)
            if taken is not None:
                raise ValueError(f"{taken} is already defined")
        new_topics = dict(self.topics)
        for topic in topics:
            new_topics.setdefault(topic.name, topic)
        return Catalog(
            new_topics,
            {**self.problems, **{p.id: p for p in problems}},
            {**self.sources, **{p.id: source for p in problems}},
        )

    def adding_file(self, path: str | Path) -> Catalog:
        """A new catalog with a course's problem file's topics and problems; ProblemFileError if the
        file is wrong or names an id this catalog has already."""
        from dlverify.course import ProblemFileError, load

        new_topics, new_problems = load(Path(path))
        taken = next((p.id for p in new_problems if p.id in self.problems), None)
        if taken is not None:
            raise ProblemFileError(f"{path}: {taken} is already defined")
        # a course's problem must not join a catalog topic: `autograder scalar_rnn` would grade it too
        sources = self.sources
        described = {p.topic for pid, p in self.problems.items() if isinstance(sources.get(pid), DescriptionModule)}
        joined = next((p for p in new_problems if p.topic in described), None)
        if joined is not None:
            raise ProblemFileError(
                f"{path}: {joined.id} would join the catalog's topic {joined.topic}; give the course's ids a name "
                "of their own (hw5.q2)"
            )
        return self.adding(new_problems, new_topics, CourseFile(Path(path)))

    def adding_files(self, paths: Iterable[str | Path]) -> Catalog:
        catalog = self
        for path in paths:
            catalog = catalog.adding_file(path)
        return catalog


def _topic_modules() -> list[ModuleType]:
    import dlverify.problems as package

    names = [f"{package.__name__}.{info.name}" for info in pkgutil.iter_modules(package.__path__)]
    names += [ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)]
    modules = [importlib.import_module(name) for name in dict.fromkeys(names)]
    return [m for m in modules if hasattr(m, "TOPIC") and hasattr(m, "PROBLEMS")]


def build_catalog() -> Catalog:
    """A fresh catalog of every topic module (the package's and the entry points'), validated."""
    modules = sorted(_topic_modules(), key=lambda m: (m.TOPIC.order, m.TOPIC.name))
    topics: dict[str, Topic] = {}
    found: dict[str, Problem] = {}
    sources: dict[str, Source] = {}
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
            sources[problem.id] = DescriptionModule(module.__name__)
            # derived once per version of the code, then read from disk (dlverify/cache.py)
            found[problem.id] = dataclasses.replace(
                problem, derive=disk_cache.cached(problem.id, (module.__name__,), problem.derive)
            )
    return Catalog(topics, found, sources)


@cache
def default_catalog() -> Catalog:
    """The package's catalog, built once per process (a catalog never changes, so it can be shared)."""
    return build_catalog()


_current: Catalog | None = None  # None: the default catalog


def current() -> Catalog:
    """The catalog the module-level functions read."""
    return _current if _current is not None else default_catalog()


@contextlib.contextmanager
def using(catalog: Catalog) -> Iterator[Catalog]:
    """Make ``catalog`` current inside the block (``load_problems`` there replaces it for the rest of
    the block); the one before is current again after.  Not per thread: one catalog per process."""
    global _current
    before = _current
    _current = catalog
    try:
        yield catalog
    finally:
        _current = before


def load_problems(path: str | Path) -> list[Problem]:
    """Add a course's problem file (dlverify/course/) to the current catalog; ProblemFileError,
    with nothing added, if it is wrong or names an id that exists already."""
    global _current
    before = current()
    _current = before.adding_file(path)
    return [p for pid, p in _current.problems.items() if pid not in before.problems]


def source(problem_id: str) -> Source:
    """Where ``problem_id`` came from: a description module, a course file, or code."""
    return current().sources[problem_id]


def source_module(problem_id: str) -> str:
    """The name of the module that describes ``problem_id`` (what its cached results depend on);
    "" for a problem that is not described by a module (a course file's, one added by code)."""
    found = source(problem_id)
    return found.name if isinstance(found, DescriptionModule) else ""


def problems() -> Mapping[str, Problem]:
    """Every described problem by id, in catalog order."""
    return current().problems


def topics() -> list[str]:
    """The topics that have descriptions, in catalog order."""
    return list(current().topics)


def topic(name: str) -> Topic:
    return current().topics[name]


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

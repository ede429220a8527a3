"""The house rules that keep additions cheap: topics are found, answer kinds live in one table,
and the package's modules import each other without cycles."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from dlverify import registry
from dlverify.checking.judge import judge_problem
from dlverify.checking.kinds import KIND_MODULES, AnswerKind, answer_kind
from dlverify.crosscheck import cross_check

ROOT = Path(__file__).resolve().parents[1]


def test_every_topic_module_is_found_without_a_list() -> None:
    import dlverify.problems as package

    modules = [importlib.import_module(f"dlverify.problems.{m.name}") for m in pkgutil.iter_modules(package.__path__)]
    declared = {m.TOPIC.name for m in modules if hasattr(m, "TOPIC")}
    assert declared == set(registry.topics())
    for problem in registry.problems().values():
        assert registry.topic(problem.topic).title  # the title lives with the topic


def test_a_course_topic_arrives_through_an_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = EntryPoint(name="course", value="tests.course_topic", group=registry.ENTRY_POINT_GROUP)
    monkeypatch.setattr(registry, "entry_points", lambda group: [fake] if group == registry.ENTRY_POINT_GROUP else [])
    with registry.using(registry.build_catalog()):
        problem = registry.get("hw_course.dtanh2")
        assert registry.topics()[-1] == "hw_course"  # after the catalog's topics
        assert cross_check(problem, examples=20).passed
        assert judge_problem(problem, "2 tanh(x) (1 - tanh(x)^2)").verdict == "correct"
        assert judge_problem(problem, "2 tanh(x)").verdict == "incorrect"
    assert "hw_course.dtanh2" not in registry.problems()


@pytest.mark.parametrize("name", list(KIND_MODULES))
def test_every_answer_kind_is_one_row_and_one_object(name: str) -> None:
    kind = answer_kind(name)
    assert isinstance(kind, AnswerKind) and kind.name == name


def test_every_problem_has_a_kind_from_the_table() -> None:
    assert {p.kind for p in registry.problems().values()} <= set(KIND_MODULES)


def _module_imports(path: Path, package_roots: set[str]) -> set[str]:
    """The project modules a file imports anywhere: at module level, inside functions (a lazy
    import is still a dependency) and for type checkers (a reader follows those too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        found |= {n for n in names if n.split(".")[0] in package_roots}
    return found


def test_no_import_cycles_between_modules() -> None:
    roots = {"dlverify", "derivations", "numerics", "reports"}
    files = {
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
        for root in roots
        for p in (ROOT / root).rglob("*.py")
    }
    graph = {
        name: {m for m in _module_imports(path, roots) if m in files and m != name} for name, path in files.items()
    }

    def cycle_from(start: str) -> list[str] | None:
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    return path + [start]
                if nxt not in path:
                    stack.append((nxt, path + [nxt]))
        return None

    for name in graph:
        cycle = cycle_from(name)
        assert cycle is None, " → ".join(cycle)

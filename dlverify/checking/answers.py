"""Answer files (TOML, one table per id): reading, grading, and the output formats."""

from __future__ import annotations

import csv
import io
import json
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dlverify.checking.verdict import Verdict

MAX_FILE_BYTES = 1_000_000
MAX_ITEMS = 500


class AnswerFileError(ValueError):
    """The file itself cannot be read (exit code 2)."""


def read_answers(path: Path) -> dict[str, Any]:
    """id → answer value (a string, a list, or a table of entries), in file order."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise AnswerFileError(f"{path}: {size} bytes; answer files are limited to {MAX_FILE_BYTES}")
        raw = path.read_bytes()
    except OSError as exc:
        raise AnswerFileError(f"{path}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise AnswerFileError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise AnswerFileError(f"{path}: not valid TOML: {exc}") from None
    if len(data) > MAX_ITEMS:
        raise AnswerFileError(f"{path}: {len(data)} items; at most {MAX_ITEMS}")
    answers: dict[str, Any] = {}
    for pid, table in data.items():
        if not isinstance(table, dict):
            raise AnswerFileError(f"{path}: {pid!r} must be a table, written [\"{pid}\"] with answer = '…'")
        answers[pid] = table["answer"] if set(table) == {"answer"} else table
    return answers


def expected_ids(spec: str) -> list[str]:
    """``--expect``: a file with one id a line, or a comma-separated list."""
    path = Path(spec)
    if path.is_file():
        lines = path.read_text(encoding="utf-8").splitlines()
        items = [line.split("#")[0].strip() for line in lines]
    else:
        items = [item.strip() for item in spec.split(",")]
    return [i for i in items if i]


@dataclass
class Graded:
    results: list[Verdict]

    @property
    def score(self) -> float:
        return round(sum(v.score * v.max_score for v in self.results), 6)

    @property
    def max_score(self) -> float:
        return sum(v.max_score for v in self.results)

    @property
    def all_correct(self) -> bool:
        return all(v.ok for v in self.results if v.max_score > 0)

    def to_json(self) -> dict[str, Any]:
        return {"results": [v.to_json() for v in self.results], "score": self.score, "max_score": self.max_score}


Judge = Callable[[list[tuple[Any, Any, bool]]], list[Verdict]]


def grade(answers: dict[str, Any], judge_many: Judge, expect: list[str] | None, hide: bool) -> Graded:
    """Verdicts for the answered items (and ``missing`` ones, with ``expect``)."""
    tasks = [(pid, value, hide) for pid, value in answers.items()]
    results = judge_many(tasks)
    if expect is not None:
        wanted = set(expect)
        for v in results:
            if v.id not in wanted:
                v.max_score = 0.0
                v.message += " (not part of this assignment: not scored)"
        for pid in expect:
            if pid not in answers:
                results.append(Verdict(pid, "missing", "not answered"))
    return Graded(results)


def text_report(graded: Graded) -> str:
    width = max([len(v.id) for v in graded.results] + [2])
    lines = []
    for v in graded.results:
        message = v.message.replace("\n", "\n" + " " * (width + 14))
        lines.append(f"{v.id:<{width}}  {v.verdict:<11}  {message}")
    lines.append(f"score: {graded.score:g}/{graded.max_score:g}")
    return "\n".join(lines)


def gradescope(graded: Graded, visibility: str = "visible") -> dict[str, Any]:
    """Gradescope's autograder results.json."""
    tests = []
    for v in graded.results:
        output = f"{v.verdict}: {v.message}"
        if v.counterexample:
            output += "\ncounterexample: " + json.dumps(v.counterexample)
        tests.append(
            {
                "name": v.id,
                "score": round(v.score * v.max_score, 6),
                "max_score": v.max_score,
                "output": output,
                "visibility": visibility,
            }
        )
    right = sum(v.ok for v in graded.results)
    return {
        "score": graded.score,
        "output": f"{right} of {len(graded.results)} items correct",
        "tests": tests,
    }


def summary_tables(rows: list[tuple[str, Graded | str]]) -> tuple[str, dict[str, Any]]:
    """CSV and JSON summaries of a folder of submissions (a string is a file's error)."""
    ids: list[str] = []
    for _, graded in rows:
        if isinstance(graded, Graded):
            ids += [v.id for v in graded.results if v.id not in ids]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["file", "score", "max_score", "error", *ids])
    summary: dict[str, Any] = {"submissions": []}
    for name, graded in rows:
        if isinstance(graded, str):
            writer.writerow([name, "", "", graded, *[""] * len(ids)])
            summary["submissions"].append({"file": name, "error": graded})
            continue
        by_id = {v.id: v.verdict for v in graded.results}
        writer.writerow([name, f"{graded.score:g}", f"{graded.max_score:g}", "", *[by_id.get(i, "") for i in ids]])
        summary["submissions"].append({"file": name, **graded.to_json()})
    return buf.getvalue(), summary

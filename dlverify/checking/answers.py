"""Answer files (TOML, one table per id): reading, grading, and the output formats."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import tempfile
import tomllib
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dlverify.checking.verdict import Verdict

MAX_FILE_BYTES = 1_000_000
MAX_ITEMS = 500


class AnswerFileError(ValueError):
    """The file itself cannot be read (exit code 2)."""


def _read_bytes(path: Path) -> bytes:
    """At most MAX_FILE_BYTES + 1 bytes of a regular file; a FIFO, a device or a folder is refused
    before it is opened (opening a FIFO would wait for a writer; /dev/zero never ends)."""
    try:
        mode = path.stat().st_mode  # follows a symbolic link to what it names
    except OSError as exc:
        raise AnswerFileError(f"{path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        raise AnswerFileError(f"{path}: not a regular file")
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise AnswerFileError(f"{path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise AnswerFileError(f"{path}: more than {MAX_FILE_BYTES} bytes; answer files are limited to that")
    return raw


def _depth(value: Any, limit: int = 4) -> bool:
    """Whether a TOML value nests at most ``limit`` levels (an answer is a string, a list or a table)."""
    if limit < 0:
        return False
    if isinstance(value, dict):
        return all(_depth(v, limit - 1) for v in value.values())
    if isinstance(value, list):
        return all(_depth(v, limit - 1) for v in value)
    return True


def read_answers(path: Path) -> dict[str, Any]:
    """id → answer value (a string, a list, or a table of entries), in file order."""
    raw = _read_bytes(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise AnswerFileError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    text = text.removeprefix("\ufeff")  # a byte-order mark some editors write
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise AnswerFileError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:
        raise AnswerFileError(f"{path}: not valid TOML: nested too deeply") from None
    except ValueError as exc:  # e.g. an integer longer than Python converts
        raise AnswerFileError(f"{path}: not valid TOML: {exc}") from None
    if not data:
        raise AnswerFileError(f"{path}: no answers: write one table per id, [\"scalar_rnn.dy_dw\"] then answer = '…'")
    if len(data) > MAX_ITEMS:
        raise AnswerFileError(f"{path}: {len(data)} items; at most {MAX_ITEMS}")
    answers: dict[str, Any] = {}
    for pid, table in data.items():
        if not isinstance(table, dict):
            raise AnswerFileError(
                f"{path}: {printable(pid)!r} must be a table, written [\"{printable(pid)}\"] with answer = '…'"
            )
        if not _depth(table):
            raise AnswerFileError(f"{path}: the answer to {printable(pid)!r} is nested too deeply")
        answers[pid] = table["answer"] if set(table) == {"answer"} else table
    return answers


def printable(text: str, limit: int = 0) -> str:
    """Text safe for a terminal or a log: control characters shown as escapes (an id such as
    "\\x1b[2J" must not clear the screen); cut to ``limit`` characters when given."""
    out = "".join(ch if ch in "\n\t" or unicodedata.category(ch) != "Cc" else ascii(ch)[1:-1] for ch in str(text))
    return out if not limit or len(out) <= limit else out[: limit - 1] + "…"


def expected_ids(spec: str) -> list[str]:
    """``--expect``: a file with one id a line, or a comma-separated list."""
    path = Path(spec)
    if path.is_file():
        try:
            lines = _read_bytes(path).decode("utf-8").splitlines()
        except UnicodeDecodeError as exc:
            raise AnswerFileError(f"{path}: not UTF-8 text (byte {exc.start})") from None
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
    width = max([len(printable(v.id)) for v in graded.results] + [2])
    lines = []
    for v in graded.results:
        message = printable(v.message).replace("\n", "\n" + " " * (width + 14))
        lines.append(f"{printable(v.id):<{width}}  {v.verdict:<11}  {message}")
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


def _cell(value: Any) -> str:
    """A CSV cell a spreadsheet will not run: text starting with = + - @ or a control character is
    prefixed with ' (OWASP's advice), and control characters are escaped."""
    text = printable(str(value))
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def summary_tables(rows: list[tuple[str, Graded | str]]) -> tuple[str, dict[str, Any]]:
    """CSV and JSON summaries of a folder of submissions (a string is a file's error)."""
    ids: list[str] = []
    for _, graded in rows:
        if isinstance(graded, Graded):
            ids += [v.id for v in graded.results if v.id not in ids]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["file", "score", "max_score", "error", *(_cell(i) for i in ids)])
    summary: dict[str, Any] = {"submissions": []}
    for name, graded in rows:
        if isinstance(graded, str):
            writer.writerow([_cell(name), "", "", _cell(graded), *[""] * len(ids)])
            summary["submissions"].append({"file": name, "error": graded})
            continue
        by_id = {v.id: v.verdict for v in graded.results}
        writer.writerow(
            [_cell(name), f"{graded.score:g}", f"{graded.max_score:g}", "", *[by_id.get(i, "") for i in ids]]
        )
        summary["submissions"].append({"file": name, **graded.to_json()})
    return buf.getvalue(), summary


def listing(names: list[str], shown: int = 10) -> str:
    """Names for a message, a few of them: a file with 60,000 unknown keys must not give a 60,000-name message."""
    head = ", ".join(printable(n, 40) for n in names[:shown])
    return head + (f" and {len(names) - shown} more" if len(names) > shown else "")


def write_atomically(path: Path, text: str) -> None:
    """Write to a temporary file beside ``path``, then rename: a reader never sees half a file.
    Only a regular file (or a new one) is replaced so: a device or a pipe is written to as it is,
    and a folder is refused."""
    if path.is_dir():
        raise IsADirectoryError(21, "is a folder", str(path))
    if path.exists() and not path.is_file():  # /dev/stdout, a FIFO: never replaced by a file
        with path.open("w", encoding="utf-8") as out:
            out.write(text)
        return
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise

"""Answer files (TOML, one table per id, or the student's own LaTeX, Markdown or Jupyter document:
documents.py): reading, grading, and the output formats (terminal, JSON, Gradescope, PrairieLearn)."""

from __future__ import annotations

import csv
import errno
import io
import json
import math
import os
import stat
import tempfile
import tomllib
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dlverify.checking.documents import Document, DocumentError, FormOf
from dlverify.checking.documents import read_document as read_text_document
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


# a file's format by its name's ending; any other name is read as TOML, as before documents were read
DOCUMENT_FORMATS = {".tex": "tex", ".md": "md", ".markdown": "md", ".ipynb": "ipynb"}
ANSWER_SUFFIXES = (".toml", *DOCUMENT_FORMATS)  # what a folder's submissions are


def answer_format(path: Path) -> str:
    """``toml``, ``tex``, ``md`` or ``ipynb``, by the file's name (HW.TEX is a LaTeX document too)."""
    return DOCUMENT_FORMATS.get(path.suffix.lower(), "toml")


def read_document(path: Path, form_of: FormOf | None = None) -> Document:
    """A submission of any format: its answers (id → value, as read_answers) and, for a document,
    where each is written and the notes a reader should see (an ``\\input`` not followed).
    ``form_of``: how each id's answer is written in a document (a table's entries, a choice's
    options); without it every answer of a document is text."""
    raw = _read_bytes(path)
    fmt = answer_format(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        what = "" if fmt == "toml" else f" (a {fmt} file is text; is this one binary?)"
        raise AnswerFileError(f"{path}: not UTF-8 text (byte {exc.start}){what}") from None
    text = text.removeprefix("\ufeff")  # a byte-order mark some editors write
    if fmt == "toml":
        return Document(str(path), text, _read_toml(path, text))
    try:  # verdicts name the file as the student knows it; an error names the path given, as TOML's do
        return read_text_document(text, path.name, fmt, form_of)
    except DocumentError as exc:
        raise AnswerFileError(f"{path}: {str(exc).removeprefix(path.name + ': ')}") from None
    except RecursionError:  # never expected (the reader does not recurse): still one line, exit 2
        raise AnswerFileError(f"{path}: nested too deeply to read") from None


def read_answers(path: Path, form_of: FormOf | None = None) -> dict[str, Any]:
    """id → answer value (a string, a list, or a table of entries), in file order."""
    return read_document(path, form_of).answers


def _read_toml(path: Path, text: str) -> dict[str, Any]:
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
                f"{path}: {one_line(pid, 80)!r} must be a table, written [\"{one_line(pid, 80)}\"] with answer = '…'"
            )
        if not _depth(table):
            raise AnswerFileError(f"{path}: the answer to {one_line(pid, 80)!r} is nested too deeply")
        answers[pid] = table["answer"] if set(table) == {"answer"} else table
    return answers


# Characters that change how the text around them is shown without being seen: bidirectional
# overrides and isolates (U+202E makes "txt.exe" read as "exe.txt"), zero-width joiners and the like.
_INVISIBLE = ("Cc", "Cf", "Zl", "Zp")


def printable(text: str, limit: int = 0, *, lines: bool = True) -> str:
    """Text safe for a terminal or a log: control and format characters shown as escapes (an id such
    as "\\x1b[2J" must not clear the screen, U+202E must not reverse what follows); cut to ``limit``
    characters when given.  ``lines=False`` escapes newlines and tabs too, for what must stay on
    one line (an id or a file name in a row: an id holding "\\n… correct" must not print a fake row)."""
    kept = "\n\t" if lines else ""
    out = "".join(
        ch if ch in kept or unicodedata.category(ch) not in _INVISIBLE else ascii(ch)[1:-1] for ch in str(text)
    )
    return out if not limit or len(out) <= limit else out[: limit - 1] + "…"


def one_line(text: str, limit: int = 0) -> str:
    """``printable`` for a cell of a row: nothing in it can start a new line."""
    return printable(text, limit, lines=False)


def expected_ids(spec: str, known: Callable[[str], str | None] | None = None) -> list[str]:
    """``--expect``: a file with one id a line (``#`` starts a comment), or a comma-separated list.

    Anything that is not exactly that is refused (AnswerFileError, exit 2), because a wrong
    assignment silently changes every student's score: a path that does not exist, ids separated
    by spaces, and, with ``known`` (id → None if it is an assignable item, else the reason it is
    not), a topic, a misspelt id or an item that takes no answer.  A file's refusals name its line."""
    path = Path(spec)
    listed = [item.strip() for item in spec.split(",")]
    # ids that are all known are ids, even where a file of that name happens to be in the folder
    all_known = known is not None and all(item and not known(item) for item in listed)
    if not all_known and (path.exists() or os.sep in spec or spec.endswith((".txt", ".toml", ".csv"))):
        raw = _read_bytes(path)  # a path that does not exist, a FIFO or a folder: refused here
        try:
            lines = raw.decode("utf-8").removeprefix("\ufeff").splitlines()  # an editor's byte-order mark
        except UnicodeDecodeError as exc:
            raise AnswerFileError(f"{path}: not UTF-8 text (byte {exc.start})") from None
        items = [(f"{path}:{n}: ", line.split("#")[0].strip()) for n, line in enumerate(lines, 1)]
    else:
        items = [("", item) for item in listed]
    ids: list[str] = []
    for where, item in items:
        if not item:
            continue
        if any(ch.isspace() for ch in item):
            raise AnswerFileError(
                f"{where}{one_line(item, 80)!r} is not one id: write the ids one a line, or separated by commas"
            )
        reason = known(item) if known is not None else None
        if reason:
            raise AnswerFileError(f"{where}{reason}")
        if item not in ids:
            ids.append(item)
    if not ids:
        raise AnswerFileError(f"{one_line(spec, 80)}: no ids")
    return ids


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
    width = max([len(one_line(v.id)) for v in graded.results] + [2])
    lines = []
    for v in graded.results:
        message = printable(v.said()).replace("\n", "\n" + " " * (width + 14))
        lines.append(f"{one_line(v.id):<{width}}  {v.verdict:<11}  {message}")
        lines += derivation_rows(v, " " * (width + 14))
    # a score a person reads: 7.83/11, not 7.83333/11 (--json keeps the exact value)
    lines.append(f"score: {round(graded.score, 2):g}/{round(graded.max_score, 2):g}")
    return "\n".join(lines)


def derivation_rows(v: Verdict, indent: str) -> list[str]:
    """A derivation's lines under its verdict: ✓ for a line that holds, ✗ for the first that does not,
    · for those after it (not judged)."""
    rows = []
    judged = {line.number: line for line in v.lines}
    for line in v.lines:
        mark = "✓" if line.holds else "✗"
        rows.append(f"{indent}{mark} {line.number}. {one_line(line.source, 160)}")
    if v.step is not None and v.step in judged:
        rows[-1] += "   ← the first line that does not hold"
    return rows


def gradescope(graded: Graded, visibility: str = "visible", notes: list[str] = ()) -> dict[str, Any]:
    """Gradescope's autograder results.json; a derivation adds one test per line judged (score 0 of 0,
    so the item's score is unchanged), the first line that does not hold "failed".  ``notes`` (an
    ``\\input`` the reader did not follow) go at the end of the top-level output."""
    tests = []
    for v in graded.results:
        output = f"{v.verdict}: {v.said()}"
        if v.counterexample:
            output += "\ncounterexample: " + json.dumps(v.counterexample.to_json())
        tests.append(
            {
                "name": v.id,
                "score": round(v.score * v.max_score, 6),
                "max_score": v.max_score,
                "status": "passed" if v.ok else "failed",
                "output": output,
                "visibility": visibility,
            }
        )
        for line in v.lines:
            tests.append(
                {
                    "name": f"{v.id} line {line.number}",
                    "score": 0,
                    "max_score": 0,
                    "status": "passed" if line.holds else "failed",
                    "output": line.source + ("" if line.holds else f"\n{line.message}"),
                    "visibility": visibility,
                }
            )
    scored = [v for v in graded.results if v.max_score > 0]  # items outside the assignment do not count
    right = sum(v.ok for v in scored)
    return {
        "score": graded.score,
        "output": "\n".join([f"{right} of {len(scored)} items correct", *notes]),
        "tests": tests,
    }


PRAIRIELEARN_LIMIT = 1_000_000  # PrairieLearn reads at most 1 MB of results.json


def prairielearn(graded: Graded, notes: list[str] = ()) -> dict[str, Any]:
    """PrairieLearn's external-grader results.json: ``score`` the fraction in [0, 1] (PrairieLearn scales
    it by the question's points), one test per item (``points`` of ``max_points``), the verdict in
    ``message`` and the counterexample and a derivation's lines in ``output``."""
    tests = []
    for v in graded.results:
        output = [f"counterexample: {json.dumps(v.counterexample.to_json())}"] if v.counterexample else []
        output += [f"{'✓' if line.holds else '✗'} {line.number}. {line.source}" for line in v.lines]
        tests.append(
            {
                "name": v.id,
                "points": round(v.score * v.max_score, 6),
                "max_points": v.max_score,
                "message": f"{v.verdict}: {v.said()}",
                "output": "\n".join(output),
            }
        )
    scored = [v for v in graded.results if v.max_score > 0]
    fraction = graded.score / graded.max_score if graded.max_score else 0.0
    result = {
        "gradable": True,
        "score": round(min(1.0, max(0.0, fraction)), 6),
        "message": "\n".join([f"{sum(v.ok for v in scored)} of {len(scored)} items correct", *notes]),
        "tests": tests,
    }
    if len(json_text(result).encode()) > PRAIRIELEARN_LIMIT:  # long messages cut, never the scores
        for test in tests:
            test["message"], test["output"] = printable(test["message"], 2000), printable(test["output"], 2000)
    return result


def prairielearn_not_gradable(error: str) -> dict[str, Any]:
    """PrairieLearn's results for a file that cannot be read: not gradable (the attempt is not spent),
    the reason as a format error."""
    return {"gradable": False, "score": 0.0, "format_errors": [error], "message": error, "tests": []}


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
    head = ", ".join(one_line(n, 40) for n in names[:shown])
    return head + (f" and {len(names) - shown} more" if len(names) > shown else "")


def json_text(value: Any) -> str:
    """``value`` as strict JSON: a float that is not finite (a counterexample's log(0) or 0/0) is
    written as the string "nan", "inf" or "-inf", since bare NaN and Infinity are not JSON and
    a course's scripts and Gradescope would refuse the file."""

    def strict(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
        if isinstance(v, dict):
            return {k: strict(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [strict(x) for x in v]
        return v

    return json.dumps(strict(value), indent=2, allow_nan=False) + "\n"


def write_atomically(path: Path, text: str | bytes) -> None:
    """Write to a temporary file beside ``path``, then rename: a reader never sees half a file.
    Only a regular file is ever written: an existing FIFO (it would wait for a reader), device,
    symbolic link (a link planted in a shared folder would make a TA's run write where it points)
    or folder at ``path`` is refused and left as it is."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        what = "a folder" if stat.S_ISDIR(mode) else "a symbolic link" if stat.S_ISLNK(mode) else "not a regular file"
        raise OSError(errno.EEXIST, f"{path} exists and is {what}; only a regular file is replaced", str(path))
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(text.encode("utf-8") if isinstance(text, str) else text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise

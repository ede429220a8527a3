r"""Answers read from the document a student writes anyway (answers-format.md, "Answers inside the
student's own document"): LaTeX, with ``\begin{answer}{ID} … \end{answer}`` and
``\begin{steps}{ID} … \end{steps}`` (``dlverify.sty``), and Markdown or a Jupyter notebook's
markdown cells, with a line ``<!-- answer ID -->`` or ``<!-- steps ID -->`` before a ``$$ … $$``
display.

Nothing is run to read them: no TeX (an ``\input`` or ``\include`` is not followed, and a note
says so) and no notebook cell (a notebook is JSON data; only its markdown cells are read).  The
text is scanned left to right without recursion, so a hostile file (a megabyte of nested braces)
costs time linear in its size and no stack.

The result is the mapping a TOML file gives (id → text, a choice's options, a table's entries, or
``{"steps": …}``), so each answer is judged exactly as its TOML twin.  Every layout change the
reader makes (a comment, ``&``, ``\\``, ``\text{`` dropped) blanks characters instead of removing
them, so an answer's text is a slice of the file's: the offset of its first character is kept,
and ``Document.relocate`` turns a verdict's positions (into the answer's text) into the file's
line and column.
"""

from __future__ import annotations

import bisect
import dataclasses
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from dlverify.checking.derivation_lines import LinesError, split
from dlverify.checking.verdict import Verdict

MAX_ANSWERS = 500  # answers.MAX_ITEMS (not imported: answers imports this module)
MAX_ID = 200  # characters of an id between its braces
MAX_VERB = 500  # characters of a \verb|…| (TeX's has no limit; one this long is not an answer's)
MAX_DEPTH = 255  # braces nested deeper than TeX's grouping levels: a document TeX itself cannot typeset
MAX_BODY = 50_000  # characters of one answer read for its layout; a longer one goes to the judge as it is


class DocumentError(ValueError):
    """The document cannot be read as answers (exit code 2); the message names the file's line."""


@dataclass(frozen=True)
class Form:
    r"""How an item's answer is written: ``text`` (one expression, shape, bound or number), ``choice``
    (options separated by ``;``) or ``table`` (one ``key = value`` entry a line; ``entries``: the
    keys the item asks for, so ``V1\_v`` or ``V1_{v}`` finds ``V1_v``)."""

    kind: str = "text"
    entries: tuple[str, ...] = ()


FormOf = Callable[[str], Form]


def _every_answer_text(_: str) -> Form:
    return Form()


@dataclass(frozen=True)
class Piece:
    """An answer's text as the checker receives it, and the offset of its first character in the
    document's text."""

    text: str
    offset: int


@dataclass
class Document:
    """A student's answers, with where each one is written.

    ``text`` is what offsets index: the file's text (a notebook: its cells' sources one after
    another, ``cells`` giving each one's start and number).  ``pieces``: id → part → Piece, the
    part being "" for an answer's text, "steps" and "answer" for a derivation, or a table's key."""

    name: str
    text: str
    answers: dict[str, Any]
    pieces: dict[str, dict[str, Piece]] = field(default_factory=dict)
    starts: dict[str, int] = field(default_factory=dict)  # id → offset of its environment or marker
    notes: list[str] = field(default_factory=list)
    cells: list[tuple[int, int]] = field(default_factory=list)  # (offset where the cell starts, its number)

    def place(self, offset: int) -> tuple[int, int, int | None]:
        """(line, column, cell) of an offset: both 1-based, the line within the cell for a notebook."""
        offset = max(0, min(offset, len(self.text)))
        start, cell = 0, None
        for cell_start, number in self.cells:
            if cell_start > offset:
                break
            start, cell = cell_start, number
        before = self.text[start:offset]
        line = before.count("\n") + 1
        return line, offset - (start + before.rfind("\n") + 1) + 1, cell

    def at(self, offset: int) -> str:
        """``line L, column C`` (a notebook: ``cell K, line L, column C``), for an error after the file's name."""
        line, col, cell = self.place(offset)
        return (f"cell {cell}, " if cell is not None else "") + f"line {line}, column {col}"

    def where(self, offset: int, column: bool = True) -> str:
        """``line L, column C of NAME`` (a notebook: ``… of cell K of NAME``)."""
        line, col, cell = self.place(offset)
        text = f"line {line}, column {col}" if column else f"line {line}"
        return text + (f" of cell {cell}" if cell is not None else "") + f" of {self.name}"

    def relocate(self, verdict: Verdict) -> Verdict:
        """``verdict`` with its positions in the answer's text given as the file's line and column, and
        a derivation's rows as the file's lines; a verdict of a TOML file, or of an id not in this
        document, is returned as it is."""
        if verdict.id not in self.starts:
            return verdict
        pieces = self.pieces.get(verdict.id, {})
        if "steps" in pieces:
            return self._relocate_steps(verdict, pieces)
        if "" in pieces:
            return self._relocate_text(verdict, pieces[""])
        # a table: each entry's positions index its own text, and the table's message quotes each entry's
        entries = {
            key: self._relocate_text(e, pieces[key]) if key in pieces else e for key, e in verdict.entries.items()
        }
        edit = _Edit(verdict)
        for key, entry in verdict.entries.items():
            if entries[key] is not entry:
                before, after = (f"{key}: {e.verdict} — {e.said()}" for e in (entry, entries[key]))
                edit.sub(re.compile(re.escape(before)), lambda _, after=after: after)
        edit.unplaced(self, self.starts[verdict.id], "answer")
        return edit.done(entries=entries)

    def _relocate_text(self, verdict: Verdict, piece: Piece) -> Verdict:
        edit = _Edit(verdict)
        edit.sub(_POSITION, lambda m: m.group(1) + self.where(piece.offset + int(m.group(2)) - 1))
        edit.unplaced(self, piece.offset, "answer")
        return edit.done()

    def _relocate_steps(self, verdict: Verdict, pieces: dict[str, Piece]) -> Verdict:
        steps = pieces["steps"]
        row_starts = [0] + [k + 1 for k, ch in enumerate(steps.text) if ch == "\n"]

        def offset_of(row: int, column: int | None) -> int:
            start = row_starts[min(max(row, 1), len(row_starts)) - 1]
            if column is None:  # the row's first written character
                line = steps.text[start:].split("\n", 1)[0]
                column = len(line) - len(line.lstrip()) + 1
            return steps.offset + start + column - 1

        def row(m: re.Match[str]) -> str:
            column = int(m.group(3)) if m.group(3) else None
            return f"line {m.group(1)} (at {self.where(offset_of(int(m.group(2)), column), column is not None)}"

        edit = _Edit(verdict)
        edit.sub(_STEP_ROW, row, count=1)
        edit.sub(_LAYOUT_AT, lambda m: f"(at {self.where(offset_of(int(m.group(1)), int(m.group(2))))})")
        # what the positions after each phrase index: the wrong line's right side (its own verdict), the
        # last right side (the result's verdict), the answer stated beside the steps
        lines = _lines(steps)
        regions: list[tuple[str, Piece | None]] = []
        if verdict.step is not None and 0 < verdict.step <= len(lines):
            regions.append((") does not hold: ", lines[verdict.step - 1]))
        if lines:
            regions.append(("the result is not what the item asks: ", lines[-1]))
        regions.append(("the answer beside the steps does not agree", pieces.get("answer")))
        found = sorted(
            ((edit.message.find(phrase), piece) for phrase, piece in regions if phrase in edit.message),
            key=lambda r: r[0],
        )

        def position(m: re.Match[str]) -> str | None:
            piece = next((p for cut, p in reversed(found) if cut <= m.start()), None)
            return None if piece is None else m.group(1) + self.where(piece.offset + int(m.group(2)) - 1)

        edit.sub(_POSITION, position)
        edit.unplaced(self, steps.offset, "derivation")
        moved = tuple(dataclasses.replace(line, row=self.place(offset_of(line.row, None))[0]) for line in verdict.lines)
        return edit.done(lines=moved)


# "at position 20" (a parse error), "(position 3)" (a symbol the item does not define)
_POSITION = re.compile(r"(at |\()position (\d+)")
# steps.py's "line 2 (row 3, column 5)", "line 2 (row 3: …", "line 2 (row 3)"
_STEP_ROW = re.compile(r"^line (\d+) \(row (\d+)(?:, column (\d+))?")
# a layout error's "(line 3, column 1)", at the message's end
_LAYOUT_AT = re.compile(r"\(line (\d+), column (\d+)\)$")


class _Edit:
    """A verdict's message rewritten piece by piece, the place where it quotes the reference (an offset
    into the message) kept after the same text as before."""

    def __init__(self, verdict: Verdict) -> None:
        self.verdict = verdict
        self.message = verdict.message
        self.at = verdict.reference.at if verdict.reference is not None else None

    def sub(self, pattern: re.Pattern[str], replace: Callable[[re.Match[str]], str | None], count: int = 0) -> None:
        """Each match replaced by what ``replace`` gives (None: left as it is)."""
        out, done, shift, made = [], 0, 0, 0
        for m in pattern.finditer(self.message):
            new = replace(m)
            if new is None:
                continue
            out += [self.message[done : m.start()], new]
            if self.at is not None and m.end() <= self.at:
                shift += len(new) - (m.end() - m.start())
            done = m.end()
            made += 1
            if made == count:
                break
        self.message = "".join(out) + self.message[done:]
        if self.at is not None:
            self.at += shift

    def unplaced(self, doc: Document, offset: int, what: str) -> None:
        """An unparsed answer whose message names no place in the file gets its line."""
        if self.verdict.verdict == "unparsed" and self.message == self.verdict.message:
            self.message += f" (the {what} at {doc.where(offset, column=False)})"

    def done(self, **changes: Any) -> Verdict:
        if self.message == self.verdict.message and not changes:
            return self.verdict
        reference = self.verdict.reference
        if reference is not None and self.at != reference.at:
            reference = dataclasses.replace(reference, at=self.at)
        return dataclasses.replace(self.verdict, message=self.message, reference=reference, **changes)


def _lines(steps: Piece) -> list[Piece]:
    """Where each equation line's right side starts (what a line's, or the result's, positions index)."""
    try:
        return [Piece(line.rhs.text, steps.offset + line.rhs.offset) for line in split(steps.text)]
    except LinesError:
        return []


# --- reading -------------------------------------------------------------------------------------


def _text_of(raw: str, name: str, kind: str) -> str:
    """The decoded text with line ends made ``\\n`` without moving any offset (``\\r\\n`` → `` \\n``),
    refused if it holds NUL bytes (a binary file with a document's name)."""
    if "\x00" in raw:
        raise DocumentError(f"{name}: holds NUL bytes: a binary file, not a {kind}")
    return raw.replace("\r\n", " \n").replace("\r", "\n")


def _blank(text: str, start: int, end: int) -> str:
    """``text[start:end]`` as spaces, its line ends kept (so lines and columns stay where they were)."""
    return re.sub(r"[^\n]", " ", text[start:end])


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


# TeX's own comments and the places it does not read as commands (verbatim, a comment environment)
_TEX_SKIP = re.compile(
    r"\\verb\*?(?P<delim>[^A-Za-z\s*])"
    r"|\\begin[ \t]*\{(?P<env>verbatim\*?|Verbatim\*?|lstlisting|minted|comment)\}"
    r"|\\iffalse(?![A-Za-z@])"
    r"|\\."
    r"|%[^\n]*",
    re.S,
)


def mask_tex(text: str) -> str:
    r"""``text`` with what TeX never reads as the document blanked: ``%`` comments (not ``\%``; ``\\%``
    is a line break and a comment), verbatim and comment environments, ``\verb|…|`` and
    ``\iffalse … \fi`` (unnested).  Same length, same lines."""
    out: list[str] = []
    done = pos = 0
    while True:
        m = _TEX_SKIP.search(text, pos)
        if m is None:
            break
        pos = m.end()
        token = m.group(0)
        if m.group("delim"):  # a \verb is short and on one line: the search is bounded, so a file of them is linear
            close = text.find(m.group("delim"), m.end(), m.end() + MAX_VERB)
            if close < 0 or "\n" in text[m.end() : close]:
                continue
            start, pos = m.end(), close
        elif m.group("env"):
            close = text.find(f"\\end{{{m.group('env')}}}", m.end())
            start, pos = m.end(), (close if close >= 0 else len(text))
        elif token.startswith("\\iffalse"):
            close = re.compile(r"\\fi(?![A-Za-z@])").search(text, m.end())
            start, pos = m.start(), (close.end() if close else len(text))
        elif token.startswith("%"):
            start = m.start()
        else:
            continue
        out += [text[done:start], _blank(text, start, pos)]
        done = pos
    out.append(text[done:])
    return "".join(out)


def _nesting(masked: str, base: int, doc: Document) -> None:
    """Refuse braces nested deeper than TeX's 255 grouping levels (a megabyte of ``{``): TeX would
    stop there, and no answer needs it.  One pass over the braces, no recursion."""
    if masked.count("{") <= MAX_DEPTH:
        return
    depth = 0
    for m in re.finditer(r"\\.|[{}]", masked, re.S):
        token = m.group(0)
        if token == "{":
            depth += 1
            if depth > MAX_DEPTH:
                raise DocumentError(
                    f"{doc.name}: {doc.at(base + m.start())}: braces nested more than {MAX_DEPTH} deep "
                    "(TeX itself stops there): not a document the checker reads"
                )
        elif token == "}":
            depth = max(0, depth - 1)


_ENVIRONMENT = re.compile(r"\\(begin|end)[ \t]*\{[ \t]*(answer|steps)[ \t]*\}")
_INPUT = re.compile(r"\\(input|include|subfile|import|subimport|includefrom|subincludefrom)(?![A-Za-z@])")


def _tex_argument(masked: str, start: int, name: str, where: Callable[[int], str]) -> tuple[str, int]:
    """The ``{ID}`` after ``\\begin{answer}``: (the id, the offset after its closing brace)."""
    k = start
    while k < len(masked) and masked[k] in " \t":
        k += 1
    if k < len(masked) and masked[k] == "\n":  # TeX reads an argument across one line end, not a blank line
        k += 1
        while k < len(masked) and masked[k] in " \t":
            k += 1
    usage = f"\\begin{{{name}}} needs the item's id in braces: \\begin{{{name}}}{{scalar_rnn.dy_dw}}"
    if k >= len(masked) or masked[k] != "{":
        raise DocumentError(f"{where(start)}: {usage}")
    depth, end = 0, k
    while end < len(masked) and end - k <= MAX_ID:
        if masked[end] == "{":
            depth += 1
        elif masked[end] == "}":
            depth -= 1
            if depth == 0:
                break
        elif masked[end] == "\n":
            end = len(masked)
            break
        end += 1
    if end >= len(masked) or end - k > MAX_ID or masked[end] != "}":
        raise DocumentError(f"{where(k)}: the id after \\begin{{{name}}} has no closing brace on its line")
    pid = masked[k + 1 : end].replace("\\_", "_").strip()
    if not pid:
        raise DocumentError(f"{where(k)}: {usage}")
    return pid, end + 1


@dataclass
class _Found:
    """One environment or marked display: its id, what it holds (``answer`` or ``steps``), where."""

    pid: str
    what: str
    body: Piece
    start: int


def _tex_blocks(text: str, doc: Document) -> Iterator[_Found]:
    masked = mask_tex(text)

    def where(offset: int) -> str:
        return f"{doc.name}: {doc.at(offset)}"

    _nesting(masked, 0, doc)
    inputs = [m for m in _INPUT.finditer(masked)]
    if inputs:
        shown = ", ".join(f"\\{m.group(1)} (line {_line(masked, m.start())})" for m in inputs[:5])
        more = f" and {len(inputs) - 5} more" if len(inputs) > 5 else ""
        doc.notes.append(
            f"{doc.name}: {shown}{more} not followed: only this file is read, so answers in another file are "
            "not graded; put every answer environment in this file"
        )
    open_: tuple[str, str, int, int] | None = None  # (environment, id, where it begins, where its body begins)
    for m in _ENVIRONMENT.finditer(masked):
        kind, name = m.group(1), m.group(2)
        if kind == "begin":
            if open_ is not None:
                raise DocumentError(
                    f"{where(m.start())}: \\begin{{{name}}} inside the \\begin{{{open_[0]}}}{{{open_[1][:80]}}} of "
                    f"line {_line(masked, open_[2])}, which has no \\end{{{open_[0]}}} before it"
                )
            pid, body = _tex_argument(masked, m.end(), name, where)
            open_ = (name, pid, m.start(), body)
            continue
        if open_ is None:
            raise DocumentError(f"{where(m.start())}: \\end{{{name}}} without a \\begin{{{name}}}{{ID}} before it")
        if open_[0] != name:
            raise DocumentError(
                f"{where(m.start())}: \\end{{{name}}} ends the \\begin{{{open_[0]}}}{{{open_[1][:80]}}} of line "
                f"{_line(masked, open_[2])}: write \\end{{{open_[0]}}}"
            )
        yield _Found(open_[1], name, Piece(masked[open_[3] : m.start()], open_[3]), open_[2])
        open_ = None
    if open_ is not None:
        raise DocumentError(
            f"{where(open_[2])}: \\begin{{{open_[0]}}}{{{open_[1][:80]}}} is never closed: "
            f"end it with \\end{{{open_[0]}}}"
        )


_MARKER = re.compile(r"^[ \t]{0,3}<!--[ \t]*(answer|steps)\b[ \t]*(.*?)[ \t]*-->[ \t]*(.*)$")
_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})")


def _markdown_blocks(text: str, base: int, doc: Document) -> Iterator[_Found]:
    """The marked displays of Markdown ``text`` (a notebook cell's source: ``base`` is its offset)."""

    def where(offset: int) -> str:
        return f"{doc.name}: {doc.at(base + offset)}"

    lines = text.split("\n")
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)
    fence: str | None = None
    k = 0
    while k < len(lines):
        line = lines[k]
        opened = _FENCE.match(line)
        if fence is not None:  # inside a fenced code block: nothing is an answer
            if opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence):
                fence = None
            k += 1
            continue
        if opened:
            fence = opened.group(1)
            k += 1
            continue
        m = _MARKER.match(line)
        if not m:
            k += 1
            continue
        what, pid, rest = m.group(1), m.group(2).strip(), m.group(3)
        marker = starts[k] + line.index("<!--")
        usage = f"<!-- {what} ID --> names the item: <!-- {what} scalar_rnn.dy_dw -->"
        if not pid or any(ch.isspace() for ch in pid) or len(pid) > MAX_ID:
            raise DocumentError(f"{where(marker)}: {usage}")
        # the display: the rest of the marker's line, else the next line that is not blank
        if rest:
            open_at = starts[k] + m.start(3)
        else:
            j = k + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            if j == len(lines) or not lines[j].lstrip().startswith("$$"):
                shown = pid[:80]
                raise DocumentError(
                    f"{where(marker)}: <!-- {what} {shown} --> must be followed by a $$ … $$ display holding the answer"
                )
            open_at = starts[j] + len(lines[j]) - len(lines[j].lstrip())
        if not text.startswith("$$", open_at):
            raise DocumentError(f"{where(marker)}: <!-- {what} {pid[:80]} --> must be followed by a $$ … $$ display")
        close = _display_end(text, open_at + 2)
        if close < 0:
            raise DocumentError(f"{where(open_at)}: the $$ display after <!-- {what} {pid[:80]} --> is never closed")
        masked = mask_tex(text[open_at + 2 : close])  # MathJax and KaTeX read % as a comment too
        _nesting(masked, base + open_at + 2, doc)
        yield _Found(pid, what, Piece(masked, base + open_at + 2), base + marker)
        k = bisect.bisect_right(starts, close)  # the line after the closing $$ (0-based)


def _display_end(text: str, start: int) -> int:
    """The offset of the ``$$`` that closes a display opened before ``start`` (-1 if none); ``\\$`` is a
    dollar sign."""
    k = start
    while True:
        k = text.find("$$", k)
        if k < 0:
            return -1
        before = k
        while before > start and text[before - 1] == "\\":  # only the backslashes just before: linear
            before -= 1
        if (k - before) % 2 == 0:
            return k
        k += 1


def _notebook(raw: str, doc: Document) -> Iterator[_Found]:
    """A notebook's markdown cells, as data: its code cells are never run, nor their outputs read."""
    try:
        notebook = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise DocumentError(
            f"{doc.name}: not a Jupyter notebook: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    except RecursionError:
        raise DocumentError(f"{doc.name}: not a Jupyter notebook: its JSON is nested too deeply") from None
    except ValueError as exc:  # a number longer than Python converts
        raise DocumentError(f"{doc.name}: not a Jupyter notebook: {exc}") from None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        old = isinstance(notebook, dict) and "worksheets" in notebook
        hint = ": an nbformat 3 notebook; open and save it in Jupyter to update it" if old else " (no list of cells)"
        raise DocumentError(f"{doc.name}: not a Jupyter notebook{hint}")
    parts: list[str] = []
    offset = 0
    sources: list[tuple[int, str]] = []
    for number, cell in enumerate(notebook["cells"], 1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "markdown":
            continue
        source = cell.get("source", "")
        if isinstance(source, list) and all(isinstance(s, str) for s in source):
            source = "".join(source)
        if not isinstance(source, str):
            raise DocumentError(f"{doc.name}: cell {number}: its source is not text")
        source = _text_of(source, doc.name, "notebook")
        doc.cells.append((offset, number))
        sources.append((offset, source))
        parts.append(source + "\n")
        offset += len(source) + 1
    doc.text = "".join(parts)
    for start, source in sources:
        yield from _markdown_blocks(source, start, doc)


def read_document(raw: str, name: str, kind: str, form_of: FormOf | None = None) -> Document:
    """The answers of a document's decoded text: ``kind`` is ``tex``, ``md`` or ``ipynb``;
    ``form_of`` tells how each id's answer is written (every answer is text without it).
    Raises DocumentError (one line, naming the file's line) where the file cannot be read."""
    form_of = form_of or _every_answer_text
    noun = {"tex": "LaTeX document", "md": "Markdown document", "ipynb": "Jupyter notebook"}[kind]
    doc = Document(name, "", {})
    if kind == "ipynb":
        blocks = _notebook(raw, doc)
    else:
        doc.text = _text_of(raw, name, noun)
        blocks = _tex_blocks(doc.text, doc) if kind == "tex" else _markdown_blocks(doc.text, 0, doc)
    seen: dict[tuple[str, str], int] = {}
    for found in blocks:
        key = (found.pid, found.what)
        if key in seen:
            first, second = (doc.at(k).rsplit(", column", 1)[0] for k in (seen[key], found.start))
            raise DocumentError(
                f"{name}: two {found.what}s for {found.pid[:80]!r} ({first} and {second}): neither counts while "
                "both are there, so nothing in the file is graded; delete the one you do not mean"
            )
        seen[key] = found.start
        if len({pid for pid, _ in seen}) > MAX_ANSWERS:
            raise DocumentError(f"{name}: more than {MAX_ANSWERS} answers; at most {MAX_ANSWERS}")
        _add(doc, found, form_of(found.pid))
    if not doc.answers:
        how = (
            "mark each answer \\begin{answer}{ID} … \\end{answer} (\\usepackage{dlverify})"
            if kind == "tex"
            else "put a line <!-- answer ID --> before each answer's $$ … $$ display"
        )
        note = f" ({doc.notes[0].removeprefix(name + ': ')})" if doc.notes else ""
        raise DocumentError(f"{name}: no answers: {how}; dlverify template ID --format {kind} writes a skeleton{note}")
    return doc


def _add(doc: Document, found: _Found, form: Form) -> None:
    """One block's answer into the document's mapping; a derivation and an answer for the same id are
    TOML's ``{steps, answer}`` table, whichever comes first (the judge says what it makes of an
    item of another kind answered by steps, as it does for TOML)."""
    pid = found.pid
    pieces = doc.pieces.setdefault(pid, {})
    doc.starts.setdefault(pid, found.start)
    if found.what == "steps":
        steps = _strip(_steps_layout(found.body) if len(found.body.text) <= MAX_BODY else found.body)
        pieces["steps"] = steps
        if pid in doc.answers:  # its answer came first: the one stated beside the steps
            if "" in pieces:
                pieces["answer"] = pieces.pop("")
            doc.answers[pid] = {"steps": steps.text, "answer": doc.answers[pid]}
        else:
            doc.answers[pid] = {"steps": steps.text}
        return
    parts: dict[str, Piece]
    if len(found.body.text) > MAX_BODY:  # the judge refuses it as too large, as it would in TOML
        piece = _strip(found.body)
        value, parts = piece.text, {"": piece}
    elif form.kind == "table":
        value, parts = _table(found.body, form, f"{doc.name}: {doc.at(found.start)}")
    elif form.kind == "choice":
        value, parts = _choice(found.body), {"": _strip(found.body)}
    else:
        piece = _strip(_punctuation(_layout(found.body)))
        value, parts = piece.text, {"": piece}
    if "steps" in pieces:
        if "" in parts:
            pieces["answer"] = parts[""]
        doc.answers[pid] = {**doc.answers[pid], "answer": value}
    else:
        pieces.update(parts)
        doc.answers[pid] = value


def _strip(piece: Piece) -> Piece:
    lead = len(piece.text) - len(piece.text.lstrip())
    return Piece(piece.text.strip(), piece.offset + lead)


# --- layout inside a display ---------------------------------------------------------------------

# environments whose lines and columns are the display's own layout (the steps splitter's list);
# any other (cases, a matrix, array) keeps its \\ and & as part of the mathematics
_TRANSPARENT = {"align", "aligned", "equation", "eqnarray", "gather", "gathered", "multline", "split", "alignat"}
_TOKEN = re.compile(
    r"\\begin[ \t]*\{(?P<begin>[A-Za-z]+)\*?\}(?:\{\d+\})?"
    r"|\\end[ \t]*\{(?P<end>[A-Za-z]+)\*?\}"
    r"|(?P<break>\\\\(?:\[[^\]\n]*\])?)"
    r"|\\(?P<tag>label|tag\*?|intertext|shortintertext)[ \t]*\{[^{}\n]*\}"
    r"|\\(?P<drop>nonumber|notag)(?![A-Za-z])"
    r"|\\."
    r"|(?P<char>[{}()\[\]&;=\n<>!])"
)


def _top(text: str) -> Iterator[tuple[re.Match[str], bool, bool]]:
    """The layout tokens of a display, each with whether it is outside every brace and every
    non-layout environment, and whether it is outside every bracket too (for an entry's ``=``)."""
    braces = brackets = opaque = 0
    for m in _TOKEN.finditer(text):
        char = m.group("char")
        if m.group("begin") and m.group("begin") not in _TRANSPARENT:
            opaque += 1
        elif m.group("end") and m.group("end") not in _TRANSPARENT:
            opaque = max(0, opaque - 1)
        elif char in ("{", "}"):
            braces += 1 if char == "{" else -1
        elif char and char in "([":
            brackets += 1
        elif char and char in ")]":
            brackets = max(0, brackets - 1)
        top = braces <= 0 and opaque == 0
        yield m, top, top and brackets == 0


def _blanked(text: str, spans: list[tuple[int, int]]) -> str:
    out, done = [], 0
    for start, end in spans:
        out += [text[done:start], _blank(text, start, end)]
        done = end
    return "".join(out) + text[done:]


def _layout(piece: Piece) -> Piece:
    r"""An answer's display without its layout: the top level's ``&``, ``\\``, ``\nonumber``, ``\label{…}``
    and ``\tag{…}``, and a layout environment's ``\begin``/``\end`` (blanked, so offsets stay)."""
    spans = []
    for m, top, _ in _top(piece.text):
        transparent = (m.group("begin") or m.group("end") or "") in _TRANSPARENT
        if (top and (m.group("break") or m.group("char") == "&")) or m.group("tag") or m.group("drop") or transparent:
            spans.append(m.span())
    return Piece(_blanked(piece.text, spans), piece.offset)


def _punctuation(piece: Piece) -> Piece:
    """A display's closing full stop or comma (``… + u_3.``) is the sentence's, not the answer's."""
    stripped = piece.text.rstrip()
    if stripped.endswith((".", ",")) and not stripped.endswith(("..", "\\.", "\\,")):
        cut = len(stripped) - 1
        return Piece(piece.text[:cut] + " " + piece.text[cut + 1 :], piece.offset)
    return piece


def _steps_layout(piece: Piece) -> Piece:
    r"""A derivation's display as the steps splitter reads it, one equation a line: where the display has
    a top-level ``\\``, its rows are TeX's (each ``\\`` a line end, a line end inside a row a space, so
    ``LHS`` on one line and ``&= RHS`` on the next are one equation); without one, a line is an equation,
    as in TOML."""
    text = piece.text
    tokens = list(_top(text))
    layout = [m.span() for m, _, _ in tokens if m.group("tag") or (m.group("begin") or m.group("end")) in _TRANSPARENT]
    text = _blanked(text, layout)  # \begin{aligned}, \label{…}: layout, not a line's mathematics
    breaks = [m.span() for m, top, _ in tokens if top and m.group("break")]
    if breaks:  # as TeX sets it: a row ends at \\, and a line end inside a row is a space
        text = text.replace("\n", " ")
    out, done = [], 0
    for start, end in breaks:
        out += [text[done:start], " " * (end - start - 1) + "\n"]
        done = end
    text = "".join(out) + text[done:]
    # each line's closing full stop or comma (the sentence's), as in an answer
    lines, offset = [], 0
    for line in text.split("\n"):
        lines.append(_punctuation(Piece(line, offset)).text)
        offset += len(line) + 1
    return Piece("\n".join(lines), piece.offset)


_TEXT_WRAPPER = re.compile(r"\\(?:text|textrm|textsf|texttt|textit|textnormal|mathrm|mathit|mbox|operatorname)[ \t]*\{")


def _unwrapped(text: str) -> str:
    r"""``\text{neural network}`` → ``neural network`` (a choice's words, answers-format.md)."""
    while True:
        m = _TEXT_WRAPPER.search(text)
        if m is None:
            break
        depth, k = 1, m.end()
        while k < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[k], 0)
            k += 1
        inner = text[m.end() : k - 1] if depth == 0 else text[m.end() :]
        text = text[: m.start()] + " " + inner + " " + text[k:]
    for spacing in ("\\_", "\\;", "\\,", "\\:", "\\!", "\\ ", "~", "\\quad", "\\qquad"):
        text = text.replace(spacing, "_" if spacing == "\\_" else " ")
    return text


def _choice(piece: Piece) -> str | list[str]:
    """A choice's options, separated by ``;`` at the top level: one option is a string, several a list."""
    text = _layout(piece).text
    cuts = [m.start() for m, top, _ in _top(text) if top and m.group("char") == ";"]
    options, begin = [], 0
    for cut in [*cuts, len(text)]:
        option = " ".join(_unwrapped(text[begin:cut]).split()).strip().rstrip(".,").strip()
        if option:
            options.append(option)
        begin = cut + 1
    return options[0] if len(options) == 1 else options


def _table(piece: Piece, form: Form, where: str) -> tuple[dict[str, Any], dict[str, Piece]]:
    r"""A table's entries, one ``key = value`` a line (``\\`` or a line end between them; a line without
    a top-level ``=`` continues the entry before it), keys matched to the item's spellings."""
    text = _layout_keep_breaks(piece.text)
    cuts: list[tuple[int, int]] = []  # (start, end) of each separator
    equals: list[int] = []
    for m, top, outside in _top(text):
        if top and (m.group("break") or m.group("char") == "\n"):
            cuts.append(m.span())
        elif outside and m.group("char") == "=":
            e = m.start()  # an entry's =, not one of <=, >=, != or ==
            if text[e - 1 : e] not in ("<", ">", "!", "=") and text[e + 1 : e + 2] != "=":
                equals.append(e)
    rows, begin = [], 0
    for start, end in [*cuts, (len(text), len(text))]:
        rows.append((begin, start))
        begin = end
    entries: list[tuple[int, int, int]] = []  # (key start, '=' offset, value end)
    for begin, end in rows:
        if not text[begin:end].strip():
            continue
        k = bisect.bisect_left(equals, begin)
        first = equals[k] if k < len(equals) and equals[k] < end else None
        if first is None:
            if not entries:
                raise DocumentError(f"{where}: a table's entry is written key = value, one a line")
            entries[-1] = (entries[-1][0], entries[-1][1], end)
        else:
            entries.append((begin, first, end))
    # an entry continued on the next row (y &= … \\ &\quad + …) is one value: its \\ is layout
    flat = _blanked(text, [c for c in cuts if text[c[0]] == "\\"])
    canonical = {_key_form(e): e for e in form.entries}
    value: dict[str, Any] = {}
    parts: dict[str, Piece] = {}
    for begin, eq, end in entries:
        written = _unwrapped(text[begin:eq]).strip()
        key = canonical.get(_key_form(written), written.replace(" ", ""))
        if key in value:
            raise DocumentError(f"{where}: the entry {key[:40]!r} is written twice")
        entry = _strip(_punctuation(Piece(flat[eq + 1 : end], piece.offset + eq + 1)))
        numbers = _numbers(entry.text)
        value[key] = numbers if numbers is not None else entry.text
        parts[key] = entry
    return value, parts


def _layout_keep_breaks(text: str) -> str:
    """A table's display without ``&``, tags and layout environments; its ``\\\\`` stay (they part entries)."""
    spans = []
    for m, top, _ in _top(text):
        transparent = (m.group("begin") or m.group("end") or "") in _TRANSPARENT
        if (top and m.group("char") == "&") or m.group("tag") or m.group("drop") or transparent:
            spans.append(m.span())
    return _blanked(text, spans)


def _key_form(key: str) -> str:
    r"""A key as compared: ``V1\_v``, ``V1_{v}``, ``\text{V1_v}``, ``v_{1}`` and ``v1`` alike."""
    return re.sub(r"[\s{}_]", "", _unwrapped(key))


_NUMBER = r"[-−+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_MATRIX = re.compile(r"^\\begin\{([pbvBV]?matrix)\}(.*)\\end\{\1\}$", re.S)


def _numbers(text: str) -> list[list[int | float]] | None:
    r"""An array of numbers, written as a matrix (``\begin{bmatrix} 1 & 2 \\ 3 & 4 \end{bmatrix}``) or as
    TOML writes it (``[[1, 2], [3, 4]]``), as the TOML value; None if the text is anything else."""
    text = text.strip()
    m = _MATRIX.match(text)
    if m:
        rows = [r for r in re.split(r"\\\\", m.group(2)) if r.strip()]
        cells = [[c.strip() for c in row.split("&")] for row in rows]
    elif re.fullmatch(r"\[\s*\[.*\]\s*\]", text, re.S):
        inner = text.strip()[1:-1]
        rows = re.findall(r"\[([^\[\]]*)\]", inner)
        if re.sub(r"\[[^\[\]]*\]", "", inner).replace(",", "").strip():
            return None
        cells = [[c.strip() for c in row.split(",") if c.strip()] for row in rows]
    else:
        return None
    if not cells or not all(cells) or not all(re.fullmatch(_NUMBER, c) for row in cells for c in row):
        return None

    def number(cell: str) -> int | float:
        cell = cell.replace("−", "-")
        return int(cell) if re.fullmatch(r"[-+]?\d+", cell) else float(cell)

    return [[number(c) for c in row] for row in cells]

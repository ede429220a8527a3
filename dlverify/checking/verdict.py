"""The verdict on one answered item (answers-format.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

# "error": the checker itself failed (a bug, a worker that crashed twice) — never the student's mistake.
# "timeout": the answer could not be evaluated within the limit of CPU time (pool.py): scored 0 like a
# wrong answer, but never reported as one, since the answer may be right and merely too costly to judge.
VERDICTS = ("correct", "incorrect", "unparsed", "unknown_id", "unsupported", "missing", "error", "timeout")
# How many values of a witness point the terminal and the feedback show (those that matter first);
# the JSON record keeps every value.
SHOWN_VALUES = 12


@dataclass(frozen=True)
class Reference:
    """The reference as a verdict quotes it: plain (Unicode) text, its LaTeX where the judge has it,
    and where in the message it is quoted (a character offset: what the judge said before it and
    after it stay apart, so text appended to the message later stays after it)."""

    text: str
    latex: str | None = None
    at: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "latex": self.latex, "at": self.at}


def quoted(message: str, reference: Reference | None) -> str:
    """``message`` with ``reference`` quoted at its place, as answers-format.md writes it."""
    if reference is None:
        return message
    return message[: reference.at] + f" (reference: {reference.text})" + message[reference.at :]


@dataclass(frozen=True)
class Counterexample:
    """Where an answer and the reference differ.  Every field is optional (None: not known or not
    shown, as the reference's value under --hide-reference); ``to_json`` gives the fields that are
    set, in this order, as answers-format.md's ``counterexample`` object."""

    answer_shape: str | tuple[int, ...] | None = None  # a shape's axes as written, or an array's rows × columns
    reference_axes: int | None = None
    reference_shape: str | None = None
    axis: int | None = None  # the first axis of a shape that differs (from 1)
    at: Mapping[str, Any] | None = None  # the point: each symbol as the answer writes it → its value
    entry: tuple[int, ...] | None = None  # the entry of a matrix (row, column; from 1)
    answer_value: float | str | None = None
    reference_value: float | str | None = None
    terms: tuple[str, ...] | None = None  # a bound's terms, as the answer's growth was read
    # the names in ``at`` that matter, in the order shown: the sizes, the quantities the model determines
    # and the symbols of the answer and of the reference as written (None: every one)
    relevant: tuple[str, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                out[f.name] = list(value) if isinstance(value, tuple) else dict(value) if f.name == "at" else value
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Counterexample:
        lists = {"answer_shape", "entry", "terms", "relevant"}
        return cls(**{k: tuple(v) if k in lists and isinstance(v, list) else v for k, v in data.items()})

    def details(self) -> dict[str, Any]:
        """The fields beside the point, the entry and the two values (a shape's axes, a bound's terms)."""
        shown_apart = ("at", "entry", "answer_value", "reference_value", "relevant")
        return {k: v for k, v in self.to_json().items() if k not in shown_apart}

    def brief(self, limit: int = SHOWN_VALUES) -> tuple[dict[str, Any], int]:
        """The point as a reader sees it: the values that matter (``relevant``, else all of ``at``), at
        most ``limit`` of them, and how many values of ``at`` that leaves out (``--json`` has all)."""
        at = dict(self.at or {})
        names = [k for k in (at if self.relevant is None else self.relevant) if k in at]
        kept = names[:limit]
        return {k: at[k] for k in kept}, len(at) - len(kept)

    def point_text(self, limit: int = SHOWN_VALUES) -> str:
        """``brief`` in one line of text: ``n = 2, a_1 = 0.31, V_1 = [[…]]`` and a note of what is left out."""
        shown, left_out = self.brief(limit)
        text = ", ".join(f"{k} = {v}" for k, v in shown.items()) or "these values"
        return text + (f" (and {left_out} more: --json has every value)" if left_out else "")


@dataclass(frozen=True)
class LineVerdict:
    """One equation line of a derivation (``steps``): where it is, what it says, and whether it holds."""

    number: int  # 1-based among the equation lines
    row: int  # the line of the student's text
    source: str  # the line as written
    holds: bool | None  # None: not judged (after the first wrong line)
    message: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "line": self.number,
            "row": self.row,
            "source": self.source,
            "holds": self.holds,
            "message": self.message,
        }


@dataclass
class Verdict:
    """``message`` is what the judge said, without the reference; ``reference`` is the reference it
    quotes (None when hidden or not quoted), and ``said`` the two together."""

    id: str
    verdict: str
    message: str
    counterexample: Counterexample | None = None
    score: float = 0.0
    max_score: float = 1.0
    diagnosis: str | None = None
    entries: dict[str, Verdict] = field(default_factory=dict)
    answer_latex: str | None = None  # the answer as the checker read it, typeset from its tree
    reference: Reference | None = None
    # a derivation's verdict: the first line that does not hold (1-based; None when every line holds or
    # the answer is not a derivation), and every line judged
    step: int | None = None
    lines: tuple[LineVerdict, ...] = ()

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {self.verdict!r}")
        if isinstance(self.counterexample, Mapping):  # its JSON form (from a worker, a file): read into its type
            self.counterexample = Counterexample.from_json(self.counterexample)
        if isinstance(self.reference, Mapping):
            self.reference = Reference(**self.reference)
        self.lines = tuple(
            LineVerdict(line["line"], line["row"], line["source"], line["holds"], line.get("message", ""))
            if isinstance(line, Mapping)
            else line
            for line in self.lines
        )

    @property
    def ok(self) -> bool:
        return self.verdict == "correct"

    def said(self) -> str:
        """The message as answers-format.md gives it: the reference quoted where the judge placed it."""
        return quoted(self.message, self.reference)

    def to_json(self, *, reference_apart: bool = False) -> dict[str, Any]:
        """The answers-format.md record; ``reference_apart``: the message without the reference, and
        the reference as a field of its own (how a worker sends a verdict, so nothing is re-parsed)."""
        out: dict[str, Any] = {
            "id": self.id,
            "verdict": self.verdict,
            "message": self.message if reference_apart else self.said(),
            "counterexample": self.counterexample.to_json() if self.counterexample is not None else None,
            "score": self.score,
            "max_score": self.max_score,
            "diagnosis": self.diagnosis,
            "answer_latex": self.answer_latex,
        }
        if self.lines:  # a derivation: "step" names its first wrong line (answers-format.md)
            out["step"] = self.step
            out["lines"] = [line.to_json() for line in self.lines]
        if reference_apart and self.reference is not None:
            out["reference"] = self.reference.to_json()
        if self.entries:
            out["entries"] = {k: v.to_json(reference_apart=reference_apart) for k, v in self.entries.items()}
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Verdict:
        entries = {k: cls.from_json(v) for k, v in data.get("entries", {}).items()}
        return cls(**{**data, "entries": entries})

    def _repr_latex_(self) -> str:
        from dlverify.notation import text

        return r"\text{" + text(f"{self.id}: {self.verdict} — {self.said()}") + "}"

    def __repr__(self) -> str:
        return f"Verdict({self.id!r}, {self.verdict!r}, {self.said()!r})"

"""The verdict on one answered item (answers-format.md)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# "error": the checker itself failed (a bug, a worker that crashed twice) — never the student's mistake.
# "timeout": the answer could not be evaluated within the limit of CPU time (pool.py): scored 0 like a
# wrong answer, but never reported as one, since the answer may be right and merely too costly to judge.
VERDICTS = ("correct", "incorrect", "unparsed", "unknown_id", "unsupported", "missing", "error", "timeout")


@dataclass
class Verdict:
    id: str
    verdict: str
    message: str
    counterexample: dict[str, Any] | None = None
    score: float = 0.0
    max_score: float = 1.0
    diagnosis: str | None = None
    entries: dict[str, Verdict] = field(default_factory=dict)
    answer_latex: str | None = None  # the answer as the checker read it, typeset from its tree

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {self.verdict!r}")

    @property
    def ok(self) -> bool:
        return self.verdict == "correct"

    def to_json(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k != "entries"}
        if self.entries:
            out["entries"] = {k: v.to_json() for k, v in self.entries.items()}
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Verdict:
        entries = {k: cls.from_json(v) for k, v in data.get("entries", {}).items()}
        return cls(**{**data, "entries": entries})

    def _repr_latex_(self) -> str:
        from dlverify.notation import text

        return r"\text{" + text(f"{self.id}: {self.verdict} — {self.message}") + "}"

    def __repr__(self) -> str:
        return f"Verdict({self.id!r}, {self.verdict!r}, {self.message!r})"

"""A problem file's errors, and where in the file they point: ``file:line[:column]: problem id: reason``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path


class ProblemFileError(ValueError):
    """A problem file that cannot be used; the message names the file, line and column."""


@dataclass
class Where:
    """Positions in the file, for messages: the line of a key inside one problem's table."""

    path: Path
    lines: list[str]
    pid: str

    def line_of(self, key: str) -> int:
        header = next((k for k, line in enumerate(self.lines) if self.pid in line and line.lstrip().startswith("[")), 0)
        for k in range(header + 1, len(self.lines)):
            if self.lines[k].lstrip().startswith("["):
                break
            if re.match(rf"\s*{re.escape(key)}\s*=", self.lines[k]):
                return k + 1
        return header + 1

    def error(self, key: str, reason: str, line: int | None = None, column: int | None = None) -> ProblemFileError:
        at = line if line is not None else self.line_of(key)
        col = f":{column}" if column is not None else ""
        shown = self.pid if self.pid.isprintable() else repr(self.pid)  # one line, whatever the key holds
        return ProblemFileError(f"{self.path}:{at}{col}: problem {shown[:100]}: {reason}")

    def first_statement_line(self) -> int:
        """The file line of the first statement: forward's own line for forward = "h = ...", the next
        one after an opening triple quote (TOML drops the newline right after it)."""
        key_line = self.line_of("forward")
        after_key = self.lines[key_line - 1].split("=", 1)[-1].strip() if key_line <= len(self.lines) else ""
        return key_line + (1 if after_key in ("'''", '"""') else 0)

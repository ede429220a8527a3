"""The README's two commands stay true: CI runs the same test command, and the main
job's command names a real subcommand."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"```bash\n(.*?)```", README, flags=re.S)


def test_ci_runs_the_readme_test_command() -> None:
    test_command = BLOCKS[1].strip()
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert test_command in ci_lines


def test_first_command_installs_torch_pinned_and_runs_verify() -> None:
    install = BLOCKS[0].strip()
    assert "torch==2.13.0" in install and install.endswith("dlverify verify")

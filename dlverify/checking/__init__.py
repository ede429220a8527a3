"""Answer checking: parse untrusted answers safely and judge them against the references.

``check(problem_id, answer)`` is the Python API: it judges in a worker process under a
hard time limit (pool.py).  The answer is the TOML value: a string, a list (``choice``)
or a dict (``table``).
"""

from __future__ import annotations

from typing import Any

from dlverify.checking.verdict import Verdict

__all__ = ["Verdict", "check"]


def check(problem_id: str, answer: Any, *, hide_reference: bool = False) -> Verdict:
    """The verdict on one answer, judged in a worker process under a hard time limit."""
    from dlverify.checking.pool import shared_pool

    return shared_pool().check(problem_id, answer, hide_reference)

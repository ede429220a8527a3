"""The checker's worker process.

Imported by the forkserver before any worker is forked: importing it loads SymPy and
derives every problem once, so each worker (and each replacement of a killed one)
starts with all of that in memory.
"""

from __future__ import annotations

from multiprocessing.connection import Connection

from dlverify import registry
from dlverify.checking.judge import judge
from dlverify.checking.kinds import answer_kind
from dlverify.checking.resolve import table_for


def _warm() -> None:
    """Symbol tables, and what each answer kind prepares (the mutations that diagnoses compare
    with), for every problem."""
    for problem in registry.problems().values():
        try:
            table_for(problem)
            answer_kind(problem.kind).warm(problem)
        except Exception:  # a broken description is reported when an answer needs it
            pass


_warm()


def serve(conn: Connection) -> None:
    """Answer (id, answer, hide_reference) requests until told to stop."""
    conn.send("ready")
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        problem_id, answer, hide = task

        def partial(v, conn=conn) -> None:
            conn.send(("partial", v.to_json()))

        verdict = judge(problem_id, answer, hide_reference=hide, report=partial)
        conn.send(("final", verdict.to_json()))

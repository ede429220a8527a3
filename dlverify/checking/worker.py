"""The checker's worker process.

Imported by the forkserver before any worker is forked, so each worker (and each
replacement of a killed one) starts with SymPy and the checker already imported.  A worker
then prepares only the problems its pool was asked about, reading their derivations from
the disk cache (dlverify/cache.py), before it says it is ready: that work is never counted
against an answer's limit of CPU time (pool.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from multiprocessing.connection import Connection

from dlverify import registry
from dlverify.checking.forkserver import in_forkserver
from dlverify.checking.judge import judge
from dlverify.checking.kinds import answer_kind
from dlverify.checking.names import table_for


def warm(ids: Iterable[str]) -> None:
    """The derivation, the symbol table and what the answer kind prepares (the mutations that
    diagnoses compare with) for each of ``ids``."""
    known = registry.problems()
    for problem_id in ids:
        problem = known.get(problem_id)
        if problem is None:
            continue
        try:
            table_for(problem)
            answer_kind(problem.kind).warm(problem)
        except Exception:  # a broken description is reported when an answer needs it
            pass


def _die_with_parent() -> None:
    """Linux: be killed when the forkserver (which exits with the main process) ends, instead of
    judging on, at full CPU, for a process that is gone."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the pipe's EOF ends the loop instead
        pass


def _exit_with_the_checker() -> None:
    """End this worker the moment the process that started it ends (even by SIGKILL), though its
    main thread may be deep in a SymPy computation: a watcher thread waits on that process."""
    import multiprocessing
    import os
    import threading
    from multiprocessing.connection import wait

    parent = multiprocessing.parent_process()
    if parent is None or parent.sentinel is None:
        return

    def watch() -> None:
        wait([parent.sentinel])
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def _one_thread() -> None:
    """Numeric libraries (NumPy's BLAS, PyTorch's OpenMP) on one thread, read when they are first
    imported, after this: the time limit counts the CPU time of all the worker's threads, and a pool
    of threads spinning on other cores would count against the answer, more on a bigger machine."""
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = "1"


def serve(conn: Connection, ids: tuple[str, ...] = (), files: tuple[str, ...] = ()) -> None:
    """Prepare ``ids``, then answer requests until told to stop: ("judge", id, answer,
    hide_reference), or ("warm", ids) to prepare more problems.  ``files``: the course files of the
    parent's catalog (what crosses the process boundary: paths, not problems), read into this
    worker's own.  End silently when the other side has gone (a closed pipe is not an error here)."""
    _die_with_parent()
    _exit_with_the_checker()
    _one_thread()
    try:
        catalog = registry.default_catalog().adding_files(files)  # checked already by the parent
        with registry.using(catalog):
            warm(ids)
            _serve(conn)
    except (BrokenPipeError, EOFError, OSError, KeyboardInterrupt):
        return


def _serve(conn: Connection) -> None:
    conn.send("ready")
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        if task[0] == "warm":
            warm(task[1])
            conn.send("ready")
            continue
        _, problem_id, answer, hide = task

        def partial(v, conn=conn) -> None:
            conn.send(("partial", v.to_json(reference_apart=True)))

        verdict = judge(problem_id, answer, hide_reference=hide, report=partial)
        conn.send(("final", verdict.to_json(reference_apart=True)))


if in_forkserver():  # it must not outlive the checker while it preloads or idles
    _die_with_parent()

"""A hard per-answer limit of CPU time: answers are judged in preloaded worker processes.

SymPy can hang on hostile input (a power tower, a sum with a billion terms), and
SIGALRM cannot interrupt it off the main thread.  So each answer goes to a worker
process; if it has used more than the limit of CPU time, the worker is killed and replaced
and the answer gets its own verdict, ``timeout``.  CPU time, not wall time: on a loaded machine
an answer waits longer for a core but needs no more CPU, so a regrade gives the same verdict.
The parent reads the worker's CPU time from /proc (Linux: the kernel's count, which the worker
cannot withhold even deep in a C call holding the GIL).  Where there is no /proc the limit is wall
time.  A generous wall-clock backstop ends a worker that is blocked rather than computing.
Workers are forked from a forkserver that has already imported SymPy and the checker
(worker.py), so a replacement costs milliseconds, not a fresh interpreter.  Each worker
prepares the problems the pool has been asked about before it takes an answer, outside the
answer's time limit: a fresh worker those named at the start, and any id met later is
prepared on every worker that has not seen it before its first answer is timed.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from dlverify.checking.forkserver import flagged
from dlverify.checking.verdict import Verdict

if TYPE_CHECKING:
    from dlverify.registry import Catalog

DEFAULT_TIMEOUT = 2.0  # seconds of CPU time per answer
STARTUP_TIMEOUT = 120.0
POLL_INTERVAL = 0.25  # how often the worker's CPU time is read while it judges


def wall_backstop(timeout: float) -> float:
    """The wall-clock limit on one answer whose CPU limit is ``timeout``: far above any slowdown by
    load (10×, at least 30 s more), so that it only ends a worker that is stopped or starved."""
    return max(10 * timeout, timeout + 30)


def _clock_ticks() -> int:
    try:
        return os.sysconf("SC_CLK_TCK")
    except (AttributeError, ValueError, OSError):
        return 100


_TICKS = _clock_ticks()


def cpu_seconds(pid: int) -> float | None:
    """The CPU time (user + system, all threads) process ``pid`` has used, from /proc/PID/stat;
    None where it cannot be read (no /proc, or the process is gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            raw = stat.read()
    except OSError:
        return None
    # proc(5): "pid (comm) state …"; comm may hold spaces or ")", so split after the last ")".
    # utime and stime are fields 14 and 15, the 12th and 13th after it.
    fields = raw.rpartition(b")")[2].split()
    try:
        return (int(fields[11]) + int(fields[12])) / _TICKS
    except (IndexError, ValueError):
        return None


def _context() -> multiprocessing.context.BaseContext:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["dlverify.checking.worker"])
    return ctx


def _serve(conn: Any, ids: tuple[str, ...], files: tuple[str, ...]) -> None:
    # Imported in the worker, where the forkserver has preloaded it: the parent needs none of it.
    from dlverify.checking.worker import serve

    serve(conn, ids, files)


_MAIN_LOCK = threading.Lock()


@contextlib.contextmanager
def _main_not_reimported() -> Iterator[None]:
    """Start a worker without making it re-import the caller's script: multiprocessing runs the main
    module's top level again in each child unless it is guarded by ``if __name__ == "__main__"``,
    which a short script or a notebook calling ``check()`` does not have.  The workers need only
    dlverify, so the main module's path is hidden while they start."""
    main = sys.modules.get("__main__")
    saved = {k: getattr(main, k) for k in ("__file__", "__spec__") if main is not None and hasattr(main, k)}
    with _MAIN_LOCK:
        try:
            if "__file__" in saved:
                del main.__file__
            if "__spec__" in saved:
                main.__spec__ = None  # multiprocessing reads it; None means "not a module"
            yield
        finally:
            for k, v in saved.items():
                setattr(main, k, v)


class _Worker:
    def __init__(self, ctx: multiprocessing.context.BaseContext, ids: tuple[str, ...], files: tuple[str, ...]) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child, ids, files), daemon=True)
        self.warmed = set(ids)
        with _main_not_reimported(), flagged():  # a (re)started forkserver knows it is one
            self.process.start()
        child.close()
        self._wait_ready("a checker worker did not start")

    def _wait_ready(self, failure: str) -> None:
        try:
            ready = self.conn.poll(STARTUP_TIMEOUT) and self.conn.recv() == "ready"
        except (EOFError, OSError):
            ready = False
        if not ready:
            self.kill()
            raise RuntimeError(failure)

    def warm(self, problem_id: str) -> None:
        """Prepare one more problem, untimed by the answer's limit (see the module's docstring)."""
        if problem_id in self.warmed:
            return
        self.conn.send(("warm", (problem_id,)))
        self._wait_ready(f"a checker worker failed while preparing {problem_id}")
        self.warmed.add(problem_id)

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.conn.close()


ANSWER_TYPES = (str, int, float, bool, list, dict)


def _answer_problem(answer: Any, depth: int = 0) -> str | None:
    """Why a value cannot be an answer (None if it can): TOML's values only, so it can be sent."""
    if not isinstance(answer, ANSWER_TYPES) or depth > 4:
        return f"an answer is text, a number, a list or a table, not {type(answer).__name__}"
    children = answer.values() if isinstance(answer, dict) else answer if isinstance(answer, list) else ()
    keys = [k for k in answer if not isinstance(k, str)] if isinstance(answer, dict) else []
    if keys:
        return "a table's keys are text"
    return next((p for p in (_answer_problem(c, depth + 1) for c in children) if p), None)


class Interrupted(Exception):
    """Ctrl-C during ``map``: the verdicts reached so far, None where an answer was not judged."""

    def __init__(self, verdicts: list[Verdict | None]) -> None:
        super().__init__(f"interrupted after {sum(v is not None for v in verdicts)} of {len(verdicts)} answers")
        self.verdicts = verdicts


class CheckerPool:
    """Judge answers under a hard limit of CPU time in ``workers`` parallel processes."""

    def __init__(
        self,
        workers: int = 1,
        timeout: float = DEFAULT_TIMEOUT,
        ids: Iterable[str] = (),
        catalog: Catalog | None = None,
        wall_limit: float | None = None,
    ) -> None:
        """``timeout``: seconds of CPU time per answer; ``ids``: the problems the answers will be
        about, prepared by each worker as it starts (others are prepared when first met);
        ``catalog``: what the answers are judged against, default the current one (registry.py) —
        each worker builds its own from the same modules and course files (problems added by code
        stay in this process); ``wall_limit``: the wall-clock backstop per answer, default
        ``wall_backstop(timeout)``."""
        from dlverify import registry

        self.timeout = timeout
        self.wall_limit = wall_backstop(timeout) if wall_limit is None else wall_limit
        self._ctx = _context()
        self._ids = dict.fromkeys(str(i) for i in ids)
        self._files = tuple(str(f) for f in (registry.current() if catalog is None else catalog).course_files)
        self._idle: list[_Worker] = [_Worker(self._ctx, tuple(self._ids), self._files) for _ in range(max(1, workers))]
        self._lock = threading.Lock()
        self._available = threading.Semaphore(len(self._idle))
        self.size = len(self._idle)
        self.replaced = 0

    def check(self, problem_id: Any, answer: Any, hide_reference: bool = False) -> Verdict:
        wrong = _answer_problem(answer)
        if wrong:
            return Verdict(str(problem_id), "unparsed", wrong)
        with self._available:
            with self._lock:
                worker = self._idle.pop()
            try:
                if isinstance(problem_id, str) and problem_id not in worker.warmed:
                    with self._lock:
                        self._ids[problem_id] = None
                    worker = self._prepared(worker, problem_id)
                verdict, worker = self._run(worker, problem_id, answer, hide_reference)
            finally:
                with self._lock:
                    self._idle.append(worker)
            return verdict

    def map(self, tasks: Iterable[tuple[Any, Any, bool]], progress=None) -> list[Verdict]:
        """Judge many (id, answer, hide_reference) tasks in parallel, results in order.  On Ctrl-C the
        answers not started are dropped, the ones running finish (within the time limit), and
        Interrupted carries what was judged."""
        tasks = list(tasks)
        ex = ThreadPoolExecutor(self.size)
        futures = [ex.submit(self.check, *t) for t in tasks]
        results: list[Verdict] = []
        try:
            for f in futures:
                results.append(f.result())
                if progress is not None:
                    progress()
        except KeyboardInterrupt:
            ex.shutdown(wait=True, cancel_futures=True)
            done = [f.result() if f.done() and not f.cancelled() and f.exception() is None else None for f in futures]
            raise Interrupted(done) from None
        ex.shutdown(wait=True)
        return results

    def _prepared(self, worker: _Worker, problem_id: str) -> _Worker:
        try:
            worker.warm(problem_id)
        except (RuntimeError, OSError, ValueError):  # it died preparing: a fresh one prepares every id
            worker = self._replace(worker)
        return worker

    def _run(self, worker: _Worker, problem_id: Any, answer: Any, hide: bool) -> tuple[Verdict, _Worker]:
        """One answer on one worker; a worker that dies is replaced and the answer retried once on a
        fresh one, so a killed worker costs no mark — only a repeated crash is a verdict (``error``)."""
        label = str(problem_id)
        for attempt in (1, 2):
            start = cpu_seconds(worker.process.pid)  # read while the worker idles: only the answer is counted
            try:
                worker.conn.send(("judge", problem_id, answer, hide))
            except (OSError, ValueError):  # the worker died earlier: replace it and send again
                worker = self._replace(worker)
                start = cpu_seconds(worker.process.pid)
                worker.conn.send(("judge", problem_id, answer, hide))
            begun = time.monotonic()
            partial: Verdict | None = None
            try:
                while True:
                    used, wall = self._used(worker, start, begun)
                    if used >= self.timeout or wall >= self.wall_limit:
                        break
                    # single-threaded, the worker cannot use more CPU than the wall time waited
                    wait = min(self.timeout - used, self.wall_limit - wall, POLL_INTERVAL)
                    if not worker.conn.poll(max(wait, 0.001)):
                        continue
                    kind, data = worker.conn.recv()
                    verdict = Verdict.from_json(data)
                    if kind == "final":
                        return verdict, worker
                    partial = verdict
            except (EOFError, OSError):  # the worker crashed (killed, out of memory): a fresh one retries
                worker = self._replace(worker)
                if attempt == 1:
                    continue
                return Verdict(
                    label, "error", "the checker's worker crashed twice on this answer; please report it"
                ), worker
            worker = self._replace(worker)  # over the limit: the worker may be stuck in SymPy
            if partial is not None:
                return partial, worker
            return self._over_time(label, start is not None, used, wall), worker
        raise AssertionError("unreachable")

    def _used(self, worker: _Worker, start: float | None, begun: float) -> tuple[float, float]:
        """(CPU seconds the worker has used on this answer, wall seconds since it was sent); without
        /proc (``start`` None) the wall time stands for both."""
        wall = time.monotonic() - begun
        if start is None:
            return wall, wall
        now = cpu_seconds(worker.process.pid)
        return (0.0 if now is None else now - start), wall  # None: the worker has just ended, as its pipe will say

    def _over_time(self, label: str, measured: bool, used: float, wall: float) -> Verdict:
        """The verdict on an answer stopped at a limit: ``timeout`` for the CPU limit (or the wall-clock
        one where CPU time is not ``measured``), ``error`` for the backstop."""
        if measured and used < self.timeout:  # the backstop: a stopped or starved worker, not the answer
            message = (
                f"the checker's worker used {used:.1f} s of CPU time in {wall:.0f} s and was stopped"
                " (the machine is overloaded, or the worker was suspended); check this answer again"
            )
            return Verdict(label, "error", message)
        clock = "CPU time" if measured else "wall-clock time (this system has no /proc to measure CPU time)"
        message = (
            f"could not be evaluated within {self.timeout:g} s of {clock}: the answer is too expensive to"
            " evaluate (a huge power, sum or number); not judged, so not known to be wrong — simplify it"
        )
        return Verdict(label, "timeout", message)

    def _replace(self, worker: _Worker) -> _Worker:
        worker.kill()
        self.replaced += 1
        with self._lock:
            ids = tuple(self._ids)
        return _Worker(self._ctx, ids, self._files)

    def close(self) -> None:
        with self._lock:
            for w in self._idle:
                try:
                    w.conn.send(None)
                except (OSError, ValueError):
                    pass
                w.kill()
            self._idle.clear()

    def __enter__(self) -> CheckerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_shared: CheckerPool | None = None


def shared_pool() -> CheckerPool:
    global _shared
    if _shared is None:
        _shared = CheckerPool(1)
        atexit.register(_shared.close)
    return _shared

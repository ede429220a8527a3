"""A hard per-answer time limit: answers are judged in preloaded worker processes.

SymPy can hang on hostile input (a power tower, a sum with a billion terms), and
SIGALRM cannot interrupt it off the main thread.  So each answer goes to a worker
process; if it has not answered within the limit, the worker is killed and replaced.
Workers are forked from a forkserver that has already imported SymPy and derived every
problem (worker.py), so a replacement costs milliseconds, not a fresh interpreter.
"""

from __future__ import annotations

import atexit
import multiprocessing
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from dlverify.checking.verdict import Verdict

DEFAULT_TIMEOUT = 2.0
STARTUP_TIMEOUT = 120.0


def _context() -> multiprocessing.context.BaseContext:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["dlverify.checking.worker"])
    return ctx


def _serve(conn: Any) -> None:
    # Imported in the worker, where the forkserver has preloaded it: importing it here, in the
    # parent, would derive every problem a second time before the first answer is judged.
    from dlverify.checking.worker import serve

    serve(conn)


class _Worker:
    def __init__(self, ctx: multiprocessing.context.BaseContext) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child,), daemon=True)
        self.process.start()
        child.close()
        if not self.conn.poll(STARTUP_TIMEOUT) or self.conn.recv() != "ready":
            self.kill()
            raise RuntimeError("a checker worker did not start")

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.conn.close()


class CheckerPool:
    """Judge answers under a hard time limit in ``workers`` parallel processes."""

    def __init__(self, workers: int = 1, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.timeout = timeout
        self._ctx = _context()
        self._idle: list[_Worker] = [_Worker(self._ctx) for _ in range(max(1, workers))]
        self._lock = threading.Lock()
        self._available = threading.Semaphore(len(self._idle))
        self.size = len(self._idle)
        self.replaced = 0

    def check(self, problem_id: Any, answer: Any, hide_reference: bool = False) -> Verdict:
        with self._available:
            with self._lock:
                worker = self._idle.pop()
            try:
                verdict, worker = self._run(worker, problem_id, answer, hide_reference)
            finally:
                with self._lock:
                    self._idle.append(worker)
            return verdict

    def map(self, tasks: Iterable[tuple[Any, Any, bool]], progress=None) -> list[Verdict]:
        """Judge many (id, answer, hide_reference) tasks in parallel, results in order."""
        tasks = list(tasks)
        with ThreadPoolExecutor(self.size) as ex:
            futures = [ex.submit(self.check, *t) for t in tasks]
            results = []
            for f in futures:
                results.append(f.result())
                if progress is not None:
                    progress()
        return results

    def _run(self, worker: _Worker, problem_id: Any, answer: Any, hide: bool) -> tuple[Verdict, _Worker]:
        label = str(problem_id)
        try:
            worker.conn.send((problem_id, answer, hide))
        except (OSError, ValueError):  # the worker died earlier: replace it and retry once
            worker = self._replace(worker)
            worker.conn.send((problem_id, answer, hide))
        deadline = time.monotonic() + self.timeout
        partial: Verdict | None = None
        while True:
            remaining = deadline - time.monotonic()
            try:
                ready = remaining > 0 and worker.conn.poll(remaining)
                if ready:
                    kind, data = worker.conn.recv()
                    verdict = Verdict.from_json(data)
                    if kind == "final":
                        return verdict, worker
                    partial = verdict
                    continue
            except (EOFError, OSError):  # the worker crashed (out of memory, say)
                return Verdict(label, "incorrect", "the checker's worker crashed on this answer"), self._replace(worker)
            worker = self._replace(worker)
            if partial is not None:
                return partial, worker
            message = f"could not be checked within {self.timeout:g} s (the answer is too expensive to evaluate)"
            return Verdict(label, "incorrect", message), worker

    def _replace(self, worker: _Worker) -> _Worker:
        worker.kill()
        self.replaced += 1
        return _Worker(self._ctx)

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

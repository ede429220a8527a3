"""Reader processes: the preview of an answer (preview.py) computed under a limit of CPU time.

The preview parses and resolves the student's text with SymPy, which a hostile answer can keep
busy; so, as answers are judged (checking/pool.py), each preview runs in a worker process forked
from the checker's forkserver, and a worker that has used more than the limit of CPU time on one
answer is killed and replaced.  The parent reads the worker's CPU time from /proc with the pool's
own ``cpu_seconds``, so a loaded machine does not change what is refused.
"""

from __future__ import annotations

import threading
import time
from multiprocessing.connection import Connection
from typing import Any

from dlverify.checking import pool as checker_pool
from dlverify.checking.forkserver import flagged

DEFAULT_TIMEOUT = 2.0  # seconds of CPU time per preview, as for a check
STARTUP_TIMEOUT = 120.0


def _serve(conn: Connection, files: tuple[str, ...]) -> None:
    """A reader's loop: ("read", id, answer, hide) → the preview; None ends it."""
    from dlverify import registry
    from dlverify.checking.worker import _die_with_parent, _exit_with_the_checker
    from dlverify.serve.preview import read

    # as a checker's worker: end with the server, even while deep in a SymPy computation
    _die_with_parent()
    _exit_with_the_checker()
    try:
        with registry.using(registry.default_catalog().adding_files(files)):
            conn.send("ready")
            while True:
                task = conn.recv()
                if task is None:
                    return
                _, problem_id, answer, hide = task
                try:
                    problem = registry.problems()[problem_id]
                    conn.send(("ok", read(problem, answer, hide)))
                except Exception as exc:  # noqa: BLE001 - a preview that fails says so; the check still judges
                    conn.send(("failed", f"the preview failed ({type(exc).__name__})"))
    except (EOFError, OSError, KeyboardInterrupt):
        return


class _Reader:
    def __init__(self, files: tuple[str, ...]) -> None:
        ctx = checker_pool._context()  # the checker's forkserver: SymPy is loaded there already
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child, files), daemon=True)
        with checker_pool._main_not_reimported(), flagged():
            self.process.start()
        child.close()
        if not (self.conn.poll(STARTUP_TIMEOUT) and self.conn.recv() == "ready"):
            self.kill()
            raise RuntimeError("a reader process did not start")

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.conn.close()


class ReaderPool:
    """Previews of answers in ``workers`` processes, each preview under ``timeout`` seconds of CPU time."""

    def __init__(self, workers: int = 1, timeout: float = DEFAULT_TIMEOUT, files: tuple[str, ...] = ()) -> None:
        self.timeout = timeout
        self.wall_limit = checker_pool.wall_backstop(timeout)
        self.files = tuple(files)
        self._idle = [_Reader(self.files) for _ in range(max(1, workers))]
        self._lock = threading.Lock()
        self._available = threading.Semaphore(len(self._idle))
        self.replaced = 0

    def read(self, problem_id: str, answer: Any, hide: bool) -> dict[str, Any]:
        """The preview, or ``{"failed": reason}`` when it could not be made within the limit."""
        with self._available:
            with self._lock:
                reader = self._idle.pop()
            try:
                result, reader = self._run(reader, problem_id, answer, hide)
            finally:
                with self._lock:
                    self._idle.append(reader)
        return result

    def _run(self, reader: _Reader, problem_id: str, answer: Any, hide: bool) -> tuple[dict[str, Any], _Reader]:
        start = checker_pool.cpu_seconds(reader.process.pid)
        try:
            reader.conn.send(("read", problem_id, answer, hide))
            begun = time.monotonic()
            while True:
                wall = time.monotonic() - begun
                now = checker_pool.cpu_seconds(reader.process.pid)
                used = wall if start is None or now is None else now - start
                if used >= self.timeout or wall >= self.wall_limit:
                    break
                if reader.conn.poll(min(checker_pool.POLL_INTERVAL, max(self.timeout - used, 0.001))):
                    status, data = reader.conn.recv()
                    return ({"failed": data} if status == "failed" else data), reader
        except (EOFError, OSError, ValueError):  # the reader died (killed, out of memory)
            return {"failed": "the preview's process ended; check the answer to judge it"}, self._replace(reader)
        reason = f"not read within {self.timeout:g} s of CPU time: the answer is too expensive to preview"
        return {"failed": reason}, self._replace(reader)

    def _replace(self, reader: _Reader) -> _Reader:
        reader.kill()
        self.replaced += 1
        return _Reader(self.files)

    def close(self) -> None:
        with self._lock:
            for reader in self._idle:
                try:
                    reader.conn.send(None)
                except (OSError, ValueError):
                    pass
                reader.kill()
            self._idle.clear()

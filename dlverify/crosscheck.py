"""Cross-check a derivation against its independent numeric oracle.

The SymPy result is evaluated at each case in 50-digit arithmetic (the drawn float64
inputs are exact binary fractions, so this is the exact value to far below float64
resolution); all the error measured is therefore the float64 oracle's.  Errors are
relative to the result's *magnitude*: the same expression evaluated at the absolute
values of the inputs.  For a sum of products with positive coefficients that is
Σ|terms|, the quantity that float64 rounding error is proportional to, so cancellation
in the exact value cannot cause a false failure, and a wrong formula still shows errors
of order one.

Determinism.  An item's cases are a function of its id and the number of cases alone: Hypothesis
is seeded from the id (``case_seed``), keeps no database, and draws no constants from whatever
source happens to be imported (``dlverify.strategies.source_independent_draws``), so an item
checked alone, after others, in a worker or here draws the same cases in every run.

Time.  ``cross_check_many`` gives each item at most ``time_limit`` seconds (``TIME_LIMIT`` unless
told): an alarm inside the check ends it with a failure that says so, and a worker that does not
answer within a grace period after that (stuck in C code) is killed and replaced.
"""

from __future__ import annotations

import hashlib
import math
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sympy as sp

from dlverify.evaluation import matrix_agreement, relative_error, scalar_value, substitute_definitions
from dlverify.problem import Case, Measurement, Problem

if TYPE_CHECKING:
    from dlverify.views import VerificationView


def agreement(problem: Problem, case: Case) -> list[Measurement]:
    """The derivation against the oracle at one case, entry by entry."""
    if problem.compare:
        return [m for check in problem.compare for m in check.measure(problem, case)]
    derivation = problem.derive()
    observed = problem.oracle(case)
    if derivation.is_choice:
        # a choice: the key must be among the options this case is consistent with; where several
        # are chosen, the oracle measures the right set itself, and the key must be that set
        consistent = frozenset(observed)
        ok = derivation.result == consistent if problem.answer.multiple else derivation.result <= consistent
        return [Measurement.holds(f"{problem.id} (key among {sorted(consistent)})", ok)]
    entries = derivation.entries()
    if problem.axes:
        return [_indexed_agreement(problem, derivation, case, observed, problem.tolerance(case))]
    if not isinstance(observed, Mapping):
        observed = {"": observed}
    tol = problem.tolerance(case)
    out = []
    defined = {derivation.symbols[n]: v for n, v in derivation.definitions.items() if n in derivation.symbols}
    for name, expr in entries.items():
        label = f"{problem.id}[{name}]" if name else problem.id
        if isinstance(expr, sp.MatrixExpr):
            expr = substitute_definitions(expr, defined)  # g_{V_5} → −D → V_5 − Y → …: in the inputs
            out.append(matrix_agreement(label, expr, derivation.symbols, case, observed[name], tol))
            continue
        if isinstance(expr, sp.Tuple):  # a shape: every axis exactly
            axes = tuple(int(scalar_value(a, derivation.symbols, case)) for a in expr)
            got = tuple(int(a) for a in observed[name])
            out.append(Measurement.holds(f"{label} {got} vs {axes}", got == axes))
            continue
        exact = scalar_value(expr, derivation.symbols, case)
        magnitude = scalar_value(expr, derivation.symbols, case, absolute=True)
        value = float(observed[name])
        out.append(Measurement(label, relative_error(value, exact, magnitude), tol, exact, value, entry=name))
    return out


def _indexed_agreement(problem: Problem, derivation, case: Case, observed, tol: float) -> Measurement:
    """The element formula at every entry of the oracle's tensor, axis by axis."""
    import itertools

    import numpy as np

    tensor = np.atleast_1d(np.asarray(observed, dtype=float))
    if len(problem.axes) != tensor.ndim:
        return Measurement(f"{problem.id} (tensor of shape {tensor.shape} for axes {problem.axes})", math.inf, tol)
    expr = derivation.result
    worst = 0.0
    scale = max(1.0, float(np.abs(tensor).max(initial=0.0)))
    for index in itertools.product(*(range(size) for size in tensor.shape)):
        at = dict(case)
        for axis, i in zip(problem.axes, index, strict=True):
            if axis.isdigit():
                if int(axis) != i + 1:
                    return Measurement(f"{problem.id} (axis fixed at {axis} has {i + 1})", math.inf, tol)
            else:
                at[axis] = i + 1
        value = scalar_value(expr, derivation.symbols, at)
        worst = max(worst, abs(value - float(tensor[index])) / scale)
    return Measurement(f"{problem.id} (every entry of {tensor.shape})", worst, tol)


def measure(problem: Problem, case: Case) -> list[Measurement]:
    """Every numeric check of the problem at one case."""
    found = agreement(problem, case)
    for prop in problem.properties:
        found.extend(prop.measure(case))
    return found


@dataclass
class CrossCheck:
    """What a run of the numeric cross-check found."""

    problem: Problem
    cases: int = 0
    max_error: float = 0.0
    max_tolerance: float = 0.0
    worst_ratio: float = 0.0
    size_ranges: dict[str, tuple[int, int]] = field(default_factory=dict)
    failure: str | None = None
    failing_case: Case | None = None
    samples: list[tuple[Case, list[Measurement]]] = field(default_factory=list)
    recorded: bool = False  # from an experiment's stored results, not run now
    samples_all: list[Measurement] = field(default_factory=list)
    measured: list[Measurement] = field(default_factory=list)  # the last case's measurements
    exact: bool = True  # every comparison so far was exact (yes/no), none within a tolerance
    timed_out: bool = False  # ended by the time limit: says nothing of the code, so never recorded

    SAMPLE_AT = (37, 53, 71, 97)  # which cases to keep for a report's table: spread, fixed

    @property
    def passed(self) -> bool:
        return self.failure is None and self.cases > 0

    def _repr_latex_(self) -> str:
        from dlverify.notation import text

        return r"\text{" + text(f"{self.problem.id}: {self.summary()}") + "}"

    def summary(self) -> str:
        """One sentence: what was checked against what, and how closely."""
        return self.view().sentence()

    def view(self) -> VerificationView:
        """What this check found, as the renderings read it (dlverify/views.py)."""
        from dlverify.views import CaseRow, VerificationView

        p = self.problem

        def entry(m: Measurement) -> str:
            if m.entry is not None:
                return m.entry
            return "" if m.check == p.id else m.check  # a claim names each check

        return VerificationView(
            item=p.id,
            oracle=p.oracle_name,
            passed=self.passed,
            cases=self.cases,
            sizes=self.sizes_text(),
            exact=self.exact,
            max_error=self.max_error,
            max_tolerance=self.max_tolerance,
            tolerance_note=p.tolerance_note,
            error_cells=self.error_text(),
            argument_only=p.argument_only,
            failure=self.failure,
            failing_case=self.failing_case,
            measured=tuple(m.check for m in self.measured),
            rows=tuple(
                CaseRow(case, entry(m), m.reference, m.oracle, m.error) for case, found in self.samples for m in found
            ),
            recorded=self.recorded,
            recorded_checks=tuple(m.check for m in self.samples_all),
            recorded_by=p.recorded_by,
        )

    def error_text(self) -> tuple[str, str]:
        """The table's "max rel err" and "tolerance" cells: "exact" for yes/no comparisons."""
        if self.problem.argument_only:
            return "-", "-"
        if self.exact and self.cases:
            return ("0" if self.max_error == 0 else "1", "exact")
        return f"{self.max_error:.2e}", f"{self.max_tolerance:.2e}"

    def sizes_text(self) -> str:
        if not self.size_ranges:
            return self.problem.fixed_sizes or "-"
        return ", ".join(f"{k}∈[{lo},{hi}]" if lo != hi else f"{k}={lo}" for k, (lo, hi) in self.size_ranges.items())

    def record(self, case: Case, found: list[Measurement]) -> None:
        if self.cases in self.SAMPLE_AT:
            self.samples.append((dict(case), [m for m in found if m.reference is not None]))
        if self.recorded:
            self.samples_all = list(found)
        self.measured = list(found)
        self.cases += 1
        for k in self.problem.sizes:
            lo, hi = self.size_ranges.get(k, (case[k], case[k]))
            self.size_ranges[k] = (min(lo, case[k]), max(hi, case[k]))
        for m in found:
            self.exact &= m.exact
            self.max_error = max(self.max_error, m.error)
            self.max_tolerance = max(self.max_tolerance, m.tolerance)
            self.worst_ratio = max(self.worst_ratio, m.error / m.tolerance)


class _Disagreement(AssertionError):
    pass


TIME_LIMIT = 600.0  # seconds per item by default: all of the catalog takes about 2 minutes on 2 busy cores
KILL_GRACE = 10.0  # seconds past the limit before a worker that ignores the alarm is killed


class TimeLimitReached(BaseException):
    """The check's time is up.  Not an Exception: Hypothesis must not take it for a failing case
    and replay it while shrinking; it ends the run at once."""


def limit_text(seconds: float, cases: int | None = None) -> str:
    done = "" if cases is None else f", after {cases} cases"
    return f"no verdict within the time limit of {seconds:g} s per item{done} (dlverify verify --time-limit S)"


@contextmanager
def _alarm(seconds: float | None) -> Iterator[None]:
    """Raise TimeLimitReached in this thread after ``seconds`` (where POSIX timers serve the main thread)."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if seconds is None or not usable:
        yield
        return

    def ring(signum: int, frame: object) -> None:
        raise TimeLimitReached

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def case_seed(problem_id: str) -> int:
    """The item's Hypothesis seed: a stable hash of its id (``hash`` varies with PYTHONHASHSEED)."""
    return int.from_bytes(hashlib.sha256(problem_id.encode()).digest()[:8], "big")


def cross_check(
    problem: Problem,
    examples: int = 100,
    derandomize: bool = True,
    shrink: bool = True,
    time_limit: float | None = None,
) -> CrossCheck:
    """Draw ``examples`` cases from the problem's strategy and check every property.

    Hypothesis drives the draws, so a failure is shrunk to a small counterexample,
    which is reported in ``failing_case`` (``shrink=False``: the first failing case as drawn).
    ``derandomize``: the cases are a function of the id and ``examples`` alone (``case_seed``);
    False draws fresh ones.  ``time_limit``: seconds, after which the check ends as a failure
    that says so (``timed_out``).
    """
    import random

    from hypothesis import HealthCheck, Phase, given, seed, settings

    from dlverify.strategies import source_independent_draws

    result = CrossCheck(problem)
    last: list[Case] = []

    @seed(case_seed(problem.id) if derandomize else random.SystemRandom().getrandbits(64))
    @settings(
        max_examples=examples,
        derandomize=False,  # the seed decides; derandomize would seed from this function's source, shared by all
        database=None,
        deadline=None,
        # no explain phase (a traced replay of a failure): it only costs time here
        phases=(Phase.explicit, Phase.generate, Phase.shrink) if shrink else (Phase.explicit, Phase.generate),
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    @given(problem.cases())
    def run(case: dict[str, Any]) -> None:
        last[:] = [case]
        found = measure(problem, case)
        bad = [m for m in found if not m.ok]
        if bad:
            raise _Disagreement("; ".join(f"{m.check}: error {m.error:.3g} > tolerance {m.tolerance:.3g}" for m in bad))
        result.record(case, found)

    try:
        with _alarm(time_limit), source_independent_draws():
            run()
    except TimeLimitReached:
        result.failure = limit_text(time_limit or 0.0, result.cases)
        result.failing_case = last[0] if last else None
        result.timed_out = True
    except _Disagreement as exc:
        result.failure = str(exc)
        result.failing_case = last[0] if last else None
    except Exception as exc:  # an oracle or derivation that crashes is a failure, reported
        result.failure = f"{type(exc).__name__}: {exc}"
        result.failing_case = last[0] if last else None
    return result


def _record_file(problem: Problem):
    """Where the problem's record is kept, and the description module it depends on (hashed into
    the record, see dlverify/cache.py); None if it is never recorded."""
    from dlverify import cache, registry

    if registry.problems().get(problem.id) is not problem:  # a perturbed copy: never recorded
        return None
    source = registry.source_module(problem.id)
    if not source:  # a course file's: not recorded
        return None
    path = cache.record_path(problem.id)
    return (path, (source,)) if path is not None else None


def stored_check(problem: Problem, at_least: int = 1) -> CrossCheck | None:
    """The latest cross-check of this problem by this very code (see dlverify/cache.py), if it ran
    at least ``at_least`` cases; None if there is none."""
    from dlverify import cache

    place = _record_file(problem)
    found, fields = cache.load(*place) if place is not None else (False, None)
    if not found or not isinstance(fields, dict):
        return None
    try:
        check = CrossCheck(problem, **fields)
    except TypeError:
        return None
    return check if check.cases >= at_least else None


def store_check(check: CrossCheck) -> None:
    """Keep a cross-check for ``stored_check``: a passing record of fewer cases never replaces one
    of more; a failure always replaces a pass."""
    from dlverify import cache

    place = _record_file(check.problem)
    if place is None:
        return
    old = stored_check(check.problem)
    if old is None or check.cases >= old.cases or not check.passed or not old.passed:
        path, modules = place
        cache.store(path, _fields(check), modules)


def _fields(check: CrossCheck) -> dict:
    return {k: v for k, v in vars(check).items() if k != "problem"}


def _check_fields(job: tuple[str, int, float | None]) -> tuple[str, dict]:
    """One cross-check, in a worker process: its fields, without the (unpicklable) problem."""
    from dlverify import registry

    pid, examples, time_limit = job
    check = cross_check(registry.get(pid), examples, time_limit=time_limit)
    if not check.timed_out:
        store_check(check)
    return pid, _fields(check)


def _serve(conn: Any) -> None:
    """A worker: check the ids it is sent, one at a time, until told to stop (None).  After a time
    limit it answers and exits, since the alarm may have cut through any library's bookkeeping."""
    try:
        import torch

        torch.set_num_threads(1)  # one process per core already
    except ImportError:
        pass
    while (job := conn.recv()) is not None:
        pid, found = _check_fields(job)
        conn.send((pid, found))
        if found.get("timed_out"):
            return


def _run_in_workers(jobs: list[tuple[str, int, float | None]], workers: int, done: Callable[[str, dict], None]) -> None:
    """Each job in one of ``workers`` forked processes (they share what is already imported and keep
    what they import); ``done(id, fields)`` as each ends.  A worker that is still busy KILL_GRACE
    seconds past its job's time limit is killed (a C extension that never returns to Python) and
    replaced; one that dies is reported as the job's failure."""
    import multiprocessing
    from multiprocessing.connection import wait

    context = multiprocessing.get_context("fork")
    pending = list(reversed(jobs))
    idle: list[tuple[Any, Any]] = []
    busy: dict[Any, tuple[Any, tuple[str, int, float | None], float]] = {}

    def start() -> tuple[Any, Any]:
        mine, theirs = context.Pipe()
        process = context.Process(target=_serve, args=(theirs,), daemon=True)
        process.start()
        theirs.close()
        return mine, process

    def retire(conn: Any, process: Any) -> None:
        conn.close()
        process.kill()
        process.join()

    try:
        while pending or busy:
            while pending and len(busy) < workers:
                conn, process = idle.pop() if idle else start()
                job = pending.pop()
                conn.send(job)
                busy[conn] = (process, job, time.monotonic())
            deadlines = [began + limit + KILL_GRACE for _, (_, _, limit), began in busy.values() if limit is not None]
            wait_for = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
            for conn in wait(list(busy), wait_for):
                process, job, _ = busy.pop(conn)
                try:
                    pid, found = conn.recv()
                except (EOFError, OSError):  # the worker died (out of memory, a crash in C)
                    retire(conn, process)
                    done(job[0], {"failure": f"its process ended without a verdict (exit code {process.exitcode})"})
                    continue
                if found.get("timed_out"):
                    retire(conn, process)
                else:
                    idle.append((conn, process))
                done(pid, found)
            now = time.monotonic()
            for conn, (process, job, began) in list(busy.items()):
                limit = job[2]
                if limit is not None and now > began + limit + KILL_GRACE:
                    del busy[conn]
                    retire(conn, process)
                    done(job[0], {"failure": limit_text(limit), "timed_out": True})
    finally:
        for conn, process in idle:
            try:
                conn.send(None)
            except OSError:
                pass
            conn.close()
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join()
        for conn, (process, _, _) in busy.items():  # interrupted: nothing to wait for
            retire(conn, process)


def cross_check_many(
    problems: list[Problem],
    examples: int = 100,
    progress: Callable[[str], None] | None = None,
    time_limit: float | None = TIME_LIMIT,
) -> list[CrossCheck]:
    """``cross_check`` of each problem, on every core (fork: the workers share what is already
    imported), each within ``time_limit`` seconds (None: no limit).  Each check's cases depend on
    its id alone, so the result does not depend on which worker ran it, or after what.
    ``progress`` is called with each id as its check ends.  Problems not in the registry (a
    perturbed copy in a test) are checked here, in this process."""
    import multiprocessing
    import os

    from dlverify import registry

    known = registry.problems()
    shared = [p for p in problems if known.get(p.id) is p]
    fields: dict[str, dict] = {}
    if shared and "fork" in multiprocessing.get_all_start_methods():
        # in workers even for one item: only a separate process can be stopped whatever it is doing

        def done(pid: str, found: dict) -> None:
            fields[pid] = found
            if progress:
                progress(pid)

        workers = max(1, min(os.cpu_count() or 1, len(shared)))
        _run_in_workers([(p.id, examples, time_limit) for p in shared], workers, done)
    out = []
    for p in problems:
        if p.id in fields and known.get(p.id) is p:
            out.append(CrossCheck(p, **fields[p.id]))
            continue
        out.append(cross_check(p, examples, time_limit=time_limit))
        if not out[-1].timed_out:
            store_check(out[-1])
        if progress:
            progress(p.id)
    return out

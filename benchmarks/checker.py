"""Benchmark: the answer checker's speed, and its accuracy beside Hugging Face's math-verify.

Run:  python benchmarks/checker.py [--answers 1000]

Prints, measured in this one run:
  0. what a user waits for: `dlverify check` of one answer and `dlverify show`, each a fresh
     process, with the derivation cache cold (a new folder) and then warm;
  1. warm per-answer time (median, 90th percentile) through the worker pool, by kind;
  2. the time to grade N distinct answers on all cores (pool.map);
  3. accuracy on the labelled pairs in benchmarks/data/labelled_scalar.toml, for
     dlverify and for math-verify (if installed: pip install "math-verify[antlr4_13_2]"),
     with the ratio of their median times.
Not a test: nothing fails because the machine is slow.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LABELLED = ROOT / "benchmarks" / "data" / "labelled_scalar.toml"


def _pairs() -> list[dict]:
    return tomllib.loads(LABELLED.read_text(encoding="utf-8"))["pair"]


def _answers(n: int) -> list[tuple[str, str, bool]]:
    """N distinct answers: the labelled ones, each rewritten with a different zero term."""
    pairs = _pairs()
    out = []
    k = 0
    while len(out) < n:
        p = pairs[k % len(pairs)]
        shift = k // len(pairs)
        text = p["answer"] if shift == 0 else f"{p['answer']} + {shift} - {shift}"
        out.append((p["id"], text, False))
        k += 1
    return out


def _percentiles(times: list[float]) -> str:
    ordered = sorted(times)
    p90 = ordered[int(0.9 * (len(ordered) - 1))]
    return f"median {1000 * statistics.median(ordered):6.1f} ms, p90 {1000 * p90:6.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--answers", type=int, default=1000)
    args = parser.parse_args()

    from dlverify import registry
    from dlverify.checking.pool import CheckerPool

    pairs = _pairs()
    kinds = {p.id: p.kind for p in registry.problems().values()}
    print(f"machine: {os.cpu_count()} cores; labelled pairs: {len(pairs)}")
    _start_up()

    with CheckerPool(1, ids={p["id"] for p in pairs}) as pool:
        for p in pairs[:3]:  # warm the worker
            pool.check(p["id"], p["answer"])
        by_kind: dict[str, list[float]] = {}
        ours: list[tuple[bool, bool, float]] = []
        for p in pairs:
            start = time.perf_counter()
            verdict = pool.check(p["id"], p["answer"])
            elapsed = time.perf_counter() - start
            by_kind.setdefault(kinds[p["id"]], []).append(elapsed)
            ours.append((verdict.ok, p["equivalent"], elapsed))
    print("\n1. warm per-answer time, one worker (includes the process round trip)")
    for kind, times in by_kind.items():
        print(f"   {kind:<7} {_percentiles(times)}  ({len(times)} answers)")
    if "matrix" not in by_kind:
        _matrix_timing()

    tasks = _answers(args.answers)
    workers = os.cpu_count() or 1
    start = time.perf_counter()
    with CheckerPool(workers, ids={t[0] for t in tasks}) as pool:
        started = time.perf_counter()
        verdicts = pool.map(tasks)
    end = time.perf_counter()
    print(f"\n2. {len(tasks)} distinct answers on {workers} workers: {end - start:.1f} s in all")
    print(f"   ({started - start:.1f} s forking the workers, {end - started:.1f} s grading)")
    print(f"   verdicts: { {v: sum(x.verdict == v for x in verdicts) for v in {x.verdict for x in verdicts}} }")

    print("\n3. accuracy on the labelled pairs")
    right = sum(got == want for got, want, _ in ours)
    ours_median = statistics.median(t for *_, t in ours)
    print(f"   dlverify     {right}/{len(ours)} right, median {1000 * ours_median:.1f} ms")
    try:
        from math_verify import parse, verify
    except ImportError:
        print('   math-verify  not installed (pip install "math-verify[antlr4_13_2]")')
        return
    theirs = []
    wrong = []
    for p in pairs:
        gold = _gold_latex(p["id"])
        start = time.perf_counter()
        try:
            ok = bool(verify(parse(f"${gold}$"), parse(f"${p['answer']}$")))
        except Exception:
            ok = False
        theirs.append((ok, p["equivalent"], time.perf_counter() - start))
        if ok != p["equivalent"]:
            wrong.append(p["answer"])
    right_theirs = sum(got == want for got, want, _ in theirs)
    theirs_median = statistics.median(t for *_, t in theirs)
    print(f"   math-verify  {right_theirs}/{len(theirs)} right, median {1000 * theirs_median:.1f} ms")
    print(f"   time ratio dlverify / math-verify (medians): {ours_median / theirs_median:.1f}")
    print("   math-verify misjudged:")
    for w in wrong:
        print(f"     {w}")


START_UP = {
    "expr": ("scalar_rnn.dy_dw", "3w^2 u_1 + 2 w u_2 + u_3"),
    "matrix": ("lae.grad_W1", "-(2/n) W_2^T (X - W_2 W_1 X) X^T"),
    "matrix (GRU)": ("gru.dh_dhprev", "I"),
}


def _timed(command: list[str], env: dict[str, str]) -> float:
    import subprocess

    start = time.perf_counter()
    subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def _start_up() -> None:
    """Fresh processes, as a student's edit loop runs them: cache cold, then warm."""
    import tempfile

    print("\n0. start-up: one answer checked, one problem shown, each a new process")
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "DLVERIFY_CACHE": str(Path(tmp) / "cache")}
        for label, (pid, answer) in START_UP.items():
            path = Path(tmp) / f"{pid}.toml"
            path.write_text(f"[\"{pid}\"]\nanswer = '{answer}'\n", encoding="utf-8")
            command = [sys.executable, "-m", "dlverify", "check", str(path)]
            cold, warm = _timed(command, env), _timed(command, env)
            print(f"   check {label:<13} cache cold {cold:5.2f} s, warm {warm:5.2f} s (ratio {cold / warm:4.1f})")
        command = [sys.executable, "-m", "dlverify", "show", "lae.grad_W1"]
        first, again = _timed(command, env), _timed(command, env)
        print(f"   show lae.grad_W1     no record {first:5.2f} s (5 cases run), with this code's record {again:5.2f} s")


def _matrix_timing() -> None:
    """The catalog's matrix items: each printed reference and three of its mutations, through the pool."""
    from dlverify import notation, registry
    from dlverify.checking.matrices import matrix_mutations
    from dlverify.checking.pool import CheckerPool

    answers = []
    for p in registry.problems().values():
        if p.kind == "matrix":
            ref = p.derive().result
            answers += [(p.id, notation.latex(ref))] + [
                (p.id, notation.latex(m.expr)) for m in matrix_mutations(ref)[:3]
            ]
    with CheckerPool(1, ids={pid for pid, _ in answers}) as pool:
        pool.check(*answers[0])
        times = []
        for pid, text in answers:
            start = time.perf_counter()
            pool.check(pid, text)
            times.append(time.perf_counter() - start)
    print(f"   matrix  {_percentiles(times)}  ({len(times)} answers to the catalog's matrix items)")


def _gold_latex(problem_id: str) -> str:
    import sympy as sp

    from dlverify import registry

    return sp.latex(registry.get(problem_id).derive().result)


if __name__ == "__main__":
    main()

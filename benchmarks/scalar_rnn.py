"""Benchmark: the general dy/dw of the scalar RNN against the naive symbolic route and autograd.

Run:  python benchmarks/scalar_rnn.py [--timeout SECONDS]

For each T it prints, measured in this one run:
  derive    — derive dy/dw for symbolic T (caches cleared), then substitute T;
  evaluate  — compile the substituted sum and evaluate it at one random input;
  autograd  — torch autograd through the unrolled recurrence on the same input;
  naive     — build the unrolled expression, differentiate it (nested, and expanded
              first), each in a fresh process under a time limit: a RecursionError or a
              time-out is printed as what happened, not hidden.
Ratios are to the autograd time of the same run.  This is not a test: nothing fails
because the machine is slow.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

NAIVE = """
import sys, time
import sympy as sp
T, mode = int(sys.argv[1]), sys.argv[2]
w = sp.Symbol("w", real=True)
u = sp.IndexedBase("u", real=True)
start = time.perf_counter()
h = sp.Integer(0)
for k in range(1, T + 1):
    h = w * (u[k] + h)
if mode == "expanded":
    h = sp.expand(h)
sp.diff(h, w)
print(time.perf_counter() - start)
"""


def _best(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _derive(length: int):
    from derivations import scalar_rnn as d

    for f in (d.forward, d.dy_dw, d.hidden_state_general, d.dy_dw_general):
        f.cache_clear()
    return d.dy_dw_general().result.subs(d.T, length)


def _naive(length: int, mode: str, timeout: float) -> str:
    try:
        done = subprocess.run(
            [sys.executable, "-c", NAIVE, str(length), mode], capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return f"> {timeout:.0f} s (stopped)"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["failed"])[-1]
        return last.split(":")[0] if "Error" in last else last
    return f"{float(done.stdout):.3f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timeout", type=float, default=60.0, help="limit for each naive run (seconds)")
    parser.add_argument("--lengths", type=int, nargs="+", default=[10, 100, 300, 1000])
    args = parser.parse_args()

    import random

    import sympy as sp
    import torch

    from derivations import scalar_rnn as d
    from numerics.scalar_rnn import dy_dw as autograd_dy_dw

    torch.set_num_threads(1)
    start = time.perf_counter()
    _derive(1000)
    print(f"first derivation in this process (SymPy's cache cold), T = 1000: {time.perf_counter() - start:.3f} s")
    rng = random.Random(0)
    header = f"{'T':>5}  {'derive':>9}  {'evaluate':>9}  {'autograd':>9}  {'derive/ag':>9}  {'eval/ag':>8}  "
    print(header + f"{'naive nested':>16}  {'naive expanded':>16}")
    for length in args.lengths:
        w = rng.uniform(-1.2, 1.2)
        u = [rng.uniform(-1, 1) for _ in range(length)]
        t_derive = _best(lambda length=length: _derive(length), repeat=3)
        substituted = _derive(length)

        def evaluate(substituted=substituted, u=u, w=w) -> float:
            fn = sp.lambdify([d.w, d.u], substituted, modules="math")
            return fn(w, [0.0, *u])  # the sum indexes u from 1

        t_eval = _best(evaluate)
        t_torch = _best(lambda u=u, w=w: autograd_dy_dw(w, u))
        value = evaluate()
        agree = abs(value - autograd_dy_dw(w, u)) / max(1.0, abs(value))
        nested = _naive(length, "nested", args.timeout)
        expanded = _naive(length, "expanded", args.timeout)
        print(
            f"{length:>5}  {t_derive:>8.3f}s  {t_eval:>8.4f}s  {t_torch:>8.4f}s  {t_derive / t_torch:>9.1f}  "
            f"{t_eval / t_torch:>8.2f}  {nested:>16}  {expanded:>16}   rel.diff={agree:.1e}"
        )


if __name__ == "__main__":
    main()

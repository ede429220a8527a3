"""Benchmark: the linear-autoencoder oracles.

Run:  python benchmarks/lae.py

Measured in this one run, on one data set (m = 6, k = 2, n = 40, chosen spectrum):
- L-BFGS (numerics.lae.fit) with torch limited to one thread, as it runs, against torch's
  default thread pool, which contends with SciPy's BLAS threads on small problems;
- how a fit's time and iterations grow with λ → 0 (the regularised optimum's conditioning);
- SymPy's entrywise derivation of ∂L_λ/∂W1 against SymPy's matrix derivative, which is
  faster and returns 0 (sympy issues 23492, 27406).
Not a test: nothing here fails because the machine is slow.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _timed(fn, repeat: int = 3) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def main() -> None:
    import sympy as sp
    import torch

    from dlverify.problems.lae import spectrum_case
    from numerics import lae

    case = spectrum_case(6, 2, 34, 5)
    X, k = case["X"], case["k"]
    top = float(lae.pca(X, k)["eigenvalues"][k - 1])

    one, run = _timed(lambda: lae.fit(X, k, 0.1 * top, seed=0))
    original = lae._one_thread
    lae._one_thread = lambda: __import__("contextlib").nullcontext()  # the pool as torch sets it up
    try:
        pool, _ = _timed(lambda: lae.fit(X, k, 0.1 * top, seed=0))
    finally:
        lae._one_thread = original
    print(
        f"L-BFGS fit, λ = 0.1σ_k²: one torch thread {one * 1e3:.1f} ms, default pool "
        f"({torch.get_num_threads()} threads) {pool * 1e3:.1f} ms; ratio {pool / one:.1f}"
    )

    for f in (0.9, 0.1, 0.01, 0.001):
        t, run = _timed(lambda f=f: lae.fit(X, k, f * top, seed=0))
        print(f"λ = {f:g}σ_k²: {t * 1e3:.1f} ms, {run['iterations']} iterations, final ‖∇‖ {run['grad_norm']:.1e}")

    from derivations import lae as d_lae

    lam = sp.Symbol("lambda", positive=True)
    R = d_lae.X - d_lae.W2 * d_lae.W1 * d_lae.X
    loss = sp.Trace(R.T * R) / d_lae.n + lam * sp.Trace(d_lae.W1.T * d_lae.W1) + lam * sp.Trace(d_lae.W2.T * d_lae.W2)
    naive_t, naive = _timed(lambda: sp.diff(loss, d_lae.W1), repeat=1)
    ours_t, _ = _timed(lambda: d_lae._entrywise("W_1", lam), repeat=1)
    print(
        f"∂L_λ/∂W1: SymPy's matrix derivative {naive_t * 1e3:.1f} ms, returning {naive}; entrywise {ours_t:.2f} s; "
        f"ratio {ours_t / naive_t:.0f} (a right answer costs more than a wrong one)"
    )


if __name__ == "__main__":
    main()

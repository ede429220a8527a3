"""Topic lae: the linear autoencoder's gradients (against autograd) and its minimum (against SciPy)."""

from __future__ import annotations

import sys
from typing import Any

from dlverify.problem import Case, Problem, SymbolSpec

EPS = sys.float_info.epsilon
SETUP = (
    "A linear autoencoder: X ∈ R^{m×n} zero-centred, encoder W1 (k×m), decoder W2 (m×k), "
    "L = (1/n)‖X − W2 W1 X‖_F²; Σ = (1/n) X Xᵀ with eigenvalues σ_1² > … > σ_m² > 0."
)
SIZES = (
    SymbolSpec("m", "m", "integer", "data dimension", bounds=("2", "5")),
    SymbolSpec("k", "k", "integer", "code size", bounds=("1", "m")),
    SymbolSpec("n", "n", "integer", "number of samples", bounds=("1", "6")),
)
MATRICES = (
    SymbolSpec("X", "X", "matrix", "the data (m×n)", shape=("m", "n")),
    SymbolSpec("W_1", "W_1", "matrix", "the encoder (k×m)", ("W1", "W^1", "W_{1}"), shape=("k", "m")),
    SymbolSpec("W_2", "W_2", "matrix", "the decoder (m×k)", ("W2", "W^2", "W_{2}"), shape=("m", "k")),
)


def _derivations() -> Any:
    from derivations import lae

    return lae


def _numerics() -> Any:
    from numerics import lae

    return lae


def _cases() -> Any:
    from hypothesis import strategies as st

    from dlverify.strategies import matrix, sizes_then

    def centre(case: dict) -> dict:
        X = case["X"] - case["X"].mean(axis=1, keepdims=True)
        return {**case, "X": X}

    return (
        st.integers(2, 6)
        .flatmap(lambda m: st.tuples(st.just(m), st.integers(1, m - 1), st.integers(m, m + 6)))
        .flatmap(
            lambda s: sizes_then(
                {"m": st.just(s[0]), "k": st.just(s[1]), "n": st.just(s[2])},
                lambda d: {
                    "X": matrix(d["m"], d["n"], 2.0),
                    "W_1": matrix(d["k"], d["m"]),
                    "W_2": matrix(d["m"], d["k"]),
                },
            )
        )
        .map(centre)
    )


def _min_cases() -> Any:
    """X = √n U diag(s) Vᵀ from a chosen spectrum: Σ = XXᵀ/n has eigenvalues s_i², distinct and
    positive (the catalog's assumptions), with gaps of at least 0.1."""
    from hypothesis import strategies as st

    def build(args: tuple) -> dict:
        import numpy as np

        m, k, extra, seed = args
        n = m + extra
        rng = np.random.default_rng(seed)
        s = np.sort(rng.uniform(0.5, 2.0, m) + 0.1 * np.arange(m))[::-1]
        U, _ = np.linalg.qr(rng.normal(size=(m, m)))
        V, _ = np.linalg.qr(rng.normal(size=(n, m)))
        X = np.sqrt(n) * U @ np.diag(s) @ V.T
        # σ_i = s_i as chosen: the oracle finds the eigenvectors itself (scipy.linalg.eigh)
        return {"m": m, "k": k, "n": n, "X": X, "sigma": [float(v) for v in s]}

    return (
        st.integers(2, 8)
        .flatmap(lambda m: st.tuples(st.just(m), st.integers(1, m - 1), st.integers(0, 6), st.integers(0, 2**31)))
        .map(build)
    )


def _gradient(which: str) -> Problem:
    return Problem(
        id=f"lae.grad_{which.replace('_', '')}",
        topic="lae",
        title=f"∂L/∂{which}",
        kind="matrix",
        statement=SETUP + f" Find the gradient ∂L/∂{which} (its vanishing is the first-order optimality condition; "
        "sign and scale count).",
        symbols=(*SIZES, *MATRICES),
        derive=lambda: getattr(_derivations(), f"grad_{which.replace('_', '')}")(),
        oracle=lambda c: _numerics().gradients(c["X"], c["W_1"], c["W_2"])[which],
        oracle_name="torch autograd (float64)",
        cases=_cases,
        tolerance=lambda c: 32 * (c["m"] + c["n"] + c["k"]) * EPS,
        tolerance_note="32(m+n+k)·eps relative to the largest entry of |…| evaluated on absolute values",
        sizes=("m", "k", "n"),
    )


def _min_oracle(case: Case) -> float:
    return _numerics().loss_at_pca(case["X"], case["k"])


PROBLEMS = (
    _gradient("W_1"),
    _gradient("W_2"),
    Problem(
        id="lae.min_loss",
        topic="lae",
        title="The minimum of L",
        kind="expr",
        statement=SETUP + " The minimum of L over W1, W2, in σ_i, m and k (a sum).",
        symbols=(
            SymbolSpec("sigma", r"\sigma", "sequence", "σ_i, the square roots of Σ's eigenvalues", ("σ",)),
            SymbolSpec("m", "m", "integer", "data dimension", bounds=("2", "8")),
            SymbolSpec("k", "k", "integer", "code size", bounds=("1", "m")),
            SymbolSpec("i", "i", "index", "summation index", bounds=("1", "m")),
        ),
        derive=lambda: _derivations().min_loss(),
        oracle=_min_oracle,
        oracle_name="the loss at W1 = U_kᵀ, W2 = U_k from scipy.linalg.eigh (float64)",
        cases=_min_cases,
        # eigh is backward stable: eigenvalues to about m·eps·‖Σ‖, and the loss sums m − k of them.
        tolerance=lambda c: 64 * c["m"] * (c["m"] + c["n"]) * EPS,
        tolerance_note="64·m(m+n)·eps relative to the sum: eigh's backward error, ‖Σ‖-relative",
        sizes=("m", "k"),
    ),
)

"""Topic lae: the linear autoencoder's gradients (against autograd) and its minimum (against SciPy)."""

from __future__ import annotations

import sys
from typing import Any

from dlverify.lazy import lazy
from dlverify.problem import Case, Check, Measurement, Problem, SymbolSpec, Topic

TOPIC = Topic("lae", "Linear autoencoders and PCA", order=90)
NUMERIC = lazy("numerics.lae")
DERIVED = lazy("derivations.lae")
EPS = sys.float_info.epsilon
SETUP = (
    "A linear autoencoder: X ∈ R^{m×n} zero-centred, encoder W1 (k×m), decoder W2 (m×k), "
    "L = (1/n)‖X − W2 W1 X‖_F²; Σ = (1/n) X Xᵀ with eigenvalues σ_1² > … > σ_m² > 0."
)
SIZES = (
    SymbolSpec("m", "m", "integer", "data dimension", bounds=("2", "5")),
    SymbolSpec("k", "k", "integer", "code size", bounds=("1", "m-1")),
    SymbolSpec("n", "n", "integer", "number of samples", bounds=("1", "6")),
)
LAMBDA = SymbolSpec("lambda", r"\lambda", "real", "the regularisation strength", ("λ",), assumptions=("positive",))
SIGMA = SymbolSpec(
    "sigma",
    r"\sigma",
    "sequence",
    "σ_i, the square roots of Σ's eigenvalues",
    ("σ",),
    assumptions=("positive", "descending"),
)
MATRICES = (
    SymbolSpec("X", "X", "matrix", "the data (m×n)", shape=("m", "n")),
    SymbolSpec("W_1", "W_1", "matrix", "the encoder (k×m)", ("W1", "W^1", "W_{1}"), shape=("k", "m")),
    SymbolSpec("W_2", "W_2", "matrix", "the decoder (m×k)", ("W2", "W^2", "W_{2}"), shape=("m", "k")),
)


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


def spectrum_case(m: int, k: int, extra: int, seed: int) -> dict:
    """X = √n U diag(s) Vᵀ from a chosen spectrum: Σ = XXᵀ/n has eigenvalues s_i², distinct and
    positive (the catalog's assumptions): s_m ∈ [0.5, 1] and consecutive s_i 0.1 to 0.4 apart, so
    consecutive eigenvalues s_i² are at least 0.1 apart. The oracles find the eigenvectors themselves
    (scipy.linalg.eigh); ``seed`` also drives any further random choice of a case."""
    import numpy as np

    n = m + extra
    rng = np.random.default_rng(seed)
    s = (rng.uniform(0.5, 1.0) + np.concatenate([[0.0], np.cumsum(rng.uniform(0.1, 0.4, m - 1))]))[::-1]
    U, _ = np.linalg.qr(rng.normal(size=(m, m)))
    V, _ = np.linalg.qr(rng.normal(size=(n, m)))
    X = np.sqrt(n) * U @ np.diag(s) @ V.T
    return {"m": m, "k": k, "n": n, "X": X, "sigma": [float(v) for v in s], "seed": seed}


def spectrum_cases(max_m: int = 8) -> Any:
    from hypothesis import strategies as st

    return (
        st.integers(2, max_m)
        .flatmap(lambda m: st.tuples(st.just(m), st.integers(1, m - 1), st.integers(0, 6), st.integers(0, 2**31)))
        .map(lambda args: spectrum_case(*args))
    )


def _min_cases() -> Any:
    return spectrum_cases()


def gradient_problem(which: str, topic: str = "lae", setup: str = SETUP, cases: Any = None) -> Problem:
    """∂L/∂W (topic lae) or ∂L_λ/∂W (topic rlae, whose cases carry λ): SymPy entrywise against autograd."""
    short = which.replace("_", "")
    loss = "L" if topic == "lae" else "L_λ"
    extra = (
        " (its vanishing is the first-order optimality condition; sign and scale count)."
        if topic == "lae"
        else " (beyond the catalog)."
    )

    def derive() -> Any:
        from derivations import lae, rlae

        return getattr(lae if topic == "lae" else rlae, f"grad_{short}")()

    return Problem(
        id=f"{topic}.grad_{short}",
        topic=topic,
        title=f"∂{loss}/∂{which}" + (" (beyond the catalog)" if topic != "lae" else ""),
        kind="matrix",
        statement=setup + f" Find the gradient ∂{loss}/∂{which}" + extra,
        symbols=(*SIZES, *MATRICES, *(() if topic == "lae" else (LAMBDA,))),
        derive=derive,
        oracle=lambda c: NUMERIC.gradients(c["X"], c["W_1"], c["W_2"], c.get("lambda", 0.0))[which],
        oracle_name="torch autograd (float64)",
        cases=cases or _cases,
        tolerance=lambda c: 32 * (c["m"] + c["n"] + c["k"]) * EPS,
        tolerance_note="32(m+n+k)·eps relative to the largest entry of |…| evaluated on absolute values",
        sizes=("m", "k", "n"),
    )


def _optimality_cases() -> Any:
    """A spectrum case plus an invertible C, a random start, and a non-top subset S with a pair
    (i ∉ S, j ∈ S, σ_i > σ_j): all drawn from the case's seed."""

    def extend(case: dict) -> dict:
        import numpy as np

        m, k = case["m"], case["k"]
        rng = np.random.default_rng(case["seed"] + 1)
        q1, _ = np.linalg.qr(rng.normal(size=(k, k)))
        q2, _ = np.linalg.qr(rng.normal(size=(k, k)))
        C = q1 @ np.diag(rng.uniform(0.5, 2.0, k)) @ q2  # condition number at most 4
        while True:
            S = sorted(rng.choice(m, size=k, replace=False).tolist())
            if S != list(range(k)):
                break
        pairs = [(i, j) for j in S for i in range(j) if i not in S]
        i, j = pairs[int(rng.integers(len(pairs)))]
        # 1-based, as in the derivation's σ_i, σ_j
        return {**case, "C": C, "S": [s + 1 for s in S], "i": i + 1, "j": j + 1}

    return spectrum_cases(7).map(extend)


def _gradient_tolerance(case: Case) -> float:
    # the two terms that cancel in each gradient are of size 2‖Σ‖‖C‖‖C⁻¹‖; eigh's vectors are accurate
    # to about m·eps·‖Σ‖/gap, and the gaps are at least 0.1
    m, n = case["X"].shape
    return 64 * (m + n) * EPS


def _loss_tolerance(case: Case) -> float:
    m, n = case["X"].shape
    return 64 * m * (m + n) * EPS


def _family_gradients(problem: Problem, case: Case) -> list[Measurement]:
    """The derived gradients on the family (C U_kᵀ, U_k C⁻¹) against autograd, at PCA (C = I) and a random C."""
    import numpy as np

    from dlverify.evaluation import matrix_point
    from dlverify.matrix_eval import matrix_value

    derivation = problem.derive()
    entries = derivation.entries()
    X, k = case["X"], case["k"]
    m, n = X.shape
    pca = NUMERIC.pca(X, k)
    U_k, scale_sigma = pca["U_k"], float(pca["eigenvalues"][0])
    point = matrix_point(derivation.symbols, {"m": m, "k": k, "n": n})
    derived_zero = {
        which: matrix_value(entries[f"∂L/∂W{which[-1]} at (C U_kᵀ, U_k C⁻¹)"], point) for which in ("W_1", "W_2")
    }
    out = []
    for label, factor in (("C = I", np.eye(k)), ("random C", case["C"])):  # PCA itself, and the family
        grads = NUMERIC.gradients(X, factor @ U_k.T, U_k @ np.linalg.inv(factor))
        for which, want in derived_zero.items():
            error = float(np.abs(grads[which] - want).max()) / (2 * scale_sigma * float(np.linalg.cond(factor)))
            check = f"∂L/∂W{which[-1]} at (C U_kᵀ, U_k C⁻¹), {label} = autograd"
            out.append(Measurement(check, error, _gradient_tolerance(case)))
    return out


def _trailing_sum(problem: Problem, case: Case) -> float:
    from dlverify.evaluation import scalar_value

    derivation = problem.derive()
    return scalar_value(derivation.entries()["L there"], derivation.symbols, case)


def _family_loss(problem: Problem, case: Case) -> list[Measurement]:
    """L on the family equals the derived minimum Σ_{i>k} σ_i²."""
    import numpy as np

    from dlverify.evaluation import relative_error

    X, k, C = case["X"], case["k"], case["C"]
    U_k = NUMERIC.pca(X, k)["U_k"]
    trailing = _trailing_sum(problem, case)
    at_family = NUMERIC.loss(X, C @ U_k.T, U_k @ np.linalg.inv(C))
    tolerance = _loss_tolerance(case) * float(np.linalg.cond(C)) ** 2
    error = relative_error(at_family, trailing, trailing)
    return [Measurement("L at (C U_kᵀ, U_k C⁻¹) = Σ_{i>k} σ_i²", error, tolerance, trailing, at_family)]


def _lbfgs_reaches_pca(problem: Problem, case: Case) -> list[Measurement]:
    """L-BFGS from a random start reaches the derived minimum and the top-k subspace."""
    X, k = case["X"], case["k"]
    pca = NUMERIC.pca(X, k)
    values = pca["eigenvalues"]
    trailing = _trailing_sum(problem, case)
    fit = NUMERIC.fit(X, k, seed=case["seed"])
    gap = float(values[k - 1] - values[k])
    # first order: an angle θ costs about 2·gap·θ² in L, and L-BFGS stops when ‖∇L‖ is at float64's
    # resolution; an angle that large is ‖∇L‖/gap — the tolerance, with a factor 100 of room
    angle_tol = 100 * max(fit["grad_norm"], 1e-12) / gap
    angle = NUMERIC.max_principal_angle(fit["W_2"], pca["U_k"])
    excess = max(0.0, fit["loss"] - trailing) / trailing
    return [
        Measurement("L-BFGS from a random start: L − Σ_{i>k} σ_i² (relative)", excess, 1e-12, trailing, fit["loss"]),
        Measurement("largest principal angle between span W2 and span U_k", angle, angle_tol),
        Measurement("L-BFGS converged: ‖∇L‖ relative to ‖Σ‖", fit["grad_norm"] / float(values[0]), 1e-6),
    ]


def _other_subsets_are_saddles(problem: Problem, case: Case) -> list[Measurement]:
    """At a non-top subset S: a critical point whose curvature towards a left-out u_i is the derived one, < 0."""
    import numpy as np

    from dlverify.evaluation import relative_error, scalar_value

    derivation = problem.derive()
    X, k, i, j = case["X"], case["k"], case["i"], case["j"]
    values = NUMERIC.pca(X, k)["eigenvalues"]
    scale_sigma = float(values[0])
    measured = NUMERIC.saddle(X, k, case["S"], i, j)
    sigma = [float(np.sqrt(v)) for v in values]
    derived = scalar_value(
        derivation.entries()["dᵀ H d at a saddle"], derivation.symbols, {"sigma": sigma, "i": i, "j": j}
    )
    tol = _loss_tolerance(case)
    # the Rayleigh quotient bounds the smallest eigenvalue: λ_min ≤ dᵀHd/‖d‖² < 0
    smallest = measured["smallest_eigenvalue"]
    return [
        Measurement(
            f"S = {case['S']} is a critical point (autograd ‖∇L‖)",
            measured["gradient"] / (2 * scale_sigma),
            _gradient_tolerance(case),
        ),
        Measurement(
            f"dᵀHd (u_{j} towards u_{i}) = derived",
            relative_error(measured["curvature"], derived, 4 * scale_sigma),
            tol,
            derived,
            measured["curvature"],
        ),
        Measurement(
            "λ_min(Hessian) ≤ dᵀHd/‖d‖² (negative: a saddle)",
            max(0.0, smallest - derived / 2) / (4 * scale_sigma),
            tol,
            derived / 2,
            smallest,
        ),
    ]


def _min_oracle(case: Case) -> float:
    return NUMERIC.loss_at_pca(case["X"], case["k"])


PROBLEMS = (
    gradient_problem("W_1"),
    gradient_problem("W_2"),
    Problem(
        id="lae.min_loss",
        topic="lae",
        title="The minimum of L",
        kind="expr",
        statement=SETUP + " The minimum of L over W1, W2, in σ_i, m and k (a sum).",
        symbols=(
            SIGMA,
            SymbolSpec("m", "m", "integer", "data dimension", bounds=("2", "8")),
            SymbolSpec("k", "k", "integer", "code size", bounds=("1", "m-1")),
            SymbolSpec("i", "i", "index", "summation index", bounds=("1", "m")),
        ),
        derive=lambda: DERIVED.min_loss(),
        oracle=_min_oracle,
        oracle_name="the loss at W1 = U_kᵀ, W2 = U_k from scipy.linalg.eigh (float64)",
        cases=_min_cases,
        # eigh is backward stable: eigenvalues to about m·eps·‖Σ‖, and the loss sums m − k of them.
        tolerance=lambda c: 64 * c["m"] * (c["m"] + c["n"]) * EPS,
        tolerance_note="64·m(m+n)·eps relative to the sum: eigh's backward error, ‖Σ‖-relative",
        sizes=("m", "k"),
    ),
    Problem(
        id="lae.pca_is_optimal",
        topic="lae",
        title="PCA is optimal; the optimum is unique only as W2 W1; other critical points are saddles",
        kind="claim",
        statement=SETUP + " W1 = U_kᵀ, W2 = U_k satisfy the first-order conditions and reach the global minimum; so "
        "does every W1 = C U_kᵀ, W2 = U_k C⁻¹ (C invertible), so the optimum is unique only as the product "
        "W2 W1 = U_k U_kᵀ; critical points built from other eigenvector subsets are saddles.",
        symbols=(
            *SIZES,
            *MATRICES,
            SIGMA,
            SymbolSpec("i", "i", "index", "an eigen-direction left out (σ_i > σ_j)", bounds=("1", "m")),
            SymbolSpec("j", "j", "index", "an eigen-direction kept", bounds=("1", "m")),
        ),
        derive=lambda: DERIVED.pca_is_optimal(),
        oracle=lambda c: None,
        oracle_name="autograd gradients and Hessians at scipy.linalg.eigh's eigenvectors; L-BFGS from random starts",
        cases=_optimality_cases,
        tolerance=lambda c: 0.0,
        tolerance_note="per check: 64(m+n)·eps for gradients (relative to 2‖Σ‖·cond C), 64m(m+n)·eps for losses "
        "and curvatures, 100‖∇L‖/gap for the principal angle after L-BFGS",
        compare=(
            Check("zero gradients on the family (C U_kᵀ, U_k C⁻¹)", _family_gradients),
            Check("the loss on the family is the minimum", _family_loss),
            Check("L-BFGS from a random start reaches it", _lbfgs_reaches_pca),
            Check("other eigenvector subsets are saddles", _other_subsets_are_saddles),
        ),
        sizes=("m", "k", "n"),
    ),
)

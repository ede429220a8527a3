"""The experiments of topic rlae: torch.optim.SGD steps fitted against the derived weight_decay,
and the derived global minimiser against autograd's gradient, L-BFGS and the derived minimum."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from derivations import rlae as derived
from dlverify.evaluation import matrix_point, relative_error, scalar_value
from dlverify.matrix_eval import matrix_value
from dlverify.problem import Case, Measurement, Problem
from dlverify.problems.rlae import STEP_TOL
from numerics import lae as lae_numeric
from numerics import rlae as numeric

EPS = sys.float_info.epsilon


def step_scale(case: Case, mean: bool) -> list[Measurement]:
    """The fitted step's scale c and the least-squares residual, against the derivation's scale."""
    fitted = numeric.fit_weight_decay(case["X"], case["W_1"], case["W_2"], case["lambda"], mean=mean)
    want = scalar_value(derived.mean_step_scale(), {"m": derived.m}, case) if mean else 1.0
    return [
        Measurement("one SGD step lies along −∇L_λ (least-squares residual)", fitted["residual"], STEP_TOL),
        Measurement(
            "the step's scale c = derived", abs(fitted["scale"] - want) / want, STEP_TOL, want, fitted["scale"]
        ),
    ]


def mean_with_scaled_lr(case: Case) -> list[Measurement]:
    """nn.MSELoss's mean with the derived weight_decay and the learning rate times m: exactly the step."""
    d = derived.weight_decay_mean()
    wd = scalar_value(d.result, d.symbols, case)
    ok = numeric.matches(
        case["X"], case["W_1"], case["W_2"], case["lambda"], wd, STEP_TOL, mean=True, lr=numeric.LR * case["m"]
    )
    return [Measurement.holds("mean MSELoss, derived weight_decay, lr·m: the step is −η∇L_λ", ok)]


def optimum_at(X: Any, k: int, lam: float, orthogonal: Any = None, derivation: Any = None) -> tuple[Any, dict]:
    """The derived optimum W2 (``derivation``, else the registered one) at scipy.linalg.eigh's U_k and Λ_k
    of Σ = XXᵀ/n, with the orthogonal factor O (default I); and eigh's results."""
    if derivation is None:
        from dlverify import registry

        derivation = registry.get("rlae.optimum").derive()  # the registry's: read from the disk cache
    d = derivation
    pca = lae_numeric.pca(X, k)
    values = {
        "m": X.shape[0],
        "k": k,
        "lambda": lam,
        "U_k": pca["U_k"],
        "Lambda_k": np.diag(pca["eigenvalues"][:k]),
        "O": np.eye(k) if orthogonal is None else orthogonal,
    }
    return matrix_value(d.result, matrix_point(d.symbols, values)), pca


def gradient_at_optimum(problem: Problem, case: Case) -> list[Measurement]:
    """autograd's ∇L_λ vanishes at the derived W2 (random O) with W1 = W2ᵀ."""
    X, lam, k = case["X"], case["lambda"], case["k"]
    m, n = X.shape
    W2, pca = optimum_at(X, k, lam, case["O"], problem.derive())
    grads = lae_numeric.gradients(X, W2.T, W2, lam)
    error = max(float(np.abs(g).max()) for g in grads.values()) / (2 * float(pca["eigenvalues"][0]))
    return [Measurement("∇L_λ at the derived W2, W1 = W2ᵀ (random O): autograd", error, 64 * (m + n) * EPS)]


def lbfgs_finds_it(problem: Problem, case: Case) -> list[Measurement]:
    """L-BFGS from a random start against the derived minimiser (up to O): product, balance, loss, and
    how far its columns are from orthonormal (derived λ/σ_k²)."""
    X, lam, k = case["X"], case["lambda"], case["k"]
    m = X.shape[0]
    W2, pca = optimum_at(X, k, lam, case["O"], problem.derive())
    fit = lae_numeric.fit(X, k, lam, seed=case["seed"])
    values = pca["eigenvalues"]
    # the smallest curvature at the optimum: 2(σ_k² − λ) across, and the eigen-gaps; the iterate is
    # within ‖∇‖/curvature of the optimum set, the tolerance with a factor 100 of room
    curvature = min(values[k - 1] - lam, *(values[i] - values[i + 1] for i in range(m - 1)))
    tol = 100 * max(fit["grad_norm"], 1e-12) / curvature
    at_derived = lae_numeric.loss(X, W2.T, W2, lam)
    eye = np.eye(k)
    distance = float(np.linalg.norm(W2.T @ W2 - eye, 2))
    measured = float(np.linalg.norm(fit["W_2"].T @ fit["W_2"] - eye, 2))
    return [
        Measurement(
            "W2W2ᵀ of L-BFGS's optimum = derived (O cancels)",
            float(np.abs(fit["W_2"] @ fit["W_2"].T - W2 @ W2.T).max()),
            tol,
        ),
        Measurement("L-BFGS's optimum is balanced: W1 = W2ᵀ", float(np.abs(fit["W_1"] - fit["W_2"].T).max()), tol),
        Measurement(
            "L_λ at the derived W2 = L-BFGS's minimum", relative_error(at_derived, fit["loss"], fit["loss"]), 1e-12
        ),
        Measurement(
            "‖W2ᵀW2 − I‖₂ of the optimum = derived (λ/σ_k²)", abs(measured - distance), 1e-6, distance, measured
        ),
    ]


def minimum_at_optimum(problem: Problem, case: Case) -> list[Measurement]:
    """The derived minimum (rlae.min_loss) is L_λ at the derived minimiser."""
    X, lam, k = case["X"], case["lambda"], case["k"]
    m, n = X.shape
    W2, _ = optimum_at(X, k, lam, case["O"], problem.derive())
    at_derived = lae_numeric.loss(X, W2.T, W2, lam)
    d_min = derived.min_loss()
    minimum = scalar_value(d_min.result, d_min.symbols, {"lambda": lam, "m": m, "k": k, "sigma": case["sigma"]})
    return [
        Measurement(
            "derived min L_λ (rlae.min_loss) = L at the derived W2",
            relative_error(at_derived, minimum, minimum),
            64 * m * (m + n) * EPS,
        )
    ]


def rank_drop(case: Case) -> list[Measurement]:
    """At λ' between σ_{r+1}² and σ_r²: L-BFGS's optimum has rank r and W2W2ᵀ = U_r(I − λ'Λ_r⁻¹)U_rᵀ, the
    derived formula with k = r (zero for r = 0)."""
    X, k, r, lam = case["X"], case["k"], case["r"], case["lambda_drop"]
    fit = lae_numeric.fit(X, k, lam, seed=case["seed"])
    want, pca = optimum_at(X, r, lam) if r else (np.zeros((case["m"], 0)), lae_numeric.pca(X, k))
    values = pca["eigenvalues"]
    curvature = min(abs(values[i] - lam) for i in range(len(values)))
    tol = 100 * max(fit["grad_norm"], 1e-12) / curvature
    singular = np.linalg.svd(fit["W_2"], compute_uv=False)
    rank = int(np.sum(singular > np.sqrt(tol)))
    return [
        Measurement.holds(f"rank of L-BFGS's optimum at λ' = {lam:.3g}: {rank}, derived {r}", rank == r),
        Measurement(
            "W2W2ᵀ at λ' = derived with k = #{σ_i² > λ'}",
            float(np.abs(fit["W_2"] @ fit["W_2"].T - want @ want.T).max()),
            tol,
        ),
    ]

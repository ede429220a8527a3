"""Oracles for the linear autoencoder L_λ = (1/n)‖X − W2 W1 X‖_F² + λ‖W1‖_F² + λ‖W2‖_F² (λ = 0: plain):
autograd gradients and Hessians, SciPy's eigendecomposition of Σ = XXᵀ/n, and real optimization
(scipy.optimize's L-BFGS driven by autograd gradients)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import scipy.linalg
import scipy.optimize
import torch
from numpy.typing import ArrayLike

DTYPE = torch.float64


def _t(a: ArrayLike) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a, dtype=float), dtype=DTYPE)


def _objective(X: torch.Tensor, A: torch.Tensor, B: torch.Tensor, lam: float) -> torch.Tensor:
    data = torch.sum((X - B @ A @ X) ** 2) / X.shape[1]
    lam = float(lam)  # a NumPy scalar times a tensor would go through NumPy's slow path
    return data + lam * torch.sum(A**2) + lam * torch.sum(B**2) if lam else data


def gradients(X: ArrayLike, W1: ArrayLike, W2: ArrayLike, lam: float = 0.0) -> dict[str, np.ndarray]:
    A, B = _t(W1).requires_grad_(True), _t(W2).requires_grad_(True)
    _objective(_t(X), A, B, lam).backward()
    return {"W_1": A.grad.numpy(), "W_2": B.grad.numpy()}


def pca(X: ArrayLike, k: int) -> dict:
    """Σ = XXᵀ/n, its eigenvalues (descending) and the top-k eigenvectors, by scipy.linalg.eigh."""
    X_ = np.asarray(X, dtype=float)
    values, vectors = scipy.linalg.eigh(X_ @ X_.T / X_.shape[1])
    order = np.argsort(values)[::-1]
    return {"eigenvalues": values[order], "U_k": vectors[:, order[:k]], "U": vectors[:, order]}


def loss(X: ArrayLike, W1: ArrayLike, W2: ArrayLike, lam: float = 0.0) -> float:
    return float(_objective(_t(X), _t(W1), _t(W2), lam))


def loss_at_pca(X: ArrayLike, k: int) -> float:
    U = pca(X, k)["U_k"]
    return loss(X, U.T, U)


def hessian(X: ArrayLike, W1: ArrayLike, W2: ArrayLike, lam: float = 0.0) -> np.ndarray:
    """The Hessian of L_λ in the flattened parameters (W1 row-major, then W2 row-major)."""
    X_, A, B = _t(X), _t(W1), _t(W2)
    split = A.numel()

    def f(theta: torch.Tensor) -> torch.Tensor:
        return _objective(X_, theta[:split].reshape(A.shape), theta[split:].reshape(B.shape), lam)

    return torch.func.hessian(f)(torch.cat([A.reshape(-1), B.reshape(-1)])).numpy()


def curvature(X: ArrayLike, W1: ArrayLike, W2: ArrayLike, D1: ArrayLike, D2: ArrayLike, lam: float = 0.0) -> float:
    """dᵀ H d for the direction d = (D1, D2): the second derivative of L_λ along the line W + εd."""
    X_, A, B, dA, dB = _t(X), _t(W1), _t(W2), _t(D1), _t(D2)

    def along(eps: torch.Tensor) -> torch.Tensor:
        return _objective(X_, A + eps * dA, B + eps * dB, lam)

    zero = torch.zeros((), dtype=DTYPE)
    return float(torch.func.grad(torch.func.grad(along))(zero))


def saddle(X: ArrayLike, k: int, subset: list[int], i: int, j: int) -> dict[str, float]:
    """At W1 = U_Sᵀ, W2 = U_S for the eigenvectors ``subset`` (1-based, descending eigenvalues): the
    largest gradient entry (autograd), dᵀHd along the direction that moves u_j towards u_i, and the
    smallest eigenvalue of the full Hessian."""
    U = pca(X, k)["U"]
    U_S = U[:, [s - 1 for s in subset]]
    at = gradients(X, U_S.T, U_S)
    D1 = np.zeros((k, X.shape[0]))
    D1[subset.index(j)] = U[:, i - 1]
    return {
        "gradient": max(float(np.abs(g).max()) for g in at.values()),
        "curvature": curvature(X, U_S.T, U_S, D1, D1.T.copy()),
        "smallest_eigenvalue": float(np.linalg.eigvalsh(hessian(X, U_S.T, U_S))[0]),
    }


@contextmanager
def _one_thread() -> Iterator[None]:
    """Tiny tensors: torch's thread pool and SciPy's BLAS threads only contend (30× slower on 2 cores)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def fit(X: ArrayLike, k: int, lam: float = 0.0, seed: int = 0, scale: float = 0.5, history: bool = False) -> dict:
    """Minimise L_λ from a random start (entries N(0, scale²), seeded) by L-BFGS to the precision
    of float64 gradients. Returns the final W1, W2, loss, gradient norm, and with ``history``
    the iterates W2 (for the report's convergence figure)."""
    X_ = _t(X)
    m = X_.shape[0]
    rng = np.random.default_rng(seed)
    start = rng.normal(scale=scale, size=2 * k * m)
    iterates: list[np.ndarray] = [start.copy()]

    def value_and_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
        t = torch.as_tensor(theta, dtype=DTYPE).requires_grad_(True)
        value = _objective(X_, t[: k * m].reshape(k, m), t[k * m :].reshape(m, k), lam)
        value.backward()
        return float(value.detach()), t.grad.numpy().copy()

    with _one_thread():
        result = scipy.optimize.minimize(
            value_and_grad,
            start,
            jac=True,
            method="L-BFGS-B",
            callback=(lambda theta: iterates.append(theta.copy())) if history else None,
            options={"maxiter": 20000, "maxcor": 30, "ftol": 0.0, "gtol": 1e-13},
        )
    W1, W2 = result.x[: k * m].reshape(k, m), result.x[k * m :].reshape(m, k)
    out = {
        "W_1": W1,
        "W_2": W2,
        "loss": float(result.fun),
        "grad_norm": float(np.linalg.norm(result.jac)),
        "iterations": int(result.nit),
    }
    if history:
        out["W_2_history"] = [theta[k * m :].reshape(m, k) for theta in iterates]
    return out


def max_principal_angle(A: ArrayLike, B: ArrayLike) -> float:
    """The largest principal angle between the column spaces of A and B (scipy.linalg.subspace_angles)."""
    return float(np.max(scipy.linalg.subspace_angles(np.asarray(A, dtype=float), np.asarray(B, dtype=float))))

"""Oracles for the linear autoencoder: autograd gradients of L = (1/n)‖X − W2 W1 X‖_F², and the
loss at the PCA solution from SciPy's eigendecomposition of Σ = XXᵀ/n."""

from __future__ import annotations

import numpy as np
import scipy.linalg
import torch
from numpy.typing import ArrayLike

DTYPE = torch.float64


def gradients(X: ArrayLike, W1: ArrayLike, W2: ArrayLike) -> dict[str, np.ndarray]:
    X_ = torch.as_tensor(np.asarray(X, dtype=float), dtype=DTYPE)
    A = torch.as_tensor(np.asarray(W1, dtype=float), dtype=DTYPE).requires_grad_(True)
    B = torch.as_tensor(np.asarray(W2, dtype=float), dtype=DTYPE).requires_grad_(True)
    loss = torch.sum((X_ - B @ A @ X_) ** 2) / X_.shape[1]
    loss.backward()
    return {"W_1": A.grad.numpy(), "W_2": B.grad.numpy()}


def pca(X: ArrayLike, k: int) -> dict:
    """Σ = XXᵀ/n, its eigenvalues (descending) and the top-k eigenvectors, by scipy.linalg.eigh."""
    X_ = np.asarray(X, dtype=float)
    values, vectors = scipy.linalg.eigh(X_ @ X_.T / X_.shape[1])
    order = np.argsort(values)[::-1]
    return {"eigenvalues": values[order], "U_k": vectors[:, order[:k]]}


def loss(X: ArrayLike, W1: ArrayLike, W2: ArrayLike) -> float:
    X_ = np.asarray(X, dtype=float)
    return float(np.sum((X_ - np.asarray(W2) @ np.asarray(W1) @ X_) ** 2) / X_.shape[1])


def loss_at_pca(X: ArrayLike, k: int) -> float:
    U = pca(X, k)["U_k"]
    return loss(X, U.T, U)

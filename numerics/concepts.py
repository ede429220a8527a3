"""Small, seeded experiments behind the autoencoder true/false statements (torch, float64).

Data: two classes; the label shifts a block of correlated features a little (low variance),
while other features carry large, label-free noise.  Autoencoders are linear (trained by
L-BFGS); the downstream task is logistic regression on the codes or on the raw inputs,
scored on held-out data.  Each function returns the numbers it measured.
"""

from __future__ import annotations

import numpy as np
import torch

DTYPE = torch.float64


def data(
    samples: int, seed: int, noise_dims: int = 2, signal_dims: int = 3, loud: float = 5.0
) -> tuple[np.ndarray, np.ndarray]:
    """x = [loud label-free noise (σ = loud) | label ±1 on a correlated block + noise σ = 0.3 | unit noise]."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, samples)
    sign = 2.0 * y - 1.0
    loud_part = loud * rng.normal(size=(samples, 2))
    signal = sign[:, None] + 0.3 * rng.normal(size=(samples, signal_dims))
    quiet = rng.normal(size=(samples, noise_dims))
    return np.hstack([loud_part, signal, quiet]), y


def _fit_linear_autoencoder(X: np.ndarray, k: int, noise: float = 0.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Encoder (k×m) and decoder (m×k) minimising the mean squared reconstruction error (with Gaussian
    input noise of this size when denoising), by L-BFGS from a seeded start."""
    torch.manual_seed(seed)
    Xt = torch.tensor(X, dtype=DTYPE)
    m = X.shape[1]
    W1 = (0.1 * torch.randn(k, m, dtype=DTYPE)).requires_grad_()
    W2 = (0.1 * torch.randn(m, k, dtype=DTYPE)).requires_grad_()
    corrupted = Xt + noise * torch.randn(Xt.shape, dtype=DTYPE, generator=torch.Generator().manual_seed(seed + 1))
    optimizer = torch.optim.LBFGS([W1, W2], max_iter=500, tolerance_grad=1e-10, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = ((corrupted @ W1.T @ W2.T - Xt) ** 2).mean()
        loss.backward()
        return loss

    optimizer.step(closure)
    return W1.detach().numpy(), W2.detach().numpy()


def reconstruction_loss(X: np.ndarray, W1: np.ndarray, W2: np.ndarray) -> float:
    return float(np.mean((X @ W1.T @ W2.T - X) ** 2))


def downstream_accuracy(train: np.ndarray, y_train: np.ndarray, test: np.ndarray, y_test: np.ndarray) -> float:
    """Logistic regression (L2 1e-3, L-BFGS) on the training features; accuracy on the test ones."""
    mean, scale = train.mean(axis=0), train.std(axis=0) + 1e-12
    A = torch.tensor((train - mean) / scale, dtype=DTYPE)
    B = torch.tensor((test - mean) / scale, dtype=DTYPE)
    w = torch.zeros(A.shape[1], dtype=DTYPE, requires_grad=True)
    b = torch.zeros((), dtype=DTYPE, requires_grad=True)
    target = torch.tensor(y_train, dtype=DTYPE)
    optimizer = torch.optim.LBFGS([w, b], max_iter=200, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(A @ w + b, target) + 1e-3 * (w @ w)
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        predicted = ((B @ w + b) > 0).numpy().astype(int)
    return float(np.mean(predicted == y_test))


def low_variance_label(seed: int = 0) -> dict[str, float]:
    """Raw inputs against two k = 2 linear autoencoders trained on the same data: A on the raw
    features, B on standardised ones; their held-out reconstruction losses (in raw units) and
    downstream accuracies."""
    X, y = data(2000, seed)
    Xv, yv = data(2000, seed + 1)
    scale = X.std(axis=0)
    W1a, W2a = _fit_linear_autoencoder(X, 2, seed=seed)
    W1b, W2b = _fit_linear_autoencoder(X / scale, 2, seed=seed)
    W1b_raw, W2b_raw = W1b / scale[None, :], W2b * scale[:, None]  # B in raw units
    return {
        "raw accuracy": downstream_accuracy(X, y, Xv, yv),
        "A loss": reconstruction_loss(Xv, W1a, W2a),
        "A accuracy": downstream_accuracy(X @ W1a.T, y, Xv @ W1a.T, yv),
        "B loss": reconstruction_loss(Xv, W1b_raw, W2b_raw),
        "B accuracy": downstream_accuracy(X @ W1b_raw.T, y, Xv @ W1b_raw.T, yv),
    }


def overcomplete(seed: int = 0, m: int = 7) -> dict[str, float]:
    """A linear autoencoder with twice as many code units as inputs: its held-out loss."""
    X, _ = data(500, seed)
    Xv, _ = data(500, seed + 1)
    W1, W2 = _fit_linear_autoencoder(X, 2 * X.shape[1], seed=seed)
    return {
        "inputs": X.shape[1],
        "code units": W1.shape[0],
        "loss": reconstruction_loss(Xv, W1, W2),
        "variance": float(Xv.var(axis=0).sum() / Xv.shape[1]),
    }


def denoising(seed: int = 0, noise: float = 1.0) -> dict[str, float]:
    """A denoising linear autoencoder (k = 2, trained on standardised inputs with Gaussian noise):
    downstream accuracy when the codes are computed from clean inputs and from noisy ones."""
    X, y = data(2000, seed)
    Xv, yv = data(2000, seed + 1)
    scale = X.std(axis=0)
    X, Xv = X / scale, Xv / scale
    W1, _ = _fit_linear_autoencoder(X, 2, noise=noise, seed=seed)
    rng = np.random.default_rng(seed + 7)
    noisy = lambda A: A + noise * rng.normal(size=A.shape)  # noqa: E731
    return {
        "clean accuracy": downstream_accuracy(X @ W1.T, y, Xv @ W1.T, yv),
        "noisy accuracy": downstream_accuracy(noisy(X) @ W1.T, y, noisy(Xv) @ W1.T, yv),
    }


def few_labels(seed: int = 0, labels: tuple[int, ...] = (10, 1000), noise_dims: int = 40) -> dict[str, float]:
    """Codes of a k = 1 autoencoder pretrained on 3000 unlabelled standardised samples against raw inputs,
    with few and with many labels for the downstream classifier (mean over 5 draws of the labels)."""
    X, _ = data(3000, seed, noise_dims=noise_dims, loud=1.0)
    scale = X.std(axis=0)
    W1, _ = _fit_linear_autoencoder(X / scale, 1, seed=seed)
    test, y_test = data(2000, seed + 1, noise_dims=noise_dims, loud=1.0)
    out: dict[str, float] = {}
    for n in labels:
        raw, code = [], []
        for draw in range(5):
            train, y_train = data(n, seed + 100 + draw, noise_dims=noise_dims, loud=1.0)
            raw.append(downstream_accuracy(train, y_train, test, y_test))
            code.append(downstream_accuracy(train / scale @ W1.T, y_train, test / scale @ W1.T, y_test))
        out[f"{n} labels: raw"] = float(np.mean(raw))
        out[f"{n} labels: codes"] = float(np.mean(code))
    return out

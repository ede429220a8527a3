"""The 8×8 handwritten digits shipped with scikit-learn, and what the homework's experiments run on them.

MNIST cannot be downloaded here (no network); ``sklearn.datasets.load_digits`` ships 1,797 8×8
images of the ten digits inside the package, so it is the stand-in: a fixed stratified split
(``train_test_split(test_size=0.25, random_state=0)``: 1,347 training and 450 test images).

- ``train_classifier``: a 3-layer ReLU network trained by minibatches, with the parameter update given
  by the caller (the derived optimizers, run by dlverify/experiments/digits.py): torch computes the loss
  and its gradients only.
- ``fit_linear_autoencoder`` and ``probe_accuracy``: a linear autoencoder of code size k (L-BFGS) and a
  logistic-regression probe on its codes (scikit-learn).
- ``covariance_eigenvalues``: the spectrum of the training pixels' covariance (numpy).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import torch

DTYPE = torch.float64
TEST_SIZE, SPLIT_SEED = 0.25, 0
LAYERS = (64, 128, 64, 10)  # a 3-layer network: two hidden ReLU layers, then the 10 logits


@dataclass(frozen=True)
class Split:
    train: np.ndarray  # standardised by the training images' mean and standard deviation
    test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray
    pixels_train: np.ndarray  # the raw pixels (0..16) / 16, centred by the training mean
    pixels_test: np.ndarray


@cache
def split() -> Split:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=TEST_SIZE, random_state=SPLIT_SEED, stratify=y)
    mean, scale = X_train.mean(axis=0), X_train.std(axis=0) + 1e-8  # constant border pixels: scale 1e-8, value 0
    return Split(
        (X_train - mean) / scale,
        (X_test - mean) / scale,
        y_train,
        y_test,
        (X_train - mean) / 16,
        (X_test - mean) / 16,
    )


def initial_parameters(seed: int, layers: Sequence[int] = LAYERS) -> list[np.ndarray]:
    """torch.nn.Linear's default initialisation (from torch seed ``seed``), as arrays W_1, b_1, W_2, …"""
    torch.manual_seed(seed)
    out = []
    for fan_in, fan_out in zip(layers[:-1], layers[1:], strict=True):
        layer = torch.nn.Linear(fan_in, fan_out).double()
        out += [layer.weight.detach().numpy().copy(), layer.bias.detach().numpy().copy()]
    return out


def logits(params: Sequence[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    for i in range(0, len(params) - 2, 2):
        x = torch.relu(x @ params[i].T + params[i + 1])
    return x @ params[-2].T + params[-1]


@dataclass(frozen=True)
class History:
    loss: tuple[float, ...]  # mean training cross-entropy over each epoch's minibatches
    accuracy: tuple[float, ...]  # test accuracy after each epoch


Update = Callable[[int, list[np.ndarray], list[np.ndarray]], list[np.ndarray]]


def train_classifier(update: Update, epochs: int = 30, batch: int = 32, seed: int = 0) -> History:
    """Minibatch training of the LAYERS network on the training split: each epoch a permutation from torch
    seed ``seed``; at step s (1, 2, …) ``update(s, params, grads)`` returns the new parameters."""
    data = split()
    X, y = torch.tensor(data.train, dtype=DTYPE), torch.tensor(data.y_train)
    X_test, y_test = torch.tensor(data.test, dtype=DTYPE), torch.tensor(data.y_test)
    params = initial_parameters(seed)
    order = torch.Generator().manual_seed(seed)
    losses, accuracies, step = [], [], 0
    for _ in range(epochs):
        total, batches = 0.0, 0
        for idx in torch.randperm(len(X), generator=order).split(batch):
            tensors = [torch.tensor(p, dtype=DTYPE, requires_grad=True) for p in params]
            loss = torch.nn.functional.cross_entropy(logits(tensors, X[idx]), y[idx])
            grads = torch.autograd.grad(loss, tensors)
            step += 1
            params = update(step, params, [g.numpy() for g in grads])
            total, batches = total + float(loss.detach()), batches + 1
        with torch.no_grad():
            predicted = logits([torch.tensor(p, dtype=DTYPE) for p in params], X_test).argmax(dim=1)
        losses.append(total / batches)
        accuracies.append(float((predicted == y_test).double().mean()))
    return History(tuple(losses), tuple(accuracies))


def covariance_eigenvalues() -> np.ndarray:
    """σ_1² ≥ σ_2² ≥ … of Σ = (1/n) X Xᵀ for the centred training pixels X (64 × 1,347)."""
    X = split().pixels_train
    return np.sort(np.linalg.eigvalsh(X.T @ X / len(X)))[::-1]


def fit_linear_autoencoder(k: int, seed: int = 0, iterations: int = 1000) -> tuple[np.ndarray, np.ndarray, float]:
    """Encoder W1 (k×64), decoder W2 (64×k) and L = (1/n)‖X − W2 W1 X‖_F² on the centred training pixels, by
    L-BFGS (strong Wolfe) from 0.1·N(0, 1) entries (torch seed ``seed``). L is written through the covariance,
    tr((I − W2W1) Σ (I − W2W1)ᵀ), the same number as the mean over the images, 64×64 per evaluation."""
    X = split().pixels_train
    S = torch.tensor(X.T @ X / len(X), dtype=DTYPE)
    eye = torch.eye(S.shape[0], dtype=DTYPE)
    torch.manual_seed(seed)
    W1 = (0.1 * torch.randn(k, S.shape[0], dtype=DTYPE)).requires_grad_()
    W2 = (0.1 * torch.randn(S.shape[0], k, dtype=DTYPE)).requires_grad_()
    optimizer = torch.optim.LBFGS(
        [W1, W2],
        max_iter=iterations,
        tolerance_grad=1e-10,
        tolerance_change=1e-14,
        history_size=20,
        line_search_fn="strong_wolfe",
    )

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        R = eye - W2 @ W1
        loss = torch.trace(R @ S @ R.T)
        loss.backward()
        return loss

    optimizer.step(closure)
    W1_, W2_ = W1.detach().numpy(), W2.detach().numpy()
    return W1_, W2_, reconstruction_loss(X, W1_, W2_)


def reconstruction_loss(X: np.ndarray, W1: np.ndarray, W2: np.ndarray) -> float:
    """The mean over the images of ‖x − W2 W1 x‖² (rows of X are images)."""
    return float(np.mean(np.sum((X @ W1.T @ W2.T - X) ** 2, axis=1)))


def probe_accuracy(W1: np.ndarray | None) -> float:
    """Test accuracy of scikit-learn's LogisticRegression (L2, C = 1, lbfgs) trained on the codes W1 x of the
    training pixels (the pixels themselves where W1 is None)."""
    from sklearn.linear_model import LogisticRegression

    data = split()
    A, B = (data.pixels_train, data.pixels_test) if W1 is None else (data.pixels_train @ W1.T, data.pixels_test @ W1.T)
    probe = LogisticRegression(max_iter=2000).fit(A, data.y_train)
    return float(probe.score(B, data.y_test))

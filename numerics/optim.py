"""PyTorch's own optimizers, run and recorded (float64).

``record`` runs ``torch.optim.Adagrad``, ``RMSprop`` or ``Adam`` on a random quadratic or a
small network and records, step by step, the parameters before the step, the gradient the
optimizer saw (before its weight decay) and the parameters after: what an independent
implementation of the rules is compared with.  ``states`` runs one with a prescribed
gradient sequence and returns its state after each step.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

DTYPE = torch.float64
OPTIMIZERS = {"adagrad": torch.optim.Adagrad, "rmsprop": torch.optim.RMSprop, "adam": torch.optim.Adam}
STATE_KEYS = {
    "adagrad": ("sum",),
    "rmsprop": ("square_avg", "grad_avg", "momentum_buffer"),
    "adam": ("exp_avg", "exp_avg_sq"),
}


def _quadratic(size: int, generator: torch.Generator) -> tuple[list[torch.Tensor], Callable[[], torch.Tensor]]:
    """½θᵀAθ − bᵀθ with A symmetric positive definite (eigenvalues in [0.1, 3])."""
    q, _ = torch.linalg.qr(torch.randn(size, size, dtype=DTYPE, generator=generator))
    A = q @ torch.diag(0.1 + 2.9 * torch.rand(size, dtype=DTYPE, generator=generator)) @ q.T
    b = torch.randn(size, dtype=DTYPE, generator=generator)
    theta = torch.randn(size, dtype=DTYPE, generator=generator).requires_grad_()
    return [theta], lambda: 0.5 * theta @ A @ theta - b @ theta


def _network(size: int, generator: torch.Generator) -> tuple[list[torch.Tensor], Callable[[], torch.Tensor]]:
    """A 1-hidden-layer tanh regressor on 32 random points, mean squared error."""
    x = torch.randn(32, 3, dtype=DTYPE, generator=generator)
    y = torch.sin(x.sum(dim=1, keepdim=True))
    W1 = (0.5 * torch.randn(size, 3, dtype=DTYPE, generator=generator)).requires_grad_()
    W2 = (0.5 * torch.randn(1, size, dtype=DTYPE, generator=generator)).requires_grad_()
    return [W1, W2], lambda: ((torch.tanh(x @ W1.T) @ W2.T - y) ** 2).mean()


PROBLEMS = {"quadratic": _quadratic, "network": _network}


def record(name: str, hyper: dict[str, Any], problem: str, size: int, steps: int, seed: int) -> dict[str, np.ndarray]:
    """Run torch.optim's ``name`` for ``steps`` steps; arrays of shape (steps, parameters)."""
    generator = torch.Generator().manual_seed(seed)
    params, loss = PROBLEMS[problem](size, generator)
    optimizer = OPTIMIZERS[name](params, **hyper)
    before, grads, after = [], [], []
    for _ in range(steps):
        optimizer.zero_grad()
        loss().backward()
        before.append(torch.cat([p.detach().reshape(-1) for p in params]).clone())
        grads.append(torch.cat([p.grad.reshape(-1) for p in params]).clone())
        optimizer.step()
        after.append(torch.cat([p.detach().reshape(-1) for p in params]).clone())
    return {
        "before": torch.stack(before).numpy(),
        "grad": torch.stack(grads).numpy(),
        "after": torch.stack(after).numpy(),
    }


def states(name: str, hyper: dict[str, Any], gradients: Sequence[float]) -> list[dict[str, float]]:
    """The optimizer's state of a scalar parameter after each of the prescribed gradients."""
    theta = torch.zeros(1, dtype=DTYPE, requires_grad=True)
    optimizer = OPTIMIZERS[name]([theta], **hyper)
    out = []
    for value in gradients:
        theta.grad = torch.tensor([value], dtype=DTYPE)
        optimizer.step()
        state = optimizer.state[theta]
        out.append({k: float(state[k][0]) for k in STATE_KEYS[name] if k in state})
    return out


def adam_first_moment_runs(beta1: float, steps: int, mean: float, sd: float, runs: int, seed: int) -> dict[str, float]:
    """torch.optim.Adam's exp_avg after ``steps`` steps in ``runs`` independent coordinates, each fed
    i.i.d. N(mean, sd²) gradients: the mean of m_t over the runs and its standard error."""
    generator = torch.Generator().manual_seed(seed)
    theta = torch.zeros(runs, dtype=DTYPE, requires_grad=True)
    optimizer = torch.optim.Adam([theta], betas=(beta1, 0.999))
    for _ in range(steps):
        theta.grad = mean + sd * torch.randn(runs, dtype=DTYPE, generator=generator)
        optimizer.step()
    m = optimizer.state[theta]["exp_avg"]
    return {"mean": float(m.mean()), "se": float(m.std()) / math.sqrt(runs)}


def classification_data(seed: int = 0, per_class: int = 100) -> tuple[torch.Tensor, torch.Tensor]:
    """Three Gaussian blobs in the plane (a fixed seed): the report's small classification task."""
    generator = torch.Generator().manual_seed(seed)
    centres = torch.tensor([[0.0, 2.0], [-1.7, -1.0], [1.7, -1.0]], dtype=DTYPE)
    x = torch.cat([c + 0.9 * torch.randn(per_class, 2, dtype=DTYPE, generator=generator) for c in centres])
    y = torch.arange(3).repeat_interleave(per_class)
    return x, y


Update = Callable[[list[np.ndarray], list[np.ndarray], int], list[np.ndarray]]


def train_classifier(name: str, hyper: dict[str, Any], steps: int, update: Update | None = None) -> list[float]:
    """Full-batch training of a 2-16-3 tanh classifier (cross-entropy), from a fixed seed: the loss at
    each step.  The step is torch.optim's ``name``, or ``update(params, grads, t)`` when given
    (numpy arrays in, new parameters out; gradients by autograd either way)."""
    x, y = classification_data()
    torch.manual_seed(1)
    net = torch.nn.Sequential(torch.nn.Linear(2, 16, dtype=DTYPE), torch.nn.Tanh(), torch.nn.Linear(16, 3, dtype=DTYPE))
    params = list(net.parameters())
    optimizer = OPTIMIZERS[name](params, **hyper) if update is None else None
    losses = []
    for t in range(1, steps + 1):
        loss = torch.nn.functional.cross_entropy(net(x), y)
        losses.append(loss.item())
        for p in params:
            p.grad = None
        loss.backward()
        if optimizer is not None:
            optimizer.step()
            continue
        new = update([p.detach().numpy().copy() for p in params], [p.grad.numpy().copy() for p in params], t)
        with torch.no_grad():
            for p, value in zip(params, new, strict=True):
                p.copy_(torch.from_numpy(value))
    return losses

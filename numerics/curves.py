"""Loss curves of a small classifier, with and without spikes (PyTorch, float64).

The classifier: one hidden ReLU layer (width 16; 256 for "a larger model") and 10 logits, torch.nn.Linear's
default initialisation from torch seed ``seed``, trained by full-batch gradient descent on the
cross-entropy of the digits' standardised training split (numerics.digits: 1,347 images). Full batch, so
that no spike comes from minibatch noise: each is the optimiser's own. Variants: the learning rate, a
linear warm-up over the first steps, clipping of the gradient's norm, 20 % of the labels replaced at
random, a longer run.

A spike above the initial loss: a step whose loss exceeds the loss at initialisation (≈ log K) after the
loss had fallen below half of it.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import torch

from numerics.digits import split

DTYPE = torch.float64
K = 10
STEPS = 150
SMALL, LARGE = 16, 256  # hidden widths
NOISE = 0.2  # fraction of the labels replaced by a uniform draw, for the "noisy labels" runs


@cache
def _data(noisy: bool) -> tuple[torch.Tensor, torch.Tensor]:
    data = split()
    y = data.y_train.copy()
    if noisy:
        rng = np.random.default_rng(0)
        replaced = rng.random(len(y)) < NOISE
        y[replaced] = rng.integers(0, K, int(replaced.sum()))
    return torch.tensor(data.train, dtype=DTYPE), torch.tensor(y)


def train(
    lr: float,
    width: int = SMALL,
    seed: int = 0,
    steps: int = STEPS,
    warmup: int = 0,
    clip: float | None = None,
    noisy: bool = False,
) -> list[float]:
    """The training loss before each step (the first is the loss at initialisation); ``warmup``: the rate
    rises linearly, lr·s/warmup at step s ≤ warmup; ``clip``: the gradient's norm is cut to it
    (torch.nn.utils.clip_grad_norm_)."""
    X, y = _data(noisy)
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(X.shape[1], width), torch.nn.ReLU(), torch.nn.Linear(width, K)).double()
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    losses = []
    for s in range(1, steps + 1):
        for group in optimizer.param_groups:
            group["lr"] = lr * min(1.0, s / warmup) if warmup else lr
        loss = torch.nn.functional.cross_entropy(net(X), y)
        optimizer.zero_grad()
        loss.backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(net.parameters(), clip)
        optimizer.step()
        losses.append(float(loss.detach()))
    return losses


def spikes_above_initial(losses: list[float]) -> list[int]:
    """The steps (0-based) whose loss exceeds the initial loss after the loss had fallen below half of it."""
    out, lowest = [], float("inf")
    for s, value in enumerate(losses):
        if value > losses[0] and lowest < losses[0] / 2:
            out.append(s)
        lowest = min(lowest, value)
    return out

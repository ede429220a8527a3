"""Cross-entropy and accuracy of untrained classifiers, in torch (float64).

Two kinds of untrained network: one whose output layer starts at zero (its logits tie
exactly, whatever the input), and one with small random weights everywhere (its logits
nearly tie), measured over many seeds.  Accuracy breaks ties uniformly at random, in
expectation: a sample whose label is among s tied maxima counts 1/s.
"""

from __future__ import annotations

import math

import numpy as np
import torch

DTYPE = torch.float64


def _network(inputs: int, hidden: int, classes: int, scale: float, zero_output: bool) -> torch.nn.Sequential:
    net = torch.nn.Sequential(
        torch.nn.Linear(inputs, hidden, dtype=DTYPE), torch.nn.ReLU(), torch.nn.Linear(hidden, classes, dtype=DTYPE)
    )
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(scale)
        if zero_output:
            net[2].weight.zero_()
            net[2].bias.zero_()
    return net


def _batch(classes: int, inputs: int, per_class: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Balanced labels: per_class samples of each class, Gaussian inputs."""
    x = torch.randn(classes * per_class, inputs, dtype=DTYPE, generator=generator)
    y = torch.arange(classes).repeat_interleave(per_class)
    return x, y


def expected_accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Accuracy with ties broken uniformly at random, in expectation (exact ties only)."""
    top = logits.max(dim=1, keepdim=True).values
    tied = logits == top
    hit = tied[torch.arange(len(labels)), labels].to(DTYPE)
    return float((hit / tied.sum(dim=1).to(DTYPE)).mean())


def zero_output_network(classes: int, inputs: int, hidden: int, per_class: int, seed: int) -> dict[str, float]:
    """Mean cross-entropy (nn.CrossEntropyLoss) and expected accuracy of a network whose output
    layer starts at zero, on a balanced batch."""
    torch.manual_seed(seed)
    net = _network(inputs, hidden, classes, 1.0, zero_output=True)
    x, y = _batch(classes, inputs, per_class, torch.Generator().manual_seed(seed + 1))
    with torch.no_grad():
        logits = net(x)
        loss = torch.nn.CrossEntropyLoss()(logits, y)
    return {"loss": float(loss), "accuracy": expected_accuracy(logits, y)}


def small_init_statistics(
    classes: int, seeds: int = 64, inputs: int = 8, hidden: int = 16, per_class: int = 8, scale: float = 1e-3
) -> dict[str, float]:
    """Over ``seeds`` networks with all weights at ``scale`` × PyTorch's default init, on balanced
    batches: the mean loss and accuracy (argmax; the logits do not tie exactly), their standard
    errors over all samples, and the largest half-variance of a sample's logits (the second-order
    term by which log-sum-exp exceeds log K + mean logit)."""
    losses, hits, spread = [], [], 0.0
    for seed in range(seeds):
        torch.manual_seed(seed)
        net = _network(inputs, hidden, classes, scale, zero_output=False)
        x, y = _batch(classes, inputs, per_class, torch.Generator().manual_seed(10_000 + seed))
        with torch.no_grad():
            logits = net(x)
            losses.append(torch.nn.functional.cross_entropy(logits, y, reduction="none"))
            hits.append((logits.argmax(dim=1) == y).to(DTYPE))
            spread = max(spread, float(logits.var(dim=1, unbiased=False).max()) / 2)
    loss, hit = torch.cat(losses).numpy(), torch.cat(hits).numpy()
    count = len(loss)
    return {
        "loss": float(loss.mean()),
        "loss_se": float(loss.std(ddof=1) / math.sqrt(count)),
        "accuracy": float(hit.mean()),
        "accuracy_se": float(np.sqrt(hit.mean() * (1 - hit.mean()) / count)),
        "samples": count,
        "second_order": spread,
    }

"""A ReLU network's forward values and gradients by autograd (float64).

f = ½‖Y − W_L relu(⋯ relu(W_1 X))‖_F²; every intermediate V_k keeps its gradient.  At an
entry exactly 0, torch's relu backward gives the subgradient 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

DTYPE = torch.float64
CATALOG_SHAPES = {"Y": (2, 50), "X": (5, 50), "W_1": (4, 5), "W_2": (3, 4), "W_3": (2, 3)}


def seeded_data() -> dict[str, np.ndarray]:
    """The catalog's matrices: torch.manual_seed(0), then torch.randn in the order Y, X, W1, W2, W3."""
    torch.manual_seed(0)
    return {name: torch.randn(shape, dtype=DTYPE).numpy() for name, shape in CATALOG_SHAPES.items()}


def backprop(X: np.ndarray, Y: np.ndarray, weights: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
    """V_1 … V_{2L−1} (values) and their gradients g_V1 …, and the gradients of W_1 … W_L."""
    Ws = [torch.tensor(W, dtype=DTYPE, requires_grad=True) for W in weights]
    nodes: list[torch.Tensor] = []
    current = torch.tensor(X, dtype=DTYPE)
    for level, W in enumerate(Ws, start=1):
        current = W @ current
        current.retain_grad()
        nodes.append(current)
        if level < len(Ws):
            current = torch.relu(current)
            current.retain_grad()
            nodes.append(current)
    z = 0.5 * ((torch.tensor(Y, dtype=DTYPE) - current) ** 2).sum()
    z.backward()
    out = {f"V_{k}": v.detach().numpy() for k, v in enumerate(nodes, start=1)}
    out.update({f"g_V{k}": v.grad.numpy() for k, v in enumerate(nodes, start=1)})
    out.update({f"W_{level}": W.grad.numpy() for level, W in enumerate(Ws, start=1)})
    return out

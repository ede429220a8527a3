"""Oracle for the residual block h_{t+1} = σ(W h + b) + h: its Jacobian by torch.func.jacrev."""

from __future__ import annotations

import numpy as np
import torch
from torch.func import jacrev

DTYPE = torch.float64


def block_jacobian(W: np.ndarray, h: np.ndarray, b: np.ndarray) -> np.ndarray:
    """∂h_{t+1}/∂h_t, entry [i, j] = ∂(h_{t+1})_i / ∂(h_t)_j."""
    W_, b_ = torch.as_tensor(W, dtype=DTYPE), torch.as_tensor(b, dtype=DTYPE).reshape(-1)

    def block(h_: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(W_ @ h_ + b_) + h_

    return jacrev(block)(torch.as_tensor(h, dtype=DTYPE).reshape(-1)).numpy()

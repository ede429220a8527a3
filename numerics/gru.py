"""Oracle for the GRU Jacobian: PyTorch's own torch.nn.GRUCell, differentiated by jacrev."""

from __future__ import annotations

import numpy as np
import torch
from torch.func import functional_call, jacrev

DTYPE = torch.float64


def dh_dhprev(weights: dict[str, np.ndarray], x: np.ndarray, h: np.ndarray) -> np.ndarray:
    """∂h_t/∂h_{t−1} of torch.nn.GRUCell; its stacked weights are [W_r; W_z; W_n] by PyTorch's convention."""
    m, d = weights["W_hr"].shape[0], weights["W_ir"].shape[1]
    cell = torch.nn.GRUCell(d, m, dtype=DTYPE)
    cat = lambda prefix: torch.as_tensor(  # noqa: E731 - a local shorthand
        np.concatenate([weights[f"{prefix}{g}"] for g in "rzn"]), dtype=DTYPE
    )
    params = {
        "weight_ih": cat("W_i"),
        "weight_hh": cat("W_h"),
        "bias_ih": cat("b_i").reshape(-1),
        "bias_hh": cat("b_h").reshape(-1),
    }
    x_ = torch.as_tensor(x, dtype=DTYPE).reshape(1, -1)

    def step(h_: torch.Tensor) -> torch.Tensor:
        return functional_call(cell, params, (x_, h_.reshape(1, -1))).reshape(-1)

    return jacrev(step)(torch.as_tensor(h, dtype=DTYPE).reshape(-1)).numpy()

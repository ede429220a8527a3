"""Oracle for the gated RNN c[t] = σ(W_c x[t] + W_h h[t−1]), h[t] = c[t] ⊙ h[t−1] + (1 − c[t]) ⊙ W_x x[t]."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import ArrayLike
from torch.func import jacrev

DTYPE = torch.float64


def _t(a) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a, dtype=float), dtype=DTYPE)


@dataclass
class Params:
    W_c: torch.Tensor
    W_h: torch.Tensor
    W_x: torch.Tensor

    @classmethod
    def from_arrays(cls, W_c: ArrayLike, W_h: ArrayLike, W_x: ArrayLike) -> Params:
        return cls(_t(W_c), _t(W_h), _t(W_x))


def gate(p: Params, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    return torch.sigmoid(p.W_c @ x + p.W_h @ h)


def step(p: Params, x: torch.Tensor, h: torch.Tensor, W_x: torch.Tensor | None = None) -> torch.Tensor:
    c = gate(p, x, h)
    return c * h + (1 - c) * ((p.W_x if W_x is None else W_x) @ x)


def gate_shape(m: int, n: int, seed: int = 0) -> tuple[int, int]:
    """The shape PyTorch gives c[t] for column vectors x (n×1), h (m×1)."""
    g = torch.Generator().manual_seed(seed)
    p = Params(
        torch.randn(m, n, generator=g, dtype=DTYPE),
        torch.randn(m, m, generator=g, dtype=DTYPE),
        torch.randn(m, n, generator=g, dtype=DTYPE),
    )
    c = gate(p, torch.randn(n, 1, generator=g, dtype=DTYPE), torch.randn(m, 1, generator=g, dtype=DTYPE))
    return tuple(c.shape)


def dh_dhprev(p: Params, x: ArrayLike, h_prev: ArrayLike) -> np.ndarray:
    x_ = _t(x).reshape(-1)
    return jacrev(lambda h: step(p, x_, h))(_t(h_prev).reshape(-1)).numpy()


@dataclass
class Unrolled:
    dl_dWx: np.ndarray  # autograd
    g: list[np.ndarray]  # ∂ℓ/∂h[t], total, each m×1
    c: list[np.ndarray]
    x: list[np.ndarray]


def unrolled(p: Params, xs: list, targets: list) -> Unrolled:
    """ℓ = ½ Σ_t ‖h[t] − target_t‖² over K steps from h[0] = 0; ∂ℓ/∂W_x and the givens g_t, c[t]."""
    W_x = p.W_x.clone().requires_grad_(True)
    h = torch.zeros(p.W_h.shape[0], dtype=DTYPE)
    states, gates = [], []
    loss = torch.zeros((), dtype=DTYPE)
    for x, target in zip(xs, targets, strict=True):
        x_ = _t(x).reshape(-1)
        gates.append(gate(p, x_, h).detach())
        h = step(p, x_, h, W_x)
        h.retain_grad()
        states.append(h)
        loss = loss + 0.5 * torch.sum((h - _t(target).reshape(-1)) ** 2)
    loss.backward()
    col = lambda v: v.numpy().reshape(-1, 1)  # noqa: E731 - a local shorthand
    return Unrolled(
        W_x.grad.numpy(),
        [col(s.grad) for s in states],
        [col(c) for c in gates],
        [np.asarray(x, dtype=float).reshape(-1, 1) for x in xs],
    )


def backprop_norms(p: Params, xs: list, h0: ArrayLike) -> list[float]:
    """‖∂h[K]/∂h[K−s]‖₂ for s = 1..K along the trajectory from h0: how a gradient grows or shrinks."""
    h = _t(h0).reshape(-1)
    jacobians = []
    for x in xs:
        x_ = _t(x).reshape(-1)
        jacobians.append(jacrev(lambda hh, x_=x_: step(p, x_, hh))(h))
        h = step(p, x_, h)
    norms, product = [], torch.eye(h.shape[0], dtype=DTYPE)
    for J in reversed(jacobians):
        product = product @ J
        norms.append(float(torch.linalg.matrix_norm(product, ord=2)))
    return norms

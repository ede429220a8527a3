"""Numeric oracle for the 1-D linear RNN h_t = w (u_t + h_{t-1}), h_0 = 0, y = h_T.

The recurrence is run in PyTorch (float64) and differentiated by autograd; nothing here
knows a closed form.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

DTYPE = torch.float64


def _leaf(value: float) -> torch.Tensor:
    return torch.tensor(value, dtype=DTYPE, requires_grad=True)


def graph_nodes(w: float, u: Sequence[float]) -> dict[str, float]:
    """Forward values of the T = 3 graph p, q, r, s, t, y."""
    w_t = torch.tensor(w, dtype=DTYPE)
    u1, u2, u3 = (torch.tensor(x, dtype=DTYPE) for x in u)
    h0 = torch.tensor(0.0, dtype=DTYPE)
    p = u1 + h0
    q = w_t * p
    r = q + u2
    s = w_t * r
    t = s + u3
    y = w_t * t
    return {k: float(v) for k, v in zip("pqrsty", (p, q, r, s, t, y), strict=True)}


def output(w: float | torch.Tensor, u: Sequence[float]) -> torch.Tensor:
    """y = h_T by running the recurrence forward."""
    w = w if isinstance(w, torch.Tensor) else torch.tensor(w, dtype=DTYPE)
    h = torch.zeros((), dtype=DTYPE)
    for u_t in torch.as_tensor(list(u), dtype=DTYPE):
        h = w * (u_t + h)
    return h


def dy_dw(w: float, u: Sequence[float]) -> float:
    """dy/dw by reverse-mode autograd through the unrolled recurrence."""
    w_leaf = _leaf(w)
    (grad,) = torch.autograd.grad(output(w_leaf, u), w_leaf)
    return float(grad)


def dy_dp(w: float, u: Sequence[float]) -> float:
    """∂y/∂p in the T = 3 graph: p = u_1 + h_0 is made a leaf and differentiated."""
    u1, u2, u3 = u
    p = _leaf(u1 + 0.0)
    h = w * p  # q
    h = w * (h + u2)  # s = w r
    y = w * (h + u3)  # y = w t
    (grad,) = torch.autograd.grad(y, p)
    return float(grad)


def edge_partials(w: float, u: Sequence[float]) -> list[float]:
    """The partial of y along each use of w: one independent leaf per time step.

    With a separate copy w_t of the weight at every step, ∂y/∂w_t is the partial along
    that edge alone; at T = 3 the copies are the edges into q, s and y.
    """
    copies = [_leaf(w) for _ in u]
    h = torch.zeros((), dtype=DTYPE)
    for w_t, u_t in zip(copies, torch.as_tensor(list(u), dtype=DTYPE), strict=True):
        h = w_t * (u_t + h)
    grads = torch.autograd.grad(h, copies)
    return [float(g) for g in grads]


ACTIVATIONS = {
    "linear": lambda z: z,
    "tanh": torch.tanh,
    "relu": torch.relu,
}


def state_gradients(w: float, u: Sequence[float], activation: str = "linear") -> list[float]:
    """|∂y/∂h_t| for t = 1..T, by autograd, for h_t = φ(w (u_t + h_{t-1})), y = h_T."""
    phi = ACTIVATIONS[activation]
    w_t = _leaf(w)  # a leaf that needs grad, so every state is part of the graph
    h = torch.zeros((), dtype=DTYPE)
    states = []
    for u_t in torch.as_tensor(list(u), dtype=DTYPE):
        h = phi(w_t * (u_t + h))
        h.retain_grad()
        states.append(h)
    h.backward()
    return [abs(float(s.grad)) for s in states]

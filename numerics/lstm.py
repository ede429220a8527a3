"""Oracle for the LSTM cell in the homework's row-vector convention (PyTorch, float64).

f = σ(x U^f + h W^f + b^f), i, o likewise, C̃ = tanh(x U^g + h W^g + b^g),
C' = f ∘ C + i ∘ C̃, h' = tanh(C') ∘ o.  An explicit module: torch.nn.LSTMCell writes the
same cell with column conventions and its own gate order, so it would hide layout
mistakes rather than expose them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import ArrayLike
from torch.func import jacrev

DTYPE = torch.float64
GATES = "fiog"


def _t(a) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a, dtype=float), dtype=DTYPE)


@dataclass
class Params:
    U: dict[str, torch.Tensor]  # n×m
    W: dict[str, torch.Tensor]  # m×m
    b: dict[str, torch.Tensor]  # m

    @classmethod
    def from_arrays(cls, U: dict, W: dict, b: dict) -> Params:
        return cls(
            {k: _t(v) for k, v in U.items()},
            {k: _t(v) for k, v in W.items()},
            {k: _t(v).reshape(-1) for k, v in b.items()},
        )


def gates(p: Params, x: torch.Tensor, h: torch.Tensor) -> dict[str, torch.Tensor]:
    out = {}
    for k in GATES:
        z = x @ p.U[k] + h @ p.W[k] + p.b[k]
        out[k] = torch.tanh(z) if k == "g" else torch.sigmoid(z)
    return out


def step(p: Params, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    a = gates(p, x, h)
    c_new = a["f"] * c + a["i"] * a["g"]
    return torch.tanh(c_new) * a["o"], c_new


def dC_dCprev(p: Params, x: ArrayLike, h_prev: ArrayLike, c_prev: ArrayLike) -> np.ndarray:
    """∂C_t/∂C_{t−1} with h_{t−1} fixed, by jacrev (entry [i, j] = ∂C_t[i]/∂C_{t−1}[j])."""
    x_, h_ = _t(x).reshape(-1), _t(h_prev).reshape(-1)
    return jacrev(lambda c: step(p, x_, h_, c)[1])(_t(c_prev).reshape(-1)).numpy()


def dh_dC(p: Params, x: ArrayLike, h_prev: ArrayLike, c_prev: ArrayLike) -> np.ndarray:
    """∂h_t/∂C_t: h_t as a function of C_t with the output gate (a function of x, h_{t−1}) fixed."""
    x_, h_ = _t(x).reshape(-1), _t(h_prev).reshape(-1)
    o = gates(p, x_, h_)["o"]
    c_t = step(p, x_, h_, _t(c_prev).reshape(-1))[1]
    return jacrev(lambda c: torch.tanh(c) * o)(c_t).numpy()


@dataclass
class TwoSteps:
    """Two steps T−1, T from (h_{T−2}, C_{T−2}): the givens of ∂L/∂C_{T−1}, and the oracle's value."""

    givens: dict[str, np.ndarray]
    dL_dCprev: np.ndarray


def two_steps(p: Params, xs: list, h0: ArrayLike, c0: ArrayLike, target: ArrayLike) -> TwoSteps:
    """L = ½‖h_T − target‖² after two steps; ∂L/∂C_{T−1} by autograd from C_{T−1} as a leaf."""
    x1, x2 = (_t(x).reshape(-1) for x in xs)
    h0_, c0_, target_ = _t(h0).reshape(-1), _t(c0).reshape(-1), _t(target).reshape(-1)
    o_prev = gates(p, x1, h0_)["o"]
    c_prev = step(p, x1, h0_, c0_)[1].detach().requires_grad_(True)
    h_prev = torch.tanh(c_prev) * o_prev  # h_{T−1} as a function of the leaf C_{T−1}
    h_T, c_T = step(p, x2, h_prev, c_prev)
    loss = 0.5 * torch.sum((h_T - target_) ** 2)
    (grad,) = torch.autograd.grad(loss, c_prev)
    # the givens: g = ∂L/∂h_T, J = dh_T/dh_{T−1} (the whole step, C_{T−1} fixed), the gates and cells
    c_fixed = c_prev.detach()
    J = jacrev(lambda h: step(p, x2, h, c_fixed)[0])(h_prev.detach()).numpy()
    a = gates(p, x2, h_prev.detach())
    row = lambda v: v.detach().numpy().reshape(1, -1)  # noqa: E731 - a local shorthand
    givens = {
        "g": row(h_T - target_),
        "J": J,
        "f_T": row(a["f"]),
        "o_T": row(a["o"]),
        "C_T": row(c_T),
        "o_{T-1}": row(o_prev),
        "C_{T-1}": row(c_prev),
    }
    return TwoSteps(givens, grad.numpy().reshape(1, -1))

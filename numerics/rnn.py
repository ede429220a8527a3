"""Oracle for the vanilla RNN h_t = φ(W^h h_{t-1} + W^x x_t + b), ŷ_t = W^f h_t + b^f, h_0 = 0.

The network is run in PyTorch (float64); ∂L/∂h_t comes from autograd with the state
h_t kept in the graph (retain_grad), the losses from torch.nn.functional.mse_loss.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import ArrayLike

DTYPE = torch.float64
ACTIVATIONS = {"linear": lambda z: z, "tanh": torch.tanh, "sigma": torch.sigmoid, "relu": torch.relu}


def _t(a) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a, dtype=float), dtype=DTYPE)


@dataclass
class Run:
    states: list[torch.Tensor]  # h_1..h_T, each (m,)
    outputs: list[torch.Tensor]  # ŷ_1..ŷ_T, each a scalar


def forward(
    W_h: ArrayLike, W_x: ArrayLike, W_f: ArrayLike, b: ArrayLike, b_f: float, xs: Sequence, activation: str = "linear"
) -> Run:
    """Run the RNN from h_0 = 0 over the inputs x_1..x_T (each n-vector)."""
    phi = ACTIVATIONS[activation]
    W_h, W_x, W_f, b = _t(W_h), _t(W_x), _t(W_f).reshape(-1), _t(b).reshape(-1)
    h = torch.zeros(W_h.shape[0], dtype=DTYPE, requires_grad=True)
    states, outputs = [], []
    for x_t in xs:
        h = phi(W_h @ h + W_x @ _t(x_t).reshape(-1) + b)
        h.retain_grad()
        states.append(h)
        outputs.append(W_f @ h + b_f)
    return Run(states, outputs)


def dL_dh(
    W_h: ArrayLike,
    W_x: ArrayLike,
    W_f: ArrayLike,
    b: ArrayLike,
    b_f: float,
    xs: Sequence,
    y_T: float,
    t: int,
    activation: str = "linear",
) -> np.ndarray:
    """∂L/∂h_t for L = (ŷ_T − y_T)², as a 1×m row, by autograd."""
    run = forward(W_h, W_x, W_f, b, b_f, xs, activation)
    loss = (run.outputs[-1] - y_T) ** 2
    loss.backward()
    return run.states[t - 1].grad.numpy().reshape(1, -1)


def states_and_output(
    W_h: ArrayLike, W_x: ArrayLike, W_f: ArrayLike, b: ArrayLike, b_f: float, xs: Sequence, activation: str
) -> tuple[list[np.ndarray], float]:
    """The states h_1..h_T (as m×1 arrays) and ŷ_T: the givens of the formula."""
    run = forward(W_h, W_x, W_f, b, b_f, xs, activation)
    return [s.detach().numpy().reshape(-1, 1) for s in run.states], float(run.outputs[-1].detach())


def mse_all_steps(yhat: Sequence[float], y: Sequence[float]) -> float:
    return float(F.mse_loss(_t(yhat), _t(y), reduction="mean"))


def mse_last_step(yhat: Sequence[float], y: Sequence[float]) -> float:
    return float(F.mse_loss(_t(yhat[-1:]), _t(y[-1:]), reduction="mean"))


def gradient_norms(W_h: ArrayLike, W_f: ArrayLike, T: int, y_T: float = 0.0) -> list[float]:
    """‖∂L/∂h_t‖ for t = 1..T of a linear RNN, by autograd.

    A linear RNN's gradient does not depend on its inputs, so zero inputs and bias, with
    b^f = 1 making ŷ_T − y_T = 1 − y_T nonzero, expose it."""
    m = np.asarray(W_h).shape[0]
    xs = [np.zeros(1)] * T
    run = forward(W_h, np.zeros((m, 1)), W_f, np.zeros(m), 1.0, xs, "linear")
    ((run.outputs[-1] - y_T) ** 2).backward()
    return [float(torch.linalg.vector_norm(s.grad)) for s in run.states]


def state_gradient_norms(
    W_h: ArrayLike, W_x: ArrayLike, W_f: ArrayLike, b: ArrayLike, xs: Sequence, activation: str
) -> list[float]:
    """‖∂L/∂h_t‖ for t = 1..T, L = (ŷ_T − 0)², for any activation, by autograd."""
    run = forward(W_h, W_x, W_f, b, 0.0, xs, activation)
    (run.outputs[-1] ** 2).backward()
    return [float(torch.linalg.vector_norm(s.grad)) for s in run.states]

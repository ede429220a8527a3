"""Oracle for ∂ℓ/∂h[T] in AttentionRNN(k) (PyTorch, float64): autograd through the unrolled model.

The states h[1..T] are given (leaves); steps t = T+1, …, T+k+2 each attend to s_0 = x[t] and
s_i = h[t−i] (i = 1..k) with their own Q_i, K_i, V_i, as numerics.attention_rnn computes one step.
ℓ = ½ Σ_{t>T} ‖h[t] − y[t]‖² depends on h[T] only through later states.  Returned beside autograd's
∂ℓ/∂h[T]: the total gradients ∂ℓ/∂h[t] (rows, every path from h[t] on) and h[T]'s direct entries
∂h[t]/∂h[T] (jacrev of step t in its h[T] slot, the other attended states held), t = T+1..T+k.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.func import jacrev

from numerics.attention_rnn import attend

DTYPE = torch.float64
EXTRA = 2  # steps past T+k, so that ℓ also reads states that depend on h[T] only through others


@dataclass
class Backprop:
    g: list[np.ndarray]  # ∂ℓ/∂h[t] (1×n) for t = 1..T+k; zero rows for t ≤ T (not used)
    J: list[np.ndarray]  # ∂h[t]/∂h[T] (n×n) for t = 1..T+k; zero for t ≤ T
    dl_dhT: np.ndarray  # autograd's ∂ℓ/∂h[T] (1×n)


def _t(a) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a, dtype=float), dtype=DTYPE)


def backprop(Q: list, K: list, V: list, states: list, xs: list, targets: list, k: int) -> Backprop:
    """``states``: h[1..T]; ``xs`` and ``targets``: x[t], y[t] for t = T+1..T+k+EXTRA; Q, K, V: k+1 n×n each."""
    Qs, Ks, Vs = ([_t(a) for a in M] for M in (Q, K, V))
    h = [_t(s).reshape(-1).requires_grad_() for s in states]
    T, n = len(h), h[0].numel()
    if T < k:
        raise ValueError(f"AttentionRNN({k}) needs k = {k} earlier states, got {T}")

    def step(x: torch.Tensor, attended: list[torch.Tensor]) -> torch.Tensor:
        return attend(Qs, Ks, Vs, [x, *attended])[0]

    later = []
    direct = []
    for j, x in enumerate(xs):
        x_ = _t(x).reshape(-1)
        history = h + later
        attended = [history[-i] for i in range(1, k + 1)]  # h[t−1], …, h[t−k]
        if j < k:  # h[T] is attended as s_{j+1}: its direct entry, the other states held
            slot = j

            def through(
                v: torch.Tensor, slot: int = slot, x_: torch.Tensor = x_, held: list = attended
            ) -> torch.Tensor:
                return step(x_, [v if i == slot else s.detach() for i, s in enumerate(held)])

            direct.append(jacrev(through)(h[-1].detach()).numpy())
        state = step(x_, attended)
        state.retain_grad()
        later.append(state)
    loss = sum(0.5 * ((s - _t(y).reshape(-1)) ** 2).sum() for s, y in zip(later, targets, strict=True))
    loss.backward()
    zero_row, zero_square = np.zeros((1, n)), np.zeros((n, n))
    g = [zero_row] * T + [s.grad.numpy().reshape(1, -1) for s in later[:k]]
    J = [zero_square] * T + direct
    return Backprop(g, J, h[-1].grad.numpy().reshape(1, -1))

"""Oracle for AttentionRNN(k) and AttentionRNN(∞) (PyTorch, float64).

s_0 = x[t], s_i = h[t−i]; q_i = Q_i s_i, k_i = K_i s_i, v_i = V_i s_i; w_i = q_iᵀ k_i;
a = softmax(w); h[t] = Σ_i a_i v_i.  For AttentionRNN(∞) the same Q, K, V serve every s_i.
"""

from __future__ import annotations

import numpy as np
import torch
from numpy.typing import ArrayLike
from torch.func import jacrev

DTYPE = torch.float64


def _t(a) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a, dtype=float), dtype=DTYPE)


def attend(
    Qs: ArrayLike, Ks: ArrayLike, Vs: ArrayLike, states: list[torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor]:
    """h[t] and the weights a for the attended states s_0, s_1, … (one Q, K, V each)."""
    scores = torch.stack([(Q @ s) @ (K @ s) for Q, K, s in zip(Qs, Ks, states, strict=True)])
    a = torch.softmax(scores, dim=0)
    h = sum(a_i * (V @ s) for a_i, V, s in zip(a, Vs, states, strict=True))
    return h, a


def step(Q: ArrayLike, K: ArrayLike, V: ArrayLike, x: ArrayLike, past: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """AttentionRNN(k) for k = len(past): h[t] (n×1) and a[t] (k+1 weights)."""
    states = [_t(x).reshape(-1)] + [_t(h).reshape(-1) for h in past]
    h, a = attend([_t(q) for q in Q], [_t(k) for k in K], [_t(v) for v in V], states)
    return h.numpy().reshape(-1, 1), a.numpy()


def dh_dhprev(Q: ArrayLike, K: ArrayLike, V: ArrayLike, x: ArrayLike, past: ArrayLike) -> np.ndarray:
    """∂h[t]/∂h[t−1] by jacrev, the other attended states held fixed."""
    Qs, Ks, Vs = [_t(q) for q in Q], [_t(k) for k in K], [_t(v) for v in V]
    rest = [_t(h).reshape(-1) for h in past[1:]]
    x_ = _t(x).reshape(-1)
    return jacrev(lambda h1: attend(Qs, Ks, Vs, [x_, h1, *rest])[0])(_t(past[0]).reshape(-1)).numpy()


def infinite_dh_dhprev(Q: ArrayLike, K: ArrayLike, V: ArrayLike, x: ArrayLike, past: ArrayLike) -> np.ndarray:
    """AttentionRNN(∞): one shared Q, K, V over x[t] and every past state h[t−1], …, h[1]."""
    k = len(past)
    return dh_dhprev([Q] * (k + 1), [K] * (k + 1), [V] * (k + 1), x, past)


def infinite_step(
    Q: ArrayLike, K: ArrayLike, V: ArrayLike, x: ArrayLike, past: ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    k = len(past)
    return step([Q] * (k + 1), [K] * (k + 1), [V] * (k + 1), x, past)

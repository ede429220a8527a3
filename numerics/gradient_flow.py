"""Experiments on how gradients flow back through time and depth (PyTorch autograd, float64).

Each function is seeded and returns what it measured; the sizes, seeds and grids are the module's
constants, which the descriptions (dlverify/problems/measured.py) and the manual state.

- ``activation_grid``: a vanilla RNN h_t = φ(W^h h_{t−1} + W^x x_t + b) with φ = ReLU and φ = tanh on the
  same weights and inputs, over a grid of spectral radii of W^h: ‖∂L/∂h_1‖/‖∂L/∂h_T‖ and ‖h_T‖.
- ``per_step_terms``: a tanh RNN with a loss at every step; each term ‖∂L_k/∂h_t‖ against k − t.
- ``decay_rates``: the per-step decay of ‖∂L/∂h_t‖ for an LSTM and a tanh RNN of the same hidden size.
- ``lstm_backprop_norms``: ‖∂L/∂h_1‖ of a given LSTM as the sequence grows (a stored witness).
- ``residual_jacobians``: ‖∂h_L/∂h_0‖_2 of a stack of sigmoid layers with and without skip connections.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch.func import jacrev

from numerics import lstm

DTYPE = torch.float64

# ---- ReLU against tanh ---------------------------------------------------------------------

RADII = tuple(2 ** (j / 2) for j in range(-4, 5))  # spectral radii 1/4 … 4, evenly spaced in log
GRID_SEEDS = tuple(range(20))
GRID_SIZES = {"m": 32, "n": 4, "T": 60}
FACTOR = 1e3  # "grows" / "shrinks": by more than this factor over the sequence (state: ‖h_T‖ above it)


@dataclass(frozen=True)
class Run:
    activation: str
    radius: float
    seed: int
    ratio: float  # ‖∂L/∂h_1‖ / ‖∂L/∂h_T‖
    state: float  # ‖h_T‖
    norms: tuple[float, ...]  # ‖∂L/∂h_t‖ for t = 1..T


def _rnn_weights(radius: float, seed: int, m: int, n: int, T: int) -> dict[str, torch.Tensor]:
    """W^h Gaussian scaled to spectral radius ``radius``; W^x ~ N(0, 1/n); b ~ N(0, 0.1²); x_t ~ N(0, 1);
    L = W^f h_T with W^f ~ N(0, 1/m). One generator, drawn in this order."""
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(m, m))
    A *= radius / max(abs(np.linalg.eigvals(A)))
    return {
        "W_h": torch.tensor(A, dtype=DTYPE),
        "W_x": torch.tensor(rng.normal(size=(m, n)) / math.sqrt(n), dtype=DTYPE),
        "b": torch.tensor(0.1 * rng.normal(size=m), dtype=DTYPE),
        "W_f": torch.tensor(rng.normal(size=m) / math.sqrt(m), dtype=DTYPE),
        "x": torch.tensor(rng.normal(size=(T, n)), dtype=DTYPE),
    }


def vanilla_run(activation: str, w: dict[str, torch.Tensor]) -> tuple[list[float], float]:
    """‖∂L/∂h_t‖ for t = 1..T (autograd, each h_t a node) and ‖h_T‖, for L = W^f h_T."""
    phi = torch.relu if activation == "relu" else torch.tanh
    h = _start(w["W_h"].shape[0])
    states = []
    for x in w["x"]:
        h = phi(w["W_h"] @ h + w["W_x"] @ x + w["b"])
        states.append(h)
    grads = torch.autograd.grad(w["W_f"] @ states[-1], states)
    return [float(g.norm()) for g in grads], float(states[-1].detach().norm())


def _start(m: int) -> torch.Tensor:
    """h_0 = 0 as a leaf that autograd tracks, so that every later state is a node it differentiates at."""
    return torch.zeros(m, dtype=DTYPE, requires_grad=True)


def activation_grid(radii: tuple[float, ...] = RADII, seeds: tuple[int, ...] = GRID_SEEDS) -> list[Run]:
    """Both activations on the same weights and inputs at every (radius, seed)."""
    out = []
    for radius in radii:
        for seed in seeds:
            w = _rnn_weights(radius, seed, **GRID_SIZES)
            for activation in ("relu", "tanh"):
                norms, state = vanilla_run(activation, w)
                out.append(Run(activation, radius, seed, norms[0] / norms[-1], state, tuple(norms)))
    return out


# ---- a loss at every step --------------------------------------------------------------

TERMS_SIZES = {"m": 16, "T": 50}
TERMS_SEEDS = tuple(range(10))


def _default_rnn(seed: int, m: int, n: int = 1) -> dict[str, torch.Tensor]:
    """torch.nn.RNN's default initialisation: every weight and bias U(−1/√m, 1/√m), from torch seed ``seed``."""
    g = torch.Generator().manual_seed(seed)
    bound = 1 / math.sqrt(m)

    def draw(*shape: int) -> torch.Tensor:
        return (torch.rand(*shape, generator=g, dtype=DTYPE) * 2 - 1) * bound

    return {"W_h": draw(m, m), "W_x": draw(m, n), "b": draw(m), "W_f": draw(m), "b_f": draw(1), "g": g}


def per_step_terms(seed: int, m: int = TERMS_SIZES["m"], T: int = TERMS_SIZES["T"]) -> np.ndarray:
    """‖∂L_k/∂h_t‖ for 1 ≤ t ≤ k ≤ T (an upper-triangular T×T array, entry [t−1, k−1]; 0 where t > k) of a tanh
    RNN at torch.nn.RNN's default initialisation on the running-average task (x_t ~ U(0, 1), y_t the mean of
    x_1..x_t), L_k = (ŷ_k − y_k)² with ŷ_k = W^f h_k + b^f, so that L = Σ_k L_k has a loss at every step."""
    w = _default_rnn(seed, m)
    x = torch.rand(T, 1, generator=w["g"], dtype=DTYPE)
    y = torch.cumsum(x[:, 0], 0) / torch.arange(1, T + 1, dtype=DTYPE)
    states = _tanh_states(w, x)
    out = np.zeros((T, T))
    for k in range(T):
        loss = (w["W_f"] @ states[k] + w["b_f"][0] - y[k]) ** 2
        grads = torch.autograd.grad(loss, states[: k + 1], retain_graph=True)
        out[: k + 1, k] = [float(g.norm()) for g in grads]
    return out


def total_gradients(seed: int, m: int = TERMS_SIZES["m"], T: int = TERMS_SIZES["T"]) -> np.ndarray:
    """‖∂L/∂h_t‖ for L = Σ_k L_k in one backward pass: the same network as per_step_terms, whose terms
    must add up to it (a check of the per-term measurement against autograd's total)."""
    w = _default_rnn(seed, m)
    x = torch.rand(T, 1, generator=w["g"], dtype=DTYPE)
    y = torch.cumsum(x[:, 0], 0) / torch.arange(1, T + 1, dtype=DTYPE)
    states = _tanh_states(w, x)
    loss = sum((w["W_f"] @ s + w["b_f"][0] - y[k]) ** 2 for k, s in enumerate(states))
    return np.array([float(g.norm()) for g in torch.autograd.grad(loss, states)])


def per_step_vectors(seed: int, m: int = TERMS_SIZES["m"], T: int = TERMS_SIZES["T"]) -> np.ndarray:
    """∂L_k/∂h_t as vectors, array [t−1, k−1, :] (0 where t > k): their sum over k is ∂L/∂h_t."""
    w = _default_rnn(seed, m)
    x = torch.rand(T, 1, generator=w["g"], dtype=DTYPE)
    y = torch.cumsum(x[:, 0], 0) / torch.arange(1, T + 1, dtype=DTYPE)
    states = _tanh_states(w, x)
    out = np.zeros((T, T, m))
    for k in range(T):
        loss = (w["W_f"] @ states[k] + w["b_f"][0] - y[k]) ** 2
        for t, g in enumerate(torch.autograd.grad(loss, states[: k + 1], retain_graph=True)):
            out[t, k] = g.numpy()
    return out


def _tanh_states(w: dict[str, torch.Tensor], x: torch.Tensor) -> list[torch.Tensor]:
    h = _start(w["W_h"].shape[0])
    states = []
    for x_t in x:
        h = torch.tanh(w["W_h"] @ h + w["W_x"] @ x_t + w["b"])
        states.append(h)
    return states


# ---- LSTM against a tanh RNN -------------------------------------------------------------

DECAY_SIZES = {"m": 32, "n": 4, "T": 60}
DECAY_SEEDS = tuple(range(20))


def _uniform(g: torch.Generator, bound: float, *shape: int) -> torch.Tensor:
    return (torch.rand(*shape, generator=g, dtype=DTYPE) * 2 - 1) * bound


def lstm_params(seed: int, m: int, n: int, forget_bias: float | None = None) -> lstm.Params:
    """torch.nn.LSTM's default initialisation (every weight and bias U(−1/√m, 1/√m)) in the row convention
    of numerics.lstm; ``forget_bias`` sets b^f (1 is the common practice), else it is drawn too."""
    g = torch.Generator().manual_seed(seed)
    bound = 1 / math.sqrt(m)
    U = {k: _uniform(g, bound, n, m) for k in lstm.GATES}
    W = {k: _uniform(g, bound, m, m) for k in lstm.GATES}
    b = {k: _uniform(g, bound, m) for k in lstm.GATES}
    if forget_bias is not None:
        b["f"] = torch.full((m,), float(forget_bias), dtype=DTYPE)
    return lstm.Params(U, W, b)


def decay_rate(kind: str, seed: int, forget_bias: float | None = None, **sizes: int) -> tuple[float, list[float]]:
    """(‖∂L/∂h_1‖ / ‖∂L/∂h_T‖)^{1/(T−1)}, the per-step factor by which the gradient shrinks, and the norms
    ‖∂L/∂h_t‖ (t = 1..T), for L = h_T w (w ~ N(0, 1/m)) after T steps of inputs x_t ~ N(0, 1) (rows).
    ``kind`` is "lstm" (numerics.lstm's cell) or "rnn" (h_t = tanh(x_t U + h_{t−1} W + b)), both at the
    default initialisation from torch seed ``seed``; the inputs and w come from seed + 10⁶."""
    m, n, T = (sizes.get(k, DECAY_SIZES[k]) for k in ("m", "n", "T"))
    g = torch.Generator().manual_seed(seed + 1_000_000)
    xs = torch.randn(T, n, generator=g, dtype=DTYPE)
    w = torch.randn(m, generator=g, dtype=DTYPE) / math.sqrt(m)
    h = _start(m)
    states = []
    if kind == "lstm":
        p = lstm_params(seed, m, n, forget_bias)
        c = torch.zeros(m, dtype=DTYPE)
        for x in xs:
            h, c = lstm.step(p, x, h, c)
            states.append(h)
    else:
        gen = torch.Generator().manual_seed(seed)
        bound = 1 / math.sqrt(m)
        U, W, b = _uniform(gen, bound, n, m), _uniform(gen, bound, m, m), _uniform(gen, bound, m)
        for x in xs:
            h = torch.tanh(x @ U + h @ W + b)
            states.append(h)
    grads = torch.autograd.grad(states[-1] @ w, states)
    norms = [float(v.norm()) for v in grads]
    return (norms[0] / norms[-1]) ** (1 / (T - 1)), norms


def lstm_backprop_norms(params: lstm.Params, xs: np.ndarray, w: np.ndarray, lengths: tuple[int, ...]) -> list[float]:
    """‖∂L/∂h_1‖ for L = h_T w after T steps, for each T in ``lengths`` (one run of the longest)."""
    x = torch.as_tensor(np.asarray(xs, dtype=float), dtype=DTYPE)
    w_ = torch.as_tensor(np.asarray(w, dtype=float), dtype=DTYPE)
    m = w_.numel()
    h, c = _start(m), torch.zeros(m, dtype=DTYPE)
    states = []
    for t in range(max(lengths)):
        h, c = lstm.step(params, x[t], h, c)
        states.append(h)
    return [float(torch.autograd.grad(states[T - 1] @ w_, states[0], retain_graph=True)[0].norm()) for T in lengths]


# ---- skip connections over depth ---------------------------------------------------------

DEPTHS = (1, 2, 4, 8, 16, 32, 64)
DEPTH_SEEDS = tuple(range(10))
DEPTH_WIDTH = 16


@dataclass(frozen=True)
class DepthRun:
    seed: int
    skip: tuple[float, ...]  # ‖∂h_L/∂h_0‖_2 with h_{t+1} = σ(W_t h_t + b_t) + h_t, at each depth of DEPTHS
    plain: tuple[float, ...]  # the same layers without the skip: h_{t+1} = σ(W_t h_t + b_t)
    weight_norms: tuple[float, ...]  # ‖W_t‖_2, t = 0..max(DEPTHS)−1


def residual_jacobians(seed: int, depths: tuple[int, ...] = DEPTHS, m: int = DEPTH_WIDTH) -> DepthRun:
    """W_t ~ N(0, 1/m) entries, b_t ~ N(0, 1), h_0 ~ N(0, I), σ the logistic sigmoid; ∂h_L/∂h_0 by jacrev of
    the whole stack of L layers (one function per depth), with and without the skip."""
    rng = np.random.default_rng(seed)
    L = max(depths)
    Ws = [torch.tensor(rng.normal(size=(m, m)) / math.sqrt(m), dtype=DTYPE) for _ in range(L)]
    bs = [torch.tensor(rng.normal(size=m), dtype=DTYPE) for _ in range(L)]
    h0 = torch.tensor(rng.normal(size=m), dtype=DTYPE)

    def stack(depth: int, skip: bool):
        def f(h: torch.Tensor) -> torch.Tensor:
            for W, b in zip(Ws[:depth], bs[:depth], strict=True):
                h = torch.sigmoid(W @ h + b) + (h if skip else 0)
            return h

        return f

    def norm(depth: int, skip: bool) -> float:
        return float(torch.linalg.matrix_norm(jacrev(stack(depth, skip))(h0), ord=2))

    return DepthRun(
        seed,
        tuple(norm(d, True) for d in depths),
        tuple(norm(d, False) for d in depths),
        tuple(float(torch.linalg.matrix_norm(W, ord=2)) for W in Ws),
    )

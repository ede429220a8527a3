"""The running-average experiment: can a small sigmoid RNN learn y_t = (1/t) Σ_{i≤t} x_i?

Data, sizes and seeds are fixed (CONFIG); training is full-batch Adam in float64 on the
MSE over every step.  Deterministic on one machine: torch.manual_seed and one thread.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cache

import torch

DTYPE = torch.float64


@dataclass(frozen=True)
class Config:
    sequences: int = 256
    length: int = 10
    hidden: int = 8
    steps: int = 3000
    lr: float = 0.01
    seed: int = 0


CONFIG = Config()


def data(cfg: Config) -> tuple[torch.Tensor, torch.Tensor]:
    """x ~ U(0, 1), shape (sequences, length, 1); y_t the running mean of x_1..x_t."""
    g = torch.Generator().manual_seed(cfg.seed)
    x = torch.rand(cfg.sequences, cfg.length, 1, generator=g, dtype=DTYPE)
    y = torch.cumsum(x, dim=1) / torch.arange(1, cfg.length + 1, dtype=DTYPE).reshape(1, -1, 1)
    return x, y


class SigmoidRNN(torch.nn.Module):
    """h_t = σ(W^h h_{t−1} + W^x x_t + b) in each layer; ŷ_t = W^f h_t + b^f on the last."""

    def __init__(self, layers: int, hidden: int) -> None:
        super().__init__()
        sizes = [1] + [hidden] * layers
        pairs = zip(sizes, sizes[1:], strict=False)
        self.input = torch.nn.ModuleList(torch.nn.Linear(a, b, dtype=DTYPE) for a, b in pairs)
        self.recurrent = torch.nn.ModuleList(
            torch.nn.Linear(hidden, hidden, bias=False, dtype=DTYPE) for _ in sizes[1:]
        )
        self.out = torch.nn.Linear(hidden, 1, dtype=DTYPE)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        seq = x
        for W_x, W_h in zip(self.input, self.recurrent, strict=True):
            driven = W_x(seq)  # W^x x_t + b for every t at once: only W^h h_{t−1} is sequential
            h = torch.sigmoid(driven[:, 0])  # h_0 = 0
            states = [h]
            for t in range(1, seq.shape[1]):
                h = torch.sigmoid(torch.addmm(driven[:, t], h, W_h.weight.T))
                states.append(h)
            seq = torch.stack(states, dim=1)
        return self.out(seq)


@cache
def train(layers: int, cfg: Config = CONFIG) -> dict:
    """Final training MSE (over all steps) of a `layers`-layer RNN, and its curve every 100 steps."""
    torch.manual_seed(cfg.seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        x, y = data(cfg)
        model = SigmoidRNN(layers, cfg.hidden)
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
        curve = []
        for step in range(cfg.steps):
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            if step % 100 == 0:
                curve.append(float(loss.detach()))
        with torch.no_grad():
            final = float(torch.nn.functional.mse_loss(model(x), y))
    finally:
        torch.set_num_threads(threads)
    return {"layers": layers, "final_mse": final, "curve": curve, "config": asdict(cfg)}

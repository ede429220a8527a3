"""Beam search with an LSTM decoder, instrumented: what each hypothesis keeps, and what that costs.

The decoder is a small LSTM language model (numerics.lstm's cell, row convention) with random weights
from a fixed seed: token embeddings E (V×n), the cell (hidden size m), logits h W_o + b_o. From the state
(h, C) after a prefix, the next token's log-probabilities are log_softmax(h W_o + b_o); (h_0, C_0) = 0.

``search(keep)`` runs beam search where each hypothesis stores only the items in ``keep`` (the names of
ITEMS) and gets the rest back as it can: a missing final state by running the decoder over the stored
tokens from the start (each step counted as recomputation), a missing score from the stored logits or by
recomputation, and where neither is possible it goes on without (a state of zeros, the last step's
log-probability as the score) — or fails (no tokens: nothing to return). Its beams are compared with
``numerics.beam.beam_search`` over the same decoder (which recomputes every prefix from the start).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from numerics import beam, lstm

DTYPE = torch.float64
ITEMS = (
    "tokens so far",
    "final hidden state",
    "final cell state",
    "every hidden state",
    "log-probability so far",
    "all logits",
)
SIZES = {"V": 5, "n": 4, "m": 8, "T": 4, "K": 3}


@dataclass
class Decoder:
    E: torch.Tensor
    cell: lstm.Params
    W_o: torch.Tensor
    b_o: torch.Tensor
    calls: int = 0  # cell steps run

    def start(self) -> tuple[torch.Tensor, torch.Tensor]:
        m = self.W_o.shape[0]
        return torch.zeros(m, dtype=DTYPE), torch.zeros(m, dtype=DTYPE)

    def step(self, token: int, h: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self.calls += 1
        return lstm.step(self.cell, self.E[token], h, c)

    def logits(self, h: torch.Tensor) -> torch.Tensor:
        return h @ self.W_o + self.b_o

    def run(self, tokens: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
        h, c = self.start()
        for token in tokens:
            h, c = self.step(token, h, c)
        return h, c


def decoder(seed: int = 0, V: int = SIZES["V"], n: int = SIZES["n"], m: int = SIZES["m"]) -> Decoder:
    g = torch.Generator().manual_seed(seed)

    def draw(*shape: int, scale: float = 1.0) -> torch.Tensor:
        return scale * torch.randn(*shape, generator=g, dtype=DTYPE)

    cell = lstm.Params(
        {k: draw(n, m) for k in lstm.GATES},
        {k: draw(m, m, scale=1 / math.sqrt(m)) for k in lstm.GATES},
        {k: draw(m, scale=0.5) for k in lstm.GATES},
    )
    return Decoder(draw(V, n), cell, draw(m, V, scale=2.0), draw(V, scale=0.5))


def reference(seed: int = 0, T: int = SIZES["T"], K: int = SIZES["K"]) -> list[tuple[tuple[int, ...], float]]:
    """The final beam of numerics.beam.beam_search over the decoder, every prefix run from the start."""
    d = decoder(seed)

    def model(prefix: tuple[int, ...]) -> list[float]:
        h, _ = d.run(prefix)
        return torch.log_softmax(d.logits(h), dim=0).tolist()

    return beam.beam_search(model, d.W_o.shape[1], T, K)[-1]


@dataclass
class Outcome:
    keep: frozenset[str]
    beams: list[tuple[tuple[int, ...], float]] | None  # None: the sequences cannot be returned
    recomputed: int  # cell steps run again over stored tokens
    stored: int  # numbers kept per hypothesis after the last step (tokens count one each)
    notes: list[str] = field(default_factory=list)


def search(
    keep: frozenset[str], recompute: bool = True, seed: int = 0, T: int = SIZES["T"], K: int = SIZES["K"]
) -> Outcome:
    """``recompute=False``: nothing is run again over the stored tokens; a missing state is zeros, a missing
    score the last step's log-probability alone."""
    d = decoder(seed)
    V, m = d.W_o.shape[1], d.W_o.shape[0]
    has = keep.__contains__
    notes: list[str] = []
    recomputed = 0
    h0, c0 = d.start()
    hyps = [{"tokens": (), "h": h0, "c": c0, "hs": [h0], "logp": 0.0, "logits": []}]
    for _ in range(T):
        candidates = []
        for hyp in hyps:
            tokens = hyp["tokens"] if has("tokens so far") else None
            rerun = tokens if recompute else None
            h = hyp["h"] if has("final hidden state") else hyp["hs"][-1] if has("every hidden state") else None
            c = hyp["c"] if has("final cell state") else None
            if (h is None or c is None) and rerun is not None:
                before = d.calls
                h_run, c_run = d.run(tokens)  # the state again, from the start
                recomputed += d.calls - before
                h, c = (h if h is not None else h_run), (c if c is not None else c_run)
            if h is None or c is None:
                notes.append("a state neither kept nor recomputed: continued from zeros")
                zero = torch.zeros(m, dtype=DTYPE)
                h, c = (h if h is not None else zero), (c if c is not None else zero)
            scores = torch.log_softmax(d.logits(h), dim=0)
            if has("log-probability so far"):
                so_far = hyp["logp"]
            elif has("all logits") and tokens is not None:  # the score again, from the stored logits
                so_far = sum(float(torch.log_softmax(z, dim=0)[v]) for z, v in zip(hyp["logits"], tokens, strict=True))
            elif rerun is not None:  # the score again, from the start
                before, so_far, hh, cc = d.calls, 0.0, *d.start()
                for v in rerun:
                    so_far += float(torch.log_softmax(d.logits(hh), dim=0)[v])
                    hh, cc = d.step(v, hh, cc)
                recomputed += d.calls - before
            else:
                so_far = 0.0  # nothing to add: the candidates are ranked by their last step alone
            for v in range(V):
                candidates.append((hyp, v, so_far + float(scores[v]), h, c, d.logits(h)))
        # best first, ties in vocabulary order of the sequences (as numerics.beam.beam_search breaks them)
        candidates.sort(key=lambda cand: (-cand[2], (*cand[0]["tokens"], cand[1])))
        hyps = []
        for hyp, v, score, h, c, z in candidates[:K]:
            h_new, c_new = d.step(v, h, c)
            hyps.append(
                {
                    "tokens": (*hyp["tokens"], v),
                    "h": h_new,
                    "c": c_new,
                    "hs": [*hyp["hs"], h_new],
                    "logp": score,
                    "logits": [*hyp["logits"], z],
                }
            )
    t = T
    sizes = {
        "tokens so far": t,
        "final hidden state": m,
        "final cell state": m,
        "every hidden state": t * m,
        "log-probability so far": 1,
        "all logits": t * V,
    }
    beams = None
    if has("tokens so far"):
        beams = [(hyp["tokens"], _true_score(d, hyp["tokens"])) for hyp in hyps]
    return Outcome(keep, beams, recomputed, sum(sizes[item] for item in keep), sorted(set(notes)))


def _true_score(d: Decoder, tokens: tuple[int, ...]) -> float:
    """The sequence's log-probability under the decoder (for comparing returned beams, not counted)."""
    calls = d.calls
    h, c = d.start()
    total = 0.0
    for v in tokens:
        total += float(torch.log_softmax(d.logits(h), dim=0)[v])
        h, c = d.step(v, h, c)
    d.calls = calls
    return total


def same_beams(a: list[tuple[tuple[int, ...], float]] | None, b: list[tuple[tuple[int, ...], float]]) -> bool:
    return (
        a is not None and [s for s, _ in a] == [s for s, _ in b] and np.allclose([x for _, x in a], [x for _, x in b])
    )

"""Beam search over any sequence model, brute force over all V^T sequences, and a counted search.

A model is a function from a prefix (a tuple of token indices) to the next token's
log-probabilities (a list of V floats).  Scores are summed log-probabilities.  Ties are broken
deterministically: among equal scores the sequence that comes first in lexicographic order of
token indices (vocabulary order) wins — in the beam, in the brute force and in the sort.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

Model = Callable[[tuple[int, ...]], Sequence[float]]


def _key(item: tuple[tuple[int, ...], float]) -> tuple[float, tuple[int, ...]]:
    sequence, score = item
    return (-score, sequence)  # higher score first, then vocabulary order


def beam_search(model: Model, vocabulary: int, length: int, width: int) -> list[list[tuple[tuple[int, ...], float]]]:
    """The beams kept after each step (best first): K sequences of length 1, 2, …, T."""
    beams: list[tuple[tuple[int, ...], float]] = [((), 0.0)]
    steps = []
    for _ in range(length):
        candidates = []
        for prefix, score in beams:
            logp = model(prefix)
            candidates += [((*prefix, v), score + float(logp[v])) for v in range(vocabulary)]
        beams = sorted(candidates, key=_key)[:width]
        steps.append(beams)
    return steps


def brute_force(model: Model, vocabulary: int, length: int) -> list[tuple[tuple[int, ...], float]]:
    """Every sequence of the given length with its score, best first (the exact oracle)."""
    out = []
    for sequence in itertools.product(range(vocabulary), repeat=length):
        score = sum(float(model(sequence[:k])[sequence[k]]) for k in range(length))
        out.append((sequence, score))
    return sorted(out, key=_key)


def table_model(table: dict[tuple[int, ...], dict[int, float]], vocabulary: int, default: float) -> Model:
    """A model given as a table prefix → {token: log-probability}; anything not given is ``default``."""

    def model(prefix: tuple[int, ...]) -> list[float]:
        row = table.get(tuple(prefix), {})
        return [row.get(v, default) for v in range(vocabulary)]

    return model


def random_tree(vocabulary: int, seed: int, temperature: float = 1.0) -> Model:
    """Each prefix gets its own random next-token distribution (log-softmax of Gaussian logits),
    drawn from a generator seeded by the seed and the prefix: a random tree of any depth."""

    @functools.cache
    def model(prefix: tuple[int, ...]) -> tuple[float, ...]:
        rng = np.random.default_rng([seed, len(prefix), *prefix])
        logits = rng.normal(size=vocabulary) / temperature
        return tuple(logits - np.logaddexp.reduce(logits))

    return model


def rnn_language_model(vocabulary: int, hidden: int = 8, seed: int = 0) -> Model:
    """A small Elman RNN language model in torch with random weights (fixed seed), float64."""
    generator = torch.Generator().manual_seed(seed)
    embed = torch.randn(vocabulary, hidden, dtype=torch.float64, generator=generator)
    W = 0.9 * torch.randn(hidden, hidden, dtype=torch.float64, generator=generator) / math.sqrt(hidden)
    out = 2.0 * torch.randn(vocabulary, hidden, dtype=torch.float64, generator=generator)

    @functools.cache
    def model(prefix: tuple[int, ...]) -> tuple[float, ...]:
        h = torch.zeros(hidden, dtype=torch.float64)
        for token in prefix:
            h = torch.tanh(W @ h + embed[token])
        return tuple(torch.log_softmax(out @ h, dim=0).tolist())

    return model


@dataclass
class Counts:
    """Work done by one search: model calls, the arithmetic inside them, and sort comparisons."""

    model_calls: int = 0
    model_operations: int = 0
    comparisons: int = 0
    by_step: list[int] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.model_operations + self.comparisons


def counted_search(vocabulary: int, length: int, width: int, cached: bool, seed: int = 0) -> Counts:
    """Beam search with an RNN whose one step costs M = ``vocabulary`` operations (an output layer
    of M scores), counted: with cached hidden states each beam takes one step per position;
    without, each beam's state is recomputed from the start (t steps at position t).  The K·M
    candidates are sorted by Python's sort with every comparison counted."""
    counts = Counts()
    rng = np.random.default_rng(seed)
    table = rng.normal(size=(vocabulary, vocabulary))

    def step(state: int, token: int) -> int:  # one RNN step: M multiply-adds for the output scores
        counts.model_calls += 1
        counts.model_operations += vocabulary
        return (state * 31 + token + 1) % 1_000_003

    def scores(state: int) -> np.ndarray:
        return table[state % vocabulary]

    def compare(a: tuple, b: tuple) -> int:
        counts.comparisons += 1
        return -1 if _key(a) < _key(b) else (1 if _key(a) > _key(b) else 0)

    beams = [((), 0.0, 0)]  # (sequence, score, cached hidden state)
    for _ in range(length):
        candidates = []
        for sequence, score, state in beams:
            if not cached:  # recompute the state from the start of the sequence
                state = 0
                for token in sequence:
                    state = step(state, token)
            logp = scores(state)
            candidates += [((*sequence, v), score + float(logp[v]), state) for v in range(vocabulary)]
        ranked = sorted(((c[0], c[1]) for c in candidates), key=functools.cmp_to_key(compare))[:width]
        states = {c[0]: c[2] for c in candidates}
        beams = []
        for sequence, score in ranked:
            state = step(states[sequence], sequence[-1]) if cached else 0
            beams.append((sequence, score, state))
        counts.by_step.append(counts.total)
    return counts


def fitted_exponent(sizes: Sequence[float], counts: Sequence[float]) -> float:
    """The slope of log(count) against log(size), by least squares."""
    return float(np.polyfit(np.log(np.asarray(sizes, dtype=float)), np.log(np.asarray(counts, dtype=float)), 1)[0])

"""Beam search: the catalog's example by hand (the beams at each step, the best sequence) and the
asymptotic cost with and without cached hidden states.

The example's log-probabilities are data (the catalog's table); the beams and scores follow
by exact arithmetic on them.  The cost model: one RNN step costs c·M (an output layer of M
scores), choosing the top K of the K·M candidates by sorting costs K·M·log(K·M), and K ≤ M.
"""

from __future__ import annotations

import itertools
from functools import cache

import sympy as sp

from derivations.core import Derivation, Step
from derivations.symbols import Name, Words

WORDS = ("neural", "network")
LENGTH, WIDTH = 3, 2
DEFAULT = sp.Rational(-8, 10)
TABLE: dict[tuple[str, ...], dict[str, sp.Rational]] = {
    (): {"neural": sp.Rational(-65, 100), "network": sp.Rational(-73, 100)},
    ("neural",): {"neural": sp.Rational(-8, 10), "network": sp.Rational(-6, 10)},
    ("network",): {"neural": sp.Rational(-6, 10)},
    ("neural", "network"): {"network": sp.Rational(-6, 10)},
    ("network", "neural"): {"network": sp.Rational(-6, 10)},
    ("neural", "neural"): {"neural": sp.Rational(-1, 100), "network": sp.Rational(-46, 10)},
}

T, K, M = sp.symbols("T K M", integer=True, positive=True)
t = sp.Symbol("t", integer=True, positive=True)
c = sp.Symbol("c", positive=True)  # the cost of one RNN step per output score
SYMBOLS = {"T": T, "K": K, "M": M}


def log_probability(prefix: tuple[str, ...], word: str) -> sp.Rational:
    return TABLE.get(prefix, {}).get(word, DEFAULT)


def score(sequence: tuple[str, ...]) -> sp.Rational:
    return sum((log_probability(sequence[:k], w) for k, w in enumerate(sequence)), sp.Integer(0))


def _order(sequence: tuple[str, ...]) -> tuple:
    """Higher score first; ties by vocabulary order (neural before network)."""
    return (-score(sequence), tuple(WORDS.index(w) for w in sequence))


def _text(sequence: tuple[str, ...]) -> str:
    return " ".join(sequence)


@cache
def beams() -> tuple[tuple[tuple[str, ...], ...], ...]:
    kept: list[tuple[str, ...]] = [()]
    steps = []
    for _ in range(LENGTH):
        candidates = [(*prefix, w) for prefix in kept for w in WORDS]
        kept = sorted(candidates, key=_order)[:WIDTH]
        steps.append(tuple(kept))
    return tuple(steps)


def _listing(sequences) -> str:
    return ", ".join(f"{_text(s)} ({float(score(s)):.2f})" for s in sequences)


@cache
def step(k: int) -> Derivation:
    """The beams kept after step k (1-based)."""
    previous = beams()[k - 2] if k > 1 else ((),)
    candidates = sorted(((*p, w) for p in previous for w in WORDS), key=_order)
    kept = beams()[k - 1]
    steps = (
        Step(
            f"Step {k} extends each of the {len(previous)} kept prefix(es) by both words; the candidates, scored by "
            f"summed log-probability (−0.8 where the table gives none): {_listing(candidates)}."
        ),
        Step(f"The beam keeps the best K = {WIDTH}: {_listing(kept)}."),
    )
    return Derivation(frozenset(_text(s) for s in kept), steps, {})


@cache
def best_sequence() -> Derivation:
    ranked = sorted(itertools.product(WORDS, repeat=LENGTH), key=_order)
    steps = (
        Step(f"All 2³ = 8 sequences by score: {_listing(ranked)}."),
        Step(
            f"The most likely is {_text(ranked[0])}: its first step (−0.65) and second (−0.8) are no better than "
            'others\', but after "neural neural" the third word costs only −0.01.'
        ),
    )
    return Derivation(frozenset({_text(ranked[0])}), steps, {})


@cache
def returns_best() -> Derivation:
    final = beams()[-1][0]
    best = sorted(itertools.product(WORDS, repeat=LENGTH), key=_order)[0]
    found = final == best
    steps = (
        Step(f"The beam's best at the end is {_text(final)} ({float(score(final)):.2f}).", rhs=score(final)),
        Step(
            f'The most likely sequence is {_text(best)} ({float(score(best)):.2f}): "neural neural" (−1.45) fell '
            'out of the beam at step 2, behind "neural network" (−1.25) and "network neural" (−1.33), so beam '
            f"search {'finds' if found else 'misses'} it.",
            rhs=score(best),
        ),
    )
    return Derivation(frozenset({"true" if found else "false"}), steps, {})


def _per_step_cost(cached: bool) -> sp.Basic:
    """Work at position t: the model steps (each c·M) and the sort of K·M candidates."""
    model_steps = K if cached else K * (t - 1)  # without a cache each beam replays its t − 1 tokens
    return model_steps * c * M + K * M * sp.log(K * M)


@cache
def complexity() -> Derivation:
    total = sp.summation(_per_step_cost(True), (t, 1, T))
    bound = T * K * M * sp.log(M)
    steps = (
        Step(
            "With cached hidden states, each position advances each of the K beams by one RNN step (c·M for M "
            "output scores) and sorts the K·M candidates:",
            rhs=_per_step_cost(True),
            lhs=Words("cost at", "t"),
        ),
        Step("Summed over the T positions:", rhs=total, lhs=Words("total")),
        Step(
            "With K ≤ M, log(KM) ≤ 2 log M, and the sort dominates the model steps:",
            rhs=bound,
            lhs=Name(r"\Theta"),
        ),
    )
    return Derivation(bound, steps, SYMBOLS)


@cache
def complexity_no_cache() -> Derivation:
    total = sp.simplify(sp.summation(_per_step_cost(False), (t, 1, T)))
    tight = T**2 * K * M + T * K * M * sp.log(M)
    looser = T**2 * K * M * sp.log(M)
    steps = (
        Step(
            "Without a cache, at position t each of the K beams recomputes its state over its t − 1 tokens "
            "(t − 1 RNN steps of c·M each) before the sort:",
            rhs=_per_step_cost(False),
            lhs=Words("cost at", "t"),
        ),
        Step("SymPy sums the arithmetic series over t = 1 … T:", rhs=total, lhs=Words("total")),
        Step(
            "So Θ(T²KM + TKM log M) (K ≤ M); the catalog also accepts the looser O(T²KM log M), which contains it:",
            rhs=tight,
            lhs=Name(r"\Theta"),
        ),
    )
    return Derivation(tight, steps, SYMBOLS, {}, (looser,))

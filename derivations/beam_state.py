"""What beam search with an LSTM decoder must keep for each hypothesis to continue without recomputation.

Continuing a hypothesis needs the next token's distribution, which the decoder computes from its
state after the prefix — for an LSTM both h and C — and ranking the extensions needs the score so far;
returning the beams needs the tokens. Each item's size is counted per hypothesis after t steps (hidden
size m, vocabulary V), and the smallest set that does all three is the key.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from derivations.core import Derivation, Step
from derivations.symbols import Name

ITEMS = (
    "tokens so far",
    "final hidden state",
    "final cell state",
    "every hidden state",
    "log-probability so far",
    "all logits",
)
KEY = frozenset({"tokens so far", "final hidden state", "final cell state", "log-probability so far"})


@cache
def stored_state() -> Derivation:
    t, m, V = sp.symbols("t m V", integer=True, positive=True)
    size = {
        "tokens so far": t,
        "final hidden state": m,
        "final cell state": m,
        "every hidden state": t * m,
        "log-probability so far": sp.Integer(1),
        "all logits": t * V,
    }
    kept = sp.Add(*(size[item] for item in sorted(KEY)))
    alternatives = {
        "every hidden state for the final one": t * m - m,  # holds h_t too, but t·m numbers instead of m
        "all logits for the score": t * V - 1,  # the score is recomputable from them, t·V numbers instead of 1
    }
    for name, extra in alternatives.items():
        if not sp.simplify(extra.subs({t: t + 1, m: m + 1, V: V + 1})).is_positive:  # t ≥ 2, m ≥ 2, V ≥ 2
            raise ArithmeticError(f"{name} should cost more")
    steps = (
        Step(
            "The decoder's next distribution is log_softmax(h_t W_o + b_o), and its next state (h_{t+1}, C_{t+1}) "
            "comes from (h_t, C_t) and the chosen token: an LSTM's state is both h and C, so without either the "
            "decoder must be run again over the prefix (t steps)."
        ),
        Step(
            "An extension's score is the score so far plus the new token's log-probability: without the score it "
            "must be recomputed (t steps again), or the extensions are ranked by their last step alone — another "
            "ranking. Without the tokens the beams cannot be returned."
        ),
        Step(
            "Keeping the tokens, the final h, the final C and the score costs, per hypothesis after t steps,",
            rhs=kept,
            lhs=Name(r"\text{numbers kept}"),
        ),
        Step(
            "Every hidden state holds the final one but costs t·m instead of m; all logits give the score back "
            "but cost t·V instead of 1: neither is needed. So beam search must keep the tokens so far, the final "
            "hidden state, the final cell state and the log-probability so far."
        ),
    )
    return Derivation(KEY, steps, {})

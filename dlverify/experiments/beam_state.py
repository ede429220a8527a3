"""The experiment of beam.stored_state: the instrumented beam search (numerics.beam_state) over every subset
of what a hypothesis may keep, against numerics.beam.beam_search over the same LSTM decoder."""

from __future__ import annotations

import itertools
from functools import cache

from dlverify.problem import Case, Measurement
from numerics import beam_state as numeric


@cache
def outcomes() -> tuple[tuple[numeric.Outcome, bool], ...]:
    """Every subset of ITEMS: its search, and whether it returned the reference beams with no recomputation."""
    reference = numeric.reference()
    out = []
    for size in range(len(numeric.ITEMS) + 1):
        for subset in itertools.combinations(numeric.ITEMS, size):
            outcome = numeric.search(frozenset(subset))
            out.append((outcome, numeric.same_beams(outcome.beams, reference) and outcome.recomputed == 0))
    return tuple(out)


def stored_state(case: Case) -> frozenset[str]:
    """The set that works (full beams, no recomputation) and keeps the fewest numbers; every set, if two tie."""
    working = sorted((o.stored, sorted(o.keep)) for o, works in outcomes() if works)
    if not working or (len(working) > 1 and working[0][0] == working[1][0]):
        return frozenset(numeric.ITEMS)
    return frozenset(working[0][1])


def numbers(case: Case) -> list[Measurement]:
    """What dropping each kept item does: with recomputation allowed (counted) and without (the beams)."""
    key = stored_state(case)
    reference = numeric.reference()
    out = []
    for item in sorted(key):
        again = numeric.search(key - {item})
        without = numeric.search(key - {item}, recompute=False)
        if item == "tokens so far":
            label = "without the tokens the beams cannot be returned"
            holds = again.beams is None
        else:
            same = numeric.same_beams(without.beams, reference)
            label = (
                f"without the {item}: {again.recomputed} decoder steps recomputed, or, without recomputing, "
                f"{'the same' if same else 'other'} beams"
            )
            holds = again.recomputed > 0 and not same
        out.append(Measurement.holds(label, holds))
    works = sum(w for _, w in outcomes())
    smallest = min(o.stored for o, w in outcomes() if w)
    out.append(
        Measurement.holds(f"{works} of {len(outcomes())} subsets work; the smallest keeps {smallest} numbers", True)
    )
    return out

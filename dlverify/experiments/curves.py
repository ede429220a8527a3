"""The experiments of curves.spike_cause, curves.spike_above_initial and curves.spike_fix: seeded training runs
of a small classifier (numerics.curves), one per condition, and what they decide.

The full grid (5 seeds per condition) is stored in dlverify/data/curves_runs.json by
``python scripts/homework_experiments.py curves``; live, each condition runs for seed 0 (a few seconds),
and the stored grid must agree with it on whether that seed spikes.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from dlverify.problem import Case, Measurement
from numerics import curves as numeric

STORED = Path(__file__).resolve().parents[1] / "data" / "curves_runs.json"
LARGE_RATE, SMALL_RATE = 3.0, 0.3
WARMUP, CLIP = 50, 1.0
CONDITIONS: dict[str, dict[str, Any]] = {
    "large rate": {"lr": LARGE_RATE},
    "small rate": {"lr": SMALL_RATE},
    "warm-up": {"lr": LARGE_RATE, "warmup": WARMUP},
    "clipping": {"lr": LARGE_RATE, "clip": CLIP},
    "larger model": {"lr": LARGE_RATE, "width": numeric.LARGE},
    "noisy labels, small rate": {"lr": SMALL_RATE, "noisy": True},
    "longer run": {"lr": LARGE_RATE, "steps": 2 * numeric.STEPS},
}
SEEDS = tuple(range(5))


def run(condition: str, seed: int) -> list[float]:
    return numeric.train(seed=seed, **CONDITIONS[condition])


@cache
def live() -> dict[str, list[float]]:
    """Seed 0 of every condition, run now."""
    return {name: run(name, 0) for name in CONDITIONS}


@cache
def stored() -> dict[str, Any]:
    return json.loads(STORED.read_text())


def spiked(losses: list[float]) -> bool:
    return bool(numeric.spikes_above_initial(losses))


def spiking_seeds(condition: str) -> int:
    """How many of the stored seeds spike above the initial loss under ``condition``."""
    return sum(spiked(curve) for curve in stored()["runs"][condition])


def _live(condition: str) -> bool:
    return spiked(live()[condition])


def _stored(condition: str) -> bool:
    return spiking_seeds(condition) > 0


def _first_spikes(curves: list[list[float]]) -> list[int]:
    return [numeric.spikes_above_initial(c)[0] for c in curves if spiked(c)]


def decide(item: str, spikes, first: list[int]) -> frozenset[str]:
    """The options the runs are consistent with: ``spikes(condition)`` says whether a condition spikes above the
    initial loss, ``first`` the steps of the large rate's first spikes."""
    if item == "spike_above_initial":
        return frozenset({"true" if spikes("large rate") else "false"})
    if not spikes("large rate"):
        return frozenset()
    if item == "spike_cause":
        holds = {
            "learning rate too large": not spikes("small rate"),
            "model too small": not spikes("larger model"),
            # spikes within the first fifth of the run; a longer run repeats the same first steps
            "too many epochs": bool(first) and min(first) > numeric.STEPS // 5,
            "noisy labels": spikes("noisy labels, small rate"),  # clean labels spike already: only if noise does too
        }
    else:
        holds = {
            "lower the learning rate": not spikes("small rate"),
            "gradient clipping": not spikes("clipping"),
            "learning-rate warm-up": not spikes("warm-up"),
            "larger model": not spikes("larger model"),
            "more epochs": not spikes("longer run"),
        }
    return frozenset(option for option, holds_ in holds.items() if holds_)


def oracle(item: str):
    """Seed 0 of each condition, run now, decides."""
    return lambda case: decide(item, _live, _first_spikes([live()["large rate"]]))


def recorded(item: str):
    """The same decision on the stored grid (a condition spikes if any of its 5 seeds does), against the key."""

    def measure(problem) -> list[Measurement]:
        decided = decide(item, _stored, _first_spikes(stored()["runs"]["large rate"]))
        key = problem.derive().result
        ok = key == decided if problem.answer.multiple else key <= decided
        return [Measurement.holds(f"{problem.id}: the stored runs decide {sorted(decided)}", ok)]

    return measure


def numbers(case: Case) -> list[Measurement]:
    """Each condition: how many stored seeds spike, the highest loss after the first step, and that the live
    seed 0 agrees with the stored one."""
    out = []
    for name in CONDITIONS:
        curves = stored()["runs"][name]
        peak = max(max(c[1:]) for c in curves)
        label = (
            f"{name}: {spiking_seeds(name)} of {len(curves)} seeds spike above the initial loss "
            f"{curves[0][0]:.3f} (highest loss after step 1: {peak:.3g})"
        )
        out.append(Measurement.holds(label, spiked(live()[name]) == spiked(curves[0])))
    return out

"""Search random trees for the beam-search witnesses stored in dlverify/problems/beam.py.

Prints, for each property, the first seed (from 0) of numerics.beam.random_tree that has it:
beam search misses the most likely sequence; a wider beam ends worse than a narrower one.
"""

from __future__ import annotations

from dlverify.problems.beam import WITNESSES, misses_best, wider_is_worse


def main() -> None:
    for name, stored in WITNESSES.items():
        settings = {k: v for k, v in stored.items() if k != "seed"}
        test = misses_best if name == "misses the best" else wider_is_worse
        seed = next(s for s in range(100_000) if test(**settings, seed=s))
        mark = "" if seed == stored["seed"] else f"  (stored: {stored['seed']})"
        print(f"{name}: {settings} → seed {seed}{mark}")


if __name__ == "__main__":
    main()

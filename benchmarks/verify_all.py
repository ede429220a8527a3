"""Benchmark: `dlverify verify --all`, and `dlverify verify` of the homework's experiment questions (issue 27).

Run:  python benchmarks/verify_all.py [--repeat 1]

Each is a fresh process on every core, timed as a user waits for it (wall clock), with the derivation
cache warm (a folder of its own, filled by a first, untimed run) so that the time is the cross-checks'
and the experiments', not SymPy's first derivations. Printed: each time and the ratios, all in one run on
this machine (``--each``: also each new id alone, in a fresh process). Not a test.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NEW = (
    "rnn.more_exploding",
    "rnn.more_vanishing",
    "rnn.all_targets_long_range",
    "lstm.vanish_slower",
    "lstm.can_explode",
    "resnet.gradient_through_depth",
    "attention_rnn.dl_dhT",
    "beam.stored_state",
    "curves.spike_cause",
    "curves.spike_above_initial",
    "curves.spike_fix",
    "optim.digits_accuracy",
    "concepts.latent_size",
)


def _verify(args: list[str], cache: str) -> tuple[float, str]:
    env = {**os.environ, "DLVERIFY_CACHE": cache}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "dlverify", "verify", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"dlverify verify {' '.join(args)} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return elapsed, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=1, help="timed runs of each command (the best is kept)")
    parser.add_argument("--each", action="store_true", help="also time each new id alone")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="dlverify-bench-") as cache:
        _verify(["--all"], cache)  # fills the derivation cache (untimed)
        everything = min(_verify(["--all"], cache)[0] for _ in range(args.repeat))
        new = min(_verify(list(NEW), cache)[0] for _ in range(args.repeat))
        print(f"dlverify verify --all ({sum(1 for _ in _ids())} items): {everything:.1f} s")
        print(f"dlverify verify of the {len(NEW)} new ids: {new:.1f} s ({new / everything:.0%} of --all)")
        if args.each:
            for pid in NEW:
                print(f"  {pid}: {_verify([pid], cache)[0]:.1f} s (alone, a fresh process)")
        floor, _ = _verify(["scalar_rnn.dy_dp"], cache)
        print(
            f"one quick item (scalar_rnn.dy_dp), the start-up floor: {floor:.1f} s; new ids / floor {new / floor:.1f}"
        )


def _ids() -> list[str]:
    sys.path.insert(0, str(ROOT))
    from dlverify import registry

    return list(registry.problems())


if __name__ == "__main__":
    main()

"""Benchmark: a derivation of 10 lines judged line by line, warm, in one process.

Run:  python benchmarks/steps.py [--repeats 5]

Prints, measured in this one run: the median time to judge a 10-line lstm.dL_dCprev derivation
(every line holds) and one whose 6th line is a slip, after one warm-up judgement; and, for scale,
the median time of one final answer on the same item (the ratio is what a line costs). Not a test:
nothing fails because the machine is slow.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HEAD = (
    r"\frac{\partial L}{\partial C_{T-1}} = \frac{\partial L}{\partial h_T} \left( \frac{\partial h_T}{\partial C_T}"
    r" \frac{\partial C_T}{\partial C_{T-1}} + \frac{\partial h_T}{\partial h_{T-1}}"
    r" \frac{\partial h_{T-1}}{\partial C_{T-1}} \right)"
)
LINES = [
    HEAD,
    r"= g \left( \frac{\partial h_T}{\partial C_T} \frac{\partial C_T}{\partial C_{T-1}} + J \frac{\partial h_{T-1}}{\partial C_{T-1}} \right)",  # noqa: E501 (a derivation's line, as a student writes it)
    r"= g \left( \frac{\partial h_T}{\partial C_T} \operatorname{diag}(f_T) + J \frac{\partial h_{T-1}}{\partial C_{T-1}} \right)",  # noqa: E501 (a derivation's line, as a student writes it)
    r"= g \frac{\partial h_T}{\partial C_T} \operatorname{diag}(f_T) + g J \frac{\partial h_{T-1}}{\partial C_{T-1}}",
    r"\frac{\partial h_T}{\partial C_T} = \operatorname{diag}(o_T \odot (1 - \tanh^2(C_T)))",
    r"\frac{\partial h_{T-1}}{\partial C_{T-1}} = \operatorname{diag}(o_{T-1}) \operatorname{diag}(1 - \tanh^2(C_{T-1}))",  # noqa: E501 (a derivation's line, as a student writes it)
    r"\frac{\partial C_T}{\partial C_{T-1}} = \operatorname{diag}(f_T)",
    r"\frac{\partial L}{\partial C_{T-1}} = g \operatorname{diag}(o_T \odot (1 - \tanh^2(C_T))) \frac{\partial C_T}{\partial C_{T-1}} + g J \frac{\partial h_{T-1}}{\partial C_{T-1}}",  # noqa: E501 (a derivation's line, as a student writes it)
    r"= g \operatorname{diag}(o_T \odot (1 - \tanh^2(C_T))) \operatorname{diag}(f_T) + g J \frac{\partial h_{T-1}}{\partial C_{T-1}}",  # noqa: E501 (a derivation's line, as a student writes it)
    r"= g \operatorname{diag}(o_T \odot (1 - \tanh^2(C_T))) \operatorname{diag}(f_T) + g J \operatorname{diag}(o_{T-1} \odot (1 - \tanh^2(C_{T-1})))",  # noqa: E501 (a derivation's line, as a student writes it)
]
SLIP = (
    r"\frac{\partial h_{T-1}}{\partial C_{T-1}} = \operatorname{diag}(o_{T-1}) \operatorname{diag}(1 - \tanh(C_{T-1}))"
)
FINAL = LINES[-1][2:]


def _median(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    from dlverify.checking.judge import judge

    right = {"steps": "\n".join(LINES)}
    slipped = {"steps": "\n".join(LINES[:5] + [SLIP] + LINES[6:])}
    first = judge("lstm.dL_dCprev", right)
    assert first.verdict == "correct", first.message
    assert judge("lstm.dL_dCprev", slipped).step == 6
    # a distinct text each time, so the reading memo does not answer for the judge
    counter = iter(range(10**6))
    steps_time = _median(
        lambda: judge("lstm.dL_dCprev", {"steps": right["steps"] + f" + 0*{next(counter)}"}), args.repeats
    )
    slip_time = _median(
        lambda: judge("lstm.dL_dCprev", {"steps": slipped["steps"] + f" + 0*{next(counter)}"}), args.repeats
    )
    one = _median(lambda: judge("lstm.dL_dCprev", FINAL + f" + 0*{next(counter)}"), args.repeats)
    print(f"10-line derivation, every line holds: {steps_time * 1000:.0f} ms (median of {args.repeats})")
    print(f"10-line derivation, slip at line 6:   {slip_time * 1000:.0f} ms")
    print(f"one final answer on the same item:    {one * 1000:.0f} ms; a derivation costs {steps_time / one:.1f}× it")


if __name__ == "__main__":
    main()

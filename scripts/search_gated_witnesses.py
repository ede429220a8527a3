"""Search for gated-RNN parameters whose backpropagated gradient explodes, and ones where it vanishes.

Run:  python scripts/search_gated_witnesses.py

Writes dlverify/data/gated_rnn_witnesses.json, which the items gated_rnn.can_explode and
gated_rnn.can_vanish are verified on (the tests re-measure the norms with autograd).
Seeded: the same run finds the same witnesses.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from numerics.gated_rnn import Params, backprop_norms  # noqa: E402

OUT = ROOT / "dlverify" / "data" / "gated_rnn_witnesses.json"
STEPS = 30
EXPLODE_AT, VANISH_AT = 1e3, 1e-6


def candidate(rng: np.random.Generator, kind: str, m: int = 3, n: int = 2) -> dict:
    scale_h = rng.uniform(2, 12) if kind == "explode" else rng.uniform(0.01, 0.5)
    bias_c = 0.0 if kind == "explode" else -rng.uniform(2, 6)  # c → 0 through a negative pre-activation
    W_c = rng.normal(size=(m, n)) * 0.5
    xs = [np.abs(rng.normal(size=(n, 1))) * np.sign(bias_c or 1) + bias_c / n for _ in range(STEPS)]
    return {
        "W_c": W_c.tolist(),
        "W_h": (rng.normal(size=(m, m)) * scale_h).tolist(),
        "W_x": (rng.normal(size=(m, n)) * 2).tolist(),
        "x": [x.tolist() for x in xs],
        "h0": rng.normal(size=(m, 1)).tolist(),
    }


def norms(w: dict) -> list[float]:
    return backprop_norms(Params.from_arrays(w["W_c"], w["W_h"], w["W_x"]), w["x"], w["h0"])


def search(kind: str, seed: int, tries: int = 2000) -> dict:
    rng = np.random.default_rng(seed)
    for attempt in range(1, tries + 1):
        w = candidate(rng, kind)
        ns = norms(w)
        if kind == "explode" and ns[-1] > EXPLODE_AT:
            return {**w, "found_after": attempt, "final_norm": ns[-1]}
        if kind == "vanish" and ns[-1] < VANISH_AT:
            return {**w, "found_after": attempt, "final_norm": ns[-1]}
    raise SystemExit(f"no {kind} witness in {tries} tries")


def main() -> None:
    data = {
        "steps": STEPS,
        "explode_threshold": EXPLODE_AT,
        "vanish_threshold": VANISH_AT,
        "explode": search("explode", seed=1),
        "vanish": search("vanish", seed=2),
    }
    OUT.write_text(json.dumps(data, indent=1) + "\n")
    for kind in ("explode", "vanish"):
        print(f"{kind}: found after {data[kind]['found_after']} tries, ‖∂h[K]/∂h[0]‖ = {data[kind]['final_norm']:.3g}")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()

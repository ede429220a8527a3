"""Train the running-average RNNs (1 and 2 layers) and store their results for the report.

Run:  python scripts/running_average.py

Writes dlverify/data/running_average.json (final MSEs, loss curves, the configuration).
`dlverify verify rnn.stacked` trains the same networks again and checks the thresholds.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from numerics.running_average import train  # noqa: E402

OUT = ROOT / "dlverify" / "data" / "running_average.json"


def main() -> None:
    start = time.perf_counter()
    results = {str(layers): train(layers) for layers in (1, 2)}
    OUT.write_text(json.dumps(results, indent=1) + "\n")
    for layers, r in results.items():
        print(f"{layers} layer(s): final training MSE {r['final_mse']:.3e}")
    print(f"trained in {time.perf_counter() - start:.1f} s; wrote {OUT}")


if __name__ == "__main__":
    main()

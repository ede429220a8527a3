"""Regenerate the stored results of the homework's experiment questions (issue 27).

Run:  python scripts/homework_experiments.py [lstm-witness] [curves] [digits] [latent]   (none: all four)

- lstm-witness → dlverify/data/lstm_witness.json: an LSTM whose ‖∂L/∂h_1‖ grows more than tenfold every 50
  steps up to T = 200 (random search, seeded), for lstm.can_explode;
- curves → dlverify/data/curves_runs.json: the loss curves of every condition of dlverify/experiments/curves.py
  for seeds 0–4, for curves.spike_cause, curves.spike_above_initial and curves.spike_fix;
- digits, latent → dlverify/data/digits_runs.json: the derived optimizers' training histories (seeds 0–2) for
  optim.digits_accuracy, and the linear autoencoders of every code size with their probes for
  concepts.latent_size.

Seeded and single-threaded: the same run writes the same files (on the same platform's arithmetic).
The tests and `dlverify verify` re-measure a smaller grid live and compare.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dlverify.experiments import curves, digits  # noqa: E402
from numerics import gradient_flow as flow  # noqa: E402
from numerics import lstm  # noqa: E402

DATA = ROOT / "dlverify" / "data"
LENGTHS = (50, 100, 150, 200)
GROWTH, FINAL = 10.0, 1e6


def _round(values, digits_: int = 9) -> list:
    return [float(f"{v:.{digits_}g}") for v in values]


def lstm_witness(seed: int = 27, tries: int = 500) -> None:
    rng = np.random.default_rng(seed)
    m, n = 8, 2
    for attempt in range(1, tries + 1):
        scale = rng.uniform(4, 10)  # large recurrent weights: the gates' paths through h_{t−1} amplify
        U = {k: rng.normal(size=(n, m)) for k in lstm.GATES}
        W = {k: rng.normal(size=(m, m)) * scale / np.sqrt(m) for k in lstm.GATES}
        b = {k: rng.normal(size=m) for k in lstm.GATES}
        x, w = rng.normal(size=(max(LENGTHS), n)), rng.normal(size=m) / np.sqrt(m)
        norms = flow.lstm_backprop_norms(lstm.Params.from_arrays(U, W, b), x, w, LENGTHS)
        if (
            all(later > GROWTH * earlier for earlier, later in zip(norms, norms[1:], strict=False))
            and norms[-1] > FINAL
        ):
            data = {
                "about": "an LSTM (numerics.lstm, row convention) whose ‖∂L/∂h_1‖, L = h_T w, grows more than "
                "`growth`-fold from each length to the next; found by scripts/homework_experiments.py",
                "lengths": list(LENGTHS),
                "growth": GROWTH,
                "final": FINAL,
                "search_seed": seed,
                "found_after": attempt,
                "recurrent_scale": scale,
                "norms": norms,
                "U": {k: v.tolist() for k, v in U.items()},
                "W": {k: v.tolist() for k, v in W.items()},
                "b": {k: v.tolist() for k, v in b.items()},
                "x": x.tolist(),
                "w": w.tolist(),
            }
            (DATA / "lstm_witness.json").write_text(json.dumps(data, indent=1) + "\n")
            print(f"lstm witness after {attempt} tries: ‖∂L/∂h_1‖ = {', '.join(f'{v:.3g}' for v in norms)}")
            return
    raise SystemExit(f"no exploding LSTM in {tries} tries")


def curve_runs() -> None:
    runs = {name: [_round(curves.run(name, s), 8) for s in curves.SEEDS] for name in curves.CONDITIONS}
    data = {
        "about": "loss before each full-batch step, every condition of dlverify/experiments/curves.py, seeds 0–4",
        "conditions": curves.CONDITIONS,
        "seeds": list(curves.SEEDS),
        "runs": runs,
    }
    (DATA / "curves_runs.json").write_text(json.dumps(data) + "\n")
    for name in curves.CONDITIONS:
        print(f"{name}: {sum(curves.spiked(c) for c in runs[name])} of {len(curves.SEEDS)} seeds spike")


def _load_digits_file() -> dict:
    path = DATA / "digits_runs.json"
    return json.loads(path.read_text()) if path.exists() else {}


def classifier_runs() -> None:
    data = _load_digits_file()
    data["classifier"] = {}
    for name in digits.RATES:
        data["classifier"][name] = {}
        for seed in digits.SEEDS:
            history = digits.train(name, seed)
            data["classifier"][name][str(seed)] = {"loss": _round(history.loss), "accuracy": list(history.accuracy)}
            print(f"{name} seed {seed}: test accuracy {history.accuracy[-1]:.2%}")
    data["classifier_setup"] = {"rates": digits.RATES, "epochs": digits.EPOCHS, "batch": digits.BATCH}
    (DATA / "digits_runs.json").write_text(json.dumps(data, indent=1) + "\n")


def latent_runs() -> None:
    from numerics import digits as numeric

    data = _load_digits_file()
    fits = {str(k): digits.autoencoder(k) for k in digits.CODE_SIZES}
    data["autoencoder"] = {
        "fits": fits,
        "raw accuracy": numeric.probe_accuracy(None),
        "spectrum": list(numeric.covariance_eigenvalues()),
    }
    (DATA / "digits_runs.json").write_text(json.dumps(data, indent=1) + "\n")
    for k, fit in fits.items():
        print(f"k = {k}: loss {fit['loss']:.5g}, probe {fit['accuracy']:.2%}")


JOBS = {"lstm-witness": lstm_witness, "curves": curve_runs, "digits": classifier_runs, "latent": latent_runs}


def main(argv: list[str]) -> None:
    torch.set_num_threads(1)  # the same floating-point sums on every run
    chosen = argv or list(JOBS)
    unknown = [a for a in chosen if a not in JOBS]
    if unknown:
        raise SystemExit(f"unknown job {unknown}; choose from {list(JOBS)}")
    for name in chosen:
        start = time.perf_counter()
        JOBS[name]()
        print(f"{name}: {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:])

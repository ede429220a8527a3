"""The experiments of rnn.more_exploding, rnn.more_vanishing, rnn.all_targets_long_range, lstm.vanish_slower,
lstm.can_explode and resnet.gradient_through_depth: what each measurement decides, and its numbers.

Each experiment (numerics.gradient_flow) runs once per process (cached): an item's oracle and its
property share it. A decision returns the options consistent with the measurement; where the
measurement does not separate them, both (the key is then not contradicted, and the numbers say why).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np

from dlverify.problem import Case, Measurement, Problem
from numerics import gradient_flow as numeric
from numerics import lstm

WITNESS = Path(__file__).resolve().parents[1] / "data" / "lstm_witness.json"
BOTH_ACTIVATIONS = frozenset({"ReLU", "tanh"})
BOTH = frozenset({"true", "false"})
NAMES = {"relu": "ReLU", "tanh": "tanh"}


# ---- ReLU against tanh ---------------------------------------------------------------------


@cache
def activation_runs() -> tuple[numeric.Run, ...]:
    return tuple(numeric.activation_grid())


@cache
def fractions() -> dict[str, dict[str, float]]:
    """For each activation, the fractions of runs whose gradient grows by more than FACTOR ("explode"), shrinks
    by more than it ("vanish"), and whose ‖h_T‖ exceeds it ("state")."""
    out = {}
    for activation in ("relu", "tanh"):
        runs = [r for r in activation_runs() if r.activation == activation]
        out[activation] = {
            "explode": float(np.mean([r.ratio > numeric.FACTOR for r in runs])),
            "vanish": float(np.mean([r.ratio < 1 / numeric.FACTOR for r in runs])),
            "state": float(np.mean([r.state > numeric.FACTOR for r in runs])),
        }
    return out


def more_exploding(case: Case) -> frozenset[str]:
    f = fractions()
    gaps = (f["relu"]["explode"] - f["tanh"]["explode"], f["relu"]["state"] - f["tanh"]["state"])
    if all(g > 0 for g in gaps):
        return frozenset({"ReLU"})
    if all(g < 0 for g in gaps):
        return frozenset({"tanh"})
    return BOTH_ACTIVATIONS


def more_vanishing(case: Case) -> frozenset[str]:
    gap = fractions()["tanh"]["vanish"] - fractions()["relu"]["vanish"]
    return frozenset({"tanh"}) if gap > 0 else frozenset({"ReLU"}) if gap < 0 else BOTH_ACTIVATIONS


def activation_numbers(what: str) -> list[Measurement]:
    """The fractions, each comparison a measurement that fails if a rerun no longer shows it."""
    f = fractions()
    runs = len(activation_runs()) // 2
    pairs = (
        (("explode", "gradient grows > 10³"), ("state", "‖h_T‖ > 10³"))
        if what == "explode"
        else (("vanish", "gradient shrinks > 10³"),)
    )
    out = []
    for key, said in pairs:
        relu, tanh = f["relu"][key], f["tanh"][key]
        label = f"{said}: ReLU in {relu:.0%}, tanh in {tanh:.0%} of {runs} runs"
        out.append(Measurement.holds(label, relu > tanh if what == "explode" else tanh > relu))
    return out


def radius_medians() -> dict[str, list[tuple[float, float]]]:
    """For each activation, (spectral radius, median ratio ‖∂L/∂h_1‖/‖∂L/∂h_T‖ over the seeds): the figure's points."""
    out: dict[str, list[tuple[float, float]]] = {}
    for activation in ("relu", "tanh"):
        out[activation] = [
            (
                rho,
                float(
                    np.median([r.ratio for r in activation_runs() if r.activation == activation and r.radius == rho])
                ),
            )
            for rho in numeric.RADII
        ]
    return out


# ---- a loss at every step ------------------------------------------------------------------

GAPS = (0, 5, 10, 20, 30, 40)


@cache
def term_ratios() -> dict[str, dict[int, float]]:
    """The median ratio ‖∂L_k/∂h_t‖ / ‖∂L_t/∂h_t‖ at each gap d = k − t: over every k with a loss at every step
    ("all steps"), over k = T alone for the last-step loss ("last step"); medians over the seeds and t."""
    T = numeric.TERMS_SIZES["T"]
    every: dict[int, list[float]] = {d: [] for d in range(T)}
    last: dict[int, list[float]] = {d: [] for d in range(T)}
    for seed in numeric.TERMS_SEEDS:
        terms = numeric.per_step_terms(seed)
        for k in range(T):
            for d in range(k + 1):
                ratio = terms[k - d, k] / terms[k, k]
                every[d].append(ratio)
                if k == T - 1:
                    last[d].append(ratio)
    return {
        "all steps": {d: float(np.median(v)) for d, v in every.items()},
        "last step": {d: float(np.median(v)) for d, v in last.items()},
    }


def all_targets_long_range(case: Case) -> frozenset[str]:
    """False where the terms 20 steps apart have fallen below 10⁻³ of the nearest (no long-range signal)."""
    return frozenset({"false"}) if term_ratios()["all steps"][20] < 1e-3 else frozenset({"true"})


def terms_numbers() -> list[Measurement]:
    r = term_ratios()
    shown = "; ".join(
        f"k − t = {d}: {r['all steps'][d]:.1e} (last step only: {r['last step'][d]:.1e})" for d in GAPS[1:]
    )
    out = [Measurement(f"median ‖∂L_k/∂h_t‖/‖∂L_t/∂h_t‖ at {shown}", r["all steps"][20] / 1e-3, 1.0)]
    # the per-term measurement adds up to autograd's total ∂L/∂h_t (one backward pass of L = Σ_k L_k)
    vectors = numeric.per_step_vectors(numeric.TERMS_SEEDS[0])
    total = numeric.total_gradients(numeric.TERMS_SEEDS[0])
    summed = np.linalg.norm(vectors.sum(axis=1), axis=1)
    error = float(np.max(np.abs(summed - total) / total))
    out.append(Measurement("the terms add up to autograd's ∂L/∂h_t (seed 0, every t)", error, 1e-12))
    return out


# ---- LSTM against a tanh RNN ---------------------------------------------------------------


@cache
def decay_rates() -> dict[str, list[float]]:
    """The per-step decay factors over DECAY_SEEDS: rnn, lstm (default initialisation) and lstm with b^f = 1."""
    return {
        "rnn": [numeric.decay_rate("rnn", s)[0] for s in numeric.DECAY_SEEDS],
        "lstm": [numeric.decay_rate("lstm", s)[0] for s in numeric.DECAY_SEEDS],
        "lstm, b^f = 1": [numeric.decay_rate("lstm", s, forget_bias=1.0)[0] for s in numeric.DECAY_SEEDS],
    }


def vanish_slower(case: Case) -> frozenset[str]:
    r = {k: float(np.median(v)) for k, v in decay_rates().items()}
    slower = [r["lstm"] > r["rnn"], r["lstm, b^f = 1"] > r["rnn"]]
    return frozenset({"true"}) if all(slower) else frozenset({"false"}) if not any(slower) else BOTH


def spread(values: list[float]) -> str:
    return f"{np.median(values):.3f} (10–90 %: {np.quantile(values, 0.1):.3f}–{np.quantile(values, 0.9):.3f})"


def decay_numbers() -> list[Measurement]:
    r = decay_rates()
    label = "per-step factor, median over 20 initialisations: " + "; ".join(f"{k} {spread(v)}" for k, v in r.items())
    paired = float(np.mean([a > b for a, b in zip(r["lstm"], r["rnn"], strict=True)]))
    label += f"; the LSTM decays more slowly in {paired:.0%} of the paired seeds"
    return [Measurement.holds(label, float(np.median(r["lstm"])) > float(np.median(r["rnn"])))]


# ---- the LSTM's stored witness -------------------------------------------------------------


@cache
def witness() -> dict:
    return json.loads(WITNESS.read_text())


@cache
def witness_norms() -> tuple[float, ...]:
    w = witness()
    params = lstm.Params.from_arrays(w["U"], w["W"], w["b"])
    return tuple(numeric.lstm_backprop_norms(params, w["x"], w["w"], tuple(w["lengths"])))


def _grows(norms: tuple[float, ...]) -> bool:
    growth = witness()["growth"]
    return all(b > growth * a for a, b in zip(norms, norms[1:], strict=False)) and norms[-1] > witness()["final"]


def lstm_can_explode(case: Case) -> frozenset[str]:
    """'true' if the stored witness still shows the growth when re-measured by autograd."""
    return frozenset({"true" if _grows(witness_norms()) else "false"})


def witness_numbers() -> list[Measurement]:
    w = witness()
    norms = witness_norms()
    shown = ", ".join(f"T = {T}: {v:.2e}" for T, v in zip(w["lengths"], norms, strict=True))
    label = f"‖∂L/∂h_1‖ at {shown} (each more than {w['growth']:g}× the one before)"
    return [Measurement.holds(label, _grows(norms))]


# ---- skip connections over depth -------------------------------------------------------------


@cache
def depth_runs() -> tuple[numeric.DepthRun, ...]:
    return tuple(numeric.residual_jacobians(s) for s in numeric.DEPTH_SEEDS)


def depth_check(problem: Problem) -> list[Measurement]:
    """The derived thresholds (problem.derive(), so a perturbed derivation is caught) against the norms."""
    low, high, by_16, slope = (float(v) for v in problem.derive().result)
    runs = depth_runs()
    depths = numeric.DEPTHS
    skip = [v for r in runs for v in r.skip]
    out = [
        Measurement(
            f"with skips ‖∂h_L/∂h_0‖_2 within [{low:g}, {high:g}] for L ≤ {depths[-1]}: measured {min(skip):.3g}–"
            f"{max(skip):.3g} over {len(runs)} seeds",
            max(low / min(skip), max(skip) / high),
            1.0,
        )
    ]
    at_16 = float(np.median([r.plain[depths.index(16)] for r in runs]))
    out.append(Measurement(f"without skips, median at L = 16: {at_16:.2e} below {by_16:g}", at_16 / by_16, 1.0))
    # the derived bound ∏_t ‖W_t‖_2 · max σ' at every depth and seed (ratio measured / bound at most 1)
    worst = max(
        r.plain[i] / float(np.prod(np.asarray(r.weight_norms[:d]) * slope)) for r in runs for i, d in enumerate(depths)
    )
    out.append(Measurement(f"without skips, at most ∏ ‖W_t‖_2·{slope:g} (largest ratio {worst:.2e})", worst, 1.0))
    return out


def depth_medians() -> dict[str, list[float]]:
    runs = depth_runs()
    return {
        "skip": [float(np.median([r.skip[i] for r in runs])) for i in range(len(numeric.DEPTHS))],
        "plain": [float(np.median([r.plain[i] for r in runs])) for i in range(len(numeric.DEPTHS))],
        "bound": [
            float(np.median([np.prod(np.asarray(r.weight_norms[:d]) / 4) for r in runs])) for d in numeric.DEPTHS
        ],
    }

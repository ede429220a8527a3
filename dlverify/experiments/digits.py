"""The experiments of optim.digits_accuracy and concepts.latent_size on the 8×8 digits (numerics.digits).

optim.digits_accuracy trains the 3-layer network with the derived Adagrad, RMSprop and Adam
(dlverify.experiments.optim.DerivedOptimizer runs derivations.optim's entries, one per parameter
array), never torch.optim.  concepts.latent_size fits linear autoencoders of several code sizes and
compares their loss with lae.min_loss's Σ_{i>k} σ_i² evaluated at the measured spectrum.

The full grids are stored in dlverify/data/digits_runs.json (``python scripts/homework_experiments.py
digits latent``); live, a smaller one runs (seed 0; three code sizes, fewer L-BFGS iterations).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from derivations import optim as derived_optim
from dlverify.evaluation import scalar_value
from dlverify.experiments.optim import DerivedOptimizer
from dlverify.problem import Measurement, Problem
from numerics import digits as numeric

STORED = Path(__file__).resolve().parents[1] / "data" / "digits_runs.json"
# the learning rates (each optimizer's usual scale; the other hyper-parameters torch.optim's defaults)
RATES = {"adagrad": 0.01, "rmsprop": 0.001, "adam": 0.001}
EPOCHS, BATCH = 30, 32
SEEDS = (0, 1, 2)
CODE_SIZES = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48)
LIVE_CODE_SIZES = (2, 16, 32)
LIVE_ITERATIONS = 300  # L-BFGS iterations live: within 10⁻⁴ of the minimum at these sizes (the stored grid: 1000)
PLATEAU = (16, 32)  # the probe's gain between these code sizes is the "levels off" measurement


def derived_update(name: str):
    """The derived rule of ``name`` as numerics.digits' update: one DerivedOptimizer per parameter array."""
    entries = getattr(derived_optim, name)().entries()
    rules: list[DerivedOptimizer] = []

    def update(step: int, params: list[np.ndarray], grads: list[np.ndarray]) -> list[np.ndarray]:
        if not rules:
            rules.extend(DerivedOptimizer(name, entries, {"lr": RATES[name]}) for _ in params)
        return [rule.step(p, g, step) for rule, p, g in zip(rules, params, grads, strict=True)]

    return update


def train(name: str, seed: int) -> numeric.History:
    return numeric.train_classifier(derived_update(name), epochs=EPOCHS, batch=BATCH, seed=seed)


@cache
def live_accuracies() -> dict[str, float]:
    return {name: train(name, 0).accuracy[-1] for name in RATES}


@cache
def stored() -> dict[str, Any]:
    return json.loads(STORED.read_text())


def _accuracy_check(problem: Problem, accuracies: dict[str, list[float]], source: str) -> list[Measurement]:
    (bound,) = (float(v) for v in problem.derive().result)
    out = []
    for name, values in accuracies.items():
        worst = min(values)
        shown = ", ".join(f"{v:.2%}" for v in values)
        label = f"{source}: derived {name} test accuracy {shown} (test error ≤ {bound:.0%})"
        out.append(Measurement(label, (1 - worst) / bound, 1.0))
    reached = sum(min(v) >= 0.98 for v in accuracies.values())
    out.append(Measurement.holds(f"{source}: {reached} of 3 reach the homework's 98 % (MNIST's target)", True))
    return out


def accuracy_check(problem: Problem) -> list[Measurement]:
    """Seed 0 of each optimizer, trained now."""
    return _accuracy_check(problem, {k: [v] for k, v in live_accuracies().items()}, "trained now (seed 0)")


def accuracy_recorded(problem: Problem) -> list[Measurement]:
    runs = stored()["classifier"]
    accuracies = {name: [runs[name][str(s)]["accuracy"][-1] for s in SEEDS] for name in RATES}
    return _accuracy_check(problem, accuracies, f"stored, seeds {', '.join(map(str, SEEDS))}")


# ---- code size -------------------------------------------------------------------------------


def autoencoder(k: int, iterations: int = 1000) -> dict[str, float]:
    W1, _, loss = numeric.fit_linear_autoencoder(k, iterations=iterations)
    return {"loss": loss, "accuracy": numeric.probe_accuracy(W1)}


@cache
def live_autoencoders() -> dict[int, dict[str, float]]:
    return {k: autoencoder(k, LIVE_ITERATIONS) for k in LIVE_CODE_SIZES}


def minimum_loss(k: int, spectrum: np.ndarray) -> float:
    """lae.min_loss's Σ_{i>k} σ_i², evaluated at the measured eigenvalues (σ_i² = spectrum[i − 1])."""
    from derivations import lae

    d = lae.min_loss()
    sigmas = [float(np.sqrt(max(v, 0.0))) for v in spectrum]
    return scalar_value(d.result, d.symbols, {"m": len(spectrum), "k": k, "sigma": sigmas})


def _latent_check(problem: Problem, fits: dict[int, dict[str, float]], raw: float, source: str) -> list[Measurement]:
    tolerance, plateau = (float(v) for v in problem.derive().result)
    spectrum = numeric.covariance_eigenvalues()
    out = []
    for k, fit in fits.items():
        want = minimum_loss(k, spectrum)
        error = abs(fit["loss"] - want) / want
        label = (
            f"{source}: k = {k}, loss {fit['loss']:.5g} against Σ_(i>k) σ_i² = {want:.5g}, probe {fit['accuracy']:.2%}"
        )
        out.append(Measurement(label, error, tolerance))
    sizes = sorted(fits)
    losses = [fits[k]["loss"] for k in sizes]
    out.append(
        Measurement.holds(
            f"{source}: the loss falls with k", all(b < a for a, b in zip(losses, losses[1:], strict=False))
        )
    )
    gain = fits[PLATEAU[1]]["accuracy"] - fits[PLATEAU[0]]["accuracy"]
    rise = fits[PLATEAU[0]]["accuracy"] - fits[sizes[0]]["accuracy"]
    label = (
        f"{source}: the probe rises by {rise:.2%} from k = {sizes[0]} to {PLATEAU[0]}, then by {gain:.2%} to "
        f"{PLATEAU[1]} (levels off: at most {plateau:.0%}); raw pixels {raw:.2%}"
    )
    out.append(Measurement(label, max(gain, 0.0) / plateau, 1.0))
    return out


def latent_check(problem: Problem) -> list[Measurement]:
    return _latent_check(problem, live_autoencoders(), numeric.probe_accuracy(None), "fitted now")


def latent_recorded(problem: Problem) -> list[Measurement]:
    fits = {int(k): v for k, v in stored()["autoencoder"]["fits"].items()}
    return _latent_check(problem, fits, stored()["autoencoder"]["raw accuracy"], "stored")

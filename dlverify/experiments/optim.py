"""The experiments of topic optim: the derived Adagrad, RMSprop and Adam rules run step by step
beside torch.optim (their steps, their unrolled states, where Adam's ε sits), and Adam's bias
correction against a Monte Carlo run of torch's first moment."""

from __future__ import annotations

import math
from functools import cache
from typing import Any

import numpy as np
import sympy as sp

from derivations import optim as derived
from dlverify.evaluation import relative_error, scalar_value
from dlverify.problem import Case, Measurement, Problem
from dlverify.problems.optim import EPS, step_rounding
from numerics import optim as numeric


@cache
def _compiled(expr: Any) -> tuple[tuple[str, ...], Any]:
    """The expression as a numpy function of the derivation's symbols, called by their case names."""
    names = tuple(name for name, symbol in derived.SYMBOLS.items() if symbol in expr.free_symbols)
    return names, sp.lambdify([derived.SYMBOLS[n] for n in names], expr, "numpy", dummify=True)


def _apply(expr: Any, values: dict[str, Any]) -> Any:
    names, fn = _compiled(expr)
    return fn(*(values[n] for n in names))


# torch's keyword → the derivation's symbol
SYMBOL_OF = {
    "lr": "eta",
    "eps": "epsilon",
    "weight_decay": "omega",
    "lr_decay": "lambda_d",
    "alpha": "alpha",
    "momentum": "mu",
    "initial_accumulator_value": "s_0",
}
# each rule's state: the entry that updates it, and the symbol of its start (None: 0)
STATES = {
    "adagrad": {"s_prev": ("s_t", "s_0")},
    "rmsprop": {"s_prev": ("s_t", None), "gbar_prev": ("ḡ_t", None), "b_prev": ("b_t", None)},
    "adam": {"m_prev": ("m_t", None), "v_prev": ("v_t", None)},
}


# torch.optim's documented defaults, for hyper-parameters a run leaves out
DEFAULTS = {
    "adagrad": {"lr": 0.01, "lr_decay": 0.0, "weight_decay": 0.0, "initial_accumulator_value": 0.0, "eps": 1e-10},
    "rmsprop": {"lr": 0.01, "alpha": 0.99, "eps": 1e-8, "weight_decay": 0.0, "momentum": 0.0, "centered": False},
    "adam": {"lr": 0.001, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0},
}


class DerivedOptimizer:
    """The derived rules as an optimizer over numpy arrays: what the project computes, kept apart from
    torch.optim; ``variant`` picks an alternative update entry (Adam's ε placements)."""

    def __init__(self, name: str, entries: dict[str, Any], hyper: dict[str, Any], variant: str = "") -> None:
        self.name, self.entries = name, entries
        hyper = {**DEFAULTS[name], **hyper}
        self.values: dict[str, Any] = {SYMBOL_OF[k]: float(v) for k, v in hyper.items() if k in SYMBOL_OF}
        self.values.setdefault("omega", 0.0)
        if name == "adam":
            self.values["beta_1"], self.values["beta_2"] = (float(b) for b in hyper["betas"])
        suffix = " centered" if hyper.get("centered") else ""
        self.update_key = "θ_t" + (f" {variant}" if variant else suffix)
        self.buffer_key = "b_t" + suffix
        self.state: dict[str, Any] | None = None
        self.centered = bool(hyper.get("centered"))
        self.condition = 1.0  # how much the rule amplifies rounding in its state (centered RMSprop)

    def step(self, theta: Any, grad: Any, t: int) -> Any:
        if self.state is None:
            self.state = {
                k: np.full_like(theta, self.values.get(start, 0.0) if start else 0.0)
                for k, (_, start) in STATES[self.name].items()
            }
        values = {**self.values, **self.state, "theta": theta, "g_t": grad, "t": t}
        new_theta = _apply(self.entries[self.update_key], values)
        new_state = {}
        for prev, (entry, _) in STATES[self.name].items():
            key = self.buffer_key if entry == "b_t" else entry
            new_state[prev] = np.broadcast_to(_apply(self.entries[key], values), theta.shape).astype(float)
        if self.centered:
            # d = √(s − ḡ²) + ε: a rounding of s (relative eps) moves d by eps·s/(2√v(√v + ε)), v = s − ḡ²
            s, gbar = new_state["s_prev"], new_state["gbar_prev"]
            v = np.maximum(s - gbar**2, 1e-300)
            amplification = s / (2 * np.sqrt(v) * (np.sqrt(v) + self.values["epsilon"]))
            self.condition = max(self.condition, float(np.max(amplification)))
        self.state = new_state
        return np.broadcast_to(new_theta, theta.shape).astype(float)


def torch_run(problem: Problem, case: Case) -> dict[str, Any]:
    name = problem.id.split(".")[1]
    return numeric.record(name, case["hyper"], case["problem"], case["size"], case["steps"], case["seed"])


def step_error(problem: Problem, case: Case, run: dict[str, Any], variant: str = "") -> tuple[float, float, float]:
    """The largest difference between the derived parameters and torch's after each step (in ``run``),
    relative to the largest step Δ; the rule's amplification of rounding along the run (its condition
    κ); and the rounding of θ_t itself in that unit, eps·max|θ_t| / Δ."""
    name = problem.id.split(".")[1]
    rule = DerivedOptimizer(name, problem.derive().entries(), case["hyper"], variant)
    worst = 0.0
    steps = _defined_steps(run)
    after = run["after"][:steps]
    largest = float(np.abs(after - run["before"][:steps]).max(initial=0.0)) + 1e-300
    for k in range(steps):
        with np.errstate(invalid="ignore"):  # a NaN of the derived rule is measured (as inf), not warned of
            mine = rule.step(run["before"][k], run["grad"][k], k + 1)
        gap = np.abs(mine - after[k])
        worst = max(worst, math.inf if np.isnan(gap).any() else float(gap.max()) / largest)
    return worst, rule.condition, EPS * float(np.abs(after).max(initial=0.0)) / largest


def _defined_steps(run: dict[str, Any]) -> int:
    """The steps before torch's first non-finite parameter: centered RMSprop takes √(s − ḡ²), and where
    the gradients have stopped changing, s − ḡ² is 0 and may round below it (a NaN in torch and in
    the rule as derived alike: the rule is undefined there, nothing to compare)."""
    finite = np.isfinite(run["after"]).all(axis=1)
    return int(finite.argmin()) if not finite.all() else len(finite)


def step_tolerance(case: Case, condition: float, rounding: float) -> float:
    """The bound of the description's STEP_NOTE (dlverify.problems.optim): the step's own rounding,
    amplified by the rule's condition, plus twice the rounding of θ_t (once in each implementation),
    both relative to the largest step."""
    return step_rounding(case) * condition + 2 * rounding


def matches_torch(problem: Problem, case: Case) -> list[Measurement]:
    run = torch_run(problem, case)
    label = f"{problem.id}: derived steps = torch.optim, {case['steps']} steps on a {case['problem']}"
    if (defined := _defined_steps(run)) < case["steps"]:
        label += f" (torch's step {defined + 1} is NaN, √ of s − ḡ² rounded below 0: the {defined} before it)"
    error, condition, rounding = step_error(problem, case, run)
    return [Measurement(label, error, step_tolerance(case, condition, rounding))]


def unrolled_state(problem: Problem, case: Case) -> list[Measurement]:
    """The unrolled closed form of each state (no weight decay) against torch's state after t steps."""
    name = problem.id.split(".")[1]
    hyper = {k: v for k, v in case["hyper"].items() if k != "weight_decay"}
    grads = case["gradients"]
    history = numeric.states(name, hyper, grads)
    torch_states = history[-1]
    derivation = problem.derive()
    values = {SYMBOL_OF[k]: v for k, v in hyper.items() if k in SYMBOL_OF}
    if name == "adam":
        values["beta_1"], values["beta_2"] = hyper["betas"]
    values.update({"g": grads, "t": len(grads)})
    torch_key = {"s_t unrolled": "sum" if name == "adagrad" else "square_avg", "m_t unrolled": "exp_avg"}
    torch_key["v_t unrolled"] = "exp_avg_sq"
    out = []
    for entry in (e for e in derivation.entries() if e.endswith("unrolled")):
        want = scalar_value(derivation.entries()[entry], derivation.symbols, values)
        # torch updates the state in place (a lerp, m + (1 − β)(g − m)): each step rounds at the size of
        # the state then, which may be far larger than the final value (β small, then a zero gradient)
        magnitude = max(
            scalar_value(derivation.entries()[entry], derivation.symbols, values, absolute=True),
            *(abs(state[torch_key[entry]]) for state in history),
        )
        got = torch_states[torch_key[entry]]
        error = relative_error(got, want, magnitude)
        out.append(Measurement(f"{entry} after t = {len(grads)} = torch's state", error, 16 * (len(grads) + 2) * EPS))
    return out


def eps_placement(problem: Problem, case: Case) -> list[Measurement]:
    """Where Adam's ε sits: the other two placements are not what torch computes (with ε = 0.1 and
    small gradients the difference shows; it is measured, relative to the step)."""
    hyper = {**case["hyper"], "eps": 0.1}
    at = {**case, "hyper": hyper, "problem": "quadratic", "steps": max(case["steps"], 20)}
    run = torch_run(problem, at)  # one torch run, compared with both placements
    out = []
    for variant in ("efficient", "ε inside"):
        difference, _, _ = step_error(problem, at, run, variant)
        label = f"ε placed as in '{variant}' differs from torch: step difference {difference:.2g} ≥ 1e-6"
        out.append(Measurement(label, 1e-6 / max(difference, 1e-300), 1.0))
    return out


def bias_monte_carlo(case: Case) -> list[Measurement]:
    """i.i.d. N(E[g], 1) gradients in 4,000 independent coordinates: the mean of torch's m_t is the
    derived E[m_t] within 4 standard errors."""
    d = derived.adam_bias_correction()
    steps = 1 + case["t"] % 60
    want = scalar_value(d.result, d.symbols, {**case, "t": steps})
    got = numeric.adam_first_moment_runs(case["beta_1"], steps, case["E_g"], 1.0, 4000, case["seed"])
    label = f"Monte Carlo, t = {steps}: mean m_t − E[m_t]"
    return [Measurement(label, abs(got["mean"] - want), 4 * got["se"] + 1e-12, want, got["mean"])]

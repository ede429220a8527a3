"""Topic optim: Adagrad, RMSprop and Adam as derived, run step by step beside torch.optim; Adam's
bias correction against torch's first moment (exactly, and by Monte Carlo)."""

from __future__ import annotations

import math
import sys
from functools import cache
from typing import Any

from dlverify.lazy import lazy
from dlverify.problem import Case, Check, Measurement, Problem, Property, SymbolSpec, Topic

TOPIC = Topic("optim", "Optimizers: Adagrad, RMSprop, Adam", order=103)
DERIVED = lazy("derivations.optim")
NUMERIC = lazy("numerics.optim")
EPS = sys.float_info.epsilon
# The derived update takes torch's parameters and gradient at each step and carries its own state.
# Two parts of the difference from torch, in units of the largest step Δ = max |θ_t − θ_{t−1}|:
# - the step's own rounding, relative to the step: the state is a running sum or average of
#   t terms (relative rounding at most t·eps, halved by the square root, not grown by + ε), and
#   each step adds a few roundings (the rate, the division, the product): ≤ (t/2 + 8)·eps
#   between two implementations, allowed 64(t+4)·eps; centered RMSprop's v = s − ḡ² cancels,
#   which multiplies it by the amplification κ = s/(2√v(√v + ε));
# - the rounding of θ_t = θ_{t−1} − Δ_t itself, half an ulp of θ_t in each implementation: an
#   absolute eps·|θ_t|, which no multiple of Δ covers when the step is small beside θ (lr 1e-4
#   moves a θ of 1 by 1e-4, an ulp of θ is 1e-12 of that); allowed 2·eps·max|θ_t| / Δ.
STEP_NOTE = (
    "64(t+4)·eps·c + 2·eps·max|θ_t|/m relative to the largest step m = max |θ_t − θ_{t−1}|: the step's own "
    "rounding (c: centered RMSprop's amplification s/(2√v(√v + ε)) of rounding in v = s − ḡ², else 1), and "
    "the rounding of θ_{t−1} minus the step, absolute"
)


def _tolerance(case: Case) -> float:
    """The step's own rounding, relative to the step (the first part of STEP_NOTE)."""
    return 64 * (case["steps"] + 4) * EPS


def _hyper_strategy(name: str) -> Any:
    from hypothesis import strategies as st

    lr = st.floats(1e-4, 0.5)
    eps = st.sampled_from([1e-10, 1e-8, 1e-6, 1e-3, 0.1])
    decay = st.one_of(st.just(0.0), st.floats(0.0, 0.1))
    if name == "adagrad":
        return st.fixed_dictionaries(
            {
                "lr": lr,
                "lr_decay": st.one_of(st.just(0.0), st.floats(0.0, 0.1)),
                "weight_decay": decay,
                "initial_accumulator_value": st.one_of(st.just(0.0), st.floats(0.0, 1.0)),
                "eps": eps,
            }
        )
    if name == "rmsprop":
        return st.fixed_dictionaries(
            {
                "lr": st.floats(1e-4, 0.05),
                "alpha": st.floats(0.5, 0.999),
                "eps": eps,
                "weight_decay": decay,
                "momentum": st.one_of(st.just(0.0), st.floats(0.0, 0.9)),
                "centered": st.booleans(),
            }
        )
    return st.fixed_dictionaries(
        {
            "lr": st.floats(1e-4, 0.2),
            "betas": st.tuples(st.floats(0.0, 0.99), st.floats(0.5, 0.9999)),
            "eps": eps,
            "weight_decay": decay,
        }
    )


def _run_cases(name: str) -> Any:
    from hypothesis import strategies as st

    return st.fixed_dictionaries(
        {
            "hyper": _hyper_strategy(name),
            "problem": st.sampled_from(["quadratic", "network"]),
            "size": st.integers(1, 6),
            "steps": st.integers(1, 300),
            "seed": st.integers(0, 2**31),
            "gradients": st.lists(st.floats(-3, 3), min_size=1, max_size=40),
        }
    )


@cache
def _compiled(expr: Any) -> tuple[tuple[str, ...], Any]:
    """The expression as a numpy function of the derivation's symbols, called by their case names."""
    import sympy as sp

    names = tuple(name for name, symbol in DERIVED.SYMBOLS.items() if symbol in expr.free_symbols)
    return names, sp.lambdify([DERIVED.SYMBOLS[n] for n in names], expr, "numpy", dummify=True)


def _apply(expr: Any, values: dict[str, Any]) -> Any:
    names, fn = _compiled(expr)
    return fn(*(values[n] for n in names))


# torch's keyword → the derivation's symbol, and each rule's state with its start
SYMBOL_OF = {
    "lr": "eta",
    "eps": "epsilon",
    "weight_decay": "omega",
    "lr_decay": "lambda_d",
    "alpha": "alpha",
    "momentum": "mu",
    "initial_accumulator_value": "s_0",
}
STATES = {
    "adagrad": {"s_prev": ("s_t", "s_0")},
    "rmsprop": {"s_prev": ("s_t", None), "gbar_prev": ("ḡ_t", None), "b_prev": ("b_t", None)},
    "adam": {"m_prev": ("m_t", None), "v_prev": ("v_t", None)},
}


# torch.optim's documented defaults, for hyper-parameters a run leaves out (a test compares them)
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
        import numpy as np

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


def _torch_run(problem: Problem, case: Case) -> dict[str, Any]:
    name = problem.id.split(".")[1]
    return NUMERIC.record(name, case["hyper"], case["problem"], case["size"], case["steps"], case["seed"])


def _step_error(problem: Problem, case: Case, run: dict[str, Any], variant: str = "") -> tuple[float, float, float]:
    """The largest difference between the derived parameters and torch's after each step (in ``run``),
    relative to the largest step Δ; the rule's amplification of rounding along the run (its condition
    κ); and the rounding of θ_t itself in that unit, eps·max|θ_t| / Δ."""
    import numpy as np

    name = problem.id.split(".")[1]
    derived = DerivedOptimizer(name, problem.derive().entries(), case["hyper"], variant)
    worst = 0.0
    steps = _defined_steps(run)
    after = run["after"][:steps]
    largest = float(np.abs(after - run["before"][:steps]).max(initial=0.0)) + 1e-300
    for k in range(steps):
        with np.errstate(invalid="ignore"):  # a NaN of the derived rule is measured (as inf), not warned of
            mine = derived.step(run["before"][k], run["grad"][k], k + 1)
        gap = np.abs(mine - after[k])
        worst = max(worst, math.inf if np.isnan(gap).any() else float(gap.max()) / largest)
    return worst, derived.condition, EPS * float(np.abs(after).max(initial=0.0)) / largest


def _defined_steps(run: dict[str, Any]) -> int:
    """The steps before torch's first non-finite parameter: centered RMSprop takes √(s − ḡ²), and where
    the gradients have stopped changing, s − ḡ² is 0 and may round below it (a NaN in torch and in
    the rule as derived alike: the rule is undefined there, nothing to compare)."""
    import numpy as np

    finite = np.isfinite(run["after"]).all(axis=1)
    return int(finite.argmin()) if not finite.all() else len(finite)


def step_tolerance(case: Case, condition: float, rounding: float) -> float:
    """STEP_NOTE's bound: the step's own rounding, amplified by the rule's condition, plus twice the
    rounding of θ_t (once in each implementation), both relative to the largest step."""
    return _tolerance(case) * condition + 2 * rounding


def _matches_torch(problem: Problem, case: Case) -> list[Measurement]:
    run = _torch_run(problem, case)
    label = f"{problem.id}: derived steps = torch.optim, {case['steps']} steps on a {case['problem']}"
    if (defined := _defined_steps(run)) < case["steps"]:
        label += f" (torch's step {defined + 1} is NaN, √ of s − ḡ² rounded below 0: the {defined} before it)"
    error, condition, rounding = _step_error(problem, case, run)
    return [Measurement(label, error, step_tolerance(case, condition, rounding))]


def _unrolled_state(problem: Problem, case: Case) -> list[Measurement]:
    """The unrolled closed form of each state (no weight decay) against torch's state after t steps."""
    from dlverify.evaluation import relative_error, scalar_value

    name = problem.id.split(".")[1]
    hyper = {k: v for k, v in case["hyper"].items() if k != "weight_decay"}
    grads = case["gradients"]
    history = NUMERIC.states(name, hyper, grads)
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


def _eps_placement(problem: Problem, case: Case) -> list[Measurement]:
    """Where Adam's ε sits: the other two placements are not what torch computes (with ε = 0.1 and
    small gradients the difference shows; it is measured, relative to the step)."""
    hyper = {**case["hyper"], "eps": 0.1}
    at = {**case, "hyper": hyper, "problem": "quadratic", "steps": max(case["steps"], 20)}
    run = _torch_run(problem, at)  # one torch run, compared with both placements
    out = []
    for variant in ("efficient", "ε inside"):
        difference, _, _ = _step_error(problem, at, run, variant)
        label = f"ε placed as in '{variant}' differs from torch: step difference {difference:.2g} ≥ 1e-6"
        out.append(Measurement(label, 1e-6 / max(difference, 1e-300), 1.0))
    return out


THETA = SymbolSpec("theta", r"\theta", "real", "a parameter entry before the step")
G = SymbolSpec("g_t", "g_t", "real", "its gradient at step t")
COMMON = (
    THETA,
    G,
    SymbolSpec("eta", r"\eta", "real", "the learning rate lr", ("lr",), assumptions=("positive",)),
    SymbolSpec("epsilon", r"\epsilon", "real", "eps", ("eps",), assumptions=("positive",)),
    SymbolSpec("omega", r"\omega", "real", "weight_decay", assumptions=("positive",)),
    SymbolSpec("t", "t", "integer", "the step number", bounds=("1", "50")),
    SymbolSpec("i", "i", "index", "a step of the sum", bounds=("1", "t")),
    SymbolSpec("g", "g", "sequence", "the gradients g_1 … g_t of a run"),
)


CLASS_NAMES = {"adagrad": "Adagrad", "rmsprop": "RMSprop", "adam": "Adam"}


def _rule(name: str, title: str, statement: str, state: tuple[SymbolSpec, ...], checks: tuple[Check, ...]) -> Problem:
    return Problem(
        id=f"optim.{name}",
        topic="optim",
        title=title,
        kind="claim",
        statement=statement,
        symbols=(*COMMON, *state),
        derive=lambda: getattr(DERIVED, name)(),
        oracle=lambda case: None,
        oracle_name=f"torch.optim.{CLASS_NAMES[name]} run step by step on random quadratics and a small tanh "
        "network (float64)",
        cases=lambda: _run_cases(name),
        tolerance=_tolerance,
        tolerance_note=STEP_NOTE,
        sizes=("steps", "size"),
        ci_examples=30,  # each case runs torch.optim for up to its steps three times: 30 random settings
        compare=(
            Check("the derived steps equal torch.optim's", _matches_torch),
            Check("the unrolled states equal torch's", _unrolled_state),
            *checks,
        ),
    )


def _real(name: str, latex: str, meaning: str, *spellings: str) -> SymbolSpec:
    return SymbolSpec(name, latex, "real", meaning, spellings, assumptions=("positive",))


def _bias_cases() -> Any:
    from hypothesis import strategies as st

    return st.fixed_dictionaries(
        {
            "E_g": st.floats(-5, 5),
            "beta_1": st.floats(0.0, 0.999),
            "t": st.integers(1, 300),
            "seed": st.integers(0, 2**31),
        }
    )


def _bias_monte_carlo(case: Case) -> list[Measurement]:
    """i.i.d. N(E[g], 1) gradients in 4,000 independent coordinates: the mean of torch's m_t is the
    derived E[m_t] within 4 standard errors."""
    from dlverify.evaluation import scalar_value

    d = DERIVED.adam_bias_correction()
    steps = 1 + case["t"] % 60
    want = scalar_value(d.result, d.symbols, {**case, "t": steps})
    got = NUMERIC.adam_first_moment_runs(case["beta_1"], steps, case["E_g"], 1.0, 4000, case["seed"])
    label = f"Monte Carlo, t = {steps}: mean m_t − E[m_t]"
    return [Measurement(label, abs(got["mean"] - want), 4 * got["se"] + 1e-12, want, got["mean"])]


PROBLEMS = (
    Problem(
        id="optim.adam_bias_correction",
        topic="optim",
        title="Adam's bias correction: E[m_t]",
        kind="expr",
        statement="Adam's first moment m_t = β1 m_{t−1} + (1 − β1) g_t starts at m_0 = 0. For stationary gradients "
        "(every g_t with mean E[g]), give E[m_t] in terms of E[g], β1 and t.",
        symbols=(
            SymbolSpec(
                "E_g",
                r"\mathbb{E}[g]",
                "real",
                "the gradients' mean E[g]",
                ("E[g]", r"\mathbb{E}[g]", "E[g_t]", r"\mathbb{E}[g_t]", "E_g", "Eg"),
            ),
            SymbolSpec(
                "beta_1",
                r"\beta_1",
                "real",
                "β1, the first moment's decay",
                ("beta1", "b_1"),
                assumptions=("positive", "in (0, 1)"),
            ),
            SymbolSpec("t", "t", "integer", "the step number", bounds=("1", "60")),
        ),
        derive=lambda: DERIVED.adam_bias_correction(),
        oracle=lambda case: NUMERIC.states("adam", {"betas": (case["beta_1"], 0.999)}, [case["E_g"]] * case["t"])[-1][
            "exp_avg"
        ],
        oracle_name="torch.optim.Adam's exp_avg after t steps of the constant gradient E[g] (E is linear)",
        cases=_bias_cases,
        tolerance=lambda case: 8 * (case["t"] + 2) * EPS,
        tolerance_note="8(t+2)·eps relative: one rounding per step of the running mean",
        sizes=("t",),
        # each case is a Monte Carlo run of 4,000 coordinates
        properties=(Property("Monte Carlo over i.i.d. gradients (4 standard errors)", _bias_monte_carlo, 30),),
    ),
    _rule(
        "adagrad",
        "Adagrad's update, as torch.optim.Adagrad computes it (beyond the catalog's ids)",
        "torch.optim.Adagrad with lr η, lr_decay, weight_decay ω, initial_accumulator_value s_0 and eps ε: "
        "derive one step (accumulator s_t, parameter θ_t) and the accumulator unrolled over t steps.",
        (
            _real("s_prev", "s_{t-1}", "the accumulator before the step"),
            _real("lambda_d", r"\lambda_d", "lr_decay"),
            _real("s_0", "s_0", "initial_accumulator_value"),
        ),
        (),
    ),
    _rule(
        "rmsprop",
        "RMSprop's update, plain and centered, with momentum (beyond the catalog's ids)",
        "torch.optim.RMSprop with lr η, alpha α, eps ε, weight_decay ω, momentum μ and centered: derive one step "
        "(s_t, ḡ_t, the buffer b_t, θ_t) and s_t unrolled over t steps.",
        (
            _real("alpha", r"\alpha", "alpha, the average's decay"),
            _real("mu", r"\mu", "momentum"),
            SymbolSpec("s_prev", "s_{t-1}", "real", "the squared gradients' average before the step"),
            SymbolSpec("gbar_prev", r"\bar g_{t-1}", "real", "the gradients' average before the step (centered)"),
            SymbolSpec("b_prev", "b_{t-1}", "real", "the momentum buffer before the step"),
        ),
        (),
    ),
    _rule(
        "adam",
        "Adam's update, and where its ε sits (beyond the catalog's ids)",
        "torch.optim.Adam with lr η, betas (β1, β2), eps ε and weight_decay ω: derive one step (m_t, v_t, θ_t), "
        "the moments unrolled over t steps, and the paper's two placements of ε; say which torch implements.",
        (
            _real("beta_1", r"\beta_1", "β1"),
            _real("beta_2", r"\beta_2", "β2"),
            SymbolSpec("m_prev", "m_{t-1}", "real", "the first moment before the step"),
            SymbolSpec("v_prev", "v_{t-1}", "real", "the second moment before the step"),
        ),
        (Check("the other placements of ε are not torch's", _eps_placement),),
    ),
)

"""Topic optim: Adagrad, RMSprop and Adam as derived, run step by step beside torch.optim; Adam's
bias correction against torch's first moment (exactly, and by Monte Carlo)."""

from __future__ import annotations

import sys
from typing import Any

from dlverify.lazy import lazy
from dlverify.problem import Case, Check, Problem, Property, SymbolSpec, Topic

TOPIC = Topic("optim", "Optimizers: Adagrad, RMSprop, Adam", order=103)
DERIVED = lazy("derivations.optim")
NUMERIC = lazy("numerics.optim")
EXPERIMENTS = lazy("dlverify.experiments.optim")  # the checks that run the derived rules beside torch.optim
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


def step_rounding(case: Case) -> float:
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
        tolerance=step_rounding,
        tolerance_note=STEP_NOTE,
        sizes=("steps", "size"),
        ci_examples=30,  # each case runs torch.optim for up to its steps three times: 30 random settings
        compare=(
            Check("the derived steps equal torch.optim's", lambda p, c: EXPERIMENTS.matches_torch(p, c)),
            Check("the unrolled states equal torch's", lambda p, c: EXPERIMENTS.unrolled_state(p, c)),
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
        properties=(
            Property(
                "Monte Carlo over i.i.d. gradients (4 standard errors)",
                lambda case: EXPERIMENTS.bias_monte_carlo(case),
                30,
            ),
        ),
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
        (Check("the other placements of ε are not torch's", lambda p, c: EXPERIMENTS.eps_placement(p, c)),),
    ),
)

# The homework's experiment questions (issue 27), described with the others in dlverify/problems/measured.py.
from dlverify.problems import measured  # noqa: E402

PROBLEMS = (*PROBLEMS, *measured.optim_items())

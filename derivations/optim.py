"""Adagrad, RMSprop and Adam: one step of each, their states unrolled over t steps, and Adam's
bias correction.

Every rule acts entry by entry, so a scalar parameter θ with gradient g stands for every
coordinate.  Weight decay ω is PyTorch's: an L2 term whose gradient ωθ is added to g before
the rule (Adam's, not AdamW's).  Where the paper and the framework differ — where Adam's ε
sits — all variants are derived and the numeric checks say which one torch implements.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from derivations.core import Derivation, Step
from derivations.symbols import Expectation, Name, minus, plus

theta, g = sp.symbols("theta g_t", real=True)  # the parameter before the step, and its gradient
lr, eps = sp.symbols("eta epsilon", positive=True)
wd = sp.Symbol("omega", nonnegative=True)  # weight_decay
t = sp.Symbol("t", integer=True, positive=True)  # the step number, from 1
i = sp.Symbol("i", integer=True, positive=True)
beta1, beta2, alpha = sp.symbols("beta_1 beta_2 alpha", positive=True)
momentum = sp.Symbol("mu", nonnegative=True)
lr_decay = sp.Symbol("lambda_d", nonnegative=True)  # Adagrad's lr_decay
# the states before the step, printed as the homework writes them
s_prev, m_prev, v_prev, b_prev = sp.symbols("s_{t-1} m_{t-1} v_{t-1} b_{t-1}", real=True)
gbar_prev = sp.Symbol(r"\bar{g}_{t-1}", real=True)
s0 = sp.Symbol("s_0", nonnegative=True)  # Adagrad's initial_accumulator_value, RMSprop's 0
G = sp.IndexedBase("g", real=True)  # the gradients g_1, g_2, … of a run
E_g = sp.Symbol("E_g", real=True)  # E[g], the gradients' common mean

SYMBOLS = {
    "theta": theta,
    "g_t": g,
    "eta": lr,
    "epsilon": eps,
    "omega": wd,
    "t": t,
    "beta_1": beta1,
    "beta_2": beta2,
    "alpha": alpha,
    "mu": momentum,
    "lambda_d": lr_decay,
    "s_prev": s_prev,
    "m_prev": m_prev,
    "v_prev": v_prev,
    "gbar_prev": gbar_prev,
    "b_prev": b_prev,
    "s_0": s0,
    "i": i,
    "g": G,
    "E_g": E_g,
}

DECAYED = g + wd * theta


def _decay_step() -> Step:
    return Step(
        "PyTorch's weight_decay ω adds the gradient of (ω/2)θ² to g before the rule:",
        rhs=DECAYED,
        lhs=Name(r"\hat g"),
    )


@cache
def adagrad() -> Derivation:
    s = s_prev + DECAYED**2
    rate = lr / (1 + (t - 1) * lr_decay)
    new = theta - rate * DECAYED / (sp.sqrt(s) + eps)
    unrolled = s0 + sp.Sum(G[i] ** 2, (i, 1, t))
    steps = (
        _decay_step(),
        Step("The accumulator adds the squared gradient:", rhs=s, lhs=Name("s_t")),
        Step("The learning rate decays with the step number t:", rhs=rate, lhs=Name(r"\eta_t")),
        Step("and the step divides by √s_t + ε (ε outside the root):", rhs=new, lhs=Name(r"\theta_t")),
        Step(
            "Unrolled from s_0 (initial_accumulator_value) without weight decay, the accumulator is the sum of the "
            "squared gradients so far (s_t − s_{t−1} = g_t², the induction step):",
            rhs=unrolled,
            lhs=Name("s_t"),
        ),
    )
    return Derivation({"s_t": s, "θ_t": new, "s_t unrolled": unrolled}, steps, SYMBOLS)


def _average_unrolled(rate: sp.Basic, start: sp.Basic, square: bool) -> sp.Basic:
    """x_t = rate·x_{t−1} + (1 − rate)·g_t^(2) from x_0 = start, summed out."""
    power = 2 if square else 1
    return rate**t * start + (1 - rate) * sp.Sum(rate ** (t - i) * G[i] ** power, (i, 1, t))


def _induction_step(rate: sp.Basic, square: bool) -> Step:
    """SymPy's check that the unrolled average satisfies its recurrence: with the sum's last term
    split off, x_t − rate·x_{t−1} − (1 − rate)·g_t^p reduces to 0 (and x_0 is the start)."""
    from sympy.simplify.simplify import sum_simplify

    x0 = sp.Symbol("x_0")
    power = 2 if square else 1
    split = rate**t * x0 + (1 - rate) * (sp.Sum(rate ** (t - i) * G[i] ** power, (i, 1, t - 1)) + G[t] ** power)
    difference = sp.expand(
        split - rate * _average_unrolled(rate, x0, square).subs(t, t - 1) - (1 - rate) * G[t] ** power
    )
    difference = difference.replace(
        lambda e: isinstance(e, sp.Sum), lambda e: sp.Sum(sp.expand(sp.powsimp(sp.expand(e.function))), e.limits)
    )
    reduced = sum_simplify(sp.expand(difference))
    if reduced != 0:
        raise ArithmeticError(f"the unrolled average does not satisfy its recurrence: {reduced}")
    return Step(
        "SymPy checks the induction step: with the last term of the sum split off, x_t − rate·x_{t−1} − (1 − rate)·"
        "g_t^p reduces to",
        rhs=reduced,
        lhs=plus("x_t", minus(r"\dots")),
    )


@cache
def rmsprop() -> Derivation:
    s = alpha * s_prev + (1 - alpha) * DECAYED**2
    gbar = alpha * gbar_prev + (1 - alpha) * DECAYED
    plain = sp.sqrt(s) + eps
    centered = sp.sqrt(s - gbar**2) + eps
    b_plain = momentum * b_prev + DECAYED / plain
    b_centered = momentum * b_prev + DECAYED / centered
    unrolled = _average_unrolled(alpha, 0, square=True)
    steps = (
        _decay_step(),
        Step("The squared gradients' running average:", rhs=s, lhs=Name("s_t")),
        Step(
            "centered=True also averages the gradient, to divide by an estimate of its standard deviation:",
            rhs=gbar,
            lhs=Name(r"\bar g_t"),
        ),
        Step("The divisor, ε outside the root (plain):", rhs=plain, lhs=Name("d_t")),
        Step("and centered:", rhs=centered, lhs=Name("d_t")),
        Step(
            "With momentum μ the scaled gradients are accumulated (μ = 0: no buffer):",
            rhs=b_plain,
            lhs=Name("b_t"),
        ),
        Step("and the step is", rhs=theta - lr * b_plain, lhs=Name(r"\theta_t")),
        Step(
            "Unrolled from s_0 = 0 without weight decay, a geometric average of the squared gradients:",
            rhs=unrolled,
            lhs=Name("s_t"),
        ),
        _induction_step(alpha, square=True),
    )
    return Derivation(
        {
            "s_t": s,
            "ḡ_t": gbar,
            "b_t": b_plain,
            "θ_t": theta - lr * b_plain,
            "b_t centered": b_centered,
            "θ_t centered": theta - lr * b_centered,
            "s_t unrolled": unrolled,
        },
        steps,
        SYMBOLS,
    )


@cache
def adam() -> Derivation:
    m = beta1 * m_prev + (1 - beta1) * DECAYED
    v = beta2 * v_prev + (1 - beta2) * DECAYED**2
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    algorithm_1 = theta - lr * m_hat / (sp.sqrt(v_hat) + eps)
    eps_hat = sp.Symbol("epsilon_hat", positive=True)
    efficient = theta - lr * sp.sqrt(1 - beta2**t) / (1 - beta1**t) * m / (sp.sqrt(v) + eps_hat)
    inside = theta - lr * m_hat / sp.sqrt(v_hat + eps)
    # where the two forms meet: with r = √v > 0 and c = 1 − β2^t > 0 (β2 < 1), solve for ε̂
    r, c = sp.symbols("r c", positive=True)
    corrected = (1 / (r / sp.sqrt(c) + eps)) / (1 - beta1**t)
    folded = sp.sqrt(c) / (1 - beta1**t) / (r + eps_hat)
    same = sp.solve(sp.Eq(corrected, folded), eps_hat)
    if len(same) != 1:
        raise ArithmeticError("the efficient form matches Algorithm 1 in more than one way")
    matching = same[0].subs(c, 1 - beta2**t)
    steps = (
        _decay_step(),
        Step("The first moment (the gradients' running mean):", rhs=m, lhs=Name("m_t")),
        Step("the second moment:", rhs=v, lhs=Name("v_t")),
        Step(
            "Both start at 0 and are biased towards it; divided by 1 − β^t (optim.adam_bias_correction):",
            rhs=m_hat,
            lhs=Name(r"\hat m_t"),
        ),
        Step(
            "The paper's Algorithm 1 adds ε to the corrected root — what torch.optim.Adam computes:",
            rhs=algorithm_1,
            lhs=Name(r"\theta_t"),
        ),
        Step(
            "The paper's faster form (end of its Section 2) folds the corrections into the rate and adds ε̂ to the "
            "uncorrected root:",
            rhs=efficient,
            lhs=Name(r"\theta_t"),
        ),
        Step(
            "SymPy solves for the ε̂ that makes the two equal: they agree only when ε̂ shrinks with t as",
            rhs=matching,
            lhs=Name(r"\hat\epsilon"),
        ),
        Step(
            "A third variant (in some other libraries) puts ε inside the root:",
            rhs=inside,
            lhs=Name(r"\theta_t"),
        ),
    )
    return Derivation(
        {
            "m_t": m,
            "v_t": v,
            "θ_t": algorithm_1,
            "θ_t efficient": efficient.subs(eps_hat, eps),
            "θ_t ε inside": inside,
            "m_t unrolled": _average_unrolled(beta1, 0, square=False),
            "v_t unrolled": _average_unrolled(beta2, 0, square=True),
        },
        steps,
        {**SYMBOLS, "epsilon_hat": eps_hat},
    )


@cache
def adam_bias_correction() -> Derivation:
    """E[m_t] for gradients with a common mean E[g] (stationary), m_0 = 0."""
    unrolled = _average_unrolled(beta1, 0, square=False)
    expectation = (1 - beta1) * sp.Sum(beta1 ** (t - i) * E_g, (i, 1, t))
    summed = expectation.doit()
    # the geometric series: SymPy returns a Piecewise for β1 = 1; the catalog's β1 < 1
    if isinstance(summed, sp.Piecewise):
        summed = next(expr for expr, cond in summed.args if cond != sp.true)
    result = E_g * (1 - beta1**t)
    if sp.simplify(summed - result) != 0:
        raise ArithmeticError(f"the geometric series gave {summed}")
    steps = (
        Step(
            "The first moment m_t = β1 m_{t−1} + (1 − β1) g_t from m_0 = 0, unrolled (each step multiplies what "
            "came before by β1):",
            rhs=unrolled,
            lhs=Name("m_t"),
        ),
        _induction_step(beta1, square=False),
        Step(
            "The expectation is linear, and every g_i has mean E[g]:",
            rhs=expectation,
            lhs=Expectation("m_t"),
        ),
        Step(
            "SymPy sums the geometric series (β1 < 1): the estimate is biased towards m_0 = 0 by the factor "
            "1 − β1^t, which Adam divides out (m̂_t = m_t/(1 − β1^t)):",
            rhs=result,
            lhs=Expectation("m_t"),
        ),
    )
    return Derivation(result, steps, {"E_g": E_g, "beta_1": beta1, "t": t})

"""Spikes in a loss curve: what causes them, whether they can rise above the initial loss, what fixes them.

The reasons are the stability of a gradient step along a direction of curvature λ, and the
unboundedness of the cross-entropy; numerics.curves measures them on a small classifier
(dlverify/experiments/curves.py decides the keys from its runs).
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from derivations.core import Derivation, Step
from derivations.symbols import Name

eta, lam = sp.symbols("eta lambda", positive=True)
e = sp.Symbol("e", real=True)


def _stability_steps() -> tuple[Step, ...]:
    factor = sp.expand((e - eta * lam * e) / e)  # one step on ½λe²: e → e − ηλe
    # the solver reads η as any real: the rates that overshoot are the negative ones and those above 2/λ
    unstable = sp.solve_univariate_inequality(sp.Abs(factor) > 1, eta, relational=False)
    if unstable != sp.Union(sp.Interval.open(-sp.oo, 0), sp.Interval.open(2 / lam, sp.oo)):
        raise ArithmeticError(f"unexpected instability region {unstable}")
    edge = unstable.args[1].start
    return (
        Step(
            "Near a minimum the loss is ½λe² along a direction of curvature λ, and a gradient step maps e to e − ηλe: "
            "it multiplies the error by",
            rhs=factor,
            lhs=Name(r"e_{t+1} / e_t"),
        ),
        Step(
            "whose modulus exceeds 1 — the step overshoots and the loss grows — exactly for positive learning rates "
            "above (SymPy solves |1 − ηλ| > 1)",
            rhs=edge,
            lhs=Name(r"\eta_{\mathrm{crit}}"),
        ),
        Step(
            "A learning rate above 2/λ for the sharpest direction makes the loss jump up until the iterate reaches a "
            "flatter region (smaller λ), where it descends again: a spike. The curvature is largest early in "
            "training, so the spikes come early."
        ),
    )


@cache
def spike_cause() -> Derivation:
    steps = (
        *_stability_steps(),
        Step(
            "A larger model does not remove the cause (its sharpest curvature is as large); the spikes come in the "
            "first steps, not after many epochs; clean labels show them too. So: the learning rate is too large "
            "(one homework solution blames underparametrisation)."
        ),
    )
    return Derivation(frozenset({"learning rate too large"}), steps, {})


@cache
def spike_above_initial() -> Derivation:
    K = sp.Symbol("K", integer=True, positive=True)
    s = sp.Symbol("s", positive=True)  # the margin by which a wrong class's logit beats the true one
    initial = sp.expand_log(-sp.log(1 / K), force=True)  # uniform predictions at initialisation (xent.initial_loss)
    confident_wrong = -sp.log(1 / (1 + (K - 1) * sp.exp(s)))  # the other K − 1 logits s above the true one
    unbounded = sp.limit(confident_wrong, s, sp.oo)
    steps = (
        Step(
            "At initialisation the predictions are near uniform, and the cross-entropy is", rhs=initial, lhs=Name("L_0")
        ),
        Step(
            "After training the logits are large; an overshooting step can make the network confidently wrong. "
            "With the other K − 1 logits s above the true class's, the loss of an example is",
            rhs=confident_wrong,
            lhs=Name("L(s)"),
        ),
        Step(
            "which is log K at s = 0 and grows without bound:",
            rhs=unbounded,
            lhs=sp.Limit(Name("L(s)"), Name("s"), sp.oo),
        ),
        Step("So a spike can rise above the loss at initialisation: true."),
    )
    return Derivation(frozenset({"true"}), steps, {})


@cache
def spike_fix() -> Derivation:
    key = frozenset({"lower the learning rate", "gradient clipping", "learning-rate warm-up"})
    steps = (
        *_stability_steps(),
        Step(
            "Each fix acts on the overshooting step: a lower rate keeps η below 2/λ; clipping the gradient's norm to "
            "c bounds every step's length by ηc, so no step can throw the iterate far; a warm-up keeps η small "
            "while the curvature is largest (early) and reaches the full rate once training has moved to flatter "
            "regions. A larger model keeps the sharp start, and more epochs repeat the same first steps (the same "
            "seed gives the same prefix of the curve), so neither removes the spikes."
        ),
    )
    return Derivation(key, steps, {})

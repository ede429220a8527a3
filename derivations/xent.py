"""Cross-entropy at initialisation: with uniform logits over K classes the loss is log K and
the expected accuracy (ties broken at random) is 1/K, for any K."""

from __future__ import annotations

from functools import cache

import sympy as sp

from derivations.core import Derivation, Step
from derivations.symbols import Expectation, Name, Words

K = sp.Symbol("K", integer=True, positive=True)
CLASSES = 4  # the catalog's K
c = sp.Symbol("c", real=True)  # the common logit
j, k = sp.symbols("j k", integer=True, positive=True)
SYMBOLS = {"K": K}


@cache
def initial_loss_general() -> Derivation:
    """−log softmax(z)_y with z_1 = … = z_K = c, for any K (the symbol K)."""
    normaliser = sp.Sum(sp.exp(c), (j, 1, K))
    probability = sp.exp(c) / normaliser.doit()
    loss = sp.simplify(-sp.log(probability))
    steps = (
        Step(
            "Uniform logits z_1 = … = z_K = c (what small initial weights give, to first order): softmax's "
            "normaliser is",
            rhs=normaliser,
            lhs=sp.Sum(sp.exp(Name("z_j")), (j, 1, K)),
        ),
        Step("SymPy sums it to K e^c, so every class has probability", rhs=probability, lhs=Name("p_y")),
        Step("and the cross-entropy −log p_y of any label y is", rhs=loss, lhs=Name(r"\ell")),
    )
    return Derivation(loss, steps, SYMBOLS)


@cache
def initial_accuracy_general() -> Derivation:
    """Expected accuracy when all K logits tie and the tie is broken uniformly at random."""
    pick = sp.Rational(1, 1) / K  # each class is predicted with probability 1/K
    label = sp.Function("P_y")
    expected = sp.Sum(pick * label(k), (k, 1, K))
    balanced = sp.simplify(expected.replace(label, lambda arg: 1 / K).doit())
    steps = (
        Step(
            "All K logits tie, and the tie is broken uniformly at random: class k is predicted with probability "
            "1/K, independently of the label, so the expected accuracy is Σ_k P(predict k) P(y = k) =",
            rhs=expected,
            lhs=Expectation(r"\mathrm{acc}"),
        ),
        Step(
            "With balanced classes P(y = k) = 1/K (and in fact for any label distribution, since Σ_k P(y = k) = 1):",
            rhs=balanced,
            lhs=Expectation(r"\mathrm{acc}"),
        ),
    )
    return Derivation(balanced, steps, SYMBOLS)


def _at_catalog_size(general: Derivation, what: str) -> Derivation:
    value = general.result.subs(K, CLASSES)
    step = Step(f"For the catalog's K = {CLASSES} classes, the {what} is", rhs=value, lhs=Words(what))
    return Derivation(value, (*general.steps, step), {})


@cache
def initial_loss() -> Derivation:
    return _at_catalog_size(initial_loss_general(), "loss")


@cache
def initial_accuracy() -> Derivation:
    return _at_catalog_size(initial_accuracy_general(), "accuracy")

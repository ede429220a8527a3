"""Linear autoencoders: what the generic tests do not cover."""

from __future__ import annotations

import dataclasses

import sympy as sp

from derivations import lae
from derivations.core import Derivation
from dlverify import registry
from dlverify.checking.judge import judge
from dlverify.crosscheck import cross_check


def test_sympys_matrix_derivative_of_the_regularised_loss_meets_the_oracle() -> None:
    # SymPy 1.14 returns 0 for d/dW1 of Trace(RᵀR)/n + λ Trace(W1ᵀW1) + λ Trace(W2ᵀW2) (sympy issues
    # 23492, 27406). Whatever it returns, autograd decides: a wrong result must fail the cross-check.
    lam = sp.Symbol("lambda", positive=True)
    R = lae.X - lae.W2 * lae.W1 * lae.X
    loss = sp.Trace(R.T * R) / lae.n + lam * sp.Trace(lae.W1.T * lae.W1) + lam * sp.Trace(lae.W2.T * lae.W2)
    naive = sp.diff(loss, lae.W1)
    if naive == 0:
        naive = sp.ZeroMatrix(lae.k, lae.m)
    problem = registry.problems()["rlae.grad_W1"]
    ours = problem.derive()
    wrong = dataclasses.replace(problem, derive=lambda: Derivation(naive, ours.steps, ours.symbols))
    zero = isinstance(naive, sp.ZeroMatrix)
    assert cross_check(wrong, examples=10).passed is not zero
    assert cross_check(problem, examples=10).passed


def test_the_optimum_may_omit_o_but_not_misplace_it() -> None:
    base = r"U_k (I - \lambda \Lambda_k^{-1})^{1/2}"
    assert judge("rlae.optimum", base + " O").ok
    assert judge("rlae.optimum", base).ok
    assert judge("rlae.optimum", base + " O^T").ok  # any orthogonal factor: tests/test_model_domain.py
    assert judge("rlae.optimum", r"U_k \sqrt{I - \lambda \Lambda_k^{-1}} O").ok
    assert judge("rlae.optimum", r"U_k (\Lambda_k - \lambda I)^{1/2} \Lambda_k^{-1/2} O").ok
    for wrong in (
        r"U_k O (I - \lambda \Lambda_k^{-1})^{1/2}",
        r"U_k (I - \lambda \Lambda_k^{-1}) O",
        r"U_k (I - \lambda \Lambda_k)^{1/2} O",
    ):
        assert judge("rlae.optimum", wrong).verdict == "incorrect", wrong


def test_lambda_is_drawn_below_the_smallest_eigenvalue() -> None:
    import random

    import numpy as np

    from dlverify.checking.matrices import draw_matrix_point

    problem = registry.problems()["rlae.optimum"]
    objects = problem.derive().symbols
    rng = random.Random(0)
    for _ in range(50):
        point = draw_matrix_point(problem, rng)
        ceiling = np.min(np.diag(point.matrices[objects["Lambda_k"]]))
        assert 0 < point.scalars[objects["lambda"]] < ceiling


def test_the_pca_family_cancels_only_with_the_eigen_relations() -> None:
    # ∂L/∂W2 needs Σ U_k = U_k Λ_k: without it terms remain, so the zero is the rules' work, not a default.
    g2 = lae.rewrite(lae.grad_W2().result, lae.COVARIANCE_RULES)
    on_family = g2.xreplace({lae.W1: lae.C * lae.U_k.T, lae.W2: lae.U_k * lae.C.I})
    partial = lae.rewrite(on_family, lae.EIGEN_RULES[:1])
    assert not isinstance(partial, sp.ZeroMatrix)
    assert isinstance(lae.rewrite(on_family, lae.EIGEN_RULES), sp.ZeroMatrix)


def test_a_toml_integer_answers_a_numbered_choice() -> None:
    assert judge("rlae.layers", 2).ok
    assert judge("rlae.layers", 3).verdict == "incorrect"
    assert judge("rlae.loss_fn", True).verdict == "unparsed"  # true is no loss function


def test_a_claims_template_says_it_is_not_answered(capsys) -> None:
    from dlverify.cli import main

    assert main(["template", "lae.pca_is_optimal"]) == 0
    out = capsys.readouterr().out
    assert "not answered" in out and "answer =" not in out

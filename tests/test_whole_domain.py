"""Answers are judged over the item's whole domain: sizes past the small box that ordinary draws
cover, and witnesses only inside the domain (k < m, valid convolutions, λ < σ_k²)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from dlverify import registry
from dlverify.checking import points
from dlverify.checking.judge import judge
from dlverify.checking.matrices import POINTS, _points, draw_matrix_point

DY = r"\sum_{t=1}^{T} (T - t + 1) w^{T-t} u_t"
EIGHT = "(T-1)(T-2)(T-3)(T-4)(T-5)(T-6)(T-7)(T-8)"  # 0 at every T ≤ 8
PLAIN_EIGHT = EIGHT.replace(")(", ")*(")
GRAD_W1 = r"-\frac{2}{n} W_2^\top (X - W_2 W_1 X) X^\top"
MLP_W1 = r"((W_2^T g_{V_3}) \odot \sigma'(V_1)) X^T"
TAIL = r"\sum_{i=k+1}^{m} \sigma_i^2"
# (m² − k²)/((m − k)(m + k)) is 1 for k < m and undefined at k = m, outside the domain
ONE_BELOW_M = r"\frac{m^2 - k^2}{(m-k)(m+k)}"
RLAE_KEPT = r"\sum_{i=1}^{k} (2\lambda - \frac{\lambda^2}{\sigma_i^2})"
W_AXIS = r"\lfloor (W + 2P - D(K-1) - 1)/S \rfloor + 1"


class TestSizesPastTheSmallBox:
    """A term that is a polynomial in a size vanishing on the ordinary draws' box (T ≤ 8, m ≤ 5,
    N ≤ 6) is wrong at every larger size, and is caught; the right spellings stay correct."""

    @pytest.mark.parametrize(
        ("item", "answer", "verdict"),
        [
            ("scalar_rnn.dy_dw_general", DY, "correct"),
            ("scalar_rnn.dy_dw_general", "sum((T - t + 1) * w^(T - t) * u[t], t, 1, T)", "correct"),
            ("scalar_rnn.dy_dw_general", DY + " + " + EIGHT + " u_1", "incorrect"),
            (
                "scalar_rnn.dy_dw_general",
                "sum((T-t+1) * w^(T-t) * u[t], t, 1, T) + " + PLAIN_EIGHT + " * w",
                "incorrect",
            ),
            ("scalar_rnn.dy_dw_general", DY + r" + \prod_{j=1}^{12} (T - j)", "incorrect"),
            ("rnn.loss_last_step", r"(\hat{y}_T - y_T)^2 + " + EIGHT, "incorrect"),
            ("rnn.loss_all_steps", r"\frac{1}{T}\sum_{t=1}^{T}(\hat{y}_t - y_t)^2", "correct"),
            ("rnn.loss_all_steps", r"\frac{1}{T}\sum_{t=1}^{T}(\hat{y}_t - y_t)^2 (1 + " + EIGHT + ")", "incorrect"),
            ("lae.min_loss", TAIL, "correct"),
            ("lae.min_loss", r"\sum_{i=1}^{m} \sigma_i^2 - \sum_{i=1}^{k}\sigma_i^2", "correct"),
            ("lae.min_loss", TAIL + r" + (m-2)(m-3)(m-4)(m-5)(m-6)(m-7)(m-8)\sigma_1^2", "incorrect"),
            ("lae.grad_W1", GRAD_W1, "correct"),
            ("lae.grad_W1", GRAD_W1 + " + (m-1)(m-2)(m-3)(m-4)(m-5) W_1", "incorrect"),
            ("lae.grad_W1", GRAD_W1 + " + (n-1)(n-2)(n-3)(n-4)(n-5)(n-6) W_1", "incorrect"),
            ("mlp.grad_W1", MLP_W1, "correct"),
            ("mlp.grad_W1", MLP_W1 + " + (N-1)(N-2)(N-3)(N-4)(N-5)(N-6) W_1", "incorrect"),
        ],
    )
    def test_verdict(self, item: str, answer: str, verdict: str) -> None:
        assert judge(item, answer).verdict == verdict

    @pytest.mark.parametrize("item", ["scalar_rnn.dy_dw_general", "lae.min_loss", "rnn.loss_last_step"])
    def test_expression_draws_reach_past_the_box(self, item: str) -> None:
        problem = registry.problems()[item]
        sizes = problem.derive().symbols
        name = "T" if "T" in sizes else "m"
        rng = random.Random(0)
        drawn = [points.draw(problem, rng, wide=k in points.WIDE_DRAWS) for k in range(12)]
        assert max(int(p.values[sizes[name]]) for p in drawn) > 2 * points.MAX_SIZE

    @pytest.mark.parametrize("item", ["lae.grad_W1", "mlp.grad_W1", "rnn.dL_dh_tanh", "rlae.optimum"])
    def test_matrix_points_reach_past_the_box(self, item: str) -> None:
        problem = registry.problems()[item]
        reference = problem.derive().result
        drawn = [p for p, _ in _points(problem, reference, random.Random(1), POINTS)]
        sizes = [v for p in drawn for sym, v in p.scalars.items() if getattr(sym, "is_integer", False)]
        assert max(sizes) >= 7


class TestWitnessesInsideTheDomain:
    """A witness is a point of the item's domain: k < m for an autoencoder, a convolution whose
    padded input holds the dilated kernel, λ below σ_k²."""

    @pytest.mark.parametrize(
        ("item", "answer", "verdict"),
        [
            ("lae.min_loss", ONE_BELOW_M + " " + TAIL, "correct"),
            ("lae.min_loss", ONE_BELOW_M + r" \sum_{i=k}^{m} \sigma_i^2", "incorrect"),
            ("lae.min_loss", r"\sum_{i=k}^{m} \sigma_i^2", "incorrect"),
            ("rlae.min_loss", RLAE_KEPT + " + " + TAIL, "correct"),
            ("rlae.min_loss", RLAE_KEPT + " + " + ONE_BELOW_M + " " + TAIL, "correct"),
            ("rlae.min_loss", RLAE_KEPT + r" + \sum_{i=k}^{m}\sigma_i^2", "incorrect"),
            ("rlae.optimum", r"U_k (I - \lambda \Lambda_k^{-1})^{1/2} O", "correct"),
            ("rlae.optimum", r"U_k O (I - \lambda \Lambda_k^{-1})^{1/2}", "incorrect"),  # needs k ≥ 2
            (
                "conv.out_shape_general",
                r"F \times (\lfloor \sqrt{(H + 2P - D(K-1) - 1)^2}/S \rfloor + 1) \times (" + W_AXIS + ")",
                "correct",
            ),
            (
                "conv.out_shape_general",
                r"F \times \lceil (H + 2P - D(K-1))/S \rceil \times (" + W_AXIS + ")",
                "correct",
            ),
            (
                "conv.out_shape_general",
                r"F \times \lfloor \sqrt{(H + 2P - D(K-1) - 1)^2}/S \rfloor \times (" + W_AXIS + ")",
                "incorrect",
            ),
        ],
    )
    def test_verdict(self, item: str, answer: str, verdict: str) -> None:
        assert judge(item, answer).verdict == verdict

    @pytest.mark.parametrize("item", ["lae.min_loss", "lae.grad_W1", "rlae.min_loss", "rlae.optimum", "rlae.grad_W2"])
    def test_the_code_is_smaller_than_the_data(self, item: str) -> None:
        problem = registry.problems()[item]
        objects = problem.derive().symbols
        rng = random.Random(2)
        for k in range(40):
            wide, stress = k % 3 == 0, k % 2 == 0
            if problem.kind == "matrix":
                at = draw_matrix_point(problem, rng, stress=stress, wide=wide).scalars
            else:
                at = points.draw(problem, rng, wide=wide).values
            assert 1 <= at[objects["k"]] < at[objects["m"]]

    def test_convolutions_are_valid(self) -> None:
        problem = registry.problems()["conv.out_shape_general"]
        s = problem.derive().symbols
        rng = random.Random(3)
        for _ in range(300):
            at = points.draw(problem, rng).values
            v = {name: int(at[s[name]]) for name in ("H", "W", "K", "P", "D")}
            for size in (v["H"], v["W"]):
                assert 1 <= size <= 40 and size + 2 * v["P"] >= v["D"] * (v["K"] - 1) + 1

    def test_lambda_stays_below_the_last_kept_eigenvalue(self) -> None:
        problem = registry.problems()["rlae.min_loss"]
        s = problem.derive().symbols
        rng = random.Random(4)
        for k in range(60):
            at = points.draw(problem, rng, wide=k % 2 == 0)
            code = int(at.values[s["k"]])
            sigma = at.entry(s["sigma"], code)
            assert 0 < at.values[s["lambda"]] < sigma**2
            assert at.entry(s["sigma"], int(at.values[s["m"]])) > 0  # σ stays positive up to m

    def test_lambda_below_lambda_k_at_wide_matrix_points(self) -> None:
        problem = registry.problems()["rlae.optimum"]
        s = problem.derive().symbols
        rng = random.Random(5)
        for _ in range(20):
            point = draw_matrix_point(problem, rng, stress=True, wide=True)
            assert 0 < point.scalars[s["lambda"]] < float(np.min(np.diag(point.matrices[s["Lambda_k"]])))


class TestBounds:
    """A bound is catalog text with sizes, + - *, max and min; nothing else is read."""

    @pytest.mark.parametrize(
        ("text", "value"), [("m-1", 4), ("max(1, D*(K-1)+1-2*P)", 7), ("min(m, 3)", 3), ("-2", -2), ("2*m - -1", 11)]
    )
    def test_values(self, text: str, value: int) -> None:
        sizes = {"m": 5, "D": 2, "K": 4, "P": 0}
        assert points.bound_value(text, sizes.__getitem__) == value

    @pytest.mark.parametrize("text", ["m/2", "__import__('os')", "m**2", "abs(m)", "m.real", "1.5"])
    def test_refused(self, text: str) -> None:
        with pytest.raises(ValueError):
            points.bound_value(text, {"m": 5}.__getitem__)

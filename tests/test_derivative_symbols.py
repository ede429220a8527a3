"""Derivative symbols ∂a/∂b of the setup's quantities (answers-format.md): what the chain rule of
``derivations.chain`` gives, checked against torch.func.jacrev of the topic's own step (the
oracles in numerics/), and how an answer written with them is judged.

Tolerance: the Jacobians are a few products and elementwise functions of O(1) float64 values, so
rounding is ~1e-15 relative; 1e-10 leaves room and is far below any layout or path mistake (O(1)).
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch.func import jacrev

from derivations import gated_rnn, lstm, rnn, scalar_rnn
from dlverify import registry
from dlverify.checking.judge import judge
from dlverify.evaluation import substitute_definitions
from dlverify.matrix_eval import MatrixPoint, matrix_value
from numerics import gated_rnn as gated_oracle
from numerics import lstm as lstm_oracle

TOL = 1e-10


def _lstm_case(seed: int, m: int, n: int):
    rng = np.random.default_rng(seed)
    U = {k: rng.uniform(-1, 1, (n, m)) for k in "fiog"}
    W = {k: rng.uniform(-1, 1, (m, m)) for k in "fiog"}
    b = {k: rng.uniform(-1, 1, (1, m)) for k in "fiog"}
    x, h_prev, c_prev, o_prev = (rng.uniform(-1, 1, (1, m if k else n)) for k in range(4))
    return U, W, b, x, h_prev, c_prev, o_prev


def _lstm_point(case, m: int, n: int) -> MatrixPoint:
    U, W, b, x, h_prev, c_prev, o_prev = case
    matrices = {lstm.x_T: x, lstm.h_Tprev: h_prev, lstm.C_prev: c_prev, lstm.o_prev: o_prev}
    for gate, (Us, Ws, bs) in lstm.ROW_WEIGHTS.items():
        matrices.update({Us: U[gate], Ws: W[gate], bs: b[gate]})
    return MatrixPoint({lstm.m: float(m), lstm.n: float(n)}, matrices, np.random.default_rng(0))


def _chain_value(derivation, a, b, point: MatrixPoint) -> np.ndarray:
    """The chain's ∂a/∂b at the point, the setup's gates written out; the point's inputs (h_{T−1},
    C_{T−1}) are drawn, so their own equations are not applied."""
    value = derivation.chain.derivative(a, b)
    inputs = set(point.matrices)
    value = substitute_definitions(value, {q: e for q, e in derivation.chain.equations.items() if q not in inputs})
    return matrix_value(value, point)


class TestLSTMJacobians:
    """∂C_T/∂C_{T−1} holds h_{T−1}; ∂h_T/∂h_{T−1} is the whole one-step Jacobian (C_{T−1} held)."""

    @given(st.integers(0, 10**6), st.integers(1, 4), st.integers(1, 3))
    def test_against_jacrev(self, seed: int, m: int, n: int) -> None:
        case = _lstm_case(seed, m, n)
        U, W, b, x, h_prev, c_prev, _ = case
        p = lstm_oracle.Params.from_arrays(U, W, b)
        x_, h_, c_ = (torch.as_tensor(v.reshape(-1), dtype=torch.float64) for v in (x, h_prev, c_prev))
        point = _lstm_point(case, m, n)
        derivation = lstm.dC_dCprev()
        want = {
            (lstm.C_T, lstm.C_prev): jacrev(lambda c: lstm_oracle.step(p, x_, h_, c)[1])(c_),
            (lstm.h_T, lstm.C_prev): jacrev(lambda c: lstm_oracle.step(p, x_, h_, c)[0])(c_),
            (lstm.h_T, lstm.h_Tprev): jacrev(lambda h: lstm_oracle.step(p, x_, h, c_)[0])(h_),
            (lstm.C_T, lstm.h_Tprev): jacrev(lambda h: lstm_oracle.step(p, x_, h, c_)[1])(h_),
        }
        for (a, b_), jac in want.items():
            got = _chain_value(derivation, a, b_, point)
            assert np.allclose(got, jac.numpy(), atol=TOL, rtol=0), (a, b_)


class TestGatedJacobian:
    @given(st.integers(0, 10**6), st.integers(1, 4), st.integers(1, 3))
    def test_against_jacrev(self, seed: int, m: int, n: int) -> None:
        rng = np.random.default_rng(seed)
        Wc, Wh, Wx = rng.uniform(-1, 1, (m, n)), rng.uniform(-1, 1, (m, m)), rng.uniform(-1, 1, (m, n))
        x, h = rng.uniform(-1, 1, (n, 1)), rng.uniform(-1, 1, (m, 1))
        p = gated_oracle.Params.from_arrays(Wc, Wh, Wx)
        want = gated_oracle.dh_dhprev(p, x, h)
        point = MatrixPoint(
            {gated_rnn.m: float(m), gated_rnn.n: float(n)},
            {gated_rnn.W_c: Wc, gated_rnn.W_h: Wh, gated_rnn.W_x: Wx, gated_rnn.x_t: x, gated_rnn.h_prev: h},
            np.random.default_rng(0),
        )
        got = _chain_value(gated_rnn.dh_dhprev(), gated_rnn.H_T, gated_rnn.h_prev, point)
        assert np.allclose(got, want, atol=TOL, rtol=0)


class TestScalarRecurrence:
    """h_t = w (u_t + h_{t−1}): ∂h_3/∂w holds h_2 (the step's partial), dh_3/dw does not."""

    @given(st.floats(-2, 2), st.floats(-2, 2), st.floats(-2, 2), st.floats(-2, 2))
    def test_against_autograd(self, w: float, u1: float, u2: float, u3: float) -> None:
        chain = scalar_rnn.dy_dw().chain
        h1_, h2_, h3_ = scalar_rnn.STATES
        values = {scalar_rnn.w: w, scalar_rnn.u1: u1, scalar_rnn.u2: u2, scalar_rnn.u3: u3, scalar_rnn.h0: 0.0}

        def value(expr: sp.Basic) -> float:
            return float(substitute_definitions(expr, dict(chain.equations)).subs(values))

        wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
        h1 = wt * (u1 + 0.0)
        h2 = wt * (u2 + h1)
        h3_total = wt * (u3 + h2)
        (total,) = torch.autograd.grad(h3_total, wt)
        h3_partial = wt * (u3 + h2.detach())
        (partial,) = torch.autograd.grad(h3_partial, wt)
        assert value(chain.derivative(h3_, scalar_rnn.w, total=True)) == pytest.approx(float(total), abs=1e-9)
        assert value(chain.derivative(h3_, scalar_rnn.w)) == pytest.approx(float(partial), abs=1e-9)
        assert value(chain.derivative(h3_, h1_)) == pytest.approx(w * w, abs=1e-12)


class TestSequenceProducts:
    def test_the_product_of_one_step_jacobians(self) -> None:
        chain = rnn.dL_dh_linear().chain
        value = chain.derivative(rnn.h(rnn.T), rnn.h(rnn.t))
        point = MatrixPoint({rnn.m: 3.0, rnn.T: 5.0, rnn.t: 2.0}, {rnn.W_h: np.arange(9.0).reshape(3, 3) / 10}, None)
        assert np.allclose(matrix_value(value, point), np.linalg.matrix_power(np.arange(9.0).reshape(3, 3) / 10, 3))

    def test_a_later_state_does_not_move_an_earlier_one(self) -> None:
        chain = rnn.dL_dh_linear().chain
        value = chain.derivative(rnn.h(rnn.t), rnn.h(rnn.T))
        for T, t, want in ((5.0, 2.0, 0.0), (4.0, 4.0, 1.0)):
            point = MatrixPoint({rnn.m: 2.0, rnn.T: T, rnn.t: t}, {}, None)
            assert np.allclose(matrix_value(value, point), want * np.eye(2))


LSTM_CHAIN = (
    r"\frac{\partial L}{\partial h_T} \left( \frac{\partial h_T}{\partial C_T} \frac{\partial C_T}{\partial C_{T-1}}"
    r" + \frac{\partial h_T}{\partial h_{T-1}} \frac{\partial h_{T-1}}{\partial C_{T-1}} \right)"
)


class TestFinalAnswers:
    """A final answer may use a derivative symbol only where the item lists it; the message says
    whether the chain rule written holds."""

    @pytest.mark.parametrize(
        ("item", "answer", "holds"),
        [
            ("lstm.dL_dCprev", LSTM_CHAIN, True),
            ("lstm.dL_dCprev", r"g \frac{\partial h_T}{\partial C_T} \frac{\partial C_T}{\partial C_{T-1}}", False),
            ("rnn.dL_dh_linear", r"2(\hat{y}_T - y_T) W^f \frac{\partial h_T}{\partial h_t}", True),
            ("rnn.dL_dh_tanh", r"\frac{\partial L}{\partial h_T} \frac{\partial h_T}{\partial h_t}", True),
            ("rnn.dL_dh_tanh", r"\frac{\partial L}{\partial h_T} \frac{\partial h_t}{\partial h_T}", False),
            (
                "gated_rnn.dh_dhprev",
                r"\frac{\partial h[t]}{\partial c[t]} \frac{\partial c[t]}{\partial h[t-1]}"
                r" + \operatorname{diag}(c[t])",
                True,
            ),
            ("scalar_rnn.dy_dw", r"\frac{dy}{dh_3} \frac{dh_3}{dw}", True),
            ("scalar_rnn.dy_dw", r"\frac{\partial y}{\partial h_3} \frac{\partial h_3}{\partial w}", False),
        ],
    )
    def test_incorrect_saying_whether_it_holds(self, item: str, answer: str, holds: bool) -> None:
        verdict = judge(item, answer)
        assert verdict.verdict == "incorrect"
        assert ("written holds" in verdict.message) == holds, verdict.message
        assert "read " in verdict.message and "Jacobian" in verdict.message or "scalar" in verdict.message

    @pytest.mark.parametrize(
        ("item", "answer"),
        [
            ("rnn.dL_dh_linear", r"\frac{\partial L}{\partial h_t}"),
            ("lstm.dL_dCprev", r"\frac{\partial L}{\partial C_{T-1}}"),
            ("scalar_rnn.dy_dw", r"\frac{dy}{dw}"),
        ],
    )
    def test_the_asked_quantity_itself_is_never_correct(self, item: str, answer: str) -> None:
        verdict = judge(item, answer)
        assert verdict.verdict == "incorrect" and "asked quantity itself" in verdict.message

    def test_a_listed_derivative_symbol_is_allowed(self) -> None:
        # lstm.dL_dCprev lists g = ∂L/∂h_T and J = dh_T/dh_{T−1}
        answer = (
            r"\frac{\partial L}{\partial h_T} (\operatorname{diag}(o_T \odot (1 - \tanh^2(C_T)))"
            r" \operatorname{diag}(f_T)"
            r" + J \operatorname{diag}(o_{T-1} \odot (1-\tanh^2(C_{T-1}))))"
        )
        assert judge("lstm.dL_dCprev", answer).verdict == "correct"

    def test_a_quantity_the_setup_does_not_define_is_named(self) -> None:
        verdict = judge("rnn.dL_dh_linear", r"\frac{\partial L}{\partial q_T}")
        assert verdict.verdict == "incorrect" and "not a quantity of the setup" in verdict.message

    def test_every_item_with_a_chain_reads_its_asked_quantity_back(self) -> None:
        for pid in registry.problems():
            problem = registry.get(pid)
            if getattr(problem.derive(), "chain", None) is None:
                continue
            assert problem.kind in ("matrix", "expr", "indexed"), pid

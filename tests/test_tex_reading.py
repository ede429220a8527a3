"""Answers read the way TeX reads them (issue: verdicts a grader can trust).

Each family holds several spellings. Two kinds of evidence: a reading test compares the SymPy
reading of a spelling with that of its fully braced, spaced twin (what TeX typesets for the
student), and a verdict test states the verdict each answer deserves: the correct ones are the
catalog's results rewritten by hand (an identity named in the comment), the wrong ones a slip
that changes the value at almost every point.
"""

from __future__ import annotations

import pytest

from dlverify import registry
from dlverify.checking.judge import judge
from dlverify.checking.parse import parse
from dlverify.checking.reading import to_sympy


def reads_as(item: str, text: str, twin: str) -> None:
    problem = registry.get(item)
    got, unknown = to_sympy(text, problem)
    want, unknown_twin = to_sympy(twin, problem)
    assert not unknown and not unknown_twin, (unknown, unknown_twin)
    assert got.doit() == want.doit(), (got, want)  # doit: the same product, however it is grouped


class TestOneTokenScripts:
    """An unbraced sub- or superscript takes one token (a letter, a command, a run of digits)."""

    @pytest.mark.parametrize(
        ("item", "text", "twin"),
        [
            ("scalar_rnn.dy_dw_general", r"\sum_{t=1}^{T} (T-t+1) u_tw^{T-t}", r"\sum_{t=1}^{T} (T-t+1) u_{t} w^{T-t}"),
            ("scalar_rnn.dy_dw_general", r"\sum_{t=1}^Tw^{T-t}(T-t+1)u_t", r"\sum_{t=1}^{T} w^{T-t} (T-t+1) u_{t}"),
            ("lae.grad_W1", r"W_2^TW_2W_1XX^T", r"W_{2}^{T} W_{2} W_{1} X X^{T}"),
            ("lae.grad_W1", r"-\frac{2}{n}W_2^T(X-W_2W_1X)X^T", r"-\frac{2}{n} W_{2}^{T} (X - W_{2} W_{1} X) X^{T}"),
            ("gated_rnn.dh_dhprev", r"W_xx_t", r"W_{x} x_{t}"),
            ("gated_rnn.dh_dhprev", r"W_hh_{t-1} + W_xx_t", r"W_{h} h_{t-1} + W_{x} x_{t}"),
            ("gated_rnn.dl_dWx", r"\sum_{t=1}^{K} g_tx_{t}^T", r"\sum_{t=1}^{K} g_{t} x_{t}^{T}"),
            ("lstm.dC_dCprev", r"x_TU^f", r"x_{T} U^{f}"),
        ],
    )
    def test_reading(self, item: str, text: str, twin: str) -> None:
        reads_as(item, text, twin)

    @pytest.mark.parametrize(
        ("item", "text", "twin"),
        [
            # the item spells W_{ir} with two letters and has no W_i: the letters stay together
            ("gru.dh_dhprev", r"W_hr h_{t-1}", r"W_{hr} h_{t-1}"),
            ("gru.dh_dhprev", r"W_hz^T", r"W_{hz}^{T}"),
            # digits stay one number: v_10 is v_{10}
            ("autodiff.forward_trace", r"v_10", r"v_{10}"),
        ],
    )
    def test_where_the_item_spells_several_letters(self, item: str, text: str, twin: str) -> None:
        reads_as(item, text, twin)

    def test_a_kronecker_delta_keeps_its_two_indices(self) -> None:
        problem = registry.get("conv1d.df_dx")
        ij, _ = to_sympy(r"\delta_nc", problem)
        braced, _ = to_sympy(r"\delta_{nc}", problem)
        assert ij == braced

    @pytest.mark.parametrize(
        ("item", "answer", "verdict"),
        [
            ("scalar_rnn.dy_dw_general", r"\sum_{t=1}^{T} (T-t+1) u_tw^{T-t}", "correct"),
            ("scalar_rnn.dy_dw_general", r"\sum_{t=1}^{T} (T-t) u_tw^{T-t}", "incorrect"),  # T−t for T−t+1
            ("scalar_rnn.dy_dw_general", r"\sum_{t=1}^{T} (T-t+1) u_tw^{T-t+1}", "incorrect"),
            ("lae.grad_W1", r"\frac{2}{n} (W_2^TW_2W_1XX^T - W_2^TXX^T)", "correct"),  # −(2/n)W2ᵀ(X − W2W1X)Xᵀ expanded
            ("lae.grad_W1", r"-\frac{2}{n} (W_2^TXX^T - W_2^TW_2W_1XX^T)", "correct"),
            ("lae.grad_W1", r"\frac{2}{n} (W_2^TW_2W_1XX^T - W_2XX^T)", "incorrect"),  # a transpose lost
            ("lae.grad_W1", r"\frac{2}{n} (W_2^TW_2W_1X^TX - W_2^TXX^T)", "incorrect"),  # XᵀX for XXᵀ
        ],
    )
    def test_verdict(self, item: str, answer: str, verdict: str) -> None:
        assert judge(item, answer).verdict == verdict

    def test_the_parser_alone(self) -> None:
        assert repr(parse("u_tw")) == repr(parse("u_{t}w"))  # repr: positions differ
        assert repr(parse("X^TX")) == repr(parse("X^{T}X"))
        assert repr(parse("u_tw", greedy=True)) == repr(parse("u_{tw}"))


MLP_V3 = r"(W_3^{T} D)"


class TestTransposeAfterAGroup:
    """A transpose or a power after a function's closing parenthesis applies to its value."""

    @pytest.mark.parametrize(
        ("item", "text", "twin"),
        [
            ("mlp.grad_W3", r"\sigma(V_3)^\top", r"(\sigma(V_3))^{T}"),
            ("mlp.grad_W3", r"\operatorname{relu}(V_3)^\top", r"(\operatorname{relu}(V_3))^{T}"),
            ("mlp.grad_W3", r"relu(V_3)^T", r"(\operatorname{relu}(V_3))^{T}"),
            ("lstm.dC_dCprev", r"\operatorname{diag}(f_t)^T", r"(\operatorname{diag}(f_t))^{T}"),
            ("lstm.dh_dC", r"\tanh^2(C_t)", r"\tanh(C_t) \odot \tanh(C_t)"),
        ],
    )
    def test_reading(self, item: str, text: str, twin: str) -> None:
        reads_as(item, text, twin)

    @pytest.mark.parametrize(
        ("item", "answer", "verdict"),
        [
            # V_4 = relu(V_3) and V_2 = σ(V_1) in the setup: grad_W3 = g_{V_5} V_4ᵀ, grad_W2 = g_{V_3} V_2ᵀ
            ("mlp.grad_W3", r"g_{V_5} \operatorname{relu}(V_3)^\top", "correct"),
            ("mlp.grad_W3", r"g_{V_5} relu(V_3)^T", "correct"),
            ("mlp.grad_W3", r"g_{V_5} \operatorname{relu}(V_3)", "incorrect"),
            ("mlp.grad_W2", r"g_{V_3} \sigma(V_1)^\top", "correct"),
            ("mlp.grad_W2", r"g_{V_3} \sigma(V_1^\top)", "correct"),  # σ acts entry by entry
            ("mlp.grad_W2", r"g_{V_3} \sigma'(V_1)^\top", "incorrect"),
            ("lstm.dC_dCprev", r"\operatorname{diag}(f_t)^T", "correct"),  # diagonal: its own transpose
            ("lstm.dC_dCprev", r"\operatorname{diag}(o_t)^T", "incorrect"),
            ("lstm.dh_dC", r"\operatorname{diag}(o_t \odot (1 - \tanh^2(C_t)))", "correct"),
            ("lstm.dh_dC", r"\operatorname{diag}(o_t) \operatorname{diag}(\operatorname{sech}^2(C_t))", "correct"),
            ("lstm.dh_dC", r"\operatorname{diag}(o_t \odot (1 - \tanh(C_t)))", "incorrect"),
        ],
    )
    def test_verdict(self, item: str, answer: str, verdict: str) -> None:
        assert judge(item, answer).verdict == verdict


class TestLeadingMinus:
    """A minus before an indicator or a prefix function negates the whole factor."""

    @pytest.mark.parametrize(
        ("answer", "verdict"),
        [
            # grad_V3 = g_{V_4} ⊙ 1[V_3 > 0] with g_{V_4} = W_3ᵀ g_{V_5} and g_{V_5} = −D
            (r"-\mathbb{1}[V_3 > 0] \circ " + MLP_V3, "correct"),
            (r"-\mathbb{1}[V_3>0] \odot (W_3^T D)", "correct"),
            (r"- 1[V_3 > 0] * (W_3^T D)", "incorrect"),  # * is a matrix product: shapes do not fit
            (r"-1[V_3 > 0] ⊙ (W_3^T D)", "correct"),
            (r"-\operatorname{relu}'(V_3) \odot (W_3^T D)", "correct"),
            (r"\mathbb{1}[V_3 > 0] \circ " + MLP_V3, "incorrect"),  # the sign
            (r"-\mathbb{1}[V_3 < 0] \odot (W_3^T D)", "incorrect"),  # the other side
            (r"--\mathbb{1}[V_3 > 0] \odot (W_3^T D)", "incorrect"),
        ],
    )
    def test_verdict(self, answer: str, verdict: str) -> None:
        assert judge("mlp.grad_V3", answer).verdict == verdict


class TestDocumentNotation:
    """Notation the homework's documents use."""

    @pytest.mark.parametrize(
        ("item", "answer", "verdict"),
        [
            # cases: the ReLU mask written out; conv1d's tap indicator
            ("mlp.grad_V3", r"\begin{cases} -W_3^T D & V_3 > 0 \\ 0 & \text{otherwise} \end{cases}", "correct"),
            (
                "mlp.grad_V3",
                r"\begin{cases} -W_3^T D & \text{if } V_3 > 0 \\ 0 & \text{if } V_3 \le 0 \end{cases}",
                "correct",
            ),
            ("mlp.grad_V3", r"\begin{cases} W_3^T D & V_3 > 0 \\ 0 & \text{otherwise} \end{cases}", "incorrect"),
            (
                "conv1d.df_dx",
                r"\begin{cases} W[1,c,n-2(r-1)] & 1 \le n - 2(r-1) \le 3 \\ 0 & \text{otherwise}\end{cases}",
                "correct",
            ),
            (
                "conv1d.df_dx",
                r"\begin{cases} W[1,c,n-2(r-1)] & 1 \le n - 2(r-1) < 3 \\ 0 & \text{otherwise}\end{cases}",
                "incorrect",  # misses the tap k = 3
            ),
            # an indicator of an equation, and Kronecker deltas, summed over the taps
            ("conv1d.df_dx", r"\sum_{k=1}^{3} W[1,c,k] \mathbb{1}[n = 2(r-1)+k]", "correct"),
            ("conv1d.df_dx", r"\sum_{k=1}^{3} W[1,c,k] \mathbb{1}[n = 2r+k]", "incorrect"),
            ("conv1d.df_dx", r"\sum_{k=1}^{3} W[1,c,k] delta(n, 2(r-1)+k)", "correct"),
            ("conv1d.df_dx", r"\sum_{k=1}^{3} W[1,c,k] \delta_{n, 2(r-1)+k}", "correct"),
            ("conv1d.df_dx", r"\sum_{k=1}^{3} W[1,c,k] delta(n, 2(r+1)+k)", "incorrect"),
            # logarithms to a base: log 4 = 1.386…, log_2 4 = 2
            ("xent.initial_loss", r"\log_e 4", "correct"),
            ("xent.initial_loss", r"\log_e(4)", "correct"),
            ("xent.initial_loss", r"2\log_e 2", "correct"),
            ("xent.initial_loss", r"\log_2 4", "incorrect"),
            ("xent.initial_loss", r"\log_{10} 4", "incorrect"),
            # percentages: 1/K = 25 % for K = 4
            ("xent.initial_accuracy", r"25\%", "correct"),
            ("xent.initial_accuracy", "25%", "correct"),
            ("xent.initial_accuracy", r"20\%", "incorrect"),
            ("xent.initial_accuracy", "2.5%", "incorrect"),
            # transpose(W) as a function
            ("lae.grad_W1", r"-\frac{2}{n} transpose(W_2) (X - W_2 W_1 X) transpose(X)", "correct"),
            ("lae.grad_W1", r"-\frac{2}{n} transpose(W_2) (X - W_2 W_1 X) X", "incorrect"),
            # I ⊙ (1 f_t): the ones vector and I take their sizes from f_t; diag(f_t) = I ⊙ (1 f_t)
            ("lstm.dC_dCprev", r"I \odot (\mathbf{1} f_t)", "correct"),
            ("lstm.dC_dCprev", r"I \odot (f_t^T \mathbf{1}^T)", "correct"),
            ("lstm.dC_dCprev", r"I \odot (\mathbf{1} o_t)", "incorrect"),
            # the upstream gradient by its derivative symbol, at an index: g[r] = ∂ℓ/∂f_W(x)[r]
            ("conv1d.dl_dW", r"\sum_{r=1}^{3} \frac{\partial \ell}{\partial f_W(x)}[r] x[2(r-1)+k, c]", "correct"),
            ("conv1d.dl_dW", r"\sum_{r=1}^{3} \frac{\partial \ell}{\partial f_W(x)}[r] x[2r+k, c]", "incorrect"),
            # sech² = 1 − tanh²: tanh'(C) written as sech²(C)
            ("lstm.dh_dC", r"\operatorname{diag}(o_t \odot \operatorname{sech}^2(C_t))", "correct"),
            ("lstm.dh_dC", r"\operatorname{diag}(o_t \odot \operatorname{sech}(C_t))", "incorrect"),
        ],
    )
    def test_verdict(self, item: str, answer: str, verdict: str) -> None:
        got = judge(item, answer)
        assert got.verdict == verdict, got.message


class TestBracketsAndPastedForms:
    """Square brackets group a factor unless the symbol before them takes an index; answers pasted
    from a document keep their meaning (math delimiters, a trailing period, the asked quantity named
    first); TeX's own spellings (\\prime, \\mathsf{T}, \\bigl) and Unicode scripts read as written."""

    @pytest.mark.parametrize(
        ("item", "answer", "verdict"),
        [
            # brackets as grouping: the same value as the ( )-form
            ("lae.grad_W1", r"-\frac{2}{n} W_2^T[X - W_2W_1X]X^T", "correct"),
            ("lae.grad_W1", r"-\frac{2}{n} W_2[X - W_2W_1X]X^T", "incorrect"),
            ("lae.grad_W2", r"-\frac{2}{n}[X - W_2W_1X]X^TW_1^T", "correct"),
            ("rnn.dL_dh_linear", r"2[\hat{y}_T - y_T]W^f(W^h)^{T-t}", "correct"),
            ("scalar_rnn.dy_dw", r"w[3wu_1 + 2u_2] + u_3", "correct"),
            ("scalar_rnn.dy_dw", r"w[3wu_1 + u_2] + u_3", "incorrect"),
            ("rlae.optimum", r"U_k[I - \lambda\Lambda_k^{-1}]^{1/2}", "correct"),
            ("rlae.optimum", r"U_k[I - \lambda\Lambda_k^{-1}]", "incorrect"),
            # brackets as an index, nested ones too: x[i][c] is x[i, c]
            ("conv1d.df_dW", r"x[2(r-1)+k][c]", "correct"),
            ("conv1d.df_dW", r"x[2(r-1)+k]", "incorrect"),  # x takes two indices
            ("scalar_rnn.dy_dw", r"3w^2u[1] + 2wu[2] + u[3]", "correct"),
            # glued runs: the subscript and the transpose bind to the last letter
            ("mlp.grad_W3", r"-DV_4^T", "correct"),
            ("mlp.grad_W3", r"V_5V_4^T - YV_4^T", "correct"),
            ("mlp.grad_W3", r"-DV_4", "incorrect"),
            # pasted from a document
            ("scalar_rnn.dy_dw", r"$3w^2 u_1 + 2 w u_2 + u_3$.", "correct"),
            ("scalar_rnn.dy_dw", r"\frac{dy}{dw} = 3w^2u_1 + 2wu_2 + u_3", "correct"),
            ("scalar_rnn.dy_dw", r"\frac{dy}{dw} = 3w^2u_1 + 2wu_2", "incorrect"),
            ("lae.grad_W1", r"-\frac{2}{n} W_2^{\mathsf{T}} (X - W_2 W_1 X) X^\mathsf{T}", "correct"),
            ("resnet.jacobian", r"I_m + \operatorname{diag}(\sigma^\prime(W_t h_t + b_t)) W_t", "correct"),
            ("resnet.jacobian", r"I + \operatorname{diag}(\sigma(W_t h_t + b_t)) W_t", "incorrect"),
            ("mlp.grad_V3", r"-\bigl(\mathbb{1}[V_3>0] \odot (W_3^T D)\bigr)", "correct"),
            ("mlp.grad_V3", r"-\mathbf{1}[V_3>0] \odot (W_3^T D)", "correct"),
            ("mlp.grad_V3", r"-\mathbb{1}\{V_3>0\} \odot (W_3^T D)", "correct"),
            ("mlp.grad_W3", r"g_{V_5}\max(0,V_3)^\top", "correct"),  # V_4 = max(0, V_3)
            ("mlp.grad_W3", r"g_{V_5}\max(0,V_2)^\top", "incorrect"),
            ("scalar_rnn.dy_dw", "3w²u₁ + 2wu₂ + u₃", "correct"),
            ("scalar_rnn.dy_dw", "3w²u₁ + 2wu₂ + u₂", "incorrect"),
            ("scalar_rnn.dy_dw_general", r"\sum_{t=1}^{T}(T-t+1)w^{T-t}u^{(t)}", "correct"),
            ("optim.adam_bias_correction", r"(1-\beta_1^t)\mathbb{E}\left[g\right]", "correct"),
            ("optim.adam_bias_correction", r"(1-\beta_1^t)\mathbb{E}(g)", "correct"),
            ("optim.adam_bias_correction", r"\beta_1^t\mathbb{E}(g)", "incorrect"),
            # a sum over separately named symbols, written out: Σ_{i=0}^{2} a_i v_i = h[t]
            (
                "attention_rnn.dh_dhprev",
                r"a_1 V_1 + a_1 (v_1 - \sum_{i=0}^{2} a_i v_i) (h_{t-1}^T (Q_1^T K_1 + K_1^T Q_1))",
                "correct",
            ),
            (
                "attention_rnn.dh_dhprev",
                r"a_1 V_1 + a_1 (v_1 - \sum_{i=1}^{2} a_i v_i) (h_{t-1}^T (Q_1^T K_1 + K_1^T Q_1))",
                "incorrect",
            ),
            ("scalar_rnn.dy_dw", r"\sum_{t=1}^{3} (4-t) w^{3-t} u_t", "correct"),
            ("scalar_rnn.dy_dw", r"\sum_{t=1}^{3} (3-t) w^{3-t} u_t", "incorrect"),
            # \frac with unbraced arguments, as TeX reads them
            ("xent.initial_accuracy", r"\frac14", "correct"),
            ("xent.initial_accuracy", r"\frac13", "incorrect"),
            ("rnn.loss_all_steps", r"\frac1T\sum_{t=1}^{T}(\hat{y}_t - y_t)^2", "correct"),
            ("lae.grad_W1", r"-\frac2n W_2^T (X - W_2 W_1 X) X^T", "correct"),
            # the inverse function, not a reciprocal: sech²(artanh h) = 1 − h²
            (
                "rnn.dL_dh_tanh",
                r"2(\hat{y}_T - y_T) W^f \prod_{j=0}^{T-t-1}"
                r" \operatorname{diag}(\operatorname{sech}^2(\tanh^{-1}(h_{T-j}))) W^h",
                "correct",
            ),
            # e^{V} of a matrix is exp entry by entry: σ'(z) = e^{−z} σ(z)²
            ("resnet.jacobian", r"I + \operatorname{diag}(e^{-(W_th_t+b_t)} \odot \sigma(W_th_t+b_t)^2)W_t", "correct"),
            (
                "resnet.jacobian",
                r"I + \operatorname{diag}(e^{(W_th_t+b_t)} \odot \sigma(W_th_t+b_t)^2)W_t",
                "incorrect",
            ),
        ],
    )
    def test_verdict(self, item: str, answer: str, verdict: str) -> None:
        got = judge(item, answer)
        assert got.verdict == verdict, got.message


class TestDerivativeSpellingsOfListedSymbols:
    """An item's own symbol for a derivative may be written as that derivative."""

    @pytest.mark.parametrize(
        ("item", "answer"),
        [
            ("mlp.grad_W3", r"\frac{\partial z}{\partial V_5} V_4^T"),
            ("mlp.grad_V4", r"W_3^T\frac{\partial f}{\partial V_5}"),
            ("gated_rnn.dl_dWx", r"\sum_{t=1}^{K} ((1-c_t) \odot \frac{d\ell}{dh_t}) x_t^T"),
            ("gated_rnn.dl_dWx", r"\sum_{t=1}^{K} ((1-c_t) \odot \frac{\partial \ell}{\partial h[t]}) x[t]^T"),
            ("conv1d.dl_dW", r"\sum_{r=1}^{3} \frac{\partial \ell}{\partial f[r]} x[2(r-1)+k, c]"),
            (
                "lstm.dL_dCprev",
                r"\frac{dL}{dh_T} (\operatorname{diag}(o_T \odot (1 - \tanh^2(C_T))) \operatorname{diag}(f_T)"
                r" + \frac{dh_T}{dh_{T-1}} \operatorname{diag}(o_{T-1} \odot (1-\tanh^2(C_{T-1}))))",
            ),
        ],
    )
    def test_correct(self, item: str, answer: str) -> None:
        got = judge(item, answer)
        assert got.verdict == "correct", got.message

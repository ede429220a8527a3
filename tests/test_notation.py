"""The catalog's own notation, as students write it: each class of spelling in several forms,
each judged on its mathematics (a right answer correct, a subtly wrong one incorrect)."""

from __future__ import annotations

import pytest

from dlverify.checking.judge import judge

SCRIPT_ORDER = [  # a superscript before the subscript: LaTeX's σ_i²
    r"\sum_{i=k+1}^{m} \sigma^2_i",
    r"\sum_{i=k+1}^{m} \sigma^{2}_{i}",
    r"\sum_{i=k+1}^{m} \sigma^2_{i}",
    "∑_{i=k+1}^{m} σ^2_i",
    r"\sum^{m}_{i=k+1} \sigma^2_i",
]
COMBINED_TRANSPOSE = [  # W^{h\top} is (W^h)ᵀ, with T also the sequence length
    r"2(\hat{y}_T - y_T) ((W^{h\top})^{T-t} W^{f\top})^\top",
    r"2(\hat{y}_T - y_T) ((W^{hT})^{T-t} (W^{f})^T)^T",
    r"2(\hat y_T - y_T) ((W^{h \top})^{T-t} (W^f)^\top)^{\top}",
    r"2(\hat{y}_T - y_T) ((W^{h\intercal})^{T-t} W^{f\intercal})^{T}",
    r"2(\hat{y}_T - y_T) ((W_{h}^{T})^{T-t} W_f^T)^T",
]
PARTIAL_SYMBOL = [  # the catalog's spelling of the gated RNN's total gradients
    r"\sum_{t=1}^{K} ((1 - c[t]) \odot \frac{\partial \ell}{\partial h[t]}) x[t]^T",
    r"\sum_{t=1}^{K} ((1 - c_t) \odot \frac{\partial \ell}{\partial h_t}) x_t^T",
    "sum_{t=1}^{K} ((1 - c_t) ⊙ ∂ℓ/∂h_t) x_t^T",
    r"\sum_{t=1}^{K} \left((1 - c[t]) \circ \partial \ell / \partial h[t]\right) x[t]^\top",
]
SETUP_SYMBOLS = [  # an item listing no symbols allows its topic's setup
    ("lstm.dC_dCprev", r"\operatorname{diag}(\sigma(x_t U^f + h_{t-1} W^f + b^f))"),
    ("lstm.dC_dCprev", r"\mathrm{diag}(\sigma(x_t U_f + h_{t-1} W_f + b_f))"),
    ("lstm.dh_dC", r"\operatorname{diag}(o_t \odot (1 - \tanh(C_t)^2))"),
    (
        "lstm.dh_dC",
        r"\operatorname{diag}(\sigma(x_t U^o + h_{t-1} W^o + b^o) \odot (1 - \tanh(f_t \odot C_{t-1} + i_t \odot "
        r"\tilde{C}_t)^2))",
    ),
    ("attention_rnn.dh_dhprev", r"a_1[t] V_1 + a_1[t] (v_1[t] - h[t]) (k_1[t]^T Q_1 + q_1[t]^T K_1)"),
    (
        "attention_rnn.dh_dhprev",
        r"a_1 V_1 + a_1 (V_1 h_{t-1} - a_0 v_0[t] - a_1 v_1 - a_2 v_2[t]) (k_1^\top Q_1 + q_1^\top K_1)",
    ),
]
T_AS_SIZE = [  # ^T on a matrix is a transpose; ^{(T)} a power; on a scalar ^T is the power
    ("rnn.dL_dh_linear", r"2(\hat{y}_T - y_T) W^f (W^h)^{(T)} (W^h)^{-t}"),
    ("rnn.dL_dh_linear", r"2(\hat{y}_T - y_T) W^f (W^h)^{T-t}"),
    ("scalar_rnn.dy_dw_general", r"\sum_{t=1}^{T} (T-t+1) w^T w^{-t} u_t"),
    ("scalar_rnn.dy_dw_general", r"\sum_{t=1}^{T} (T-t+1) w^{T-t} u_t"),
]


@pytest.mark.parametrize("answer", SCRIPT_ORDER)
def test_a_superscript_before_a_subscript(answer: str) -> None:
    v = judge("lae.min_loss", answer)
    assert v.verdict == "correct", v.message
    wrong = judge("lae.min_loss", answer.replace("k+1", "k"))
    assert wrong.verdict == "incorrect", wrong.message


@pytest.mark.parametrize("answer", COMBINED_TRANSPOSE)
def test_a_combined_transpose_superscript(answer: str) -> None:
    v = judge("rnn.dL_dh_linear", answer)
    assert v.verdict == "correct", v.message


@pytest.mark.parametrize(
    "answer",
    [
        r"2(\hat{y}_T - y_T) W^f (W^{h\top})^{T-t}",  # transposed where the row convention has none
        r"2(\hat{y}_T - y_T) ((W^{hT})^{T-t} (W^{f})^T)",
    ],
)
def test_a_combined_transpose_is_a_transpose(answer: str) -> None:
    assert judge("rnn.dL_dh_linear", answer).verdict in ("incorrect",)


@pytest.mark.parametrize("answer", PARTIAL_SYMBOL)
def test_a_partial_derivative_symbol_at_an_index(answer: str) -> None:
    v = judge("gated_rnn.dl_dWx", answer)
    assert v.verdict == "correct", v.message
    wrong = judge("gated_rnn.dl_dWx", answer.replace("1 - c", "c"))
    assert wrong.verdict == "incorrect", wrong.message


@pytest.mark.parametrize(("problem_id", "answer"), SETUP_SYMBOLS)
def test_the_setup_symbols_of_an_item_that_lists_none(problem_id: str, answer: str) -> None:
    v = judge(problem_id, answer)
    assert v.verdict == "correct", v.message


@pytest.mark.parametrize(
    ("problem_id", "answer"),
    [
        ("lstm.dC_dCprev", r"\operatorname{diag}(\sigma(x_t U^f + h_{t-1} W^i + b^f))"),  # the input gate's W
        ("lstm.dh_dC", r"\operatorname{diag}(\sigma(x_t U^o + h_{t-1} W^o + b^o) \odot (1 - \tanh(C_{t-1})^2))"),
        ("attention_rnn.dh_dhprev", r"a_1 V_1 + a_1 (v_1 - h_t) (k_1^T Q_1 + q_1^T K_0)"),
        ("attention_rnn.dh_dhprev", r"a_1 V_1 + a_1 (v_1 - h_t) (k_1^T Q_1 + q_2^T K_1)"),
    ],
)
def test_a_wrong_expansion_of_the_setup_is_incorrect(problem_id: str, answer: str) -> None:
    assert judge(problem_id, answer).verdict == "incorrect"


@pytest.mark.parametrize(("problem_id", "answer"), T_AS_SIZE)
def test_transpose_and_the_sequence_length(problem_id: str, answer: str) -> None:
    v = judge(problem_id, answer)
    assert v.verdict == "correct", v.message


def test_a_matrix_to_the_bare_T_is_read_as_its_transpose() -> None:
    # (W^h)^T (W^h)^{-t} would equal the power only if ^T were a power: it is a transpose
    v = judge("rnn.dL_dh_linear", r"2(\hat{y}_T - y_T) W^f (W^h)^{T} (W^h)^{-t}")
    assert v.verdict == "incorrect"

"""Derivations answered line by line (``steps``): the first wrong line, found in every position.

Each family has a correct derivation written as the homework's solutions write it; a planted
error at each line in turn must be found at that line, and nowhere earlier. The expected lines are
known by construction (the planted slip changes that line's value at almost every point: a lost
factor 2, a transpose, an off-by-one power, a missing path); the verdicts of the derivative
symbols themselves are checked against torch in test_derivative_symbols.py.
"""

from __future__ import annotations

import json

import pytest

from dlverify import registry
from dlverify.checking.judge import judge


def steps(*lines: str) -> dict[str, str]:
    return {"steps": "\n".join(lines)}


RNN = (
    r"\frac{\partial L}{\partial h_t} = \frac{\partial L}{\partial \hat{y}_T} \frac{\partial \hat{y}_T}{\partial h_T}"
    r" \frac{\partial h_T}{\partial h_t}",
    r"= 2 (\hat{y}_T - y_T) \frac{\partial \hat{y}_T}{\partial h_T} \frac{\partial h_T}{\partial h_t}",
    r"= 2 (\hat{y}_T - y_T) W^f \frac{\partial h_T}{\partial h_t}",
    r"= 2 (\hat{y}_T - y_T) W^f (W^h)^{T-t}",
)
RNN_SLIPS = (
    r"\frac{\partial L}{\partial h_t} = \frac{\partial L}{\partial \hat{y}_T} \frac{\partial h_T}{\partial h_t}",
    r"= (\hat{y}_T - y_T) \frac{\partial \hat{y}_T}{\partial h_T} \frac{\partial h_T}{\partial h_t}",
    r"= 2 (\hat{y}_T - y_T) (W^f)^T \frac{\partial h_T}{\partial h_t}",
    r"= 2 (\hat{y}_T - y_T) W^f (W^h)^{T-t+1}",
)

LSTM = (
    r"\frac{\partial L}{\partial C_{T-1}} &= \frac{\partial L}{\partial h_T} \left( \frac{\partial h_T}{\partial C_T}"
    r" \frac{\partial C_T}{\partial C_{T-1}} + \frac{\partial h_T}{\partial h_{T-1}}"
    r" \frac{\partial h_{T-1}}{\partial C_{T-1}} \right) \\",
    r"&= g \left( \frac{\partial h_T}{\partial C_T} \operatorname{diag}(f_T)"
    r" + J \frac{\partial h_{T-1}}{\partial C_{T-1}}"
    r" \right) \\",
    r"&= g \left( \operatorname{diag}(o_T \odot (1-\tanh^2(C_T))) \operatorname{diag}(f_T)"
    r" + J \operatorname{diag}(o_{T-1} \odot (1 - \tanh^2(C_{T-1}))) \right)",
)
LSTM_SLIPS = (
    # the path through h_{T-1} forgotten
    r"\frac{\partial L}{\partial C_{T-1}} &= \frac{\partial L}{\partial h_T} \frac{\partial h_T}{\partial C_T}"
    r" \frac{\partial C_T}{\partial C_{T-1}} \\",
    r"&= g \left( \frac{\partial h_T}{\partial C_T} \operatorname{diag}(o_T)"
    r" + J \frac{\partial h_{T-1}}{\partial C_{T-1}}"
    r" \right) \\",
    r"&= g \left( \operatorname{diag}(o_T \odot (1-\tanh(C_T))) \operatorname{diag}(f_T)"
    r" + J \operatorname{diag}(o_{T-1} \odot (1 - \tanh^2(C_{T-1}))) \right)",
)

GATED = (
    r"\frac{\partial h[t]}{\partial h[t-1]} = \frac{\partial h[t]}{\partial c[t]} \frac{\partial c[t]}{\partial h[t-1]}"
    r" + \operatorname{diag}(c[t])",
    r"= \operatorname{diag}(h[t-1] - W_x x[t]) \frac{\partial c[t]}{\partial h[t-1]} + \operatorname{diag}(c[t])",
    r"= \operatorname{diag}(h[t-1] - W_x x[t]) \operatorname{diag}(c[t] \odot (1 - c[t])) W_h"
    r" + \operatorname{diag}(c[t])",
)
GATED_SLIPS = (
    r"\frac{\partial h[t]}{\partial h[t-1]}"
    r" = \frac{\partial h[t]}{\partial c[t]} \frac{\partial c[t]}{\partial h[t-1]}",
    r"= \operatorname{diag}(W_x x[t] - h[t-1]) \frac{\partial c[t]}{\partial h[t-1]} + \operatorname{diag}(c[t])",
    r"= \operatorname{diag}(h[t-1] - W_x x[t]) \operatorname{diag}(c[t]) W_h + \operatorname{diag}(c[t])",
)

SCALAR = (
    r"\frac{dy}{dw} = \frac{\partial h_3}{\partial w} + \frac{\partial h_3}{\partial h_2} \frac{dh_2}{dw}",
    r"= (u_3 + h_2) + w \frac{dh_2}{dw}",
    r"= (u_3 + w u_2 + w^2 u_1) + w (u_2 + 2 w u_1)",
    r"= 3w^2 u_1 + 2 w u_2 + u_3",
)
SCALAR_SLIPS = (
    r"\frac{dy}{dw} = \frac{\partial h_3}{\partial w}",
    r"= (u_3 + h_2) + \frac{dh_2}{dw}",
    r"= (u_3 + w u_2 + w^2 u_1) + w (u_2 + w u_1)",
    r"= 3w^2 u_1 + 2 w u_2 + 2 u_3",
)

LAE = (
    r"\frac{\partial L}{\partial W_1} = -\frac{2}{n} W_2^T (X - W_2 W_1 X) X^T",
    r"= -\frac{2}{n} (W_2^T X X^T - W_2^T W_2 W_1 X X^T)",
    r"= \frac{2}{n} W_2^T W_2 W_1 X X^T - \frac{2}{n} W_2^T X X^T",
)
LAE_SLIPS = (
    r"\frac{\partial L}{\partial W_1} = -\frac{2}{n} W_2 (X - W_2 W_1 X) X^T",
    r"= -\frac{2}{n} (W_2^T X X^T - W_2^T W_2 W_1 X^T X)",
    r"= \frac{1}{n} W_2^T W_2 W_1 X X^T - \frac{2}{n} W_2^T X X^T",
)

# mlp: the backward pass as a trace of the gradients .g (the item lists them)
MLP = (
    r"V_5.g = -D",
    r"V_4.g = W_3^T V_5.g",
    r"V_3.g = V_4.g \odot \mathbb{1}[V_3 > 0]",
    r"\frac{\partial z}{\partial W_2} = V_3.g V_2^T",
)
MLP_SLIPS = (
    r"V_5.g = D",
    r"V_4.g = W_3 V_5.g",
    r"V_3.g = V_4.g \odot \mathbb{1}[V_3 < 0]",
    r"\frac{\partial z}{\partial W_2} = V_3.g V_2",
)

FAMILIES = {
    "rnn.dL_dh_linear": (RNN, RNN_SLIPS),
    "lstm.dL_dCprev": (LSTM, LSTM_SLIPS),
    "gated_rnn.dh_dhprev": (GATED, GATED_SLIPS),
    "scalar_rnn.dy_dw": (SCALAR, SCALAR_SLIPS),
    "lae.grad_W1": (LAE, LAE_SLIPS),
    "mlp.grad_W2": (MLP, MLP_SLIPS),
}


class TestEveryLinePosition:
    @pytest.mark.parametrize("item", sorted(FAMILIES))
    def test_the_right_derivation(self, item: str) -> None:
        right, _ = FAMILIES[item]
        verdict = judge(item, steps(*right))
        assert verdict.verdict == "correct", verdict.message
        assert verdict.step is None and len(verdict.lines) == len(right)
        assert all(line.holds for line in verdict.lines)

    @pytest.mark.parametrize(
        ("item", "wrong"), [(item, k) for item, (right, _) in sorted(FAMILIES.items()) for k in range(len(right))]
    )
    def test_a_slip_is_found_at_its_line(self, item: str, wrong: int) -> None:
        right, slips = FAMILIES[item]
        lines = list(right)
        lines[wrong] = slips[wrong]
        verdict = judge(item, steps(*lines))
        assert verdict.verdict == "incorrect", verdict.message
        assert verdict.step == wrong + 1, verdict.message
        assert [line.holds for line in verdict.lines] == [True] * wrong + [False]
        assert f"line {wrong + 1}" in verdict.message


class TestWhatALineMayNotDo:
    def test_a_right_result_through_a_wrong_line_is_incorrect(self) -> None:
        # compensating slips: line 2 loses the 2, line 3 brings it back; the result is right
        lines = (
            RNN[0],
            r"= (\hat{y}_T - y_T) \frac{\partial \hat{y}_T}{\partial h_T} \frac{\partial h_T}{\partial h_t}",
            RNN[3],
        )
        verdict = judge("rnn.dL_dh_linear", steps(*lines))
        assert verdict.verdict == "incorrect" and verdict.step == 2

    def test_a_shape_break_is_named_at_its_line(self) -> None:
        lines = (LAE[0], r"= -\frac{2}{n} (W_2^T X X^T - W_2 W_2 W_1 X X^T)", LAE[2])
        verdict = judge("lae.grad_W1", steps(*lines))
        assert verdict.verdict == "incorrect" and verdict.step == 2
        assert "shapes do not fit" in verdict.message

    def test_a_derivative_of_an_undefined_quantity(self) -> None:
        lines = (
            r"\frac{\partial L}{\partial h_t} = \frac{\partial L}{\partial q_T} \frac{\partial q_T}{\partial h_t}",
            RNN[3],
        )
        verdict = judge("rnn.dL_dh_linear", steps(*lines))
        assert verdict.verdict == "incorrect" and verdict.step == 1
        assert "not a quantity of the setup" in verdict.message

    def test_the_restated_question_is_not_an_answer(self) -> None:
        verdict = judge("rnn.dL_dh_linear", steps(RNN[0], r"= \frac{\partial L}{\partial h_t}"))
        assert verdict.verdict == "incorrect" and verdict.step is None
        assert "asked quantity itself" in verdict.message

    def test_every_line_holds_but_the_result_is_left_in_derivative_symbols(self) -> None:
        verdict = judge("rnn.dL_dh_linear", steps(*RNN[:3]))
        assert verdict.verdict == "incorrect" and verdict.step is None
        assert "written out" in verdict.message

    def test_a_line_that_carries_the_previous_value_to_another_left_side(self) -> None:
        lines = (r"\frac{\partial \hat{y}_T}{\partial h_T} = W^f", r"\frac{\partial L}{\partial h_T} = W^f")
        verdict = judge("rnn.dL_dh_linear", steps(*lines))
        assert verdict.step == 2 and "equals the line before" in verdict.message

    def test_an_answer_beside_the_steps_must_agree(self) -> None:
        answer = {**steps(*RNN), "answer": r"(\hat{y}_T - y_T) W^f (W^h)^{T-t}"}
        verdict = judge("rnn.dL_dh_linear", answer)
        assert verdict.verdict == "incorrect" and "does not agree" in verdict.message


class TestLayout:
    def test_pasted_latex_alignment_is_ignored(self) -> None:
        text = "\\begin{align*}\n" + "\n".join(LSTM) + "\n\\end{align*} % from my homework"
        assert judge("lstm.dL_dCprev", {"steps": text}).verdict == "correct"

    def test_blank_lines_and_comments(self) -> None:
        text = "\n\n".join(RNN) + "\n% done\n"
        assert judge("rnn.dL_dh_linear", {"steps": text}).verdict == "correct"

    @pytest.mark.parametrize(
        ("text", "where"),
        [
            ("= 2 W^f", "line 1"),  # no left side to continue
            (RNN[0] + "\n" + r"2 (\hat{y}_T - y_T) W^f", "line 2"),  # not an equation
            (RNN[0] + "\n" + r"= 2 (\hat{y}_T - y_T W^f", "line 2"),  # a bracket left open
        ],
    )
    def test_unreadable_layout_points_at_the_line(self, text: str, where: str) -> None:
        verdict = judge("rnn.dL_dh_linear", {"steps": text})
        assert verdict.verdict == "unparsed" and where in verdict.message, verdict.message

    def test_json_carries_step_and_lines(self) -> None:
        lines = list(RNN)
        lines[2] = RNN_SLIPS[2]
        record = judge("rnn.dL_dh_linear", steps(*lines)).to_json()
        assert record["step"] == 3 and [line["holds"] for line in record["lines"]] == [True, True, False]
        json.dumps(record, allow_nan=False)


STEP_ITEMS = [pid for pid in registry.problems() if registry.get(pid).kind in ("expr", "matrix", "indexed")]


class TestOurOwnDerivations:
    """The solution manual's derivations are checked by the machinery that checks students."""

    @pytest.mark.parametrize("item", STEP_ITEMS)
    def test_the_catalog_steps_pass_the_step_checker(self, item: str) -> None:
        from dlverify.checking.steps import reference_steps

        text = reference_steps(registry.get(item))
        if not text:  # no step of this derivation is an equation of the item's quantities (h_k for a general k)
            return
        verdict = judge(item, {"steps": text})
        assert verdict.verdict == "correct", (text, verdict.message)
        assert len(verdict.lines) == len(text.splitlines())

    def test_most_items_have_such_steps(self) -> None:
        from dlverify.checking.steps import reference_steps

        with_steps = [pid for pid in STEP_ITEMS if reference_steps(registry.get(pid))]
        assert len(with_steps) >= 20, with_steps

    def test_show_and_template_print_the_format(self, capsys: pytest.CaptureFixture[str]) -> None:
        import tomllib

        from dlverify.cli import main

        assert main(["show", "rnn.dL_dh_tanh", "--steps"]) == 0
        printed = tomllib.loads(capsys.readouterr().out)
        assert judge("rnn.dL_dh_tanh", printed["rnn.dL_dh_tanh"]).verdict == "correct"
        assert main(["template", "lstm.dL_dCprev", "--steps"]) == 0
        skeleton = tomllib.loads(capsys.readouterr().out)
        assert set(skeleton["lstm.dL_dCprev"]) == {"steps"}


class TestGraders:
    def test_gradescope_has_a_test_per_line(self, tmp_path) -> None:
        import json

        from dlverify.cli import main

        lines = list(RNN)
        lines[1] = RNN_SLIPS[1]
        path = tmp_path / "a.toml"
        body = "\n".join(lines)
        path.write_text(f"[\"rnn.dL_dh_linear\"]\nsteps = '''\n{body}\n'''\n", encoding="utf-8")
        out = tmp_path / "results.json"
        main(["check", str(path), "--gradescope", str(out)])
        tests = json.loads(out.read_text(encoding="utf-8"))["tests"]
        per_line = [t for t in tests if " line " in t["name"]]
        assert [t["status"] for t in per_line] == ["passed", "failed"]
        assert all(t["max_score"] == 0 for t in per_line)
        assert next(t for t in tests if t["name"] == "rnn.dL_dh_linear")["score"] == 0


class TestForEveryStep:
    """A line with a free step index (∂h_k/∂h_{k−1} = …) states it for every k: it is judged at each
    of the item's step symbols as the index."""

    @pytest.mark.parametrize(
        ("item", "line", "holds"),
        [
            (
                "rnn.dL_dh_tanh",
                r"\frac{\partial h_k}{\partial h_{k-1}} = \operatorname{diag}(1 - h_k \odot h_k) W^h",
                True,
            ),
            (
                "rnn.dL_dh_tanh",
                r"\frac{\partial h_k}{\partial h_{k-1}} = \operatorname{diag}(1 - h_{k-1} \odot h_{k-1}) W^h",
                False,
            ),
            ("rnn.dL_dh_linear", r"\frac{\partial h_k}{\partial h_{k-1}} = W^h", True),
            ("rnn.dL_dh_linear", r"\frac{\partial h_k}{\partial h_{k-1}} = (W^h)^T", False),
        ],
    )
    def test_a_general_step(self, item: str, line: str, holds: bool) -> None:
        result = {"rnn.dL_dh_tanh": RNN_TANH_RESULT, "rnn.dL_dh_linear": RNN[-1][2:]}[item]
        verdict = judge(item, steps(line, r"\frac{\partial L}{\partial h_t} = " + result))
        assert (verdict.verdict == "correct") == holds, verdict.message
        assert verdict.step == (None if holds else 1)


RNN_TANH_RESULT = r"2(\hat{y}_T - y_T) W^f \prod_{j=0}^{T-t-1} \operatorname{diag}(1 - h_{T-j} \odot h_{T-j}) W^h"

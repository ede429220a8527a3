"""Issue 23: every entry a table item asks for counts, and a readable wrong answer is ``incorrect``
with its reason, never ``unparsed``.  Each case's verdict was checked by hand: the trace and array
values against examples/calculus_correct.toml (itself checked against PyTorch by the suite), the
beam sequences against the catalog's brute force, the indicators and |w| at a negative entry."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from dlverify.checking.judge import judge

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
CORRECT = tomllib.loads((EXAMPLES / "calculus_correct.toml").read_text())
FORWARD: dict[str, Any] = CORRECT["autodiff.forward_trace"]
REVERSE: dict[str, Any] = CORRECT["autodiff.reverse_trace"]
VALUES: dict[str, Any] = CORRECT["mlp.values"]
INPUTS = ("v-2", "v-1", "v0")


def _without(table: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in table.items() if k not in keys}


def _bare(row: str) -> str:
    """A node row without its third part: '<definition> | <value>'."""
    return "|".join(row.split("|")[:2])


class TestTablesAreComplete:
    """An entry not given (absent, or left empty as the template writes it) is wrong and named."""

    @pytest.mark.parametrize(
        ("answer", "absent"),
        [
            (_without(REVERSE, *INPUTS), INPUTS),  # scored full marks before
            (_without(REVERSE, "v0"), ("v0",)),
            (_without(REVERSE, "v-2", "v-1"), ("v-2", "v-1")),
        ],
        ids=["no inputs", "no v0", "no v-2 v-1"],
    )
    def test_a_reverse_trace_without_the_inputs_adjoints_is_incorrect(self, answer, absent) -> None:
        v = judge("autodiff.reverse_trace", answer)
        assert v.verdict == "incorrect" and v.score < 1
        assert f"not answered: {', '.join(absent)}" in v.message
        assert all(v.entries[k].verdict == "missing" for k in absent)
        total = len(REVERSE) + 1  # every entry the item asks for, and the last node being f
        assert v.score == pytest.approx((total - len(absent)) / total)

    @pytest.mark.parametrize(
        ("answer", "verdict"),
        [
            (REVERSE, "correct"),
            ({**REVERSE, "v0": -1.7735}, "correct"),  # a TOML number is an input's adjoint
            ({**REVERSE, "v0": "2 | -1.7735"}, "correct"),
            ({**REVERSE, "v0": ""}, "incorrect"),  # left as the template writes it
            ({**REVERSE, "v0": -1.4614}, "incorrect"),  # the path through v6 only
            ({**REVERSE, "v1": "x1 x2 |  | 2.6955"}, "incorrect"),  # a node's value is asked for
            ({**FORWARD, "v3": "v_1 v_2 |  | 0.9093"}, "incorrect"),
        ],
        ids=["all", "number", "value|adjoint", "empty", "one path", "no value", "forward no value"],
    )
    def test_every_part_of_a_trace_counts(self, answer, verdict) -> None:
        item = "autodiff.reverse_trace" if "v7" in answer else "autodiff.forward_trace"
        v = judge(item, answer)
        assert v.verdict == verdict, v.message
        if verdict == "incorrect" and "|  |" in str(answer.values()):
            assert "the value is missing" in v.message

    @pytest.mark.parametrize(
        ("item", "answer", "absent"),
        [
            ("mlp.values", _without(VALUES, "W1_g"), ("W1_g",)),
            ("mlp.values", {**VALUES, "W1_g": ""}, ("W1_g",)),  # was unparsed, scored as a reading error
            ("mlp.values", {**VALUES, "V2_g": [], "W2_g": ""}, ("V2_g", "W2_g")),
            ("scalar_rnn.forward", {"p": "u_1", "q": "w u_1", "r": " "}, ("r", "s", "t", "y")),
        ],
        ids=["values absent", "values empty", "values two", "forward"],
    )
    def test_a_table_names_the_entries_not_answered(self, item, answer, absent) -> None:
        v = judge(item, answer)
        assert v.verdict == "incorrect", v.message
        assert f"not answered: {', '.join(absent)}" in v.message
        assert 0 < v.score < 1

    def test_a_complete_table_is_correct(self) -> None:
        assert judge("mlp.values", VALUES).verdict == "correct"
        answer = {"p": "u_1", "q": "w u_1", "r": "w u_1 + u_2", "s": "w^2 u_1 + w u_2"}
        answer |= {"t": "w^2 u_1 + w u_2 + u_3", "y": "w^3 u_1 + w^2 u_2 + w u_3"}
        assert judge("scalar_rnn.forward", answer).verdict == "correct"


class TestReadableWrongIsIncorrect:
    @pytest.mark.parametrize(
        ("item", "answer", "verdict", "said"),
        [
            ("beam.best_sequence", "neural neural", "incorrect", "a length-2 sequence; the item asks for length 3"),
            ("beam.best_sequence", ["neural", "neural"], "incorrect", "a length-2 sequence"),
            ("beam.best_sequence", "neural, neural, neural, neural", "incorrect", "a length-4 sequence"),
            ("beam.best_sequence", "neural neural neural", "correct", ""),
            ("beam.best_sequence", ["neural", "neural", "neural"], "correct", ""),  # written word by word
            ("beam.best_sequence", "neural -> neural -> neural", "correct", ""),
            ("beam.best_sequence", "neural → network → network", "incorrect", "wrongly chosen"),  # the beam's
            ("beam.best_sequence", "neural neural recurrent", "unparsed", "not an option"),  # not a vocabulary word
            ("beam.step2", ["neural network", "network"], "incorrect", "'network' is a length-1 sequence"),
            ("beam.step1", "neural network", "incorrect", "a length-2 sequence; the item asks for length 1"),
            ("beam.step1", ["neural", "network"], "correct", ""),
        ],
    )
    def test_a_sequence_of_another_length(self, item, answer, verdict, said) -> None:
        v = judge(item, answer)
        assert v.verdict == verdict, v.message
        assert said in v.message

    @pytest.mark.parametrize(
        ("answer", "verdict"),
        [
            (r"V_4.g \odot \mathbb{1}[V_3 < 0]", "incorrect"),  # was unparsed
            (r"\mathbb{1}[V_3 < 0] \odot \bar{V}_4", "incorrect"),
            (r"V_4.g \odot \mathbb{1}[0 > V_3]", "incorrect"),
            (r"V_4.g \odot \mathbb{1}[V_3 \le 0]", "incorrect"),
            (r"V_4.g \odot \mathbb{1}[0 < V_3]", "correct"),
            (r"V_4.g \odot \mathbb{1}[-V_3 < 0]", "correct"),
            (r"V_4.g \odot (1 - \mathbb{1}[V_3 \le 0])", "correct"),  # exactly 1[V_3 > 0], zero entries too
            (r"V_4.g - V_4.g \odot \mathbb{1}[V_3 <= 0]", "correct"),
        ],
    )
    def test_an_indicator_below_zero(self, answer, verdict) -> None:
        v = judge("mlp.grad_V3", answer)
        assert v.verdict == verdict, v.message

    @pytest.mark.parametrize(
        ("answer", "verdict"),
        [
            ("|w|", "incorrect"),  # was unparsed
            ("3 w^2 u_1 + 2 |w| u_2 + u_3", "incorrect"),  # wrong for w < 0
            (r"3 \lvert w \rvert u_1 w + 2 w u_2 + u_3", "incorrect"),
            ("3 |w|^2 u_1 + 2 w u_2 + u_3", "correct"),
            (r"3 \left| w \right|^2 u_1 + 2 w u_2 + u_3", "correct"),
            (r"3 \lvert -w \rvert^2 u_1 + 2 w u_2 + u_3", "correct"),
        ],
    )
    def test_an_absolute_value(self, answer, verdict) -> None:
        v = judge("scalar_rnn.dy_dw", answer)
        assert v.verdict == verdict, v.message

    @pytest.mark.parametrize(
        ("item", "answer", "node"),
        [
            ("autodiff.forward_trace", {k: _bare(r) for k, r in FORWARD.items()}, "v1"),
            ("autodiff.forward_trace", {**FORWARD, "v4": _bare(FORWARD["v4"])}, "v4"),
            ("autodiff.reverse_trace", {**REVERSE, "v3": _bare(REVERSE["v3"])}, "v3"),
            ("autodiff.reverse_trace", {**REVERSE, "v5": "v3 + v4"}, "v5"),  # the definition alone
        ],
        ids=["forward all", "forward v4", "reverse v3", "definition only"],
    )
    def test_a_trace_without_tangents(self, item, answer, node) -> None:
        v = judge(item, answer)
        assert v.verdict == "incorrect", v.message
        assert v.entries[node].verdict == "incorrect"
        assert f"{node}: the" in v.message and "missing" in v.entries[node].message
        assert 0 < v.score < 1

"""The trace engine and the trace checker: a student's own decomposition is judged on its graph."""

from __future__ import annotations

import pytest
import sympy as sp
from hypothesis import given

from derivations import autodiff as d
from dlverify import registry
from dlverify.checking.judge import judge
from dlverify.checking.traces import elementary

FORWARD = {
    "v1": "v_{-2} v_{-1} | 1.5000 | 1.0000",
    "v2": r"\sin v_0 | 0.9093 | 0.0000",
    "v3": "v_1 v_2 | 1.3639 | 0.9093",
    "v4": "e^{v_1} | 4.4817 | 4.4817",
    "v5": "v_3 + v_4 | 5.8456 | 5.3910",
    "v6": r"\frac{v_5}{v_0} | 2.9228 | 2.6955",
}
# x1 x2 recomputed instead of reused, and f/x3 as f · (1/x3): still right
OTHER_DECOMPOSITION = {
    "v1": "x1 x2 | 1.5 | 1",
    "v2": "sin(x3) | 0.9093 | 0",
    "v3": "v1*v2 | 1.3639 | 0.9093",
    "v4": "x1 x2 | 1.5 | 1",
    "v5": "exp(v4) | 4.4817 | 4.4817",
    "v6": "v3 + v5 | 5.8456 | 5.3910",
    "v7": "1/x3 | 0.5 | 0",
    "v8": "v6 v7 | 2.9228 | 2.6955",
}


def test_the_homework_graph_reuses_x1_x2_and_ends_in_f() -> None:
    g = d.graph(d.HOMEWORK, (d.x1, d.x2, d.x3))
    assert [n.op for n in g.nodes] == ["mul", "sin", "mul", "exp", "add", "div"]
    assert sp.simplify(g.expression(len(g.nodes)) - d.HOMEWORK) == 0


@given(data=registry.get("autodiff.forward_trace").cases())
def test_every_node_of_a_random_expression_is_elementary(data: dict) -> None:
    inputs = (d.x1, d.x2, d.x3)
    f = d.from_tree(data["tree"], inputs)
    g = d.graph(f, inputs)
    for node in g.nodes:
        assert elementary(node.definition()) is None, node
    assert g.expression(len(g.nodes)) == f


@pytest.mark.parametrize("answer", [FORWARD, OTHER_DECOMPOSITION], ids=["ours", "another decomposition"])
def test_a_right_trace_is_correct_whatever_its_decomposition(answer: dict) -> None:
    assert judge("autodiff.forward_trace", answer).verdict == "correct"


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"v3": r"v_{-2} v_{-1} \sin v_0 | 1.3639 | 0.9093"}, "v3: not elementary"),
        ({"v2": r"\sin v_0 | 0.9000 | 0.0000"}, "v2: wrong value"),
        ({"v4": "e^{v_1} | 4.4817 | 1.0000"}, "v4: wrong tangent"),
        ({"v3": "v_1 v_4 | 1.3639 | 0.9093"}, "v4, which is not an earlier node"),
        ({"v6": r"\frac{v_5}{v_1} | 3.8971 | 0.9913"}, "the last node v6 is not f"),
    ],
    ids=["not elementary", "value", "tangent", "a later node", "not f"],
)
def test_the_first_wrong_node_is_named_with_the_reason(change: dict, says: str) -> None:
    verdict = judge("autodiff.forward_trace", {**FORWARD, **change})
    assert verdict.verdict == "incorrect"
    assert says in verdict.message
    assert 0 < verdict.score < 1


def test_an_adjoint_that_misses_a_consumer_is_diagnosed() -> None:
    reverse = {
        "v1": "v_{-2} v_{-1} | 1.5000 | 2.6955",
        "v2": r"\sin v_0 | 0.9093 | 0.7500",
        "v3": "v_1 v_2 | 1.3639 | 0.5000",
        "v4": "e^{v_1} | 4.4817 | 0.5000",
        "v5": "v_3 + v_4 | 5.8456 | 0.5000",
        "v6": "v_5 / v_0 | 2.9228 | 1.0000",
        "v-2": "4.0432",
        "v-1": "2.6955",
        "v0": "-1.7735",
    }
    assert judge("autodiff.reverse_trace", reverse).verdict == "correct"
    wrong = judge("autodiff.reverse_trace", {**reverse, "v0": "2 | -1.4614"})  # the path through v6 only
    assert "misses the path through v2" in wrong.message


def test_a_malformed_entry_is_unparsed_with_its_reason() -> None:
    verdict = judge("autodiff.forward_trace", {**FORWARD, "v2": r"\sin v_0 | 0.9093 | 0 | 1"})
    assert verdict.entries["v2"].verdict == "unparsed"
    assert "three parts" in verdict.entries["v2"].message
    # a row without its tangent is read, and wrong (tests/test_complete_answers.py)
    verdict = judge("autodiff.forward_trace", {**FORWARD, "v2": r"\sin v_0 | 0.9093"})
    assert verdict.entries["v2"].verdict == "incorrect" and "tangent is missing" in verdict.entries["v2"].message
    assert judge("autodiff.forward_trace", "v1 v2").verdict == "unparsed"

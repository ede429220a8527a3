"""The views between the data and its renderings: every item's builds, and the renderings of one
item or one verdict (terminal, LaTeX, JSON, Gradescope, feedback) say the same things."""

from __future__ import annotations

import json

import pytest
import sympy as sp

from dlverify import registry, render
from dlverify.checking.answers import Graded, gradescope, text_report
from dlverify.checking.judge import judge
from dlverify.checking.verdict import Counterexample, Reference, Verdict, quoted
from dlverify.crosscheck import cross_check
from dlverify.views import Outcome, VerificationView, item_view, verdict_view
from reports import feedback
from reports.build import _record, item_latex, item_section


@pytest.mark.parametrize("pid", list(registry.problems()))
def test_every_item_has_a_view_that_both_renderings_read(pid: str) -> None:
    problem = registry.get(pid)
    view = item_view(problem)
    assert (view.id, view.title, view.kind) == (problem.id, problem.title, problem.kind)
    assert view.results and view.steps
    d = problem.derive()
    if view.choice:
        assert [e.expr for e in view.results] == [None]
    else:
        assert {e.name: e.expr for e in view.results} == d.entries()
    shown = render.item_text(view)
    assert shown == render.problem_text(problem)
    for entry in view.results:
        assert entry.plain.splitlines()[0] in shown
    assert item_latex(view) == item_section(problem, None)


def _view(**changed) -> VerificationView:
    fields = dict(
        item="x.y",
        oracle="torch.autograd",
        passed=True,
        cases=7,
        sizes="T∈[1,4]",
        exact=False,
        max_error=1.5e-16,
        max_tolerance=1e-12,
        tolerance_note="float64",
        error_cells=("1.50e-16", "1.00e-12"),
    )
    return VerificationView(**{**fields, **changed})


@pytest.mark.parametrize(
    ("changed", "outcome", "plain", "latex"),
    [
        ({}, Outcome.WITHIN_TOLERANCE, "max relative error 1.50e-16", "tolerance at most 1.00e-12"),
        ({"exact": True}, Outcome.EXACT, "exact agreement", "every comparison exact"),
        ({"argument_only": True}, Outcome.ARGUMENT_ONLY, "not measured", "Argument only"),
        (
            {"passed": False, "failure": "bad: 1 > 0.5", "failing_case": {"T": 2}, "argument_only": True},
            Outcome.FAILED,
            "FAILED against torch.autograd: bad: 1 > 0.5 (case {'T': 2})",
            "Verification FAILED",
        ),
    ],
)
def test_one_outcome_decides_every_verification_sentence(changed, outcome, plain, latex) -> None:
    view = _view(**changed)
    assert view.outcome is outcome
    assert plain in view.sentence() and render.verification_line(view).startswith("Verification: ")
    assert latex in _record(view)


def test_a_cross_check_view_carries_the_entry_names_of_its_rows() -> None:
    check = cross_check(registry.get("scalar_rnn.edge_partials"), examples=40)
    view = check.view()
    assert view.passed and view.rows
    assert {row.entry for row in view.rows} <= set(registry.get("scalar_rnn.edge_partials").entries)
    assert check.summary() == view.sentence()
    single = cross_check(registry.get("scalar_rnn.dy_dp"), examples=40).view()
    assert {row.entry for row in single.rows} == {""}  # one result: no name, "--" in the table
    assert " & -- & " in item_latex(item_view(registry.get("scalar_rnn.dy_dp"), single))


WRONG = ("scalar_rnn.dy_dw", "3w^2 u_1 + 2 w u_2")


def test_a_verdict_keeps_its_reference_apart_and_every_rendering_quotes_it_alike() -> None:
    v = judge(*WRONG)
    assert v.reference is not None and v.reference.latex and "(reference:" not in v.message
    said = v.said()
    assert said == quoted(v.message, v.reference) == verdict_view(v).said
    assert f" (reference: {v.reference.text})" in said and said.endswith(f"; looks like {v.diagnosis}")
    record = v.to_json()
    assert record["message"] == said and "reference" not in record  # answers-format.md's fields, as before
    assert record["counterexample"] == v.counterexample.to_json() and set(record["counterexample"]) == {
        "at",
        "answer_value",
        "reference_value",
    }
    graded = Graded([v])
    assert said in text_report(graded)
    output = gradescope(graded)["tests"][0]["output"]
    assert said in output and json.dumps(v.counterexample.to_json()) in output
    tex = feedback.feedback_tex(graded, {WRONG[0]: WRONG[1]}, "a.toml", hide=False)
    assert feedback._said(v.message) in tex and "(reference:" not in tex
    assert feedback._counterexample(v.counterexample) in tex


def test_a_verdict_crosses_the_worker_pipe_whole() -> None:
    v = judge("scalar_rnn.edge_partials", {"q": "w p", "s": "w r", "y": "w t"})
    assert v.entries["q"].reference is not None
    back = Verdict.from_json(v.to_json(reference_apart=True))
    assert back == v and back.said() == v.said()
    assert back.to_json() == v.to_json()
    assert "(reference: " in v.said()  # the table's message quotes its entries as they are said


def test_hidden_references_are_not_kept_at_all() -> None:
    v = judge(*WRONG, hide_reference=True)
    assert v.reference is None and v.said() == v.message and "reference:" not in v.said()


def test_the_feedback_no_longer_parses_messages() -> None:
    # a message that itself contains "(reference: …)" (quoting an answer) is shown whole
    message = "read 'w (reference: x)' as w"
    v = Verdict(WRONG[0], "incorrect", message, reference=Reference("w³", r"w^{3}", at=len(message)))
    tex = feedback.feedback_tex(Graded([v]), {WRONG[0]: "w"}, "a.toml", hide=True)
    assert feedback._said(message) in tex and "w³" not in tex
    assert v.said() == message + " (reference: w³)"


def test_a_counterexample_is_typed_and_its_json_is_unchanged() -> None:
    example = Counterexample(at={"W": [[1, 2]]}, entry=(1, 2), answer_value=1.5, reference_value=2.0)
    assert example.to_json() == {"at": {"W": [[1, 2]]}, "entry": [1, 2], "answer_value": 1.5, "reference_value": 2.0}
    assert list(example.to_json()) == ["at", "entry", "answer_value", "reference_value"]
    assert Counterexample.from_json(json.loads(json.dumps(example.to_json()))) == example
    shape = Counterexample(answer_shape="(T, 1)", reference_axes=2, axis=1, terms=("T",))
    assert shape.details() == {"answer_shape": "(T, 1)", "reference_axes": 2, "axis": 1, "terms": ["T"]}
    assert Verdict("x", "incorrect", "m", {"answer_value": 1.0}).counterexample == Counterexample(answer_value=1.0)


def test_the_jupyter_forms_share_one_display() -> None:
    problem = registry.get("scalar_rnn.dy_dp")
    d = problem.derive()
    assert problem._repr_latex_().startswith(r"$\displaystyle \text{")
    assert d._repr_latex_() == r"$\displaystyle " + sp.latex(d.result) + "$"

"""Messages a student can use: no distance to a hidden reference, a quoted reference that reads
back as a correct answer, and a diagnosis only where the mutated reference is the answer."""

from __future__ import annotations

import re

import pytest
import sympy as sp

from dlverify import notation, registry
from dlverify.checking.judge import judge_problem
from dlverify.checking.names import table_for
from dlverify.checking.reading import to_sympy
from dlverify.evaluation import substitute_definitions

PROBLEMS = registry.problems()
QUOTED_KINDS = ("expr", "matrix", "indexed")
QUOTED = [p for p in PROBLEMS.values() if p.kind in QUOTED_KINDS]


class TestHiddenReferenceGivesNoDistance:
    """A number's distance and the answer add up to the reference: with --hide-reference neither
    the distance nor the reference is said (xent.initial_loss is log 4 = 1.3862944…)."""

    @pytest.mark.parametrize("answer", ["2.3", "1.3", "1.39", "0", "-1.386", "log(5)"])
    def test_hidden(self, answer: str) -> None:
        v = judge_problem(PROBLEMS["xent.initial_loss"], answer, hide_reference=True)
        assert v.verdict == "incorrect", v.message
        said = v.said()
        assert "away" not in said and "1.386" not in said.replace(answer, "")
        distance = abs(float(sp.N(sp.log(4))) - float(v.counterexample.answer_value))
        assert f"{distance:.3g}" not in said, said
        assert v.counterexample.reference_value is None

    @pytest.mark.parametrize("answer", ["2.3", "1.39"])
    def test_shown_when_not_hidden(self, answer: str) -> None:
        v = judge_problem(PROBLEMS["xent.initial_loss"], answer)
        assert v.verdict == "incorrect" and "away" in v.said() and "1.3862944" in v.said()

    @pytest.mark.parametrize("answer", ["1.3863", "log(4)", r"\ln 4", "2 log 2"])
    def test_right_answers_stay_right(self, answer: str) -> None:
        assert judge_problem(PROBLEMS["xent.initial_loss"], answer, hide_reference=True).verdict == "correct"


def _quoted_forms(problem) -> list[str]:
    """The reference as messages quote it: as derived (matrix items), with the item's defined
    symbols written out (expression items)."""
    result = problem.derive().result
    if problem.kind == "matrix":
        return [notation.unicode(result)]
    return [notation.unicode(substitute_definitions(result, table_for(problem).definitions))]


class TestQuotedReferenceReadsBack:
    @pytest.mark.parametrize("problem", QUOTED, ids=[p.id for p in QUOTED])
    def test_printed_reference_is_a_correct_answer(self, problem) -> None:
        for text in _quoted_forms(problem):
            v = judge_problem(problem, text)
            assert v.verdict == "correct", (text, v.message)

    @pytest.mark.parametrize(
        ("pid", "answer"),
        [
            ("scalar_rnn.dy_dw", "3 w^2 u_1 + 2 w u_2"),  # a term missing
            ("lae.min_loss", r"\sum_{i=k}^{m} \sigma_i^2"),
            ("rlae.optimum", r"U_k (I - \lambda \Lambda_k^{-1}) O"),
            ("rnn.loss_last_step", r"(\hat{y}_T - y_T)^3"),
            ("optim.adam_bias_correction", r"E_g (1 - \beta_1^{t+1})"),
        ],
    )
    def test_quoted_reference_of_a_wrong_answer_reads_back(self, pid: str, answer: str) -> None:
        problem = PROBLEMS[pid]
        v = judge_problem(problem, answer)
        assert v.verdict == "incorrect" and v.reference is not None, v.message
        assert judge_problem(problem, v.reference.text).verdict == "correct", v.reference.text

    @pytest.mark.parametrize("printer", [notation.unicode, notation.plain, notation.latex])
    @pytest.mark.parametrize("exp", [-1, 2, 3])
    def test_entrywise_power_reads_back(self, printer, exp: int) -> None:
        problem = PROBLEMS["mlp.grad_V3"]
        s = problem.derive().symbols
        expr = sp.HadamardProduct(s["g_V4"], sp.HadamardPower(s["V_3"], exp))
        back, unknown = to_sympy(printer(expr), problem)
        assert not unknown
        want = expr if exp == -1 else sp.HadamardProduct(s["g_V4"], *[s["V_3"]] * exp)
        assert back.doit() == want.doit(), printer(expr)  # nesting aside: a ⊙ (b ⊙ b) is a ⊙ b ⊙ b


class TestDiagnosesAreTrue:
    @pytest.mark.parametrize(
        ("pid", "answer", "diagnosis"),
        [
            # the whole result transposed: b aᵀ for a bᵀ, in several spellings
            ("mlp.grad_W3", r"V_4 g_{V_5}^T", "the whole result is transposed"),
            ("mlp.grad_W3", r"V_4 (g_{V_5})^\top", "the whole result is transposed"),
            ("lae.grad_W1", r"-\frac{2}{n} X (X - W_2 W_1 X)^T W_2", "the whole result is transposed"),
            ("lae.grad_W2", r"-\frac{2}{n} W_1 X (X - W_2 W_1 X)^T", "the whole result is transposed"),
            # a commuted product names its factors so that they read as written
            (
                "mlp.grad_W1",
                r"X^T ((W_2^T g_{V_3}) \odot 1[V_1 > 0])",
                "the product ((W_2ᵀ g_{V_3}) ⊙ 1[V_1 > 0])·Xᵀ is commuted",
            ),
            ("mlp.grad_W3", r"V_4^T g_{V_5}", "the product g_{V_5}·V_4ᵀ is commuted"),
            ("mlp.grad_V4", r"W_3 g_{V_5}", "W_3 appears without its transpose"),
        ],
    )
    def test_diagnosed(self, pid: str, answer: str, diagnosis: str) -> None:
        v = judge_problem(PROBLEMS[pid], answer)
        assert v.verdict == "incorrect" and v.diagnosis == diagnosis, (v.message, v.diagnosis)

    @pytest.mark.parametrize(
        ("pid", "answer"),
        [
            ("mlp.grad_W3", r"V_4^T \odot g_{V_5}"),  # an ill-typed ⊙ is no commuted product
            ("mlp.grad_V4", r"W_3^T \odot g_{V_5}"),
            ("rlae.optimum", r"U_k (I - \lambda \Lambda_k^{-1})^{1/2} (O + O^T)"),  # Λ_k is diagonal: Λ_kᵀ = Λ_k
            ("rlae.optimum", r"U_k^T (I - \lambda \Lambda_k^{-1})^{1/2}"),
        ],
    )
    def test_no_false_diagnosis(self, pid: str, answer: str) -> None:
        v = judge_problem(PROBLEMS[pid], answer)
        assert v.verdict == "incorrect", v.message
        d = v.diagnosis or ""
        assert "commuted" not in d and "Λ_k appears transposed" not in d and "Λ_k" not in d, d

    def test_unchanged_reference_is_never_the_mistake(self) -> None:
        """Every claimed mutation differs from the reference at the witness: the diagnosis of a
        wrong answer whose only change is in O (O + Oᵀ, not orthogonal) names no diagonal factor; O → Oᵀ
        alone is no mistake (any orthogonal O is a minimiser)."""
        v = judge_problem(PROBLEMS["rlae.optimum"], r"U_k (I - \lambda \Lambda_k^{-1})^{1/2} (O + O^T)")
        assert v.verdict == "incorrect" and v.diagnosis != "O appears transposed"
        assert not re.search(r"Λ_k\S* appears transposed", v.diagnosis or "")

"""bigO answers read as TeX sets them (``TK^2`` is T·K²) and exponential or factorial bounds judged.

The references: beam.complexity is Θ(TKM log M), beam.complexity_no_cache Θ(T²KM + TKM log M)
(also accepting O(T²KM log M)), both with K ≤ M.  Each verdict below was worked out by hand
from the definition (a = O(b) when a/b stays bounded as every size grows, K ≤ M).
"""

from __future__ import annotations

import pytest
import sympy as sp

from dlverify import registry
from dlverify.checking.judge import judge_problem
from dlverify.problem import AnswerSpec
from tests.kind_fixtures import _int, _problem

CACHED = "beam.complexity"
NO_CACHE = "beam.complexity_no_cache"
NOT_TIGHT = "a valid upper bound that is not tight"


def _judge(pid: str, answer: str, hide: bool = False):
    return judge_problem(registry.problems()[pid], answer, hide_reference=hide)


class TestJuxtaposedCapitals:
    """A power binds to the last of juxtaposed capitals: the homework's own TKM log M + TK² log K is tight."""

    @pytest.mark.parametrize(
        "answer",
        [
            r"O(TKM \log M + TK^2 \log K)",  # TK² log K ≤ TKM log M since K ≤ M
            r"O(TKM\log M + TK^2\log K)",
            r"O(TMK\log(M) + TK^2\log(K))",
            r"O(TKM \log M + TK^{2} \log K)",
            r"\mathcal{O}(TKM \log M + TK^2 \log K)",
            r"\Theta(TKM\log M + TK^{2}\log K)",
            r"O(TK^2 + TKM \log M)",  # TK² ≤ TKM
            r"O(T K M \log M + T K^{2} \log K)",
            r"O(TKM \log_2 M)",  # a constant base is a constant factor
            r"O(KMT \log_{10} M)",
        ],
    )
    def test_tight_spellings_are_correct(self, answer: str) -> None:
        v = _judge(CACHED, answer)
        assert v.verdict == "correct", v.said()

    @pytest.mark.parametrize(
        ("answer", "diagnosis"),
        [
            (r"O(TKM)", "too small a bound"),  # the sort's log M is missing
            (r"O(TK^2 \log K)", "too small a bound"),  # the term that matters is missing: TK² log K ≤ TKM log M
            (r"O(TK^2\log K + TM \log M)", "too small a bound"),  # TM log M misses the factor K
            (r"O(T^2KM)", "a different growth"),  # T vs log M: neither contains the other
            (r"O((TK)^2 \log K)", "a different growth"),  # braces keep (TK)²: T²K² log K
            (r"O(T^2KM\log M)", NOT_TIGHT),  # the no-cache bound
        ],
    )
    def test_subtly_wrong_spellings_are_incorrect(self, answer: str, diagnosis: str) -> None:
        v = _judge(CACHED, answer)
        assert v.verdict == "incorrect" and v.diagnosis == diagnosis, v.said()

    def test_the_power_is_read_on_the_last_factor(self) -> None:
        v = _judge(CACHED, r"O(TK^2)")
        assert v.counterexample.terms == ("K^2 T",), v.counterexample

    @pytest.mark.parametrize(
        ("answer", "ok"),
        [
            (r"O(T^2KM + TK^2\log K + TKM\log M)", True),
            (r"\Theta(T^{2}KM + TKM\log_2(M))", True),
            (r"O(TKM\log M + TK^2\log K)", False),  # misses T²KM
            (r"O(T^2KM + TK^2\log K)", False),  # misses TKM log M (K² log K ≤ KM log M only one way)
        ],
    )
    def test_no_cache(self, answer: str, ok: bool) -> None:
        v = _judge(NO_CACHE, answer)
        assert v.ok is ok, v.said()

    @pytest.mark.parametrize(("answer", "ok"), [(r"O(NNd^2)", True), (r"O(Nd^2 N)", True), (r"O(N^2 Nd)", False)])
    def test_a_multi_letter_size_is_kept_whole(self, answer: str, ok: bool) -> None:
        n, nd = sp.symbols("N Nd", integer=True, positive=True)
        sizes = [_int("N"), _int("Nd")]
        problem = _problem("fixture.multi", "bigO", n * nd**2, sizes, {"N": n, "Nd": nd}, AnswerSpec())
        v = judge_problem(problem, answer)
        assert v.ok is ok, v.said()


class TestExponentialAndFactorialBounds:
    """Judged, not refused: valid but not tight when they contain the reference, incorrect otherwise."""

    @pytest.mark.parametrize(
        ("pid", "answer"),
        [
            (CACHED, r"O(M^T)"),  # T ≥ 3: M^T ≥ M³ ≥ TKM log M eventually
            (CACHED, r"O(T M^{T})"),
            (CACHED, r"O(M^{T-1})"),
            (CACHED, r"O(2^T + TKM \log M)"),
            (CACHED, r"O(TKM\log M + K^T)"),
            (CACHED, r"O(TKM\log M \cdot T!)"),
            (NO_CACHE, r"O(M^T)"),
            (NO_CACHE, r"\mathcal{O}(T!\, K M \log M)"),  # T! outgrows T² and T
        ],
    )
    def test_a_bound_that_contains_the_reference_is_valid_not_tight(self, pid: str, answer: str) -> None:
        v = _judge(pid, answer)
        assert v.verdict == "incorrect" and v.diagnosis == NOT_TIGHT, v.said()
        assert "valid upper bound" in v.message and ("exponential" in v.message or "factorial" in v.message)

    @pytest.mark.parametrize(
        ("pid", "answer"),
        [
            (CACHED, r"O(2^T)"),  # M grows with T fixed: 2^T bounds nothing of KM log M
            (CACHED, r"O(K^T)"),  # K and T fixed while M grows
            (CACHED, r"O(T!)"),
            (CACHED, r"O(e^{T})"),
            (CACHED, r"O(M^K)"),  # T grows with K, M fixed
            (NO_CACHE, r"O(T! K M)"),  # misses TKM log M as M grows
            (NO_CACHE, r"O(2^T K M)"),
        ],
    )
    def test_a_bound_that_misses_a_direction_is_incorrect(self, pid: str, answer: str) -> None:
        v = _judge(pid, answer)
        assert v.verdict == "incorrect" and v.diagnosis == "a different growth", v.said()

    def test_theta_of_an_exponential_does_not_hold(self) -> None:
        v = _judge(CACHED, r"\Theta(M^T)")
        assert v.verdict == "incorrect" and v.diagnosis == "too large a bound", v.said()

    def test_hidden_reference_is_not_named(self) -> None:
        v = _judge(CACHED, r"O(2^T)", hide=True)
        assert v.verdict == "incorrect" and "log(M)" not in v.said() and "reference O" not in v.said(), v.said()

"""Issue 23, the red team's remaining readings: choices, numbers, bigO bounds and traces.

Every expected verdict is decided here, never read from the checker:
- the beams by a beam search and a brute force written below from the table the statement prints
  (the statement is checked to print it);
- the explosion condition by powers of a linear RNN's recurrent matrix (numpy);
- the numbers with torch (the cross-entropy of an untrained classifier, autograd of f) or arithmetic;
- each bigO bound by the argument in its comment (a = O(b) when a/b stays bounded as every size
  grows, K ≤ M), and the polynomial ones also numerically, by the ratio along growing sizes;
- each trace's values, tangents and adjoints with torch (jvp and autograd) on the homework's f.
"""

from __future__ import annotations

import math
from itertools import product

import numpy as np
import pytest

from dlverify import registry
from dlverify.checking.judge import judge, judge_problem
from dlverify.views import item_view

# ---- beam search, from the statement's table -------------------------------------------------------

VOCAB = ("neural", "network")
K = 2
FIRST = {"neural": -0.65, "network": -0.73}
AFTER = {
    ("neural",): {"neural": -0.8, "network": -0.6},
    ("network",): {"neural": -0.6},
    ("neural", "network"): {"network": -0.6},
    ("network", "neural"): {"network": -0.6},
    ("neural", "neural"): {"neural": -0.01, "network": -4.6},
}
OTHER = -0.8


def _logp(prefix: tuple[str, ...], word: str) -> float:
    return FIRST[word] if not prefix else AFTER.get(prefix, {}).get(word, OTHER)


def _score(seq: tuple[str, ...]) -> float:
    return sum(_logp(seq[:k], w) for k, w in enumerate(seq))


def _beams(steps: int) -> list[tuple[str, ...]]:
    """Beam search of width K; ties go to the earlier sequence in vocabulary order."""
    beams: list[tuple[str, ...]] = [()]
    for _ in range(steps):
        candidates = [b + (w,) for b in beams for w in VOCAB]
        order = {c: tuple(VOCAB.index(w) for w in c) for c in candidates}
        beams = sorted(candidates, key=lambda c: (-round(_score(c), 9), order[c]))[:K]
    return beams


def _next_best(steps: int) -> tuple[str, ...]:
    """The best candidate the beam drops at this step (a subtly wrong member; step 1 drops none)."""
    kept = _beams(steps)
    dropped = [c for c in (b + (w,) for b in _beams(steps - 1) for w in VOCAB) if c not in kept]
    return max(dropped, key=_score)


def test_the_table_is_the_statements() -> None:
    statement = registry.problems()["beam.step2"].statement
    for text in (
        "neural −0.65, network −0.73",
        "after neural: neural −0.8, network −0.6",
        "after network: neural −0.6",
        "after neural network and after network neural: network −0.6",
    ):
        assert text in statement
    assert "after neural neural: neural −0.01, network −4.6; every other −0.8" in statement
    assert "beam width K = 2" in statement


def test_beam_search_misses_the_brute_force_best() -> None:
    best = max(product(VOCAB, repeat=3), key=_score)
    assert best == ("neural", "neural", "neural") and best not in _beams(3)


def _joined(seqs: list[tuple[str, ...]], sep: str, words: str = " ", wrap: str = "{}") -> str:
    return sep.join(wrap.format(words.join(s)) for s in seqs)


SPELLINGS = {
    "comma": lambda b: _joined(b, ", "),
    "semicolon": lambda b: _joined(b, "; "),
    "and": lambda b: _joined(b, " and "),
    "reversed": lambda b: _joined(b[::-1], ", "),
    "tuples": lambda b: _joined(b, ", ", ", ", "({})"),
    "list of tuples": lambda b: "[" + _joined(b, ", ", ", ", "({})") + "]",
    "python lists": lambda b: "[" + _joined(b, ", ", "', '", "['{}']") + "]",
    "arrows": lambda b: _joined(b, ", ", " -> "),
    "unicode arrows": lambda b: _joined(b, "; ", " → "),
}


class TestBeamSetsInOneString:
    """A single string lists the beam's sequences, as rlae.needed's string lists its options."""

    @pytest.mark.parametrize("step", [1, 2, 3])
    @pytest.mark.parametrize("spelling", sorted(SPELLINGS))
    def test_the_beams_listed_in_one_string_are_correct(self, step: int, spelling: str) -> None:
        answer = SPELLINGS[spelling](_beams(step))
        v = judge(f"beam.step{step}", answer)
        assert v.verdict == "correct", (answer, v.message)

    @pytest.mark.parametrize("step", [2, 3])
    @pytest.mark.parametrize("spelling", ["comma", "semicolon", "tuples", "python lists"])
    def test_one_sequence_swapped_for_the_best_dropped_one_is_incorrect(self, step: int, spelling: str) -> None:
        wrong = [_beams(step)[0], _next_best(step)]
        answer = SPELLINGS[spelling](wrong)
        v = judge(f"beam.step{step}", answer)
        assert v.verdict == "incorrect", (answer, v.message)
        assert "missing" in v.message and "wrongly chosen" in v.message

    @pytest.mark.parametrize("answer", ["neural", "neural, neural", "network; network"])
    def test_step_one_missing_a_word_is_incorrect(self, answer: str) -> None:
        assert set(_beams(1)) == {("neural",), ("network",)}  # width 2 keeps both words
        v = judge("beam.step1", answer)
        assert v.verdict == "incorrect" and "missing" in v.message, v.message

    def test_two_words_with_a_comma_are_one_sequence_where_the_item_asks_for_two(self) -> None:
        # "neural, network" for step 2: pieces of one word each, the whole of the item's length
        v = judge("beam.step2", "neural, network")
        assert v.verdict == "incorrect" and "missing" in v.message, v.message

    def test_pieces_of_another_length_are_each_said(self) -> None:
        v = judge("beam.step1", "neural network, network neural")
        assert v.verdict == "incorrect"
        assert "'neural network' is a length-2 sequence" in v.message
        assert "'network neural' is a length-2 sequence" in v.message

    @pytest.mark.parametrize(
        ("answer", "verdict"),
        [
            ("neural, neural, neural", "correct"),  # commas between the words of one sequence
            ("(neural, neural, neural)", "correct"),
            ("neural neural neural, neural network network", "incorrect"),  # two sequences for one choice
            ("neural, network, network", "incorrect"),  # one sequence, the beam's, not the best
        ],
    )
    def test_a_single_choice_sequence_item(self, answer: str, verdict: str) -> None:
        best = max(product(VOCAB, repeat=3), key=_score)
        assert best == ("neural", "neural", "neural")
        assert judge("beam.best_sequence", answer).verdict == verdict


class TestPrintedResultReadsBack:
    """What ``dlverify show`` prints as the result, pasted back, is the right answer."""

    @pytest.mark.parametrize("pid", ["beam.step1", "beam.step2", "beam.step3", "beam.best_sequence"])
    @pytest.mark.parametrize("hide", [False, True])
    def test_the_printed_result_is_correct(self, pid: str, hide: bool) -> None:
        problem = registry.problems()[pid]
        printed = item_view(problem, None).results[0].plain
        steps = int(pid[-1]) if pid[-1].isdigit() else 0
        if steps:  # the printed beams are the beams of the independent search
            assert {tuple(s.split()) for s in printed.split(", ")} == set(_beams(steps))
        v = judge_problem(problem, printed, hide_reference=hide)
        assert v.verdict == "correct", (printed, v.message)


class TestNestedLists:
    """TOML's nested list, a list of word lists, is the set of sequences."""

    @pytest.mark.parametrize("step", [1, 2, 3])
    def test_word_lists_are_sequences(self, step: int) -> None:
        beams = [list(s) for s in _beams(step)]
        assert judge(f"beam.step{step}", beams).verdict == "correct"
        assert judge(f"beam.step{step}", beams[::-1]).verdict == "correct"
        mixed = [" ".join(beams[0]), beams[1]]  # a string and a word list
        assert judge(f"beam.step{step}", mixed).verdict == "correct"

    @pytest.mark.parametrize("step", [2, 3])
    def test_a_wrong_word_list_is_incorrect(self, step: int) -> None:
        wrong = [list(_beams(step)[0]), list(_next_best(step))]
        assert judge(f"beam.step{step}", wrong).verdict == "incorrect"

    def test_a_word_list_of_another_length_is_said(self) -> None:
        v = judge("beam.step2", [["neural", "network"], ["network"]])
        assert v.verdict == "incorrect" and "'network' is a length-1 sequence" in v.message

    @pytest.mark.parametrize("pid", ["rlae.needed", "rnn.explode_condition"])
    def test_other_items_take_no_nested_list(self, pid: str) -> None:
        assert judge(pid, [["SGD"], ["weight decay"]]).verdict == "unparsed"


# ---- relations in a choice --------------------------------------------------------------------------


def _growth(rho: float, steps: int = 60) -> float:
    """‖(Wᵀ)^steps‖ for a recurrent matrix of spectral radius rho (∂L/∂h_t of a linear RNN)."""
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    w = q @ np.diag([rho, 0.5 * rho, -0.3 * rho, 0.2]) @ q.T
    return float(np.linalg.norm(np.linalg.matrix_power(w.T, steps), 2))


class TestRelationsKeepTheirMeaning:
    """≠, ≤, ≥ and their TeX spellings are never read as =, or as a bare number, and the message echoes
    the answer as written."""

    def test_the_key_is_spectral_radius_above_one(self) -> None:
        assert _growth(1.1) > 100 and 0.5 < _growth(1.0) < 2 and _growth(0.9) < 0.01

    @pytest.mark.parametrize(
        ("answer", "echo"),
        [
            ("spectral radius != 1", "!="),
            ("spectral radius ≠ 1", "≠"),
            (r"spectral radius \neq 1", r"\neq"),
            (r"spectral radius \ne 1", r"\ne"),
            ("spectral radius ≤ 1", "≤"),
            (r"spectral radius \leq 1", r"\leq"),
            ("spectral radius <= 1", "<="),
            ("spectral radius ≥ 1", "≥"),
            (r"spectral radius \geq 1", r"\geq"),
        ],
    )
    def test_a_relation_that_is_no_option_is_not_an_option(self, answer: str, echo: str) -> None:
        # ≠ 1 holds for ρ = 0.9 (no explosion) and ≤ 1 / ≥ 1 include ρ = 1 (bounded): none is the key
        assert _growth(0.9) < 1 and _growth(1.0) < 2
        v = judge("rnn.explode_condition", answer)
        assert v.verdict == "unparsed", v.message
        said = v.message.split("; the options are")[0]
        assert "wrongly chosen" not in v.message and "radius = 1" not in said
        assert echo in said, v.message

    @pytest.mark.parametrize(
        ("answer", "verdict"),
        [
            ("spectral radius > 1", "correct"),
            (r"spectral radius \gt 1", "correct"),
            ("Spectral Radius >1", "correct"),
            ("spectral radius = 1", "incorrect"),
            ("spectral radius < 1", "incorrect"),
            (r"spectral radius \lt 1", "incorrect"),
        ],
    )
    def test_the_options_relations_still_read(self, answer: str, verdict: str) -> None:
        assert _growth(1.1) > 100  # only ρ > 1 explodes
        assert judge("rnn.explode_condition", answer).verdict == verdict


# ---- numbers ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def initial_loss() -> float:
    """The cross-entropy of an untrained 4-class classifier (zero logits), measured with torch."""
    torch = pytest.importorskip("torch")
    logits = torch.zeros(8, 4, dtype=torch.float64)
    labels = torch.arange(8) % 4
    return float(torch.nn.functional.cross_entropy(logits, labels))


@pytest.fixture(scope="module")
def df_dx2() -> float:
    """∂f/∂x2 of f = (x1 x2 sin x3 + e^{x1 x2}) / x3 at (1, 1.5, 2), by torch autograd."""
    torch = pytest.importorskip("torch")
    x = torch.tensor([1.0, 1.5, 2.0], dtype=torch.float64, requires_grad=True)
    f = (x[0] * x[1] * torch.sin(x[2]) + torch.exp(x[0] * x[1])) / x[2]
    (grad,) = torch.autograd.grad(f, x)
    return float(grad[1])


ACCURACY = 1 / 4  # zero logits: argmax is class 0, right for a quarter of balanced labels


class TestDecimalComma:
    """One comma between digits is a decimal comma (a number item's values are never thousands)."""

    @pytest.mark.parametrize("answer", ["1,386", "1,3863", " 1,38629 ", "1,386294"])
    def test_a_decimal_comma_within_tolerance_is_correct(self, answer: str, initial_loss: float) -> None:
        assert abs(float(answer.replace(",", ".")) - initial_loss) <= 0.0005
        v = judge("xent.initial_loss", answer)
        assert v.verdict == "correct" and "decimal comma" in v.message, v.message

    @pytest.mark.parametrize("answer", ["1,39", "1,38", "-1,386", "1,286"])
    def test_a_decimal_comma_outside_tolerance_is_incorrect(self, answer: str, initial_loss: float) -> None:
        assert abs(float(answer.replace(",", ".")) - initial_loss) > 0.0005
        v = judge("xent.initial_loss", answer)
        assert v.verdict == "incorrect" and "decimal comma" in v.message, v.message


class TestRestatedValues:
    """A value with its restatement (in parentheses, after = or ≈) is read when the values agree."""

    @pytest.mark.parametrize(
        "answer",
        [r"0.25 (25\%)", r"0.25 \left(25\%\right)", r"25\% (0.25)", r"\frac{1}{4} = 25\%", r"\frac14 = 0.25 = 25\%"],
    )
    def test_agreeing_restatements_of_the_accuracy(self, answer: str) -> None:
        v = judge("xent.initial_accuracy", answer)
        assert v.verdict == "correct", v.message
        assert "agreeing" in v.message

    @pytest.mark.parametrize(
        "answer", [r"\log 4 \approx 1.386", r"\log 4 ≈ 1.3863", "1.386 (\\log 4)", r"\ln 4 = 1,386"]
    )
    def test_agreeing_restatements_of_the_loss(self, answer: str, initial_loss: float) -> None:
        assert abs(math.log(4) - initial_loss) < 1e-12
        assert judge("xent.initial_loss", answer).verdict == "correct"

    @pytest.mark.parametrize(
        ("answer", "shown"),
        [
            (r"0.25 (30\%)", "0.25"),
            (r"\frac{1}{4} = 0.4", "0.4"),
            (r"0.2 (25\%)", "25"),  # 0.25 is 0.2 only to one decimal rounded down: it is not restated
            (r"\frac{1}{4} = 0.3", "0.3"),
        ],
    )
    def test_values_that_differ_are_unparsed_with_why(self, answer: str, shown: str) -> None:
        v = judge("xent.initial_accuracy", answer)
        assert v.verdict == "unparsed" and "differ" in v.message and shown in v.message, v.message

    def test_an_agreeing_restatement_of_a_wrong_value_is_incorrect(self) -> None:
        assert abs(0.3 - ACCURACY) > 0.005
        assert judge("xent.initial_accuracy", r"0.3 (30\%)").verdict == "incorrect"

    @pytest.mark.parametrize(
        ("answer", "verdict"),
        [
            (r"\frac{1}{2}(\sin 2 + e^{1.5})", "correct"),  # a parenthesis that restates nothing: a product
            (r"0.5 (\sin(2) + e^{1.5})", "correct"),
            (r"\frac{1}{2}(\sin 2 + e^{2})", "incorrect"),  # ½(sin 2 + e²) = 4.15
            (r"\frac{\sin 2 + e^{1.5}}{2} \approx 2.6955", "correct"),
            (r"2.6955 (\frac{\sin 2 + e^{1.5}}{2})", "correct"),
            (r"\frac{\sin 2 + e^{1.5}}{2} \approx 2.9", "unparsed"),  # 0.2 apart, more than the rounding shown
            (r"\frac{\sin 2 + e^{2}}{2} \approx 4.1", "incorrect"),  # agreeing, and both wrong
        ],
    )
    def test_products_and_restatements_of_the_derivative(self, answer: str, verdict: str, df_dx2: float) -> None:
        assert abs(0.5 * (math.sin(2) + math.exp(1.5)) - df_dx2) < 1e-12
        assert abs(0.5 * (math.sin(2) + math.exp(2)) - 4.1) < 0.05
        v = judge("autodiff.df_dx2", answer)
        assert v.verdict == verdict, v.message


# ---- bigO ---------------------------------------------------------------------------------------------

CACHED, NO_CACHE = "beam.complexity", "beam.complexity_no_cache"


def _cached(t: float, k: float, m: float) -> float:
    return t * k * m * math.log(m)


def _no_cache(t: float, k: float, m: float) -> float:
    return t * t * k * m + t * k * m * math.log(m)


# (T, K, M) = (n^a, n^b, n^c) with K ≤ M: every size grows, at several relative rates
PATHS = [(a, b, c) for a in (0.5, 1, 2) for b in (0.5, 1) for c in (1, 2) if b <= c]


def _same_growth(f, g, bound: float = 8.0) -> bool:
    """f/g stays within [1/bound, bound] along every path, at sizes up to 2^40."""
    for a, b, c in PATHS:
        for e in (10, 20, 40):
            n = 2.0**e
            r = f(n**a, n**b, n**c) / g(n**a, n**b, n**c)
            if not 1 / bound <= r <= bound:
                return False
    return True


class TestNegativeLowerOrderTerms:
    """A negative term that vanishes beside a positive one leaves the positive terms' growth."""

    @pytest.mark.parametrize(
        ("answer", "f"),
        [
            # T(T−1)/2 KM = T²KM/2 − TKM/2, and TKM/T²KM = 1/T → 0
            (r"O(\frac{T(T-1)}{2}KM + TKM\log M)", lambda t, k, m: t * (t - 1) / 2 * k * m + t * k * m * math.log(m)),
            (
                r"O(\frac{T^2 - T}{2} K M + T K M \log M)",
                lambda t, k, m: (t * t - t) / 2 * k * m + t * k * m * math.log(m),
            ),
            (r"O(\frac{T(T+1)}{2}KM + TKM\log M)", lambda t, k, m: t * (t + 1) / 2 * k * m + t * k * m * math.log(m)),
            # Σ_{t=1}^{T} t = T(T+1)/2
            (r"O(\sum_{t=1}^{T} tKM + TKM\log M)", lambda t, k, m: t * (t + 1) / 2 * k * m + t * k * m * math.log(m)),
            # −TKM beside +TKM log M: TKM / TKM log M = 1/log M → 0
            (r"O(T^2KM + TKM\log M - TKM)", lambda t, k, m: t * t * k * m + t * k * m * (math.log(m) - 1)),
            # max(a, b) ≤ a + b ≤ 2 max(a, b)
            (r"O(TKM\max(T, \log M))", lambda t, k, m: t * k * m * max(t, math.log(m))),
        ],
    )
    def test_the_no_cache_cost_written_with_a_difference(self, answer: str, f) -> None:
        assert _same_growth(f, _no_cache)
        v = judge(NO_CACHE, answer)
        assert v.verdict == "correct", v.message

    @pytest.mark.parametrize(
        ("answer", "f"),
        [
            # TM log M / TKM log M = 1/K → 0 as K grows
            (r"O(TKM\log M - TM\log M)", lambda t, k, m: t * (k - 1) * m * math.log(m)),
            (r"O(TKM\log M - TK)", lambda t, k, m: t * k * m * math.log(m) - t * k),
        ],
    )
    def test_the_cached_cost_written_with_a_difference(self, answer: str, f) -> None:
        assert _same_growth(f, _cached)
        assert judge(CACHED, answer).verdict == "correct"

    def test_a_rational_form_missing_a_term_is_incorrect(self) -> None:
        # T(T−1)/2·KM alone misses TKM log M where log M outgrows T: its ratio to the cost is
        # ((T − 1)/2) / (T + log M), → 0 along T = n, M = e^{n²}
        for n in (10.0, 100.0, 1000.0):
            assert ((n - 1) / 2) / (n + n * n) < 1 / n
        v = judge(NO_CACHE, r"O(\frac{T(T-1)}{2}KM)")
        v = judge(NO_CACHE, r"O(\frac{T(T-1)}{2}KM)")
        assert v.verdict == "incorrect" and "slower" in v.message, v.message

    @pytest.mark.parametrize(
        ("pid", "answer"),
        [
            # T²KM − TKM log M is negative once log M > T: no cost
            (NO_CACHE, r"O(T^2KM - TKM\log M)"),
            # TM log M − TK log K is 0 at K = M, which K ≤ M allows: it cancels
            (CACHED, r"O(TM\log M - TK\log K)"),
        ],
    )
    def test_a_negative_term_that_can_cancel_is_refused(self, pid: str, answer: str) -> None:
        t, m = 4, 2.0**100  # K = 1: T²KM − TKM log M < 0
        assert t * t * m - t * m * math.log(m) < 0
        v = judge(pid, answer)
        assert v.verdict == "unparsed" and "negative term" in v.message, v.message


class TestSumsOfBounds:
    """O(a) + O(b) is O(a + b); c·O(a) is O(ca)."""

    @pytest.mark.parametrize(
        "answer",
        [
            r"O(T^2KM) + O(TKM\log M)",
            r"O(T^2 K M) + O(T K M \log M)",
            r"\mathcal{O}(T^2KM) + \mathcal{O}(TKM\log M)",
            r"O(TKM\log M) + O(T^2KM)",
            r"T \cdot O(TKM) + O(TKM\log M)",
            r"O(T^2KM) + \Theta(TKM\log M)",  # a Θ term is also O: the sum is an upper bound
        ],
    )
    def test_a_sum_of_o_terms_is_read_as_one_bound(self, answer: str) -> None:
        assert _same_growth(lambda t, k, m: t * t * k * m + t * k * m * math.log(m), _no_cache)
        assert judge(NO_CACHE, answer).verdict == "correct"

    @pytest.mark.parametrize(
        ("answer", "why"),
        [
            (r"O(T^2KM) + O(TKM)", "slower"),  # misses log M where it outgrows T
            (r"O(TKM) + O(KM\log M)", "slower"),  # misses the T² and the T·log M
            (r"O(T^3KM) + O(TKM\log M)", "not tight"),  # T³KM / T²KM = T → ∞
        ],
    )
    def test_a_sum_of_wrong_o_terms_is_incorrect(self, answer: str, why: str) -> None:
        v = judge(NO_CACHE, answer)
        assert v.verdict == "incorrect" and why in v.message, v.message

    def test_omega_mixed_with_o_states_no_bound(self) -> None:
        v = judge(NO_CACHE, r"\Omega(T^2KM) + O(TKM\log M)")
        assert v.verdict == "unparsed" and "Ω" in v.message


class TestLogarithmSpellings:
    """``log`` glued into a run of sizes, ``\\lg``, ``\\log\\log``: the logarithm of the next factor."""

    @pytest.mark.parametrize(
        "answer",
        [
            "O(TKMlogM)",
            "O(TKM logM)",
            "O(TKMlog M)",
            "O(KMTlnM)",
            r"O(TKM\lg M)",  # log₂ M = log M / log 2: a constant factor
            "O(TKM lg M)",
            "O(TKMlgM)",
        ],
    )
    def test_the_cached_cost_spelled_with_a_plain_log(self, answer: str) -> None:
        assert judge(CACHED, answer).verdict == "correct"

    @pytest.mark.parametrize(
        ("answer", "why"),
        [
            ("O(TKMlogK)", "slower"),  # log K ≤ log M, and log K / log M → 0 along K = log M
            (r"O(TKM\log\log M)", "slower"),  # log log M / log M → 0
            ("O(TKM log log M)", "slower"),
            (r"O(TKM\log M \log\log M)", "not tight"),  # log log M → ∞
            (r"O(TKM\log^2 M)", "not tight"),
            (r"O(TKM\lg\lg M)", "slower"),
        ],
    )
    def test_wrong_logarithms_are_incorrect(self, answer: str, why: str) -> None:
        m = 2.0**64
        assert math.log(math.log(m)) < math.log(m)  # log log M below log M at the sizes of any input
        v = judge(CACHED, answer)
        assert v.verdict == "incorrect" and why in v.message, v.message

    def test_log_k_is_not_log_m(self) -> None:
        # along K = log M (K ≤ M): TKM log K / TKM log M = log log M / log M → 0
        assert [round(math.log(math.log(m)) / math.log(m), 3) for m in (1e10, 1e100, 1e300)] == [0.136, 0.024, 0.009]


class TestThetaWhereOIsAsked:
    """A Θ bound of the reference's growth is read as the same bound, and the message says so."""

    @pytest.mark.parametrize("answer", ["Θ(TKM log M)", r"\Theta(TKM \log M)", "Θ(TKMlogM)", r"Θ(KMT\log_2 M)"])
    def test_theta_of_the_tight_cost(self, answer: str) -> None:
        v = judge(CACHED, answer)
        assert v.verdict == "correct", v.message
        assert "Θ bound, read as the same bound" in v.message

    @pytest.mark.parametrize(
        ("answer", "diagnosis"),
        [("Θ(TKM)", "too small a bound"), (r"Θ(TKM\log^2 M)", "too large a bound"), ("Θ(T^2KM)", "a different growth")],
    )
    def test_theta_of_another_growth_is_incorrect(self, answer: str, diagnosis: str) -> None:
        # TKM/TKM log M → 0; TKM log²M is not O(TKM log M), so Θ of it is false; T vs log M: neither
        v = judge(CACHED, answer)
        assert v.verdict == "incorrect" and v.diagnosis == diagnosis, v.message

    def test_an_error_points_into_the_answer_as_written(self) -> None:
        v = judge(CACHED, r"Θ(TKM \lg M +)")
        assert v.verdict == "unparsed"
        lines = v.message.splitlines()
        assert lines[1].strip() == r"Θ(TKM \lg M +)"
        assert lines[2].index("^") == lines[1].index(")", 4)


# ---- traces -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nodes():
    """The homework's decomposition, its values, tangents along x2 (torch.func.jvp) and adjoints
    (torch.autograd), each node as a function of the inputs."""
    torch = pytest.importorskip("torch")
    from torch.func import jvp

    fns = {
        1: lambda x: x[0] * x[1],
        2: lambda x: torch.sin(x[2]),
        3: lambda x: x[0] * x[1] * torch.sin(x[2]),
        4: lambda x: torch.exp(x[0] * x[1]),
        5: lambda x: x[0] * x[1] * torch.sin(x[2]) + torch.exp(x[0] * x[1]),
        6: lambda x: (x[0] * x[1] * torch.sin(x[2]) + torch.exp(x[0] * x[1])) / x[2],
    }
    point = torch.tensor([1.0, 1.5, 2.0], dtype=torch.float64)
    direction = torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64)
    values, tangents = {}, {}
    for i, fn in fns.items():
        value, tangent = jvp(fn, (point,), (direction,))
        values[i], tangents[i] = float(value), float(tangent)
    # adjoints: f as a function of each node's value, through the graph v3 = v1 v2, v4 = e^{v1}, …
    v = {-2: point[0].clone(), -1: point[1].clone(), 0: point[2].clone()}
    for t in v.values():
        t.requires_grad_(True)
    v[1] = v[-2] * v[-1]
    v[2] = torch.sin(v[0])
    v[3] = v[1] * v[2]
    v[4] = torch.exp(v[1])
    v[5] = v[3] + v[4]
    v[6] = v[5] / v[0]
    order = list(v)
    grads = torch.autograd.grad(v[6], [v[i] for i in order], allow_unused=True)
    adjoints = {i: (1.0 if i == 6 else float(g) if g is not None else 0.0) for i, g in zip(order, grads, strict=True)}
    # autograd's gradient at an intermediate node is its adjoint (∂f/∂v_i, the others downstream of it)
    return values, tangents, adjoints


DEFINITIONS = {1: "v_{-2} v_{-1}", 2: r"\sin(v_0)", 3: "v_1 v_2", 4: r"\exp(v_1)", 5: "v_3 + v_4", 6: "v_5 / v_0"}


def _forward(nodes, definitions=DEFINITIONS, value_prefix="", tangent_prefix="", def_prefix="") -> dict:
    values, tangents, _ = nodes
    return {
        f"v{i}": f"{def_prefix.format(i=i)}{d} | {value_prefix.format(i=i)}{values[i]:.4f} | "
        f"{tangent_prefix.format(i=i)}{tangents[i]:.4f}"
        for i, d in definitions.items()
    }


class TestTraceLeftSides:
    """A part may restate its node: ``v_1 = …`` in a definition, ``\\dot v_1 = …`` before a tangent."""

    @pytest.mark.parametrize(
        ("def_prefix", "value_prefix", "tangent_prefix"),
        [
            ("v_{i} = ", "", ""),
            ("v{i} = ", "", ""),
            ("v_{{{i}}} = ", "", ""),
            ("v_{i} := ", "", ""),
            (r"v_{i} \coloneqq ", "", ""),
            ("v_{i} = ", "v_{i} = ", r"\dot v_{i} = "),
            ("", "", r"\dot{{v}}_{i} = "),
            ("", "", r"\dot{{v_{i}}} = "),
        ],
    )
    def test_a_left_side_naming_the_node_is_read(self, nodes, def_prefix, value_prefix, tangent_prefix) -> None:
        table = _forward(nodes, def_prefix=def_prefix, value_prefix=value_prefix, tangent_prefix=tangent_prefix)
        v = judge("autodiff.forward_trace", table)
        assert v.verdict == "correct", (table["v1"], v.message)

    def test_a_left_side_does_not_hide_a_wrong_tangent(self, nodes) -> None:
        table = _forward(nodes, def_prefix="v_{i} = ")
        values, tangents, _ = nodes
        table["v4"] = rf"v_4 = \exp(v_1) | {values[4]:.4f} | {tangents[4] + 1:.4f}"
        v = judge("autodiff.forward_trace", table)
        assert v.verdict == "incorrect" and v.entries["v4"].verdict == "incorrect", v.message
        assert "wrong tangent" in v.entries["v4"].message

    def test_a_left_side_naming_another_node_is_incorrect(self, nodes) -> None:
        table = _forward(nodes)
        values, tangents, _ = nodes
        table["v4"] = rf"v_3 = \exp(v_1) | {values[4]:.4f} | {tangents[4]:.4f}"
        v = judge("autodiff.forward_trace", table)
        assert v.entries["v4"].verdict == "incorrect" and "names v3, not v4" in v.entries["v4"].message

    def test_entries_none_of_which_reads_are_not_said_to_be_missing(self, nodes) -> None:
        table = {k: "x = " + s for k, s in _forward(nodes).items()}
        v = judge("autodiff.forward_trace", table)
        assert v.verdict == "unparsed"
        assert "no node entries" not in v.message and "no node entry could be read: v1:" in v.message

    def test_a_reverse_trace_with_adjoint_left_sides(self, nodes) -> None:
        values, _, adjoints = nodes
        table = {
            f"v{i}": rf"v_{i} = {d} | {values[i]:.4f} | \bar v_{i} = {adjoints[i]:.4f}" for i, d in DEFINITIONS.items()
        }
        table |= {"v-2": f"{adjoints[-2]:.4f}", "v-1": f"{adjoints[-1]:.4f}", "v0": rf"\bar v_0 = {adjoints[0]:.4f}"}
        v = judge("autodiff.reverse_trace", table)
        assert v.verdict == "correct", v.message


class TestListedSpellingsInADefinition:
    """``v-2``, a spelling the item lists for the input v_{-2}, names that input inside a definition too
    (a bare v names nothing, so v − 2 has no other reading)."""

    @pytest.mark.parametrize(
        "first",
        ["v-2 v-1", "v−2 v−1", r"v-2 \cdot v-1", "v-2v-1", "v-2 * v-1", "x1 x2", "v_{-2} v-1"],
    )
    def test_the_input_spelled_as_listed(self, nodes, first: str) -> None:
        table = _forward(nodes, definitions=DEFINITIONS | {1: first, 2: r"\sin(v0)", 6: "v_5 / v0"})
        v = judge("autodiff.forward_trace", table)
        assert v.verdict == "correct", v.message

    def test_a_wrong_input_spelled_as_listed_is_incorrect(self, nodes) -> None:
        # v-1 v0 = x2 x3 = 3, not the 1.5 stated (the homework's v1 = x1 x2)
        assert 1.5 * 2.0 != nodes[0][1]
        table = _forward(nodes, definitions=DEFINITIONS | {1: "v-1 v0"})
        v = judge("autodiff.forward_trace", table)
        assert v.entries["v1"].verdict == "incorrect" and "wrong value" in v.entries["v1"].message

    def test_a_node_minus_a_number_stays_a_difference(self, nodes) -> None:
        values, tangents, _ = nodes
        table = _forward(nodes)
        table["v7"] = f"v_6 - 2 | {values[6] - 2:.4f} | {tangents[6]:.4f}"  # d(v6 − 2) = dv6
        v = judge("autodiff.forward_trace", table)
        assert v.entries["v7"].verdict == "correct", v.entries["v7"].message
        assert "not f" in v.message  # the last node is now f − 2

    def test_an_error_points_into_the_definition_as_written(self, nodes) -> None:
        table = _forward(nodes, definitions=DEFINITIONS | {1: "v-2 v-1 +"})
        message = judge("autodiff.forward_trace", table).entries["v1"].message
        lines = message.splitlines()
        assert lines[1].strip() == "v-2 v-1 +" and lines[2].index("^") == len(lines[1])

"""Grading that depends on neither luck nor load (issue 21).

Load: the time limit is CPU time, so an answer that waits for a core (simulated here by stopping
its worker with SIGSTOP: wall time passes, no CPU time does) gets the verdict it gets on an idle
machine, and an answer that is really too costly gets its own verdict, ``timeout``, never a silent
``incorrect``.  Luck: reals are drawn with large prime denominators, so 420w is no integer and
sin(420πw) no 0, and 50-digit values are compared relatively, so e^-100 is not 0 next to w³.
"""

from __future__ import annotations

import json
import os
import random
import signal
import threading
import time
from pathlib import Path

import pytest
import sympy as sp

from dlverify.checking import points
from dlverify.checking.answers import Graded, gradescope
from dlverify.checking.judge import judge
from dlverify.checking.pool import CheckerPool, cpu_seconds, wall_backstop
from dlverify.checking.verdict import VERDICTS, Verdict
from dlverify.cli import main

ITEM = "scalar_rnn.dy_dp"  # reference w³
SLOW = r"\sum_{a=1}^{1000} \sum_{b=1}^{1000} \sum_{c=1}^{1000} u_a"  # minutes of SymPy
linux_only = pytest.mark.skipif(not Path(f"/proc/{os.getpid()}/stat").exists(), reason="CPU time is read from /proc")


# ---- luck: the points drawn and the comparison ----------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [r"w^3 + \sin(420\pi w)", r"w^3 + 420w - \lfloor 420w \rfloor", "w^3 + e^{-100}"],
    ids=["sin(420πw) vanishes at q ≤ 7", "420w is an integer at q ≤ 7", "an absolute 1e-30 tolerance"],
)
def test_terms_that_vanish_only_at_the_old_points_are_incorrect(answer: str) -> None:
    verdict = judge(ITEM, answer)
    assert verdict.verdict == "incorrect", verdict
    assert verdict.counterexample and "w" in verdict.counterexample.at


@pytest.mark.parametrize(
    "answer",
    [
        "w^3",
        r"w \cdot w^2",
        r"\frac{w^4}{w}",
        r"(w^{3/2})^2",
        r"\exp(3\log(w))",
        r"w^3 + \sin(w)^2 + \cos(w)^2 - 1",  # cancels to 0 in 50 digits: 0.e-160 is 0
        r"w^3 e^{w} e^{-w}",
        r"w^3 + \log((10^{1000})^{5}) - 5000\log(10)",
        r"w^3 + \sin(2\pi)",
        r"w^3 + 10^{200}(\cos(10^{-300})^2 + \sin(10^{-300})^2 - 1)",  # resolved, not 0 ± 10^k
        r"w^3 + \tanh(w) - \frac{e^{2w} - 1}{e^{2w} + 1}",
    ],
)
def test_equivalent_forms_stay_correct(answer: str) -> None:
    verdict = judge(ITEM, answer)
    assert verdict.verdict == "correct", verdict


@pytest.mark.parametrize(
    ("problem_id", "answer"),
    [
        (ITEM, r"42 + e^{e^{10}}(1-\cos(10^{-300}))"),  # 50 digits say 0 ± 10^9400: "equal" to anything
        (ITEM, r"10^{300}(\sqrt{2+10^{-300}}-\sqrt{2})"),  # ≈ 0.354, unresolved in 50 digits
        ("scalar_rnn.dy_dw", r"0 + e^{e^{10}}(1-\cos(10^{-300}))"),
        (ITEM, r"w^3 + e^{-200}"),  # below any relative tolerance of two rounded values
        (ITEM, r"w^3 + \exp(-1000)"),
        (ITEM, r"w^3 e^{10^{-47}}"),
        (ITEM, r"w^3 + 10^{-50}\sin(w)"),
    ],
    ids=["unresolved huge", "unresolved 0.354", "unresolved on dy_dw", "e^-200", "e^-1000", "factor", "10^-50 sin"],
)
def test_a_difference_rounding_hides_is_found_exactly(problem_id: str, answer: str) -> None:
    """The two values are compared through their exact difference, evaluated with precision
    tracking: a certified nonzero difference is a difference however small, and one that evalf
    cannot resolve is never taken as equal."""
    verdict = judge(problem_id, answer)
    assert verdict.verdict == "incorrect", verdict


@pytest.mark.parametrize(
    "answer",
    [
        r"w^3 + 1000 (1 - \lceil 10^{6} w \rceil + \lfloor 10^{6} w \rfloor)",  # 0 where 10⁶w is no integer
        r"w^3 + \lceil w \rceil - \lfloor w \rfloor - 1",  # 0 except at integers
    ],
    ids=["large denominators", "integers"],
)
def test_terms_that_vanish_at_large_denominators_are_incorrect(answer: str) -> None:
    """A few points have small denominators (an integer one among them): a term built to vanish at
    the large prime denominators does not vanish there."""
    verdict = judge(ITEM, answer)
    assert verdict.verdict == "incorrect", verdict


def test_spaces_do_not_reroll_a_tiny_term_into_correct() -> None:
    verdicts = {judge(ITEM, "w^3 + e^{-108}" + " " * k).verdict for k in range(12)}
    assert verdicts == {"incorrect"}


def test_reals_have_large_prime_denominators() -> None:
    from dlverify import registry

    problem = registry.problems()[ITEM]
    rng = random.Random(0)
    for _ in range(20):
        point = points.draw(problem, rng)
        reals = [v for v in point.values.values() if not v.is_Integer]
        assert reals
        for value in reals:
            # in lowest terms with a prime q ≥ 10^6: no multiplier an answer can write makes it whole
            assert value.q >= points.DENOMINATORS[0] and sp.isprime(value.q), value
            assert (420 * value).q == value.q


def test_sequences_and_decay_rates_keep_their_domains() -> None:
    rng = random.Random(1)
    point = points.Point({}, rng, {}, {"s": ("descending",), "u": ("positive",)})
    descending = [point.entry(sp.Symbol("s"), k) for k in range(1, 65)]
    assert all(a > b > 0 for a, b in zip(descending, descending[1:], strict=False))
    assert all(point.entry(sp.Symbol("u"), k) > 0 for k in range(1, 50))
    rates = [points._rational(rng, low=0.05, high=0.95) for _ in range(200)]
    assert all(0.05 < r < 0.95 and r.q >= points.DENOMINATORS[0] for r in rates)


@pytest.mark.parametrize("problem_id", ["lae.min_loss", "rlae.min_loss"])
def test_the_points_of_an_answer_with_a_summation_index_are_distinct_draws(problem_id: str) -> None:
    # the i of Σ_i is no free index: iterating it gave m copies of a point, so 12 "points" were 3 draws
    # (k = m in all 3 made a sum that ends at m - 1 equal to the reference)
    from dlverify import registry
    from dlverify.checking.expressions import POINTS, _points

    problem = registry.problems()[problem_id]
    drawn = _points(problem, problem.derive().result, random.Random(2))
    first = [point for (point, _want), _ in zip(drawn, range(POINTS), strict=False)]
    assert len({id(p.sequence_values) for p in first}) == POINTS  # copies of one draw share its entries


def test_the_comparison_is_relative_with_evalfs_own_uncertainty() -> None:
    w3 = sp.Rational(-136400240458386825227, 5323047328446872653)  # a w³ of the kind now drawn
    assert not points.same(sp.N(w3 + sp.exp(-100), points.DIGITS), w3)
    assert not points.same(sp.N(sp.Rational(1, 10**40) + sp.exp(-100), points.DIGITS), sp.Rational(1, 10**40))
    # rounding in the last digits is no difference, at any magnitude
    for scale in (sp.Integer(1), sp.Integer(10) ** 40, sp.Integer(10) ** -40):
        assert points.same(sp.N(scale * sp.sqrt(2), points.DIGITS), sp.N(scale * sp.sqrt(2), points.DIGITS + 5))
        assert points.same(sp.N(scale * sp.pi, points.DIGITS) * 3, sp.N(3 * scale * sp.pi, points.DIGITS))
    # evalf's "0 ± 10^-160" (one bit it could certify) equals 0, and only 0
    zero = sp.N(sp.sin(sp.Rational(1, 3)) ** 2 + sp.cos(sp.Rational(1, 3)) ** 2 - 1, points.DIGITS)
    assert zero._prec < 10 and points.same(zero, sp.Integer(0))
    assert not points.same(zero, sp.Rational(1, 10**100))
    assert not points.same(sp.N(sp.I + 1, points.DIGITS), sp.Integer(1))


# ---- load: the time limit is CPU time -------------------------------------------------------


@linux_only
def test_cpu_seconds_reads_a_process_cpu_time() -> None:
    before = cpu_seconds(os.getpid())
    end = time.process_time() + 0.3
    while time.process_time() < end:  # a busy wait: CPU time, which /proc must see
        pass
    after = cpu_seconds(os.getpid())
    assert before is not None and after is not None and after - before >= 0.2
    assert cpu_seconds(2**22 + 1) is None  # above Linux's largest pid: no such process


def _stop(pool: CheckerPool) -> int:
    """Stop (SIGSTOP) the worker that takes the next answer: it holds no core, as on a machine whose
    cores are all busy, while wall time passes."""
    pid = pool._idle[-1].process.pid
    os.kill(pid, signal.SIGSTOP)
    return pid


@linux_only
def test_a_cheap_answer_on_a_stalled_worker_is_judged_as_on_an_idle_one() -> None:
    with CheckerPool(1, timeout=1.0, ids=[ITEM]) as pool:
        pid = _stop(pool)
        resume = threading.Timer(3.0, os.kill, (pid, signal.SIGCONT))  # 3 s of wall time, 0 s of CPU
        resume.start()
        try:
            verdict = pool.check(ITEM, "w^3")
        finally:
            resume.join()
        assert verdict.verdict == "correct", verdict
        assert pool.replaced == 0


@linux_only
def test_a_worker_stopped_for_good_ends_at_the_wall_backstop_with_an_error_not_a_mark() -> None:
    assert wall_backstop(2.0) >= 30  # far above any slowdown by load
    with CheckerPool(1, timeout=1.0, ids=[ITEM], wall_limit=2.0) as pool:
        _stop(pool)
        verdict = pool.check(ITEM, "w^3")
        assert verdict.verdict == "error" and "check this answer again" in verdict.message, verdict
        assert pool.replaced == 1
        assert pool.check(ITEM, "w^3").ok  # the replacement is ready and right


def test_an_answer_too_costly_to_evaluate_is_a_timeout_not_incorrect() -> None:
    with CheckerPool(1, timeout=0.5) as pool:
        verdict = pool.check("scalar_rnn.dy_dw_general", SLOW)
        assert verdict.verdict == "timeout", verdict
        assert "could not be evaluated within 0.5 s of" in verdict.message
        assert "not known to be wrong" in verdict.message
        assert pool.replaced == 1


def test_without_proc_the_limit_is_wall_time_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    from dlverify.checking import pool as pool_module

    monkeypatch.setattr(pool_module, "cpu_seconds", lambda pid: None)
    with CheckerPool(1, timeout=0.5) as pool:
        verdict = pool.check("scalar_rnn.dy_dw_general", SLOW)
        assert verdict.verdict == "timeout" and "wall-clock time" in verdict.message, verdict


def test_a_timeout_scores_0_fails_the_exit_status_and_is_named_in_gradescope(tmp_path: Path) -> None:
    assert "timeout" in VERDICTS
    answers = tmp_path / "answers.toml"
    answers.write_text(f"['{ITEM}']\nanswer = 'w^3'\n\n['scalar_rnn.dy_dw_general']\nanswer = '{SLOW}'\n")
    results = tmp_path / "results.json"
    code = main(["check", str(answers), "--timeout", "0.5", "--gradescope", str(results)])
    assert code == 1
    tests = {t["name"]: t for t in json.loads(results.read_text())["tests"]}
    assert tests[ITEM]["score"] == 1
    slow = tests["scalar_rnn.dy_dw_general"]
    assert slow["score"] == 0 and slow["output"].startswith("timeout: could not be evaluated")
    graded = Graded([Verdict("x", "timeout", "could not be evaluated within 2 s of CPU time")])
    assert gradescope(graded)["score"] == 0 and not graded.all_correct


def test_the_worker_runs_numeric_libraries_on_one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    # CPU time is summed over the worker's threads: a BLAS pool would charge idle spinning to the answer
    from dlverify.checking import worker

    names = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    for name in names:
        monkeypatch.setenv(name, "16")  # restored after the test
    worker._one_thread()
    assert all(os.environ[name] == "1" for name in names)


@pytest.mark.parametrize("nice", [(1,), (2, 3, 4, 5, 7)], ids=["integers", "small denominators"])
def test_a_nice_point_exists_in_every_items_domain(nice: tuple[int, ...]) -> None:
    """A decay rate in (0, 1) has no integer value: its nice draw falls back to a prime denominator,
    never to an error (which would make every answer to the item an `error`)."""
    from dlverify import registry
    from dlverify.problem import Assumption

    for problem in registry.problems().values():
        if problem.kind not in ("expr", "indexed"):
            continue
        point = points.draw(problem, random.Random(0), nice=nice)
        objects = problem.derive().symbols
        for spec in problem.symbols:
            value = point.values.get(objects.get(spec.name))
            if spec.role != "real" or value is None or spec.value is not None:
                continue
            if Assumption.UNIT_INTERVAL in spec.assumptions:
                assert 0 < value < 1, (problem.id, spec.name, value)
            elif Assumption.POSITIVE in spec.assumptions:
                assert value > 0, (problem.id, spec.name, value)

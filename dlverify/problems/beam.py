"""Topic beam: the catalog's beam search by hand, against a beam search and a brute force that run
(numerics.beam); properties on random trees and an RNN language model; the cost, derived and counted."""

from __future__ import annotations

import itertools
from typing import Any

from dlverify.lazy import lazy
from dlverify.problem import AnswerSpec, Case, Check, Measurement, Problem, Property, SymbolSpec, Topic, one_case

TOPIC = Topic("beam", "Beam search: the beams, the best sequence, the cost", order=115)
DERIVED = lazy("derivations.beam")
NUMERIC = lazy("numerics.beam")
WORDS = ("neural", "network")
SETUP = (
    "Beam search over the vocabulary {neural, network}, length 3, beam width K = 2, with the catalog's "
    "log-probabilities (step 1: neural −0.65, network −0.73; after neural: neural −0.8, network −0.6; after network: "
    "neural −0.6; after neural network and after network neural: network −0.6; after neural neural: neural −0.01, "
    "network −4.6; every other −0.8). Ties go to the earlier sequence in vocabulary order."
)
EXACT = "set equality, exact"


def _catalog_model() -> Any:
    """The catalog's table as plain floats, for the search that runs."""
    table = {
        tuple(WORDS.index(w) for w in prefix): {WORDS.index(w): float(v) for w, v in row.items()}
        for prefix, row in DERIVED.TABLE.items()
    }
    return NUMERIC.table_model(table, len(WORDS), float(DERIVED.DEFAULT))


def _text(sequence: tuple[int, ...]) -> str:
    return " ".join(WORDS[v] for v in sequence)


def _tree_cases() -> Any:
    from hypothesis import strategies as st

    return st.fixed_dictionaries(
        {"seed": st.integers(0, 2**31), "V": st.integers(2, 4), "T": st.integers(1, 4), "K": st.integers(1, 6)}
    )


def _models(case: Case) -> list[tuple[str, Any]]:
    V = case["V"]
    return [
        (f"random tree (seed {case['seed']})", NUMERIC.random_tree(V, case["seed"])),
        (f"RNN language model (seed {case['seed'] % 1000})", NUMERIC.rnn_language_model(V, seed=case["seed"] % 1000)),
    ]


def _exhaustive_is_exact(case: Case) -> list[Measurement]:
    """K = V^T keeps every sequence: the beam's best is the brute force's best, and so is its whole order."""
    V, T = case["V"], case["T"]
    out = []
    for name, model in _models(case):
        beam = NUMERIC.beam_search(model, V, T, V**T)[-1]
        exact = NUMERIC.brute_force(model, V, T)
        same = [s for s, _ in beam] == [s for s, _ in exact]
        out.append(Measurement.holds(f"{name}, V = {V}, T = {T}, K = V^T: beam = brute force", same))
    return out


def _width_one_is_greedy(case: Case) -> list[Measurement]:
    V, T = case["V"], case["T"]
    out = []
    for name, model in _models(case):
        greedy: tuple[int, ...] = ()
        for _ in range(T):
            logp = list(model(greedy))
            greedy = (*greedy, max(range(V), key=lambda v: (logp[v], -v)))
        beam = NUMERIC.beam_search(model, V, T, 1)[-1][0][0]
        out.append(Measurement.holds(f"{name}: K = 1 is greedy", beam == greedy))
    return out


def _never_beats_brute_force(case: Case) -> list[Measurement]:
    V, T, K = case["V"], case["T"], case["K"]
    out = []
    for name, model in _models(case):
        found = NUMERIC.beam_search(model, V, T, K)[-1][0][1]
        best = NUMERIC.brute_force(model, V, T)[0][1]
        out.append(Measurement(f"{name}, K = {K}: beam score ≤ the best", max(0.0, found - best), 1e-12))
    return out


# Witnesses on random trees (numerics.beam.random_tree), each the first seed from 0 with the property,
# found by `python3 scripts/search_beam_witnesses.py`; the property below re-measures each one.
WITNESSES = {
    "misses the best": {"V": 2, "T": 3, "K": 2, "temperature": 1.0, "seed": 251},
    "K = 2 worse than greedy": {"V": 3, "T": 4, "narrow": 1, "wide": 2, "temperature": 2.0, "seed": 130},
    "K = 3 worse than K = 2": {"V": 3, "T": 4, "narrow": 2, "wide": 3, "temperature": 2.0, "seed": 2594},
}


def misses_best(V: int, T: int, K: int, temperature: float, seed: int) -> bool:
    model = NUMERIC.random_tree(V, seed, temperature)
    return NUMERIC.beam_search(model, V, T, K)[-1][0][0] != NUMERIC.brute_force(model, V, T)[0][0]


def wider_is_worse(V: int, T: int, narrow: int, wide: int, temperature: float, seed: int) -> bool:
    model = NUMERIC.random_tree(V, seed, temperature)
    final = {k: NUMERIC.beam_search(model, V, T, k)[-1][0][1] for k in (narrow, wide)}
    return final[wide] < final[narrow] - 1e-9


def _witnesses(case: Case) -> list[Measurement]:
    """The stored witnesses, re-measured: beam search misses the best sequence; a wider beam ends with a
    worse sequence than a narrower one, even than greedy (K = 1)."""
    out = []
    for name, w in WITNESSES.items():
        holds = misses_best(**w) if name == "misses the best" else wider_is_worse(**w)
        label = f"{name}: random tree V = {w['V']}, T = {w['T']}, temperature {w['temperature']}, seed {w['seed']}"
        out.append(Measurement.holds(label, holds))
    return out


def _step_oracle(k: int):
    return lambda case: frozenset(_text(s) for s, _ in NUMERIC.beam_search(_catalog_model(), 2, 3, 2)[k - 1])


def _sequences(length: int) -> tuple[str, ...]:
    return tuple(" ".join(s) for s in itertools.product(WORDS, repeat=length))


def _choice(*, id: str, title: str, ask: str, derive, oracle, oracle_name: str, **more) -> Problem:
    return Problem(
        id=id,
        topic="beam",
        title=title,
        kind="choice",
        statement=f"{SETUP} {ask}",
        symbols=(),
        derive=derive,
        oracle=oracle,
        oracle_name=oracle_name,
        tolerance=lambda case: 0.5,
        tolerance_note=EXACT,
        fixed_sizes="the catalog's example",
        **{"cases": one_case, **more},
    )


STEP_PROPERTIES = {
    1: (Property("K = V^T is the brute force (random trees, an RNN language model)", _exhaustive_is_exact),),
    2: (Property("K = 1 is greedy (random trees, an RNN language model)", _width_one_is_greedy),),
    3: (Property("the beam never beats the brute force", _never_beats_brute_force),),
}


def _step(k: int) -> Problem:
    return _choice(
        cases=_tree_cases,
        id=f"beam.step{k}",
        title=f"The beams after step {k}",
        ask=f"Which sequences does the beam store after step {k} (order free)?",
        derive=lambda: DERIVED.step(k),
        oracle=_step_oracle(k),
        oracle_name="numerics.beam.beam_search on the catalog's table (float64)",
        answer=AnswerSpec(options=_sequences(k), multiple=True),
        properties=STEP_PROPERTIES[k],
    )


def _returns_best_oracle(case: Case) -> frozenset[str]:
    model = _catalog_model()
    found = NUMERIC.beam_search(model, 2, 3, 2)[-1][0][0] == NUMERIC.brute_force(model, 2, 3)[0][0]
    return frozenset({"true" if found else "false"})


# ---- cost ---------------------------------------------------------------------------------------

GRIDS = {"T": (16, 32, 64, 128), "K": (2, 4, 8, 16), "M": (16, 32, 64, 128)}
BASE = {"T": 16, "K": 2, "M": 32}
SLOPE_TOLERANCE = 0.15
BOUND_TOLERANCE = 0.4  # the Θ bound drops lower-order terms, which still tilt slopes on a finite grid


def _measured_slopes(problem: Problem, case: Case) -> list[Measurement]:
    """Counted work (model operations + sort comparisons) over a grid of each size, against the derived
    total cost (c = 1) at the same sizes and against the derived Θ bound (the result): the log-log
    slopes must agree — closely with the total, and within the bound's dropped lower-order terms."""
    from dlverify.evaluation import scalar_value

    cached = problem.id == "beam.complexity"
    derivation = problem.derive()
    total = next(s.rhs for s in derivation.steps if s.lhs_text == "total")
    d = DERIVED
    symbols = {"T": d.T, "K": d.K, "M": d.M, "c": d.c}
    out = []
    for axis, grid in GRIDS.items():
        measured, exact, bound = [], [], []
        for size in grid:
            sizes = {**BASE, axis: size}
            measured.append(NUMERIC.counted_search(sizes["M"], sizes["T"], sizes["K"], cached).total)
            exact.append(scalar_value(total, symbols, {**sizes, "c": 1.0}))
            bound.append(scalar_value(derivation.result, symbols, sizes))
        slope = NUMERIC.fitted_exponent(grid, measured)
        want, theta = NUMERIC.fitted_exponent(grid, exact), NUMERIC.fitted_exponent(grid, bound)
        name = "cached" if cached else "no cache"
        out.append(
            Measurement(
                f"{name}, {axis} ∈ {grid}: counted slope {slope:.2f}, derived total {want:.2f}",
                abs(slope - want),
                SLOPE_TOLERANCE,
                want,
                slope,
            )
        )
        out.append(
            Measurement(
                f"{name}, {axis}: counted slope {slope:.2f}, Θ bound {theta:.2f}",
                abs(slope - theta),
                BOUND_TOLERANCE,
                theta,
                slope,
            )
        )
    return out


SIZES = (
    SymbolSpec("T", "T", "integer", "the sequence length"),
    SymbolSpec("K", "K", "integer", "the beam width (K ≤ M)"),
    SymbolSpec("M", "M", "integer", "the vocabulary size"),
)


def _bigo(id: str, title: str, ask: str) -> Problem:
    return Problem(
        id=id,
        topic="beam",
        title=title,
        kind="bigO",
        statement=f"Beam search of width K over a vocabulary of M words for T steps; one RNN step costs O(M) and the "
        f"top K are chosen by sorting the K·M candidates. {ask}",
        symbols=SIZES,
        derive=lambda: getattr(DERIVED, id.split(".")[1])(),
        oracle=lambda case: None,
        oracle_name="an instrumented beam search: model operations and sort comparisons counted over grids of T, K, M",
        cases=one_case,
        tolerance=lambda case: SLOPE_TOLERANCE,
        tolerance_note="log-log slopes within 0.15 of the derived cost's own slopes over the same grid",
        fixed_sizes="T, K, M on grids of 4 (the others fixed)",
        answer=AnswerSpec(order=(("K", "M"),)),
        compare=(Check("counted work grows as derived", _measured_slopes),),
    )


PROBLEMS = (
    _step(1),
    _step(2),
    _step(3),
    _choice(
        id="beam.returns_best",
        title="Does beam search return the most likely sequence?",
        ask="Does the beam search return the most likely length-3 sequence? (true/false)",
        derive=lambda: DERIVED.returns_best(),
        oracle=_returns_best_oracle,
        oracle_name="the beam's best against the brute force over all 8 sequences",
        answer=AnswerSpec(options=("true", "false")),
        properties=(Property("witnesses on random trees, searched", _witnesses),),
    ),
    _choice(
        id="beam.best_sequence",
        title="The most likely sequence",
        ask="Which length-3 sequence is the most likely overall?",
        derive=lambda: DERIVED.best_sequence(),
        oracle=lambda case: frozenset({_text(NUMERIC.brute_force(_catalog_model(), 2, 3)[0][0])}),
        oracle_name="numerics.beam.brute_force over all 8 sequences",
        answer=AnswerSpec(options=_sequences(3)),
    ),
    _bigo("beam.complexity", "Cost with cached hidden states", "With hidden states cached: the tight bound."),
    _bigo(
        "beam.complexity_no_cache",
        "Cost with hidden states recomputed",
        "With each hidden state recomputed from the start at every step.",
    ),
)

# The homework's experiment questions (issue 27), described with the others in dlverify/problems/measured.py.
from dlverify.problems import measured  # noqa: E402

PROBLEMS = (*PROBLEMS, *measured.beam_items())

"""Topic xent: the cross-entropy loss and accuracy of an untrained classifier, against torch."""

from __future__ import annotations

import sys
from typing import Any

from dlverify.lazy import lazy
from dlverify.problem import AnswerSpec, Case, Measurement, Problem, Property, Topic

TOPIC = Topic("xent", "Cross-entropy at initialisation", order=105)
DERIVED = lazy("derivations.xent")
NUMERIC = lazy("numerics.xent")
EPS = sys.float_info.epsilon
SETUP = (
    "A classifier over K classes is trained with the cross-entropy loss −log softmax(z)_y. At initialisation "
    "its logits z are uniform (all equal), the classes are balanced, and ties are broken at random."
)
STATS_NOTE = "4 standard errors over 64 networks × 8 samples per class, plus the second-order term ½·var(z)"


def _cases() -> Any:
    from hypothesis import strategies as st

    return st.fixed_dictionaries(
        {
            "seed": st.integers(0, 2**31),
            "inputs": st.integers(1, 12),
            "hidden": st.integers(1, 24),
            "per_class": st.integers(1, 16),
        }
    )


def _measure(case: Case, classes: int) -> dict[str, float]:
    return NUMERIC.zero_output_network(classes, case["inputs"], case["hidden"], case["per_class"], case["seed"])


def _any_k(entry: str):
    """The general formula (symbol K) against a zero-output network with K from 2 to 60."""

    def measure(case: Case) -> list[Measurement]:
        from dlverify.evaluation import relative_error, scalar_value

        classes = 2 + case["seed"] % 59
        general = getattr(DERIVED, f"initial_{entry}_general")()
        want = scalar_value(general.result, general.symbols, {"K": classes})
        got = _measure(case, classes)[entry]
        return [Measurement(f"K = {classes}: derived {entry}", relative_error(got, want, want), 16 * EPS, want, got)]

    return measure


def _small_weights(entry: str):
    """Small random weights everywhere (0.001 × PyTorch's init): the logits only nearly tie, so the
    mean over many networks and samples must be the derived value within its statistical error."""

    def measure(case: Case) -> list[Measurement]:
        classes = 2 + case["seed"] % 9
        stats = NUMERIC.small_init_statistics(classes)
        general = getattr(DERIVED, f"initial_{entry}_general")()
        from dlverify.evaluation import scalar_value

        want = scalar_value(general.result, general.symbols, {"K": classes})
        got = stats[entry]
        # log-sum-exp(z) = log K + mean(z) + ½ var(z) + …: the loss's mean may exceed log K by that much
        bias = stats["second_order"] if entry == "loss" else 0.0
        tol = 4 * stats[f"{entry}_se"] + bias + 16 * EPS
        label = f"K = {classes}, {stats['samples']} samples: mean {entry} − derived"
        return [Measurement(label, abs(got - want), tol, want, got)]

    return measure


def _item(entry: str, title: str, ask: str, tolerance: float) -> Problem:
    return Problem(
        id=f"xent.initial_{entry}",
        topic="xent",
        title=title,
        kind="number",
        statement=f"{SETUP} {ask}",
        symbols=(),
        derive=lambda: getattr(DERIVED, f"initial_{entry}")(),
        oracle=lambda case: _measure(case, 4)[entry],
        oracle_name="an untrained torch MLP whose output layer starts at zero: nn.CrossEntropyLoss, float64",
        cases=_cases,
        tolerance=lambda case: 16 * EPS,
        tolerance_note="16·eps relative: log-sum-exp of equal logits and one subtraction",
        answer=AnswerSpec(tolerance=tolerance),
        fixed_sizes="K = 4; K = 2…60 in the general property",
        properties=(
            Property("the general formula for any K", _any_k(entry)),
            # each case is a Monte Carlo over 64 networks: 25 random settings
            Property(f"small random initial weights ({STATS_NOTE})", _small_weights(entry), 25),
        ),
    )


PROBLEMS = (
    _item("loss", "The initial loss for K = 4", "The loss at initialisation for K = 4 classes.", 5e-4),
    _item(
        "accuracy",
        "The initial accuracy for K = 4",
        "The expected accuracy at initialisation for K = 4 classes.",
        5e-3,
    ),
)

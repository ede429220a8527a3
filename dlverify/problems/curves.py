"""Topic curves: the homework's loss curve with spikes — its cause, its height, its fixes — decided by seeded
training runs of a small classifier (numerics.curves; decisions in dlverify/experiments/curves.py)."""

from __future__ import annotations

from dlverify.lazy import lazy
from dlverify.problem import AnswerSpec, Problem, Property, Topic, one_case

TOPIC = Topic("curves", "Loss curves: spikes, their cause and their fixes", order=118)
DERIVED = lazy("derivations.curves")
EXPERIMENTS = lazy("dlverify.experiments.curves")
SETUP = (
    "A loss curve with spikes: the training loss jumps up and comes back down. Measured: a one-hidden-layer ReLU "
    "classifier (width 16; 256 for the larger model) trained by full-batch gradient descent on the cross-entropy "
    "of the 8×8 digits (scikit-learn's, 1,347 training images, standardised), 150 steps, at learning rate 3 and "
    "0.3, with a linear warm-up over 50 steps, with the gradient's norm clipped to 1, with 20 % noisy labels, and "
    "twice as long; a spike above the initial loss is a step whose loss exceeds the loss at initialisation (≈ log "
    "10) after the loss had fallen below half of it. Live: seed 0 of each condition; stored: seeds 0–4."
)
CAUSES = ("learning rate too large", "model too small", "too many epochs", "noisy labels")
FIXES = ("lower the learning rate", "gradient clipping", "learning-rate warm-up", "larger model", "more epochs")


def _item(name: str, title: str, ask: str, answer: AnswerSpec) -> Problem:
    return Problem(
        id=f"curves.{name}",
        topic=TOPIC.name,
        title=title,
        kind="choice",
        statement=f"{SETUP} {ask}",
        symbols=(),
        derive=lambda: getattr(DERIVED, name)(),
        oracle=lambda case: EXPERIMENTS.oracle(name)(case),
        oracle_name="seeded full-batch training runs of a small classifier, one per condition",
        cases=one_case,
        tolerance=lambda case: 0.5,
        tolerance_note="the key must be what the runs measured",
        fixed_sizes="7 conditions, seed 0 (stored: seeds 0–4)",
        answer=answer,
        properties=(Property("the runs, condition by condition", lambda case: EXPERIMENTS.numbers(case)),),
        recorded=lambda p: EXPERIMENTS.recorded(name)(p),
        recorded_by="python scripts/homework_experiments.py curves",
    )


PROBLEMS = (
    _item(
        "spike_cause",
        "What causes the spikes?",
        "What causes the spikes? Options: " + ", ".join(CAUSES) + ".",
        AnswerSpec(options=CAUSES),
    ),
    _item(
        "spike_above_initial",
        "Can a spike rise above the initial loss?",
        "True or false: a spike can rise above the loss at initialisation.",
        AnswerSpec(options=("true", "false")),
    ),
    _item(
        "spike_fix",
        "What removes the spikes?",
        "Which of these remove the spikes (several)? Options: " + ", ".join(FIXES) + ".",
        AnswerSpec(options=FIXES, multiple=True),
    ),
)

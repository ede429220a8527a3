"""Topic concepts: true/false statements about autoencoders, each with its reason, and the small
experiments (numerics.concepts) that decide the ones a measurement can decide."""

from __future__ import annotations

from functools import cache

from dlverify.lazy import lazy
from dlverify.problem import AnswerSpec, Case, Measurement, Problem, Property, Topic, one_case

TOPIC = Topic("concepts", "Autoencoders: true or false", order=120)
DERIVED = lazy("derivations.concepts")
NUMERIC = lazy("numerics.concepts")
STATEMENTS = {
    "ae_a": "Validation reconstruction loss is pointless, since representations are judged on downstream tasks.",
    "ae_b": "Of two variants trained on the same data, the one with the lower validation loss always does better "
    "downstream.",
    "ae_c": "The decoder is not used after pretraining (for downstream training).",
    "ae_d": "Autoencoder representations can do worse downstream than raw inputs.",
    "ae_e": "Representations can help even when pretrained on a very different data set.",
    "ae_f": "They help most when the downstream task has few labels.",
    "ae_g": "For images, masking patches beats masking single pixels.",
    "ae_h": "Masked and denoising autoencoders are vanilla ones with data augmentation.",
    "ae_i": "Noise or masking used in training must also be applied downstream.",
    "ae_j": "Autoencoders always encode into fixed-size lower-dimensional vectors.",
}
BOTH = frozenset({"true", "false"})


@cache
def _measured(experiment: str) -> dict[str, float]:
    """Each seeded experiment runs once: its decision (the oracle) and its numbers (the property) share it."""
    return getattr(NUMERIC, experiment)(0)


def _decides_b(case: Case) -> frozenset[str]:
    r = _measured("low_variance_label")  # A reconstructs better yet classifies worse: "always" is false
    return frozenset({"false"}) if r["A loss"] < r["B loss"] and r["A accuracy"] < r["B accuracy"] - 0.1 else BOTH


def _decides_d(case: Case) -> frozenset[str]:
    r = _measured("low_variance_label")  # a representation worse than raw inputs exists: "can" is true
    return frozenset({"true"}) if r["A accuracy"] < r["raw accuracy"] - 0.1 else BOTH


def _decides_f(case: Case) -> frozenset[str]:
    r = _measured("few_labels")
    gain_few = r["10 labels: codes"] - r["10 labels: raw"]
    gain_many = r["1000 labels: codes"] - r["1000 labels: raw"]
    return frozenset({"true"}) if gain_few > gain_many + 0.05 else BOTH


def _decides_i(case: Case) -> frozenset[str]:
    r = _measured("denoising")  # clean inputs downstream do at least as well: "must" is false
    return frozenset({"false"}) if r["clean accuracy"] >= r["noisy accuracy"] else BOTH


def _decides_j(case: Case) -> frozenset[str]:
    r = _measured("overcomplete")  # more code units than inputs, and it reconstructs: "always lower" is false
    return frozenset({"false"}) if r["code units"] > r["inputs"] and r["loss"] < 1e-6 * r["variance"] else BOTH


def _numbers(name: str):
    """The experiment's numbers, with the inequality that decides the statement (a measurement that
    fails if a rerun no longer shows it)."""

    def measure(case: Case) -> list[Measurement]:
        if name in ("ae_b", "ae_d"):
            r = _measured("low_variance_label")
            label = (
                f"raw inputs: accuracy {r['raw accuracy']:.3f}; autoencoder A: held-out loss {r['A loss']:.3f}, "
                f"accuracy {r['A accuracy']:.3f}; B: loss {r['B loss']:.3f}, accuracy {r['B accuracy']:.3f}"
            )
            gap = (r["raw accuracy"] if name == "ae_d" else r["B accuracy"]) - r["A accuracy"]
            return [Measurement(label + f" (gap {gap:.3f} ≥ 0.1)", 0.1 / max(gap, 1e-300), 1.0)]
        if name == "ae_f":
            r = _measured("few_labels")
            label = "; ".join(f"{k}: accuracy {v:.3f}" for k, v in r.items())
            gain = (r["10 labels: codes"] - r["10 labels: raw"]) - (r["1000 labels: codes"] - r["1000 labels: raw"])
            return [
                Measurement(label + f" (the codes' gain shrinks by {gain:.3f} ≥ 0.05)", 0.05 / max(gain, 1e-300), 1.0)
            ]
        if name == "ae_i":
            r = _measured("denoising")
            label = (
                f"codes of clean inputs: accuracy {r['clean accuracy']:.3f}; of noisy inputs: {r['noisy accuracy']:.3f}"
            )
            return [Measurement(label, max(0.0, r["noisy accuracy"] - r["clean accuracy"]), 1e-12)]
        r = _measured("overcomplete")
        label = f"{r['code units']} code units for {r['inputs']} inputs: held-out loss {r['loss']:.1e}"
        label += f" (data variance {r['variance']:.2f})"
        return [Measurement(label, r["loss"] / r["variance"], 1e-6)]

    return measure


EXPERIMENTS = {
    "ae_b": (
        _decides_b,
        "two k = 2 linear autoencoders on the same data (raw and standardised features): held-out loss and "
        "logistic-regression accuracy",
    ),
    "ae_d": (
        _decides_d,
        "a k = 2 linear autoencoder whose code misses the low-variance label direction, against raw inputs",
    ),
    "ae_f": (
        _decides_f,
        "codes of an autoencoder pretrained on unlabelled data against raw inputs, 10 and 1000 labels",
    ),
    "ae_i": (_decides_i, "a denoising linear autoencoder's codes of clean against noisy inputs, downstream accuracy"),
    "ae_j": (_decides_j, "an overcomplete linear autoencoder (14 code units for 7 inputs) and its held-out loss"),
}


def _item(name: str) -> Problem:
    decides, experiment = EXPERIMENTS.get(name, (lambda case: BOTH, ""))
    return Problem(
        id=f"concepts.{name}",
        topic="concepts",
        title=STATEMENTS[name],
        kind="choice",
        statement=f"True or false (any autoencoder kind unless stated): {STATEMENTS[name]}",
        symbols=(),
        derive=lambda: DERIVED.statement(name),
        oracle=decides,
        oracle_name=f"experiment: {experiment}" if experiment else "no experiment decides it: the argument alone",
        cases=one_case,
        tolerance=lambda case: 0.5,
        tolerance_note="the key must be what the experiment measured" if experiment else "none: an argument",
        fixed_sizes="seeded experiments (seconds)" if experiment else "-",
        answer=AnswerSpec(options=("true", "false")),
        argument_only=not experiment,
        properties=(Property("the experiment's numbers", _numbers(name)),) if experiment else (),
    )


PROBLEMS = tuple(_item(name) for name in STATEMENTS)

# The homework's experiment questions (issue 27), described with the others in dlverify/problems/measured.py.
from dlverify.problems import measured  # noqa: E402

PROBLEMS = (*PROBLEMS, *measured.concepts_items())

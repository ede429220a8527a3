"""Choice and number answers."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import sympy as sp

from dlverify.checking.answers import one_line
from dlverify.checking.expressions import typeset_text
from dlverify.checking.kinds import AnswerKind, Ask, symbols_and_table
from dlverify.checking.mutations import mutations
from dlverify.checking.parse import ParseError
from dlverify.checking.points import DIGITS
from dlverify.checking.reading import to_sympy
from dlverify.checking.verdict import Counterexample, Verdict
from dlverify.problem import Problem

TRUE = {"true", "t", "yes", "y", "correct"}
FALSE = {"false", "f", "no", "n", "incorrect"}
MAX_CHOICES = 50


def normalise(option: str) -> str:
    """Case, accents, punctuation and spacing do not matter: 'Neural  Network.' = 'neural network'."""
    text = unicodedata.normalize("NFKC", option).casefold()
    text = re.sub(r"[^\w\s<>=.+-]", " ", text)
    text = re.sub(r"\s+", " ", text).strip(" .")
    if text in TRUE:
        return "true"
    if text in FALSE:
        return "false"
    return text


def judge_choice(problem: Problem, answer: Any, ask: Ask) -> Verdict:
    label = ask.label
    if isinstance(answer, bool):  # TOML true/false
        answer = "true" if answer else "false"
    if isinstance(answer, int):  # TOML 2 for the option "2"
        answer = str(answer)
    if isinstance(answer, str):
        given = [answer]
    elif isinstance(answer, list) and all(isinstance(a, str) for a in answer) and len(answer) <= MAX_CHOICES:
        given = answer
    else:
        return Verdict(label, "unparsed", "a choice is a string (or an integer, or true/false) or a list of strings")
    options = {normalise(o): o for o in problem.answer.options}
    length = _sequence_length(options)
    words = [normalise(a) for a in given]
    if length and not problem.answer.multiple and len(words) > 1 and all(len(w.split()) == 1 for w in words):
        given = [" ".join(given)]  # ['neural', 'neural', 'neural']: one sequence written word by word
    chosen = {_as_sequence(normalise(a), options) if length else normalise(a) for a in given}
    unknown = sorted(chosen - options.keys())
    if length and unknown and all(_words(u, options) is not None for u in unknown):
        # words of the vocabulary in a sequence of another length: readable, and wrong
        said = [f"{one_line(u, 60)!r} is a length-{len(_words(u, options) or [])} sequence" for u in unknown[:5]]
        message = "; ".join(said) + f"; the item asks for length {length}"
        return Verdict(label, "incorrect", message, diagnosis="wrong sequence length")
    if unknown:
        listed = ", ".join(repr(o) for o in problem.answer.options)
        shown = ", ".join(repr(one_line(u, 40)) for u in unknown[:5]) + (
            f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        )
        return Verdict(label, "unparsed", f"not an option: {shown}; the options are {listed}")
    if len(chosen) > 1 and not problem.answer.multiple:
        return Verdict(label, "incorrect", "choose one option only")
    key = {normalise(k) for k in problem.derive().result}
    if chosen == key:
        return Verdict(label, "correct", "the right choice" + ("s" if len(key) > 1 else ""), score=1.0)
    missing, extra = key - chosen, chosen - key
    if ask.hide:
        parts = [f"{len(missing)} right option(s) missing"] if missing else []
        parts += [f"{len(extra)} chosen option(s) are wrong"] if extra else []
    else:
        parts = [f"missing: {', '.join(sorted(options[m] for m in missing))}"] if missing else []
        parts += [f"wrongly chosen: {', '.join(sorted(options[e] for e in extra))}"] if extra else []
    return Verdict(label, "incorrect", "; ".join(parts))


def _sequence_length(options: dict[str, str]) -> int:
    """The length n when the options are every length-n sequence of a vocabulary of words (a beam's
    sequences), else 0: only then is an answer made of those words a sequence to be judged."""
    split = [o.split() for o in options]
    vocabulary = {w for words in split for w in words}
    lengths = {len(words) for words in split}
    if len(lengths) != 1 or len(vocabulary) < 2 or not all(w.isalpha() for w in vocabulary):
        return 0
    n = lengths.pop()
    return n if set(options) != {"true", "false"} and len(options) == len(vocabulary) ** n else 0


def _words(text: str, options: dict[str, str]) -> list[str] | None:
    """The vocabulary words of ``text``, separators (-> , →) dropped; None if it has another word."""
    vocabulary = {w for o in options for w in o.split()}
    words = [w for w in text.split() if re.search(r"\w", w)]
    return words if words and all(w in vocabulary for w in words) else None


def _as_sequence(text: str, options: dict[str, str]) -> str:
    """'neural -> network' as the option 'neural network' (the words, in order, without separators)."""
    words = _words(text, options)
    return " ".join(words) if words else text


def judge_number(problem: Problem, answer: Any, ask: Ask) -> Verdict:
    label, hide = ask.label, ask.hide
    if isinstance(answer, bool) or not isinstance(answer, (str, int, float)):
        return Verdict(label, "unparsed", "a number is written as text or as a TOML number")
    text = answer if isinstance(answer, str) else repr(answer)
    try:
        value, unknown = to_sympy(text, problem)
    except ParseError as exc:
        return Verdict(label, "unparsed", exc.pointer())
    if unknown or value.free_symbols:
        names = ", ".join(unknown) or ", ".join(map(str, value.free_symbols))
        return Verdict(label, "incorrect", f"a number may not contain symbols ({names})")
    got = sp.N(value, DIGITS)
    want = sp.N(problem.derive().result, DIGITS)
    if not got.is_real:
        return Verdict(label, "incorrect", f"{text} is not a real number")
    tol = problem.answer.tolerance
    diff = abs(got - want)
    if diff <= tol:
        return Verdict(label, "correct", f"within {tol:g} of the reference", score=1.0)
    if hide:  # the distance and the answer give the reference away: say only that it is out of tolerance
        message = f"{sp.N(got, 8)} is further from the reference than the tolerance {tol:g}"
    else:
        message = f"{sp.N(got, 8)} is {sp.N(diff, 3)} away from the reference, more than the tolerance {tol:g}"
        message += f" (reference {sp.N(want, 8)})"
    counter = Counterexample(answer_value=float(got), reference_value=None if hide else float(want))
    # a common slip (sign, factor 2, a missing term) shows when the answer is within tolerance of a mutated reference
    diagnosis = next(
        (
            m.hint if hide else m.detail
            for m in mutations(problem.derive().result)
            if abs(got - sp.N(m.expr, DIGITS)) <= tol
        ),
        None,
    )
    if diagnosis:
        message += f"; looks like {diagnosis}"
    return Verdict(label, "incorrect", message, counterexample=counter, diagnosis=diagnosis)


def choice_skeleton(problem: Problem) -> list[str]:
    """A list: one option, or several where the item allows it."""
    return [*symbols_and_table(problem), "answer = []"]


CHOICE = AnswerKind("choice", judge_choice, skeleton=choice_skeleton)
NUMBER = AnswerKind("number", judge_number, typeset_text)

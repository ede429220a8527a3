"""Autodiff traces (``trace``): a table of nodes, each ``'<definition> | <value> | <tangent or adjoint>'``.

A student's decomposition may differ from the reference's, so a trace is judged on its own
graph: every node must be one elementary operation of earlier nodes or inputs, its value and
its tangent (forward mode) or adjoint (reverse mode) must be what *that graph* gives — the
checker runs it, forward and backward, in exact arithmetic — and the last node must be f as
a function.  A wrong node does not spoil the ones after it: each is judged on the true values
of the nodes it uses.  Numbers are compared within the item's tolerance (4 decimals).
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sympy as sp

from derivations.autodiff import node_symbol
from derivations.core import substitute_definitions
from dlverify.checking.answers import listing
from dlverify.checking.kinds import AnswerKind, Ask, toml_key
from dlverify.checking.parse import ParseError
from dlverify.checking.reading import to_sympy
from dlverify.checking.verdict import Counterexample, Verdict
from dlverify.problem import Problem, TraceMode

DIGITS = 30
MAX_NODES = 60
POINTS = 8  # random points where the last node must equal f
_KEY = re.compile(r"^\s*v\s*_?\s*\{?\s*([-−]?\d+)\s*\}?\s*$")


def node_index(key: str) -> int | None:
    """v3, v_3, v_{3} → 3; v-2, v_{-2}, v_{−2} → −2."""
    m = _KEY.match(str(key))
    return int(m.group(1).replace("−", "-")) if m else None


def _atom(e: sp.Basic) -> bool:
    return e.is_Symbol or e.is_number


def _negated_atom(e: sp.Basic) -> bool:
    return isinstance(e, sp.Mul) and len(e.args) == 2 and e.args[0] == -1 and _atom(e.args[1])


def elementary(e: sp.Basic) -> str | None:
    """Why ``e`` is not one elementary operation of nodes and constants (None if it is)."""
    if e.is_Symbol:
        return "it only copies a node: a node must do one operation"
    if e.is_number:
        return "it is a constant: a node must operate on earlier nodes"
    if isinstance(e, sp.Add):
        if len(e.args) == 2 and all(_atom(a) or _negated_atom(a) for a in e.args):
            return None
    elif isinstance(e, sp.Mul):
        coefficient, rest = e.as_coeff_Mul()
        factors = sp.Mul.make_args(rest)
        inverse = [f for f in factors if isinstance(f, sp.Pow) and f.exp == -1 and _atom(f.base)]
        if len(factors) == 1 and (_atom(factors[0]) or inverse):  # c·a, −a, c/a
            return None
        if len(factors) == 2 and coefficient == 1 and sum(_atom(f) for f in factors) + len(inverse) == 2:
            return None  # a·b, a/b
    elif isinstance(e, sp.Pow):
        if _atom(e.base) and e.exp.is_number:
            return None
        inner = e.base
        if e.exp == -1 and isinstance(inner, sp.Add) and len(inner.args) == 2 and sp.S.One in inner.args:
            other = next(t for t in inner.args if t != 1)
            if isinstance(other, sp.exp) and (_atom(-other.args[0])):  # σ(a) = 1/(1 + e^{−a})
                return None
    elif isinstance(e, (sp.exp, sp.log, sp.sin, sp.cos, sp.tanh)) and _atom(e.args[0]):
        return None
    return "it is more than one elementary operation (+, −, ×, ÷, a constant power, exp, log, sin, cos, tanh, σ, √)"


@dataclass
class _Row:
    index: int
    parts: list[str]
    definition: sp.Basic | None = None
    numbers: list[sp.Basic] | None = None


# A part may restate what it is: ``v_1 = v_{-2} v_{-1}``, ``\\dot v_1 = 1.0``, ``\\bar{v}_3 := 0.5``.  The
# left side, without accents and braces, names a node; the part is what follows it.
_LEFT_SIDE = re.compile(r"^(?P<left>[^=|]*?)\s*(?::=|\\coloneqq|(?<![<>!=])=(?!=))")
_ACCENTS = re.compile(r"\\(?:dot|bar|overline|hat|tilde)(?![A-Za-z])|[{}\s\u0307\u0304]")


def _left_side(text: str) -> tuple[int | None, str]:
    """(the node a part's left side names, the part after it); (None, text) without one."""
    m = _LEFT_SIDE.match(text)
    if not m:
        return None, text
    index = node_index(_ACCENTS.sub("", m.group("left")))
    return (index, text[m.end() :].strip()) if index is not None else (None, text)


def _respelled(text: str, problem: Problem) -> tuple[str, list[int]]:
    """A definition with the spellings the item lists that the grammar reads otherwise (``v-2``, which
    it reads as v − 2: a bare v names nothing) written as the symbol's name, and for each character
    of the new text where it came from, so an error points into the text as written."""
    spellings = {
        alias.replace("−", "-"): symbol.name
        for symbol in problem.symbols
        for alias in symbol.spellings
        if re.search("[-−]", alias)
    }
    if not spellings:
        return text, list(range(len(text)))
    longest_first = sorted(spellings, key=len, reverse=True)
    alternatives = "|".join("[-−]".join(map(re.escape, alias.split("-"))) for alias in longest_first)
    pattern = re.compile(rf"(?<![A-Za-z\\_^])(?:{alternatives})(?!\d)")
    out, origin, last = [], [], 0
    for m in pattern.finditer(text):
        name = spellings[m.group(0).replace("−", "-")]
        out += [text[last : m.start()], "{" + name + "}"]
        origin += [*range(last, m.start()), *[m.start()] * (len(name) + 2)]
        last = m.end()
    out.append(text[last:])
    origin += range(last, len(text))
    return "".join(out), origin


def _definition(text: str, problem: Problem) -> tuple[sp.Basic, dict[str, int]]:
    """A node's definition read: the listed spellings respelled, errors pointing into ``text``."""
    new, origin = _respelled(text, problem)
    try:
        return to_sympy(new, problem)
    except ParseError as exc:
        if new != text and exc.pos is not None:
            exc = type(exc)(exc.reason, origin[exc.pos] if exc.pos < len(origin) else len(text), text)
        raise exc from None


def _number(text: str, problem: Problem) -> sp.Basic:
    value, unknown = to_sympy(text, problem)
    if unknown or getattr(value, "free_symbols", None):
        raise ParseError("a value must be a number", 0, text)
    return sp.N(value, DIGITS)


def _read(problem: Problem, key: str, text: Any, index: int, parts_wanted: int) -> _Row | Verdict:
    label = f"{problem.id}[{key}]"
    if isinstance(text, (int, float)) and not isinstance(text, bool):  # a TOML number: an input's adjoint
        text = repr(text)
    if not isinstance(text, str):
        return Verdict(label, "unparsed", f"write the entry as text, '<definition> | <value> | <{_third(problem)}>'")
    parts = [p.strip() for p in text.split("|")]
    if index < 1:  # an input: its adjoint, optionally after its name and value
        if not 1 <= len(parts) <= 3:
            return Verdict(label, "unparsed", "an input's entry is '<adjoint>' or '<value> | <adjoint>'")
        parts = [""] * (3 - len(parts)) + parts
    elif len(parts) > parts_wanted:
        return Verdict(label, "unparsed", f"expected three parts: '<definition> | <value> | <{_third(problem)}>'")
    else:  # '<definition> | <value>' is a row read without its tangent: judged, the missing parts wrong
        parts += [""] * (parts_wanted - len(parts))
    for k, part in enumerate(parts):
        named, rest = _left_side(part)
        if named is None:
            continue
        if named != index:
            left = part[: len(part) - len(rest)].strip()
            return Verdict(label, "incorrect", f"the entry {key} writes {left!r}: that names v{named}, not v{index}")
        parts[k] = rest
    row = _Row(index, parts)
    try:
        if parts[0] and index >= 1:
            definition, unknown = _definition(parts[0], problem)
            if unknown:
                names = ", ".join(unknown)
                return Verdict(
                    label, "incorrect", f"the definition uses {names}: only v_j (j < {index}) and the inputs"
                )
            row.definition = definition
        row.numbers = [_number(p, problem) if p else None for p in parts[1:]]
    except ParseError as exc:
        return Verdict(label, "unparsed", exc.pointer())
    return row


def _third(problem: Problem) -> str:
    return "tangent" if problem.answer.trace is TraceMode.FORWARD else "adjoint"


def judge_trace(problem: Problem, answer: Any, ask: Ask) -> Verdict:
    derivation = problem.derive()
    given = derivation.given
    forward = problem.answer.trace is TraceMode.FORWARD
    point = [sp.nsimplify(v) for v in given["point"]]
    first = 1 - len(point)
    tol = problem.answer.tolerance or 5e-5
    if not isinstance(answer, Mapping):
        return Verdict(problem.id, "unparsed", "a trace is a table: one key per node (v1 = '… | … | …')")
    if len(answer) > MAX_NODES:
        return Verdict(problem.id, "unparsed", f"more than {MAX_NODES} entries")
    entries: dict[str, Verdict] = {}
    rows: dict[int, _Row] = {}
    ignored = []
    for key, text in answer.items():
        index = node_index(key)
        if index is None or index < first or (forward and index < 1):
            ignored.append(str(key))
            continue
        read = _read(problem, str(key), text, index, 3)
        if isinstance(read, Verdict):
            entries[str(key)] = read
        else:
            rows[index] = read
    nodes = sorted(i for i in rows if i >= 1)
    given_inputs = {node_index(k) for k in answer if node_index(k) is not None}
    # the inputs' adjoints are part of a reverse trace: one not given counts as a wrong entry
    missing = [] if forward else [i for i in range(first, 1) if i not in given_inputs]
    for i in missing:
        entries[f"v{i}"] = Verdict(
            f"{problem.id}[v{i}]", "missing", f"the adjoint of the input v{i} (x{i - first + 1}) is not given"
        )
    if not nodes:
        read = [k for k in entries if (node_index(k) or 0) >= 1]
        if read:  # entries for nodes are there, and none could be read: say why, entry by entry
            first = [f"{k}: {entries[k].said().splitlines()[0]}" for k in read[:3]]
            said = "; ".join(first) + ("; …" if len(read) > 3 else "")
            return Verdict(problem.id, "unparsed", f"no node entry could be read: {said}", entries=entries)
        return Verdict(problem.id, "unparsed", "no node entries v1, v2, … found", entries=entries)
    labels = {i: next(str(k) for k in answer if node_index(k) == i) for i in rows}
    # structure: one elementary operation of earlier nodes
    usable: dict[int, sp.Basic] = {}
    for i in nodes:
        row, label = rows[i], f"{problem.id}[{labels[i]}]"
        if row.definition is None:
            entries[labels[i]] = Verdict(
                label, "incorrect", "the definition is missing", diagnosis="missing definition"
            )
            continue
        later = sorted(
            j
            for j in (node_index(s.name) for s in row.definition.free_symbols if isinstance(s, sp.Symbol))
            if j is None or j >= i or j < first
        )
        if later:
            entries[labels[i]] = Verdict(label, "incorrect", f"v{i} uses v{later[0]}, which is not an earlier node")
            continue
        missing = [j for j in (node_index(s.name) for s in row.definition.free_symbols) if j >= 1 and j not in usable]
        if missing:
            entries[labels[i]] = Verdict(label, "incorrect", f"v{i} uses v{missing[0]}, which has no valid definition")
            continue
        usable[i] = row.definition  # even when not elementary: later nodes are judged on its true value
        why = elementary(row.definition)
        if why:
            entries[labels[i]] = Verdict(label, "incorrect", f"not elementary: {why}", diagnosis="not elementary")
    # the student's own graph, run exactly: values, tangents, adjoints
    values: dict[int, sp.Basic] = {first + k: v for k, v in enumerate(point)}
    tangents: dict[int, sp.Basic] = {
        first + k: sp.Integer(int(forward and k == int(given["direction"]))) for k in range(len(point))
    }
    for i in sorted(usable):
        at = {node_symbol(j): values[j] for j in values}
        values[i] = usable[i].xreplace(at)
        tangents[i] = sum(
            (sp.diff(usable[i], node_symbol(j)).xreplace(at) * tangents[j] for j in _uses(usable[i])), sp.Integer(0)
        )
    last = max(nodes)
    adjoints, contributions = _adjoints(usable, values, last, first)
    for i in sorted(rows):
        label_key = labels[i]
        if label_key in entries:
            continue
        row, label = rows[i], f"{problem.id}[{label_key}]"
        stated_value, stated_third = row.numbers
        want_value = sp.N(values[i], DIGITS)
        if stated_value is None and i >= 1:  # an input's value is given; a node's is asked for
            third = "tangent" if forward else "adjoint"
            message = f"the value and {third} are missing" if stated_third is None else "the value is missing"
            entries[label_key] = Verdict(label, "incorrect", message, diagnosis="missing value")
            continue
        if stated_value is not None and not abs(stated_value - want_value) <= tol:
            source = "the input" if i < 1 else "its definition"
            message = f"wrong value: {_show(stated_value)}, but {source} gives {_show(want_value)}"
            entries[label_key] = Verdict(
                label,
                "incorrect",
                message,
                counterexample=_counter(stated_value, want_value, ask),
                diagnosis="wrong value",
            )
            continue
        want = sp.N(tangents[i] if forward else adjoints.get(i, 0), DIGITS)
        if stated_third is None or not abs(stated_third - want) <= tol:
            what = "tangent" if forward else "adjoint"
            if stated_third is None:  # the graph's value would give the answer away under --hide-reference
                message = f"the {what} is missing" + ("" if ask.hide else f"; the graph gives {_show(want)}")
            else:
                message = f"wrong {what}: {_show(stated_third)}, but the graph gives {_show(want)}"
            diagnosis = (
                None if forward or stated_third is None else _missed_consumer(stated_third, i, contributions, tol)
            )
            if diagnosis:
                message += f"; it {diagnosis}"
            counter = _counter(stated_third, want, ask) if stated_third is not None else None
            entries[label_key] = Verdict(
                label,
                "incorrect",
                message,
                counterexample=counter,
                diagnosis=diagnosis or (f"missing {what}" if stated_third is None else f"wrong {what}"),
            )
            continue
        entries[label_key] = Verdict(label, "correct", "right", score=1.0)
    # the last node must be f, as a function of the inputs
    f_ok, f_message = _is_f(usable, last, given["f"], first, len(point), ask.rng)
    right = sum(v.ok for v in entries.values()) + int(f_ok)
    total = len(entries) + 1
    wrong = [(k, v) for k, v in entries.items() if not v.ok]
    note = f"; ignored unknown entries {listing(ignored)}" if ignored else ""
    if not wrong and f_ok:
        mode = "tangent" if forward else "adjoint"
        return Verdict(
            problem.id,
            "correct",
            f"all {len(entries)} entries right (definition, value, {mode}) and the last node is f{note}",
            score=1.0,
            entries=entries,
        )
    absent = [k for k, v in wrong if v.verdict == "missing"]
    parts = ([f_message] if not f_ok else []) + [
        f"{k}: {v.said()}" for k, v in sorted(wrong, key=lambda kv: node_index(kv[0]) or 0) if v.verdict != "missing"
    ]
    if absent:
        parts.append(f"not answered: {', '.join(absent)} (the inputs' adjoints)")
    judged = [kv for kv in wrong if kv[1].verdict != "missing"] or wrong  # an entry given and wrong explains most
    first_wrong = min(judged, key=lambda kv: node_index(kv[0]) or 0)[1] if wrong else None
    verdict = "unparsed" if wrong and all(v.verdict == "unparsed" for _, v in wrong) and f_ok else "incorrect"
    return Verdict(
        problem.id,
        verdict,
        f"{right}/{total} right; " + "; ".join(parts) + note,
        counterexample=first_wrong.counterexample if first_wrong else None,
        score=right / total,
        diagnosis=first_wrong.diagnosis if first_wrong else "the last node is not f",
        entries=entries,
    )


def _uses(expr: sp.Basic) -> list[int]:
    return sorted({node_index(s.name) for s in expr.free_symbols if isinstance(s, sp.Symbol)})


def _adjoints(usable: dict[int, sp.Basic], values: dict[int, sp.Basic], last: int, first: int):
    """v̄_last = 1; v̄_j = Σ over consumers c of v̄_c ∂v_c/∂v_j. Also each consumer's contribution."""
    adjoints: dict[int, sp.Basic] = {last: sp.Integer(1)}
    contributions: dict[int, dict[int, sp.Basic]] = {}
    at = {node_symbol(j): values[j] for j in values}
    for j in range(last - 1, first - 1, -1):
        parts = {}
        for c, definition in usable.items():
            if c > j and c in adjoints and j in _uses(definition):
                parts[c] = adjoints[c] * sp.diff(definition, node_symbol(j)).xreplace(at)
        contributions[j] = parts
        adjoints[j] = sum(parts.values(), sp.Integer(0))
    return adjoints, contributions


def _missed_consumer(stated: sp.Basic, index: int, contributions: dict, tol: float) -> str | None:
    parts = contributions.get(index, {})
    if len(parts) < 2:
        return None
    total = sum(parts.values(), sp.Integer(0))
    for c, part in parts.items():
        if abs(stated - sp.N(total - part, DIGITS)) <= tol:
            consumers = ", ".join(f"v{k}" for k in sorted(parts))
            return f"misses the path through v{c} (v{index} feeds {consumers}: its adjoint sums over all of them)"
    return None


def _is_f(usable: dict, last: int, f: sp.Basic, first: int, count: int, rng: random.Random) -> tuple[bool, str]:
    if last not in usable:
        return False, f"the last node v{last} has no valid definition, so it cannot be checked to be f"
    expr = substitute_definitions(node_symbol(last), {node_symbol(i): d for i, d in usable.items()})
    for _ in range(POINTS):
        at = {node_symbol(first + k): sp.Rational(rng.randint(5, 30), 10) for k in range(count)}
        mine, theirs = sp.N(expr.xreplace(at), DIGITS), sp.N(f.xreplace(at), DIGITS)
        if not (mine.is_finite and theirs.is_finite):
            continue
        if abs(mine - theirs) > 1e-20 * max(1, abs(theirs)):
            where = ", ".join(f"{s} = {v}" for s, v in at.items())
            return False, f"the last node v{last} is not f: at {where} it is {_show(mine)} but f is {_show(theirs)}"
    return True, ""


def _show(value: sp.Basic) -> str:
    return f"{float(value):.4f}"


def _counter(got: sp.Basic, want: sp.Basic, ask: Ask) -> Counterexample:
    return Counterexample(answer_value=float(got), reference_value=None if ask.hide else float(want))


def _input_name(index: int) -> str:
    return f"v_{index}" if 0 <= index <= 9 else f"v_{{{index}}}"


def trace_skeleton(problem: Problem) -> list[str]:
    """The inputs as the statement names them, a first node (the rest are the student's own), and
    for a reverse trace the inputs' adjoints."""
    inputs = sorted(i for i in (node_index(s.name) for s in problem.symbols) if i is not None and i < 1)
    named = ", ".join(f"{_input_name(i)} (x{k})" for k, i in enumerate(inputs, 1))
    lines = [
        f"#   inputs {named}; nodes v_1, v_2, … of your decomposition",
        f"[{toml_key(problem.id)}]",
        "v1 = ' |  | '",
        "# v2 = …, as many nodes as your decomposition needs",
    ]
    if problem.answer.trace is TraceMode.REVERSE:
        lines += [f"v{i} = ''" for i in inputs]
    return lines


TRACE = AnswerKind("trace", judge_trace, takes_table=True, skeleton=trace_skeleton)

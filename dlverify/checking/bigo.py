"""Asymptotic answers: ``O(T K M \\log M)``, compared as Θ-classes by a normal form.

An answer is expanded into terms; each term is a monomial in the sizes times powers of
their logarithms (constant factors dropped).  Term a is O(b) when a/b stays bounded as
the sizes grow under the item's order constraints (a chain K ≤ M, say): along a chain
x_1 ≤ … ≤ x_n, x^d is bounded iff every suffix sum Σ_{j≥i} d_j is ≤ 0, with log factors
breaking ties (log x grows slower than any power).  Two bounds are equivalent when each
of their terms is O of some term of the other.
"""

from __future__ import annotations

from typing import Any

import sympy as sp

from dlverify.checking.kinds import AnswerKind, Ask
from dlverify.checking.names import Unreadable, key, table_for
from dlverify.checking.parse import Node, ParseError, parse
from dlverify.checking.resolve import Resolver
from dlverify.checking.verdict import Counterexample, Verdict
from dlverify.notation import unicode
from dlverify.problem import Problem

Term = dict[sp.Symbol, tuple[sp.Rational, sp.Rational]]  # symbol → (power, log power)
WRAPPERS = {"O", "Theta", "Omega", "mathcal{O}"}


def _inner(node: Node) -> Node:
    if node.rule == "mul" and len(node.args) == 2:
        head, body = node.args
        name = key(head) if head.rule in ("name", "font") else None
        if name in WRAPPERS or (head.rule == "font" and key(head.args[1]) == "O"):
            return body
    return node


def terms(expr: sp.Basic) -> list[Term]:
    """The terms of a bound, each as powers and log powers of the sizes."""
    expr = sp.expand(sp.expand_log(expr, force=True))
    out = []
    for term in sp.Add.make_args(expr):
        mono: Term = {}
        for factor in sp.Mul.make_args(term):
            base, exp = factor.as_base_exp()
            if factor.is_number:
                if not factor.is_positive:
                    raise Unreadable(f"a bound has positive terms only, not {unicode(term)}")
                continue
            if isinstance(base, sp.log) and isinstance(base.args[0], sp.Symbol) and exp.is_number:
                p, lp = mono.get(base.args[0], (0, 0))
                mono[base.args[0]] = (p, lp + exp)
            elif isinstance(base, sp.Symbol) and exp.is_number:
                p, lp = mono.get(base, (0, 0))
                mono[base] = (p + exp, lp)
            else:
                raise Unreadable(f"{unicode(factor)} is not a power of a size or of its logarithm")
        out.append(mono)
    return out


def dominated(a: Term, b: Term, chains: list[list[sp.Symbol]]) -> bool:
    """a = O(b) under the order chains (each smallest first)."""
    symbols = set(a) | set(b)
    diff = {s: (a.get(s, (0, 0))[0] - b.get(s, (0, 0))[0], a.get(s, (0, 0))[1] - b.get(s, (0, 0))[1]) for s in symbols}
    chained = {s for c in chains for s in c}
    groups = [[s for s in c if s in symbols] for c in chains] + [[s] for s in symbols - chained]
    for group in groups:
        for i in range(len(group)):
            power = sum(diff[s][0] for s in group[i:])
            logs = sum(diff[s][1] for s in group[i:])
            if (power, logs) > (0, 0):
                return False
    return True


def covered(f: list[Term], g: list[Term], chains) -> list[Term]:
    """The terms of f that are not O of any term of g (empty: f = O(g))."""
    return [t for t in f if not any(dominated(t, s, chains) for s in g)]


def _show(term: Term) -> str:
    parts = []
    for s, (p, lp) in sorted(term.items(), key=lambda kv: str(kv[0])):
        if p:
            parts.append(f"{s}^{p}" if p != 1 else str(s))
        if lp:
            parts.append(f"log({s})^{lp}" if lp != 1 else f"log({s})")
    return " ".join(parts) or "1"


def judge_bigo(problem: Problem, answer: Any, ask: Ask) -> Verdict:
    label, hide = ask.label, ask.hide
    if not isinstance(answer, str):
        return Verdict(label, "unparsed", "a bound is written as text, e.g. 'O(T K M \\log M)'")
    table = table_for(problem)
    try:
        resolver = Resolver(table)
        value = resolver(_inner(parse(answer)))
        if resolver.unknown():
            names = ", ".join(resolver.unknown())
            return Verdict(label, "incorrect", f"uses symbols this item does not define: {names}")
        mine = terms(value)
    except ParseError as exc:
        return Verdict(label, "unparsed", ParseError(exc.reason, exc.pos, answer).pointer())
    objects = problem.derive().symbols
    chains = [[objects[n] for n in chain] for chain in problem.answer.order]
    derivation = problem.derive()
    references = [derivation.result, *derivation.alternatives]
    for k, ref in enumerate(references):
        theirs = terms(ref)
        if not covered(mine, theirs, chains) and not covered(theirs, mine, chains):
            how = "the same growth as the reference" if k == 0 else "a looser bound that this item also accepts"
            return Verdict(label, "correct", how, score=1.0)
    theirs = terms(derivation.result)
    too_big = covered(mine, theirs, chains)
    too_small = covered(theirs, mine, chains)
    if too_big and not too_small:
        msg = "a valid upper bound, but not tight: it grows faster than the reference"
        msg += f" ({_show(too_big[0])} is not needed)"
        diagnosis = "a valid upper bound that is not tight"
    elif too_small and not too_big:
        msg = "grows slower than the reference" + ("" if hide else f": it misses {_show(too_small[0])}")
        diagnosis = "too small a bound"
    else:
        msg = "neither bound contains the other"
        diagnosis = "a different growth"
    if not hide:
        msg += f" (reference O({unicode(derivation.result)}))"
    counter = Counterexample(terms=tuple(_show(t) for t in mine))
    return Verdict(label, "incorrect", msg, counterexample=counter, diagnosis=diagnosis)


BIGO = AnswerKind("bigO", judge_bigo)

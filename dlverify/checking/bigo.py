"""Asymptotic answers: ``O(T K M \\log M)``, compared as Θ-classes by a normal form.

An answer is expanded into terms; each term is a monomial in the sizes times powers of
their logarithms (constant factors dropped), possibly times a faster-growing part: an
exponential (``2^T``, ``M^T``, ``e^{T}``) or a factorial (``T!``).  Term a is O(b) when a/b
stays bounded as the sizes grow under the item's order constraints (a chain K ≤ M, say):
along a chain x_1 ≤ … ≤ x_n, x^d is bounded iff every suffix sum Σ_{j≥i} d_j is ≤ 0, with
log factors breaking ties (log x grows slower than any power).  An exponential or factorial
part outgrows every power of each size in it (M^T: of T and of M) and of each size below
those in a chain, and no other: so a polynomial a is O(b · M^T) iff a is O(b) once those
sizes are dropped, and no exponential is O(a polynomial).  Two bounds are equivalent when
each of their terms is O of some term of the other.

How answers are read, where two readings compete:
- juxtaposed capitals are a product and a power binds to the last factor, as TeX sets it:
  ``TK^2`` is T·K² (a name the item defines whole is kept whole; the beam items' sizes are
  single letters, so ``TKM`` is always T·K·M);
- ``\\log`` takes the next factor: ``TK \\log K`` is T·K·log K, ``\\log KM`` is log(KM),
  ``\\log^2 M`` is (log M)²; a base (``\\log_2``, ``\\log_e``) is a constant factor and ignored;
- ``T!`` (or ``(T)!``) is the factorial.
"""

from __future__ import annotations

import re
from typing import Any

import sympy as sp

from dlverify.checking.kinds import AnswerKind, Ask
from dlverify.checking.names import Unreadable, key, table_for
from dlverify.checking.parse import Node, ParseError, parse
from dlverify.checking.resolve import Resolver
from dlverify.checking.verdict import Counterexample, Verdict
from dlverify.notation import unicode
from dlverify.problem import Problem

# symbol → (power, log power); the key SUPER, where present, holds a term's exponential or
# factorial part: (its SymPy product, the sizes whose every power it outgrows)
Term = dict[Any, Any]
SUPER = "super"
WRAPPERS = {"O", "Theta", "Omega", "mathcal{O}"}
FACTORIAL = "factorial"
# X! (not X!=): a letter, digit or parenthesised group before it; \! (a TeX thin space) has a backslash before it
_BANG = re.compile(r"(\([^()]*\)|\{[^{}]*\}|[A-Za-z0-9])\s*!(?!=)")


def _wrapper(node: Node) -> tuple[Node, str]:
    """The bound inside ``O(…)``/``\\Theta(…)``/``\\Omega(…)``, and which of them (``O`` when bare)."""
    if node.rule == "mul" and len(node.args) == 2:
        head, body = node.args
        name = key(head) if head.rule in ("name", "font") else None
        if name in WRAPPERS or (head.rule == "font" and key(head.args[1]) == "O"):
            return body, {"Theta": "Θ", "Omega": "Ω"}.get(name or "O", "O")
    return node, "O"


def _pieces(word: str, known: dict[str, Any]) -> list[str] | None:
    """``TKM`` → [T, K, M] when every piece is a symbol of the item (the resolver's split, as text)."""
    if len(word) < 2:
        return None
    for cut in range(len(word) - 1, 0, -1):
        head, tail = word[:cut], word[cut:]
        if key(Node("name", (head,))) not in known:
            continue
        if key(Node("name", (tail,))) in known:
            return [head, tail]
        deeper = _pieces(tail, known)
        if deeper is not None:
            return [head, *deeper]
    return None


def _retree(node: Any, known: dict[str, Any]) -> Any:
    """The tree as a bound is read: ``TK^2`` → T·K², ``\\log_2`` → ``\\log``, ``factorial(T)`` a node."""
    if not isinstance(node, Node):
        return node
    args = tuple(_retree(a, known) for a in node.args)
    if node.rule == "pow" and args[0].rule == "name":
        word = args[0].args[0]
        pieces = None if word.startswith("\\") or key(args[0]) in known else _pieces(word, known)
        if pieces:
            *first, last = (Node("name", (p,), args[0].pos) for p in pieces)
            return Node("mul", (*first, Node("pow", (last, args[1]), node.pos)), node.pos)
    if node.rule == "sub" and args[0].rule == "name" and args[0].args[0] in (r"\log", r"\ln") and _constant(args[1]):
        return args[0]  # a constant base is a constant factor (\log_K M = log M / log K is not)
    if node.rule == "mul":
        out: list[Any] = []
        k = 0
        while k < len(args):
            f = args[k]
            if f.rule == "name" and f.args[0] == FACTORIAL and k + 1 < len(args):
                out.append(Node(FACTORIAL, (args[k + 1],), f.pos))
                k += 2
                continue
            out.append(f)
            k += 1
        if len(out) == 1:
            return out[0]
        args = tuple(out)
    return Node(node.rule, args, node.pos)


def _constant(node: Node) -> bool:
    """A logarithm's base that is a number: ``2``, ``10``, ``e`` (never a size)."""
    inner = node.args[0] if node.rule == "paren" else node
    return inner.rule == "num" or (inner.rule == "name" and inner.args[0] == "e")


class _BoundResolver(Resolver):
    def _factorial(self, node: Node) -> sp.Basic:
        return sp.factorial(self.expr(node.args[0]))


def _factorials(answer: str) -> tuple[str, list[tuple[int, int]]]:
    """``T!`` → ``\\operatorname{factorial}(T)`` (the grammar has no ``!``), and for each rewrite
    (its end in the new text, the shift) so an error's position points into the answer as written."""
    out, shifts, last = [], [], 0
    for m in _BANG.finditer(answer):
        out += [answer[last : m.start()], rf"\operatorname{{{FACTORIAL}}}({m.group(1)})"]
        last = m.end()
        shifts.append((sum(map(len, out)), sum(map(len, out)) - last))
    return "".join([*out, answer[last:]]), shifts


def _read(answer: str, problem: Problem) -> tuple[sp.Basic, str, dict[str, int]]:
    """The bound an answer writes, its wrapper, and the names it uses that the item does not define."""
    text, shifts = _factorials(answer)
    table = table_for(problem)
    try:
        node, wrapper = _wrapper(parse(text))
        resolver = _BoundResolver(table)
        value = resolver(_retree(node, table.by_key))
    except ParseError as exc:
        if exc.pos is not None and shifts:
            exc.pos = max(0, exc.pos - max((shift for end, shift in shifts if end <= exc.pos), default=0))
        raise
    return value, wrapper, resolver.unknown()


def _sizes_of(expr: sp.Basic) -> set[sp.Symbol]:
    return {s for s in expr.free_symbols if isinstance(s, sp.Symbol)}


def _super(factor: sp.Basic, base: sp.Basic, exp: sp.Basic) -> tuple[sp.Basic, set[sp.Symbol]] | None:
    """A factor that outgrows every polynomial: (the factor, the sizes it outgrows), None when it is not one."""
    if isinstance(factor, sp.factorial) and isinstance(factor.args[0], sp.Symbol):
        return factor, {factor.args[0]}
    if exp.is_number or not exp.free_symbols:
        return None
    if not exp.is_polynomial(*_sizes_of(exp)):
        raise Unreadable(f"{unicode(factor)}: an exponent is a polynomial in the sizes here")
    if base.is_number:
        if not (base.is_real and base > 1):
            raise Unreadable(f"{unicode(factor)} does not grow: a cost's exponential has a base above 1")
        grows = _sizes_of(exp)
    elif isinstance(base, sp.Symbol):
        grows = _sizes_of(exp) | {base}
    else:
        raise Unreadable(f"{unicode(factor)} is not an exponential of a size")
    for mono in sp.Add.make_args(sp.expand(exp)):
        if not mono.is_number and not mono.as_coeff_Mul()[0].is_positive:
            raise Unreadable(f"{unicode(factor)} shrinks as a size grows; a cost's exponent grows with the sizes")
    return factor, grows


def terms(expr: sp.Basic) -> list[Term]:
    """The terms of a bound, each as powers and log powers of the sizes (and a faster-growing part)."""
    expr = sp.expand(sp.expand_log(expr, force=True))
    out = []
    for term in sp.Add.make_args(expr):
        mono: Term = {}
        fast: list[sp.Basic] = []
        grows: set[sp.Symbol] = set()
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
            elif (found := _super(factor, base, exp)) is not None:
                fast.append(found[0])
                grows |= found[1]
            else:
                raise Unreadable(f"{unicode(factor)} is not a power of a size or of its logarithm")
        if fast:
            mono[SUPER] = (sp.Mul(*fast), frozenset(grows))
        out.append(mono)
    return out


def _below(sizes: set[sp.Symbol], chains: list[list[sp.Symbol]]) -> set[sp.Symbol]:
    """The sizes, and every size below one of them in a chain (its logarithm is at most theirs)."""
    out = set(sizes)
    for chain in chains:
        top = max((i for i, s in enumerate(chain) if s in sizes), default=-1)
        out |= set(chain[: top + 1])
    return out


def dominated(a: Term, b: Term, chains: list[list[sp.Symbol]]) -> bool:
    """a = O(b) under the order chains (each smallest first)."""
    fast_a, fast_b = a.get(SUPER), b.get(SUPER)
    if fast_a is not None and (fast_b is None or fast_a[0] != fast_b[0]):
        # no exponential is O(a polynomial); two different ones are not compared (never read as equal)
        return False
    absorbed = _below(set(fast_b[1]), chains) if fast_b is not None and fast_a is None else set()
    symbols = (set(a) | set(b)) - {SUPER} - absorbed
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
    if SUPER in term:  # one SymPy product, so M^{T-1} reads as written rather than as M^-1 M^T
        factors = [s**p * sp.log(s) ** lp for s, (p, lp) in term.items() if s != SUPER]
        fast = term[SUPER][0].replace(sp.factorial, lambda x: sp.Symbol(f"{x}!"))  # T!, as it is written
        return unicode(sp.Mul(*factors, fast))
    parts = []
    for s, (p, lp) in sorted(((s, v) for s, v in term.items() if s != SUPER), key=lambda kv: str(kv[0])):
        if p:
            parts.append(f"{s}^{p}" if p != 1 else str(s))
        if lp:
            parts.append(f"log({s})^{lp}" if lp != 1 else f"log({s})")
    return " ".join(parts) or "1"


def _faster(term: Term) -> str:
    """Why an exponential or factorial term is not needed, in words."""
    fast = term[SUPER][0]
    kind = "a factorial" if fast.has(sp.factorial) else "an exponential"
    sizes = sorted(str(s) for s in term[SUPER][1])
    grow = f"{sizes[0]} grows" if len(sizes) == 1 else f"{', '.join(sizes)} grow"
    return f"{_show(term)} is {kind}: it grows faster than any polynomial as {grow}"


def judge_bigo(problem: Problem, answer: Any, ask: Ask) -> Verdict:
    label, hide = ask.label, ask.hide
    if not isinstance(answer, str):
        return Verdict(label, "unparsed", "a bound is written as text, e.g. 'O(T K M \\log M)'")
    try:
        value, wrapper, unknown = _read(answer, problem)
        if unknown:
            return Verdict(label, "incorrect", f"uses symbols this item does not define: {', '.join(unknown)}")
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
        why = _faster(too_big[0]) if SUPER in too_big[0] else f"{_show(too_big[0])} is not needed"
        if wrapper == "O":
            msg = f"a valid upper bound, but not tight: it grows faster than the reference ({why})"
            diagnosis = "a valid upper bound that is not tight"
        else:  # Θ(…) or Ω(…) of too much is a false claim, not a loose one
            msg = f"grows faster than the reference, so this {wrapper} bound does not hold ({why})"
            diagnosis = "too large a bound"
    elif too_small and not too_big:
        if wrapper == "Ω":
            msg, diagnosis = "a valid lower bound, but not tight, growing slower than the reference", "not tight"
        else:
            msg, diagnosis = "grows slower than the reference, so it is not an upper bound", "too small a bound"
        msg += "" if hide else f": it misses {_show(too_small[0])}"
    else:
        big = _faster(too_big[0]) if SUPER in too_big[0] else f"{_show(too_big[0])} outgrows the reference"
        msg = f"neither bound contains the other: {big}"
        msg += ", and the reference outgrows the answer elsewhere" if hide else f", and it misses {_show(too_small[0])}"
        diagnosis = "a different growth"
    if not hide:
        msg += f" (reference O({unicode(derivation.result)}))"
    counter = Counterexample(terms=tuple(_show(t) for t in mine))
    return Verdict(label, "incorrect", msg, counterexample=counter, diagnosis=diagnosis)


BIGO = AnswerKind("bigO", judge_bigo)

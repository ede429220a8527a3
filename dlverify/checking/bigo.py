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
- ``T!`` (or ``(T)!``) is the factorial;
- ``\\lg`` (log₂), ``\\ln`` and a ``log``/``ln``/``lg`` glued into a run of sizes (``TKMlogM``) are the
  logarithm of the next factor, and ``\\log\\log M`` is log(log M), slower than any power of log M;
- ``O(a) + O(b)`` (and ``c·O(a)``) is O(a + b): each wrapper is read where it stands; O and Θ mixed
  state an upper bound (O), Ω mixed with either is no bound and is refused;
- a negative term is read when it is of lower order than a positive term (``\\frac{T(T-1)}{2}KM`` is
  Θ(T²KM): −TKM/2 vanishes beside T²KM/2), since then the bound keeps the positive terms' growth;
  one that can cancel a positive term (TM − TK, with K ≤ M allowed to equal M) is refused;
- a sum ``\\sum_{t=1}^{T} t`` is evaluated (T(T+1)/2) before its terms are read, and ``\\max(a, b)``
  is read as a + b (the same growth, for costs);
- a Θ bound where the item asks for O is read as the same bound (the item's reference is tight),
  and the message says so.
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

# size → (power, log power, log log power); the key SUPER, where present, holds a term's exponential or
# factorial part: (its SymPy product, the sizes whose every power it outgrows)
Term = dict[Any, Any]
DEPTH = 3  # a size, its logarithm, the logarithm of that
ZERO = (0,) * DEPTH
SUPER = "super"
WRAPPERS = {"O", "Theta", "Omega", "mathcal{O}"}
FACTORIAL = "factorial"
# Spellings the grammar has no rule for, rewritten before parsing (each match's new text points back at it):
# X! (not X!=: a letter, digit or parenthesised group before it; \! is a TeX thin space), \lg (log₂, a
# constant factor from log), and the Unicode wrappers Θ, Ω, 𝒪 pasted from a printed bound.
_RESPELL = re.compile(
    r"(?P<bang>(?P<operand>\([^()]*\)|\{[^{}]*\}|[A-Za-z0-9])\s*!(?!=))|(?P<lg>\\lg(?![A-Za-z]))|(?P<wrap>[ΘΩ𝒪])"
)
_UNICODE_WRAPPERS = {"Θ": r"\Theta ", "Ω": r"\Omega ", "𝒪": "O"}
LOG_WORDS = ("log", "ln", "lg")  # a logarithm's names as plain words, inside a run of letters too


def _head(node: Any) -> str | None:
    """Which wrapper a factor is (``O``, ``Θ``, ``Ω``), None if it is not one."""
    if not isinstance(node, Node):
        return None
    name = key(node) if node.rule in ("name", "font") else None
    if name in WRAPPERS or (node.rule == "font" and key(node.args[1]) == "O"):
        return {"Theta": "Θ", "Omega": "Ω"}.get(name or "O", "O")
    return None


def _unwrapped(node: Any, kinds: set[str]) -> Any:
    """The tree with each ``O(…)``, ``Θ(…)``, ``Ω(…)`` replaced by its bound (``O(a) + O(b)`` is
    O(a + b), ``T·O(KM)`` is O(TKM)); the wrappers met are added to ``kinds``."""
    if not isinstance(node, Node):
        return node
    args = tuple(_unwrapped(a, kinds) for a in node.args)
    if node.rule != "mul":
        return Node(node.rule, args, node.pos)
    out: list[Any] = []
    k = 0
    while k < len(args):
        kind = _head(node.args[k])
        if kind is not None and k + 1 < len(args):
            kinds.add(kind)
            out.append(args[k + 1])
            k += 2
            continue
        out.append(args[k])
        k += 1
    return out[0] if len(out) == 1 else Node("mul", tuple(out), node.pos)


def _wrapper(node: Node) -> tuple[Node, str]:
    """The bound an answer writes and which wrapper states it (``O`` when bare)."""
    kinds: set[str] = set()
    body = _unwrapped(node, kinds)
    if "Ω" in kinds and len(kinds) > 1:
        raise Unreadable("a sum of an Ω bound and an O or Θ bound states no bound: write one", node.pos)
    if len(kinds) > 1:  # O and Θ: each Θ term is also an O, and the O terms bound only from above
        return body, "O"
    return body, next(iter(kinds), "O")


def _pieces(word: str, known: dict[str, Any]) -> list[str] | None:
    """``TKM`` → [T, K, M] when every piece is a symbol of the item (the resolver's split, as text);
    a logarithm's word is a piece too (``TKMlogM`` → [T, K, M, log, M]), spelled ``\\log``."""
    if len(word) < 2:
        return None

    def piece(text: str) -> str | None:
        if text in LOG_WORDS:
            return r"\log"
        return text if key(Node("name", (text,))) in known else None

    for cut in range(len(word) - 1, 0, -1):
        head, tail = piece(word[:cut]), word[cut:]
        if head is None:
            continue
        if (whole := piece(tail)) is not None:
            return [head, whole]
        deeper = _pieces(tail, known)
        if deeper is not None:
            return [head, *deeper]
    return None


def _glued(node: Node, known: dict[str, Any]) -> list[Node] | None:
    """A run of letters that is no symbol, as its factors (``TKMlogM``, ``lg``), else None."""
    word = node.args[0]
    if word.startswith("\\") or key(node) in known:
        return None
    if word == "lg":
        return [Node("name", (r"\log",), node.pos)]
    pieces = _pieces(word, known)
    if pieces is None or not any(p == r"\log" for p in pieces):
        return None  # a run of sizes alone the resolver splits itself
    return [Node("name", (p,), node.pos) for p in pieces]


def _nest_logs(factors: list[Any]) -> list[Any]:
    """``\\log\\log M`` → log(log M): a logarithm whose next factor is a logarithm takes that one
    with its argument (read from the right, so \\log\\log\\log M nests too)."""
    out: list[Any] = []
    for f in reversed(factors):
        if _is_log(f) and len(out) >= 2 and _is_log(out[-1]):
            inner = Node("paren", (Node("mul", (out.pop(), out.pop()), f.pos),), f.pos)
            out.append(inner)
        out.append(f)
    return out[::-1]


def _is_log(node: Any) -> bool:
    return isinstance(node, Node) and node.rule == "name" and node.args[0] in (r"\log", r"\ln", "log", "ln")


def _retree(node: Any, known: dict[str, Any]) -> Any:
    """The tree as a bound is read: ``TK^2`` → T·K², ``\\log_2`` → ``\\log``, ``factorial(T)`` a node."""
    if not isinstance(node, Node):
        return node
    args = tuple(_retree(a, known) for a in node.args)
    if node.rule == "name" and (glued := _glued(node, known)) is not None:
        return glued[0] if len(glued) == 1 else Node("mul", tuple(glued), node.pos)
    if node.rule == "pow" and isinstance(node.args[0], Node) and node.args[0].rule == "name":
        word = node.args[0].args[0]
        pieces = None if word.startswith("\\") or key(node.args[0]) in known else _pieces(word, known)
        if pieces:
            *first, last = (Node("name", (p,), node.args[0].pos) for p in pieces)
            return Node("mul", (*first, Node("pow", (last, args[1]), node.pos)), node.pos)
    if node.rule == "sub" and args[0].rule == "name" and args[0].args[0] in (r"\log", r"\ln") and _constant(args[1]):
        return args[0]  # a constant base is a constant factor (\log_K M = log M / log K is not)
    if node.rule == "mul":
        # a run that was split (TKMlogM) joins the product, so its log takes the next factor
        spliced = [
            p
            for a, new in zip(node.args, args, strict=True)
            for p in (new.args if a.rule == "name" and new.rule == "mul" else (new,))
        ]
        args = tuple(_nest_logs(spliced))
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


def _respelled(answer: str) -> tuple[str, list[int]]:
    """The answer in the grammar's spelling (``T!`` → ``\\operatorname{factorial}(T)``, ``\\lg`` →
    ``\\log``, ``Θ`` → ``\\Theta``), and for each character of the new text where it came from, so an
    error's position points into the answer as written."""
    out: list[str] = []
    origin: list[int] = []
    last = 0
    for m in _RESPELL.finditer(answer):
        out.append(answer[last : m.start()])
        origin.extend(range(last, m.start()))
        if m.group("bang"):
            new = rf"\operatorname{{{FACTORIAL}}}({m.group('operand')})"
        elif m.group("lg"):
            new = r"\log"
        else:
            new = _UNICODE_WRAPPERS[m.group("wrap")]
        out.append(new)
        origin.extend([m.start()] * len(new))
        last = m.end()
    out.append(answer[last:])
    origin.extend(range(last, len(answer)))
    return "".join(out), origin


def _read(answer: str, problem: Problem) -> tuple[sp.Basic, str, dict[str, int]]:
    """The bound an answer writes, its wrapper, and the names it uses that the item does not define."""
    text, origin = _respelled(answer)
    table = table_for(problem)
    try:
        node, wrapper = _wrapper(parse(text))
        resolver = _BoundResolver(table)
        value = resolver(_retree(node, table.by_key))
    except ParseError as exc:
        if exc.pos is not None and text != answer:
            exc.pos = origin[exc.pos] if exc.pos < len(origin) else len(answer)
        raise
    if value.has(sp.Sum):  # \sum_{t=1}^{T} t K M: its closed form, whose terms are read
        value = value.doit()
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


def _iterated_log(base: sp.Basic) -> tuple[sp.Symbol, int] | None:
    """(x, d) when ``base`` is log applied d times to the size x (log M: d = 1, log log M: d = 2)."""
    depth = 0
    while isinstance(base, sp.log) and depth < DEPTH - 1:
        base, depth = base.args[0], depth + 1
    return (base, depth) if depth and isinstance(base, sp.Symbol) else None


def terms(expr: sp.Basic, chains: list[list[sp.Symbol]] | None = None) -> list[Term]:
    """The terms of a bound, each as powers of the sizes and of their iterated logarithms (and a
    faster-growing part).  A negative term is dropped when it is of lower order than a positive one
    (so the bound grows as its positive terms do); any other is refused.  A max of costs is read as
    their sum, of the same growth (max(a, b) ≤ a + b ≤ 2 max(a, b))."""
    expr = expr.replace(sp.Max, lambda *args: sp.Add(*args))
    expr = sp.expand(sp.expand_log(expr, force=True))
    positive: list[Term] = []
    negative: list[tuple[Term, sp.Basic]] = []
    for term in sp.Add.make_args(expr):
        mono: Term = {}
        fast: list[sp.Basic] = []
        grows: set[sp.Symbol] = set()
        sign = 1
        for factor in sp.Mul.make_args(term):
            base, exp = factor.as_base_exp()
            if factor.is_number:
                if not factor.is_real or factor.is_zero:
                    raise Unreadable(f"a bound's terms are real and nonzero, not {unicode(term)}")
                sign *= 1 if factor.is_positive else -1
                continue
            logged = _iterated_log(base)
            if isinstance(base, sp.Symbol) and exp.is_number:
                logged = (base, 0)
            if logged is not None and exp.is_number:
                size, depth = logged
                old = mono.get(size, ZERO)
                mono[size] = tuple(v + (exp if k == depth else 0) for k, v in enumerate(old))
            elif (found := _super(factor, base, exp)) is not None:
                fast.append(found[0])
                grows |= found[1]
            else:
                raise Unreadable(f"{unicode(factor)} is not a power of a size or of its logarithm")
        if fast:
            mono[SUPER] = (sp.Mul(*fast), frozenset(grows))
        if sign > 0:
            positive.append(mono)
        else:
            negative.append((mono, term))
    for mono, term in negative:
        if not any(_lower_order(mono, p, chains or []) for p in positive):
            raise Unreadable(
                f"{unicode(term)} is a negative term that no positive term outgrows, so the bound can cancel to 0 "
                "or below; a cost's negative terms must vanish beside a positive one"
            )
    return positive


def _below(sizes: set[sp.Symbol], chains: list[list[sp.Symbol]]) -> set[sp.Symbol]:
    """The sizes, and every size below one of them in a chain (its logarithm is at most theirs)."""
    out = set(sizes)
    for chain in chains:
        top = max((i for i, s in enumerate(chain) if s in sizes), default=-1)
        out |= set(chain[: top + 1])
    return out


def _differences(a: Term, b: Term, chains: list[list[sp.Symbol]]) -> tuple[dict, list[list[sp.Symbol]]]:
    """The growth vectors of a/b, size by size (an exponential's sizes, where b alone has one, left
    out: it outgrows every power of them), and the sizes grouped by chain."""
    fast_a, fast_b = a.get(SUPER), b.get(SUPER)
    absorbed = _below(set(fast_b[1]), chains) if fast_b is not None and fast_a is None else set()
    symbols = (set(a) | set(b)) - {SUPER} - absorbed
    diff = {s: tuple(x - y for x, y in zip(a.get(s, ZERO), b.get(s, ZERO), strict=True)) for s in symbols}
    chained = {s for c in chains for s in c}
    groups = [[s for s in c if s in symbols] for c in chains] + [[s] for s in symbols - chained]
    return diff, [g for g in groups if g]


def _total(diff: dict, sizes: list[sp.Symbol]) -> tuple:
    return tuple(sum(diff[s][k] for s in sizes) for k in range(DEPTH))


def dominated(a: Term, b: Term, chains: list[list[sp.Symbol]]) -> bool:
    """a = O(b) under the order chains (each smallest first)."""
    fast_a, fast_b = a.get(SUPER), b.get(SUPER)
    if fast_a is not None and (fast_b is None or fast_a[0] != fast_b[0]):
        # no exponential is O(a polynomial); two different ones are not compared (never read as equal)
        return False
    diff, groups = _differences(a, b, chains)
    # along a chain x_1 ≤ … ≤ x_n, a/b is bounded iff every suffix's growth vector is ≤ 0 (lexicographic:
    # a power outgrows any power of the log, and log any power of log log)
    return all(_total(diff, group[i:]) <= ZERO for group in groups for i in range(len(group)))


def _lower_order(a: Term, b: Term, chains: list[list[sp.Symbol]]) -> bool:
    """a/b → 0 as every size grows: bounded, and some chain's whole growth vector is < 0 (were every
    chain's 0, the sizes of each chain equal would keep a/b at 1: TK/TM with K = M)."""
    if not dominated(a, b, chains):
        return False
    if b.get(SUPER) is not None and a.get(SUPER) is None:
        return True  # an exponential outgrows the powers it was bounded by
    diff, groups = _differences(a, b, chains)
    return any(_total(diff, group) < ZERO for group in groups)


def covered(f: list[Term], g: list[Term], chains) -> list[Term]:
    """The terms of f that are not O of any term of g (empty: f = O(g))."""
    return [t for t in f if not any(dominated(t, s, chains) for s in g)]


def _show(term: Term) -> str:
    if SUPER in term:  # one SymPy product, so M^{T-1} reads as written rather than as M^-1 M^T
        sizes = [(s, v) for s, v in term.items() if s != SUPER]
        factors = [s**p * sp.log(s) ** lp * sp.log(sp.log(s)) ** llp for s, (p, lp, llp) in sizes]
        fast = term[SUPER][0].replace(sp.factorial, lambda x: sp.Symbol(f"{x}!"))  # T!, as it is written
        return unicode(sp.Mul(*factors, fast))
    parts = []
    for s, powers in sorted(((s, v) for s, v in term.items() if s != SUPER), key=lambda kv: str(kv[0])):
        for p, shown in zip(powers, (str(s), f"log({s})", f"log(log({s}))"), strict=True):
            if p:
                parts.append(shown if p == 1 else f"{s}^{p}" if shown == str(s) else f"{shown}^{p}")
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
        objects = problem.derive().symbols
        chains = [[objects[n] for n in chain] for chain in problem.answer.order]
        mine = terms(value, chains)
    except ParseError as exc:
        return Verdict(label, "unparsed", ParseError(exc.reason, exc.pos, answer).pointer())
    derivation = problem.derive()
    references = [derivation.result, *derivation.alternatives]
    for k, ref in enumerate(references):
        theirs = terms(ref)
        if not covered(mine, theirs, chains) and not covered(theirs, mine, chains):
            how = "the same growth as the reference" if k == 0 else "a looser bound that this item also accepts"
            if wrapper == "Θ" and k == 0:  # the item asks for O; its reference is tight, so Θ states it too
                how += " (a Θ bound, read as the same bound: the item asks for O of a tight cost)"
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

"""Common mistakes, as mutations of the reference, for diagnosing a wrong answer.

When a wrong answer agrees with one mutation at every random point, the feedback can
say what the mistake probably was ("the exponent of w is off by one") instead of only
"incorrect".  Each mutation has a specific description, which names parts of the
reference, and a generic hint that does not (for --hide-reference).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import sympy as sp


@dataclass(frozen=True)
class Mutation:
    """A wrong version of the reference.  ``template``'s ``{}`` are filled with ``parts``, printed
    only when the mutation is shown: printing every mutation up front cost a second on a GRU
    Jacobian, whose SymPy printing asks the assumptions system about each diag(·)."""

    expr: sp.Basic
    template: str
    hint: str
    parts: tuple[sp.Basic, ...] = ()

    def __post_init__(self) -> None:
        if self.template.count("{}") != len(self.parts):
            raise ValueError(f"mutation text {self.template!r} has {len(self.parts)} parts to fill")

    @property
    def detail(self) -> str:
        from dlverify.notation import unicode

        # a sum or an entrywise product bracketed: "the product (a ⊙ b)·Xᵀ", not "a ⊙ b·Xᵀ"
        return self.template.format(
            *(f"({unicode(p)})" if isinstance(p, (sp.MatAdd, sp.HadamardProduct)) else unicode(p) for p in self.parts)
        )


def occurrences(expr: sp.Basic, path: tuple[int, ...] = ()) -> Iterator[tuple[tuple[int, ...], sp.Basic]]:
    """Every subexpression with its path (argument indices from the root), preorder."""
    yield path, expr
    for k, arg in enumerate(expr.args):
        yield from occurrences(arg, (*path, k))


def replace_at(expr: sp.Basic, path: tuple[int, ...], new: sp.Basic) -> sp.Basic | None:
    """``expr`` with the one subexpression at ``path`` replaced; None if that is invalid."""
    if not path:
        return new
    args = list(expr.args)
    inner = replace_at(args[path[0]], path[1:], new)
    if inner is None:
        return None
    args[path[0]] = inner
    try:
        return expr.func(*args)
    except Exception:  # e.g. shapes that no longer fit
        return None


def scale_mutations(reference: sp.Basic) -> list[Mutation]:
    """The mistakes of the whole result, for scalars and matrices alike: sign and factor 2."""
    if isinstance(reference, sp.MatrixExpr):
        # unevaluated: MatMul's doit would ask SymPy's assumptions about every diag(...) factor
        def scaled(c: sp.Basic) -> sp.Basic:
            return sp.MatMul(c, reference)
    else:

        def scaled(c: sp.Basic) -> sp.Basic:
            return c * reference

    return [
        Mutation(scaled(sp.S.NegativeOne), "the sign is flipped", "the sign looks flipped"),
        Mutation(scaled(sp.Integer(2)), "it is twice the reference", "it is off by a constant factor"),
        Mutation(scaled(sp.S.Half), "it is half the reference", "it is off by a constant factor"),
    ]


@lru_cache(maxsize=256)  # the same reference for every answer: build its mutations once
def mutations(reference: sp.Basic, limit: int = 80) -> tuple[Mutation, ...]:
    """Plausible wrong versions of ``reference``, most common mistakes first."""
    out = scale_mutations(reference)
    for path, node in occurrences(reference):
        if isinstance(node, sp.Add):
            for term in node.args:
                out.append(
                    Mutation(
                        replace_at(reference, path, node - term),
                        "the term {} is missing",
                        "a term is missing",
                        parts=(term,),
                    )
                )
        elif isinstance(node, sp.Pow) and (not node.exp.is_Rational or (node.exp.is_Integer and abs(node.exp) > 1)):
            base, exp = node.args
            for shift in (1, -1):
                new = exp + shift
                out.append(
                    Mutation(
                        replace_at(reference, path, sp.Pow(base, new)),
                        "the exponent of {} is off by one ({} instead of {})",
                        "an exponent is off by one",
                        parts=(
                            base,
                            new,
                            exp,
                        ),
                    )
                )
        elif isinstance(node, sp.Mul):
            for factor in node.args:
                divisor = isinstance(factor, sp.Pow) and factor.exp.is_negative
                if divisor or (factor.is_Rational and abs(factor) != 1):
                    out.append(
                        Mutation(
                            replace_at(reference, path, node / factor),
                            "the factor {} is missing",
                            "a factor is missing",
                            parts=(factor,),
                        )
                    )
        elif isinstance(node, (sp.Sum, sp.Product)):
            (var, lo, hi), *rest = node.limits
            for new_lo, new_hi, what in (
                (lo - 1, hi, "starts"),
                (lo + 1, hi, "starts"),
                (lo, hi - 1, "ends"),
                (lo, hi + 1, "ends"),
            ):
                bound = new_lo if what == "starts" else new_hi
                old = lo if what == "starts" else hi
                out.append(
                    Mutation(
                        replace_at(reference, path, node.func(node.function, (var, new_lo, new_hi), *rest)),
                        f"the {type(node).__name__.lower()} {what} at {var} = {{}} instead of {{}}",
                        "a bound of the sum is off by one",
                        parts=(
                            bound,
                            old,
                        ),
                    )
                )
        elif isinstance(node, sp.Indexed):
            for shift in (1, -1):
                moved = node.base[node.indices[0] + shift]
                out.append(
                    Mutation(
                        replace_at(reference, path, moved),
                        "{} appears instead of {}",
                        "an index is off by one",
                        parts=(
                            moved,
                            node,
                        ),
                    )
                )
    labels = {i.base.label for i in reference.atoms(sp.Indexed)}
    for sym in sorted(reference.free_symbols, key=str):
        if not isinstance(sym, sp.Symbol) or sym in labels or sym.is_integer:
            continue
        out.append(Mutation(reference * sym, "it has an extra factor {}", "it has an extra factor", parts=(sym,)))
        out.append(Mutation(reference / sym, "a factor {} is missing", "a factor is missing", parts=(sym,)))
    return tuple(unique(out, reference, limit))


def unique(found: list[Mutation], reference: sp.Basic, limit: int) -> list[Mutation]:
    """Valid mutations that differ from the reference and from each other, in order."""
    seen: set[sp.Basic] = set()  # structural equality and hashing, as srepr would compare but cheaply
    arity = index_arity(reference)
    kept = []
    for m in found:
        if m.expr is None:
            continue
        if any(arity.get(base, n) != n for base, n in index_arity(m.expr).items()):
            continue  # x_{k+2r−1} for x_{k+2r−2, c}: an entry that does not exist is no one's mistake
        if m.expr not in seen and m.expr != reference:
            seen.add(m.expr)
            kept.append(m)
    return kept[:limit]


def index_arity(expr: sp.Basic) -> dict[sp.Basic, int]:
    """How many indices each indexed symbol of ``expr`` takes (x[n, c]: 2)."""
    return {e.base: len(e.indices) for e in expr.atoms(sp.Indexed)} if isinstance(expr, sp.Basic) else {}

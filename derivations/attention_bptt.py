"""Backpropagation into an AttentionRNN(k) state: ∂ℓ/∂h[T] from the later states that attend to it.

h[t] attends to s_i = h[t−i] for i = 1..k, so h[T] enters h[T+1], …, h[T+k] directly and nothing
else; a loss that depends on h[T] only through later states gets, by the chain rule over the
computation graph, one term per state that reads h[T]: the total gradient ∂ℓ/∂h[t] of that state
(every path from h[t] on) times the direct Jacobian ∂h[t]/∂h[T] (the other attended states held).
Row-vector gradients, numerator-layout Jacobians.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cache

import sympy as sp

from derivations.chain import Chain
from derivations.core import Derivation, Step
from derivations.matexpr import MatrixSum, SequenceElement
from derivations.symbols import Entry, Partial, Words

n = sp.Symbol("n", integer=True, positive=True)
k = sp.Symbol("k", integer=True, positive=True)
T = sp.Symbol("T", integer=True, positive=True)
# the index a sum over t binds in an answer (checking/resolve.py makes it integer, with no sign)
t = sp.Symbol("t", integer=True)


def g_at(index: sp.Basic) -> SequenceElement:
    """∂ℓ/∂h[index], the total gradient of the state at that step (a 1×n row)."""
    return SequenceElement("g", index, 1, n)


def J_at(index: sp.Basic) -> SequenceElement:
    """∂h[index]/∂h[T], h[T]'s direct entry into the state at that step (n×n)."""
    return SequenceElement("J", index, n, n)


def h_at(index: sp.Basic) -> SequenceElement:
    return SequenceElement("h", index, n, 1)


LOSS = sp.Symbol("ell")


class NamedDerivatives(Mapping):
    """The item's symbols for derivatives, at every step index i (a derivative symbol in an answer names
    its own index, so the pairs cannot be listed): ∂ℓ/∂h[i] → g_i, ∂h[i]/∂h[T] → J_i (i ≠ T)."""

    def __getitem__(self, pair: tuple[sp.Basic, sp.Basic]) -> sp.Basic:
        a, b = pair
        if a == LOSS and isinstance(b, SequenceElement) and b.name == "h" and b.index != T:
            return g_at(b.index)
        if isinstance(a, SequenceElement) and a.name == "h" and b == h_at(T) and a.index != T:
            return J_at(a.index)
        raise KeyError(pair)

    def __iter__(self) -> Iterator[tuple[sp.Basic, sp.Basic]]:
        return iter([(LOSS, h_at(t)), (h_at(t), h_at(T))])

    def __len__(self) -> int:
        return 2

    def __reduce__(self) -> tuple:  # pickled by name (the disk cache keeps derivations)
        return (NamedDerivatives, ())


SYMBOLS = {"n": n, "k": k, "T": T, "t": t, "g": g_at(t), "J": J_at(t)}


def _chain_rule_holds() -> sp.Basic:
    """The chain rule over the graph for k = 2 with scalar states, by SymPy: h[T] enters h[T+1] and
    h[T+2] (not h[T+3]); ℓ reads h[T+1..T+3]. Each step is tanh(p·a + q·b) of the two states it reads,
    with symbolic weights, and ℓ a weighted sum of squares. Returns the difference, which must be 0."""
    x, before, u = sp.symbols("h_T h_Tm1 u")
    p, q, c = sp.symbols("p1:4"), sp.symbols("q1:4"), sp.symbols("c1:4")

    def phi(i: int, a: sp.Basic, b: sp.Basic) -> sp.Basic:
        return sp.tanh(p[i] * a + q[i] * b)

    def loss(*states: sp.Basic) -> sp.Basic:
        return sum(ci * s**2 for ci, s in zip(c, states, strict=True))

    h1 = phi(0, x, before)  # h[T+1] reads h[T] and h[T−1]
    h2 = phi(1, h1, x)  # h[T+2] reads h[T+1] and h[T]
    total = sp.diff(loss(h1, h2, phi(2, h2, h1)), x)  # h[T+3] reads h[T+2] and h[T+1]: not h[T]
    # the total gradient of each state that reads h[T]: ℓ with that state set to u, the later ones recomputed
    g1 = sp.diff(loss(u, phi(1, u, x), phi(2, phi(1, u, x), u)), u).subs(u, h1)
    g2 = sp.diff(loss(h1, u, phi(2, u, h1)), u).subs(u, h2)
    direct1 = sp.diff(phi(0, x, before), x)
    direct2 = sp.diff(phi(1, h1, u), u).subs(u, x)  # h[T+1] held: h[T]'s direct entry only
    return sp.expand(total - (g1 * direct1 + g2 * direct2))


@cache
def dl_dhT() -> Derivation:
    gap = _chain_rule_holds()
    if gap != 0:
        raise ArithmeticError(f"the chain rule over the graph does not give the sum: {gap}")
    result = MatrixSum(g_at(t) * J_at(t), (t, T + 1, T + k))
    steps = (
        Step(
            "h[t] attends to s_i = h[t−i] for i = 1..k, so h[T] is read directly by exactly the states h[T+1], …, "
            "h[T+k]; the loss depends on h[T] only through them.",
        ),
        Step(
            "By the chain rule over the computation graph, the total gradient at a node is the sum over the nodes "
            "that read it of their total gradient times the local Jacobian. SymPy checks it for k = 2 with scalar "
            "states (h[T+3] reads h[T+1] and h[T+2], not h[T]): dℓ/dh[T] minus the "
            "sum of the two terms (tanh steps with symbolic weights, a weighted sum of squares as ℓ) expands to",
            rhs=gap,
            lhs=Words("difference"),
        ),
        Step(
            "Each term is the row ∂ℓ/∂h[t] (every path from h[t] on) times the n×n direct entry ∂h[t]/∂h[T] (the "
            "other attended states held), summed over the k states that read h[T] (one homework solution drops the "
            "sum, keeping one of the k paths):",
            rhs=result,
            lhs=Partial(r"\ell", Entry("h", "T")),
        ),
    )
    # inside a derivative symbol, h[i] is a state and ℓ the loss: ∂ℓ/∂h[i] and ∂h[i]/∂h[T] are g_i and J_i
    chain = Chain(given=NamedDerivatives(), names={"h": h_at(t), r"\ell": LOSS, "l": LOSS, "L": LOSS})
    return Derivation(result, steps, SYMBOLS, chain=chain)

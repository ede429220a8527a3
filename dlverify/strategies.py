"""Hypothesis strategies for the values that problems are checked on (float64 only)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from hypothesis import strategies as st


def reals(bound: float = 10.0) -> st.SearchStrategy[float]:
    """Finite float64 values in [-bound, bound], zero and the ends included."""
    return st.floats(-bound, bound, allow_nan=False, allow_infinity=False, allow_subnormal=False)


def recurrent_weight(max_abs: float = 1.5) -> st.SearchStrategy[float]:
    """A recurrent weight drawn from all three regimes: |w| < 1, |w| = 1 and |w| > 1.

    The exact values ±1 are drawn on purpose: they are the boundary between vanishing
    and exploding gradients, and a uniform draw would almost never hit them.
    """
    inside = st.floats(-1.0, 1.0, exclude_min=True, exclude_max=True, allow_subnormal=False)
    outside = st.floats(1.0, max_abs, exclude_min=True, allow_subnormal=False)
    return st.one_of(
        st.sampled_from([-1.0, 1.0]),
        inside,
        outside,
        outside.map(lambda x: -x),
    )


def sequence(length: int, bound: float = 10.0) -> st.SearchStrategy[list[float]]:
    return st.lists(reals(bound), min_size=length, max_size=length)


def matrix(rows: int, cols: int, bound: float = 1.0) -> st.SearchStrategy:
    """A float64 array of the given shape with entries in [-bound, bound]."""
    import numpy as np
    from hypothesis.extra.numpy import arrays

    return arrays(np.float64, (rows, cols), elements=st.floats(-bound, bound, allow_subnormal=False))


def sizes_then(sizes: dict[str, st.SearchStrategy[int]], build) -> st.SearchStrategy[dict]:
    """Draw the sizes first, then the values whose shapes depend on them.

    ``build(sizes)`` returns a dict of strategies; the case holds the sizes too.
    """
    return st.fixed_dictionaries(sizes).flatmap(
        lambda drawn: st.fixed_dictionaries({**{k: st.just(v) for k, v in drawn.items()}, **build(drawn)})
    )


@contextmanager
def source_independent_draws() -> Iterator[None]:
    """Within the block, Hypothesis draws the same cases whatever modules are imported.

    Hypothesis (6.131 on) sometimes draws a constant found in the source of any local module
    imported so far in the process.  Which modules those are depends on what ran before (an item
    checked earlier, a test collected earlier, an editable install or not), so the cases would
    too: here it draws from its own fixed constants only.  This reaches into Hypothesis' internals,
    which offer no switch for it; where they change, the block does nothing, and the determinism
    tests say so.
    """
    try:
        from hypothesis.internal.conjecture import providers
        from hypothesis.internal.constants_ast import Constants
    except ImportError:  # pragma: no cover - another Hypothesis layout
        yield
        return
    saved = getattr(providers, "_get_local_constants", None)
    cached = getattr(providers, "CONSTANTS_CACHE", None)
    if saved is None or cached is None or not hasattr(cached, "cache"):  # pragma: no cover
        yield
        return
    none = Constants()
    # the cache of permitted constants may hold local ones chosen before the block: emptied on the
    # way in and out, so neither side sees the other's
    cached.cache.clear()
    providers._get_local_constants = lambda: none
    try:
        yield
    finally:
        providers._get_local_constants = saved
        cached.cache.clear()

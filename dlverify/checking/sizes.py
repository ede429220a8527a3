"""Sizes an answer leaves open: I in I + A, the ones vector in 1ᵀ h, 0 beside a matrix.

They are read with the placeholder size ``FREE`` and take their size from what stands next
to them (a neighbour in a product, the other terms of a sum, the reference's shape).
"""

from __future__ import annotations

import sympy as sp

from dlverify.checking.names import Unreadable

# A size to be fixed from the context: I in I + A, the ones vector in 1ᵀ h.
FREE = sp.Symbol("_free_size", integer=True, positive=True)


def dims(m: sp.MatrixExpr) -> set[sp.Basic]:
    """The symbols the matrix's sizes depend on (FREE among them while a size is open)."""
    return set().union(*(sp.sympify(d).free_symbols for d in m.shape))


def fit(m: sp.MatrixExpr, rows: sp.Basic, cols: sp.Basic) -> sp.MatrixExpr:
    """I or the ones vector, given its size from the context."""
    if isinstance(m, sp.Identity):
        return sp.Identity(rows)
    if isinstance(m, sp.OneMatrix):
        return sp.OneMatrix(rows, cols)
    if isinstance(m, sp.ZeroMatrix):
        return sp.ZeroMatrix(rows, cols)
    return m.xreplace({FREE: rows})


def common_shape(matrices: list[sp.MatrixExpr], pos: int) -> tuple:
    """The shape of the first term whose size is known: what a sum's open sizes take."""
    shape = next((m.shape for m in matrices if FREE not in dims(m)), None)
    if shape is not None:
        return shape
    # else each axis from any term that knows it, and I's square shape ties the two:
    # in I ⊙ (1 f_t) the rows and the columns are f_t's length
    known = [
        next((m.shape[axis] for m in matrices if FREE not in sp.sympify(m.shape[axis]).free_symbols), None)
        for axis in (0, 1)
    ]
    if any(m.shape == (FREE, FREE) for m in matrices):
        known = [known[0] if known[0] is not None else known[1]] * 2 if known[1] is None else [known[1], known[1]]
    if None in known:
        raise Unreadable("the size of I or of the ones vector cannot be inferred here", pos)
    return tuple(known)


def fit_product(factors: list[sp.Basic], pos: int) -> list[sp.Basic]:
    """Sizes of I and of the ones vector from their neighbours in a product."""
    mats = [k for k, f in enumerate(factors) if isinstance(f, sp.MatrixExpr)]
    out = list(factors)
    for j, k in enumerate(mats):
        f = out[k]
        if FREE not in dims(f):
            continue
        before = out[mats[j - 1]] if j > 0 else None
        after = out[mats[j + 1]] if j + 1 < len(mats) else None
        if f.shape == (FREE, FREE):  # I, and square things made of it: (I)^{1/2}, (2I)^{-1}
            # a 1×1 neighbour is a scale (g I, the course's real g), not I's size
            before = None if before is not None and before.shape == (1, 1) else before
            after = None if after is not None and after.shape == (1, 1) else after
            size = before.shape[1] if before is not None else after.shape[0] if after is not None else None
            if size is not None and FREE not in sp.sympify(size).free_symbols:
                out[k] = f.xreplace({FREE: size})  # else a sum around it may still fix it (2I + A)
        elif isinstance(f, (sp.OneMatrix, sp.ZeroMatrix)):
            row = f.shape[0] == 1  # 1ᵀ (after a transpose) takes its length from what follows
            if row and after is not None and FREE not in dims(after):
                out[k] = f.func(1, after.shape[0])
            elif not row and before is not None and FREE not in dims(before):
                out[k] = f.func(before.shape[1], 1)
    return out

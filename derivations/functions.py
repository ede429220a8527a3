"""The elementwise functions of the homework's notation: one row each, read by every part that
knows a function — the answer reader (its spellings), the derivations (its SymPy form and
derivative), the printers (LaTeX, plain, Unicode) and numeric evaluation (its NumPy form).

Adding a function is adding its row to ``ROWS``.  The oracles in ``numerics/`` keep their own
torch functions (found by name there), so a row never reaches the independent witness.

The lookups below (``FUNCTIONS``, ``SPELLINGS``, ``MATRIX_SPELLINGS``, ``DERIVATIVE``) are
built from the rows once and rebuilt in place by ``add``/``remove``, so that a module holding
one of them sees a row registered after it was imported (a test's, say).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp


@dataclass(frozen=True)
class Function:
    """One function applied entry by entry.

    ``spellings``: the names an answer or a course statement may write (``name`` among them;
    none for a derivative, which is written with a prime, ``sigma'``); ``sympy``: its value at a
    scalar SymPy expression; ``derivative``: the row of f' (for the chain rule, and for ``f'`` in
    an answer), None where no rule is recorded; ``latex``/``plain``/``unicode``: its name as each
    printer writes a call; ``numpy``: its value on an array; ``matrix``: whether it applies to a
    matrix entry by entry (else only to scalars: floor, sin); ``indicator``: printed as
    1[x > 0] instead of a call."""

    name: str
    sympy: Callable[[sp.Expr], sp.Expr]
    numpy: Callable[[np.ndarray], np.ndarray]
    latex: str
    plain: str
    unicode: str
    spellings: tuple[str, ...] = ()
    derivative: str | None = None
    matrix: bool = True
    indicator: bool = False
    # f'(z) as a polynomial in the value y = f(z) (tanh' = 1 − y², σ' = y − y²), so a Jacobian can be
    # written in the state itself (1 − h_k ⊙ h_k), as the homework does; None where it is not one
    by_value: Callable[[sp.Expr], sp.Expr] | None = None
    # the row of f⁻¹, so that f^{-1}(x) (\tanh^{-1}) is the inverse function, not 1/f(x)
    inverse: str | None = None


def _sigmoid(x: Any) -> Any:
    return 1 / (1 + sp.exp(-x))


def _np_sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


ROWS: tuple[Function, ...] = (
    Function(
        "sigma",
        _sigmoid,
        _np_sigmoid,
        r"\sigma",
        "sigma",
        "σ",
        ("sigma", "sigmoid"),
        "sigma'",
        by_value=lambda y: y - y**2,
    ),
    Function(
        "sigma'",
        lambda x: _sigmoid(x) * (1 - _sigmoid(x)),
        lambda x: _np_sigmoid(x) * (1.0 - _np_sigmoid(x)),
        r"\sigma'",
        "sigma'",
        "σ'",
    ),
    Function(
        "tanh",
        sp.tanh,
        np.tanh,
        r"\tanh",
        "tanh",
        "tanh",
        ("tanh",),
        "tanh'",
        by_value=lambda y: 1 - y**2,
        inverse="artanh",
    ),
    Function(
        "artanh",
        sp.atanh,
        np.arctanh,
        r"\operatorname{artanh}",
        "artanh",
        "artanh",
        ("artanh", "arctanh", "atanh"),
        "artanh'",
        inverse="tanh",
    ),
    Function(
        "artanh'",
        lambda x: 1 / (1 - x**2),
        lambda x: 1.0 / (1.0 - x**2),
        r"\operatorname{artanh}'",
        "artanh'",
        "artanh'",
    ),
    Function("tanh'", lambda x: 1 - sp.tanh(x) ** 2, lambda x: 1.0 - np.tanh(x) ** 2, r"\tanh'", "tanh'", "tanh'"),
    Function(
        "relu",
        lambda x: sp.Max(0, x),
        lambda x: np.maximum(x, 0.0),
        r"\operatorname{ReLU}",
        "relu",
        "ReLU",
        ("relu", "ReLU"),
        "step",
    ),
    # ReLU's derivative, the subgradient 0 at 0: the indicator 1[x > 0]
    Function(
        "step",
        lambda x: sp.Piecewise((1, x > 0), (0, True)),
        lambda x: (x > 0).astype(float),
        r"\mathbb{1}",
        "1",
        "1",
        indicator=True,
    ),
    Function("exp", sp.exp, np.exp, r"\exp", "exp", "exp", ("exp",), "exp", by_value=lambda y: y),
    Function("log", sp.log, np.log, r"\log", "log", "log", ("log", "ln"), "log'"),
    Function("log'", lambda x: 1 / x, lambda x: 1.0 / x, r"\log'", "log'", "log'"),
    # \operatorname{sqrt}(x) in LaTeX: \sqrt takes a braced argument, not a call's parenthesis
    Function("sqrt", sp.sqrt, np.sqrt, r"\operatorname{sqrt}", "sqrt", "√", ("sqrt",), "sqrt'"),
    Function(
        "sqrt'", lambda x: 1 / (2 * sp.sqrt(x)), lambda x: 0.5 / np.sqrt(x), r"\operatorname{sqrt}'", "sqrt'", "sqrt'"
    ),
    # sech² = tanh' is how some solutions write the tanh derivative
    Function("sech", sp.sech, lambda x: 1.0 / np.cosh(x), r"\operatorname{sech}", "sech", "sech", ("sech",), "sech'"),
    Function(
        "sech'",
        lambda x: -sp.sech(x) * sp.tanh(x),
        lambda x: -np.tanh(x) / np.cosh(x),
        r"\operatorname{sech}'",
        "sech'",
        "sech'",
    ),
    # scalars only: the reader knows them, matrices never carry them
    Function("sin", sp.sin, np.sin, r"\sin", "sin", "sin", ("sin",), matrix=False),
    Function("cos", sp.cos, np.cos, r"\cos", "cos", "cos", ("cos",), matrix=False),
    Function("tan", sp.tan, np.tan, r"\tan", "tan", "tan", ("tan",), matrix=False),
    Function("abs", sp.Abs, np.abs, r"\operatorname{abs}", "abs", "abs", ("abs",), matrix=False),
    Function("floor", sp.floor, np.floor, r"\lfloor", "floor", "floor", ("floor",), matrix=False),
    Function("ceil", sp.ceiling, np.ceil, r"\lceil", "ceil", "ceil", ("ceil",), matrix=False),
)

FUNCTIONS: dict[str, Function] = {}
"""Row name → row: every function known now (the rows above and any added)."""
SPELLINGS: dict[str, Function] = {}
"""Every name an answer may write (sigmoid, ReLU, ln) → its row."""
MATRIX_SPELLINGS: dict[str, str] = {}
"""Names usable on a matrix, primed ones included (relu' → step) → the row's name."""
DERIVATIVE: dict[str, str] = {}
"""f → f' for the chain rule through a function applied to a matrix (rows with a recorded derivative)."""


_revision = 0


def revision() -> int:
    """How many times the table has changed: a memo of what was read with it keys on this."""
    return _revision


def _refresh() -> None:
    """Rebuild the lookups in place (their holders keep the same objects)."""
    global _revision
    _revision += 1
    rows = list(FUNCTIONS.values())
    SPELLINGS.clear()
    SPELLINGS.update({spelling: row for row in rows for spelling in row.spellings})
    MATRIX_SPELLINGS.clear()
    for spelling, row in SPELLINGS.items():
        if row.matrix:
            MATRIX_SPELLINGS[spelling] = row.name
            if row.derivative:
                MATRIX_SPELLINGS[spelling + "'"] = row.derivative
    DERIVATIVE.clear()
    DERIVATIVE.update({row.name: row.derivative for row in rows if row.matrix and row.derivative})


def add(row: Function) -> None:
    """Register a row after import (a test's, or a course's own function); ``remove`` undoes it.

    A function of the homework belongs in ``ROWS``; this exists so that a test can show that
    one row is all a new function needs, and leave the table as it found it."""
    if row.name in FUNCTIONS:
        raise ValueError(f"a function named {row.name} exists already")
    taken = sorted(set(row.spellings) & set(SPELLINGS))
    if taken:
        raise ValueError(f"{row.name}: spellings {', '.join(taken)} belong to other functions")
    if row.derivative is not None and row.derivative not in FUNCTIONS:
        raise ValueError(f"{row.name}: its derivative {row.derivative} has no row")
    FUNCTIONS[row.name] = row
    _refresh()


def remove(name: str) -> None:
    """Take a row ``add`` registered out of the table again."""
    if any(row.name == name for row in ROWS):
        raise ValueError(f"{name} is one of the homework's own functions")
    del FUNCTIONS[name]
    _refresh()


def by_spelling() -> dict[str, Function]:
    """Every name an answer may write (sigmoid, ReLU, ln) → its row."""
    return dict(SPELLINGS)


def matrix_spellings() -> dict[str, str]:
    """Names usable on a matrix, primed ones included (relu' → step) → the row's name."""
    return dict(MATRIX_SPELLINGS)


def derivative(name: str) -> Function | None:
    """The row of f' for the row ``name``, None where no rule is recorded."""
    row = FUNCTIONS.get(name)
    return FUNCTIONS[row.derivative] if row is not None and row.derivative else None


FUNCTIONS.update({row.name: row for row in ROWS})
_refresh()

"""The functions the course oracle (``numerics.course``) applies, by the homework's name: its own
table of torch functions, else torch's function of that name (``torch.nn.functional.<name>``,
then ``torch.<name>``), so that a function added to the homework's notation is run by torch's
own implementation, never by the derivation side's.

Apart from ``numerics.course`` so that it costs no torch import for the names of the table: the
course loader asks ``runs(name)`` of every function a statement applies, and a problem file is
read by the checker's workers, which never load torch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# The homework's name → torch's name for the same function, where the oracle decides it itself.
OWN = {
    "sigma": "sigmoid",
    "tanh": "tanh",
    "relu": "relu",
    "exp": "exp",
    "log": "log",
    "sqrt": "sqrt",
    "artanh": "atanh",
    "sech": "sech",
    "diag": "diag",
    "trace": "trace",
    "det": "det",
}


def function(name: str) -> Callable[[Any], Any] | None:
    """The torch function the oracle applies for ``name``, None if torch has none by that name."""
    import torch

    if name == "diag":
        return lambda v: torch.diag(v.reshape(-1))  # of a column vector: the diagonal matrix
    if name == "trace":  # scalars of a square matrix, 1×1 as the course's scalars are
        return lambda m: torch.trace(m).reshape(1, 1)
    if name == "det":
        return lambda m: torch.linalg.det(m).reshape(1, 1)
    if name == "sech":  # torch has no sech
        return lambda v: 1 / torch.cosh(v)
    if name in OWN:
        return getattr(torch, OWN[name])
    if not name.isidentifier() or name.startswith("_"):
        return None
    for module in (torch.nn.functional, torch):
        found = getattr(module, name, None)
        if callable(found):
            return found
    return None


def runs(name: str) -> bool:
    """Whether the oracle can apply ``name`` (torch is imported only for a name outside OWN)."""
    return name in OWN or function(name) is not None

"""A function row the tests add to derivations.functions (softplus: log(1 + eˣ), whose derivative is σ)."""

from __future__ import annotations

import numpy as np
import sympy as sp

from derivations.functions import Function

SOFTPLUS = Function(
    "softplus",
    lambda x: sp.log(1 + sp.exp(x)),
    lambda x: np.log1p(np.exp(x)),
    r"\operatorname{softplus}",
    "softplus",
    "softplus",
    ("softplus",),
    "sigma",
)

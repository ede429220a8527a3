"""A module imported on first use, so that describing a problem costs no SymPy or torch import."""

from __future__ import annotations

import importlib
from typing import Any


class LazyModule:
    """``LazyModule("derivations.lae").min_loss`` imports ``derivations.lae`` at that moment."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        object.__setattr__(self, "_name", name)

    def __getattr__(self, attribute: str) -> Any:
        return getattr(importlib.import_module(self._name), attribute)

    def __repr__(self) -> str:
        return f"LazyModule({self._name!r})"


def lazy(name: str) -> LazyModule:
    return LazyModule(name)

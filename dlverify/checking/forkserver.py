"""How a module preloaded into the checker's forkserver knows that it is there.

pool.py starts the forkserver (the process that has imported SymPy and the checker and forks each
worker) with ``FLAG`` in its environment, and only that process: the flag is set while the
forkserver is spawned and removed from the parent's environment right after.  A preloaded module
asks ``in_forkserver()`` at import, which also removes the flag so that the workers forked from
the forkserver do not inherit it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

FLAG = "DLVERIFY_CHECKER_FORKSERVER"


@contextlib.contextmanager
def flagged() -> Iterator[None]:
    """The environment a forkserver started inside this block inherits carries ``FLAG`` (the caller
    holds a lock: the parent's environment is changed for the block)."""
    before = os.environ.get(FLAG)
    os.environ[FLAG] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(FLAG, None)
        else:
            os.environ[FLAG] = before


def in_forkserver() -> bool:
    """Whether this process is the checker's forkserver; true once, at the preload."""
    return os.environ.pop(FLAG, None) == "1"

"""Derived references kept on disk, so a cold ``dlverify check`` loads in milliseconds what
SymPy takes seconds to derive.

One file per problem id, in a folder named by a key over everything a derivation can depend
on: the package version, the Python and SymPy versions and the bytes of every source file of
``derivations/`` and of the description modules.  Editing any of them changes the key, so a
stale entry is never read; the folders of all but the last few versions are removed.

An entry is written to a temporary file and renamed into place, so two processes deriving the
same id at once both leave a whole file.  Each file carries a SHA-256 of its payload; a file
that fails the check or does not unpickle is ignored and rewritten, never trusted.

``DLVERIFY_CACHE`` names the folder (``off`` disables the cache); the default is
``$XDG_CACHE_HOME/dlverify`` or ``~/.cache/dlverify``.  A folder that cannot be written only
costs the speed: the derivation is used from memory.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import platform
import sys
import tempfile
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import Any

MAGIC = b"dlverify-cache-1\n"


def folder() -> Path | None:
    """The cache's root folder, or None when disabled."""
    setting = os.environ.get("DLVERIFY_CACHE", "")
    if setting.lower() in ("off", "0", "no", "false"):
        return None
    if setting:
        return Path(setting)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "dlverify"


def _sources(modules: Iterable[str]) -> list[Path]:
    """The files a derivation can read: the derivation package, the catalog's descriptions and
    their data, the description classes, and the given (a course's own) description modules."""
    import derivations

    package = Path(__file__).parent
    files = sorted(Path(derivations.__file__).parent.glob("*.py"))
    files += sorted((package / "problems").glob("*.py")) + sorted((package / "data").glob("*"))
    files += [package / "problem.py", package / "lazy.py"]
    for name in modules:
        module = sys.modules.get(name)
        path = getattr(module, "__file__", None)
        if path:
            files.append(Path(path))
    return files


@cache
def key(modules: tuple[str, ...]) -> str:
    """The name of the folder for derivations made by this code (see the module's docstring)."""
    import importlib.metadata

    import dlverify

    h = hashlib.sha256()
    try:
        sympy_version = importlib.metadata.version("sympy")
    except importlib.metadata.PackageNotFoundError:
        sympy_version = "?"
    for part in (dlverify.__version__, platform.python_version(), sympy_version, pickle.HIGHEST_PROTOCOL):
        h.update(f"{part}\0".encode())
    for path in _sources(modules):
        h.update(path.name.encode() + b"\0")
        h.update(path.read_bytes())
    return h.hexdigest()[:24]


@cache
def record_key(modules: tuple[str, ...]) -> str:
    """The key of verification records: the derivations' key and every source a cross-check
    runs (the oracles in ``numerics/``, the package's own modules)."""
    import numerics

    h = hashlib.sha256(key(modules).encode())
    package = Path(__file__).parent
    for path in sorted(Path(numerics.__file__).parent.glob("*.py")) + sorted(package.glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    for name in ("torch", "numpy", "scipy", "hypothesis"):
        try:
            import importlib.metadata

            h.update(f"{name}={importlib.metadata.version(name)}\0".encode())
        except importlib.metadata.PackageNotFoundError:
            pass
    return "records-" + h.hexdigest()[:24]


def _file(problem_id: str, folder_name: Callable[[], str]) -> Path | None:
    """The entry's file, or None when the cache is off (then the key is not even computed)."""
    root = folder()
    if root is None:
        return None
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in problem_id)
    return root / folder_name() / f"{safe}.pickle"


def _path(problem_id: str, modules: tuple[str, ...]) -> Path | None:
    return _file(problem_id, lambda: key(modules))


def record_path(problem_id: str, modules: tuple[str, ...]) -> Path | None:
    """Where the latest verification record of ``problem_id`` is kept (see crosscheck)."""
    return _file(problem_id, lambda: record_key(modules))


def load(path: Path) -> tuple[bool, Any]:
    """(True, value) for a sound entry; (False, None) for a missing, corrupt or unreadable one."""
    try:
        data = path.read_bytes()
    except OSError:
        return False, None
    head, digest, payload = data[: len(MAGIC)], data[len(MAGIC) : len(MAGIC) + 32], data[len(MAGIC) + 32 :]
    if head != MAGIC or hashlib.sha256(payload).digest() != digest:
        return False, None
    try:
        return True, pickle.loads(payload)
    except Exception:  # a class renamed since (the key covers sources, not every import)
        return False, None


def store(path: Path, value: Any) -> bool:
    """Write ``value`` atomically; False (and nothing written) if it cannot be pickled or saved."""
    try:
        payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # something unpicklable (a lambda in a derivation): kept in memory only
        return False
    try:
        if not path.parent.is_dir():
            path.parent.mkdir(parents=True, exist_ok=True)
            _prune(path.parent)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pickle")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(MAGIC + hashlib.sha256(payload).digest() + payload)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        return False
    return True


KEEP = 8  # folders of earlier code versions kept beside the current one


def _prune(current: Path) -> None:
    """Remove all but the KEEP most recently used folders of ``current``'s kind (derivations, or
    verification records), besides ``current``: a record folder, new after any edit of the package,
    must never evict the derivation folder still in use."""
    import shutil

    def kind(p: Path) -> bool:
        return p.name.startswith("records-")

    try:
        siblings = [p for p in current.parent.iterdir() if p.is_dir() and p != current and kind(p) == kind(current)]
        siblings.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        return
    for old in siblings[KEEP - 1 :]:
        shutil.rmtree(old, ignore_errors=True)


def cached(problem_id: str, modules: tuple[str, ...], compute: Callable[[], Any]) -> Callable[[], Any]:
    """``compute`` (a problem's derive) read from the disk cache when there, derived and saved
    when not, and kept in memory after the first call."""
    memo: list[Any] = []

    def derive() -> Any:
        if memo:
            return memo[0]
        path = _path(problem_id, modules)
        found, value = load(path) if path is not None else (False, None)
        if not found:
            value = compute()
            if path is not None:
                store(path, value)
        memo.append(value)
        return value

    derive.__wrapped__ = compute  # type: ignore[attr-defined]
    return derive


def clear() -> int:
    """Remove every cached entry; the number of files removed."""
    import shutil

    root = folder()
    if root is None or not root.is_dir():
        return 0
    count = sum(1 for _ in root.rglob("*.pickle"))
    shutil.rmtree(root, ignore_errors=True)
    return count

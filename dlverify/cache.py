"""Derived references kept on disk, so a cold ``dlverify check`` loads in milliseconds what
SymPy takes seconds to derive.

Layout.  The root folder holds one folder per version of the code and kind of entry,
``derivations-<key>`` and ``records-<key>`` (verification records, see crosscheck), each with a
marker file ``.dlverify-cache`` that says the tool made it, and one file per problem id,
``<id>.pickle``.  The key covers everything a derivation can depend on: the package version, the
Python and SymPy versions and the bytes of every source file of ``derivations/`` and of the
catalog's description modules.  It does not depend on the topic: the description module an entry
was derived from (a course's own, outside the package, included) is hashed into the entry itself,
so a cache warmed for any number of topics is one folder and serves them all.  The folders of all
but the last KEEP code versions of each kind are removed.

Trust.  Entries are pickles of SymPy objects, and unpickling runs code, so nothing is unpickled
that this user did not write: every entry carries an HMAC-SHA256 of its name, its description
module's digest and its payload, under a random per-user secret (``.dlverify-key`` in the root,
created 0600), checked with ``hmac.compare_digest`` before the payload is unpickled.  The root,
the entry's folder, the entry and the secret must be owned by this user (the effective uid) and not
writable by group or others (the secret not readable by them either); entries and folders are
opened without following symbolic links.  A root that fails these checks is not used at all: the
derivation is kept in memory, and a warning says why, once.

Only what the tool made is removed: pruning and ``clear`` look only at folders named like its own
and holding its marker, remove only files named like its entries from them (never following a
link), and a folder goes only once nothing else is left in it; a user's files in the root (when
``DLVERIFY_CACHE`` names a folder in use) are never touched.

An entry is written to a temporary file and renamed into place, so two processes deriving the
same id at once both leave a whole file; one that fails any check is ignored and rewritten.

``DLVERIFY_CACHE`` names the root (``off`` disables the cache); the default is
``$XDG_CACHE_HOME/dlverify`` or ``~/.cache/dlverify``.  A root that cannot be written only costs
the speed.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import hmac
import os
import pickle
import platform
import re
import secrets
import stat
import sys
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

FORMAT = "dlverify-cache-2"  # the entry format: in the key, the marker and each entry's head
MAGIC = FORMAT.encode() + b"\n"
MARKER = ".dlverify-cache"  # in each folder the tool made; its content is FORMAT
SECRET = ".dlverify-key"  # in the root: the HMAC key
KINDS = ("derivations", "records")
KEEP = 8  # code versions kept of each kind, the current one included

_FOLDER = re.compile(r"(derivations|records)-[0-9a-f]{24}")  # the tool's folder names
_ENTRY = re.compile(r"[A-Za-z0-9._-]+\.pickle")  # its entries' names (temporary files too)
_SECRET_BYTES = 32
_DIGEST = hashlib.sha256().digest_size
_DIR = os.O_RDONLY | os.O_DIRECTORY
_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK  # a link is refused, a FIFO never blocks


class Untrusted(OSError):
    """A cache folder or file that another user owns or could have written."""


def folder() -> Path | None:
    """The cache's root folder, or None when disabled."""
    setting = os.environ.get("DLVERIFY_CACHE", "")
    if setting.lower() in ("off", "0", "no", "false"):
        return None
    if setting:
        return Path(setting)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "dlverify"


def _sources() -> list[Path]:
    """The files a derivation can read: the derivation package, the catalog's descriptions and
    their data, the experiments they name, and the description classes."""
    import derivations

    package = Path(__file__).parent
    files = sorted(Path(derivations.__file__).parent.glob("*.py"))
    files += sorted((package / "problems").glob("*.py")) + sorted((package / "data").glob("*"))
    files += sorted((package / "experiments").glob("*.py"))  # the descriptions' checks, once in their modules
    files += [package / "problem.py", package / "lazy.py"]
    return files


@cache
def key() -> str:
    """The name of the folder for derivations made by this code (see the module's docstring)."""
    import importlib.metadata

    import dlverify

    h = hashlib.sha256()
    try:
        sympy_version = importlib.metadata.version("sympy")
    except importlib.metadata.PackageNotFoundError:
        sympy_version = "?"
    for part in (FORMAT, dlverify.__version__, platform.python_version(), sympy_version, pickle.HIGHEST_PROTOCOL):
        h.update(f"{part}\0".encode())
    for path in _sources():
        h.update(path.name.encode() + b"\0")
        h.update(path.read_bytes())
    return "derivations-" + h.hexdigest()[:24]


@cache
def record_key() -> str:
    """The folder of verification records: the derivations' key and every source a cross-check
    runs (the oracles in ``numerics/``, the package's own modules)."""
    import importlib.metadata

    import numerics

    h = hashlib.sha256(key().encode())
    package = Path(__file__).parent
    own = sorted(package.glob("*.py")) + sorted(package.glob("course/*.py"))  # a course file's reader included
    for path in sorted(Path(numerics.__file__).parent.glob("*.py")) + own:
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    for name in ("torch", "numpy", "scipy", "hypothesis"):
        try:
            h.update(f"{name}={importlib.metadata.version(name)}\0".encode())
        except importlib.metadata.PackageNotFoundError:
            pass
    return "records-" + h.hexdigest()[:24]


@cache
def depends(modules: tuple[str, ...]) -> bytes:
    """The digest of the description modules an entry was made from (their sources), kept in the
    entry rather than in its folder's name, so that every topic shares one folder."""
    h = hashlib.sha256()
    for name in modules:
        path = getattr(sys.modules.get(name), "__file__", None)
        h.update(name.encode() + b"\0")
        if path:
            try:
                h.update(Path(path).read_bytes())
            except OSError:
                h.update(b"\0unreadable")
    return h.digest()


def _file(problem_id: str, folder_name: Callable[[], str]) -> Path | None:
    """The entry's file, or None when the cache is off (then the key is not even computed)."""
    root = folder()
    if root is None:
        return None
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in problem_id)
    return root / folder_name() / f"{safe}.pickle"


def _path(problem_id: str) -> Path | None:
    return _file(problem_id, key)


def record_path(problem_id: str) -> Path | None:
    """Where the latest verification record of ``problem_id`` is kept (see crosscheck)."""
    return _file(problem_id, record_key)


# --- ownership checks, on open descriptors (what is checked is what is read) ---


def _check(st: os.stat_result, what: str, private: bool = False) -> None:
    if st.st_uid != os.geteuid():
        raise Untrusted(f"{what} is not owned by this user")
    if st.st_mode & (0o077 if private else 0o022):
        raise Untrusted(f"{what} is {'accessible' if private else 'writable'} by group or others")


@contextlib.contextmanager
def _closing(fd: int) -> Iterator[int]:
    try:
        yield fd
    finally:
        os.close(fd)


def _opened(
    path: str | Path, flags: int, dir_fd: int | None = None, mode: int = 0o600
) -> contextlib.AbstractContextManager[int]:
    return _closing(os.open(path, flags, mode, dir_fd=dir_fd))


@contextlib.contextmanager
def _root(root: Path, create: bool) -> Iterator[int]:
    """The root folder, open and checked (a link naming it is followed: the user chose the path;
    the folder it leads to must be the user's)."""
    if create:
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
    with _opened(root, _DIR) as fd:
        _check(os.fstat(fd), f"the cache folder {root}")
        yield fd


def _read_small(fd: int, limit: int) -> bytes:
    data = b""
    while len(data) <= limit and (chunk := os.read(fd, limit + 1 - len(data))):
        data += chunk
    return data


def _secret(root_fd: int, create: bool) -> bytes:
    """The HMAC key, made (0600, whole, by one process) when missing and ``create``
    (FileNotFoundError when missing and not)."""
    try:
        fd = os.open(SECRET, _READ, dir_fd=root_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise Untrusted(f"{SECRET} is a link") from None
        if exc.errno != errno.ENOENT or not create:
            raise
        tmp = f"{SECRET}.{secrets.token_hex(8)}"
        with _opened(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, root_fd) as out:
            os.write(out, secrets.token_bytes(_SECRET_BYTES))
        try:  # a link, not a rename: a secret another process made first is kept, never replaced
            os.link(tmp, SECRET, src_dir_fd=root_fd, dst_dir_fd=root_fd)
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp, dir_fd=root_fd)
        fd = os.open(SECRET, _READ, dir_fd=root_fd)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Untrusted(f"{SECRET} is not a plain file")
        _check(st, SECRET, private=True)
        data = _read_small(fd, _SECRET_BYTES)
    finally:
        os.close(fd)
    if len(data) != _SECRET_BYTES:
        raise Untrusted(f"{SECRET} is not a key this tool made")
    return data


@contextlib.contextmanager
def _folder(root_fd: int, name: str, create: bool) -> Iterator[int]:
    """An entry folder, open and checked; made (with its marker) when missing and ``create``, and
    then the older code versions of its kind are pruned."""
    made = False
    if create:
        try:
            os.mkdir(name, 0o700, dir_fd=root_fd)
            made = True
        except FileExistsError:
            pass
    try:
        fd = os.open(name, _DIR | os.O_NOFOLLOW, dir_fd=root_fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):  # planted in place of the tool's folder
            raise Untrusted(f"{name} is a link or a file, not the tool's folder") from None
        raise
    with _closing(fd):
        _check(os.fstat(fd), f"the cache folder {name}")
        if made:
            with _opened(MARKER, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, fd) as out:
                os.write(out, FORMAT.encode())
            _prune(root_fd, name)
        yield fd


def _mac(secret: bytes, folder_name: str, name: str, digest: bytes, payload: bytes) -> bytes:
    """Bound to the entry's place: a sound entry copied under another id or version is not sound there."""
    h = hmac.new(secret, f"{FORMAT}\0{folder_name}/{name}\0".encode(), hashlib.sha256)
    h.update(digest)
    h.update(payload)
    return h.digest()


_warned: set[str] = set()


def _warn(root: Path, exc: OSError) -> None:
    """Say once per root what of the disk cache is refused (another user's, or writable by others);
    a missing or unwritable folder is not worth the noise."""
    if isinstance(exc, Untrusted) and str(root) not in _warned:
        _warned.add(str(root))
        print(f"dlverify: disk cache {root}: {exc}; not read (derived again, kept in memory)", file=sys.stderr)


def load(path: Path, modules: tuple[str, ...] | None = None) -> tuple[bool, Any]:
    """(True, value) for a sound entry made by this user (and, given ``modules``, from these very
    description modules); (False, None) for a missing, corrupt, stale, foreign or unreadable one."""
    root = path.parent.parent
    try:
        with _root(root, create=False) as root_fd:
            secret = _secret(root_fd, create=False)
            with _folder(root_fd, path.parent.name, create=False) as dir_fd:
                with _opened(path.name, _READ, dir_fd) as fd:
                    st = os.fstat(fd)
                    if not stat.S_ISREG(st.st_mode):
                        return False, None
                    _check(st, path.name)
                    with os.fdopen(os.dup(fd), "rb") as f:
                        data = f.read()
    except FileNotFoundError:
        return False, None
    except OSError as exc:  # a link (ELOOP), another user's file or folder, a permission problem
        _warn(root, exc)
        return False, None
    head, mac = data[: len(MAGIC)], data[len(MAGIC) : len(MAGIC) + _DIGEST]
    digest, payload = data[len(MAGIC) + _DIGEST : len(MAGIC) + 2 * _DIGEST], data[len(MAGIC) + 2 * _DIGEST :]
    if head != MAGIC or len(digest) != _DIGEST:
        return False, None
    # the MAC first: a payload is unpickled only once it is known to be this user's own
    if not hmac.compare_digest(mac, _mac(secret, path.parent.name, path.name, digest, payload)):
        return False, None
    if modules is not None and digest != depends(modules):
        return False, None  # made from another version of its description module
    try:
        return True, pickle.loads(payload)
    except Exception:  # a class renamed since (the key covers sources, not every import)
        return False, None


def store(path: Path, value: Any, modules: tuple[str, ...] = ()) -> bool:
    """Write ``value`` atomically; False (and nothing written) if it cannot be pickled or saved."""
    try:
        payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # something unpicklable (a lambda in a derivation): kept in memory only
        return False
    root = path.parent.parent
    digest = depends(modules)
    try:
        with _root(root, create=True) as root_fd:
            secret = _secret(root_fd, create=True)
            mac = _mac(secret, path.parent.name, path.name, digest, payload)
            with _folder(root_fd, path.parent.name, create=True) as dir_fd:
                tmp = f".tmp-{secrets.token_hex(8)}.pickle"
                try:
                    with _opened(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, dir_fd) as fd:
                        with os.fdopen(os.dup(fd), "wb") as f:
                            f.write(MAGIC + mac + digest + payload)
                    # a link planted under the entry's name is replaced itself, never followed
                    os.replace(tmp, path.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
                except BaseException:
                    try:
                        os.unlink(tmp, dir_fd=dir_fd)
                    except FileNotFoundError:
                        pass
                    raise
    except OSError as exc:
        _warn(root, exc)
        return False
    return True


# --- removing only what the tool made ---


def _ours(root_fd: int, name: str) -> int | None:
    """An open descriptor of the tool's folder ``name`` (its naming, this user's, its marker), or None."""
    if not _FOLDER.fullmatch(name):
        return None
    try:
        fd = os.open(name, _DIR | os.O_NOFOLLOW, dir_fd=root_fd)
    except OSError:  # gone, a link, not a folder
        return None
    try:
        _check(os.fstat(fd), name)
        with _opened(MARKER, _READ, fd) as marker:
            st = os.fstat(marker)
            if stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid():
                if _read_small(marker, len(FORMAT)) == FORMAT.encode():
                    return fd
    except OSError:
        pass
    os.close(fd)
    return None


def _is_ours(root_fd: int, name: str) -> bool:
    fd = _ours(root_fd, name)
    if fd is not None:
        os.close(fd)
    return fd is not None


def _entries(dir_fd: int) -> list[os.DirEntry]:
    """The tool's entry files in an open folder of its own: plain files with its naming."""
    with os.scandir(dir_fd) as it:
        return [e for e in it if _ENTRY.fullmatch(e.name) and e.is_file(follow_symlinks=False)]


def _remove(root_fd: int, name: str) -> int:
    """Remove the tool's entries from its folder ``name``, and the folder once nothing else is
    left in it; the number of entry files removed."""
    fd = _ours(root_fd, name)
    if fd is None:
        return 0
    removed = 0
    try:
        for entry in _entries(fd):
            try:
                os.unlink(entry.name, dir_fd=fd)
                removed += 1
            except FileNotFoundError:  # another process's clear, or its rename, came first
                pass
        with os.scandir(fd) as it:
            left = [e.name for e in it]
        if left == [MARKER]:  # anything else (a user's file, a link) keeps the folder
            os.unlink(MARKER, dir_fd=fd)
            os.rmdir(name, dir_fd=root_fd)
    except OSError:
        pass
    finally:
        os.close(fd)
    return removed


def _prune(root_fd: int, current: str) -> None:
    """Keep the KEEP most recently written of ``current``'s kind (derivations, or verification
    records), ``current`` included: a record folder, new after any edit of the package, must never
    evict the derivation folder still in use."""
    kind = current.split("-", 1)[0]
    dated = []
    with os.scandir(root_fd) as it:
        names = [e.name for e in it if e.name != current and e.name.startswith(kind + "-")]
    for name in names:
        fd = _ours(root_fd, name)
        if fd is not None:
            try:
                dated.append((os.fstat(fd).st_mtime, name))
            finally:
                os.close(fd)
    dated.sort(reverse=True)
    for _, name in dated[KEEP - 1 :]:
        _remove(root_fd, name)


def refusal() -> str | None:
    """Why the root folder is not used (another user's, writable by others, ...), or None."""
    root = folder()
    if root is None:
        return None
    try:
        with _root(root, create=False) as root_fd:
            _secret(root_fd, create=False)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return str(exc) if isinstance(exc, Untrusted) else f"{exc.strerror or exc}"
    return None


def entries() -> list[tuple[Path, int]]:
    """The tool's entries in the root, with their sizes."""
    root = folder()
    found: list[tuple[Path, int]] = []
    if root is None:
        return found
    try:
        with _root(root, create=False) as root_fd, os.scandir(root_fd) as it:
            names = sorted(e.name for e in it)
            for name in names:
                fd = _ours(root_fd, name)
                if fd is not None:
                    try:
                        found += [(root / name / e.name, e.stat(follow_symlinks=False).st_size) for e in _entries(fd)]
                    finally:
                        os.close(fd)
    except OSError:
        pass
    return found


def clear() -> int:
    """Remove every entry the tool made in the root; the number of entry files actually removed.
    The secret stays: a file of that name may not be ours to remove, and 32 bytes cost nothing."""
    root = folder()
    if root is None:
        return 0
    removed = 0
    try:
        with _root(root, create=False) as root_fd:
            with os.scandir(root_fd) as it:
                names = [e.name for e in it]
            for name in names:
                removed += _remove(root_fd, name)
    except OSError:  # not there, not this user's: nothing (more) removed
        pass
    return removed


def cached(problem_id: str, modules: tuple[str, ...], compute: Callable[[], Any]) -> Callable[[], Any]:
    """``compute`` (a problem's derive) read from the disk cache when there, derived and saved
    when not, and kept in memory after the first call."""
    memo: list[Any] = []

    def derive() -> Any:
        if memo:
            return memo[0]
        path = _path(problem_id)
        found, value = load(path, modules) if path is not None else (False, None)
        if not found:
            value = compute()
            if path is not None:
                store(path, value, modules)
        memo.append(value)
        return value

    derive.__wrapped__ = compute  # type: ignore[attr-defined]
    return derive

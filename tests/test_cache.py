"""The disk cache of derivations: read when sound, rebuilt when not, keyed by the code."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import sympy as sp

from dlverify import cache
from dlverify.cli import main


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DLVERIFY_CACHE", str(tmp_path))
    return tmp_path


def _counting(value: sp.Basic) -> tuple[list[int], object]:
    calls: list[int] = []

    def compute() -> sp.Basic:
        calls.append(1)
        return value

    return calls, compute


def test_a_derivation_is_read_back_instead_of_derived(folder: Path) -> None:
    x = sp.Symbol("x")
    calls, compute = _counting(sp.sin(x) ** 2)
    assert cache.cached("demo.item", (), compute)() == sp.sin(x) ** 2
    assert calls == [1] and len(list(folder.rglob("*.pickle"))) == 1
    again = cache.cached("demo.item", (), compute)  # a new process would build this afresh
    assert again() == sp.sin(x) ** 2 and again() == sp.sin(x) ** 2
    assert calls == [1]


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty", "garbage"])
def test_a_corrupt_entry_is_never_trusted(folder: Path, damage: str) -> None:
    x = sp.Symbol("x")
    calls, compute = _counting(x + 1)
    cache.cached("demo.item", (), compute)()
    (path,) = folder.rglob("*.pickle")
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[-5] ^= 0xFF
    elif damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "empty":
        data = bytearray()
    else:
        data = bytearray(b"dlverify-cache-1\n" + bytes(32) + b"not a pickle")
    path.write_bytes(bytes(data))
    assert cache.cached("demo.item", (), compute)() == x + 1
    assert calls == [1, 1]  # derived again
    assert cache.load(path) == (True, x + 1)  # and rewritten whole


def test_the_key_changes_with_the_derivation_source(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    source = tmp_path / "derivation.py"
    source.write_text("x = 1\n")
    monkeypatch.setattr(cache, "_sources", lambda: [source])
    cache.key.cache_clear()
    before = cache.key()
    source.write_text("x = 2\n")
    cache.key.cache_clear()
    after = cache.key()
    cache.key.cache_clear()
    assert before != after


def test_the_package_version_is_part_of_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    import dlverify

    cache.key.cache_clear()
    before = cache.key()
    monkeypatch.setattr(dlverify, "__version__", "999.0")
    cache.key.cache_clear()
    after = cache.key()
    cache.key.cache_clear()
    assert before != after


def test_off_and_unwritable_cost_only_speed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    x = sp.Symbol("x")
    monkeypatch.setenv("DLVERIFY_CACHE", "off")
    calls, compute = _counting(x)
    assert cache.cached("demo.item", (), compute)() == x
    blocked = tmp_path / "file"
    blocked.write_text("a file where the folder would be")
    monkeypatch.setenv("DLVERIFY_CACHE", str(blocked))
    assert cache.cached("demo.item", (), compute)() == x
    assert calls == [1, 1] and blocked.read_text().startswith("a file")


def test_two_processes_building_at_once_leave_a_sound_entry(folder: Path) -> None:
    code = (
        "from dlverify import registry, notation\nprint(notation.plain(registry.get('lae.grad_W1').derive().result))\n"
    )
    env = {**os.environ, "DLVERIFY_CACHE": str(folder)}
    runs = [
        subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True) for _ in range(2)
    ]
    outputs = [r.communicate(timeout=120)[0] for r in runs]
    assert all(r.returncode == 0 for r in runs)
    assert outputs[0] == outputs[1] and "W_2^T" in outputs[0]
    (entry,) = [p for p in folder.rglob("lae.grad_W1.pickle")]
    found, value = cache.load(entry)
    assert found and "W_2" in str(value.result)
    assert not list(folder.rglob(".tmp-*"))  # no temporary file left behind


def _tool_folder(root: Path, name: str, mtime: int | None = None) -> Path:
    """A folder as an earlier version of the code left it: its marker and one entry."""
    made = root / name
    made.mkdir(mode=0o700)
    (made / cache.MARKER).write_text(cache.FORMAT)
    (made / "x.pickle").write_bytes(b"")
    if mtime is not None:
        os.utime(made, (mtime, mtime))
    return made


def _version(kind: str, k: int) -> str:
    return f"{kind}-{k:024x}"


def test_only_the_last_few_code_versions_are_kept(folder: Path) -> None:
    for k in range(cache.KEEP + 3):
        _tool_folder(folder, _version("derivations", k), 1_000_000 + k)
    in_use = _tool_folder(folder, _version("records", 999))  # made new by any edit: never evicts derivations
    x = sp.Symbol("x")
    cache.cached("demo.item", (), lambda: x)()  # a new key folder: the oldest ones go
    kept = sorted(p.name for p in folder.glob("derivations-*"))
    assert len(kept) == cache.KEEP and _version("derivations", 0) not in kept
    assert _version("derivations", cache.KEEP + 2) in kept and cache.key() in kept
    for k in range(cache.KEEP + 3):
        _tool_folder(folder, _version("records", k), 1_000_000 + k)
    os.utime(in_use, (2_000_000, 2_000_000))
    assert cache.store(folder / cache.record_key() / "x.pickle", x)  # records pruned among themselves
    records = sorted(p.name for p in folder.glob("records-*"))
    assert len(records) == cache.KEEP and in_use.name in records and cache.record_key() in records
    assert sorted(p.name for p in folder.glob("derivations-*")) == kept


class _Planted:
    """A pickle whose loading would run code: here, make a folder."""

    def __init__(self, flag: Path) -> None:
        self.flag = flag

    def __reduce__(self):
        return (os.mkdir, (str(self.flag),))


@pytest.mark.parametrize("framing", ["sha256", "forged-mac"])
def test_a_planted_pickle_is_never_run(folder: Path, tmp_path_factory: pytest.TempPathFactory, framing: str) -> None:
    import hashlib
    import hmac

    x = sp.Symbol("x")
    calls, compute = _counting(x + 2)
    cache.cached("demo.item", (), compute)()
    (path,) = folder.rglob("demo.item.pickle")
    flag = tmp_path_factory.mktemp("planted") / "ran"
    payload = pickle.dumps(_Planted(flag))
    if framing == "sha256":  # what an unkeyed checksum lets anyone write
        data = cache.MAGIC + hashlib.sha256(payload).digest() + payload
    else:  # the real framing, under a key that is not this user's secret
        digest = hashlib.sha256(b"\0").digest()
        data = cache.MAGIC + hmac.new(b"guess" * 8, payload, hashlib.sha256).digest() + digest + payload
    path.write_bytes(data)
    assert cache.cached("demo.item", (), compute)() == x + 2
    assert not flag.exists() and calls == [1, 1]  # never unpickled: derived again
    assert cache.load(path) == (True, x + 2)  # and rebuilt


def test_an_entry_is_bound_to_its_place(folder: Path) -> None:
    x = sp.Symbol("x")
    cache.cached("demo.one", (), lambda: x)()
    cache.cached("demo.two", (), lambda: 2 * x)()
    one, two = folder.rglob("demo.one.pickle"), folder.rglob("demo.two.pickle")
    (one,), (two,) = one, two
    two.write_bytes(one.read_bytes())  # a sound entry, copied under another id
    assert cache.load(two) == (False, None)


def test_a_linked_entry_is_refused_and_its_target_left_alone(folder: Path, tmp_path_factory) -> None:
    x = sp.Symbol("x")
    calls, compute = _counting(x * 3)
    cache.cached("demo.item", (), compute)()
    (path,) = folder.rglob("demo.item.pickle")
    target = tmp_path_factory.mktemp("elsewhere") / "target.pickle"
    target.write_bytes(path.read_bytes())  # sound bytes: only the link gives it away
    path.unlink()
    path.symlink_to(target)
    before = target.read_bytes()
    assert cache.cached("demo.item", (), compute)() == x * 3
    assert calls == [1, 1]
    assert not path.is_symlink() and cache.load(path) == (True, x * 3)  # the link replaced, not followed
    assert target.read_bytes() == before


@pytest.mark.parametrize("what", ["folder", "secret"])
def test_a_link_in_place_of_the_folder_or_secret_is_refused(
    folder: Path, tmp_path_factory: pytest.TempPathFactory, what: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    x = sp.Symbol("x")
    calls, compute = _counting(x / 2)
    cache.cached("demo.item", (), compute)()
    (path,) = folder.rglob("demo.item.pickle")
    placed = path.parent if what == "folder" else folder / cache.SECRET
    elsewhere = tmp_path_factory.mktemp("elsewhere") / placed.name
    shutil.move(placed, elsewhere)  # sound contents, this user's: only the link gives it away
    placed.symlink_to(elsewhere)
    assert cache.cached("demo.item", (), compute)() == x / 2
    assert calls == [1, 1] and "link" in capsys.readouterr().err
    assert placed.is_symlink() and cache.load(path) == (False, None)


@pytest.mark.parametrize("what", ["entry", "folder", "root", "secret"])
def test_what_others_can_write_is_refused(folder: Path, what: str, capsys: pytest.CaptureFixture[str]) -> None:
    x = sp.Symbol("x")
    calls, compute = _counting(x - 1)
    cache.cached("demo.item", (), compute)()
    (path,) = folder.rglob("demo.item.pickle")
    target = {"entry": path, "folder": path.parent, "root": folder, "secret": folder / cache.SECRET}[what]
    target.chmod(target.stat().st_mode | (0o044 if what == "secret" else 0o022))
    assert cache.cached("demo.item", (), compute)() == x - 1
    assert calls == [1, 1]  # not read: derived again
    if what == "entry":  # rewritten whole, by this user, writable only by this user
        assert cache.load(path) == (True, x - 1) and not path.stat().st_mode & 0o022
    else:  # nothing of the cache is used while the folder (or secret) stays so: a warning says why
        assert "not read" in capsys.readouterr().err
        assert cache.load(path) == (False, None)


@pytest.mark.skipif(os.geteuid() != 0, reason="making a folder another user's needs root")
def test_another_users_folder_is_not_used(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    x = sp.Symbol("x")
    calls, compute = _counting(x)
    cache.cached("demo.item", (), compute)()
    for p in [folder, *folder.rglob("*")]:
        os.chown(p, 4242, 4242, follow_symlinks=False)
    assert cache.cached("demo.item", (), compute)() == x
    assert calls == [1, 1] and "not owned by this user; not read" in capsys.readouterr().err
    assert main(["cache", "--clear"]) == 0
    assert "is not used" in capsys.readouterr().out and list(folder.rglob("demo.item.pickle"))


def _users_files(root: Path) -> dict[Path, str]:
    files = {root / "notes.txt": "my notes", root / "src" / "main.py": "print('hi')\n"}
    files |= {root / f"project{k}" / "report.tex": f"project {k}" for k in range(1, 11)}
    files[root / f"{'a' * 24}" / "data.pickle"] = "named like an old key folder"
    files[root / _version("derivations", 7) / "thesis.pickle"] = "named like the tool's, no marker"
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return files


def test_a_users_folder_keeps_every_file_through_pruning(folder: Path) -> None:
    files = _users_files(folder)
    for k in range(cache.KEEP + 3):  # the tool's own old versions, to be pruned beside them
        _tool_folder(folder, _version("derivations", 100 + k), 1_000_000 + k)
    kept_with_file = _tool_folder(folder, _version("derivations", 99))  # the oldest, with a user's file in it
    (kept_with_file / "mine.txt").write_text("mine")
    os.utime(kept_with_file, (999, 999))
    x = sp.Symbol("x")
    cache.cached("demo.item", (), lambda: x)()  # a new key folder: prunes
    assert all(path.read_text() == text for path, text in files.items())
    assert (kept_with_file / "mine.txt").read_text() == "mine" and not (kept_with_file / "x.pickle").exists()
    in_use = [p for p in folder.glob("derivations-*") if (p / cache.MARKER).exists() and any(p.glob("*.pickle"))]
    assert len(in_use) == cache.KEEP


def test_clear_removes_only_the_tools_entries_and_counts_them(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = _users_files(folder)
    x = sp.Symbol("x")
    for k in range(3):
        cache.cached(f"demo.item{k}", (), lambda: x)()
    assert main(["cache"]) == 0
    assert ": 3 entries" in capsys.readouterr().out
    assert main(["cache", "--clear"]) == 0
    assert f"removed 3 cached entries from {folder}" in capsys.readouterr().out
    assert all(path.read_text() == text for path, text in files.items())
    assert not list(folder.glob(cache.key()))
    assert main(["cache", "--clear"]) == 0
    assert "removed 0 cached entries" in capsys.readouterr().out


def test_clear_keeps_a_file_named_like_the_secret(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A file named .dlverify-key in a folder of the user's is not known to be the tool's."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / cache.SECRET).write_bytes(b"k" * 32)
    (folder / cache.SECRET).chmod(0o600)
    assert main(["cache", "--clear"]) == 0
    assert "removed 0 cached entries" in capsys.readouterr().out
    assert (folder / cache.SECRET).read_bytes() == b"k" * 32


def test_clear_through_a_linked_folder_is_truthful(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real, outside = tmp_path / "real", tmp_path / "outside"
    real.mkdir(mode=0o700)
    outside.mkdir(mode=0o700)
    link = tmp_path / "link"
    link.symlink_to(real)
    monkeypatch.setenv("DLVERIFY_CACHE", str(link))
    x = sp.Symbol("x")
    for k in range(4):
        cache.cached(f"demo.item{k}", (), lambda: x)()
    foreign = _tool_folder(outside, _version("derivations", 5))  # reached only through a link in the root
    (real / foreign.name).symlink_to(foreign)
    assert main(["cache", "--clear"]) == 0
    assert "removed 4 cached entries" in capsys.readouterr().out
    assert not list(real.rglob("*.pickle"))  # the count is what went
    assert (foreign / "x.pickle").exists() and (real / foreign.name).is_symlink()  # a link is never followed


def test_a_cache_warmed_for_many_topics_serves_them_all(
    folder: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    import types

    sources = tmp_path_factory.mktemp("topics")
    topics = [f"course_topic_{k}" for k in range(2 * cache.KEEP + 1)]
    for name in topics:  # each entry depends on its own description module, as a topic's do
        module = types.ModuleType(name)
        module.__file__ = str(sources / f"{name}.py")
        Path(module.__file__).write_text(f"TOPIC = {name!r}\n")
        monkeypatch.setitem(sys.modules, name, module)
    x = sp.Symbol("x")
    calls, compute = _counting(x)
    for name in topics:
        cache.cached(f"{name}.item", (name,), compute)()
    for name in topics:  # a later process: every one read back
        assert cache.cached(f"{name}.item", (name,), compute)() == x
    assert len(calls) == len(topics)
    Path(sys.modules[topics[0]].__file__).write_text("TOPIC = 'edited'\n")  # its module edited: that one is stale
    cache.depends.cache_clear()
    cache.cached(f"{topics[0]}.item", (topics[0],), compute)()
    assert len(calls) == len(topics) + 1

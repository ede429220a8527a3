"""The disk cache of derivations: read when sound, rebuilt when not, keyed by the code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sympy as sp

from dlverify import cache


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
    monkeypatch.setattr(cache, "_sources", lambda modules: [source])
    cache.key.cache_clear()
    before = cache.key(())
    source.write_text("x = 2\n")
    cache.key.cache_clear()
    after = cache.key(())
    cache.key.cache_clear()
    assert before != after


def test_the_package_version_is_part_of_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    import dlverify

    cache.key.cache_clear()
    before = cache.key(())
    monkeypatch.setattr(dlverify, "__version__", "999.0")
    cache.key.cache_clear()
    after = cache.key(())
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


def test_only_the_last_few_code_versions_are_kept(folder: Path) -> None:
    for k in range(cache.KEEP + 3):
        old = folder / f"old{k:02}"
        old.mkdir()
        (old / "x.pickle").write_bytes(b"")
        os.utime(old, (1_000_000 + k, 1_000_000 + k))
    in_use = folder / "records-in-use"  # records, made new by any edit: they never evict derivations
    in_use.mkdir()
    x = sp.Symbol("x")
    cache.cached("demo.item", (), lambda: x)()  # a new key folder: the oldest ones go
    kept = sorted(p.name for p in folder.iterdir() if not p.name.startswith("records-"))
    assert len(kept) == cache.KEEP and "old00" not in kept and f"old{cache.KEEP + 2:02}" in kept
    for k in range(cache.KEEP + 3):
        (folder / f"records-{k:02}").mkdir()
    assert cache.store(folder / "records-new" / "x.pickle", x)  # records pruned among themselves
    records = [p for p in folder.iterdir() if p.name.startswith("records-")]
    assert len(records) == cache.KEEP
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith("records-")) == kept

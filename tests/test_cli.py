from __future__ import annotations

import ast
import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
import sympy as sp

from derivations.core import Derivation
from dlverify import registry
from dlverify.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_list_shows_every_scalar_rnn_id(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--topic", "scalar_rnn"]) == 0
    out = capsys.readouterr().out
    for pid in ("forward", "dy_dw", "dy_dp", "edge_partials", "dy_dw_general"):
        assert f"scalar_rnn.{pid} " in out


def test_list_planned_marks_underived_ids(planned_row: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--planned"]) == 0
    out = capsys.readouterr().out
    assert "future.item" in out and "not derived yet" in out
    assert "scalar_rnn.dy_dw" not in out  # only the planned ids


def test_list_planned_says_when_nothing_is_planned(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--planned"]) == 0
    assert "nothing is planned" in capsys.readouterr().out


def test_show_prints_the_derivation(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "scalar_rnn.dy_dw", "--examples", "5", "--fresh"]) == 0
    out = capsys.readouterr().out
    assert "Derivation:" in out and "Differentiate the closed form" in out
    assert "verified against torch autograd" in out and "on 5 random cases" in out
    assert "latest record" not in out


def test_show_reads_the_latest_record_of_this_code(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    monkeypatch.setenv("DLVERIFY_CACHE", str(tmp_path))
    assert main(["show", "scalar_rnn.dy_dp"]) == 0  # no record yet: a few cases, run now
    first = capsys.readouterr().out
    assert "on 5 random cases" in first and "latest record" not in first
    assert main(["verify", "scalar_rnn.dy_dp", "--examples", "30"]) == 0
    capsys.readouterr()
    assert main(["show", "scalar_rnn.dy_dp"]) == 0  # verify's 30 cases, not rerun
    second = capsys.readouterr().out
    assert "on 30 random cases" in second and "latest record" in second
    assert main(["show", "scalar_rnn.dy_dp", "--examples", "50"]) == 0  # more than recorded: run now
    assert "on 50 random cases" in capsys.readouterr().out


def test_show_latex(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "scalar_rnn.dy_dw_general", "--latex", "--examples", "0"]) == 0
    out = capsys.readouterr().out
    assert r"\sum_{t=1}^{T}" in out and r"\boxed" in out


@pytest.mark.parametrize(
    "args", [["show", "scalar_rnn.nope"], ["verify", "nope"], ["show", "future.item"], ["verify", "future"]]
)
def test_unknown_or_underived_id_exits_2(planned_row: str, args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("dlverify: ") and "Traceback" not in err


def test_verify_prints_a_passing_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "scalar_rnn", "--examples", "10"]) == 0
    out = capsys.readouterr().out
    assert sum(line.endswith("  pass") for line in out.splitlines()) == 5 and "5 passed, 0 failed" in out


def test_verify_exits_1_on_a_wrong_derivation(capsys) -> None:
    good = registry.get("scalar_rnn.dy_dp")
    d = good.derive()
    wrong = Derivation(d.result * sp.Symbol("w", real=True), d.steps, d.symbols)  # w^4 instead of w^3
    bad = dataclasses.replace(good, derive=lambda: wrong)
    with registry.using(registry.current().adding([bad], replace=True)):
        assert main(["verify", bad.id, "--examples", "10"]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "case {" in out


def test_listing_imports_neither_sympy_nor_torch() -> None:
    code = (
        "import sys; from dlverify.cli import main; main(['list']);"
        "heavy = {'sympy', 'torch', 'hypothesis'} & set(sys.modules); assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_checking_imports_no_sympy_in_the_parent(tmp_path) -> None:
    # the worker judges; the command a student waits for starts in the time Python and the worker take
    answers = tmp_path / "a.toml"
    answers.write_text("[\"scalar_rnn.dy_dw\"]\nanswer = '3w^2 u_1 + 2 w u_2 + u_3'\n", encoding="utf-8")
    code = (
        f"import sys; from dlverify.cli import main; main(['check', {str(answers)!r}]);"
        "heavy = {'sympy', 'torch'} & set(sys.modules); assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def _imports(package: str) -> set[str]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module.split(".")[0])
    return found


def test_the_two_witnesses_stay_apart() -> None:
    assert not _imports("numerics") & {"derivations", "dlverify", "sympy"}
    assert not _imports("derivations") & {"torch", "numerics", "dlverify"}


def test_verify_says_exact_for_yes_or_no_checks(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "conv1d.out_shape", "scalar_rnn.dy_dp", "--examples", "5"]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line.strip()}
    assert "exact" in rows["conv1d.out_shape"] and "sizes drawn" in rows["id"]
    assert "exact" not in rows["scalar_rnn.dy_dp"]  # a tolerance, stated


def test_the_verify_table_fits_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "lstm", "rlae.needed", "--examples", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= 100, max(lines, key=len)
    assert any(line.startswith("    against torch") for line in lines)

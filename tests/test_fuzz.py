"""Fuzzing the checker's layers: raw bytes into the answer-file reader, generated TOML documents
into reader and judge, token soups into every answer kind.  Only the documented outcomes may
come out: AnswerFileError from the reader, a Verdict (never ``error``: a checker failure) from
the judge.  The ``thorough`` profile and scripts/fuzz_checker.py run far more inputs."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from dlverify import registry
from dlverify.checking import answers as af
from dlverify.checking.judge import judge
from dlverify.checking.verdict import VERDICTS

IDS = list(registry.problems())
# no powers: a power tower is the pool's business (its hard time limit), not an in-process fuzz's
TOKENS = st.sampled_from(
    [
        "w",
        "u_1",
        "x",
        "T",
        "t",
        "V_3",
        "W_2^T",
        "g_{V_5}",
        "v_1",
        "1",
        "0.5",
        "+",
        "-",
        "*",
        "/",
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        "|",
        r"\odot",
        r"\sigma",
        r"\sin",
        r"\frac{1}{2}",
        r"\mathbb{1}[V_3 > 0]",
        r"\sum_{t=1}^{T}",
        ",",
        "'",
        "neural",
        "network",
        "true",
        "O(T K M)",
        "1x5x3",
        r"\log",
        "e",
        r"\sqrt{2}",
        "\x7f",
        "\u202e",
        "é",
    ]
)
SOUP = st.lists(TOKENS, max_size=25).map(" ".join)


def _read(raw: bytes) -> dict | None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "a.toml"
        path.write_bytes(raw)
        try:
            return af.read_answers(path)
        except af.AnswerFileError:
            return None


BYTES = st.binary(max_size=3000)


def check_bytes(raw: bytes) -> None:
    _read(raw)


@settings(max_examples=2000)  # cheap: a few thousand in CI
@given(BYTES)
def test_raw_bytes_give_answers_or_a_file_error(raw: bytes) -> None:
    check_bytes(raw)


def _literal(text: str) -> str:
    return "'''" + text.replace("'''", "") + "'''" if "\n" not in text else "'x'"


VALUES = st.one_of(
    SOUP.map(_literal),
    st.lists(SOUP.map(_literal), max_size=4).map(lambda xs: "[" + ", ".join(xs) + "]"),
    st.integers(-(10**30), 10**30).map(str),
    st.booleans().map(lambda b: "true" if b else "false"),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
)


@st.composite
def documents(draw) -> str:
    lines = []
    for _ in range(draw(st.integers(0, 4))):
        pid = draw(st.one_of(st.sampled_from(IDS), st.text(max_size=12)))
        lines.append('["' + pid.replace("\\", "").replace('"', "") + '"]')
        keys = draw(
            st.lists(st.sampled_from(["answer", "anwser", "v1", "p", "q", "V1_v", "extra"]), max_size=3, unique=True)
        )
        lines += [f"{key} = {draw(VALUES)}" for key in keys]
    return "\n".join(lines) + "\n"


def check_document(text: str) -> None:
    answers = _read(text.encode())
    for pid, answer in (answers or {}).items():
        verdict = judge(pid, answer)
        assert verdict.verdict in VERDICTS and verdict.verdict != "error", (pid, answer, verdict)
        assert len(verdict.message) < 5000


@given(documents())
def test_generated_files_get_a_verdict_for_every_item(text: str) -> None:
    check_document(text)


def check_soup(pid: str, text: str) -> None:
    verdict = judge(pid, text)
    assert verdict.verdict in VERDICTS and verdict.verdict != "error", (pid, text, verdict)


@given(st.sampled_from(IDS), SOUP)
def test_token_soup_in_every_item_gets_a_verdict(pid: str, text: str) -> None:
    check_soup(pid, text)

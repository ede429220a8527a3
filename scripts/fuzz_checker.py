"""Fuzz the answer checker at length: raw bytes, generated TOML files and token soups, by default
34,000 inputs each (over 100,000 in all), through the same properties as tests/test_fuzz.py.

    python3 scripts/fuzz_checker.py [INPUTS_PER_PROPERTY]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests import test_fuzz  # noqa: E402

PROPERTIES = {
    "raw bytes into the reader": (test_fuzz.check_bytes, (test_fuzz.BYTES,)),
    "generated TOML files into reader and judge": (test_fuzz.check_document, (test_fuzz.documents(),)),
    "token soups into every item": (test_fuzz.check_soup, (st.sampled_from(test_fuzz.IDS), test_fuzz.SOUP)),
}


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 34_000
    for name, (check, strategies) in PROPERTIES.items():
        started = time.monotonic()
        options = settings(max_examples=count, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        options(given(*strategies)(check))()
        print(f"{name}: {count} inputs in {time.monotonic() - started:.0f} s, no failure")


if __name__ == "__main__":
    main()

"""Argument types the commands share (check, autograder, serve): one bound, one message."""

from __future__ import annotations

import argparse
import math


def timeout_seconds(text: str) -> float:
    """--timeout: a number of seconds of CPU time per answer in (0, 600]; anything else is a usage error."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or not 0 < value <= 600:
        raise argparse.ArgumentTypeError(f"must be more than 0 and at most 600 seconds, not {text}")
    return value

"""The kinds of value `stoker server`'s options take, refused by argparse with the value named."""
from __future__ import annotations

import argparse


def seconds(text: str, least: float = 0.0, strictly: bool = True) -> float:
    """A finite number of seconds, above `least` (or at least it, unless `strictly`)."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (value > least if strictly else value >= least) or value == float("inf"):
        kind = "positive" if strictly else "non-negative"
        raise argparse.ArgumentTypeError(f"{text!r} is not a {kind} number of seconds")
    return value


def seconds_or_zero(text: str) -> float:
    """0 or more seconds (0: no limit)."""
    return seconds(text, strictly=False)


def count(text: str) -> int:
    """A whole number of at least 1 (engine threads, connections)."""
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)

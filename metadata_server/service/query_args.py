"""Query-string values read one way everywhere: a count (limit, nested_depth) is a whole number
of at least 0, else a 400 naming the argument and the value (cut short)."""
from __future__ import annotations

from metadata_server.service.errors import InvalidInput


def count_arg(name: str, value: str | None) -> int | None:
    """`value` as a non-negative int; None when the argument was not given."""
    if value is None:
        return None
    try:
        count = int(value)
    except ValueError:
        count = -1
    if count < 0:
        raise InvalidInput(f"{name}: must be a non-negative integer, got {value[:40]!r}")
    return count

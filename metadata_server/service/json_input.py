"""JSON from clients, read one way everywhere: request bodies, signals, Json-typed values.

Python's reader alone lets hostile input through to places that fail later: nesting deep enough
to exhaust the interpreter's recursion limit (while parsing, or later in whatever walks the
value), numbers that are not numbers to anyone else (`NaN`, `Infinity`, `1e400`, which becomes
an infinity no JSON column or client accepts), integers too long to convert, and objects
with the same key twice (where readers disagree on which value counts). Each is refused here,
as a 400 that says what was refused.
"""
from __future__ import annotations

import json
import math
from typing import Any

from metadata_server.service.errors import InvalidInput

MAX_DEPTH = 100  # arrays and objects inside each other; Heat's own templates nest under 20
# Python 3.11+ refuses to read longer integers at all; the same limit on every Python version
MAX_INT_DIGITS = 4300


def loads(raw: bytes | str, what: str = "request body") -> Any:
    """The JSON value in `raw`; InvalidInput naming `what` and the fault if it is not one."""
    try:
        value = json.loads(raw, object_pairs_hook=_object, parse_constant=_constant,
                           parse_float=_float, parse_int=_int)
    except _Refused as exc:
        raise InvalidInput(f"{what}: {exc}") from None
    except RecursionError:
        raise InvalidInput(f"{what}: {_too_deep()}") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"{what}: not UTF-8 text") from None
    except ValueError as exc:
        raise InvalidInput(f"{what}: not valid JSON ({exc})") from None
    if _nests_deeper(raw, value):
        raise InvalidInput(f"{what}: {_too_deep()}")
    return value


class _Refused(ValueError):
    pass


def _too_deep() -> str:
    return f"arrays and objects nest deeper than {MAX_DEPTH} levels (the limit)"


def _object(pairs: list[tuple[str, Any]]) -> dict:
    value = dict(pairs)
    if len(value) != len(pairs):
        seen: set[str] = set()
        twice = next(key for key, _ in pairs if key in seen or seen.add(key))
        raise _Refused(f"key {twice!r:.80} appears more than once in one object")
    return value


def _constant(name: str):
    raise _Refused(f"{name} is not a JSON number; send a finite number or a string")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"number {text:.40} is out of range (beyond a 64-bit float)")
    return value


def _int(text: str) -> int:
    digits = len(text) - text.startswith("-")
    if digits > MAX_INT_DIGITS:
        raise _Refused(f"an integer of {digits} digits is longer than "
                       f"{MAX_INT_DIGITS} digits (the limit)")
    return int(text)


def _nests_deeper(raw: bytes | str, value: Any) -> bool:
    """Deeper than MAX_DEPTH? Only a text with that many brackets can be; walked without recursion."""
    opening = (b"[", b"{") if isinstance(raw, bytes) else ("[", "{")
    if raw.count(opening[0]) + raw.count(opening[1]) <= MAX_DEPTH:
        return False
    level, depth = [value], 0
    while level:
        depth += 1
        if depth > MAX_DEPTH:
            return True
        level = [child for item in level if isinstance(item, (dict, list))
                 for child in (item.values() if isinstance(item, dict) else item)
                 if isinstance(child, (dict, list))]
    return False

"""Key lookup (`--key`, `--type`, `--key-default`, `--boolean-key`), as os-apply-config does it.

A dotted path walks dicts by key and lists by index (`l.0`, also `l.-1`); a null value counts as
missing. The type check runs a pattern over Python's str() of the value (so `True`, and dicts as
`{'a': 1}`); output is JSON for dicts, lists and booleans, str() otherwise.
"""
from __future__ import annotations

import json
import re

from applier.errors import ApplyError

_MISSING = object()

VALUE_TYPES = {
    "int": r"[0-9]+",
    "default": r"[A-Za-z0-9_]*",
    "netaddress": r"[A-Za-z0-9/.:-]*",
    "netdevice": r"[A-Za-z0-9/.:-]*",
    # driver://[user[:password]][@host or file][/dbname][?variable=value]
    "dsn": r"[a-zA-Z0-9]+://([a-zA-Z0-9+_-]+(:[^@]+)?)?(@?[a-zA-Z0-9/_.-]+)?(/[a-zA-Z0-9_-]+)?"
           r"(\?[a-zA-Z0-9=_-]+)?",
    # rNzN-host:%PORT%/device[,...]; ".-_" is a character range, as upstream wrote it
    "swiftdevices": r"(r\d+z\d+-[A-Za-z0-9.-_]+:%PORT%/[^,]+,?)+",
    "username": r"[A-Za-z0-9_-]+",
    "raw": None,
}


def lookup(config, dotted: str):
    """The value at `dotted`, or _MISSING (null values are missing)."""
    value = config
    for part in dotted.split("."):
        if isinstance(value, dict) and part in value and value[part] is not None:
            value = value[part]
            continue
        if isinstance(value, list):
            try:
                value = value[int(part)]
                continue
            except (ValueError, IndexError):
                pass
        return _MISSING
    return _MISSING if value is None else value


def check_type(value, type_name: str) -> None:
    if type_name not in VALUE_TYPES:
        raise ApplyError(f"--type {type_name}: unknown type (known: {', '.join(VALUE_TYPES)})")
    body = VALUE_TYPES[type_name]
    text = str(value)
    # "^...$" with re.match, as upstream: "$" also matches before a final newline. Compiled here,
    # not at import: only --key needs them, and compiling costs every run of the command.
    if body is not None and not re.match(f"^(?:{body})$", text):
        raise ApplyError(f"cannot interpret value '{text}' as type {type_name}")


def format_value(value) -> str:
    if isinstance(value, (dict, list, bool)):
        return json.dumps(value)
    return str(value)


def print_key(config: dict, dotted: str, type_name: str, default: str | None, source: str) -> str:
    """The text --key prints; ApplyError when missing without default or of the wrong type."""
    if type_name not in VALUE_TYPES:
        check_type(None, type_name)
    value = lookup(config, dotted)
    if value is _MISSING:
        if default is not None:
            return str(default)
        raise ApplyError(f"key {dotted} does not exist in {source}")
    check_type(value, type_name)
    return format_value(value)


def boolean_key(config: dict, dotted: str) -> int:
    """Exit status for --boolean-key: 0 true, 1 false, -1 (255) not a boolean."""
    value = lookup(config, dotted)
    if not isinstance(value, bool):
        return -1
    return 0 if value else 1

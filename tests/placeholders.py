"""Fixture files name per-test paths as `{name}`; `fill` puts the real paths in."""
from __future__ import annotations

from typing import Any, Mapping


def fill(value: Any, names: Mapping[str, str]) -> Any:
    """`value` with every `{name}` replaced, in strings, list items, and map keys and values."""
    if isinstance(value, str):
        for key, text in names.items():
            value = value.replace("{" + key + "}", text)
        return value
    if isinstance(value, list):
        return [fill(v, names) for v in value]
    if isinstance(value, dict):
        return {fill(k, names): fill(v, names) for k, v in value.items()}
    return value

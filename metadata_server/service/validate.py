"""Small checks on request bodies that name the field at fault."""
from __future__ import annotations

from typing import Any

from metadata_server.service.errors import InvalidInput


def optional(body: dict, field: str, types: type | tuple[type, ...], what: str) -> Any:
    value = body.get(field)
    if value is not None and not isinstance(value, types):
        raise InvalidInput(f"{field}: must be {what}, got {type(value).__name__} {value!r:.60}")
    return value


def required(body: dict, field: str, types: type | tuple[type, ...], what: str) -> Any:
    value = optional(body, field, types, what)
    if value is None or value == "":
        raise InvalidInput(f"{field}: required, {what}")
    return value


def max_length(field: str, value: str | None, limit: int) -> None:
    if value is not None and len(value) > limit:
        raise InvalidInput(f"{field}: longer than {limit} characters")

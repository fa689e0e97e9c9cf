"""Small checks on request bodies that name the field at fault."""
from __future__ import annotations

import re
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


_NOT_IN_IDS = re.compile("[\x00-\x1f\x7f/\ud800-\udfff]")


def identifier(field: str, value: str | None) -> None:
    """An id that goes into URLs and the database as it is: no control characters, no `/`, and
    nothing UTF-8 cannot encode (a lone surrogate from a JSON escape)."""
    if value is not None and _NOT_IN_IDS.search(value):
        raise InvalidInput(f"{field}: {value!r:.80} holds a character ids may not have "
                           "(a control character, '/' or a lone surrogate)")

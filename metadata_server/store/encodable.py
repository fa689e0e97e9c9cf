"""Bound strings the database can store: text a client sent is kept, less what cannot be encoded.

A JSON body can carry a lone surrogate (`"\\ud800"`), which no UTF-8 database can hold as text, and
PostgreSQL's text cannot hold U+0000 either (SQLite can). In a bound string each such character
becomes U+FFFD and the rest is kept, so a name is stored, a script's output in a signal lands, and an
id with one simply finds nothing. JSON columns are bound as their serialised text, where these
characters are the escapes `\\ud800` and `\\u0000`, which both databases keep as they are: JSON
values stay lossless.
"""
from __future__ import annotations

import re

REPLACEMENT = "\ufffd"
_UNENCODABLE = {"postgresql": re.compile("[\x00\ud800-\udfff]"),
                "sqlite": re.compile("[\ud800-\udfff]")}


def clean_bound_text(conn, _cursor, statement, parameters, _context, _executemany):
    """A `before_cursor_execute` listener (retval=True) for either dialect."""
    pattern = _UNENCODABLE.get(conn.dialect.name, _UNENCODABLE["postgresql"])
    if isinstance(parameters, (list, tuple)) and parameters and isinstance(
            parameters[0], (dict, list, tuple)):
        return statement, type(parameters)(_clean(p, pattern) for p in parameters)
    return statement, _clean(parameters, pattern)


def _clean(parameters, pattern: re.Pattern):
    if not isinstance(parameters, (dict, list, tuple)):
        return parameters
    values = parameters.values() if isinstance(parameters, dict) else parameters
    if not any(isinstance(v, str) and pattern.search(v) for v in values):
        return parameters

    def fix(value):
        return pattern.sub(REPLACEMENT, value) if isinstance(value, str) else value
    if isinstance(parameters, dict):
        return {k: fix(v) for k, v in parameters.items()}
    return type(parameters)(fix(v) for v in parameters)

"""Which servers an alarm's query names, read against what stoker knows of a server: its id,
name, tenant and `metadata`, as Ceilometer and Gnocchi would have shown them.

- a threshold alarm's `query` ([{field, op, value}], all must hold; Heat makes it from
  `matching_metadata`): `metadata.user_metadata.<k>` and `metadata.metering.<k>` are the server's
  metadata key `metering.<k>` (Ceilometer passes a server's `metering.*` keys on with the prefix
  dropped), `metadata.<k>` the key `<k>`, `resource_id` the server's id, `project_id` its tenant,
  `metadata.display_name` its name;
- a Gnocchi alarm's `query` (a search: {"=": {attr: value}}, and/or/not, in, like, comparisons):
  `id`, `display_name`, `project_id` as above, any other attribute the metadata key
  `metering.<attr>` (how `server_group` reaches Gnocchi's instance resources).

stoker also reads an attribute `<k>` as the metadata key `<k>` itself when the server has no
`metering.<k>`, so a template that left the prefix out still matches.
"""
from __future__ import annotations

import json
import re
from typing import Any, Callable

from metadata_server.service.errors import InvalidInput

Server = dict   # {"id", "name", "tenant", "metadata"}
Match = Callable[[Server], bool]
MAX_DEPTH = 16
MAX_TERMS = 256


def _compare(op: str, have: Any, want: Any) -> bool:
    if have is None:
        return op in ("ne", "!=")
    if op in ("eq", "=", "=="):
        return str(have) == str(want)
    if op in ("ne", "!="):
        return str(have) != str(want)
    try:
        left, right = float(have), float(want)
    except (TypeError, ValueError):
        left, right = str(have), str(want)
    if type(left) is not type(right):
        return False
    return {"lt": left < right, "<": left < right, "le": left <= right, "<=": left <= right,
            "gt": left > right, ">": left > right, "ge": left >= right,
            ">=": left >= right}[op]


def _metering(server: Server, key: str) -> Any:
    metadata = server.get("metadata") or {}
    return metadata.get(f"metering.{key}", metadata.get(key))


def _sample_field(server: Server, field: str) -> Any:
    if field in ("resource_id", "resource"):
        return server["id"]
    if field in ("project_id", "project"):
        return server.get("tenant")
    if field == "metadata.display_name":
        return server.get("name")
    for prefix in ("metadata.user_metadata.", "metadata.metering."):
        if field.startswith(prefix):
            return _metering(server, field[len(prefix):])
    if field.startswith("metadata."):
        return (server.get("metadata") or {}).get(field[len("metadata."):])
    return None


THRESHOLD_OPS = ("lt", "le", "eq", "ne", "ge", "gt")


def threshold_query(query: Any, where: str = "query") -> Match:
    """A threshold rule's query list as a server test (every term must hold)."""
    if query in (None, []):
        return lambda server: True
    if not isinstance(query, list) or len(query) > MAX_TERMS:
        raise InvalidInput(f"{where}: must be a list of at most {MAX_TERMS} "
                           "{field, op, value} terms")
    terms = []
    for index, term in enumerate(query):
        if not isinstance(term, dict) or not isinstance(term.get("field"), str):
            raise InvalidInput(f"{where}[{index}]: must be a map with field, op and value")
        op = term.get("op") or "eq"
        if op not in THRESHOLD_OPS:
            raise InvalidInput(f"{where}[{index}].op: {op!r} is not one of {list(THRESHOLD_OPS)}")
        terms.append((term["field"], op, term.get("value")))
    return lambda server: all(_compare(op, _sample_field(server, field), value)
                              for field, op, value in terms)


def _resource_attribute(server: Server, attribute: str) -> Any:
    if attribute in ("id", "resource_id", "original_resource_id"):
        return server["id"]
    if attribute == "display_name":
        return server.get("name")
    if attribute in ("project_id", "created_by_project_id"):
        return server.get("tenant")
    return _metering(server, attribute)


def _like(have: Any, pattern: Any) -> bool:
    if have is None:
        return False
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in str(pattern))
    return re.fullmatch(regex, str(have), re.S) is not None


COMPARISONS = {"=": "eq", "==": "eq", "eq": "eq", "!=": "ne", "ne": "ne", "<": "lt", "lt": "lt",
               "<=": "le", "le": "le", "≤": "le", ">": "gt", "gt": "gt", ">=": "ge", "ge": "ge",
               "≥": "ge"}


def gnocchi_search(query: Any, where: str = "query") -> Match:
    """A Gnocchi resource search (JSON text or already parsed) as a server test."""
    if isinstance(query, str):
        if not query.strip():
            return lambda server: True
        try:
            query = json.loads(query)
        except ValueError as exc:
            raise InvalidInput(f"{where}: not JSON ({exc})") from None
    count = [0]
    return _search(query, where, 0, count)


def _search(node: Any, where: str, depth: int, count: list) -> Match:
    count[0] += 1
    if depth > MAX_DEPTH or count[0] > MAX_TERMS:
        raise InvalidInput(f"{where}: more than {MAX_DEPTH} levels or {MAX_TERMS} terms")
    if not isinstance(node, dict) or len(node) != 1:
        raise InvalidInput(f"{where}: each term must be a map of one operator, e.g. "
                           '{"=": {"server_group": "..."}}')
    (op, arg), = node.items()
    op = op.lower()
    here = f"{where}.{op}"
    if op in ("and", "or", "∧", "∨"):
        if not isinstance(arg, list) or not arg:
            raise InvalidInput(f"{here}: must be a non-empty list of terms")
        parts = [_search(a, f"{here}[{i}]", depth + 1, count) for i, a in enumerate(arg)]
        combine = all if op in ("and", "∧") else any
        return lambda server: combine(p(server) for p in parts)
    if op in ("not", "¬"):
        inner = _search(arg, here, depth + 1, count)
        return lambda server: not inner(server)
    if not isinstance(arg, dict) or len(arg) != 1:
        raise InvalidInput(f"{here}: must be a map of one attribute to its value")
    (attribute, value), = arg.items()
    if op == "in":
        if not isinstance(value, list):
            raise InvalidInput(f"{here}.{attribute}: must be a list")
        wanted = [str(v) for v in value]

        def among(server: Server) -> bool:
            have = _resource_attribute(server, attribute)
            return have is not None and str(have) in wanted
        return among
    if op in ("like", "ilike"):
        return lambda server: _like(_resource_attribute(server, attribute), value)
    if op not in COMPARISONS:
        raise InvalidInput(f"{here}: unknown operator {op!r}")
    compare = COMPARISONS[op]
    return lambda server: _compare(compare, _resource_attribute(server, attribute), value)


def matcher(body: dict) -> Match:
    """The server test of an alarm in Aodh's API shape."""
    kind = body["type"]
    rule = body[f"{kind}_rule"]
    if kind == "threshold":
        return threshold_query(rule.get("query"), f"{kind}_rule.query")
    if kind == "gnocchi_resources_threshold":
        return lambda server: server["id"] == rule.get("resource_id")
    return gnocchi_search(rule.get("query") or "", f"{kind}_rule.query")

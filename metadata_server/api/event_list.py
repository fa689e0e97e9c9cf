"""GET .../events and .../resources/<r>/events: Heat's event list parameters, read from the query
string into one store query (store/events.py), answered in Heat's event shape."""
from __future__ import annotations

from flask import jsonify, request

from metadata_server.api.common import ctx
from metadata_server.engine import views
from metadata_server.service.errors import InvalidInput
from metadata_server.store.event_query import FILTER_FIELDS, SORT_FIELDS, EventQuery


def event_query(args) -> EventQuery:
    """The query of a request's arguments. Other arguments (nested_depth among them: nested
    stacks' events are not listed) are ignored, as Heat ignores what it does not filter on."""
    limit = args.get("limit")
    if limit is not None:
        try:
            limit = max(0, int(limit))
        except ValueError:
            raise InvalidInput(f"limit: must be a non-negative integer, got {limit!r}")
    sort_dir = args.get("sort_dir", "asc")
    if sort_dir not in ("asc", "desc"):
        raise InvalidInput(f"sort_dir: must be asc or desc, got {sort_dir!r}")
    sort_keys = tuple(key for value in args.getlist("sort_keys") for key in value.split(",")
                      if key)
    unknown = [key for key in sort_keys if key not in SORT_FIELDS]
    if unknown:
        raise InvalidInput(f"sort_keys: {unknown[0]!r} is not a sort key of events; one of "
                           f"{', '.join(SORT_FIELDS)}")
    filters = {name: tuple(args.getlist(name)) for name in FILTER_FIELDS
               if args.getlist(name)}
    return EventQuery(filters=filters, marker=args.get("marker") or None, limit=limit,
                      sort_keys=sort_keys, descending=sort_dir == "desc")


def events_response(eng, stack: dict, resource: str | None):
    rows = eng.events(stack, resource, event_query(request.args))
    base = ctx().base_url()
    return jsonify({"events": [views.format_event(base, stack, row) for row in rows]})

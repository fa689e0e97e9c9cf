"""GET .../events and .../resources/<r>/events: Heat's event list parameters, read from the query
string into one store query (store/events.py), answered in Heat's event shape; `nested_depth`
lists nested stacks' events too. GET .../resources/<r>/events/<id>: one event (Heat's show)."""
from __future__ import annotations

from dataclasses import replace

from flask import jsonify, request

from metadata_server.api.common import ctx
from metadata_server.engine import views
from metadata_server.service.errors import InvalidInput, NotFound
from metadata_server.service.query_args import count_arg
from metadata_server.store.event_query import FILTER_FIELDS, SORT_FIELDS, EventQuery


def nested_depth(args) -> int:
    return count_arg("nested_depth", args.get("nested_depth")) or 0


def event_query(args) -> EventQuery:
    """The query of a request's arguments. Other arguments are ignored, as Heat ignores what it
    does not filter on."""
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
    query, depth = event_query(request.args), nested_depth(request.args)
    stacks = {stack["id"]: stack}
    if depth:   # Heat: the stack's events and its nested stacks' to that depth, in one list
        stacks.update((s["id"], s) for s in eng.nested_stacks(stack, depth))
        query = replace(query, nested=tuple(stacks)[1:])
    rows = eng.events(stack, resource, query)
    base, root = ctx().base_url(), stack if depth else None
    return jsonify({"events": [views.format_event(base, stacks[row["stack_id"]], row, root)
                               for row in rows]})


def event_response(eng, stack: dict, resource: str, event_id: str):
    """One event of the stack's resource `resource` (its name then: a resource since replaced
    or removed still has its events), in Heat's detailed shape."""
    rows = eng.events(stack, resource, EventQuery(event_id=event_id))
    if not rows:
        raise NotFound(f"No event {event_id} found", "NotFound")   # Heat: webob HTTPNotFound
    return jsonify({"event": views.format_event(ctx().base_url(), stack, rows[0],
                                                detail=True)})

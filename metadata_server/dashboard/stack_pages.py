"""Stacks: the list, and per stack its resource graph (live), events, parameters and outputs."""
from __future__ import annotations

import json

from flask import jsonify, render_template

from metadata_server.api.app_engine import engine
from metadata_server.api.stacks import required_by_map
from metadata_server.dashboard import graph_svg
from metadata_server.dashboard import session as sessions
from metadata_server.dashboard.blueprint import bp
from metadata_server.engine import views
from metadata_server.engine.status import joined
from metadata_server.store.event_query import EventQuery

MAX_EVENTS = 200   # the newest ones; the API pages through all of them


def _status(row: dict) -> str:
    return joined(row["action"], row["status"])


@bp.get("/stacks")
@sessions.signed_in
def stacks(session):
    rows = engine().list_stacks(session.tenant)
    items = [{"id": r["id"], "name": r["name"], "status": _status(r),
              "kind": graph_svg.status_kind(_status(r)),
              "reason": r["status_reason"] or "",
              "created": views.format_stack("", r)["creation_time"]} for r in rows]
    return render_template("dashboard/stacks.html", session=session, stacks=items)


def _graph(eng, stack: dict):
    rows = eng.resources(stack)
    required_by = required_by_map(rows, stack, eng)
    depends_on: dict[str, list[str]] = {}
    for dep, users in required_by.items():
        for user in users:
            depends_on.setdefault(user, []).append(dep)
    resources = [{"name": r["name"], "type": r["type"], "status": _status(r),
                  "kind": graph_svg.status_kind(_status(r)),
                  "reason": r.get("status_reason") or ""}
                  for r in sorted(rows, key=lambda r: r["name"])]
    return graph_svg.render(resources, depends_on), resources


def _events(eng, stack: dict) -> list[dict]:
    # only the newest page is read: a stack may hold up to max_events_per_stack events
    rows = eng.events(stack, None, EventQuery(limit=MAX_EVENTS, descending=True))
    events = [views.format_event("", stack, r) for r in rows]
    for event in events:
        event["kind"] = graph_svg.status_kind(event["resource_status"])
    return events


def _live(eng, stack: dict) -> dict:
    svg, resources = _graph(eng, stack)
    return {"stack_status": _status(stack), "reason": stack["status_reason"] or "",
            "kind": graph_svg.status_kind(_status(stack)), "svg": svg,
            "resources": resources, "events": _events(eng, stack),
            "settled": stack["status"] != "IN_PROGRESS"}


def _current(session, stack_id: str):
    eng = engine()
    row = eng.get_stack(session.tenant, stack_id)
    return eng, row, _live(eng, row)


@bp.get("/stacks/<stack_id>")
@sessions.signed_in
def stack(session, stack_id):
    eng, row, live = _current(session, stack_id)
    outputs = eng.outputs(row)
    for output in outputs:
        value = output.get("output_value")
        output["text"] = value if isinstance(value, str) else json.dumps(value, indent=2,
                                                                         default=str)
    return render_template("dashboard/stack.html", session=session, stack=row, live=live,
                           events=live["events"], resources=live["resources"],
                           parameters=eng.parameters(row), outputs=outputs)


@bp.get("/stacks/<stack_id>/live.json")
@sessions.signed_in
def stack_live(session, stack_id):
    """What the stack page's script redraws every couple of seconds."""
    _, _, live = _current(session, stack_id)
    return jsonify({
        "stack_status": live["stack_status"], "reason": live["reason"],
        "kind": live["kind"][0], "icon": live["kind"][1], "settled": live["settled"],
        "svg": str(live["svg"]),
        "events": render_template("dashboard/_events.html", events=live["events"]),
        "resources": render_template("dashboard/_resources.html",
                                     resources=live["resources"]),
    })

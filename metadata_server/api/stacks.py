"""/v1/{tenant_id}/stacks: Heat's stack routes over the engine (shapes of reference §6.1)."""
from __future__ import annotations


from flask import Blueprint, jsonify, redirect, request

from metadata_server.api import event_list, resource_agents
from metadata_server.api.app_engine import engine
from metadata_server.api.stack_list import select_stacks
from metadata_server.api.common import admin, caller, ctx, json_body
from metadata_server.api.stack_gates import allow_adopt
from metadata_server.engine import views
from metadata_server.service.endpoints import Endpoints
from metadata_server.engine.errors import StackNotFound
from metadata_server.engine.resources.wait_condition import handle_signature
from metadata_server.engine.stack import Engine
from metadata_server.service.credentials import signed_by_any
from metadata_server.service.errors import Forbidden, InvalidInput, NotFound
from metadata_server.store.event_sinks_spec import masked_environment, masked_files

bp = Blueprint("stacks", __name__, url_prefix="/v1/<tenant>")
ACTIONS = ("suspend", "resume", "check", "cancel_update", "cancel_without_rollback")
RESOURCE_FILTERS = {"type", "status", "name", "action", "id", "physical_resource_id",
                    "nested_depth", "with_detail"}
ANY_METHOD = ["GET", "PUT", "PATCH", "DELETE", "POST"]
# /stacks/{name}/{these} answer 302 to the same path under the stack's canonical URL
LOOKUP_SUBPATHS = ("resources", "events", "template", "environment", "files", "outputs",
                   "actions", "preview", "export", "snapshots", "abandon")
STACK = "/stacks/<name>/<stack_id>"
RESOURCE = STACK + "/resources/<resource>"


def _endpoints() -> Endpoints:
    return ctx().endpoints()


def _base() -> str:
    return ctx().base_url()


def _stack(tenant: str, name: str, stack_id: str) -> dict:
    row = engine().get_stack(tenant, stack_id)
    if row["name"] != name and row["id"] != name:
        raise StackNotFound(f"{name}/{stack_id}")
    return row


def _description(stack: dict) -> str:
    definition = stack["definition"]
    if "description" in definition:
        return definition["description"]
    template = definition.get("template")  # a stack stored before the description was kept
    if isinstance(template, dict):
        return template.get("description", "")
    return ""


# -- collection --------------------------------------------------------------------------------
@bp.get("/stacks")
@bp.get("/stacks/detail")
def index(tenant):
    admin()
    flag = lambda key: request.args.get(key, "false").lower() == "true"  # noqa: E731
    rows = select_stacks(engine().list_stacks(tenant, show_deleted=flag("show_deleted"),
                                              show_nested=flag("show_nested")), request.args)
    return jsonify({"stacks": [views.format_stack(_base(), r, description=_description(r))
                               for r in rows]})


@bp.post("/stacks")
def create(tenant):
    admin()
    body = json_body()
    allow_adopt(body)
    stack = engine().create_stack(tenant, body, _endpoints())
    href = views.stack_path(_base(), tenant, stack)
    response = jsonify({"stack": {"id": stack["id"], "links": [{"href": href, "rel": "self"}]}})
    response.status_code = 201
    response.headers["Location"] = href
    return response


@bp.post("/stacks/preview")
def preview(tenant):
    admin()
    return jsonify(engine().preview_stack(tenant, json_body()))


@bp.post("/validate")
def validate(tenant):
    admin()
    return jsonify(engine().validate(json_body()))


# -- lookup by name or id: 302 to the canonical URL -------------------------------------------
@bp.route("/stacks/<name>", methods=ANY_METHOD)
def lookup(tenant, name):
    admin()
    stack = engine().get_stack(tenant, name)
    return redirect(_with_query(views.stack_path(_base(), tenant, stack)), code=302)


# before STACK: for a name in the list, this rule and STACK weigh the same, and the first one
# added is tried first
@bp.route(f"/stacks/<name>/<any({', '.join(LOOKUP_SUBPATHS)}):sub>", methods=ANY_METHOD)
def lookup_subpath(tenant, name, sub):
    admin()
    stack = engine().get_stack(tenant, name)
    return redirect(_with_query(views.stack_path(_base(), tenant, stack) + "/" + sub), code=302)


def _with_query(url: str) -> str:
    """The redirect keeps the request's query string, as Heat's does: a list's filters (an
    event list by stack name, `openstack stack event list --filter`) still apply."""
    query = request.query_string.decode("latin-1")
    return f"{url}?{query}" if query else url


# -- one stack ---------------------------------------------------------------------------------
def operator_stack(tenant, name, stack_id) -> tuple[Engine, dict]:
    """The caller first, then the stack: nothing about a stack is told to whom may not ask."""
    admin()
    eng = engine()
    return eng, _stack(tenant, name, stack_id)


@bp.get(STACK)
def show(tenant, name, stack_id):
    eng, stack = operator_stack(tenant, name, stack_id)
    resolve = request.args.get("resolve_outputs", "true").lower() != "false"
    outputs = eng.outputs(stack) if resolve else None
    return jsonify({"stack": views.format_stack(
        _base(), stack, detail=True, outputs=outputs, parameters=eng.parameters(stack),
        description=_description(stack))})


@bp.route(STACK, methods=["PUT", "PATCH"])
def update(tenant, name, stack_id):
    eng, stack = operator_stack(tenant, name, stack_id)
    eng.update_stack(tenant, stack["id"], json_body(), patch=request.method == "PATCH",
                     endpoints=_endpoints())
    return "", 202


@bp.delete(STACK)
def delete(tenant, name, stack_id):
    eng, stack = operator_stack(tenant, name, stack_id)
    eng.delete_stack(tenant, stack["id"], _endpoints())
    return "", 204


@bp.post(STACK)
def post_to_stack(tenant, name, stack_id):
    admin()
    raise InvalidInput(f"{request.method} is not supported on a stack")


@bp.route(STACK + "/preview", methods=["PUT", "PATCH"])
def preview_update(tenant, name, stack_id):
    eng, stack = operator_stack(tenant, name, stack_id)
    return jsonify(eng.preview_update(tenant, stack["id"], json_body(),
                                      patch=request.method == "PATCH"))


def definition_part(tenant, name, stack_id, part):
    _, stack = operator_stack(tenant, name, stack_id)
    definition = stack["definition"]
    if part == "files":   # an environment file's sink secrets are shown masked
        return jsonify(masked_files(definition.get("files") or {},
                                    definition.get("environment_files")))
    return jsonify({"template": definition.get("template"),
                    "environment": masked_environment(definition.get("environment") or {})}[part])


for _part in ("template", "files"):
    bp.add_url_rule(f"{STACK}/{_part}", f"stack_{_part}", definition_part, methods=["GET"],
                    defaults={"part": _part})


@bp.get(STACK + "/environment")
def environment(tenant, name, stack_id):
    eng, stack = operator_stack(tenant, name, stack_id)
    return jsonify(views.format_environment(stack["definition"], eng.reads.runtime(stack).bound))


@bp.get(STACK + "/export")
def export(tenant, name, stack_id):
    eng, stack = operator_stack(tenant, name, stack_id)
    return jsonify(eng.export_stack(tenant, stack["id"]))


@bp.get(STACK + "/outputs")
def outputs(tenant, name, stack_id):
    eng, stack = operator_stack(tenant, name, stack_id)
    return jsonify({"outputs": [{"output_key": o["output_key"],
                                 "description": o.get("description")}
                                for o in eng.outputs(stack)]})


@bp.get(STACK + "/outputs/<output_key>")
def output(tenant, name, stack_id, output_key):
    eng, stack = operator_stack(tenant, name, stack_id)
    found = eng.outputs(stack, output_key)
    if not found:
        raise NotFound(f"Specified output key {output_key} not found.", "NotFound")
    return jsonify({"output": found[0]})


@bp.post(STACK + "/actions")
def actions(tenant, name, stack_id):
    eng, stack = operator_stack(tenant, name, stack_id)
    return _actions(eng, tenant, stack)


@bp.get(STACK + "/events")
def stack_events(tenant, name, stack_id):
    eng, stack = operator_stack(tenant, name, stack_id)
    return event_list.events_response(eng, stack, None)


# -- resources of a stack ----------------------------------------------------------------------
@bp.get(STACK + "/resources")
def resources(tenant, name, stack_id):
    eng, stack = operator_stack(tenant, name, stack_id)
    unknown = set(request.args) - RESOURCE_FILTERS
    if unknown:
        raise InvalidInput(f"Invalid filter parameters {sorted(unknown)}")
    # nested_depth: nested stacks' resources too, each linking its own stack (Heat's)
    found = []
    for owner in [stack] + eng.nested_stacks(stack, event_list.nested_depth(request.args)):
        rows = eng.resources(owner)
        required = required_by_map(rows, owner, eng)
        for key, field in (("name", "name"), ("type", "type"), ("id", "id"),
                           ("physical_resource_id", "physical_id"), ("action", "action"),
                           ("status", "status")):
            wanted = request.args.getlist(key)
            if wanted:
                rows = [r for r in rows if r[field] in wanted]
        for row in rows:
            shown = views.format_resource(_base(), owner, row, required.get(row["name"], []))
            if owner is not stack:
                shown["parent_resource"] = owner.get("parent_resource")
            found.append(shown)
    return jsonify({"resources": found})


def _operator_resource(tenant, name, stack_id, resource) -> tuple[Engine, dict, list, dict]:
    eng, stack = operator_stack(tenant, name, stack_id)
    rows = eng.resources(stack)
    row = next((r for r in rows if resource in (r["name"], r["physical_id"])), None)
    if row is None:
        raise NotFound(f"The Resource ({resource}) could not be found.", "EntityNotFound")
    return eng, stack, rows, row


@bp.get(RESOURCE)
def resource_show(tenant, name, stack_id, resource):
    eng, stack, rows, row = _operator_resource(tenant, name, stack_id, resource)
    attributes = None
    with_attr = request.args.getlist("with_attr")
    if [a.lower() for a in with_attr] != ["false"]:   # Heat: every declared one, and those named
        wanted = dict.fromkeys([*views.shown_attributes(row["type"]), *with_attr])
        attributes = {a: eng.resource_attribute(stack, row["name"], a) for a in wanted}
    return jsonify({"resource": views.format_resource(
        _base(), stack, row, required_by_map(rows, stack, eng).get(row["name"], []), attributes)})


@bp.patch(RESOURCE)
def mark_unhealthy(tenant, name, stack_id, resource):
    eng, stack, _, row = _operator_resource(tenant, name, stack_id, resource)
    eng.mark_unhealthy(tenant, stack["id"], row["name"], json_body())
    return "", 200


@bp.get(RESOURCE + "/events")
def resource_events(tenant, name, stack_id, resource):
    eng, stack, _, row = _operator_resource(tenant, name, stack_id, resource)
    return event_list.events_response(eng, stack, row["name"])


@bp.get(RESOURCE + "/events/<event_id>")
def resource_event(tenant, name, stack_id, resource, event_id):
    eng, stack = operator_stack(tenant, name, stack_id)
    row = next((r for r in eng.resources(stack) if resource in (r["name"], r["physical_id"])),
               None)
    return event_list.event_response(eng, stack, row["name"] if row else resource, event_id)


@bp.route(STACK + "/<path:rest>", methods=ANY_METHOD)
def no_such_route(tenant, name, stack_id, rest):
    """What no rule matched: Heat's 404, after the checks a real route there makes first (the
    caller, the stack and, for a path under one resource, the resource)."""
    parts = rest.strip("/").split("/")
    if len(parts) > 1 and parts[0] == "resources":
        _operator_resource(tenant, name, stack_id, parts[1])
        raise NotFound(f"no such resource route: {request.method} {request.path}", "NotFound")
    operator_stack(tenant, name, stack_id)
    raise NotFound(f"no such stack route: {request.method} {request.path}", "NotFound")


# -- the two resource routes agents call with their own credentials (resource_agents.py) ------
def _agent_stack(tenant, name, stack_id) -> tuple[Engine, dict]:
    """Some valid credential (unless the URL is signed), before anything about the stack is
    told; the handler then decides what this caller may do."""
    if "sig" not in request.args:
        caller()
    eng = engine()
    return eng, _stack(tenant, name, stack_id)


@bp.post(RESOURCE + "/signal")
def signal(tenant, name, stack_id, resource):
    eng, stack = _agent_stack(tenant, name, stack_id)
    return _signal(eng, tenant, stack, resource)


@bp.get(RESOURCE + "/metadata")
def metadata(tenant, name, stack_id, resource):
    eng, stack = _agent_stack(tenant, name, stack_id)
    return resource_agents.server_metadata(eng, stack, resource)


def _actions(eng, tenant, stack):
    body = json_body()
    keys = [k for k in body if k in ACTIONS]
    if len(body) != 1 or len(keys) != 1:
        raise InvalidInput(f"exactly one action is required, one of {', '.join(ACTIONS)}; "
                           f"got {sorted(body)}")
    action = keys[0]
    if action in ("cancel_update", "cancel_without_rollback"):
        eng.cancel(tenant, stack["id"], rollback=action == "cancel_update")
        return "", 200
    if action == "suspend":
        eng.suspend_stack(tenant, stack["id"])
        return "", 200
    if action == "check":
        eng.check_stack(tenant, stack["id"])
        return "", 200
    if action == "resume":
        eng.resume_stack(tenant, stack["id"])
        return "", 200
    raise InvalidInput(f"action {action} is not supported by stoker's engine", "NotSupported")


def required_by_map(rows: list[dict], stack: dict, eng) -> dict[str, list[str]]:
    result = {r["name"]: [] for r in rows}
    try:
        bound = eng.bind(stack["definition"], eng.identity(stack))
        for defn in bound.resource_definitions():
            for dep in bound.dependencies(defn.name):
                result.setdefault(dep, []).append(defn.name)
    except Exception:  # a stack whose template no longer binds still lists its resources
        pass
    return result


def _signal(eng, tenant, stack, resource):
    signature = request.args.get("sig")
    if signature is not None:
        if not signed_by_any(ctx().signing_keys(), signature,
                             lambda key: handle_signature(key, stack["id"], resource)):
            raise Forbidden("this signal URL is not valid for the resource")
    else:
        answer = resource_agents.deployment_signal(eng, stack, resource)
        if answer is not None:
            return answer
        admin()
    eng.signal_resource(tenant, stack["id"], resource, json_body())
    return "", 200

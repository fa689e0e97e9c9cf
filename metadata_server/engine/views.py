"""Heat's API shapes for stacks, resources, events and outputs (pure functions of rows)."""
from __future__ import annotations

from typing import Any

from metadata_server.engine.resources import REGISTRY
from metadata_server.engine.status import joined
from metadata_server.service.clock import isotime
from metadata_server.store.event_sinks_spec import masked_sinks


def stack_path(base: str, tenant: str, stack: dict) -> str:
    return f"{base}/v1/{tenant}/stacks/{stack['name']}/{stack['id']}"


def _links(href: str, rel: str = "self") -> list[dict]:
    return [{"href": href, "rel": rel}]


def format_stack(base: str, stack: dict, *, detail: bool = False,
                 outputs: list[dict] | None = None, parameters: dict | None = None,
                 description: str = "") -> dict:
    result = {
        "id": stack["id"], "stack_name": stack["name"], "description": description,
        "stack_status": joined(stack["action"], stack["status"]),
        "stack_status_reason": stack["status_reason"] or "",
        "creation_time": isotime(stack["created_at"]),
        "updated_time": isotime(stack["updated_at"]),
        "deletion_time": isotime(stack["deleted_at"]),
        "stack_owner": None, "parent": stack.get("parent_id"),
        "stack_user_project_id": stack["tenant"], "tags": stack.get("tags"),
        "links": _links(stack_path(base, stack["tenant"], stack)),
    }
    if detail:
        result.update(template_description=description, parameters=parameters or {},
                      disable_rollback=stack["disable_rollback"],
                      timeout_mins=stack["timeout_mins"], capabilities=[],
                      notification_topics=[])
        if outputs is not None:
            result["outputs"] = outputs
    return result


def format_resource(base: str, stack: dict, row: dict, required_by: list[str],
                    attributes: dict[str, Any] | None = None) -> dict:
    path = stack_path(base, stack["tenant"], stack)
    result = {
        "resource_name": row["name"], "logical_resource_id": row["name"],
        "physical_resource_id": row.get("physical_id") or "",
        "resource_type": row["type"],
        "resource_status": joined(row["action"], row["status"]),
        "resource_status_reason": row.get("status_reason") or "",
        "creation_time": isotime(row["created_at"]),
        "updated_time": isotime(row.get("updated_at") or row["created_at"]),
        "required_by": sorted(required_by), "description": "",
        "links": [{"href": f"{path}/resources/{row['name']}", "rel": "self"},
                  {"href": path, "rel": "stack"}],
    }
    if attributes is not None:
        result["attributes"] = attributes
    return result


def format_event(base: str, stack: dict, row: dict, root: dict | None = None,
                 detail: bool = False) -> dict:
    """Heat's event: `stack` is the event's own (a nested one's under nested_depth), `root`
    the stack listed with nested_depth (its `root_stack` link); `detail` for event show."""
    path = stack_path(base, stack["tenant"], stack)
    event = {
        "id": row["id"], "event_time": isotime(row["created_at"]),
        "resource_name": row["resource_name"], "logical_resource_id": row["resource_name"],
        "physical_resource_id": row.get("physical_resource_id") or "",
        "resource_status": joined(row["action"], row["status"]),
        "resource_status_reason": row.get("status_reason") or "",
        "resource_type": row.get("resource_type"),
        "links": [{"href": f"{path}/resources/{row['resource_name']}/events/{row['id']}",
                   "rel": "self"},
                  {"href": f"{path}/resources/{row['resource_name']}", "rel": "resource"},
                  {"href": path, "rel": "stack"}],
    }
    if root is not None:
        event["links"].append({"href": stack_path(base, root["tenant"], root),
                               "rel": "root_stack"})
    if detail:
        # Heat shows the properties the resource had then; stoker's events do not keep them
        event["resource_properties"] = {}
    return event


HIDDEN_MASK = "******"


def format_environment(definition: dict, bound: Any) -> dict:
    """GET .../environment: Heat's five sections of the effective environment (environment
    files and environment merged: the binding's), the request's parameters over the
    environment's, hidden parameters' values masked. `bound`: None for a stack whose template
    no longer binds (its stored environment is shown)."""
    environment = (bound.environment.to_dict() if bound is not None
                   else dict(definition.get("environment") or {}))
    hidden = bound.hidden if bound is not None else set()
    parameters = definition.get("parameters") or {}
    merged = {**(environment.get("parameters") or {}), **parameters}
    registry = dict(environment.get("resource_registry") or {})
    registry.setdefault("resources", {})
    return {"parameters": {k: HIDDEN_MASK if k in hidden else v for k, v in merged.items()},
            "parameter_defaults": dict(environment.get("parameter_defaults") or {}),
            "resource_registry": registry,
            "event_sinks": masked_sinks(list(environment.get("event_sinks") or [])),
            "encrypted_param_names": list(environment.get("encrypted_param_names") or [])}


def shown_attributes(type_name: str) -> tuple[str, ...]:
    """The attributes resource show resolves by default: what the type declares (not `show`,
    and none for a type whose attributes depend on its definition or is unknown)."""
    cls = REGISTRY.get(type_name)
    return tuple(cls.attributes_schema or ()) if cls is not None else ()

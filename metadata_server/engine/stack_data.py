"""Heat's abandon body of a stack (reference §12): what export, abandon and a snapshot hold.

`{name, id, action, status, template, environment, files, project_id, stack_user_project_id,
tags, resources: {<name>: {name, resource_id, type, action, status, metadata, resource_data}}}`.
resource_data is what each resource keeps (its plugin's export_data: a RandomString's value, a
deployment's outputs, a wait condition's signals), secrets included as in Heat: adopt and
restore need them. Export masks hidden parameters; abandon and snapshots do not.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from metadata_server.engine.operations import HOOKS

if TYPE_CHECKING:  # pragma: no cover
    from metadata_server.engine.state import StackRuntime

log = logging.getLogger("stoker.engine")


def stack_data(stack: dict, rows: list[dict], rt: StackRuntime) -> dict:
    definition = stack["definition"]
    return {
        "name": stack["name"], "id": stack["id"], "action": stack["action"],
        "status": stack["status"], "template": definition.get("template"),
        "environment": user_environment(definition, rt.bound),
        "files": definition.get("files") or {}, "project_id": stack["tenant"],
        "stack_user_project_id": stack["tenant"], "tags": stack.get("tags") or [],
        "resources": {row["name"]: resource_entry(rt, row) for row in rows}}


def user_environment(definition: dict, bound: Any) -> dict:
    """Heat's env_as_dict of the user's environment: the request's parameters over the
    environment's (environment files merged, as the binding has them)."""
    environment: dict = {}
    if bound is not None:
        try:
            environment = bound.environment.to_dict()
        except Exception:  # noqa: BLE001 - a format without one: the stored environment
            environment = {}
    if not environment and isinstance(definition.get("environment"), dict):
        environment = dict(definition["environment"])
    registry = dict(environment.get("resource_registry") or {})
    registry.setdefault("resources", {})
    return {"parameters": {**(environment.get("parameters") or {}),
                           **(definition.get("parameters") or {})},
            "parameter_defaults": dict(environment.get("parameter_defaults") or {}),
            "resource_registry": registry,
            "event_sinks": list(environment.get("event_sinks") or [])}


def resource_entry(rt: StackRuntime, row: dict) -> dict:
    return {"name": row["name"], "resource_id": row.get("physical_id"), "type": row["type"],
            "action": row["action"], "status": row["status"],
            "metadata": _metadata(rt, row), "resource_data": _resource_data(rt, row)}


def _resource_data(rt: StackRuntime, row: dict) -> dict:
    data = row.get("data") or {}
    try:
        data = rt.plugin(row).export_data()
    except Exception:  # noqa: BLE001 - a type no longer known, a store away: what the row has
        log.warning("stack %s: resource data of %s taken from its row", rt.stack["id"],
                    row["name"], exc_info=True)
    return {k: v for k, v in data.items() if k not in HOOKS}


def _metadata(rt: StackRuntime, row: dict) -> dict:
    if rt.bound is None or row["name"] not in rt.definitions:
        return {}
    try:
        return rt.bound.resolve_metadata(row["name"], rt.resolver) or {}
    except Exception:  # noqa: BLE001 - metadata naming what is gone: none, as before create
        return {}

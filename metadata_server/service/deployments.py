"""Software deployments: which config a server should apply, and where that stands."""
from __future__ import annotations

import uuid
from typing import Callable

from metadata_server.service.clock import Clock, isotime
from metadata_server.service.configs import get_config
from metadata_server.service.derived_config import TRANSPORTS, DeployContext, derive_body
from metadata_server.service.errors import InvalidInput, NotFound
from metadata_server.service.validate import max_length, optional, required
from metadata_server.store import Store

IN_PROGRESS, COMPLETE, FAILED = "IN_PROGRESS", "COMPLETE", "FAILED"
UPDATABLE = ("config_id", "input_values", "output_values", "action", "status", "status_reason")


def format_deployment(row: dict) -> dict:
    result = {key: row[key] for key in ("id", "server_id", "config_id", "input_values",
                                        "output_values", "action", "status", "status_reason")}
    result["creation_time"] = isotime(row["created_at"])
    if row["updated_at"] is not None:
        result["updated_time"] = isotime(row["updated_at"])
    # stoker's additions, present only once known (as Heat adds updated_time)
    for key, value in (("phase", row.get("phase")),
                       ("last_signal_time", isotime(row.get("last_signal_at"))),
                       ("timeout_time", isotime(row.get("timeout_at")))):
        if value is not None:
            result[key] = value
    return result


def get_deployment(store: Store, tenant: str | None, deployment_id: str) -> dict:
    row = store.get_deployment(deployment_id, tenant)
    if row is None:
        raise NotFound(f"Deployment with id {deployment_id} not found", "NotFound")
    return row


def _config_for(store: Store, tenant: str, config_id: str) -> dict:
    config = store.get_config(config_id, tenant)
    if config is None:
        raise InvalidInput(f"config_id: config with id {config_id} not found")
    return config


def create_deployment(store: Store, clock: Clock, tenant: str, body: dict,
                      signal_url: Callable[[str], str]) -> dict:
    """Create a deployment; with `signal_transport` in the body, derive its config first.

    `signal_url(deployment_id)` gives the URL an agent signals this deployment's result to.
    """
    config_id = required(body, "config_id", str, "the id of a software config")
    server_id = required(body, "server_id", str, "a server id")
    max_length("server_id", server_id, 255)
    input_values = optional(body, "input_values", dict, "an object") or {}
    action = optional(body, "action", str, "a string")
    status = optional(body, "status", str, "a string")
    reason = optional(body, "status_reason", (str, int, float, bool), "a string")
    project = optional(body, "stack_user_project_id", str, "a string")
    max_length("stack_user_project_id", project, 64)
    source = _config_for(store, tenant, config_id)
    now = clock()
    deployment_id = str(uuid.uuid4())

    transport = optional(body, "signal_transport", str, "a string")
    if transport is not None:
        if transport not in TRANSPORTS:
            raise InvalidInput(f"signal_transport: {transport!r} is not one of {', '.join(TRANSPORTS)}")
        action = action or "CREATE"
        ctx = DeployContext(server_id=server_id, action=action, transport=transport,
                            stack_id=optional(body, "stack_id", str, "a string") or "",
                            resource_name=optional(body, "resource_name", str, "a string") or "")
        name = optional(body, "name", str, "a string") or source["name"]
        derived = {"id": str(uuid.uuid4()), "tenant": tenant, "name": name,
                   "group": source["group"] or "Heat::Ungrouped",
                   "body": derive_body(source["body"], input_values, ctx,
                                       lambda: signal_url(deployment_id)),
                   "created_at": now}
        store.insert_config(derived)
        config_id = derived["id"]
        if status is None:
            status = COMPLETE if transport == "NO_SIGNAL" else IN_PROGRESS
            reason = ("Not waiting for outputs signal" if transport == "NO_SIGNAL"
                      else "Deploy data available")

    row = {"id": deployment_id, "tenant": tenant, "server_id": server_id, "config_id": config_id,
           "input_values": input_values, "output_values": None,
           # Heat's defaults for a deployment created through the API
           "action": action or "INIT", "status": status or COMPLETE,
           "status_reason": "" if reason is None else str(reason),
           "stack_user_project_id": project, "created_at": now, "updated_at": None}
    store.insert_deployment(row)
    return store.get_deployment(deployment_id)


def update_deployment(store: Store, clock: Clock, tenant: str, deployment_id: str,
                      body: dict) -> dict:
    optional(body, "config_id", str, "the id of a software config")
    optional(body, "input_values", dict, "an object")
    optional(body, "output_values", dict, "an object")
    for field in ("action", "status"):
        optional(body, field, str, "a string")
    # Heat applies only truthy values: null, "" and {} leave the stored field alone
    values = {k: body[k] for k in UPDATABLE if body.get(k)}
    if "config_id" in values:
        _config_for(store, tenant, values["config_id"])
    if "status_reason" in values:
        values["status_reason"] = str(values["status_reason"])
    while True:
        row = get_deployment(store, tenant, deployment_id)
        if store.update_deployment(deployment_id, row["version"],
                                   dict(values, updated_at=clock())):
            return store.get_deployment(deployment_id)


def delete_deployment(store: Store, tenant: str, deployment_id: str) -> None:
    get_deployment(store, tenant, deployment_id)
    store.delete_deployment(deployment_id)

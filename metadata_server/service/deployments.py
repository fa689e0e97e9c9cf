"""Software deployments: which config a server should apply, and where that stands."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from metadata_server.service.clock import Clock, isotime
from metadata_server.service.derived_config import TRANSPORTS, DeployContext, derive_body
from metadata_server.service.endpoints import Endpoints
from metadata_server.service.errors import InvalidInput, NotFound
from metadata_server.service.validate import identifier, max_length, optional, required
from metadata_server.store import Store

IN_PROGRESS, COMPLETE, FAILED = "IN_PROGRESS", "COMPLETE", "FAILED"
DEFAULT_TIMEOUT_SECONDS = 3600  # Heat's stack_action_timeout: the longest Heat would ever wait
TIMEOUT_GRACE = timedelta(seconds=60)
# a signal URL outlives its deployment's deadline by this much, then stops working
SIGNAL_URL_SLACK = timedelta(days=1)
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


def _timeout_seconds(body: dict, input_values: dict, default: float) -> float:
    """The body's `timeout` (stoker), else the `deploy_timeout` input the agent also honours."""
    for where, value in (("timeout", body.get("timeout")),
                         ("input_values.deploy_timeout", input_values.get("deploy_timeout"))):
        if value is None:
            continue
        try:
            seconds = float(value)
        except (TypeError, ValueError, OverflowError):
            seconds = -1
        if isinstance(value, bool) or not 0 < seconds <= 7 * 24 * 3600:
            raise InvalidInput(f"{where}: {value!r} is not a number of seconds between 1 and 604800")
        return seconds
    return default


def _deadline(status: str | None, start: datetime, seconds: float) -> datetime | None:
    # after the deployment's own timeout, a grace period so that an agent's own timeout report
    # (status 124) arrives first and says more than the server can
    return start + timedelta(seconds=seconds) + TIMEOUT_GRACE if status == IN_PROGRESS else None


def _check_server(store: Store, tenant: str, server_id: str, required: bool) -> None:
    """Another tenant's server is not found, exactly as a missing one is, so a deployment can
    neither reach it nor tell that it exists. A server not registered at all is accepted when
    not `required`: Heat's API lets a deployment name any server id, and the server may register
    with that id later."""
    row = store.get_server(server_id)
    if (row is None and required) or (row is not None and row["tenant"] != tenant):
        raise NotFound(f"Server with id {server_id} not found", "NotFound")


def create_deployment(store: Store, clock: Clock, tenant: str, body: dict,
                      endpoints: Endpoints,
                      default_timeout: float = DEFAULT_TIMEOUT_SECONDS, *,
                      require_server: bool = False) -> dict:
    """Create a deployment; with `signal_transport` in the body, derive its config first.

    `endpoints` makes the signal URL or keystone user an agent signals this deployment's result
    with. With `require_server`, the server must be registered in `tenant` (a tenant-scoped
    caller, and the engine); see _check_server.
    """
    config_id = required(body, "config_id", str, "the id of a software config")
    server_id = required(body, "server_id", str, "a server id")
    max_length("server_id", server_id, 255)
    identifier("server_id", server_id)
    input_values = optional(body, "input_values", dict, "an object") or {}
    action = optional(body, "action", str, "a string")
    status = optional(body, "status", str, "a string")
    reason = optional(body, "status_reason", (str, int, float, bool), "a string")
    project = optional(body, "stack_user_project_id", str, "a string")
    max_length("stack_user_project_id", project, 64)
    timeout = _timeout_seconds(body, input_values, default_timeout)
    source = _config_for(store, tenant, config_id)
    _check_server(store, tenant, server_id, require_server)
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
        if transport == "HEAT_SIGNAL" and not (ctx.stack_id and ctx.resource_name):
            # the agent signals the stack resource, so there must be one
            raise InvalidInput("signal_transport: HEAT_SIGNAL signals a stack resource and needs "
                               "stack_id and resource_name; use TEMP_URL_SIGNAL or CFN_SIGNAL "
                               "for a deployment made outside a stack")
        name = optional(body, "name", str, "a string") or source["name"]
        derived = {"id": str(uuid.uuid4()), "tenant": tenant, "name": name,
                   "group": source["group"] or "Heat::Ungrouped",
                   "body": derive_body(source["body"], input_values, ctx, endpoints.signal_target(
                                       tenant, deployment_id,
                                       _deadline(IN_PROGRESS, now, timeout) + SIGNAL_URL_SLACK)),
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
    row["timeout_at"] = _deadline(row["status"], now, timeout)
    store.insert_deployment(row)
    store.record_change(server_id, now)
    return store.get_deployment(deployment_id)


def update_deployment(store: Store, clock: Clock, tenant: str, deployment_id: str,
                      body: dict, default_timeout: float = DEFAULT_TIMEOUT_SECONDS) -> dict:
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
        now = clock()
        changes = dict(values, updated_at=now)
        if values.get("status") == IN_PROGRESS or values.get("config_id"):
            # a new action or config starts a new wait for its signal
            status = values.get("status", row["status"])
            timeout = _timeout_seconds(body, values.get("input_values") or row["input_values"] or {},
                                       default_timeout)
            changes.update(timeout_at=_deadline(status, now, timeout), phase=None)
        elif "status" in values:
            changes["timeout_at"] = None
        if store.update_deployment(deployment_id, row["version"], changes):
            if values.get("config_id") and values["config_id"] != row["config_id"]:
                # Heat pushes metadata only when the config changed: the document is the configs
                store.record_change(row["server_id"], now)
            return store.get_deployment(deployment_id)


def delete_deployment(store: Store, clock: Clock, tenant: str, deployment_id: str) -> None:
    row = get_deployment(store, tenant, deployment_id)
    store.delete_deployment(deployment_id)
    store.record_change(row["server_id"], clock())

"""Software deployments: which config a server should apply, and where that stands."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from metadata_server.service.clock import Clock, isotime
from metadata_server.service.derived_config import TRANSPORTS, DeployContext, derive_body
from metadata_server.service.endpoints import Endpoints
from metadata_server.service.errors import InvalidInput, NotFound
from metadata_server.service.store_protocol import ServiceStore
from metadata_server.service.validate import identifier, max_length, optional, required
from metadata_server.store.records import ConfigRecord, DeploymentRecord

IN_PROGRESS, COMPLETE, FAILED = "IN_PROGRESS", "COMPLETE", "FAILED"
DEFAULT_TIMEOUT_SECONDS = 3600  # Heat's stack_action_timeout: the longest Heat would ever wait
TIMEOUT_GRACE = timedelta(seconds=60)
# a signal URL outlives its deployment's deadline by this much, then stops working
SIGNAL_URL_SLACK = timedelta(days=1)
UPDATABLE = ("config_id", "input_values", "output_values", "action", "status", "status_reason")


def format_deployment(deployment: DeploymentRecord) -> dict:
    """Heat's JSON shape of a deployment, with stoker's additions once they are known."""
    d = deployment
    result = {"id": d.id, "server_id": d.server_id, "config_id": d.config_id,
              "input_values": d.input_values, "output_values": d.output_values,
              "action": d.action, "status": d.status, "status_reason": d.status_reason,
              "creation_time": isotime(d.created_at)}
    if d.updated_at is not None:
        result["updated_time"] = isotime(d.updated_at)
    # stoker's additions, present only once known (as Heat adds updated_time)
    for key, value in (("phase", d.phase), ("last_signal_time", isotime(d.last_signal_at)),
                       ("timeout_time", isotime(d.timeout_at))):
        if value is not None:
            result[key] = value
    return result


def get_deployment(store: ServiceStore, tenant: str | None,
                   deployment_id: str) -> DeploymentRecord:
    found = store.get_deployment(deployment_id, tenant)
    if found is None:
        raise NotFound(f"Deployment with id {deployment_id} not found", "NotFound")
    return found


def _config_for(store: ServiceStore, tenant: str, config_id: str) -> ConfigRecord:
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


def _check_server(store: ServiceStore, tenant: str, server_id: str, required: bool) -> None:
    """Another tenant's server is not found, exactly as a missing one is, so a deployment can
    neither reach it nor tell that it exists. A server not registered at all is accepted when
    not `required`: Heat's API lets a deployment name any server id, and the server may register
    with that id later."""
    found = store.get_server(server_id)
    if (found is None and required) or (found is not None and found.tenant != tenant):
        raise NotFound(f"Server with id {server_id} not found", "NotFound")


def create_deployment(store: ServiceStore, clock: Clock, tenant: str, body: dict,
                      endpoints: Endpoints,
                      default_timeout: float = DEFAULT_TIMEOUT_SECONDS, *,
                      require_server: bool = False) -> DeploymentRecord:
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
        name = optional(body, "name", str, "a string") or source.name
        derived = ConfigRecord(
            id=str(uuid.uuid4()), tenant=tenant, name=name,
            group=source.group or "Heat::Ungrouped",
            body=derive_body(source.body, input_values, ctx, endpoints.signal_target(
                tenant, deployment_id, _deadline(IN_PROGRESS, now, timeout) + SIGNAL_URL_SLACK)),
            created_at=now)
        store.insert_config(derived)
        config_id = derived.id
        if status is None:
            status = COMPLETE if transport == "NO_SIGNAL" else IN_PROGRESS
            reason = ("Not waiting for outputs signal" if transport == "NO_SIGNAL"
                      else "Deploy data available")

    # Heat's defaults for a deployment created through the API
    status = status or COMPLETE
    store.insert_deployment(DeploymentRecord(
        id=deployment_id, tenant=tenant, server_id=server_id, config_id=config_id,
        input_values=input_values, output_values=None, action=action or "INIT", status=status,
        status_reason="" if reason is None else str(reason), stack_user_project_id=project,
        created_at=now, timeout_at=_deadline(status, now, timeout)))
    store.record_change(server_id, now)
    return store.get_deployment(deployment_id)


def update_deployment(store: ServiceStore, clock: Clock, tenant: str, deployment_id: str,
                      body: dict,
                      default_timeout: float = DEFAULT_TIMEOUT_SECONDS) -> DeploymentRecord:
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
        current = get_deployment(store, tenant, deployment_id)
        now = clock()
        changes = dict(values, updated_at=now)
        if values.get("status") == IN_PROGRESS or values.get("config_id"):
            # a new action or config starts a new wait for its signal
            status = values.get("status", current.status)
            timeout = _timeout_seconds(body, values.get("input_values") or current.input_values
                                       or {}, default_timeout)
            changes.update(timeout_at=_deadline(status, now, timeout), phase=None)
        elif "status" in values:
            changes["timeout_at"] = None
        if store.update_deployment(deployment_id, current.version, changes):
            if values.get("config_id") and values["config_id"] != current.config_id:
                # Heat pushes metadata only when the config changed: the document is the configs
                store.record_change(current.server_id, now)
            return store.get_deployment(deployment_id)


def delete_deployment(store: ServiceStore, clock: Clock, tenant: str, deployment_id: str) -> None:
    found = get_deployment(store, tenant, deployment_id)
    store.delete_deployment(deployment_id)
    store.record_change(found.server_id, clock())

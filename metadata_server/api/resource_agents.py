"""The two stack routes agents call with their own credentials, as they do on Heat.

- POST .../resources/<deployment>/signal: HEAT_SIGNAL. The caller is the deployment's keystone
  user, its server, or an operator; the signal is applied to the deployment exactly as on the
  native signal route (same handler, same idempotency by attempt id).
- GET .../resources/<server>/metadata: POLL_SERVER_HEAT's collector. The caller is that server
  (or an operator); the answer is the server's document, with the heat collector settings in
  its os-collect-config section, as Heat serves a server's metadata.

Every other resource route, and signals to other resources, stay the operator's.
"""
from __future__ import annotations

from flask import jsonify

from metadata_server.api import signals
from metadata_server.api.common import caller, ctx
from metadata_server.engine.resources import resource_class
from metadata_server.engine.resources.servers import AgentServer
from metadata_server.engine.resources.software_deployment import SoftwareDeployment
from metadata_server.engine.stack import Engine
from metadata_server.service.auth import ADMIN, SERVER
from metadata_server.service.deployments import get_deployment
from metadata_server.service.errors import NotFound


def _resource(eng: Engine, stack: dict, name: str) -> tuple[dict, type]:
    row = eng.find_resource(stack["id"], name)
    if row is None:
        raise NotFound(f"The Resource ({name}) could not be found.", "EntityNotFound")
    provider = (row.get("definition") or {}).get("provider_template")
    return row, resource_class(row["type"], provider)


def deployment_signal(eng: Engine, stack: dict, name: str):
    """A signal to a deployment resource, or None when `name` is not one (the operator's)."""
    row, cls = _resource(eng, stack, name)
    if not issubclass(cls, SoftwareDeployment) or not row.get("physical_id"):
        return None
    c = ctx()
    deployment = get_deployment(c.store, stack["tenant"], row["physical_id"])
    caller().require_deployment(deployment)
    return signals.apply(deployment.id)


def server_metadata(eng: Engine, stack: dict, name: str):
    row, cls = _resource(eng, stack, name)
    principal = caller()
    if principal.kind != ADMIN:
        principal.require_server(row.get("physical_id") or "")
    c = ctx()
    server_id = row.get("physical_id")
    if not issubclass(cls, AgentServer) or not server_id or c.store.get_server(server_id) is None:
        return jsonify({"metadata": eng.resource_metadata(stack, row["name"])})
    if principal.kind == SERVER:
        c.last_seen.record(server_id, c.clock())
    settings = eng.resource_attribute(stack, row["name"], "os_collect_config") or {}
    cached = c.documents.get(server_id, stack["tenant"], settings, variant="heat")
    # Heat merges the deployments into whatever metadata the template gave the server
    metadata = dict(eng.resource_metadata(stack, row["name"]) or {}, **c.documents.document(cached))
    return jsonify({"metadata": metadata})

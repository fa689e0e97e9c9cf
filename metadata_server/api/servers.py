"""/v1/{tenant_id}/servers (native): registration, credentials, and each server's document."""
from flask import Blueprint, Response, jsonify, request

from metadata_server.api.common import admin, caller, ctx, json_body
from metadata_server.api.document_endpoint import (DocumentRequest, parse_if_none_match,
                                                   parse_wait, respond)
from metadata_server.service import documents, servers
from metadata_server.service.auth import SERVER

bp = Blueprint("servers", __name__, url_prefix="/v1/<tenant>/servers")


def _metadata_url(tenant: str, server_id: str) -> str:
    return ctx().endpoints().server_metadata_url(tenant, server_id)


def _credentials(tenant: str, server_id: str, issued: servers.IssuedCredentials) -> dict:
    """The credential, and collector settings for stoker's agent and for os-collect-config."""
    endpoints = ctx().endpoints()
    metadata_url = endpoints.server_metadata_url(tenant, server_id)
    return {
        "credential": {"token": issued.token, "access_key_id": issued.access_key_id,
                       "secret_access_key": issued.secret_access_key},
        "agent_config": {"metadata_url": metadata_url, "auth_token": issued.token},
        # settings for each collector that can poll this server; an unchanged image running
        # upstream os-collect-config uses `cfn` or `request`
        "os-collect-config": {
            "watch": {"metadata_url": metadata_url, "auth_token": issued.token},
            "cfn": documents.cfn_settings(endpoints.cfn_url(), server_id, "server",
                                          issued.access_key_id, issued.secret_access_key)["cfn"],
            "request": {"metadata_url": endpoints.signed_metadata_url(server_id,
                                                                      issued.access_key_id)},
        },
    }


@bp.get("")
def index(tenant):
    admin()
    c = ctx()
    return jsonify({"servers": [servers.format_server(c.last_seen.latest(r))
                                for r in c.store.list_servers(tenant)]})


@bp.post("")
def register(tenant):
    principal = admin()
    c = ctx()
    registered, issued = servers.register_server(c.store, c.clock, tenant, json_body(),
                                                 may_choose_id=principal.tenant is None)
    return jsonify(dict({"server": servers.format_server(registered)},
                        **_credentials(tenant, registered.id, issued))), 201


@bp.post("/<server_id>/credentials")
def rotate(tenant, server_id):
    admin()
    c = ctx()
    issued = servers.rotate_credentials(c.store, c.clock, tenant, server_id)
    return jsonify(_credentials(tenant, server_id, issued)), 201


@bp.get("/<server_id>")
def show(tenant, server_id):
    admin()
    c = ctx()
    row = c.last_seen.latest(servers.get_server(c.store, tenant, server_id))
    return jsonify({"server": servers.format_server(row)})


@bp.delete("/<server_id>")
def delete(tenant, server_id):
    admin()
    servers.delete_server(ctx().store, ctx().clock, tenant, server_id)
    return "", 204


@bp.route("/<server_id>/metadata", methods=["GET", "HEAD"])
def document(tenant, server_id):
    principal = caller()
    principal.require_server(server_id)
    c = ctx()
    servers.get_server(c.store, tenant, server_id)
    if principal.kind == SERVER:
        c.last_seen.record(server_id, c.clock())
    status, headers, body = respond(c.documents, DocumentRequest(
        tenant, server_id, parse_if_none_match(request.headers.get("If-None-Match")),
        parse_wait(request.args.get("wait")),
        documents.watch_settings(_metadata_url(tenant, server_id)),
        head=request.method == "HEAD"), poll_interval=c.poll_interval)
    c.metrics.inc("stoker_polls_total", answer=str(status), path="app")
    return Response(body, status=status, headers=headers)

"""/v1/{tenant_id}/servers (native): registration, credentials, and each server's document."""
from datetime import timedelta

from flask import Blueprint, jsonify, request

from metadata_server.api.common import admin, caller, check_tenant, ctx, json_body
from metadata_server.service import documents, servers

bp = Blueprint("servers", __name__, url_prefix="/v1/<tenant>/servers")

# a poll refreshes last-seen at most this often, so polling is not a database write each time
SEEN_GRANULARITY = timedelta(seconds=15)


@bp.get("")
def index(tenant):
    admin()
    return jsonify({"servers": [servers.format_server(r)
                                for r in ctx().store.list_servers(tenant)]})


@bp.post("")
def register(tenant):
    admin()
    c = ctx()
    row, token = servers.register_server(c.store, c.clock, tenant, json_body())
    metadata_url = f"{c.base_url()}/v1/{tenant}/servers/{row['id']}/metadata"
    return jsonify({"server": servers.format_server(row), "credential": {"token": token},
                    "agent_config": {"metadata_url": metadata_url, "auth_token": token}}), 201


@bp.get("/<server_id>")
def show(tenant, server_id):
    admin()
    return jsonify({"server": servers.format_server(servers.get_server(ctx().store, tenant, server_id))})


@bp.delete("/<server_id>")
def delete(tenant, server_id):
    admin()
    servers.delete_server(ctx().store, tenant, server_id)
    return "", 204


@bp.get("/<server_id>/metadata")
def document(tenant, server_id):
    principal = caller()
    check_tenant(principal, tenant)
    principal.require_server(server_id)
    c = ctx()
    server = servers.get_server(c.store, tenant, server_id)
    now = c.clock()
    if principal.server_id == server_id and (
            server["last_seen_at"] is None or now - server["last_seen_at"] > SEEN_GRANULARITY):
        c.store.mark_seen(server_id, now)
    doc = documents.server_document(documents.deployment_items(c.store, server_id, tenant),
                                    f"{c.base_url()}/v1/{tenant}/servers/{server_id}/metadata")
    tag = documents.etag(doc)
    if tag in request.if_none_match:
        response = jsonify()
        response.status_code = 304
        response.set_data(b"")
    else:
        response = jsonify(doc)
    response.set_etag(tag)
    return response

"""/v1/{tenant_id}/software_deployments"""
from flask import Blueprint, jsonify, request

from metadata_server.api.common import admin, caller, ctx, json_body
from metadata_server.service import deployments, documents

bp = Blueprint("software_deployments", __name__,
               url_prefix="/v1/<tenant>/software_deployments")


def _one(row):
    return jsonify({"software_deployment": deployments.format_deployment(row)})


@bp.get("")
def index(tenant):
    admin()
    rows = ctx().store.list_deployments(tenant, request.args.get("server_id"))
    return jsonify({"software_deployments": [deployments.format_deployment(r) for r in rows]})


@bp.post("")
def create(tenant):
    principal = admin()
    c = ctx()
    # a tenant-scoped caller cannot name a server it could not register or see
    row = deployments.create_deployment(c.store, c.clock, tenant, json_body(),
                                        c.endpoints(), c.deployment_timeout,
                                        require_server=principal.tenant is not None)
    return _one(row)


@bp.get("/<deployment_id>")
def show(tenant, deployment_id):
    admin()
    return _one(deployments.get_deployment(ctx().store, tenant, deployment_id))


@bp.put("/<deployment_id>")
def update(tenant, deployment_id):
    admin()
    c = ctx()
    return _one(deployments.update_deployment(c.store, c.clock, tenant, deployment_id,
                                              json_body(), c.deployment_timeout))


@bp.delete("/<deployment_id>")
def delete(tenant, deployment_id):
    admin()
    deployments.delete_deployment(ctx().store, ctx().clock, tenant, deployment_id)
    return "", 204


@bp.get("/metadata/<server_id>")
def metadata(tenant, server_id):
    caller().require_server(server_id)
    return jsonify({"metadata": documents.deployment_items(ctx().store, server_id, tenant)})

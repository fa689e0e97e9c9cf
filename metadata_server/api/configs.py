"""/v1/{tenant_id}/software_configs"""
from flask import Blueprint, jsonify, request

from metadata_server.api.common import admin, ctx, json_body
from metadata_server.service import configs

bp = Blueprint("software_configs", __name__, url_prefix="/v1/<tenant>/software_configs")


@bp.get("")
def index(tenant):
    admin()
    rows = configs.list_configs(ctx().store, tenant, request.args.get("limit"),
                                request.args.get("marker"))
    return jsonify({"software_configs": [configs.format_config(r, detail=False) for r in rows]})


@bp.post("")
def create(tenant):
    admin()
    row = configs.create_config(ctx().store, ctx().clock, tenant, json_body())
    # Heat answers a create with 200, not 201
    return jsonify({"software_config": configs.format_config(row)})


@bp.get("/<config_id>")
def show(tenant, config_id):
    admin()
    return jsonify({"software_config": configs.format_config(
        configs.get_config(ctx().store, tenant, config_id))})


@bp.delete("/<config_id>")
def delete(tenant, config_id):
    admin()
    configs.delete_config(ctx().store, tenant, config_id)
    return "", 204

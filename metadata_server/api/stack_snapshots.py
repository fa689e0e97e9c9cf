"""Heat's abandon and snapshot routes under /v1/{tenant}/stacks/{name}/{id} (reference §11,
§12; bodies as conformance/api-shapes.json). Adopt is a create (api/stacks.py) with
`adopt_stack_data`; both are gated by the server's options (stack_gates.py).
"""
from __future__ import annotations

from flask import Blueprint, jsonify

from metadata_server.api.common import ctx, json_body
from metadata_server.api.stack_gates import allow_abandon
from metadata_server.api.stacks import STACK, operator_stack
from metadata_server.service.clock import isotime
from metadata_server.store.event_sinks_spec import masked_stack_data

bp = Blueprint("stack_snapshots", __name__, url_prefix="/v1/<tenant>")
SNAPSHOT = STACK + "/snapshots/<snapshot_id>"


def format_snapshot(row: dict) -> dict:
    return {"id": row["id"], "name": row["name"], "status": row["status"],
            "status_reason": row["status_reason"], "creation_time": isotime(row["created_at"]),
            "data": masked_stack_data(row["data"]), "action": row["action"]}


@bp.delete(STACK + "/abandon")
def abandon(tenant, name, stack_id):
    eng, stack = operator_stack(tenant, name, stack_id)
    allow_abandon()
    return jsonify(eng.abandon_stack(tenant, stack["id"]))


@bp.post(STACK + "/snapshots")
def snapshot(tenant, name, stack_id):
    eng, stack = operator_stack(tenant, name, stack_id)
    return jsonify(format_snapshot(eng.snapshot_stack(tenant, stack["id"], json_body())))


@bp.get(STACK + "/snapshots")
def snapshots(tenant, name, stack_id):
    eng, stack = operator_stack(tenant, name, stack_id)
    return jsonify({"snapshots": [format_snapshot(r)
                                  for r in eng.list_snapshots(tenant, stack["id"])]})


@bp.get(SNAPSHOT)
def show(tenant, name, stack_id, snapshot_id):
    eng, stack = operator_stack(tenant, name, stack_id)
    return jsonify({"snapshot": format_snapshot(eng.show_snapshot(tenant, stack["id"],
                                                                  snapshot_id))})


@bp.delete(SNAPSHOT)
def delete(tenant, name, stack_id, snapshot_id):
    eng, stack = operator_stack(tenant, name, stack_id)
    eng.delete_snapshot(tenant, stack["id"], snapshot_id)
    return "", 204


@bp.post(SNAPSHOT + "/restore")
def restore(tenant, name, stack_id, snapshot_id):
    eng, stack = operator_stack(tenant, name, stack_id)
    eng.restore_snapshot(tenant, stack["id"], snapshot_id, ctx().endpoints())
    return "", 202

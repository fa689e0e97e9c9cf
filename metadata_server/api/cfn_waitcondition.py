"""PUT /v1/waitcondition/<arn>: the pre-signed URL of an AWS::CloudFormation::WaitConditionHandle.

cfn-signal and curl PUT `{"Status", "Reason", "UniqueId", "Data"}` here. The URL's `sig` is its
credential (the same signature an OS::Heat::WaitConditionHandle's signal URL carries); the ARN in
the path says which stack and handle. The answer is the handle's signals so far, as Heat answers
with the handle's metadata.
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from metadata_server.api.common import ctx, json_body
from metadata_server.api.app_engine import engine
from metadata_server.engine.resources import resource_class
from metadata_server.engine.resources.cfn_wait_condition import CfnWaitConditionHandle, parse_arn
from metadata_server.engine.resources.wait_condition import handle_signature
from metadata_server.service.credentials import signed_by_any
from metadata_server.service.errors import Forbidden, NotFound

bp = Blueprint("cfn_waitcondition", __name__, url_prefix="/v1/waitcondition")


@bp.put("/<path:arn>")
def signal(arn):
    parsed = parse_arn(arn)
    if parsed is None:
        raise NotFound(f"{arn[:200]!r} is not a wait condition handle's ARN "
                       "(arn:openstack:heat::<tenant>:stacks/<name>/<id>/resources/<handle>)")
    tenant, stack_name, stack_id, resource = parsed
    if not signed_by_any(ctx().signing_keys(), request.args.get("sig"),
                         lambda key: handle_signature(key, stack_id, resource)):
        raise Forbidden("this wait condition URL's signature is not valid for the handle")
    eng = engine()
    stack = eng.get_stack(tenant, stack_id)
    row = eng.find_resource(stack["id"], resource)
    provider = ((row or {}).get("definition") or {}).get("provider_template")
    if row is None or not issubclass(resource_class(row["type"], provider), CfnWaitConditionHandle):
        raise NotFound(f"no AWS::CloudFormation::WaitConditionHandle {resource} in stack "
                       f"{stack_name}", "EntityNotFound")
    eng.signal_resource(tenant, stack["id"], resource, json_body())
    signals = (eng.find_resource(stack["id"], resource).get("data") or {}).get("signals") or {}
    return jsonify({unique: {"Status": s["status"], "Reason": s["reason"], "Data": s["data"],
                             "UniqueId": unique} for unique, s in signals.items()})

"""POST /v1/signal/<arn>: heat-api-cfn's resource signal, signed with an EC2 key pair.

The request carries an EC2 signature (version 2: `AWSAccessKeyId`, `SignatureMethod`,
`SignatureVersion`, `Signature` in the query, signed over POST and the unquoted path) made with
a key pair stoker issued: an AWS::IAM::AccessKey's (a stack user's) or a server's. As Heat
authorises a stack user, the key must be one of the ARN's stack and allowed to reach the
resource (its user's policies, engine/resources/aws_iam.py), or be the resource's own server's.
The body (JSON, possibly empty) is the signal, applied as the native signal route applies it.
Errors are AWS-style XML. (`/v1/signal/deployments/<id>`, the agents' route, is
api/signals.py.)
"""
from __future__ import annotations

from flask import Blueprint, Response, request

from metadata_server.api.common import ctx, json_body
from metadata_server.api.app_engine import engine
from metadata_server.engine.errors import StackNotFound
from metadata_server.engine.resources.aws_iam import access_allowed
from metadata_server.engine.resources.cfn_wait_condition import parse_arn
from metadata_server.service.cfn import CfnError, credentials_in, verify

bp = Blueprint("cfn_signal", __name__)


@bp.post("/v1/signal/<path:arn>")
def signal(arn):
    try:
        tenant, stack, resource = _authorised(arn)
    except CfnError as error:
        return Response(error.xml(), status=error.status, mimetype="application/xml")
    engine().signal_resource(tenant, stack["id"], resource, json_body())
    return Response(b"", status=200)


def _authorised(arn: str) -> tuple[str, dict, str]:
    c = ctx()
    params = request.args.to_dict()
    access_key, signature = credentials_in(params)
    found = c.store.server_for_access_key(access_key, c.clock())
    if found is None:
        raise CfnError(403, "InvalidClientTokenId", "The EC2 access key is not known")
    principal, secret_key = found
    verify(secret_key, signature, request.method, request.host, request.path, params, c.clock())
    parsed = parse_arn(arn)
    denied = CfnError(403, "AccessDenied", "this key may not signal that resource (the ARN "
                      "must name a resource of the key's own stack that its user may reach: "
                      "arn:openstack:heat::<project>:stacks/<name>/<id>/resources/<resource>)")
    if parsed is None or parsed[0] != principal.tenant:
        raise denied
    tenant, _name, stack_id, resource = parsed
    eng = engine()
    try:
        stack = eng.get_stack(tenant, stack_id)
    except StackNotFound:
        raise denied from None
    rows = eng.resources(stack)
    own = any(r["name"] == resource and r.get("physical_id") == principal.id for r in rows)
    if not own and not access_allowed(rows, principal.id, resource):
        raise denied
    return tenant, stack, resource

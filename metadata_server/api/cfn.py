"""/v1/?Action=DescribeStackResource: the CFN API that upstream os-collect-config's `cfn`
collector and heat-cfntools' cfn-init and cfn-hup read metadata through.

A request is signed with an EC2 key pair stoker issued: signature version 2 in the query
(os-collect-config) or version 4 in the Authorization header (boto, so cfn-init and cfn-hup).
When StackName names a stack of the key's project, the answer is the named resource's Metadata,
as Heat gives it: the template's metadata (functions resolved), with the server's document merged
in when the resource is the key's own server. A server's key reads only its own resource; an
AWS::IAM::AccessKey's reads the resources its user's policies allow (aws_iam.access_allowed),
without any server's document. When StackName names no stack (a server registered through
/servers), the answer is the server's document, whatever the names.
"""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from metadata_server.api.common import ctx
from metadata_server.api.app_engine import engine
from metadata_server.api.versions import versions_document
from metadata_server.engine.errors import StackNotFound
from metadata_server.engine.resources.aws_iam import access_allowed
from metadata_server.service import documents, sigv4
from metadata_server.service.cfn import (CfnError, credentials_in, describe_stack_resource_json,
                                         describe_stack_resource_xml, resource_detail,
                                         server_detail, stack_reference, verify)
from metadata_server.store.records import ServerRecord

bp = Blueprint("cfn", __name__)
SUPPORTED = ("DescribeStackResource",)


@bp.route("/v1/", methods=["GET", "POST"])
def dispatch():
    v4 = sigv4.is_v4(request.headers.get("Authorization"))
    # a v4 signature covers the body: read it before the form parser consumes it
    payload = request.get_data(cache=True) if v4 else b""
    params = {**request.form.to_dict(), **request.args.to_dict()}
    action = params.get("Action")
    if action is None:
        return jsonify(versions_document())
    try:
        if action not in SUPPORTED:
            raise CfnError(400, "InvalidAction", f"action {action!r} is not supported by stoker; "
                           f"supported: {', '.join(SUPPORTED)}")
        server, access_key, secret_key = (_signed_v4(payload) if v4 else _signed_v2(params))
        return _describe_stack_resource(params, server, access_key, secret_key)
    except CfnError as error:
        return Response(error.xml(), status=error.status, mimetype="application/xml")


def _server(access_key: str) -> tuple[ServerRecord, str]:
    c = ctx()
    found = c.store.server_for_access_key(access_key, c.clock())
    if found is None:
        raise CfnError(403, "InvalidClientTokenId", "The EC2 access key is not known")
    return found


def _signed_v2(params: dict[str, str]) -> tuple[ServerRecord, str, str]:
    access_key, signature = credentials_in(params)
    server, secret_key = _server(access_key)
    verify(secret_key, signature, request.method, request.host, request.path, params,
           ctx().clock())
    return server, access_key, secret_key


def _signed_v4(payload: bytes) -> tuple[ServerRecord, str, str]:
    auth = sigv4.parse(request.headers["Authorization"])
    server, secret_key = _server(auth.access_key)
    sigv4.verify(secret_key, auth, request.method, request.path,
                 request.args.items(multi=True), request.headers, payload, ctx().clock())
    return server, auth.access_key, secret_key


def _describe_stack_resource(params: dict[str, str], server: ServerRecord, access_key: str,
                             secret_key: str) -> Response:
    c = ctx()
    stack_name = params.get("StackName") or server.id
    resource = params.get("LogicalResourceId") or "server"
    c.last_seen.record(server.id, c.clock())
    cached = c.documents.get(server.id, server.tenant, documents.cfn_settings(
        f"{c.base_url()}/v1/", stack_name, resource, access_key, secret_key), variant="cfn")
    document = c.documents.document(cached)
    detail = (_stack_resource_detail(server, stack_name, resource, document)
              or server_detail(document, server, stack_name, resource))
    if params.get("ContentType") == "JSON":
        return jsonify(describe_stack_resource_json(detail))
    return Response(describe_stack_resource_xml(detail), mimetype="application/xml")


def _stack_resource_detail(server: ServerRecord, stack_name: str, resource: str,
                           document: dict) -> dict | None:
    """The named stack resource's detail, or None when no stack of the server's project has
    that name (or id)."""
    eng = engine()
    try:
        stack = eng.get_stack(server.tenant, stack_reference(stack_name))
    except StackNotFound:
        return None
    rows = eng.resources(stack)
    row = next((r for r in rows if r["name"] == resource), None)  # a logical name only
    if row is None:
        raise CfnError(400, "InvalidParameterValue", f"stack {stack['name']!r} has no resource "
                       f"{resource[:255]!r} (LogicalResourceId)")
    own = row.get("physical_id") == server.id
    if not own and not access_allowed(rows, server.id, row["name"]):
        raise CfnError(403, "AccessDenied", f"this key may not read {row['name']!r} of stack "
                       f"{stack['name']!r}: a server's key reads its own resource, an AccessKey "
                       "what its user's AccessPolicy allows")
    metadata = eng.resource_metadata(stack, row["name"]) or {}
    if own:
        # Heat merges the deployments into whatever metadata the template gave the server
        metadata = dict(metadata, **document)
    # else a stack user's AccessKey: the template's metadata; a server's own document (its
    # credentials among it) goes only to that server
    return resource_detail(stack, row, metadata)

"""/v1/?Action=DescribeStackResource: the CFN API upstream os-collect-config's `cfn` collector uses."""
from flask import Blueprint, Response, jsonify, request

from metadata_server.api.common import ctx
from metadata_server.api.versions import versions_document
from metadata_server.service import documents
from metadata_server.service.cfn import CfnError, credentials_in, describe_stack_resource, verify

bp = Blueprint("cfn", __name__)
SUPPORTED = ("DescribeStackResource",)


@bp.route("/v1/", methods=["GET", "POST"])
def dispatch():
    params = {**request.form.to_dict(), **request.args.to_dict()}
    action = params.get("Action")
    if action is None:
        return jsonify(versions_document())
    try:
        if action not in SUPPORTED:
            raise CfnError(400, "InvalidAction", f"action {action!r} is not supported by stoker; "
                           f"supported: {', '.join(SUPPORTED)}")
        return _describe_stack_resource(params)
    except CfnError as error:
        return Response(error.xml(), status=error.status, mimetype="application/xml")


def _describe_stack_resource(params: dict[str, str]) -> Response:
    c = ctx()
    access_key, signature = credentials_in(params)
    found = c.store.server_for_access_key(access_key, c.clock())
    if found is None:
        raise CfnError(403, "InvalidClientTokenId", "The EC2 access key is not known")
    server, secret_key = found
    verify(secret_key, signature, request.method, request.host, request.path, params, c.clock())
    stack_name = params.get("StackName") or server.id
    resource = params.get("LogicalResourceId") or "server"
    c.last_seen.record(server.id, c.clock())
    cached = c.documents.get(server.id, server.tenant, documents.cfn_settings(
        f"{c.base_url()}/v1/", stack_name, resource, access_key, secret_key), variant="cfn")
    body = describe_stack_resource(c.documents.document(cached), server, stack_name, resource)
    if params.get("ContentType") == "JSON":
        return jsonify({"DescribeStackResourceResponse": {"DescribeStackResourceResult": {
            "StackResourceDetail": {"Metadata": c.documents.document(cached),
                                    "LogicalResourceId": resource, "StackName": stack_name,
                                    "PhysicalResourceId": server.id}}}})
    return Response(body, mimetype="application/xml")

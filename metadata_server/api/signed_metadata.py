"""/v1/metadata/{server_id}?sig=: a server's document at a URL that is its own credential.

It plays the part Swift temp URLs play in Heat's POLL_TEMP_URL, for os-collect-config's `request`
collector (HEAD, then GET; Last-Modified). The signature covers the server's current EC2 access
key, so rotating the server's credentials retires the URL too.
"""
from flask import Blueprint, Response, request

from metadata_server.api.common import ctx
from metadata_server.api.document_endpoint import (DocumentRequest, parse_if_none_match,
                                                   parse_wait, respond)
from metadata_server.service import documents
from metadata_server.service.credentials import metadata_signature, signed_by_any
from metadata_server.service.errors import Forbidden
from metadata_server.service.signing_keys import fingerprint
from metadata_server.store.records import ServerRecord

bp = Blueprint("signed_metadata", __name__, url_prefix="/v1/metadata")


def signed_server(server_id: str, what: str = "metadata") -> tuple[ServerRecord, str]:
    """The server whose signed URL this request carries (`sig`), and its current access key."""
    c = ctx()
    server, access_key = c.store.server_with_access_key(server_id, c.clock()) or (None, None)
    signature = request.args.get("sig", "")
    if server is None or not signed_by_any(
            c.signing_keys(), signature, lambda key: metadata_signature(key, server_id, access_key)):
        raise Forbidden(f"this {what} URL is not valid (wrong signature, or the server's "
                        "credentials were rotated)")
    return server, access_key


@bp.route("/<server_id>", methods=["GET", "HEAD"])
def document(server_id):
    c = ctx()
    server, access_key = signed_server(server_id)
    c.last_seen.record(server_id, c.clock())
    endpoints = c.endpoints()
    status, headers, body = respond(c.documents, DocumentRequest(
        server.tenant, server_id, parse_if_none_match(request.headers.get("If-None-Match")),
        parse_wait(request.args.get("wait")),
        documents.request_settings(endpoints.signed_metadata_url(server_id, access_key)),
        head=request.method == "HEAD",
        # the document carries a URL signed with the current key: after a rotation it is
        # another document (and ETag), so an agent learns its new URL before the old one dies
        variant=f"request-{fingerprint(endpoints.signing_key)}"), poll_interval=c.poll_interval)
    return Response(body, status=status, headers=headers)

"""/v3: the keystone routes agents configured for Heat call (see service/keystone.py).

Errors here use keystone's body, {"error": {"code", "title", "message"}}, which keystone clients
parse, rather than Heat's.
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from metadata_server.api.common import ctx
from metadata_server.service import json_input, keystone
from metadata_server.service.errors import ServiceError

bp = Blueprint("identity", __name__, url_prefix="/v3")


@bp.errorhandler(ServiceError)
def keystone_error(exc: ServiceError):
    response = jsonify({"error": {"code": exc.code, "title": exc.title, "message": exc.message}})
    response.status_code = exc.code
    if exc.code == 401:
        response.headers["WWW-Authenticate"] = f'Keystone uri="{ctx().base_url()}/v3"'
    return response


@bp.get("")
@bp.get("/")
def version():
    return jsonify(keystone.version_document(ctx().base_url()))


@bp.post("/auth/tokens")
def tokens():
    c = ctx()
    body = json_input.loads(request.get_data(cache=False) or b"null",
                            "the body (a keystone v3 password authentication)")
    token, document = keystone.issue(c.store, c.signing_keys(), c.clock, body, c.base_url())
    response = jsonify(document)
    response.status_code = 201
    response.headers["X-Subject-Token"] = token
    return response

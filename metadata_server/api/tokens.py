"""/v1/tokens (native): operator tokens, managed with the admin token or an unscoped operator token."""
from flask import Blueprint, jsonify

from metadata_server.api.common import admin, ctx, json_body
from metadata_server.service import operator_tokens
from metadata_server.service.errors import Forbidden

bp = Blueprint("tokens", __name__, url_prefix="/v1/tokens")


def _unscoped_admin() -> None:
    if admin().tenant is not None:
        raise Forbidden("a tenant-scoped token cannot manage operator tokens")


@bp.get("")
def index():
    _unscoped_admin()
    return jsonify({"tokens": [operator_tokens.format_token(r)
                               for r in ctx().store.list_operator_tokens()]})


@bp.post("")
def create():
    _unscoped_admin()
    row, secret = operator_tokens.create_token(ctx().store, ctx().clock, json_body())
    return jsonify({"token": operator_tokens.format_token(row), "secret": secret}), 201


@bp.delete("/<token_id>")
def revoke(token_id):
    _unscoped_admin()
    operator_tokens.revoke_token(ctx().store, ctx().clock, token_id)
    return "", 204

"""Version documents, as Heat answers them."""
from flask import Blueprint, jsonify, request

bp = Blueprint("versions", __name__)


def versions_document():
    href = request.host_url.rstrip("/") + "/v1/"
    return {"versions": [{"id": "v1.0", "status": "CURRENT",
                          "links": [{"rel": "self", "href": href}]}]}


@bp.get("/")
def root():
    # Heat's version negotiation answers the bare root with 300 Multiple Choices
    return jsonify(versions_document()), 300


@bp.get("/v1")
def v1():
    # as Heat: keystoneauth's version discovery reads this (`/v1/` is the CFN API's address too:
    # api/cfn.py answers it)
    return jsonify(versions_document()), 300

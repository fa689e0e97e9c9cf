"""What every blueprint shares: the app's context, the caller, the JSON body, Heat's error body."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from flask import Flask, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from metadata_server.service import json_input
from metadata_server.service.auth import Principal, authenticate
from metadata_server.service.clock import Clock
from metadata_server.service.credential_cache import CredentialCache
from metadata_server.service import signing_keys
from metadata_server.service.deployments import DEFAULT_TIMEOUT_SECONDS
from metadata_server.service.document_cache import DocumentCache
from metadata_server.service.endpoints import Endpoints
from metadata_server.service.last_seen import SeenRecorder
from metadata_server.service.metrics import Metrics
from metadata_server.service.errors import InvalidInput, PayloadTooLarge, ServiceError
from metadata_server.store import Store

log = logging.getLogger("stoker.server")


@dataclass
class Context:
    """Everything a request needs, made once per process by the app factory."""
    store: Store
    clock: Clock
    admin_token_hash: str
    public_url: str | None = None
    deployment_timeout: float = DEFAULT_TIMEOUT_SECONDS
    poll_interval: float | None = 30.0  # suggested to agents with every document
    documents: DocumentCache = field(init=False)
    credentials: CredentialCache = field(init=False)
    last_seen: SeenRecorder = field(init=False)
    metrics: Metrics = field(init=False)

    def __post_init__(self):
        self.documents = DocumentCache(self.store, self.clock)
        self.credentials = CredentialCache()
        self.last_seen = SeenRecorder()
        self.metrics = Metrics()
        # a change to a server's document is also how deletion and rotation are announced
        self.store.change_listeners.append(self.credentials.forget_server)

    def authenticate(self, token: str | None) -> Principal:
        return authenticate(self.store, self.admin_token_hash, token, self.clock, self.credentials,
                            self.signing_keys)

    def signing_key(self) -> str:
        """The key new signatures are made with."""
        return signing_keys.current(self.store)

    def signing_keys(self) -> tuple[str, ...]:
        """The keys a signature is checked against: the current one and any still in the
        grace period of a rotation (service/signing_keys.py)."""
        return signing_keys.accepted(self.store, self.clock())

    def base_url(self) -> str:
        return (self.public_url or request.host_url).rstrip("/")

    def endpoints(self) -> Endpoints:
        """The URLs handed to servers, for the public address of this request."""
        return Endpoints(self.base_url(), self.signing_key())

def ctx() -> Context:
    return current_app.extensions["stoker"]


def caller() -> Principal:
    """The authenticated caller, already checked against the route's {tenant_id}."""
    if "principal" not in g:
        principal = ctx().authenticate(request.headers.get("X-Auth-Token"))
        tenant = (request.view_args or {}).get("tenant")
        if tenant is not None:
            principal.require_tenant(tenant)
        g.principal = principal
    return g.principal


def admin() -> Principal:
    principal = caller()
    principal.require_admin()
    return principal


def json_body() -> dict:
    """The request body as a JSON object; an empty body is an empty object, as in Heat."""
    try:
        raw = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise PayloadTooLarge(f"request body is larger than {current_app.config['MAX_CONTENT_LENGTH']} bytes")
    if not raw.strip():
        return {}
    # curl -d sends form-encoded bodies; the body is read as JSON whatever the type says
    body = json_input.loads(raw)
    if not isinstance(body, dict):
        raise InvalidInput(f"request body: must be a JSON object, got {type(body).__name__}; send "
                           "a JSON object with Content-Type: application/json")
    return body


def _error_body(code: int, title: str, explanation: str, error_type: str, message: str):
    response = jsonify({"code": code, "title": title, "explanation": explanation,
                        "error": {"type": error_type, "traceback": None, "message": message}})
    response.status_code = code
    return response


def install_error_handlers(app: Flask) -> None:
    @app.errorhandler(ServiceError)
    def service_error(exc: ServiceError):
        return _error_body(exc.code, exc.title, exc.explanation, exc.error_type, exc.message)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if isinstance(exc, RequestEntityTooLarge):
            return service_error(PayloadTooLarge(
                f"request body is larger than {app.config['MAX_CONTENT_LENGTH']} bytes"))
        response = _error_body(exc.code, exc.name, exc.description or "", type(exc).__name__,
                               f"{exc.name}: {request.method} {request.path}")
        for header in ("Allow",):
            if header in exc.get_response().headers:
                response.headers[header] = exc.get_response().headers[header]
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.path)
        return _error_body(500, "Internal Server Error", ServiceError.explanation,
                           type(exc).__name__, "internal error; see the server log")

"""The little of keystone v3 that agents need: password tokens for servers and deployments.

Heat hands agents keystone credentials in two places: POLL_SERVER_HEAT's collector settings (a user
per server) and HEAT_SIGNAL's deploy_* inputs (a user per deployment). stoker plays keystone for
exactly those users, so an image built for Heat needs no keystone of its own:

- a server's user id is the server id and its password the server's own token (stored hashed, so
  checking it is the same lookup as an X-Auth-Token);
- a deployment's user id is the deployment id and its password an HMAC of that id under the
  server's signing key, so nothing new is stored and deleting the deployment disables it.

Issued tokens are signed, self-describing and short-lived. They are checked against the store
when used, so deleting or rotating a server, or deleting a deployment, revokes them at once.
"""
from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Sequence

from metadata_server.service.clock import Clock
from metadata_server.service.credentials import sign, signed_by_any, token_hash
from metadata_server.service.errors import InvalidInput, Unauthorized
from metadata_server.service.store_protocol import ServiceStore

TOKEN_PREFIX = "stk-ks."
TOKEN_LIFETIME = timedelta(hours=1)
REGION = "RegionOne"
DOMAIN = {"id": "default", "name": "Default"}
# what Heat gives the users it creates for servers and deployments
ROLE = {"id": "heat_stack_user", "name": "heat_stack_user"}
REFUSED = "The request you have made requires authentication."


def deployment_password(signing_key: str, deployment_id: str) -> str:
    return sign(signing_key, "keystone-password", deployment_id)


@dataclass(frozen=True)
class Grant:
    """Who a keystone token stands for: a server, or a single deployment of a server."""
    user_id: str
    tenant: str
    server_id: str
    deployment_id: str | None = None
    credential_hash: str | None = None  # the server token it was issued for: rotation ends it

    def claims(self) -> dict:
        return {"u": self.user_id, "t": self.tenant, "s": self.server_id,
                "d": self.deployment_id, "h": self.credential_hash}


# -- issuing -----------------------------------------------------------------------------------
def _password_user(body: Any) -> tuple[dict, str | None]:
    """The password method's user and the requested project, or 400 naming the field."""
    auth = body.get("auth") if isinstance(body, dict) else None
    identity = auth.get("identity") if isinstance(auth, dict) else None
    if not isinstance(identity, dict):
        raise InvalidInput("auth.identity: required (a keystone v3 password authentication)")
    methods = identity.get("methods")
    if not isinstance(methods, list) or "password" not in methods:
        raise InvalidInput(f"auth.identity.methods: {methods!r} is not supported; stoker "
                           "authenticates the password method only")
    user = (identity.get("password") or {}).get("user") if isinstance(identity.get("password"), dict) else None
    if not isinstance(user, dict) or not isinstance(user.get("password"), str):
        raise InvalidInput("auth.identity.password.user: needs an id (or name) and a password")
    if not isinstance(user.get("id") or user.get("name"), str):
        raise InvalidInput("auth.identity.password.user.id: required, the server or deployment id")
    scope = auth.get("scope")
    project = scope.get("project") if isinstance(scope, dict) else None
    project_id = None
    if isinstance(project, dict):
        project_id = project.get("id") or project.get("name")
        if not isinstance(project_id, str):
            raise InvalidInput("auth.scope.project.id: must be a string")
    return user, project_id


def _check_password(store: ServiceStore, keys: Sequence[str], clock: Clock, user: dict) -> Grant:
    user_id, password = user.get("id") or user.get("name"), user["password"]
    deployment = store.get_deployment(user_id)
    if deployment is not None:
        if not signed_by_any(keys, password, lambda key: deployment_password(key, user_id)):
            raise Unauthorized(REFUSED)
        return Grant(user_id, deployment.tenant, deployment.server_id, deployment.id)
    digest = token_hash(password)
    server = store.server_for_token(digest, clock())
    if server is None or server.id != user_id:
        raise Unauthorized(REFUSED)
    return Grant(user_id, server.tenant, server.id, credential_hash=digest)


def issue(store: ServiceStore, keys: Sequence[str], clock: Clock, body: Any,
          base_url: str) -> tuple[str, dict]:
    """Answer POST /v3/auth/tokens: the token (X-Subject-Token) and the token document.
    `keys` are the accepted signing keys, the current one (which signs the token) first."""
    user, project_id = _password_user(body)
    grant = _check_password(store, keys, clock, user)
    if project_id is not None and project_id != grant.tenant:
        raise Unauthorized(REFUSED)  # as keystone: no hint whether the user or the project was wrong
    issued = clock()
    expires = issued + TOKEN_LIFETIME
    claims = dict(grant.claims(), x=int((expires - datetime(1970, 1, 1)).total_seconds()))
    payload = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode()).decode()
    token = f"{TOKEN_PREFIX}{payload}.{sign(keys[0], 'keystone-token', payload)}"
    return token, {"token": {
        "methods": ["password"],
        "user": {"id": grant.user_id, "name": grant.user_id, "domain": DOMAIN,
                 "password_expires_at": None},
        "project": {"id": grant.tenant, "name": grant.tenant, "domain": DOMAIN},
        "roles": [ROLE],
        "catalog": catalog(base_url, grant.tenant),
        "audit_ids": [base64.urlsafe_b64encode(uuid.uuid4().bytes[:12]).decode().rstrip("=")],
        "issued_at": _keystone_time(issued), "expires_at": _keystone_time(expires)}}


def _keystone_time(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def catalog(base_url: str, tenant: str) -> list[dict]:
    def service(kind: str, name: str, url: str) -> dict:
        return {"id": kind, "type": kind, "name": name, "endpoints": [
            {"id": f"{kind}-{interface}", "interface": interface, "region": REGION,
             "region_id": REGION, "url": url} for interface in ("public", "internal", "admin")]}
    return [service("orchestration", "heat", f"{base_url}/v1/{tenant}"),
            service("identity", "keystone", f"{base_url}/v3")]


def version_document(base_url: str) -> dict:
    return {"version": {
        "id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
        "links": [{"rel": "self", "href": f"{base_url}/v3/"}],
        "media-types": [{"base": "application/json",
                         "type": "application/vnd.openstack.identity-v3+json"}]}}


# -- checking ----------------------------------------------------------------------------------
def is_keystone_token(token: str) -> bool:
    return token.startswith(TOKEN_PREFIX)


def read(keys: Sequence[str], token: str, now: datetime) -> Grant | None:
    """The grant a token carries, if one of the accepted keys signed it and it has not expired."""
    payload, _, signature = token[len(TOKEN_PREFIX):].partition(".")
    if not signed_by_any(keys, signature, lambda key: sign(key, "keystone-token", payload)):
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode()))
        expires = datetime(1970, 1, 1) + timedelta(seconds=int(claims["x"]))
        grant = Grant(claims["u"], claims["t"], claims["s"], claims.get("d"), claims.get("h"))
    except (ValueError, KeyError, TypeError):
        return None
    return grant if expires > now else None


def still_valid(store: ServiceStore, grant: Grant, now: datetime) -> bool:
    """Has what the token was issued for been deleted, rotated or revoked since?"""
    if grant.deployment_id is not None:
        deployment = store.get_deployment(grant.deployment_id)
        return (deployment is not None and deployment.tenant == grant.tenant
                and deployment.server_id == grant.server_id)
    server = store.server_for_token(grant.credential_hash or "", now)
    return server is not None and server.id == grant.server_id

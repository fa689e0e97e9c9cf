"""Who is calling, and what they may do."""
from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Callable, Sequence

from metadata_server.service import keystone
from metadata_server.service.clock import Clock
from metadata_server.service.credential_cache import CredentialCache
from metadata_server.service.credentials import token_hash
from metadata_server.service.errors import Forbidden, Unauthorized
from metadata_server.service.store_protocol import ServiceStore
from metadata_server.store.records import DeploymentRecord

ADMIN, SERVER = "admin", "server"
# a keystone token of a HEAT_SIGNAL deployment user: it may signal that one deployment
DEPLOYMENT = "deployment"


@dataclass(frozen=True)
class Principal:
    kind: str
    server_id: str | None = None
    tenant: str | None = None
    deployment_id: str | None = None

    def require_tenant(self, tenant: str) -> None:
        """A server credential or a tenant-scoped operator token acts only in its own tenant."""
        if self.tenant is not None and self.tenant != tenant:
            raise Forbidden(f"this credential is not valid in tenant {tenant}")

    def require_admin(self) -> None:
        if self.kind != ADMIN:
            raise Forbidden("this server credential may only read its own metadata and "
                            "signal its own deployments")

    def require_server(self, server_id: str, tenant: str | None = None) -> None:
        """Admin may act for any server; a server credential only for its own."""
        if self.kind == ADMIN:
            return
        if self.kind == DEPLOYMENT:
            raise Forbidden("this credential may only signal its own deployment")
        if self.server_id != server_id or (tenant is not None and self.tenant != tenant):
            raise Forbidden(f"this credential belongs to another server, not {server_id}")

    def require_deployment(self, deployment: DeploymentRecord) -> None:
        """Signal a deployment: admin, its server, or that deployment's own keystone user."""
        if self.kind == DEPLOYMENT:
            if self.deployment_id != deployment.id:
                raise Forbidden(f"this credential belongs to another deployment, not "
                                f"{deployment.id}")
            return
        self.require_server(deployment.server_id)


def authenticate(store: ServiceStore, admin_token_hash: str, token: str | None, clock: Clock,
                 cache: CredentialCache | None = None,
                 signing_keys: Callable[[], Sequence[str]] | None = None) -> Principal:
    if not token:
        raise Unauthorized("missing X-Auth-Token header")
    if signing_keys is not None and keystone.is_keystone_token(token):
        return _keystone_principal(store, token, clock, cache, signing_keys())
    digest = token_hash(token)
    if hmac.compare_digest(digest, admin_token_hash):
        return Principal(ADMIN)
    cached = cache.get(digest) if cache is not None else None
    if cached is not None:
        return cached
    now = clock()
    server = store.server_for_token(digest, now)
    if server is not None:
        principal = Principal(SERVER, server.id, server.tenant)
        if cache is not None:
            cache.put(digest, principal)
        return principal
    operator = store.operator_for_token(digest, now)
    if operator is not None:
        return Principal(ADMIN, tenant=operator["tenant"])
    raise Unauthorized("the X-Auth-Token is not valid (unknown, revoked or expired)")


def _keystone_principal(store: ServiceStore, token: str, clock: Clock, cache: CredentialCache | None,
                        keys: Sequence[str]) -> Principal:
    now = clock()
    # signature and expiry first: the cache must not outlive the token
    grant = keystone.read(keys, token, now)
    if grant is None:
        raise Unauthorized("the keystone token is not valid (not issued here, or expired)")
    digest = token_hash(token)
    cached = cache.get(digest) if cache is not None else None
    if cached is not None:
        return cached
    if not keystone.still_valid(store, grant, now):
        raise Unauthorized("the keystone token's server or deployment was deleted or its "
                           "credentials rotated")
    principal = (Principal(DEPLOYMENT, grant.server_id, grant.tenant, grant.deployment_id)
                 if grant.deployment_id else Principal(SERVER, grant.server_id, grant.tenant))
    if cache is not None:
        cache.put(digest, principal)
    return principal

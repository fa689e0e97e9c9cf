"""Who is calling, and what they may do."""
from __future__ import annotations

import hmac
from dataclasses import dataclass

from metadata_server.service.credentials import token_hash
from metadata_server.service.errors import Forbidden, Unauthorized
from metadata_server.store import Store

ADMIN, SERVER = "admin", "server"


@dataclass(frozen=True)
class Principal:
    kind: str
    server_id: str | None = None
    tenant: str | None = None

    def require_admin(self) -> None:
        if self.kind != ADMIN:
            raise Forbidden("this server credential may only read its own metadata and "
                            "signal its own deployments")

    def require_server(self, server_id: str, tenant: str | None = None) -> None:
        """Admin may act for any server; a server credential only for its own."""
        if self.kind == ADMIN:
            return
        if self.server_id != server_id or (tenant is not None and self.tenant != tenant):
            raise Forbidden(f"this credential belongs to another server, not {server_id}")


def authenticate(store: Store, admin_token_hash: str, token: str | None) -> Principal:
    if not token:
        raise Unauthorized("missing X-Auth-Token header")
    digest = token_hash(token)
    if hmac.compare_digest(digest, admin_token_hash):
        return Principal(ADMIN)
    server = store.server_for_token(digest)
    if server is None:
        raise Unauthorized("the X-Auth-Token is not valid")
    return Principal(SERVER, server["id"], server["tenant"])

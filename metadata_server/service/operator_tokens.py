"""Operator tokens: named, optionally tenant-scoped and expiring; stored only as hashes."""
from __future__ import annotations

import uuid
from datetime import timedelta

from metadata_server.service.clock import Clock, isotime
from metadata_server.service.credentials import new_token, token_hash
from metadata_server.service.errors import InvalidInput, NotFound
from metadata_server.service.validate import max_length, optional, required
from metadata_server.service.store_protocol import ServiceStore


def format_token(row: dict) -> dict:
    return {"id": row["id"], "name": row["name"], "tenant": row["tenant"],
            "creation_time": isotime(row["created_at"]),
            "expiry_time": isotime(row["expires_at"]),
            "revoked_time": isotime(row["revoked_at"])}


MAX_EXPIRES_IN = 100 * 365 * 24 * 3600  # beyond it, leave expires_in out: the token never expires


def create_token(store: ServiceStore, clock: Clock, body: dict) -> tuple[dict, str]:
    name = required(body, "name", str, "a non-empty string")
    tenant = optional(body, "tenant", str, "a tenant id")
    max_length("name", name, 255)
    max_length("tenant", tenant, 64)
    expires_in = body.get("expires_in")
    if expires_in is not None and (isinstance(expires_in, bool)
                                   or not isinstance(expires_in, (int, float))
                                   or not 0 < expires_in <= MAX_EXPIRES_IN):
        raise InvalidInput(f"expires_in: {expires_in!r:.40} is not a number of seconds between 0 "
                           f"and {MAX_EXPIRES_IN} (100 years)")
    now = clock()
    secret = new_token()
    row = {"id": str(uuid.uuid4()), "name": name, "tenant": tenant,
           "token_hash": token_hash(secret), "created_at": now,
           "expires_at": now + timedelta(seconds=expires_in) if expires_in else None,
           "revoked_at": None}
    store.insert_operator_token(row)
    return row, secret


def revoke_token(store: ServiceStore, clock: Clock, token_id: str) -> None:
    if store.revoke_operator_token(token_id, clock()) == 0:
        raise NotFound(f"Token with id {token_id} not found or already revoked", "NotFound")

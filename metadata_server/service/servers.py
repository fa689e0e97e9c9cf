"""Servers: machines whose agents poll for deployments, each with its own credential."""
from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

from metadata_server.service.clock import Clock, isotime
from metadata_server.service.credentials import new_token, token_hash
from metadata_server.service.errors import Conflict, Forbidden, NotFound
from metadata_server.service.store_protocol import ServiceStore
from metadata_server.service.validate import identifier, max_length, optional, required
from metadata_server.store.records import ServerRecord


def format_server(server: ServerRecord) -> dict:
    return {"id": server.id, "name": server.name, "creation_time": isotime(server.created_at),
            "last_seen_time": isotime(server.last_seen_at)}


@dataclass(frozen=True)
class IssuedCredentials:
    """Shown to the caller once; the store keeps only the token's hash (and the EC2 secret,
    which signature verification needs)."""
    token: str
    access_key_id: str
    secret_access_key: str


def _issue(server_id: str, now) -> tuple[IssuedCredentials, list[dict]]:
    token = new_token()
    access_key = secrets.token_hex(10).upper()
    secret_key = new_token(30)
    rows = [{"id": str(uuid.uuid4()), "server_id": server_id, "kind": "token",
             "token_hash": token_hash(token), "created_at": now},
            # the EC2 row needs a unique token_hash too: hash the access key, which is never a token
            {"id": str(uuid.uuid4()), "server_id": server_id, "kind": "ec2",
             "token_hash": token_hash("ec2:" + access_key), "access_key": access_key,
             "secret_key": secret_key, "created_at": now}]
    return IssuedCredentials(token, access_key, secret_key), rows


def register_server(store: ServiceStore, clock: Clock, tenant: str, body: dict,
                    may_choose_id: bool = True) -> tuple[ServerRecord, IssuedCredentials]:
    """Create the server and its credentials; they are returned only this once.

    Server ids are shared by every tenant, so a chosen id taken by another tenant would answer
    409 and tell the caller it exists. A caller confined to one tenant (`may_choose_id` false)
    therefore cannot choose an id at all; whether it may is decided before anything is looked up.
    """
    name = required(body, "name", str, "a non-empty string")
    chosen = optional(body, "id", str, "a string")
    if chosen is not None and not may_choose_id:
        raise Forbidden("id: a token scoped to one tenant cannot choose a server's id (ids are "
                        "shared by all tenants); leave it out and one is chosen, or register "
                        "with an unscoped operator token")
    server_id = chosen or str(uuid.uuid4())
    max_length("name", name, 255)
    max_length("id", server_id, 255)
    identifier("id", server_id)
    now = clock()
    issued, credentials = _issue(server_id, now)
    record = ServerRecord(id=server_id, tenant=tenant, name=name, created_at=now)
    if not store.insert_server(record, credentials):
        raise Conflict(f"a server with id {server_id} already exists")
    return record, issued


def rotate_credentials(store: ServiceStore, clock: Clock, tenant: str, server_id: str) -> IssuedCredentials:
    """New credentials for the server; the old ones stop working at once."""
    get_server(store, tenant, server_id)
    now = clock()
    issued, credentials = _issue(server_id, now)
    store.add_credentials(server_id, credentials, revoke_others_at=now)
    store.record_change(server_id, now)  # drops cached credentials in every worker
    return issued


def get_server(store: ServiceStore, tenant: str, server_id: str) -> ServerRecord:
    found = store.get_server(server_id, tenant)
    if found is None:
        raise NotFound(f"Server with id {server_id} not found", "NotFound")
    return found


def delete_server(store: ServiceStore, clock: Clock, tenant: str, server_id: str) -> None:
    get_server(store, tenant, server_id)
    store.delete_server(server_id)
    store.record_change(server_id, clock())

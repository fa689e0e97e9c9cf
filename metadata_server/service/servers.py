"""Servers: machines whose agents poll for deployments, each with its own credential."""
from __future__ import annotations

import uuid

from metadata_server.service.clock import Clock, isotime
from metadata_server.service.credentials import new_token, token_hash
from metadata_server.service.errors import Conflict, NotFound
from metadata_server.service.validate import max_length, optional, required
from metadata_server.store import Store


def format_server(row: dict) -> dict:
    return {"id": row["id"], "name": row["name"], "creation_time": isotime(row["created_at"]),
            "last_seen_time": isotime(row["last_seen_at"])}


def register_server(store: Store, clock: Clock, tenant: str, body: dict) -> tuple[dict, str]:
    """Create the server and its first credential; the token is returned only this once."""
    name = required(body, "name", str, "a non-empty string")
    server_id = optional(body, "id", str, "a string") or str(uuid.uuid4())
    max_length("name", name, 255)
    max_length("id", server_id, 255)
    now = clock()
    token = new_token()
    row = {"id": server_id, "tenant": tenant, "name": name, "created_at": now, "last_seen_at": None}
    credential = {"id": str(uuid.uuid4()), "server_id": server_id,
                  "token_hash": token_hash(token), "created_at": now}
    if not store.insert_server(row, credential):
        raise Conflict(f"a server with id {server_id} already exists")
    return row, token


def get_server(store: Store, tenant: str, server_id: str) -> dict:
    row = store.get_server(server_id, tenant)
    if row is None:
        raise NotFound(f"Server with id {server_id} not found", "NotFound")
    return row


def delete_server(store: Store, tenant: str, server_id: str) -> None:
    get_server(store, tenant, server_id)
    store.delete_server(server_id)

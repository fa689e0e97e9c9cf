"""The per-server document an agent polls: its deployments in Heat's derived-config shape."""
from __future__ import annotations

import hashlib
import json

from metadata_server.service.clock import isotime
from metadata_server.store import Store


def format_item(config: dict) -> dict:
    body = config["body"]
    item = {"id": config["id"], "name": config["name"], "group": config["group"],
            "creation_time": isotime(config["created_at"]), "config": body.get("config"),
            "inputs": body.get("inputs", []), "outputs": body.get("outputs", []),
            "options": body.get("options")}
    # real Heat output omits null-valued keys
    return {k: v for k, v in item.items() if v is not None}


def deployment_items(store: Store, server_id: str, tenant: str | None = None) -> list[dict]:
    pairs = store.deployments_with_configs(server_id, tenant)
    # oldest first, then a stable sort by config name: names give operators the run order
    configs = sorted((config for _, config in pairs), key=lambda c: c["name"] or "")
    return [format_item(c) for c in configs]


def server_document(items: list[dict], metadata_url: str) -> dict:
    return {"deployments": items,
            "os-collect-config": {"collectors": ["watch"],
                                  "watch": {"metadata_url": metadata_url}}}


def etag(document: dict) -> str:
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]

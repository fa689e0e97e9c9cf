"""The per-server document an agent polls: its deployments in Heat's derived-config shape."""
from __future__ import annotations

import hashlib
import json

from metadata_server.service.clock import isotime
from metadata_server.service.store_protocol import ServiceStore
from metadata_server.store.records import ConfigRecord


def format_item(config: ConfigRecord) -> dict:
    body = config.body
    item = {"id": config.id, "name": config.name, "group": config.group,
            "creation_time": isotime(config.created_at), "config": body.get("config"),
            "inputs": body.get("inputs", []), "outputs": body.get("outputs", []),
            "options": body.get("options")}
    # real Heat output omits null-valued keys
    return {k: v for k, v in item.items() if v is not None}


def deployment_items(store: ServiceStore, server_id: str, tenant: str | None = None) -> list[dict]:
    pairs = store.deployments_with_configs(server_id, tenant)
    # oldest first, then a stable sort by config name: names give operators the run order
    configs = sorted((config for _, config in pairs), key=lambda c: c.name or "")
    return [format_item(c) for c in configs]


def server_document(items: list[dict], os_collect_config: dict) -> dict:
    return {"deployments": items, "os-collect-config": os_collect_config}


def watch_settings(metadata_url: str) -> dict:
    """For stoker's agent; the token is not repeated: the agent already has it."""
    return {"collectors": ["watch"], "watch": {"metadata_url": metadata_url}}


def cfn_settings(metadata_url: str, stack_name: str, resource: str, access_key: str,
                 secret_key: str) -> dict:
    """As Heat writes it for POLL_SERVER_CFN, so an upstream agent keeps polling the same way."""
    return {"collectors": ["cfn", "local"],
            "cfn": {"metadata_url": metadata_url, "access_key_id": access_key,
                    "secret_access_key": secret_key, "stack_name": stack_name,
                    "path": f"{resource}.Metadata"}}


def request_settings(metadata_url: str) -> dict:
    """As Heat writes it for POLL_TEMP_URL: a URL that is its own credential."""
    return {"collectors": ["request", "local"], "request": {"metadata_url": metadata_url}}


def etag(document: dict) -> str:
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]

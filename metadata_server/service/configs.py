"""Software configs: immutable documents of config text plus declared inputs and outputs."""
from __future__ import annotations

import uuid

from metadata_server.service.clock import Clock, isotime
from metadata_server.service.config_io import validate_inputs, validate_outputs
from metadata_server.service.errors import Conflict, InvalidInput, NotFound
from metadata_server.service.query_args import count_arg
from metadata_server.service.store_protocol import ServiceStore
from metadata_server.service.validate import max_length, optional
from metadata_server.store.records import ConfigRecord, ConfigSummary


def format_config(config: ConfigRecord | ConfigSummary, detail: bool = True) -> dict:
    """Heat's JSON shape of a config; a listing (`detail` false) shows no body."""
    result = {"id": config.id, "name": config.name, "group": config.group,
              "creation_time": isotime(config.created_at)}
    if detail:
        body = config.body
        result.update(config=body.get("config"), inputs=body.get("inputs", []),
                      outputs=body.get("outputs", []), options=body.get("options", {}))
    return result


def create_config(store: ServiceStore, clock: Clock, tenant: str, body: dict) -> ConfigRecord:
    name = optional(body, "name", str, "a string")
    group = optional(body, "group", str, "a string")
    max_length("name", name, 255)
    max_length("group", group, 255)
    config = body.get("config")
    if config is not None and not isinstance(config, (str, dict, list)):
        raise InvalidInput(f"config: must be a string or an object, got {type(config).__name__}")
    options = optional(body, "options", dict, "an object")
    record = ConfigRecord(
        id=str(uuid.uuid4()), tenant=tenant, name=name, group=group,
        body={"config": config, "inputs": validate_inputs(body.get("inputs")),
              "outputs": validate_outputs(body.get("outputs")), "options": options or {}},
        created_at=clock())
    store.insert_config(record)
    return record


def get_config(store: ServiceStore, tenant: str, config_id: str) -> ConfigRecord:
    found = store.get_config(config_id, tenant)
    if found is None:
        raise NotFound(f"Software config with id {config_id} not found", "NotFound")
    return found


def list_configs(store: ServiceStore, tenant: str, limit: str | None,
                 marker: str | None) -> list[ConfigSummary]:
    count = count_arg("limit", limit)
    after = get_config(store, tenant, marker) if marker else None
    return store.list_configs(tenant, count, after)


def delete_config(store: ServiceStore, tenant: str, config_id: str) -> None:
    get_config(store, tenant, config_id)
    # Heat answers 500 here; a config in use is a conflict the caller can resolve
    if store.config_in_use(config_id) or store.delete_config(config_id) < 0:
        raise Conflict(f"Software config {config_id} is still used by a deployment; "
                       "delete the deployments first", "InvalidRestrictedAction")

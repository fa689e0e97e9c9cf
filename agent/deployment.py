"""Reading one deployment item (a derived software config, as the server lists it).

The item shape is Heat's: `id, name, group, config, inputs[{name, type, value, ...}], outputs,
options`. These helpers are shared by the runner, the hooks and the signal transports.
"""
from __future__ import annotations

import re
from typing import Any

COMPONENT_GROUP = "component"
# SoftwareComponent's default when a config entry lists no actions.
DEFAULT_COMPONENT_ACTIONS = ("CREATE", "UPDATE")


class InvalidDeployment(ValueError):
    pass


def input_values(item: dict) -> dict[str, Any]:
    """{input name: value} of the item's inputs (a missing value reads as None)."""
    values = {}
    for entry in item.get("inputs") or []:
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            values[entry["name"]] = entry.get("value")
    return values


def deployment_id(item: Any) -> str:
    """The item's id, checked to be usable as a file name (markers are named after it)."""
    if not isinstance(item, dict):
        raise InvalidDeployment(f"deployment item is a {type(item).__name__}, not an object")
    ident = item.get("id")
    if not isinstance(ident, str) or not ident or "/" in ident or ident.startswith(".") or "\0" in ident:
        raise InvalidDeployment(f"deployment item has no usable id: {ident!r}")
    return ident


def describe(item: dict) -> str:
    name = item.get("name") if isinstance(item, dict) else None
    ident = item.get("id") if isinstance(item, dict) else None
    return f"deployment {ident}" + (f" ({name})" if name else "")


def coerce_string_inputs(item: dict) -> None:
    """Give String-typed inputs str values, as 55-heat-config does (LP 1333992).

    A None value stays None (the script hook passes it as an empty string) rather than
    becoming the word "None".
    """
    inputs = item.get("inputs")
    if not isinstance(inputs, list):
        raise InvalidDeployment("deployment item has no inputs list")
    for entry in inputs:
        if not isinstance(entry, dict):
            continue
        value = entry.get("value")
        if entry.get("type") == "String" and value is not None and not isinstance(value, str):
            entry["value"] = str(value)


def select_component(item: dict) -> bool:
    """For group `component`, replace config and group by the entry for the current action.

    Returns False when no entry applies to the action (nothing to run, nothing to signal).
    """
    action = input_values(item).get("deploy_action")
    configs = (item.get("config") or {}).get("configs") if isinstance(item.get("config"), dict) else None
    for entry in configs or []:
        if not isinstance(entry, dict):
            continue
        if action in (entry.get("actions") or DEFAULT_COMPONENT_ACTIONS):
            item["config"] = entry.get("config")
            item["group"] = entry.get("tool") or "script"
            return True
    return False


def hook_name(group: str) -> str:
    """The group as a hook file name: `Heat::Ungrouped` -> `HeatUngrouped`."""
    return re.sub(r"[^A-Za-z0-9_-]", "", group)

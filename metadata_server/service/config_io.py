"""Validation of software config `inputs` and `outputs`, with Heat's schema and defaults.

Errors name the offending item and key, e.g. `inputs[2].type: 'Str' is not one of ...`.
"""
from __future__ import annotations

from typing import Any

from metadata_server.service import json_input
from metadata_server.service.errors import InvalidInput

TYPES = ("String", "Number", "CommaDelimitedList", "Json", "Boolean")
INPUT_KEYS = {"name", "description", "type", "default", "replace_on_change", "value"}
OUTPUT_KEYS = {"name", "description", "type", "error_output"}
BOOLEAN_STRINGS = {"true", "false", "yes", "no", "on", "off", "t", "f", "y", "n", "1", "0"}


def _fits(type_name: str, value: Any) -> bool:
    if type_name == "String":
        return isinstance(value, (str, int, float, bool))
    if type_name == "Number":
        if isinstance(value, bool):
            return False
        if isinstance(value, (int, float)):
            return True
        try:
            float(value)
            return True
        except (TypeError, ValueError, OverflowError):
            return False
    if type_name == "Boolean":
        return isinstance(value, (bool, int)) or (
            isinstance(value, str) and value.lower() in BOOLEAN_STRINGS)
    if type_name == "CommaDelimitedList":
        return isinstance(value, (list, str))
    if type_name == "Json":
        if isinstance(value, (dict, list)):
            return True
        try:
            json_input.loads(value, "value")
            return True
        except (TypeError, InvalidInput):
            return False
    return False


def _item(section: str, index: int, item: Any, allowed: set[str]) -> dict:
    where = f"{section}[{index}]"
    if not isinstance(item, dict):
        raise InvalidInput(f"{where}: must be an object, got {type(item).__name__}")
    unknown = sorted(set(item) - allowed)
    if unknown:
        raise InvalidInput(f"{where}: unknown key {unknown[0]!r}; allowed keys are "
                           f"{', '.join(sorted(allowed))}")
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise InvalidInput(f"{where}.name: required, a non-empty string")
    if item.get("description") is not None and not isinstance(item["description"], str):
        raise InvalidInput(f"{where}.description: must be a string")
    type_name = item.get("type") if item.get("type") is not None else "String"
    if type_name not in TYPES:
        raise InvalidInput(f"{where}.type: {type_name!r} is not one of {', '.join(TYPES)}")
    # Heat drops keys whose value is null
    clean = {k: v for k, v in item.items() if v is not None}
    clean["type"] = type_name
    return clean


def _flag(where: str, clean: dict, key: str) -> bool:
    value = clean.get(key, False)
    if not isinstance(value, bool):
        raise InvalidInput(f"{where}.{key}: must be true or false, got {value!r}")
    return value


def validate_inputs(inputs: Any) -> list[dict]:
    if inputs is None:
        return []
    if not isinstance(inputs, list):
        raise InvalidInput(f"inputs: must be a list of objects, got {type(inputs).__name__}")
    result = []
    for index, raw in enumerate(inputs):
        clean = _item("inputs", index, raw, INPUT_KEYS)
        where = f"inputs[{index}]"
        if "default" in clean:
            default = clean["default"]
            # Heat's legacy path: an empty-string default is accepted for any type
            if not (default == "" and clean["type"] != "String") and not _fits(clean["type"], default):
                raise InvalidInput(f"{where}.default: {default!r} is not a valid {clean['type']}")
        if _flag(where, clean, "replace_on_change"):
            clean["replace_on_change"] = True
        else:
            clean.pop("replace_on_change", None)
        result.append(clean)
    return result


def validate_outputs(outputs: Any) -> list[dict]:
    if outputs is None:
        return []
    if not isinstance(outputs, list):
        raise InvalidInput(f"outputs: must be a list of objects, got {type(outputs).__name__}")
    result = []
    for index, raw in enumerate(outputs):
        clean = _item("outputs", index, raw, OUTPUT_KEYS)
        clean["error_output"] = _flag(f"outputs[{index}]", clean, "error_output")
        result.append(clean)
    return result

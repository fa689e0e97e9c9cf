"""Parameter schemas (the `parameters` section), type coercion and value validation."""
from __future__ import annotations

import json
from typing import Any, Collection, Iterator

from .constraints import ConstraintSchemaError, parse_constraint, to_bool, to_number
from .errors import did_you_mean
from .model import ParameterSchema, Positions
from .versions import Features

TYPES = ("string", "number", "comma_delimited_list", "json", "boolean")
KEYS = {"type", "description", "default", "hidden", "label", "constraints", "immutable"}
PSEUDO = ("OS::stack_name", "OS::stack_id", "OS::project_id")
CFN_TYPES = {"string": "String", "number": "Number", "comma_delimited_list": "CommaDelimitedList",
             "json": "Json", "boolean": "Boolean"}


def coerce(param_type: str, value: Any) -> Any:
    """Convert a user/default value to the parameter's type; ValueError says why not."""
    if param_type == "string":
        if isinstance(value, (dict, list)):
            raise ValueError("Value must be a string")
        return "" if value is None else str(value)
    if param_type == "number":
        return to_number(value)
    if param_type == "comma_delimited_list":
        if isinstance(value, list):
            return [item if isinstance(item, str) else str(item) for item in value]
        if value is None or value == "":
            return []
        if isinstance(value, dict):
            raise ValueError("Value must be a comma-delimited list string")
        return str(value).split(",")
    if param_type == "json":
        if isinstance(value, (dict, list)):
            return value
        if isinstance(value, str):
            try:
                parsed = json.loads(value) if value.strip() else {}
            except ValueError as exc:
                raise ValueError(f"Value must be valid JSON: {exc}") from None
            if isinstance(parsed, (dict, list)):
                return parsed
        raise ValueError("Value must be valid JSON (a map or a list)")
    if param_type == "boolean":
        return to_bool(value)
    raise ValueError(f"unknown type {param_type}")


def check(schema: ParameterSchema, value: Any, *, for_default: bool = False) -> Any:
    """Coerce and apply the constraints; ValueError carries Heat's `Parameter 'x' is invalid`."""
    try:
        coerced = coerce(schema.type, value)
    except ValueError as exc:
        raise ValueError(f"Parameter '{schema.name}' is invalid: {_hide(schema, str(exc))}"
                         ) from None
    for constraint in schema.constraints:
        if for_default and constraint.kind == "custom_constraint":
            continue
        reason = constraint.reason(coerced, schema.type)
        if reason:
            shown = "" if schema.hidden else f"Value '{_show(coerced)}' is invalid: "
            raise ValueError(f"Parameter '{schema.name}' is invalid: {shown}{reason}")
    return coerced


def _show(value: Any) -> str:
    return ",".join(value) if isinstance(value, list) and all(
        isinstance(v, str) for v in value) else str(value)


def _hide(schema: ParameterSchema, text: str) -> str:
    return "the value does not match the type " + schema.type if schema.hidden else text


def checked_entries(raw: Any, positions: Positions, section: str, allowed: Collection[str],
                    type_key: str, types: Collection[str]) -> Iterator[tuple[str, dict, tuple]]:
    """Each entry of a parameters section (HOT's `parameters`, CFN's `Parameters`) as
    (name, spec, path), once it is a map of known keys with a known type."""
    if raw is None:
        return
    if not isinstance(raw, dict):
        raise positions.error(f"The {section} section must be a map", (section,))
    for name, spec in raw.items():
        path = (section, name)
        if not isinstance(spec, dict):
            raise positions.error(f"Invalid parameter schema for {name}: expected a map", path)
        for key in spec:
            if key not in allowed:
                raise positions.error(f"Invalid key '{key}' for parameter ({name})"
                                      + did_you_mean(key, allowed),
                                      path + (key,), "InvalidSchemaError", key=True)
        written = spec.get(type_key)
        if written is None:
            raise positions.error(f"Missing parameter type for parameter: {name}", path,
                                  "InvalidSchemaError")
        if written not in types:
            raise positions.error(f"Invalid type ({written}); use one of: {', '.join(types)}",
                                  path + (type_key,), "InvalidSchemaError")
        yield name, spec, path


def parse_schemas(raw: Any, positions: Positions, features: Features
                  ) -> dict[str, ParameterSchema]:
    """The `parameters` section -> {name: ParameterSchema}; defaults are checked here."""
    allowed = KEYS | ({"tags"} if features.parameter_tags else set())
    schemas: dict[str, ParameterSchema] = {}
    for name, spec, path in checked_entries(raw, positions, "parameters", allowed, "type",
                                            TYPES):
        ptype = spec["type"]
        flags = {}
        for flag in ("hidden", "immutable"):
            try:
                flags[flag] = to_bool(spec.get(flag, False))
            except ValueError as exc:
                raise positions.error(str(exc), path + (flag,), "InvalidSchemaError") from None
        raw_constraints = spec.get("constraints") or []
        if not isinstance(raw_constraints, list):
            raise positions.error("Invalid parameter constraints for parameter "
                                  f"{name}, expected a list", path + ("constraints",),
                                  "InvalidSchemaError")
        constraints = []
        for index, item in enumerate(raw_constraints):
            try:
                constraints.append(parse_constraint(item, ptype, features.modulo))
            except ConstraintSchemaError as exc:
                raise positions.error(str(exc), path + ("constraints", index),
                                      "InvalidSchemaError") from None
        tags = spec.get("tags") or []
        if not isinstance(tags, list):
            raise positions.error("tags must be a list", path + ("tags",), "InvalidSchemaError")
        schema = ParameterSchema(
            # as in Heat, `default: null` is no default: the parameter stays required
            name=name, type=ptype, has_default=spec.get("default") is not None,
            description=str(spec.get("description") or ""),
            label=str(spec.get("label") or name), hidden=flags["hidden"],
            immutable=flags["immutable"], constraints=constraints, tags=tags)
        if schema.has_default:
            try:
                schema.default = check(schema, spec["default"], for_default=True)
            except ValueError as exc:
                raise positions.error(f"Invalid default {_hidden_or(schema, spec['default'])}"
                                      f" ({exc})", path + ("default",),
                                      "InvalidSchemaError") from None
        schemas[name] = schema
    return schemas


def _hidden_or(schema: ParameterSchema, value: Any) -> str:
    return "******" if schema.hidden else repr(value)


def parse_groups(raw: Any, schemas: dict[str, ParameterSchema], positions: Positions) -> list:
    """Check `parameter_groups` (display-only) as Heat does."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise positions.error("Parameter Groups error: The parameter_groups should be a list.",
                              ("parameter_groups",))
    seen: dict[str, int] = {}
    for index, group in enumerate(raw):
        path = ("parameter_groups", index)
        if not isinstance(group, dict) or "parameters" not in group:
            raise positions.error("Parameter Groups error: The parameters must be provided "
                                  "for each parameter group.", path)
        names = group["parameters"]
        if not isinstance(names, list):
            raise positions.error("Parameter Groups error: The parameters of parameter group "
                                  "should be a list.", path + ("parameters",))
        for j, name in enumerate(names):
            if name in seen:
                raise positions.error("Parameter Groups error: The parameter "
                                      f"{name} is in more than one parameter group",
                                      path + ("parameters", j))
            if name not in schemas:
                raise positions.error(f"Parameter Groups error: The grouped parameter {name} "
                                      "does not reference a valid parameter.",
                                      path + ("parameters", j))
            seen[name] = index
    return raw


def describe(schema: ParameterSchema, value: Any = None, has_value: bool = False) -> dict:
    """Template-validate's CFN-style view of one parameter."""
    out: dict[str, Any] = {"Type": CFN_TYPES[schema.type], "Description": schema.description,
                           "NoEcho": "true" if schema.hidden else "false",
                           "Label": schema.label}
    if schema.has_default:
        out["Default"] = "******" if schema.hidden else schema.default
    if has_value:
        out["Value"] = "******" if schema.hidden else value
    for c in schema.constraints:
        if c.kind == "allowed_values":
            out["AllowedValues"] = c.spec
        elif c.kind == "allowed_pattern":
            out["AllowedPattern"] = c.spec
        elif c.kind == "length":
            if "min" in c.spec:
                out["MinLength"] = c.spec["min"]
            if "max" in c.spec:
                out["MaxLength"] = c.spec["max"]
        elif c.kind == "range":
            if "min" in c.spec:
                out["MinValue"] = c.spec["min"]
            if "max" in c.spec:
                out["MaxValue"] = c.spec["max"]
        elif c.kind == "custom_constraint":
            out["CustomConstraint"] = c.spec
        if c.description:
            out["ConstraintDescription"] = c.description
    if schema.tags:
        out["Tags"] = schema.tags
    return out

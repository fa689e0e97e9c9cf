"""The CFN `Parameters` section -> the same ParameterSchema HOT parameters become.

CFN writes constraints as keys of the parameter (AllowedValues, MinLength, ...) where HOT
writes a `constraints` list; both end as the shared Constraint objects, so coercion, checks and
template-validate's view are one code path.
"""
from __future__ import annotations

from typing import Any

from .constraints import ConstraintSchemaError, parse_constraint
from .model import ParameterSchema, Positions
from .parameters import check, checked_entries

TYPES = {"String": "string", "Number": "number", "CommaDelimitedList": "comma_delimited_list",
         "Json": "json", "Boolean": "boolean"}
KEYS = {"Type", "Default", "NoEcho", "AllowedValues", "AllowedPattern", "MinLength", "MaxLength",
        "MinValue", "MaxValue", "Description", "ConstraintDescription", "Label"}


def _no_echo(value: Any) -> bool:
    """Heat hides a value only for NoEcho true or the string "true" (any case)."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _constraints(spec: dict, ptype: str) -> list[tuple[str, dict]]:
    """(CFN key that wrote it, HOT-style constraint) for each constraint the keys give."""
    description = spec.get("ConstraintDescription")
    out = []

    def add(key: str, kind: str, value: Any) -> None:
        item = {kind: value}
        if isinstance(description, str):
            item["description"] = description
        out.append((key, item))

    for kind, low, high in (("length", "MinLength", "MaxLength"),
                            ("range", "MinValue", "MaxValue")):
        bounds = {k: spec[key] for k, key in (("min", low), ("max", high)) if key in spec}
        if bounds:
            add(low if low in spec else high, kind, bounds)
    if "AllowedValues" in spec:
        add("AllowedValues", "allowed_values", spec["AllowedValues"])
    if "AllowedPattern" in spec:
        add("AllowedPattern", "allowed_pattern", spec["AllowedPattern"])
    return out


def parse_schemas(raw: Any, positions: Positions) -> dict[str, ParameterSchema]:
    """The `Parameters` section -> {name: ParameterSchema}; defaults are checked here."""
    schemas: dict[str, ParameterSchema] = {}
    for name, spec, path in checked_entries(raw, positions, "Parameters", KEYS, "Type", TYPES):
        ptype = TYPES[spec["Type"]]
        constraints = []
        for key, item in _constraints(spec, ptype):
            try:
                constraints.append(parse_constraint(item, ptype, False))
            except ConstraintSchemaError as exc:
                raise positions.error(str(exc), path + (key,), "InvalidSchemaError") from None
        schema = ParameterSchema(
            name=name, type=ptype, has_default=spec.get("Default") is not None,
            description=str(spec.get("Description") or ""),
            label=str(spec.get("Label") or name), hidden=_no_echo(spec.get("NoEcho")),
            constraints=constraints)
        if schema.has_default:
            try:
                schema.default = check(schema, spec["Default"], for_default=True)
            except ValueError as exc:
                shown = "******" if schema.hidden else spec["Default"]
                raise positions.error(f"Invalid default {shown} ({exc})", path + ("Default",),
                                      "InvalidSchemaError") from None
        schemas[name] = schema
    return schemas

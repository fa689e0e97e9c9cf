"""Heat's views of a resource type: the listing's filters, the schema and the generated template.

Built from what each plugin declares (`properties_schema`, `attributes_schema`, its docstring);
pure functions of the registry, so the routes in resource_types.py only parse and answer.
"""
from __future__ import annotations

import inspect
from typing import Any

try:   # the server extra installs it: a tenant's `name` pattern is matched with a time limit
    import regex as _timed
except ImportError:   # pragma: no cover - a bare template-package install
    _timed = None
import re

from metadata_server.engine.resources import REGISTRY
from metadata_server.engine.resources.base import Prop, Resource
from metadata_server.service.errors import InvalidInput, NotFound

NO_DESCRIPTION = "No description available"
STATUSES = ("UNKNOWN", "SUPPORTED", "DEPRECATED", "UNSUPPORTED", "HIDDEN")
NAME_PATTERN_MAX = 256       # a longer `name` filter is refused before it is compiled
PATTERN_SECONDS = 0.5        # matching the whole registry against one pattern stops after this
# the Heat release that introduced a type (Heat's support_status.version); the list filter
# `version` selects on it. Types not named here carry none, as most of Heat's do.
SINCE = {**{name: "2014.1" for name in (
    "OS::Heat::AutoScalingGroup", "OS::Heat::CloudConfig", "OS::Heat::MultipartMime",
    "OS::Heat::RandomString", "OS::Heat::ResourceGroup", "OS::Heat::SoftwareConfig",
    "OS::Heat::SoftwareDeployment", "OS::Heat::StructuredConfig",
    "OS::Heat::StructuredDeployment", "OS::Heat::UpdateWaitConditionHandle")},
    "OS::Heat::Value": "7.0.0"}
# names kept only so old templates still load: Heat hides them from the listing
HIDDEN = {"OS::Heat::SoftwareDeployments", "OS::Heat::StructuredDeployments"}
SHOW = {"description": "Detailed information about resource.", "type": "map"}
# property type -> (HOT parameter type, CFN parameter type); `any` has no parameter type in
# Heat (its generator fails there); json takes any value, so it stands in
PARAMETER_TYPES = {"string": ("string", "String"), "integer": ("number", "Number"),
                   "number": ("number", "Number"), "boolean": ("boolean", "Boolean"),
                   "list": ("comma_delimited_list", "CommaDelimitedList"),
                   "map": ("json", "Json"), "any": ("json", "Json")}


def type_class(type_name: str) -> type[Resource]:
    cls = REGISTRY.get(type_name)
    if cls is None:
        raise NotFound(f"The Resource Type ({type_name}) could not be found.", "EntityNotFound")
    return cls


def support_status(type_name: str) -> dict:
    return {"status": "HIDDEN" if type_name in HIDDEN else "SUPPORTED",
            "version": SINCE.get(type_name), "message": None, "previous_status": None}


def description(cls: type[Resource]) -> str:
    text = cls.description or inspect.getdoc(cls) or ""
    return text if text and cls.__doc__ != Resource.__doc__ else NO_DESCRIPTION


def _name_filter(pattern: str | None):
    """Heat matches `name` as a regular expression from the start of the type name."""
    if pattern is None:
        return lambda name: True
    if len(pattern) > NAME_PATTERN_MAX:
        raise InvalidInput(f"name: a pattern of at most {NAME_PATTERN_MAX} characters is "
                           f"allowed, got {len(pattern)}")
    try:
        compiled = (_timed or re).compile(pattern)
    except (re.error, getattr(_timed, "error", re.error)) as exc:
        raise InvalidInput(f"name: {pattern!r} is not a valid regular expression: {exc}") \
            from None

    def match(name: str) -> bool:
        if _timed is None:
            return compiled.match(name) is not None
        try:
            return compiled.match(name, timeout=PATTERN_SECONDS) is not None
        except TimeoutError:
            raise InvalidInput(f"name: matching {pattern!r} took too long") from None
    return match


def list_types(name: str | None = None, version: str | None = None,
               status: str | None = None, with_description: bool = False) -> list:
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"support_status: {status!r} is not valid; it should be one of "
                           f"{', '.join(STATUSES)}")
    matches = _name_filter(name)
    found = []
    for type_name in sorted(REGISTRY):
        support = support_status(type_name)
        if status is None and support["status"] == "HIDDEN":
            continue
        if (status is not None and support["status"] != status) or \
                (version is not None and support["version"] != version):
            continue
        if matches(type_name):
            found.append(type_name)
    if with_description:
        return [{"resource_type": t, "description": description(REGISTRY[t]).split("\n\n")[0]}
                for t in found]
    return found


def _constraints(prop: Prop) -> list[dict]:
    found = [{"allowed_values": list(prop.allowed)}] if prop.allowed else []
    if prop.range is not None:
        found.append({"range": {k: v for k, v in zip(("min", "max"), prop.range)
                                if v is not None}})
    return found


def property_schema(prop: Prop) -> dict:
    result = {"type": prop.type, "description": prop.description, "required": prop.required,
              "update_allowed": prop.update_allowed, "immutable": prop.immutable}
    if prop.default is not None:
        result["default"] = prop.default
    if _constraints(prop):
        result["constraints"] = _constraints(prop)
    return result


def attribute_names(cls: type[Resource]) -> list[str]:
    """The attributes a type declares, and Heat's `show`; a type whose attributes depend on
    its definition (deployment outputs, nested outputs) lists only `show`."""
    return sorted(set(cls.attributes_schema or ()) | {"show"})


def _attribute_schema(name: str) -> dict:
    return dict(SHOW) if name == "show" else {"description": ""}


def schema(type_name: str, with_description: bool = False) -> dict:
    cls = type_class(type_name)
    result = {"resource_type": type_name,
              "properties": {k: property_schema(p) for k, p in
                             sorted(cls.properties_schema.items())},
              "attributes": {a: _attribute_schema(a) for a in attribute_names(cls)},
              "support_status": support_status(type_name)}
    if with_description:
        result["description"] = description(cls)
    return result


def _parameter(prop: Prop, hot: bool) -> dict:
    kind = PARAMETER_TYPES[prop.type][0 if hot else 1]
    result: dict[str, Any] = {"type": kind}
    if prop.description:
        result["description" if hot else "Description"] = prop.description
    if prop.default is not None:
        result["default" if hot else "Default"] = prop.default
    if hot and _constraints(prop):
        result["constraints"] = _constraints(prop)
    elif not hot:
        if prop.allowed:
            result["AllowedValues"] = list(prop.allowed)
        for key, bound in zip(("MinValue", "MaxValue"), prop.range or ()):
            if bound is not None:
                result[key] = bound
    return result if hot else {("Type" if k == "type" else k): v for k, v in result.items()}


def _cfn_property(key: str, prop: Prop) -> Any:
    if prop.type == "list":  # a CFN list parameter is a string: split it back into a list
        return {"Fn::Split": [",", {"Ref": key}]}
    return {"Ref": key}


def _output(attribute: str, value: dict, hot: bool) -> dict:
    text = _attribute_schema(attribute)["description"]
    output = {"description": text} if text else {}
    output["value"] = value
    return output if hot else {k.capitalize(): v for k, v in output.items()}


def template(type_name: str, template_type: str = "cfn") -> dict:
    """A template that creates one resource of the type, each property a parameter and each
    attribute an output (Heat's generate_template)."""
    if template_type not in ("hot", "cfn"):
        raise InvalidInput(f"template_type: {template_type!r} is not supported; "
                           "it should be hot or cfn")
    cls = type_class(type_name)
    hot = template_type == "hot"
    short = type_name.split("::")[-1]
    props = sorted(cls.properties_schema.items())
    parameters = {k: _parameter(p, hot) for k, p in props}
    attributes = attribute_names(cls)
    if hot:
        outputs = {a: _output(a, {"get_attr": [short, a]}, hot) for a in attributes}
        outputs["OS::stack_id"] = {"value": {"get_resource": short}}
        return {"heat_template_version": "2016-10-14",
                "description": f"Initial template of {short}", "parameters": parameters,
                "resources": {short: {"type": type_name, "properties": {
                    k: {"get_param": k} for k, _ in props}}},
                "outputs": outputs}
    outputs = {a: _output(a, {"Fn::GetAtt": [short, a]}, hot) for a in attributes}
    outputs["OS::stack_id"] = {"Value": {"Ref": short}}
    return {"HeatTemplateFormatVersion": "2012-12-12",
            "Description": f"Initial template of {short}", "Parameters": parameters,
            "Resources": {short: {"Type": type_name, "Properties": {
                k: _cfn_property(k, p) for k, p in props}}},
            "Outputs": outputs}

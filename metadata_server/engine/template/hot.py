"""Structure of a HOT document: version, sections, resource and output keys -> Template."""
from __future__ import annotations

from typing import Any

from metadata_server.engine.limits import DEFAULT, Limits, named

from .errors import did_you_mean
from .model import OutputDefinition, Positions, ResourceDefinition, Template
from .parameters import parse_groups, parse_schemas
from .versions import VERSION_KEYS, Features, canonical, valid_versions_text

DELETION_POLICIES = {"Delete": "Delete", "Retain": "Retain", "Snapshot": "Snapshot"}


def detect_version(data: Any, positions: Positions) -> str:
    if not isinstance(data, dict):
        raise positions.error("The template is not a JSON object or YAML mapping.", (),
                              "ValueError")
    present = [k for k in VERSION_KEYS if k in data]
    if len(present) > 1:
        raise positions.error(f"Ambiguous versions ({', '.join(present)})", (),
                              "InvalidTemplateVersion")
    if not present:
        raise positions.error("Template version was not provided", (), "InvalidTemplateVersion")
    key = present[0]   # formats.detect sends only heat_template_version documents here
    value = data[key]
    version = canonical(value) if isinstance(value, str) else None
    if version is None:
        raise positions.error(f'The template version is invalid: "{key}: {value}". '
                              f'"{key}" should be one of: {valid_versions_text()}', (key,),
                              "InvalidTemplateVersion")
    return version


def _string_list(value: Any) -> list | None:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def _resource(name: str, spec: Any, positions: Positions, features: Features
              ) -> ResourceDefinition:
    path = ("resources", name)
    if not isinstance(spec, dict):
        raise positions.error(f'"{name}" is not a valid resource definition: expected a map',
                              path)
    unknown = sorted(str(k) for k in spec if k not in features.resource_keys)
    if unknown:
        raise positions.error("Invalid keyword(s) inside a resource definition: "
                              + ", ".join(unknown)
                              + did_you_mean(unknown[0], features.resource_keys),
                              path + (unknown[0],), key=True)
    rtype = spec.get("type")
    if not isinstance(rtype, str) or not rtype:
        raise positions.error(f'Resource {name} is missing "{features.key("type")}"'
                              if rtype is None else
                              f"Resource {name} {features.key('type')} must be a string, "
                              f"not {rtype!r}",
                              path + (("type",) if "type" in spec else ()))
    depends = spec.get("depends_on")
    depends_on = [] if depends is None else _string_list(depends)
    if depends_on is None:
        raise positions.error(f"Resource {name} {features.key('depends_on')} must be a list of "
                              "resource names"
                              " or a string", path + ("depends_on",))
    for key in ("update_policy",):
        if spec.get(key) is not None and not isinstance(spec[key], dict):
            raise positions.error(f'"{features.key(key)}" must be a map', path + (key,))
    if spec.get("external_id") is not None and depends_on:
        raise positions.error(f'Resource {name} with external_id cannot depend on other '
                              "resources (remove depends_on)", path + ("depends_on",))
    description = spec.get("description") or ""
    if not isinstance(description, str):
        raise positions.error(f"{features.key('description')} must be a string",
                              path + ("description",))
    return ResourceDefinition(
        name=name, type=rtype, template_type=rtype, properties=spec.get("properties"),
        depends_on=depends_on, deletion_policy=spec.get("deletion_policy", "Delete"),
        update_policy=spec.get("update_policy"), condition=spec.get("condition"),
        metadata=spec.get("metadata"), external_id=spec.get("external_id"),
        description=description)


def build_output(name: str, spec: Any, positions: Positions, features: Features
                 ) -> OutputDefinition:
    path = ("outputs", name)
    if not isinstance(spec, dict):
        raise positions.error(f'Output "{name}" must be a map with a "{features.key("value")}"',
                              path)
    for key in spec:
        if key not in features.output_keys:
            raise positions.error(f'"{key}" is not a valid keyword inside a output definition'
                                  + did_you_mean(key, features.output_keys), path + (key,),
                                  key=True)
    if "value" not in spec:
        raise positions.error(f'Output "{name}" has no "{features.key("value")}"', path)
    return OutputDefinition(name=name, value=spec["value"],
                            description=str(spec.get("description") or "No description given"),
                            condition=spec.get("condition"))


def section_map(data: dict, key: str, positions: Positions) -> dict:
    """A top-level section that must be a map (absent: empty), in either format."""
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise positions.error(f'The "{key}" section must be a map', (key,))
    return value


def build_resources(raw_resources: dict, parameters: dict, positions: Positions, features: Any,
                    limits: Limits) -> dict[str, ResourceDefinition]:
    """The resources section (HOT keys; the CFN format translates its keys first)."""
    if len(raw_resources) > limits.max_resources_per_stack:
        raise positions.error("Maximum resources per stack exceeded "
                              f"({named(limits, 'max_resources_per_stack')})",
                              ("resources",), "RequestLimitExceeded")
    resources = {}
    for name, spec in raw_resources.items():
        if not isinstance(name, str):
            raise positions.error(f"Resource name {name!r} must be a string", ("resources",))
        resources[name] = _resource(name, spec, positions, features)
    clash = sorted(set(parameters) & set(resources))
    if clash:
        raise positions.error("Duplicate names {%s}" % ", ".join(clash),
                              ("resources", clash[0]), key=True)
    return resources


def build_template(data: Any, positions: Positions, files: dict[str, str],
                   limits: Limits = DEFAULT) -> Template:
    version = detect_version(data, positions)
    features = Features(version)
    for key in data:
        if key not in features.sections:
            hint = (" (conditions need 2016-10-14 or later)" if key == "conditions"
                    else did_you_mean(key, features.sections))
            raise positions.error(f"The template section is invalid: {key}{hint}", (key,),
                                  "InvalidTemplateSection", key=True)
    description = data.get("description", "No description")
    parameters = parse_schemas(data.get("parameters"), positions, features)
    groups = parse_groups(data.get("parameter_groups"), parameters, positions)
    resources = build_resources(section_map(data, "resources", positions), parameters,
                                positions, features, limits)
    outputs = {name: build_output(name, spec, positions, features)
               for name, spec in section_map(data, "outputs", positions).items()}
    conditions = section_map(data, "conditions", positions)
    return Template(version=version, description=description, parameters=parameters,
                    parameter_groups=groups, resources=resources, outputs=outputs,
                    conditions=conditions, raw=data, filename=positions.filename, files=files,
                    positions=positions, limits=limits)

"""A stand-in for template/ binding while that package is being built (see loader.py).

It understands just enough HOT for the engine's own tests: parameters with defaults, resources
with depends_on / deletion_policy / metadata, get_param, get_resource, get_attr, str_replace,
list_join and outputs. The real binding (metadata_server/engine/template) replaces it as soon as
`bind` works; nothing else imports this module.
"""
from __future__ import annotations

from typing import Any

import yaml

from metadata_server.engine.errors import StackValidationFailed
from metadata_server.engine.template.model import ResourceDefinition

RESOURCE_KEYS = {"type", "properties", "depends_on", "deletion_policy", "update_policy",
                 "metadata", "condition", "external_id", "description"}


def _refs(value: Any, found: set) -> set:
    if isinstance(value, dict):
        if len(value) == 1 and "get_resource" in value and isinstance(value["get_resource"], str):
            found.add(value["get_resource"])
        elif len(value) == 1 and "get_attr" in value and isinstance(value["get_attr"], list):
            found.add(value["get_attr"][0])
        for v in value.values():
            _refs(v, found)
    elif isinstance(value, list):
        for v in value:
            _refs(v, found)
    return found


def _path(value: Any, path) -> Any:
    for key in path:
        if isinstance(value, dict):
            value = value.get(key)
        elif isinstance(value, list) and isinstance(key, int) and -len(value) <= key < len(value):
            value = value[key]
        else:
            return None
    return value


class _Description:
    def __init__(self, raw: dict):
        self.description = raw.get("description", "")
        self.parameters = {}


class FallbackBound:
    def __init__(self, raw: Any, params: dict, identity, files: dict, registry: dict):
        if not isinstance(raw, dict):
            raise StackValidationFailed("The template must be a mapping")
        self.raw = raw
        self.template = _Description(raw)
        self.identity = identity
        self.files = files
        self._params = {}
        for name, schema in (raw.get("parameters") or {}).items():
            if name in params:
                self._params[name] = params[name]
            elif "default" in (schema or {}):
                self._params[name] = schema["default"]
            else:
                raise StackValidationFailed(f"The Parameter ({name}) was not provided.")
        self._params.update({"OS::stack_name": identity.stack_name,
                             "OS::stack_id": identity.stack_id,
                             "OS::project_id": identity.project_id})
        self._defs = {}
        for name, body in (raw.get("resources") or {}).items():
            if not isinstance(body, dict) or "type" not in body:
                raise StackValidationFailed("type not assigned", f"resources.{name}")
            unknown = set(body) - RESOURCE_KEYS
            if unknown:
                raise StackValidationFailed(f"\"{sorted(unknown)[0]}\" is not a valid keyword "
                                            "inside a resource definition", f"resources.{name}")
            depends = body.get("depends_on") or []
            kind = registry.get(body["type"], body["type"])
            provider = kind if kind in files or kind.endswith((".yaml", ".template")) else None
            self._defs[name] = ResourceDefinition(
                name=name, type=kind, properties=body.get("properties"),
                depends_on=[depends] if isinstance(depends, str) else list(depends),
                deletion_policy=(body.get("deletion_policy") or "Delete").capitalize(),
                update_policy=body.get("update_policy"), metadata=body.get("metadata"),
                template_type=body["type"], provider_template=provider)

    def resource_definitions(self):
        return list(self._defs.values())

    def dependencies(self, name):
        d = self._defs[name]
        return set(d.depends_on) | _refs(d.properties, set()) | _refs(d.metadata, set())

    def resolve(self, value, ctx, path=()):
        if isinstance(value, dict):
            if len(value) == 1:
                (fn, args), = value.items()
                if fn == "get_param":
                    args = args if isinstance(args, list) else [args]
                    return _path(self._params.get(args[0]), args[1:])
                if fn == "get_resource":
                    return ctx.resource_id(args)
                if fn == "get_attr":
                    args = [self.resolve(a, ctx) for a in args]
                    return ctx.attribute(args[0], args[1] if len(args) > 1 else None,
                                         tuple(args[2:]))
                if fn == "str_replace":
                    text = self.resolve(args["template"], ctx)
                    for key, val in sorted(self.resolve(args["params"], ctx).items(),
                                           key=lambda kv: -len(kv[0])):
                        text = text.replace(key, str(val))
                    return text
                if fn == "list_join":
                    items = self.resolve(args[1], ctx)
                    return args[0].join(str(i) for i in items)
                if fn == "get_file":
                    return self.files.get(args)
            return {k: self.resolve(v, ctx) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v, ctx) for v in value]
        return value

    def resolve_properties(self, name, ctx):
        return self.resolve(self._defs[name].properties, ctx)

    def resolve_metadata(self, name, ctx):
        return self.resolve(self._defs[name].metadata, ctx)

    def outputs(self, ctx):
        result = []
        for key, body in (self.raw.get("outputs") or {}).items():
            try:
                value = self.resolve(body.get("value"), ctx)
                result.append({"output_key": key, "output_value": value,
                               "description": body.get("description", "No description given")})
            except Exception as exc:  # an output that cannot resolve says so, as Heat does
                result.append({"output_key": key, "output_value": None, "output_error": str(exc),
                               "description": body.get("description", "No description given")})
        return result

    def parameter_values(self):
        return dict(self._params)

    def mask(self, value):
        return value

    def check_update(self, previous):
        return None


def fallback_bind(text, files, env_raw, params, identity):
    raw = yaml.safe_load(text) if isinstance(text, str) else text
    env = env_raw if isinstance(env_raw, dict) else (yaml.safe_load(env_raw) if env_raw else {})
    env = env or {}
    merged = dict(env.get("parameter_defaults") or {})
    merged.update(env.get("parameters") or {})
    merged.update(params or {})
    registry = {k: v for k, v in (env.get("resource_registry") or {}).items()
                if isinstance(v, str)}
    return FallbackBound(raw, merged, identity, files or {}, registry)

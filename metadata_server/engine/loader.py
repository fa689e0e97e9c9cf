"""A stored stack definition (template, files, environment, parameters) -> a bound template.

The definition is what the API received, kept as is so that update (PATCH) can reuse it and a
restarted engine can rebuild the stack. Template errors become StackValidationFailed with the
file, line, column and path the template package found.
"""
from __future__ import annotations

import json
from typing import Any

from metadata_server.engine import template as hot
from metadata_server.engine.errors import StackValidationFailed
from metadata_server.engine.limits import DEFAULT, Limits


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _environment(definition: dict, limits: Limits):
    files = definition.get("files") or {}
    envs = []
    for name in definition.get("environment_files") or []:
        if name not in files:
            raise StackValidationFailed(f"environment file {name!r} is not in `files`")
        envs.append(hot.parse_environment(files[name], name, limits))
    if definition.get("environment"):
        envs.append(hot.parse_environment(definition["environment"], "environment", limits))
    return hot.merge_environments(envs) if envs else hot.parse_environment({}, "environment")


def bind_definition(definition: dict, identity: "hot.StackIdentity", *, child_of: str | None = None,
                    strict: bool = True, limits: Limits = DEFAULT):
    """Bind; `child_of` is the parent's resource name for a nested stack's environment."""
    files = definition.get("files") or {}
    filename = definition.get("template_name") or "template"
    try:
        template = hot.parse_template(_text(definition.get("template")), filename, files, limits)
        environment = _environment(definition, limits)
        if child_of is not None:
            environment = environment.child_for(child_of)
        return hot.bind(template, environment, definition.get("parameters") or {}, identity,
                        strict=strict)
    except hot.TemplateError as exc:
        error = StackValidationFailed(str(exc))
        error.error_type = exc.kind
        raise error from None


def describe(definition: dict, limits: Limits = DEFAULT) -> dict:
    """Heat's template-validate body."""
    files = definition.get("files") or {}
    try:
        template = hot.parse_template(_text(definition.get("template")),
                                      definition.get("template_name") or "template", files,
                                      limits)
        return hot.describe_template(template, _environment(definition, limits))
    except hot.TemplateError as exc:
        error = StackValidationFailed(str(exc))
        error.error_type = exc.kind
        raise error from None

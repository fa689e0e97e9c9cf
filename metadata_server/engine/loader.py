"""A stored stack definition (template, files, environment, parameters) -> a bound template.

The definition is what the API received, kept as is so that update (PATCH) can reuse it and a
restarted engine can rebuild the stack. Template errors become StackValidationFailed with the
file, line, column and path the template package found.
"""
from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from metadata_server.engine import template as hot
from metadata_server.engine.errors import StackValidationFailed
from metadata_server.engine.limits import DEFAULT, Limits
from metadata_server.engine.parse_cache import ParseCache, digest


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _environment_texts(definition: dict) -> list[tuple[str, Any]]:
    """(filename, text or mapping) of each environment, in merge order."""
    files = definition.get("files") or {}
    texts = []
    for name in definition.get("environment_files") or []:
        if name not in files:
            raise StackValidationFailed(f"environment file {name!r} is not in `files`")
        texts.append((name, files[name]))
    if definition.get("environment"):
        texts.append(("environment", definition["environment"]))
    return texts


def _environment(definition: dict, limits: Limits, cache: ParseCache | None = None,
                 tenant: str = ""):
    texts = _environment_texts(definition)

    def parse():
        envs = [hot.parse_environment(text, name, limits) for name, text in texts]
        return hot.merge_environments(envs) if envs else hot.parse_environment({}, "environment")
    if cache is None or not texts:
        return parse()
    keyed = [(name, text if isinstance(text, str) else
              json.dumps(text, sort_keys=True, default=str)) for name, text in texts]
    key = ("environment", tenant, limits, digest(keyed))
    return cache.get(key, sum(len(text) for _, text in keyed), parse)


def _template(definition: dict, filename: str, limits: Limits, cache: ParseCache | None,
              tenant: str):
    files = definition.get("files") or {}
    text = _text(definition.get("template"))
    if cache is None:
        return hot.parse_template(text, filename, files, limits)
    # `files` only rides along in the Template (get_file, provider templates): the parse does
    # not depend on it, so it is not in the key and each bind gets its own definition's
    key = ("template", tenant, limits, filename, digest(text))
    parsed = cache.get(key, len(text), lambda: hot.parse_template(text, filename, {}, limits))
    return replace(parsed, files=dict(files))


def bind_definition(definition: dict, identity: "hot.StackIdentity", *, child_of: str | None = None,
                    strict: bool = True, limits: Limits = DEFAULT,
                    cache: ParseCache | None = None):
    """Bind; `child_of` is the parent's resource name for a nested stack's environment.
    With `cache`, a text this tenant's stacks bound before is not parsed again."""
    filename = definition.get("template_name") or "template"
    tenant = identity.project_id
    if not tenant:
        cache = None   # no tenant to key on (template-validate): parse, keep nothing
    try:
        template = _template(definition, filename, limits, cache, tenant)
        environment = _environment(definition, limits, cache, tenant)
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

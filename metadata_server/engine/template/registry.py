"""resource_registry lookups: aliases, provider templates, globs, per-resource entries."""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any

from .errors import TemplateError

HOOKS = ("pre-create", "pre-update", "pre-delete", "post-create", "post-update", "post-delete")
RESTRICTED_ACTIONS = ("update", "replace")
RESOURCE_ENTRY_KEYS = ("hooks", "restricted_actions")


def is_template_path(value: str) -> bool:
    """Heat's rule: a registry value (or a resource type) ending so is a provider template."""
    return value.endswith(".yaml") or value.endswith(".template")


@dataclass(frozen=True)
class RegistryMatch:
    type: str                          # the type to instantiate (the written one for templates)
    provider_template: str | None      # a files key or URL when the type is a nested template
    hooks: tuple[str, ...] = ()
    restricted_actions: tuple[str, ...] = ()


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


class ResourceRegistry:
    """User entries first, then global (operator) entries, as Heat orders candidates."""

    def __init__(self, user: dict | None = None, global_: dict | None = None):
        self.layers = [user or {}, global_ or {}]

    def _per_resource(self, resource_name: str | None) -> list[dict]:
        """Per-resource entries matching `resource_name`: exact name first, then patterns."""
        out = []
        for layer in self.layers:
            resources = layer.get("resources") or {}
            if resource_name in resources and isinstance(resources[resource_name], dict):
                out.append(resources[resource_name])
            for pattern, entry in resources.items():
                if pattern != resource_name and isinstance(entry, dict) \
                        and resource_name is not None and fnmatch.fnmatchcase(resource_name,
                                                                              pattern):
                    out.append(entry)
        return out

    def _candidates(self, type_name: str, resource_name: str | None, used: set):
        for index, entry in enumerate(self._per_resource(resource_name)):
            value = entry.get(type_name)
            if isinstance(value, str) and ("res", index, type_name) not in used:
                yield ("res", index, type_name), value
        for depth, layer in enumerate(self.layers):
            value = layer.get(type_name)
            if isinstance(value, str) and (depth, type_name) not in used:
                yield (depth, type_name), value
            globs = sorted((k for k, v in layer.items() if isinstance(k, str) and k.endswith("*")
                            and isinstance(v, str) and k != "resources"),
                           key=lambda k: -len(k))
            for pattern in globs:
                if type_name.startswith(pattern[:-1]) and (depth, pattern) not in used:
                    value = layer[pattern]
                    if value.endswith("*"):
                        value = value[:-1] + type_name[len(pattern) - 1:]
                    yield (depth, pattern), value

    def lookup(self, type_name: str, resource_name: str | None = None) -> RegistryMatch:
        """Map a written type through the registry until it stops changing."""
        hooks: list[str] = []
        restricted: list[str] = []
        for entry in self._per_resource(resource_name):
            hooks += [h for h in _as_tuple(entry.get("hooks")) if h not in hooks]
            restricted += [a for a in _as_tuple(entry.get("restricted_actions"))
                           if a not in restricted]
        current, used = type_name, set()
        while not is_template_path(current):
            step = next(iter(self._candidates(current, resource_name, used)), None)
            if step is None or step[1] == current:
                break
            used.add(step[0])
            current = step[1]
        if is_template_path(current):
            return RegistryMatch(type_name if current != type_name else current, current,
                                 tuple(hooks), tuple(restricted))
        return RegistryMatch(current, None, tuple(hooks), tuple(restricted))


def validate_registry(registry: Any, error, path: tuple = ("resource_registry",)) -> None:
    """Shape checks with Heat's messages; `error(message, path, kind)` makes the exception."""
    if not isinstance(registry, dict):
        raise error("resource_registry must be a map", path, "ValueError")
    for key, value in registry.items():
        if key == "resources":
            if not isinstance(value, dict):
                raise error("resource_registry.resources must be a map of resource names",
                            path + (key,), "ValueError")
            for res_name, entry in value.items():
                _validate_resource_entry(entry, error, path + (key, res_name))
        elif key == "base_url":
            continue
        elif value is not None and not isinstance(value, str):
            raise error(f'resource_registry entry "{key}" must map to a type name or a '
                        f"template path, not {value!r}", path + (key,), "ValueError")


def _validate_resource_entry(entry: Any, error, path: tuple) -> None:
    if not isinstance(entry, dict):
        raise error("a per-resource registry entry must be a map", path, "ValueError")
    for key, value in entry.items():
        if key == "hooks":
            for hook in _as_tuple(value):
                if hook not in HOOKS:
                    raise error(f'Invalid hook type "{hook}" for {path[-1]}; valid hooks: '
                                + ", ".join(HOOKS), path + (key,), "InvalidBreakPointHook")
        elif key == "restricted_actions":
            for action in _as_tuple(value):
                if action not in RESTRICTED_ACTIONS:
                    raise error(f'"{action}" is not a valid restricted action; use update or '
                                "replace", path + (key,), "InvalidRestrictedAction")
        elif isinstance(value, dict):
            _validate_resource_entry(value, error, path + (key,))   # drill into nested stacks
        elif value is not None and not isinstance(value, str):
            raise error(f'registry entry "{key}" must be a type name or template path',
                        path + (key,), "ValueError")


__all__ = ["ResourceRegistry", "RegistryMatch", "validate_registry", "is_template_path",
           "TemplateError"]

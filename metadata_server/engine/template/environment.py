"""Environments: parse and check the sections, merge several files in order, derive a child's.

Merge rules are Heat's (§4.3): parameters and parameter_defaults per key with the strategy the
file names (overwrite | merge | deep_merge); resource_registry and event_sinks shallowly by
top-level key, so a later file's `resources:` block replaces an earlier one.
"""
from __future__ import annotations

import copy
import fnmatch
from dataclasses import dataclass, field
from typing import Any

from metadata_server.engine.limits import DEFAULT, Limits
from metadata_server.store.event_sinks_spec import MAX_SINKS_PER_STACK, sink_problem

from .errors import TemplateError, did_you_mean
from .loader import load_document
from .model import Positions
from .registry import validate_registry

SECTIONS = ("parameters", "parameter_defaults", "resource_registry", "event_sinks",
            "encrypted_param_names", "parameter_merge_strategies")
STRATEGIES = ("overwrite", "merge", "deep_merge")


@dataclass
class Environment:
    """A parsed environment. `resource_registry` is the user registry mapping."""
    parameters: dict[str, Any] = field(default_factory=dict)
    parameter_defaults: dict[str, Any] = field(default_factory=dict)
    resource_registry: dict[str, Any] = field(default_factory=dict)
    event_sinks: list = field(default_factory=list)
    encrypted_param_names: list = field(default_factory=list)
    parameter_merge_strategies: dict[str, Any] = field(default_factory=dict)
    filename: str = "<environment>"
    positions: Positions | None = None
    # (section, key) -> Positions of the file that supplied it, kept through merges
    origins: dict = field(default_factory=dict, repr=False, compare=False)
    # for each event sink: the Positions of its file and its index there
    sink_origins: list = field(default_factory=list, repr=False, compare=False)

    def error_at(self, section: str, key: str, message: str, kind: str = "StackValidationFailed",
                 subpath: tuple = (), at_key: bool = False) -> TemplateError:
        """An error located where `section.key` was written (in whichever merged file)."""
        positions = self.origins.get((section, key)) or self.positions
        path = (section, key) + subpath
        if positions is None:
            return TemplateError(message, filename=self.filename, path=path, kind=kind)
        return positions.error(message, path, kind, at_key)

    def sink_error(self, index: int, message: str) -> TemplateError:
        """An error located at event sink `index` in the file that supplied it."""
        if index < len(self.sink_origins) and self.sink_origins[index][0] is not None:
            positions, at = self.sink_origins[index]
            return positions.error(message, ("event_sinks", at))
        return self.error(message, ("event_sinks", index))

    def error(self, message: str, path: tuple = (), kind: str = "StackValidationFailed"
              ) -> TemplateError:
        if self.positions is None:
            return TemplateError(message, filename=self.filename, path=path, kind=kind)
        return self.positions.error(message, path, kind)

    def to_dict(self) -> dict:
        """The environment as Heat shows it (and as the engine stores it)."""
        return {"parameters": self.parameters, "parameter_defaults": self.parameter_defaults,
                "resource_registry": self.resource_registry, "event_sinks": self.event_sinks,
                "encrypted_param_names": self.encrypted_param_names}

    def child_for(self, resource_name: str) -> "Environment":
        """What a nested stack made by `resource_name` inherits: the registry (with only the
        per-resource entries addressed to its resources), parameter_defaults, event sinks; not
        the parameters."""
        registry = {k: v for k, v in self.resource_registry.items() if k != "resources"}
        child_resources: dict = {}
        for pattern, entry in (self.resource_registry.get("resources") or {}).items():
            if isinstance(entry, dict) and fnmatch.fnmatchcase(resource_name, pattern):
                for inner, value in entry.items():
                    if isinstance(value, dict):
                        child_resources[inner] = value
        if child_resources:
            registry["resources"] = child_resources
        return Environment(parameter_defaults=copy.deepcopy(self.parameter_defaults),
                           resource_registry=registry, event_sinks=list(self.event_sinks),
                           filename=self.filename, positions=None)


def parse_environment(text: str | bytes | dict | None, filename: str = "<environment>",
                      limits: Limits = DEFAULT) -> Environment:
    """Parse an environment given as YAML/JSON text or an already decoded mapping."""
    if isinstance(text, dict):
        data, positions = text, Positions(filename)
    elif text is None or (isinstance(text, (str, bytes)) and not text.strip()):
        return Environment(filename=filename)
    else:
        data, positions = load_document(text, filename, what="environment", limits=limits)
        if data is None:
            return Environment(filename=filename, positions=positions)
    if not isinstance(data, dict):
        raise positions.error("The environment is not a valid YAML mapping data type.", (),
                              "ValueError")
    for key, value in data.items():
        if key not in SECTIONS:
            raise positions.error(f'environment has wrong section "{key}"'
                                  + did_you_mean(key, SECTIONS), (key,), "ValueError",
                                  key=True)
        if value is None:
            raise positions.error(f'environment has empty section "{key}"', (key,), "ValueError",
                                  key=True)
    for key in ("parameters", "parameter_defaults", "resource_registry",
                "parameter_merge_strategies"):
        if key in data and not isinstance(data[key], dict):
            raise positions.error(f'environment section "{key}" must be a map', (key,),
                                  "ValueError")
    for key in ("event_sinks", "encrypted_param_names"):
        if key in data and not isinstance(data[key], list):
            raise positions.error(f'environment section "{key}" must be a list', (key,),
                                  "ValueError")
    sinks = data.get("event_sinks") or []
    if len(sinks) > MAX_SINKS_PER_STACK:
        raise positions.error(f"at most {MAX_SINKS_PER_STACK} event sinks", ("event_sinks",),
                              "ValueError")
    for index, sink in enumerate(sinks):
        problem = sink_problem(sink)
        if problem is not None:
            raise positions.error(problem, ("event_sinks", index), "ValueError")
    for param, strategy in (data.get("parameter_merge_strategies") or {}).items():
        if strategy not in STRATEGIES:
            raise positions.error(f'Invalid merge strategy "{strategy}" for {param}; use one '
                                  f"of: {', '.join(STRATEGIES)}",
                                  ("parameter_merge_strategies", param),
                                  "InvalidMergeStrategyForParam")
    validate_registry(data.get("resource_registry") or {}, positions.error)
    return Environment(
        parameters=dict(data.get("parameters") or {}),
        parameter_defaults=dict(data.get("parameter_defaults") or {}),
        resource_registry=dict(data.get("resource_registry") or {}),
        event_sinks=list(data.get("event_sinks") or []),
        encrypted_param_names=list(data.get("encrypted_param_names") or []),
        parameter_merge_strategies=dict(data.get("parameter_merge_strategies") or {}),
        filename=filename, positions=positions,
        sink_origins=[(positions, i) for i in range(len(sinks))],
        origins={(section, key): positions for section in ("parameters", "parameter_defaults",
                                                           "resource_registry")
                 for key in (data.get(section) or {})})


def _merge_value(old: Any, new: Any, strategy: str, ptype: str | None, name: str,
                 env: Environment, section: str) -> Any:
    if strategy == "overwrite" or old is None:
        return new
    where = (section, name)
    if ptype == "boolean" or isinstance(new, bool) or isinstance(old, bool):
        raise env.error(f"Invalid merge strategy '{strategy}' for parameter {name}: booleans "
                        "cannot be merged", where, "InvalidMergeStrategyForParam")
    if ptype == "comma_delimited_list" or (ptype is None and isinstance(new, list)
                                           and isinstance(old, list)):
        if isinstance(old, list) and isinstance(new, list):
            return old + new
        def text(v): return ",".join(map(str, v)) if isinstance(v, list) else str(v)
        return text(old) + "," + text(new)
    if ptype == "json" or (isinstance(old, dict) and isinstance(new, dict)):
        if isinstance(old, dict) and isinstance(new, dict):
            return _deep(old, new) if strategy == "deep_merge" else {**old, **new}
        if isinstance(old, list) and isinstance(new, list):
            return old + new
        raise env.error(f"Cannot merge values of parameter {name} ({type(old).__name__} and "
                        f"{type(new).__name__})", where, "InvalidMergeStrategyForParam")
    if ptype == "number" or (isinstance(old, (int, float)) and isinstance(new, (int, float))):
        from .parameters import to_number
        try:
            return to_number(old) + to_number(new)
        except ValueError as exc:
            raise env.error(f"Cannot merge parameter {name}: {exc}", where,
                            "InvalidMergeStrategyForParam") from None
    return f"{old}{new}"


def _deep(old: dict, new: dict) -> dict:
    out = dict(old)
    for key, value in new.items():
        prev = out.get(key)
        if isinstance(prev, dict) and isinstance(value, dict):
            out[key] = _deep(prev, value)
        elif isinstance(prev, list) and isinstance(value, list):
            out[key] = prev + value
        elif isinstance(prev, str) and isinstance(value, str):
            out[key] = prev + value
        else:
            out[key] = value
    return out


def merge_environments(envs: list[Environment], param_types: dict[str, str] | None = None
                       ) -> Environment:
    """Merge environment files in order.

    `param_types` maps the declared parameter names (template and nested templates) to their
    types. When given, Heat's quirk applies: after the first file, undeclared keys are dropped;
    when None, every key is merged and types are inferred from the values.
    """
    merged = Environment(filename=envs[-1].filename if envs else "<environment>")
    explicit: dict[str, str] = {}
    for position, env in enumerate(envs):
        strategies = env.parameter_merge_strategies
        default = strategies.get("default", "overwrite")
        for section in ("parameters", "parameter_defaults"):
            target = getattr(merged, section)
            for name, value in getattr(env, section).items():
                if position > 0 and param_types is not None and name not in param_types:
                    continue
                strategy = strategies.get(name, default)
                if name in strategies:
                    if explicit.setdefault(name, strategy) != strategy:
                        raise env.error(f"Conflicting merge strategy '{strategy}' for parameter"
                                        f" '{name}' in file '{env.filename}' (an earlier file "
                                        f"uses '{explicit[name]}')",
                                        ("parameter_merge_strategies", name),
                                        "ConflictingMergeStrategyForParam")
                ptype = (param_types or {}).get(name)
                target[name] = _merge_value(target.get(name), copy.deepcopy(value), strategy,
                                            ptype, name, env, section)
                if (section, name) in env.origins:
                    merged.origins[(section, name)] = env.origins[(section, name)]
        for key, value in env.resource_registry.items():
            merged.resource_registry[key] = copy.deepcopy(value)
            if ("resource_registry", key) in env.origins:
                merged.origins[("resource_registry", key)] = env.origins[("resource_registry",
                                                                          key)]
        merged.event_sinks.extend(env.event_sinks)
        merged.sink_origins.extend(env.sink_origins or [(env.positions, i)
                                                        for i in range(len(env.event_sinks))])
        merged.encrypted_param_names.extend(env.encrypted_param_names)
    merged.resource_registry = {k: v for k, v in merged.resource_registry.items()
                                if v is not None}
    return merged

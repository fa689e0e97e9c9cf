"""A template bound to parameter values, an environment and a stack identity.

`bind` runs Heat's validation order (parameters, parameter_groups, conditions, resource
definitions, outputs) and keeps the parsed trees, so the engine can ask for dependencies and
resolve values as resources come into being.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any, Callable, Protocol

from .environment import Environment
from .errors import TemplateError, did_you_mean
from .functions import (NULL, ArgError, NeedsResource, Resolver, Scope, check_static, parse,
                        references, tables)
from .conditions import Conditions
from .model import ResourceDefinition, Template
from .parameters import PSEUDO, check, describe
from .registry import ResourceRegistry, is_template_path
from .versions import Features

HIDDEN_MASK = "******"
_MIN_MASKED_SUBSTRING = 3   # shorter hidden values are masked only when a whole value equals them


@dataclass(frozen=True)
class StackIdentity:
    """What the pseudo parameters OS::stack_name, OS::stack_id and OS::project_id return."""
    stack_name: str
    stack_id: str
    project_id: str = ""


class ResolveContext(Protocol):
    """What the engine core answers while values are resolved."""

    def resource_id(self, name: str) -> Any:
        """get_resource: the reference id (resource_id, or the name while unset)."""

    def attribute(self, name: str, attr: str | None, path: tuple) -> Any:
        """get_attr: attribute `attr` of `name` with `path` applied; attr None = all attributes.

        Return None while the resource is not ready (INIT/DELETE) and when the path does not
        exist; `functions.select_path(value, path)` applies a path the way Heat does.
        """

    def resource_facade(self, section: str) -> Any:
        """resource_facade: the parent resource's metadata, deletion_policy or update_policy
        (raise TemplateError outside a nested stack)."""


_DELETION = {"Delete": "Delete", "Retain": "Retain", "Snapshot": "Snapshot"}
_DELETION_LOWER = {"delete": "Delete", "retain": "Retain", "snapshot": "Snapshot"}


class BoundTemplate:
    """A validated template with parameter values, conditions and the registry applied."""

    def __init__(self, template: Template, environment: Environment, identity: StackIdentity,
                 fetch: Callable[[str], str] | None):
        self.template = template
        self.environment = environment
        self.identity = identity
        self.features = Features(template.version)
        self.files = template.files
        self._fetch = fetch
        self.values: dict[str, Any] = {}
        self.hidden: set[str] = {n for n, s in template.parameters.items() if s.hidden}
        self.conditions: Conditions | None = None
        self._definitions: dict[str, ResourceDefinition] = {}
        self._enabled: dict[str, bool] = {}
        self._parsed: dict[tuple[str, str], Any] = {}
        self._outputs: dict[str, tuple[bool, Any]] = {}
        self.warnings: list[str] = []   # "file:line:col: path: message", for validate output
        table, removed, condition_table = tables(template.version)
        self._table, self._removed, self._condition_table = table, removed, condition_table

    # -- what the functions ask ------------------------------------------------------------
    def has_param(self, name: str) -> bool:
        return name in self.values or name in PSEUDO

    def param(self, name: str) -> Any:
        if name in self.values:
            return self.values[name]
        if name == "OS::stack_name":
            return self.identity.stack_name
        if name == "OS::stack_id":
            return self.identity.stack_id
        if name == "OS::project_id":
            return self.identity.project_id
        if name in self.template.parameters:
            raise NeedsResource()   # not strict: a required parameter without a value yet
        raise ArgError(f"The Parameter ({name}) was not provided.", "UserParameterMissing")

    def _check_enabled(self, name: str) -> None:
        if not self._enabled.get(name, False):
            raise ArgError(f'The resource "{name}" does not exist in this stack: its condition '
                           'is false (guard the reference with "if")', "InvalidTemplateReference")

    def resource_id(self, name: str, r: Resolver) -> Any:
        self._check_enabled(name)
        return r.engine().resource_id(name)

    def attribute(self, name: str, attr: str | None, path: tuple, r: Resolver) -> Any:
        self._check_enabled(name)
        return r.engine().attribute(name, attr, path)

    # -- scopes and resolvers --------------------------------------------------------------
    def _scope(self, where: str) -> Scope:
        return Scope(version=self.template.version, features=self.features, table=self._table,
                     removed=self._removed, resources=set(self.template.resources),
                     error=self.template.error, where=where, condition=self._if_condition,
                     condition_table=self._condition_table, warn=self._warn)

    def _warn(self, message: str, path: tuple) -> None:
        text = str(self.template.error(message, path, key=True))
        if text not in self.warnings:
            self.warnings.append(text)

    def _condition_scope(self) -> Scope:
        others = (set(self._table) | self._removed) - set(self._condition_table)
        return self._scope("conditions").derive(table=self._condition_table, condition=None,
                                                other_functions=others, warn=None)

    def _if_condition(self, expression: Any, path: tuple) -> bool:
        if self.conditions is None:
            raise self.template.error('The function "if" needs the conditions section '
                                      "(2016-10-14 or later)", path)
        return self.conditions.evaluate(expression, path)

    def _static(self) -> Resolver:
        return Resolver(self, None, self.template.error)

    def _static_value(self, raw: Any, path: tuple, where: str) -> Any:
        """Resolve a value that may use parameters but no resource (policies, external_id)."""
        parsed = parse(raw, self._scope(where), path)
        try:
            value = self._static().resolve(parsed)
        except NeedsResource:
            raise self.template.error("This value cannot refer to resources", path) from None
        return None if value is NULL else value

    # -- the interface the engine uses -----------------------------------------------------
    def resource_definitions(self) -> list[ResourceDefinition]:
        """Enabled resources in template order, types mapped through the registry."""
        return [d for name, d in self._definitions.items() if self._enabled[name]]

    def definition(self, name: str) -> ResourceDefinition:
        return self._definitions[name]

    def is_enabled(self, name: str) -> bool:
        return self._enabled.get(name, False)

    def dependencies(self, name: str) -> set[str]:
        """get_resource/get_attr in properties and metadata, plus depends_on (enabled only)."""
        deps = set(self._definitions[name].depends_on)
        for section in ("properties", "metadata"):
            deps.update(references(self._parsed[(name, section)]))
        # a self-reference stays in, so the engine's graph reports it as a cycle
        return {d for d in deps if self._enabled.get(d)}

    def resolve(self, value: Any, ctx: ResolveContext, path: tuple = ()) -> Any:
        """Parse and resolve any raw value (e.g. an API-supplied snippet) against `ctx`."""
        parsed = parse(value, self._scope("unknown"), tuple(path))
        out = Resolver(self, ctx, self.template.error).resolve(parsed)
        return None if out is NULL else out

    def resolve_properties(self, name: str, ctx: ResolveContext) -> Any:
        out = Resolver(self, ctx, self.template.error).resolve(self._parsed[(name, "properties")])
        return {} if out is NULL or out is None else out

    def resolve_metadata(self, name: str, ctx: ResolveContext) -> Any:
        out = Resolver(self, ctx, self.template.error).resolve(self._parsed[(name, "metadata")])
        return {} if out is NULL or out is None else out

    def output_names(self) -> list[str]:
        return list(self._outputs)

    def output(self, name: str, ctx: ResolveContext) -> dict:
        """One output: {output_key, description, output_value[, output_error]}."""
        enabled, parsed = self._outputs[name]
        out = {"output_key": name, "description": self.template.outputs[name].description,
               "output_value": None}
        if not enabled:
            return out
        try:
            value = Resolver(self, ctx, self.template.error).resolve(parsed)
            # like get_param elsewhere, an output returns a hidden value itself: the caller
            # that shows it to a user masks it (bound.mask)
            out["output_value"] = None if value is NULL else value
        except TemplateError as exc:
            out["output_error"] = self.mask(str(exc))
        return out

    def outputs(self, ctx: ResolveContext) -> list[dict]:
        """Every output; a false condition gives null, an error gives output_error."""
        return [self.output(name, ctx) for name in self._outputs]

    def parameter_values(self) -> dict[str, Any]:
        """Coerced values of every parameter that has one, pseudo parameters included."""
        return {**self.values, "OS::stack_name": self.identity.stack_name,
                "OS::stack_id": self.identity.stack_id,
                "OS::project_id": self.identity.project_id}

    def shown_parameters(self) -> dict[str, str]:
        """Stack show's `parameters`: every value as a string, hidden ones masked."""
        out = {}
        for name, value in self.parameter_values().items():
            if name in self.hidden:
                out[name] = HIDDEN_MASK
            elif isinstance(value, list) and all(isinstance(v, str) for v in value):
                out[name] = ",".join(value)
            elif isinstance(value, (dict, list)):
                out[name] = json.dumps(value)
            elif isinstance(value, bool):
                out[name] = str(value).lower()
            else:
                out[name] = str(value)
        return out

    def _secrets(self) -> list[Any]:
        secrets = []
        for name in self.hidden:
            value = self.values.get(name)
            if value in (None, "", [], {}):
                continue
            secrets.append(value)
            if isinstance(value, list):
                secrets.append(",".join(map(str, value)))
                secrets.extend(v for v in value if v not in ("", None))
            if isinstance(value, (dict, list)):
                secrets.append(json.dumps(value))
                secrets.extend(_leaves(value))
        return secrets

    def mask(self, value: Any) -> Any:
        """`value` with every hidden parameter value replaced by `******` (inside strings too,
        for values of at least 3 characters)."""
        secrets = self._secrets()
        if not secrets:
            return value
        needles = sorted({str(s) for s in secrets if not isinstance(s, (dict, list, bool))
                          and len(str(s)) >= _MIN_MASKED_SUBSTRING}, key=len, reverse=True)

        def walk(v: Any) -> Any:
            if any(v == s and type(v) is type(s) for s in secrets):
                return HIDDEN_MASK
            if isinstance(v, str):
                for needle in needles:
                    v = v.replace(needle, HIDDEN_MASK)
                return v
            if isinstance(v, dict):
                return {k: walk(item) for k, item in v.items()}
            if isinstance(v, (list, tuple)):
                return [walk(item) for item in v]
            return v
        return walk(value)

    def check_update(self, previous: "BoundTemplate") -> None:
        """Reject changes to parameters the new template marks immutable (Heat's message)."""
        changed = [name for name, schema in self.template.parameters.items()
                   if schema.immutable and name in previous.values
                   and previous.values[name] != self.values.get(name)]
        if changed:
            raise TemplateError("The following parameters are immutable and may not be "
                                "updated: " + ", ".join(changed), kind="ImmutableParameterModified",
                                filename=self.template.filename, path=("parameters", changed[0]))

    def provider_template(self, name: str):
        """The nested Template of a provider-template resource (from files, else fetched)."""
        from .loader import parse_template

        key = self._definitions[name].provider_template
        if key is None:
            raise ValueError(f"resource {name} is not a provider template")
        if key in self.files:
            text = self.files[key]
        elif self._fetch is not None:
            text = self._fetch(key)
        else:
            raise self.template.error(f'Could not fetch remote template "{key}": stoker reads '
                                      'provider templates from "files" only (the client uploads '
                                      "them)", ("resources", name, "type"), "NotFound")
        return parse_template(text, filename=key, files=self.files)

    def child_environment(self, name: str) -> Environment:
        return self.environment.child_for(name)


def _leaves(value: Any) -> list[str]:
    """Strings inside a hidden json value (keys too): each is a secret in its own right."""
    if isinstance(value, dict):
        return [x for k, v in value.items() for x in [str(k)] + _leaves(v)]
    if isinstance(value, list):
        return [x for v in value for x in _leaves(v)]
    return [] if value in (None, "") or isinstance(value, bool) else [str(value)]


def _bind_parameters(b: BoundTemplate, env: Environment, user_params: dict, strict: bool,
                     ignore_unknown: bool) -> None:
    schemas = b.template.parameters
    given = {**env.parameters, **user_params}
    for name in given:
        if name not in schemas and not ignore_unknown:
            message = (f"The Parameter ({name}) was not defined in template."
                       + did_you_mean(name, schemas))
            if name in user_params:
                raise TemplateError(message, path=("parameters", name), kind="UnknownUserParameter")
            raise env.error_at("parameters", name, message, "UnknownUserParameter", at_key=True)
    for name, schema in schemas.items():
        if name in given:
            source = ("api" if name in user_params else "parameters")
            raw = given[name]
        elif name in env.parameter_defaults:
            source, raw = "parameter_defaults", env.parameter_defaults[name]
        elif schema.has_default:
            b.values[name] = schema.default
            continue
        elif strict:
            raise b.template.error(f"The Parameter ({name}) was not provided.",
                                   ("parameters", name), "UserParameterMissing", key=True)
        else:
            continue
        try:
            b.values[name] = check(schema, raw)
        except ValueError as exc:
            if source == "api":
                raise TemplateError(str(exc), path=("parameters", name),
                                    kind="StackValidationFailed") from None
            raise env.error_at(source, name, str(exc)) from None


def _deletion_policy(b: BoundTemplate, raw: Any, name: str) -> str:
    path = ("resources", name, "deletion_policy")
    value = b._static_value(raw, path, f"{name}.deletion_policy")
    if value in _DELETION:
        return _DELETION[value]
    if b.features.lowercase_deletion_policy and value in _DELETION_LOWER:
        return _DELETION_LOWER[value]
    allowed = "Delete, Retain, Snapshot" + (
        " (or lower case)" if b.features.lowercase_deletion_policy else "")
    raise b.template.error(f'Invalid deletion policy "{value}"; use one of: {allowed}', path)


def bind(template: Template, environment: Environment | None = None,
         user_params: dict | None = None, identity: StackIdentity | None = None, *,
         strict: bool = True, ignore_unknown_params: bool = False,
         global_registry: dict | None = None,
         fetch: Callable[[str], str] | None = None) -> BoundTemplate:
    """Validate `template` against parameter values and an environment.

    strict=False leaves parameters without a value unset (template-validate), and skips checks
    that need them. ignore_unknown_params drops undeclared parameters (PATCH updates).
    global_registry is the operator's resource_registry (below user entries); fetch(url) may
    supply provider templates that are not in `files`.
    """
    env = environment or Environment()
    b = BoundTemplate(template, env, identity or StackIdentity("", ""), fetch)
    _bind_parameters(b, env, dict(user_params or {}), strict, ignore_unknown_params)

    if b.features.conditions:
        b.conditions = Conditions(template.conditions, b._condition_scope(), b._static(),
                                  template.error)
        try:
            b.conditions.evaluate_all()
        except NeedsResource:
            if strict:
                raise
            b.conditions = _LenientConditions(b.conditions)

    registry = ResourceRegistry(env.resource_registry, global_registry)
    for name, raw in template.resources.items():
        path = ("resources", name)
        enabled = True
        if raw.condition is not None:
            if b.conditions is None:
                raise template.error("condition needs 2016-10-14 or later", path + ("condition",))
            enabled = b.conditions.evaluate(raw.condition, path + ("condition",))
        b._enabled[name] = enabled
        for section in ("properties", "metadata"):
            value = getattr(raw, section)
            if enabled:
                parsed = parse(value, b._scope(f"{name}.{section}"), path + (section,))
                if section == "properties" and value is not None \
                        and not isinstance(value, dict) and not _is_call(parsed):
                    raise template.error(f"Resource {name} properties must be a map",
                                         path + (section,))
            else:
                parsed = None
            b._parsed[(name, section)] = parsed
        for dep in raw.depends_on:
            if dep not in template.resources:
                raise template.error(f'The specified reference "{dep}" (in {name}) is '
                                     "incorrect.", path + ("depends_on",),
                                     "InvalidTemplateReference")
            if dep == name:
                raise template.error(f'Resource "{name}" depends on itself', path + ("depends_on",),
                                     "CircularDependencyException")
        if not enabled:
            b._definitions[name] = raw
            continue
        match = registry.lookup(raw.type, name)
        update_policy = b._static_value(raw.update_policy, path + ("update_policy",),
                                        f"{name}.update_policy") or {}
        if not isinstance(update_policy, dict):
            raise template.error('"update_policy" must be a map', path + ("update_policy",))
        external_id = b._static_value(raw.external_id, path + ("external_id",),
                                      f"{name}.external_id")
        deletion = "Retain" if external_id is not None else _deletion_policy(
            b, raw.deletion_policy, name)
        b._definitions[name] = replace(
            raw, type=match.type, template_type=raw.type,
            provider_template=match.provider_template or (
                raw.type if is_template_path(raw.type) else None),
            depends_on=[d for d in raw.depends_on if d != name],
            deletion_policy=deletion, update_policy=update_policy, external_id=external_id,
            hooks=match.hooks, restricted_actions=match.restricted_actions)
    for name, defn in b._definitions.items():
        if b._enabled[name]:
            defn.depends_on = [d for d in defn.depends_on if b._enabled[d]]

    for name, output in template.outputs.items():
        path = ("outputs", name)
        enabled = True
        if output.condition is not None:
            enabled = b.conditions.evaluate(output.condition, path + ("condition",))
        parsed = parse(output.value, b._scope("unknown"), path + ("value",)) if enabled else None
        b._outputs[name] = (enabled, parsed)

    # anything that needs no resource is computed now, so bad arguments fail at validation
    static = b._static()
    for (name, _section), parsed in b._parsed.items():
        if b._enabled[name]:
            check_static(parsed, static)
    for enabled, parsed in b._outputs.values():
        if enabled:
            check_static(parsed, static)
    return b


def _is_call(value: Any) -> bool:
    from .functions import Function
    return isinstance(value, Function)


class _LenientConditions:
    """template-validate without parameter values: conditions that need one count as true."""

    def __init__(self, inner: Conditions):
        self.inner = inner

    def evaluate_name(self, name, path):
        try:
            return self.inner.evaluate_name(name, path)
        except NeedsResource:
            return True

    def evaluate(self, expression, path):
        try:
            return self.inner.evaluate(expression, path)
        except NeedsResource:
            return True


def describe_template(template: Template, environment: Environment | None = None) -> dict:
    """Heat's template-validate body: Description, Parameters (CFN-style keys), ParameterGroups.
    Also binds leniently, so structural errors surface as TemplateError."""
    env = environment or Environment()
    bound = bind(template, env, None, StackIdentity("", ""), strict=False)
    params = {}
    for name, schema in template.parameters.items():
        has_value = name in env.parameters or name in env.parameter_defaults
        params[name] = describe(schema, bound.values.get(name), has_value)
    out: dict[str, Any] = {"Description": template.description, "Parameters": params}
    if template.parameter_groups:
        out["ParameterGroups"] = template.parameter_groups
    return out

"""A template bound to parameter values, an environment and a stack identity (made by
`binder.bind`): it keeps the parsed trees, so the engine can ask for dependencies and resolve
values as resources come into being."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from .conditions import Conditions
from .environment import Environment
from .errors import TemplateError
from .formats import format_of
from .functions import NULL, ArgError, NeedsResource, Resolver, Scope, parse, references
from .functions.sizes import measure, section_too_big
from .model import ResourceDefinition, Template

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


class BoundTemplate:
    """A validated template with parameter values, conditions and the registry applied."""

    def __init__(self, template: Template, environment: Environment, identity: StackIdentity,
                 fetch: Callable[[str], str] | None):
        self.template = template
        self.limits = template.limits   # the resolver's function-result limits
        self.environment = environment
        self.identity = identity
        fmt = format_of(template)
        self.features = fmt.features(template.version)
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
        self.pseudo: dict[str, Any] = fmt.pseudo_parameters(identity)
        table, removed, condition_table = fmt.tables(template.version)
        self._table, self._removed, self._condition_table = table, removed, condition_table

    # -- what the functions ask ------------------------------------------------------------
    def has_param(self, name: str) -> bool:
        return name in self.values or name in self.pseudo

    def param(self, name: str) -> Any:
        if name in self.values:
            return self.values[name]
        if name in self.pseudo:
            return self.pseudo[name]
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
            if any(True for _ in references(parsed)):
                raise self.template.error("This value cannot refer to resources", path) from None
            return None   # template-validate without parameter values: not known yet
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

    def _resolved(self, parsed: Any, ctx: ResolveContext, path: tuple, what: str) -> Any:
        """Resolve a whole section, refused when it is larger than a function result may be
        (what a resource returns is only known now)."""
        out = Resolver(self, ctx, self.template.error).resolve(parsed)
        cap = self.limits.max_function_result_size
        if measure(out, cap) > cap:
            raise self.template.error(section_too_big(self.limits, what), path,
                                      "RequestLimitExceeded")
        return out

    def resolve(self, value: Any, ctx: ResolveContext, path: tuple = ()) -> Any:
        """Parse and resolve any raw value (e.g. an API-supplied snippet) against `ctx`."""
        parsed = parse(value, self._scope("unknown"), tuple(path))
        out = self._resolved(parsed, ctx, tuple(path), "value")
        return None if out is NULL else out

    def resolve_properties(self, name: str, ctx: ResolveContext) -> Any:
        out = self._resolved(self._parsed[(name, "properties")], ctx,
                             ("resources", name, "properties"), "properties")
        return {} if out is NULL or out is None else out

    def resolve_metadata(self, name: str, ctx: ResolveContext) -> Any:
        out = self._resolved(self._parsed[(name, "metadata")], ctx,
                             ("resources", name, "metadata"), "metadata")
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
            value = self._resolved(parsed, ctx, ("outputs", name, "value"), "output value")
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
        return {**self.values, **self.pseudo}

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
        return parse_template(text, filename=key, files=self.files, limits=self.limits)

    def child_environment(self, name: str) -> Environment:
        return self.environment.child_for(name)


def _leaves(value: Any) -> list[str]:
    """Strings inside a hidden json value (keys too): each is a secret in its own right."""
    if isinstance(value, dict):
        return [x for k, v in value.items() for x in [str(k)] + _leaves(v)]
    if isinstance(value, list):
        return [x for v in value for x in _leaves(v)]
    return [] if value in (None, "") or isinstance(value, bool) else [str(value)]

"""`bind`: Heat's validation order over a parsed template, producing a BoundTemplate.

Parameters (values, parameter_defaults, defaults, constraints), conditions, resource
definitions (condition, registry, policies, depends_on), outputs; then every call that needs no
resource is evaluated, so bad arguments fail before anything is created.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable

from .binding import BoundTemplate, StackIdentity
from .conditions import Conditions
from .environment import Environment
from .errors import TemplateError, did_you_mean
from .functions import Function, NeedsResource, check_static, parse
from .functions.sizes import section_too_big
from .model import Template
from .parameters import check, describe
from .registry import ResourceRegistry, is_template_path

_DELETION = {"Delete": "Delete", "Retain": "Retain", "Snapshot": "Snapshot"}
_DELETION_LOWER = {"delete": "Delete", "retain": "Retain", "snapshot": "Snapshot"}


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
    if value is None:
        return "Delete"
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
        if not strict:
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
                if value is not None and not isinstance(value, dict) and not _is_call(parsed):
                    raise template.error(f"Resource {name} {section} must be a map",
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
        if update_policy and (match.provider_template or is_template_path(raw.type)):
            # as in Heat, a provider-template resource has no update policy schema
            raise template.error(f"Property error: Unknown Property {sorted(update_policy)[0]}"
                                 " (a provider-template resource takes no update policy)",
                                 path + ("update_policy", sorted(update_policy)[0]), key=True)
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

    # anything that needs no resource is computed now, so bad arguments fail at validation,
    # and a section already larger than the limit is refused before anything is stored
    static = b._static()
    cap = template.limits.max_function_result_size
    sections = [(("resources", name, section), section, parsed)
                for (name, section), parsed in b._parsed.items() if b._enabled[name]]
    sections += [(("outputs", name, "value"), "output value", parsed)
                 for name, (enabled, parsed) in b._outputs.items() if enabled]
    for path, what, parsed in sections:
        try:
            size = check_static(parsed, static, cap)
        except TemplateError:
            if path[0] == "outputs" and not b.features.output_errors_fail_create:
                continue   # CFN: the stack is created and the output shows output_error
            raise
        if size > cap:
            raise template.error(section_too_big(template.limits, what), path,
                                 "RequestLimitExceeded")
    return b


def _is_call(value: Any) -> bool:
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

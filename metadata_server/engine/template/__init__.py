"""HOT templates and environments, from text to resolved values (pure: no Flask, HTTP or store).

The engine core uses this interface and nothing deeper:

    tpl = parse_template(text, filename, files)           # YAML or JSON -> Template
    env = merge_environments([parse_environment(t, f) for f, t in env_files])
    bound = bind(tpl, env, user_params, StackIdentity(name, id, project))
    for defn in bound.resource_definitions():             # condition true, type mapped
        deps = bound.dependencies(defn.name)               # get_resource/get_attr + depends_on
        props = bound.resolve_properties(defn.name, ctx)   # ctx implements ResolveContext
    outputs = bound.outputs(ctx)                           # [{output_key, output_value, ...}]

* `parse_template` / `parse_environment` check structure and versions and keep every value's
  line and column, so later errors (bad parameter value, unknown function argument) still point
  at the file position. Errors are `TemplateError` (file, line, column, path, Heat's kind).
* `bind` validates and coerces parameters (constraints, hidden, immutable, pseudo parameters),
  evaluates conditions, applies the resource registry and checks every function's arguments;
  anything that needs no resource is computed then, so a bad `list_join` fails at validation.
* `ResolveContext` is what the engine implements to answer `get_resource`, `get_attr` and
  `resource_facade`; `bound.resolve(value, ctx)` resolves any parsed tree.
* Hidden parameters: `bound.mask(value)` replaces every hidden value (in strings too) with
  `******` for events, logs and stack show.

Adaptations of the suggested shape: `ResourceDefinition.properties` stays raw (JSON-able, for
storage and diffing); resolve it with `bound.resolve_properties(name, ctx)`, which uses the parsed
tree cached at bind time so errors keep their positions. The registry result is on the definition
(`type`, `provider_template`, `hooks`, `restricted_actions`).
"""
from __future__ import annotations

from .errors import TemplateError, format_path
from .model import OutputDefinition, ParameterSchema, ResourceDefinition, Template
from .loader import parse_template
from .environment import Environment, merge_environments, parse_environment
from .binding import HIDDEN_MASK, BoundTemplate, ResolveContext, StackIdentity
from .binder import bind, describe_template

__all__ = [
    "TemplateError", "format_path",
    "Template", "ResourceDefinition", "OutputDefinition", "ParameterSchema", "parse_template",
    "Environment", "parse_environment", "merge_environments",
    "BoundTemplate", "ResolveContext", "StackIdentity", "bind", "describe_template", "HIDDEN_MASK",
]

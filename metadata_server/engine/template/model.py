"""The parsed, still unresolved shape of a template: what `parse_template` returns."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from metadata_server.engine.limits import DEFAULT, Limits

from .errors import TemplateError


class Positions:
    """Line and column (1-based) of every value in a document, keyed by its path tuple."""

    def __init__(self, filename: str, table: dict[tuple, tuple[int, int]] | None = None,
                 keys: dict[tuple, tuple[int, int]] | None = None):
        self.filename = filename
        self.table = table or {}     # path -> where its value starts
        self.keys = keys or {}       # path -> where its key is written (mapping entries only)

    def locate(self, path: tuple, key: bool = False) -> tuple[int | None, int | None]:
        """The position of `path` (its key when `key`), or of its nearest ancestor's value."""
        path = tuple(path)
        if key and path in self.keys:
            return self.keys[path]
        while True:
            if path in self.table:
                return self.table[path]
            if not path:
                return None, None
            path = path[:-1]

    def error(self, message: str, path: tuple = (), kind: str = "StackValidationFailed",
              key: bool = False) -> TemplateError:
        """An error at `path`; `key` points at the key itself (unknown keys, function names)."""
        line, column = self.locate(path, key)
        return TemplateError(message, filename=self.filename, line=line, column=column,
                             path=path, kind=kind)


@dataclass
class ParameterSchema:
    """One entry of `parameters`: its declared type, default and constraints."""
    name: str
    type: str                      # string | number | comma_delimited_list | json | boolean
    default: Any = None
    has_default: bool = False
    description: str = ""
    label: str = ""
    hidden: bool = False
    immutable: bool = False
    constraints: list = field(default_factory=list)   # constraints.Constraint objects
    tags: list = field(default_factory=list)

    @property
    def required(self) -> bool:
        return not self.has_default


@dataclass
class ResourceDefinition:
    """One entry of `resources`.

    From `Template.resources`, `type` is as written and the other fields are raw. From
    `BoundTemplate.resource_definitions()`, `type` is mapped through the resource registry
    (`template_type` keeps the written one), `provider_template` names a nested template
    (a `files` key or URL) when the type is one, `depends_on` lists only enabled resources, and
    `update_policy`, `deletion_policy` and `external_id` are resolved. `properties` and `metadata`
    stay raw: resolve them with `BoundTemplate.resolve_properties/resolve_metadata`.
    """
    name: str
    type: str
    properties: Any = None
    depends_on: list[str] = field(default_factory=list)
    deletion_policy: str = "Delete"          # Delete | Retain | Snapshot (normalised case)
    update_policy: Any = None
    condition: Any = None                    # a condition name, a bool, an expression, or None
    metadata: Any = None
    external_id: Any = None
    description: str = ""
    template_type: str = ""
    provider_template: str | None = None
    hooks: tuple[str, ...] = ()
    restricted_actions: tuple[str, ...] = ()


@dataclass
class OutputDefinition:
    """One entry of `outputs` (raw)."""
    name: str
    value: Any = None
    description: str = "No description given"
    condition: Any = None


@dataclass
class Template:
    """A parsed template. `version` is the canonical date (aliases resolved); `format` says
    which format (HOT, CFN) read it and answers for its features and functions."""
    version: str
    description: str
    parameters: dict[str, ParameterSchema]
    parameter_groups: list
    resources: dict[str, ResourceDefinition]
    outputs: dict[str, OutputDefinition]
    conditions: dict[str, Any]
    raw: dict
    filename: str = "<template>"
    files: dict[str, str] = field(default_factory=dict)
    positions: Positions = field(default_factory=lambda: Positions("<template>"))
    limits: Limits = DEFAULT
    format: Any = None             # formats.TemplateFormat; None is HOT

    def error(self, message: str, path: tuple = (), kind: str = "StackValidationFailed",
              key: bool = False) -> TemplateError:
        """A TemplateError located at `path` in this template's file."""
        return self.positions.error(message, path, kind, key)

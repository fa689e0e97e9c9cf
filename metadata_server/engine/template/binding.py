"""A template bound to parameter values and an environment (stub, being built)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from .environment import Environment
from .model import ResourceDefinition, Template

HIDDEN_MASK = "******"


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
        """get_attr: attribute `attr` of `name` with `path` applied (None = all attributes).

        Return None while the resource is not ready (INIT/DELETE) and on a path that does not
        exist; `select_path` in this package applies a path the way Heat does.
        """

    def resource_facade(self, section: str) -> Any:
        """resource_facade: the parent resource's metadata, deletion_policy or update_policy."""


class BoundTemplate:
    """A validated template with parameter values, conditions and registry applied."""

    template: Template
    environment: Environment
    identity: StackIdentity

    def resource_definitions(self) -> list[ResourceDefinition]:
        """Enabled resources in template order, types mapped through the registry."""
        raise NotImplementedError

    def dependencies(self, name: str) -> set[str]:
        """Names `name` depends on: get_resource/get_attr in properties+metadata, depends_on."""
        raise NotImplementedError

    def resolve(self, value: Any, ctx: ResolveContext, path: tuple = ()) -> Any:
        """Resolve a raw value (functions included) against this binding and `ctx`."""
        raise NotImplementedError

    def resolve_properties(self, name: str, ctx: ResolveContext) -> Any:
        raise NotImplementedError

    def resolve_metadata(self, name: str, ctx: ResolveContext) -> Any:
        raise NotImplementedError

    def outputs(self, ctx: ResolveContext) -> list[dict]:
        """[{output_key, description, output_value[, output_error]}] honouring conditions."""
        raise NotImplementedError

    def parameter_values(self) -> dict[str, Any]:
        """Coerced values of every parameter (pseudo parameters included)."""
        raise NotImplementedError

    def mask(self, value: Any) -> Any:
        """`value` with every hidden parameter value replaced by `******` (also inside strings)."""
        raise NotImplementedError

    def check_update(self, previous: "BoundTemplate") -> None:
        """Reject changes to immutable parameters (Heat's message)."""
        raise NotImplementedError


def bind(template: Template, environment: Environment | None, user_params: dict | None,
         identity: StackIdentity, *, strict: bool = True) -> BoundTemplate:
    """Validate and bind. `strict=False` leaves required parameters unset (template-validate)."""
    raise NotImplementedError


def describe_template(template: Template, environment: Environment | None = None) -> dict:
    """Heat's template-validate body: Description, Parameters (CFN-style keys), ParameterGroups."""
    raise NotImplementedError

"""Environments: parameters, parameter_defaults, resource_registry; merging (stub, being built)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Environment:
    """A parsed environment. `registry` is the user resource_registry (raw mapping)."""
    parameters: dict[str, Any] = field(default_factory=dict)
    parameter_defaults: dict[str, Any] = field(default_factory=dict)
    resource_registry: dict[str, Any] = field(default_factory=dict)
    event_sinks: list = field(default_factory=list)
    encrypted_param_names: list = field(default_factory=list)
    parameter_merge_strategies: dict[str, Any] = field(default_factory=dict)
    filename: str = "<environment>"

    def child_for(self, resource_name: str) -> "Environment":
        """The environment a nested stack created by `resource_name` inherits (no parameters)."""
        raise NotImplementedError


def parse_environment(text: str | dict | None, filename: str = "<environment>") -> Environment:
    """Parse an environment given as YAML/JSON text or an already decoded mapping."""
    raise NotImplementedError


def merge_environments(envs: list[Environment], param_types: dict[str, str] | None = None
                       ) -> Environment:
    """Merge environment files in order (Heat's overwrite / merge / deep_merge strategies)."""
    raise NotImplementedError

"""What a resource plugin may use: the store, the clock, its stack, the cloud driver, URLs,
the limits, and two narrow engine services: nested stacks and finding a resource.

Plugins never see the Engine. The services are Protocols: nested_stacks.NestedStacks answers
ChildStacks and reads.StackReads answers ResourceFinder (runtimes.RuntimeFactory.context is the
one place that hands them to plugins), and plugin_fakes.py answers them in memory for unit tests
of a resource.
"""
from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from metadata_server.engine.limits import Limits
from metadata_server.service.endpoints import Endpoints
from metadata_server.service.clock import Clock
from metadata_server.store import Store

if TYPE_CHECKING:  # pragma: no cover
    from metadata_server.engine.drivers.base import CloudDriver
    from metadata_server.engine.walker import CancelToken


class ChildStacks(Protocol):
    """Nested stacks owned by a resource (provider templates, groups). Each call runs on the
    calling resource's thread with its cancel token, and raises when the child stack fails."""

    def create_child(self, ctx: PluginContext, resource_name: str, definition: dict) -> str:
        """Store a new child stack of ctx's stack (not yet created); its id."""

    def run_child_create(self, child_id: str, token: CancelToken) -> None:
        """Create the stored child stack's resources."""

    def update_child(self, child_id: str, definition: dict, token: CancelToken,
                     claimed: dict | None = None) -> None:
        """Update the child, once no other operation of it runs (waiting for one, e.g. a
        resize on another node), or at once with `claimed`, what claim_child returned."""

    def delete_child(self, child_id: str, token: CancelToken) -> None:
        """Delete the child, once no other operation of it runs."""

    def claim_child(self, child_id: str, action: str = "UPDATE") -> dict | None:
        """Claim the child for an operation of this engine, in the database, unless one of
        it runs (on any engine of any node): its row as it was, or None."""

    def release_child(self, child_id: str, previous: dict) -> None:
        """Give back a claim no operation used."""

    def suspend_child(self, child_id: str, action: str, token: CancelToken) -> None:
        """action: SUSPEND or RESUME."""

    def refresh_facade(self, child_id: str) -> None:
        """Hand the child its parent resource's current metadata and policies (what
        resource_facade answers) when only those changed and the child is not updated."""

    def child_can_continue(self, child_id: str, action: str) -> bool:
        """Whether the child's operation an engine restart interrupted can be continued."""

    def continue_child(self, child_id: str, token: CancelToken) -> None:
        ...

    def child_outputs(self, child_id: str) -> dict:
        """Output name -> value of the child stack ({} when there is none)."""

    def child_attribute(self, child_id: str, member: str, attr: str | None) -> Any:
        """A member resource's attribute (`a.b.c` is a path), or its reference id if None."""


class ResourceFinder(Protocol):
    def find_resource(self, stack_id: str, name_or_physical: str) -> dict | None:
        """The current row of a resource of the stack, by name or physical id."""

    def get_stack(self, tenant: str, name_or_id: str) -> dict:
        """A stack's row (a nested stack's name, for its ARN); raises StackNotFound."""

    def resource_metadata(self, stack: dict, name: str) -> Any:
        """A resource's template metadata, resolved ({} when it has none)."""


@dataclass
class PluginContext:
    store: Store
    clock: Clock
    tenant: str
    stack_id: str
    stack_name: str
    endpoints: Endpoints
    driver: "CloudDriver"
    children: ChildStacks
    finder: ResourceFinder
    limits: Limits
    poll_interval: float = 0.2       # how often a waiting resource re-reads the store
    definition: dict | None = None   # the stack's stored definition (files, environment)
    parent_facade: Any = None        # for resource_facade inside a nested stack

    @staticmethod
    def short_id() -> str:
        alphabet = string.ascii_lowercase + string.digits
        return "".join(secrets.choice(alphabet) for _ in range(12))

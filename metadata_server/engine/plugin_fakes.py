"""In-memory stand-ins for the engine services a resource plugin uses (context.py's Protocols),
so one resource type can be unit-tested without an Engine, a store or a walker."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from metadata_server.engine.context import PluginContext
from metadata_server.engine.limits import DEFAULT, Limits
from metadata_server.service.endpoints import LOCAL


@dataclass
class FakeChild:
    definition: dict
    state: str = "STORED"          # then CREATED, UPDATED, DELETED, SUSPENDED, RESUMED
    outputs: dict = field(default_factory=dict)
    # member -> its reference id (under None) and its attributes by name
    members: dict[str, dict[str | None, Any]] = field(default_factory=dict)


class FakeChildStacks:
    """ChildStacks kept in a dict: what a resource asked for is read back from `children`;
    what it should see (outputs, member attributes) is set there by the test."""

    def __init__(self):
        self.children: dict[str, FakeChild] = {}
        self.calls: list[tuple] = []
        self.busy: set[str] = set()  # claimed (an operation of the child runs)

    def create_child(self, ctx, resource_name, definition):
        child_id = f"{ctx.stack_id}/{resource_name}/{len(self.children)}"
        self.children[child_id] = FakeChild(definition)
        self.calls.append(("create", child_id))
        return child_id

    def run_child_create(self, child_id, token):
        self.calls.append(("run_create", child_id))
        self.children[child_id].state = "CREATED"

    def update_child(self, child_id, definition, token, claimed=None):
        if claimed is None and child_id in self.busy:
            raise AssertionError(f"{child_id} is claimed: a real engine would wait")
        self.busy.discard(child_id)
        self.calls.append(("update", child_id))
        self.children[child_id].definition = definition
        self.children[child_id].state = "UPDATED"

    def delete_child(self, child_id, token):
        self.calls.append(("delete", child_id))
        self.children[child_id].state = "DELETED"

    def claim_child(self, child_id, action="UPDATE"):
        if child_id in self.busy:
            return None
        self.busy.add(child_id)
        return {"id": child_id, "action": "CREATE", "status": "COMPLETE"}

    def release_child(self, child_id, previous):
        self.busy.discard(child_id)

    def suspend_child(self, child_id, action, token):
        self.calls.append((action.lower(), child_id))
        self.children[child_id].state = action + "ED"

    def refresh_facade(self, child_id):
        self.calls.append(("refresh_facade", child_id))

    def child_can_continue(self, child_id, action):
        return False

    def continue_child(self, child_id, token):
        raise NotImplementedError("the fake has no interrupted operations")

    def child_outputs(self, child_id):
        child = self.children.get(child_id)
        return dict(child.outputs) if child is not None else {}

    def child_attribute(self, child_id, member, attr):
        values = self.children[child_id].members.get(member, {})
        if attr is None or attr in values:
            return values.get(attr)
        parts = attr.split(".")
        value = values.get(parts[0])
        for key in parts[1:]:
            value = value.get(key) if isinstance(value, dict) else None
        return value


class FakeResourceFinder:
    """ResourceFinder over rows a test puts in `rows[stack_id][name]`."""

    def __init__(self):
        self.rows: dict[str, dict[str, dict]] = {}
        self.stacks: dict[str, dict] = {}   # id -> row

    def get_stack(self, tenant, name_or_id):
        from metadata_server.engine.errors import StackNotFound
        if name_or_id not in self.stacks:
            raise StackNotFound(name_or_id)
        return self.stacks[name_or_id]

    def find_resource(self, stack_id, name_or_physical):
        rows = self.rows.get(stack_id, {})
        if name_or_physical in rows:
            return rows[name_or_physical]
        return next((r for r in rows.values() if r.get("physical_id") == name_or_physical), None)

    def resource_metadata(self, stack, name):
        return (self.rows.get(stack["id"], {}).get(name) or {}).get("metadata") or {}


def fake_context(*, stack_id: str = "stack-1", stack_name: str = "stack", tenant: str = "t1",
                 limits: Limits = DEFAULT, definition: dict | None = None,
                 now: datetime = datetime(2026, 1, 1)) -> PluginContext:
    """A PluginContext with the fakes above, a fixed clock and no store or cloud driver."""
    return PluginContext(None, lambda: now, tenant, stack_id, stack_name, LOCAL, None,
                         children=FakeChildStacks(), finder=FakeResourceFinder(), limits=limits,
                         poll_interval=0.0, definition=definition)

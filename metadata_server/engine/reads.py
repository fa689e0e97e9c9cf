"""What the API reads of a stack: rows, resources, events, outputs, attributes, parameters and
Heat's export. A stack with an operation running here is read from its live runtime (what the
walk has just done, not yet written); any other from the store.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from metadata_server.engine import status as st
from metadata_server.engine.errors import StackNotFound
from metadata_server.engine.stack_data import stack_data
from metadata_server.store.event_query import EventQuery
from metadata_server.store.event_sinks_spec import masked_stack_data

if TYPE_CHECKING:  # pragma: no cover
    from metadata_server.engine.runner import OperationRunner
    from metadata_server.engine.runtimes import RuntimeFactory
    from metadata_server.engine.state import StackRuntime
    from metadata_server.engine.store_seam import EngineStore


class StackReads:
    """Also the ResourceFinder resource plugins are given (find_resource)."""

    def __init__(self, stacks: EngineStore, runner: OperationRunner, runtimes: RuntimeFactory):
        self.stacks, self.runner, self.runtimes = stacks, runner, runtimes

    def runtime(self, stack: dict) -> StackRuntime:
        """The live runtime of the stack, else one loaded from the store."""
        return self.runner.runtime(stack["id"]) or self.runtimes.load(stack)

    def get_stack(self, tenant: str, name_or_id: str) -> dict:
        row = self.stacks.find_stack(tenant, name_or_id)
        if row is None:
            raise StackNotFound(name_or_id)
        return row

    def list_stacks(self, tenant: str, **filters) -> list[dict]:
        return self.stacks.list_stacks(tenant, **filters)

    def resources(self, stack: dict) -> list[dict]:
        rt = self.runner.runtime(stack["id"])
        if rt is not None:
            with rt.lock:
                return [dict(r) for r in rt.current.values()]
        return [r for r in self.stacks.resources(stack["id"]) if not r.get("replaced_by")]

    def events(self, stack: dict, resource: str | None = None,
               query: EventQuery = EventQuery()) -> list[dict]:
        for stack_id in (stack["id"], *query.nested):
            rt = self.runner.runtime(stack_id)
            if rt is not None:
                rt.recorder.flush()
        return self.stacks.events(stack["id"], resource, query)

    def nested_stacks(self, stack: dict, depth: int) -> list[dict]:
        """The live stacks nested in `stack` down to `depth` levels (1: its children), parents
        before their children."""
        found, level = [], [stack]
        for _ in range(max(0, depth)):
            level = [child for parent in level for child in self.stacks.children(parent["id"])]
            if not level:
                break
            found.extend(level)
        return found

    def find_resource(self, stack_id: str, name_or_physical: str) -> dict | None:
        rt = self.runner.runtime(stack_id)
        if rt is not None:
            return rt.find(name_or_physical)
        for row in self.stacks.resources(stack_id):
            if not row.get("replaced_by") and name_or_physical in (row["name"], row["physical_id"]):
                return row
        return None

    def outputs(self, stack: dict, key: str | None = None) -> list[dict]:
        if stack["action"] == st.DELETE and stack["status"] == st.COMPLETE:
            return []
        rt = self.runtime(stack)
        if rt.bound is None:
            return []
        outputs = rt.bound.outputs(rt.resolver)
        if key is not None:
            outputs = [o for o in outputs if o["output_key"] == key]
        return rt.mask(outputs)

    def resource_attribute(self, stack: dict, name: str, attr: str) -> Any:
        rt = self.runtime(stack)
        return rt.mask(rt.resolver.attribute(name, attr, ()))

    def resource_metadata(self, stack: dict, name: str) -> Any:
        rt = self.runtime(stack)
        if rt.bound is None or name not in rt.definitions:
            return {}
        return rt.bound.resolve_metadata(name, rt.resolver) or {}

    def parameters(self, stack: dict) -> dict:
        rt = self.runtime(stack)
        try:
            values = rt.bound.parameter_values() if rt.bound is not None else {}
        except NotImplementedError:
            values = {}
        return rt.mask({k: v if isinstance(v, str) else _text(v) for k, v in values.items()})

    def export_stack(self, tenant: str, name_or_id: str) -> dict:
        """Heat's export: the abandon body without deleting anything, hidden values masked."""
        stack = self.get_stack(tenant, name_or_id)
        # a webhook sink's secret is the tenant's signing key: shown masked, as hidden values
        return self.runtime(stack).mask(masked_stack_data(self.stack_data(stack)))

    def stack_data(self, stack: dict) -> dict:
        """Heat's abandon body (stack_data.py), unmasked: what abandon and snapshots keep."""
        return stack_data(stack, self.resources(stack), self.runtime(stack))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return json.dumps(value) if isinstance(value, (dict, list)) else str(value)

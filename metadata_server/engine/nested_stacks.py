"""Nested stacks for resource plugins (provider templates, groups): the Engine's child calls.

A child stack runs on the parent resource's walker thread, with the parent operation's cancel
token (so the stack timeout covers it), and raises when it fails so the parent resource fails.
"""
from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from metadata_server.engine import status as st
from metadata_server.engine.context import PluginContext
from metadata_server.engine.errors import RequestLimitExceeded
from metadata_server.engine.limits import named
from metadata_server.engine.loader import bind_definition
from metadata_server.engine.stack_tree import check_tree
from metadata_server.engine.state import StackRuntime
from metadata_server.engine.walker import CancelToken

if TYPE_CHECKING:  # pragma: no cover
    import threading

    from metadata_server.engine.limits import Limits
    from metadata_server.engine.parse_cache import ParseCache
    from metadata_server.service.clock import Clock
    from metadata_server.store.stacks import StackStore


class ChildStackFailed(Exception):
    error_type = "Error"


class NestedStacks:
    """Mixed into Engine, which sets the state declared here and provides the operation steps
    (_prepare_create, _prepare_update, _load, _graph, _begin, _create, _update, _delete,
    _run_suspend_or_resume, outputs)."""

    limits: Limits
    parse_cache: ParseCache
    stacks: StackStore
    clock: Clock
    engine_id: str
    _lock: threading.RLock                # guards _runtimes and _counted
    _runtimes: dict[str, StackRuntime]    # stack id -> the runtime of its running operation
    _counted: set[str]                    # top-level stacks whose whole tree was counted

    def bind(self, definition: dict, identity, **options):
        """bind_definition under this engine's limits, each text parsed once for all stacks
        (a group's members, a tree being counted)."""
        return bind_definition(definition, identity, limits=self.limits,
                               cache=self.parse_cache, **options)

    def check_stack_quota(self, tenant: str) -> None:
        """Heat's max_stacks_per_tenant: top-level stacks not deleted."""
        limit = self.limits.max_stacks_per_tenant
        if self.stacks.count_stacks(tenant) >= limit:
            raise RequestLimitExceeded(
                f"You have reached the maximum stacks per tenant, {limit}. Please delete some "
                f"stacks. ({named(self.limits, 'max_stacks_per_tenant')})")

    def check_tree(self, rt: StackRuntime) -> None:
        """Before a top-level stack is stored (create or update): the whole tree of nested
        stacks it would make stays within the resource and depth limits."""
        complete = check_tree(rt.bound, rt.stack["definition"], self.bind, self.limits)
        with self._lock:
            (self._counted.add if complete else self._counted.discard)(rt.stack["id"])

    def _root(self, stack_id: str) -> tuple[int, str | None]:
        """(depth of the stack, id of its top-level stack)."""
        depth, row = 0, self.stacks.get_stack(stack_id)
        while row is not None and row.get("parent_id"):
            depth += 1
            row = self.stacks.get_stack(row["parent_id"])
        return depth, row["id"] if row is not None else None

    def _stored(self, root_id: str | None) -> int:
        """Resources stored in the whole tree below a top-level stack."""
        count, queue = 0, [root_id] if root_id is not None else []
        while queue:
            current = queue.pop()
            count += sum(1 for r in self.stacks.resources(current) if not r.get("replaced_by"))
            queue.extend(child["id"] for child in self.stacks.children(current))
        return count

    def _check_child(self, parent_id: str, where: str, rt: StackRuntime,
                     replacing: str | None = None) -> None:
        """A nested stack about to be created below `parent_id` (or `replacing` one about to be
        updated): what could not be counted before the top-level stack was stored (a group
        count from an attribute) is counted now, against the rest of the stored tree."""
        depth, root_id = self._root(parent_id)
        if depth + 1 > self.limits.max_nested_depth:
            raise RequestLimitExceeded(
                f"{where}: Recursion depth exceeds {self.limits.max_nested_depth}. "
                f"({named(self.limits, 'max_nested_depth')})")
        with self._lock:
            counted = root_id in self._counted
        if counted:   # counting the stored tree costs queries: only when it is needed
            return
        elsewhere = self._stored(root_id) - (self._stored(replacing) if replacing else 0)
        check_tree(rt.bound, rt.stack["definition"], self.bind, self.limits,
                   depth=depth + 1, already=elsewhere, trail=where)

    def create_child(self, ctx: PluginContext, resource_name: str, definition: dict) -> str:
        now = self.clock()
        parent = self.stacks.get_stack(ctx.stack_id) or {}
        stack = {"id": str(uuid.uuid4()), "tenant": ctx.tenant,
                 "name": f"{ctx.stack_name}-{resource_name}-{ctx.short_id()}",
                 "parent_id": ctx.stack_id, "parent_resource": resource_name,
                 "definition": definition, "previous_definition": None, "action": st.CREATE,
                 "status": st.IN_PROGRESS, "status_reason": "Stack CREATE started",
                 "created_at": now, "updated_at": None, "deleted_at": None,
                 "engine_id": self.engine_id, "heartbeat_at": now, "timeout_mins": None,
                 "disable_rollback": True, "tags": None}
        rt = self._prepare_create(stack, ctx.endpoints)
        self._check_child(ctx.stack_id, f"{ctx.stack_name}: resources.{resource_name}", rt)
        rt.ctx.parent_facade = {"metadata": None, "deletion_policy": "Delete",
                                "update_policy": None, "parent": parent.get("name")}
        self.stacks.insert_stack(stack)
        with self._lock:
            self._runtimes[stack["id"]] = rt
        return stack["id"]

    def _run_child(self, rt: StackRuntime, run) -> None:
        with self._lock:
            self._runtimes[rt.stack["id"]] = rt
        rt.recorder.start()
        try:
            run()
        finally:
            rt.recorder.stop()
            with self._lock:
                self._runtimes.pop(rt.stack["id"], None)

    def run_child_create(self, child_id: str, token: CancelToken) -> None:
        rt = self._runtimes[child_id]
        self._run_child(rt, lambda: self._create(rt, token, False))

    def update_child(self, child_id: str, definition: dict, token: CancelToken) -> None:
        stack = self.stacks.get_stack(child_id)
        rt = self._prepare_update(stack, definition, None)
        if stack.get("parent_id"):
            self._check_child(stack["parent_id"], stack["name"], rt, replacing=child_id)
        self.stacks.update_stack(child_id, {"previous_definition": stack["definition"],
                                            "definition": definition})
        rt.stack.update(definition=definition, previous_definition=stack["definition"])
        self._begin(rt, st.UPDATE)
        self._run_child(rt, lambda: self._update(rt, token, False))

    def delete_child(self, child_id: str, token: CancelToken) -> None:
        stack = self.stacks.get_stack(child_id)
        if stack is None or (stack["action"] == st.DELETE and stack["status"] == st.COMPLETE):
            return
        rt = self._load(stack)
        self._begin(rt, st.DELETE)
        self._run_child(rt, lambda: self._delete(rt, token))

    def suspend_child(self, child_id: str, action: str, token: CancelToken) -> None:
        stack = self.stacks.get_stack(child_id)
        if stack is None:
            return
        rt = self._load(stack)
        graph = self._graph(rt.bound)
        self._begin(rt, action)

        def run():
            self._run_suspend_or_resume(rt, token, action,
                                        graph.reversed() if action == st.SUSPEND else graph)
            if rt.stack["status"] == st.FAILED:
                raise ChildStackFailed(rt.stack["status_reason"])
        self._run_child(rt, run)

    def child_outputs(self, child_id: str) -> dict:
        stack = self.stacks.get_stack(child_id)
        if stack is None:
            return {}
        return {o["output_key"]: o.get("output_value") for o in self.outputs(stack)}

    def child_attribute(self, child_id: str, member: str, attr: str | None) -> Any:
        rt = self._runtimes.get(child_id)
        if rt is None:
            stack = self.stacks.get_stack(child_id)
            if stack is None:
                return None
            rt = self._load(stack)
        if attr is None:
            return rt.resolver.resource_id(member)
        parts = attr.split(".")
        return rt.resolver.attribute(member, parts[0], tuple(parts[1:]))


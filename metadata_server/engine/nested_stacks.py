"""Nested stacks for resource plugins (provider templates, groups): the Engine's child calls.

A child stack runs on the parent resource's walker thread, with the parent operation's cancel
token (so the stack timeout covers it), and raises when it fails so the parent resource fails.
"""
from __future__ import annotations

import uuid
from typing import Any

from metadata_server.engine import status as st
from metadata_server.engine.context import PluginContext
from metadata_server.engine.errors import StackValidationFailed
from metadata_server.engine.state import StackRuntime
from metadata_server.engine.walker import CancelToken

MAX_NESTED_DEPTH = 5


class ChildStackFailed(Exception):
    error_type = "Error"


class NestedStacks:
    """Mixed into Engine."""

    def _depth(self, stack_id: str) -> int:
        depth, row = 0, self.stacks.get_stack(stack_id)
        while row is not None and row.get("parent_id"):
            depth += 1
            row = self.stacks.get_stack(row["parent_id"])
        return depth

    def create_child(self, ctx: PluginContext, resource_name: str, definition: dict) -> str:
        if self._depth(ctx.stack_id) + 1 > MAX_NESTED_DEPTH:
            raise StackValidationFailed(f"Recursion depth exceeds {MAX_NESTED_DEPTH}.")
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


"""Nested stacks for resource plugins (provider templates, groups): the ChildStacks service.

A child stack runs on the parent resource's walker thread, with the parent operation's cancel
token (so the stack timeout covers it), and raises when it fails so the parent resource fails.
"""
from __future__ import annotations

import threading
import uuid
from typing import TYPE_CHECKING, Any

from metadata_server.engine import status as st
from metadata_server.engine.errors import ChildStackFailed
from metadata_server.engine.recovery import STACK_INTERRUPTED, stack_interrupted
from metadata_server.engine.validation import suspend_graph
from metadata_server.engine.walker import CancelToken
from metadata_server.store.stack_records import StackRecord

if TYPE_CHECKING:  # pragma: no cover
    from metadata_server.engine.context import PluginContext
    from metadata_server.engine.reads import StackReads
    from metadata_server.engine.recovery import Recovery
    from metadata_server.engine.runner import OperationRunner
    from metadata_server.engine.runtimes import RuntimeFactory
    from metadata_server.engine.steps import Steps
    from metadata_server.engine.store_seam import EngineStore
    from metadata_server.engine.tree_limits import TreeLimits
    from metadata_server.service.clock import Clock

__all__ = ["ChildStackFailed", "NestedStacks"]


class NestedStacks:
    """Implements context.ChildStacks."""

    def __init__(self, stacks: EngineStore, clock: Clock, engine_id: str, *,
                 runner: OperationRunner, runtimes: RuntimeFactory, steps: Steps,
                 tree: TreeLimits, recovery: Recovery, reads: StackReads):
        self.stacks, self.clock, self.engine_id = stacks, clock, engine_id
        self.runner, self.runtimes, self.steps = runner, runtimes, steps
        self.tree, self.recovery, self.reads = tree, recovery, reads
        self._lock = threading.Lock()
        self._updating: dict[str, CancelToken] = {}  # child id -> its running update's token

    def create_child(self, ctx: PluginContext, resource_name: str, definition: dict) -> str:
        definition = self._with_facade(ctx.stack_id, resource_name, definition)
        record = StackRecord.creating(
            str(uuid.uuid4()), ctx.tenant, f"{ctx.stack_name}-{resource_name}-{ctx.short_id()}",
            definition, self.clock(), self.engine_id, parent_id=ctx.stack_id,
            parent_resource=resource_name)
        stack = record.as_row()
        rt = self.runtimes.prepare_create(stack, ctx.endpoints)
        self.tree.check_child(ctx.stack_id, f"{ctx.stack_name}: resources.{resource_name}", rt)
        self.stacks.insert_stack(record)
        self.runner.register(rt)
        return record.id

    def _with_facade(self, parent_id: str, resource_name: str, definition: dict) -> dict:
        """The child's definition with what resource_facade answers inside it: the parent
        resource's metadata (resolved), deletion policy and update policy, as the parent's
        running operation has them. Kept with the definition, so every later read of the child
        (outputs, attributes, a restart) answers the same without the parent's template."""
        parent = self.runner.runtime(parent_id)
        defn = parent.definitions.get(resource_name) if parent is not None else None
        if defn is None:
            return definition
        metadata = parent.bound.resolve_metadata(resource_name, parent.resolver)
        return dict(definition, facade={"metadata": metadata or {},
                                        "deletion_policy": defn.deletion_policy,
                                        "update_policy": defn.update_policy or {}})

    def refresh_facade(self, child_id: str) -> None:
        stack = self.stacks.get_stack(child_id)
        if stack is None or not stack.get("parent_id"):
            return
        definition = self._with_facade(stack["parent_id"], stack["parent_resource"],
                                       stack["definition"])
        if definition.get("facade") != stack["definition"].get("facade"):
            self.stacks.update_stack(child_id, {"definition": definition})

    def run_child_create(self, child_id: str, token: CancelToken) -> None:
        rt = self.runner.runtime(child_id)
        self.runner.run_nested(rt, lambda: self.steps.create(rt, token, False))

    def update_child(self, child_id: str, definition: dict, token: CancelToken,
                     claimed: dict | None = None) -> None:
        stack = claimed or self._claim_waiting(child_id, st.UPDATE, token)
        try:
            if stack.get("parent_id"):
                definition = self._with_facade(stack["parent_id"], stack["parent_resource"],
                                               definition)
            if "facade" not in definition and "facade" in stack["definition"]:
                # no parent operation is running (a policy signal resizes a group): the
                # facade it handed over stands
                definition = dict(definition, facade=stack["definition"]["facade"])
            rt = self.runtimes.prepare_update(stack, definition, None)
            if stack.get("parent_id"):
                self.tree.check_child(stack["parent_id"], stack["name"], rt,
                                      replacing=child_id)
        except BaseException:
            self.release_child(child_id, stack)  # the update never started
            raise
        self.stacks.update_stack(child_id, {"previous_definition": stack["definition"],
                                            "definition": definition})
        rt.stack.update(definition=definition, previous_definition=stack["definition"])
        self.runner.begin(rt, st.UPDATE)
        with self._lock:
            self._updating[child_id] = token
        try:
            self.runner.run_nested(rt, lambda: self.steps.update(rt, token, False))
        finally:
            with self._lock:
                self._updating.pop(child_id, None)

    def delete_child(self, child_id: str, token: CancelToken) -> None:
        stack = self.stacks.get_stack(child_id)
        if stack is None or (stack["action"] == st.DELETE and stack["status"] == st.COMPLETE):
            return
        with self._lock:
            running = self._updating.get(child_id)
        if running is not None:  # a resize here, outside any operation: the delete stops it
            running.cancel("Stack DELETE started")
        stack = self._claim_waiting(child_id, st.DELETE, token)
        try:
            rt = self.runtimes.load(stack)
        except BaseException:
            self.release_child(child_id, stack)
            raise
        self.runner.begin(rt, st.DELETE)
        self.runner.run_nested(rt, lambda: self.steps.delete(rt, token))

    # -- a nested stack's operation lock, held in the database --------------------------------
    # A group's resize runs outside any operation of its stack, on whichever engine of whichever
    # node took the signal: claiming the nested stack (compare-and-swap on its status) is what
    # keeps two resizes, or a resize and a stack update or delete, off one group.
    def claim_child(self, child_id: str, action: str = st.UPDATE) -> dict | None:
        """Mark the nested stack `action` IN_PROGRESS for this engine unless an operation of
        it runs; its row as it was before, or None."""
        stack = self.stacks.get_stack(child_id)
        if stack is None or stack["status"] == st.IN_PROGRESS:
            return None
        now = self.clock()
        if not self.stacks.update_stack(child_id, {
                "action": action, "status": st.IN_PROGRESS,
                "status_reason": f"Stack {action} started", "engine_id": self.engine_id,
                "heartbeat_at": now}, unless_status=st.IN_PROGRESS):
            return None
        return stack

    def release_child(self, child_id: str, previous: dict) -> None:
        """Give back a claim no operation used: the nested stack's state as it was."""
        self.stacks.update_stack(child_id, {
            "action": previous["action"], "status": previous["status"],
            "status_reason": previous.get("status_reason"), "engine_id": None})

    def _claim_waiting(self, child_id: str, action: str, token: CancelToken) -> dict:
        """Claim the nested stack, waiting while another operation (a resize) holds it."""
        while True:
            stack = self.claim_child(child_id, action)
            if stack is not None:
                return stack
            if self.stacks.get_stack(child_id) is None:
                raise ChildStackFailed(f"nested stack {child_id} is gone")
            token.wait(max(0.01, self.runtimes.poll_interval))
            token.check()

    def suspend_child(self, child_id: str, action: str, token: CancelToken) -> None:
        if self.stacks.get_stack(child_id) is None:
            return
        stack = self._claim_waiting(child_id, action, token)  # after a running resize
        try:
            rt = self.runtimes.load(stack)
            graph = suspend_graph(rt.bound, action)
        except BaseException:
            self.release_child(child_id, stack)
            raise
        self.runner.begin(rt, action)

        def run():
            self.steps.suspend_or_resume(rt, token, action, graph)
            if rt.stack["status"] == st.FAILED:
                raise ChildStackFailed(rt.stack["status_reason"])
        self.runner.run_nested(rt, run)

    def child_outputs(self, child_id: str) -> dict:
        stack = self.stacks.get_stack(child_id)
        if stack is None:
            return {}
        return {o["output_key"]: o.get("output_value") for o in self.reads.outputs(stack)}

    def child_attribute(self, child_id: str, member: str, attr: str | None) -> Any:
        rt = self.runner.runtime(child_id)
        if rt is None:
            stack = self.stacks.get_stack(child_id)
            if stack is None:
                return None
            rt = self.runtimes.load(stack)
        if attr is None:
            return rt.resolver.resource_id(member)
        parts = attr.split(".")
        return rt.resolver.attribute(member, parts[0], tuple(parts[1:]))

    # -- nested stacks of a continuing resource ----------------------------------------------
    def child_can_continue(self, child_id: str, action: str) -> bool:
        """Whether a nested stack's `action` can be finished rather than redone: it completed,
        or an engine restart interrupted it."""
        child = self.stacks.get_stack(child_id)
        return child is not None and child["action"] == action and (
            child["status"] == st.COMPLETE or stack_interrupted(child))

    def continue_child(self, child_id: str, token: CancelToken) -> None:
        """Finish a nested stack's interrupted operation on the parent resource's thread (its
        own interrupted resources continue in turn); raise if it fails."""
        child = self.stacks.get_stack(child_id)
        if child["status"] == st.COMPLETE:
            return
        prepared = self.recovery.resumption(child)
        if prepared is None:
            raise ChildStackFailed(STACK_INTERRUPTED.format(action=child["action"]))
        rt, run = prepared

        def run_and_check() -> None:
            run(token, None)
            if rt.stack["status"] == st.FAILED:  # suspend and check do not raise themselves
                raise ChildStackFailed(rt.stack["status_reason"])
        self.runner.run_nested(rt, run_and_check)

"""The requests that change a stack: create, update, delete, check, suspend, resume, cancel,
mark unhealthy and signal.

Each validates synchronously (bad input raises before anything is stored), claims the stack,
then hands the walk (steps.py) to the runner, which queues it on the engine's budget.
"""
from __future__ import annotations

import logging
import threading
import uuid
from typing import TYPE_CHECKING, Any

from metadata_server.engine import status as st
from metadata_server.engine.definition import definition_from_body, stack_name, stack_options
from metadata_server.engine.errors import ActionInProgress, StackExists, StackNotFound
from metadata_server.engine.operations import HOOKS
from metadata_server.engine.operations import _checkpoints as checkpoints
from metadata_server.engine.resources.base import Forward
from metadata_server.engine.validation import suspend_graph
from metadata_server.service.errors import InvalidInput
from metadata_server.store.stack_records import StackRecord

log = logging.getLogger("stoker.engine")

if TYPE_CHECKING:  # pragma: no cover
    from metadata_server.engine.reads import StackReads
    from metadata_server.engine.runner import OperationRunner
    from metadata_server.engine.runtimes import RuntimeFactory
    from metadata_server.engine.signal_pool import SignalPool
    from metadata_server.engine.steps import Steps
    from metadata_server.engine.store_seam import EngineStore
    from metadata_server.engine.tree_limits import TreeLimits
    from metadata_server.service.clock import Clock
    from metadata_server.service.endpoints import Endpoints


class StackActions:
    def __init__(self, stacks: EngineStore, clock: Clock, engine_id: str, *,
                 runner: OperationRunner, runtimes: RuntimeFactory, steps: Steps,
                 tree: TreeLimits, reads: StackReads, max_events_per_stack: int,
                 signals: SignalPool):
        self.stacks, self.clock, self.engine_id = stacks, clock, engine_id
        self.signals = signals  # where a forwarded signal's work (a resize) runs
        self.runner, self.runtimes, self.steps = runner, runtimes, steps
        self.tree, self.reads = tree, reads
        self.max_events_per_stack = max_events_per_stack

    # -- create, update, delete --------------------------------------------------------------
    def create_stack(self, tenant: str, body: dict, endpoints: Endpoints | None = None) -> dict:
        name = stack_name(body)
        definition = definition_from_body(body)
        options = stack_options(body)
        if self.stacks.find_stack(tenant, name) is not None:
            raise StackExists(name)
        self.tree.check_stack_quota(tenant)
        record = StackRecord.creating(str(uuid.uuid4()), tenant, name, definition, self.clock(),
                                      self.engine_id, **options)
        stack = record.as_row()
        rt = self.runtimes.prepare_create(stack, endpoints)
        self.tree.check_tree(rt)
        self.stacks.insert_stack(record)
        self.runner.start(rt, st.CREATE, lambda op: self.steps.create(
            op.runtime, op.token, not stack["disable_rollback"]))
        return stack

    def update_stack(self, tenant: str, name_or_id: str, body: dict, *, patch: bool = False,
                     endpoints: Endpoints | None = None) -> dict:
        stack = self.reads.get_stack(tenant, name_or_id)
        self.runner.require_idle(stack)
        definition = definition_from_body(body, stack["definition"], patch)
        options = stack_options(body, stack if patch else {"disable_rollback":
                                                           stack["disable_rollback"]})
        if body.get("rollback") is not None:
            options["disable_rollback"] = not body["rollback"]
        rt = self.runtimes.prepare_update(stack, definition, endpoints)
        self.tree.check_tree(rt)
        claimed = self.stacks.update_stack(stack["id"], {
            "action": st.UPDATE, "status": st.IN_PROGRESS, "status_reason": "Stack UPDATE started",
            "previous_definition": stack["definition"], "definition": definition,
            "updated_at": self.clock(), "engine_id": self.engine_id,
            "heartbeat_at": self.clock(), **options}, unless_status=st.IN_PROGRESS)
        if not claimed:
            raise ActionInProgress(stack["name"], stack["action"])
        rt.stack.update(self.stacks.get_stack(stack["id"]))
        rt.ctx.definition = definition
        rt.stack_event(st.UPDATE, st.IN_PROGRESS, "Stack UPDATE started")
        self.runner.start(rt, st.UPDATE, lambda op: self.steps.update(
            op.runtime, op.token, not rt.stack["disable_rollback"], op))
        return rt.stack

    def delete_stack(self, tenant: str, name_or_id: str,
                     endpoints: Endpoints | None = None) -> None:
        stack = self.reads.get_stack(tenant, name_or_id)
        if stack["action"] == st.DELETE and stack["status"] == st.COMPLETE:
            raise StackNotFound(name_or_id)
        running = self.runner.operation(stack["id"])
        if running is not None:
            # Heat stops the running operation, then deletes
            running.token.cancel("Stack DELETE started")
            running.done.wait()
            stack = self.stacks.get_stack(stack["id"])
        elif stack["status"] == st.IN_PROGRESS and stack["action"] != st.DELETE:
            raise ActionInProgress(stack["name"], stack["action"])
        rt = self.runtimes.load(stack, endpoints=endpoints)
        self.runner.begin(rt, st.DELETE)
        self.runner.start(rt, st.DELETE, lambda op: self.steps.delete(op.runtime, op.token))

    # -- check, suspend, resume, cancel ------------------------------------------------------
    def check_stack(self, tenant: str, name_or_id: str) -> None:
        """Heat's check: each resource's handle_check; a type without one is CHECK_COMPLETE
        "CHECK not supported for <type>" (none of stoker's types has one yet)."""
        stack = self.reads.get_stack(tenant, name_or_id)
        self.runner.require_idle(stack)
        rt = self.runtimes.load(stack)
        self.runner.begin(rt, st.CHECK)
        self.runner.start(rt, st.CHECK, lambda op: self.steps.check(rt))

    def suspend_or_resume(self, tenant: str, name_or_id: str, action: str) -> None:
        """Heat's rules: suspend a COMPLETE stack in reverse order; resume a suspended one
        forward. Each resource runs its handle_suspend / handle_resume."""
        stack = self.reads.get_stack(tenant, name_or_id)
        self.runner.require_idle(stack)
        if action == st.RESUME and stack["action"] not in (st.SUSPEND, st.RESUME):
            raise InvalidInput(f"Stack {stack['name']} is {stack['action']}_{stack['status']}: "
                               "only a suspended stack can be resumed", "NotSupported")
        if action == st.SUSPEND and stack["status"] != st.COMPLETE:
            raise InvalidInput(f"Stack {stack['name']} is {stack['action']}_{stack['status']}: "
                               "only a COMPLETE stack can be suspended", "NotSupported")
        rt = self.runtimes.load(stack)
        if rt.bound is None:
            raise InvalidInput(f"Stack {stack['name']}'s stored template no longer binds")
        graph = suspend_graph(rt.bound, action)
        self.runner.begin(rt, action)
        self.runner.start(rt, action, lambda op: self.steps.suspend_or_resume(
            op.runtime, op.token, action, graph))

    def cancel(self, tenant: str, name_or_id: str, rollback: bool = True) -> None:
        stack = self.reads.get_stack(tenant, name_or_id)
        op = self.runner.operation(stack["id"])
        allowed = (st.UPDATE,) if rollback else (st.UPDATE, st.CREATE)
        if op is None or stack["status"] != st.IN_PROGRESS or stack["action"] not in allowed:
            raise InvalidInput(f"Cancelling update when stack is "
                               f"{stack['action']}_{stack['status']}", "NotSupported")
        op.rollback_requested = rollback
        op.token.cancel("cancelled" if rollback else "cancelled without rollback")

    # -- a resource's state ------------------------------------------------------------------
    def mark_unhealthy(self, tenant: str, name_or_id: str, resource: str, body: dict) -> None:
        """Heat's rules: CHECK_FAILED (the next update replaces it), or back to CHECK_COMPLETE."""
        stack = self.reads.get_stack(tenant, name_or_id)
        unknown = set(body) - {"mark_unhealthy", "resource_status_reason"}
        if unknown or not isinstance(body.get("mark_unhealthy"), bool):
            raise InvalidInput("body must be {\"mark_unhealthy\": true|false"
                               "[, \"resource_status_reason\": \"...\"]}"
                               + (f"; unknown keys {sorted(unknown)}" if unknown else ""))
        self.runner.require_idle(stack)
        rt = self.runtimes.load(stack)
        row = rt.find(resource)
        if row is None:
            raise StackNotFound(f"{stack['name']}/{resource}")
        reason = str(body.get("resource_status_reason") or "")
        if body["mark_unhealthy"] and row["action"] != st.DELETE:
            rt.set_state(row, st.CHECK, st.FAILED, reason or "state changed")
        elif not body["mark_unhealthy"] and (row["action"], row["status"]) == (st.CHECK, st.FAILED):
            rt.set_state(row, st.CHECK, st.COMPLETE, reason or "state changed")
        rt.recorder.flush()
        self.stacks.purge_events(stack["id"], self.max_events_per_stack)

    def signal_resource(self, tenant: str, name_or_id: str, resource: str, body: Any) -> None:
        stack = self.reads.get_stack(tenant, name_or_id)
        rt = self.reads.runtime(stack)
        row = rt.find(resource)
        if row is None:
            raise StackNotFound(f"{stack['name']}/{resource}")
        with rt.lock:
            if isinstance(body, dict) and "unset_hook" in body:
                hook = body["unset_hook"]
                if hook not in HOOKS or not (row.get("data") or {}).get(hook):
                    raise InvalidInput(f"The \"{hook}\" hook is not defined on "
                                       f"{row['type']} \"{row['name']}\"",
                                       "InvalidBreakPointHook")
                data = {k: v for k, v in row["data"].items() if k != hook}
                row["data"] = data
                rt.recorder.update(row["id"], {"data": data})
                reason = f"Hook {hook} is cleared"
            else:
                plugin = rt.plugin(row)
                forward = plugin.handle_signal(body)
                row["data"] = plugin.data
                rt.recorder.update(row["id"], {"data": plugin.data})
                reason = (f"status:{body.get('status', 'SUCCESS')} reason:{body.get('reason', '')}"
                          if isinstance(body, dict) else "Signal received")
                if isinstance(forward, Forward):  # a scaling policy hands it to its group
                    reason = forward.reason
                    target_row = rt.find(forward.target)
                    if target_row is None:
                        raise StackNotFound(f"{stack['name']}/{forward.target}")
                    target = rt.plugin(target_row)
                    checkpoints(rt, target_row, target)  # a resize writes its state as it goes
                    forward.check(target)
                    # answered at once, as Heat does: a resize may wait for servers to boot,
                    # so it runs on the signal pool, whose bounds may refuse it
                    refused = self.signals.submit(
                        (stack["id"], target_row["name"]),
                        lambda: self._forwarded(rt, stack, target_row, target, forward))
                    if refused:
                        self._signal_event(rt, stack, target_row, forward.refusal(refused))
            self._signal_event(rt, stack, row, reason)
        rt.recorder.flush()
        # signals come without an operation to end: each one keeps the stack within its events
        self.stacks.purge_events(stack["id"], self.max_events_per_stack)

    def continue_resize(self, child: dict) -> bool:
        """Recovery found `child`, a group's nested stack, interrupted outside any operation of
        its parent stack: a resize a signal started. The group continues it on a thread of its
        own (its SIGNAL event says how it ended); False when it cannot (the caller marks the
        nested stack FAILED)."""
        parent = self.stacks.get_stack(child["parent_id"])
        if parent is None or parent["status"] == st.IN_PROGRESS:
            return False
        rt = self.reads.runtime(parent)
        row = rt.find(child.get("parent_resource") or "")
        if row is None or row.get("physical_id") != child["id"]:
            return False
        target = rt.plugin(row)
        if not callable(getattr(target, "continue_resize", None)) or not (
                row.get("data") or {}).get("resizing"):
            return False
        checkpoints(rt, row, target)
        forward = Forward(row["name"], lambda group: group.continue_resize(None), "")
        threading.Thread(target=self._forwarded, name="stoker-engine-resize",
                         args=(rt, parent, row, target, forward), daemon=True).start()
        return True

    def _forwarded(self, rt, stack: dict, row: dict, target, forward: Forward) -> None:
        """A handed-on signal's work (a group's resize), then the target's event. The target
        writes its data itself, through its checkpoints, when it changes it: the copy it was
        loaded with may be older than what a resize elsewhere stored meanwhile, and a refused
        signal must not write that copy back."""
        try:
            reason = forward.call(target)
        except Exception as exc:  # noqa: BLE001 - nobody waits for this thread: say it in the event
            log.exception("signal to %s/%s failed", stack["name"], row["name"])
            reason = f"Signal failed: {exc}"
        if reason is None:
            return
        with rt.lock:
            self._signal_event(rt, stack, row, reason)
        rt.recorder.flush()
        self.stacks.purge_events(stack["id"], self.max_events_per_stack)

    def _signal_event(self, rt, stack: dict, row: dict, reason: str) -> None:
        rt.recorder.event({"id": str(uuid.uuid4()), "stack_id": stack["id"],
                           "resource_name": row["name"],
                           "physical_resource_id": row.get("physical_id") or "",
                           "resource_type": row["type"], "action": st.SIGNAL,
                           "status": st.COMPLETE, "status_reason": reason,
                           "created_at": self.clock()})

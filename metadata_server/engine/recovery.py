"""Restart safety: heartbeats for running operations, and the sweep that takes over orphaned ones.

While an operation runs, its engine bumps the stack's heartbeat; any engine's sweep takes over
an IN_PROGRESS stack with a stale heartbeat: it resumes the operation or marks it FAILED with a
reason, so nothing stays IN_PROGRESS. A resource the restart interrupted is marked FAILED with
INTERRUPTED as its reason; that stored reason is how a resumed walk (or a second restart) knows
the resource may be continued rather than replaced.
"""
from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Callable

from metadata_server.engine import status as st
from metadata_server.engine.state import StackRuntime
from metadata_server.engine.validation import suspend_graph
from metadata_server.store.lanes import use_lane

if TYPE_CHECKING:  # pragma: no cover
    import threading

    from metadata_server.engine.liveness import Liveness
    from metadata_server.engine.runner import OperationRunner
    from metadata_server.engine.runtimes import RuntimeFactory
    from metadata_server.engine.steps import Steps
    from metadata_server.engine.store_seam import EngineStore
    from metadata_server.service.clock import Clock

log = logging.getLogger("stoker.engine")

INTERRUPTED = "{action} interrupted by an engine restart"
STACK_INTERRUPTED = ("Stack {action} interrupted: the engine running it stopped (server "
                     "restart); update or delete the stack to continue")
RESUMED = "Stack {action} resumed after an engine restart"
# the heartbeat's own connections: a busy engine must not make its stacks look abandoned
LIVENESS_LANE = "liveness"


def interrupted_action(row: dict) -> str | None:
    """The action an engine restart interrupted on this resource row, if that is its state."""
    if row["status"] == st.FAILED and row.get("status_reason") == INTERRUPTED.format(
            action=row["action"]):
        return row["action"]
    return None


def stack_interrupted(stack: dict) -> bool:
    return stack["status"] == st.FAILED and stack.get("status_reason") == \
        STACK_INTERRUPTED.format(action=stack["action"])


class Recovery:
    """The heartbeat of this engine's operations and the sweep that takes over others'."""

    def __init__(self, stacks: EngineStore, clock: Clock, engine_id: str, *,
                 runner: OperationRunner, runtimes: RuntimeFactory, steps: Steps,
                 liveness: Liveness | None, stale_after: float, resume: bool,
                 orphans: Callable[[dict], bool] | None = None):
        self.stacks, self.clock, self.engine_id = stacks, clock, engine_id
        # a nested stack interrupted outside any operation of its parent (a group's resize):
        # the parent resource continues it if it can (True), else it is marked FAILED
        self.orphans = orphans
        self.runner, self.runtimes, self.steps = runner, runtimes, steps
        self.liveness = liveness        # engines of this host that died are taken over at once
        self.stale_after = stale_after  # seconds without a heartbeat before a takeover
        self.resume = resume            # resume what is taken over, else only mark it FAILED

    def maintain(self, stop: threading.Event, interval: float,
                 sweep_interval: float | None = None) -> None:
        """The heartbeat thread: every `interval` until `stop`, bump the heartbeat of what runs
        here; every `sweep_interval` (default: `interval`) sweep for orphaned operations. A
        liveness that tells a dead engine at once (advisory locks) sweeps more often, so a
        killed node's operations are taken over within seconds."""
        use_lane(LIVENESS_LANE)
        sweep_interval = min(sweep_interval or interval, interval)
        beat_due = time.monotonic() + interval
        while not stop.wait(sweep_interval):
            try:
                if self.liveness is not None:
                    self.liveness.hold()  # keeps this engine's own lock held
                if time.monotonic() >= beat_due:
                    beat_due = time.monotonic() + interval
                    self.stacks.heartbeat(self.runner.running(), self.clock())
                self.recover()
            except Exception:  # the sweep must outlive a database hiccup
                log.exception("engine heartbeat failed")

    def recover(self) -> list[str]:
        """Take over every operation whose engine stopped (no heartbeat for stale_after, or,
        with `liveness`, its process on this host is gone).

        Its IN_PROGRESS resources become FAILED (INTERRUPTED). A top-level stack's operation is
        then resumed (with `resume`): create and update walk the stored definition again, which
        creates what is missing, continues an interrupted resource whose type can (a software
        deployment waits for its signal again), replaces the other interrupted ones and keeps
        what completed; delete deletes what is left. Nested stacks are marked FAILED with the
        reason; the parent's resumed walk continues them (groups, provider templates) or
        replaces them. Every stack is marked before any resumes, so a resumed parent always
        finds its nested stacks' interrupted resources marked.
        """
        before = self.clock() - timedelta(seconds=self.stale_after)
        recovered, to_resume, to_continue = [], [], []
        dead = []
        if self.liveness is not None:  # engines of this host that died: no need to wait
            dead = [e for e in self.stacks.running_engines()
                    if e != self.engine_id and self.liveness.alive(e) is False]
        for stack in self.stacks.stale_operations(before, dead):
            if self.runner.runtime(stack["id"]) is not None or not self.stacks.claim_stale(
                    stack, self.engine_id, self.clock()):
                continue  # ours, or another engine took it over first
            rt = StackRuntime(stack, None, self.stacks.resources(stack["id"]), None,
                              self.runtimes.recorder(), self.clock)
            for row in list(rt.current.values()) + rt.backups:
                if row["status"] == st.IN_PROGRESS:
                    rt.set_state(row, row["action"], st.FAILED,
                                 INTERRUPTED.format(action=row["action"]))
            rt.recorder.flush()
            recovered.append(stack["id"])
            if self.resume and not stack.get("parent_id"):
                to_resume.append((stack, rt))
            elif self.resume and self.orphans is not None and self._orphaned(stack):
                to_continue.append((stack, rt))
            else:
                self.runner.finish(rt, stack["action"], st.FAILED,
                                   STACK_INTERRUPTED.format(action=stack["action"]))
        for stack, rt in to_resume:
            if not self._resume(stack):
                self.runner.finish(rt, stack["action"], st.FAILED,
                                   STACK_INTERRUPTED.format(action=stack["action"]))
        for stack, rt in to_continue:
            try:
                continued = self.orphans(stack)
            except Exception:
                log.exception("stack %s: cannot continue it", stack["id"])
                continued = False
            if not continued:
                self.runner.finish(rt, stack["action"], st.FAILED,
                                   STACK_INTERRUPTED.format(action=stack["action"]))
        return recovered

    def _orphaned(self, stack: dict) -> bool:
        """A nested stack whose parent runs no operation: what interrupted it was no walk of
        the parent's (that one would resume it), but a resize of a group."""
        parent = self.stacks.get_stack(stack["parent_id"])
        return parent is not None and parent["status"] != st.IN_PROGRESS

    def _resume(self, stack: dict) -> bool:
        prepared = self.resumption(stack)
        if prepared is None:
            return False
        rt, run = prepared
        started = stack.get("updated_at") or stack["created_at"]
        # a rollback runs without the stack timeout, resumed or not
        spent = (None if stack["action"] == st.ROLLBACK
                 else (self.clock() - started).total_seconds())
        self.runner.start(rt, stack["action"], lambda op: run(op.token, op), spent=spent)
        return True

    def resumption(self, stack: dict) -> tuple[StackRuntime, Callable] | None:
        """The runtime and the walk, run(token, op), that finish `stack`'s interrupted
        operation, with the stack marked IN_PROGRESS "resumed"; None when its stored template
        no longer binds."""
        action, steps = stack["action"], self.steps
        if action in (st.ADOPT, st.SNAPSHOT, st.ABANDON):
            return None  # not resumed: the stack says it was interrupted
        try:
            if action == st.DELETE or (action == st.ROLLBACK
                                       and not stack.get("previous_definition")):
                rt = self.runtimes.load(stack)  # deleting needs no template that binds
                run = ((lambda token, op: steps.delete(rt, token)) if action == st.DELETE
                       else (lambda token, op: steps.rollback_delete(rt, token)))
            elif action in (st.SUSPEND, st.RESUME):
                rt = self.runtimes.load(stack, tolerate_errors=False)
                graph = suspend_graph(rt.bound, action)
                run = (lambda token, op: steps.suspend_or_resume(rt, token, action, graph))
            elif action == st.CHECK:
                rt = self.runtimes.load(stack)
                run = (lambda token, op: steps.check(rt))
            else:
                rt = self.runtimes.prepare_update(stack, stack["definition"], None)
                rollback = action == st.UPDATE and not stack["disable_rollback"]
                run = (lambda token, op: steps.update(rt, token, rollback, op, action))
        except Exception:  # the stored template no longer binds: fail it with the reason
            log.exception("stack %s: cannot resume %s", stack["id"], action)
            return None
        rt.resuming = True
        values = {"action": action, "status": st.IN_PROGRESS,
                  "status_reason": RESUMED.format(action=action),
                  "engine_id": self.engine_id, "heartbeat_at": self.clock()}
        rt.stack.update(values)
        self.stacks.update_stack(stack["id"], values)
        rt.stack_event(action, st.IN_PROGRESS, values["status_reason"])
        return rt, run

"""Restart safety: heartbeats for running operations, and the sweep that takes over orphaned ones.

While an operation runs, its engine bumps the stack's heartbeat; any engine's sweep takes over
an IN_PROGRESS stack with a stale heartbeat: it resumes the operation or marks it FAILED with a
reason, so nothing stays IN_PROGRESS. A resource the restart interrupted is marked FAILED with
INTERRUPTED as its reason; that stored reason is how a resumed walk (or a second restart) knows
the resource may be continued rather than replaced.
"""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Callable

from metadata_server.engine import status as st
from metadata_server.engine.graph import Graph
from metadata_server.engine.state import StackRuntime
from metadata_server.engine.walker import CancelToken
from metadata_server.store.lanes import use_lane

if TYPE_CHECKING:  # pragma: no cover
    import threading

    from metadata_server.engine.liveness import LockFileLiveness
    from metadata_server.service.clock import Clock
    from metadata_server.store.stacks import StackStore

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
    """Mixed into Engine, which sets the state declared here and provides the operation steps
    (_load, _graph, _prepare_update, _start, _finish, _update, _delete, _delete_all, _check,
    _run_suspend_or_resume, _recorder) and NestedStacks._run_child."""

    stacks: StackStore
    clock: Clock
    engine_id: str
    liveness: LockFileLiveness | None   # engines of this host that died are taken over at once
    stale_after: float                  # seconds without a heartbeat before a takeover
    heartbeat_interval: float
    resume: bool                        # resume what is taken over, else only mark it FAILED
    _stop: threading.Event              # set when the engine closes
    _lock: threading.RLock              # guards _runtimes
    _runtimes: dict[str, StackRuntime]  # stack id -> the runtime of its running operation

    def _maintain(self) -> None:
        use_lane(LIVENESS_LANE)
        while not self._stop.wait(self.heartbeat_interval):
            try:
                with self._lock:
                    running = list(self._runtimes)
                self.stacks.heartbeat(running, self.clock())
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
        recovered, to_resume = [], []
        dead = []
        if self.liveness is not None:  # engines of this host that died: no need to wait
            dead = [e for e in self.stacks.running_engines()
                    if e != self.engine_id and self.liveness.alive(e) is False]
        for stack in self.stacks.stale_operations(before, dead):
            if stack["id"] in self._runtimes or not self.stacks.claim_stale(
                    stack, self.engine_id, self.clock()):
                continue  # ours, or another engine took it over first
            rt = StackRuntime(stack, None, self.stacks.resources(stack["id"]), None,
                              self._recorder(), self.clock)
            for row in list(rt.current.values()) + rt.backups:
                if row["status"] == st.IN_PROGRESS:
                    rt.set_state(row, row["action"], st.FAILED,
                                 INTERRUPTED.format(action=row["action"]))
            rt.recorder.flush()
            recovered.append(stack["id"])
            if self.resume and not stack.get("parent_id"):
                to_resume.append((stack, rt))
            else:
                self._finish(rt, stack["action"], st.FAILED,
                             STACK_INTERRUPTED.format(action=stack["action"]))
        for stack, rt in to_resume:
            if not self._resume(stack):
                self._finish(rt, stack["action"], st.FAILED,
                             STACK_INTERRUPTED.format(action=stack["action"]))
        return recovered

    def _resume(self, stack: dict) -> bool:
        prepared = self._resumption(stack)
        if prepared is None:
            return False
        rt, run = prepared
        started = stack.get("updated_at") or stack["created_at"]
        # a rollback runs without the stack timeout, resumed or not
        spent = (None if stack["action"] == st.ROLLBACK
                 else (self.clock() - started).total_seconds())
        self._start(rt, stack["action"], lambda op: run(op.token, op), spent=spent)
        return True

    def _resumption(self, stack: dict) -> tuple[StackRuntime, Callable] | None:
        """The runtime and the walk that finish `stack`'s interrupted operation, with the stack
        marked IN_PROGRESS "resumed"; None when its stored template no longer binds."""
        action = stack["action"]
        try:
            if action == st.DELETE or (action == st.ROLLBACK
                                       and not stack.get("previous_definition")):
                rt = self._load(stack)  # deleting needs no template that binds
                run = ((lambda token, op: self._delete(rt, token)) if action == st.DELETE
                       else (lambda token, op: self._resume_rollback_delete(rt, token)))
            elif action in (st.SUSPEND, st.RESUME):
                rt = self._load(stack, tolerate_errors=False)
                graph: Graph = self._graph(rt.bound)
                graph = graph.reversed() if action == st.SUSPEND else graph
                run = (lambda token, op: self._run_suspend_or_resume(rt, token, action, graph))
            elif action == st.CHECK:
                rt = self._load(stack)
                run = (lambda token, op: self._check(rt))
            else:
                rt = self._prepare_update(stack, stack["definition"], None)
                rollback = action == st.UPDATE and not stack["disable_rollback"]
                run = (lambda token, op: self._update(rt, token, rollback, op, action))
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

    def _resume_rollback_delete(self, rt: StackRuntime, token: CancelToken) -> None:
        ok, why = self._delete_all(rt, token, st.ROLLBACK)
        self._finish(rt, st.ROLLBACK, st.COMPLETE if ok else st.FAILED,
                     "Stack ROLLBACK completed successfully" if ok else why)

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
        from metadata_server.engine.nested_stacks import ChildStackFailed
        child = self.stacks.get_stack(child_id)
        if child["status"] == st.COMPLETE:
            return
        prepared = self._resumption(child)
        if prepared is None:
            raise ChildStackFailed(STACK_INTERRUPTED.format(action=child["action"]))
        rt, run = prepared

        def run_and_check() -> None:
            run(token, None)
            if rt.stack["status"] == st.FAILED:  # suspend and check do not raise themselves
                raise ChildStackFailed(rt.stack["status_reason"])
        self._run_child(rt, run_and_check)

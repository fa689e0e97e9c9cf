"""Restart safety: heartbeats for running operations, and the sweep that fails orphaned ones.

While an operation runs, its engine bumps the stack's heartbeat; any engine's sweep marks an
IN_PROGRESS stack with a stale heartbeat FAILED with a reason, so nothing stays IN_PROGRESS.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from metadata_server.engine import status as st
from metadata_server.engine.state import Recorder, StackRuntime

log = logging.getLogger("stoker.engine")


class Recovery:
    """Mixed into Engine."""

    def _maintain(self) -> None:
        while not self._stop.wait(self.heartbeat_interval):
            try:
                with self._lock:
                    running = list(self._runtimes)
                self.stacks.heartbeat(running, self.clock())
                self.recover()
            except Exception:  # the sweep must outlive a database hiccup
                log.exception("engine heartbeat failed")

    def recover(self) -> list[str]:
        """Take over every operation whose engine stopped (no heartbeat for stale_after).

        Its IN_PROGRESS resources become FAILED ("interrupted"). A top-level stack's operation
        is then resumed (with `resume`): create and update walk the stored definition again,
        which creates what is missing, replaces what was interrupted and keeps what completed;
        delete deletes what is left. Nested stacks and operations that cannot resume are marked
        FAILED with the reason; the parent's resumed walk replaces them.
        """
        before = self.clock() - timedelta(seconds=self.stale_after)
        recovered = []
        for stack in self.stacks.stale_operations(before):
            if stack["id"] in self._runtimes or not self.stacks.claim_stale(
                    stack, self.engine_id, self.clock()):
                continue  # ours, or another engine took it over first
            action = stack["action"]
            rt = StackRuntime(stack, None, self.stacks.resources(stack["id"]), None,
                              Recorder(self.stacks), self.clock)
            for row in list(rt.current.values()) + rt.backups:
                if row["status"] == st.IN_PROGRESS:
                    rt.set_state(row, row["action"], st.FAILED,
                                 f"{row['action']} interrupted by an engine restart")
            rt.recorder.flush()
            recovered.append(stack["id"])
            if self.resume and not stack.get("parent_id") and self._resume(stack, action):
                continue
            self._finish(rt, action, st.FAILED,
                         f"Stack {action} interrupted: the engine running it stopped (server "
                         "restart); update or delete the stack to continue")
        return recovered

    def _resume(self, stack: dict, action: str) -> bool:
        try:
            if action == st.DELETE or (action == st.ROLLBACK
                                       and not stack.get("previous_definition")):
                rt = self._load(stack)
                run = ((lambda op: self._delete(op.runtime, op.token)) if action == st.DELETE
                       else (lambda op: self._resume_rollback_delete(op.runtime)))
            else:
                rt = self._prepare_update(stack, stack["definition"], None)
                rollback = action == st.UPDATE and not stack["disable_rollback"]
                run = (lambda op: self._update(op.runtime, op.token, rollback, op, action))
        except Exception:  # the stored template no longer binds: fail it with the reason
            log.exception("stack %s: cannot resume %s", stack["id"], action)
            return False
        reason = f"Stack {action} resumed after an engine restart"
        rt.stack.update(status_reason=reason)
        self.stacks.update_stack(stack["id"], {"status_reason": reason})
        rt.stack_event(action, st.IN_PROGRESS, reason)
        self._start(rt, action, run)
        return True

    def _resume_rollback_delete(self, rt) -> None:
        ok, why = self._delete_all(rt, self._token_for(rt), st.ROLLBACK)
        self._finish(rt, st.ROLLBACK, st.COMPLETE if ok else st.FAILED,
                     "Stack ROLLBACK completed successfully" if ok else why)

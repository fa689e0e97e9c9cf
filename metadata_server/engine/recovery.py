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
        """Mark FAILED every operation whose engine stopped (no heartbeat for stale_after)."""
        before = self.clock() - timedelta(seconds=self.stale_after)
        recovered = []
        for stack in self.stacks.stale_operations(before):
            if stack["id"] in self._runtimes:
                continue
            action = stack["action"]
            reason = (f"Stack {action} interrupted: the engine running it stopped (server "
                      "restart); update or delete the stack to continue")
            rt = StackRuntime(stack, None, self.stacks.resources(stack["id"]), None,
                              Recorder(self.stacks), self.clock)
            for row in list(rt.current.values()) + rt.backups:
                if row["status"] == st.IN_PROGRESS:
                    rt.set_state(row, row["action"], st.FAILED,
                                 f"{row['action']} interrupted by an engine restart")
            self._finish(rt, action, st.FAILED, reason)
            recovered.append(stack["id"])
        return recovered



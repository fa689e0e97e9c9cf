"""The operation runner: which stacks have an operation running here, and the mechanics every
operation shares (mark the stack IN_PROGRESS, walk a graph on the engine's budget, write the
final status, queue the operation with its deadline).

It owns the registry of running operations and of the runtimes they use, under one lock; the
other collaborators ask it (runtime, operation, running) rather than reading its dicts. What an
operation does to its resources is steps.py's; what a request checks first is actions.py's.
"""
from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterator

from metadata_server.engine import status as st
from metadata_server.engine.errors import ActionInProgress, ResourceFailure, StackNotFound
from metadata_server.engine.graph import Graph
from metadata_server.engine.state import Released, StackRuntime
from metadata_server.engine.walker import CancelToken, WalkResult, walk

if TYPE_CHECKING:  # pragma: no cover
    from metadata_server.engine.budget import Budget
    from metadata_server.engine.store_seam import EngineStore
    from metadata_server.service.clock import Clock

log = logging.getLogger("stoker.engine")


@dataclass
class Operation:
    runtime: StackRuntime
    token: CancelToken
    action: str
    done: threading.Event = field(default_factory=threading.Event)
    rollback_requested: bool = False


class OperationRunner:
    def __init__(self, stacks: EngineStore, clock: Clock, engine_id: str, budget: Budget, *,
                 max_events_per_stack: int, minute: float = 60.0):
        self.stacks, self.clock, self.engine_id = stacks, clock, engine_id
        self.budget = budget
        self.max_events_per_stack = max_events_per_stack
        self.minute = minute  # seconds in a timeout_mins minute; tests shorten it
        self._lock = threading.RLock()
        self._ops: dict[str, Operation] = {}             # stack id -> its running operation
        self._runtimes: dict[str, StackRuntime] = {}     # stack id -> the runtime it uses

    # -- what runs here ----------------------------------------------------------------------
    def operation(self, stack_id: str) -> Operation | None:
        return self._ops.get(stack_id)

    def runtime(self, stack_id: str) -> StackRuntime | None:
        """The live runtime of a stack with an operation (or a nested stack's) running here."""
        return self._runtimes.get(stack_id)

    def running(self) -> list[str]:
        """The stacks whose heartbeat this engine keeps."""
        with self._lock:
            return list(self._runtimes)

    def snapshot(self) -> tuple[list[Operation], list[StackRuntime]]:
        with self._lock:
            return list(self._ops.values()), list(self._runtimes.values())

    def forget(self) -> None:
        """Drop every runtime (an engine whose operations were orphaned: tests of takeover)."""
        with self._lock:
            self._runtimes.clear()

    def register(self, rt: StackRuntime) -> None:
        """A nested stack made on its parent resource's thread is running from here on."""
        with self._lock:
            self._runtimes[rt.stack["id"]] = rt

    def run_nested(self, rt: StackRuntime, run: Callable[[], None]) -> None:
        """Run a nested stack's operation on the calling (parent resource's) thread."""
        self.register(rt)
        rt.recorder.start()
        try:
            run()
        finally:
            rt.recorder.stop()
            with self._lock:
                self._runtimes.pop(rt.stack["id"], None)

    @contextmanager
    def standing_in(self, rt: StackRuntime, stand_in: StackRuntime) -> Iterator[None]:
        """`stand_in` answers for rt's stack while it runs (an update's rollback)."""
        with self._lock:
            self._runtimes[rt.stack["id"]] = stand_in
        stand_in.recorder.start()
        try:
            yield
        finally:
            stand_in.recorder.stop()
            with self._lock:
                self._runtimes[rt.stack["id"]] = rt

    def require_idle(self, stack: dict) -> None:
        if stack["id"] in self._ops or stack["status"] == st.IN_PROGRESS:
            raise ActionInProgress(stack["name"], stack["action"])
        if stack["action"] == st.DELETE and stack["status"] == st.COMPLETE:
            raise StackNotFound(stack["name"])

    # -- the stack's status ------------------------------------------------------------------
    def begin(self, rt: StackRuntime, action: str) -> None:
        rt.recorder.ensure_recording()
        now = self.clock()
        values = {"action": action, "status": st.IN_PROGRESS,
                  "status_reason": f"Stack {action} started", "updated_at": now,
                  "engine_id": self.engine_id, "heartbeat_at": now}
        rt.stack.update(values)
        self.stacks.update_stack(rt.stack["id"], values)
        if action != st.CREATE:
            rt.stack_event(action, st.IN_PROGRESS, f"Stack {action} started")

    def finish(self, rt: StackRuntime, action: str, status: str, reason: str, **extra) -> None:
        reason = rt.mask(reason)
        rt.recorder.ensure_recording()
        rt.recorder.flush()
        values = {"action": action, "status": status, "status_reason": reason,
                  "engine_id": None, **extra}
        rt.stack.update(values)
        self.stacks.update_stack(rt.stack["id"], values)
        rt.stack_event(action, status, reason)
        rt.recorder.flush()
        if status != st.IN_PROGRESS:
            self.stacks.purge_events(rt.stack["id"], self.max_events_per_stack)

    # -- walks -------------------------------------------------------------------------------
    def walk(self, rt: StackRuntime, graph: Graph, work, token: CancelToken,
             action: str) -> WalkResult:
        """Walk the stack's resources; what could not run is marked FAILED with the reason."""
        def skipped(name: str, upstream: str) -> None:
            row = rt.current.get(name)
            if row is not None:
                rt.set_state(row, action, st.FAILED,
                             f"{action} aborted (upstream resource {upstream} failed)")

        result = walk(graph, work, token=token, on_skip=skipped, budget=self.budget,
                      tenant=rt.stack["tenant"])
        for name in result.not_started:
            row = rt.current.get(name)
            if rt.resuming and row is not None and (row["action"], row["status"]) == (
                    action, st.COMPLETE):
                continue  # done before the engine restart: it stays done
            if row is not None:
                rt.set_state(row, action, st.FAILED, f"{action} aborted ({token.reason})")
        return result

    def walk_rows(self, rt: StackRuntime, graph: Graph, work, token: CancelToken) -> WalkResult:
        """Walk keys that are not the stack's current resources (rows to delete)."""
        return walk(graph, work, token=token, budget=self.budget, tenant=rt.stack["tenant"])

    @staticmethod
    def failure_reason(action: str, result: WalkResult, token: CancelToken) -> str:
        if token.reason == "Timed out":
            return f"{action.capitalize()} timed out" if action in (st.CREATE, st.DELETE) \
                else "Timed out"
        if token.reason and token.reason.startswith("cancelled"):
            return f"Stack {action} cancelled"
        for name, exc in result.failed.items():
            cause = exc.reason if isinstance(exc, ResourceFailure) else str(exc)
            return f"Resource {action} failed: {cause}"
        return f"Stack {action} aborted ({token.reason})"

    # -- operations --------------------------------------------------------------------------
    def start(self, rt: StackRuntime, action: str, run: Callable[[Operation], None],
              spent: float | None = 0.0) -> Operation:
        """Queue `run(op)` on the engine's budget; `spent`: seconds of the stack timeout already
        used (a resumed operation keeps the deadline of the one it continues); None: no
        deadline (a rollback has none)."""
        timeout = rt.stack.get("timeout_mins") if spent is not None else None
        token = CancelToken(max(0.0, timeout * self.minute - spent) if timeout else None)
        op = Operation(rt, token, action)
        with self._lock:
            if rt.stack["id"] in self._ops:
                raise ActionInProgress(rt.stack["name"], action)
            self._ops[rt.stack["id"]] = op
            self._runtimes[rt.stack["id"]] = rt
        rt.recorder.start()

        def body():
            try:
                run(op)
            except Released:  # the server is stopping: the next engine resumes it
                log.info("stack %s: %s handed on to the next engine", rt.stack["id"], action)
            except Exception:  # the stack's status already says what failed
                log.exception("stack %s: %s failed", rt.stack["id"], action)
                if rt.stack["status"] == st.IN_PROGRESS:
                    self.finish(rt, rt.stack["action"], st.FAILED,
                                f"Stack {rt.stack['action']} failed: internal error")
            finally:
                token.close()
                try:
                    rt.recorder.stop()
                except Exception:  # the sweep fails the stack once its heartbeat stops
                    log.exception("stack %s: final state write failed", rt.stack["id"])
                with self._lock:
                    self._ops.pop(rt.stack["id"], None)
                    self._runtimes.pop(rt.stack["id"], None)
                op.done.set()

        self.budget.submit(rt.stack["tenant"], body)
        return op

    def wait(self, stack_id: str, timeout: float | None = None) -> dict:
        """Until the stack's running operation (if any) ends; the stack row then."""
        op = self._ops.get(stack_id)
        if op is not None and not op.done.wait(timeout):
            raise TimeoutError(f"stack {stack_id} still {op.action}_IN_PROGRESS")
        return self.stacks.get_stack(stack_id)

"""A parallel walk of a dependency graph, with Terraform's failure semantics.

graphlib says which resources are ready; the engine's Budget (budget.py), shared by every walk of
the process, runs them, and the walk's own thread runs those no worker has taken yet while it
waits. Every resource starts as soon as everything it requires is done. When one fails, the resources that depend on it
(directly or not) are not started and are reported as skipped with the upstream failure named;
independent branches run on. A cancel (or the stack's deadline) stops new work from starting and
tells running work through the token, which every waiting resource checks.
"""
from __future__ import annotations

import queue
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from graphlib import TopologicalSorter
from typing import Callable

from metadata_server.engine.budget import Budget, Task
from metadata_server.engine.errors import Cancelled
from metadata_server.engine.graph import Graph

DEFAULT_WORKERS = 128  # a walk of its own (no shared budget): its threads, its caller included


class CancelToken:
    """Shared by one operation's work items: cancelled by a caller or by the deadline."""

    def __init__(self, timeout: float | None = None, monotonic: Callable[[], float] = time.monotonic):
        self._event = threading.Event()
        self._monotonic = monotonic
        self._deadline = monotonic() + timeout if timeout is not None else None
        self.reason: str | None = None
        self.handed_on = False

    def close(self) -> None:
        """The operation is over (waiters cap each sleep at the deadline: no timer to stop)."""

    def cancel(self, reason: str = "cancelled") -> None:
        if self.reason is None:
            self.reason = reason
        self._event.set()

    def hand_on(self) -> None:
        """Stop the work without cancelling what it started: the engine is stopping and the
        next one continues (a deployment stays IN_PROGRESS for its agent)."""
        self.handed_on = True
        self.cancel("engine stopped")

    def remaining(self) -> float | None:
        return None if self._deadline is None else max(0.0, self._deadline - self._monotonic())

    @property
    def cancelled(self) -> bool:
        if not self._event.is_set() and self._deadline is not None and self.remaining() <= 0:
            self.cancel("Timed out")
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`, waking early on cancel or deadline; True if cancelled."""
        remaining = self.remaining()
        if remaining is not None:
            seconds = min(seconds, remaining)
        self._event.wait(max(0.0, seconds))
        return self.cancelled

    def check(self) -> None:
        if self.cancelled:
            raise Cancelled(self.reason)


@dataclass
class WalkResult:
    completed: list[str] = field(default_factory=list)
    failed: dict[str, BaseException] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # resource -> the upstream that failed
    not_started: list[str] = field(default_factory=list)   # left out because of a cancel

    @property
    def ok(self) -> bool:
        return not (self.failed or self.skipped or self.not_started)


def walk(graph: Graph, work: Callable[[str, CancelToken], None], *,
         token: CancelToken | None = None, max_workers: int = DEFAULT_WORKERS,
         on_skip: Callable[[str, str], None] | None = None, budget: Budget | None = None,
         tenant: str = "") -> WalkResult:
    """Run `work(node, token)` for every node, each after the nodes it requires: on `budget`'s
    workers, queued as `tenant`'s, or else on a budget of `max_workers` threads of its own."""
    own = budget is None
    if own:  # the calling thread is one of the max_workers: it runs work too
        budget = Budget(max_workers - 1, per_tenant=max_workers, name="stoker-walk")
    try:
        return _walk(graph, work, token or CancelToken(), on_skip, budget, tenant)
    finally:
        if own:
            budget.close()


def _walk(graph: Graph, work, token: CancelToken, on_skip, budget: Budget,
          tenant: str) -> WalkResult:
    result = WalkResult()
    upstream_failure: dict[str, str] = {}  # node -> the failed node at the root of its trouble
    sorter = TopologicalSorter(graph.as_mapping())
    sorter.prepare()
    finished: queue.SimpleQueue[Task] = queue.SimpleQueue()
    running: dict[Task, str] = {}
    unclaimed: deque[Task] = deque()  # ours, perhaps still queued: this thread may run them
    while sorter.is_active():
        for node in sorter.get_ready():
            upstream = next((upstream_failure[d] for d in sorted(graph.requires(node))
                             if d in upstream_failure), None)
            if token.cancelled:
                result.not_started.append(node)
                sorter.done(node)
            elif upstream is not None:
                upstream_failure[node] = upstream
                result.skipped[node] = upstream
                if on_skip:
                    on_skip(node, upstream)
                sorter.done(node)
            else:
                task = budget.submit(tenant, work, node, token, notify=finished.put)
                running[task] = node
                unclaimed.append(task)
        if not running:
            continue
        done = _next_finished(finished, unclaimed, budget)
        while done is not None:
            node = running.pop(done)
            if done.error is None:
                result.completed.append(node)
            else:
                result.failed[node] = done.error
                upstream_failure[node] = node
            sorter.done(node)
            try:
                done = finished.get_nowait()
            except queue.Empty:
                done = None
    return result


def _next_finished(finished: queue.SimpleQueue, unclaimed: deque, budget: Budget) -> Task:
    """Wait for one of the walk's tasks to finish, running queued ones here meanwhile."""
    while True:
        try:
            return finished.get_nowait()
        except queue.Empty:
            pass
        while unclaimed and not budget.run_here(unclaimed.popleft()):
            pass  # a worker took it
        if not unclaimed:  # every task of ours is running or done: wait for one
            return finished.get()
